/* Users, API tokens and scoped connections (store/users.h, kf/passwd.h): passwords hashed
 * and checked, tokens by their hash only, every change with its signed log entry or not at
 * all; and what each role's connection can read: a bank its own rows and nothing of another
 * bank's, the bureau no keys and no bills, the public the plan and live state only, and a
 * table without a class refused rather than shown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/passwd.h>

#include "kf_test_store.h"
#include "store/sqlite/int.h" /* the connection itself: what any query on it sees */
#include "store/inventory.h"
#include "store/users.h"

static struct kf_test_store t;
static uint8_t sk[64], pk[32];

static void setup(void)
{
    kf_test_store_open(&t, "kf-users", KF_TEST_FIXTURES_SMALL);
    cr_assert_geq(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
}

static void teardown(void)
{
    kf_test_store_close(&t);
}

TestSuite(users, .init = setup, .fini = teardown);

static struct kf_user_change change(const char *reason)
{
    return (struct kf_user_change){
        .by = "ops:li", .reason = reason, .at_ms = 1000, .server_sk = sk};
}

static struct kf_user user(const char *name, const char *role)
{
    struct kf_user u;

    memset(&u, 0, sizeof(u));
    snprintf(u.name, sizeof(u.name), "%s", name);
    cr_assert_eq(kf_role_parse(role, &u.scope), 0, "%s", role);
    snprintf(u.display, sizeof(u.display), "%s", name);
    return u;
}

static int64_t log_entries(void)
{
    return kf_test_store_q1(&t, "SELECT count(*) FROM audit_log");
}

Test(users, passwords)
{
    char h[KF_PW_HASH_MAX];

    cr_assert_eq(kf_pw_hash("short", h), -EINVAL);
    cr_assert_eq(kf_pw_hash("line\nbreak", h), -EINVAL);
    cr_assert_eq(kf_pw_hash("\xff\xfe not utf-8", h), -EINVAL);
    cr_assert_eq(kf_pw_hash("correct horse 马", h), 0);
    cr_assert_eq(strncmp(h, "$argon2id$", 10), 0, "%s", h);
    cr_assert_eq(kf_pw_verify(h, "correct horse 马"), 0);
    cr_assert_eq(kf_pw_verify(h, "correct horse"), -EACCES);
    cr_assert_eq(kf_pw_verify("", "correct horse 马"), -EACCES);
    cr_assert_eq(kf_pw_verify("$argon2i$v=19$m=4096,t=3,p=1$x$y", "x"), -EACCES);
}

Test(users, tokens_by_hash)
{
    char text[KF_TOKEN_TEXT_MAX], other[KF_TOKEN_TEXT_MAX];
    uint8_t h[32], h2[32], o[32];

    kf_api_token_new(text, h);
    kf_api_token_new(other, o);
    cr_assert_eq(strncmp(text, "kft_", 4), 0);
    cr_assert_eq(strlen(text), 47);
    cr_assert_str_neq(text, other);
    cr_assert_eq(kf_api_token_hash(text, h2), 0);
    cr_assert_eq(memcmp(h, h2, 32), 0);
    text[10] = text[10] == 'A' ? 'B' : 'A';
    cr_assert_eq(kf_api_token_hash(text, h2), 0);
    cr_assert_neq(memcmp(h, h2, 32), 0, "a changed token is another token");
    cr_assert_eq(kf_api_token_hash("kft_short", h2), -EINVAL);
    cr_assert_eq(kf_api_token_hash("Bearer kft_", h2), -EINVAL);
    text[10] = '\'';
    cr_assert_eq(kf_api_token_hash(text, h2), -EINVAL);
}

Test(users, every_change_logged_or_nothing)
{
    struct kf_user u = user("wang.wei", "bank:ICBC"), got;
    struct kf_user_change ch = change("new auditor");
    struct kf_scope sc;
    struct kf_token tok;
    uint8_t h[32];
    char text[KF_TOKEN_TEXT_MAX];
    int64_t id = 0, n0 = log_entries();
    int64_t hwm;

    cr_assert_eq(kf_pw_hash("a long password", u.pw_hash), 0);
    cr_assert_eq(kf_store_user_add(t.st, &u, &ch), 0, "%s", kf_store_errmsg(t.st));
    cr_assert_eq(log_entries(), n0 + 1);
    cr_assert_eq(kf_store_user_add(t.st, &u, &ch), -EEXIST);
    u = user("x", "bank:NOBANK");
    cr_assert_eq(kf_store_user_add(t.st, &u, &ch), -EINVAL, "no such bank");
    u = user("Bad Name", "bureau");
    cr_assert_eq(kf_store_user_add(t.st, &u, &ch), -EINVAL);
    u = user("zhao", "bureau");
    ch.reason = "";
    cr_assert_eq(kf_store_user_add(t.st, &u, &ch), -EINVAL, "no reason");
    ch = change("x");
    ch.server_sk = NULL;
    cr_assert_eq(kf_store_user_add(t.st, &u, &ch), -EINVAL, "no key");
    cr_assert_eq(log_entries(), n0 + 1, "refused changes leave no entry");
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM users"), 1);

    cr_assert_eq(kf_store_user_get(t.st, "wang.wei", &got), 0);
    cr_assert_eq(got.scope.role, KF_ROLE_BANK);
    cr_assert_str_eq(got.scope.bank, "ICBC");
    cr_assert_eq(kf_pw_verify(got.pw_hash, "a long password"), 0);
    cr_assert_eq(kf_store_user_get(t.st, "nobody", &got), -ENOENT);

    ch = change("left the bank");
    cr_assert_eq(kf_store_user_set_disabled(t.st, "wang.wei", 1, &ch), 0);
    cr_assert_eq(kf_store_user_set_disabled(t.st, "wang.wei", 1, &ch), -ENOENT, "already");
    cr_assert_eq(kf_store_user_get(t.st, "wang.wei", &got), 0);
    cr_assert_eq(got.disabled, 1);
    kf_api_token_new(text, h);
    cr_assert_eq(kf_store_token_add(t.st, "wang.wei", h, "ci", 0, &ch, &id), -EINVAL,
                 "no token for a disabled user");
    cr_assert_eq(kf_store_user_set_disabled(t.st, "wang.wei", 0, &ch), 0);
    cr_assert_eq(kf_store_token_add(t.st, "wang.wei", h, "ci", 5000, &ch, &id), 0);
    cr_assert_eq(kf_store_token_lookup(t.st, h, &tok), 0);
    cr_assert_str_eq(tok.user, "wang.wei");
    cr_assert_eq(tok.expires_ms, 5000);
    cr_assert_eq(tok.revoked, 0);
    cr_assert_eq(kf_store_token_revoke(t.st, id, &ch), 0);
    cr_assert_eq(kf_store_token_revoke(t.st, id, &ch), -ENOENT);
    cr_assert_eq(kf_store_token_lookup(t.st, h, &tok), 0);
    cr_assert_eq(tok.revoked, 1);
    cr_assert_eq(kf_role_parse("bank:CCB", &sc), 0);
    cr_assert_eq(kf_store_user_set_scope(t.st, "wang.wei", &sc, &ch), 0);
    cr_assert_eq(kf_role_parse("admin", &sc), -EINVAL);
    cr_assert_eq(kf_role_parse("bank:x'--", &sc), -EINVAL, "a bank code is a code");
    hwm = log_entries();
    cr_assert_eq(hwm, n0 + 6, "add, disable, enable, token.add, token.revoke, role");
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM audit_log WHERE action LIKE 'user.%'"
                                      " OR action LIKE 'token.%'"),
                 6);
}

