/* slasvc_run.c: one run of the SLA service (slasvc.h), on the writer's thread: the engine
 * rebuilt from the store when needed, fed the facts and the queued actions, ticked, and
 * what it decided persisted in one transaction; the announcements wait in s->out for the
 * loop. Everything here touches only the work half of struct kf_slasvc and the store.
 */
#define _GNU_SOURCE
#include "kioskd/slasvc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/time.h>

#include "rules/usage.h"
#include "store/store.h"
#include "store/sla.h"

#define FACTS_BATCH 2000
#define FACTS_PER_RUN 20000 /* a backlog is worked off over several runs */
/* A bulk action (kioskctl ack ID..., ack --outage) queues up to KF_SLA_ACTIONS_BULK_MAX in one
 * transaction: one run applies them all, sealed together. */
#define ACTIONS_PER_RUN KF_SLA_ACTIONS_BULK_MAX
#define WINDOWS_SINCE_MS KF_USAGE_BEHIND_MS /* the oldest instant a fact can carry */

void kf__slasvc_notices_free(struct kf__notice *n)
{
    while (n != NULL) {
        struct kf__notice *next = n->next;
        free(n->log);
        free(n->json);
        free(n);
        n = next;
    }
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, ncap * elem);

    if (p == NULL)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int term_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_sla_terminal *)a)->asset_id,
                  ((const struct kf_sla_terminal *)b)->asset_id);
}

static struct kf_sla_terminal *term(struct kf_slasvc *s, const char *asset)
{
    struct kf_sla_terminal key;

    if (s->n_terms == 0) {
        return NULL; /* bsearch's base must not be NULL, even for zero elements */
    }
    snprintf(key.asset_id, sizeof(key.asset_id), "%s", asset);
    return bsearch(&key, s->terms, s->n_terms, sizeof(key), term_cmp);
}

/* Give the engine a terminal's calendar, terms and windows. */
static int term_apply(struct kf_slasvc *s, const struct kf_sla_terminal *t)
{
    struct kf_window w[KF_SLA_WINDOWS_MAX];
    size_t n = kf_store_sla_windows_for(s->wins, s->n_wins, t, w, KF_SLA_WINDOWS_MAX);
    int r = kf_sla_terminal_set(s->e, t->asset_id, &t->week, &t->terms);

    if (r == 0)
        r = kf_sla_windows_set(s->e, t->asset_id, w,
                               n < KF_SLA_WINDOWS_MAX ? n : KF_SLA_WINDOWS_MAX);
    return r;
}

/* A terminal registered after the engine was built: load it from the store. */
static struct kf_sla_terminal *term_load(struct kf_slasvc *s, struct kf_store *st,
                                         const char *asset)
{
    struct kf_sla_terminal *t = term(s, asset), *rows = NULL;
    size_t n = 0;

    if (t != NULL)
        return t;
    if (kf_store_sla_terminals(st, asset, &rows, &n) < 0 || n != 1 ||
        grow((void **)&s->terms, &s->cap_terms, s->n_terms, sizeof(*s->terms)) < 0 ||
        term_apply(s, &rows[0]) < 0) {
        free(rows);
        return NULL;
    }
    s->terms[s->n_terms++] = rows[0];
    free(rows);
    qsort(s->terms, s->n_terms, sizeof(*s->terms), term_cmp);
    return term(s, asset);
}

static int windows_load(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms)
{
    free(s->wins);
    s->wins = NULL;
    s->n_wins = 0;
    return kf_store_sla_windows(st, now_ms - WINDOWS_SINCE_MS, &s->wins, &s->n_wins);
}

static void on_event(void *ud, const struct kf_inc_event *ev, const struct kf_incident *inc)
{
    struct kf_slasvc *s = ud;

    /* On allocation failure the run cannot be persisted faithfully: rebuild instead. */
    if (grow((void **)&s->evs, &s->cap_evs, s->n_evs, sizeof(*s->evs)) < 0 ||
        grow((void **)&s->snaps, &s->cap_snaps, s->n_snaps, sizeof(*s->snaps)) < 0) {
        s->broken = 1;
        return;
    }
    if (kf_run_terms_touch(s->rt, inc->terminal) < 0) { /* the seal lists it */
        s->broken = 1;
        return;
    }
    memset(&s->evs[s->n_evs], 0, sizeof(s->evs[0]));
    s->evs[s->n_evs].ev = *ev;
    s->evs[s->n_evs].action = s->cur_action;
    s->n_evs++;
    s->snaps[s->n_snaps++] = *inc;
}

