/* zsmap: the command line. Each subcommand is an options table (which
 * drives parsing and --help) and a function; errors from the layers below
 * are printed here and nowhere else. */
#include "demo.h"
#include "import.h"
#include "layer.h"
#include "store.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_USAGE = 2 };

typedef enum { OPT_STRING, OPT_FLAG } opt_kind;

typedef struct {
    const char *name;
    opt_kind kind;
    const char *arg; /* placeholder shown in --help */
    const char *help;
    bool required;
} cli_option;

typedef struct {
    const char *name;
    const char *summary;
    const char *positional; /* NULL: none */
    const cli_option *options;
    int (*run)(const char **values, const char *positional);
} cli_command;

static void print_command_help(FILE *out, const cli_command *c)
{
    fprintf(out, "usage: zsmap %s", c->name);
    for (const cli_option *o = c->options; o->name; o++) {
        if (o->kind == OPT_FLAG)
            fprintf(out, " [--%s]", o->name);
        else
            fprintf(out, o->required ? " --%s %s" : " [--%s %s]", o->name, o->arg);
    }
    if (c->positional) fprintf(out, " %s", c->positional);
    fprintf(out, "\n\n%s\n\n", c->summary);
    for (const cli_option *o = c->options; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->kind == OPT_FLAG ? "" : " ",
                 o->kind == OPT_FLAG ? "" : o->arg);
        fprintf(out, "  %-26s %s\n", left, o->help);
    }
}

/* Parses argv against c->options into values (one per option; flags get
 * "1"); returns 0, or EXIT_USAGE after printing what is wrong. */
static int parse_options(const cli_command *c, int argc, char **argv, const char **values,
                         const char **positional)
{
    struct option longopts[32];
    int n = 0;
    for (const cli_option *o = c->options; o->name; o++, n++)
        longopts[n] = (struct option){
            o->name, o->kind == OPT_FLAG ? no_argument : required_argument, NULL, 1000 + n};
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){0};
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            print_command_help(stdout, c);
            exit(0);
        }
        if (ch >= 1000) {
            values[ch - 1000] = c->options[ch - 1000].kind == OPT_FLAG ? "1" : optarg;
            continue;
        }
        fprintf(stderr, "zsmap %s: unknown or incomplete option '%s'\n", c->name, argv[optind - 1]);
        fprintf(stderr, "try 'zsmap %s --help'\n", c->name);
        return EXIT_USAGE;
    }
    for (int i = 0; c->options[i].name; i++) {
        if (c->options[i].required && !values[i]) {
            fprintf(stderr, "zsmap %s: --%s is required\n", c->name, c->options[i].name);
            return EXIT_USAGE;
        }
    }
    int rest = argc - optind;
    if (c->positional ? rest != 1 : rest != 0) {
        fprintf(stderr, "zsmap %s: %s\n", c->name,
                c->positional ? "expected one input file" : "unexpected argument");
        return EXIT_USAGE;
    }
    *positional = rest ? argv[optind] : NULL;
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

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
    {"db", OPT_STRING, "FILE", "the store (created when it does not exist)", true},
    {"layer", OPT_STRING, "LAYER", "parks|parcels|buildings|boundary|roads|water", true},
    {"source-layer", OPT_STRING, "NAME", "the layer of a multi-layer input", false},
    {"s_srs", OPT_STRING, "CRS", "source CRS (EPSG:4548, WKT, GCJ02); default: the file's", false},
    {"map", OPT_STRING, "F=SRC,...", "map store fields to source fields", false},
    {"encoding", OPT_STRING, "ENC", "attribute encoding of the input, e.g. GBK", false},
    {"skip-invalid", OPT_FLAG, NULL, "skip rejected features instead of failing", false},
    {"dry-run", OPT_FLAG, NULL, "report what would change, change nothing", false},
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
    double t0 = now_seconds();
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
           rep.features, rep.inserted, rep.updated, rep.repaired, rep.skipped, now_seconds() - t0);
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
    {"db", OPT_STRING, "FILE", "the store", true},
    {0},
};

static int cmd_info(const char **v, const char *positional)
{
    (void)positional;
    return print_summary(v[0]);
}

/* ---- demo ----------------------------------------------------------------- */

static const cli_option demo_options_table[] = {
    {"db", OPT_STRING, "FILE", "the store to create", true},
    {"scale", OPT_STRING, "N", "1: the district; N: about N times the parcels and buildings",
     false},
    {"force", OPT_FLAG, NULL, "replace FILE (and its photos) when it exists", false},
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
    double t0 = now_seconds();
    store *st = NULL;
    int rc = 0;
    if (demo_write(src, (int)scale, &err) || store_open(db, true, &st, &err)) {
        rc = fail("demo", &err);
    } else {
        printf("demo district (scale %ld) written in %.2f s; importing\n", scale,
               now_seconds() - t0);
        for (const char *const *l = demo_layers; *l && !rc; l++) {
            char input[4200];
            snprintf(input, sizeof input, "%s/%s.geojson", src, *l);
            import_options opt = {.input = input};
            layer_by_name(*l, &opt.layer);
            import_report rep;
            double t1 = now_seconds();
            if (import_run(st, &opt, &rep, &err)) {
                print_report(&rep);
                rc = fail("demo", &err);
            } else {
                printf("  %-10s %7ld features, %ld repaired, CRS %s, %.2f s\n", *l,
                       rep.inserted + rep.updated, rep.repaired, rep.source_crs,
                       now_seconds() - t1);
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
    printf("demo built in %.2f s\n", now_seconds() - t0);
    return print_summary(db);
}

/* ---- main ----------------------------------------------------------------- */

static const cli_command commands[] = {
    {"demo", "Build the demo district database (through the same import as user data).", NULL,
     demo_options_table, cmd_demo},
    {"import", "Load a vector file GDAL reads into a layer of the store, in one transaction.",
     "INPUT", import_options_table, cmd_import},
    {"info", "Print a summary of what a store holds.", NULL, info_options_table, cmd_info},
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
        int rc = parse_options(&commands[i], argc - 1, argv + 1, values, &positional);
        if (rc) return rc;
        return commands[i].run(values, positional);
    }
    fprintf(stderr, "zsmap: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
