#include "import.h"

#include "geomfix.h"
#include "photo.h"
#include "reproject.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* China's extent with a margin (degrees): a reprojected feature outside it
 * means a wrong source CRS far more often than a real feature abroad. */
#define CHINA_WEST 73.0
#define CHINA_EAST 136.0
#define CHINA_SOUTH 3.0
#define CHINA_NORTH 54.0

#define REPORT_MAX_LINES 1000
#define MAX_FIELDS 32

/* The state of one import run; freed in one place, import_run(). */
typedef struct {
    const import_options *opt;
    const layer_info *info;
    store *st;
    import_report *rep;
    GDALDatasetH ds;
    OGRLayerH src;
    reproj *rp;
    geomfix *gf;
    int source_field[MAX_FIELDS]; /* per layer field: source field index, -1 none */
    int lon_field, lat_field;     /* a table without geometry (XLSX): point columns */
    bool recode;                  /* recode strings from opt->encoding */
    long report_lines;
    size_t report_len, report_cap;
    char *input_dir;
    /* photo files this run created, removed again if it does not commit */
    char **created;
    size_t ncreated, created_cap;
    /* ids seen, to refuse an id given twice */
    struct seen_id {
        char *id;
        long fid;
    } * ids;
    size_t nids, ids_cap;
} import_run_state;

static pthread_once_t gdal_once = PTHREAD_ONCE_INIT;

static void gdal_start(void)
{
    GDALAllRegister();
    /* Problems are reported through zs_error, not GDAL's stderr handler. */
    CPLSetErrorHandler(CPLQuietErrorHandler);
}

/* ---- report ----------------------------------------------------------- */

static void report(import_run_state *r, const char *fmt, ...) ZS_PRINTF(2, 3);
static void report(import_run_state *r, const char *fmt, ...)
{
    if (++r->report_lines > REPORT_MAX_LINES) return;
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    line[n] = '\0';
    if (r->report_len + (size_t)n + 1 > r->report_cap) {
        size_t cap = r->report_cap ? r->report_cap * 2 : 4096;
        while (cap < r->report_len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(r->rep->lines, cap);
        if (!p) return;
        r->rep->lines = p;
        r->report_cap = cap;
    }
    memcpy(r->rep->lines + r->report_len, line, (size_t)n + 1);
    r->report_len += (size_t)n;
}

void import_report_free(import_report *rep)
{
    if (!rep) return;
    free(rep->lines);
    free(rep->source_crs);
    rep->lines = NULL;
    rep->source_crs = NULL;
}

/* ---- small helpers -------------------------------------------------------- */

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
        if (n < 0) return false;
        uint32_t cp = n == 0 ? *p : *p & (0x3f >> n);
        p++;
        for (int i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (*p & 0x3f);
        }
        static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    }
    return true;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static bool remember_created(import_run_state *r, const char *path)
{
    if (r->ncreated == r->created_cap) {
        size_t cap = r->created_cap ? r->created_cap * 2 : 16;
        char **p = realloc(r->created, cap * sizeof *p);
        if (!p) return false;
        r->created = p;
        r->created_cap = cap;
    }
    r->created[r->ncreated] = strdup(path);
    return r->created[r->ncreated++] != NULL;
}

/* ---- opening the source ----------------------------------------------------- */

