/* Geometry for C tests that fill a store: an independent reference for the
 * Web Mercator formulas, and a small WKB writer of lon/lat rings (little-
 * endian, or big-endian with .big; the test machine is little-endian). */
#ifndef ZS_TEST_WKB_WRITER_H
#define ZS_TEST_WKB_WRITER_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* atanh(sin φ) is the same function as ln tan(π/4 + φ/2), computed another
 * way than mercator.h does. */
static inline double ref_x(double lon)
{
    return 6378137.0 * lon * 3.14159265358979323846 / 180.0;
}

static inline double ref_y(double lat)
{
    return 6378137.0 * atanh(sin(lat * 3.14159265358979323846 / 180.0));
}

typedef struct {
    unsigned char *b; /* free() when done */
    size_t n, cap;
    bool big; /* write numbers big-endian */
} wkb_buf;

static inline void put(wkb_buf *w, const void *p, size_t n, bool swap)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
        if (!w->b) exit(2);
    }
    for (size_t i = 0; i < n; i++)
        w->b[w->n + i] = ((const unsigned char *)p)[swap ? n - 1 - i : i];
    w->n += n;
}

static inline void put_u32(wkb_buf *w, uint32_t v)
{
    put(w, &v, 4, w->big);
}

static inline void put_f64(wkb_buf *w, double v)
{
    put(w, &v, 8, w->big);
}

static inline void put_header(wkb_buf *w, uint32_t type)
{
    unsigned char order = w->big ? 0 : 1;
    put(w, &order, 1, false);
    put_u32(w, type);
}

/* Coordinates of a feature as written: rings or lines of lon/lat points. */
#define MAX_PTS 16
typedef struct {
    int npts;
    double lon[MAX_PTS], lat[MAX_PTS];
} ring;

/* Counter-clockwise, closed. */
static inline ring rect(double w, double s, double e, double n)
{
    return (ring){5, {w, e, e, w, w}, {s, s, n, n, s}};
}

static inline void put_ring(wkb_buf *w, const ring *r)
{
    put_u32(w, (uint32_t)r->npts);
    for (int i = 0; i < r->npts; i++) {
        put_f64(w, r->lon[i]);
        put_f64(w, r->lat[i]);
    }
}

#endif
