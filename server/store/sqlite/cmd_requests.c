/* store/sqlite/cmd_requests.c: commands and rollout moves asked for through kiosk-web
 * (store/cmd_requests.h): the role rule, the body's check, the queue and kioskd's apply. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/command.h>
#include <kf/log.h>

#include "store/cmd_requests.h"
#include "store/identity.h"
#include "store/sqlite/int.h"
#include "store/users.h"

/* The table is v19's, with the rollouts (store/sqlite/rollouts.c). */

int kf_cmd_role_may(uint8_t role, const char *kind)
{
    if (kind == NULL)
        return 0;
    if (role == KF_ROLE_OPERATOR)
        return 1;
    if (role == KF_ROLE_TECHNICIAN)
        return strcmp(kind, "probe") == 0 || strcmp(kind, "logs") == 0 ||
               strcmp(kind, "maintenance") == 0;
    return 0;
}

static int bad(char *why, size_t cap, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return r;
}

/* An optional selector text of at most 64 bytes. */
static int opt_text(const json_t *o, const char *key, const char **dst, char *why, size_t cap)
{
    const json_t *v = json_object_get(o, key);

    *dst = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64)
        return bad(why, cap, -EINVAL, "targets.%s: a text of 1..64 bytes", key);
    *dst = json_string_value(v);
    return 0;
}

int kf_cmd_request_parse(const json_t *body, uint8_t role, struct kf_cmd_request_body *ret,
                         char *why, size_t cap)
{
    const json_t *v, *t, *a;
    struct kf_cmd_request_body *b = ret;
    static const char *const sel_keys[] = {"zone", "bank",          "unit",
                                           "kind", "agent_version", "app_version"};
    const char **sel_dst[6];
    uint32_t n, bp;

    memset(b, 0, sizeof(*b));
    b->plan.halt_failures = -1;
    b->plan.halt_rate_bp = -1;
    if (!json_is_object(body))
        return bad(why, cap, -EINVAL, "the body is a JSON object");
    v = json_object_get(body, "reason");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > KF_REASON_MAX)
        return bad(why, cap, -EINVAL, "reason: why, 1..%d bytes (the signed log keeps it)",
                   KF_REASON_MAX);
    b->reason = json_string_value(v);
    v = json_object_get(body, "op");
    if (v != NULL) {
        if (!json_is_string(v) || (strcmp(json_string_value(v), "halt") != 0 &&
                                   strcmp(json_string_value(v), "resume") != 0))
            return bad(why, cap, -EINVAL, "op: halt or resume");
        if (role != KF_ROLE_OPERATOR)
            return bad(why, cap, -EPERM, "only the operator halts or resumes a rollout");
        b->op = strcmp(json_string_value(v), "halt") == 0 ? 1 : 2;
        v = json_object_get(body, "rollout");
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return bad(why, cap, -EINVAL, "rollout: its id");
        b->rollout = json_integer_value(v);
        return 0;
    }
    v = json_object_get(body, "kind");
    if (!json_is_string(v) || kf_cmd_kind_check(json_string_value(v), 0, NULL) == -ENOENT)
        return bad(why, cap, -EINVAL, "kind: a command kind (docs/PROTOCOL.md \"COMMAND\")");
    b->req.kind = json_string_value(v);
    if (!kf_cmd_role_may(role, b->req.kind))
        return bad(why, cap, -EPERM,
                   "this role may not issue %s (technicians: probe, logs,"
                   " maintenance; banks and the bureau: none)",
                   b->req.kind);
    a = json_object_get(body, "args");
    if (a != NULL && (!json_is_array(a) || json_array_size(a) > KF_CMD_ARGS_MAX))
        return bad(why, cap, -EINVAL, "args: an array of at most %d texts", KF_CMD_ARGS_MAX);
    for (size_t i = 0; a != NULL && i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));

        if (s == NULL || !kf_cmd_arg_ok(s))
            return bad(why, cap, -EINVAL, "args[%zu]: 0..%d printable ASCII", i, KF_CMD_ARG_MAX);
        b->args[b->req.nargs++] = s;
    }
    b->req.args = b->args;
    if (kf_cmd_kind_check(b->req.kind, b->req.nargs, b->req.args) < 0)
        return bad(why, cap, -EINVAL, "args: not the arguments %s takes", b->req.kind);
    v = json_object_get(body, "expires_s");
    b->life_ms = 3600000;
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 60 ||
            json_integer_value(v) * 1000 > KF_CMD_LIFE_MAX_MS)
            return bad(why, cap, -EINVAL, "expires_s: 60 .. %d", (int)(KF_CMD_LIFE_MAX_MS / 1000));
        b->life_ms = json_integer_value(v) * 1000;
    }
    t = json_object_get(body, "targets");
    if (!json_is_object(t))
        return bad(why, cap, -EINVAL, "targets: an object of selectors");
    sel_dst[0] = &b->sel.zone;
    sel_dst[1] = &b->sel.bank;
    sel_dst[2] = &b->sel.unit;
    sel_dst[3] = &b->sel.kind;
    sel_dst[4] = &b->sel.agent_version;
    sel_dst[5] = &b->sel.app_version;
    for (size_t i = 0; i < 6; i++)
        if (opt_text(t, sel_keys[i], sel_dst[i], why, cap) < 0)
            return -EINVAL;
    if (b->sel.kind && strcmp(b->sel.kind, "kiosk") != 0 && strcmp(b->sel.kind, "itm") != 0)
        return bad(why, cap, -EINVAL, "targets.kind: kiosk or itm");
    a = json_object_get(t, "devices");
    if (a != NULL && (!json_is_array(a) || json_array_size(a) > KF_CMD_SELECT_DEVICES_MAX))
        return bad(why, cap, -EINVAL, "targets.devices: at most %d device ids",
                   KF_CMD_SELECT_DEVICES_MAX);
    for (size_t i = 0; a != NULL && i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));

        if (s == NULL || s[0] == '\0' || strlen(s) > 64)
            return bad(why, cap, -EINVAL, "targets.devices[%zu]: a device id", i);
        b->devices[b->sel.ndevices++] = s;
    }
    b->sel.devices = b->devices;
    if (b->sel.ndevices == 0 && !b->sel.zone && !b->sel.bank && !b->sel.unit && !b->sel.kind &&
        !b->sel.agent_version && !b->sel.app_version)
        return bad(why, cap, -EINVAL, "targets: at least one selector (never the whole fleet)");
    v = json_object_get(body, "dry_run");
    if (v != NULL && !json_is_boolean(v))
        return bad(why, cap, -EINVAL, "dry_run: true or false");
    b->dry_run = json_is_true(v);
    v = json_object_get(body, "canary");
    if (v != NULL) {
        char tmp[24];

        if (json_is_integer(v))
            snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
        else
            snprintf(tmp, sizeof(tmp), "%s", json_is_string(v) ? json_string_value(v) : "");
        if (kf_rollout_parse_share(tmp, KF_ROLLOUT_TARGETS_MAX, &n, &bp) < 0 || (n == 0 && bp == 0))
            return bad(why, cap, -EINVAL, "canary: a count (1..%d) or a share such as \"10%%\"",
                       KF_ROLLOUT_TARGETS_MAX);
        b->plan.canary_n = n;
        b->plan.canary_bp = bp;
        b->is_rollout = 1;
    }
    v = json_object_get(body, "halt_failures");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > KF_ROLLOUT_TARGETS_MAX || !b->is_rollout)
            return bad(why, cap, -EINVAL, "halt_failures: 0..%d, with a canary",
                       KF_ROLLOUT_TARGETS_MAX);
        b->plan.halt_failures = (int32_t)json_integer_value(v);
    }
    v = json_object_get(body, "halt_rate");
    if (v != NULL) {
        if (!json_is_string(v) || strchr(json_string_value(v), '%') == NULL ||
            kf_rollout_parse_share(json_string_value(v), 0, &n, &bp) < 0 || !b->is_rollout)
            return bad(why, cap, -EINVAL, "halt_rate: a share such as \"10%%\", with a canary");
        b->plan.halt_rate_bp = (int32_t)bp;
    }
    return 0;
}

