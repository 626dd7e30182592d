/* The tile cache: rendered tiles kept in memory (bounded in bytes, least
 * recently used out first) and, given a folder, on disk in MBTiles files,
 * one per style (<dir>/<style>.mbtiles), so that a restart serves them
 * again without rendering. Any thread may get and put; disk writes go
 * through one writer thread in batched transactions, so a request never
 * waits for the disk to write.
 *
 * A tile is named by its style, the style's content hash (another hash is
 * another tile), a variant ("" for the plain 256 px tile, "@2x", a heat
 * map's canonical filter ...) and z/x/y. Every cached tile belongs to one
 * data version, the cache's: tilecache_advance() moves the cache to a new
 * data version, dropping the tiles whose extent plus their style's reach
 * meets a changed box and keeping every other. A put rendered from another
 * data version is ignored, so a render that started before a change never
 * stores a stale tile.
 *
 * On disk, each file is an MBTiles 1.3 file whose `tiles` is a view of the
 * plain variant (GDAL and other MBTiles readers open it); every variant is
 * in the table `cache_tiles`, and the metadata holds the style hash and the
 * data version of the tiles (zsmap_style_hash, zsmap_data_version). A file
 * holds one style hash: a put with another empties it first. The folder
 * belongs to one process; files in it not named <style>.mbtiles are left
 * alone. */
#ifndef ZS_TILECACHE_H
#define ZS_TILECACHE_H

#include "error.h"
#include "hblob.h"
#include "sidx.h"
#include "tile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tilecache tilecache;

typedef struct {
    const char *dir;      /* folder for the MBTiles files, made when missing; NULL: memory only */
    size_t mem_bytes;     /* memory for tiles; 0: 256 MB */
    int64_t data_version; /* the cache's data version: files holding another are emptied */
} tilecache_config;

typedef struct {
    const char *style;   /* [A-Za-z0-9_-]{1,64}: the file <dir>/<style>.mbtiles */
    uint64_t style_hash; /* the style's content hash */
    const char *variant; /* "" for the plain tile; any other UTF-8 text below 1 KB */
    tile_coord t;
} tc_key;

/* Opens the cache (and the files already in dir): each <style>.mbtiles
 * holding another data version than cfg's is emptied and restamped. A
 * <style>.mbtiles that is not SQLite or has no cache_tiles table is an
 * error naming it (and left as it was): the cache would otherwise write
 * into someone else's file. Returns a new cache in *out, close with
 * tilecache_close(). */
zs_status tilecache_open(const tilecache_config *cfg, tilecache **out, zs_error *err);

/* Writes what is queued, stops the writer and frees tc; tc may be NULL. */
void tilecache_close(tilecache *tc);

/* The tile, from memory or else from disk (then kept in memory too), as a
 * new reference; NULL when neither has it or k is not valid (bad style
 * name, variant of 1 KB or more, tile outside the pyramid). *from_disk (may
 * be NULL) tells where it came from. Never waits for the disk writer. */
hblob *tilecache_get(tilecache *tc, const tc_key *k, bool *from_disk);

/* Keeps blob (the cache takes its own reference; the caller keeps its own)
 * as the tile k rendered from data_version; ignored when that is not the
 * cache's data version or k is not valid. On disk it lands with the
 * writer's next batch, or is dropped (counted) when the writer is too far
 * behind. */
void tilecache_put(tilecache *tc, const tc_key *k, int64_t data_version, hblob *blob);

/* How far (pixels of a 256 px tile) a style reaches at zoom z
 * (render_reach_px); negative when the style is gone, so all its tiles go. */
typedef double (*tc_reach_fn)(void *ctx, const char *style, uint64_t style_hash, int z);

/* Moves the cache to data_version. changed: the boxes (EPSG:3857 metres) of
 * every feature added, removed or changed (old and new extents); NULL drops
 * every tile. A tile is dropped when its extent grown by reach(style, z)
 * pixels meets a box (edges touching count), in memory and on disk; the
 * disk is updated before this returns. reach is called from this thread,
 * without the cache's lock. On a disk error the cache still moves (a file
 * that failed is no longer read, and emptied on its next write) and the
 * error names the file. Call from one thread at a time. */
zs_status tilecache_advance(tilecache *tc, int64_t data_version, const sidx_box *changed, size_t n,
                            tc_reach_fn reach, void *reach_ctx, zs_error *err);

/* Waits until every put so far is on disk (or dropped). */
void tilecache_flush(tilecache *tc);

typedef struct {
    int64_t data_version;
    size_t mem_tiles, mem_bytes;
    uint64_t mem_hits, disk_hits, misses; /* gets answered from memory, from disk, by neither */
    uint64_t disk_writes;                 /* tiles written to disk */
    uint64_t dropped;                     /* tiles dropped by tilecache_advance (memory + disk) */
    uint64_t disk_dropped; /* disk writes dropped because the writer was too far behind */
    uint64_t disk_errors;  /* disk writes lost to a failed write or a file that cannot be made */
} tilecache_stats;

void tilecache_get_stats(tilecache *tc, tilecache_stats *out);

#endif
