#include "render.h"

#include "clip.h"
#include "heat.h"
#include "labels.h"
#include "mercator.h"
#include "text.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Margins beyond the image, in pixels: geometry is clipped this far out so
 * that strokes and anti-aliasing run on across tile edges; labels are
 * gathered from further out so that every tile decides placement from the
 * same candidates (labels.h). A label larger than LABEL_MAX_PX is dropped. */
#define FEATURE_MARGIN_PX 64.0 /* wider than any line or circle a style draws */
#define CLIP_MARGIN_PX 512.0
/* Geometry reaching further than CLIP_FAR_PX beyond the image (the district
 * boundary, a river, a long road at high zoom) is clipped to the image plus
 * CLIP_MARGIN_PX before Cairo sees it, so that a tile does not pay for
 * drawing a whole district. Closer geometry is passed whole: a clip point
 * bends an edge by a fraction of a 1/256 pixel, which far out is invisible
 * but near the image would show as a seam. */
#define CLIP_FAR_PX 1024.0
#define LABEL_MAX_PX 256.0
#define LABEL_REACH_PX (2.0 * LABEL_MAX_PX)
#define MAX_DASHES 8

/* Shaped labels, kept for the renderer's life: neighbouring tiles shape the
 * same labels again and again (every tile gathers candidates well beyond its
 * edges), and a lookup costs far less than shaping. Layouts are immutable
 * and drawable from any thread. Bounded: past LABEL_CACHE_MAX entries, new
 * texts are shaped per render and freed after it. */
#define LABEL_CACHE_BITS 15
#define LABEL_CACHE_MAX (1u << (LABEL_CACHE_BITS - 1))

typedef struct {
    uint64_t hash;
    char *key; /* text, NUL, family, NUL */
    double size, max_width;
    text_layout *layout;
} cached_label;

struct renderer {
    text_engine *text;
    pthread_mutex_t lock; /* guards the cache */
    cached_label *cache;  /* open addressing, 1 << LABEL_CACHE_BITS slots */
    size_t cached;
};

zs_status renderer_create(renderer **out, zs_error *err)
{
    *out = NULL;
    renderer *r = calloc(1, sizeof *r);
    if (r) r->cache = calloc((size_t)1 << LABEL_CACHE_BITS, sizeof *r->cache);
    if (!r || !r->cache) {
        free(r);
        return zs_fail(err, ZS_ENOMEM, "out of memory");
    }
    if (text_engine_create(&r->text, err)) {
        free(r->cache);
        free(r);
        return err->status;
    }
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return ZS_OK;
}

void renderer_destroy(renderer *r)
{
    if (!r) return;
    for (size_t i = 0; i < (size_t)1 << LABEL_CACHE_BITS; i++) {
        free(r->cache[i].key);
        text_layout_destroy(r->cache[i].layout);
    }
    free(r->cache);
    pthread_mutex_destroy(&r->lock);
    text_engine_destroy(r->text);
    free(r);
}

static uint64_t label_key_hash(const char *text, const char *family, double size, double width)
{
    uint64_t h = labels_hash(text) ^ (labels_hash(family) * 31);
    uint64_t bits[2];
    memcpy(&bits[0], &size, sizeof size);
    memcpy(&bits[1], &width, sizeof width);
    return (h ^ bits[0] * 0x9e3779b97f4a7c15ull) ^ (bits[1] * 0xc2b2ae3d27d4eb4full);
}

static bool label_key_equal(const cached_label *c, uint64_t hash, const char *text,
                            const char *family, double size, double width)
{
    return c->hash == hash && c->size == size && c->max_width == width &&
           strcmp(c->key, text) == 0 && strcmp(c->key + strlen(c->key) + 1, family) == 0;
}

/* A shaped label. *owned tells the caller to destroy it after the render
 * (the cache was full); otherwise the cache keeps it. NULL: nothing to draw. */
static text_layout *shape_label(renderer *r, const char *text, const char *family, double size,
                                double width, bool *owned)
{
    const char *fam = family ? family : "";
    uint64_t hash = label_key_hash(text, fam, size, width);
    size_t mask = ((size_t)1 << LABEL_CACHE_BITS) - 1, slot = hash & mask;
    *owned = false;
    pthread_mutex_lock(&r->lock);
    for (cached_label *c = &r->cache[slot]; c->key; c = &r->cache[slot = (slot + 1) & mask]) {
        if (label_key_equal(c, hash, text, fam, size, width)) {
            text_layout *tl = c->layout;
            pthread_mutex_unlock(&r->lock);
            return tl;
        }
    }
    pthread_mutex_unlock(&r->lock);

    text_layout *tl = text_shape(r->text, text, family, size, width);
    size_t tn = strlen(text), fn = strlen(fam);
    char *key = malloc(tn + fn + 2);
    if (key) {
        memcpy(key, text, tn + 1);
        memcpy(key + tn + 1, fam, fn + 1);
    }
    pthread_mutex_lock(&r->lock);
    slot = hash & mask;
    cached_label *c = &r->cache[slot];
    for (; c->key; c = &r->cache[slot = (slot + 1) & mask]) {
        if (label_key_equal(c, hash, text, fam, size, width)) break; /* shaped meanwhile */
    }
    if (c->key || !key || r->cached >= LABEL_CACHE_MAX) {
        pthread_mutex_unlock(&r->lock);
        free(key);
        *owned = tl != NULL;
        return tl;
    }
    *c = (cached_label){hash, key, size, width, tl}; /* a NULL layout is cached too */
    r->cached++;
    pthread_mutex_unlock(&r->lock);
    return tl;
}

