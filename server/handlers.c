#include "handlers.h"

#include "buf.h"
#include "cli.h"
#include "digest.h"
#include "mercator.h"
#include "query.h"
#include "renderpool.h"
#include "render.h"
#include "snapshot.h"
#include "source.h"
#include "style.h"
#include "tile.h"
#include "tilecache.h"
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
#define RETRY_AFTER_S 2
#define STYLE_FILE_MAX (4u << 20) /* bytes of a style file */
#define DIGEST_FILE "data.digest" /* in the cache folder: what its tiles show */
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
    size_t n;
    char **names; /* sorted */
    style **styles;
    uint64_t *hashes; /* of each style file's bytes: the tile cache's style version */
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
    free(s->hashes);
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

/* Reads a whole file of at most max bytes into a new NUL-terminated buffer. */
static char *read_small_file(const char *path, size_t max, size_t *len, zs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        zs_fail(err, ZS_ENOTFOUND, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad || n > max) {
        free(buf);
        zs_fail(err, buf ? ZS_EIO : ZS_ENOMEM, "cannot read '%s'%s", path,
                n > max ? ": the file is too large" : "");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Loads every NAME.json of dir, each with the hash of its bytes; a style
 * that fails is logged and left out. Returns a new set with one reference. */
static zs_status styleset_load(const char *dir, styleset **out, zs_error *err)
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
        if (!(s->styles = calloc(s->n, sizeof *s->styles)) ||
            !(s->hashes = calloc(s->n, sizeof *s->hashes)))
            st = zs_fail(err, ZS_ENOMEM, "out of memory");
    }
    size_t kept = 0;
    for (size_t i = 0; !st && i < s->n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.json", dir, s->names[i]);
        zs_error e2 = {0};
        style *sty = NULL;
        size_t len = 0;
        char *json = read_small_file(path, STYLE_FILE_MAX, &len, &e2);
        if (!json || style_load_string(json, len, path, &sty, &e2)) {
            log_line("zsmap serve: style '%s' left out: %s", s->names[i], e2.msg);
            free(json);
            free(s->names[i]);
            continue;
        }
        s->hashes[kept] = hash64(json, len, HASH_SEED);
        free(json);
        s->names[kept] = s->names[i];
        s->styles[kept++] = sty;
    }
    if (st) {
        if (s) {
            for (size_t i = 0; i < s->n; i++)
                free(s->names[i]);
            free(s->names);
            free(s->styles);
            free(s->hashes);
            free(s);
        }
        return st;
    }
    s->n = kept;
    atomic_init(&s->refs, 1);
    *out = s;
    return ZS_OK;
}

/* The index of the style called name, or -1. */
static ptrdiff_t styleset_index(const styleset *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->names[mid], name);
        if (c == 0) return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const style *styleset_find(const styleset *s, const char *name)
{
    ptrdiff_t i = styleset_index(s, name);
    return i < 0 ? NULL : s->styles[i];
}

static bool is_heat_style(const char *name)
{
    return strncmp(name, "heat-", 5) == 0;
}

/* ---- tiles under way -------------------------------------------------------
 * A tile missing from the cache is rendered in the pool; the request waits
 * for it without holding an HTTP thread (see hserver_finish). */

struct hpending {
    render_result res;
    void (*ready)(void *arg);
    void *ready_arg;
};

/* What the pool needs to render one tile: the snapshot and styles it was
 * asked against (references held until the job is freed). */
typedef struct {
    hserver *h;
    snapshot *snap;
    styleset *ss;
    const style *st;
    tc_key key; /* strings point into the fields below */
    char style_name[ROUTE_STYLE_MAX + 16];
    char variant[ROUTE_FILTER_KEY_MAX + 8];
    int scale;
    bool filtered;
    carrier_filter filter;
} tile_job;

/* ---- metrics ---------------------------------------------------------------- */

static const int metric_statuses[] = {200, 204, 304, 400, 404, 405, 413, 414, 500, 503};
#define NSTATUS (sizeof metric_statuses / sizeof metric_statuses[0] + 1) /* + "other" */
static const double render_buckets_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
#define NBUCKETS (sizeof render_buckets_ms / sizeof render_buckets_ms[0])

/* ---- the server state ------------------------------------------------------ */

