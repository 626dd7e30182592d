/* The store: schema creation, a forward migration that keeps the data,
 * upserts and the data version, refusal of files that are not ours. */
#include "store.h"
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Little-endian WKB of a lon/lat square (EPSG:4490). */
static size_t square_wkb(unsigned char *out, double lon, double lat, double side)
{
    double pts[5][2] = {
        {lon, lat}, {lon + side, lat}, {lon + side, lat + side}, {lon, lat + side}, {lon, lat}};
    size_t n = 0;
    out[n++] = 1;
    uint32_t type = 3, rings = 1, count = 5;
    memcpy(out + n, &type, 4), n += 4;
    memcpy(out + n, &rings, 4), n += 4;
    memcpy(out + n, &count, 4), n += 4;
    memcpy(out + n, pts, sizeof pts), n += sizeof pts;
    return n;
}

/* A park with only id, name and area set; the other fields absent. */
static zs_status put_park(store *st, const char *id, const char *name, double area, zs_error *err)
{
    const layer_info *info = layer_get(LAYER_PARKS);
    store_value v[32];
    for (size_t i = 0; i < info->nfields; i++)
        v[i] = (store_value){.null = true, .absent = true};
    v[0] = (store_value){.text = id};
    v[layer_field_index(info, "name_zh")] = (store_value){.text = name};
    v[layer_field_index(info, "area_m2")] = (store_value){.real = area};
    unsigned char wkb[128];
    size_t len = square_wkb(wkb, 117.18, 34.28, 0.01);
    return store_upsert(st, LAYER_PARKS, v, wkb, len, NULL, err);
}

typedef struct {
    int rows;
    char name[64];
    double area;
    int64_t version;
} park_seen;

static bool see_park(const store_row *row, void *ctx)
{
    park_seen *s = ctx;
    const layer_info *info = layer_get(LAYER_PARKS);
    s->rows++;
    snprintf(s->name, sizeof s->name, "%s", row->values[layer_field_index(info, "name_zh")].text);
    s->area = row->values[layer_field_index(info, "area_m2")].real;
    s->version = row->version;
    CHECK(row->wkb_len > 0);
    CHECK(row->values[layer_field_index(info, "enterprises")].null);
    return true;
}

