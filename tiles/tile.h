/* XYZ tile maths in Web Mercator (EPSG:3857): tile z/x/y covers a square of
 * the world, x growing east from the antimeridian, y growing south from the
 * top edge (85.05113N). Zoom 0..TILE_MAX_ZOOM. */
#ifndef ZS_TILE_H
#define ZS_TILE_H

#include <stdbool.h>
#include <stdint.h>

#define TILE_MAX_ZOOM 22

typedef struct {
    int z;
    uint32_t x, y;
} tile_coord;

typedef struct {
    double minx, miny, maxx, maxy; /* EPSG:3857 metres */
} tile_bbox;

/* True when z is 0..TILE_MAX_ZOOM and x, y are below 2^z. */
bool tile_valid(tile_coord t);

/* The tile's extent in EPSG:3857 metres. */
tile_bbox tile_bounds(tile_coord t);

/* Metres per pixel at zoom z for tiles of tile_px pixels (256 or 512). */
double tile_resolution(int z, int tile_px);

/* The tile at zoom z that contains the EPSG:3857 point (x, y), clamped to the
 * world. */
tile_coord tile_at(int z, double x, double y);

#endif
