#include "tilepng.h"

#include <png.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest encoded PNG; a bigger one is ZS_ENOMEM. A 256 px map tile is 20-50 KB. */
#define TILEPNG_MAX_BYTES ((size_t)64 << 20)
/* Largest width or height accepted by encode and decode, in pixels. */
#define TILEPNG_MAX_SIDE 65535
/* Largest decoded image (RGBA bytes); larger is refused, not attempted. */
#define TILEPNG_MAX_DECODED ((size_t)256 << 20)
/* Room for libpng's error message. */
#define TILEPNG_MSG 256

/* ---- exact colour counting -------------------------------------------------
 * An open-addressing set of premultiplied ARGB values, 4x as many slots as the
 * 256 colours it may hold, so probes stay short. */

#define PAL_SLOTS 1024
#define PAL_MAX 256

typedef struct {
    uint32_t key[PAL_SLOTS];
    int16_t idx[PAL_SLOTS]; /* -1: empty slot, else index into colour[] */
    uint32_t colour[PAL_MAX];
    int n;
} palette_set;

static unsigned pal_hash(uint32_t c)
{
    return (c * 2654435761u) >> 22; /* Fibonacci hashing onto 10 bits */
}

static void pal_init(palette_set *p)
{
    memset(p->idx, 0xff, sizeof p->idx);
    p->n = 0;
}

/* Index of colour c, or -1 when absent. */
static int pal_find(const palette_set *p, uint32_t c)
{
    for (unsigned h = pal_hash(c);; h = (h + 1) & (PAL_SLOTS - 1)) {
        if (p->idx[h] < 0) return -1;
        if (p->key[h] == c) return p->idx[h];
    }
}

/* Adds colour c if new; false when it would be colour PAL_MAX + 1. */
static bool pal_add(palette_set *p, uint32_t c)
{
    unsigned h = pal_hash(c);
    for (; p->idx[h] >= 0; h = (h + 1) & (PAL_SLOTS - 1))
        if (p->key[h] == c) return true;
    if (p->n == PAL_MAX) return false;
    p->key[h] = c;
    p->idx[h] = (int16_t)p->n;
    p->colour[p->n++] = c;
    return true;
}

static const uint32_t *row_at(const uint32_t *argb, int stride, int y)
{
    return (const uint32_t *)(const void *)((const unsigned char *)argb + (size_t)y * stride);
}

/* Scans the image once: *fits when it has at most 256 colours (collected in
 * pal; counting stops at the 257th), *opaque when every alpha is 255. Runs of
 * 16 pixels equal to the last colour seen skip the hash (and the alpha test:
 * every colour is tested when first seen) in a loop the compiler vectorises;
 * map tiles are mostly flat fills. */
static void analyse(const uint32_t *argb, int width, int height, int stride, bool try_palette,
                    palette_set *pal, bool *fits, bool *opaque)
{
    uint32_t all = argb[0]; /* AND of every colour seen: top byte 255 when all are opaque */
    bool ok = try_palette && pal_add(pal, argb[0]);
    uint32_t last = argb[0];
    for (int y = 0; y < height; y++) {
        const uint32_t *row = row_at(argb, stride, y);
        int x = 0;
        while (ok && x < width) {
            if (x + 16 <= width) {
                uint32_t diff = 0; /* a run of last, whose alpha is already in all */
                for (int k = 0; k < 16; k++)
                    diff |= row[x + k] ^ last;
                if (!diff) {
                    x += 16;
                    continue;
                }
            }
            /* Not a run: the next 16 (or fewer) pixels one by one. */
            for (int end = x + 16 < width ? x + 16 : width; ok && x < end; x++) {
                uint32_t c = row[x];
                all &= c;
                if (c != last) {
                    last = c;
                    ok = pal_add(pal, c);
                }
            }
        }
        for (; x < width; x++)
            all &= row[x];
    }
    *fits = ok;
    *opaque = (all >> 24) == 0xff;
}

/* Straight (un-premultiplied) R, G, B, A of a premultiplied pixel, rounded to
 * nearest; colour above alpha (invalid input) is clamped. */
