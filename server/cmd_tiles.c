#include "cmd_tiles.h"

#include "mbtiles.h"
#include "mercator.h"
#include "render.h"
#include "snapshot.h"
#include "source.h"
#include "style.h"
#include "tile.h"
#include "tilepng.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ZSMAP_STYLE_DIR
#define ZSMAP_STYLE_DIR "styles"
#endif

#define MAX_IMAGE_PX 8192

/* ---- shared steps ----------------------------------------------------------- */

static int fail(const char *cmd, const zs_error *err)
{
    fprintf(stderr, "zsmap %s: error: %s\n", cmd, err->msg);
    return 1;
}

/* Loads a style by name from the styles folder ($ZSMAP_STYLES, --styles, or
 * the one built in) or by path (anything with a '/' or ending in .json). */
static zs_status load_style(const char *arg, const char *dir, style **out, zs_error *err)
{
    size_t n = strlen(arg);
    if (strchr(arg, '/') || (n > 5 && strcmp(arg + n - 5, ".json") == 0))
        return style_load_file(arg, out, err);
    for (const char *p = arg; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return zs_fail(err, ZS_EINVAL, "style name '%s' may only hold a-z, 0-9, - and _", arg);
    if (!dir) dir = getenv("ZSMAP_STYLES");
    if (!dir) dir = ZSMAP_STYLE_DIR;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", dir, arg);
    if (access(path, R_OK) != 0)
        return zs_fail(err, ZS_ENOTFOUND, "no style '%s' (looked for %s)", arg, path);
    return style_load_file(path, out, err);
}

static zs_status load_snapshot(const char *db, snapshot **out, zs_error *err)
{
    source *src;
    if (access(db, F_OK) != 0)
        return zs_fail(err, ZS_ENOTFOUND, "database '%s' does not exist", db);
    if (source_open_spatialite(db, &src, err)) return err->status;
    zs_status s = snapshot_load(src, out, err);
    source_close(src);
    return s;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* "Z/X/Y" with Z in 0..22 and X, Y below 2^Z. */
static bool parse_tile(const char *s, tile_coord *t)
{
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf) return false;
    memcpy(buf, s, n + 1);
    char *a = buf, *b = strchr(a, '/'), *c = b ? strchr(b + 1, '/') : NULL;
    if (!b || !c) return false;
    *b++ = '\0';
    *c++ = '\0';
    long z, x, y;
    if (!parse_long(a, 0, TILE_MAX_ZOOM, &z)) return false;
    long max = (1L << z) - 1;
    if (!parse_long(b, 0, max, &x) || !parse_long(c, 0, max, &y)) return false;
    *t = (tile_coord){(int)z, (uint32_t)x, (uint32_t)y};
    return true;
}

/* "W,S,E,N" in EPSG:3857 metres, inside the world, W < E and S < N. */
static bool parse_bbox(const char *s, sidx_box *b)
{
    double v[4];
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        v[i] = strtod(p, &end);
        if (end == p || errno || !isfinite(v[i]) || fabs(v[i]) > MERC_MAX + 1e-6) return false;
        if (i < 3 && *end != ',') return false;
        if (i == 3 && *end) return false;
        p = end + 1;
    }
    if (!(v[0] < v[2] && v[1] < v[3])) return false;
    *b = (sidx_box){v[0], v[1], v[2], v[3]};
    return true;
}

static bool parse_size(const char *s, int *w, int *h)
{
    const char *x = strchr(s, 'x');
    char buf[32];
    if (!x || (size_t)(x - s) >= sizeof buf) return false;
    memcpy(buf, s, (size_t)(x - s));
    buf[x - s] = '\0';
    long a, b;
    if (!parse_long(buf, 1, MAX_IMAGE_PX, &a) || !parse_long(x + 1, 1, MAX_IMAGE_PX, &b))
        return false;
    *w = (int)a, *h = (int)b;
    return true;
}

/* Renders req and encodes it as PNG; *png is a new buffer (free()). */
static zs_status render_png(renderer *r, const snapshot *snap, const style *st,
                            const render_request *req, draw *d, unsigned char **png, size_t *len,
                            render_stats *stats, zs_error *err)
{
    if (render_image(r, snap, st, req, d, stats, err)) return err->status;
    int stride;
    const uint32_t *px = draw_pixels(d, &stride);
    return tilepng_encode(px, req->width, req->height, stride, TILEPNG_DEFAULTS, png, len, err);
}

