#include "filter.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"park", "parcel", "building", "factory", NULL};

/* Bytes of s to quote in a message: at most 64, never splitting a UTF-8
 * character. */
static int quote_len(const char *s, size_t len)
{
    if (len <= 64) return (int)len;
    len = 64;
    while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
        len--;
    return (int)len;
}

carrier_filter filter_none(void)
{
    carrier_filter f = {0};
    f.min_area_m2 = f.max_rent_yuan_m2_month = f.min_clear_height_m = NAN;
    return f;
}

bool filter_is_empty(const carrier_filter *f)
{
    return !f->kinds && !f->land_uses && !f->statuses && !f->industries && !f->park[0] &&
           isnan(f->min_area_m2) && isnan(f->max_rent_yuan_m2_month) &&
           isnan(f->min_clear_height_m);
}

/* Bit of name in a NULL-terminated list of codes, or -1. */
static int code_bit(const char *const *codes, const char *name, size_t len)
{
    for (int i = 0; codes[i]; i++)
        if (strlen(codes[i]) == len && strncmp(codes[i], name, len) == 0) return i;
    return -1;
}

static int choice_bit(const layer_choice *choices, const char *name, size_t len)
{
    for (int i = 0; choices[i].code; i++)
        if (strlen(choices[i].code) == len && strncmp(choices[i].code, name, len) == 0) return i;
    return -1;
}

/* Sets the bits of a comma-separated list of codes; the names come from
 * codes (a plain list) or choices (a layer's choice list). */
static zs_status set_bits(uint32_t *mask, const char *param, const char *value,
                          const char *const *codes, const layer_choice *choices, zs_error *err)
{
    uint32_t bits = 0;
    const char *p = value;
    while (1) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int bit = codes ? code_bit(codes, p, len) : choice_bit(choices, p, len);
        if (bit < 0) {
            char options[256] = "";
            size_t n = 0;
            for (int i = 0; codes ? codes[i] != NULL : choices[i].code != NULL; i++)
                n += (size_t)snprintf(options + n, sizeof options - n, "%s%s", i ? ", " : "",
                                      codes ? codes[i] : choices[i].code);
            return zs_fail(err, ZS_EINVAL, "%s: '%.*s' is not one of %s", param, quote_len(p, len),
                           p, options);
        }
        bits |= 1u << bit;
        if (!end) break;
        p = end + 1;
    }
    *mask = bits;
    return ZS_OK;
}

/* A plain decimal number: digits with an optional fraction and exponent;
 * no sign, space, hex or infinity, which strtod alone would take. */
static zs_status set_number(double *out, const char *param, const char *value, zs_error *err)
{
    char *end;
    errno = 0;
    double v = (value[0] >= '0' && value[0] <= '9') ? strtod(value, &end) : NAN;
    bool hex = strchr(value, 'x') || strchr(value, 'X');
    if (isnan(v) || hex || *end || errno || !isfinite(v) || v < 0)
        return zs_fail(err, ZS_EINVAL, "%s: '%.*s' is not a non-negative number", param,
                       quote_len(value, strlen(value)), value);
    *out = v;
    return ZS_OK;
}

zs_status filter_set(carrier_filter *f, const char *name, const char *value, bool *known,
                     zs_error *err)
{
    *known = true;
    if (!value || !*value) return zs_fail(err, ZS_EINVAL, "%s: empty value", name);
    if (strcmp(name, "kind") == 0) return set_bits(&f->kinds, name, value, kind_names, NULL, err);
    if (strcmp(name, "land_use") == 0)
        return set_bits(&f->land_uses, name, value, NULL, layer_land_use_choices, err);
    if (strcmp(name, "status") == 0)
        return set_bits(&f->statuses, name, value, NULL, layer_status_choices, err);
    if (strcmp(name, "industry") == 0)
        return set_bits(&f->industries, name, value, NULL, layer_industry_choices, err);
    if (strcmp(name, "park") == 0) {
        size_t len = strlen(value);
        if (len >= sizeof f->park)
            return zs_fail(err, ZS_EINVAL, "park: id longer than %zu bytes", sizeof f->park - 1);
        memcpy(f->park, value, len + 1);
        f->park_key = len ? snap_park_key(f->park) : 0;
        return ZS_OK;
    }
    if (strcmp(name, "min_area") == 0) return set_number(&f->min_area_m2, name, value, err);
    if (strcmp(name, "max_rent") == 0)
        return set_number(&f->max_rent_yuan_m2_month, name, value, err);
    if (strcmp(name, "min_clear_height") == 0)
        return set_number(&f->min_clear_height_m, name, value, err);
    *known = false;
    return ZS_OK;
}

void filter_canonical(const carrier_filter *f, char *out, size_t size)
{
    snprintf(out, size, "k%x.l%x.s%x.i%x.p%s.a%.17g.r%.17g.h%.17g", f->kinds, f->land_uses,
             f->statuses, f->industries, f->park, f->min_area_m2, f->max_rent_yuan_m2_month,
             f->min_clear_height_m);
    if (filter_is_empty(f) && size) out[0] = '\0';
}
