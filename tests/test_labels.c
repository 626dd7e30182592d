/* labels_place against its definition: a candidate is placed exactly when no
 * candidate ranking before it overlaps it with positive area. Random sets
 * from a fixed seed; the tile property (a tile that gathers candidates with
 * a margin decides like the whole world) is checked by cutting the world
 * into tiles and shuffling each tile's subset. */
#include "labels.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double rng_range(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next() >> 11) * 0x1p-53);
}

static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)(rng_next() % n);
}

#define MAX_W 120.0 /* largest label box, pixels */
#define MAX_H 30.0

static label_candidate cand(double x, double y, double w, double h, double prio, uint64_t tie)
{
    return (label_candidate){x, y, x + w, y + h, prio, tie, false};
}

/* n labels in a world of side pixels. Few priorities and few names, so that
 * equal priorities and equal ties (the same name) are common; some boxes
 * are snapped to whole pixels so that edges touch exactly. */
static void random_set(label_candidate *c, size_t n, double side)
{
    static const char *names[] = {"解放路", "中山路", "徐州高新区", "铜山区", "Park"};
    for (size_t i = 0; i < n; i++) {
        double w = rng_range(20, MAX_W), h = rng_range(12, MAX_H);
        double x = rng_range(-MAX_W, side), y = rng_range(-MAX_H, side);
        if (rng_below(4) == 0) {
            x = (double)(int)x;
            y = (double)(int)y;
            w = (double)(int)w;
            h = (double)(int)h;
        }
        /* One draw per statement: argument order is unspecified in C. */
        double prio = (double)rng_below(4);
        uint64_t tie = labels_hash(names[rng_below(5)]);
        c[i] = cand(x, y, w, h, prio, tie);
    }
}

static bool overlaps(const label_candidate *a, const label_candidate *b)
{
    return a->minx < b->maxx && b->minx < a->maxx && a->miny < b->maxy && b->miny < a->maxy;
}

/* Strictly before by (priority, tie): the part of the order labels.h names. */
static bool strictly_before(const label_candidate *a, const label_candidate *b)
{
    return a->priority < b->priority || (a->priority == b->priority && a->tie < b->tie);
}

static void check_definition(const label_candidate *c, size_t n)
{
    int bad_overlap = 0, bad_free = 0, bad_blocked = 0;
    for (size_t i = 0; i < n; i++) {
        bool free_of_better = true;
        for (size_t j = 0; j < n; j++) {
            if (j == i || !overlaps(&c[i], &c[j])) continue;
            if (j > i && c[i].placed && c[j].placed) bad_overlap++;
            if (!strictly_before(&c[i], &c[j])) free_of_better = false;
            if (strictly_before(&c[j], &c[i]) && c[i].placed) bad_blocked++;
        }
        if (free_of_better && !c[i].placed) bad_free++;
    }
    CHECK_INT(bad_overlap, 0); /* no two placed boxes overlap */
    CHECK_INT(bad_free, 0);    /* nothing better overlaps it: placed */
    CHECK_INT(bad_blocked, 0); /* something strictly better overlaps it: not placed */
}

static void test_random_sets(void)
{
    rng_state = 42;
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + rng_below(1500);
        double side = rng_range(200, 3000);
        label_candidate *c = malloc(n * sizeof *c);
        random_set(c, n, side);
        size_t placed = labels_place(c, n), count = 0;
        for (size_t i = 0; i < n; i++)
            count += c[i].placed;
        CHECK_INT(placed, count);
        CHECK(placed > 0);
        check_definition(c, n);
        free(c);
    }
}

