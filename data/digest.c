#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File layout, all integers little-endian:
 *   0  "ZSDIGEST"                 magic, 8 bytes
 *   8  u32 format                 DIGEST_FORMAT
 *  12  u32 record bytes           DIGEST_RECORD (48)
 *  16  i64 data version
 *  24  u64 count
 *  32  count records: u64 key, u64 value, f64 minx, miny, maxx, maxy (bit patterns)
 *  ..  u64 checksum               h_bytes() of every byte before it
 * The format number covers what is hashed too: change the hash of a feature
 * and bump it, so an old file is refused instead of reporting every feature
 * as changed (or, worse, none). */
#define DIGEST_MAGIC "ZSDIGEST"
#define DIGEST_FORMAT 2u
#define DIGEST_HEADER 32u
#define DIGEST_RECORD 48u
#define DIGEST_TRAILER 8u

typedef struct {
    uint64_t key;   /* hash of layer, id and occurrence */
    uint64_t value; /* hash of what a map can show */
    sidx_box box;   /* EPSG:3857 metres; NaN for an empty geometry */
} digest_entry;

struct digest {
    int64_t data_version;
    size_t n;
    digest_entry *e; /* sorted by key; NULL when n is 0 */
};

/* ---- hashing ---------------------------------------------------------------------
 * A word-at-a-time hash: each 64-bit word is folded into the state through the
 * splitmix64 finaliser (a bijection with good avalanche). Fields are framed
 * (strings carry their length, NULL its own marker) so that no two different
 * sequences of fields feed the same words. Stable across runs and machines:
 * bytes are read little-endian, NaN is one bit pattern. Not a defence against
 * crafted input; the data comes from the operator's own store. */

#define H_SEED 0x5a534d41505f4447u /* "ZSMAP_DG" */
#define H_STEP 0x9e3779b97f4a7c15u /* 2^64 / golden ratio */
#define H_NULL 0xffffffffffffffffu /* length marker of a NULL string */
#define H_NAN 0x7ff8000000000000u  /* every NaN hashes as this quiet NaN */
#define H_OCCURRENCE 0x6f63637572u /* tags the occurrence word of a key */
#define H_NOID 0x6e6f2d6964u       /* tags a feature without an id */

typedef struct {
    uint64_t h;
} hasher;

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline void h_word(hasher *s, uint64_t w)
{
    s->h = mix64(s->h ^ w) + H_STEP;
}

static inline uint64_t h_done(const hasher *s)
{
    return mix64(s->h ^ (s->h >> 29));
}

/* Written out so that compilers make it one load on little-endian machines. */
static inline uint64_t load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline void store_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Long runs (profiles are hundreds of bytes) go through four independent
 * lanes, 32 bytes a step, so the multiplications overlap; the lanes are then
 * folded into the state. */
static void h_bytes(hasher *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    h_word(s, (uint64_t)len);
    if (len >= 32) {
        hasher a = {s->h}, b = {s->h + 1}, c = {s->h + 2}, d = {s->h + 3};
        for (; len >= 32; p += 32, len -= 32) {
            h_word(&a, load_le64(p));
            h_word(&b, load_le64(p + 8));
            h_word(&c, load_le64(p + 16));
            h_word(&d, load_le64(p + 24));
        }
        h_word(s, a.h);
        h_word(s, b.h);
        h_word(s, c.h);
        h_word(s, d.h);
    }
    for (; len >= 8; p += 8, len -= 8)
        h_word(s, load_le64(p));
    if (len) {
        unsigned char tail[8] = {0};
        memcpy(tail, p, len);
        h_word(s, load_le64(tail));
    }
}

static void h_str(hasher *s, const char *str)
{
    if (!str)
        h_word(s, H_NULL);
    else
        h_bytes(s, str, strlen(str));
}

static inline uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline void h_double(hasher *s, double d)
{
    h_word(s, isnan(d) ? H_NAN : double_bits(d));
}

/* ---- building ---------------------------------------------------------------------- */

