/* Heat map checks that need no reference image: blank without points, the
 * kernel's shape and reach, intensity without normalisation, and above all
 * seams: four tiles stitched equal one image of their union. */
#include "heat.h"
#include "mercator.h"
#include "test.h"

#include <stdint.h>

#define LUT_N 256

/* The colour table heat_render uses, read back through heat_render itself:
 * a lone point with radius 0 has density exactly its weight. */
static uint32_t lut[LUT_N];

static heat_params unit_params(int w, int h, double radius)
{
    /* 1 m pixels with the top-left corner at the origin: pixel (i, j) holds
     * x in [i, i + 1), y in (-(j + 1), -j]. */
    return (heat_params){.minx = 0,
                         .maxy = 0,
                         .resolution = 1,
                         .width = w,
                         .height = h,
                         .radius_px = radius,
                         .intensity = 1,
                         .opacity = 1,
                         .zoom = 15};
}

static uint32_t *render(const heat_point *pts, size_t n, const heat_params *p)
{
    uint32_t *img = malloc((size_t)p->width * p->height * sizeof *img);
    if (!img) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(img, 0xAB, (size_t)p->width * p->height * sizeof *img); /* must be overwritten */
    zs_error err = {0};
    zs_status st = heat_render(pts, n, p, img, &err);
    CHECK_INT(st, ZS_OK);
    if (st != ZS_OK) fprintf(stderr, "  %s\n", err.msg);
    return img;
}

static unsigned channel(uint32_t px, int c)
{
    return (px >> (24 - 8 * c)) & 0xFF; /* 0 = A, 1 = R, 2 = G, 3 = B */
}

/* Pixels of a and b (n each) that differ by more than tol in some channel. */
static size_t count_diff(const uint32_t *a, const uint32_t *b, size_t n, unsigned tol,
                         unsigned *maxdiff)
{
    size_t count = 0;
    *maxdiff = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned worst = 0;
        for (int c = 0; c < 4; c++) {
            unsigned x = channel(a[i], c), y = channel(b[i], c);
            unsigned d = x > y ? x - y : y - x;
            if (d > worst) worst = d;
        }
        if (worst > *maxdiff) *maxdiff = worst;
        if (worst > tol) count++;
    }
    return count;
}

/* True when px is lut[i] for some i within one of want (rounding of float
 * sums against the double reference may move the index by one). */
static bool lut_near(uint32_t px, double density)
{
    double d = density > 1 ? 1 : density;
    long want = lround(d * 255);
    for (long i = want - 1; i <= want + 1; i++)
        if (i >= 0 && i < LUT_N && lut[i] == px) return true;
    return false;
}

static void build_lut(void)
{
    heat_params p = unit_params(1, 1, 0);
    for (int i = 0; i < LUT_N; i++) {
        heat_point pt = {0.5, -0.5, (i + 0.25) / 255.0};
        uint32_t *img = render(&pt, 1, &p);
        lut[i] = img[0];
        free(img);
    }
    /* The default ramp: transparent at 0, opaque red at 1, blue at ~0.1,
     * alpha rising with density up to there. */
    CHECK_INT(lut[0], 0);
    CHECK_INT(lut[255], 0xFFFF0000u);
    CHECK_INT(channel(lut[26], 0), 255);
    CHECK(channel(lut[26], 3) > channel(lut[26], 1));
    for (int i = 1; i <= 26; i++)
        CHECK(channel(lut[i], 0) > channel(lut[i - 1], 0));
    for (int i = 0; i < LUT_N; i++)
        for (int c = 1; c < 4; c++)
            CHECK(channel(lut[i], c) <= channel(lut[i], 0)); /* premultiplied */
}

