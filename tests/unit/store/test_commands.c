/* Commands in the store (store/commands.h): queued with their signed-log entry and the
 * device's next command seq; dispatched only to online devices, marked sent, expired past
 * their expiry, sent again on a device's return only when its HELLO left them unreceived;
 * received from a HELLO's high mark; ended by the first cmd_result; cancelled only before
 * they are received. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>

#include <kf/command.h>
#include <kf/record.h>

#include "kf_test_store.h"
#include "store/commands.h"
#include "store/sqlite/int.h"

static struct kf_test_store t;
static uint8_t sk[64], pk[32];

static void reg(const char *dev, const char *asset, const char *zone)
{
    struct kf_device_reg r = {
        .device_id = dev, .asset_id = asset, .kind = 1, .zone_id = zone, .lease_ref = NULL};

    memcpy(r.pk, pk, sizeof(pk));
    cr_assert_eq(kf_store_register_device(t.st, &r), 0, "%s", kf_store_errmsg(t.st));
}

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
    kf_test_store_open(&t, "kf-cmds", KF_TEST_FIXTURES_SMALL);
    reg("D-1", "A-000001", "Z-XH-001"); /* ICBC */
    reg("D-2", "A-000002", "Z-XH-001");
    reg("D-3", "A-000003", "Z-XH-002"); /* CCB */
}

static void teardown(void)
{
    kf_test_store_close(&t);
}

TestSuite(commands, .init = setup, .fini = teardown);

static int64_t queue(const char *dev, const char *kind, int64_t now, int64_t life)
{
    const char *on[] = {"on"};
    struct kf_cmd_request q = {kind,     on,    strcmp(kind, "maintenance") == 0, now, now + life,
                               "T-0042", "test"};
    int64_t id = 0;

    cr_assert_eq(kf_store_cmd_queue(t.st, dev, &q, sk, &id), 0, "%s", kf_store_errmsg(t.st));
    return id;
}

static void online(const char *dev, int on, int64_t since)
{
    char sql[160];

    snprintf(sql, sizeof(sql),
             "UPDATE devices SET online = %d, state_since_ms = %lld WHERE device_id = '%s'", on,
             (long long)since, dev);
    cr_assert_eq(sqlite3_exec(kf__store_db(t.st), sql, NULL, NULL, NULL), SQLITE_OK);
}

static size_t dispatch(int64_t now, struct kf_cmd **ret)
{
    uint32_t expired = 0;
    size_t n = 0;

    cr_assert_eq(kf_store_cmd_dispatch(t.st, now, 60000, 100, ret, &n, &expired), 0, "%s",
                 kf_store_errmsg(t.st));
    return n;
}

static char *status(int64_t id)
{
    static char buf[32];
    char sql[96];
    sqlite3_stmt *s;

    snprintf(sql, sizeof(sql), "SELECT status FROM commands WHERE id = %lld", (long long)id);
    cr_assert_eq(sqlite3_prepare_v2(t.rd, sql, -1, &s, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return buf;
}

Test(commands, targets_a_device_a_zone_or_a_bank)
{
    char **v;
    size_t n;

    cr_assert_eq(kf_store_cmd_targets(t.st, NULL, "Z-XH-001", NULL, &v, &n), 0);
    cr_assert_eq(n, 2);
    kf_store_cmd_targets_free(v, n);
    cr_assert_eq(kf_store_cmd_targets(t.st, NULL, NULL, "CCB", &v, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0], "D-3");
    kf_store_cmd_targets_free(v, n);
    cr_assert_eq(kf_store_cmd_targets(t.st, "D-9", NULL, NULL, &v, &n), 0);
    cr_assert_eq(n, 0);
    kf_store_cmd_targets_free(v, n);
    cr_assert_eq(kf_store_cmd_targets(t.st, "D-1", "Z-XH-001", NULL, &v, &n), -EINVAL);
}

Test(commands, queued_with_seq_and_log_then_sent_to_online_devices_only)
{
    struct kf_cmd *c = NULL;
    int64_t a = queue("D-1", "probe", 1000, 3600000), b = queue("D-1", "probe", 1000, 3600000);

    queue("D-2", "probe", 1000, 3600000);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT seq FROM commands WHERE id = 2"), 2);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM audit_log WHERE action ="
                                      " 'command.send'"),
                 3);
    online("D-1", 1, 500);
    cr_assert_eq(dispatch(2000, &c), 2);
    cr_assert_str_eq(c[0].device_id, "D-1");
    cr_assert_eq(c[0].seq, 1);
    cr_assert_eq(c[1].seq, 2);
    cr_assert_str_eq(c[1].kind, "probe");
    cr_assert_eq(c[0].issued_ms, 1000);
    free(c);
    cr_assert_str_eq(status(a), "sent");
    cr_assert_str_eq(status(b), "sent");
    cr_assert_str_eq(status(3), "queued"); /* D-2 is offline */
    c = NULL;
    cr_assert_eq(dispatch(3000, &c), 0); /* sent, not again */
    free(c);
}

