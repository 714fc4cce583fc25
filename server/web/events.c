/* web/events.c: GET /api/v1/events, Server-Sent Events (docs/WEB.md "Events"). Each stream
 * is polled once a second on the thread pool: a call like any other (identity checked
 * against the store again, role, the caller's scoped connection) takes a snapshot of the
 * terminals' states and the open incidents the caller may see; the loop compares it with the
 * stream's last one and sends an event per difference:
 *   event: fleet     data: {"terminal","status","since"}
 *   event: incident  data: {"id","state","terminal"}   (state "gone": no longer open)
 * The first snapshot is the baseline: a client loads the lists, then follows the stream.
 * At most [limits] sse_max streams; a comment every 15 s keeps proxies from closing it; a
 * user disabled or changed ends the stream at the next poll. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/log.h>
#include <kf/time.h>

#include "views/names.h"
#include "views/outage.h"
#include "views/qjson.h"
#include "views/sla_tables.h"
#include "web/server_int.h"

#define KEEPALIVE_MS 15000

struct kf_web_sse {
    h2o_generator_t gen; /* first: h2o hands it back */
    struct kf_web_server *s;
    h2o_req_t *req;
    struct kf_web_sse **guard; /* in the request's pool, until the stream starts */
    struct kf_web_call tmpl;   /* who, scope: copied into each poll */
    struct kf_web_sse *next;
    json_t *prev;
    char *inflight, *pending;
    size_t pending_len;
    int started, sending, closed, finishing, polling;
    int64_t last_sent_ms, seq;
};

static const struct kf_web_route *events_route(void)
{
    for (size_t i = 0; i < kf_web_nroutes; i++)
        if (kf_web_routes[i].flags & KF_WEB_F_SSE)
            return &kf_web_routes[i];
    return NULL;
}

/* ---- The snapshot (pool thread) ------------------------------------------------------------ */

static void snapshot(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_names *names = NULL;
    struct kf_qreport *rep = NULL;
    struct kf_qtable *q = NULL;
    struct kf_view_outage_filter flat = {.flat = 1};
    json_t *o = json_object();
    char err[256], key[96], val[160];
    int r;

    r = kf_view_names_load(st, &names);
    if (r == 0)
        r = kf_view_sla_tables_state(st, names, NULL, &rep, err, sizeof(err));
    if (r == 0)
        r = kf__web_queue_table(c, st, names, &flat, &q);
    kf_view_names_free(names);
    if (r < 0 || !o) {
        kf_store_query_report_free(rep);
        kf_store_query_table_free(q);
        json_decref(o);
        kf_web_problem(c, 500, "events: the store could not be read");
        return;
    }
    {
        struct kf_qtable *t = rep->tables[0];
        int cs = kf_store_query_table_col(t, "status"), ci = kf_store_query_table_col(t, "since");

        for (size_t i = 0; i < t->nrows; i++) {
            const char *since = kf_store_query_table_cell(t, i, (size_t)ci);

            snprintf(key, sizeof(key), "f%s", kf_store_query_table_cell(t, i, 0));
            snprintf(val, sizeof(val), "%s|%s", kf_store_query_table_cell(t, i, (size_t)cs),
                     since ? since : "");
            json_object_set_new(o, key, json_string(val));
        }
    }
    {
        int cs = kf_store_query_table_col(q, "state"), ct = kf_store_query_table_col(q, "terminal");

        for (size_t i = 0; i < q->nrows; i++) {
            snprintf(key, sizeof(key), "i%s", kf_store_query_table_cell(q, i, 0));
            snprintf(val, sizeof(val), "%s|%s", kf_store_query_table_cell(q, i, (size_t)cs),
                     kf_store_query_table_cell(q, i, (size_t)ct));
            json_object_set_new(o, key, json_string(val));
        }
    }
    kf_store_query_report_free(rep);
    kf_store_query_table_free(q);
    kf_web_reply_json(c, 200, o);
}

/* ---- Streams (loop) ------------------------------------------------------------------------ */

