#include "query.h"

#include "clip.h"
#include "mercator.h"
#include "profile.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ------------------------------------------------------------ */

query_search_args query_search_defaults(void)
{
    query_search_args a;
    memset(&a, 0, sizeof a);
    a.west = a.south = a.east = a.north = NAN;
    a.filter = filter_none();
    a.limit = QUERY_LIMIT_DEFAULT;
    a.format = QUERY_JSON;
    return a;
}

/* A whole decimal integer in [0, max]. */
static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    if (*s < '0' || *s > '9') return false; /* no sign, no space */
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > max) return false;
    *out = (unsigned)v;
    return true;
}

/* "W,S,E,N" in degrees. */
static bool parse_bbox(const char *s, double v[4])
{
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        v[i] = strtod(p, &end);
        if (end == p || errno || !isfinite(v[i])) return false;
        if (*end != (i < 3 ? ',' : '\0')) return false;
        p = end + 1;
    }
    return true;
}

static zs_status check_bbox(double w, double s, double e, double n, zs_error *err)
{
    if (!(w >= -180 && e <= 180 && s >= -90 && n <= 90))
        return zs_fail(err, ZS_EINVAL, "bbox: outside lon [-180, 180] / lat [-90, 90]");
    if (!(w <= e && s <= n))
        return zs_fail(err, ZS_EINVAL, "bbox: west must not exceed east, nor south north");
    return ZS_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

zs_status query_search_set(query_search_args *a, const char *name, const char *value, bool *known,
                           zs_error *err)
{
    *known = true;
    if (!value) value = "";
    if (strcmp(name, "bbox") == 0) {
        double v[4];
        if (!parse_bbox(value, v))
            return zs_fail(err, ZS_EINVAL, "bbox: '%.64s' is not west,south,east,north in degrees",
                           value);
        zs_status st = check_bbox(v[0], v[1], v[2], v[3], err);
        if (st) return st;
        a->has_bbox = true;
        a->west = v[0];
        a->south = v[1];
        a->east = v[2];
        a->north = v[3];
        return ZS_OK;
    }
    if (strcmp(name, "q") == 0) {
        while (is_space(*value))
            value++;
        size_t n = strlen(value);
        while (n && is_space(value[n - 1]))
            n--;
        if (n > QUERY_Q_MAX) return zs_fail(err, ZS_EINVAL, "q: longer than %d bytes", QUERY_Q_MAX);
        if (!profile_utf8_valid(value, n)) return zs_fail(err, ZS_EINVAL, "q: not valid UTF-8");
        memcpy(a->q, value, n);
        a->q[n] = '\0';
        return ZS_OK;
    }
    if (strcmp(name, "limit") == 0) {
        unsigned v;
        if (!parse_uint(value, QUERY_LIMIT_MAX, &v) || v < 1)
            return zs_fail(err, ZS_EINVAL, "limit: '%.64s' is not a whole number from 1 to %d",
                           value, QUERY_LIMIT_MAX);
        a->limit = v;
        return ZS_OK;
    }
    if (strcmp(name, "offset") == 0) {
        unsigned v;
        if (!parse_uint(value, QUERY_OFFSET_MAX, &v))
            return zs_fail(err, ZS_EINVAL, "offset: '%.64s' is not a whole number from 0 to %d",
                           value, QUERY_OFFSET_MAX);
        a->offset = v;
        return ZS_OK;
    }
    if (strcmp(name, "format") == 0) {
        if (strcmp(value, "json") == 0)
            a->format = QUERY_JSON;
        else if (strcmp(value, "geojson") == 0)
            a->format = QUERY_GEOJSON;
        else
            return zs_fail(err, ZS_EINVAL, "format: '%.64s' is not json or geojson", value);
        return ZS_OK;
    }
    return filter_set(&a->filter, name, value, known, err);
}

/* ---- geometry, in EPSG:3857 metres --------------------------------------------- */

/* Even-odd: true when (x, y) lies inside the feature's rings (outer rings
 * and holes alike; a point in a hole is outside). */
static bool inside_rings(const snap_layer *l, const snap_feature *f, double x, double y)
{
    bool in = false;
    const snap_part *parts = snap_feature_parts(l, f);
    for (uint32_t i = 0; i < f->nparts; i++) {
        if (parts[i].role != SNAP_PART_OUTER && parts[i].role != SNAP_PART_HOLE) continue;
        const snap_xy *p = snap_part_points(l, &parts[i]);
        uint32_t n = parts[i].count;
        for (uint32_t j = 0, k = n - 1; j < n; k = j++) {
            if ((p[j].y > y) != (p[k].y > y) &&
                x < (p[k].x - p[j].x) * (y - p[j].y) / (p[k].y - p[j].y) + p[j].x)
                in = !in;
        }
    }
    return in;
}

/* Squared distance from (x, y) to the segment a-b. */
static double dist2_segment(double x, double y, snap_xy a, snap_xy b)
{
    double dx = b.x - a.x, dy = b.y - a.y;
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((x - a.x) * dx + (y - a.y) * dy) / len2 : 0;
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    double ex = a.x + t * dx - x, ey = a.y + t * dy - y;
    return ex * ex + ey * ey;
}

/* Squared distance from (x, y) to the feature: 0 inside its rings, else to
 * its nearest outline, line or point. INFINITY for an empty feature. */
static double dist2_feature(const snap_layer *l, const snap_feature *f, double x, double y)
{
    if (f->geom == SNAP_GEOM_POLYGON && inside_rings(l, f, x, y)) return 0;
    double best = INFINITY;
    const snap_part *parts = snap_feature_parts(l, f);
    for (uint32_t i = 0; i < f->nparts; i++) {
        const snap_xy *p = snap_part_points(l, &parts[i]);
        uint32_t n = parts[i].count;
        if (n == 1) {
            double d = dist2_segment(x, y, p[0], p[0]);
            if (d < best) best = d;
        }
        for (uint32_t j = 1; j < n; j++) {
            double d = dist2_segment(x, y, p[j - 1], p[j]);
            if (d < best) best = d;
        }
    }
    return best;
}

static bool point_in_box(snap_xy p, const sidx_box *b)
{
    return p.x >= b->minx && p.x <= b->maxx && p.y >= b->miny && p.y <= b->maxy;
}

/* True when the segment a-b touches the box. */
static bool segment_hits_box(snap_xy a, snap_xy b, const sidx_box *box)
{
    return clip_segment(&a.x, &a.y, &b.x, &b.y, *box);
}

/* True when the feature's geometry touches the box (inclusive). */
static bool feature_touches_box(const snap_layer *l, const snap_feature *f, const sidx_box *box)
{
    const sidx_box *fb = &f->bbox;
    if (!(fb->minx <= box->maxx && fb->maxx >= box->minx && fb->miny <= box->maxy &&
          fb->maxy >= box->miny))
        return false; /* also for an empty feature's NaN box */
    if (fb->minx >= box->minx && fb->maxx <= box->maxx && fb->miny >= box->miny &&
        fb->maxy <= box->maxy)
        return true;
    const snap_part *parts = snap_feature_parts(l, f);
    for (uint32_t i = 0; i < f->nparts; i++) {
        const snap_xy *p = snap_part_points(l, &parts[i]);
        uint32_t n = parts[i].count;
        if (n == 1 && point_in_box(p[0], box)) return true;
        for (uint32_t j = 1; j < n; j++)
            if (segment_hits_box(p[j - 1], p[j], box)) return true;
    }
    /* no outline crosses the box: the box is wholly inside or outside */
    return f->geom == SNAP_GEOM_POLYGON &&
           inside_rings(l, f, (box->minx + box->maxx) / 2, (box->miny + box->maxy) / 2);
}

/* ---- GeoJSON geometry ------------------------------------------------------------ */

/* Twice the signed area of a ring: > 0 counter-clockwise. Mercator keeps the
 * orientation of lon/lat (both axes increase together). */
static double ring_area2(const snap_xy *p, uint32_t n)
{
    double a = 0;
    for (uint32_t i = 0, j = n ? n - 1 : 0; i < n; j = i++)
        a += (p[j].x - p[i].x) * (p[j].y + p[i].y);
    return a;
}

static void put_position(zs_buf *b, snap_xy p)
{
    zs_buf_append(b, "[", 1);
    zs_buf_json_fixed(b, merc_lon(p.x), 7);
    zs_buf_append(b, ",", 1);
    zs_buf_json_fixed(b, merc_lat(p.y), 7);
    zs_buf_append(b, "]", 1);
}

/* A part's positions as an array; ccw > 0 asks for a counter-clockwise
 * ring, < 0 for a clockwise one, 0 for the stored order. */
static void put_positions(zs_buf *b, const snap_layer *l, const snap_part *part, int ccw)
{
    const snap_xy *p = snap_part_points(l, part);
    uint32_t n = part->count;
    bool reverse = false;
    if (ccw) {
        double a = ring_area2(p, n);
        reverse = (ccw > 0 && a < 0) || (ccw < 0 && a > 0);
    }
    zs_buf_append(b, "[", 1);
    for (uint32_t i = 0; i < n; i++) {
        if (i) zs_buf_append(b, ",", 1);
        put_position(b, p[reverse ? n - 1 - i : i]);
    }
    zs_buf_append(b, "]", 1);
}

/* The polygons among parts as Polygon coordinates ([[outer],[hole]...]),
 * comma-separated. */
static void put_polygons(zs_buf *b, const snap_layer *l, const snap_part *parts, uint32_t n)
{
    bool open = false;
    for (uint32_t i = 0; i < n; i++) {
        if (parts[i].role == SNAP_PART_OUTER) {
            if (open) zs_buf_puts(b, "],");
            zs_buf_append(b, "[", 1);
            put_positions(b, l, &parts[i], 1);
            open = true;
        } else if (parts[i].role == SNAP_PART_HOLE && open) {
            zs_buf_append(b, ",", 1);
            put_positions(b, l, &parts[i], -1);
        }
    }
    if (open) zs_buf_append(b, "]", 1);
}

/* The parts of one role as a comma-separated list of position arrays (or
 * single positions for points). */
static void put_parts(zs_buf *b, const snap_layer *l, const snap_part *parts, uint32_t n,
                      snap_part_role role)
{
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        if (parts[i].role != role) continue;
        if (!first) zs_buf_append(b, ",", 1);
        first = false;
        if (role == SNAP_PART_POINT)
            put_position(b, snap_part_points(l, &parts[i])[0]);
        else
            put_positions(b, l, &parts[i], 0);
    }
}

