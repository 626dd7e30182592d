/* The snapshot digest against a store changed one step at a time: each step
 * reports exactly the boxes of what it changed (compared with the bboxes the
 * snapshots hold), re-storing a context unchanged reports nothing; through a
 * fake source, duplicate ids and empty geometry; the file round trip and each
 * way a file can be bad. Prints how long building and comparing took. */
#include "digest.h"
#include "snapshot.h"
#include "source.h"
#include "store.h"
#include "store_rows.h"
#include "test.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- rows and WKB (little-endian; main checks the machine is) ------------------- */

typedef struct {
    unsigned char b[512];
    size_t n;
} wkb;

static void put(wkb *w, const void *p, size_t n)
{
    if (w->n + n > sizeof w->b) {
        fprintf(stderr, "test WKB too long\n");
        exit(2);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put_u32(wkb *w, uint32_t v)
{
    put(w, &v, 4);
}

static void put_f64(wkb *w, double v)
{
    put(w, &v, 8);
}

static void put_header(wkb *w, uint32_t type)
{
    unsigned char order = 1;
    put(w, &order, 1);
    put_u32(w, type);
}

/* A rectangle (lon/lat degrees) as a Polygon. */
static wkb rect(double w, double s, double e, double n)
{
    wkb g = {.n = 0};
    put_header(&g, 3);
    put_u32(&g, 1);
    put_u32(&g, 5);
    const double xs[] = {w, e, e, w, w}, ys[] = {s, s, n, n, s};
    for (int i = 0; i < 5; i++) {
        put_f64(&g, xs[i]);
        put_f64(&g, ys[i]);
    }
    return g;
}

/* A LineString from (x0, y0) to (x1, y1), lon/lat degrees. */
static wkb line(double x0, double y0, double x1, double y1)
{
    wkb g = {.n = 0};
    put_header(&g, 2);
    put_u32(&g, 2);
    put_f64(&g, x0);
    put_f64(&g, y0);
    put_f64(&g, x1);
    put_f64(&g, y1);
    return g;
}

static wkb point(double x, double y)
{
    wkb g = {.n = 0};
    put_header(&g, 1);
    put_f64(&g, x);
    put_f64(&g, y);
    return g;
}

/* A Polygon with no rings: an empty geometry. */
static wkb empty_polygon(void)
{
    wkb g = {.n = 0};
    put_header(&g, 3);
    put_u32(&g, 0);
    return g;
}

/* ---- the store ------------------------------------------------------------------- */

static void upsert(store *st, row_values *r, wkb g)
{
    zs_error err = {0};
    zs_status s = store_upsert(st, r->info->id, r->v, g.b, g.n, NULL, &err);
    if (s) fprintf(stderr, "upsert %s: %s\n", r->v[0].text, err.msg);
    CHECK_INT(s, ZS_OK);
}

static void park(store *st, const char *id, wkb g)
{
    row_values r;
    rv_init(&r, LAYER_PARKS, id);
    rv_text(&r, "name_zh", "园区");
    rv_text(&r, "status", "available");
    rv_real(&r, "area_m2", 3200000);
    upsert(st, &r, g);
}

static void parcel(store *st, const char *id, const char *park_id, wkb g)
{
    row_values r;
    rv_init(&r, LAYER_PARCELS, id);
    rv_text(&r, "park", park_id);
    rv_text(&r, "land_use", "industrial");
    rv_real(&r, "price_wan_per_mu", 28.5);
    upsert(st, &r, g);
}

/* An office with a rent (NAN: none) and a vacant area left absent. */
static void office(store *st, const char *id, double rent, wkb g)
{
    row_values r;
    rv_init(&r, LAYER_BUILDINGS, id);
    rv_text(&r, "kind", "building");
    rv_text(&r, "park", "P1");
    rv_text(&r, "status", "available");
    rv_real(&r, "gross_area_m2", 45000);
    if (!isnan(rent)) rv_real(&r, "rent_yuan_m2_day", rent);
    upsert(st, &r, g);
}

static void road(store *st, const char *id, const char *name, const char *cls, wkb g)
{
    row_values r;
    rv_init(&r, LAYER_ROADS, id);
    if (name) rv_text(&r, "name_zh", name);
    rv_text(&r, "road_class", cls);
    upsert(st, &r, g);
}

static void context(store *st, layer_id layer, const char *id, const char *name, wkb g)
{
    row_values r;
    rv_init(&r, layer, id);
    rv_text(&r, "name_zh", name);
    upsert(st, &r, g);
}

static void begin(store *st)
{
    zs_error err = {0};
    CHECK_INT(store_begin(st, &err), ZS_OK);
}

static void commit(store *st)
{
    zs_error err = {0};
    zs_status s = store_commit(st, &err);
    if (s) fprintf(stderr, "commit: %s\n", err.msg);
    CHECK_INT(s, ZS_OK);
}

/* The geometry of step 0. */
static void write_initial(store *st)
{
    begin(st);
    park(st, "P1", rect(117.180, 34.280, 117.200, 34.300));
    park(st, "P2", rect(117.210, 34.260, 117.230, 34.275));
    parcel(st, "PC-1", "P1", rect(117.190, 34.290, 117.192, 34.291));
    parcel(st, "PC-2", "P1", rect(117.193, 34.292, 117.195, 34.294));
    office(st, "B-1", 2.8, rect(117.1880, 34.2880, 117.1885, 34.2884));
    office(st, "B-2", NAN, rect(117.1960, 34.2950, 117.1973, 34.2955));
    context(st, LAYER_BOUNDARY, "district", "示范区", rect(117.100, 34.200, 117.300, 34.350));
    road(st, "R-1", "金山路", "primary", line(117.15, 34.279, 117.25, 34.281));
    road(st, "R-2", NULL, "minor", line(117.181, 34.281, 117.181, 34.299));
    context(st, LAYER_WATER, "W-1", "故黄河", rect(117.150, 34.300, 117.250, 34.303));
    commit(st);
}

/* ---- snapshots and digests ---------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double build_ms;
static int builds;

static snapshot *load(store *st)
{
    zs_error err = {0};
    source *src;
    CHECK_INT(source_from_store(st, &src, &err), ZS_OK);
    snapshot *s = NULL;
    zs_status ls = snapshot_load(src, &s, &err);
    if (ls) {
        fprintf(stderr, "snapshot_load: %s\n", err.msg);
        exit(1);
    }
    source_close(src);
    return s;
}

static digest *build(const snapshot *s)
{
    zs_error err = {0};
    digest *d = NULL;
    double t0 = now_ms();
    zs_status st = digest_build(s, &d, &err);
    build_ms += now_ms() - t0;
    builds++;
    if (st) {
        fprintf(stderr, "digest_build: %s\n", err.msg);
        exit(1);
    }
    CHECK_INT(digest_data_version(d), snapshot_data_version(s));
    return d;
}

/* The bbox of the feature id of layer in s. */
static sidx_box bbox_of(const snapshot *s, layer_id layer, const char *id)
{
    const snap_layer *l = snapshot_layer(s, layer);
    for (uint32_t i = 0; i < l->nfeatures; i++) {
        const char *fid = l->carriers ? l->carriers[i].id : l->contexts[i].id;
        if (strcmp(fid, id) == 0) return l->features[i].bbox;
    }
    fprintf(stderr, "no feature %s in layer %d\n", id, (int)layer);
    exit(2);
}

static bool same_box(sidx_box a, sidx_box b)
{
    return a.minx == b.minx && a.miny == b.miny && a.maxx == b.maxx && a.maxy == b.maxy;
}

static void print_box(const char *what, sidx_box b)
{
    fprintf(stderr, "  %s %.3f %.3f %.3f %.3f\n", what, b.minx, b.miny, b.maxx, b.maxy);
}

/* diff(a, b) gives exactly the boxes want (as a multiset, in any order),
 * coordinates equal to the last bit. */
static void check_diff_at(int line_no, const digest *a, const digest *b, const sidx_box *want,
                          size_t nwant)
{
    zs_error err = {0};
    sidx_box *got = (sidx_box *)1;
    size_t n = 99;
    zs_status st = digest_diff(a, b, &got, &n, &err);
    CHECK_INT(st, ZS_OK);
    if (st) return;
    bool ok = n == nwant;
    bool used[16] = {false};
    for (size_t i = 0; ok && i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < nwant && !found; j++)
            if (!used[j] && same_box(got[i], want[j])) used[j] = found = true;
        ok = found;
    }
    if (!ok) {
        fprintf(stderr, "line %d: diff gave %zu boxes, %zu expected\n", line_no, n, nwant);
        for (size_t i = 0; i < n; i++)
            print_box("got ", got[i]);
        for (size_t j = 0; j < nwant; j++)
            print_box("want", want[j]);
        test_failures++;
    }
    CHECK((n == 0) == (got == NULL));
    free(got);
}

#define check_diff(a, b, ...)                                                                      \
    do {                                                                                           \
        const sidx_box want_[] = {__VA_ARGS__};                                                    \
        check_diff_at(__LINE__, a, b, want_, sizeof want_ / sizeof want_[0]);                      \
    } while (0)

static void check_no_diff_at(int line_no, const digest *a, const digest *b)
{
    check_diff_at(line_no, a, b, NULL, 0);
}
#define check_no_diff(a, b) check_no_diff_at(__LINE__, a, b)

/* ---- the store, step by step ------------------------------------------------------------ */

typedef struct {
    snapshot *s[6];
    digest *d[6];
} history;

static void check_steps(store *st, history *h)
{
    write_initial(st);
    h->s[0] = load(st);
    h->d[0] = build(h->s[0]);
    digest *d0 = h->d[0];
    CHECK_INT(digest_count(d0), 10);
    CHECK_INT(digest_data_version(d0), 1);
    check_no_diff(d0, d0);

    /* the same data loaded again, digested again: equal (NaN rents included) */
    snapshot *again = load(st);
    digest *d0b = build(again);
    check_no_diff(d0, d0b);
    digest_free(d0b);
    snapshot_release(again);

    /* 1: one office's rent */
    begin(st);
    office(st, "B-1", 3.1, rect(117.1880, 34.2880, 117.1885, 34.2884));
    commit(st);
    h->s[1] = load(st);
    h->d[1] = build(h->s[1]);
    CHECK_INT(digest_data_version(h->d[1]), 2);
    sidx_box b1 = bbox_of(h->s[1], LAYER_BUILDINGS, "B-1");
    CHECK(same_box(b1, bbox_of(h->s[0], LAYER_BUILDINGS, "B-1")));
    check_diff(h->d[0], h->d[1], b1);
    check_diff(h->d[1], h->d[0], b1);
    CHECK(b1.minx < b1.maxx && b1.miny < b1.maxy);

    /* 2: a parcel moved east: old and new extent */
    begin(st);
    parcel(st, "PC-1", "P1", rect(117.196, 34.290, 117.198, 34.291));
    commit(st);
    h->s[2] = load(st);
    h->d[2] = build(h->s[2]);
    sidx_box pc_old = bbox_of(h->s[1], LAYER_PARCELS, "PC-1");
    sidx_box pc_new = bbox_of(h->s[2], LAYER_PARCELS, "PC-1");
    CHECK(pc_new.minx > pc_old.maxx);
    check_diff(h->d[1], h->d[2], pc_old, pc_new);

    /* 3: an office added (a point: a box of no area still counts); the other
     * way round, the same office removed */
    begin(st);
    office(st, "B-3", 2.0, point(117.2150, 34.2650));
    commit(st);
    h->s[3] = load(st);
    h->d[3] = build(h->s[3]);
    CHECK_INT(digest_count(h->d[3]), 11);
    sidx_box b3 = bbox_of(h->s[3], LAYER_BUILDINGS, "B-3");
    CHECK(b3.minx == b3.maxx && b3.miny == b3.maxy);
    check_diff(h->d[2], h->d[3], b3);
    check_diff(h->d[3], h->d[2], b3);

    /* 4: a road renamed; the other road stored again unchanged (its version
     * goes up, which a map does not show) */
    begin(st);
    road(st, "R-1", "金山大道", "primary", line(117.15, 34.279, 117.25, 34.281));
    road(st, "R-2", NULL, "minor", line(117.181, 34.281, 117.181, 34.299));
    commit(st);
    h->s[4] = load(st);
    h->d[4] = build(h->s[4]);
    sidx_box r1 = bbox_of(h->s[4], LAYER_ROADS, "R-1");
    check_diff(h->d[3], h->d[4], r1);

    /* 5: a carrier stored again unchanged: its version moved, what a map
     * shows did not, so nothing changed (see digest.h) */
    begin(st);
    office(st, "B-2", NAN, rect(117.1960, 34.2950, 117.1973, 34.2955));
    commit(st);
    h->s[5] = load(st);
    h->d[5] = build(h->s[5]);
    check_no_diff(h->d[4], h->d[5]);

    /* all steps at once */
    check_diff(h->d[0], h->d[5], b1, pc_old, pc_new, b3, r1);
    check_no_diff(h->d[5], h->d[5]);
}

/* ---- duplicate ids and empty geometry, through a fake source -------------------------- */

typedef struct {
    int state;
} fake;

static wkb dup_line(int which)
{
    switch (which) {
    case 1:
        return line(117.10, 34.20, 117.11, 34.21);
    case 2:
        return line(117.20, 34.30, 117.22, 34.31);
    default:
        return line(117.30, 34.40, 117.33, 34.41);
    }
}

/* Roads of each state: which line each "R-D" has, in layer order. */
static const int fake_roads[][3] = {
    {0},       /* 0: nothing at all */
    {1, 2, 0}, /* 1 */
    {1, 3, 0}, /* 2: the second moved */
    {2, 1, 0}, /* 3: the two swapped */
    {2, 0},    /* 4: the first removed */
    {1, 2, 0}, /* 5: as 1, the empty water feature renamed */
};

static zs_status fake_version(void *impl, int64_t *out, zs_error *err)
{
    (void)err;
    *out = 100 + ((fake *)impl)->state;
    return ZS_OK;
}

static zs_status fake_layer(void *impl, layer_id layer, store_row_fn fn, void *ctx, zs_error *err)
{
    (void)err;
    const fake *f = impl;
    if (f->state == 0) return ZS_OK;
    row_values r;
    if (layer == LAYER_ROADS) {
        for (int i = 0; fake_roads[f->state][i]; i++) {
            rv_init(&r, layer, "R-D");
            rv_text(&r, "road_class", "minor");
            wkb g = dup_line(fake_roads[f->state][i]);
            store_row row = {r.v, 1, g.b, g.n};
            fn(&row, ctx);
        }
    } else if (layer == LAYER_WATER) {
        rv_init(&r, layer, "W-E");
        rv_text(&r, "name_zh", f->state == 5 ? "新" : "旧");
        wkb g = empty_polygon();
        store_row row = {r.v, 1, g.b, g.n};
        fn(&row, ctx);
    }
    return ZS_OK;
}

static zs_status fake_photos(void *impl, store_photo_fn fn, void *ctx, zs_error *err)
{
    (void)impl, (void)fn, (void)ctx, (void)err;
    return ZS_OK;
}

static zs_status fake_boards(void *impl, store_board_fn fn, void *ctx, zs_error *err)
{
    (void)impl, (void)fn, (void)ctx, (void)err;
    return ZS_OK;
}

static const source_ops fake_ops = {
    "fake", fake_version, fake_layer, fake_photos, fake_boards, NULL, NULL,
};

static digest *fake_digest(fake *f, int state, snapshot **snap)
{
    f->state = state;
    zs_error err = {0};
    source *src;
    CHECK_INT(source_create(&fake_ops, f, &src, &err), ZS_OK);
    snapshot *s = NULL;
    zs_status ls = snapshot_load(src, &s, &err);
    if (ls) {
        fprintf(stderr, "fake snapshot: %s\n", err.msg);
        exit(1);
    }
    source_close(src);
    digest *d = build(s);
    if (snap)
        *snap = s;
    else
        snapshot_release(s);
    return d;
}

static void check_fake(void)
{
    fake f = {0};
    snapshot *s1;
    digest *d0 = fake_digest(&f, 0, NULL);
    digest *d1 = fake_digest(&f, 1, &s1);
    digest *d2 = fake_digest(&f, 2, NULL);
    digest *d3 = fake_digest(&f, 3, NULL);
    digest *d4 = fake_digest(&f, 4, NULL);
    digest *d5 = fake_digest(&f, 5, NULL);
    CHECK_INT(digest_count(d0), 0);
    CHECK_INT(digest_count(d1), 3);
    CHECK_INT(digest_count(d4), 2);

    const snap_layer *roads = snapshot_layer(s1, LAYER_ROADS);
    const snap_layer *water = snapshot_layer(s1, LAYER_WATER);
    CHECK_INT(roads->nfeatures, 2);
    CHECK_INT(water->nfeatures, 1);
    CHECK_INT(water->features[0].geom, SNAP_GEOM_EMPTY);
    CHECK(isnan(water->features[0].bbox.minx));
    sidx_box l1 = roads->features[0].bbox, l2 = roads->features[1].bbox;
    CHECK(!same_box(l1, l2));
    /* line 3's box, from a digest that has it: state 2 against nothing */
    sidx_box *all;
    size_t n;
    zs_error err = {0};
    CHECK_INT(digest_diff(d0, d2, &all, &n, &err), ZS_OK);
    CHECK_INT(n, 2); /* the empty feature adds no box */
    sidx_box l3 = n == 2 ? (same_box(all[0], l1) ? all[1] : all[0]) : l1;
    free(all);

    check_no_diff(d1, d5); /* only the empty feature changed: nothing drawn */
    check_diff(d1, d2, l2, l3);
    check_diff(d1, d3, l1, l2, l2, l1); /* the k-th "R-D" is compared with the k-th */
    check_diff(d1, d4, l1, l2, l2);
    check_diff(d4, d1, l2, l1, l2);
    check_diff(d0, d1, l1, l2);
    check_diff(d1, d0, l1, l2);
    check_no_diff(d0, d0);

    digest *ds[] = {d0, d1, d2, d3, d4, d5};
    for (size_t i = 0; i < 6; i++)
        digest_free(ds[i]);
    snapshot_release(s1);
}

/* ---- the file ------------------------------------------------------------------------------ */

static void check_error_at(int line_no, zs_status got, zs_status want, const zs_error *err,
                           const char *path, const char *part)
{
    if (got != want) {
        fprintf(stderr, "line %d: status %d, expected %d (%s)\n", line_no, (int)got, (int)want,
                got ? err->msg : "");
        test_failures++;
        return;
    }
    if (!strstr(err->msg, path) || !strstr(err->msg, part)) {
        fprintf(stderr, "line %d: message '%s' lacks '%s' or '%s'\n", line_no, err->msg, path,
                part);
        test_failures++;
    }
}
#define check_error(got, want, err, path, part) check_error_at(__LINE__, got, want, err, path, part)

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 20);
    *len = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

