/* store/sqlite/query_usage.c: the usage figures of the operators' queries (kioskctl usage,
 * unknown-items, the summary's usage tables), each read from the coarsest rollups that sum
 * to exactly the period asked (kf__store_usage_plan; docs/STORE.md, "Usage rollups").
 *
 * A year is then one row per device, zone and item (usage_yearly), some 145,000 rows for a
 * 2,000-terminal city, not 25 million; but SQLite groups rows by sorting them, which costs
 * more than reading them (a year by device and item was 1.4 s). So the rows are summed here,
 * in one pass, by (device or zone, item) into temp.usage_sums, a table of the connection's
 * own (also on a read-only one), in key order; the grouping's SQL then reads that, a row per
 * pair, and adds the names and the members without any. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/err.h>
#include <kf/time.h>

#include "store/query.h"
#include "store/sqlite/int.h"
#include "store/store.h"

/* A local day number as "YYYY-MM-DD" (day 0 is 1970-01-01, as in kf/time.h). */
#define DAY(col) "date(" col " * 86400, 'unixepoch')"
/* A zone's unit and bank, each code with its name (z: zones). */
#define PLACE_JOINS " LEFT JOIN units un ON un.code = z.unit LEFT JOIN banks b ON b.code = z.bank"

/* The parameters of every query here: ?1, ?2 the period's first and last day; ?3, ?4 the same
 * as text (NULL: an open end); ?5 today and ?6 the same as text (the summary); ?7, ?8 the
 * years of ?1 and ?2; ?11 .. ?20 the plan (usage_params). */
#define NPARAMS 20

/* The usage rows of the period: its days, months and years, each read from its own table by
 * its key's range. */
#define PLAN_COLS "device_id, zone_id, item, ok, failed, abandoned, dur_ms_total"
#define USAGE_PLAN                                                                                 \
    "ud AS (SELECT " PLAN_COLS " FROM usage_daily WHERE day BETWEEN ?11 AND ?12"                   \
    " UNION ALL SELECT " PLAN_COLS " FROM usage_monthly WHERE month BETWEEN ?13 AND ?14"           \
    " UNION ALL SELECT " PLAN_COLS " FROM usage_yearly WHERE year BETWEEN ?15 AND ?16"             \
    " UNION ALL SELECT " PLAN_COLS " FROM usage_monthly WHERE month BETWEEN ?17 AND ?18"           \
    " UNION ALL SELECT " PLAN_COLS " FROM usage_daily WHERE day BETWEEN ?19 AND ?20)"

static void range(struct kf__store_qparam *p, const int32_t r[2])
{
    p[0] = (struct kf__store_qparam){.i = r[0]};
    p[1] = (struct kf__store_qparam){.i = r[1]};
}

/* Every parameter of the queries here (NPARAMS) for the period [from_day, to_day] and today;
 * a, b and t hold the texts. */
static void usage_params(struct kf__store_qparam *p, char *a, char *b, int32_t from_day,
                         int32_t to_day, int32_t today, char *t)
{
    struct kf__store_usage_plan plan;

    for (size_t i = 0; i < NPARAMS; i++)
        p[i] = (struct kf__store_qparam){.null = 1};
    p[0] = (struct kf__store_qparam){.i = from_day};
    p[1] = (struct kf__store_qparam){.i = to_day};
    p[2] = (struct kf__store_qparam){.text = from_day == INT32_MIN ? NULL
                                                                   : kf_day_format(from_day, a, 16),
                                     .null = from_day == INT32_MIN};
    p[3] =
        (struct kf__store_qparam){.text = to_day == INT32_MAX ? NULL : kf_day_format(to_day, b, 16),
                                  .null = to_day == INT32_MAX};
    p[4] = (struct kf__store_qparam){.i = today};
    p[5] = (struct kf__store_qparam){.text = kf_day_format(today, t, 16)};
    p[6] = (struct kf__store_qparam){.i = from_day < 0 ? 1970 : kf__store_usage_year(from_day)};
    p[7] =
        (struct kf__store_qparam){.i = to_day == INT32_MAX ? 9999 : kf__store_usage_year(to_day)};
    kf__store_usage_plan(from_day, to_day, &plan);
    range(p + 10, plan.d1);
    range(p + 12, plan.m1);
    range(p + 14, plan.y);
    range(p + 16, plan.m2);
    range(p + 18, plan.d2);
}

