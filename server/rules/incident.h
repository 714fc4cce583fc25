/* rules/incident.h: incidents as plain data.
 *
 * A fold, pure and deterministic: events -> struct kf_incident (kf_incident_apply), the
 * lifecycle of one incident. What opens and recovers one is the terminal's state from its
 * facts (rules/devstate.h), watched by the engine in rules/sla.h.
 *
 * An incident is the fold of its events, in order: a store persists the events (the history:
 * who acknowledged, every attribution change with its reason, notes, breaches announced)
 * and rebuilds the struct by applying them again, or persists the struct's fields as they
 * are; both give the same struct. The engine in sla.h produces the events; technicians'
 * actions enter through it too.
 *
 * Clocks (kf_incident_clock) are computed, never stored: from the incident's down spans,
 * its acknowledgement and a service calendar (calendar.h), at an instant passed in. The
 * monthly report (rules/report.h) is computed from incidents with the same functions.
 *
 * Units: instants are UTC ms; 0 means "not set" in the *_at_ms fields. Reported durations
 * are seconds, rounded down (kf_time_floor_div). Nothing here reads a clock, keeps global
 * state or allocates: any thread, given exclusive use of what it writes.
 * Definitions for people: docs/SLA.md.
 */
#ifndef KF_RULES_INCIDENT_H
#define KF_RULES_INCIDENT_H

#include <stddef.h>
#include <stdint.h>

#include <kf/record.h>

#include "rules/calendar.h"
#include "rules/devstate.h"

#define KF_TERMINAL_ID_MAX 48 /* the wiring's terminal key: the asset id (survives a new board) */
#define KF_TEXT_MAX 255       /* a note, a reason, a detail; UTF-8 bytes */
#define KF_CAUSE_MAX KF_FAULT_CODE_MAX
#define KF_CAUSE_OFFLINE "offline" /* the cause key of an offline incident; else a fault code */
#define KF_INC_SPANS_MAX 16        /* down spans of one incident (first + 15 reopenings) */

/* ---- Incidents --------------------------------------------------------------------------- */

enum kf_inc_state {
    KF_INC_OPENED = 1,
    KF_INC_ACKED,   /* acknowledged by someone */
    KF_INC_ON_SITE, /* a technician at the terminal */
    KF_INC_RESOLVED,
    KF_INC_CLOSED,
};

/* Whose fault. Only KF_ATTR_COMPANY counts against the maintenance company's SLA. */
enum kf_attr {
    KF_ATTR_COMPANY = 1,      /* "company" (default) */
    KF_ATTR_BANK_POWER,       /* "bank_power" */
    KF_ATTR_BANK_NETWORK,     /* "bank_network": the branch network */
    KF_ATTR_BANK_CONSUMABLES, /* "bank_consumables": paper etc. the bank must load */
    KF_ATTR_BANK_VANDALISM,   /* "bank_vandalism" */
    KF_ATTR_FORCE_MAJEURE,    /* "force_majeure" */
    KF_ATTR_COUNT_ = KF_ATTR_FORCE_MAJEURE,
};

enum kf_ev {
    KF_EV_OPEN = 1,  /* automatic: a condition lasted past its grace */
    KF_EV_REOPEN,    /* automatic: the same cause returned within the reopen window */
    KF_EV_RECOVER,   /* automatic: the condition cleared; resolves the incident */
    KF_EV_ACK,       /* who */
    KF_EV_ON_SITE,   /* who; flags KF_EV_F_MEASURED when the terminal reported it */
    KF_EV_OFF_SITE,  /* measured visits only: maintenance mode left */
    KF_EV_RESOLVE,   /* manual: who, text (note) */
    KF_EV_CLOSE,     /* who, text (optional note) */
    KF_EV_NOTE,      /* who, text */
    KF_EV_ATTRIBUTE, /* who, from, to, text (the reason; required) */
    KF_EV_BREACH,    /* clock; at = the deadline that passed */
    KF_EV_ASSIGN,    /* who (by whom), assignee ("": cleared), text (optional note); no clock */
    KF_EV_COUNT_ = KF_EV_ASSIGN,
};

enum kf_clock {
    KF_CLOCK_RESPONSE = 1, /* start to acknowledgement */
    KF_CLOCK_RESTORE = 2,  /* start to resolution */
};

#define KF_EV_F_MEASURED 0x1
/* RESOLVE by hand while the terminal still reports the condition (kioskctl resolve --force):
 * the technician's work is over, the downtime goes on until the facts clear (SLA.md 5.2). */
#define KF_EV_F_FORCED 0x2

/* One event in an incident's history. Plain data; unused fields zero. */
struct kf_inc_event {
    int64_t incident;    /* id */
    int64_t at_ms;       /* when it happened (BREACH: the deadline instant) */
    int64_t start_ms;    /* OPEN, REOPEN: the down span's start (the condition's start) */
    uint8_t kind;        /* enum kf_ev */
    uint8_t clock;       /* BREACH: enum kf_clock */
    uint8_t from, to;    /* ATTRIBUTE: enum kf_attr; OPEN: to = initial attribution, 0: company */
    uint8_t flags;       /* KF_EV_F_* */
    uint8_t periph, sev; /* OPEN: the fault's peripheral and severity */
    char terminal[KF_TERMINAL_ID_MAX + 1]; /* OPEN */
    char cause[KF_CAUSE_MAX + 1];          /* OPEN */
    char who[KF_WHO_MAX + 1];
    char text[KF_TEXT_MAX + 1];    /* note, reason, or OPEN's detail */
    char assignee[KF_WHO_MAX + 1]; /* ASSIGN: the technician; "" clears the assignment */
};

