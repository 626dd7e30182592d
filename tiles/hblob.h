/* Shared bodies: a cached tile's bytes, immutable, reference-counted, with a
 * strong ETag made from the bytes (so a tile read back from the disk cache
 * has the ETag it was first served with). The HTTP layer may attach a
 * transport object (a response built once and queued again for every
 * request) that lives and dies with the blob. */
#ifndef ZS_HBLOB_H
#define ZS_HBLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hblob hblob;

/* A 64-bit hash of the bytes, 8 at a time, continuing from h (start with
 * HASH_SEED): ETags, cache keys, style versions. Not for adversaries. */
uint64_t hash64(const void *data, size_t len, uint64_t h);
#define HASH_SEED 0xcbf29ce484222325ull

/* Writes "\"<prefix><16 hex digits of the bytes' hash><suffix>\"" to out. */
void make_etag(char *out, size_t size, char prefix, const void *data, size_t len,
               const char *suffix);

/* Takes ownership of data (malloc'd). Returns a blob with one reference, or
 * NULL (data freed) when out of memory. The ETag prefix tells kinds apart
 * ('t' for tiles). */
hblob *hblob_create(unsigned char *data, size_t len, char etag_prefix);

/* Takes one more reference; returns b (NULL stays NULL). */
hblob *hblob_retain(hblob *b);

/* Drops one reference; the last frees the blob and its transports. b may be NULL. */
void hblob_release(hblob *b);

/* The body, borrowed for as long as a reference is held. */
const unsigned char *hblob_data(const hblob *b, size_t *len);

/* The strong ETag with its quotes, e.g. "\"t1f2e3d4c5b6a798\"". */
const char *hblob_etag(const hblob *b);

/* The transport in slot which (0..HBLOB_TRANSPORTS-1), or NULL. */
void *hblob_transport(hblob *b, int which);

/* Attaches t to slot which unless another thread did first: returns true when t
 * was attached (the blob now owns it and calls free_fn(t) when it is freed),
 * false when the slot was taken (the caller still owns t). */
bool hblob_attach_transport(hblob *b, int which, void *t, void (*free_fn)(void *));

#define HBLOB_TRANSPORTS 2 /* 0: the 200 response, 1: the 304 response */

#endif
