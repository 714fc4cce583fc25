/* sla.c: the incremental SLA engine and the monthly report.
 *
 * A terminal holds "conditions": its offline state and each open critical fault. A condition
 * becomes an incident when it qualifies (grace passed outside maintenance windows) and
 * resolves it when it ends. Every change is an event applied with kf_incident_apply and then
 * handed to the callback, so what the callback sees is exactly what a replay rebuilds. */
#include "rules/sla.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "rules/sla_int.h"

void kf_sla_config_defaults(struct kf_sla_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->offline_grace_ms = KF_SLA_GRACE_MS_DEFAULT;
    cfg->reopen_window_ms = KF_SLA_REOPEN_MS_DEFAULT;
    cfg->next_id = 1;
}

int kf_sla_new(const struct kf_sla_config *cfg, const struct kf_holidays *hol, kf_sla_event_cb cb,
               void *ud, struct kf_sla_engine **ret)
{
    struct kf_sla_engine *e;

    if (cfg->offline_grace_ms < 0 || cfg->reopen_window_ms < 0 || cfg->next_id < 1) {
        return -EINVAL;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return -ENOMEM;
    }
    e->cfg = *cfg;
    e->hol = hol;
    e->cb = cb;
    e->ud = ud;
    *ret = e;
    return 0;
}

void kf_sla_free(struct kf_sla_engine *e)
{
    if (e == NULL) {
        return;
    }
    for (size_t i = 0; i < e->n_terms; i++) {
        free(e->terms[i]->win);
        free(e->terms[i]);
    }
    for (size_t i = 0; i < e->n_incs; i++) {
        free(e->incs[i]);
    }
    free(e->terms);
    free(e->incs);
    free(e);
}

