/* The snapshot against a store written here: counts, geometry projected to
 * EPSG:3857 (checked with an independent formula), bboxes, queries against
 * brute force, lookups by id, profiles parsed back with exact values,
 * reference counting and publishing, the data version; and, through a fake
 * source, what a store would never hand out: truncated WKB, projected
 * coordinates, duplicate ids, bad UTF-8, data that keeps changing. */
#include "mercator.h"
#include "snapshot.h"
#include "source.h"
#include "store.h"
#include "store_rows.h"
#include "test.h"
#include "wkb_writer.h"

#include <jansson.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- WKB ---------------------------------------------------------------------- */

/* A polygon of one outer ring and nholes holes. */
static void put_polygon(wkb_buf *w, const ring *rings, int nrings)
{
    put_header(w, 3);
    put_u32(w, (uint32_t)nrings);
    for (int i = 0; i < nrings; i++)
        put_ring(w, &rings[i]);
}

/* ---- what the test stores, and expects back --------------------------------- */

typedef struct {
    layer_id layer;
    char id[32];
    ring rings[4];
    int nrings;
    int polygons; /* MultiPolygon: rings are one polygon each; 0: a Polygon */
    bool point, line, multiline;
} feature_def;

#define MAX_FEATURES 512
static feature_def defs[MAX_FEATURES];
static int ndefs;

static void wkb_of(const feature_def *d, wkb_buf *w)
{
    w->n = 0;
    if (d->point) {
        put_header(w, 1);
        put_f64(w, d->rings[0].lon[0]);
        put_f64(w, d->rings[0].lat[0]);
    } else if (d->line) {
        put_header(w, d->multiline ? 5 : 2);
        if (d->multiline) put_u32(w, (uint32_t)d->nrings);
        for (int i = 0; i < d->nrings; i++) {
            if (d->multiline) put_header(w, 2);
            put_ring(w, &d->rings[i]);
        }
    } else if (d->polygons) {
        put_header(w, 6);
        put_u32(w, (uint32_t)d->polygons);
        for (int i = 0; i < d->polygons; i++)
            put_polygon(w, &d->rings[i], 1);
    } else {
        put_polygon(w, d->rings, d->nrings);
    }
}

static void upsert(store *st, row_values *r, feature_def *d)
{
    d->layer = r->info->id;
    snprintf(d->id, sizeof d->id, "%s", r->v[0].text);
    wkb_buf w = {.big = strcmp(d->id, "P01") == 0}; /* one big-endian input */
    wkb_of(d, &w);
    zs_error err;
    zs_status s = store_upsert(st, r->info->id, r->v, w.b, w.n, NULL, &err);
    if (s) fprintf(stderr, "upsert %s: %s\n", d->id, err.msg);
    CHECK_INT(s, ZS_OK);
    free(w.b);
    ndefs++;
}

static feature_def *def_new(void)
{
    feature_def *d = &defs[ndefs];
    memset(d, 0, sizeof *d);
    return d;
}

/* Deterministic PRNG (splitmix64). */
static uint64_t rng_state = 7;
static double rng_unit(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * rng_unit();
}

#define NRANDOM 400
static double random_area[NRANDOM];