static void test_invalid(void)
{
    uint32_t px[4];
    zs_error err = {0};
    heat_params p = unit_params(2, 2, 5);
    heat_point pt = {1, -1, 1};
    CHECK_INT(heat_render(&pt, 1, NULL, px, &err), ZS_EINVAL);
    CHECK_INT(heat_render(&pt, 1, &p, NULL, &err), ZS_EINVAL);
    CHECK_INT(heat_render(NULL, 1, &p, px, &err), ZS_EINVAL);
    heat_params q = p;
    q.width = 0;
    CHECK_INT(heat_render(&pt, 1, &q, px, &err), ZS_EINVAL);
    q = p;
    q.resolution = 0;
    CHECK_INT(heat_render(&pt, 1, &q, px, &err), ZS_EINVAL);
    q.resolution = NAN;
    CHECK_INT(heat_render(&pt, 1, &q, px, &err), ZS_EINVAL);
    q = p;
    q.radius_px = -1;
    CHECK_INT(heat_render(&pt, 1, &q, px, &err), ZS_EINVAL);
    q.radius_px = NAN;
    CHECK_INT(heat_render(&pt, 1, &q, px, &err), ZS_EINVAL);
    q = p;
    q.minx = INFINITY;
    CHECK_INT(heat_render(&pt, 1, &q, px, &err), ZS_EINVAL);
    CHECK(strlen(err.msg) > 0);
}

static void test_blank(void)
{
    heat_params p = unit_params(64, 48, 10);
    uint32_t *img = render(NULL, 0, &p);
    size_t nonzero = 0;
    for (size_t i = 0; i < 64 * 48; i++)
        nonzero += img[i] != 0;
    CHECK_INT(nonzero, 0);
    free(img);

    /* Points that weigh nothing: zero, negative, NaN. */
    heat_point pts[] = {{20.5, -20.5, 0}, {21.5, -20.5, -3}, {22.5, -20.5, NAN}};
    img = render(pts, 3, &p);
    for (size_t i = 0; i < 64 * 48; i++)
        nonzero += img[i] != 0;
    CHECK_INT(nonzero, 0);
    free(img);
}

/* One point of weight wt at the centre of pixel (c, c) of a 2c+1 square. */
static uint32_t *one_point(int c, double radius, double wt, double intensity)
{
    heat_params p = unit_params(2 * c + 1, 2 * c + 1, radius);
    p.intensity = intensity;
    heat_point pt = {c + 0.5, -(c + 0.5), wt};
    return render(&pt, 1, &p);
}

/* One point at a pixel's centre: the Gaussian around that pixel, nothing
 * beyond the radius (+1 pixel). Weight 0.09 keeps every density on the
 * ramp's rising alpha, so alpha orders densities; weight 1 spans the ramp. */
static void test_one_point(double radius, double wt)
{
    const int c = 50, side = 2 * c + 1, rk = (int)floor(radius);
    const double two_s2 = 2 * (radius / 3) * (radius / 3);
    uint32_t *img = one_point(c, radius, wt, 1);
    uint32_t centre = img[c * side + c];
    unsigned peak = channel(centre, 0);
    CHECK(lut_near(centre, wt));
    size_t above = 0, asym = 0, beyond = 0, far = 0, shape = 0;
    /* Past the radius the density is at most wt K(radius) = wt e^-4.5. */
    unsigned far_alpha = channel(lut[lround(wt * exp(-4.5) * 255) + 1], 0);
    for (int j = 0; j < side; j++)
        for (int i = 0; i < side; i++) {
            uint32_t px = img[j * side + i];
            int dx = i - c, dy = j - c;
            if ((dx || dy) && (wt <= 0.1 ? channel(px, 0) > peak : px == centre)) above++;
            /* Mirror images and the transpose. */
            if (px != img[j * side + (c - dx)] || px != img[(c - dy) * side + i] ||
                px != img[(c + dx) * side + (c + dy)])
                asym++;
            double d2 = (double)dx * dx + (double)dy * dy;
            if (abs(dx) > rk || abs(dy) > rk) {
                beyond += px != 0;
                continue;
            }
            if (d2 > radius * radius && channel(px, 0) > far_alpha) far++;
            if (!lut_near(px, wt * exp(-d2 / two_s2))) shape++;
        }
    CHECK_INT(above, 0);  /* the maximum is at the point's pixel */
    CHECK_INT(asym, 0);   /* falloff symmetric in x, y and the diagonal */
    CHECK_INT(beyond, 0); /* nothing beyond the radius (+1 pixel) */
    CHECK_INT(far, 0);    /* past the radius only what K(radius) allows */
    CHECK_INT(shape, 0);  /* the Gaussian, K(d) = exp(-d^2 / (2 (r/3)^2)) */
    if (wt >= 0.5 && rk >= 1) CHECK(img[c * side + c + rk] != 0); /* something up to it */
    free(img);
}

