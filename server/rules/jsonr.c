/* rules/jsonr.c: reading a versioned data file's JSON field by field (rules/jsonr.h). */
#include "rules/jsonr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kf/time.h>

int kf__jr_fail(char *err, size_t errn, const char *fmt, ...)
{
    va_list ap;

    if (err && errn > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errn, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* "lease" + "kiosk_fen" -> "lease.kiosk_fen"; "" + "bank" -> "bank". */
const char *kf__jr_field(char *buf, size_t n, const char *path, const char *key)
{
    snprintf(buf, n, "%s%s%s", path, *path ? "." : "", key);
    return buf;
}

/* Refuse keys outside allowed (NULL-terminated): a misspelt key is an error, not a default. */
int kf__jr_only_keys(const json_t *o, const char *path, const char *const *allowed, char *err,
                     size_t errn)
{
    const char *k;
    json_t *v;
    char f[96];

    json_object_foreach((json_t *)o, k, v)
    {
        size_t i;

        for (i = 0; allowed[i]; i++) {
            if (strcmp(k, allowed[i]) == 0)
                break;
        }
        if (!allowed[i])
            return kf__jr_fail(err, errn, "%s: unknown key", kf__jr_field(f, sizeof(f), path, k));
    }
    return 0;
}

int kf__jr_get(const json_t *o, const char *path, const char *key, int type, int optional,
               json_t **ret, char *err, size_t errn)
{
    static const char *const names[] = {[JSON_OBJECT] = "an object",
                                        [JSON_ARRAY] = "an array",
                                        [JSON_STRING] = "a string",
                                        [JSON_INTEGER] = "an integer",
                                        [JSON_TRUE] = "true or false"};
    json_t *v = json_object_get(o, key);
    char f[96];

    if (!v) {
        if (optional) {
            *ret = NULL;
            return 0;
        }
        return kf__jr_fail(err, errn, "%s: missing", kf__jr_field(f, sizeof(f), path, key));
    }
    if (type == JSON_TRUE ? !json_is_boolean(v) : (int)json_typeof(v) != type)
        return kf__jr_fail(err, errn, "%s: must be %s", kf__jr_field(f, sizeof(f), path, key),
                           names[type]);
    *ret = v;
    return 0;
}

int kf__jr_get_int(const json_t *o, const char *path, const char *key, int64_t lo, int64_t hi,
                   int64_t *ret, char *err, size_t errn)
{
    json_t *v;
    json_int_t x;
    char f[96];
    int r = kf__jr_get(o, path, key, JSON_INTEGER, 0, &v, err, errn);

    if (r < 0)
        return r;
    x = json_integer_value(v);
    if (x < lo && hi == INT64_MAX)
        return kf__jr_fail(err, errn, "%s: must be >= %lld", kf__jr_field(f, sizeof(f), path, key),
                           (long long)lo);
    if (x < lo || x > hi)
        return kf__jr_fail(err, errn, "%s: must be %lld..%lld",
                           kf__jr_field(f, sizeof(f), path, key), (long long)lo, (long long)hi);
    *ret = (int64_t)x;
    return 0;
}

int kf__jr_get_i32(const json_t *o, const char *path, const char *key, int64_t lo, int64_t hi,
                   int32_t *ret, char *err, size_t errn)
{
    int64_t v;
    int r = kf__jr_get_int(o, path, key, lo, hi, &v, err, errn);

    if (r == 0)
        *ret = (int32_t)v;
    return r;
}

/* A string of 1..max bytes without control characters into buf (max + 1 bytes). */
int kf__jr_get_str(const json_t *o, const char *path, const char *key, size_t max, int optional,
                   char *buf, int *ret_has, char *err, size_t errn)
{
    json_t *v;
    const char *s;
    size_t l;
    char f[96];
    int r = kf__jr_get(o, path, key, JSON_STRING, optional, &v, err, errn);

    if (r < 0)
        return r;
    if (ret_has)
        *ret_has = v != NULL;
    if (!v)
        return 0;
    s = json_string_value(v);
    l = json_string_length(v);
    if (l == 0 || l > max)
        return kf__jr_fail(err, errn, "%s: must be 1..%zu bytes",
                           kf__jr_field(f, sizeof(f), path, key), max);
    for (size_t i = 0; i < l; i++) {
        if ((unsigned char)s[i] < 0x20)
            return kf__jr_fail(err, errn, "%s: control character",
                               kf__jr_field(f, sizeof(f), path, key));
    }
    memcpy(buf, s, l + 1);
    return 0;
}

int kf__jr_get_day(const json_t *o, const char *key, int nullable, int32_t *ret, char *err,
                   size_t errn)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        return kf__jr_fail(err, errn, "%s: missing", key);
    if (nullable && json_is_null(v)) {
        *ret = KF__JR_DAY_OPEN;
        return 0;
    }
    if (!json_is_string(v) || kf_day_parse(json_string_value(v), ret) < 0)
        return kf__jr_fail(err, errn, "%s: must be a date \"YYYY-MM-DD\"%s", key,
                           nullable ? " or null" : "");
    return 0;
}

json_t *kf__jr_load(const char *text, size_t len, size_t max, const char *what, char *err,
                    size_t errn)
{
    json_error_t je;
    json_t *root;

    if (err && errn > 0)
        err[0] = '\0';
    if (!text || len > max) {
        kf__jr_fail(err, errn, "a %s is at most %zu bytes", what, max);
        return NULL;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        kf__jr_fail(err, errn, "line %d: %s", je.line, je.text);
    return root;
}
