/* store/audit.h: re-verify the stored evidence end to end (kioskctl verify).
 *
 * Checks what an auditor would check by hand (docs/STORE.md, "How an auditor re-verifies
 * the evidence"): each stored frame's signature under the device's registered key, each
 * record against its signed frame, no record without a frame, and usage_daily equal to the
 * sum of the transactions. Read-only; one thread at a time per struct kf_store.
 */
#ifndef KF_STORE_AUDIT_H
#define KF_STORE_AUDIT_H

#include <stdint.h>

#include "store/store.h"

struct kf_audit {
    uint64_t envelopes;                /* stored frames looked at */
    uint64_t verified;                 /* signature good, body decoded, records compared */
    uint64_t no_key;                   /* no registered key for the frame's device/epoch */
    uint64_t undecodable;              /* frame, body or records do not parse */
    uint64_t bad_signatures;           /* signature does not verify */
    uint64_t records_checked;          /* records compared with their stored rows */
    uint64_t record_mismatches;        /* stored row missing or different from the frame */
    uint64_t records_without_evidence; /* rows whose envelope is not stored */
    uint64_t records_repeated;         /* (device, seq) pairs stored more than once */
    uint64_t usage_mismatches;         /* usage_daily rows unequal to the txns' sum (both ways) */
    char first_problem[256];           /* the first problem found, "" when clean */
};

/* Returns 0 and fills *ret (problems are findings, not errors), or a negative errno when
 * the database cannot be read. */
int kf_store_audit(struct kf_store *st, struct kf_audit *ret);
/* 1 when the audit found nothing wrong. */
int kf_store_audit_clean(const struct kf_audit *a);

#endif
