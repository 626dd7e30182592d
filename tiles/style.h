/* Map styles: a documented subset of the MapLibre style specification
 * (styles/README.md), loaded once, immutable, shared by every render thread.
 * Layer types background, fill, line, symbol (text), circle and heatmap;
 * source-layer names are the store's layers; minzoom/maxzoom; filter; paint
 * and layout properties as constants or expressions (get, has, match, case,
 * step, interpolate, coalesce, comparisons, all/any/!, zoom, geometry-type,
 * heatmap-density). Anything else is refused with the file, layer and
 * property named; a style that fails to load renders nothing. */
#ifndef ZS_STYLE_H
#define ZS_STYLE_H

#include "error.h"
#include "layer.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- values ------------------------------------------------------------ */

typedef struct {
    float r, g, b, a; /* 0..1, not premultiplied */
} style_color;

typedef enum { STYLE_NULL, STYLE_BOOL, STYLE_NUMBER, STYLE_STRING, STYLE_COLOR } style_type;

typedef struct {
    style_type type;
    bool b;
    double num;
    const char *str; /* borrowed from the style or the feature */
    style_color color;
} style_value;

/* ---- what a feature offers to expressions ---------------------------------
 * ["get", NAME] may name these properties only (an unknown name is a load
 * error). Derived ones: available_area (m² on offer: a building's vacant
 * floor area, an available parcel's land area), vacancy (vacant / gross,
 * 0..1), rent_yuan_m2_month (offices' daily rent times 30, so both kinds
 * compare), name (name_zh, else name_en). */
typedef enum {
    PROP_ID,
    PROP_KIND,
    PROP_NAME,
    PROP_NAME_ZH,
    PROP_NAME_EN,
    PROP_STATUS,
    PROP_LAND_USE,
    PROP_PARK,
    PROP_INDUSTRIES,
    PROP_ROAD_CLASS,
    PROP_AREA_M2,
    PROP_GROSS_AREA_M2,
    PROP_VACANT_AREA_M2,
    PROP_AVAILABLE_AREA,
    PROP_VACANCY,
    PROP_RENT_YUAN_M2_DAY,
    PROP_RENT_YUAN_M2_MONTH,
    PROP_CLEAR_HEIGHT_M,
    PROP_PRICE_WAN_PER_MU,
    PROP_ENTERPRISES,
    PROP_ANNUAL_TAX_WAN,
    PROP_COUNT
} style_prop;

/* The name of a property ("available_area"); NULL out of range. */
const char *style_prop_name(style_prop p);

/* The feature under evaluation: get returns a property's value (STYLE_NULL
 * when absent); geometry is "Point", "LineString" or "Polygon". */
typedef struct {
    double zoom;            /* fractional zoom of the render */
    double heatmap_density; /* heatmap-color only: 0..1 */
    const void *feature;
    style_value (*get)(const void *feature, style_prop prop);
    const char *geometry;
} style_ctx;

/* ---- layers ----------------------------------------------------------- */

typedef enum {
    STYLE_BACKGROUND,
    STYLE_FILL,
    STYLE_LINE,
    STYLE_SYMBOL,
    STYLE_CIRCLE,
    STYLE_HEATMAP
} style_layer_type;

/* Paint and layout properties zsmap draws; each is NULL in a layer that
 * does not set it (the renderer then uses the documented default). */
