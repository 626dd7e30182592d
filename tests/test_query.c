/* The query layer against a small store written here: every search filter,
 * bbox (exact geometry, holes, multipolygons), free text in Chinese and
 * English, paging and its stable order (also from a source that hands rows
 * out of id order), output parsed back with jansson and profiles compared
 * byte for byte, GeoJSON coordinates and ring orientation; clicks (topmost
 * first, holes, the zoom-dependent tolerance, the cap) against a brute-force
 * reference; park statistics worked out by hand; and the capped buffer:
 * cap, sticky failure, rollback, JSON escaping and numbers. */
#include "buf.h"
#include "mercator.h"
#include "query.h"
#include "snapshot.h"
#include "source.h"
#include "store.h"
#include "store_rows.h"
#include "test.h"
#include "wkb_writer.h"

#include <jansson.h>

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- what the test stores ------------------------------------------------------- */

typedef struct {
    layer_id layer;
    char id[32];
    ring rings[3];
    int nrings;
    bool multi; /* MultiPolygon: each ring a polygon */
    bool point;
} feature_def;

#define MAX_FEATURES 64
static feature_def defs[MAX_FEATURES];
static int ndefs;

static const feature_def *def_by_id(const char *id)
{
    for (int i = 0; i < ndefs; i++)
        if (strcmp(defs[i].id, id) == 0) return &defs[i];
    return NULL;
}

static void upsert(store *st, row_values *r, const ring *rings, int nrings, bool multi, bool point)
{
    feature_def *d = &defs[ndefs++];
    memset(d, 0, sizeof *d);
    d->layer = r->info->id;
    snprintf(d->id, sizeof d->id, "%s", r->v[0].text);
    for (int i = 0; i < nrings; i++)
        d->rings[i] = rings[i];
    d->nrings = nrings;
    d->multi = multi;
    d->point = point;

    wkb_buf w = {0};
    if (point) {
        put_header(&w, 1);
        put_f64(&w, rings[0].lon[0]);
        put_f64(&w, rings[0].lat[0]);
    } else if (multi) {
        put_header(&w, 6);
        put_u32(&w, (uint32_t)nrings);
        for (int i = 0; i < nrings; i++) {
            put_header(&w, 3);
            put_u32(&w, 1);
            put_ring(&w, &rings[i]);
        }
    } else {
        put_header(&w, 3);
        put_u32(&w, (uint32_t)nrings);
        for (int i = 0; i < nrings; i++)
            put_ring(&w, &rings[i]);
    }
    zs_error err;
    zs_status s = store_upsert(st, r->info->id, r->v, w.b, w.n, NULL, &err);
    if (s) fprintf(stderr, "upsert %s: %s\n", d->id, err.msg);
    CHECK_INT(s, ZS_OK);
    free(w.b);
}

/* B-001 lies in PC-001, which lies in P01; P01 has a hole; PX-00..29 are a
 * grid of small parcels away from everything. */
#define NCLUSTER 30
#define CLUSTER_LON 117.300
#define CLUSTER_LAT 34.300

static void write_store(store *st)
{
    zs_error err;
    CHECK_INT(store_begin(st, &err), ZS_OK);
    row_values r;
    ring g[3];

    rv_init(&r, LAYER_PARKS, "P01");
    rv_text(&r, "name_zh", "徐州高新技术产业园");
    rv_text(&r, "name_en", "Xuzhou Hi-Tech Park");
    rv_text(&r, "status", "available");
    rv_text(&r, "industries", "semiconductor,electronics");
    rv_real(&r, "area_m2", 3200000);
    rv_int(&r, "enterprises", 128);
    rv_real(&r, "annual_tax_wan", 52000.5);
    rv_text(&r, "description_en", "Quotes \"and\" a backslash \\ survive.");
    g[0] = rect(117.180, 34.280, 117.200, 34.300);
    g[1] = rect(117.182, 34.282, 117.186, 34.286); /* stored counter-clockwise */
    upsert(st, &r, g, 2, false, false);

    rv_init(&r, LAYER_PARKS, "P02");
    rv_text(&r, "name_zh", "彭城智慧医疗产业园");
    rv_text(&r, "industries", "medical");
    g[0] = rect(117.210, 34.260, 117.230, 34.275);
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_PARCELS, "PC-001");
    rv_text(&r, "name_zh", "高新区A-01地块");
    rv_text(&r, "name_en", "Plot A-01");
    rv_text(&r, "park", "P01");
    rv_text(&r, "status", "available");
    rv_text(&r, "land_use", "industrial");
    rv_text(&r, "industries", "medical"); /* its own: the park's are not inherited */
    rv_real(&r, "area_m2", 20000);
    g[0] = rect(117.190, 34.290, 117.192, 34.292);
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_PARCELS, "PC-002");
    rv_text(&r, "park", "P01");
    rv_text(&r, "status", "reserved");
    rv_text(&r, "land_use", "commercial");
    rv_real(&r, "area_m2", 5000);
    /* a clockwise triangle: GeoJSON must turn it round */
    g[0] = (ring){4, {117.193, 117.194, 117.195, 117.193}, {34.292, 34.294, 34.292, 34.292}};
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_PARCELS, "PC-003");
    rv_text(&r, "status", "available");
    rv_text(&r, "land_use", "green");
    rv_real(&r, "area_m2", 1234.5);
    g[0] = rect(117.240, 34.240, 117.241, 34.241);
    g[1] = rect(117.250, 34.250, 117.251, 34.251);
    upsert(st, &r, g, 2, true, false);

    rv_init(&r, LAYER_PARCELS, "PC-004");
    rv_text(&r, "park", "P02");
    rv_text(&r, "status", "available");
    rv_text(&r, "land_use", "industrial");
    rv_real(&r, "area_m2", 30000);
    g[0] = rect(117.212, 34.262, 117.214, 34.264);
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_PARCELS, "PC-005"); /* available, area unknown */
    rv_text(&r, "park", "P02");
    rv_text(&r, "status", "available");
    g[0] = rect(117.225, 34.262, 117.226, 34.263);
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_PARCELS, "PC-006"); /* overlaps PC-001 */
    rv_real(&r, "area_m2", 100);
    g[0] = rect(117.1914, 34.2906, 117.1925, 34.2913);
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_BUILDINGS, "B-001");
    rv_text(&r, "name_zh", "金山科技大厦");
    rv_text(&r, "name_en", "Jinshan Tech Tower");
    rv_text(&r, "kind", "building");
    rv_text(&r, "park", "P01");
    rv_text(&r, "status", "available");
    rv_real(&r, "gross_area_m2", 45000);
    rv_real(&r, "vacant_area_m2", 12000.5);
    rv_real(&r, "rent_yuan_m2_day", 2.8); /* 84 a month */
    g[0] = rect(117.1905, 34.2905, 117.1910, 34.2910);
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_BUILDINGS, "B-002");
    rv_text(&r, "name_zh", "标准厂房3号");
    rv_text(&r, "kind", "factory");
    rv_text(&r, "park", "P01");
    rv_text(&r, "status", "leased");
    rv_real(&r, "clear_height_m", 9.5);
    rv_real(&r, "gross_area_m2", 7200);
    rv_real(&r, "vacant_area_m2", 0);
    rv_real(&r, "rent_yuan_m2_month", 18);
    g[0] = rect(117.1960, 34.2950, 117.1973, 34.2955);
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_BUILDINGS, "B-003");
    rv_text(&r, "name_zh", "医疗器械孵化楼");
    rv_text(&r, "kind", "building");
    rv_text(&r, "park", "P02");
    rv_text(&r, "status", "available");
    rv_real(&r, "rent_yuan_m2_day", 1.5); /* 45 a month */
    g[0] = (ring){1, {117.215}, {34.265}};
    upsert(st, &r, g, 1, false, true);

    rv_init(&r, LAYER_BUILDINGS, "B-004");
    rv_text(&r, "name_zh", "A栋厂房");
    rv_text(&r, "kind", "factory");
    rv_text(&r, "park", "P02");
    rv_text(&r, "status", "available");
    rv_real(&r, "clear_height_m", 12);
    rv_real(&r, "gross_area_m2", 10000);
    rv_real(&r, "vacant_area_m2", 10000);
    rv_real(&r, "rent_yuan_m2_month", 25);
    g[0] = rect(117.220, 34.265, 117.222, 34.267);
    upsert(st, &r, g, 1, false, false);

    rv_init(&r, LAYER_BUILDINGS, "B-005"); /* vacant area without gross area */
    rv_text(&r, "name_zh", "配套楼");
    rv_text(&r, "kind", "building");
    rv_text(&r, "park", "P02");
    rv_real(&r, "vacant_area_m2", 500);
    g[0] = rect(117.226, 34.270, 117.227, 34.271);
    upsert(st, &r, g, 1, false, false);

    for (int i = 0; i < NCLUSTER; i++) {
        char id[16];
        snprintf(id, sizeof id, "PX-%02d", i);
        rv_init(&r, LAYER_PARCELS, id);
        rv_real(&r, "area_m2", 100.0 * (i + 1));
        double w = CLUSTER_LON + 0.0005 * (i % 6), s = CLUSTER_LAT + 0.0005 * (i / 6);
        g[0] = rect(w, s, w + 0.0002, s + 0.0002);
        upsert(st, &r, g, 1, false, false);
    }
    CHECK_INT(store_commit(st, &err), ZS_OK);
}

