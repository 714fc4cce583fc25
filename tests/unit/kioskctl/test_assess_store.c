/* The half-year assessment over a real store (views/assess.h, views/rdoc.h): every zone's
 * inputs gathered from the tables the ingest and kioskctl write, issued and frozen, and the
 * zones' standing over three periods and the bureau's decisions (docs/REPORTS.md):
 *   Z-XH-001  busy every period                                   pass, pass, pass: ok
 *   Z-XH-002  used only in 2026-H2                                fail, pass, fail: watch,
 *             not proposed (a pass in between)
 *   Z-WG-001  never used                                          fail, fail: proposed; kept
 *             by the bureau; fail again: watch (the keep restarted the run)
 *   Z-WG-002  in the plan, no terminal                            fail, fail: proposed;
 *             delisted from 2027-01-05: 2027-H1 not assessed
 * and 2026-H1 superseded after a late usage file: the first version no longer recomputes,
 * the second does, and is the one the standing reads. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "kf_test_store.h"
#include "rules/assess.h"
#include "store/ingest.h"
#include "store/reports_docs.h"
#include "store/sla.h"
#include "views/assess.h"
#include "views/billing.h"
#include "views/rdoc.h"

static struct kf_test_store t;
static uint8_t pk[32], sk[64];

static void rw(const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    cr_assert_eq(sqlite3_open(t.path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg);
    sqlite3_close(db);
}

static int32_t day(const char *s)
{
    int32_t d;

    cr_assert_eq(kf_day_parse(s, &d), 0);
    return d;
}

static int64_t at(const char *s)
{
    return kf_day_start_ms(day(s));
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 20);

    cr_assert_not_null(f);
    cr_assert_gt(fread(buf, 1, (1 << 20) - 1, f), 0);
    fclose(f);
    return buf;
}

/* usage ZONE ASSET FROM TO: 10 completed txns of each of two catalog items a day. */
static void usage(const char *zone, const char *asset, const char *from, const char *to)
{
    char sql[1024];

    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE d(x) AS (SELECT %d UNION ALL SELECT x + 1 FROM d WHERE x + 1 < %d)"
             " INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok)"
             " SELECT x, '%s', '%s', 'D-%s', i.code, 10 FROM d,"
             " (SELECT code FROM items ORDER BY code LIMIT 2) i",
             day(from), day(to), zone, asset, asset);
    rw(sql);
    /* What the commit would have written with them: the rollups, the device's row and its
     * days (device_days). */
    cr_assert_eq(kf_store_usage_rebuild(t.st), 0, "%s", kf_store_errmsg(t.st));
    snprintf(sql, sizeof(sql),
             "INSERT OR IGNORE INTO devices(device_id, asset_id, created_ms, state_since_ms)"
             " SELECT 'D-' || asset_id, asset_id, 0, 0 FROM assets WHERE asset_id = '%s';"
             " INSERT OR IGNORE INTO device_days SELECT DISTINCT day, device_id FROM usage_daily",
             asset);
    rw(sql);
}