static void test_create_and_migrate(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/m.sqlite", dir);
    zs_error err = {0};
    store *st = NULL;

    /* a store at schema version 1, with data */
    CHECK_INT(store_open_at(path, true, 1, &st, &err), ZS_OK);
    CHECK_INT(store_schema_version(st), 1);
    CHECK_INT(store_begin(st, &err), ZS_OK);
    CHECK_INT(put_park(st, "P01", "铜山高新产业园", 1234.5, &err), ZS_OK);
    CHECK_INT(store_commit(st, &err), ZS_OK);
    /* version 2 adds photos.thumb: not there yet */
    CHECK_INT(store_begin(st, &err), ZS_OK);
    store_photo photo = {"P01", "a.jpg", "a.thumb.jpg", "大门", 0};
    CHECK_INT(store_add_photo(st, &photo, &err), ZS_EDB);
    store_rollback(st);
    store_close(st);

    /* opening migrates forward and keeps the data */
    CHECK_INT(store_open(path, false, &st, &err), ZS_OK);
    CHECK_INT(store_schema_version(st), STORE_SCHEMA_VERSION);
    int64_t version = -1;
    CHECK_INT(store_data_version(st, &version, &err), ZS_OK);
    CHECK_INT(version, 1);
    park_seen seen = {0};
    CHECK_INT(store_read_layer(st, LAYER_PARKS, see_park, &seen, &err), ZS_OK);
    CHECK_INT(seen.rows, 1);
    CHECK_STR(seen.name, "铜山高新产业园");
    CHECK_NEAR(seen.area, 1234.5, 0);
    CHECK_INT(seen.version, 1);
    CHECK_INT(store_begin(st, &err), ZS_OK);
    CHECK_INT(store_add_photo(st, &photo, &err), ZS_OK);
    /* an update that leaves area absent keeps the stored area */
    const layer_info *info = layer_get(LAYER_PARKS);
    store_value v[32];
    for (size_t i = 0; i < info->nfields; i++)
        v[i] = (store_value){.null = true, .absent = true};
    v[0] = (store_value){.text = "P01"};
    v[1] = (store_value){.text = "铜山高新技术产业园"};
    unsigned char wkb[128];
    size_t len = square_wkb(wkb, 117.18, 34.28, 0.02);
    bool inserted = true;
    CHECK_INT(store_upsert(st, LAYER_PARKS, v, wkb, len, &inserted, &err), ZS_OK);
    CHECK(!inserted);
    CHECK_INT(store_commit(st, &err), ZS_OK);
    CHECK_INT(store_data_version(st, &version, &err), ZS_OK);
    CHECK_INT(version, 2);
    memset(&seen, 0, sizeof seen);
    CHECK_INT(store_read_layer(st, LAYER_PARKS, see_park, &seen, &err), ZS_OK);
    CHECK_STR(seen.name, "铜山高新技术产业园");
    CHECK_NEAR(seen.area, 1234.5, 0);
    CHECK_INT(seen.version, 2);
    int64_t photos = 0;
    CHECK_INT(store_count_photos(st, &photos, &err), ZS_OK);
    CHECK_INT(photos, 1);

    /* a rolled-back change leaves the data version and rows alone */
    CHECK_INT(store_begin(st, &err), ZS_OK);
    CHECK_INT(put_park(st, "P02", "临时", 1, &err), ZS_OK);
    store_rollback(st);
    int64_t parks = 0;
    CHECK_INT(store_count(st, LAYER_PARKS, &parks, &err), ZS_OK);
    CHECK_INT(parks, 1);
    CHECK_INT(store_data_version(st, &version, &err), ZS_OK);
    CHECK_INT(version, 2);

    /* constraint: a parcel naming a park that does not exist */
    const layer_info *pi = layer_get(LAYER_PARCELS);
    for (size_t i = 0; i < pi->nfields; i++)
        v[i] = (store_value){.null = true, .absent = true};
    v[0] = (store_value){.text = "L1"};
    v[layer_field_index(pi, "park")] = (store_value){.text = "P77"};
    CHECK_INT(store_begin(st, &err), ZS_OK);
    CHECK_INT(store_upsert(st, LAYER_PARCELS, v, wkb, len, NULL, &err), ZS_EINVAL);
    CHECK(strstr(err.msg, "P77") != NULL);
    store_rollback(st);
    store_close(st);
}

static void test_refuses_foreign_files(const char *dir)
{
    char path[512], cmd[1200];
    zs_error err = {0};
    store *st = NULL;

    snprintf(path, sizeof path, "%s/missing.sqlite", dir);
    CHECK_INT(store_open(path, false, &st, &err), ZS_ENOTFOUND);
    CHECK(st == NULL);
    CHECK(access(path, F_OK) != 0);

    snprintf(path, sizeof path, "%s/text.sqlite", dir);
    FILE *f = fopen(path, "w");
    fputs("not a database at all, just some text that is long enough to look like a header\n", f);
    fclose(f);
    CHECK(store_open(path, true, &st, &err) != ZS_OK);
    CHECK(strstr(err.msg, "not") != NULL);

    snprintf(path, sizeof path, "%s/other.sqlite", dir);
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'CREATE TABLE notes(x); INSERT INTO notes VALUES (1);'",
             path);
    CHECK_INT(system(cmd), 0);
    CHECK(store_open(path, true, &st, &err) != ZS_OK);
    CHECK(strstr(err.msg, "not a zsmap database") != NULL);

    snprintf(path, sizeof path, "%s/future.sqlite", dir);
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA user_version = 99;'", path);
    CHECK_INT(system(cmd), 0);
    CHECK(store_open(path, true, &st, &err) != ZS_OK);
    CHECK(strstr(err.msg, "newer") != NULL);
}

int main(void)
{
    char dir[] = "/tmp/zsmap-store-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_create_and_migrate(dir);
    test_refuses_foreign_files(dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    TEST_DONE();
}
