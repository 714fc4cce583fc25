/* store/sqlite/rollouts.c: rollouts in waves (store/rollouts.h): the table, the operator's
 * start, halt, resume and cancel, kioskd's tick, and the tables kioskctl and kiosk-web read.
 * Statements are prepared per call: rollouts are few and slow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/command.h>
#include <kf/inventory.h>

#include "store/audit_log.h"
#include "store/identity.h"
#include "store/rollouts.h"
#include "store/sqlite/int.h"

/* v19 (issue 18). targets: the JSON array of device ids in wave order. fail_base: the
 * failures counted when it was last resumed (the threshold counts the ones after). commands
 * gain the rollout and the wave they belong to. */
const char *const kf__store_schema_rollouts[] = {
    "CREATE TABLE rollouts(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, args TEXT NOT NULL,"
    " status TEXT NOT NULL, targets TEXT NOT NULL, total INTEGER NOT NULL,"
    " canary_n INTEGER NOT NULL, canary_bp INTEGER NOT NULL, halt_failures INTEGER NOT NULL,"
    " halt_rate_bp INTEGER NOT NULL, wave INTEGER NOT NULL, waves INTEGER NOT NULL,"
    " fail_base INTEGER NOT NULL DEFAULT 0, life_ms INTEGER NOT NULL, by TEXT NOT NULL,"
    " reason TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " note TEXT)",
    "CREATE INDEX rollouts_running ON rollouts(status) WHERE status = 'running'",
    "ALTER TABLE commands ADD COLUMN rollout INTEGER REFERENCES rollouts(id)",
    "ALTER TABLE commands ADD COLUMN wave INTEGER",
    "CREATE INDEX commands_rollout ON commands(rollout, wave) WHERE rollout IS NOT NULL",
    /* kiosk-web's requests, applied by kioskd (store/sqlite/cmd_requests.c). */
    "CREATE TABLE cmd_requests(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, by TEXT NOT NULL,"
    " role INTEGER NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
    " applied_ms INTEGER, result TEXT)",
    "CREATE INDEX cmd_requests_pending ON cmd_requests(status) WHERE status = 'pending'",
    NULL,
};

#define HALTED_DETAIL "rollout halted"
#define REQUEUED_DETAIL "rollout halted; queued again on resume"

struct ro {
    int64_t id;
    char kind[KF_CMD_KIND_MAX + 1];
    char *args;    /* owned: JSON array */
    char *targets; /* owned: JSON array */
    char status[16];
    struct kf_rollout_plan plan;
    uint32_t wave, waves, fail_base;
    int64_t life_ms;
    char reason[KF_REASON_MAX + 1];
};

static void ro_free(struct ro *r)
{
    free(r->args);
    free(r->targets);
}

static int ro_load(struct kf_store *st, int64_t id, struct ro *ret)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    memset(ret, 0, sizeof(*ret));
    r = kf__store_prep(st,
                       "SELECT kind, args, targets, status, total, canary_n, canary_bp,"
                       " halt_failures, halt_rate_bp, wave, waves, fail_base, life_ms, reason"
                       " FROM rollouts WHERE id = ?1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(s);
        kf__store_seterr(st, "rollout R-%lld: no such rollout", (long long)id);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        return kf__store_sql_fail(st, rc, "rollout");
    }
    ret->id = id;
    kf__store_col_copy(ret->kind, sizeof(ret->kind), s, 0);
    ret->args = strdup(kf__store_col_text(s, 1));
    ret->targets = strdup(kf__store_col_text(s, 2));
    kf__store_col_copy(ret->status, sizeof(ret->status), s, 3);
    ret->plan.total = (uint32_t)sqlite3_column_int64(s, 4);
    ret->plan.canary_n = (uint32_t)sqlite3_column_int64(s, 5);
    ret->plan.canary_bp = (uint32_t)sqlite3_column_int64(s, 6);
    ret->plan.halt_failures = (int32_t)sqlite3_column_int64(s, 7);
    ret->plan.halt_rate_bp = (int32_t)sqlite3_column_int64(s, 8);
    ret->wave = (uint32_t)sqlite3_column_int64(s, 9);
    ret->waves = (uint32_t)sqlite3_column_int64(s, 10);
    ret->fail_base = (uint32_t)sqlite3_column_int64(s, 11);
    ret->life_ms = sqlite3_column_int64(s, 12);
    kf__store_col_copy(ret->reason, sizeof(ret->reason), s, 13);
    sqlite3_finalize(s);
    if (ret->args == NULL || ret->targets == NULL) {
        ro_free(ret);
        return -ENOMEM;
    }
    return 0;
}

