/* The tile cache (see tilecache.h).
 *
 * Locking: tc->mu guards the memory table and LRU list, the counters, the
 * write queue, the list of files and each file's idle read connections. It
 * is held for short steps only, never during disk IO or while waiting for
 * the writer. A file's write connection and its hash/version fields belong
 * to the writer thread, or to tilecache_advance() while the writer is parked
 * at the advance's barrier in the queue.
 *
 * Every tile in memory belongs to the cache's data version (tc->version):
 * advance drops the touched ones and moves the version under one lock, so a
 * put or a disk read from the old version can never slip in after. A disk
 * read checks, in the same statement (one read snapshot), that the file
 * holds the key's style hash and the cache's data version; so a writer that
 * is resetting or advancing the file is never seen half-way. */
#include "tilecache.h"

#include <sqlite3.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define TC_DEFAULT_MEM ((size_t)256 << 20)
#define TC_STYLE_MAX 64
#define TC_VARIANT_MAX 1023 /* bytes before the NUL */
/* Memory a tile costs beyond its bytes, entry and key: the blob's header and
 * malloc's bookkeeping, roughly. */
#define TC_ENTRY_EXTRA 128
#define TC_QUEUE_TILES 8192 /* disk writes waiting; more are dropped */
#define TC_QUEUE_BYTES ((size_t)64 << 20)
#define TC_BATCH_TILES 256     /* tiles per commit at most */
#define TC_BATCH_NS 50000000L  /* how long the writer gathers a batch */
#define TC_IDLE_READERS 8      /* read connections kept per file */
#define TC_BRUTE_BOXES 16      /* up to this many changed boxes: no index */
#define TC_WRITE_BUSY_MS 10000 /* only another process could hold the lock */
#define TC_READ_BUSY_MS 250    /* a read gives up soon: a miss costs a render */
#define TC_ZOOMS (TILE_MAX_ZOOM + 1)
#define MBTILES_APPLICATION_ID 0x4d504258 /* "MPBX", as MBTiles 1.3 asks */

typedef struct entry {
    struct entry *hnext;       /* hash chain; the free list once removed */
    struct entry *prev, *next; /* LRU list, most recent first */
    uint64_t hash;             /* of the whole key */
    uint64_t style_hash;
    tile_coord t;
    hblob *blob;           /* one reference */
    size_t cost;           /* bytes counted against the cap */
    char *style, *variant; /* in the same allocation, after the struct */
} entry;

/* A connection for tilecache_get(), used by one thread at a time. */
typedef struct reader {
    struct reader *next;
    sqlite3 *db;
    sqlite3_stmt *get;
} reader;

typedef struct tc_file {
    struct tc_file *next;
    char style[TC_STYLE_MAX + 1];
    char *path;
    bool broken; /* set before the file is listed: never read, puts dropped */
    /* under tc->mu */
    reader *idle;
    int nidle;
    /* the writer's (see the top of the file) */
    sqlite3 *db;
    sqlite3_stmt *put, *meta;
    bool hashed; /* the file has a zsmap_style_hash: hash */
    uint64_t hash;
    int64_t version; /* its zsmap_data_version */
    /* the batch being written */
    bool in_txn, txn_failed;
    size_t txn_tiles;
    bool saved_hashed;
    uint64_t saved_hash;
    int64_t saved_version;
} tc_file;

/* A disk write waiting for the writer, or an advance's barrier. */
typedef struct qitem {
    struct qitem *next;
    bool barrier;
    uint64_t seq; /* puts only: 1, 2, ... in queue order */
    int64_t version;
    uint64_t style_hash;
    tile_coord t;
    hblob *blob; /* one reference */
    size_t bytes;
    char style[TC_STYLE_MAX + 1];
    char *variant; /* in the same allocation */
} qitem;

/* What an advance drops: a tile whose extent grown by reach[z] pixels meets
 * one of the boxes (through ix when it was built), or every tile when all. */
typedef struct {
    bool all;
    const sidx_box *boxes;
    size_t n;
    sidx *ix;
    double reach[TC_ZOOMS]; /* of the file being scanned */
} adv_state;

struct tilecache {
    char *dir; /* NULL: memory only */
    size_t cap;
    pthread_mutex_t mu;
    pthread_cond_t work; /* to the writer: items, flush, stop, resume */
    pthread_cond_t done; /* from the writer: a batch written, parked */

    /* under mu */
    int64_t version;
    entry **buckets;
    size_t nbuckets, count, bytes;
    entry *lru_head, *lru_tail;
    uint64_t mem_hits, disk_hits, misses, disk_writes, dropped, disk_dropped, disk_errors;
    tc_file *files; /* appended by the writer (or open) only, never removed */
    qitem *q_head, *q_tail;
    size_t q_tiles, q_bytes;
    uint64_t enq_seq, done_seq;
    int flushers;
    bool stop, parked, writer_idle, barrier_queued;

    pthread_t writer;
    bool writer_started;
    qitem barrier;
    /* the writer's, or the advance's while the writer is parked */
    int64_t w_version;
    const adv_state *adv; /* for zs_touched(), during an advance's disk pass */
};

/* ---- keys ---- */

static bool style_ok(const char *s)
{
    if (!s) return false;
    size_t i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || i >= TC_STYLE_MAX) return false;
    }
    return i > 0;
}

/* True when k can name a tile; *variant is its variant ("" for NULL). */
static bool key_ok(const tc_key *k, const char **variant)
{
    if (!k || !style_ok(k->style) || !tile_valid(k->t)) return false;
    *variant = k->variant ? k->variant : "";
    for (size_t i = 0; (*variant)[i]; i++)
        if (i >= TC_VARIANT_MAX) return false;
    return true;
}

