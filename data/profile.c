#include "profile.h"

#include <jansson.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The state of one build: the first failure wins and is reported at the end,
 * so the building code reads as a list of keys. */
typedef struct {
    const profile_input *in;
    const layer_info *info;
    const char *id;
    zs_status status;
    zs_error *err;
} build;

bool profile_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p++;
        if (c < 0x80) continue;
        unsigned need, min;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1, min = 0x80, c &= 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, min = 0x800, c &= 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, min = 0x10000, c &= 0x07;
        } else {
            return false; /* continuation byte, overlong lead, or beyond U+10FFFF */
        }
        if ((size_t)(end - p) < need) return false;
        for (unsigned i = 0; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80) return false;
            c = c << 6 | (p[i] & 0x3fu);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return false;
        p += need;
    }
    return true;
}

static void oom(build *b)
{
    if (!b->status) b->status = zs_fail(b->err, ZS_ENOMEM, "out of memory building a profile");
}

/* Adds key: v to o, taking v; a NULL v is a failed allocation. */
static void put(build *b, json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new_nocheck(o, key, v)) oom(b);
}

static json_t *bad_utf8(build *b, const char *field)
{
    if (!b->status)
        b->status = zs_fail(b->err, ZS_EINVAL, "%s '%s': field %s is not valid UTF-8",
                            b->info->name, b->id, field);
    return json_null();
}

/* A JSON string of s (NULL: null), checked to be UTF-8; field names it in
 * the error. */
static json_t *text(build *b, const char *field, const char *s)
{
    if (!s) return json_null();
    size_t n = strlen(s);
    if (!profile_utf8_valid(s, n)) return bad_utf8(b, field);
    return json_stringn_nocheck(s, n);
}

/* A JSON number, or null when v is not finite (absent). */
static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static double round_to(double v, double scale)
{
    return round(v * scale) / scale;
}

/* The value of the named field, or NULL when the layer has no such field or
 * the value is null or absent. */
static const store_value *value(const build *b, const char *name, const layer_field **field)
{
    int i = layer_field_index(b->info, name);
    if (i < 0) return NULL;
    if (field) *field = &b->info->fields[i];
    const store_value *v = &b->in->values[i];
    return v->null || v->absent ? NULL : v;
}

static const char *str(const build *b, const char *name)
{
    const store_value *v = value(b, name, NULL);
    return v ? v->text : NULL;
}

/* "a,b" as ["a", "b"]: blanks around codes and empty codes dropped. */
static json_t *list(build *b, const char *field, const char *s)
{
    if (!s) return json_null();
    json_t *a = json_array();
    if (!a) return NULL;
    for (const char *p = s; *p;) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *q = end;
        while (p < q && (*p == ' ' || *p == '\t'))
            p++;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        if (q > p) {
            if (!profile_utf8_valid(p, (size_t)(q - p))) {
                json_decref(a);
                return bad_utf8(b, field);
            }
            if (json_array_append_new(a, json_stringn_nocheck(p, (size_t)(q - p)))) {
                json_decref(a);
                return NULL;
            }
        }
        p = *end ? end + 1 : end;
    }
    return a;
}

/* Adds the named field under its own name, typed by the layer description. */
static void field(build *b, json_t *o, const char *name)
{
    const layer_field *f = NULL;
    const store_value *v = value(b, name, &f);
    json_t *j;
    if (!v) {
        j = json_null();
    } else {
        switch (f->type) {
        case FIELD_REAL:
            j = number(v->real);
            break;
        case FIELD_INT:
            j = json_integer(v->integer);
            break;
        case FIELD_LIST:
            j = list(b, name, v->text);
            break;
        default:
            j = text(b, name, v->text);
            break;
        }
    }
    put(b, o, name, j);
}

/* {k1: v1, k2: v2}, strings (f1 and f2 name them in errors). */
static json_t *two(build *b, const char *k1, const char *f1, const char *v1, const char *k2,
                   const char *f2, const char *v2)
{
    json_t *o = json_object();
    if (!o) return NULL;
    put(b, o, k1, text(b, f1, v1));
    put(b, o, k2, text(b, f2, v2));
    return o;
}

/* {zh, en} from two strings. */
static json_t *pair(build *b, const char *zh_field, const char *zh, const char *en_field,
                    const char *en)
{
    return two(b, "zh", zh_field, zh, "en", en_field, en);
}

/* "/photos/" and file with every byte outside [A-Za-z0-9._~/-] percent-encoded;
 * NULL for NULL. */