static int ro_audit(struct kf_store *st, int64_t at_ms, const char *by, const char *action,
                    int64_t id, json_t *detail, const uint8_t sk[64])
{
    char subject[32], *text;
    int r;

    if (detail == NULL)
        return -ENOMEM;
    text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    if (text == NULL)
        return -ENOMEM;
    snprintf(subject, sizeof(subject), "R-%lld", (long long)id);
    r = kf_store_audit_log_append(st, at_ms, by, action, subject, text, sk);
    free(text);
    return r;
}

/* Queue one command of the rollout for each device (by and reason: who queues them now). */
static int ro_queue(struct kf_store *st, const struct ro *ro, uint32_t wave,
                    const char *const *devs, size_t n, int64_t now_ms, const char *by,
                    const char *reason, const uint8_t sk[64])
{
    json_t *a = json_loads(ro->args, 0, NULL);
    const char *args[KF_CMD_ARGS_MAX];
    struct kf_cmd_request req;
    int r = 0;

    if (!json_is_array(a) || json_array_size(a) > KF_CMD_ARGS_MAX) {
        json_decref(a);
        kf__store_seterr(st, "rollout R-%lld: stored arguments unreadable", (long long)ro->id);
        return -EBADMSG;
    }
    memset(&req, 0, sizeof(req));
    req.kind = ro->kind;
    req.nargs = (uint32_t)json_array_size(a);
    for (uint32_t i = 0; i < req.nargs; i++)
        args[i] =
            json_string_value(json_array_get(a, i)) ? json_string_value(json_array_get(a, i)) : "";
    req.args = args;
    req.now_ms = now_ms;
    req.expires_ms = now_ms + ro->life_ms;
    req.by = by;
    req.reason = reason;
    req.rollout = ro->id;
    req.wave = wave;
    for (size_t i = 0; r == 0 && i < n; i++) {
        int64_t cid;

        r = kf_store_cmd_queue(st, devs[i], &req, sk, &cid);
    }
    json_decref(a);
    return r;
}

/* Queue wave w from the stored targets. */
static int ro_queue_wave(struct kf_store *st, const struct ro *ro, uint32_t w, int64_t now_ms,
                         const char *by, const char *reason, const uint8_t sk[64], uint32_t *ret_n)
{
    json_t *t = json_loads(ro->targets, 0, NULL);
    const char **devs = NULL;
    uint32_t first, n;
    int r;

    if (!json_is_array(t) || json_array_size(t) != ro->plan.total ||
        kf_rollout_wave(&ro->plan, w, &first, &n) < 0) {
        json_decref(t);
        kf__store_seterr(st, "rollout R-%lld: stored targets unreadable", (long long)ro->id);
        return -EBADMSG;
    }
    devs = calloc(n ? n : 1, sizeof(*devs));
    if (devs == NULL) {
        json_decref(t);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        devs[i] = json_string_value(json_array_get(t, first + i))
                      ? json_string_value(json_array_get(t, first + i))
                      : "";
    r = ro_queue(st, ro, w, devs, n, now_ms, by, reason, sk);
    free(devs);
    json_decref(t);
    if (r == 0)
        *ret_n = n;
    return r;
}

/* The rollout's figures now: failures (all waves), devices queued so far, and the commands of
 * wave w still open (queued, sent or received). */
static int ro_counts(struct kf_store *st, int64_t id, uint32_t w, uint32_t *ret_fail,
                     uint32_t *ret_queued, uint32_t *ret_open)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st,
                       "SELECT count(*) FILTER (WHERE status IN ('failed', 'refused', 'expired')),"
                       " count(DISTINCT device_id), count(*) FILTER (WHERE wave = ?2 AND"
                       " status IN ('queued', 'sent', 'received'))"
                       " FROM commands WHERE rollout = ?1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, w);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret_fail = (uint32_t)sqlite3_column_int64(s, 0);
        *ret_queued = (uint32_t)sqlite3_column_int64(s, 1);
        *ret_open = (uint32_t)sqlite3_column_int64(s, 2);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : kf__store_sql_fail(st, rc, "rollout counts");
}

