/* The drawing surface: anti-aliased fills, strokes and circles with Cairo,
 * in pixel coordinates (x right, y down), on a premultiplied ARGB32 image.
 * draw.c and text.c are the modules that include Cairo (text.c also Pango). */
#ifndef ZS_DRAW_H
#define ZS_DRAW_H

#include "style.h"

#include <stddef.h>
#include <stdint.h>

typedef struct draw draw;

typedef enum { DRAW_CAP_BUTT, DRAW_CAP_ROUND, DRAW_CAP_SQUARE } draw_cap;
typedef enum { DRAW_JOIN_MITER, DRAW_JOIN_ROUND, DRAW_JOIN_BEVEL } draw_join;

/* A new transparent width x height surface, free with draw_destroy(); NULL
 * when out of memory. One per thread. */
draw *draw_create(int width, int height);
void draw_destroy(draw *d);

int draw_width(const draw *d);
int draw_height(const draw *d);

/* Makes the whole surface transparent. */
void draw_clear(draw *d);

/* Fills the whole surface (source over what is there). */
void draw_paint(draw *d, style_color c, double opacity);

/* Path building, in pixels. A path may hold several rings or lines. */
void draw_move_to(draw *d, double x, double y);
void draw_line_to(draw *d, double x, double y);
void draw_close(draw *d);
void draw_circle_path(draw *d, double x, double y, double radius);

/* Fills the current path with the even-odd rule (holes stay open); the
 * path is kept for a following stroke when keep is true. */
void draw_fill(draw *d, style_color c, double opacity, bool keep);

/* Strokes the current path and clears it. dashes (in pixels, n may be 0). */
void draw_stroke(draw *d, style_color c, double opacity, double width, draw_cap cap, draw_join join,
                 const double *dashes, size_t ndashes);

/* The same with the dash pattern started dash_offset pixels in: a line cut
 * into pieces keeps its dashes where the whole line has them. */
void draw_stroke_from(draw *d, style_color c, double opacity, double width, draw_cap cap,
                      draw_join join, const double *dashes, size_t ndashes, double dash_offset);

/* Clears the current path without drawing. */
void draw_new_path(draw *d);

/* Composites a premultiplied ARGB32 image of the surface's size (stride in
 * bytes) over the surface with opacity. */
void draw_image(draw *d, const uint32_t *argb, int stride, double opacity);

/* The pixels: premultiplied ARGB32, native endian, stride in bytes;
 * borrowed, valid until the next drawing call. */
const uint32_t *draw_pixels(draw *d, int *stride);

#endif
