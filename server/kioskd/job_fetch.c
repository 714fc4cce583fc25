/* job_fetch.c: serving software artifacts to terminals running an `update` command
 * (docs/PROTOCOL.md "FETCH", "PART"), a writer job. The verify jobs set FETCH frames aside
 * (the pipeline's fq, bounded by KF__FETCH_QUEUE_MAX: past it a FETCH is dropped and the
 * terminal asks again after its timeout); this job reads the chunks each asks for from the
 * store (store/artifacts.h), seals one PART per chunk under the device's ACK key, and its
 * after callback publishes them on the device's ack topic, QoS 0. Nothing is stored: a FETCH
 * is a request, and the server holds no state per transfer. Allocated per run; at most
 * KF__FETCH_BATCH frames a run, so at most KF__FETCH_BATCH * KF_FETCH_WINDOW PARTs (2 MiB)
 * in memory.
 */
#include "kioskd/pipeline_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/fetch.h>
#include <kf/log.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "store/artifacts.h"

struct part_out {
    char topic[KF_TOPIC_MAX + 1];
    size_t len;
    uint8_t *buf; /* owned, KF_PART_FRAME_MAX */
};

struct fetch_job {
    struct kf_writer_job job;
    const uint8_t *server_sk; /* the pipeline's, fixed */
    struct kf_pipeline *p;
    struct kf_verified *fetches[KF__FETCH_BATCH];
    size_t n;
    struct part_out out[KF__FETCH_BATCH * KF_FETCH_WINDOW];
    size_t nout, unknown, errors;
};

/* Seal one PART into the next out slot. */
static int seal(struct fetch_job *j, const struct kf_verified *v, const struct kf_part *pt,
                const uint8_t key[KF_ACK_KEY_BYTES])
{
    struct part_out *o = &j->out[j->nout];

    o->buf = malloc(KF_PART_FRAME_MAX);
    if (o->buf == NULL ||
        kf_topic_format(o->topic, sizeof(o->topic), v->ing.hdr.device_id, KF_TOPIC_ACK) != 0 ||
        kf_part_seal(v->ing.hdr.device_id, v->ing.hdr.key_epoch, pt, kf_now_ms(), key, o->buf,
                     KF_PART_FRAME_MAX, &o->len) != 0) {
        free(o->buf);
        o->buf = NULL;
        return -EINVAL;
    }
    j->nout++;
    return 0;
}

static void serve(struct fetch_job *j, struct kf_store *st, const struct kf_verified *v)
{
    const struct kf_fetch *f = &v->fetch;
    uint8_t key[KF_ACK_KEY_BYTES];

    if (kf_ack_key_server(j->server_sk, v->pk, key) != 0) {
        j->errors++;
        return;
    }
    for (uint32_t i = 0; i < f->count; i++) {
        struct kf_store_part sp;
        struct kf_part pt;
        int r = kf_store_artifact_chunk(st, v->ing.hdr.device_id, f->cmd_seq, f->manifest_sha256,
                                        f->part, f->first + i, &sp);

        memset(&pt, 0, sizeof(pt));
        pt.cmd_seq = f->cmd_seq;
        pt.part = f->part;
        if (r == -ERANGE)
            break; /* past the part's end: the window stops there */
        if (r == -ENOENT) {
            pt.state = KF_FETCH_UNKNOWN;
            j->unknown++;
            if (seal(j, v, &pt, key) != 0)
                j->errors++;
            break;
        }
        if (r != 0) {
            kf_warn("fetch: %s command seq %llu: %s", v->ing.hdr.device_id,
                    (unsigned long long)f->cmd_seq, kf_store_errmsg(st));
            j->errors++;
            break;
        }
        pt.state = KF_FETCH_OK;
        pt.index = f->first + i;
        pt.nchunks = sp.nchunks;
        pt.total = sp.total;
        memcpy(pt.sha256, sp.sha256, 32);
        pt.data = sp.data;
        pt.len = sp.len;
        if (seal(j, v, &pt, key) != 0)
            j->errors++;
        kf_store_part_free(&sp);
    }
}

static void fetch_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct fetch_job *j = KF_WRITER_JOB_OF(job, struct fetch_job, job);

    for (size_t i = 0; i < j->n; i++)
        serve(j, st, j->fetches[i]);
}

static void fetch_free(struct fetch_job *j)
{
    for (size_t i = 0; i < j->nout; i++)
        free(j->out[i].buf);
    free(j);
}

static void fetch_after(struct kf_writer_job *job, int status)
{
    struct fetch_job *j = KF_WRITER_JOB_OF(job, struct fetch_job, job);
    struct kf_pipeline *p = j->p;
    size_t failed = 0;

    (void)status; /* never ran: nothing to publish, the terminals ask again */
    p->fetch_busy = 0;
    for (size_t i = 0; i < j->nout; i++) {
        if (kf_link_publish(p->link, j->out[i].topic, j->out[i].buf, j->out[i].len, 0) != 0)
            failed++;
    }
    p->stats.parts_sent += j->nout - failed;
    if (failed + j->errors > 0)
        kf_warn("fetch: %zu PART(s) not sent, %zu chunk(s) not read; the terminals ask again",
                failed, j->errors);
    kf__pipeline_release(p, j->fetches, j->n);
    fetch_free(j);
    kf__pipeline_next(p);
}

void kf__pipeline_fetch_start(struct kf_pipeline *p)
{
    struct fetch_job *j;

    if (p->fetch_busy || p->nfq == 0)
        return;
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return; /* taken on the next event */
    j->p = p;
    j->server_sk = p->opts.server_sk;
    while (j->n < KF__FETCH_BATCH && p->fq != NULL) {
        struct kf_verified *v = p->fq;

        p->fq = v->next;
        v->next = NULL;
        j->fetches[j->n++] = v;
    }
    if (p->fq == NULL)
        p->fq_tail = &p->fq;
    p->nfq -= j->n;
    if (kf_writer_submit(p->w, &j->job, fetch_work, fetch_after) != 0) {
        kf_warn("fetch: cannot queue %zu request(s) on the writer; the terminals ask again", j->n);
        kf__pipeline_release(p, j->fetches, j->n);
        fetch_free(j);
        return;
    }
    p->fetch_busy = 1;
}
