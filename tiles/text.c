/* Pango behind text.h, drawn with Cairo alone.
 *
 * Thread safety: Pango's font map and fonts keep unlocked caches, so every
 * Pango call (shaping) happens under the engine's mutex on one shared
 * context. A text_layout holds no Pango object: it is the shaped result,
 * glyph runs with their own references to Cairo scaled fonts, which Cairo
 * makes safe to share. text_draw therefore takes no lock of ours, a layout
 * may be drawn by any thread, and it may outlive the engine. (Cairo 1.16
 * itself serialises glyph compositing on one global glyph-cache mutex, about
 * 2 us per label copy; labels are a small part of a tile.)
 *
 * Seams: hint metrics are off, outlines are not hinted and glyph positions
 * are not rounded by Pango, so a glyph's position depends on the label's
 * position alone. Cairo 1.16 rounds each glyph origin to a whole pixel
 * (halfway cases up), which commutes with the whole-pixel shift between two
 * tiles: a label crossing a tile edge is drawn identically by both.
 * Hinted outlines (CAIRO_HINT_STYLE_SLIGHT, crisper CJK) were measured to
 * break that by up to 10 levels, so outlines stay unhinted. */
#include "text.h"
#include "draw_cairo.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_DEFAULT_FAMILY "Noto Sans CJK SC"
/* Sizes Pango's integer units hold with room to spare. */
#define TEXT_MAX_SIZE_PX 1024.0
#define TEXT_MAX_WIDTH_PX 65536.0
/* Wider halos are drawn this wide: the copies grow with the square. */
#define TEXT_MAX_HALO_PX 8.0

struct text_engine {
    pthread_mutex_t lock; /* guards every Pango object below */
    PangoFontMap *fontmap;
    PangoContext *context;
};

typedef struct {
    cairo_scaled_font_t *font; /* a reference of our own */
    size_t first, count;       /* into the layout's glyphs */
} text_run;

struct text_layout {
    double width, height;                  /* the logical box, pixels */
    double ink_x0, ink_y0, ink_x1, ink_y1; /* ink, pixels from the box's top left */
    size_t nruns;
    text_run *runs;
    cairo_glyph_t *glyphs; /* positions in pixels from the box's top left */
};

static double from_pango(int units)
{
    return (double)units / PANGO_SCALE;
}

/* Glyphs Pango shows as nothing or as a hex box: skipped, a missing glyph
 * is better left out of a map label than drawn as a box. */
static bool glyph_drawn(PangoGlyph g)
{
    return g != PANGO_GLYPH_EMPTY && !(g & PANGO_GLYPH_UNKNOWN_FLAG);
}

/* The run's Cairo font; NULL when it has none usable (its glyphs are then
 * skipped: an errored font would put the drawing context in error). */
static cairo_scaled_font_t *run_font(PangoGlyphItem *run)
{
    cairo_scaled_font_t *sf =
        pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(run->item->analysis.font));
    return sf && cairo_scaled_font_status(sf) == CAIRO_STATUS_SUCCESS ? sf : NULL;
}

/* Copies the glyph runs of layout into tl, positions relative to (x0, y0)
 * in Pango units; with tl->runs NULL it only counts into tl->nruns and
 * *nglyphs. Call with the engine locked. */
static void collect_runs(PangoLayout *layout, text_layout *tl, size_t *nglyphs, int x0, int y0)
{
    size_t nr = 0, ng = 0;
    PangoLayoutIter *it = pango_layout_get_iter(layout);
    do {
        PangoGlyphItem *run = pango_layout_iter_get_run_readonly(it);
        cairo_scaled_font_t *sf = run ? run_font(run) : NULL;
        if (!sf) continue; /* the end of a line, or nothing to draw with */
        PangoGlyphString *gs = run->glyphs;
        PangoRectangle logical;
        pango_layout_iter_get_run_extents(it, NULL, &logical);
        int baseline = pango_layout_iter_get_baseline(it);
        int x = logical.x;
        size_t first = ng;
        for (int i = 0; i < gs->num_glyphs; i++) {
            PangoGlyphInfo *gi = &gs->glyphs[i];
            if (glyph_drawn(gi->glyph)) {
                if (tl->runs)
                    tl->glyphs[ng] = (cairo_glyph_t){
                        .index = gi->glyph,
                        .x = from_pango(x + gi->geometry.x_offset - x0),
                        .y = from_pango(baseline + gi->geometry.y_offset - y0),
                    };
                ng++;
            }
            x += gi->geometry.width;
        }
        if (ng == first) continue;
        if (tl->runs) tl->runs[nr] = (text_run){cairo_scaled_font_reference(sf), first, ng - first};
        nr++;
    } while (pango_layout_iter_next_run(it));
    pango_layout_iter_free(it);
    tl->nruns = nr;
    *nglyphs = ng;
}

