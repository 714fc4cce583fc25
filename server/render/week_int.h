/* render/week_int.h: shared by render/week.c (parse, CSV, XLSX) and render/week_pdf.c (the
 * bulletin), not part of kf_render's contract. The document is parsed and checked once into
 * struct kf__rw_doc; each view is a table of columns over one of its arrays. Strings are
 * borrowed from the parsed JSON, which the doc owns until kf__rw_close.
 */
#ifndef KF_RENDER_WEEK_INT_H
#define KF_RENDER_WEEK_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define KF__RW_NULL INT64_MIN /* a figure the document gives as null */

enum kf__rw_type {
    RW_TEXT,   /* a string as it is */
    RW_UNIT,   /* a unit's code, shown by its name */
    RW_BANK,   /* a bank's code, shown by its name */
    RW_FAMILY, /* a family's code, shown by its name */
    RW_STATUS, /* a zone's status, shown in Chinese */
    RW_KIND,   /* kiosk | itm, shown in Chinese */
    RW_BOOL,   /* true | false: 是 | 否 */
    RW_INT,    /* an integer */
    RW_X100,   /* hundredths: "3.60" */
    RW_BP,     /* basis points: "99.12%" */
    RW_PM,     /* per mille: "-53.4%" */
    RW_BPDIFF, /* a difference of basis points, in percentage points: "+1.20" */
};

struct kf__rw_col {
    const char *key, *head;
    uint8_t type;
    double width; /* XLSX, in characters */
};

struct kf__rw_view {
    const char *name;  /* --view name */
    const char *sheet; /* XLSX sheet, CSV section title */
    const char *array; /* the document's array */
    const struct kf__rw_col *cols;
    size_t ncols;
};
/* Indexed by enum kf_render_week_view (1..); [KF__RW_IDLE]: the idle terminals, which the
 * inactive view shows after its zones. */
#define KF__RW_IDLE 7
extern const struct kf__rw_view kf__rw_views[KF__RW_IDLE + 1];
/* The fleet's row: the roll-up columns without code and name. */
extern const struct kf__rw_col *const kf__rw_fleet_cols;
extern const size_t kf__rw_n_fleet_cols;

struct kf__rw_doc {
    json_t *root; /* owned */
    const char *week, *prev_week, *from, *to, *as_of;
    int draft;
    int64_t uncounted;
    json_t *days, *inputs, *fleet, *busiest, *quietest; /* borrowed from root */
    json_t *arrays[KF__RW_IDLE + 1];                    /* each view's rows */
};

/* Parse and check the whole document; 0 with d filled (kf__rw_close), or -EINVAL with a
 * message naming the key. */
int kf__rw_parse(const char *json, struct kf__rw_doc *d, char *err, size_t errn);
void kf__rw_close(struct kf__rw_doc *d);

int64_t kf__rw_int(const json_t *row, const char *key);     /* KF__RW_NULL for null */
const char *kf__rw_str(const json_t *row, const char *key); /* "" when not a string */
/* A cell's text as CSV and the PDF show it (names looked up in d). Returns buf. */
const char *kf__rw_text(const struct kf__rw_doc *d, const json_t *row, const struct kf__rw_col *c,
                        char *buf, size_t cap);
/* The name of a unit, bank or family code (the code itself when unknown). */
const char *kf__rw_name(const struct kf__rw_doc *d, int type, const char *code);
/* Numbers as people read them: "99.12%" (bp), "-53.4%" (per mille), "3.60" (x100), "+1.20"
 * (bp difference in points); "" for KF__RW_NULL. Each returns buf (cap >= 24). */
char *kf__rw_bp(int64_t bp, char *buf, size_t cap);
char *kf__rw_pm(int64_t pm, char *buf, size_t cap);
char *kf__rw_x100(int64_t v, char *buf, size_t cap);
char *kf__rw_bpdiff(int64_t bp, char *buf, size_t cap);
const char *kf__rw_status(const char *status); /* 有业务, 零交易, 未上报, 无终端 */
/* "2026年第41周（10月5日—10月11日）" into buf. */
char *kf__rw_title_week(const struct kf__rw_doc *d, char *buf, size_t cap);

#endif
