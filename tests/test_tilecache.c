/* The tile cache: memory LRU with exact counts; tiles survive close and
 * open with their ETags; another data version or style hash empties a file;
 * stale puts are ignored; tilecache_advance drops exactly the tiles within
 * reach of a change (checked against the test's own tile maths, near the
 * edges, at several zooms, in memory and on disk, with puts still queued);
 * foreign files are refused and left alone; the files are MBTiles that
 * SQLite and GDAL read; and four threads can get and put through advances. */
#include "test.h"
#include "tilecache.h"
#include "tilepng.h"

#include <sqlite3.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char tmpdir[64];
static bool have_gdal;

/* Half the world's width in EPSG:3857 metres: the test's own tile maths. */
#define WORLD 20037508.342789244

static void path_in_tmp(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static tc_key key(const char *style, uint64_t hash, const char *variant, int z, uint32_t x,
                  uint32_t y)
{
    return (tc_key){.style = style, .style_hash = hash, .variant = variant, .t = {z, x, y}};
}

/* Tile bytes that name the key and the data version they were "rendered"
 * from: "style|hash|variant|z|x|y|version|" then filler up to len. */
static hblob *tile_blob(const tc_key *k, int64_t version, size_t len)
{
    char head[1400]; /* a 64-byte style and a 1023-byte variant fit */
    int n = snprintf(head, sizeof head, "%s|%llx|%s|%d|%u|%u|%lld|", k->style,
                     (unsigned long long)k->style_hash, k->variant, k->t.z, (unsigned)k->t.x,
                     (unsigned)k->t.y, (long long)version);
    if (len < (size_t)n) len = (size_t)n;
    unsigned char *data = malloc(len);
    if (!data) return NULL;
    memcpy(data, head, (size_t)n);
    for (size_t i = (size_t)n; i < len; i++)
        data[i] = (unsigned char)(i * 13 + k->t.x);
    return hblob_create(data, len, 't');
}

/* The data version a blob made by tile_blob names, or -1 when it names
 * another key. */
static long long blob_version(hblob *b, const tc_key *k)
{
    size_t len;
    const unsigned char *d = hblob_data(b, &len);
    char head[1400];
    int n = snprintf(head, sizeof head, "%s|%llx|%s|%d|%u|%u|", k->style,
                     (unsigned long long)k->style_hash, k->variant, k->t.z, (unsigned)k->t.x,
                     (unsigned)k->t.y);
    if (len <= (size_t)n || memcmp(d, head, (size_t)n) != 0) return -1;
    char num[24] = "";
    size_t i = 0;
    while (i + 1 < sizeof num && (size_t)n + i < len && d[n + i] != '|') {
        num[i] = (char)d[n + i];
        i++;
    }
    char *end;
    long long v = strtoll(num, &end, 10);
    return *end == '\0' && i > 0 ? v : -1;
}

/* The first column of every row of sql on the file at path, read-only, as
 * text, one row a line, into out. Returns the number of rows, -1 on error. */
static int sql_rows(const char *path, const char *sql, char *out, size_t n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    out[0] = '\0';
    int rows = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
        size_t used = 0;
        int rc;
        rows = 0;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(q, 0);
            int w = snprintf(out + used, n - used, "%s\n", t ? (const char *)t : "NULL");
            if (w > 0 && (size_t)w < n - used) used += (size_t)w;
            rows++;
        }
        if (rc != SQLITE_DONE) rows = -1;
    }
    if (rows < 0) fprintf(stderr, "sql on %s failed: %s\n", path, db ? sqlite3_errmsg(db) : "");
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rows;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static tilecache *open_cache(const char *dir, size_t mem, int64_t version)
{
    tilecache_config cfg = {.dir = dir, .mem_bytes = mem, .data_version = version};
    tilecache *tc = NULL;
    zs_error err = {0};
    zs_status s = tilecache_open(&cfg, &tc, &err);
    if (s) fprintf(stderr, "tilecache_open: %s\n", err.msg);
    CHECK_INT(s, ZS_OK);
    return tc;
}

static tilecache_stats stats(tilecache *tc)
{
    tilecache_stats st;
    tilecache_get_stats(tc, &st);
    return st;
}

/* True when the cache has k; *from_disk says where from. */
static bool has(tilecache *tc, const tc_key *k, bool *from_disk)
{
    hblob *b = tilecache_get(tc, k, from_disk);
    hblob_release(b);
    return b != NULL;
}

/* ---- memory ---- */

