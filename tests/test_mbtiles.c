/* MBTiles: tiles and metadata survive close and reopen byte for byte, rows
 * are stored TMS-flipped (checked with the sqlite3 CLI), batches commit on
 * flush or close and survive kill -9, foreign files are refused, and GDAL's
 * MBTiles driver reads what we write. */
#include "mbtiles.h"
#include "test.h"
#include "tilepng.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];
static bool have_sqlite3, have_gdal;

static void path_in_tmp(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

/* One SQL query through the sqlite3 CLI, read-only; output in out. */
static int sql_cli(const char *db, const char *sql, char *out, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sqlite3 -readonly '%s' \"%s\" 2>&1", db, sql);
    return test_run(cmd, out, n);
}

/* Deterministic tile bytes for t (len depends on t; may be 0). */
static size_t tile_bytes(tile_coord t, unsigned char *buf, size_t cap)
{
    size_t len = ((size_t)t.z * 131 + t.x * 17 + t.y * 7) % cap;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 31 + t.z * 7 + t.x * 3 + t.y);
    return len;
}

static const tile_coord sample[] = {
    {0, 0, 0},     {1, 0, 0},          {1, 1, 0},        {1, 0, 1},        {3, 5, 2},
    {10, 1000, 3}, {16, 54321, 12345}, {22, 4194303, 0}, {22, 0, 4194303},
};
#define NSAMPLE (sizeof sample / sizeof sample[0])

static bool tile_matches(mbtiles *mb, tile_coord t)
{
    unsigned char want[4096], *got = NULL;
    size_t wlen = tile_bytes(t, want, sizeof want), glen = 0;
    zs_error err = {0};
    zs_status s = mbtiles_get(mb, t, &got, &glen, &err);
    bool ok = s == ZS_OK && got && glen == wlen && memcmp(got, want, wlen) == 0;
    if (!ok)
        fprintf(stderr, "tile %d/%u/%u: status %d, %s, %zu bytes for %zu\n", t.z, (unsigned)t.x,
                (unsigned)t.y, (int)s, got ? "present" : "absent", glen, wlen);
    free(got);
    return ok;
}

