#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SHOWN_MAX 64 /* bytes of a bad key quoted in a message */

struct config_file {
    size_t count;
    char *strings[]; /* the values lent to the caller */
};

/* One load under way: the file's values wait here until the whole file has
 * parsed, so that a bad line leaves the caller's values untouched. */
typedef struct {
    const char *path;
    const cli_option *options;
    const char *const *path_keys;
    size_t count; /* options in the table */
    char **found; /* found[i]: the file's value of option i (owned) or NULL */
    int *line_of; /* line that set option i; 0: not set */
    char *dir;    /* the file's directory with its trailing '/', or "" */
    int line;     /* 1-based number of the line being parsed */
    zs_error *err;
} parser;

static zs_status line_fail(parser *p, const char *fmt, ...) ZS_PRINTF(2, 3);

/* "FILE:LINE: " and the message, ZS_EINVAL. */
static zs_status line_fail(parser *p, const char *fmt, ...)
{
    char msg[ZS_ERROR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return zs_fail(p->err, ZS_EINVAL, "%s:%d: %s", p->path, p->line, msg);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Length of the valid UTF-8 sequence at s (shortest form, no surrogates, at
 * most U+10FFFF) within n bytes, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    size_t len = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    if (!len || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (s[0] == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
    if (s[0] == 0xED && s[1] > 0x9F) return 0; /* surrogate */
    if (s[0] == 0xF0 && s[1] < 0x90) return 0; /* overlong */
    if (s[0] == 0xF4 && s[1] > 0x8F) return 0; /* over U+10FFFF */
    return len;
}

/* How many of the len bytes of key to quote: at most KEY_SHOWN_MAX, cut on
 * a character boundary (the text is valid UTF-8 by then). */
static int shown(const char *key, size_t len)
{
    if (len <= KEY_SHOWN_MAX) return (int)len;
    size_t n = KEY_SHOWN_MAX;
    while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

/* Index of the option named by the len bytes at key, or -1. */
static int find_option(const parser *p, const char *key, size_t len)
{
    for (size_t i = 0; i < p->count; i++) {
        const char *name = p->options[i].name;
        if (strlen(name) == len && memcmp(name, key, len) == 0) return (int)i;
    }
    return -1;
}

static bool is_path_key(const parser *p, const char *name)
{
    for (const char *const *k = p->path_keys; k && *k; k++)
        if (strcmp(*k, name) == 0) return true;
    return false;
}

/* The message for a key that is no option: the known keys, or a hint. */
static zs_status unknown_key(parser *p, const char *key, size_t len)
{
    if (len == strlen(CONFIG_OPTION) && memcmp(key, CONFIG_OPTION, len) == 0)
        return line_fail(p, "'%s' cannot be set inside a config file", CONFIG_OPTION);
    int dashed = len > 2 && key[0] == '-' && key[1] == '-' ? find_option(p, key + 2, len - 2) : -1;
    if (dashed >= 0 && strcmp(p->options[dashed].name, CONFIG_OPTION) != 0)
        return line_fail(p, "unknown key '%.*s'; write it without the dashes: '%.*s'",
                         shown(key, len), key, shown(key + 2, len - 2), key + 2);
    char known[512];
    size_t o = 0;
    known[0] = '\0';
    for (size_t i = 0; i < p->count && o < sizeof known; i++) {
        if (strcmp(p->options[i].name, CONFIG_OPTION) == 0) continue;
        int w = snprintf(known + o, sizeof known - o, "%s%s", o ? ", " : "", p->options[i].name);
        if (w > 0) o += (size_t)w;
    }
    return line_fail(p, "unknown key '%.*s'; known keys: %s", shown(key, len), key, known);
}

/* Reads the value that starts at s (after the '=' and its spaces) into a new
 * string *out: quoted, or up to a '#' and trimmed. */
static zs_status read_value(parser *p, const char *name, const char *s, char **out)
{
    size_t len = strlen(s);
    char *v = malloc(len + 1);
    if (!v) return zs_fail(p->err, ZS_ENOMEM, "%s:%d: out of memory", p->path, p->line);
    size_t n = 0;
    zs_status st = ZS_OK;
    if (*s == '"') {
        const char *c = s + 1;
        for (; *c && *c != '"'; c++) {
            if (*c == '\\') {
                c++;
                if (*c != '"' && *c != '\\') {
                    st = *c ? line_fail(p,
                                        "unknown escape '\\%.*s' in the value of '%s' (only \\\" "
                                        "and \\\\ are escapes)",
                                        (int)utf8_seq((const unsigned char *)c, strlen(c)), c, name)
                            : line_fail(p, "unterminated quoted value of '%s'", name);
                    break;
                }
            }
            v[n++] = *c;
        }
        if (st == ZS_OK && *c != '"') st = line_fail(p, "unterminated quoted value of '%s'", name);
        if (st == ZS_OK) {
            c++;
            while (is_space(*c))
                c++;
            if (*c && *c != '#')
                st = line_fail(p, "unexpected text after the closing quote of '%s'", name);
        }
    } else {
        for (; *s && *s != '#'; s++)
            v[n++] = *s;
        while (n > 0 && is_space(v[n - 1]))
            n--;
        if (n == 0) st = line_fail(p, "'%s' has no value (write \"\" for an empty string)", name);
    }
    if (st != ZS_OK) {
        free(v);
        return st;
    }
    v[n] = '\0';
    *out = v;
    return ZS_OK;
}

/* Turns a flag's text into "1" (set) or NULL (unset), in place of *v. */
static zs_status flag_value(parser *p, const char *name, char **v)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(*v, yes[i]) == 0) {
            (*v)[0] = '1';
            (*v)[1] = '\0';
            return ZS_OK;
        }
        if (strcmp(*v, no[i]) == 0) {
            free(*v);
            *v = NULL;
            return ZS_OK;
        }
    }
    zs_status st = line_fail(p, "'%s' is a flag: write true or false, not '%.*s'", name,
                             shown(*v, strlen(*v)), *v);
    free(*v);
    *v = NULL;
    return st;
}

/* A relative path value becomes relative to the file's directory. */
static zs_status resolve_path(parser *p, char **v)
{
    if (!p->dir[0] || !(*v)[0] || (*v)[0] == '/') return ZS_OK;
    size_t dl = strlen(p->dir), vl = strlen(*v);
    char *joined = malloc(dl + vl + 1);
    if (!joined) return zs_fail(p->err, ZS_ENOMEM, "%s:%d: out of memory", p->path, p->line);
    memcpy(joined, p->dir, dl);
    memcpy(joined + dl, *v, vl + 1);
    free(*v);
    *v = joined;
    return ZS_OK;
}

/* Parses one line of len bytes (no line ending, no NUL inside). */
static zs_status parse_line(parser *p, char *s, size_t len)
{
    if (p->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* a byte order mark, as some editors write */
        len -= 3;
    }
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t seq = utf8_seq(u + i, len - i);
        if (!seq) return line_fail(p, "invalid UTF-8 at byte %zu", i + 1);
        if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7F)
            return line_fail(p, "control character 0x%02X at byte %zu", u[i], i + 1);
        i += seq;
    }
    while (is_space(*s))
        s++;
    if (!*s || *s == '#') return ZS_OK;
    size_t eq = strcspn(s, "=#");
    if (s[eq] != '=') return line_fail(p, "expected 'key = value', found no '='");
    size_t klen = eq;
    while (klen > 0 && is_space(s[klen - 1]))
        klen--;
    if (klen == 0) return line_fail(p, "empty key before '='");
    int i = find_option(p, s, klen);
    if (i < 0 || strcmp(p->options[i].name, CONFIG_OPTION) == 0) return unknown_key(p, s, klen);
    const char *name = p->options[i].name;
    if (p->line_of[i])
        return line_fail(p, "'%s' is set twice (first on line %d)", name, p->line_of[i]);
    const char *v = s + eq + 1;
    while (is_space(*v))
        v++;
    char *value = NULL;
    zs_status st = read_value(p, name, v, &value);
    if (st == ZS_OK && p->options[i].kind == OPT_FLAG) st = flag_value(p, name, &value);
    if (st == ZS_OK && value && is_path_key(p, name)) st = resolve_path(p, &value);
    if (st != ZS_OK) {
        free(value);
        return st;
    }
    p->found[i] = value;
    p->line_of[i] = p->line;
    return ZS_OK;
}

