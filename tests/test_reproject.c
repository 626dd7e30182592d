/* reproject: results against PROJ's own command-line tool cs2cs, run as a
 * separate process, for the CRSs Chinese cadastral data arrives in; WKT from
 * .prj files; the CRS errors; GCJ02 as a source.
 *
 * Axis order (checked by hand with cs2cs and projinfo, PROJ 9.1): cs2cs
 * reads and writes each CRS in its EPSG authority order. The CGCS2000
 * Gauss-Kruger CRSs (EPSG:4548, 4527, 4498, 4499) are northing ("X") first,
 * EPSG:4490 and 4326 are latitude first, EPSG:3857 is easting first. So the
 * input lines are written "northing easting" or "lat lon" as the CRS wants,
 * and cs2cs's output to EPSG:4490 is read as "lat lon h". reproj_points()
 * takes easting/lon first and returns lon,lat. A wrong order on either side
 * lands hundreds of kilometres away (or off the projection), far outside the
 * 1 cm tolerance, and every case also checks it lands near the district. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp */
#endif

#include "gcj02.h"
#include "reproject.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#define DEG_PER_RAD (180.0 / 3.14159265358979323846)

/* 1 cm in degrees of latitude (and of longitude at the equator). */
#define TOL_DEG 1e-7

#define NPTS 50

typedef struct {
    const char *crs;
    bool north_first; /* authority order northing/lat first, as cs2cs wants */
    double x0, y0;    /* centre of the points, easting/lon and northing/lat */
    double half;      /* points lie within ±half of the centre, CRS units */
    double lon, lat;  /* roughly where the centre lands, degrees */
} crs_case;

static const crs_case cases[] = {
    /* 3-degree Gauss-Kruger CM 117E, no zone prefix: the district's CRS */
    {"EPSG:4548", true, 500000.0, 3795000.0, 30000.0, 117.0, 34.28},
    /* 3-degree zone 39 (CM 117E), eastings prefixed with the zone: 39xxxxxx */
    {"EPSG:4527", true, 39500000.0, 3795000.0, 30000.0, 117.0, 34.28},
    /* 6-degree zone 20 (CM 117E), prefixed 20xxxxxx */
    {"EPSG:4498", true, 20500000.0, 3795000.0, 30000.0, 117.0, 34.28},
    /* 6-degree zone 21 (CM 123E), prefixed 21xxxxxx; far from the centre */
    {"EPSG:4499", true, 21300000.0, 3795000.0, 30000.0, 120.83, 34.22},
    {"EPSG:4490", true, 117.19, 34.29, 0.3, 117.19, 34.29},
    {"EPSG:4326", true, 117.19, 34.29, 0.3, 117.19, 34.29},
    {"EPSG:3857", false, 13045000.0, 4068000.0, 30000.0, 117.19, 34.29},
};

/* splitmix64 with a fixed seed: the same points on every run and libc. */
static uint64_t rng_state = 4548u;

static double uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0; /* 2^53 */
}

/* Runs a shell command and returns its whole stdout as a new string (free
 * it), or NULL when it cannot run or exits non-zero. */
static char *run(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    int status = pclose(f);
    if (!buf || status != 0) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* Converts n points (xy easting/lon first, CRS units) to EPSG:4490 with
 * cs2cs in a child process; writes lon,lat pairs to out. False on failure. */
static bool cs2cs_to_4490(const char *crs, bool north_first, const double *xy, size_t n,
                          double *out)
{
    char path[] = "/tmp/zs_test_reproject_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return false;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        double a = xy[2 * i], b = xy[2 * i + 1];
        fprintf(f, "%.12f %.12f\n", north_first ? b : a, north_first ? a : b);
    }
    fclose(f);

    char cmd[512];
    snprintf(cmd, sizeof cmd, "cs2cs -f %%.12f '%s' EPSG:4490 < %s", crs, path);
    char *text = run(cmd);
    unlink(path);
    if (!text) return false;

    /* Each line: lat lon h (EPSG:4490 authority order); "*" for a failure. */
    bool ok = true;
    const char *s = text;
    for (size_t i = 0; i < n && ok; i++) {
        char *end;
        double lat = strtod(s, &end);
        if (end == s) ok = false;
        s = end;
        double lon = strtod(s, &end);
        if (end == s) ok = false;
        s = end;
        strtod(s, &end); /* height */
        s = end;
        out[2 * i] = lon;
        out[2 * i + 1] = lat;
    }
    if (!ok) fprintf(stderr, "cannot read cs2cs output for %s:\n%s\n", crs, text);
    free(text);
    return ok;
}

