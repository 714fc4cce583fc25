/* store/sqlite/commands.c: commands to terminals (store/commands.h): the table, kioskctl's
 * queueing and lists, kioskd's dispatch, and what the ingest learns from HELLOs and
 * cmd_result records (called from ingest.c and ingest_device.c inside the group commit).
 * Every statement here is prepared per call: commands are rare next to records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/command.h>
#include <kf/record.h>

#include "store/artifacts.h"
#include "store/audit_log.h"
#include "store/commands.h"
#include "store/identity.h"
#include "store/sqlite/int.h"

/* v16 (issue 18). seq is the device's command sequence (the wire's), id the server's row
 * (the wire's "C-<id>"). args is the JSON array sent. cmd_devices keeps what each device
 * last said in its HELLO: the highest command seq it accepted and its refusal counters. */
const char *const kf__store_schema_commands[] = {
    "CREATE TABLE commands(id INTEGER PRIMARY KEY,"
    " device_id TEXT NOT NULL REFERENCES devices(device_id), seq INTEGER NOT NULL,"
    " kind TEXT NOT NULL, args TEXT NOT NULL, status TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    " by TEXT NOT NULL, reason TEXT NOT NULL,"
    " sent_ms INTEGER, sends INTEGER NOT NULL DEFAULT 0, received_ms INTEGER,"
    " ended_ms INTEGER, result_seq INTEGER, detail TEXT, output TEXT,"
    " UNIQUE(device_id, seq))",
    "CREATE INDEX commands_open ON commands(status, device_id) WHERE status IN ('queued', 'sent')",
    "CREATE TABLE cmd_devices(device_id TEXT PRIMARY KEY REFERENCES devices(device_id),"
    " high_seq INTEGER NOT NULL, refused TEXT NOT NULL, updated_ms INTEGER NOT NULL)",
    NULL,
};

/* ---- targets ---- */

void kf_store_cmd_targets_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

int kf_store_cmd_targets(struct kf_store *st, const struct kf_cmd_select *sel, char ***ret,
                         size_t *ret_n)
{
    /* One statement for every combination: a selector not given is a NULL parameter. The
     * device ids go as one JSON array (?8), read back by json_each. */
    static const char sql[] =
        "SELECT d.device_id FROM devices d JOIN assets a ON a.asset_id = d.asset_id"
        " JOIN zones z ON z.id = a.zone_id LEFT JOIN inventory i ON i.device_id = d.device_id"
        " WHERE d.status = ?1"
        " AND (?2 IS NULL OR z.id = ?2) AND (?3 IS NULL OR z.bank = ?3)"
        " AND (?4 IS NULL OR z.unit = ?4)"
        " AND (?5 IS NULL OR a.kind = CASE ?5 WHEN 'kiosk' THEN 1 WHEN 'itm' THEN 2 END)"
        " AND (?6 IS NULL OR i.agent = ?6 OR substr(i.agent, 1, length(?6) + 1) = ?6 || '.')"
        " AND (?7 IS NULL OR i.app_version = ?7"
        " OR substr(i.app_version, 1, length(?7) + 1) = ?7 || '.')"
        " AND (?8 IS NULL OR d.device_id IN (SELECT value FROM json_each(?8)))"
        " ORDER BY d.device_id";
    sqlite3_stmt *s = NULL;
    json_t *ids = NULL;
    char **v = NULL, *ids_text = NULL;
    size_t n = 0, cap = 0;
    int r, rc;

    if (sel->ndevices == 0 && sel->zone == NULL && sel->bank == NULL && sel->unit == NULL &&
        sel->kind == NULL && sel->agent_version == NULL && sel->app_version == NULL) {
        kf__store_seterr(st, "command targets: no selector (a device, zone, bank, unit, kind or"
                             " version)");
        return -EINVAL;
    }
    if (sel->ndevices > KF_CMD_SELECT_DEVICES_MAX ||
        (sel->kind != NULL && strcmp(sel->kind, "kiosk") != 0 && strcmp(sel->kind, "itm") != 0)) {
        kf__store_seterr(st, "command targets: at most %d devices; kind is kiosk or itm",
                         KF_CMD_SELECT_DEVICES_MAX);
        return -EINVAL;
    }
    if (sel->ndevices > 0) {
        ids = json_array();
        for (size_t i = 0; ids != NULL && i < sel->ndevices; i++)
            json_array_append_new(ids, json_string(sel->devices[i]));
        if (ids == NULL || (ids_text = json_dumps(ids, JSON_COMPACT)) == NULL) {
            json_decref(ids);
            return -ENOMEM;
        }
        json_decref(ids);
    }
    r = kf__store_prep(st, sql, &s);
    if (r < 0) {
        free(ids_text);
        return r;
    }
    sqlite3_bind_int(s, 1, KF_DEVICE_ACTIVE);
    kf__store_bind_opt_text(s, 2, sel->zone);
    kf__store_bind_opt_text(s, 3, sel->bank);
    kf__store_bind_opt_text(s, 4, sel->unit);
    kf__store_bind_opt_text(s, 5, sel->kind);
    kf__store_bind_opt_text(s, 6, sel->agent_version);
    kf__store_bind_opt_text(s, 7, sel->app_version);
    kf__store_bind_opt_text(s, 8, ids_text);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((r = kf__store_grow((void **)&v, &cap, n, sizeof(*v))) < 0 ||
            (v[n] = strdup(kf__store_col_text(s, 0))) == NULL) {
            r = r < 0 ? r : -ENOMEM;
            goto out_free;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "command targets");
        goto out_free;
    }
    sqlite3_finalize(s);
    free(ids_text);
    *ret = v;
    *ret_n = n;
    return 0;