/* Everything of feature i of l that a map can show (the layer is in the key). */
static uint64_t feature_value(const snap_layer *l, uint32_t i)
{
    const snap_feature *f = &l->features[i];
    hasher s = {H_SEED};
    h_word(&s, (uint64_t)f->geom);
    h_word(&s, f->nparts);
    const snap_part *parts = snap_feature_parts(l, f);
    for (uint32_t p = 0; p < f->nparts; p++) {
        h_word(&s, (uint64_t)parts[p].role << 32 | parts[p].count);
        const snap_xy *xy = snap_part_points(l, &parts[p]);
        for (uint32_t k = 0; k < parts[p].count; k++) {
            h_double(&s, xy[k].x);
            h_double(&s, xy[k].y);
        }
    }
    if (l->carriers) {
        const snap_carrier *c = &l->carriers[i];
        h_word(&s, 1);
        h_str(&s, c->kind);
        h_str(&s, c->name_zh);
        h_str(&s, c->name_en);
        h_str(&s, c->status);
        h_str(&s, c->park_id);
        h_str(&s, c->land_use);
        h_str(&s, c->industries);
        h_word(&s, c->industry_mask);
        const double nums[] = {c->area_m2,
                               c->gross_area_m2,
                               c->vacant_area_m2,
                               c->rent_yuan_m2_day,
                               c->rent_yuan_m2_month,
                               c->clear_height_m,
                               c->price_wan_per_mu,
                               c->enterprises,
                               c->annual_tax_wan,
                               c->lon,
                               c->lat,
                               c->x,
                               c->y};
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
            h_double(&s, nums[k]);
    } else if (l->contexts) {
        const snap_context *c = &l->contexts[i];
        h_word(&s, 2);
        h_str(&s, c->name_zh);
        h_str(&s, c->name_en);
        h_str(&s, c->road_class);
    }
    return h_done(&s);
}

/* The key before occurrences are counted: layer and id (layer and index for
 * a feature without an id, which a snapshot should never hold). */
static uint64_t feature_base_key(const snap_layer *l, uint32_t i)
{
    const char *id = l->carriers ? l->carriers[i].id : l->contexts ? l->contexts[i].id : NULL;
    hasher s = {H_SEED};
    h_word(&s, (uint64_t)l->id);
    if (id) {
        h_str(&s, id);
    } else {
        h_word(&s, H_NOID);
        h_word(&s, i);
    }
    return h_done(&s);
}

typedef struct {
    uint64_t key;
    size_t pos; /* index into the unsorted entries: layer by layer, features in order */
} key_pos;

static int cmp_key_pos(const void *pa, const void *pb)
{
    const key_pos *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const digest_entry *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->value < b->value ? -1 : a->value > b->value;
}

static zs_status out_of_memory(zs_error *err, const char *what)
{
    return zs_fail(err, ZS_ENOMEM, "out of memory %s", what);
}

/* A feature's key is the hash of (layer, id, occurrence), where occurrence
 * counts the earlier features of the same layer with the same id (0 for the
 * first, and the hash of (layer, id) alone then). A store keeps ids unique per
 * layer; another source may not, and then the k-th feature named "x" is
 * compared with the k-th feature named "x" of the other snapshot: a feature
 * removed from the middle of such a run makes the later ones of the run
 * count as changed too, which reports more boxes, never fewer. */
zs_status digest_build(const snapshot *s, digest **out, zs_error *err)
{
    *out = NULL;
    size_t n = 0;
    for (int l = 0; l < LAYER_COUNT; l++)
        n += snapshot_layer(s, (layer_id)l)->nfeatures;

    digest *d = calloc(1, sizeof *d);
    digest_entry *raw = n ? malloc(n * sizeof *raw) : NULL;
    key_pos *order = n ? malloc(n * sizeof *order) : NULL;
    if (n && (!d || !raw || !order || !(d->e = malloc(n * sizeof *d->e)))) {
        free(raw);
        free(order);
        digest_free(d);
        return out_of_memory(err, "building a digest");
    }
    if (!d) return out_of_memory(err, "building a digest");
    d->data_version = snapshot_data_version(s);
    d->n = n;

    size_t k = 0;
    for (int l = 0; l < LAYER_COUNT; l++) {
        const snap_layer *ly = snapshot_layer(s, (layer_id)l);
        for (uint32_t i = 0; i < ly->nfeatures; i++, k++) {
            raw[k] =
                (digest_entry){feature_base_key(ly, i), feature_value(ly, i), ly->features[i].bbox};
            order[k] = (key_pos){raw[k].key, k};
        }
    }
    if (n > 1) qsort(order, n, sizeof *order, cmp_key_pos);

    bool duplicates = false;
    uint64_t occurrence = 0;
    for (size_t i = 0; i < n; i++) {
        occurrence = i > 0 && order[i].key == order[i - 1].key ? occurrence + 1 : 0;
        digest_entry e = raw[order[i].pos];
        if (occurrence) {
            hasher h = {e.key};
            h_word(&h, H_OCCURRENCE);
            h_word(&h, occurrence);
            e.key = h_done(&h);
            duplicates = true;
        }
        d->e[i] = e;
    }
    if (duplicates) qsort(d->e, n, sizeof *d->e, cmp_entry);
    free(raw);
    free(order);
    *out = d;
    return ZS_OK;
}

void digest_free(digest *d)
{
    if (!d) return;
    free(d->e);
    free(d);
}

int64_t digest_data_version(const digest *d)
{
    return d->data_version;
}

