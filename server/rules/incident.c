/* incident.c: the incident lifecycle as a fold of events, and the SLA clocks computed from
 * an incident and a service calendar. Device state is in devstate.c, the monthly report in
 * report.c. */
#include "rules/incident.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

static const char *const state_names[] = {NULL,      "opened",   "acknowledged",
                                          "on_site", "resolved", "closed"};
static const char *const attr_names[] = {NULL,           "company",          "bank_power",
                                         "bank_network", "bank_consumables", "bank_vandalism",
                                         "force_majeure"};
static const char *const ev_names[] = {NULL,        "open",     "reopen",  "recover", "ack",
                                       "on_site",   "off_site", "resolve", "close",   "note",
                                       "attribute", "breach",   "assign"};

static const char *const clock_names[] = {NULL, "response", "restore"};

const char *kf_incident_state_name(int v)
{
    return v >= KF_INC_OPENED && v <= KF_INC_CLOSED ? state_names[v] : NULL;
}

const char *kf_incident_attr_name(int v)
{
    return v >= KF_ATTR_COMPANY && v <= KF_ATTR_COUNT_ ? attr_names[v] : NULL;
}

const char *kf_incident_ev_name(int v)
{
    return v >= KF_EV_OPEN && v <= KF_EV_COUNT_ ? ev_names[v] : NULL;
}

const char *kf_incident_clock_name(int v)
{
    return v >= KF_CLOCK_RESPONSE && v <= KF_CLOCK_RESTORE ? clock_names[v] : NULL;
}

/* names[lo..hi] -> its index; 0 or -EINVAL (*ret untouched). */
static int name_parse(const char *const *names, int lo, int hi, const char *s, int *ret)
{
    for (int i = lo; s != NULL && i <= hi; i++) {
        if (strcmp(s, names[i]) == 0) {
            *ret = i;
            return 0;
        }
    }
    return -EINVAL;
}

int kf_incident_state_parse(const char *s, int *ret)
{
    return name_parse(state_names, KF_INC_OPENED, KF_INC_CLOSED, s, ret);
}

int kf_incident_attr_parse(const char *s, int *ret)
{
    return name_parse(attr_names, KF_ATTR_COMPANY, KF_ATTR_COUNT_, s, ret);
}

int kf_incident_ev_parse(const char *s, int *ret)
{
    return name_parse(ev_names, KF_EV_OPEN, KF_EV_COUNT_, s, ret);
}

int kf_incident_clock_parse(const char *s, int *ret)
{
    return name_parse(clock_names, KF_CLOCK_RESPONSE, KF_CLOCK_RESTORE, s, ret);
}

int kf_incident_down(const struct kf_incident *inc)
{
    return inc->n_spans > 0 && inc->spans[inc->n_spans - 1].end_ms == KF_TIME_NEVER;
}

int kf_incident_history(const struct kf_incident *inc)
{
    return inc->state == KF_INC_RESOLVED && inc->resolved_at_ms < inc->opened_at_ms;
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
    if (n->state == KF_INC_RESOLVED) {
        return 0; /* forced earlier: the facts end the downtime, the technician's resolve stays */
    }
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
    if (!down || n->state == KF_INC_RESOLVED) {
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
        if (!down || n->state == KF_INC_RESOLVED) {
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
        if (!down || n->state == KF_INC_RESOLVED) {
            return n->state == KF_INC_RESOLVED ? -EALREADY : -EPERM;
        }
        n->n_notes++;
        if (ev->flags & KF_EV_F_FORCED) {
            /* The span stays open: downtime follows the facts, not the technician's word. */
            n->forced = 1;
            n->resolved_at_ms = ev->at_ms;
            memcpy(n->resolved_by, ev->who, sizeof(n->resolved_by));
            n->state = KF_INC_RESOLVED;
            return 0;
        }
        return end_span(n, ev->at_ms, ev->who);
    case KF_EV_CLOSE:
        if (!who || ev->at_ms < n->resolved_at_ms) {
            return -EINVAL;
        }
        if (n->state != KF_INC_RESOLVED || down) { /* down: forced, still reported */
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
    case KF_EV_ASSIGN:
        /* Work planning: touches no clock, span, state or attribution. A closed incident
         * has nothing left to do; assigning what it already is changes nothing. */
        if (!who || ev->at_ms < n->spans[0].start_ms ||
            strnlen(ev->assignee, sizeof(ev->assignee)) == sizeof(ev->assignee)) {
            return -EINVAL;
        }
        if (n->state == KF_INC_CLOSED) {
            return -EPERM;
        }
        if (strcmp(n->assignee, ev->assignee) == 0) {
            return -EALREADY;
        }
        memcpy(n->assignee, ev->assignee, sizeof(n->assignee));
        n->n_notes += text ? 1u : 0u;
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
