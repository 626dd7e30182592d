/* JPEG photos with libjpeg: the demo's procedural pictures, probing and
 * thumbnails. Every libjpeg call that may fail runs in a function that owns
 * its own setjmp, so a bad file becomes a zs_error and never an exit(). */
#include "photo.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>

#define PHOTO_MAX_SIDE 8192                 /* demo pictures and thumbnails, pixels */
#define PHOTO_MAX_SOURCE_PIXELS 400000000.0 /* 20,000 x 20,000 */
#define PHOTO_MAX_DECODER_MEM (512L << 20)  /* libjpeg's own work memory, bytes */
#define PHOTO_DEMO_QUALITY 85
#define PHOTO_THUMB_QUALITY 80

/* ---- libjpeg error handling ------------------------------------------------ */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    bool truncated; /* libjpeg warned that the data ended early */
} photo_jerr;

static void jerr_exit(j_common_ptr cinfo)
{
    photo_jerr *e = (photo_jerr *)cinfo->err;
    longjmp(e->jump, 1);
}

/* Warnings are not printed (lower layers never log); a premature end of the
 * data is remembered because it means the picture is cut off. */
static void jerr_emit(j_common_ptr cinfo, int level)
{
    photo_jerr *e = (photo_jerr *)cinfo->err;
    if (level < 0 && e->pub.msg_code == JWRN_JPEG_EOF) e->truncated = true;
}

static void jerr_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void jerr_init(photo_jerr *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = jerr_exit;
    e->pub.emit_message = jerr_emit;
    e->pub.output_message = jerr_output;
    e->truncated = false;
}

/* libjpeg's text for the error that was just raised, into buf. */
static void jerr_text(j_common_ptr cinfo, char *buf)
{
    buf[0] = '\0';
    cinfo->err->format_message(cinfo, buf);
}

/* ---- files -------------------------------------------------------------------- */

/* Opens path for reading and checks the JPEG signature, so that a wrong file
 * gets a message saying so rather than libjpeg's. Returns the open file. */
static zs_status open_jpeg(const char *path, FILE **out, zs_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return zs_fail(err, errno == ENOENT ? ZS_ENOTFOUND : ZS_EIO, "cannot read photo '%s': %s",
                       path, strerror(errno));
    unsigned char sig[3];
    size_t n = fread(sig, 1, sizeof sig, f);
    if (n == 0 && ferror(f)) {
        int e = errno;
        fclose(f);
        return zs_fail(err, ZS_EIO, "cannot read photo '%s': %s", path, strerror(e));
    }
    if (n == 0) {
        fclose(f);
        return zs_fail(err, ZS_EINVAL, "photo '%s' is empty", path);
    }
    if (n < 3 || sig[0] != 0xFF || sig[1] != 0xD8 || sig[2] != 0xFF) {
        fclose(f);
        return zs_fail(err, ZS_EINVAL, "photo '%s' is not a JPEG file", path);
    }
    rewind(f);
    *out = f;
    return ZS_OK;
}

/* Where a file is written before it is renamed over path, so that a failed
 * write never leaves a half picture under the final name. */
static void temp_name(char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "%s.%ld.tmp", path, (long)getpid());
}

/* ---- encoding ------------------------------------------------------------------ */

/* Writes an 8-bit RGB image (w x h, rows top down, borrowed) to path as a
 * baseline JPEG of the given quality, through a temporary file. */
static zs_status write_jpeg(const char *path, const unsigned char *rgb, int w, int h, int quality,
                            zs_error *err)
{
    char tmp[4096];
    temp_name(tmp, sizeof tmp, path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return zs_fail(err, ZS_EIO, "cannot write photo '%s': %s", path, strerror(errno));

    struct jpeg_compress_struct c;
    photo_jerr je;
    jerr_init(&je);
    c.err = &je.pub;
    if (setjmp(je.jump)) {
        char msg[JMSG_LENGTH_MAX];
        jerr_text((j_common_ptr)&c, msg);
        jpeg_destroy_compress(&c);
        fclose(f);
        remove(tmp);
        return zs_fail(err, ZS_EIO, "cannot write photo '%s': %s", path, msg);
    }
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    c.optimize_coding = TRUE;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);

    bool ok = fflush(f) == 0 && !ferror(f);
    int saved = errno;
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        remove(tmp);
        return zs_fail(err, ZS_EIO, "cannot write photo '%s': %s", path, strerror(saved));
    }
    return ZS_OK;
}

/* ---- EXIF orientation ------------------------------------------------------------- */