static void test_intensity(void)
{
    const int c = 20, side = 2 * c + 1;
    /* A single weak point stays weak: no normalisation by the maximum. */
    uint32_t *img = one_point(c, 10, 0.1, 1);
    uint32_t centre = img[c * side + c];
    CHECK(centre == lut[25] || centre == lut[26]);
    CHECK(centre != lut[255]);
    free(img);
    /* Intensity scales the density. */
    img = one_point(c, 10, 0.1, 2);
    centre = img[c * side + c];
    CHECK(centre == lut[51] || centre == lut[50]);
    free(img);
    /* And it is clamped at 1: red in the middle, and around it. */
    img = one_point(c, 10, 0.1, 20);
    CHECK_INT(img[c * side + c], lut[255]);
    CHECK_INT(img[c * side + c + 1], lut[255]);
    CHECK(img[c * side + c + 10] != lut[255]);
    free(img);
    /* Intensity 0 or negative: nothing. */
    img = one_point(c, 10, 1, -1);
    CHECK_INT(img[c * side + c], 0);
    free(img);
    /* Two points in one pixel add up. */
    heat_params p = unit_params(side, side, 10);
    heat_point two[] = {{c + 0.2, -(c + 0.7), 0.1}, {c + 0.9, -(c + 0.1), 0.1}};
    img = render(two, 2, &p);
    centre = img[c * side + c];
    CHECK(centre == lut[51] || centre == lut[50]);
    free(img);
    /* Opacity scales the premultiplied colour. */
    p.opacity = 0.5;
    img = render(two, 2, &p);
    CHECK_NEAR(channel(img[c * side + c], 0), channel(centre, 0) * 0.5, 1);
    CHECK_NEAR(channel(img[c * side + c], 3), channel(centre, 3) * 0.5, 1);
    free(img);
}

/* ---- seams ------------------------------------------------------------- */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static double rnd(void) /* uniform in [0, 1), xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* The area: tiles (tx, ty) .. (tx + 1, ty + 1) at zoom z, as tile.c bounds
 * them (Chongqing's Liangjiang area at z15). */
enum { Z = 15, TX = 26325, TY = 13383 };

static double tile_size(void)
{
    return 2.0 * MERC_MAX / (double)(1u << Z);
}

static heat_params tile_params(int dtx, int dty, int px, double radius, int scale)
{
    double size = tile_size();
    heat_params p = {.minx = -MERC_MAX + (TX + dtx) * size,
                     .maxy = MERC_MAX - (TY + dty) * size,
                     .resolution = size / 256 / scale,
                     .width = px,
                     .height = px,
                     .radius_px = radius,
                     .intensity = 0.4,
                     .opacity = 0.9,
                     .zoom = Z};
    return p;
}

/* The points within the image's extent plus margin pixels, inclusive, in
 * their original order: what a caller querying its index passes. */
static size_t select_points(const heat_point *all, size_t n, const heat_params *p, double margin_px,
                            heat_point *out)
{
    double m = margin_px * p->resolution;
    double minx = p->minx - m, maxx = p->minx + p->width * p->resolution + m;
    double maxy = p->maxy + m, miny = p->maxy - p->height * p->resolution - m;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i].x >= minx && all[i].x <= maxx && all[i].y >= miny && all[i].y <= maxy)
            out[k++] = all[i];
    return k;
}

/* Renders the 512 px union and its four 256 px tiles; returns how many
 * pixels differ by more than one level (and the largest difference). */
static size_t seam_diff(const heat_point *pts, size_t n, double radius, double margin_px,
                        unsigned *maxdiff, size_t *lit)
{
    heat_point *sel = malloc((n ? n : 1) * sizeof *sel);
    uint32_t *stitched = malloc(512 * 512 * sizeof *stitched);
    if (!sel || !stitched) exit(2);
    heat_params big = tile_params(0, 0, 512, radius, 1);
    size_t k = select_points(pts, n, &big, radius, sel);
    uint32_t *whole = render(sel, k, &big);
    for (int t = 0; t < 4; t++) {
        heat_params p = tile_params(t % 2, t / 2, 256, radius, 1);
        k = select_points(pts, n, &p, margin_px, sel);
        uint32_t *img = render(sel, k, &p);
        for (int j = 0; j < 256; j++)
            memcpy(stitched + (size_t)(t / 2 * 256 + j) * 512 + t % 2 * 256, img + j * 256,
                   256 * sizeof *img);
        free(img);
    }
    size_t diff = count_diff(stitched, whole, 512 * 512, 1, maxdiff);
    *lit = 0;
    for (size_t i = 0; i < 512 * 512; i++)
        *lit += whole[i] != 0;
    free(whole);
    free(stitched);
    free(sel);
    return diff;
}

