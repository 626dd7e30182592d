/* The snapshot: the whole store in memory, immutable, reference-counted, and
 * shaped for the renderer and the queries. Built to the side from a source
 * and published whole; readers share it without locks.
 *
 * Per layer: features in the source's order, each a run of parts (rings,
 * lines, points) over one packed array of points in EPSG:3857 metres,
 * projected once at load; a bbox per feature and a packed Hilbert R-tree
 * over the bboxes. Carrier layers add a snap_carrier per feature (numbers for
 * filters and the heat map, the centroid, the ready-to-serve profile JSON),
 * context layers a snap_context. Feature i of a layer is described by
 * carriers[i] or contexts[i]. */
#ifndef ZS_SNAPSHOT_H
#define ZS_SNAPSHOT_H

#include "error.h"
#include "layer.h"
#include "sidx.h"
#include "source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct snapshot snapshot;

typedef struct {
    double x, y; /* EPSG:3857 metres */
} snap_xy;

typedef enum {
    SNAP_PART_POINT, /* one point: a carrier known by its address */
    SNAP_PART_LINE,  /* a line string: a road */
    SNAP_PART_OUTER, /* a polygon's outer ring */
    SNAP_PART_HOLE,  /* a hole of the polygon whose outer ring precedes it */
} snap_part_role;

typedef struct {
    uint32_t first;      /* index of the first point in snap_layer.xy */
    uint32_t count;      /* points, >= 1; rings as stored (closed: last point = first) */
    snap_part_role role; /* fill outer rings and holes together with the even-odd rule */
} snap_part;

typedef enum {
    SNAP_GEOM_EMPTY,   /* no parts; bbox is NaN and never matches a query */
    SNAP_GEOM_POINT,   /* only points */
    SNAP_GEOM_LINE,    /* lines (and maybe points) */
    SNAP_GEOM_POLYGON, /* at least one ring */
} snap_geom;

typedef struct {
    uint32_t first_part; /* the feature's parts are snap_layer.parts[first_part, +nparts) */
    uint32_t nparts;
    snap_geom geom;
    sidx_box bbox; /* EPSG:3857 metres, inclusive, over all its points */
} snap_feature;

/* A park, parcel, office building or factory. Strings are UTF-8, NULL when
 * absent, and live as long as the snapshot. Numbers are NAN when absent or
 * when the carrier's layer has no such field. */
typedef struct {
    const char *id;
    const char *kind; /* "park" | "parcel" | "building" | "factory" */
    const char *name_zh, *name_en;
    const char *status;                   /* a code of layer_status_choices */
    const char *park_id;                  /* parcels and buildings: the park they lie in */
    const char *land_use;                 /* parcels: a code of layer_land_use_choices */
    const char *industries;               /* comma-separated codes of layer_industry_choices */
    uint32_t industry_mask;               /* bit i: industries names layer_industry_choices[i] */
    double area_m2;                       /* parks: planned area; parcels: land area; m² */
    double gross_area_m2, vacant_area_m2; /* buildings: floor area, m² */
    double rent_yuan_m2_day;              /* offices: 元 per m² per day */
    double rent_yuan_m2_month;            /* factories: 元 per m² per month */
    double clear_height_m;                /* factories, m */
    double price_wan_per_mu;              /* parcels: 万元 per mu */
    double enterprises;                   /* parks: number of enterprises */
    double annual_tax_wan;                /* parks: 万元 per year */
    double lon, lat; /* centroid, EPSG:4490 degrees (area-weighted; the point for points) */
    double x, y;     /* the same centroid in EPSG:3857 metres */
    const char *profile_json; /* the profile (profile.h), compact UTF-8, NUL-terminated */
    size_t profile_len;       /* bytes, without the NUL */
    int64_t version;          /* the carrier's own version, +1 per change */
    layer_id layer;           /* where its feature is: */
    uint32_t feature;         /* snap_layer.features[feature] of that layer */
} snap_carrier;

/* What a search filter tests of a carrier, packed apart from the carriers
 * (40 bytes against their ~230), so that a search scanning every carrier
 * reads one short run of memory and compares no strings: the codes as bits
 * (kind: bit 0 park, 1 parcel, 2 building, 3 factory; status and land use:
 * bit i for choice i of layer_status_choices / layer_land_use_choices; 0
 * when absent), the industries (its own, else its park's), its park's key,
 * and the numbers a filter bounds. */
typedef struct {
    uint32_t kind_mask, status_mask, land_use_mask, industry_mask;
    uint64_t park_key;         /* snap_park_key() of its park's id (a park: its own); 0: none */
    double offered_area_m2;    /* vacant floor area, else the land's area; NAN: unknown */
    double rent_yuan_m2_month; /* monthly; offices' daily rent times 30; NAN: unknown */
    double clear_height_m;     /* NAN: unknown or not a factory */
} snap_filter_row;