static void test_round_trip(void)
{
    char path[128];
    path_in_tmp(path, sizeof path, "a.mbtiles");
    mbtiles *mb = NULL;
    zs_error err = {0};
    CHECK_INT(mbtiles_open(path, &mb, &err), ZS_OK);
    if (!mb) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    unsigned char buf[4096];
    for (size_t i = 0; i < NSAMPLE; i++) {
        size_t len = tile_bytes(sample[i], buf, sizeof buf);
        CHECK_INT(mbtiles_put(mb, sample[i], buf, len, &err), ZS_OK);
    }
    CHECK_INT(mbtiles_set_metadata(mb, "name", "round trip", &err), ZS_OK);
    CHECK_INT(mbtiles_set_metadata(mb, "format", "png", &err), ZS_OK);
    CHECK_INT(mbtiles_set_metadata(mb, "format", "png", &err), ZS_OK); /* replaces */
    /* Reads see the open batch. */
    CHECK(tile_matches(mb, sample[4]));
    CHECK_INT(mbtiles_flush(mb, &err), ZS_OK);
    CHECK_INT(mbtiles_flush(mb, &err), ZS_OK); /* nothing open: fine */
    mbtiles_close(mb);

    CHECK_INT(mbtiles_open(path, &mb, &err), ZS_OK);
    if (!mb) return;
    for (size_t i = 0; i < NSAMPLE; i++) {
        CHECK(tile_matches(mb, sample[i]));
        bool present = false;
        CHECK_INT(mbtiles_has(mb, sample[i], &present, &err), ZS_OK);
        CHECK(present);
    }
    /* Missing tiles: absent, not an error. */
    tile_coord missing[] = {{2, 0, 0}, {1, 1, 1}, {22, 4194303, 4194303}, {3, 2, 5}};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        bool present = true;
        unsigned char *data = (unsigned char *)"x";
        size_t len = 9;
        CHECK_INT(mbtiles_has(mb, missing[i], &present, &err), ZS_OK);
        CHECK(!present);
        CHECK_INT(mbtiles_get(mb, missing[i], &data, &len, &err), ZS_OK);
        CHECK(data == NULL);
        CHECK_INT(len, 0);
    }
    /* Coordinates outside the pyramid. */
    tile_coord bad[] = {{23, 0, 0}, {-1, 0, 0}, {2, 4, 0}, {2, 0, 4}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool present;
        unsigned char *data;
        size_t len;
        CHECK_INT(mbtiles_put(mb, bad[i], buf, 3, &err), ZS_EINVAL);
        CHECK_INT(mbtiles_has(mb, bad[i], &present, &err), ZS_EINVAL);
        CHECK_INT(mbtiles_get(mb, bad[i], &data, &len, &err), ZS_EINVAL);
    }
    /* Replacing a tile keeps one row. */
    CHECK_INT(mbtiles_put(mb, sample[1], (const unsigned char *)"new", 3, &err), ZS_OK);
    CHECK_INT(mbtiles_flush(mb, &err), ZS_OK);
    unsigned char *data = NULL;
    size_t len = 0;
    CHECK_INT(mbtiles_get(mb, sample[1], &data, &len, &err), ZS_OK);
    CHECK(data && len == 3 && memcmp(data, "new", 3) == 0);
    free(data);
    mbtiles_close(mb);

    if (!have_sqlite3) return;
    /* The raw table: one row per tile, TMS row = 2^z - 1 - y. */
    char out[4096];
    CHECK_INT(sql_cli(path,
                      "SELECT zoom_level, tile_column, tile_row FROM tiles"
                      " ORDER BY zoom_level, tile_column, tile_row",
                      out, sizeof out),
              0);
    size_t rows = 0;
    for (char *line = out, *end; *line; line = end) {
        long v[3];
        char *p = line;
        for (int k = 0; k < 3; k++) {
            v[k] = strtol(p, &end, 10);
            p = *end == '|' ? end + 1 : end;
        }
        end = strchr(line, '\n');
        end = end ? end + 1 : line + strlen(line);
        bool known = false;
        for (size_t i = 0; i < NSAMPLE; i++)
            if (sample[i].z == v[0] && sample[i].x == (uint32_t)v[1] &&
                (1L << sample[i].z) - 1 - (long)sample[i].y == v[2])
                known = true;
        if (!known) fprintf(stderr, "unexpected row %ld|%ld|%ld in tiles\n", v[0], v[1], v[2]);
        CHECK(known);
        rows++;
    }
    CHECK_INT(rows, NSAMPLE);
    /* z 16, y 12345 is TMS row 53190; z 22 y 0 is row 4194303. */
    CHECK_INT(sql_cli(path, "SELECT tile_row FROM tiles WHERE zoom_level = 16", out, sizeof out),
              0);
    CHECK_STR(out, "53190\n");
    CHECK_INT(sql_cli(path, "SELECT tile_row FROM tiles WHERE zoom_level = 22 AND tile_column > 0",
                      out, sizeof out),
              0);
    CHECK_STR(out, "4194303\n");
    CHECK_INT(
        sql_cli(path, "SELECT name || '=' || value FROM metadata ORDER BY name", out, sizeof out),
        0);
    CHECK_STR(out, "format=png\nname=round trip\n");
    CHECK_INT(sql_cli(path, "PRAGMA application_id", out, sizeof out), 0);
    CHECK_STR(out, "1297105496\n"); /* 0x4d504258, "MPBX" */
    CHECK_INT(sql_cli(path, "PRAGMA journal_mode", out, sizeof out), 0);
    CHECK_STR(out, "wal\n");
}