/* Metres per pixel. An extent at a whole zoom (every tile, and any bbox
 * drawn at a tile's resolution) gets the exact tile resolution, so that
 * tiles and a bbox render agree to the last bit on global pixel positions
 * and on the zoom that picks the style's layers. */
static double resolution(const render_request *req)
{
    double res = (req->bbox.maxx - req->bbox.minx) / req->width;
    double pr = req->pixel_ratio > 0 ? req->pixel_ratio : 1.0;
    double zoom = log2(2.0 * MERC_MAX / (res * pr * 256.0));
    double whole = round(zoom);
    if (fabs(zoom - whole) < 1e-9) res = 2.0 * MERC_MAX / (256.0 * pr * exp2(whole));
    return res;
}

double render_zoom(const render_request *req)
{
    double pr = req->pixel_ratio > 0 ? req->pixel_ratio : 1.0;
    return log2(2.0 * MERC_MAX / (resolution(req) * pr * 256.0));
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- features as style expressions see them --------------------------- */

typedef struct {
    const snap_layer *layer;
    const snap_feature *f;
    const snap_carrier *c; /* NULL for context layers */
    const snap_context *x; /* NULL for carriers */
} feature_ref;

static style_value str_value(const char *s)
{
    return s ? (style_value){.type = STYLE_STRING, .str = s} : (style_value){.type = STYLE_NULL};
}

static style_value num_value(double v)
{
    return isnan(v) ? (style_value){.type = STYLE_NULL}
                    : (style_value){.type = STYLE_NUMBER, .num = v};
}

/* A carrier's filter row (snap_layer.filter_rows). */
static const snap_filter_row *row_of(const feature_ref *r)
{
    return &r->layer->filter_rows[r->f - r->layer->features];
}

static style_value feature_get(const void *feature, style_prop prop)
{
    const feature_ref *r = feature;
    const snap_carrier *c = r->c;
    const snap_context *x = r->x;
    switch (prop) {
    case PROP_ID:
        return str_value(c ? c->id : x->id);
    case PROP_KIND:
        return str_value(c ? c->kind : NULL);
    case PROP_NAME: {
        const char *zh = c ? c->name_zh : x->name_zh, *en = c ? c->name_en : x->name_en;
        return str_value(zh ? zh : en);
    }
    case PROP_NAME_ZH:
        return str_value(c ? c->name_zh : x->name_zh);
    case PROP_NAME_EN:
        return str_value(c ? c->name_en : x->name_en);
    case PROP_ROAD_CLASS:
        return str_value(x ? x->road_class : NULL);
    default:
        break;
    }
    if (!c) return (style_value){.type = STYLE_NULL};
    switch (prop) {
    case PROP_STATUS:
        return str_value(c->status);
    case PROP_LAND_USE:
        return str_value(c->land_use);
    case PROP_PARK:
        return str_value(c->park_id);
    case PROP_INDUSTRIES:
        return str_value(c->industries);
    case PROP_AREA_M2:
        return num_value(c->area_m2);
    case PROP_GROSS_AREA_M2:
        return num_value(c->gross_area_m2);
    case PROP_VACANT_AREA_M2:
        return num_value(c->vacant_area_m2);
    case PROP_AVAILABLE_AREA:
        if (!isnan(c->vacant_area_m2)) return num_value(c->vacant_area_m2);
        if (strcmp(c->kind, "parcel") == 0)
            return num_value(c->status && strcmp(c->status, "available") == 0 ? c->area_m2 : 0);
        return num_value(NAN);
    case PROP_VACANCY:
        return num_value(c->gross_area_m2 > 0 ? c->vacant_area_m2 / c->gross_area_m2 : NAN);
    case PROP_RENT_YUAN_M2_DAY:
        return num_value(c->rent_yuan_m2_day);
    case PROP_RENT_YUAN_M2_MONTH: /* offices' daily rent times 30, as filters see it */
        return num_value(row_of(r)->rent_yuan_m2_month);
    case PROP_CLEAR_HEIGHT_M:
        return num_value(c->clear_height_m);
    case PROP_PRICE_WAN_PER_MU:
        return num_value(c->price_wan_per_mu);
    case PROP_ENTERPRISES:
        return num_value(c->enterprises);
    case PROP_ANNUAL_TAX_WAN:
        return num_value(c->annual_tax_wan);
    default:
        return (style_value){.type = STYLE_NULL};
    }
}

static const char *geometry_name(snap_geom g)
{
    switch (g) {
    case SNAP_GEOM_POINT:
        return "Point";
    case SNAP_GEOM_LINE:
        return "LineString";
    case SNAP_GEOM_POLYGON:
        return "Polygon";
    default:
        return "Unknown";
    }
}

/* ---- one render ---------------------------------------------------------- */

typedef struct {
    renderer *r;
    const snapshot *snap;
    const style *st;
    const render_request *req;
    draw *d;
    double res;      /* metres per pixel */
    double zoom;     /* of the style */
    double pr;       /* pixel ratio */
    double gx0, gy0; /* the image's top-left corner in global pixels */
    /* scratch: feature ids found, and clipped points */
    uint32_t *ids;
    size_t nids, ids_cap;
    double *pts;
    size_t pts_cap;
    render_stats stats;
    zs_error *err;
    zs_status status;
} render_ctx;

static bool collect(const snap_layer *layer, uint32_t feature, void *ctx_v)
{
    render_ctx *ctx = ctx_v;
    (void)layer;
    if (ctx->nids == ctx->ids_cap) {
        size_t cap = ctx->ids_cap ? ctx->ids_cap * 2 : 1024;
        uint32_t *p = realloc(ctx->ids, cap * sizeof *p);
        if (!p) {
            ctx->status = zs_fail(ctx->err, ZS_ENOMEM, "out of memory");
            return false;
        }
        ctx->ids = p;
        ctx->ids_cap = cap;
    }
    ctx->ids[ctx->nids++] = feature;
    return true;
}

static int compare_ids(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Finds the features of layer within margin_px of the image, in the order
 * the source gave them (so every tile draws overlaps the same way). */
static bool find_features(render_ctx *ctx, layer_id layer, double margin_px)
{
    double m = margin_px * ctx->res;
    sidx_box q = {ctx->req->bbox.minx - m, ctx->req->bbox.miny - m, ctx->req->bbox.maxx + m,
                  ctx->req->bbox.maxy + m};
    double t0 = now_us();
    ctx->nids = 0;
    snapshot_query(ctx->snap, layer, q, collect, ctx);
    if (ctx->nids > 1) qsort(ctx->ids, ctx->nids, sizeof *ctx->ids, compare_ids);
    ctx->stats.query_us += now_us() - t0;
    return ctx->status == ZS_OK;
}

static bool ensure_pts(render_ctx *ctx, size_t n)
{
    if (n <= ctx->pts_cap) return true;
    size_t cap = ctx->pts_cap ? ctx->pts_cap : 1024;
    while (cap < n)
        cap *= 2;
    double *p = realloc(ctx->pts, cap * sizeof *p);
    if (!p) {
        ctx->status = zs_fail(ctx->err, ZS_ENOMEM, "out of memory");
        return false;
    }
    ctx->pts = p;
    ctx->pts_cap = cap;
    return true;
}

/* True when the feature passes the layer's filter and the request's
 * carrier filter. */
static bool feature_passes(render_ctx *ctx, const style_layer *sl, const feature_ref *ref,
                           style_ctx *sc)
{
    if (ref->c && ctx->req->filter && !filter_match(ctx->req->filter, row_of(ref), ref->c))
        return false;
    return style_eval_filter(sl->filter, sc);
}

/* The part's points in image pixels, consecutive points closer than a
 * quarter pixel merged. Both the merging and the coordinates are computed in
 * global pixels, then moved by the image's origin: every tile decides the
 * same and places the same point at the same spot to the last bit. Writes
 * x,y pairs to ctx->pts; returns the count. */
static size_t project_part(render_ctx *ctx, const snap_layer *l, const snap_part *p)
{
    if (!ensure_pts(ctx, (size_t)p->count * 2 + 4)) return 0;
    const snap_xy *xy = snap_part_points(l, p);
    double inv = 1.0 / ctx->res;
    double *out = ctx->pts;
    size_t n = 0;
    double lx = 0, ly = 0;
    for (uint32_t i = 0; i < p->count; i++) {
        double gx = (xy[i].x + MERC_MAX) * inv, gy = (MERC_MAX - xy[i].y) * inv;
        bool last = i + 1 == p->count;
        if (n && !last && fabs(gx - lx) < 0.25 && fabs(gy - ly) < 0.25) continue;
        out[2 * n] = gx - ctx->gx0;
        out[2 * n + 1] = gy - ctx->gy0;
        lx = gx, ly = gy;
        n++;
    }
    return n;
}

/* True when the feature reaches so far beyond the image that it must be
 * clipped before Cairo sees it. */
static bool needs_clip(const render_ctx *ctx, const snap_feature *f)
{
    double x0 = (f->bbox.minx - ctx->req->bbox.minx) / ctx->res;
    double x1 = (f->bbox.maxx - ctx->req->bbox.minx) / ctx->res;
    double y0 = (ctx->req->bbox.maxy - f->bbox.maxy) / ctx->res;
    double y1 = (ctx->req->bbox.maxy - f->bbox.miny) / ctx->res;
    double far = CLIP_FAR_PX * ctx->pr;
    return x0 < -far || y0 < -far || x1 > ctx->req->width + far || y1 > ctx->req->height + far;
}

/* Clips a closed ring (n points in ctx->pts) to the rectangle with
 * Sutherland-Hodgman, one edge at a time; the ring stays closed and fills
 * the same inside the rectangle. Returns the new count (in ctx->pts). */
static size_t clip_ring(render_ctx *ctx, size_t n, double x0, double y0, double x1, double y1)
{
    for (int edge = 0; edge < 4 && n > 0; edge++) {
        if (!ensure_pts(ctx, n * 6 + 8)) return 0;
        double *in = ctx->pts, *out = ctx->pts + 2 * (n + 2);
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            double ax = in[2 * i], ay = in[2 * i + 1];
            double bx = in[2 * ((i + 1) % n)], by = in[2 * ((i + 1) % n) + 1];
            double da, db;
            switch (edge) {
            case 0:
                da = ax - x0, db = bx - x0;
                break;
            case 1:
                da = x1 - ax, db = x1 - bx;
                break;
            case 2:
                da = ay - y0, db = by - y0;
                break;
            default:
                da = y1 - ay, db = y1 - by;
                break;
            }
            if (da >= 0) out[2 * m] = ax, out[2 * m + 1] = ay, m++;
            if ((da >= 0) != (db >= 0)) {
                double t = da / (da - db);
                out[2 * m] = ax + t * (bx - ax);
                out[2 * m + 1] = ay + t * (by - ay);
                m++;
            }
        }
        memmove(ctx->pts, out, m * 2 * sizeof(double));
        n = m;
    }
    return n;
}

static void clip_bounds(const render_ctx *ctx, double *x0, double *y0, double *x1, double *y1)
{
    *x0 = -CLIP_MARGIN_PX * ctx->pr;
    *y0 = -CLIP_MARGIN_PX * ctx->pr;
    *x1 = ctx->req->width + CLIP_MARGIN_PX * ctx->pr;
    *y1 = ctx->req->height + CLIP_MARGIN_PX * ctx->pr;
}

/* Adds the feature's rings to the current path, clipped. */
static void path_rings(render_ctx *ctx, const snap_layer *l, const snap_feature *f)
{
    double x0, y0, x1, y1;
    clip_bounds(ctx, &x0, &y0, &x1, &y1);
    bool clip = needs_clip(ctx, f);
    const snap_part *parts = snap_feature_parts(l, f);
    for (uint32_t i = 0; i < f->nparts; i++) {
        if (parts[i].role != SNAP_PART_OUTER && parts[i].role != SNAP_PART_HOLE) continue;
        size_t n = project_part(ctx, l, &parts[i]);
        if (n > 1) n--; /* drop the closing point: the ring is closed by draw_close */
        if (clip) n = clip_ring(ctx, n, x0, y0, x1, y1);
        if (n < 3) continue;
        draw_move_to(ctx->d, ctx->pts[0], ctx->pts[1]);
        for (size_t k = 1; k < n; k++)
            draw_line_to(ctx->d, ctx->pts[2 * k], ctx->pts[2 * k + 1]);
        draw_close(ctx->d);
    }
}

/* How a line is stroked; a clipped, dashed line is stroked run by run, each
 * with the dash offset of its place along the whole line. */
typedef struct {
    style_color color;
    double opacity, width;
    draw_cap cap;
    draw_join join;
    const double *dashes;
    size_t ndashes;
} line_stroke;

/* Strokes the current path: one run of a clipped dashed line, starting
 * offset pixels along its part. */
static void stroke_run(render_ctx *ctx, const line_stroke *ls, double offset)
{
    draw_stroke_from(ctx->d, ls->color, ls->opacity, ls->width, ls->cap, ls->join, ls->dashes,
                     ls->ndashes, offset);
}

/* Draws the feature's lines (or its rings, as outlines) with ls. Geometry
 * reaching far beyond the image is clipped segment by segment, so a line
 * leaving and re-entering the image becomes separate runs. */
static void stroke_lines(render_ctx *ctx, const snap_layer *l, const snap_feature *f,
                         const line_stroke *ls)
{
    double x0, y0, x1, y1;
    clip_bounds(ctx, &x0, &y0, &x1, &y1);
    bool clip = needs_clip(ctx, f);
    bool per_run = clip && ls->ndashes > 0;
    const snap_part *parts = snap_feature_parts(l, f);
    for (uint32_t i = 0; i < f->nparts; i++) {
        if (parts[i].role == SNAP_PART_POINT) continue;
        size_t n = project_part(ctx, l, &parts[i]);
        if (!clip && n > 1) {
            draw_move_to(ctx->d, ctx->pts[0], ctx->pts[1]);
            for (size_t k = 1; k < n; k++)
                draw_line_to(ctx->d, ctx->pts[2 * k], ctx->pts[2 * k + 1]);
            continue;
        }
        bool open = false;                               /* a run is open and ends at (px, py) */
        double px = 0, py = 0, along = 0, run_start = 0; /* pixels along the part */
        for (size_t k = 1; k < n; k++) {
            double ax = ctx->pts[2 * k - 2], ay = ctx->pts[2 * k - 1];
            double bx = ctx->pts[2 * k], by = ctx->pts[2 * k + 1];
            double sx = ax, sy = ay, ex = bx, ey = by, seg = hypot(bx - ax, by - ay);
            bool visible = clip_segment(&ax, &ay, &bx, &by, (sidx_box){x0, y0, x1, y1});
            if (open && (!visible || ax != px || ay != py)) { /* the run ended before */
                if (per_run) stroke_run(ctx, ls, run_start);
                open = false;
            }
            if (visible) {
                if (!open) {
                    draw_move_to(ctx->d, ax, ay);
                    run_start = along + hypot(ax - sx, ay - sy);
                }
                draw_line_to(ctx->d, bx, by);
                px = bx, py = by;
                open = true;
                if (bx != ex || by != ey) { /* leaves the clip box inside the segment */
                    if (per_run) stroke_run(ctx, ls, run_start);
                    open = false;
                }
            }
            along += seg;
        }
        if (per_run && open) stroke_run(ctx, ls, run_start);
    }
    if (!per_run) stroke_run(ctx, ls, 0);
}

static draw_cap parse_cap(const char *s)
{
    if (s && strcmp(s, "round") == 0) return DRAW_CAP_ROUND;
    if (s && strcmp(s, "square") == 0) return DRAW_CAP_SQUARE;
    return DRAW_CAP_BUTT;
}

static draw_join parse_join(const char *s)
{
    if (s && strcmp(s, "round") == 0) return DRAW_JOIN_ROUND;
    if (s && strcmp(s, "bevel") == 0) return DRAW_JOIN_BEVEL;
    return DRAW_JOIN_MITER;
}

static const style_color BLACK = {0, 0, 0, 1};
static const style_color WHITE = {1, 1, 1, 1};
static const style_color TRANSPARENT = {0, 0, 0, 0};

static feature_ref make_ref(const snap_layer *l, uint32_t i)
{
    return (feature_ref){l, &l->features[i], l->carriers ? &l->carriers[i] : NULL,
                         l->contexts ? &l->contexts[i] : NULL};
}

static void draw_feature_layer(render_ctx *ctx, const style_layer *sl)
{
    const snap_layer *l = snapshot_layer(ctx->snap, sl->source_layer);
    if (!l || !l->nfeatures) return;
    double margin = sl->type == STYLE_FILL ? 1.0 : FEATURE_MARGIN_PX;
    if (!find_features(ctx, sl->source_layer, margin * ctx->pr)) return;
    double t0 = now_us();
    style_ctx sc = {.zoom = ctx->zoom, .get = feature_get};
    const style_expr *const *P = sl->prop;
    for (size_t k = 0; k < ctx->nids; k++) {
        feature_ref ref = make_ref(l, ctx->ids[k]);
        if (ref.f->geom == SNAP_GEOM_EMPTY) continue;
        sc.feature = &ref;
        sc.geometry = geometry_name(ref.f->geom);
        if (!feature_passes(ctx, sl, &ref, &sc)) continue;
        double bw = (ref.f->bbox.maxx - ref.f->bbox.minx) / ctx->res;
        double bh = (ref.f->bbox.maxy - ref.f->bbox.miny) / ctx->res;
        switch (sl->type) {
        case STYLE_FILL: {
            if (ref.f->geom != SNAP_GEOM_POLYGON || (bw < 0.25 && bh < 0.25)) continue;
            style_color fill = style_eval_color(P[SP_FILL_COLOR], &sc, BLACK);
            double opacity = style_eval_number(P[SP_FILL_OPACITY], &sc, 1.0);
            path_rings(ctx, l, ref.f);
            bool outline = P[SP_FILL_OUTLINE_COLOR] != NULL;
            draw_fill(ctx->d, fill, opacity, outline);
            if (outline)
                draw_stroke(ctx->d, style_eval_color(P[SP_FILL_OUTLINE_COLOR], &sc, fill), opacity,
                            1.0 * ctx->pr, DRAW_CAP_BUTT, DRAW_JOIN_MITER, NULL, 0);
            break;
        }
        case STYLE_LINE: {
            if (ref.f->geom == SNAP_GEOM_POINT) continue;
            double width = style_eval_number(P[SP_LINE_WIDTH], &sc, 1.0) * ctx->pr;
            double opacity = style_eval_number(P[SP_LINE_OPACITY], &sc, 1.0);
            if (width <= 0 || opacity <= 0) continue;
            double dashes[MAX_DASHES];
            size_t nd = style_eval_numbers(P[SP_LINE_DASHARRAY], &sc, dashes, MAX_DASHES);
            for (size_t i = 0; i < nd; i++)
                dashes[i] *= width;
            line_stroke ls = {
                .color = style_eval_color(P[SP_LINE_COLOR], &sc, BLACK),
                .opacity = opacity,
                .width = width,
                .cap = parse_cap(style_eval_string(P[SP_LINE_CAP], &sc, "butt")),
                .join = parse_join(style_eval_string(P[SP_LINE_JOIN], &sc, "miter")),
                .dashes = dashes,
                .ndashes = nd,
            };
            stroke_lines(ctx, l, ref.f, &ls);
            break;
        }
        case STYLE_CIRCLE: {
            /* Points at their place; areas at their centroid (dots at low zoom). */
            double x = ref.c ? ref.c->x : (ref.f->bbox.minx + ref.f->bbox.maxx) / 2;
            double y = ref.c ? ref.c->y : (ref.f->bbox.miny + ref.f->bbox.maxy) / 2;
            double px = (x + MERC_MAX) / ctx->res - ctx->gx0;
            double py = (MERC_MAX - y) / ctx->res - ctx->gy0;
            double radius = style_eval_number(P[SP_CIRCLE_RADIUS], &sc, 5.0) * ctx->pr;
            double stroke = style_eval_number(P[SP_CIRCLE_STROKE_WIDTH], &sc, 0.0) * ctx->pr;
            double opacity = style_eval_number(P[SP_CIRCLE_OPACITY], &sc, 1.0);
            draw_circle_path(ctx->d, px, py, radius);
            draw_fill(ctx->d, style_eval_color(P[SP_CIRCLE_COLOR], &sc, BLACK), opacity,
                      stroke > 0);
            if (stroke > 0)
                draw_stroke(ctx->d, style_eval_color(P[SP_CIRCLE_STROKE_COLOR], &sc, BLACK),
                            opacity, stroke, DRAW_CAP_BUTT, DRAW_JOIN_MITER, NULL, 0);
            break;
        }
        default:
            break;
        }
        ctx->stats.features++;
    }
    ctx->stats.draw_us += now_us() - t0;
}

double render_reach_px(const style *st, double zoom)
{
    double reach = 0;
    style_ctx sc = {.zoom = zoom, .get = feature_get};
    for (size_t i = 0; i < style_layer_count(st); i++) {
        const style_layer *sl = style_layer_at(st, i);
        if (zoom < sl->minzoom || zoom >= sl->maxzoom) continue;
        double r = 0;
        switch (sl->type) {
        case STYLE_BACKGROUND:
            break;
        case STYLE_FILL:
            r = 1.0;
            break;
        case STYLE_SYMBOL:
            r = LABEL_REACH_PX;
            break;
        case STYLE_HEATMAP:
            r = style_eval_number(sl->prop[SP_HEATMAP_RADIUS], &sc, 30.0) + 1;
            break;
        default:
            r = FEATURE_MARGIN_PX;
        }
        if (r > reach) reach = r;
    }
    return reach;
}

static void draw_heat_layer(render_ctx *ctx, const style_layer *sl)
{
    const snap_layer *l = snapshot_layer(ctx->snap, sl->source_layer);
    if (!l || !l->carriers) return;
    style_ctx sc = {.zoom = ctx->zoom, .get = feature_get};
    double radius = style_eval_number(sl->prop[SP_HEATMAP_RADIUS], &sc, 30.0) * ctx->pr;
    if (!find_features(ctx, sl->source_layer, radius + 1)) return;
    double t0 = now_us();
    heat_point *pts = malloc((ctx->nids ? ctx->nids : 1) * sizeof *pts);
    uint32_t *img = malloc((size_t)ctx->req->width * ctx->req->height * 4);
    if (!pts || !img) {
        free(pts);
        free(img);
        ctx->status = zs_fail(ctx->err, ZS_ENOMEM, "out of memory");
        return;
    }
    size_t n = 0;
    for (size_t k = 0; k < ctx->nids; k++) {
        feature_ref ref = make_ref(l, ctx->ids[k]);
        if (ref.f->geom == SNAP_GEOM_EMPTY) continue;
        sc.feature = &ref;
        sc.geometry = geometry_name(ref.f->geom);
        if (!feature_passes(ctx, sl, &ref, &sc)) continue;
        double w = style_eval_number(sl->prop[SP_HEATMAP_WEIGHT], &sc, 1.0);
        if (!(w > 0)) continue;
        pts[n++] = (heat_point){ref.c->x, ref.c->y, w};
    }
    sc.feature = NULL;
    heat_params hp = {
        .minx = ctx->req->bbox.minx,
        .maxy = ctx->req->bbox.maxy,
        .resolution = ctx->res,
        .width = ctx->req->width,
        .height = ctx->req->height,
        .radius_px = radius,
        .intensity = style_eval_number(sl->prop[SP_HEATMAP_INTENSITY], &sc, 1.0),
        .opacity = style_eval_number(sl->prop[SP_HEATMAP_OPACITY], &sc, 1.0),
        .zoom = ctx->zoom,
        .color = sl->prop[SP_HEATMAP_COLOR],
    };
    zs_status s = heat_render(pts, n, &hp, img, ctx->err);
    if (s)
        ctx->status = s;
    else
        draw_image(ctx->d, img, ctx->req->width * 4, 1.0);
    ctx->stats.features += n;
    free(pts);
    free(img);
    ctx->stats.draw_us += now_us() - t0;
}

/* ---- labels --------------------------------------------------------------- */

typedef struct {
    text_layout *layout;
    bool owned;    /* destroy the layout after the render (not cached) */
    char *text;    /* owned copy */
    double gx, gy; /* centre, global pixels */
    double angle;
    style_color color, halo;
    double halo_width, opacity;
} label;

typedef struct {
    label *labels;
    label_candidate *cands;
    size_t n, cap;
} label_set;

/* Adds a candidate; text is copied (it may live in the caller's buffer). */
static bool label_add(render_ctx *ctx, label_set *ls, const label *lb, const char *text, double w,
                      double h, double padding, double priority, const char *key)
{
    char *copy = strdup(text);
    if (!copy) {
        ctx->status = zs_fail(ctx->err, ZS_ENOMEM, "out of memory");
        return false;
    }
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 256;
        label *a = realloc(ls->labels, cap * sizeof *a);
        if (a) ls->labels = a;
        label_candidate *b = realloc(ls->cands, cap * sizeof *b);
        if (b) ls->cands = b;
        if (!a || !b) {
            free(copy);
            ctx->status = zs_fail(ctx->err, ZS_ENOMEM, "out of memory");
            return false;
        }
        ls->cap = cap;
    }
    /* the box of the rotated text, axis-aligned */
    double c = fabs(cos(lb->angle)), s = fabs(sin(lb->angle));
    double hw = (w * c + h * s) / 2 + padding, hh = (w * s + h * c) / 2 + padding;
    ls->labels[ls->n] = *lb;
    ls->labels[ls->n].text = copy;
    ls->cands[ls->n] = (label_candidate){lb->gx - hw, lb->gy - hh,      lb->gx + hw, lb->gy + hh,
                                         priority,    labels_hash(key), false};
    ls->n++;
    return true;
}

