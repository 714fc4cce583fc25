/* writer.h: kioskd's one writer (modelled on Redis src/bio.c). Everything that runs on
 * kioskd's SQLite connection is a job on one FIFO queue, run one at a time:
 *
 *   loop: kf_writer_submit(job) ─► queue (≤ KF_WRITER_QUEUE_MAX waiting) ─► job->work(st)
 *   on a libuv pool thread (uv_queue_work, one job in flight) ─► loop: job->after(status),
 *   then the next job.
 *
 * A job is a small struct of its own type that embeds struct kf_writer_job (one file per job
 * type: job_commit.c, job_ident.c, ... and slasvc.c's run); it recovers itself from the
 * embedded member with KF_WRITER_JOB_OF. Jobs run in submission order and never overlap,
 * so work callbacks share the connection without a lock; the pool thread may differ from
 * one job to the next (SQLite allows a connection to move between threads when its uses do
 * not overlap, and uv_queue_work orders them).
 *
 * Subsystems that derive something from what the writer stored (the SLA engine, a future
 * billing or assessment service) register a callback with kf_writer_on_commit; jobs that
 * stored such facts announce it with kf_writer_committed. Listeners run on the loop and
 * usually submit a job of their own.
 *
 * Threads: every function here runs on the loop thread; work callbacks run on a pool thread
 * with the store, after callbacks on the loop thread.
 */
#ifndef KF_KIOSKD_WRITER_H
#define KF_KIOSKD_WRITER_H

#include <stddef.h>

#include <uv.h>

#include "store/store.h"

/* Jobs waiting (the one running not counted): a hard limit. kioskd's own job types keep at
 * most one each in flight, so it is never reached in normal operation; a submit past it is
 * refused with -ENOBUFS. */
#define KF_WRITER_QUEUE_MAX 64u
/* Commit listeners (kf_writer_on_commit), at most. */
#define KF_WRITER_LISTENERS_MAX 8u

struct kf_writer;
struct kf_writer_job;

/* Pool thread: the job's work, with the writer's store (borrowed for the call). */
typedef void (*kf_writer_work_cb)(struct kf_writer_job *job, struct kf_store *st);
/* Loop thread: the job is over. status: 0 when work ran, -ECANCELED when it never did (the
 * job could not be queued on the pool). The job belongs to its submitter again: after may
 * free it or submit it again. */
typedef void (*kf_writer_after_cb)(struct kf_writer_job *job, int status);

/* Embedded in each job; the writer's bookkeeping, set by kf_writer_submit. */
struct kf_writer_job {
    struct kf_writer_job *next;
    struct kf_writer *w;
    kf_writer_work_cb work;
    kf_writer_after_cb after;
};

/* The job struct of type t whose member m is the struct kf_writer_job *j. */
#define KF_WRITER_JOB_OF(j, t, m) ((t *)(void *)((char *)(j)-offsetof(t, m)))

/* What a job stored that listeners may derive something from. */
struct kf_writer_commit {
    size_t frames;  /* frames committed (quarantined ones included) */
    size_t expired; /* devices marked offline */
};

/* Loop thread, after a job that stored facts (its after callback). */
typedef void (*kf_writer_commit_cb)(void *ud, const struct kf_writer_commit *c);

/* Returns owned writer in *ret. Borrows loop and st: st is used only by the jobs' work,
 * one at a time, and must outlive the writer. 0 or -errno. */
int kf_writer_new(uv_loop_t *loop, struct kf_store *st, struct kf_writer **ret);
/* Queue job (borrowed until its after callback runs). 0; -ENOBUFS past KF_WRITER_QUEUE_MAX
 * waiting; or a libuv error converted to -errno when the pool refuses it. On error the job
 * is not queued and after is not called. */
int kf_writer_submit(struct kf_writer *w, struct kf_writer_job *job, kf_writer_work_cb work,
                     kf_writer_after_cb after);
/* Register cb (ud borrowed) to hear of every kf_writer_committed, in registration order.
 * 0 or -ENOSPC past KF_WRITER_LISTENERS_MAX. */
int kf_writer_on_commit(struct kf_writer *w, kf_writer_commit_cb cb, void *ud);
/* A job's after callback: tell every listener what was stored. */
void kf_writer_committed(struct kf_writer *w, const struct kf_writer_commit *c);
/* 1 when no job is waiting or running. */
int kf_writer_idle(const struct kf_writer *w);
/* Call cb once, from the loop, as soon as no job is waiting or running (at once when idle
 * now). Jobs may still be submitted meanwhile (an after callback's follow-up); cb waits for
 * them. Once it ran, the writer holds no request on the loop (uv_loop_close can return 0). */
void kf_writer_drain(struct kf_writer *w, void (*cb)(void *ud), void *ud);
/* Free w. Only when idle (after kf_writer_drain's cb, nothing submitted since); the store
 * is the caller's. NULL is a no-op. */
void kf_writer_free(struct kf_writer *w);

#endif