/* Writes data to path through a temporary file and a rename, so a reader
 * never sees half a PNG. */
static zs_status write_file(const char *path, const unsigned char *data, size_t len, zs_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return zs_fail(err, ZS_EIO, "cannot write '%s': %s", path, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return zs_fail(err, ZS_EIO, "cannot write '%s': %s", path, strerror(errno));
    }
    return ZS_OK;
}

/* ---- render ------------------------------------------------------------------ */

const cli_option render_options[] = {
    {"db", OPT_STRING, "FILE", "the store", true, 0},
    {"style", OPT_STRING, "NAME|PATH", "a style of the styles folder, or a style file", true, 0},
    {"out", OPT_STRING, "OUT.png", "the PNG to write", true, 'o'},
    {"scale", OPT_STRING, "N", "pixel ratio: 2 for HiDPI (512 px tiles); default 1", false, 0},
    {"bbox", OPT_STRING, "W,S,E,N", "any extent instead of a tile, EPSG:3857 metres", false, 0},
    {"size", OPT_STRING, "WxH", "image size in pixels, with --bbox", false, 0},
    {"styles", OPT_STRING, "DIR", "the styles folder", false, 0},
    {"stats", OPT_FLAG, NULL, "print where the time went", false, 0},
    {"labels", OPT_STRING, "FILE", "write the labels drawn (text, box in global pixels) as JSON",
     false, 0},
    {"filter", OPT_STRING, "K=V&...",
     "carriers to draw, as the search's parameters, e.g. "
     "status=available&min_area=5000",
     false, 0},
    {0},
};

/* Parses "name=value&name=value" into f with filter_set(); unknown names and
 * bad values are errors naming them. */
static zs_status parse_filter(const char *text, carrier_filter *f, zs_error *err)
{
    char buf[1024];
    size_t n = strlen(text);
    if (n >= sizeof buf)
        return zs_fail(err, ZS_EINVAL, "--filter is longer than %zu bytes", sizeof buf - 1);
    memcpy(buf, text, n + 1);
    char *save = NULL;
    for (char *pair = strtok_r(buf, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq) return zs_fail(err, ZS_EINVAL, "--filter: '%s' is not name=value", pair);
        *eq = '\0';
        bool known;
        if (filter_set(f, pair, eq + 1, &known, err)) return err->status;
        if (!known)
            return zs_fail(err, ZS_EINVAL,
                           "--filter: unknown filter '%s' (kind, land_use, status, industry, park, "
                           "min_area, max_rent, min_clear_height)",
                           pair);
    }
    return ZS_OK;
}

