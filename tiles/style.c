/* Map styles: MapLibre style JSON compiled once into immutable layers and
 * expression trees. Everything a style owns (layers, ids, expression nodes,
 * strings) lives in one arena freed by style_destroy(). Loading checks every
 * value against the property table and names the file, layer and property
 * of the first problem; evaluation only reads the tree, so any number of
 * render threads share a style without locks or allocation. */
#include "style.h"

#include <jansson.h>

#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits against hostile files. */
#define STYLE_MAX_BYTES (4u << 20)  /* the JSON text */
#define STYLE_MAX_LAYERS 1000       /* layers in the file, hidden ones included */
#define STYLE_MAX_DEPTH 64          /* expression and legacy filter nesting */
#define STYLE_MAX_LABELS 1024       /* labels of one match */
#define STYLE_MAX_ARENA (64u << 20) /* compiled size */
#define STYLE_MAX_ZOOM 24.0         /* layer minzoom/maxzoom range, inclusive */
#define ARENA_BLOCK (64u << 10)     /* bytes per arena block */
#define EVAL_SCRATCH 256            /* bytes style_eval() keeps for built strings */
#define NUM_TEXT 40                 /* bytes of a formatted number or colour */

/* ---- arena: everything a style owns ------------------------------------ */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
} arena_block;

typedef struct {
    arena_block *head;
    size_t total; /* bytes in all blocks, capped at STYLE_MAX_ARENA */
} arena;

/* Zeroed memory for count items of size bytes, or NULL when out of memory
 * or over the cap. Freed with the whole arena. */
