#include "snapshot.h"

#include "mercator.h"
#include "profile.h"
#include "wkb.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- string arena ----------------------------------------------------------
 * Every string of a snapshot (ids, names, profiles) lives in a few large
 * blocks: one free per block, and the bytes held are known exactly. */

#define ARENA_BLOCK (64 * 1024)

typedef struct block {
    struct block *next;
    size_t size, used;
    char data[];
} block;

typedef struct {
    block *head; /* the block being filled; large strings get their own, behind it */
    size_t bytes;
} arena;

static char *arena_alloc(arena *a, size_t n)
{
    block *h = a->head;
    if (h && h->size - h->used >= n) {
        char *p = h->data + h->used;
        h->used += n;
        return p;
    }
    size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
    block *b = malloc(sizeof *b + size);
    if (!b) return NULL;
    b->size = size;
    b->used = n;
    if (h && size == n) { /* a large string: keep filling the current block */
        b->next = h->next;
        h->next = b;
    } else {
        b->next = h;
        a->head = b;
    }
    a->bytes += sizeof *b + size;
    return b->data;
}

/* A copy of n bytes of s plus a NUL in a; NULL when out of memory. */
static const char *arena_strn(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void arena_free(arena *a)
{
    for (block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
    a->bytes = 0;
}

/* ---- the snapshot ---------------------------------------------------------- */

struct snapshot {
    atomic_size_t refs;
    int64_t data_version;
    snap_layer layers[LAYER_COUNT];
    const snap_carrier **by_id; /* all carriers, sorted by id (strcmp) */
    size_t ncarriers;
    arena strings;
    size_t memory; /* bytes, counted as the arrays are finished */
};

static void snapshot_free(snapshot *s)
{
    if (!s) return;
    for (int i = 0; i < LAYER_COUNT; i++) {
        snap_layer *l = &s->layers[i];
        free((void *)l->features);
        free((void *)l->carriers);
        free((void *)l->contexts);
        free((void *)l->parts);
        free((void *)l->xy);
        free((void *)l->search_text);
        free((void *)l->search_start);
        free((void *)l->filter_rows);
        sidx_destroy((sidx *)l->index);
    }
    free((void *)s->by_id);
    arena_free(&s->strings);
    free(s);
}

snapshot *snapshot_retain(snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void snapshot_release(snapshot *s)
{
    /* acq_rel: the freeing thread sees every other holder's reads finished. */
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) snapshot_free(s);
}

int64_t snapshot_data_version(const snapshot *s)
{
    return s->data_version;
}

const snap_layer *snapshot_layer(const snapshot *s, layer_id id)
{
    return id < LAYER_COUNT ? &s->layers[id] : NULL;
}

size_t snapshot_carrier_count(const snapshot *s)
{
    return s->ncarriers;
}

size_t snapshot_memory(const snapshot *s)
{
    return s->memory + s->strings.bytes;
}

const snap_carrier *snapshot_carrier_by_id(const snapshot *s, const char *id)
{
    if (!id) return NULL;
    size_t lo = 0, hi = s->ncarriers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->by_id[mid]->id, id);
        if (c == 0) return s->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

typedef struct {
    const snap_layer *layer;
    snap_visit_fn visit;
    void *ctx;
} query_ctx;

static bool query_visit(uint32_t item, void *ctx)
{
    query_ctx *q = ctx;
    return q->visit(q->layer, item, q->ctx);
}

size_t snapshot_query(const snapshot *s, layer_id layer, sidx_box box, snap_visit_fn visit,
                      void *ctx)
{
    if (layer >= LAYER_COUNT) return 0;
    query_ctx q = {&s->layers[layer], visit, ctx};
    return sidx_search(s->layers[layer].index, box, query_visit, &q);
}

/* ---- loading --------------------------------------------------------------- */

/* Makes room for one more element in *p (capacity *cap, used n); false when
 * out of memory. Growth is by half again, to limit the peak while loading. */
static bool grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return true;
    size_t want = *cap < 64 ? 64 : *cap + *cap / 2;
    if (want > SIZE_MAX / elem) return false;
    void *q = realloc(*p, want * elem);
    if (!q) return false;
    *p = q;
    *cap = want;
    return true;
}

/* Gives back the unused tail of an array of n elements (keeps it when
 * realloc fails: the array is only larger than needed). */
static void *shrink(void *p, size_t n, size_t elem, size_t *cap)
{
    if (n == 0) {
        free(p);
        *cap = 0;
        return NULL;
    }
    void *q = realloc(p, n * elem);
    if (!q) return p;
    *cap = n;
    return q;
}

/* Field indices of the layer being read; -1 where the layer has none. */
typedef struct {
    int id, name_zh, name_en, board, status, park, land_use, industries, kind, road_class;
    int area_m2, gross_area_m2, vacant_area_m2, rent_day, rent_month, clear_height_m, price,
        enterprises, annual_tax_wan;
} field_ix;

typedef struct {
    const char *name_zh, *name_en;
} board;

typedef struct {
    const char *carrier_id, *file, *thumb, *caption;
    size_t seq; /* read order, which is display order within a carrier */
} photo;

typedef struct {
    snapshot *s;
    source *src;
    zs_error *err;
    zs_status status;

    /* the layer being read */
    layer_id layer;
    const layer_info *info;
    field_ix fx;
    snap_feature *features;
    snap_carrier *carriers;
    snap_context *contexts;
    snap_part *parts;
    snap_xy *xy;
    size_t nfeatures, features_cap, attrs_cap, nparts, parts_cap, npoints, xy_cap;

    wkb_geom geom;
    arena scratch; /* boards and photos, freed after the load */
    board *boards;
    size_t nboards, boards_cap;
    photo *photos;
    size_t nphotos, photos_cap;
    profile_photo *pphotos; /* one carrier's, reused */
    size_t pphotos_cap;
    const snap_carrier **parks; /* the parks by id, once the parks layer is read */
    size_t nparks;
} loader;

static bool fail(loader *ld, zs_status status)
{
    ld->status = status;
    return false;
}

static bool out_of_memory(loader *ld)
{
    return fail(ld, zs_fail(ld->err, ZS_ENOMEM, "out of memory loading layer %s", ld->info->name));
}

static const char *value_text(const store_row *row, int i)
{
    return i >= 0 && !row->values[i].null && !row->values[i].absent ? row->values[i].text : NULL;
}

static double value_number(const loader *ld, const store_row *row, int i)
{
    if (i < 0 || row->values[i].null || row->values[i].absent) return NAN;
    return ld->info->fields[i].type == FIELD_INT ? (double)row->values[i].integer
                                                 : row->values[i].real;
}

/* A string for the snapshot: NULL stays NULL; false when out of memory. */
static bool keep(loader *ld, const char *s, const char **out)
{
    *out = NULL;
    if (!s) return true;
    *out = arena_strn(&ld->s->strings, s, strlen(s));
    return *out || out_of_memory(ld);
}

/* The static code for raw in the field's choices, else a copy of raw. */
static bool keep_code(loader *ld, int field, const char *raw, const char **out)
{
    const char *code = field >= 0 ? layer_choice_code(&ld->info->fields[field], raw) : NULL;
    if (code) {
        *out = code;
        return true;
    }
    return keep(ld, raw, out);
}

/* qsort, which must not see a NULL base even for no elements. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1) qsort(base, n, size, cmp);
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_board(const void *a, const void *b)
{
    return cmp_str(((const board *)a)->name_zh, ((const board *)b)->name_zh);
}

static int cmp_photo(const void *a, const void *b)
{
    const photo *x = a, *y = b;
    int c = cmp_str(x->carrier_id, y->carrier_id);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_carrier(const void *a, const void *b)
{
    return strcmp((*(const snap_carrier *const *)a)->id, (*(const snap_carrier *const *)b)->id);
}

/* The park with this id among the parks read, or NULL. */
static const snap_carrier *find_park(const loader *ld, const char *id)
{
    size_t lo = 0, hi = ld->nparks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ld->parks[mid]->id, id);
        if (c == 0) return ld->parks[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const char *find_board_en(const loader *ld, const char *name_zh)
{
    if (ld->nboards == 0) return NULL;
    board key = {name_zh, NULL};
    const board *b = bsearch(&key, ld->boards, ld->nboards, sizeof *b, cmp_board);
    return b ? b->name_en : NULL;
}

static bool read_board(const char *name_zh, const char *name_en, void *ctx)
{
    loader *ld = ctx;
    if (!name_zh) return true;
    if (!grow((void **)&ld->boards, &ld->boards_cap, ld->nboards, sizeof *ld->boards))
        return fail(ld, zs_fail(ld->err, ZS_ENOMEM, "out of memory reading boards"));
    board *b = &ld->boards[ld->nboards];
    b->name_zh = arena_strn(&ld->scratch, name_zh, strlen(name_zh));
    b->name_en = name_en ? arena_strn(&ld->scratch, name_en, strlen(name_en)) : NULL;
    if (!b->name_zh || (name_en && !b->name_en))
        return fail(ld, zs_fail(ld->err, ZS_ENOMEM, "out of memory reading boards"));
    ld->nboards++;
    return true;
}

static const char *scratch_str(loader *ld, const char *s, bool *ok)
{
    if (!s) return NULL;
    const char *p = arena_strn(&ld->scratch, s, strlen(s));
    if (!p) *ok = false;
    return p;
}

static bool read_photo(const store_photo *p, void *ctx)
{
    loader *ld = ctx;
    if (!p->carrier_id || !p->file) return true; /* the schema forbids both */
    if (!grow((void **)&ld->photos, &ld->photos_cap, ld->nphotos, sizeof *ld->photos))
        return fail(ld, zs_fail(ld->err, ZS_ENOMEM, "out of memory reading photos"));
    bool ok = true;
    photo *ph = &ld->photos[ld->nphotos];
    ph->carrier_id = scratch_str(ld, p->carrier_id, &ok);
    ph->file = scratch_str(ld, p->file, &ok);
    ph->thumb = scratch_str(ld, p->thumb, &ok);
    ph->caption = scratch_str(ld, p->caption, &ok);
    ph->seq = ld->nphotos;
    if (!ok) return fail(ld, zs_fail(ld->err, ZS_ENOMEM, "out of memory reading photos"));
    ld->nphotos++;
    return true;
}

/* The photos of carrier id, in display order, into ld->pphotos. */
static bool carrier_photos(loader *ld, const char *id, size_t *n)
{
    *n = 0;
    size_t lo = 0, hi = ld->nphotos; /* first photo with carrier_id >= id */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ld->photos[mid].carrier_id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < ld->nphotos && strcmp(ld->photos[i].carrier_id, id) == 0; i++) {
        if (!grow((void **)&ld->pphotos, &ld->pphotos_cap, *n, sizeof *ld->pphotos))
            return out_of_memory(ld);
        ld->pphotos[(*n)++] =
            (profile_photo){ld->photos[i].file, ld->photos[i].thumb, ld->photos[i].caption};
    }
    return true;
}

/* The area-weighted centroid of the rings in lon/lat (planar, relative to
 * the first point for precision); the mean of the points when there is no
 * area (points, lines, collapsed rings). NaN for an empty geometry. */
static void centroid(const wkb_geom *g, double *lon, double *lat)
{
    *lon = *lat = NAN;
    if (g->nxy == 0) return;
    double ox = g->xy[0].x, oy = g->xy[0].y, wsum = 0, cx = 0, cy = 0;
    for (size_t p = 0; p < g->nparts; p++) {
        const wkb_part *part = &g->parts[p];
        if (part->role != WKB_PART_OUTER && part->role != WKB_PART_HOLE) continue;
        const wkb_xy *v = g->xy + part->first;
        double a = 0, sx = 0, sy = 0;
        for (uint32_t i = 0; i < part->count; i++) {
            uint32_t j = i + 1 == part->count ? 0 : i + 1;
            double x0 = v[i].x - ox, y0 = v[i].y - oy, x1 = v[j].x - ox, y1 = v[j].y - oy;
            double cross = x0 * y1 - x1 * y0;
            a += cross;
            sx += (x0 + x1) * cross;
            sy += (y0 + y1) * cross;
        }
        if (a == 0) continue;
        /* ring centroid: sx / 3a (a is twice the signed area); weight: the
         * ring's area, negative for holes whatever their orientation */
        double w = fabs(a) * (part->role == WKB_PART_HOLE ? -1 : 1);
        cx += w * sx / (3 * a);
        cy += w * sy / (3 * a);
        wsum += w;
    }
    if (wsum > 0) {
        *lon = ox + cx / wsum;
        *lat = oy + cy / wsum;
        return;
    }
    double mx = 0, my = 0;
    for (size_t i = 0; i < g->nxy; i++) {
        mx += g->xy[i].x - ox;
        my += g->xy[i].y - oy;
    }
    *lon = ox + mx / (double)g->nxy;
    *lat = oy + my / (double)g->nxy;
}

/* Appends the parsed geometry to the layer's arrays, projected, and fills
 * the feature. */
static bool add_geometry(loader *ld, snap_feature *f, const char *id)
{
    const wkb_geom *g = &ld->geom;
    if (ld->nparts + g->nparts > UINT32_MAX || ld->npoints + g->nxy > UINT32_MAX)
        return fail(ld, zs_fail(ld->err, ZS_ENOMEM, "layer %s has more than 2^32 parts or points",
                                ld->info->name));
    f->first_part = (uint32_t)ld->nparts;
    f->nparts = (uint32_t)g->nparts;
    f->geom = SNAP_GEOM_EMPTY;
    f->bbox = (sidx_box){NAN, NAN, NAN, NAN};
    if (g->nxy == 0) return true;

    for (size_t i = 0; i < g->nxy; i++) {
        double lon = g->xy[i].x, lat = g->xy[i].y;
        if (lon < -180 || lon > 180 || lat < -90 || lat > 90)
            return fail(ld, zs_fail(ld->err, ZS_EGEOM,
                                    "%s '%s': point (%g, %g) is not lon/lat in degrees"
                                    " (projected coordinates stored by mistake?)",
                                    ld->info->name, id, lon, lat));
    }
    while (ld->parts_cap - ld->nparts < g->nparts)
        if (!grow((void **)&ld->parts, &ld->parts_cap, ld->parts_cap, sizeof *ld->parts))
            return out_of_memory(ld);
    while (ld->xy_cap - ld->npoints < g->nxy)
        if (!grow((void **)&ld->xy, &ld->xy_cap, ld->xy_cap, sizeof *ld->xy))
            return out_of_memory(ld);

    sidx_box bb = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    snap_xy *out = ld->xy + ld->npoints;
    for (size_t i = 0; i < g->nxy; i++) {
        snap_xy p = {merc_x(g->xy[i].x), merc_y(g->xy[i].y)};
        out[i] = p;
        if (p.x < bb.minx) bb.minx = p.x;
        if (p.x > bb.maxx) bb.maxx = p.x;
        if (p.y < bb.miny) bb.miny = p.y;
        if (p.y > bb.maxy) bb.maxy = p.y;
    }
    for (size_t i = 0; i < g->nparts; i++) {
        const wkb_part *wp = &g->parts[i];
        snap_part_role role = (snap_part_role)wp->role; /* the enums agree, see below */
        snap_geom kind = role == SNAP_PART_POINT  ? SNAP_GEOM_POINT
                         : role == SNAP_PART_LINE ? SNAP_GEOM_LINE
                                                  : SNAP_GEOM_POLYGON;
        if (kind > f->geom) f->geom = kind;
        ld->parts[ld->nparts + i] =
            (snap_part){(uint32_t)(ld->npoints + wp->first), wp->count, role};
    }
    ld->nparts += g->nparts;
    ld->npoints += g->nxy;
    f->bbox = bb;
    return true;
}

_Static_assert((int)SNAP_PART_POINT == (int)WKB_PART_POINT &&
                   (int)SNAP_PART_LINE == (int)WKB_PART_LINE &&
                   (int)SNAP_PART_OUTER == (int)WKB_PART_OUTER &&
                   (int)SNAP_PART_HOLE == (int)WKB_PART_HOLE,
               "snap_part_role mirrors wkb_part_role");

static uint32_t industry_mask(const loader *ld, const char *list)
{
    uint32_t mask = 0;
    if (!list || ld->fx.industries < 0) return mask;
    const layer_field *f = &ld->info->fields[ld->fx.industries];
    char code[64];
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n < sizeof code) {
            memcpy(code, p, n);
            code[n] = '\0';
            const char *c = layer_choice_code(f, code);
            for (unsigned i = 0; c && i < 32 && layer_industry_choices[i].code; i++)
                if (layer_industry_choices[i].code == c) mask |= 1u << i;
        }
        p += n;
        if (*p) p++;
    }
    return mask;
}

