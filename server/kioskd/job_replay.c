/* job_replay.c: quarantined frames handed back (kioskctl quarantine replay), a writer job.
 * Its work writes the reasons verification refused earlier replays onto their rows, then,
 * when asked and the pipeline is quiet, takes up to KF__REPLAYS_MAX frames out of
 * quarantine (store/quarantine.h); its after callback puts them in front of verification as
 * frames received then. Rare: allocated per run.
 */
#include "kioskd/pipeline_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

#include "store/quarantine.h"

struct replay_job {
    struct kf_writer_job job;
    struct kf_pipeline *p;
    struct kf__replay_note notes[KF__REPLAYS_MAX];
    size_t nnotes;
    int take, rc;
    struct kf_frame *replays, **tail;
    size_t n;
};

/* Writer thread: one quarantined frame handed back, as a frame received now. */
static int replay_cb(void *ud, const struct kf_quarantined *q, const char *topic,
                     const uint8_t *raw, size_t raw_len)
{
    struct replay_job *j = ud;
    size_t tlen = strlen(topic);
    struct kf_frame *f;

    if (raw_len > KF_ENV_MAX_BYTES || tlen == 0 || tlen > KF_TOPIC_MAX) {
        return 0; /* cannot have been received: left held, with its attempt counted */
    }
    f = malloc(sizeof(*f) + tlen + 1 + raw_len);
    if (f == NULL) {
        return -ENOMEM;
    }
    memset(f, 0, sizeof(*f));
    f->topic = (char *)(f + 1);
    memcpy(f->topic, topic, tlen + 1);
    f->payload = (uint8_t *)f->topic + tlen + 1;
    memcpy(f->payload, raw, raw_len);
    f->len = raw_len;
    f->recv_ms = q->recv_ms; /* its receipt: the clock rules and the evidence are about then */
    f->recv_mono_us = kf_mono_us();
    f->quarantine_id = q->id;
    f->parked = 1; /* a replay is verified once, with the registry of now */
    *j->tail = f;
    j->tail = &f->next;
    j->n++;
    return 0;
}

static void replay_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct replay_job *j = KF_WRITER_JOB_OF(job, struct replay_job, job);

    for (size_t i = 0; i < j->nnotes; i++) {
        char why[96];

        snprintf(why, sizeof(why), "replay refused by verification: %s",
                 kf_store_reject_name(j->notes[i].reason));
        (void)kf_store_quarantine_note(st, j->notes[i].id, why); /* best effort: a label */
    }
    if (j->take) {
        j->rc = kf_store_quarantine_take(st, KF__REPLAYS_MAX, replay_cb, j);
    }
}

static void replay_after(struct kf_writer_job *job, int status)
{
    struct replay_job *j = KF_WRITER_JOB_OF(job, struct replay_job, job);
    struct kf_pipeline *p = j->p;

    p->replay_busy = 0;
    if (j->take && (status != 0 || j->rc != 0)) {
        kf_err("quarantine: taking the replays asked for failed: %s (asked again: kioskctl "
               "quarantine replay)",
               kf_strerror(status != 0 ? status : j->rc));
    }
    if (j->replays != NULL) {
        kf_notice("quarantine: %zu frame(s) handed back for replay", j->n);
        *p->pend_tail = j->replays;
        p->pend_tail = j->tail;
        p->npend += j->n;
        p->replays_held += j->n;
        p->stats.quarantine_replays += j->n;
    }
    free(j);
    kf__pipeline_next(p);
}

void kf__pipeline_replay_start(struct kf_pipeline *p)
{
    struct replay_job *j;
    int take;

    if (p->replay_busy) {
        return;
    }
    /* Replays only into a quiet pipeline, one batch at a time: they never crowd out what
     * terminals send, and at most KF__REPLAYS_MAX of them are held. */
    take = p->replays_wanted && !p->draining && p->replays_held == 0 && p->npend == 0 &&
           p->ncq == 0 && !p->commit_busy && !p->commit_retry;
    if (!take && p->nnotes == 0) {
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return; /* taken on the next event */
    }
    j->p = p;
    j->take = take;
    j->tail = &j->replays;
    memcpy(j->notes, p->notes, p->nnotes * sizeof(p->notes[0]));
    j->nnotes = p->nnotes;
    if (kf_writer_submit(p->w, &j->job, replay_work, replay_after) != 0) {
        free(j);
        return; /* the notes and the wish stay: taken on the next event */
    }
    p->nnotes = 0;
    if (take) {
        p->replays_wanted = 0; /* until a quiet moment, the wish stays */
    }
    p->replay_busy = 1;
}