/* (Re)build the engine from the store. Work thread, or the main thread before it exists. */
int kf__slasvc_load(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms, char *err, size_t cap)
{
    struct kf_sla_config cfg;
    struct kf_sla_cursor cur;
    struct kf_incident *incs = NULL;
    struct kf_sla_state_row *states = NULL;
    size_t n_incs = 0, n_states = 0;
    int64_t max_id = 0;
    int r;

    kf_sla_free(s->e);
    s->e = NULL;
    free(s->terms);
    s->terms = NULL;
    s->n_terms = s->cap_terms = 0;
    kf_sla_config_defaults(&cfg);
    cfg.offline_grace_ms = s->grace_ms;
    cfg.reopen_window_ms = s->reopen_ms;
    r = kf_store_sla_cursor(st, &cur);
    if (r == 0)
        r = kf_store_sla_max_incident(st, &max_id);
    if (r == 0)
        r = windows_load(s, st, now_ms);
    if (r == 0)
        r = kf_store_sla_terminals(st, NULL, &s->terms, &s->n_terms);
    s->cap_terms = s->n_terms;
    if (r == 0) {
        cfg.next_id = max_id + 1;
        r = kf_sla_new(&cfg, s->hol, on_event, s, &s->e);
    }
    for (size_t i = 0; r == 0 && i < s->n_terms; i++)
        r = term_apply(s, &s->terms[i]);
    if (r == 0)
        r = kf_store_sla_incidents(st, KF_SLA_INC_LIVE, now_ms - s->reopen_ms, 0, &incs, &n_incs);
    for (size_t i = 0; r == 0 && i < n_incs; i++)
        if (term(s, incs[i].terminal) != NULL)
            r = kf_sla_restore_incident(s->e, &incs[i]);
    if (r == 0)
        r = kf_store_sla_states(st, &states, &n_states);
    for (size_t i = 0; r == 0 && i < n_states; i++)
        if (term(s, states[i].asset_id) != NULL)
            r = kf_sla_restore_state(s->e, states[i].asset_id, &states[i].st);
    if (r == 0) {
        s->fact_id = cur.fact_id;
        s->tick_ms = cur.tick_ms;
        s->windows_rev = cur.windows_rev;
        s->seal_windows = 1; /* a replay must know the windows this engine started with */
    } else {
        snprintf(err, cap, "sla: restoring the engine from the store: %s",
                 kf_store_errmsg(st)[0] ? kf_store_errmsg(st) : kf_strerror(r));
        kf_sla_free(s->e);
        s->e = NULL;
    }
    free(incs);
    free(states);
    return r;
}

static const char *notice_kind(int kind)
{
    switch (kind) {
    case KF_EV_OPEN:
        return "opened";
    case KF_EV_REOPEN:
        return "reopened";
    case KF_EV_RECOVER:
    case KF_EV_RESOLVE:
        return "resolved";
    case KF_EV_BREACH:
        return "breach";
    default:
        return NULL;
    }
}

