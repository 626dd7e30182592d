#include "http.h"

#include "accesslog.h"
#include "cli.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECTION_LIMIT_DEFAULT 4096
#define TIMEOUT_DEFAULT_S 30
#define DEADLINE_DEFAULT_S 10.0
/* Bytes of libmicrohttpd's pool per connection: the request line and
 * headers must fit (the router takes up to 6 KB of target; a 2 KB path, a
 * 4 KB query and 2.5 KB of headers still reach it). libmicrohttpd clears
 * the pool for every keep-alive request, so more costs time. */
#define CONNECTION_MEMORY (12 * 1024)
#define BODY_MAX (1 << 20) /* request body bytes read (and dropped) at most */
#define LOG_PATH_MAX 400   /* bytes of the target written to the access log */

struct http_server {
    struct MHD_Daemon *daemon;
    hserver *h;
    double deadline_s;
    MHD_socket listen_fd;
    atomic_int active; /* requests between the URI callback and their completion */
    accesslog *log;
};

/* A request's state: made by the URI log callback with the raw target,
 * freed by the request-completed callback, nowhere else. */
typedef struct {
    struct MHD_Connection *con;
    pthread_mutex_t mu; /* orders parking (suspend) against the render's ready */
    bool ready;         /* the pending response can be finished */
    bool suspended;     /* the connection is parked until ready */
    char *target;       /* the raw request target as sent, "path?query" */
    double t0;          /* cli_now() when the request line arrived */
    bool seen;          /* the access handler was called once */
    bool handled;       /* hserver_handle() ran */
    bool queued;        /* a response was queued */
    char method[16];
    size_t body_bytes; /* request body dropped so far */
    size_t bytes;      /* response body bytes sent (0 for HEAD and 304) */
    hresponse resp;    /* kept until completion: it holds the tile's reference */
} req_ctx;

/* libmicrohttpd's own error messages, one line each on stderr. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[600];
    int n = snprintf(line, sizeof line, "zsmap serve: libmicrohttpd: ");
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0) return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2) len = sizeof line - 2;
    while (len && line[len - 1] == '\n')
        len--;
    line[len++] = '\n';
    ssize_t w = write(2, line, len);
    (void)w;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    http_server *s = cls;
    req_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (!(c->target = strdup(uri ? uri : ""))) {
        free(c);
        return NULL;
    }
    c->con = con;
    pthread_mutex_init(&c->mu, NULL);
    c->t0 = cli_now();
    c->resp.cache = "-";
    snprintf(c->method, sizeof c->method, "-");
    atomic_fetch_add(&s->active, 1);
    return c;
}

/* Appends the target to out with bytes outside printable ASCII, spaces,
 * quotes and backslashes written as \xNN, cut at LOG_PATH_MAX. */
static size_t log_escape(char *out, size_t size, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 5 < size; p++) {
        if (n >= LOG_PATH_MAX) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\') {
            out[n++] = '\\', out[n++] = 'x', out[n++] = hex[*p >> 4], out[n++] = hex[*p & 15];
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = '\0';
    return n;
}

/* Appends at most max bytes of str at line + n; returns the new length. */
static size_t put_str(char *line, size_t n, const char *str, size_t max)
{
    size_t len = strnlen(str, max);
    memcpy(line + n, str, len);
    return n + len;
}

