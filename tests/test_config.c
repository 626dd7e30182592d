/* Settings files: the example file parses, quoting and comments, the
 * command line wins, flags, relative paths resolved against the file's
 * folder, and every error with its exact "FILE:LINE: problem" message and
 * the caller's values left untouched. The example is found from argv[1],
 * else next to this source file (meson test runs in the build folder). */
#include "config.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* serve_options of server/cmd_serve.c as the example file documents it (keep
 * the two in step), the config option, and a flag. */
static const cli_option opts[] = {
    {"db", OPT_STRING, "FILE", "the store", true, 0},
    {"bind", OPT_STRING, "ADDR", "address", false, 0},
    {"port", OPT_STRING, "PORT", "port", false, 'p'},
    {"styles", OPT_STRING, "DIR", "styles", false, 0},
    {"threads", OPT_STRING, "N", "threads", false, 0},
    {"cache-mb", OPT_STRING, "MB", "memory", false, 0},
    {"cache", OPT_STRING, "DIR", "disk cache", false, 0},
    {"render-threads", OPT_STRING, "N", "render threads", false, 0},
    {"render-queue", OPT_STRING, "N", "renders waiting", false, 0},
    {"timeout", OPT_STRING, "S", "connection timeout", false, 0},
    {"config", OPT_STRING, "FILE", "settings file", false, 0},
    {"verbose", OPT_FLAG, NULL, "say more", false, 'v'},
    {0},
};
enum {
    DB,
    BIND,
    PORT,
    STYLES,
    THREADS,
    CACHE_MB,
    CACHE,
    RENDER_THREADS,
    RENDER_QUEUE,
    TIMEOUT,
    CONFIG,
    VERBOSE,
    N_OPTS
};
static const char *const path_keys[] = {"db", "styles", "cache", NULL};

static char dir[64];   /* scratch folder */
static char file[128]; /* dir/zsmap.conf */

static void write_bytes(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK_INT(fwrite(bytes, 1, len, f), len);
    CHECK_INT(fclose(f), 0);
}

/* Loads text as the file; returns the status, the values in v. */
static zs_status load_text(const char *text, const char **v, config_file **cf, zs_error *err)
{
    write_bytes(file, text, strlen(text));
    memset(err, 0, sizeof *err);
    return config_load(file, opts, path_keys, v, cf, err);
}

/* Expects text to fail with exactly "<file>:<message>" and to leave a
 * command-line value and the unset ones alone. */
static void refuse_line(int line, const char *text, size_t len, zs_status want, const char *msg)
{
    const char *v[N_OPTS + 1] = {[PORT] = "9000"};
    static char sentinel;
    config_file *cf = (config_file *)&sentinel; /* must be reset to NULL */
    zs_error err = {0};
    write_bytes(file, text, len);
    zs_status st = config_load(file, opts, path_keys, v, &cf, &err);
    char expect[512];
    snprintf(expect, sizeof expect, "%s%s", file, msg);
    if (st != want || strcmp(err.msg, expect) != 0) {
        fprintf(stderr, "%s:%d: expected %d \"%s\", got %d \"%s\"\n", __FILE__, line, (int)want,
                expect, (int)st, err.msg);
        test_failures++;
    }
    CHECK(cf == NULL);
    CHECK_STR(v[PORT], "9000");
    for (int i = 0; i < N_OPTS; i++)
        if (i != PORT) CHECK(v[i] == NULL);
}
#define REFUSE(text, msg) refuse_line(__LINE__, text, strlen(text), ZS_EINVAL, msg)
#define REFUSE_BYTES(text, msg) refuse_line(__LINE__, text, sizeof text - 1, ZS_EINVAL, msg)