static void write_store(store *st)
{
    zs_error err;
    CHECK_INT(store_begin(st, &err), ZS_OK);
    row_values r;
    feature_def *d;

    rv_init(&r, LAYER_PARKS, NULL);
    rv_text(&r, "id", "P01");
    rv_text(&r, "name_zh", "徐州高新技术产业园");
    rv_text(&r, "name_en", "Xuzhou Hi-Tech Park");
    rv_text(&r, "board", "金山街道");
    rv_text(&r, "address", "铜山区金山路1号");
    rv_text(&r, "status", "available");
    rv_text(&r, "industries", "semiconductor,electronics");
    rv_text(&r, "contact_name", "王经理");
    rv_text(&r, "contact_phone", "0516-83881234");
    rv_text(&r, "updated_at", "2024-05-01T08:00:00Z");
    rv_real(&r, "area_m2", 3200000);
    rv_int(&r, "enterprises", 128);
    rv_real(&r, "annual_tax_wan", 52000.5);
    rv_text(&r, "tax_class", "A");
    rv_text(&r, "description_zh", "以半导体装备及先进封测为主导。");
    rv_text(&r, "description_en", "Semiconductor equipment, \"advanced\" packaging.");
    d = def_new();
    d->rings[0] = rect(117.180, 34.280, 117.200, 34.300);
    d->rings[1] = rect(117.182, 34.282, 117.186, 34.286);
    d->nrings = 2;
    upsert(st, &r, d);
    store_photo ph1 = {"P01", "p01/gate.jpg", "p01/gate_t.jpg", "园区大门", 0};
    store_photo ph2 = {"P01", "p01/空地 1.jpg", NULL, NULL, 1};
    CHECK_INT(store_add_photo(st, &ph2, &err), ZS_OK); /* inserted out of order */
    CHECK_INT(store_add_photo(st, &ph1, &err), ZS_OK);

    rv_init(&r, LAYER_PARKS, NULL);
    rv_text(&r, "id", "P02");
    rv_text(&r, "name_zh", "彭城智慧医疗产业园");
    d = def_new();
    d->rings[0] = rect(117.210, 34.260, 117.230, 34.275);
    d->nrings = 1;
    upsert(st, &r, d);

    rv_init(&r, LAYER_PARCELS, NULL);
    rv_text(&r, "id", "PC-001");
    rv_text(&r, "name_zh", "高新区A-01地块");
    rv_text(&r, "name_en", "Plot A-01");
    rv_text(&r, "board", "金山街道");
    rv_text(&r, "status", "available");
    rv_text(&r, "industries", "medical");
    rv_text(&r, "updated_at", "2024-05-02T09:30:00Z");
    rv_text(&r, "park", "P01");
    rv_text(&r, "land_use", "industrial");
    rv_real(&r, "area_m2", 20000);
    rv_text(&r, "current_state", "净地");
    rv_real(&r, "plot_ratio", 1.5);
    rv_real(&r, "price_wan_per_mu", 28.5);
    d = def_new();
    d->rings[0] = rect(117.190, 34.290, 117.192, 34.291);
    d->nrings = 1;
    upsert(st, &r, d);

    rv_init(&r, LAYER_PARCELS, NULL);
    rv_text(&r, "id", "PC-002");
    rv_text(&r, "park", "P01");
    rv_text(&r, "land_use", "commercial");
    rv_text(&r, "status", "reserved");
    d = def_new();
    d->rings[0] = (ring){4, {117.193, 117.195, 117.194, 117.193}, {34.292, 34.292, 34.294, 34.292}};
    d->nrings = 1;
    upsert(st, &r, d);

    rv_init(&r, LAYER_PARCELS, NULL);
    rv_text(&r, "id", "PC-003");
    rv_real(&r, "area_m2", 1234.5);
    d = def_new();
    d->rings[0] = rect(117.240, 34.240, 117.241, 34.241);
    d->rings[1] = rect(117.250, 34.250, 117.251, 34.251);
    d->nrings = 2;
    d->polygons = 2;
    upsert(st, &r, d);

    rv_init(&r, LAYER_BUILDINGS, NULL);
    rv_text(&r, "id", "B-001");
    rv_text(&r, "name_zh", "金山科技大厦");
    rv_text(&r, "name_en", "Jinshan Tech Tower");
    rv_text(&r, "kind", "building");
    rv_text(&r, "park", "P01");
    rv_text(&r, "status", "available");
    rv_int(&r, "floors", 22);
    rv_real(&r, "height_m", 88.5);
    rv_real(&r, "gross_area_m2", 45000);
    rv_real(&r, "vacant_area_m2", 12000.5);
    rv_real(&r, "rent_yuan_m2_day", 2.8);
    d = def_new();
    d->rings[0] = rect(117.1880, 34.2880, 117.1885, 34.2884);
    d->nrings = 1;
    upsert(st, &r, d);

    rv_init(&r, LAYER_BUILDINGS, NULL);
    rv_text(&r, "id", "B-002");
    rv_text(&r, "name_zh", "标准厂房3号");
    rv_text(&r, "kind", "factory");
    rv_text(&r, "park", "P01");
    rv_text(&r, "status", "leased");
    rv_real(&r, "length_m", 120);
    rv_real(&r, "width_m", 60);
    rv_real(&r, "clear_height_m", 9.5);
    rv_real(&r, "floor_load_t_m2", 3);
    rv_real(&r, "power_kva", 800);
    rv_real(&r, "crane_t", 10);
    rv_real(&r, "gross_area_m2", 7200);
    rv_real(&r, "vacant_area_m2", 0);
    rv_real(&r, "rent_yuan_m2_month", 18);
    d = def_new();
    d->rings[0] = rect(117.1960, 34.2950, 117.1973, 34.2955);
    d->nrings = 1;
    upsert(st, &r, d);

    rv_init(&r, LAYER_BUILDINGS, NULL);
    rv_text(&r, "id", "B-003");
    rv_text(&r, "name_zh", "医疗器械孵化楼");
    rv_text(&r, "kind", "building");
    rv_text(&r, "park", "P02");
    d = def_new();
    d->rings[0] = (ring){1, {117.2150}, {34.2650}};
    d->nrings = 1;
    d->point = true;
    upsert(st, &r, d);

    rv_init(&r, LAYER_BOUNDARY, NULL);
    rv_text(&r, "id", "district");
    rv_text(&r, "name_zh", "示范区");
    rv_text(&r, "name_en", "Demo District");
    d = def_new();
    d->rings[0] = rect(117.100, 34.200, 117.300, 34.350);
    d->nrings = 1;
    d->polygons = 1;
    upsert(st, &r, d);

    rv_init(&r, LAYER_ROADS, NULL);
    rv_text(&r, "id", "R-1");
    rv_text(&r, "name_zh", "金山路");
    rv_text(&r, "road_class", "primary");
    d = def_new();
    d->rings[0] = (ring){3, {117.15, 117.19, 117.25}, {34.279, 34.2795, 34.281}};
    d->nrings = 1;
    d->line = true;
    upsert(st, &r, d);

    rv_init(&r, LAYER_ROADS, NULL);
    rv_text(&r, "id", "R-2");
    rv_text(&r, "road_class", "minor");
    d = def_new();
    d->rings[0] = (ring){2, {117.181, 117.181}, {34.281, 34.299}};
    d->rings[1] = (ring){2, {117.199, 117.199}, {34.281, 34.299}};
    d->nrings = 2;
    d->line = true;
    d->multiline = true;
    upsert(st, &r, d);

    rv_init(&r, LAYER_WATER, NULL);
    rv_text(&r, "id", "W-1");
    rv_text(&r, "name_zh", "故黄河");
    rv_text(&r, "name_en", "Old Yellow River");
    d = def_new();
    d->rings[0] = rect(117.150, 34.300, 117.250, 34.303);
    d->nrings = 1;
    upsert(st, &r, d);

    /* many small parcels for the query checks, some with a hole */
    for (int i = 0; i < NRANDOM; i++) {
        char id[32];
        snprintf(id, sizeof id, "PX-%04d", i);
        rv_init(&r, LAYER_PARCELS, NULL);
        rv_text(&r, "id", id);
        if (i % 3) rv_text(&r, "park", "P02");
        random_area[i] = i % 5 ? rng_range(500, 90000) : NAN;
        if (i % 5) rv_real(&r, "area_m2", random_area[i]);
        d = def_new();
        double w = rng_range(117.15, 117.25), s = rng_range(34.25, 34.33);
        double size = 0.0002 * pow(15, rng_unit());
        d->rings[0] = rect(w, s, w + size, s + size * rng_range(0.5, 1.5));
        d->nrings = 1;
        if (i % 7 == 0) {
            d->rings[1] = rect(w + size / 4, s + size / 8, w + size / 2, s + size / 4);
            d->nrings = 2;
        }
        upsert(st, &r, d);
    }
    CHECK_INT(store_commit(st, &err), ZS_OK);
}

