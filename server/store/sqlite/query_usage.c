/* store/sqlite/query_usage.c: the usage figures of the operators' queries (kioskctl usage,
 * unknown-items, the summary's usage tables), each read from the coarsest rollups that sum
 * to exactly the period asked (kf__store_usage_plan; docs/STORE.md, "Usage rollups"): a
 * year is one row per device and item, not a row per device, item and day. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kf/time.h>

#include "store/query.h"
#include "store/sqlite/int.h"
#include "store/store.h"

/* A local day number as "YYYY-MM-DD" (day 0 is 1970-01-01, as in kf/time.h). */
#define DAY(col) "date(" col " * 86400, 'unixepoch')"
/* A zone's unit and bank, each code with its name (z: zones). */
#define PLACE_JOINS " LEFT JOIN units un ON un.code = z.unit LEFT JOIN banks b ON b.code = z.bank"

/* The parameters of every query here: ?1, ?2 the period's first and last day; ?3, ?4 the same
 * as text (NULL: an open end); ?5 today and ?6 the same as text (the summary); ?11 .. ?20
 * the plan (usage_params). */
#define NPARAMS 20

/* The usage rows over the period: its days, months and years, each read from its own table
 * by its key's range. Per device (ud): the days from usage_daily. Per zone (uz), for every
 * figure by zone or coarser: the days from usage_zone_daily, a day of the city in some
 * 13,000 rows rather than 70,000. */
#define DEV_COLS "device_id, zone_id, item, ok, failed, abandoned, dur_ms_total"
#define ZONE_COLS "zone_id, item, ok, failed, abandoned, dur_ms_total"
#define USAGE_PLAN(name, cols, days)                                                               \
    name " AS (SELECT " cols " FROM " days " WHERE day BETWEEN ?11 AND ?12"                        \
         " UNION ALL SELECT " cols " FROM usage_monthly WHERE month BETWEEN ?13 AND ?14"           \
         " UNION ALL SELECT " cols " FROM usage_yearly WHERE year BETWEEN ?15 AND ?16"             \
         " UNION ALL SELECT " cols " FROM usage_monthly WHERE month BETWEEN ?17 AND ?18"           \
         " UNION ALL SELECT " cols " FROM " days " WHERE day BETWEEN ?19 AND ?20)"
#define USAGE_DEV USAGE_PLAN("ud", DEV_COLS, "usage_daily")
#define USAGE_ZONE USAGE_PLAN("uz", ZONE_COLS, "usage_zone_daily")

/* Usage sums of the rows src (ud or uz) keyed by one expression (k), over the catalog's items
 * only: a transaction whose item code the catalog does not know counts nowhere (it is listed
 * by kf_store_query_unknown_items). zjoin joins zones z for keys that need them. */
#define USAGE_X(key, src, zjoin)                                                                   \
    " LEFT JOIN (SELECT " key " AS k, sum(u.ok + u.failed + u.abandoned) AS total,"                \
    " sum(u.ok) AS ok, sum(u.failed) AS failed, sum(u.abandoned) AS abandoned,"                    \
    " sum(u.dur_ms_total) AS dur_ms FROM " src " u JOIN items i ON i.code = u.item" zjoin          \
    " GROUP BY 1) x"
#define USAGE_ZJOIN " JOIN zones z ON z.id = u.zone_id"
#define USAGE_SUMS                                                                                 \
    " coalesce(x.total, 0) AS total, coalesce(x.ok, 0) AS ok, coalesce(x.failed, 0) AS failed,"    \
    " coalesce(x.abandoned, 0) AS abandoned, coalesce(x.dur_ms, 0) / 1000 AS duration_s"