static void test_example(const char *example)
{
    const char *v[N_OPTS + 1] = {0};
    config_file *cf = NULL;
    zs_error err = {0};
    CHECK_INT(config_load(example, opts, path_keys, v, &cf, &err), ZS_OK);
    if (err.msg[0]) fprintf(stderr, "%s\n", err.msg);
    CHECK_STR(v[DB], "/var/lib/zsmap/district.sqlite");
    CHECK_STR(v[BIND], "127.0.0.1");
    CHECK_STR(v[PORT], "8080");
    CHECK(v[STYLES] == NULL); /* documented, commented out */
    CHECK(v[THREADS] == NULL);
    CHECK_STR(v[CACHE_MB], "256");
    CHECK_STR(v[CACHE], "/var/cache/zsmap");
    CHECK(v[RENDER_THREADS] == NULL);
    CHECK_STR(v[RENDER_QUEUE], "256");
    CHECK_STR(v[TIMEOUT], "30");
    CHECK(v[CONFIG] == NULL);
    config_destroy(cf);

    /* every option of the table but config and the test's flag is documented */
    FILE *f = fopen(example, "r");
    CHECK(f != NULL);
    char text[8192];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    for (int i = 0; i < CONFIG; i++) {
        char key[64];
        snprintf(key, sizeof key, "\n%s = ", opts[i].name);
        char commented[64];
        snprintf(commented, sizeof commented, "\n#%s = ", opts[i].name);
        if (!strstr(text, key) && !strstr(text, commented)) {
            fprintf(stderr, "%s: the example does not document '%s'\n", __FILE__, opts[i].name);
            test_failures++;
        }
    }
}

static void test_syntax(void)
{
    const char *v[N_OPTS + 1] = {0};
    config_file *cf = NULL;
    zs_error err;
    CHECK_INT(load_text("\xEF\xBB\xBF# a comment\r\n"
                        "\n"
                        "   \t\n"
                        "  # indented comment\n"
                        "bind=::1\r\n"
                        "port   =\t8081   # trailing comment\n"
                        "threads = \"  4 # not a comment \"  # a comment\n"
                        "cache-mb = \"a \\\"b\\\" \\\\ c\"\n"
                        "styles = \"\"\n"
                        "verbose = yes", /* no newline at the end */
                        v, &cf, &err),
              ZS_OK);
    CHECK_STR(v[BIND], "::1");
    CHECK_STR(v[PORT], "8081");
    CHECK_STR(v[THREADS], "  4 # not a comment ");
    CHECK_STR(v[CACHE_MB], "a \"b\" \\ c");
    CHECK_STR(v[STYLES], ""); /* "" is kept, not made a folder */
    CHECK_STR(v[VERBOSE], "1");
    CHECK(v[DB] == NULL && v[CACHE] == NULL && v[CONFIG] == NULL);
    config_destroy(cf);

    /* UTF-8 values; '#' ends an unquoted value anywhere */
    memset(v, 0, sizeof v);
    CHECK_INT(load_text("bind = 招商地图#x\nport = 80#80\n", v, &cf, &err), ZS_OK);
    CHECK_STR(v[BIND], "招商地图");
    CHECK_STR(v[PORT], "80");
    config_destroy(cf);

    /* flags: every spelling; false leaves the flag unset */
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0", "\"false\""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "verbose = %s\n", yes[i]);
        memset(v, 0, sizeof v);
        CHECK_INT(load_text(text, v, &cf, &err), ZS_OK);
        CHECK_STR(v[VERBOSE], "1");
        config_destroy(cf);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "verbose = %s\n", no[i]);
        memset(v, 0, sizeof v);
        CHECK_INT(load_text(text, v, &cf, &err), ZS_OK);
        CHECK(v[VERBOSE] == NULL);
        config_destroy(cf);
    }

    /* an empty file, and one of comments only */
    memset(v, 0, sizeof v);
    CHECK_INT(load_text("", v, &cf, &err), ZS_OK);
    CHECK(cf != NULL);
    config_destroy(cf);
    CHECK_INT(load_text("# nothing\n\n", v, &cf, &err), ZS_OK);
    for (int i = 0; i < N_OPTS; i++)
        CHECK(v[i] == NULL);
    config_destroy(cf);
    config_destroy(NULL);
}

static void test_command_line_wins(void)
{
    /* as cli_parse leaves them: --port 9000 -v given, the rest unset */
    const char *v[N_OPTS + 1] = {[PORT] = "9000", [VERBOSE] = "1"};
    config_file *cf = NULL;
    zs_error err;
    CHECK_INT(load_text("port = 8080\nbind = 0.0.0.0\nverbose = false\n", v, &cf, &err), ZS_OK);
    CHECK_STR(v[PORT], "9000");
    CHECK_STR(v[VERBOSE], "1");
    CHECK_STR(v[BIND], "0.0.0.0");
    config_destroy(cf);
}

