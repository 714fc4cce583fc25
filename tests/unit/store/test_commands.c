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
#include "store/cmd_requests.h"
#include "store/inventory.h"
#include "store/rollouts.h"
#include "store/users.h"
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
    struct kf_cmd_request q = {
        kind, on, strcmp(kind, "maintenance") == 0, now, now + life, "T-0042", "test", 0, 0};
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

static size_t targets(const struct kf_cmd_select *sel, char ***v)
{
    size_t n = 99;

    cr_assert_eq(kf_store_cmd_targets(t.st, sel, v, &n), 0, "%s", kf_store_errmsg(t.st));
    return n;
}

Test(commands, targets_a_device_a_zone_or_a_bank)
{
    struct kf_cmd_select sel = {0};
    const char *d9[] = {"D-9"}, *d13[] = {"D-1", "D-3"};
    char **v;
    size_t n;

    sel.zone = "Z-XH-001";
    cr_assert_eq((n = targets(&sel, &v)), 2);
    kf_store_cmd_targets_free(v, n);
    sel.zone = NULL;
    sel.bank = "CCB";
    cr_assert_eq((n = targets(&sel, &v)), 1);
    cr_assert_str_eq(v[0], "D-3");
    kf_store_cmd_targets_free(v, n);
    sel.bank = NULL;
    sel.devices = d9;
    sel.ndevices = 1;
    cr_assert_eq((n = targets(&sel, &v)), 0);
    kf_store_cmd_targets_free(v, n);
    /* Selectors combine with AND: D-1 and D-3 named, in zone Z-XH-001: D-1 only. */
    sel.devices = d13;
    sel.ndevices = 2;
    sel.zone = "Z-XH-001";
    cr_assert_eq((n = targets(&sel, &v)), 1);
    cr_assert_str_eq(v[0], "D-1");
    kf_store_cmd_targets_free(v, n);
    /* No selector at all is never the whole fleet. */
    memset(&sel, 0, sizeof(sel));
    cr_assert_eq(kf_store_cmd_targets(t.st, &sel, &v, &n), -EINVAL);
    sel.kind = "atm";
    cr_assert_eq(kf_store_cmd_targets(t.st, &sel, &v, &n), -EINVAL);
}

/* An inventory row as the ingest writes it (store/sqlite/inventory.c). */
static void inv(const char *dev, const char *agent, const char *app_version)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "INSERT INTO inventory(device_id, agent, app_version, changed_ms, seen_ms)"
             " VALUES ('%s', '%s', '%s', 1, 1)",
             dev, agent, app_version);
    cr_assert_eq(sqlite3_exec(kf__store_db(t.st), sql, NULL, NULL, NULL), SQLITE_OK);
}