static void *arena_alloc(arena *a, size_t count, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size && count > (SIZE_MAX / 2) / size) return NULL;
    size_t n = count * size;
    n = n ? (n + align - 1) / align * align : align;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        if (cap > STYLE_MAX_ARENA || a->total > STYLE_MAX_ARENA - cap) return NULL;
        arena_block *b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
        a->total += cap;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strdup(arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = arena_alloc(a, n + 1, 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

static void arena_free(arena *a)
{
    while (a->head) {
        arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->total = 0;
}

/* ---- compiled expressions ----------------------------------------------- */

typedef enum {
    OP_LIT,
    OP_ARRAY,
    OP_GET,
    OP_HAS,
    OP_NOT,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_ALL,
    OP_ANY,
    OP_IN,
    OP_MATCH,
    OP_CASE,
    OP_STEP,
    OP_INTERP,
    OP_COALESCE,
    OP_TO_NUMBER,
    OP_TO_STRING,
    OP_CONCAT,
    OP_ZOOM,
    OP_GEOMETRY,
    OP_DENSITY,
} expr_op;

static const char *const op_names[] = {
    "literal",
    "literal",
    "get",
    "has",
    "!",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "all",
    "any",
    "in",
    "match",
    "case",
    "step",
    "interpolate",
    "coalesce",
    "to-number",
    "to-string",
    "concat",
    "zoom",
    "geometry-type",
    "heatmap-density",
};
_Static_assert(sizeof op_names / sizeof op_names[0] == OP_DENSITY + 1, "a name per operator");

/* Static result types, known at load. T_ANY: decided by the feature. */
typedef enum {
    T_ANY,
    T_NULL,
    T_BOOL,
    T_NUM,
    T_STR,
    T_COLOR,
    T_NUMARR,
    T_STRARR,
    T_EMPTYARR,
    T_ARRAY, /* mixed items */
} expr_type;

/* Kids by operator: NOT, TO_STRING: [x]. EQ..GE: [a, b]. ALL, ANY,
 * COALESCE, TO_NUMBER, CONCAT: the arguments. IN: [needle, haystack].
 * MATCH: [input, output per branch..., fallback]. CASE: [cond, output, ...,
 * fallback]. STEP: [input, output below stops[0], output per stop...].
 * INTERP: [input, output per stop...]. */
struct style_expr {
    expr_op op;
    expr_type type;
    bool feature_const; /* reads no feature property and no geometry */
    bool lenient;       /* legacy comparison: mismatched types give false, not an error */
    style_prop prop;    /* GET, HAS */
    uint32_t n;         /* kids */
    const style_expr **kid;
    style_value lit;          /* LIT */
    const style_value *items; /* ARRAY: items; MATCH: labels */
    const uint32_t *branch;   /* MATCH: label i selects output branch[i] */
    uint32_t nitems;          /* ARRAY items, MATCH labels, STEP/INTERP stops */
    const double *stops;      /* STEP, INTERP: strictly ascending inputs */
    double base;              /* INTERP: 1 is linear */
};

struct style {
    arena ar;
    const char *name;
    style_layer *layers;
    size_t nlayers;
};

/* ---- feature properties --------------------------------------------------- */

static const char *const prop_names[] = {
    "id",
    "kind",
    "name",
    "name_zh",
    "name_en",
    "status",
    "land_use",
    "park",
    "industries",
    "road_class",
    "area_m2",
    "gross_area_m2",
    "vacant_area_m2",
    "available_area",
    "vacancy",
    "rent_yuan_m2_day",
    "rent_yuan_m2_month",
    "clear_height_m",
    "price_wan_per_mu",
    "enterprises",
    "annual_tax_wan",
};

_Static_assert(sizeof prop_names / sizeof prop_names[0] == PROP_COUNT, "a name per style_prop");

const char *style_prop_name(style_prop p)
{
    return (unsigned)p < PROP_COUNT ? prop_names[p] : NULL;
}

static bool prop_by_name(const char *name, style_prop *out)
{
    for (int i = 0; i < PROP_COUNT; i++) {
        if (strcmp(prop_names[i], name) == 0) {
            *out = (style_prop)i;
            return true;
        }
    }
    return false;
}

/* ---- numbers and colours -------------------------------------------------- */

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A decimal number ([+-]digits[.digits][e[+-]digits]) at s, independent of
 * the locale and allocation-free (strtod is neither); exact for up to 15
 * significant digits and exponents within ±22. *end is past it. */
static bool parse_decimal(const char *s, const char **end, double *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    uint64_t m = 0;
    int sig = 0, exp10 = 0;
    bool any = false;
    for (; *p >= '0' && *p <= '9'; p++) {
        any = true;
        if (sig < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            if (m) sig++;
        } else {
            exp10++;
        }
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            any = true;
            if (sig < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                if (m) sig++;
                exp10--;
            }
        }
    }
    if (!any) return false;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        bool eneg = false;
        if (*q == '+' || *q == '-') eneg = *q++ == '-';
        if (*q >= '0' && *q <= '9') {
            int e = 0;
            for (; *q >= '0' && *q <= '9'; q++)
                if (e < 100000) e = e * 10 + (*q - '0');
            exp10 += eneg ? -e : e;
            p = q;
        }
    }
    double v;
    if (m == 0)
        v = 0;
    else if (sig <= 15 && exp10 >= 0 && exp10 <= 22)
        v = (double)m * pow10_exact[exp10];
    else if (sig <= 15 && exp10 < 0 && exp10 >= -22)
        v = (double)m / pow10_exact[-exp10];
    else
        v = (double)m * pow(10.0, exp10);
    *out = neg ? -v : v;
    *end = p;
    return true;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static const char *skip_space(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

static char lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static float clamp01(double v)
{
    return (float)(v < 0 ? 0 : v > 1 ? 1 : v);
}

/* The CSS named colours (CSS Color Module Level 4), sorted by name. */
static const struct {
    const char *name;
    uint32_t rgb;
} css_names[] = {
    {"aliceblue", 0xf0f8ff},
    {"antiquewhite", 0xfaebd7},
    {"aqua", 0x00ffff},
    {"aquamarine", 0x7fffd4},
    {"azure", 0xf0ffff},
    {"beige", 0xf5f5dc},
    {"bisque", 0xffe4c4},
    {"black", 0x000000},
    {"blanchedalmond", 0xffebcd},
    {"blue", 0x0000ff},
    {"blueviolet", 0x8a2be2},
    {"brown", 0xa52a2a},
    {"burlywood", 0xdeb887},
    {"cadetblue", 0x5f9ea0},
    {"chartreuse", 0x7fff00},
    {"chocolate", 0xd2691e},
    {"coral", 0xff7f50},
    {"cornflowerblue", 0x6495ed},
    {"cornsilk", 0xfff8dc},
    {"crimson", 0xdc143c},
    {"cyan", 0x00ffff},
    {"darkblue", 0x00008b},
    {"darkcyan", 0x008b8b},
    {"darkgoldenrod", 0xb8860b},
    {"darkgray", 0xa9a9a9},
    {"darkgreen", 0x006400},
    {"darkgrey", 0xa9a9a9},
    {"darkkhaki", 0xbdb76b},
    {"darkmagenta", 0x8b008b},
    {"darkolivegreen", 0x556b2f},
    {"darkorange", 0xff8c00},
    {"darkorchid", 0x9932cc},
    {"darkred", 0x8b0000},
    {"darksalmon", 0xe9967a},
    {"darkseagreen", 0x8fbc8f},
    {"darkslateblue", 0x483d8b},
    {"darkslategray", 0x2f4f4f},
    {"darkslategrey", 0x2f4f4f},
    {"darkturquoise", 0x00ced1},
    {"darkviolet", 0x9400d3},
    {"deeppink", 0xff1493},
    {"deepskyblue", 0x00bfff},
    {"dimgray", 0x696969},
    {"dimgrey", 0x696969},
    {"dodgerblue", 0x1e90ff},
    {"firebrick", 0xb22222},
    {"floralwhite", 0xfffaf0},
    {"forestgreen", 0x228b22},
    {"fuchsia", 0xff00ff},
    {"gainsboro", 0xdcdcdc},
    {"ghostwhite", 0xf8f8ff},
    {"gold", 0xffd700},
    {"goldenrod", 0xdaa520},
    {"gray", 0x808080},
    {"green", 0x008000},
    {"greenyellow", 0xadff2f},
    {"grey", 0x808080},
    {"honeydew", 0xf0fff0},
    {"hotpink", 0xff69b4},
    {"indianred", 0xcd5c5c},
    {"indigo", 0x4b0082},
    {"ivory", 0xfffff0},
    {"khaki", 0xf0e68c},
    {"lavender", 0xe6e6fa},
    {"lavenderblush", 0xfff0f5},
    {"lawngreen", 0x7cfc00},
    {"lemonchiffon", 0xfffacd},
    {"lightblue", 0xadd8e6},
    {"lightcoral", 0xf08080},
    {"lightcyan", 0xe0ffff},
    {"lightgoldenrodyellow", 0xfafad2},
    {"lightgray", 0xd3d3d3},
    {"lightgreen", 0x90ee90},
    {"lightgrey", 0xd3d3d3},
    {"lightpink", 0xffb6c1},
    {"lightsalmon", 0xffa07a},
    {"lightseagreen", 0x20b2aa},
    {"lightskyblue", 0x87cefa},
    {"lightslategray", 0x778899},
    {"lightslategrey", 0x778899},
    {"lightsteelblue", 0xb0c4de},
    {"lightyellow", 0xffffe0},
    {"lime", 0x00ff00},
    {"limegreen", 0x32cd32},
    {"linen", 0xfaf0e6},
    {"magenta", 0xff00ff},
    {"maroon", 0x800000},
    {"mediumaquamarine", 0x66cdaa},
    {"mediumblue", 0x0000cd},
    {"mediumorchid", 0xba55d3},
    {"mediumpurple", 0x9370db},
    {"mediumseagreen", 0x3cb371},
    {"mediumslateblue", 0x7b68ee},
    {"mediumspringgreen", 0x00fa9a},
    {"mediumturquoise", 0x48d1cc},
    {"mediumvioletred", 0xc71585},
    {"midnightblue", 0x191970},
    {"mintcream", 0xf5fffa},
    {"mistyrose", 0xffe4e1},
    {"moccasin", 0xffe4b5},
    {"navajowhite", 0xffdead},
    {"navy", 0x000080},
    {"oldlace", 0xfdf5e6},
    {"olive", 0x808000},
    {"olivedrab", 0x6b8e23},
    {"orange", 0xffa500},
    {"orangered", 0xff4500},
    {"orchid", 0xda70d6},
    {"palegoldenrod", 0xeee8aa},
    {"palegreen", 0x98fb98},
    {"paleturquoise", 0xafeeee},
    {"palevioletred", 0xdb7093},
    {"papayawhip", 0xffefd5},
    {"peachpuff", 0xffdab9},
    {"peru", 0xcd853f},
    {"pink", 0xffc0cb},
    {"plum", 0xdda0dd},
    {"powderblue", 0xb0e0e6},
    {"purple", 0x800080},
    {"rebeccapurple", 0x663399},
    {"red", 0xff0000},
    {"rosybrown", 0xbc8f8f},
    {"royalblue", 0x4169e1},
    {"saddlebrown", 0x8b4513},
    {"salmon", 0xfa8072},
    {"sandybrown", 0xf4a460},
    {"seagreen", 0x2e8b57},
    {"seashell", 0xfff5ee},
    {"sienna", 0xa0522d},
    {"silver", 0xc0c0c0},
    {"skyblue", 0x87ceeb},
    {"slateblue", 0x6a5acd},
    {"slategray", 0x708090},
    {"slategrey", 0x708090},
    {"snow", 0xfffafa},
    {"springgreen", 0x00ff7f},
    {"steelblue", 0x4682b4},
    {"tan", 0xd2b48c},
    {"teal", 0x008080},
    {"thistle", 0xd8bfd8},
    {"tomato", 0xff6347},
    {"turquoise", 0x40e0d0},
    {"violet", 0xee82ee},
    {"wheat", 0xf5deb3},
    {"white", 0xffffff},
    {"whitesmoke", 0xf5f5f5},
    {"yellow", 0xffff00},
    {"yellowgreen", 0x9acd32},
};

/* Case-insensitive comparison of the n bytes at s with the NUL-terminated
 * lower-case word w. */
static int word_cmp(const char *s, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++) {
        char a = lower(s[i]), b = w[i];
        if (b == '\0') return 1;
        if (a != b) return (unsigned char)a < (unsigned char)b ? -1 : 1;
    }
    return w[n] == '\0' ? 0 : -1;
}

static bool parse_named(const char *s, size_t n, style_color *out)
{
    if (n == 11 && word_cmp(s, n, "transparent") == 0) {
        *out = (style_color){0, 0, 0, 0};
        return true;
    }
    size_t lo = 0, hi = sizeof css_names / sizeof css_names[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = word_cmp(s, n, css_names[mid].name);
        if (c == 0) {
            uint32_t rgb = css_names[mid].rgb;
            *out = (style_color){(float)((rgb >> 16) & 0xff) / 255.0f,
                                 (float)((rgb >> 8) & 0xff) / 255.0f, (float)(rgb & 0xff) / 255.0f,
                                 1.0f};
            return true;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

static bool parse_hex(const char *s, size_t n, style_color *out)
{
    int d[8];
    if (n != 3 && n != 4 && n != 6 && n != 8) return false;
    for (size_t i = 0; i < n; i++)
        if ((d[i] = hex_digit(s[i])) < 0) return false;
    float c[4] = {0, 0, 0, 1};
    for (size_t i = 0; i < n / (n <= 4 ? 1 : 2); i++) {
        int v = n <= 4 ? d[i] * 17 : d[2 * i] * 16 + d[2 * i + 1];
        c[i] = (float)v / 255.0f;
    }
    *out = (style_color){c[0], c[1], c[2], c[3]};
    return true;
}

/* One argument of rgb()/hsl(): a number, and whether a '%' followed. */
static bool parse_arg(const char **pp, double *v, bool *percent)
{
    const char *p = skip_space(*pp);
    if (!parse_decimal(p, &p, v) || !isfinite(*v)) return false;
    *percent = *p == '%';
    if (*percent) p++;
    *pp = skip_space(p);
    return true;
}

static double hue_channel(double m1, double m2, double h)
{
    if (h < 0) h += 1;
    if (h > 1) h -= 1;
    if (h * 6 < 1) return m1 + (m2 - m1) * h * 6;
    if (h * 2 < 1) return m2;
    if (h * 3 < 2) return m1 + (m2 - m1) * (2.0 / 3.0 - h) * 6;
    return m1;
}

/* rgb(r, g, b[, a]) and hsl(h, s%, l%[, a]), the 'a' forms alike: channels
 * 0..255 or percentages, alpha 0..1 or a percentage; values are clamped
 * as CSS does. s points past the '('. */
static bool parse_function(const char *s, bool hsl, style_color *out)
{
    double v[4] = {0, 0, 0, 1};
    bool pct[4] = {false, false, false, false};
    const char *p = s;
    int n = 0;
    for (;;) {
        if (n == 4 || !parse_arg(&p, &v[n], &pct[n])) return false;
        n++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ')') break;
        return false;
    }
    if (*skip_space(p + 1) != '\0' || n < 3) return false;
    double a = pct[3] ? v[3] / 100 : v[3];
    if (!hsl) {
        double c[3];
        for (int i = 0; i < 3; i++)
            c[i] = pct[i] ? v[i] / 100 : v[i] / 255;
        *out = (style_color){clamp01(c[0]), clamp01(c[1]), clamp01(c[2]), clamp01(a)};
        return true;
    }
    if (pct[0] || !pct[1] || !pct[2]) return false;
    double h = fmod(v[0], 360.0) / 360.0;
    if (h < 0) h += 1;
    double sat = clamp01(v[1] / 100), lum = clamp01(v[2] / 100);
    double m2 = lum <= 0.5 ? lum * (sat + 1) : lum + sat - lum * sat;
    double m1 = lum * 2 - m2;
    *out =
        (style_color){clamp01(hue_channel(m1, m2, h + 1.0 / 3.0)), clamp01(hue_channel(m1, m2, h)),
                      clamp01(hue_channel(m1, m2, h - 1.0 / 3.0)), clamp01(a)};
    return true;
}

bool style_parse_color(const char *text, style_color *out)
{
    if (!text || !out) return false;
    const char *s = skip_space(text);
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (n == 0) return false;
    style_color c;
    bool ok;
    if (s[0] == '#') {
        ok = parse_hex(s + 1, n - 1, &c);
    } else if (n > 5 && word_cmp(s, 5, "rgba(") == 0) {
        ok = parse_function(s + 5, false, &c);
    } else if (n > 4 && word_cmp(s, 4, "rgb(") == 0) {
        ok = parse_function(s + 4, false, &c);
    } else if (n > 5 && word_cmp(s, 5, "hsla(") == 0) {
        ok = parse_function(s + 5, true, &c);
    } else if (n > 4 && word_cmp(s, 4, "hsl(") == 0) {
        ok = parse_function(s + 4, true, &c);
    } else {
        ok = parse_named(s, n, &c);
    }
    if (ok) *out = c;
    return ok;
}

/* ---- evaluation ----------------------------------------------------------- */

typedef enum { V_NULL, V_BOOL, V_NUM, V_STR, V_COLOR, V_ARRAY, V_ERROR } val_type;

/* A value during evaluation. V_ERROR is MapLibre's runtime error (an order
 * comparison of mismatched types, a non-number input to step): it spreads to
 * the top, where a filter is false and a property falls back to its default. */
typedef struct {
    val_type t;
    bool b;
    double num;
    const char *str;
    style_color color;
    const style_expr *arr; /* V_ARRAY: the OP_ARRAY node */
} xval;

/* Strings that evaluation builds (to-string of a number, concat) are kept
 * here, NUL-terminated, one after another; a node that only inspects its
 * arguments' strings gives the space back when it is done. */
typedef struct {
    char *buf;
    size_t cap; /* > 0 */
    size_t len; /* bytes in use */
} scratch;

static xval v_null(void)
{
    return (xval){.t = V_NULL};
}

static xval v_err(void)
{
    return (xval){.t = V_ERROR};
}

static xval v_bool(bool b)
{
    return (xval){.t = V_BOOL, .b = b};
}

static xval v_num(double d)
{
    return isfinite(d) ? (xval){.t = V_NUM, .num = d} : v_err();
}

static xval v_str(const char *s)
{
    return (xval){.t = V_STR, .str = s};
}

static xval v_color(style_color c)
{
    return (xval){.t = V_COLOR, .color = c};
}

static xval from_style_value(style_value sv)
{
    switch (sv.type) {
    case STYLE_BOOL:
        return v_bool(sv.b);
    case STYLE_NUMBER:
        return isfinite(sv.num) ? v_num(sv.num) : v_null();
    case STYLE_STRING:
        return sv.str ? v_str(sv.str) : v_null();
    case STYLE_COLOR:
        return v_color(sv.color);
    case STYLE_NULL:
        break;
    }
    return v_null();
}

static xval get_prop(const style_ctx *ctx, style_prop p)
{
    if (!ctx->get) return v_null();
    return from_style_value(ctx->get(ctx->feature, p));
}

/* Copies n bytes of s (which may lie in the buffer at or after at) to
 * buf + at, cut at a UTF-8 character boundary to leave room for a NUL;
 * returns the new end. Needs at < cap. */
static size_t sc_put(scratch *sc, size_t at, const char *s, size_t n)
{
    size_t room = sc->cap - 1 - at;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memmove(sc->buf + at, s, n);
    return at + n;
}

/* s appended to the scratch as a new string; "" when it is full. */
static const char *sc_add(scratch *sc, const char *s)
{
    if (sc->len >= sc->cap) return "";
    size_t start = sc->len;
    size_t end = sc_put(sc, start, s, strlen(s));
    sc->buf[end] = '\0';
    sc->len = end + 1;
    return sc->buf + start;
}

/* MapLibre's to-string of a scalar; numbers and colours are written to tmp.
 * NULL for arrays. */
static const char *stringify(xval v, char *tmp, size_t size)
{
    switch (v.t) {
    case V_NULL:
        return "";
    case V_BOOL:
        return v.b ? "true" : "false";
    case V_NUM:
        snprintf(tmp, size, "%.15g", v.num == 0 ? 0.0 : v.num);
        return tmp;
    case V_STR:
        return v.str;
    case V_COLOR:
        snprintf(tmp, size, "rgba(%d,%d,%d,%.6g)", (int)lround(clamp01(v.color.r) * 255.0),
                 (int)lround(clamp01(v.color.g) * 255.0), (int)lround(clamp01(v.color.b) * 255.0),
                 (double)clamp01(v.color.a));
        return tmp;
    case V_ARRAY:
    case V_ERROR:
        break;
    }
    return NULL;
}

static bool to_color(xval v, style_color *out)
{
    if (v.t == V_COLOR) {
        *out = v.color;
        return true;
    }
    return v.t == V_STR && style_parse_color(v.str, out);
}

/* Strict equality of scalars: different types are unequal, null equals null. */
static bool same(xval a, xval b)
{
    if (a.t != b.t) return false;
    switch (a.t) {
    case V_NULL:
        return true;
    case V_BOOL:
        return a.b == b.b;
    case V_NUM:
        return a.num == b.num;
    case V_STR:
        return strcmp(a.str, b.str) == 0;
    case V_COLOR:
        return a.color.r == b.color.r && a.color.g == b.color.g && a.color.b == b.color.b &&
               a.color.a == b.color.a;
    case V_ARRAY:
        return a.arr == b.arr;
    case V_ERROR:
        break;
    }
    return false;
}

/* How many of the n ascending stops are <= x. */
static size_t stops_below(const double *stops, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (stops[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* MapLibre's interpolation factor between stops lo and hi. */
static double interp_factor(double base, double x, double lo, double hi)
{
    double diff = hi - lo, progress = x - lo;
    if (diff == 0) return 0;
    if (base == 1) return progress / diff;
    return (pow(base, progress) - 1) / (pow(base, diff) - 1);
}

/* Colours mix like MapLibre's: linearly in premultiplied RGBA. */
static style_color mix_colors(style_color a, style_color b, double t)
{
    double pa[4] = {a.r * a.a, a.g * a.a, a.b * a.a, a.a};
    double pb[4] = {b.r * b.a, b.g * b.a, b.b * b.a, b.a};
    double m[4];
    for (int i = 0; i < 4; i++)
        m[i] = pa[i] + t * (pb[i] - pa[i]);
    if (!(m[3] > 0)) return (style_color){0, 0, 0, 0};
    return (style_color){clamp01(m[0] / m[3]), clamp01(m[1] / m[3]), clamp01(m[2] / m[3]),
                         clamp01(m[3])};
}

static xval eval(const style_expr *e, const style_ctx *ctx, scratch *sc);

static xval eval_interp(const style_expr *e, const style_ctx *ctx, scratch *sc)
{
    size_t mark = sc->len;
    xval x = eval(e->kid[0], ctx, sc);
    sc->len = mark;
    if (x.t == V_ERROR) return x;
    if (x.t != V_NUM) return v_err();
    size_t n = e->nitems;
    size_t i = stops_below(e->stops, n, x.num);
    /* at or outside the stops: that output exactly */
    if (i == 0) return eval(e->kid[1], ctx, sc);
    if (i == n || x.num == e->stops[i - 1]) return eval(e->kid[i], ctx, sc);
    double t = interp_factor(e->base, x.num, e->stops[i - 1], e->stops[i]);
    if (!isfinite(t)) return v_err();
    xval a = eval(e->kid[i], ctx, sc);
    xval b = eval(e->kid[i + 1], ctx, sc);
    xval out = v_err();
    if (a.t == V_NUM && b.t == V_NUM) {
        out = v_num(a.num + t * (b.num - a.num));
    } else if (a.t != V_ERROR && b.t != V_ERROR) {
        style_color ca, cb;
        if (to_color(a, &ca) && to_color(b, &cb)) out = v_color(mix_colors(ca, cb, t));
    }
    sc->len = mark;
    return out;
}

static xval eval_compare(const style_expr *e, const style_ctx *ctx, scratch *sc)
{
    size_t mark = sc->len;
    xval a = eval(e->kid[0], ctx, sc);
    xval b = a.t == V_ERROR ? a : eval(e->kid[1], ctx, sc);
    xval out;
    if (a.t == V_ERROR || b.t == V_ERROR) {
        out = v_err();
    } else if (e->op == OP_EQ || e->op == OP_NE) {
        out = v_bool(same(a, b) == (e->op == OP_EQ));
    } else if (a.t != b.t || (a.t != V_NUM && a.t != V_STR)) {
        out = e->lenient ? v_bool(false) : v_err();
    } else {
        int c = a.t == V_NUM ? (a.num < b.num ? -1 : a.num > b.num) : strcmp(a.str, b.str);
        bool r = e->op == OP_LT ? c < 0 : e->op == OP_LE ? c <= 0 : e->op == OP_GT ? c > 0 : c >= 0;
        out = v_bool(r);
    }
    sc->len = mark;
    return out;
}

static xval eval_in(const style_expr *e, const style_ctx *ctx, scratch *sc)
{
    size_t mark = sc->len;
    xval needle = eval(e->kid[0], ctx, sc);
    xval hay = needle.t == V_ERROR ? needle : eval(e->kid[1], ctx, sc);
    xval out = v_err();
    if (needle.t == V_ERROR || hay.t == V_ERROR || needle.t == V_COLOR || needle.t == V_ARRAY) {
        out = v_err();
    } else if (hay.t == V_NULL) {
        out = v_bool(false);
    } else if (hay.t == V_STR) {
        out = v_bool(needle.t == V_STR && strstr(hay.str, needle.str) != NULL);
    } else if (hay.t == V_ARRAY) {
        bool found = false;
        for (uint32_t i = 0; i < hay.arr->nitems && !found; i++)
            found = same(needle, from_style_value(hay.arr->items[i]));
        out = v_bool(found);
    }
    sc->len = mark;
    return out;
}

static xval eval_match(const style_expr *e, const style_ctx *ctx, scratch *sc)
{
    size_t mark = sc->len;
    xval in = eval(e->kid[0], ctx, sc);
    if (in.t == V_ERROR) return in;
    uint32_t pick = e->n - 2; /* the fallback */
    for (uint32_t i = 0; i < e->nitems; i++) {
        if (same(in, from_style_value(e->items[i]))) {
            pick = e->branch[i];
            break;
        }
    }
    sc->len = mark;
    return eval(e->kid[1 + pick], ctx, sc);
}

/* The arguments' texts joined into the scratch; once one is cut for lack
 * of room, the rest are left out too. */
static xval eval_concat(const style_expr *e, const style_ctx *ctx, scratch *sc)
{
    size_t start = sc->len, end = start;
    bool cut = start >= sc->cap;
    for (uint32_t i = 0; i < e->n; i++) {
        if (end < sc->cap) sc->len = end;
        xval v = eval(e->kid[i], ctx, sc);
        char tmp[NUM_TEXT];
        const char *piece = stringify(v, tmp, sizeof tmp);
        if (!piece) {
            sc->len = start;
            return v_err();
        }
        if (!cut) {
            size_t n = strlen(piece);
            cut = n > sc->cap - 1 - end;
            end = sc_put(sc, end, piece, n);
        }
    }
    if (end >= sc->cap) {
        sc->len = start;
        return v_str("");
    }
    sc->buf[end] = '\0';
    sc->len = end + 1;
    return v_str(sc->buf + start);
}

/* MapLibre's to-number: null and false are 0, true is 1, a string must be
 * wholly a decimal number; the first argument that converts wins. */
static xval eval_to_number(const style_expr *e, const style_ctx *ctx, scratch *sc)
{
    size_t mark = sc->len;
    xval out = v_err();
    for (uint32_t i = 0; i < e->n; i++) {
        xval v = eval(e->kid[i], ctx, sc);
        if (v.t == V_ERROR) {
            out = v;
            break;
        }
        if (v.t == V_NULL || v.t == V_BOOL) {
            out = v_num(v.t == V_BOOL && v.b ? 1 : 0);
            break;
        }
        if (v.t == V_NUM) {
            out = v;
            break;
        }
        if (v.t == V_STR) {
            const char *p = skip_space(v.str), *end;
            double d;
            if (parse_decimal(p, &end, &d) && *skip_space(end) == '\0' && isfinite(d)) {
                out = v_num(d);
                break;
            }
        }
    }
    sc->len = mark;
    return out;
}

static xval eval(const style_expr *e, const style_ctx *ctx, scratch *sc)
{
    switch (e->op) {
    case OP_LIT:
        return from_style_value(e->lit);
    case OP_ARRAY:
        return (xval){.t = V_ARRAY, .arr = e};
    case OP_GET:
        return get_prop(ctx, e->prop);
    case OP_HAS:
        return v_bool(get_prop(ctx, e->prop).t != V_NULL);
    case OP_NOT: {
        size_t mark = sc->len;
        xval v = eval(e->kid[0], ctx, sc);
        sc->len = mark;
        return v.t == V_BOOL ? v_bool(!v.b) : v_err();
    }
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        return eval_compare(e, ctx, sc);
    case OP_ALL:
    case OP_ANY: {
        size_t mark = sc->len;
        bool any = e->op == OP_ANY;
        for (uint32_t i = 0; i < e->n; i++) {
            xval v = eval(e->kid[i], ctx, sc);
            sc->len = mark;
            if (v.t != V_BOOL) return v_err();
            if (v.b == any) return v_bool(any);
        }
        return v_bool(!any);
    }
    case OP_IN:
        return eval_in(e, ctx, sc);
    case OP_MATCH:
        return eval_match(e, ctx, sc);
    case OP_CASE: {
        size_t mark = sc->len;
        for (uint32_t i = 0; i + 1 < e->n; i += 2) {
            xval c = eval(e->kid[i], ctx, sc);
            sc->len = mark;
            if (c.t != V_BOOL) return v_err();
            if (c.b) return eval(e->kid[i + 1], ctx, sc);
        }
        return eval(e->kid[e->n - 1], ctx, sc);
    }
    case OP_STEP: {
        size_t mark = sc->len;
        xval x = eval(e->kid[0], ctx, sc);
        sc->len = mark;
        if (x.t == V_ERROR) return x;
        if (x.t != V_NUM) return v_err();
        return eval(e->kid[1 + stops_below(e->stops, e->nitems, x.num)], ctx, sc);
    }
    case OP_INTERP:
        return eval_interp(e, ctx, sc);
    case OP_COALESCE:
        for (uint32_t i = 0; i < e->n; i++) {
            size_t mark = sc->len;
            xval v = eval(e->kid[i], ctx, sc);
            if (v.t != V_NULL) return v;
            sc->len = mark;
        }
        return v_null();
    case OP_TO_NUMBER:
        return eval_to_number(e, ctx, sc);
    case OP_TO_STRING: {
        size_t mark = sc->len;
        xval v = eval(e->kid[0], ctx, sc);
        if (v.t == V_STR || v.t == V_ERROR) return v;
        sc->len = mark;
        char tmp[NUM_TEXT];
        const char *s = stringify(v, tmp, sizeof tmp);
        if (!s) return v_err();
        return v_str(s == tmp ? sc_add(sc, tmp) : s);
    }
    case OP_CONCAT:
        return eval_concat(e, ctx, sc);
    case OP_ZOOM:
        return v_num(ctx->zoom);
    case OP_GEOMETRY:
        return ctx->geometry ? v_str(ctx->geometry) : v_null();
    case OP_DENSITY:
        return v_num(ctx->heatmap_density);
    }
    return v_err();
}

/* Evaluates e with a scratch buffer of this frame: a string built there
 * cannot be returned and comes back as null (see style_eval_text). */
#define EVAL_LOCAL(e, ctx, v)                                                                      \
    char buf_[EVAL_SCRATCH];                                                                       \
    scratch sc_ = {buf_, sizeof buf_, 0};                                                          \
    xval v = eval((e), (ctx), &sc_);                                                               \
    if (v.t == V_STR && (uintptr_t)v.str >= (uintptr_t)buf_ &&                                     \
        (uintptr_t)v.str < (uintptr_t)buf_ + sizeof buf_)                                          \
    v = v_null()

style_value style_eval(const style_expr *e, const style_ctx *ctx)
{
    style_value out = {.type = STYLE_NULL};
    if (!e || !ctx) return out;
    EVAL_LOCAL(e, ctx, v);
    switch (v.t) {
    case V_BOOL:
        out.type = STYLE_BOOL;
        out.b = v.b;
        break;
    case V_NUM:
        out.type = STYLE_NUMBER;
        out.num = v.num;
        break;
    case V_STR:
        out.type = STYLE_STRING;
        out.str = v.str;
        break;
    case V_COLOR:
        out.type = STYLE_COLOR;
        out.color = v.color;
        break;
    case V_NULL:
    case V_ARRAY:
    case V_ERROR:
        break;
    }
    return out;
}

double style_eval_number(const style_expr *e, const style_ctx *ctx, double fallback)
{
    if (!e || !ctx) return fallback;
    EVAL_LOCAL(e, ctx, v);
    return v.t == V_NUM ? v.num : fallback;
}

style_color style_eval_color(const style_expr *e, const style_ctx *ctx, style_color fallback)
{
    if (!e || !ctx) return fallback;
    EVAL_LOCAL(e, ctx, v);
    style_color c;
    return to_color(v, &c) ? c : fallback;
}

const char *style_eval_string(const style_expr *e, const style_ctx *ctx, const char *fallback)
{
    if (!e || !ctx) return fallback;
    EVAL_LOCAL(e, ctx, v);
    return v.t == V_STR ? v.str : fallback;
}

bool style_eval_filter(const style_expr *filter, const style_ctx *ctx)
{
    if (!filter) return true;
    if (!ctx) return false;
    EVAL_LOCAL(filter, ctx, v);
    return v.t == V_BOOL && v.b;
}

size_t style_eval_numbers(const style_expr *e, const style_ctx *ctx, double *out, size_t max)
{
    if (!e || !ctx) return 0;
    EVAL_LOCAL(e, ctx, v);
    if (v.t != V_ARRAY) return 0;
    size_t n = 0;
    for (uint32_t i = 0; i < v.arr->nitems && n < max; i++) {
        if (v.arr->items[i].type != STYLE_NUMBER) return 0;
        out[n++] = v.arr->items[i].num;
    }
    return n;
}

size_t style_eval_strings(const style_expr *e, const style_ctx *ctx, const char **out, size_t max)
{
    if (!e || !ctx) return 0;
    EVAL_LOCAL(e, ctx, v);
    if (v.t != V_ARRAY) return 0;
    size_t n = 0;
    for (uint32_t i = 0; i < v.arr->nitems && n < max; i++) {
        if (v.arr->items[i].type != STYLE_STRING) return 0;
        out[n++] = v.arr->items[i].str;
    }
    return n;
}

const char *style_eval_text(const style_expr *e, const style_ctx *ctx, char *buf, size_t cap)
{
    if (!e || !ctx || !buf || cap == 0) return NULL;
    scratch sc = {buf, cap, 0};
    xval v = eval(e, ctx, &sc);
    if (v.t == V_STR) return v.str;
    char tmp[NUM_TEXT];
    const char *s = v.t == V_NULL ? NULL : stringify(v, tmp, sizeof tmp);
    return s ? sc_add(&sc, s) : NULL;
}

bool style_expr_is_feature_constant(const style_expr *e)
{
    return !e || e->feature_const;
}

/* ---- loading: context and messages ---------------------------------------- */

typedef enum { W_ANY, W_BOOL, W_NUM, W_STR, W_COLOR, W_NUMARR, W_STRARR, W_TEXT } want_kind;

/* What a position in an expression expects. Output positions (match and
 * case outputs, stop values) pass the property's want down unchanged, so
 * a colour string or an enum value is checked where it is written. */
typedef struct {
    want_kind kind;
    const char *const *enums; /* W_STR: allowed values, NULL-terminated; NULL: any */
    double min, max;          /* W_NUM, W_NUMARR: allowed literal numbers, inclusive */
} want;

static const want want_any = {W_ANY, NULL, -HUGE_VAL, HUGE_VAL};
static const want want_bool = {W_BOOL, NULL, -HUGE_VAL, HUGE_VAL};
static const want want_num = {W_NUM, NULL, -HUGE_VAL, HUGE_VAL};

typedef struct {
    const char *file;  /* names the file in messages */
    const char *layer; /* the layer being read, NULL at the root */
    char where[160];   /* e.g. "paint property 'fill-color'", "filter"; "" */
    arena *ar;
    zs_error *err;
    zs_status status;
    bool density_ok; /* heatmap-density may be read (heatmap-color) */
    int depth;
} loader;

static zs_status failv(loader *c, zs_status st, const char *fmt, va_list ap) ZS_PRINTF(3, 0);

static zs_status failv(loader *c, zs_status st, const char *fmt, va_list ap)
{
    char detail[ZS_ERROR_MSG / 2];
    vsnprintf(detail, sizeof detail, fmt, ap);
    c->status = st;
    if (c->layer && c->where[0])
        return zs_fail(c->err, st, "%s: layer '%s': %s: %s", c->file, c->layer, c->where, detail);
    if (c->layer) return zs_fail(c->err, st, "%s: layer '%s': %s", c->file, c->layer, detail);
    return zs_fail(c->err, st, "%s: %s", c->file, detail);
}

/* Records an invalid-style error; returns ZS_EINVAL. */
static zs_status fail(loader *c, const char *fmt, ...) ZS_PRINTF(2, 3);

static zs_status fail(loader *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zs_status st = failv(c, ZS_EINVAL, fmt, ap);
    va_end(ap);
    return st;
}

/* The same for the expression compilers, which return the node. */
static style_expr *failx(loader *c, const char *fmt, ...) ZS_PRINTF(2, 3);

static style_expr *failx(loader *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(c, ZS_EINVAL, fmt, ap);
    va_end(ap);
    return NULL;
}

static void *nomem(loader *c)
{
    c->status = ZS_ENOMEM;
    zs_fail(c->err, ZS_ENOMEM, "%s: the style is too large (over %u MiB compiled) or out of memory",
            c->file, STYLE_MAX_ARENA >> 20);
    return NULL;
}

static void *alloc(loader *c, size_t count, size_t size)
{
    void *p = arena_alloc(c->ar, count, size);
    return p ? p : nomem(c);
}

static const char *copy_str(loader *c, const char *s)
{
    const char *p = arena_strdup(c->ar, s);
    return p ? p : nomem(c);
}

/* ---- loading: expressions ------------------------------------------------- */

static style_expr *node_new(loader *c, expr_op op, expr_type type, size_t nkids)
{
    if (nkids > UINT32_MAX) return nomem(c);
    style_expr *e = alloc(c, 1, sizeof *e);
    if (!e) return NULL;
    e->op = op;
    e->type = type;
    e->feature_const = op != OP_GET && op != OP_HAS && op != OP_GEOMETRY;
    e->base = 1;
    if (nkids) {
        e->kid = alloc(c, nkids, sizeof *e->kid);
        if (!e->kid) return NULL;
        e->n = (uint32_t)nkids;
    }
    return e;
}

/* Sets kid i; a kid that reads the feature makes its parent do so too. */
static void set_kid(style_expr *e, size_t i, const style_expr *k)
{
    e->kid[i] = k;
    if (!k->feature_const) e->feature_const = false;
}

static expr_type unite(expr_type a, expr_type b)
{
    if (a == b || b == T_NULL) return a;
    if (a == T_NULL) return b;
    if (a == T_EMPTYARR && (b == T_NUMARR || b == T_STRARR)) return b;
    if (b == T_EMPTYARR && (a == T_NUMARR || a == T_STRARR)) return a;
    return T_ANY;
}

static bool fits(want_kind w, expr_type t)
{
    if (t == T_ANY || t == T_NULL) return true;
    switch (w) {
    case W_ANY:
        return true;
    case W_BOOL:
        return t == T_BOOL;
    case W_NUM:
        return t == T_NUM;
    case W_STR:
        return t == T_STR;
    case W_COLOR:
        return t == T_COLOR || t == T_STR;
    case W_NUMARR:
        return t == T_NUMARR || t == T_EMPTYARR;
    case W_STRARR:
        return t == T_STRARR || t == T_EMPTYARR;
    case W_TEXT:
        return t == T_STR || t == T_NUM || t == T_BOOL;
    }
    return false;
}

static const char *want_text(want_kind w)
{
    static const char *const names[] = {
        "a value",
        "a boolean",
        "a number",
        "a string",
        "a colour",
        "an array of numbers",
        "an array of strings",
        "a text (string or number)",
    };
    return names[w];
}

static const char *type_text(expr_type t)
{
    static const char *const names[] = {
        "a value",        "null",          "a boolean",           "a number",
        "a string",       "a colour",      "an array of numbers", "an array of strings",
        "an empty array", "a mixed array",
    };
    return names[t];
}

/* Fails unless e's type fits w, describing what was found. */
static bool check_type(loader *c, const style_expr *e, want w)
{
    if (fits(w.kind, e->type)) return true;
    if (e->op == OP_LIT && e->lit.type == STYLE_STRING)
        fail(c, "expected %s, found the string \"%.80s\"", want_text(w.kind), e->lit.str);
    else if (e->op == OP_LIT && e->lit.type == STYLE_NUMBER)
        fail(c, "expected %s, found the number %g", want_text(w.kind), e->lit.num);
    else if (e->op == OP_LIT && e->lit.type == STYLE_BOOL)
        fail(c, "expected %s, found %s", want_text(w.kind), e->lit.b ? "true" : "false");
    else if (e->op == OP_LIT || e->op == OP_ARRAY)
        fail(c, "expected %s, found %s", want_text(w.kind), type_text(e->type));
    else
        fail(c, "expected %s, found %s from [\"%s\"]", want_text(w.kind), type_text(e->type),
             op_names[e->op]);
    return false;
}

static style_expr *compile(loader *c, const json_t *j, want w);

static style_expr *lit_number(loader *c, double v, want w)
{
    if (!isfinite(v)) return failx(c, "numbers must be finite");
    if ((w.kind == W_NUM || w.kind == W_NUMARR) && (v < w.min || v > w.max))
        return failx(c, "%g is out of range (%g to %g)", v, w.min, w.max);
    style_expr *e = node_new(c, OP_LIT, T_NUM, 0);
    if (e) e->lit = (style_value){.type = STYLE_NUMBER, .num = v};
    return e;
}

static style_expr *lit_string(loader *c, const char *s, want w)
{
    style_expr *e;
    if (w.kind == W_COLOR) {
        style_color col;
        if (!style_parse_color(s, &col)) return failx(c, "\"%.80s\" is not a colour", s);
        e = node_new(c, OP_LIT, T_COLOR, 0);
        if (e) e->lit = (style_value){.type = STYLE_COLOR, .color = col};
        return e;
    }
    if (w.kind == W_STR && w.enums) {
        bool ok = false;
        char list[160] = "";
        size_t len = 0;
        for (const char *const *v = w.enums; *v; v++) {
            ok = ok || strcmp(*v, s) == 0;
            int k = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", *v);
            if (k > 0 && (size_t)k < sizeof list - len) len += (size_t)k;
        }
        if (!ok) return failx(c, "\"%.80s\" is not one of %s", s, list);
    }
    const char *copy = copy_str(c, s);
    if (!copy) return NULL;
    e = node_new(c, OP_LIT, T_STR, 0);
    if (e) e->lit = (style_value){.type = STYLE_STRING, .str = copy};
    return e;
}

/* A literal array of scalars (null, booleans, numbers, strings). */
static style_expr *make_array(loader *c, const json_t *j, want w)
{
    size_t n = json_array_size(j);
    if (n > UINT32_MAX) return nomem(c);
    style_expr *e = node_new(c, OP_ARRAY, T_EMPTYARR, 0);
    style_value *items = e ? alloc(c, n, sizeof *items) : NULL;
    if (!items) return NULL;
    bool nums = true, strs = true;
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(j, i);
        style_value *it = &items[i];
        if (json_is_number(x)) {
            it->type = STYLE_NUMBER;
            it->num = json_number_value(x);
            if (!isfinite(it->num)) return failx(c, "numbers must be finite");
            if (w.kind == W_NUMARR && (it->num < w.min || it->num > w.max))
                return failx(c, "%g is out of range (%g to %g)", it->num, w.min, w.max);
            strs = false;
        } else if (json_is_string(x)) {
            it->type = STYLE_STRING;
            if (!(it->str = copy_str(c, json_string_value(x)))) return NULL;
            nums = false;
        } else if (json_is_boolean(x)) {
            *it = (style_value){.type = STYLE_BOOL, .b = json_is_true(x)};
            nums = strs = false;
        } else if (json_is_null(x)) {
            nums = strs = false;
        } else {
            return failx(c, "arrays in a literal hold only numbers, strings, booleans and null");
        }
    }
    e->items = items;
    e->nitems = (uint32_t)n;
    e->type = n == 0 ? T_EMPTYARR : nums ? T_NUMARR : strs ? T_STRARR : T_ARRAY;
    return e;
}

static bool resolve_prop(loader *c, const char *op, const json_t *name, style_prop *out)
{
    if (!json_is_string(name)) {
        fail(c, "[\"%s\", ...] takes the property name as a string", op);
        return false;
    }
    if (!prop_by_name(json_string_value(name), out)) {
        fail(c, "[\"%s\", \"%.80s\"]: unknown feature property '%.80s'", op,
             json_string_value(name), json_string_value(name));
        return false;
    }
    return true;
}

/* Compiles j[first], j[first+1], ... into kids first-1.. of e with w. */
static bool compile_args(loader *c, style_expr *e, const json_t *j, size_t first, want w)
{
    for (size_t i = first; i < json_array_size(j); i++) {
        style_expr *k = compile(c, json_array_get(j, i), w);
        if (!k) return false;
        set_kid(e, i - first, k);
    }
    return true;
}

static bool is_scalar_type(expr_type t)
{
    return t == T_ANY || t == T_NULL || t == T_BOOL || t == T_NUM || t == T_STR;
}

static style_expr *compile_compare(loader *c, const json_t *j, size_t n, expr_op op)
{
    if (n == 4) return failx(c, "[\"%s\"] with a collator is not supported", op_names[op]);
    if (n != 3) return failx(c, "[\"%s\"] takes 2 arguments", op_names[op]);
    style_expr *e = node_new(c, op, T_BOOL, 2);
    if (!e || !compile_args(c, e, j, 1, want_any)) return NULL;
    expr_type a = e->kid[0]->type, b = e->kid[1]->type;
    bool order = op != OP_EQ && op != OP_NE;
    for (int i = 0; i < 2; i++) {
        expr_type t = i ? b : a;
        if (!is_scalar_type(t) || (order && (t == T_BOOL || t == T_NULL)))
            return failx(c, "[\"%s\"] cannot compare %s", op_names[op], type_text(t));
    }
    if (a != b && a != T_ANY && b != T_ANY && a != T_NULL && b != T_NULL)
        return failx(c, "[\"%s\"] cannot compare %s with %s", op_names[op], type_text(a),
                     type_text(b));
    return e;
}

/* Orders labels of one type: strings by bytes, numbers by value. */
static int compare_labels(const void *a, const void *b)
{
    const style_value *x = a, *y = b;
    if (x->type == STYLE_STRING) return strcmp(x->str, y->str);
    return (x->num > y->num) - (x->num < y->num);
}

/* Fails when a label appears twice (sorted copy: n log n on long lists). */
static bool labels_unique(loader *c, const style_value *labels, size_t n)
{
    style_value *sorted = malloc(n * sizeof *sorted);
    if (!sorted) {
        nomem(c);
        return false;
    }
    memcpy(sorted, labels, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_labels);
    for (size_t i = 1; i < n; i++) {
        if (compare_labels(&sorted[i - 1], &sorted[i]) != 0) continue;
        if (sorted[i].type == STYLE_STRING)
            fail(c, "[\"match\"] label \"%.80s\" appears twice", sorted[i].str);
        else
            fail(c, "[\"match\"] label %g appears twice", sorted[i].num);
        free(sorted);
        return false;
    }
    free(sorted);
    return true;
}

static style_expr *compile_match(loader *c, const json_t *j, size_t n, want w)
{
    if (n < 5 || n % 2 == 0)
        return failx(c, "[\"match\"] takes an input, label/output pairs and a fallback");
    size_t branches = (n - 3) / 2, nlabels = 0;
    for (size_t b = 0; b < branches; b++) {
        const json_t *l = json_array_get(j, 2 + 2 * b);
        size_t k = json_is_array(l) ? json_array_size(l) : 1;
        if (k == 0) return failx(c, "[\"match\"] label arrays must not be empty");
        nlabels += k;
        if (nlabels > STYLE_MAX_LABELS)
            return failx(c, "[\"match\"] has more than %d labels", STYLE_MAX_LABELS);
    }
    style_expr *e = node_new(c, OP_MATCH, T_NULL, branches + 2);
    if (!e) return NULL;
    style_value *labels = alloc(c, nlabels, sizeof *labels);
    uint32_t *branch = alloc(c, nlabels, sizeof *branch);
    if (!labels || !branch) return NULL;
    style_expr *in = compile(c, json_array_get(j, 1), want_any);
    if (!in) return NULL;
    set_kid(e, 0, in);
    size_t li = 0;
    for (size_t b = 0; b < branches; b++) {
        const json_t *l = json_array_get(j, 2 + 2 * b);
        size_t k = json_is_array(l) ? json_array_size(l) : 1;
        for (size_t i = 0; i < k; i++, li++) {
            const json_t *x = json_is_array(l) ? json_array_get(l, i) : l;
            if (json_is_string(x)) {
                labels[li].type = STYLE_STRING;
                if (!(labels[li].str = copy_str(c, json_string_value(x)))) return NULL;
            } else if (json_is_number(x)) {
                double v = json_number_value(x);
                if (!isfinite(v) || v != floor(v))
                    return failx(c, "[\"match\"] number labels must be integers");
                labels[li] = (style_value){.type = STYLE_NUMBER, .num = v};
            } else {
                return failx(c, "[\"match\"] labels must be strings or numbers");
            }
            if (labels[li].type != labels[0].type)
                return failx(c, "[\"match\"] labels must be all strings or all numbers");
            branch[li] = (uint32_t)b;
        }
        style_expr *out = compile(c, json_array_get(j, 3 + 2 * b), w);
        if (!out) return NULL;
        set_kid(e, 1 + b, out);
        e->type = unite(e->type, out->type);
    }
    if (!labels_unique(c, labels, nlabels)) return NULL;
    expr_type lt = labels[0].type == STYLE_STRING ? T_STR : T_NUM;
    if (in->type != T_ANY && in->type != lt)
        return failx(c, "[\"match\"] labels are %ss but the input is %s",
                     lt == T_STR ? "string" : "number", type_text(in->type));
    style_expr *fb = compile(c, json_array_get(j, n - 1), w);
    if (!fb) return NULL;
    set_kid(e, branches + 1, fb);
    e->type = unite(e->type, fb->type);
    e->items = labels;
    e->branch = branch;
    e->nitems = (uint32_t)nlabels;
    return e;
}

static style_expr *compile_case(loader *c, const json_t *j, size_t n, want w)
{
    if (n < 4 || n % 2 != 0)
        return failx(c, "[\"case\"] takes condition/output pairs and a fallback");
    style_expr *e = node_new(c, OP_CASE, T_NULL, n - 1);
    if (!e) return NULL;
    for (size_t i = 1; i < n; i++) {
        bool cond = i % 2 == 1 && i != n - 1;
        style_expr *k = compile(c, json_array_get(j, i), cond ? want_bool : w);
        if (!k) return NULL;
        set_kid(e, i - 1, k);
        if (!cond) e->type = unite(e->type, k->type);
    }
    return e;
}

/* Reads the stop inputs at j[first], j[first+2], ...: number literals in
 * strictly ascending order. */
static double *read_stops(loader *c, const json_t *j, size_t first, size_t count, const char *op)
{
    double *stops = alloc(c, count ? count : 1, sizeof *stops);
    if (!stops) return NULL;
    for (size_t i = 0; i < count; i++) {
        const json_t *x = json_array_get(j, first + 2 * i);
        if (!json_is_number(x)) {
            failx(c, "[\"%s\"] stop inputs must be number literals", op);
            return NULL;
        }
        stops[i] = json_number_value(x);
        if (!isfinite(stops[i]) || (i > 0 && !(stops[i] > stops[i - 1]))) {
            failx(c, "[\"%s\"] stop inputs must be in strictly ascending order", op);
            return NULL;
        }
    }
    return stops;
}

static style_expr *compile_step(loader *c, const json_t *j, size_t n, want w)
{
    if (n < 5 || n % 2 == 0)
        return failx(c, "[\"step\"] takes an input, an output, then stop/output pairs");
    size_t nst = (n - 3) / 2;
    style_expr *e = node_new(c, OP_STEP, T_NULL, nst + 2);
    if (!e) return NULL;
    style_expr *in = compile(c, json_array_get(j, 1), want_num);
    if (!in) return NULL;
    set_kid(e, 0, in);
    double *stops = read_stops(c, j, 3, nst, "step");
    if (!stops) return NULL;
    for (size_t i = 0; i <= nst; i++) {
        style_expr *k = compile(c, json_array_get(j, 2 + 2 * i), w);
        if (!k) return NULL;
        set_kid(e, 1 + i, k);
        e->type = unite(e->type, k->type);
    }
    e->stops = stops;
    e->nitems = (uint32_t)nst;
    return e;
}

/* Outputs of interpolate must mix: numbers or colours. */
static style_expr *interp_outputs_ok(loader *c, style_expr *e)
{
    bool num = false, col = false;
    for (uint32_t i = 1; i < e->n; i++) {
        expr_type t = e->kid[i]->type;
        if (t == T_NUM) num = true;
        if (t == T_COLOR) col = true;
        if (t != T_NUM && t != T_COLOR && t != T_ANY)
            return failx(c, "[\"interpolate\"] outputs must be numbers or colours, found %s",
                         type_text(t));
    }
    if (num && col) return failx(c, "[\"interpolate\"] outputs mix numbers and colours");
    e->type = num ? T_NUM : col ? T_COLOR : T_ANY;
    return e;
}

static want interp_want(want w)
{
    return w.kind == W_NUM || w.kind == W_COLOR ? w : want_any;
}

static style_expr *compile_interpolate(loader *c, const json_t *j, size_t n, want w)
{
    if (w.kind != W_ANY && w.kind != W_NUM && w.kind != W_COLOR)
        return failx(c, "[\"interpolate\"] yields numbers or colours, not %s", want_text(w.kind));
    if (n < 5 || n % 2 == 0)
        return failx(c, "[\"interpolate\"] takes a type, an input and stop/output pairs");
    const json_t *kind = json_array_get(j, 1);
    const char *kname = json_string_value(json_array_get(kind, 0));
    double base = 1;
    if (!json_is_array(kind) || !kname)
        return failx(c, "[\"interpolate\"] type must be [\"linear\"] or [\"exponential\", base]");
    if (strcmp(kname, "linear") == 0 && json_array_size(kind) == 1) {
        base = 1;
    } else if (strcmp(kname, "exponential") == 0 && json_array_size(kind) == 2 &&
               json_is_number(json_array_get(kind, 1))) {
        base = json_number_value(json_array_get(kind, 1));
        if (!(base > 0) || !isfinite(base))
            return failx(c, "[\"interpolate\"] exponential base must be a positive number");
    } else {
        return failx(c,
                     "[\"interpolate\"] type [\"%.40s\", ...] is not supported (use "
                     "[\"linear\"] or [\"exponential\", base])",
                     kname);
    }
    size_t nst = (n - 3) / 2;
    style_expr *e = node_new(c, OP_INTERP, T_NULL, nst + 1);
    if (!e) return NULL;
    e->base = base;
    style_expr *in = compile(c, json_array_get(j, 2), want_num);
    if (!in) return NULL;
    set_kid(e, 0, in);
    double *stops = read_stops(c, j, 3, nst, "interpolate");
    if (!stops) return NULL;
    for (size_t i = 0; i < nst; i++) {
        style_expr *k = compile(c, json_array_get(j, 4 + 2 * i), interp_want(w));
        if (!k) return NULL;
        set_kid(e, 1 + i, k);
    }
    e->stops = stops;
    e->nitems = (uint32_t)nst;
    return interp_outputs_ok(c, e);
}

static style_expr *compile_in(loader *c, const json_t *j, size_t n)
{
    if (n != 3) return failx(c, "[\"in\"] takes a value and an array or string");
    style_expr *e = node_new(c, OP_IN, T_BOOL, 2);
    if (!e || !compile_args(c, e, j, 1, want_any)) return NULL;
    if (!is_scalar_type(e->kid[0]->type))
        return failx(c, "[\"in\"] cannot look for %s", type_text(e->kid[0]->type));
    expr_type h = e->kid[1]->type;
    if (h != T_ANY && h != T_NULL && h != T_STR && h != T_NUMARR && h != T_STRARR &&
        h != T_EMPTYARR && h != T_ARRAY)
        return failx(c, "[\"in\"] cannot look in %s (use [\"literal\", [...]] for a list)",
                     type_text(h));
    return e;
}

/* ["format", text, {options}?, text, ...]: the texts joined; no options. */
static style_expr *compile_format(loader *c, const json_t *j, size_t n)
{
    size_t parts = 0;
    for (size_t i = 1; i < n; i++) {
        const json_t *x = json_array_get(j, i);
        if (json_is_object(x)) {
            if (i == 1) return failx(c, "[\"format\"] must start with a text");
            if (json_object_size(x) != 0)
                return failx(c, "[\"format\"] section options are not supported");
        } else {
            parts++;
        }
    }
    if (parts == 0) return failx(c, "[\"format\"] needs a text");
    style_expr *e = node_new(c, OP_CONCAT, T_STR, parts);
    if (!e) return NULL;
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        const json_t *x = json_array_get(j, i);
        if (json_is_object(x)) continue;
        style_expr *p = compile(c, x, want_any);
        if (!p) return NULL;
        if (!is_scalar_type(p->type) && p->type != T_COLOR)
            return failx(c, "[\"format\"] cannot show %s", type_text(p->type));
        set_kid(e, k++, p);
    }
    return e;
}

/* Operators with a fixed shape share one compiler. */
static style_expr *compile_simple(loader *c, const json_t *j, size_t n, expr_op op, want w)
{
    switch (op) {
    case OP_GET:
    case OP_HAS: {
        if (n == 3) return failx(c, "[\"%s\"] from an object is not supported", op_names[op]);
        if (n != 2) return failx(c, "[\"%s\"] takes a property name", op_names[op]);
        style_prop p;
        if (!resolve_prop(c, op_names[op], json_array_get(j, 1), &p)) return NULL;
        style_expr *e = node_new(c, op, op == OP_GET ? T_ANY : T_BOOL, 0);
        if (e) e->prop = p;
        return e;
    }
    case OP_NOT: {
        if (n != 2) return failx(c, "[\"!\"] takes 1 argument");
        style_expr *e = node_new(c, op, T_BOOL, 1);
        return e && compile_args(c, e, j, 1, want_bool) ? e : NULL;
    }
    case OP_ALL:
    case OP_ANY: {
        style_expr *e = node_new(c, op, T_BOOL, n - 1);
        return e && compile_args(c, e, j, 1, want_bool) ? e : NULL;
    }
    case OP_COALESCE: {
        if (n < 2) return failx(c, "[\"coalesce\"] takes at least 1 argument");
        style_expr *e = node_new(c, op, T_NULL, n - 1);
        if (!e || !compile_args(c, e, j, 1, w)) return NULL;
        for (uint32_t i = 0; i < e->n; i++)
            e->type = unite(e->type, e->kid[i]->type);
        return e;
    }
    case OP_TO_NUMBER:
    case OP_TO_STRING:
    case OP_CONCAT: {
        if (n < 2 || (op == OP_TO_STRING && n != 2))
            return failx(c, "[\"%s\"] takes %s", op_names[op],
                         op == OP_TO_STRING ? "1 argument" : "at least 1 argument");
        style_expr *e = node_new(c, op, op == OP_TO_NUMBER ? T_NUM : T_STR, n - 1);
        if (!e || !compile_args(c, e, j, 1, want_any)) return NULL;
        for (uint32_t i = 0; i < e->n; i++)
            if (op != OP_TO_NUMBER && !is_scalar_type(e->kid[i]->type) &&
                e->kid[i]->type != T_COLOR)
                return failx(c, "[\"%s\"] cannot convert %s", op_names[op],
                             type_text(e->kid[i]->type));
        return e;
    }
    case OP_ZOOM:
    case OP_GEOMETRY:
    case OP_DENSITY:
        if (n != 1) return failx(c, "[\"%s\"] takes no arguments", op_names[op]);
        if (op == OP_DENSITY && !c->density_ok)
            return failx(c, "[\"heatmap-density\"] is only available in heatmap-color");
        return node_new(c, op, op == OP_GEOMETRY ? T_STR : T_NUM, 0);
    default:
        break;
    }
    return failx(c, "internal: operator %d", (int)op);
}

static const struct {
    const char *name;
    expr_op op;
} operators[] = {
    {"literal", OP_LIT},
    {"get", OP_GET},
    {"has", OP_HAS},
    {"!", OP_NOT},
    {"==", OP_EQ},
    {"!=", OP_NE},
    {"<", OP_LT},
    {"<=", OP_LE},
    {">", OP_GT},
    {">=", OP_GE},
    {"all", OP_ALL},
    {"any", OP_ANY},
    {"in", OP_IN},
    {"match", OP_MATCH},
    {"case", OP_CASE},
    {"step", OP_STEP},
    {"interpolate", OP_INTERP},
    {"coalesce", OP_COALESCE},
    {"to-number", OP_TO_NUMBER},
    {"to-string", OP_TO_STRING},
    {"concat", OP_CONCAT},
    {"format", OP_CONCAT}, /* compile_format */
    {"zoom", OP_ZOOM},
    {"geometry-type", OP_GEOMETRY},
    {"heatmap-density", OP_DENSITY},
};

static int find_operator(const char *name)
{
    for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++)
        if (strcmp(operators[i].name, name) == 0) return (int)i;
    return -1;
}

/* True when j is written as an expression (["operator", ...]). */
static bool looks_like_expression(const json_t *j)
{
    const char *name = json_string_value(json_array_get(j, 0));
    return name && find_operator(name) >= 0;
}

static style_expr *compile_call(loader *c, const json_t *j, want w)
{
    size_t n = json_array_size(j);
    const char *name = json_string_value(json_array_get(j, 0));
    if (!name)
        return failx(c, "expected an expression [\"operator\", ...]; write a list as "
                        "[\"literal\", [...]]");
    int k = find_operator(name);
    if (k < 0) return failx(c, "expression operator \"%.40s\" is not supported", name);
    expr_op op = operators[k].op;
    if (strcmp(name, "format") == 0) return compile_format(c, j, n);
    switch (op) {
    case OP_LIT: {
        if (n != 2) return failx(c, "[\"literal\"] takes 1 argument");
        const json_t *x = json_array_get(j, 1);
        if (json_is_array(x)) return make_array(c, x, w);
        if (json_is_object(x)) return failx(c, "object literals are not supported");
        return compile(c, x, w);
    }
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        return compile_compare(c, j, n, op);
    case OP_IN:
        return compile_in(c, j, n);
    case OP_MATCH:
        return compile_match(c, j, n, w);
    case OP_CASE:
        return compile_case(c, j, n, w);
    case OP_STEP:
        return compile_step(c, j, n, w);
    case OP_INTERP:
        return compile_interpolate(c, j, n, w);
    default:
        return compile_simple(c, j, n, op, w);
    }
}

/* Compiles j where w is expected; NULL with the error recorded. */
static style_expr *compile(loader *c, const json_t *j, want w)
{
    if (c->depth >= STYLE_MAX_DEPTH)
        return failx(c, "expression nested deeper than %d levels", STYLE_MAX_DEPTH);
    c->depth++;
    style_expr *e = NULL;
    switch (json_typeof(j)) {
    case JSON_NULL:
        e = node_new(c, OP_LIT, T_NULL, 0);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        e = node_new(c, OP_LIT, T_BOOL, 0);
        if (e) e->lit = (style_value){.type = STYLE_BOOL, .b = json_is_true(j)};
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        e = lit_number(c, json_number_value(j), w);
        break;
    case JSON_STRING:
        e = lit_string(c, json_string_value(j), w);
        break;
    case JSON_ARRAY:
        e = json_array_size(j) == 0
                ? failx(c, "an empty array is not an expression (use [\"literal\", []])")
                : compile_call(c, j, w);
        break;
    case JSON_OBJECT:
        e = failx(c, "an object is not an expression here");
        break;
    }
    c->depth--;
    if (e && !check_type(c, e, w)) return NULL;
    return e;
}

/* ---- loading: legacy filters ---------------------------------------------- */

/* MapLibre's test for filters written as expressions; anything else is the
 * legacy syntax (["==", "status", "available"]). */
static bool is_expression_filter(const json_t *f, int depth)
{
    if (json_is_boolean(f)) return true;
    if (!json_is_array(f) || json_array_size(f) == 0) return false;
    const char *op = json_string_value(json_array_get(f, 0));
    if (!op) return true;
    size_t n = json_array_size(f);
    const json_t *a1 = json_array_get(f, 1), *a2 = json_array_get(f, 2);
    if (strcmp(op, "has") == 0) {
        const char *key = json_string_value(a1);
        return n >= 2 && !(key && (strcmp(key, "$id") == 0 || strcmp(key, "$type") == 0));
    }
    if (strcmp(op, "in") == 0) return n >= 3 && (!json_is_string(a1) || json_is_array(a2));
    if (strcmp(op, "!in") == 0 || strcmp(op, "!has") == 0 || strcmp(op, "none") == 0) return false;
    if (strcmp(op, "==") == 0 || strcmp(op, "!=") == 0 || strcmp(op, "<") == 0 ||
        strcmp(op, "<=") == 0 || strcmp(op, ">") == 0 || strcmp(op, ">=") == 0)
        return n != 3 || json_is_array(a1) || json_is_array(a2);
    if (strcmp(op, "any") == 0 || strcmp(op, "all") == 0) {
        if (depth >= STYLE_MAX_DEPTH) return true; /* compile() reports the depth */
        for (size_t i = 1; i < n; i++) {
            const json_t *x = json_array_get(f, i);
            if (!is_expression_filter(x, depth + 1) && !json_is_boolean(x)) return false;
        }
        return true;
    }
    return true;
}

/* The key of a legacy filter: a property, "$type" (the geometry) or "$id". */
static style_expr *legacy_key(loader *c, const json_t *key, expr_op op)
{
    const char *k = json_string_value(key);
    if (!k) return failx(c, "legacy filter keys must be strings");
    if (strcmp(k, "$type") == 0) return node_new(c, OP_GEOMETRY, T_STR, 0);
    style_prop p = PROP_ID;
    if (strcmp(k, "$id") != 0 && !prop_by_name(k, &p))
        return failx(c, "unknown feature property '%.80s'", k);
    style_expr *e = node_new(c, op, op == OP_HAS ? T_BOOL : T_ANY, 0);
    if (e) e->prop = p;
    return e;
}

static style_expr *legacy_value(loader *c, const json_t *v)
{
    if (json_is_array(v) || json_is_object(v))
        return failx(c, "legacy filter values must be strings, numbers, booleans or null");
    return compile(c, v, want_any);
}

static style_expr *wrap_not(loader *c, style_expr *e)
{
    if (!e) return NULL;
    style_expr *n = node_new(c, OP_NOT, T_BOOL, 1);
    if (n) set_kid(n, 0, e);
    return n;
}

static style_expr *legacy_filter(loader *c, const json_t *f);

static style_expr *legacy_filter_inner(loader *c, const json_t *f)
{
    if (json_is_boolean(f)) return compile(c, f, want_bool);
    const char *op = json_string_value(json_array_get(f, 0));
    if (!json_is_array(f) || !op) return failx(c, "expected a filter [\"operator\", ...]");
    size_t n = json_array_size(f);
    if (strcmp(op, "all") == 0 || strcmp(op, "any") == 0 || strcmp(op, "none") == 0) {
        style_expr *e = node_new(c, op[1] == 'l' ? OP_ALL : OP_ANY, T_BOOL, n - 1);
        if (!e) return NULL;
        for (size_t i = 1; i < n; i++) {
            style_expr *k = legacy_filter(c, json_array_get(f, i));
            if (!k) return NULL;
            set_kid(e, i - 1, k);
        }
        return op[0] == 'n' ? wrap_not(c, e) : e;
    }
    static const struct {
        const char *name;
        expr_op op;
    } cmp[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<", OP_LT},
               {"<=", OP_LE}, {">", OP_GT},  {">=", OP_GE}};
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
        if (strcmp(op, cmp[i].name) != 0) continue;
        if (n != 3) return failx(c, "legacy [\"%s\"] takes a key and a value", op);
        style_expr *e = node_new(c, cmp[i].op, T_BOOL, 2);
        style_expr *k = e ? legacy_key(c, json_array_get(f, 1), OP_GET) : NULL;
        style_expr *v = k ? legacy_value(c, json_array_get(f, 2)) : NULL;
        if (!v) return NULL;
        set_kid(e, 0, k);
        set_kid(e, 1, v);
        e->lenient = true;
        return e;
    }
    if (strcmp(op, "in") == 0 || strcmp(op, "!in") == 0) {
        if (n < 2) return failx(c, "legacy [\"%s\"] takes a key and values", op);
        style_expr *e = node_new(c, OP_IN, T_BOOL, 2);
        style_expr *k = e ? legacy_key(c, json_array_get(f, 1), OP_GET) : NULL;
        style_expr *arr = k ? node_new(c, OP_ARRAY, T_ARRAY, 0) : NULL;
        style_value *items = arr ? alloc(c, n - 2 ? n - 2 : 1, sizeof *items) : NULL;
        if (!items) return NULL;
        for (size_t i = 2; i < n; i++) {
            style_expr *v = legacy_value(c, json_array_get(f, i));
            if (!v) return NULL;
            items[i - 2] = v->lit;
        }
        arr->items = items;
        arr->nitems = (uint32_t)(n - 2);
        set_kid(e, 0, k);
        set_kid(e, 1, arr);
        return op[0] == '!' ? wrap_not(c, e) : e;
    }
    if (strcmp(op, "has") == 0 || strcmp(op, "!has") == 0) {
        if (n != 2) return failx(c, "legacy [\"%s\"] takes a key", op);
        const char *key = json_string_value(json_array_get(f, 1));
        style_expr *e = key && strcmp(key, "$type") == 0
                            ? compile(c, json_true(), want_bool)
                            : legacy_key(c, json_array_get(f, 1), OP_HAS);
        return op[0] == '!' ? wrap_not(c, e) : e;
    }
    return failx(c, "filter operator \"%.40s\" is not supported", op);
}

static style_expr *legacy_filter(loader *c, const json_t *f)
{
    if (c->depth >= STYLE_MAX_DEPTH)
        return failx(c, "filter nested deeper than %d levels", STYLE_MAX_DEPTH);
    c->depth++;
    style_expr *e = legacy_filter_inner(c, f);
    c->depth--;
    return e;
}

/* ---- loading: property values ---------------------------------------------- */

/* A text-field string with {property} tokens, as MapLibre's legacy syntax:
 * "{name_zh}" is ["get", "name_zh"], "No. {id}" a concat. */
static style_expr *text_tokens(loader *c, const char *s, want w)
{
    size_t parts = 0, tokens = 0;
    for (const char *p = s; *p;) {
        const char *close = *p == '{' ? strpbrk(p + 1, "{}") : NULL;
        if (close && *close == '}' && close > p + 1) {
            tokens++;
            parts++;
            p = close + 1;
        } else {
            parts++;
            p++;
            while (*p && *p != '{')
                p++;
        }
    }
    if (tokens == 0) return lit_string(c, s, w);
    style_expr *e = parts > 1 ? node_new(c, OP_CONCAT, T_STR, parts) : NULL;
    if (parts > 1 && !e) return NULL;
    size_t k = 0;
    char name[64];
    for (const char *p = s; *p;) {
        const char *close = *p == '{' ? strpbrk(p + 1, "{}") : NULL;
        style_expr *part;
        if (close && *close == '}' && close > p + 1) {
            size_t len = (size_t)(close - p - 1);
            style_prop prop;
            if (len >= sizeof name) return failx(c, "token {%.40s...} is too long", p + 1);
            memcpy(name, p + 1, len);
            name[len] = '\0';
            if (!prop_by_name(name, &prop))
                return failx(c, "token {%s}: unknown feature property '%s'", name, name);
            part = node_new(c, OP_GET, T_ANY, 0);
            if (part) part->prop = prop;
            p = close + 1;
        } else {
            const char *start = p++;
            while (*p && *p != '{')
                p++;
            char *lit = alloc(c, (size_t)(p - start) + 1, 1);
            if (!lit) return NULL;
            memcpy(lit, start, (size_t)(p - start));
            part = node_new(c, OP_LIT, T_STR, 0);
            if (part) part->lit = (style_value){.type = STYLE_STRING, .str = lit};
        }
        if (!part || !e) return part;
        set_kid(e, k++, part);
    }
    return e;
}

#define BG (1u << STYLE_BACKGROUND)
#define FILL (1u << STYLE_FILL)
#define LINE (1u << STYLE_LINE)
#define SYMBOL (1u << STYLE_SYMBOL)
#define CIRCLE (1u << STYLE_CIRCLE)
#define HEAT (1u << STYLE_HEATMAP)

static const char *const line_caps[] = {"butt", "round", "square", NULL};
static const char *const line_joins[] = {"bevel", "round", "miter", NULL};
static const char *const placements[] = {"point", "line", NULL};

/* The properties zsmap draws: the one table that drives parsing and checks
 * (styles/README.md documents it, with the renderer's defaults). */
static const struct {
    const char *name;
    style_property sp;
    bool layout;
    unsigned types; /* layer types it applies to */
    want w;
} props[] = {
    {"background-color", SP_BACKGROUND_COLOR, false, BG, {W_COLOR, NULL, 0, 0}},
    {"background-opacity", SP_BACKGROUND_OPACITY, false, BG, {W_NUM, NULL, 0, 1}},
    {"fill-color", SP_FILL_COLOR, false, FILL, {W_COLOR, NULL, 0, 0}},
    {"fill-opacity", SP_FILL_OPACITY, false, FILL, {W_NUM, NULL, 0, 1}},
    {"fill-outline-color", SP_FILL_OUTLINE_COLOR, false, FILL, {W_COLOR, NULL, 0, 0}},
    {"line-color", SP_LINE_COLOR, false, LINE, {W_COLOR, NULL, 0, 0}},
    {"line-width", SP_LINE_WIDTH, false, LINE, {W_NUM, NULL, 0, HUGE_VAL}},
    {"line-opacity", SP_LINE_OPACITY, false, LINE, {W_NUM, NULL, 0, 1}},
    {"line-dasharray", SP_LINE_DASHARRAY, false, LINE, {W_NUMARR, NULL, 0, HUGE_VAL}},
    {"line-cap", SP_LINE_CAP, true, LINE, {W_STR, line_caps, 0, 0}},
    {"line-join", SP_LINE_JOIN, true, LINE, {W_STR, line_joins, 0, 0}},
    {"circle-radius", SP_CIRCLE_RADIUS, false, CIRCLE, {W_NUM, NULL, 0, HUGE_VAL}},
    {"circle-color", SP_CIRCLE_COLOR, false, CIRCLE, {W_COLOR, NULL, 0, 0}},
    {"circle-opacity", SP_CIRCLE_OPACITY, false, CIRCLE, {W_NUM, NULL, 0, 1}},
    {"circle-stroke-color", SP_CIRCLE_STROKE_COLOR, false, CIRCLE, {W_COLOR, NULL, 0, 0}},
    {"circle-stroke-width", SP_CIRCLE_STROKE_WIDTH, false, CIRCLE, {W_NUM, NULL, 0, HUGE_VAL}},
    {"text-field", SP_TEXT_FIELD, true, SYMBOL, {W_TEXT, NULL, 0, 0}},
    {"text-size", SP_TEXT_SIZE, true, SYMBOL, {W_NUM, NULL, 0, HUGE_VAL}},
    {"text-font", SP_TEXT_FONT, true, SYMBOL, {W_STRARR, NULL, 0, 0}},
    {"text-max-width", SP_TEXT_MAX_WIDTH, true, SYMBOL, {W_NUM, NULL, 0, HUGE_VAL}},
    {"text-padding", SP_TEXT_PADDING, true, SYMBOL, {W_NUM, NULL, 0, HUGE_VAL}},
    {"symbol-placement", SP_SYMBOL_PLACEMENT, true, SYMBOL, {W_STR, placements, 0, 0}},
    {"symbol-sort-key", SP_SYMBOL_SORT_KEY, true, SYMBOL, {W_NUM, NULL, -HUGE_VAL, HUGE_VAL}},
    {"text-color", SP_TEXT_COLOR, false, SYMBOL, {W_COLOR, NULL, 0, 0}},
    {"text-halo-color", SP_TEXT_HALO_COLOR, false, SYMBOL, {W_COLOR, NULL, 0, 0}},
    {"text-halo-width", SP_TEXT_HALO_WIDTH, false, SYMBOL, {W_NUM, NULL, 0, HUGE_VAL}},
    {"text-opacity", SP_TEXT_OPACITY, false, SYMBOL, {W_NUM, NULL, 0, 1}},
    {"heatmap-radius", SP_HEATMAP_RADIUS, false, HEAT, {W_NUM, NULL, 1, HUGE_VAL}},
    {"heatmap-weight", SP_HEATMAP_WEIGHT, false, HEAT, {W_NUM, NULL, 0, HUGE_VAL}},
    {"heatmap-intensity", SP_HEATMAP_INTENSITY, false, HEAT, {W_NUM, NULL, 0, HUGE_VAL}},
    {"heatmap-color", SP_HEATMAP_COLOR, false, HEAT, {W_COLOR, NULL, 0, 0}},
    {"heatmap-opacity", SP_HEATMAP_OPACITY, false, HEAT, {W_NUM, NULL, 0, 1}},
};

static int find_prop(const char *name)
{
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (strcmp(props[i].name, name) == 0) return (int)i;
    return -1;
}

static const char *const layer_type_names[] = {"background", "fill",   "line",
                                               "symbol",     "circle", "heatmap"};
_Static_assert(sizeof layer_type_names / sizeof layer_type_names[0] == STYLE_HEATMAP + 1,
               "a name per layer type");

/* A stop value of a legacy function: a constant (an array for array
 * properties, a {token} string for text-field). */
static style_expr *stop_value(loader *c, const json_t *v, want w)
{
    if (json_is_array(v) && (w.kind == W_NUMARR || w.kind == W_STRARR)) {
        style_expr *e = make_array(c, v, w);
        return e && check_type(c, e, w) ? e : NULL;
    }
    if (json_is_array(v) || json_is_object(v))
        return failx(c, "function stop values must be constants");
    if (json_is_string(v) && w.kind == W_TEXT) return text_tokens(c, json_string_value(v), w);
    return compile(c, v, w);
}

/* A legacy zoom function {"stops": [[zoom, value], ...], "base": b,
 * "type": "exponential" | "interval"}, converted as MapLibre does:
 * exponential to interpolate on zoom, interval to step on zoom. */
static style_expr *compile_function(loader *c, const json_t *f, want w)
{
    const char *key;
    const json_t *jv;
    const json_t *stops = NULL;
    double base = 1;
    bool interpolatable = w.kind == W_NUM || w.kind == W_COLOR;
    bool exponential = interpolatable;
    json_object_foreach((json_t *)f, key, jv)
    {
        if (strcmp(key, "stops") == 0) {
            stops = jv;
        } else if (strcmp(key, "base") == 0) {
            base = json_number_value(jv);
            if (!json_is_number(jv) || !(base > 0) || !isfinite(base))
                return failx(c, "function \"base\" must be a positive number");
        } else if (strcmp(key, "type") == 0) {
            const char *t = json_string_value(jv);
            if (t && strcmp(t, "interval") == 0) {
                exponential = false;
            } else if (t && strcmp(t, "exponential") == 0) {
                if (!interpolatable)
                    return failx(c, "exponential functions need numbers or colours");
                exponential = true;
            } else {
                return failx(c,
                             "function type \"%.40s\" is not supported (exponential or "
                             "interval zoom functions only)",
                             t ? t : "?");
            }
        } else if (strcmp(key, "property") == 0) {
            return failx(c, "property functions are not supported; write an expression such "
                            "as [\"match\", [\"get\", \"status\"], ...]");
        } else if (strcmp(key, "colorSpace") == 0 && json_is_string(jv) &&
                   strcmp(json_string_value(jv), "rgb") == 0) {
            continue;
        } else {
            return failx(c, "function key \"%.40s\" is not supported", key);
        }
    }
    size_t n = json_array_size(stops);
    if (!json_is_array(stops) || n == 0)
        return failx(c, "a function needs \"stops\": [[zoom, value], ...]");
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(stops, i);
        if (!json_is_array(s) || json_array_size(s) != 2 || !json_is_number(json_array_get(s, 0)))
            return failx(c, "function stops must be [zoom, value] pairs (property functions are "
                            "not supported)");
        double z = json_number_value(json_array_get(s, 0));
        if (i > 0 && !(z > json_number_value(json_array_get(json_array_get(stops, i - 1), 0))))
            return failx(c, "function stops must be in strictly ascending zoom order");
    }
    /* exponential: n outputs on n stops; interval: the first output below
     * the second stop, so the first stop's zoom plays no part */
    size_t nst = exponential ? n : n - 1;
    style_expr *e = node_new(c, exponential ? OP_INTERP : OP_STEP, T_NULL, n + 1);
    style_expr *zoom = e ? node_new(c, OP_ZOOM, T_NUM, 0) : NULL;
    double *z = zoom ? alloc(c, n, sizeof *z) : NULL;
    if (!z) return NULL;
    set_kid(e, 0, zoom);
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(stops, i);
        z[i] = json_number_value(json_array_get(s, 0));
        style_expr *k = stop_value(c, json_array_get(s, 1), exponential ? interp_want(w) : w);
        if (!k) return NULL;
        set_kid(e, 1 + i, k);
        e->type = unite(e->type, k->type);
    }
    e->base = base;
    e->stops = exponential ? z : z + 1;
    e->nitems = (uint32_t)nst;
    return exponential ? interp_outputs_ok(c, e) : e;
}

/* A paint or layout value: null (the default), a constant, a legacy
 * function or an expression. *out stays NULL for null. */
static zs_status compile_property(loader *c, const json_t *v, want w, const style_expr **out)
{
    style_expr *e;
    *out = NULL;
    if (json_is_null(v)) return ZS_OK;
    if (json_is_object(v))
        e = compile_function(c, v, w);
    else if (json_is_array(v) && (w.kind == W_NUMARR || w.kind == W_STRARR) &&
             !looks_like_expression(v))
        e = stop_value(c, v, w);
    else if (json_is_string(v) && w.kind == W_TEXT)
        e = text_tokens(c, json_string_value(v), w);
    else
        e = compile(c, v, w);
    if (!e) return c->status;
    *out = e;
    return ZS_OK;
}

static zs_status parse_props(loader *c, const json_t *obj, bool layout, style_layer *L,
                             bool *visible)
{
    const char *sect = layout ? "layout" : "paint";
    if (!json_is_object(obj)) return fail(c, "\"%s\" must be an object", sect);
    const char *key;
    const json_t *jv;
    json_object_foreach((json_t *)obj, key, jv)
    {
        c->where[0] = '\0';
        if (layout && strcmp(key, "visibility") == 0) {
            const char *v = json_string_value(jv);
            if (!v || (strcmp(v, "visible") != 0 && strcmp(v, "none") != 0))
                return fail(c, "layout property 'visibility' must be \"visible\" or \"none\"");
            *visible = strcmp(v, "visible") == 0;
            continue;
        }
        int k = find_prop(key);
        size_t klen = strlen(key);
        if (k < 0 && !layout && klen > 11 && strcmp(key + klen - 11, "-transition") == 0) {
            /* transitions animate a browser map; a tile has nothing to animate */
            char base[64];
            if (klen - 11 < sizeof base) {
                memcpy(base, key, klen - 11);
                base[klen - 11] = '\0';
                int b = find_prop(base);
                if (b >= 0 && !props[b].layout) continue;
            }
        }
        if (k < 0) return fail(c, "%s property '%.80s' is not supported", sect, key);
        if (props[k].layout != layout)
            return fail(c, "%s property '%s' is not supported: it is a %s property", sect, key,
                        layout ? "paint" : "layout");
        if (!(props[k].types & (1u << L->type)))
            return fail(c, "%s property '%s' does not apply to %s layers", sect, key,
                        layer_type_names[L->type]);
        snprintf(c->where, sizeof c->where, "%s property '%s'", sect, key);
        c->density_ok = props[k].sp == SP_HEATMAP_COLOR;
        zs_status st = compile_property(c, jv, props[k].w, &L->prop[props[k].sp]);
        c->density_ok = false;
        if (st != ZS_OK) return st;
    }
    c->where[0] = '\0';
    return ZS_OK;
}

static zs_status parse_zoom(loader *c, const json_t *v, const char *key, double *out)
{
    if (!v) return ZS_OK;
    if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
        !(json_number_value(v) <= STYLE_MAX_ZOOM))
        return fail(c, "\"%s\" must be a number from 0 to %g", key, STYLE_MAX_ZOOM);
    *out = json_number_value(v);
    return ZS_OK;
}

