/* render/assess_int.h: shared by render/assess.c (parse, the views' rows, CSV) and
 * render/assess_xlsx.c (the workbook), not part of kf_render's contract. The document is
 * parsed and checked once into struct kf__ra_doc; each view (render/assess.h) is a table of
 * typed cells that the CSV writes as text and the workbook as numbers. Strings are borrowed
 * from the parsed JSON, which the doc owns until kf__ra_close.
 */
#ifndef KF_RENDER_ASSESS_INT_H
#define KF_RENDER_ASSESS_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define KF__RA_NA INT64_MIN /* a figure the document gives as null (n/a) */
#define KF__RA_MAX_CRIT 8   /* criteria of a rubric: one per measure at most */
#define KF__RA_MAX_ROWS 100000
#define KF__RA_MAX_COLS (14 + 2 * KF__RA_MAX_CRIT)

/* What a cell holds, and so how it is written. */
enum kf__ra_type {
    RA_TEXT,
    RA_INT,  /* an integer: counts, seconds */
    RA_X100, /* hundredths: points, activity "70.50" */
    RA_BP,   /* basis points: a share "99.12%" */
};

/* A measure of the rubric (docs/REPORTS.md "Figures"): its name in the document, its name for
 * people, the heads of its value and points columns, its unit for people and the type of its
 * values. */
struct kf__ra_measure {
    const char *name, *label, *head, *score_head, *unit;
    uint8_t type;
};

struct kf__ra_rule {
    const struct kf__ra_measure *m;
    int64_t weight, floor, full, pass_mark;
    int must_pass;
};

struct kf__ra_crit {
    int64_t num, den, value, score_cp; /* value: KF__RA_NA when n/a */
    int pass;
};

struct kf__ra_zone {
    const char *zone, *unit, *bank, *from, *to, *result, *reason; /* reason: NULL for none */
    int64_t planned, service_days, terminals, terminal_days, txns_ok, owed_s, uptime_s;
    int64_t total_cp; /* KF__RA_NA when not assessed */
    size_t n_crit;    /* the rubric's, in its order; 0 when not assessed */
    struct kf__ra_crit crit[KF__RA_MAX_CRIT];
};

struct kf__ra_roll {
    int64_t rank; /* banks: 1..; units: 0 */
    const char *key;
    int64_t zones, assessed, passed, failed, not_assessed;
    int64_t pass_rate_bp, mean_score_cp, activity, availability_bp; /* or KF__RA_NA */
    int64_t txns_ok, terminal_days, owed_s, uptime_s;
};

struct kf__ra_doc {
    json_t *root; /* owned */
    const char *period, *from, *to;
    int draft;
    int64_t issued_at_ms; /* KF__RA_NA on a draft */
    int64_t version;
    const char *supersedes, *reason; /* NULL for version 1 */
    const char *rubric_id;
    int64_t rubric_version, total, pass_score, min_service_days;
    size_t n_rules;
    struct kf__ra_rule rules[KF__RA_MAX_CRIT];
    json_t *inputs; /* borrowed from root: name -> hex, every value a string */
    struct kf__ra_zone *zones;
    size_t n_zones;
    struct kf__ra_roll *units, *banks;
    size_t n_units, n_banks;
};

/* Parse and check the whole document; 0 with d filled (kf__ra_close), or -EINVAL with a
 * message naming the key, or -ENOMEM. */
int kf__ra_parse(const char *json, struct kf__ra_doc *d, char *err, size_t errn);
void kf__ra_close(struct kf__ra_doc *d); /* a zeroed doc is a no-op */

/* A view's table (enum kf_render_assess_view, ZONES..BANKS). */
struct kf__ra_col {
    const char *head;
    double width; /* XLSX, in characters (a Chinese character counts about two) */
};
struct kf__ra_cell {
    uint8_t type;     /* enum kf__ra_type */
    const char *text; /* RA_TEXT (NULL: empty) */
    int64_t v;        /* the others (KF__RA_NA: empty) */
    uint8_t miss;     /* a criterion below its pass mark */
};
const char *kf__ra_sheet(int view); /* 专区考核, 区县汇总, 银行排名 */
size_t kf__ra_nrows(const struct kf__ra_doc *d, int view);
/* The columns (cols: KF__RA_MAX_COLS), and row i's cells in the same order; each returns the
 * number of columns. A row's texts are borrowed from d, or from buf (KF__RA_MAX_COLS x 16). */
size_t kf__ra_cols(const struct kf__ra_doc *d, int view, struct kf__ra_col *cols);
size_t kf__ra_row(const struct kf__ra_doc *d, int view, size_t i, struct kf__ra_cell *cells,
                  char (*buf)[16]);
/* Row i of the view is a zone that failed (highlighted). */
int kf__ra_row_failed(const struct kf__ra_doc *d, int view, size_t i);

/* For people: "2026年上半年"; the period's days "2026-01-01 至 2026-06-30"; the status; an
 * instant as a local (Asia/Shanghai) "2026-07-15 10:00"; a rule's unit value as text
 * ("95.00%", "4.00", "3600"). Each returns buf. */
char *kf__ra_half(const struct kf__ra_doc *d, char *buf, size_t cap);
char *kf__ra_days(const struct kf__ra_doc *d, char *buf, size_t cap);
const char *kf__ra_status(const struct kf__ra_doc *d);
char *kf__ra_local_time(int64_t utc_ms, char *buf, size_t cap);
char *kf__ra_value(int type, int64_t v, char *buf, size_t cap);

#endif