/* One geometry object for the parts of one kind: points, lines or polygons
 * (outer rings with their holes). */
static void put_group(zs_buf *b, const snap_layer *l, const snap_part *parts, uint32_t n,
                      snap_geom kind, uint32_t count)
{
    if (kind == SNAP_GEOM_POLYGON) {
        zs_buf_puts(b, count == 1 ? "{\"type\":\"Polygon\",\"coordinates\":"
                                  : "{\"type\":\"MultiPolygon\",\"coordinates\":[");
        put_polygons(b, l, parts, n);
        zs_buf_puts(b, count == 1 ? "}" : "]}");
    } else if (kind == SNAP_GEOM_LINE) {
        zs_buf_puts(b, count == 1 ? "{\"type\":\"LineString\",\"coordinates\":"
                                  : "{\"type\":\"MultiLineString\",\"coordinates\":[");
        put_parts(b, l, parts, n, SNAP_PART_LINE);
        zs_buf_puts(b, count == 1 ? "}" : "]}");
    } else {
        zs_buf_puts(b, count == 1 ? "{\"type\":\"Point\",\"coordinates\":"
                                  : "{\"type\":\"MultiPoint\",\"coordinates\":[");
        put_parts(b, l, parts, n, SNAP_PART_POINT);
        zs_buf_puts(b, count == 1 ? "}" : "]}");
    }
}

