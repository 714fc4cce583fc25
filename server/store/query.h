/* store/query.h: read-only queries for the operators' CLI (kioskctl).
 *
 * Query results come back as small owned tables of strings (struct kf_qtable), so that the
 * CLI can print them as an aligned table, CSV or JSON without knowing any SQL. All SQL
 * stays in the store (store/sqlite/query.c). Same threading rule as store.h: one thread at
 * a time per struct kf_store.
 */
#ifndef KF_STORE_QUERY_H
#define KF_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* What a column holds. Cells are text either way; the type says how to read and show it
 * (docs/KIOSKCTL.md, "Types"): the table view, CSV and JSON each render it their own way, and
 * a column keeps its type whatever its values (never guessed from the data). */
enum kf_qtype {
    KF_QT_TEXT = 0, /* a string */
    KF_QT_INT,      /* a decimal integer */
    KF_QT_DECIMAL,  /* a decimal number, "45.5" */
    KF_QT_BOOL,     /* "0" or "1" */
    KF_QT_TIME,     /* an instant: milliseconds since the epoch (UTC), decimal */
    KF_QT_DAY,      /* a local day, "YYYY-MM-DD" */
    KF_QT_SECONDS,  /* a duration in whole seconds, decimal */
    KF_QT_BP,       /* a ratio in basis points (9619 is 96.19%), decimal */
    KF_QT_TYPE_MASK = 0x0f,
    /* Flag: a column for files only (CSV, JSON): the table view leaves it out, its title
     * says it (the period of a usage table, the month of a report). */
    KF_QT_FILE_ONLY = 0x80,
};

/* A query result: ncols column names and nrows rows of cells (row-major). A NULL cell has
 * no value (SQL NULL). types[c] is an enum kf_qtype, maybe with KF_QT_FILE_ONLY. name is
 * the table's short name (a JSON key, a file name's part: "keys"); title a line for
 * people (the table view). */
struct kf_qtable {
    char *name;  /* owned; may be NULL */
    char *title; /* owned; may be NULL */
    size_t ncols, nrows;
    char **cols;    /* owned, ncols entries */
    char **cells;   /* owned, nrows * ncols entries */
    uint8_t *types; /* owned, ncols entries */
    int record;     /* one thing's fields: the table view shows name/value lines */
};
void kf_store_query_table_free(struct kf_qtable *t); /* NULL is a no-op */
const char *kf_store_query_table_cell(const struct kf_qtable *t, size_t row, size_t col);
/* The index of the column named name, or -1. */
int kf_store_query_table_col(const struct kf_qtable *t, const char *name);
/* A table built row by row (by a read model or a program), with the queries' column types:
 * types has one letter per column of cols (NULL-terminated): x text, i integer, r decimal,
 * b boolean, t time (ms), d day, s seconds, p basis points; upper case for a file-only
 * column. name and title may be NULL. Owned: kf_store_query_table_free; NULL when out of
 * memory or types does not match cols. */
struct kf_qtable *kf_store_query_table_new(const char *name, const char *title,
                                           const char *const *cols, const char *types);
/* Append a row of t->ncols cells (copied; NULL: no value). 0 or -ENOMEM. */
int kf_store_query_table_add_row(struct kf_qtable *t, const char *const *cells);

/* A list of titled tables (kf_store_query_device, kf_store_query_summary). */
struct kf_qreport {
    size_t n;
    struct kf_qtable **tables; /* owned */
};
void kf_store_query_report_free(struct kf_qreport *r); /* NULL is a no-op */
/* Append t to r (takes ownership of t, freed on failure). 0 or -ENOMEM (also for t NULL). */
int kf_store_query_report_add(struct kf_qreport *r, struct kf_qtable *t);

/* Each returns 0 and an owned result, or a negative errno (details in kf_store_errmsg). */

/* Every device: identity, location (codes with their names), online state, HWM, latest
 * health, open faults, worst peripheral state. Table "devices". */
int kf_store_query_devices(struct kf_store *st, struct kf_qtable **ret);
/* One device: tables "device" (registry, with names), "keys", "health" (latest),
 * "peripherals", "faults" (open), "frames" (the last ten). -ENOENT if unknown. */
int kf_store_query_device(struct kf_store *st, const char *device_id, struct kf_qreport **ret);
/* Transactions over inclusive local days [from_day, to_day], grouped by one of
 * "device", "zone", "unit", "bank", "item", "family", "device,item" (-EINVAL otherwise).
 * Table "usage": the period (from, to: file-only columns), the group's codes each with its
 * name, then total, ok, failed, abandoned and duration_s. Every device, zone, unit, bank,
 * item or family is a row, with zeros when it had no transaction; "device,item" lists the
 * pairs that had some. Transactions whose item code the catalog does not know are left
 * out of every figure (kf_store_query_unknown_items lists them). */
int kf_store_query_usage(struct kf_store *st, int32_t from_day, int32_t to_day, const char *by,
                         struct kf_qtable **ret);
/* The item codes the catalog does not know, with their transactions over [from_day,
 * to_day]: table "unknown_items" (from, to, item, terminals, total, ok, failed,
 * abandoned, first_day, last_day), by code. The records stay as they are: a code the
 * catalog learns later is counted from then on, over every day. */
int kf_store_query_unknown_items(struct kf_store *st, int32_t from_day, int32_t to_day,
                                 struct kf_qtable **ret);
/* Every zone with its unit and planned terminal counts (id, unit, kiosks, itms), ordered
 * by unit then id (kiosk-provision fleet). */
int kf_store_query_zones(struct kf_store *st, struct kf_qtable **ret);
/* Codes and names of one kind: "unit", "bank", "zone", "item" or "family" (-EINVAL
 * otherwise): a table of (code, name) ordered by code, for read models that hold codes;
 * "item_family": (item code, family code). */
int kf_store_query_names(struct kf_store *st, const char *kind, struct kf_qtable **ret);
/* All rejection reasons with their counts, zeros included. Table "rejects". */
int kf_store_query_rejects(struct kf_store *st, struct kf_qtable **ret);
/* The fleet summary: tables "terminals" (by kind and online), "usage_by_unit" and
 * "usage_by_family" (today, and over [from_day, to_day]: INT32_MIN/INT32_MAX for all
 * time), "health" (the fleet's), "rejections". */
int kf_store_query_summary(struct kf_store *st, int32_t today, int32_t from_day, int32_t to_day,
                           struct kf_qreport **ret);

#endif
