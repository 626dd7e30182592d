/* The style module: the shipped styles load; every expression operator gives
 * exact values on a fake feature; legacy filters and zoom functions convert
 * as MapLibre does; bad styles fail with ZS_EINVAL, a message naming the
 * file, layer and property, and nothing returned. */
#include "style.h"
#include "test.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a fake feature ------------------------------------------------------- */

typedef struct {
    const char *str[PROP_COUNT]; /* NULL: absent */
    double num[PROP_COUNT];      /* NAN: absent */
} fake;

static style_value fake_get(const void *feature, style_prop p)
{
    const fake *f = feature;
    if (f->str[p]) return (style_value){.type = STYLE_STRING, .str = f->str[p]};
    return (style_value){.type = STYLE_NUMBER, .num = f->num[p]}; /* NaN reads as null */
}

static fake fake_empty(void)
{
    fake f;
    for (int i = 0; i < PROP_COUNT; i++) {
        f.str[i] = NULL;
        f.num[i] = NAN;
    }
    return f;
}

/* An available office building. */
static fake fake_building(void)
{
    fake f = fake_empty();
    f.str[PROP_ID] = "B-017";
    f.str[PROP_KIND] = "building";
    f.str[PROP_NAME] = "创新大厦";
    f.str[PROP_NAME_ZH] = "创新大厦";
    f.str[PROP_NAME_EN] = "Innovation Tower";
    f.str[PROP_STATUS] = "available";
    f.str[PROP_INDUSTRIES] = "semiconductor,electronics";
    f.num[PROP_GROSS_AREA_M2] = 20000;
    f.num[PROP_VACANT_AREA_M2] = 5000;
    f.num[PROP_AVAILABLE_AREA] = 5000;
    f.num[PROP_VACANCY] = 0.25;
    f.num[PROP_ENTERPRISES] = 12;
    return f;
}

static style_ctx ctx_for(const fake *f, double zoom, const char *geometry)
{
    return (style_ctx){.zoom = zoom, .feature = f, .get = fake_get, .geometry = geometry};
}

/* ---- loading helpers ------------------------------------------------------ */

static char doc[8192];

/* A style of one layer of type with `section: {name: value}`. */
static const char *one_layer(const char *type, const char *section, const char *name,
                             const char *value)
{
    snprintf(doc, sizeof doc,
             "{\"version\": 8, \"layers\": [{\"id\": \"t\", \"type\": \"%s\", "
             "\"source-layer\": \"buildings\", \"%s\": {\"%s\": %s}}]}",
             type, section, name, value);
    return doc;
}

static style *load(const char *json)
{
    style *s = NULL;
    zs_error err = {0};
    zs_status st = style_load_string(json, strlen(json), "test.json", &s, &err);
    if (st != ZS_OK) fprintf(stderr, "load failed: %s\n  style: %s\n", err.msg, json);
    CHECK_INT(st, ZS_OK);
    return s;
}

/* The compiled property sp of the only layer of s. */
static const style_expr *prop_of(const style *s, style_property sp)
{
    const style_layer *l = style_layer_at(s, 0);
    return l ? l->prop[sp] : NULL;
}

/* expr as symbol-sort-key (a number without range) evaluated on f. */
static double num_at(const char *expr, const fake *f, double zoom)
{
    style *s = load(one_layer("symbol", "layout", "symbol-sort-key", expr));
    if (!s) return -12345;
    style_ctx ctx = ctx_for(f, zoom, "Polygon");
    double v = style_eval_number(prop_of(s, SP_SYMBOL_SORT_KEY), &ctx, NAN);
    style_destroy(s);
    return v;
}

static style_color color_at(const char *expr, const fake *f, double zoom)
{
    style *s = load(one_layer("circle", "paint", "circle-color", expr));
    style_color none = {-1, -1, -1, -1};
    if (!s) return none;
    style_ctx ctx = ctx_for(f, zoom, "Point");
    style_color c = style_eval_color(prop_of(s, SP_CIRCLE_COLOR), &ctx, none);
    style_destroy(s);
    return c;
}

/* expr as text-field, through style_eval_text; "(null)" for no text. */
static char text_buf[256];
static const char *text_at(const char *expr, const fake *f, double zoom)
{
    style *s = load(one_layer("symbol", "layout", "text-field", expr));
    if (!s) return "(load failed)";
    style_ctx ctx = ctx_for(f, zoom, "Polygon");
    char buf[128];
    const char *t = style_eval_text(prop_of(s, SP_TEXT_FIELD), &ctx, buf, sizeof buf);
    snprintf(text_buf, sizeof text_buf, "%s", t ? t : "(null)");
    style_destroy(s);
    return text_buf;
}

/* filter evaluated on f: 1 true, 0 false, -1 load failure. */
static int filter_at(const char *filter, const fake *f, const char *geometry)
{
    snprintf(doc, sizeof doc,
             "{\"version\": 8, \"layers\": [{\"id\": \"t\", \"type\": \"fill\", "
             "\"source-layer\": \"parcels\", \"filter\": %s}]}",
             filter);
    style *s = load(doc);
    if (!s) return -1;
    style_ctx ctx = ctx_for(f, 14, geometry);
    int r = style_eval_filter(style_layer_at(s, 0)->filter, &ctx);
    style_destroy(s);
    return r;
}

#define CHECK_COLOR(c, R, G, B, A)                                                                 \
    do {                                                                                           \
        style_color c_ = (c);                                                                      \
        CHECK_NEAR(c_.r, (R), 1e-6);                                                               \
        CHECK_NEAR(c_.g, (G), 1e-6);                                                               \
        CHECK_NEAR(c_.b, (B), 1e-6);                                                               \
        CHECK_NEAR(c_.a, (A), 1e-6);                                                               \
    } while (0)

/* ---- the shipped styles --------------------------------------------------- */