typedef enum {
    SP_BACKGROUND_COLOR,
    SP_BACKGROUND_OPACITY,
    SP_FILL_COLOR,
    SP_FILL_OPACITY,
    SP_FILL_OUTLINE_COLOR,
    SP_LINE_COLOR,
    SP_LINE_WIDTH, /* pixels */
    SP_LINE_OPACITY,
    SP_LINE_DASHARRAY, /* numbers, in line widths */
    SP_LINE_CAP,       /* layout: butt | round | square */
    SP_LINE_JOIN,      /* layout: bevel | round | miter */
    SP_CIRCLE_RADIUS,  /* pixels */
    SP_CIRCLE_COLOR,
    SP_CIRCLE_OPACITY,
    SP_CIRCLE_STROKE_COLOR,
    SP_CIRCLE_STROKE_WIDTH,
    SP_TEXT_FIELD,       /* layout: the label's text */
    SP_TEXT_SIZE,        /* layout: pixels */
    SP_TEXT_FONT,        /* layout: font families, first found wins */
    SP_TEXT_MAX_WIDTH,   /* layout: ems before wrapping */
    SP_TEXT_PADDING,     /* layout: pixels kept clear around a label */
    SP_SYMBOL_PLACEMENT, /* layout: point | line */
    SP_SYMBOL_SORT_KEY,  /* layout: lower places first */
    SP_TEXT_COLOR,
    SP_TEXT_HALO_COLOR,
    SP_TEXT_HALO_WIDTH, /* pixels */
    SP_TEXT_OPACITY,
    SP_HEATMAP_RADIUS, /* pixels */
    SP_HEATMAP_WEIGHT,
    SP_HEATMAP_INTENSITY,
    SP_HEATMAP_COLOR, /* an expression of heatmap-density */
    SP_HEATMAP_OPACITY,
    SP_COUNT
} style_property;

typedef struct style_expr style_expr;

typedef struct {
    const char *id;
    style_layer_type type;
    layer_id source_layer;    /* meaningless for background */
    double minzoom, maxzoom;  /* drawn when minzoom <= zoom < maxzoom */
    const style_expr *filter; /* NULL: every feature */
    const style_expr *prop[SP_COUNT];
} style_layer;

typedef struct style style;

/* Loads the style file at path. Returns a new style in *out, free with
 * style_destroy(); on failure err names the file, the layer and the property. */
zs_status style_load_file(const char *path, style **out, zs_error *err);

/* The same from memory; name stands for the file in messages. */
zs_status style_load_string(const char *json, size_t len, const char *name, style **out,
                            zs_error *err);

void style_destroy(style *s);

/* The style's "name" member, or the file's base name without ".json". */
const char *style_name(const style *s);

size_t style_layer_count(const style *s);
const style_layer *style_layer_at(const style *s, size_t i);

/* ---- evaluation (thread-safe, no allocation) ----------------------------- */

style_value style_eval(const style_expr *e, const style_ctx *ctx);

/* Typed helpers: the value converted, or fallback when e is NULL or yields
 * something else. */
double style_eval_number(const style_expr *e, const style_ctx *ctx, double fallback);
style_color style_eval_color(const style_expr *e, const style_ctx *ctx, style_color fallback);
const char *style_eval_string(const style_expr *e, const style_ctx *ctx, const char *fallback);
bool style_eval_filter(const style_expr *filter, const style_ctx *ctx); /* NULL: true */

/* An array value (line-dasharray, text-font): up to max numbers or strings
 * copied out; returns how many. */
size_t style_eval_numbers(const style_expr *e, const style_ctx *ctx, double *out, size_t max);
size_t style_eval_strings(const style_expr *e, const style_ctx *ctx, const char **out, size_t max);

/* A label's text (text-field): like style_eval_string, but numbers and
 * booleans are written out and concat/to-string may build new text, which
 * is kept in buf (cap bytes, cut at a UTF-8 boundary). Returns the text,
 * borrowed from the style or the feature or pointing into buf; NULL when
 * e is NULL or yields null. style_eval and the other helpers cannot return
 * built text and give null (the fallback) for it. */
const char *style_eval_text(const style_expr *e, const style_ctx *ctx, char *buf, size_t cap);

/* True when e reads no feature property (it may still depend on zoom): the
 * renderer evaluates it once per layer. */
bool style_expr_is_feature_constant(const style_expr *e);

/* Parses a CSS colour (#rgb, #rrggbb, #rrggbbaa, rgb(), rgba(), hsl(),
 * hsla(), a few names). */
bool style_parse_color(const char *text, style_color *out);

#endif