/* The shaped result of layout; NULL when out of memory or nothing would be
 * drawn. Call with the engine locked. */
static text_layout *layout_from_pango(PangoLayout *layout)
{
    PangoRectangle ink, logical;
    pango_layout_get_extents(layout, &ink, &logical);
    if (ink.width <= 0 || ink.height <= 0 || logical.width <= 0 || logical.height <= 0)
        return NULL; /* blank: a label that shows nothing takes no room */
    text_layout *tl = calloc(1, sizeof *tl);
    if (!tl) return NULL;
    tl->width = from_pango(logical.width);
    tl->height = from_pango(logical.height);
    tl->ink_x0 = from_pango(ink.x - logical.x);
    tl->ink_y0 = from_pango(ink.y - logical.y);
    tl->ink_x1 = from_pango(ink.x + ink.width - logical.x);
    tl->ink_y1 = from_pango(ink.y + ink.height - logical.y);
    size_t nglyphs = 0;
    collect_runs(layout, tl, &nglyphs, logical.x, logical.y);
    if (nglyphs == 0) goto fail;
    size_t nruns = tl->nruns;
    tl->runs = calloc(nruns, sizeof *tl->runs);
    tl->glyphs = calloc(nglyphs, sizeof *tl->glyphs);
    if (!tl->runs || !tl->glyphs) goto fail;
    collect_runs(layout, tl, &nglyphs, logical.x, logical.y);
    return tl;
fail:
    text_layout_destroy(tl);
    return NULL;
}