/* A 64-bit key of a park id (never 0), so that a filter naming a park
 * compares numbers; equal keys are confirmed with the ids. */
static inline uint64_t snap_park_key(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h ? h : 1;
}

/* A boundary, road or water feature. */
typedef struct {
    const char *id;
    const char *name_zh, *name_en; /* NULL when absent */
    const char *road_class;        /* roads: "primary" ... "minor"; NULL otherwise */
    int64_t version;
} snap_context;

/* One layer; every array lives as long as the snapshot. */
typedef struct {
    layer_id id;
    uint32_t nfeatures;
    const snap_feature *features;
    const snap_carrier *carriers; /* carrier layers: nfeatures entries; NULL otherwise */
    const snap_context *contexts; /* context layers: nfeatures entries; NULL otherwise */
    uint32_t nparts;
    const snap_part *parts;
    uint32_t npoints;
    const snap_xy *xy; /* EPSG:3857 metres */
    const sidx *index; /* over features[i].bbox, item i = feature i */
    /* Carrier layers, for text search: each carrier's id, name_zh and
     * name_en with ASCII letters lower-cased, a NUL after each, carrier
     * after carrier, so a search reads one run of memory; carrier i's are
     * search_text[search_start[i], search_start[i + 1]) (nfeatures + 1
     * entries). NULL for context layers. */
    const char *search_text;
    const uint32_t *search_start;
    const snap_filter_row *filter_rows; /* carrier layers: nfeatures entries; NULL otherwise */
    bool ids_sorted;                    /* carrier layers: features in strcmp order of their ids */
} snap_layer;

/* Loads a snapshot of everything src holds. The data version is read before
 * and after; when a change lands in between, the load starts over (a few
 * times, then ZS_ECONFLICT). Geometry that is not valid WKB, coordinates
 * outside lon [-180, 180] / lat [-90, 90], a carrier id used twice, a
 * profile that cannot be built: an error naming the layer and feature, and
 * nothing is returned. Returns a new snapshot with one reference in *out,
 * drop it with snapshot_release(). */
zs_status snapshot_load(source *src, snapshot **out, zs_error *err);

/* Takes one more reference (any thread); returns s. */
snapshot *snapshot_retain(snapshot *s);

/* Drops one reference (any thread); the last one frees the snapshot.
 * s may be NULL. */
void snapshot_release(snapshot *s);

/* The source's data version the snapshot shows. */
int64_t snapshot_data_version(const snapshot *s);

/* A layer, never NULL for id < LAYER_COUNT (NULL otherwise). */
const snap_layer *snapshot_layer(const snapshot *s, layer_id id);

/* The carrier with this id in any carrier layer, or NULL. O(log n). */
const snap_carrier *snapshot_carrier_by_id(const snapshot *s, const char *id);

/* Number of carriers over the three carrier layers. */
size_t snapshot_carrier_count(const snapshot *s);

/* Called for each feature found; return false to stop. */
typedef bool (*snap_visit_fn)(const snap_layer *layer, uint32_t feature, void *ctx);

/* Visits each feature of layer whose bbox intersects box (EPSG:3857 metres,
 * inclusive: touching counts), in no particular order; returns how many were
 * visited. */
size_t snapshot_query(const snapshot *s, layer_id layer, sidx_box box, snap_visit_fn visit,
                      void *ctx);

/* Bytes the snapshot holds: arrays, strings, profiles and indexes. */
size_t snapshot_memory(const snapshot *s);

/* A feature's parts and a part's points. */
static inline const snap_part *snap_feature_parts(const snap_layer *l, const snap_feature *f)
{
    return l->parts + f->first_part;
}

static inline const snap_xy *snap_part_points(const snap_layer *l, const snap_part *p)
{
    return l->xy + p->first;
}

/* ---- publishing ----------------------------------------------------------
 * The one current snapshot of a server: writers publish a new one whole,
 * readers take a reference for as long as a request needs it. The lock is
 * held only to swap or to retain a pointer, never while drawing. */
typedef struct snapshot_slot snapshot_slot;

/* Returns a new, empty slot, free with snapshot_slot_destroy(); NULL when
 * out of memory. */
snapshot_slot *snapshot_slot_create(void);

/* Releases the slot's snapshot and the slot; slot may be NULL. */
void snapshot_slot_destroy(snapshot_slot *slot);

/* Makes s (may be NULL) the current snapshot, taking over the caller's
 * reference; the previous one is released (freed once its readers are done). */
void snapshot_slot_publish(snapshot_slot *slot, snapshot *s);

/* The current snapshot with a reference taken for the caller (release it
 * with snapshot_release()), or NULL when none is published. */
snapshot *snapshot_slot_acquire(snapshot_slot *slot);

#endif