static void unpremultiply(uint32_t c, unsigned char out[4])
{
    unsigned a = c >> 24;
    if (a == 255) {
        out[0] = (unsigned char)(c >> 16), out[1] = (unsigned char)(c >> 8);
        out[2] = (unsigned char)c, out[3] = 255;
        return;
    }
    if (a == 0) {
        memset(out, 0, 4);
        return;
    }
    for (int i = 0; i < 3; i++) {
        unsigned v = (c >> (16 - 8 * i)) & 0xff;
        v = (v * 255 + a / 2) / a;
        out[i] = (unsigned char)(v > 255 ? 255 : v);
    }
    out[3] = (unsigned char)a;
}

/* ---- encoding ------------------------------------------------------------- */

typedef enum { MODE_PALETTE, MODE_RGB, MODE_RGBA } png_mode;

/* One encode: the image, the decisions about it and the growing output. Lives
 * in tilepng_encode_tuned's frame, so longjmp leaves it intact. */
typedef struct {
    const uint32_t *argb;
    int width, height, stride;
    png_mode mode;
    int bit_depth;
    const palette_set *pal;
    int level, filter_flags, strategy;
    unsigned char *row; /* one output row */
    unsigned char *out;
    size_t len, cap;
    bool over_cap;
    char msg[TILEPNG_MSG]; /* libpng's last error */
} encode_job;

static void on_error(png_structp png, png_const_charp msg)
{
    char *dst = png_get_error_ptr(png);
    if (dst) snprintf(dst, TILEPNG_MSG, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg; /* benign for our purposes; errors carry the detail */
}

static void on_write(png_structp png, png_bytep data, size_t n)
{
    encode_job *job = png_get_io_ptr(png);
    if (n > TILEPNG_MAX_BYTES - job->len) {
        job->over_cap = true;
        png_error(png, "PNG larger than the size cap");
    }
    if (job->len + n > job->cap) {
        size_t cap = job->cap ? job->cap : 4096;
        while (cap < job->len + n)
            cap *= 2;
        if (cap > TILEPNG_MAX_BYTES) cap = TILEPNG_MAX_BYTES;
        unsigned char *p = realloc(job->out, cap);
        if (!p) png_error(png, "out of memory");
        job->out = p, job->cap = cap;
    }
    memcpy(job->out + job->len, data, n);
    job->len += n;
}

static void on_flush(png_structp png)
{
    (void)png;
}

/* Fills job->row with image row y in the output format. */
static void convert_row(const encode_job *job, int y)
{
    const uint32_t *src = row_at(job->argb, job->stride, y);
    unsigned char *dst = job->row;
    int w = job->width;
    switch (job->mode) {
    case MODE_RGB:
        for (int x = 0; x < w; x++, dst += 3) {
            uint32_t c = src[x];
            dst[0] = (unsigned char)(c >> 16), dst[1] = (unsigned char)(c >> 8);
            dst[2] = (unsigned char)c;
        }
        break;
    case MODE_RGBA:
        for (int x = 0; x < w; x++, dst += 4)
            unpremultiply(src[x], dst);
        break;
    case MODE_PALETTE: {
        /* Indices packed leftmost pixel in the high bits, without a division
         * per pixel (that cost more than the deflate of a uniform tile). */
        int bits = job->bit_depth, shift = 8;
        uint32_t last = src[0];
        unsigned idx = (unsigned)pal_find(job->pal, last), acc = 0;
        for (int x = 0; x < w; x++) {
            if (src[x] != last) last = src[x], idx = (unsigned)pal_find(job->pal, last);
            shift -= bits;
            acc |= idx << shift;
            if (shift == 0) *dst++ = (unsigned char)acc, acc = 0, shift = 8;
        }
        if (shift != 8) *dst = (unsigned char)acc;
        break;
    }
    }
}

/* Writes header, palette and rows. Called only under write_png's setjmp. */
static void write_image(png_structp png, png_infop info, encode_job *job)
{
    static const int colour_type[] = {
        [MODE_PALETTE] = PNG_COLOR_TYPE_PALETTE,
        [MODE_RGB] = PNG_COLOR_TYPE_RGB,
        [MODE_RGBA] = PNG_COLOR_TYPE_RGB_ALPHA,
    };
    png_set_write_fn(png, job, on_write, on_flush);
    png_set_compression_level(png, job->level);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, job->filter_flags);
    if (job->strategy >= 0) png_set_compression_strategy(png, job->strategy);
    png_set_IHDR(png, info, (png_uint_32)job->width, (png_uint_32)job->height, job->bit_depth,
                 colour_type[job->mode], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE,
                 PNG_FILTER_TYPE_BASE);
    if (job->mode == MODE_PALETTE) {
        png_color plte[PAL_MAX];
        png_byte trns[PAL_MAX];
        int ntrns = 0;
        for (int i = 0; i < job->pal->n; i++) {
            unsigned char px[4];
            unpremultiply(job->pal->colour[i], px);
            plte[i] = (png_color){px[0], px[1], px[2]};
            trns[i] = px[3];
            if (px[3] < 255) ntrns = i + 1; /* translucent entries come first */
        }
        png_set_PLTE(png, info, plte, job->pal->n);
        if (ntrns) png_set_tRNS(png, info, trns, ntrns, NULL);
    }
    png_write_info(png, info);
    for (int y = 0; y < job->height; y++) {
        convert_row(job, y);
        png_write_row(png, job->row);
    }
    png_write_end(png, info);
}