size_t digest_count(const digest *d)
{
    return d->n;
}

/* ---- comparing --------------------------------------------------------------------- */

typedef struct {
    sidx_box *b;
    size_t n, cap;
} box_list;

/* Appends box unless it is empty (NaN: nothing drawn); false when out of memory. */
static bool add_box(box_list *l, sidx_box box)
{
    if (!(box.minx <= box.maxx && box.miny <= box.maxy)) return true;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof *l->b) return false;
        sidx_box *b = realloc(l->b, cap * sizeof *b);
        if (!b) return false;
        l->b = b;
        l->cap = cap;
    }
    l->b[l->n++] = box;
    return true;
}

static bool same_box(sidx_box a, sidx_box b)
{
    return a.minx == b.minx && a.miny == b.miny && a.maxx == b.maxx && a.maxy == b.maxy;
}

zs_status digest_diff(const digest *a, const digest *b, sidx_box **boxes, size_t *n, zs_error *err)
{
    *boxes = NULL;
    *n = 0;
    box_list out = {0};
    size_t i = 0, j = 0;
    bool ok = true;
    while (ok && (i < a->n || j < b->n)) {
        if (j == b->n || (i < a->n && a->e[i].key < b->e[j].key)) {
            ok = add_box(&out, a->e[i++].box); /* removed */
        } else if (i == a->n || b->e[j].key < a->e[i].key) {
            ok = add_box(&out, b->e[j++].box); /* added */
        } else {
            const digest_entry *x = &a->e[i++], *y = &b->e[j++];
            if (x->value == y->value) continue;
            ok = add_box(&out, x->box);
            if (ok && !same_box(x->box, y->box)) ok = add_box(&out, y->box);
        }
    }
    if (!ok) {
        free(out.b);
        return out_of_memory(err, "comparing digests");
    }
    if (out.n == 0) {
        free(out.b);
        return ZS_OK;
    }
    *boxes = out.b;
    *n = out.n;
    return ZS_OK;
}

/* ---- the file ----------------------------------------------------------------------- */

static zs_status write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return ZS_EIO;
        }
        p += w;
        len -= (size_t)w;
    }
    return ZS_OK;
}

/* Syncs the folder holding path, so that a rename in it survives a crash.
 * File systems that cannot sync a folder (EINVAL) are let be. */
static int sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (slash) {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        dir = malloc(len + 1);
        if (!dir) return ENOMEM;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL) e = errno;
        close(fd);
    }
    free(dir);
    return e;
}

zs_status digest_save(const digest *d, const char *path, zs_error *err)
{
    if (d->n > (SIZE_MAX - DIGEST_HEADER - DIGEST_TRAILER) / DIGEST_RECORD)
        return out_of_memory(err, "saving a digest");
    size_t len = DIGEST_HEADER + d->n * DIGEST_RECORD + DIGEST_TRAILER;
    size_t plen = strlen(path);
    unsigned char *buf = malloc(len);
    char *tmp = malloc(plen + sizeof ".tmp");
    if (!buf || !tmp) {
        free(buf);
        free(tmp);
        return out_of_memory(err, "saving a digest");
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", sizeof ".tmp");

    memcpy(buf, DIGEST_MAGIC, 8);
    store_le64(buf + 8, (uint64_t)DIGEST_FORMAT | (uint64_t)DIGEST_RECORD << 32);
    store_le64(buf + 16, (uint64_t)d->data_version);
    store_le64(buf + 24, (uint64_t)d->n);
    unsigned char *p = buf + DIGEST_HEADER;
    for (size_t i = 0; i < d->n; i++, p += DIGEST_RECORD) {
        const digest_entry *e = &d->e[i];
        store_le64(p, e->key);
        store_le64(p + 8, e->value);
        store_le64(p + 16, double_bits(e->box.minx));
        store_le64(p + 24, double_bits(e->box.miny));
        store_le64(p + 32, double_bits(e->box.maxx));
        store_le64(p + 40, double_bits(e->box.maxy));
    }
    hasher h = {H_SEED};
    h_bytes(&h, buf, len - DIGEST_TRAILER);
    store_le64(p, h_done(&h));

    zs_status st = ZS_OK;
    int e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
    } else {
        if (write_all(fd, buf, len) != ZS_OK || fsync(fd) != 0) e = errno;
        if (close(fd) != 0 && !e) e = errno;
        if (!e && rename(tmp, path) != 0) e = errno;
        if (e) unlink(tmp);
    }
    if (e) {
        st = zs_fail(err, ZS_EIO, "cannot write digest '%s': %s", path, strerror(e));
    } else if ((e = sync_parent(path)) != 0) {
        st = zs_fail(err, ZS_EIO, "cannot sync the folder of digest '%s': %s", path, strerror(e));
    }
    free(buf);
    free(tmp);
    return st;
}

