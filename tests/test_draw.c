/* Pixel-exact checks of draw.h and text.h: fills, even-odd holes, strokes,
 * dashes, image compositing, and labels (size, ink, halo, rotation, and
 * the seam: one label drawn by two neighbouring tiles must stitch into the
 * label drawn once). On a seam failure both renders are written as PAM
 * images to the current directory. */
#include "draw.h"
#include "test.h"
#include "text.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const style_color RED = {1, 0, 0, 1};
static const style_color BLACK = {0, 0, 0, 1};
static const style_color WHITE = {1, 1, 1, 1};
static const char *const LABEL = "徐州高新技术产业园";

static uint32_t px(draw *d, int x, int y)
{
    int stride;
    const uint32_t *p = draw_pixels(d, &stride);
    return p[(size_t)y * (size_t)(stride / 4) + (size_t)x];
}

static unsigned alpha(uint32_t p)
{
    return p >> 24;
}

static unsigned chan(uint32_t p, int shift)
{
    return (p >> shift) & 0xff;
}

/* Pixels of the rectangle [x0, x1) x [y0, y1) that equal want. */
static int count_eq(draw *d, int x0, int y0, int x1, int y1, uint32_t want)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            n += px(d, x, y) == want;
    return n;
}

/* The box of non-transparent pixels; false when there are none. */
static bool ink_box(draw *d, int box[4])
{
    box[0] = box[1] = INT32_MAX;
    box[2] = box[3] = -1;
    for (int y = 0; y < draw_height(d); y++)
        for (int x = 0; x < draw_width(d); x++)
            if (alpha(px(d, x, y))) {
                if (x < box[0]) box[0] = x;
                if (y < box[1]) box[1] = y;
                if (x > box[2]) box[2] = x;
                if (y > box[3]) box[3] = y;
            }
    return box[2] >= 0;
}

static void rect(draw *d, double x0, double y0, double x1, double y1)
{
    draw_move_to(d, x0, y0);
    draw_line_to(d, x1, y0);
    draw_line_to(d, x1, y1);
    draw_line_to(d, x0, y1);
    draw_close(d);
}

static void test_create(void)
{
    CHECK(draw_create(0, 10) == NULL);
    CHECK(draw_create(10, -1) == NULL);
    CHECK(draw_create(40000, 10) == NULL);
    draw_destroy(NULL);
    draw *d = draw_create(300, 200);
    CHECK(d != NULL);
    CHECK_INT(draw_width(d), 300);
    CHECK_INT(draw_height(d), 200);
    int stride = 0;
    CHECK(draw_pixels(d, &stride) != NULL);
    CHECK(stride >= 300 * 4);
    CHECK_INT(count_eq(d, 0, 0, 300, 200, 0), 300 * 200); /* starts transparent */
    draw_destroy(d);
}

static void test_fill(void)
{
    draw *d = draw_create(256, 256);
    /* Pixel-aligned: exactly the colour inside, exactly nothing outside. */
    rect(d, 10, 10, 30, 30);
    draw_fill(d, RED, 1, false);
    CHECK_INT(count_eq(d, 10, 10, 30, 30, 0xffff0000u), 400);
    CHECK_INT(count_eq(d, 0, 0, 256, 256, 0), 256 * 256 - 400);

    /* A half-pixel edge: half coverage in the edge column. */
    rect(d, 40.5, 40, 60, 60);
    draw_fill(d, RED, 1, false);
    for (int y = 40; y < 60; y++) {
        CHECK_NEAR(alpha(px(d, 40, y)), 128, 2);
        CHECK_INT(px(d, 41, y), 0xffff0000u);
        CHECK_INT(px(d, 39, y), 0);
    }

    /* Opacity multiplies alpha; premultiplied storage. */
    rect(d, 100, 10, 110, 20);
    draw_fill(d, (style_color){0, 0, 1, 1}, 0.5, false);
    uint32_t p = px(d, 105, 15);
    CHECK_NEAR(alpha(p), 128, 1);
    CHECK_NEAR(chan(p, 0), 128, 1);
    CHECK_INT(chan(p, 16), 0);

    /* keep: the same path stroked after the fill. */
    rect(d, 200, 200, 220, 220);
    draw_fill(d, RED, 1, true);
    draw_stroke(d, BLACK, 1, 2, DRAW_CAP_BUTT, DRAW_JOIN_MITER, NULL, 0);
    CHECK_INT(px(d, 210, 210), 0xffff0000u);
    CHECK_INT(px(d, 200, 210), 0xff000000u);
    CHECK_INT(px(d, 199, 210), 0xff000000u);
    CHECK_INT(px(d, 198, 210), 0);
    draw_destroy(d);
}

