/* test_query.c: the operators' read-only queries (store/query.h) over a store whose usage is
 * written here directly (its rollups rebuilt from it: kf_store_usage_rebuild), so that the
 * read path is tested on its own: every member of a dimension listed, unknown item codes kept
 * apart, columns typed by the query. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/time.h>

#include "kf_test_store.h"
#include "store/ingest.h"
#include "store/query.h"
#include "store/registry.h"
#include "store/store.h"

static struct kf_test_store tstore;
static int32_t day;

static void exec(const char *sql)
{
    kf_test_store_exec(&tstore, sql);
}

/* Two terminals in Z-XH-001; on one day: 3 transactions of HF-001, 2 of SB-003 (in the small
 * catalog), and 4 of ZZ-404, a code the catalog does not know, sent by both terminals. */
static void setup(void)
{
    struct kf_device_reg a = {"KF-XH-0001", "A-1", KF_KIND_KIOSK, "Z-XH-001", NULL, {0}};
    struct kf_device_reg b = {"KF-XH-0002", "A-2", KF_KIND_ITM, "Z-XH-001", NULL, {0}};
    char sql[1024];

    kf_test_store_open(&tstore, "kf-test-query", KF_TEST_FIXTURES_SMALL);
    cr_assert_eq(kf_store_register_device(tstore.st, &a), 0);
    cr_assert_eq(kf_store_register_device(tstore.st, &b), 0);
    day = kf_local_day(kf_now_ms());
    snprintf(sql, sizeof(sql),
             "INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok, failed,"
             " abandoned, dur_ms_total) VALUES"
             " (%d, 'Z-XH-001', 'A-1', 'KF-XH-0001', 'HF-001', 2, 1, 0, 30000),"
             " (%d, 'Z-XH-001', 'A-1', 'KF-XH-0001', 'SB-003', 1, 0, 1, 20000),"
             " (%d, 'Z-XH-001', 'A-1', 'KF-XH-0001', 'ZZ-404', 3, 0, 0, 9000),"
             " (%d, 'Z-XH-001', 'A-2', 'KF-XH-0002', 'ZZ-404', 0, 0, 1, 1000)",
             (int)day, (int)day, (int)day, (int)day - 3);
    exec(sql);
    cr_assert_eq(kf_store_usage_rebuild(tstore.st), 0, "%s", kf_store_errmsg(tstore.st));
}

static void teardown(void)
{
    kf_test_store_close(&tstore);
}

TestSuite(query, .init = setup, .fini = teardown);

static const char *cell(const struct kf_qtable *t, size_t row, const char *col)
{
    int c = kf_store_query_table_col(t, col);

    cr_assert_geq(c, 0, "no column %s", col);
    return kf_store_query_table_cell(t, row, (size_t)c);
}

static long long sum(const struct kf_qtable *t, const char *col)
{
    long long s = 0;

    for (size_t r = 0; r < t->nrows; r++)
        s += strtoll(cell(t, r, col), NULL, 10);
    return s;
}

Test(query, usage_lists_every_member_with_zeros)
{
    static const struct {
        const char *by, *table;
    } dims[] = {{"zone", "zones"}, {"unit", "units"},      {"bank", "banks"},
                {"item", "items"}, {"family", "families"}, {"device", "devices"}};
    struct kf_qtable *t;

    for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
        char sql[64];

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", dims[i].table);
        cr_assert_eq(kf_store_query_usage(tstore.st, day, day, dims[i].by, &t), 0);
        cr_assert_eq((int64_t)t->nrows, kf_test_store_q1(&tstore, sql), "--by %s", dims[i].by);
        kf_store_query_table_free(t);
    }
    cr_assert_eq(kf_store_query_usage(tstore.st, day, day, "zone", &t), 0);
    cr_assert_str_eq(cell(t, 0, "zone"), "Z-WG-001");
    cr_assert_str_eq(cell(t, 0, "total"), "0");
    cr_assert_str_eq(cell(t, 0, "duration_s"), "0");
    cr_assert_str_eq(cell(t, 1, "zone"), "Z-XH-001");
    cr_assert_str_eq(cell(t, 1, "unit_name"), "新华区");
    cr_assert_not_null(cell(t, 1, "bank_name"));
    cr_assert_str_eq(cell(t, 1, "total"), "5");
    cr_assert_str_eq(cell(t, 1, "duration_s"), "50");
    kf_store_query_table_free(t);
}

