#include "layer.h"

#include <string.h>
#include <strings.h>

const layer_choice layer_status_choices[] = {
    {"available", "可租|可售|空置|待租|待售|招商中|闲置"},
    {"reserved", "已预订|预订|意向|洽谈中"},
    {"leased", "已租|已售|已出租|已出让|使用中"},
    {"under_construction", "在建|建设中|施工中"},
    {NULL, NULL},
};

const layer_choice layer_land_use_choices[] = {
    {"industrial", "工业|工业用地|M"},
    {"commercial", "商业|商业用地|商服|B"},
    {"residential", "住宅|居住|居住用地|R"},
    {"mixed", "混合|混合用地|综合"},
    {"green", "绿地|绿化|公园绿地|G"},
    {"other", "其他|其它"},
    {NULL, NULL},
};

const layer_choice layer_industry_choices[] = {
    {"semiconductor", "半导体|半导体装备|封装测试|半导体装备及先进封测"},
    {"electronics", "电子信息|数字经济|电子信息与数字经济"},
    {"medical", "医疗器械|智能医疗器械|智慧医疗"},
    {"commerce", "商贸|现代商贸|商务服务|现代商贸与商务服务"},
    {NULL, NULL},
};

const layer_choice layer_kind_choices[] = {
    {"building", "楼宇|写字楼|办公楼|商务楼"},
    {"factory", "厂房|标准厂房|工业厂房"},
    {NULL, NULL},
};

#define COMMON_CARRIER                                                                             \
    {"id", FIELD_TEXT, NULL, true, "unique carrier id"},                                           \
        {"name_zh", FIELD_TEXT, NULL, false, "name in Chinese"},                                   \
        {"name_en", FIELD_TEXT, NULL, false, "name in English"},                                   \
        {"board", FIELD_TEXT, NULL, false, "owning sub-district or zone (name)"},                  \
        {"address", FIELD_TEXT, NULL, false, "street address"},                                    \
        {"status", FIELD_ENUM, layer_status_choices, false, "availability"},                       \
        {"industries", FIELD_LIST, layer_industry_choices, false, "target industries"},            \
        {"contact_name", FIELD_TEXT, NULL, false, "contact person"},                               \
        {"contact_phone", FIELD_TEXT, NULL, false, "contact telephone"},                           \
        {"updated_at", FIELD_TEXT, NULL, false, "ISO 8601 time of the last change (UTC)"},         \
    {                                                                                              \
        "photos", FIELD_PHOTOS, NULL, false, "photo files: file[|caption];..."                     \
    }

static const layer_field park_fields[] = {
    COMMON_CARRIER,
    {"area_m2", FIELD_REAL, NULL, false, "planned area, m²"},
    {"enterprises", FIELD_INT, NULL, false, "number of enterprises in the park"},
    {"annual_tax_wan", FIELD_REAL, NULL, false, "annual tax revenue, 万元 (10,000 yuan)"},
    {"tax_class", FIELD_TEXT, NULL, false, "tax class, e.g. A, B, C"},
    {"description_zh", FIELD_TEXT, NULL, false, "description in Chinese"},
    {"description_en", FIELD_TEXT, NULL, false, "description in English"},
};

static const layer_field parcel_fields[] = {
    COMMON_CARRIER,
    {"park", FIELD_TEXT, NULL, false, "id of the park the parcel lies in"},
    {"land_use", FIELD_ENUM, layer_land_use_choices, false, "planned land use"},
    {"area_m2", FIELD_REAL, NULL, false, "land area, m² (mu = m² / 666.67)"},
    {"current_state", FIELD_TEXT, NULL, false, "current state (现状), e.g. 净地"},
    {"plot_ratio", FIELD_REAL, NULL, false, "maximum plot ratio (容积率)"},
    {"price_wan_per_mu", FIELD_REAL, NULL, false, "land price, 万元 per mu"},
};

