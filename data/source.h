/* Where a snapshot's data comes from: an ops table over a back end, so that a
 * PostGIS source can be added beside SpatiaLite without touching the snapshot
 * or the renderer. A source only reads. Rows use the store's formats
 * (store_row: values in layer field order, WKB geometry in EPSG:4490 lon/lat;
 * store_photo; boards as Chinese and English name). */
#ifndef ZS_SOURCE_H
#define ZS_SOURCE_H

#include "error.h"
#include "layer.h"
#include "store.h"

#include <stdint.h>

typedef struct source source;

/* A back end. Each read calls fn once per item (pointers valid only during
 * the call) until the end or until fn returns false (still ZS_OK). */
typedef struct {
    const char *name; /* "spatialite", "postgis": for messages and /metrics */
    /* The data version: increases with every committed change. */
    zs_status (*data_version)(void *impl, int64_t *out, zs_error *err);
    /* The features of a layer, in any order. */
    zs_status (*read_layer)(void *impl, layer_id layer, store_row_fn fn, void *ctx, zs_error *err);
    /* All photos, each carrier's in display order. */
    zs_status (*read_photos)(void *impl, store_photo_fn fn, void *ctx, zs_error *err);
    /* All boards (zones); name_en may be NULL. */
    zs_status (*read_boards)(void *impl, store_board_fn fn, void *ctx, zs_error *err);
    /* The folder holding the photo files, borrowed; NULL op or NULL result
     * when the back end keeps no photo files. */
    const char *(*photo_dir)(const void *impl);
    /* Releases impl; NULL when the source does not own it. */
    void (*close)(void *impl);
} source_ops;

/* Wraps a back end: ops is borrowed (normally static), impl is owned by the
 * source from now on and released with ops->close in source_close(), also
 * when this fails. Returns a new source in *out, free with source_close(). */
zs_status source_create(const source_ops *ops, void *impl, source **out, zs_error *err);

/* Opens the SpatiaLite store at path (which must exist) for reading.
 * Returns a new source in *out, free with source_close(). */
zs_status source_open_spatialite(const char *path, source **out, zs_error *err);

/* A source over an already open store, borrowed: the store must outlive the
 * source and source_close() leaves it open. Returns a new source in *out. */
zs_status source_from_store(store *st, source **out, zs_error *err);

/* Closes the source and its back end; src may be NULL. */
void source_close(source *src);

/* The back end's name, never NULL. */
const char *source_name(const source *src);

/* The photo folder, borrowed; NULL for sources without one. */
const char *source_photo_dir(const source *src);

/* The reads of source_ops; a source is used by one thread at a time. */
zs_status source_data_version(source *src, int64_t *out, zs_error *err);
zs_status source_read_layer(source *src, layer_id layer, store_row_fn fn, void *ctx, zs_error *err);
zs_status source_read_photos(source *src, store_photo_fn fn, void *ctx, zs_error *err);
zs_status source_read_boards(source *src, store_board_fn fn, void *ctx, zs_error *err);

#endif
