/* test_store_identity.c: tokens, enrollment, rotation, revocation, replacement and the
 * audit log's chain, on a real database in a temp directory. */
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
#include <kf/ident.h>

#include "store/registry.h"
#include "store/store.h"
#include "store/broker.h"
#include "store/identity.h"

#define HOUR_MS (3600LL * 1000)

static struct kf_test_store tstore; /* the store, its read-only twin, its dir */
static uint8_t server_pk[32], server_sk[64];
static const int64_t t0 = 1773100800000LL; /* 2026-03-10 00:00 UTC */

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    kf_test_store_open(&tstore, "kf-test-ident", KF_TEST_FIXTURES_SMALL);
    crypto_sign_keypair(server_pk, server_sk);
}

static void teardown(void)
{
    kf_test_store_close(&tstore);
}

TestSuite(store_identity, .init = setup, .fini = teardown);

/* A terminal's side of enrollment: its own key, its broker password, the proof. */
struct terminal {
    uint8_t pk[32], sk[64];
    char pw[KF_BROKERPW_LEN + 1];
    struct kf_ident_req req;
};

static void terminal_request(struct terminal *t, const char *token)
{
    uint8_t secret[KF_TOKEN_SECRET_BYTES], mac[32];

    crypto_sign_keypair(t->pk, t->sk);
    cr_assert_eq(kf_brokerpw_generate(t->pw), 0);
    memset(&t->req, 0, sizeof(t->req));
    t->req.op = KF_IDENT_ENROLL;
    cr_assert_eq(kf_token_parse(token, t->req.token_id, secret), 0);
    memcpy(t->req.pk, t->pk, 32);
    cr_assert_eq(kf_brokerpw_verifier(t->pw, t->req.verifier, sizeof(t->req.verifier)), 0);
    kf_token_mac_key(secret, mac);
    kf_ident_proof(mac, &t->req, t->req.proof);
}

static void issue(const char *asset, int64_t ttl, char *token, size_t cap)
{
    struct kf_token_req tr = {
        .asset_id = asset,
        .kind = KF_KIND_KIOSK,
        .zone_id = "Z-XH-001",
        .lease_ref = "L-77",
        .actor = "ops:li",
        .reason = "new installation",
        .ttl_ms = ttl,
    };
    char id[KF_TOKEN_ID_LEN + 1];

    cr_assert_eq(kf_store_identity_token_issue(tstore.st, &tr, t0, server_sk, token, cap, id), 0,
                 "%s", kf_store_errmsg(tstore.st));
}

struct seen {
    int n, found;
    const char *user;
};

static int find_user(void *ud, const struct kf_broker_account *a)
{
    struct seen *s = ud;

    s->n++;
    s->found |= strcmp(a->username, s->user) == 0;
    return 0;
}

static int has_account(const char *user, int64_t now)
{
    struct seen s = {.user = user};

    cr_assert_eq(kf_store_broker_each(tstore.st, now, find_user, &s), 0);
    return s.found;
}

