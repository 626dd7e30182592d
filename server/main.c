/* zsmap: the command line. Each subcommand is an options table (which
 * drives parsing and --help) and a function; errors from the layers below
 * are printed here and nowhere else. */
#include "demo.h"
#include "import.h"
#include "layer.h"
#include "store.h"
#include "cli.h"
#include "cmd_serve.h"
#include "cmd_tiles.h"

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Removes a file and SQLite's companions, for a store that must not be left. */
static void remove_store_files(const char *path)
{
    char p[4096];
    remove(path);
    snprintf(p, sizeof p, "%s-wal", path);
    remove(p);
    snprintf(p, sizeof p, "%s-shm", path);
    remove(p);
    snprintf(p, sizeof p, "%s-journal", path);
    remove(p);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int fail(const char *cmd, const zs_error *err)
{
    fprintf(stderr, "zsmap %s: error: %s\n", cmd, err->msg);
    return 1;
}

static void print_report(const import_report *rep)
{
    if (rep->lines) fputs(rep->lines, stderr);
}

/* ---- import --------------------------------------------------------------- */

static const cli_option import_options_table[] = {
    {"db", OPT_STRING, "FILE", "the store (created when it does not exist)", true, 0},
    {"layer", OPT_STRING, "LAYER", "parks|parcels|buildings|boundary|roads|water", true, 0},
    {"source-layer", OPT_STRING, "NAME", "the layer of a multi-layer input", false, 0},
    {"s_srs", OPT_STRING, "CRS", "source CRS (EPSG:4548, WKT, GCJ02); default: the file's", false,
     0},
    {"map", OPT_STRING, "F=SRC,...", "map store fields to source fields", false, 0},
    {"encoding", OPT_STRING, "ENC", "attribute encoding of the input, e.g. GBK", false, 0},
    {"skip-invalid", OPT_FLAG, NULL, "skip rejected features instead of failing", false, 0},
    {"dry-run", OPT_FLAG, NULL, "report what would change, change nothing", false, 0},
    {0},
};

static int cmd_import(const char **v, const char *input)
{
    import_options opt = {
        .input = input,
        .source_layer = v[2],
        .s_srs = v[3],
        .field_map = v[4],
        .encoding = v[5],
        .skip_invalid = v[6] != NULL,
        .dry_run = v[7] != NULL,
    };
    zs_error err = {0};
    if (!layer_by_name(v[1], &opt.layer)) {
        fprintf(stderr,
                "zsmap import: unknown layer '%s' (parks, parcels, buildings, boundary, roads, "
                "water)\n",
                v[1]);
        return EXIT_USAGE;
    }
    bool created = !file_exists(v[0]);
    if (created && opt.dry_run) {
        fprintf(stderr,
                "zsmap import: error: database '%s' does not exist (a dry run creates "
                "nothing)\n",
                v[0]);
        return 1;
    }
    store *st;
    if (store_open(v[0], true, &st, &err)) {
        if (created) remove_store_files(v[0]);
        return fail("import", &err);
    }
    import_report rep;
    double t0 = cli_now();
    zs_status s = import_run(st, &opt, &rep, &err);
    store_close(st);
    print_report(&rep);
    if (s) {
        if (created) remove_store_files(v[0]);
        import_report_free(&rep);
        return fail("import", &err);
    }
    printf("%s %s into %s from %s (CRS %s): %ld features, %ld inserted, %ld updated, "
           "%ld repaired, %ld skipped, %.2f s\n",
           opt.dry_run ? "dry run: would import" : "imported", v[1], v[0], input, rep.source_crs,
           rep.features, rep.inserted, rep.updated, rep.repaired, rep.skipped, cli_now() - t0);
    import_report_free(&rep);
    return 0;
}

/* ---- info ----------------------------------------------------------------- */

static int print_summary(const char *path)
{
    zs_error err = {0};
    store *st;
    if (store_open(path, false, &st, &err)) return fail("info", &err);
    int64_t version = 0, photos = 0;
    if (store_data_version(st, &version, &err) || store_count_photos(st, &photos, &err)) {
        store_close(st);
        return fail("info", &err);
    }
    printf("%s: schema version %d, data version %lld\n", path, store_schema_version(st),
           (long long)version);
    for (int l = 0; l < LAYER_COUNT; l++) {
        int64_t n = 0;
        if (store_count(st, (layer_id)l, &n, &err)) {
            store_close(st);
            return fail("info", &err);
        }
        printf("  %-10s %8lld\n", layer_get((layer_id)l)->name, (long long)n);
    }
    printf("  %-10s %8lld (in %s)\n", "photos", (long long)photos, store_photo_dir(st));
    store_close(st);
    return 0;
}

static const cli_option info_options_table[] = {
    {"db", OPT_STRING, "FILE", "the store", true, 0},
    {0},
};

static int cmd_info(const char **v, const char *positional)
{
    (void)positional;
    return print_summary(v[0]);
}

/* ---- demo ----------------------------------------------------------------- */

static const cli_option demo_options_table[] = {
    {"db", OPT_STRING, "FILE", "the store to create", true, 0},
    {"scale", OPT_STRING, "N", "1: the district; N: about N times the parcels and buildings", false,
     0},
    {"force", OPT_FLAG, NULL, "replace FILE (and its photos) when it exists", false, 0},
    {0},
};

static int cmd_demo(const char **v, const char *positional)
{
    (void)positional;
    const char *db = v[0];
    long scale = 1;
    if (v[1]) {
        char *end;
        errno = 0;
        scale = strtol(v[1], &end, 10);
        if (*end || errno || scale < 1 || scale > 100) {
            fprintf(stderr, "zsmap demo: --scale '%s' is not a whole number from 1 to 100\n", v[1]);
            return EXIT_USAGE;
        }
    }
    char photos[4096];
    snprintf(photos, sizeof photos, "%s.photos", db);
    if (file_exists(db)) {
        if (!v[2]) {
            fprintf(stderr, "zsmap demo: error: '%s' exists (use --force to replace it)\n", db);
            return 1;
        }
        remove_store_files(db);
        remove_tree(photos);
    }
    char src[4096];
    snprintf(src, sizeof src, "%s.src-XXXXXX", db);
    if (!mkdtemp(src)) {
        fprintf(stderr, "zsmap demo: error: cannot make a folder beside '%s': %s\n", db,
                strerror(errno));
        return 1;
    }
    zs_error err = {0};
    double t0 = cli_now();
    store *st = NULL;
    int rc = 0;
    if (demo_write(src, (int)scale, &err) || store_open(db, true, &st, &err)) {
        rc = fail("demo", &err);
    } else {
        printf("demo district (scale %ld) written in %.2f s; importing\n", scale, cli_now() - t0);
        for (const char *const *l = demo_layers; *l && !rc; l++) {
            char input[4200];
            snprintf(input, sizeof input, "%s/%s.geojson", src, *l);
            import_options opt = {.input = input};
            layer_by_name(*l, &opt.layer);
            import_report rep;
            double t1 = cli_now();
            if (import_run(st, &opt, &rep, &err)) {
                print_report(&rep);
                rc = fail("demo", &err);
            } else {
                printf("  %-10s %7ld features, %ld repaired, CRS %s, %.2f s\n", *l,
                       rep.inserted + rep.updated, rep.repaired, rep.source_crs, cli_now() - t1);
            }
            import_report_free(&rep);
        }
    }
    store_close(st);
    remove_tree(src);
    if (rc) {
        remove_store_files(db);
        remove_tree(photos);
        return rc;
    }
    printf("demo built in %.2f s\n", cli_now() - t0);
    return print_summary(db);
}

/* ---- main ----------------------------------------------------------------- */

static const cli_command commands[] = {
    {"demo", "Build the demo district database (through the same import as user data).", NULL,
     false, demo_options_table, cmd_demo},
    {"import", "Load a vector file GDAL reads into a layer of the store, in one transaction.",
     "INPUT", false, import_options_table, cmd_import},
    {"info", "Print a summary of what a store holds.", NULL, false, info_options_table, cmd_info},
    {"render", "Render one tile (Z/X/Y) or any extent (--bbox, --size) to a PNG file.", "Z/X/Y",
     true, render_options, cmd_render},
    {"seed", "Render a zoom range into an MBTiles file on every core, resuming where it stopped.",
     NULL, false, seed_options, cmd_seed},
    {"serve", "Serve tiles, TileJSON, WMTS and the carrier API over HTTP.", NULL, false,
     serve_options, cmd_serve},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: zsmap COMMAND [OPTIONS]\n\nzsmap, the investment map server.\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'zsmap COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        const char *values[32] = {0};
        const char *positional = NULL;
        bool help = false;
        int rc = cli_parse(&commands[i], argc - 1, argv + 1, values, &positional, &help);
        if (rc || help) return rc;
        return commands[i].run(values, positional);
    }
    fprintf(stderr, "zsmap: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
