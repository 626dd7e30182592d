/* Carrier filters: what an investor narrows the map to (kind, land use,
 * status, industry, park, minimum area, maximum rent, minimum clear height).
 * Shared by search, the heat map and rendering. Built from query parameters
 * with clear errors; matching is a few comparisons per carrier. */
#ifndef ZS_FILTER_H
#define ZS_FILTER_H

#include "error.h"
#include "snapshot.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint32_t kinds;      /* bit per kind (park, parcel, building, factory); 0: any */
    uint32_t land_uses;  /* bit per layer_land_use_choices entry; 0: any */
    uint32_t statuses;   /* bit per layer_status_choices entry; 0: any */
    uint32_t industries; /* bit per layer_industry_choices entry; 0: any (a carrier matches
                            when it, or its park, has one of them) */
    char park[64];       /* park id; "": any */
    uint64_t park_key;   /* snap_park_key(park), set with it */
    double min_area_m2;  /* NAN: none; compared with available, else total area */
    double max_rent_yuan_m2_month; /* NAN: none; offices' daily rent counts times 30 */
    double min_clear_height_m;     /* NAN: none; only factories can match */
} carrier_filter;

/* An empty filter (matches every carrier). */
carrier_filter filter_none(void);

/* Applies one query parameter (kind, land_use, status, industry, park,
 * min_area, max_rent, min_clear_height); list values are comma-separated.
 * *known is false for a name that is not a filter (the caller decides);
 * a bad value is ZS_EINVAL naming the parameter and the value. */
zs_status filter_set(carrier_filter *f, const char *name, const char *value, bool *known,
                     zs_error *err);

/* True when f has no condition. */
bool filter_is_empty(const carrier_filter *f);

/* True when carrier c, whose filter row (snap_layer.filter_rows) is r,
 * passes. Reads only r, but for c's park and id when f names a park.
 * Inline: a search calls it for every carrier of a layer. */
static inline bool filter_match(const carrier_filter *f, const snap_filter_row *r,
                                const snap_carrier *c)
{
    if (f->kinds && !(f->kinds & r->kind_mask)) return false;
    if (f->land_uses && !(f->land_uses & r->land_use_mask)) return false;
    if (f->statuses && !(f->statuses & r->status_mask)) return false;
    if (f->industries && !(f->industries & r->industry_mask)) return false;
    if (!isnan(f->min_area_m2) && !(r->offered_area_m2 >= f->min_area_m2)) return false;
    if (!isnan(f->max_rent_yuan_m2_month) && !(r->rent_yuan_m2_month <= f->max_rent_yuan_m2_month))
        return false;
    if (!isnan(f->min_clear_height_m) && !(r->clear_height_m >= f->min_clear_height_m))
        return false;
    if (f->park[0]) {
        if (r->park_key != f->park_key) return false;
        bool in_park = (c->park_id && strcmp(c->park_id, f->park) == 0) ||
                       (r->kind_mask == 1u && strcmp(c->id, f->park) == 0);
        if (!in_park) return false;
    }
    return true;
}

/* A canonical text of the filter ("" for none), equal for equal filters:
 * a cache key. Writes at most size bytes. */
void filter_canonical(const carrier_filter *f, char *out, size_t size);

#endif