static struct kf__notice *notice_new(struct kf_slasvc *s, const struct kf_inc_event *ev,
                                     const struct kf_incident *inc)
{
    const char *kind = notice_kind(ev->kind);
    const struct kf_sla_terminal *t = term(s, inc->terminal);
    const char *part = inc->periph ? kf_periph_name(inc->periph) : NULL;
    int64_t since = inc->spans[inc->n_spans ? inc->n_spans - 1 : 0].start_ms;
    char at[40], from[40], line[640];
    struct kf__notice *n;
    json_t *o;

    if (kind == NULL)
        return NULL;
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    kf_ms_format(ev->at_ms, at, sizeof(at));
    kf_ms_format(since, from, sizeof(from));
    o = json_pack("{s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, "
                  "s:s}",
                  "event", kind, "incident", (json_int_t)inc->id, "at", at, "at_ms",
                  (json_int_t)ev->at_ms, "terminal", inc->terminal, "device", t ? t->device_id : "",
                  "zone", t ? t->zone_id : "", "bank", t ? t->bank : "", "kind",
                  t && t->kind == 2 ? "itm" : "kiosk", "cause", inc->cause, "part",
                  part ? json_string(part) : json_null(), "severity",
                  inc->sev ? json_string(kf_severity_name(inc->sev)) : json_null(), "attribution",
                  kf_incident_attr_name(inc->attr), "state", kf_incident_state_name(inc->state),
                  "since", from, "detail", inc->detail);
    if (o != NULL && ev->kind == KF_EV_BREACH)
        json_object_set_new(o, "clock", json_string(kf_incident_clock_name(ev->clock)));
    if (o != NULL && ev->kind == KF_EV_RESOLVE) {
        json_object_set_new(o, "by", json_string(ev->who));
        json_object_set_new(o, "note", json_string(ev->text));
    }
    n->json = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    n->breach = ev->kind == KF_EV_BREACH;
    if (n->breach)
        snprintf(line, sizeof(line),
                 "sla: BREACH: incident %lld %s deadline %s passed: %s (%s, zone %s, %s) %s",
                 (long long)inc->id, kf_incident_clock_name(ev->clock), at, inc->terminal,
                 t ? t->device_id : "-", t ? t->zone_id : "-", t ? t->bank : "-", inc->detail);
    else
        snprintf(line, sizeof(line),
                 "sla: incident %lld %s at %s: %s (%s, zone %s, %s) %s since %s",
                 (long long)inc->id, kind, at, inc->terminal, t ? t->device_id : "-",
                 t ? t->zone_id : "-", t ? t->bank : "-", inc->detail, from);
    n->log = strdup(line);
    if (n->json == NULL || n->log == NULL) {
        kf__slasvc_notices_free(n);
        return NULL;
    }
    return n;
}

/* Appended once per fact, made unique when the run is persisted (dirty_unique): a storm
 * of connects feeds up to FACTS_PER_RUN facts a run, and a search of the list per fact
 * was quadratic in them (BENCHMARKS.md, "ACKs: a MAC instead of a signature"). */
static void dirty(struct kf_slasvc *s, const char *asset)
{
    if (s->n_dirty > 0 && strcmp(s->dirty[s->n_dirty - 1], asset) == 0)
        return;
    if (grow((void **)&s->dirty, &s->cap_dirty, s->n_dirty, sizeof(*s->dirty)) < 0) {
        s->broken = 1;
        return;
    }
    snprintf(s->dirty[s->n_dirty++], sizeof(s->dirty[0]), "%s", asset);
}

static void refusal(int rc, const struct kf_slasvc *s, const struct kf_sla_action *a, char *buf,
                    size_t cap)
{
    const struct kf_incident *inc = kf_sla_incident(s->e, a->incident);

    switch (rc) {
    case -EPERM:
        snprintf(buf, cap, "refused: not allowed while the incident is %s",
                 inc ? kf_incident_state_name(inc->state) : "closed");
        break;
    case -EALREADY:
        if (a->kind == KF_EV_ASSIGN && inc != NULL) {
            snprintf(buf, cap, "refused: already %s%s",
                     inc->assignee[0] ? "assigned to " : "assigned to nobody", inc->assignee);
            break;
        }
        snprintf(buf, cap, "refused: already so (%s)",
                 inc ? kf_incident_state_name(inc->state) : "closed");
        break;
    case -ENOENT:
        snprintf(buf, cap, "refused: incident %lld is closed and past its reopen window",
                 (long long)a->incident);
        break;
    case -EINVAL:
        snprintf(buf, cap, "refused: missing who, text or reason, or not a valid change");
        break;
    case -EBUSY:
        snprintf(buf, cap,
                 "refused: the terminal still reports the condition; resolve --force "
                 "with a reason closes the technician's work, and the downtime runs "
                 "until the terminal reports it cleared");
        break;
    default:
        snprintf(buf, cap, "refused: %s", kf_strerror(rc));
    }
}

