#include "handlers.h"

#include "buf.h"
#include "cli.h"
#include "mercator.h"
#include "query.h"
#include "render.h"
#include "snapshot.h"
#include "source.h"
#include "style.h"
#include "tile.h"
#include "tilepng.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define CC_PUBLIC "public, max-age=300"
#define CC_NOSTORE "no-store"
#define CT_JSON "application/json"
#define CT_GEOJSON "application/geo+json"
#define CT_PNG "image/png"
#define CT_XML "application/xml"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

#define JSON_BODY_MAX (32u << 20) /* bytes of a generated JSON or XML document */
#define PHOTO_MAX (32 << 20)      /* bytes of a photo file */
#define GZIP_MIN 1024             /* smaller bodies are sent as they are */
#define CACHE_BYTES_DEFAULT (256u << 20)
#define CACHE_BUCKETS (1u << 16)
#define RETRY_AFTER_S 2
#define ATTRIBUTION "© zsmap 招商地图, district investment promotion bureau"

/* ---- small helpers ------------------------------------------------------- */

static void log_line(const char *fmt, ...) ZS_PRINTF(1, 2);

/* One line on stderr, written whole. */
static void log_line(const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line - 2 ? (size_t)n : sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(2, line, len);
    (void)w;
}

static struct timespec abs_time(double deadline_mono)
{
    double left = deadline_mono - cli_now();
    if (left < 0) left = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)left;
    ts.tv_nsec += (long)((left - floor(left)) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

void hresponse_free(hresponse *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
    hblob_release(r->blob);
    r->blob = NULL;
}

int hserver_http_status(zs_status s)
{
    switch (s) {
    case ZS_OK:
        return 200;
    case ZS_EINVAL:
        return 400;
    case ZS_ENOTFOUND:
        return 404;
    case ZS_ECONFLICT:
        return 409;
    case ZS_ENOMEM:
        return 413;
    case ZS_EIO:
    case ZS_ECRS:
    case ZS_EGEOM:
    case ZS_EDB:
        return 500;
    }
    return 500;
}

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "bad request";
    case 404:
        return "not found";
    case 405:
        return "method not allowed";
    case 409:
        return "conflict";
    case 413:
        return "too large";
    case 414:
        return "uri too long";
    case 503:
        return "service unavailable";
    default:
        return status >= 500 ? "internal error" : "error";
    }
}

/* ---- styles --------------------------------------------------------------- */

/* The loaded styles, immutable, swapped whole on reload. */
typedef struct {
    atomic_int refs;
    unsigned gen;
    size_t n;
    char **names; /* sorted */
    style **styles;
} styleset;

static void styleset_release(styleset *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->names[i]);
        style_destroy(s->styles[i]);
    }
    free(s->names);
    free(s->styles);
    free(s);
}

static bool style_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > ROUTE_STYLE_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every NAME.json of dir; a style that fails is logged and left out.
 * Returns a new set with one reference. */
static zs_status styleset_load(const char *dir, unsigned gen, styleset **out, zs_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return zs_fail(err, ZS_ENOTFOUND, "cannot open styles folder '%s': %s", dir,
                       strerror(errno));
    styleset *s = calloc(1, sizeof *s);
    size_t cap = 0;
    zs_status st = s ? ZS_OK : zs_fail(err, ZS_ENOMEM, "out of memory");
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0 || !style_name_ok(e->d_name, n - 5))
            continue;
        if (s->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(s->names, ncap * sizeof *nn);
            if (!nn) {
                st = zs_fail(err, ZS_ENOMEM, "out of memory");
                break;
            }
            s->names = nn;
            cap = ncap;
        }
        if (!(s->names[s->n] = strndup(e->d_name, n - 5)))
            st = zs_fail(err, ZS_ENOMEM, "out of memory");
        else
            s->n++;
    }
    closedir(d);
    if (!st && s->n) {
        qsort(s->names, s->n, sizeof *s->names, cmp_str);
        if (!(s->styles = calloc(s->n, sizeof *s->styles)))
            st = zs_fail(err, ZS_ENOMEM, "out of memory");
    }
    size_t kept = 0;
    for (size_t i = 0; !st && i < s->n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.json", dir, s->names[i]);
        zs_error e2 = {0};
        style *sty;
        if (style_load_file(path, &sty, &e2)) {
            log_line("zsmap serve: style '%s' left out: %s", s->names[i], e2.msg);
            free(s->names[i]);
            continue;
        }
        s->names[kept] = s->names[i];
        s->styles[kept++] = sty;
    }
    if (st) {
        if (s) {
            for (size_t i = 0; i < s->n; i++)
                free(s->names[i]);
            free(s->names);
            free(s->styles);
            free(s);
        }
        return st;
    }
    s->n = kept;
    s->gen = gen;
    atomic_init(&s->refs, 1);
    *out = s;
    return ZS_OK;
}

