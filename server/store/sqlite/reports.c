/* store/sqlite/reports.c: the bureau's reports' reads (store/reports.h). Nothing here is on
 * the ingest path: statements are prepared per call. The usage figures come from
 * usage_daily alone (as every usage figure does, docs/STORE.md), read by its key's first
 * column, the day. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/reports.h"
#include "store/sqlite/int.h"

/* ---- Names ------------------------------------------------------------------------------------
 */

static int name_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_reports_name *n = row;

    (void)st;
    kf__store_col_copy(n->code, sizeof(n->code), s, 0);
    kf__store_col_copy(n->name, sizeof(n->name), s, 1);
    kf__store_col_copy(n->family, sizeof(n->family), s, 2);
    return 0;
}

int kf_store_reports_names(struct kf_store *st, const char *kind, struct kf_reports_name **ret,
                           size_t *ret_n)
{
    static const struct {
        const char *kind, *sql;
    } q[] = {
        {"unit", "SELECT code, name, NULL FROM units ORDER BY code"},
        {"bank", "SELECT code, name, NULL FROM banks ORDER BY code"},
        {"family", "SELECT code, name, NULL FROM families ORDER BY code"},
        {"item", "SELECT code, name, family FROM items ORDER BY code"},
    };
    sqlite3_stmt *s = NULL;
    int r;

    for (size_t i = 0; kind && i < sizeof(q) / sizeof(q[0]); i++) {
        if (strcmp(kind, q[i].kind) != 0)
            continue;
        r = kf__store_prep(st, q[i].sql, &s);
        if (r < 0)
            return r;
        return kf__store_rows(st, s, sizeof(**ret), name_fill, kind, (void **)ret, ret_n);
    }
    kf__store_seterr(st, "no names of kind %s", kind ? kind : "(null)");
    return -EINVAL;
}

/* ---- Zones ------------------------------------------------------------------------------------
 */

/* zones.hours ({"weekday": spec, "weekend": spec|null}) and itm_hours -> the weeks of the
 * zone's kiosks and ITMs, as the SLA reads them (store/sqlite/sla_admin.c). */
static int zone_weeks(const char *hours_json, const char *itm_hours, struct kf_reports_zone *z)
{
    json_error_t jerr;
    json_t *h = json_loads(hours_json, 0, &jerr);
    json_t *wd = json_object_get(h, "weekday"), *we = json_object_get(h, "weekend");
    const char *wds = json_string_value(wd),
               *wes = json_is_string(we) ? json_string_value(we) : NULL;
    int r = -EINVAL;

    if (json_is_string(wd) && (we == NULL || json_is_string(we) || json_is_null(we)) &&
        kf_calendar_week_for_terminal(wds, wes, itm_hours, 0, &z->kiosk_week) == 0 &&
        kf_calendar_week_for_terminal(wds, wes, itm_hours, 1, &z->itm_week) == 0)
        r = 0;
    json_decref(h);
    return r;
}

static int zone_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_reports_zone *z = row;

    kf__store_col_copy(z->id, sizeof(z->id), s, 0);
    kf__store_col_copy(z->name, sizeof(z->name), s, 1);
    kf__store_col_copy(z->branch, sizeof(z->branch), s, 2);
    kf__store_col_copy(z->unit, sizeof(z->unit), s, 3);
    kf__store_col_copy(z->bank, sizeof(z->bank), s, 4);
    z->kiosks = sqlite3_column_int64(s, 5);
    z->itms = sqlite3_column_int64(s, 6);
    if (zone_weeks(kf__store_col_text(s, 7),
                   sqlite3_column_type(s, 8) == SQLITE_NULL ? NULL : kf__store_col_text(s, 8),
                   z) < 0) {
        kf__store_seterr(st, "zone %s: its hours are not valid opening hours (docs/SLA.md 2.1)",
                         z->id);
        return -EINVAL;
    }
    return 0;
}

int kf_store_reports_zones(struct kf_store *st, struct kf_reports_zone **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT id, name, branch, unit, bank, kiosks, itms, hours, itm_hours"
                           " FROM zones ORDER BY id",
                           &s);

    if (r < 0)
        return r;
    return kf__store_rows(st, s, sizeof(**ret), zone_fill, "zones", (void **)ret, ret_n);
}

/* ---- Usage ------------------------------------------------------------------------------------
 */

/* A day's rows are summed by (zone, asset, item) over the day's devices: usage_daily is keyed
 * (day, device, zone, item), and an asset may have had several devices. Each string is
 * interned once (ids into names); a day's sums are keyed by the three ids, and put in order
 * by the ranks of the names (byte order) when the day ends. */
struct usage_names {
    char **names;    /* by id */
    uint32_t *rank;  /* by id: the name's place in byte order, valid when !stale */
    uint32_t *slots; /* open addressing: id + 1, 0 empty */
    size_t n, cap, nslots;
    int stale;
};

struct usage_sum {
    uint32_t id[3]; /* zone, asset, item */
    uint64_t key;   /* the ranks, packed: set when the day ends */
    int64_t ok, failed, abandoned;
};