/* When an action takes effect: when it was queued, but never before what the engine has
 * already announced (its last tick), nor after now. */
static int64_t action_at(const struct kf_slasvc *s, const struct kf_sla_action *a, int64_t now_ms)
{
    int64_t at = a->requested_ms < s->tick_ms ? s->tick_ms : a->requested_ms;

    return at > now_ms ? now_ms : at;
}

static void apply_action(struct kf_slasvc *s, struct kf_sla_action *a, int64_t now_ms)
{
    struct kf_inc_event ev;
    int rc;

    memset(&ev, 0, sizeof(ev));
    ev.kind = a->kind;
    ev.incident = a->incident;
    ev.at_ms = action_at(s, a, now_ms);
    ev.to = a->to;
    ev.flags = a->flags;
    memcpy(ev.who, a->who, sizeof(ev.who));
    memcpy(ev.text, a->text, sizeof(ev.text));
    memcpy(ev.assignee, a->assignee, sizeof(ev.assignee));
    s->cur_action = a->id;
    rc = kf_sla_act(s->e, &ev);
    s->cur_action = 0;
    a->applied_ms = now_ms;
    a->at_ms = ev.at_ms; /* also when refused: the seal says where it was tried */
    if (rc == 0) {
        a->status = KF_SLA_ACTION_DONE;
        snprintf(a->result, sizeof(a->result), "%s", "done");
        s->w.actions_done++;
    } else {
        a->status = KF_SLA_ACTION_REFUSED;
        refusal(rc, s, a, a->result, sizeof(a->result));
        s->w.actions_refused++;
    }
}

/* Where action k goes among the run's facts: after how many of them, and after how many of
 * its own terminal's (a bank's checker sees only its terminals' facts). */
static void act_place(struct kf_slasvc *s, const struct kf_sla_action *a, size_t k)
{
    const struct kf_incident *inc = kf_sla_incident(s->e, a->incident);

    s->act_after[k] = s->run_facts;
    s->act_after_t[k] = inc ? (size_t)kf_run_terms_count(s->rt, inc->terminal) : 0;
    snprintf(s->act_term[k], sizeof(s->act_term[k]), "%s", inc ? inc->terminal : "");
}

/* Feed the facts committed since the cursor and the queued actions, merged in time order
 * (an action queued while kioskd was down takes effect before the facts that arrived
 * after it). *ret_done: how many of the actions were applied (the rest wait for the next
 * run when this one stopped at FACTS_PER_RUN). */
static int feed(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms,
                struct kf_sla_action *acts, size_t n_acts, size_t *ret_done)
{
    size_t total = 0, k = 0;

    kf_run_terms_reset(s->rt);
    s->run_from = s->fact_id;
    s->run_facts = 0;
    for (;;) {
        struct kf_sla_fact_row *rows = NULL;
        size_t n = 0;
        int r = kf_store_sla_facts(st, s->fact_id, FACTS_BATCH, &rows, &n);

        if (r < 0)
            return r;
        for (size_t i = 0; i < n; i++) {
            struct kf_sla_terminal *t;

            while (k < n_acts && action_at(s, &acts[k], now_ms) < rows[i].fact.at_ms) {
                act_place(s, &acts[k], k);
                apply_action(s, &acts[k++], now_ms);
            }
            t = term_load(s, st, rows[i].asset_id);
            s->fact_id = rows[i].id;
            if (kf_run_terms_fact(s->rt, rows[i].id, rows[i].asset_id, rows[i].device_id,
                                  rows[i].recv_ms, &rows[i].fact) < 0)
                s->broken = 1;
            s->run_facts++;
            if (t == NULL || kf_sla_fact(s->e, rows[i].asset_id, &rows[i].fact) < 0) {
                s->w.facts_skipped++;
                continue;
            }
            snprintf(t->device_id, sizeof(t->device_id), "%s", rows[i].device_id);
            dirty(s, rows[i].asset_id);
            s->w.facts++;
        }
        free(rows);
        total += n;
        if (n < FACTS_BATCH)
            break;
        if (total >= FACTS_PER_RUN) {
            s->more = 1;
            *ret_done = k;
            return 0;
        }
    }
    while (k < n_acts) {
        act_place(s, &acts[k], k);
        apply_action(s, &acts[k++], now_ms);
    }
    *ret_done = k;
    return 0;
}

