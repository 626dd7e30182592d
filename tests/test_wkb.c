/* The WKB reader against hand-written buffers: every geometry type, both byte
 * orders, Z/M in ISO and EWKB spelling; and malformed input (every truncation,
 * bad counts, wrong members, deep nesting, random mutations) must be refused
 * with ZS_EGEOM, never read outside the buffer (run under ASan). */
#include "wkb.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- a tiny WKB writer ----------------------------------------------------- */

typedef struct {
    unsigned char b[4096];
    size_t n;
    bool big;
} wbuf;

static void put_u8(wbuf *w, unsigned v)
{
    w->b[w->n++] = (unsigned char)v;
}

static void put_u32(wbuf *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->b[w->n++] = (unsigned char)(w->big ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put_f64(wbuf *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++)
        w->b[w->n++] = (unsigned char)(w->big ? u >> (56 - 8 * i) : u >> (8 * i));
}

static void header(wbuf *w, uint32_t type)
{
    put_u8(w, w->big ? 0 : 1);
    put_u32(w, type);
}

static void point(wbuf *w, double x, double y)
{
    header(w, 1);
    put_f64(w, x);
    put_f64(w, y);
}

/* A ring: a square of side s at (x, y), closed. */
static void square(wbuf *w, double x, double y, double s)
{
    put_u32(w, 5);
    double xs[] = {x, x + s, x + s, x, x}, ys[] = {y, y, y + s, y + s, y};
    for (int i = 0; i < 5; i++) {
        put_f64(w, xs[i]);
        put_f64(w, ys[i]);
    }
}

static void polygon_with_hole(wbuf *w, double x, double y)
{
    header(w, 3);
    put_u32(w, 2);
    square(w, x, y, 1.0);
    square(w, x + 0.25, y + 0.25, 0.5);
}

static void multipolygon(wbuf *w)
{
    header(w, 6);
    put_u32(w, 2);
    polygon_with_hole(w, 117.0, 34.0);
    header(w, 3);
    put_u32(w, 1);
    square(w, 118.0, 35.0, 0.5);
}

static zs_status parse(const wbuf *w, wkb_geom *g, zs_error *err)
{
    return wkb_parse(w->b, w->n, g, err);
}

/* ---- cases ----------------------------------------------------------------- */

static void test_points(void)
{
    wkb_geom g = WKB_GEOM_INIT;
    zs_error err;
    for (int big = 0; big < 2; big++) {
        wbuf w = {.big = big};
        point(&w, 117.19, 34.29);
        CHECK_INT(parse(&w, &g, &err), ZS_OK);
        CHECK_INT(g.type, 1);
        CHECK_INT(g.nparts, 1);
        CHECK_INT(g.nxy, 1);
        CHECK_INT(g.parts[0].role, WKB_PART_POINT);
        CHECK(g.xy[0].x == 117.19 && g.xy[0].y == 34.29);
    }

    /* Z and M, ISO and EWKB; a MultiPoint of PointZ checks that Z is skipped */
    static const struct {
        uint32_t type;
        int extra;
        bool srid;
    } dims[] = {
        {1001, 1, false},        {2001, 1, false},        {3001, 2, false},
        {0x80000001u, 1, false}, {0x40000001u, 1, false}, {0xc0000001u, 2, false},
        {0xa0000001u, 1, true},  {0x20000001u, 0, true},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        for (int big = 0; big < 2; big++) {
            wbuf w = {.big = big};
            header(&w, 4); /* the MultiPoint is plain; its members carry the flags */
            put_u32(&w, 2);
            for (int k = 0; k < 2; k++) {
                header(&w, dims[i].type);
                if (dims[i].srid) put_u32(&w, 4490);
                put_f64(&w, 100.0 + k);
                put_f64(&w, 30.0 + k);
                for (int e = 0; e < dims[i].extra; e++)
                    put_f64(&w, 999.0);
            }
            zs_status s = parse(&w, &g, &err);
            CHECK_INT(s, ZS_OK);
            if (s) fprintf(stderr, "  type 0x%x: %s\n", (unsigned)dims[i].type, err.msg);
            CHECK_INT(g.nxy, 2);
            if (g.nxy == 2) {
                CHECK(g.xy[0].x == 100.0 && g.xy[0].y == 30.0);
                CHECK(g.xy[1].x == 101.0 && g.xy[1].y == 31.0);
            }
        }
    }

    /* POINT EMPTY (NaN NaN) is no part */
    wbuf w = {.n = 0};
    point(&w, NAN, NAN);
    CHECK_INT(parse(&w, &g, &err), ZS_OK);
    CHECK_INT(g.nparts, 0);
    CHECK_INT(g.nxy, 0);
    wkb_geom_free(&g);
}

static void test_polygons_and_lines(void)
{
    wkb_geom g = WKB_GEOM_INIT;
    zs_error err;
    for (int big = 0; big < 2; big++) {
        wbuf w = {.big = big};
        multipolygon(&w);
        CHECK_INT(parse(&w, &g, &err), ZS_OK);
        CHECK_INT(g.type, 6);
        CHECK_INT(g.nparts, 3);
        CHECK_INT(g.nxy, 15);
        CHECK_INT(g.parts[0].role, WKB_PART_OUTER);
        CHECK_INT(g.parts[1].role, WKB_PART_HOLE);
        CHECK_INT(g.parts[2].role, WKB_PART_OUTER);
        CHECK_INT(g.parts[1].first, 5);
        CHECK_INT(g.parts[2].first, 10);
        CHECK_INT(g.parts[2].count, 5);
        CHECK(g.xy[6].x == 117.75 && g.xy[6].y == 34.25);
        CHECK(g.xy[12].x == 118.5 && g.xy[12].y == 35.5);
    }

    /* MultiLineString, then a GeometryCollection of a point and a line,
     * reusing g's buffers */
    wbuf w = {.n = 0};
    header(&w, 5);
    put_u32(&w, 2);
    for (int k = 0; k < 2; k++) {
        header(&w, 2);
        put_u32(&w, 3);
        for (int i = 0; i < 3; i++) {
            put_f64(&w, k * 10 + i);
            put_f64(&w, -i);
        }
    }
    CHECK_INT(parse(&w, &g, &err), ZS_OK);
    CHECK_INT(g.type, 5);
    CHECK_INT(g.nparts, 2);
    CHECK_INT(g.parts[1].role, WKB_PART_LINE);
    CHECK_INT(g.parts[1].first, 3);
    CHECK(g.xy[5].x == 12 && g.xy[5].y == -2);

    w.n = 0;
    header(&w, 7);
    put_u32(&w, 2);
    point(&w, 1, 2);
    header(&w, 2);
    put_u32(&w, 2);
    put_f64(&w, 3);
    put_f64(&w, 4);
    put_f64(&w, 5);
    put_f64(&w, 6);
    CHECK_INT(parse(&w, &g, &err), ZS_OK);
    CHECK_INT(g.type, 7);
    CHECK_INT(g.nparts, 2);
    CHECK_INT(g.nxy, 3);
    CHECK_INT(g.parts[0].role, WKB_PART_POINT);
    CHECK_INT(g.parts[1].role, WKB_PART_LINE);

    /* an empty polygon and an empty ring */
    w.n = 0;
    header(&w, 3);
    put_u32(&w, 0);
    CHECK_INT(parse(&w, &g, &err), ZS_OK);
    CHECK_INT(g.nparts, 0);
    w.n = 0;
    header(&w, 3);
    put_u32(&w, 2);
    square(&w, 0, 0, 1);
    put_u32(&w, 0);
    CHECK_INT(parse(&w, &g, &err), ZS_OK);
    CHECK_INT(g.nparts, 1);
    CHECK_STR(wkb_type_name(6), "MultiPolygon");
    CHECK_STR(wkb_type_name(99), "unknown");
    wkb_geom_free(&g);
    wkb_geom_free(&g); /* twice is fine: freed leaves it empty */
}

/* Expects ZS_EGEOM and an empty result. */
static void refused(const unsigned char *b, size_t n, const char *what, int line)
{
    wkb_geom g = WKB_GEOM_INIT;
    zs_error err = {0};
    zs_status s = wkb_parse(b, n, &g, &err);
    if (s != ZS_EGEOM || g.nparts != 0 || g.nxy != 0 || !strstr(err.msg, "malformed WKB")) {
        fprintf(stderr, "%s:%d: %s: status %d, %zu parts, message '%s'\n", __FILE__, line, what,
                (int)s, g.nparts, err.msg);
        test_failures++;
    }
    wkb_geom_free(&g);
}

#define REFUSED(w, what) refused((w).b, (w).n, what, __LINE__)

static void test_malformed(void)
{
    wbuf full = {.n = 0};
    multipolygon(&full);
    /* every truncation, and the tail cut from heap memory so ASan sees any
     * read past the end */
    for (size_t n = 0; n < full.n; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, full.b, n);
        refused(copy, n, "truncated", __LINE__);
        free(copy);
    }
    refused(NULL, 0, "NULL buffer", __LINE__);

    wbuf w = full;
    put_u8(&w, 0);
    REFUSED(w, "trailing byte");

    w = full;
    w.b[0] = 2;
    REFUSED(w, "byte order 2");

    static const uint32_t bad_types[] = {0, 8, 15, 17, 99, 4001, 1006 | 0x80000000u, 0x0fffffffu};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        w = (wbuf){.n = 0};
        header(&w, bad_types[i]);
        put_u32(&w, 0);
        REFUSED(w, "bad type");
    }

    /* a MultiPolygon holding a LineString */
    w = (wbuf){.n = 0};
    header(&w, 6);
    put_u32(&w, 1);
    header(&w, 2);
    put_u32(&w, 0);
    REFUSED(w, "wrong member");

    /* counts larger than the buffer could hold: refused before allocating */
    static const uint32_t types[] = {2, 3, 4, 7};
    for (size_t i = 0; i < 4; i++) {
        w = (wbuf){.n = 0};
        header(&w, types[i]);
        put_u32(&w, 0xffffffffu);
        put_f64(&w, 1);
        put_f64(&w, 2);
        REFUSED(w, "huge count");
    }

    /* collections nested deeper than WKB_MAX_DEPTH */
    w = (wbuf){.n = 0};
    for (int d = 0; d <= WKB_MAX_DEPTH + 1; d++) {
        header(&w, 7);
        put_u32(&w, 1);
    }
    point(&w, 1, 1);
    REFUSED(w, "deep nesting");
    w = (wbuf){.n = 0};
    for (int d = 0; d < WKB_MAX_DEPTH; d++) {
        header(&w, 7);
        put_u32(&w, 1);
    }
    point(&w, 1, 1);
    wkb_geom g = WKB_GEOM_INIT;
    zs_error err;
    CHECK_INT(wkb_parse(w.b, w.n, &g, &err), ZS_OK);
    CHECK_INT(g.nxy, 1);
    wkb_geom_free(&g);

    /* non-finite coordinates */
    double bad[][2] = {{NAN, 1}, {1, NAN}, {INFINITY, 1}, {1, -INFINITY}};
    for (int i = 0; i < 4; i++) {
        w = (wbuf){.n = 0};
        point(&w, bad[i][0], bad[i][1]);
        REFUSED(w, "non-finite point");
        w = (wbuf){.n = 0};
        header(&w, 2);
        put_u32(&w, 2);
        put_f64(&w, NAN);
        put_f64(&w, NAN);
        put_f64(&w, bad[i][0]);
        put_f64(&w, bad[i][1]);
        REFUSED(w, "non-finite line");
    }
}