static void test_paths(void)
{
    char sub[128], conf[160], want[256];
    snprintf(sub, sizeof sub, "%s/etc", dir);
    CHECK_INT(mkdir(sub, 0700), 0);
    snprintf(conf, sizeof conf, "%s/zsmap.conf", sub);
    const char text[] = "db = data/district.sqlite\n"
                        "styles = ../styles\n"
                        "cache = /var/cache/zsmap\n"
                        "bind = not/a/path\n";
    write_bytes(conf, text, sizeof text - 1);

    const char *v[N_OPTS + 1] = {0};
    config_file *cf = NULL;
    zs_error err = {0};
    CHECK_INT(config_load(conf, opts, path_keys, v, &cf, &err), ZS_OK);
    snprintf(want, sizeof want, "%s/data/district.sqlite", sub);
    CHECK_STR(v[DB], want);
    snprintf(want, sizeof want, "%s/../styles", sub);
    CHECK_STR(v[STYLES], want);
    CHECK_STR(v[CACHE], "/var/cache/zsmap"); /* absolute: kept */
    CHECK_STR(v[BIND], "not/a/path");        /* not a path key */
    config_destroy(cf);

    /* a command-line path stays as given (relative to where zsmap started) */
    const char *w[N_OPTS + 1] = {[DB] = "mine.sqlite"};
    CHECK_INT(config_load(conf, opts, path_keys, w, &cf, &err), ZS_OK);
    CHECK_STR(w[DB], "mine.sqlite");
    config_destroy(cf);

    /* no path keys: values as written */
    const char *x[N_OPTS + 1] = {0};
    CHECK_INT(config_load(conf, opts, NULL, x, &cf, &err), ZS_OK);
    CHECK_STR(x[DB], "data/district.sqlite");
    config_destroy(cf);

    /* a file named without a folder: relative to the current folder */
    char cwd[256];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_INT(chdir(sub), 0);
    const char *y[N_OPTS + 1] = {0};
    CHECK_INT(config_load("zsmap.conf", opts, path_keys, y, &cf, &err), ZS_OK);
    CHECK_STR(y[DB], "data/district.sqlite");
    config_destroy(cf);
    CHECK_INT(chdir(cwd), 0);

    /* the caller's mistake: a path key that is no string option */
    static const char *const bad_keys[] = {"db", "verbose", NULL};
    CHECK_INT(config_load(conf, opts, bad_keys, y, &cf, &err), ZS_EINVAL);
    CHECK_STR(err.msg, "config: path key 'verbose' is not a string option");
    static const char *const typo[] = {"dbb", NULL};
    CHECK_INT(config_load(conf, opts, typo, y, &cf, &err), ZS_EINVAL);
    CHECK_STR(err.msg, "config: path key 'dbb' is not a string option");
    CHECK(cf == NULL);
    remove(conf);
    rmdir(sub);
}

