/* job_expire.c: the heartbeat expiry, a writer job: devices silent since the cutoff are
 * marked offline (store/ingest.h), and the writer's commit listeners hear of it (the SLA
 * engine takes the offline facts it wrote).
 */
#include "kioskd/pipeline_int.h"

#include <stdlib.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

#include "store/ingest.h"

struct expire_job {
    struct kf_writer_job job;
    struct kf_pipeline *p;
    int64_t cutoff_ms;
    int rc;
    uint32_t expired;
};

static void expire_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct expire_job *j = KF_WRITER_JOB_OF(job, struct expire_job, job);

    j->rc = kf_store_ingest_expire_online(st, j->cutoff_ms, kf_now_ms(), &j->expired);
}

static void expire_after(struct kf_writer_job *job, int status)
{
    struct expire_job *j = KF_WRITER_JOB_OF(job, struct expire_job, job);
    struct kf_pipeline *p = j->p;
    struct kf_writer_commit c = {.frames = 0, .expired = 0};

    p->expire_busy = 0;
    if (status == 0 && j->rc == 0) {
        p->stats.expired_offline += j->expired;
        c.expired = j->expired;
        if (j->expired > 0) {
            kf_notice("heartbeat: %u device(s) marked offline", j->expired);
        }
    } else {
        kf_err("heartbeat: expiry failed: %s", kf_strerror(status != 0 ? status : j->rc));
    }
    free(j);
    /* Whatever it found: the listeners look at the store's facts themselves. */
    kf_writer_committed(p->w, &c);
    kf__pipeline_next(p);
}

void kf__pipeline_expire_start(struct kf_pipeline *p)
{
    struct expire_job *j;

    if (p->expire_busy || !p->expire_wanted) {
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return; /* taken on the next event */
    }
    j->p = p;
    j->cutoff_ms = p->expire_cutoff_ms;
    if (kf_writer_submit(p->w, &j->job, expire_work, expire_after) != 0) {
        free(j);
        return;
    }
    p->expire_wanted = 0;
    p->expire_busy = 1;
}