static void test_memory(void)
{
    /* what one tile of 1000 bytes with this key length costs */
    tilecache *tc = open_cache(NULL, 1 << 20, 1);
    if (!tc) return;
    tc_key k = key("s", 1, "", 10, 0, 5);
    hblob *b = tile_blob(&k, 1, 1000);
    tilecache_put(tc, &k, 1, b);
    size_t cost = stats(tc).mem_bytes;
    CHECK_INT(stats(tc).mem_tiles, 1);
    CHECK(cost > 1000 && cost < 1400);
    bool from_disk = true;
    hblob *got = tilecache_get(tc, &k, &from_disk);
    CHECK(got == b); /* the same shared body */
    CHECK(!from_disk);
    hblob_release(got);
    hblob_release(b);
    tilecache_close(tc);

    /* room for exactly five such tiles */
    tc = open_cache(NULL, 5 * cost + cost / 2, 1);
    if (!tc) return;
    hblob *blobs[10];
    for (uint32_t x = 0; x < 8; x++) {
        k = key("s", 1, "", 10, x, 5);
        blobs[x] = tile_blob(&k, 1, 1000);
        tilecache_put(tc, &k, 1, blobs[x]);
    }
    tilecache_stats st = stats(tc);
    CHECK_INT(st.mem_tiles, 5);
    CHECK_INT(st.mem_bytes, 5 * cost);
    for (uint32_t x = 0; x < 8; x++) { /* 0-2 went, oldest first */
        k = key("s", 1, "", 10, x, 5);
        got = tilecache_get(tc, &k, NULL);
        CHECK(x < 3 ? got == NULL : got == blobs[x]);
        hblob_release(got);
    }
    /* used order now 3 4 5 6 7; touching 3 makes 4 the oldest */
    k = key("s", 1, "", 10, 3, 5);
    CHECK(has(tc, &k, NULL));
    k = key("s", 1, "", 10, 8, 5);
    blobs[8] = tile_blob(&k, 1, 1000);
    tilecache_put(tc, &k, 1, blobs[8]);
    k = key("s", 1, "", 10, 4, 5);
    CHECK(!has(tc, &k, NULL));
    k = key("s", 1, "", 10, 3, 5);
    CHECK(has(tc, &k, NULL));
    k = key("s", 1, "", 10, 5, 5);
    CHECK(has(tc, &k, NULL));
    st = stats(tc);
    CHECK_INT(st.mem_tiles, 5);
    CHECK_INT(st.mem_hits, 5 + 3);
    CHECK_INT(st.misses, 3 + 1);
    CHECK_INT(st.disk_hits, 0);

    /* a put of the same key replaces the body, no more tiles */
    k = key("s", 1, "", 10, 8, 5);
    blobs[9] = tile_blob(&k, 1, 1000);
    tilecache_put(tc, &k, 1, blobs[9]);
    got = tilecache_get(tc, &k, NULL);
    CHECK(got == blobs[9]);
    hblob_release(got);
    CHECK_INT(stats(tc).mem_tiles, 5);
    CHECK_INT(stats(tc).mem_bytes, 5 * cost);

    /* every part of the key counts */
    tc_key others[] = {
        key("s", 2, "", 10, 8, 5),  key("s", 1, "@2x", 10, 8, 5), key("t", 1, "", 10, 8, 5),
        key("s", 1, "", 11, 8, 5),  key("s", 1, "", 10, 9, 5),    key("s", 1, "", 10, 8, 6),
        key("s8", 1, "", 10, 8, 5),
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        CHECK(!has(tc, &others[i], NULL));

    /* a stale put, invalid keys and a tile bigger than the cache are not kept */
    size_t before = stats(tc).mem_tiles;
    uint64_t misses = stats(tc).misses;
    k = key("s", 1, "", 10, 20, 5);
    hblob *stale = tile_blob(&k, 0, 1000);
    tilecache_put(tc, &k, 0, stale);
    CHECK(!has(tc, &k, NULL));
    hblob_release(stale);
    char long_style[80], long_variant[1100];
    memset(long_style, 'a', 65);
    long_style[65] = '\0';
    memset(long_variant, 'v', 1024);
    long_variant[1024] = '\0';
    tc_key bad[] = {
        key("", 1, "", 3, 1, 1),
        key("a/b", 1, "", 3, 1, 1),
        key("../x", 1, "", 3, 1, 1),
        key("x.mbtiles", 1, "", 3, 1, 1),
        key("caf\xc3\xa9", 1, "", 3, 1, 1),
        key(long_style, 1, "", 3, 1, 1),
        key("s", 1, long_variant, 3, 1, 1),
        key("s", 1, "", 23, 1, 1),
        key("s", 1, "", 3, 8, 1),
        key("s", 1, "", 3, 1, 8),
        key("s", 1, "", -1, 0, 0),
        key(NULL, 1, "", 3, 1, 1),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hblob *x = tile_blob(&others[0], 1, 10);
        tilecache_put(tc, &bad[i], 1, x);
        CHECK(tilecache_get(tc, &bad[i], NULL) == NULL);
        hblob_release(x);
    }
    CHECK_INT(stats(tc).mem_tiles, before);
    CHECK_INT(stats(tc).misses, misses + 1); /* invalid keys are not counted */
    /* the longest names are fine */
    long_style[64] = '\0';
    long_variant[1023] = '\0';
    tc_key longest = key(long_style, 1, long_variant, 22, 4194303, 4194303);
    hblob *x = tile_blob(&longest, 1, 10);
    tilecache_put(tc, &longest, 1, x);
    CHECK(has(tc, &longest, NULL));
    hblob_release(x);
    k = key("s", 1, "", 10, 21, 5);
    hblob *huge = tile_blob(&k, 1, 6 * cost);
    tilecache_put(tc, &k, 1, huge);
    CHECK(!has(tc, &k, NULL));
    hblob_release(huge);
    CHECK(stats(tc).mem_bytes <= 5 * cost + cost / 2);
    tilecache_put(NULL, &k, 1, blobs[0]); /* a NULL cache is a no-op */
    CHECK(tilecache_get(NULL, &k, NULL) == NULL);
    tilecache_close(tc);
    tilecache_close(NULL);
    for (int i = 0; i < 10; i++)
        hblob_release(blobs[i]);
}

/* ---- disk ---- */

static const tile_coord disk_tiles[] = {
    {0, 0, 0}, {1, 1, 0}, {5, 3, 4}, {16, 54321, 12345}, {22, 4194303, 0}, {22, 0, 4194303},
};
#define NDISK (sizeof disk_tiles / sizeof disk_tiles[0])
#define HASH_A 0x0123456789abcdefull
#define HASH_B 0xfedcba9876543210ull

static void test_disk(void)
{
    char dir[128], path[256], out[4096], etags[NDISK][2][64];
    path_in_tmp(dir, sizeof dir, "disk");
    tilecache *tc = open_cache(dir, 0, 7); /* makes the folder */
    if (!tc) return;
    for (size_t i = 0; i < NDISK; i++)
        for (int v = 0; v < 2; v++) {
            tc_key k = key("base", HASH_A, v ? "@2x" : "", disk_tiles[i].z, disk_tiles[i].x,
                           disk_tiles[i].y);
            hblob *b = tile_blob(&k, 7, 100 + i * 37 + (size_t)v);
            snprintf(etags[i][v], sizeof etags[i][v], "%s", hblob_etag(b));
            tilecache_put(tc, &k, 7, b);
            hblob_release(b);
        }
    tc_key road = key("roads", HASH_B, "", 3, 2, 1);
    hblob *b = tile_blob(&road, 7, 0); /* header only */
    tilecache_put(tc, &road, 7, b);
    hblob_release(b);
    tilecache_flush(tc);
    CHECK_INT(stats(tc).disk_writes, 2 * NDISK + 1);
    CHECK_INT(stats(tc).disk_dropped, 0);
    CHECK_INT(stats(tc).disk_errors, 0);

    /* the `tiles` view: the plain tiles only, TMS rows */
    snprintf(path, sizeof path, "%s/base.mbtiles", dir);
    CHECK(file_exists(path));
    CHECK_INT(sql_rows(path,
                       "SELECT zoom_level || '/' || tile_column || '/' || tile_row FROM tiles"
                       " ORDER BY zoom_level, tile_column, tile_row",
                       out, sizeof out),
              NDISK);
    CHECK_STR(out, "0/0/0\n1/1/1\n5/3/27\n16/54321/53190\n22/0/0\n22/4194303/4194303\n");
    CHECK_INT(sql_rows(path, "SELECT count(*) FROM cache_tiles", out, sizeof out), 1);
    CHECK_INT(strtol(out, NULL, 10), 2 * NDISK);
    CHECK_INT(
        sql_rows(path, "SELECT count(*) FROM cache_tiles WHERE variant = '@2x'", out, sizeof out),
        1);
    CHECK_INT(strtol(out, NULL, 10), NDISK);
    /* the view's bytes are the plain tile's */
    CHECK_INT(sql_rows(path,
                       "SELECT substr(CAST(tile_data AS TEXT), 1, 20) FROM tiles"
                       " WHERE zoom_level = 5",
                       out, sizeof out),
              1);
    CHECK_STR(out, "base|123456789abcdef\n");
    CHECK_INT(
        sql_rows(path, "SELECT name || '=' || value FROM metadata ORDER BY name", out, sizeof out),
        10);
    CHECK_STR(out, "bounds=-180,-85.0511287798066,180,85.0511287798066\n"
                   "description=zsmap tile cache of the style base\n"
                   "format=png\nmaxzoom=22\nminzoom=0\nname=base\ntype=baselayer\nversion=1.3\n"
                   "zsmap_data_version=7\nzsmap_style_hash=0123456789abcdef\n");
    CHECK_INT(sql_rows(path, "PRAGMA application_id", out, sizeof out), 1);
    CHECK_STR(out, "1297105496\n"); /* "MPBX" */
    CHECK_INT(sql_rows(path, "PRAGMA journal_mode", out, sizeof out), 1);
    CHECK_STR(out, "wal\n");
    snprintf(path, sizeof path, "%s/roads.mbtiles", dir);
    CHECK_INT(sql_rows(path, "SELECT length(tile_data) FROM tiles", out, sizeof out), 1);
    tilecache_close(tc);

    /* back from disk, with the ETags they were put with */
    tc = open_cache(dir, 0, 7);
    if (!tc) return;
    for (size_t i = 0; i < NDISK; i++)
        for (int v = 0; v < 2; v++) {
            tc_key k = key("base", HASH_A, v ? "@2x" : "", disk_tiles[i].z, disk_tiles[i].x,
                           disk_tiles[i].y);
            bool from_disk = false;
            hblob *got = tilecache_get(tc, &k, &from_disk);
            CHECK(got != NULL);
            if (!got) continue;
            CHECK(from_disk);
            CHECK_STR(hblob_etag(got), etags[i][v]);
            size_t len;
            hblob_data(got, &len);
            CHECK_INT(len, 100 + i * 37 + (size_t)v);
            CHECK_INT(blob_version(got, &k), 7);
            hblob_release(got);
            got = tilecache_get(tc, &k, &from_disk); /* now from memory */
            CHECK(got != NULL && !from_disk);
            hblob_release(got);
        }
    bool from_disk = false;
    CHECK(has(tc, &road, &from_disk) && from_disk);
    tc_key never = key("base", HASH_A, "", 4, 1, 1), nofile = key("nostyle", 1, "", 1, 0, 0);
    CHECK(!has(tc, &never, NULL));
    CHECK(!has(tc, &nofile, NULL));
    tilecache_stats st = stats(tc);
    CHECK_INT(st.disk_hits, 2 * NDISK + 1);
    CHECK_INT(st.mem_hits, 2 * NDISK);
    CHECK_INT(st.misses, 2);
    CHECK_INT(st.mem_tiles, 2 * NDISK + 1);

    /* a put from another data version is neither kept nor written */
    tc_key stale = key("base", HASH_A, "", 4, 2, 2);
    b = tile_blob(&stale, 6, 50);
    tilecache_put(tc, &stale, 6, b);
    hblob_release(b);
    tilecache_flush(tc);
    CHECK(!has(tc, &stale, NULL));
    CHECK_INT(stats(tc).disk_writes, 0);
    tilecache_close(tc);
    snprintf(path, sizeof path, "%s/base.mbtiles", dir);
    CHECK_INT(sql_rows(path, "SELECT count(*) FROM cache_tiles", out, sizeof out), 1);
    CHECK_INT(strtol(out, NULL, 10), 2 * NDISK);

    /* another data version empties the files and restamps them */
    tc = open_cache(dir, 0, 8);
    if (!tc) return;
    tc_key first = key("base", HASH_A, "", 0, 0, 0);
    CHECK(!has(tc, &first, NULL));
    CHECK(!has(tc, &road, NULL));
    tilecache_close(tc);
    CHECK_INT(sql_rows(path, "SELECT count(*) FROM cache_tiles", out, sizeof out), 1);
    CHECK_STR(out, "0\n");
    CHECK_INT(sql_rows(path, "SELECT value FROM metadata WHERE name = 'zsmap_data_version'", out,
                       sizeof out),
              1);
    CHECK_STR(out, "8\n");
}

/* A file holds one style hash: another hash misses, and its first put
 * empties the file. */
static void test_style_hash(void)
{
    char dir[128], path[256], out[1024];
    path_in_tmp(dir, sizeof dir, "hash");
    snprintf(path, sizeof path, "%s/s.mbtiles", dir);
    tilecache *tc = open_cache(dir, 0, 1);
    if (!tc) return;
    tc_key a1 = key("s", HASH_A, "", 6, 10, 20), a2 = key("s", HASH_A, "@2x", 6, 11, 20);
    hblob *b = tile_blob(&a1, 1, 300), *b2 = tile_blob(&a2, 1, 300);
    tilecache_put(tc, &a1, 1, b);
    tilecache_put(tc, &a2, 1, b2);
    hblob_release(b);
    hblob_release(b2);
    tilecache_close(tc);

    tc = open_cache(dir, 0, 1);
    if (!tc) return;
    tc_key b1 = key("s", HASH_B, "", 6, 10, 20), bnew = key("s", HASH_B, "", 6, 12, 20);
    bool from_disk = true;
    CHECK(!has(tc, &b1, &from_disk)); /* same place, other hash */
    CHECK(!from_disk);
    CHECK(has(tc, &a1, &from_disk) && from_disk);
    b = tile_blob(&bnew, 1, 300);
    tilecache_put(tc, &bnew, 1, b);
    hblob_release(b);
    tilecache_flush(tc);
    CHECK_INT(sql_rows(path, "SELECT tile_column FROM cache_tiles", out, sizeof out), 1);
    CHECK_STR(out, "12\n");
    CHECK_INT(sql_rows(path, "SELECT value FROM metadata WHERE name = 'zsmap_style_hash'", out,
                       sizeof out),
              1);
    CHECK_STR(out, "fedcba9876543210\n");
    CHECK(has(tc, &a1, &from_disk) && !from_disk); /* memory keeps it: its key names its hash */
    CHECK(!has(tc, &a2, NULL));
    tilecache_close(tc);

    tc = open_cache(dir, 0, 1);
    if (!tc) return;
    CHECK(!has(tc, &a1, NULL));
    CHECK(has(tc, &bnew, &from_disk) && from_disk);
    tilecache_close(tc);
}

/* ---- advance ---- */

/* The test's reach: "gone" has no style any more, "wide" reaches far. */
static double test_reach(void *ctx, const char *style, uint64_t hash, int z)
{
    (void)hash;
    atomic_int *calls = ctx;
    if (calls) atomic_fetch_add(calls, 1);
    if (strcmp(style, "gone") == 0) return -1;
    if (strcmp(style, "wide") == 0) return 40.0 + z;
    return 6.0 + 0.5 * z;
}

static sidx_box tile_box(int z, uint32_t x, uint32_t y)
{
    double size = 2 * WORLD / (double)(1u << z);
    return (sidx_box){-WORLD + x * size, WORLD - (y + 1.0) * size, -WORLD + (x + 1.0) * size,
                      WORLD - y * size};
}

/* How far apart (metres) the extent of z/x/y grown by reach_px is from box:
 * > 0 apart, <= 0 meeting. */
static double separation(int z, uint32_t x, uint32_t y, double reach_px, sidx_box b)
{
    sidx_box t = tile_box(z, x, y);
    double g = reach_px * (2 * WORLD / (double)(1u << z)) / 256;
    double s = b.minx - (t.maxx + g);
    if ((t.minx - g) - b.maxx > s) s = (t.minx - g) - b.maxx;
    if (b.miny - (t.maxy + g) > s) s = b.miny - (t.maxy + g);
    if ((t.miny - g) - b.maxy > s) s = (t.miny - g) - b.maxy;
    return s;
}

#define ADV_MAX_TILES 4096
#define ADV_MAX_BOXES 64

typedef struct {
    tc_key k;
    bool touched;
} adv_tile;

static const char *const adv_styles[] = {"s", "s", "wide", "gone"};
static const char *const adv_variants[] = {"", "@2x", "", ""};
static const int adv_zooms[] = {6, 9, 12, 14, 16};

/* The tiles around the box at each zoom, for each style, with whether the
 * change touches them by the test's own computation; and the count of
 * near-edge cases (within 1 m of the grown extent) kept and dropped. */
static size_t adv_tiles(adv_tile *tiles, const sidx_box *boxes, size_t nb, int near[2])
{
    sidx_box main_box = boxes[0];
    size_t n = 0;
    near[0] = near[1] = 0;
    for (size_t zi = 0; zi < sizeof adv_zooms / sizeof adv_zooms[0]; zi++) {
        int z = adv_zooms[zi];
        double size = 2 * WORLD / (double)(1u << z);
        uint32_t x0 = (uint32_t)((main_box.minx + WORLD) / size) - 3,
                 x1 = (uint32_t)((main_box.maxx + WORLD) / size) + 3,
                 y0 = (uint32_t)((WORLD - main_box.maxy) / size) - 3,
                 y1 = (uint32_t)((WORLD - main_box.miny) / size) + 3;
        for (size_t si = 0; si < sizeof adv_styles / sizeof adv_styles[0]; si++)
            for (uint32_t x = x0; x <= x1; x++)
                for (uint32_t y = y0; y <= y1 && n < ADV_MAX_TILES; y++) {
                    adv_tile *t = &tiles[n++];
                    t->k = key(adv_styles[si], HASH_A, adv_variants[si], z, x, y);
                    double r = test_reach(NULL, adv_styles[si], HASH_A, z), best = INFINITY;
                    for (size_t i = 0; i < nb; i++) {
                        double s = separation(z, x, y, r, boxes[i]);
                        if (s < best) best = s;
                    }
                    t->touched = r < 0 || best <= 0;
                    if (r >= 0 && best > 0 && best < 1) near[0]++;
                    if (r >= 0 && best <= 0 && best > -1) near[1]++;
                }
    }
    return n;
}

/* A change box and, at z 9, 12 and 16, tiny probe boxes 0.25 m outside and
 * inside the grown extent of a tile of style "s" on each side. */
static size_t adv_boxes(sidx_box *boxes, size_t extra)
{
    size_t n = 0;
    sidx_box main_box = {1234567.0, 4567890.0, 1234567.0 + 3000, 4567890.0 + 2000};
    boxes[n++] = main_box;
    const int probe_z[] = {9, 12, 16};
    for (int i = 0; i < 3; i++) {
        int z = probe_z[i];
        double size = 2 * WORLD / (double)(1u << z), g = test_reach(NULL, "s", 0, z) * size / 256;
        uint32_t x = (uint32_t)((main_box.minx + WORLD) / size) - 2,
                 y = (uint32_t)((WORLD - main_box.maxy) / size) - 2;
        sidx_box t = tile_box(z, x, y);
        double ymid = (t.miny + t.maxy) / 2;
        /* east of x, y: out by 0.25 m; west of x, y - 1: in by 0.25 m; the
         * rows and columns are apart by more than the reach */
        boxes[n++] = (sidx_box){t.maxx + g + 0.25, ymid - 1, t.maxx + g + 0.5, ymid + 1};
        t = tile_box(z, x, y - 1);
        ymid = (t.miny + t.maxy) / 2;
        boxes[n++] = (sidx_box){t.minx - g - 0.5, ymid - 1, t.minx - g + 0.25, ymid + 1};
        /* north of x - 1, y: in by a micrometre (touching counts; exact
         * equality would test float rounding, not the cache) */
        t = tile_box(z, x - 1, y);
        double xmid = (t.minx + t.maxx) / 2;
        boxes[n++] = (sidx_box){xmid - 1, t.maxy + g - 1e-6, xmid + 1, t.maxy + g + 1};
    }
    /* far away: only to make the change big enough for the spatial index */
    for (size_t i = 0; i < extra && n < ADV_MAX_BOXES; i++)
        boxes[n++] = (sidx_box){-15e6 + i * 1000.0, -8e6, -15e6 + i * 1000.0 + 10, -8e6 + 10};
    return n;
}

/* Puts every tile, advances, and checks that exactly the touched tiles are
 * gone from memory and from disk. flush_first: with puts still queued when
 * the advance comes, they must be ordered right. */
static void advance_case(const char *name, size_t extra_boxes, bool flush_first)
{
    static adv_tile tiles[ADV_MAX_TILES];
    sidx_box boxes[ADV_MAX_BOXES];
    char dir[128];
    path_in_tmp(dir, sizeof dir, name);
    size_t nb = adv_boxes(boxes, extra_boxes);
    int near[2];
    size_t n = adv_tiles(tiles, boxes, nb, near);
    size_t touched = 0;
    for (size_t i = 0; i < n; i++)
        touched += tiles[i].touched;
    /* the case is worth something: both outcomes, and both near the edges */
    CHECK(touched > 10 && touched < n - 10);
    CHECK(near[0] >= 3);
    CHECK(near[1] >= 3);

    tilecache *tc = open_cache(dir, 0, 10);
    if (!tc) return;
    for (size_t i = 0; i < n; i++) {
        hblob *b = tile_blob(&tiles[i].k, 10, 64);
        tilecache_put(tc, &tiles[i].k, 10, b);
        hblob_release(b);
    }
    if (flush_first) tilecache_flush(tc);
    atomic_int calls = 0;
    zs_error err = {0};
    CHECK_INT(tilecache_advance(tc, 11, boxes, nb, test_reach, &calls, &err), ZS_OK);
    CHECK(atomic_load(&calls) > 0);
    tilecache_stats st = stats(tc);
    CHECK_INT(st.data_version, 11);
    CHECK_INT(st.mem_tiles, n - touched);
    CHECK_INT(st.dropped, 2 * touched); /* memory and disk */
    CHECK_INT(st.disk_writes, n);       /* the queued puts were written first */
    /* a put still carrying the old version is ignored */
    hblob *b = tile_blob(&tiles[0].k, 10, 64);
    tilecache_put(tc, &tiles[0].k, 10, b);
    hblob_release(b);
    int wrong = 0;
    for (size_t i = 0; i < n; i++) {
        bool from_disk = true;
        hblob *got = tilecache_get(tc, &tiles[i].k, &from_disk);
        if ((got != NULL) == tiles[i].touched || (got && from_disk)) {
            if (wrong++ < 10)
                fprintf(stderr, "%s: memory: %s %d/%u/%u%s: %s\n", name, tiles[i].k.style,
                        tiles[i].k.t.z, (unsigned)tiles[i].k.t.x, (unsigned)tiles[i].k.t.y,
                        tiles[i].k.variant, got ? "kept" : "dropped");
        }
        hblob_release(got);
    }
    CHECK_INT(wrong, 0);
    tilecache_close(tc);

    /* the disk alone */
    tc = open_cache(dir, 0, 11);
    if (!tc) return;
    wrong = 0;
    for (size_t i = 0; i < n; i++) {
        bool from_disk = false;
        hblob *got = tilecache_get(tc, &tiles[i].k, &from_disk);
        if ((got != NULL) == tiles[i].touched || (got && !from_disk) ||
            (got && blob_version(got, &tiles[i].k) != 10)) {
            if (wrong++ < 10)
                fprintf(stderr, "%s: disk: %s %d/%u/%u%s: %s\n", name, tiles[i].k.style,
                        tiles[i].k.t.z, (unsigned)tiles[i].k.t.x, (unsigned)tiles[i].k.t.y,
                        tiles[i].k.variant, got ? "kept" : "dropped");
        }
        hblob_release(got);
    }
    CHECK_INT(wrong, 0);
    CHECK_INT(stats(tc).disk_hits, n - touched);

    /* NULL drops everything, in memory and on disk */
    zs_error e2 = {0};
    uint64_t dropped = stats(tc).dropped;
    CHECK_INT(tilecache_advance(tc, 12, NULL, 0, NULL, NULL, &e2), ZS_OK);
    CHECK_INT(stats(tc).mem_tiles, 0);
    CHECK_INT(stats(tc).dropped - dropped, 2 * (n - touched));
    tilecache_close(tc);
    tc = open_cache(dir, 0, 12);
    if (!tc) return;
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        left += has(tc, &tiles[i].k, NULL);
    CHECK_INT(left, 0);
    tilecache_close(tc);
}

static void test_advance(void)
{
    advance_case("adv_brute", 0, true);   /* few boxes: tested one by one */
    advance_case("adv_index", 40, false); /* many: the spatial index; puts still queued */

    /* memory only, and no box: nothing changes but the version */
    tilecache *tc = open_cache(NULL, 0, 1);
    if (!tc) return;
    tc_key k = key("s", 1, "", 3, 1, 1), g = key("gone", 1, "", 3, 1, 1);
    hblob *b = tile_blob(&k, 1, 10), *bg = tile_blob(&g, 1, 10);
    tilecache_put(tc, &k, 1, b);
    tilecache_put(tc, &g, 1, bg);
    zs_error err = {0};
    sidx_box none[1];
    CHECK_INT(tilecache_advance(tc, 2, none, 0, test_reach, NULL, &err), ZS_OK);
    CHECK(has(tc, &k, NULL));
    CHECK(!has(tc, &g, NULL)); /* its style is gone */
    CHECK_INT(stats(tc).dropped, 1);
    tilecache_put(tc, &k, 1, b); /* version 1 is past */
    CHECK_INT(stats(tc).mem_tiles, 1);
    CHECK_INT(tilecache_advance(tc, 3, none, 1, NULL, NULL, &err), ZS_EINVAL); /* no reach */
    hblob_release(b);
    hblob_release(bg);
    tilecache_close(tc);
}

/* ---- foreign files ---- */

static void expect_refused(const char *dir, const char *file, const char *msg_part)
{
    tilecache_config cfg = {.dir = dir, .data_version = 1};
    tilecache *tc = (tilecache *)&cfg;
    zs_error err = {0};
    zs_status s = tilecache_open(&cfg, &tc, &err);
    CHECK(s != ZS_OK);
    CHECK(tc == NULL);
    if (!strstr(err.msg, msg_part) || (file && !strstr(err.msg, file)))
        fprintf(stderr, "message: \"%s\"\n", err.msg);
    CHECK(strstr(err.msg, msg_part) != NULL);
    if (file) CHECK(strstr(err.msg, file) != NULL);
    if (s == ZS_OK) tilecache_close(tc);
}

static void test_foreign(void)
{
    char dir[128], path[256], out[256];
    static unsigned char junk[8192], back[8193];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 7 + 1);

    /* not SQLite: refused, named, untouched */
    path_in_tmp(dir, sizeof dir, "foreign1");
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/junk.mbtiles", dir);
    CHECK(write_file(path, junk, sizeof junk));
    expect_refused(dir, path, "not an SQLite file");
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(back, 1, sizeof back, f) : 0;
    if (f) fclose(f);
    CHECK(n == sizeof junk && memcmp(back, junk, n) == 0);

    /* SQLite but someone else's */
    path_in_tmp(dir, sizeof dir, "foreign2");
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/parks.mbtiles", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE metadata(name text, value text);"
                       " CREATE TABLE tiles(zoom_level integer, tile_column integer,"
                       " tile_row integer, tile_data blob);"
                       " INSERT INTO tiles VALUES(1, 0, 0, x'00')",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    expect_refused(dir, path, "no cache_tiles table");
    CHECK_INT(sql_rows(path, "SELECT count(*) FROM tiles", out, sizeof out), 1);
    CHECK_STR(out, "1\n");
    CHECK_INT(sql_rows(path, "PRAGMA journal_mode", out, sizeof out), 1);
    CHECK_STR(out, "delete\n");

    /* files that are not <style>.mbtiles are not ours to judge; an empty
     * <style>.mbtiles (a cache made and killed before its schema) is taken */
    path_in_tmp(dir, sizeof dir, "foreign3");
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/My Map.mbtiles", dir);
    CHECK(write_file(path, junk, sizeof junk));
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    CHECK(write_file(path, junk, 10));
    snprintf(path, sizeof path, "%s/empty.mbtiles", dir);
    CHECK(write_file(path, "", 0));
    tilecache *tc = open_cache(dir, 0, 1);
    if (tc) {
        tc_key k = key("empty", 1, "", 2, 1, 1);
        hblob *b = tile_blob(&k, 1, 10);
        tilecache_put(tc, &k, 1, b);
        hblob_release(b);
        tilecache_close(tc);
        CHECK_INT(sql_rows(path, "SELECT count(*) FROM cache_tiles", out, sizeof out), 1);
        CHECK_STR(out, "1\n");
    }
    snprintf(path, sizeof path, "%s/My Map.mbtiles", dir);
    f = fopen(path, "rb");
    n = f ? fread(back, 1, sizeof back, f) : 0;
    if (f) fclose(f);
    CHECK(n == sizeof junk && memcmp(back, junk, n) == 0);

    /* folders that cannot be */
    path_in_tmp(dir, sizeof dir, "no/such/folder");
    expect_refused(dir, dir, "cannot make the tile cache folder");
    path_in_tmp(dir, sizeof dir, "foreign3/notes.txt");
    expect_refused(dir, dir, "is not a folder");
}