/* Appends v in decimal; returns the new length. */
static size_t put_uint(char *line, size_t n, unsigned long v)
{
    char digits[24];
    size_t k = 0;
    do {
        digits[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        line[n++] = digits[--k];
    return n;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)con;
    http_server *s = cls;
    req_ctx *c = *con_cls;
    if (!c) return;
    *con_cls = NULL;
    /* "METHOD TARGET STATUS BYTES USus CACHE[ aborted]", put together by
     * hand: snprintf was a visible part of answering a cached tile */
    char line[LOG_PATH_MAX + 160];
    size_t n = put_str(line, 0, c->method, sizeof c->method);
    line[n++] = ' ';
    n += log_escape(line + n, LOG_PATH_MAX + 16, c->target);
    line[n++] = ' ';
    n = put_uint(line, n, c->queued ? (unsigned long)c->resp.status : 0);
    line[n++] = ' ';
    n = put_uint(line, n, c->bytes);
    line[n++] = ' ';
    n = put_uint(line, n, (unsigned long)((cli_now() - c->t0) * 1e6));
    n = put_str(line, n, "us ", 3);
    n = put_str(line, n, c->resp.cache, 8);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) n = put_str(line, n, " aborted", 8);
    line[n++] = '\n';
    accesslog_write(s->log, line, n);
    if (c->queued) hserver_record(s->h, c->resp.route, c->resp.status);
    hresponse_free(&c->resp);
    pthread_mutex_destroy(&c->mu);
    free(c->target);
    free(c);
    atomic_fetch_sub(&s->active, 1);
}

static void add_common_headers(struct MHD_Response *r, const hresponse *hr)
{
    if (hr->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, hr->content_type);
    if (hr->cache_control)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, hr->cache_control);
    if (hr->etag[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, hr->etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

static void destroy_response(void *r)
{
    MHD_destroy_response(r);
}

/* The response of a cached tile (which 0) or its 304 (which 1), built once
 * and kept with the tile. */
static struct MHD_Response *blob_response(hresponse *hr, int which)
{
    struct MHD_Response *r = hblob_transport(hr->blob, which);
    if (r) return r;
    size_t len = 0;
    const unsigned char *data = hblob_data(hr->blob, &len);
    /* the tile outlives the response: the request holds a reference until
     * its completion, and the tile frees the response when it dies */
    r = which == 0
            ? MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_PERSISTENT)
            : MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
    if (!r) return NULL;
    add_common_headers(r, hr);
    if (hblob_attach_transport(hr->blob, which, r, destroy_response)) return r;
    MHD_destroy_response(r);
    return hblob_transport(hr->blob, which);
}

/* The render pool's word that a pending response can be finished: wakes
 * the parked connection, whose handler then finishes it. */
static void on_ready(void *arg)
{
    req_ctx *c = arg;
    pthread_mutex_lock(&c->mu);
    c->ready = true;
    if (c->suspended) {
        c->suspended = false;
        MHD_resume_connection(c->con);
    }
    pthread_mutex_unlock(&c->mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)url, (void)version, (void)upload_data;
    http_server *s = cls;
    req_ctx *c = *con_cls;
    if (!c) return MHD_NO; /* out of memory in on_uri: drop the connection */
    if (!c->seen) {
        /* first call: headers are in; answer on the next one (keep-alive) */
        c->seen = true;
        snprintf(c->method, sizeof c->method, "%s", method ? method : "-");
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* no public route takes a body: read it and drop it, up to a cap */
        c->body_bytes += *upload_data_size;
        *upload_data_size = 0;
        return c->body_bytes > BODY_MAX ? MHD_NO : MHD_YES;
    }
    if (c->queued) return MHD_YES;
    hrequest rq = {
        .method = method,
        .target = c->target,
        .host = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
        .if_none_match =
            MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
        .accept_encoding =
            MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING),
        .deadline = c->t0 + s->deadline_s,
        .ready = on_ready,
        .ready_arg = c,
    };
    hresponse *hr = &c->resp;
    if (!c->handled) {
        c->handled = true;
        hserver_handle(s->h, &rq, hr);
    }
    if (hr->pending) {
        /* a render is under way: park the connection (its thread serves
         * others) unless the tile is already there */
        pthread_mutex_lock(&c->mu);
        bool ready = c->ready;
        if (!ready && !c->suspended) {
            MHD_suspend_connection(con);
            c->suspended = true;
        }
        pthread_mutex_unlock(&c->mu);
        if (!ready) return MHD_YES;
        hserver_finish(s->h, &rq, hr);
    }
    bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    struct MHD_Response *r;
    bool shared = false;
    if (hr->blob) {
        r = blob_response(hr, hr->status == 304 ? 1 : 0);
        shared = true;
        if (hr->status != 304 && !head) hblob_data(hr->blob, &c->bytes);
    } else {
        if (hr->body) {
            r = MHD_create_response_from_buffer_with_free_callback(hr->len, hr->body, free);
            if (r) {
                hr->body = NULL; /* the response owns it now */
                if (!head) c->bytes = hr->len;
            }
        } else {
            r = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
        }
        if (r) {
            add_common_headers(r, hr);
            if (hr->gzip) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
            if (hr->vary_encoding)
                MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
            if (hr->allow && !hr->preflight)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, hr->allow);
            if (hr->preflight) {
                MHD_add_response_header(r, "Access-Control-Allow-Methods", hr->allow);
                MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                        "If-None-Match, Content-Type");
                MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
            }
            if (hr->retry_after > 0) {
                char v[16];
                snprintf(v, sizeof v, "%d", hr->retry_after);
                MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
            }
        }
    }
    if (!r) return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(con, (unsigned)hr->status, r);
    if (!shared) MHD_destroy_response(r);
    c->queued = ok == MHD_YES;
    return ok;
}