out_free:
    sqlite3_finalize(s);
    free(ids_text);
    kf_store_cmd_targets_free(v, n);
    return r;
}

/* ---- kioskctl: queue, cancel ---- */

static int request_ok(struct kf_store *st, const struct kf_cmd_request *req)
{
    if (req->kind == NULL || !kf_cmd_kind_ok(req->kind) || req->nargs > KF_CMD_ARGS_MAX ||
        !kf__store_text_ok(req->by, KF_ACTOR_MAX) ||
        !kf__store_text_ok(req->reason, KF_REASON_MAX) || req->expires_ms <= req->now_ms ||
        req->expires_ms - req->now_ms > KF_CMD_LIFE_MAX_MS) {
        kf__store_seterr(st, "command: a kind, who, why or expiry out of bounds");
        return -EINVAL;
    }
    for (uint32_t i = 0; i < req->nargs; i++) {
        if (!kf_cmd_arg_ok(req->args[i])) {
            kf__store_seterr(st, "command: argument %u is not 0..%d of printable ASCII", i + 1,
                             KF_CMD_ARG_MAX);
            return -EINVAL;
        }
    }
    if (kf_cmd_kind_check(req->kind, req->nargs, req->args) < 0) {
        kf__store_seterr(st, "command: %s does not take these arguments (docs/KIOSKCTL.md)",
                         req->kind);
        return -EINVAL;
    }
    return 0;
}

static int audit(struct kf_store *st, int64_t at_ms, const char *by, const char *action, int64_t id,
                 json_t *detail, const uint8_t sk[64])
{
    char subject[32], *text;
    int r;

    if (detail == NULL)
        return -ENOMEM;
    text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    if (text == NULL)
        return -ENOMEM;
    snprintf(subject, sizeof(subject), "C-%lld", (long long)id);
    r = kf_store_audit_log_append(st, at_ms, by, action, subject, text, sk);
    free(text);
    return r;
}

