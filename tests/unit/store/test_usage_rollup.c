/* test_usage_rollup.c: the usage rollups (docs/STORE.md, "Usage rollups") give the figures of
 * the transactions themselves. Random ingests over a year and a half (a leap day, year ends,
 * terminals moving zones, item codes the catalog does not know and then learns), then every
 * grouping of kf_store_query_usage over random and aligned ranges compared, cell by cell,
 * with a sum taken directly over the records (the txns view); the migration's rollups (v12,
 * built by SQL from usage_daily) against the ones the commits kept; the audit's check. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/record.h>
#include <kf/time.h>

#include "kf_test_store.h"
#include "store/audit.h"
#include "store/ingest.h"
#include "store/query.h"
#include "store/registry.h"
#include "store/store.h"

#define NDEV 5
#define DAY_MS (86400LL * 1000)

static struct kf_test_store tstore;
static const uint8_t raw_frame[] = "not a real frame: the store keeps whatever bytes it is given";
static const char *const devs[NDEV] = {"KF-XH-0001", "KF-XH-0002", "KF-XH-0003", "KF-WG-0001",
                                       "KF-WG-0002"};
/* Z-XH-002 gets none of the first commits: a zone with no transaction is still listed. */
static const char *const dev_zone[NDEV] = {"Z-XH-001", "Z-XH-001", "Z-XH-001", "Z-WG-001",
                                           "Z-WG-001"};
static uint64_t next_seq[NDEV];
static int32_t day0; /* 2026-11-20: the first day of the data */

static void exec(const char *sql)
{
    kf_test_store_exec(&tstore, sql);
}

static void setup(void)
{
    kf_test_store_open(&tstore, "kf-test-rollup", KF_TEST_FIXTURES_SMALL);
    for (int d = 0; d < NDEV; d++) {
        char asset[16];
        struct kf_device_reg reg = {.device_id = devs[d],
                                    .asset_id = asset,
                                    .kind = d % 2 ? KF_KIND_ITM : KF_KIND_KIOSK,
                                    .zone_id = dev_zone[d]};

        snprintf(asset, sizeof(asset), "A-%d", d + 1);
        memset(reg.pk, d + 1, sizeof(reg.pk));
        cr_assert_eq(kf_store_register_device(tstore.st, &reg), 0, "%s",
                     kf_store_errmsg(tstore.st));
        next_seq[d] = 1;
    }
    cr_assert_eq(kf_day_parse("2026-11-20", &day0), 0);
    srand(20261120);
}

static void teardown(void)
{
    kf_test_store_close(&tstore);
}

TestSuite(usage_rollup, .init = setup, .fini = teardown);

static int rnd(int n)
{
    return rand() % n;
}

/* One commit: a frame of 1..12 records for each of a few devices, txns at random times of a
 * day within [first, first + span) (local days), now and then a health sample or an item
 * code the catalog does not know. Device clocks are right; receipt follows within an hour. */
static void commit_random(int32_t first, int span)
{
    struct {
        struct kf_ingest in;
        struct kf_record recs[12];
    } f[NDEV];
    struct kf_ingest *items[NDEV];
    struct kf_commit_out out[NDEV];
    static const char *const codes[] = {"HF-001", "HF-002", "SB-003", "HF-001", "SB-003", "ZZ-404"};
    size_t n = 0;

    memset(f, 0, sizeof(f));
    for (int d = 0; d < NDEV; d++) {
        int64_t t0 = kf_day_start_ms(first + rnd(span)), last = 0;
        uint32_t k = 1 + (uint32_t)rnd(12);

        if (rnd(4) == 0)
            continue;
        for (uint32_t i = 0; i < k; i++) {
            struct kf_record *r = &f[n].recs[i];
            /* Some a few minutes before local midnight, so that the next day's rows are
             * near; the day a txn counts on is its effective time's (kf_usage_day). */
            int64_t ts = t0 + (rnd(3) == 0 ? DAY_MS - 60000 * (1 + rnd(30)) : rnd(86400) * 1000LL);

            if (rnd(9) == 0) {
                r->type = KF_REC_HEALTH;
                r->ts_ms = ts;
                r->u.health.temp_mc = KF_TEMP_NONE;
            } else {
                r->type = KF_REC_TXN;
                r->ts_ms = ts;
                snprintf(r->u.txn.item, sizeof(r->u.txn.item), "%s",
                         codes[rnd((int)(sizeof(codes) / sizeof(codes[0])))]);
                r->u.txn.outcome = (uint8_t)(1 + rnd(3));
                r->u.txn.dur_ms = (uint32_t)(1000 + rnd(600000));
            }
            last = ts > last ? ts : last;
        }
        f[n].in.hdr.kind = KF_MSG_RECORDS;
        snprintf(f[n].in.hdr.device_id, sizeof(f[n].in.hdr.device_id), "%s", devs[d]);
        f[n].in.hdr.key_epoch = 1;
        f[n].in.hdr.seq = next_seq[d];
        f[n].in.hdr.count = k;
        f[n].in.hdr.device_ms = last;
        f[n].in.topic = "kf/v1/KF-XH-0001/events";
        f[n].in.raw = raw_frame;
        f[n].in.raw_len = sizeof(raw_frame);
        f[n].in.recv_ms = last + rnd(3600) * 1000LL;
        f[n].in.nrec = k;
        f[n].in.recs = f[n].recs;
        next_seq[d] += k;
        items[n] = &f[n].in;
        n++;
    }
    cr_assert_eq(kf_store_ingest_commit(tstore.st, items, n, out), 0, "%s",
                 kf_store_errmsg(tstore.st));
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(out[i].inserted, f[i].in.nrec);
}

