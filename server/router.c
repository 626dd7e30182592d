#include "router.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No route has more segments than this (a static asset path may be
 * nested a few folders deep). */
#define MAX_SEGMENTS 16
/* A parameter name longer than this is unknown on every route. */
#define MAX_NAME 32
/* Room for a quoted piece of request text in a message. */
#define QUOTE_SIZE 200

/* ---- messages ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (of n bytes), or 0 when the bytes
 * there are not one: shortest forms only, no surrogates, at most U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* True for a C1 control character encoded at s (U+0080..U+009F). */
static bool is_c1(const unsigned char *s, size_t seq)
{
    return seq == 2 && s[0] == 0xC2 && s[1] < 0xA0;
}

bool route_text_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t seq = utf8_seq(p + i, len - i);
        if (!seq || p[i] < 0x20 || p[i] == 0x7F || is_c1(p + i, seq)) return false;
        i += seq;
    }
    return true;
}

/* Writes len bytes of request text into out (size bytes, NUL-terminated)
 * for a message: valid printable UTF-8 as it is, any other byte as \xNN,
 * cut short with "…" when it does not fit. */
static const char *quote(char *out, size_t size, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t seq = utf8_seq(p + i, len - i);
        bool plain = seq && p[i] >= 0x20 && p[i] != 0x7F && !is_c1(p + i, seq);
        size_t need = plain ? seq : 4;
        if (o + need + 4 > size) { /* keep room for "…" and the NUL */
            memcpy(out + o, "\xE2\x80\xA6", 3);
            o += 3;
            break;
        }
        if (plain) {
            memcpy(out + o, p + i, seq);
            o += seq;
            i += seq;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 15];
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/* Replaces every byte of msg that is not valid UTF-8 text with '?', so
 * that a message cut by a printf precision, or one a lower layer wrote with
 * request text in it, never breaks a JSON encoder or a log line. */
static void repair_text(char *msg)
{
    size_t n = strlen(msg);
    for (size_t i = 0; i < n;) {
        unsigned char *p = (unsigned char *)msg + i;
        size_t seq = utf8_seq(p, n - i);
        if (!seq || p[0] < 0x20 || p[0] == 0x7F || is_c1(p, seq)) {
            size_t bad = seq ? seq : 1;
            memset(p, '?', bad);
            i += bad;
        } else {
            i += seq;
        }
    }
}

/* Marks out as failed with an HTTP status and a message in err; returns
 * the zs_status that goes with the HTTP status. */
static zs_status fail(route *out, zs_error *err, int http, const char *fmt, ...) ZS_PRINTF(4, 5);
static zs_status fail(route *out, zs_error *err, int http, const char *fmt, ...)
{
    zs_status st = http == 404 ? ZS_ENOTFOUND : http == 414 ? ZS_ENOMEM : ZS_EINVAL;
    out->kind = ROUTE_NONE;
    out->http_status = http;
    err->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    repair_text(err->msg);
    return st;
}

/* ---- decoding and numbers ---------------------------------------------- */

typedef enum { DEC_OK, DEC_BAD, DEC_NUL, DEC_LONG } dec_result;

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes in[0..len) into out (size >= 1 bytes, NUL-terminated). On
 * DEC_BAD *bad_at is the offset of the bad '%'. */
static dec_result decode(const char *in, size_t len, bool plus_is_space, char *out, size_t size,
                         size_t *out_len, size_t *bad_at)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (len - i < 3 || hex_value((unsigned char)in[i + 1]) < 0 ||
                hex_value((unsigned char)in[i + 2]) < 0) {
                *bad_at = i;
                return DEC_BAD;
            }
            c = (unsigned char)(hex_value((unsigned char)in[i + 1]) << 4 |
                                hex_value((unsigned char)in[i + 2]));
            if (c == 0) return DEC_NUL;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == 0) {
            return DEC_NUL;
        }
        if (o + 1 >= size) return DEC_LONG;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (out_len) *out_len = o;
    return DEC_OK;
}

/* Writes the message for a failed decode of what (e.g. "path segment")
 * into msg. */
static void decode_msg(char *msg, size_t msg_size, dec_result r, const char *what, const char *in,
                       size_t len, size_t bad_at, size_t size)
{
    char q[QUOTE_SIZE];
    switch (r) {
    case DEC_BAD:
        snprintf(msg, msg_size, "%s: bad percent-encoding '%s' (only %%XX with hex digits)", what,
                 quote(q, sizeof q, in + bad_at, len - bad_at < 3 ? len - bad_at : 3));
        break;
    case DEC_NUL:
        snprintf(msg, msg_size, "%s: a NUL byte (%%00) is not allowed", what);
        break;
    case DEC_LONG:
        snprintf(msg, msg_size, "%s: longer than %zu bytes after decoding", what,
                 size ? size - 1 : 0);
        break;
    case DEC_OK:
        snprintf(msg, msg_size, "%s: decoded", what);
        break;
    }
}

