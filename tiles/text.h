/* Text for labels: shaping with Pango/HarfBuzz (Chinese with Noto Sans CJK,
 * Latin too), measuring, and drawing with a cheap halo (the glyphs drawn at
 * eight offsets in the halo colour, then once in the text colour: stroking
 * glyph outlines costs more than a whole map). Fonts are loaded once by
 * text_engine_create(). */
#ifndef ZS_TEXT_H
#define ZS_TEXT_H

#include "draw.h"
#include "error.h"

typedef struct text_engine text_engine;
typedef struct text_layout text_layout;

/* Loads the font map and warms it up with a CJK string (the first label in a
 * process costs milliseconds). One engine serves all threads. */
zs_status text_engine_create(text_engine **out, zs_error *err);
void text_engine_destroy(text_engine *te);

/* Shapes utf8 in family (NULL: "Noto Sans CJK SC") at size_px pixels,
 * wrapping at max_width_px (0: never). Returns a new layout, free with
 * text_layout_destroy(); NULL when the text is empty or not UTF-8. Thread-safe. */
text_layout *text_shape(text_engine *te, const char *utf8, const char *family, double size_px,
                        double max_width_px);
void text_layout_destroy(text_layout *tl);

/* The ink box size in pixels. */
void text_layout_size(const text_layout *tl, double *width, double *height);

/* Draws the layout centred on (cx, cy) pixels, rotated by angle radians
 * (clockwise, 0 = horizontal), with a halo of halo_width pixels (0: none). */
void text_draw(draw *d, const text_layout *tl, double cx, double cy, double angle,
               style_color color, style_color halo, double halo_width, double opacity);

#endif
