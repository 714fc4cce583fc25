/* rules/coverage.h: coverage against the plan (issue 16): per county-level unit and per
 * bank, zones and terminals planned, commissioned and reporting at a date, against the
 * city's targets (more than 200 zones across 6 banks, at least 10 in each of the 10
 * county-level units, 70 or more service items in 8 families on the banks' ITMs), the
 * targets being data (fixtures/targets.ini). A zone delisted (摘牌) leaves every count from
 * its delisting day.
 *
 * Pure: the registry, each terminal's intervals in service and whether it reported, the
 * delistings and the targets in; the figures and their canonical JSON
 * ("kioskfleet.coverage/1") out. docs/REPORTS.md ("Coverage") defines each figure. Any thread.
 */
#ifndef KF_RULES_COVERAGE_H
#define KF_RULES_COVERAGE_H

#include <stddef.h>
#include <stdint.h>

#include "rules/week.h"

#define KF_COVERAGE_DOC "kioskfleet.coverage/1"
#define KF_COVERAGE_WINDOW_DAYS                                                                    \
    7 /* a terminal reporting: heard from in the 7 days up to the date */

/* The targets (fixtures/targets.ini, section [targets]); each is "at least". */
struct kf_coverage_targets {
    int64_t zones_min;          /* zones, city-wide */
    int64_t banks_min;          /* banks with zones */
    int64_t units_min;          /* county-level units with zones_per_unit_min zones each */
    int64_t zones_per_unit_min; /* zones in each of those units */
    int64_t itm_items_min;      /* service items offered on the banks' ITMs */
    int64_t families_min;       /* service families those items cover */
};

/* Parse a targets file's text (name, borrowed, is used in messages): one section [targets]
 * with the six keys above, each once, each an integer 0..1000000. Unknown sections or keys,
 * a key missing or given twice: -EINVAL with "name:line: what" in err. *ret written only on
 * success. */
int kf_coverage_targets_parse(const char *text, const char *name, struct kf_coverage_targets *ret,
                              char *err, size_t cap);
/* The targets' canonical text (their digest is the document's "targets" input). *ret owned. */
int kf_coverage_targets_text(const struct kf_coverage_targets *t, char **ret, size_t *ret_len);

/* A zone delisted from a local day on (the decision's store is another module's: callers
 * without one pass none). */
struct kf_coverage_delisted {
    const char *zone;
    int32_t from_day;
};

struct kf_coverage_input {
    int32_t at_day; /* the figures hold at the end of this local day */
    const struct kf_coverage_targets *targets;
    const struct kf_week_name *units, *banks, *families;
    size_t n_units, n_banks, n_families;
    const struct kf_week_item *items;
    size_t n_items;
    const struct kf_week_zone_in *zones;
    size_t n_zones;
    /* Terminals (hours not used): online says kioskd saw it online at some instant of the
     * reporting window, the KF_COVERAGE_WINDOW_DAYS local days ending on at_day. */
    const struct kf_week_terminal_in *terminals;
    size_t n_terminals;
    /* Usage rows of the reporting window: a terminal with one has reported too. */
    const struct kf_week_usage_in *usage;
    size_t n_usage;
    const struct kf_coverage_delisted *delisted;
    size_t n_delisted;
    const struct kf_week_digest *inputs;
    size_t n_inputs;
};

/* A unit's, a bank's or the city's figures. zones_target: KF_WEEK_NA where there is none (a
 * bank). met / plan_met: commissioned / planned zones >= the target (1, 0, KF_WEEK_NA). */
struct kf_coverage_row {
    const char *code, *name;
    int64_t zones_target, zones_planned, zones_delisted, zones_commissioned, zones_reporting;
    int64_t planned_kiosks, planned_itms, planned;
    int64_t commissioned_kiosks, commissioned_itms, commissioned, reporting;
    int64_t met, plan_met;
};

/* One target checked: what the plan gives, what is commissioned and reporting. */
enum kf_coverage_check_id {
    KF_COVERAGE_ZONES = 0,
    KF_COVERAGE_BANKS,
    KF_COVERAGE_UNITS,
    KF_COVERAGE_ITM_ITEMS,
    KF_COVERAGE_FAMILIES,
    KF_COVERAGE_CHECKS,
};
struct kf_coverage_check {
    const char *name; /* "zones", "banks", "units", "itm_items", "families" */
    int64_t required, planned, commissioned, reporting;
    int met, plan_met; /* commissioned / planned >= required */
};

struct kf_coverage_family {
    const char *code, *name;
    int64_t items;
};

struct kf_coverage {
    int32_t at_day, window_first;
    struct kf_coverage_targets targets;
    struct kf_coverage_row fleet;
    struct kf_coverage_row *units, *banks; /* by code */
    size_t n_units, n_banks;
    struct kf_coverage_family *families;
    size_t n_families;
    int64_t items, itms_commissioned, itms_reporting;
    struct kf_coverage_check checks[KF_COVERAGE_CHECKS];
    const struct kf_coverage_delisted **delisted; /* in effect at at_day, by zone */
    size_t n_delisted;
    const struct kf_week_digest *inputs;
    size_t n_inputs;
};

/* Compute. Borrows the input's strings (keep it alive). 0, -EINVAL (a zone naming an unknown
 * unit or bank, a code twice, a delisting of an unknown zone; err says which), -ENOMEM.
 * *ret owned: kf_coverage_free. */
int kf_coverage_compute(const struct kf_coverage_input *in, struct kf_coverage **ret, char *err,
                        size_t cap);
void kf_coverage_free(struct kf_coverage *c); /* NULL is a no-op */
/* The canonical texts of the inputs (docs/REPORTS.md "Inputs"): KF_WEEK_TEXT_REGISTRY and
 * KF_WEEK_TEXT_PRESENCE as the weekly report writes them, KF_WEEK_TEXT_USAGE over the rows
 * of the reporting window. *ret owned. 0, -EINVAL, -ENOMEM. */
int kf_coverage_text(const struct kf_coverage_input *in, int which, char **ret, size_t *ret_len);
/* Canonical JSON, like kf_week_json. */
int kf_coverage_json(const struct kf_coverage *c, char **ret, size_t *ret_len);

#endif