/* Writes s as a JSON string (UTF-8 passes through; controls are escaped). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

typedef struct {
    FILE *f;
    size_t n;
} label_log;

static void log_label(void *ctx, const char *text, double minx, double miny, double maxx,
                      double maxy)
{
    label_log *log = ctx;
    fprintf(log->f, "%s\n  {\"text\": ", log->n++ ? "," : "");
    json_string(log->f, text);
    fprintf(log->f, ", \"box\": [%.3f, %.3f, %.3f, %.3f]}", minx, miny, maxx, maxy);
}

int cmd_render(const char **v, const char *tile_arg)
{
    long scale = 1;
    if (v[3] && !parse_long(v[3], 1, 4, &scale)) {
        fprintf(stderr, "zsmap render: --scale '%s' is not 1, 2, 3 or 4\n", v[3]);
        return EXIT_USAGE;
    }
    render_request req = {.pixel_ratio = (double)scale};
    if (tile_arg && (v[4] || v[5])) {
        fprintf(stderr, "zsmap render: give a tile Z/X/Y or --bbox with --size, not both\n");
        return EXIT_USAGE;
    }
    if (tile_arg) {
        tile_coord t;
        if (!parse_tile(tile_arg, &t)) {
            fprintf(stderr, "zsmap render: '%s' is not a tile Z/X/Y (Z 0-%d, X and Y below 2^Z)\n",
                    tile_arg, TILE_MAX_ZOOM);
            return EXIT_USAGE;
        }
        tile_bbox b = tile_bounds(t);
        req.bbox = (sidx_box){b.minx, b.miny, b.maxx, b.maxy};
        req.width = req.height = 256 * (int)scale;
    } else {
        if (!v[4] || !v[5]) {
            fprintf(stderr, "zsmap render: give a tile Z/X/Y, or --bbox and --size\n");
            return EXIT_USAGE;
        }
        if (!parse_bbox(v[4], &req.bbox)) {
            fprintf(stderr,
                    "zsmap render: --bbox '%s' is not W,S,E,N in EPSG:3857 metres with W < E "
                    "and S < N\n",
                    v[4]);
            return EXIT_USAGE;
        }
        if (!parse_size(v[5], &req.width, &req.height)) {
            fprintf(stderr, "zsmap render: --size '%s' is not WxH, 1 to %d pixels each\n", v[5],
                    MAX_IMAGE_PX);
            return EXIT_USAGE;
        }
    }
    zs_error err = {0};
    carrier_filter filter = filter_none();
    if (v[9]) {
        if (parse_filter(v[9], &filter, &err)) {
            fprintf(stderr, "zsmap render: %s\n", err.msg);
            return EXIT_USAGE;
        }
        req.filter = &filter;
    }
    style *st = NULL;
    snapshot *snap = NULL;
    renderer *r = NULL;
    draw *d = NULL;
    unsigned char *png = NULL;
    size_t len = 0;
    render_stats stats = {0};
    int rc = 0;
    double t0 = cli_now();
    if (load_style(v[1], v[6], &st, &err) || load_snapshot(v[0], &snap, &err) ||
        renderer_create(&r, &err)) {
        rc = fail("render", &err);
    } else if (!(d = draw_create(req.width, req.height))) {
        rc = fail("render", &(zs_error){ZS_ENOMEM, "out of memory for the image"});
    } else {
        double t1 = cli_now();
        label_log log = {0};
        if (v[8] && !(log.f = fopen(v[8], "w"))) {
            fprintf(stderr, "zsmap render: error: cannot write '%s': %s\n", v[8], strerror(errno));
            rc = 1;
        } else if (log.f) {
            req.on_label = log_label;
            req.on_label_ctx = &log;
            fputc('[', log.f);
        }
        if (!rc && (render_png(r, snap, st, &req, d, &png, &len, &stats, &err) ||
                    write_file(v[2], png, len, &err)))
            rc = fail("render", &err);
        if (!rc && v[7])
            printf("%s: %dx%d, zoom %.2f, %zu bytes; load %.1f ms, render %.1f ms (query %.0f µs, "
                   "draw %.0f µs, labels %.0f µs: %zu features, %zu labels)\n",
                   v[2], req.width, req.height, render_zoom(&req), len, (t1 - t0) * 1e3,
                   (cli_now() - t1) * 1e3, stats.query_us, stats.draw_us, stats.labels_us,
                   stats.features, stats.labels);
        if (log.f) {
            fputs("\n]\n", log.f);
            if (fclose(log.f) != 0 && !rc) rc = 1;
        }
    }
    free(png);
    draw_destroy(d);
    renderer_destroy(r);
    snapshot_release(snap);
    style_destroy(st);
    return rc;
}

/* ---- seed ---------------------------------------------------------------- */

const cli_option seed_options[] = {
    {"db", OPT_STRING, "FILE", "the store", true, 0},
    {"style", OPT_STRING, "NAME|PATH", "a style of the styles folder, or a style file", true, 0},
    {"zoom", OPT_STRING, "A-B", "zoom levels, e.g. 12-16", true, 0},
    {"out", OPT_STRING, "FILE.mbtiles", "the MBTiles file (resumed when it exists)", true, 'o'},
    {"bbox", OPT_STRING, "W,S,E,N", "extent in EPSG:3857 metres; default: all the data", false, 0},
    {"scale", OPT_STRING, "N", "pixel ratio: 2 for 512 px tiles; default 1", false, 0},
    {"threads", OPT_STRING, "N", "render threads; default: one per core", false, 0},
    {"styles", OPT_STRING, "DIR", "the styles folder", false, 0},
    {0},
};

typedef struct {
    renderer *r;
    const snapshot *snap;
    const style *st;
    int scale;
    tile_coord *tiles;
    size_t ntiles;
    atomic_size_t next;
    pthread_mutex_t lock; /* guards everything below */
    mbtiles *mb;
    size_t done, skipped, unflushed;
    double started, last_print;
    bool tty;
    zs_error err;
    zs_status status;
} seed_job;

