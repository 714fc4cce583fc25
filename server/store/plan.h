/* store/plan.h: the programme's plan and the per-zone figures the bureau's assessment reads
 * (docs/REPORTS.md 3.11): the zones with their unit, bank, planned terminals and hours; the
 * usage of each zone by day; the items each zone used; the days on which a zone's terminals
 * sent data. Reads only; same threading rule as store.h; arrays returned are owned (free).
 */
#ifndef KF_STORE_PLAN_H
#define KF_STORE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "rules/incident.h"
#include "store/store.h"

struct kf_plan_zone {
    char id[KF_TERMINAL_ID_MAX + 1];
    char unit[KF_TERMINAL_ID_MAX + 1];
    char bank[KF_TERMINAL_ID_MAX + 1];
    uint32_t kiosks, itms; /* planned */
    char hours[256];       /* zones.hours: {"weekday": spec, "weekend": spec|null} */
};
/* Every zone of the plan, by id. */
int kf_store_plan_zones(struct kf_store *st, struct kf_plan_zone **ret, size_t *ret_n);

/* A zone's transactions on one local day (usage_daily summed over its terminals and items). */
struct kf_plan_zone_day {
    char zone[KF_TERMINAL_ID_MAX + 1];
    int32_t day;
    int64_t ok, failed, abandoned;
};
/* Local days [from_day, to_day), by zone, day; only days with a transaction. */
int kf_store_plan_usage_days(struct kf_store *st, int32_t from_day, int32_t to_day,
                             struct kf_plan_zone_day **ret, size_t *ret_n);

/* A catalog item a zone completed at least once in [from_day, to_day), and the last day it
 * did (so that a caller can cut the range shorter at its start). By zone, item. Items not in
 * the catalog are left out. */
struct kf_plan_zone_item {
    char zone[KF_TERMINAL_ID_MAX + 1];
    char item[KF_TERMINAL_ID_MAX + 1];
    int32_t last_day;
};
int kf_store_plan_items_used(struct kf_store *st, int32_t from_day, int32_t to_day,
                             struct kf_plan_zone_item **ret, size_t *ret_n);
/* The catalog's size. */
int kf_store_plan_catalog_size(struct kf_store *st, uint32_t *ret);

/* The local days in [from_day, to_day) on which a zone's terminals sent data: a transaction
 * (usage_daily) or a device fact (sla_facts: a peripheral's state, a fault, maintenance
 * mode, a connection), by the asset's zone. By zone, day, unique. */
struct kf_plan_data_day {
    char zone[KF_TERMINAL_ID_MAX + 1];
    int32_t day;
};
int kf_store_plan_data_days(struct kf_store *st, int32_t from_day, int32_t to_day,
                            struct kf_plan_data_day **ret, size_t *ret_n);

#endif