static void test_even_odd(void)
{
    draw *d = draw_create(256, 256);
    /* Both rings wound the same way: only even-odd leaves the hole open. */
    rect(d, 100, 100, 160, 160);
    rect(d, 120, 120, 140, 140);
    draw_fill(d, RED, 1, false);
    CHECK_INT(count_eq(d, 120, 120, 140, 140, 0), 400);
    CHECK_INT(count_eq(d, 100, 100, 160, 160, 0xffff0000u), 3600 - 400);
    CHECK_INT(px(d, 99, 130), 0);
    draw_destroy(d);
}

static void test_circle(void)
{
    draw *d = draw_create(64, 64);
    draw_circle_path(d, 32, 32, 10);
    draw_fill(d, RED, 1, false);
    CHECK_INT(px(d, 32, 32), 0xffff0000u);
    CHECK_INT(px(d, 32, 20), 0);
    CHECK_INT(px(d, 44, 32), 0);
    double cover = 0;
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            cover += alpha(px(d, x, y)) / 255.0;
    CHECK_NEAR(cover, M_PI * 100, M_PI * 100 * 0.01);
    /* A second circle is its own ring, not joined to the first. */
    draw_circle_path(d, 10, 10, 0); /* nothing */
    draw_circle_path(d, 10, 54, 4);
    draw_circle_path(d, 54, 54, 4);
    draw_fill(d, RED, 1, false);
    CHECK_INT(px(d, 10, 54), 0xffff0000u);
    CHECK_INT(px(d, 32, 54), 0);
    draw_destroy(d);
}

static void test_stroke(void)
{
    draw *d = draw_create(256, 256);
    /* Width 2 centred on y = 100: rows 99 and 100, x in [10, 50). */
    draw_move_to(d, 10, 100);
    draw_line_to(d, 50, 100);
    draw_stroke(d, RED, 1, 2, DRAW_CAP_BUTT, DRAW_JOIN_MITER, NULL, 0);
    CHECK_INT(count_eq(d, 10, 99, 50, 101, 0xffff0000u), 80);
    CHECK_INT(count_eq(d, 0, 0, 256, 256, 0), 256 * 256 - 80);

    /* A square cap adds half the width at each end. */
    draw_move_to(d, 10, 120);
    draw_line_to(d, 50, 120);
    draw_stroke(d, RED, 1, 2, DRAW_CAP_SQUARE, DRAW_JOIN_MITER, NULL, 0);
    CHECK_INT(count_eq(d, 9, 119, 51, 121, 0xffff0000u), 84);
    CHECK_INT(px(d, 8, 120), 0);

    /* Dashes 10 on, 10 off. */
    double dash[2] = {10, 10};
    draw_move_to(d, 10, 150);
    draw_line_to(d, 110, 150);
    draw_stroke(d, RED, 1, 2, DRAW_CAP_BUTT, DRAW_JOIN_MITER, dash, 2);
    CHECK_INT(count_eq(d, 10, 149, 20, 151, 0xffff0000u), 20);
    CHECK_INT(count_eq(d, 20, 149, 30, 151, 0), 20);
    CHECK_INT(count_eq(d, 30, 149, 40, 151, 0xffff0000u), 20);
    CHECK_INT(count_eq(d, 100, 149, 110, 151, 0), 20);

    /* A dash pattern Cairo would refuse draws a solid line and leaves the
     * surface working. */
    double bad[2] = {-1, 5};
    draw_move_to(d, 10, 200);
    draw_line_to(d, 110, 200);
    draw_stroke(d, RED, 1, 2, DRAW_CAP_BUTT, DRAW_JOIN_MITER, bad, 2);
    CHECK_INT(count_eq(d, 10, 199, 110, 201, 0xffff0000u), 200);
    double zero[1] = {0};
    draw_move_to(d, 10, 210);
    draw_line_to(d, 110, 210);
    draw_stroke(d, RED, 1, 2, DRAW_CAP_BUTT, DRAW_JOIN_MITER, zero, 1);
    CHECK_INT(count_eq(d, 10, 209, 110, 211, 0xffff0000u), 200);
    draw_move_to(d, NAN, 5);
    draw_stroke(d, RED, 1, NAN, DRAW_CAP_BUTT, DRAW_JOIN_MITER, NULL, 0);
    rect(d, 200, 200, 210, 210);
    draw_fill(d, RED, 1, false);
    CHECK_INT(count_eq(d, 200, 200, 210, 210, 0xffff0000u), 100);
    draw_destroy(d);
}

