/* For text.c only: the Cairo context behind a draw surface, so that Cairo
 * stays inside the drawing module (draw.c and text.c). */
#ifndef ZS_DRAW_CAIRO_H
#define ZS_DRAW_CAIRO_H

#include "draw.h"

#include <cairo.h>

/* Borrowed; its CTM is the identity and its path is the caller's current
 * path: whoever changes the state restores it (cairo_save/cairo_restore). */
cairo_t *draw_cairo(draw *d);

#endif