/* Index of the first terminal whose id is >= id. */
static size_t term_pos(const struct kf_sla_engine *e, const char *id)
{
    size_t lo = 0, hi = e->n_terms;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(e->terms[mid]->id, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

struct kf_sla_term *kf__sla_term_find(const struct kf_sla_engine *e, const char *id)
{
    size_t i = term_pos(e, id);

    return i < e->n_terms && strcmp(e->terms[i]->id, id) == 0 ? e->terms[i] : NULL;
}

static size_t inc_pos(const struct kf_sla_engine *e, int64_t id)
{
    size_t lo = 0, hi = e->n_incs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->incs[mid]->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

struct kf_incident *kf__sla_inc_find(const struct kf_sla_engine *e, int64_t id)
{
    size_t i = inc_pos(e, id);

    return i < e->n_incs && e->incs[i]->id == id ? e->incs[i] : NULL;
}

/* Insert a zeroed incident slot for id; returns it, or NULL (-ENOSPC / -ENOMEM in *rc). */
static struct kf_incident *inc_insert(struct kf_sla_engine *e, int64_t id, int *rc)
{
    size_t i = inc_pos(e, id);
    struct kf_incident *inc;

    if (i < e->n_incs && e->incs[i]->id == id) {
        *rc = -EEXIST;
        return NULL;
    }
    if (e->n_incs == KF_SLA_INCIDENTS_MAX) {
        *rc = -ENOSPC;
        return NULL;
    }
    if (e->n_incs == e->cap_incs) {
        size_t cap = e->cap_incs ? e->cap_incs * 2 : 64;
        struct kf_incident **n = realloc(e->incs, cap * sizeof(*n));
        if (n == NULL) {
            *rc = -ENOMEM;
            return NULL;
        }
        e->incs = n;
        e->cap_incs = cap;
    }
    inc = calloc(1, sizeof(*inc));
    if (inc == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    inc->id = id; /* keeps the table sorted until the OPEN event fills the rest */
    memmove(&e->incs[i + 1], &e->incs[i], (e->n_incs - i) * sizeof(e->incs[0]));
    e->incs[i] = inc;
    e->n_incs++;
    return inc;
}

/* Drop an incident slot again (an OPEN that could not be applied). */
static void inc_remove(struct kf_sla_engine *e, int64_t id)
{
    size_t i = inc_pos(e, id);

    if (i < e->n_incs && e->incs[i]->id == id) {
        free(e->incs[i]);
        memmove(&e->incs[i], &e->incs[i + 1], (e->n_incs - i - 1) * sizeof(e->incs[0]));
        e->n_incs--;
    }
}

void kf__sla_term_cal(const struct kf_sla_engine *e, const struct kf_sla_term *t,
                      struct kf_cal *cal)
{
    cal->week = &t->week;
    cal->holidays = e->hol;
    cal->excl = t->win;
    cal->n_excl = t->n_win;
}

static void ev_init(struct kf_inc_event *ev, int kind, int64_t id, int64_t at)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = (uint8_t)kind;
    ev->incident = id;
    ev->at_ms = at;
}

static int emit(struct kf_sla_engine *e, struct kf_incident *inc, const struct kf_inc_event *ev)
{
    int rc = kf_incident_apply(inc, ev);

    if (rc == 0 && e->cb != NULL) {
        e->cb(e->ud, ev, inc);
    }
    return rc;
}

static void copy_who(char *dst, const char *who)
{
    const char *w = who[0] != '\0' ? who : KF_SLA_WHO_TERMINAL;

    snprintf(dst, KF_WHO_MAX + 1, "%s", w);
}

/* The first instant at which `amount` ms have passed since `since` outside the windows. */
static int64_t outside_add(const struct kf_window *w, size_t n, int64_t since, int64_t amount)
{
    int64_t t = since, left = amount;

    for (size_t k = 0; k < n; k++) {
        if (w[k].end_ms <= t) {
            continue;
        }
        if (w[k].start_ms > t) {
            if (w[k].start_ms - t >= left) {
                return t + left;
            }
            left -= w[k].start_ms - t;
        }
        t = w[k].end_ms;
    }
    return t + left;
}

/* Announce the breaches of one incident that are due by `at`, earliest first. */
static int breach_check(struct kf_sla_engine *e, const struct kf_sla_term *t,
                        struct kf_incident *inc, int64_t at)
{
    struct kf_inc_clock c[3];
    struct kf_inc_event ev;
    struct kf_cal cal;
    int n = 0, order[2] = {KF_CLOCK_RESPONSE, KF_CLOCK_RESTORE};

    if (inc->attr != KF_ATTR_COMPANY ||
        (inc->breached & ((1u << KF_CLOCK_RESPONSE) | (1u << KF_CLOCK_RESTORE))) ==
            ((1u << KF_CLOCK_RESPONSE) | (1u << KF_CLOCK_RESTORE))) {
        return 0;
    }
    kf__sla_term_cal(e, t, &cal);
    kf_incident_clock(inc, KF_CLOCK_RESPONSE, &cal, &t->terms, at, &c[KF_CLOCK_RESPONSE]);
    kf_incident_clock(inc, KF_CLOCK_RESTORE, &cal, &t->terms, at, &c[KF_CLOCK_RESTORE]);
    if (c[KF_CLOCK_RESTORE].due_ms < c[KF_CLOCK_RESPONSE].due_ms) {
        order[0] = KF_CLOCK_RESTORE;
        order[1] = KF_CLOCK_RESPONSE;
    }
    for (int i = 0; i < 2; i++) {
        int k = order[i];
        if (!c[k].breached || (inc->breached & (1u << k))) {
            continue;
        }
        ev_init(&ev, KF_EV_BREACH, inc->id, c[k].due_ms);
        ev.clock = (uint8_t)k;
        if (emit(e, inc, &ev) == 0) {
            n++;
        }
    }
    return n;
}

static struct kf_cond *cond_find(struct kf_sla_term *t, const char *cause)
{
    for (uint32_t i = 0; i < t->n_cond; i++) {
        if (strcmp(t->cond[i].cause, cause) == 0) {
            return &t->cond[i];
        }
    }
    return NULL;
}

/* The newest incident of a terminal with this cause, or NULL. */
struct kf_incident *kf__sla_inc_latest(const struct kf_sla_engine *e, const char *term,
                                       const char *cause)
{
    for (size_t i = e->n_incs; i-- > 0;) {
        if (strcmp(e->incs[i]->terminal, term) == 0 && strcmp(e->incs[i]->cause, cause) == 0) {
            return e->incs[i];
        }
    }
    return NULL;
}

/* A condition has lasted its grace: reopen its cause's last incident or open a new one. */
static int cond_qualify(struct kf_sla_engine *e, struct kf_sla_term *t, struct kf_cond *c)
{
    struct kf_incident *inc = kf__sla_inc_latest(e, t->id, c->cause);
    struct kf_inc_event ev;
    int rc = 0;

    if (inc != NULL && !kf_incident_down(inc) && inc->n_spans < KF_INC_SPANS_MAX &&
        c->since_ms >= inc->spans[inc->n_spans - 1].end_ms &&
        c->since_ms - inc->resolved_at_ms <= e->cfg.reopen_window_ms) {
        ev_init(&ev, KF_EV_REOPEN, inc->id, c->due_ms);
        ev.start_ms = c->since_ms;
    } else {
        int64_t id = e->cfg.id_fn ? e->cfg.id_fn(e->cfg.id_ud, t->id) : e->cfg.next_id;
        if (id < 1) {
            return -EINVAL;
        }
        inc = inc_insert(e, id, &rc);
        if (inc == NULL) {
            return rc;
        }
        if (e->cfg.id_fn == NULL) {
            e->cfg.next_id++;
        }
        ev_init(&ev, KF_EV_OPEN, id, c->due_ms);
        ev.start_ms = c->since_ms;
        ev.periph = c->periph;
        ev.sev = c->sev;
        memcpy(ev.terminal, t->id, sizeof(ev.terminal));
        memcpy(ev.cause, c->cause, sizeof(ev.cause));
        if (strcmp(c->cause, KF_CAUSE_OFFLINE) == 0) {
            snprintf(ev.text, sizeof(ev.text), "offline (%s)",
                     c->src == KF_SRC_WILL        ? "last will"
                     : c->src == KF_SRC_HEARTBEAT ? "heartbeat timeout"
                                                  : "reported");
        } else {
            snprintf(ev.text, sizeof(ev.text), "critical fault %s on %s", c->cause,
                     c->periph ? kf_periph_name(c->periph) : "the whole terminal");
        }
    }
    rc = emit(e, inc, &ev);
    if (rc < 0) {
        if (ev.kind == KF_EV_OPEN) {
            inc_remove(e, ev.incident);
            e->cfg.next_id -= e->cfg.id_fn == NULL;
        }
        return rc;
    }
    c->inc = inc->id;
    c->detached = 0;
    if (t->clock_ms < c->due_ms) {
        t->clock_ms = c->due_ms;
    }
    if (t->st.maint && inc->on_site_since_ms == 0) { /* the technician is already there */
        ev_init(&ev, KF_EV_ON_SITE, inc->id, c->due_ms);
        ev.flags = KF_EV_F_MEASURED;
        copy_who(ev.who, t->st.maint_who);
        (void)emit(e, inc, &ev);
    }
    return 0;
}

/* Qualify the terminal's conditions due by `at`, in order of their due times; with
 * `breaches`, then announce its down incidents' breaches due by `at`. */
static int term_advance(struct kf_sla_engine *e, struct kf_sla_term *t, int64_t at, int breaches)
{
    int n = 0;

    for (;;) {
        struct kf_cond *next = NULL;
        for (uint32_t i = 0; i < t->n_cond; i++) {
            struct kf_cond *c = &t->cond[i];
            if (c->inc == 0 && c->due_ms <= at && (next == NULL || c->due_ms < next->due_ms)) {
                next = c;
            }
        }
        if (next == NULL) {
            break;
        }
        int rc = cond_qualify(e, t, next);
        if (rc < 0) {
            return rc;
        }
    }
    for (size_t i = 0; breaches && i < e->n_incs; i++) {
        if (kf_incident_down(e->incs[i]) && strcmp(e->incs[i]->terminal, t->id) == 0) {
            n += breach_check(e, t, e->incs[i], at);
        }
    }
    return n;
}

/* When condition c qualifies as an incident. Offline: once the grace has passed in the
 * terminal's service time (opening hours, holidays applied, planned windows excluded), so a
 * terminal switched off after closing and back before opening never makes one (docs/SLA.md
 * 5.1). A critical fault: at once, or at the end of the planned window it was raised in;
 * one from the terminal's backlog (c->late) is dated from its true raise but opens when the
 * engine learns of it, the terminal's clock (SLA.md 10.7). */
static int64_t cond_due(const struct kf_sla_engine *e, const struct kf_sla_term *t,
                        const struct kf_cond *c)
{
    struct kf_cal cal;

    if (strcmp(c->cause, KF_CAUSE_OFFLINE) != 0) {
        int64_t due = outside_add(t->win, t->n_win, c->since_ms, 0);
        return c->late && due < t->clock_ms ? t->clock_ms : due;
    }
    kf__sla_term_cal(e, t, &cal);
    return kf_calendar_add_service(&cal, c->since_ms, e->cfg.offline_grace_ms);
}

/* since: when the condition began (a backlog fault's true instant, else f->at_ms). */
static void cond_add(const struct kf_sla_engine *e, struct kf_sla_term *t, const char *cause,
                     const struct kf_fact *f, int64_t since, int late)
{
    struct kf_cond *c;

    if (t->n_cond == KF_CONDS_MAX || cond_find(t, cause) != NULL) {
        return; /* cannot happen: one offline and at most KF_OPEN_FAULTS_MAX faults */
    }
    c = &t->cond[t->n_cond++];
    memset(c, 0, sizeof(*c));
    snprintf(c->cause, sizeof(c->cause), "%s", cause);
    c->periph = f->kind == KF_FACT_FAULT ? f->periph : 0;
    c->sev = f->kind == KF_FACT_FAULT ? f->sev : 0;
    c->src = f->src;
    c->since_ms = since;
    c->late = (uint8_t)late;
    c->due_ms = cond_due(e, t, c);
}

static int cond_end(struct kf_sla_engine *e, struct kf_sla_term *t, const char *cause, int64_t at)
{
    struct kf_cond *c = cond_find(t, cause);
    struct kf_incident *inc;
    struct kf_inc_event ev;
    int rc = 0;

    if (c == NULL) {
        return 0;
    }
    inc = c->inc ? kf__sla_inc_find(e, c->inc) : NULL;
    if (inc != NULL && !c->detached && kf_incident_down(inc)) {
        int64_t from = inc->spans[inc->n_spans - 1].start_ms;
        /* A backlog's clear counts at its true instant, never before its span began. */
        ev_init(&ev, KF_EV_RECOVER, inc->id, at < from ? from : at);
        rc = emit(e, inc, &ev);
    }
    *c = t->cond[--t->n_cond];
    return rc;
}

/* Maintenance mode at the terminal: measured arrival and departure on its down incidents. */
static void maint_fact(struct kf_sla_engine *e, struct kf_sla_term *t, const struct kf_fact *f)
{
    struct kf_inc_event ev;

    for (size_t i = 0; i < e->n_incs; i++) {
        struct kf_incident *inc = e->incs[i];
        if (strcmp(inc->terminal, t->id) != 0) {
            continue;
        }
        if (f->on && kf_incident_down(inc) && inc->on_site_since_ms == 0) {
            ev_init(&ev, KF_EV_ON_SITE, inc->id, f->at_ms);
            ev.flags = KF_EV_F_MEASURED;
            copy_who(ev.who, f->who);
            (void)emit(e, inc, &ev);
        } else if (!f->on && inc->on_site_since_ms != 0) {
            ev_init(&ev, KF_EV_OFF_SITE, inc->id, f->at_ms);
            ev.flags = KF_EV_F_MEASURED;
            copy_who(ev.who, t->st.maint_who[0] ? t->st.maint_who : inc->on_site_by);
            (void)emit(e, inc, &ev);
        }
    }
}

int kf_sla_terminal_set(struct kf_sla_engine *e, const char *terminal, const struct kf_week *week,
                        const struct kf_sla_terms *terms)
{
    struct kf_sla_term *t;
    size_t len = strlen(terminal), i;

    if (len == 0 || len > KF_TERMINAL_ID_MAX || terms->response_s <= 0 || terms->restore_s <= 0 ||
        terms->target_bp < 0 || terms->target_bp > 10000) {
        return -EINVAL;
    }
    t = kf__sla_term_find(e, terminal);
    if (t == NULL) {
        if (e->n_terms == e->cap_terms) {
            size_t cap = e->cap_terms ? e->cap_terms * 2 : 16;
            struct kf_sla_term **n = realloc(e->terms, cap * sizeof(*n));
            if (n == NULL) {
                return -ENOMEM;
            }
            e->terms = n;
            e->cap_terms = cap;
        }
        t = calloc(1, sizeof(*t));
        if (t == NULL) {
            return -ENOMEM;
        }
        memcpy(t->id, terminal, len + 1);
        kf_devstate_init(&t->st);
        i = term_pos(e, terminal);
        memmove(&e->terms[i + 1], &e->terms[i], (e->n_terms - i) * sizeof(e->terms[0]));
        e->terms[i] = t;
        e->n_terms++;
    }
    t->week = *week;
    t->terms = *terms;
    return 0;
}

int kf_sla_windows_set(struct kf_sla_engine *e, const char *terminal, const struct kf_window *w,
                       size_t n)
{
    struct kf_sla_term *t = kf__sla_term_find(e, terminal);
    struct kf_window *copy = NULL;
    size_t nn = 0;

    if (t == NULL) {
        return -ENOENT;
    }
    if (n > KF_SLA_WINDOWS_MAX) {
        return -E2BIG;
    }
    if (n > 0) {
        copy = malloc(n * sizeof(*copy));
        if (copy == NULL) {
            return -ENOMEM;
        }
        memcpy(copy, w, n * sizeof(*copy));
        if (kf_calendar_windows_normalize(copy, n, &nn) < 0) {
            free(copy);
            return -EINVAL;
        }
    }
    free(t->win);
    t->win = copy;
    t->n_win = nn;
    /* Graces not yet passed are measured against the new windows. */
    for (uint32_t i = 0; i < t->n_cond; i++) {
        if (t->cond[i].inc == 0) {
            t->cond[i].due_ms = cond_due(e, t, &t->cond[i]);
        }
    }
    return 0;
}

/* The terminal's present condition linked to incident id, if any. */
static const struct kf_cond *cond_of(const struct kf_sla_term *t, int64_t id)
{
    for (uint32_t i = 0; i < t->n_cond; i++) {
        if (t->cond[i].inc == id && !t->cond[i].detached) {
            return &t->cond[i];
        }
    }
    return NULL;
}

/* Is fault `code` open and critical in st? */
static int fault_critical(const struct kf_devstate *st, const char *code)
{
    for (uint32_t i = 0; i < st->n_faults; i++) {
        if (strcmp(st->faults[i].code, code) == 0) {
            return st->faults[i].sev == KF_SEV_CRITICAL;
        }
    }
    return 0;
}

int kf_sla_fact(struct kf_sla_engine *e, const char *terminal, const struct kf_fact *fact)
{
    struct kf_sla_term *t = kf__sla_term_find(e, terminal);
    struct kf_devstate before;
    struct kf_fact f;
    int64_t true_at;
    int rc, late;

    if (t == NULL) {
        return -ENOENT;
    }
    f = *fact;
    /* The terminal's backlog: older than what the engine holds for it. Its state changes at
     * the clock (never reordered), but a fault's downtime counts from its true instant
     * (docs/SLA.md 3.1, 10.7). `late` from an old store row means the same. */
    true_at = f.at_ms;
    late = f.late || f.at_ms < t->clock_ms;
    if (f.at_ms < t->clock_ms) {
        f.at_ms = t->clock_ms;
    }
    rc = term_advance(e, t, f.at_ms, 1);
    if (rc < 0) {
        return rc;
    }
    before = t->st;
    rc = kf_devstate_apply(&t->st, &f);
    if (rc < 0) {
        return rc;
    }
    t->clock_ms = f.at_ms;
    if (rc == 0) {
        return 0;
    }
    switch (f.kind) {
    case KF_FACT_PRESENCE:
        if (!f.on) {
            cond_add(e, t, KF_CAUSE_OFFLINE, &f, f.at_ms, 0);
        } else {
            rc = cond_end(e, t, KF_CAUSE_OFFLINE, f.at_ms);
        }
        break;
    case KF_FACT_FAULT: {
        int was = fault_critical(&before, f.code), is = fault_critical(&t->st, f.code);
        if (!was && is) {
            cond_add(e, t, f.code, &f, late ? true_at : f.at_ms, late);
        } else if (was && !is) {
            rc = cond_end(e, t, f.code, late ? true_at : f.at_ms);
        }
        break;
    }
    case KF_FACT_MAINT:
        maint_fact(e, t, &f);
        break;
    default:
        break;
    }
    if (rc < 0) {
        return rc;
    }
    rc = term_advance(e, t, f.at_ms, 0);
    return rc < 0 ? rc : 0;
}

unsigned kf_sla_action_needs(int kind)
{
    switch (kind) {
    case KF_EV_ACK:
    case KF_EV_ON_SITE:
    case KF_EV_CLOSE:
    case KF_EV_ASSIGN: /* the assignee may be "": the assignment is cleared */
        return KF_SLA_NEEDS_WHO;
    case KF_EV_RESOLVE:
    case KF_EV_NOTE:
        return KF_SLA_NEEDS_WHO | KF_SLA_NEEDS_TEXT;
    case KF_EV_ATTRIBUTE:
        return KF_SLA_NEEDS_WHO | KF_SLA_NEEDS_TEXT | KF_SLA_NEEDS_TO;
    default:
        return 0;
    }
}

static int is_planning(int kind)
{
    return kind == KF_EV_ASSIGN;
}

int kf_sla_act(struct kf_sla_engine *e, const struct kf_inc_event *ev)
{
    struct kf_incident *inc;
    struct kf_sla_term *t;
    struct kf_inc_event a;
    int rc;

    if (kf_sla_action_needs(ev->kind) == 0) {
        return -EINVAL;
    }
    inc = kf__sla_inc_find(e, ev->incident);
    if (inc == NULL) {
        return -ENOENT;
    }
    t = kf__sla_term_find(e, inc->terminal);
    if (is_planning(ev->kind)) {
        /* Assignment is work planning: it must not even move the terminal's graces and
         * deadlines forward (a grace decided at the assignment's instant rather than at the
         * next tick could take a late fact at another instant). So it changes no incident
         * but its own assignee, and every figure is the same with or without it. */
        a = *ev;
        a.flags = 0;
        return emit(e, inc, &a);
    }
    if (t != NULL) {
        rc = term_advance(e, t, ev->at_ms, 1); /* a deadline before the action counts */
        if (rc < 0) {
            return rc;
        }
    }
    a = *ev;
    a.flags = 0;
    if (a.kind == KF_EV_ATTRIBUTE) {
        a.from = inc->attr;
    }
    if (a.kind == KF_EV_RESOLVE && a.text[0] != '\0' && t != NULL && cond_of(t, inc->id) != NULL) {
        /* The terminal still reports the condition: refused, unless forced with a reason;
         * then the downtime goes on until the facts clear (docs/SLA.md 5.2). */
        if (!(ev->flags & KF_EV_F_FORCED)) {
            return -EBUSY;
        }
        a.flags = KF_EV_F_FORCED;
    }
    rc = emit(e, inc, &a);
    if (rc < 0 || t == NULL) {
        return rc;
    }
    if (a.kind == KF_EV_RESOLVE && !(a.flags & KF_EV_F_FORCED)) {
        for (uint32_t i = 0; i < t->n_cond; i++) {
            if (t->cond[i].inc == inc->id) {
                t->cond[i].detached = 1;
            }
        }
    }
    if (a.kind == KF_EV_ATTRIBUTE) {
        (void)breach_check(e, t, inc, ev->at_ms);
    }
    return 0;
}

int kf_sla_tick(struct kf_sla_engine *e, int64_t now_ms)
{
    size_t out = 0;
    int n = 0;

    for (size_t i = 0; i < e->n_terms; i++) {
        int rc = term_advance(e, e->terms[i], now_ms, 0);
        if (rc < 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < e->n_incs; i++) {
        struct kf_incident *inc = e->incs[i];
        struct kf_sla_term *t;
        if (!kf_incident_down(inc) || (t = kf__sla_term_find(e, inc->terminal)) == NULL) {
            continue;
        }
        n += breach_check(e, t, inc, now_ms);
    }
    for (size_t i = 0; i < e->n_incs; i++) {
        struct kf_incident *inc = e->incs[i];
        if (inc->state == KF_INC_CLOSED && now_ms - inc->resolved_at_ms > e->cfg.reopen_window_ms) {
            free(inc);
            continue;
        }
        e->incs[out++] = inc;
    }
    e->n_incs = out;
    return n;
}

int kf_sla_restore_incident(struct kf_sla_engine *e, const struct kf_incident *inc)
{
    struct kf_incident *slot;
    int rc = 0;

    if (inc->id <= 0 || inc->state < KF_INC_OPENED || inc->state > KF_INC_CLOSED ||
        inc->n_spans == 0 || inc->n_spans > KF_INC_SPANS_MAX) {
        return -EINVAL;
    }
    if (kf__sla_inc_find(e, inc->id) != NULL) {
        return -EEXIST;
    }
    slot = inc_insert(e, inc->id, &rc);
    if (slot == NULL) {
        return rc;
    }
    *slot = *inc;
    if (inc->id >= e->cfg.next_id) {
        e->cfg.next_id = inc->id + 1;
    }
    return 0;
}

/* Link a rebuilt condition to the incident it had: a down one of the same cause, or one
 * resolved by hand whose last span began with this condition. */
static void cond_link(struct kf_sla_engine *e, struct kf_sla_term *t, struct kf_cond *c)
{
    struct kf_incident *inc = kf__sla_inc_latest(e, t->id, c->cause);

    if (inc == NULL) {
        return;
    }
    if (kf_incident_down(inc)) {
        c->inc = inc->id;
    } else if (inc->spans[inc->n_spans - 1].start_ms == c->since_ms) {
        c->inc = inc->id;
        c->detached = 1;
    }
}

int kf_sla_restore_state(struct kf_sla_engine *e, const char *terminal,
                         const struct kf_devstate *st)
{
    struct kf_sla_term *t = kf__sla_term_find(e, terminal);
    struct kf_fact f;

    if (t == NULL) {
        return -ENOENT;
    }
    if (st->n_faults > KF_OPEN_FAULTS_MAX) {
        return -EINVAL;
    }
    t->st = *st;
    t->clock_ms = st->at_ms;
    t->n_cond = 0;
    memset(&f, 0, sizeof(f));
    if (st->presence_since_ms != 0 && !st->online) {
        f.kind = KF_FACT_PRESENCE;
        f.src = st->src;
        f.at_ms = st->presence_since_ms;
        cond_add(e, t, KF_CAUSE_OFFLINE, &f, f.at_ms, 0);
        cond_link(e, t, &t->cond[t->n_cond - 1]);
    }
    for (uint32_t i = 0; i < st->n_faults; i++) {
        if (st->faults[i].sev != KF_SEV_CRITICAL) {
            continue;
        }
        f.kind = KF_FACT_FAULT;
        f.periph = st->faults[i].periph;
        f.sev = st->faults[i].sev;
        f.at_ms = st->faults[i].since_ms;
        cond_add(e, t, st->faults[i].code, &f, f.at_ms, 0);
        cond_link(e, t, &t->cond[t->n_cond - 1]);
    }
    return 0;
}