static const feature_def *def_by_id(const char *id)
{
    for (int i = 0; i < ndefs; i++)
        if (strcmp(defs[i].id, id) == 0) return &defs[i];
    return NULL;
}

/* ---- checks ------------------------------------------------------------------ */

static void check_geometry(const snapshot *s)
{
    int counts[LAYER_COUNT] = {0};
    for (int i = 0; i < ndefs; i++)
        counts[defs[i].layer]++;
    for (int l = 0; l < LAYER_COUNT; l++) {
        const snap_layer *ly = snapshot_layer(s, (layer_id)l);
        CHECK_INT(ly->id, l);
        CHECK_INT(ly->nfeatures, counts[l]);
        CHECK((ly->carriers != NULL) == layer_get((layer_id)l)->carrier);
        CHECK((ly->contexts != NULL) == !layer_get((layer_id)l)->carrier);
        CHECK_INT(sidx_count(ly->index), ly->nfeatures);
        for (uint32_t f = 0; f < ly->nfeatures; f++) {
            const char *id = ly->carriers ? ly->carriers[f].id : ly->contexts[f].id;
            const feature_def *d = def_by_id(id);
            CHECK(d != NULL);
            if (!d) continue;
            const snap_feature *ft = &ly->features[f];
            CHECK_INT(ft->nparts, d->nrings);
            CHECK_INT(ft->geom, d->point  ? SNAP_GEOM_POINT
                                : d->line ? SNAP_GEOM_LINE
                                          : SNAP_GEOM_POLYGON);
            double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
            for (uint32_t p = 0; p < ft->nparts && (int)p < d->nrings; p++) {
                const snap_part *part = &snap_feature_parts(ly, ft)[p];
                const ring *rg = &d->rings[p];
                CHECK_INT(part->count, rg->npts);
                int want = d->point                  ? SNAP_PART_POINT
                           : d->line                 ? SNAP_PART_LINE
                           : (p > 0 && !d->polygons) ? SNAP_PART_HOLE
                                                     : SNAP_PART_OUTER;
                CHECK_INT(part->role, want);
                const snap_xy *xy = snap_part_points(ly, part);
                for (int k = 0; k < rg->npts && k < (int)part->count; k++) {
                    double x = ref_x(rg->lon[k]), y = ref_y(rg->lat[k]);
                    CHECK_NEAR(xy[k].x, x, 1e-6);
                    CHECK_NEAR(xy[k].y, y, 1e-6);
                    minx = fmin(minx, x), maxx = fmax(maxx, x);
                    miny = fmin(miny, y), maxy = fmax(maxy, y);
                }
            }
            CHECK_NEAR(ft->bbox.minx, minx, 1e-6);
            CHECK_NEAR(ft->bbox.miny, miny, 1e-6);
            CHECK_NEAR(ft->bbox.maxx, maxx, 1e-6);
            CHECK_NEAR(ft->bbox.maxy, maxy, 1e-6);
        }
    }
    /* the park's hole, checked by hand: x of 117.182 E */
    const snap_carrier *p01 = snapshot_carrier_by_id(s, "P01");
    const snap_layer *parks = snapshot_layer(s, LAYER_PARKS);
    const snap_part *hole = &snap_feature_parts(parks, &parks->features[p01->feature])[1];
    CHECK_INT(hole->role, SNAP_PART_HOLE);
    CHECK_NEAR(snap_part_points(parks, hole)[0].x, 13044640.5701, 1e-3);
}

typedef struct {
    uint32_t *ids;
    size_t n;
} hits;

