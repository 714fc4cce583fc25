/* rules/assess.h: the bureau's half-year assessment of every zone against a rubric
 * (rules/rubric.h), the delisting standing of a zone over its assessments and the bureau's
 * decisions, and the bank ranking. The result renders to the canonical JSON
 * "kioskfleet.assessment/1", the bytes that are digested, signed and recomputed
 * (DESIGN.md principles 8 and 9).
 *
 * Pure and deterministic: no clock, no files, no SQL; integers only (basis points,
 * hundredths, floor). The same inputs give the same bytes, whatever order the zones and
 * digests were given in. Any thread. Every figure and rule is defined for people in
 * docs/REPORTS.md ("Figures", "Who is assessed", "Delisting", "Bank ranking").
 */
#ifndef KF_RULES_ASSESS_H
#define KF_RULES_ASSESS_H

#include <stddef.h>
#include <stdint.h>

#include "rules/calendar.h"
#include "rules/holidays.h"
#include "rules/incident.h"
#include "rules/rubric.h"

#define KF_ASSESS_NA (-1)        /* a figure with nothing to divide by: null in the JSON */
#define KF_ASSESS_OPEN INT32_MAX /* a day that has not come: not delisted */
#define KF_ASSESS_KEY_MAX KF_TERMINAL_ID_MAX /* zone, unit and bank keys */
#define KF_ASSESS_TEXT_MAX 383               /* reason of a new version, of a decision */
#define KF_ASSESS_DIGEST_NAME_MAX 63
#define KF_ASSESS_DIGEST_HEX_MAX 128

/* ---- Periods -------------------------------------------------------------------------- */

/* A half-year: H1 is January to June, H2 July to December, as local days [from, to). */
struct kf_assess_period {
    int year, half;           /* half: 1 or 2 */
    int32_t from_day, to_day; /* local days since 1970 */
    char name[8];             /* "2026-H1" */
};

/* 0, or -EINVAL (year outside 2000..9999, half not 1 or 2). *ret written only on success. */
int kf_assess_period(int year, int half, struct kf_assess_period *ret);
/* "2026-H1" -> the period. 0 or -EINVAL. */
int kf_assess_period_parse(const char *s, struct kf_assess_period *ret);

/* The days a zone is assessed on: [max(period start, opened_day), period end), the zone's
 * time in the plan in the period (docs/REPORTS.md "Who is assessed"). The caller sums its
 * usage figures over these days. 0; -ENOENT when the zone is not assessed whatever its
 * figures: it opens after the period, or was delisted before the period's end
 * (delisted_day < end; KF_ASSESS_OPEN: never). Outputs written only on 0. */
int kf_assess_span(const struct kf_assess_period *p, int32_t opened_day, int32_t delisted_day,
                   int32_t *ret_from_day, int32_t *ret_to_day);

/* ---- A zone's inputs ------------------------------------------------------------------ */

/* Company incidents whose response clock ended in the zone's assessed days (acknowledged in
 * them, or its deadline passed in them unacknowledged), docs/REPORTS.md "response". */
struct kf_assess_response {
    uint32_t due;     /* such incidents */
    uint32_t in_time; /* of them, acknowledged before the deadline */
    int64_t sum_s;    /* their response-clock service seconds (an unacknowledged one: up to
                         the end of the assessed days), each rounded down */
};

/* Add one incident of one of the zone's terminals to acc, as the definition says: only a
 * company incident with some down time in service hours, its clocks on cal (the terminal's
 * week, the holidays, its maintenance windows: the monthly report's calendar) and terms,
 * as of to_ms; [from_ms, to_ms) is the zone's assessed days as instants. Borrows all. */
void kf_assess_response_add(struct kf_assess_response *acc, const struct kf_incident *inc,
                            const struct kf_cal *cal, const struct kf_sla_terms *terms,
                            int64_t from_ms, int64_t to_ms);

/* One terminal (asset) that stood in the zone. Borrowed. */
struct kf_assess_terminal {
    const char *asset;
    /* [start_ms, end_ms) in which it was in service in this zone (asset_service rows of the
     * zone); any order, may overlap; an open end is KF_TIME_NEVER. */
    const struct kf_window *in_zone;
    size_t n_in_zone;
};

/* One zone of the plan. All borrowed. The usage figures are over the zone's assessed days
 * (kf_assess_span), as docs/REPORTS.md "Figures" defines each; a zone the span refuses
 * needs none of them (zeros). */