/* ---- GDAL ---- */

/* Four z 1 tiles with colours naming them, and junk @2x variants that the
 * `tiles` view must hide; GDAL reads each colour at its place (which also
 * proves the TMS flip). */
static void test_gdal(void)
{
    if (!have_gdal) {
        printf("gdalinfo not found: skipping the GDAL check\n");
        return;
    }
    char dir[128], path[256], cmd[512], out[8192];
    path_in_tmp(dir, sizeof dir, "gdal");
    tilecache *tc = open_cache(dir, 0, 1);
    if (!tc) return;
    static uint32_t img[256 * 256];
    for (uint32_t x = 0; x < 2; x++)
        for (uint32_t y = 0; y < 2; y++) {
            for (int i = 0; i < 256 * 256; i++)
                img[i] = 0xff000000u | (50 * x + 20) << 16 | (50 * y + 20) << 8 | 7;
            unsigned char *png = NULL;
            size_t len = 0;
            zs_error err = {0};
            CHECK_INT(tilepng_encode(img, 256, 256, 1024, TILEPNG_DEFAULTS, &png, &len, &err),
                      ZS_OK);
            tc_key k = key("g", 5, "", 1, x, y), k2 = key("g", 5, "@2x", 1, x, y);
            hblob *b = hblob_create(png, len, 't'), *j = tile_blob(&k2, 1, 100);
            tilecache_put(tc, &k, 1, b);
            tilecache_put(tc, &k2, 1, j);
            hblob_release(b);
            hblob_release(j);
        }
    tilecache_close(tc);
    snprintf(path, sizeof path, "%s/g.mbtiles", dir);
    snprintf(cmd, sizeof cmd, "gdalinfo '%s' 2>&1", path);
    int rc = test_run(cmd, out, sizeof out);
    bool driver = strstr(out, "Driver: MBTiles/MBTiles") != NULL;
    bool sized = strstr(out, "Size is 1073741824, 1073741824") != NULL; /* z 22, the world */
    CHECK_INT(rc, 0);
    CHECK(driver);
    CHECK(sized);
    if (rc != 0 || !driver || !sized) fprintf(stderr, "gdalinfo said:\n%s\n", out);
    /* overview 21 of 22 is z 1; locations are in full-resolution pixels */
    for (uint32_t x = 0; x < 2; x++)
        for (uint32_t y = 0; y < 2; y++) {
            snprintf(cmd, sizeof cmd, "gdallocationinfo -overview 21 -valonly '%s' %u %u 2>&1",
                     path, (2 * x + 1) << 28, (2 * y + 1) << 28);
            CHECK_INT(test_run(cmd, out, sizeof out), 0);
            char want[64];
            snprintf(want, sizeof want, "%u\n%u\n7\n255\n", 50 * x + 20, 50 * y + 20);
            if (strcmp(out, want) != 0) fprintf(stderr, "at tile 1/%u/%u:\n", x, y);
            CHECK_STR(out, want);
        }
}

