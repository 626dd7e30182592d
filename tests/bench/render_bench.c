/* Cold tile rendering over a fixed tile list: every tile of the list drawn
 * and PNG-encoded once per pass, with no tile cache, on 1 thread and on N
 * threads (each thread its own draw surface, one shared renderer), R passes
 * each; reports tiles/s (median pass), the per-tile median and mean of each
 * phase (query, draw, labels from render_stats; render_image's wall time;
 * tilepng_encode), bytes per tile, a per-zoom split and the peak RSS; the
 * last line is the same as JSON after "RESULT ".
 *
 * Each pass starts from a new renderer (so the label-shaping cache it keeps
 * starts empty) and renders the first K tiles of the list on every thread
 * before the clock starts (font loading), not counted.
 *
 *   bench_render DB STYLE TILES [--threads N] [--runs R] [--warmup K]
 *   bench_render DB STYLE TILES --save DIR     (writes DIR/Z-X-Y.png, no timing)
 *
 * TILES: one "Z/X/Y" per line; blank lines and '#' comments are skipped.
 * N defaults to the number of online cores. */
#include "draw.h"
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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define TILE_PX 256
#define MAX_TILES 100000
#define MAX_THREADS 256

typedef struct {
    double query, draw, labels; /* render_stats, µs */
    double render;              /* render_image wall time, µs */
    double encode;              /* tilepng_encode, µs */
    double bytes;               /* PNG size */
    double features, nlabels;
} sample;

enum { F_QUERY, F_DRAW, F_LABELS, F_RENDER, F_ENCODE, F_TOTAL, F_BYTES, F_FEATURES, F_NLABELS, NF };
static const char *const field_name[NF] = {"query_us",  "draw_us",   "labels_us",
                                           "render_us", "encode_us", "total_us",
                                           "bytes",     "features",  "labels"};

static double field(const sample *s, int f)
{
    switch (f) {
    case F_QUERY:
        return s->query;
    case F_DRAW:
        return s->draw;
    case F_LABELS:
        return s->labels;
    case F_RENDER:
        return s->render;
    case F_ENCODE:
        return s->encode;
    case F_TOTAL:
        return s->render + s->encode;
    case F_BYTES:
        return s->bytes;
    case F_FEATURES:
        return s->features;
    default:
        return s->nlabels;
    }
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* CPU time of the whole process (all threads), user + system, µs. */
static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v); NAN when n is 0. */
static double median(double *v, size_t n)
{
    if (!n) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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

/* "Z/X/Y" with Z in 0..TILE_MAX_ZOOM and X, Y below 2^Z. */
static bool parse_tile(char *s, tile_coord *t)
{
    char *b = strchr(s, '/'), *c = b ? strchr(b + 1, '/') : NULL;
    if (!b || !c) return false;
    *b++ = '\0';
    *c++ = '\0';
    long z, x, y;
    if (!parse_long(s, 0, TILE_MAX_ZOOM, &z)) return false;
    long max = (1L << z) - 1;
    if (!parse_long(b, 0, max, &x) || !parse_long(c, 0, max, &y)) return false;
    *t = (tile_coord){(int)z, (uint32_t)x, (uint32_t)y};
    return true;
}

/* Reads the tile list; returns a new array (free()) and its length in *n,
 * or NULL after printing why. */
static tile_coord *read_tiles(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_render: cannot read '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    tile_coord *t = malloc(MAX_TILES * sizeof *t);
    char line[256];
    size_t k = 0, lineno = 0;
    while (t && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (!*p || *p == '#') continue;
        if (k == MAX_TILES || !parse_tile(p, &t[k])) {
            fprintf(stderr, "bench_render: %s:%zu: %s\n", path, lineno,
                    k == MAX_TILES ? "too many tiles" : "not a tile Z/X/Y");
            free(t);
            t = NULL;
            break;
        }
        k++;
    }
    fclose(f);
    if (t && !k) {
        fprintf(stderr, "bench_render: '%s' lists no tiles\n", path);
        free(t);
        t = NULL;
    }
    *n = k;
    return t;
}

/* ---- one pass --------------------------------------------------------------- */

typedef struct {
    renderer *r;
    const snapshot *snap;
    const style *st;
    const tile_coord *tiles;
    size_t ntiles, nwarm;
    sample *out;          /* ntiles */
    atomic_size_t next;   /* the next tile to take */
    pthread_mutex_t lock; /* guards ready and go */
    pthread_cond_t cond;  /* signalled when ready or go change */
    int ready;            /* workers done warming up */
    bool go;              /* the clock runs: take tiles */
    atomic_int failed;
    const char *save_dir; /* not NULL: write each tile's PNG there */
} pass;

/* Renders and encodes tile t into *s; *png is a new buffer (free()). */
static zs_status render_tile(pass *p, draw *d, tile_coord t, sample *s, unsigned char **png,
                             size_t *len, zs_error *err)
{
    tile_bbox b = tile_bounds(t);
    render_request req = {
        .bbox = {b.minx, b.miny, b.maxx, b.maxy},
        .width = TILE_PX,
        .height = TILE_PX,
        .pixel_ratio = 1.0,
    };
    render_stats rs = {0};
    double t0 = now_us();
    if (render_image(p->r, p->snap, p->st, &req, d, &rs, err)) return err->status;
    double t1 = now_us();
    int stride;
    const uint32_t *px = draw_pixels(d, &stride);
    if (tilepng_encode(px, TILE_PX, TILE_PX, stride, TILEPNG_DEFAULTS, png, len, err))
        return err->status;
    double t2 = now_us();
    *s = (sample){rs.query_us, rs.draw_us,   rs.labels_us,        t1 - t0,
                  t2 - t1,     (double)*len, (double)rs.features, (double)rs.labels};
    return ZS_OK;
}

static void *worker(void *arg)
{
    pass *p = arg;
    zs_error err = {0};
    draw *d = draw_create(TILE_PX, TILE_PX);
    if (!d) {
        fprintf(stderr, "bench_render: out of memory\n");
        p->failed = 1;
    }
    sample s;
    unsigned char *png;
    size_t len;
    for (size_t i = 0; d && i < p->nwarm && !p->failed; i++) {
        if (render_tile(p, d, p->tiles[i], &s, &png, &len, &err)) {
            fprintf(stderr, "bench_render: warm-up: %s\n", err.msg);
            p->failed = 1;
        } else {
            free(png);
        }
    }
    pthread_mutex_lock(&p->lock);
    p->ready++;
    pthread_cond_broadcast(&p->cond);
    while (!p->go)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    for (size_t i; d && !p->failed && (i = atomic_fetch_add(&p->next, 1)) < p->ntiles;) {
        tile_coord t = p->tiles[i];
        if (render_tile(p, d, t, &p->out[i], &png, &len, &err)) {
            fprintf(stderr, "bench_render: tile %d/%u/%u: %s\n", t.z, t.x, t.y, err.msg);
            p->failed = 1;
            break;
        }
        if (p->save_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%d-%u-%u.png", p->save_dir, t.z, t.x, t.y);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(png, 1, len, f) != len) {
                fprintf(stderr, "bench_render: cannot write '%s'\n", path);
                p->failed = 1;
            }
            if (f) fclose(f);
        }
        free(png);
    }
    draw_destroy(d);
    return NULL;
}

