/* sidx against a brute-force scan: for many data sets and thousands of queries the
 * index must visit exactly the items whose box intersects the query (edges touching
 * count), each once. Deterministic: a fixed-seed PRNG drives everything. */
#include "sidx.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A 100 km square in EPSG:3857 metres. */
#define X0 13.0e6
#define Y0 4.0e6
#define SPAN 100e3

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * 0x1p-53;
}

static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * rng_unit();
}

static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)(rng_next() % n);
}

/* Log-uniform in [lo, hi]: mixes tiny and large sizes. */
static double rng_size(double lo, double hi)
{
    return lo * pow(hi / lo, rng_unit());
}

static sidx_box box_at(double x, double y, double w, double h)
{
    return (sidx_box){x, y, x + w, y + h};
}

static bool box_hits(const sidx_box *b, const sidx_box *q)
{
    return b->minx <= q->maxx && b->maxx >= q->minx && b->miny <= q->maxy && b->maxy >= q->miny;
}

/* The ids brute force finds, ascending; returns how many. */
static size_t brute(const sidx_box *boxes, uint32_t n, sidx_box q, uint32_t *out)
{
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (box_hits(&boxes[i], &q)) out[k++] = i;
    return k;
}

typedef struct {
    uint32_t *ids;
    size_t len, cap;   /* len counts every visit, even past cap */
    size_t stop_after; /* 0: never stop */
} collector;

static bool collect(uint32_t item, void *ctx)
{
    collector *c = ctx;
    if (c->len < c->cap) c->ids[c->len] = item;
    c->len++;
    return c->stop_after == 0 || c->len < c->stop_after;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const char *name;
    const sidx_box *boxes;
    uint32_t n;
    sidx *ix;
    uint32_t *want, *got; /* scratch, n + 1 each */
    long queries, mismatches;
} fixture;

/* One query: the visited set equals brute force, no id twice, the return value counts
 * the visits, and stopping after the first visit stops the search. Returns the number
 * of hits so callers can add their own expectations. */
static size_t check_query(fixture *f, sidx_box q)
{
    size_t nwant = brute(f->boxes, f->n, q, f->want);
    collector c = {.ids = f->got, .cap = (size_t)f->n + 1};
    size_t ret = sidx_search(f->ix, q, collect, &c);
    const char *why = NULL;
    if (ret != c.len)
        why = "return value differs from number of visits";
    else if (c.len != nwant)
        why = "visit count differs from brute force";
    else {
        qsort(c.ids, c.len, sizeof *c.ids, cmp_u32);
        for (size_t i = 0; i < c.len && !why; i++) {
            if (i > 0 && c.ids[i] == c.ids[i - 1])
                why = "an item was visited twice";
            else if (c.ids[i] != f->want[i])
                why = "visited set differs from brute force";
        }
    }

    collector one = {.ids = f->got, .cap = (size_t)f->n + 1, .stop_after = 1};
    size_t ret1 = sidx_search(f->ix, q, collect, &one);
    size_t expect1 = nwant ? 1 : 0;
    if (!why && (ret1 != expect1 || one.len != expect1)) why = "early stop did not stop";
    if (!why && expect1 && !bsearch(&one.ids[0], f->want, nwant, sizeof *f->want, cmp_u32))
        why = "early stop visited an item that does not intersect";

    f->queries++;
    if (why) {
        if (f->mismatches < 5)
            fprintf(stderr,
                    "%s: query [%.17g %.17g %.17g %.17g]: %s (brute %zu, visited %zu, "
                    "returned %zu)\n",
                    f->name, q.minx, q.miny, q.maxx, q.maxy, why, nwant, c.len, ret);
        f->mismatches++;
    }
    return nwant;
}

static bool wanted(const fixture *f, size_t nwant, uint32_t id)
{
    return bsearch(&id, f->want, nwant, sizeof *f->want, cmp_u32) != NULL;
}

/* Queries that touch one item's box exactly on an edge or corner from outside must
 * find it; moved outward by one ulp they must not. This pins down inclusive edges
 * independently of the brute-force predicate. */
