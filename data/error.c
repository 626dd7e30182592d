#include "error.h"

#include <stdio.h>

zs_status zs_fail(zs_error *err, zs_status status, const char *fmt, ...)
{
    if (!err) return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

const char *zs_strerror(zs_status status)
{
    switch (status) {
    case ZS_OK:
        return "ok";
    case ZS_EINVAL:
        return "invalid input";
    case ZS_ENOTFOUND:
        return "not found";
    case ZS_EIO:
        return "input/output error";
    case ZS_ENOMEM:
        return "out of memory";
    case ZS_ECRS:
        return "coordinate reference system error";
    case ZS_EGEOM:
        return "invalid geometry";
    case ZS_EDB:
        return "store error";
    case ZS_ECONFLICT:
        return "conflict";
    }
    return "unknown error";
}
