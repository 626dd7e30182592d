#include "store.h"

#include <sqlite3.h>
#include <spatialite.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct store {
    sqlite3 *db;
    void *spatialite; /* SpatiaLite's per-connection cache */
    char *path;
    char *photo_dir;
    int schema_version;
    bool in_tx;
    /* Prepared statements reused across calls: an import runs a few per
     * feature, and preparing dominated the cost. */
    struct {
        char *sql;
        sqlite3_stmt *stmt;
    } cache[24];
};

/* ---- schema ---------------------------------------------------------------
 * Migrations are literal SQL and never change once released: migration N
 * takes a file at version N-1 to N. A field added to layer.c needs a new
 * migration that adds its column; store_open() checks they agree. */

static const char migration_1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta VALUES('data_version', '0');"
    "CREATE TABLE boards(name_zh TEXT PRIMARY KEY, name_en TEXT);"
    "CREATE TABLE imports(id INTEGER PRIMARY KEY, layer TEXT NOT NULL, source TEXT NOT NULL,"
    " source_layer TEXT, source_crs TEXT NOT NULL, features INTEGER NOT NULL,"
    " inserted INTEGER NOT NULL, updated INTEGER NOT NULL, repaired INTEGER NOT NULL,"
    " skipped INTEGER NOT NULL, imported_at TEXT NOT NULL, data_version INTEGER NOT NULL);"