static int ro_set(struct kf_store *st, int64_t id, const char *status, uint32_t wave,
                  int64_t fail_base, int64_t now_ms, const char *note)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "UPDATE rollouts SET status = ?2, wave = ?3,"
                           " fail_base = coalesce(?4, fail_base), updated_ms = ?5, note = ?6"
                           " WHERE id = ?1",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, wave);
    if (fail_base >= 0)
        sqlite3_bind_int64(s, 4, fail_base);
    sqlite3_bind_int64(s, 5, now_ms);
    kf__store_bind_opt_text(s, 6, note);
    return kf__store_step_done(st, s, "rollout");
}

/* Cancel the commands of the rollout not yet sent; *ret_n of them. */
static int ro_cancel_queued(struct kf_store *st, int64_t id, int64_t now_ms, const char *detail,
                            uint32_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "UPDATE commands SET status = 'cancelled', ended_ms = ?2, detail = ?3"
                           " WHERE rollout = ?1 AND status = 'queued'",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_text(s, 3, detail, -1, SQLITE_STATIC);
    r = kf__store_step_done(st, s, "rollout cancel");
    if (r == 0)
        *ret_n = (uint32_t)sqlite3_changes(kf__store_db(st));
    return r;
}

/* ---- start ---- */

int kf_store_rollout_start(struct kf_store *st, const char *const *targets, size_t n,
                           const struct kf_cmd_request *req, const struct kf_rollout_plan *plan,
                           const uint8_t server_sk[64], int64_t *ret_id)
{
    struct kf_rollout_plan p = *plan;
    json_t *tj = NULL, *aj = NULL;
    char *ttext = NULL, *atext = NULL;
    sqlite3_stmt *s = NULL;
    struct ro ro;
    uint32_t queued = 0;
    int own = 0, r;

    p.total = (uint32_t)(n > KF_ROLLOUT_TARGETS_MAX ? KF_ROLLOUT_TARGETS_MAX + 1 : n);
    if (kf_rollout_plan_check(&p) < 0 || req->kind == NULL || !kf_cmd_kind_ok(req->kind) ||
        req->nargs > KF_CMD_ARGS_MAX || !kf__store_text_ok(req->by, KF_ACTOR_MAX) ||
        !kf__store_text_ok(req->reason, KF_REASON_MAX) || req->expires_ms <= req->now_ms ||
        req->expires_ms - req->now_ms > KF_CMD_LIFE_MAX_MS) {
        kf__store_seterr(st,
                         "rollout: 1..%d targets, a canary by count or share, thresholds,"
                         " kind, who, why and expiry within bounds",
                         KF_ROLLOUT_TARGETS_MAX);
        return -EINVAL;
    }
    tj = json_array();
    aj = json_array();
    for (size_t i = 0; tj != NULL && i < n; i++)
        json_array_append_new(tj, json_string(targets[i]));
    for (uint32_t i = 0; aj != NULL && i < req->nargs; i++)
        json_array_append_new(aj, json_string(req->args[i]));
    if (tj == NULL || aj == NULL || (ttext = json_dumps(tj, JSON_COMPACT)) == NULL ||
        (atext = json_dumps(aj, JSON_COMPACT)) == NULL) {
        r = -ENOMEM;
        goto out_free;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        goto out_free;
    r = kf__store_prep(st,
                       "INSERT INTO rollouts(kind, args, status, targets, total, canary_n,"
                       " canary_bp, halt_failures, halt_rate_bp, wave, waves, life_ms, by,"
                       " reason, created_ms, updated_ms) VALUES (?1, ?2, 'running', ?3, ?4, ?5,"
                       " ?6, ?7, ?8, 1, ?9, ?10, ?11, ?12, ?13, ?13)",
                       &s);
    if (r == 0) {
        sqlite3_bind_text(s, 1, req->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, atext, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, ttext, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, p.total);
        sqlite3_bind_int64(s, 5, p.canary_n);
        sqlite3_bind_int64(s, 6, p.canary_bp);
        sqlite3_bind_int64(s, 7, p.halt_failures);
        sqlite3_bind_int64(s, 8, p.halt_rate_bp);
        sqlite3_bind_int64(s, 9, kf_rollout_waves(&p));
        sqlite3_bind_int64(s, 10, req->expires_ms - req->now_ms);
        sqlite3_bind_text(s, 11, req->by, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 12, req->reason, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 13, req->now_ms);
        r = kf__store_step_done(st, s, "rollout");
    }
    if (r == 0) {
        int64_t id = sqlite3_last_insert_rowid(kf__store_db(st));

        r = ro_audit(st, req->now_ms, req->by, "rollout.start", id,
                     json_pack("{s:s, s:O, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "kind", req->kind,
                               "args", aj, "targets", (json_int_t)p.total, "canary",
                               (json_int_t)kf_rollout_canary(&p), "canary_bp",
                               (json_int_t)p.canary_bp, "halt_failures",
                               (json_int_t)p.halt_failures, "halt_rate_bp",
                               (json_int_t)p.halt_rate_bp, "life_ms",
                               (json_int_t)(req->expires_ms - req->now_ms), "reason", req->reason),
                     server_sk);
        if (r == 0 && (r = ro_load(st, id, &ro)) == 0) {
            r = ro_queue_wave(st, &ro, 1, req->now_ms, req->by, req->reason, server_sk, &queued);
            ro_free(&ro);
        }
        if (r == 0)
            *ret_id = id;
    }
    r = kf__store_txn_leave(st, own, r);
out_free:
    json_decref(tj);
    json_decref(aj);
    free(ttext);
    free(atext);
    return r;
}

/* ---- halt, resume, cancel ---- */

static int ro_halt(struct kf_store *st, const struct ro *ro, int64_t now_ms, const char *by,
                   const char *reason, json_t *figures, const uint8_t sk[64])
{
    uint32_t cancelled = 0;
    int r = ro_set(st, ro->id, "halted", ro->wave, -1, now_ms, reason);

    if (r == 0)
        r = ro_cancel_queued(st, ro->id, now_ms, HALTED_DETAIL, &cancelled);
    if (r == 0) {
        if (figures == NULL)
            figures = json_object();
        json_object_set_new(figures, "wave", json_integer(ro->wave));
        json_object_set_new(figures, "cancelled", json_integer(cancelled));
        json_object_set_new(figures, "reason", json_string(reason));
        r = ro_audit(st, now_ms, by, "rollout.halt", ro->id, figures, sk);
        figures = NULL;
    }
    json_decref(figures);
    return r;
}

/* Load id and check its status is one of want (a space-separated list). */
static int ro_load_in(struct kf_store *st, int64_t id, const char *want, const char *verb,
                      struct ro *ro)
{
    int r = ro_load(st, id, ro);

    if (r < 0)
        return r;
    if (strstr(want, ro->status) == NULL) {
        kf__store_seterr(st, "rollout R-%lld: %s, cannot %s it", (long long)id, ro->status, verb);
        ro_free(ro);
        return -EALREADY;
    }
    return 0;
}

static int who_why_ok(struct kf_store *st, const char *by, const char *reason)
{
    if (!kf__store_text_ok(by, KF_ACTOR_MAX) || !kf__store_text_ok(reason, KF_REASON_MAX)) {
        kf__store_seterr(st, "rollout: who or why out of bounds");
        return -EINVAL;
    }
    return 0;
}

int kf_store_rollout_halt(struct kf_store *st, int64_t id, int64_t now_ms, const char *by,
                          const char *reason, const uint8_t server_sk[64])
{
    struct ro ro;
    int own = 0, r;

    if ((r = who_why_ok(st, by, reason)) < 0 || (r = kf__store_txn_enter(st, &own)) < 0)
        return r;
    r = ro_load_in(st, id, "running", "halt", &ro);
    if (r == 0) {
        r = ro_halt(st, &ro, now_ms, by, reason, NULL, server_sk);
        ro_free(&ro);
    }
    return kf__store_txn_leave(st, own, r);
}

int kf_store_rollout_resume(struct kf_store *st, int64_t id, int64_t now_ms, const char *by,
                            const char *reason, const uint8_t server_sk[64])
{
    sqlite3_stmt *s = NULL;
    char **devs = NULL;
    size_t n = 0, cap = 0;
    uint32_t fail = 0, queued = 0, open = 0;
    struct ro ro;
    int own = 0, r, rc, loaded = 0;

    if ((r = who_why_ok(st, by, reason)) < 0 || (r = kf__store_txn_enter(st, &own)) < 0)
        return r;
    r = ro_load_in(st, id, "halted", "resume", &ro);
    loaded = r == 0;
    if (r == 0)
        r = ro_counts(st, id, ro.wave, &fail, &queued, &open);
    /* The commands the halt cancelled before they were sent: queued again. */
    if (r == 0)
        r = kf__store_prep(st,
                           "SELECT device_id FROM commands WHERE rollout = ?1 AND wave = ?2"
                           " AND status = 'cancelled' AND detail = '" HALTED_DETAIL "'"
                           " ORDER BY device_id",
                           &s);
    if (r == 0) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, ro.wave);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if ((r = kf__store_grow((void **)&devs, &cap, n, sizeof(*devs))) < 0 ||
                (devs[n] = strdup(kf__store_col_text(s, 0))) == NULL) {
                r = r < 0 ? r : -ENOMEM;
                break;
            }
            n++;
        }
        if (r == 0 && rc != SQLITE_DONE)
            r = kf__store_sql_fail(st, rc, "rollout resume");
        sqlite3_finalize(s);
    }
    if (r == 0 && n > 0)
        r = kf__store_prep(st,
                           "UPDATE commands SET detail = '" REQUEUED_DETAIL "' WHERE rollout = ?1"
                           " AND status = 'cancelled' AND detail = '" HALTED_DETAIL "'",
                           &s);
    if (r == 0 && n > 0) {
        sqlite3_bind_int64(s, 1, id);
        r = kf__store_step_done(st, s, "rollout resume");
    }
    if (r == 0)
        r = ro_queue(st, &ro, ro.wave, (const char *const *)devs, n, now_ms, by, reason, server_sk);
    if (r == 0)
        r = ro_set(st, id, "running", ro.wave, fail, now_ms, reason);
    if (r == 0)
        r = ro_audit(st, now_ms, by, "rollout.resume", id,
                     json_pack("{s:I, s:I, s:I, s:s}", "wave", (json_int_t)ro.wave, "requeued",
                               (json_int_t)n, "failures_so_far", (json_int_t)fail, "reason",
                               reason),
                     server_sk);
    kf_store_cmd_targets_free(devs, n);
    if (loaded)
        ro_free(&ro);
    return kf__store_txn_leave(st, own, r);
}

