/* The HTTP glue: libmicrohttpd (the one module that includes microhttpd.h)
 * in front of the handlers (handlers.h). Epoll with an internal thread pool
 * sized to the cores, a connection limit in the thousands, a connection
 * timeout, a small memory budget per connection, and responses queued on
 * the access handler's second call (answering on the first drops
 * keep-alive). A cached tile's response is built once and queued again for
 * every request; a matching If-None-Match gets a 304 built once per tile.
 * A tile that must be rendered parks its connection (suspended, holding no
 * thread) until the render pool calls the request's ready callback; the
 * access log is written in blocks (accesslog.h).
 *
 * The raw request target: libmicrohttpd decodes the URL before the access
 * handler sees it, but the router must see it encoded (%2F, %00 and
 * friends). The URI log callback (MHD_OPTION_URI_LOG_CALLBACK) receives the
 * request target exactly as sent, query string included, before anything is
 * decoded; it allocates the request's context holding that target, and the
 * request-completed callback frees it. */
#ifndef ZS_HTTP_H
#define ZS_HTTP_H

#include "error.h"
#include "handlers.h"

typedef struct {
    const char *bind;          /* numeric IPv4 or IPv6 address, "127.0.0.1" */
    int port;                  /* 1..65535 */
    int threads;               /* thread pool size; 0: the cores */
    unsigned connection_limit; /* 0: 4096 */
    unsigned timeout_s;        /* idle connection timeout; 0: 30 */
    double deadline_s;         /* per-request render deadline; 0: 10 */
} http_config;

typedef struct http_server http_server;

/* Starts serving h (borrowed: it must outlive the server). Raises the open
 * files limit for the connection limit. Returns a new server in *out, stop
 * and free it with http_stop(). */
zs_status http_start(const http_config *cfg, hserver *h, http_server **out, zs_error *err);

/* Stops accepting connections and waits up to max_seconds for the requests
 * under way to finish. */
void http_drain(http_server *s, double max_seconds);

/* Writes the access-log lines gathered so far (the serve loop calls it
 * every second). */
void http_flush_log(http_server *s);

/* Closes every connection, stops the threads and frees s; s may be NULL. */
void http_stop(http_server *s);

#endif