static void test_seams(double radius)
{
    const size_t n = 600;
    heat_point *pts = malloc(n * sizeof *pts);
    if (!pts) exit(2);
    heat_params big = tile_params(0, 0, 512, radius, 1);
    double span = 512 * big.resolution, pad = 2 * radius * big.resolution;
    for (size_t i = 0; i < n; i++) {
        pts[i].x = big.minx - pad + rnd() * (span + 2 * pad);
        pts[i].y = big.maxy + pad - rnd() * (span + 2 * pad);
        pts[i].weight = i % 50 == 7 ? 0 : rnd();
    }
    /* Clusters straddling the tile edges and the corner. */
    for (size_t i = 0; i < 60; i++) {
        pts[i].x = big.minx + 256 * big.resolution + (rnd() - 0.5) * 3 * radius * big.resolution;
        pts[i].y = big.maxy - 256 * big.resolution + (rnd() - 0.5) * 3 * radius * big.resolution;
    }
    unsigned maxdiff;
    size_t lit;
    size_t diff = seam_diff(pts, n, radius, radius, &maxdiff, &lit);
    fprintf(stderr, "seams r=%g: %zu pixels differ by more than 1 (max %u), %zu of 512x512 lit\n",
            radius, diff, maxdiff, lit);
    CHECK_INT(diff, 0);
    CHECK(lit > 512 * 512 / 4); /* the comparison is not between blank images */

    /* The check can fail: tiles given no margin show their seams. */
    diff = seam_diff(pts, n, radius, 0, &maxdiff, &lit);
    CHECK(diff > 100);

    /* Points exactly on the tile edges: the shared vertical edge, the shared
     * horizontal edge and the common corner. */
    double ex = big.minx + 256 * big.resolution, ey = big.maxy - 256 * big.resolution;
    heat_point edge[] = {{ex, big.maxy - 100.5 * big.resolution, 1},
                         {big.minx + 400.5 * big.resolution, ey, 0.7},
                         {ex, ey, 0.5},
                         {big.minx + 256 * big.resolution, big.maxy - 400 * big.resolution, 0.3}};
    diff = seam_diff(edge, 4, radius, radius, &maxdiff, &lit);
    CHECK_INT(diff, 0);
    CHECK(lit > 0);
    free(pts);
}

/* Dense points, where rows are blurred by gathering rather than scattering:
 * a band of them inside the top-left tile, whose rows its right-hand
 * neighbour sees only sparsely (so the two blur the same row each its own
 * way), over an even spread everywhere. Weights keep densities mid-ramp. */
static void test_seams_dense(double radius)
{
    const size_t n_even = 20000, n_band = 8000, n_edge = 40, n = n_even + n_band + n_edge;
    heat_point *pts = malloc(n * sizeof *pts);
    if (!pts) exit(2);
    heat_params big = tile_params(0, 0, 512, radius, 1);
    const double res = big.resolution, side = 512 + 4 * radius;
    const double kernel_sum = 2 * M_PI * (radius / 3) * (radius / 3); /* of K over the plane */
    const double w_even = 2 * 0.3 / (big.intensity * n_even / (side * side) * kernel_sum);
    size_t k = 0;
    for (size_t i = 0; i < n_even; i++, k++)
        pts[k] = (heat_point){big.minx + (rnd() * side - 2 * radius) * res,
                              big.maxy - (rnd() * side - 2 * radius) * res, rnd() * w_even};
    /* The band: rows 100 .. 140, columns 0 .. 256 - 2 radius - 2. */
    const double band_w = 256 - 2 * radius - 2;
    const double w_band = 2 * 0.3 / (big.intensity * n_band / (band_w * 40) * kernel_sum);
    for (size_t i = 0; i < n_band; i++, k++)
        pts[k] = (heat_point){big.minx + rnd() * band_w * res, big.maxy - (100 + rnd() * 40) * res,
                              rnd() * w_band};
    for (size_t i = 0; i < n_edge; i++, k++)
        pts[k] = (heat_point){big.minx + (256 - rnd() * radius) * res,
                              big.maxy - (100 + rnd() * 40) * res, 0.5 * rnd()};
    unsigned maxdiff;
    size_t lit;
    size_t diff = seam_diff(pts, n, radius, radius, &maxdiff, &lit);
    fprintf(stderr,
            "dense seams r=%g: %zu pixels differ by more than 1 (max %u), %zu of 512x512 lit\n",
            radius, diff, maxdiff, lit);
    CHECK_INT(diff, 0);
    CHECK_INT(maxdiff, 0); /* the same sums in the same order: exact */
    CHECK(lit > 512 * 512 * 9 / 10);
    free(pts);
}

