/* The carrier store: one SpatiaLite file with a versioned schema, forward
 * migrations, WAL, foreign keys, and a data version that every committed
 * change increments. The one module that includes sqlite3.h and spatialite.h.
 * Geometry is stored in lon/lat, CGCS2000 (EPSG:4490), with spatial indexes. */
#ifndef ZS_STORE_H
#define ZS_STORE_H

#include "error.h"
#include "layer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 2

typedef struct store store;

/* One field's value; which member counts follows the field's type
 * (TEXT/ENUM/LIST: text, REAL: real, INT: integer). */
typedef struct {
    bool null;
    bool absent;      /* the source has no such field: an update keeps the stored value */
    const char *text; /* UTF-8, borrowed */
    double real;
    long long integer;
} store_value;

/* Opens the store at path, creating it when create is true and it does not
 * exist, migrates the schema to STORE_SCHEMA_VERSION and checks integrity.
 * Returns a new store in *out, close with store_close(). */
zs_status store_open(const char *path, bool create, store **out, zs_error *err);

/* Like store_open() but migrates only up to schema version (for tests of
 * migrations); version 0 leaves a new file empty. */
zs_status store_open_at(const char *path, bool create, int version, store **out, zs_error *err);

void store_close(store *st);

/* The schema version of the open file. */
int store_schema_version(const store *st);

/* The path the store was opened with and the folder of its photos
 * ("<path>.photos"); borrowed. */
const char *store_path(const store *st);
const char *store_photo_dir(const store *st);

/* One write transaction: begin, any number of upserts, then commit (which
 * increments the data version) or rollback. Only one at a time per store. */
zs_status store_begin(store *st, zs_error *err);
zs_status store_commit(store *st, zs_error *err);
void store_rollback(store *st);

/* Inserts or updates (by id) one feature of layer in the open transaction.
 * values[i] is the value of layer field i (FIELD_PHOTOS entries are ignored);
 * wkb is its geometry in EPSG:4490 lon/lat: (Multi)Polygon for polygon
 * layers (a Point is accepted for carriers), (Multi)LineString for roads.
 * A carrier id already used in another carrier layer, or a park that does not
 * exist, is ZS_EINVAL. *inserted (may be NULL) tells insert from update. */
zs_status store_upsert(store *st, layer_id layer, const store_value *values,
                       const unsigned char *wkb, size_t wkb_len, bool *inserted, zs_error *err);

/* Replaces the photos of a carrier with those given; file and thumb are
 * names inside store_photo_dir(). */
typedef struct {
    const char *carrier_id;
    const char *file;
    const char *thumb;
    const char *caption; /* may be NULL */
    int sort;
} store_photo;
zs_status store_clear_photos(store *st, const char *carrier_id, zs_error *err);
zs_status store_add_photo(store *st, const store_photo *photo, zs_error *err);

/* Records one import in the open transaction. */
typedef struct {
    const char *layer;
    const char *source;       /* input path */
    const char *source_layer; /* layer inside the input */
    const char *source_crs;   /* as given or as read from the file */
    long features, inserted, updated, repaired, skipped;
} store_import;
zs_status store_record_import(store *st, const store_import *imp, zs_error *err);

/* The data version: 0 for a new store, +1 per committed change. */
zs_status store_data_version(store *st, int64_t *out, zs_error *err);

/* Number of features in a layer, of photos, of recorded imports. */
zs_status store_count(store *st, layer_id layer, int64_t *out, zs_error *err);
zs_status store_count_photos(store *st, int64_t *out, zs_error *err);

/* One stored feature as read back: values in layer field order (FIELD_PHOTOS
 * entries null), its version, and its geometry as WKB in EPSG:4490. All
 * pointers are valid only during the callback. */
typedef struct {
    const store_value *values;
    int64_t version;
    const unsigned char *wkb;
    size_t wkb_len;
} store_row;

/* Calls fn for each feature of layer in id order; fn returns false to stop
 * early (still ZS_OK). */
typedef bool (*store_row_fn)(const store_row *row, void *ctx);
zs_status store_read_layer(store *st, layer_id layer, store_row_fn fn, void *ctx, zs_error *err);

/* Calls fn for each photo, by carrier and sort order. */
typedef bool (*store_photo_fn)(const store_photo *photo, void *ctx);
zs_status store_read_photos(store *st, store_photo_fn fn, void *ctx, zs_error *err);

/* Calls fn for each board (zone): Chinese and English name. */
typedef bool (*store_board_fn)(const char *name_zh, const char *name_en, void *ctx);
zs_status store_read_boards(store *st, store_board_fn fn, void *ctx, zs_error *err);

#endif