int kf_store_cmd_queue(struct kf_store *st, const char *device_id, const struct kf_cmd_request *req,
                       const uint8_t server_sk[64], int64_t *ret_id)
{
    struct kf_cmd_request upd;
    const char *uargs[3];
    char hex[65];
    sqlite3_stmt *s = NULL;
    json_t *args;
    char *args_text = NULL;
    int64_t id;
    int own = 0, r;

    if ((r = request_ok(st, req)) < 0)
        return r;
    if (strcmp(req->kind, "update") == 0) {
        /* The artifact must be stored and for this device's kind; the agent gets the SHA-256
         * of its signed manifest with the name, to fetch it by (docs/PROTOCOL.md "FETCH"). */
        r = kf_store_artifact_for_device(st, device_id, req->args[0], req->args[1], hex);
        if (r < 0)
            return r;
        if (req->nargs == 3 && strcmp(req->args[2], hex) != 0) {
            kf__store_seterr(st, "update: %s is not the SHA-256 of %s %s's stored manifest (%s)",
                             req->args[2], req->args[0], req->args[1], hex);
            return -EINVAL;
        }
        uargs[0] = req->args[0];
        uargs[1] = req->args[1];
        uargs[2] = hex;
        upd = *req;
        upd.args = uargs;
        upd.nargs = 3;
        req = &upd;
    }
    args = json_array();
    for (uint32_t i = 0; args != NULL && i < req->nargs; i++)
        json_array_append_new(args, json_string(req->args[i]));
    if (args == NULL || (args_text = json_dumps(args, JSON_COMPACT)) == NULL) {
        json_decref(args);
        return -ENOMEM;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        goto out_free;
    r = kf__store_prep(st,
                       "INSERT INTO commands(device_id, seq, kind, args, status, created_ms,"
                       " expires_ms, by, reason, rollout, wave) SELECT ?1,"
                       " coalesce(max(seq), 0) + 1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8, ?9"
                       " FROM commands WHERE device_id = ?1",
                       &s);
    if (r == 0) {
        sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, req->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, args_text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, req->now_ms);
        sqlite3_bind_int64(s, 5, req->expires_ms);
        sqlite3_bind_text(s, 6, req->by, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, req->reason, -1, SQLITE_STATIC);
        if (req->rollout > 0) {
            sqlite3_bind_int64(s, 8, req->rollout);
            sqlite3_bind_int64(s, 9, req->wave);
        }
        r = kf__store_step_done(st, s, "command");
    }
    id = sqlite3_last_insert_rowid(kf__store_db(st));
    if (r == 0)
        r = audit(st, req->now_ms, req->by, "command.send", id,
                  req->rollout > 0
                      ? json_pack("{s:s, s:s, s:O, s:I, s:s, s:I, s:I}", "device", device_id,
                                  "kind", req->kind, "args", args, "expires_ms",
                                  (json_int_t)req->expires_ms, "reason", req->reason, "rollout",
                                  (json_int_t)req->rollout, "wave", (json_int_t)req->wave)
                      : json_pack("{s:s, s:s, s:O, s:I, s:s}", "device", device_id, "kind",
                                  req->kind, "args", args, "expires_ms",
                                  (json_int_t)req->expires_ms, "reason", req->reason),
                  server_sk);
    r = kf__store_txn_leave(st, own, r);
    if (r == 0)
        *ret_id = id;
out_free:
    json_decref(args);
    free(args_text);
    return r;
}

int kf_store_cmd_cancel(struct kf_store *st, int64_t id, int64_t now_ms, const char *by,
                        const char *reason, const uint8_t server_sk[64])
{
    sqlite3_stmt *s = NULL;
    char status[16] = "";
    int own = 0, r, rc;

    if (!kf__store_text_ok(by, KF_ACTOR_MAX) || !kf__store_text_ok(reason, KF_REASON_MAX)) {
        kf__store_seterr(st, "command: who or why out of bounds");
        return -EINVAL;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = kf__store_prep(st, "SELECT status FROM commands WHERE id = ?1", &s);
    if (r < 0)
        return kf__store_txn_leave(st, own, r);
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kf__store_col_copy(status, sizeof(status), s, 0);
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "command C-%lld: no such command", (long long)id);
        r = -ENOENT;
    } else if (rc != SQLITE_ROW) {
        r = kf__store_sql_fail(st, rc, "command");
    } else if (strcmp(status, "queued") != 0 && strcmp(status, "sent") != 0) {
        kf__store_seterr(st, "command C-%lld: %s, too late to cancel", (long long)id, status);
        r = -EALREADY;
    }
    if (r == 0)
        r = kf__store_prep(
            st, "UPDATE commands SET status = 'cancelled', ended_ms = ?2 WHERE id = ?1", &s);
    if (r == 0) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, now_ms);
        r = kf__store_step_done(st, s, "command");
    }
    if (r == 0)
        r = audit(st, now_ms, by, "command.cancel", id,
                  json_pack("{s:s, s:s}", "was", status, "reason", reason), server_sk);
    return kf__store_txn_leave(st, own, r);
}

