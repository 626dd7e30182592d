/* Import: any vector file GDAL reads into one layer of the store, reprojected
 * to EPSG:4490, fields mapped by name, upserted by id, all in one transaction.
 * The one module that includes GDAL's headers. */
#ifndef ZS_IMPORT_H
#define ZS_IMPORT_H

#include "error.h"
#include "layer.h"
#include "store.h"

#include <stdbool.h>

typedef struct {
    layer_id layer;
    const char *input;        /* path of the file (or anything GDAL opens) */
    const char *source_layer; /* NULL: the file's only layer */
    const char *s_srs;        /* NULL: the file's own CRS; "GCJ02" for Mars coordinates */
    const char *field_map;    /* "field=SOURCE,..."; NULL: fields matched by name */
    const char *encoding;     /* attribute encoding, e.g. "GBK"; NULL: as the file says */
    bool skip_invalid;        /* skip rejected features instead of failing */
    bool dry_run;             /* report what would change, change nothing */
} import_options;

typedef struct {
    long features; /* read from the source */
    long inserted, updated, repaired, skipped;
    char *source_crs; /* the CRS used, e.g. "EPSG:4548" */
    char *lines;      /* one line per repaired or rejected feature: "feature N (id X): ..." */
} import_report;

/* Runs one import into st (no transaction open). On ZS_OK the change is
 * committed (or, for a dry run, rolled back) and rep says what happened;
 * on failure nothing changed, err names the problem and rep->lines lists the
 * rejected features. rep is owned by the caller: free with import_report_free(). */
zs_status import_run(store *st, const import_options *opt, import_report *rep, zs_error *err);

void import_report_free(import_report *rep);

#endif