static bool collect(const snap_layer *layer, uint32_t feature, void *ctx)
{
    (void)layer;
    hits *h = ctx;
    h->ids[h->n++] = feature;
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void check_queries(const snapshot *s)
{
    double x0 = ref_x(117.09), x1 = ref_x(117.31), y0 = ref_y(34.19), y1 = ref_y(34.36);
    uint32_t got[MAX_FEATURES], want[MAX_FEATURES];
    long nonempty = 0;
    for (int q = 0; q < 3000; q++) {
        layer_id l = (layer_id)(q % LAYER_COUNT);
        const snap_layer *ly = snapshot_layer(s, l);
        sidx_box box;
        if (q % 10 == 0 && ly->nfeatures) { /* exactly a feature's bbox edge: touching counts */
            const sidx_box *b = &ly->features[(uint32_t)q % ly->nfeatures].bbox;
            box = (sidx_box){b->maxx, b->maxy, b->maxx + 10, b->maxy + 10};
        } else {
            double cx = rng_range(x0, x1), cy = rng_range(y0, y1);
            double w = q % 3 == 0 ? 0 : 10 * pow(2000, rng_unit());
            double h = q % 3 == 0 ? 0 : 10 * pow(2000, rng_unit());
            box = (sidx_box){cx - w, cy - h, cx + w, cy + h};
        }
        hits h = {got, 0};
        size_t visited = snapshot_query(s, l, box, collect, &h);
        CHECK_INT(visited, h.n);
        size_t nw = 0;
        for (uint32_t f = 0; f < ly->nfeatures; f++) {
            const sidx_box *b = &ly->features[f].bbox;
            if (b->minx <= box.maxx && b->maxx >= box.minx && b->miny <= box.maxy &&
                b->maxy >= box.miny)
                want[nw++] = f;
        }
        qsort(got, h.n, sizeof *got, cmp_u32);
        CHECK_INT(h.n, nw);
        if (h.n == nw && memcmp(got, want, nw * sizeof *got) != 0) {
            fprintf(stderr, "query %d: different features\n", q);
            test_failures++;
        }
        if (nw) nonempty++;
    }
    CHECK(nonempty > 500); /* the boxes do hit things */
    /* the whole world finds everything; stopping early visits one */
    hits h = {got, 0};
    sidx_box world = {-MERC_MAX, -MERC_MAX, MERC_MAX, MERC_MAX};
    CHECK_INT(snapshot_query(s, LAYER_PARCELS, world, collect, &h), 3 + NRANDOM);
    CHECK_INT(snapshot_query(s, LAYER_COUNT, world, collect, &h), 0);
}

static bool stop_at_first(const snap_layer *layer, uint32_t feature, void *ctx)
{
    (void)layer, (void)feature;
    ++*(int *)ctx;
    return false;
}

static void check_lookup(const snapshot *s)
{
    size_t carriers = 0;
    for (int i = 0; i < ndefs; i++) {
        if (!layer_get(defs[i].layer)->carrier) continue;
        carriers++;
        const snap_carrier *c = snapshot_carrier_by_id(s, defs[i].id);
        CHECK(c != NULL);
        if (!c) continue;
        CHECK_STR(c->id, defs[i].id);
        CHECK_INT(c->layer, defs[i].layer);
        const snap_layer *ly = snapshot_layer(s, c->layer);
        CHECK(&ly->carriers[c->feature] == c);
        CHECK(c->profile_json && strlen(c->profile_json) == c->profile_len);
    }
    CHECK_INT(snapshot_carrier_count(s), carriers);
    static const char *const unknown[] = {"",    "P0",  "P011",     "p01",
                                          "ZZZ", "R-1", "district", " P01"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK(snapshot_carrier_by_id(s, unknown[i]) == NULL);
    CHECK(snapshot_carrier_by_id(s, NULL) == NULL);

    int n = 0;
    sidx_box world = {-MERC_MAX, -MERC_MAX, MERC_MAX, MERC_MAX};
    CHECK_INT(snapshot_query(s, LAYER_PARCELS, world, stop_at_first, &n), 1);
    CHECK_INT(n, 1);

    /* carrier fields */
    const snap_carrier *p01 = snapshot_carrier_by_id(s, "P01"),
                       *b1 = snapshot_carrier_by_id(s, "B-001"),
                       *b2 = snapshot_carrier_by_id(s, "B-002"),
                       *b3 = snapshot_carrier_by_id(s, "B-003"),
                       *pc2 = snapshot_carrier_by_id(s, "PC-002");
    CHECK_STR(p01->kind, "park");
    CHECK_STR(p01->name_zh, "徐州高新技术产业园");
    CHECK_STR(p01->industries, "semiconductor,electronics");
    CHECK_INT(p01->industry_mask, 3);
    CHECK_NEAR(p01->enterprises, 128, 0);
    CHECK_NEAR(p01->annual_tax_wan, 52000.5, 0);
    CHECK(p01->park_id == NULL);
    CHECK(isnan(p01->clear_height_m));
    CHECK_STR(b1->kind, "building");
    CHECK_STR(b2->kind, "factory");
    CHECK_STR(b1->park_id, "P01");
    CHECK(b1->park_id == p01->id); /* shared, not copied */
    CHECK(isnan(b1->clear_height_m) && isnan(b1->rent_yuan_m2_month) && isnan(b1->area_m2));
    CHECK_NEAR(b1->rent_yuan_m2_day, 2.8, 0);
    CHECK_NEAR(b2->clear_height_m, 9.5, 0);
    CHECK_NEAR(b2->vacant_area_m2, 0, 0); /* zero stays zero, not absent */
    CHECK_NEAR(b2->rent_yuan_m2_month, 18, 0);
    CHECK_STR(b2->status, "leased");
    CHECK(pc2->status == layer_status_choices[1].code); /* the static code */
    CHECK_STR(pc2->land_use, "commercial");
    CHECK(isnan(pc2->area_m2));
    CHECK(b3->name_en == NULL);

    /* centroids: the park's, hole and all, worked out by hand */
    double ao = 0.02 * 0.02, ah = 0.004 * 0.004;
    CHECK_NEAR(p01->lon, (ao * 117.19 - ah * 117.184) / (ao - ah), 1e-9);
    CHECK_NEAR(p01->lat, (ao * 34.29 - ah * 34.284) / (ao - ah), 1e-9);
    CHECK_NEAR(p01->x, ref_x(p01->lon), 1e-6);
    CHECK_NEAR(p01->y, ref_y(p01->lat), 1e-6);
    CHECK_NEAR(b3->lon, 117.215, 0);
    CHECK_NEAR(b3->lat, 34.265, 0);
    const snap_carrier *pc3 = snapshot_carrier_by_id(s, "PC-003");
    CHECK_NEAR(pc3->lon, 117.2455, 1e-9);
    CHECK_NEAR(pc3->lat, 34.2455, 1e-9);
    const snap_carrier *pc2c = pc2; /* triangle: the mean of its corners */
    CHECK_NEAR(pc2c->lon, (117.193 + 117.195 + 117.194) / 3, 1e-9);
    CHECK_NEAR(pc2c->lat, (34.292 + 34.292 + 34.294) / 3, 1e-9);

    /* context layers */
    const snap_layer *roads = snapshot_layer(s, LAYER_ROADS);
    CHECK_STR(roads->contexts[0].id, "R-1");
    CHECK_STR(roads->contexts[0].name_zh, "金山路");
    CHECK_STR(roads->contexts[0].road_class, "primary");
    CHECK(roads->contexts[1].name_zh == NULL);
    CHECK_STR(snapshot_layer(s, LAYER_WATER)->contexts[0].name_en, "Old Yellow River");
    CHECK(snapshot_layer(s, LAYER_WATER)->contexts[0].road_class == NULL);
    CHECK(snapshot_layer(s, LAYER_COUNT) == NULL);
}

/* ---- profiles ------------------------------------------------------------------ */

static json_t *profile_of(const snapshot *s, const char *id)
{
    const snap_carrier *c = snapshot_carrier_by_id(s, id);
    if (!c) {
        fprintf(stderr, "no carrier %s\n", id);
        test_failures++;
        return json_object();
    }
    json_error_t jerr;
    json_t *j = json_loadb(c->profile_json, c->profile_len, 0, &jerr);
    if (!j) {
        fprintf(stderr, "%s: profile is not JSON: %s\n", id, jerr.text);
        test_failures++;
        return json_object();
    }
    CHECK(strstr(c->profile_json, "\\u") == NULL); /* UTF-8, not escapes */
    return j;
}

/* The value at a dotted path ("park.name.zh"; "photos.1.url"). */
static json_t *at(json_t *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *key = strtok_r(buf, ".", &save); key && j;
         key = strtok_r(NULL, ".", &save)) {
        if (json_is_array(j))
            j = json_array_get(j, strtoul(key, NULL, 10));
        else
            j = json_object_get(j, key);
    }
    return j;
}

#define CHECK_JSTR(j, path, want) CHECK_STR(json_string_value(at(j, path)), want)
#define CHECK_JNULL(j, path)                                                                       \
    do {                                                                                           \
        json_t *v_ = at(j, path);                                                                  \
        if (!json_is_null(v_)) {                                                                   \
            fprintf(stderr, "%s:%d: %s is not null (%s)\n", __FILE__, __LINE__, path,              \
                    v_ ? "a value" : "missing");                                                   \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)
#define CHECK_JNUM(j, path, want)                                                                  \
    do {                                                                                           \
        json_t *v_ = at(j, path);                                                                  \
        CHECK(json_is_number(v_));                                                                 \
        CHECK_NEAR(json_number_value(v_), want, 0);                                                \
    } while (0)
#define CHECK_JINT(j, path, want)                                                                  \
    do {                                                                                           \
        json_t *v_ = at(j, path);                                                                  \
        CHECK(json_is_integer(v_));                                                                \
        CHECK_INT(json_integer_value(v_), want);                                                   \
    } while (0)

/* The keys in order, comma-joined. */
static void keys_of(json_t *o, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        (void)v;
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", key);
    }
}

#define COMMON_KEYS                                                                                \
    "id,kind,name,park,board,address,status,lon,lat,contact,photos,updated_at,version"

static void check_profiles(const snapshot *s)
{
    char keys[1024];
    json_t *j = profile_of(s, "P01");
    keys_of(j, keys, sizeof keys);
    CHECK_STR(keys, COMMON_KEYS ",industries,area_m2,enterprises,annual_tax_wan,tax_class,"
                                "description");
    CHECK_JSTR(j, "id", "P01");
    CHECK_JSTR(j, "kind", "park");
    CHECK_JSTR(j, "name.zh", "徐州高新技术产业园");
    CHECK_JSTR(j, "name.en", "Xuzhou Hi-Tech Park");
    CHECK_JNULL(j, "park");
    CHECK_JSTR(j, "board.zh", "金山街道");
    CHECK_JNULL(j, "board.en"); /* the store has no English board name */
    CHECK_JSTR(j, "address", "铜山区金山路1号");
    CHECK_JSTR(j, "status", "available");
    double ao = 0.02 * 0.02, ah = 0.004 * 0.004;
    CHECK_JNUM(j, "lon", round((ao * 117.19 - ah * 117.184) / (ao - ah) * 1e6) / 1e6);
    CHECK_JNUM(j, "lat", round((ao * 34.29 - ah * 34.284) / (ao - ah) * 1e6) / 1e6);
    CHECK_JSTR(j, "contact.name", "王经理");
    CHECK_JSTR(j, "contact.phone", "0516-83881234");
    CHECK_INT(json_array_size(at(j, "photos")), 2);
    CHECK_JSTR(j, "photos.0.url", "/photos/p01/gate.jpg");
    CHECK_JSTR(j, "photos.0.thumbnail_url", "/photos/p01/gate_t.jpg");
    CHECK_JSTR(j, "photos.0.caption", "园区大门");
    CHECK_JSTR(j, "photos.1.url", "/photos/p01/%E7%A9%BA%E5%9C%B0%201.jpg");
    CHECK_JNULL(j, "photos.1.thumbnail_url");
    CHECK_JNULL(j, "photos.1.caption");
    CHECK_JSTR(j, "updated_at", "2024-05-01T08:00:00Z");
    CHECK_JINT(j, "version", 1);
    CHECK_INT(json_array_size(at(j, "industries")), 2);
    CHECK_JSTR(j, "industries.0", "semiconductor");
    CHECK_JSTR(j, "industries.1", "electronics");
    CHECK_JNUM(j, "area_m2", 3200000);
    CHECK_JINT(j, "enterprises", 128);
    CHECK_JNUM(j, "annual_tax_wan", 52000.5);
    CHECK_JSTR(j, "tax_class", "A");
    CHECK_JSTR(j, "description.zh", "以半导体装备及先进封测为主导。");
    CHECK_JSTR(j, "description.en", "Semiconductor equipment, \"advanced\" packaging.");
    json_decref(j);

    /* a park with nothing but a name */
    j = profile_of(s, "P02");
    CHECK_JNULL(j, "name.en");
    CHECK_JNULL(j, "board");
    CHECK_JNULL(j, "status");
    CHECK_JNULL(j, "contact.name");
    CHECK_JNULL(j, "industries");
    CHECK_JNULL(j, "area_m2");
    CHECK_JNULL(j, "enterprises");
    CHECK_JNULL(j, "description.zh");
    CHECK_INT(json_array_size(at(j, "photos")), 0);
    CHECK(json_is_string(at(j, "updated_at"))); /* the store's time of the change */
    json_decref(j);

    /* a parcel, byte for byte */
    const snap_carrier *pc1 = snapshot_carrier_by_id(s, "PC-001");
    CHECK_STR(pc1->profile_json,
              "{\"id\":\"PC-001\",\"kind\":\"parcel\",\"name\":{\"zh\":\"高新区A-01地块\","
              "\"en\":\"Plot A-01\"},\"park\":{\"id\":\"P01\",\"name\":{\"zh\":"
              "\"徐州高新技术产业园\",\"en\":\"Xuzhou Hi-Tech Park\"}},\"board\":{\"zh\":"
              "\"金山街道\",\"en\":null},\"address\":null,\"status\":\"available\","
              "\"lon\":117.191,\"lat\":34.2905,\"contact\":{\"name\":null,\"phone\":null},"
              "\"photos\":[],\"updated_at\":\"2024-05-02T09:30:00Z\",\"version\":1,"
              "\"land_use\":\"industrial\",\"area_m2\":20000.0,\"area_mu\":30.0,"
              "\"current_state\":\"净地\",\"plot_ratio\":1.5,\"price_wan_per_mu\":28.5,"
              "\"industries\":[\"medical\"]}");
    j = profile_of(s, "PC-001");
    keys_of(j, keys, sizeof keys);
    CHECK_STR(keys, COMMON_KEYS ",land_use,area_m2,area_mu,current_state,plot_ratio,"
                                "price_wan_per_mu,industries");
    json_decref(j);

    j = profile_of(s, "PC-002");
    CHECK_JNULL(j, "area_m2");
    CHECK_JNULL(j, "area_mu");
    CHECK_JSTR(j, "park.id", "P01");
    CHECK_JSTR(j, "status", "reserved");
    json_decref(j);
    j = profile_of(s, "PC-003");
    CHECK_JNUM(j, "area_mu", 1.85); /* 1234.5 / 666.67 = 1.8517... */
    CHECK_JNULL(j, "park");
    CHECK_JNULL(j, "board");
    json_decref(j);
    for (int i = 0; i < NRANDOM; i += 37) {
        char id[32];
        snprintf(id, sizeof id, "PX-%04d", i);
        j = profile_of(s, id);
        if (isnan(random_area[i])) {
            CHECK_JNULL(j, "area_mu");
        } else {
            char typed[32]; /* 15 significant digits are printed */
            snprintf(typed, sizeof typed, "%.15g", random_area[i]);
            CHECK_JNUM(j, "area_m2", strtod(typed, NULL));
            CHECK_JNUM(j, "area_mu", round(random_area[i] / 666.67 * 100) / 100);
        }
        if (i % 3)
            CHECK_JSTR(j, "park.name.zh", "彭城智慧医疗产业园");
        else
            CHECK_JNULL(j, "park");
        json_decref(j);
    }

    static const char building_keys[] =
        COMMON_KEYS ",floors,height_m,gross_area_m2,vacant_area_m2,rent_yuan_m2_day,length_m,"
                    "width_m,clear_height_m,floor_load_t_m2,power_kva,crane_t,rent_yuan_m2_month,"
                    "industries";
    j = profile_of(s, "B-001");
    keys_of(j, keys, sizeof keys);
    CHECK_STR(keys, building_keys);
    CHECK_JSTR(j, "kind", "building");
    CHECK_JSTR(j, "name.zh", "金山科技大厦");
    CHECK_JSTR(j, "park.name.en", "Xuzhou Hi-Tech Park");
    CHECK_JNULL(j, "board");
    CHECK_JINT(j, "floors", 22);
    CHECK_JNUM(j, "height_m", 88.5);
    CHECK_JNUM(j, "gross_area_m2", 45000);
    CHECK_JNUM(j, "vacant_area_m2", 12000.5);
    CHECK_JNUM(j, "rent_yuan_m2_day", 2.8);
    CHECK(strstr(snapshot_carrier_by_id(s, "B-001")->profile_json, "\"rent_yuan_m2_day\":2.8,"));
    CHECK_JNULL(j, "clear_height_m");
    CHECK_JNULL(j, "rent_yuan_m2_month");
    CHECK_JNULL(j, "length_m");
    CHECK_JNULL(j, "crane_t");
    json_decref(j);

    j = profile_of(s, "B-002");
    keys_of(j, keys, sizeof keys);
    CHECK_STR(keys, building_keys);
    CHECK_JSTR(j, "kind", "factory");
    CHECK_JSTR(j, "status", "leased");
    CHECK_JNUM(j, "length_m", 120);
    CHECK_JNUM(j, "width_m", 60);
    CHECK_JNUM(j, "clear_height_m", 9.5);
    CHECK_JNUM(j, "floor_load_t_m2", 3);
    CHECK_JNUM(j, "power_kva", 800);
    CHECK_JNUM(j, "crane_t", 10);
    CHECK_JNUM(j, "gross_area_m2", 7200);
    CHECK_JNUM(j, "vacant_area_m2", 0);
    CHECK_JNUM(j, "rent_yuan_m2_month", 18);
    CHECK_JNULL(j, "rent_yuan_m2_day");
    CHECK_JNULL(j, "floors");
    json_decref(j);

    j = profile_of(s, "B-003");
    CHECK_JNUM(j, "lon", 117.215);
    CHECK_JNUM(j, "lat", 34.265);
    CHECK_JSTR(j, "park.id", "P02");
    CHECK_JSTR(j, "park.name.zh", "彭城智慧医疗产业园");
    CHECK_JNULL(j, "park.name.en");
    json_decref(j);
}

/* ---- publishing under contention ------------------------------------------------
 * Readers acquire and release while the writer swaps two snapshots in and out;
 * under ASan/TSan nothing is used after free, and at the end every reference
 * is back. */

typedef struct {
    snapshot_slot *slot;
    atomic_int stop;
    atomic_long reads, wrong;
} race;

static void *reader_thread(void *arg)
{
    race *r = arg;
    long n = 0;
    while (!atomic_load(&r->stop)) {
        snapshot *s = snapshot_slot_acquire(r->slot);
        if (s) {
            const snap_carrier *c = snapshot_carrier_by_id(s, "B-002");
            if (!c || strcmp(c->kind, "factory") != 0) atomic_fetch_add(&r->wrong, 1);
            snapshot_release(s);
            n++;
        }
    }
    atomic_fetch_add(&r->reads, n);
    return NULL;
}

static void check_publish_race(snapshot *a, snapshot *b)
{
    race r = {.slot = snapshot_slot_create()};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, reader_thread, &r);
    for (int i = 0; i < 20000; i++)
        snapshot_slot_publish(r.slot, snapshot_retain(i % 2 ? a : b));
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(atomic_load(&r.wrong), 0);
    snapshot_slot_destroy(r.slot);
}