/* The feature's geometry in lon/lat: a single geometry for one kind of
 * part, a GeometryCollection for a mix, null when empty. */
static void put_geometry(zs_buf *b, const snap_layer *l, const snap_feature *f)
{
    const snap_part *parts = snap_feature_parts(l, f);
    uint32_t points = 0, lines = 0, outers = 0;
    for (uint32_t i = 0; i < f->nparts; i++) {
        points += parts[i].role == SNAP_PART_POINT;
        lines += parts[i].role == SNAP_PART_LINE;
        outers += parts[i].role == SNAP_PART_OUTER;
    }
    int kinds = (points > 0) + (lines > 0) + (outers > 0);
    if (kinds == 0) {
        zs_buf_puts(b, "null");
        return;
    }
    if (kinds > 1) zs_buf_puts(b, "{\"type\":\"GeometryCollection\",\"geometries\":[");
    bool first = true;
    if (outers) {
        put_group(b, l, parts, f->nparts, SNAP_GEOM_POLYGON, outers);
        first = false;
    }
    if (lines) {
        if (!first) zs_buf_append(b, ",", 1);
        put_group(b, l, parts, f->nparts, SNAP_GEOM_LINE, lines);
        first = false;
    }
    if (points) {
        if (!first) zs_buf_append(b, ",", 1);
        put_group(b, l, parts, f->nparts, SNAP_GEOM_POINT, points);
    }
    if (kinds > 1) zs_buf_puts(b, "]}");
}