int kf_store_cmd_request_add(struct kf_store *st, const char *by, uint8_t role,
                             const char *body_json, int64_t now_ms, int64_t *ret_id)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    if (!kf__store_text_ok(by, KF_ACTOR_MAX) || body_json == NULL ||
        strlen(body_json) > KF_CMD_REQUEST_MAX) {
        kf__store_seterr(st, "command request: who or body out of bounds");
        return -EINVAL;
    }
    r = kf__store_prep(
        st, "INSERT INTO cmd_requests(at_ms, by, role, body) VALUES (?1, ?2, ?3, ?4)", &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_text(s, 2, by, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, role);
    sqlite3_bind_text(s, 4, body_json, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "command request");
    *ret_id = sqlite3_last_insert_rowid(kf__store_db(st));
    return 0;
}

/* Apply one request; *ret_result is the owned JSON of what came of it. 0 applied; <0 refused
 * (the store's message says why). */
static int apply_one(struct kf_store *st, const char *by, uint8_t role, const char *body_text,
                     int64_t now_ms, const uint8_t sk[64], json_t **ret_result)
{
    struct kf_cmd_request_body *b = calloc(1, sizeof(*b));
    json_t *body = json_loads(body_text, JSON_REJECT_DUPLICATES, NULL), *ids = NULL;
    char why[256], **targets = NULL;
    size_t n = 0;
    int r;

    if (b == NULL) {
        json_decref(body);
        return -ENOMEM;
    }
    r = kf_cmd_request_parse(body, role, b, why, sizeof(why));
    if (r < 0) {
        kf__store_seterr(st, "%s", why);
        goto out;
    }
    if (b->op != 0) {
        r = b->op == 1 ? kf_store_rollout_halt(st, b->rollout, now_ms, by, b->reason, sk)
                       : kf_store_rollout_resume(st, b->rollout, now_ms, by, b->reason, sk);
        if (r == 0)
            *ret_result = json_pack("{s:s, s:I}", "op", b->op == 1 ? "halt" : "resume", "rollout",
                                    (json_int_t)b->rollout);
        goto out;
    }
    b->req.by = by;
    b->req.reason = b->reason;
    b->req.now_ms = now_ms;
    b->req.expires_ms = now_ms + b->life_ms;
    r = kf_store_cmd_targets(st, &b->sel, &targets, &n);
    if (r == 0 && n == 0) {
        kf__store_seterr(st, "no active terminal matches the targets");
        r = -ENOENT;
    }
    if (r < 0)
        goto out;
    if (b->is_rollout) {
        int64_t rid = 0;

        r = kf_store_rollout_start(st, (const char *const *)targets, n, &b->req, &b->plan, sk,
                                   &rid);
        if (r == 0)
            *ret_result =
                json_pack("{s:I, s:I}", "rollout", (json_int_t)rid, "targets", (json_int_t)n);
        goto out;
    }
    ids = json_array();
    for (size_t i = 0; r == 0 && i < n; i++) {
        int64_t cid = 0;

        r = kf_store_cmd_queue(st, targets[i], &b->req, sk, &cid);
        if (r == 0)
            json_array_append_new(ids, json_integer(cid));
    }
    if (r == 0) {
        *ret_result = json_pack("{s:o}", "commands", ids);
        ids = NULL;
    }
out:
    json_decref(ids);
    kf_store_cmd_targets_free(targets, n);
    json_decref(body);
    free(b);
    return r;
}

