/* writer: kioskd's one queue of typed jobs (server/kioskd/writer.h). No store is needed to
 * test the queue: the work callbacks here ignore it. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <uv.h>

#include "kioskd/writer.h"

struct tjob {
    struct kf_writer_job job;
    int id;
    int *log, *nlog; /* ids in the order their after callbacks ran */
    int worked, status;
    struct tjob *then; /* submitted from this job's after callback */
};

static void tjob_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct tjob *t = KF_WRITER_JOB_OF(job, struct tjob, job);

    (void)st;
    t->worked = 1;
}

static void tjob_after(struct kf_writer_job *job, int status)
{
    struct tjob *t = KF_WRITER_JOB_OF(job, struct tjob, job);

    t->status = status;
    t->log[(*t->nlog)++] = t->id;
    if (t->then != NULL) {
        cr_assert_eq(kf_writer_submit(job->w, &t->then->job, tjob_work, tjob_after), 0);
    }
}

Test(writer, runs_jobs_one_at_a_time_in_submission_order)
{
    struct tjob j[5];
    int log[8], nlog = 0;
    struct kf_writer *w;
    uv_loop_t loop;

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kf_writer_new(&loop, NULL, &w), 0);
    memset(j, 0, sizeof(j));
    for (int i = 0; i < 5; i++) {
        j[i].id = i;
        j[i].log = log;
        j[i].nlog = &nlog;
    }
    j[1].then = &j[4]; /* queued behind those already waiting */
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(kf_writer_submit(w, &j[i].job, tjob_work, tjob_after), 0);
    }
    cr_assert_not(kf_writer_idle(w));
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(nlog, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(log[i], i);
        cr_assert(j[i].worked);
        cr_assert_eq(j[i].status, 0);
    }
    cr_assert(kf_writer_idle(w));
    kf_writer_free(w);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(writer, refuses_past_its_queue_limit)
{
    static struct tjob j[KF_WRITER_QUEUE_MAX + 2];
    int log[KF_WRITER_QUEUE_MAX + 2], nlog = 0;
    struct kf_writer *w;
    uv_loop_t loop;

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kf_writer_new(&loop, NULL, &w), 0);
    for (size_t i = 0; i < KF_WRITER_QUEUE_MAX + 2; i++) {
        j[i].id = (int)i;
        j[i].log = log;
        j[i].nlog = &nlog;
    }
    /* One running, KF_WRITER_QUEUE_MAX waiting, then no more. */
    for (size_t i = 0; i < KF_WRITER_QUEUE_MAX + 1; i++) {
        cr_assert_eq(kf_writer_submit(w, &j[i].job, tjob_work, tjob_after), 0);
    }
    cr_assert_eq(kf_writer_submit(w, &j[KF_WRITER_QUEUE_MAX + 1].job, tjob_work, tjob_after),
                 -ENOBUFS);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(nlog, (int)KF_WRITER_QUEUE_MAX + 1);
    kf_writer_free(w);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

struct heard {
    int calls;
    size_t frames;
};

static void on_commit(void *ud, const struct kf_writer_commit *c)
{
    struct heard *h = ud;

    h->calls++;
    h->frames += c->frames;
}

Test(writer, tells_every_listener_of_a_commit)
{
    struct heard a = {0, 0}, b = {0, 0};
    struct kf_writer_commit c = {.frames = 3, .expired = 0};
    struct kf_writer *w;
    uv_loop_t loop;

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kf_writer_new(&loop, NULL, &w), 0);
    cr_assert_eq(kf_writer_on_commit(w, on_commit, &a), 0);
    cr_assert_eq(kf_writer_on_commit(w, on_commit, &b), 0);
    for (size_t i = 2; i < KF_WRITER_LISTENERS_MAX; i++) {
        cr_assert_eq(kf_writer_on_commit(w, on_commit, &b), 0);
    }
    cr_assert_eq(kf_writer_on_commit(w, on_commit, &b), -ENOSPC);
    kf_writer_committed(w, &c);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(a.frames, 3);
    cr_assert_eq(b.calls, (int)KF_WRITER_LISTENERS_MAX - 1);
    kf_writer_free(w);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

static void on_drained(void *ud)
{
    (*(int *)ud)++;
}

Test(writer, drains_after_the_last_job_and_its_follow_ups)
{
    struct tjob j[2];
    int log[2], nlog = 0, drained = 0;
    struct kf_writer *w;
    uv_loop_t loop;

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kf_writer_new(&loop, NULL, &w), 0);
    kf_writer_drain(w, on_drained, &drained);
    cr_assert_eq(drained, 1, "idle: at once");
    memset(j, 0, sizeof(j));
    for (int i = 0; i < 2; i++) {
        j[i].id = i;
        j[i].log = log;
        j[i].nlog = &nlog;
    }
    j[0].then = &j[1];
    cr_assert_eq(kf_writer_submit(w, &j[0].job, tjob_work, tjob_after), 0);
    kf_writer_drain(w, on_drained, &drained);
    cr_assert_eq(drained, 1);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(drained, 2);
    cr_assert_eq(nlog, 2, "the follow-up ran before the drain callback");
    kf_writer_free(w);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