static zs_status decode_fail(route *out, zs_error *err, dec_result r, const char *what,
                             const char *in, size_t len, size_t bad_at, size_t size)
{
    char msg[ZS_ERROR_MSG];
    decode_msg(msg, sizeof msg, r, what, in, len, bad_at, size);
    return fail(out, err, 400, "%s", msg);
}

zs_status route_decode(const char *in, size_t len, bool plus_is_space, char *out, size_t size,
                       size_t *out_len, const char *what, zs_error *err)
{
    if (!what) what = "text";
    if (!out || !size) return zs_fail(err, ZS_EINVAL, "%s: no room to decode into", what);
    out[0] = '\0';
    if (!in) return zs_fail(err, ZS_EINVAL, "%s: missing", what);
    size_t bad_at = 0;
    dec_result r = decode(in, len, plus_is_space, out, size, out_len, &bad_at);
    if (r == DEC_OK) return ZS_OK;
    out[0] = '\0';
    if (err) {
        decode_msg(err->msg, sizeof err->msg, r, what, in, len, bad_at, size);
        repair_text(err->msg);
        err->status = ZS_EINVAL;
    }
    return ZS_EINVAL;
}

typedef enum { NUM_OK, NUM_BAD, NUM_RANGE } num_result;

/* Parses s[0..len) as a plain decimal integer (digits only, no leading
 * zero unless it is "0") of at most max. */
static num_result parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || (s[0] == '0' && len > 1)) return NUM_BAD;
    uint64_t v = 0;
    bool over = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return NUM_BAD;
        unsigned d = (unsigned)(s[i] - '0');
        if (!over && (d > max || v > (max - d) / 10)) over = true;
        if (!over) v = v * 10 + d;
    }
    if (over || v > max) return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

/* Parses s[0..len) as -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]{1,3})?,
 * finite. */
static bool parse_real(const char *s, size_t len, double *out)
{
    char buf[40];
    if (len == 0 || len >= sizeof buf) return false;
    size_t i = 0;
    if (s[i] == '-') i++;
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == start || (s[start] == '0' && i - start > 1)) return false;
    if (i < len && s[i] == '.') {
        size_t frac = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == frac) return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        size_t exp = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == exp || i - exp > 3) return false;
    }
    if (i != len) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* ---- names ------------------------------------------------------------- */

static const char *const kind_names[ROUTE_KIND_COUNT] = {
    [ROUTE_NONE] = "none",
    [ROUTE_TILE] = "tile",
    [ROUTE_HEAT] = "heat",
    [ROUTE_TILEJSON] = "tilejson",
    [ROUTE_WMTS_CAPABILITIES] = "wmts_capabilities",
    [ROUTE_CARRIER] = "carrier",
    [ROUTE_CARRIERS] = "carriers",
    [ROUTE_AT] = "at",
    [ROUTE_PARKS] = "parks",
    [ROUTE_PHOTO] = "photo",
    [ROUTE_HEALTHZ] = "healthz",
    [ROUTE_METRICS] = "metrics",
    [ROUTE_PAGE_INVESTOR] = "page_investor",
    [ROUTE_PAGE_KIOSK] = "page_kiosk",
    [ROUTE_PAGE_STAFF] = "page_staff",
    [ROUTE_STATIC] = "static",
    [ROUTE_LOGIN] = "login",
    [ROUTE_LOGOUT] = "logout",
    [ROUTE_STAFF_API] = "staff_api",
    [ROUTE_OPTIONS] = "options",
};

/* The path pattern of each route, for messages. */
static const char *const kind_patterns[ROUTE_KIND_COUNT] = {
    [ROUTE_NONE] = "?",
    [ROUTE_TILE] = "/tiles/{style}/{z}/{x}/{y}.png",
    [ROUTE_HEAT] = "/heat/{metric}/{z}/{x}/{y}.png",
    [ROUTE_TILEJSON] = "/tiles/{style}.json",
    [ROUTE_WMTS_CAPABILITIES] = "/wmts/1.0.0/WMTSCapabilities.xml",
    [ROUTE_CARRIER] = "/api/carriers/{id}",
    [ROUTE_CARRIERS] = "/api/carriers",
    [ROUTE_AT] = "/api/at",
    [ROUTE_PARKS] = "/api/parks",
    [ROUTE_PHOTO] = "/photos/{name}",
    [ROUTE_HEALTHZ] = "/healthz",
    [ROUTE_METRICS] = "/metrics",
    [ROUTE_PAGE_INVESTOR] = "/",
    [ROUTE_PAGE_KIOSK] = "/kiosk",
    [ROUTE_PAGE_STAFF] = "/staff",
    [ROUTE_STATIC] = "/static/{path}",
    [ROUTE_LOGIN] = "/api/login",
    [ROUTE_LOGOUT] = "/api/logout",
    [ROUTE_STAFF_API] = "/api/{leads,staff}/…",
    [ROUTE_OPTIONS] = "*",
};

const char *route_kind_name(route_kind kind)
{
    return (unsigned)kind < ROUTE_KIND_COUNT ? kind_names[kind] : "unknown";
}

