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

/* A query result: ncols column names and nrows rows of cells (row-major). A NULL cell is
 * SQL NULL. numeric[c] is 1 when column c holds numbers (right-aligned, bare in JSON). */
struct kf_qtable {
    char *title; /* owned; may be NULL */
    size_t ncols, nrows;
    char **cols;      /* owned, ncols entries */
    char **cells;     /* owned, nrows * ncols entries */
    uint8_t *numeric; /* owned, ncols entries */
};
void kf_store_query_table_free(struct kf_qtable *t); /* NULL is a no-op */
const char *kf_store_query_table_cell(const struct kf_qtable *t, size_t row, size_t col);

/* A list of titled tables (kf_store_query_device, kf_store_query_summary). */
struct kf_qreport {
    size_t n;
    struct kf_qtable **tables; /* owned */
};
void kf_store_query_report_free(struct kf_qreport *r); /* NULL is a no-op */

/* Each returns 0 and an owned result, or a negative errno (details in kf_store_errmsg). */

/* Every device: identity, location, online state, HWM, latest health, open faults, worst
 * peripheral state. */
int kf_store_query_devices(struct kf_store *st, struct kf_qtable **ret);
/* One device: registry, keys, latest health, peripherals, open faults, last frames.
 * -ENOENT if unknown. */
int kf_store_query_device(struct kf_store *st, const char *device_id, struct kf_qreport **ret);
/* Transactions over inclusive local days [from_day, to_day], grouped by one of
 * "device", "zone", "unit", "bank", "item", "family", "device,item" (-EINVAL otherwise). */
int kf_store_query_usage(struct kf_store *st, int32_t from_day, int32_t to_day, const char *by,
                         struct kf_qtable **ret);
/* Every zone with its unit and planned terminal counts (id, unit, kiosks, itms), ordered
 * by unit then id (kiosk-provision fleet). */
int kf_store_query_zones(struct kf_store *st, struct kf_qtable **ret);
/* All rejection reasons with their counts, zeros included. */
int kf_store_query_rejects(struct kf_store *st, struct kf_qtable **ret);
/* The fleet summary: terminals by kind and online; usage for today and for
 * [from_day, to_day] by unit and by family; fleet health; rejections. */
int kf_store_query_summary(struct kf_store *st, int32_t today, int32_t from_day, int32_t to_day,
                           struct kf_qreport **ret);

#endif