/* Checks two lon,lat arrays agree to 1 cm on the ground; returns the largest
 * difference (degrees, longitude scaled by cos(lat)) for the log. */
static double compare(const char *what, const double *got, const double *want, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double c = cos(want[2 * i + 1] / DEG_PER_RAD);
        double dlon = (got[2 * i] - want[2 * i]) * c, dlat = got[2 * i + 1] - want[2 * i + 1];
        if (!(fabs(dlon) <= TOL_DEG && fabs(dlat) <= TOL_DEG)) {
            fprintf(stderr, "%s point %zu: got %.10f %.10f, want %.10f %.10f\n", what, i,
                    got[2 * i], got[2 * i + 1], want[2 * i], want[2 * i + 1]);
            test_failures++;
        }
        worst = fmax(worst, fmax(fabs(dlon), fabs(dlat)));
    }
    return worst;
}

static void make_points(const crs_case *c, double *xy)
{
    for (size_t i = 0; i < NPTS; i++) {
        xy[2 * i] = c->x0 + uniform(-c->half, c->half);
        xy[2 * i + 1] = c->y0 + uniform(-c->half, c->half);
    }
}

/* reproj_points() on pts (a copy is transformed) against want. */
static void check_reproj(const char *src, const double *pts, const double *want, const char *what)
{
    reproj *r = NULL;
    zs_error err = {0};
    zs_status st = reproj_create(src, &r, &err);
    CHECK_INT(st, ZS_OK);
    if (st != ZS_OK) {
        fprintf(stderr, "%s: %s\n", what, err.msg);
        return;
    }
    double got[2 * NPTS];
    memcpy(got, pts, sizeof got);
    st = reproj_points(r, got, NPTS, &err);
    CHECK_INT(st, ZS_OK);
    if (st != ZS_OK)
        fprintf(stderr, "%s: %s\n", what, err.msg);
    else
        printf("%-40s largest difference %.2g deg\n", what, compare(what, got, want, NPTS));
    reproj_destroy(r);
}

static void test_against_cs2cs(void)
{
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const crs_case *c = &cases[k];
        double pts[2 * NPTS], want[2 * NPTS];
        make_points(c, pts);
        if (!cs2cs_to_4490(c->crs, c->north_first, pts, NPTS, want)) {
            fprintf(stderr, "cs2cs failed for %s\n", c->crs);
            test_failures++;
            continue;
        }
        /* cs2cs itself read the axes as meant: the cloud lands where expected */
        CHECK_NEAR(want[0], c->lon, 0.5);
        CHECK_NEAR(want[1], c->lat, 0.5);
        check_reproj(c->crs, pts, want, c->crs);
    }
}

/* WKT as GDAL writes it into .prj files and GeoPackages: ESRI WKT1 (no axes,
 * "Gauss_Kruger"), GDAL WKT1 (AXIS northing first), WKT2, PROJJSON. The same
 * easting-first points give the same lon/lat as "EPSG:4548", and the name is
 * still EPSG:4548. */
static void test_wkt_from_files(void)
{
    static const char *const formats[] = {"wkt_esri", "wkt1", "wkt2", "PROJJSON"};
    const crs_case *c = &cases[0];
    double pts[2 * NPTS], want[2 * NPTS];
    make_points(c, pts);
    if (!cs2cs_to_4490(c->crs, c->north_first, pts, NPTS, want)) {
        fprintf(stderr, "cs2cs failed for %s\n", c->crs);
        test_failures++;
        return;
    }
    for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "gdalsrsinfo -o %s EPSG:4548", formats[k]);
        char *text = run(cmd);
        CHECK(text != NULL);
        if (!text) continue;
        char what[64];
        snprintf(what, sizeof what, "EPSG:4548 as %s", formats[k]);
        check_reproj(text, pts, want, what);

        reproj *r = NULL;
        zs_error err = {0};
        if (reproj_create(text, &r, &err) == ZS_OK) {
            CHECK_STR(reproj_source_name(r), "EPSG:4548");
            CHECK(!reproj_source_is_geographic(r));
        }
        reproj_destroy(r);
        free(text);
    }
}