/* Random byte changes to valid buffers: parsed or refused, never a crash, and
 * what is parsed is consistent. */
static void test_mutations(void)
{
    uint64_t state = 42;
    wkb_geom g = WKB_GEOM_INIT;
    wbuf base[3] = {{.n = 0}, {.big = true}, {.n = 0}};
    multipolygon(&base[0]);
    multipolygon(&base[1]);
    header(&base[2], 7);
    put_u32(&base[2], 2);
    polygon_with_hole(&base[2], 1, 2);
    point(&base[2], 3, 4);
    long parsed = 0, refused_n = 0;
    for (int iter = 0; iter < 200000; iter++) {
        wbuf w = base[iter % 3];
        int changes = 1 + iter % 4;
        for (int c = 0; c < changes; c++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(state >> 33) % w.n;
            w.b[at] = (unsigned char)(state >> 13);
        }
        if (iter % 7 == 0) w.n = (size_t)(state >> 40) % (w.n + 1);
        unsigned char *copy = malloc(w.n ? w.n : 1);
        memcpy(copy, w.b, w.n);
        zs_error err;
        zs_status s = wkb_parse(copy, w.n, &g, &err);
        free(copy);
        if (s == ZS_OK) {
            parsed++;
            for (size_t p = 0; p < g.nparts; p++)
                if (g.parts[p].count == 0 || g.parts[p].first + g.parts[p].count > g.nxy)
                    test_failures++;
        } else {
            refused_n++;
            CHECK_INT(s, ZS_EGEOM);
        }
    }
    CHECK(parsed > 0 && refused_n > 0);
    wkb_geom_free(&g);
}

int main(void)
{
    test_points();
    test_polygons_and_lines();
    test_malformed();
    test_mutations();
    TEST_DONE();
}