static const layer_field building_fields[] = {
    COMMON_CARRIER,
    {"kind", FIELD_ENUM, layer_kind_choices, true, "building (office) or factory"},
    {"park", FIELD_TEXT, NULL, false, "id of the park the building lies in"},
    {"floors", FIELD_INT, NULL, false, "number of floors above ground"},
    {"height_m", FIELD_REAL, NULL, false, "building height, m"},
    {"gross_area_m2", FIELD_REAL, NULL, false, "gross floor area, m²"},
    {"vacant_area_m2", FIELD_REAL, NULL, false, "vacant floor area, m²"},
    {"rent_yuan_m2_day", FIELD_REAL, NULL, false, "office rent, 元 per m² per day"},
    {"length_m", FIELD_REAL, NULL, false, "factory length, m"},
    {"width_m", FIELD_REAL, NULL, false, "factory width, m"},
    {"clear_height_m", FIELD_REAL, NULL, false, "factory clear height under the roof, m"},
    {"floor_load_t_m2", FIELD_REAL, NULL, false, "floor load, tonnes per m²"},
    {"power_kva", FIELD_REAL, NULL, false, "electric power available, kVA"},
    {"crane_t", FIELD_REAL, NULL, false, "overhead crane capacity, tonnes"},
    {"rent_yuan_m2_month", FIELD_REAL, NULL, false, "factory rent, 元 per m² per month"},
};

static const layer_field boundary_fields[] = {
    {"id", FIELD_TEXT, NULL, true, "unique id"},
    {"name_zh", FIELD_TEXT, NULL, false, "name in Chinese"},
    {"name_en", FIELD_TEXT, NULL, false, "name in English"},
};

static const layer_field road_fields[] = {
    {"id", FIELD_TEXT, NULL, true, "unique id"},
    {"name_zh", FIELD_TEXT, NULL, false, "name in Chinese"},
    {"name_en", FIELD_TEXT, NULL, false, "name in English"},
    {"road_class", FIELD_TEXT, NULL, false, "primary, secondary, tertiary or minor"},
};

static const layer_field water_fields[] = {
    {"id", FIELD_TEXT, NULL, true, "unique id"},
    {"name_zh", FIELD_TEXT, NULL, false, "name in Chinese"},
    {"name_en", FIELD_TEXT, NULL, false, "name in English"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const layer_info layers[LAYER_COUNT] = {
    {LAYER_PARKS, "parks", true, GEOM_POLYGON, park_fields, N(park_fields)},
    {LAYER_PARCELS, "parcels", true, GEOM_POLYGON, parcel_fields, N(parcel_fields)},
    {LAYER_BUILDINGS, "buildings", true, GEOM_POLYGON, building_fields, N(building_fields)},
    {LAYER_BOUNDARY, "boundary", false, GEOM_POLYGON, boundary_fields, N(boundary_fields)},
    {LAYER_ROADS, "roads", false, GEOM_LINE, road_fields, N(road_fields)},
    {LAYER_WATER, "water", false, GEOM_POLYGON, water_fields, N(water_fields)},
};

const layer_info *layer_get(layer_id id)
{
    return id < LAYER_COUNT ? &layers[id] : NULL;
}

bool layer_by_name(const char *name, layer_id *out)
{
    for (int i = 0; i < LAYER_COUNT; i++) {
        if (strcmp(layers[i].name, name) == 0) {
            *out = (layer_id)i;
            return true;
        }
    }
    return false;
}

int layer_field_index(const layer_info *info, const char *name)
{
    for (size_t i = 0; i < info->nfields; i++)
        if (strcmp(info->fields[i].name, name) == 0) return (int)i;
    return -1;
}

/* True when raw equals one of the '|'-separated names in list. */
static bool in_synonyms(const char *list, const char *raw)
{
    size_t n = strlen(raw);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, raw, n) == 0) return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

const char *layer_choice_code(const layer_field *field, const char *raw)
{
    if (!field->choices || !raw) return NULL;
    for (const layer_choice *c = field->choices; c->code; c++)
        if (strcasecmp(c->code, raw) == 0 || in_synonyms(c->synonyms, raw)) return c->code;
    return NULL;
}
