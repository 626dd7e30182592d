/* Cairo behind draw.h. The context keeps the identity CTM, the even-odd fill
 * rule, default antialiasing and tolerance 0.1 for its whole life. (Measured
 * on a 256 px scene: ANTIALIAS_FAST is 1.3x faster for fills and 1.7-2.4x
 * for strokes but up to 105 levels off on edge pixels; GOOD and BEST cost
 * the same as DEFAULT; tolerance 0.25 gains under 5 %.) Bad
 * arguments (non-finite numbers, negative dashes) are ignored here rather
 * than passed on, because one bad call would leave the cairo_t in an error
 * state that silently drops every later drawing call. Coordinates must stay
 * within Cairo's 24.8 fixed point (about +-8e6 px): the renderer clips
 * geometry to the extent plus a buffer first. */
#include "draw.h"
#include "draw_cairo.h"

#include <math.h>
#include <stdlib.h>

/* Cairo's own limit on image surfaces. */
#define DRAW_MAX_SIDE 32767

struct draw {
    cairo_surface_t *surface;
    cairo_t *cr;
    int width, height; /* pixels */
};

draw *draw_create(int width, int height)
{
    if (width <= 0 || height <= 0 || width > DRAW_MAX_SIDE || height > DRAW_MAX_SIDE) return NULL;
    draw *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->width = width;
    d->height = height;
    d->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    if (cairo_surface_status(d->surface) != CAIRO_STATUS_SUCCESS) goto fail;
    d->cr = cairo_create(d->surface);
    if (cairo_status(d->cr) != CAIRO_STATUS_SUCCESS) goto fail;
    cairo_set_fill_rule(d->cr, CAIRO_FILL_RULE_EVEN_ODD);
    cairo_set_antialias(d->cr, CAIRO_ANTIALIAS_DEFAULT);
    cairo_set_tolerance(d->cr, 0.1);
    return d;
fail:
    draw_destroy(d);
    return NULL;
}

void draw_destroy(draw *d)
{
    if (!d) return;
    if (d->cr) cairo_destroy(d->cr);
    if (d->surface) cairo_surface_destroy(d->surface);
    free(d);
}

int draw_width(const draw *d)
{
    return d->width;
}

int draw_height(const draw *d)
{
    return d->height;
}

cairo_t *draw_cairo(draw *d)
{
    return d->cr;
}

/* 0..1; NaN counts as 0 so that nothing is drawn. */
static double unit(double v)
{
    return v > 0 ? (v < 1 ? v : 1) : 0;
}

/* Sets the source colour; false when the result would be invisible. */
static bool set_color(draw *d, style_color c, double opacity)
{
    double a = unit(c.a) * unit(opacity);
    if (a <= 0) return false;
    cairo_set_source_rgba(d->cr, unit(c.r), unit(c.g), unit(c.b), a);
    return true;
}

void draw_clear(draw *d)
{
    cairo_new_path(d->cr);
    cairo_save(d->cr);
    cairo_set_operator(d->cr, CAIRO_OPERATOR_CLEAR);
    cairo_paint(d->cr);
    cairo_restore(d->cr);
}

void draw_paint(draw *d, style_color c, double opacity)
{
    if (set_color(d, c, opacity)) cairo_paint(d->cr);
}

void draw_move_to(draw *d, double x, double y)
{
    if (isfinite(x) && isfinite(y)) cairo_move_to(d->cr, x, y);
}

void draw_line_to(draw *d, double x, double y)
{
    if (isfinite(x) && isfinite(y)) cairo_line_to(d->cr, x, y);
}

void draw_close(draw *d)
{
    cairo_close_path(d->cr);
}

void draw_circle_path(draw *d, double x, double y, double radius)
{
    if (!isfinite(x) || !isfinite(y) || !isfinite(radius) || radius <= 0) return;
    /* A circle is a ring of its own, not joined to the previous point. */
    cairo_new_sub_path(d->cr);
    cairo_arc(d->cr, x, y, radius, 0, 2 * M_PI);
    cairo_close_path(d->cr);
}

