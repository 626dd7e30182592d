/* A strict reader of Well-Known Binary geometry (OGC WKB, ISO Z/M/ZM codes and
 * PostGIS EWKB flags, either byte order) into flat arrays of parts and points.
 * It knows nothing of coordinate systems: points come out as they were
 * written (for the store: EPSG:4490 lon/lat degrees). Z and M are dropped.
 * Untrusted input is fine: every count is checked against the bytes left
 * before anything is allocated, and malformed input is an error, never a
 * crash or a read outside the buffer. */
#ifndef ZS_WKB_H
#define ZS_WKB_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

/* What a part is: the renderer fills outer rings and holes together
 * (even-odd), strokes lines, and draws points as symbols. */
typedef enum {
    WKB_PART_POINT, /* one point */
    WKB_PART_LINE,  /* a line string */
    WKB_PART_OUTER, /* a polygon's first ring */
    WKB_PART_HOLE,  /* a polygon's further rings */
} wkb_part_role;

typedef struct {
    uint32_t first; /* index of the part's first point in wkb_geom.xy */
    uint32_t count; /* points, >= 1; a ring keeps its closing point as written */
    wkb_part_role role;
} wkb_part;

typedef struct {
    double x, y; /* as written in the WKB */
} wkb_xy;

/* A parsed geometry. Empty parts (a ring or line with no points, POINT EMPTY
 * written as NaN NaN) are left out, so an empty geometry has no parts. */
typedef struct {
    uint32_t type; /* top-level OGC type, 1..7 (Point..GeometryCollection), Z/M flags removed */
    wkb_part *parts;
    size_t nparts, parts_cap;
    wkb_xy *xy;
    size_t nxy, xy_cap;
} wkb_geom;

#define WKB_MAX_DEPTH 8 /* nesting of collections accepted */

/* An empty wkb_geom that owns nothing yet; reuse it across calls to
 * wkb_parse() to keep its buffers, free them with wkb_geom_free(). */
#define WKB_GEOM_INIT                                                                              \
    {                                                                                              \
        0, NULL, 0, 0, NULL, 0, 0                                                                  \
    }

/* Parses len bytes of WKB into g, replacing what g held (its buffers are
 * reused and grown as needed). The whole buffer must be one geometry: a
 * truncated buffer, trailing bytes, an unknown byte order or type, a Multi*
 * whose members are of another type, nesting deeper than WKB_MAX_DEPTH, or a
 * non-finite coordinate (other than POINT EMPTY) is ZS_EGEOM with the reason
 * and byte offset in err; out of memory is ZS_ENOMEM. On error g holds no
 * parts. */
zs_status wkb_parse(const unsigned char *buf, size_t len, wkb_geom *g, zs_error *err);

/* The OGC name of a type code 1..7 ("MultiPolygon"), "unknown" otherwise. */
const char *wkb_type_name(uint32_t type);

/* Frees g's buffers and leaves it empty (as WKB_GEOM_INIT); g may be NULL. */
void wkb_geom_free(wkb_geom *g);

#endif