/* Bit i when code is choice i (codes are the choices' own pointers). */
static uint32_t choice_mask(const layer_choice *choices, const char *code)
{
    for (unsigned i = 0; code && i < 32 && choices[i].code; i++)
        if (strcmp(choices[i].code, code) == 0) return 1u << i;
    return 0;
}

static uint32_t kind_mask(const char *kind)
{
    static const char *const kinds[] = {"park", "parcel", "building", "factory"};
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(kinds[i], kind) == 0) return 1u << i;
    return 0;
}

static bool add_carrier(loader *ld, const store_row *row, const char *id, uint32_t index)
{
    snap_carrier *c = &ld->carriers[index];
    const field_ix *fx = &ld->fx;
    memset(c, 0, sizeof *c);
    c->layer = ld->layer;
    c->feature = index;
    c->version = row->version;
    if (ld->layer == LAYER_PARKS) {
        c->kind = "park";
    } else if (ld->layer == LAYER_PARCELS) {
        c->kind = "parcel";
    } else {
        c->kind = layer_choice_code(&ld->info->fields[fx->kind], value_text(row, fx->kind));
        if (!c->kind)
            return fail(ld,
                        zs_fail(ld->err, ZS_EINVAL,
                                "buildings '%s': kind '%s' is neither building nor factory", id,
                                value_text(row, fx->kind) ? value_text(row, fx->kind) : "(null)"));
    }
    const char *industries = value_text(row, fx->industries);
    if (!keep(ld, id, &c->id) || !keep(ld, value_text(row, fx->name_zh), &c->name_zh) ||
        !keep(ld, value_text(row, fx->name_en), &c->name_en) ||
        !keep_code(ld, fx->status, value_text(row, fx->status), &c->status) ||
        !keep_code(ld, fx->land_use, value_text(row, fx->land_use), &c->land_use) ||
        !keep(ld, industries, &c->industries))
        return false;
    c->industry_mask = industry_mask(ld, industries);
    c->area_m2 = value_number(ld, row, fx->area_m2);
    c->gross_area_m2 = value_number(ld, row, fx->gross_area_m2);
    c->vacant_area_m2 = value_number(ld, row, fx->vacant_area_m2);
    c->rent_yuan_m2_day = value_number(ld, row, fx->rent_day);
    c->rent_yuan_m2_month = value_number(ld, row, fx->rent_month);
    c->clear_height_m = value_number(ld, row, fx->clear_height_m);
    c->price_wan_per_mu = value_number(ld, row, fx->price);
    c->enterprises = value_number(ld, row, fx->enterprises);
    c->annual_tax_wan = value_number(ld, row, fx->annual_tax_wan);
    centroid(&ld->geom, &c->lon, &c->lat);
    c->x = isfinite(c->lon) ? merc_x(c->lon) : NAN;
    c->y = isfinite(c->lat) ? merc_y(c->lat) : NAN;

    /* The park: its id string is shared with the park's own. */
    const char *park_ref = value_text(row, fx->park);
    const snap_carrier *park = park_ref ? find_park(ld, park_ref) : NULL;
    if (park)
        c->park_id = park->id;
    else if (!keep(ld, park_ref, &c->park_id))
        return false;

    size_t nphotos;
    if (!carrier_photos(ld, id, &nphotos)) return false;
    profile_park pp = {park_ref, park ? park->name_zh : NULL, park ? park->name_en : NULL};
    const char *board_zh = value_text(row, fx->board);
    profile_input in = {
        .layer = ld->layer,
        .values = row->values,
        .version = row->version,
        .lon = c->lon,
        .lat = c->lat,
        .park = park ? &pp : NULL,
        .board_en = board_zh ? find_board_en(ld, board_zh) : NULL,
        .photos = ld->pphotos,
        .nphotos = nphotos,
    };
    char *json;
    size_t len;
    zs_status s = profile_build(&in, &json, &len, ld->err);
    if (s) return fail(ld, s);
    c->profile_json = arena_strn(&ld->s->strings, json, len);
    c->profile_len = len;
    free(json);
    return c->profile_json || out_of_memory(ld);
}

