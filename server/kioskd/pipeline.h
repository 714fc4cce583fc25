/* pipeline.h: kioskd's data path after the inbox: verify off the loop, commit on the writer,
 * ack.
 *
 *   link inbox ─► pending (loop) ─► verify jobs (uv_queue_work, ≤ verify_jobs_max in flight,
 *   ≤ verify_batch_max frames each; registry snapshot ref per job) ─► commit queue (loop)
 *   ─► commit job on the writer (writer.h; job_commit.c; one in flight): kf_store_ingest_commit of
 *   ≤ commit_batch_max frames in one transaction, frame by frame and quarantine when one
 *   frame spoils the group, then the ACKs sealed per device ─► loop: publish the ACKs,
 *   count, free, release the frames back to the link's bound, tell the writer's commit
 *   listeners (kf_writer_committed).
 *
 * The pipeline's other writer jobs, one file and at most one in flight each: identity
 * requests (job_ident.c), quarantine replays (job_replay.c), registry reloads
 * (job_reload.c), the heartbeat expiry (job_expire.c) and the reject counters
 * (job_rejects.c). The pipeline owns the reject counters (rejects.h): every refusal is
 * counted there by reason, on the loop, and saved by a job of its own on the stats tick, when
 * the writer is idle (at most once a second) and when draining; a failed save keeps them.
 *
 * A failed commit keeps its batch and retries it after a backoff; nothing uncommitted is
 * ever acked. All functions: loop thread. The verify stage is verify.h.
 */
#ifndef KF_KIOSKD_PIPELINE_H
#define KF_KIOSKD_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kf/conf.h>

#include "kioskd/latency.h"
#include "kioskd/link.h"
#include "kioskd/writer.h"
#include "store/registry.h"
#include "store/store.h"

struct kf_pipeline_stats {
    uint64_t verified;          /* frames that passed verification */
    uint64_t ignored;           /* frames on topics the server does not consume */
    uint64_t committed_frames;  /* frames in successful commits (replays included) */
    uint64_t committed_records; /* new records inserted */
    uint64_t duplicates;        /* records already present */
    uint64_t app_repeats;       /* new records that repeat a counted app_id: kept, not counted */
    uint64_t rejected[KF_REJECT_COUNT_];
    uint64_t acks_sent, acks_failed;
    uint64_t ack_keys_derived; /* X25519s for ACK keys (ackkeys.h): one per device key seen */
    uint64_t commits, commit_failures;
    uint64_t registry_reloads;
    uint64_t expired_offline;
    uint64_t seq_gaps;                /* HELLOs acknowledged past the store (see seq_gaps table) */
    uint64_t dropped_nomem;           /* frames dropped for lack of memory (not acked: resent) */
    uint64_t ident_answers;           /* enrollment/rotation requests answered (accepted or not) */
    uint64_t parts_sent;              /* PARTs published, answering FETCHes (job_fetch.c) */
    uint64_t fetch_dropped;           /* FETCHes dropped: too many waiting (asked again) */
    uint64_t quarantined;             /* frames the store refused, kept in quarantine and acked */
    uint64_t quarantine_replays;      /* quarantined frames handed back to the pipeline */
    uint64_t sig_cpu_ns, sig_samples; /* signature checks timed (verify.h), and their CPU */
    struct kf_latency latency;        /* Paho callback copy -> COMMIT returned */
    struct kf_latency commit; /* one group commit, BEGIN -> COMMIT returned (fsync included) */
    size_t pending, verifying, commit_queue; /* gauges */
};

/* [limits] in kioskd's configuration (docs/KIOSKD.md): the data path's bounds, the
 * inbox's included (kioskd passes those to the link). */
struct kf_pipeline_config {
    int inbox_max;        /* 20000, 16..1000000: frames held in memory, receipt to commit */
    int inbox_max_mb;     /* 64, 1..4096: and their bytes, in MiB */
    int verify_batch_max; /* 256, 1..4096 */
    int verify_jobs_max;  /* 2, 1..32 */
    int commit_batch_max; /* 5000, 1..100000 */
    int ack_keys_max;     /* 262144, 1024..16777216: ACK keys held (ackkeys.h) */
};

/* The [limits] section over cfg (borrowed for the load; kf/conf.h). Any thread. */
void kf_pipeline_config_section(struct kf_pipeline_config *cfg, struct kf_conf_section *ret);

struct kf_pipeline_opts {
    size_t verify_batch_max;
    size_t verify_jobs_max;
    size_t commit_batch_max;
    const uint8_t *server_sk;      /* 64 bytes, borrowed for the pipeline's life */
    size_t ack_keys_max;           /* ACK keys held (ackkeys.h), >= 1024: [limits] ack_keys_max */
    char *const *broker_sync_argv; /* run after an enrollment (brokersync.h); NULL: none */
};

struct kf_pipeline;

/* Returns owned pipeline in *ret. Borrows loop, link and w (the writer its jobs run on:
 * it must outlive the pipeline); takes ownership of the reference reg. 0 or -errno. */
int kf_pipeline_new(uv_loop_t *loop, struct kf_link *link, struct kf_writer *w,
                    struct kf_registry *reg, const struct kf_pipeline_opts *opts,
                    struct kf_pipeline **ret);

/* The link has frames: take them all and dispatch what the bounds allow. */
void kf_pipeline_feed(struct kf_pipeline *p);
/* Reload the registry on the writer: forced (SIGHUP) or rate-limited (5 s). */
void kf_pipeline_reload(struct kf_pipeline *p, int forced);
/* Mark devices offline whose last frame is older than cutoff_ms (a writer job). */
void kf_pipeline_expire(struct kf_pipeline *p, int64_t cutoff_ms);
/* The stats interval: save the reject counters not stored yet. */
void kf_pipeline_tick(struct kf_pipeline *p);
/* Take the quarantined frames an operator asked to replay (kioskctl quarantine replay) at
 * the next quiet moment: nothing pending, verifying or committing. Ignored while draining. */
void kf_pipeline_replays(struct kf_pipeline *p);
/* Borrowed, valid until the next loop turn. Gauges are refreshed on each call. */
const struct kf_pipeline_stats *kf_pipeline_stats(struct kf_pipeline *p);

/* After the link stopped: finish every frame held, the last commit and the reject counters,
 * then call cb once (from the loop). Jobs of other subsystems may still be on the writer
 * (kf_writer_drain waits for them). */
void kf_pipeline_drain(struct kf_pipeline *p, void (*cb)(void *ud), void *ud);
/* Close the handles and free p (registry, leftovers) once they are closed; cb then runs.
 * None of its jobs may be in flight (drain first). */
void kf_pipeline_close(struct kf_pipeline *p, void (*cb)(void *ud), void *ud);

#endif
