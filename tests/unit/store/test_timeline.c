/* A terminal's timeline (store/timeline.h, views/timeline.h): its facts over a period in
 * time order, the newest kept when there are more than the bound, another bank's terminal
 * not found on a bank's connection, and the table in words. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "kf_test_store.h"
#include "store/timeline.h"
#include "store/users.h"
#include "views/timeline.h"

static struct kf_test_store t;

static void rw(const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;

    cr_assert_eq(sqlite3_open(t.path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK, "%s", err);
    sqlite3_close(db);
}

/* Two terminals of two banks. A-ICBC: online at 1000, its printer jammed at 2000 (with a
 * critical fault) and back at 3000, maintenance 4000..5000, offline by its will at 6000; a
 * fact committed late (id 7) dated before the others of the period's end. A-CCB: one fact. */
static void setup(void)
{
    kf_test_store_open(&t, "kf-timeline", KF_TEST_FIXTURES_SMALL);
    rw("INSERT INTO assets VALUES ('A-ICBC', 1, 'Z-XH-001', NULL, 0), ('A-CCB', 1, 'Z-XH-002',"
       " NULL, 0);"
       "INSERT INTO sla_facts(id, asset_id, device_id, kind, at_ms, recv_ms, seq, value, src,"
       " periph, state, code, sev, who) VALUES"
       " (1, 'A-ICBC', 'd-i', 'presence', 1000, 1001, NULL, 1, 'connect', NULL, NULL, NULL,"
       " NULL, NULL),"
       " (2, 'A-ICBC', 'd-i', 'periph', 2000, 2001, 5, 0, NULL, 'receipt_printer', 'media_jam',"
       " NULL, NULL, NULL),"
       " (3, 'A-ICBC', 'd-i', 'fault', 2000, 2001, 6, 1, NULL, 'receipt_printer', NULL,"
       " 'PRN_JAM', 'critical', NULL),"
       " (4, 'A-ICBC', 'd-i', 'periph', 3000, 3001, 7, 1, NULL, 'receipt_printer', 'online', NULL,"
       " NULL, NULL),"
       " (5, 'A-ICBC', 'd-i', 'maint', 4000, 4001, 8, 1, NULL, NULL, NULL, NULL, NULL, 'T-07'),"
       " (6, 'A-ICBC', 'd-i', 'maint', 5000, 5001, 9, 0, NULL, NULL, NULL, NULL, NULL, 'T-07'),"
       " (7, 'A-ICBC', 'd-i', 'presence', 6000, 9000, NULL, 0, 'will', NULL, NULL, NULL, NULL,"
       " NULL),"
       " (8, 'A-ICBC', 'd-i', 'fault', 2500, 9500, 10, 0, NULL, 'receipt_printer', NULL,"
       " 'PRN_JAM', 'critical', NULL),"
       " (9, 'A-CCB', 'd-c', 'presence', 1500, 1501, NULL, 1, 'connect', NULL, NULL, NULL,"
       " NULL, NULL);");
}

static void teardown(void)
{
    kf_test_store_close(&t);
}

TestSuite(timeline, .init = setup, .fini = teardown);

