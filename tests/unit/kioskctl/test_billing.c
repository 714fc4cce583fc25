/* test_billing.c: billing over a real SQLite store (store/billing.h, views/billing.h) and
 * kioskctl's contract, asset and bill commands run as real processes (forked children
 * running kf_ctl_main on their own connections), docs/BILLING.md "Operating it". */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kf/keyfile.h>
#include <kf/time.h>

#include "kf_test.h"
#include "kf_test_store.h"
#include "kioskctl/ctl.h"
#include "store/billing.h"
#include "store/sla.h"
#include "views/billing.h"

static struct kf_test_store ts;
static char key[192];

static void setup(void)
{
    uint8_t pk[32], sk[64];
    char *cal;

    kf_test_store_open(&ts, "kf-billing", KF_TEST_FIXTURES_FULL);
    snprintf(key, sizeof(key), "%s/server.key", ts.dir);
    crypto_sign_keypair(pk, sk);
    cr_assert_eq(kf_keyfile_write(key, sk), 0);
    cal = kf_test_read_file(KF_TEST_SOURCE_DIR "/fixtures/calendar/cn-2026.ini");
    cr_assert_eq(kf_store_sla_calendar_put(ts.st, 2026, cal, "test", 0), 0);
    free(cal);
}

static void teardown(void)
{
    kf_test_store_close(&ts);
}

TestSuite(billing, .init = setup, .fini = teardown);

/* kioskctl in a child process of its own: its exit status. */
static int ctl_spawn(const char *const *args)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char *argv[32] = {"kioskctl", "--db", ts.path};
        int n = 3;

        for (; *args && n < 31; args++)
            argv[n++] = (char *)*args;
        argv[n] = NULL;
        fflush(NULL);
        _exit(kf_ctl_main(n, argv));
    }
    return pid;
}

static int ctl_wait(pid_t pid)
{
    int status;

    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "kioskctl died");
    return WEXITSTATUS(status);
}

static int ctl(const char *const *args)
{
    return ctl_wait(ctl_spawn(args));
}

static void add_asset(const char *asset, const char *device, const char *zone, int kind)
{
    struct kf_device_reg reg = {
        .device_id = device, .asset_id = asset, .kind = kind, .zone_id = zone};

    randombytes_buf(reg.pk, sizeof(reg.pk));
    cr_assert_eq(kf_store_register_device(ts.st, &reg), 0, "%s", kf_store_errmsg(ts.st));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* A fixture contract with two texts replaced (each must be there). */
static void contract_variant(const char *fixture, const char *const rep[4], const char *path)
{
    char src[256], *t;

    snprintf(src, sizeof(src), KF_TEST_SOURCE_DIR "/fixtures/contracts/%s", fixture);
    t = kf_test_read_file(src);
    for (int i = 0; i < 4; i += 2) {
        char *p = strstr(t, rep[i]), *u;

        cr_assert_not_null(p, "%s has no %s", fixture, rep[i]);
        cr_assert_gt(asprintf(&u, "%.*s%s%s", (int)(p - t), t, rep[i + 1], p + strlen(rep[i])), 0);
        free(t);
        t = u;
    }
    write_file(path, t);
    free(t);
}

static void load_all_contracts(void)
{
    const char *args[] = {"contract",
                          "load",
                          KF_TEST_SOURCE_DIR "/fixtures/contracts/ABC-2026-v1.json",
                          KF_TEST_SOURCE_DIR "/fixtures/contracts/BOC-2026-v1.json",
                          KF_TEST_SOURCE_DIR "/fixtures/contracts/CCB-2026-v1.json",
                          KF_TEST_SOURCE_DIR "/fixtures/contracts/CCB-2026-v2.json",
                          KF_TEST_SOURCE_DIR "/fixtures/contracts/ICBC-2026-v1.json",
                          KF_TEST_SOURCE_DIR "/fixtures/contracts/PDSRCB-2026-v1.json",
                          KF_TEST_SOURCE_DIR "/fixtures/contracts/PSBC-2026-v1.json",
                          "--by",
                          "test",
                          "--reason",
                          "signed",
                          "--server-key",
                          key,
                          NULL};

    cr_assert_eq(ctl(args), 0);
}

Test(billing, overlapping_contract_version_refused_and_nothing_stored)
{
    static const char *const rep[] = {"\"version\": 1", "\"version\": 2",
                                      "\"effective_from\": \"2026-01-01\"",
                                      "\"effective_from\": \"2026-07-01\""};
    char v2[256];
    const char *both[] = {
        "contract", "load", KF_TEST_SOURCE_DIR "/fixtures/contracts/ICBC-2026-v1.json",
        v2,         "--by", "test",
        "--reason", "typo", "--server-key",
        key,        NULL};
    const char *one[] = {
        "contract", "load",         KF_TEST_SOURCE_DIR "/fixtures/contracts/ICBC-2026-v1.json",
        "--by",     "test",         "--reason",
        "signed",   "--server-key", key,
        NULL};

    /* A second version of ICBC from 2026-07-01 while v1 is open-ended: one bank would have
     * two prices on a day. The whole load is refused, the valid file with it. */
    snprintf(v2, sizeof(v2), "%s/icbc-v2.json", ts.dir);
    contract_variant("ICBC-2026-v1.json", rep, v2);
    cr_assert_eq(ctl(both), 2);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(*) FROM contract_versions"), 0);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(*) FROM audit_log"), 0);
    /* Alone, v1 loads, with its entry in the signed log; again, it is a duplicate. And v2
     * against the stored v1 is refused as well. */
    cr_assert_eq(ctl(one), 0);
    cr_assert_eq(ctl(one), 2);
    one[2] = v2;
    cr_assert_eq(ctl(one), 2);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(*) FROM contract_versions"), 1);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(*) FROM audit_log WHERE action ="
                                       " 'contract.load'"),
                 1);
}

