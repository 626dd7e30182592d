/* JPEG photos of carriers: made by code for the demo, checked and shrunk to
 * thumbnails on import. The one module that includes jpeglib.h. */
#ifndef ZS_PHOTO_H
#define ZS_PHOTO_H

#include "error.h"

#include <stdint.h>

/* Writes a w x h JPEG "photo" (a sky, ground and a building facade whose
 * colours and window grid follow seed) to path. Same seed, same bytes. */
zs_status photo_make_demo(const char *path, int w, int h, uint32_t seed, zs_error *err);

/* Checks that path is a readable JPEG and gives its size in pixels. */
zs_status photo_probe(const char *path, int *w, int *h, zs_error *err);

/* Reads the JPEG src and writes dst, scaled to at most max_px on its longer
 * side (never enlarged), as JPEG quality 80. */
zs_status photo_thumbnail(const char *src, const char *dst, int max_px, zs_error *err);

#endif
