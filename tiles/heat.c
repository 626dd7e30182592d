#include "heat.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Limits that keep the scratch buffer sane; the server's own caps on image
 * size are tighter. */
#define HEAT_MAX_SIDE 16384    /* pixels per image side */
#define HEAT_MAX_RADIUS 1024.0 /* kernel radius, pixels */
#define HEAT_MAX_GLOBAL 4.0e15 /* |global pixel coordinate| (doubles stay exact) */
#define HEAT_MAX_WEIGHT 1.0e30 /* a larger weight is clamped (it still saturates) */
#define HEAT_LUT 256           /* colour table entries, density i / 255 */

/* MapLibre's default heatmap-color: transparent blue, royalblue, cyan, lime,
 * yellow, red at densities 0, 0.1, 0.3, 0.5, 0.7, 1. Straight RGBA, 0..1. */
static const struct {
    double at;
    double r, g, b, a;
} heat_default_ramp[] = {
    {0.0, 0.0, 0.0, 1.0, 0.0}, {0.1, 65.0 / 255, 105.0 / 255, 225.0 / 255, 1.0},
    {0.3, 0.0, 1.0, 1.0, 1.0}, {0.5, 0.0, 1.0, 0.0, 1.0},
    {0.7, 1.0, 1.0, 0.0, 1.0}, {1.0, 1.0, 0.0, 0.0, 1.0},
};

static double clamp01(double v)
{
    return v > 0 ? (v < 1 ? v : 1) : 0; /* NaN -> 0 */
}

/* Packs a premultiplied colour (components 0..1, times opacity) as ARGB32. */
static uint32_t pack_premul(double r, double g, double b, double a, double opacity)
{
    a = clamp01(a) * opacity;
    r = clamp01(r) * opacity;
    g = clamp01(g) * opacity;
    b = clamp01(b) * opacity;
    if (r > a) r = a;
    if (g > a) g = a;
    if (b > a) b = a;
    uint32_t A = (uint32_t)lround(a * 255), R = (uint32_t)lround(r * 255);
    uint32_t G = (uint32_t)lround(g * 255), B = (uint32_t)lround(b * 255);
    return A << 24 | R << 16 | G << 8 | B;
}

/* The default ramp, interpolated between premultiplied stops as MapLibre
 * interpolates colours (no dark fringe where alpha rises). */
static void lut_default(uint32_t *lut, double opacity)
{
    size_t nstops = sizeof heat_default_ramp / sizeof heat_default_ramp[0];
    size_t s = 0;
    for (int i = 0; i < HEAT_LUT; i++) {
        double d = i / (double)(HEAT_LUT - 1);
        while (s + 2 < nstops && d > heat_default_ramp[s + 1].at)
            s++;
        double t =
            (d - heat_default_ramp[s].at) / (heat_default_ramp[s + 1].at - heat_default_ramp[s].at);
        t = clamp01(t);
        double a0 = heat_default_ramp[s].a, a1 = heat_default_ramp[s + 1].a;
        double r = heat_default_ramp[s].r * a0 * (1 - t) + heat_default_ramp[s + 1].r * a1 * t;
        double g = heat_default_ramp[s].g * a0 * (1 - t) + heat_default_ramp[s + 1].g * a1 * t;
        double b = heat_default_ramp[s].b * a0 * (1 - t) + heat_default_ramp[s + 1].b * a1 * t;
        lut[i] = pack_premul(r, g, b, a0 * (1 - t) + a1 * t, opacity);
    }
}

/* heatmap-color reads no feature property; anything it asks for is absent. */
static style_value heat_no_prop(const void *feature, style_prop prop)
{
    (void)feature;
    (void)prop;
    return (style_value){.type = STYLE_NULL};
}

/* The style's heatmap-color evaluated once per entry; a density it does not
 * turn into a colour is transparent. */
static void lut_expr(uint32_t *lut, const style_expr *color, double zoom, double opacity)
{
    style_ctx ctx = {.zoom = zoom, .get = heat_no_prop, .geometry = "Point"};
    const style_color none = {0, 0, 0, 0};
    for (int i = 0; i < HEAT_LUT; i++) {
        ctx.heatmap_density = i / (double)(HEAT_LUT - 1);
        style_color c = style_eval_color(color, &ctx, none);
        double a = clamp01(c.a);
        lut[i] = pack_premul(c.r * a, c.g * a, c.b * a, a, opacity);
    }
}

/* dst[k] += v * src[k] for k < n; unrolled so that -O2 vectorises it. */
static void axpy(float *restrict dst, const float *restrict src, float v, int n)
{
    int k = 0;
    for (; k + 8 <= n; k += 8)
        for (int e = 0; e < 8; e++)
            dst[k + e] += v * src[k + e];
    for (; k < n; k++)
        dst[k] += v * src[k];
}

/* out[i] = sum over j < n, in order, of k[j] * src[j][i], for i < len. The
 * sums of 16 columns stay in registers: the unroll pragma lets -O2 turn the
 * inner loop into four vector accumulators (3x faster than axpy per row);
 * compilers that ignore it still get correct code. */