#define USAGE_PERIOD "SELECT ?3 AS \"from\", ?4 AS \"to\","
#define USAGE_TYPES "iiiis"
static const struct {
    const char *by;
    const char *types; /* the group's columns; the period's come first, the sums last */
    const char *sql;
} usage_sql[] = {
    {"device", "xxxx",
     "WITH " USAGE_DEV " " USAGE_PERIOD
     " d.device_id, d.asset_id AS asset, a.zone_id AS zone, z.name AS zone_name," USAGE_SUMS
     " FROM devices d JOIN assets a ON a.asset_id = d.asset_id"
     " LEFT JOIN zones z ON z.id = a.zone_id" USAGE_X("u.device_id", "ud",
                                                      "") " ON x.k = d.device_id"
                                                          " ORDER BY d.device_id"},
    {"device,item", "xxxxxx",
     "WITH " USAGE_DEV " " USAGE_PERIOD
     " u.device_id, d.asset_id AS asset, u.item, i.name AS item_name, i.family,"
     " f.name AS family_name, sum(u.ok + u.failed + u.abandoned) AS total,"
     " sum(u.ok) AS ok, sum(u.failed) AS failed, sum(u.abandoned) AS abandoned,"
     " sum(u.dur_ms_total) / 1000 AS duration_s"
     " FROM ud u JOIN items i ON i.code = u.item LEFT JOIN families f ON f.code = i.family"
     " LEFT JOIN devices d ON d.device_id = u.device_id"
     " GROUP BY u.device_id, u.item ORDER BY u.device_id, u.item"},
    {"zone", "xxxxxx",
     "WITH " USAGE_ZONE " " USAGE_PERIOD
     " z.id AS zone, z.name AS zone_name, z.unit, un.name AS unit_name, z.bank,"
     " b.name AS bank_name," USAGE_SUMS
     " FROM zones z" PLACE_JOINS USAGE_X("u.zone_id", "uz", "") " ON x.k = z.id ORDER BY z.id"},
    {"unit", "xx",
     "WITH " USAGE_ZONE " " USAGE_PERIOD " un.code AS unit, un.name AS unit_name," USAGE_SUMS
     " FROM units un" USAGE_X("z.unit", "uz", USAGE_ZJOIN) " ON x.k = un.code ORDER BY un.code"},
    {"bank", "xx",
     "WITH " USAGE_ZONE " " USAGE_PERIOD " b.code AS bank, b.name AS bank_name," USAGE_SUMS
     " FROM banks b" USAGE_X("z.bank", "uz", USAGE_ZJOIN) " ON x.k = b.code ORDER BY b.code"},
    {"item", "xxxx",
     "WITH " USAGE_ZONE " " USAGE_PERIOD
     " it.code AS item, it.name AS item_name, it.family, f.name AS family_name," USAGE_SUMS
     " FROM items it LEFT JOIN families f ON f.code = it.family" USAGE_X(
         "u.item", "uz", "") " ON x.k = it.code ORDER BY it.code"},
    {"family", "xx",
     "WITH " USAGE_ZONE " " USAGE_PERIOD " f.code AS family, f.name AS family_name," USAGE_SUMS
     " FROM families f" USAGE_X("i.family", "uz", "") " ON x.k = f.code ORDER BY f.code"},
};

static void range(struct kf__store_qparam *p, const int32_t r[2])
{
    p[0] = (struct kf__store_qparam){.i = r[0]};
    p[1] = (struct kf__store_qparam){.i = r[1]};
}

/* Every parameter of the queries here (NPARAMS) for the period [from_day, to_day] and today;
 * a and b hold the period's text. */
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
    kf__store_usage_plan(from_day, to_day, &plan);
    range(p + 10, plan.d1);
    range(p + 12, plan.m1);
    range(p + 14, plan.y);
    range(p + 16, plan.m2);
    range(p + 18, plan.d2);
}

int kf_store_query_usage(struct kf_store *st, int32_t from_day, int32_t to_day, const char *by,
                         struct kf_qtable **ret)
{
    struct kf__store_qparam p[NPARAMS];
    char a[16], b[16], t[16], types[32];