static bool add_context(loader *ld, const store_row *row, const char *id, uint32_t index)
{
    snap_context *c = &ld->contexts[index];
    c->version = row->version;
    return keep(ld, id, &c->id) && keep(ld, value_text(row, ld->fx.name_zh), &c->name_zh) &&
           keep(ld, value_text(row, ld->fx.name_en), &c->name_en) &&
           keep(ld, value_text(row, ld->fx.road_class), &c->road_class);
}

static bool read_row(const store_row *row, void *ctx)
{
    loader *ld = ctx;
    const char *id = value_text(row, ld->fx.id);
    if (!id || !id[0])
        return fail(ld,
                    zs_fail(ld->err, ZS_EINVAL, "a feature of layer %s has no id", ld->info->name));
    if (ld->nfeatures >= UINT32_MAX)
        return fail(ld, zs_fail(ld->err, ZS_ENOMEM, "layer %s has more than 2^32 features",
                                ld->info->name));
    bool carrier = ld->info->carrier;
    size_t n = ld->nfeatures;
    if (!grow((void **)&ld->features, &ld->features_cap, n, sizeof *ld->features) ||
        !(carrier ? grow((void **)&ld->carriers, &ld->attrs_cap, n, sizeof *ld->carriers)
                  : grow((void **)&ld->contexts, &ld->attrs_cap, n, sizeof *ld->contexts)))
        return out_of_memory(ld);
    if (!row->wkb || row->wkb_len == 0)
        return fail(ld, zs_fail(ld->err, ZS_EGEOM, "%s '%s' has no geometry", ld->info->name, id));

    zs_error perr;
    zs_status s = wkb_parse(row->wkb, row->wkb_len, &ld->geom, &perr);
    if (s) return fail(ld, zs_fail(ld->err, s, "%s '%s': %s", ld->info->name, id, perr.msg));
    uint32_t index = (uint32_t)n;
    snap_feature *f = &ld->features[index];
    if (!add_geometry(ld, f, id)) return false;
    if (!(carrier ? add_carrier(ld, row, id, index) : add_context(ld, row, id, index)))
        return false;
    ld->nfeatures++;
    return true;
}