static const style *styleset_find(const styleset *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->names[mid], name);
        if (c == 0) return s->styles[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool is_heat_style(const char *name)
{
    return strncmp(name, "heat-", 5) == 0;
}

/* ---- the tile cache -------------------------------------------------------- */

typedef struct centry {
    struct centry *hnext;       /* bucket chain */
    struct centry *prev, *next; /* recency list, most recent first */
    uint64_t hash;
    int64_t data_version;
    unsigned style_gen;
    size_t cost;
    hblob *blob;
    char key[]; /* NUL-terminated */
} centry;

/* A render under way; later identical requests wait for it. */
typedef struct inflight {
    struct inflight *next;
    uint64_t hash;
    int waiters;
    bool done;
    hblob *blob; /* a reference while done and waiters remain */
    int status;  /* HTTP status of a failure */
    char msg[256];
    char key[];
} inflight;

typedef struct {
    draw *d[2]; /* 256 px and 512 px surfaces, made on first use */
    bool busy;
} render_slot;

/* ---- metrics ---------------------------------------------------------------- */

static const int metric_statuses[] = {200, 204, 304, 400, 404, 405, 413, 414, 500, 503};
#define NSTATUS (sizeof metric_statuses / sizeof metric_statuses[0] + 1) /* + "other" */
static const double render_buckets_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
#define NBUCKETS (sizeof render_buckets_ms / sizeof render_buckets_ms[0])

/* ---- the server state ------------------------------------------------------ */

struct hserver {
    char *db, *styles_dir, *self_origin;
    renderer *r;
    source *watch; /* the watcher's own handle on the store */
    int photo_dir_fd;
    snapshot_slot *slot;

    pthread_mutex_t styles_lock; /* guards styles (the pointer, not the set) */
    styleset *styles;
    unsigned style_gen;

    pthread_mutex_t lock; /* guards the cache, in-flight renders and the current versions */
    pthread_cond_t done;  /* an in-flight render finished */
    centry **buckets;
    centry *lru_head, *lru_tail;
    size_t cache_bytes, cache_cap, cache_entries;
    inflight *inflight;
    int64_t cur_version;
    unsigned cur_gen;
    double published_at; /* wall-clock seconds of the last publish */

    pthread_mutex_t slots_lock;
    pthread_cond_t slot_free;
    render_slot *slots;
    int nslots;

    atomic_ulong requests[ROUTE_KIND_COUNT][NSTATUS];
    atomic_ulong render_hist[NBUCKETS + 1];
    atomic_ulong render_sum_us, render_count, render_errors, render_busy;
    atomic_ulong cache_hits, cache_misses, cache_shared;
};

static styleset *styles_acquire(hserver *h)
{
    pthread_mutex_lock(&h->styles_lock);
    styleset *s = h->styles;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&h->styles_lock);
    return s;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void lru_unlink(hserver *h, centry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        h->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        h->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(hserver *h, centry *e)
{
    e->prev = NULL;
    e->next = h->lru_head;
    if (h->lru_head) h->lru_head->prev = e;
    h->lru_head = e;
    if (!h->lru_tail) h->lru_tail = e;
}

/* Removes e from the table and the list and frees it (the lock is held). */
static void cache_drop(hserver *h, centry *e)
{
    centry **pp = &h->buckets[e->hash & (CACHE_BUCKETS - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(h, e);
    h->cache_bytes -= e->cost;
    h->cache_entries--;
    hblob_release(e->blob);
    free(e);
}

static centry *cache_find(hserver *h, uint64_t hash, const char *key)
{
    for (centry *e = h->buckets[hash & (CACHE_BUCKETS - 1)]; e; e = e->hnext)
        if (e->hash == hash && strcmp(e->key, key) == 0) return e;
    return NULL;
}

/* Drops the entries of other data versions or style generations (lock held). */
static void cache_purge_stale(hserver *h)
{
    for (centry *e = h->lru_head, *next; e; e = next) {
        next = e->next;
        if (e->data_version != h->cur_version || e->style_gen != h->cur_gen) cache_drop(h, e);
    }
}

static void cache_insert(hserver *h, uint64_t hash, const char *key, int64_t version, unsigned gen,
                         hblob *blob)
{
    if (version != h->cur_version || gen != h->cur_gen) return; /* already stale */
    size_t klen = strlen(key);
    size_t blen = 0;
    hblob_data(blob, &blen);
    size_t cost = blen + sizeof(centry) + klen + 1 + 256;
    if (cost > h->cache_cap / 4 || cache_find(h, hash, key)) return;
    centry *e = malloc(sizeof *e + klen + 1);
    if (!e) return;
    memcpy(e->key, key, klen + 1);
    e->hash = hash;
    e->data_version = version;
    e->style_gen = gen;
    e->cost = cost;
    e->blob = hblob_retain(blob);
    e->hnext = h->buckets[hash & (CACHE_BUCKETS - 1)];
    h->buckets[hash & (CACHE_BUCKETS - 1)] = e;
    lru_push_front(h, e);
    h->cache_bytes += cost;
    h->cache_entries++;
    while (h->cache_bytes > h->cache_cap && h->lru_tail)
        cache_drop(h, h->lru_tail);
}

/* ---- rendering ----------------------------------------------------------------- */

/* Waits for a free render slot until deadline; -1 when none came. */
static int slot_acquire(hserver *h, double deadline)
{
    struct timespec ts = abs_time(deadline);
    pthread_mutex_lock(&h->slots_lock);
    int got = -1;
    for (;;) {
        for (int i = 0; i < h->nslots; i++)
            if (!h->slots[i].busy) {
                got = i;
                break;
            }
        if (got >= 0) break;
        if (pthread_cond_timedwait(&h->slot_free, &h->slots_lock, &ts) == ETIMEDOUT) break;
    }
    if (got >= 0) h->slots[got].busy = true;
    pthread_mutex_unlock(&h->slots_lock);
    return got;
}

static void slot_release(hserver *h, int i)
{
    pthread_mutex_lock(&h->slots_lock);
    h->slots[i].busy = false;
    pthread_cond_signal(&h->slot_free);
    pthread_mutex_unlock(&h->slots_lock);
}

static void record_render(hserver *h, double seconds)
{
    double ms = seconds * 1e3;
    size_t b = 0;
    while (b < NBUCKETS && ms > render_buckets_ms[b])
        b++;
    atomic_fetch_add(&h->render_hist[b], 1);
    atomic_fetch_add(&h->render_sum_us, (unsigned long)(seconds * 1e6));
    atomic_fetch_add(&h->render_count, 1);
}

typedef struct {
    const snapshot *snap;
    const style *st;
    tile_coord t;
    int scale;
    const carrier_filter *filter;
} tile_job;

/* Renders a tile into a new blob; *http_status and msg tell a failure. */
static hblob *render_tile(hserver *h, const tile_job *job, double deadline, int *http_status,
                          char *msg, size_t msgsize)
{
    int slot = slot_acquire(h, deadline);
    if (slot < 0) {
        atomic_fetch_add(&h->render_busy, 1);
        *http_status = 503;
        snprintf(msg, msgsize, "every renderer is busy; try again in %d s", RETRY_AFTER_S);
        return NULL;
    }
    int px = 256 * job->scale;
    int which = job->scale == 2 ? 1 : 0;
    render_slot *s = &h->slots[slot];
    if (!s->d[which]) s->d[which] = draw_create(px, px);
    hblob *blob = NULL;
    zs_error err = {0};
    if (!s->d[which]) {
        zs_fail(&err, ZS_ENOMEM, "out of memory for a drawing surface");
    } else {
        double t0 = cli_now();
        tile_bbox b = tile_bounds(job->t);
        render_request req = {.bbox = {b.minx, b.miny, b.maxx, b.maxy},
                              .width = px,
                              .height = px,
                              .pixel_ratio = job->scale,
                              .filter = job->filter};
        unsigned char *png = NULL;
        size_t len = 0;
        if (!render_image(h->r, job->snap, job->st, &req, s->d[which], NULL, &err)) {
            int stride;
            const uint32_t *pixels = draw_pixels(s->d[which], &stride);
            if (!tilepng_encode(pixels, px, px, stride, TILEPNG_DEFAULTS, &png, &len, &err)) {
                record_render(h, cli_now() - t0);
                if (!(blob = hblob_create(png, len, 't')))
                    zs_fail(&err, ZS_ENOMEM, "out of memory for a tile");
            }
        }
    }
    slot_release(h, slot);
    if (!blob) {
        atomic_fetch_add(&h->render_errors, 1);
        *http_status = hserver_http_status(err.status ? err.status : ZS_EIO);
        if (*http_status < 500) *http_status = 500;
        snprintf(msg, msgsize, "the tile could not be rendered: %.300s", err.msg);
    }
    return blob;
}

static void inflight_unlink(hserver *h, inflight *f)
{
    inflight **pp = &h->inflight;
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp) *pp = f->next;
}

static void inflight_free(inflight *f)
{
    hblob_release(f->blob);
    free(f);
}

/* The tile for key from the cache, from a render under way, or rendered now.
 * Returns a blob reference, or NULL with *http_status and msg. *cache tells
 * "hit" (cached), "wait" (shared another request's render) or "miss". */
static hblob *get_tile(hserver *h, const char *key, int64_t version, unsigned gen,
                       const tile_job *job, double deadline, const char **cache, int *http_status,
                       char *msg, size_t msgsize)
{
    char full[512];
    snprintf(full, sizeof full, "%s|v%lld|g%u", key, (long long)version, gen);
    uint64_t hash = fnv1a(full, strlen(full), FNV_SEED);
    pthread_mutex_lock(&h->lock);
    centry *e = cache_find(h, hash, full);
    if (e) {
        lru_unlink(h, e);
        lru_push_front(h, e);
        hblob *b = hblob_retain(e->blob);
        pthread_mutex_unlock(&h->lock);
        atomic_fetch_add(&h->cache_hits, 1);
        *cache = "hit";
        return b;
    }
    inflight *f = h->inflight;
    while (f && !(f->hash == hash && strcmp(f->key, full) == 0))
        f = f->next;
    if (f) {
        /* the same tile is being rendered: wait for it */
        atomic_fetch_add(&h->cache_shared, 1);
        *cache = "wait";
        f->waiters++;
        struct timespec ts = abs_time(deadline);
        int rc = 0;
        while (!f->done && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&h->done, &h->lock, &ts);
        hblob *b = NULL;
        if (!f->done) {
            *http_status = 503;
            snprintf(msg, msgsize, "the tile took too long to render; try again in %d s",
                     RETRY_AFTER_S);
        } else if (f->blob) {
            b = hblob_retain(f->blob);
        } else {
            *http_status = f->status;
            snprintf(msg, msgsize, "%s", f->msg);
        }
        if (--f->waiters == 0 && f->done) inflight_free(f);
        pthread_mutex_unlock(&h->lock);
        return b;
    }
    size_t klen = strlen(full);
    f = calloc(1, sizeof *f + klen + 1);
    if (!f) {
        pthread_mutex_unlock(&h->lock);
        *http_status = 500;
        snprintf(msg, msgsize, "out of memory");
        return NULL;
    }
    memcpy(f->key, full, klen + 1);
    f->hash = hash;
    f->next = h->inflight;
    h->inflight = f;
    pthread_mutex_unlock(&h->lock);
    atomic_fetch_add(&h->cache_misses, 1);
    *cache = "miss";

    hblob *b = render_tile(h, job, deadline, http_status, msg, msgsize);

    pthread_mutex_lock(&h->lock);
    inflight_unlink(h, f);
    f->done = true;
    if (b) {
        cache_insert(h, hash, full, version, gen, b);
        f->blob = hblob_retain(b);
    } else {
        f->status = *http_status;
        snprintf(f->msg, sizeof f->msg, "%.250s", msg);
    }
    if (f->waiters == 0)
        inflight_free(f);
    else
        pthread_cond_broadcast(&h->done);
    pthread_mutex_unlock(&h->lock);
    return b;
}

/* ---- responses ----------------------------------------------------------- */

static void respond_error(hresponse *r, int status, const char *detail)
{
    zs_buf b;
    zs_buf_init(&b, 4096);
    zs_buf_puts(&b, "{\"error\":");
    zs_buf_json_str(&b, status_text(status));
    zs_buf_puts(&b, ",\"detail\":");
    zs_buf_json_str(&b, detail);
    zs_buf_puts(&b, "}");
    hresponse_free(r);
    r->status = status;
    r->content_type = CT_JSON;
    r->cache_control = CC_NOSTORE;
    r->etag[0] = '\0';
    r->body = zs_buf_detach(&b, &r->len);
    zs_buf_free(&b);
}

/* True when header (an If-None-Match value) lists etag or is "*". Weak
 * comparison, as RFC 9110 wants for If-None-Match. */
static bool etag_matches(const char *header, const char *etag)
{
    if (!header || !*etag) return false;
    size_t elen = strlen(etag);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*') return true;
        if (p[0] == 'W' && p[1] == '/') p += 2;
        if (*p != '"') {
            while (*p && *p != ',')
                p++;
            continue;
        }
        const char *end = strchr(p + 1, '"');
        if (!end) return false;
        if ((size_t)(end + 1 - p) == elen && memcmp(p, etag, elen) == 0) return true;
        p = end + 1;
    }
    return false;
}

/* True when an Accept-Encoding value accepts gzip (q above 0). */
static bool accepts_gzip(const char *header)
{
    if (!header) return false;
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *name = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - name);
        bool gz = (n == 4 && strncasecmp(name, "gzip", 4) == 0) ||
                  (n == 6 && strncasecmp(name, "x-gzip", 6) == 0);
        double q = 1;
        const char *item_end = strchr(p, ',');
        if (!item_end) item_end = p + strlen(p);
        const char *qp = strstr(p, "q=");
        if (qp && qp < item_end) {
            char *end;
            q = strtod(qp + 2, &end);
            if (end == qp + 2) q = 1;
        }
        if (gz && q > 0) return true;
        p = item_end;
    }
    return false;
}