static void weighted_sum(float *restrict out, const float *const *restrict src,
                         const float *restrict k, int n, int len)
{
    enum { B = 16 };
    int i = 0;
    for (; i + B <= len; i += B) {
        float s[B] = {0};
        for (int j = 0; j < n; j++) {
            const float *restrict row = src[j] + i;
            float kj = k[j];
#pragma GCC unroll 16
            for (int e = 0; e < B; e++)
                s[e] += kj * row[e];
        }
        memcpy(out + i, s, sizeof s);
    }
    for (; i < len; i++) {
        float s = 0;
        for (int j = 0; j < n; j++)
            s += k[j] * src[j][i];
        out[i] = s;
    }
}

/* n * size, or 0 when it overflows. */
static size_t mul_size(size_t n, size_t size)
{
    return size && n > SIZE_MAX / size ? 0 : n * size;
}

/* The algorithm. Every point is binned into the global pixel that contains
 * it (global pixel coordinates: EPSG:3857 metres / resolution, y down), so
 * two images on the same grid agree on where each point lies. Image pixel i
 * is the global pixel containing its centre, gx0 + i + 0.5. The binned grid
 * extends the image by rk = floor(radius_px) pixels on each side: taps
 * beyond the radius are dropped rather than kept at ceil(radius_px), so a
 * point only counts where the caller also passes it to the neighbouring
 * image (every point within radius_px pixels beyond the edge, inclusive; an
 * image off the global grid needs half a pixel more). The Gaussian
 * K(d) = exp(-d^2 / (2 sigma^2)), sigma = radius_px / 3, is the product of
 * its x and y factors, so it is applied separably: each binned row with
 * points is blurred into image columns, then each output row gathers its
 * 2 rk + 1 source rows (empty ones skipped). Every sum adds its terms in
 * global order (skipping only zeros), so neighbours agree to the bit. */