/* ---- a source that hands out each layer's rows in reverse (not id) order ------ */

typedef struct {
    store_value *values;
    size_t nvalues;
    int64_t version;
    unsigned char *wkb;
    size_t wkb_len;
} saved_row;

typedef struct {
    saved_row *rows;
    size_t n;
    size_t nvalues;
} saved_rows;

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p) exit(2);
    memcpy(p, s, n);
    return p;
}

static bool save_row(const store_row *row, void *ctx)
{
    saved_rows *sr = ctx;
    sr->rows = realloc(sr->rows, (sr->n + 1) * sizeof *sr->rows);
    if (!sr->rows) exit(2);
    saved_row *d = &sr->rows[sr->n++];
    d->nvalues = sr->nvalues;
    d->values = calloc(sr->nvalues, sizeof *d->values);
    d->wkb = malloc(row->wkb_len ? row->wkb_len : 1);
    if (!d->values || !d->wkb) exit(2);
    for (size_t i = 0; i < sr->nvalues; i++) {
        d->values[i] = row->values[i];
        if (row->values[i].text) d->values[i].text = dup_str(row->values[i].text);
    }
    d->version = row->version;
    memcpy(d->wkb, row->wkb, row->wkb_len);
    d->wkb_len = row->wkb_len;
    return true;
}

static zs_status rev_version(void *impl, int64_t *out, zs_error *err)
{
    return source_data_version(impl, out, err);
}

static zs_status rev_layer(void *impl, layer_id layer, store_row_fn fn, void *ctx, zs_error *err)
{
    saved_rows sr = {NULL, 0, layer_get(layer)->nfields};
    zs_status st = source_read_layer(impl, layer, save_row, &sr, err);
    bool go = st == ZS_OK;
    for (size_t i = sr.n; i-- > 0;) {
        saved_row *d = &sr.rows[i];
        store_row row = {d->values, d->version, d->wkb, d->wkb_len};
        if (go) go = fn(&row, ctx);
        for (size_t k = 0; k < d->nvalues; k++)
            free((char *)d->values[k].text);
        free(d->values);
        free(d->wkb);
    }
    free(sr.rows);
    return st;
}

static zs_status rev_photos(void *impl, store_photo_fn fn, void *ctx, zs_error *err)
{
    return source_read_photos(impl, fn, ctx, err);
}

static zs_status rev_boards(void *impl, store_board_fn fn, void *ctx, zs_error *err)
{
    return source_read_boards(impl, fn, ctx, err);
}

static const source_ops reverse_ops = {
    "reverse", rev_version, rev_layer, rev_photos, rev_boards, NULL, NULL,
};

/* ---- helpers ---------------------------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j) {
        fprintf(stderr, "not JSON (%s at %d): %.200s\n", jerr.text, jerr.position, text);
        test_failures++;
        return json_object();
    }
    return j;
}

/* Runs a search given as name, value, ..., NULL; returns the body (free it)
 * or NULL when a parameter or the search fails (*status tells). */
static char *search(const snapshot *s, zs_status *status, ...)
{
    query_search_args a = query_search_defaults();
    zs_error err = {0};
    va_list ap;
    va_start(ap, status);
    const char *name;
    *status = ZS_OK;
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        bool known;
        zs_status st = query_search_set(&a, name, value, &known, &err);
        if (st || !known) {
            *status = st ? st : ZS_EINVAL;
            va_end(ap);
            return NULL;
        }
    }
    va_end(ap);
    zs_buf b;
    zs_buf_init(&b, 1 << 22);
    zs_status st = query_search(s, &a, &b, &err);
    if (st) {
        *status = st;
        zs_buf_free(&b);
        return NULL;
    }
    size_t len;
    char *out = zs_buf_detach(&b, &len);
    CHECK(out != NULL && strlen(out) == len);
    return out;
}

/* The ids of a JSON body's carriers (or GeoJSON features), comma-joined. */
static void ids_of(const char *body, char *ids, size_t cap)
{
    ids[0] = '\0';
    if (!body) {
        snprintf(ids, cap, "(error)");
        return;
    }
    json_t *j = parse(body);
    json_t *arr = json_object_get(j, "carriers");
    if (!arr) arr = json_object_get(j, "features");
    size_t n = 0, i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "id"));
        n += (size_t)snprintf(ids + n, n < cap ? cap - n : 0, "%s%s", i ? "," : "", id ? id : "?");
    }
    json_decref(j);
}

#define CHECK_SEARCH(snap, want, ...)                                                              \
    do {                                                                                           \
        zs_status st_;                                                                             \
        char *body_ = search(snap, &st_, __VA_ARGS__, NULL);                                       \
        CHECK_INT(st_, ZS_OK);                                                                     \
        char ids_[4096];                                                                           \
        ids_of(body_, ids_, sizeof ids_);                                                          \
        CHECK_STR(ids_, want);                                                                     \
        free(body_);                                                                               \
    } while (0)

static long long total_of(const char *body)
{
    json_t *j = parse(body);
    long long t = json_integer_value(json_object_get(j, "total"));
    json_decref(j);
    return t;
}

/* ---- search ---------------------------------------------------------------------- */

/* The body the JSON format must produce for these ids: the profiles verbatim. */
static char *expected_body(const snapshot *s, long long total, unsigned limit, unsigned offset,
                           const char *const *ids, size_t n)
{
    zs_buf b;
    zs_buf_init(&b, 1 << 22);
    zs_buf_printf(&b, "{\"total\":%lld,\"limit\":%u,\"offset\":%u,\"carriers\":[", total, limit,
                  offset);
    for (size_t i = 0; i < n; i++) {
        const snap_carrier *c = snapshot_carrier_by_id(s, ids[i]);
        CHECK(c != NULL);
        if (!c) continue;
        if (i) zs_buf_puts(&b, ",");
        zs_buf_puts(&b, c->profile_json);
    }
    zs_buf_puts(&b, "]}");
    size_t len;
    return zs_buf_detach(&b, &len);
}