static zs_status open_source(import_run_state *r, zs_error *err)
{
    const import_options *opt = r->opt;
    char **open_opts = NULL;
    if (ends_with_ci(opt->input, ".csv")) {
        /* CSV carries geometry as a WKT column or as lon/lat columns. */
        open_opts = CSLAddString(open_opts, "GEOM_POSSIBLE_NAMES=WKT,geom,geometry,the_geom,shape");
        open_opts = CSLAddString(open_opts, "X_POSSIBLE_NAMES=lon,lng,longitude,x,经度");
        open_opts = CSLAddString(open_opts, "Y_POSSIBLE_NAMES=lat,latitude,y,纬度");
        open_opts = CSLAddString(open_opts, "KEEP_GEOM_COLUMNS=NO");
    }
    bool shapefile = ends_with_ci(opt->input, ".shp") || ends_with_ci(opt->input, ".dbf");
    if (opt->encoding && shapefile) {
        char enc[80];
        snprintf(enc, sizeof enc, "ENCODING=%s", opt->encoding);
        open_opts = CSLAddString(open_opts, enc);
    }
    CPLErrorReset();
    r->ds = GDALOpenEx(opt->input, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL,
                       (const char *const *)open_opts, NULL);
    CSLDestroy(open_opts);
    if (!r->ds) {
        struct stat sb;
        if (stat(opt->input, &sb) != 0)
            return zs_fail(err, ZS_ENOTFOUND, "input '%s' does not exist", opt->input);
        const char *why = CPLGetLastErrorMsg();
        return zs_fail(err, ZS_EIO, "input '%s' is not a vector file GDAL can read%s%s", opt->input,
                       why[0] ? ": " : "", why);
    }
    r->recode = opt->encoding && !shapefile;
    if (r->recode) {
        char *probe = CPLRecode("", opt->encoding, CPL_ENC_UTF8);
        CPLFree(probe);
        if (CPLGetLastErrorType() >= CE_Failure)
            return zs_fail(err, ZS_EINVAL, "unknown encoding '%s'", opt->encoding);
    }

    int nlayers = GDALDatasetGetLayerCount(r->ds);
    if (opt->source_layer) {
        r->src = GDALDatasetGetLayerByName(r->ds, opt->source_layer);
    } else if (nlayers == 1) {
        r->src = GDALDatasetGetLayer(r->ds, 0);
    } else if (nlayers == 0) {
        return zs_fail(err, ZS_EINVAL, "input '%s' has no layers", opt->input);
    }
    if (!r->src) {
        char names[600] = "";
        size_t len = 0;
        for (int i = 0; i < nlayers && len < sizeof names - 100; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                    OGR_L_GetName(GDALDatasetGetLayer(r->ds, i)));
        if (opt->source_layer)
            return zs_fail(err, ZS_ENOTFOUND, "input '%s' has no layer '%s' (layers: %s)",
                           opt->input, opt->source_layer, names);
        return zs_fail(err, ZS_EINVAL,
                       "input '%s' has %d layers (%s): choose one with --source-layer", opt->input,
                       nlayers, names);
    }
    return ZS_OK;
}

static zs_status open_crs(import_run_state *r, zs_error *err)
{
    if (r->opt->s_srs) return reproj_create(r->opt->s_srs, &r->rp, err);
    OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(r->src);
    if (!srs)
        return zs_fail(err, ZS_ECRS,
                       "input '%s' (layer '%s') does not say its coordinate reference system: "
                       "give it with --s_srs (e.g. EPSG:4548)",
                       r->opt->input, OGR_L_GetName(r->src));
    char *wkt = NULL;
    const char *wkt_opts[] = {"FORMAT=WKT2_2019", NULL};
    if (OSRExportToWktEx(srs, &wkt, wkt_opts) != OGRERR_NONE || !wkt) {
        CPLFree(wkt);
        return zs_fail(err, ZS_ECRS, "the CRS of input '%s' cannot be read", r->opt->input);
    }
    zs_status s = reproj_create(wkt, &r->rp, err);
    CPLFree(wkt);
    return s;
}