/* Reads all of path into a new buffer (free with free()). */
static zs_status read_file(const char *path, unsigned char **data, size_t *len, zs_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return zs_fail(err, ZS_ENOTFOUND, "digest '%s' does not exist", path);
        return zs_fail(err, ZS_EIO, "cannot read digest '%s': %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return zs_fail(err, ZS_EIO, "cannot read digest '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return zs_fail(err, ZS_EINVAL, "'%s' is not a zsmap digest (not a regular file)", path);
    }
    if ((uintmax_t)sb.st_size > SIZE_MAX - 1) {
        close(fd);
        return out_of_memory(err, "reading a digest");
    }
    size_t want = (size_t)sb.st_size;
    unsigned char *buf = malloc(want ? want : 1);
    if (!buf) {
        close(fd);
        return out_of_memory(err, "reading a digest");
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return zs_fail(err, ZS_EIO, "cannot read digest '%s': %s", path, strerror(e));
        }
        if (r == 0) break; /* shrank while reading: judged by what was read */
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = got;
    return ZS_OK;
}

/* Checks the layout of a digest file of len bytes; *count on success. */
static zs_status check_file(const char *path, const unsigned char *b, size_t len, size_t *count,
                            zs_error *err)
{
    size_t m = len < 8 ? len : 8;
    if (memcmp(b, DIGEST_MAGIC, m) != 0)
        return zs_fail(err, ZS_EINVAL, "'%s' is not a zsmap digest", path);
    if (len < DIGEST_HEADER + DIGEST_TRAILER)
        return zs_fail(err, ZS_EINVAL, "digest '%s' is truncated (%zu bytes)", path, len);
    uint64_t fmt = load_le64(b + 8);
    if ((uint32_t)fmt != DIGEST_FORMAT || fmt >> 32 != DIGEST_RECORD)
        return zs_fail(err, ZS_EINVAL,
                       "digest '%s' has format %u with %u-byte records; this zsmap reads format "
                       "%u with %u-byte records",
                       path, (unsigned)(uint32_t)fmt, (unsigned)(fmt >> 32), DIGEST_FORMAT,
                       DIGEST_RECORD);
    uint64_t n = load_le64(b + 24);
    size_t room = (len - DIGEST_HEADER - DIGEST_TRAILER) / DIGEST_RECORD;
    if (n > room)
        return zs_fail(err, ZS_EINVAL,
                       "digest '%s' is truncated (%zu bytes for %llu features of %u bytes)", path,
                       len, (unsigned long long)n, DIGEST_RECORD);
    size_t want = DIGEST_HEADER + (size_t)n * DIGEST_RECORD + DIGEST_TRAILER;
    if (len != want)
        return zs_fail(err, ZS_EINVAL, "digest '%s' has %zu bytes after its %llu features", path,
                       len - want, (unsigned long long)n);
    hasher h = {H_SEED};
    h_bytes(&h, b, len - DIGEST_TRAILER);
    if (h_done(&h) != load_le64(b + len - DIGEST_TRAILER))
        return zs_fail(err, ZS_EINVAL, "digest '%s' checksum mismatch: the file is damaged", path);
    *count = (size_t)n;
    return ZS_OK;
}

static double bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

zs_status digest_load(const char *path, digest **out, zs_error *err)
{
    *out = NULL;
    unsigned char *b;
    size_t len, n = 0;
    zs_status st = read_file(path, &b, &len, err);
    if (st) return st;
    st = check_file(path, b, len, &n, err);
    if (st) {
        free(b);
        return st;
    }
    digest *d = calloc(1, sizeof *d);
    if (!d || (n && !(d->e = malloc(n * sizeof *d->e)))) {
        free(b);
        digest_free(d);
        return out_of_memory(err, "reading a digest");
    }
    d->data_version = (int64_t)load_le64(b + 16);
    d->n = n;
    const unsigned char *p = b + DIGEST_HEADER;
    for (size_t i = 0; i < n; i++, p += DIGEST_RECORD) {
        d->e[i].key = load_le64(p);
        d->e[i].value = load_le64(p + 8);
        d->e[i].box = (sidx_box){bits_double(load_le64(p + 16)), bits_double(load_le64(p + 24)),
                                 bits_double(load_le64(p + 32)), bits_double(load_le64(p + 40))};
        if (i > 0 && d->e[i].key < d->e[i - 1].key) {
            free(b);
            digest_free(d);
            return zs_fail(err, ZS_EINVAL, "digest '%s' is damaged: its features are not sorted",
                           path);
        }
    }
    free(b);
    *out = d;
    return ZS_OK;
}