static void spit(const char *path, const void *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

/* Loading path fails with want and a message naming it and holding part. */
static void check_bad_at(int line_no, const char *path, zs_status want, const char *part)
{
    zs_error err = {0};
    digest *d = (digest *)1;
    zs_status st = digest_load(path, &d, &err);
    check_error_at(line_no, st, want, &err, path, part);
    CHECK(d == NULL);
}
#define check_bad(path, want, part) check_bad_at(__LINE__, path, want, part)

static void check_file(const char *dir, const history *h, const digest *empty)
{
    char path[300], tmp[310], bad[300];
    snprintf(path, sizeof path, "%s/tiles.digest", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(bad, sizeof bad, "%s/bad.digest", dir);
    zs_error err = {0};
    const digest *d5 = h->d[5];

    /* round trip */
    CHECK_INT(digest_save(d5, path, &err), ZS_OK);
    CHECK(access(tmp, F_OK) != 0);
    digest *back = NULL;
    zs_status ls = digest_load(path, &back, &err);
    CHECK_INT(ls, ZS_OK);
    if (ls) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_INT(digest_count(back), digest_count(d5));
    CHECK_INT(digest_data_version(back), digest_data_version(d5));
    check_no_diff(back, d5);
    check_no_diff(d5, back);
    check_diff(back, h->d[3], bbox_of(h->s[5], LAYER_ROADS, "R-1"));
    digest_free(back);

    /* saved over: the file now holds the other digest */
    CHECK_INT(digest_save(h->d[0], path, &err), ZS_OK);
    CHECK_INT(digest_load(path, &back, &err), ZS_OK);
    CHECK_INT(digest_data_version(back), 1);
    check_no_diff(back, h->d[0]);
    digest_free(back);

    /* an empty digest: a header and a checksum */
    CHECK_INT(digest_save(empty, bad, &err), ZS_OK);
    size_t len = 0;
    unsigned char *b = slurp(bad, &len);
    CHECK_INT(len, 40);
    free(b);
    CHECK_INT(digest_load(bad, &back, &err), ZS_OK);
    CHECK_INT(digest_count(back), 0);
    CHECK_INT(digest_data_version(back), 100);
    check_no_diff(back, empty);
    digest_free(back);

    /* the file of d5, damaged in each way */
    CHECK_INT(digest_save(d5, path, &err), ZS_OK);
    b = slurp(path, &len);
    CHECK_INT(len, 32 + 48 * digest_count(d5) + 8);
    CHECK(memcmp(b, "ZSDIGEST", 8) == 0);

    spit(bad, b, len - 1);
    check_bad(bad, ZS_EINVAL, "is truncated");
    spit(bad, b, len - 48);
    check_bad(bad, ZS_EINVAL, "is truncated");
    spit(bad, b, 20);
    check_bad(bad, ZS_EINVAL, "is truncated");
    spit(bad, b, 5);
    check_bad(bad, ZS_EINVAL, "is truncated");
    spit(bad, b, 0);
    check_bad(bad, ZS_EINVAL, "is truncated");

    unsigned char *c = malloc(len + 8);
    memcpy(c, b, len);
    memset(c + len, 0, 8);
    spit(bad, c, len + 8);
    check_bad(bad, ZS_EINVAL, "bytes after its");

    for (size_t at = 16; at < len; at += 41) { /* version, records, checksum */
        if (at >= 24 && at < 32) continue;     /* the count: a size mismatch instead */
        memcpy(c, b, len);
        c[at] ^= 0x10;
        spit(bad, c, len);
        check_bad(bad, ZS_EINVAL, "checksum mismatch");
    }
    memcpy(c, b, len);
    c[len - 1] ^= 1;
    spit(bad, c, len);
    check_bad(bad, ZS_EINVAL, "checksum mismatch");

    memcpy(c, b, len);
    c[8] = 3; /* a later format */
    spit(bad, c, len);
    check_bad(bad, ZS_EINVAL, "format 3");

    memcpy(c, b, len);
    memcpy(c, "SQLite format 3", 16);
    spit(bad, c, len);
    check_bad(bad, ZS_EINVAL, "is not a zsmap digest");
    spit(bad, "ZSDIGESX", 8);
    check_bad(bad, ZS_EINVAL, "is not a zsmap digest");
    check_bad(dir, ZS_EINVAL, "is not a zsmap digest");
    free(c);
    free(b);
    unlink(bad);

    /* missing */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.digest", dir);
    check_bad(missing, ZS_ENOTFOUND, "does not exist");

    /* a folder that does not exist: nothing written */
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/tiles.digest", dir);
    check_error(digest_save(d5, nodir, &err), ZS_EIO, &err, nodir, "cannot write digest");

    unlink(path);
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(void)
{
    uint16_t one = 1;
    if (*(unsigned char *)&one != 1) {
        fprintf(stderr, "this test writes WKB assuming a little-endian machine\n");
        return 77; /* skipped */
    }
    char dir[] = "/tmp/zs_digest_XXXXXX";
    if (!mkdtemp(dir)) return 2;
    char path[256];
    snprintf(path, sizeof path, "%s/store.sqlite", dir);

    zs_error err = {0};
    store *st;
    if (store_open(path, true, &st, &err)) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return 1;
    }
    history h = {{NULL}, {NULL}};
    check_steps(st, &h);
    store_close(st);

    check_fake();

    fake f = {0};
    digest *empty = fake_digest(&f, 0, NULL);
    check_file(dir, &h, empty);
    digest_free(empty);

    /* timing: informative only */
    double t0 = now_ms();
    int diffs = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            sidx_box *b = NULL;
            size_t n = 0;
            CHECK_INT(digest_diff(h.d[i], h.d[j], &b, &n, &err), ZS_OK);
            free(b);
            diffs++;
        }
    fprintf(stderr, "digest: %d builds in %.3f ms, %d diffs in %.3f ms\n", builds, build_ms, diffs,
            now_ms() - t0);

    for (int i = 0; i < 6; i++) {
        digest_free(h.d[i]);
        snapshot_release(h.s[i]);
    }
    digest_free(NULL);
    remove_store(path, dir);
    TEST_DONE();
}