/* gzip of len bytes at data; a new buffer in *out (free()), or NULL. */
static unsigned char *gzip_body(const char *data, size_t len, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 5, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    uLong cap = deflateBound(&z, (uLong)len) + 32;
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* Finishes a generated body: ETag from its content, 304 when the client
 * has it, gzip when it is accepted and worth it. Takes over b's content. */
static void respond_body(const hrequest *req, hresponse *r, zs_buf *b, const char *ctype,
                         const char *cache_control, bool compressible)
{
    size_t len;
    char *body = zs_buf_detach(b, &len);
    zs_buf_free(b);
    if (!body) {
        respond_error(r, 500, "out of memory for the response");
        return;
    }
    bool gz = compressible && len >= GZIP_MIN && accepts_gzip(req->accept_encoding);
    make_etag(r->etag, sizeof r->etag, 'j', body, len, gz ? "-gz" : "");
    r->content_type = ctype;
    r->cache_control = cache_control;
    r->vary_encoding = compressible;
    r->status = 200;
    if (etag_matches(req->if_none_match, r->etag)) {
        free(body);
        r->status = 304;
        r->content_type = NULL;
        return;
    }
    if (gz) {
        size_t zlen;
        unsigned char *z = gzip_body(body, len, &zlen);
        if (z) {
            free(body);
            body = (char *)z;
            len = zlen;
            r->gzip = true;
        } else {
            make_etag(r->etag, sizeof r->etag, 'j', body, len, "");
        }
    }
    r->body = body;
    r->len = len;
}

static void respond_blob(const hrequest *req, hresponse *r, hblob *blob, const char *ctype)
{
    r->blob = blob;
    snprintf(r->etag, sizeof r->etag, "%s", hblob_etag(blob));
    r->cache_control = CC_PUBLIC;
    if (etag_matches(req->if_none_match, hblob_etag(blob))) {
        r->status = 304;
        return;
    }
    r->status = 200;
    r->content_type = ctype;
}

/* ---- extents and hosts --------------------------------------------------- */

/* The extent of everything in the snapshot, lon/lat degrees (EPSG:4490);
 * false when it holds nothing. */
static bool data_extent_lonlat(const snapshot *snap, double out[4])
{
    sidx_box e = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (int l = 0; l < LAYER_COUNT; l++) {
        const snap_layer *layer = snapshot_layer(snap, (layer_id)l);
        for (uint32_t i = 0; i < layer->nfeatures; i++) {
            sidx_box b = layer->features[i].bbox;
            if (isnan(b.minx)) continue;
            e.minx = fmin(e.minx, b.minx), e.miny = fmin(e.miny, b.miny);
            e.maxx = fmax(e.maxx, b.maxx), e.maxy = fmax(e.maxy, b.maxy);
        }
    }
    if (!(e.minx <= e.maxx)) return false;
    out[0] = merc_lon(e.minx), out[1] = merc_lat(e.miny);
    out[2] = merc_lon(e.maxx), out[3] = merc_lat(e.maxy);
    return true;
}

/* "http://HOST" from the Host header when it is a plain host[:port], else
 * the server's own address. */
static void origin_of(const hserver *h, const hrequest *req, char *out, size_t size)
{
    const char *host = req->host;
    bool ok = host && *host && strlen(host) <= 255;
    for (const char *p = host; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']';
    if (ok)
        snprintf(out, size, "http://%s", host);
    else
        snprintf(out, size, "%s", h->self_origin);
}

/* ---- route handlers ------------------------------------------------------- */

static void style_list(const styleset *ss, bool heat, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ss->n && n < size; i++) {
        if (is_heat_style(ss->names[i]) != heat) continue;
        int w = snprintf(out + n, size - n, "%s%s", n ? ", " : "", ss->names[i]);
        if (w < 0) break;
        n += (size_t)w;
    }
}

/* The style a /tiles or TileJSON request names, or NULL after a 404. */
static const style *find_map_style(const styleset *ss, const char *name, hresponse *r)
{
    const style *st = is_heat_style(name) ? NULL : styleset_find(ss, name);
    if (st) return st;
    char list[512], detail[800];
    style_list(ss, false, list, sizeof list);
    if (is_heat_style(name) && styleset_find(ss, name))
        snprintf(detail, sizeof detail, "style '%s' is a heat map: ask /heat/%s/{z}/{x}/{y}.png",
                 name, name + 5);
    else
        snprintf(detail, sizeof detail, "unknown style '%s' (styles: %s)", name, list);
    respond_error(r, 404, detail);
    return NULL;
}

static void handle_tile(hserver *h, const hrequest *req, const route *rt, hresponse *r)
{
    styleset *ss = styles_acquire(h);
    const style *st;
    char name[ROUTE_STYLE_MAX + 16], key[ROUTE_FILTER_KEY_MAX + 160];
    if (rt->kind == ROUTE_HEAT) {
        snprintf(name, sizeof name, "heat-%s", route_metric_name(rt->metric));
        st = styleset_find(ss, name);
        if (!st) {
            char detail[200];
            snprintf(detail, sizeof detail, "no heat style '%s' is loaded", name);
            respond_error(r, 404, detail);
            styleset_release(ss);
            return;
        }
        snprintf(key, sizeof key, "h|%s|%s|%d/%u/%u@%d", name, rt->filter_key, rt->z,
                 (unsigned)rt->x, (unsigned)rt->y, rt->scale);
    } else {
        if (!(st = find_map_style(ss, rt->style, r))) {
            styleset_release(ss);
            return;
        }
        snprintf(key, sizeof key, "t|%s|%d/%u/%u@%d", rt->style, rt->z, (unsigned)rt->x,
                 (unsigned)rt->y, rt->scale);
    }
    snapshot *snap = snapshot_slot_acquire(h->slot);
    tile_job job = {.snap = snap,
                    .st = st,
                    .t = {rt->z, rt->x, rt->y},
                    .scale = rt->scale,
                    .filter = rt->kind == ROUTE_HEAT && rt->filter_key[0] ? &rt->filter : NULL};
    int status = 500;
    char msg[400];
    hblob *b = get_tile(h, key, snapshot_data_version(snap), ss->gen, &job, req->deadline,
                        &r->cache, &status, msg, sizeof msg);
    snapshot_release(snap);
    styleset_release(ss);
    if (!b) {
        const char *cache = r->cache;
        respond_error(r, status, msg);
        r->cache = cache;
        if (status == 503) r->retry_after = RETRY_AFTER_S;
        return;
    }
    respond_blob(req, r, b, CT_PNG);
}

static void handle_tilejson(hserver *h, const hrequest *req, const route *rt, hresponse *r)
{
    styleset *ss = styles_acquire(h);
    if (!find_map_style(ss, rt->style, r)) {
        styleset_release(ss);
        return;
    }
    styleset_release(ss);
    snapshot *snap = snapshot_slot_acquire(h->slot);
    double e[4] = {-180, -85.051129, 180, 85.051129};
    bool have = data_extent_lonlat(snap, e);
    snapshot_release(snap);
    double span = fmax(e[2] - e[0], 1e-9);
    int cz = have ? (int)floor(log2(360.0 / span)) + 1 : 0;
    if (cz < 0) cz = 0;
    if (cz > 18) cz = 18;
    char origin[300];
    origin_of(h, req, origin, sizeof origin);
    zs_buf b;
    zs_buf_init(&b, JSON_BODY_MAX);
    zs_buf_puts(&b, "{\"tilejson\":\"3.0.0\",\"name\":");
    zs_buf_json_str(&b, rt->style);
    zs_buf_puts(&b, ",\"scheme\":\"xyz\",\"format\":\"png\",\"tiles\":[");
    zs_buf_printf(&b, "\"%s/tiles/%s/{z}/{x}/{y}.png\"", origin, rt->style);
    zs_buf_puts(&b, "],\"minzoom\":0,\"maxzoom\":22,\"bounds\":[");
    for (int i = 0; i < 4; i++) {
        if (i) zs_buf_puts(&b, ",");
        zs_buf_json_fixed(&b, e[i], 6);
    }
    zs_buf_puts(&b, "],\"center\":[");
    zs_buf_json_fixed(&b, (e[0] + e[2]) / 2, 6);
    zs_buf_puts(&b, ",");
    zs_buf_json_fixed(&b, (e[1] + e[3]) / 2, 6);
    zs_buf_printf(&b, ",%d],\"attribution\":", cz);
    zs_buf_json_str(&b, ATTRIBUTION);
    zs_buf_puts(&b, ",\"vector_layers\":[]}");
    if (zs_buf_failed(&b)) {
        zs_buf_free(&b);
        respond_error(r, 500, "the TileJSON document could not be built");
        return;
    }
    respond_body(req, r, &b, CT_JSON, CC_PUBLIC, true);
}

static void handle_wmts(hserver *h, const hrequest *req, hresponse *r)
{
    styleset *ss = styles_acquire(h);
    snapshot *snap = snapshot_slot_acquire(h->slot);
    double e[4] = {-180, -85.051129, 180, 85.051129};
    data_extent_lonlat(snap, e);
    snapshot_release(snap);
    char origin[300];
    origin_of(h, req, origin, sizeof origin);
    zs_buf b;
    zs_buf_init(&b, JSON_BODY_MAX);
    zs_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<Capabilities xmlns=\"http://www.opengis.net/wmts/1.0\" "
                    "xmlns:ows=\"http://www.opengis.net/ows/1.1\" "
                    "xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
                    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                    "xsi:schemaLocation=\"http://www.opengis.net/wmts/1.0 "
                    "http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd\" "
                    "version=\"1.0.0\">\n"
                    "<ows:ServiceIdentification><ows:Title>zsmap</ows:Title>"
                    "<ows:ServiceType>OGC WMTS</ows:ServiceType>"
                    "<ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>"
                    "</ows:ServiceIdentification>\n<Contents>\n");
    for (size_t i = 0; i < ss->n; i++) {
        const char *n = ss->names[i]; /* [a-z0-9_-]: nothing to escape in XML */
        if (is_heat_style(n)) continue;
        zs_buf_printf(&b,
                      "<Layer><ows:Title>%s</ows:Title>"
                      "<ows:WGS84BoundingBox><ows:LowerCorner>%.6f %.6f</ows:LowerCorner>"
                      "<ows:UpperCorner>%.6f %.6f</ows:UpperCorner></ows:WGS84BoundingBox>"
                      "<ows:Identifier>%s</ows:Identifier>"
                      "<Style isDefault=\"true\"><ows:Identifier>default</ows:Identifier></Style>"
                      "<Format>image/png</Format>"
                      "<TileMatrixSetLink><TileMatrixSet>GoogleMapsCompatible</TileMatrixSet>"
                      "</TileMatrixSetLink>"
                      "<ResourceURL format=\"image/png\" resourceType=\"tile\" "
                      "template=\"%s/tiles/%s/{TileMatrix}/{TileCol}/{TileRow}.png\"/>"
                      "</Layer>\n",
                      n, e[0], e[1], e[2], e[3], n, origin, n);
    }
    zs_buf_puts(&b, "<TileMatrixSet><ows:Identifier>GoogleMapsCompatible</ows:Identifier>"
                    "<ows:SupportedCRS>urn:ogc:def:crs:EPSG::3857</ows:SupportedCRS>"
                    "<WellKnownScaleSet>urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"
                    "</WellKnownScaleSet>\n");
    for (int z = 0; z <= ROUTE_MAX_ZOOM; z++) {
        unsigned long long n = 1ull << z;
        zs_buf_printf(&b,
                      "<TileMatrix><ows:Identifier>%d</ows:Identifier>"
                      "<ScaleDenominator>%.10g</ScaleDenominator>"
                      "<TopLeftCorner>-20037508.3427892 20037508.3427892</TopLeftCorner>"
                      "<TileWidth>256</TileWidth><TileHeight>256</TileHeight>"
                      "<MatrixWidth>%llu</MatrixWidth><MatrixHeight>%llu</MatrixHeight>"
                      "</TileMatrix>\n",
                      z, 559082264.0287178 / (double)n, n, n);
    }
    zs_buf_puts(&b, "</TileMatrixSet>\n</Contents>\n</Capabilities>\n");
    styleset_release(ss);
    if (zs_buf_failed(&b)) {
        zs_buf_free(&b);
        respond_error(r, 500, "the capabilities document could not be built");
        return;
    }
    respond_body(req, r, &b, CT_XML, CC_PUBLIC, true);
}

