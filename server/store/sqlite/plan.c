/* store/sqlite/plan.c: the plan and the per-zone figures of the assessment (store/plan.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/plan.h"
#include "store/sqlite/int.h"

/* The local (UTC+8, no daylight saving) day of an instant in ms, in SQL; instants are after
 * 1970 here. Matches kf_usage_day. */
#define LOCAL_DAY(col) "((" col " + 28800000) / 86400000)"

static int zone_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_plan_zone *z = row;

    (void)st;
    kf__store_col_copy(z->id, sizeof(z->id), s, 0);
    kf__store_col_copy(z->unit, sizeof(z->unit), s, 1);
    kf__store_col_copy(z->bank, sizeof(z->bank), s, 2);
    z->kiosks = (uint32_t)sqlite3_column_int(s, 3);
    z->itms = (uint32_t)sqlite3_column_int(s, 4);
    kf__store_col_copy(z->hours, sizeof(z->hours), s, 5);
    return 0;
}

int kf_store_plan_zones(struct kf_store *st, struct kf_plan_zone **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r =
        kf__store_prep(st, "SELECT id, unit, bank, kiosks, itms, hours FROM zones ORDER BY id", &s);

    if (r < 0)
        return r;
    return kf__store_rows(st, s, sizeof(**ret), zone_fill, "zones", (void **)ret, ret_n);
}

/* ---- Usage by zone and item ------------------------------------------------------------ */

/* The zone and item sums, in an open-addressed table of indexes into e (0: empty): SQLite
 * would group the rows by sorting them, which costs more than reading them (BENCHMARKS.md,
 * "Usage at city scale"). */
struct zi_sums {
    struct kf_plan_zone_usage *e;
    size_t n, cap;
    uint32_t *slots;
    size_t nslots;
};

static uint64_t zi_hash(const char *z, const char *it)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    while (*z)
        h = (h ^ (uint8_t)*z++) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;
    while (*it)
        h = (h ^ (uint8_t)*it++) * 0x100000001b3ULL;
    return h;
}

static void zi_place(struct zi_sums *s, size_t i)
{
    size_t k = zi_hash(s->e[i].zone, s->e[i].item) % s->nslots;

    while (s->slots[k])
        k = (k + 1) % s->nslots;
    s->slots[k] = (uint32_t)i + 1;
}

static int zi_add(struct zi_sums *s, const char *zone, const char *item, int64_t ok, int64_t failed,
                  int64_t abandoned)
{
    struct kf_plan_zone_usage *e;
    size_t k;

    if (2 * (s->n + 1) > s->nslots) {
        size_t n = s->nslots ? 2 * s->nslots : 1024;
        uint32_t *slots = calloc(n, sizeof(*slots));

        if (!slots)
            return -ENOMEM;
        free(s->slots);
        s->slots = slots;
        s->nslots = n;
        for (size_t i = 0; i < s->n; i++)
            zi_place(s, i);
    }
    for (k = zi_hash(zone, item) % s->nslots; s->slots[k]; k = (k + 1) % s->nslots) {
        e = &s->e[s->slots[k] - 1];
        if (strcmp(e->item, item) == 0 && strcmp(e->zone, zone) == 0)
            goto add;
    }
    if (kf__store_grow((void **)&s->e, &s->cap, s->n, sizeof(*s->e)) < 0)
        return -ENOMEM;
    e = &s->e[s->n];
    memset(e, 0, sizeof(*e));
    snprintf(e->zone, sizeof(e->zone), "%s", zone);
    snprintf(e->item, sizeof(e->item), "%s", item);
    s->slots[k] = (uint32_t)++s->n;
add:
    e->ok += ok;
    e->failed += failed;
    e->abandoned += abandoned;
    return 0;
}

static int zi_cmp(const void *x, const void *y)
{
    const struct kf_plan_zone_usage *a = x, *b = y;
    int c = strcmp(a->zone, b->zone);

    return c ? c : strcmp(a->item, b->item);
}

static int code_cmp(const void *k, const void *e)
{
    return strcmp(k, *(char *const *)e);
}

/* Mark the items the catalog has (items: by code). */
static int zi_catalog(struct kf_store *st, struct zi_sums *s)
{
    sqlite3_stmt *q = NULL;
    char **codes = NULL;
    size_t n = 0, cap = 0;
    int rc, r = kf__store_prep(st, "SELECT code FROM items ORDER BY code", &q);

    if (r < 0)
        return r;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (kf__store_grow((void **)&codes, &cap, n, sizeof(*codes)) < 0 ||
            (codes[n] = strdup(kf__store_col_text(q, 0))) == NULL) {
            r = -ENOMEM;
            goto out;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "catalog");
        goto out;
    }
    for (size_t i = 0; i < s->n; i++)
        s->e[i].in_catalog = n > 0 && bsearch(s->e[i].item, codes, n, sizeof(*codes), code_cmp);