static unsigned get16(const unsigned char *p, bool big)
{
    return big ? (unsigned)(p[0] << 8 | p[1]) : (unsigned)(p[1] << 8 | p[0]);
}

static unsigned long get32(const unsigned char *p, bool big)
{
    return big ? ((unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 |
                  p[3])
               : ((unsigned long)p[3] << 24 | (unsigned long)p[2] << 16 | (unsigned long)p[1] << 8 |
                  p[0]);
}

/* The EXIF orientation (1..8) among the saved APP1 markers; 1 (as stored)
 * when there is none or it cannot be read. Phones store pictures sideways and
 * say so here; viewers turn them, so the thumbnail must too. */
static int exif_orientation(j_decompress_ptr d)
{
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length < 14) continue;
        const unsigned char *p = m->data;
        size_t n = m->data_length;
        if (memcmp(p, "Exif\0\0", 6) != 0) continue;
        const unsigned char *t = p + 6; /* TIFF header */
        size_t tn = n - 6;
        bool big;
        if (t[0] == 'M' && t[1] == 'M')
            big = true;
        else if (t[0] == 'I' && t[1] == 'I')
            big = false;
        else
            continue;
        if (get16(t + 2, big) != 42) continue;
        unsigned long ifd = get32(t + 4, big);
        if (ifd > tn - 2) continue;
        unsigned count = get16(t + ifd, big);
        for (unsigned i = 0; i < count; i++) {
            unsigned long e = ifd + 2 + 12ul * i;
            if (e + 12 > tn) break;
            if (get16(t + e, big) == 0x0112 && get16(t + e + 2, big) == 3) {
                unsigned v = get16(t + e + 8, big);
                return v >= 1 && v <= 8 ? (int)v : 1;
            }
        }
    }
    return 1;
}

/* ---- probing ---------------------------------------------------------------------- */

/* Reads the header of the open JPEG f: its stored size and orientation. */
static zs_status read_header(const char *path, FILE *f, int *w, int *h, int *orient, zs_error *err)
{
    struct jpeg_decompress_struct d;
    photo_jerr je;
    jerr_init(&je);
    d.err = &je.pub;
    if (setjmp(je.jump)) {
        char msg[JMSG_LENGTH_MAX];
        jerr_text((j_common_ptr)&d, msg);
        jpeg_destroy_decompress(&d);
        return zs_fail(err, ZS_EINVAL, "photo '%s' is damaged: %s", path, msg);
    }
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_save_markers(&d, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&d, TRUE);
    *w = (int)d.image_width;
    *h = (int)d.image_height;
    *orient = exif_orientation(&d);
    bool truncated = je.truncated;
    jpeg_destroy_decompress(&d);
    if (truncated) return zs_fail(err, ZS_EINVAL, "photo '%s' is cut off", path);
    return ZS_OK;
}

/* The size reported is the one a viewer shows: width and height are swapped
 * when the EXIF orientation turns the picture by 90 degrees. */
zs_status photo_probe(const char *path, int *w, int *h, zs_error *err)
{
    FILE *f;
    if (open_jpeg(path, &f, err)) return err->status;
    int sw, sh, orient;
    zs_status s = read_header(path, f, &sw, &sh, &orient, err);
    fclose(f);
    if (s) return s;
    if (sw <= 0 || sh <= 0) return zs_fail(err, ZS_EINVAL, "photo '%s' has no pixels", path);
    bool turned = orient >= 5;
    *w = turned ? sh : sw;
    *h = turned ? sw : sh;
    return ZS_OK;
}

/* ---- thumbnails ------------------------------------------------------------------- */

/* An area-averaging shrink from sw x sh to dw x dh (never enlarging): each
 * source pixel adds its overlap with at most two destination pixels per axis,
 * so a scanline can be added as soon as it is decoded. */
typedef struct {
    int sw, sh, dw, dh;
    int *col;    /* per source column: first destination column */
    float *colw; /* per source column: its share in that column (the rest goes to the next) */
    float *csum; /* per destination column: total weight */
    float *hrow; /* one horizontally shrunk row, dw x 3 */
    float *acc;  /* destination accumulators, dw x dh x 3 */
    float *rsum; /* per destination row: total weight */
} shrinker;

static void shrinker_free(shrinker *s)
{
    free(s->col);
    free(s->colw);
    free(s->csum);
    free(s->hrow);
    free(s->acc);
    free(s->rsum);
    memset(s, 0, sizeof *s);
}

/* Splits source index i of n (shrunk to m <= n) into a destination index and
 * the share of the pixel that falls in it. */
