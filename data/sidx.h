/* A packed, static spatial index (Hilbert-sorted R-tree, built once, never
 * changed): what a snapshot uses to find the features in a tile or under a
 * click. Coordinates are whatever the caller uses (zsmap: EPSG:3857 metres). */
#ifndef ZS_SIDX_H
#define ZS_SIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double minx, miny, maxx, maxy; /* inclusive */
} sidx_box;

typedef struct sidx sidx;

/* Called for each item whose box intersects the query (edges touching count);
 * return false to stop the search. */
typedef bool (*sidx_visit_fn)(uint32_t item, void *ctx);

/* Builds an index over n boxes; item i is boxes[i]. node_size 0 picks the
 * default (16). Returns a new index, free with sidx_destroy(); NULL when out of
 * memory. The boxes are copied. */
sidx *sidx_build(const sidx_box *boxes, uint32_t n, unsigned node_size);

/* Visits every item whose box intersects q; returns how many were visited. */
size_t sidx_search(const sidx *ix, sidx_box q, sidx_visit_fn visit, void *ctx);

/* Number of items and bytes held. */
uint32_t sidx_count(const sidx *ix);
size_t sidx_memory(const sidx *ix);

void sidx_destroy(sidx *ix);

#endif