/* The decision must not depend on the order of the input. */
static void test_order_independent(void)
{
    rng_state = 7;
    size_t n = 800;
    label_candidate *c = malloc(n * sizeof *c), *s = malloc(n * sizeof *s);
    size_t *perm = malloc(n * sizeof *perm);
    random_set(c, n, 600);
    labels_place(c, n);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_below((uint32_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        s[i] = c[perm[i]];
    labels_place(s, n);
    int differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += s[i].placed != c[perm[i]].placed;
    CHECK_INT(differ, 0);
    free(c);
    free(s);
    free(perm);
}

/* Tiles of 256 px, each gathering the candidates within 2 label sizes of
 * it, shuffled: every candidate touching the tile must be decided as in the
 * global run. */
static void test_tiles_agree(void)
{
    rng_state = 2024;
    const double side = 2048, tile = 256, margin = 2 * MAX_W;
    size_t n = 3000;
    label_candidate *c = malloc(n * sizeof *c), *sub = malloc(n * sizeof *sub);
    size_t *from = malloc(n * sizeof *from);
    random_set(c, n, side);
    labels_place(c, n);
    int checked = 0, differ = 0;
    for (double ty = 0; ty < side; ty += tile)
        for (double tx = 0; tx < side; tx += tile) {
            label_candidate reach =
                cand(tx - margin, ty - margin, tile + 2 * margin, tile + 2 * margin, 0, 0);
            label_candidate inside = cand(tx, ty, tile, tile, 0, 0);
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (overlaps(&c[i], &reach)) {
                    sub[m] = c[i];
                    sub[m].placed = !c[i].placed; /* must be overwritten */
                    from[m++] = i;
                }
            for (size_t i = m; i > 1; i--) { /* another order than the global one */
                size_t j = rng_below((uint32_t)i);
                label_candidate t = sub[i - 1];
                sub[i - 1] = sub[j];
                sub[j] = t;
                size_t f = from[i - 1];
                from[i - 1] = from[j];
                from[j] = f;
            }
            labels_place(sub, m);
            for (size_t k = 0; k < m; k++) {
                if (!overlaps(&sub[k], &inside)) continue;
                checked++;
                if (sub[k].placed != c[from[k]].placed) differ++;
            }
        }
    CHECK(checked > (int)n);
    CHECK_INT(differ, 0);
    free(c);
    free(sub);
    free(from);
}

static void test_ties(void)
{
    /* Equal priority: the lower tie wins, whatever the order. */
    label_candidate a[2] = {cand(0, 0, 50, 20, 1, 9), cand(10, 5, 50, 20, 1, 3)};
    CHECK_INT(labels_place(a, 2), 1);
    CHECK(!a[0].placed);
    CHECK(a[1].placed);
    label_candidate b[2] = {a[1], a[0]};
    CHECK_INT(labels_place(b, 2), 1);
    CHECK(b[0].placed);
    CHECK(!b[1].placed);

    /* Equal priority and tie (one road name repeated): still the same
     * answer in either order, so two tiles agree. */
    label_candidate e[2] = {cand(0, 0, 50, 20, 1, 5), cand(10, 5, 50, 20, 1, 5)};
    labels_place(e, 2);
    label_candidate f[2] = {e[1], e[0]};
    labels_place(f, 2);
    CHECK(e[0].placed != e[1].placed);
    CHECK_INT(e[0].placed, f[1].placed);
    CHECK_INT(e[1].placed, f[0].placed);

    /* Priority beats tie; NaN priority ranks last. */
    label_candidate p[2] = {cand(0, 0, 50, 20, 2, 0), cand(10, 5, 50, 20, 1, 99)};
    labels_place(p, 2);
    CHECK(!p[0].placed && p[1].placed);
    label_candidate q[2] = {cand(0, 0, 50, 20, NAN, 0), cand(10, 5, 50, 20, 1e9, 99)};
    labels_place(q, 2);
    CHECK(!q[0].placed && q[1].placed);
}

/* A lower-priority candidate that is itself blocked still blocks: the chain
 * A > B > C with A, C apart leaves only A placed. */
static void test_chain(void)
{
    label_candidate c[3] = {cand(0, 0, 40, 10, 1, 0), cand(30, 0, 40, 10, 2, 0),
                            cand(60, 0, 40, 10, 3, 0)};
    CHECK_INT(labels_place(c, 3), 1);
    CHECK(c[0].placed && !c[1].placed && !c[2].placed);
}

static void test_edges(void)
{
    CHECK_INT(labels_place(NULL, 0), 0);
    label_candidate one = cand(5, 5, 10, 10, 0, 0);
    CHECK_INT(labels_place(&one, 1), 1);
    CHECK(one.placed);

    /* Touching edges and corners do not overlap. */
    label_candidate t[4] = {cand(0, 0, 10, 10, 0, 0), cand(10, 0, 10, 10, 1, 0),
                            cand(0, 10, 10, 10, 2, 0), cand(10, 10, 10, 10, 3, 0)};
    CHECK_INT(labels_place(t, 4), 4);

    /* Empty, inverted or non-finite boxes are not placed and block nothing. */
    label_candidate bad[4] = {cand(0, 0, 0, 10, 0, 0), cand(0, 0, 10, -1, 0, 0),
                              cand(NAN, 0, 10, 10, 0, 0), cand(0, 0, 10, 10, 5, 0)};
    bad[0].placed = true;
    CHECK_INT(labels_place(bad, 4), 1);
    CHECK(!bad[0].placed && !bad[1].placed && !bad[2].placed && bad[3].placed);

    /* One huge box among many small ones. */
    label_candidate h[3] = {cand(-1e6, -1e6, 2e6, 2e6, 5, 0), cand(0, 0, 10, 10, 0, 0),
                            cand(1e5, 1e5, 10, 10, 1, 0)};
    CHECK_INT(labels_place(h, 3), 2);
    CHECK(!h[0].placed);
}

static void test_hash(void)
{
    /* Published FNV-1a 64 test vectors. */
    CHECK(labels_hash("") == 0xcbf29ce484222325u);
    CHECK(labels_hash("a") == 0xaf63dc4c8601ec8cu);
    CHECK(labels_hash("foobar") == 0x85944171f73967e8u);
    CHECK(labels_hash(NULL) == 0xcbf29ce484222325u);
    CHECK(labels_hash("解放路") != labels_hash("中山路"));
}

/* Scale: 200,000 labels must not take quadratic time. */
static void test_large(void)
{
    rng_state = 99;
    size_t n = 200000;
    label_candidate *c = malloc(n * sizeof *c);
    random_set(c, n, 40000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t placed = labels_place(c, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "labels_place: %zu candidates, %zu placed, %.1f ms\n", n, placed, ms);
    CHECK(placed > 0 && placed < n);
    CHECK(ms < 5000);
    free(c);
}

int main(void)
{
    test_random_sets();
    test_order_independent();
    test_tiles_agree();
    test_ties();
    test_chain();
    test_edges();
    test_hash();
    test_large();
    TEST_DONE();
}