static void split_pixel(int i, int n, int m, int *dst, float *share)
{
    double r = (double)n / m;
    int d = (int)floor(i / r);
    if (d >= m) d = m - 1;
    double end = (d + 1) * r;
    *dst = d;
    *share = end < i + 1 && d + 1 < m ? (float)(end - i) : 1.0f;
}

static bool shrinker_init(shrinker *s, int sw, int sh, int dw, int dh)
{
    *s = (shrinker){.sw = sw, .sh = sh, .dw = dw, .dh = dh};
    s->col = malloc((size_t)sw * sizeof *s->col);
    s->colw = malloc((size_t)sw * sizeof *s->colw);
    s->csum = calloc((size_t)dw, sizeof *s->csum);
    s->hrow = malloc((size_t)dw * 3 * sizeof *s->hrow);
    s->acc = calloc((size_t)dw * dh * 3, sizeof *s->acc);
    s->rsum = calloc((size_t)dh, sizeof *s->rsum);
    if (!s->col || !s->colw || !s->csum || !s->hrow || !s->acc || !s->rsum) {
        shrinker_free(s);
        return false;
    }
    for (int x = 0; x < sw; x++) {
        split_pixel(x, sw, dw, &s->col[x], &s->colw[x]);
        s->csum[s->col[x]] += s->colw[x];
        if (s->colw[x] < 1) s->csum[s->col[x] + 1] += 1 - s->colw[x];
    }
    return true;
}

/* Adds source row y (sw RGB pixels, borrowed). */
static void shrinker_add(shrinker *s, int y, const unsigned char *row)
{
    memset(s->hrow, 0, (size_t)s->dw * 3 * sizeof *s->hrow);
    for (int x = 0; x < s->sw; x++) {
        float a = s->colw[x], b = 1.0f - a;
        const unsigned char *p = row + 3 * x;
        float *o = s->hrow + 3 * s->col[x];
        o[0] += a * p[0];
        o[1] += a * p[1];
        o[2] += a * p[2];
        if (b > 0) {
            o[3] += b * p[0];
            o[4] += b * p[1];
            o[5] += b * p[2];
        }
    }
    int d;
    float a;
    split_pixel(y, s->sh, s->dh, &d, &a);
    float b = 1.0f - a;
    float *o = s->acc + (size_t)d * s->dw * 3;
    for (int i = 0; i < s->dw * 3; i++)
        o[i] += a * s->hrow[i];
    s->rsum[d] += a;
    if (b > 0) {
        o += (size_t)s->dw * 3;
        for (int i = 0; i < s->dw * 3; i++)
            o[i] += b * s->hrow[i];
        s->rsum[d + 1] += b;
    }
}

/* The shrunk image as 8-bit RGB into out (dw x dh x 3). Rows the decoder never
 * delivered stay black. */
static void shrinker_finish(const shrinker *s, unsigned char *out)
{
    for (int y = 0; y < s->dh; y++) {
        const float *a = s->acc + (size_t)y * s->dw * 3;
        unsigned char *o = out + (size_t)y * s->dw * 3;
        for (int x = 0; x < s->dw; x++) {
            double wgt = (double)s->rsum[y] * s->csum[x];
            for (int k = 0; k < 3; k++) {
                double v = wgt > 0 ? a[3 * x + k] / wgt : 0;
                o[3 * x + k] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
            }
        }
    }
}