/* ---- threads ---- */

#define CC_THREADS 4
#define CC_KEYS (2 * 2 * 16 * 16)

static atomic_llong cc_version;
static atomic_llong cc_touched[CC_KEYS]; /* the last version whose advance touched the key */
static atomic_bool cc_stop;

typedef struct {
    tilecache *tc;
    unsigned seed;
    long gets, hits, wrong, stale;
} cc_worker;

static tc_key cc_key(int i)
{
    static const char *const styles[] = {"a", "b"}, *const variants[] = {"", "@2x"};
    return key(styles[i & 1], HASH_A, variants[(i >> 1) & 1], 10, 500 + (uint32_t)((i >> 2) & 15),
               300 + (uint32_t)((i >> 6) & 15));
}

static void *cc_main(void *arg)
{
    cc_worker *w = arg;
    while (!atomic_load(&cc_stop)) {
        w->seed = w->seed * 1103515245u + 12345u;
        int i = (int)((w->seed >> 8) % CC_KEYS);
        tc_key k = cc_key(i);
        long long v0 = atomic_load(&cc_version), lt = atomic_load(&cc_touched[i]);
        hblob *b = tilecache_get(w->tc, &k, NULL);
        w->gets++;
        if (b) {
            w->hits++;
            long long v = blob_version(b, &k);
            if (v < 0) w->wrong++;
            /* a get after the advance that touched the key never sees older */
            if (lt <= v0 && v < lt) w->stale++;
            hblob_release(b);
        } else {
            b = tile_blob(&k, v0, 200 + (size_t)(w->seed & 1023));
            tilecache_put(w->tc, &k, v0, b);
            hblob_release(b);
        }
    }
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void test_threads(void)
{
    char dir[128];
    path_in_tmp(dir, sizeof dir, "threads");
    size_t cap = 100 * 1024; /* a few hundred tiles: evictions, disk reads */
    tilecache *tc = open_cache(dir, cap, 1);
    if (!tc) return;
    atomic_store(&cc_version, 1);
    atomic_store(&cc_stop, false);
    for (int i = 0; i < CC_KEYS; i++)
        atomic_store(&cc_touched[i], 0);
    pthread_t th[CC_THREADS];
    cc_worker w[CC_THREADS];
    for (int i = 0; i < CC_THREADS; i++) {
        w[i] = (cc_worker){.tc = tc, .seed = 77u * (unsigned)i + 1};
        CHECK(pthread_create(&th[i], NULL, cc_main, &w[i]) == 0);
    }
    /* advances over the left half of the keys' tiles, then over all */
    sidx_box left = tile_box(10, 500, 300);
    sidx_box right_edge = tile_box(10, 507, 315);
    left.maxx = right_edge.minx + 1;
    left.miny = right_edge.miny;
    int rounds = 0;
    for (long long v = 2; v <= 5; v++) {
        sleep_ms(150);
        zs_error err = {0};
        zs_status s;
        /* mark first: a get that reads cc_version >= v must see the drop */
        for (int i = 0; i < CC_KEYS; i++) {
            tc_key k = cc_key(i);
            double r = test_reach(NULL, k.style, k.style_hash, k.t.z);
            if (v == 5 || separation(k.t.z, k.t.x, k.t.y, r, left) <= 0)
                atomic_store(&cc_touched[i], v);
        }
        s = tilecache_advance(tc, v, v == 5 ? NULL : &left, 1, test_reach, NULL, &err);
        CHECK_INT(s, ZS_OK);
        atomic_store(&cc_version, v);
        rounds++;
    }
    sleep_ms(150);
    atomic_store(&cc_stop, true);
    long gets = 0, hits = 0, wrong = 0, stale = 0;
    for (int i = 0; i < CC_THREADS; i++) {
        pthread_join(th[i], NULL);
        gets += w[i].gets;
        hits += w[i].hits;
        wrong += w[i].wrong;
        stale += w[i].stale;
    }
    tilecache_flush(tc);
    tilecache_stats st = stats(tc);
    CHECK_INT(rounds, 4);
    CHECK(gets > 1000);
    CHECK_INT(wrong, 0);
    CHECK_INT(stale, 0);
    CHECK_INT((long long)(st.mem_hits + st.disk_hits + st.misses), gets);
    CHECK_INT((long long)(st.mem_hits + st.disk_hits), hits);
    CHECK(st.mem_bytes <= cap);
    CHECK(st.disk_hits > 0);
    CHECK(st.dropped > 0);
    CHECK_INT(st.data_version, 5);
    CHECK_INT(st.disk_errors, 0);
    printf("threads: %ld gets, %llu from memory, %llu from disk, %llu writes, %llu dropped, "
           "%llu writes dropped\n",
           gets, (unsigned long long)st.mem_hits, (unsigned long long)st.disk_hits,
           (unsigned long long)st.disk_writes, (unsigned long long)st.dropped,
           (unsigned long long)st.disk_dropped);
    tilecache_close(tc);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/tilecacheXXXXXX",
             base && strlen(base) < 40 ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    have_gdal = system("command -v gdalinfo >/dev/null 2>&1 && "
                       "command -v gdallocationinfo >/dev/null 2>&1") == 0;

    test_memory();
    test_disk();
    test_style_hash();
    test_advance();
    test_foreign();
    test_gdal();
    test_threads();

    if (!test_failures) {
        char cmd[128], out[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        test_run(cmd, out, sizeof out);
    } else
        fprintf(stderr, "files kept in %s\n", tmpdir);
    TEST_DONE();
}
