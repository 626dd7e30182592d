/* PNG encoding: the palette / RGB / RGBA choice, exact round trips through
 * decode, strides, pngcheck's verdict on every output, decoding of PNG kinds
 * the encoder never writes, refusal of bad data; and a timing table of zlib
 * levels and filters on an anti-aliased map-like tile (printed, not asserted). */
#include "test.h"
#include "tilepng.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    F_NONE = TILEPNG_FILTER_NONE,
    F_SUB = TILEPNG_FILTER_SUB,
    F_UP = TILEPNG_FILTER_UP,
    F_AVG = TILEPNG_FILTER_AVG,
    F_PAETH = TILEPNG_FILTER_PAETH,
    F_ALL = TILEPNG_FILTER_ALL
};

static char tmpdir[64];
static bool have_pngcheck;
static int pngcheck_runs;

/* ---- images ---------------------------------------------------------------- */

/* Cairo's premultiplication of a straight colour: round(c * a / 255). */
static uint32_t premul(unsigned r, unsigned g, unsigned b, unsigned a)
{
    r = (r * a + 127) / 255, g = (g * a + 127) / 255, b = (b * a + 127) / 255;
    return (uint32_t)a << 24 | r << 16 | g << 8 | b;
}

/* A zeroed image with stride_px pixels per row; free with free(). */
static uint32_t *image_new(int stride_px, int h)
{
    uint32_t *img = calloc((size_t)stride_px * h, 4);
    if (!img) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return img;
}

/* ---- reading PNG bytes ------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int ihdr_colour_type(const unsigned char *png, size_t len)
{
    return len > 25 && memcmp(png + 12, "IHDR", 4) == 0 ? png[25] : -1;
}

static int ihdr_bit_depth(const unsigned char *png, size_t len)
{
    return len > 24 && memcmp(png + 12, "IHDR", 4) == 0 ? png[24] : -1;
}

/* Length of the first chunk of the given type, or -1 when there is none. */
static long chunk_length(const unsigned char *png, size_t len, const char *type)
{
    for (size_t pos = 8; pos + 12 <= len;) {
        uint32_t n = be32(png + pos);
        if (memcmp(png + pos + 4, type, 4) == 0) return (long)n;
        if (n > len - pos - 12) break;
        pos += 12 + (size_t)n;
    }
    return -1;
}

/* Runs pngcheck -q on the bytes; true when it accepts them (or is missing). */
static bool pngcheck_accepts(const unsigned char *png, size_t len, const char *label)
{
    if (!have_pngcheck) return true;
    char path[128], cmd[256];
    snprintf(path, sizeof path, "%s/%s.png", tmpdir, label);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(png, 1, len, f) != len) {
        if (f) fclose(f);
        fprintf(stderr, "cannot write %s\n", path);
        return false;
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "pngcheck -q '%s'", path);
    int rc = system(cmd);
    pngcheck_runs++;
    if (rc != 0)
        fprintf(stderr, "pngcheck rejected %s (kept for inspection)\n", path);
    else
        remove(path);
    return rc == 0;
}

/* ---- round trips --------------------------------------------------------------- */

typedef struct {
    int colour_type, bit_depth;
    size_t bytes;
    long trns;       /* tRNS length, -1 when absent */
    double max_err;  /* largest |decoded - exact un-premultiplied| over channels */
    long mismatched; /* pixels off by more than half a level (not rounded to nearest) */
} trip;

/* Encodes img, runs pngcheck, decodes and compares with the exact straight
 * colour of every input pixel. */