static void check_bad_crs(const char *text)
{
    reproj *r = (reproj *)&r; /* any non-NULL: create must reset it */
    zs_error err = {0};
    CHECK_INT(reproj_create(text, &r, &err), ZS_ECRS);
    CHECK(r == NULL);
    CHECK_INT(err.status, ZS_ECRS);
    if (text[0]) CHECK(strstr(err.msg, text) != NULL);
    printf("error for \"%s\": %s\n", text, err.msg);
    reproj_destroy(r);
}

static void test_bad_crs(void)
{
    check_bad_crs("EPSG:999999");
    check_bad_crs("not a crs");
    check_bad_crs("");
    check_bad_crs("EPSG:4978");  /* geocentric */
    check_bad_crs("+proj=merc"); /* a conversion, not a CRS */
}

static void test_bad_points(void)
{
    reproj *r = NULL;
    zs_error err = {0};

    /* Eastings without the zone prefix are off zone 39's projection. */
    CHECK_INT(reproj_create("EPSG:4527", &r, &err), ZS_OK);
    double gk[] = {39500000.0, 3795000.0, 500000.0, 3795000.0};
    CHECK_INT(reproj_points(r, gk, 2, &err), ZS_ECRS);
    CHECK(strstr(err.msg, "point 1") != NULL);
    CHECK(strstr(err.msg, "500000") != NULL);
    printf("error: %s\n", err.msg);
    reproj_destroy(r);

    /* Metres declared as degrees: PROJ passes them through, reproj refuses. */
    CHECK_INT(reproj_create("EPSG:4490", &r, &err), ZS_OK);
    double geo[] = {117.19, 34.29, 117.2, 34.3, 500000.0, 3795000.0};
    CHECK_INT(reproj_points(r, geo, 3, &err), ZS_ECRS);
    CHECK(strstr(err.msg, "point 2") != NULL);
    printf("error: %s\n", err.msg);
    CHECK_INT(reproj_points(r, geo, 0, &err), ZS_OK);
    reproj_destroy(r);
}

static void test_source_info(void)
{
    static const struct {
        const char *crs, *name;
        bool geographic;
    } info[] = {
        {"EPSG:4548", "EPSG:4548", false}, {"EPSG:4490", "EPSG:4490", true},
        {"EPSG:4326", "EPSG:4326", true},  {"EPSG:3857", "EPSG:3857", false},
        {"GCJ02", "GCJ02", true},          {"gcj02", "GCJ02", true},
    };
    for (size_t k = 0; k < sizeof info / sizeof info[0]; k++) {
        reproj *r = NULL;
        zs_error err = {0};
        CHECK_INT(reproj_create(info[k].crs, &r, &err), ZS_OK);
        if (!r) continue;
        CHECK_STR(reproj_source_name(r), info[k].name);
        CHECK_INT(reproj_source_is_geographic(r), info[k].geographic);
        reproj_destroy(r);
    }
}

/* GCJ02 sources go through the inverse formula, not PROJ. */
static void test_gcj02_source(void)
{
    reproj *r = NULL;
    zs_error err = {0};
    CHECK_INT(reproj_create("Gcj02", &r, &err), ZS_OK);
    if (!r) return;
    double xy[] = {117.195767597833, 34.288780832213, 2.35, 48.85};
    CHECK_INT(reproj_points(r, xy, 2, &err), ZS_OK);
    double lon, lat;
    gcj02_to_wgs84(117.195767597833, 34.288780832213, &lon, &lat);
    CHECK(xy[0] == lon && xy[1] == lat);
    CHECK_NEAR(xy[0], 117.19, TOL_DEG); /* gcj02_from_wgs84(117.19, 34.29) */
    CHECK_NEAR(xy[1], 34.29, TOL_DEG);
    CHECK(xy[2] == 2.35 && xy[3] == 48.85); /* outside China: unchanged */
    double bad[] = {NAN, 34.0};
    CHECK_INT(reproj_points(r, bad, 1, &err), ZS_ECRS);
    reproj_destroy(r);
}

int main(void)
{
    if (system("command -v cs2cs >/dev/null && command -v gdalsrsinfo >/dev/null") != 0) {
        fprintf(stderr, "cs2cs or gdalsrsinfo not found (proj-bin, gdal-bin): skipped\n");
        return 77;
    }
    test_against_cs2cs();
    test_wkt_from_files();
    test_bad_crs();
    test_bad_points();
    test_source_info();
    test_gcj02_source();
    reproj_destroy(NULL);
    TEST_DONE();
}
