/* web/api_cmd.c: commands, rollouts and the inventory (docs/openapi.yaml, docs/WEB.md
 * "Commands"): the lists kioskctl cmd list, rollout list|show and inventory print, and the
 * requests kioskd applies with its key (store/cmd_requests.h): a command to terminals (or a
 * dry run, answered here), a rollout, a rollout's halt or resume. The role rule
 * (kf_cmd_role_may) is checked here, before anything is queued, and again by kioskd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/log.h>

#include "store/artifacts.h"
#include "store/cmd_requests.h"
#include "store/inventory.h"
#include "store/rollouts.h"
#include "web/web.h"

#define CMD_LIST_MAX 10000 /* the newest commands a list holds; filters and pages within */

static json_t *body_object(struct kf_web_call *c)
{
    json_error_t je;
    json_t *j = c->body ? json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;

    if (!json_is_object(j)) {
        json_decref(j);
        kf_web_problem(c, 400, "the body is a JSON object");
        return NULL;
    }
    return j;
}

/* GET /api/v1/commands: the newest commands (device, status, rollout filter; paged). */
void kf_web_api_commands(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_qtable *t = NULL;
    int r = kf_store_cmd_page(st, NULL, NULL, 0, 0, CMD_LIST_MAX, 1, &t);

    if (r < 0)
        kf_web_reply_store_err(c, st, r, "commands");
    else
        kf_web_reply_table(c, t);
}

/* GET /api/v1/commands/{id}: one command, "C-42" or 42. */
void kf_web_api_command(struct kf_web_call *c, struct kf_store *st)
{
    const char *s = strncmp(c->args[0], "C-", 2) == 0 ? c->args[0] + 2 : c->args[0];
    struct kf_qtable *t = NULL;
    int64_t id;
    int r;

    if (kf__web_parse_id(s, &id) < 0) {
        kf_web_problem(c, 400, "a command id is C-N or N");
        return;
    }
    r = kf_store_cmd_show(st, id, &t);
    if (r == -ENOENT)
        kf_web_problem(c, 404, "no command C-%lld", (long long)id);
    else if (r < 0)
        kf_web_reply_store_err(c, st, r, "command");
    else
        kf_web_reply_table(c, t);
}