/* Appends s (may be NULL) folded and a NUL to text at *len. */
static void put_search(char *text, size_t *len, const char *s)
{
    for (; s && *s; s++)
        text[(*len)++] = *s >= 'A' && *s <= 'Z' ? (char)(*s + ('a' - 'A')) : *s;
    text[(*len)++] = '\0';
}

static snap_filter_row filter_row(const loader *ld, const snap_carrier *c)
{
    uint32_t industries = c->industry_mask;
    if (!industries && c->park_id) {
        const snap_carrier *park = find_park(ld, c->park_id);
        if (park) industries = park->industry_mask;
    }
    return (snap_filter_row){
        .kind_mask = kind_mask(c->kind),
        .status_mask = choice_mask(layer_status_choices, c->status),
        .land_use_mask = choice_mask(layer_land_use_choices, c->land_use),
        .industry_mask = industries,
        .park_key = c->park_id                     ? snap_park_key(c->park_id)
                    : strcmp(c->kind, "park") == 0 ? snap_park_key(c->id)
                                                   : 0,
        .offered_area_m2 = !isnan(c->vacant_area_m2) ? c->vacant_area_m2 : c->area_m2,
        .rent_yuan_m2_month =
            !isnan(c->rent_yuan_m2_month) ? c->rent_yuan_m2_month : c->rent_yuan_m2_day * 30.0,
        .clear_height_m = c->clear_height_m,
    };
}