static void test_paint_and_image(void)
{
    draw *d = draw_create(64, 32);
    draw_paint(d, WHITE, 1);
    CHECK_INT(count_eq(d, 0, 0, 64, 32, 0xffffffffu), 64 * 32);

    /* A premultiplied half-transparent red pixel over white, in a buffer
     * with a wider stride than the surface's. */
    int stride = 64 * 4 + 32;
    uint32_t *img = calloc((size_t)(stride / 4) * 32, sizeof *img);
    img[5 * (stride / 4) + 7] = 0x80800000u; /* a = 128, r = 128 (premultiplied) */
    img[6 * (stride / 4) + 7] = 0xff00ff00u;
    draw_image(d, img, stride, 1);
    uint32_t p = px(d, 7, 5);
    CHECK_INT(alpha(p), 255);
    CHECK_NEAR(chan(p, 16), 255, 1);
    CHECK_NEAR(chan(p, 8), 127, 1);
    CHECK_NEAR(chan(p, 0), 127, 1);
    CHECK_INT(px(d, 7, 6), 0xff00ff00u);
    CHECK_INT(px(d, 8, 5), 0xffffffffu);

    /* Opacity 0.5 of opaque green over white. */
    draw_image(d, img + 6 * (stride / 4) - 6 * (stride / 4), stride, 0); /* no-op */
    draw *e = draw_create(64, 32);
    draw_paint(e, WHITE, 1);
    draw_image(e, img, stride, 0.5);
    p = px(e, 7, 6);
    CHECK_NEAR(chan(p, 16), 128, 1);
    CHECK_NEAR(chan(p, 8), 255, 1);
    CHECK_NEAR(chan(p, 0), 128, 1);
    draw_image(e, img, 16, 1); /* stride too small: ignored */
    CHECK_INT(px(e, 7, 6), p);
    draw_destroy(e);

    /* The paint is source-over what is there. */
    draw_paint(d, (style_color){0, 0, 0, 1}, 0.5);
    p = px(d, 20, 20);
    CHECK_INT(alpha(p), 255);
    CHECK_NEAR(chan(p, 16), 128, 1);
    free(img);
    draw_destroy(d);
}

/* ---- text ------------------------------------------------------------ */