static void print_progress(seed_job *job, bool final)
{
    double now = cli_now();
    if (!final && now - job->last_print < 0.2) return;
    job->last_print = now;
    size_t finished = job->done + job->skipped;
    double rate = job->done / (now - job->started + 1e-9);
    double eta = rate > 0 ? (double)(job->ntiles - finished) / rate : 0;
    int width = 30, filled = job->ntiles ? (int)(width * finished / job->ntiles) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    if (job->tty || final)
        fprintf(stderr, "%s[%s] %zu/%zu tiles (%zu resumed) %.0f tiles/s ETA %d:%02d%s",
                job->tty ? "\r" : "", bar, finished, job->ntiles, job->skipped, rate, (int)eta / 60,
                (int)eta % 60, final ? "\n" : "");
}

static void *seed_worker(void *arg)
{
    seed_job *job = arg;
    int px = 256 * job->scale;
    draw *d = draw_create(px, px);
    zs_error err = {0};
    if (!d) {
        pthread_mutex_lock(&job->lock);
        job->status = zs_fail(&job->err, ZS_ENOMEM, "out of memory");
        pthread_mutex_unlock(&job->lock);
        return NULL;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->ntiles) break;
        tile_coord t = job->tiles[i];
        pthread_mutex_lock(&job->lock);
        bool present = false, stop = job->status != ZS_OK;
        if (!stop && mbtiles_has(job->mb, t, &present, &err)) {
            job->status = err.status;
            job->err = err;
            stop = true;
        }
        if (present) job->skipped++;
        pthread_mutex_unlock(&job->lock);
        if (stop) break;
        if (present) continue;
        tile_bbox b = tile_bounds(t);
        render_request req = {.bbox = {b.minx, b.miny, b.maxx, b.maxy},
                              .width = px,
                              .height = px,
                              .pixel_ratio = job->scale};
        unsigned char *png = NULL;
        size_t len = 0;
        zs_status s = render_png(job->r, job->snap, job->st, &req, d, &png, &len, NULL, &err);
        pthread_mutex_lock(&job->lock);
        if (!s) s = mbtiles_put(job->mb, t, png, len, &err);
        if (!s && ++job->unflushed >= 256) {
            s = mbtiles_flush(job->mb, &err);
            job->unflushed = 0;
        }
        if (s && !job->status) {
            job->status = s;
            job->err = err;
        }
        job->done++;
        print_progress(job, false);
        pthread_mutex_unlock(&job->lock);
        free(png);
    }
    draw_destroy(d);
    return NULL;
}

/* The extent of everything in the snapshot, EPSG:3857 metres. */
static bool data_extent(const snapshot *snap, sidx_box *out)
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
    *out = e;
    return e.minx <= e.maxx;
}