/* What searches read of a carrier layer: its filter rows and search text,
 * and whether its ids are in order (snap_layer). */
static zs_status build_search(loader *ld, snap_layer *l)
{
    size_t total = 0;
    for (uint32_t i = 0; i < l->nfeatures; i++) {
        const snap_carrier *c = &l->carriers[i];
        total += strlen(c->id) + (c->name_zh ? strlen(c->name_zh) : 0) +
                 (c->name_en ? strlen(c->name_en) : 0) + 3;
    }
    if (total > UINT32_MAX)
        return zs_fail(ld->err, ZS_ENOMEM, "%s: too much text to search", ld->info->name);
    char *text = malloc(total ? total : 1);
    uint32_t *start = malloc(((size_t)l->nfeatures + 1) * sizeof *start);
    snap_filter_row *rows = malloc((l->nfeatures ? l->nfeatures : 1) * sizeof *rows);
    if (!text || !start || !rows) {
        free(text);
        free(start);
        free(rows);
        return zs_fail(ld->err, ZS_ENOMEM, "out of memory indexing %s", ld->info->name);
    }
    size_t len = 0;
    for (uint32_t i = 0; i < l->nfeatures; i++) {
        const snap_carrier *c = &l->carriers[i];
        rows[i] = filter_row(ld, c);
        start[i] = (uint32_t)len;
        put_search(text, &len, c->id);
        put_search(text, &len, c->name_zh);
        put_search(text, &len, c->name_en);
    }
    start[l->nfeatures] = (uint32_t)len;
    l->ids_sorted = true;
    for (uint32_t i = 1; i < l->nfeatures && l->ids_sorted; i++)
        l->ids_sorted = strcmp(l->carriers[i - 1].id, l->carriers[i].id) < 0;
    l->search_text = text;
    l->search_start = start;
    l->filter_rows = rows;
    ld->s->memory +=
        total + ((size_t)l->nfeatures + 1) * sizeof *start + l->nfeatures * sizeof *rows;
    return ZS_OK;
}

