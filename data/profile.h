/* A carrier's profile: the JSON document GET /api/carriers/{id} serves,
 * built once when a snapshot loads. The one module that includes jansson.h.
 *
 * Output is compact UTF-8 (Chinese unescaped), keys in this order:
 *   id, kind ("park" | "parcel" | "building" | "factory"), name {zh, en},
 *   park {id, name {zh, en}} or null, board {zh, en} or null, address,
 *   status, lon, lat, contact {name, phone},
 *   photos [{url, thumbnail_url, caption}], updated_at, version,
 * then by layer:
 *   park:     industries, area_m2, enterprises, annual_tax_wan, tax_class,
 *             description {zh, en}
 *   parcel:   land_use, area_m2, area_mu, current_state, plot_ratio,
 *             price_wan_per_mu, industries
 *   building and factory (one layer, the same keys for both kinds; the other
 *   kind's fields are normally null):
 *             floors, height_m, gross_area_m2, vacant_area_m2,
 *             rent_yuan_m2_day, length_m, width_m, clear_height_m,
 *             floor_load_t_m2, power_kva, crane_t, rent_yuan_m2_month,
 *             industries
 * An absent value is null, never 0 or "". Numbers are printed with 15
 * significant digits: what a person typed comes out as typed (2.8, not
 * 2.7999999999999998).
 *
 * Units (the key names the unit):
 *   lon, lat            degrees, CGCS2000 (EPSG:4490), area-weighted centroid,
 *                       6 decimals (about 0.1 m)
 *   *_m                 metres                 *_m2     square metres
 *   area_mu             mu (亩) = area_m2 / 666.67, 2 decimals
 *   price_wan_per_mu    万元 (10,000 yuan) per mu
 *   annual_tax_wan      万元 per year
 *   rent_yuan_m2_day    元 per m² per day (offices)
 *   rent_yuan_m2_month  元 per m² per month (factories)
 *   floor_load_t_m2     tonnes per m²          crane_t  tonnes
 *   power_kva           kVA                    plot_ratio  floor area / land area
 *   floors, enterprises, version   integers
 *   updated_at          ISO 8601 UTC, as stored
 *   industries          array of codes of layer_industry_choices
 *   status, land_use    codes of layer_status_choices, layer_land_use_choices
 *   url, thumbnail_url  "/photos/<file>", the file name percent-encoded
 *                       (thumbnail_url null when there is no thumbnail) */
#ifndef ZS_PROFILE_H
#define ZS_PROFILE_H

#include "error.h"
#include "layer.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The park a carrier names, as the caller found it. */
typedef struct {
    const char *id;
    const char *name_zh, *name_en; /* NULL when absent */
} profile_park;

typedef struct {
    const char *file;    /* name inside the photo folder */
    const char *thumb;   /* NULL when there is no thumbnail */
    const char *caption; /* NULL when there is none */
} profile_photo;

/* Everything a profile says; all borrowed. */
typedef struct {
    layer_id layer;            /* LAYER_PARKS, LAYER_PARCELS or LAYER_BUILDINGS */
    const store_value *values; /* the carrier's fields in layer field order */
    int64_t version;
    double lon, lat;          /* centroid, EPSG:4490 degrees; NaN when unknown */
    const profile_park *park; /* the park named by the "park" field; NULL when none
                                 or not found (then only its id is known) */
    const char *board_en;     /* English name of the board named by "board", or NULL */
    const profile_photo *photos;
    size_t nphotos;
} profile_input;

/* Builds the profile of one carrier. Returns in *json a new NUL-terminated
 * string of *len bytes, free with free(). A text value that is not valid
 * UTF-8, a missing id or an unknown kind is ZS_EINVAL naming the carrier and
 * field; a layer that is not a carrier layer is ZS_EINVAL. */
zs_status profile_build(const profile_input *in, char **json, size_t *len, zs_error *err);

/* True when the n bytes at s are valid UTF-8 (no overlong forms, surrogates
 * or code points above U+10FFFF). */
bool profile_utf8_valid(const char *s, size_t n);

#endif