/* Where a line's label goes: the middle of its longest part, along the
 * segment there, turned to read left to right. Global pixels. */
static bool line_anchor(render_ctx *ctx, const snap_layer *l, const snap_feature *f, double *gx,
                        double *gy, double *angle, double *length_px)
{
    const snap_part *parts = snap_feature_parts(l, f);
    double best = 0;
    const snap_part *longest = NULL;
    for (uint32_t i = 0; i < f->nparts; i++) {
        const snap_xy *p = snap_part_points(l, &parts[i]);
        double len = 0;
        for (uint32_t k = 1; k < parts[i].count; k++)
            len += hypot(p[k].x - p[k - 1].x, p[k].y - p[k - 1].y);
        if (len > best) best = len, longest = &parts[i];
    }
    if (!longest) return false;
    const snap_xy *p = snap_part_points(l, longest);
    double half = best / 2, run = 0;
    for (uint32_t k = 1; k < longest->count; k++) {
        double seg = hypot(p[k].x - p[k - 1].x, p[k].y - p[k - 1].y);
        if (run + seg >= half && seg > 0) {
            double t = (half - run) / seg;
            double x = p[k - 1].x + t * (p[k].x - p[k - 1].x);
            double y = p[k - 1].y + t * (p[k].y - p[k - 1].y);
            *gx = (x + MERC_MAX) / ctx->res;
            *gy = (MERC_MAX - y) / ctx->res;
            double a = atan2(-(p[k].y - p[k - 1].y), p[k].x - p[k - 1].x); /* y down */
            if (a > M_PI / 2) a -= M_PI;
            if (a < -M_PI / 2) a += M_PI;
            *angle = a;
            *length_px = best / ctx->res;
            return true;
        }
        run += seg;
    }
    return false;
}