/* ---- The reference: sums over the records themselves ------------------------------------ */

/* Per grouping: the store's key columns, and the same figures computed from txns over
 * [?1, ?2], every member of the dimension listed (pairs with transactions for device,item),
 * only the catalog's items counted. */
#define REF_SUMS(key, zjoin)                                                                       \
    " LEFT JOIN (SELECT " key " AS k, count(*) AS n, sum(t.outcome = 'ok') AS ok,"                 \
    " sum(t.outcome = 'failed') AS failed, sum(t.outcome = 'abandoned') AS abandoned,"             \
    " sum(t.dur_ms) AS dur FROM txns t JOIN items i ON i.code = t.item" zjoin                      \
    " WHERE t.day BETWEEN ?1 AND ?2 GROUP BY 1) x"
#define REF_COLS                                                                                   \
    " coalesce(x.n, 0), coalesce(x.ok, 0), coalesce(x.failed, 0), coalesce(x.abandoned, 0),"       \
    " coalesce(x.dur, 0) / 1000"
#define REF_ZJOIN " JOIN zones z ON z.id = t.zone_id"
static const struct {
    const char *by, *key1, *key2, *sql;
} groupings[] = {
    {"device", "device_id", NULL,
     "SELECT d.device_id, NULL," REF_COLS
     " FROM devices d" REF_SUMS("t.device_id", "") " ON x.k = d.device_id ORDER BY d.device_id"},
    {"device,item", "device_id", "item",
     "SELECT t.device_id, t.item, count(*), sum(t.outcome = 'ok'), sum(t.outcome = 'failed'),"
     " sum(t.outcome = 'abandoned'), sum(t.dur_ms) / 1000 FROM txns t"
     " JOIN items i ON i.code = t.item WHERE t.day BETWEEN ?1 AND ?2"
     " GROUP BY t.device_id, t.item ORDER BY t.device_id, t.item"},
    {"zone", "zone", NULL,
     "SELECT z.id, NULL," REF_COLS
     " FROM zones z" REF_SUMS("t.zone_id", "") " ON x.k = z.id ORDER BY z.id"},
    {"unit", "unit", NULL,
     "SELECT un.code, NULL," REF_COLS
     " FROM units un" REF_SUMS("z.unit", REF_ZJOIN) " ON x.k = un.code ORDER BY un.code"},
    {"bank", "bank", NULL,
     "SELECT b.code, NULL," REF_COLS " FROM banks b" REF_SUMS("z.bank", REF_ZJOIN) " ON x.k = "
                                                                                   "b.code ORDER "
                                                                                   "BY b.code"},
    {"item", "item", NULL,
     "SELECT it.code, NULL," REF_COLS
     " FROM items it" REF_SUMS("t.item", "") " ON x.k = it.code ORDER BY it.code"},
    {"family", "family", NULL,
     "SELECT f.code, NULL," REF_COLS
     " FROM families f" REF_SUMS("i.family", "") " ON x.k = f.code ORDER BY f.code"},
};
#define NGROUPINGS (sizeof(groupings) / sizeof(groupings[0]))

static const char *cell(const struct kf_qtable *t, size_t row, const char *col)
{
    int c = kf_store_query_table_col(t, col);

    cr_assert_geq(c, 0, "no column %s", col);
    return kf_store_query_table_cell(t, row, (size_t)c);
}