/* Runs one pass on nthreads threads with a new renderer; fills out[] (one
 * sample per tile) and returns the wall time of the timed part in µs, or a
 * negative number on failure; *cores: the CPU time the process got in that
 * time over the wall time (below nthreads when the machine was busy). */
static double run_pass(const snapshot *snap, const style *st, const tile_coord *tiles,
                       size_t ntiles, size_t nwarm, int nthreads, sample *out, const char *save_dir,
                       double *cores)
{
    zs_error err = {0};
    pass p = {.snap = snap,
              .st = st,
              .tiles = tiles,
              .ntiles = ntiles,
              .out = out,
              .nwarm = nwarm < ntiles ? nwarm : ntiles,
              .save_dir = save_dir};
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    if (renderer_create(&p.r, &err)) {
        fprintf(stderr, "bench_render: %s\n", err.msg);
        return -1;
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (; started < nthreads; started++)
        if (pthread_create(&th[started], NULL, worker, &p)) break;
    if (started < nthreads) {
        fprintf(stderr, "bench_render: cannot start %d threads\n", nthreads);
        p.failed = 1; /* the started ones stop at once */
    }
    /* the clock starts when every thread has warmed up */
    pthread_mutex_lock(&p.lock);
    while (p.ready < started)
        pthread_cond_wait(&p.cond, &p.lock);
    p.go = true;
    double t0 = now_us(), c0 = cpu_us();
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.lock);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double wall = now_us() - t0;
    if (cores) *cores = (cpu_us() - c0) / wall;
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.lock);
    renderer_destroy(p.r);
    return p.failed ? -1 : wall;
}

/* ---- reporting --------------------------------------------------------------- */

typedef struct {
    int threads;
    double tps[64];   /* per run */
    double cores[64]; /* per run: CPU time over wall time */
    double tps_median;
    double med[NF], mean[NF]; /* over tiles, of each tile's median over runs */
} result;

