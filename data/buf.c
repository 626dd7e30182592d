#include "buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_ALLOC 256

void zs_buf_init(zs_buf *b, size_t max)
{
    *b = (zs_buf){NULL, 0, 0, max < SIZE_MAX - 1 ? max : SIZE_MAX - 2, false};
}

void zs_buf_free(zs_buf *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
    b->failed = false;
}

void zs_buf_reset(zs_buf *b)
{
    zs_buf_rollback(b, 0);
}

void zs_buf_rollback(zs_buf *b, size_t mark)
{
    if (mark < b->len) b->len = mark;
    if (b->data) b->data[b->len] = '\0';
    b->failed = false;
}

/* Makes room for n more bytes and the NUL, within the cap. */
static zs_status reserve(zs_buf *b, size_t n)
{
    if (b->failed) return ZS_ENOMEM;
    if (n > b->max - b->len) {
        b->failed = true;
        return ZS_ENOMEM;
    }
    size_t need = b->len + n + 1; /* cannot overflow: max <= SIZE_MAX - 2 */
    if (need <= b->alloc) return ZS_OK;
    size_t alloc = b->alloc ? b->alloc : MIN_ALLOC;
    while (alloc < need)
        alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
    if (alloc > b->max + 1) alloc = b->max + 1; /* never more than the cap needs */
    char *p = realloc(b->data, alloc);
    if (!p) {
        b->failed = true;
        return ZS_ENOMEM;
    }
    b->data = p;
    b->alloc = alloc;
    return ZS_OK;
}

zs_status zs_buf_append(zs_buf *b, const void *p, size_t n)
{
    zs_status st = reserve(b, n);
    if (st) return st;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ZS_OK;
}

zs_status zs_buf_puts(zs_buf *b, const char *s)
{
    return zs_buf_append(b, s, strlen(s));
}

zs_status zs_buf_printf(zs_buf *b, const char *fmt, ...)
{
    if (b->failed) return ZS_ENOMEM;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return ZS_ENOMEM;
    }
    if ((size_t)n < sizeof small) return zs_buf_append(b, small, (size_t)n);
    zs_status st = reserve(b, (size_t)n);
    if (st) return st;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ZS_OK;
}

/* Bytes that need escaping: '"', '\\' and the C0 controls. */
static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

zs_status zs_buf_json_strn(zs_buf *b, const char *s, size_t n)
{
    if (!s) return zs_buf_append(b, "null", 4);
    /* the escaped length first, so that a failure appends nothing */
    size_t out = 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape(c))
            out++;
        else if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
                 c == '\t')
            out += 2;
        else
            out += 6;
    }
    zs_status st = reserve(b, out);
    if (st) return st;
    static const char hex[] = "0123456789abcdef";
    char *d = b->data + b->len;
    *d++ = '"';
    size_t run = 0; /* bytes copied as they are, in one memcpy */
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : 0;
        if (i < n && !needs_escape(c)) {
            run++;
            continue;
        }
        memcpy(d, s + i - run, run);
        d += run;
        run = 0;
        if (i == n) break;
        *d++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *d++ = (char)c;
            break;
        case '\b':
            *d++ = 'b';
            break;
        case '\f':
            *d++ = 'f';
            break;
        case '\n':
            *d++ = 'n';
            break;
        case '\r':
            *d++ = 'r';
            break;
        case '\t':
            *d++ = 't';
            break;
        default:
            *d++ = 'u';
            *d++ = '0';
            *d++ = '0';
            *d++ = hex[c >> 4];
            *d++ = hex[c & 15];
        }
    }
    *d++ = '"';
    b->len = (size_t)(d - b->data);
    *d = '\0';
    return ZS_OK;
}

zs_status zs_buf_json_str(zs_buf *b, const char *s)
{
    return zs_buf_json_strn(b, s, s ? strlen(s) : 0);
}

/* Rewrites a number printf formatted under any locale into JSON's form: the
 * locale's decimal point (any bytes other than digits, signs and exponent
 * marks, possibly several for a multibyte point) becomes '.'. Returns the
 * new length. */
static size_t c_locale_number(char *s, size_t n)
{
    size_t o = 0;
    bool in_point = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool plain = (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == 'E';
        if (plain) {
            s[o++] = c;
            in_point = false;
        } else if (!in_point) {
            s[o++] = '.';
            in_point = true;
        }
    }
    s[o] = '\0';
    return o;
}

zs_status zs_buf_json_num(zs_buf *b, double v)
{
    if (!isfinite(v)) return zs_buf_append(b, "null", 4);
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.15g", v);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = true;
        return ZS_ENOMEM;
    }
    return zs_buf_append(b, tmp, c_locale_number(tmp, (size_t)n));
}

zs_status zs_buf_json_fixed(zs_buf *b, double v, int decimals)
{
    if (!isfinite(v)) return zs_buf_append(b, "null", 4);
    if (decimals < 0) decimals = 0;
    if (decimals > 17) decimals = 17;
    char tmp[400]; /* %.17f of DBL_MAX is 309 + 1 + 17 digits */
    int n = snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = true;
        return ZS_ENOMEM;
    }
    size_t len = c_locale_number(tmp, (size_t)n);
    if (decimals > 0) { /* drop trailing zeros, then a bare point */
        while (len > 0 && tmp[len - 1] == '0')
            len--;
        if (len > 0 && tmp[len - 1] == '.') len--;
    }
    if (len == 2 && tmp[0] == '-' && tmp[1] == '0') return zs_buf_append(b, "0", 1);
    return zs_buf_append(b, tmp, len);
}

const char *zs_buf_data(const zs_buf *b)
{
    return b->data ? b->data : "";
}

size_t zs_buf_len(const zs_buf *b)
{
    return b->len;
}

size_t zs_buf_cap(const zs_buf *b)
{
    return b->max;
}

bool zs_buf_failed(const zs_buf *b)
{
    return b->failed;
}

char *zs_buf_detach(zs_buf *b, size_t *len)
{
    if (b->failed) return NULL;
    char *p = b->data;
    if (!p) {
        p = malloc(1);
        if (!p) return NULL;
        p[0] = '\0';
    }
    *len = b->len;
    b->data = NULL;
    b->len = b->alloc = 0;
    return p;
}
