/* store/sqlite/period.c: period stamps (store/period.h, schema v22, docs/STORE.md "Period
 * stamps").
 *
 * period_stamps holds a row per month of the local calendar from 2000-01 to 2099-12 (months
 * outside count for the nearest) and a row 0 before every month. Each row has two counters:
 * gen, bumped by a change that counts for that month only, and onward, bumped by a change
 * that counts for that month and every later one (row 0: every month). The stamp of months
 * [a, b] is the sum of gen over [a, b] and of onward over every row up to b: any bump that
 * counts for one of those months raises it, and counters only grow, so equal stamps mean no
 * such change. Triggers keep them, in the writer's transaction, so no writer can forget to:
 * a bump is one update of one row by its key (two for a usage_daily row moved between
 * months), and the hottest table it rides on, usage_daily, gets a few rows per commit.
 *
 * Why triggers rather than kioskd's code: the inputs are written by kioskd's commit, its SLA
 * engine, kioskctl and migrations alike; a writer added later that forgot a bump would make
 * kiosk-web serve a stale answer for good, with nothing to show it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>

#include <sqlite3.h>

#include <kf/time.h>

#include "store/period.h"
#include "store/sqlite/int.h"
#include "store/sla.h"

#define PS_FIRST 200001
#define PS_LAST 209912

/* The month (YYYYMM, clamped to the table's) of a local day, and of an instant in ms (the
 * local day: UTC+8, no daylight saving; docs/STORE.md). */
#define PS_CLAMP(m) "max(200001, min(209912, coalesce(" m ", 200001)))"
#define PS_MONTH_OF_DAY(d)                                                                         \
    PS_CLAMP("CAST(strftime('%Y%m', (" d ") * 86400, 'unixepoch') AS INTEGER)")
#define PS_MONTH_OF_MS(t)                                                                          \
    PS_CLAMP("CAST(strftime('%Y%m', ((" t ") + 28800000) / 1000, 'unixepoch') AS INTEGER)")

#define PS_GEN "UPDATE period_stamps SET gen = gen + 1 WHERE month "
#define PS_ONWARD "UPDATE period_stamps SET onward = onward + 1 WHERE month = "
#define PS_ALL PS_ONWARD "0"

/* A table every period's answers read as a whole (the registry, contracts, calendars...):
 * any change counts for every month. */
#define PS_EVERY(t)                                                                                \
    "CREATE TRIGGER period_" t "_ins AFTER INSERT ON " t " BEGIN " PS_ALL "; END",                 \
        "CREATE TRIGGER period_" t "_upd AFTER UPDATE ON " t " BEGIN " PS_ALL "; END",             \
        "CREATE TRIGGER period_" t "_del AFTER DELETE ON " t " BEGIN " PS_ALL "; END"