static void test_shape(text_engine *te)
{
    text_layout *tl = text_shape(te, LABEL, NULL, 16, 0);
    CHECK(tl != NULL);
    double w = 0, h = 0;
    text_layout_size(tl, &w, &h);
    CHECK(w > 100 && w < 160); /* nine ideographs of about one em */
    CHECK(h >= 16 && h <= 30);
    text_layout_destroy(tl);

    CHECK(text_shape(te, "\xe5\xbe", NULL, 16, 0) == NULL); /* truncated */
    CHECK(text_shape(te,
                     "ab\xff"
                     "cd",
                     NULL, 16, 0) == NULL); /* invalid byte */
    CHECK(text_shape(te, "", NULL, 16, 0) == NULL);
    CHECK(text_shape(te, NULL, NULL, 16, 0) == NULL);
    CHECK(text_shape(te, LABEL, NULL, 0, 0) == NULL);
    CHECK(text_shape(te, LABEL, NULL, NAN, 0) == NULL);
    CHECK(text_shape(te, " ", NULL, 16, 0) == NULL); /* nothing to draw */
    text_layout_destroy(NULL);

    /* Wrapping: narrower, more lines. */
    tl = text_shape(te, "徐州经济技术开发区管委会大楼", NULL, 16, 80);
    CHECK(tl != NULL);
    text_layout_size(tl, &w, &h);
    CHECK(w <= 80.5);
    CHECK(h > 2 * 16 && h < 4 * 30);
    text_layout_destroy(tl);

    /* Family names are parsed like MapLibre font stacks: a style word after
     * the family. */
    double w0, h0;
    tl = text_shape(te, "Xuzhou Park 0123", "Noto Sans CJK SC Regular", 16, 0);
    CHECK(tl != NULL);
    text_layout_size(tl, &w0, &h0);
    text_layout_destroy(tl);
    tl = text_shape(te, "Xuzhou Park 0123", NULL, 16, 0);
    text_layout_size(tl, &w, &h);
    text_layout_destroy(tl);
    CHECK_NEAR(w0, w, 1e-9);
    CHECK_NEAR(h0, h, 1e-9);

    /* Latin, digits and another family. */
    tl = text_shape(te, "Park 0123", "DejaVu Sans", 12, 0);
    CHECK(tl != NULL);
    text_layout_size(tl, &w, &h);
    CHECK(w > 30 && w < 100);
    text_layout_destroy(tl);
}