/* Parses opt->field_map and matches the remaining layer fields by name. */
static zs_status map_fields(import_run_state *r, zs_error *err)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(r->src);
    const layer_info *info = r->info;
    for (size_t i = 0; i < info->nfields; i++)
        r->source_field[i] = OGR_FD_GetFieldIndex(defn, info->fields[i].name);
    r->lon_field = r->lat_field = -1;
    if (OGR_FD_GetGeomFieldCount(defn) == 0) {
        /* A spreadsheet: carriers located by longitude and latitude columns. */
        static const char *const lons[] = {"lon", "lng", "longitude", "x", "经度", NULL};
        static const char *const lats[] = {"lat", "latitude", "y", "纬度", NULL};
        for (int i = 0; lons[i] && r->lon_field < 0; i++)
            r->lon_field = OGR_FD_GetFieldIndex(defn, lons[i]);
        for (int i = 0; lats[i] && r->lat_field < 0; i++)
            r->lat_field = OGR_FD_GetFieldIndex(defn, lats[i]);
        if (r->lon_field < 0 || r->lat_field < 0 || !info->carrier)
            return zs_fail(err, ZS_EINVAL, "source layer '%s' has no geometry%s",
                           OGR_L_GetName(r->src),
                           info->carrier ? " and no lon/lat columns (lon, lat or 经度, 纬度)" : "");
    }

    if (r->opt->field_map && r->opt->field_map[0]) {
        char *map = strdup(r->opt->field_map);
        if (!map) return zs_fail(err, ZS_ENOMEM, "out of memory");
        zs_status s = ZS_OK;
        char *save = NULL;
        for (char *item = strtok_r(map, ",", &save); item && !s;
             item = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(item, '=');
            if (!eq) {
                s = zs_fail(err, ZS_EINVAL, "--map item '%s' is not field=SOURCE_FIELD", item);
                break;
            }
            *eq = '\0';
            char *field = trim(item), *source = trim(eq + 1);
            int fi = layer_field_index(info, field);
            if (fi < 0) {
                char names[800] = "";
                size_t len = 0;
                for (size_t i = 0; i < info->nfields; i++)
                    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                            info->fields[i].name);
                s = zs_fail(err, ZS_EINVAL, "--map: layer %s has no field '%s' (fields: %s)",
                            info->name, field, names);
                break;
            }
            int si = OGR_FD_GetFieldIndex(defn, source);
            if (si < 0) {
                char names[800] = "";
                size_t len = 0;
                int n = OGR_FD_GetFieldCount(defn);
                for (int i = 0; i < n && len < sizeof names - 100; i++)
                    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                            OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)));
                s = zs_fail(err, ZS_ENOTFOUND,
                            "--map: source layer '%s' has no field '%s' (fields: %s)",
                            OGR_L_GetName(r->src), source, names);
                break;
            }
            r->source_field[fi] = si;
        }
        free(map);
        if (s) return s;
    }
    for (size_t i = 0; i < info->nfields; i++) {
        if (info->fields[i].required && r->source_field[i] < 0 &&
            !(i == 0 && !info->carrier)) /* context layers may number by feature */
            return zs_fail(err, ZS_EINVAL,
                           "source layer '%s' has no field '%s', which layer %s requires: "
                           "map one with --map %s=SOURCE_FIELD",
                           OGR_L_GetName(r->src), info->fields[i].name, info->name,
                           info->fields[i].name);
    }
    return ZS_OK;
}

/* ---- one feature --------------------------------------------------------- */

/* Text of a source field as UTF-8: a new string (free with CPLFree), or NULL
 * with *problem set. */
static char *field_text(import_run_state *r, OGRFeatureH f, int si, const char **problem)
{
    const char *raw = OGR_F_GetFieldAsString(f, si);
    char *s = r->recode ? CPLRecode(raw, r->opt->encoding, CPL_ENC_UTF8) : CPLStrdup(raw);
    if (!utf8_valid(s)) {
        *problem = "is not valid UTF-8 (give the file's encoding with --encoding, e.g. GBK)";
        CPLFree(s);
        return NULL;
    }
    return s;
}