static const char *const metric_names[ROUTE_METRIC_COUNT] = {
    [ROUTE_METRIC_AVAILABLE_AREA] = "available_area",
    [ROUTE_METRIC_VACANCY] = "vacancy",
    [ROUTE_METRIC_RENT] = "rent",
    [ROUTE_METRIC_ENTERPRISES] = "enterprises",
    [ROUTE_METRIC_TAX] = "tax",
};

const char *route_metric_name(route_metric metric)
{
    return (unsigned)metric < ROUTE_METRIC_COUNT ? metric_names[metric] : "unknown";
}

/* ---- methods ----------------------------------------------------------- */

#define M(m) (1u << (m))
#define METHODS_PUBLIC (M(ROUTE_METHOD_GET) | M(ROUTE_METHOD_HEAD) | M(ROUTE_METHOD_OPTIONS))
#define METHODS_POST (M(ROUTE_METHOD_POST) | M(ROUTE_METHOD_OPTIONS))
#define METHODS_STAFF                                                                              \
    (METHODS_PUBLIC | M(ROUTE_METHOD_POST) | M(ROUTE_METHOD_PUT) | M(ROUTE_METHOD_DELETE))

static route_method parse_method(const char *m)
{
    static const char *const names[] = {
        [ROUTE_METHOD_GET] = "GET",       [ROUTE_METHOD_HEAD] = "HEAD",
        [ROUTE_METHOD_POST] = "POST",     [ROUTE_METHOD_PUT] = "PUT",
        [ROUTE_METHOD_DELETE] = "DELETE", [ROUTE_METHOD_OPTIONS] = "OPTIONS",
    };
    if (!m) return ROUTE_METHOD_OTHER;
    for (int i = 0; i < ROUTE_METHOD_OTHER; i++)
        if (strcmp(m, names[i]) == 0) return (route_method)i;
    return ROUTE_METHOD_OTHER;
}

/* Methods allowed on a route, as a mask and as header text. */
static unsigned allowed_methods(route_kind kind, const char **text)
{
    switch (kind) {
    case ROUTE_LOGIN:
    case ROUTE_LOGOUT:
        *text = "POST, OPTIONS";
        return METHODS_POST;
    case ROUTE_STAFF_API:
        *text = "GET, HEAD, POST, PUT, DELETE, OPTIONS";
        return METHODS_STAFF;
    default:
        *text = "GET, HEAD, OPTIONS";
        return METHODS_PUBLIC;
    }
}

/* ---- the path ---------------------------------------------------------- */

typedef struct {
    const char *raw; /* into the caller's path */
    size_t raw_len;
    const char *s; /* decoded, NUL-terminated, in the request's scratch */
    size_t len;
} segment;

typedef struct {
    segment seg[MAX_SEGMENTS];
    size_t n;
    char decoded[ROUTE_MAX_PATH + MAX_SEGMENTS + 1];
} split_path;

static bool seg_is(const segment *g, const char *text)
{
    return g->len == strlen(text) && memcmp(g->s, text, g->len) == 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* The first byte of s[0..len) that must be percent-encoded, or -1: any
 * byte outside printable ASCII, '#', and in a path '?'. */
static long bad_raw_byte(const char *s, size_t len, bool in_path)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7F || c == '#' || (in_path && c == '?')) return (long)i;
    }
    return -1;
}

/* Splits path (len bytes, starting with '/') at '/' and decodes each
 * segment. "/" is one empty segment. */
static zs_status split(const char *path, size_t len, split_path *sp, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    if (len == 0 || path[0] != '/')
        return fail(out, err, 400, "the path '%s' does not start with '/'",
                    quote(q, sizeof q, path, len));
    long bad = bad_raw_byte(path, len, true);
    if (bad >= 0)
        return fail(out, err, 400,
                    "the path has a byte 0x%02X at offset %ld that must be percent-encoded",
                    (unsigned char)path[bad], bad);
    sp->n = 0;
    size_t used = 0;
    const char *p = path + 1, *end = path + len;
    while (1) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *stop = slash ? slash : end;
        if (sp->n == MAX_SEGMENTS)
            return fail(out, err, 404, "no route has more than %d path segments", MAX_SEGMENTS);
        segment *g = &sp->seg[sp->n++];
        g->raw = p;
        g->raw_len = (size_t)(stop - p);
        size_t bad_at = 0;
        dec_result r = decode(p, g->raw_len, false, sp->decoded + used, sizeof sp->decoded - used,
                              &g->len, &bad_at);
        if (r != DEC_OK)
            return decode_fail(out, err, r, "path", p, g->raw_len, bad_at,
                               sizeof sp->decoded - used);
        g->s = sp->decoded + used;
        used += g->len + 1;
        if (seg_is(g, ".") || seg_is(g, ".."))
            return fail(out, err, 400, "the path segment '%s' is not allowed", g->s);
        if (!slash) break;
        p = slash + 1;
    }
    return ZS_OK;
}