static void expect_cell(const struct kf_qtable *t, size_t row, const char *col, sqlite3_stmt *s,
                        int i, const char *what)
{
    const char *got = cell(t, row, col);
    const char *want = (const char *)sqlite3_column_text(s, i);

    cr_assert(got && want && strcmp(got, want) == 0, "%s: row %zu %s: store %s, records %s", what,
              row, col, got ? got : "NULL", want ? want : "NULL");
}

/* Every grouping over [from, to] equals the records' sums; returns the total counted. */
static long long check_range(int32_t from, int32_t to)
{
    static const char *const sums[] = {"total", "ok", "failed", "abandoned", "duration_s"};
    long long total = 0;

    for (size_t g = 0; g < NGROUPINGS; g++) {
        struct kf_qtable *t = NULL;
        sqlite3_stmt *s = NULL;
        char what[96], a[16], b[16];
        size_t row = 0;

        snprintf(what, sizeof(what), "--by %s %s..%s", groupings[g].by,
                 from == INT32_MIN ? "-" : kf_day_format(from, a, sizeof(a)),
                 to == INT32_MAX ? "-" : kf_day_format(to, b, sizeof(b)));
        cr_assert_eq(kf_store_query_usage(tstore.st, from, to, groupings[g].by, &t), 0, "%s: %s",
                     what, kf_store_errmsg(tstore.st));
        cr_assert_eq(sqlite3_prepare_v2(tstore.rd, groupings[g].sql, -1, &s, NULL), SQLITE_OK, "%s",
                     sqlite3_errmsg(tstore.rd));
        sqlite3_bind_int(s, 1, from);
        sqlite3_bind_int(s, 2, to);
        while (sqlite3_step(s) == SQLITE_ROW) {
            cr_assert_lt(row, t->nrows, "%s: the store has %zu rows, the records more", what,
                         t->nrows);
            expect_cell(t, row, groupings[g].key1, s, 0, what);
            if (groupings[g].key2)
                expect_cell(t, row, groupings[g].key2, s, 1, what);
            for (int k = 0; k < 5; k++)
                expect_cell(t, row, sums[k], s, 2 + k, what);
            if (g == 0)
                total += sqlite3_column_int64(s, 2);
            row++;
        }
        sqlite3_finalize(s);
        cr_assert_eq(row, t->nrows, "%s: the store has %zu rows, the records %zu", what, t->nrows,
                     row);
        kf_store_query_table_free(t);
    }
    return total;
}

static int32_t day_of(const char *ymd)
{
    int32_t d;

    cr_assert_eq(kf_day_parse(ymd, &d), 0);
    return d;
}

/* Ranges that start and end on whole months and years, on neither, on one day. */
static void check_aligned_and_random(int nrandom)
{
    static const char *const ranges[][2] = {
        {"2027-01-01", "2027-12-31"}, /* a whole year */
        {"2026-11-01", "2028-03-31"}, /* every month of the data */
        {"2027-01-01", "2027-06-30"}, /* a half-year */
        {"2027-02-01", "2027-02-28"}, /* a month */
        {"2028-02-01", "2028-02-29"}, /* a leap month */
        {"2028-02-29", "2028-02-29"}, /* a leap day */
        {"2027-03-08", "2027-03-14"}, /* a week */
        {"2026-12-15", "2028-01-20"}, /* a year and edges of months either side */
        {"2026-12-31", "2027-01-01"}, /* across a year's end */
        {"2027-01-02", "2027-12-30"}, /* a year less a day at each end */
        {"2027-01-01", "2027-12-30"}, /* whole months, then days */
        {"2027-01-02", "2027-12-31"}, /* days, then whole months */
        {"2027-05-17", "2027-05-16"}, /* empty */
    };

    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        check_range(day_of(ranges[i][0]), day_of(ranges[i][1]));
    check_range(INT32_MIN, INT32_MAX);
    check_range(INT32_MIN, day_of("2027-04-30"));
    check_range(day_of("2027-04-01"), INT32_MAX);
    for (int i = 0; i < nrandom; i++) {
        int32_t a = day0 - 20 + rnd(520), b = a + rnd(rnd(2) ? 40 : 500);

        check_range(a, b);
    }
}