/* ---- kioskctl: tables ---- */

#define CMD_COLS                                                                                   \
    "'C-' || id AS id, device_id AS device, seq, kind, args, status, created_ms AS created,"       \
    " expires_ms AS expires, sent_ms AS sent, sends, received_ms AS received, ended_ms AS ended,"  \
    " detail, by, reason, CASE WHEN rollout IS NOT NULL THEN 'R-' || rollout END AS rollout,"      \
    " wave"
#define CMD_TYPES "xxixxxtttittxxxxi"

int kf_store_cmd_list(struct kf_store *st, const char *device, const char *status,
                      struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {
        {device, 0, device == NULL},
        {status, 0, status == NULL},
    };

    return kf__store_query_run(st, "commands", NULL, CMD_TYPES,
                               "SELECT " CMD_COLS " FROM commands"
                               " WHERE (?1 IS NULL OR device_id = ?1)"
                               " AND (?2 IS NULL OR status = ?2) ORDER BY id",
                               p, 2, ret);
}

int kf_store_cmd_page(struct kf_store *st, const char *device, const char *status, int64_t rollout,
                      int64_t after, uint32_t limit, int newest_first, struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {
        {device, 0, device == NULL},
        {status, 0, status == NULL},
        {NULL, rollout, rollout <= 0},
        {NULL, after, 0},
        {NULL, limit, 0},
    };

    return kf__store_query_run(st, "commands", NULL, CMD_TYPES,
                               newest_first ? "SELECT " CMD_COLS " FROM commands"
                                              " WHERE (?1 IS NULL OR device_id = ?1)"
                                              " AND (?2 IS NULL OR status = ?2)"
                                              " AND (?3 IS NULL OR rollout = ?3)"
                                              " AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?5"
                                            : "SELECT " CMD_COLS " FROM commands"
                                              " WHERE (?1 IS NULL OR device_id = ?1)"
                                              " AND (?2 IS NULL OR status = ?2)"
                                              " AND (?3 IS NULL OR rollout = ?3)"
                                              " AND id > ?4 ORDER BY id LIMIT ?5",
                               p, 5, ret);
}

int kf_store_cmd_show(struct kf_store *st, int64_t id, struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {{NULL, id, 0}};
    int r = kf__store_query_run(st, "command", NULL, CMD_TYPES "ix",
                                "SELECT " CMD_COLS ", result_seq, output FROM commands"
                                " WHERE id = ?1",
                                p, 1, ret);

    if (r == 0) {
        (*ret)->record = 1;
        if ((*ret)->nrows == 0) {
            kf_store_query_table_free(*ret);
            kf__store_seterr(st, "command C-%lld: no such command", (long long)id);
            return -ENOENT;
        }
    }
    return r;
}

int kf_store_cmd_refusals(struct kf_store *st, struct kf_qtable **ret)
{
    return kf__store_query_run(
        st, "cmd_refusals", NULL, "xiiiiiit",
        "SELECT device_id AS device, high_seq,"
        " coalesce(json_extract(refused, '$.bad_signature'), 0) AS bad_signature,"
        " coalesce(json_extract(refused, '$.other_device'), 0) AS other_device,"
        " coalesce(json_extract(refused, '$.expired'), 0) AS expired,"
        " coalesce(json_extract(refused, '$.replayed'), 0) AS replayed,"
        " coalesce(json_extract(refused, '$.malformed'), 0) AS malformed,"
        " updated_ms AS updated FROM cmd_devices ORDER BY device_id",
        NULL, 0, ret);
}