/* The days of bank's lines for the asset in 2026-09. */
static int days_of(const char *bank, const char *asset)
{
    struct kf_view_billing_opts o = {.status = KF_BILL_DRAFT, .as_of_ms = kf_now_ms()};
    struct kf_bill *b = NULL;
    char err[256];
    int days = 0;

    cr_assert_eq(kf_view_billing_compute(ts.st, bank, 2026, 9, &o, &b, err, sizeof(err)), 0, "%s",
                 err);
    for (size_t i = 0; i < b->n_lines; i++)
        if (b->lines[i].kind == KF_LINE_MAINTENANCE && strcmp(b->lines[i].asset, asset) == 0)
            days += b->lines[i].days;
    kf_bill_free(b);
    return days;
}

Test(billing, a_move_between_banks_is_billed_once_per_day)
{
    int64_t at;

    load_all_contracts();
    /* Z-XH-001 is PSBC's, Z-XH-003 ICBC's (fixtures/deployment.json). */
    add_asset("A-MOVE", "KF-XH-0901", "Z-XH-001", KF_KIND_KIOSK);
    cr_assert_eq(kf_ctl_parse_time("2026-08-01 00:00", &at), 0);
    cr_assert_eq(kf_store_billing_commission(ts.st, "A-MOVE", NULL, at, "t", "accepted"), 0);
    cr_assert_eq(kf_ctl_parse_time("2026-09-10 14:00", &at), 0);
    cr_assert_eq(kf_store_begin(ts.st), 0);
    cr_assert_eq(kf_store_billing_decommission(ts.st, "A-MOVE", at, "t", "moved"), 0);
    cr_assert_eq(kf_store_billing_commission(ts.st, "A-MOVE", "Z-XH-003", at, "t", "moved"), 0);
    cr_assert_eq(kf_store_end(ts.st, 1), 0);
    /* The 10th ends at ICBC: 1..9 for PSBC, 10..30 for ICBC, 30 days in all. */
    cr_assert_eq(days_of("PSBC", "A-MOVE"), 9);
    cr_assert_eq(days_of("ICBC", "A-MOVE"), 21);
    /* Intervals never overlap: commissioning it again while in service is refused. */
    cr_assert_eq(kf_store_billing_commission(ts.st, "A-MOVE", NULL, at + 1000, "t", "again"),
                 -EEXIST);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT zone_id = 'Z-XH-003' FROM assets WHERE"
                                       " asset_id = 'A-MOVE'"),
                 1);
}