Test(commands, targets_by_unit_kind_and_the_inventorys_versions)
{
    struct kf_cmd_select sel = {0};
    char **v;
    size_t n;

    inv("D-1", "1.3.0", "2.4.1");
    inv("D-2", "1.3.1", "2.5.0");
    inv("D-3", "1.2.4", "2.5.0"); /* D-3 reports; a device without inventory matches no version */
    sel.agent_version = "1.3";    /* 1.3.0 and 1.3.1, not 1.2.4, not 1.30 */
    cr_assert_eq((n = targets(&sel, &v)), 2);
    cr_assert_str_eq(v[0], "D-1");
    cr_assert_str_eq(v[1], "D-2");
    kf_store_cmd_targets_free(v, n);
    sel.agent_version = "1.3.1";
    cr_assert_eq((n = targets(&sel, &v)), 1);
    cr_assert_str_eq(v[0], "D-2");
    kf_store_cmd_targets_free(v, n);
    sel.agent_version = "1.";
    cr_assert_eq((n = targets(&sel, &v)), 0); /* "1." is no release: no prefix games */
    kf_store_cmd_targets_free(v, n);
    sel.agent_version = NULL;
    sel.app_version = "2.5.0";
    cr_assert_eq((n = targets(&sel, &v)), 2);
    kf_store_cmd_targets_free(v, n);
    sel.bank = "CCB"; /* AND */
    cr_assert_eq((n = targets(&sel, &v)), 1);
    cr_assert_str_eq(v[0], "D-3");
    kf_store_cmd_targets_free(v, n);
    memset(&sel, 0, sizeof(sel));
    sel.kind = "itm"; /* every fixture device is a kiosk */
    cr_assert_eq((n = targets(&sel, &v)), 0);
    kf_store_cmd_targets_free(v, n);
    sel.kind = "kiosk";
    cr_assert_eq((n = targets(&sel, &v)), 3);
    kf_store_cmd_targets_free(v, n);
    sel.unit = "XH"; /* both zones are in 新华区 */
    cr_assert_eq((n = targets(&sel, &v)), 3);
    kf_store_cmd_targets_free(v, n);
    sel.unit = "WD";
    cr_assert_eq((n = targets(&sel, &v)), 0);
    kf_store_cmd_targets_free(v, n);
    /* A value is bound, never SQL: a quote is just a character. */
    sel.unit = "XH' OR '1'='1";
    cr_assert_eq((n = targets(&sel, &v)), 0);
    kf_store_cmd_targets_free(v, n);
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
    struct kf_cmd_request q = {"maintenance", bad, 1, 1000, 2000, "T-0042", "test", 0, 0};
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

/* ---- rollouts (store/rollouts.h) ---- */

static void end_cmd(const char *dev, int64_t rollout, const char *st)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "UPDATE commands SET status = '%s', ended_ms = 5 WHERE device_id = '%s'"
             " AND rollout = %lld AND status IN ('queued', 'sent', 'received')",
             st, dev, (long long)rollout);
    cr_assert_eq(sqlite3_exec(kf__store_db(t.st), sql, NULL, NULL, NULL), SQLITE_OK);
}

static uint32_t tick(int64_t now)
{
    uint32_t moves = 0;

    cr_assert_eq(kf_store_rollout_tick(t.st, now, sk, &moves), 0, "%s", kf_store_errmsg(t.st));
    return moves;
}

static int64_t start(const struct kf_rollout_plan *plan)
{
    const char *devs[] = {"D-1", "D-2", "D-3"};
    struct kf_cmd_request q = {"restart-app", NULL, 0, 1000, 3601000, "op", "new build", 0, 0};
    int64_t id = 0;

    cr_assert_eq(kf_store_rollout_start(t.st, devs, 3, &q, plan, sk, &id), 0, "%s",
                 kf_store_errmsg(t.st));
    return id;
}

#define Q1(...) kf_test_store_q1(&t, __VA_ARGS__)

Test(commands, rollout_canary_then_the_rest_then_done)
{
    struct kf_rollout_plan plan = {0, 1, 0, 0, -1}; /* canary 1, halt past 0 failures */
    int64_t id = start(&plan);

    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE rollout = 1 AND wave = 1"), 1);
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE rollout = 1"), 1);
    cr_assert_eq(tick(2000), 0); /* the canary is under way */
    end_cmd("D-1", id, "done");
    cr_assert_eq(tick(3000), 1);
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE rollout = 1 AND wave = 2"), 2);
    cr_assert_eq(Q1("SELECT wave FROM rollouts WHERE id = 1"), 2);
    cr_assert_eq(Q1("SELECT count(*) FROM audit_log WHERE action = 'rollout.advance'"
                    " AND actor = 'kioskd'"),
                 1);
    end_cmd("D-2", id, "done");
    end_cmd("D-3", id, "done");
    cr_assert_eq(tick(4000), 1);
    cr_assert_eq(Q1("SELECT status = 'done' FROM rollouts WHERE id = 1"), 1);
    cr_assert_eq(tick(5000), 0);
    cr_assert_eq(Q1("SELECT count(*) FROM audit_log WHERE subject = 'R-1'"), 3);
}