static zs_status no_route(const char *path, size_t len, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    return fail(out, err, 404, "no route for the path '%s'", quote(q, sizeof q, path, len));
}

static bool metric_by_name(const segment *g, route_metric *m)
{
    for (int i = 0; i < ROUTE_METRIC_COUNT; i++)
        if (seg_is(g, metric_names[i])) {
            *m = (route_metric)i;
            return true;
        }
    return false;
}

/* Finds the route for the path's shape: segment count, fixed names, the
 * .png suffix of tiles and the heat metric. Parameters are checked later,
 * so that a preflight succeeds wherever the real request would route. */
static zs_status match(const char *path, size_t len, const split_path *sp, route *out,
                       zs_error *err)
{
    const segment *g = sp->seg;
    size_t n = sp->n;
    route_kind k = ROUTE_NONE;
    char q[QUOTE_SIZE];
    if (n == 1) {
        if (g[0].len == 0)
            k = ROUTE_PAGE_INVESTOR;
        else if (seg_is(&g[0], "kiosk"))
            k = ROUTE_PAGE_KIOSK;
        else if (seg_is(&g[0], "staff"))
            k = ROUTE_PAGE_STAFF;
        else if (seg_is(&g[0], "healthz"))
            k = ROUTE_HEALTHZ;
        else if (seg_is(&g[0], "metrics"))
            k = ROUTE_METRICS;
    } else if (seg_is(&g[0], "tiles") || seg_is(&g[0], "heat")) {
        bool heat = seg_is(&g[0], "heat");
        if (!heat && n == 2 && ends_with(g[1].s, g[1].len, ".json")) {
            k = ROUTE_TILEJSON;
        } else if (n == 5) {
            if (!ends_with(g[4].s, g[4].len, ".png"))
                return fail(out, err, 404, "tiles are PNG: '%s' does not end in .png or @2x.png",
                            quote(q, sizeof q, g[4].s, g[4].len));
            if (heat && !metric_by_name(&g[1], &out->metric))
                return fail(out, err, 404,
                            "unknown heat metric '%s' (one of available_area, vacancy, rent, "
                            "enterprises, tax)",
                            quote(q, sizeof q, g[1].s, g[1].len));
            k = heat ? ROUTE_HEAT : ROUTE_TILE;
        }
    } else if (seg_is(&g[0], "wmts")) {
        if (n == 3 && seg_is(&g[1], "1.0.0") && seg_is(&g[2], "WMTSCapabilities.xml"))
            k = ROUTE_WMTS_CAPABILITIES;
    } else if (seg_is(&g[0], "api")) {
        if (seg_is(&g[1], "leads") || seg_is(&g[1], "staff"))
            k = ROUTE_STAFF_API;
        else if (n == 2 && seg_is(&g[1], "carriers"))
            k = ROUTE_CARRIERS;
        else if (n == 3 && seg_is(&g[1], "carriers"))
            k = ROUTE_CARRIER;
        else if (n == 2 && seg_is(&g[1], "at"))
            k = ROUTE_AT;
        else if (n == 2 && seg_is(&g[1], "parks"))
            k = ROUTE_PARKS;
        else if (n == 2 && seg_is(&g[1], "login"))
            k = ROUTE_LOGIN;
        else if (n == 2 && seg_is(&g[1], "logout"))
            k = ROUTE_LOGOUT;
    } else if (seg_is(&g[0], "photos")) {
        if (n != 2)
            return fail(out, err, 404, "photo names are flat: no route for the path '%s'",
                        quote(q, sizeof q, path, len));
        k = ROUTE_PHOTO;
    } else if (seg_is(&g[0], "static")) {
        k = ROUTE_STATIC;
    }
    if (k == ROUTE_NONE) return no_route(path, len, out, err);
    out->kind = out->target = k;
    return ZS_OK;
}

/* ---- path parameters --------------------------------------------------- */

static bool style_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool file_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static zs_status set_style(const char *s, size_t len, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    bool ok = len >= 1 && len <= ROUTE_STYLE_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = style_char(s[i]);
    if (!ok)
        return fail(out, err, 400, "style name '%s' is not 1-%d characters of a-z, 0-9, '_', '-'",
                    quote(q, sizeof q, s, len), ROUTE_STYLE_MAX);
    memcpy(out->style, s, len);
    out->style[len] = '\0';
    return ZS_OK;
}

/* Parses one tile coordinate of at most max; what names it ("z", "x"). */
static zs_status tile_number(const char *what, const char *s, size_t len, uint64_t max, uint64_t *v,
                             int z, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    num_result r = parse_uint(s, len, max, v);
    if (r == NUM_BAD)
        return fail(out, err, 400,
                    "%s '%s' is not a plain decimal number (digits only, no sign, no leading zero)",
                    what, quote(q, sizeof q, s, len));
    if (r == NUM_RANGE) {
        if (z < 0)
            return fail(out, err, 400, "%s %s is out of range 0-%llu", what,
                        quote(q, sizeof q, s, len), (unsigned long long)max);
        return fail(out, err, 400, "%s %s is out of range 0-%llu at zoom %d", what,
                    quote(q, sizeof q, s, len), (unsigned long long)max, z);
    }
    return ZS_OK;
}