/* ---- search ------------------------------------------------------------------- */

/* ASCII lower case; other bytes unchanged (UTF-8 lead and continuation
 * bytes are >= 0x80 and never fold onto ASCII). */
static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

typedef struct {
    char text[QUERY_Q_MAX + 1]; /* folded, NUL-terminated */
    size_t len;                 /* 0: no text condition */
} needle;

static needle needle_make(const char *q, size_t n)
{
    needle nd = {.len = n};
    for (size_t i = 0; i < n; i++)
        nd.text[i] = (char)fold((unsigned char)q[i]);
    return nd;
}

/* The first match of the needle in text[pos, end), or NULL. memchr looks
 * for the needle's last byte (in Chinese text the UTF-8 lead bytes repeat,
 * the last bytes much less), memcmp checks the rest. The text holds NULs
 * between names and the needle none, so a match never spans two names. */
static const char *find_text(const char *text, size_t pos, size_t end, const needle *q)
{
    size_t k = q->len - 1;
    const char *p = text + pos + k, *stop = text + end;
    while (p < stop && (p = memchr(p, (unsigned char)q->text[k], (size_t)(stop - p)))) {
        if (memcmp(p - k, q->text, k) == 0) return p - k;
        p++;
    }
    return NULL;
}

/* True when carrier f of l has the needle in its id or names. */
static bool carrier_has_text(const snap_layer *l, uint32_t f, const needle *q)
{
    return l->search_text &&
           find_text(l->search_text, l->search_start[f], l->search_start[f + 1], q) != NULL;
}

typedef struct {
    const snapshot *snap;
    const carrier_filter *filter;
    const needle *q;
    bool has_box;
    sidx_box box;           /* EPSG:3857 metres */
    const snap_carrier **v; /* the matches, one run per layer */
    size_t n, cap;
    uint64_t *seen; /* bbox search: bit per feature of the layer at hand */
    bool failed;    /* out of memory */
} search_ctx;

static void consider(search_ctx *sc, const snap_layer *l, uint32_t feature, bool check_text)
{
    const snap_carrier *c = &l->carriers[feature];
    if (!filter_match(sc->filter, &l->filter_rows[feature], c)) return;
    if (check_text && sc->q->len && !carrier_has_text(l, feature, sc->q)) return;
    if (sc->has_box && !feature_touches_box(l, &l->features[feature], &sc->box)) return;
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 1024;
        const snap_carrier **v = realloc(sc->v, cap * sizeof *v);
        if (!v) {
            sc->failed = true;
            return;
        }
        sc->v = v;
        sc->cap = cap;
    }
    sc->v[sc->n++] = c;
}

static bool mark_seen(const snap_layer *l, uint32_t feature, void *ctx)
{
    (void)l;
    search_ctx *sc = ctx;
    sc->seen[feature / 64] |= (uint64_t)1 << (feature % 64);
    return true;
}

static int cmp_carrier_ptr(const void *a, const void *b)
{
    return strcmp((*(const snap_carrier *const *)a)->id, (*(const snap_carrier *const *)b)->id);
}

/* Appends the layer's matches to sc->v in feature order. A bbox search
 * marks the index's hits in a bitmap first, so that the order is the same. */
