#include "hblob.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* FNV-1a, 64 bits: ETags and cache keys. */
uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void make_etag(char *out, size_t size, char prefix, const void *data, size_t len,
               const char *suffix)
{
    snprintf(out, size, "\"%c%016llx%s\"", prefix, (unsigned long long)fnv1a(data, len, FNV_SEED),
             suffix);
}

struct hblob {
    atomic_int refs;
    unsigned char *data;
    size_t len;
    char etag[48];
    _Atomic(void *) transport[HBLOB_TRANSPORTS];
    void (*transport_free[HBLOB_TRANSPORTS])(void *);
};

hblob *hblob_create(unsigned char *data, size_t len, char etag_prefix)
{
    hblob *b = calloc(1, sizeof *b);
    if (!b) {
        free(data);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    b->data = data;
    b->len = len;
    make_etag(b->etag, sizeof b->etag, etag_prefix, data, len, "");
    for (int i = 0; i < HBLOB_TRANSPORTS; i++)
        atomic_init(&b->transport[i], NULL);
    return b;
}

hblob *hblob_retain(hblob *b)
{
    if (b) atomic_fetch_add(&b->refs, 1);
    return b;
}

void hblob_release(hblob *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1) return;
    for (int i = 0; i < HBLOB_TRANSPORTS; i++) {
        void *t = atomic_load(&b->transport[i]);
        if (t && b->transport_free[i]) b->transport_free[i](t);
    }
    free(b->data);
    free(b);
}

const unsigned char *hblob_data(const hblob *b, size_t *len)
{
    *len = b->len;
    return b->data;
}

const char *hblob_etag(const hblob *b)
{
    return b->etag;
}

void *hblob_transport(hblob *b, int which)
{
    return which >= 0 && which < HBLOB_TRANSPORTS ? atomic_load(&b->transport[which]) : NULL;
}

bool hblob_attach_transport(hblob *b, int which, void *t, void (*free_fn)(void *))
{
    if (which < 0 || which >= HBLOB_TRANSPORTS) return false;
    void *expected = NULL;
    /* the free function is read only when the blob dies, after every attach */
    if (!atomic_compare_exchange_strong(&b->transport[which], &expected, t)) return false;
    b->transport_free[which] = free_fn;
    return true;
}
