/* pipeline_int.h: what pipeline.c (the loop's side) and pipeline_commit.c (the store job's
 * work, on a pool thread) share: the pipeline and the store job. Nothing else includes it.
 */
#ifndef KF_SERVER_PIPELINE_INT_H
#define KF_SERVER_PIPELINE_INT_H

#include "kioskd/ackkeys.h"
#include "kioskd/pipeline.h"

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>
#include <kf/topic.h>

#define KF__ACK_CAP (KF_ENV_FIXED_BYTES + KF_DEVICE_ID_MAX + KF_ENV_SIG_BYTES)
#define KF__REPLAYS_MAX 256u /* quarantined frames handed back per store tick */

/* A replayed quarantined frame that verification refused: why, for its row (the replay is
 * not a rejection of anything a terminal sent now, so no reject counter moves). */
struct kf__replay_note {
    int64_t id;
    int reason; /* enum kf_reject */
};

struct kf__devseq {
    const char *dev;
    uint64_t seq;
    uint32_t epoch;    /* the device key its frame was verified with */
    int64_t device_ms; /* its device time, echoed in the ACK */
    const uint8_t *pk; /* (32 bytes, in the item) */
};

struct kf__ack {
    char topic[KF_TOPIC_MAX + 1];
    size_t len;
    uint8_t buf[KF__ACK_CAP];
};

struct kf__sjob {
    uv_work_t req;
    struct kf_pipeline *p;
    /* commit */
    struct kf_verified **items; /* commit_batch_max */
    struct kf_ingest **ing;     /* commit_batch_max: &items[i]->ing, for the store */
    size_t n;
    size_t n_queued; /* n when queued: the loop reads this, the worker may shrink n */
    int group_rc;    /* why the group commit failed when the job went frame by frame */
    char group_msg[160];
    struct kf_commit_out *out; /* commit_batch_max */
    struct kf__devseq *order;  /* commit_batch_max */
    uint64_t delta[KF_REJECT_COUNT_];
    int do_commit;
    int rc;
    int64_t start_mono_us, done_mono_us;
    struct kf__ack *acks; /* commit_batch_max */
    size_t nacks, ack_errors;
    uint64_t ack_keys_derived; /* by this job */
    /* isolation after a frame-specific failure: frames quarantined, or dropped */
    struct kf_verified **drop; /* commit_batch_max */
    size_t ndrop, npoison, nquarantined;
    int isolated, poison_rc;
    char poison_msg[160];
    /* quarantined frames an operator asked to replay, taken on a store tick; and the
     * reasons verification refused earlier ones, written to their rows */
    struct kf__replay_note notes[KF__REPLAYS_MAX];
    size_t nnotes;
    int do_replays, replays_rc;
    struct kf_frame *replays, **replays_tail;
    size_t nreplays;
    /* identity requests, taken out of the batch and applied one by one */
    struct kf_verified **idents;      /* commit_batch_max */
    struct kf_ident_answer **answers; /* commit_batch_max: owned until submitted */
    size_t nidents, nanswers, ident_errors;
    /* registry reload */
    int do_reload, reload_rc;
    struct kf_registry *new_reg;
    /* online expiry */
    int do_expire, expire_rc;
    int64_t cutoff_ms;
    uint32_t expired;
    /* the store hook (kf_pipeline_hook) */
    int do_hook_tick, hook_ran;
};

struct kf_pipeline {
    uv_loop_t *loop;
    struct kf_link *link;
    struct kf_store *store;
    struct kf_registry *reg;
    struct kf_pipeline_opts opts;
    uv_timer_t kick; /* commit retry backoff and rate-limited reloads */
    struct kf_brokersync *bsync;

    struct kf_frame *pend, **pend_tail;
    size_t npend;
    size_t vjobs;
    struct kf_verified *cq, **cq_tail;
    size_t ncq;

    struct kf__sjob sj;
    int sj_busy;
    struct kf_ackkeys *ackkeys; /* the store job's */
    int sj_retry;               /* sj holds a failed batch to retry when the kick timer fires */
    int kick_armed;             /* the kick timer is running */
    unsigned retry_ms, fail_streak;

    uint64_t delta[KF_REJECT_COUNT_];
    int flush_deltas;
    int reload_wanted, reload_forced;
    int64_t last_reload_us;
    int expire_wanted;
    int64_t expire_cutoff_ms;
    int hook_tick_wanted;
    int replays_wanted;
    size_t replays_held; /* replayed frames in the pipeline: more are taken only at 0 */
    struct kf__replay_note notes[KF__REPLAYS_MAX]; /* refused replays, for their rows */
    size_t nnotes;
    uint64_t link_oversize_seen, link_malformed_seen;

    int draining;
    void (*drained_cb)(void *ud);
    void *drained_ud;
    void (*closed_cb)(void *ud);
    void *closed_ud;

    struct kf_pipeline_stats stats;
};

/* The store job's work callback (pipeline_commit.c): identity requests, the group commit
 * (frame by frame and quarantine when a frame spoils it), the ACKs, the replays asked for,
 * the registry reload, the heartbeat expiry and the store hook. */
void kf__sjob_work(uv_work_t *req);

#endif
