/* Label placement per labels.h. A candidate's answer depends only on the
 * candidates that overlap it, so no ordering pass is needed: every box goes
 * into a uniform grid, and each candidate asks the grid whether an
 * overlapping box ranks before it. Ranking is a total order on the
 * candidate's own fields (priority, tie, then its box), so that two tiles
 * holding different subsets, in different orders, rank the same pair the
 * same way; only exact duplicates fall back to their index. */
#include "labels.h"

#include <math.h>
#include <stdlib.h>

/* A box of positive, finite area; others are never placed and never block. */
static bool box_valid(const label_candidate *c)
{
    return isfinite(c->minx) && isfinite(c->miny) && isfinite(c->maxx) && isfinite(c->maxy) &&
           c->minx < c->maxx && c->miny < c->maxy;
}

/* Intersect with positive area: touching edges do not count. */
static bool overlap(const label_candidate *a, const label_candidate *b)
{
    return a->minx < b->maxx && b->minx < a->maxx && a->miny < b->maxy && b->miny < a->maxy;
}

static int cmp_double(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

/* True when a ranks before b (a's index ia, b's ib). NaN priorities rank
 * last. */
static bool before(const label_candidate *a, size_t ia, const label_candidate *b, size_t ib)
{
    bool na = isnan(a->priority), nb = isnan(b->priority);
    int r = na != nb ? (na ? 1 : -1) : cmp_double(a->priority, b->priority);
    if (!r) r = a->tie < b->tie ? -1 : a->tie > b->tie ? 1 : 0;
    if (!r) r = cmp_double(a->minx, b->minx);
    if (!r) r = cmp_double(a->miny, b->miny);
    if (!r) r = cmp_double(a->maxx, b->maxx);
    if (!r) r = cmp_double(a->maxy, b->maxy);
    return r ? r < 0 : ia < ib;
}

/* The quadratic answer, for when the grid cannot be allocated. */
static size_t place_brute(label_candidate *c, size_t n)
{
    size_t placed = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = box_valid(&c[i]);
        for (size_t j = 0; ok && j < n; j++)
            if (j != i && box_valid(&c[j]) && overlap(&c[j], &c[i]) && before(&c[j], j, &c[i], i))
                ok = false;
        c[i].placed = ok;
        placed += ok;
    }
    return placed;
}

typedef struct {
    double x0, y0, cell; /* origin and cell size, global pixels */
    size_t cols, rows;
    size_t *start; /* cols * rows + 1 offsets into items (CSR) */
    size_t *items; /* candidate indices, cell by cell */
} grid;

/* The cell range [c0, c1] x [r0, r1] a box covers. */
static void cells_of(const grid *g, const label_candidate *b, size_t r[4])
{
    double v[4] = {(b->minx - g->x0) / g->cell, (b->miny - g->y0) / g->cell,
                   (b->maxx - g->x0) / g->cell, (b->maxy - g->y0) / g->cell};
    for (int k = 0; k < 4; k++) {
        double lim = (double)((k & 1) ? g->rows : g->cols) - 1;
        double f = floor(v[k]);
        r[k] = f > 0 ? (f < lim ? (size_t)f : (size_t)lim) : 0; /* NaN: 0 */
    }
}

/* Builds the grid over the valid boxes; false when out of memory. */
static bool grid_build(grid *g, const label_candidate *c, size_t n)
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY, sum = 0;
    size_t nvalid = 0;
    for (size_t i = 0; i < n; i++) {
        if (!box_valid(&c[i])) continue;
        x0 = fmin(x0, c[i].minx);
        y0 = fmin(y0, c[i].miny);
        x1 = fmax(x1, c[i].maxx);
        y1 = fmax(y1, c[i].maxy);
        sum += fmax(c[i].maxx - c[i].minx, c[i].maxy - c[i].miny);
        nvalid++;
    }
    if (nvalid == 0) return true; /* nothing will be looked up */
    /* Cells about a label's size, so a typical label touches up to four
     * cells, and no more cells than about four per label. */
    double cell = sum / (double)nvalid;
    double area_cell = sqrt((x1 - x0) * (y1 - y0) / (4.0 * (double)nvalid));
    if (!(cell >= area_cell)) cell = area_cell;
    if (!(cell > 0) || !isfinite(cell)) cell = fmax(x1 - x0, y1 - y0);
    g->x0 = x0;
    g->y0 = y0;
    g->cell = cell;
    g->cols = (size_t)fmin(fmax(ceil((x1 - x0) / cell), 1), 65536);
    g->rows = (size_t)fmin(fmax(ceil((y1 - y0) / cell), 1), 65536);
    while (g->cols * g->rows > 4 * nvalid + 16) { /* rounding or a clamp went wide */
        if (g->cols > 1) g->cols = (g->cols + 1) / 2;
        if (g->rows > 1) g->rows = (g->rows + 1) / 2;
        g->cell *= 2;
    }
    size_t ncells = g->cols * g->rows;
    g->start = calloc(ncells + 1, sizeof *g->start);
    if (!g->start) return false;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!box_valid(&c[i])) continue;
        size_t r[4];
        cells_of(g, &c[i], r);
        for (size_t y = r[1]; y <= r[3]; y++)
            for (size_t x = r[0]; x <= r[2]; x++)
                g->start[y * g->cols + x + 1]++;
        total += (r[2] - r[0] + 1) * (r[3] - r[1] + 1);
    }
    for (size_t k = 0; k < ncells; k++)
        g->start[k + 1] += g->start[k];
    g->items = malloc((total ? total : 1) * sizeof *g->items);
    size_t *fill = malloc(ncells * sizeof *fill);
    if (!g->items || !fill) {
        free(fill);
        return false;
    }
    for (size_t k = 0; k < ncells; k++)
        fill[k] = g->start[k];
    for (size_t i = 0; i < n; i++) {
        if (!box_valid(&c[i])) continue;
        size_t r[4];
        cells_of(g, &c[i], r);
        for (size_t y = r[1]; y <= r[3]; y++)
            for (size_t x = r[0]; x <= r[2]; x++)
                g->items[fill[y * g->cols + x]++] = i;
    }
    free(fill);
    return true;
}

/* True when some box ranking before candidate i overlaps it. */
static bool blocked(const grid *g, const label_candidate *c, size_t i)
{
    size_t r[4];
    cells_of(g, &c[i], r);
    for (size_t y = r[1]; y <= r[3]; y++)
        for (size_t x = r[0]; x <= r[2]; x++) {
            size_t k = y * g->cols + x;
            for (size_t p = g->start[k]; p < g->start[k + 1]; p++) {
                size_t j = g->items[p];
                if (j != i && overlap(&c[j], &c[i]) && before(&c[j], j, &c[i], i)) return true;
            }
        }
    return false;
}

size_t labels_place(label_candidate *c, size_t n)
{
    if (n == 0) return 0;
    grid g = {0};
    if (!grid_build(&g, c, n)) {
        free(g.start);
        free(g.items);
        return place_brute(c, n);
    }
    size_t placed = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].placed = box_valid(&c[i]) && !blocked(&g, c, i);
        placed += c[i].placed;
    }
    free(g.start);
    free(g.items);
    return placed;
}

uint64_t labels_hash(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a 64 offset basis */
    if (s)
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            h ^= *p;
            h *= 1099511628211u; /* FNV prime */
        }
    return h;
}