/* A point beyond the margin, or with coordinates that are not numbers,
 * changes nothing. */
static void test_far_point(void)
{
    const double radius = 20;
    heat_params p = tile_params(0, 0, 256, radius, 1);
    heat_point pts[8] = {
        {p.minx + 100.5 * p.resolution, p.maxy - 60.5 * p.resolution, 1},
        {p.minx + 3.5 * p.resolution, p.maxy - 250.5 * p.resolution, 0.5},
    };
    uint32_t *a = render(pts, 2, &p);
    pts[2] = (heat_point){p.minx - (radius + 1.5) * p.resolution, p.maxy - 100 * p.resolution, 1};
    pts[3] = (heat_point){p.minx + 100 * p.resolution, p.maxy + (radius + 1.01) * p.resolution, 1};
    pts[4] = (heat_point){p.minx + (256 + radius + 1) * p.resolution, p.maxy, 1};
    pts[5] = (heat_point){1e300, -1e300, 1};
    pts[6] = (heat_point){NAN, p.maxy - 10, 1};
    pts[7] = (heat_point){p.minx + 10, -INFINITY, 1};
    uint32_t *b = render(pts, 8, &p);
    unsigned maxdiff;
    CHECK_INT(count_diff(a, b, 256 * 256, 0, &maxdiff), 0);
    /* The same render twice is identical. */
    uint32_t *c = render(pts, 8, &p);
    CHECK(memcmp(b, c, 256 * 256 * sizeof *c) == 0);
    free(a);
    free(b);
    free(c);
}

/* @2x: half the resolution and twice the radius draw the same pattern at
 * double size; here only that it works and stays symmetric. */
static void test_2x(void)
{
    heat_params p = tile_params(0, 0, 512, 60, 2);
    heat_point pts[200];
    for (size_t i = 0; i < 200; i++)
        pts[i] = (heat_point){p.minx + rnd() * 512 * p.resolution,
                              p.maxy - rnd() * 512 * p.resolution, rnd()};
    uint32_t *img = render(pts, 200, &p);
    free(img);

    /* One point at the centre of pixel (255, 255). */
    p.width = p.height = 511;
    heat_point pt = {p.minx + 255.5 * p.resolution, p.maxy - 255.5 * p.resolution, 0.5};
    img = render(&pt, 1, &p);
    size_t asym = 0, lit = 0;
    for (int j = 0; j < 511; j++)
        for (int i = 0; i < 511; i++) {
            uint32_t px = img[j * 511 + i];
            lit += px != 0;
            if (px != img[j * 511 + (510 - i)] || px != img[(510 - j) * 511 + i] ||
                px != img[i * 511 + j])
                asym++;
        }
    CHECK_INT(asym, 0);
    CHECK(lit > 3 * 60 * 60); /* the kernel covers about pi 60^2 pixels */
    CHECK_INT(img[255 * 511 + 255 + 61], 0);
    free(img);
}

int main(void)
{
    build_lut();
    test_invalid();
    test_blank();
    test_one_point(10, 0.09);
    test_one_point(30, 0.09);
    test_one_point(7.5, 0.09);
    test_one_point(10, 1);
    test_one_point(40, 1);
    test_one_point(7.5, 1);
    test_one_point(0.5, 1);
    test_intensity();
    test_seams(10);
    test_seams(40);
    test_seams(12.5); /* a fractional radius, as zoom interpolation gives */
    test_seams_dense(10);
    test_seams_dense(40);
    test_far_point();
    test_2x();
    TEST_DONE();
}
