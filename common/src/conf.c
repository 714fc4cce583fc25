/* conf.c: the table-driven INI engine (kf/conf.h), on inih. */
#include <kf/conf.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include <kf/log.h>

#define CONF_DIR_MAX 512 /* the file's directory, for relative paths */
#define CONF_WHY_MAX 160 /* the reason a value was refused */

struct kf_conf {
    const struct kf_conf_section *sections; /* borrowed */
    size_t nsections;
    int *lines;             /* per key, in section order: where it was given; 0: not given */
    const char *name;       /* the file, in messages */
    char dir[CONF_DIR_MAX]; /* its directory ("" for none), for KF_CONF_PATH */
    char *err;              /* borrowed */
    size_t cap;
    int failed;
    int loaded;
    /* the reader: one of f and s */
    FILE *f;
    const char *s;
    int line; /* of the line inih asked for last */
};

void kf_conf_fail(struct kf_conf *c, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->failed++ || !c->err || !c->cap)
        return;
    n = line > 0 ? snprintf(c->err, c->cap, "%s:%d: ", c->name, line)
                 : snprintf(c->err, c->cap, "%s: ", c->name);
    if (n < 0 || (size_t)n >= c->cap)
        return;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->cap - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ---- the tables ---- */

static int key_sane(const struct kf_conf_key *k)
{
    if (!k->name)
        return 0;
    switch (k->type) {
    case KF_CONF_STR:
    case KF_CONF_PATH:
        return k->size >= 1;
    case KF_CONF_INT:
        return k->size == sizeof(int) && k->min >= INT_MIN && k->max <= INT_MAX && k->min <= k->max;
    case KF_CONF_U32:
        return k->size == sizeof(uint32_t) && k->umax <= UINT32_MAX && k->umin <= k->umax;
    case KF_CONF_U64:
        return k->size == sizeof(uint64_t) && k->umin <= k->umax;
    case KF_CONF_LOG_LEVEL:
        return k->size == sizeof(int);
    case KF_CONF_CUSTOM:
        return k->size >= 1 && k->parse != NULL;
    }
    return 0;
}

/* A table bug, named in err: the programmer's mistake, found before any file is read. */
static int tables_check(struct kf_conf *c)
{
    for (size_t i = 0; i < c->nsections; i++) {
        const struct kf_conf_section *s = &c->sections[i];

        if (!s->name || !s->base || (s->nkeys && !s->keys)) {
            kf_conf_fail(c, 0, "section %zu: no name, base or keys", i);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->sections[j].name, s->name) == 0) {
                kf_conf_fail(c, 0, "section [%s] registered twice", s->name);
                return -EINVAL;
            }
        }
        for (size_t k = 0; k < s->nkeys; k++) {
            if (!key_sane(&s->keys[k])) {
                kf_conf_fail(c, 0, "[%s] key %zu (%s): type, size or bounds do not agree", s->name,
                             k, s->keys[k].name ? s->keys[k].name : "no name");
                return -EINVAL;
            }
            for (size_t j = 0; j < k; j++) {
                if (strcmp(s->keys[j].name, s->keys[k].name) == 0) {
                    kf_conf_fail(c, 0, "[%s] %s: in the table twice", s->name, s->keys[k].name);
                    return -EINVAL;
                }
            }
        }
    }
    return 0;
}

int kf_conf_new(const struct kf_conf_section *sections, size_t n, char *err, size_t cap,
                struct kf_conf **ret)
{
    struct kf_conf *c;
    size_t nkeys = 0;
    int rc;

    if (err && cap)
        err[0] = '\0';
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->sections = sections;
    c->nsections = n;
    c->name = "(tables)";
    c->err = err;
    c->cap = cap;
    if (n == 0 || !sections) {
        kf_conf_fail(c, 0, "no sections");
        rc = -EINVAL;
        goto out_free;
    }
    rc = tables_check(c);
    if (rc < 0)
        goto out_free;
    for (size_t i = 0; i < n; i++)
        nkeys += sections[i].nkeys;
    c->lines = calloc(nkeys ? nkeys : 1, sizeof(*c->lines));
    if (!c->lines) {
        rc = -ENOMEM;
        goto out_free;
    }
    *ret = c;
    return 0;

out_free:
    free(c);
    return rc;
}

void kf_conf_free(struct kf_conf *c)
{
    if (!c)
        return;
    free(c->lines);
    free(c);
}

/* ---- values ---- */

static int parse_u64(const char *s, uint64_t *ret)
{
    unsigned long long v;
    char *end;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *ret = v;
    return 0;
}

static int parse_i64(const char *s, int64_t *ret)
{
    long long v;
    char *end;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -EINVAL;
    *ret = v;
    return 0;
}

