/* What changed between two snapshots. A digest holds, per feature of every
 * layer, a 64-bit hash of its layer and id, a 64-bit hash of everything a
 * map can show of it (geometry, names, the carrier's numbers and profile,
 * road class) and its bbox in EPSG:3857 metres. Comparing two digests gives
 * the boxes where the map may differ: the old and new extent of every
 * feature changed, and the extent of every feature added or removed.
 *
 * A digest is saved to a file next to the tile cache, so that a server
 * started after an import knows which cached tiles the import touched. */
#ifndef ZS_DIGEST_H
#define ZS_DIGEST_H

#include "error.h"
#include "sidx.h"
#include "snapshot.h"

#include <stddef.h>
#include <stdint.h>

typedef struct digest digest;

/* The digest of every feature of s. Returns a new digest in *out, free with
 * digest_free(). */
zs_status digest_build(const snapshot *s, digest **out, zs_error *err);

void digest_free(digest *d);

/* The data version of the snapshot it was built from. */
int64_t digest_data_version(const digest *d);

/* Features in the digest. */
size_t digest_count(const digest *d);

/* The boxes where a and b differ, as a new array in *boxes (free with
 * free(); NULL when *n is 0). */
zs_status digest_diff(const digest *a, const digest *b, sidx_box **boxes, size_t *n,
                      zs_error *err);

/* Writes d to path atomically (a temporary file renamed over it, synced). */
zs_status digest_save(const digest *d, const char *path, zs_error *err);

/* Reads a digest saved by digest_save(); a missing, truncated or foreign
 * file is an error naming the file (ZS_ENOENT when missing). */
zs_status digest_load(const char *path, digest **out, zs_error *err);

#endif