/* ---- The period's usage summed by (device or zone, item) ------------------------------- */

struct sum {
    char *a;          /* owned: the device or zone, then the item after its NUL */
    const char *item; /* in a's allocation */
    int64_t ok, failed, abandoned, dur_ms;
};

struct sums {
    struct sum *e;
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1 into e, 0 empty */
    size_t nslots;
};

static void sums_free(struct sums *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].a);
    free(s->e);
    free(s->slots);
}

static uint64_t hash2(const char *a, const char *b)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    while (*a)
        h = (h ^ (uint8_t)*a++) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;
    while (*b)
        h = (h ^ (uint8_t)*b++) * 0x100000001b3ULL;
    return h;
}

static void sums_place(struct sums *s, size_t i)
{
    size_t k = hash2(s->e[i].a, s->e[i].item) % s->nslots;

    while (s->slots[k])
        k = (k + 1) % s->nslots;
    s->slots[k] = (uint32_t)i + 1;
}

static int sums_add(struct sums *s, const char *a, const char *item, const int64_t v[4])
{
    struct sum *e;
    size_t k, la, li;

    if (2 * (s->n + 1) > s->nslots) {
        size_t n = s->nslots ? 2 * s->nslots : 4096;
        uint32_t *slots = calloc(n, sizeof(*slots));

        if (!slots)
            return -ENOMEM;
        free(s->slots);
        s->slots = slots;
        s->nslots = n;
        for (size_t i = 0; i < s->n; i++)
            sums_place(s, i);
    }
    for (k = hash2(a, item) % s->nslots; s->slots[k]; k = (k + 1) % s->nslots) {
        e = &s->e[s->slots[k] - 1];
        if (strcmp(e->item, item) == 0 && strcmp(e->a, a) == 0) {
            e->ok += v[0];
            e->failed += v[1];
            e->abandoned += v[2];
            e->dur_ms += v[3];
            return 0;
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 2048;
        struct sum *ne = realloc(s->e, cap * sizeof(*ne));

        if (!ne)
            return -ENOMEM;
        s->e = ne;
        s->cap = cap;
    }
    la = strlen(a);
    li = strlen(item);
    e = &s->e[s->n];
    e->a = malloc(la + li + 2);
    if (!e->a)
        return -ENOMEM;
    memcpy(e->a, a, la + 1);
    memcpy(e->a + la + 1, item, li + 1);
    e->item = e->a + la + 1;
    e->ok = v[0];
    e->failed = v[1];
    e->abandoned = v[2];
    e->dur_ms = v[3];
    s->slots[k] = (uint32_t)++s->n;
    return 0;
}

static int sum_cmp(const void *x, const void *y)
{
    const struct sum *a = x, *b = y;
    int c = strcmp(a->a, b->a);

    return c ? c : strcmp(a->item, b->item);
}

#define SUMS_ROWS 64

/* INSERT INTO temp.usage_sums of k rows. */
static int sums_insert_prep(struct kf_store *st, size_t k, sqlite3_stmt **ret)
{
    static const char head[] = "INSERT INTO temp.usage_sums VALUES ", row[] = "(?,?,?,?,?,?)";
    char sql[sizeof(head) + SUMS_ROWS * sizeof(row)], *p = sql;

    p = stpcpy(p, head);
    for (size_t j = 0; j < k; j++) {
        if (j)
            *p++ = ',';
        p = stpcpy(p, row);
    }
    return kf__store_prep(st, sql, ret);
}

/* Sum the period's rows (p: usage_params) by (device, item) or, per_zone, by (zone, item)
 * into temp.usage_sums, emptied first. An item code the catalog does not know is summed too:
 * the groupings leave it out when they join items, unknown-items lists it. */
static int usage_sums(struct kf_store *st, int per_zone, const struct kf__store_qparam *p)
{
    static const char sql_dev[] = "WITH " USAGE_PLAN " SELECT device_id, item, ok, failed,"
                                  " abandoned, dur_ms_total FROM ud";
    static const char sql_zone[] = "WITH " USAGE_PLAN " SELECT zone_id, item, ok, failed,"
                                   " abandoned, dur_ms_total FROM ud";
    struct sums s = {0};
    sqlite3_stmt *q = NULL;
    int rc, r;

    r = kf__store_exec_sql(st, "CREATE TEMP TABLE IF NOT EXISTS usage_sums(a TEXT NOT NULL,"
                               " item TEXT NOT NULL, ok INTEGER NOT NULL,"
                               " failed INTEGER NOT NULL, abandoned INTEGER NOT NULL,"
                               " dur_ms INTEGER NOT NULL, PRIMARY KEY(a, item)) WITHOUT ROWID");
    if (r < 0)
        return r;
    r = kf__store_prep(st, per_zone ? sql_zone : sql_dev, &q);
    if (r < 0)
        return r;
    kf__store_query_bind(q, p, NPARAMS);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(q, 0);
        const char *item = (const char *)sqlite3_column_text(q, 1);
        const int64_t v[4] = {sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3),
                              sqlite3_column_int64(q, 4), sqlite3_column_int64(q, 5)};

        r = sums_add(&s, a ? a : "", item ? item : "", v);
        if (r < 0)
            goto out_free;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "usage");
        goto out_free;
    }
    sqlite3_finalize(q);
    q = NULL;
    /* In key order: each insert appends. */
    if (s.n > 0)
        qsort(s.e, s.n, sizeof(*s.e), sum_cmp);
    r = kf__store_exec_sql(st, "SAVEPOINT usage_sums");
    if (r < 0)
        goto out_free;
    r = kf__store_exec_sql(st, "DELETE FROM temp.usage_sums");
    for (size_t i = 0; r == 0 && i < s.n; i += SUMS_ROWS) {
        size_t k = s.n - i < SUMS_ROWS ? s.n - i : SUMS_ROWS;

        /* SUMS_ROWS rows a statement (and one for the rest): a statement costs more than a
         * row. */
        if (!q || k < SUMS_ROWS) {
            sqlite3_finalize(q);
            q = NULL;
            r = sums_insert_prep(st, k, &q);
        }
        for (size_t j = 0; r == 0 && j < k; j++) {
            const struct sum *e = &s.e[i + j];
            int c = (int)j * 6;

            sqlite3_bind_text(q, c + 1, e->a, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, c + 2, e->item, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, c + 3, e->ok);
            sqlite3_bind_int64(q, c + 4, e->failed);
            sqlite3_bind_int64(q, c + 5, e->abandoned);
            sqlite3_bind_int64(q, c + 6, e->dur_ms);
        }
        if (r == 0)
            r = kf__store_stmt_run(st, q, "usage sums");
    }
    sqlite3_finalize(q);
    q = NULL;
    if (r == 0)
        r = kf__store_exec_sql(st, "RELEASE usage_sums");
    else
        kf__store_exec_sql(st, "ROLLBACK TO usage_sums; RELEASE usage_sums");
