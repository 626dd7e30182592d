#include "source.h"

#include <stdlib.h>

struct source {
    const source_ops *ops;
    void *impl;
};

zs_status source_create(const source_ops *ops, void *impl, source **out, zs_error *err)
{
    *out = NULL;
    source *src = malloc(sizeof *src);
    if (!src) {
        if (ops->close) ops->close(impl);
        return zs_fail(err, ZS_ENOMEM, "out of memory opening a %s source", ops->name);
    }
    src->ops = ops;
    src->impl = impl;
    *out = src;
    return ZS_OK;
}

void source_close(source *src)
{
    if (!src) return;
    if (src->ops->close) src->ops->close(src->impl);
    free(src);
}

const char *source_name(const source *src)
{
    return src->ops->name;
}

const char *source_photo_dir(const source *src)
{
    return src->ops->photo_dir ? src->ops->photo_dir(src->impl) : NULL;
}

zs_status source_data_version(source *src, int64_t *out, zs_error *err)
{
    return src->ops->data_version(src->impl, out, err);
}

zs_status source_read_layer(source *src, layer_id layer, store_row_fn fn, void *ctx, zs_error *err)
{
    if (layer >= LAYER_COUNT) return zs_fail(err, ZS_EINVAL, "no layer number %d", (int)layer);
    return src->ops->read_layer(src->impl, layer, fn, ctx, err);
}

zs_status source_read_photos(source *src, store_photo_fn fn, void *ctx, zs_error *err)
{
    return src->ops->read_photos(src->impl, fn, ctx, err);
}

zs_status source_read_boards(source *src, store_board_fn fn, void *ctx, zs_error *err)
{
    return src->ops->read_boards(src->impl, fn, ctx, err);
}

/* ---- SpatiaLite: the store itself is the back end ------------------------ */

static zs_status sl_data_version(void *impl, int64_t *out, zs_error *err)
{
    return store_data_version(impl, out, err);
}

static zs_status sl_read_layer(void *impl, layer_id layer, store_row_fn fn, void *ctx,
                               zs_error *err)
{
    return store_read_layer(impl, layer, fn, ctx, err);
}

static zs_status sl_read_photos(void *impl, store_photo_fn fn, void *ctx, zs_error *err)
{
    return store_read_photos(impl, fn, ctx, err);
}

static zs_status sl_read_boards(void *impl, store_board_fn fn, void *ctx, zs_error *err)
{
    return store_read_boards(impl, fn, ctx, err);
}

static const char *sl_photo_dir(const void *impl)
{
    return store_photo_dir(impl);
}

static void sl_close(void *impl)
{
    store_close(impl);
}

static const source_ops spatialite_owned = {
    "spatialite",   sl_data_version, sl_read_layer, sl_read_photos,
    sl_read_boards, sl_photo_dir,    sl_close,
};

static const source_ops spatialite_borrowed = {
    "spatialite",   sl_data_version, sl_read_layer, sl_read_photos,
    sl_read_boards, sl_photo_dir,    NULL,
};

zs_status source_open_spatialite(const char *path, source **out, zs_error *err)
{
    *out = NULL;
    store *st;
    /* create = false: a missing file is an error, never a new empty store. */
    zs_status s = store_open(path, false, &st, err);
    if (s) return s;
    return source_create(&spatialite_owned, st, out, err);
}

zs_status source_from_store(store *st, source **out, zs_error *err)
{
    return source_create(&spatialite_borrowed, st, out, err);
}
