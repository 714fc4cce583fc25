/* test_period.c: period stamps (store/period.h, docs/STORE.md "Period stamps"): a month's
 * stamp moves with every change an answer over it reads, and with nothing else: usage of its
 * own days, presence facts and incidents from earlier months, the registry; not usage of
 * other months, nor what the commit updates on each frame. A period is settled only once it
 * is over and the SLA engine has run past it. The periods are in 2025, well before now. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/time.h>

#include "kf_test_store.h"
#include "store/period.h"
#include "store/registry.h"
#include "store/store.h"

static struct kf_test_store tstore;

static void exec(const char *sql)
{
    kf_test_store_exec(&tstore, sql);
}

static int32_t day(const char *s)
{
    int32_t d;

    cr_assert_eq(kf_day_parse(s, &d), 0, "%s", s);
    return d;
}

/* The stamp of a whole month, "2025-09". */
static int64_t month(const char *ym)
{
    char a[16], b[16];
    int64_t v = -1;
    int y, m, r;

    cr_assert_eq(sscanf(ym, "%d-%d", &y, &m), 2);
    snprintf(a, sizeof(a), "%04d-%02d-01", y, m);
    snprintf(b, sizeof(b), "%04d-%02d-01", m == 12 ? y + 1 : y, m % 12 + 1);
    r = kf_store_period_stamp(tstore.st, day(a), day(b) - 1, &v);
    cr_assert_eq(r, 0, "%s: %d %s", ym, r, kf_store_errmsg(tstore.st));
    return v;
}

static void setup(void)
{
    struct kf_device_reg reg = {
        .device_id = "KF-XH-0001", .asset_id = "A-1", .kind = KF_KIND_KIOSK, .zone_id = "Z-XH-001"};
    char sql[160];

    kf_test_store_open(&tstore, "kf-test-period", KF_TEST_FIXTURES_SMALL);
    memset(reg.pk, 1, sizeof(reg.pk));
    cr_assert_eq(kf_store_register_device(tstore.st, &reg), 0, "%s", kf_store_errmsg(tstore.st));
    snprintf(sql, sizeof(sql), "UPDATE sla_cursor SET tick_ms = %lld",
             (long long)kf_now_ms() - 3600000);
    exec(sql);
}

static void teardown(void)
{
    kf_test_store_close(&tstore);
}

TestSuite(period, .init = setup, .fini = teardown);

static void usage_row(const char *d, int ok)
{
    char sql[400];

    snprintf(sql, sizeof(sql),
             "INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok) VALUES"
             " (%d, 'Z-XH-001', 'A-1', 'KF-XH-0001', 'GJJ-01', %d)"
             " ON CONFLICT DO UPDATE SET ok = ok + excluded.ok",
             (int)day(d), ok);
    exec(sql);
}

Test(period, settled_only_when_over_and_ticked)
{
    int32_t today = kf_local_day(kf_now_ms());
    int64_t v = 0;
    char sql[96];

    cr_assert_eq(kf_store_period_stamp(tstore.st, today - 3, today, &v), -EAGAIN);
    cr_assert_eq(kf_store_period_stamp(tstore.st, today - 3, today + 40, &v), -EAGAIN);
    cr_assert_eq(kf_store_period_stamp(tstore.st, today - 30, today - 2, &v), 0);
    snprintf(sql, sizeof(sql), "UPDATE sla_cursor SET tick_ms = %lld",
             (long long)kf_day_start_ms(today - 1) - 1);
    exec(sql);
    cr_assert_eq(kf_store_period_stamp(tstore.st, today - 3, today - 2, &v), -EAGAIN,
                 "the engine's last run was before the period's end");
    snprintf(sql, sizeof(sql), "UPDATE sla_cursor SET tick_ms = %lld",
             (long long)kf_day_start_ms(today - 1));
    exec(sql);
    cr_assert_eq(kf_store_period_stamp(tstore.st, today - 3, today - 2, &v), 0);
    exec("UPDATE sla_cursor SET tick_ms = 0"); /* the engine has never run */
    cr_assert_eq(kf_store_period_stamp(tstore.st, day("2025-09-01"), day("2025-09-30"), &v),
                 -EAGAIN);
    cr_assert_eq(kf_store_period_stamp(tstore.st, day("2025-09-02"), day("2025-09-01"), &v),
                 -EINVAL);
}