static int mark(struct kf_store *st, int64_t id, const char *status, int64_t now_ms,
                const char *result)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "UPDATE cmd_requests SET status = ?2, applied_ms = ?3, result = ?4"
                           " WHERE id = ?1",
                           &s),
        rc;

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms);
    sqlite3_bind_text(s, 4, result, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : kf__store_sql_fail(st, rc, "command request");
}

struct pending {
    int64_t id;
    uint8_t role;
    char by[KF_ACTOR_MAX + 1];
    char *body;
};

int kf_store_cmd_requests_apply(struct kf_store *st, int64_t now_ms, const uint8_t server_sk[64],
                                uint32_t *ret_applied)
{
    struct pending p[64];
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    uint32_t done = 0;
    int own = 0, r, rc;

    *ret_applied = 0;
    r = kf__store_prep(st,
                       "SELECT id, role, by, body FROM cmd_requests WHERE status = 'pending'"
                       " ORDER BY id LIMIT 64",
                       &s);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < 64) {
        p[n].id = sqlite3_column_int64(s, 0);
        p[n].role = (uint8_t)sqlite3_column_int(s, 1);
        kf__store_col_copy(p[n].by, sizeof(p[n].by), s, 2);
        p[n].body = strdup(kf__store_col_text(s, 3));
        if (p[n].body == NULL)
            break;
        n++;
    }
    sqlite3_finalize(s);
    if (n == 0)
        return rc == SQLITE_DONE ? 0 : kf__store_sql_fail(st, rc, "command requests");
    r = kf__store_txn_enter(st, &own);
    for (size_t i = 0; r == 0 && i < n; i++) {
        json_t *res = NULL;
        char *text = NULL;
        int a;

        r = kf__store_exec_sql(st, "SAVEPOINT cmd_request");
        if (r < 0)
            break;
        a = apply_one(st, p[i].by, p[i].role, p[i].body, now_ms, server_sk, &res);
        if (a == -ENOMEM) {
            r = a;
            break;
        }
        if (a < 0) {
            /* Undo what it began, keep the others; say why on the request. */
            json_decref(res);
            res = json_pack("{s:s}", "refused", kf_store_errmsg(st));
            r = kf__store_exec_sql(st, "ROLLBACK TO cmd_request");
            kf_warn("command request %lld by %s refused: %s", (long long)p[i].id, p[i].by,
                    kf_store_errmsg(st));
        }
        text = res ? json_dumps(res, JSON_COMPACT) : NULL;
        json_decref(res);
        if (r == 0)
            r = kf__store_exec_sql(st, "RELEASE cmd_request");
        if (r == 0)
            r = mark(st, p[i].id, a < 0 ? "refused" : "applied", now_ms, text ? text : "{}");
        free(text);
        if (r == 0)
            done++;
    }
    r = kf__store_txn_leave(st, own, r);
    for (size_t i = 0; i < n; i++)
        free(p[i].body);
    if (r == 0)
        *ret_applied = done;
    return r;
}

int kf_store_cmd_request_show(struct kf_store *st, int64_t id, struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {{NULL, id, 0}};
    int r = kf__store_query_run(st, "command_request", NULL, "ixtxtxx",
                                "SELECT id, by, at_ms AS at, status, applied_ms AS applied,"
                                " result, body FROM cmd_requests WHERE id = ?1",
                                p, 1, ret);

    if (r == 0) {
        (*ret)->record = 1;
        if ((*ret)->nrows == 0) {
            kf_store_query_table_free(*ret);
            *ret = NULL; /* callers free what they hold on any error */
            kf__store_seterr(st, "no command request %lld", (long long)id);
            return -ENOENT;
        }
    }
    return r;
}