/* ---- kioskd: dispatch ----
 *
 * A sent command is sent again only when the device may have missed it: it came back online
 * after the send and its HELLO since then (which marks what it accepted as received) left
 * the command unreceived, or resend_ms have passed without a word. An agent says it has
 * received a command by a HELLO right after accepting it, so a command normally goes once. */

static int cmd_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_cmd *c = row;
    json_t *a;

    kf__store_col_copy(c->device_id, sizeof(c->device_id), s, 0);
    c->seq = (uint64_t)sqlite3_column_int64(s, 1);
    snprintf(c->id, sizeof(c->id), "C-%lld", (long long)sqlite3_column_int64(s, 2));
    kf__store_col_copy(c->kind, sizeof(c->kind), s, 3);
    c->issued_ms = sqlite3_column_int64(s, 5);
    c->expires_ms = sqlite3_column_int64(s, 6);
    a = json_loads(kf__store_col_text(s, 4), 0, NULL);
    if (!json_is_array(a) || json_array_size(a) > KF_CMD_ARGS_MAX) {
        json_decref(a);
        kf__store_seterr(st, "command %s: stored arguments unreadable", c->id);
        return -EBADMSG;
    }
    c->nargs = (uint32_t)json_array_size(a);
    for (uint32_t i = 0; i < c->nargs; i++)
        snprintf(c->args[i], sizeof(c->args[i]), "%s",
                 json_string_value(json_array_get(a, i)) ? json_string_value(json_array_get(a, i))
                                                         : "");
    json_decref(a);
    return 0;
}

int kf_store_cmd_dispatch(struct kf_store *st, int64_t now_ms, int64_t resend_ms, size_t max,
                          struct kf_cmd **ret, size_t *ret_n, uint32_t *ret_expired)
{
    sqlite3_stmt *s = NULL;
    void *rows = NULL;
    size_t n = 0;
    int own = 0, r, rc;

    /* Asked for after every commit: with no open command (the common case) it is one read
     * of a partial index, and no write transaction beside the group commits. */
    *ret = NULL;
    *ret_n = 0;
    *ret_expired = 0;
    r = kf__store_prep(st, "SELECT 1 FROM commands WHERE status IN ('queued', 'sent') LIMIT 1", &s);
    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return kf__store_sql_fail(st, rc, "commands due");
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = kf__store_prep(st,
                       "UPDATE commands SET status = 'expired', ended_ms = ?1"
                       " WHERE status IN ('queued', 'sent') AND expires_ms < ?1",
                       &s);
    if (r == 0) {
        sqlite3_bind_int64(s, 1, now_ms);
        r = kf__store_step_done(st, s, "command expiry");
    }
    if (r == 0)
        *ret_expired = (uint32_t)sqlite3_changes(kf__store_db(st));
    if (r == 0)
        r = kf__store_prep(
            st,
            "SELECT c.device_id, c.seq, c.id, c.kind, c.args, c.created_ms, c.expires_ms"
            " FROM commands c JOIN devices d ON d.device_id = c.device_id"
            " LEFT JOIN cmd_devices h ON h.device_id = c.device_id"
            " WHERE c.status IN ('queued', 'sent') AND d.online = 1 AND (c.status = 'queued'"
            " OR (c.sent_ms < d.state_since_ms AND h.updated_ms >= d.state_since_ms)"
            " OR c.sent_ms <= ?1 - ?2)"
            " ORDER BY c.device_id, c.seq LIMIT ?3",
            &s);
    if (r == 0) {
        sqlite3_bind_int64(s, 1, now_ms);
        sqlite3_bind_int64(s, 2, resend_ms);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
        r = kf__store_rows(st, s, sizeof(struct kf_cmd), cmd_fill, "commands due", &rows, &n);
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        const struct kf_cmd *c = (const struct kf_cmd *)rows + i;

        r = kf__store_prep(st,
                           "UPDATE commands SET status = 'sent', sent_ms = ?3, sends = sends + 1"
                           " WHERE device_id = ?1 AND seq = ?2",
                           &s);
        if (r == 0) {
            sqlite3_bind_text(s, 1, c->device_id, -1, SQLITE_STATIC);
            kf__store_bind_u64(s, 2, c->seq);
            sqlite3_bind_int64(s, 3, now_ms);
            r = kf__store_step_done(st, s, "command sent");
        }
    }
    r = kf__store_txn_leave(st, own, r);
    if (r < 0) {
        free(rows);
        return r;
    }
    *ret = rows;
    *ret_n = n;
    return 0;
}