struct usage_day {
    struct usage_sum *e;
    size_t n, cap;
    uint32_t *slots; /* index + 1 into e, 0 empty */
    size_t nslots;
};

#define USAGE_RANK_BITS 21 /* 2 million distinct names in one read */

static uint64_t fnv(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
    return h;
}

static int names_grow(struct usage_names *t)
{
    size_t n = t->nslots ? 2 * t->nslots : 4096;
    uint32_t *slots = calloc(n, sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    for (size_t i = 0; i < t->n; i++) {
        size_t k = fnv(t->names[i], strlen(t->names[i])) % n;

        while (slots[k])
            k = (k + 1) % n;
        slots[k] = (uint32_t)i + 1;
    }
    return 0;
}

/* The id of s (len bytes), interned if new; -ENOMEM, -EOVERFLOW past USAGE_RANK_BITS. */
static int64_t names_id(struct usage_names *t, const char *s, size_t len)
{
    size_t k;

    if (2 * (t->n + 1) > t->nslots && names_grow(t) < 0)
        return -ENOMEM;
    for (k = fnv(s, len) % t->nslots; t->slots[k]; k = (k + 1) % t->nslots) {
        const char *e = t->names[t->slots[k] - 1];

        if (strncmp(e, s, len) == 0 && e[len] == '\0')
            return t->slots[k] - 1;
    }
    if (t->n >= ((size_t)1 << USAGE_RANK_BITS))
        return -EOVERFLOW;
    if (kf__store_grow((void **)&t->names, &t->cap, t->n, sizeof(*t->names)) < 0 ||
        (t->names[t->n] = strndup(s, len)) == NULL)
        return -ENOMEM;
    t->slots[k] = (uint32_t)t->n + 1;
    t->stale = 1;
    return (int64_t)t->n++;
}

static int id_cmp(const void *x, const void *y, void *names)
{
    char *const *v = names;

    return strcmp(v[*(const uint32_t *)x], v[*(const uint32_t *)y]);
}

static int names_rank(struct usage_names *t)
{
    uint32_t *ids, *rank;

    if (!t->stale)
        return 0;
    ids = malloc((t->n + 1) * sizeof(*ids));
    rank = realloc(t->rank, (t->n + 1) * sizeof(*rank));
    if (!ids || !rank) {
        free(ids);
        if (rank)
            t->rank = rank;
        return -ENOMEM;
    }
    t->rank = rank;
    for (size_t i = 0; i < t->n; i++)
        ids[i] = (uint32_t)i;
    qsort_r(ids, t->n, sizeof(*ids), id_cmp, t->names);
    for (size_t i = 0; i < t->n; i++)
        t->rank[ids[i]] = (uint32_t)i;
    free(ids);
    t->stale = 0;
    return 0;
}

static uint64_t ids_hash(const uint32_t id[3])
{
    uint64_t h = ((uint64_t)id[0] << 42 | (uint64_t)id[1] << 21 | id[2]) * 0x9E3779B97F4A7C15ULL;

    return h ^ (h >> 29);
}

static int day_add(struct usage_day *d, const uint32_t id[3], int64_t ok, int64_t failed,
                   int64_t abandoned)
{
    struct usage_sum *e;
    size_t k;

    if (2 * (d->n + 1) > d->nslots) {
        size_t n = d->nslots ? 2 * d->nslots : 4096;
        uint32_t *slots = calloc(n, sizeof(*slots));

        if (!slots)
            return -ENOMEM;
        free(d->slots);
        d->slots = slots;
        d->nslots = n;
        for (size_t i = 0; i < d->n; i++) {
            for (k = ids_hash(d->e[i].id) % n; slots[k]; k = (k + 1) % n)
                ;
            slots[k] = (uint32_t)i + 1;
        }
    }
    for (k = ids_hash(id) % d->nslots; d->slots[k]; k = (k + 1) % d->nslots) {
        e = &d->e[d->slots[k] - 1];
        if (memcmp(e->id, id, sizeof(e->id)) == 0)
            goto add;
    }
    if (kf__store_grow((void **)&d->e, &d->cap, d->n, sizeof(*d->e)) < 0)
        return -ENOMEM;
    e = &d->e[d->n];
    *e = (struct usage_sum){{id[0], id[1], id[2]}, 0, 0, 0, 0};
    d->slots[k] = (uint32_t)++d->n;
add:
    e->ok += ok;
    e->failed += failed;
    e->abandoned += abandoned;
    return 0;
}

static int sum_key_cmp(const void *x, const void *y)
{
    uint64_t a = ((const struct usage_sum *)x)->key, b = ((const struct usage_sum *)y)->key;

    return (a > b) - (a < b);
}

/* The day's sums in order, to cb; the day emptied. */
static int day_emit(struct usage_names *t, struct usage_day *d, int32_t day, kf_reports_usage_cb cb,
                    void *ud)
{
    struct kf_reports_usage u;
    int r = names_rank(t);

    if (r < 0)
        return r;
    for (size_t i = 0; i < d->n; i++) {
        const uint32_t *id = d->e[i].id;

        d->e[i].key = (uint64_t)t->rank[id[0]] << (2 * USAGE_RANK_BITS) |
                      (uint64_t)t->rank[id[1]] << USAGE_RANK_BITS | t->rank[id[2]];
    }
    if (d->n > 1)
        qsort(d->e, d->n, sizeof(*d->e), sum_key_cmp);
    for (size_t i = 0; r == 0 && i < d->n; i++) {
        const struct usage_sum *e = &d->e[i];

        memset(&u, 0, sizeof(u));
        u.day = day;
        snprintf(u.zone, sizeof(u.zone), "%s", t->names[e->id[0]]);
        snprintf(u.asset, sizeof(u.asset), "%s", t->names[e->id[1]]);
        snprintf(u.item, sizeof(u.item), "%s", t->names[e->id[2]]);
        u.ok = e->ok;
        u.failed = e->failed;
        u.abandoned = e->abandoned;
        r = cb(ud, &u);
    }
    d->n = 0;
    if (d->nslots)
        memset(d->slots, 0, d->nslots * sizeof(*d->slots));
    return r;
}

int kf_store_reports_usage_each(struct kf_store *st, int32_t from_day, int32_t to_day,
                                kf_reports_usage_cb cb, void *ud)
{
    struct usage_names t = {0};
    struct usage_day d = {0};
    sqlite3_stmt *s = NULL;
    int32_t day = 0;
    int rc, r = kf__store_prep(st,
                               "SELECT day, zone_id, asset_id, item, ok, failed, abandoned"
                               " FROM usage_daily WHERE day BETWEEN ?1 AND ?2",
                               &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, from_day);
    sqlite3_bind_int64(s, 2, to_day);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int32_t row_day = (int32_t)sqlite3_column_int64(s, 0);
        uint32_t id[3];

        if (d.n > 0 && row_day != day && (r = day_emit(&t, &d, day, cb, ud)) < 0)
            goto out;
        day = row_day;
        for (int c = 0; c < 3; c++) {
            /* Truncated to what a row holds, as kf__store_col_copy does. */
            const char *v = kf__store_col_text(s, c + 1);
            size_t len = strlen(v), max = c == 2 ? KF_ITEM_CODE_MAX : KF_TERMINAL_ID_MAX;
            int64_t x = names_id(&t, v, len < max ? len : max);

            if (x < 0) {
                r = (int)x;
                goto out;
            }
            id[c] = (uint32_t)x;
        }
        r = day_add(&d, id, sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5),
                    sqlite3_column_int64(s, 6));
        if (r < 0)
            goto out;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "usage");
        goto out;
    }
    if (d.n > 0)
        r = day_emit(&t, &d, day, cb, ud);
