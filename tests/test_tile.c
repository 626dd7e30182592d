/* Tile maths against values computed by hand from the EPSG:3857 definition. */
#include "mercator.h"
#include "test.h"
#include "tile.h"

int main(void)
{
    /* z0 is the whole world */
    tile_bbox w = tile_bounds((tile_coord){0, 0, 0});
    CHECK_NEAR(w.minx, -20037508.342789244, 1e-6);
    CHECK_NEAR(w.maxy, 20037508.342789244, 1e-6);
    CHECK_NEAR(w.maxx, 20037508.342789244, 1e-6);
    CHECK_NEAR(tile_resolution(0, 256), 156543.03392804097, 1e-6);
    CHECK_NEAR(tile_resolution(1, 512), 156543.03392804097 / 4, 1e-6);

    /* the district: 117.19E 34.29N at z14 is tile 13525/6528 (x 13525.447, y 6528.944) */
    double x = merc_x(117.19), y = merc_y(34.29);
    tile_coord t = tile_at(14, x, y);
    CHECK_INT(t.x, 13525);
    CHECK_INT(t.y, 6528);
    tile_bbox b = tile_bounds(t);
    CHECK(b.minx <= x && x < b.maxx && b.miny < y && y <= b.maxy);
    CHECK_NEAR(b.maxx - b.minx, 2 * MERC_MAX / 16384, 1e-6);
    /* neighbours share edges exactly */
    tile_bbox east = tile_bounds((tile_coord){14, 13526, 6528});
    tile_bbox south = tile_bounds((tile_coord){14, 13525, 6529});
    CHECK(east.minx == b.maxx);
    CHECK(south.maxy == b.miny);

    /* the inverse formulas undo the forward ones */
    CHECK_NEAR(merc_lon(x), 117.19, 1e-12);
    CHECK_NEAR(merc_lat(y), 34.29, 1e-12);
    CHECK_NEAR(merc_y(89.9), MERC_MAX, 1e-6); /* clamped at the map's edge */

    CHECK(tile_valid((tile_coord){22, (1u << 22) - 1, 0}));
    CHECK(!tile_valid((tile_coord){23, 0, 0}));
    CHECK(!tile_valid((tile_coord){3, 8, 0}));
    CHECK(!tile_valid((tile_coord){-1, 0, 0}));
    /* points outside the world clamp to the edge tiles */
    tile_coord c = tile_at(3, -3e7, 3e7);
    CHECK_INT(c.x, 0);
    CHECK_INT(c.y, 0);
    c = tile_at(3, 3e7, -3e7);
    CHECK_INT(c.x, 7);
    CHECK_INT(c.y, 7);
    TEST_DONE();
}