out:
    sqlite3_finalize(q);
    for (size_t i = 0; i < n; i++)
        free(codes[i]);
    free(codes);
    return r;
}

int kf_store_plan_zone_usage(struct kf_store *st, int32_t from_day, int32_t to_day,
                             struct kf_plan_zone_usage **ret, size_t *ret_n)
{
    /* Each part of the plan read by its table's key range. */
    static const char sql[] =
        "SELECT zone_id, item, ok, failed, abandoned FROM usage_daily WHERE day BETWEEN ?1 AND ?2"
        " UNION ALL SELECT zone_id, item, ok, failed, abandoned FROM usage_monthly"
        " WHERE month BETWEEN ?3 AND ?4"
        " UNION ALL SELECT zone_id, item, ok, failed, abandoned FROM usage_yearly"
        " WHERE year BETWEEN ?5 AND ?6"
        " UNION ALL SELECT zone_id, item, ok, failed, abandoned FROM usage_monthly"
        " WHERE month BETWEEN ?7 AND ?8"
        " UNION ALL SELECT zone_id, item, ok, failed, abandoned FROM usage_daily"
        " WHERE day BETWEEN ?9 AND ?10";
    struct kf__store_usage_plan plan;
    const int32_t *ranges[5];
    struct zi_sums s = {0};
    sqlite3_stmt *q = NULL;
    int rc, r;

    if (from_day >= to_day) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    kf__store_usage_plan(from_day, to_day - 1, &plan);
    ranges[0] = plan.d1;
    ranges[1] = plan.m1;
    ranges[2] = plan.y;
    ranges[3] = plan.m2;
    ranges[4] = plan.d2;
    r = kf__store_prep(st, sql, &q);
    if (r < 0)
        return r;
    for (int i = 0; i < 5; i++) {
        sqlite3_bind_int(q, 2 * i + 1, ranges[i][0]);
        sqlite3_bind_int(q, 2 * i + 2, ranges[i][1]);
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t ok = sqlite3_column_int64(q, 2), failed = sqlite3_column_int64(q, 3),
                ab = sqlite3_column_int64(q, 4);

        /* A row with no transaction is none (as the old GROUP BY over days had only rows
         * with one; the rollups never hold such a row, but a hand-edited store might). */
        if (ok == 0 && failed == 0 && ab == 0)
            continue;
        r = zi_add(&s, kf__store_col_text(q, 0), kf__store_col_text(q, 1), ok, failed, ab);
        if (r < 0)
            goto out;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "usage by zone and item");
        goto out;
    }
    if (s.n > 1)
        qsort(s.e, s.n, sizeof(*s.e), zi_cmp);
    r = zi_catalog(st, &s);
    if (r < 0)
        goto out;
    *ret = s.e;
    *ret_n = s.n;
    s.e = NULL;
out:
    sqlite3_finalize(q);
    free(s.e);
    free(s.slots);
    return r;
}

int kf_store_plan_catalog_size(struct kf_store *st, uint32_t *ret)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st, "SELECT count(*) FROM items", &s);
    int rc;

    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = (uint32_t)sqlite3_column_int(s, 0);
    else
        r = kf__store_sql_fail(st, rc, "catalog");
    sqlite3_finalize(s);
    return r;
}

/* ---- Days with data -------------------------------------------------------------------- */

struct dev_zone {
    char device[KF_TERMINAL_ID_MAX + 1];
    uint32_t zone; /* index into the sorted zone list */
};

static int dev_zone_cmp(const void *k, const void *e)
{
    return strcmp(k, ((const struct dev_zone *)e)->device);
}

static int str_ptr_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return (a > b) - (a < b);
}

/* The zone names seen, by name; each (zone, day) pair a key zone << 32 | (day - from), sorted
 * and made unique at the end: device_days holds ~2,000 rows a day for a city, and SQLite's
 * DISTINCT over them would sort them as text. */
struct days_acc {
    char **zones;
    size_t n_zones, cap_zones;
    uint64_t *keys;
    size_t n, cap;
};

static int days_key(struct days_acc *a, uint32_t zone, int32_t day, int32_t from)
{
    if (kf__store_grow((void **)&a->keys, &a->cap, a->n, sizeof(*a->keys)) < 0)
        return -ENOMEM;
    a->keys[a->n++] = (uint64_t)zone << 32 | (uint32_t)(day - from);
    return 0;
}

static long zone_index(struct days_acc *a, const char *zone)
{
    char *const *p = bsearch(&zone, a->zones, a->n_zones, sizeof(*a->zones), str_ptr_cmp);

    return p ? (long)(p - a->zones) : -1;
}

