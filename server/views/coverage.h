/* views/coverage.h: coverage against the plan at a date (docs/REPORTS.md "Coverage"),
 * assembled from the store (the registry and plan, each terminal's intervals in service, who
 * reported in the 7 days up to the date) and computed by rules/coverage.h against the targets
 * the caller read (fixtures/targets.ini). Reads on one snapshot, writes nothing, reads no
 * clock. Same threading rule as store.h.
 */
#ifndef KF_VIEWS_COVERAGE_H
#define KF_VIEWS_COVERAGE_H

#include <stddef.h>
#include <stdint.h>

#include "rules/coverage.h"
#include "store/store.h"

struct kf_view_coverage_opts {
    int32_t at_day;                            /* the figures hold at the end of this local day */
    const struct kf_coverage_targets *targets; /* borrowed; required */
    /* Zones delisted (摘牌) are the bureau's decisions in the store (zone_decisions,
     * kioskctl assess decide), each from its day: read here, on the same snapshot. */
};

/* cov borrows from the inputs kept in the struct; json is the canonical document
 * ("kioskfleet.coverage/1"), len bytes, NUL-terminated. */
struct kf_view_coverage {
    struct kf_coverage *cov;
    char *json;
    size_t len;
    struct kf__view_coverage_in *in; /* private */
};

/* 0; -EINVAL (no targets, a registry or delisting the rules refuse), or a store error; err
 * (cap bytes) says why. *ret owned: kf_view_coverage_free. */
int kf_view_coverage(struct kf_store *st, const struct kf_view_coverage_opts *o,
                     struct kf_view_coverage **ret, char *err, size_t cap);
void kf_view_coverage_free(struct kf_view_coverage *v); /* NULL is a no-op */

#endif
