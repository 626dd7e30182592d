#include "cmd_serve.h"

#include "config.h"

#include "handlers.h"
#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef ZSMAP_STYLE_DIR
#define ZSMAP_STYLE_DIR "styles"
#endif

#define DRAIN_SECONDS 5.0 /* how long SIGTERM waits for requests under way */

const cli_option serve_options[] = {
    {"db", OPT_STRING, "FILE", "the store (required, here or in --config)", false, 0},
    {"bind", OPT_STRING, "ADDR", "numeric address to listen on; default 127.0.0.1", false, 0},
    {"port", OPT_STRING, "PORT", "TCP port; default 8080", false, 'p'},
    {"styles", OPT_STRING, "DIR", "the styles folder; default $ZSMAP_STYLES or the built-in one",
     false, 0},
    {"threads", OPT_STRING, "N", "HTTP threads; default one per core", false, 0},
    {"cache-mb", OPT_STRING, "MB", "memory for cached tiles; default 256", false, 0},
    {"cache", OPT_STRING, "DIR", "keep rendered tiles on disk here (MBTiles, one file per style)",
     false, 0},
    {"render-threads", OPT_STRING, "N", "render threads; default one per core", false, 0},
    {"render-queue", OPT_STRING, "N", "renders waiting at most before 503; default 256", false, 0},
    {"timeout", OPT_STRING, "S",
     "seconds before an idle or stalled connection is closed; default 30", false, 0},
    {"config", OPT_STRING, "FILE",
     "settings, one 'key = value' a line, keys as these options; the command line wins", false, 0},
    {0},
};
/* indices in serve_options */
enum {
    SERVE_DB,
    SERVE_BIND,
    SERVE_PORT,
    SERVE_STYLES,
    SERVE_THREADS,
    SERVE_CACHE_MB,
    SERVE_CACHE,
    SERVE_RENDER_THREADS,
    SERVE_RENDER_QUEUE,
    SERVE_TIMEOUT,
    SERVE_CONFIG,
};
_Static_assert(sizeof serve_options / sizeof serve_options[0] == SERVE_CONFIG + 2,
               "one index per option (and the table's end)");

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* SIGTERM and SIGINT drain and stop; SIGHUP reloads styles and data; every
 * second in between, the access log is written out and the store's data
 * version is checked. The signals are blocked in every thread and taken
 * here with sigtimedwait, so nothing runs in a signal handler. */
static int serve_loop(hserver *h, http_server *srv, const sigset_t *set)
{
    for (;;) {
        struct timespec one = {1, 0};
        int sig = sigtimedwait(set, NULL, &one);
        http_flush_log(srv);
        zs_error err = {0};
        if (sig == SIGTERM || sig == SIGINT) {
            fprintf(stderr, "zsmap serve: %s: draining and stopping\n",
                    sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return 0;
        }
        if (sig == SIGHUP) {
            if (hserver_reload(h, &err))
                fprintf(stderr, "zsmap serve: reload failed, still serving the old data: %s\n",
                        err.msg);
            else
                fprintf(stderr, "zsmap serve: reloaded styles and data (data version %lld)\n",
                        (long long)hserver_data_version(h));
            continue;
        }
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            fprintf(stderr, "zsmap serve: error: waiting for signals: %s\n", strerror(errno));
            return 1;
        }
        bool changed = false;
        if (hserver_poll_data(h, &changed, &err))
            fprintf(stderr, "zsmap serve: data check failed, still serving version %lld: %s\n",
                    (long long)hserver_data_version(h), err.msg);
        else if (changed)
            fprintf(stderr, "zsmap serve: data version %lld published\n",
                    (long long)hserver_data_version(h));
    }
}

/* Reads option i into *out when it is set; false (and a message naming the
 * option and its range) when it is not what from lo to hi. */
static bool number_option(const char **v, int i, const char *what, long lo, long hi, long *out)
{
    if (!v[i] || parse_long(v[i], lo, hi, out)) return true;
    fprintf(stderr, "zsmap serve: --%s '%s' is not %s from %ld to %ld\n", serve_options[i].name,
            v[i], what, lo, hi);
    return false;
}

static int serve(const char **v)
{
    long port = 8080, threads = 0, cache_mb = 256, render_threads = 0, render_queue = 256,
         timeout = 30;
    if (!number_option(v, SERVE_PORT, "a port", 1, 65535, &port) ||
        !number_option(v, SERVE_THREADS, "a whole number", 1, 256, &threads) ||
        !number_option(v, SERVE_CACHE_MB, "a whole number", 1, 65536, &cache_mb) ||
        !number_option(v, SERVE_RENDER_THREADS, "a whole number", 1, 256, &render_threads) ||
        !number_option(v, SERVE_RENDER_QUEUE, "a whole number", 1, 100000, &render_queue) ||
        !number_option(v, SERVE_TIMEOUT, "a whole number of seconds", 1, 3600, &timeout))
        return EXIT_USAGE;
    const char *bind = v[SERVE_BIND] ? v[SERVE_BIND] : "127.0.0.1";
    const char *styles = v[SERVE_STYLES] ? v[SERVE_STYLES] : getenv("ZSMAP_STYLES");
    if (!styles) styles = ZSMAP_STYLE_DIR;

    /* block the signals before any thread starts, so that all inherit it */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char origin[300];
    snprintf(origin, sizeof origin, strchr(bind, ':') ? "http://[%s]:%ld" : "http://%s:%ld", bind,
             port);
    hserver_config hc = {.db = v[SERVE_DB],
                         .styles_dir = styles,
                         .self_origin = origin,
                         .cache_dir = v[SERVE_CACHE],
                         .render_threads = (int)render_threads,
                         .render_queue = (size_t)render_queue};
    hc.cache_bytes = (size_t)cache_mb << 20;
    hserver *h = NULL;
    http_server *srv = NULL;
    zs_error err = {0};
    double t0 = cli_now();
    if (hserver_create(&hc, &h, &err)) {
        fprintf(stderr, "zsmap serve: error: %s\n", err.msg);
        return 1;
    }
    http_config cfg = {
        .bind = bind, .port = (int)port, .threads = (int)threads, .timeout_s = (unsigned)timeout};
    if (http_start(&cfg, h, &srv, &err)) {
        fprintf(stderr, "zsmap serve: error: %s\n", err.msg);
        hserver_destroy(h);
        return 1;
    }
    fprintf(stderr, "zsmap serve: listening on %s (data version %lld, ready in %.2f s)\n", origin,
            (long long)hserver_data_version(h), cli_now() - t0);
    int rc = serve_loop(h, srv, &set);
    http_drain(srv, DRAIN_SECONDS);
    hserver_stop_rendering(h);
    http_stop(srv);
    hserver_destroy(h);
    if (!rc) fprintf(stderr, "zsmap serve: stopped\n");
    return rc;
}

int cmd_serve(const char **v, const char *positional)
{
    (void)positional;
    config_file *cf = NULL;
    if (v[SERVE_CONFIG]) {
        static const char *const path_keys[] = {"db", "styles", "cache", NULL};
        zs_error err = {0};
        if (config_load(v[SERVE_CONFIG], serve_options, path_keys, v, &cf, &err)) {
            fprintf(stderr, "zsmap serve: error: %s\n", err.msg);
            return EXIT_USAGE;
        }
    }
    int rc;
    if (!v[SERVE_DB]) {
        fprintf(stderr, "zsmap serve: --db is required (or 'db' in the --config file)\n");
        rc = EXIT_USAGE;
    } else {
        rc = serve(v);
    }
    config_destroy(cf);
    return rc;
}