Test(store_identity, enroll_once_then_token_is_spent)
{
    char token[KF_TOKEN_LEN + 1], user[KF_DEVICE_ID_MAX + 1];
    struct terminal a, b;
    struct kf_ident_result res;

    issue("A-000101", 72 * HOUR_MS, token, sizeof(token));
    terminal_request(&a, token);
    kf_token_username(a.req.token_id, user, sizeof(user));
    cr_assert(has_account(user, t0 + 1), "the token's enrollment account exists");
    cr_assert_eq(kf_store_identity_apply(tstore.st, &a.req, t0 + HOUR_MS, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_OK);
    cr_assert_str_eq(res.device_id, "A-000101.1");
    cr_assert_eq(res.key_epoch, 1);
    cr_assert(has_account("A-000101.1", t0 + HOUR_MS));
    /* The enrollment account outlives the use by ten minutes (so the broker reload before
     * the answer does not drop the enrolling client), then is gone. */
    cr_assert(has_account(user, t0 + HOUR_MS + 1), "dropped before the answer could go out");
    cr_assert_not(has_account(user, t0 + HOUR_MS + 10 * 60 * 1000), "the enrollment account stays");

    /* The same terminal asking again (it missed the answer) gets the same answer. */
    cr_assert_eq(kf_store_identity_apply(tstore.st, &a.req, t0 + 2 * HOUR_MS, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_OK);
    cr_assert_str_eq(res.device_id, "A-000101.1");

    /* Another key with the same token: refused, nothing registered. */
    terminal_request(&b, token);
    cr_assert_eq(kf_store_identity_apply(tstore.st, &b.req, t0 + 2 * HOUR_MS, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_TOKEN_USED);
    {
        struct kf_registry *reg;
        const struct kf_reg_device *d;

        cr_assert_eq(kf_store_load_registry(tstore.st, &reg), 0);
        cr_assert_eq(kf_store_registry_count(reg), 1);
        d = kf_store_registry_find(reg, "A-000101.1");
        cr_assert_not_null(d);
        cr_assert_eq(memcmp(kf_store_registry_key(d, 1)->pk, a.pk, 32), 0);
        kf_store_registry_unref(reg);
    }
}

Test(store_identity, expired_unknown_and_forged_tokens_are_refused)
{
    char token[KF_TOKEN_LEN + 1];
    struct terminal a;
    struct kf_ident_result res;

    issue("A-000102", HOUR_MS, token, sizeof(token));
    terminal_request(&a, token);
    cr_assert_eq(kf_store_identity_apply(tstore.st, &a.req, t0 + HOUR_MS, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_TOKEN_EXPIRED, "expiry is exclusive of its instant");

    issue("A-000103", HOUR_MS, token, sizeof(token));
    terminal_request(&a, token);
    a.req.proof[0] ^= 1;
    cr_assert_eq(kf_store_identity_apply(tstore.st, &a.req, t0 + 1, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_BAD_PROOF);

    snprintf(a.req.token_id, sizeof(a.req.token_id), "AAAAAAAAAA");
    cr_assert_eq(kf_store_identity_apply(tstore.st, &a.req, t0 + 1, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_TOKEN_UNKNOWN);
}

static void enroll(const char *asset, struct terminal *t, char *dev, size_t cap)
{
    char token[KF_TOKEN_LEN + 1];
    struct kf_ident_result res;

    issue(asset, HOUR_MS, token, sizeof(token));
    terminal_request(t, token);
    cr_assert_eq(kf_store_identity_apply(tstore.st, &t->req, t0 + 1000, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_OK);
    snprintf(dev, cap, "%s", res.device_id);
}

Test(store_identity, rotation_retires_the_old_key)
{
    struct terminal a;
    char dev[KF_DEVICE_ID_MAX + 1];
    uint8_t pk2[32], sk2[64];
    struct kf_ident_req rot;
    struct kf_ident_result res;
    struct kf_registry *reg;
    const struct kf_reg_device *d;

    enroll("A-000104", &a, dev, sizeof(dev));
    crypto_sign_keypair(pk2, sk2);
    memset(&rot, 0, sizeof(rot));
    rot.op = KF_IDENT_ROTATE;
    snprintf(rot.device_id, sizeof(rot.device_id), "%s", dev);
    rot.old_epoch = 1;
    rot.new_epoch = 2;
    memcpy(rot.pk, pk2, 32);
    kf_ident_rotate_sign(&rot, sk2);
    cr_assert_eq(kf_store_identity_apply(tstore.st, &rot, t0 + 2000, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_OK);
    cr_assert_eq(res.key_epoch, 2);
    /* a repeat is answered the same; a rotation from the retired key is stale */
    cr_assert_eq(kf_store_identity_apply(tstore.st, &rot, t0 + 3000, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_OK);
    rot.new_epoch = 3;
    kf_ident_rotate_sign(&rot, sk2);
    cr_assert_eq(kf_store_identity_apply(tstore.st, &rot, t0 + 3000, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_STALE_EPOCH);

    cr_assert_eq(kf_store_load_registry(tstore.st, &reg), 0);
    d = kf_store_registry_find(reg, dev);
    cr_assert_eq(kf_store_registry_key(d, 1)->status, KF_KEY_RETIRED);
    cr_assert_eq(kf_store_registry_key(d, 2)->status, KF_KEY_ACTIVE);
    cr_assert_eq(memcmp(kf_store_registry_key(d, 1)->pk, a.pk, 32), 0, "old key kept for evidence");
    kf_store_registry_unref(reg);
}

Test(store_identity, revoke_and_replace_keep_the_asset)
{
    struct terminal a, b;
    char dev[KF_DEVICE_ID_MAX + 1], token[KF_TOKEN_LEN + 1], id[KF_TOKEN_ID_LEN + 1];
    struct kf_ident_result res;
    struct kf_registry *reg;

    enroll("A-000105", &a, dev, sizeof(dev));
    cr_assert_eq(kf_store_identity_revoke(tstore.st, dev, "ops:li", "", t0, server_sk), -EINVAL,
                 "a reason is required");
    cr_assert_eq(kf_store_identity_replace(tstore.st, "A-000105", "tech:wang", "disk failed",
                                           HOUR_MS, t0 + 5000, server_sk, token, sizeof(token), id),
                 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_not(has_account(dev, t0 + 5000), "the old identity is shut out of the broker");
    cr_assert_eq(kf_store_identity_revoke(tstore.st, dev, "ops:li", "again", t0, server_sk),
                 -EALREADY);

    terminal_request(&b, token);
    cr_assert_eq(kf_store_identity_apply(tstore.st, &b.req, t0 + 6000, server_sk, &res), 0);
    cr_assert_eq(res.reason, KF_IDENT_OK);
    cr_assert_str_eq(res.device_id, "A-000105.2");

    cr_assert_eq(kf_store_load_registry(tstore.st, &reg), 0);
    cr_assert_eq(kf_store_registry_key(kf_store_registry_find(reg, dev), 1)->status,
                 KF_KEY_REVOKED);
    cr_assert_str_eq(kf_store_registry_find(reg, "A-000105.2")->asset_id, "A-000105");
    cr_assert_str_eq(kf_store_registry_find(reg, dev)->asset_id, "A-000105");
    kf_store_registry_unref(reg);

    /* A rotation by the revoked identity is refused as revoked. */
    {
        struct kf_ident_req rot;
        memset(&rot, 0, sizeof(rot));
        rot.op = KF_IDENT_ROTATE;
        snprintf(rot.device_id, sizeof(rot.device_id), "%s", dev);
        rot.old_epoch = 1;
        rot.new_epoch = 2;
        cr_assert_eq(kf_store_identity_apply(tstore.st, &rot, t0 + 7000, server_sk, &res), 0);
        cr_assert_eq(res.reason, KF_IDENT_REVOKED);
    }
}

struct collect {
    int n;
    char actions[16][32];
};

static int collect_cb(const struct kf_audit_entry *e, void *ud)
{
    struct collect *c = ud;

    if (c->n < 16)
        snprintf(c->actions[c->n], sizeof(c->actions[0]), "%s", e->action);
    c->n++;
    return 0;
}

Test(store_identity, audit_chain_verifies_and_catches_edits)
{
    struct terminal a;
    char dev[KF_DEVICE_ID_MAX + 1], token[KF_TOKEN_LEN + 1], id[KF_TOKEN_ID_LEN + 1];
    struct collect c = {0};
    int64_t n, bad;
    uint8_t head[32], other_pk[32], other_sk[64];
    const char *what;
    sqlite3 *db;

    enroll("A-000106", &a, dev, sizeof(dev));
    cr_assert_eq(kf_store_identity_replace(tstore.st, "A-000106", "tech:wang", "board swapped",
                                           HOUR_MS, t0, server_sk, token, sizeof(token), id),
                 0);
    cr_assert_eq(kf_store_audit_log_each(tstore.st, collect_cb, &c), 0);
    cr_assert_eq(c.n, 5);
    cr_assert_str_eq(c.actions[0], "token.issue");
    cr_assert_str_eq(c.actions[1], "device.enroll");
    cr_assert_str_eq(c.actions[2], "device.revoke");
    cr_assert_str_eq(c.actions[3], "asset.replace");
    cr_assert_str_eq(c.actions[4], "token.issue");
    cr_assert_eq(kf_store_audit_log_verify(tstore.st, server_pk, &n, head, &bad, &what), 0);
    cr_assert_eq(n, 5);

    /* Another key does not verify it. */
    crypto_sign_keypair(other_pk, other_sk);
    cr_assert_eq(kf_store_audit_log_verify(tstore.st, other_pk, &n, head, &bad, &what), 1);
    cr_assert_eq(bad, 1);

    /* The table refuses edits; an insider who drops the trigger is caught by the chain. */
    cr_assert_eq(sqlite3_open(tstore.path, &db), SQLITE_OK);
    cr_assert_neq(
        sqlite3_exec(db, "UPDATE audit_log SET actor = 'nobody' WHERE seq = 3", NULL, NULL, NULL),
        SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "DROP TRIGGER audit_log_no_update;"
                              "UPDATE audit_log SET actor = 'nobody' WHERE seq = 3",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(kf_store_audit_log_verify(tstore.st, server_pk, &n, head, &bad, &what), 1);
    cr_assert_eq(bad, 3);
    cr_assert_not_null(strstr(what, "edited"));
}