static void test_shipped_styles(void)
{
    static const struct {
        const char *file;
        size_t layers;
        bool background;
        double intensity11, intensity17; /* heat styles: the scaling at zooms 11 and 17 */
    } want[] = {
        {"investor.json", 18, true, 0, 0},
        {"kiosk.json", 18, true, 0, 0},
        {"staff.json", 20, true, 0, 0},
        {"heat-available_area.json", 2, false, 0.3, 2},
        {"heat-vacancy.json", 1, false, 0.01, 0.5},
        {"heat-rent.json", 1, false, 0.008, 0.4},
        {"heat-enterprises.json", 1, false, 1.8, 2.5},
        {"heat-tax.json", 1, false, 1.8, 2.5},
    };
    const char *dir = getenv("ZSMAP_STYLES");
    if (!dir || !*dir) dir = "styles";
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, want[i].file);
        style *s = NULL;
        zs_error err = {0};
        zs_status st = style_load_file(path, &s, &err);
        if (st != ZS_OK) fprintf(stderr, "%s\n", err.msg);
        CHECK_INT(st, ZS_OK);
        if (!s) continue;
        CHECK_INT(style_layer_count(s), want[i].layers);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(want[i].file) - 5), want[i].file);
        CHECK_STR(style_name(s), name);
        const style_layer *first = style_layer_at(s, 0);
        CHECK_INT(first && first->type == STYLE_BACKGROUND, want[i].background);
        /* every heat style: heat layers only, with a full set of paint properties */
        for (size_t k = 0; !want[i].background && k < style_layer_count(s); k++) {
            const style_layer *l = style_layer_at(s, k);
            CHECK_INT(l->type, STYLE_HEATMAP);
            CHECK(l->filter != NULL);
            CHECK(l->prop[SP_HEATMAP_WEIGHT] && l->prop[SP_HEATMAP_COLOR]);
            style_ctx ctx = {.zoom = 11, .heatmap_density = 0};
            CHECK_NEAR(style_eval_number(l->prop[SP_HEATMAP_INTENSITY], &ctx, -1),
                       want[i].intensity11, 1e-12);
            ctx.zoom = 17;
            CHECK_NEAR(style_eval_number(l->prop[SP_HEATMAP_INTENSITY], &ctx, -1),
                       want[i].intensity17, 1e-12);
            style_color c = style_eval_color(l->prop[SP_HEATMAP_COLOR], &ctx, (style_color){0});
            CHECK_COLOR(c, 0, 0, 1, 0);
            ctx.heatmap_density = 1;
            c = style_eval_color(l->prop[SP_HEATMAP_COLOR], &ctx, (style_color){0});
            CHECK_COLOR(c, 1, 0, 0, 1);
        }
        style_destroy(s);
    }

    /* and every style file there loads, including ones added later */
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    size_t seen = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        style *s = NULL;
        zs_error err = {0};
        if (style_load_file(path, &s, &err) != ZS_OK) {
            fprintf(stderr, "%s\n", err.msg);
            test_failures++;
        }
        style_destroy(s);
        seen++;
    }
    if (d) closedir(d);
    CHECK(seen >= sizeof want / sizeof want[0]);

    /* investor: an available parcel is teal-green, a leased one grey; parcels
     * from z13 */
    char path[1024];
    snprintf(path, sizeof path, "%s/investor.json", dir);
    style *s = NULL;
    zs_error err = {0};
    if (style_load_file(path, &s, &err) == ZS_OK) {
        const style_layer *parcels = NULL;
        for (size_t k = 0; k < style_layer_count(s); k++)
            if (strcmp(style_layer_at(s, k)->id, "parcels-fill") == 0)
                parcels = style_layer_at(s, k);
        CHECK(parcels != NULL);
        if (parcels) {
            CHECK_INT(parcels->source_layer, LAYER_PARCELS);
            CHECK_NEAR(parcels->minzoom, 13, 0);
            CHECK_NEAR(parcels->maxzoom, 24, 0);
            fake f = fake_empty();
            f.str[PROP_STATUS] = "available";
            f.str[PROP_LAND_USE] = "industrial";
            style_ctx ctx = ctx_for(&f, 14, "Polygon");
            CHECK(style_eval_filter(parcels->filter, &ctx));
            style_color c = style_eval_color(parcels->prop[SP_FILL_COLOR], &ctx, (style_color){0});
            CHECK_COLOR(c, 0x2b / 255.0, 0xb3 / 255.0, 0x9a / 255.0, 1);
            CHECK_NEAR(style_eval_number(parcels->prop[SP_FILL_OPACITY], &ctx, -1), 0.5, 1e-12);
            f.str[PROP_LAND_USE] = "green";
            CHECK(!style_eval_filter(parcels->filter, &ctx));
        }
        style_destroy(s);
    }

    /* staff: a building label carries its vacancy band (concat needs
     * style_eval_text) */
    snprintf(path, sizeof path, "%s/staff.json", dir);
    s = NULL;
    if (style_load_file(path, &s, &err) == ZS_OK) {
        for (size_t k = 0; k < style_layer_count(s); k++) {
            const style_layer *l = style_layer_at(s, k);
            if (strcmp(l->id, "building-labels") != 0) continue;
            fake f = fake_building();
            style_ctx ctx = ctx_for(&f, 17, "Polygon");
            char buf[128];
            CHECK_STR(style_eval_text(l->prop[SP_TEXT_FIELD], &ctx, buf, sizeof buf),
                      "创新大厦\n空置 10–30%");
            CHECK(!style_expr_is_feature_constant(l->prop[SP_TEXT_FIELD]));
            f.num[PROP_VACANCY] = NAN;
            CHECK_STR(style_eval_text(l->prop[SP_TEXT_FIELD], &ctx, buf, sizeof buf), "创新大厦");
        }
        style_destroy(s);
    }
}

/* ---- expressions ---------------------------------------------------------- */

static void test_interpolate(void)
{
    fake f = fake_building();
    const char *lin = "[\"interpolate\", [\"linear\"], [\"zoom\"], 13, 10, 14, 20, 16, 40]";
    CHECK_NEAR(num_at(lin, &f, 13.5), 15, 0);
    CHECK_NEAR(num_at(lin, &f, 13), 10, 0);
    CHECK_NEAR(num_at(lin, &f, 14), 20, 0);
    CHECK_NEAR(num_at(lin, &f, 15), 30, 0);
    CHECK_NEAR(num_at(lin, &f, 3), 10, 0);  /* clamped below */
    CHECK_NEAR(num_at(lin, &f, 22), 40, 0); /* clamped above */
    /* exponential base 2 between 10 and 12: (2^1 - 1) / (2^2 - 1) = 1/3 */
    const char *ex = "[\"interpolate\", [\"exponential\", 2], [\"zoom\"], 10, 0, 12, 30]";
    CHECK_NEAR(num_at(ex, &f, 11), 10, 1e-12);
    CHECK_NEAR(num_at(ex, &f, 10.5), 30 * (sqrt(2) - 1) / 3, 1e-12);
    /* on a feature property, with data-driven outputs */
    CHECK_NEAR(
        num_at("[\"interpolate\", [\"linear\"], [\"get\", \"vacancy\"], 0, 0, 1, 100]", &f, 14), 25,
        0);
    CHECK_NEAR(num_at("[\"interpolate\", [\"linear\"], [\"zoom\"], 10, [\"get\", \"enterprises\"], "
                      "20, 0]",
                      &f, 15),
               6, 0);
    /* an absent input is a runtime error: the fallback */
    CHECK(isnan(
        num_at("[\"interpolate\", [\"linear\"], [\"get\", \"area_m2\"], 0, 0, 1, 1]", &f, 14)));
    /* colours mix in premultiplied RGBA, like MapLibre */
    const char *col = "[\"interpolate\", [\"linear\"], [\"zoom\"], 10, \"red\", 20, \"#0000ff\"]";
    CHECK_COLOR(color_at(col, &f, 15), 0.5, 0, 0.5, 1);
    CHECK_COLOR(color_at(col, &f, 10), 1, 0, 0, 1);
    const char *fade =
        "[\"interpolate\", [\"linear\"], [\"zoom\"], 0, \"rgba(0, 0, 255, 0)\", 10, \"royalblue\"]";
    CHECK_COLOR(color_at(fade, &f, 5), 65 / 255.0, 105 / 255.0, 225 / 255.0, 0.5);
}