/* Runs libpng over job; the one place that holds a setjmp for writing. */
static zs_status write_png(encode_job *job, zs_error *err)
{
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, job->msg, on_error, on_warning);
    if (!png) return zs_fail(err, ZS_ENOMEM, "out of memory starting the PNG encoder");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return zs_fail(err, ZS_ENOMEM, "out of memory starting the PNG encoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        if (job->over_cap)
            return zs_fail(err, ZS_ENOMEM, "PNG of %dx%d px exceeds the %zu MiB cap", job->width,
                           job->height, TILEPNG_MAX_BYTES >> 20);
        return zs_fail(err, ZS_ENOMEM, "PNG encoding failed: %s", job->msg);
    }
    write_image(png, info, job);
    png_destroy_write_struct(&png, &info);
    return ZS_OK;
}

/* Palette entries reordered so the translucent ones come first (tRNS then
 * stops at the last of them), with the hash indices remapped to match. */
static void order_palette(palette_set *p)
{
    uint32_t sorted[PAL_MAX];
    int16_t newidx[PAL_MAX];
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n; i++)
            if (((p->colour[i] >> 24) == 0xff) == (pass == 1)) {
                newidx[i] = (int16_t)k;
                sorted[k++] = p->colour[i];
            }
    memcpy(p->colour, sorted, (size_t)p->n * sizeof sorted[0]);
    for (int h = 0; h < PAL_SLOTS; h++)
        if (p->idx[h] >= 0) p->idx[h] = newidx[p->idx[h]];
}

zs_status tilepng_encode_tuned(const uint32_t *argb, int width, int height, int stride,
                               tilepng_options opt, int filter, int strategy, unsigned char **png,
                               size_t *len, zs_error *err)
{
    static const int filter_flags[] = {
        [TILEPNG_FILTER_NONE] = PNG_FILTER_NONE,   [TILEPNG_FILTER_SUB] = PNG_FILTER_SUB,
        [TILEPNG_FILTER_UP] = PNG_FILTER_UP,       [TILEPNG_FILTER_AVG] = PNG_FILTER_AVG,
        [TILEPNG_FILTER_PAETH] = PNG_FILTER_PAETH, [TILEPNG_FILTER_ALL] = PNG_ALL_FILTERS,
    };
    *png = NULL;
    *len = 0;
    if (!argb || width < 1 || height < 1 || width > TILEPNG_MAX_SIDE || height > TILEPNG_MAX_SIDE)
        return zs_fail(err, ZS_EINVAL, "cannot encode a %dx%d px image (1 to %d px a side)", width,
                       height, TILEPNG_MAX_SIDE);
    if (stride < width * 4 || stride % 4 != 0)
        return zs_fail(err, ZS_EINVAL, "stride %d is not a multiple of 4 of at least %d bytes",
                       stride, width * 4);
    if (opt.zlib_level < 0 || opt.zlib_level > 9)
        return zs_fail(err, ZS_EINVAL, "zlib level %d is not between 0 and 9", opt.zlib_level);
    if (filter < TILEPNG_FILTER_NONE || filter > TILEPNG_FILTER_ALL || strategy < -1 ||
        strategy > 4)
        return zs_fail(err, ZS_EINVAL, "unknown PNG filter %d or zlib strategy %d", filter,
                       strategy);

    palette_set pal;
    pal_init(&pal);
    bool fits, opaque;
    analyse(argb, width, height, stride, opt.allow_palette != 0, &pal, &fits, &opaque);

    encode_job job = {
        .argb = argb,
        .width = width,
        .height = height,
        .stride = stride,
        .mode = fits     ? MODE_PALETTE
                : opaque ? MODE_RGB
                         : MODE_RGBA,
        .bit_depth = 8,
        .pal = &pal,
        .level = opt.zlib_level,
        .filter_flags = filter_flags[filter],
        .strategy = strategy,
    };
    if (fits) {
        order_palette(&pal);
        job.bit_depth = pal.n <= 2 ? 1 : pal.n <= 4 ? 2 : pal.n <= 16 ? 4 : 8;
    }
    job.row = malloc((size_t)width * 4);
    if (!job.row) return zs_fail(err, ZS_ENOMEM, "out of memory encoding a PNG");
    zs_status s = write_png(&job, err);
    free(job.row);
    if (s) {
        free(job.out);
        return s;
    }
    /* Give back the slack: cached tiles live long. */
    if (job.cap - job.len > 4096) {
        unsigned char *p = realloc(job.out, job.len);
        if (p) job.out = p;
    }
    *png = job.out;
    *len = job.len;
    return ZS_OK;
}

