/* rules/report.h: the monthly availability report, computed from incidents (plain data,
 * rules/incident.h) with the same calendar functions as the live clocks, so the live view
 * and the monthly figures agree by construction. Per terminal from its incidents, windows
 * and service calendar, then roll-ups by zone, bank and fleet that add seconds and divide
 * once. Pure and deterministic: the same inputs give the same bytes; any thread.
 * docs/SLA.md sections 7 and 8.
 */
#ifndef KF_RULES_REPORT_H
#define KF_RULES_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "rules/calendar.h"
#include "rules/incident.h"

/* One terminal's inputs. All borrowed. incidents: this terminal's (others are ignored),
 * any state, any month; windows in any order. */
struct kf_report_terminal {
    const char *terminal, *zone, *bank;
    const struct kf_week *week;
    const struct kf_sla_terms *terms;
    const struct kf_window *windows;
    size_t n_windows;
    const struct kf_incident *incidents;
    size_t n_incidents;
    /* In scheduled service only inside these intervals (commissioning to decommissioning,
     * any order); NULL/0: always (a caller that keeps no such record). */
    const struct kf_window *service;
    size_t n_service;
    /* The terminal's first report (presence online, or the first records it sent), 0: never.
     * Scheduled time from the start of its first service interval until then is company downtime: a
     * commissioned terminal that has not reported is down, not available (docs/SLA.md 7). Applied
     * only with service intervals. */
    int64_t first_online_ms;
    /* The service items it offers, each as the peripherals it needs (rules/devstate.h: bit
     * 1 << periph), for availability over the items; NULL/0: none (items_availability_bp NA).
     * An item is down while a company incident on a peripheral it needs is down (an offline
     * or device-wide incident, peripheral 0, stops every item) and until the first report;
     * every item counts the same (docs/SLA.md 7). */
    const uint32_t *item_needs;
    size_t n_items;
};

enum kf_report_scope {
    KF_SCOPE_TERMINAL = 1,
    KF_SCOPE_ZONE,
    KF_SCOPE_BANK,
    KF_SCOPE_FLEET,
};

#define KF_REPORT_NA (-1) /* a ratio with nothing to divide by */

/* One row: seconds, counts, and ratios from them. Roll-up rows sum the seconds and counts
 * of their terminals and divide once. */
struct kf_report_row {
    uint8_t scope;                    /* enum kf_report_scope */
    char key[KF_TERMINAL_ID_MAX + 1]; /* terminal, zone, bank or "all" */
    char zone[KF_TERMINAL_ID_MAX + 1], bank[KF_TERMINAL_ID_MAX + 1]; /* "" when mixed */
    uint32_t terminals;
    int64_t scheduled_s, excluded_s, downtime_s;
    int64_t uptime_s;         /* scheduled - excluded - downtime */
    int32_t availability_bp;  /* floor(10000 * uptime / (scheduled - excluded)), or NA */
    int32_t target_bp;        /* a terminal's own; a roll-up's: its terminals' targets weighted by
                                 their scheduled - excluded (the time they were owed), floor; NA
                                 with nothing owed */
    int64_t target_owed;      /* sum of target_bp x (scheduled - excluded) (roll-ups) */
    int32_t met;              /* 1, 0, or NA (no target or no availability) */
    uint32_t incidents;       /* company incidents with a down span beginning in the period
                                 (a reopening in a later month counts there too) and some
                                 down time in service hours */
    uint32_t other_incidents; /* other attributions, likewise */
    uint32_t restored;        /* company incidents resolved in the period with some down time
                                 in service hours (one entirely at night is not "restored in
                                 0 s": it would lower the MTTR) */
    int64_t restore_sum_s, mttr_s; /* restore service-seconds: sum; mean (NA if none) */
    int64_t mtbf_s;                /* uptime / incidents (NA if none) */
    uint32_t responded;            /* company incidents acknowledged in the period */
    int64_t response_sum_s, mean_response_s;
    uint32_t response_breaches, restore_breaches; /* company; deadline in the period */
    uint32_t forced; /* company incidents resolved by force in the period (flagged) */
    /* Availability over the items, in item-seconds: item_owed = items x (scheduled -
     * excluded), item_down = the sum of each item's company downtime;
     * items_availability_bp = floor(10000 x (item_owed - item_down) / item_owed), or NA. */
    int64_t item_owed, item_down;
    int32_t items_availability_bp;
};

struct kf_report {
    int year, month;        /* 0 for kf_report_range */
    int64_t from_ms, to_ms; /* the period: the local month (or range), cut at as_of */
    size_t n;
    struct kf_report_row *rows; /* terminals by key, zones by key, banks by key, the fleet */
};

/* Compute a month's report (local month, cut at as_of_ms for a month in progress; pass the
 * month's end or later for a full month). Pure: same inputs, same rows. hol borrowed.
 * 0, -EINVAL, -ENOMEM. *ret owned: kf_report_free. */
int kf_report_month(int year, int month, int64_t as_of_ms, const struct kf_holidays *hol,
                    const struct kf_report_terminal *terms, size_t n, struct kf_report **ret);
/* The same over any period [from_ms, to_ms) (a week: rules/week.h), cut at as_of_ms; year
 * and month of the result are 0 (kf_report_render is for months). */
int kf_report_range(int64_t from_ms, int64_t to_ms, int64_t as_of_ms, const struct kf_holidays *hol,
                    const struct kf_report_terminal *terms, size_t n, struct kf_report **ret);
void kf_report_free(struct kf_report *r); /* NULL is a no-op */

enum kf_report_fmt {
    KF_REPORT_CSV = 1,  /* a header row, then one row per line; NA is an empty field */
    KF_REPORT_JSON = 2, /* {"month":..,"rows":[..]}, one row per line; NA is null */
};
/* Render to deterministic bytes. *ret_buf owned (free), NUL-terminated. 0, -EINVAL, -ENOMEM. */
int kf_report_render(const struct kf_report *r, int fmt, char **ret_buf, size_t *ret_len);

#endif