out_free:
    sqlite3_finalize(q);
    sums_free(&s);
    return r;
}

/* ---- The groupings ------------------------------------------------------------------- */

/* Usage sums of temp.usage_sums s keyed by one expression (k), over the catalog's items only:
 * a transaction whose item code the catalog does not know counts nowhere (it is listed by
 * kf_store_query_unknown_items). zjoin joins zones z for keys that need them. */
#define USAGE_X(key, zjoin)                                                                        \
    " LEFT JOIN (SELECT " key " AS k, sum(s.ok + s.failed + s.abandoned) AS total,"                \
    " sum(s.ok) AS ok, sum(s.failed) AS failed, sum(s.abandoned) AS abandoned,"                    \
    " sum(s.dur_ms) AS dur_ms FROM temp.usage_sums s JOIN items i ON i.code = s.item" zjoin        \
    " GROUP BY 1) x"
#define USAGE_ZJOIN " JOIN zones z ON z.id = s.a"
#define USAGE_SUMS                                                                                 \
    " coalesce(x.total, 0) AS total, coalesce(x.ok, 0) AS ok, coalesce(x.failed, 0) AS failed,"    \
    " coalesce(x.abandoned, 0) AS abandoned, coalesce(x.dur_ms, 0) / 1000 AS duration_s"
