#include "wkb.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *buf;
    size_t len, off;
    wkb_geom *g;
    zs_error *err;
} reader;

static zs_status bad(reader *r, const char *why)
{
    return zs_fail(r->err, ZS_EGEOM, "malformed WKB at byte %zu of %zu: %s", r->off, r->len, why);
}

static size_t left(const reader *r)
{
    return r->len - r->off;
}

static uint32_t get_u32(reader *r, bool big)
{
    const unsigned char *p = r->buf + r->off;
    r->off += 4;
    if (big) return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static double get_f64(reader *r, bool big)
{
    const unsigned char *p = r->buf + r->off;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[big ? i : 7 - i];
    r->off += 8;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Makes room for n more elements of size elem in *p (capacity *cap, used
 * *used); false when out of memory or the count would overflow. */
static bool reserve(void **p, size_t *cap, size_t used, size_t n, size_t elem)
{
    if (n <= *cap - used) return true;
    if (n > SIZE_MAX / elem - used) return false;
    size_t want = *cap ? *cap : 16;
    while (want < used + n)
        want = want > SIZE_MAX / elem / 2 ? used + n : want * 2;
    void *q = realloc(*p, want * elem);
    if (!q) return false;
    *p = q;
    *cap = want;
    return true;
}

/* Reads n points of dims doubles each as one part; n was checked against
 * the bytes left. Empty parts are dropped. */
static zs_status read_points(reader *r, bool big, uint32_t n, unsigned dims, wkb_part_role role)
{
    wkb_geom *g = r->g;
    if (n == 0) return ZS_OK;
    if ((uint64_t)g->nxy + n > UINT32_MAX) return bad(r, "more than 2^32 points");
    if (!reserve((void **)&g->xy, &g->xy_cap, g->nxy, n, sizeof *g->xy) ||
        !reserve((void **)&g->parts, &g->parts_cap, g->nparts, 1, sizeof *g->parts))
        return zs_fail(r->err, ZS_ENOMEM, "out of memory reading WKB");
    size_t first = g->nxy;
    for (uint32_t i = 0; i < n; i++) {
        size_t at = r->off;
        double x = get_f64(r, big), y = get_f64(r, big);
        r->off += (size_t)(dims - 2) * 8;                                 /* Z and M */
        if (role == WKB_PART_POINT && isnan(x) && isnan(y)) return ZS_OK; /* POINT EMPTY */
        if (!isfinite(x) || !isfinite(y)) {
            r->off = at;
            return bad(r, "coordinate is not a finite number");
        }
        g->xy[g->nxy++] = (wkb_xy){x, y};
    }
    g->parts[g->nparts++] = (wkb_part){(uint32_t)first, n, role};
    return ZS_OK;
}

/* Reads a count of items of at least item_size bytes each, refusing counts
 * the remaining bytes cannot hold. */
static zs_status read_count(reader *r, bool big, size_t item_size, uint32_t *n)
{
    if (left(r) < 4) return bad(r, "truncated count");
    *n = get_u32(r, big);
    if (*n > left(r) / item_size) {
        r->off -= 4;
        return bad(r, "count exceeds the bytes left");
    }
    return ZS_OK;
}

static const char *const type_names[] = {
    "",           "Point",           "LineString",   "Polygon",
    "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection",
};

/* Reads one geometry; expect is the type a Multi* member must have (0: any). */
static zs_status read_geom(reader *r, unsigned depth, uint32_t expect, uint32_t *type_out)
{
    if (depth > WKB_MAX_DEPTH) return bad(r, "geometry collections nested too deep");
    if (left(r) < 5) return bad(r, "truncated geometry header");
    unsigned char order = r->buf[r->off];
    if (order > 1) return bad(r, "byte order is neither 0 (big endian) nor 1 (little endian)");
    r->off++;
    bool big = order == 0;
    uint32_t raw = get_u32(r, big);

    /* EWKB flags in the high bits, or ISO 1000/2000/3000 for Z/M/ZM. */
    bool z = raw & 0x80000000u, m = raw & 0x40000000u, srid = raw & 0x20000000u;
    uint32_t code = raw & 0x0fffffffu, iso = code / 1000, type = code % 1000;
    if (iso > 3 || ((z || m) && iso)) {
        r->off -= 4;
        return bad(r, "unknown geometry type code");
    }
    if (iso & 1) z = true;
    if (iso & 2) m = true;
    if (type < 1 || type > 7) {
        r->off -= 4;
        return bad(r, type >= 8 && type <= 17
                          ? "curved and surface geometry types are not supported"
                          : "unknown geometry type code");
    }
    if (expect && type != expect) {
        r->off -= 4;
        return bad(r, expect == 1   ? "a MultiPoint member is not a Point"
                      : expect == 2 ? "a MultiLineString member is not a LineString"
                                    : "a MultiPolygon member is not a Polygon");
    }
    if (srid) {
        if (left(r) < 4) return bad(r, "truncated SRID");
        r->off += 4;
    }
    if (type_out) *type_out = type;
    unsigned dims = 2 + (unsigned)z + (unsigned)m;
    size_t point_size = (size_t)dims * 8;

    uint32_t n;
    zs_status s;
    switch (type) {
    case 1:
        if (left(r) < point_size) return bad(r, "truncated Point");
        return read_points(r, big, 1, dims, WKB_PART_POINT);
    case 2:
        if ((s = read_count(r, big, point_size, &n))) return s;
        return read_points(r, big, n, dims, WKB_PART_LINE);
    case 3:
        if ((s = read_count(r, big, 4, &n))) return s;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t np;
            if ((s = read_count(r, big, point_size, &np)) ||
                (s = read_points(r, big, np, dims, i ? WKB_PART_HOLE : WKB_PART_OUTER)))
                return s;
        }
        return ZS_OK;
    default: /* Multi* and GeometryCollection: members are whole geometries */
        if ((s = read_count(r, big, 5, &n))) return s;
        for (uint32_t i = 0; i < n; i++)
            if ((s = read_geom(r, depth + 1, type == 7 ? 0 : type - 3, NULL))) return s;
        return ZS_OK;
    }
}

zs_status wkb_parse(const unsigned char *buf, size_t len, wkb_geom *g, zs_error *err)
{
    g->nparts = 0;
    g->nxy = 0;
    g->type = 0;
    reader r = {buf, buf ? len : 0, 0, g, err};
    uint32_t type = 0;
    zs_status s = read_geom(&r, 0, 0, &type);
    if (!s && r.off != r.len) s = bad(&r, "trailing bytes after the geometry");
    if (s) {
        g->nparts = 0;
        g->nxy = 0;
        return s;
    }
    g->type = type;
    return ZS_OK;
}

void wkb_geom_free(wkb_geom *g)
{
    if (!g) return;
    free(g->parts);
    free(g->xy);
    *g = (wkb_geom)WKB_GEOM_INIT;
}

const char *wkb_type_name(uint32_t type)
{
    return type >= 1 && type <= 7 ? type_names[type] : "unknown";
}