Test(usage_rollup, every_grouping_equals_the_records_over_any_range)
{
    long long all;

    /* 2026-11-20 .. 2028-03-10: two year ends, a leap day. */
    for (int c = 0; c < 120; c++)
        commit_random(day0 + c * 4, 4);
    all = check_range(INT32_MIN, INT32_MAX);
    cr_assert_gt(all, 500, "only %lld txns", all);
    check_aligned_and_random(60);
    /* A terminal moves to another zone (kioskctl asset move): its later usage counts there. */
    exec("UPDATE assets SET zone_id = 'Z-XH-002' WHERE asset_id = 'A-2'");
    for (int c = 0; c < 30; c++)
        commit_random(day0 + rnd(470), 1 + rnd(30));
    cr_assert_gt(kf_test_store_q1(&tstore, "SELECT count(*) FROM usage_yearly"
                                           " WHERE zone_id = 'Z-XH-002'"),
                 0);
    check_aligned_and_random(60);
    /* The catalog learns a code: its usage counts from then on, over every day. */
    exec("INSERT INTO items(code, family, name, name_en, needs, weight)"
         " VALUES ('ZZ-404', 'HF', '新事项', 'New item', '[\"screen\"]', 1)");
    check_aligned_and_random(30);
}

Test(usage_rollup, the_commit_keeps_each_rollup_equal_to_what_it_sums)
{
    struct kf_audit a;

    for (int c = 0; c < 60; c++)
        commit_random(day0 + rnd(480), 1 + rnd(40));
    cr_assert_eq(kf_store_audit(tstore.st, &a), 0);
    cr_assert_eq(a.usage_mismatches, 0);
    cr_assert_eq(a.rollup_mismatches, 0); /* the frames are not real ones: the rest is found */
    /* device_days: the commit's days of every record (health ones too) equal the records' */
    cr_assert_eq(a.device_day_mismatches, 0);
    cr_assert_gt(kf_test_store_q1(&tstore, "SELECT count(*) FROM device_days"), 0);
    exec("DELETE FROM device_days WHERE (day, device_id) ="
         " (SELECT day, device_id FROM device_days LIMIT 1);"
         " INSERT INTO device_days VALUES (1, 'KF-NONE')");
    cr_assert_eq(kf_store_audit(tstore.st, &a), 0);
    cr_assert_eq(a.device_day_mismatches, 2);
    cr_assert_eq(kf_store_audit_clean(&a), 0);
    exec("DELETE FROM device_days WHERE device_id = 'KF-NONE'");
    /* A figure edited in a rollup is found, whichever rollup: a month's row differs from its
     * days and from its year. */
    exec("UPDATE usage_monthly SET ok = ok + 1 WHERE (month, device_id, zone_id, item) ="
         " (SELECT month, device_id, zone_id, item FROM usage_monthly LIMIT 1)");
    cr_assert_eq(kf_store_audit(tstore.st, &a), 0);
    cr_assert_eq(a.rollup_mismatches, 2);
    cr_assert_eq(kf_store_audit_clean(&a), 0);
    /* kf_store_usage_rebuild repairs it from usage_daily. */
    cr_assert_eq(kf_store_usage_rebuild(tstore.st), 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_eq(kf_store_audit(tstore.st, &a), 0);
    cr_assert_eq(a.rollup_mismatches, 0);
    exec("DELETE FROM usage_yearly WHERE (year, device_id, zone_id, item) ="
         " (SELECT year, device_id, zone_id, item FROM usage_yearly LIMIT 1)");
    exec("UPDATE usage_monthly SET zone_id = 'Z-WG-001' WHERE (month, device_id, zone_id, item) ="
         " (SELECT month, device_id, zone_id, item FROM usage_monthly WHERE zone_id <> 'Z-WG-001'"
         " LIMIT 1)");
    cr_assert_eq(kf_store_audit(tstore.st, &a), 0);
    cr_assert_geq(a.rollup_mismatches, 2);
}

/* The v12 migration builds the rollups from usage_daily with SQL (strftime's months); the
 * commit keeps them in C (its own calendar arithmetic). Both must give the same rows. */
Test(usage_rollup, the_migration_builds_what_the_commits_kept)
{
    static const char *const tables[] = {"usage_monthly", "usage_yearly", "device_days"};
    char sql[512];

    for (int c = 0; c < 80; c++)
        commit_random(day0 + rnd(480), 1 + rnd(60));
    for (size_t i = 0; i < 3; i++) {
        snprintf(sql, sizeof(sql), "CREATE TABLE kept_%s AS SELECT * FROM %s", tables[i],
                 tables[i]);
        exec(sql);
        snprintf(sql, sizeof(sql), "DROP TABLE %s", tables[i]);
        exec(sql);
    }
    kf_store_free(tstore.st);
    tstore.st = NULL;
    /* back to v11: v13's to v23's tables and columns go too, so that every migration runs
     * (v17 builds device_days from the records) */
    {
        sqlite3 *w;

        cr_assert_eq(sqlite3_open(tstore.path, &w), SQLITE_OK);
        kf_test_store_drop_period_stamps(w);
        sqlite3_close(w);
    }
    exec("DROP TABLE artifact_chunks; DROP TABLE artifacts;"
         " DROP TABLE blob_chunks; DROP TABLE blobs;"
         " DROP TABLE inventory_changes; DROP TABLE inventory;"
         " DROP TABLE cmd_devices; DROP TABLE commands; DROP TABLE rollouts;"
         " DROP TABLE cmd_requests;"
         " DROP TABLE api_tokens; DROP TABLE users; "
         "DROP TABLE report_docs;"
         " DROP TABLE rubric_versions; DROP TABLE zone_decisions;"
         " ALTER TABLE sla_incidents DROP COLUMN assignee;"
         " ALTER TABLE sla_events DROP COLUMN assignee;"
         " ALTER TABLE sla_actions DROP COLUMN assignee;"
         " ALTER TABLE sla_terminal_state DROP COLUMN online;"
         " ALTER TABLE sla_terminal_state DROP COLUMN maint;"
         " ALTER TABLE sla_terminal_state DROP COLUMN unusable;"
         " ALTER TABLE sla_terminal_state DROP COLUMN crit; PRAGMA user_version = 11");
    cr_assert_eq(kf_store_open(tstore.path, 0, &tstore.st), 0);
    {
        struct kf_store_info info;

        cr_assert_eq(kf_store_inspect(tstore.path, &info), 0);
        cr_assert_eq(kf_test_store_q1(&tstore, "PRAGMA user_version"), info.schema_current,
                     "migrated to this program's schema");
    }
    cr_assert_gt(kf_test_store_q1(&tstore, "SELECT count(*) FROM device_days"), 0);
    for (size_t i = 0; i < 3; i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT (SELECT count(*) FROM (SELECT * FROM %s EXCEPT SELECT * FROM kept_%s))"
                 " + (SELECT count(*) FROM (SELECT * FROM kept_%s EXCEPT SELECT * FROM %s))",
                 tables[i], tables[i], tables[i], tables[i]);
        cr_assert_eq(kf_test_store_q1(&tstore, sql), 0, "%s differs after the migration",
                     tables[i]);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        cr_assert_gt(kf_test_store_q1(&tstore, sql), 0, "%s is empty", tables[i]);
    }
    check_aligned_and_random(20);
}