static void search_layer(search_ctx *sc, const snap_layer *l)
{
    if (!sc->has_box && sc->q->len) {
        /* a text search finds its matches in the layer's search text, one
         * run of memory, and tests only those carriers */
        size_t end = l->search_text ? l->search_start[l->nfeatures] : 0;
        uint32_t f = 0;
        for (size_t pos = 0; pos < end && !sc->failed; f++) {
            const char *hit = find_text(l->search_text, pos, end, sc->q);
            if (!hit) break;
            /* hits only move forward: walk to the carrier holding this one */
            size_t at = (size_t)(hit - l->search_text);
            while (l->search_start[f + 1] <= at)
                f++;
            consider(sc, l, f, false);
            pos = l->search_start[f + 1];
        }
        return;
    }
    if (!sc->has_box) {
        for (uint32_t f = 0; f < l->nfeatures && !sc->failed; f++)
            consider(sc, l, f, false);
        return;
    }
    size_t words = ((size_t)l->nfeatures + 63) / 64;
    sc->seen = calloc(words ? words : 1, sizeof *sc->seen);
    if (!sc->seen) {
        sc->failed = true;
        return;
    }
    snapshot_query(sc->snap, l->id, sc->box, mark_seen, sc);
    for (size_t w = 0; w < words && !sc->failed; w++) {
        if (!sc->seen[w]) continue;
        for (unsigned bit = 0; bit < 64; bit++)
            if (sc->seen[w] >> bit & 1) consider(sc, l, (uint32_t)(w * 64 + bit), true);
    }
    free(sc->seen);
    sc->seen = NULL;
}

/* Whether the kinds of filter f can match carriers of layer (bits: park,
 * parcel, building, factory, as carrier_filter documents). */
static bool layer_wanted(const carrier_filter *f, layer_id layer)
{
    if (!f->kinds) return true;
    uint32_t bits = layer == LAYER_PARKS ? 1u : layer == LAYER_PARCELS ? 2u : 4u | 8u;
    return (f->kinds & bits) != 0;
}

static void put_profile(zs_buf *b, const snap_carrier *c)
{
    zs_buf_append(b, c->profile_json, c->profile_len);
}

static void put_carrier(zs_buf *b, const query_search_args *a, const snapshot *s,
                        const snap_carrier *c, bool first)
{
    if (a->format != QUERY_GEOJSON) {
        if (!first) zs_buf_append(b, ",", 1);
        put_profile(b, c);
        return;
    }
    const snap_layer *l = snapshot_layer(s, c->layer);
    zs_buf_puts(b, first ? "{\"type\":\"Feature\",\"id\":" : ",{\"type\":\"Feature\",\"id\":");
    zs_buf_json_str(b, c->id);
    zs_buf_puts(b, ",\"geometry\":");
    put_geometry(b, l, &l->features[c->feature]);
    zs_buf_puts(b, ",\"properties\":");
    put_profile(b, c);
    zs_buf_append(b, "}", 1);
}

/* The page [offset, offset + limit) of the matches in id order: a merge of
 * the runs (each sorted). */
static void put_page(zs_buf *b, const query_search_args *a, const snapshot *s,
                     const snap_carrier *const *v, const size_t *run_end, size_t nruns)
{
    size_t total = run_end[nruns - 1];
    size_t first = a->offset < total ? a->offset : total;
    size_t count = total - first < a->limit ? total - first : a->limit;
    if (a->format == QUERY_GEOJSON)
        zs_buf_printf(b,
                      "{\"type\":\"FeatureCollection\",\"numberMatched\":%zu,"
                      "\"numberReturned\":%zu,\"total\":%zu,\"limit\":%u,\"offset\":%u,"
                      "\"features\":[",
                      total, count, total, a->limit, a->offset);
    else
        zs_buf_printf(b, "{\"total\":%zu,\"limit\":%u,\"offset\":%u,\"carriers\":[", total,
                      a->limit, a->offset);
    size_t head[3];
    for (size_t r = 0; r < nruns; r++)
        head[r] = r ? run_end[r - 1] : 0;
    for (size_t k = 0; k < first + count; k++) {
        size_t best = nruns;
        for (size_t r = 0; r < nruns; r++)
            if (head[r] < run_end[r] &&
                (best == nruns || strcmp(v[head[r]]->id, v[head[best]]->id) < 0))
                best = r;
        const snap_carrier *c = v[head[best]++];
        if (k >= first) put_carrier(b, a, s, c, k == first);
    }
    zs_buf_puts(b, "]}");
}

