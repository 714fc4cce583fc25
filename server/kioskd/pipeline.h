/* pipeline.h: kioskd's data path after the inbox: verify off the loop, group commit, ack.
 *
 *   link inbox ─► pending (loop) ─► verify jobs (uv_queue_work, ≤ verify_jobs_max in flight,
 *   ≤ verify_batch_max frames each; registry snapshot ref per job) ─► commit queue (loop)
 *   ─► store job (uv_queue_work, exactly one in flight, own SQLite connection): optional
 *   registry reload, optional online expiry, kf_store_commit of ≤ commit_batch_max frames
 *   plus pending reject deltas, then ACK frames sealed per device ─► loop: publish acks,
 *   count, free, release the frames back to the link's bound.
 *
 * A failed commit keeps its batch and retries it after a backoff; nothing uncommitted is
 * ever acked. Every refusal is counted by reason (enum kf_reject) and persisted with the
 * next commit. All functions: loop thread. The verify stage and the latency histogram are
 * in verify.h.
 */
#ifndef KF_SERVER_PIPELINE_H
#define KF_SERVER_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kf/codec.h>

#include "kioskd/link.h"
#include "store/registry.h"
#include "store/ingest.h"
#include "store/store.h"
#include "kioskd/verify.h"

struct kf_pipeline_stats {
    uint64_t verified;          /* frames that passed verification */
    uint64_t ignored;           /* frames on topics the server does not consume */
    uint64_t committed_frames;  /* frames in successful commits (replays included) */
    uint64_t committed_records; /* new records inserted */
    uint64_t duplicates;        /* records already present */
    uint64_t rejected[KF_REJECT_COUNT_];
    uint64_t acks_sent, acks_failed;
    uint64_t ack_keys_derived; /* X25519s for ACK keys (ackkeys.h): one per device key seen */
    uint64_t commits, commit_failures;
    uint64_t registry_reloads;
    uint64_t expired_offline;
    uint64_t seq_gaps;                /* HELLOs acknowledged past the store (see seq_gaps table) */
    uint64_t dropped_nomem;           /* frames dropped for lack of memory (not acked: resent) */
    uint64_t ident_answers;           /* enrollment/rotation requests answered (accepted or not) */
    uint64_t quarantined;             /* frames the store refused, kept in quarantine and acked */
    uint64_t quarantine_replays;      /* quarantined frames handed back to the pipeline */
    uint64_t sig_cpu_ns, sig_samples; /* signature checks timed (verify.h), and their CPU */
    struct kf_latency latency;        /* Paho callback copy -> COMMIT returned */
    struct kf_latency commit; /* one group commit, BEGIN -> COMMIT returned (fsync included) */
    size_t pending, verifying, commit_queue; /* gauges */
};

/* Work that must run where the store is (kioskd's SLA service, slasvc.h): work runs on the
 * store job's thread with the store connection, after the job's commit, whenever the job
 * committed frames, expired devices or was asked with kf_pipeline_hook_tick (tick = 1);
 * after runs on the loop thread once that job is over, before the next store job starts. */
struct kf_pipeline_hook {
    void (*work)(void *ud, struct kf_store *st, int tick);
    void (*after)(void *ud);
    void *ud;
};

struct kf_pipeline_opts {
    size_t verify_batch_max;
    size_t verify_jobs_max;
    size_t commit_batch_max;
    const uint8_t *server_sk;      /* 64 bytes, borrowed for the pipeline's life */
    size_t ack_keys_max;           /* ACK keys held (ackkeys.h), >= 1024: [limits] ack_keys_max */
    char *const *broker_sync_argv; /* run after an enrollment (identity.h); NULL: none */
    struct kf_pipeline_hook hook;  /* work NULL: none */
};

struct kf_pipeline;

/* Returns owned pipeline in *ret. Borrows loop and link; takes ownership of store (used
 * only by the one store job at a time, freed at close) and of the reference reg.
 * 0 or -errno. */
int kf_pipeline_new(uv_loop_t *loop, struct kf_link *link, struct kf_store *store,
                    struct kf_registry *reg, const struct kf_pipeline_opts *opts,
                    struct kf_pipeline **ret);

/* The link has frames: take them all and dispatch what the bounds allow. */
void kf_pipeline_feed(struct kf_pipeline *p);
/* Reload the registry on the store connection: forced (SIGHUP) or rate-limited (5 s). */
void kf_pipeline_reload(struct kf_pipeline *p, int forced);
/* Mark devices offline whose last frame is older than cutoff_ms (serialized with commits). */
void kf_pipeline_expire(struct kf_pipeline *p, int64_t cutoff_ms);
/* Periodic: persist reject counters even when no frames are flowing. */
void kf_pipeline_tick(struct kf_pipeline *p);
/* Run the hook with tick = 1 as soon as the store job is free (serialized with commits). */
void kf_pipeline_hook_tick(struct kf_pipeline *p);
/* Borrowed, valid until the next loop turn. Gauges are refreshed on each call. */
const struct kf_pipeline_stats *kf_pipeline_stats(struct kf_pipeline *p);

/* After the link stopped: finish every frame held, the last commit and the reject deltas,
 * then call cb once (from the loop). */
void kf_pipeline_drain(struct kf_pipeline *p, void (*cb)(void *ud), void *ud);
/* Close the handles and free p (store, registry, leftovers) once they are closed; cb then
 * runs. No work may be in flight (drain first). */
void kf_pipeline_close(struct kf_pipeline *p, void (*cb)(void *ud), void *ud);

#endif