struct hserver {
    char *db, *styles_dir, *self_origin, *cache_dir;
    renderer *r;
    source *watch; /* the watcher's own handle on the store */
    int photo_dir_fd;
    snapshot_slot *slot;

    pthread_mutex_t styles_lock; /* guards styles (the pointer, not the set) */
    styleset *styles;

    pthread_mutex_t lock; /* guards the current version and its time */
    int64_t cur_version;
    double published_at; /* wall-clock seconds of the last publish */

    tilecache *cache;
    renderpool *pool;
    draw *(*surfaces)[2]; /* per render thread: 256 px and 512 px, made on first use */
    int nsurfaces;
    digest *digest; /* of the snapshot the cache holds tiles of (the watcher's) */

    atomic_ulong requests[ROUTE_KIND_COUNT][NSTATUS];
    atomic_ulong render_hist[NBUCKETS + 1];
    atomic_ulong render_sum_us, render_count, render_errors, render_busy;
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

/* Renders a tile with render thread worker's surfaces into a new blob. */
static hblob *render_tile(hserver *h, const tile_job *job, int worker, zs_error *err)
{
    int px = 256 * job->scale;
    int which = job->scale == 2 ? 1 : 0;
    draw **d = &h->surfaces[worker][which];
    if (!*d && !(*d = draw_create(px, px))) {
        zs_fail(err, ZS_ENOMEM, "out of memory for a drawing surface");
        return NULL;
    }
    double t0 = cli_now();
    tile_bbox b = tile_bounds(job->key.t);
    render_request req = {.bbox = {b.minx, b.miny, b.maxx, b.maxy},
                          .width = px,
                          .height = px,
                          .pixel_ratio = job->scale,
                          .filter = job->filtered ? &job->filter : NULL};
    unsigned char *png = NULL;
    size_t len = 0;
    if (render_image(h->r, job->snap, job->st, &req, *d, NULL, err)) return NULL;
    int stride;
    const uint32_t *pixels = draw_pixels(*d, &stride);
    if (tilepng_encode(pixels, px, px, stride, TILEPNG_DEFAULTS, &png, &len, err)) return NULL;
    record_render(h, cli_now() - t0);
    hblob *blob = hblob_create(png, len, 't');
    if (!blob) zs_fail(err, ZS_ENOMEM, "out of memory for a tile");
    return blob;
}

/* The pool's side: render, keep in the cache, hand the blob to the waiters. */
static void run_tile_job(void *ctx, int worker, render_result *res)
{
    tile_job *job = ctx;
    hserver *h = job->h;
    zs_error err = {0};
    hblob *blob = render_tile(h, job, worker, &err);
    if (!blob) {
        atomic_fetch_add(&h->render_errors, 1);
        res->status = hserver_http_status(err.status ? err.status : ZS_EIO);
        if (res->status < 500) res->status = 500;
        snprintf(res->msg, sizeof res->msg, "the tile could not be rendered: %.200s", err.msg);
        return;
    }
    tilecache_put(h->cache, &job->key, snapshot_data_version(job->snap), blob);
    res->status = 200;
    res->blob = blob;
}

static void free_tile_job(void *ctx)
{
    tile_job *job = ctx;
    snapshot_release(job->snap);
    styleset_release(job->ss);
    free(job);
}

static void pending_done(void *arg, render_result *res)
{
    hpending *p = arg;
    p->res = *res;
    p->ready(p->ready_arg);
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
    const char *etag = hblob_etag(blob);
    size_t n = strnlen(etag, sizeof r->etag - 1);
    memcpy(r->etag, etag, n); /* the hot path of a cached tile: no printf */
    r->etag[n] = '\0';
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

static void respond_busy(hresponse *r, const char *detail)
{
    respond_error(r, 503, detail);
    r->retry_after = RETRY_AFTER_S;
}

/* A tile from the cache, or else a render queued in the pool: then the
 * response is left pending and hserver_finish() completes it. */
static void handle_tile(hserver *h, const hrequest *req, const route *rt, hresponse *r)
{
    /* the key on the stack: a cached tile costs no allocation */
    char heat_name[ROUTE_STYLE_MAX + 16], variant[ROUTE_FILTER_KEY_MAX + 8];
    const char *name = rt->style;
    styleset *ss = styles_acquire(h);
    const style *st;
    if (rt->kind == ROUTE_HEAT) {
        snprintf(heat_name, sizeof heat_name, "heat-%s", route_metric_name(rt->metric));
        name = heat_name;
        if (!(st = styleset_find(ss, name))) {
            char detail[200];
            snprintf(detail, sizeof detail, "no heat style '%s' is loaded", name);
            respond_error(r, 404, detail);
        }
    } else {
        st = find_map_style(ss, name, r);
    }
    if (!st) {
        styleset_release(ss);
        return;
    }
    bool filtered = rt->kind == ROUTE_HEAT && rt->filter_key[0];
    const char *var = rt->scale == 2 ? "@2x" : "";
    if (filtered) {
        snprintf(variant, sizeof variant, "%s%s", rt->scale == 2 ? "@2x|" : "", rt->filter_key);
        var = variant;
    }
    tc_key key = {.style = name,
                  .style_hash = ss->hashes[styleset_index(ss, name)],
                  .variant = var,
                  .t = {rt->z, rt->x, rt->y}};
    bool from_disk = false;
    hblob *b = tilecache_get(h->cache, &key, &from_disk);
    if (b) {
        styleset_release(ss);
        r->cache = from_disk ? "disk" : "hit";
        respond_blob(req, r, b, CT_PNG);
        return;
    }
    tile_job *job = calloc(1, sizeof *job);
    if (!job) {
        styleset_release(ss);
        respond_error(r, 500, "out of memory");
        return;
    }
    *job = (tile_job){.h = h, .ss = ss, .st = st, .scale = rt->scale, .filtered = filtered};
    if (filtered) job->filter = rt->filter;
    snprintf(job->style_name, sizeof job->style_name, "%s", name);
    snprintf(job->variant, sizeof job->variant, "%s", var);
    job->key = key;
    job->key.style = job->style_name;
    job->key.variant = job->variant;
    r->cache = "miss";
    hpending *p = calloc(1, sizeof *p);
    if (!p) {
        free_tile_job(job);
        respond_error(r, 500, "out of memory");
        return;
    }
    job->snap = snapshot_slot_acquire(h->slot);
    char pool_key[ROUTE_STYLE_MAX + ROUTE_FILTER_KEY_MAX + 160];
    snprintf(pool_key, sizeof pool_key, "%s|%016llx|%s|%d/%u/%u|v%lld", job->style_name,
             (unsigned long long)job->key.style_hash, job->variant, rt->z, (unsigned)rt->x,
             (unsigned)rt->y, (long long)snapshot_data_version(job->snap));
    *p = (hpending){.ready = req->ready, .ready_arg = req->ready_arg};
    r->pending = p;
    render_job rj = {.key = pool_key,
                     .deadline = req->deadline,
                     .run = run_tile_job,
                     .ctx = job,
                     .free_ctx = free_tile_job,
                     .done = pending_done,
                     .done_arg = p};
    if (!renderpool_submit(h->pool, &rj)) {
        r->pending = NULL;
        free(p);
        atomic_fetch_add(&h->render_busy, 1);
        char detail[160];
        snprintf(detail, sizeof detail,
                 "the server is busy: every renderer has work queued; try again in %d s",
                 RETRY_AFTER_S);
        respond_busy(r, detail);
    }
}

void hserver_finish(hserver *h, const hrequest *req, hresponse *r)
{
    hpending *p = r->pending;
    if (!p) return;
    r->pending = NULL;
    if (p->res.status == 200 && p->res.blob) {
        respond_blob(req, r, p->res.blob, CT_PNG);
    } else if (p->res.status == 503) {
        atomic_fetch_add(&h->render_busy, 1);
        respond_busy(r, p->res.msg);
    } else {
        hblob_release(p->res.blob);
        respond_error(r, p->res.status ? p->res.status : 500, p->res.msg);
    }
    free(p);
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
    double published = h->published_at;
    pthread_mutex_unlock(&h->lock);
    tilecache_stats cs;
    tilecache_get_stats(h->cache, &cs);
    renderpool_stats ps;
    renderpool_get_stats(h->pool, &ps);
    zs_buf_printf(&b,
                  "# HELP zsmap_render_errors_total Renders that failed.\n"
                  "# TYPE zsmap_render_errors_total counter\nzsmap_render_errors_total %lu\n"
                  "# HELP zsmap_render_busy_total Tile requests answered 503: queue full or "
                  "deadline passed.\n"
                  "# TYPE zsmap_render_busy_total counter\nzsmap_render_busy_total %lu\n"
                  "# HELP zsmap_render_queued Renders waiting for a render thread.\n"
                  "# TYPE zsmap_render_queued gauge\nzsmap_render_queued %zu\n"
                  "# HELP zsmap_render_running Renders under way.\n"
                  "# TYPE zsmap_render_running gauge\nzsmap_render_running %zu\n"
                  "# HELP zsmap_render_joined_total Tile requests that waited for an identical "
                  "render.\n"
                  "# TYPE zsmap_render_joined_total counter\nzsmap_render_joined_total %lu\n",
                  atomic_load(&h->render_errors), atomic_load(&h->render_busy), ps.queued,
                  ps.running, ps.joined);
    zs_buf_printf(&b,
                  "# HELP zsmap_tile_cache_hits_total Tiles served from the cache.\n"
                  "# TYPE zsmap_tile_cache_hits_total counter\n"
                  "zsmap_tile_cache_hits_total{store=\"memory\"} %llu\n"
                  "zsmap_tile_cache_hits_total{store=\"disk\"} %llu\n"
                  "# HELP zsmap_tile_cache_misses_total Tiles the cache did not have.\n"
                  "# TYPE zsmap_tile_cache_misses_total counter\n"
                  "zsmap_tile_cache_misses_total %llu\n"
                  "# HELP zsmap_tile_cache_dropped_total Cached tiles dropped by data or style "
                  "changes.\n"
                  "# TYPE zsmap_tile_cache_dropped_total counter\n"
                  "zsmap_tile_cache_dropped_total %llu\n"
                  "# HELP zsmap_tile_cache_disk_writes_total Tiles written to the disk cache.\n"
                  "# TYPE zsmap_tile_cache_disk_writes_total counter\n"
                  "zsmap_tile_cache_disk_writes_total %llu\n"
                  "# HELP zsmap_tile_cache_disk_skipped_total Tiles not written to disk: the "
                  "writer was too far behind, or a write failed.\n"
                  "# TYPE zsmap_tile_cache_disk_skipped_total counter\n"
                  "zsmap_tile_cache_disk_skipped_total{reason=\"behind\"} %llu\n"
                  "zsmap_tile_cache_disk_skipped_total{reason=\"error\"} %llu\n"
                  "# HELP zsmap_tile_cache_bytes Bytes held by the memory tile cache.\n"
                  "# TYPE zsmap_tile_cache_bytes gauge\nzsmap_tile_cache_bytes %zu\n"
                  "# HELP zsmap_tile_cache_entries Tiles held by the memory tile cache.\n"
                  "# TYPE zsmap_tile_cache_entries gauge\nzsmap_tile_cache_entries %zu\n"
                  "# HELP zsmap_snapshot_data_version The data version served.\n"
                  "# TYPE zsmap_snapshot_data_version gauge\nzsmap_snapshot_data_version %lld\n"
                  "# HELP zsmap_snapshot_age_seconds Seconds since the snapshot was published.\n"
                  "# TYPE zsmap_snapshot_age_seconds gauge\nzsmap_snapshot_age_seconds %.3f\n",
                  (unsigned long long)cs.mem_hits, (unsigned long long)cs.disk_hits,
                  (unsigned long long)cs.misses, (unsigned long long)cs.dropped,
                  (unsigned long long)cs.disk_writes, (unsigned long long)cs.disk_dropped,
                  (unsigned long long)cs.disk_errors, cs.mem_bytes, cs.mem_tiles,
                  (long long)hserver_data_version(h), wall_now() - published);
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

/* The tile cache's reach: the current style's, or -1 (drop its tiles) when
 * the style is gone or its file changed. */
static double style_reach(void *ctx, const char *name, uint64_t style_hash, int z)
{
    const styleset *ss = ctx;
    ptrdiff_t i = styleset_index(ss, name);
    if (i < 0 || ss->hashes[i] != style_hash) return -1;
    return render_reach_px(ss->styles[i], z);
}

/* Moves the tile cache from the digest it has (h->digest; NULL: unknown, all
 * tiles go) to snap's: drops the tiles within reach of what changed and of
 * styles that changed, and saves the new digest beside the disk cache. */
static zs_status advance_cache_to(hserver *h, const snapshot *snap, const styleset *ss,
                                  zs_error *err)
{
    digest *next;
    if (digest_build(snap, &next, err)) return err->status;
    sidx_box *boxes = NULL;
    size_t n = 0;
    zs_status st = h->digest ? digest_diff(h->digest, next, &boxes, &n, err) : ZS_OK;
    /* no digest: nothing is known of the cached tiles (NULL drops them all);
     * a digest and no change: an empty list, nothing dropped */
    static const sidx_box none;
    const sidx_box *changed = !h->digest ? NULL : boxes ? boxes : &none;
    if (!st)
        st = tilecache_advance(h->cache, snapshot_data_version(snap), changed, n, style_reach,
                               (void *)ss, err);
    free(boxes);
    if (!st && h->cache_dir) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", h->cache_dir, DIGEST_FILE);
        st = digest_save(next, path, err);
    }
    if (st) {
        digest_free(next);
        return st;
    }
    if (n || !h->digest)
        log_line("zsmap serve: tile cache at data version %lld: %zu changed extents",
                 (long long)snapshot_data_version(snap), n);
    digest_free(h->digest);
    h->digest = next;
    return ZS_OK;
}

/* The same, and when that fails (a disk full, a digest that cannot be
 * built) the whole cache goes instead and the digest is forgotten, so that
 * no stale tile is ever served and the new data is published anyway. */
static void advance_cache(hserver *h, const snapshot *snap, const styleset *ss)
{
    zs_error err = {0};
    if (!advance_cache_to(h, snap, ss, &err)) return;
    log_line("zsmap serve: the tile cache could not follow the change, dropping it: %s", err.msg);
    digest_free(h->digest);
    h->digest = NULL;
    if (h->cache_dir) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", h->cache_dir, DIGEST_FILE);
        unlink(path);
    }
    zs_error e2 = {0};
    if (tilecache_advance(h->cache, snapshot_data_version(snap), NULL, 0, style_reach, (void *)ss,
                          &e2))
        log_line("zsmap serve: dropping the tile cache: %s", e2.msg);
}

/* Makes snap (may be NULL: keep the current one) and ss (may be NULL)
 * current, taking over their references, after moving the tile cache to
 * them. */
static void publish(hserver *h, snapshot *snap, styleset *ss)
{
    snapshot *cur = snap ? snapshot_retain(snap) : snapshot_slot_acquire(h->slot);
    styleset *sty = ss ? ss : styles_acquire(h);
    advance_cache(h, cur, sty);
    if (!ss) styleset_release(sty);
    snapshot_release(cur);
    if (ss) {
        pthread_mutex_lock(&h->styles_lock);
        styleset *old = h->styles;
        h->styles = ss;
        pthread_mutex_unlock(&h->styles_lock);
        styleset_release(old);
    }
    if (snap) {
        int64_t version = snapshot_data_version(snap);
        snapshot_slot_publish(h->slot, snap);
        pthread_mutex_lock(&h->lock);
        h->cur_version = version;
        h->published_at = wall_now();
        pthread_mutex_unlock(&h->lock);
    }
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
    if (styleset_load(h->styles_dir, &ss, err)) return err->status;
    snapshot *snap = NULL;
    if (snapshot_load(h->watch, &snap, err)) {
        styleset_release(ss);
        return err->status;
    }
    publish(h, snap, ss);
    return ZS_OK;
}

/* Renders one tile in the middle of the data on the first render thread's
 * surface (before the pool has work), so that the fonts are loaded before
 * the first request. */
static void warm_up(hserver *h)
{
    tile_job job = {.h = h, .snap = snapshot_slot_acquire(h->slot), .ss = styles_acquire(h)};
    for (size_t i = 0; i < job.ss->n && !job.st; i++)
        if (!is_heat_style(job.ss->names[i])) job.st = job.ss->styles[i];
    double e[4];
    if (job.st && data_extent_lonlat(job.snap, e)) {
        job.key.t = tile_at(15, merc_x((e[0] + e[2]) / 2), merc_y((e[1] + e[3]) / 2));
        job.scale = 1;
        zs_error err = {0};
        hblob_release(render_tile(h, &job, 0, &err));
    }
    styleset_release(job.ss);
    snapshot_release(job.snap);
}

/* Opens the tile cache at the data version its folder's digest names (none:
 * the files are emptied), then moves it to the snapshot served. */
static zs_status open_cache(hserver *h, const hserver_config *cfg, zs_error *err)
{
    int64_t disk_version = -1;
    if (h->cache_dir) {
        if (mkdir(h->cache_dir, 0755) != 0 && errno != EEXIST)
            return zs_fail(err, ZS_EIO, "cannot make the cache folder '%s': %s", h->cache_dir,
                           strerror(errno));
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", h->cache_dir, DIGEST_FILE);
        zs_error e2 = {0};
        if (digest_load(path, &h->digest, &e2) == ZS_OK)
            disk_version = digest_data_version(h->digest);
        else if (e2.status != ZS_ENOTFOUND)
            log_line("zsmap serve: the tile cache starts empty: %s", e2.msg);
    }
    tilecache_config tc = {.dir = h->cache_dir,
                           .mem_bytes = cfg->cache_bytes ? cfg->cache_bytes : CACHE_BYTES_DEFAULT,
                           .data_version = disk_version};
    if (tilecache_open(&tc, &h->cache, err)) return err->status;
    snapshot *snap = snapshot_slot_acquire(h->slot);
    advance_cache(h, snap, h->styles);
    snapshot_release(snap);
    return ZS_OK;
}

zs_status hserver_create(const hserver_config *cfg, hserver **out, zs_error *err)
{
    hserver *h = calloc(1, sizeof *h);
    if (!h) return zs_fail(err, ZS_ENOMEM, "out of memory");
    h->photo_dir_fd = -1;
    pthread_mutex_init(&h->styles_lock, NULL);
    pthread_mutex_init(&h->lock, NULL);
    h->published_at = wall_now();
    zs_status s = ZS_OK;
    if (!(h->db = strdup(cfg->db)) || !(h->styles_dir = strdup(cfg->styles_dir)) ||
        !(h->self_origin = strdup(cfg->self_origin)) ||
        (cfg->cache_dir && !(h->cache_dir = strdup(cfg->cache_dir))) ||
        !(h->slot = snapshot_slot_create()))
        s = zs_fail(err, ZS_ENOMEM, "out of memory");
    if (!s && access(cfg->db, F_OK) != 0)
        s = zs_fail(err, ZS_ENOTFOUND, "database '%s' does not exist", cfg->db);
    snapshot *snap = NULL;
    if (!s && !source_open_spatialite(cfg->db, &h->watch, err) &&
        !snapshot_load(h->watch, &snap, err) && !styleset_load(cfg->styles_dir, &h->styles, err) &&
        !renderer_create(&h->r, err) &&
        !renderpool_create(cfg->render_threads, cfg->render_queue, &h->pool, err)) {
        h->cur_version = snapshot_data_version(snap);
        snapshot_slot_publish(h->slot, snap);
        snap = NULL;
        const char *photos = source_photo_dir(h->watch);
        if (photos) h->photo_dir_fd = open(photos, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        h->nsurfaces = renderpool_threads(h->pool);
        if (!(h->surfaces = calloc((size_t)h->nsurfaces, sizeof *h->surfaces)))
            s = zs_fail(err, ZS_ENOMEM, "out of memory");
        else
            s = open_cache(h, cfg, err);
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

void hserver_stop_rendering(hserver *h)
{
    if (h && h->pool) renderpool_stop(h->pool);
}

void hserver_destroy(hserver *h)
{
    if (!h) return;
    renderpool_destroy(h->pool);
    tilecache_close(h->cache);
    digest_free(h->digest);
    for (int i = 0; h->surfaces && i < h->nsurfaces; i++) {
        draw_destroy(h->surfaces[i][0]);
        draw_destroy(h->surfaces[i][1]);
    }
    free(h->surfaces);
    if (h->photo_dir_fd >= 0) close(h->photo_dir_fd);
    snapshot_slot_destroy(h->slot);
    styleset_release(h->styles);
    renderer_destroy(h->r);
    source_close(h->watch);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->styles_lock);
    free(h->db);
    free(h->styles_dir);
    free(h->self_origin);
    free(h->cache_dir);
    free(h);
}