#define CARRIER_COLUMNS                                                                            \
    "id TEXT PRIMARY KEY NOT NULL CHECK(length(id) > 0), name_zh TEXT, name_en TEXT,"              \
    " board TEXT REFERENCES boards(name_zh), address TEXT,"                                        \
    " status TEXT CHECK(status IN ('available','reserved','leased','under_construction')),"        \
    " industries TEXT, contact_name TEXT, contact_phone TEXT, updated_at TEXT NOT NULL,"           \
    " version INTEGER NOT NULL DEFAULT 1,"
    "CREATE TABLE parks(" CARRIER_COLUMNS
    " area_m2 REAL CHECK(area_m2 >= 0), enterprises INTEGER CHECK(enterprises >= 0),"
    " annual_tax_wan REAL, tax_class TEXT, description_zh TEXT, description_en TEXT);"
    "CREATE TABLE parcels(" CARRIER_COLUMNS " park TEXT REFERENCES parks(id),"
    " land_use TEXT CHECK(land_use IN"
    " ('industrial','commercial','residential','mixed','green','other')),"
    " area_m2 REAL CHECK(area_m2 >= 0), current_state TEXT, plot_ratio REAL CHECK(plot_ratio >= 0),"
    " price_wan_per_mu REAL CHECK(price_wan_per_mu >= 0));"
    "CREATE INDEX parcels_park ON parcels(park);"
    "CREATE TABLE buildings(" CARRIER_COLUMNS
    " kind TEXT NOT NULL CHECK(kind IN ('building','factory')), park TEXT REFERENCES parks(id),"
    " floors INTEGER CHECK(floors >= 0), height_m REAL CHECK(height_m >= 0),"
    " gross_area_m2 REAL CHECK(gross_area_m2 >= 0), vacant_area_m2 REAL CHECK(vacant_area_m2 >= 0),"
    " rent_yuan_m2_day REAL CHECK(rent_yuan_m2_day >= 0), length_m REAL CHECK(length_m >= 0),"
    " width_m REAL CHECK(width_m >= 0), clear_height_m REAL CHECK(clear_height_m >= 0),"
    " floor_load_t_m2 REAL CHECK(floor_load_t_m2 >= 0), power_kva REAL CHECK(power_kva >= 0),"
    " crane_t REAL CHECK(crane_t >= 0), rent_yuan_m2_month REAL CHECK(rent_yuan_m2_month >= 0));"
    "CREATE INDEX buildings_park ON buildings(park);"
    "CREATE TABLE boundary(id TEXT PRIMARY KEY NOT NULL, name_zh TEXT, name_en TEXT,"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE roads(id TEXT PRIMARY KEY NOT NULL, name_zh TEXT, name_en TEXT, road_class TEXT,"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE water(id TEXT PRIMARY KEY NOT NULL, name_zh TEXT, name_en TEXT,"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE photos(id INTEGER PRIMARY KEY, carrier_id TEXT NOT NULL, file TEXT NOT NULL,"
    " caption TEXT, sort INTEGER NOT NULL);"
    "CREATE INDEX photos_carrier ON photos(carrier_id, sort);"
    /* Carriers may be points (a building known by its address only). */
    "SELECT AddGeometryColumn('parks', 'geom', 4490, 'GEOMETRY', 'XY', 1);"
    "SELECT AddGeometryColumn('parcels', 'geom', 4490, 'GEOMETRY', 'XY', 1);"
    "SELECT AddGeometryColumn('buildings', 'geom', 4490, 'GEOMETRY', 'XY', 1);"
    "SELECT AddGeometryColumn('boundary', 'geom', 4490, 'MULTIPOLYGON', 'XY', 1);"
    "SELECT AddGeometryColumn('roads', 'geom', 4490, 'MULTILINESTRING', 'XY', 1);"
    "SELECT AddGeometryColumn('water', 'geom', 4490, 'MULTIPOLYGON', 'XY', 1);"
    "SELECT CreateSpatialIndex('parks', 'geom');"
    "SELECT CreateSpatialIndex('parcels', 'geom');"
    "SELECT CreateSpatialIndex('buildings', 'geom');"
    "SELECT CreateSpatialIndex('boundary', 'geom');"
    "SELECT CreateSpatialIndex('roads', 'geom');"
    "SELECT CreateSpatialIndex('water', 'geom');";

/* Thumbnails are made at import so that the server never scales a photo. */
static const char migration_2[] = "ALTER TABLE photos ADD COLUMN thumb TEXT;";

static const char *const migrations[STORE_SCHEMA_VERSION] = {migration_1, migration_2};

static pthread_once_t spatialite_once = PTHREAD_ONCE_INIT;

static void spatialite_start(void)
{
    spatialite_initialize();
}

static zs_status db_fail(store *st, zs_error *err, const char *what)
{
    return zs_fail(err, ZS_EDB, "database '%s': %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

static zs_status exec(store *st, const char *sql, zs_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        zs_fail(err, ZS_EDB, "database '%s': %s", st->path, msg ? msg : "failed");
        sqlite3_free(msg);
        return ZS_EDB;
    }
    return ZS_OK;
}

static zs_status prepare(store *st, const char *sql, sqlite3_stmt **stmt, zs_error *err)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return db_fail(st, err, "prepare");
    return ZS_OK;
}

/* A cached statement for sql, reset and unbound; borrowed, never finalize. */
static zs_status cached(store *st, const char *sql, sqlite3_stmt **stmt, zs_error *err)
{
    size_t n = sizeof st->cache / sizeof st->cache[0], i;
    for (i = 0; i < n && st->cache[i].sql; i++) {
        if (strcmp(st->cache[i].sql, sql) == 0) {
            *stmt = st->cache[i].stmt;
            sqlite3_reset(*stmt);
            sqlite3_clear_bindings(*stmt);
            return ZS_OK;
        }
    }
    if (i == n) return prepare(st, sql, stmt, err); /* full: caller finalizes */
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
        return db_fail(st, err, "prepare");
    st->cache[i].sql = strdup(sql);
    if (!st->cache[i].sql) {
        sqlite3_finalize(*stmt);
        return zs_fail(err, ZS_ENOMEM, "out of memory");
    }
    st->cache[i].stmt = *stmt;
    return ZS_OK;
}

/* Finishes with a statement from cached(): resets a cached one, finalizes
 * one prepared because the cache was full. */
static void release(store *st, sqlite3_stmt *stmt)
{
    for (size_t i = 0; i < sizeof st->cache / sizeof st->cache[0] && st->cache[i].sql; i++) {
        if (st->cache[i].stmt == stmt) {
            sqlite3_reset(stmt);
            return;
        }
    }
    sqlite3_finalize(stmt);
}

/* Runs a one-integer query. */
static zs_status query_int(store *st, const char *sql, int64_t *out, zs_error *err)
{
    sqlite3_stmt *q;
    if (prepare(st, sql, &q, err)) return err->status;
    zs_status s = ZS_OK;
    if (sqlite3_step(q) == SQLITE_ROW)
        *out = sqlite3_column_int64(q, 0);
    else
        s = db_fail(st, err, "query");
    sqlite3_finalize(q);
    return s;
}

static zs_status migrate(store *st, int target, zs_error *err)
{
    for (int v = st->schema_version + 1; v <= target; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d;", v);
        if (exec(st, "BEGIN IMMEDIATE;", err)) return err->status;
        if (exec(st, migrations[v - 1], err) || exec(st, pragma, err)) {
            sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
            return zs_fail(err, ZS_EDB, "migration to schema version %d failed: %s", v, err->msg);
        }
        if (exec(st, "COMMIT;", err)) return err->status;
        st->schema_version = v;
    }
    return ZS_OK;
}

/* Checks that every field of layer.c has its column, so that a field added
 * without a migration fails at once rather than on the first import. */
static zs_status check_columns(store *st, zs_error *err)
{
    for (int l = 0; l < LAYER_COUNT; l++) {
        const layer_info *info = layer_get((layer_id)l);
        for (size_t i = 0; i < info->nfields; i++) {
            if (info->fields[i].type == FIELD_PHOTOS) continue;
            char sql[256];
            snprintf(sql, sizeof sql, "SELECT \"%s\" FROM %s LIMIT 0", info->fields[i].name,
                     info->name);
            sqlite3_stmt *q;
            if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
                return zs_fail(err, ZS_EDB, "database '%s' lacks column %s.%s", st->path,
                               info->name, info->fields[i].name);
            sqlite3_finalize(q);
        }
    }
    return ZS_OK;
}

static zs_status check_integrity(store *st, zs_error *err)
{
    sqlite3_stmt *q;
    if (prepare(st, "PRAGMA quick_check;", &q, err)) return err->status;
    zs_status s = ZS_OK;
    if (sqlite3_step(q) != SQLITE_ROW)
        s = db_fail(st, err, "integrity check");
    else if (strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0)
        s = zs_fail(err, ZS_EDB, "database '%s' is damaged: %s", st->path,
                    (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return s;
}

zs_status store_open_at(const char *path, bool create, int version, store **out, zs_error *err)
{
    *out = NULL;
    if (version < 0 || version > STORE_SCHEMA_VERSION)
        return zs_fail(err, ZS_EINVAL, "schema version %d is not between 0 and %d", version,
                       STORE_SCHEMA_VERSION);
    pthread_once(&spatialite_once, spatialite_start);
    store *st = calloc(1, sizeof *st);
    if (!st) return zs_fail(err, ZS_ENOMEM, "out of memory opening '%s'", path);
    size_t n = strlen(path);
    st->path = strdup(path);
    st->photo_dir = malloc(n + sizeof ".photos");
    if (!st->path || !st->photo_dir) {
        store_close(st);
        return zs_fail(err, ZS_ENOMEM, "out of memory opening '%s'", path);
    }
    memcpy(st->photo_dir, path, n);
    memcpy(st->photo_dir + n, ".photos", sizeof ".photos");

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
    if (rc != SQLITE_OK) {
        zs_fail(err, rc == SQLITE_CANTOPEN ? ZS_ENOTFOUND : ZS_EDB, "cannot open database '%s': %s",
                path, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return err->status;
    }
    sqlite3_busy_timeout(st->db, 10000);
    sqlite3_extended_result_codes(st->db, 0);
    st->spatialite = spatialite_alloc_connection();
    spatialite_init_ex(st->db, st->spatialite, 0);

    int64_t uv = 0;
    /* synchronous=FULL: a committed import survives a power cut, not only a
     * crash; imports are few and large, so the fsync costs little. */
    if (exec(st, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;", err) ||
        query_int(st, "PRAGMA user_version;", &uv, err) || check_integrity(st, err)) {
        if (strstr(err->msg, "not a database"))
            zs_fail(err, ZS_EDB, "'%s' is not a zsmap database (not an SQLite file)", path);
        store_close(st);
        return err->status;
    }
    sqlite3_stmt *q;
    if (prepare(st, "PRAGMA journal_mode = WAL;", &q, err)) {
        store_close(st);
        return err->status;
    }
    sqlite3_step(q);
    sqlite3_finalize(q);

    st->schema_version = (int)uv;
    if (uv > STORE_SCHEMA_VERSION) {
        store_close(st);
        return zs_fail(err, ZS_EDB,
                       "database '%s' has schema version %lld, newer than this zsmap (%d)", path,
                       (long long)uv, STORE_SCHEMA_VERSION);
    }
    if (uv == 0 && version > 0) {
        /* A new file, or an SQLite file that is not ours: refuse the latter. */
        int64_t tables = 0;
        if (query_int(st, "SELECT count(*) FROM sqlite_master;", &tables, err) ||
            (tables > 0 &&
             zs_fail(err, ZS_EDB, "'%s' is an SQLite file but not a zsmap database", path)) ||
            exec(st, "SELECT InitSpatialMetaData(1, 'NONE'); SELECT InsertEpsgSrid(4490);", err)) {
            store_close(st);
            return err->status;
        }
    }
    if (migrate(st, version, err) || (version == STORE_SCHEMA_VERSION && check_columns(st, err))) {
        store_close(st);
        return err->status;
    }
    *out = st;
    return ZS_OK;
}

zs_status store_open(const char *path, bool create, store **out, zs_error *err)
{
    return store_open_at(path, create, STORE_SCHEMA_VERSION, out, err);
}

void store_close(store *st)
{
    if (!st) return;
    for (size_t i = 0; i < sizeof st->cache / sizeof st->cache[0]; i++) {
        sqlite3_finalize(st->cache[i].stmt);
        free(st->cache[i].sql);
    }
    if (st->db) {
        if (st->in_tx) sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
        sqlite3_close_v2(st->db);
    }
    if (st->spatialite) spatialite_cleanup_ex(st->spatialite);
    free(st->path);
    free(st->photo_dir);
    free(st);
}

int store_schema_version(const store *st)
{
    return st->schema_version;
}

const char *store_path(const store *st)
{
    return st->path;
}

const char *store_photo_dir(const store *st)
{
    return st->photo_dir;
}

/* ---- transactions ----------------------------------------------------- */

zs_status store_begin(store *st, zs_error *err)
{
    if (st->in_tx) return zs_fail(err, ZS_ECONFLICT, "a transaction is already open");
    /* IMMEDIATE takes the write lock now, so a concurrent writer waits here
     * rather than failing at commit. */
    if (exec(st, "BEGIN IMMEDIATE;", err)) return err->status;
    st->in_tx = true;
    return ZS_OK;
}

zs_status store_commit(store *st, zs_error *err)
{
    if (!st->in_tx) return zs_fail(err, ZS_EINVAL, "no transaction is open");
    if (exec(st,
             "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version';"
             "COMMIT;",
             err)) {
        store_rollback(st);
        return err->status;
    }
    st->in_tx = false;
    return ZS_OK;
}

void store_rollback(store *st)
{
    if (!st->in_tx) return;
    sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
    st->in_tx = false;
}

/* ---- writes ------------------------------------------------------------- */

static void bind_value(sqlite3_stmt *q, int col, const layer_field *f, const store_value *v)
{
    if (v->null) {
        sqlite3_bind_null(q, col);
        return;
    }
    switch (f->type) {
    case FIELD_REAL:
        sqlite3_bind_double(q, col, v->real);
        break;
    case FIELD_INT:
        sqlite3_bind_int64(q, col, v->integer);
        break;
    default:
        sqlite3_bind_text(q, col, v->text, -1, SQLITE_TRANSIENT);
        break;
    }
}

/* True when id is a row of table. */
static zs_status row_exists(store *st, const char *table, const char *id, bool *found,
                            zs_error *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ?1", table);
    sqlite3_stmt *q;
    if (cached(st, sql, &q, err)) return err->status;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    release(st, q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(st, err, "lookup");
    *found = rc == SQLITE_ROW;
    return ZS_OK;
}

/* Refuses a carrier id that another carrier layer already holds, and a park
 * reference to a park that does not exist. */
static zs_status check_references(store *st, const layer_info *info, const store_value *values,
                                  zs_error *err)
{
    const char *id = values[0].text;
    static const layer_id carriers[] = {LAYER_PARKS, LAYER_PARCELS, LAYER_BUILDINGS};
    for (size_t i = 0; i < 3; i++) {
        if (carriers[i] == info->id) continue;
        bool found;
        if (row_exists(st, layer_get(carriers[i])->name, id, &found, err)) return err->status;
        if (found)
            return zs_fail(err, ZS_EINVAL, "id '%s' is already a carrier in layer %s", id,
                           layer_get(carriers[i])->name);
    }
    int park = layer_field_index(info, "park");
    if (park >= 0 && !values[park].null) {
        bool found;
        if (row_exists(st, "parks", values[park].text, &found, err)) return err->status;
        if (!found)
            return zs_fail(err, ZS_EINVAL, "park '%s' does not exist (import parks first)",
                           values[park].text);
    }
    int board = layer_field_index(info, "board");
    if (board >= 0 && !values[board].null) {
        sqlite3_stmt *q;
        if (cached(st, "INSERT OR IGNORE INTO boards(name_zh) VALUES (?1)", &q, err))
            return err->status;
        sqlite3_bind_text(q, 1, values[board].text, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        release(st, q);
        if (rc != SQLITE_DONE) return db_fail(st, err, "board");
    }
    return ZS_OK;
}

/* Builds "INSERT ... ON CONFLICT(id) DO UPDATE ..." for a layer: columns in
 * field order, then geom; an update sets only the fields the source has.
 * Returns a new string, free with free(). */
static char *upsert_sql(const layer_info *info, const store_value *values)
{
    size_t cap = 8192;
    char *sql = malloc(cap);
    if (!sql) return NULL;
    size_t len = (size_t)snprintf(sql, cap, "INSERT INTO %s(", info->name);
    int bound = 0;
    for (size_t i = 0; i < info->nfields; i++) {
        if (info->fields[i].type == FIELD_PHOTOS) continue;
        len += (size_t)snprintf(sql + len, cap - len, "\"%s\",", info->fields[i].name);
        bound++;
    }
    len += (size_t)snprintf(sql + len, cap - len, "geom) VALUES (");
    for (int i = 1; i <= bound; i++)
        len += (size_t)snprintf(sql + len, cap - len, "?%d,", i);
    /* Points stay points; everything else becomes the layer's multi type. */
    len += (size_t)snprintf(sql + len, cap - len,
                            "CASE WHEN GeometryType(GeomFromWKB(?%d, 4490)) = 'POINT'"
                            " THEN GeomFromWKB(?%d, 4490) ELSE CastToMulti(GeomFromWKB(?%d, 4490))"
                            " END) ON CONFLICT(id) DO UPDATE SET ",
                            bound + 1, bound + 1, bound + 1);
    for (size_t i = 1; i < info->nfields; i++) {
        const layer_field *f = &info->fields[i];
        if (f->type == FIELD_PHOTOS) continue;
        if (values[i].absent && strcmp(f->name, "updated_at") != 0) continue;
        len +=
            (size_t)snprintf(sql + len, cap - len, "\"%s\" = excluded.\"%s\",", f->name, f->name);
    }
    snprintf(sql + len, cap - len, "geom = excluded.geom, version = version + 1");
    return sql;
}

zs_status store_upsert(store *st, layer_id layer, const store_value *values,
                       const unsigned char *wkb, size_t wkb_len, bool *inserted, zs_error *err)
{
    const layer_info *info = layer_get(layer);
    if (!st->in_tx) return zs_fail(err, ZS_EINVAL, "upsert outside a transaction");
    if (values[0].null || !values[0].text[0])
        return zs_fail(err, ZS_EINVAL, "a %s feature has no id", info->name);
    bool found = false;
    if (row_exists(st, info->name, values[0].text, &found, err)) return err->status;
    if (info->carrier && check_references(st, info, values, err)) return err->status;

    char *sql = upsert_sql(info, values);
    if (!sql) return zs_fail(err, ZS_ENOMEM, "out of memory");
    sqlite3_stmt *q;
    zs_status s = cached(st, sql, &q, err);
    free(sql);
    if (s) return s;
    int col = 1;
    int updated_at = layer_field_index(info, "updated_at");
    char now[32] = "";
    for (size_t i = 0; i < info->nfields; i++) {
        if (info->fields[i].type == FIELD_PHOTOS) continue;
        if ((int)i == updated_at && (values[i].null || values[i].absent)) {
            /* The time of the change when the source does not say. */
            time_t t = time(NULL);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
            sqlite3_bind_text(q, col++, now, -1, SQLITE_STATIC);
            continue;
        }
        bind_value(q, col++, &info->fields[i], &values[i]);
    }
    sqlite3_bind_blob(q, col, wkb, (int)wkb_len, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE) {
        s = zs_fail(err, rc == SQLITE_CONSTRAINT ? ZS_EINVAL : ZS_EDB, "%s '%s': %s", info->name,
                    values[0].text, sqlite3_errmsg(st->db));
    }
    release(st, q);
    if (!s && inserted) *inserted = !found;
    return s;
}

zs_status store_clear_photos(store *st, const char *carrier_id, zs_error *err)
{
    sqlite3_stmt *q;
    if (cached(st, "DELETE FROM photos WHERE carrier_id = ?1", &q, err)) return err->status;
    sqlite3_bind_text(q, 1, carrier_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    release(st, q);
    return rc == SQLITE_DONE ? ZS_OK : db_fail(st, err, "photos");
}

zs_status store_add_photo(store *st, const store_photo *photo, zs_error *err)
{
    sqlite3_stmt *q;
    if (cached(st,
               "INSERT INTO photos(carrier_id, file, thumb, caption, sort)"
               " VALUES (?1, ?2, ?3, ?4, ?5)",
               &q, err))
        return err->status;
    sqlite3_bind_text(q, 1, photo->carrier_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, photo->file, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, photo->thumb, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, photo->caption, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, photo->sort);
    int rc = sqlite3_step(q);
    release(st, q);
    return rc == SQLITE_DONE ? ZS_OK : db_fail(st, err, "photos");
}

zs_status store_record_import(store *st, const store_import *imp, zs_error *err)
{
    sqlite3_stmt *q;
    if (prepare(st,
                "INSERT INTO imports(layer, source, source_layer, source_crs, features, inserted,"
                " updated, repaired, skipped, imported_at, data_version)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                " strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),"
                " (SELECT CAST(value AS INTEGER) + 1 FROM meta WHERE key = 'data_version'))",
                &q, err))
        return err->status;
    sqlite3_bind_text(q, 1, imp->layer, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, imp->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, imp->source_layer, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, imp->source_crs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, imp->features);
    sqlite3_bind_int64(q, 6, imp->inserted);
    sqlite3_bind_int64(q, 7, imp->updated);
    sqlite3_bind_int64(q, 8, imp->repaired);
    sqlite3_bind_int64(q, 9, imp->skipped);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? ZS_OK : db_fail(st, err, "import record");
}

/* ---- reads ---------------------------------------------------------------- */

zs_status store_data_version(store *st, int64_t *out, zs_error *err)
{
    return query_int(st, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'data_version'", out,
                     err);
}

zs_status store_count(store *st, layer_id layer, int64_t *out, zs_error *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", layer_get(layer)->name);
    return query_int(st, sql, out, err);
}

zs_status store_count_photos(store *st, int64_t *out, zs_error *err)
{
    return query_int(st, "SELECT count(*) FROM photos", out, err);
}

zs_status store_read_layer(store *st, layer_id layer, store_row_fn fn, void *ctx, zs_error *err)
{
    const layer_info *info = layer_get(layer);
    char sql[2048];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    for (size_t i = 0; i < info->nfields; i++) {
        if (info->fields[i].type == FIELD_PHOTOS)
            len += (size_t)snprintf(sql + len, sizeof sql - len, "NULL,");
        else
            len += (size_t)snprintf(sql + len, sizeof sql - len, "\"%s\",", info->fields[i].name);
    }
    snprintf(sql + len, sizeof sql - len, "version, AsBinary(geom) FROM %s ORDER BY id",
             info->name);

    sqlite3_stmt *q;
    if (prepare(st, sql, &q, err)) return err->status;
    store_value values[32];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (size_t i = 0; i < info->nfields; i++) {
            int c = (int)i;
            store_value *v = &values[i];
            memset(v, 0, sizeof *v);
            v->null = sqlite3_column_type(q, c) == SQLITE_NULL;
            if (v->null) continue;
            switch (info->fields[i].type) {
            case FIELD_REAL:
                v->real = sqlite3_column_double(q, c);
                break;
            case FIELD_INT:
                v->integer = sqlite3_column_int64(q, c);
                break;
            default:
                v->text = (const char *)sqlite3_column_text(q, c);
                break;
            }
        }
        store_row row = {
            .values = values,
            .version = sqlite3_column_int64(q, (int)info->nfields),
            .wkb = sqlite3_column_blob(q, (int)info->nfields + 1),
            .wkb_len = (size_t)sqlite3_column_bytes(q, (int)info->nfields + 1),
        };
        if (!fn(&row, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    zs_status s = rc == SQLITE_DONE ? ZS_OK : db_fail(st, err, "read");
    sqlite3_finalize(q);
    return s;
}

zs_status store_read_photos(store *st, store_photo_fn fn, void *ctx, zs_error *err)
{
    sqlite3_stmt *q;
    if (prepare(st,
                "SELECT carrier_id, file, thumb, caption, sort FROM photos"
                " ORDER BY carrier_id, sort, id",
                &q, err))
        return err->status;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        store_photo p = {
            .carrier_id = (const char *)sqlite3_column_text(q, 0),
            .file = (const char *)sqlite3_column_text(q, 1),
            .thumb = (const char *)sqlite3_column_text(q, 2),
            .caption = (const char *)sqlite3_column_text(q, 3),
            .sort = sqlite3_column_int(q, 4),
        };
        if (!fn(&p, ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    zs_status s = rc == SQLITE_DONE ? ZS_OK : db_fail(st, err, "read photos");
    sqlite3_finalize(q);
    return s;
}

zs_status store_read_boards(store *st, store_board_fn fn, void *ctx, zs_error *err)
{
    sqlite3_stmt *q;
    if (prepare(st, "SELECT name_zh, name_en FROM boards ORDER BY name_zh", &q, err))
        return err->status;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!fn((const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
                ctx)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    zs_status s = rc == SQLITE_DONE ? ZS_OK : db_fail(st, err, "read boards");
    sqlite3_finalize(q);
    return s;
}