/* ---- Scope ---------------------------------------------------------------------------- */

static void rw(const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;

    cr_assert_eq(sqlite3_open(t.path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK, "%s", err);
    sqlite3_close(db);
}

/* Two terminals, one of each bank, with a row in every kind of table a bank owns. */
static void seed(void)
{
    rw("INSERT INTO assets VALUES ('A-ICBC', 1, 'Z-XH-001', NULL, 0), ('A-CCB', 1, 'Z-XH-002',"
       " NULL, 0);"
       "INSERT INTO devices(device_id, asset_id, created_ms, state_since_ms) VALUES"
       " ('d-icbc', 'A-ICBC', 0, 0), ('d-ccb', 'A-CCB', 0, 0);"
       "INSERT INTO device_keys VALUES ('d-icbc', 1, zeroblob(32), 'active', 0),"
       " ('d-ccb', 1, zeroblob(32), 'active', 0);"
       "INSERT INTO records(envelope_id, seq, device_id, type, device_ts_ms, effective_ms,"
       " recv_ms, flags, asset_id, zone_id, item, outcome, dur_ms, day) VALUES"
       " (1, 1, 'd-icbc', 1, 0, 0, 0, 0, 'A-ICBC', 'Z-XH-001', 'x', 1, 5, 20000),"
       " (2, 1, 'd-ccb', 1, 0, 0, 0, 0, 'A-CCB', 'Z-XH-002', 'x', 1, 5, 20000);"
       "INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok) VALUES"
       " (20000, 'Z-XH-001', 'A-ICBC', 'd-icbc', 'x', 1),"
       " (20000, 'Z-XH-002', 'A-CCB', 'd-ccb', 'x', 1);"
       "INSERT INTO sla_incidents(id, asset_id, cause, state, attr, breached, detail,"
       " opened_ms, on_site_total_ms, n_reopened, n_attr_changes, n_notes, start_ms, spans,"
       " updated_ms) VALUES (1, 'A-ICBC', 'offline', 'open', 'company', 0, '', 0, 0, 0, 0, 0,"
       " 0, '[]', 0), (2, 'A-CCB', 'offline', 'open', 'company', 0, '', 0, 0, 0, 0, 0, 0,"
       " '[]', 0);"
       "INSERT INTO sla_events(incident, kind, at_ms, flags, who, text, recorded_ms) VALUES"
       " (1, 1, 0, 0, '', '', 0), (2, 1, 0, 0, '', '', 0);"
       "INSERT INTO bill_docs VALUES ('ICBC-1', 1, 'ICBC', '2026-10', 1, NULL, NULL, 0, 'x', 0,"
       " 0, 0, '{}', 'd', zeroblob(64)), ('CCB-1', 1, 'CCB', '2026-10', 1, NULL, NULL, 0, 'x',"
       " 0, 0, 0, '{}', 'd', zeroblob(64));"
       "INSERT INTO inventory(device_id, agent, changed_ms, seen_ms) VALUES"
       " ('d-icbc', '1.3.0', 1, 1), ('d-ccb', '1.3.1', 1, 1);"
       "INSERT INTO inventory_changes(device_id, at_ms, inv) VALUES ('d-icbc', 1, '{}'),"
       " ('d-ccb', 1, '{}');"
       "INSERT INTO broker_accounts VALUES ('d-icbc', 'v', 'device', 'd-icbc', NULL, 0);"
       "INSERT INTO users VALUES ('ops', 'operator', 'ops', '', 0, 0, 0);");
}

static int64_t count(struct kf_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;

    /* The scoped connection's own handle: what any store query on it would see. */
    cr_assert_eq(sqlite3_prepare_v2(kf__store_db(st), sql, -1, &s, NULL), SQLITE_OK, "%s", sql);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static struct kf_store *open_as(const char *role)
{
    struct kf_scope sc;
    struct kf_store *st = NULL;

    memset(&sc, 0, sizeof(sc));
    if (strcmp(role, "public") != 0)
        cr_assert_eq(kf_role_parse(role, &sc), 0);
    cr_assert_eq(kf_store_open_scoped(t.path, &sc, &st), 0, "%s", role);
    return st;
}

Test(users, a_bank_reads_its_own_rows_only)
{
    static const char *const own[] = {
        "assets",     "devices",   "device_keys", "records",   "usage_daily",       "sla_incidents",
        "sla_events", "bill_docs", "txns",        "inventory", "inventory_changes",
    };
    struct kf_store *st;

    seed();
    st = open_as("bank:ICBC");
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        char sql[128];

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", own[i]);
        cr_assert_eq(count(st, sql), 1, "%s: the bank's one row", own[i]);
    }
    cr_assert_eq(count(st, "SELECT count(*) FROM records WHERE device_id = 'd-ccb'"), 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM bill_docs WHERE bank = 'CCB'"), 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM sla_incidents i JOIN assets a USING (asset_id)"
                           " WHERE a.zone_id = 'Z-XH-002'"),
                 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM zones"), 2,
                 "its own zones (the finder shows all)");
    cr_assert_eq(count(st, "SELECT count(*) FROM broker_accounts"), 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM users"), 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM rollouts"), 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM cmd_requests"), 0);
    kf_store_free(st);
}