static zs_status write_metadata(mbtiles *mb, const style *st, sidx_box e, int z0, int z1,
                                int64_t data_version, zs_error *err)
{
    char bounds[160], center[160], minz[16], maxz[16], version[32];
    double w = merc_lon(e.minx), s = merc_lat(e.miny), east = merc_lon(e.maxx),
           n = merc_lat(e.maxy);
    snprintf(bounds, sizeof bounds, "%.6f,%.6f,%.6f,%.6f", w, s, east, n);
    snprintf(center, sizeof center, "%.6f,%.6f,%d", (w + east) / 2, (s + n) / 2, (z0 + z1) / 2);
    snprintf(minz, sizeof minz, "%d", z0);
    snprintf(maxz, sizeof maxz, "%d", z1);
    snprintf(version, sizeof version, "%lld", (long long)data_version);
    const char *rows[][2] = {
        {"name", style_name(st)},
        {"format", "png"},
        {"type", "baselayer"},
        {"version", "1.3"},
        {"bounds", bounds},
        {"center", center},
        {"minzoom", minz},
        {"maxzoom", maxz},
        {"attribution", "zsmap"},
        {"description", "zsmap tiles"},
        {"zsmap_data_version", version},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (mbtiles_set_metadata(mb, rows[i][0], rows[i][1], err)) return err->status;
    return mbtiles_flush(mb, err);
}

int cmd_seed(const char **v, const char *positional)
{
    (void)positional;
    long z0, z1, scale = 1, threads = sysconf(_SC_NPROCESSORS_ONLN);
    const char *dash = strchr(v[2], '-');
    char first[16];
    if (!dash || (size_t)(dash - v[2]) >= sizeof first) {
        fprintf(stderr, "zsmap seed: --zoom '%s' is not A-B\n", v[2]);
        return EXIT_USAGE;
    }
    memcpy(first, v[2], (size_t)(dash - v[2]));
    first[dash - v[2]] = '\0';
    if (!parse_long(first, 0, TILE_MAX_ZOOM, &z0) ||
        !parse_long(dash + 1, z0, TILE_MAX_ZOOM, &z1)) {
        fprintf(stderr, "zsmap seed: --zoom '%s' is not A-B with 0 <= A <= B <= %d\n", v[2],
                TILE_MAX_ZOOM);
        return EXIT_USAGE;
    }
    sidx_box extent = {0};
    if (v[4] && !parse_bbox(v[4], &extent)) {
        fprintf(stderr, "zsmap seed: --bbox '%s' is not W,S,E,N in EPSG:3857 metres\n", v[4]);
        return EXIT_USAGE;
    }
    if ((v[5] && !parse_long(v[5], 1, 4, &scale)) ||
        (v[6] && !parse_long(v[6], 1, 256, &threads))) {
        fprintf(stderr, "zsmap seed: --scale must be 1-4 and --threads 1-256\n");
        return EXIT_USAGE;
    }
    if (threads < 1) threads = 1;

    seed_job job = {.scale = (int)scale, .tty = isatty(2)};
    style *st = NULL;
    snapshot *snap = NULL;
    int rc = 0;
    zs_error err = {0};
    if (load_style(v[1], v[7], &st, &err) || load_snapshot(v[0], &snap, &err) ||
        renderer_create(&job.r, &err))
        rc = fail("seed", &err);
    if (!rc && !v[4] && !data_extent(snap, &extent)) {
        fprintf(stderr, "zsmap seed: error: the database holds nothing to seed\n");
        rc = 1;
    }
    /* every tile of the range that meets the extent, zoom by zoom */
    for (long z = z0; !rc && z <= z1; z++) {
        tile_coord a = tile_at((int)z, extent.minx, extent.maxy);
        tile_coord b = tile_at((int)z, extent.maxx, extent.miny);
        size_t count = (size_t)(b.x - a.x + 1) * (b.y - a.y + 1);
        if (job.ntiles + count > 50000000) {
            fprintf(stderr,
                    "zsmap seed: error: more than 50 million tiles; narrow --zoom or --bbox\n");
            rc = 1;
            break;
        }
        tile_coord *p = realloc(job.tiles, (job.ntiles + count) * sizeof *p);
        if (!p) {
            rc = fail("seed", &(zs_error){ZS_ENOMEM, "out of memory for the tile list"});
            break;
        }
        job.tiles = p;
        for (uint32_t x = a.x; x <= b.x; x++)
            for (uint32_t y = a.y; y <= b.y; y++)
                job.tiles[job.ntiles++] = (tile_coord){(int)z, x, y};
    }
    if (!rc &&
        (mbtiles_open(v[3], &job.mb, &err) ||
         write_metadata(job.mb, st, extent, (int)z0, (int)z1, snapshot_data_version(snap), &err)))
        rc = fail("seed", &err);
    if (!rc) {
        job.snap = snap;
        job.st = st;
        job.started = cli_now();
        pthread_mutex_init(&job.lock, NULL);
        pthread_t tids[256];
        long started = 0;
        for (; started < threads; started++)
            if (pthread_create(&tids[started], NULL, seed_worker, &job) != 0) break;
        if (started == 0) seed_worker(&job);
        for (long i = 0; i < started; i++)
            pthread_join(tids[i], NULL);
        pthread_mutex_destroy(&job.lock);
        if (!job.status)
            mbtiles_flush(job.mb, &job.err) ? (void)(job.status = job.err.status) : (void)0;
        print_progress(&job, true);
        if (job.status)
            rc = fail("seed", &job.err);
        else
            printf("seeded %s: %zu tiles rendered, %zu already there, zoom %ld-%ld, %.1f s on %ld "
                   "threads\n",
                   v[3], job.done, job.skipped, z0, z1, cli_now() - job.started,
                   started ? started : 1);
    }
    mbtiles_close(job.mb);
    free(job.tiles);
    renderer_destroy(job.r);
    snapshot_release(snap);
    style_destroy(st);
    return rc;
}