static uint64_t key_hash(const char *style, uint64_t style_hash, const char *variant, tile_coord t)
{
    uint64_t h = hash64(style, strlen(style) + 1, HASH_SEED);
    h = hash64(variant, strlen(variant) + 1, h);
    uint64_t v[3] = {style_hash, (uint64_t)t.z, (uint64_t)t.x << 32 | t.y};
    h = hash64(v, sizeof v, h);
    /* FNV's low bits are weak; the table indexes by them */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/* ---- memory ---- */

/* A new entry holding its own reference to b; NULL when out of memory. */
static entry *entry_new(const tc_key *k, const char *variant, uint64_t h, hblob *b)
{
    size_t sl = strlen(k->style), vl = strlen(variant), len;
    entry *e = malloc(sizeof *e + sl + vl + 2);
    if (!e) return NULL;
    *e = (entry){.hash = h, .style_hash = k->style_hash, .t = k->t, .blob = hblob_retain(b)};
    e->style = (char *)(e + 1);
    e->variant = e->style + sl + 1;
    memcpy(e->style, k->style, sl + 1);
    memcpy(e->variant, variant, vl + 1);
    hblob_data(b, &len);
    e->cost = len + sizeof *e + sl + vl + 2 + TC_ENTRY_EXTRA;
    return e;
}

/* Frees a list of entries chained by hnext (outside the lock: a blob's
 * transports may take a while to free). */
static void entries_free(entry *e)
{
    while (e) {
        entry *next = e->hnext;
        hblob_release(e->blob);
        free(e);
        e = next;
    }
}

static entry *find(const tilecache *tc, uint64_t h, const char *style, uint64_t style_hash,
                   const char *variant, tile_coord t)
{
    for (entry *e = tc->buckets[h & (tc->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->style_hash == style_hash && e->t.z == t.z && e->t.x == t.x &&
            e->t.y == t.y && strcmp(e->style, style) == 0 && strcmp(e->variant, variant) == 0)
            return e;
    return NULL;
}

static void lru_unlink(tilecache *tc, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        tc->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        tc->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(tilecache *tc, entry *e)
{
    e->prev = NULL;
    e->next = tc->lru_head;
    if (tc->lru_head)
        tc->lru_head->prev = e;
    else
        tc->lru_tail = e;
    tc->lru_head = e;
}

/* Takes e out of the table and the list and onto *gone. */
static void entry_remove(tilecache *tc, entry *e, entry **gone)
{
    entry **p = &tc->buckets[e->hash & (tc->nbuckets - 1)];
    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    lru_unlink(tc, e);
    tc->count--;
    tc->bytes -= e->cost;
    e->hnext = *gone;
    *gone = e;
}

/* Doubles the table; on failure the old one stays (longer chains). */
static void grow(tilecache *tc)
{
    size_t nb = tc->nbuckets * 2;
    entry **b = calloc(nb, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < tc->nbuckets; i++)
        for (entry *e = tc->buckets[i], *next; e; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(tc->buckets);
    tc->buckets = b;
    tc->nbuckets = nb;
}

/* Keeps e (taking it over), evicting the least recently used tiles to make
 * room. An entry with the same key is replaced when replace, else kept (and
 * e dropped). Whatever leaves goes onto *gone. */
static void insert_locked(tilecache *tc, entry *e, bool replace, entry **gone)
{
    entry *old = find(tc, e->hash, e->style, e->style_hash, e->variant, e->t);
    if (old && !replace) {
        lru_unlink(tc, old);
        lru_push(tc, old);
        e->hnext = *gone;
        *gone = e;
        return;
    }
    if (old) entry_remove(tc, old, gone);
    if (e->cost > tc->cap) { /* would empty the cache for one tile */
        e->hnext = *gone;
        *gone = e;
        return;
    }
    while (tc->bytes + e->cost > tc->cap && tc->lru_tail)
        entry_remove(tc, tc->lru_tail, gone);
    if (tc->count >= tc->nbuckets) grow(tc);
    entry **slot = &tc->buckets[e->hash & (tc->nbuckets - 1)];
    e->hnext = *slot;
    *slot = e;
    lru_push(tc, e);
    tc->count++;
    tc->bytes += e->cost;
}

/* ---- advance's test ---- */

static bool first_hit(uint32_t item, void *ctx)
{
    (void)item;
    (void)ctx;
    return false;
}

/* True when t's extent grown by reach_px pixels (of a 256 px tile) meets a
 * changed box (edges touching count), or reach_px is negative or NaN. */
static bool touched(const adv_state *a, tile_coord t, double reach_px)
{
    if (a->all || !(reach_px >= 0)) return true;
    tile_bbox b = tile_bounds(t);
    double g = reach_px * tile_resolution(t.z, 256);
    sidx_box q = {b.minx - g, b.miny - g, b.maxx + g, b.maxy + g};
    if (a->ix) return sidx_search(a->ix, q, first_hit, NULL) > 0;
    for (size_t i = 0; i < a->n; i++) {
        const sidx_box *c = &a->boxes[i];
        if (c->minx <= q.maxx && q.minx <= c->maxx && c->miny <= q.maxy && q.miny <= c->maxy)
            return true;
    }
    return false;
}

/* zs_touched(zoom_level, tile_column, tile_row): 1 when the row is to go
 * under the advance running on this connection. Rows outside the pyramid
 * go too. */
static void touched_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const tilecache *tc = sqlite3_user_data(ctx);
    const adv_state *a = tc->adv;
    sqlite3_int64 z = sqlite3_value_int64(argv[0]), col = sqlite3_value_int64(argv[1]),
                  row = sqlite3_value_int64(argv[2]);
    (void)argc;
    if (!a) {
        sqlite3_result_int(ctx, 0);
        return;
    }
    if (z < 0 || z > TILE_MAX_ZOOM || col < 0 || row < 0 || col >> z || row >> z) {
        sqlite3_result_int(ctx, 1);
        return;
    }
    tile_coord t = {(int)z, (uint32_t)col, (uint32_t)(((sqlite3_int64)1 << z) - 1 - row)};
    sqlite3_result_int(ctx, touched(a, t, a->reach[z]));
}

/* ---- files ---- */

static const char schema_sql[] =
    "CREATE TABLE metadata(name text, value text);"
    "CREATE UNIQUE INDEX name ON metadata(name);"
    "CREATE TABLE cache_tiles(variant TEXT NOT NULL, zoom_level INTEGER NOT NULL,"
    " tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL,"
    " PRIMARY KEY(variant, zoom_level, tile_column, tile_row)) WITHOUT ROWID;"
    "CREATE VIEW tiles AS SELECT zoom_level, tile_column, tile_row, tile_data FROM cache_tiles"
    " WHERE variant = '';";

/* The file's hash and data version are checked in the statement itself, so
 * one read snapshot sees them and the tile together. */
static const char get_sql[] =
    "SELECT tile_data FROM cache_tiles WHERE variant = ?1 AND zoom_level = ?2"
    " AND tile_column = ?3 AND tile_row = ?4"
    " AND (SELECT value FROM metadata WHERE name = 'zsmap_style_hash') = ?5"
    " AND (SELECT value FROM metadata WHERE name = 'zsmap_data_version') = ?6";

static const char put_sql[] = "INSERT OR REPLACE INTO cache_tiles(variant, zoom_level, tile_column,"
                              " tile_row, tile_data) VALUES(?1, ?2, ?3, ?4, ?5)";

static const char meta_sql[] = "INSERT OR REPLACE INTO metadata(name, value) VALUES(?1, ?2)";

typedef struct {
    char s[24];
} numtext;

static numtext hash_text(uint64_t h)
{
    numtext t;
    snprintf(t.s, sizeof t.s, "%016" PRIx64, h);
    return t;
}

static numtext version_text(int64_t v)
{
    numtext t;
    snprintf(t.s, sizeof t.s, "%" PRId64, v);
    return t;
}

/* Binds variant, z, column and TMS row of a tile to parameters 1-4. */
static void bind_tile(sqlite3_stmt *q, const char *variant, tile_coord t)
{
    sqlite3_bind_text(q, 1, variant, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, t.z);
    sqlite3_bind_int64(q, 3, t.x);
    sqlite3_bind_int64(q, 4, ((sqlite3_int64)1 << t.z) - 1 - t.y);
}

/* Runs a statement that returns no rows and resets it. */
static int step_done(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int meta_set(tc_file *f, const char *name, const char *value)
{
    sqlite3_bind_text(f->meta, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(f->meta, 2, value, -1, SQLITE_STATIC);
    return step_done(f->meta);
}

/* The metadata value of name in out; false when absent (or on error). */
static bool meta_get(sqlite3 *db, const char *name, char *out, size_t size)
{
    sqlite3_stmt *q;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT value FROM metadata WHERE name = ?", -1, &q, NULL))
        return false;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0);
    if (found) snprintf(out, size, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return found;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db)) exec(db, "ROLLBACK");
}

static zs_status file_fail(zs_error *err, const tc_file *f, const char *what)
{
    return zs_fail(err, ZS_EDB, "tile cache file '%s': %s: %s", f->path, what,
                   f->db ? sqlite3_errmsg(f->db) : "out of memory");
}

/* Reads the file's hash and data version from its metadata into f. */
static void read_state(tc_file *f)
{
    char text[64], *end;
    f->hashed = false;
    f->version = INT64_MIN; /* none: the next write empties the file first */
    if (meta_get(f->db, "zsmap_style_hash", text, sizeof text) && strlen(text) == 16) {
        errno = 0;
        unsigned long long h = strtoull(text, &end, 16);
        if (!errno && *end == '\0') {
            f->hashed = true;
            f->hash = h;
        }
    }
    if (meta_get(f->db, "zsmap_data_version", text, sizeof text) && text[0]) {
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (!errno && *end == '\0') f->version = v;
    }
}

/* Whether the file has no objects yet (new or empty) and, if it has, whether
 * it has our two tables with our columns. Reads only. */
static zs_status probe_schema(tc_file *f, bool *empty, bool *ours, zs_error *err)
{
    sqlite3_stmt *q;
    *empty = *ours = false;
    int rc = sqlite3_prepare_v2(f->db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        *empty = rc == SQLITE_ROW && sqlite3_column_int64(q, 0) == 0;
        sqlite3_finalize(q);
    }
    if (rc != SQLITE_OK && rc != SQLITE_ROW) {
        if (sqlite3_errcode(f->db) == SQLITE_NOTADB)
            return zs_fail(err, ZS_EDB,
                           "'%s' is not a zsmap tile cache (not an SQLite file); move it out of "
                           "the cache folder",
                           f->path);
        return file_fail(err, f, "reading the schema");
    }
    if (*empty) return ZS_OK;
    static const char *const probes[] = {
        "SELECT variant, zoom_level, tile_column, tile_row, tile_data FROM cache_tiles LIMIT 0",
        "SELECT name, value FROM metadata LIMIT 0",
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (sqlite3_prepare_v2(f->db, probes[i], -1, &q, NULL) != SQLITE_OK) return ZS_OK;
        sqlite3_finalize(q);
    }
    *ours = true;
    return ZS_OK;
}

/* Writes the schema and metadata of a new file (in the open transaction). */
static int create_schema(tc_file *f, int64_t version)
{
    char sql[sizeof schema_sql + 64];
    snprintf(sql, sizeof sql, "%sPRAGMA application_id = %d;", schema_sql, MBTILES_APPLICATION_ID);
    int rc = exec(f->db, sql);
    if (rc) return rc;
    if ((rc = sqlite3_prepare_v3(f->db, meta_sql, -1, SQLITE_PREPARE_PERSISTENT, &f->meta, NULL)))
        return rc;
    char description[128];
    numtext v = version_text(version);
    snprintf(description, sizeof description, "zsmap tile cache of the style %s", f->style);
    const char *rows[][2] = {
        {"name", f->style},
        {"format", "png"},
        {"type", "baselayer"},
        {"version", "1.3"},
        {"description", description},
        {"minzoom", "0"},
        {"maxzoom", "22"},
        /* the cache may hold any tile: readers such as GDAL take maxzoom's
         * extent from bounds, or else from the tiles at maxzoom (often none) */
        {"bounds", "-180,-85.0511287798066,180,85.0511287798066"},
        {"zsmap_data_version", v.s},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && !rc; i++)
        rc = meta_set(f, rows[i][0], rows[i][1]);
    f->hashed = false;
    f->version = version;
    return rc;
}

/* Opens f->path for the writer: a new or empty file gets the schema, stamped
 * with version; an existing cache holding another data version is emptied
 * and stamped. A file that is not SQLite, or SQLite without our tables, is
 * an error and is left as it was. */
static zs_status file_open(tilecache *tc, tc_file *f, int64_t version, zs_error *err)
{
    int rc = sqlite3_open_v2(
        f->path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return zs_fail(err, ZS_EIO, "cannot open the tile cache file '%s': %s", f->path,
                       f->db ? sqlite3_errmsg(f->db) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(f->db, TC_WRITE_BUSY_MS);
    bool empty, ours;
    zs_status s = probe_schema(f, &empty, &ours, err);
    if (s) return s;
    if (!empty && !ours)
        return zs_fail(err, ZS_EDB,
                       "'%s' is not a zsmap tile cache (no cache_tiles table); move it out of "
                       "the cache folder",
                       f->path);
    /* WAL: readers never wait for the writer. synchronous=NORMAL: a power
     * cut may lose the last batches but never corrupts the file. */
    if (exec(f->db, "PRAGMA journal_mode = WAL") || exec(f->db, "PRAGMA synchronous = NORMAL"))
        return file_fail(err, f, "setting WAL mode");
    if (exec(f->db, "BEGIN IMMEDIATE")) return file_fail(err, f, "starting a transaction");
    if (empty) {
        rc = create_schema(f, version);
    } else {
        rc = sqlite3_prepare_v3(f->db, meta_sql, -1, SQLITE_PREPARE_PERSISTENT, &f->meta, NULL);
        read_state(f);
        if (!rc && f->version != version) {
            rc = exec(f->db, "DELETE FROM cache_tiles");
            if (!rc) rc = meta_set(f, "zsmap_data_version", version_text(version).s);
        }
    }
    if (!rc) rc = exec(f->db, "COMMIT");
    if (rc) {
        s = file_fail(err, f, empty ? "creating the tables" : "emptying a stale cache");
        rollback(f->db);
        return s;
    }
    f->version = version;
    if (sqlite3_prepare_v3(f->db, put_sql, -1, SQLITE_PREPARE_PERSISTENT, &f->put, NULL) ||
        sqlite3_create_function(f->db, "zs_touched", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY, tc,
                                touched_fn, NULL, NULL))
        return file_fail(err, f, "preparing statements");
    return ZS_OK;
}

/* A file entry for style, not yet opened; NULL when out of memory. */
static tc_file *file_new(const char *dir, const char *style)
{
    tc_file *f = calloc(1, sizeof *f);
    size_t n = strlen(dir) + strlen(style) + sizeof "/.mbtiles";
    if (!f || !(f->path = malloc(n))) {
        free(f);
        return NULL;
    }
    snprintf(f->path, n, "%s/%s.mbtiles", dir, style);
    snprintf(f->style, sizeof f->style, "%s", style);
    return f;
}

static void reader_close(reader *r)
{
    if (!r) return;
    sqlite3_finalize(r->get);
    sqlite3_close_v2(r->db);
    free(r);
}

static void file_free(tc_file *f)
{
    if (!f) return;
    while (f->idle) {
        reader *r = f->idle;
        f->idle = r->next;
        reader_close(r);
    }
    sqlite3_finalize(f->put);
    sqlite3_finalize(f->meta);
    sqlite3_close_v2(f->db);
    free(f->path);
    free(f);
}

/* A new read connection to path; NULL on any failure (then a read misses). */
static reader *reader_open(const char *path)
{
    reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v3(r->db, get_sql, -1, SQLITE_PREPARE_PERSISTENT, &r->get, NULL) !=
            SQLITE_OK) {
        reader_close(r);
        return NULL;
    }
    sqlite3_busy_timeout(r->db, TC_READ_BUSY_MS);
    return r;
}

/* The tile's bytes (malloc'd, freed by the caller) when the file holds it
 * for hash and version; NULL otherwise. */
static unsigned char *reader_get(reader *r, const char *variant, tile_coord t, uint64_t hash,
                                 int64_t version, size_t *len)
{
    numtext h = hash_text(hash), v = version_text(version);
    bind_tile(r->get, variant, t);
    sqlite3_bind_text(r->get, 5, h.s, -1, SQLITE_STATIC);
    sqlite3_bind_text(r->get, 6, v.s, -1, SQLITE_STATIC);
    unsigned char *data = NULL;
    if (sqlite3_step(r->get) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(r->get, 0);
        int n = sqlite3_column_bytes(r->get, 0);
        /* n + 1: an empty tile still gets a buffer */
        if (n >= 0 && (data = malloc((size_t)n + 1))) {
            if (n) memcpy(data, blob, (size_t)n);
            *len = (size_t)n;
        }
    }
    /* the reset ends the read transaction, so the WAL can be checkpointed */
    sqlite3_reset(r->get);
    sqlite3_clear_bindings(r->get);
    return data;
}

/* The listed file of style, or NULL. Under tc->mu or by the writer. */
static tc_file *file_find(const tilecache *tc, const char *style)
{
    for (tc_file *f = tc->files; f; f = f->next)
        if (strcmp(f->style, style) == 0) return f;
    return NULL;
}

static void file_list(tilecache *tc, tc_file *f)
{
    pthread_mutex_lock(&tc->mu);
    f->next = tc->files;
    tc->files = f;
    pthread_mutex_unlock(&tc->mu);
}

/* ---- the writer ---- */

static qitem *qitem_new(const tc_key *k, const char *variant, int64_t version, hblob *b)
{
    size_t vl = strlen(variant);
    qitem *it = malloc(sizeof *it + vl + 1);
    if (!it) return NULL;
    *it = (qitem){
        .version = version, .style_hash = k->style_hash, .t = k->t, .blob = hblob_retain(b)};
    hblob_data(b, &it->bytes);
    snprintf(it->style, sizeof it->style, "%s", k->style);
    it->variant = (char *)(it + 1);
    memcpy(it->variant, variant, vl + 1);
    return it;
}

static void qitem_free(qitem *it)
{
    if (!it) return;
    hblob_release(it->blob);
    free(it);
}

static void enqueue(tilecache *tc, qitem *it)
{
    it->next = NULL;
    if (tc->q_tail)
        tc->q_tail->next = it;
    else
        tc->q_head = it;
    tc->q_tail = it;
}

static qitem *dequeue(tilecache *tc)
{
    qitem *it = tc->q_head;
    tc->q_head = it->next;
    if (!tc->q_head) tc->q_tail = NULL;
    if (it->barrier) {
        tc->barrier_queued = false;
    } else {
        tc->q_tiles--;
        tc->q_bytes -= it->bytes;
    }
    return it;
}

/* The writer's file for style, opened (made) on first use; NULL when it
 * cannot be: then it is listed as broken and its puts are dropped. */
static tc_file *writer_file(tilecache *tc, const char *style)
{
    tc_file *f = file_find(tc, style);
    if (f) return f->broken ? NULL : f;
    if (!(f = file_new(tc->dir, style))) return NULL;
    zs_error err = {0};
    if (file_open(tc, f, tc->w_version, &err)) {
        /* nowhere to report it from this thread: stats count the lost tiles */
        sqlite3_finalize(f->put);
        sqlite3_finalize(f->meta);
        sqlite3_close_v2(f->db);
        f->put = f->meta = NULL;
        f->db = NULL;
        f->broken = true;
    }
    file_list(tc, f);
    return f->broken ? NULL : f;
}

/* Writes it into f's open transaction; a file holding another style hash or
 * data version is emptied and restamped first. */
static int write_tile(tc_file *f, const qitem *it)
{
    int rc = SQLITE_OK;
    if (!f->hashed || f->hash != it->style_hash || f->version != it->version) {
        rc = exec(f->db, "DELETE FROM cache_tiles");
        if (!rc) rc = meta_set(f, "zsmap_style_hash", hash_text(it->style_hash).s);
        if (!rc) rc = meta_set(f, "zsmap_data_version", version_text(it->version).s);
        if (rc) return rc;
        f->hashed = true;
        f->hash = it->style_hash;
        f->version = it->version;
    }
    size_t len;
    const unsigned char *data = hblob_data(it->blob, &len);
    if (len > 0x7fffffff) return SQLITE_TOOBIG;
    bind_tile(f->put, it->variant, it->t);
    sqlite3_bind_blob(f->put, 5, len ? (const void *)data : "", (int)len, SQLITE_STATIC);
    return step_done(f->put);
}

static void txn_abort(tc_file *f, uint64_t *failed)
{
    rollback(f->db);
    f->hashed = f->saved_hashed;
    f->hash = f->saved_hash;
    f->version = f->saved_version;
    *failed += f->txn_tiles;
    f->txn_tiles = 0;
    f->in_txn = false;
    f->txn_failed = true;
}

/* Writes a batch, one transaction per file, and frees the items. */
static void write_batch(tilecache *tc, qitem **items, size_t n, uint64_t *written, uint64_t *stale,
                        uint64_t *failed)
{
    for (size_t i = 0; i < n; i++) {
        const qitem *it = items[i];
        tc_file *f;
        if (it->version != tc->w_version) { /* cannot happen: the queue orders versions */
            (*stale)++;
            continue;
        }
        if (!(f = writer_file(tc, it->style)) || f->txn_failed) {
            (*failed)++;
            continue;
        }
        if (!f->in_txn) {
            if (exec(f->db, "BEGIN IMMEDIATE")) {
                f->txn_failed = true;
                (*failed)++;
                continue;
            }
            f->in_txn = true;
            f->saved_hashed = f->hashed;
            f->saved_hash = f->hash;
            f->saved_version = f->version;
        }
        f->txn_tiles++;
        if (write_tile(f, it)) txn_abort(f, failed);
    }
    for (tc_file *f = tc->files; f; f = f->next) {
        if (f->in_txn) {
            if (exec(f->db, "COMMIT")) {
                txn_abort(f, failed);
            } else {
                *written += f->txn_tiles;
                f->in_txn = false;
            }
        }
        f->txn_failed = false;
        f->txn_tiles = 0;
    }
    for (size_t i = 0; i < n; i++)
        qitem_free(items[i]);
}

static struct timespec deadline_after(long ns)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += ns;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

static void *writer_main(void *arg)
{
    tilecache *tc = arg;
    qitem *batch[TC_BATCH_TILES];
    pthread_mutex_lock(&tc->mu);
    for (;;) {
        tc->writer_idle = true;
        while (!tc->q_head && !tc->stop)
            pthread_cond_wait(&tc->work, &tc->mu);
        tc->writer_idle = false;
        if (!tc->q_head) break; /* stopping, and all is written */
        if (tc->q_head->barrier) {
            /* everything before the barrier is committed: hand the files to
             * the advance until it resumes us */
            dequeue(tc);
            tc->parked = true;
            pthread_cond_broadcast(&tc->done);
            while (tc->parked)
                pthread_cond_wait(&tc->work, &tc->mu);
            continue;
        }
        /* gather for a while: fewer commits under a stream of puts */
        struct timespec deadline = deadline_after(TC_BATCH_NS);
        while (!tc->stop && !tc->flushers && !tc->barrier_queued && tc->q_tiles < TC_BATCH_TILES)
            if (pthread_cond_timedwait(&tc->work, &tc->mu, &deadline) == ETIMEDOUT) break;
        size_t n = 0;
        while (n < TC_BATCH_TILES && tc->q_head && !tc->q_head->barrier)
            batch[n++] = dequeue(tc);
        uint64_t last = batch[n - 1]->seq, written = 0, stale = 0, failed = 0;
        pthread_mutex_unlock(&tc->mu);
        write_batch(tc, batch, n, &written, &stale, &failed);
        pthread_mutex_lock(&tc->mu);
        tc->disk_writes += written;
        tc->disk_dropped += stale;
        tc->disk_errors += failed;
        tc->done_seq = last;
        pthread_cond_broadcast(&tc->done);
    }
    pthread_mutex_unlock(&tc->mu);
    return NULL;
}

/* ---- open and close ---- */

static void tc_free(tilecache *tc)
{
    entry *gone = NULL;
    while (tc->lru_head)
        entry_remove(tc, tc->lru_head, &gone);
    entries_free(gone);
    while (tc->q_head) { /* empty unless the writer never ran */
        qitem *it = dequeue(tc);
        if (!it->barrier) qitem_free(it);
    }
    while (tc->files) {
        tc_file *f = tc->files;
        tc->files = f->next;
        file_free(f);
    }
    free(tc->buckets);
    free(tc->dir);
    pthread_cond_destroy(&tc->work);
    pthread_cond_destroy(&tc->done);
    pthread_mutex_destroy(&tc->mu);
    free(tc);
}

/* Makes dir (one level) unless it is there. */
static zs_status make_dir(const char *dir, zs_error *err)
{
    struct stat st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return zs_fail(err, ZS_EIO, "cannot make the tile cache folder '%s': %s", dir,
                       strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return zs_fail(err, ZS_EIO, "the tile cache folder '%s' is not a folder", dir);
    return ZS_OK;
}

/* Opens every <style>.mbtiles in the folder; other files are not ours and
 * stay untouched. */
static zs_status scan_dir(tilecache *tc, int64_t version, zs_error *err)
{
    DIR *d = opendir(tc->dir);
    if (!d)
        return zs_fail(err, ZS_EIO, "cannot read the tile cache folder '%s': %s", tc->dir,
                       strerror(errno));
    zs_status s = ZS_OK;
    for (struct dirent *de; !s && (de = readdir(d));) {
        size_t len = strlen(de->d_name), ext = sizeof ".mbtiles" - 1;
        char style[TC_STYLE_MAX + 1];
        if (len <= ext || len - ext > TC_STYLE_MAX || strcmp(de->d_name + len - ext, ".mbtiles"))
            continue;
        memcpy(style, de->d_name, len - ext);
        style[len - ext] = '\0';
        if (!style_ok(style)) continue;
        tc_file *f = file_new(tc->dir, style);
        if (!f) {
            s = zs_fail(err, ZS_ENOMEM, "out of memory opening the tile cache");
            break;
        }
        s = file_open(tc, f, version, err);
        if (s)
            file_free(f);
        else
            file_list(tc, f);
    }
    closedir(d);
    return s;
}

zs_status tilecache_open(const tilecache_config *cfg, tilecache **out, zs_error *err)
{
    *out = NULL;
    tilecache *tc = calloc(1, sizeof *tc);
    pthread_condattr_t ca;
    if (!tc) return zs_fail(err, ZS_ENOMEM, "out of memory opening the tile cache");
    tc->nbuckets = 1024;
    if (!(tc->buckets = calloc(tc->nbuckets, sizeof *tc->buckets)) ||
        (cfg->dir && !(tc->dir = strdup(cfg->dir)))) {
        free(tc->buckets);
        free(tc);
        return zs_fail(err, ZS_ENOMEM, "out of memory opening the tile cache");
    }
    /* a monotonic clock for the writer's gathering, immune to clock changes */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&tc->mu, NULL);
    pthread_cond_init(&tc->work, &ca);
    pthread_cond_init(&tc->done, NULL);
    pthread_condattr_destroy(&ca);
    tc->cap = cfg->mem_bytes ? cfg->mem_bytes : TC_DEFAULT_MEM;
    tc->version = tc->w_version = cfg->data_version;
    tc->barrier.barrier = true;
    zs_status s = ZS_OK;
    if (tc->dir) {
        s = make_dir(tc->dir, err);
        if (!s) s = scan_dir(tc, cfg->data_version, err);
        if (!s) {
            if (pthread_create(&tc->writer, NULL, writer_main, tc) != 0)
                s = zs_fail(err, ZS_ENOMEM, "cannot start the tile cache's writer thread");
            else
                tc->writer_started = true;
        }
    }
    if (s) {
        tc_free(tc);
        return s;
    }
    *out = tc;
    return ZS_OK;
}

void tilecache_close(tilecache *tc)
{
    if (!tc) return;
    if (tc->writer_started) {
        pthread_mutex_lock(&tc->mu);
        tc->stop = true; /* the writer empties the queue first */
        pthread_cond_broadcast(&tc->work);
        pthread_mutex_unlock(&tc->mu);
        pthread_join(tc->writer, NULL);
    }
    tc_free(tc);
}

void tilecache_flush(tilecache *tc)
{
    if (!tc || !tc->writer_started) return;
    pthread_mutex_lock(&tc->mu);
    uint64_t target = tc->enq_seq;
    tc->flushers++;
    pthread_cond_broadcast(&tc->work);
    while (tc->done_seq < target)
        pthread_cond_wait(&tc->done, &tc->mu);
    tc->flushers--;
    pthread_mutex_unlock(&tc->mu);
}

/* ---- get and put ---- */

hblob *tilecache_get(tilecache *tc, const tc_key *k, bool *from_disk)
{
    const char *variant;
    if (from_disk) *from_disk = false;
    if (!tc || !key_ok(k, &variant)) return NULL;
    uint64_t h = key_hash(k->style, k->style_hash, variant, k->t);

    pthread_mutex_lock(&tc->mu);
    entry *e = find(tc, h, k->style, k->style_hash, variant, k->t);
    if (e) {
        lru_unlink(tc, e);
        lru_push(tc, e);
        tc->mem_hits++;
        hblob *b = hblob_retain(e->blob);
        pthread_mutex_unlock(&tc->mu);
        return b;
    }
    int64_t version = tc->version;
    tc_file *f = file_find(tc, k->style);
    reader *r = NULL;
    if (f && f->broken) f = NULL;
    if (f && (r = f->idle)) {
        f->idle = r->next;
        f->nidle--;
    }
    if (!f) tc->misses++;
    pthread_mutex_unlock(&tc->mu);
    if (!f) return NULL;

    /* a new connection rather than waiting for one: reads never queue */
    if (!r) r = reader_open(f->path);
    size_t len = 0;
    unsigned char *data = r ? reader_get(r, variant, k->t, k->style_hash, version, &len) : NULL;
    hblob *b = data ? hblob_create(data, len, 't') : NULL;
    entry *ne = b ? entry_new(k, variant, h, b) : NULL, *gone = NULL;

    pthread_mutex_lock(&tc->mu);
    if (r && f->nidle < TC_IDLE_READERS) {
        r->next = f->idle;
        f->idle = r;
        f->nidle++;
        r = NULL;
    }
    if (b)
        tc->disk_hits++;
    else
        tc->misses++;
    if (ne) {
        /* not when an advance came in between: the tile may be one it drops */
        if (version == tc->version) {
            insert_locked(tc, ne, false, &gone);
        } else {
            ne->hnext = gone;
            gone = ne;
        }
    }
    pthread_mutex_unlock(&tc->mu);
    entries_free(gone);
    reader_close(r);
    if (b && from_disk) *from_disk = true;
    return b;
}

void tilecache_put(tilecache *tc, const tc_key *k, int64_t data_version, hblob *blob)
{
    const char *variant;
    if (!tc || !blob || !key_ok(k, &variant)) return;
    uint64_t h = key_hash(k->style, k->style_hash, variant, k->t);
    entry *e = entry_new(k, variant, h, blob), *gone = NULL;
    qitem *it = tc->writer_started ? qitem_new(k, variant, data_version, blob) : NULL;

    pthread_mutex_lock(&tc->mu);
    if (data_version == tc->version) {
        if (e) insert_locked(tc, e, true, &gone);
        e = NULL;
        if (it && (tc->q_tiles >= TC_QUEUE_TILES || tc->q_bytes + it->bytes > TC_QUEUE_BYTES)) {
            tc->disk_dropped++; /* the disk is behind; it is only a cache */
        } else if (it) {
            it->seq = ++tc->enq_seq;
            enqueue(tc, it);
            tc->q_tiles++;
            tc->q_bytes += it->bytes;
            it = NULL;
            if (tc->writer_idle || tc->q_tiles == TC_BATCH_TILES) pthread_cond_signal(&tc->work);
        }
    }
    pthread_mutex_unlock(&tc->mu);
    if (e) { /* another data version */
        e->hnext = gone;
        gone = e;
    }
    entries_free(gone);
    qitem_free(it);
}

/* ---- advance ---- */

typedef struct {
    char style[TC_STYLE_MAX + 1];
    uint64_t hash;
    double reach[TC_ZOOMS];
} reach_row;

static reach_row *reach_find(reach_row *rows, size_t n, const char *style, uint64_t hash)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].hash == hash && strcmp(rows[i].style, style) == 0) return &rows[i];
    return NULL;
}

/* The distinct (style, hash) of the tiles in memory. On running out of
 * memory some are missing: their tiles are then dropped, which is safe. */
static reach_row *memory_styles(tilecache *tc, size_t *n)
{
    reach_row *rows = NULL;
    size_t cap = 0;
    *n = 0;
    pthread_mutex_lock(&tc->mu);
    for (entry *e = tc->lru_head; e; e = e->next) {
        if (reach_find(rows, *n, e->style, e->style_hash)) continue;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            reach_row *r = realloc(rows, nc * sizeof *r);
            if (!r) break;
            rows = r;
            cap = nc;
        }
        snprintf(rows[*n].style, sizeof rows[*n].style, "%s", e->style);
        rows[(*n)++].hash = e->style_hash;
    }
    pthread_mutex_unlock(&tc->mu);
    return rows;
}

/* Fills reach[] for style and hash; true when some zoom keeps tiles. */
static bool fill_reach(double reach[TC_ZOOMS], const char *style, uint64_t hash, tc_reach_fn fn,
                       void *ctx)
{
    bool keeps = false;
    for (int z = 0; z < TC_ZOOMS; z++) {
        reach[z] = fn(ctx, style, hash, z);
        keeps |= reach[z] >= 0;
    }
    return keeps;
}

/* Each file, in one transaction: drops the rows a touches and stamps the
 * new version. Runs while the writer is parked, so it owns the write
 * connections; a file that fails keeps its old stamp, so nothing in it is
 * read at the new version and the writer's next put empties it. */
static zs_status disk_advance(tilecache *tc, adv_state *a, int64_t version, tc_reach_fn fn,
                              void *ctx, zs_error *err)
{
    zs_status first = ZS_OK;
    uint64_t dropped = 0;
    for (tc_file *f = tc->files; f; f = f->next) {
        if (f->broken) continue;
        const char *sql = NULL;
        if (a->all) {
            sql = "DELETE FROM cache_tiles";
        } else if (f->hashed) {
            bool keeps = fill_reach(a->reach, f->style, f->hash, fn, ctx), some_go = false;
            for (int z = 0; z < TC_ZOOMS; z++)
                some_go |= !(a->reach[z] >= 0);
            if (!keeps)
                sql = "DELETE FROM cache_tiles";
            else if (a->n || some_go)
                sql = "DELETE FROM cache_tiles WHERE zs_touched(zoom_level, tile_column, tile_row)";
        } /* else: no tile was ever written to it */
        int rc = exec(f->db, "BEGIN IMMEDIATE");
        int changes = 0;
        if (!rc && sql) {
            tc->adv = a;
            rc = exec(f->db, sql);
            tc->adv = NULL;
            changes = sqlite3_changes(f->db);
        }
        if (!rc) rc = meta_set(f, "zsmap_data_version", version_text(version).s);
        if (!rc) rc = exec(f->db, "COMMIT");
        if (rc) {
            zs_error e1;
            file_fail(&e1, f, "dropping changed tiles");
            rollback(f->db);
            if (!first) first = zs_fail(err, ZS_EDB, "%s", e1.msg);
            continue;
        }
        f->version = version;
        dropped += (uint64_t)changes;
    }
    pthread_mutex_lock(&tc->mu);
    tc->dropped += dropped;
    pthread_mutex_unlock(&tc->mu);
    return first;
}

zs_status tilecache_advance(tilecache *tc, int64_t data_version, const sidx_box *changed, size_t n,
                            tc_reach_fn reach, void *reach_ctx, zs_error *err)
{
    if (!tc) return zs_fail(err, ZS_EINVAL, "no tile cache to advance");
    if (changed && !reach) return zs_fail(err, ZS_EINVAL, "advancing the tile cache needs a reach");
    adv_state a = {.all = !changed, .boxes = changed, .n = changed ? n : 0};
    /* without the index (out of memory) the boxes are tested one by one */
    if (a.n > TC_BRUTE_BOXES && a.n <= UINT32_MAX) a.ix = sidx_build(changed, (uint32_t)a.n, 0);
    size_t nrows = 0;
    reach_row *rows = a.all ? NULL : memory_styles(tc, &nrows);
    for (size_t i = 0; i < nrows; i++)
        fill_reach(rows[i].reach, rows[i].style, rows[i].hash, reach, reach_ctx);

    entry *gone = NULL;
    uint64_t dropped = 0;
    pthread_mutex_lock(&tc->mu);
    tc->version = data_version;
    for (entry *e = tc->lru_head, *next; e; e = next) {
        next = e->next;
        /* a style that came in since memory_styles() is not in rows: dropped */
        const reach_row *row = a.all ? NULL : reach_find(rows, nrows, e->style, e->style_hash);
        if (a.all || !row || touched(&a, e->t, row->reach[e->t.z])) {
            entry_remove(tc, e, &gone);
            dropped++;
        }
    }
    tc->dropped += dropped;
    if (tc->writer_started) {
        /* puts queued so far (old version) are written first; later ones
         * carry the new version and wait behind the barrier */
        enqueue(tc, &tc->barrier);
        tc->barrier_queued = true;
        pthread_cond_broadcast(&tc->work);
        while (!tc->parked)
            pthread_cond_wait(&tc->done, &tc->mu);
    }
    pthread_mutex_unlock(&tc->mu);
    entries_free(gone);

    zs_status s = ZS_OK;
    if (tc->writer_started) {
        s = disk_advance(tc, &a, data_version, reach, reach_ctx, err);
        tc->w_version = data_version;
        pthread_mutex_lock(&tc->mu);
        tc->parked = false;
        pthread_cond_broadcast(&tc->work);
        pthread_mutex_unlock(&tc->mu);
    }
    sidx_destroy(a.ix);
    free(rows);
    return s;
}

void tilecache_get_stats(tilecache *tc, tilecache_stats *out)
{
    *out = (tilecache_stats){0};
    if (!tc) return;
    pthread_mutex_lock(&tc->mu);
    *out = (tilecache_stats){
        .data_version = tc->version,
        .mem_tiles = tc->count,
        .mem_bytes = tc->bytes,
        .mem_hits = tc->mem_hits,
        .disk_hits = tc->disk_hits,
        .misses = tc->misses,
        .disk_writes = tc->disk_writes,
        .dropped = tc->dropped,
        .disk_dropped = tc->disk_dropped,
        .disk_errors = tc->disk_errors,
    };
    pthread_mutex_unlock(&tc->mu);
}
