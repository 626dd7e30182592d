#include "geomfix.h"

#include <geos_c.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct geomfix {
    GEOSContextHandle_t ctx;
    GEOSWKBReader *reader;
    GEOSWKBWriter *writer;
    char last_error[256]; /* GEOS reports parse errors through a handler */
};

static void on_context_error(const char *message, void *userdata)
{
    geomfix *gf = userdata;
    snprintf(gf->last_error, sizeof gf->last_error, "%s", message);
}

geomfix *geomfix_create(void)
{
    geomfix *gf = calloc(1, sizeof *gf);
    if (!gf) return NULL;
    gf->ctx = GEOS_init_r();
    if (!gf->ctx) {
        free(gf);
        return NULL;
    }
    GEOSContext_setErrorMessageHandler_r(gf->ctx, on_context_error, gf);
    gf->reader = GEOSWKBReader_create_r(gf->ctx);
    gf->writer = GEOSWKBWriter_create_r(gf->ctx);
    if (!gf->reader || !gf->writer) {
        geomfix_destroy(gf);
        return NULL;
    }
    GEOSWKBWriter_setByteOrder_r(gf->ctx, gf->writer, GEOS_WKB_NDR);
    return gf;
}

void geomfix_destroy(geomfix *gf)
{
    if (!gf) return;
    if (gf->reader) GEOSWKBReader_destroy_r(gf->ctx, gf->reader);
    if (gf->writer) GEOSWKBWriter_destroy_r(gf->ctx, gf->writer);
    GEOS_finish_r(gf->ctx);
    free(gf);
}

/* 2 for areas, 1 for lines, 0 for points, -1 for an empty geometry. */
static int dimension(geomfix *gf, const GEOSGeometry *g)
{
    if (GEOSisEmpty_r(gf->ctx, g)) return -1;
    return GEOSGeom_getDimensions_r(gf->ctx, g);
}

/* Appends clones of the parts of g of dimension dim to parts (room for
 * GEOSGetNumCoordinates parts, which bounds any count of parts). */
static void collect(geomfix *gf, const GEOSGeometry *g, int dim, GEOSGeometry **parts,
                    unsigned *count)
{
    int n = GEOSGetNumGeometries_r(gf->ctx, g);
    for (int i = 0; i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(gf->ctx, g, i);
        if (part == g) { /* a single geometry is its own part 0 */
            if (dimension(gf, g) == dim) parts[(*count)++] = GEOSGeom_clone_r(gf->ctx, g);
            return;
        }
        collect(gf, part, dim, parts, count);
    }
}

/* The parts of g of dimension dim as one valid geometry (a new one), or NULL
 * when there are none. MakeValid may return a collection of polygons and the
 * lines or points that a collapsed ring left behind. */
static GEOSGeometry *keep_dimension(geomfix *gf, const GEOSGeometry *g, int dim)
{
    int cap = GEOSGetNumCoordinates_r(gf->ctx, g) + 1;
    GEOSGeometry **parts = calloc((size_t)cap, sizeof *parts);
    if (!parts) return NULL;
    unsigned count = 0;
    collect(gf, g, dim, parts, &count);
    GEOSGeometry *out = NULL;
    if (count == 1) {
        out = parts[0];
    } else if (count > 1) {
        /* Parts that touch merge, which is what a repaired polygon should be. */
        GEOSGeometry *coll =
            GEOSGeom_createCollection_r(gf->ctx, GEOS_GEOMETRYCOLLECTION, parts, count);
        if (coll) {
            out = GEOSUnaryUnion_r(gf->ctx, coll);
            GEOSGeom_destroy_r(gf->ctx, coll);
        }
    }
    free(parts);
    return out;
}

zs_status geomfix_check(geomfix *gf, const unsigned char *wkb, size_t len, unsigned char **fixed,
                        size_t *fixed_len, zs_error *err)
{
    *fixed = NULL;
    *fixed_len = 0;
    gf->last_error[0] = '\0';
    GEOSGeometry *g = GEOSWKBReader_read_r(gf->ctx, gf->reader, wkb, len);
    if (!g) return zs_fail(err, ZS_EGEOM, "unreadable geometry: %s", gf->last_error);
    int dim = dimension(gf, g);
    if (dim < 0) {
        GEOSGeom_destroy_r(gf->ctx, g);
        return zs_fail(err, ZS_EGEOM, "empty geometry");
    }
    char valid = GEOSisValid_r(gf->ctx, g);
    if (valid == 1) {
        GEOSGeom_destroy_r(gf->ctx, g);
        return ZS_OK;
    }
    char *reason = GEOSisValidReason_r(gf->ctx, g);
    char why[200];
    snprintf(why, sizeof why, "%s", reason ? reason : "invalid");
    GEOSFree_r(gf->ctx, reason);

    GEOSMakeValidParams *params = GEOSMakeValidParams_create_r(gf->ctx);
    GEOSMakeValidParams_setMethod_r(gf->ctx, params, GEOS_MAKE_VALID_STRUCTURE);
    GEOSMakeValidParams_setKeepCollapsed_r(gf->ctx, params, 0);
    GEOSGeometry *made = GEOSMakeValidWithParams_r(gf->ctx, g, params);
    GEOSMakeValidParams_destroy_r(gf->ctx, params);
    GEOSGeom_destroy_r(gf->ctx, g);
    if (!made) return zs_fail(err, ZS_EGEOM, "%s; GEOS could not repair it", why);

    GEOSGeometry *kept = keep_dimension(gf, made, dim);
    GEOSGeom_destroy_r(gf->ctx, made);
    if (!kept || GEOSisValid_r(gf->ctx, kept) != 1) {
        if (kept) GEOSGeom_destroy_r(gf->ctx, kept);
        return zs_fail(err, ZS_EGEOM, "%s; nothing of it is left after repair", why);
    }
    size_t n = 0;
    unsigned char *out = GEOSWKBWriter_write_r(gf->ctx, gf->writer, kept, &n);
    GEOSGeom_destroy_r(gf->ctx, kept);
    if (!out) return zs_fail(err, ZS_ENOMEM, "out of memory writing a repaired geometry");
    *fixed = malloc(n);
    if (*fixed) memcpy(*fixed, out, n);
    GEOSFree_r(gf->ctx, out);
    if (!*fixed) return zs_fail(err, ZS_ENOMEM, "out of memory writing a repaired geometry");
    *fixed_len = n;
    zs_fail(err, ZS_OK, "%s", why);
    return ZS_OK;
}
