/* sla.h: the SLA engine (facts and technicians' actions in, incident events out, breaches
 * detected by tick) and the monthly availability report.
 *
 * The engine is incremental and pure: it never reads a clock, never does I/O, and emits
 * every change as a struct kf_inc_event through one callback, which the wiring persists
 * (the history) and announces (breaches: log line, MQTT topic, webhook). The same engine
 * replays stored facts and actions for a recompute, and the report is computed from
 * incidents (plain data) with the same calendar functions (rules/report.h),
 * so the live view and the monthly figures agree by construction.
 *
 * Rules (docs/SLA.md has them for people):
 *  - An offline condition becomes an incident once it has lasted offline_grace_ms outside
 *    planned maintenance windows; a critical fault at once (or at the end of the window it
 *    was raised in). The incident starts when the condition started, not when it qualified.
 *    A shorter disconnect opens nothing and is not downtime.
 *  - The same terminal+cause starting again at most reopen_window_ms after the incident was
 *    resolved reopens it (same id, a new down span); otherwise a new incident opens.
 *  - An incident resolves itself when its condition clears (at that fact's time), unless a
 *    technician resolved it by hand first; maintenance mode at the terminal records the
 *    technician on site (measured arrival and departure).
 *  - Breaches: a clock's deadline passing while it still runs, for company-attributed
 *    incidents only, announced once per incident and clock (KF_EV_BREACH, at = deadline).
 *    Re-attributing to the company later announces a breach that had been withheld.
 *
 * Threads: one engine = one thread at a time (kioskd's loop, or a recompute). The callback
 * runs synchronously inside the call that caused the event and must not call back into the
 * engine. Pointers returned by the engine stay valid until the next call that changes it.
 */
#ifndef KF_RULES_SLA_H
#define KF_RULES_SLA_H

#include <stddef.h>
#include <stdint.h>

#include "rules/calendar.h"
#include "rules/devstate.h"
#include "rules/incident.h"

#define KF_SLA_GRACE_MS_DEFAULT (120 * 1000LL)
#define KF_SLA_REOPEN_MS_DEFAULT (24 * 3600 * 1000LL)
#define KF_SLA_WINDOWS_MAX 256         /* planned maintenance windows held per terminal */
#define KF_SLA_INCIDENTS_MAX 100000    /* incidents held by one engine */
#define KF_SLA_WHO_TERMINAL "terminal" /* `who` of a measured visit when none was given */

struct kf_sla_config {
    int64_t offline_grace_ms; /* KF_SLA_GRACE_MS_DEFAULT; >= 0 */
    int64_t reopen_window_ms; /* KF_SLA_REOPEN_MS_DEFAULT; >= 0 */
    int64_t next_id;          /* the first incident id to assign (the store's max + 1); >= 1 */
    /* Optional: the id of a terminal's next new incident, instead of next_id (a bank's
     * checker replaying one terminal gives back the ids the live engine assigned in its
     * fleet-wide order; rules/replay.h). Must return ids not yet held, >= 1. */
    int64_t (*id_fn)(void *ud, const char *terminal);
    void *id_ud;
};

void kf_sla_config_defaults(struct kf_sla_config *cfg);

/* Called for every event, after it was applied to *inc (borrowed, for the call only). */
typedef void (*kf_sla_event_cb)(void *ud, const struct kf_inc_event *ev,
                                const struct kf_incident *inc);

struct kf_sla_engine;

/* hol is borrowed (may be NULL) and must outlive the engine. Returns 0, -EINVAL (bad
 * config), -ENOMEM. *ret owned: kf_sla_free. */
int kf_sla_new(const struct kf_sla_config *cfg, const struct kf_holidays *hol, kf_sla_event_cb cb,
               void *ud, struct kf_sla_engine **ret);
void kf_sla_free(struct kf_sla_engine *e); /* NULL is a no-op */

/* Add a terminal or change its week and terms (copied). Open clocks follow the change.
 * 0, -EINVAL, -ENOMEM. */
int kf_sla_terminal_set(struct kf_sla_engine *e, const char *terminal, const struct kf_week *week,
                        const struct kf_sla_terms *terms);
/* Replace a terminal's planned maintenance windows (copied, normalized; at most
 * KF_SLA_WINDOWS_MAX). 0, -ENOENT (unknown terminal), -EINVAL, -E2BIG, -ENOMEM. */
int kf_sla_windows_set(struct kf_sla_engine *e, const char *terminal, const struct kf_window *w,
                       size_t n);