static void check_filters(const snapshot *s)
{
    /* every carrier, by id: buildings, parks, parcels, the cluster */
    CHECK_SEARCH(s,
                 "B-001,B-002,B-003,B-004,B-005,P01,P02,PC-001,PC-002,PC-003,PC-004,PC-005,PC-006,"
                 "PX-00,PX-01,PX-02,PX-03,PX-04,PX-05,PX-06,PX-07,PX-08,PX-09,PX-10,PX-11,PX-12,"
                 "PX-13,PX-14,PX-15,PX-16,PX-17,PX-18,PX-19,PX-20,PX-21,PX-22,PX-23,PX-24,PX-25,"
                 "PX-26,PX-27,PX-28,PX-29",
                 "limit", "1000");
    CHECK_SEARCH(s, "P01,P02", "kind", "park");
    CHECK_SEARCH(s, "B-002,B-004", "kind", "factory");
    CHECK_SEARCH(s, "B-001,B-003,B-005", "kind", "building");
    CHECK_SEARCH(s, "B-002,B-004,P01,P02", "kind", "factory,park");
    CHECK_SEARCH(s, "PC-001,PC-002,PC-003", "kind", "parcel", "limit", "3");
    CHECK_SEARCH(s, "PC-001,PC-004", "land_use", "industrial");
    CHECK_SEARCH(s, "PC-002,PC-003", "land_use", "commercial,green");
    CHECK_SEARCH(s, "B-002", "status", "leased");
    CHECK_SEARCH(s, "B-001,B-003,B-004,P01,PC-001,PC-003,PC-004,PC-005", "status", "available");
    CHECK_SEARCH(s, "PC-002", "status", "reserved");
    /* industry: own industries, else the park's */
    CHECK_SEARCH(s, "B-001,B-002,P01,PC-002", "industry", "semiconductor");
    CHECK_SEARCH(s, "B-001,B-002,P01,PC-002", "industry", "electronics");
    CHECK_SEARCH(s, "B-003,B-004,B-005,P02,PC-001,PC-004,PC-005", "industry", "medical");
    CHECK_SEARCH(s, "", "industry", "commerce");
    /* park: the park itself and what lies in it */
    CHECK_SEARCH(s, "B-003,B-004,B-005,P02,PC-004,PC-005", "park", "P02");
    CHECK_SEARCH(s, "", "park", "P99");
    /* min_area: vacant floor area, else land or park area */
    CHECK_SEARCH(s, "B-001,B-004,P01,PC-001,PC-004", "min_area", "10000");
    CHECK_SEARCH(s, "B-001,P01,PC-001,PC-004", "min_area", "10000.5");
    CHECK_SEARCH(s, "PX-29", "min_area", "2950", "kind", "parcel", "q", "px");
    /* max_rent per month: offices quote per day, times 30 */
    CHECK_SEARCH(s, "B-002,B-003,B-004", "max_rent", "50");
    CHECK_SEARCH(s, "B-002,B-003,B-004", "max_rent", "83.9");
    CHECK_SEARCH(s, "B-001,B-002,B-003,B-004", "max_rent", "84.1");
    CHECK_SEARCH(s, "B-002", "max_rent", "18");
    CHECK_SEARCH(s, "", "max_rent", "17.99");
    CHECK_SEARCH(s, "B-003", "max_rent", "45", "kind", "building");
    /* min_clear_height: factories only */
    CHECK_SEARCH(s, "B-002,B-004", "min_clear_height", "9.5");
    CHECK_SEARCH(s, "B-004", "min_clear_height", "10");
    CHECK_SEARCH(s, "", "min_clear_height", "12.01");
    /* all at once */
    CHECK_SEARCH(s, "B-004", "kind", "factory", "status", "available", "industry", "medical",
                 "park", "P02", "min_area", "5000", "max_rent", "30", "min_clear_height", "11");
}

static void check_bbox(const snapshot *s)
{
    /* around P02: the park and what lies in it */
    CHECK_SEARCH(s, "B-003,B-004,B-005,P02,PC-004,PC-005", "bbox", "117.209,34.259,117.231,34.276");
    /* text inside a bbox: the index's hits tested one by one */
    CHECK_SEARCH(s, "B-004", "bbox", "117.209,34.259,117.231,34.276", "q", "厂房");
    CHECK_SEARCH(s, "B-003,P02", "bbox", "117.209,34.259,117.231,34.276", "q", "医疗");
    /* touching counts: a box that only touches B-004's east edge at one corner */
    CHECK_SEARCH(s, "B-004,P02", "bbox", "117.222,34.267,117.2225,34.2675");
    /* inside P01's bounding box but wholly in its hole: not P01 */
    CHECK_SEARCH(s, "", "bbox", "117.183,34.283,117.185,34.285");
    /* a box crossing the hole's edge meets P01 */
    CHECK_SEARCH(s, "P01", "bbox", "117.185,34.283,117.187,34.285");
    /* a box wholly inside P01 (no edge in it) */
    CHECK_SEARCH(s, "P01", "bbox", "117.195,34.282,117.196,34.283");
    /* between PC-003's two polygons: its bounding box, not its geometry */
    CHECK_SEARCH(s, "", "bbox", "117.244,34.244,117.246,34.246");
    CHECK_SEARCH(s, "PC-003", "bbox", "117.2505,34.2505,117.26,34.26");
    /* a point carrier */
    CHECK_SEARCH(s, "B-003", "bbox", "117.215,34.265,117.215,34.265", "kind", "building");
    CHECK_SEARCH(s, "", "bbox", "117.2151,34.2651,117.216,34.266", "kind", "building");
    /* bbox and filter together; paging over a bbox result */
    CHECK_SEARCH(s, "PX-06,PX-07", "bbox", "117.299,34.2999,117.3011,34.3008", "limit", "2",
                 "offset", "3");

    /* bad boxes */
    static const char *const bad[] = {"1,2,3",       "1,2,3,4,5",  "a,b,c,d",   "10,10,5,20",
                                      "10,20,20,10", "-181,0,0,1", "0,-91,1,1", "0,0,1,nan",
                                      "0,0,1,1e999", "0, 0,1,1x",  "",          "0,0,1,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zs_status st;
        char *body = search(s, &st, "bbox", bad[i], NULL);
        CHECK(body == NULL);
        CHECK_INT(st, ZS_EINVAL);
        free(body);
    }
}

static void check_text(const snapshot *s)
{
    CHECK_SEARCH(s, "P01,PC-001", "q", "高新");
    CHECK_SEARCH(s, "B-002,B-004", "q", "厂房");
    CHECK_SEARCH(s, "B-004", "q", "A栋");
    CHECK_SEARCH(s, "B-003", "q", "医疗器械");
    CHECK_SEARCH(s, "B-003,P02", "q", "医疗");
    CHECK_SEARCH(s, "B-001,P01", "q", "TECH"); /* Hi-Tech, Tech Tower */
    CHECK_SEARCH(s, "B-001,P01", "q", "tech");
    CHECK_SEARCH(s, "B-001,P01", "q", " tEcH "); /* trimmed */
    CHECK_SEARCH(s, "PC-001,PC-002,PC-003,PC-004,PC-005,PC-006", "q", "pc-00");
    CHECK_SEARCH(s, "PX-29", "q", "px-29");
    CHECK_SEARCH(s, "PC-001", "q", "a-01");
    CHECK_SEARCH(s, "", "q", "高新区B");
    CHECK_SEARCH(s, "B-001", "q", "大厦 ");
    CHECK_SEARCH(s, "PC-001", "q", "高新", "kind", "parcel");
    /* an empty q is no condition */
    zs_status st;
    char *body = search(s, &st, "q", "", NULL);
    CHECK(body && total_of(body) == ndefs);
    free(body);
    /* half a character, bad UTF-8, too long */
    body = search(s, &st, "q", "\xe9\xab", NULL);
    CHECK(body == NULL && st == ZS_EINVAL);
    body = search(s, &st, "q", "\xc0\xaf", NULL);
    CHECK(body == NULL && st == ZS_EINVAL);
    char longq[QUERY_Q_MAX + 2];
    memset(longq, 'a', sizeof longq - 1);
    longq[sizeof longq - 1] = '\0';
    body = search(s, &st, "q", longq, NULL);
    CHECK(body == NULL && st == ZS_EINVAL);
    longq[QUERY_Q_MAX] = '\0';
    body = search(s, &st, "q", longq, NULL);
    CHECK(body != NULL);
    if (body) CHECK_INT(total_of(body), 0);
    free(body);
}