out:
    if (r == -EOVERFLOW)
        kf__store_seterr(st, "usage: more than %u distinct codes in one read",
                         1u << USAGE_RANK_BITS);
    sqlite3_finalize(s);
    for (size_t i = 0; i < t.n; i++)
        free(t.names[i]);
    free(t.names);
    free(t.rank);
    free(t.slots);
    free(d.e);
    free(d.slots);
    return r;
}

struct usage_rows {
    struct kf_reports_usage *v;
    size_t n, cap;
};

static int usage_keep(void *ud, const struct kf_reports_usage *u)
{
    struct usage_rows *a = ud;

    if (kf__store_grow((void **)&a->v, &a->cap, a->n, sizeof(*a->v)) < 0)
        return -ENOMEM;
    a->v[a->n++] = *u;
    return 0;
}

int kf_store_reports_usage(struct kf_store *st, int32_t from_day, int32_t to_day,
                           struct kf_reports_usage **ret, size_t *ret_n)
{
    struct usage_rows a = {0};
    int r = kf_store_reports_usage_each(st, from_day, to_day, usage_keep, &a);

    if (r < 0) {
        free(a.v);
        return r;
    }
    *ret = a.v;
    *ret_n = a.n;
    return 0;
}

/* ---- Presence ---------------------------------------------------------------------------------
 */

static int asset_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    (void)st;
    kf__store_col_copy(row, KF_TERMINAL_ID_MAX + 1, s, 0);
    return 0;
}

int kf_store_reports_online(struct kf_store *st, int64_t from_ms, int64_t to_ms,
                            char (**ret)[KF_TERMINAL_ID_MAX + 1], size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    /* Facts are taken in commit order (docs/SLA.md 10.1): the state at the period's start is
     * the last presence fact before it. */
    int r = kf__store_prep(st,
                           "SELECT asset_id FROM sla_facts WHERE kind = 'presence' AND value = 1"
                           " AND at_ms >= ?1 AND at_ms < ?2"
                           " UNION SELECT f.asset_id FROM sla_facts f JOIN"
                           " (SELECT max(id) AS id FROM sla_facts WHERE kind = 'presence'"
                           "  AND at_ms < ?1 GROUP BY asset_id) l ON f.id = l.id"
                           " WHERE f.value = 1 ORDER BY 1",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, from_ms);
    sqlite3_bind_int64(s, 2, to_ms);
    return kf__store_rows(st, s, sizeof(**ret), asset_fill, "presence", (void **)ret, ret_n);
}
