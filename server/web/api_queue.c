/* web/api_queue.c: the technicians' queue (docs/openapi.yaml): incidents most urgent first
 * with mass outages folded (views/outage.h, the table kioskctl incidents prints), history,
 * outages, and the actions kioskd applies, queued on the store's action path exactly as
 * kioskctl ack|onsite|resolve|close|note|attribute|assign do (one, several, or an outage's
 * children: all or none). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/log.h>

#include "rules/incident.h"
#include "store/sla.h"
#include "views/names.h"
#include "views/outage.h"
#include "views/sla_tables.h"
#include "web/web.h"

int kf__web_queue_table(struct kf_web_call *c, struct kf_store *st,
                        const struct kf_view_names *names, const struct kf_view_outage_filter *f,
                        struct kf_qtable **ret)
{
    struct kf_view_outage_queue *v = NULL;
    char err[256] = "";
    int r = kf_view_outage_queue(st, c->now_ms, &v, err, sizeof(err));

    if (r == 0) {
        r = kf_view_outage_queue_table(v, names, f, ret);
        if (r < 0)
            snprintf(err, sizeof(err), "out of memory");
    }
    kf_view_outage_queue_free(v);
    if (r < 0)
        kf_web_problem(c, 500, "incidents: %s", err);
    return r;
}

/* A 0/1 parameter; -1 when malformed. */
static int flag(const char *v)
{
    if (!v || strcmp(v, "0") == 0)
        return 0;
    return strcmp(v, "1") == 0 ? 1 : -1;
}

/* GET /api/v1/incidents: the queue, most urgent first, mass outages folded into one row each
 * unless flat=1; assignee=NAME or unassigned=1 filter it. With status=all: every incident
 * that counts in the last `days` days (30 by default, at most 366), closed ones included. */
void kf_web_api_incidents(struct kf_web_call *c, struct kf_store *st)
{
    const char *status = kf_web_param(c, "status"), *days = kf_web_param(c, "days");
    struct kf_view_outage_filter f = {0};
    struct kf_view_names *names = NULL;
    struct kf_qtable *q = NULL;
    char err[256] = "", *end = NULL;
    long d = days ? strtol(days, &end, 10) : 30;

    f.flat = flag(kf_web_param(c, "flat"));
    f.unassigned = flag(kf_web_param(c, "unassigned"));
    f.assignee = kf_web_param(c, "assignee");
    if ((status && strcmp(status, "open") != 0 && strcmp(status, "all") != 0) ||
        (days && (*days < '0' || *days > '9' || *end || d < 1 || d > 366)) || f.flat < 0 ||
        f.unassigned < 0 || (f.assignee && (f.unassigned || f.assignee[0] == '\0'))) {
        kf_web_problem(c, 400,
                       "status is open or all; days is 1..366; flat and unassigned are 0 or 1; "
                       "assignee is a name, not with unassigned");
        return;
    }
    if (kf__web_load_names(c, st, &names) < 0)
        return;
    if (status && strcmp(status, "all") == 0) {
        int r = kf_view_sla_tables_history(st, names, NULL, c->now_ms - (int64_t)d * 86400000,
                                           c->now_ms + 1, &q, err, sizeof(err));
        if (r < 0)
            kf_web_problem(c, 500, "incidents: %s", err);
        else
            kf_web_reply_table(c, q);
    } else if (kf__web_queue_table(c, st, names, &f, &q) == 0) {
        kf_web_reply_table(c, q);
    }
    kf_view_names_free(names);
}

/* GET /api/v1/outages: the folded rows of the queue (an outage each). */
void kf_web_api_outages(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_outage_filter f = {0};
    struct kf_view_names *names = NULL;
    struct kf_qtable *q = NULL, *o = NULL;

    if (kf__web_load_names(c, st, &names) < 0)
        return;
    if (kf__web_queue_table(c, st, names, &f, &q) < 0) {
        kf_view_names_free(names);
        return;
    }
    kf_view_names_free(names);
    o = kf__web_table_where(q, "outages", "outage", NULL); /* the folded rows */
    kf_web_reply_table(c, o);
}

/* GET /api/v1/outages/{id}: {"outage": {...}, "children": [...]}. */
void kf_web_api_outage(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_outage_queue *v = NULL;
    struct kf_view_names *names = NULL;
    struct kf_qreport *rep = NULL;
    char err[256] = "";
    int r;

    if (kf__web_load_names(c, st, &names) < 0)
        return;
    r = kf_view_outage_queue(st, c->now_ms, &v, err, sizeof(err));
    if (r == 0)
        r = kf_view_outage_report(v, names, c->args[0], &rep, err, sizeof(err));
    kf_view_outage_queue_free(v);
    kf_view_names_free(names);
    if (r == -ENOENT)
        kf_web_problem(c, 404, "no outage %s now", c->args[0]);
    else if (r < 0)
        kf_web_problem(c, 500, "outage: %s", err);
    else
        kf_web_reply_report(c, rep);
}

