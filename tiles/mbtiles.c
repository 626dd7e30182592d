#include "mbtiles.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest tile accepted, in bytes; PNG tiles are tens of KB. */
#define MBTILES_MAX_TILE ((size_t)64 << 20)

/* MBTiles 1.3 asks for application_id "MPBX". */
#define MBTILES_APPLICATION_ID 0x4d504258

enum { ST_PUT, ST_HAS, ST_GET, ST_META, ST_COUNT };

static const char *const statements[ST_COUNT] = {
    [ST_PUT] = "INSERT OR REPLACE INTO tiles(zoom_level, tile_column, tile_row, tile_data)"
               " VALUES(?, ?, ?, ?)",
    [ST_HAS] = "SELECT 1 FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
    [ST_GET] = "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND"
               " tile_row = ?",
    [ST_META] = "INSERT OR REPLACE INTO metadata(name, value) VALUES(?, ?)",
};

struct mbtiles {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[ST_COUNT];
};

static const char schema[] =
    "CREATE TABLE metadata(name text, value text);"
    "CREATE UNIQUE INDEX name ON metadata(name);"
    "CREATE TABLE tiles(zoom_level integer, tile_column integer, tile_row integer,"
    " tile_data blob);"
    "CREATE UNIQUE INDEX tile_index ON tiles(zoom_level, tile_column, tile_row);";

static zs_status db_fail(mbtiles *mb, zs_error *err, const char *what)
{
    return zs_fail(err, ZS_EDB, "MBTiles '%s': %s: %s", mb->path, what, sqlite3_errmsg(mb->db));
}

static zs_status exec(mbtiles *mb, const char *sql, const char *what, zs_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(mb->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        zs_fail(err, ZS_EDB, "MBTiles '%s': %s: %s", mb->path, what,
                msg ? msg : sqlite3_errmsg(mb->db));
        sqlite3_free(msg);
        return ZS_EDB;
    }
    return ZS_OK;
}

/* One integer from a query with no parameters. */
static zs_status query_int(mbtiles *mb, const char *sql, sqlite3_int64 *out, zs_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(mb->db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(mb, err, "query");
    int rc = sqlite3_step(q);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(mb, err, "query");
    return ZS_OK;
}

/* True when table has a unique index over exactly the comma-separated columns
 * (any order): INSERT OR REPLACE relies on it to replace. */
static zs_status has_unique_index(mbtiles *mb, const char *table, const char *cols, int ncols,
                                  bool *found, zs_error *err)
{
    static const char sql[] = "SELECT count(*) FROM pragma_index_list(?1) AS il WHERE il.\"unique\""
                              " AND (SELECT count(*) FROM pragma_index_info(il.name)) = ?3"
                              " AND NOT EXISTS (SELECT 1 FROM pragma_index_info(il.name) AS ii"
                              "  WHERE instr(',' || ?2 || ',', ',' || ii.name || ',') = 0)";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(mb->db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_fail(mb, err, "reading indexes");
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, cols, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, ncols);
    int rc = sqlite3_step(q);
    *found = rc == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) return db_fail(mb, err, "reading indexes");
    return ZS_OK;
}

/* An existing file must have both tables (not views: we write to them) with
 * the MBTiles columns; a missing unique index is added. */
