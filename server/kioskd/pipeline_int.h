/* pipeline_int.h: what pipeline.c (the loop's side: verify jobs, the queues, the kick timer)
 * and the pipeline's writer jobs (job_*.c, one job type per file) share. Nothing else
 * includes it.
 *
 * The loop thread owns every field of struct kf_pipeline. A job's work (writer thread)
 * touches only its own job struct, the store, and fields fixed at kf_pipeline_new (opts).
 * Each job type has at most one job in flight (its *_busy flag); a job's after callback
 * (loop) applies its results and calls kf__pipeline_next.
 */
#ifndef KF_KIOSKD_PIPELINE_INT_H
#define KF_KIOSKD_PIPELINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "kioskd/brokersync.h"
#include "kioskd/pipeline.h"
#include "kioskd/rejects.h"
#include "kioskd/verify.h"
#include "kioskd/writer.h"

#define KF__REPLAYS_MAX 256u         /* quarantined frames handed back at a time */
#define KF__PARKED_MAX 4096u         /* unknown devices' frames held for a reload */
#define KF__FETCH_QUEUE_MAX 256u     /* FETCH requests waiting; past it one is dropped */
#define KF__FETCH_BATCH 8u           /* FETCH requests answered per job */
#define KF__RETRY_MIN_MS 100u        /* a failed commit's first backoff */
#define KF__RETRY_MAX_MS 5000u       /* and its longest */
#define KF__STOP_MAX_FAILURES 10u    /* while stopping, give a failing batch up after this */
#define KF__REJECTS_MIN_US 1000000LL /* reject counters saved at most this often when idle */

/* A replayed quarantined frame that verification refused: why, for its row (the replay is
 * not a rejection of anything a terminal sent now, so no reject counter moves). */
struct kf__replay_note {
    int64_t id;
    int reason; /* enum kf_reject */
};

struct kf__commit_job; /* job_commit.c */

struct kf_pipeline {
    uv_loop_t *loop;
    struct kf_link *link;
    struct kf_writer *w;
    struct kf_registry *reg;
    struct kf_pipeline_opts opts;
    uv_timer_t kick; /* commit retry backoff, rate-limited reloads, reject saves at stop */
    int kick_armed;
    struct kf_brokersync *bsync;

    struct kf_frame *pend, **pend_tail; /* waiting for a verify job */
    size_t npend;
    /* Frames of a device the registry snapshot did not know, held (once) for a reload: a
     * terminal provisioned while kioskd runs is accepted on its first frame. parked waits
     * for the next reload; reloading is what the reload in flight will verify again. */
    struct kf_frame *parked, *reloading;
    size_t nparked, nreloading;
    size_t vjobs;                      /* verify jobs in flight */
    struct kf_verified *cq, **cq_tail; /* verified, waiting for the commit job */
    size_t ncq;
    struct kf_verified *idq, **idq_tail; /* identity requests, waiting for their job */
    size_t nidq;
    struct kf_verified *fq, **fq_tail; /* FETCH requests, waiting for their job (job_fetch.c) */
    size_t nfq;
    int fetch_busy;

    /* the commit job (job_commit.c) */
    struct kf__commit_job *commit;
    int commit_busy;
    int commit_retry; /* the job holds a failed batch to retry when the kick timer fires */
    size_t commit_n;  /* frames in the job (the commit_queue gauge) */
    unsigned retry_ms, fail_streak;

    int ident_busy, replay_busy, reload_busy, expire_busy;

    /* the reject counters (rejects.h) and their saving (job_rejects.c) */
    struct kf_rejects rejects;
    int rejects_due; /* the stats tick asked */
    int64_t rejects_tried_us;
    unsigned rejects_failures;

    int reload_wanted, reload_forced;
    int64_t last_reload_us;
    int expire_wanted;
    int64_t expire_cutoff_ms;
    int replays_wanted;
    size_t replays_held; /* replayed frames in the pipeline: more are taken only at 0 */
    struct kf__replay_note notes[KF__REPLAYS_MAX]; /* refused replays, for their rows */
    size_t nnotes;

    int draining;
    void (*drained_cb)(void *ud);
    void *drained_ud;
    void (*closed_cb)(void *ud);
    void *closed_ud;

    struct kf_pipeline_stats stats;
};

/* pipeline.c: free n verified frames and give their room in the inbox back to the link. */
void kf__pipeline_release(struct kf_pipeline *p, struct kf_verified **v, size_t n);
/* pipeline.c: dispatch verify jobs, start every writer job that is due, and call the drain
 * callback once everything is done. After every job's after callback. */
void kf__pipeline_next(struct kf_pipeline *p);
/* pipeline.c: run kf__pipeline_next in ms (no-op when already armed). */
void kf__pipeline_arm_kick(struct kf_pipeline *p, uint64_t ms);

/* job_commit.c: the commit job's arrays (commit_batch_max each) and ACK keys. 0 or -errno. */
int kf__pipeline_commit_new(struct kf_pipeline *p);
/* job_commit.c: release the frames the job still holds and free it (closing). */
void kf__pipeline_commit_free(struct kf_pipeline *p);
/* job_commit.c: submit the group commit of the commit queue (or the batch to retry). */
void kf__pipeline_commit_start(struct kf_pipeline *p);
/* job_fetch.c: answer the FETCH requests waiting (fq) with PARTs. */
void kf__pipeline_fetch_start(struct kf_pipeline *p);
/* job_ident.c: submit the identity requests waiting (idq). */
void kf__pipeline_ident_start(struct kf_pipeline *p);
/* job_replay.c: write the notes of refused replays, and take the replays asked for when
 * the pipeline is quiet. */
void kf__pipeline_replay_start(struct kf_pipeline *p);
/* pipeline.c: frames held for a reload back to the front of the pending list. */
void kf__pipeline_unpark(struct kf_pipeline *p, struct kf_frame *list, size_t n);
/* job_reload.c: reload the registry when asked (rate-limited unless forced). */
void kf__pipeline_reload_start(struct kf_pipeline *p);
/* job_expire.c: mark silent devices offline when asked. */
void kf__pipeline_expire_start(struct kf_pipeline *p);
/* job_rejects.c: save the reject counters when due (stats tick, idle writer, draining). */
void kf__pipeline_rejects_start(struct kf_pipeline *p);

#endif