/* {z}/{x}/{y}.png or {y}@2x.png in segments 2..4 (the .png is checked). */
static zs_status set_tile(const split_path *sp, route *out, zs_error *err)
{
    const segment *g = sp->seg;
    char q[QUOTE_SIZE];
    uint64_t z, x, y;
    if (tile_number("z", g[2].s, g[2].len, ROUTE_MAX_ZOOM, &z, -1, out, err)) return err->status;
    uint64_t max = ((uint64_t)1 << z) - 1;
    if (tile_number("x", g[3].s, g[3].len, max, &x, (int)z, out, err)) return err->status;
    size_t ylen = g[4].len - 4; /* without ".png" */
    const char *at = memchr(g[4].s, '@', ylen);
    out->scale = 1;
    if (at) {
        size_t slen = ylen - (size_t)(at - g[4].s);
        if (slen != 3 || memcmp(at, "@2x", 3) != 0)
            return fail(out, err, 400, "tile scale '%s' is not supported (only @2x)",
                        quote(q, sizeof q, at, slen));
        out->scale = 2;
        ylen = (size_t)(at - g[4].s);
    }
    if (tile_number("y", g[4].s, ylen, max, &y, (int)z, out, err)) return err->status;
    out->z = (int)z;
    out->x = (uint32_t)x;
    out->y = (uint32_t)y;
    return ZS_OK;
}

static zs_status set_id(const segment *g, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    if (g->len == 0) return fail(out, err, 400, "carrier id is empty");
    if (g->len > ROUTE_ID_MAX)
        return fail(out, err, 400, "carrier id is %zu bytes, at most %d", g->len, ROUTE_ID_MAX);
    if (!route_text_valid(g->s, g->len))
        return fail(out, err, 400,
                    "carrier id '%s' is not valid UTF-8 text (or has control characters)",
                    quote(q, sizeof q, g->s, g->len));
    memcpy(out->id, g->s, g->len + 1);
    return ZS_OK;
}

/* A file name: [A-Za-z0-9._-]{1,max}, not starting with '.' (so never "."
 * or ".." or a hidden file) and without "..". */
static bool file_name_ok(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max || s[0] == '.') return false;
    for (size_t i = 0; i < len; i++) {
        if (!file_char(s[i])) return false;
        if (s[i] == '.' && i + 1 < len && s[i + 1] == '.') return false;
    }
    return true;
}

static zs_status set_photo(const segment *g, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    if (!file_name_ok(g->s, g->len, ROUTE_PHOTO_MAX))
        return fail(out, err, 400,
                    "photo name '%s' is not 1-%d characters of A-Z, a-z, 0-9, '.', '_', '-' "
                    "(not starting with '.', no '..')",
                    quote(q, sizeof q, g->s, g->len), ROUTE_PHOTO_MAX);
    memcpy(out->photo, g->s, g->len + 1);
    return ZS_OK;
}

static zs_status set_static(const split_path *sp, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    size_t o = 0;
    for (size_t i = 1; i < sp->n; i++) {
        const segment *g = &sp->seg[i];
        if (!file_name_ok(g->s, g->len, ROUTE_STATIC_MAX))
            return fail(out, err, 400,
                        "static path segment '%s' is not 1 or more characters of A-Z, a-z, 0-9, "
                        "'.', '_', '-' (not starting with '.', no '..')",
                        quote(q, sizeof q, g->s, g->len));
        if (o + (i > 1) + g->len > ROUTE_STATIC_MAX)
            return fail(out, err, 400, "static path is longer than %d bytes", ROUTE_STATIC_MAX);
        if (i > 1) out->static_path[o++] = '/';
        memcpy(out->static_path + o, g->s, g->len);
        o += g->len;
    }
    out->static_path[o] = '\0';
    return ZS_OK;
}

/* ---- query parameters -------------------------------------------------- */

#define R(k) (1u << (k))

typedef zs_status (*param_fn)(route *out, const char *name, const char *value, size_t len,
                              zs_error *err);

typedef struct {
    const char *name;
    unsigned routes;   /* R(kind) of the routes that take it */
    unsigned required; /* R(kind) of the routes that need it */
    param_fn set;
} param_spec;

/* Filter parameters go to filter_set(); this is their list for messages. */
#define FILTER_NAMES "kind, land_use, status, industry, park, min_area, max_rent, min_clear_height"
#define FILTER_ROUTES (R(ROUTE_CARRIERS) | R(ROUTE_HEAT))
/* Routes that parse their query strictly; the others ignore it. */
#define STRICT_ROUTES                                                                              \
    (R(ROUTE_CARRIERS) | R(ROUTE_HEAT) | R(ROUTE_CARRIER) | R(ROUTE_AT) | R(ROUTE_PARKS))

