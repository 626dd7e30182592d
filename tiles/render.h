/* Rendering: the snapshot's features drawn with a style into an image of any
 * extent, a tile being one case. Features are found with the snapshot's
 * spatial index over the extent plus a margin (line widths, labels, heat
 * kernels), clipped to the extent plus a buffer, drawn layer by layer with
 * draw.h, labelled with labels.h and text.h, heat with heat.h. */
#ifndef ZS_RENDER_H
#define ZS_RENDER_H

#include "draw.h"
#include "error.h"
#include "filter.h"
#include "sidx.h"
#include "snapshot.h"
#include "style.h"

typedef struct renderer renderer;

/* Told of each label drawn: its text and its box with padding, in global
 * pixels (the world at the render's resolution, y down). */
typedef void (*render_label_fn)(void *ctx, const char *text, double minx, double miny, double maxx,
                                double maxy);

typedef struct {
    sidx_box bbox;                /* EPSG:3857 metres, the image's extent */
    int width, height;            /* pixels */
    double pixel_ratio;           /* 1, or 2 for @2x: style sizes scale by it, the zoom does not */
    const carrier_filter *filter; /* carriers to draw; NULL: all */
    render_label_fn on_label;     /* may be NULL */
    void *on_label_ctx;
} render_request;

typedef struct {
    double query_us, draw_us, labels_us; /* time spent, microseconds */
    size_t features;                     /* features drawn */
    size_t labels;                       /* labels placed and drawn */
} render_stats;

/* Loads the fonts once; returns a new renderer shared by all threads, free
 * with renderer_destroy(). */
zs_status renderer_create(renderer **out, zs_error *err);
void renderer_destroy(renderer *r);

/* The zoom a request draws at: log2 of the world's width in 256 px tiles
 * at the request's resolution (per pixel_ratio-scaled pixel). */
double render_zoom(const render_request *req);

/* How far, in pixels at pixel ratio 1, a feature of st may lie beyond an
 * image drawn at zoom and still change it: the widest line or circle, two
 * label sizes when st has labels, the heat kernel's radius. A change to the
 * data outside an image's extent plus this reach leaves the image as it was. */
double render_reach_px(const style *st, double zoom);

/* Draws the request into d (of req->width x req->height, cleared first).
 * stats may be NULL. Thread-safe for different surfaces. */
zs_status render_image(renderer *r, const snapshot *snap, const style *st,
                       const render_request *req, draw *d, render_stats *stats, zs_error *err);

#endif