int kf_store_rollout_cancel(struct kf_store *st, int64_t id, int64_t now_ms, const char *by,
                            const char *reason, const uint8_t server_sk[64])
{
    uint32_t cancelled = 0;
    struct ro ro;
    int own = 0, r;

    if ((r = who_why_ok(st, by, reason)) < 0 || (r = kf__store_txn_enter(st, &own)) < 0)
        return r;
    r = ro_load_in(st, id, "running halted", "cancel", &ro);
    if (r == 0) {
        r = ro_set(st, id, "cancelled", ro.wave, -1, now_ms, reason);
        if (r == 0)
            r = ro_cancel_queued(st, id, now_ms, "rollout cancelled", &cancelled);
        if (r == 0)
            r = ro_audit(st, now_ms, by, "rollout.cancel", id,
                         json_pack("{s:I, s:I, s:s}", "wave", (json_int_t)ro.wave, "cancelled",
                                   (json_int_t)cancelled, "reason", reason),
                         server_sk);
        ro_free(&ro);
    }
    return kf__store_txn_leave(st, own, r);
}

/* ---- kioskd's tick ---- */

static int ro_move(struct kf_store *st, int64_t id, int64_t now_ms, const uint8_t sk[64],
                   uint32_t *moves)
{
    uint32_t fail, queued, open, n = 0;
    char why[KF_REASON_MAX + 1];
    struct ro ro;
    int r = ro_load(st, id, &ro);

    if (r < 0)
        return r;
    r = ro_counts(st, id, ro.wave, &fail, &queued, &open);
    if (r < 0)
        goto out;
    if (fail >= ro.fail_base && kf_rollout_should_halt(&ro.plan, fail - ro.fail_base, queued)) {
        snprintf(why, sizeof(why), "%u failures of %u commands queued passed the threshold (%s %d)",
                 fail - ro.fail_base, queued,
                 ro.plan.halt_failures >= 0  ? "failures over"
                 : ro.plan.halt_rate_bp >= 0 ? "failure rate over, in basis points,"
                                             : "any failure: none given, over",
                 ro.plan.halt_failures >= 0  ? ro.plan.halt_failures
                 : ro.plan.halt_rate_bp >= 0 ? ro.plan.halt_rate_bp
                                             : 0);
        r = ro_halt(st, &ro, now_ms, "kioskd", why,
                    json_pack("{s:I, s:I, s:I, s:I}", "failures", (json_int_t)(fail - ro.fail_base),
                              "queued", (json_int_t)queued, "halt_failures",
                              (json_int_t)ro.plan.halt_failures, "halt_rate_bp",
                              (json_int_t)ro.plan.halt_rate_bp),
                    sk);
        (*moves)++;
        goto out;
    }
    if (open > 0)
        goto out; /* the wave is still under way */
    if (ro.wave < ro.waves) {
        char full[2 * KF_REASON_MAX];

        /* The operator's reason after the figures, cut on a character to fit. */
        snprintf(full, sizeof(full), "wave %u ended with %u failures of %u queued: wave %u (%s)",
                 ro.wave, fail - ro.fail_base, queued, ro.wave + 1, ro.reason);
        kf_inv_text_copy(why, sizeof(why), full);
        r = ro_set(st, id, "running", ro.wave + 1, -1, now_ms, NULL);
        if (r == 0)
            r = ro_queue_wave(st, &ro, ro.wave + 1, now_ms, "kioskd", why, sk, &n);
        if (r == 0)
            r = ro_audit(st, now_ms, "kioskd", "rollout.advance", id,
                         json_pack("{s:I, s:I, s:I, s:I, s:s}", "wave", (json_int_t)ro.wave + 1,
                                   "queued_now", (json_int_t)n, "failures",
                                   (json_int_t)(fail - ro.fail_base), "queued_before",
                                   (json_int_t)queued, "reason", why),
                         sk);
    } else {
        snprintf(why, sizeof(why), "every wave ended: %u failures of %u commands", fail, queued);
        r = ro_set(st, id, "done", ro.wave, -1, now_ms, why);
        if (r == 0)
            r = ro_audit(st, now_ms, "kioskd", "rollout.done", id,
                         json_pack("{s:I, s:I, s:s}", "failures", (json_int_t)fail, "queued",
                                   (json_int_t)queued, "reason", why),
                         sk);
    }
    (*moves)++;
out:
    ro_free(&ro);
    return r;
}