static void check_paging(const snapshot *s)
{
    /* pages of 7 over the 36 parcels join up to the whole list */
    zs_status st;
    char *all = search(s, &st, "kind", "parcel", "limit", "1000", NULL);
    char all_ids[4096], joined[4096] = "";
    ids_of(all, all_ids, sizeof all_ids);
    CHECK_INT(total_of(all), 36);
    size_t n = 0;
    for (int off = 0; off < 42; off += 7) {
        char offs[16];
        snprintf(offs, sizeof offs, "%d", off);
        char *page = search(s, &st, "kind", "parcel", "limit", "7", "offset", offs, NULL);
        CHECK(page != NULL);
        if (!page) continue;
        CHECK_INT(total_of(page), 36);
        char ids[1024];
        ids_of(page, ids, sizeof ids);
        if (ids[0]) n += (size_t)snprintf(joined + n, sizeof joined - n, "%s%s", n ? "," : "", ids);
        json_t *j = parse(page);
        CHECK_INT(json_integer_value(json_object_get(j, "limit")), 7);
        CHECK_INT(json_integer_value(json_object_get(j, "offset")), off);
        CHECK_INT(json_array_size(json_object_get(j, "carriers")), off < 35 ? 7 : 1);
        json_decref(j);
        free(page);
    }
    CHECK_STR(joined, all_ids);
    free(all);

    /* the default limit, and the body byte for byte: profiles verbatim */
    char *body = search(s, &st, "kind", "park,factory", "offset", "1", NULL);
    static const char *const ids[] = {"B-004", "P01", "P02"};
    char *want = expected_body(s, 4, QUERY_LIMIT_DEFAULT, 1, ids, 3);
    CHECK_STR(body, want);
    free(body);
    free(want);
    body = search(s, &st, "offset", "1000", NULL);
    static const char *const none[] = {NULL};
    want = expected_body(s, ndefs, QUERY_LIMIT_DEFAULT, 1000, none, 0);
    CHECK_STR(body, want);
    free(body);
    free(want);

    /* every profile comes out byte-identical */
    body = search(s, &st, "limit", "1000", NULL);
    json_t *j = parse(body);
    json_t *arr = json_object_get(j, "carriers");
    CHECK_INT(json_array_size(arr), ndefs);
    const char *p = body ? strstr(body, "\"carriers\":[") : NULL;
    p = p ? p + strlen("\"carriers\":[") : NULL;
    for (size_t i = 0; p && i < json_array_size(arr); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(arr, i), "id"));
        const snap_carrier *c = snapshot_carrier_by_id(s, id);
        CHECK(c != NULL);
        if (!c) break;
        CHECK(strncmp(p, c->profile_json, c->profile_len) == 0);
        p += c->profile_len;
        CHECK(*p == (i + 1 < json_array_size(arr) ? ',' : ']'));
        p++;
    }
    json_decref(j);
    free(body);

    /* bad paging */
    static const char *const bad[][2] = {
        {"limit", "0"},     {"limit", "1001"},
        {"limit", "-1"},    {"limit", "10x"},
        {"limit", ""},      {"limit", " 5"},
        {"offset", "-1"},   {"offset", "100001"},
        {"offset", "1e3"},  {"format", "xml"},
        {"kind", "castle"}, {"min_area", "-5"},
        {"status", "open"}, {"limit", "99999999999999999999"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        body = search(s, &st, bad[i][0], bad[i][1], NULL);
        CHECK(body == NULL);
        CHECK_INT(st, ZS_EINVAL);
        free(body);
    }
    /* an unknown parameter is left to the caller */
    query_search_args a = query_search_defaults();
    bool known = true;
    zs_error err;
    CHECK_INT(query_search_set(&a, "callback", "x", &known, &err), ZS_OK);
    CHECK(!known);
    /* arguments set directly are checked too */
    zs_buf b;
    zs_buf_init(&b, 1 << 20);
    a.limit = 0;
    CHECK_INT(query_search(s, &a, &b, &err), ZS_EINVAL);
    a = query_search_defaults();
    a.has_bbox = true;
    a.west = 10, a.east = 5, a.south = 0, a.north = 1;
    CHECK_INT(query_search(s, &a, &b, &err), ZS_EINVAL);
    a = query_search_defaults();
    memcpy(a.q, "\xff", 2);
    CHECK_INT(query_search(s, &a, &b, &err), ZS_EINVAL);
    CHECK_INT(zs_buf_len(&b), 0);
    zs_buf_free(&b);
}

/* Same bodies from a snapshot whose layers came in reverse id order. */
static void check_order_independent(const snapshot *s, const snapshot *r)
{
    static const char *const cases[][6] = {
        {"limit", "1000", NULL, NULL, NULL, NULL},
        {"kind", "parcel", "limit", "5", "offset", "3"},
        {"bbox", "117.17,34.25,117.31,34.31", "limit", "9", "offset", "2"},
        {"q", "px", "limit", "4", "offset", "25"},
        {"industry", "medical", "format", "geojson", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zs_status st1, st2;
        const char *const *c = cases[i];
        char *a = search(s, &st1, c[0], c[1], c[2], c[3], c[4], c[5], NULL);
        char *b = search(r, &st2, c[0], c[1], c[2], c[3], c[4], c[5], NULL);
        CHECK(a != NULL && b != NULL);
        if (a && b && strcmp(a, b) != 0) {
            fprintf(stderr, "case %zu differs:\n%.300s\n%.300s\n", i, a, b);
            test_failures++;
        }
        char *again = search(s, &st1, c[0], c[1], c[2], c[3], c[4], c[5], NULL);
        CHECK(a && again && strcmp(a, again) == 0);
        free(a);
        free(b);
        free(again);
    }
    /* the reversed snapshot really is out of order */
    CHECK_STR(snapshot_layer(r, LAYER_PARCELS)->carriers[0].id, "PX-29");
}

/* ---- GeoJSON ----------------------------------------------------------------------- */

/* Twice the signed area of a GeoJSON ring (lon/lat): > 0 counter-clockwise. */
static double json_ring_area2(json_t *jr)
{
    double a = 0;
    size_t n = json_array_size(jr);
    for (size_t i = 0, j = n ? n - 1 : 0; i < n; j = i++) {
        json_t *p = json_array_get(jr, i), *q = json_array_get(jr, j);
        a += (json_number_value(json_array_get(q, 0)) - json_number_value(json_array_get(p, 0))) *
             (json_number_value(json_array_get(q, 1)) + json_number_value(json_array_get(p, 1)));
    }
    return a;
}

/* The ring equals r (or r reversed, when reversed) within 1e-7 degrees. */
static void check_ring(json_t *jr, const ring *r, bool reversed, bool ccw)
{
    CHECK_INT(json_array_size(jr), r->npts);
    for (int i = 0; i < r->npts && i < (int)json_array_size(jr); i++) {
        int k = reversed ? r->npts - 1 - i : i;
        json_t *p = json_array_get(jr, (size_t)i);
        CHECK_INT(json_array_size(p), 2);
        CHECK_NEAR(json_number_value(json_array_get(p, 0)), r->lon[k], 1e-7);
        CHECK_NEAR(json_number_value(json_array_get(p, 1)), r->lat[k], 1e-7);
    }
    CHECK(ccw ? json_ring_area2(jr) > 0 : json_ring_area2(jr) < 0);
}

/* The same for a ring as written to the store. */
static double def_ring_area2(const ring *r)
{
    double a = 0;
    for (int i = 0, j = r->npts - 1; i < r->npts; j = i++)
        a += (r->lon[j] - r->lon[i]) * (r->lat[j] + r->lat[i]);
    return a;
}

static json_t *feature_by_id(json_t *fc, const char *id)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fc, "features"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "id")), id) == 0) return f;
    }
    fprintf(stderr, "no feature %s\n", id);
    test_failures++;
    return json_object();
}

