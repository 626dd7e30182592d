#include "hblob.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t hash64(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    uint64_t tail = len; /* the length tells "ab" from "ab\0" */
    for (size_t i = 0; i < len; i++)
        tail |= (uint64_t)p[i] << (8 * (i + 1));
    h = (h ^ tail) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

void make_etag(char *out, size_t size, char prefix, const void *data, size_t len,
               const char *suffix)
{
    snprintf(out, size, "\"%c%016llx%s\"", prefix, (unsigned long long)hash64(data, len, HASH_SEED),
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