/* An incident: the fold of its events. Plain data (fixed sizes, no pointers). */
struct kf_incident {
    int64_t id;
    char terminal[KF_TERMINAL_ID_MAX + 1];
    char cause[KF_CAUSE_MAX + 1]; /* KF_CAUSE_OFFLINE or a fault code */
    uint8_t periph, sev;          /* the fault's peripheral (0: device-wide or offline) */
    uint8_t state;                /* enum kf_inc_state */
    uint8_t attr;                 /* enum kf_attr */
    uint8_t breached;             /* bit (1 << clock): a breach was announced (history) */
    uint8_t forced;               /* resolved by hand while the condition was still reported */
    char detail[KF_TEXT_MAX + 1];
    int64_t opened_at_ms; /* when the first span qualified as an incident */
    int64_t acked_at_ms;
    char acked_by[KF_WHO_MAX + 1];
    int64_t on_site_at_ms; /* first arrival */
    char on_site_by[KF_WHO_MAX + 1];
    int64_t on_site_since_ms; /* a measured visit in progress (0: none) */
    int64_t on_site_ms;       /* measured on-site time over finished visits */
    int64_t resolved_at_ms;
    char resolved_by[KF_WHO_MAX + 1]; /* "" when resolved automatically */
    int64_t closed_at_ms;
    char closed_by[KF_WHO_MAX + 1];
    /* The technician it is assigned to ("": nobody). Work planning only: no clock, state,
     * attribution or figure depends on it (docs/SLA.md 5.2). */
    char assignee[KF_WHO_MAX + 1];
    uint32_t n_reopened, n_attr_changes, n_notes;
    uint32_t n_spans;
    struct kf_window
        spans[KF_INC_SPANS_MAX]; /* down spans; the last ends KF_TIME_NEVER while down */
};

/* Apply one event to inc (zeroed before OPEN). Returns 0; -EINVAL (malformed: missing who or
 * reason, bad enum, a time before the incident began, another incident's id), -EPERM (not
 * allowed in this state: acknowledge a resolved incident, close an open one...), -EALREADY
 * (already so: acknowledged twice, attributed to what it is), -ENOSPC (spans full). inc is
 * unchanged on error. */
int kf_incident_apply(struct kf_incident *inc, const struct kf_inc_event *ev);

/* Is the incident down now (its last span open)? */
int kf_incident_down(const struct kf_incident *inc);

/* History: resolved, and over before the engine learned of it (a fault raised and cleared
 * in a terminal's backlog: resolved before it opened). It counts in every figure, at its
 * true instants, but is not in the technicians' queue (docs/SLA.md 10.7). */
int kf_incident_history(const struct kf_incident *inc);

/* Names: "opened", "acknowledged", "on_site", "resolved", "closed"; attributions as in
 * enum kf_attr; events "open", "reopen", "recover", "ack", "on_site", "off_site", "resolve",
 * "close", "note", "attribute", "breach", "assign"; clocks "response", "restore". NULL if out of
 * range.
 * *_parse take a name back to its value (s may be NULL): 0 or -EINVAL, *ret written only on
 * success. The store keeps these names as text; they are its only copy of the tables. */
const char *kf_incident_state_name(int v);
const char *kf_incident_attr_name(int v);
const char *kf_incident_ev_name(int v);
const char *kf_incident_clock_name(int v);
int kf_incident_state_parse(const char *s, int *ret);
int kf_incident_attr_parse(const char *s, int *ret);
int kf_incident_ev_parse(const char *s, int *ret);
int kf_incident_clock_parse(const char *s, int *ret);

/* ---- Clocks ------------------------------------------------------------------------------ */

/* A contract's SLA terms, all in service time. */
struct kf_sla_terms {
    int64_t response_s; /* start to acknowledgement, > 0 */
    int64_t restore_s;  /* start to resolution, > 0 */
    int32_t target_bp;  /* monthly availability target, basis points (9800 = 98.00 %) */
};

struct kf_inc_clock {
    uint8_t running;    /* still counting at now */
    uint8_t breached;   /* the deadline came (<= now) before the clock stopped; any attribution */
    int64_t due_ms;     /* the deadline; KF_TIME_NEVER: none (stopped in time, never reached) */
    int64_t elapsed_ms; /* service ms counted up to min(now, stop) */
    int64_t left_s;     /* running: service seconds left at now (floor; negative once past due;
                           INT64_MAX when due is KF_TIME_NEVER); 0 when stopped */
};

/* One clock of an incident at `now`. The response clock counts service time inside the down
 * spans until the acknowledgement; the restore clock, inside the down spans. Service time is
 * cal's (scheduled, not in a maintenance window). A deadline is met by an action strictly
 * before it: at due_ms the clock has run out. */
void kf_incident_clock(const struct kf_incident *inc, int clock, const struct kf_cal *cal,
                       const struct kf_sla_terms *terms, int64_t now_ms, struct kf_inc_clock *ret);

#endif