/* ---- Actions ------------------------------------------------------------------------------ */

/* The action a body asks for: {"kind", "text", "to"}. 0, or a 400 answered. */
static int action_of(struct kf_web_call *c, json_t *j, struct kf_sla_action *a)
{
    static const struct {
        const char *name;
        int kind, text; /* text: 1 required, 0 optional, -1 none */
    } kinds[] = {{"ack", KF_EV_ACK, 0},         {"onsite", KF_EV_ON_SITE, -1},
                 {"resolve", KF_EV_RESOLVE, 1}, {"close", KF_EV_CLOSE, 0},
                 {"note", KF_EV_NOTE, 1},       {"attribute", KF_EV_ATTRIBUTE, 1},
                 {"assign", KF_EV_ASSIGN, 0}};
    const char *kind = json_string_value(json_object_get(j, "kind"));
    json_t *jt = json_object_get(j, "text"), *jto = json_object_get(j, "to");
    const char *text = jt ? json_string_value(jt) : "";
    const char *to = jto ? json_string_value(jto) : NULL;
    int k = -1, v;

    for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i].name) == 0)
            k = (int)i;
    if (k < 0 || !text || (jto && !to) || strlen(text) > KF_TEXT_MAX ||
        (kinds[k].text == 1 && text[0] == '\0') || (kinds[k].text == -1 && text[0] != '\0')) {
        kf_web_problem(c, 400,
                       "kind is ack, onsite, resolve, close, note, attribute or assign; resolve, "
                       "note and attribute need a text (at most %d bytes), onsite takes none",
                       KF_TEXT_MAX);
        return -1;
    }
    memset(a, 0, sizeof(*a));
    a->kind = (uint8_t)kinds[k].kind;
    snprintf(a->text, sizeof(a->text), "%s", text);
    if (a->kind == KF_EV_ATTRIBUTE) {
        if (!to || kf_incident_attr_parse(to, &v) < 0) {
            kf_web_problem(c, 400,
                           "attribute needs \"to\": company, bank_power, bank_network, "
                           "bank_consumables, bank_vandalism or force_majeure");
            return -1;
        }
        a->to = (uint8_t)v;
    } else if (a->kind == KF_EV_ASSIGN) {
        if (!to || strlen(to) > KF_WHO_MAX) {
            kf_web_problem(c, 400,
                           "assign needs \"to\": the technician (at most %d bytes), or "
                           "\"\" to clear",
                           KF_WHO_MAX);
            return -1;
        }
        snprintf(a->assignee, sizeof(a->assignee), "%s", to);
    } else if (jto) {
        kf_web_problem(c, 400, "\"to\" goes with attribute and assign only");
        return -1;
    }
    snprintf(a->who, sizeof(a->who), "%.31s", c->user);
    a->requested_ms = c->now_ms;
    return 0;
}

/* Queue the action a on each of n incidents, all or none; answer 202 with the ids. The
 * incidents must be ones the caller sees (its scoped connection). Takes ids. */
