/* The HTTP request router: method, raw path and raw query in, a route with
 * every parameter parsed and checked out. Plain C that sees no
 * libmicrohttpd type, so that it is unit-tested and fuzzed on its own; it
 * never allocates and never reads past its inputs.
 *
 * Order of checks, first failure wins:
 *   414  path over ROUTE_MAX_PATH or query over ROUTE_MAX_QUERY bytes;
 *   400  a raw byte that must be percent-encoded (anything but printable
 *        ASCII, and '#' or '?' in the path), bad percent-encoding (only
 *        %XX with hex digits of either case), %00, a "." or ".." segment;
 *   404  no route has this path (the path is split at '/' first, then each
 *        segment is decoded, so %2F never separates segments); also a heat
 *        metric that does not exist and a tile path not ending in .png;
 *   405  the method is not allowed on this path (route.allow says which);
 *   400  a path parameter or a query parameter is malformed or out of range,
 *        a query parameter is unknown, repeated or missing.
 *
 * Numbers are strict: decimal digits only, no sign unless a negative value
 * is allowed, no spaces, no leading zeros ("0" itself is fine, "014" is
 * not), no hex, no overflow. Real numbers are -?(0|[1-9][0-9]*)(.[0-9]+)?
 * with an optional exponent (JavaScript prints 1e-7), finite; they are
 * read with strtod, so LC_NUMERIC must stay "C" (as filter_set needs too).
 *
 * Query strings: '&'-separated name=value pairs (empty pairs are skipped),
 * '+' decodes to a space, at most ROUTE_MAX_PARAMS pairs, a name at most
 * once. Every decoded value must be valid UTF-8 (no overlong forms, no
 * surrogates) without control characters. The API routes and /heat reject
 * unknown parameters, naming them and listing the accepted ones; every
 * other route ignores its query string (caches and clients append things;
 * OWSLib appends ?service=WMTS&... to the capabilities URL).
 *
 * Methods: GET and HEAD on every public route; POST on login and logout;
 * GET, HEAD, POST, PUT, DELETE on the staff API (its handler narrows them);
 * OPTIONS anywhere a route exists (CORS preflight) without looking at the
 * parameters, so that the real request gets the precise error.
 *
 * Messages are one UTF-8 sentence naming the problem; text from the request
 * is quoted with control characters and invalid bytes escaped as \xNN and
 * long text cut short, so the message is always valid UTF-8. */
#ifndef ZS_ROUTER_H
#define ZS_ROUTER_H

#include "error.h"
#include "filter.h"
#include "query.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROUTE_MAX_PATH 2048  /* raw path bytes, else 414 */
#define ROUTE_MAX_QUERY 4096 /* raw query bytes, else 414 */
#define ROUTE_MAX_PARAMS 32  /* name=value pairs in a query, else 400 */
#define ROUTE_MAX_ZOOM 22    /* tile zoom 0..22, as TILE_MAX_ZOOM in tiles/tile.h */
#define ROUTE_STYLE_MAX 64   /* style name bytes, [a-z0-9_-] */
#define ROUTE_ID_MAX 64      /* carrier id bytes after decoding */
#define ROUTE_PHOTO_MAX 128  /* photo file name bytes, [A-Za-z0-9._-] */
#define ROUTE_STATIC_MAX 256 /* static asset path bytes after /static/ */
#define ROUTE_Q_MAX 100      /* free-text search bytes after decoding */
#define ROUTE_LIMIT_DEFAULT 100
#define ROUTE_LIMIT_MAX 1000              /* limit is 1..1000 */
#define ROUTE_OFFSET_MAX QUERY_OFFSET_MAX /* the query layer's own bound */
#define ROUTE_BBOX_MAX_DEG 2.0   /* a search bbox spans at most 2° of lon and 2° of lat */
#define ROUTE_FILTER_KEY_MAX 256 /* filter_canonical text, NUL included */

typedef enum {
    ROUTE_NONE = 0,          /* only in a failed parse */
    ROUTE_TILE,              /* /tiles/{style}/{z}/{x}/{y}.png, …@2x.png */
    ROUTE_HEAT,              /* /heat/{metric}/{z}/{x}/{y}.png, …@2x.png ?filters */
    ROUTE_TILEJSON,          /* /tiles/{style}.json */
    ROUTE_WMTS_CAPABILITIES, /* /wmts/1.0.0/WMTSCapabilities.xml */
    ROUTE_CARRIER,           /* /api/carriers/{id} */
    ROUTE_CARRIERS,          /* /api/carriers ?bbox&filters&q&limit&offset&format */
    ROUTE_AT,                /* /api/at ?lon&lat&zoom */
    ROUTE_PARKS,             /* /api/parks */
    ROUTE_PHOTO,             /* /photos/{name} */
    ROUTE_HEALTHZ,           /* /healthz */
    ROUTE_METRICS,           /* /metrics */
    ROUTE_PAGE_INVESTOR,     /* / */
    ROUTE_PAGE_KIOSK,        /* /kiosk */
    ROUTE_PAGE_STAFF,        /* /staff */
    ROUTE_STATIC,            /* /static/{path} (page assets, Leaflet) */
    ROUTE_LOGIN,             /* /api/login (POST) */
    ROUTE_LOGOUT,            /* /api/logout (POST) */
    ROUTE_STAFF_API,         /* /api/leads, /api/leads/…, /api/staff/… */
    ROUTE_OPTIONS,           /* OPTIONS on any of the above: CORS preflight */
    ROUTE_KIND_COUNT
} route_kind;