Test(commands, rollout_halts_by_itself_and_never_queues_the_rest)
{
    struct kf_rollout_plan plan = {0, 2, 0, 0, -1}; /* canary 2, halt past 0 failures */
    int64_t id = start(&plan);

    end_cmd("D-1", id, "failed"); /* D-2's command is still queued (its terminal offline) */
    cr_assert_eq(tick(2000), 1);
    cr_assert_eq(Q1("SELECT status = 'halted' FROM rollouts WHERE id = 1"), 1);
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE rollout = 1 AND device_id = 'D-3'"), 0);
    cr_assert_eq(Q1("SELECT status = 'cancelled' AND detail = 'rollout halted' FROM commands"
                    " WHERE rollout = 1 AND device_id = 'D-2'"),
                 1);
    cr_assert_eq(Q1("SELECT count(*) FROM audit_log WHERE action = 'rollout.halt' AND actor ="
                    " 'kioskd' AND json_extract(detail, '$.failures') = 1"),
                 1);
    cr_assert_eq(tick(3000), 0); /* halted stays halted */
    cr_assert_eq(kf_store_rollout_halt(t.st, id, 3000, "op", "again", sk), -EALREADY);
    /* Resumed: D-2 queued again, failures counted afresh; then it advances. */
    cr_assert_eq(kf_store_rollout_resume(t.st, id, 4000, "op", "fixed the hook", sk), 0, "%s",
                 kf_store_errmsg(t.st));
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE rollout = 1 AND device_id = 'D-2'"
                    " AND status = 'queued'"),
                 1);
    cr_assert_eq(tick(4500), 0);
    end_cmd("D-2", id, "done");
    cr_assert_eq(tick(5000), 1);
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE rollout = 1 AND device_id = 'D-3'"), 1);
    cr_assert_eq(kf_store_rollout_cancel(t.st, id, 6000, "op", "enough", sk), 0);
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE rollout = 1 AND device_id = 'D-3'"
                    " AND status = 'cancelled' AND detail = 'rollout cancelled'"),
                 1);
    cr_assert_eq(Q1("SELECT status = 'cancelled' FROM rollouts WHERE id = 1"), 1);
    cr_assert_eq(kf_store_rollout_resume(t.st, id, 7000, "op", "no", sk), -EALREADY);
    cr_assert_eq(kf_store_rollout_resume(t.st, 99, 7000, "op", "no", sk), -ENOENT);
}

Test(commands, rollout_halts_on_a_rate_over_the_queued)
{
    struct kf_rollout_plan plan = {0, 0, 10000, -1, 5000}; /* everything at once, halt > 50% */
    int64_t id = start(&plan);

    end_cmd("D-1", id, "failed");
    cr_assert_eq(tick(2000), 0); /* 1 of 3: 33% */
    end_cmd("D-2", id, "expired");
    cr_assert_eq(tick(3000), 1); /* 2 of 3: 67% */
    cr_assert_eq(Q1("SELECT status = 'halted' FROM rollouts WHERE id = 1"), 1);
}

Test(commands, rollout_refuses_a_plan_out_of_bounds)
{
    const char *devs[] = {"D-1"};
    struct kf_cmd_request q = {"reboot", NULL, 0, 1000, 3601000, "op", "x", 0, 0};
    struct kf_rollout_plan plan = {0, 0, 0, -1, -1}; /* no canary */
    int64_t id;

    cr_assert_eq(kf_store_rollout_start(t.st, devs, 1, &q, &plan, sk, &id), -EINVAL);
    plan.canary_n = 1;
    cr_assert_eq(kf_store_rollout_start(t.st, devs, 0, &q, &plan, sk, &id), -EINVAL);
    plan.halt_rate_bp = 10001;
    cr_assert_eq(kf_store_rollout_start(t.st, devs, 1, &q, &plan, sk, &id), -EINVAL);
    cr_assert_eq(Q1("SELECT count(*) FROM rollouts"), 0);
    cr_assert_eq(Q1("SELECT count(*) FROM commands"), 0);
}

/* ---- inventory (store/inventory.h) ---- */

static void hello_inv(const char *dev, const char *inv_json, int64_t now)
{
    char body[4096];
    json_t *hello;

    snprintf(body, sizeof(body), "{\"agent\":\"kiosk-agent/1.3.0\",\"inv\":%s}", inv_json);
    hello = json_loads(body, 0, NULL);
    cr_assert_not_null(hello, "%s", body);
    cr_assert_eq(kf__store_inv_hello(t.st, dev, hello, now), 0, "%s", kf_store_errmsg(t.st));
    json_decref(hello);
}