static void queue_actions(struct kf_web_call *c, struct kf_store *st, const struct kf_sla_action *a,
                          int64_t *ids, size_t n)
{
    struct kf_sla_action *acts = calloc(n ? n : 1, sizeof(*acts));
    int64_t *qids = calloc(n ? n : 1, sizeof(*qids));
    struct kf_incident inc;
    struct kf_store *w = NULL;
    json_t *out;
    int r = 0;

    if (!acts || !qids) {
        kf_web_problem(c, 500, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        r = kf_store_sla_incident(st, ids[i], &inc);
        if (r < 0) {
            if (r == -ENOENT)
                kf_web_problem(c, 404, "no incident %lld", (long long)ids[i]);
            else
                kf_web_reply_store_err(c, st, r, "incident");
            goto out;
        }
        acts[i] = *a;
        acts[i].incident = ids[i];
    }
    r = kf_web_pool_writer_get(kf_web_server_pool(c->srv), &w);
    if (r < 0) {
        kf_err("actions: cannot open the store for writing: %s", kf_strerror(r));
        kf_web_problem(c, 503, "the store cannot be written now");
        goto out;
    }
    /* At most KF_SLA_ACTIONS_BULK_MAX a call; an outage's may be more: in bulks of that
     * size inside one transaction, as kioskctl ack --outage does. */
    if (n <= KF_SLA_ACTIONS_BULK_MAX) {
        r = kf_store_sla_actions_add(w, acts, n, qids, NULL);
    } else {
        r = kf_store_begin(w);
        for (size_t off = 0; r == 0 && off < n; off += KF_SLA_ACTIONS_BULK_MAX) {
            size_t k = n - off < KF_SLA_ACTIONS_BULK_MAX ? n - off : KF_SLA_ACTIONS_BULK_MAX;

            r = kf_store_sla_actions_add(w, acts + off, k, qids + off, NULL);
        }
        if (r == 0)
            r = kf_store_end(w, 1);
        else
            kf_store_end(w, 0);
    }
    if (r < 0) {
        kf_web_reply_store_err(c, w, r, "actions");
        kf_web_pool_writer_put(kf_web_server_pool(c->srv));
        goto out;
    }
    kf_web_pool_writer_put(kf_web_server_pool(c->srv));
    out = json_array();
    for (size_t i = 0; out && i < n; i++)
        json_array_append_new(out, json_pack("{s:I, s:I}", "action", (json_int_t)qids[i],
                                             "incident", (json_int_t)ids[i]));
    kf_web_reply_json(c, 202,
                      json_pack("{s:s, s:o, s:s}", "kind", kf_incident_ev_name(a->kind), "actions",
                                out, "status", "queued"));
    kf_notice("actions: %s on %zu incident(s) from %lld by %s (%s)", kf_incident_ev_name(a->kind),
              n, n ? (long long)ids[0] : 0LL, c->user, c->peer);
out:
    free(acts);
    free(qids);
    free(ids);
}

static json_t *body_json(struct kf_web_call *c)
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

/* POST /api/v1/incidents/{id}/actions {"kind","text","to"}: one incident. */
void kf_web_api_incident_action(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_sla_action a;
    int64_t *ids = calloc(1, sizeof(*ids));
    json_t *j;

    if (!ids || kf__web_parse_id(c->args[0], &ids[0]) < 0) {
        free(ids);
        kf_web_problem(c, 400, "an incident id is a positive integer");
        return;
    }
    if (!(j = body_json(c)) || action_of(c, j, &a) < 0) {
        json_decref(j);
        free(ids);
        return;
    }
    json_decref(j);
    queue_actions(c, st, &a, ids, 1);
}

/* POST /api/v1/incidents/actions {"kind", "ids": [...], "text", "to"}: several at once. */
void kf_web_api_incidents_action(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_sla_action a;
    json_t *j, *jids, *v;
    int64_t *ids = NULL;
    size_t n, i;

    if (!(j = body_json(c)) || action_of(c, j, &a) < 0) {
        json_decref(j);
        return;
    }
    jids = json_object_get(j, "ids");
    n = json_array_size(jids);
    if (!json_is_array(jids) || n == 0 || n > KF_SLA_ACTIONS_BULK_MAX ||
        !(ids = calloc(n, sizeof(*ids)))) {
        json_decref(j);
        kf_web_problem(c, 400, "ids is an array of 1 to %d incident ids", KF_SLA_ACTIONS_BULK_MAX);
        return;
    }
    json_array_foreach(jids, i, v)
    {
        ids[i] = json_is_integer(v) ? json_integer_value(v) : 0;
        for (size_t k = 0; k < i && ids[i] > 0; k++)
            if (ids[k] == ids[i])
                ids[i] = 0;
        if (ids[i] <= 0) {
            json_decref(j);
            free(ids);
            kf_web_problem(c, 400, "ids[%zu] is not an incident id, or repeats one", i);
            return;
        }
    }
    json_decref(j);
    queue_actions(c, st, &a, ids, n);
}

/* POST /api/v1/outages/{id}/actions: the action on each of the outage's open incidents. */
void kf_web_api_outage_action(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_outage_queue *v = NULL;
    struct kf_sla_action a;
    int64_t *ids = NULL;
    size_t n = 0;
    char err[256] = "";
    json_t *j;
    int r;

    if (!(j = body_json(c)) || action_of(c, j, &a) < 0) {
        json_decref(j);
        return;
    }
    json_decref(j);
    r = kf_view_outage_queue(st, c->now_ms, &v, err, sizeof(err));
    if (r == 0)
        r = kf_view_outage_children(v, c->args[0], &ids, &n);
    kf_view_outage_queue_free(v);
    if (r == -ENOENT || (r == 0 && n == 0)) {
        free(ids);
        kf_web_problem(c, 404, "no outage %s now", c->args[0]);
        return;
    }
    if (r < 0) {
        kf_web_problem(c, 500, "outage: %s", err[0] ? err : kf_strerror(r));
        return;
    }
    queue_actions(c, st, &a, ids, n);
}