const char *const kf__store_schema_period[] = {
    "CREATE TABLE period_stamps(month INTEGER PRIMARY KEY, gen INTEGER NOT NULL DEFAULT 0,"
    " onward INTEGER NOT NULL DEFAULT 0)",
    "INSERT INTO period_stamps(month) VALUES (0)",
    "INSERT INTO period_stamps(month) WITH RECURSIVE m(x) AS (SELECT 200001 UNION ALL"
    " SELECT CASE WHEN x % 100 = 12 THEN x + 89 ELSE x + 1 END FROM m WHERE x < 209912)"
    " SELECT x FROM m",
    /* Usage over days: a day's row counts for its month. */
    "CREATE TRIGGER period_usage_ins AFTER INSERT ON usage_daily BEGIN " PS_GEN
    "= " PS_MONTH_OF_DAY("NEW.day") "; END",
    "CREATE TRIGGER period_usage_upd AFTER UPDATE ON usage_daily BEGIN " PS_GEN
    "IN (" PS_MONTH_OF_DAY("OLD.day") ", " PS_MONTH_OF_DAY("NEW.day") "); END",
    "CREATE TRIGGER period_usage_del AFTER DELETE ON usage_daily BEGIN " PS_GEN
    "= " PS_MONTH_OF_DAY("OLD.day") "; END",
    /* A presence fact: the first report of its terminal (the SLA report) and the terminals
     * online in a period (coverage: the last fact before the period counts) read it from its
     * month on. Other facts reach these answers through the incidents they make. */
    "CREATE TRIGGER period_facts_ins AFTER INSERT ON sla_facts WHEN NEW.kind = 'presence'"
    " BEGIN " PS_ONWARD PS_MONTH_OF_MS("NEW.at_ms") "; END",
    "CREATE TRIGGER period_facts_upd AFTER UPDATE ON sla_facts"
    " WHEN OLD.kind = 'presence' OR NEW.kind = 'presence' BEGIN " PS_ONWARD
    "min(" PS_MONTH_OF_MS("OLD.at_ms") ", " PS_MONTH_OF_MS("NEW.at_ms") "); END",
    "CREATE TRIGGER period_facts_del AFTER DELETE ON sla_facts WHEN OLD.kind = 'presence'"
    " BEGIN " PS_ONWARD PS_MONTH_OF_MS("OLD.at_ms") "; END",
    /* An incident counts in every month from its start (an SLA report reads the incidents
     * that start before its end and end, are resolved or acknowledged after its start). */
    "CREATE TRIGGER period_incidents_ins AFTER INSERT ON sla_incidents BEGIN " PS_ONWARD
        PS_MONTH_OF_MS("NEW.start_ms") "; END",
    "CREATE TRIGGER period_incidents_upd AFTER UPDATE ON sla_incidents BEGIN " PS_ONWARD
    "min(" PS_MONTH_OF_MS("OLD.start_ms") ", " PS_MONTH_OF_MS("NEW.start_ms") "); END",
    "CREATE TRIGGER period_incidents_del AFTER DELETE ON sla_incidents BEGIN " PS_ONWARD
        PS_MONTH_OF_MS("OLD.start_ms") "; END",
    /* A device's first frame (by sequence) sets its terminal's first report (its records
     * are inserted after it in the same transaction). One probe of envelopes_dev_seq. */
    "CREATE TRIGGER period_envelopes_first AFTER INSERT ON envelopes WHEN NOT EXISTS"
    " (SELECT 1 FROM envelopes e WHERE e.device_id = NEW.device_id"
    " AND e.seq_first <= NEW.seq_first AND e.id <> NEW.id) BEGIN " PS_ALL "; END",
    /* Devices: which asset and whether enrolled; not what the commit updates on each frame
     * (last seen, acks, online). */
    "CREATE TRIGGER period_devices_ins AFTER INSERT ON devices BEGIN " PS_ALL "; END",
    "CREATE TRIGGER period_devices_upd AFTER UPDATE OF device_id, asset_id, status, created_ms"
    " ON devices BEGIN " PS_ALL "; END",
    "CREATE TRIGGER period_devices_del AFTER DELETE ON devices BEGIN " PS_ALL "; END",
    PS_EVERY("units"),
    PS_EVERY("banks"),
    PS_EVERY("zones"),
    PS_EVERY("families"),
    PS_EVERY("items"),
    PS_EVERY("assets"),
    PS_EVERY("asset_service"),
    PS_EVERY("contract_versions"),
    PS_EVERY("sla_contracts"),
    PS_EVERY("sla_windows"),
    PS_EVERY("sla_calendars"),
    PS_EVERY("zone_decisions"),
    NULL,
};

static int32_t month_of_day(int32_t day)
{
    int32_t ym = kf__store_usage_month(day); /* YYYYMM, as usage_monthly's key */

    return ym < PS_FIRST ? PS_FIRST : ym > PS_LAST ? PS_LAST : ym;
}

int kf_store_period_stamp(struct kf_store *st, int32_t from_day, int32_t to_day, int64_t *ret)
{
    struct kf_sla_cursor cur;
    sqlite3_stmt *s = NULL;
    int r, rc;

    if (from_day > to_day)
        return -EINVAL;
    if (to_day >= kf_local_day(kf_now_ms()))
        return -EAGAIN;
    r = kf_store_sla_cursor(st, &cur);
    if (r < 0)
        return r;
    if (cur.tick_ms < kf_day_start_ms(to_day + 1))
        return -EAGAIN;
    r = kf__store_prep(
        st,
        "SELECT total(CASE WHEN month BETWEEN ?1 AND ?2 THEN gen END) + total(onward)"
        " FROM period_stamps WHERE month <= ?2",
        &s);
    if (r < 0)
        return r;
    sqlite3_bind_int(s, 1, month_of_day(from_day));
    sqlite3_bind_int(s, 2, month_of_day(to_day));
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(s, 0);
    else
        r = kf__store_sql_fail(st, rc, "period stamp");
    sqlite3_finalize(s);
    return r;
}
