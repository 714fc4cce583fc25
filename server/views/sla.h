/* views/sla.h: read-only views of fleet state and the SLA, computed from the store with the
 * same pure functions kioskd uses (rules/: sla.h, devstate.h, incident.h, calendar.h): the
 * technicians' queue, the terminals' current state, and the monthly report. For kioskctl
 * and the tests.
 *
 * Nothing here writes: the queue is computed by an engine restored from the stored
 * incidents, terminals, windows and calendars, asked for kf_sla_queue at an instant, and
 * thrown away; it is never fed a fact, ticked or persisted (kioskd is the only process whose
 * engine decides anything). The calendars are the ones kioskd stored (sla_calendars), so a
 * report is a function of the database alone. Same threading rule as store.h.
 */
#ifndef KF_VIEWS_SLA_H
#define KF_VIEWS_SLA_H

#include <stddef.h>
#include <stdint.h>

#include "rules/devstate.h"
#include "rules/incident.h"
#include "rules/report.h"
#include "rules/sla.h"
#include "store/store.h"
#include "store/sla.h"

/* The calendars kioskd stored (sla_calendars), loaded. *ret owned (kf_holidays_free).
 * 0 or -errno with err set. */
int kf_view_sla_holidays(struct kf_store *st, struct kf_holidays **ret, char *err, size_t cap);

/* The technicians' queue at now_ms: rows in kf_sla_queue's order, each with its terminal
 * (zone, bank, device). Owned: kf_view_sla_queue_free. */
struct kf_view_sla_queue {
    struct kf_sla_engine *e; /* the read-only engine the rows borrow from */
    struct kf_holidays *hol;
    struct kf_sla_queue_row *rows;
    const struct kf_sla_terminal **terms; /* per row; NULL if the asset is gone */
    size_t n;
    struct kf_sla_terminal *all; /* every terminal, by asset id */
    size_t n_all;
};
int kf_view_sla_queue(struct kf_store *st, int64_t now_ms, struct kf_view_sla_queue **ret,
                      char *err, size_t cap);
void kf_view_sla_queue_free(struct kf_view_sla_queue *q); /* NULL is a no-op */

/* One incident with its clocks at now_ms, its terminal and history. */
struct kf_view_sla_incident {
    struct kf_incident inc;
    struct kf_sla_terminal term; /* zeroed if the asset is gone */
    struct kf_inc_clock response, restore;
    struct kf_sla_event_row *events;
    size_t n_events;
};
int kf_view_sla_incident(struct kf_store *st, int64_t id, int64_t now_ms,
                         struct kf_view_sla_incident **ret, char *err, size_t cap);
void kf_view_sla_incident_free(struct kf_view_sla_incident *v);

/* A terminal's current state as kioskd's engine last saw it. */
struct kf_view_sla_state {
    struct kf_sla_terminal term;
    int known; /* 0: no fact seen yet (status unknown) */
    struct kf_devstate st;
    int status;       /* enum kf_term_status, 0 when unknown */
    size_t items_out; /* service items out of service */
    size_t items;     /* service items in the catalog (every terminal offers them all) */
};
/* Every terminal (target NULL) or one (a device id or an asset id). -ENOENT: none such. */
int kf_view_sla_states(struct kf_store *st, const char *target, struct kf_view_sla_state **ret,
                       size_t *ret_n, char *err, size_t cap);
/* A page of the terminals: keep (NULL: all) is asked about each terminal's own fields
 * (asset, device, zone, bank, unit, kind: nothing of its state), and of those it keeps, in
 * asset order, [offset, offset + limit) are read with their state; total is set to how many
 * it kept. Only the page's states are read and parsed. */
struct kf_view_sla_page {
    int (*keep)(const struct kf_sla_terminal *t, void *ud);
    void *ud;
    size_t offset, limit;
    size_t total; /* out */
};
int kf_view_sla_states_page(struct kf_store *st, struct kf_view_sla_page *pg,
                            struct kf_view_sla_state **ret, size_t *ret_n, char *err, size_t cap);
/* Each zone's terminals and how many are in service now (up or degraded: the count
 * kf_view_sla_states' statuses give), from the state's columns (kf_store_sla_zone_counts)
 * with the catalog's needs: no state parsed. Rows by zone id; *ret owned (free). */
int kf_view_sla_zone_counts(struct kf_store *st, struct kf_sla_zone_count **ret, size_t *ret_n,
                            char *err, size_t cap);
/* The codes of the items out of service in v (at most cap written; returns how many). */
size_t kf_view_sla_items_out(struct kf_store *st, const struct kf_view_sla_state *v,
                             const char **codes_out, char (*buf)[KF_ITEM_CODE_MAX + 1], size_t cap);

/* The month's report (docs/SLA.md section 7) for every terminal. as_of_ms 0: the end of the
 * month if kioskd's engine has processed past it, else the instant it last ticked to (so
 * the same database always gives the same report); *ret_as_of says which. -ENOENT (with
 * err) when no stored calendar covers the period. */
int kf_view_sla_report(struct kf_store *st, int year, int month, int64_t as_of_ms,
                       struct kf_report **ret, int64_t *ret_as_of, char *err, size_t cap);
/* The same with the incidents as the engine had them at cut_ms (0: as now;
 * kf_store_sla_incidents_at): an issued bill's figures, cut at its month's close. */
int kf_view_sla_report_cut(struct kf_store *st, int year, int month, int64_t as_of_ms,
                           int64_t cut_ms, struct kf_report **ret, int64_t *ret_as_of, char *err,
                           size_t cap);

#endif
