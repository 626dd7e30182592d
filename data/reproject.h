/* Reprojection of source coordinates to the store's lon/lat (CGCS2000,
 * EPSG:4490, longitude first), with PROJ. The one module that includes proj.h.
 * "GCJ02" (any case) is accepted as a source and converted with gcj02.h to
 * WGS84, which agrees with CGCS2000 to centimetres. */
#ifndef ZS_REPROJECT_H
#define ZS_REPROJECT_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct reproj reproj;

/* Creates a transform from src_crs (anything PROJ accepts: "EPSG:4548",
 * WKT, PROJJSON; or "GCJ02") to EPSG:4490 lon/lat. Returns a new transform in
 * *out, free with reproj_destroy(); on failure *out is NULL and err names the
 * CRS. Not thread-safe: use one per thread. */
zs_status reproj_create(const char *src_crs, reproj **out, zs_error *err);

/* Transforms n points in place: xy holds x0,y0,x1,y1,... in the source CRS's
 * axis order as GIS files store it (easting/longitude first); on return they
 * are lon,lat degrees. A point PROJ cannot transform gives ZS_ECRS. */
zs_status reproj_points(reproj *r, double *xy, size_t n, zs_error *err);

/* True when the source CRS is geographic (degrees), GCJ02 included. */
bool reproj_source_is_geographic(const reproj *r);

/* A short name of the source CRS for reports and the import log, e.g.
 * "EPSG:4548" or "CGCS2000 / 3-degree Gauss-Kruger CM 117E"; borrowed. */
const char *reproj_source_name(const reproj *r);

void reproj_destroy(reproj *r);

#endif