static const char *const layer_keys[] = {"id",      "type",     "source", "source-layer",
                                         "minzoom", "maxzoom",  "filter", "paint",
                                         "layout",  "metadata", NULL};

/* Reads layer j into *L; *visible is false for "visibility": "none".
 * ids holds the ids of the layers before it. */
static zs_status parse_layer(loader *c, const json_t *j, size_t index, const char **ids,
                             style_layer *L, bool *visible)
{
    char label[32];
    snprintf(label, sizeof label, "#%zu", index);
    c->layer = label;
    c->where[0] = '\0';
    if (!json_is_object(j)) return fail(c, "a layer must be an object");
    const char *id = json_string_value(json_object_get(j, "id"));
    if (!id || !*id) return fail(c, "\"id\" is missing or not a string");
    if (!(L->id = copy_str(c, id))) return c->status;
    c->layer = L->id;
    for (size_t i = 0; i < index; i++)
        if (strcmp(ids[i], id) == 0) return fail(c, "the id is used by another layer too");
    ids[index] = L->id;

    const char *key;
    const json_t *jv;
    json_object_foreach((json_t *)j, key, jv)
    {
        bool known = false;
        for (const char *const *k = layer_keys; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known) return fail(c, "layer key \"%.80s\" is not supported", key);
    }

    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) return fail(c, "\"type\" is missing or not a string");
    int t = -1;
    for (int i = 0; i <= STYLE_HEATMAP; i++)
        if (strcmp(layer_type_names[i], type) == 0) t = i;
    if (t < 0)
        return fail(c,
                    "layer type '%.40s' is not supported (background, fill, line, symbol, "
                    "circle, heatmap)",
                    type);
    L->type = (style_layer_type)t;

    const json_t *src = json_object_get(j, "source");
    if (src && !json_is_string(src)) return fail(c, "\"source\" must be a string");
    const json_t *sl = json_object_get(j, "source-layer");
    if (L->type != STYLE_BACKGROUND) {
        const char *name = json_string_value(sl);
        if (!name) return fail(c, "\"source-layer\" is missing or not a string");
        if (!layer_by_name(name, &L->source_layer))
            return fail(c,
                        "source-layer '%.80s' is not a zsmap layer (parks, parcels, buildings, "
                        "boundary, roads, water)",
                        name);
    }

    L->minzoom = 0;
    L->maxzoom = STYLE_MAX_ZOOM;
    zs_status st = parse_zoom(c, json_object_get(j, "minzoom"), "minzoom", &L->minzoom);
    if (st == ZS_OK) st = parse_zoom(c, json_object_get(j, "maxzoom"), "maxzoom", &L->maxzoom);
    if (st != ZS_OK) return st;
    if (L->minzoom > L->maxzoom) return fail(c, "\"minzoom\" is above \"maxzoom\"");

    const json_t *filter = json_object_get(j, "filter");
    if (filter && !json_is_null(filter)) {
        if (L->type == STYLE_BACKGROUND) return fail(c, "background layers take no filter");
        snprintf(c->where, sizeof c->where, "filter");
        style_expr *e = is_expression_filter(filter, 0) ? compile(c, filter, want_bool)
                                                        : legacy_filter(c, filter);
        if (!e) return c->status;
        L->filter = e;
        c->where[0] = '\0';
    }
    *visible = true;
    const json_t *layout = json_object_get(j, "layout");
    if (layout && (st = parse_props(c, layout, true, L, visible)) != ZS_OK) return st;
    const json_t *paint = json_object_get(j, "paint");
    if (paint && (st = parse_props(c, paint, false, L, visible)) != ZS_OK) return st;
    return ZS_OK;
}

