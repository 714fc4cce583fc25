/* rules/jsonw.c: the canonical JSON writer (jsonw.h). */
#include "rules/jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

void kf__jw_init(struct kf__jw *w)
{
    memset(w, 0, sizeof(*w));
}

static void put(struct kf__jw *w, const char *s, size_t l)
{
    if (w->err)
        return;
    if (w->len + l + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        char *nb;

        while (w->len + l + 1 > cap)
            cap *= 2;
        nb = realloc(w->buf, cap);
        if (!nb) {
            w->err = -ENOMEM;
            return;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, l);
    w->len += l;
    w->buf[w->len] = '\0';
}

/* The separator before a value or key at the current level. */
static void sep(struct kf__jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        if (w->n[w->depth - 1])
            put(w, ",", 1);
        w->n[w->depth - 1] = 1;
    }
}

static void jw_open(struct kf__jw *w, char c)
{
    sep(w);
    if (w->depth >= KF__JW_DEPTH) {
        w->err = w->err ? w->err : -EINVAL;
        return;
    }
    put(w, &c, 1);
    w->n[w->depth++] = 0;
}

void kf__jw_obj(struct kf__jw *w)
{
    jw_open(w, '{');
}

void kf__jw_arr(struct kf__jw *w)
{
    jw_open(w, '[');
}

void kf__jw_end(struct kf__jw *w, char c)
{
    if (w->depth <= 0) {
        w->err = w->err ? w->err : -EINVAL;
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

static void quoted(struct kf__jw *w, const char *s)
{
    put(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];

        switch (*p) {
        case '"':
            put(w, "\\\"", 2);
            break;
        case '\\':
            put(w, "\\\\", 2);
            break;
        case '\b':
            put(w, "\\b", 2);
            break;
        case '\f':
            put(w, "\\f", 2);
            break;
        case '\n':
            put(w, "\\n", 2);
            break;
        case '\r':
            put(w, "\\r", 2);
            break;
        case '\t':
            put(w, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                /* jansson's form for the other control characters. */
                snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)*p);
                put(w, esc, 6);
            } else {
                put(w, (const char *)p, 1);
            }
        }
    }
    put(w, "\"", 1);
}

void kf__jw_key(struct kf__jw *w, const char *k)
{
    sep(w);
    quoted(w, k);
    put(w, ":", 1);
    w->after_key = 1;
}

void kf__jw_str(struct kf__jw *w, const char *s)
{
    if (!s) {
        kf__jw_null(w);
        return;
    }
    sep(w);
    quoted(w, s);
}

void kf__jw_int(struct kf__jw *w, int64_t v)
{
    char b[24];
    int l = snprintf(b, sizeof(b), "%lld", (long long)v);

    sep(w);
    put(w, b, (size_t)l);
}

void kf__jw_null(struct kf__jw *w)
{
    sep(w);
    put(w, "null", 4);
}

void kf__jw_bool(struct kf__jw *w, int v)
{
    sep(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

int kf__jw_finish(struct kf__jw *w, char **ret)
{
    if (!w->err && (w->depth != 0 || !w->buf))
        w->err = -EINVAL;
    if (w->err) {
        free(w->buf);
        w->buf = NULL;
        return w->err;
    }
    *ret = w->buf;
    w->buf = NULL;
    return 0;
}

void kf__jw_day(struct kf__jw *w, const char *key, int32_t day)
{
    char d[16];

    kf__jw_key(w, key);
    if (day == INT32_MAX) {
        kf__jw_null(w);
        return;
    }
    kf_day_format(day, d, sizeof(d));
    kf__jw_str(w, d);
}