/* Reads the file line by line into the parser. */
static zs_status parse_file(parser *p)
{
    FILE *f = fopen(p->path, "rb");
    if (!f)
        return zs_fail(p->err, errno == ENOENT ? ZS_ENOTFOUND : ZS_EIO, "%s: cannot read: %s",
                       p->path, strerror(errno));
    char buf[CONFIG_LINE_MAX + 2]; /* the line, a '\r' before its '\n', the NUL */
    size_t len = 0;
    zs_status st = ZS_OK;
    p->line = 1;
    for (;;) {
        int c = getc(f);
        if (c == EOF && ferror(f)) {
            st = zs_fail(p->err, ZS_EIO, "%s: cannot read: %s", p->path, strerror(errno));
            break;
        }
        if (c == '\n' || c == EOF) {
            if (c == EOF && len == 0) break;
            if (len > 0 && buf[len - 1] == '\r') len--;
            if (len > CONFIG_LINE_MAX) {
                st = line_fail(p, "line is longer than %d bytes", CONFIG_LINE_MAX);
                break;
            }
            buf[len] = '\0';
            if ((st = parse_line(p, buf, len)) != ZS_OK || c == EOF) break;
            len = 0;
            p->line++;
            continue;
        }
        if (c == '\0') {
            st = line_fail(p, "NUL byte at byte %zu", len + 1);
            break;
        }
        if (len == CONFIG_LINE_MAX + 1) {
            st = line_fail(p, "line is longer than %d bytes", CONFIG_LINE_MAX);
            break;
        }
        buf[len++] = (char)c;
    }
    fclose(f);
    return st;
}

