#include "reproject.h"

#include "gcj02.h"

#include <proj.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The store's CRS: CGCS2000 geographic; normalized to lon,lat on output. */
#define TARGET_CRS "EPSG:4490"

/* How much of a CRS text (often a whole WKT) an error message quotes. */
#define CRS_EXCERPT 160

/* Points per proj_trans_generic() call; the inputs of one chunk are kept so a
 * failing point can be reported with the coordinates it was given. */
#define CHUNK 256

/* proj_identify() confidence (0-100) from which a WKT without an ID is named
 * by the EPSG code it matches; 90 and above means the same definition. */
#define IDENTIFY_MIN_CONFIDENCE 90

struct reproj {
    PJ_CONTEXT *ctx; /* NULL for GCJ02 */
    PJ *op;          /* source → EPSG:4490, easting/lon first in, lon,lat out; NULL for GCJ02 */
    bool geographic; /* source coordinates are degrees */
    char name[256];  /* see reproj_source_name() */
    char proj_msg[256]; /* last error PROJ logged on ctx, "" when none */
};

/* PROJ logs to stderr by default; lower layers never print, so PROJ's last
 * error message is kept in the reproj (app_data) and put in our errors. */
static void keep_proj_message(void *app_data, int level, const char *msg)
{
    reproj *r = app_data;
    if (level > PJ_LOG_ERROR || !msg) return;
    snprintf(r->proj_msg, sizeof r->proj_msg, "%s", msg);
}

/* Writes into buf (size > 4) the start of a CRS text on one line, with "..."
 * when cut, so a message can quote a multi-line WKT without drowning in it. */
static void crs_excerpt(const char *text, char *buf, size_t size)
{
    size_t len = 0, room = size - 4;
    const char *s = text;
    for (; *s && len < room; s++) {
        char c = *s;
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        if (c == ' ' && len > 0 && buf[len - 1] == ' ') continue;
        buf[len++] = c;
    }
    if (*s) {
        memcpy(buf + len, "...", 3);
        len += 3;
    }
    buf[len] = '\0';
}

/* Fails with ZS_ECRS, quoting the source CRS text and PROJ's own reason when
 * it logged one. */
static zs_status fail_crs(reproj *r, zs_error *err, const char *src_crs, const char *what)
{
    char quoted[CRS_EXCERPT];
    crs_excerpt(src_crs, quoted, sizeof quoted);
    if (r->proj_msg[0]) return zs_fail(err, ZS_ECRS, "%s \"%s\" (%s)", what, quoted, r->proj_msg);
    return zs_fail(err, ZS_ECRS, "%s \"%s\"", what, quoted);
}

/* Returns a new reference to the horizontal part of crs: the base of a
 * BoundCRS (WKT1 with TOWGS84), the first component of a CompoundCRS
 * (horizontal + height). Free with proj_destroy(); NULL on failure. */
static PJ *horizontal_crs(PJ_CONTEXT *ctx, const PJ *crs)
{
    PJ *cur = proj_clone(ctx, crs);
    for (int depth = 0; cur && depth < 4; depth++) {
        PJ *next;
        switch (proj_get_type(cur)) {
        case PJ_TYPE_BOUND_CRS:
            next = proj_get_source_crs(ctx, cur);
            break;
        case PJ_TYPE_COMPOUND_CRS:
            next = proj_crs_get_sub_crs(ctx, cur, 0);
            break;
        default:
            return cur;
        }
        proj_destroy(cur);
        cur = next;
    }
    return cur;
}

/* Fills r->name from the horizontal CRS: its own authority ID, else the EPSG
 * code proj_identify() matches with high confidence (WKT from a .prj carries
 * no ID), else its name. */
static void name_source(reproj *r, const PJ *crs)
{
    const char *auth = proj_get_id_auth_name(crs, 0);
    const char *code = proj_get_id_code(crs, 0);
    if (auth && code) {
        snprintf(r->name, sizeof r->name, "%s:%s", auth, code);
        return;
    }
    int *confidence = NULL;
    PJ_OBJ_LIST *found = proj_identify(r->ctx, crs, "EPSG", NULL, &confidence);
    if (found && confidence && proj_list_get_count(found) > 0 &&
        confidence[0] >= IDENTIFY_MIN_CONFIDENCE) {
        PJ *best = proj_list_get(r->ctx, found, 0);
        const char *best_code = best ? proj_get_id_code(best, 0) : NULL;
        if (best_code) snprintf(r->name, sizeof r->name, "EPSG:%s", best_code);
        proj_destroy(best);
    }
    proj_int_list_destroy(confidence);
    proj_list_destroy(found);
    /* identify may log "no match" chatter that is not an error of ours */
    r->proj_msg[0] = '\0';
    if (r->name[0]) return;
    const char *name = proj_get_name(crs);
    snprintf(r->name, sizeof r->name, "%s", name && *name ? name : "unnamed CRS");
}

/* Sets up r->ctx and r->op for a PROJ source CRS. On failure returns the
 * status and leaves whatever it made in r for reproj_destroy(). */
