/* Label placement that neighbouring tiles agree on. Every candidate is
 * positioned in global pixels (the whole world at the render's resolution),
 * from its feature alone. A candidate is placed when no candidate of higher
 * priority overlaps it, whether that one is placed or not: the answer for a
 * label then depends only on candidates within a label's reach of it, so any
 * tile that gathers candidates with that margin decides the same, labels
 * never overlap, and a label crossing a tile edge is drawn by both tiles. */
#ifndef ZS_LABELS_H
#define ZS_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double minx, miny, maxx, maxy; /* global pixels, y down; the label's box with padding */
    double priority;               /* lower wins */
    uint64_t tie;                  /* breaks equal priorities the same way everywhere */
    bool placed;                   /* out */
} label_candidate;

/* Decides placed for each of the n candidates as described above.
 * Returns how many are placed. O(n log n) on typical maps. */
size_t labels_place(label_candidate *c, size_t n);

/* A stable 64-bit hash of a string (FNV-1a), for tie. */
uint64_t labels_hash(const char *s);

#endif