static void check_geojson(const snapshot *s)
{
    zs_status st;
    char *body = search(s, &st, "format", "geojson", "limit", "1000", NULL);
    CHECK(body != NULL);
    if (!body) return;
    json_t *fc = parse(body);
    CHECK_STR(json_string_value(json_object_get(fc, "type")), "FeatureCollection");
    CHECK_INT(json_integer_value(json_object_get(fc, "numberMatched")), ndefs);
    CHECK_INT(json_integer_value(json_object_get(fc, "numberReturned")), ndefs);
    CHECK_INT(json_integer_value(json_object_get(fc, "total")), ndefs);
    CHECK_INT(json_integer_value(json_object_get(fc, "limit")), 1000);
    CHECK_INT(json_integer_value(json_object_get(fc, "offset")), 0);
    json_t *features = json_object_get(fc, "features");
    CHECK_INT(json_array_size(features), ndefs);

    size_t i;
    json_t *f;
    json_array_foreach(features, i, f)
    {
        const char *id = json_string_value(json_object_get(f, "id"));
        CHECK_STR(json_string_value(json_object_get(f, "type")), "Feature");
        const snap_carrier *c = snapshot_carrier_by_id(s, id);
        const feature_def *d = def_by_id(id);
        CHECK(c && d);
        if (!c || !d) continue;
        /* properties: the profile, and its text appears verbatim */
        json_t *profile = parse(c->profile_json);
        CHECK(json_equal(json_object_get(f, "properties"), profile));
        json_decref(profile);
        CHECK(strstr(body, c->profile_json) != NULL);
        /* geometry */
        json_t *g = json_object_get(f, "geometry");
        const char *type = json_string_value(json_object_get(g, "type"));
        json_t *coords = json_object_get(g, "coordinates");
        if (d->point) {
            CHECK_STR(type, "Point");
            CHECK_NEAR(json_number_value(json_array_get(coords, 0)), d->rings[0].lon[0], 1e-7);
            CHECK_NEAR(json_number_value(json_array_get(coords, 1)), d->rings[0].lat[0], 1e-7);
        } else if (d->multi) {
            CHECK_STR(type, "MultiPolygon");
            CHECK_INT(json_array_size(coords), d->nrings);
            for (int k = 0; k < d->nrings; k++) {
                json_t *poly = json_array_get(coords, (size_t)k);
                CHECK_INT(json_array_size(poly), 1);
                check_ring(json_array_get(poly, 0), &d->rings[k], false, true);
            }
        } else {
            CHECK_STR(type, "Polygon");
            CHECK_INT(json_array_size(coords), d->nrings);
            for (int k = 0; k < d->nrings; k++) {
                bool outer = k == 0, ccw = def_ring_area2(&d->rings[k]) > 0;
                check_ring(json_array_get(coords, (size_t)k), &d->rings[k], outer != ccw, outer);
            }
        }
    }
    /* rings by hand: P01's counter-clockwise outer ring as stored, its hole
     * (stored counter-clockwise) turned clockwise; PC-002 stored clockwise
     * and turned round */
    json_t *p01 =
        json_object_get(json_object_get(feature_by_id(fc, "P01"), "geometry"), "coordinates");
    CHECK_INT(json_array_size(p01), 2);
    check_ring(json_array_get(p01, 0), &def_by_id("P01")->rings[0], false, true);
    check_ring(json_array_get(p01, 1), &def_by_id("P01")->rings[1], true, false);
    json_t *pc2 =
        json_object_get(json_object_get(feature_by_id(fc, "PC-002"), "geometry"), "coordinates");
    CHECK_INT(json_array_size(pc2), 1);
    check_ring(json_array_get(pc2, 0), &def_by_id("PC-002")->rings[0], true, true);
    json_t *b1 =
        json_object_get(json_object_get(feature_by_id(fc, "B-001"), "geometry"), "coordinates");
    check_ring(json_array_get(b1, 0), &def_by_id("B-001")->rings[0], false, true);
    /* 7 decimals at most */
    CHECK(strstr(body, "[117.1905,34.2905]") != NULL);
    CHECK(strstr(body, "[117.215,34.265]") != NULL);
    json_decref(fc);
    free(body);

    /* a filtered, paged collection */
    body = search(s, &st, "format", "geojson", "kind", "parcel", "limit", "2", "offset", "1", NULL);
    fc = parse(body);
    CHECK_INT(json_integer_value(json_object_get(fc, "numberMatched")), 36);
    CHECK_INT(json_integer_value(json_object_get(fc, "numberReturned")), 2);
    char ids[256];
    ids_of(body, ids, sizeof ids);
    CHECK_STR(ids, "PC-002,PC-003");
    json_decref(fc);
    free(body);
}

/* ---- clicks -------------------------------------------------------------------------- */

static double tolerance(double zoom)
{
    return 4 * 2 * 20037508.342789244 / (256 * pow(2, zoom));
}

/* Runs query_at; returns the comma-joined ids ("(error)" on error). */
static void at_ids(const snapshot *s, double lon, double lat, double zoom, char *ids, size_t cap)
{
    zs_buf b;
    zs_buf_init(&b, 1 << 20);
    zs_error err;
    zs_status st = query_at(s, lon, lat, zoom, &b, &err);
    if (st) {
        snprintf(ids, cap, "(error)");
        zs_buf_free(&b);
        return;
    }
    json_t *j = parse(zs_buf_data(&b));
    /* echoed with 15 significant digits */
    CHECK_NEAR(json_number_value(json_object_get(j, "lon")), lon, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(j, "lat")), lat, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(j, "zoom")), zoom, 1e-13);
    json_decref(j);
    ids_of(zs_buf_data(&b), ids, cap);
    /* each carrier verbatim */
    j = parse(zs_buf_data(&b));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "carriers"), i, c)
    {
        const snap_carrier *sc =
            snapshot_carrier_by_id(s, json_string_value(json_object_get(c, "id")));
        CHECK(sc && strstr(zs_buf_data(&b), sc->profile_json));
    }
    json_decref(j);
    zs_buf_free(&b);
}

#define CHECK_AT(snap, lon, lat, zoom, want)                                                       \
    do {                                                                                           \
        char ids_[2048];                                                                           \
        at_ids(snap, lon, lat, zoom, ids_, sizeof ids_);                                           \
        CHECK_STR(ids_, want);                                                                     \
    } while (0)

/* Reference: distance in EPSG:3857 metres from (x, y) to the def (0 inside). */
static double ref_distance(const feature_def *d, double x, double y)
{
    if (d->point) return hypot(ref_x(d->rings[0].lon[0]) - x, ref_y(d->rings[0].lat[0]) - y);
    bool in = false;
    double best = INFINITY;
    for (int r = 0; r < d->nrings; r++) {
        const ring *rg = &d->rings[r];
        for (int i = 0, j = rg->npts - 1; i < rg->npts; j = i++) {
            double ax = ref_x(rg->lon[j]), ay = ref_y(rg->lat[j]);
            double bx = ref_x(rg->lon[i]), by = ref_y(rg->lat[i]);
            if ((by > y) != (ay > y) && x < (ax - bx) * (y - by) / (ay - by) + bx) in = !in;
            double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
            double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double dd = hypot(ax + t * dx - x, ay + t * dy - y);
            if (dd < best) best = dd;
        }
    }
    return in ? 0 : best;
}

typedef struct {
    const char *id;
    double d;
    uint32_t feature;
} ref_hit;

static int cmp_ref_hit(const void *a, const void *b)
{
    const ref_hit *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->feature < y->feature) - (x->feature > y->feature);
}