static void check_touching(fixture *f, uint32_t id)
{
    sidx_box b = f->boxes[id];
    double w = rng_size(0.01, 5000), h = rng_size(0.01, 5000);
    double ylo = rng_range(b.miny - h, b.maxy), xlo = rng_range(b.minx - w, b.maxx);
    sidx_box touch[6] = {
        {b.maxx, ylo, b.maxx + w, ylo + h},       /* right edge */
        {b.minx - w, ylo, b.minx, ylo + h},       /* left edge */
        {xlo, b.maxy, xlo + w, b.maxy + h},       /* top edge */
        {xlo, b.miny - h, xlo + w, b.miny},       /* bottom edge */
        {b.maxx, b.maxy, b.maxx + w, b.maxy + h}, /* top-right corner */
        {b.minx - w, b.miny - h, b.minx, b.miny}, /* bottom-left corner */
    };
    for (int k = 0; k < 6; k++) {
        /* ylo + h can round below b.miny; keep the touch exact */
        if (k < 2 && touch[k].maxy < b.miny) touch[k].maxy = b.miny;
        if (k >= 2 && k < 4 && touch[k].maxx < b.minx) touch[k].maxx = b.minx;
        size_t nwant = check_query(f, touch[k]);
        CHECK(wanted(f, nwant, id));

        sidx_box away = touch[k];
        switch (k) {
        case 0:
            away.minx = nextafter(b.maxx, INFINITY);
            break;
        case 1:
            away.maxx = nextafter(b.minx, -INFINITY);
            break;
        case 2:
            away.miny = nextafter(b.maxy, INFINITY);
            break;
        case 3:
            away.maxy = nextafter(b.miny, -INFINITY);
            break;
        case 4:
            away.minx = nextafter(b.maxx, INFINITY);
            break;
        default:
            away.maxy = nextafter(b.miny, -INFINITY);
            break;
        }
        nwant = check_query(f, away);
        CHECK(!wanted(f, nwant, id));
    }
}

/* Builds an index over boxes with node_size and runs random and fixed queries
 * against brute force. all_findable: every box is a real box (no NaN), so a query
 * covering everything must find all n. */
static void check_set(const char *name, const sidx_box *boxes, uint32_t n, unsigned node_size,
                      int nqueries, bool all_findable)
{
    fixture f = {name, boxes, n, NULL, NULL, NULL, 0, 0};
    f.ix = sidx_build(boxes, n, node_size);
    CHECK(f.ix != NULL);
    if (!f.ix) return;
    CHECK_INT(sidx_count(f.ix), n);
    f.want = malloc(((size_t)n + 1) * sizeof *f.want);
    f.got = malloc(((size_t)n + 1) * sizeof *f.got);
    CHECK(f.want && f.got);
    if (!f.want || !f.got) goto done;

    sidx_box ext = {X0, Y0, X0 + SPAN, Y0 + SPAN};
    for (uint32_t i = 0; i < n; i++) {
        if (boxes[i].minx < ext.minx) ext.minx = boxes[i].minx;
        if (boxes[i].miny < ext.miny) ext.miny = boxes[i].miny;
        if (boxes[i].maxx > ext.maxx) ext.maxx = boxes[i].maxx;
        if (boxes[i].maxy > ext.maxy) ext.maxy = boxes[i].maxy;
    }

    /* Fixed queries: everything, exactly the extent, the whole plane, outside. */
    sidx_box all = {ext.minx - 1, ext.miny - 1, ext.maxx + 1, ext.maxy + 1};
    sidx_box plane = {-INFINITY, -INFINITY, INFINITY, INFINITY};
    size_t nall = check_query(&f, all);
    CHECK_INT(check_query(&f, plane), nall);
    CHECK_INT(check_query(&f, ext), nall);
    if (all_findable) CHECK_INT(nall, n);
    CHECK_INT(check_query(&f, box_at(ext.maxx + 10, ext.maxy + 10, 1000, 1000)), 0);
    CHECK_INT(check_query(&f, box_at(ext.minx - 2000, Y0, 1000, SPAN)), 0);
    CHECK_INT(check_query(&f, box_at(-1e7, -1e7, 0, 0)), 0);

    for (int i = 0; i < nqueries; i++) {
        double x = rng_range(ext.minx - 1000, ext.maxx + 1000);
        double y = rng_range(ext.miny - 1000, ext.maxy + 1000);
        switch (i % 8) {
        case 0: /* any size, from a metre to half the extent */
            check_query(&f, box_at(x, y, rng_size(1, 50e3), rng_size(1, 50e3)));
            break;
        case 1: /* a zoom-14 tile, roughly */
            check_query(&f, box_at(x, y, 2446, 2446));
            break;
        case 2: /* a point: zero area */
            check_query(&f, box_at(x, y, 0, 0));
            break;
        case 3: /* a zero-width line */
            check_query(&f, box_at(x, y, 0, rng_size(1, 10e3)));
            break;
        case 4: /* an item's corner, exactly */
            if (n) {
                sidx_box b = boxes[rng_below(n)];
                check_query(&f, box_at(i & 8 ? b.minx : b.maxx, i & 16 ? b.miny : b.maxy, 0, 0));
            }
            break;
        case 5: /* a query sharing an item's box exactly */
            if (n) check_query(&f, boxes[rng_below(n)]);
            break;
        case 6: /* touching an item from outside, and one ulp away */
            if (n && all_findable) check_touching(&f, rng_below(n));
            break;
        default: /* a click-sized box */
            check_query(&f, box_at(x, y, rng_size(0.1, 20), rng_size(0.1, 20)));
            break;
        }
    }
    CHECK_INT(f.mismatches, 0);
    if (f.mismatches)
        fprintf(stderr, "%s: %ld of %ld queries wrong\n", name, f.mismatches, f.queries);

done:
    free(f.want);
    free(f.got);
    sidx_destroy(f.ix);
}