static void test_step_match_case(void)
{
    fake f = fake_building();
    const char *step = "[\"step\", [\"zoom\"], 1, 12, 2, 15, 3]";
    CHECK_NEAR(num_at(step, &f, 11.99), 1, 0);
    CHECK_NEAR(num_at(step, &f, 12), 2, 0);
    CHECK_NEAR(num_at(step, &f, 14.9), 2, 0);
    CHECK_NEAR(num_at(step, &f, 15), 3, 0);
    CHECK_NEAR(num_at(step, &f, 30), 3, 0);

    const char *match = "[\"match\", [\"get\", \"status\"], [\"available\", \"reserved\"], 1, "
                        "\"leased\", 2, 0]";
    CHECK_NEAR(num_at(match, &f, 14), 1, 0);
    f.str[PROP_STATUS] = "reserved";
    CHECK_NEAR(num_at(match, &f, 14), 1, 0);
    f.str[PROP_STATUS] = "leased";
    CHECK_NEAR(num_at(match, &f, 14), 2, 0);
    f.str[PROP_STATUS] = "under_construction";
    CHECK_NEAR(num_at(match, &f, 14), 0, 0);
    f.str[PROP_STATUS] = NULL;
    CHECK_NEAR(num_at(match, &f, 14), 0, 0);
    f = fake_building();
    /* number labels; a string input never matches them */
    const char *nmatch = "[\"match\", [\"get\", \"enterprises\"], [10, 11, 12], 5, 13, 6, 7]";
    CHECK_NEAR(num_at(nmatch, &f, 14), 5, 0);
    f.num[PROP_ENTERPRISES] = 13;
    CHECK_NEAR(num_at(nmatch, &f, 14), 6, 0);
    CHECK_NEAR(num_at("[\"match\", [\"get\", \"id\"], [1, 2], 5, 7]", &f, 14), 7, 0);
    /* colour outputs */
    CHECK_COLOR(color_at("[\"match\", [\"get\", \"kind\"], \"building\", \"#ff000080\", "
                         "\"blue\"]",
                         &f, 14),
                1, 0, 0, 128 / 255.0);

    const char *cas = "[\"case\", [\">\", [\"get\", \"vacancy\"], 0.5], 3, [\"has\", \"vacancy\"], "
                      "2, 1]";
    CHECK_NEAR(num_at(cas, &f, 14), 2, 0);
    f.num[PROP_VACANCY] = 0.75;
    CHECK_NEAR(num_at(cas, &f, 14), 3, 0);
    f.num[PROP_VACANCY] = NAN;
    /* > on null is a runtime error: the whole expression falls back */
    CHECK(isnan(num_at(cas, &f, 14)));
    CHECK_NEAR(num_at("[\"case\", [\"has\", \"vacancy\"], 2, 1]", &f, 14), 1, 0);

    f = fake_building();
    CHECK_NEAR(
        num_at("[\"coalesce\", [\"get\", \"area_m2\"], [\"get\", \"gross_area_m2\"], 1]", &f, 14),
        20000, 0);
    CHECK_NEAR(num_at("[\"coalesce\", [\"get\", \"area_m2\"], 7]", &f, 14), 7, 0);
    CHECK(isnan(num_at("[\"coalesce\", [\"get\", \"area_m2\"], [\"get\", \"park\"]]", &f, 14)));
}

