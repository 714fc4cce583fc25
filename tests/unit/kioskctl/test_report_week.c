/* test_report_week.c: the weekly report and coverage over a real SQLite store
 * (store/reports.h, views/week.h, views/coverage.h) and kioskctl's report week and coverage
 * run as real processes (forked children running kf_ctl_main on their own connections),
 * docs/REPORTS.md. The small deployment (tests/data/deployment_small.json): Z-XH-001 with a
 * kiosk and a 24-hour ITM, Z-XH-002 with nothing installed, Z-WG-001 with a kiosk commissioned
 * on Thursday 8 October 2026 at 12:00. The week is 2026-W41 (国庆节 Monday to Wednesday, a
 * make-up Saturday). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kf/time.h>

#include "kf_test.h"
#include "kf_test_store.h"
#include "kioskctl/ctl.h"
#include "store/billing.h"
#include "store/sla.h"
#include "views/coverage.h"
#include "views/week.h"

#define HOUR (3600LL * 1000)

static struct kf_test_store ts;

static int32_t day(const char *s)
{
    int32_t d = 0;

    cr_assert_eq(kf_day_parse(s, &d), 0);
    return d;
}

static int64_t at(const char *s, int hour)
{
    return kf_day_start_ms(day(s)) + hour * HOUR;
}

/* SQL the store's API has no writer for (usage arrives by the group commit, presence facts
 * by kioskd): written as those would, on a connection of the test's own. */
static void sql(const char *fmt, ...)
{
    sqlite3 *db;
    char *q = NULL, *err = NULL;
    va_list ap;

    va_start(ap, fmt);
    cr_assert_gt(vasprintf(&q, fmt, ap), 0);
    va_end(ap);
    cr_assert_eq(sqlite3_open(ts.path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_exec(db, q, NULL, NULL, &err), SQLITE_OK, "%s: %s", q, err);
    sqlite3_close(db);
    free(q);
}

static void usage_row(const char *d, const char *zone, const char *asset, const char *dev,
                      const char *item, int ok, int failed)
{
    sql("INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok, failed, abandoned,"
        " dur_ms_total) VALUES (%d, '%s', '%s', '%s', '%s', %d, %d, 0, 0)",
        (int)day(d), zone, asset, dev, item, ok, failed);
}

static void add_asset(const char *asset, const char *device, const char *zone, int kind,
                      int64_t commissioned)
{
    struct kf_device_reg reg = {
        .device_id = device, .asset_id = asset, .kind = kind, .zone_id = zone};

    randombytes_buf(reg.pk, sizeof(reg.pk));
    cr_assert_eq(kf_store_register_device(ts.st, &reg), 0, "%s", kf_store_errmsg(ts.st));
    cr_assert_eq(kf_store_billing_commission(ts.st, asset, zone, commissioned, "tech", "accepted"),
                 0, "%s", kf_store_errmsg(ts.st));
}

static void setup(void)
{
    char *cal;

    kf_test_store_open(&ts, "kf-week", KF_TEST_FIXTURES_SMALL);
    cal = kf_test_read_file(KF_TEST_SOURCE_DIR "/fixtures/calendar/cn-2026.ini");
    cr_assert_eq(kf_store_sla_calendar_put(ts.st, 2026, cal, "test", 0), 0);
    free(cal);
    add_asset("A-1", "D-1", "Z-XH-001", 1, at("2026-09-01", 0));
    add_asset("A-2", "D-2", "Z-XH-001", 2, at("2026-09-01", 0));
    add_asset("A-3", "D-3", "Z-WG-001", 1, at("2026-10-08", 12));
    usage_row("2026-10-08", "Z-XH-001", "A-1", "D-1", "HF-001", 10, 0);
    usage_row("2026-10-05", "Z-XH-001", "A-2", "D-2", "SB-003", 5, 1);
    usage_row("2026-10-09", "Z-WG-001", "A-3", "D-3", "HF-001", 3, 0);
    usage_row("2026-09-30", "Z-XH-001", "A-1", "D-1", "HF-001", 4, 0);
    /* A-2 came online on 1 October and stayed: reporting in W41 without a new fact. */
    sql("INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, value, src)"
        " VALUES ('A-2', 'D-2', 'presence', %lld, %lld, 1, 'connect')",
        (long long)at("2026-10-01", 9), (long long)at("2026-10-01", 9));
    sql("UPDATE sla_cursor SET tick_ms = %lld", (long long)at("2026-10-20", 0));
}

static void teardown(void)
{
    kf_test_store_close(&ts);
}

TestSuite(report_week, .init = setup, .fini = teardown);

static int ctl(const char *const *args, const char *out_path)
{
    pid_t pid = fork();
    int status;

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char *argv[32] = {"kioskctl", "--db", ts.path};
        int n = 3;

        if (out_path && freopen(out_path, "w", stdout) == NULL)
            _exit(99);
        for (; *args && n < 31; args++)
            argv[n++] = (char *)*args;
        argv[n] = NULL;
        fflush(NULL);
        _exit(kf_ctl_main(n, argv));
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "kioskctl died");
    return WEXITSTATUS(status);
}