    usage_params(p, a, b, from_day, to_day, kf_local_day(kf_now_ms()), t);
    for (size_t i = 0; i < sizeof(usage_sql) / sizeof(usage_sql[0]); i++) {
        if (by && strcmp(by, usage_sql[i].by) == 0) {
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
    /* The codes and their sums come from the per-zone rows (a year is one row per device and
     * item); only for a code the catalog does not know, which is rare, are the terminals
     * counted from the per-device rows and the first and last day found among the zones'
     * days. */
    static const char sql[] =
        "WITH " USAGE_DEV ", " USAGE_ZONE ","
        " k AS (SELECT u.item, sum(u.ok + u.failed + u.abandoned) AS total, sum(u.ok) AS ok,"
        " sum(u.failed) AS failed, sum(u.abandoned) AS abandoned FROM uz u"
        " WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.code = u.item) GROUP BY u.item)"
        " " USAGE_PERIOD " k.item,"
        " (SELECT count(DISTINCT d.asset_id) FROM ud u JOIN devices d ON d.device_id = u.device_id"
        " WHERE u.item = k.item) AS terminals,"
        " k.total, k.ok, k.failed, k.abandoned,"
        " " DAY(
            "(SELECT min(z.day) FROM usage_zone_daily z WHERE z.item = k.item"
            " AND z.day BETWEEN ?1 AND ?2)") " AS first_day,"
                                             " " DAY(
                                                 "(SELECT max(z.day) FROM usage_zone_daily z WHERE "
                                                 "z.item = k.item"
                                                 " AND z.day BETWEEN ?1 AND ?2)") " AS last_day"
                                                                                  " FROM k ORDER "
                                                                                  "BY k.item";
    struct kf__store_qparam p[NPARAMS];
    char a[16], b[16], t[16];

    usage_params(p, a, b, from_day, to_day, kf_local_day(kf_now_ms()), t);
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
    /* Today's from the zones' day, the period's from the plan (uz). */
#define SUMMARY_SUMS                                                                               \
    " coalesce(t.total, 0) AS today_total, coalesce(x.total, 0) AS total,"                         \
    " coalesce(x.ok, 0) AS ok, coalesce(x.failed, 0) AS failed,"                                   \
    " coalesce(x.abandoned, 0) AS abandoned"
#define SUMMARY_TODAY(key, zjoin)                                                                  \
    " LEFT JOIN (SELECT " key " AS k, sum(u.ok + u.failed + u.abandoned) AS total"                 \
    " FROM usage_zone_daily u JOIN items i ON i.code = u.item" zjoin " WHERE u.day = ?5"           \
    " GROUP BY 1) t"
    static const char sql_units[] =
        "WITH " USAGE_ZONE " SELECT ?6 AS today, ?3 AS \"from\", ?4 AS \"to\", un.code AS unit,"
        " un.name AS unit_name, (SELECT count(*) FROM zones z WHERE z.unit = un.code) AS "
        "zones," SUMMARY_SUMS
        " FROM units un" SUMMARY_TODAY("z.unit", USAGE_ZJOIN) " ON t.k = un.code" USAGE_X(
            "z.unit", "uz", USAGE_ZJOIN) " ON x.k = un.code ORDER BY un.code";
    static const char sql_families[] =
        "WITH " USAGE_ZONE " SELECT ?6 AS today, ?3 AS \"from\", ?4 AS \"to\", f.code AS family,"
        " f.name AS family_name," SUMMARY_SUMS
        " FROM families f" SUMMARY_TODAY("i.family", "") " ON t.k = f.code" USAGE_X(
            "i.family", "uz", "") " ON x.k = f.code ORDER BY f.code";
#undef SUMMARY_SUMS
#undef SUMMARY_TODAY
    struct kf__store_qparam p[NPARAMS];
    struct kf_qtable *t;
    char title[128], a[16], b[16], td[16];
    int r;

    usage_params(p, a, b, from_day, to_day, today, td);
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