static bool parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (end == s || *end || errno || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* Reads layer field i of feature f into v; texts are kept in strs for the
 * caller to free. Returns false with a reason in why. */
static bool read_value(import_run_state *r, OGRFeatureH f, size_t i, store_value *v, char **strs,
                       char *why, size_t whylen)
{
    const layer_field *lf = &r->info->fields[i];
    int si = r->source_field[i];
    memset(v, 0, sizeof *v);
    if (si < 0) {
        v->null = v->absent = true;
        return true;
    }
    if (!OGR_F_IsFieldSetAndNotNull(f, si)) {
        v->null = true;
        return true;
    }
    OGRFieldType type = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, si));
    const char *problem = NULL;
    char *text = field_text(r, f, si, &problem);
    if (!text) {
        snprintf(why, whylen, "field %s %s", lf->name, problem);
        return false;
    }
    strs[i] = text;
    char *t = trim(text);
    if (!*t && lf->type != FIELD_PHOTOS) {
        v->null = true; /* an empty cell is an unknown value */
        return true;
    }
    switch (lf->type) {
    case FIELD_REAL:
        if (type == OFTReal || type == OFTInteger || type == OFTInteger64)
            v->real = OGR_F_GetFieldAsDouble(f, si);
        else if (!parse_real(t, &v->real)) {
            snprintf(why, whylen, "field %s: '%s' is not a number", lf->name, t);
            return false;
        }
        if (v->real < 0 && strstr(lf->name, "_m") && !strstr(lf->name, "tax")) {
            snprintf(why, whylen, "field %s: %g is negative", lf->name, v->real);
            return false;
        }
        break;
    case FIELD_INT: {
        double d;
        if (!parse_real(t, &d) || d != floor(d) || fabs(d) > 9e15) {
            snprintf(why, whylen, "field %s: '%s' is not a whole number", lf->name, t);
            return false;
        }
        v->integer = (long long)d;
        break;
    }
    case FIELD_ENUM: {
        const char *code = layer_choice_code(lf, t);
        if (!code) {
            char choices[300] = "";
            size_t len = 0;
            for (const layer_choice *c = lf->choices; c->code; c++)
                len += (size_t)snprintf(choices + len, sizeof choices - len, "%s%s",
                                        c == lf->choices ? "" : ", ", c->code);
            snprintf(why, whylen, "field %s: '%s' is not one of %s", lf->name, t, choices);
            return false;
        }
        v->text = code;
        break;
    }
    case FIELD_LIST: {
        /* Lists are written with , ; 、 or ，; stored as "a,b" in codes. */
        size_t cap = strlen(t) * 2 + 64;
        char *out = CPLMalloc(cap);
        out[0] = '\0';
        char *save = NULL;
        for (char *p = t; *p; p++)
            if (*p == ';') *p = ',';
        for (char *tok = strtok_r(t, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            /* split further on the Chinese separators */
            char *sub = tok;
            while (sub) {
                char *sep1 = strstr(sub, "、"), *sep2 = strstr(sub, "，");
                char *sep = sep1 && (!sep2 || sep1 < sep2) ? sep1 : sep2;
                if (sep) *sep = '\0';
                char *item = trim(sub);
                if (*item) {
                    const char *code = layer_choice_code(lf, item);
                    if (!code) {
                        snprintf(why, whylen, "field %s: '%s' is not a known industry", lf->name,
                                 item);
                        CPLFree(out);
                        return false;
                    }
                    if (!strstr(out, code)) {
                        size_t len = strlen(out);
                        snprintf(out + len, cap - len, "%s%s", len ? "," : "", code);
                    }
                }
                sub = sep ? sep + 3 : NULL;
            }
        }
        CPLFree(strs[i]);
        strs[i] = out;
        v->text = out;
        v->null = !out[0];
        break;
    }
    default:
        v->text = t;
        break;
    }
    return true;
}

/* A point made from the lon/lat columns of a table without geometry; NULL
 * with why set when a cell is not a number. */
static OGRGeometryH point_from_columns(import_run_state *r, OGRFeatureH f, char *why, size_t whylen)
{
    double xy[2];
    int cols[2] = {r->lon_field, r->lat_field};
    for (int i = 0; i < 2; i++) {
        if (!OGR_F_IsFieldSetAndNotNull(f, cols[i])) return NULL;
        const char *text = OGR_F_GetFieldAsString(f, cols[i]);
        if (!parse_real(text, &xy[i])) {
            snprintf(why, whylen, "column %s: '%s' is not a number",
                     OGR_Fld_GetNameRef(OGR_F_GetFieldDefnRef(f, cols[i])), text);
            return NULL;
        }
    }
    OGRGeometryH g = OGR_G_CreateGeometry(wkbPoint);
    if (g) OGR_G_SetPoint_2D(g, 0, xy[0], xy[1]);
    return g;
}

/* Transforms every coordinate of g in place to EPSG:4490. */
static zs_status transform_geometry(import_run_state *r, OGRGeometryH g, zs_error *err)
{
    int parts = OGR_G_GetGeometryCount(g);
    if (parts > 0) {
        for (int i = 0; i < parts; i++)
            if (transform_geometry(r, OGR_G_GetGeometryRef(g, i), err)) return err->status;
        return ZS_OK;
    }
    int n = OGR_G_GetPointCount(g);
    if (n <= 0) return ZS_OK;
    double *xy = malloc((size_t)n * 2 * sizeof *xy);
    if (!xy) return zs_fail(err, ZS_ENOMEM, "out of memory");
    OGR_G_GetPoints(g, xy, 2 * sizeof(double), xy + 1, 2 * sizeof(double), NULL, 0);
    zs_status s = reproj_points(r->rp, xy, (size_t)n, err);
    if (!s) OGR_G_SetPoints(g, n, xy, 2 * sizeof(double), xy + 1, 2 * sizeof(double), NULL, 0);
    free(xy);
    return s;
}