static zs_status real_param(const char *name, const char *value, size_t len, double lo, double hi,
                            double *v, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    if (!parse_real(value, len, v))
        return fail(out, err, 400, "parameter %s: '%s' is not a decimal number", name,
                    quote(q, sizeof q, value, len));
    if (*v < lo || *v > hi)
        return fail(out, err, 400, "parameter %s: %s is outside %g..%g", name,
                    quote(q, sizeof q, value, len), lo, hi);
    return ZS_OK;
}

static zs_status int_param(const char *name, const char *value, size_t len, uint64_t lo,
                           uint64_t hi, int *v, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    uint64_t u = 0;
    num_result r = parse_uint(value, len, hi, &u);
    if (r == NUM_BAD)
        return fail(out, err, 400,
                    "parameter %s: '%s' is not a plain decimal number (digits only, no sign, no "
                    "leading zero)",
                    name, quote(q, sizeof q, value, len));
    if (r == NUM_RANGE)
        return fail(out, err, 400, "parameter %s: '%s' is above %llu", name,
                    quote(q, sizeof q, value, len), (unsigned long long)hi);
    if (u < lo)
        return fail(out, err, 400, "parameter %s: '%s' is below %llu", name,
                    quote(q, sizeof q, value, len), (unsigned long long)lo);
    *v = (int)u;
    return ZS_OK;
}

static zs_status set_bbox(route *out, const char *name, const char *value, size_t len,
                          zs_error *err)
{
    char q[QUOTE_SIZE];
    double v[4];
    const char *p = value, *end = value + len;
    for (int i = 0; i < 4; i++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if ((i < 3) != (comma != NULL) || !parse_real(p, (size_t)(stop - p), &v[i]))
            return fail(out, err, 400,
                        "parameter %s: '%s' is not W,S,E,N (four decimal numbers, degrees)", name,
                        quote(q, sizeof q, value, len));
        if (comma) p = comma + 1;
    }
    for (int i = 0; i < 4; i++) {
        double lim = i % 2 ? 90 : 180;
        if (v[i] < -lim || v[i] > lim)
            return fail(out, err, 400, "parameter %s: %s %g is outside -%g..%g", name,
                        i % 2 ? "latitude" : "longitude", v[i], lim, lim);
    }
    if (!(v[0] < v[2]))
        return fail(out, err, 400, "parameter %s: west %g is not less than east %g", name, v[0],
                    v[2]);
    if (!(v[1] < v[3]))
        return fail(out, err, 400, "parameter %s: south %g is not less than north %g", name, v[1],
                    v[3]);
    if (v[2] - v[0] > ROUTE_BBOX_MAX_DEG || v[3] - v[1] > ROUTE_BBOX_MAX_DEG)
        return fail(out, err, 400, "parameter %s: %g° by %g° is larger than %g° by %g°", name,
                    v[2] - v[0], v[3] - v[1], ROUTE_BBOX_MAX_DEG, ROUTE_BBOX_MAX_DEG);
    out->has_bbox = true;
    out->bbox = (route_bbox){v[0], v[1], v[2], v[3]};
    return ZS_OK;
}

static zs_status set_q(route *out, const char *name, const char *value, size_t len, zs_error *err)
{
    if (len > ROUTE_Q_MAX)
        return fail(out, err, 400, "parameter %s: %zu bytes, at most %d", name, len, ROUTE_Q_MAX);
    memcpy(out->q, value, len + 1);
    return ZS_OK;
}

static zs_status set_limit(route *out, const char *name, const char *value, size_t len,
                           zs_error *err)
{
    return int_param(name, value, len, 1, ROUTE_LIMIT_MAX, &out->limit, out, err);
}

static zs_status set_offset(route *out, const char *name, const char *value, size_t len,
                            zs_error *err)
{
    return int_param(name, value, len, 0, ROUTE_OFFSET_MAX, &out->offset, out, err);
}

static zs_status set_format(route *out, const char *name, const char *value, size_t len,
                            zs_error *err)
{
    char q[QUOTE_SIZE];
    if (len == 4 && memcmp(value, "json", 4) == 0)
        out->format = ROUTE_FORMAT_JSON;
    else if (len == 7 && memcmp(value, "geojson", 7) == 0)
        out->format = ROUTE_FORMAT_GEOJSON;
    else
        return fail(out, err, 400, "parameter %s: '%s' is not one of json, geojson", name,
                    quote(q, sizeof q, value, len));
    return ZS_OK;
}

static zs_status set_lon(route *out, const char *name, const char *value, size_t len, zs_error *err)
{
    return real_param(name, value, len, -180, 180, &out->lon, out, err);
}

static zs_status set_lat(route *out, const char *name, const char *value, size_t len, zs_error *err)
{
    return real_param(name, value, len, -90, 90, &out->lat, out, err);
}

static zs_status set_zoom(route *out, const char *name, const char *value, size_t len,
                          zs_error *err)
{
    return real_param(name, value, len, 0, ROUTE_MAX_ZOOM, &out->zoom, out, err);
}