/* Converts a row of CMYK (Adobe files store it inverted) to RGB in place. */
static void cmyk_to_rgb(unsigned char *row, int w, bool inverted)
{
    for (int x = 0; x < w; x++) {
        unsigned c = row[4 * x], m = row[4 * x + 1], y = row[4 * x + 2], k = row[4 * x + 3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        row[3 * x] = (unsigned char)(c * k / 255);
        row[3 * x + 1] = (unsigned char)(m * k / 255);
        row[3 * x + 2] = (unsigned char)(y * k / 255);
    }
}

/* What decode_fit() allocates. It lives in the caller's frame, so the values
 * are well defined after libjpeg jumps out of decode_fit(); the caller frees
 * them with decoded_free(). */
typedef struct {
    unsigned char *row; /* one decoded scanline */
    shrinker sh;
    unsigned char *img; /* the result: RGB, w x h as stored */
    int w, h, orient;   /* orient: EXIF orientation 1..8 */
} decoded;

static void decoded_free(decoded *o)
{
    free(o->row);
    shrinker_free(&o->sh);
    free(o->img);
}

/* Decodes the open JPEG f shrunk to fit max_px on its longer side into o:
 * libjpeg's DCT scaling does the coarse part (it skips most of the work), area
 * averaging the rest. */
static zs_status decode_fit(const char *path, FILE *f, int max_px, decoded *o, zs_error *err)
{
    struct jpeg_decompress_struct d;
    photo_jerr je;
    jerr_init(&je);
    d.err = &je.pub;
    if (setjmp(je.jump)) {
        char msg[JMSG_LENGTH_MAX];
        jerr_text((j_common_ptr)&d, msg);
        jpeg_destroy_decompress(&d);
        return zs_fail(err, ZS_EINVAL, "photo '%s' is damaged: %s", path, msg);
    }
    jpeg_create_decompress(&d);
    d.mem->max_memory_to_use = PHOTO_MAX_DECODER_MEM;
    jpeg_stdio_src(&d, f);
    jpeg_save_markers(&d, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&d, TRUE);
    o->orient = exif_orientation(&d);

    zs_status s = ZS_OK;
    double sw = d.image_width, sh = d.image_height;
    double longer = sw > sh ? sw : sh;
    if (sw * sh > PHOTO_MAX_SOURCE_PIXELS) {
        s = zs_fail(err, ZS_ENOMEM, "photo '%s' is too large (%.0f x %.0f pixels)", path, sw, sh);
        goto done;
    }
    double target = longer < max_px ? longer : max_px;
    int denom = 8;
    while (denom > 1 && ceil(longer / denom) < target)
        denom /= 2;
    d.scale_num = 1;
    d.scale_denom = (unsigned)denom;
    bool cmyk = d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK;
    d.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_calc_output_dimensions(&d);

    int ow = (int)d.output_width, oh = (int)d.output_height;
    double fit = target / (ow > oh ? ow : oh);
    if (fit > 1) fit = 1;
    int dw = (int)lround(ow * fit), dh = (int)lround(oh * fit);
    if (dw < 1) dw = 1;
    if (dh < 1) dh = 1;
    o->row = malloc((size_t)ow * 4);
    o->img = malloc((size_t)dw * dh * 3);
    if (!o->row || !o->img || !shrinker_init(&o->sh, ow, oh, dw, dh)) {
        s = zs_fail(err, ZS_ENOMEM, "out of memory shrinking photo '%s'", path);
        goto done;
    }
    jpeg_start_decompress(&d);
    while (d.output_scanline < d.output_height) {
        int y = (int)d.output_scanline;
        JSAMPROW r = o->row;
        if (jpeg_read_scanlines(&d, &r, 1) != 1) break;
        if (cmyk) cmyk_to_rgb(o->row, ow, d.saw_Adobe_marker);
        shrinker_add(&o->sh, y, o->row);
    }
    if (je.truncated) {
        s = zs_fail(err, ZS_EINVAL, "photo '%s' is cut off", path);
        goto done;
    }
    jpeg_finish_decompress(&d);
    shrinker_finish(&o->sh, o->img);
    o->w = dw;
    o->h = dh;
done:
    jpeg_destroy_decompress(&d);
    return s;
}

/* Turns a w x h RGB image upright for EXIF orientation o. Returns a new
 * image (free()) and its size, or NULL when out of memory. */
static unsigned char *orient_image(const unsigned char *src, int w, int h, int o, int *ow, int *oh)
{
    bool turned = o >= 5;
    int W = turned ? h : w, H = turned ? w : h;
    unsigned char *dst = malloc((size_t)W * H * 3);
    if (!dst) return NULL;
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            int sx, sy;
            switch (o) {
            case 2:
                sx = w - 1 - x, sy = y;
                break;
            case 3:
                sx = w - 1 - x, sy = h - 1 - y;
                break;
            case 4:
                sx = x, sy = h - 1 - y;
                break;
            case 5:
                sx = y, sy = x;
                break;
            case 6:
                sx = y, sy = h - 1 - x;
                break;
            case 7:
                sx = w - 1 - y, sy = h - 1 - x;
                break;
            case 8:
                sx = w - 1 - y, sy = x;
                break;
            default:
                sx = x, sy = y;
                break;
            }
            memcpy(dst + ((size_t)y * W + x) * 3, src + ((size_t)sy * w + sx) * 3, 3);
        }
    }
    *ow = W;
    *oh = H;
    return dst;
}

/* The thumbnail is upright (EXIF orientation applied) and carries no
 * metadata. */