Test(query, unknown_item_codes_count_nowhere)
{
    static const char *const bys[] = {"zone",   "unit",   "bank",       "item",
                                      "family", "device", "device,item"};
    struct kf_qtable *t;

    for (size_t i = 0; i < sizeof(bys) / sizeof(bys[0]); i++) {
        cr_assert_eq(kf_store_query_usage(tstore.st, day - 7, day, bys[i], &t), 0);
        cr_assert_eq(sum(t, "total"), 5, "--by %s counts %lld", bys[i], sum(t, "total"));
        for (size_t r = 0; kf_store_query_table_col(t, "item") >= 0 && r < t->nrows; r++)
            cr_assert_str_neq(cell(t, r, "item"), "ZZ-404");
        kf_store_query_table_free(t);
    }
    /* The evidence stays: the rows are in usage_daily, untouched. */
    cr_assert_eq(kf_test_store_q1(&tstore, "SELECT sum(ok + failed + abandoned) FROM usage_daily"
                                           " WHERE item = 'ZZ-404'"),
                 4);
}

Test(query, unknown_items_lists_code_terminals_count_and_days)
{
    struct kf_qtable *t;
    char first[16], last[16];

    cr_assert_eq(kf_store_query_unknown_items(tstore.st, INT32_MIN, INT32_MAX, &t), 0);
    cr_assert_eq(t->nrows, 1);
    cr_assert_str_eq(cell(t, 0, "item"), "ZZ-404");
    cr_assert_str_eq(cell(t, 0, "terminals"), "2");
    cr_assert_str_eq(cell(t, 0, "total"), "4");
    cr_assert_str_eq(cell(t, 0, "abandoned"), "1");
    cr_assert_str_eq(cell(t, 0, "first_day"), kf_day_format(day - 3, first, sizeof(first)));
    cr_assert_str_eq(cell(t, 0, "last_day"), kf_day_format(day, last, sizeof(last)));
    cr_assert_null(cell(t, 0, "from"), "an open period has no first day");
    kf_store_query_table_free(t);
    cr_assert_eq(kf_store_query_unknown_items(tstore.st, day, day, &t), 0);
    cr_assert_str_eq(cell(t, 0, "terminals"), "1");
    cr_assert_str_eq(cell(t, 0, "from"), last);
    kf_store_query_table_free(t);
}

Test(query, columns_have_types_from_the_query)
{
    struct kf_qtable *t;

    cr_assert_eq(kf_store_query_devices(tstore.st, &t), 0);
    cr_assert_eq(t->types[kf_store_query_table_col(t, "online")], KF_QT_BOOL);
    cr_assert_eq(t->types[kf_store_query_table_col(t, "since")], KF_QT_TIME);
    cr_assert_eq(t->types[kf_store_query_table_col(t, "acked_seq")], KF_QT_INT);
    cr_assert_eq(t->types[kf_store_query_table_col(t, "zone_name")], KF_QT_TEXT);
    /* A NULL value stays NULL: no "-" and no guessing. */
    cr_assert_null(cell(t, 0, "cpu_pct"));
    kf_store_query_table_free(t);
    cr_assert_eq(kf_store_query_usage(tstore.st, day, day, "family", &t), 0);
    cr_assert_eq(t->types[0], KF_QT_DAY | KF_QT_FILE_ONLY);
    cr_assert_eq(t->types[kf_store_query_table_col(t, "duration_s")], KF_QT_SECONDS);
    kf_store_query_table_free(t);
}

Test(query, names_of_each_kind)
{
    struct kf_qtable *t;

    cr_assert_eq(kf_store_query_names(tstore.st, "unit", &t), 0);
    cr_assert_eq(t->nrows, 2);
    cr_assert_str_eq(kf_store_query_table_cell(t, 0, 0), "WG");
    kf_store_query_table_free(t);
    cr_assert_eq(kf_store_query_names(tstore.st, "planet", &t), -EINVAL);
}

Test(query, a_table_built_by_hand_checks_its_types)
{
    static const char *const cols[] = {"id", "at", NULL};
    static const char *const row[] = {"7", NULL};
    struct kf_qtable *t = kf_store_query_table_new("x", NULL, cols, "it");

    cr_assert_not_null(t);
    cr_assert_eq(kf_store_query_table_add_row(t, row), 0);
    cr_assert_null(kf_store_query_table_cell(t, 0, 1));
    kf_store_query_table_free(t);
    cr_assert_null(kf_store_query_table_new("x", NULL, cols, "i"));
    cr_assert_null(kf_store_query_table_new("x", NULL, cols, "iq"));
}
