#include "tile.h"

#include "mercator.h"

bool tile_valid(tile_coord t)
{
    if (t.z < 0 || t.z > TILE_MAX_ZOOM) return false;
    uint32_t n = (uint32_t)1 << t.z;
    return t.x < n && t.y < n;
}

tile_bbox tile_bounds(tile_coord t)
{
    /* each edge from its own index, so that neighbours share edges exactly */
    double size = 2.0 * MERC_MAX / (double)((uint32_t)1 << t.z);
    return (tile_bbox){
        .minx = -MERC_MAX + t.x * size,
        .maxx = -MERC_MAX + (t.x + 1.0) * size,
        .maxy = MERC_MAX - t.y * size,
        .miny = MERC_MAX - (t.y + 1.0) * size,
    };
}

double tile_resolution(int z, int tile_px)
{
    return 2.0 * MERC_MAX / ((double)((uint32_t)1 << z) * tile_px);
}

tile_coord tile_at(int z, double x, double y)
{
    uint32_t n = (uint32_t)1 << z;
    double size = 2.0 * MERC_MAX / n;
    double fx = (x + MERC_MAX) / size, fy = (MERC_MAX - y) / size;
    tile_coord t = {z, 0, 0};
    t.x = fx <= 0 ? 0 : fx >= n ? n - 1 : (uint32_t)fx;
    t.y = fy <= 0 ? 0 : fy >= n ? n - 1 : (uint32_t)fy;
    return t;
}