int kf_store_plan_data_days(struct kf_store *st, int32_t from_day, int32_t to_day,
                            struct kf_plan_data_day **ret, size_t *ret_n)
{
    static const char sql_zones[] = "SELECT DISTINCT zone_id FROM assets ORDER BY 1";
    static const char sql_devs[] = "SELECT d.device_id, a.zone_id FROM devices d"
                                   " JOIN assets a ON a.asset_id = d.asset_id ORDER BY 1";
    static const char sql_days[] =
        "SELECT device_id, day FROM device_days WHERE day >= ?1 AND day < ?2";
    /* Facts are few (state changes, not readings): their scan is by id order, cut to the
     * range's instants. The server's own presence facts of a will or a timeout are not data
     * the terminal sent: only a connection is. */
    static const char sql_facts[] = "SELECT a.zone_id, " LOCAL_DAY(
        "f.at_ms") " FROM sla_facts f"
                   " JOIN assets a ON a.asset_id = f.asset_id"
                   " WHERE f.at_ms >= ?1 * 86400000 - 28800000 AND f.at_ms < ?2 * 86400000 - "
                   "28800000"
                   " AND (f.kind <> 'presence' OR (f.value = 1 AND f.src = 'connect'))";
    struct days_acc a = {0};
    struct dev_zone *devs = NULL;
    struct kf_plan_data_day *out = NULL;
    size_t n_devs = 0, cap_devs = 0, n_out = 0;
    sqlite3_stmt *q = NULL;
    int rc, r;

    if (from_day >= to_day) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    /* The zones, then each device's zone by the device's asset. */
    if ((r = kf__store_prep(st, sql_zones, &q)) < 0)
        goto out;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (kf__store_grow((void **)&a.zones, &a.cap_zones, a.n_zones, sizeof(*a.zones)) < 0 ||
            (a.zones[a.n_zones] = strdup(kf__store_col_text(q, 0))) == NULL) {
            r = -ENOMEM;
            goto out;
        }
        a.n_zones++;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "zones");
        goto out;
    }
    sqlite3_finalize(q);
    if ((r = kf__store_prep(st, sql_devs, &q)) < 0)
        goto out;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        long z = zone_index(&a, kf__store_col_text(q, 1));

        if (z < 0)
            continue;
        if (kf__store_grow((void **)&devs, &cap_devs, n_devs, sizeof(*devs)) < 0) {
            r = -ENOMEM;
            goto out;
        }
        kf__store_col_copy(devs[n_devs].device, sizeof(devs[n_devs].device), q, 0);
        devs[n_devs++].zone = (uint32_t)z;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "devices");
        goto out;
    }
    sqlite3_finalize(q);
    /* The days each device sent a record. */
    if ((r = kf__store_prep(st, sql_days, &q)) < 0)
        goto out;
    sqlite3_bind_int(q, 1, from_day);
    sqlite3_bind_int(q, 2, to_day);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const struct dev_zone *d =
            bsearch(kf__store_col_text(q, 0), devs, n_devs, sizeof(*devs), dev_zone_cmp);

        if (d && (r = days_key(&a, d->zone, sqlite3_column_int(q, 1), from_day)) < 0)
            goto out;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "device days");
        goto out;
    }
    sqlite3_finalize(q);
    /* The device facts. */
    if ((r = kf__store_prep(st, sql_facts, &q)) < 0)
        goto out;
    sqlite3_bind_int(q, 1, from_day);
    sqlite3_bind_int(q, 2, to_day);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        long z = zone_index(&a, kf__store_col_text(q, 0));
        int32_t day = sqlite3_column_int(q, 1);

        if (z >= 0 && day >= from_day && day < to_day &&
            (r = days_key(&a, (uint32_t)z, day, from_day)) < 0)
            goto out;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "days with data");
        goto out;
    }
    if (a.n > 1)
        qsort(a.keys, a.n, sizeof(*a.keys), u64_cmp);
    out = calloc(a.n + 1, sizeof(*out));
    if (out == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < a.n; i++) {
        if (i > 0 && a.keys[i] == a.keys[i - 1])
            continue;
        snprintf(out[n_out].zone, sizeof(out[n_out].zone), "%s", a.zones[a.keys[i] >> 32]);
        out[n_out++].day = from_day + (int32_t)(uint32_t)a.keys[i];
    }
    *ret = out;
    *ret_n = n_out;
    out = NULL;
out:
    sqlite3_finalize(q);
    free(out);
    for (size_t i = 0; i < a.n_zones; i++)
        free(a.zones[i]);
    free(a.zones);
    free(a.keys);
    free(devs);
    return r;
}