/* Boxes of mixed sizes (centimetres to kilometres) spread uniformly. */
static void gen_uniform(sidx_box *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        b[i] = box_at(rng_range(X0, X0 + SPAN), rng_range(Y0, Y0 + SPAN), rng_size(0.01, 3000),
                      rng_size(0.01, 3000));
}

/* Small boxes crowded around a few centres, like buildings in parks. */
static void gen_clustered(sidx_box *b, uint32_t n)
{
    double cx[12], cy[12];
    for (int k = 0; k < 12; k++) {
        cx[k] = rng_range(X0, X0 + SPAN);
        cy[k] = rng_range(Y0, Y0 + SPAN);
    }
    for (uint32_t i = 0; i < n; i++) {
        int k = (int)rng_below(12);
        /* sum of uniforms: roughly normal, ~300 m spread */
        double dx = (rng_unit() + rng_unit() + rng_unit() - 1.5) * 400;
        double dy = (rng_unit() + rng_unit() + rng_unit() - 1.5) * 400;
        b[i] = box_at(cx[k] + dx, cy[k] + dy, rng_size(1, 80), rng_size(1, 80));
    }
}

/* Mostly copies of three boxes, so many items share a Hilbert value. */
static void gen_duplicates(sidx_box *b, uint32_t n)
{
    sidx_box same[3] = {box_at(X0 + 5000, Y0 + 5000, 100, 50), box_at(X0 + 5000, Y0 + 5000, 0, 0),
                        box_at(X0 + 70e3, Y0 + 20e3, 3000, 3000)};
    for (uint32_t i = 0; i < n; i++)
        b[i] = i % 10 == 9 ? box_at(rng_range(X0, X0 + SPAN), rng_range(Y0, Y0 + SPAN), 20, 20)
                           : same[rng_below(3)];
}

/* Points, half of them on a 1 km grid so queries hit shared coordinates exactly. */
static void gen_points(sidx_box *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        double x = rng_range(X0, X0 + SPAN), y = rng_range(Y0, Y0 + SPAN);
        if (i & 1) {
            x = X0 + 1000.0 * rng_below(101);
            y = Y0 + 1000.0 * rng_below(101);
        }
        b[i] = box_at(x, y, 0, 0);
    }
}

/* Horizontal and vertical zero-width lines, like axis-aligned roads. */
static void gen_lines(sidx_box *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        double x = rng_range(X0, X0 + SPAN), y = rng_range(Y0, Y0 + SPAN);
        double len = rng_size(1, 20e3);
        b[i] = i & 1 ? box_at(x, y, len, 0) : box_at(x, y, 0, len);
    }
}

static sidx_box *alloc_boxes(uint32_t n)
{
    sidx_box *b = malloc((n ? n : 1) * sizeof *b);
    if (!b) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return b;
}

/* The small sizes where level arithmetic goes wrong: 0, 1, one full node, one more. */
static void test_small_sizes(void)
{
    static const unsigned sizes[] = {0, 2, 3, 4, 16, 17};
    sidx_box *b = alloc_boxes(300);
    gen_uniform(b, 300);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        unsigned ns = sizes[s] ? sizes[s] : 16;
        uint32_t ns32 = (uint32_t)ns;
        const uint32_t counts[] = {0,        1,        2,           ns32 - 1,       ns32,
                                   ns32 + 1, 2 * ns32, ns32 * ns32, ns32 * ns32 + 1};
        for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
            char name[64];
            snprintf(name, sizeof name, "n=%u node_size=%u", counts[c], sizes[s]);
            check_set(name, b, counts[c], sizes[s], 200, true);
        }
    }
    free(b);
}

static void test_empty(void)
{
    sidx *ix = sidx_build(NULL, 0, 0);
    CHECK(ix != NULL);
    collector c = {.ids = NULL};
    CHECK_INT(sidx_search(ix, (sidx_box){-INFINITY, -INFINITY, INFINITY, INFINITY}, collect, &c),
              0);
    CHECK_INT(c.len, 0);
    CHECK_INT(sidx_count(ix), 0);
    CHECK(sidx_memory(ix) > 0);
    sidx_destroy(ix);
    sidx_destroy(NULL);
}