/* Finishes the layer being read: trims its arrays, builds its index and
 * hands everything to the snapshot. */
static zs_status finish_layer(loader *ld)
{
    snapshot *s = ld->s;
    snap_layer *l = &s->layers[ld->layer];
    size_t n = ld->nfeatures;
    size_t attr_size = ld->info->carrier ? sizeof(snap_carrier) : sizeof(snap_context);

    l->id = ld->layer;
    l->nfeatures = (uint32_t)n;
    l->features = shrink(ld->features, n, sizeof *ld->features, &ld->features_cap);
    if (ld->info->carrier)
        l->carriers = shrink(ld->carriers, n, attr_size, &ld->attrs_cap);
    else
        l->contexts = shrink(ld->contexts, n, attr_size, &ld->attrs_cap);
    l->nparts = (uint32_t)ld->nparts;
    l->parts = shrink(ld->parts, ld->nparts, sizeof *ld->parts, &ld->parts_cap);
    l->npoints = (uint32_t)ld->npoints;
    l->xy = shrink(ld->xy, ld->npoints, sizeof *ld->xy, &ld->xy_cap);
    s->memory += ld->features_cap * sizeof *ld->features + ld->attrs_cap * attr_size +
                 ld->parts_cap * sizeof *ld->parts + ld->xy_cap * sizeof *ld->xy;
    ld->features = NULL;
    ld->carriers = NULL;
    ld->contexts = NULL;
    ld->parts = NULL;
    ld->xy = NULL;

    sidx_box *boxes = malloc((n ? n : 1) * sizeof *boxes);
    if (!boxes) return zs_fail(ld->err, ZS_ENOMEM, "out of memory indexing %s", ld->info->name);
    for (size_t i = 0; i < n; i++)
        boxes[i] = l->features[i].bbox;
    sidx *ix = sidx_build(boxes, (uint32_t)n, 0);
    free(boxes);
    if (!ix) return zs_fail(ld->err, ZS_ENOMEM, "out of memory indexing %s", ld->info->name);
    l->index = ix;
    s->memory += sidx_memory(ix);
    return l->carriers ? build_search(ld, l) : ZS_OK;
}