/* Turns the source geometry into what the layer stores: areas for polygon
 * layers (closed lines become polygons, as DXF and KML often draw them), a
 * point for carriers known by location only, lines for roads. Takes
 * ownership of g; returns the geometry to use, or NULL with why. */
static OGRGeometryH conform(import_run_state *r, OGRGeometryH g, char *why, size_t whylen)
{
    if (OGR_G_HasCurveGeometry(g, FALSE)) {
        OGRGeometryH lin = OGR_G_GetLinearGeometry(g, 0, NULL);
        OGR_G_DestroyGeometry(g);
        g = lin;
        if (!g) {
            snprintf(why, whylen, "curved geometry could not be made linear");
            return NULL;
        }
    }
    OGR_G_FlattenTo2D(g);
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    if (OGR_G_IsEmpty(g)) {
        snprintf(why, whylen, "empty geometry");
        OGR_G_DestroyGeometry(g);
        return NULL;
    }
    if (r->info->geom == GEOM_LINE) {
        if (t == wkbLineString || t == wkbMultiLineString) return g;
        if (t == wkbGeometryCollection) return OGR_G_ForceToMultiLineString(g);
    } else {
        if (t == wkbPolygon || t == wkbMultiPolygon) return g;
        if (r->info->carrier && t == wkbPoint) return g;
        if (r->info->carrier && t == wkbMultiPoint && OGR_G_GetGeometryCount(g) == 1) {
            OGRGeometryH p = OGR_G_Clone(OGR_G_GetGeometryRef(g, 0));
            OGR_G_DestroyGeometry(g);
            return p;
        }
        if ((t == wkbLineString && OGR_G_IsRing(g)) || t == wkbMultiLineString ||
            t == wkbGeometryCollection) {
            OGRGeometryH poly =
                t == wkbGeometryCollection ? OGR_G_ForceToMultiPolygon(g) : OGR_G_ForceToPolygon(g);
            if (poly && !OGR_G_IsEmpty(poly) &&
                (wkbFlatten(OGR_G_GetGeometryType(poly)) == wkbPolygon ||
                 wkbFlatten(OGR_G_GetGeometryType(poly)) == wkbMultiPolygon))
                return poly;
            g = poly;
            t = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
        }
    }
    snprintf(why, whylen, "a %s cannot be stored in layer %s (%s)",
             g ? OGRGeometryTypeToName(t) : "geometry", r->info->name,
             r->info->geom == GEOM_LINE ? "lines" : "areas");
    if (g) OGR_G_DestroyGeometry(g);
    return NULL;
}

/* Checks that the reprojected geometry lies in China; a geometry outside
 * almost always means a wrong source CRS, and the message says so. */
static bool in_china(import_run_state *r, OGRGeometryH src_copy, OGRGeometryH g, char *why,
                     size_t whylen)
{
    OGREnvelope e;
    OGR_G_GetEnvelope(g, &e);
    if (e.MinX >= CHINA_WEST && e.MaxX <= CHINA_EAST && e.MinY >= CHINA_SOUTH &&
        e.MaxY <= CHINA_NORTH)
        return true;
    OGREnvelope raw;
    OGR_G_GetEnvelope(src_copy, &raw);
    snprintf(why, whylen,
             "coordinates (%.6g, %.6g) become lon %.6f lat %.6f, outside China: is the source CRS "
             "%s right?",
             raw.MinX, raw.MinY, e.MinX, e.MinY, reproj_source_name(r->rp));
    return false;
}

/* Copies one photo into the store's photo folder under a name made from its
 * content (so a photo imported twice is stored once) and makes its
 * thumbnail. name and thumb receive the file names. */
