/* store/ingest.h: committing verified frames, the writer's hot path (kioskd's writer thread
 * only). The frames come from kioskd's verify stage; the store inserts their records
 * idempotently on (device, seq), keeps the frames as evidence and moves each device's
 * high-water mark, all in one transaction per group.
 */
#ifndef KF_STORE_INGEST_H
#define KF_STORE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <kf/blob.h>
#include <kf/envelope.h>
#include <kf/record.h>

#include "store/store.h"

/* One verified frame, ready to commit. Filled by the verify stage; borrowed by commit. */
struct kf_ingest {
    struct kf_env_header hdr;
    char asset_id[KF_ASSET_ID_MAX + 1];
    const char *topic;
    const uint8_t *raw; /* the frame exactly as received: kept as evidence */
    size_t raw_len;
    int64_t recv_ms; /* server wall clock at receipt */
    uint32_t nrec;   /* RECORDS: decoded records, seq = hdr.seq + i */
    struct kf_record *recs;
    const char *body_json;     /* HELLO/STATE: the decompressed JSON body (NUL-terminated) */
    struct kf_blob_chunk blob; /* BLOB: the chunk (data borrows from raw) */
    int64_t quarantine_id;     /* a quarantined frame replayed (store/quarantine.h); 0: received */
};

/* Per-frame outcome of a commit. */
struct kf_commit_out {
    uint64_t acked_seq;   /* the device's contiguous committed high-water mark after commit */
    uint32_t inserted;    /* new records */
    uint32_t duplicates;  /* records already present */
    uint8_t replay;       /* 1: nothing new (counted as KF_REJECT_REPLAY) */
    uint8_t quarantined;  /* 1: kept in quarantine instead (kf_store_quarantine) */
    uint8_t conflict;     /* 1: repeats a stored seq with another record: nothing committed, the
                           * frame kept in seq_conflicts (KF_REJECT_CONFLICT) */
    uint32_t app_repeats; /* records kept apart for repeating an app_id */
    /* HELLO only: the device had been acknowledged up to gap_last, past what the store holds
     * (a database restored from backup). [gap_first, gap_last] is recorded in seq_gaps and the
     * high-water mark moves past it so the device can go on; 0/0 when there was no gap. */
    uint64_t gap_first, gap_last;
    /* BLOB only: chunks of its bundle held from index 0 after commit, and its state (enum
     * kf_blob_state), for the BLOB_ACK. */
    uint32_t blob_have;
    uint8_t blob_state;
};

/* Group commit: one BEGIN IMMEDIATE ... COMMIT for n frames. Inserts records idempotently
 * on (device, seq), updates usage_daily, latest health/peripherals/faults and device state,
 * stores each frame's raw bytes, advances each device's high-water mark over contiguous
 * committed sequence numbers. On error everything is rolled back and out is untouched. */
int kf_store_ingest_commit(struct kf_store *st, struct kf_ingest *const *items, size_t n,
                           struct kf_commit_out *out);

/* Rebuild the usage rollups (usage_monthly, usage_yearly: docs/STORE.md, "Usage rollups")
 * from usage_daily, in one transaction
 * (or the caller's, kf_store_begin): for a store whose usage_daily was written by other means
 * (tests), or to repair a rollup kioskctl verify found unequal. The commit keeps them itself.
 * 0 or -errno. */
int kf_store_usage_rebuild(struct kf_store *st);

/* Mark devices offline whose last frame is older than cutoff_ms and who are online.
 * Returns the count in *ret_n. */
int kf_store_ingest_expire_online(struct kf_store *st, int64_t cutoff_ms, int64_t now_ms,
                                  uint32_t *ret_n);

/* Add delta (KF_REJECT_COUNT_ entries, indexed by enum kf_reject) to the persisted
 * rejection counters: inside the caller's transaction when one is open, else in its own.
 * 0 or -errno; on error nothing is added. */
int kf_store_ingest_rejects_add(struct kf_store *st, const uint64_t *delta);

#endif