Test(commands, inventory_stored_changed_refused_and_grouped)
{
    const char *by[] = {"agent"}, *by2[] = {"periph"}, *wf[] = {"agent"}, *wv[] = {"1.3"};
    struct kf_qtable *q = NULL;

    hello_inv("D-1",
              "{\"agent\":\"1.3.0\",\"os\":\"Debian GNU/Linux\",\"os_version\":\"12\","
              "\"disk_free_gb\":50,\"periph\":[{\"name\":\"receipt_printer\",\"model\":\"EPSON "
              "TM-T88VI\",\"fw\":\"30.11\"}],\"future_key\":{\"x\":1}}",
              1000);
    hello_inv("D-2", "{\"agent\":\"1.3.1\"}", 1000);
    hello_inv("D-3", "{\"agent\":\"1.2.4\"}", 1000);
    cr_assert_eq(Q1("SELECT count(*) FROM inventory"), 3);
    cr_assert_eq(Q1("SELECT count(*) FROM inventory_changes"), 3);
    /* The same again, free space moved: seen, not changed. */
    hello_inv("D-1",
              "{\"agent\":\"1.3.0\",\"os\":\"Debian GNU/Linux\",\"os_version\":\"12\","
              "\"disk_free_gb\":49,\"periph\":[{\"name\":\"receipt_printer\",\"model\":\"EPSON "
              "TM-T88VI\",\"fw\":\"30.11\"}]}",
              2000);
    cr_assert_eq(Q1("SELECT changed_ms * 10 + (seen_ms = 2000) FROM inventory"
                    " WHERE device_id = 'D-1'"),
                 10001);
    cr_assert_eq(Q1("SELECT disk_free_gb FROM inventory WHERE device_id = 'D-1'"), 49);
    cr_assert_eq(Q1("SELECT count(*) FROM inventory_changes"), 3);
    /* A new agent: a change, in the history. */
    hello_inv("D-3", "{\"agent\":\"1.3.1\"}", 3000);
    cr_assert_eq(Q1("SELECT changed_ms FROM inventory WHERE device_id = 'D-3'"), 3000);
    cr_assert_eq(Q1("SELECT count(*) FROM inventory_changes WHERE device_id = 'D-3'"), 2);
    /* Refused: too many peripherals; the row stays as it was, why noted. */
    hello_inv(
        "D-3",
        "{\"agent\":\"9.9\",\"periph\":[{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},"
        "{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},"
        "{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},"
        "{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"}]}",
        4000);
    cr_assert_eq(Q1("SELECT agent = '1.3.1' AND rejected_ms = 4000 AND rejected LIKE 'periph:%'"
                    " FROM inventory WHERE device_id = 'D-3'"),
                 1);
    hello_inv("D-2", "{\"agent\":5}", 4000);
    cr_assert_eq(Q1("SELECT agent = '1.3.1' AND rejected LIKE 'agent:%' FROM inventory"
                    " WHERE device_id = 'D-2'"),
                 1);
    hello_inv("D-2", "[1]", 4000);
    cr_assert_eq(Q1("SELECT count(*) FROM inventory WHERE agent = '1.3.1'"), 2);
    /* Grouped: how many terminals run agent 1.3? */
    cr_assert_eq(kf_store_inv_group(t.st, by, 1, NULL, NULL, 0, &q), 0, "%s",
                 kf_store_errmsg(t.st));
    cr_assert_eq(q->nrows, 2);
    cr_assert_str_eq(kf_store_query_table_cell(q, 0, 0), "1.3.1");
    cr_assert_str_eq(kf_store_query_table_cell(q, 0, 1), "2");
    kf_store_query_table_free(q);
    cr_assert_eq(kf_store_inv_group(t.st, NULL, 0, wf, wv, 1, &q), 0);
    cr_assert_str_eq(kf_store_query_table_cell(q, 0, 0), "3");
    kf_store_query_table_free(q);
    cr_assert_eq(kf_store_inv_group(t.st, by2, 1, NULL, NULL, 0, &q), 0, "%s",
                 kf_store_errmsg(t.st));
    cr_assert_eq(q->nrows, 1);
    cr_assert_str_eq(kf_store_query_table_cell(q, 0, 0), "receipt_printer EPSON TM-T88VI 30.11");
    kf_store_query_table_free(q);
    by2[0] = "agent; DROP TABLE inventory";
    cr_assert_eq(kf_store_inv_group(t.st, by2, 1, NULL, NULL, 0, &q), -EINVAL);
    cr_assert_eq(kf_store_inv_show(t.st, "D-1", &q), 0);
    cr_assert_eq(q->record, 1);
    kf_store_query_table_free(q);
    cr_assert_eq(kf_store_inv_show(t.st, "D-9", &q), -ENOENT);
}