#define USAGE_PERIOD "SELECT ?3 AS \"from\", ?4 AS \"to\","
#define USAGE_TYPES "iiiis"
static const struct {
    const char *by;
    int per_zone;      /* usage_sums by zone, else by device */
    const char *types; /* the group's columns; the period's come first, the sums last */
    const char *sql;
} usage_sql[] = {
    {"device", 0, "xxxx",
     USAGE_PERIOD
     " d.device_id, d.asset_id AS asset, a.zone_id AS zone, z.name AS zone_name," USAGE_SUMS
     " FROM devices d JOIN assets a ON a.asset_id = d.asset_id"
     " LEFT JOIN zones z ON z.id = a.zone_id" USAGE_X("s.a", "") " ON x.k = d.device_id"
                                                                 " ORDER BY d.device_id"},
    {"device,item", 0, "xxxxxx",
     USAGE_PERIOD " s.a AS device_id, d.asset_id AS asset, s.item, i.name AS item_name,"
                  " i.family, f.name AS family_name, s.ok + s.failed + s.abandoned AS total,"
                  " s.ok, s.failed, s.abandoned, s.dur_ms / 1000 AS duration_s"
                  " FROM temp.usage_sums s JOIN items i ON i.code = s.item"
                  " LEFT JOIN families f ON f.code = i.family"
                  " LEFT JOIN devices d ON d.device_id = s.a ORDER BY s.a, s.item"},
    {"zone", 1, "xxxxxx",
     USAGE_PERIOD " z.id AS zone, z.name AS zone_name, z.unit, un.name AS unit_name, z.bank,"
                  " b.name AS bank_name," USAGE_SUMS
                  " FROM zones z" PLACE_JOINS USAGE_X("s.a", "") " ON x.k = z.id ORDER BY z.id"},
    {"unit", 1, "xx",
     USAGE_PERIOD " un.code AS unit, un.name AS unit_name," USAGE_SUMS
                  " FROM units un" USAGE_X("z.unit", USAGE_ZJOIN) " ON x.k = un.code"
                                                                  " ORDER BY un.code"},
    {"bank", 1, "xx",
     USAGE_PERIOD " b.code AS bank, b.name AS bank_name," USAGE_SUMS
                  " FROM banks b" USAGE_X("z.bank", USAGE_ZJOIN) " ON x.k = b.code"
                                                                 " ORDER BY b.code"},
    {"item", 1, "xxxx",
     USAGE_PERIOD
     " it.code AS item, it.name AS item_name, it.family, f.name AS family_name," USAGE_SUMS
     " FROM items it LEFT JOIN families f ON f.code = it.family" USAGE_X(
         "s.item", "") " ON x.k = it.code ORDER BY it.code"},
    {"family", 1, "xx",
     USAGE_PERIOD " f.code AS family, f.name AS family_name," USAGE_SUMS
                  " FROM families f" USAGE_X("i.family", "") " ON x.k = f.code"
                                                             " ORDER BY f.code"},
};