static void handle_carrier(hserver *h, const hrequest *req, const route *rt, hresponse *r)
{
    snapshot *snap = snapshot_slot_acquire(h->slot);
    const snap_carrier *c = snapshot_carrier_by_id(snap, rt->id);
    if (!c) {
        snapshot_release(snap);
        char detail[200];
        snprintf(detail, sizeof detail, "no carrier has the id '%s'", rt->id);
        respond_error(r, 404, detail);
        return;
    }
    zs_buf b;
    zs_buf_init(&b, JSON_BODY_MAX);
    zs_buf_append(&b, c->profile_json, c->profile_len);
    snapshot_release(snap);
    respond_body(req, r, &b, CT_JSON, CC_PUBLIC, true);
}

static void handle_query(hserver *h, const hrequest *req, const route *rt, hresponse *r)
{
    snapshot *snap = snapshot_slot_acquire(h->slot);
    zs_buf b;
    zs_buf_init(&b, JSON_BODY_MAX);
    zs_error err = {0};
    zs_status s = ZS_OK;
    const char *ctype = CT_JSON;
    if (rt->kind == ROUTE_CARRIERS) {
        query_search_args a = query_search_defaults();
        a.has_bbox = rt->has_bbox;
        if (rt->has_bbox) {
            a.west = rt->bbox.west, a.south = rt->bbox.south;
            a.east = rt->bbox.east, a.north = rt->bbox.north;
        }
        a.filter = rt->filter;
        snprintf(a.q, sizeof a.q, "%s", rt->q);
        a.limit = (unsigned)rt->limit;
        a.offset = (unsigned)rt->offset;
        a.format = rt->format == ROUTE_FORMAT_GEOJSON ? QUERY_GEOJSON : QUERY_JSON;
        if (a.format == QUERY_GEOJSON) ctype = CT_GEOJSON;
        s = query_search(snap, &a, &b, &err);
    } else if (rt->kind == ROUTE_AT) {
        s = query_at(snap, rt->lon, rt->lat, rt->zoom, &b, &err);
    } else {
        s = query_parks(snap, &b, &err);
    }
    snapshot_release(snap);
    if (s) {
        zs_buf_free(&b);
        respond_error(r, hserver_http_status(s), err.msg);
        return;
    }
    respond_body(req, r, &b, ctype, CC_PUBLIC, true);
}