/* ---- kiosk-web's requests, applied by kioskd (store/cmd_requests.h) ---- */

static int64_t request(const char *by, uint8_t role, const char *body)
{
    int64_t id = 0;

    cr_assert_eq(kf_store_cmd_request_add(t.st, by, role, body, 1000, &id), 0);
    return id;
}

Test(commands, web_requests_applied_with_the_key_each_alone)
{
    uint32_t n = 0;

    request("ops", KF_ROLE_OPERATOR,
            "{\"kind\":\"probe\",\"reason\":\"check\",\"targets\":{\"zone\":\"Z-XH-001\"}}");
    /* Checked again when applied: a technician's reboot is refused, nothing of it stays. */
    request("tech", KF_ROLE_TECHNICIAN,
            "{\"kind\":\"reboot\",\"reason\":\"x\",\"targets\":{\"devices\":[\"D-3\"]}}");
    request("ops", KF_ROLE_OPERATOR,
            "{\"kind\":\"probe\",\"reason\":\"x\",\"targets\":{\"bank\":\"NOBANK\"}}");
    request(
        "ops", KF_ROLE_OPERATOR,
        "{\"kind\":\"restart-app\",\"reason\":\"build\",\"canary\":\"50%\",\"halt_rate\":\"10%\","
        "\"targets\":{\"zone\":\"Z-XH-001\"}}");
    request("ops", KF_ROLE_OPERATOR, "{\"op\":\"halt\",\"rollout\":1,\"reason\":\"enough\"}");
    request("ops", KF_ROLE_OPERATOR, "{\"op\":\"halt\",\"rollout\":1,\"reason\":\"twice\"}");
    cr_assert_eq(kf_store_cmd_requests_apply(t.st, 2000, sk, &n), 0, "%s", kf_store_errmsg(t.st));
    cr_assert_eq(n, 6);
    cr_assert_eq(Q1("SELECT count(*) FROM cmd_requests WHERE status = 'applied'"), 3);
    cr_assert_eq(Q1("SELECT count(*) FROM cmd_requests WHERE id IN (2, 3, 6) AND status ="
                    " 'refused'"),
                 3);
    cr_assert_eq(Q1("SELECT json_extract(result, '$.refused') LIKE '%may not issue reboot%'"
                    " FROM cmd_requests WHERE id = 2"),
                 1);
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE kind = 'reboot'"), 0);
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE kind = 'probe' AND by = 'ops'"), 2);
    cr_assert_eq(Q1("SELECT count(*) FROM commands WHERE rollout = 1"), 1); /* 50% of 2 */
    cr_assert_eq(Q1("SELECT status = 'halted' FROM rollouts WHERE id = 1"), 1);
    cr_assert_eq(Q1("SELECT count(*) FROM audit_log WHERE actor = 'ops' AND action IN"
                    " ('command.send', 'rollout.start', 'rollout.halt')"),
                 5);
    cr_assert_eq(kf_store_cmd_requests_apply(t.st, 3000, sk, &n), 0);
    cr_assert_eq(n, 0);
}

Test(commands, role_rule)
{
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_OPERATOR, "reboot"), 1);
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_TECHNICIAN, "probe"), 1);
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_TECHNICIAN, "logs"), 1);
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_TECHNICIAN, "maintenance"), 1);
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_TECHNICIAN, "reboot"), 0);
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_TECHNICIAN, "set-config"), 0);
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_BANK, "probe"), 0);
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_BUREAU, "probe"), 0);
    cr_assert_eq(kf_cmd_role_may(KF_ROLE_NONE, "probe"), 0);
}