typedef enum {
    ROUTE_METHOD_GET,
    ROUTE_METHOD_HEAD, /* as GET; the handler sends no body */
    ROUTE_METHOD_POST,
    ROUTE_METHOD_PUT,
    ROUTE_METHOD_DELETE,
    ROUTE_METHOD_OPTIONS,
    ROUTE_METHOD_OTHER /* any other token (methods are case-sensitive), or NULL */
} route_method;

typedef enum {
    ROUTE_METRIC_AVAILABLE_AREA,
    ROUTE_METRIC_VACANCY,
    ROUTE_METRIC_RENT,
    ROUTE_METRIC_ENTERPRISES,
    ROUTE_METRIC_TAX,
    ROUTE_METRIC_COUNT
} route_metric;

typedef enum { ROUTE_FORMAT_JSON, ROUTE_FORMAT_GEOJSON } route_format;

typedef struct {
    double west, south, east, north; /* lon/lat degrees (EPSG:4490 ≈ WGS84), west < east,
                                        south < north, inclusive */
} route_bbox;

typedef struct {
    route_kind kind;
    route_kind target;   /* ROUTE_OPTIONS: the route the preflight asks about; else = kind */
    route_method method; /* parsed even when the parse fails */
    int http_status;     /* 200, or 400, 404, 405, 414 on failure */
    const char *allow;   /* methods allowed on this path, "GET, HEAD, OPTIONS" (static
                            text for an Allow or Access-Control-Allow-Methods header),
                            set whenever the path matched a route (also on 405), else NULL */

    /* ROUTE_TILE, ROUTE_HEAT: tile z/x/y in the XYZ scheme (EPSG:3857),
     * z 0..ROUTE_MAX_ZOOM, x and y below 2^z; scale 1 (256 px) or 2 (512 px). */
    int z;
    uint32_t x, y;
    int scale;
    char style[ROUTE_STYLE_MAX + 1]; /* ROUTE_TILE, ROUTE_TILEJSON: [a-z0-9_-]{1,64};
                                        whether it is loaded is the handler's question */
    route_metric metric;             /* ROUTE_HEAT */

    /* ROUTE_HEAT, ROUTE_CARRIERS: the filter parameters applied through
     * filter_set(), and its canonical text (filter_canonical, "" for none),
     * the cache key part for heat tiles. */
    carrier_filter filter;
    char filter_key[ROUTE_FILTER_KEY_MAX];

    /* ROUTE_CARRIERS */
    bool has_bbox; /* false: no bbox parameter (the whole district) */
    route_bbox bbox;
    char q[ROUTE_Q_MAX + 1]; /* decoded free text, "" for none (q= counts as none) */
    int limit;               /* 1..ROUTE_LIMIT_MAX, default ROUTE_LIMIT_DEFAULT */
    int offset;              /* 0..ROUTE_OFFSET_MAX, default 0 */
    route_format format;     /* default ROUTE_FORMAT_JSON */

    /* ROUTE_AT: a click at lon/lat degrees (EPSG:4490 ≈ WGS84), lon -180..180,
     * lat -90..90, at map zoom 0..22 (fractional). */
    double lon, lat, zoom;

    char id[ROUTE_ID_MAX + 1];              /* ROUTE_CARRIER: decoded, UTF-8, no controls */
    char photo[ROUTE_PHOTO_MAX + 1];        /* ROUTE_PHOTO: a flat file name, [A-Za-z0-9._-],
                                               not starting with '.', no ".." */
    char static_path[ROUTE_STATIC_MAX + 1]; /* ROUTE_STATIC: decoded path below /static/,
                                               '/'-separated segments of [A-Za-z0-9._-]
                                               none starting with '.' */
    char staff_path[ROUTE_MAX_PATH + 1];    /* ROUTE_STAFF_API: the raw (still
                                               percent-encoded) path after "/api/", e.g.
                                               "leads/17"; decode segments with route_decode() */
} route;

/* Routes one request. method is the request method as received ("GET");
 * path the raw path, still percent-encoded, starting with '/'; query the raw
 * query string without the '?', or NULL for none. All are borrowed and
 * read only up to their NUL; out is filled entirely (nothing in it points
 * into the inputs). Returns ZS_OK with out->http_status 200, or fills err
 * (may be NULL) and out->http_status: ZS_ENOTFOUND for 404, ZS_ENOMEM for
 * 414, ZS_EINVAL for 400 and 405. Respond with out->http_status, not with
 * the generic mapping of the zs_status. */
zs_status route_parse(const char *method, const char *path, const char *query, route *out,
                      zs_error *err);

/* As route_parse() for a whole request target, "path?query", split at its
 * first '?' (libmicrohttpd's URI log callback sees this form, before it
 * decodes anything). */
zs_status route_parse_target(const char *method, const char *target, route *out, zs_error *err);

/* Decodes len bytes of in strictly (%XX only; '+' to a space when
 * plus_is_space) into out, NUL-terminated, and stores the decoded length in
 * *out_len (may be NULL). A decoded NUL, bad percent-encoding, or a result
 * that does not fit size - 1 bytes is ZS_EINVAL naming what is named `what`
 * (e.g. "path segment"). */
zs_status route_decode(const char *in, size_t len, bool plus_is_space, char *out, size_t size,
                       size_t *out_len, const char *what, zs_error *err);

/* True when the len bytes are valid UTF-8 (shortest forms, no surrogates,
 * at most U+10FFFF) without control characters (C0, DEL, C1). */
bool route_text_valid(const char *s, size_t len);

/* Short name of a route kind for logs ("tile", "carriers"), never NULL. */
const char *route_kind_name(route_kind kind);

/* The heat metric's name as in URLs and style names ("available_area"),
 * never NULL. */
const char *route_metric_name(route_metric metric);

#endif