Test(period, usage_counts_for_its_own_month)
{
    int64_t aug = month("2025-08"), sep = month("2025-09"), oct = month("2025-10");
    int64_t q3;

    cr_assert_eq(month("2025-09"), sep, "nothing changed, nothing moves");
    usage_row("2025-09-14", 3);
    cr_assert_neq(month("2025-09"), sep);
    cr_assert_eq(month("2025-08"), aug);
    cr_assert_eq(month("2025-10"), oct);
    sep = month("2025-09");
    usage_row("2025-09-14", 2); /* the commit's upsert: an update of the row */
    cr_assert_neq(month("2025-09"), sep);
    sep = month("2025-09");
    usage_row("2025-10-01", 1);
    cr_assert_eq(month("2025-09"), sep, "October's usage is not September's");
    cr_assert_neq(month("2025-10"), oct);
    cr_assert_eq(kf_store_period_stamp(tstore.st, day("2025-07-01"), day("2025-09-30"), &q3), 0);
    exec("DELETE FROM usage_daily WHERE day = (SELECT min(day) FROM usage_daily)");
    cr_assert_neq(month("2025-09"), sep, "a deleted row counts too");
    {
        int64_t q3b = 0;

        cr_assert_eq(kf_store_period_stamp(tstore.st, day("2025-07-01"), day("2025-09-30"), &q3b),
                     0);
        cr_assert_neq(q3b, q3, "a range holds its months");
    }
}

Test(period, facts_and_incidents_count_from_their_month_on)
{
    int64_t jul = month("2025-07"), aug = month("2025-08"), sep = month("2025-09");
    char sql[600];
    int64_t at = kf_day_start_ms(day("2025-08-20"));

    snprintf(sql, sizeof(sql),
             "INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, value)"
             " VALUES ('A-1', 'KF-XH-0001', 'presence', %lld, %lld, 1)",
             (long long)at, (long long)at);
    exec(sql);
    cr_assert_eq(month("2025-07"), jul);
    cr_assert_neq(month("2025-08"), aug);
    cr_assert_neq(month("2025-09"), sep, "a first report in August changes September's report");
    jul = month("2025-07"), aug = month("2025-08"), sep = month("2025-09");
    snprintf(sql, sizeof(sql),
             "INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, value, periph,"
             " state) VALUES ('A-1', 'KF-XH-0001', 'periph', %lld, %lld, 0, 'printer', 'jam')",
             (long long)at, (long long)at);
    exec(sql);
    cr_assert_eq(month("2025-09"), sep, "a peripheral fact reaches reports by its incident");
    snprintf(sql, sizeof(sql),
             "INSERT INTO sla_incidents(asset_id, cause, state, attr, breached, detail,"
             " opened_ms, on_site_total_ms, n_reopened, n_attr_changes, n_notes, start_ms, spans,"
             " updated_ms) VALUES ('A-1', 'offline', 'opened', 'maintainer', 0, '{}', %lld, 0,"
             " 0, 0, 0, %lld, '[]', %lld)",
             (long long)at, (long long)at, (long long)at);
    exec(sql);
    cr_assert_eq(month("2025-07"), jul);
    cr_assert_neq(month("2025-08"), aug);
    cr_assert_neq(month("2025-09"), sep);
    sep = month("2025-09");
    exec("UPDATE sla_incidents SET state = 'resolved'");
    cr_assert_neq(month("2025-09"), sep, "an incident's change reaches the months after it");
}

Test(period, registry_counts_for_every_month_and_frames_for_none)
{
    int64_t jul = month("2025-07"), sep = month("2025-09");

    exec("UPDATE devices SET last_seen_ms = last_seen_ms + 1, acked_seq = acked_seq + 1");
    cr_assert_eq(month("2025-09"), sep, "what every frame updates is no period's input");
    exec("INSERT INTO sla_terminal_state(asset_id, device_id, at_ms, state)"
         " VALUES ('A-1', 'KF-XH-0001', 1, '{}')");
    exec("UPDATE sla_terminal_state SET at_ms = at_ms + 1, state = '{\"online\":true}'");
    cr_assert_eq(month("2025-09"), sep, "the engine's state of now is no period's input");
    exec("UPDATE zones SET name = name || ' (renamed)' WHERE id = 'Z-XH-001'");
    cr_assert_neq(month("2025-07"), jul);
    cr_assert_neq(month("2025-09"), sep);
    jul = month("2025-07"), sep = month("2025-09");
    exec("UPDATE devices SET asset_id = asset_id");
    cr_assert_neq(month("2025-09"), sep, "a device's asset is every period's input");
    sep = month("2025-09");
    exec("INSERT INTO sla_windows(zone_id, start_ms, end_ms, reason, entered_by, entered_ms)"
         " VALUES ('Z-XH-001', 1, 2, 'test', 'op', 3)");
    cr_assert_neq(month("2025-09"), sep);
}
