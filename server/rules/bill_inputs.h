/* rules/bill_inputs.h: how a bill's inputs are made from the month's SLA report and the
 * assets' service intervals (docs/BILLING.md "Operating it"), shared by the operator's side
 * (views/billing.c, from the store) and the bank's offline checker (checker/, from a bundle),
 * so that the two can never build them differently:
 *   - which of an asset's intervals count for the bank, and which bank gets the month's SLA
 *     figures of an asset moved between banks (the one holding it on the last day of the
 *     month it was held at all);
 *   - a terminal row of the report -> struct kf_bill_asset;
 *   - the texts whose digests the bill names as "availability" and "in_service".
 *
 * Pure, any thread.
 */
#ifndef KF_RULES_BILL_INPUTS_H
#define KF_RULES_BILL_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "rules/bill.h"
#include "rules/calendar.h"
#include "rules/report.h"

/* One interval of an asset's service, for some bank. Borrowed strings. */
struct kf_bill_service {
    const char *asset;
    int kind;         /* enum kf_terminal_kind */
    const char *bank; /* the bank it served in this interval */
    const char *zone;
    struct kf_window w; /* [start, end); end KF_TIME_NEVER: open */
};

/* The bank's assets with a day in year-month. svc: every interval of every asset concerned
 * (all banks: an asset's other banks decide who gets its SLA figures), grouped by asset,
 * each asset's by start. rep: the month's report (its terminal rows; NULL: none). A day
 * counts for the bank holding the asset at its last millisecond (rules/bill.h).
 * *ret_assets and *ret_wins owned (free both); the assets borrow ids, zones from svc and
 * intervals from *ret_wins. 0, -EINVAL (not a month), -ENOMEM. */
int kf_bill_inputs_assets(const char *bank, int year, int month, const struct kf_bill_service *svc,
                          size_t n_svc, const struct kf_report *rep,
                          struct kf_bill_asset **ret_assets, size_t *ret_n,
                          struct kf_window **ret_wins);

/* The figures the bill read, one line per asset in input order, tab-separated (the
 * "availability" digest). *ret owned (free), NUL-terminated. 0, -ENOMEM. */
int kf_bill_inputs_availability_text(const struct kf_bill_asset *a, size_t n, char **ret,
                                     size_t *ret_len);
/* The in-service intervals the bill read: asset, from, to (-1: open), one line each (the
 * "in_service" digest). Same convention. */
int kf_bill_inputs_service_text(const struct kf_bill_asset *a, size_t n, char **ret,
                                size_t *ret_len);
/* The service items the figures over the items read: code, then the peripherals it needs by
 * name in their numbering's order, comma-separated, one line each in the order given (the
 * "catalog" digest; callers pass the catalog by code). Same convention. */
int kf_bill_inputs_catalog_text(const char *const *codes, const uint32_t *needs, size_t n,
                                char **ret, size_t *ret_len);

#endif