static void setup(void)
{
    char *cal = NULL, *rubric, *canon = NULL, hex[65], sql[512];
    struct kf_rubric r;
    char err[256];

    cr_assert_geq(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
    kf_test_store_open(&t, "kf-assess", KF_TEST_FIXTURES_SMALL);
    cal = slurp(KF_TEST_SOURCE_DIR "/fixtures/calendar/cn-2026.ini");
    cr_assert_eq(kf_store_sla_calendar_put(t.st, 2026, cal, "fixtures", 0), 0);
    free(cal);
    rw("INSERT INTO sla_calendars VALUES (2027, '# test only: no holidays\n[calendar]\n"
       "year = 2027\nregion = CN\nsource = test\n', 'test', 0)");
    rw("INSERT INTO zones(id, name, bank, branch, unit, address, kiosks, itms, hours)"
       " VALUES ('Z-WG-002', '舞钢 新区', 'ICBC', '新区支行', 'WG', '-', 1, 0,"
       " '{\"weekday\":\"08:30-17:00\",\"weekend\":null}')");
    /* Terminals, in service since December 2025 and reporting from then. */
    static const char *const assets[][3] = {{"A1", "Z-XH-001", "ICBC"}, {"A2", "Z-XH-001", "ICBC"},
                                            {"B1", "Z-XH-002", "CCB"},  {"B2", "Z-XH-002", "CCB"},
                                            {"C1", "Z-WG-001", "ICBC"}, {"C2", "Z-WG-001", "ICBC"}};
    for (size_t i = 0; i < 6; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO assets VALUES ('%s', 1, '%s', NULL, %lld);"
                 " INSERT INTO asset_service(asset_id, bank, zone_id, from_ms, commissioned_by,"
                 " commission_reason) VALUES ('%s', '%s', '%s', %lld, 'test', 'accepted');"
                 " INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, value, src)"
                 " VALUES ('%s', 'D-%s', 'presence', %lld, %lld, 1, 'connect')",
                 assets[i][0], assets[i][1], (long long)at("2025-12-01"), assets[i][0],
                 assets[i][2], assets[i][1], (long long)at("2025-12-01"), assets[i][0],
                 assets[i][0], (long long)at("2025-12-01"), (long long)at("2025-12-01"));
        rw(sql);
    }
    usage("Z-XH-001", "A1", "2026-01-01", "2027-07-01");
    usage("Z-XH-001", "A2", "2026-01-01", "2027-07-01");
    usage("Z-XH-002", "B1", "2026-07-01", "2027-01-01");
    usage("Z-XH-002", "B2", "2026-07-01", "2027-01-01");
    rubric = slurp(KF_TEST_SOURCE_DIR "/fixtures/rubric/default-2026.json");
    cr_assert_eq(kf_rubric_parse(rubric, strlen(rubric), &r, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_rubric_canonical(&r, &canon), 0);
    kf_view_billing_digest(canon, strlen(canon), hex);
    cr_assert_eq(kf_store_rubric_add(t.st, r.id, r.version, rubric, hex, 0, "bureau", "2026"), 0);
    free(canon);
    free(rubric);
}

static void teardown(void)
{
    kf_test_store_close(&t);
}

TestSuite(assess_store, .init = setup, .fini = teardown);

/* Issue the period now (issued at the 2nd of the next half-year): its version. */
static int32_t issue(const char *period, const char *issued_on, const char *reason)
{
    struct kf_view_assess_opts o = {.status = KF_ASSESS_ISSUED, .issued_at_ms = at(issued_on)};
    struct kf_rdoc prev;
    char err[512], *json = NULL;
    int32_t latest = 0, v = 0;

    memset(&prev, 0, sizeof(prev));
    cr_assert_eq(kf_store_rdoc_latest(t.st, "assessment", period, &latest), 0);
    if (latest > 0)
        cr_assert_eq(kf_store_rdoc_get(t.st, "assessment", period, latest, &prev), 0);
    o.version = latest + 1;
    o.supersedes = latest ? prev.digest : NULL;
    o.reason = latest ? reason : NULL;
    cr_assert_eq(kf_view_assess(t.st, period, &o, NULL, &json, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_view_rdoc_freeze(t.st, sk, "assessment", period, json, strlen(json),
                                     o.issued_at_ms, "bureau:zhao", o.reason, &v, err, sizeof(err)),
                 0, "%s", err);
    free(json);
    free(prev.json);
    return v;
}

/* The zone's result in the stored (latest) assessment of period. */
static const char *result_of(const char *period, const char *zone, char *buf, size_t cap)
{
    struct kf_rdoc d;
    json_t *root, *z;
    size_t i;

    memset(&d, 0, sizeof(d));
    cr_assert_eq(kf_store_rdoc_get(t.st, "assessment", period, 0, &d), 0);
    root = json_loads(d.json, 0, NULL);
    free(d.json);
    cr_assert_not_null(root);
    buf[0] = '\0';
    json_array_foreach(json_object_get(root, "zones"), i, z)
    {
        if (strcmp(json_string_value(json_object_get(z, "zone")), zone) == 0)
            snprintf(buf, cap, "%s/%s", json_string_value(json_object_get(z, "result")),
                     json_string_value(json_object_get(z, "reason")) ?: "-");
    }
    json_decref(root);
    return buf;
}

static const struct kf_view_standing *standing_of(const struct kf_view_standing *v, size_t n,
                                                  const char *zone)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].zone, zone) == 0)
            return &v[i];
    cr_assert_fail("no standing for %s", zone);
    return NULL;
}