static trip round_trip(const uint32_t *img, int w, int h, int stride, tilepng_options opt,
                       const char *label)
{
    trip t = {.colour_type = -1, .bit_depth = -1, .trns = -1};
    unsigned char *png = NULL, *rgba = NULL;
    size_t len = 0;
    zs_error err = {0};
    zs_status s = tilepng_encode(img, w, h, stride, opt, &png, &len, &err);
    CHECK_INT(s, ZS_OK);
    if (s) {
        fprintf(stderr, "%s: %s\n", label, err.msg);
        return t;
    }
    t.bytes = len;
    t.colour_type = ihdr_colour_type(png, len);
    t.bit_depth = ihdr_bit_depth(png, len);
    t.trns = chunk_length(png, len, "tRNS");
    CHECK(pngcheck_accepts(png, len, label));
    int dw = 0, dh = 0;
    s = tilepng_decode(png, len, &rgba, &dw, &dh, &err);
    CHECK_INT(s, ZS_OK);
    CHECK_INT(dw, w);
    CHECK_INT(dh, h);
    if (s == ZS_OK && dw == w && dh == h) {
        for (int y = 0; y < h; y++) {
            const uint32_t *row =
                (const uint32_t *)(const void *)((const unsigned char *)img + (size_t)y * stride);
            for (int x = 0; x < w; x++) {
                uint32_t c = row[x];
                unsigned a = c >> 24;
                const unsigned char *d = rgba + ((size_t)y * w + x) * 4;
                bool bad = d[3] != a;
                for (int i = 0; i < 3; i++) {
                    double p = (c >> (16 - 8 * i)) & 0xff;
                    double want = a ? p * 255.0 / a : 0;
                    if (want > 255) want = 255;
                    double e = fabs(d[i] - want);
                    if (e > t.max_err) t.max_err = e;
                    if (e > 0.5 + 1e-9) bad = true;
                }
                if (bad) t.mismatched++;
            }
        }
    }
    free(png);
    free(rgba);
    return t;
}

static void test_uniform(void)
{
    int w = 256, h = 256;
    uint32_t *img = image_new(w, h);
    for (int i = 0; i < w * h; i++)
        img[i] = premul(0xf2, 0xef, 0xe9, 255);
    trip t = round_trip(img, w, h, w * 4, TILEPNG_DEFAULTS, "uniform");
    CHECK_INT(t.colour_type, 3);
    CHECK_INT(t.bit_depth, 1);
    CHECK(t.bytes < 400);
    CHECK_INT(t.trns, -1);
    CHECK_INT(t.mismatched, 0);
    CHECK_NEAR(t.max_err, 0, 0);
    printf("uniform opaque 256x256: palette, %zu bytes\n", t.bytes);

    /* Palette off: the same tile as RGB. */
    tilepng_options opt = TILEPNG_DEFAULTS;
    opt.allow_palette = 0;
    t = round_trip(img, w, h, w * 4, opt, "uniform_rgb");
    CHECK_INT(t.colour_type, 2);
    CHECK_INT(t.mismatched, 0);

    /* Fully transparent: a palette of one entry with tRNS. */
    memset(img, 0, (size_t)w * h * 4);
    t = round_trip(img, w, h, w * 4, TILEPNG_DEFAULTS, "transparent");
    CHECK_INT(t.colour_type, 3);
    CHECK_INT(t.trns, 1);
    CHECK(t.bytes < 400);
    CHECK_INT(t.mismatched, 0);
    free(img);
}

/* n distinct opaque colours spread over a w x h image (n <= 65536). */
static uint32_t *colours_image(int w, int h, int n)
{
    uint32_t *img = image_new(w, h);
    for (int i = 0; i < w * h; i++) {
        int k = (i / 3) % n; /* short runs, like anti-aliased edges */
        img[i] =
            premul((unsigned)(k * 37) & 0xff, (unsigned)(k >> 3) & 0xff, 255u - (k & 0x7f), 255);
    }
    return img;
}