zs_status config_load(const char *path, const cli_option *options, const char *const *path_keys,
                      const char **values, config_file **out, zs_error *err)
{
    *out = NULL;
    parser p = {.path = path, .options = options, .path_keys = path_keys, .err = err};
    while (options[p.count].name)
        p.count++;
    for (const char *const *k = path_keys; k && *k; k++) {
        int i = find_option(&p, *k, strlen(*k));
        if (i < 0 || options[i].kind != OPT_STRING)
            return zs_fail(err, ZS_EINVAL, "config: path key '%s' is not a string option", *k);
    }
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
    p.found = calloc(p.count + 1, sizeof *p.found);
    p.line_of = calloc(p.count + 1, sizeof *p.line_of);
    p.dir = malloc(dl + 1);
    config_file *cf = malloc(sizeof *cf + (p.count + 1) * sizeof cf->strings[0]);
    zs_status st = ZS_OK;
    if (!p.found || !p.line_of || !p.dir || !cf) {
        st = zs_fail(err, ZS_ENOMEM, "%s: out of memory", path);
    } else {
        memcpy(p.dir, path, dl);
        p.dir[dl] = '\0';
        st = parse_file(&p);
    }
    if (st == ZS_OK) {
        /* the command line wins; the file fills the rest */
        cf->count = 0;
        for (size_t i = 0; i < p.count; i++) {
            if (!p.found[i]) continue;
            if (values[i]) {
                free(p.found[i]);
                continue;
            }
            values[i] = p.found[i];
            cf->strings[cf->count++] = p.found[i];
        }
        *out = cf;
        cf = NULL;
    } else {
        for (size_t i = 0; p.found && i < p.count; i++)
            free(p.found[i]);
    }
    free(cf);
    free(p.found);
    free(p.line_of);
    free(p.dir);
    return st;
}

void config_destroy(config_file *cf)
{
    if (!cf) return;
    for (size_t i = 0; i < cf->count; i++)
        free(cf->strings[i]);
    free(cf);
}