static json_t *zone_of(json_t *doc, const char *id)
{
    size_t i;
    json_t *z;

    json_array_foreach(json_object_get(doc, "zones"), i, z)
    {
        if (strcmp(json_string_value(json_object_get(z, "zone")), id) == 0)
            return z;
    }
    cr_assert_fail("no zone %s", id);
    return NULL;
}

static int64_t iv(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    cr_assert(json_is_integer(v), "%s is not an integer", k);
    return json_integer_value(v);
}

static const char *dig(json_t *doc, const char *name)
{
    return json_string_value(json_object_get(json_object_get(doc, "inputs"), name));
}

static struct kf_view_week_opts closed_opts(void)
{
    int64_t from, to;

    kf_week_range(2026, 41, &from, &to);
    return (struct kf_view_week_opts){
        .as_of_ms = to, .cut_ms = kf_week_close_ms(2026, 41, KF_WEEK_CLOSE_DELAY_DEFAULT_MS)};
}

Test(report_week, figures_from_the_store_and_a_byte_identical_recompute)
{
    struct kf_view_week_opts o = closed_opts();
    char *a = NULL, *b = NULL, err[256] = "", usage[65], registry[65];
    size_t la, lb;
    json_error_t je;
    json_t *doc, *z;

    cr_assert_eq(kf_view_week_json(ts.st, 2026, 41, &o, &a, &la, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_view_week_json(ts.st, 2026, 41, &o, &b, &lb, err, sizeof(err)), 0, "%s", err);
    cr_assert(la == lb && memcmp(a, b, la) == 0, "a recompute differs");
    free(b);
    doc = json_loadb(a, la, 0, &je);
    cr_assert_not_null(doc, "%s", je.text);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "doc")), "kioskfleet.week/1");
    cr_assert(json_is_false(json_object_get(doc, "draft")));
    cr_assert_eq(json_array_size(json_object_get(doc, "zones")), 3, "every zone");
    /* The kiosk: Thursday, Friday, the make-up Saturday and Sunday (weekend hours); the ITM
     * every day, holidays included. */
    z = zone_of(doc, "Z-XH-001");
    cr_assert_eq(iv(z, "terminal_days"), 11);
    cr_assert_eq(iv(z, "service_days"), 7);
    cr_assert(iv(z, "ok") == 15 && iv(z, "failed") == 1 && iv(z, "ok_prev") == 4);
    cr_assert_eq(iv(z, "ok_per_terminal_day_x100"), 136);
    cr_assert_eq(iv(z, "ok_change_pm"), 2750);
    cr_assert(iv(z, "commissioned") == 2 && iv(z, "reporting") == 2 && iv(z, "active") == 2);
    /* Opened on Thursday at 12:00: four days, from then. */
    z = zone_of(doc, "Z-WG-001");
    cr_assert(iv(z, "terminal_days") == 4 && iv(z, "service_days") == 4 && iv(z, "ok") == 3);
    cr_assert(iv(z, "owed_s") > 0, "owed from its commissioning");
    /* Nothing installed: there, with zeros and its plan. */
    z = zone_of(doc, "Z-XH-002");
    cr_assert_str_eq(json_string_value(json_object_get(z, "status")), "no_terminals");
    cr_assert(iv(z, "planned") == 2 && iv(z, "commissioned") == 0);
    cr_assert(json_is_null(json_object_get(z, "availability_bp")));
    cr_assert_eq(json_object_size(json_object_get(doc, "inputs")), 6);
    snprintf(usage, sizeof(usage), "%s", dig(doc, "usage"));
    snprintf(registry, sizeof(registry), "%s", dig(doc, "registry"));
    json_decref(doc);
    /* A late usage row: the bytes differ, and the digests say it was the usage. */
    usage_row("2026-10-11", "Z-WG-001", "A-3", "D-3", "HF-001", 1, 0);
    cr_assert_eq(kf_view_week_json(ts.st, 2026, 41, &o, &b, &lb, err, sizeof(err)), 0, "%s", err);
    cr_assert(la != lb || memcmp(a, b, la) != 0);
    doc = json_loadb(b, lb, 0, &je);
    cr_assert_str_neq(dig(doc, "usage"), usage);
    cr_assert_str_eq(dig(doc, "registry"), registry);
    json_decref(doc);
    free(a);
    free(b);
}