Test(billing, an_asset_never_commissioned_is_in_service_from_its_registration)
{
    struct kf_billing_service *v = NULL;
    size_t n = 0;

    add_asset("A-REG", "KF-XH-0902", "Z-XH-003", KF_KIND_ITM);
    cr_assert_eq(kf_store_billing_asset_service(ts.st, "A-REG", NULL, &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert(v[0].implicit);
    cr_assert_str_eq(v[0].bank, "ICBC");
    cr_assert_eq(v[0].w.end_ms, KF_TIME_NEVER);
    free(v);
    /* Decommissioned, the implicit interval is written down and closed. */
    cr_assert_eq(kf_store_billing_decommission(ts.st, "A-REG", kf_now_ms(), "t", "gone"), 0);
    cr_assert_eq(kf_store_billing_asset_service(ts.st, "A-REG", NULL, &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert(!v[0].implicit);
    cr_assert_str_eq(v[0].commissioned_by, "registry");
    cr_assert_neq(v[0].w.end_ms, KF_TIME_NEVER);
    free(v);
    cr_assert_eq(kf_store_billing_decommission(ts.st, "A-REG", kf_now_ms(), "t", "gone"),
                 -EALREADY);
}

Test(billing, two_issuers_at_once_number_without_gap_or_duplicate)
{
    const char *sep[] = {"bill", "issue", "--all",        "--month", "2026-09",
                         "--by", "one",   "--server-key", key,       NULL};
    const char *oct[] = {"bill", "issue", "--all",        "--month", "2026-10",
                         "--by", "two",   "--server-key", key,       NULL};
    pid_t a, b;

    load_all_contracts();
    add_asset("A-1", "KF-XH-0911", "Z-XH-003", KF_KIND_KIOSK);
    add_asset("A-2", "KF-XH-0912", "Z-XH-001", KF_KIND_ITM);
    a = ctl_spawn(sep);
    b = ctl_spawn(oct);
    cr_assert_eq(ctl_wait(a), 0);
    cr_assert_eq(ctl_wait(b), 0);
    /* Six banks, two months: each bank has 1 and 2, once each. */
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(*) FROM bill_docs"), 12);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(DISTINCT number) FROM bill_docs"), 12);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(*) FROM (SELECT bank FROM bill_docs"
                                       " GROUP BY bank HAVING min(seq) = 1 AND max(seq) = 2"
                                       " AND count(*) = 2)"),
                 6);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(*) FROM audit_log WHERE action ="
                                       " 'bill.issue'"),
                 12);
    /* Issuing a month again is refused. */
    cr_assert_eq(ctl(sep), 2);
    cr_assert_eq(kf_test_store_q1(&ts, "SELECT count(*) FROM bill_docs"), 12);
}

Test(billing, an_issued_bill_is_never_updated_and_a_tampered_one_fails_verify)
{
    const char *issue[] = {"bill", "issue", "--bank",       "ICBC", "--month", "2026-09",
                           "--by", "t",     "--server-key", key,    NULL};
    char pub[256], hex[65];
    const char *verify[] = {"bill", "verify", "ICBC-000001", "--server-pub", pub, NULL};
    uint8_t sk[64], pk[32];
    sqlite3 *db;
    char *msg = NULL;

    load_all_contracts();
    add_asset("A-1", "KF-XH-0921", "Z-XH-003", KF_KIND_KIOSK);
    cr_assert_eq(ctl(issue), 0);
    cr_assert_eq(kf_keyfile_read(key, sk), 0);
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    kf_hex_encode(pk, sizeof(pk), hex, sizeof(hex));
    snprintf(pub, sizeof(pub), "%s/server.key.pub", ts.dir);
    write_file(pub, hex);
    cr_assert_eq(ctl(verify), 0);
    cr_assert_eq(sqlite3_open(ts.path, &db), SQLITE_OK);
    cr_assert_neq(sqlite3_exec(db, "UPDATE bill_docs SET gross_fen = 0", NULL, NULL, &msg),
                  SQLITE_OK);
    cr_assert_not_null(strstr(msg, "never changed"), "%s", msg);
    sqlite3_free(msg);
    cr_assert_neq(sqlite3_exec(db, "DELETE FROM bill_docs", NULL, NULL, NULL), SQLITE_OK);
    /* Whoever holds the file can drop the trigger: the signature still gives it away. */
    cr_assert_eq(sqlite3_exec(db,
                              "DROP TRIGGER bill_docs_no_update;"
                              " UPDATE bill_docs SET json = replace(json, '\"status\":\"issued\"',"
                              " '\"status\":\"issued\" ')",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(ctl(verify), 3);
}