static zs_status open_proj(reproj *r, const char *src_crs, zs_error *err)
{
    r->ctx = proj_context_create();
    if (!r->ctx) return zs_fail(err, ZS_ENOMEM, "cannot create a PROJ context");
    proj_log_func(r->ctx, r, keep_proj_message);

    zs_status st = ZS_OK;
    PJ *src = NULL, *horiz = NULL, *dst = NULL, *op = NULL;
    src = proj_create(r->ctx, src_crs);
    if (!src) {
        st = fail_crs(r, err, src_crs, "unknown coordinate reference system");
        goto done;
    }
    if (!proj_is_crs(src)) {
        st = fail_crs(r, err, src_crs, "not a coordinate reference system:");
        goto done;
    }
    horiz = horizontal_crs(r->ctx, src);
    PJ_TYPE type = horiz ? proj_get_type(horiz) : PJ_TYPE_UNKNOWN;
    switch (type) {
    case PJ_TYPE_GEOGRAPHIC_CRS:
    case PJ_TYPE_GEOGRAPHIC_2D_CRS:
    case PJ_TYPE_GEOGRAPHIC_3D_CRS:
        r->geographic = true;
        break;
    case PJ_TYPE_UNKNOWN:
    case PJ_TYPE_GEOCENTRIC_CRS:
    case PJ_TYPE_VERTICAL_CRS:
    case PJ_TYPE_TEMPORAL_CRS:
        st = fail_crs(r, err, src_crs, "not a horizontal coordinate reference system:");
        goto done;
    default:
        r->geographic = false;
        break;
    }
    name_source(r, horiz);

    dst = proj_create(r->ctx, TARGET_CRS);
    if (!dst) {
        st = fail_crs(r, err, TARGET_CRS, "the PROJ database lacks");
        goto done;
    }
    /* Transform from the full source so a BoundCRS's TOWGS84 is honoured. */
    op = proj_create_crs_to_crs_from_pj(r->ctx, src, dst, NULL, NULL);
    if (!op) {
        st = fail_crs(r, err, src_crs, "no transformation to " TARGET_CRS " from");
        goto done;
    }
    /* Authority order is northing first for the Gauss-Kruger CRSs and lat
     * first for EPSG:4490; GIS files and the store are easting/lon first. */
    r->op = proj_normalize_for_visualization(r->ctx, op);
    if (!r->op) st = fail_crs(r, err, src_crs, "cannot order axes easting first for");

done:
    proj_destroy(op);
    proj_destroy(dst);
    proj_destroy(horiz);
    proj_destroy(src);
    return st;
}

zs_status reproj_create(const char *src_crs, reproj **out, zs_error *err)
{
    *out = NULL;
    if (!src_crs || !*src_crs)
        return zs_fail(err, ZS_ECRS, "no source coordinate reference system given");
    reproj *r = calloc(1, sizeof *r);
    if (!r) return zs_fail(err, ZS_ENOMEM, "out of memory creating a reprojection");
    if (strcasecmp(src_crs, "GCJ02") == 0) {
        r->geographic = true;
        snprintf(r->name, sizeof r->name, "GCJ02");
        *out = r;
        return ZS_OK;
    }
    zs_status st = open_proj(r, src_crs, err);
    if (st != ZS_OK) {
        reproj_destroy(r);
        return st;
    }
    *out = r;
    return ZS_OK;
}

/* GCJ-02 has no PROJ definition: invert the published formula per point. The
 * WGS84 result is used as CGCS2000 (they agree to centimetres). */
static zs_status gcj02_points(double *xy, size_t n, zs_error *err)
{
    for (size_t i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y) || fabs(x) > 180.0 || fabs(y) > 90.0)
            return zs_fail(err, ZS_ECRS, "point %zu (%.10g, %.10g) is not a GCJ02 lon/lat", i, x,
                           y);
        gcj02_to_wgs84(x, y, &xy[2 * i], &xy[2 * i + 1]);
    }
    return ZS_OK;
}

/* On ZS_ECRS the points before the failing one's chunk are already lon,lat
 * and the rest are in an unspecified state: the caller drops the feature. */
zs_status reproj_points(reproj *r, double *xy, size_t n, zs_error *err)
{
    if (n == 0) return ZS_OK;
    if (!r || !xy) return zs_fail(err, ZS_EINVAL, "reproj_points: no transform or no points");
    if (!r->op) return gcj02_points(xy, n, err);

    const size_t stride = 2 * sizeof(double);
    double in[2 * CHUNK];
    for (size_t start = 0; start < n; start += CHUNK) {
        size_t m = n - start < CHUNK ? n - start : CHUNK;
        double *p = xy + 2 * start;
        memcpy(in, p, m * stride);
        proj_errno_reset(r->op);
        proj_trans_generic(r->op, PJ_FWD, p, stride, m, p + 1, stride, m, NULL, 0, 0, NULL, 0, 0);
        for (size_t j = 0; j < m; j++) {
            /* PROJ passes a geographic source through unchecked, so eastings
             * declared as degrees would come out as "lon/lat" far off Earth. */
            if (isfinite(p[2 * j]) && isfinite(p[2 * j + 1]) && fabs(p[2 * j]) <= 180.0 &&
                fabs(p[2 * j + 1]) <= 90.0)
                continue;
            size_t k = start + j;
            if (isfinite(p[2 * j]) && isfinite(p[2 * j + 1]))
                return zs_fail(err, ZS_ECRS,
                               "point %zu (%.10g, %.10g) in %s gives lon/lat (%.10g, %.10g) "
                               "outside -180..180, -90..90",
                               k, in[2 * j], in[2 * j + 1], r->name, p[2 * j], p[2 * j + 1]);
            int e = proj_errno(r->op);
            return zs_fail(err, ZS_ECRS,
                           "point %zu (%.10g, %.10g) cannot be transformed from %s to %s (%s)", k,
                           in[2 * j], in[2 * j + 1], r->name, TARGET_CRS,
                           e ? proj_context_errno_string(r->ctx, e) : "no result");
        }
    }
    return ZS_OK;
}

bool reproj_source_is_geographic(const reproj *r)
{
    return r && r->geographic;
}

const char *reproj_source_name(const reproj *r)
{
    return r ? r->name : "";
}

void reproj_destroy(reproj *r)
{
    if (!r) return;
    proj_destroy(r->op);
    if (r->ctx) proj_context_destroy(r->ctx);
    free(r);
}