/* Degenerate node sizes: 1 must still build a tree; one node bigger than n is fine. */
static void test_node_size_extremes(void)
{
    sidx_box *b = alloc_boxes(500);
    gen_clustered(b, 500);
    check_set("node_size=1", b, 500, 1, 300, true);
    check_set("node_size=1000000", b, 500, 1000000, 300, true);
    free(b);
}

/* Too many items for uint32 child indices: refused before the boxes are read. */
static void test_too_large(void)
{
    sidx_box one = box_at(X0, Y0, 1, 1);
    CHECK(sidx_build(&one, UINT32_MAX, 0) == NULL);
    CHECK(sidx_build(&one, UINT32_MAX, 2) == NULL);
}

/* NaN boxes are nobody's to find, but must not break the tree around them. */
static void test_nan_boxes(void)
{
    sidx_box *b = alloc_boxes(2000);
    gen_uniform(b, 2000);
    for (uint32_t i = 0; i < 2000; i += 97)
        b[i].minx = NAN;
    for (uint32_t i = 5; i < 2000; i += 89)
        b[i] = (sidx_box){NAN, NAN, NAN, NAN};
    check_set("with NaN boxes", b, 2000, 0, 500, false);
    free(b);
}

static void test_datasets(void)
{
    const uint32_t n = 20000;
    sidx_box *b = alloc_boxes(n);

    gen_uniform(b, n);
    check_set("uniform", b, n, 0, 2000, true);
    check_set("uniform node_size=4", b, n, 4, 500, true);
    gen_clustered(b, n);
    check_set("clustered", b, n, 0, 2000, true);
    gen_duplicates(b, n);
    check_set("duplicates", b, n, 0, 1000, true);
    for (uint32_t i = 0; i < n; i++)
        b[i] = box_at(X0 + 1234.5, Y0 + 678.25, 10, 10);
    check_set("all identical", b, n, 0, 300, true);
    gen_points(b, n);
    check_set("points", b, n, 0, 2000, true);
    gen_lines(b, n);
    check_set("lines", b, n, 0, 1000, true);
    free(b);
}

/* Items come back in Hilbert order, so neighbours in the visit order are neighbours on
 * the map: that locality is what lets nodes prune. Points spread over a square of side
 * L are about L / sqrt(n) apart; an unsorted order would step about L / 2. */
static void test_locality(void)
{
    const uint32_t n = 10000;
    sidx_box *b = alloc_boxes(n);
    uint32_t *order = malloc(n * sizeof *order);
    CHECK(order != NULL);
    gen_uniform(b, n);
    for (uint32_t i = 0; i < n; i++)
        b[i].maxx = b[i].minx, b[i].maxy = b[i].miny;
    sidx *ix = sidx_build(b, n, 0);
    CHECK(ix != NULL);
    if (ix && order) {
        collector c = {.ids = order, .cap = n};
        sidx_search(ix, (sidx_box){-INFINITY, -INFINITY, INFINITY, INFINITY}, collect, &c);
        CHECK_INT(c.len, n);
        double steps = 0;
        for (uint32_t i = 1; i < n && i < c.len; i++)
            steps += hypot(b[order[i]].minx - b[order[i - 1]].minx,
                           b[order[i]].miny - b[order[i - 1]].miny);
        double mean = steps / (n - 1), spacing = SPAN / sqrt(n);
        CHECK(mean < 2 * spacing);
        if (mean >= 2 * spacing)
            fprintf(stderr, "mean step %.0f m, spacing %.0f m\n", mean, spacing);
    }
    sidx_destroy(ix);
    free(order);
    free(b);
}

/* 100,000 items: still exact, and memory per item stays a small constant. */
static void test_large(void)
{
    const uint32_t n = 100000;
    sidx_box *b = alloc_boxes(n);
    gen_uniform(b, n);
    check_set("100k uniform", b, n, 0, 400, true);

    sidx *ix = sidx_build(b, n, 0);
    CHECK(ix != NULL);
    /* a box is 32 bytes and an id 4; nodes add about 1/15 of that */
    CHECK(sidx_memory(ix) >= (size_t)n * 36);
    CHECK(sidx_memory(ix) <= (size_t)n * 40 + 4096);
    sidx_destroy(ix);

    ix = sidx_build(b, n, 2); /* the worst case: about as many nodes as items */
    CHECK(ix != NULL);
    CHECK(sidx_memory(ix) <= (size_t)n * 2 * 36 + 4096);
    sidx_destroy(ix);
    free(b);
}

int main(void)
{
    rng_state = 0x5eed5eed12345678u;
    test_empty();
    test_too_large();
    test_small_sizes();
    test_node_size_extremes();
    test_nan_boxes();
    test_locality();
    test_datasets();
    test_large();
    TEST_DONE();
}