static zs_status check_schema(mbtiles *mb, zs_error *err)
{
    static const struct {
        const char *table, *probe, *cols, *index_sql;
        int ncols;
    } req[] = {
        {"metadata", "SELECT name, value FROM metadata LIMIT 0", "name",
         "CREATE UNIQUE INDEX IF NOT EXISTS name ON metadata(name)", 1},
        {"tiles", "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 0",
         "zoom_level,tile_column,tile_row",
         "CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles(zoom_level, tile_column, tile_row)",
         3},
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(mb->db, "SELECT type FROM sqlite_master WHERE name = ?", -1, &q,
                               NULL) != SQLITE_OK)
            return db_fail(mb, err, "reading the schema");
        sqlite3_bind_text(q, 1, req[i].table, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        char type[16] = "";
        if (rc == SQLITE_ROW)
            snprintf(type, sizeof type, "%s", (const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(mb, err, "reading the schema");
        if (rc == SQLITE_DONE)
            return zs_fail(err, ZS_EDB,
                           "'%s' is an SQLite file but not MBTiles: it has no '%s' table", mb->path,
                           req[i].table);
        if (strcmp(type, "table") != 0)
            return zs_fail(err, ZS_EDB,
                           "MBTiles '%s': '%s' is a %s, not a table; this layout is read-only "
                           "here",
                           mb->path, req[i].table, type);
        if (sqlite3_prepare_v2(mb->db, req[i].probe, -1, &q, NULL) != SQLITE_OK)
            return zs_fail(err, ZS_EDB, "MBTiles '%s': table '%s' lacks MBTiles columns: %s",
                           mb->path, req[i].table, sqlite3_errmsg(mb->db));
        sqlite3_finalize(q);
        bool found;
        zs_status s = has_unique_index(mb, req[i].table, req[i].cols, req[i].ncols, &found, err);
        if (!s && !found) s = exec(mb, req[i].index_sql, "adding a unique index", err);
        if (s) return s;
    }
    return ZS_OK;
}

/* Creates the tables in a new, empty file or checks those of an existing one,
 * inside one write transaction so that two openers cannot both create. */
static zs_status prepare_schema(mbtiles *mb, zs_error *err)
{
    sqlite3_int64 objects = 0;
    zs_status s = exec(mb, "BEGIN IMMEDIATE", "reading the schema", err);
    if (!s) s = query_int(mb, "SELECT count(*) FROM sqlite_master", &objects, err);
    if (s) {
        int code = sqlite3_errcode(mb->db);
        if (code == SQLITE_NOTADB)
            s = zs_fail(err, ZS_EDB, "'%s' is not an MBTiles file (not an SQLite database)",
                        mb->path);
    } else if (objects > 0) {
        s = check_schema(mb, err);
    } else {
        char sql[sizeof schema + 64];
        snprintf(sql, sizeof sql, "%sPRAGMA application_id = %d;", schema, MBTILES_APPLICATION_ID);
        s = exec(mb, sql, "creating tables", err);
    }
    if (!s) s = exec(mb, "COMMIT", "creating tables", err);
    if (s && !sqlite3_get_autocommit(mb->db)) sqlite3_exec(mb->db, "ROLLBACK", NULL, NULL, NULL);
    return s;
}

zs_status mbtiles_open(const char *path, mbtiles **out, zs_error *err)
{
    *out = NULL;
    mbtiles *mb = calloc(1, sizeof *mb);
    if (!mb || !(mb->path = strdup(path))) {
        free(mb);
        return zs_fail(err, ZS_ENOMEM, "out of memory opening '%s'", path);
    }
    int rc = sqlite3_open_v2(
        path, &mb->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        zs_fail(err, ZS_EIO, "cannot open MBTiles '%s': %s", path,
                mb->db ? sqlite3_errmsg(mb->db) : sqlite3_errstr(rc));
        mbtiles_close(mb);
        return ZS_EIO;
    }
    sqlite3_busy_timeout(mb->db, 10000);
    /* WAL with synchronous=NORMAL: a committed batch survives a crash or
     * kill -9 (not necessarily a power cut), and commits need no fsync. */
    zs_status s = prepare_schema(mb, err);
    if (!s)
        s = exec(mb, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", "setting WAL mode",
                 err);
    if (s) {
        mbtiles_close(mb);
        return s;
    }
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(mb->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &mb->stmt[i],
                               NULL) != SQLITE_OK) {
            db_fail(mb, err, "preparing statements");
            mbtiles_close(mb);
            return ZS_EDB;
        }
    *out = mb;
    return ZS_OK;
}

void mbtiles_close(mbtiles *mb)
{
    if (!mb) return;
    if (mb->db && !sqlite3_get_autocommit(mb->db) &&
        sqlite3_exec(mb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        sqlite3_exec(mb->db, "ROLLBACK", NULL, NULL, NULL); /* nothing to report it to */
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(mb->stmt[i]);
    sqlite3_close_v2(mb->db);
    free(mb->path);
    free(mb);
}

/* Binds z, column and TMS row of t to parameters 1-3 of q. */
static zs_status bind_tile(mbtiles *mb, sqlite3_stmt *q, tile_coord t, zs_error *err)
{
    if (!tile_valid(t))
        return zs_fail(err, ZS_EINVAL, "MBTiles '%s': no tile %d/%u/%u", mb->path, t.z,
                       (unsigned)t.x, (unsigned)t.y);
    sqlite3_int64 row = ((sqlite3_int64)1 << t.z) - 1 - t.y;
    sqlite3_bind_int(q, 1, t.z);
    sqlite3_bind_int64(q, 2, t.x);
    sqlite3_bind_int64(q, 3, row);
    return ZS_OK;
}

/* Runs a statement that returns no rows, then resets it. */
static zs_status step_done(mbtiles *mb, sqlite3_stmt *q, const char *what, zs_error *err)
{
    int rc = sqlite3_step(q);
    zs_status s = rc == SQLITE_DONE ? ZS_OK : db_fail(mb, err, what);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return s;
}

zs_status mbtiles_set_metadata(mbtiles *mb, const char *name, const char *value, zs_error *err)
{
    sqlite3_stmt *q = mb->stmt[ST_META];
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    return step_done(mb, q, "writing metadata", err);
}

zs_status mbtiles_put(mbtiles *mb, tile_coord t, const unsigned char *data, size_t len,
                      zs_error *err)
{
    sqlite3_stmt *q = mb->stmt[ST_PUT];
    if (len > MBTILES_MAX_TILE)
        return zs_fail(err, ZS_EINVAL, "MBTiles '%s': a tile of %zu bytes is over the %zu MiB cap",
                       mb->path, len, MBTILES_MAX_TILE >> 20);
    zs_status s = bind_tile(mb, q, t, err);
    if (!s && sqlite3_get_autocommit(mb->db))
        s = exec(mb, "BEGIN IMMEDIATE", "starting a batch", err);
    if (s) {
        sqlite3_clear_bindings(q);
        return s;
    }
    /* A zero-length blob, not NULL, for an empty tile. */
    sqlite3_bind_blob(q, 4, len ? (const void *)data : "", (int)len, SQLITE_STATIC);
    s = step_done(mb, q, "storing a tile", err);
    if (s && sqlite3_get_autocommit(mb->db)) /* SQLite rolled the whole batch back */
        s = zs_fail(err, ZS_EDB,
                    "MBTiles '%s': storing a tile failed and the batch since the last flush was "
                    "lost: %s",
                    mb->path, sqlite3_errmsg(mb->db));
    return s;
}

zs_status mbtiles_flush(mbtiles *mb, zs_error *err)
{
    if (sqlite3_get_autocommit(mb->db)) return ZS_OK; /* no batch open */
    return exec(mb, "COMMIT", "committing a batch", err);
}

zs_status mbtiles_has(mbtiles *mb, tile_coord t, bool *present, zs_error *err)
{
    *present = false;
    sqlite3_stmt *q = mb->stmt[ST_HAS];
    zs_status s = bind_tile(mb, q, t, err);
    if (s) return s;
    int rc = sqlite3_step(q);
    s = rc == SQLITE_ROW || rc == SQLITE_DONE ? ZS_OK : db_fail(mb, err, "reading a tile");
    *present = rc == SQLITE_ROW;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return s;
}

zs_status mbtiles_get(mbtiles *mb, tile_coord t, unsigned char **data, size_t *len, zs_error *err)
{
    *data = NULL;
    *len = 0;
    sqlite3_stmt *q = mb->stmt[ST_GET];
    zs_status s = bind_tile(mb, q, t, err);
    if (s) return s;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(q, 0);
        int n = sqlite3_column_bytes(q, 0);
        /* malloc(n + 1): an empty tile still gets a buffer, so NULL means absent. */
        unsigned char *p = malloc((size_t)n + 1);
        if (!p)
            s = zs_fail(err, ZS_ENOMEM, "out of memory reading a tile of %d bytes", n);
        else {
            if (n) memcpy(p, blob, (size_t)n);
            *data = p;
            *len = (size_t)n;
        }
    } else if (rc != SQLITE_DONE)
        s = db_fail(mb, err, "reading a tile");
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return s;
}