static const char *photo_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return "application/octet-stream";
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0) return "image/jpeg";
    if (strcasecmp(dot, ".png") == 0) return "image/png";
    if (strcasecmp(dot, ".webp") == 0) return "image/webp";
    return "application/octet-stream";
}

/* A file of the photo folder: the router allows only a flat name
 * ([A-Za-z0-9._-], no leading dot), and openat with O_NOFOLLOW below the
 * folder's descriptor keeps a symbolic link from leading out of it. */
static void handle_photo(hserver *h, const hrequest *req, const route *rt, hresponse *r)
{
    char detail[300];
    snprintf(detail, sizeof detail, "no photo '%s'", rt->photo);
    int fd = h->photo_dir_fd >= 0
                 ? openat(h->photo_dir_fd, rt->photo, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                 : -1;
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > PHOTO_MAX) {
        if (fd >= 0) close(fd);
        respond_error(r, 404, detail);
        return;
    }
    size_t len = (size_t)sb.st_size, got = 0;
    char *data = malloc(len ? len : 1);
    while (data && got < len) {
        ssize_t n = read(fd, data + got, len - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (!data || got != len) {
        free(data);
        respond_error(r, 500, "the photo could not be read");
        return;
    }
    make_etag(r->etag, sizeof r->etag, 'p', data, len, "");
    r->cache_control = CC_PUBLIC;
    if (etag_matches(req->if_none_match, r->etag)) {
        free(data);
        r->status = 304;
        return;
    }
    r->status = 200;
    r->content_type = photo_type(rt->photo);
    r->body = data;
    r->len = len;
}

static void handle_healthz(hserver *h, hresponse *r)
{
    zs_buf b;
    zs_buf_init(&b, 256);
    zs_buf_printf(&b, "{\"status\":\"ok\",\"data_version\":%lld}",
                  (long long)hserver_data_version(h));
    r->status = 200;
    r->content_type = CT_JSON;
    r->cache_control = CC_NOSTORE;
    r->body = zs_buf_detach(&b, &r->len);
    zs_buf_free(&b);
}

static void handle_metrics(hserver *h, hresponse *r)
{
    zs_buf b;
    zs_buf_init(&b, 1u << 20);
    zs_buf_puts(&b, "# HELP zsmap_http_requests_total HTTP requests by route and status.\n"
                    "# TYPE zsmap_http_requests_total counter\n");
    for (int k = 0; k < ROUTE_KIND_COUNT; k++)
        for (size_t s = 0; s < NSTATUS; s++) {
            unsigned long n = atomic_load(&h->requests[k][s]);
            if (!n) continue;
            char code[16];
            if (s < NSTATUS - 1)
                snprintf(code, sizeof code, "%d", metric_statuses[s]);
            else
                snprintf(code, sizeof code, "other");
            zs_buf_printf(&b, "zsmap_http_requests_total{route=\"%s\",status=\"%s\"} %lu\n",
                          k == ROUTE_NONE ? "none" : route_kind_name((route_kind)k), code, n);
        }
    zs_buf_puts(&b, "# HELP zsmap_render_seconds Time to render and encode a tile.\n"
                    "# TYPE zsmap_render_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t i = 0; i <= NBUCKETS; i++) {
        cum += atomic_load(&h->render_hist[i]);
        if (i < NBUCKETS)
            zs_buf_printf(&b, "zsmap_render_seconds_bucket{le=\"%g\"} %lu\n",
                          render_buckets_ms[i] / 1e3, cum);
        else
            zs_buf_printf(&b, "zsmap_render_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    }
    zs_buf_printf(&b, "zsmap_render_seconds_sum %.6f\nzsmap_render_seconds_count %lu\n",
                  atomic_load(&h->render_sum_us) / 1e6, atomic_load(&h->render_count));
    pthread_mutex_lock(&h->lock);
    size_t bytes = h->cache_bytes, entries = h->cache_entries;
    double published = h->published_at;
    pthread_mutex_unlock(&h->lock);
    zs_buf_printf(&b,
                  "# HELP zsmap_render_errors_total Renders that failed.\n"
                  "# TYPE zsmap_render_errors_total counter\nzsmap_render_errors_total %lu\n"
                  "# HELP zsmap_render_busy_total Requests refused with 503: no renderer free.\n"
                  "# TYPE zsmap_render_busy_total counter\nzsmap_render_busy_total %lu\n"
                  "# HELP zsmap_tile_cache_hits_total Tiles served from the memory cache.\n"
                  "# TYPE zsmap_tile_cache_hits_total counter\nzsmap_tile_cache_hits_total %lu\n"
                  "# HELP zsmap_tile_cache_misses_total Tiles rendered for a request.\n"
                  "# TYPE zsmap_tile_cache_misses_total counter\n"
                  "zsmap_tile_cache_misses_total %lu\n"
                  "# HELP zsmap_tile_cache_shared_total Tiles that waited for an identical "
                  "render.\n"
                  "# TYPE zsmap_tile_cache_shared_total counter\n"
                  "zsmap_tile_cache_shared_total %lu\n"
                  "# HELP zsmap_tile_cache_bytes Bytes held by the memory tile cache.\n"
                  "# TYPE zsmap_tile_cache_bytes gauge\nzsmap_tile_cache_bytes %zu\n"
                  "# HELP zsmap_tile_cache_entries Tiles held by the memory tile cache.\n"
                  "# TYPE zsmap_tile_cache_entries gauge\nzsmap_tile_cache_entries %zu\n"
                  "# HELP zsmap_snapshot_data_version The data version served.\n"
                  "# TYPE zsmap_snapshot_data_version gauge\nzsmap_snapshot_data_version %lld\n"
                  "# HELP zsmap_snapshot_age_seconds Seconds since the snapshot was published.\n"
                  "# TYPE zsmap_snapshot_age_seconds gauge\nzsmap_snapshot_age_seconds %.3f\n",
                  atomic_load(&h->render_errors), atomic_load(&h->render_busy),
                  atomic_load(&h->cache_hits), atomic_load(&h->cache_misses),
                  atomic_load(&h->cache_shared), bytes, entries, (long long)hserver_data_version(h),
                  wall_now() - published);
    r->status = 200;
    r->content_type = CT_METRICS;
    r->cache_control = CC_NOSTORE;
    if (zs_buf_failed(&b)) {
        zs_buf_free(&b);
        respond_error(r, 500, "the metrics could not be written");
        return;
    }
    r->body = zs_buf_detach(&b, &r->len);
    zs_buf_free(&b);
}

void hserver_handle(hserver *h, const hrequest *req, hresponse *r)
{
    *r = (hresponse){.status = 500, .cache = "-"};
    route rt;
    zs_error err = {0};
    if (route_parse_target(req->method, req->target, &rt, &err)) {
        r->route = rt.kind;
        respond_error(r, rt.http_status, err.msg);
        if (rt.http_status == 405) r->allow = rt.allow;
        return;
    }
    r->route = rt.kind;
    switch (rt.kind) {
    case ROUTE_OPTIONS:
        r->status = 204;
        r->allow = rt.allow;
        r->preflight = true;
        r->cache_control = "public, max-age=86400";
        return;
    case ROUTE_TILE:
    case ROUTE_HEAT:
        handle_tile(h, req, &rt, r);
        return;
    case ROUTE_TILEJSON:
        handle_tilejson(h, req, &rt, r);
        return;
    case ROUTE_WMTS_CAPABILITIES:
        handle_wmts(h, req, r);
        return;
    case ROUTE_CARRIER:
        handle_carrier(h, req, &rt, r);
        return;
    case ROUTE_CARRIERS:
    case ROUTE_AT:
    case ROUTE_PARKS:
        handle_query(h, req, &rt, r);
        return;
    case ROUTE_PHOTO:
        handle_photo(h, req, &rt, r);
        return;
    case ROUTE_HEALTHZ:
        handle_healthz(h, r);
        return;
    case ROUTE_METRICS:
        handle_metrics(h, r);
        return;
    default: {
        char detail[200];
        snprintf(detail, sizeof detail, "the %s route is not served by this version",
                 route_kind_name(rt.kind));
        respond_error(r, 404, detail);
        return;
    }
    }
}

void hserver_record(hserver *h, route_kind kind, int status)
{
    size_t s = 0;
    while (s < NSTATUS - 1 && metric_statuses[s] != status)
        s++;
    if ((unsigned)kind >= ROUTE_KIND_COUNT) kind = ROUTE_NONE;
    atomic_fetch_add(&h->requests[kind][s], 1);
}

/* ---- data and styles -------------------------------------------------------- */

int64_t hserver_data_version(hserver *h)
{
    pthread_mutex_lock(&h->lock);
    int64_t v = h->cur_version;
    pthread_mutex_unlock(&h->lock);
    return v;
}

/* Makes snap (may be NULL: keep the current one) and ss (may be NULL) current,
 * taking over their references, and drops the tiles that no longer match. */
static void publish(hserver *h, snapshot *snap, styleset *ss)
{
    if (ss) {
        pthread_mutex_lock(&h->styles_lock);
        styleset *old = h->styles;
        h->styles = ss;
        pthread_mutex_unlock(&h->styles_lock);
        styleset_release(old);
    }
    int64_t version = snap ? snapshot_data_version(snap) : 0;
    if (snap) snapshot_slot_publish(h->slot, snap);
    pthread_mutex_lock(&h->lock);
    if (snap) {
        h->cur_version = version;
        h->published_at = wall_now();
    }
    if (ss) h->cur_gen = ss->gen;
    cache_purge_stale(h);
    pthread_mutex_unlock(&h->lock);
}

zs_status hserver_poll_data(hserver *h, bool *changed, zs_error *err)
{
    *changed = false;
    int64_t v;
    if (source_data_version(h->watch, &v, err)) return err->status;
    if (v == hserver_data_version(h)) return ZS_OK;
    snapshot *snap;
    if (snapshot_load(h->watch, &snap, err)) return err->status;
    publish(h, snap, NULL);
    *changed = true;
    return ZS_OK;
}

zs_status hserver_reload(hserver *h, zs_error *err)
{
    styleset *ss;
    if (styleset_load(h->styles_dir, ++h->style_gen, &ss, err)) return err->status;
    snapshot *snap = NULL;
    if (snapshot_load(h->watch, &snap, err)) {
        styleset_release(ss);
        return err->status;
    }
    publish(h, snap, ss);
    return ZS_OK;
}

/* Renders one tile in the middle of the data, so that the fonts are loaded
 * before the first request. */
static void warm_up(hserver *h)
{
    snapshot *snap = snapshot_slot_acquire(h->slot);
    styleset *ss = styles_acquire(h);
    const style *st = NULL;
    for (size_t i = 0; i < ss->n && !st; i++)
        if (!is_heat_style(ss->names[i])) st = ss->styles[i];
    double e[4];
    if (st && data_extent_lonlat(snap, e)) {
        tile_coord t = tile_at(15, merc_x((e[0] + e[2]) / 2), merc_y((e[1] + e[3]) / 2));
        tile_job job = {.snap = snap, .st = st, .t = t, .scale = 1};
        int status;
        char msg[300];
        hblob_release(render_tile(h, &job, cli_now() + 60, &status, msg, sizeof msg));
    }
    styleset_release(ss);
    snapshot_release(snap);
}

zs_status hserver_create(const hserver_config *cfg, hserver **out, zs_error *err)
{
    hserver *h = calloc(1, sizeof *h);
    if (!h) return zs_fail(err, ZS_ENOMEM, "out of memory");
    h->photo_dir_fd = -1;
    pthread_mutex_init(&h->styles_lock, NULL);
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->slots_lock, NULL);
    cond_init_monotonic(&h->done);
    cond_init_monotonic(&h->slot_free);
    h->cache_cap = cfg->cache_bytes ? cfg->cache_bytes : CACHE_BYTES_DEFAULT;
    h->nslots = cfg->render_slots > 0 ? cfg->render_slots : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (h->nslots < 1) h->nslots = 1;
    h->published_at = wall_now();
    zs_status s = ZS_OK;
    if (!(h->db = strdup(cfg->db)) || !(h->styles_dir = strdup(cfg->styles_dir)) ||
        !(h->self_origin = strdup(cfg->self_origin)) ||
        !(h->buckets = calloc(CACHE_BUCKETS, sizeof *h->buckets)) ||
        !(h->slots = calloc((size_t)h->nslots, sizeof *h->slots)) ||
        !(h->slot = snapshot_slot_create()))
        s = zs_fail(err, ZS_ENOMEM, "out of memory");
    if (!s && access(cfg->db, F_OK) != 0)
        s = zs_fail(err, ZS_ENOTFOUND, "database '%s' does not exist", cfg->db);
    snapshot *snap = NULL;
    if (!s && !source_open_spatialite(cfg->db, &h->watch, err) &&
        !snapshot_load(h->watch, &snap, err) &&
        !styleset_load(cfg->styles_dir, ++h->style_gen, &h->styles, err) &&
        !renderer_create(&h->r, err)) {
        h->cur_version = snapshot_data_version(snap);
        h->cur_gen = h->styles->gen;
        snapshot_slot_publish(h->slot, snap);
        snap = NULL;
        const char *photos = source_photo_dir(h->watch);
        if (photos) h->photo_dir_fd = open(photos, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else if (!s) {
        s = err->status ? err->status : ZS_EIO;
    }
    snapshot_release(snap);
    if (s) {
        hserver_destroy(h);
        return s;
    }
    warm_up(h);
    *out = h;
    return ZS_OK;
}

void hserver_destroy(hserver *h)
{
    if (!h) return;
    if (h->buckets) {
        while (h->lru_head)
            cache_drop(h, h->lru_head);
        free(h->buckets);
    }
    for (int i = 0; h->slots && i < h->nslots; i++) {
        draw_destroy(h->slots[i].d[0]);
        draw_destroy(h->slots[i].d[1]);
    }
    free(h->slots);
    if (h->photo_dir_fd >= 0) close(h->photo_dir_fd);
    snapshot_slot_destroy(h->slot);
    styleset_release(h->styles);
    renderer_destroy(h->r);
    source_close(h->watch);
    pthread_cond_destroy(&h->done);
    pthread_cond_destroy(&h->slot_free);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->slots_lock);
    pthread_mutex_destroy(&h->styles_lock);
    free(h->db);
    free(h->styles_dir);
    free(h->self_origin);
    free(h);
}
