/* zsmap's one status enum and the error that carries its detail upward.
 * Lower layers fill a zs_error and return its status; only main or the HTTP
 * layer prints or logs it. */
#ifndef ZS_ERROR_H
#define ZS_ERROR_H

#include <stdarg.h>

typedef enum {
    ZS_OK = 0,
    ZS_EINVAL,    /* bad argument, request, field or value */
    ZS_ENOTFOUND, /* no such file, layer, field or record */
    ZS_EIO,       /* a file could not be read or written */
    ZS_ENOMEM,    /* out of memory or over a size cap */
    ZS_ECRS,      /* missing, unknown or wrong coordinate reference system */
    ZS_EGEOM,     /* invalid geometry that could not be repaired */
    ZS_EDB,       /* the store failed (corrupt file, constraint, locked) */
    ZS_ECONFLICT, /* the change clashes with what is stored */
} zs_status;

#define ZS_ERROR_MSG 1024

typedef struct {
    zs_status status;
    char msg[ZS_ERROR_MSG]; /* UTF-8, one sentence naming the problem */
} zs_error;

#if defined(__GNUC__)
#define ZS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ZS_PRINTF(a, b)
#endif

/* Records status and a formatted message in err (may be NULL); returns status. */
zs_status zs_fail(zs_error *err, zs_status status, const char *fmt, ...) ZS_PRINTF(3, 4);

/* Short English name of a status, never NULL. */
const char *zs_strerror(zs_status status);

#endif
