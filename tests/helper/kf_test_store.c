/* kf_test_store.c: a fresh store for a suite (kf_test_store.h). */
#include "kf_test_store.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "kf_test.h"

void kf_test_store_open(struct kf_test_store *t, const char *prefix, const char *fixtures)
{
    memset(t, 0, sizeof(*t));
    kf_test_tmpdir(prefix, t->dir, sizeof(t->dir));
    cr_assert_lt(snprintf(t->path, sizeof(t->path), "%s/server.db", t->dir), (int)sizeof(t->path));
    cr_assert_eq(kf_store_open(t->path, 0, &t->st), 0, "%s", t->path);
    if (fixtures != NULL)
        cr_assert_eq(kf_store_load_fixtures(t->st, fixtures), 0, "%s", kf_store_errmsg(t->st));
    cr_assert_eq(sqlite3_open_v2(t->path, &t->rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

void kf_test_store_close(struct kf_test_store *t)
{
    sqlite3_close(t->rd);
    t->rd = NULL;
    kf_store_free(t->st);
    t->st = NULL;
    if (t->dir[0] != '\0')
        kf_test_rmtree(t->dir);
    t->dir[0] = '\0';
}

void kf_test_store_drop_period_stamps(sqlite3 *db)
{
    char names[64][64], sql[96];
    size_t n = 0;
    sqlite3_stmt *s;

    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                    " AND name LIKE 'period\\_%' ESCAPE '\\'",
                                    -1, &s, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    while (sqlite3_step(s) == SQLITE_ROW) {
        cr_assert_lt(n, sizeof(names) / sizeof(names[0]));
        snprintf(names[n++], sizeof(names[0]), "%s", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    cr_assert_gt(n, 0, "no period trigger: the schema has changed");
    for (size_t i = 0; i < n; i++) {
        snprintf(sql, sizeof(sql), "DROP TRIGGER %s", names[i]);
        cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    }
    cr_assert_eq(sqlite3_exec(db, "DROP TABLE period_stamps", NULL, NULL, NULL), SQLITE_OK);
}

void kf_test_store_exec(const struct kf_test_store *t, const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;

    cr_assert_eq(sqlite3_open(t->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        cr_assert_fail("%s: %s", sql, msg);
    sqlite3_close(db);
}

int64_t kf_test_store_q1(const struct kf_test_store *t, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;

    cr_assert_eq(sqlite3_prepare_v2(t->rd, sql, -1, &s, NULL), SQLITE_OK, "%s",
                 sqlite3_errmsg(t->rd));
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}
