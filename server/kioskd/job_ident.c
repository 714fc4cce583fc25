/* job_ident.c: identity requests (enrollment, key rotation), a writer job. The verify jobs
 * set them aside (the pipeline's idq); this job applies them one by one, each in its own
 * transaction (identity.h), and its after callback hands the answers to the broker sync and
 * asks for a registry reload when one was accepted. Rare: allocated per run.
 */
#include "kioskd/pipeline_int.h"

#include <errno.h>
#include <stdlib.h>

#include <kf/log.h>
#include <kf/time.h>

#include "kioskd/identity.h"

struct ident_job {
    struct kf_writer_job job;
    const uint8_t *server_sk; /* the pipeline's, fixed */
    struct kf_pipeline *p;
    struct kf_verified **idents;         /* n, owned */
    struct kf_identity_answer **answers; /* nanswers, owned until submitted */
    size_t n, nanswers, errors;
};

static void ident_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct ident_job *j = KF_WRITER_JOB_OF(job, struct ident_job, job);

    for (size_t i = 0; i < j->n; i++) {
        struct kf_identity_answer *a = malloc(sizeof(*a));

        if (a == NULL || kf_identity_answer(st, j->idents[i], j->server_sk, kf_now_ms(), a) != 0) {
            free(a);
            j->errors++;
            continue;
        }
        j->answers[j->nanswers++] = a;
    }
}

static void ident_free(struct ident_job *j)
{
    for (size_t i = 0; i < j->nanswers; i++) {
        free(j->answers[i]);
    }
    free(j->answers);
    free(j->idents);
    free(j);
}

static void ident_after(struct kf_writer_job *job, int status)
{
    struct ident_job *j = KF_WRITER_JOB_OF(job, struct ident_job, job);
    struct kf_pipeline *p = j->p;

    (void)status; /* never ran: no answers, the devices ask again */
    p->ident_busy = 0;
    for (size_t i = 0; i < j->nanswers; i++) {
        struct kf_identity_answer *a = j->answers[i];

        if (a->accepted) {
            p->reload_wanted = 1;
            p->reload_forced = 1;
        }
        p->stats.ident_answers++;
        kf_notice("identity: %s", a->what);
        kf_brokersync_submit(p->bsync, a);
        j->answers[i] = NULL;
    }
    if (j->errors > 0) {
        kf_err("identity: %zu request(s) not applied (database error); the devices ask again",
               j->errors);
    }
    kf__pipeline_release(p, j->idents, j->n);
    ident_free(j);
    kf__pipeline_next(p);
}

void kf__pipeline_ident_start(struct kf_pipeline *p)
{
    size_t cap = p->nidq < p->opts.commit_batch_max ? p->nidq : p->opts.commit_batch_max;
    struct ident_job *j;

    if (p->ident_busy || p->nidq == 0) {
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL || (j->idents = calloc(cap, sizeof(*j->idents))) == NULL ||
        (j->answers = calloc(cap, sizeof(*j->answers))) == NULL) {
        if (j != NULL) {
            ident_free(j);
        }
        return; /* taken on the next event */
    }
    j->p = p;
    j->server_sk = p->opts.server_sk;
    while (j->n < cap) {
        struct kf_verified *v = p->idq;

        p->idq = v->next;
        v->next = NULL;
        j->idents[j->n++] = v;
    }
    if (p->idq == NULL) {
        p->idq_tail = &p->idq;
    }
    p->nidq -= j->n;
    if (kf_writer_submit(p->w, &j->job, ident_work, ident_after) != 0) {
        kf_warn("identity: cannot queue %zu request(s) on the writer; the devices ask again", j->n);
        kf__pipeline_release(p, j->idents, j->n);
        ident_free(j);
        return;
    }
    p->ident_busy = 1;
}
