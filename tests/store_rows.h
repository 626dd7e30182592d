/* Rows for the store in C tests: a layer's fields all NULL, then the ones a
 * test names set by name, as store_upsert() takes them. */
#ifndef ZS_TEST_STORE_ROWS_H
#define ZS_TEST_STORE_ROWS_H

#include "layer.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    store_value v[32];
    const layer_info *info;
} row_values;

/* Every field of layer NULL but the id (field 0 of every layer), when id is
 * not NULL. */
static inline void rv_init(row_values *r, layer_id layer, const char *id)
{
    memset(r, 0, sizeof *r);
    r->info = layer_get(layer);
    for (size_t i = 0; i < r->info->nfields; i++)
        r->v[i].null = true;
    if (id) {
        r->v[0].null = false;
        r->v[0].text = id;
    }
}

/* The field called name, no longer NULL; a name the layer lacks ends the test. */
static inline store_value *rv(row_values *r, const char *name)
{
    int i = layer_field_index(r->info, name);
    if (i < 0) {
        fprintf(stderr, "no field %s in %s\n", name, r->info->name);
        exit(2);
    }
    r->v[i].null = false;
    return &r->v[i];
}

static inline void rv_text(row_values *r, const char *name, const char *s)
{
    rv(r, name)->text = s;
}

static inline void rv_real(row_values *r, const char *name, double d)
{
    rv(r, name)->real = d;
}

static inline void rv_int(row_values *r, const char *name, long long i)
{
    rv(r, name)->integer = i;
}

/* Removes the store at path with its journal files and photo folder, then
 * the (emptied) folder dir that held it. */
static inline void remove_store(const char *path, const char *dir)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", ".photos"};
    for (size_t i = 0; i < 5; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        if (i < 4)
            unlink(p);
        else
            rmdir(p);
    }
    rmdir(dir);
}

#endif