struct kf_assess_zone_in {
    const char *zone, *unit, *bank; /* keys: 1..KF_ASSESS_KEY_MAX bytes */
    uint32_t planned;               /* terminals in the plan (kiosks + ITMs), >= 1 */
    int32_t opened_day;             /* the day the zone entered the plan */
    int32_t delisted_day;           /* the day it left (delisting), or KF_ASSESS_OPEN */
    const struct kf_week *week;     /* the zone's hours: its service days */
    const struct kf_assess_terminal *terminals;
    size_t n_terminals;
    int64_t txns_ok, txns_failed, txns_abandoned; /* txns by outcome, any day of the span */
    uint32_t items_used;                          /* distinct catalog items with a completed txn */
    uint32_t catalog_size;                        /* items in the catalog, >= 1 */
    int64_t owed_s;   /* availability: scheduled - excluded (monthly report zone rows) */
    int64_t uptime_s; /* <= owed_s */
    struct kf_assess_response response;
    /* Local days on which some terminal of the zone sent a record; any order, duplicates
     * and days outside the span or not service days are ignored. */
    const int32_t *data_days;
    size_t n_data_days;
};

/* ---- The assessment -------------------------------------------------------------------- */

enum kf_assess_result {
    KF_ASSESS_PASS = 1,
    KF_ASSESS_FAIL,
    KF_ASSESS_NOT_ASSESSED,
};

enum kf_assess_reason {
    KF_ASSESS_R_NONE = 0,     /* null: passed */
    KF_ASSESS_R_SCORE,        /* failed: total below the pass score */
    KF_ASSESS_R_MUST_PASS,    /* failed: total reached, a must-pass criterion did not */
    KF_ASSESS_R_NO_TERMINALS, /* failed: in the plan, no terminal in service on any day */
    KF_ASSESS_R_SHORT,        /* not assessed: fewer service days than the rubric's minimum */
    KF_ASSESS_R_DELISTED,     /* not assessed: delisted before the period's end */
};

enum kf_assess_status {
    KF_ASSESS_DRAFT = 1,
    KF_ASSESS_ISSUED,
};

/* An input digest: name -> lowercase hex. Borrowed. */
struct kf_assess_digest {
    const char *name, *hex;
};

struct kf_assess_input {
    int year, half;
    const struct kf_rubric *rubric;        /* in force on the period's first day */
    const struct kf_holidays *holidays;    /* may be NULL (every day keeps its weekday) */
    const struct kf_assess_zone_in *zones; /* unique zone keys, any order */
    size_t n_zones;
    int status;             /* enum kf_assess_status */
    int64_t issued_at_ms;   /* issued: not before the period's end; draft: ignored */
    int32_t version;        /* 1 for the first; a correction is version n + 1 */
    const char *supersedes; /* version > 1: the digest (hex) of the version it replaces */
    const char *reason;     /* version > 1: why it replaces it; version 1: NULL */
    const struct kf_assess_digest *inputs; /* >= 1, names unique */
    size_t n_inputs;
};

/* One criterion's outcome for a zone. */
struct kf_assess_crit {
    uint8_t measure;  /* enum kf_measure */
    int64_t num, den; /* what value is computed from (docs/REPORTS.md "Figures") */
    int64_t value;    /* in the measure's unit, or KF_ASSESS_NA */
    int32_t score_cp; /* hundredths of a point */
    uint8_t pass;
};

struct kf_assess_zone {
    char zone[KF_ASSESS_KEY_MAX + 1], unit[KF_ASSESS_KEY_MAX + 1], bank[KF_ASSESS_KEY_MAX + 1];
    uint32_t planned;
    int32_t from_day, to_day; /* the days in the plan in the period (empty: from == to) */
    int32_t service_days;     /* the zone's service days among them */
    uint32_t terminals;       /* terminals with at least one terminal-day */
    int64_t terminal_days;
    int64_t txns_ok, owed_s, uptime_s; /* as given; 0 for a zone not assessed */
    uint8_t result, reason;            /* enum kf_assess_result, kf_assess_reason */
    int32_t total_cp;                  /* KF_ASSESS_NA when not assessed */
    size_t n_crit;                     /* the rubric's criteria; 0 when not assessed */
    struct kf_assess_crit crit[KF_MEASURE_COUNT_];
};

/* A roll-up of zones (a bank, a unit). Ratios sum first and divide once. */
struct kf_assess_rollup {
    char key[KF_ASSESS_KEY_MAX + 1];
    uint32_t rank;  /* banks: 1.. (equal figures share a rank); units: 0 */
    uint32_t zones; /* in the plan at the period's end: delisted zones are left out */
    uint32_t assessed, passed, failed, not_assessed;
    int32_t pass_rate_bp;           /* floor(10000 passed / assessed), or NA */
    int32_t mean_score_cp;          /* floor(sum total_cp / assessed), or NA */
    int64_t txns_ok, terminal_days; /* of the assessed zones */
    int64_t activity;               /* floor(100 txns_ok / terminal_days), or NA */
    int64_t owed_s, uptime_s;       /* of the assessed zones */
    int32_t availability_bp;        /* floor(10000 uptime / owed), or NA */
};

