/* Freezing the bureau's documents (views/rdoc.h) over a real store: issued, signed, logged;
 * issued again only with a reason, as a new version; verified byte for byte against a
 * recompute, and every kind of tamper named. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "kf_test_store.h"
#include "store/audit_log.h"
#include "views/rdoc.h"

static struct kf_test_store t;
static uint8_t pk[32], sk[64];

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
    kf_test_store_open(&t, "kf-rdoc", KF_TEST_FIXTURES_SMALL);
}

static void teardown(void)
{
    kf_test_store_close(&t);
}

TestSuite(rdoc, .init = setup, .fini = teardown);

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

static const char doc1[] = "{\"doc\":\"kioskfleet.week/1\",\"week\":\"2026-W40\",\"txns\":1234}";
static const char doc2[] = "{\"doc\":\"kioskfleet.week/1\",\"week\":\"2026-W40\",\"txns\":1240}";

Test(rdoc, freeze_supersede_and_verify)
{
    char err[512];
    int32_t v = 0;

    cr_assert_eq(kf_view_rdoc_verify(t.st, pk, "week", "2026-W40", 0, NULL, 0, err, sizeof(err)),
                 -ENOENT);
    cr_assert_eq(kf_view_rdoc_freeze(t.st, sk, "week", "2026-W40", doc1, strlen(doc1), 1000,
                                     "kioskd", NULL, &v, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(v, 1);
    cr_assert_eq(kf_view_rdoc_freeze(t.st, sk, "week", "2026-W40", doc2, strlen(doc2), 2000,
                                     "bureau:zhao", "", &v, err, sizeof(err)),
                 -EEXIST, "issued twice without a reason");
    cr_assert(strstr(err, "only with a reason") != NULL, "%s", err);
    /* Recomputed with the same inputs: the same bytes. Then an input changed. */
    cr_assert_eq(
        kf_view_rdoc_verify(t.st, pk, "week", "2026-W40", 0, doc1, strlen(doc1), err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(
        kf_view_rdoc_verify(t.st, pk, "week", "2026-W40", 0, doc2, strlen(doc2), err, sizeof(err)),
        1);
    cr_assert(strstr(err, "differs at byte 54") != NULL, "%s", err);
    cr_assert_eq(kf_view_rdoc_freeze(t.st, sk, "week", "2026-W40", doc2, strlen(doc2), 2000,
                                     "bureau:zhao", "a branch's late usage file", &v, err,
                                     sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(v, 2);
    cr_assert_eq(
        kf_view_rdoc_verify(t.st, pk, "week", "2026-W40", 0, doc2, strlen(doc2), err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(
        kf_view_rdoc_verify(t.st, pk, "week", "2026-W40", 1, doc1, strlen(doc1), err, sizeof(err)),
        0, "the superseded version still verifies: %s", err);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM audit_log WHERE action ="
                                      " 'report.issue' AND subject LIKE 'week/2026-W40/v%'"),
                 2);
    /* Another key. */
    uint8_t pk2[32], sk2[64];
    crypto_sign_keypair(pk2, sk2);
    cr_assert_eq(kf_view_rdoc_verify(t.st, pk2, "week", "2026-W40", 0, NULL, 0, err, sizeof(err)),
                 1);
    cr_assert(strstr(err, "not the server key's") != NULL, "%s", err);
}

Test(rdoc, a_document_edited_by_hand_is_named)
{
    char err[512];
    int32_t v = 0;

    cr_assert_eq(kf_view_rdoc_freeze(t.st, sk, "assessment", "2026-H1", doc1, strlen(doc1), 1000,
                                     "bureau:zhao", NULL, &v, err, sizeof(err)),
                 0, "%s", err);
    /* The triggers refuse an UPDATE; an operator who drops them and edits: */
    cr_assert_eq(rw("DROP TRIGGER report_docs_no_update;"
                    " UPDATE report_docs SET json = replace(json, '1234', '9999')"),
                 SQLITE_OK);
    cr_assert_eq(
        kf_view_rdoc_verify(t.st, pk, "assessment", "2026-H1", 0, NULL, 0, err, sizeof(err)), 1);
    cr_assert(strstr(err, "the stored bytes digest to") != NULL, "%s", err);
}