/* ---- the ingest (inside the group commit) ---- */

int kf__store_cmd_hello(struct kf_store *st, const char *device_id, json_t *hello, int64_t now_ms)
{
    json_t *cmd = json_object_get(hello, "cmd"), *high, *refused;
    sqlite3_stmt *s = NULL;
    char *text;
    int r;

    if (!json_is_object(cmd))
        return 0; /* an agent without commands */
    high = json_object_get(cmd, "high");
    refused = json_object_get(cmd, "refused");
    if (!json_is_integer(high) || json_integer_value(high) < 0 || !json_is_object(refused) ||
        json_object_size(refused) > KF_CMD_REFUSAL_COUNT_)
        return 0; /* advisory, as the rest of a HELLO */
    text = json_dumps(refused, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return -ENOMEM;
    r = kf__store_prep(st,
                       "INSERT INTO cmd_devices(device_id, high_seq, refused, updated_ms)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(device_id) DO UPDATE SET"
                       " high_seq = excluded.high_seq, refused = excluded.refused,"
                       " updated_ms = excluded.updated_ms",
                       &s);
    if (r == 0) {
        sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, json_integer_value(high));
        sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, now_ms);
        r = kf__store_step_done(st, s, "command hello");
    }
    free(text);
    /* What the device has accepted, it has received. */
    if (r == 0)
        r = kf__store_prep(st,
                           "UPDATE commands SET status = 'received', received_ms = ?3"
                           " WHERE device_id = ?1 AND seq <= ?2 AND status IN ('queued', 'sent')",
                           &s);
    if (r == 0) {
        sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, json_integer_value(high));
        sqlite3_bind_int64(s, 3, now_ms);
        r = kf__store_step_done(st, s, "command hello");
    }
    return r;
}

int kf__store_cmd_result(struct kf_store *st, const char *device_id, uint64_t seq,
                         const struct kf_rec_cmd_result *res, int64_t recv_ms)
{
    sqlite3_stmt *s = NULL;
    char id[KF_CMD_ID_MAX + 1];
    int r;

    /* The first report of a command counts (a device reports once; result_seq keeps it). */
    /* A logs command the device reports done is done only once its bundle is here, whole
     * and matching (store/sqlite/blobs.c): until then it stays received. */
    r = kf__store_prep(st,
                       "UPDATE commands SET status = CASE WHEN kind = 'logs' AND ?4 = 'done'"
                       " THEN 'received' ELSE ?4 END, ended_ms = ?5, result_seq = ?3,"
                       " detail = ?6, output = ?7, received_ms = coalesce(received_ms, ?5)"
                       " WHERE device_id = ?1 AND seq = ?2 AND 'C-' || id = ?8"
                       " AND result_seq IS NULL",
                       &s);
    if (r < 0)
        return r;
    snprintf(id, sizeof(id), "%s", res->cmd);
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, res->cmd_seq);
    kf__store_bind_u64(s, 3, seq);
    sqlite3_bind_text(s, 4, kf_cmd_status_name(res->status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, recv_ms);
    kf__store_bind_opt_text(s, 6, res->detail);
    kf__store_bind_opt_text(s, 7, res->output);
    sqlite3_bind_text(s, 8, id, -1, SQLITE_STATIC);
    r = kf__store_step_done(st, s, "command result");
    if (r == 0 && sqlite3_changes(st->db) == 1)
        r = kf__store_blob_settle(st, device_id, res->cmd_seq, recv_ms);
    return r;
}