/* Queue body (checked) for kioskd; answer 202 with the request's id. */
static void queue_request(struct kf_web_call *c, json_t *body, const char *what)
{
    struct kf_store *w = NULL;
    char *text = json_dumps(body, JSON_COMPACT);
    int64_t id = 0;
    int r;

    if (text == NULL) {
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    r = kf_web_pool_writer_get(kf_web_server_pool(c->srv), &w);
    if (r < 0) {
        free(text);
        kf_err("commands: cannot open the store for writing: %s", kf_strerror(r));
        kf_web_problem(c, 503, "the store cannot be written now");
        return;
    }
    r = kf_store_cmd_request_add(w, c->user, c->scope.role, text, c->now_ms, &id);
    free(text);
    if (r < 0) {
        kf_web_reply_store_err(c, w, r, "command request");
        kf_web_pool_writer_put(kf_web_server_pool(c->srv));
        return;
    }
    kf_web_pool_writer_put(kf_web_server_pool(c->srv));
    kf_notice("commands: request %lld (%s) by %s (%s) queued for kioskd", (long long)id, what,
              c->user, c->peer);
    kf_web_reply_json(c, 202,
                      json_pack("{s:I, s:s, s:s}", "request", (json_int_t)id, "status", "queued",
                                "see", "/api/v1/command-requests/{request}"));
}

/* POST /api/v1/commands: a command to the terminals the targets select, a rollout with a
 * canary, or with dry_run the targets only (200, nothing queued). */
void kf_web_api_command_post(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_cmd_request_body *b;
    char why[256], **targets = NULL;
    size_t n = 0;
    json_t *j, *list;
    int r;

    if ((j = body_object(c)) == NULL)
        return;
    if (json_object_get(j, "op") != NULL) {
        json_decref(j);
        kf_web_problem(c, 400, "a rollout is halted or resumed at /api/v1/rollouts/{id}/...");
        return;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        json_decref(j);
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    r = kf_cmd_request_parse(j, c->scope.role, b, why, sizeof(why));
    if (r < 0) {
        kf_web_problem(c, r == -EPERM ? 403 : 400, "%s", why);
        goto out;
    }
    if (!b->dry_run) {
        queue_request(c, j, b->req.kind);
        goto out;
    }
    /* The dry run: the targets as the caller's connection sees them, nothing written. */
    r = kf_store_cmd_targets(st, &b->sel, &targets, &n);
    if (r < 0) {
        kf_web_reply_store_err(c, st, r, "targets");
        goto out;
    }
    list = json_array();
    for (size_t i = 0; list != NULL && i < n; i++)
        json_array_append_new(list, json_string(targets[i]));
    b->plan.total = (uint32_t)n;
    kf_web_reply_json(c, 200,
                      json_pack("{s:b, s:s, s:I, s:o, s:I}", "dry_run", 1, "kind", b->req.kind,
                                "count", (json_int_t)n, "targets", list, "canary",
                                (json_int_t)(b->is_rollout && n > 0 ? kf_rollout_canary(&b->plan)
                                                                    : (uint32_t)n)));
    kf_store_cmd_targets_free(targets, n);
out:
    free(b);
    json_decref(j);
}

/* GET /api/v1/command-requests/{id}: what kioskd made of a request. */
void kf_web_api_command_request(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_qtable *t = NULL;
    int64_t id;
    int r;

    if (kf__web_parse_id(c->args[0], &id) < 0) {
        kf_web_problem(c, 400, "a request id is a positive integer");
        return;
    }
    r = kf_store_cmd_request_show(st, id, &t);
    if (r == -ENOENT)
        kf_web_problem(c, 404, "no command request %lld", (long long)id);
    else if (r < 0)
        kf_web_reply_store_err(c, st, r, "command request");
    else
        kf_web_reply_table(c, t);
}

/* GET /api/v1/rollouts */
void kf_web_api_rollouts(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_qtable *t = NULL;
    int r = kf_store_rollout_list(st, NULL, &t);

    if (r < 0)
        kf_web_reply_store_err(c, st, r, "rollouts");
    else
        kf_web_reply_table(c, t);
}

static int rollout_id(struct kf_web_call *c, int64_t *ret)
{
    const char *s = strncmp(c->args[0], "R-", 2) == 0 ? c->args[0] + 2 : c->args[0];

    if (kf__web_parse_id(s, ret) < 0) {
        kf_web_problem(c, 400, "a rollout id is R-N or N");
        return -1;
    }
    return 0;
}

/* GET /api/v1/rollouts/{id}: {"rollout": {...}, "rollout_waves": [...]} */
void kf_web_api_rollout(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_qreport *rep = calloc(1, sizeof(*rep));
    struct kf_qtable *t = NULL, *w = NULL;
    int64_t id;
    int r;

    if (rep == NULL || rollout_id(c, &id) < 0) {
        if (rep == NULL)
            kf_web_problem(c, 500, "out of memory");
        free(rep);
        return;
    }
    r = kf_store_rollout_show(st, id, &t);
    if (r == 0)
        r = kf_store_rollout_waves(st, id, &w);
    if (r < 0) {
        kf_store_query_table_free(t);
        kf_store_query_report_free(rep);
        if (r == -ENOENT)
            kf_web_problem(c, 404, "no rollout R-%lld", (long long)id);
        else
            kf_web_reply_store_err(c, st, r, "rollout");
        return;
    }
    if (kf_store_query_report_add(rep, t) < 0 || kf_store_query_report_add(rep, w) < 0) {
        kf_store_query_report_free(rep);
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    kf_web_reply_report(c, rep);
}

/* POST /api/v1/rollouts/{id}/halt|resume {"reason"}: queued for kioskd (operator). */
static void rollout_move(struct kf_web_call *c, struct kf_store *st, const char *op,
                         const char *from)
{
    struct kf_qtable *t = NULL;
    json_t *j, *reason;
    int64_t id;
    int r, col;

    if (rollout_id(c, &id) < 0 || (j = body_object(c)) == NULL)
        return;
    reason = json_object_get(j, "reason");
    if (!json_is_string(reason) || json_string_length(reason) == 0 ||
        json_string_length(reason) > 256) {
        json_decref(j);
        kf_web_problem(c, 400, "reason: why, 1..256 bytes (the signed log keeps it)");
        return;
    }
    r = kf_store_rollout_show(st, id, &t);
    if (r < 0) {
        json_decref(j);
        if (r == -ENOENT)
            kf_web_problem(c, 404, "no rollout R-%lld", (long long)id);
        else
            kf_web_reply_store_err(c, st, r, "rollout");
        return;
    }
    col = kf_store_query_table_col(t, "status");
    if (col < 0 || strcmp(kf_store_query_table_cell(t, 0, (size_t)col), from) != 0) {
        kf_web_problem(c, 409, "rollout R-%lld is %s: only a %s one can be %s", (long long)id,
                       col < 0 ? "?" : kf_store_query_table_cell(t, 0, (size_t)col), from,
                       strcmp(op, "halt") == 0 ? "halted" : "resumed");
        kf_store_query_table_free(t);
        json_decref(j);
        return;
    }
    kf_store_query_table_free(t);
    json_object_set_new(j, "op", json_string(op));
    json_object_set_new(j, "rollout", json_integer(id));
    queue_request(c, j, op);
    json_decref(j);
}

void kf_web_api_rollout_halt(struct kf_web_call *c, struct kf_store *st)
{
    rollout_move(c, st, "halt", "running");
}

void kf_web_api_rollout_resume(struct kf_web_call *c, struct kf_store *st)
{
    rollout_move(c, st, "resume", "halted");
}

/* GET /api/v1/inventory?by=F,F&where=F=V;F=V: terminals counted by inventory fields. */
void kf_web_api_inventory(struct kf_web_call *c, struct kf_store *st)
{
    const char *byp = kf_web_param(c, "by"), *wherep = kf_web_param(c, "where");
    const char *by[KF_STORE_INV_BY_MAX], *wf[KF_STORE_INV_WHERE_MAX], *wv[KF_STORE_INV_WHERE_MAX];
    char bybuf[256] = "", wbuf[512] = "";
    size_t nby = 0, nw = 0;
    struct kf_qtable *t = NULL;
    char *p, *q;
    int r;

    if ((byp && strlen(byp) >= sizeof(bybuf)) || (wherep && strlen(wherep) >= sizeof(wbuf))) {
        kf_web_problem(c, 400, "by and where are too long");
        return;
    }
    snprintf(bybuf, sizeof(bybuf), "%s", byp ? byp : "");
    snprintf(wbuf, sizeof(wbuf), "%s", wherep ? wherep : "");
    for (p = bybuf; *p != '\0'; p = q) {
        if ((q = strchr(p, ',')) != NULL)
            *q++ = '\0';
        else
            q = p + strlen(p);
        if (*p == '\0')
            continue;
        if (nby == KF_STORE_INV_BY_MAX) {
            kf_web_problem(c, 400, "by: at most %d fields", KF_STORE_INV_BY_MAX);
            return;
        }
        by[nby++] = p;
    }
    for (p = wbuf; *p != '\0'; p = q) {
        char *eq;

        if ((q = strchr(p, ';')) != NULL)
            *q++ = '\0';
        else
            q = p + strlen(p);
        if (*p == '\0')
            continue;
        if (nw == KF_STORE_INV_WHERE_MAX || (eq = strchr(p, '=')) == NULL || eq == p) {
            kf_web_problem(c, 400, "where: FIELD=VALUE, at most %d joined by ';'",
                           KF_STORE_INV_WHERE_MAX);
            return;
        }
        *eq = '\0';
        wf[nw] = p;
        wv[nw++] = eq + 1;
    }
    r = kf_store_inv_group(st, by, nby, wf, wv, nw, &t);
    if (r == -EINVAL)
        kf_web_problem(c, 400, "%s", kf_store_errmsg(st));
    else if (r < 0)
        kf_web_reply_store_err(c, st, r, "inventory");
    else
        kf_web_reply_table(c, t);
}

/* GET /api/v1/artifacts: kioskctl artifact list (the operator's: what an update may send). */
void kf_web_api_artifacts(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_qtable *t = NULL;
    int r = kf_store_artifact_list(st, &t);

    if (r < 0)
        kf_web_reply_store_err(c, st, r, "artifacts");
    else
        kf_web_reply_table(c, t);
}
