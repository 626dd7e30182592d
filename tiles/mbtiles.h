/* MBTiles 1.3 files: the seed's output and the server's tile cache. A
 * metadata table and tiles keyed by zoom, column and TMS row (row 0 at the
 * bottom, the XYZ y flipped). Writes go in batches inside transactions, so a
 * seed killed midway keeps every batch it committed and resumes from there. */
#ifndef ZS_MBTILES_H
#define ZS_MBTILES_H

#include "error.h"
#include "tile.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct mbtiles mbtiles;

/* Opens path, creating the file and its tables when missing. Returns a new
 * handle, close with mbtiles_close(). One thread at a time per handle. */
zs_status mbtiles_open(const char *path, mbtiles **out, zs_error *err);
void mbtiles_close(mbtiles *mb);

/* Sets one metadata row (name, format, bounds, center, minzoom, maxzoom,
 * attribution, description, type, version, ...). */
zs_status mbtiles_set_metadata(mbtiles *mb, const char *name, const char *value, zs_error *err);

/* Stores a tile (XYZ coordinates) in the open batch, replacing any. */
zs_status mbtiles_put(mbtiles *mb, tile_coord t, const unsigned char *data, size_t len,
                      zs_error *err);

/* Commits the tiles put since the last flush. */
zs_status mbtiles_flush(mbtiles *mb, zs_error *err);

/* True (and *present) when the tile is stored. */
zs_status mbtiles_has(mbtiles *mb, tile_coord t, bool *present, zs_error *err);

/* Reads a tile; *data is a new buffer (free with free()), NULL when absent. */
zs_status mbtiles_get(mbtiles *mb, tile_coord t, unsigned char **data, size_t *len, zs_error *err);

#endif
