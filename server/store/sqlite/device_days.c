/* store/sqlite/device_days.c: the local days on which each device sent a record (schema v17,
 * docs/STORE.md "device_days"): one row per (day, device), written by the group commit in its
 * own transaction (kf__store_device_days_*), read by the half-year assessment's days with data
 * (store/sqlite/plan.c) and checked against the records by kioskctl verify (audit.c).
 *
 * Why a table: a day with data is a day with any record, and records (70 million a year for
 * a 2,000-terminal city, in commit order) have no index by day; usage_daily has one, but holds
 * transactions only and ~25 million rows a year, which the assessment read with a sort of
 * DISTINCT (zone, day) in 8.9 s (BENCHMARKS.md). This one is ~730,000 rows a year. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite/int.h"

/* The local day of an instant in ms, floored (kf_local_day) in SQL. */
#define DD_LOCAL_DAY(col)                                                                          \
    "(CASE WHEN " col " + 28800000 >= 0 THEN (" col " + 28800000) / 86400000"                      \
    " ELSE (" col " + 28800000 - 86399999) / 86400000 END)"

/* v17. Keyed by day first: the commit's rows are the newest days (they append), and a period
 * is one range of the key. Built from the records, the only complete source: usage_daily
 * would miss every day on which a terminal sent health readings, states or faults but no
 * transaction, and verify would then find the table short of the records. On the city's year
 * (70 million records) this is one scan of records (docs/STORE.md, BENCHMARKS.md). */
const char *const kf__store_schema_device_days[] = {
    "CREATE TABLE device_days(day INTEGER NOT NULL, device_id TEXT NOT NULL,"
    " PRIMARY KEY(day, device_id)) WITHOUT ROWID",
    "INSERT INTO device_days SELECT DISTINCT " DD_LOCAL_DAY(
        "effective_ms") ", device_id FROM records ORDER BY 1, 2",
    NULL,
};

/* kioskctl verify: the (day, device) pairs of the records that device_days lacks, and the rows
 * it holds that no record gives. */
const char kf__store_device_days_check_sql[] = "WITH r AS (SELECT DISTINCT " DD_LOCAL_DAY(
    "effective_ms") " AS day, device_id FROM records)"
                    " SELECT (SELECT count(*) FROM (SELECT day, device_id FROM r EXCEPT"
                    " SELECT day, device_id FROM device_days))"
                    " + (SELECT count(*) FROM (SELECT day, device_id FROM device_days EXCEPT"
                    " SELECT day, device_id FROM r))";

/* ---- The commit's days ------------------------------------------------------------------ */

int kf__store_device_days_add(struct kf__store_device_days *acc, const char *device_id, int32_t day)
{
    /* A device's frames are committed together (commit_device) and nearly all of its records
     * fall on one or two days: look back over its own entries only. */
    for (size_t i = acc->n; i-- > acc->dev_first;) {
        if (acc->rows[i].day == day)
            return 0;
    }
    if (acc->n == acc->cap) {
        size_t cap = acc->cap ? 2 * acc->cap : 256;
        struct kf__store_device_day *rows = realloc(acc->rows, cap * sizeof(*rows));

        if (!rows)
            return -ENOMEM;
        acc->rows = rows;
        acc->cap = cap;
    }
    acc->rows[acc->n++] = (struct kf__store_device_day){day, device_id};
    return 0;
}

int kf__store_device_days_flush(struct kf_store *st, struct kf__store_device_days *acc)
{
    struct kf__store_multi m;
    int r;

    kf__store_multi_start(&m, MT_DEVICE_DAYS, acc->n);
    for (size_t i = 0; i < acc->n; i++) {
        sqlite3_stmt *s = NULL;
        int off;

        r = kf__store_multi_row(st, &m, &s, &off);
        if (r < 0)
            return r;
        sqlite3_bind_int(s, off + 1, acc->rows[i].day);
        sqlite3_bind_text(s, off + 2, acc->rows[i].device_id, -1, SQLITE_STATIC);
        r = kf__store_multi_next(st, &m, "device_days");
        if (r < 0)
            return r;
    }
    acc->n = acc->dev_first = 0;
    return 0;
}