static void gather_labels(render_ctx *ctx, const style_layer *sl, size_t layer_index, label_set *ls)
{
    const snap_layer *l = snapshot_layer(ctx->snap, sl->source_layer);
    if (!l || !l->nfeatures) return;
    if (!find_features(ctx, sl->source_layer, LABEL_REACH_PX * ctx->pr)) return;
    style_ctx sc = {.zoom = ctx->zoom, .get = feature_get};
    const style_expr *const *P = sl->prop;
    const char *placement_line = "line";
    for (size_t k = 0; k < ctx->nids && !ctx->status; k++) {
        feature_ref ref = make_ref(l, ctx->ids[k]);
        if (ref.f->geom == SNAP_GEOM_EMPTY) continue;
        sc.feature = &ref;
        sc.geometry = geometry_name(ref.f->geom);
        if (!feature_passes(ctx, sl, &ref, &sc)) continue;
        char buf[512];
        const char *text = style_eval_text(P[SP_TEXT_FIELD], &sc, buf, sizeof buf);
        if (!text || !*text) continue;
        label lb = {
            .color = style_eval_color(P[SP_TEXT_COLOR], &sc, BLACK),
            .halo = style_eval_color(P[SP_TEXT_HALO_COLOR], &sc, TRANSPARENT),
            .halo_width = style_eval_number(P[SP_TEXT_HALO_WIDTH], &sc, 0) * ctx->pr,
            .opacity = style_eval_number(P[SP_TEXT_OPACITY], &sc, 1.0),
        };
        double length_px = 0;
        const char *placement = style_eval_string(P[SP_SYMBOL_PLACEMENT], &sc, "point");
        if (strcmp(placement, placement_line) == 0 && ref.f->geom != SNAP_GEOM_POINT) {
            if (!line_anchor(ctx, l, ref.f, &lb.gx, &lb.gy, &lb.angle, &length_px)) continue;
        } else {
            double x = ref.c ? ref.c->x : (ref.f->bbox.minx + ref.f->bbox.maxx) / 2;
            double y = ref.c ? ref.c->y : (ref.f->bbox.miny + ref.f->bbox.maxy) / 2;
            lb.gx = (x + MERC_MAX) / ctx->res;
            lb.gy = (MERC_MAX - y) / ctx->res;
        }
        double size = style_eval_number(P[SP_TEXT_SIZE], &sc, 16.0) * ctx->pr;
        double max_width = style_eval_number(P[SP_TEXT_MAX_WIDTH], &sc, 10.0) * size;
        const char *fonts[4];
        size_t nf = style_eval_strings(P[SP_TEXT_FONT], &sc, fonts, 4);
        double t0 = now_us();
        lb.layout = shape_label(ctx->r, text, nf ? fonts[0] : NULL, size,
                                lb.angle != 0 ? 0 : max_width, &lb.owned);
        ctx->stats.labels_us += now_us() - t0;
        if (!lb.layout) continue;
        double w, h;
        text_layout_size(lb.layout, &w, &h);
        /* too big to place consistently, or longer than the road it names */
        if (w > LABEL_MAX_PX * ctx->pr || h > LABEL_MAX_PX * ctx->pr ||
            (length_px > 0 && w > length_px)) {
            if (lb.owned) text_layout_destroy(lb.layout);
            continue;
        }
        double padding = style_eval_number(P[SP_TEXT_PADDING], &sc, 2.0) * ctx->pr;
        double key = style_eval_number(P[SP_SYMBOL_SORT_KEY], &sc, 0.0);
        /* upper layers place first, then the sort key */
        double priority = -(double)layer_index * 1e9 + key;
        const char *id = ref.c ? ref.c->id : ref.x->id;
        if (!label_add(ctx, ls, &lb, text, w, h, padding, priority, id) && lb.owned)
            text_layout_destroy(lb.layout);
    }
}