int kf_store_query_usage(struct kf_store *st, int32_t from_day, int32_t to_day, const char *by,
                         struct kf_qtable **ret)
{
    struct kf__store_qparam p[NPARAMS];
    char a[16], b[16], t[16], types[32];
    int r;

    usage_params(p, a, b, from_day, to_day, kf_local_day(kf_now_ms()), t);
    for (size_t i = 0; i < sizeof(usage_sql) / sizeof(usage_sql[0]); i++) {
        if (by && strcmp(by, usage_sql[i].by) == 0) {
            r = usage_sums(st, usage_sql[i].per_zone, p);
            if (r < 0)
                return r;
            snprintf(types, sizeof(types), "DD%s%s", usage_sql[i].types, USAGE_TYPES);
            return kf__store_query_run(st, "usage", NULL, types, usage_sql[i].sql, p, NPARAMS, ret);
        }
    }
    kf__store_seterr(st, "usage: unknown grouping \"%s\"", by ? by : "");
    return -EINVAL;
}

int kf_store_query_unknown_items(struct kf_store *st, int32_t from_day, int32_t to_day,
                                 struct kf_qtable **ret)
{
    /* Whether any code the catalog does not know was used in the period's years: a look at
     * usage_yearly (a row per device and item), nothing more when none was, which is the
     * usual case. Only for such a code are the period's rows summed, its terminals counted
     * and its first and last day looked for in usage_daily (a scan of the period's days). */
    static const char sql_any[] =
        "SELECT 1 FROM usage_yearly y WHERE y.year BETWEEN ?7 AND ?8"
        " AND NOT EXISTS (SELECT 1 FROM items i WHERE i.code = y.item) LIMIT 1";
    static const char sql[] =
        USAGE_PERIOD " s.item, count(DISTINCT d.asset_id) AS terminals,"
                     " sum(s.ok + s.failed + s.abandoned) AS total, sum(s.ok) AS ok,"
                     " sum(s.failed) AS failed, sum(s.abandoned) AS abandoned,"
                     " " DAY("(SELECT min(u.day) FROM usage_daily u WHERE u.item = s.item"
                             " AND u.day BETWEEN ?1 AND ?2)") " AS first_day,"
                                                              " " DAY("(SELECT max(u.day) FROM "
                                                                      "usage_daily u WHERE u.item "
                                                                      "= s.item"
                                                                      " AND u.day BETWEEN ?1 AND "
                                                                      "?2)") " AS last_day"
                                                                             " FROM "
                                                                             "temp.usage_sums s "
                                                                             "LEFT JOIN devices d "
                                                                             "ON d.device_id = s.a"
                                                                             " WHERE NOT EXISTS "
                                                                             "(SELECT 1 FROM items "
                                                                             "i WHERE i.code = "
                                                                             "s.item)"
                                                                             " GROUP BY s.item "
                                                                             "ORDER BY s.item";
    struct kf__store_qparam p[NPARAMS];
    char a[16], b[16], t[16];
    sqlite3_stmt *q = NULL;
    int rc, r;

    usage_params(p, a, b, from_day, to_day, kf_local_day(kf_now_ms()), t);
    r = kf__store_prep(st, sql_any, &q);
    if (r < 0)
        return r;
    kf__store_query_bind(q, p, NPARAMS);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "unknown items");
    if (rc == SQLITE_ROW) {
        r = usage_sums(st, 0, p);
    } else {
        r = kf__store_exec_sql(st, "CREATE TEMP TABLE IF NOT EXISTS usage_sums(a TEXT NOT NULL,"
                                   " item TEXT NOT NULL, ok INTEGER NOT NULL,"
                                   " failed INTEGER NOT NULL, abandoned INTEGER NOT NULL,"
                                   " dur_ms INTEGER NOT NULL, PRIMARY KEY(a, item))"
                                   " WITHOUT ROWID");
        if (r == 0)
            r = kf__store_exec_sql(st, "DELETE FROM temp.usage_sums");
    }
    if (r < 0)
        return r;
    return kf__store_query_run(st, "unknown_items", NULL, "DDxiiiiidd", sql, p, NPARAMS, ret);
}