static json_t *photo_url(build *b, const char *field, const char *file)
{
    if (!file) return json_null();
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(file);
    char *url = malloc(sizeof "/photos/" + 3 * n);
    if (!url) return NULL;
    memcpy(url, "/photos/", sizeof "/photos/" - 1);
    char *o = url + sizeof "/photos/" - 1;
    for (const unsigned char *p = (const unsigned char *)file; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("._~/-", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    json_t *j = text(b, field, url);
    free(url);
    return j;
}

static json_t *photos(build *b)
{
    json_t *a = json_array();
    if (!a) return NULL;
    for (size_t i = 0; i < b->in->nphotos; i++) {
        const profile_photo *p = &b->in->photos[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(a, o)) {
            oom(b);
            break;
        }
        put(b, o, "url", photo_url(b, "photo file", p->file));
        put(b, o, "thumbnail_url", photo_url(b, "photo thumbnail", p->thumb));
        put(b, o, "caption", text(b, "photo caption", p->caption));
    }
    return a;
}

static json_t *park(build *b)
{
    const char *id = str(b, "park");
    if (!id) return json_null();
    const profile_park *p = b->in->park;
    json_t *o = json_object();
    if (!o) return NULL;
    put(b, o, "id", text(b, "park", id));
    put(b, o, "name",
        pair(b, "park name_zh", p ? p->name_zh : NULL, "park name_en", p ? p->name_en : NULL));
    return o;
}

static void common(build *b, json_t *o, const char *kind)
{
    put(b, o, "id", text(b, "id", b->id));
    put(b, o, "kind", json_string_nocheck(kind));
    put(b, o, "name", pair(b, "name_zh", str(b, "name_zh"), "name_en", str(b, "name_en")));
    put(b, o, "park", park(b));
    const char *board = str(b, "board");
    put(b, o, "board",
        board ? pair(b, "board", board, "board name_en", b->in->board_en) : json_null());
    field(b, o, "address");
    field(b, o, "status");
    put(b, o, "lon", number(round_to(b->in->lon, 1e6)));
    put(b, o, "lat", number(round_to(b->in->lat, 1e6)));
    put(b, o, "contact",
        two(b, "name", "contact_name", str(b, "contact_name"), "phone", "contact_phone",
            str(b, "contact_phone")));
    put(b, o, "photos", photos(b));
    field(b, o, "updated_at");
    put(b, o, "version", json_integer(b->in->version));
}

static void park_fields(build *b, json_t *o)
{
    field(b, o, "industries");
    field(b, o, "area_m2");
    field(b, o, "enterprises");
    field(b, o, "annual_tax_wan");
    field(b, o, "tax_class");
    put(b, o, "description",
        pair(b, "description_zh", str(b, "description_zh"), "description_en",
             str(b, "description_en")));
}

static void parcel_fields(build *b, json_t *o)
{
    field(b, o, "land_use");
    field(b, o, "area_m2");
    const store_value *area = value(b, "area_m2", NULL);
    put(b, o, "area_mu", number(area ? round_to(area->real / LAYER_MU_M2, 100) : NAN));
    field(b, o, "current_state");
    field(b, o, "plot_ratio");
    field(b, o, "price_wan_per_mu");
    field(b, o, "industries");
}

static void building_fields(build *b, json_t *o)
{
    static const char *const names[] = {
        "floors",           "height_m",  "gross_area_m2", "vacant_area_m2",
        "rent_yuan_m2_day", "length_m",  "width_m",       "clear_height_m",
        "floor_load_t_m2",  "power_kva", "crane_t",       "rent_yuan_m2_month",
        "industries",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        field(b, o, names[i]);
}

zs_status profile_build(const profile_input *in, char **json, size_t *len, zs_error *err)
{
    *json = NULL;
    *len = 0;
    const layer_info *info = layer_get(in->layer);
    if (!info || !info->carrier)
        return zs_fail(err, ZS_EINVAL, "layer %s has no carrier profiles",
                       info ? info->name : "(unknown)");
    build b = {in, info, NULL, ZS_OK, err};
    b.id = str(&b, "id");
    if (!b.id || !b.id[0]) return zs_fail(err, ZS_EINVAL, "a feature of %s has no id", info->name);

    const char *kind = in->layer == LAYER_PARKS ? "park" : "parcel";
    if (in->layer == LAYER_BUILDINGS) {
        const layer_field *f = &info->fields[layer_field_index(info, "kind")];
        kind = layer_choice_code(f, str(&b, "kind"));
        if (!kind)
            return zs_fail(err, ZS_EINVAL,
                           "buildings '%s': kind '%s' is neither building nor factory", b.id,
                           str(&b, "kind") ? str(&b, "kind") : "(null)");
    }

    json_t *o = json_object();
    if (!o) return zs_fail(err, ZS_ENOMEM, "out of memory building a profile");
    common(&b, o, kind);
    switch (in->layer) {
    case LAYER_PARKS:
        park_fields(&b, o);
        break;
    case LAYER_PARCELS:
        parcel_fields(&b, o);
        break;
    default:
        building_fields(&b, o);
        break;
    }
    if (!b.status) {
        /* Precision 15 prints what a person typed (3.5, not 3.5000000000000004)
         * and still round-trips every value of up to 15 significant digits. */
        *json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        if (*json)
            *len = strlen(*json);
        else
            oom(&b);
    }
    json_decref(o);
    return b.status;
}