/* Each tile's median over the runs, then the median and mean over tiles
 * (only tiles with zoom z when z >= 0). */
static void summarise(sample *const *runs, int nruns, const tile_coord *tiles, size_t ntiles, int z,
                      double med[NF], double mean[NF], size_t *count)
{
    double *col = malloc(ntiles * sizeof *col), *per = malloc((size_t)nruns * sizeof *per);
    for (int f = 0; f < NF; f++) {
        size_t k = 0;
        double sum = 0;
        for (size_t i = 0; i < ntiles; i++) {
            if (z >= 0 && tiles[i].z != z) continue;
            for (int r = 0; r < nruns; r++)
                per[r] = field(&runs[r][i], f);
            col[k] = median(per, (size_t)nruns);
            sum += col[k++];
        }
        mean[f] = k ? sum / (double)k : NAN;
        med[f] = median(col, k);
        *count = k;
    }
    free(col);
    free(per);
}

static void print_phases(const char *title, const double med[NF], const double mean[NF])
{
    printf("  %-22s %9s %9s %9s %9s %9s %9s %9s\n", title, "query", "draw", "labels", "render",
           "encode", "total", "bytes");
    printf("  %-22s %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f\n", "median (us, bytes)",
           med[F_QUERY], med[F_DRAW], med[F_LABELS], med[F_RENDER], med[F_ENCODE], med[F_TOTAL],
           med[F_BYTES]);
    printf("  %-22s %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f\n", "mean (us, bytes)", mean[F_QUERY],
           mean[F_DRAW], mean[F_LABELS], mean[F_RENDER], mean[F_ENCODE], mean[F_TOTAL],
           mean[F_BYTES]);
    double t = mean[F_TOTAL];
    printf("  %-22s %8.1f%% %8.1f%% %8.1f%% %8.1f%% %8.1f%%\n", "share of mean total",
           100 * mean[F_QUERY] / t, 100 * mean[F_DRAW] / t, 100 * mean[F_LABELS] / t,
           100 * mean[F_RENDER] / t, 100 * mean[F_ENCODE] / t);
}