static void ref_at(const snapshot *s, double lon, double lat, double zoom, char *ids, size_t cap)
{
    double x = ref_x(lon), y = ref_y(lat), tol = tolerance(zoom);
    static const layer_id order[] = {LAYER_BUILDINGS, LAYER_PARCELS, LAYER_PARKS};
    size_t n = 0, written = 0;
    ids[0] = '\0';
    for (int l = 0; l < 3; l++) {
        const snap_layer *ly = snapshot_layer(s, order[l]);
        ref_hit hits[MAX_FEATURES];
        size_t nh = 0;
        for (uint32_t f = 0; f < ly->nfeatures; f++) {
            const feature_def *d = def_by_id(ly->carriers[f].id);
            double dist = ref_distance(d, x, y);
            if (dist <= tol) hits[nh++] = (ref_hit){d->id, dist, f};
        }
        qsort(hits, nh, sizeof *hits, cmp_ref_hit);
        for (size_t i = 0; i < nh && written < QUERY_AT_MAX; i++, written++)
            n += (size_t)snprintf(ids + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", hits[i].id);
    }
}

/* lon of the point east of lon by metres of EPSG:3857 */
static double east_by(double lon, double metres)
{
    return merc_lon(merc_x(lon) + metres);
}

static double north_by(double lat, double metres)
{
    return merc_lat(merc_y(lat) + metres);
}

static void check_at(const snapshot *s)
{
    /* building in parcel in park: topmost first */
    CHECK_AT(s, 117.19075, 34.29075, 18, "B-001,PC-001,P01");
    CHECK_AT(s, 117.19075, 34.29075, 14, "B-001,PC-001,P01");
    /* zoom 12 (153 m): PC-006 is 72 m away, PC-002's nearest corner 302 m;
     * zoom 11 (306 m) */
    CHECK_AT(s, 117.19075, 34.29075, 12, "B-001,PC-001,PC-006,P01");
    CHECK_AT(s, 117.19075, 34.29075, 11, "B-001,PC-001,PC-006,PC-002,P01");
    /* in the parcel beside the building */
    CHECK_AT(s, 117.1915, 34.2915, 18, "PC-001,P01");
    /* in P01's hole: nothing at zoom 18 (2.4 m); at zoom 10 (611 m) the
     * hole's edge, 0.002 degrees (about 220 m) away, is within reach */
    CHECK_AT(s, 117.184, 34.284, 18, "");
    CHECK_AT(s, 117.184, 34.284, 10, "P01");
    /* just outside B-002's east edge by 5 m: out at zoom 18 and 17 (2.4 m,
     * 4.8 m), in at zoom 16 (9.6 m) and below, nearer ones first */
    double lon = east_by(117.1973, 5), lat = 34.29525;
    CHECK_AT(s, lon, lat, 18, "P01");
    CHECK_AT(s, lon, lat, 17, "P01");
    CHECK_AT(s, lon, lat, 16, "B-002,P01");
    CHECK_AT(s, lon, lat, 15.5, "B-002,P01");
    /* the tolerance exactly: 4 px of the zoom, both sides of it */
    for (double z = 12; z <= 20; z += 0.5) {
        char ids[256];
        at_ids(s, east_by(117.1973, tolerance(z) * 0.99), lat, z, ids, sizeof ids);
        CHECK(strncmp(ids, "B-002", 5) == 0);
        at_ids(s, east_by(117.1973, tolerance(z) * 1.01), lat, z, ids, sizeof ids);
        CHECK(strstr(ids, "B-002") == NULL);
    }
    /* a point carrier 3 m north: within 4.8 m (zoom 17), not 2.4 m (zoom 18) */
    CHECK_AT(s, 117.215, north_by(34.265, 3), 18, "P02");
    CHECK_AT(s, 117.215, north_by(34.265, 3), 17, "B-003,P02");
    CHECK_AT(s, 117.215, 34.265, 22, "B-003,P02");
    /* PC-003's second polygon */
    CHECK_AT(s, 117.2505, 34.2505, 18, "PC-003");
    CHECK_AT(s, 117.245, 34.245, 18, "");
    /* nothing at all; the edge of the world */
    CHECK_AT(s, 0, 0, 0, "");
    CHECK_AT(s, 180, 90, 3, "");
    CHECK_AT(s, -180, -90, 24, "");
    /* the cap: the cluster's 30 parcels at zoom 10, the 20 nearest */
    char ids[2048], want[2048];
    /* (off-centre, so that no two parcels are equally far) */
    at_ids(s, CLUSTER_LON + 0.00113, CLUSTER_LAT + 0.00117, 10, ids, sizeof ids);
    ref_at(s, CLUSTER_LON + 0.00113, CLUSTER_LAT + 0.00117, 10, want, sizeof want);
    CHECK_STR(ids, want);
    int commas = 0;
    for (const char *p = ids; *p; p++)
        commas += *p == ',';
    CHECK_INT(commas + 1, QUERY_AT_MAX);
    CHECK(strncmp(ids, "PX-14,", 6) == 0); /* the one under the click */

    /* random clicks against the reference: over the whole area, and near
     * a random carrier (its bbox grown by half its size each way) */
    uint64_t state = 12345;
    int nonempty = 0, several = 0;
    for (int i = 0; i < 4000; i++) {
        double u[4];
        for (int k = 0; k < 4; k++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            u[k] = (double)(state >> 11) * 0x1p-53;
        }
        double w = 117.175, e = 117.31, so = 34.235, n = 34.31;
        if (i % 2) {
            const feature_def *d = &defs[(size_t)(u[3] * ndefs)];
            w = e = d->rings[0].lon[0];
            so = n = d->rings[0].lat[0];
            for (int r = 0; r < d->nrings; r++)
                for (int k = 0; k < d->rings[r].npts; k++) {
                    w = fmin(w, d->rings[r].lon[k]), e = fmax(e, d->rings[r].lon[k]);
                    so = fmin(so, d->rings[r].lat[k]), n = fmax(n, d->rings[r].lat[k]);
                }
            double gw = (e - w) / 2 + 0.00005, gh = (n - so) / 2 + 0.00005;
            w -= gw, e += gw, so -= gh, n += gh;
        }
        double clon = w + (e - w) * u[0], clat = so + (n - so) * u[1], z = 9 + 11 * u[2];
        at_ids(s, clon, clat, z, ids, sizeof ids);
        ref_at(s, clon, clat, z, want, sizeof want);
        if (strcmp(ids, want) != 0) {
            fprintf(stderr, "click %.7f,%.7f z%.2f: got %s, want %s\n", clon, clat, z, ids, want);
            test_failures++;
        }
        nonempty += want[0] != '\0';
        several += strchr(want, ',') != NULL;
    }
    CHECK(nonempty > 1500); /* 1664 and 999 when written */
    CHECK(several > 800);

    /* bad input changes nothing */
    zs_buf b;
    zs_buf_init(&b, 1 << 20);
    zs_buf_puts(&b, "keep");
    zs_error err;
    CHECK_INT(query_at(s, 181, 0, 10, &b, &err), ZS_EINVAL);
    CHECK_INT(query_at(s, 0, -90.5, 10, &b, &err), ZS_EINVAL);
    CHECK_INT(query_at(s, NAN, 0, 10, &b, &err), ZS_EINVAL);
    CHECK_INT(query_at(s, 0, 0, -1, &b, &err), ZS_EINVAL);
    CHECK_INT(query_at(s, 0, 0, 24.5, &b, &err), ZS_EINVAL);
    CHECK_INT(query_at(s, 0, 0, NAN, &b, &err), ZS_EINVAL);
    CHECK(strstr(err.msg, "zoom") != NULL);
    CHECK_STR(zs_buf_data(&b), "keep");
    zs_buf_free(&b);
}

/* ---- parks ---------------------------------------------------------------------------- */

/* The number a JSON number of %.15g of v reads back as. */
static double printed(double v)
{
    char t[64];
    snprintf(t, sizeof t, "%.15g", v);
    return strtod(t, NULL);
}

static void check_parks(const snapshot *s)
{
    zs_buf b;
    zs_buf_init(&b, 1 << 20);
    zs_error err;
    CHECK_INT(query_parks(s, &b, &err), ZS_OK);
    json_t *j = parse(zs_buf_data(&b));
    CHECK_INT(json_integer_value(json_object_get(j, "total")), 2);
    json_t *parks = json_object_get(j, "parks");
    CHECK_INT(json_array_size(parks), 2);
    json_t *p1 = json_array_get(parks, 0), *p2 = json_array_get(parks, 1);
    CHECK_STR(json_string_value(json_object_get(p1, "id")), "P01");
    CHECK_STR(json_string_value(json_object_get(json_object_get(p1, "name"), "zh")),
              "徐州高新技术产业园");

    /* P01: PC-001 (available, 20000), PC-002 (reserved); B-001 office
     * 12000.5 of 45000 vacant, B-002 factory 0 of 7200 */
    const snap_carrier *c1 = snapshot_carrier_by_id(s, "P01");
    CHECK_NEAR(json_number_value(json_object_get(p1, "lon")), c1->lon, 5.0001e-7);
    CHECK_NEAR(json_number_value(json_object_get(p1, "lat")), c1->lat, 5.0001e-7);
    CHECK_STR(json_string_value(json_object_get(p1, "status")), "available");
    json_t *ind = json_object_get(p1, "industries");
    CHECK_INT(json_array_size(ind), 2);
    CHECK_STR(json_string_value(json_array_get(ind, 0)), "semiconductor");
    CHECK_STR(json_string_value(json_array_get(ind, 1)), "electronics");
    CHECK_NEAR(json_number_value(json_object_get(p1, "area_m2")), 3200000, 0);
    CHECK(json_is_integer(json_object_get(p1, "enterprises")));
    CHECK_INT(json_integer_value(json_object_get(p1, "enterprises")), 128);
    CHECK_NEAR(json_number_value(json_object_get(p1, "annual_tax_wan")), 52000.5, 0);
    json_t *cc = json_object_get(p1, "carriers");
    CHECK_INT(json_integer_value(json_object_get(cc, "parcels")), 2);
    CHECK_INT(json_integer_value(json_object_get(cc, "buildings")), 1);
    CHECK_INT(json_integer_value(json_object_get(cc, "factories")), 1);
    CHECK_NEAR(json_number_value(json_object_get(p1, "available_area_m2")), 32000.5, 0);
    CHECK_NEAR(json_number_value(json_object_get(p1, "vacant_floor_area_m2")), 12000.5, 0);
    CHECK_NEAR(json_number_value(json_object_get(p1, "gross_floor_area_m2")), 52200, 0);
    CHECK_NEAR(json_number_value(json_object_get(p1, "vacancy")), printed(12000.5 / 52200), 0);

    /* P02: PC-004 (available, 30000), PC-005 (available, no area); B-003
     * office without areas, B-004 factory 10000 of 10000, B-005 office 500
     * vacant of unknown gross (in the vacant area, not in the ratio) */
    CHECK_STR(json_string_value(json_object_get(p2, "id")), "P02");
    CHECK(json_is_null(json_object_get(json_object_get(p2, "name"), "en")));
    CHECK(json_is_null(json_object_get(p2, "status")));
    CHECK(json_is_null(json_object_get(p2, "area_m2")));
    CHECK(json_is_null(json_object_get(p2, "enterprises")));
    CHECK(json_is_null(json_object_get(p2, "annual_tax_wan")));
    CHECK_STR(json_string_value(json_array_get(json_object_get(p2, "industries"), 0)), "medical");
    cc = json_object_get(p2, "carriers");
    CHECK_INT(json_integer_value(json_object_get(cc, "parcels")), 2);
    CHECK_INT(json_integer_value(json_object_get(cc, "buildings")), 2);
    CHECK_INT(json_integer_value(json_object_get(cc, "factories")), 1);
    CHECK_NEAR(json_number_value(json_object_get(p2, "available_area_m2")), 40500, 0);
    CHECK_NEAR(json_number_value(json_object_get(p2, "vacant_floor_area_m2")), 10500, 0);
    CHECK_NEAR(json_number_value(json_object_get(p2, "gross_floor_area_m2")), 10000, 0);
    CHECK_NEAR(json_number_value(json_object_get(p2, "vacancy")), 1, 0);
    json_decref(j);

    /* the same body from the reversed snapshot is checked by the caller;
     * over the cap: nothing is left behind */
    size_t full = zs_buf_len(&b);
    zs_buf small;
    zs_buf_init(&small, full - 1);
    zs_buf_puts(&small, "x");
    CHECK_INT(query_parks(s, &small, &err), ZS_ENOMEM);
    CHECK(strstr(err.msg, "cap") != NULL);
    CHECK_STR(zs_buf_data(&small), "x");
    CHECK(!zs_buf_failed(&small));
    zs_buf_free(&small);
    zs_buf_init(&small, full);
    CHECK_INT(query_parks(s, &small, &err), ZS_OK);
    CHECK_STR(zs_buf_data(&small), zs_buf_data(&b));
    zs_buf_free(&small);
    zs_buf_free(&b);
}

/* Every query fails cleanly at every cap below its size, leaving the buffer
 * as it was. */
static void check_caps(const snapshot *s)
{
    query_search_args a = query_search_defaults();
    a.format = QUERY_GEOJSON;
    a.limit = 5;
    zs_error err;
    zs_buf b;
    for (int which = 0; which < 3; which++) {
        zs_buf_init(&b, 1 << 20);
        zs_status st = which == 0   ? query_search(s, &a, &b, &err)
                       : which == 1 ? query_at(s, 117.19075, 34.29075, 12, &b, &err)
                                    : query_parks(s, &b, &err);
        CHECK_INT(st, ZS_OK);
        size_t full = zs_buf_len(&b);
        zs_buf_free(&b);
        int wrong = 0;
        for (size_t cap = 0; cap <= full; cap += cap + 50 < full ? 1 + cap / 50 : 1) {
            zs_buf_init(&b, cap);
            st = which == 0   ? query_search(s, &a, &b, &err)
                 : which == 1 ? query_at(s, 117.19075, 34.29075, 12, &b, &err)
                              : query_parks(s, &b, &err);
            if (st != (cap == full ? ZS_OK : ZS_ENOMEM) || zs_buf_failed(&b) ||
                zs_buf_len(&b) != (cap == full ? full : 0))
                wrong++;
            zs_buf_free(&b);
        }
        CHECK_INT(wrong, 0);
    }
    /* a buffer that failed earlier is refused untouched */
    zs_buf_init(&b, 4);
    CHECK_INT(zs_buf_puts(&b, "12345"), ZS_ENOMEM);
    CHECK_INT(query_search(s, &a, &b, &err), ZS_ENOMEM);
    CHECK_INT(query_at(s, 0, 0, 1, &b, &err), ZS_ENOMEM);
    CHECK_INT(query_parks(s, &b, &err), ZS_ENOMEM);
    CHECK(zs_buf_failed(&b));
    zs_buf_free(&b);
}

/* ---- the buffer ---------------------------------------------------------------------- */

static const char *json_of(zs_buf *b, zs_status (*fn)(zs_buf *, double), double v)
{
    zs_buf_reset(b);
    CHECK_INT(fn(b, v), ZS_OK);
    return zs_buf_data(b);
}

static zs_status fixed7(zs_buf *b, double v)
{
    return zs_buf_json_fixed(b, v, 7);
}

static void check_buf(void)
{
    zs_buf b;
    zs_buf_init(&b, 10);
    CHECK_STR(zs_buf_data(&b), "");
    CHECK_INT(zs_buf_len(&b), 0);
    CHECK_INT(zs_buf_cap(&b), 10);
    CHECK_INT(zs_buf_puts(&b, "12345"), ZS_OK);
    CHECK_INT(zs_buf_puts(&b, "678901"), ZS_ENOMEM); /* 11 > 10: nothing added */
    CHECK_STR(zs_buf_data(&b), "12345");
    CHECK(zs_buf_failed(&b));
    CHECK_INT(zs_buf_puts(&b, "6"), ZS_ENOMEM); /* sticky */
    CHECK_INT(zs_buf_append(&b, "", 0), ZS_ENOMEM);
    size_t len = 99;
    CHECK(zs_buf_detach(&b, &len) == NULL && len == 99);
    zs_buf_rollback(&b, 3);
    CHECK(!zs_buf_failed(&b));
    CHECK_STR(zs_buf_data(&b), "123");
    zs_buf_rollback(&b, 50); /* longer than the content: only clears */
    CHECK_STR(zs_buf_data(&b), "123");
    CHECK_INT(zs_buf_printf(&b, "%d-%s", 45, "678"), ZS_OK);
    CHECK_STR(zs_buf_data(&b), "12345-678");
    CHECK_INT(zs_buf_append(&b, "9", 1), ZS_OK); /* exactly at the cap */
    CHECK_INT(zs_buf_len(&b), 10);
    CHECK_INT(zs_buf_append(&b, "", 0), ZS_OK);
    CHECK_INT(zs_buf_append(&b, "x", 1), ZS_ENOMEM);
    zs_buf_reset(&b);
    CHECK_INT(zs_buf_len(&b), 0);
    CHECK_INT(zs_buf_json_str(&b, "12345678"), ZS_OK); /* 10 with its quotes */
    CHECK_STR(zs_buf_data(&b), "\"12345678\"");
    zs_buf_reset(&b);
    CHECK_INT(zs_buf_json_str(&b, "1234\n678"), ZS_ENOMEM); /* 11 escaped */
    CHECK_STR(zs_buf_data(&b), "");
    CHECK_INT(zs_buf_len(&b), 0);
    zs_buf_free(&b);
    zs_buf_free(NULL);

    /* a zero cap holds nothing, yet reads as "" */
    zs_buf_init(&b, 0);
    CHECK_INT(zs_buf_append(&b, "", 0), ZS_OK);
    CHECK_INT(zs_buf_puts(&b, "a"), ZS_ENOMEM);
    CHECK_STR(zs_buf_data(&b), "");
    zs_buf_free(&b);

    /* long printf output, through the slow path, and over the cap */
    zs_buf_init(&b, 3000);
    char big[1001];
    memset(big, 'z', 1000);
    big[1000] = '\0';
    CHECK_INT(zs_buf_printf(&b, "<%s>", big), ZS_OK);
    CHECK_INT(zs_buf_len(&b), 1002);
    CHECK_INT(zs_buf_printf(&b, "%s%s", big, big), ZS_ENOMEM); /* 3002 */
    CHECK_INT(zs_buf_len(&b), 1002);
    zs_buf_rollback(&b, 1002);
    CHECK_INT(zs_buf_printf(&b, "%.998s%s", big, big), ZS_OK);
    CHECK_INT(zs_buf_len(&b), 3000);
    CHECK_INT(zs_buf_printf(&b, "%s", "!"), ZS_ENOMEM);
    CHECK_INT(zs_buf_len(&b), 3000);
    CHECK(zs_buf_data(&b)[1001] == '>' && zs_buf_data(&b)[2999] == 'z');
    /* growth keeps earlier content */
    zs_buf_rollback(&b, 1);
    CHECK_STR(zs_buf_data(&b), "<");
    zs_buf_free(&b);

    /* detach: the caller owns the bytes, the buffer is empty and reusable */
    zs_buf_init(&b, 100);
    char *p = zs_buf_detach(&b, &len);
    CHECK(p != NULL && len == 0 && p[0] == '\0');
    free(p);
    zs_buf_puts(&b, "hello");
    p = zs_buf_detach(&b, &len);
    CHECK(p && len == 5 && strcmp(p, "hello") == 0);
    free(p);
    CHECK_INT(zs_buf_len(&b), 0);
    CHECK_INT(zs_buf_puts(&b, "again"), ZS_OK);
    CHECK_STR(zs_buf_data(&b), "again");
    zs_buf_free(&b);

    /* JSON strings: quotes, backslashes and controls escaped; UTF-8 and '/'
     * and DEL as they are */
    zs_buf_init(&b, 10000);
    CHECK_INT(zs_buf_json_str(&b, "a\"b\\c\nd\te\r\b\f\x01\x1f/\x7f 中文é🙂"), ZS_OK);
    CHECK_STR(zs_buf_data(&b), "\"a\\\"b\\\\c\\nd\\te\\r\\b\\f\\u0001\\u001f/\x7f 中文é🙂\"");
    zs_buf_reset(&b);
    CHECK_INT(zs_buf_json_strn(&b, "x\0y", 3), ZS_OK);
    CHECK_STR(zs_buf_data(&b), "\"x\\u0000y\"");
    zs_buf_reset(&b);
    CHECK_INT(zs_buf_json_str(&b, NULL), ZS_OK);
    CHECK_INT(zs_buf_json_str(&b, ""), ZS_OK);
    CHECK_STR(zs_buf_data(&b), "null\"\"");
    /* every ASCII byte and some UTF-8 round-trip through jansson */
    zs_buf_reset(&b);
    char all[256];
    for (int i = 1; i < 128; i++)
        all[i - 1] = (char)i;
    all[127] = '\0';
    zs_buf_puts(&b, "[");
    zs_buf_json_str(&b, all);
    zs_buf_puts(&b, ",");
    zs_buf_json_str(&b, "园区 \"大门\" \\ 🙂");
    zs_buf_puts(&b, "]");
    json_t *j = parse(zs_buf_data(&b));
    CHECK_STR(json_string_value(json_array_get(j, 0)), all);
    CHECK_STR(json_string_value(json_array_get(j, 1)), "园区 \"大门\" \\ 🙂");
    json_decref(j);

    /* numbers */
    CHECK_STR(json_of(&b, zs_buf_json_num, 2.8), "2.8");
    CHECK_STR(json_of(&b, zs_buf_json_num, 20000), "20000");
    CHECK_STR(json_of(&b, zs_buf_json_num, 0.1 + 0.2), "0.3");
    CHECK_STR(json_of(&b, zs_buf_json_num, 1.0 / 3), "0.333333333333333");
    CHECK_STR(json_of(&b, zs_buf_json_num, -12000.5), "-12000.5");
    CHECK_STR(json_of(&b, zs_buf_json_num, 1e21), "1e+21");
    CHECK_STR(json_of(&b, zs_buf_json_num, 1e-7), "1e-07");
    CHECK_STR(json_of(&b, zs_buf_json_num, 0), "0");
    CHECK_STR(json_of(&b, zs_buf_json_num, NAN), "null");
    CHECK_STR(json_of(&b, zs_buf_json_num, INFINITY), "null");
    CHECK_STR(json_of(&b, zs_buf_json_num, -INFINITY), "null");
    CHECK_STR(json_of(&b, fixed7, 117.19), "117.19");
    CHECK_STR(json_of(&b, fixed7, 34.2905), "34.2905");
    CHECK_STR(json_of(&b, fixed7, 117.12345678), "117.1234568");
    CHECK_STR(json_of(&b, fixed7, 12.0), "12");
    CHECK_STR(json_of(&b, fixed7, 100), "100");
    CHECK_STR(json_of(&b, fixed7, -0.00000001), "0");
    CHECK_STR(json_of(&b, fixed7, -0.0), "0");
    CHECK_STR(json_of(&b, fixed7, -33.5), "-33.5");
    CHECK_STR(json_of(&b, fixed7, NAN), "null");
    zs_buf_reset(&b);
    CHECK_INT(zs_buf_json_fixed(&b, 1.25, 0), ZS_OK);
    CHECK_STR(zs_buf_data(&b), "1");
    /* a locale with a decimal comma changes nothing (when installed) */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        CHECK_STR(json_of(&b, zs_buf_json_num, 2.5), "2.5");
        CHECK_STR(json_of(&b, fixed7, 117.19), "117.19");
        setlocale(LC_NUMERIC, "C");
    }
    /* every number parses back as JSON */
    zs_buf_reset(&b);
    zs_buf_puts(&b, "[");
    for (int i = 0; i < 40; i++) {
        double v = pow(-7.3, i - 20);
        if (i) zs_buf_puts(&b, ",");
        zs_buf_json_num(&b, v);
        zs_buf_puts(&b, ",");
        zs_buf_json_fixed(&b, v, 7);
    }
    zs_buf_puts(&b, "]");
    j = parse(zs_buf_data(&b));
    CHECK_INT(json_array_size(j), 80);
    for (int i = 0; i < 40; i++)
        CHECK_NEAR(json_number_value(json_array_get(j, (size_t)(2 * i))), pow(-7.3, i - 20),
                   fabs(pow(-7.3, i - 20)) * 1e-14);
    json_decref(j);
    zs_buf_free(&b);
}

