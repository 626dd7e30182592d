/* GCJ-02: the forward formula against a published pair, the identity outside
 * China, and the iterated inverse over a random cloud of points in China. */
#include "gcj02.h"
#include "test.h"

#include <stdint.h>

#define DEG_PER_RAD (180.0 / 3.14159265358979323846)

/* Metres per degree of latitude, and of longitude at the equator, good to a
 * percent: enough to read offsets and tolerances in metres. */
#define M_PER_DEG 111195.0

/* splitmix64: a fixed-seed generator so failures reproduce on every libc. */
static uint64_t rng_state = 20240601u;

static double uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0; /* 2^53 */
}

static void test_published_pair(void)
{
    /* wandergis/coordtransform, test/app.js: wgs84togcj02(116.404, 39.915). */
    double lon, lat;
    gcj02_from_wgs84(116.404, 39.915, &lon, &lat);
    CHECK_NEAR(lon, 116.41024449916938, 1e-11);
    CHECK_NEAR(lat, 39.91640428150164, 1e-11);
}

static void test_offset_size(void)
{
    /* Near the district (117.19E 34.29N) the shift is about 530 m east and
     * 135 m south; the formula never moves a point by more than ~700 m. */
    double lon, lat;
    gcj02_from_wgs84(117.19, 34.29, &lon, &lat);
    double east = (lon - 117.19) * M_PER_DEG * cos(34.29 / DEG_PER_RAD);
    double north = (lat - 34.29) * M_PER_DEG;
    CHECK(east > 400.0 && east < 700.0);
    CHECK(north > -300.0 && north < -100.0);
}

static void test_out_of_china(void)
{
    static const double outside[][2] = {
        {2.35, 48.85},   /* Paris */
        {-74.0, 40.7},   /* New York */
        {139.69, 35.69}, /* Tokyo: east of 137.8347 */
        {100.0, 56.0},   /* north of 55.8271 */
        {150.0, -30.0},  /* southern hemisphere */
        {71.9, 40.0},    /* just west of 72.004 */
        {110.0, 0.8},    /* just south of 0.8293 */
        {-180.0, -90.0},
    };
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        double x = outside[i][0], y = outside[i][1], gx, gy, wx, wy;
        CHECK(gcj02_out_of_china(x, y));
        gcj02_from_wgs84(x, y, &gx, &gy);
        CHECK(gx == x && gy == y);
        gcj02_to_wgs84(x, y, &wx, &wy);
        CHECK(wx == x && wy == y);
    }
    CHECK(!gcj02_out_of_china(117.19, 34.29));
    CHECK(!gcj02_out_of_china(72.004, 0.8293)); /* the rectangle is closed */
    CHECK(!gcj02_out_of_china(137.8347, 55.8271));
}

/* Random points over lon 74..134, lat 18..53: the shift stays within 1 km, the
 * inverse meets its 1e-9 degree contract and recovers WGS84 to well under
 * 1 cm (1e-7 degree). */
static void test_round_trip(void)
{
    enum { N = 10000 };
    double worst_fwd = 0.0, worst_rt = 0.0, worst_shift = 0.0;
    for (int i = 0; i < N; i++) {
        double lon = uniform(74.0, 134.0), lat = uniform(18.0, 53.0);
        double glon, glat, wlon, wlat, flon, flat;
        gcj02_from_wgs84(lon, lat, &glon, &glat);
        gcj02_to_wgs84(glon, glat, &wlon, &wlat);
        gcj02_from_wgs84(wlon, wlat, &flon, &flat);

        double c = cos(lat / DEG_PER_RAD);
        double shift = hypot((glon - lon) * c, glat - lat) * M_PER_DEG;
        double fwd = fmax(fabs(flon - glon), fabs(flat - glat));
        double rt = fmax(fabs(wlon - lon), fabs(wlat - lat));
        if (shift > worst_shift) worst_shift = shift;
        if (fwd > worst_fwd) worst_fwd = fwd;
        if (rt > worst_rt) worst_rt = rt;
    }
    printf("round trip over %d points: largest shift %.1f m, forward residual %.2g deg, "
           "round-trip error %.2g deg\n",
           N, worst_shift, worst_fwd, worst_rt);
    CHECK(worst_shift > 10.0 && worst_shift < 1000.0);
    CHECK_NEAR(worst_fwd, 0.0, 1e-9);
    CHECK_NEAR(worst_rt, 0.0, 1e-8);
}

/* The inverse takes the published GCJ-02 point back to its WGS84 point to
 * 1 cm, and forward() of any inverse lands on the GCJ-02 input. */
static void test_inverse(void)
{
    double lon, lat, glon, glat;
    gcj02_to_wgs84(116.41024449916938, 39.91640428150164, &lon, &lat);
    CHECK_NEAR(lon, 116.404, 1e-7);
    CHECK_NEAR(lat, 39.915, 1e-7);

    gcj02_to_wgs84(117.19, 34.29, &lon, &lat);
    gcj02_from_wgs84(lon, lat, &glon, &glat);
    CHECK_NEAR(glon, 117.19, 1e-9);
    CHECK_NEAR(glat, 34.29, 1e-9);
}

int main(void)
{
    test_published_pair();
    test_offset_size();
    test_out_of_china();
    test_round_trip();
    test_inverse();
    TEST_DONE();
}
