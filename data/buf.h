/* A size-capped growable byte buffer for generated output (JSON bodies,
 * later PNG): appends grow it up to a cap fixed at init, and an append that
 * would pass the cap fails with ZS_ENOMEM instead of truncating. The content
 * is always NUL-terminated (the NUL is not counted in the length or cap).
 *
 * Failures are sticky: after a failed append every later append fails too,
 * so a writer may append a whole document and check the last status only;
 * zs_buf_rollback() or zs_buf_reset() clears the failure. A failed append
 * adds nothing (never a partial string). */
#ifndef ZS_BUF_H
#define ZS_BUF_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>

/* Fields are private: use the functions. A zeroed zs_buf is not valid;
 * call zs_buf_init() first. */
typedef struct {
    char *data;   /* malloc'd, NULL until the first append */
    size_t len;   /* content bytes, without the NUL */
    size_t alloc; /* bytes allocated, including room for the NUL */
    size_t max;   /* cap on len */
    bool failed;  /* an append failed: later appends fail until rollback or reset */
} zs_buf;

/* An empty buffer that may hold up to max bytes. Allocates nothing. */
void zs_buf_init(zs_buf *b, size_t max);

/* Frees the content and leaves b empty (still usable, same cap); b may be NULL. */
void zs_buf_free(zs_buf *b);

/* Empties b, keeping its memory, and clears a failure. */
void zs_buf_reset(zs_buf *b);

/* Shrinks b back to mark bytes (a length it had before; ignored when larger
 * than the length) and clears a failure: how a writer undoes a half-written
 * document. */
void zs_buf_rollback(zs_buf *b, size_t mark);

/* Appends n bytes (which may contain NULs). ZS_ENOMEM when the result would
 * pass the cap, when memory runs out, or after an earlier failure. */
zs_status zs_buf_append(zs_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. */
zs_status zs_buf_puts(zs_buf *b, const char *s);

/* Appends printf-formatted text. */
zs_status zs_buf_printf(zs_buf *b, const char *fmt, ...) ZS_PRINTF(2, 3);

/* Appends s as a JSON string with its quotes: '"', '\\' and control
 * characters below U+0020 escaped, everything else (UTF-8 included) copied
 * as is; s must be valid UTF-8 (not checked). NULL appends null. */
zs_status zs_buf_json_str(zs_buf *b, const char *s);

/* The same for n bytes at s. */
zs_status zs_buf_json_strn(zs_buf *b, const char *s, size_t n);

/* Appends a JSON number: 15 significant digits, the shortest form printf's
 * %.15g gives ("2.8", "20000", "1e+21"), whatever the C locale's decimal
 * point; NaN and infinities append null. */
zs_status zs_buf_json_num(zs_buf *b, double v);

/* Appends a JSON number rounded to decimals (0..17) places, trailing zeros
 * dropped ("117.19", not "117.1900000"; never "-0"); NaN and infinities
 * append null. */
zs_status zs_buf_json_fixed(zs_buf *b, double v, int decimals);

/* The content, NUL-terminated ("" when empty); borrowed until the next call
 * that changes b. */
const char *zs_buf_data(const zs_buf *b);

/* Content bytes, without the NUL. */
size_t zs_buf_len(const zs_buf *b);

/* The cap given to zs_buf_init(). */
size_t zs_buf_cap(const zs_buf *b);

/* True after a failed append (until rollback or reset). */
bool zs_buf_failed(const zs_buf *b);

/* Hands the content over: returns the malloc'd NUL-terminated bytes (free
 * with free(), e.g. as libmicrohttpd's free callback) and their length in
 * *len, and leaves b empty. NULL when out of memory (for an empty buffer,
 * which owns nothing yet) or after a failure; b is then left as it was. */
char *zs_buf_detach(zs_buf *b, size_t *len);

#endif