/* A listening socket on bind:port, non-blocking, or -1 with err. */
static int listen_on(const char *bind_addr, int port, bool *ipv6, zs_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(bind_addr, service, &hints, &ai);
    if (rc != 0) {
        zs_fail(err, ZS_EINVAL, "--bind '%s' is not a numeric IPv4 or IPv6 address: %s", bind_addr,
                gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        zs_fail(err, ZS_EIO, "cannot listen on %s port %d: %s", bind_addr, port, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    *ipv6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return fd;
}

/* Raises the soft open-files limit to fit limit connections; returns the
 * connection limit that fits. */
static unsigned raise_nofile(unsigned limit)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return limit;
    rlim_t want = (rlim_t)limit + 256;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
        limit = rl.rlim_cur > 320 ? (unsigned)(rl.rlim_cur - 256) : 64;
    return limit;
}

zs_status http_start(const http_config *cfg, hserver *h, http_server **out, zs_error *err)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s || !(s->log = accesslog_create(2))) {
        free(s);
        return zs_fail(err, ZS_ENOMEM, "out of memory");
    }
    s->h = h;
    s->deadline_s = cfg->deadline_s > 0 ? cfg->deadline_s : DEADLINE_DEFAULT_S;
    atomic_init(&s->active, 0);
    bool ipv6 = false;
    s->listen_fd = listen_on(cfg->bind, cfg->port, &ipv6, err);
    if (s->listen_fd < 0) {
        accesslog_destroy(s->log);
        free(s);
        return err->status;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : cores > 0 ? (unsigned)cores : 1;
    unsigned limit =
        raise_nofile(cfg->connection_limit ? cfg->connection_limit : CONNECTION_LIMIT_DEFAULT);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO |
                     (ipv6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, s->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->timeout_s ? cfg->timeout_s : TIMEOUT_DEFAULT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->daemon) {
        close(s->listen_fd);
        accesslog_destroy(s->log);
        free(s);
        return zs_fail(err, ZS_EIO, "libmicrohttpd did not start on %s port %d", cfg->bind,
                       cfg->port);
    }
    *out = s;
    return ZS_OK;
}

void http_drain(http_server *s, double max_seconds)
{
    if (!s || !s->daemon) return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    s->listen_fd = -1;
    double end = cli_now() + max_seconds;
    while (atomic_load(&s->active) > 0 && cli_now() < end)
        usleep(10000);
}

void http_flush_log(http_server *s)
{
    if (s) accesslog_flush(s->log);
}

void http_stop(http_server *s)
{
    if (!s) return;
    if (s->daemon) MHD_stop_daemon(s->daemon);
    accesslog_destroy(s->log);
    free(s);
}
