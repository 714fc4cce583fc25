/* store/audit.h: re-verify the stored evidence end to end (kioskctl verify).
 *
 * Checks what an auditor would check by hand (docs/STORE.md, "How an auditor re-verifies
 * the evidence"): each stored frame's signature under the device's registered key, each
 * record against its signed frame, no record without a frame, usage_daily equal to the
 * sum of the transactions, and each usage rollup equal to what it sums. Read-only; one thread at a
 * time per struct kf_store.
 */
#ifndef KF_STORE_AUDIT_H
#define KF_STORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

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
    uint64_t rollup_mismatches;        /* rollup keys unequal to the usage they sum (v12) */
    uint64_t device_day_mismatches;    /* device_days pairs unequal to the records' (v14) */
    char first_problem[256];           /* the first problem found, "" when clean */
};

/* Returns 0 and fills *ret (problems are findings, not errors), or a negative errno when
 * the database cannot be read. */
int kf_store_audit(struct kf_store *st, struct kf_audit *ret);
/* 1 when the audit found nothing wrong. */
int kf_store_audit_clean(const struct kf_audit *a);

/* One stored frame as received, with the device key registered for its epoch. */
struct kf_store_frame {
    int64_t id; /* envelopes.id */
    char device_id[KF_DEVICE_ID_MAX + 1];
    uint32_t key_epoch;
    int64_t recv_ms;
    char topic[KF_TOPIC_MAX + 1];
    uint8_t *raw; /* owned (free()), raw_len bytes exactly as stored */
    size_t raw_len;
    uint8_t pk[32];
    int has_pk; /* 0: no key registered for that epoch */
};
/* The stored RECORDS frame of device_id holding record seq (the first stored, by id), or,
 * with by_id > 0, envelope by_id (device_id and seq ignored). 0; -ENOENT (none); another
 * -errno. Read-only. */
int kf_store_frame_get(struct kf_store *st, const char *device_id, uint64_t seq, int64_t by_id,
                       struct kf_store_frame *ret);

#endif