static zs_status import_photo(import_run_state *r, const char *file, char *name, char *thumb,
                              size_t len, zs_error *err)
{
    char path[4096];
    if (file[0] == '/')
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%s/%s", r->input_dir, file);
    int w, h;
    if (photo_probe(path, &w, &h, err)) return err->status;
    FILE *in = fopen(path, "rb");
    if (!in) return zs_fail(err, ZS_EIO, "cannot read photo '%s'", path);
    /* FNV-1a over the bytes: a stable name, not a security measure. */
    uint64_t hash = 1469598103934665603ull;
    unsigned char buf[65536];
    size_t n;
    char *data = NULL;
    size_t size = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        for (size_t i = 0; i < n; i++)
            hash = (hash ^ buf[i]) * 1099511628211ull;
        char *p = realloc(data, size + n);
        if (!p) {
            free(data);
            fclose(in);
            return zs_fail(err, ZS_ENOMEM, "out of memory reading photo '%s'", path);
        }
        data = p;
        memcpy(data + size, buf, n);
        size += n;
    }
    fclose(in);
    snprintf(name, len, "%016llx.jpg", (unsigned long long)hash);
    snprintf(thumb, len, "%016llx.thumb.jpg", (unsigned long long)hash);
    const char *dir = store_photo_dir(r->st);
    char dst[4096], tdst[4096];
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    snprintf(tdst, sizeof tdst, "%s/%s", dir, thumb);
    zs_status s = ZS_OK;
    if (!r->opt->dry_run && access(dst, F_OK) != 0) {
        FILE *out = fopen(dst, "wb");
        bool ok = out && remember_created(r, dst) && fwrite(data, 1, size, out) == size;
        if (out && fclose(out) != 0) ok = false;
        if (!ok) s = zs_fail(err, ZS_EIO, "cannot write photo '%s'", dst);
    }
    free(data);
    if (!s && !r->opt->dry_run && access(tdst, F_OK) != 0) {
        if (!remember_created(r, tdst)) return zs_fail(err, ZS_ENOMEM, "out of memory");
        s = photo_thumbnail(dst, tdst, 320, err);
    }
    return s;
}

/* Imports the photos field "file[|caption];..." of one carrier. */
static zs_status import_photos(import_run_state *r, const char *id, const char *list, zs_error *err)
{
    if (!r->opt->dry_run && mkdir(store_photo_dir(r->st), 0755) == 0)
        remember_created(r, store_photo_dir(r->st));
    if (store_clear_photos(r->st, id, err)) return err->status;
    char *copy = strdup(list);
    if (!copy) return zs_fail(err, ZS_ENOMEM, "out of memory");
    char *save = NULL;
    int sort = 0;
    zs_status s = ZS_OK;
    for (char *item = strtok_r(copy, ";", &save); item && !s; item = strtok_r(NULL, ";", &save)) {
        char *bar = strchr(item, '|');
        if (bar) *bar = '\0';
        char *file = trim(item);
        if (!*file) continue;
        char name[64], thumb[64];
        s = import_photo(r, file, name, thumb, sizeof name, err);
        if (s) break;
        store_photo p = {id, name, thumb, bar ? trim(bar + 1) : NULL, sort++};
        s = store_add_photo(r->st, &p, err);
    }
    free(copy);
    return s;
}

static bool remember_id(import_run_state *r, const char *id, long fid)
{
    if (r->nids == r->ids_cap) {
        size_t cap = r->ids_cap ? r->ids_cap * 2 : 1024;
        struct seen_id *p = realloc(r->ids, cap * sizeof *p);
        if (!p) return false;
        r->ids = p;
        r->ids_cap = cap;
    }
    r->ids[r->nids] = (struct seen_id){strdup(id), fid};
    return r->ids[r->nids++].id != NULL;
}

/* Imports one feature. ZS_OK: stored or (with why set) rejected; any other
 * status is a failure of the whole import. */