static void resolve_fields(loader *ld)
{
    const layer_info *info = ld->info;
#define IX(name) layer_field_index(info, name)
    ld->fx = (field_ix){
        .id = IX("id"),
        .name_zh = IX("name_zh"),
        .name_en = IX("name_en"),
        .board = IX("board"),
        .status = IX("status"),
        .park = IX("park"),
        .land_use = IX("land_use"),
        .industries = IX("industries"),
        .kind = IX("kind"),
        .road_class = IX("road_class"),
        .area_m2 = IX("area_m2"),
        .gross_area_m2 = IX("gross_area_m2"),
        .vacant_area_m2 = IX("vacant_area_m2"),
        .rent_day = IX("rent_yuan_m2_day"),
        .rent_month = IX("rent_yuan_m2_month"),
        .clear_height_m = IX("clear_height_m"),
        .price = IX("price_wan_per_mu"),
        .enterprises = IX("enterprises"),
        .annual_tax_wan = IX("annual_tax_wan"),
    };
#undef IX
}

static zs_status read_layer(loader *ld, layer_id layer)
{
    ld->layer = layer;
    ld->info = layer_get(layer);
    ld->nfeatures = ld->nparts = ld->npoints = 0;
    ld->features_cap = ld->attrs_cap = ld->parts_cap = ld->xy_cap = 0;
    resolve_fields(ld);
    if (ld->info->carrier && ld->fx.kind < 0 && layer == LAYER_BUILDINGS)
        return zs_fail(ld->err, ZS_EINVAL, "layer buildings has no kind field");
    zs_status s = source_read_layer(ld->src, layer, read_row, ld, ld->err);
    if (!s) s = ld->status;
    if (s) {
        free(ld->features);
        free(ld->carriers);
        free(ld->contexts);
        free(ld->parts);
        free(ld->xy);
        ld->features = NULL;
        ld->carriers = NULL;
        ld->contexts = NULL;
        ld->parts = NULL;
        ld->xy = NULL;
        return s;
    }
    return finish_layer(ld);
}

/* The carrier index: all carriers sorted by id; an id used twice is an
 * error (the store forbids it, another source might not). */
static zs_status index_carriers(loader *ld)
{
    snapshot *s = ld->s;
    size_t n = 0;
    for (int l = 0; l < LAYER_COUNT; l++)
        if (s->layers[l].carriers) n += s->layers[l].nfeatures;
    const snap_carrier **by_id = malloc((n ? n : 1) * sizeof *by_id);
    if (!by_id) return zs_fail(ld->err, ZS_ENOMEM, "out of memory indexing carriers");
    size_t k = 0;
    for (int l = 0; l < LAYER_COUNT; l++)
        for (uint32_t i = 0; s->layers[l].carriers && i < s->layers[l].nfeatures; i++)
            by_id[k++] = &s->layers[l].carriers[i];
    sort(by_id, n, sizeof *by_id, cmp_carrier);
    s->by_id = by_id;
    s->ncarriers = n;
    s->memory += (n ? n : 1) * sizeof *by_id;
    for (size_t i = 1; i < n; i++) {
        const snap_carrier *a = by_id[i - 1], *b = by_id[i];
        if (strcmp(a->id, b->id) != 0) continue;
        if (a->layer == b->layer)
            return zs_fail(ld->err, ZS_EINVAL, "carrier id '%s' is used twice in %s", b->id,
                           layer_get(b->layer)->name);
        return zs_fail(ld->err, ZS_EINVAL, "carrier id '%s' is used in both %s and %s", b->id,
                       layer_get(a->layer)->name, layer_get(b->layer)->name);
    }
    return ZS_OK;
}