zs_status tilepng_encode(const uint32_t *argb, int width, int height, int stride,
                         tilepng_options opt, unsigned char **png, size_t *len, zs_error *err)
{
    return tilepng_encode_tuned(argb, width, height, stride, opt, TILEPNG_FILTER_NONE, -1, png, len,
                                err);
}

/* ---- decoding ------------------------------------------------------------- */

typedef struct {
    const unsigned char *data;
    size_t len, pos;
    unsigned char *rgba; /* the result, owned here until handed over */
    png_bytep *rows;
    int width, height;
    bool too_big;
    char msg[TILEPNG_MSG];
} decode_job;

static void on_read(png_structp png, png_bytep data, size_t n)
{
    decode_job *job = png_get_io_ptr(png);
    if (n > job->len - job->pos) png_error(png, "truncated data");
    memcpy(data, job->data + job->pos, n);
    job->pos += n;
}

/* Reads the whole image as 8-bit RGBA. Called only under read_png's setjmp. */
static void read_image(png_structp png, png_infop info, decode_job *job)
{
    png_set_read_fn(png, job, on_read);
    png_set_user_limits(png, TILEPNG_MAX_SIDE, TILEPNG_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, type, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &type, &interlace, NULL, NULL);
    png_set_expand(png); /* palette to RGB, gray to 8 bits, tRNS to alpha */
    if (depth == 16) png_set_scale_16(png);
    if (!(type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    if (!(type & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) png_error(png, "unexpected row size");
    if (w > TILEPNG_MAX_DECODED / 4 / h) {
        job->too_big = true;
        png_error(png, "image too large");
    }
    job->width = (int)w, job->height = (int)h;
    job->rgba = malloc((size_t)w * h * 4);
    job->rows = malloc((size_t)h * sizeof *job->rows);
    if (!job->rgba || !job->rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        job->rows[y] = job->rgba + (size_t)y * w * 4;
    png_read_image(png, job->rows);
    png_read_end(png, NULL);
}

/* Runs libpng over job; the one place that holds a setjmp for reading. */
static zs_status read_png(decode_job *job, zs_error *err)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job->msg, on_error, on_warning);
    if (!png) return zs_fail(err, ZS_ENOMEM, "out of memory starting the PNG decoder");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return zs_fail(err, ZS_ENOMEM, "out of memory starting the PNG decoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        if (job->too_big)
            return zs_fail(err, ZS_EINVAL, "PNG too large to decode (over %zu MiB of pixels)",
                           TILEPNG_MAX_DECODED >> 20);
        return zs_fail(err, ZS_EINVAL, "corrupt PNG: %s", job->msg);
    }
    read_image(png, info, job);
    png_destroy_read_struct(&png, &info, NULL);
    return ZS_OK;
}

zs_status tilepng_decode(const unsigned char *png, size_t len, unsigned char **rgba, int *width,
                         int *height, zs_error *err)
{
    *rgba = NULL;
    *width = *height = 0;
    if (!png || len < 8 || png_sig_cmp(png, 0, 8) != 0)
        return zs_fail(err, ZS_EINVAL, "not a PNG (bad signature)");
    decode_job job = {.data = png, .len = len};
    zs_status s = read_png(&job, err);
    free(job.rows);
    if (s) {
        free(job.rgba);
        return s;
    }
    *rgba = job.rgba;
    *width = job.width;
    *height = job.height;
    return ZS_OK;
}