static void test_errors(void)
{
    REFUSE("prot = 80\n", ":1: unknown key 'prot'; known keys: db, bind, port, styles, threads, "
                          "cache-mb, cache, render-threads, render-queue, timeout, verbose");
    REFUSE("# ok\n--port = 80\n", ":2: unknown key '--port'; write it without the dashes: 'port'");
    REFUSE("config = other.conf\n", ":1: 'config' cannot be set inside a config file");
    REFUSE("--config = other.conf\n",
           ":1: unknown key '--config'; known keys: db, bind, port, "
           "styles, threads, cache-mb, cache, render-threads, render-queue, "
           "timeout, verbose");
    REFUSE("port = 80\nbind = ::1\nport = 81\n", ":3: 'port' is set twice (first on line 1)");
    /* a duplicate of a key the command line overrides is still an error */
    REFUSE("port = 80\nport = 80\n", ":2: 'port' is set twice (first on line 1)");
    REFUSE("port 8080\n", ":1: expected 'key = value', found no '='");
    REFUSE("port # = 8080\n", ":1: expected 'key = value', found no '='");
    REFUSE("\n = 8080\n", ":2: empty key before '='");
    REFUSE("port =\n", ":1: 'port' has no value (write \"\" for an empty string)");
    REFUSE("port =   # nothing\n", ":1: 'port' has no value (write \"\" for an empty string)");
    REFUSE("bind = \"::1\n", ":1: unterminated quoted value of 'bind'");
    REFUSE("bind = \"::1\\\"\n", ":1: unterminated quoted value of 'bind'");
    REFUSE("bind = \"::1\\", ":1: unterminated quoted value of 'bind'");
    REFUSE("bind = \"::1\" x\n", ":1: unexpected text after the closing quote of 'bind'");
    REFUSE("bind = \"a\\nb\"\n",
           ":1: unknown escape '\\n' in the value of 'bind' (only \\\" and \\\\ are escapes)");
    REFUSE("verbose = maybe\n", ":1: 'verbose' is a flag: write true or false, not 'maybe'");
    REFUSE_BYTES("bind = caf\xC3\n", ":1: invalid UTF-8 at byte 11");
    REFUSE_BYTES("# \xC0\xAF overlong\n", ":1: invalid UTF-8 at byte 3");
    REFUSE_BYTES("# \xED\xA0\x80 surrogate\n", ":1: invalid UTF-8 at byte 3");
    REFUSE_BYTES("bind = a\x1b[31m\n", ":1: control character 0x1B at byte 9");
    REFUSE_BYTES("bind = a\rb\n", ":1: control character 0x0D at byte 9");
    REFUSE_BYTES("port = 80\nbind = a\0b\n", ":2: NUL byte at byte 9");
    REFUSE_BYTES("\xEF\xBB\xBF\xEF\xBB\xBF", ":1: expected 'key = value', found no '='");

    /* line length: 4096 bytes pass (with LF or CRLF), 4097 do not */
    static char text[CONFIG_LINE_MAX + 64];
    size_t pre = strlen("bind = ");
    memcpy(text, "bind = ", pre);
    memset(text + pre, 'a', CONFIG_LINE_MAX - pre);
    memcpy(text + CONFIG_LINE_MAX, "\r\nport = 1\n", 12);
    const char *v[N_OPTS + 1] = {0};
    config_file *cf = NULL;
    zs_error err;
    CHECK_INT(load_text(text, v, &cf, &err), ZS_OK);
    CHECK_INT(strlen(v[BIND]), CONFIG_LINE_MAX - pre);
    CHECK_STR(v[PORT], "1");
    config_destroy(cf);
    memcpy(text + CONFIG_LINE_MAX, "a\nport = 1\n", 12);
    REFUSE(text, ":1: line is longer than 4096 bytes");
    memcpy(text + CONFIG_LINE_MAX, "a", 2); /* without a newline */
    REFUSE(text, ":1: line is longer than 4096 bytes");
    /* the second line: 4096 bytes and a stray CR before the CRLF */
    size_t first = strlen("port = 1\n");
    memcpy(text, "port = 1\n#", first + 1);
    memset(text + first + 1, 'a', CONFIG_LINE_MAX - 1);
    memcpy(text + first + CONFIG_LINE_MAX, "\r\r\n", 4);
    REFUSE(text, ":2: line is longer than 4096 bytes");

    /* files that cannot be read */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.conf", dir);
    const char *w[N_OPTS + 1] = {0};
    CHECK_INT(config_load(missing, opts, path_keys, w, &cf, &err), ZS_ENOTFOUND);
    char want[256];
    snprintf(want, sizeof want, "%s: cannot read: %s", missing, strerror(ENOENT));
    CHECK_STR(err.msg, want);
    CHECK(cf == NULL);
    CHECK_INT(config_load(dir, opts, path_keys, w, &cf, &err), ZS_EIO);
    snprintf(want, sizeof want, "%s: cannot read: %s", dir, strerror(EISDIR));
    CHECK_STR(err.msg, want);
    if (geteuid() != 0) { /* root reads anything */
        write_bytes(file, "port = 1\n", 9);
        CHECK_INT(chmod(file, 0), 0);
        CHECK_INT(config_load(file, opts, path_keys, w, &cf, &err), ZS_EIO);
        snprintf(want, sizeof want, "%s: cannot read: %s", file, strerror(EACCES));
        CHECK_STR(err.msg, want);
        CHECK_INT(chmod(file, 0600), 0);
    }
    for (int i = 0; i < N_OPTS; i++)
        CHECK(w[i] == NULL);
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/zsconfXXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "cannot make a scratch folder: %s\n", strerror(errno));
        return 1;
    }
    snprintf(file, sizeof file, "%s/zsmap.conf", dir);

    /* the example: argv[1], else ../server/ beside this source file */
    char example[512];
    if (argc > 1) {
        snprintf(example, sizeof example, "%s", argv[1]);
    } else {
        const char *src = __FILE__;
        const char *slash = strrchr(src, '/');
        int n = slash ? (int)(slash - src) : 1;
        snprintf(example, sizeof example, "%.*s/../server/zsmap.conf.example", n,
                 slash ? src : ".");
    }
    test_example(example);
    test_syntax();
    test_command_line_wins();
    test_paths();
    test_errors();

    remove(file);
    rmdir(dir);
    TEST_DONE();
}