static zs_status import_feature(import_run_state *r, OGRFeatureH f, char *why, size_t whylen,
                                zs_error *err)
{
    const layer_info *info = r->info;
    store_value values[MAX_FIELDS];
    char *strs[MAX_FIELDS] = {0};
    long fid = (long)OGR_F_GetFID(f);
    char fallback_id[64];
    zs_status s = ZS_OK;
    unsigned char *wkb = NULL, *fixed = NULL;
    OGRGeometryH g = NULL, raw = NULL;
    bool ok = true;
    for (size_t i = 0; i < info->nfields && ok; i++)
        ok = read_value(r, f, i, &values[i], strs, why, whylen);
    if (!ok) goto done;
    if (values[0].null && !info->carrier && r->source_field[0] < 0) {
        snprintf(fallback_id, sizeof fallback_id, "%s-%ld", info->name, fid);
        values[0].null = values[0].absent = false;
        values[0].text = fallback_id;
    }
    if (values[0].null) {
        snprintf(why, whylen, "no id");
        goto done;
    }
    int kind = layer_field_index(info, "kind");
    if (kind >= 0 && values[kind].null) {
        snprintf(why, whylen, "field kind is empty (building or factory)");
        goto done;
    }

    g = r->lon_field >= 0 ? point_from_columns(r, f, why, whylen) : OGR_F_StealGeometry(f);
    if (!g && why[0]) goto done;
    if (!g) {
        snprintf(why, whylen, "no geometry");
        goto done;
    }
    g = conform(r, g, why, whylen);
    if (!g) goto done;
    raw = OGR_G_Clone(g);
    if (reproj_source_is_geographic(r->rp)) {
        OGREnvelope e;
        OGR_G_GetEnvelope(g, &e);
        if (fabs(e.MinX) > 180 || fabs(e.MaxX) > 180 || fabs(e.MinY) > 90 || fabs(e.MaxY) > 90) {
            snprintf(why, whylen,
                     "coordinates (%.10g, %.10g) are not degrees, but the source CRS %s is "
                     "geographic: give the projected CRS with --s_srs (e.g. EPSG:4548)",
                     e.MinX, e.MinY, reproj_source_name(r->rp));
            goto done;
        }
    }
    zs_error terr = {0};
    if (transform_geometry(r, g, &terr)) {
        snprintf(why, whylen, "%.900s", terr.msg);
        goto done;
    }
    if (!in_china(r, raw, g, why, whylen)) goto done;

    size_t len = (size_t)OGR_G_WkbSize(g);
    wkb = malloc(len);
    if (!wkb) {
        s = zs_fail(err, ZS_ENOMEM, "out of memory");
        goto done;
    }
    OGR_G_ExportToWkb(g, wkbNDR, wkb);
    size_t fixed_len = 0;
    zs_error gerr = {0};
    if (geomfix_check(r->gf, wkb, len, &fixed, &fixed_len, &gerr)) {
        snprintf(why, whylen, "invalid geometry: %.900s", gerr.msg);
        goto done;
    }
    if (fixed) {
        report(r, "feature %ld (id %s): repaired: %s", fid, values[0].text, gerr.msg);
        r->rep->repaired++;
    }
    bool inserted = false;
    zs_error uerr = {0};
    if (store_upsert(r->st, info->id, values, fixed ? fixed : wkb, fixed ? fixed_len : len,
                     &inserted, &uerr)) {
        if (uerr.status != ZS_EINVAL) {
            s = zs_fail(err, uerr.status, "%s", uerr.msg);
            goto done;
        }
        snprintf(why, whylen, "%.900s", uerr.msg);
        goto done;
    }
    if (inserted)
        r->rep->inserted++;
    else
        r->rep->updated++;
    if (!remember_id(r, values[0].text, fid)) {
        s = zs_fail(err, ZS_ENOMEM, "out of memory");
        goto done;
    }
    int photos = layer_field_index(info, "photos");
    if (photos >= 0 && !values[photos].null) {
        zs_error perr = {0};
        if (import_photos(r, values[0].text, values[photos].text, &perr)) {
            if (perr.status == ZS_ENOMEM) {
                s = zs_fail(err, perr.status, "%s", perr.msg);
                goto done;
            }
            snprintf(why, whylen, "%.900s", perr.msg);
        }
    }
done:
    if (why[0]) {
        report(r, "feature %ld (id %s): rejected: %s", fid,
               !values[0].null && values[0].text ? values[0].text : "?", why);
    }
    for (size_t i = 0; i < info->nfields; i++)
        CPLFree(strs[i]);
    if (g) OGR_G_DestroyGeometry(g);
    if (raw) OGR_G_DestroyGeometry(raw);
    free(wkb);
    free(fixed);
    return s;
}

static int compare_ids(const void *a, const void *b)
{
    const struct seen_id *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->fid > y->fid) - (x->fid < y->fid);
}

/* Refuses an id given to two features of the same import: the second would
 * silently overwrite the first. */
