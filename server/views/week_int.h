/* views/week_int.h: shared by views/week.c and views/coverage.c, not part of kf_views'
 * contract. The registry as the bureau's reports read it (store/reports.h, store/billing.h),
 * turned into the rules' inputs (rules/week.h): names, zones with their plan and hours, and
 * one terminal entry per asset and zone with its intervals in service there. Same threading
 * rule as store.h.
 */
#ifndef KF_VIEWS_WEEK_INT_H
#define KF_VIEWS_WEEK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rules/week.h"
#include "store/billing.h"
#include "store/reports.h"
#include "store/store.h"

struct kf__view_registry {
    struct kf_reports_name *units, *banks, *families, *items;
    size_t n_units, n_banks, n_families, n_items;
    struct kf_reports_zone *zones;
    size_t n_zones;
    struct kf_billing_service *svc;
    size_t n_svc;
    struct kf_reports_usage *usage;
    size_t n_usage;
    /* The rules' inputs, borrowing from the above. */
    struct kf_week_name *wunits, *wbanks, *wfamilies;
    struct kf_week_item *witems;
    struct kf_week_zone_in *wzones;
    struct kf_week_terminal_in *wterms;
    size_t n_wterms;
    struct kf_window *wins; /* the terminals' intervals, each entry's a slice */
    struct kf_week_usage_in *wusage;
};

/* Load the registry and the terminal entries. 0 or -errno with err set. */
int kf__view_registry_load(struct kf_store *st, struct kf__view_registry *r, char *err, size_t cap);
/* Set wterms[].online for the assets seen online in [from_ms, to_ms). */
int kf__view_registry_online(struct kf_store *st, struct kf__view_registry *r, int64_t from_ms,
                             int64_t to_ms, char *err, size_t cap);
/* The usage rows of [from_day, to_day] into usage and wusage. */
int kf__view_registry_usage(struct kf_store *st, struct kf__view_registry *r, int32_t from_day,
                            int32_t to_day, char *err, size_t cap);
void kf__view_registry_close(struct kf__view_registry *r); /* a zeroed one is a no-op */

/* The weekly report's usage (views/week_usage.c): the rows of the week starting on local day
 * first and of the week before, leaving out the zones drop[0..n_drop), read once. hex: the
 * usage input's digest (rules/week.h KF_WEEK_TEXT_USAGE's text, byte for byte, digested as
 * the rows are read); rows: their sums by week (day: the week's Monday), zone, asset and item,
 * for kf_week_compute, borrowing names. 0 or -errno with err set; closed on failure. */
struct kf__view_week_usage {
    char hex[65];
    struct kf_week_usage_in *rows;
    size_t n;
    char **names;
    size_t n_names;
};
int kf__view_week_usage(struct kf_store *st, int32_t first, char (*drop)[KF_TERMINAL_ID_MAX + 1],
                        size_t n_drop, struct kf__view_week_usage *ret, char *err, size_t cap);
void kf__view_week_usage_close(struct kf__view_week_usage *u); /* a zeroed one is a no-op */

/* Begin a read transaction for one snapshot unless the caller holds one (then theirs is the
 * snapshot): *ret_own says whether to end it (kf_store_end(st, 0)). */
int kf__view_snapshot(struct kf_store *st, int *ret_own);
/* "what: <store message or errno text>" into err; returns r. */
int kf__view_fail(struct kf_store *st, int r, const char *what, char *err, size_t cap);
/* BLAKE2b-256 (hex) of a canonical text made by fn (0 or -errno; the text is freed). */
int kf__view_text_digest(int rc, char *text, size_t len, char hex[65]);

#endif