/* ---- main ------------------------------------------------------------------------------ */

int main(void)
{
    uint16_t one = 1;
    if (*(unsigned char *)&one != 1) {
        fprintf(stderr, "this test writes WKB assuming a little-endian machine\n");
        return 77; /* skipped */
    }
    check_buf();

    char dir[] = "/tmp/zs_query_XXXXXX";
    if (!mkdtemp(dir)) return 2;
    char path[256];
    snprintf(path, sizeof path, "%s/store.sqlite", dir);
    zs_error err;
    store *st;
    CHECK_INT(store_open(path, true, &st, &err), ZS_OK);
    write_store(st);
    store_close(st);

    source *src;
    zs_status os = source_open_spatialite(path, &src, &err);
    CHECK_INT(os, ZS_OK);
    if (os) {
        fprintf(stderr, "%s\n", err.msg);
        TEST_DONE();
    }
    snapshot *s;
    zs_status ls = snapshot_load(src, &s, &err);
    CHECK_INT(ls, ZS_OK);
    if (ls) {
        fprintf(stderr, "%s\n", err.msg);
        TEST_DONE();
    }
    /* the same data handed out in reverse order */
    source *rsrc;
    CHECK_INT(source_create(&reverse_ops, src, &rsrc, &err), ZS_OK);
    snapshot *r;
    CHECK_INT(snapshot_load(rsrc, &r, &err), ZS_OK);
    source_close(rsrc);

    check_filters(s);
    check_bbox(s);
    check_text(s);
    check_paging(s);
    check_geojson(s);
    check_at(s);
    /* the reversed snapshot: the same answers (clicks: the reference follows
     * each snapshot's own drawing order) */
    check_order_independent(s, r);
    check_filters(r);
    check_bbox(r);
    check_text(r);
    check_paging(r);
    check_geojson(r);
    check_at(r);
    /* inside two parcels at once: the one drawn last (later in the
     * source's order) first */
    CHECK_AT(s, 117.1918, 34.2908, 18, "PC-006,PC-001,P01");
    CHECK_AT(r, 117.1918, 34.2908, 18, "PC-001,PC-006,P01");
    check_parks(s);
    check_caps(s);
    {
        zs_buf a, b;
        zs_buf_init(&a, 1 << 20);
        zs_buf_init(&b, 1 << 20);
        CHECK_INT(query_parks(s, &a, &err), ZS_OK);
        CHECK_INT(query_parks(r, &b, &err), ZS_OK);
        CHECK_STR(zs_buf_data(&a), zs_buf_data(&b));
        zs_buf_free(&a);
        zs_buf_free(&b);
    }

    snapshot_release(r);
    snapshot_release(s);
    source_close(src);
    remove_store(path, dir);
    TEST_DONE();
}