/* The file's base name without ".json". */
static const char *base_name(loader *c, const char *file)
{
    const char *slash = strrchr(file, '/');
    const char *b = slash ? slash + 1 : file;
    size_t n = strlen(b);
    if (n > 5 && strcmp(b + n - 5, ".json") == 0) n -= 5;
    char *out = alloc(c, n + 1, 1);
    if (out) memcpy(out, b, n);
    return out;
}

static zs_status parse_root(loader *c, const json_t *root, style *s)
{
    if (!json_is_object(root)) return fail(c, "a style must be a JSON object");
    const json_t *version = json_object_get(root, "version");
    if (!version) return fail(c, "\"version\": 8 is missing");
    if (!json_is_number(version) || json_number_value(version) != 8)
        return fail(c, "\"version\" must be 8");
    const json_t *name = json_object_get(root, "name");
    if (name && !json_is_string(name)) return fail(c, "\"name\" must be a string");
    s->name = name ? copy_str(c, json_string_value(name)) : base_name(c, c->file);
    if (!s->name) return c->status;
    const json_t *sources = json_object_get(root, "sources");
    if (sources && !json_is_object(sources)) return fail(c, "\"sources\" must be an object");
    if (json_object_size(sources) > 1)
        return fail(c, "only one source is supported: every layer draws from the zsmap store");
    const json_t *layers = json_object_get(root, "layers");
    if (!json_is_array(layers)) return fail(c, "\"layers\" is missing or not an array");
    size_t n = json_array_size(layers);
    if (n > STYLE_MAX_LAYERS) return fail(c, "more than %d layers", STYLE_MAX_LAYERS);
    s->layers = alloc(c, n, sizeof *s->layers);
    const char **ids = alloc(c, n, sizeof *ids);
    if (!s->layers || !ids) return c->status;
    for (size_t i = 0; i < n; i++) {
        style_layer *L = &s->layers[s->nlayers];
        bool visible = true;
        zs_status st = parse_layer(c, json_array_get(layers, i), i, ids, L, &visible);
        if (st != ZS_OK) return st;
        if (visible)
            s->nlayers++;
        else
            memset(L, 0, sizeof *L);
    }
    return ZS_OK;
}