/* A batch is invisible to other readers until flushed, and close flushes. */
static void test_batches(void)
{
    char path[128], out[256];
    path_in_tmp(path, sizeof path, "b.mbtiles");
    mbtiles *mb = NULL;
    zs_error err = {0};
    CHECK_INT(mbtiles_open(path, &mb, &err), ZS_OK);
    if (!mb) return;
    tile_coord t = {5, 3, 4};
    CHECK_INT(mbtiles_put(mb, t, (const unsigned char *)"abc", 3, &err), ZS_OK);
    if (have_sqlite3) {
        CHECK_INT(sql_cli(path, "SELECT count(*) FROM tiles", out, sizeof out), 0);
        CHECK_STR(out, "0\n");
    }
    CHECK_INT(mbtiles_flush(mb, &err), ZS_OK);
    if (have_sqlite3) {
        CHECK_INT(sql_cli(path, "SELECT count(*) FROM tiles", out, sizeof out), 0);
        CHECK_STR(out, "1\n");
    }
    tile_coord u = {5, 3, 5};
    CHECK_INT(mbtiles_put(mb, u, (const unsigned char *)"", 0, &err), ZS_OK); /* empty tile */
    mbtiles_close(mb);                                                        /* no flush */

    CHECK_INT(mbtiles_open(path, &mb, &err), ZS_OK);
    if (!mb) return;
    unsigned char *data = NULL;
    size_t len = 99;
    CHECK_INT(mbtiles_get(mb, u, &data, &len, &err), ZS_OK);
    CHECK(data != NULL); /* present, though empty */
    CHECK_INT(len, 0);
    free(data);
    mbtiles_close(mb);
}

/* A writer killed with SIGKILL keeps every flushed batch and none of the
 * open one; the file opens again and passes an integrity check. */
