/* rules/rubric.h: the bureau's half-year assessment rubric, one version per JSON document
 * ("kioskfleet.rubric/1", docs/REPORTS.md "The rubric file"; the default in
 * fixtures/rubric/default-2026.json): criteria over a fixed set of measures, each with a
 * weight, a linear score from a floor to a full mark, a pass mark and optionally "must
 * pass"; the zone's pass score; the fewest service days a zone needs to be assessed.
 *
 * Parsing refuses what the spec refuses and names the field in the error
 * ("criteria[2].pass_mark: must lie between floor (9000) and full (9800)"). A rubric is
 * evidence (DESIGN.md principle 8): the canonical form below is what a digest covers, the
 * same bytes for the same rubric however the file was spaced or ordered. Pure: the text is
 * passed in, no file is read, no clock. Any thread.
 */
#ifndef KF_RULES_RUBRIC_H
#define KF_RULES_RUBRIC_H

#include <stddef.h>
#include <stdint.h>

#define KF_RUBRIC_ID_MAX 47    /* "PDS-ZONE" */
#define KF_RUBRIC_LABEL_MAX 63 /* a criterion's display name, UTF-8 bytes: "活跃度" */
#define KF_RUBRIC_TEXT_MAX 511 /* title, note */
#define KF_RUBRIC_JSON_MAX (64 * 1024)
#define KF_RUBRIC_OPEN INT32_MAX  /* effective_to of an open-ended version */
#define KF_RUBRIC_TOTAL_MAX 1000  /* the full score: 100 is usual */
#define KF_RUBRIC_MIN_DAYS_MAX 90 /* min_service_days: half a half-year at most */

/* The measures a criterion may score, in their canonical order (the order of a rubric's
 * criteria and of an assessment's). Units and directions in docs/REPORTS.md "Figures". */
enum kf_measure {
    KF_MEASURE_ACTIVITY = 1,  /* completed txns per terminal per service day, x100 */
    KF_MEASURE_AVAILABILITY,  /* availability in service hours, bp */
    KF_MEASURE_CATALOG_USE,   /* share of the catalog's items completed at least once, bp */
    KF_MEASURE_IN_SERVICE,    /* terminal-days in service against the plan's, bp */
    KF_MEASURE_COMPLETION,    /* completed txns of all txns begun, bp */
    KF_MEASURE_RESPONSE,      /* company incidents acknowledged in time, bp */
    KF_MEASURE_RESPONSE_TIME, /* mean response, service seconds: lower is better */
    KF_MEASURE_DATA_DAYS,     /* service days with data, bp */
    KF_MEASURE_COUNT_ = KF_MEASURE_DATA_DAYS,
};

struct kf_rubric_criterion {
    int measure; /* enum kf_measure */
    int has_label;
    char label[KF_RUBRIC_LABEL_MAX + 1];
    int32_t weight; /* points, 1..total */
    /* In the measure's unit. Higher-is-better measures: floor <= pass_mark <= full;
     * response_time: floor >= pass_mark >= full. floor == full: all or nothing. */
    int64_t floor, full, pass_mark;
    int must_pass; /* the zone fails when this criterion fails, whatever its total */
};

/* One parsed version. Plain data (fixed arrays, no pointers): copy it freely. */
struct kf_rubric {
    char id[KF_RUBRIC_ID_MAX + 1];
    int32_t version;
    /* Local days since 1970, [from, to); both the first day of a half-year (01-01 or
     * 07-01), so a period has one version; to may be KF_RUBRIC_OPEN. */
    int32_t effective_from, effective_to;
    int has_title, has_note;
    char title[KF_RUBRIC_TEXT_MAX + 1], note[KF_RUBRIC_TEXT_MAX + 1];
    int32_t total;            /* the weights sum to it */
    int32_t pass_score;       /* 0..total: a zone passes with total score >= pass_score */
    int32_t min_service_days; /* fewer in the period: "not assessed" (1..90) */
    size_t n_criteria;        /* 1..KF_MEASURE_COUNT_, one per measure at most */
    struct kf_rubric_criterion criteria[KF_MEASURE_COUNT_]; /* by measure */
};

/* Parse one version from text[0..len) (need not be NUL-terminated). 0, or -EINVAL with a
 * message naming the field in err (always NUL-terminated when errn > 0), -ENOMEM.
 * *ret written only on success. */
int kf_rubric_parse(const char *text, size_t len, struct kf_rubric *ret, char *err, size_t errn);

/* Check a set of versions together: no duplicated (id, version), and no two versions whose
 * ranges overlap, whatever their ids (the city has one rubric for a period). 0 or -EINVAL
 * with the two versions named in err. */
int kf_rubric_set_check(const struct kf_rubric *v, size_t n, char *err, size_t errn);

/* The version in force on local day `day` (the first day of the period to assess), or NULL.
 * Borrows set; the result points into it. */
const struct kf_rubric *kf_rubric_for(const struct kf_rubric *set, size_t n, int32_t day);

/* The canonical form: the spec's keys in the spec's order, compact, UTF-8, criteria in
 * measure order, optional texts only when present, must_pass always written. Parsing it
 * gives the same struct and the same bytes again. *ret owned (free). 0 or -ENOMEM. */
int kf_rubric_canonical(const struct kf_rubric *r, char **ret);

/* The criterion of a measure, or NULL when the rubric does not score it. Borrowed. */
const struct kf_rubric_criterion *kf_rubric_criterion(const struct kf_rubric *r, int measure);

/* ---- Scoring ------------------------------------------------------------------------- */

/* A criterion's score for a measured value, in hundredths of a point (centipoints, "cp"):
 * 0 at or beyond the floor, weight x 100 at or beyond the full mark, linear between,
 * rounded down: floor(weight x 100 x (value - floor) / (full - floor)) (mirrored for a
 * lower-is-better measure). floor == full: weight x 100 when the value reaches full, else 0. */
int32_t kf_rubric_score_cp(const struct kf_rubric_criterion *c, int64_t value);

/* 1 when the value reaches the pass mark (>=, or <= for a lower-is-better measure). */
int kf_rubric_passes(const struct kf_rubric_criterion *c, int64_t value);

/* Names: "activity", "availability", "catalog_use", "in_service", "completion",
 * "response", "response_time", "data_days"; NULL if out of range. _parse: 0 or -EINVAL,
 * *ret written only on success. */
const char *kf_rubric_measure_name(int measure);
int kf_rubric_measure_parse(const char *s, int *ret);
/* 1 for a measure where lower is better (response_time), else 0. */
int kf_rubric_measure_lower_better(int measure);
/* The largest value a floor, full or pass mark may take for the measure (the smallest is 0):
 * 10000 for basis points, 100000 (1000.00 txns) for activity, 2592000 (30 days) for
 * response_time; 0 for an unknown measure. */
int64_t kf_rubric_measure_max(int measure);

#endif