static void range_title(char *buf, size_t cap, const char *by, const char *today, int32_t from_day,
                        int32_t to_day)
{
    char a[16], b[16];

    if (from_day == INT32_MIN && to_day == INT32_MAX) {
        snprintf(buf, cap, "usage by %s (today %s; total: all time)", by, today);
        return;
    }
    snprintf(buf, cap, "usage by %s (today %s; total: %s .. %s)", by, today,
             from_day == INT32_MIN ? "the first day" : kf_day_format(from_day, a, sizeof(a)),
             to_day == INT32_MAX ? "the last day" : kf_day_format(to_day, b, sizeof(b)));
}

int kf__store_query_usage_summary(struct kf_store *st, struct kf_qreport *rep, int32_t today,
                                  int32_t from_day, int32_t to_day)
{
    /* Today's from usage_daily (a day), the period's from usage_sums by zone. */
#define SUMMARY_SUMS                                                                               \
    " coalesce(t.total, 0) AS today_total, coalesce(x.total, 0) AS total,"                         \
    " coalesce(x.ok, 0) AS ok, coalesce(x.failed, 0) AS failed,"                                   \
    " coalesce(x.abandoned, 0) AS abandoned"
#define SUMMARY_TODAY(key, zjoin)                                                                  \
    " LEFT JOIN (SELECT " key " AS k, sum(u.ok + u.failed + u.abandoned) AS total"                 \
    " FROM usage_daily u JOIN items i ON i.code = u.item" zjoin " WHERE u.day = ?5"                \
    " GROUP BY 1) t"
    static const char sql_units[] =
        "SELECT ?6 AS today, ?3 AS \"from\", ?4 AS \"to\", un.code AS unit,"
        " un.name AS unit_name, (SELECT count(*) FROM zones z WHERE z.unit = un.code) AS "
        "zones," SUMMARY_SUMS " FROM units un" SUMMARY_TODAY(
            "z.unit",
            " JOIN zones z ON z.id = u.zone_id") " ON t.k = un.code" USAGE_X("z.unit",
                                                                             USAGE_ZJOIN) " ON x.k "
                                                                                          "= "
                                                                                          "un.code "
                                                                                          "ORDER "
                                                                                          "BY "
                                                                                          "un.code";
    static const char sql_families[] =
        "SELECT ?6 AS today, ?3 AS \"from\", ?4 AS \"to\", f.code AS family,"
        " f.name AS family_name," SUMMARY_SUMS " FROM families f" SUMMARY_TODAY(
            "i.family", "") " ON t.k = f.code" USAGE_X("i.family", "") " ON x.k = f.code"
                                                                       " ORDER BY f.code";
#undef SUMMARY_SUMS
#undef SUMMARY_TODAY
    struct kf__store_qparam p[NPARAMS];
    struct kf_qtable *t;
    char title[128], a[16], b[16], td[16];
    int r;

    usage_params(p, a, b, from_day, to_day, today, td);
    r = usage_sums(st, 1, p);
    if (r < 0)
        return r;
    range_title(title, sizeof(title), "unit", td, from_day, to_day);
    r = kf__store_query_run(st, "usage_by_unit", title, "DDDxxiiiiii", sql_units, p, NPARAMS, &t);
    if (r == 0)
        r = kf_store_query_report_add(rep, t);
    if (r < 0)
        return r;
    range_title(title, sizeof(title), "family", td, from_day, to_day);
    r = kf__store_query_run(st, "usage_by_family", title, "DDDxxiiiii", sql_families, p, NPARAMS,
                            &t);
    if (r == 0)
        r = kf_store_query_report_add(rep, t);
    return r;
}