static void test_ink(text_engine *te)
{
    text_layout *tl = text_shape(te, LABEL, NULL, 16, 0);
    double w, h;
    text_layout_size(tl, &w, &h);
    draw *d = draw_create(256, 128);
    text_draw(d, tl, 128, 64, 0, BLACK, BLACK, 0, 1);
    int box[4];
    CHECK(ink_box(d, box));
    /* Ink inside the layout box (a pixel of slack for anti-aliasing). */
    CHECK(box[0] >= (int)(128 - w / 2) - 1 && box[2] <= (int)(128 + w / 2) + 1);
    CHECK(box[1] >= (int)(64 - h / 2) - 1 && box[3] <= (int)(64 + h / 2) + 1);
    /* centred on the point asked for (ideographs sit in the middle of the
     * logical box, give or take a pixel), */
    CHECK_NEAR((box[0] + box[2] + 1) / 2.0, 128, 1.5);
    CHECK_NEAR((box[1] + box[3] + 1) / 2.0, 64, 1.5);
    /* and filling most of it: the text really was drawn. */
    CHECK(box[2] - box[0] > w - 6);
    CHECK(box[3] - box[1] > 12);
    /* Dark enough to read, and the text colour: premultiplied black has no
     * colour in any pixel. */
    int dark = 0, coloured = 0;
    for (int y = 0; y < 128; y++)
        for (int x = 0; x < 256; x++) {
            uint32_t p = px(d, x, y);
            dark += alpha(p) >= 160;
            coloured += (p & 0xffffffu) != 0;
        }
    CHECK(dark > 200);
    CHECK_INT(coloured, 0);

    /* The halo adds halo-coloured pixels around the glyphs. */
    draw *e = draw_create(256, 128);
    text_draw(e, tl, 128, 64, 0, BLACK, WHITE, 2, 1);
    int hbox[4];
    CHECK(ink_box(e, hbox));
    CHECK(hbox[0] <= box[0] - 1 && hbox[0] >= box[0] - 3);
    CHECK(hbox[2] >= box[2] + 1 && hbox[2] <= box[2] + 3);
    CHECK(hbox[1] <= box[1] - 1 && hbox[3] >= box[3] + 1);
    int white = 0, dark_after = 0;
    for (int y = 0; y < 128; y++)
        for (int x = 0; x < 256; x++) {
            uint32_t p = px(e, x, y);
            white +=
                alpha(p) == 255 && chan(p, 16) >= 240 && chan(p, 8) >= 240 && chan(p, 0) >= 240;
            dark_after += alpha(p) == 255 && chan(p, 16) < 96;
        }
    CHECK(white > 200);
    /* Every empty pixel next to a dark glyph pixel is covered by the halo. */
    int ring = 0, ring_covered = 0;
    for (int y = 1; y < 127; y++)
        for (int x = 1; x < 255; x++) {
            if (alpha(px(d, x, y))) continue;
            if (alpha(px(d, x - 1, y)) >= 160 || alpha(px(d, x + 1, y)) >= 160 ||
                alpha(px(d, x, y - 1)) >= 160 || alpha(px(d, x, y + 1)) >= 160) {
                ring++;
                ring_covered += alpha(px(e, x, y)) >= 160;
            }
        }
    CHECK(ring > 50);
    CHECK_INT(ring_covered, ring);
    /* The glyphs stay on top of their halo. */
    CHECK(dark_after > dark / 2);
    /* Without a halo the same region has no white at all. */
    CHECK_INT(count_eq(d, 0, 0, 256, 128, 0xffffffffu), 0);

    /* Opacity: half-transparent, halo included. */
    draw *f = draw_create(256, 128);
    text_draw(f, tl, 128, 64, 0, BLACK, WHITE, 2, 0.5);
    unsigned maxa = 0;
    for (int y = 0; y < 128; y++)
        for (int x = 0; x < 256; x++)
            if (alpha(px(f, x, y)) > maxa) maxa = alpha(px(f, x, y));
    CHECK_NEAR(maxa, 128, 1);

    /* Off the surface: nothing drawn, nothing broken. */
    draw *g = draw_create(64, 64);
    text_draw(g, tl, 1000, 32, 0, BLACK, WHITE, 2, 0.5);
    text_draw(g, tl, NAN, 32, 0, BLACK, WHITE, 2, 1);
    CHECK_INT(count_eq(g, 0, 0, 64, 64, 0), 64 * 64);

    /* A path being built survives a label drawn in between. */
    draw_move_to(g, 0, 0);
    draw_line_to(g, 64, 0);
    text_draw(g, tl, 32, 40, 0, BLACK, (style_color){1, 1, 1, 0.5f}, 2, 0.5);
    draw_line_to(g, 64, 20);
    draw_line_to(g, 0, 20);
    draw_close(g);
    draw_fill(g, RED, 1, false);
    CHECK_INT(count_eq(g, 0, 0, 64, 20, 0xffff0000u), 64 * 20);
    draw_destroy(g);
    draw_destroy(f);
    draw_destroy(e);
    draw_destroy(d);
    text_layout_destroy(tl);
}

static void test_rotated(text_engine *te)
{
    text_layout *tl = text_shape(te, LABEL, NULL, 16, 0);
    draw *d = draw_create(128, 256);
    text_draw(d, tl, 64, 128, M_PI / 2, BLACK, WHITE, 1, 1);
    int box[4];
    CHECK(ink_box(d, box));
    CHECK(box[3] - box[1] > 100);
    CHECK(box[2] - box[0] < 32);
    CHECK(box[3] - box[1] > 3 * (box[2] - box[0]));
    draw_destroy(d);
    text_layout_destroy(tl);
}