static void test_values(void)
{
    fake f = fake_building();
    /* get and has: NaN numbers and NULL strings are absent */
    CHECK_NEAR(num_at("[\"get\", \"gross_area_m2\"]", &f, 14), 20000, 0);
    CHECK(isnan(num_at("[\"get\", \"area_m2\"]", &f, 14)));
    CHECK_INT(filter_at("[\"has\", \"vacancy\"]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"has\", \"area_m2\"]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"!\", [\"has\", \"park\"]]", &f, "Polygon"), 1);

    /* to-number */
    f.str[PROP_PARK] = " 12.5 ";
    CHECK_NEAR(num_at("[\"to-number\", [\"get\", \"park\"]]", &f, 14), 12.5, 0);
    f.str[PROP_PARK] = "P07";
    CHECK(isnan(num_at("[\"to-number\", [\"get\", \"park\"]]", &f, 14)));
    CHECK_NEAR(num_at("[\"to-number\", [\"get\", \"park\"], 4]", &f, 14), 4, 0);
    CHECK_NEAR(num_at("[\"to-number\", [\"get\", \"area_m2\"]]", &f, 14), 0, 0); /* null is 0 */
    CHECK_NEAR(num_at("[\"to-number\", true]", &f, 14), 1, 0);
    CHECK_NEAR(num_at("[\"to-number\", \"1e3\"]", &f, 14), 1000, 0);
    f.str[PROP_PARK] = NULL;

    /* text: numbers written out, concat, to-string, {tokens} */
    CHECK_STR(text_at("[\"get\", \"name_zh\"]", &f, 14), "创新大厦");
    CHECK_STR(text_at("[\"get\", \"enterprises\"]", &f, 14), "12");
    CHECK_STR(text_at("[\"get\", \"vacancy\"]", &f, 14), "0.25");
    CHECK_STR(text_at("[\"get\", \"area_m2\"]", &f, 14), "(null)");
    CHECK_STR(text_at("[\"concat\", [\"get\", \"name_en\"], \" · \", [\"get\", \"enterprises\"], "
                      "\" firms\"]",
                      &f, 14),
              "Innovation Tower · 12 firms");
    CHECK_STR(
        text_at("[\"concat\", \"a\", [\"get\", \"area_m2\"], true, [\"to-string\", 1.5]]", &f, 14),
        "atrue1.5");
    CHECK_STR(text_at("[\"to-string\", [\"get\", \"gross_area_m2\"]]", &f, 14), "20000");
    CHECK_STR(text_at("[\"to-string\", [\"get\", \"area_m2\"]]", &f, 14), "");
    CHECK_STR(text_at("\"{name_en} ({id})\"", &f, 14), "Innovation Tower (B-017)");
    CHECK_STR(text_at("\"{name_zh}\"", &f, 14), "创新大厦");
    CHECK_STR(text_at("\"{not a token\"", &f, 14), "{not a token");
    CHECK_STR(text_at("[\"format\", [\"get\", \"name_zh\"], {}, \" \", [\"get\", \"id\"]]", &f, 14),
              "创新大厦 B-017");
    /* nested concat inside a comparison, inside match */
    CHECK_STR(text_at("[\"match\", [\"concat\", [\"get\", \"kind\"], \"-\", [\"get\", \"status\"]],"
                      " \"building-available\", \"yes\", \"no\"]",
                      &f, 14),
              "yes");
    CHECK_INT(
        filter_at("[\"==\", [\"to-string\", [\"get\", \"enterprises\"]], \"12\"]", &f, "Point"), 1);

    /* built text cannot come back from style_eval_string: the fallback */
    style *s = load(one_layer("symbol", "layout", "text-field", "[\"concat\", \"a\", \"b\"]"));
    if (s) {
        style_ctx ctx = ctx_for(&f, 14, "Point");
        CHECK_STR(style_eval_string(prop_of(s, SP_TEXT_FIELD), &ctx, "fallback"), "fallback");
        CHECK_INT(style_eval(prop_of(s, SP_TEXT_FIELD), &ctx).type, STYLE_NULL);
        /* a tiny buffer cuts at a UTF-8 boundary */
        char tiny[4];
        CHECK_STR(style_eval_text(prop_of(s, SP_TEXT_FIELD), &ctx, tiny, sizeof tiny), "ab");
        style_destroy(s);
    }
    s = load(one_layer("symbol", "layout", "text-field", "[\"concat\", \"创新\", \"b\"]"));
    if (s) {
        style_ctx ctx = ctx_for(&f, 14, "Point");
        char tiny[5];
        CHECK_STR(style_eval_text(prop_of(s, SP_TEXT_FIELD), &ctx, tiny, sizeof tiny), "创");
        style_destroy(s);
    }

    /* zoom, geometry-type; style_eval of plain values */
    CHECK_NEAR(num_at("[\"zoom\"]", &f, 13.25), 13.25, 0);
    CHECK_INT(filter_at("[\"==\", [\"geometry-type\"], \"Point\"]", &f, "Point"), 1);
    CHECK_INT(filter_at("[\"==\", [\"geometry-type\"], \"Point\"]", &f, "Polygon"), 0);
    s = load(one_layer("symbol", "layout", "text-field", "[\"get\", \"name_en\"]"));
    if (s) {
        style_ctx ctx = ctx_for(&f, 14, "Point");
        style_value v = style_eval(prop_of(s, SP_TEXT_FIELD), &ctx);
        CHECK_INT(v.type, STYLE_STRING);
        CHECK_STR(v.str, "Innovation Tower");
        CHECK(v.str == f.str[PROP_NAME_EN]); /* borrowed from the feature */
        style_destroy(s);
    }
}

