/* kf_test_store.h: a fresh store for the suites that test over one (the store's, the SLA
 * service's): a temp directory, the database created and migrated, optionally the
 * fixtures loaded, and a second, read-only connection to look at what was committed.
 * Linked by the suites that name it (kf_test_store), not by every suite: it needs kf_store.
 * Test thread only; assertions are Criterion's.
 */
#ifndef KF_TESTS_KF_TEST_STORE_H
#define KF_TESTS_KF_TEST_STORE_H

#include <stdint.h>

#include <sqlite3.h>

#include "store/store.h"

/* The small deployment of the unit suites: 2 units, 2 banks, a few zones and items. */
#define KF_TEST_FIXTURES_SMALL KF_TEST_SOURCE_DIR "/tests/data/deployment_small.json"
/* The demo's full deployment. */
#define KF_TEST_FIXTURES_FULL KF_TEST_SOURCE_DIR "/fixtures/deployment.json"

struct kf_test_store {
    char dir[64];   /* the temp directory, removed by kf_test_store_close */
    char path[128]; /* dir/server.db */
    struct kf_store *st;
    sqlite3 *rd; /* read-only, beside st */
};

/* Make t: a temp directory named after prefix, the store at t->path, the fixtures file
 * loaded when fixtures is not NULL, the read-only connection. Fails the test otherwise. */
void kf_test_store_open(struct kf_test_store *t, const char *prefix, const char *fixtures);
/* Close both connections and remove the directory. Idempotent. */
void kf_test_store_close(struct kf_test_store *t);
/* Undo schema v22 on db (a connection of the suite's own): the period stamps' triggers and
 * table (store/sqlite/period.c), for a suite that takes a store back to an older schema to
 * watch it migrate. */
void kf_test_store_drop_period_stamps(sqlite3 *db);
/* Run sql (statements) on a connection of its own to t->path, as another writer would;
 * fails the test with SQLite's message otherwise. */
void kf_test_store_exec(const struct kf_test_store *t, const char *sql);
/* One integer from sql on the read-only connection; -1 when there is no row. */
int64_t kf_test_store_q1(const struct kf_test_store *t, const char *sql);

#endif
