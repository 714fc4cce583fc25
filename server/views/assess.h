/* views/assess.h: the half-year assessment from the store (docs/REPORTS.md 3.11): every
 * zone's inputs gathered on one snapshot, the rubric in force, kf_assess_compute, and the
 * canonical document with the digests of its inputs; the standing of every zone from the
 * issued assessments and the bureau's decisions.
 */
#ifndef KF_VIEWS_ASSESS_H
#define KF_VIEWS_ASSESS_H

#include <stddef.h>
#include <stdint.h>

#include "rules/assess.h"
#include "store/query.h"
#include "store/store.h"

struct kf_view_assess_opts {
    int status;             /* enum kf_assess_status: KF_ASSESS_DRAFT or ISSUED */
    int64_t issued_at_ms;   /* issued */
    int32_t version;        /* issued: 1, or n + 1 superseding n */
    const char *supersedes; /* version > 1: the digest of version n */
    const char *reason;     /* version > 1 */
};

/* The assessment of period ("2026-H1"). *ret_a (kf_assess_free) and *ret_json (free) owned;
 * either may be NULL when not wanted. 0, or -errno with err saying why (no rubric in force,
 * no calendar for the year, a zone's hours not valid...). */
int kf_view_assess(struct kf_store *st, const char *period, const struct kf_view_assess_opts *o,
                   struct kf_assessment **ret_a, char **ret_json, char *err, size_t cap);

/* The options an issued document was computed with, read back from its JSON (so that a
 * recompute has the same bytes when the inputs did not change). 0 or -EINVAL. */
int kf_view_assess_opts_of(const char *json, struct kf_view_assess_opts *o, char *supersedes,
                           size_t sup_cap, char *reason, size_t reason_cap);

/* One zone's standing over the issued assessments (the latest version of each period) and
 * the bureau's decisions. */
struct kf_view_standing {
    char zone[KF_TERMINAL_ID_MAX + 1];
    char unit[KF_TERMINAL_ID_MAX + 1];
    char bank[KF_TERMINAL_ID_MAX + 1];
    struct kf_assess_standing s;
    uint8_t last_result; /* enum kf_assess_result in the last period, 0: none */
    int32_t last_total_cp;
    /* Not "": the zone's history is refused (an issued document edited by hand, a decision
     * an assessment superseded since made impossible): why; s is then not set. */
    char problem[160];
};
/* Every zone's standing, by zone. extra (may be NULL): a decision to add at the end of its
 * zone's history, to check it before it is recorded: its zone's refusal is then the
 * function's (-EINVAL, err); any other zone's is its `problem`. */
struct kf_zone_decision_row;
int kf_view_assess_standings(struct kf_store *st, const struct kf_zone_decision_row *extra,
                             struct kf_view_standing **ret, size_t *ret_n, char *err, size_t cap);

/* The standings v[0..n) as the table kioskctl prints (assess standing, assess watchlist) and
 * kiosk-web serves (GET /api/v1/watchlist): zone, unit, bank, standing ("?" when refused),
 * streak, last_period, last_result, last_total, delisted_from, problem. Only zone's row when
 * zone is set (may be NULL); watchlist: the table "watchlist", only the zones that failed the
 * last period, those proposed for delisting and those refused; else "standing", every zone.
 * Borrows v; an owned table, or NULL when out of memory. Any thread. */
struct kf_qtable *kf_view_assess_standings_table(const struct kf_view_standing *v, size_t n,
                                                 const char *zone, int watchlist);

#endif
