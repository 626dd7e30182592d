/* The request handlers: a routed request in, a response (status, headers,
 * body) out, without any libmicrohttpd type, so that the HTTP glue
 * (http.c) stays a thin shell and everything here is plain C.
 *
 * An hserver holds what the handlers share: the current snapshot (a
 * snapshot_slot), the loaded styles (an immutable set, swapped whole on
 * reload), the renderer, the tile cache (tilecache.h: memory and MBTiles on
 * disk) and the render pool (renderpool.h), and the metrics.
 *
 * A tile found in the cache is answered at once. A missing one is rendered
 * in the pool: the response is left pending, the HTTP layer parks the
 * connection, and when the pool calls the request's ready callback the
 * HTTP layer calls hserver_finish() to complete it. Identical requests
 * render once; a full pool or a deadline answers 503 with Retry-After.
 *
 * When the store's data version changes, the new snapshot is compared with
 * the old one (digest.h) and exactly the cached tiles within reach of what
 * changed are dropped (tilecache_advance); the rest stay valid. */
#ifndef ZS_HANDLERS_H
#define ZS_HANDLERS_H

#include "error.h"
#include "hblob.h"
#include "router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- requests and responses -------------------------------------------- */

typedef struct {
    const char *method;          /* as received, "GET" */
    const char *target;          /* the raw request target "path?query", still percent-encoded */
    const char *host;            /* the Host header, or NULL */
    const char *if_none_match;   /* or NULL */
    const char *accept_encoding; /* or NULL */
    double deadline;             /* cli_now() seconds after which a render gives up (503) */
    void (*ready)(void *arg);    /* a pending response can be finished; any thread, once */
    void *ready_arg;
} hrequest;

typedef struct hpending hpending;

typedef struct {
    int status;
    route_kind route;          /* for metrics; ROUTE_NONE when the router refused */
    const char *content_type;  /* static text, NULL for none (304, 204) */
    const char *cache_control; /* static text, NULL for none */
    char etag[48];             /* "" for none, else with its quotes */
    const char *allow;         /* static text for Allow (405) and preflights, or NULL */
    bool preflight;            /* add the CORS preflight headers (with allow) */
    int retry_after;           /* seconds for Retry-After, 0 for none */
    bool gzip;                 /* the body is gzip-encoded: Content-Encoding: gzip */
    bool vary_encoding;        /* Vary: Accept-Encoding */
    const char *cache;         /* "hit", "miss" or "-" for the access log */
    /* The body: either body/len (malloc'd, owned by the response, released
     * with free()) or blob (a reference owned by the response); both may be
     * absent (no body). */
    char *body;
    size_t len;
    hblob *blob;
    /* Not NULL: the response is not made yet; wait for req->ready, then
     * call hserver_finish(). Nothing else may be done with it meanwhile. */
    hpending *pending;
} hresponse;

/* Frees what r still owns (body, blob reference) and empties it. */
void hresponse_free(hresponse *r);

/* The HTTP status for a zs_status of a failed handler: the one mapping. */
int hserver_http_status(zs_status s);

/* ---- the server state ------------------------------------------------------ */

typedef struct {
    const char *db;          /* the SpatiaLite store, borrowed */
    const char *styles_dir;  /* the styles folder, borrowed */
    const char *cache_dir;   /* the tile cache's folder (MBTiles files); NULL: memory only */
    size_t cache_bytes;      /* the in-memory tile cache's cap; 0: 256 MB */
    int render_threads;      /* concurrent renders; 0: the cores */
    size_t render_queue;     /* renders waiting at most before 503; 0: 256 */
    const char *self_origin; /* "http://127.0.0.1:8080" for URLs when a request has no Host */
} hserver_config;

typedef struct hserver hserver;

/* Loads the styles, the snapshot and the renderer (and warms the fonts).
 * Returns a new server state in *out, free with hserver_destroy(). */
zs_status hserver_create(const hserver_config *cfg, hserver **out, zs_error *err);

/* Frees everything; no request may be running. h may be NULL. */
void hserver_destroy(hserver *h);

/* Answers one request into *resp (filled entirely; release with
 * hresponse_free() once sent). Thread-safe. */
void hserver_handle(hserver *h, const hrequest *req, hresponse *resp);

/* Completes a response that hserver_handle() left pending, once its ready
 * callback came. */
void hserver_finish(hserver *h, const hrequest *req, hresponse *resp);

/* Stops rendering: renders waiting are answered 503 (their ready callbacks
 * run), running ones finish. Call after the HTTP layer stopped taking
 * requests and before it stops. */
void hserver_stop_rendering(hserver *h);

/* Counts a finished request for /metrics. */
void hserver_record(hserver *h, route_kind kind, int status);

/* Checks the store's data version (one thread at a time: the caller's
 * watcher); when it changed, loads a new snapshot to the side and publishes
 * it. *changed tells whether it did. */
zs_status hserver_poll_data(hserver *h, bool *changed, zs_error *err);

/* Reloads the styles and the snapshot (SIGHUP); requests keep being served
 * from the old ones until the new ones are published. Same thread as
 * hserver_poll_data(). */
zs_status hserver_reload(hserver *h, zs_error *err);

/* The data version now served. */
int64_t hserver_data_version(hserver *h);

#endif