/* A zone, unit or bank with no transaction at all is listed with zeros: the zones an
 * assessment is about (kioskctl usage --by zone). */
Test(usage_rollup, groupings_list_members_without_transactions)
{
    struct kf_qtable *t;

    for (int c = 0; c < 10; c++)
        commit_random(day0 + c, 1);
    cr_assert_eq(kf_store_query_usage(tstore.st, day0, day0 + 400, "zone", &t), 0);
    cr_assert_eq(t->nrows, 3);
    cr_assert_str_eq(cell(t, 1, "zone"), "Z-XH-001");
    cr_assert_neq(strcmp(cell(t, 1, "total"), "0"), 0);
    cr_assert_str_eq(cell(t, 2, "zone"), "Z-XH-002");
    cr_assert_str_eq(cell(t, 2, "total"), "0");
    cr_assert_str_eq(cell(t, 2, "duration_s"), "0");
    cr_assert_str_eq(cell(t, 2, "unit"), "XH");
    kf_store_query_table_free(t);
    exec("DELETE FROM usage_daily; DELETE FROM usage_monthly; DELETE FROM usage_yearly");
    for (size_t g = 0; g < NGROUPINGS; g++) {
        static const char *const member_tables[] = {"devices", NULL,    "zones",   "units",
                                                    "banks",   "items", "families"};
        char sql[64];

        cr_assert_eq(kf_store_query_usage(tstore.st, day0, day0 + 400, groupings[g].by, &t), 0);
        if (member_tables[g]) {
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", member_tables[g]);
            cr_assert_eq((int64_t)t->nrows, kf_test_store_q1(&tstore, sql), "--by %s",
                         groupings[g].by);
            for (size_t r = 0; r < t->nrows; r++)
                cr_assert_str_eq(cell(t, r, "total"), "0");
        } else {
            cr_assert_eq(t->nrows, 0);
        }
        kf_store_query_table_free(t);
    }
}
