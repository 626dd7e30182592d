#include "sidx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Layout (flat arrays, one entry = one box + one uint32):
 *   entries [0, n)            the items, sorted by the Hilbert value of their centre;
 *                             index[e] is the caller's item id
 *   entries [level_end[k-1], level_end[k])
 *                             level k's nodes; node e covers the entries
 *                             [index[e], min(index[e] + node_size, level_end[k-1]))
 * The last level is the root level and holds exactly one entry (or, for n <= 1, the
 * leaf level is the root level). */

#define SIDX_DEFAULT_NODE_SIZE 16u
/* With node_size >= 2 and fewer than 2^32 entries there are at most 33 levels. */
#define SIDX_MAX_LEVELS 64

struct sidx {
    uint32_t n;                          /* items */
    uint32_t node_size;                  /* children per node, >= 2 */
    uint32_t num_entries;                /* items + nodes */
    uint32_t num_levels;                 /* 0 when n == 0 */
    uint32_t level_end[SIDX_MAX_LEVELS]; /* exclusive end entry of each level */
    sidx_box *boxes;                     /* num_entries */
    uint32_t *index;                     /* num_entries */
};

typedef struct {
    uint32_t key; /* Hilbert value of the centre */
    uint32_t item;
} sidx_pair;

/* Position of (x, y), each in [0, 65535], along a 16th-order Hilbert curve. Nearby
 * points get nearby values, which keeps each leaf node's boxes close together. */
static uint32_t hilbert(uint32_t x, uint32_t y)
{
    const uint32_t side = 1u << 16;
    uint32_t d = 0;
    for (uint32_t s = side >> 1; s > 0; s >>= 1) {
        uint32_t rx = (x & s) ? 1u : 0u;
        uint32_t ry = (y & s) ? 1u : 0u;
        d += s * s * ((3u * rx) ^ ry);
        if (ry == 0) { /* rotate the quadrant so the sub-curve joins up */
            if (rx == 1) {
                x = side - 1 - x;
                y = side - 1 - y;
            }
            uint32_t t = x;
            x = y;
            y = t;
        }
    }
    return d;
}

/* Maps v in [lo, lo + span] to a grid cell in [0, 65535]. NaN, infinite or
 * out-of-range input clamps instead of reaching an undefined float-to-int cast. */
static uint32_t grid(double v, double lo, double span)
{
    double t = span > 0 ? (v - lo) / span * 65535.0 : 0.0;
    if (!(t >= 0)) return 0;
    if (t >= 65535.0) return 65535;
    return (uint32_t)t;
}

/* Stable LSD radix sort of pairs by key, O(n); tmp holds n pairs of scratch. Ties keep
 * item order, so the build is deterministic and many identical boxes cost nothing
 * extra. */
static void sort_pairs(sidx_pair *a, sidx_pair *tmp, uint32_t n)
{
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t count[256] = {0};
        for (uint32_t i = 0; i < n; i++)
            count[(a[i].key >> shift) & 0xffu]++;
        if (count[(a[0].key >> shift) & 0xffu] == n) continue; /* byte is the same in all */
        size_t pos = 0;
        for (unsigned b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = pos;
            pos += c;
        }
        for (uint32_t i = 0; i < n; i++)
            tmp[count[(a[i].key >> shift) & 0xffu]++] = a[i];
        memcpy(a, tmp, (size_t)n * sizeof *a);
    }
}

/* Counts the entries of all levels and fills level_end; false when they would not fit
 * in uint32 (the index array's type) or in size_t bytes. */
static bool plan_levels(sidx *ix)
{
    uint64_t total = ix->n, count = ix->n;
    uint32_t levels = 0;
    ix->level_end[levels++] = ix->n;
    while (count > 1) {
        count = (count + ix->node_size - 1) / ix->node_size;
        total += count;
        if (total > UINT32_MAX || levels == SIDX_MAX_LEVELS) return false;
        ix->level_end[levels++] = (uint32_t)total;
    }
    if (total > SIZE_MAX / sizeof(sidx_box)) return false;
    ix->num_levels = ix->n ? levels : 0;
    ix->num_entries = (uint32_t)total;
    return true;
}

/* Fills the leaf level: items in Hilbert order of their centres over the overall
 * extent. Returns false when out of memory. */