zs_status style_load_string(const char *json, size_t len, const char *name, style **out,
                            zs_error *err)
{
    if (out) *out = NULL;
    const char *file = name ? name : "style";
    if (!json || !out) return zs_fail(err, ZS_EINVAL, "%s: no style text", file);
    if (len > STYLE_MAX_BYTES)
        return zs_fail(err, ZS_ENOMEM, "%s: the style is larger than %u MiB", file,
                       STYLE_MAX_BYTES >> 20);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    if (!root)
        return zs_fail(err, ZS_EINVAL, "%s: line %d, column %d: %s", file, je.line, je.column,
                       je.text);
    style *s = calloc(1, sizeof *s);
    if (!s) {
        json_decref(root);
        return zs_fail(err, ZS_ENOMEM, "%s: out of memory", file);
    }
    loader c = {.file = file, .ar = &s->ar, .err = err, .status = ZS_OK};
    zs_status st = parse_root(&c, root, s);
    json_decref(root);
    if (st != ZS_OK) {
        style_destroy(s);
        return st;
    }
    *out = s;
    return ZS_OK;
}

zs_status style_load_file(const char *path, style **out, zs_error *err)
{
    if (out) *out = NULL;
    if (!path || !out) return zs_fail(err, ZS_EINVAL, "style_load_file: no path");
    FILE *f = fopen(path, "rb");
    if (!f)
        return zs_fail(err, errno == ENOENT ? ZS_ENOTFOUND : ZS_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    char *buf = malloc(STYLE_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return zs_fail(err, ZS_ENOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, STYLE_MAX_BYTES + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    zs_status st;
    if (bad)
        st = zs_fail(err, ZS_EIO, "%s: cannot read the file", path);
    else
        st = style_load_string(buf, n, path, out, err);
    free(buf);
    return st;
}

void style_destroy(style *s)
{
    if (!s) return;
    arena_free(&s->ar);
    free(s);
}

const char *style_name(const style *s)
{
    return s ? s->name : NULL;
}

size_t style_layer_count(const style *s)
{
    return s ? s->nlayers : 0;
}

const style_layer *style_layer_at(const style *s, size_t i)
{
    return s && i < s->nlayers ? &s->layers[i] : NULL;
}
