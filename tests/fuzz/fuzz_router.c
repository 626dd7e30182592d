/* libFuzzer target for the request router. The input is a request line
 * without the version: "METHOD TARGET" (no space: the whole input is the
 * target of a GET), where TARGET is "path?query". Any bytes must route or
 * fail cleanly, and the result must keep the router's promises: route_parse
 * and route_parse_target agree, a failure has a 400/404/405/414 status and a
 * message of valid UTF-8, a success has every parameter within its
 * documented bounds. A broken promise traps, so the fuzzer reports it. */
#include "router.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROMISE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

/* True when the fixed buffer holds a NUL-terminated string of [set] bytes. */
static bool chars_in(const char *s, size_t size, const char *set, bool slash)
{
    size_t n = strnlen(s, size);
    if (n == size) return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]) && !(slash && s[i] == '/')) return false;
    return true;
}

static void check_route(const route *r, zs_status st, const zs_error *e)
{
    if (st != ZS_OK) {
        PROMISE(r->kind == ROUTE_NONE);
        PROMISE(r->http_status == 400 || r->http_status == 404 || r->http_status == 405 ||
                r->http_status == 414);
        PROMISE(st == (r->http_status == 404   ? ZS_ENOTFOUND
                       : r->http_status == 414 ? ZS_ENOMEM
                                               : ZS_EINVAL));
        PROMISE(r->http_status != 405 || r->allow != NULL);
        size_t n = strnlen(e->msg, sizeof e->msg);
        PROMISE(n > 0 && n < sizeof e->msg);
        PROMISE(route_text_valid(e->msg, n));
        return;
    }
    static const char style_set[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
    static const char file_set[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    PROMISE(r->http_status == 200);
    PROMISE(r->kind > ROUTE_NONE && r->kind < ROUTE_KIND_COUNT && r->allow != NULL);
    PROMISE(r->kind == ROUTE_OPTIONS ? r->method == ROUTE_METHOD_OPTIONS : r->target == r->kind);
    switch (r->kind) {
    case ROUTE_TILE:
    case ROUTE_HEAT:
        PROMISE(r->z >= 0 && r->z <= ROUTE_MAX_ZOOM);
        PROMISE(r->x < (1ull << r->z) && r->y < (1ull << r->z));
        PROMISE(r->scale == 1 || r->scale == 2);
        if (r->kind == ROUTE_HEAT) {
            PROMISE((int)r->metric >= 0 && (int)r->metric < ROUTE_METRIC_COUNT);
            PROMISE(strnlen(r->filter_key, sizeof r->filter_key) < sizeof r->filter_key);
        } else {
            PROMISE(chars_in(r->style, sizeof r->style, style_set, false) && r->style[0]);
        }
        break;
    case ROUTE_TILEJSON:
        PROMISE(chars_in(r->style, sizeof r->style, style_set, false) && r->style[0]);
        break;
    case ROUTE_CARRIER: {
        size_t n = strnlen(r->id, sizeof r->id);
        PROMISE(n > 0 && n < sizeof r->id && route_text_valid(r->id, n));
        break;
    }
    case ROUTE_CARRIERS: {
        size_t n = strnlen(r->q, sizeof r->q);
        PROMISE(n < sizeof r->q && route_text_valid(r->q, n));
        PROMISE(r->limit >= 1 && r->limit <= ROUTE_LIMIT_MAX);
        PROMISE(r->offset >= 0 && r->offset <= ROUTE_OFFSET_MAX);
        if (r->has_bbox) {
            const route_bbox *b = &r->bbox;
            PROMISE(b->west >= -180 && b->east <= 180 && b->south >= -90 && b->north <= 90);
            PROMISE(b->west < b->east && b->south < b->north);
            PROMISE(b->east - b->west <= ROUTE_BBOX_MAX_DEG);
            PROMISE(b->north - b->south <= ROUTE_BBOX_MAX_DEG);
        }
        PROMISE(strnlen(r->filter.park, sizeof r->filter.park) < sizeof r->filter.park);
        break;
    }
    case ROUTE_AT:
        PROMISE(r->lon >= -180 && r->lon <= 180 && r->lat >= -90 && r->lat <= 90);
        PROMISE(r->zoom >= 0 && r->zoom <= ROUTE_MAX_ZOOM);
        break;
    case ROUTE_PHOTO:
        PROMISE(chars_in(r->photo, sizeof r->photo, file_set, false));
        PROMISE(r->photo[0] && r->photo[0] != '.' && !strstr(r->photo, ".."));
        break;
    case ROUTE_STATIC:
        PROMISE(chars_in(r->static_path, sizeof r->static_path, file_set, true));
        PROMISE(r->static_path[0] && r->static_path[0] != '.' && !strstr(r->static_path, "..") &&
                !strstr(r->static_path, "/.") && !strstr(r->static_path, "//"));
        break;
    case ROUTE_STAFF_API:
        PROMISE(strnlen(r->staff_path, sizeof r->staff_path) < sizeof r->staff_path);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* NUL-terminated copies: the router takes C strings */
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *target = buf;
    const char *method = "GET";
    char *space = memchr(buf, ' ', size);
    if (space) {
        *space = '\0';
        method = buf;
        target = space + 1;
    }

    route a, b;
    zs_error ea, eb;
    zs_status sa = route_parse_target(method, target, &a, &ea);
    check_route(&a, sa, &ea);

    size_t tlen = strlen(target);
    char *path = malloc(tlen + 1);
    if (path) {
        memcpy(path, target, tlen + 1);
        char *q = strchr(path, '?');
        if (q) *q++ = '\0';
        zs_status sb = route_parse(method, path, q, &b, &eb);
        check_route(&b, sb, &eb);
        PROMISE(sa == sb && a.kind == b.kind && a.http_status == b.http_status);
        PROMISE(sa != ZS_OK || strcmp(a.filter_key, b.filter_key) == 0);
        PROMISE(sa == ZS_OK || strcmp(ea.msg, eb.msg) == 0);
        free(path);
    }

    /* the helpers on the raw bytes */
    char out[64];
    size_t n = 0;
    if (route_decode((const char *)data, size, size & 1, out, sizeof out, &n, "fuzz", &ea) == ZS_OK)
        PROMISE(n < sizeof out && memchr(out, '\0', n) == NULL && out[n] == '\0');
    else
        PROMISE(route_text_valid(ea.msg, strlen(ea.msg)));
    (void)route_text_valid((const char *)data, size);
    (void)route_kind_name(a.target);
    (void)route_metric_name(a.metric);
    free(buf);
    return 0;
}