/* The parameters the router parses itself; filters come after them. */
static const param_spec params[] = {
    {"bbox", R(ROUTE_CARRIERS), 0, set_bbox},     {"q", R(ROUTE_CARRIERS), 0, set_q},
    {"limit", R(ROUTE_CARRIERS), 0, set_limit},   {"offset", R(ROUTE_CARRIERS), 0, set_offset},
    {"format", R(ROUTE_CARRIERS), 0, set_format}, {"lon", R(ROUTE_AT), R(ROUTE_AT), set_lon},
    {"lat", R(ROUTE_AT), R(ROUTE_AT), set_lat},   {"zoom", R(ROUTE_AT), R(ROUTE_AT), set_zoom},
};
#define NPARAMS (sizeof params / sizeof params[0])

/* The parameters a route accepts, for messages. */
static const char *accepted(route_kind k, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NPARAMS; i++)
        if (params[i].routes & R(k) && o < size)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", params[i].name);
    if (FILTER_ROUTES & R(k) && o < size)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", FILTER_NAMES);
    if (o == 0) snprintf(buf, size, "none");
    return buf;
}

static zs_status unknown_param(route *out, const char *name, size_t len, zs_error *err)
{
    char q[QUOTE_SIZE], list[256];
    return fail(out, err, 400, "unknown parameter '%s' for %s (accepted: %s)",
                quote(q, sizeof q, name, len), kind_patterns[out->kind],
                accepted(out->kind, list, sizeof list));
}

/* One name=value pair of a strict route. seen holds the names so far. */
static zs_status set_param(const char *pair, size_t len, char (*seen)[MAX_NAME + 1], size_t nseen,
                           char *value, size_t value_size, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    const char *eq = memchr(pair, '=', len);
    size_t name_raw = eq ? (size_t)(eq - pair) : len;
    char *name = seen[nseen];
    size_t name_len = 0, value_len = 0, bad_at = 0;
    dec_result r = decode(pair, name_raw, true, name, MAX_NAME + 1, &name_len, &bad_at);
    if (r == DEC_LONG) return unknown_param(out, pair, name_raw, err);
    if (r != DEC_OK)
        return decode_fail(out, err, r, "parameter name", pair, name_raw, bad_at, MAX_NAME + 1);
    for (size_t i = 0; i < nseen; i++)
        if (strcmp(seen[i], name) == 0)
            return fail(out, err, 400, "parameter '%s' is repeated",
                        quote(q, sizeof q, name, name_len));
    const char *raw = eq ? eq + 1 : pair + len;
    size_t raw_len = (size_t)(pair + len - raw);
    r = decode(raw, raw_len, true, value, value_size, &value_len, &bad_at);
    if (r != DEC_OK) {
        char what[MAX_NAME + 16 + QUOTE_SIZE];
        snprintf(what, sizeof what, "parameter %s", quote(q, sizeof q, name, name_len));
        return decode_fail(out, err, r, what, raw, raw_len, bad_at, value_size);
    }
    const param_spec *spec = NULL;
    for (size_t i = 0; i < NPARAMS && !spec; i++)
        if (params[i].routes & R(out->kind) && strcmp(params[i].name, name) == 0) spec = &params[i];
    bool filter = !spec && FILTER_ROUTES & R(out->kind) && name_len > 0;
    for (size_t i = 0; filter && i < name_len; i++)
        filter = (name[i] >= 'a' && name[i] <= 'z') || name[i] == '_';
    if (!spec && !filter) return unknown_param(out, name, name_len, err);
    if (!route_text_valid(value, value_len)) {
        char qv[QUOTE_SIZE];
        return fail(out, err, 400,
                    "parameter %s: '%s' is not valid UTF-8 text (or has control characters)",
                    quote(q, sizeof q, name, name_len), quote(qv, sizeof qv, value, value_len));
    }
    if (spec) {
        if (value_len == 0 && spec->set != set_q)
            return fail(out, err, 400, "parameter %s: empty value", name);
        return spec->set(out, name, value, value_len, err);
    }
    bool known = false;
    if (filter_set(&out->filter, name, value, &known, err) != ZS_OK) {
        char msg[ZS_ERROR_MSG];
        memcpy(msg, err->msg, sizeof msg);
        msg[sizeof msg - 1] = '\0';
        return fail(out, err, 400, "parameter %s", msg);
    }
    if (!known) return unknown_param(out, name, name_len, err);
    return ZS_OK;
}