static void test_kill(void)
{
    char path[128];
    path_in_tmp(path, sizeof path, "kill.mbtiles");
    pid_t pid = fork();
    if (pid == 0) {
        mbtiles *mb = NULL;
        zs_error err = {0};
        if (mbtiles_open(path, &mb, &err)) _exit(3);
        unsigned char buf[4096];
        for (uint32_t i = 0; i < 300; i++) {
            tile_coord t = {12, i, 7};
            if (mbtiles_put(mb, t, buf, tile_bytes(t, buf, sizeof buf), &err)) _exit(4);
            if (i % 100 == 99 && i < 200 && mbtiles_flush(mb, &err)) _exit(5);
        }
        raise(SIGKILL); /* tiles 200-299 were never flushed */
        _exit(6);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    mbtiles *mb = NULL;
    zs_error err = {0};
    CHECK_INT(mbtiles_open(path, &mb, &err), ZS_OK);
    if (!mb) return;
    int present_count = 0, wrong = 0;
    for (uint32_t i = 0; i < 300; i++) {
        tile_coord t = {12, i, 7};
        bool present = false;
        CHECK_INT(mbtiles_has(mb, t, &present, &err), ZS_OK);
        present_count += present;
        if (present != (i < 200) || (present && !tile_matches(mb, t))) wrong++;
    }
    CHECK_INT(present_count, 200);
    CHECK_INT(wrong, 0);
    mbtiles_close(mb);
    if (have_sqlite3) {
        char out[256];
        CHECK_INT(sql_cli(path, "PRAGMA integrity_check", out, sizeof out), 0);
        CHECK_STR(out, "ok\n");
    }
}

static bool write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static void expect_refused(const char *path, const char *msg_part)
{
    mbtiles *mb = (mbtiles *)&mb;
    zs_error err = {0};
    zs_status s = mbtiles_open(path, &mb, &err);
    CHECK_INT(s, ZS_EDB);
    CHECK(mb == NULL);
    if (!strstr(err.msg, msg_part)) fprintf(stderr, "message: \"%s\"\n", err.msg);
    CHECK(strstr(err.msg, msg_part) != NULL);
    if (s == ZS_OK) mbtiles_close(mb);
}

static void test_foreign_files(void)
{
    char path[128], cmd[512], out[256];
    path_in_tmp(path, sizeof path, "not.mbtiles");
    static unsigned char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 7 + 1);
    CHECK(write_file(path, junk, sizeof junk));
    expect_refused(path, "not an MBTiles file (not an SQLite database)");
    /* The refused file is left as it was. */
    FILE *f = fopen(path, "rb");
    static unsigned char back[sizeof junk + 1];
    size_t n = f ? fread(back, 1, sizeof back, f) : 0;
    if (f) fclose(f);
    CHECK(n == sizeof junk && memcmp(back, junk, n) == 0);

    path_in_tmp(path, sizeof path, "nodir/x.mbtiles");
    mbtiles *mb = NULL;
    zs_error err = {0};
    CHECK_INT(mbtiles_open(path, &mb, &err), ZS_EIO);
    CHECK(strstr(err.msg, "cannot open") != NULL);

    if (!have_sqlite3) {
        printf("sqlite3 CLI not found: skipping foreign-schema and TMS checks\n");
        return;
    }
    path_in_tmp(path, sizeof path, "other.sqlite");
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'CREATE TABLE parks(id TEXT)'", path);
    CHECK_INT(test_run(cmd, out, sizeof out), 0);
    expect_refused(path, "has no 'metadata' table");

    path_in_tmp(path, sizeof path, "wrongcols.mbtiles");
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' 'CREATE TABLE metadata(name text, value text);"
             " CREATE TABLE tiles(z integer, x integer, y integer, data blob)'",
             path);
    CHECK_INT(test_run(cmd, out, sizeof out), 0);
    expect_refused(path, "table 'tiles' lacks MBTiles columns");

    path_in_tmp(path, sizeof path, "view.mbtiles");
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' 'CREATE TABLE metadata(name text, value text);"
             " CREATE TABLE map(zoom_level integer, tile_column integer, tile_row integer,"
             " tile_id text); CREATE TABLE images(tile_data blob, tile_id text);"
             " CREATE VIEW tiles AS SELECT zoom_level, tile_column, tile_row, tile_data"
             " FROM map JOIN images USING (tile_id)'",
             path);
    CHECK_INT(test_run(cmd, out, sizeof out), 0);
    expect_refused(path, "'tiles' is a view");

    /* Someone else's MBTiles without unique indexes: opened, indexes added,
     * so a second put replaces instead of duplicating. */
    path_in_tmp(path, sizeof path, "noindex.mbtiles");
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' 'CREATE TABLE metadata(name text, value text);"
             " CREATE TABLE tiles(zoom_level integer, tile_column integer, tile_row integer,"
             " tile_data blob)'",
             path);
    CHECK_INT(test_run(cmd, out, sizeof out), 0);
    CHECK_INT(mbtiles_open(path, &mb, &err), ZS_OK);
    if (!mb) return;
    tile_coord t = {2, 1, 1};
    CHECK_INT(mbtiles_put(mb, t, (const unsigned char *)"one", 3, &err), ZS_OK);
    CHECK_INT(mbtiles_put(mb, t, (const unsigned char *)"two", 3, &err), ZS_OK);
    CHECK_INT(mbtiles_set_metadata(mb, "name", "a", &err), ZS_OK);
    CHECK_INT(mbtiles_set_metadata(mb, "name", "b", &err), ZS_OK);
    mbtiles_close(mb);
    CHECK_INT(sql_cli(path, "SELECT count(*), max(tile_data) FROM tiles", out, sizeof out), 0);
    CHECK_STR(out, "1|two\n");
    CHECK_INT(sql_cli(path, "SELECT group_concat(value) FROM metadata", out, sizeof out), 0);
    CHECK_STR(out, "b\n");
}

/* A z 1-2 pyramid of real PNG tiles over the middle of the world; GDAL must
 * open it with the expected size and read the right colour at tile centres
 * (which also proves the TMS flip matches GDAL's reading). */