/* Writes d as a PAM image (RGB_ALPHA, premultiplied values as stored). */
static void write_pam(draw *d, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fprintf(f, "P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n",
            draw_width(d), draw_height(d));
    for (int y = 0; y < draw_height(d); y++)
        for (int x = 0; x < draw_width(d); x++) {
            uint32_t p = px(d, x, y);
            unsigned char b[4] = {(unsigned char)chan(p, 16), (unsigned char)chan(p, 8),
                                  (unsigned char)chan(p, 0), (unsigned char)chan(p, 24)};
            fwrite(b, 1, 4, f);
        }
    fclose(f);
}

/* The largest channel difference between the 512-wide render and the two
 * 256-wide tiles stitched. */
static unsigned seam_diff(draw *whole, draw *left, draw *right)
{
    unsigned worst = 0;
    for (int y = 0; y < draw_height(whole); y++)
        for (int x = 0; x < 512; x++) {
            uint32_t a = px(whole, x, y), b = x < 256 ? px(left, x, y) : px(right, x - 256, y);
            for (int s = 0; s < 32; s += 8) {
                unsigned ca = chan(a, s), cb = chan(b, s);
                unsigned dd = ca > cb ? ca - cb : cb - ca;
                if (dd > worst) worst = dd;
            }
        }
    return worst;
}

typedef struct {
    double x, y, angle, halo, opacity, size;
} seam_case;

/* Draws one label into a 512 px wide image and into the two 256 px tiles
 * it covers; returns the largest channel difference once stitched. */
static unsigned seam_run(text_engine *te, const char *text, seam_case c, int id)
{
    text_layout *tl = text_shape(te, text, NULL, c.size, 0);
    CHECK(tl != NULL);
    if (!tl) return 255;
    draw *whole = draw_create(512, 64), *left = draw_create(256, 64), *right = draw_create(256, 64);
    /* A ground under the label, as on a map. */
    const style_color ground = {0.9f, 0.9f, 0.85f, 1}, ink = {0.2f, 0.2f, 0.3f, 1};
    draw_paint(whole, ground, 1);
    draw_paint(left, ground, 1);
    draw_paint(right, ground, 1);
    text_draw(whole, tl, c.x, c.y, c.angle, ink, WHITE, c.halo, c.opacity);
    text_draw(left, tl, c.x, c.y, c.angle, ink, WHITE, c.halo, c.opacity);
    text_draw(right, tl, c.x - 256, c.y, c.angle, ink, WHITE, c.halo, c.opacity);
    unsigned worst = seam_diff(whole, left, right);
    /* The label really crosses the seam: ink on both sides of it. */
    int l = 0, r = 0;
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 16; x++) {
            l += px(whole, 240 + x, y) != px(whole, 0, 0);
            r += px(whole, 256 + x, y) != px(whole, 0, 0);
        }
    CHECK(l > 0 && r > 0);
    if (worst > 1) {
        fprintf(stderr,
                "seam case %d (x %.3f y %.3f angle %.2f halo %.1f opacity %.2f size %.1f): "
                "largest difference %u\n",
                id, c.x, c.y, c.angle, c.halo, c.opacity, c.size, worst);
        char name[64];
        snprintf(name, sizeof name, "seam_%d_whole.pam", id);
        write_pam(whole, name);
        snprintf(name, sizeof name, "seam_%d_left.pam", id);
        write_pam(left, name);
        snprintf(name, sizeof name, "seam_%d_right.pam", id);
        write_pam(right, name);
    }
    draw_destroy(whole);
    draw_destroy(left);
    draw_destroy(right);
    text_layout_destroy(tl);
    return worst;
}

static uint64_t seed = 12345;

static double rnd(void)
{
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return (double)(seed >> 11) * 0x1p-53;
}

