/* The heat map: kernel density of weighted points, coloured with a ramp.
 * Seamless by construction: points are binned to the global pixel grid, the
 * caller passes every point within the kernel radius beyond the image edge,
 * the Gaussian kernel is applied separably, and density is scaled by the
 * style's per-zoom intensity, never by the image's own maximum. */
#ifndef ZS_HEAT_H
#define ZS_HEAT_H

#include "error.h"
#include "style.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double x, y;   /* EPSG:3857 metres */
    double weight; /* >= 0; the style's heatmap-weight of the feature */
} heat_point;

typedef struct {
    double minx, maxy;       /* EPSG:3857 metres: the image's top-left corner */
    double resolution;       /* metres per pixel */
    int width, height;       /* pixels */
    double radius_px;        /* kernel radius, pixels (the density is ~0 beyond it) */
    double intensity;        /* density multiplier */
    double opacity;          /* 0..1 */
    double zoom;             /* for the colour expression */
    const style_expr *color; /* heatmap-color, of heatmap-density; NULL: the default ramp */
} heat_params;

/* Renders the points' heat into out (premultiplied ARGB32, width x height,
 * stride width*4), overwriting it. */
zs_status heat_render(const heat_point *pts, size_t n, const heat_params *p, uint32_t *out,
                      zs_error *err);

#endif
