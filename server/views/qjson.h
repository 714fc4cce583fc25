/* views/qjson.h: a query table (store/query.h) as typed JSON, the one renderer behind
 * kioskctl's --format json and kiosk-web's API, so the two cannot drift (docs/KIOSKCTL.md,
 * "Types"): integers, seconds and basis points as JSON integers, decimals as numbers,
 * booleans as true/false, instants as RFC 3339 local time ("2026-11-27T09:31:02+08:00"),
 * days and text as strings, no value as null. Pure: no I/O; any thread.
 */
#ifndef KF_VIEWS_QJSON_H
#define KF_VIEWS_QJSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/query.h"

/* The cell at row r, column c of t. Returns a new reference (json_null() for no value). */
json_t *kf_view_qjson_cell(const struct kf_qtable *t, size_t r, size_t c);
/* Rows [from, from + n) of t (clamped to t's rows) as an array of objects, one key per
 * column in the table's order. New reference; NULL when out of memory. */
json_t *kf_view_qjson_rows(const struct kf_qtable *t, size_t from, size_t n);
/* Every row: kf_view_qjson_rows(t, 0, t->nrows). */
json_t *kf_view_qjson_table(const struct kf_qtable *t);
/* A report as one object, each table's rows under its name ("table" when it has none); a
 * table marked record (one thing's fields) as its one row's object when one_record is set.
 * New reference; NULL when out of memory. */
json_t *kf_view_qjson_report(const struct kf_qreport *rep, int one_record);
/* An instant (ms since the epoch, UTC) as local time text: "2026-11-27 09:31:02", or with
 * rfc3339 "2026-11-27T09:31:02+08:00". Returns buf. */
const char *kf_view_qjson_time(int64_t ms, int rfc3339, char *buf, size_t cap);

#endif
