/* GCJ-02 ("Mars coordinates"), the obfuscated datum of some Chinese web maps.
 * It is not a PROJ CRS: the published forward formula shifts WGS84 lon/lat by
 * a few hundred metres; the inverse is found by fixed-point iteration.
 * Outside China (the formula's own rectangle) both are the identity. */
#ifndef ZS_GCJ02_H
#define ZS_GCJ02_H

#include <stdbool.h>

/* True when lon/lat (degrees) lies outside the rectangle the formula covers. */
bool gcj02_out_of_china(double lon, double lat);

/* WGS84 lon/lat (degrees) to GCJ-02 lon/lat (degrees). */
void gcj02_from_wgs84(double lon, double lat, double *gcj_lon, double *gcj_lat);

/* GCJ-02 lon/lat to WGS84 lon/lat, iterated until the forward formula
 * reproduces the input to better than 1e-9 degrees (about 0.1 mm). */
void gcj02_to_wgs84(double gcj_lon, double gcj_lat, double *lon, double *lat);

#endif