static void test_seam(text_engine *te)
{
    static const seam_case fixed[] = {
        {256.0, 32.0, 0, 1.5, 1, 16},       {250.3, 31.7, 0, 1.5, 1, 16},
        {261.5, 32.5, 0, 2, 1, 14},         {243.77, 33.21, 0, 1, 1, 13},
        {256.25, 32.75, 0, 0, 1, 17.5},     {255.5, 31.5, 0.3, 1.5, 1, 16},
        {258.1, 32.9, -0.05, 2.5, 0.7, 15}, {219.6, 30.2, 0, 1.5, 0.5, 16},
    };
    int id = 0;
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        CHECK(seam_run(te, LABEL, fixed[k], id++) <= 1);
    /* Random positions, sizes and angles; Latin too. */
    for (int k = 0; k < 40; k++) {
        seam_case c; /* one draw per statement: initialisers are unsequenced */
        c.x = 226 + rnd() * 60;
        c.y = 24 + rnd() * 16;
        c.angle = rnd() < 0.5 ? 0 : (rnd() - 0.5) * 0.8;
        c.halo = (double)(int)(rnd() * 4) * 0.75;
        c.opacity = rnd() < 0.8 ? 1 : 0.6;
        c.size = 11 + rnd() * 8;
        CHECK(seam_run(te, k % 3 ? LABEL : "Xuzhou Hi-tech Park 0123", c, id++) <= 1);
    }
}

/* Shaping and drawing from several threads at once give what one thread
 * gives. */
typedef struct {
    text_engine *te;
    uint64_t sum;
} worker;

static uint64_t render_sum(text_engine *te, int i)
{
    static const char *texts[] = {"徐州高新技术产业园", "铜山区 Tongshan", "中国矿业大学",
                                  "Park 0123"};
    text_layout *tl = text_shape(te, texts[i % 4], NULL, 12 + i % 5, i % 3 ? 0 : 60);
    draw *d = draw_create(192, 64);
    text_draw(d, tl, 96, 32, (i % 7) * 0.1, BLACK, WHITE, (i % 3) * 0.75, 1);
    uint64_t h = 1469598103934665603u;
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 192; x++)
            h = (h ^ px(d, x, y)) * 1099511628211u;
    draw_destroy(d);
    text_layout_destroy(tl);
    return h;
}

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 200; i++)
        w->sum += render_sum(w->te, i);
    return NULL;
}

static void test_threads(text_engine *te)
{
    uint64_t want = 0;
    for (int i = 0; i < 200; i++)
        want += render_sum(te, i);
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){te, 0};
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].sum == want);
    }
}

/* A layout outlives its engine. */
static void test_lifetime(void)
{
    text_engine *te = NULL;
    zs_error err;
    CHECK_INT(text_engine_create(&te, &err), ZS_OK);
    text_layout *tl = text_shape(te, "高新区", NULL, 16, 0);
    text_engine_destroy(te);
    text_engine_destroy(NULL);
    draw *d = draw_create(64, 32);
    text_draw(d, tl, 32, 16, 0, BLACK, WHITE, 1, 1);
    int box[4];
    CHECK(ink_box(d, box));
    draw_destroy(d);
    text_layout_destroy(tl);
}

int main(void)
{
    test_create();
    test_fill();
    test_even_odd();
    test_circle();
    test_stroke();
    test_paint_and_image();

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    text_engine *te = NULL;
    zs_error err = {0};
    zs_status st = text_engine_create(&te, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_INT(st, ZS_OK);
    if (st != ZS_OK) {
        fprintf(stderr, "text_engine_create: %s\n", err.msg);
        TEST_DONE();
    }
    fprintf(stderr, "text_engine_create: %.1f ms\n",
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    test_shape(te);
    test_ink(te);
    test_rotated(te);
    test_seam(te);
    test_threads(te);
    text_engine_destroy(te);
    test_lifetime();
    TEST_DONE();
}