/* Reads everything once; on error *out is NULL. */
static zs_status load_once(loader *ld, snapshot **out)
{
    *out = NULL;
    snapshot *s = calloc(1, sizeof *s);
    if (!s) return zs_fail(ld->err, ZS_ENOMEM, "out of memory loading a snapshot");
    atomic_init(&s->refs, 1);
    s->memory = sizeof *s;
    ld->s = s;
    ld->status = ZS_OK;

    zs_status st = source_read_boards(ld->src, read_board, ld, ld->err);
    if (!st) st = ld->status;
    if (!st) st = source_read_photos(ld->src, read_photo, ld, ld->err);
    if (!st) st = ld->status;
    if (!st) {
        sort(ld->boards, ld->nboards, sizeof *ld->boards, cmp_board);
        sort(ld->photos, ld->nphotos, sizeof *ld->photos, cmp_photo);
    }
    for (int l = 0; !st && l < LAYER_COUNT; l++) {
        st = read_layer(ld, (layer_id)l);
        if (!st && l == LAYER_PARKS) {
            /* parcels and buildings look their park up by id */
            const snap_layer *parks = &s->layers[LAYER_PARKS];
            ld->nparks = parks->nfeatures;
            ld->parks = malloc((ld->nparks ? ld->nparks : 1) * sizeof *ld->parks);
            if (!ld->parks) {
                st = zs_fail(ld->err, ZS_ENOMEM, "out of memory indexing parks");
                break;
            }
            for (size_t i = 0; i < ld->nparks; i++)
                ld->parks[i] = &parks->carriers[i];
            sort(ld->parks, ld->nparks, sizeof *ld->parks, cmp_carrier);
        }
    }
    if (!st) st = index_carriers(ld);

    /* the scratch of this attempt */
    free(ld->boards);
    free(ld->photos);
    free(ld->parks);
    ld->boards = NULL;
    ld->photos = NULL;
    ld->parks = NULL;
    ld->nboards = ld->boards_cap = ld->nphotos = ld->photos_cap = ld->nparks = 0;
    arena_free(&ld->scratch);
    if (st) {
        snapshot_free(s);
        return st;
    }
    *out = s;
    return ZS_OK;
}

#define LOAD_ATTEMPTS 3

zs_status snapshot_load(source *src, snapshot **out, zs_error *err)
{
    zs_error local;
    if (!err) err = &local;
    *out = NULL;
    loader ld = {.src = src, .err = err, .geom = WKB_GEOM_INIT};
    zs_status st = ZS_OK;
    for (int attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
        int64_t before, after;
        snapshot *s;
        if ((st = source_data_version(src, &before, err)) || (st = load_once(&ld, &s))) break;
        if ((st = source_data_version(src, &after, err))) {
            snapshot_free(s);
            break;
        }
        if (before == after) {
            s->data_version = before;
            *out = s;
            break;
        }
        snapshot_free(s); /* a change landed while reading: read it all again */
        st = zs_fail(err, ZS_ECONFLICT,
                     "the %s source kept changing while loading (data version %lld to %lld)",
                     source_name(src), (long long)before, (long long)after);
    }
    wkb_geom_free(&ld.geom);
    free(ld.pphotos);
    return *out ? ZS_OK : st;
}

/* ---- publishing ------------------------------------------------------------ */

struct snapshot_slot {
    pthread_mutex_t lock;
    snapshot *current;
};

snapshot_slot *snapshot_slot_create(void)
{
    snapshot_slot *slot = calloc(1, sizeof *slot);
    if (!slot) return NULL;
    if (pthread_mutex_init(&slot->lock, NULL)) {
        free(slot);
        return NULL;
    }
    return slot;
}

void snapshot_slot_destroy(snapshot_slot *slot)
{
    if (!slot) return;
    snapshot_release(slot->current);
    pthread_mutex_destroy(&slot->lock);
    free(slot);
}

void snapshot_slot_publish(snapshot_slot *slot, snapshot *s)
{
    pthread_mutex_lock(&slot->lock);
    snapshot *old = slot->current;
    slot->current = s;
    pthread_mutex_unlock(&slot->lock);
    snapshot_release(old); /* outside the lock: freeing a large snapshot takes a while */
}

snapshot *snapshot_slot_acquire(snapshot_slot *slot)
{
    pthread_mutex_lock(&slot->lock);
    snapshot *s = slot->current ? snapshot_retain(slot->current) : NULL;
    pthread_mutex_unlock(&slot->lock);
    return s;
}
