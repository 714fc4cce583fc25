/* store/plan.h: the programme's plan and the per-zone figures the bureau's assessment reads
 * (docs/REPORTS.md 3.11): the zones with their unit, bank, planned terminals and hours; the
 * usage of each zone by item over a range of days; the days on which a zone's terminals
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

/* A zone's transactions of one item over a range of local days: usage_daily summed over the
 * zone's terminals, read from the coarsest of it and its rollups that sum to exactly the
 * range (docs/STORE.md, "Usage rollups"). in_catalog: the catalog has the item. */
struct kf_plan_zone_usage {
    char zone[KF_TERMINAL_ID_MAX + 1];
    char item[KF_TERMINAL_ID_MAX + 1];
    uint8_t in_catalog;
    int64_t ok, failed, abandoned;
};
/* Local days [from_day, to_day), by zone, item; only pairs with a transaction (items the
 * catalog does not know included, in_catalog 0). */
int kf_store_plan_zone_usage(struct kf_store *st, int32_t from_day, int32_t to_day,
                             struct kf_plan_zone_usage **ret, size_t *ret_n);
/* The catalog's size. */
int kf_store_plan_catalog_size(struct kf_store *st, uint32_t *ret);

/* The local days in [from_day, to_day) on which a zone's terminals sent data: a record of
 * any kind (device_days, schema v14) or a device fact (sla_facts: a peripheral's state, a
 * fault, maintenance mode, a connection), by the asset's zone. By zone, day, unique. */
struct kf_plan_data_day {
    char zone[KF_TERMINAL_ID_MAX + 1];
    int32_t day;
};
int kf_store_plan_data_days(struct kf_store *st, int32_t from_day, int32_t to_day,
                            struct kf_plan_data_day **ret, size_t *ret_n);

#endif
