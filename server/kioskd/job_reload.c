/* job_reload.c: a registry reload, a writer job: a new snapshot read on the writer's
 * connection, swapped in on the loop (verify jobs in flight keep their reference to the old
 * one). Asked by SIGHUP (forced), an accepted identity request (forced) or an unknown device
 * (at most once per RELOAD_MIN_US). An unknown device's frame is held for the reload and
 * verified once more after it (pipeline.c), so a terminal provisioned while kioskd runs is
 * accepted on its first frame.
 */
#include "kioskd/pipeline_int.h"

#include <stdlib.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

#define RELOAD_MIN_US (5LL * 1000 * 1000)

struct reload_job {
    struct kf_writer_job job;
    struct kf_pipeline *p;
    int rc;
    struct kf_registry *reg;
};

static void reload_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct reload_job *j = KF_WRITER_JOB_OF(job, struct reload_job, job);

    j->rc = kf_store_load_registry(st, &j->reg);
}

static void reload_after(struct kf_writer_job *job, int status)
{
    struct reload_job *j = KF_WRITER_JOB_OF(job, struct reload_job, job);
    struct kf_pipeline *p = j->p;

    p->reload_busy = 0;
    if (status == 0 && j->rc == 0) {
        kf_store_registry_unref(p->reg);
        p->reg = j->reg;
        p->stats.registry_reloads++;
        kf_info("registry: reloaded, %zu device(s)", kf_store_registry_count(p->reg));
    } else {
        kf_err("registry: reload failed: %s (keeping the old snapshot)",
               kf_strerror(status != 0 ? status : j->rc));
    }
    free(j);
    /* The frames held for this reload are verified again, first; a second miss is final. */
    kf__pipeline_unpark(p, p->reloading, p->nreloading);
    p->reloading = NULL;
    p->nreloading = 0;
    kf__pipeline_next(p);
}

void kf__pipeline_reload_start(struct kf_pipeline *p)
{
    int64_t now = kf_mono_us();
    struct reload_job *j;

    if (p->reload_busy || !p->reload_wanted) {
        return;
    }
    if (!p->reload_forced && now - p->last_reload_us < RELOAD_MIN_US) {
        kf__pipeline_arm_kick(p,
                              (uint64_t)(RELOAD_MIN_US - (now - p->last_reload_us)) / 1000u + 1u);
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return; /* taken on the next event */
    }
    j->p = p;
    if (kf_writer_submit(p->w, &j->job, reload_work, reload_after) != 0) {
        free(j);
        return;
    }
    p->reload_wanted = 0;
    p->reload_forced = 0;
    p->last_reload_us = now;
    p->reload_busy = 1;
    /* What this reload answers: the frames held before it started (a frame held after it
     * started might name a device added in between; it waits for the next one). */
    p->reloading = p->parked;
    p->nreloading = p->nparked;
    p->parked = NULL;
    p->nparked = 0;
}