static zs_status check_duplicate_ids(import_run_state *r, zs_error *err)
{
    if (r->nids < 2) return ZS_OK;
    qsort(r->ids, r->nids, sizeof *r->ids, compare_ids);
    for (size_t i = 1; i < r->nids; i++) {
        if (strcmp(r->ids[i - 1].id, r->ids[i].id) == 0)
            return zs_fail(err, ZS_EINVAL, "id '%s' is given to two features (%ld and %ld)",
                           r->ids[i].id, r->ids[i - 1].fid, r->ids[i].fid);
    }
    return ZS_OK;
}

static zs_status run_features(import_run_state *r, zs_error *err)
{
    long rejected = 0;
    OGRFeatureH f;
    OGR_L_ResetReading(r->src);
    while ((f = OGR_L_GetNextFeature(r->src)) != NULL) {
        char why[1024] = "";
        r->rep->features++;
        zs_status s = import_feature(r, f, why, sizeof why, err);
        OGR_F_Destroy(f);
        if (s) return s;
        if (why[0]) rejected++;
    }
    if (CPLGetLastErrorType() == CE_Failure && r->rep->features == 0)
        return zs_fail(err, ZS_EIO, "reading '%s' failed: %s", r->opt->input, CPLGetLastErrorMsg());
    if (r->rep->features == 0)
        return zs_fail(err, ZS_EINVAL, "input '%s' layer '%s' has no features", r->opt->input,
                       OGR_L_GetName(r->src));
    if (rejected && !r->opt->skip_invalid)
        return zs_fail(err, ZS_EINVAL,
                       "%ld of %ld features rejected, nothing imported (see the report; "
                       "--skip-invalid imports the rest)",
                       rejected, r->rep->features);
    r->rep->skipped = rejected;
    if (r->rep->inserted + r->rep->updated == 0)
        return zs_fail(err, ZS_EINVAL, "every feature of '%s' was rejected", r->opt->input);
    return check_duplicate_ids(r, err);
}

zs_status import_run(store *st, const import_options *opt, import_report *rep, zs_error *err)
{
    pthread_once(&gdal_once, gdal_start);
    memset(rep, 0, sizeof *rep);
    import_run_state r = {.opt = opt, .info = layer_get(opt->layer), .st = st, .rep = rep};
    if (!r.info) return zs_fail(err, ZS_EINVAL, "unknown layer");
    char *slash = strrchr(opt->input, '/');
    r.input_dir = slash ? strndup(opt->input, (size_t)(slash - opt->input)) : strdup(".");
    r.gf = geomfix_create();
    zs_status s = ZS_OK;
    bool began = false;
    if (!r.input_dir || !r.gf) s = zs_fail(err, ZS_ENOMEM, "out of memory");
    if (!s) s = open_source(&r, err);
    if (!s) s = open_crs(&r, err);
    if (!s) {
        rep->source_crs = strdup(opt->s_srs ? opt->s_srs : reproj_source_name(r.rp));
        s = map_fields(&r, err);
    }
    if (!s) s = store_begin(st, err);
    began = !s;
    if (!s) s = run_features(&r, err);
    if (!s) {
        store_import rec = {r.info->name,    opt->input,    OGR_L_GetName(r.src),
                            rep->source_crs, rep->features, rep->inserted,
                            rep->updated,    rep->repaired, rep->skipped};
        s = store_record_import(st, &rec, err);
    }
    if (!s && !opt->dry_run) {
        s = store_commit(st, err);
        began = false;
    }
    if (began) store_rollback(st);
    if (s || opt->dry_run) {
        /* Nothing committed: take back the photo files this run wrote,
         * newest first so that a folder it made is empty when removed. */
        for (size_t i = r.ncreated; i-- > 0;)
            remove(r.created[i]);
    }
    for (size_t i = 0; i < r.ncreated; i++)
        free(r.created[i]);
    free(r.created);
    for (size_t i = 0; i < r.nids; i++)
        free(r.ids[i].id);
    free(r.ids);
    if (r.report_lines > REPORT_MAX_LINES) {
        long more = r.report_lines - REPORT_MAX_LINES;
        r.report_lines = 0;
        report(&r, "... and %ld more", more);
    }
    reproj_destroy(r.rp);
    geomfix_destroy(r.gf);
    if (r.ds) GDALClose(r.ds);
    free(r.input_dir);
    return s;
}