static void test_colour_counts(void)
{
    static const struct {
        int n, type, depth;
    } cases[] = {
        {2, 3, 1},  {3, 3, 2},   {4, 3, 2},   {5, 3, 4},   {16, 3, 4},
        {17, 3, 8}, {256, 3, 8}, {257, 2, 8}, {300, 2, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* 61 px wide: packed rows end mid-byte. */
        int w = 61, h = 40;
        uint32_t *img = colours_image(w, h, cases[i].n);
        char label[32];
        snprintf(label, sizeof label, "colours_%d", cases[i].n);
        trip t = round_trip(img, w, h, w * 4, TILEPNG_DEFAULTS, label);
        if (t.colour_type != cases[i].type || t.bit_depth != cases[i].depth)
            fprintf(stderr, "with %d colours:\n", cases[i].n);
        CHECK_INT(t.colour_type, cases[i].type);
        CHECK_INT(t.bit_depth, cases[i].depth);
        CHECK_INT(t.trns, -1);
        CHECK_INT(t.mismatched, 0);
        free(img);
    }
}

/* Translucent colours in a palette: tRNS holds only the translucent entries
 * (they come first) and the colours are un-premultiplied exactly. */
static void test_palette_alpha(void)
{
    int w = 64, h = 64;
    uint32_t *img = image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img[y * w + x] = x < 32 ? 0 : premul(220, 40, 30, 255);
    trip t = round_trip(img, w, h, w * 4, TILEPNG_DEFAULTS, "two_colours");
    CHECK_INT(t.colour_type, 3);
    CHECK_INT(t.bit_depth, 1);
    CHECK_INT(t.trns, 1);
    CHECK_INT(t.mismatched, 0);

    for (int i = 0; i < w * h; i++)
        img[i] = premul(255, 128, (unsigned)(i % 7) * 30, i % 3 ? 255 : 77 + (unsigned)(i % 5));
    t = round_trip(img, w, h, w * 4, TILEPNG_DEFAULTS, "palette_alpha");
    CHECK_INT(t.colour_type, 3);
    CHECK_INT(t.trns, 35); /* 42 colours; the 35 translucent ones come first */
    CHECK_INT(t.mismatched, 0);
    free(img);
}

/* Translucent pixels and many colours: RGBA, straight colour rounded to nearest. */
static void test_rgba(void)
{
    int w = 256, h = 256;
    uint32_t *img = image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img[y * w + x] =
                premul((unsigned)x, (unsigned)y, (unsigned)(x ^ y), (unsigned)(x + y) % 256);
    trip t = round_trip(img, w, h, w * 4, TILEPNG_DEFAULTS, "rgba");
    CHECK_INT(t.colour_type, 6);
    CHECK_INT(t.bit_depth, 8);
    CHECK_INT(t.mismatched, 0);
    CHECK(t.max_err <= 1.0);
    printf("translucent gradient: RGBA, %zu bytes, largest error %.3f levels\n", t.bytes,
           t.max_err);

    /* Translucent only in the first row, one flat run: still RGBA. */
    for (int i = 0; i < w * h; i++)
        img[i] = i < w ? 0 : premul((unsigned)i & 0xff, (unsigned)(i >> 8) & 0xff, 9, 255);
    t = round_trip(img, w, h, w * 4, TILEPNG_DEFAULTS, "rgba_first_run");
    CHECK_INT(t.colour_type, 6);
    CHECK_INT(t.mismatched, 0);

    /* Opaque gradient: RGB, exact. */
    for (int i = 0; i < w * h; i++)
        img[i] |= 0xff000000u;
    t = round_trip(img, w, h, w * 4, TILEPNG_DEFAULTS, "rgb");
    CHECK_INT(t.colour_type, 2);
    CHECK_INT(t.mismatched, 0);
    CHECK_NEAR(t.max_err, 0, 0);
    free(img);
}

/* Rows padded beyond width * 4 with junk that must not be read. */
static void test_stride(void)
{
    int w = 100, h = 30, spx = w + 28;
    uint32_t *img = image_new(spx, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < spx; x++)
            img[y * spx + x] =
                x < w ? premul(10, (unsigned)y * 8, 200, 255) : 0x12345678u + (unsigned)x;
    trip t = round_trip(img, w, h, spx * 4, TILEPNG_DEFAULTS, "stride_palette");
    CHECK_INT(t.colour_type, 3);
    CHECK_INT(t.trns, -1); /* the junk has alpha 0x12: it was not looked at */
    CHECK_INT(t.mismatched, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img[y * spx + x] = premul((unsigned)x * 2, (unsigned)y * 8, 200, 255);
    t = round_trip(img, w, h, spx * 4, TILEPNG_DEFAULTS, "stride_rgb");
    CHECK_INT(t.colour_type, 2);
    CHECK_INT(t.mismatched, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img[y * spx + x] = premul((unsigned)x * 2, (unsigned)y * 8, 200, 128);
    t = round_trip(img, w, h, spx * 4, TILEPNG_DEFAULTS, "stride_rgba");
    CHECK_INT(t.colour_type, 6);
    CHECK_INT(t.mismatched, 0);
    free(img);
}

static void test_bad_arguments(void)
{
    uint32_t px[4] = {0};
    unsigned char *png = NULL;
    size_t len = 0;
    zs_error err = {0};
    CHECK_INT(tilepng_encode(px, 0, 1, 4, TILEPNG_DEFAULTS, &png, &len, &err), ZS_EINVAL);
    CHECK_INT(tilepng_encode(px, 2, 2, 4, TILEPNG_DEFAULTS, &png, &len, &err), ZS_EINVAL);
    CHECK(strstr(err.msg, "stride") != NULL);
    tilepng_options opt = {10, 1};
    CHECK_INT(tilepng_encode(px, 2, 2, 8, opt, &png, &len, &err), ZS_EINVAL);
    CHECK(png == NULL);
}

/* ---- hand-made PNGs for the decoder ------------------------------------------- */

static uint32_t crc_table[256];

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    if (!crc_table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

typedef struct {
    unsigned char b[1024];
    size_t n;
} pngbuf;

static void put32(pngbuf *o, uint32_t v)
{
    unsigned char q[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    memcpy(o->b + o->n, q, 4);
    o->n += 4;
}

static void put_chunk(pngbuf *o, const char *type, const unsigned char *data, size_t n)
{
    put32(o, (uint32_t)n);
    size_t start = o->n;
    memcpy(o->b + o->n, type, 4);
    if (n) memcpy(o->b + o->n + 4, data, n);
    o->n += 4 + n;
    put32(o, crc32_of(o->b + start, 4 + n));
}

/* A PNG of w x h with the given raw (filter byte + pixels per row) data,
 * compressed as one stored deflate block; plte/trns optional. */
static pngbuf make_png(int w, int h, int depth, int type, int interlace, const unsigned char *raw,
                       size_t rawlen, const unsigned char *plte, size_t nplte,
                       const unsigned char *trns, size_t ntrns)
{
    pngbuf o = {.n = 0};
    memcpy(o.b, "\x89PNG\r\n\x1a\n", 8);
    o.n = 8;
    unsigned char ihdr[13] = {0,
                              0,
                              0,
                              (unsigned char)w,
                              0,
                              0,
                              0,
                              (unsigned char)h,
                              (unsigned char)depth,
                              (unsigned char)type,
                              0,
                              0,
                              (unsigned char)interlace};
    put_chunk(&o, "IHDR", ihdr, 13);
    if (plte) put_chunk(&o, "PLTE", plte, nplte);
    if (trns) put_chunk(&o, "tRNS", trns, ntrns);
    unsigned char z[600];
    size_t zn = 0;
    z[zn++] = 0x78, z[zn++] = 0x01; /* zlib header, no dictionary */
    z[zn++] = 1;                    /* final stored block */
    z[zn++] = (unsigned char)rawlen, z[zn++] = (unsigned char)(rawlen >> 8);
    z[zn++] = (unsigned char)~rawlen, z[zn++] = (unsigned char)(~rawlen >> 8);
    memcpy(z + zn, raw, rawlen);
    zn += rawlen;
    uint32_t s1 = 1, s2 = 0;
    for (size_t i = 0; i < rawlen; i++)
        s1 = (s1 + raw[i]) % 65521, s2 = (s2 + s1) % 65521;
    z[zn++] = (unsigned char)(s2 >> 8), z[zn++] = (unsigned char)s2;
    z[zn++] = (unsigned char)(s1 >> 8), z[zn++] = (unsigned char)s1;
    put_chunk(&o, "IDAT", z, zn);
    put_chunk(&o, "IEND", NULL, 0);
    return o;
}

/* Decodes p and checks it is w x h with the expected RGBA bytes. */
static void expect_decode(const pngbuf *p, int w, int h, const unsigned char *want,
                          const char *what)
{
    unsigned char *rgba = NULL;
    int dw = 0, dh = 0;
    zs_error err = {0};
    zs_status s = tilepng_decode(p->b, p->n, &rgba, &dw, &dh, &err);
    if (s) fprintf(stderr, "%s: %s\n", what, err.msg);
    CHECK_INT(s, ZS_OK);
    CHECK_INT(dw, w);
    CHECK_INT(dh, h);
    if (rgba && dw == w && dh == h && memcmp(rgba, want, (size_t)w * h * 4) != 0) {
        fprintf(stderr, "%s: decoded pixels differ:", what);
        for (int i = 0; i < w * h * 4; i++)
            fprintf(stderr, " %d/%d", rgba[i], want[i]);
        fprintf(stderr, "\n");
        test_failures++;
    }
    CHECK(pngcheck_accepts(p->b, p->n, what));
    free(rgba);
}

static void test_decode_kinds(void)
{
    {
        unsigned char raw[] = {0, 0, 200};
        unsigned char want[] = {0, 0, 0, 255, 200, 200, 200, 255};
        pngbuf p = make_png(2, 1, 8, 0, 0, raw, sizeof raw, NULL, 0, NULL, 0);
        expect_decode(&p, 2, 1, want, "gray8");
    }
    {
        /* 16-bit scaled with rounding: 0x1234 -> 18, 0xff00 -> 254. */
        unsigned char raw[] = {0, 0x12, 0x34, 0xff, 0x00};
        unsigned char want[] = {18, 18, 18, 255, 254, 254, 254, 255};
        pngbuf p = make_png(2, 1, 16, 0, 0, raw, sizeof raw, NULL, 0, NULL, 0);
        expect_decode(&p, 2, 1, want, "gray16");
    }
    {
        /* 1-bit gray with a tRNS key on white. */
        unsigned char raw[] = {0, 0xa0};
        unsigned char trns[] = {0, 1};
        unsigned char want[] = {255, 255, 255, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255};
        pngbuf p = make_png(4, 1, 1, 0, 0, raw, sizeof raw, NULL, 0, trns, sizeof trns);
        expect_decode(&p, 4, 1, want, "gray1_trns");
    }
    {
        unsigned char raw[] = {0, 100, 50};
        unsigned char want[] = {100, 100, 100, 50};
        pngbuf p = make_png(1, 1, 8, 4, 0, raw, sizeof raw, NULL, 0, NULL, 0);
        expect_decode(&p, 1, 1, want, "gray_alpha8");
    }
    {
        unsigned char raw[] = {0, 0xff, 0xff, 0x80, 0x80, 0x00, 0x00};
        unsigned char want[] = {255, 128, 0, 255};
        pngbuf p = make_png(1, 1, 16, 2, 0, raw, sizeof raw, NULL, 0, NULL, 0);
        expect_decode(&p, 1, 1, want, "rgb16");
    }
    {
        unsigned char raw[] = {0, 0x00, 0x00, 0x80, 0x80, 0xff, 0xff, 0x80, 0x80};
        unsigned char want[] = {0, 128, 255, 128};
        pngbuf p = make_png(1, 1, 16, 6, 0, raw, sizeof raw, NULL, 0, NULL, 0);
        expect_decode(&p, 1, 1, want, "rgba16");
    }
    {
        /* RGB with a tRNS colour key: the keyed pixel becomes transparent. */
        unsigned char raw[] = {0, 1, 2, 3, 9, 9, 9};
        unsigned char trns[] = {0, 9, 0, 9, 0, 9};
        unsigned char want[] = {1, 2, 3, 255, 9, 9, 9, 0};
        pngbuf p = make_png(2, 1, 8, 2, 0, raw, sizeof raw, NULL, 0, trns, sizeof trns);
        expect_decode(&p, 2, 1, want, "rgb8_trns");
    }
    {
        /* 2-bit palette, tRNS shorter than the palette. */
        unsigned char raw[] = {0, 0x18}; /* indices 0, 1, 2, 0 */
        unsigned char plte[] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
        unsigned char trns[] = {0};
        unsigned char want[] = {10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 255, 10, 20, 30, 0};
        pngbuf p = make_png(4, 1, 2, 3, 0, raw, sizeof raw, plte, sizeof plte, trns, sizeof trns);
        expect_decode(&p, 4, 1, want, "palette2_trns");
    }
    {
        /* Adam7 interlaced 2x2 RGBA: pass 1 holds (0,0), pass 6 (1,0), pass 7 row 1. */
        unsigned char raw[] = {0, 1, 2, 3, 4, 0, 5, 6, 7, 8, 0, 9, 10, 11, 12, 13, 14, 15, 16};
        unsigned char want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        pngbuf p = make_png(2, 2, 8, 6, 1, raw, sizeof raw, NULL, 0, NULL, 0);
        expect_decode(&p, 2, 2, want, "interlaced");
    }
}

static void expect_refused(const unsigned char *p, size_t n, const char *msg_part, const char *what)
{
    unsigned char *rgba = (unsigned char *)"sentinel";
    int w = -1, h = -1;
    zs_error err = {0};
    zs_status s = tilepng_decode(p, n, &rgba, &w, &h, &err);
    if (s != ZS_EINVAL) fprintf(stderr, "%s was accepted\n", what);
    CHECK_INT(s, ZS_EINVAL);
    CHECK(rgba == NULL);
    if (!strstr(err.msg, msg_part)) fprintf(stderr, "%s: message \"%s\"\n", what, err.msg);
    CHECK(strstr(err.msg, msg_part) != NULL);
    if (s == ZS_OK) free(rgba);
}

static void test_decode_bad(void)
{
    const char garbage[] = "GIF89a this is not a PNG at all";
    expect_refused((const unsigned char *)garbage, sizeof garbage, "not a PNG", "garbage");
    expect_refused((const unsigned char *)"\x89PNG", 4, "not a PNG", "4 bytes");
    expect_refused(NULL, 0, "not a PNG", "nothing");

    int w = 64, h = 64;
    uint32_t *img = colours_image(w, h, 1000);
    unsigned char *png = NULL;
    size_t len = 0;
    zs_error err = {0};
    CHECK_INT(tilepng_encode(img, w, h, w * 4, TILEPNG_DEFAULTS, &png, &len, &err), ZS_OK);
    free(img);
    if (!png) return;
    expect_refused(png, len / 2, "corrupt PNG: ", "half a PNG");
    expect_refused(png, 30, "corrupt PNG: ", "the IHDR only");
    expect_refused(png, len - 12, "corrupt PNG: ", "a PNG without IEND");
    png[len / 2] ^= 0x55; /* inside IDAT: the CRC no longer matches */
    expect_refused(png, len, "corrupt PNG: ", "a flipped byte");
    png[len / 2] ^= 0x55;
    png[16] = 0x7f; /* a width over the decoder's limit, with a valid CRC */
    uint32_t crc = crc32_of(png + 12, 17);
    for (int i = 0; i < 4; i++)
        png[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    expect_refused(png, len, "corrupt PNG: ", "a huge IHDR width");
    free(png);
}

/* ---- timing ------------------------------------------------------------------------- */

/* Accumulates coverage of an even-odd polygon (pixel coordinates) at 4x4
 * samples per pixel, then composites colour c (straight, opaque) over img. */
static void fill_polygon(uint32_t *img, int w, int h, const double *xy, int n, uint32_t rgb,
                         unsigned alpha, unsigned char *cov)
{
    memset(cov, 0, (size_t)w * h);
    for (int sy = 0; sy < h * 4; sy++) {
        double y = (sy + 0.5) / 4.0, xs[64];
        int nx = 0;
        for (int i = 0; i < n && nx < 64; i++) {
            double x0 = xy[2 * i], y0 = xy[2 * i + 1];
            double x1 = xy[2 * ((i + 1) % n)], y1 = xy[2 * ((i + 1) % n) + 1];
            if ((y0 <= y) != (y1 <= y)) xs[nx++] = x0 + (y - y0) * (x1 - x0) / (y1 - y0);
        }
        for (int i = 1; i < nx; i++)
            for (int j = i; j > 0 && xs[j - 1] > xs[j]; j--) {
                double t = xs[j];
                xs[j] = xs[j - 1], xs[j - 1] = t;
            }
        for (int i = 0; i + 1 < nx; i += 2)
            for (int sx = 0; sx < w * 4; sx++) {
                double x = (sx + 0.5) / 4.0;
                if (x >= xs[i] && x < xs[i + 1]) cov[(sy / 4) * w + sx / 4]++;
            }
    }
    for (int i = 0; i < w * h; i++) {
        if (!cov[i]) continue;
        unsigned a = cov[i] >= 16 ? alpha : alpha * cov[i] / 16;
        uint32_t d = img[i];
        uint32_t out = 0;
        for (int s = 0; s < 32; s += 8) {
            unsigned src = s == 24 ? a : (((rgb >> s) & 0xff) * a + 127) / 255;
            unsigned dst = (d >> s) & 0xff;
            out |= (uint32_t)(src + (dst * (255 - a) + 127) / 255) << s;
        }
        img[i] = out;
    }
}

static uint32_t rng_state = 12345;

static double rnd(double lo, double hi)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (rng_state >> 8) / 16777216.0;
}

/* A 256 px map-like tile: land, a few landuse areas, ~150 rotated buildings
 * and ~40 roads as anti-aliased quads, all opaque. */
static uint32_t *map_tile(int w, int h)
{
    uint32_t *img = image_new(w, h);
    unsigned char *cov = malloc((size_t)w * h);
    if (!cov) exit(2);
    for (int i = 0; i < w * h; i++)
        img[i] = premul(0xf2, 0xef, 0xe9, 255);
    static const uint32_t landuse[] = {0xc8facc, 0xe0dfdf, 0xaad3df, 0xf2dad9};
    for (int k = 0; k < 6; k++) {
        double cx = rnd(0, w), cy = rnd(0, h), xy[16];
        for (int i = 0; i < 8; i++) {
            double a = i * 0.785398 + rnd(-0.3, 0.3), r = rnd(30, 90);
            xy[2 * i] = cx + r * cos(a), xy[2 * i + 1] = cy + r * sin(a);
        }
        fill_polygon(img, w, h, xy, 8, landuse[k % 4], 255, cov);
    }
    for (int k = 0; k < 40; k++) {
        double x0 = rnd(-20, w + 20), y0 = rnd(-20, h + 20), x1 = rnd(-20, w + 20),
               y1 = rnd(-20, h + 20);
        double dx = x1 - x0, dy = y1 - y0, l = sqrt(dx * dx + dy * dy), hw = rnd(1, 5) / l;
        double xy[8] = {x0 - dy * hw, y0 + dx * hw, x1 - dy * hw, y1 + dx * hw,
                        x1 + dy * hw, y1 - dx * hw, x0 + dy * hw, y0 - dx * hw};
        fill_polygon(img, w, h, xy, 4, k % 3 ? 0xffffff : 0xf7fabf, 255, cov);
    }
    for (int k = 0; k < 150; k++) {
        double cx = rnd(0, w), cy = rnd(0, h), a = rnd(0, 3.14159), sw = rnd(4, 14),
               sh = rnd(4, 14);
        double c = cos(a), s = sin(a),
               xy[8] = {
                   cx + c * sw - s * sh, cy + s * sw + c * sh, cx - c * sw - s * sh,
                   cy - s * sw + c * sh, cx - c * sw + s * sh, cy - s * sw - c * sh,
                   cx + c * sw + s * sh, cy + s * sw - c * sh,
               };
        fill_polygon(img, w, h, xy, 4, 0xd9d0c9, 255, cov);
    }
    free(cov);
    return img;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median µs of reps encodes; *bytes gets the size. */
static double time_encode(const uint32_t *img, int w, int h, int level, int filter, int strategy,
                          int reps, size_t *bytes)
{
    double t[64];
    tilepng_options opt = {level, 1};
    for (int r = 0; r < reps; r++) {
        unsigned char *png = NULL;
        size_t len = 0;
        zs_error err = {0};
        double t0 = now_us();
        zs_status s =
            tilepng_encode_tuned(img, w, h, w * 4, opt, filter, strategy, &png, &len, &err);
        t[r] = now_us() - t0;
        CHECK_INT(s, ZS_OK);
        *bytes = len;
        free(png);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[reps / 2];
}

static void timing_table(void)
{
    static const char *const names[] = {"NONE", "SUB", "UP", "AVG", "PAETH", "ALL"};
    static const int filters[] = {F_NONE, F_SUB, F_UP, F_PAETH, F_ALL};
    static const int levels[] = {1, 2, 3, 6};
    int w = 256, h = 256, reps = 15;
    uint32_t *img = map_tile(w, h);
    unsigned char *png = NULL;
    size_t len = 0;
    zs_error err = {0};
    CHECK_INT(tilepng_encode(img, w, h, w * 4, TILEPNG_DEFAULTS, &png, &len, &err), ZS_OK);
    CHECK_INT(ihdr_colour_type(png, len), 2);
    free(png);
    printf("\nencode of a 256 px anti-aliased map-like tile (RGB), median of %d; "
           "us / bytes (informative; meaningless under sanitizers)\n",
           reps);
    printf("%-6s", "level");
    for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++)
        printf(" %16s", names[filters[f]]);
    printf("\n");
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        printf("%-6d", levels[l]);
        for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
            size_t bytes = 0;
            double us = time_encode(img, w, h, levels[l], filters[f], -1, reps, &bytes);
            printf(" %7.0f / %6zu", us, bytes);
        }
        printf("\n");
    }
    printf("zlib strategy at level 2 (libpng picks DEFAULT for NONE, FILTERED otherwise):\n");
    static const char *const strat[] = {"DEFAULT", "FILTERED", "HUFFMAN", "RLE"};
    for (int s = 0; s < 4; s++) {
        printf("%-9s", strat[s]);
        for (int f = F_NONE; f <= F_UP; f++) {
            size_t bytes = 0;
            double us = time_encode(img, w, h, 2, f, s, reps, &bytes);
            printf(" %s %5.0f / %6zu", names[f], us, bytes);
        }
        printf("\n");
    }
    free(img);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/tilepngXXXXXX", base && strlen(base) < 40 ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    have_pngcheck = system("command -v pngcheck >/dev/null 2>&1") == 0;
    if (!have_pngcheck) printf("pngcheck not found: skipping the pngcheck checks\n");

    test_uniform();
    test_colour_counts();
    test_palette_alpha();
    test_rgba();
    test_stride();
    test_bad_arguments();
    test_decode_kinds();
    test_decode_bad();
    timing_table();

    if (have_pngcheck) printf("pngcheck accepted %d file(s)\n", pngcheck_runs);
    rmdir(tmpdir);
    TEST_DONE();
}
