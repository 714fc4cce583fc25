/* job_rejects.c: saving the reject counters (rejects.h), a writer job with a transaction of
 * its own (kf_store_ingest_rejects_add), never one per group commit: it runs on the stats tick,
 * when the writer is idle (at most once per KF__REJECTS_MIN_US) and while draining. Under
 * load the writer is never idle, so it costs one transaction per stats interval. A failed
 * save leaves the counts with their owner; while stopping it is retried with the commit's
 * backoff and given up after KF__STOP_MAX_FAILURES.
 */
#include "kioskd/pipeline_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

#include "store/ingest.h"

struct rejects_job {
    struct kf_writer_job job;
    struct kf_pipeline *p;
    uint64_t delta[KF_REJECT_COUNT_];
    int rc;
};

static void rejects_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct rejects_job *j = KF_WRITER_JOB_OF(job, struct rejects_job, job);

    j->rc = kf_store_ingest_rejects_add(st, j->delta);
}

static void rejects_after(struct kf_writer_job *job, int status)
{
    struct rejects_job *j = KF_WRITER_JOB_OF(job, struct rejects_job, job);
    struct kf_pipeline *p = j->p;
    int rc = status != 0 ? status : j->rc;

    free(j);
    kf_rejects_save_end(&p->rejects, rc);
    if (rc == 0) {
        p->rejects_failures = 0;
    } else if (p->rejects_failures++ == 0) {
        kf_err("store: saving the reject counters failed: %s (kept; retried)", kf_strerror(rc));
    }
    if (rc != 0 && p->draining) {
        if (p->rejects_failures >= KF__STOP_MAX_FAILURES) {
            kf_err("store: giving up %" PRIu64 " reject count(s) at shutdown",
                   kf_rejects_discard(&p->rejects));
        } else {
            kf__pipeline_arm_kick(p, p->retry_ms);
        }
    }
    kf__pipeline_next(p);
}

void kf__pipeline_rejects_start(struct kf_pipeline *p)
{
    int64_t now = kf_mono_us();
    struct rejects_job *j;
    int idle = kf_writer_idle(p->w) && now - p->rejects_tried_us >= KF__REJECTS_MIN_US;

    if (p->rejects.busy || !(p->rejects_due || idle || (p->draining && !p->kick_armed))) {
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return; /* taken on the next event */
    }
    j->p = p;
    if (kf_rejects_save_begin(&p->rejects, j->delta) != 0) {
        free(j); /* nothing to save */
        p->rejects_due = 0;
        return;
    }
    if (kf_writer_submit(p->w, &j->job, rejects_work, rejects_after) != 0) {
        kf_rejects_save_end(&p->rejects, -EAGAIN);
        free(j);
        return;
    }
    p->rejects_due = 0;
    p->rejects_tried_us = now;
}