/* Shapes under the lock. */
static text_layout *shape_locked(text_engine *te, const char *utf8, const char *family,
                                 double size_px, double max_width_px)
{
    /* Parsed like a font name, so that MapLibre font stacks such as "Noto
     * Sans CJK SC Bold" give family and weight; the size is ours. */
    PangoFontDescription *fd = pango_font_description_from_string(family ? family : "");
    if (!pango_font_description_get_family(fd))
        pango_font_description_set_family(fd, TEXT_DEFAULT_FAMILY);
    pango_font_description_set_absolute_size(fd, size_px * PANGO_SCALE);
    PangoLayout *layout = pango_layout_new(te->context);
    pango_layout_set_font_description(layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
    if (max_width_px > 0) {
        pango_layout_set_width(layout, (int)lround(max_width_px * PANGO_SCALE));
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    }
    pango_layout_set_text(layout, utf8, -1);
    text_layout *tl = layout_from_pango(layout);
    g_object_unref(layout);
    return tl;
}

text_layout *text_shape(text_engine *te, const char *utf8, const char *family, double size_px,
                        double max_width_px)
{
    if (!te || !utf8 || !*utf8 || !g_utf8_validate(utf8, -1, NULL)) return NULL;
    if (!(size_px > 0 && size_px <= TEXT_MAX_SIZE_PX)) return NULL;
    if (!(max_width_px <= TEXT_MAX_WIDTH_PX)) max_width_px = 0; /* NaN, huge: never wrap */
    if (family && !*family) family = NULL;
    pthread_mutex_lock(&te->lock);
    text_layout *tl = shape_locked(te, utf8, family, size_px, max_width_px);
    pthread_mutex_unlock(&te->lock);
    return tl;
}

void text_layout_destroy(text_layout *tl)
{
    if (!tl) return;
    if (tl->runs)
        for (size_t i = 0; i < tl->nruns; i++)
            if (tl->runs[i].font) cairo_scaled_font_destroy(tl->runs[i].font);
    free(tl->runs);
    free(tl->glyphs);
    free(tl);
}

/* The logical box (the font's ascent to descent, line by line, and the
 * advance widths), not the ink: a label's box then does not change with its
 * letters (a descender, a short word), so collision boxes stay stable. */
void text_layout_size(const text_layout *tl, double *width, double *height)
{
    if (width) *width = tl ? tl->width : 0;
    if (height) *height = tl ? tl->height : 0;
}

static void show_runs(cairo_t *cr, const text_layout *tl)
{
    for (size_t i = 0; i < tl->nruns; i++) {
        cairo_set_scaled_font(cr, tl->runs[i].font);
        cairo_show_glyphs(cr, tl->glyphs + tl->runs[i].first, (int)tl->runs[i].count);
    }
}

/* The halo: the glyphs drawn again at whole-pixel device offsets, i.e.
 * dilated: the four neighbours for r < 1, the eight for r <= 1.5, else
 * every offset within r + 0.25 px (r = 2: 20 copies, 3: 36; each copy costs
 * about 2 us for a ten-character label). Whole pixels because Cairo 1.16
 * draws each glyph at a whole pixel anyway: fractional offsets would round
 * to shifts of 0 or 1 px depending on where the label sits, leaving gaps.
 * In device space, so a rotated label gets the same round halo. */
static void draw_halo(cairo_t *cr, const text_layout *tl, const cairo_matrix_t *m, double r)
{
    double t = r < 1 ? 1 : fmax(1.5, r + 0.25);
    int k = (int)t;
    for (int dy = -k; dy <= k; dy++)
        for (int dx = -k; dx <= k; dx++) {
            if ((dx == 0 && dy == 0) || dx * dx + dy * dy > t * t) continue;
            cairo_matrix_t mi = *m;
            mi.x0 += dx;
            mi.y0 += dy;
            cairo_set_matrix(cr, &mi);
            show_runs(cr, tl);
        }
    cairo_set_matrix(cr, m);
}

/* The device-space pixel box of the layout's ink grown by margin, given the
 * label's matrix m; false when it misses the surface. */
static bool device_box(const text_layout *tl, const cairo_matrix_t *m, double margin, int sw,
                       int sh, int box[4])
{
    double xs[2] = {tl->ink_x0 - margin, tl->ink_x1 + margin};
    double ys[2] = {tl->ink_y0 - margin, tl->ink_y1 + margin};
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 4; i++) {
        double x = xs[i & 1], y = ys[i >> 1];
        cairo_matrix_transform_point(m, &x, &y);
        x0 = fmin(x0, x);
        y0 = fmin(y0, y);
        x1 = fmax(x1, x);
        y1 = fmax(y1, y);
    }
    x0 = fmax(floor(x0), 0);
    y0 = fmax(floor(y0), 0);
    x1 = fmin(ceil(x1), sw);
    y1 = fmin(ceil(y1), sh);
    if (!(x0 < x1 && y0 < y1)) return false;
    box[0] = (int)x0;
    box[1] = (int)y0;
    box[2] = (int)x1;
    box[3] = (int)y1;
    return true;
}

/* 0..1; NaN counts as 0 so that nothing is drawn. */
static double unit(double v)
{
    return v > 0 ? (v < 1 ? v : 1) : 0;
}

static void set_rgb(cairo_t *cr, style_color c, double alpha)
{
    cairo_set_source_rgba(cr, unit(c.r), unit(c.g), unit(c.b), alpha);
}