zs_status photo_thumbnail(const char *src, const char *dst, int max_px, zs_error *err)
{
    if (max_px < 1 || max_px > PHOTO_MAX_SIDE)
        return zs_fail(err, ZS_EINVAL, "thumbnail size %d is not from 1 to %d pixels", max_px,
                       PHOTO_MAX_SIDE);
    FILE *f;
    if (open_jpeg(src, &f, err)) return err->status;
    decoded o = {0};
    zs_status s = decode_fit(src, f, max_px, &o, err);
    fclose(f);
    if (!s && o.orient != 1) {
        int w, h;
        unsigned char *up = orient_image(o.img, o.w, o.h, o.orient, &w, &h);
        if (!up) {
            s = zs_fail(err, ZS_ENOMEM, "out of memory turning photo '%s'", src);
        } else {
            free(o.img);
            o.img = up;
            o.w = w;
            o.h = h;
        }
    }
    if (!s) s = write_jpeg(dst, o.img, o.w, o.h, PHOTO_THUMB_QUALITY, err);
    decoded_free(&o);
    return s;
}

/* ---- the demo's procedural pictures ----------------------------------------------- */

typedef struct {
    float r, g, b;
} rgbf;

typedef struct {
    int w, h;
    float *px; /* w x h x 3, linear 0..1 values (not gamma-correct; it is a sketch) */
} canvas;

typedef struct {
    uint64_t s;
} prng;

