/* Loads a store's snapshot N times and reports the median load time, the
 * bytes the snapshot holds and the process's peak RSS; then times lookups by
 * id and tile-sized queries on the last snapshot.
 *   bench_snapshot_load DB [N]      (N: loads, default 5) */
#include "snapshot.h"
#include "source.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool count(const snap_layer *layer, uint32_t feature, void *ctx)
{
    (void)layer, (void)feature;
    ++*(size_t *)ctx;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DB [N]\n", argv[0]);
        return 2;
    }
    long n = 5;
    if (argc == 3) {
        char *end;
        errno = 0;
        n = strtol(argv[2], &end, 10);
        if (errno || *end || n < 1 || n > 1000) {
            fprintf(stderr, "N must be an integer from 1 to 1000\n");
            return 2;
        }
    }

    zs_error err;
    source *src;
    double t = now_ms();
    if (source_open_spatialite(argv[1], &src, &err)) {
        fprintf(stderr, "%s: %s\n", zs_strerror(err.status), err.msg);
        return 1;
    }
    double open_ms = now_ms() - t, rss_open = peak_rss_mib();

    double *ms = calloc((size_t)n, sizeof *ms);
    snapshot *s = NULL;
    for (long i = 0; i < n; i++) {
        snapshot_release(s);
        t = now_ms();
        if (!ms || snapshot_load(src, &s, &err)) {
            fprintf(stderr, "%s: %s\n", zs_strerror(err.status), ms ? err.msg : "out of memory");
            return 1;
        }
        ms[i] = now_ms() - t;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);

    printf("store            %s (data version %lld)\n", argv[1],
           (long long)snapshot_data_version(s));
    size_t points = 0, profile_bytes = 0;
    for (int l = 0; l < LAYER_COUNT; l++) {
        const snap_layer *ly = snapshot_layer(s, (layer_id)l);
        printf("  %-14s %8u features %9u parts %10u points\n", layer_get((layer_id)l)->name,
               ly->nfeatures, ly->nparts, ly->npoints);
        points += ly->npoints;
        for (uint32_t i = 0; ly->carriers && i < ly->nfeatures; i++)
            profile_bytes += ly->carriers[i].profile_len;
    }
    printf("open             %.1f ms (schema and integrity check)\n", open_ms);
    printf("load             median %.1f ms, min %.1f, max %.1f over %ld\n", ms[n / 2], ms[0],
           ms[n - 1], n);
    printf("snapshot_memory  %.1f MiB (%zu points, %.1f MiB of profiles)\n",
           (double)snapshot_memory(s) / 1048576.0, points, (double)profile_bytes / 1048576.0);
    printf("peak RSS         %.1f MiB (%.1f MiB after opening the store)\n", peak_rss_mib(),
           rss_open);

    /* lookups by id: every carrier, several times */
    size_t nc = snapshot_carrier_count(s), found = 0, rounds = 20;
    t = now_ms();
    for (size_t r = 0; r < rounds; r++) {
        for (int l = 0; l < LAYER_COUNT; l++) {
            const snap_layer *ly = snapshot_layer(s, (layer_id)l);
            for (uint32_t i = 0; ly->carriers && i < ly->nfeatures; i++)
                found += snapshot_carrier_by_id(s, ly->carriers[i].id) != NULL;
        }
    }
    double lookup_ms = now_ms() - t;
    if (nc)
        printf("carrier_by_id    %.0f ns per lookup (%zu found)\n",
               lookup_ms * 1e6 / (double)(nc * rounds), found / rounds);

    /* zoom-16 tile-sized queries (611 m) over the parcels' extent */
    const snap_layer *bl = snapshot_layer(s, LAYER_BUILDINGS);
    if (bl->nfeatures) {
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (uint32_t i = 0; i < bl->nfeatures; i++) {
            const sidx_box *b = &bl->features[i].bbox;
            if (isnan(b->minx)) continue;
            x0 = b->minx < x0 ? b->minx : x0, y0 = b->miny < y0 ? b->miny : y0;
            x1 = b->maxx > x1 ? b->maxx : x1, y1 = b->maxy > y1 ? b->maxy : y1;
        }
        size_t hits = 0, queries = 20000;
        uint64_t seed = 1;
        t = now_ms();
        for (size_t q = 0; q < queries; q++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            double fx = (double)(seed >> 11) * 0x1p-53;
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            double fy = (double)(seed >> 11) * 0x1p-53;
            double x = x0 + (x1 - x0) * fx, y = y0 + (y1 - y0) * fy, w = 611.5;
            hits += snapshot_query(s, LAYER_BUILDINGS, (sidx_box){x, y, x + w, y + w}, count,
                                   &(size_t){0});
        }
        double q_ms = now_ms() - t;
        printf("query            %.2f us per z16 tile of buildings (%.1f found on average)\n",
               q_ms * 1e3 / (double)queries, (double)hits / (double)queries);
    }
    snapshot_release(s);
    source_close(src);
    free(ms);
    return 0;
}
