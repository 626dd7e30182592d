/* Web Mercator (EPSG:3857) from lon/lat degrees: the one projection the
 * snapshot needs, done once at load. Spherical formulas on the WGS84 radius,
 * as EPSG:3857 defines them. */
#ifndef ZS_MERCATOR_H
#define ZS_MERCATOR_H

#include <math.h>

#define MERC_RADIUS 6378137.0
#define MERC_MAX 20037508.342789244     /* half the world's width, metres */
#define MERC_MAX_LAT 85.051128779806592 /* latitude where y reaches MERC_MAX */

static inline double merc_x(double lon_deg)
{
    return MERC_RADIUS * lon_deg * (M_PI / 180.0);
}

/* Latitudes beyond MERC_MAX_LAT are clamped to the edge of the map. */
static inline double merc_y(double lat_deg)
{
    if (lat_deg > MERC_MAX_LAT) lat_deg = MERC_MAX_LAT;
    if (lat_deg < -MERC_MAX_LAT) lat_deg = -MERC_MAX_LAT;
    return MERC_RADIUS * log(tan(M_PI / 4.0 + lat_deg * (M_PI / 360.0)));
}

static inline double merc_lon(double x)
{
    return x / MERC_RADIUS * (180.0 / M_PI);
}

static inline double merc_lat(double y)
{
    return (2.0 * atan(exp(y / MERC_RADIUS)) - M_PI / 2.0) * (180.0 / M_PI);
}

#endif