int kf_store_rollout_tick(struct kf_store *st, int64_t now_ms, const uint8_t server_sk[64],
                          uint32_t *ret_moves)
{
    sqlite3_stmt *s = NULL;
    int64_t ids[64];
    size_t n = 0;
    uint32_t moves = 0;
    int own = 0, r, rc;

    *ret_moves = 0;
    /* Cheap when nothing runs: one read of a partial index, no write transaction. */
    r = kf__store_prep(st, "SELECT id FROM rollouts WHERE status = 'running' ORDER BY id LIMIT 64",
                       &s);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < 64)
        ids[n++] = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return kf__store_sql_fail(st, rc, "rollouts running");
    if (n == 0)
        return 0;
    r = kf__store_txn_enter(st, &own);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = ro_move(st, ids[i], now_ms, server_sk, &moves);
    r = kf__store_txn_leave(st, own, r);
    if (r == 0)
        *ret_moves = moves;
    return r;
}

/* ---- tables ---- */

#define RO_COUNTS                                                                                  \
    " (SELECT count(*) FROM commands c WHERE c.rollout = r.id AND c.status IN ('queued',"          \
    " 'sent', 'received')) AS open,"                                                               \
    " (SELECT count(*) FROM commands c WHERE c.rollout = r.id AND c.status = 'done') AS done,"     \
    " (SELECT count(*) FROM commands c WHERE c.rollout = r.id AND c.status IN ('failed',"          \
    " 'refused', 'expired')) AS failures"