static int decide(const char *zone, int decision, const char *from, const char *on)
{
    struct kf_zone_decision_row d = {.decision = decision, .at_ms = at(on)};
    struct kf_view_standing *v = NULL;
    size_t n = 0;
    char err[512];
    int r;

    snprintf(d.zone_id, sizeof(d.zone_id), "%s", zone);
    snprintf(d.period, sizeof(d.period), "2026-H2");
    snprintf(d.by, sizeof(d.by), "bureau:zhao");
    snprintf(d.reason, sizeof(d.reason), "the bureau's meeting of %s", on);
    d.from_day = from ? day(from) : 0;
    r = kf_view_assess_standings(t.st, &d, &v, &n, err, sizeof(err));
    free(v);
    if (r < 0)
        return r;
    return kf_store_zone_decision_add(t.st, &d, NULL);
}

Test(assess_store, three_periods_decisions_and_a_superseded_assessment)
{
    struct kf_view_standing *v = NULL;
    const struct kf_view_standing *s;
    size_t n = 0;
    char err[1024], b[64];
    char *json = NULL;

    cr_assert_eq(issue("2026-H1", "2026-07-02", NULL), 1);
    cr_assert_eq(issue("2026-H2", "2027-01-02", NULL), 1);
    cr_assert_str_eq(result_of("2026-H1", "Z-XH-001", b, sizeof(b)), "pass/-");
    cr_assert_str_eq(result_of("2026-H1", "Z-XH-002", b, sizeof(b)), "fail/score");
    cr_assert_str_eq(result_of("2026-H2", "Z-XH-002", b, sizeof(b)), "pass/-");
    cr_assert_str_eq(result_of("2026-H2", "Z-WG-002", b, sizeof(b)), "fail/no_terminals");
    cr_assert_eq(kf_view_assess_standings(t.st, NULL, &v, &n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 4);
    cr_assert_eq(standing_of(v, n, "Z-XH-002")->s.standing, KF_STANDING_OK, "fail, pass");
    cr_assert_eq(standing_of(v, n, "Z-WG-001")->s.standing, KF_STANDING_PROPOSED);
    cr_assert_eq(standing_of(v, n, "Z-WG-002")->s.standing, KF_STANDING_PROPOSED);
    free(v);
    /* The bureau decides: a zone that is not proposed cannot be decided on. */
    cr_assert_eq(decide("Z-XH-001", KF_ZONE_KEEP, NULL, "2027-01-03"), -EINVAL);
    cr_assert_eq(decide("Z-WG-001", KF_ZONE_KEEP, NULL, "2027-01-03"), 0);
    cr_assert_eq(decide("Z-WG-002", KF_ZONE_DELIST, "2027-01-05", "2027-01-04"), 0);
    cr_assert_eq(decide("Z-WG-002", KF_ZONE_KEEP, NULL, "2027-01-06"), -EINVAL,
                 "nothing after a delisting");
    cr_assert_eq(issue("2027-H1", "2027-07-02", NULL), 1);
    cr_assert_str_eq(result_of("2027-H1", "Z-XH-002", b, sizeof(b)), "fail/score");
    cr_assert_str_eq(result_of("2027-H1", "Z-WG-002", b, sizeof(b)), "not_assessed/delisted");
    cr_assert_eq(kf_view_assess_standings(t.st, NULL, &v, &n, err, sizeof(err)), 0, "%s", err);
    s = standing_of(v, n, "Z-XH-001");
    cr_assert_eq(s->s.standing, KF_STANDING_OK);
    s = standing_of(v, n, "Z-XH-002");
    cr_assert_eq(s->s.standing, KF_STANDING_WATCH, "fail, pass, fail: watched, not proposed");
    cr_assert_eq(s->s.streak, 1);
    cr_assert(s->s.failed_last);
    s = standing_of(v, n, "Z-WG-001");
    cr_assert_eq(s->s.standing, KF_STANDING_WATCH, "kept, then failed once: the run restarted");
    cr_assert_eq(s->s.streak, 1);
    s = standing_of(v, n, "Z-WG-002");
    cr_assert_eq(s->s.standing, KF_STANDING_DELISTED);
    cr_assert_eq(s->s.delisted_day, day("2027-01-05"));
    free(v);
    /* A delisted zone leaves the counts: the bank row of 2027-H1 counts 2 zones for ICBC
     * (Z-XH-001, Z-WG-001), not 3. */
    {
        struct kf_rdoc d;
        json_t *root, *bk;
        size_t i;
        int found = 0;

        memset(&d, 0, sizeof(d));
        cr_assert_eq(kf_store_rdoc_get(t.st, "assessment", "2027-H1", 0, &d), 0);
        root = json_loads(d.json, 0, NULL);
        free(d.json);
        json_array_foreach(json_object_get(root, "banks"), i, bk)
        {
            if (strcmp(json_string_value(json_object_get(bk, "bank")), "ICBC") == 0) {
                cr_assert_eq(json_integer_value(json_object_get(bk, "zones")), 2);
                found = 1;
            }
        }
        json_decref(root);
        cr_assert(found);
    }
    /* Every issued version recomputes to its bytes. */
    struct kf_view_assess_opts o;
    char sup[129], reason[400];
    struct kf_rdoc d;

    memset(&d, 0, sizeof(d));
    cr_assert_eq(kf_store_rdoc_get(t.st, "assessment", "2026-H1", 0, &d), 0);
    cr_assert_eq(kf_view_assess_opts_of(d.json, &o, sup, sizeof(sup), reason, sizeof(reason)), 0);
    cr_assert_eq(kf_view_assess(t.st, "2026-H1", &o, NULL, &json, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_view_rdoc_verify(t.st, pk, "assessment", "2026-H1", 0, json, strlen(json), err,
                                     sizeof(err)),
                 0, "%s", err);
    free(json);
    /* A late usage file for 2026-H1: the issued version no longer recomputes; it is
     * superseded by version 2, with the reason, naming the digest it replaces. */
    usage("Z-XH-001", "A1-late", "2026-03-01", "2026-03-02");
    cr_assert_eq(kf_view_assess(t.st, "2026-H1", &o, NULL, &json, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_view_rdoc_verify(t.st, pk, "assessment", "2026-H1", 0, json, strlen(json), err,
                                     sizeof(err)),
                 1);
    cr_assert(strstr(err, "differs at byte") != NULL, "%s", err);
    free(json);
    cr_assert_eq(issue("2026-H1", "2027-07-03", "a late usage file from Z-XH-001"), 2);
    free(d.json);
    memset(&d, 0, sizeof(d));
    cr_assert_eq(kf_store_rdoc_get(t.st, "assessment", "2026-H1", 2, &d), 0);
    cr_assert_eq(kf_view_assess_opts_of(d.json, &o, sup, sizeof(sup), reason, sizeof(reason)), 0);
    cr_assert_eq(o.version, 2);
    cr_assert_str_eq(reason, "a late usage file from Z-XH-001");
    cr_assert_eq(strlen(sup), 64);
    cr_assert_eq(kf_view_assess(t.st, "2026-H1", &o, NULL, &json, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_view_rdoc_verify(t.st, pk, "assessment", "2026-H1", 2, json, strlen(json), err,
                                     sizeof(err)),
                 0, "%s", err);
    free(json);
    free(d.json);
}