/* ---- a fake source: what a store would never hand out ------------------------- */

typedef struct {
    int64_t version, version_step;
    const char *bad_layer_id; /* the feature with the defect */
    enum {
        FAKE_OK,
        FAKE_TRUNCATED,
        FAKE_PROJECTED,
        FAKE_DUP,
        FAKE_UTF8,
        FAKE_NOGEOM,
        FAKE_EMPTY
    } defect;
    int closed;
} fake;

static zs_status fake_version(void *impl, int64_t *out, zs_error *err)
{
    (void)err;
    fake *f = impl;
    *out = f->version;
    f->version += f->version_step;
    return ZS_OK;
}

static zs_status fake_layer(void *impl, layer_id layer, store_row_fn fn, void *ctx, zs_error *err)
{
    (void)err;
    fake *f = impl;
    if (layer != LAYER_PARKS && !(layer == LAYER_PARCELS && f->defect == FAKE_DUP)) return ZS_OK;
    row_values r;
    rv_init(&r, layer, NULL);
    rv_text(&r, "id", "P01");
    rv_text(&r, "name_zh", f->defect == FAKE_UTF8 ? "坏\xe9\x87" : "好");
    wkb_buf w = {0};
    feature_def d = {.rings = {rect(117.1, 34.2, 117.2, 34.3)}, .nrings = 1};
    if (f->defect == FAKE_PROJECTED) d.rings[0] = rect(500000, 3790000, 500100, 3790100);
    if (f->defect == FAKE_EMPTY) {
        d.point = true; /* POINT EMPTY: NaN NaN */
        d.rings[0].lon[0] = d.rings[0].lat[0] = NAN;
    }
    wkb_of(&d, &w);
    if (f->defect == FAKE_TRUNCATED) w.n -= 9;
    if (f->defect == FAKE_NOGEOM) w.n = 0;
    store_row row = {r.v, 3, w.b, w.n};
    fn(&row, ctx);
    free(w.b);
    return ZS_OK;
}