/* The ending of a failed output. */
static zs_status out_failed(zs_buf *out, size_t mark, zs_error *err)
{
    zs_buf_rollback(out, mark);
    return zs_fail(err, ZS_ENOMEM, "response over its cap of %zu bytes (or out of memory)",
                   zs_buf_cap(out));
}

/* A buffer that failed before the call is refused untouched. */
static zs_status out_unusable(zs_error *err)
{
    return zs_fail(err, ZS_ENOMEM, "output buffer failed earlier and was not reset");
}

zs_status query_search(const snapshot *s, const query_search_args *a, zs_buf *out, zs_error *err)
{
    if (zs_buf_failed(out)) return out_unusable(err);
    if (a->limit < 1 || a->limit > QUERY_LIMIT_MAX)
        return zs_fail(err, ZS_EINVAL, "limit: %u is not from 1 to %d", a->limit, QUERY_LIMIT_MAX);
    if (a->offset > QUERY_OFFSET_MAX)
        return zs_fail(err, ZS_EINVAL, "offset: %u is over %d", a->offset, QUERY_OFFSET_MAX);
    if (a->format != QUERY_JSON && a->format != QUERY_GEOJSON)
        return zs_fail(err, ZS_EINVAL, "format: unknown");
    size_t qlen = strnlen(a->q, sizeof a->q);
    if (qlen > QUERY_Q_MAX || !profile_utf8_valid(a->q, qlen))
        return zs_fail(err, ZS_EINVAL, "q: not valid UTF-8 of at most %d bytes", QUERY_Q_MAX);
    if (a->has_bbox) {
        zs_status st = check_bbox(a->west, a->south, a->east, a->north, err);
        if (st) return st;
    }

    needle q = needle_make(a->q, qlen);
    search_ctx sc = {.snap = s, .filter = &a->filter, .q = &q, .has_box = a->has_bbox};
    if (a->has_bbox)
        sc.box = (sidx_box){merc_x(a->west), merc_y(a->south), merc_x(a->east), merc_y(a->north)};

    /* one run per layer, in feature order, which is normally already id
     * order (sources read in id order; the snapshot knows): sorted only when
     * not */
    static const layer_id carrier_layers[] = {LAYER_PARKS, LAYER_PARCELS, LAYER_BUILDINGS};
    size_t run_end[3];
    for (size_t i = 0; i < 3; i++) {
        size_t start = sc.n;
        if (layer_wanted(&a->filter, carrier_layers[i]))
            search_layer(&sc, snapshot_layer(s, carrier_layers[i]));
        run_end[i] = sc.n;
        if (sc.n - start > 1 && !snapshot_layer(s, carrier_layers[i])->ids_sorted)
            qsort(sc.v + start, sc.n - start, sizeof *sc.v, cmp_carrier_ptr);
    }
    if (sc.failed) {
        free(sc.v);
        return zs_fail(err, ZS_ENOMEM, "out of memory searching carriers");
    }
    size_t mark = zs_buf_len(out);
    put_page(out, a, s, sc.v, run_end, 3);
    free(sc.v);
    if (zs_buf_failed(out)) return out_failed(out, mark, err);
    return ZS_OK;
}

/* ---- what lies under a click ----------------------------------------------------- */

typedef struct {
    const snap_carrier *c;
    double d2; /* squared distance, EPSG:3857 m² */
} at_hit;

typedef struct {
    double x, y, tol2;
    at_hit hits[QUERY_AT_MAX]; /* this layer's best, sorted */
    size_t n;
} at_ctx;

/* True when a sorts before b: nearer, then drawn later. */
static bool at_before(const at_hit *a, const at_hit *b)
{
    if (a->d2 != b->d2) return a->d2 < b->d2;
    return a->c->feature > b->c->feature;
}

