/* store/reports.h: what the bureau's reports read (docs/REPORTS.md): the registry with the
 * plan (units, banks, zones with their planned terminals and hours, families, items), the
 * usage rows of a range of local days, and which terminals kioskd saw online in a period.
 * The weekly report and coverage (views/week.h, views/coverage.h) assemble these with the
 * SLA's and billing's reads (store/sla.h, store/billing.h) and compute with rules/week.h.
 *
 * Read-only, never on the ingest path: statements are prepared per call. A caller that
 * wants every read on one snapshot wraps them in kf_store_snapshot_begin .. kf_store_end.
 * Same threading rule as store.h. 0 or a negative errno (details in kf_store_errmsg);
 * outputs written only on success; arrays returned are owned (free()).
 */
#ifndef KF_STORE_REPORTS_H
#define KF_STORE_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include <kf/record.h>

#include "rules/calendar.h"
#include "rules/incident.h"
#include "store/store.h"

#define KF_REPORTS_NAME_MAX 255

/* A code and its name: a unit, a bank, a family or an item (with its family). */
struct kf_reports_name {
    char code[KF_TERMINAL_ID_MAX + 1];
    char name[KF_REPORTS_NAME_MAX + 1];
    char family[KF_TERMINAL_ID_MAX + 1]; /* items only */
};
/* Every one of a kind ("unit", "bank", "family", "item"; else -EINVAL), by code. */
int kf_store_reports_names(struct kf_store *st, const char *kind, struct kf_reports_name **ret,
                           size_t *ret_n);

/* A zone of the plan with the hours of its kiosks and of its ITMs
 * (kf_calendar_week_for_terminal of zones.hours and zones.itm_hours). */
struct kf_reports_zone {
    char id[KF_TERMINAL_ID_MAX + 1];
    char name[KF_REPORTS_NAME_MAX + 1];
    char branch[KF_REPORTS_NAME_MAX + 1];
    char unit[KF_TERMINAL_ID_MAX + 1], bank[KF_TERMINAL_ID_MAX + 1];
    int64_t kiosks, itms; /* planned */
    struct kf_week kiosk_week, itm_week;
};
/* Every zone, by id. -EINVAL: a zone's hours are not valid (the message names it). */
int kf_store_reports_zones(struct kf_store *st, struct kf_reports_zone **ret, size_t *ret_n);

/* usage_daily over inclusive local days [from_day, to_day], summed over each asset's devices:
 * by day, zone, asset, item (byte order). Item codes the catalog does not know are returned as
 * stored. */
struct kf_reports_usage {
    int32_t day;
    char zone[KF_TERMINAL_ID_MAX + 1], asset[KF_TERMINAL_ID_MAX + 1];
    char item[KF_ITEM_CODE_MAX + 1];
    int64_t ok, failed, abandoned;
};
int kf_store_reports_usage(struct kf_store *st, int32_t from_day, int32_t to_day,
                           struct kf_reports_usage **ret, size_t *ret_n);
/* The same rows, one call of cb each, in the same order (by day, then zone, asset and item in
 * byte order, as strcmp compares them) without holding them all: read in usage_daily's key
 * order and summed over each day's devices here (SQLite's GROUP BY would sort the period's
 * rows). The codes are interned: one pointer per distinct code for the whole read (a caller
 * may key on the pointers), valid until kf_store_reports_usage_each returns, and cut to the
 * lengths kf_reports_usage holds. A negative return of cb ends the read and is returned. */
struct kf_reports_usage_ref {
    int32_t day;
    const char *zone, *asset, *item;
    int64_t ok, failed, abandoned;
};
typedef int (*kf_reports_usage_cb)(void *ud, const struct kf_reports_usage_ref *u);
int kf_store_reports_usage_each(struct kf_store *st, int32_t from_day, int32_t to_day,
                                kf_reports_usage_cb cb, void *ud);

/* The assets kioskd saw online at some instant of [from_ms, to_ms), by id: a presence-online
 * fact in the period, or online when it began (the asset's last presence fact before it,
 * in commit order, says online). From sla_facts, which holds presence changes only. */
int kf_store_reports_online(struct kf_store *st, int64_t from_ms, int64_t to_ms,
                            char (**ret)[KF_TERMINAL_ID_MAX + 1], size_t *ret_n);

#endif
