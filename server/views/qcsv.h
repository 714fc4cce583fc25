/* views/qcsv.h: a query table (store/query.h) as CSV for Excel, the one writer behind
 * kioskctl --format csv and kiosk-web's ?format=csv (docs/KIOSKCTL.md, "CSV"): instants as
 * local "YYYY-MM-DD HH:MM:SS", numbers as they are, text quoted when it holds a comma, a
 * quote or a line break, and a text Excel would take for a formula (=, +, -, @, a tab or CR
 * first) kept as text by a leading apostrophe. Pure: writes to the FILE given; any thread.
 */
#ifndef KF_VIEWS_QCSV_H
#define KF_VIEWS_QCSV_H

#include <stddef.h>
#include <stdio.h>

#include "store/query.h"

/* One field: the cell at row r, column c (nothing for no value). */
void kf_view_qcsv_field(FILE *f, const struct kf_qtable *t, size_t r, size_t c);
/* UTF-8 with a byte order mark: the header row (the columns' names) and the rows for which
 * keep (may be NULL: every row) returns nonzero, CRLF-free ("\n") as kioskctl writes. */
void kf_view_qcsv_table(FILE *f, const struct kf_qtable *t,
                        int (*keep)(const struct kf_qtable *t, size_t r, void *ud), void *ud);

#endif