/* The inventory's grouping, run on each role's connection: a bank counts its own terminal. */
Test(users, the_inventory_counts_the_roles_share)
{
    static const char *const roles[] = {"bank:ICBC", "bureau", "technician", "public", "operator"};
    static const char *const want[] = {"1", "2", "2", NULL, "2"};
    const char *by[] = {"unit"};

    seed();
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        struct kf_store *st = open_as(roles[i]);
        struct kf_qtable *tb = NULL;

        cr_assert_eq(kf_store_inv_group(st, by, 1, NULL, NULL, 0, &tb), 0, "%s: %s", roles[i],
                     kf_store_errmsg(st));
        if (want[i] == NULL)
            cr_assert_eq(tb->nrows, 0, "%s", roles[i]);
        else
            cr_assert_str_eq(kf_store_query_table_cell(tb, 0, 1), want[i], "%s", roles[i]);
        kf_store_query_table_free(tb);
        kf_store_free(st);
    }
}

Test(users, each_role_its_share)
{
    struct kf_store *st;

    seed();
    st = open_as("bureau");
    cr_assert_eq(count(st, "SELECT count(*) FROM usage_daily"), 2, "every zone's usage");
    cr_assert_eq(count(st, "SELECT count(*) FROM device_keys"), 0, "no keys");
    cr_assert_eq(count(st, "SELECT count(*) FROM bill_docs"), 0, "no bills");
    cr_assert_eq(count(st, "SELECT count(*) FROM users"), 0);
    kf_store_free(st);
    st = open_as("technician");
    cr_assert_eq(count(st, "SELECT count(*) FROM sla_incidents"), 2);
    cr_assert_eq(count(st, "SELECT count(*) FROM bill_docs"), 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM broker_accounts"), 0);
    kf_store_free(st);
    st = open_as("public");
    cr_assert_eq(count(st, "SELECT count(*) FROM zones"), 3);
    cr_assert_eq(count(st, "SELECT count(*) FROM assets"), 2);
    cr_assert_eq(count(st, "SELECT count(*) FROM records"), 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM txns"), 0, "the store's views read the shadows");
    cr_assert_eq(count(st, "SELECT count(*) FROM sla_incidents"), 0);
    cr_assert_eq(count(st, "SELECT count(*) FROM audit_log"), 0);
    kf_store_free(st);
    st = open_as("operator");
    cr_assert_eq(count(st, "SELECT count(*) FROM users"), 1);
    cr_assert_eq(count(st, "SELECT count(*) FROM bill_docs"), 2);
    kf_store_free(st);
}

Test(users, a_table_without_a_class_is_refused)
{
    struct kf_scope sc = {.role = KF_ROLE_BUREAU};
    struct kf_store *st = NULL;

    rw("CREATE TABLE new_secrets(x)");
    cr_assert_eq(kf_store_open_scoped(t.path, &sc, &st), -EPROTO);
    cr_assert_null(st);
    sc.role = KF_ROLE_OPERATOR;
    cr_assert_eq(kf_store_open_scoped(t.path, &sc, &st), 0, "the operator reads all");
    kf_store_free(st);
    sc = (struct kf_scope){.role = KF_ROLE_BANK};
    cr_assert_eq(kf_store_open_scoped(t.path, &sc, &st), -EINVAL, "a bank role names its bank");
}

/* The store's own queries, unchanged, on every role's connection: they run (no statement of
 * theirs needs what a shadow hides, such as an index or a rowid) and see the role's rows. */
Test(users, the_store_queries_run_scoped)
{
    static const char *const roles[] = {"bank:ICBC", "bureau", "technician", "public", "operator"};
    static const size_t devices[] = {1, 2, 2, 2, 2};

    seed();
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        struct kf_store *st = open_as(roles[i]);
        struct kf_qtable *tb = NULL;
        struct kf_qreport *rep = NULL;

        cr_assert_eq(kf_store_query_devices(st, &tb), 0, "%s: %s", roles[i], kf_store_errmsg(st));
        cr_assert_eq(tb->nrows, devices[i], "%s", roles[i]);
        kf_store_query_table_free(tb);
        cr_assert_eq(kf_store_query_usage(st, 19990, 20010, "zone", &tb), 0, "%s: %s", roles[i],
                     kf_store_errmsg(st));
        kf_store_query_table_free(tb);
        cr_assert_eq(kf_store_query_summary(st, 20000, 19990, 20010, &rep), 0, "%s: %s", roles[i],
                     kf_store_errmsg(st));
        kf_store_query_report_free(rep);
        kf_store_free(st);
    }
}