static void sse_free(struct kf_web_sse *e)
{
    struct kf_web_server *s = e->s;

    for (struct kf_web_sse **p = &s->sse; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    s->nsse--;
    json_decref(e->prev);
    free(e->inflight);
    free(e->pending);
    free(e);
}

static void flush(struct kf_web_sse *e)
{
    h2o_iovec_t buf;

    if (!e->started || e->sending || e->closed || e->req == NULL)
        return;
    if (!e->pending && !e->finishing)
        return;
    free(e->inflight);
    e->inflight = e->pending;
    buf = h2o_iovec_init(e->pending ? e->pending : "", e->pending ? e->pending_len : 0);
    e->pending = NULL;
    e->pending_len = 0;
    e->sending = 1;
    e->last_sent_ms = kf_now_ms();
    if (e->finishing) {
        h2o_req_t *req = e->req;

        e->req = NULL;
        e->closed = 1;
        req->http1_is_persistent = 0; /* stopping: the connection ends with the stream */
        h2o_send(req, &buf, buf.len ? 1 : 0, H2O_SEND_STATE_FINAL);
        if (!e->polling)
            sse_free(e);
        return;
    }
    h2o_send(e->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void append(struct kf_web_sse *e, const char *text)
{
    size_t n = strlen(text);
    char *p = realloc(e->pending, e->pending_len + n + 1);

    if (!p)
        return;
    memcpy(p + e->pending_len, text, n + 1);
    e->pending = p;
    e->pending_len += n;
}

static void on_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    struct kf_web_sse *e = (struct kf_web_sse *)g;

    (void)req;
    e->sending = 0;
    free(e->inflight);
    e->inflight = NULL;
    flush(e);
}

static void on_stop(h2o_generator_t *g, h2o_req_t *req)
{
    struct kf_web_sse *e = (struct kf_web_sse *)g;

    (void)req;
    e->closed = 1;
    e->req = NULL;
    if (!e->polling)
        sse_free(e);
}

static void on_guard(void *p)
{
    struct kf_web_sse **g = p;

    if (*g) {
        (*g)->req = NULL;
        (*g)->guard = NULL;
        (*g)->closed = 1;
    }
}

/* The events between two snapshots. */
static void diff(struct kf_web_sse *e, json_t *cur)
{
    const char *key;
    json_t *v;
    char line[512];

    json_object_foreach(cur, key, v)
    {
        const char *now = json_string_value(v);
        const char *was = json_string_value(json_object_get(e->prev, key));
        const char *bar = strchr(now, '|');
        json_t *d;
        char *text;

        if (was && strcmp(was, now) == 0)
            continue;
        if (key[0] == 'f')
            d = json_pack("{s:s, s:s%, s:s?}", "terminal", key + 1, "status", now,
                          (size_t)(bar - now), "since", bar[1] ? bar + 1 : NULL);
        else
            d = json_pack("{s:I, s:s%, s:s}", "id", (json_int_t)strtoll(key + 1, NULL, 10), "state",
                          now, (size_t)(bar - now), "terminal", bar + 1);
        text = d ? json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(d);
        if (!text)
            continue;
        if (key[0] == 'f') {
            /* since is ms: the same text kioskctl's JSON would give */
            json_t *o = json_loads(text, 0, NULL);
            const char *ms = json_string_value(json_object_get(o, "since"));
            char when[40];

            if (ms) {
                json_object_set_new(
                    o, "since",
                    json_string(kf_view_qjson_time(strtoll(ms, NULL, 10), 1, when, sizeof(when))));
                free(text);
                text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            }
            json_decref(o);
            if (!text)
                continue;
        }
        snprintf(line, sizeof(line), "id: %lld\nevent: %s\ndata: %s\n\n", (long long)++e->seq,
                 key[0] == 'f' ? "fleet" : "incident", text);
        append(e, line);
        free(text);
    }
    json_object_foreach(e->prev, key, v)
    {
        if (key[0] != 'i' || json_object_get(cur, key))
            continue;
        snprintf(line, sizeof(line),
                 "id: %lld\nevent: incident\ndata: {\"id\":%lld,\"state\":\"gone\"}\n\n",
                 (long long)++e->seq, (long long)strtoll(key + 1, NULL, 10));
        append(e, line);
    }
}

static void poll_after(uv_work_t *w, int status);

static void poll_work(uv_work_t *w)
{
    kf_web_call_run(w->data);
}

static int poll_queue(struct kf_web_sse *e)
{
    static struct kf_web_route route;
    struct kf_web_call *c = calloc(1, sizeof(*c));
    const struct kf_web_route *r = events_route();

    if (!c || !r) {
        free(c);
        return -ENOMEM;
    }
    route = *r;
    route.fn = snapshot;
    route.params = "cursor";
    *c = e->tmpl;
    c->route = &route;
    c->nparams = 0;
    c->body = NULL;
    c->out = NULL;
    c->now_ms = kf_now_ms();
    c->work.data = c;
    c->req = e; /* the stream, for poll_after */
    if (uv_queue_work(e->s->loop, &c->work, poll_work, poll_after) < 0) {
        free(c);
        return -EAGAIN;
    }
    e->polling = 1;
    e->s->jobs++;
    return 0;
}

static void poll_after(uv_work_t *w, int status)
{
    struct kf_web_call *c = w->data;
    struct kf_web_sse *e = c->req;
    struct kf_web_server *s = e->s;
    json_t *cur;

    (void)status;
    s->jobs--;
    e->polling = 0;
    c->req = NULL;
    if (e->closed && !e->started) {
        /* the client left before the stream began */
        kf_web_call_free(c);
        sse_free(e);
        return;
    }
    if (e->closed) {
        kf_web_call_free(c);
        if (!e->req)
            sse_free(e);
        return;
    }
    if (c->status != 200) {
        if (!e->started) { /* refused: an ordinary answer */
            h2o_req_t *req = e->req;

            *e->guard = NULL;
            e->guard = NULL;
            c->req = req;
            c->guard = NULL;
            c->route = events_route();
            c->route_ix = (unsigned)(c->route - kf_web_routes);
            kf__web_answer(s, c);
            kf_web_call_free(c);
            sse_free(e);
            return;
        }
        e->finishing = 1; /* the user is disabled or changed */
        kf_web_call_free(c);
        flush(e);
        return;
    }
    cur = json_loadb(c->out, c->out_len, 0, NULL);
    if (!e->started) {
        h2o_req_t *req = e->req;

        *e->guard = NULL;
        e->guard = NULL;
        req->res.status = 200;
        req->res.reason = "OK";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/event-stream; charset=utf-8"));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("no-store"));
        e->gen.proceed = on_proceed;
        e->gen.stop = on_stop;
        h2o_start_response(req, &e->gen);
        e->started = 1;
        kf__web_metrics_count(s, (unsigned)(events_route() - kf_web_routes), 200,
                              (uint64_t)kf_mono_us() - e->tmpl.started_us);
        kf_info("events: %s from %s: stream open", c->user, e->tmpl.peer);
        append(e, "retry: 3000\n: kiosk-web events\n\n");
    } else if (cur) {
        diff(e, cur);
    }
    if (cur) {
        json_decref(e->prev);
        e->prev = cur;
    }
    if (!e->pending && kf_now_ms() - e->last_sent_ms >= KEEPALIVE_MS)
        append(e, ": keepalive\n\n");
    kf_web_call_free(c);
    flush(e);
}

static void on_tick(uv_timer_t *t)
{
    kf__web_sse_tick(t->data);
}

int kf__web_sse_start(struct kf_web_server *s, h2o_req_t *req, struct kf_web_call *c)
{
    struct kf_web_sse *e;
    struct kf_web_sse **g;

    if (s->nsse >= s->cfg.sse_max) {
        c->retry_after = 5;
        kf_web_problem(c, 503, "too many event streams (%u)", s->cfg.sse_max);
        c->req = req;
        kf__web_answer(s, c);
        kf_web_call_free(c);
        return 0;
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        kf_web_problem(c, 503, "out of memory");
        c->req = req;
        kf__web_answer(s, c);
        kf_web_call_free(c);
        return 0;
    }
    e->s = s;
    e->req = req;
    e->tmpl = *c;
    /* the template owns nothing */
    memset(e->tmpl.params, 0, sizeof(e->tmpl.params));
    e->tmpl.nparams = 0;
    e->tmpl.body = NULL;
    e->tmpl.out = NULL;
    g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), on_guard);
    *g = e;
    e->guard = g;
    e->next = s->sse;
    s->sse = e;
    s->nsse++;
    e->last_sent_ms = kf_now_ms();
    kf_web_call_free(c);
    if (!uv_is_active((uv_handle_t *)&s->tick))
        uv_timer_start(&s->tick, on_tick, 1000, 1000);
    if (poll_queue(e) < 0) {
        e->closed = 1;
        *g = NULL;
        h2o_send_error_503(req, "Service Unavailable", "busy", 0);
        e->req = NULL;
        sse_free(e);
    }
    return 0;
}

void kf__web_sse_tick(struct kf_web_server *s)
{
    for (struct kf_web_sse *e = s->sse; e; e = e->next)
        if (e->started && !e->polling && !e->closed && !e->finishing && s->jobs < s->cfg.jobs_max)
            poll_queue(e);
    if (!s->sse)
        uv_timer_stop(&s->tick);
}

void kf__web_sse_stop_all(struct kf_web_server *s)
{
    struct kf_web_sse *e = s->sse, *next;

    for (; e; e = next) {
        next = e->next;
        if (e->started && !e->closed) {
            e->finishing = 1;
            flush(e);
        }
    }
}
