/* The demo district: a realistic, made-up district centred near 117.19E
 * 34.29N, generated deterministically as GIS files that go through the same
 * import as user data. */
#ifndef ZS_DEMO_H
#define ZS_DEMO_H

#include "error.h"

/* The source files demo_write() makes, in the order they must be imported
 * (parks before the parcels and buildings that name them), NULL-terminated.
 * Each names a layer of layer.h and its file: "<layer>.geojson". */
extern const char *const demo_layers[];

/* Writes the demo's source files into dir (which must exist): one GeoJSON
 * file per layer, coordinates in CGCS2000 / 3-degree Gauss-Kruger CM 117E
 * (EPSG:4548, declared in the file's "crs" member), properties named as the
 * fields of layer.h, and JPEG photos under dir/photos/ named by the parks'
 * "photos" field. scale 1 is the district (21 parks, >= 3,000 parcels, >=
 * 20,000 buildings); scale N multiplies parcels and buildings by about N over
 * a larger area (a city-sized variant), the 21 parks stay. */
zs_status demo_write(const char *dir, int scale, zs_error *err);

#endif