int kf_store_rollout_list(struct kf_store *st, const char *status, struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {{status, 0, status == NULL}};

    return kf__store_query_run(st, "rollouts", NULL, "xxxxiiiiiiittxx",
                               "SELECT 'R-' || r.id AS id, r.kind, r.args, r.status, r.total,"
                               " r.wave, r.waves," RO_COUNTS ", r.canary_n + 0 AS canary,"
                               " r.created_ms AS created, r.updated_ms AS updated, r.by,"
                               " r.reason FROM rollouts r WHERE (?1 IS NULL OR r.status = ?1)"
                               " ORDER BY r.id DESC",
                               p, 1, ret);
}

int kf_store_rollout_show(struct kf_store *st, int64_t id, struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {{NULL, id, 0}};
    int r = kf__store_query_run(
        st, "rollout", NULL, "xxxxiiiiiiiiiiiittxxxx",
        "SELECT 'R-' || r.id AS id, r.kind, r.args, r.status, r.total, r.wave, r.waves," RO_COUNTS
        ", r.canary_n AS canary_n, r.canary_bp AS canary_bp, r.halt_failures, r.halt_rate_bp,"
        " r.fail_base AS failures_before_resume, r.life_ms / 1000 AS life_s,"
        " r.created_ms AS created, r.updated_ms AS updated, r.by, r.reason, r.note, r.targets"
        " FROM rollouts r WHERE r.id = ?1",
        p, 1, ret);

    if (r == 0) {
        (*ret)->record = 1;
        if ((*ret)->nrows == 0) {
            kf_store_query_table_free(*ret);
            *ret = NULL; /* callers free what they hold on any error */
            kf__store_seterr(st, "rollout R-%lld: no such rollout", (long long)id);
            return -ENOENT;
        }
    }
    return r;
}

int kf_store_rollout_waves(struct kf_store *st, int64_t id, struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {{NULL, id, 0}};

    return kf__store_query_run(
        st, "rollout_waves", NULL, "iiiiiiii",
        "SELECT wave, count(DISTINCT device_id) AS terminals,"
        " count(*) FILTER (WHERE status = 'queued') AS queued,"
        " count(*) FILTER (WHERE status = 'sent') AS sent,"
        " count(*) FILTER (WHERE status = 'received') AS received,"
        " count(*) FILTER (WHERE status = 'done') AS done,"
        " count(*) FILTER (WHERE status IN ('failed', 'refused', 'expired')) AS failures,"
        " count(*) FILTER (WHERE status = 'cancelled') AS cancelled"
        " FROM commands WHERE rollout = ?1 GROUP BY wave ORDER BY wave",
        p, 1, ret);
}