static int set_string(const struct kf_conf_key *k, char *field, const char *dir, const char *value,
                      char *why, size_t cap)
{
    int n;

    if (k->type == KF_CONF_STR) {
        n = snprintf(field, k->size, "%s", value);
        if (n < 0 || (size_t)n >= k->size) {
            snprintf(why, cap, "value too long (at most %zu bytes)", k->size - 1);
            return -EINVAL;
        }
        return 0;
    }
    if (value[0] == '\0') {
        snprintf(why, cap, "empty path");
        return -EINVAL;
    }
    if (value[0] == '/' || dir[0] == '\0')
        n = snprintf(field, k->size, "%s", value);
    else
        n = snprintf(field, k->size, "%s/%s", dir, value);
    if (n < 0 || (size_t)n >= k->size) {
        snprintf(why, cap, "path too long");
        return -EINVAL;
    }
    return 0;
}

static int set_number(const struct kf_conf_key *k, char *field, const char *value, char *why,
                      size_t cap)
{
    uint64_t u;
    int64_t i;

    if (k->type == KF_CONF_INT) {
        if (parse_i64(value, &i) < 0) {
            snprintf(why, cap, "not an integer");
            return -EINVAL;
        }
        if (i < k->min || i > k->max) {
            snprintf(why, cap, "out of range (%" PRId64 "..%" PRId64 ")", k->min, k->max);
            return -ERANGE;
        }
        *(int *)(void *)field = (int)i;
        return 0;
    }
    if (parse_u64(value, &u) < 0) {
        snprintf(why, cap, "not an unsigned integer");
        return -EINVAL;
    }
    if (u < k->umin || u > k->umax) {
        snprintf(why, cap, "out of range (%" PRIu64 "..%" PRIu64 ")", k->umin, k->umax);
        return -ERANGE;
    }
    if (k->type == KF_CONF_U32)
        *(uint32_t *)(void *)field = (uint32_t)u;
    else
        *(uint64_t *)(void *)field = u;
    return 0;
}

/* Parse value into k's field of base. 0, or a negative errno with the reason in why. */
static int set_value(const struct kf_conf_key *k, void *base, const char *dir, const char *value,
                     char *why, size_t cap)
{
    char *field = (char *)base + k->offset;
    enum kf_log_level lvl;
    int rc;

    why[0] = '\0';
    switch (k->type) {
    case KF_CONF_STR:
    case KF_CONF_PATH:
        return set_string(k, field, dir, value, why, cap);
    case KF_CONF_INT:
    case KF_CONF_U32:
    case KF_CONF_U64:
        return set_number(k, field, value, why, cap);
    case KF_CONF_LOG_LEVEL:
        if (kf_log_parse_level(value, &lvl) < 0) {
            snprintf(why, cap, "must be err, warning, notice, info or debug");
            return -EINVAL;
        }
        *(int *)(void *)field = (int)lvl;
        return 0;
    case KF_CONF_CUSTOM:
        rc = k->parse(value, field, k->size, why, cap);
        if (rc < 0 && why[0] == '\0')
            snprintf(why, cap, "invalid value");
        return rc < 0 ? rc : 0;
    }
    snprintf(why, cap, "bad key type");
    return -EINVAL;
}

