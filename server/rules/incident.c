/* incident.c: device state from facts, the incident lifecycle as a fold of events, and the
 * SLA clocks computed from an incident and a service calendar. The monthly report
 * (kf_report_*, declared in incident.h) is in sla_report.c. */
#include "rules/incident.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

/* ---- Device state ---------------------------------------------------------------------- */

void kf_devstate_init(struct kf_devstate *st)
{
    memset(st, 0, sizeof(*st));
}

static int fault_find(const struct kf_devstate *st, const char *code)
{
    for (uint32_t i = 0; i < st->n_faults; i++) {
        if (strcmp(st->faults[i].code, code) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void fault_remove(struct kf_devstate *st, uint32_t i)
{
    memmove(&st->faults[i], &st->faults[i + 1], (st->n_faults - i - 1) * sizeof(st->faults[0]));
    st->n_faults--;
}

static int fault_apply(struct kf_devstate *st, const struct kf_fact *f, int64_t at)
{
    int i = fault_find(st, f->code);
    struct kf_open_fault *of;

    if (!f->on) {
        if (i < 0) {
            return 0;
        }
        fault_remove(st, (uint32_t)i);
        return 1;
    }
    if (i >= 0) {
        of = &st->faults[i];
        if (of->sev == f->sev && of->periph == f->periph) {
            return 0;
        }
        of->sev = f->sev;
        of->periph = f->periph;
        return 1;
    }
    if (st->n_faults == KF_OPEN_FAULTS_MAX) {
        /* Full: a critical fault displaces the oldest non-critical one, else is dropped. */
        uint32_t k;
        for (k = 0; k < st->n_faults && st->faults[k].sev == KF_SEV_CRITICAL; k++) {
        }
        if (f->sev != KF_SEV_CRITICAL || k == st->n_faults) {
            st->faults_dropped++;
            return 0;
        }
        fault_remove(st, k);
    }
    of = &st->faults[st->n_faults++];
    memset(of, 0, sizeof(*of));
    memcpy(of->code, f->code, sizeof(of->code));
    of->periph = f->periph;
    of->sev = f->sev;
    of->since_ms = at;
    return 1;
}

int kf_devstate_apply(struct kf_devstate *st, const struct kf_fact *f)
{
    int64_t at = f->at_ms > st->at_ms ? f->at_ms : st->at_ms;
    int changed = 0;

    switch (f->kind) {
    case KF_FACT_PRESENCE:
        if (f->on > 1 || f->src < KF_SRC_CONNECT || f->src > KF_SRC_HEARTBEAT) {
            return -EINVAL;
        }
        if (st->presence_since_ms == 0 || st->online != f->on) {
            st->online = f->on;
            st->src = f->src;
            st->presence_since_ms = at;
            changed = 1;
        }
        break;
    case KF_FACT_PERIPH: {
        uint32_t bit;
        if (f->periph < 1 || f->periph > KF_PERIPH_COUNT_ || f->on > 1) {
            return -EINVAL;
        }
        bit = 1u << f->periph;
        if (((st->unusable & bit) != 0) == (f->on == 0)) {
            break;
        }
        st->unusable ^= bit;
        st->periph_since_ms[f->periph] = at;
        changed = 1;
        break;
    }
    case KF_FACT_FAULT:
        if (f->code[0] == '\0' || strnlen(f->code, sizeof(f->code)) == sizeof(f->code) ||
            f->periph > KF_PERIPH_COUNT_ || f->on > 1 ||
            (f->on && (f->sev < KF_SEV_INFO || f->sev > KF_SEV_CRITICAL))) {
            return -EINVAL;
        }
        changed = fault_apply(st, f, at);
        break;
    case KF_FACT_MAINT:
        if (f->on > 1 || strnlen(f->who, sizeof(f->who)) == sizeof(f->who)) {
            return -EINVAL;
        }
        if (st->maint != f->on) {
            st->maint = f->on;
            st->maint_since_ms = at;
            memcpy(st->maint_who, f->on ? f->who : "", f->on ? sizeof(st->maint_who) : 1);
            changed = 1;
        }
        break;
    default:
        return -EINVAL;
    }
    st->at_ms = at;
    return changed;
}

uint32_t kf_devstate_crit(const struct kf_devstate *st)
{
    uint32_t m = 0;

    for (uint32_t i = 0; i < st->n_faults; i++) {
        if (st->faults[i].sev == KF_SEV_CRITICAL) {
            m |= 1u << st->faults[i].periph;
        }
    }
    return m;
}

void kf_devstate_seg(const struct kf_devstate *st, struct kf_seg *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->start_ms = st->at_ms;
    ret->end_ms = KF_TIME_NEVER;
    ret->online = st->online;
    ret->maint = st->maint;
    ret->unusable = st->unusable;
    ret->crit = kf_devstate_crit(st);
}

int kf_needs_from_names(const char *const *names, size_t n, uint32_t *ret)
{
    uint32_t m = 0;

    for (size_t i = 0; i < n; i++) {
        int p;
        if (kf_periph_parse(names[i], &p) < 0) {
            return -EINVAL;
        }
        m |= 1u << p;
    }
    *ret = m;
    return 0;
}

int kf_seg_item_ok(const struct kf_seg *s, uint32_t needs)
{
    return s->online && !s->maint && (s->unusable & needs) == 0 && (s->crit & (needs | 1u)) == 0;
}

enum kf_term_status kf_seg_status(const struct kf_seg *s, const uint32_t *needs, size_t n_items)
{
    if (!s->online || (s->crit & 1u)) {
        return KF_TERM_DOWN;
    }
    if (s->maint) {
        return KF_TERM_MAINT;
    }
    if (n_items == 0) {
        return (s->unusable | s->crit) ? KF_TERM_DEGRADED : KF_TERM_UP;
    }
    for (size_t i = 0; i < n_items; i++) {
        if (!kf_seg_item_ok(s, needs[i])) {
            return KF_TERM_DEGRADED;
        }
    }
    return KF_TERM_UP;
}

static int seg_same(const struct kf_seg *a, const struct kf_seg *b)
{
    return a->online == b->online && a->maint == b->maint && a->unusable == b->unusable &&
           a->crit == b->crit;
}

struct seg_out {
    struct kf_seg *out;
    size_t cap, n;
    struct kf_seg last; /* the newest segment, also past cap */
};

static void seg_emit(struct seg_out *o, const struct kf_devstate *st, int64_t a, int64_t b)
{
    struct kf_seg s;

    if (b <= a) {
        return;
    }
    kf_devstate_seg(st, &s);
    s.start_ms = a;
    s.end_ms = b;
    if (o->n > 0 && o->last.end_ms == a && seg_same(&o->last, &s)) {
        o->last.end_ms = b;
    } else {
        o->last = s;
        o->n++;
    }
    if (o->n <= o->cap) {
        o->out[o->n - 1] = o->last;
    }
}

int kf_devstate_segments(const struct kf_devstate *initial, const struct kf_fact *facts, size_t n,
                         int64_t from_ms, int64_t to_ms, struct kf_seg *out, size_t cap,
                         size_t *ret_n)
{
    struct seg_out o = {out, cap, 0, {0}};
    struct kf_devstate st = *initial;
    int64_t cur = from_ms;

    for (size_t i = 0; i < n; i++) {
        int64_t at = facts[i].at_ms > st.at_ms ? facts[i].at_ms : st.at_ms;
        if (at >= to_ms) {
            break;
        }
        if (at > cur) {
            struct kf_devstate before = st;
            int rc = kf_devstate_apply(&st, &facts[i]);
            if (rc < 0) {
                return rc;
            }
            if (rc > 0) {
                seg_emit(&o, &before, cur, at);
                cur = at;
            }
        } else if (kf_devstate_apply(&st, &facts[i]) < 0) {
            return -EINVAL;
        }
    }
    seg_emit(&o, &st, cur, to_ms);
    *ret_n = o.n;
    return o.n <= cap ? 0 : -ENOSPC;
}

size_t kf_segs_item_intervals(const struct kf_seg *segs, size_t n, uint32_t needs,
                              struct kf_window *out, size_t cap)
{
    size_t k = 0;
    int64_t last_end = INT64_MIN;

    for (size_t i = 0; i < n; i++) {
        if (!kf_seg_item_ok(&segs[i], needs)) {
            continue;
        }
        if (k > 0 && last_end == segs[i].start_ms) {
            if (k <= cap) {
                out[k - 1].end_ms = segs[i].end_ms;
            }
        } else {
            if (k < cap) {
                out[k].start_ms = segs[i].start_ms;
                out[k].end_ms = segs[i].end_ms;
            }
            k++;
        }
        last_end = segs[i].end_ms;
    }
    return k;
}

/* ---- Incidents --------------------------------------------------------------------------- */

static const char *const state_names[] = {NULL,      "opened",   "acknowledged",
                                          "on_site", "resolved", "closed"};
static const char *const attr_names[] = {NULL,           "company",          "bank_power",
                                         "bank_network", "bank_consumables", "bank_vandalism",
                                         "force_majeure"};
static const char *const ev_names[] = {NULL,    "open",    "reopen",    "recover",
                                       "ack",   "on_site", "off_site",  "resolve",
                                       "close", "note",    "attribute", "breach"};

const char *kf_inc_state_name(int v)
{
    return v >= KF_INC_OPENED && v <= KF_INC_CLOSED ? state_names[v] : NULL;
}

const char *kf_attr_name(int v)
{
    return v >= KF_ATTR_COMPANY && v <= KF_ATTR_COUNT_ ? attr_names[v] : NULL;
}

const char *kf_ev_name(int v)
{
    return v >= KF_EV_OPEN && v <= KF_EV_COUNT_ ? ev_names[v] : NULL;
}

const char *kf_clock_name(int v)
{
    return v == KF_CLOCK_RESPONSE ? "response" : v == KF_CLOCK_RESTORE ? "restore" : NULL;
}

int kf_attr_parse(const char *s, int *ret)
{
    for (int i = KF_ATTR_COMPANY; s != NULL && i <= KF_ATTR_COUNT_; i++) {
        if (strcmp(s, attr_names[i]) == 0) {
            *ret = i;
            return 0;
        }
    }
    return -EINVAL;
}

int kf_incident_down(const struct kf_incident *inc)
{
    return inc->n_spans > 0 && inc->spans[inc->n_spans - 1].end_ms == KF_TIME_NEVER;
}

static int has(const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);

    return len > 0 && len < cap;
}

static int ev_open(struct kf_incident *n, const struct kf_inc_event *ev)
{
    if (ev->incident <= 0 || !has(ev->terminal, sizeof(ev->terminal)) ||
        !has(ev->cause, sizeof(ev->cause)) || ev->start_ms > ev->at_ms || ev->to > KF_ATTR_COUNT_ ||
        strnlen(ev->text, sizeof(ev->text)) == sizeof(ev->text)) {
        return -EINVAL;
    }
    memset(n, 0, sizeof(*n));
    n->id = ev->incident;
    memcpy(n->terminal, ev->terminal, sizeof(n->terminal));
    memcpy(n->cause, ev->cause, sizeof(n->cause));
    memcpy(n->detail, ev->text, sizeof(n->detail));
    n->periph = ev->periph;
    n->sev = ev->sev;
    n->state = KF_INC_OPENED;
    n->attr = ev->to ? ev->to : KF_ATTR_COMPANY;
    n->opened_at_ms = ev->at_ms;
    n->spans[0].start_ms = ev->start_ms;
    n->spans[0].end_ms = KF_TIME_NEVER;
    n->n_spans = 1;
    return 0;
}

/* End the open span at `at`: resolved by `who` ("" automatic). */
static int end_span(struct kf_incident *n, int64_t at, const char *who)
{
    struct kf_window *last = &n->spans[n->n_spans - 1];

    if (at < last->start_ms) {
        return -EINVAL;
    }
    last->end_ms = at;
    n->resolved_at_ms = at;
    memcpy(n->resolved_by, who, strlen(who) + 1);
    n->state = KF_INC_RESOLVED;
    return 0;
}

/* REOPEN: a new down span after the incident was resolved (within the reopen window). */
static int ev_reopen(struct kf_incident *n, const struct kf_inc_event *ev, int down)
{
    if (down) {
        return -EPERM;
    }
    if (n->n_spans == KF_INC_SPANS_MAX) {
        return -ENOSPC;
    }
    if (ev->start_ms < n->spans[n->n_spans - 1].end_ms || ev->start_ms > ev->at_ms) {
        return -EINVAL;
    }
    n->spans[n->n_spans].start_ms = ev->start_ms;
    n->spans[n->n_spans].end_ms = KF_TIME_NEVER;
    n->n_spans++;
    n->n_reopened++;
    n->resolved_at_ms = 0;
    n->resolved_by[0] = '\0';
    n->closed_at_ms = 0;
    n->closed_by[0] = '\0';
    n->state = n->on_site_since_ms ? KF_INC_ON_SITE : n->acked_at_ms ? KF_INC_ACKED : KF_INC_OPENED;
    return 0;
}

/* ON_SITE (typed in, or measured: maintenance mode at the terminal) and OFF_SITE (the end of
 * a measured visit). */
static int ev_site(struct kf_incident *n, const struct kf_inc_event *ev, int down, int who)
{
    if (ev->kind == KF_EV_OFF_SITE) {
        if (n->on_site_since_ms == 0) {
            return -EPERM;
        }
        if (ev->at_ms < n->on_site_since_ms) {
            return -EINVAL;
        }
        n->on_site_ms += ev->at_ms - n->on_site_since_ms;
        n->on_site_since_ms = 0;
        if (n->state == KF_INC_ON_SITE) {
            n->state = KF_INC_ACKED;
        }
        return 0;
    }
    if (!who || ev->at_ms < n->spans[0].start_ms) {
        return -EINVAL;
    }
    if (!down) {
        return -EPERM;
    }
    if ((ev->flags & KF_EV_F_MEASURED) ? n->on_site_since_ms != 0 : n->state == KF_INC_ON_SITE) {
        return -EALREADY;
    }
    if (ev->flags & KF_EV_F_MEASURED) {
        n->on_site_since_ms = ev->at_ms;
    }
    if (n->on_site_at_ms == 0) {
        n->on_site_at_ms = ev->at_ms;
        memcpy(n->on_site_by, ev->who, sizeof(n->on_site_by));
    }
    if (n->acked_at_ms == 0) { /* arriving acknowledges */
        n->acked_at_ms = ev->at_ms;
        memcpy(n->acked_by, ev->who, sizeof(n->acked_by));
    }
    n->state = KF_INC_ON_SITE;
    return 0;
}

static int ev_apply(struct kf_incident *n, const struct kf_inc_event *ev)
{
    int down = kf_incident_down(n);
    int who = has(ev->who, sizeof(ev->who));
    int text = has(ev->text, sizeof(ev->text));

    if (strnlen(ev->text, sizeof(ev->text)) == sizeof(ev->text)) {
        return -EINVAL;
    }
    switch (ev->kind) {
    case KF_EV_REOPEN:
        return ev_reopen(n, ev, down);
    case KF_EV_RECOVER:
        return down ? end_span(n, ev->at_ms, "") : -EPERM;
    case KF_EV_ACK:
        if (!who || ev->at_ms < n->spans[0].start_ms) {
            return -EINVAL;
        }
        if (n->acked_at_ms != 0) {
            return -EALREADY;
        }
        if (!down) {
            return -EPERM;
        }
        n->acked_at_ms = ev->at_ms;
        memcpy(n->acked_by, ev->who, sizeof(n->acked_by));
        n->state = KF_INC_ACKED;
        return 0;
    case KF_EV_ON_SITE:
    case KF_EV_OFF_SITE:
        return ev_site(n, ev, down, who);
    case KF_EV_RESOLVE:
        if (!who || !text) {
            return -EINVAL;
        }
        if (!down) {
            return n->state == KF_INC_RESOLVED ? -EALREADY : -EPERM;
        }
        n->n_notes++;
        return end_span(n, ev->at_ms, ev->who);
    case KF_EV_CLOSE:
        if (!who || ev->at_ms < n->resolved_at_ms) {
            return -EINVAL;
        }
        if (n->state != KF_INC_RESOLVED) {
            return n->state == KF_INC_CLOSED ? -EALREADY : -EPERM;
        }
        n->closed_at_ms = ev->at_ms;
        memcpy(n->closed_by, ev->who, sizeof(n->closed_by));
        n->state = KF_INC_CLOSED;
        n->n_notes += text ? 1u : 0u;
        return 0;
    case KF_EV_NOTE:
        if (!who || !text) {
            return -EINVAL;
        }
        n->n_notes++;
        return 0;
    case KF_EV_ATTRIBUTE:
        if (!who || !text || ev->from != n->attr || ev->to < KF_ATTR_COMPANY ||
            ev->to > KF_ATTR_COUNT_) {
            return -EINVAL;
        }
        if (ev->to == n->attr) {
            return -EALREADY;
        }
        n->attr = ev->to;
        n->n_attr_changes++;
        return 0;
    case KF_EV_BREACH:
        if (ev->clock != KF_CLOCK_RESPONSE && ev->clock != KF_CLOCK_RESTORE) {
            return -EINVAL;
        }
        if (n->breached & (1u << ev->clock)) {
            return -EALREADY;
        }
        n->breached |= (uint8_t)(1u << ev->clock);
        return 0;
    default:
        return -EINVAL;
    }
}

int kf_incident_apply(struct kf_incident *inc, const struct kf_inc_event *ev)
{
    struct kf_incident n;
    int rc;

    if (ev->kind == KF_EV_OPEN) {
        if (inc->state != 0) {
            return -EPERM;
        }
        rc = ev_open(&n, ev);
    } else {
        if (inc->state == 0 || ev->incident != inc->id) {
            return -EINVAL;
        }
        n = *inc;
        rc = ev_apply(&n, ev);
    }
    if (rc == 0) {
        *inc = n;
    }
    return rc;
}

/* ---- Clocks ------------------------------------------------------------------------------ */

void kf_incident_clock(const struct kf_incident *inc, int clock, const struct kf_cal *cal,
                       const struct kf_sla_terms *terms, int64_t now_ms, struct kf_inc_clock *ret)
{
    int64_t limit = (clock == KF_CLOCK_RESPONSE ? terms->response_s : terms->restore_s) * 1000;
    int64_t stop = KF_TIME_NEVER, left = limit;
    struct kf_inc_clock c;

    memset(&c, 0, sizeof(c));
    c.due_ms = KF_TIME_NEVER;
    if (clock == KF_CLOCK_RESPONSE && inc->acked_at_ms != 0) {
        stop = inc->acked_at_ms;
    }
    /* The deadline: where the service time inside the (clipped) spans reaches the limit. */
    for (uint32_t i = 0; i < inc->n_spans; i++) {
        int64_t s = inc->spans[i].start_ms;
        int64_t e = inc->spans[i].end_ms < stop ? inc->spans[i].end_ms : stop;
        int64_t x;

        if (e <= s) {
            if (s >= stop) {
                break;
            }
            continue;
        }
        x = e == KF_TIME_NEVER ? KF_TIME_NEVER : kf_calendar_service_ms(cal, s, e);
        if (x >= left) {
            c.due_ms = kf_calendar_add_service(cal, s, left);
            break;
        }
        left -= x;
    }
    for (uint32_t i = 0; i < inc->n_spans; i++) {
        int64_t s = inc->spans[i].start_ms;
        int64_t e = inc->spans[i].end_ms;

        e = e < stop ? e : stop;
        e = e < now_ms ? e : now_ms;
        if (e > s) {
            c.elapsed_ms += kf_calendar_service_ms(cal, s, e);
        }
    }
    c.running = kf_incident_down(inc) && stop == KF_TIME_NEVER;
    c.breached = c.due_ms != KF_TIME_NEVER && c.due_ms <= now_ms;
    if (c.running) {
        if (c.due_ms == KF_TIME_NEVER) {
            c.left_s = INT64_MAX;
        } else if (now_ms < c.due_ms) {
            c.left_s = kf_time_floor_div(kf_calendar_service_ms(cal, now_ms, c.due_ms), 1000);
        } else {
            c.left_s = kf_time_floor_div(-kf_calendar_service_ms(cal, c.due_ms, now_ms), 1000);
        }
    }
    *ret = c;
}