/* The usage digest is taken as the rows are read (views/week_usage.c): it must be the digest
 * of the usage text (rules/week.h) of the rows grouped by SQL, byte for byte, with an asset's
 * two devices on one day, codes that are prefixes of others and rows of other zones. */
Test(report_week, the_usage_digest_is_the_texts)
{
    struct kf_view_week_opts o = closed_opts();
    struct kf_week_usage_in rows[64];
    struct kf_week_input in;
    char *a = NULL, *text = NULL, err[256] = "", hex[65], b[16];
    size_t la, lt, n = 0;
    int32_t first;
    json_error_t je;
    json_t *doc;
    sqlite3 *db;
    sqlite3_stmt *q;
    uint8_t h[32];

    usage_row("2026-10-08", "Z-XH-001", "A-1", "D-1b", "HF-001", 2, 1);
    usage_row("2026-10-08", "Z-XH-001", "A-1", "D-1b", "HF-0011", 1, 0);
    usage_row("2026-10-08", "Z-XH-001", "A-10", "D-10", "HF-001", 7, 0);
    usage_row("2026-10-07", "Z-XH-0010", "A-1", "D-1", "SB-003", 1, 1);
    usage_row("2026-10-12", "Z-XH-001", "A-1", "D-1", "HF-001", 9, 0); /* the week after */
    cr_assert_eq(kf_view_week_json(ts.st, 2026, 41, &o, &a, &la, err, sizeof(err)), 0, "%s", err);
    doc = json_loadb(a, la, 0, &je);
    cr_assert_not_null(doc, "%s", je.text);
    /* The oracle: SQL's GROUP BY over both weeks, the text built by the rules. */
    kf_week_first_day(2026, 41, &first);
    cr_assert_eq(sqlite3_open(ts.path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT day, zone_id, asset_id, item, sum(ok), sum(failed),"
                                    " sum(abandoned) FROM usage_daily WHERE day BETWEEN ?1 AND ?2"
                                    " GROUP BY 1, 2, 3, 4",
                                    -1, &q, NULL),
                 SQLITE_OK);
    sqlite3_bind_int(q, 1, first - 7);
    sqlite3_bind_int(q, 2, first + 6);
    while (sqlite3_step(q) == SQLITE_ROW) {
        cr_assert_lt(n, 64);
        rows[n] = (struct kf_week_usage_in){sqlite3_column_int(q, 0),
                                            strdup((const char *)sqlite3_column_text(q, 1)),
                                            strdup((const char *)sqlite3_column_text(q, 2)),
                                            strdup((const char *)sqlite3_column_text(q, 3)),
                                            sqlite3_column_int64(q, 4),
                                            sqlite3_column_int64(q, 5),
                                            sqlite3_column_int64(q, 6)};
        n++;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    cr_assert_eq(n, 7, "rows of both weeks, the two devices of A-1 on %s summed",
                 kf_day_format(first + 3, b, sizeof(b)));
    memset(&in, 0, sizeof(in));
    in.iso_year = 2026;
    in.iso_week = 41;
    in.usage = rows;
    in.n_usage = n;
    cr_assert_eq(kf_week_text(&in, KF_WEEK_TEXT_USAGE, &text, &lt), 0);
    crypto_generichash(h, sizeof(h), (const unsigned char *)text, lt, NULL, 0);
    for (size_t i = 0; i < sizeof(h); i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    cr_assert_str_eq(dig(doc, "usage"), hex, "the text:\n%s", text);
    for (size_t i = 0; i < n; i++) {
        free((char *)rows[i].zone);
        free((char *)rows[i].asset);
        free((char *)rows[i].item);
    }
    free(text);
    json_decref(doc);
    free(a);
}

/* A zone delisted before the week leaves its report (every view and count); one delisted
 * during the week is still that week's. */
Test(report_week, a_delisted_zone_leaves_the_week)
{
    struct kf_view_week_opts o = closed_opts();
    char *a = NULL, err[256] = "";
    size_t la;
    json_t *doc;

    sql("INSERT INTO zone_decisions(zone_id, period, decision, from_day, at_ms, by, reason)"
        " VALUES ('Z-XH-002', '2026-H1', 1, %d, 0, 'bureau', 'two failures')",
        (int)day("2026-10-05"));
    sql("INSERT INTO zone_decisions(zone_id, period, decision, from_day, at_ms, by, reason)"
        " VALUES ('Z-WG-001', '2026-H1', 1, %d, 0, 'bureau', 'two failures')",
        (int)day("2026-10-06"));
    cr_assert_eq(kf_view_week_json(ts.st, 2026, 41, &o, &a, &la, err, sizeof(err)), 0, "%s", err);
    doc = json_loadb(a, la, 0, NULL);
    cr_assert_not_null(doc);
    cr_assert_eq(json_array_size(json_object_get(doc, "zones")), 2);
    cr_assert(strstr(a, "\"zone\":\"Z-XH-002\"") == NULL, "delisted from the week's Monday");
    cr_assert_not_null(zone_of(doc, "Z-WG-001"), "delisted on Tuesday: still this week's");
    json_decref(doc);
    free(a);
}

Test(report_week, no_calendar_no_report)
{
    char *a = NULL, err[256] = "";
    size_t la;

    /* 2027-W10: no stored calendar for 2027. */
    cr_assert_eq(kf_view_week_json(ts.st, 2027, 10, NULL, &a, &la, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "2027") != NULL, "%s", err);
}

Test(report_week, kioskctl_forms_and_the_close)
{
    struct kf_view_week_opts o = closed_opts();
    const char *json_args[] = {"report", "week", "--week", "2026-W41", "-o", NULL, NULL};
    char path[512], *bytes, *file, err[256] = "", wk[16];
    size_t len;
    int y, w;

    /* The closed week's JSON file is the view's bytes with a closed week's cut. */
    snprintf(path, sizeof(path), "%s/w41.json", ts.dir);
    json_args[5] = path;
    cr_assert_eq(ctl(json_args, "/dev/null"), 0);
    file = kf_test_read_file(path);
    cr_assert_eq(kf_view_week_json(ts.st, 2026, 41, &o, &bytes, &len, err, sizeof(err)), 0);
    cr_assert(strlen(file) == len && memcmp(file, bytes, len) == 0, "kioskctl's bytes differ");
    free(file);
    free(bytes);
    for (int k = 0; k < 3; k++) {
        static const char *const ext[] = {"xlsx", "pdf", "csv"};
        snprintf(path, sizeof(path), "%s/w41.%s", ts.dir, ext[k]);
        cr_assert_eq(ctl(json_args, "/dev/null"), 0, "%s", ext[k]);
        cr_assert_eq(access(path, F_OK), 0, "%s", path);
    }
    snprintf(path, sizeof(path), "%s/w41.txt", ts.dir);
    cr_assert_eq(ctl(json_args, "/dev/null"), 2, "an extension it does not write");
    /* The week in progress: refused, then a draft. */
    kf_week_of_day(kf_local_day(kf_now_ms()), &y, &w);
    kf_week_format(y, w, wk, sizeof(wk));
    {
        const char *open_args[] = {"report", "week", "--week", wk, NULL};
        const char *draft_args[] = {"--format", "json", "report",  "week",
                                    "--week",   wk,     "--draft", NULL};

        cr_assert_eq(ctl(open_args, "/dev/null"), 2);
        snprintf(path, sizeof(path), "%s/draft.json", ts.dir);
        if (y == 2026) { /* the stored calendar covers it */
            cr_assert_eq(ctl(draft_args, path), 0);
            file = kf_test_read_file(path);
            cr_assert(strstr(file, "\"draft\":true") != NULL);
            free(file);
        }
    }
    /* The table for people, a view of it. */
    {
        const char *args[] = {"report", "week", "--date", "2026-10-07", "--view", "zone", NULL};
        snprintf(path, sizeof(path), "%s/table.txt", ts.dir);
        cr_assert_eq(ctl(args, path), 0);
        file = kf_test_read_file(path);
        cr_assert(strstr(file, "weekly report 2026-W41") != NULL, "%s", file);
        cr_assert(strstr(file, "no_terminals") != NULL, "%s", file);
        free(file);
    }
}

Test(report_week, coverage_with_a_delisting)
{
    struct kf_coverage_targets t = {.zones_min = 3,
                                    .banks_min = 2,
                                    .units_min = 2,
                                    .zones_per_unit_min = 1,
                                    .itm_items_min = 3,
                                    .families_min = 2};
    struct kf_view_coverage_opts o = {.at_day = day("2026-10-11"), .targets = &t};
    struct kf_view_coverage *v = NULL;
    char err[256] = "", path[512], *file;

    cr_assert_eq(kf_view_coverage(ts.st, &o, &v, err, sizeof(err)), 0, "%s", err);
    cr_assert(v->cov->fleet.zones_planned == 3 && v->cov->fleet.zones_commissioned == 2);
    cr_assert(v->cov->fleet.commissioned == 3 && v->cov->fleet.reporting == 3);
    cr_assert(v->cov->checks[KF_COVERAGE_ITM_ITEMS].commissioned == 3);
    kf_view_coverage_free(v);
    /* The day before Z-WG-001's kiosk came, its zone was planned only. */
    o.at_day = day("2026-10-07");
    cr_assert_eq(kf_view_coverage(ts.st, &o, &v, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(v->cov->fleet.zones_commissioned, 1);
    kf_view_coverage_free(v);
    /* Z-XH-001 delisted from the 10th (the bureau's decision, as kioskctl assess decide
     * stores it) leaves every count. */
    o.at_day = day("2026-10-11");
    sql("INSERT INTO zone_decisions(zone_id, period, decision, from_day, at_ms, by, reason)"
        " VALUES ('Z-XH-001', '2026-H1', 1, %d, 0, 'bureau', 'two failures')",
        (int)day("2026-10-10"));
    cr_assert_eq(kf_view_coverage(ts.st, &o, &v, err, sizeof(err)), 0, "%s", err);
    cr_assert(v->cov->fleet.zones_planned == 2 && v->cov->fleet.zones_delisted == 1);
    cr_assert(v->cov->fleet.commissioned == 1 && v->cov->itms_commissioned == 0);
    cr_assert(strstr(v->json, "\"delisted\":[{\"zone\":\"Z-XH-001\",\"from\":\"2026-10-10\"}]"));
    kf_view_coverage_free(v);
    /* kioskctl coverage: the shipped targets, the canonical document; the delisting stands. */
    {
        const char *args[] = {"--format",
                              "json",
                              "coverage",
                              "--at",
                              "2026-10-11",
                              "--targets",
                              KF_TEST_SOURCE_DIR "/fixtures/targets.ini",
                              NULL};
        const char *bad[] = {"coverage", "--targets", "/nonexistent/targets.ini", NULL};

        snprintf(path, sizeof(path), "%s/coverage.json", ts.dir);
        cr_assert_eq(ctl(args, path), 0);
        file = kf_test_read_file(path);
        cr_assert(strstr(file, "\"target\":\"zones\",\"required\":200,\"planned\":2,"
                               "\"commissioned\":1,\"reporting\":1,\"met\":false") != NULL,
                  "%s", file);
        free(file);
        cr_assert_eq(ctl(bad, "/dev/null"), 1);
    }
}
