/* writer.c: one FIFO of jobs, one in flight on the libuv pool (writer.h).
 *
 * The pool rather than a thread of our own: kioskd sizes the pool so that the job in flight
 * never waits behind verification (kioskd.c), a job costs one uv_queue_work as the single
 * store job did before, and there is no handle to close: once idle, the writer holds nothing
 * on the loop. All fields belong to the loop thread; the pool thread reads only `running`
 * and `st`, written before uv_queue_work and not changed until the after callback.
 */
#include "kioskd/writer.h"

#include <errno.h>
#include <stdlib.h>

struct listener {
    kf_writer_commit_cb cb;
    void *ud;
};

struct kf_writer {
    uv_loop_t *loop;
    struct kf_store *st;
    uv_work_t req;
    struct kf_writer_job *running;
    struct kf_writer_job *head, **tail;
    size_t waiting;
    struct listener listeners[KF_WRITER_LISTENERS_MAX];
    size_t nlisteners;
    void (*drained_cb)(void *ud);
    void *drained_ud;
    int in_after; /* an after callback is running: start the next job when it returns */
};

static void run_work(uv_work_t *req)
{
    struct kf_writer *w = req->data;

    w->running->work(w->running, w->st);
}

static void run_after(uv_work_t *req, int status);

/* Start the head of the queue if nothing runs. A job the pool refuses (cannot happen with
 * a live loop) gets its after callback with -ECANCELED. */
static void start_next(struct kf_writer *w)
{
    while (w->running == NULL && w->head != NULL && !w->in_after) {
        struct kf_writer_job *j = w->head;
        int rc;

        w->head = j->next;
        if (w->head == NULL) {
            w->tail = &w->head;
        }
        w->waiting--;
        j->next = NULL;
        w->running = j;
        rc = uv_queue_work(w->loop, &w->req, run_work, run_after);
        if (rc != 0) {
            w->running = NULL;
            w->in_after = 1;
            j->after(j, -ECANCELED);
            w->in_after = 0;
        }
    }
}

static void check_drained(struct kf_writer *w)
{
    if (w->drained_cb != NULL && kf_writer_idle(w)) {
        void (*cb)(void *ud) = w->drained_cb;

        w->drained_cb = NULL;
        cb(w->drained_ud);
    }
}

static void run_after(uv_work_t *req, int status)
{
    struct kf_writer *w = req->data;
    struct kf_writer_job *j = w->running;

    w->running = NULL;
    /* Jobs the after callback submits queue behind those already waiting (FIFO). */
    w->in_after = 1;
    j->after(j, status == UV_ECANCELED ? -ECANCELED : 0);
    w->in_after = 0;
    start_next(w);
    check_drained(w);
}

int kf_writer_new(uv_loop_t *loop, struct kf_store *st, struct kf_writer **ret)
{
    struct kf_writer *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        return -ENOMEM;
    }
    w->loop = loop;
    w->st = st;
    w->req.data = w;
    w->tail = &w->head;
    *ret = w;
    return 0;
}

int kf_writer_submit(struct kf_writer *w, struct kf_writer_job *job, kf_writer_work_cb work,
                     kf_writer_after_cb after)
{
    if (w->waiting >= KF_WRITER_QUEUE_MAX) {
        return -ENOBUFS;
    }
    job->next = NULL;
    job->w = w;
    job->work = work;
    job->after = after;
    if (w->running == NULL && w->head == NULL && !w->in_after) {
        int rc;

        w->running = job;
        rc = uv_queue_work(w->loop, &w->req, run_work, run_after);
        if (rc != 0) {
            w->running = NULL;
            return rc;
        }
        return 0;
    }
    *w->tail = job;
    w->tail = &job->next;
    w->waiting++;
    return 0;
}

int kf_writer_on_commit(struct kf_writer *w, kf_writer_commit_cb cb, void *ud)
{
    if (w->nlisteners >= KF_WRITER_LISTENERS_MAX) {
        return -ENOSPC;
    }
    w->listeners[w->nlisteners].cb = cb;
    w->listeners[w->nlisteners].ud = ud;
    w->nlisteners++;
    return 0;
}

void kf_writer_committed(struct kf_writer *w, const struct kf_writer_commit *c)
{
    for (size_t i = 0; i < w->nlisteners; i++) {
        w->listeners[i].cb(w->listeners[i].ud, c);
    }
}

int kf_writer_idle(const struct kf_writer *w)
{
    return w->running == NULL && w->head == NULL;
}

void kf_writer_drain(struct kf_writer *w, void (*cb)(void *ud), void *ud)
{
    w->drained_cb = cb;
    w->drained_ud = ud;
    if (!w->in_after) {
        check_drained(w);
    }
}

void kf_writer_free(struct kf_writer *w)
{
    if (w == NULL) {
        return;
    }
    if (!kf_writer_idle(w)) {
        abort(); /* a job in flight would run on freed memory: a bug in the caller */
    }
    free(w);
}