static zs_status fake_photos(void *impl, store_photo_fn fn, void *ctx, zs_error *err)
{
    (void)impl, (void)err;
    store_photo p = {"P01", "a b.jpg", NULL, "说明", 0};
    fn(&p, ctx);
    return ZS_OK;
}

static zs_status fake_boards(void *impl, store_board_fn fn, void *ctx, zs_error *err)
{
    (void)impl, (void)err, (void)fn, (void)ctx;
    return ZS_OK;
}

static void fake_close(void *impl)
{
    ((fake *)impl)->closed++;
}

static const source_ops fake_ops = {
    "fake", fake_version, fake_layer, fake_photos, fake_boards, NULL, fake_close,
};

static void check_fake(int defect, int64_t step, zs_status want, const char *msg_part)
{
    fake f = {.version = 5, .version_step = step, .defect = defect};
    source *src;
    zs_error err = {0};
    CHECK_INT(source_create(&fake_ops, &f, &src, &err), ZS_OK);
    CHECK_STR(source_name(src), "fake");
    CHECK(source_photo_dir(src) == NULL);
    snapshot *s = (snapshot *)1;
    zs_status st = snapshot_load(src, &s, &err);
    CHECK_INT(st, want);
    if (want) {
        CHECK(s == NULL);
        if (!strstr(err.msg, msg_part)) {
            fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__, err.msg,
                    msg_part);
            test_failures++;
        }
    } else {
        CHECK_INT(snapshot_data_version(s), 5);
        json_t *j = json_loads(snapshot_carrier_by_id(s, "P01")->profile_json, 0, NULL);
        CHECK_JSTR(j, "photos.0.url", "/photos/a%20b.jpg");
        CHECK_JSTR(j, "photos.0.caption", "说明");
        const snap_layer *parks = snapshot_layer(s, LAYER_PARKS);
        sidx_box world = {-MERC_MAX, -MERC_MAX, MERC_MAX, MERC_MAX};
        int n = 0;
        if (defect == FAKE_EMPTY) { /* kept, with no place on the map */
            CHECK_INT(parks->features[0].geom, SNAP_GEOM_EMPTY);
            CHECK_INT(parks->features[0].nparts, 0);
            CHECK(isnan(parks->features[0].bbox.minx));
            CHECK(isnan(parks->carriers[0].lon) && isnan(parks->carriers[0].x));
            CHECK_JNULL(j, "lon");
            CHECK_JNULL(j, "lat");
            CHECK_INT(snapshot_query(s, LAYER_PARKS, world, stop_at_first, &n), 0);
        } else {
            CHECK_INT(parks->features[0].geom, SNAP_GEOM_POLYGON);
            CHECK_JNUM(j, "lon", 117.15);
            CHECK_INT(snapshot_query(s, LAYER_PARKS, world, stop_at_first, &n), 1);
        }
        json_decref(j);
        snapshot_release(s);
    }
    source_close(src);
    CHECK_INT(f.closed, 1);
}

