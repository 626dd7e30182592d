#include "gcj02.h"

#include <math.h>

/* Krasovsky 1940 ellipsoid, which the published formula uses for its metre to
 * degree scaling (not WGS84's). */
#define KRASOVSKY_A 6378245.0
#define KRASOVSKY_EE 0.00669342162296594323

#define GCJ_PI 3.14159265358979323846

/* The inverse stops once a correction step is under this many degrees (about
 * 0.1 mm); the shift varies slowly with position, so each step shrinks the
 * error ~1000-fold, 4-5 steps suffice, and the cap only guards against
 * bouncing across the rectangle's edge, where the shift jumps. */
#define INVERSE_TOL 1e-9
#define INVERSE_MAX_ITER 30

bool gcj02_out_of_china(double lon, double lat)
{
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

/* Northward shift in "metres on the Krasovsky ellipsoid" as the formula
 * defines it; x, y are lon - 105 and lat - 35 in degrees. */
static double shift_lat(double x, double y)
{
    double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * GCJ_PI) + 20.0 * sin(2.0 * x * GCJ_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(y * GCJ_PI) + 40.0 * sin(y / 3.0 * GCJ_PI)) * 2.0 / 3.0;
    r += (160.0 * sin(y / 12.0 * GCJ_PI) + 320.0 * sin(y * GCJ_PI / 30.0)) * 2.0 / 3.0;
    return r;
}

/* Eastward shift, same units and arguments as shift_lat(). */
static double shift_lon(double x, double y)
{
    double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * GCJ_PI) + 20.0 * sin(2.0 * x * GCJ_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(x * GCJ_PI) + 40.0 * sin(x / 3.0 * GCJ_PI)) * 2.0 / 3.0;
    r += (150.0 * sin(x / 12.0 * GCJ_PI) + 300.0 * sin(x / 30.0 * GCJ_PI)) * 2.0 / 3.0;
    return r;
}

void gcj02_from_wgs84(double lon, double lat, double *gcj_lon, double *gcj_lat)
{
    if (gcj02_out_of_china(lon, lat)) {
        *gcj_lon = lon;
        *gcj_lat = lat;
        return;
    }
    double dlat = shift_lat(lon - 105.0, lat - 35.0);
    double dlon = shift_lon(lon - 105.0, lat - 35.0);
    double rlat = lat / 180.0 * GCJ_PI;
    double s = sin(rlat);
    double w2 = 1.0 - KRASOVSKY_EE * s * s;
    double w = sqrt(w2);
    /* Metres to degrees with the meridian (M) and prime-vertical (N) radii. */
    double m = KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w2 * w);
    double n = KRASOVSKY_A / w;
    *gcj_lat = lat + dlat * 180.0 / (m * GCJ_PI);
    *gcj_lon = lon + dlon * 180.0 / (n * cos(rlat) * GCJ_PI);
}

void gcj02_to_wgs84(double gcj_lon, double gcj_lat, double *lon, double *lat)
{
    /* Fixed point of wgs = gcj - (forward(wgs) - wgs): start at the GCJ-02
     * point and move by the residual until forward() lands on the input. */
    double x = gcj_lon, y = gcj_lat;
    for (int i = 0; i < INVERSE_MAX_ITER; i++) {
        double fx, fy;
        gcj02_from_wgs84(x, y, &fx, &fy);
        double ex = fx - gcj_lon, ey = fy - gcj_lat;
        x -= ex;
        y -= ey;
        /* Stopping after the step leaves a residual ~1000 times under it. */
        if (fabs(ex) < INVERSE_TOL && fabs(ey) < INVERSE_TOL) break;
    }
    *lon = x;
    *lat = y;
}