static uint32_t prng_next(prng *p)
{
    uint64_t z = (p->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Uniform in [lo, hi). */
static float prng_range(prng *p, float lo, float hi)
{
    return lo + (hi - lo) * (float)(prng_next(p) / 4294967296.0);
}

static rgbf mix(rgbf a, rgbf b, float t)
{
    return (rgbf){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

static rgbf shade(rgbf a, float k)
{
    return (rgbf){a.r * k, a.g * k, a.b * k};
}

static void blend(canvas *c, int x, int y, rgbf col, float alpha)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h || alpha <= 0) return;
    if (alpha > 1) alpha = 1;
    float *p = c->px + ((size_t)y * c->w + x) * 3;
    p[0] += (col.r - p[0]) * alpha;
    p[1] += (col.g - p[1]) * alpha;
    p[2] += (col.b - p[2]) * alpha;
}

/* Length of [a, b) inside pixel [i, i + 1). */
static float cover(float a, float b, int i)
{
    float lo = a > i ? a : (float)i, hi = b < i + 1 ? b : (float)(i + 1);
    return hi > lo ? hi - lo : 0;
}

/* Fills the area between x0 and x1 (pixels) whose top and bottom edges run
 * straight from (x0, top0)/(x0, bot0) to (x1, top1)/(x1, bot1); edges are
 * anti-aliased by their pixel coverage. */
static void fill_trap(canvas *c, float x0, float x1, float top0, float top1, float bot0, float bot1,
                      rgbf col, float alpha)
{
    if (x1 <= x0) return;
    int xa = (int)floorf(x0), xb = (int)ceilf(x1);
    if (xa < 0) xa = 0;
    if (xb > c->w) xb = c->w;
    for (int x = xa; x < xb; x++) {
        float cx = cover(x0, x1, x);
        if (cx <= 0) continue;
        float t = ((x + 0.5f) - x0) / (x1 - x0);
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        float top = top0 + (top1 - top0) * t, bot = bot0 + (bot1 - bot0) * t;
        int ya = (int)floorf(top), yb = (int)ceilf(bot);
        if (ya < 0) ya = 0;
        if (yb > c->h) yb = c->h;
        for (int y = ya; y < yb; y++)
            blend(c, x, y, col, alpha * cx * cover(top, bot, y));
    }
}

static void fill_rect(canvas *c, float x0, float y0, float x1, float y1, rgbf col, float alpha)
{
    fill_trap(c, x0, x1, y0, y0, y1, y1, col, alpha);
}

static void fill_circle(canvas *c, float cx, float cy, float r, rgbf col, float alpha)
{
    int xa = (int)floorf(cx - r - 1), xb = (int)ceilf(cx + r + 1);
    int ya = (int)floorf(cy - r - 1), yb = (int)ceilf(cy + r + 1);
    for (int y = ya; y < yb; y++) {
        for (int x = xa; x < xb; x++) {
            float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
            float d = r - sqrtf(dx * dx + dy * dy) + 0.5f;
            if (d > 0) blend(c, x, y, col, alpha * (d > 1 ? 1 : d));
        }
    }
}

/* A vertical gradient from top colour a to bottom colour b over [y0, y1). */
static void fill_vgrad(canvas *c, int y0, int y1, rgbf a, rgbf b)
{
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < c->h; y++) {
        rgbf col = mix(a, b, (float)(y - y0) / (float)(y1 - y0 > 1 ? y1 - y0 - 1 : 1));
        float *p = c->px + (size_t)y * c->w * 3;
        for (int x = 0; x < c->w; x++, p += 3) {
            p[0] = col.r;
            p[1] = col.g;
            p[2] = col.b;
        }
    }
}

/* A disc whose opacity fades from alpha at the centre to 0 at radius r. */
static void fill_puff(canvas *c, float cx, float cy, float r, rgbf col, float alpha)
{
    int xa = (int)floorf(cx - r), xb = (int)ceilf(cx + r);
    int ya = (int)floorf(cy - r), yb = (int)ceilf(cy + r);
    for (int y = ya; y < yb; y++) {
        for (int x = xa; x < xb; x++) {
            float dx = (x + 0.5f - cx) / r, dy = (y + 0.5f - cy) / r;
            float q = 1 - (dx * dx + dy * dy);
            if (q > 0) blend(c, x, y, col, alpha * q * q);
        }
    }
}

/* A soft cloud: overlapping puffs, flatter at the bottom. */
static void draw_cloud(canvas *c, prng *p, float cx, float cy, float size)
{
    rgbf white = {1, 1, 1};
    int n = 10 + (int)(prng_next(p) % 10);
    for (int i = 0; i < n; i++) {
        float dx = prng_range(p, -2.2f, 2.2f) * size, dy = prng_range(p, -0.5f, 0.15f) * size;
        float r = prng_range(p, 0.5f, 1.1f) * size * (1 - fabsf(dx) / (3.5f * size));
        fill_puff(c, cx + dx, cy + dy, r, white, 0.35f);
    }
}

/* A tree in front of the building: a trunk and a rounded crown. */
static void draw_tree(canvas *c, prng *p, float x, float base, float size)
{
    rgbf trunk = {0.33f, 0.25f, 0.18f};
    rgbf leaf = {prng_range(p, 0.16f, 0.3f), prng_range(p, 0.38f, 0.52f),
                 prng_range(p, 0.14f, 0.24f)};
    fill_rect(c, x - size * 0.06f, base - size * 0.9f, x + size * 0.06f, base, trunk, 1);
    for (int i = 0; i < 6; i++) {
        float dx = prng_range(p, -0.35f, 0.35f) * size, dy = prng_range(p, -0.3f, 0.25f) * size;
        float r = prng_range(p, 0.3f, 0.45f) * size;
        fill_circle(c, x + dx, base - size * 1.05f + dy, r,
                    shade(leaf, prng_range(p, 0.85f, 1.15f)), 1);
    }
}

/* A facade of width fw and height fh with its top-left at (x, y): wall,
 * a window grid (or a curtain wall), a roof line and an entrance; type is
 * 0 tower, 1 factory hall, 2 mid-rise. A darker side wall gives depth. */
static void draw_building(canvas *c, prng *p, int type, float x, float y, float fw, float fh,
                          rgbf sky)
{
    static const rgbf walls[] = {
        {0.86f, 0.83f, 0.76f}, {0.78f, 0.78f, 0.80f}, {0.92f, 0.91f, 0.88f},
        {0.72f, 0.55f, 0.45f}, {0.80f, 0.74f, 0.62f}, {0.62f, 0.68f, 0.74f},
    };
    rgbf wall = walls[prng_next(p) % 6];
    rgbf glass = mix((rgbf){0.20f, 0.35f, 0.45f}, sky, prng_range(p, 0.15f, 0.4f));
    float depth = fw * prng_range(p, 0.08f, 0.16f) * (type == 1 ? 0.4f : 1), rise = depth * 0.35f;
    float base = y + fh;

    if (type == 0) wall = mix(glass, (rgbf){0.55f, 0.62f, 0.68f}, 0.3f);
    if (type == 1) wall = mix(wall, (rgbf){0.9f, 0.92f, 0.95f}, 0.4f);

    /* side wall, then the front */
    fill_trap(c, x + fw, x + fw + depth, y, y - rise, base, base - rise * 0.3f, shade(wall, 0.68f),
              1);
    fill_rect(c, x, y, x + fw, base, wall, 1);

    if (type == 0) {
        /* curtain wall: sky reflected in the glass, mullions and floor lines */
        for (float yy = y; yy < base; yy += 1) {
            float t = (yy - y) / fh;
            fill_rect(c, x, yy, x + fw, yy + 1, mix(mix(sky, glass, 0.55f), glass, t), 0.85f);
        }
        int cols = 6 + (int)(prng_next(p) % 8);
        for (int i = 1; i < cols; i++) {
            float xx = x + fw * i / cols;
            fill_rect(c, xx - 0.6f, y, xx + 0.6f, base, shade(wall, 0.8f), 0.9f);
        }
        float floor_h = fh / (float)(14 + prng_next(p) % 16);
        for (float yy = y + floor_h; yy < base; yy += floor_h)
            fill_rect(c, x, yy - 0.5f, x + fw, yy + 0.5f, shade(wall, 0.75f), 0.7f);
        fill_rect(c, x - 2, y - fh * 0.03f, x + fw + 2, y, shade(wall, 0.6f), 1);
    } else if (type == 1) {
        /* corrugated cladding, a ribbon of high windows, roller doors */
        for (float xx = x; xx < x + fw; xx += 4)
            fill_rect(c, xx, y, xx + 1.2f, base, shade(wall, 0.92f), 0.6f);
        fill_rect(c, x, y + fh * 0.18f, x + fw, y + fh * 0.34f, glass, 0.9f);
        fill_rect(c, x - 3, y - fh * 0.08f, x + fw + 3, y + fh * 0.02f, (rgbf){0.25f, 0.36f, 0.55f},
                  1);
        int doors = 2 + (int)(prng_next(p) % 3);
        for (int i = 0; i < doors; i++) {
            float cx = x + fw * (i + 0.5f) / doors, dw = fw * 0.09f;
            fill_rect(c, cx - dw, y + fh * 0.45f, cx + dw, base, (rgbf){0.55f, 0.57f, 0.6f}, 1);
            for (float yy = y + fh * 0.45f; yy < base; yy += 3)
                fill_rect(c, cx - dw, yy, cx + dw, yy + 0.8f, (rgbf){0.45f, 0.47f, 0.5f}, 0.8f);
        }
    } else {
        /* punched windows with a few open or dark panes, a canopy */
        int cols = 5 + (int)(prng_next(p) % 9), rows = 4 + (int)(prng_next(p) % 8);
        float cw = fw / cols, rh = (fh * 0.86f) / rows;
        float ww = cw * prng_range(p, 0.45f, 0.7f), wh = rh * prng_range(p, 0.45f, 0.65f);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                float wx = x + cw * (i + 0.5f) - ww / 2,
                      wy = y + fh * 0.06f + rh * r + (rh - wh) / 2;
                float k = prng_range(p, 0.8f, 1.15f);
                rgbf g = mix(sky, glass, 0.6f + 0.3f * (float)r / rows);
                fill_rect(c, wx - 1, wy - 1, wx + ww + 1, wy + wh + 1, shade(wall, 0.7f), 1);
                fill_rect(c, wx, wy, wx + ww, wy + wh, shade(g, k), 1);
            }
        }
        fill_rect(c, x - 2, y - fh * 0.025f, x + fw + 2, y, shade(wall, 0.7f), 1);
        float ex = x + fw * prng_range(p, 0.35f, 0.65f);
        fill_rect(c, ex - fw * 0.08f, base - fh * 0.1f, ex + fw * 0.08f, base,
                  (rgbf){0.22f, 0.26f, 0.3f}, 1);
        fill_rect(c, ex - fw * 0.11f, base - fh * 0.12f, ex + fw * 0.11f, base - fh * 0.1f,
                  shade(wall, 0.5f), 1);
    }
}

