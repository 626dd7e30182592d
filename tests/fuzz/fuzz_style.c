/* libFuzzer target for style files: any bytes must load or fail cleanly,
 * and a style that loads must evaluate every property and filter of every
 * layer without fault, at several zooms and densities, on features with
 * and without properties. */
#include "style.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    bool full; /* every property present, else none */
} fake_feature;

static style_value fake_get(const void *feature, style_prop p)
{
    const fake_feature *f = feature;
    if (!f->full) return (style_value){.type = STYLE_NUMBER, .num = NAN};
    switch (p) {
    case PROP_ID:
        return (style_value){.type = STYLE_STRING, .str = "B-017"};
    case PROP_KIND:
        return (style_value){.type = STYLE_STRING, .str = "building"};
    case PROP_NAME:
    case PROP_NAME_ZH:
        return (style_value){.type = STYLE_STRING, .str = "创新大厦"};
    case PROP_NAME_EN:
        return (style_value){.type = STYLE_STRING, .str = "Innovation Tower"};
    case PROP_STATUS:
        return (style_value){.type = STYLE_STRING, .str = "available"};
    case PROP_LAND_USE:
        return (style_value){.type = STYLE_STRING, .str = "industrial"};
    case PROP_PARK:
        return (style_value){.type = STYLE_STRING, .str = "#f80"};
    case PROP_INDUSTRIES:
        return (style_value){.type = STYLE_STRING, .str = "semiconductor,electronics"};
    case PROP_ROAD_CLASS:
        return (style_value){.type = STYLE_STRING, .str = "primary"};
    default:
        return (style_value){.type = STYLE_NUMBER, .num = 1000.0 * (double)p + 0.5};
    }
}

static void evaluate(const style *s)
{
    static const double zooms[] = {0, 11, 13.5, 17, 24, -1e300, 1e300};
    static const char *const geometries[] = {"Point", "Polygon", NULL};
    for (size_t i = 0; i < style_layer_count(s); i++) {
        const style_layer *l = style_layer_at(s, i);
        for (int full = 0; full < 2; full++) {
            fake_feature f = {full != 0};
            for (size_t z = 0; z < sizeof zooms / sizeof zooms[0]; z++) {
                style_ctx ctx = {.zoom = zooms[z],
                                 .heatmap_density = (double)z / 6.0,
                                 .feature = &f,
                                 .get = fake_get,
                                 .geometry = geometries[z % 3]};
                (void)style_eval_filter(l->filter, &ctx);
                for (int p = 0; p < SP_COUNT; p++) {
                    const style_expr *e = l->prop[p];
                    if (!e) continue;
                    char buf[64];
                    double nums[8];
                    const char *strs[8];
                    style_color fallback = {0, 0, 0, 0};
                    (void)style_eval(e, &ctx);
                    (void)style_eval_number(e, &ctx, 0);
                    (void)style_eval_color(e, &ctx, fallback);
                    const char *t = style_eval_string(e, &ctx, "");
                    if (t) (void)strlen(t);
                    t = style_eval_text(e, &ctx, buf, sizeof buf);
                    if (t) (void)strlen(t);
                    (void)style_eval_numbers(e, &ctx, nums, 8);
                    (void)style_eval_strings(e, &ctx, strs, 8);
                    (void)style_expr_is_feature_constant(e);
                }
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    style *s = NULL;
    zs_error err;
    if (style_load_string((const char *)data, size, "fuzz.json", &s, &err) == ZS_OK) {
        (void)style_name(s);
        evaluate(s);
    } else {
        (void)strlen(err.msg);
    }
    style_destroy(s);
    style_color c;
    /* the colour parser sees feature text at run time: feed it too */
    if (size < 256) {
        char text[256];
        memcpy(text, data, size);
        text[size] = '\0';
        (void)style_parse_color(text, &c);
    }
    return 0;
}