static zs_status parse_query(const char *query, size_t len, route *out, zs_error *err)
{
    char seen[ROUTE_MAX_PARAMS][MAX_NAME + 1];
    char value[ROUTE_MAX_QUERY + 1];
    size_t nseen = 0;
    long bad = bad_raw_byte(query, len, false);
    if (bad >= 0)
        return fail(out, err, 400,
                    "the query has a byte 0x%02X at offset %ld that must be percent-encoded",
                    (unsigned char)query[bad], bad);
    const char *p, *end = query + len;
    size_t npairs = 0;
    for (p = query; p < end; p++)
        npairs += *p != '&' && (p == query || p[-1] == '&');
    if (npairs > ROUTE_MAX_PARAMS)
        return fail(out, err, 400, "%zu query parameters, at most %d", npairs, ROUTE_MAX_PARAMS);
    p = query;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            if (set_param(p, (size_t)(stop - p), seen, nseen, value, sizeof value, out, err))
                return err->status;
            nseen++;
        }
        if (!amp) break;
        p = amp + 1;
    }
    for (size_t i = 0; i < NPARAMS; i++) {
        if (!(params[i].required & R(out->kind))) continue;
        bool found = false;
        for (size_t j = 0; j < nseen && !found; j++)
            found = strcmp(seen[j], params[i].name) == 0;
        if (!found)
            return fail(out, err, 400, "parameter %s is required for %s", params[i].name,
                        kind_patterns[out->kind]);
    }
    return ZS_OK;
}

/* ---- the whole request ------------------------------------------------- */

static zs_status parse(const char *method, const char *path, size_t path_len, const char *query,
                       size_t query_len, route *out, zs_error *err)
{
    char q[QUOTE_SIZE];
    split_path sp;
    if (path_len > ROUTE_MAX_PATH)
        return fail(out, err, 414, "the path is longer than %d bytes", ROUTE_MAX_PATH);
    if (query_len > ROUTE_MAX_QUERY)
        return fail(out, err, 414, "the query string is longer than %d bytes", ROUTE_MAX_QUERY);
    if (split(path, path_len, &sp, out, err) || match(path, path_len, &sp, out, err))
        return err->status;
    unsigned allowed = allowed_methods(out->kind, &out->allow);
    if (!(allowed & M(out->method))) {
        size_t mlen = method ? strnlen(method, 32) : 0;
        return fail(out, err, 405, "method '%s' is not allowed on %s (allowed: %s)",
                    quote(q, sizeof q, method ? method : "", mlen), kind_patterns[out->kind],
                    out->allow);
    }
    if (out->method == ROUTE_METHOD_OPTIONS) {
        out->kind = ROUTE_OPTIONS;
        out->http_status = 200;
        return ZS_OK;
    }
    const segment *g = sp.seg;
    zs_status st = ZS_OK;
    switch (out->kind) {
    case ROUTE_TILE:
        st = set_style(g[1].s, g[1].len, out, err);
        if (!st) st = set_tile(&sp, out, err);
        break;
    case ROUTE_HEAT:
        st = set_tile(&sp, out, err);
        break;
    case ROUTE_TILEJSON:
        st = set_style(g[1].s, g[1].len - 5, out, err);
        break;
    case ROUTE_CARRIER:
        st = set_id(&g[2], out, err);
        break;
    case ROUTE_PHOTO:
        st = set_photo(&g[1], out, err);
        break;
    case ROUTE_STATIC:
        st = set_static(&sp, out, err);
        break;
    case ROUTE_STAFF_API: {
        size_t off = (size_t)(g[1].raw - path);
        memcpy(out->staff_path, g[1].raw, path_len - off);
        out->staff_path[path_len - off] = '\0';
        break;
    }
    default:
        break;
    }
    if (st) return st;
    if (STRICT_ROUTES & R(out->kind) && parse_query(query, query_len, out, err) != ZS_OK)
        return err->status;
    if (FILTER_ROUTES & R(out->kind))
        filter_canonical(&out->filter, out->filter_key, sizeof out->filter_key);
    out->http_status = 200;
    return ZS_OK;
}

/* Sets out to an empty route with the defaults. */
static void reset(route *out, const char *method)
{
    memset(out, 0, sizeof *out);
    out->kind = out->target = ROUTE_NONE;
    out->method = parse_method(method);
    out->scale = 1;
    out->filter = filter_none();
    out->limit = ROUTE_LIMIT_DEFAULT;
    out->format = ROUTE_FORMAT_JSON;
    out->lon = out->lat = out->zoom = NAN;
}

zs_status route_parse(const char *method, const char *path, const char *query, route *out,
                      zs_error *err)
{
    zs_error local;
    if (!err) err = &local;
    reset(out, method);
    if (!path) return fail(out, err, 400, "no path");
    size_t path_len = strnlen(path, ROUTE_MAX_PATH + 1);
    size_t query_len = query ? strnlen(query, ROUTE_MAX_QUERY + 1) : 0;
    return parse(method, path, path_len, query ? query : "", query_len, out, err);
}

zs_status route_parse_target(const char *method, const char *target, route *out, zs_error *err)
{
    zs_error local;
    if (!err) err = &local;
    reset(out, method);
    if (!target) return fail(out, err, 400, "no request target");
    size_t path_len = 0;
    while (path_len <= ROUTE_MAX_PATH && target[path_len] && target[path_len] != '?')
        path_len++;
    const char *query = "";
    size_t query_len = 0;
    if (path_len <= ROUTE_MAX_PATH && target[path_len] == '?') {
        query = target + path_len + 1;
        query_len = strnlen(query, ROUTE_MAX_QUERY + 1);
    }
    return parse(method, target, path_len, query, query_len, out, err);
}
