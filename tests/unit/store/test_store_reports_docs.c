/* The bureau's frozen documents, rubrics and zone decisions (store/reports_docs.h): versions
 * in order, a later one only with a reason, nothing ever changed or deleted, one decision per
 * zone and period, nothing after a delisting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "kf_test_store.h"
#include "store/reports_docs.h"

static struct kf_test_store t;

static void setup(void)
{
    kf_test_store_open(&t, "kf-rdocs", KF_TEST_FIXTURES_SMALL);
}

static void teardown(void)
{
    kf_test_store_close(&t);
}

TestSuite(reports_docs, .init = setup, .fini = teardown);

/* SQL by hand on a connection of its own, as an operator with sqlite3 would: its status. */
static int rw(const char *sql)
{
    sqlite3 *db = NULL;
    int rc;

    cr_assert_eq(sqlite3_open(t.path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static struct kf_rdoc doc(int32_t version, const char *json, const char *reason)
{
    struct kf_rdoc d;

    memset(&d, 0, sizeof(d));
    snprintf(d.kind, sizeof(d.kind), "week");
    snprintf(d.period, sizeof(d.period), "2026-W40");
    d.version = version;
    d.issued_ms = 1000 * version;
    snprintf(d.issued_by, sizeof(d.issued_by), "bureau:zhao");
    snprintf(d.reason, sizeof(d.reason), "%s", reason);
    snprintf(d.digest, sizeof(d.digest), "%064d", version);
    memset(d.sig, version, sizeof(d.sig));
    d.json = (char *)json;
    d.json_len = strlen(json);
    return d;
}

Test(reports_docs, versions_in_order_and_never_changed)
{
    struct kf_rdoc d = doc(1, "{\"v\":1}", ""), got;
    struct kf_rdoc *list = NULL;
    size_t n = 0;
    int32_t latest = -1;

    cr_assert_eq(kf_store_rdoc_latest(t.st, "week", "2026-W40", &latest), 0);
    cr_assert_eq(latest, 0);
    cr_assert_eq(kf_store_rdoc_get(t.st, "week", "2026-W40", 0, &got), -ENOENT);
    cr_assert_eq(kf_store_rdoc_add(t.st, &d), 0);
    cr_assert_eq(kf_store_rdoc_add(t.st, &d), -EEXIST, "issued twice");
    d = doc(2, "{\"v\":2}", "");
    cr_assert_eq(kf_store_rdoc_add(t.st, &d), -EINVAL, "a later version needs a reason");
    d = doc(3, "{\"v\":3}", "skipped one");
    cr_assert_eq(kf_store_rdoc_add(t.st, &d), -EINVAL, "versions follow each other");
    d = doc(2, "{\"v\":2}", "a late usage file from the bank");
    cr_assert_eq(kf_store_rdoc_add(t.st, &d), 0);
    cr_assert_eq(kf_store_rdoc_get(t.st, "week", "2026-W40", 0, &got), 0);
    cr_assert_eq(got.version, 2);
    cr_assert_str_eq(got.json, "{\"v\":2}");
    cr_assert_str_eq(got.reason, "a late usage file from the bank");
    cr_assert_eq(got.sig[63], 2);
    free(got.json);
    cr_assert_eq(kf_store_rdoc_get(t.st, "week", "2026-W40", 1, &got), 0);
    cr_assert_str_eq(got.json, "{\"v\":1}");
    free(got.json);
    cr_assert_eq(kf_store_rdoc_list(t.st, "week", &list, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_null(list[0].json);
    free(list);
    /* The triggers, for whoever writes SQL by hand. */
    cr_assert_neq(rw("UPDATE report_docs SET json = '{}' WHERE version = 1"), 0);
    cr_assert_neq(rw("DELETE FROM report_docs"), 0);
    cr_assert_neq(rw("INSERT INTO report_docs VALUES ('week', '2026-W40', 4,"
                     " 0, 'x', 'y', '{}', 'd', x'00')"),
                  0, "a gap written by hand");
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM report_docs"), 2);
}

Test(reports_docs, rubrics_are_kept_as_loaded)
{
    struct kf_rubric_row *r = NULL;
    size_t n = 0;

    cr_assert_eq(kf_store_rubric_add(t.st, "bureau-2026", 1, "{\"a\":1}", "ab", 5, "ops", "why"),
                 0);
    cr_assert_eq(kf_store_rubric_add(t.st, "bureau-2026", 1, "{\"a\":2}", "cd", 6, "ops", "why"),
                 -EEXIST);
    cr_assert_eq(kf_store_rubrics(t.st, NULL, &r, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(r[0].text, "{\"a\":1}");
    kf_store_rubrics_free(r, n);
    cr_assert_neq(rw("UPDATE rubric_versions SET text = ''"), 0);
}

Test(reports_docs, one_decision_per_zone_and_period_and_nothing_after_a_delisting)
{
    struct kf_zone_decision_row d = {.decision = KF_ZONE_KEEP, .at_ms = 7};
    struct kf_zone_decision_row *rows = NULL;
    size_t n = 0;
    int64_t id = 0;
    const char *zone = "Z-XH-001"; /* of the small deployment */

    snprintf(d.zone_id, sizeof(d.zone_id), "%s", zone);
    snprintf(d.period, sizeof(d.period), "2026-H1");
    snprintf(d.by, sizeof(d.by), "bureau:zhao");
    cr_assert_eq(kf_store_zone_decision_add(t.st, &d, &id), -EINVAL, "no reason");
    snprintf(d.reason, sizeof(d.reason), "new branch manager, a plan to move the kiosk");
    cr_assert_eq(kf_store_zone_decision_add(t.st, &d, &id), 0);
    cr_assert_gt(id, 0);
    cr_assert_eq(kf_store_zone_decision_add(t.st, &d, &id), -EEXIST, "decided already");
    d.decision = KF_ZONE_DELIST;
    d.from_day = 20636;
    snprintf(d.period, sizeof(d.period), "2026-H2");
    cr_assert_eq(kf_store_zone_decision_add(t.st, &d, &id), 0);
    snprintf(d.period, sizeof(d.period), "2027-H1");
    cr_assert_eq(kf_store_zone_decision_add(t.st, &d, &id), -EALREADY);
    snprintf(d.zone_id, sizeof(d.zone_id), "Z-NONE");
    cr_assert_eq(kf_store_zone_decision_add(t.st, &d, &id), -ENOENT);
    cr_assert_eq(kf_store_zone_decisions(t.st, zone, &rows, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(rows[0].decision, KF_ZONE_KEEP);
    cr_assert_eq(rows[0].from_day, 0);
    cr_assert_eq(rows[1].decision, KF_ZONE_DELIST);
    cr_assert_eq(rows[1].from_day, 20636);
    free(rows);
    cr_assert_neq(rw("DELETE FROM zone_decisions"), 0);
}