static bool fill_leaves(sidx *ix, const sidx_box *boxes)
{
    uint32_t n = ix->n;
    sidx_pair *pairs = malloc((size_t)n * 2 * sizeof *pairs);
    if (!pairs) return false;

    sidx_box ext = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (uint32_t i = 0; i < n; i++) {
        const sidx_box *b = &boxes[i];
        if (b->minx < ext.minx) ext.minx = b->minx;
        if (b->miny < ext.miny) ext.miny = b->miny;
        if (b->maxx > ext.maxx) ext.maxx = b->maxx;
        if (b->maxy > ext.maxy) ext.maxy = b->maxy;
    }
    double w = ext.maxx - ext.minx, h = ext.maxy - ext.miny;
    for (uint32_t i = 0; i < n; i++) {
        const sidx_box *b = &boxes[i];
        /* halves first so that huge coordinates do not overflow to infinity */
        double cx = b->minx / 2 + b->maxx / 2, cy = b->miny / 2 + b->maxy / 2;
        pairs[i].key = hilbert(grid(cx, ext.minx, w), grid(cy, ext.miny, h));
        pairs[i].item = i;
    }
    sort_pairs(pairs, pairs + n, n);
    for (uint32_t i = 0; i < n; i++) {
        ix->boxes[i] = boxes[pairs[i].item];
        ix->index[i] = pairs[i].item;
    }
    free(pairs);
    return true;
}

/* Builds each level of nodes from the one below: a node's box is the union of its
 * (up to node_size) consecutive children. */
static void fill_nodes(sidx *ix)
{
    uint32_t start = 0;
    for (uint32_t k = 1; k < ix->num_levels; k++) {
        uint32_t end = ix->level_end[k - 1], out = end;
        for (uint32_t c = start; c < end; out++) {
            uint32_t stop = end - c > ix->node_size ? c + ix->node_size : end;
            sidx_box u = {INFINITY, INFINITY, -INFINITY, -INFINITY};
            ix->index[out] = c;
            for (; c < stop; c++) {
                const sidx_box *b = &ix->boxes[c];
                if (b->minx < u.minx) u.minx = b->minx;
                if (b->miny < u.miny) u.miny = b->miny;
                if (b->maxx > u.maxx) u.maxx = b->maxx;
                if (b->maxy > u.maxy) u.maxy = b->maxy;
            }
            ix->boxes[out] = u;
        }
        start = end;
    }
}

sidx *sidx_build(const sidx_box *boxes, uint32_t n, unsigned node_size)
{
    sidx *ix = calloc(1, sizeof *ix);
    if (!ix) return NULL;
    ix->n = n;
    if (node_size == 0) node_size = SIDX_DEFAULT_NODE_SIZE;
    ix->node_size = node_size < 2 ? 2 : (uint32_t)node_size; /* 1 would never reach a root */
    if (!plan_levels(ix)) {
        free(ix);
        return NULL;
    }
    if (n == 0) return ix;

    ix->boxes = malloc((size_t)ix->num_entries * sizeof *ix->boxes);
    ix->index = malloc((size_t)ix->num_entries * sizeof *ix->index);
    if (!ix->boxes || !ix->index || !fill_leaves(ix, boxes)) {
        sidx_destroy(ix);
        return NULL;
    }
    fill_nodes(ix);
    return ix;
}

static bool intersects(const sidx_box *b, const sidx_box *q)
{
    return b->minx <= q->maxx && b->maxx >= q->minx && b->miny <= q->maxy && b->maxy >= q->miny;
}

/* Depth-first with one cursor per level rather than a stack of pending children, so
 * the stack stays at SIDX_MAX_LEVELS frames whatever node_size is, and nothing is
 * allocated: concurrent searches share only the read-only index. */
size_t sidx_search(const sidx *ix, sidx_box q, sidx_visit_fn visit, void *ctx)
{
    if (!ix || ix->n == 0) return 0;
    struct {
        uint32_t next, end, level;
    } stack[SIDX_MAX_LEVELS];
    int top = 0;
    uint32_t root = ix->num_levels - 1;
    stack[0].next = root ? ix->level_end[root - 1] : 0;
    stack[0].end = ix->level_end[root];
    stack[0].level = root;
    size_t visited = 0;

    while (top >= 0) {
        if (stack[top].next == stack[top].end) {
            top--;
            continue;
        }
        uint32_t e = stack[top].next++;
        if (!intersects(&ix->boxes[e], &q)) continue;
        uint32_t level = stack[top].level;
        if (level == 0) {
            visited++;
            if (!visit(ix->index[e], ctx)) break;
            continue;
        }
        uint32_t first = ix->index[e], below_end = ix->level_end[level - 1];
        top++;
        stack[top].next = first;
        stack[top].end = below_end - first > ix->node_size ? first + ix->node_size : below_end;
        stack[top].level = level - 1;
    }
    return visited;
}

uint32_t sidx_count(const sidx *ix)
{
    return ix ? ix->n : 0;
}

size_t sidx_memory(const sidx *ix)
{
    if (!ix) return 0;
    return sizeof *ix + (size_t)ix->num_entries * (sizeof *ix->boxes + sizeof *ix->index);
}

void sidx_destroy(sidx *ix)
{
    if (!ix) return;
    free(ix->boxes);
    free(ix->index);
    free(ix);
}