struct kf_assess_input_digest {
    char name[KF_ASSESS_DIGEST_NAME_MAX + 1];
    char hex[KF_ASSESS_DIGEST_HEX_MAX + 1];
};

struct kf_assessment {
    struct kf_assess_period period;
    struct kf_rubric rubric; /* a copy */
    int status;
    int64_t issued_at_ms;
    int32_t version;
    char supersedes[KF_ASSESS_DIGEST_HEX_MAX + 1]; /* "" for version 1 */
    char reason[KF_ASSESS_TEXT_MAX + 1];           /* "" for version 1 */
    size_t n_zones;
    struct kf_assess_zone *zones; /* by zone key */
    size_t n_units;
    struct kf_assess_rollup *units; /* by unit key */
    size_t n_banks;
    struct kf_assess_rollup *banks; /* in ranking order (docs/REPORTS.md "Bank ranking") */
    size_t n_inputs;
    struct kf_assess_input_digest *inputs; /* by name */
};

/* Assess every zone. 0; -EINVAL with a message naming the zone and field in err (always
 * NUL-terminated when errn > 0) for inputs that break the contract above; -ENOMEM.
 * *ret owned (kf_assess_free), written only on success. */
int kf_assess_compute(const struct kf_assess_input *in, struct kf_assessment **ret, char *err,
                      size_t errn);
void kf_assess_free(struct kf_assessment *a); /* NULL is a no-op */

/* The canonical JSON (docs/REPORTS.md "The assessment document"): keys in the spec's order,
 * compact, UTF-8, integers only. *ret owned (free), NUL-terminated. 0 or -ENOMEM. */
int kf_assess_json(const struct kf_assessment *a, char **ret);

/* Names: results "pass", "fail", "not_assessed"; reasons NULL (none), "score", "must_pass",
 * "no_terminals", "short", "delisted". NULL if out of range. */
const char *kf_assess_result_name(int result);
const char *kf_assess_reason_name(int reason);

/* ---- Delisting ------------------------------------------------------------------------ */

enum kf_assess_hist_kind {
    KF_HIST_RESULT = 1, /* the zone's result in a period (the current version's) */
    KF_HIST_KEEP,       /* the bureau keeps a proposed zone: reason required */
    KF_HIST_DELIST,     /* the bureau delists a proposed zone from `day` */
};

/* One entry of a zone's history, in the order it happened: results by period, each
 * decision after the result that made the zone proposed. Borrowed. */
struct kf_assess_hist {
    uint8_t kind;       /* enum kf_assess_hist_kind */
    int year, half;     /* RESULT: the period */
    uint8_t result;     /* RESULT: enum kf_assess_result */
    int32_t day;        /* KEEP, DELIST: the decision's day, not before the end of the last
                           period with a result; DELIST: the zone leaves the plan from it */
    const char *reason; /* KEEP, DELIST: why (required; who is the signed log's) */
};

enum kf_assess_standing_kind {
    KF_STANDING_OK = 1,   /* no failure counted */
    KF_STANDING_WATCH,    /* one failure counted */
    KF_STANDING_PROPOSED, /* two or more in a row, no decision yet: proposed for delisting */
    KF_STANDING_KEPT,     /* the bureau kept it; no period assessed since */
    KF_STANDING_DELISTED,
};

struct kf_assess_standing {
    uint8_t standing;    /* enum kf_assess_standing_kind */
    uint32_t streak;     /* failures counted since the last pass or keep decision */
    uint8_t failed_last; /* the last period assessed (pass or fail) was failed: the watchlist */
    struct kf_assess_period last; /* the last period with a result; year 0 when none */
    int32_t delisted_day;         /* DELISTED: the day; else KF_ASSESS_OPEN */
};

/* A zone's standing after its history (docs/REPORTS.md "Delisting"): a pass resets the
 * streak, a fail adds one, "not assessed" does neither; two or more is PROPOSED until the
 * bureau decides; KEEP restarts the streak at 0; DELIST is final. 0, or -EINVAL with the
 * entry named in err: periods not strictly increasing, a decision on a zone not proposed or
 * without a reason, a decision dated before the end of the last period with a result, a
 * pass or fail after the delisting. *ret written only on success. */
int kf_assess_standing(const struct kf_assess_hist *h, size_t n, struct kf_assess_standing *ret,
                       char *err, size_t errn);

/* "ok", "watch", "proposed", "kept", "delisted"; NULL if out of range. */
const char *kf_assess_standing_name(int standing);

#endif
