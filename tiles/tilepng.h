/* PNG encoding of rendered tiles with libpng (the one module that includes
 * png.h), tuned by measurement: zlib level 1-3 with filter NONE, RGB when the
 * image is opaque, an exact palette when it has at most 256 colours. */
#ifndef ZS_TILEPNG_H
#define ZS_TILEPNG_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int zlib_level;    /* 0-9; default 2 */
    int allow_palette; /* nonzero: use a palette when the colours fit; default on */
} tilepng_options;

#define TILEPNG_DEFAULTS ((tilepng_options){2, 1})

/* Encodes a premultiplied ARGB32 image (native endian, stride in bytes).
 * Returns a new buffer in *png (free with free()) and its size. */
zs_status tilepng_encode(const uint32_t *argb, int width, int height, int stride,
                         tilepng_options opt, unsigned char **png, size_t *len, zs_error *err);

/* tilepng_encode with an explicit filter (TILEPNG_FILTER_*) and zlib
 * strategy (-1: libpng's choice, else Z_DEFAULT_STRATEGY 0, Z_FILTERED 1,
 * Z_HUFFMAN_ONLY 2, Z_RLE 3): the hook the encoder's measurements use. */
enum {
    TILEPNG_FILTER_NONE,
    TILEPNG_FILTER_SUB,
    TILEPNG_FILTER_UP,
    TILEPNG_FILTER_AVG,
    TILEPNG_FILTER_PAETH,
    TILEPNG_FILTER_ALL,
};
zs_status tilepng_encode_tuned(const uint32_t *argb, int width, int height, int stride,
                               tilepng_options opt, int filter, int strategy, unsigned char **png,
                               size_t *len, zs_error *err);

/* Decodes any PNG into straight (not premultiplied) RGBA bytes, 4 per pixel,
 * row-major (for tests and comparisons). Returns a new buffer in *rgba. */
zs_status tilepng_decode(const unsigned char *png, size_t len, unsigned char **rgba, int *width,
                         int *height, zs_error *err);

#endif
