/* views/billing.h: a bank's bill for a month, built from the store (docs/BILLING.md
 * "Operating it"): the bank's stored contract versions (parsed again from their texts), its
 * assets with the intervals in which they were in service for it (store/billing.h), their
 * figures from the month's SLA report (views/sla.h, as of an instant), the adjustments of
 * earlier bills, and the digests of those inputs; then kf_bill_compute (rules/bill.h).
 *
 * Nothing here writes: issuing (numbering, signing, the signed log) is kioskctl's, in one
 * transaction around these. Same threading rule as store.h. Functions return 0 or a
 * negative errno with a message in err (cap bytes, always NUL-terminated).
 */
#ifndef KF_VIEWS_BILLING_H
#define KF_VIEWS_BILLING_H

#include <stddef.h>
#include <stdint.h>

#include "rules/bill.h"
#include "store/billing.h"
#include "store/query.h"
#include "store/store.h"

/* The instant month closes: the store's close day of the next month, 00:00 local. */
int kf_view_billing_close_ms(struct kf_store *st, int year, int month, int64_t *ret, char *err,
                             size_t cap);

/* What to compute. */
struct kf_view_billing_opts {
    int status;           /* KF_BILL_DRAFT or KF_BILL_ISSUED */
    const char *number;   /* issued */
    int64_t issued_at_ms; /* issued */
    int64_t as_of_ms;     /* the SLA report's instant: the close for an issued bill */
    int64_t cut_ms;       /* incidents as the engine had them then (issued: the close); 0: now */
    /* The month's availability report for as_of_ms and cut_ms, computed once by a caller
     * issuing every bank's bill (it covers the whole fleet); NULL: computed here. Borrowed. */
    const struct kf_report *report;
    /* Adjustment lines (kind adjustment) for earlier periods; borrowed. */
    const struct kf_bill_line *adjustments;
    size_t n_adjustments;
    /* The signed log's head to name in the inputs (hex); NULL: the head now. */
    const char *log_head;
    int no_inputs; /* compute without the inputs' digests (a recompute for comparison) */
};

/* Compute bank's bill for year-month. -ENOENT: no such bank, or no calendar covers the
 * month (the SLA report's refusal). *ret owned (kf_bill_free). */
int kf_view_billing_compute(struct kf_store *st, const char *bank, int year, int month,
                            const struct kf_view_billing_opts *o, struct kf_bill **ret, char *err,
                            size_t cap);

/* Late facts: every earlier issued bill of bank (period before year-month) computed again
 * as of now_ms, and compared per asset, line kind and tax rate with what it said plus
 * what later bills adjusted already. Each difference is one adjustment line (basis
 * {"ref": the earlier bill, "line": its first line of that asset and kind, 0 if none})
 * and one record for bill_adjustments (bill left "" for the caller to fill). Both arrays
 * owned, *ret_n entries each (0: nothing to adjust, arrays NULL). */
int kf_view_billing_late(struct kf_store *st, const char *bank, int year, int month, int64_t now_ms,
                         struct kf_bill_line **ret_lines, struct kf_billing_adjustment **ret_adj,
                         size_t *ret_n, char *err, size_t cap);

/* The adjustment lines bill made, rebuilt from bill_adjustments (for bill verify). */
int kf_view_billing_adjustment_lines(struct kf_store *st, const char *bill,
                                     struct kf_bill_line **ret, size_t *ret_n, char *err,
                                     size_t cap);

/* BLAKE2b-256 of bytes, lowercase hex (65 bytes with the NUL). */
void kf_view_billing_digest(const void *data, size_t len, char hex[65]);

/* Parse "YYYY-MM" into year and month. 0 or -EINVAL. */
int kf_view_billing_month(const char *s, int *ret_year, int *ret_month);

/* The issued documents and the disputes as the tables kioskctl prints (bill list, bill
 * disputes) and kiosk-web serves (GET /api/v1/bills, /api/v1/disputes), from the rows the
 * store gave (store/billing.h), in their order. Borrow the rows; return an owned table, or
 * NULL when out of memory. Any thread. */

/* Table "bills": number, type, bank, period, ref, ref_line, issued, issued_by, net_fen,
 * tax_fen, gross_fen, digest. type is "bill" or "credit-note" (docs/KIOSKCTL.md), for
 * kioskctl and the API alike. */
struct kf_qtable *kf_view_billing_docs_table(const struct kf_billing_doc *d, size_t n);
/* Table "disputes": id, bill, bank, line, opened, by, reason, state (open, accepted,
 * refused), answered, answered_by, answer (null while open), credit_note. */
struct kf_qtable *kf_view_billing_disputes_table(const struct kf_billing_dispute *d, size_t n);

#endif