static void json_phases(const double v[NF])
{
    for (int f = 0; f < NF; f++)
        printf("%s\"%s\": %.1f", f ? ", " : "", field_name[f], v[f]);
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s DB STYLE TILES [--threads N] [--runs R] [--warmup K]\n"
            "       %s DB STYLE TILES --save DIR\n",
            argv0, argv0);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        usage(argv[0]);
        return 2;
    }
    const char *db = argv[1], *style_path = argv[2], *tiles_path = argv[3], *save_dir = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long nthreads = ncpu > 0 ? ncpu : 1, nruns = 3, nwarm = 5;
    for (int i = 4; i < argc; i += 2) { /* options come in pairs: --name value */
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (ok && strcmp(o, "--threads") == 0)
            ok = parse_long(v, 1, MAX_THREADS, &nthreads);
        else if (ok && strcmp(o, "--runs") == 0)
            ok = parse_long(v, 1, 63, &nruns);
        else if (ok && strcmp(o, "--warmup") == 0)
            ok = parse_long(v, 0, 1000, &nwarm);
        else if (ok && strcmp(o, "--save") == 0)
            save_dir = v;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "bench_render: bad option '%s%s%s'\n", o, v ? " " : "", v ? v : "");
            usage(argv[0]);
            return 2;
        }
    }

    size_t ntiles;
    tile_coord *tiles = read_tiles(tiles_path, &ntiles);
    if (!tiles) return 1;

    zs_error err = {0};
    style *st = NULL;
    source *src = NULL;
    snapshot *snap = NULL;
    double t0 = now_us();
    if (style_load_file(style_path, &st, &err) || source_open_spatialite(db, &src, &err)) {
        fprintf(stderr, "bench_render: %s\n", err.msg);
        return 1;
    }
    double t1 = now_us();
    if (snapshot_load(src, &snap, &err)) {
        fprintf(stderr, "bench_render: %s\n", err.msg);
        return 1;
    }
    double load_ms = (now_us() - t1) / 1e3, open_ms = (t1 - t0) / 1e3;
    source_close(src);
    double rss_loaded = peak_rss_mib();

    sample *runs[2][64];
    for (int k = 0; k < 2; k++)
        for (long r = 0; r < nruns; r++)
            if (!(runs[k][r] = calloc(ntiles, sizeof(sample)))) {
                fprintf(stderr, "bench_render: out of memory\n");
                return 1;
            }

    if (save_dir) {
        if (run_pass(snap, st, tiles, ntiles, (size_t)nwarm, 1, runs[0][0], save_dir, NULL) < 0)
            return 1;
        printf("bench_render: wrote %zu tiles to %s\n", ntiles, save_dir);
        return 0;
    }

    printf("bench_render: %s, style %s, %zu tiles from %s\n", db, style_name(st), ntiles,
           tiles_path);
    printf("  snapshot: open %.1f ms, load %.1f ms, %.1f MiB; peak RSS after load %.1f MiB\n",
           open_ms, load_ms, (double)snapshot_memory(snap) / 1048576.0, rss_loaded);
    printf("  %ld runs per thread count, %ld warm-up tiles per thread and pass (not counted), "
           "%ld cores online\n",
           nruns, nwarm, ncpu);

    int counts[2] = {1, (int)nthreads};
    int nk = nthreads > 1 ? 2 : 1;
    result res[2] = {0};
    for (long r = 0; r < nruns; r++) { /* interleaved, so drift hits both alike */
        for (int k = 0; k < nk; k++) {
            double wall = run_pass(snap, st, tiles, ntiles, (size_t)nwarm, counts[k], runs[k][r],
                                   NULL, &res[k].cores[r]);
            if (wall < 0) return 1;
            res[k].tps[r] = (double)ntiles / (wall / 1e6);
        }
    }
    for (int k = 0; k < nk; k++) {
        size_t n;
        res[k].threads = counts[k];
        double tps[64];
        memcpy(tps, res[k].tps, sizeof tps);
        res[k].tps_median = median(tps, (size_t)nruns);
        summarise(runs[k], (int)nruns, tiles, ntiles, -1, res[k].med, res[k].mean, &n);
    }

    for (int k = 0; k < nk; k++) {
        printf("\nthreads %d: %.1f tiles/s (median of", res[k].threads, res[k].tps_median);
        for (long r = 0; r < nruns; r++)
            printf(" %.1f", res[k].tps[r]);
        printf("), %.1f tiles/s per thread; cores busy", res[k].tps_median / res[k].threads);
        for (long r = 0; r < nruns; r++)
            printf(" %.2f", res[k].cores[r]);
        printf(" (CPU time / wall time: below %d, the machine was busy)\n", res[k].threads);
        printf("  per tile, each tile's median over runs:\n");
        print_phases("phase", res[k].med, res[k].mean);
    }

    printf("\nper zoom, 1 thread (us; render = query + draw + labels + clearing and the rest):\n");
    printf("  %4s %5s %9s %9s %9s %9s %9s %9s %9s %8s %7s\n", "zoom", "tiles", "query", "draw",
           "labels", "render", "encode", "total", "mean tot", "bytes", "feats");
    for (int z = 0; z <= TILE_MAX_ZOOM; z++) {
        double med[NF], mean[NF];
        size_t n;
        summarise(runs[0], (int)nruns, tiles, ntiles, z, med, mean, &n);
        if (!n) continue;
        printf("  %4d %5zu %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %8.0f %7.0f\n", z, n,
               med[F_QUERY], med[F_DRAW], med[F_LABELS], med[F_RENDER], med[F_ENCODE], med[F_TOTAL],
               mean[F_TOTAL], mean[F_BYTES], mean[F_FEATURES]);
    }
    double rss = peak_rss_mib();
    printf("\npeak RSS %.1f MiB (%.1f MiB after loading the snapshot)\n", rss, rss_loaded);

    printf("RESULT {\"renderer\": \"zsmap\", \"db\": \"%s\", \"tiles\": %zu, \"runs\": %ld, "
           "\"load_ms\": %.1f, \"snapshot_mib\": %.1f, \"peak_rss_mib\": %.1f, \"passes\": [",
           db, ntiles, nruns, load_ms, (double)snapshot_memory(snap) / 1048576.0, rss);
    for (int k = 0; k < nk; k++) {
        printf("%s{\"threads\": %d, \"tiles_per_s\": %.2f, \"runs_tiles_per_s\": [", k ? ", " : "",
               res[k].threads, res[k].tps_median);
        for (long r = 0; r < nruns; r++)
            printf("%s%.2f", r ? ", " : "", res[k].tps[r]);
        printf("], \"cores_busy\": [");
        for (long r = 0; r < nruns; r++)
            printf("%s%.2f", r ? ", " : "", res[k].cores[r]);
        printf("], \"median\": {");
        json_phases(res[k].med);
        printf("}, \"mean\": {");
        json_phases(res[k].mean);
        printf("}}");
    }
    printf("]}\n");

    for (int k = 0; k < 2; k++)
        for (long r = 0; r < nruns; r++)
            free(runs[k][r]);
    snapshot_release(snap);
    style_destroy(st);
    free(tiles);
    return 0;
}
