/* Clipping a segment to a box (Liang-Barsky): the renderer cuts lines to the
 * image, the point query asks whether a line touches the click's box. */
#ifndef ZS_CLIP_H
#define ZS_CLIP_H

#include "sidx.h"

#include <stdbool.h>

/* Clips the segment a-b to box (inclusive edges) in place; false, with the
 * points unchanged, when it lies wholly outside. Any units, as long as the
 * points and the box share them. */
bool clip_segment(double *ax, double *ay, double *bx, double *by, sidx_box box);

#endif