void draw_fill(draw *d, style_color c, double opacity, bool keep)
{
    if (!set_color(d, c, opacity)) {
        if (!keep) cairo_new_path(d->cr);
        return;
    }
    if (keep)
        cairo_fill_preserve(d->cr);
    else
        cairo_fill(d->cr);
}

static cairo_line_cap_t cap_of(draw_cap cap)
{
    switch (cap) {
    case DRAW_CAP_ROUND:
        return CAIRO_LINE_CAP_ROUND;
    case DRAW_CAP_SQUARE:
        return CAIRO_LINE_CAP_SQUARE;
    case DRAW_CAP_BUTT:
        break;
    }
    return CAIRO_LINE_CAP_BUTT;
}

static cairo_line_join_t join_of(draw_join join)
{
    switch (join) {
    case DRAW_JOIN_ROUND:
        return CAIRO_LINE_JOIN_ROUND;
    case DRAW_JOIN_BEVEL:
        return CAIRO_LINE_JOIN_BEVEL;
    case DRAW_JOIN_MITER:
        break;
    }
    return CAIRO_LINE_JOIN_MITER;
}

/* Cairo refuses (and errors the context on) negative, non-finite or
 * all-zero dash lengths: such a pattern means a solid line here. */
static bool dashes_ok(const double *dashes, size_t n)
{
    if (!dashes || n == 0 || n > 64) return false;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(dashes[i]) || dashes[i] < 0) return false;
        sum += dashes[i];
    }
    return sum > 0;
}

void draw_stroke(draw *d, style_color c, double opacity, double width, draw_cap cap, draw_join join,
                 const double *dashes, size_t ndashes)
{
    draw_stroke_from(d, c, opacity, width, cap, join, dashes, ndashes, 0);
}

void draw_stroke_from(draw *d, style_color c, double opacity, double width, draw_cap cap,
                      draw_join join, const double *dashes, size_t ndashes, double dash_offset)
{
    if (!isfinite(width) || width <= 0 || !set_color(d, c, opacity)) {
        cairo_new_path(d->cr);
        return;
    }
    cairo_set_line_width(d->cr, width);
    cairo_set_line_cap(d->cr, cap_of(cap));
    cairo_set_line_join(d->cr, join_of(join));
    if (dashes_ok(dashes, ndashes))
        cairo_set_dash(d->cr, dashes, (int)ndashes, isfinite(dash_offset) ? dash_offset : 0);
    else
        cairo_set_dash(d->cr, NULL, 0, 0);
    cairo_stroke(d->cr);
}

void draw_new_path(draw *d)
{
    cairo_new_path(d->cr);
}

void draw_image(draw *d, const uint32_t *argb, int stride, double opacity)
{
    double a = unit(opacity);
    if (!argb || a <= 0 || stride < cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, d->width) ||
        stride % 4 != 0)
        return;
    /* Cairo only reads the pixels: the cast drops const for its API. */
    cairo_surface_t *img = cairo_image_surface_create_for_data(
        (unsigned char *)(uintptr_t)argb, CAIRO_FORMAT_ARGB32, d->width, d->height, stride);
    if (cairo_surface_status(img) == CAIRO_STATUS_SUCCESS) {
        cairo_set_source_surface(d->cr, img, 0, 0);
        cairo_paint_with_alpha(d->cr, a);
        /* The pattern would keep a reference to the caller's pixels. */
        cairo_set_source_rgba(d->cr, 0, 0, 0, 1);
    }
    cairo_surface_destroy(img);
}

const uint32_t *draw_pixels(draw *d, int *stride)
{
    cairo_surface_flush(d->surface);
    if (stride) *stride = cairo_image_surface_get_stride(d->surface);
    /* Cairo's ARGB32 rows are 4-byte aligned. */
    return (const uint32_t *)(const void *)cairo_image_surface_get_data(d->surface);
}