Test(timeline, facts_of_one_terminal_in_time_order)
{
    static const int64_t ids[] = {1, 2, 3, 8, 4, 5, 6, 7};
    struct kf_timeline_fact *f = NULL;
    size_t n = 0;
    int cut = -1;

    cr_assert_eq(kf_store_timeline_facts(t.st, "A-ICBC", 0, 10000, 0, &f, &n, &cut), 0);
    cr_assert_eq(n, 8);
    cr_assert_eq(cut, 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(f[i].id, ids[i], "row %zu is fact %lld", i, (long long)f[i].id);
    cr_assert_str_eq(f[1].kind, "periph");
    cr_assert_str_eq(f[1].periph, "receipt_printer");
    cr_assert_str_eq(f[1].state, "media_jam");
    cr_assert_eq(f[1].value, 0);
    cr_assert_str_eq(f[2].code, "PRN_JAM");
    cr_assert_str_eq(f[2].sev, "critical");
    cr_assert_str_eq(f[5].who, "T-07");
    cr_assert_str_eq(f[7].src, "will");
    cr_assert_eq(f[7].recv_ms, 9000);
    free(f);

    /* [from, to): 2000 is in, 4000 is out. */
    cr_assert_eq(kf_store_timeline_facts(t.st, "A-ICBC", 2000, 4000, 0, &f, &n, &cut), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(f[0].id, 2);
    cr_assert_eq(f[3].id, 4);
    free(f);

    /* A terminal without a fact in the period: no rows, no error. */
    cr_assert_eq(kf_store_timeline_facts(t.st, "A-CCB", 2000, 4000, 0, &f, &n, &cut), 0);
    cr_assert_eq(n, 0);
    free(f);
}

Test(timeline, the_newest_kept_past_the_bound)
{
    struct kf_timeline_fact *f = NULL;
    size_t n = 0;
    int cut = 0;

    cr_assert_eq(kf_store_timeline_facts(t.st, "A-ICBC", 0, 10000, 3, &f, &n, &cut), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(cut, 1);
    cr_assert_eq(f[0].id, 5);
    cr_assert_eq(f[2].id, 7);
    free(f);
    cr_assert_eq(kf_store_timeline_facts(t.st, "A-ICBC", 0, 10000, 8, &f, &n, &cut), 0);
    cr_assert_eq(n, 8);
    cr_assert_eq(cut, 0, "exactly the bound is not cut");
    free(f);
}

Test(timeline, unknown_and_out_of_scope_terminals_are_not_found)
{
    struct kf_timeline_fact *f = NULL;
    struct kf_store *st = NULL;
    struct kf_scope sc;
    size_t n = 0;
    int cut = 0;

    cr_assert_eq(kf_store_timeline_facts(t.st, "A-NONE", 0, 10000, 0, &f, &n, &cut), -ENOENT);
    cr_assert_eq(kf_store_timeline_facts(t.st, "A-ICBC", 10, 10, 0, &f, &n, &cut), -EINVAL);
    cr_assert_eq(kf_role_parse("bank:CCB", &sc), 0);
    cr_assert_eq(kf_store_open_scoped(t.path, &sc, &st), 0);
    cr_assert_eq(kf_store_timeline_facts(st, "A-ICBC", 0, 10000, 0, &f, &n, &cut), -ENOENT);
    cr_assert_eq(kf_store_timeline_facts(st, "A-CCB", 0, 10000, 0, &f, &n, &cut), 0);
    cr_assert_eq(n, 1);
    free(f);
    kf_store_free(st);
}

Test(timeline, where_each_series_stood_as_the_period_began)
{
    struct kf_timeline_fact *f = NULL;
    size_t n = 0;

    /* The fault is open at 2200 (raised at 2000, cleared at 2500). */
    cr_assert_eq(kf_store_timeline_before(t.st, "A-ICBC", 2200, 0, &f, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(f[0].id, 1);
    cr_assert_eq(f[1].id, 2);
    cr_assert_eq(f[2].id, 3);
    free(f);
    /* At 4500: online, the printer back (its newest change), in maintenance; the fault
     * cleared is no state to show. */
    cr_assert_eq(kf_store_timeline_before(t.st, "A-ICBC", 4500, 0, &f, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(f[0].id, 1);
    cr_assert_eq(f[1].id, 4);
    cr_assert_str_eq(f[1].state, "online");
    cr_assert_eq(f[2].id, 5);
    free(f);
    /* Nothing before the first fact. */
    cr_assert_eq(kf_store_timeline_before(t.st, "A-ICBC", 1000, 0, &f, &n), 0);
    cr_assert_eq(n, 0);
    free(f);
    cr_assert_eq(kf_store_timeline_before(t.st, "A-NONE", 1000, 0, &f, &n), -ENOENT);
}

static const char *cell(const struct kf_qtable *q, size_t row, const char *col)
{
    int c = kf_store_query_table_col(q, col);

    cr_assert_geq(c, 0, "column %s", col);
    return kf_store_query_table_cell(q, row, (size_t)c);
}

Test(timeline, the_table_in_words)
{
    struct kf_qtable *q = NULL;
    char err[256] = "";

    cr_assert_eq(kf_view_timeline(t.st, "A-ICBC", 0, 10000, 0, &q, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(q->name, "timeline");
    cr_assert_eq(q->nrows, 8);
    cr_assert_eq(q->types[kf_store_query_table_col(q, "at")], KF_QT_TIME);
    cr_assert_eq(q->types[kf_store_query_table_col(q, "received")], KF_QT_TIME | KF_QT_FILE_ONLY);
    cr_assert_str_eq(cell(q, 0, "at"), "1000");
    cr_assert_str_eq(cell(q, 0, "value"), "online");
    cr_assert_str_eq(cell(q, 0, "source"), "connect");
    cr_assert_null(cell(q, 0, "periph"));
    cr_assert_str_eq(cell(q, 1, "value"), "unusable");
    cr_assert_str_eq(cell(q, 1, "state"), "media_jam");
    cr_assert_str_eq(cell(q, 2, "value"), "raised");
    cr_assert_str_eq(cell(q, 3, "value"), "cleared");
    cr_assert_str_eq(cell(q, 4, "value"), "usable");
    cr_assert_str_eq(cell(q, 5, "value"), "on");
    cr_assert_str_eq(cell(q, 5, "who"), "T-07");
    cr_assert_str_eq(cell(q, 6, "value"), "off");
    cr_assert_str_eq(cell(q, 7, "value"), "offline");
    cr_assert_str_eq(cell(q, 7, "device"), "d-i");
    kf_store_query_table_free(q);

    /* Cut: a "cut" row first, at the oldest fact shown, nothing else in it. */
    cr_assert_eq(kf_view_timeline(t.st, "A-ICBC", 0, 10000, 2, &q, err, sizeof(err)), 0);
    cr_assert_eq(q->nrows, 3);
    cr_assert_str_eq(cell(q, 0, "kind"), "cut");
    cr_assert_str_eq(cell(q, 0, "initial"), "0");
    cr_assert_str_eq(cell(q, 0, "at"), "5000");
    cr_assert_null(cell(q, 0, "value"));
    cr_assert_str_eq(cell(q, 1, "kind"), "maint");
    kf_store_query_table_free(q);

    /* From 2200: the three initial rows (before the period), then its five changes. */
    cr_assert_eq(kf_view_timeline(t.st, "A-ICBC", 2200, 10000, 0, &q, err, sizeof(err)), 0);
    cr_assert_eq(q->nrows, 8);
    cr_assert_str_eq(cell(q, 0, "initial"), "1");
    cr_assert_str_eq(cell(q, 0, "at"), "1000");
    cr_assert_str_eq(cell(q, 2, "initial"), "1");
    cr_assert_str_eq(cell(q, 2, "value"), "raised");
    cr_assert_str_eq(cell(q, 3, "initial"), "0");
    cr_assert_str_eq(cell(q, 3, "at"), "2500");
    kf_store_query_table_free(q);

    cr_assert_eq(kf_view_timeline(t.st, "A-NONE", 0, 10000, 0, &q, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "A-NONE") != NULL, "%s", err);
}