static void draw_labels(render_ctx *ctx)
{
    label_set ls = {0};
    size_t nl = style_layer_count(ctx->st);
    for (size_t i = 0; i < nl && !ctx->status; i++) {
        const style_layer *sl = style_layer_at(ctx->st, i);
        if (sl->type != STYLE_SYMBOL || ctx->zoom < sl->minzoom || ctx->zoom >= sl->maxzoom)
            continue;
        gather_labels(ctx, sl, i, &ls);
    }
    double t0 = now_us();
    labels_place(ls.cands, ls.n);
    double gx0 = ctx->gx0, gy0 = ctx->gy0;
    for (size_t i = 0; i < ls.n; i++) {
        const label_candidate *c = &ls.cands[i];
        if (c->placed && c->maxx > gx0 && c->minx < gx0 + ctx->req->width && c->maxy > gy0 &&
            c->miny < gy0 + ctx->req->height) {
            const label *lb = &ls.labels[i];
            text_draw(ctx->d, lb->layout, lb->gx - gx0, lb->gy - gy0, lb->angle, lb->color,
                      lb->halo, lb->halo_width, lb->opacity);
            if (ctx->req->on_label)
                ctx->req->on_label(ctx->req->on_label_ctx, lb->text, c->minx, c->miny, c->maxx,
                                   c->maxy);
            ctx->stats.labels++;
        }
        if (ls.labels[i].owned) text_layout_destroy(ls.labels[i].layout);
        free(ls.labels[i].text);
    }
    free(ls.labels);
    free(ls.cands);
    ctx->stats.labels_us += now_us() - t0;
}