/* Draws the picture for seed: the two lowest bits of the seed pick the
 * building (0 an office tower, 1 a factory hall, 2 and 3 a mid-rise), the
 * rest the light, colours, proportions and window grid. */
static void paint(canvas *c, uint32_t seed)
{
    prng p = {((uint64_t)seed << 32) ^ 0x5A4D4150ull ^ seed};
    int type = (int)(seed & 3);
    if (type == 3) type = 2;
    float W = (float)c->w, H = (float)c->h;

    static const rgbf sky_top[] = {{0.22f, 0.42f, 0.78f}, {0.5f, 0.6f, 0.74f}, {0.3f, 0.42f, 0.7f}};
    static const rgbf sky_low[] = {
        {0.7f, 0.83f, 0.95f}, {0.84f, 0.86f, 0.87f}, {0.98f, 0.83f, 0.62f}};
    int light = (int)(prng_next(&p) % 3);
    rgbf top = sky_top[light], low = sky_low[light];
    float horizon = H * prng_range(&p, 0.66f, 0.74f);
    fill_vgrad(c, 0, (int)ceilf(horizon), top, low);

    int clouds = (int)(prng_next(&p) % 4);
    for (int i = 0; i < clouds; i++)
        draw_cloud(c, &p, prng_range(&p, 0, W), prng_range(&p, 0.08f, 0.35f) * H,
                   prng_range(&p, 0.03f, 0.07f) * W);
    if (light == 2)
        fill_circle(c, prng_range(&p, 0.1f, 0.9f) * W, horizon * 0.55f, H * 0.05f,
                    (rgbf){1, 0.95f, 0.8f}, 0.9f);

    /* hazy skyline far away */
    rgbf haze = mix(low, (rgbf){0.55f, 0.58f, 0.62f}, 0.35f);
    for (float x = -10; x < W;) {
        float bw = prng_range(&p, 0.04f, 0.12f) * W, bh = prng_range(&p, 0.05f, 0.22f) * H;
        fill_rect(c, x, horizon - bh, x + bw, horizon + 1, shade(haze, prng_range(&p, 0.9f, 1.05f)),
                  0.8f);
        x += bw + prng_range(&p, 0, 0.05f) * W;
    }

    /* ground: lawn strip, then paving with a kerb and lane marks */
    rgbf lawn = {0.36f, 0.55f, 0.27f}, pave = {0.6f, 0.6f, 0.58f};
    fill_vgrad(c, (int)horizon, (int)H, shade(pave, 1.05f), shade(pave, 0.8f));
    fill_rect(c, 0, horizon, W, horizon + H * 0.05f, lawn, 1);
    fill_rect(c, 0, horizon + H * 0.05f, W, horizon + H * 0.06f, (rgbf){0.8f, 0.8f, 0.78f}, 1);
    float lane = horizon + (H - horizon) * 0.6f;
    for (float x = prng_range(&p, 0, 40); x < W; x += 70)
        fill_rect(c, x, lane, x + 35, lane + 3, (rgbf){0.95f, 0.95f, 0.92f}, 0.9f);

    /* the building */
    float fw, fh;
    if (type == 0) {
        fw = W * prng_range(&p, 0.22f, 0.34f);
        fh = horizon - H * prng_range(&p, 0.04f, 0.14f);
    } else if (type == 1) {
        fw = W * prng_range(&p, 0.6f, 0.78f);
        fh = H * prng_range(&p, 0.2f, 0.3f);
    } else {
        fw = W * prng_range(&p, 0.42f, 0.62f);
        fh = H * prng_range(&p, 0.32f, 0.5f);
    }
    float bx = (W - fw) * prng_range(&p, 0.25f, 0.6f);
    fill_rect(c, bx + fw * 0.05f, horizon - 1, bx + fw * 1.15f, horizon + H * 0.02f,
              (rgbf){0.2f, 0.22f, 0.2f}, 0.25f); /* contact shadow */
    draw_building(c, &p, type, bx, horizon - fh, fw, fh, mix(top, low, 0.5f));

    int trees = 3 + (int)(prng_next(&p) % 6);
    for (int i = 0; i < trees; i++)
        draw_tree(c, &p, prng_range(&p, 0, W), horizon + H * prng_range(&p, 0.03f, 0.05f),
                  H * prng_range(&p, 0.07f, 0.12f));

    /* a gentle vignette */
    for (int y = 0; y < c->h; y++) {
        for (int x = 0; x < c->w; x++) {
            float dx = (x - W / 2) / W, dy = (y - H / 2) / H;
            float k = 1 - 0.35f * (dx * dx + dy * dy);
            float *q = c->px + ((size_t)y * c->w + x) * 3;
            q[0] *= k;
            q[1] *= k;
            q[2] *= k;
        }
    }
}

zs_status photo_make_demo(const char *path, int w, int h, uint32_t seed, zs_error *err)
{
    if (w < 16 || h < 16 || w > PHOTO_MAX_SIDE || h > PHOTO_MAX_SIDE)
        return zs_fail(err, ZS_EINVAL, "demo photo '%s': size %d x %d is not from 16 to %d pixels",
                       path, w, h, PHOTO_MAX_SIDE);
    canvas c = {w, h, calloc((size_t)w * h * 3, sizeof(float))};
    unsigned char *rgb = malloc((size_t)w * h * 3);
    if (!c.px || !rgb) {
        free(c.px);
        free(rgb);
        return zs_fail(err, ZS_ENOMEM, "out of memory drawing photo '%s'", path);
    }
    paint(&c, seed);
    /* a little grain, like a camera's, from a fixed sequence */
    prng grain = {seed ^ 0x6772616Eull};
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        float v = c.px[i] * 255.0f + ((float)(prng_next(&grain) & 255) - 127.5f) / 64.0f;
        rgb[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
    free(c.px);
    zs_status s = write_jpeg(path, rgb, w, h, PHOTO_DEMO_QUALITY, err);
    free(rgb);
    return s;
}