Test(commands, received_from_hello_ended_by_result_resent_on_return)
{
    struct kf_cmd *c = NULL;
    struct kf_rec_cmd_result res;
    json_t *hello;
    int64_t a = queue("D-1", "probe", 1000, 3600000), b = queue("D-1", "probe", 1000, 3600000);

    online("D-1", 1, 500);
    cr_assert_eq(dispatch(2000, &c), 2);
    free(c);
    /* It went away and came back; its HELLO says it has command 1 only. */
    online("D-1", 1, 5000);
    hello = json_pack("{s:{s:i, s:{s:i}}}", "cmd", "high", 1, "refused", "replayed", 2);
    cr_assert_eq(kf__store_cmd_hello(t.st, "D-1", hello, 5001), 0);
    json_decref(hello);
    cr_assert_str_eq(status(a), "received");
    c = NULL;
    cr_assert_eq(dispatch(6000, &c), 1); /* command 2 again */
    cr_assert_eq(c[0].seq, 2);
    free(c);
    memset(&res, 0, sizeof(res));
    snprintf(res.cmd, sizeof(res.cmd), "C-%lld", (long long)a);
    res.cmd_seq = 1;
    res.status = KF_CMD_FAILED;
    snprintf(res.detail, sizeof(res.detail), "interrupted");
    cr_assert_eq(kf__store_cmd_result(t.st, "D-1", 41, &res, 7000), 0);
    res.status = KF_CMD_DONE; /* a second report of the same command changes nothing */
    cr_assert_eq(kf__store_cmd_result(t.st, "D-1", 42, &res, 7001), 0);
    cr_assert_str_eq(status(a), "failed");
    cr_assert_eq(kf_test_store_q1(&t, "SELECT result_seq FROM commands WHERE id = 1"), 41);
    /* A result naming another id under that seq is not this command's. */
    snprintf(res.cmd, sizeof(res.cmd), "C-999");
    res.cmd_seq = 2;
    cr_assert_eq(kf__store_cmd_result(t.st, "D-1", 43, &res, 7002), 0);
    cr_assert_str_eq(status(b), "sent");
    cr_assert_eq(kf_test_store_q1(&t, "SELECT json_extract(refused, '$.replayed') FROM"
                                      " cmd_devices WHERE device_id = 'D-1'"),
                 2);
}

Test(commands, expire_and_cancel)
{
    struct kf_cmd *c = NULL;
    int64_t a = queue("D-2", "maintenance", 1000, 1000), b = queue("D-2", "probe", 1000, 60000);
    struct kf_qtable *tab = NULL;

    cr_assert_eq(dispatch(2500, &c), 0);
    free(c);
    cr_assert_str_eq(status(a), "expired");
    cr_assert_eq(kf_store_cmd_cancel(t.st, b, 3000, "T-0042", "wrong terminal", sk), 0);
    cr_assert_str_eq(status(b), "cancelled");
    cr_assert_eq(kf_store_cmd_cancel(t.st, b, 3000, "T-0042", "again", sk), -EALREADY);
    cr_assert_eq(kf_store_cmd_cancel(t.st, 99, 3000, "T-0042", "none", sk), -ENOENT);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM audit_log WHERE action ="
                                      " 'command.cancel'"),
                 1);
    cr_assert_eq(kf_store_cmd_list(t.st, "D-2", "expired", &tab), 0);
    cr_assert_eq(tab->nrows, 1);
    kf_store_query_table_free(tab);
    cr_assert_eq(kf_store_cmd_show(t.st, 77, &tab), -ENOENT);
}

Test(commands, refuses_what_the_protocol_cannot_carry)
{
    const char *bad[] = {"sideways"};
    struct kf_cmd_request q = {"maintenance", bad, 1, 1000, 2000, "T-0042", "test"};
    int64_t id;

    cr_assert_eq(kf_store_cmd_queue(t.st, "D-1", &q, sk, &id), -EINVAL);
    q.kind = "probe";
    q.nargs = 0;
    q.expires_ms = 1000 + KF_CMD_LIFE_MAX_MS + 1;
    cr_assert_eq(kf_store_cmd_queue(t.st, "D-1", &q, sk, &id), -EINVAL);
    q.expires_ms = 2000;
    q.by = "";
    cr_assert_eq(kf_store_cmd_queue(t.st, "D-1", &q, sk, &id), -EINVAL);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM commands"), 0);
}
