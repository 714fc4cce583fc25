/* views/week.h: the bureau's weekly report for one ISO week (docs/REPORTS.md), assembled from
 * the store and computed by rules/week.h: the registry and the plan (store/reports.h), each
 * terminal's intervals in service (store/billing.h), the usage rows of the week and the week
 * before, who was online (sla_facts), the availability of both weeks by the SLA report's own
 * code (rules/report.h, kf_report_range, over the stored incidents, windows and calendars),
 * the incidents open at the week's end, and the digests of those inputs.
 *
 * Every read is made on one snapshot (a read transaction opened here when the caller has none
 * open), so the document is a function of one state of the database: the same database and
 * the same options give the same bytes. Nothing here writes and nothing reads a clock: a
 * caller says whether the week has closed (kf_week_close_ms) and where to cut.
 *
 * Freezing a closed week (storing, signing, recomputing it) is the caller's: call
 * kf_view_week_json with .as_of_ms = the week's end and .cut_ms = the instant it is frozen,
 * store the bytes; a recompute with the same options and an unchanged store gives the same
 * bytes, and otherwise the "inputs" digests say which input changed (usage rows arriving late,
 * a terminal commissioned afterwards...). Same threading rule as store.h.
 */
#ifndef KF_VIEWS_WEEK_H
#define KF_VIEWS_WEEK_H

#include <stddef.h>
#include <stdint.h>

#include "rules/week.h"
#include "store/store.h"

struct kf_view_week_opts {
    /* The week has not closed (kf_week_close_ms is after now): computed all the same from
     * what is stored, and marked "draft": true. */
    int draft;
    /* Availability up to this instant (at most the week's end). 0: the week's end when
     * kioskd's SLA engine has processed past it, else the instant it last ticked to (what
     * kioskctl sla does), so that incidents are complete up to the cut. */
    int64_t as_of_ms;
    /* Incidents as the engine had left them at cut_ms (kf_store_sla_incidents_at), as an
     * issued bill takes them at its close; 0: as they are now. */
    int64_t cut_ms;
};

/* The computed week. rep borrows from the inputs kept in the struct; json is the canonical
 * document (kf_week_json), len bytes, NUL-terminated. */
struct kf_view_week {
    struct kf_week_report *rep;
    char *json;
    size_t len;
    struct kf__view_week_in *in; /* what rep borrows; private */
};

/* Compute iso_year-Wiso_week. o may be NULL (all defaults). 0; -EINVAL (no such week, a
 * registry the rules refuse), -ENOENT (no stored calendar covers the two weeks: as the
 * monthly report, a week is never computed with the wrong holidays), or a store error; err
 * (cap bytes) says why. *ret owned: kf_view_week_free. */
int kf_view_week(struct kf_store *st, int iso_year, int iso_week, const struct kf_view_week_opts *o,
                 struct kf_view_week **ret, char *err, size_t cap);
void kf_view_week_free(struct kf_view_week *v); /* NULL is a no-op */

/* The canonical JSON bytes alone ("kioskfleet.week/1"): *ret_json owned (free),
 * NUL-terminated, *ret_len bytes. Same errors as kf_view_week. */
int kf_view_week_json(struct kf_store *st, int iso_year, int iso_week,
                      const struct kf_view_week_opts *o, char **ret_json, size_t *ret_len,
                      char *err, size_t cap);

#endif