void text_draw(draw *d, const text_layout *tl, double cx, double cy, double angle,
               style_color color, style_color halo, double halo_width, double opacity)
{
    opacity = unit(opacity);
    /* Far off any surface (Cairo's coordinates end near 8e6 px anyway). */
    if (!d || !tl || opacity <= 0 || !(fabs(cx) < 1e7) || !(fabs(cy) < 1e7) || !isfinite(angle))
        return;
    double halo_a = unit(halo.a);
    double r = isfinite(halo_width) && halo_width > 0 && halo_a > 0
                   ? fmin(halo_width, TEXT_MAX_HALO_PX)
                   : 0;
    cairo_t *cr = draw_cairo(d);

    cairo_save(cr);
    cairo_translate(cr, cx, cy);
    if (angle != 0) cairo_rotate(cr, angle);
    cairo_translate(cr, -tl->width / 2, -tl->height / 2);
    cairo_matrix_t m;
    cairo_get_matrix(cr, &m);
    int box[4];
    if (!device_box(tl, &m, r + 2, draw_width(d), draw_height(d), box)) {
        cairo_restore(cr);
        return;
    }
    bool group = opacity < 1;
    bool halo_group = r > 0 && halo_a < 1;
    if (group || halo_group) {
        /* Groups only as large as the label: clip to its pixel box, keeping
         * the caller's path, which the clip would consume. */
        cairo_identity_matrix(cr);
        cairo_path_t *path = cairo_has_current_point(cr) ? cairo_copy_path(cr) : NULL;
        cairo_new_path(cr);
        cairo_rectangle(cr, box[0], box[1], box[2] - box[0], box[3] - box[1]);
        cairo_clip(cr);
        if (path) {
            cairo_append_path(cr, path);
            cairo_path_destroy(path);
        }
        cairo_set_matrix(cr, &m);
    }
    if (group) cairo_push_group(cr);
    if (r > 0) {
        /* Copies drawn with translucent paint would darken where they
         * overlap: draw them opaque and apply the halo's alpha once. */
        if (halo_group) cairo_push_group(cr);
        set_rgb(cr, halo, halo_group ? 1 : halo_a);
        draw_halo(cr, tl, &m, r);
        if (halo_group) {
            cairo_pop_group_to_source(cr);
            cairo_paint_with_alpha(cr, halo_a);
        }
    }
    set_rgb(cr, color, unit(color.a));
    show_runs(cr, tl);
    if (group) {
        cairo_pop_group_to_source(cr);
        cairo_paint_with_alpha(cr, opacity);
    }
    cairo_restore(cr);
}

/* Shapes and draws a CJK and Latin string once so that fontconfig, the font
 * files and Cairo's glyph caches are loaded before the first request. */
static void warm_up(text_engine *te)
{
    text_layout *tl = text_shape(te, "徐州高新区 Park 0123", NULL, 14, 0);
    draw *d = draw_create(160, 32);
    if (tl && d) {
        style_color black = {0, 0, 0, 1}, white = {1, 1, 1, 1};
        text_draw(d, tl, 80, 16, 0, black, white, 1.5, 1);
    }
    draw_destroy(d);
    text_layout_destroy(tl);
}

zs_status text_engine_create(text_engine **out, zs_error *err)
{
    *out = NULL;
    text_engine *te = calloc(1, sizeof *te);
    if (!te) return zs_fail(err, ZS_ENOMEM, "out of memory creating the text engine");
    if (pthread_mutex_init(&te->lock, NULL) != 0) {
        free(te);
        return zs_fail(err, ZS_ENOMEM, "cannot create the text engine's mutex");
    }
    te->fontmap = pango_cairo_font_map_new();
    te->context = te->fontmap ? pango_font_map_create_context(te->fontmap) : NULL;
    if (!te->context) {
        text_engine_destroy(te);
        return zs_fail(err, ZS_ENOTFOUND, "Pango has no font map (is fontconfig set up?)");
    }
    /* Unhinted, with fractional advances and positions: see the top. */
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(te->context, fo);
    cairo_font_options_destroy(fo);
    pango_context_set_round_glyph_positions(te->context, FALSE);

    /* The default family must resolve to itself, or labels silently fall
     * back to another font. */
    PangoFontDescription *fd = pango_font_description_from_string(TEXT_DEFAULT_FAMILY " 16px");
    PangoFont *font = pango_font_map_load_font(te->fontmap, te->context, fd);
    pango_font_description_free(fd);
    char *family = NULL;
    if (font) {
        PangoFontDescription *got = pango_font_describe(font);
        const char *f = pango_font_description_get_family(got);
        family = f ? g_strdup(f) : NULL;
        pango_font_description_free(got);
        g_object_unref(font);
    }
    bool ok = family && strcmp(family, TEXT_DEFAULT_FAMILY) == 0;
    zs_status st = ZS_OK;
    if (!ok)
        st =
            zs_fail(err, ZS_ENOTFOUND, "font \"%s\" not found (got \"%s\"); install fonts-noto-cjk",
                    TEXT_DEFAULT_FAMILY, family ? family : "none");
    g_free(family);
    if (st != ZS_OK) {
        text_engine_destroy(te);
        return st;
    }
    warm_up(te);
    *out = te;
    return ZS_OK;
}

void text_engine_destroy(text_engine *te)
{
    if (!te) return;
    if (te->context) g_object_unref(te->context);
    if (te->fontmap) g_object_unref(te->fontmap);
    pthread_mutex_destroy(&te->lock);
    free(te);
}