static void test_gdal(void)
{
    if (!have_gdal) {
        printf("gdalinfo not found: skipping the GDAL check\n");
        return;
    }
    char path[128], cmd[512], out[8192];
    path_in_tmp(path, sizeof path, "gdal.mbtiles");
    mbtiles *mb = NULL;
    zs_error err = {0};
    CHECK_INT(mbtiles_open(path, &mb, &err), ZS_OK);
    if (!mb) return;
    static uint32_t img[256 * 256];
    for (int z = 1; z <= 2; z++)
        for (uint32_t x = 0; x < (1u << z); x++)
            for (uint32_t y = 0; y < (1u << z); y++) {
                /* R and G name the tile, B a gradient (so RGB, not palette). */
                for (int py = 0; py < 256; py++)
                    for (int px = 0; px < 256; px++)
                        img[py * 256 + px] = 0xff000000u | (50 * x + 20 + 100 * (z - 1)) << 16 |
                                             (50 * y + 20) << 8 | (uint32_t)(px + py) / 4;
                unsigned char *png = NULL;
                size_t len = 0;
                CHECK_INT(tilepng_encode(img, 256, 256, 1024, TILEPNG_DEFAULTS, &png, &len, &err),
                          ZS_OK);
                CHECK_INT(mbtiles_put(mb, (tile_coord){z, x, y}, png, len, &err), ZS_OK);
                free(png);
            }
    /* Tiles x, y 1..2 at z 2: 90W-90E, 66.51326S-66.51326N. */
    CHECK_INT(mbtiles_set_metadata(mb, "name", "gdal test", &err), ZS_OK);
    CHECK_INT(mbtiles_set_metadata(mb, "format", "png", &err), ZS_OK);
    CHECK_INT(
        mbtiles_set_metadata(mb, "bounds", "-90,-66.51326044311186,90,66.51326044311186", &err),
        ZS_OK);
    CHECK_INT(mbtiles_set_metadata(mb, "minzoom", "1", &err), ZS_OK);
    CHECK_INT(mbtiles_set_metadata(mb, "maxzoom", "2", &err), ZS_OK);
    CHECK_INT(mbtiles_set_metadata(mb, "type", "baselayer", &err), ZS_OK);
    CHECK_INT(mbtiles_flush(mb, &err), ZS_OK);
    mbtiles_close(mb);

    snprintf(cmd, sizeof cmd, "gdalinfo '%s' 2>&1", path);
    int rc = test_run(cmd, out, sizeof out);
    CHECK_INT(rc, 0);
    bool sized = strstr(out, "Size is 512, 512") != NULL;
    bool driver = strstr(out, "Driver: MBTiles/MBTiles") != NULL;
    CHECK(driver);
    CHECK(sized);
    if (rc != 0 || !sized || !driver) fprintf(stderr, "gdalinfo said:\n%s\n", out);

    /* Centre of the z 2 tile (x, y) sits at pixel 256 (x - 1) + 128, 256 (y - 1) + 128. */
    for (uint32_t x = 1; x <= 2; x++)
        for (uint32_t y = 1; y <= 2; y++) {
            snprintf(cmd, sizeof cmd, "gdallocationinfo -valonly '%s' %u %u 2>&1", path,
                     256 * (x - 1) + 128, 256 * (y - 1) + 128);
            CHECK_INT(test_run(cmd, out, sizeof out), 0);
            char want[64];
            snprintf(want, sizeof want, "%u\n%u\n64\n255\n", 50 * x + 120, 50 * y + 20);
            if (strcmp(out, want) != 0) fprintf(stderr, "at tile 2/%u/%u:\n", x, y);
            CHECK_STR(out, want);
        }
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mbtilesXXXXXX", base && strlen(base) < 40 ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    have_sqlite3 = system("command -v sqlite3 >/dev/null 2>&1") == 0;
    have_gdal = system("command -v gdalinfo >/dev/null 2>&1 && "
                       "command -v gdallocationinfo >/dev/null 2>&1") == 0;

    test_round_trip();
    test_batches();
    test_kill();
    test_foreign_files();
    test_gdal();

    if (!test_failures) {
        char cmd[128], out[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        test_run(cmd, out, sizeof out);
    } else
        fprintf(stderr, "files kept in %s\n", tmpdir);
    TEST_DONE();
}