zs_status heat_render(const heat_point *pts, size_t n, const heat_params *p, uint32_t *out,
                      zs_error *err)
{
    if (!p || !out || (n && !pts))
        return zs_fail(err, ZS_EINVAL, "heat map: missing points, parameters or image");
    if (p->width <= 0 || p->height <= 0 || p->width > HEAT_MAX_SIDE || p->height > HEAT_MAX_SIDE)
        return zs_fail(err, ZS_EINVAL, "heat map: image size %d x %d out of 1..%d", p->width,
                       p->height, HEAT_MAX_SIDE);
    if (!(p->resolution > 0) || !isfinite(p->resolution))
        return zs_fail(err, ZS_EINVAL, "heat map: resolution %g is not a positive number",
                       p->resolution);
    if (!(p->radius_px >= 0 && p->radius_px <= HEAT_MAX_RADIUS))
        return zs_fail(err, ZS_EINVAL, "heat map: radius %g px out of 0..%g", p->radius_px,
                       HEAT_MAX_RADIUS);
    double gx0 = p->minx / p->resolution, gy0 = -p->maxy / p->resolution;
    if (!(fabs(gx0) < HEAT_MAX_GLOBAL && fabs(gy0) < HEAT_MAX_GLOBAL))
        return zs_fail(err, ZS_EINVAL, "heat map: corner (%g, %g) m at %g m/px is off the grid",
                       p->minx, p->maxy, p->resolution);

    const int w = p->width, h = p->height;
    const int rk = (int)floor(p->radius_px);
    const int gw = w + 2 * rk, gh = h + 2 * rk;
    const int ntaps = 2 * rk + 1;

    /* One scratch buffer: a row list for weighted_sum, its weights, the
     * kernel, the binned grid (gw x gh), the horizontal result (w x gh), one
     * output row; then per row: spans of non-zero cells, point count. */
    const size_t fmax = SIZE_MAX / sizeof(float);
    size_t grid_n = mul_size((size_t)gw, (size_t)gh), rows_n = mul_size((size_t)w, (size_t)gh);
    size_t ints = mul_size((size_t)gh, 5 * sizeof(int));
    size_t ptrs = (size_t)ntaps * sizeof(float *);
    size_t nfloat = 2 * (size_t)ntaps + (size_t)w;
    if (!grid_n || !rows_n || !ints || grid_n > fmax - nfloat || rows_n > fmax - nfloat - grid_n ||
        ints > SIZE_MAX - ptrs - (nfloat + grid_n + rows_n) * sizeof(float))
        return zs_fail(err, ZS_ENOMEM, "heat map: scratch buffer too large");
    nfloat += grid_n + rows_n;
    const float **src = malloc(ptrs + nfloat * sizeof(float) + ints);
    if (!src) return zs_fail(err, ZS_ENOMEM, "heat map: out of memory");
    float *wk = (float *)(src + ntaps); /* ntaps: the weights of src */
    float *kern = wk + ntaps;           /* ntaps; kern[rk + t] = K(t) */
    float *grid = kern + ntaps;         /* gh rows of gw binned weights */
    float *rows = grid + grid_n;        /* gh rows of w horizontally blurred */
    float *acc = rows + rows_n;         /* w: one output row's density */
    int *blo = (int *)(acc + w);        /* gh: binned span [blo, bhi), grid columns */
    int *bhi = blo + gh;
    int *npt = bhi + gh; /* gh: points binned in the row */
    int *rlo = npt + gh; /* gh: blurred span [rlo, rhi), image columns */
    int *rhi = rlo + gh;

    uint32_t lut[HEAT_LUT];
    double opacity = clamp01(p->opacity);
    if (p->color)
        lut_expr(lut, p->color, p->zoom, opacity);
    else
        lut_default(lut, opacity);
    const float intensity = p->intensity > 0 ? (float)fmin(p->intensity, 1e30) : 0.0f;

    double two_s2 = 2.0 * (p->radius_px / 3.0) * (p->radius_px / 3.0);
    for (int t = -rk; t <= rk; t++)
        kern[rk + t] = t == 0 ? 1.0f : (float)exp(-(double)t * t / two_s2);

    /* Bin. Rows are zeroed when their first point arrives. */
    for (int r = 0; r < gh; r++)
        blo[r] = bhi[r] = npt[r] = 0;
    const double ox = floor(gx0 + 0.5), oy = floor(gy0 + 0.5);
    for (size_t i = 0; i < n; i++) {
        double wt = pts[i].weight;
        if (!(wt > 0)) continue; /* zero, negative and NaN weigh nothing */
        double fx = floor(pts[i].x / p->resolution) - ox;
        double fy = floor(-pts[i].y / p->resolution) - oy;
        if (!(fx >= -rk && fx < w + rk && fy >= -rk && fy < h + rk)) continue;
        int gx = (int)fx + rk, gy = (int)fy + rk;
        float *row = grid + (size_t)gy * gw;
        if (!npt[gy]) {
            memset(row, 0, (size_t)gw * sizeof *row);
            blo[gy] = gx;
            bhi[gy] = gx + 1;
        } else if (gx < blo[gy]) {
            blo[gy] = gx;
        } else if (gx >= bhi[gy]) {
            bhi[gy] = gx + 1;
        }
        if (npt[gy] < INT_MAX) npt[gy]++;
        row[gx] += (float)fmin(wt, HEAT_MAX_WEIGHT);
    }

    /* Horizontal. Image column x takes grid columns x .. x + 2 rk (offsets
     * -rk .. rk). A sparse row scatters its cells, a dense one gathers;
     * both add in the order of the cells, so the sums are the same. A row
     * with points is zeroed whole, so reading past its span is safe. */
    for (int r = 0; r < gh; r++) {
        rlo[r] = rhi[r] = 0;
        if (!npt[r]) continue;
        int lo = blo[r] - 2 * rk > 0 ? blo[r] - 2 * rk : 0, hi = bhi[r] < w ? bhi[r] : w;
        if (lo >= hi) continue;
        const float *bin = grid + (size_t)r * gw;
        float *dst = rows + (size_t)r * w;
        memset(dst, 0, (size_t)w * sizeof *dst);
        rlo[r] = lo;
        rhi[r] = hi;
        if (npt[r] > (hi - lo) / 4) {
            for (int t = 0; t < ntaps; t++)
                src[t] = bin + lo + t;
            weighted_sum(dst + lo, src, kern, ntaps, hi - lo);
            continue;
        }
        for (int gx = blo[r]; gx < bhi[r]; gx++) {
            float v = bin[gx];
            if (v == 0) continue;
            int c = gx - rk; /* the cell's image column */
            int a = c - rk > 0 ? c - rk : 0, b = c + rk + 1 < w ? c + rk + 1 : w;
            if (a < b) axpy(dst + a, kern + rk + (a - c), v, b - a);
        }
    }

    /* Vertical: output row y gathers rows y .. y + 2 rk (offsets -rk .. rk)
     * that hold anything, in order, then maps density through the table. */
    for (int y = 0; y < h; y++) {
        uint32_t *o = out + (size_t)y * w;
        int lo = w, hi = 0, nsrc = 0;
        for (int r = y; r < y + ntaps; r++) {
            if (rlo[r] >= rhi[r]) continue;
            if (rlo[r] < lo) lo = rlo[r];
            if (rhi[r] > hi) hi = rhi[r];
            src[nsrc] = rows + (size_t)r * w;
            wk[nsrc++] = kern[r - y];
        }
        if (!nsrc) lo = hi = w;
        for (int x = 0; x < lo; x++)
            o[x] = lut[0];
        for (int j = 0; j < nsrc; j++)
            src[j] += lo;
        weighted_sum(acc + lo, src, wk, nsrc, hi - lo);
        for (int x = lo; x < hi; x++) {
            float d = acc[x] * intensity;
            d = d > 0 ? d : 0; /* and NaN (inf * 0) */
            d = d < 1 ? d : 1;
            o[x] = lut[(int)(d * (HEAT_LUT - 1) + 0.5f)];
        }
        for (int x = hi; x < w; x++)
            o[x] = lut[0];
    }

    free(src);
    return ZS_OK;
}