static bool visit_at(const snap_layer *l, uint32_t feature, void *ctx)
{
    at_ctx *ac = ctx;
    const snap_feature *f = &l->features[feature];
    /* the bbox bounds the distance from below: skip what cannot make the list */
    double bx = fmax(fmax(f->bbox.minx - ac->x, ac->x - f->bbox.maxx), 0);
    double by = fmax(fmax(f->bbox.miny - ac->y, ac->y - f->bbox.maxy), 0);
    double lower = bx * bx + by * by;
    if (ac->n == QUERY_AT_MAX && lower > ac->hits[QUERY_AT_MAX - 1].d2) return true;
    double d2 = dist2_feature(l, f, ac->x, ac->y);
    if (!(d2 <= ac->tol2)) return true;
    at_hit h = {&l->carriers[feature], d2};
    if (ac->n == QUERY_AT_MAX && !at_before(&h, &ac->hits[QUERY_AT_MAX - 1])) return true;
    size_t i = ac->n < QUERY_AT_MAX ? ac->n++ : QUERY_AT_MAX - 1;
    for (; i > 0 && at_before(&h, &ac->hits[i - 1]); i--)
        ac->hits[i] = ac->hits[i - 1];
    ac->hits[i] = h;
    return true;
}

zs_status query_at(const snapshot *s, double lon, double lat, double zoom, zs_buf *out,
                   zs_error *err)
{
    if (zs_buf_failed(out)) return out_unusable(err);
    if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90))
        return zs_fail(err, ZS_EINVAL, "lon/lat: (%g, %g) is outside [-180, 180] / [-90, 90]", lon,
                       lat);
    if (!(zoom >= 0 && zoom <= QUERY_ZOOM_MAX))
        return zs_fail(err, ZS_EINVAL, "zoom: %g is not from 0 to %d", zoom, QUERY_ZOOM_MAX);
    double tol = QUERY_AT_TOLERANCE_PX * 2 * MERC_MAX / (256 * exp2(zoom));
    at_ctx ac = {.x = merc_x(lon), .y = merc_y(lat), .tol2 = tol * tol};
    sidx_box box = {ac.x - tol, ac.y - tol, ac.x + tol, ac.y + tol};

    size_t mark = zs_buf_len(out);
    zs_buf_puts(out, "{\"lon\":");
    zs_buf_json_num(out, lon);
    zs_buf_puts(out, ",\"lat\":");
    zs_buf_json_num(out, lat);
    zs_buf_puts(out, ",\"zoom\":");
    zs_buf_json_num(out, zoom);
    zs_buf_puts(out, ",\"carriers\":[");
    static const layer_id top_down[] = {LAYER_BUILDINGS, LAYER_PARCELS, LAYER_PARKS};
    size_t written = 0;
    for (size_t i = 0; i < 3 && written < QUERY_AT_MAX; i++) {
        ac.n = 0;
        snapshot_query(s, top_down[i], box, visit_at, &ac);
        for (size_t k = 0; k < ac.n && written < QUERY_AT_MAX; k++, written++) {
            if (written) zs_buf_append(out, ",", 1);
            put_profile(out, ac.hits[k].c);
        }
    }
    zs_buf_puts(out, "]}");
    if (zs_buf_failed(out)) return out_failed(out, mark, err);
    return ZS_OK;
}

/* ---- parks --------------------------------------------------------------------- */

typedef struct {
    const snap_carrier *park;
    unsigned parcels, buildings, factories;
    double vacant, gross_known, vacant_known, land_available; /* m² */
} park_stats;

/* Index of the park named by id among n parks, or -1. Carriers share the
 * park's id string, so a pointer comparison almost always settles it. */
static long park_index(const snapshot *s, const snap_layer *parks, const char *id)
{
    for (uint32_t i = 0; i < parks->nfeatures; i++)
        if (parks->carriers[i].id == id) return (long)i;
    const snap_carrier *p = snapshot_carrier_by_id(s, id);
    if (!p || p->layer != LAYER_PARKS) return -1;
    return (long)p->feature;
}

static void add_carrier(park_stats *ps, const snap_carrier *c)
{
    if (strcmp(c->kind, "parcel") == 0) {
        ps->parcels++;
        if (c->status && strcmp(c->status, "available") == 0 && !isnan(c->area_m2))
            ps->land_available += c->area_m2;
        return;
    }
    if (strcmp(c->kind, "factory") == 0)
        ps->factories++;
    else
        ps->buildings++;
    if (!isnan(c->vacant_area_m2)) {
        ps->vacant += c->vacant_area_m2;
        if (!isnan(c->gross_area_m2)) {
            ps->vacant_known += c->vacant_area_m2;
            ps->gross_known += c->gross_area_m2;
        }
    }
}

