/* What changed between two snapshots. A digest holds, per feature of every
 * layer, a 64-bit hash of its layer and id, a 64-bit hash of everything a
 * map can show of it (geometry, names, the carrier's numbers, road
 * class) and its bbox in EPSG:3857 metres. Comparing two digests gives
 * the boxes where the map may differ: the old and new extent of every
 * feature changed, and the extent of every feature added or removed.
 *
 * What counts as a change: the geometry (every point, bit for bit, and each
 * part's role and size), a carrier's kind, names, status, park, land use,
 * industries, every number of snap_carrier (NaN equals NaN), a context's
 * names and road class: what styles and filters read. The profile JSON and
 * the versions are left out, so a carrier stored again unchanged, or a
 * park whose statistics moved because a building in it changed, leaves
 * its tiles cached. A feature with an empty
 * geometry has a NaN bbox: it adds no box, whatever happened to it.
 *
 * Ids are expected to be unique per layer (the store makes them so). When
 * they are not, the k-th feature (in layer order) with a given id is
 * compared with the k-th one of the other digest; reordering or removing
 * such features then reports more boxes, never fewer.
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

/* The digest of every feature of s (borrowed; not kept). Returns a new
 * digest in *out, free with digest_free(). O(points + n log n). */
zs_status digest_build(const snapshot *s, digest **out, zs_error *err);

/* d may be NULL. */
void digest_free(digest *d);

/* The data version of the snapshot it was built from. */
int64_t digest_data_version(const digest *d);

/* Features in the digest. */
size_t digest_count(const digest *d);

/* The boxes (EPSG:3857 metres, inclusive) where a (old) and b (new) differ,
 * as a new array in *boxes (free with free(); NULL when *n is 0): the box of
 * each feature only in a (removed) or only in b (added), and of each feature
 * in both whose hash differs its old box and, when not the same, its new
 * one. Boxes are not merged and may repeat. */
zs_status digest_diff(const digest *a, const digest *b, sidx_box **boxes, size_t *n, zs_error *err);

/* Writes d to path atomically: to path + ".tmp", synced, renamed over path,
 * and the folder synced. The folder must exist. */
zs_status digest_save(const digest *d, const char *path, zs_error *err);

/* Reads a digest saved by digest_save(). Returns a new digest in *out, free
 * with digest_free(). A missing file is ZS_ENOTFOUND; a foreign, truncated
 * or damaged file (or one of another format version) ZS_EINVAL; a failed
 * read ZS_EIO; each message names the file and the problem. */
zs_status digest_load(const char *path, digest **out, zs_error *err);

#endif