/* Feed one fact of a terminal (in time order per terminal). One older than what the engine
 * holds for the terminal is its backlog: the terminal's state moves at the newest time
 * (never reordered), but a critical fault's down span runs between its true raise and clear
 * (a history incident when over before it was learned; docs/SLA.md 3.1, 10.7). Deadlines
 * and graces due up to the fact's time are processed first.
 * 0, -ENOENT (unknown terminal), -EINVAL (malformed fact), -ENOSPC (incident table full). */
int kf_sla_fact(struct kf_sla_engine *e, const char *terminal, const struct kf_fact *f);

/* What a technician's action needs before it is taken or queued: 0 for a kind (enum kf_ev)
 * that is not a technician's action (OPEN, RECOVER, BREACH... come from the engine only);
 * else KF_SLA_NEEDS_WHO, plus KF_SLA_NEEDS_TEXT for RESOLVE, NOTE and ATTRIBUTE (a reason
 * or a note) and KF_SLA_NEEDS_TO for ATTRIBUTE (the new attribution). Both kf_sla_act and
 * a store queueing an action (kioskctl) decide with it. */
#define KF_SLA_NEEDS_WHO 0x1u
#define KF_SLA_NEEDS_TEXT 0x2u
#define KF_SLA_NEEDS_TO 0x4u
unsigned kf_sla_action_needs(int kind);

/* A technician's action on ev->incident at ev->at_ms: KF_EV_ACK, KF_EV_ON_SITE (typed in,
 * not measured), KF_EV_RESOLVE, KF_EV_CLOSE, KF_EV_NOTE, KF_EV_ATTRIBUTE (ev->to and a
 * reason in ev->text; ev->from is filled in by the engine) or KF_EV_ASSIGN (ev->assignee,
 * "" to clear; work planning only: it changes nothing else in the engine, not even when
 * graces and deadlines are decided): kf_sla_action_needs. Borrows ev.
 * A RESOLVE while the terminal still reports the incident's condition is refused (-EBUSY)
 * unless ev->flags has KF_EV_F_FORCED; a forced one leaves the downtime running until the
 * condition clears. Returns 0 or what kf_incident_apply returns; -ENOENT (unknown
 * incident), -EINVAL (another kind). */
int kf_sla_act(struct kf_sla_engine *e, const struct kf_inc_event *ev);

/* Advance to now: open incidents whose grace has passed, announce breaches whose deadline
 * is <= now (each exactly once), forget closed incidents past their reopen window.
 * Returns the number of breaches announced, or -ENOSPC. */
int kf_sla_tick(struct kf_sla_engine *e, int64_t now_ms);

/* Restart from the store: first every incident not closed, or closed but still inside its
 * reopen window (copied; ids kept; next_id moves past them), then each terminal's state as
 * of its newest applied fact (conditions are rebuilt from it and linked to their
 * incidents); then feed newer facts as usual. 0, -ENOENT, -EEXIST (id held), -ENOSPC. */
int kf_sla_restore_incident(struct kf_sla_engine *e, const struct kf_incident *inc);
int kf_sla_restore_state(struct kf_sla_engine *e, const char *terminal,
                         const struct kf_devstate *st);

/* Lookups; borrowed results, NULL/0 if none. */
const struct kf_incident *kf_sla_incident(const struct kf_sla_engine *e, int64_t id);
int64_t kf_sla_find(const struct kf_sla_engine *e, const char *terminal, const char *cause);
const struct kf_devstate *kf_sla_state(const struct kf_sla_engine *e, const char *terminal);
/* The terminal's service calendar (week, holidays, its windows); borrowed like the above. */
int kf_sla_cal(const struct kf_sla_engine *e, const char *terminal, struct kf_cal *ret_cal,
               struct kf_sla_terms *ret_terms);

/* The technicians' queue: incidents not closed, most urgent first. */
struct kf_sla_queue_row {
    const struct kf_incident *inc; /* borrowed */
    struct kf_inc_clock response, restore;
    int64_t left_s; /* the least time left on a running clock; INT64_MAX if none runs */
};
/* Order: company incidents with a running clock, then other attributions with a running
 * clock, then those not running (resolved, awaiting close); within each, least time left,
 * then earliest deadline, then id. *ret owned (free; NULL when *ret_n is 0). 0, -ENOMEM. */
int kf_sla_queue(const struct kf_sla_engine *e, int64_t now_ms, struct kf_sla_queue_row **ret,
                 size_t *ret_n);

#endif
