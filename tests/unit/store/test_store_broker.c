/* test_store_broker.c: broker accounts in the store (store/broker.h): upsert, delete,
 * expiry, ordering, validation, and use inside a caller's transaction. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include "kf_test.h"
#include "kf_test_store.h"
#include <sodium.h>
#include <sqlite3.h>

#include <kf/brokerpw.h>

#include "store/store.h"
#include "store/broker.h"

static struct kf_test_store tstore; /* the store, its read-only twin, its dir */
static char v1[KF_BROKERPW_VERIFIER_LEN + 1], v2[KF_BROKERPW_VERIFIER_LEN + 1];

static void setup(void)
{
    char pw[KF_BROKERPW_LEN + 1];

    cr_assert(sodium_init() >= 0);
    kf_test_store_open(&tstore, "kf-test-broker", NULL);
    kf_brokerpw_generate(pw);
    cr_assert_eq(kf_brokerpw_verifier(pw, v1, sizeof(v1)), 0);
    kf_brokerpw_generate(pw);
    cr_assert_eq(kf_brokerpw_verifier(pw, v2, sizeof(v2)), 0);
}

static void teardown(void)
{
    kf_test_store_close(&tstore);
}

TestSuite(store_broker, .init = setup, .fini = teardown);

/* What kf_store_broker_each saw, as "user role device expires verifier-prefix" lines. */
struct seen {
    char text[2048];
    int n, stop_at;
};

static int collect(void *ud, const struct kf_broker_account *a)
{
    struct seen *s = ud;
    size_t len = strlen(s->text);

    snprintf(s->text + len, sizeof(s->text) - len, "%s %s %s %lld %.8s\n", a->username, a->role,
             a->device_id ? a->device_id : "-", (long long)a->expires_ms, a->verifier);
    s->n++;
    return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static void each(int64_t now, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    cr_assert_eq(kf_store_broker_each(tstore.st, now, collect, s), 0, "%s",
                 kf_store_errmsg(tstore.st));
}

Test(store_broker, migration_creates_the_table)
{
    sqlite3 *db;
    sqlite3_stmt *s;

    cr_assert_eq(sqlite3_open_v2(tstore.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM broker_accounts", -1, &s, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(s, 0), 0);
    sqlite3_finalize(s);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_geq(sqlite3_column_int(s, 0), 2);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

Test(store_broker, put_each_sorted_and_unexpired)
{
    struct seen s;

    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-XH-0002", "device", "KF-XH-0002", v1, 0, 1000),
                 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-XH-0001", "device", "KF-XH-0001", v1, 0, 1000),
                 0);
    cr_assert_eq(kf_store_broker_put(tstore.st, "_kioskd", "server", NULL, v2, 0, 1000), 0);
    cr_assert_eq(
        kf_store_broker_put(tstore.st, "_enroll-ABCDEFGHJK", "enroll", NULL, v2, 5000, 1000), 0,
        "%s", kf_store_errmsg(tstore.st));

    each(4999, &s);
    cr_assert_eq(s.n, 4);
    /* Byte order: digits and upper case sort before '_'. */
    cr_assert_eq(strncmp(s.text, "KF-XH-0001 device KF-XH-0001 0 $6$", 34), 0, "%s", s.text);
    cr_assert(strstr(s.text, "KF-XH-0002 device") > strstr(s.text, "KF-XH-0001 device"));
    cr_assert(strstr(s.text, "_enroll-ABCDEFGHJK enroll - 5000") >
              strstr(s.text, "KF-XH-0002 device"));
    cr_assert(strstr(s.text, "_kioskd server - 0") > strstr(s.text, "_enroll-"));

    each(5000, &s); /* expired at its expiry instant */
    cr_assert_eq(s.n, 3);
    cr_assert_null(strstr(s.text, "_enroll-"));
}

Test(store_broker, upsert_replaces_the_verifier)
{
    struct seen s;

    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-XH-0001", "device", "KF-XH-0001", v1, 0, 1000),
                 0);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-XH-0001", "device", "KF-XH-0001", v2, 0, 2000),
                 0);
    each(3000, &s);
    cr_assert_eq(s.n, 1);
    char want[64]; /* collect prints a verifier's first 8 characters */
    snprintf(want, sizeof(want), "KF-XH-0001 device KF-XH-0001 0 %.8s\n", v2);
    cr_assert_str_eq(s.text, want);
}

Test(store_broker, delete_and_enoent)
{
    struct seen s;

    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-XH-0001", "device", "KF-XH-0001", v1, 0, 1000),
                 0);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-XH-0002", "device", "KF-XH-0002", v1, 0, 1000),
                 0);
    cr_assert_eq(kf_store_broker_del(tstore.st, "KF-XH-0001"), 0);
    cr_assert_eq(kf_store_broker_del(tstore.st, "KF-XH-0001"), -ENOENT);
    each(2000, &s);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(strncmp(s.text, "KF-XH-0002 ", 11), 0);
}

Test(store_broker, refuses_bad_accounts)
{
    char bad[KF_BROKERPW_VERIFIER_LEN + 1];
    struct seen s;

    memcpy(bad, v1, sizeof(bad));
    bad[40] = '\n';
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF/1", "device", "KF/1", v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "", "device", "", v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-1", "device", "KF-2", v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-1", "device", NULL, v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "_x", "device", "_x", v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "kioskd", "server", NULL, v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "_", "server", NULL, v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "_enrollX", "enroll", NULL, v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-1", "admin", "KF-1", v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-1", NULL, "KF-1", v1, 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-1", "device", "KF-1", bad, 0, 1), -EINVAL);
    cr_assert(*kf_store_errmsg(tstore.st) != '\0', "the refusal says why");
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-1", "device", "KF-1", "secret", 0, 1), -EINVAL);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-1", "device", "KF-1", v1, -5, 1), -EINVAL);
    each(0, &s);
    cr_assert_eq(s.n, 0);
}

Test(store_broker, inside_a_callers_transaction)
{
    struct seen s;

    cr_assert_eq(kf_store_begin(tstore.st), 0);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-XH-0001", "device", "KF-XH-0001", v1, 0, 1), 0);
    cr_assert_eq(kf_store_broker_del(tstore.st, "KF-NONE"), -ENOENT,
                 "does not end the transaction");
    cr_assert_eq(kf_store_end(tstore.st, 0), 0); /* rolled back with the caller's transaction */
    each(2, &s);
    cr_assert_eq(s.n, 0);

    cr_assert_eq(kf_store_begin(tstore.st), 0);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-XH-0001", "device", "KF-XH-0001", v1, 0, 1), 0);
    cr_assert_eq(kf_store_broker_put(tstore.st, "_kioskd", "server", NULL, v1, 0, 1), 0);
    each(2, &s); /* reads see the caller's uncommitted writes */
    cr_assert_eq(s.n, 2);
    cr_assert_eq(kf_store_end(tstore.st, 1), 0);
    each(2, &s);
    cr_assert_eq(s.n, 2);
}

Test(store_broker, callback_stops_the_walk)
{
    struct seen s;

    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-1", "device", "KF-1", v1, 0, 1), 0);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-2", "device", "KF-2", v1, 0, 1), 0);
    cr_assert_eq(kf_store_broker_put(tstore.st, "KF-3", "device", "KF-3", v1, 0, 1), 0);
    memset(&s, 0, sizeof(s));
    s.stop_at = 2;
    cr_assert_eq(kf_store_broker_each(tstore.st, 2, collect, &s), 42);
    cr_assert_eq(s.n, 2);
    /* The statement was reset: a new walk sees everything. */
    each(2, &s);
    cr_assert_eq(s.n, 3);
}