int kf_conf_defaults(struct kf_conf *c)
{
    char why[CONF_WHY_MAX];

    for (size_t i = 0; i < c->nsections; i++) {
        const struct kf_conf_section *s = &c->sections[i];

        for (size_t k = 0; k < s->nkeys; k++) {
            const struct kf_conf_key *key = &s->keys[k];

            memset((char *)s->base + key->offset, 0, key->size);
            if (key->def && set_value(key, s->base, "", key->def, why, sizeof(why)) < 0) {
                kf_conf_fail(c, 0, "[%s] %s: default \"%s\": %s", s->name, key->name, key->def,
                             why);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* ---- the file ---- */

/* The section named name, and the index of its first key in c->lines. */
static const struct kf_conf_section *section_find(const struct kf_conf *c, const char *name,
                                                  size_t *ret_first)
{
    size_t first = 0;

    for (size_t i = 0; i < c->nsections; i++) {
        if (strcmp(c->sections[i].name, name) == 0) {
            *ret_first = first;
            return &c->sections[i];
        }
        first += c->sections[i].nkeys;
    }
    return NULL;
}

static int key_find(const struct kf_conf_section *s, const char *name)
{
    for (size_t k = 0; k < s->nkeys; k++) {
        if (strcmp(s->keys[k].name, name) == 0)
            return (int)k;
    }
    return -1;
}

int kf_conf_set_value(struct kf_conf *c, const char *section, const char *key, const char *value)
{
    const struct kf_conf_section *s;
    char why[CONF_WHY_MAX];
    size_t first;
    int k, rc;

    s = section_find(c, section, &first);
    if (!s || (k = key_find(s, key)) < 0) {
        kf_conf_fail(c, 0, "[%s] %s: no such key", section, key);
        return -ENOENT;
    }
    rc = set_value(&s->keys[k], s->base, "", value, why, sizeof(why));
    if (rc < 0)
        kf_conf_fail(c, 0, "[%s] %s: %s", section, key, why);
    return rc;
}

int kf_conf_line(const struct kf_conf *c, const char *section, const char *key)
{
    const struct kf_conf_section *s;
    size_t first;
    int k;

    s = section_find(c, section, &first);
    if (!s || (k = key_find(s, key)) < 0)
        return 0;
    return c->lines[first + (size_t)k];
}

/* inih's handler: 1 to go on, 0 to report an error (inih goes on reading; only the first
 * error is kept). */
static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
    struct kf_conf *c = user;
    const struct kf_conf_section *s;
    char why[CONF_WHY_MAX];
    size_t first;
    int k;

    if (section[0] == '\0') {
        kf_conf_fail(c, c->line, "key %s outside any section", name);
        return 0;
    }
    s = section_find(c, section, &first);
    if (!s) {
        kf_conf_fail(c, c->line, "unknown section [%s]", section);
        return 0;
    }
    k = key_find(s, name);
    if (k < 0) {
        kf_conf_fail(c, c->line, "unknown key [%s] %s", section, name);
        return 0;
    }
    if (c->lines[first + (size_t)k]) {
        kf_conf_fail(c, c->line, "[%s] %s given twice", section, name);
        return 0;
    }
    c->lines[first + (size_t)k] = c->line;
    if (set_value(&s->keys[k], s->base, c->dir, value, why, sizeof(why)) < 0) {
        kf_conf_fail(c, c->line, "[%s] %s = \"%s\": %s", section, name, value, why);
        return 0;
    }
    return 1;
}

/* inih asks for one line at a time: counting here gives the handler its line number. */
static char *conf_reader(char *str, int num, void *stream)
{
    struct kf_conf *c = stream;
    size_t n = 0;

    if (c->f) {
        if (!fgets(str, num, c->f))
            return NULL;
        c->line++;
        return str;
    }
    if (num < 2 || *c->s == '\0')
        return NULL;
    while (n < (size_t)num - 1 && c->s[n] != '\0' && c->s[n] != '\n')
        n++;
    if (n < (size_t)num - 1 && c->s[n] == '\n')
        n++;
    memcpy(str, c->s, n);
    str[n] = '\0';
    c->s += n;
    c->line++;
    return str;
}

/* The directory of name for relative paths: "" when it has none. */
static int conf_set_dir(struct kf_conf *c, const char *name)
{
    const char *slash = strrchr(name, '/');
    size_t dl;

    c->dir[0] = '\0';
    if (!slash)
        return 0;
    dl = (size_t)(slash - name);
    if (dl == 0)
        dl = 1; /* "/x.ini": the root */
    if (dl >= sizeof(c->dir)) {
        kf_conf_fail(c, 0, "path too long");
        return -EINVAL;
    }
    memcpy(c->dir, name, dl);
    c->dir[dl] = '\0';
    return 0;
}

/* Steps 2 to 4 once the reader is set up. */
static int conf_run(struct kf_conf *c)
{
    size_t idx = 0;
    int rc;

    rc = ini_parse_stream(conf_reader, c, conf_handler, c);
    if (rc != 0 && !c->failed)
        kf_conf_fail(c, rc > 0 ? rc : 0, rc == -2 ? "out of memory" : "syntax error");
    if (c->failed)
        return rc == -2 ? -ENOMEM : -EINVAL;
    for (size_t i = 0; i < c->nsections; i++) {
        const struct kf_conf_section *s = &c->sections[i];

        for (size_t k = 0; k < s->nkeys; k++, idx++) {
            if ((s->keys[k].flags & KF_CONF_REQUIRED) && !c->lines[idx]) {
                kf_conf_fail(c, 0, "missing [%s] %s", s->name, s->keys[k].name);
                return -EINVAL;
            }
        }
    }
    for (size_t i = 0; i < c->nsections; i++) {
        const struct kf_conf_section *s = &c->sections[i];

        if (!s->check)
            continue;
        rc = s->check(c, s);
        if (rc < 0) {
            if (!c->failed)
                kf_conf_fail(c, 0, "[%s]: refused by its check (%d)", s->name, rc);
            return rc;
        }
    }
    return 0;
}

/* Step 1 and the state every load starts from. */
static int conf_start(struct kf_conf *c, const char *name)
{
    size_t nkeys = 0;
    int rc;

    if (c->loaded)
        return -EALREADY;
    c->loaded = 1;
    c->name = "(defaults)";
    rc = kf_conf_defaults(c);
    if (rc < 0)
        return rc;
    c->name = name;
    for (size_t i = 0; i < c->nsections; i++)
        nkeys += c->sections[i].nkeys;
    memset(c->lines, 0, nkeys * sizeof(*c->lines));
    c->line = 0;
    return conf_set_dir(c, name);
}

int kf_conf_load_file(struct kf_conf *c, const char *path)
{
    int rc = conf_start(c, path);

    if (rc < 0)
        return rc;
    c->f = fopen(path, "re");
    if (!c->f) {
        rc = -errno;
        kf_conf_fail(c, 0, "cannot open: %s", strerror(-rc));
        return rc;
    }
    rc = conf_run(c);
    fclose(c->f);
    c->f = NULL;
    return rc;
}

int kf_conf_load_string(struct kf_conf *c, const char *text, const char *name)
{
    int rc = conf_start(c, name);

    if (rc < 0)
        return rc;
    c->s = text;
    rc = conf_run(c);
    c->s = NULL;
    return rc;
}