static void check_fakes(void)
{
    check_fake(FAKE_OK, 0, ZS_OK, "");
    check_fake(FAKE_EMPTY, 0, ZS_OK, "");
    check_fake(FAKE_TRUNCATED, 0, ZS_EGEOM, "parks 'P01': malformed WKB");
    check_fake(FAKE_NOGEOM, 0, ZS_EGEOM, "parks 'P01' has no geometry");
    check_fake(FAKE_PROJECTED, 0, ZS_EGEOM, "not lon/lat");
    check_fake(FAKE_DUP, 0, ZS_EINVAL, "carrier id 'P01' is used in both parks and parcels");
    check_fake(FAKE_UTF8, 0, ZS_EINVAL, "name_zh is not valid UTF-8");
    check_fake(FAKE_OK, 1, ZS_ECONFLICT, "kept changing");
}

/* ---- main ------------------------------------------------------------------------ */

int main(void)
{
    uint16_t one = 1;
    if (*(unsigned char *)&one != 1) {
        fprintf(stderr, "this test writes WKB assuming a little-endian machine\n");
        return 77; /* skipped */
    }
    char dir[] = "/tmp/zs_snapshot_XXXXXX";
    if (!mkdtemp(dir)) return 2;
    char path[256];
    snprintf(path, sizeof path, "%s/store.sqlite", dir);

    zs_error err;
    store *st;
    CHECK_INT(store_open(path, true, &st, &err), ZS_OK);
    write_store(st);

    /* a truncated WKB: the store refuses it (else the snapshot must) */
    {
        CHECK_INT(store_begin(st, &err), ZS_OK);
        row_values r;
        rv_init(&r, LAYER_WATER, NULL);
        rv_text(&r, "id", "W-BAD");
        static const unsigned char truncated[] = {1, 3, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0};
        zs_status s = store_upsert(st, LAYER_WATER, r.v, truncated, sizeof truncated, NULL, &err);
        CHECK(s != ZS_OK);
        store_rollback(st);
    }
    int64_t version = -1;
    CHECK_INT(store_data_version(st, &version, &err), ZS_OK);
    CHECK_INT(version, 1);

    /* through a borrowed store: same data, store left open */
    source *borrowed;
    CHECK_INT(source_from_store(st, &borrowed, &err), ZS_OK);
    snapshot *s0;
    CHECK_INT(snapshot_load(borrowed, &s0, &err), ZS_OK);
    CHECK_INT(snapshot_data_version(s0), 1);
    source_close(borrowed);
    store_close(st);

    source *src;
    zs_status os = source_open_spatialite(path, &src, &err);
    CHECK_INT(os, ZS_OK);
    if (os) {
        fprintf(stderr, "%s\n", err.msg);
        TEST_DONE();
    }
    CHECK_STR(source_name(src), "spatialite");
    char photos[300];
    snprintf(photos, sizeof photos, "%s.photos", path);
    CHECK_STR(source_photo_dir(src), photos);

    snapshot *s;
    zs_status ls = snapshot_load(src, &s, &err);
    CHECK_INT(ls, ZS_OK);
    if (ls) {
        fprintf(stderr, "%s\n", err.msg);
        TEST_DONE();
    }
    CHECK_INT(snapshot_data_version(s), version);
    check_geometry(s);
    check_queries(s);
    check_lookup(s);
    check_profiles(s);
    CHECK_STR(snapshot_carrier_by_id(s0, "PC-001")->profile_json,
              snapshot_carrier_by_id(s, "PC-001")->profile_json);
    check_publish_race(s0, s);
    snapshot_release(s0);

    /* memory: at least the points, features and profiles it holds */
    size_t floor_bytes = 0;
    for (int l = 0; l < LAYER_COUNT; l++) {
        const snap_layer *ly = snapshot_layer(s, (layer_id)l);
        floor_bytes += ly->npoints * sizeof(snap_xy) + ly->nfeatures * sizeof(snap_feature) +
                       sidx_memory(ly->index);
        for (uint32_t i = 0; ly->carriers && i < ly->nfeatures; i++)
            floor_bytes += ly->carriers[i].profile_len + sizeof(snap_carrier);
    }
    CHECK(snapshot_memory(s) >= floor_bytes);
    CHECK(snapshot_memory(s) < floor_bytes + 1024 * 1024);

    /* references: the last release frees (ASan reports a leak or a double free) */
    CHECK(snapshot_retain(s) == s);
    snapshot_retain(s);
    snapshot_release(s);
    snapshot_release(s);
    CHECK_STR(snapshot_carrier_by_id(s, "P01")->id, "P01"); /* one reference left */

    /* publishing: a reader keeps the old snapshot while a new one is swapped in */
    snapshot_slot *slot = snapshot_slot_create();
    CHECK(snapshot_slot_acquire(slot) == NULL);
    snapshot_slot_publish(slot, s);
    snapshot *reader = snapshot_slot_acquire(slot);
    CHECK(reader == s);
    snapshot *s2;
    CHECK_INT(snapshot_load(src, &s2, &err), ZS_OK);
    snapshot_slot_publish(slot, s2);
    CHECK_STR(snapshot_carrier_by_id(reader, "B-002")->kind, "factory"); /* still valid */
    snapshot_release(reader);
    snapshot *now = snapshot_slot_acquire(slot);
    CHECK(now == s2);
    snapshot_release(now);
    snapshot_slot_destroy(slot);
    snapshot_release(NULL);
    snapshot_slot_destroy(NULL);
    source_close(src);
    source_close(NULL);

    /* a missing file is not created */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.sqlite", dir);
    CHECK(source_open_spatialite(missing, &src, &err) != ZS_OK);
    CHECK(src == NULL);
    CHECK(access(missing, F_OK) != 0);

    check_fakes();

    remove_store(path, dir);
    TEST_DONE();
}