static int cmp_stats(const void *a, const void *b)
{
    return strcmp(((const park_stats *)a)->park->id, ((const park_stats *)b)->park->id);
}

static void put_industries(zs_buf *b, const char *list)
{
    if (!list || !*list) {
        zs_buf_puts(b, "null");
        return;
    }
    zs_buf_append(b, "[", 1);
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        if (p != list) zs_buf_append(b, ",", 1);
        zs_buf_json_strn(b, p, n);
        if (!p[n]) break;
        p += n + 1;
    }
    zs_buf_append(b, "]", 1);
}

static void put_park(zs_buf *b, const park_stats *ps)
{
    const snap_carrier *p = ps->park;
    bool any_building = ps->gross_known > 0;
    zs_buf_puts(b, "{\"id\":");
    zs_buf_json_str(b, p->id);
    zs_buf_puts(b, ",\"name\":{\"zh\":");
    zs_buf_json_str(b, p->name_zh);
    zs_buf_puts(b, ",\"en\":");
    zs_buf_json_str(b, p->name_en);
    zs_buf_puts(b, "},\"lon\":");
    zs_buf_json_fixed(b, p->lon, 6);
    zs_buf_puts(b, ",\"lat\":");
    zs_buf_json_fixed(b, p->lat, 6);
    zs_buf_puts(b, ",\"status\":");
    zs_buf_json_str(b, p->status);
    zs_buf_puts(b, ",\"industries\":");
    put_industries(b, p->industries);
    zs_buf_puts(b, ",\"area_m2\":");
    zs_buf_json_num(b, p->area_m2);
    zs_buf_puts(b, ",\"enterprises\":");
    zs_buf_json_num(b, p->enterprises);
    zs_buf_puts(b, ",\"annual_tax_wan\":");
    zs_buf_json_num(b, p->annual_tax_wan);
    zs_buf_printf(b, ",\"carriers\":{\"parcels\":%u,\"buildings\":%u,\"factories\":%u}",
                  ps->parcels, ps->buildings, ps->factories);
    zs_buf_puts(b, ",\"available_area_m2\":");
    zs_buf_json_num(b, ps->vacant + ps->land_available);
    zs_buf_puts(b, ",\"vacant_floor_area_m2\":");
    zs_buf_json_num(b, ps->vacant);
    zs_buf_puts(b, ",\"gross_floor_area_m2\":");
    zs_buf_json_num(b, ps->gross_known);
    zs_buf_puts(b, ",\"vacancy\":");
    zs_buf_json_num(b, any_building ? ps->vacant_known / ps->gross_known : NAN);
    zs_buf_append(b, "}", 1);
}

zs_status query_parks(const snapshot *s, zs_buf *out, zs_error *err)
{
    if (zs_buf_failed(out)) return out_unusable(err);
    const snap_layer *parks = snapshot_layer(s, LAYER_PARKS);
    park_stats *st = calloc(parks->nfeatures ? parks->nfeatures : 1, sizeof *st);
    if (!st) return zs_fail(err, ZS_ENOMEM, "out of memory counting parks");
    for (uint32_t i = 0; i < parks->nfeatures; i++)
        st[i].park = &parks->carriers[i];
    static const layer_id members[] = {LAYER_PARCELS, LAYER_BUILDINGS};
    for (size_t m = 0; m < 2; m++) {
        const snap_layer *l = snapshot_layer(s, members[m]);
        for (uint32_t i = 0; i < l->nfeatures; i++) {
            const snap_carrier *c = &l->carriers[i];
            if (!c->park_id) continue;
            long k = park_index(s, parks, c->park_id);
            if (k >= 0) add_carrier(&st[k], c);
        }
    }
    if (parks->nfeatures > 1) qsort(st, parks->nfeatures, sizeof *st, cmp_stats);

    size_t mark = zs_buf_len(out);
    zs_buf_printf(out, "{\"total\":%u,\"parks\":[", parks->nfeatures);
    for (uint32_t i = 0; i < parks->nfeatures; i++) {
        if (i) zs_buf_append(out, ",", 1);
        put_park(out, &st[i]);
    }
    zs_buf_puts(out, "]}");
    free(st);
    if (zs_buf_failed(out)) return out_failed(out, mark, err);
    return ZS_OK;
}