zs_status render_image(renderer *r, const snapshot *snap, const style *st,
                       const render_request *req, draw *d, render_stats *stats, zs_error *err)
{
    if (req->width <= 0 || req->height <= 0 || req->width != draw_width(d) ||
        req->height != draw_height(d))
        return zs_fail(err, ZS_EINVAL, "image size %dx%d does not match the surface", req->width,
                       req->height);
    if (!(req->bbox.maxx > req->bbox.minx) || !(req->bbox.maxy > req->bbox.miny))
        return zs_fail(err, ZS_EINVAL, "empty extent");
    render_ctx ctx = {
        .r = r,
        .snap = snap,
        .st = st,
        .req = req,
        .d = d,
        .res = resolution(req),
        .zoom = render_zoom(req),
        .pr = req->pixel_ratio > 0 ? req->pixel_ratio : 1.0,
        .err = err,
    };
    /* the origin in global pixels; a tile's is a whole number, and is made
     * exactly that so that neighbours differ by whole pixels only */
    ctx.gx0 = (req->bbox.minx + MERC_MAX) / ctx.res;
    ctx.gy0 = (MERC_MAX - req->bbox.maxy) / ctx.res;
    if (fabs(ctx.gx0 - round(ctx.gx0)) < 1e-6) ctx.gx0 = round(ctx.gx0);
    if (fabs(ctx.gy0 - round(ctx.gy0)) < 1e-6) ctx.gy0 = round(ctx.gy0);
    draw_clear(d);
    size_t nl = style_layer_count(st);
    for (size_t i = 0; i < nl && !ctx.status; i++) {
        const style_layer *sl = style_layer_at(st, i);
        if (ctx.zoom < sl->minzoom || ctx.zoom >= sl->maxzoom) continue;
        style_ctx sc = {.zoom = ctx.zoom, .get = feature_get};
        switch (sl->type) {
        case STYLE_BACKGROUND:
            draw_paint(d, style_eval_color(sl->prop[SP_BACKGROUND_COLOR], &sc, WHITE),
                       style_eval_number(sl->prop[SP_BACKGROUND_OPACITY], &sc, 1.0));
            break;
        case STYLE_HEATMAP:
            draw_heat_layer(&ctx, sl);
            break;
        case STYLE_SYMBOL:
            break; /* all labels go on top, placed together */
        default:
            draw_feature_layer(&ctx, sl);
            break;
        }
    }
    if (!ctx.status) draw_labels(&ctx);
    free(ctx.ids);
    free(ctx.pts);
    if (stats) *stats = ctx.stats;
    return ctx.status;
}