static json_t *seal_actions(const struct kf_slasvc *s, const struct kf_sla_action *acts, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < n; i++) {
        const struct kf_sla_action *a = &acts[i];
        json_t *o = json_pack(
            "{s:I, s:I, s:s, s:s, s:o, s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:s}", "id",
            (json_int_t)a->id, "incident", (json_int_t)a->incident, "terminal", s->act_term[i],
            "kind", kf_incident_ev_name(a->kind), "to",
            a->kind == KF_EV_ATTRIBUTE ? json_string(kf_incident_attr_name(a->to)) : json_null(),
            "flags", (int)a->flags, "who", a->who, "text", a->text, "requested_ms",
            (json_int_t)a->requested_ms, "at_ms", (json_int_t)a->at_ms, "after",
            (json_int_t)s->act_after[i], "after_t", (json_int_t)s->act_after_t[i], "status",
            a->status == KF_SLA_ACTION_DONE ? "done" : "refused");
        /* Only an assignment carries its assignee: the seals of the other actions keep the
         * bytes they always had (docs/SLA.md 12). */
        if (o != NULL && a->kind == KF_EV_ASSIGN &&
            json_object_set_new(o, "assignee", json_string(a->assignee)) < 0) {
            json_decref(o);
            o = NULL;
        }
        if (o == NULL || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *seal_windows(const struct kf_slasvc *s)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < s->n_wins; i++) {
        const struct kf_sla_window_row *w = &s->wins[i];
        json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:I}", "id", (json_int_t)w->id,
                              "asset", w->asset_id, "zone", w->zone_id, "start_ms",
                              (json_int_t)w->start_ms, "end_ms", (json_int_t)w->end_ms, "reason",
                              w->reason, "by", w->by, "entered_ms", (json_int_t)w->entered_ms);
        if (o == NULL || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The run's seal (docs/SLA.md 12): what a replay needs to decide the same, and the digest
 * of the facts it fed. NULL with *ret_rc 0 when the run fed and decided nothing (a tick
 * that changed nothing changes no later decision either). */
static char *seal_new(struct kf_slasvc *s, const struct kf_sla_action *acts, size_t n_acts,
                      int64_t tick, int *ret_rc)
{
    struct kf_run_term *terms = NULL;
    json_t *o = NULL, *a, *w = NULL, *t;
    size_t n_terms = 0;
    char *text = NULL;

    *ret_rc = 0;
    if (s->run_facts == 0 && n_acts == 0 && s->n_evs == 0 && !s->seal_windows)
        return NULL;
    if (kf_run_terms_take(s->rt, &terms, &n_terms) < 0) {
        *ret_rc = -ENOMEM;
        return NULL;
    }
    t = json_array();
    for (size_t i = 0; t != NULL && i < n_terms; i++) {
        if (json_array_append_new(t, json_pack("[s, I, s]", terms[i].terminal,
                                               (json_int_t)terms[i].n, terms[i].hex)) < 0) {
            json_decref(t);
            t = NULL;
        }
    }
    a = seal_actions(s, acts, n_acts);
    if (s->seal_windows)
        w = seal_windows(s);
    if (t != NULL && a != NULL && (w != NULL || !s->seal_windows))
        o = json_pack("{s:i, s:I, s:I, s:I, s:O, s:I, s:I, s:I, s:O, s:O}", "v", 2, "facts_after",
                      (json_int_t)s->run_from, "facts_to", (json_int_t)s->fact_id, "facts",
                      (json_int_t)s->run_facts, "terminals", t, "tick_ms", (json_int_t)tick,
                      "grace_ms", (json_int_t)s->grace_ms, "reopen_ms", (json_int_t)s->reopen_ms,
                      "actions", a, "windows", w ? w : json_null());
    if (o != NULL)
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    json_decref(t);
    json_decref(a);
    json_decref(w);
    free(terms);
    if (text == NULL)
        *ret_rc = -ENOMEM;
    return text;
}

/* A snapshot's incident and its place in the run, to find each incident's last one. */
struct snap_ix {
    int64_t id;
    size_t at;
};

static int snap_cmp(const void *a, const void *b)
{
    const struct snap_ix *x = a, *y = b;

    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (x->at > y->at) - (x->at < y->at);
}

static int dirty_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void dirty_unique(struct kf_slasvc *s)
{
    size_t k = 0;

    if (s->n_dirty < 2)
        return;
    qsort(s->dirty, s->n_dirty, sizeof(s->dirty[0]), dirty_cmp);
    for (size_t i = 1; i < s->n_dirty; i++) {
        if (strcmp(s->dirty[i], s->dirty[k]) != 0 && ++k != i)
            memcpy(s->dirty[k], s->dirty[i], sizeof(s->dirty[0]));
    }
    s->n_dirty = k + 1;
}

/* Persist what the run decided; on success the notices go to the loop. */
static int persist(struct kf_slasvc *s, struct kf_store *st, struct kf_sla_action *acts,
                   size_t n_acts, int64_t tick, int64_t now_ms)
{
    struct kf_sla_persist_event *pev = calloc(s->n_evs + 1, sizeof(*pev));
    struct kf_sla_state_row *states = calloc(s->n_dirty + 1, sizeof(*states));
    struct kf_incident *incs = calloc(s->n_snaps + 1, sizeof(*incs));
    struct snap_ix *ix = calloc(s->n_snaps + 1, sizeof(*ix));
    struct kf__notice *notices = NULL, **tail = &notices;
    struct kf_sla_persist p;
    char *seal = NULL;
    size_t n_incs = 0, n_states = 0;
    int r = 0;

    if (pev == NULL || states == NULL || incs == NULL || ix == NULL) {
        r = -ENOMEM;
        goto out;
    }
    dirty_unique(s);
    for (size_t i = 0; i < s->n_evs; i++) {
        pev[i].ev = s->evs[i].ev;
        pev[i].action = s->evs[i].action;
        if (notice_kind(pev[i].ev.kind) == NULL)
            continue;
        *tail = notice_new(s, &pev[i].ev, &s->snaps[i]);
        if (*tail == NULL) {
            r = -ENOMEM;
            goto out;
        }
        pev[i].notice = (*tail)->json;
        pev[i].nkind = notice_kind(pev[i].ev.kind);
        tail = &(*tail)->next;
    }
    /* The last snapshot of each incident is its final state; incidents in id order. */
    for (size_t i = 0; i < s->n_snaps; i++) {
        ix[i].id = s->snaps[i].id;
        ix[i].at = i;
    }
    if (s->n_snaps > 1) {
        qsort(ix, s->n_snaps, sizeof(*ix), snap_cmp);
    }
    for (size_t i = 0; i < s->n_snaps; i++) {
        if (i + 1 == s->n_snaps || ix[i + 1].id != ix[i].id)
            incs[n_incs++] = s->snaps[ix[i].at];
    }
    for (size_t i = 0; i < s->n_dirty; i++) {
        const struct kf_devstate *ds = kf_sla_state(s->e, s->dirty[i]);
        const struct kf_sla_terminal *t = term(s, s->dirty[i]);

        if (ds == NULL || t == NULL)
            continue;
        snprintf(states[n_states].asset_id, sizeof(states[0].asset_id), "%s", t->asset_id);
        snprintf(states[n_states].device_id, sizeof(states[0].device_id), "%s", t->device_id);
        states[n_states++].st = *ds;
    }
    memset(&p, 0, sizeof(p));
    p.fact_id = s->fact_id;
    p.tick_ms = tick;
    p.incidents = incs;
    p.n_incidents = n_incs;
    p.events = pev;
    p.n_events = s->n_evs;
    p.states = states;
    p.n_states = n_states;
    p.actions = acts;
    p.n_actions = n_acts;
    p.seal = seal = seal_new(s, acts, n_acts, tick, &r);
    p.server_sk = s->sk;
    if (r == 0)
        r = kf_store_sla_persist(st, &p, now_ms);
    if (r == 0)
        s->seal_windows = 0;
    if (r == 0) {
        *tail = s->out;
        s->out = notices;
        notices = NULL;
        s->w.events += s->n_evs;
        for (struct kf__notice *n = s->out; n != NULL; n = n->next)
            s->w.notices++;
    }
out:
    free(seal);
    kf__slasvc_notices_free(notices);
    free(pev);
    free(states);
    free(incs);
    free(ix);
    return r;
}

static void run(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms)
{
    struct kf_sla_action *acts = NULL;
    struct kf_sla_cursor cur;
    size_t n_acts = 0;
    /* Graces and deadlines are decided a few seconds behind now, once every fact dated
     * before them has had time to arrive (an agent batches up to 2 s, a commit takes its
     * time): a disconnect of 119.9 s committed after the tick must not become an incident
     * of 120 s because of when the tick ran (docs/SLA.md 10.2). */
    int64_t settled = now_ms - s->settle_ms;
    int64_t tick = settled > s->tick_ms ? settled : s->tick_ms;
    int r;

    s->n_evs = s->n_snaps = s->n_dirty = 0;
    s->w.runs++;
    r = kf_store_sla_cursor(st, &cur);
    if (r == 0 && cur.windows_rev != s->windows_rev) {
        r = windows_load(s, st, now_ms);
        for (size_t i = 0; r == 0 && i < s->n_terms; i++)
            r = term_apply(s, &s->terms[i]);
        s->windows_rev = cur.windows_rev;
        s->seal_windows = 1;
    }
    if (r == 0)
        r = kf_store_sla_actions_pending(st, ACTIONS_PER_RUN, &acts, &n_acts);
    if (r == 0 && n_acts > s->cap_after) {
        size_t *p = realloc(s->act_after, n_acts * sizeof(*p));
        size_t *q = p ? realloc(s->act_after_t, n_acts * sizeof(*q)) : NULL;
        char(*t)[KF_TERMINAL_ID_MAX + 1] = q ? realloc(s->act_term, n_acts * sizeof(*t)) : NULL;
        if (p != NULL)
            s->act_after = p;
        if (q != NULL)
            s->act_after_t = q;
        if (t == NULL)
            r = -ENOMEM;
        else {
            s->act_term = t;
            s->cap_after = n_acts;
        }
    }
    if (r == 0)
        r = feed(s, st, now_ms, acts, n_acts, &n_acts);
    if (r == 0 && kf_sla_tick(s->e, tick) < 0)
        r = -ENOSPC;
    if (r == 0 && !s->broken)
        r = persist(s, st, acts, n_acts, tick, now_ms);
    if (r == 0 && !s->broken) {
        s->tick_ms = tick;
    } else {
        /* Memory may be ahead of the store now: rebuild from the store next time. */
        s->broken = 1;
        s->w.persist_failures++;
        snprintf(s->out_err, sizeof(s->out_err),
                 "sla: a run could not be stored (%s); the engine is rebuilt from the store and "
                 "the facts and actions are taken again",
                 kf_store_errmsg(st)[0] ? kf_store_errmsg(st) : kf_strerror(r ? r : -ENOMEM));
    }
    free(acts);
}

void kf__slasvc_work(struct kf_slasvc *s, struct kf_store *st, int tick)
{
    uint64_t written = kf_store_sla_facts_written(st);
    int64_t now = kf_now_ms();

    if (!tick && !s->more && written == s->facts_seen)
        return; /* a commit without a change of state: nothing for the engine */
    /* A storm of connects writes facts in every commit: one run (one more fsync) a second
     * is enough; what is left waits for the next commit or tick. */
    if (!tick && kf_mono_us() - s->last_run_us < KF__SLASVC_RUN_MIN_US)
        return;
    s->last_run_us = kf_mono_us();
    s->facts_seen = written;
    s->more = 0;
    if (s->broken || s->e == NULL) {
        char err[256];

        if (kf__slasvc_load(s, st, now, err, sizeof(err)) < 0) {
            snprintf(s->out_err, sizeof(s->out_err), "%s", err);
            return;
        }
        s->broken = 0;
        s->w.rebuilds++;
    }
    run(s, st, now);
}