static void test_comparisons(void)
{
    fake f = fake_building();
    CHECK_INT(filter_at("[\"==\", [\"get\", \"status\"], \"available\"]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"!=\", [\"get\", \"status\"], \"available\"]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"==\", [\"get\", \"enterprises\"], 12]", &f, "Polygon"), 1);
    /* a type mismatch in == is false, in != true */
    CHECK_INT(filter_at("[\"==\", [\"get\", \"enterprises\"], \"12\"]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"!=\", [\"get\", \"enterprises\"], \"12\"]", &f, "Polygon"), 1);
    /* null equals only null */
    CHECK_INT(filter_at("[\"==\", [\"get\", \"area_m2\"], 0]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"!=\", [\"get\", \"area_m2\"], 0]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"==\", [\"get\", \"area_m2\"], null]", &f, "Polygon"), 1);
    /* ordering */
    CHECK_INT(filter_at("[\">\", [\"get\", \"vacancy\"], 0.2]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\">=\", [\"get\", \"vacancy\"], 0.25]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"<\", [\"get\", \"vacancy\"], 0.25]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"<=\", [\"get\", \"vacancy\"], 0.25]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"<\", [\"get\", \"id\"], \"C\"]", &f, "Polygon"), 1);
    /* ordering null is an error: the filter is false, even under ! */
    CHECK_INT(filter_at("[\"<\", [\"get\", \"area_m2\"], 5]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"!\", [\"<\", [\"get\", \"area_m2\"], 5]]", &f, "Polygon"), 0);
    /* all / any, short-circuit */
    CHECK_INT(filter_at("[\"all\"]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"any\"]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"all\", [\"has\", \"vacancy\"], [\"==\", [\"get\", \"kind\"], "
                        "\"building\"]]",
                        &f, "Polygon"),
              1);
    CHECK_INT(filter_at("[\"any\", [\"has\", \"area_m2\"], [\"==\", [\"get\", \"kind\"], "
                        "\"factory\"]]",
                        &f, "Polygon"),
              0);
    CHECK_INT(filter_at("[\"any\", true, [\"<\", [\"get\", \"area_m2\"], 5]]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("true", &f, "Polygon"), 1);
    CHECK_INT(filter_at("false", &f, "Polygon"), 0);
    /* in: a list, or a substring */
    CHECK_INT(filter_at("[\"in\", [\"get\", \"status\"], [\"literal\", [\"available\", "
                        "\"reserved\"]]]",
                        &f, "Polygon"),
              1);
    CHECK_INT(
        filter_at("[\"in\", [\"get\", \"status\"], [\"literal\", [\"leased\"]]]", &f, "Polygon"),
        0);
    CHECK_INT(
        filter_at("[\"in\", [\"get\", \"enterprises\"], [\"literal\", [1, 12]]]", &f, "Polygon"),
        1);
    CHECK_INT(filter_at("[\"in\", \"semiconductor\", [\"get\", \"industries\"]]", &f, "Polygon"),
              1);
    CHECK_INT(filter_at("[\"in\", \"medical\", [\"get\", \"industries\"]]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"in\", \"medical\", [\"get\", \"park\"]]", &f, "Polygon"), 0);
}

static void test_legacy(void)
{
    fake f = fake_building();
    CHECK_INT(filter_at("[\"==\", \"status\", \"available\"]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"!=\", \"status\", \"available\"]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"!=\", \"park\", \"P01\"]", &f, "Polygon"), 1); /* absent */
    CHECK_INT(filter_at("[\"in\", \"kind\", \"building\", \"factory\"]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"in\", \"kind\", \"factory\"]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"!in\", \"kind\", \"factory\"]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"has\", \"vacancy\"]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"!has\", \"vacancy\"]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\">=\", \"enterprises\", 12]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"<\", \"enterprises\", 12]", &f, "Polygon"), 0);
    /* a legacy comparison with null is just false: the any goes on */
    CHECK_INT(filter_at("[\"<\", \"area_m2\", 5]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"any\", [\"<\", \"area_m2\", 5], [\"==\", \"status\", \"available\"]]",
                        &f, "Polygon"),
              1);
    CHECK_INT(filter_at("[\"all\", [\"==\", \"kind\", \"building\"], [\">\", \"vacancy\", 0.2]]",
                        &f, "Polygon"),
              1);
    CHECK_INT(filter_at("[\"none\", [\"==\", \"kind\", \"building\"]]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"none\", [\"==\", \"kind\", \"factory\"]]", &f, "Polygon"), 1);
    CHECK_INT(filter_at("[\"==\", \"$type\", \"Point\"]", &f, "Point"), 1);
    CHECK_INT(filter_at("[\"==\", \"$type\", \"Point\"]", &f, "Polygon"), 0);
    CHECK_INT(filter_at("[\"==\", \"$id\", \"B-017\"]", &f, "Polygon"), 1);
    /* expression and legacy filters mix under all/any as MapLibre decides */
    CHECK_INT(
        filter_at("[\"all\", [\"==\", [\"get\", \"kind\"], \"building\"], true]", &f, "Polygon"),
        1);

    /* zoom functions: exponential (numbers, colours) and interval */
    CHECK_NEAR(num_at("{\"stops\": [[10, 1], [14, 5]]}", &f, 12), 3, 0);
    CHECK_NEAR(num_at("{\"stops\": [[10, 1], [14, 5]]}", &f, 9), 1, 0);
    CHECK_NEAR(num_at("{\"stops\": [[10, 0], [12, 30]], \"base\": 2}", &f, 11), 10, 1e-12);
    CHECK_NEAR(num_at("{\"type\": \"interval\", \"stops\": [[10, 1], [14, 5]]}", &f, 13.9), 1, 0);
    CHECK_NEAR(num_at("{\"type\": \"interval\", \"stops\": [[10, 1], [14, 5]]}", &f, 14), 5, 0);
    CHECK_NEAR(num_at("{\"stops\": [[10, 7]]}", &f, 3), 7, 0);
    CHECK_COLOR(color_at("{\"stops\": [[10, \"#000000\"], [20, \"#ffffff\"]]}", &f, 15), 0.5, 0.5,
                0.5, 1);
    style *s = load(
        one_layer("line", "layout", "line-cap", "{\"stops\": [[12, \"butt\"], [15, \"round\"]]}"));
    if (s) {
        style_ctx ctx = ctx_for(&f, 14, "LineString");
        CHECK_STR(style_eval_string(prop_of(s, SP_LINE_CAP), &ctx, "?"), "butt");
        ctx.zoom = 16;
        CHECK_STR(style_eval_string(prop_of(s, SP_LINE_CAP), &ctx, "?"), "round");
        CHECK(style_expr_is_feature_constant(prop_of(s, SP_LINE_CAP)));
        style_destroy(s);
    }
    CHECK_STR(text_at("{\"stops\": [[10, \"{id}\"], [15, \"{name_en}\"]]}", &f, 16),
              "Innovation Tower");
}

static void test_colors(void)
{
    static const struct {
        const char *text;
        float r, g, b, a;
    } ok[] = {
        {"#f00", 1, 0, 0, 1},
        {"#0f08", 0, 1, 0, 0x88 / 255.0f},
        {"#2BB39A", 0x2b / 255.0f, 0xb3 / 255.0f, 0x9a / 255.0f, 1},
        {"#ff000080", 1, 0, 0, 0x80 / 255.0f},
        {"rgb(255, 128, 0)", 1, 128 / 255.0f, 0, 1},
        {"rgba(0,0,255,0)", 0, 0, 1, 0},
        {"rgba(0, 0, 255, 0.5)", 0, 0, 1, 0.5f},
        {"  RGB(100%, 0%, 50%)  ", 1, 0, 0.5f, 1},
        {"rgb(300, -5, 0)", 1, 0, 0, 1}, /* clamped, as CSS */
        {"hsl(120, 100%, 50%)", 0, 1, 0, 1},
        {"hsl(0, 100%, 25%)", 0.5f, 0, 0, 1},
        {"hsla(240, 100%, 50%, 0.25)", 0, 0, 1, 0.25f},
        {"hsl(-120, 100%, 50%)", 0, 0, 1, 1},
        {"black", 0, 0, 0, 1},
        {"White", 1, 1, 1, 1},
        {"transparent", 0, 0, 0, 0},
        {"red", 1, 0, 0, 1},
        {"green", 0, 128 / 255.0f, 0, 1},
        {"blue", 0, 0, 1, 1},
        {"gray", 128 / 255.0f, 128 / 255.0f, 128 / 255.0f, 1},
        {"grey", 128 / 255.0f, 128 / 255.0f, 128 / 255.0f, 1},
        {"orange", 1, 165 / 255.0f, 0, 1},
        {"yellow", 1, 1, 0, 1},
        {"royalblue", 65 / 255.0f, 105 / 255.0f, 225 / 255.0f, 1},
        {"aliceblue", 240 / 255.0f, 248 / 255.0f, 1, 1},
        {"yellowgreen", 154 / 255.0f, 205 / 255.0f, 50 / 255.0f, 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        style_color c = {-1, -1, -1, -1};
        bool parsed = style_parse_color(ok[i].text, &c);
        if (!parsed) fprintf(stderr, "colour \"%s\" did not parse\n", ok[i].text);
        CHECK(parsed);
        CHECK_COLOR(c, ok[i].r, ok[i].g, ok[i].b, ok[i].a);
    }
    static const char *const bad[] = {
        "",
        "#",
        "#ff",
        "#fffff",
        "#ggg",
        "#ff00001",
        "rgb(1,2)",
        "rgb(1,2,3",
        "rgb(1,2,3)x",
        "rgb(1,2,3,4,5)",
        "hsl(1,2,3)",
        "rgb(a,b,c)",
        "reddish",
        "re",
        "rgb()",
        "rgb(1e999,0,0)",
        "hsl(1%, 50%, 50%)",
        NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        style_color c = {-1, -1, -1, -1};
        if (style_parse_color(bad[i], &c)) fprintf(stderr, "colour \"%s\" parsed\n", bad[i]);
        CHECK(!style_parse_color(bad[i], &c));
        CHECK_NEAR(c.r, -1, 0); /* untouched */
    }
    CHECK(!style_parse_color(NULL, NULL));
}

static void test_arrays_and_layers(void)
{
    fake f = fake_building();
    style *s =
        load("{\"version\": 8, \"name\": \"n\", \"sources\": {\"x\": {\"type\": \"vector\"}},"
             " \"glyphs\": \"g\", \"sprite\": \"s\", \"center\": [117.19, 34.29], \"zoom\": "
             "12, \"layers\": ["
             "{\"id\": \"bg\", \"type\": \"background\"},"
             "{\"id\": \"hidden\", \"type\": \"fill\", \"source-layer\": \"water\", "
             "\"layout\": {\"visibility\": \"none\"}},"
             "{\"id\": \"l\", \"type\": \"line\", \"source\": \"x\", \"source-layer\": "
             "\"roads\", \"minzoom\": 12.5, \"maxzoom\": 18,"
             " \"layout\": {\"visibility\": \"visible\", \"line-cap\": \"round\"},"
             " \"paint\": {\"line-dasharray\": [2, 1.5], \"line-color\": \"red\", "
             "\"line-color-transition\": {\"duration\": 300}}},"
             "{\"id\": \"t\", \"type\": \"symbol\", \"source-layer\": \"parks\","
             " \"layout\": {\"text-font\": [\"Noto Sans CJK SC\", \"DejaVu Sans\"],"
             " \"text-field\": null}},"
             "{\"id\": \"h\", \"type\": \"heatmap\", \"source-layer\": \"parks\","
             " \"paint\": {\"heatmap-color\": [\"interpolate\", [\"linear\"], "
             "[\"heatmap-density\"], 0, \"transparent\", 1, \"red\"]}}]}");
    if (!s) return;
    CHECK_STR(style_name(s), "n");
    CHECK_INT(style_layer_count(s), 4);
    CHECK(style_layer_at(s, 4) == NULL);
    const style_layer *bg = style_layer_at(s, 0), *l = style_layer_at(s, 1),
                      *t = style_layer_at(s, 2), *h = style_layer_at(s, 3);
    CHECK_STR(bg->id, "bg");
    CHECK_INT(bg->type, STYLE_BACKGROUND);
    CHECK_NEAR(bg->minzoom, 0, 0);
    CHECK_NEAR(bg->maxzoom, 24, 0);
    CHECK(bg->filter == NULL && bg->prop[SP_BACKGROUND_COLOR] == NULL);
    CHECK_STR(l->id, "l");
    CHECK_INT(l->source_layer, LAYER_ROADS);
    CHECK_NEAR(l->minzoom, 12.5, 0);
    CHECK_NEAR(l->maxzoom, 18, 0);
    style_ctx ctx = ctx_for(&f, 14, "LineString");
    double dash[4];
    CHECK_INT(style_eval_numbers(l->prop[SP_LINE_DASHARRAY], &ctx, dash, 4), 2);
    CHECK_NEAR(dash[0], 2, 0);
    CHECK_NEAR(dash[1], 1.5, 0);
    CHECK_INT(style_eval_numbers(l->prop[SP_LINE_DASHARRAY], &ctx, dash, 1), 1);
    CHECK_INT(style_eval_numbers(l->prop[SP_LINE_COLOR], &ctx, dash, 4), 0);
    CHECK_STR(style_eval_string(l->prop[SP_LINE_CAP], &ctx, NULL), "round");
    CHECK(style_expr_is_feature_constant(l->prop[SP_LINE_COLOR]));
    const char *fonts[4];
    CHECK_INT(style_eval_strings(t->prop[SP_TEXT_FONT], &ctx, fonts, 4), 2);
    CHECK_STR(fonts[0], "Noto Sans CJK SC");
    CHECK_STR(fonts[1], "DejaVu Sans");
    CHECK(t->prop[SP_TEXT_FIELD] == NULL);
    CHECK(style_expr_is_feature_constant(NULL));
    ctx.heatmap_density = 0.5;
    CHECK_COLOR(style_eval_color(h->prop[SP_HEATMAP_COLOR], &ctx, (style_color){0}), 1, 0, 0, 0.5);
    CHECK(style_expr_is_feature_constant(h->prop[SP_HEATMAP_COLOR]));
    /* NULL expressions and contexts give the fallback */
    CHECK_NEAR(style_eval_number(NULL, &ctx, 7), 7, 0);
    CHECK_STR(style_eval_string(l->prop[SP_LINE_CAP], NULL, "x"), "x");
    CHECK(style_eval_filter(NULL, &ctx));
    CHECK(style_eval_text(NULL, &ctx, (char[8]){0}, 8) == NULL);
    style_destroy(s);
    style_destroy(NULL);

    /* without "name" the base name of the file names the style */
    style *u = NULL;
    const char *min = "{\"version\": 8, \"layers\": []}";
    CHECK_INT(style_load_string(min, strlen(min), "some/dir/plain.json", &u, NULL), ZS_OK);
    CHECK_STR(style_name(u), "plain");
    CHECK_INT(style_layer_count(u), 0);
    style_destroy(u);

    CHECK_STR(style_prop_name(PROP_AVAILABLE_AREA), "available_area");
    CHECK_STR(style_prop_name(PROP_ANNUAL_TAX_WAN), "annual_tax_wan");
    CHECK(style_prop_name(PROP_COUNT) == NULL);
}

/* ---- errors --------------------------------------------------------------- */

/* Loading json fails with status and a message containing every one of the
 * NULL-terminated words; nothing is returned. */
static void expect_error(const char *json, zs_status status, const char *const *words)
{
    static int sentinel;
    style *s = (style *)&sentinel;
    zs_error err = {0};
    zs_status st = style_load_string(json, strlen(json), "styles/bad.json", &s, &err);
    CHECK_INT(st, status);
    CHECK(s == NULL);
    CHECK_INT(err.status, status);
    for (const char *const *w = words; *w; w++) {
        if (!strstr(err.msg, *w)) {
            fprintf(stderr, "message \"%s\" lacks \"%s\"\n  style: %s\n", err.msg, *w, json);
            test_failures++;
        }
    }
    if (st == ZS_OK) style_destroy(s);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_errors(void)
{
    const char *file = "styles/bad.json";
    /* paint and layout properties */
    expect_error(one_layer("fill", "paint", "fill-pattern", "\"stripes\""), ZS_EINVAL,
                 WORDS(file, "layer 't'", "paint property 'fill-pattern' is not supported"));
    expect_error(one_layer("fill", "paint", "fill-colour", "\"red\""), ZS_EINVAL,
                 WORDS(file, "layer 't'", "'fill-colour'", "not supported"));
    expect_error(one_layer("fill", "paint", "line-color", "\"red\""), ZS_EINVAL,
                 WORDS(file, "layer 't'", "'line-color'", "does not apply to fill layers"));
    expect_error(one_layer("line", "paint", "line-cap", "\"round\""), ZS_EINVAL,
                 WORDS(file, "layer 't'", "'line-cap'", "layout property"));
    expect_error(
        one_layer("fill", "paint", "fill-opacity", "\"half\""), ZS_EINVAL,
        WORDS(file, "layer 't'", "paint property 'fill-opacity'", "expected a number", "\"half\""));
    expect_error(one_layer("fill", "paint", "fill-opacity", "1.5"), ZS_EINVAL,
                 WORDS(file, "layer 't'", "'fill-opacity'", "out of range"));
    expect_error(one_layer("fill", "paint", "fill-color", "12"), ZS_EINVAL,
                 WORDS(file, "layer 't'", "'fill-color'", "expected a colour"));
    expect_error(one_layer("fill", "paint", "fill-color", "\"reddish\""), ZS_EINVAL,
                 WORDS(file, "layer 't'", "'fill-color'", "\"reddish\" is not a colour"));
    expect_error(one_layer("fill", "paint", "fill-color",
                           "[\"match\", [\"get\", \"status\"], \"available\", \"#zz0000\", "
                           "\"red\"]"),
                 ZS_EINVAL, WORDS(file, "'fill-color'", "\"#zz0000\" is not a colour"));
    expect_error(one_layer("line", "layout", "line-cap", "\"pointy\""), ZS_EINVAL,
                 WORDS(file, "layout property 'line-cap'", "butt, round, square"));
    expect_error(one_layer("line", "paint", "line-dasharray", "[2, \"x\"]"), ZS_EINVAL,
                 WORDS(file, "'line-dasharray'", "expected an array of numbers"));
    expect_error(one_layer("symbol", "layout", "text-size", "[\"get\", \"floor_count\"]"),
                 ZS_EINVAL, WORDS(file, "layer 't'", "'text-size'", "'floor_count'"));
    expect_error(one_layer("symbol", "layout", "text-field", "\"{floors}\""), ZS_EINVAL,
                 WORDS(file, "'text-field'", "'floors'"));
    expect_error(one_layer("symbol", "layout", "text-size", "[\"+\", 1, 2]"), ZS_EINVAL,
                 WORDS(file, "'text-size'", "\"+\" is not supported"));
    expect_error(one_layer("symbol", "layout", "text-size",
                           "[\"interpolate\", [\"linear\"], [\"zoom\"], 10, \"a\", 12, \"b\"]"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "expected a number"));
    expect_error(one_layer("symbol", "layout", "text-field",
                           "[\"interpolate\", [\"linear\"], [\"zoom\"], 10, 1, 12, 2]"),
                 ZS_EINVAL, WORDS(file, "'text-field'", "interpolate"));
    expect_error(one_layer("symbol", "layout", "text-size",
                           "[\"interpolate\", [\"cubic-bezier\", 0, 0, 1, 1], [\"zoom\"], 10, 1]"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "cubic-bezier"));
    expect_error(one_layer("symbol", "layout", "text-size",
                           "[\"interpolate\", [\"linear\"], [\"zoom\"], 12, 1, 10, 2]"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "ascending"));
    expect_error(one_layer("symbol", "layout", "text-size", "[\"step\", [\"zoom\"], 1, 12]"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "[\"step\"]"));
    expect_error(one_layer("symbol", "layout", "text-size",
                           "[\"match\", [\"get\", \"kind\"], \"a\", 1, 2, 3, 4]"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "all strings or all numbers"));
    expect_error(one_layer("symbol", "layout", "text-size",
                           "[\"match\", [\"get\", \"kind\"], [\"a\", \"b\"], 1, \"a\", 3, 4]"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "\"a\" appears twice"));
    expect_error(one_layer("symbol", "layout", "text-size",
                           "[\"match\", [\"get\", \"enterprises\"], [1, 2], 1, 2, 3, 4]"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "label 2 appears twice"));
    expect_error(one_layer("symbol", "layout", "text-size",
                           "[\"match\", [\"get\", \"enterprises\"], 1.5, 1, 4]"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "integers"));
    expect_error(one_layer("symbol", "layout", "text-size", "[\"heatmap-density\"]"), ZS_EINVAL,
                 WORDS(file, "'text-size'", "only available in heatmap-color"));
    expect_error(one_layer("symbol", "layout", "text-size", "{\"property\": \"x\", \"stops\": []}"),
                 ZS_EINVAL, WORDS(file, "'text-size'", "property functions are not supported"));
    expect_error(one_layer("symbol", "layout", "text-size", "[\"get\", \"name\", {}]"), ZS_EINVAL,
                 WORDS(file, "'text-size'", "from an object"));
    expect_error(one_layer("symbol", "layout", "text-size", "[[1, 2]]"), ZS_EINVAL,
                 WORDS(file, "'text-size'", "[\"literal\", [...]]"));
    expect_error(one_layer("symbol", "layout", "visibility", "\"hidden\""), ZS_EINVAL,
                 WORDS(file, "layer 't'", "'visibility'"));

    /* filters */
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"f\", \"type\": \"fill\", "
                 "\"source-layer\": \"parcels\", \"filter\": [\"==\", \"colour\", \"red\"]}]}",
                 ZS_EINVAL, WORDS(file, "layer 'f'", "filter", "'colour'"));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"f\", \"type\": \"fill\", "
                 "\"source-layer\": \"parcels\", \"filter\": [\"==\", [\"zoom\"], "
                 "\"big\"]}]}",
                 ZS_EINVAL, WORDS(file, "layer 'f'", "filter", "cannot compare"));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"f\", \"type\": \"fill\", "
                 "\"source-layer\": \"parcels\", \"filter\": [\"within\", {}]}]}",
                 ZS_EINVAL, WORDS(file, "layer 'f'", "filter", "\"within\""));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"f\", \"type\": \"fill\", "
                 "\"source-layer\": \"parcels\", \"filter\": [\"zoom\"]}]}",
                 ZS_EINVAL, WORDS(file, "layer 'f'", "filter", "expected a boolean"));

    /* layers */
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"r\", \"type\": \"raster\", "
                 "\"source-layer\": \"parcels\"}]}",
                 ZS_EINVAL, WORDS(file, "layer 'r'", "layer type 'raster' is not supported"));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"p\", \"type\": \"fill\", "
                 "\"source-layer\": \"poi\"}]}",
                 ZS_EINVAL, WORDS(file, "layer 'p'", "source-layer 'poi'"));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"p\", \"type\": \"fill\"}]}", ZS_EINVAL,
                 WORDS(file, "layer 'p'", "source-layer"));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"a\", \"type\": \"background\"}, "
                 "{\"id\": \"a\", \"type\": \"background\"}]}",
                 ZS_EINVAL, WORDS(file, "layer 'a'", "used by another layer"));
    expect_error("{\"version\": 8, \"layers\": [{\"type\": \"background\"}]}", ZS_EINVAL,
                 WORDS(file, "layer '#0'", "\"id\""));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"z\", \"type\": \"background\", "
                 "\"minzoom\": 25}]}",
                 ZS_EINVAL, WORDS(file, "layer 'z'", "minzoom"));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"z\", \"type\": \"background\", "
                 "\"minzoom\": 15, \"maxzoom\": 12}]}",
                 ZS_EINVAL, WORDS(file, "layer 'z'", "above"));
    expect_error("{\"version\": 8, \"layers\": [{\"id\": \"k\", \"type\": \"background\", "
                 "\"min-zoom\": 3}]}",
                 ZS_EINVAL, WORDS(file, "layer 'k'", "\"min-zoom\""));

    /* the root */
    expect_error("{\"layers\": []}", ZS_EINVAL, WORDS(file, "\"version\""));
    expect_error("{\"version\": 7, \"layers\": []}", ZS_EINVAL, WORDS(file, "\"version\""));
    expect_error("{\"version\": 8}", ZS_EINVAL, WORDS(file, "\"layers\""));
    expect_error("[8]", ZS_EINVAL, WORDS(file, "object"));
    expect_error("{\"version\": 8, \"sources\": {\"a\": {}, \"b\": {}}, \"layers\": []}", ZS_EINVAL,
                 WORDS(file, "one source"));
    expect_error("{\"version\": 8,\n \"layers\": [\n  {\"id\": \"x\",, }]}", ZS_EINVAL,
                 WORDS(file, "line 3, column"));
    expect_error("{\"version\": 8, \"version\": 8, \"layers\": []}", ZS_EINVAL,
                 WORDS(file, "duplicate"));
    expect_error("", ZS_EINVAL, WORDS(file, "line"));

    /* limits: nesting, layer count, size */
    char *deep = malloc(4096);
    if (deep) {
        size_t n = 0;
        n += (size_t)snprintf(deep + n, 4096 - n,
                              "{\"version\": 8, \"layers\": [{\"id\": \"d\", \"type\": \"fill\", "
                              "\"source-layer\": \"parcels\", \"filter\": ");
        for (int i = 0; i < 100; i++)
            n += (size_t)snprintf(deep + n, 4096 - n, "[\"!\", ");
        n += (size_t)snprintf(deep + n, 4096 - n, "true");
        for (int i = 0; i < 100; i++)
            n += (size_t)snprintf(deep + n, 4096 - n, "]");
        snprintf(deep + n, 4096 - n, "}]}");
        expect_error(deep, ZS_EINVAL, WORDS(file, "layer 'd'", "filter", "nested deeper than 64"));
        /* legacy filters too */
        n = (size_t)snprintf(deep, 4096,
                             "{\"version\": 8, \"layers\": [{\"id\": \"d\", \"type\": \"fill\", "
                             "\"source-layer\": \"parcels\", \"filter\": ");
        for (int i = 0; i < 100; i++)
            n += (size_t)snprintf(deep + n, 4096 - n, "[\"none\", ");
        n += (size_t)snprintf(deep + n, 4096 - n, "[\"has\", \"id\"]");
        for (int i = 0; i < 100; i++)
            n += (size_t)snprintf(deep + n, 4096 - n, "]");
        snprintf(deep + n, 4096 - n, "}]}");
        expect_error(deep, ZS_EINVAL, WORDS(file, "layer 'd'", "filter", "nested deeper than 64"));
        free(deep);
    }
    size_t cap = 1001 * 64 + 64;
    char *many = malloc(cap);
    if (many) {
        size_t n = (size_t)snprintf(many, cap, "{\"version\": 8, \"layers\": [");
        for (int i = 0; i < 1001; i++)
            n += (size_t)snprintf(many + n, cap - n,
                                  "%s{\"id\": \"l%d\", \"type\": \"background\"}", i ? "," : "", i);
        snprintf(many + n, cap - n, "]}");
        expect_error(many, ZS_EINVAL, WORDS(file, "more than 1000 layers"));
        free(many);
    }
    size_t big = (4u << 20) + 16;
    char *huge = malloc(big + 1);
    if (huge) {
        memset(huge, ' ', big);
        huge[big] = '\0';
        memcpy(huge, "{\"version\": 8, \"layers\": []}", 28);
        expect_error(huge, ZS_ENOMEM, WORDS(file, "larger than"));
        free(huge);
    }

    /* a file under the size cap that compiles to more than the memory cap */
    char *wide = malloc(big);
    if (wide) {
        const char *head = "{\"version\": 8, \"layers\": [{\"id\": \"w\", \"type\": \"line\", "
                           "\"source-layer\": \"roads\", \"paint\": {\"line-dasharray\": [";
        size_t n = strlen(head), end = (4u << 20) - 16;
        memcpy(wide, head, n);
        while (n < end) {
            memcpy(wide + n, "0,", 2);
            n += 2;
        }
        memcpy(wide + n, "0]}}]}", 7);
        expect_error(wide, ZS_ENOMEM, WORDS(file, "too large"));
        free(wide);
    }

    /* files */
    style *s = NULL;
    zs_error err = {0};
    CHECK_INT(style_load_file("/nonexistent/zsmap/style.json", &s, &err), ZS_ENOTFOUND);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, "/nonexistent/zsmap/style.json") != NULL);
}

int main(void)
{
    test_shipped_styles();
    test_interpolate();
    test_step_match_case();
    test_values();
    test_comparisons();
    test_legacy();
    test_colors();
    test_arrays_and_layers();
    test_errors();
    TEST_DONE();
}
