/* job_commit.c: the group commit, a writer job (writer.h; pipeline_int.h). One in flight:
 * the pipeline fills it from the commit queue, its work commits the batch on the writer's
 * connection in one transaction (frame by frame, and quarantine, when one frame spoils the
 * group) and seals one ACK per device; its after callback publishes the ACKs, counts,
 * releases the frames, and tells the writer's commit listeners.
 *
 * The work touches only the job (its arrays and ACK keys), the store and the pipeline's
 * fixed options.
 */
#include "kioskd/pipeline_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/blob.h>
#include <kf/envelope.h>
#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "kioskd/ackkeys.h"
#include "store/ingest.h"
#include "store/quarantine.h"
#include "store/store.h"

#define ACK_CAP KF_BLOB_ACK_FRAME_MAX /* an ACK, or a BLOB_ACK (8 bytes of body more) */

struct devseq {
    const char *dev;
    uint64_t seq;
    uint32_t epoch;    /* the device key its frame was verified with */
    int64_t device_ms; /* its device time, echoed in the ACK */
    const uint8_t *pk; /* (32 bytes, in the item) */
};

struct ack {
    char topic[KF_TOPIC_MAX + 1];
    size_t len;
    uint8_t buf[ACK_CAP];
};

struct kf__commit_job {
    struct kf_writer_job job;
    struct kf_pipeline *p;
    struct kf_ackkeys *ackkeys; /* used by the work only */
    struct kf_verified **items; /* commit_batch_max */
    struct kf_ingest **ing;     /* commit_batch_max: &items[i]->ing, for the store */
    size_t n;
    size_t n_queued; /* n when queued: the work may shrink n */
    int rc;
    int group_rc; /* why the group commit failed when the job went frame by frame */
    char group_msg[160];
    struct kf_commit_out *out; /* commit_batch_max */
    struct devseq *order;      /* commit_batch_max */
    int64_t start_mono_us, done_mono_us;
    struct ack *acks; /* 2 * commit_batch_max: an ACK per device, a BLOB_ACK per chunk */
    size_t nacks, ack_errors;
    uint64_t ack_keys_derived; /* by this job */
    /* isolation after a frame-specific failure: frames quarantined, or dropped */
    struct kf_verified **drop; /* commit_batch_max */
    size_t ndrop, npoison, nquarantined;
    int isolated, poison_rc;
    char poison_msg[160];
};

/* ---- work (writer thread) ---- */

static int cmp_dev(const void *a, const void *b)
{
    const struct devseq *x = a, *y = b;

    return strcmp(x->dev, y->dev);
}

/* Work thread: a BLOB_ACK for each BLOB frame committed (kf/blob.h): what the server holds of
 * its bundle now. */
static void seal_blob_acks(struct kf__commit_job *j)
{
    for (size_t x = 0; x < j->n; x++) {
        const struct kf_verified *v = j->items[x];
        const struct kf_commit_out *o = &j->out[x];
        struct kf_blob_ack ba;
        uint8_t key[KF_ACK_KEY_BYTES];
        struct ack *a = &j->acks[j->nacks];
        int r;

        if (v->ing.hdr.kind != KF_MSG_BLOB || v->ing.quarantine_id != 0 || o->quarantined)
            continue;
        r = kf_ackkeys_get(j->ackkeys, v->pk, key);
        j->ack_keys_derived += r == 1;
        ba.cmd_seq = v->ing.hdr.seq;
        ba.have = o->blob_have;
        ba.state = o->blob_state;
        if (r < 0 ||
            kf_topic_format(a->topic, sizeof(a->topic), v->ing.hdr.device_id, KF_TOPIC_ACK) != 0 ||
            kf_blob_ack_seal(v->ing.hdr.device_id, v->ing.hdr.key_epoch, &ba, kf_now_ms(), key,
                             a->buf, sizeof(a->buf), &a->len) != 0) {
            j->ack_errors++;
            continue;
        }
        j->nacks++;
    }
}

/* Work thread: one ACK per device touched by RECORDS or HELLO, with its highest HWM and the
 * device time of its newest frame, under the MAC key of the newest device key among its
 * frames (ackkeys.h). */
static void seal_acks(struct kf__commit_job *j)
{
    size_t i = 0, k = 0;

    for (size_t x = 0; x < j->n; x++) {
        const struct kf_verified *v = j->items[x];
        uint8_t kind = v->ing.hdr.kind;
        if (kind == KF_MSG_RECORDS || kind == KF_MSG_HELLO) {
            j->order[k].dev = v->ing.hdr.device_id;
            j->order[k].seq = j->out[x].acked_seq;
            j->order[k].epoch = v->ing.hdr.key_epoch;
            j->order[k].device_ms = v->ing.hdr.device_ms;
            j->order[k].pk = v->pk;
            k++;
        }
    }
    qsort(j->order, k, sizeof(j->order[0]), cmp_dev);
    j->nacks = 0;
    while (i < k) {
        const struct devseq *newest = &j->order[i];
        const char *dev = newest->dev;
        uint64_t hwm = 0;
        int64_t answered = INT64_MIN;
        uint8_t key[KF_ACK_KEY_BYTES];
        struct kf_env_header h;
        struct ack *a = &j->acks[j->nacks];
        int r;

        for (; i < k && strcmp(j->order[i].dev, dev) == 0; i++) {
            hwm = j->order[i].seq > hwm ? j->order[i].seq : hwm;
            answered = j->order[i].device_ms > answered ? j->order[i].device_ms : answered;
            newest = j->order[i].epoch > newest->epoch ? &j->order[i] : newest;
        }
        r = kf_ackkeys_get(j->ackkeys, newest->pk, key);
        j->ack_keys_derived += r == 1;
        memset(&h, 0, sizeof(h));
        h.kind = KF_MSG_ACK;
        h.flags = 0;
        snprintf(h.device_id, sizeof(h.device_id), "%s", dev);
        h.key_epoch = newest->epoch;
        h.seq = hwm;
        h.count = 0;
        h.device_ms = kf_now_ms();
        h.clock_offset_ms = answered; /* the newest frame answered (PROTOCOL.md 9) */
        if (r < 0 || kf_topic_format(a->topic, sizeof(a->topic), dev, KF_TOPIC_ACK) != 0 ||
            kf_env_seal_mac(&h, a->topic, (const uint8_t *)"", 0, key, a->buf, sizeof(a->buf),
                            &a->len) != 0) {
            j->ack_errors++;
            continue;
        }
        j->nacks++;
    }
    seal_blob_acks(j);
}

/* Errors that say something about a frame rather than about the database. */
static int frame_error(int rc)
{
    switch (rc) {
    case -EEXIST:
    case -EINVAL:
    case -EBADMSG:
    case -EMSGSIZE:
    case -ERANGE:
    case -ENOENT:
    case -EPROTO:
    case -EOVERFLOW:
        return 1;
    default:
        return 0;
    }
}

/* A refusal that is about the frame's content, not about the database or the device's
 * registration: only those quarantine a frame. -ENOENT is also what an unopenable file
 * gives (SQLITE_CANTOPEN), and an unknown device is not a property of the bytes. */
static int poison_error(int rc)
{
    switch (rc) {
    case -EINVAL:
    case -EBADMSG:
    case -EMSGSIZE:
    case -ERANGE:
    case -EPROTO:
    case -EOVERFLOW:
    case -EEXIST:
        return 1;
    default:
        return 0;
    }
}

/* Work thread: the group commit failed because of some frame. Commit frame by frame so one
 * poison frame cannot block every device behind it: committed frames are compacted to the
 * front of items; a frame the store refuses alone is quarantined (kept with the reason, and
 * acknowledged: store/quarantine.h) and stays in items too; the rest move to drop (the first
 * npoison could not even be quarantined and are counted malformed, the others hit a
 * database error: all are dropped unacked, and their devices resend them). */
static void isolate(struct kf__commit_job *j, struct kf_store *st)
{
    size_t kept = 0;
    int stop = 0;

    j->isolated = 1;
    j->ndrop = 0;
    j->npoison = 0;
    j->nquarantined = 0;
    for (size_t i = 0; i < j->n; i++) {
        struct kf_verified *v = j->items[i];
        struct kf_ingest *one = &v->ing;
        struct kf_commit_out o;
        int r = -EAGAIN;

        memset(&o, 0, sizeof(o));
        if (!stop) {
            r = kf_store_ingest_commit(st, &one, 1, &o);
        }
        if (r != 0 && poison_error(r)) {
            char why[256];

            j->poison_rc = r;
            snprintf(j->poison_msg, sizeof(j->poison_msg), "%s", kf_store_errmsg(st));
            snprintf(why, sizeof(why), "%s: %s", kf_strerror(r), j->poison_msg);
            if (kf_store_quarantine(st, one, why, kf_now_ms(), &o) == 0) {
                j->nquarantined++;
                r = 0;
            }
        }
        if (r == 0) {
            j->items[kept] = v;
            j->out[kept] = o;
            kept++;
        } else if (frame_error(r)) {
            /* poison frames first in drop: shift any transient drops behind them */
            j->drop[j->ndrop++] = j->drop[j->npoison];
            j->drop[j->npoison++] = v;
            j->poison_rc = r;
        } else {
            stop = 1;
            j->drop[j->ndrop++] = v;
        }
    }
    j->n = kept;
    j->rc = 0; /* what could be kept is committed; the rest is accounted for in drop */
}

static void commit_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct kf__commit_job *j = KF_WRITER_JOB_OF(job, struct kf__commit_job, job);

    j->rc = 0;
    j->nacks = 0;
    j->ack_errors = 0;
    j->ack_keys_derived = 0;
    j->isolated = 0;
    memset(j->out, 0, j->n * sizeof(*j->out));
    /* The store takes the frames' ingest parts, which sit inside struct kf_verified. */
    for (size_t i = 0; i < j->n; i++) {
        j->ing[i] = &j->items[i]->ing;
    }
    j->start_mono_us = kf_mono_us();
    j->rc = kf_store_ingest_commit(st, j->ing, j->n, j->out);
    if (j->rc != 0 && j->n > 0 && frame_error(j->rc)) {
        j->group_rc = j->rc;
        snprintf(j->group_msg, sizeof(j->group_msg), "%s", kf_store_errmsg(st));
        isolate(j, st);
    }
    j->done_mono_us = kf_mono_us();
    if (j->rc == 0 && j->n > 0) {
        seal_acks(j);
    }
}

/* ---- after (loop) ---- */

/* The frames the store could not take after a frame-specific failure. */
static void after_isolated(struct kf_pipeline *p, struct kf__commit_job *j)
{
    kf_notice("store: a group commit of %zu frame(s) failed (%s: %s); committed them one by one",
              j->n_queued, kf_strerror(j->group_rc), j->group_msg);
    if (j->nquarantined > 0) {
        kf_err("store: %zu frame(s) refused by the store (%s: %s): quarantined and acked "
               "(kioskctl quarantine)",
               j->nquarantined, kf_strerror(j->poison_rc), j->poison_msg);
        p->stats.quarantined += j->nquarantined;
    }
    if (j->npoison > 0) {
        kf_err("store: %zu frame(s) refused by the store (%s) and not quarantined; counted as "
               "malformed, not acked",
               j->npoison, kf_strerror(j->poison_rc));
        kf_rejects_add(&p->rejects, KF_REJECT_MALFORMED, j->npoison);
    }
    if (j->ndrop > j->npoison) {
        kf_warn("store: %zu frame(s) dropped after a database error (not acked; devices resend "
                "them)",
                j->ndrop - j->npoison);
        p->stats.commit_failures++;
    }
    kf__pipeline_release(p, j->drop, j->ndrop);
    j->ndrop = 0;
}

/* Nothing was written: keep the batch and retry it after a backoff (given up at stop). */
static void after_failed(struct kf_pipeline *p, struct kf__commit_job *j)
{
    p->stats.commit_failures++;
    if (p->fail_streak++ == 0) {
        kf_err("store: commit of %zu frame(s) failed: %s (retrying)", j->n, kf_strerror(j->rc));
    }
    if (p->draining && p->fail_streak >= KF__STOP_MAX_FAILURES) {
        kf_err("store: giving up %zu uncommitted frame(s) at shutdown (not acked; devices resend "
               "them)",
               j->n);
        kf__pipeline_release(p, j->items, j->n);
        j->n = 0;
        return;
    }
    if (j->n > 0) {
        p->commit_retry = 1;
    }
    kf__pipeline_arm_kick(p, p->retry_ms);
    p->retry_ms = p->retry_ms * 2 > KF__RETRY_MAX_MS ? KF__RETRY_MAX_MS : p->retry_ms * 2;
}

/* Per frame: replays, gaps, counters, latency. */
static void count_frames(struct kf_pipeline *p, struct kf__commit_job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        const struct kf_commit_out *o = &j->out[i];
        if (o->replay) {
            kf_rejects_add(&p->rejects, KF_REJECT_REPLAY, 1);
        }
        if (o->conflict) {
            /* Nothing of it was committed; the device is acknowledged as for a replay. */
            kf_rejects_add(&p->rejects, KF_REJECT_CONFLICT, 1);
            kf_warn("store: %s sent seqs %" PRIu64 "-%" PRIu64 " again with other records "
                    "(a cloned or faulty terminal?): refused, kept as evidence (kioskctl "
                    "conflicts)",
                    j->items[i]->ing.hdr.device_id, j->items[i]->ing.hdr.seq,
                    j->items[i]->ing.hdr.seq + j->items[i]->ing.nrec - 1);
            continue;
        }
        if (o->app_repeats > 0) {
            p->stats.app_repeats += o->app_repeats;
            kf_notice("store: %s: %" PRIu32 " record(s) repeat an application id already "
                      "counted: kept, not counted (kioskctl app-duplicates)",
                      j->items[i]->ing.hdr.device_id, o->app_repeats);
        }
        if (o->gap_last != 0) {
            p->stats.seq_gaps++;
            kf_warn("store: %s was acknowledged up to %" PRIu64 " but the store holds only up to "
                    "%" PRIu64 " (database restored?): seqs %" PRIu64 "-%" PRIu64
                    " recorded in seq_gaps and skipped",
                    j->items[i]->ing.hdr.device_id, o->gap_last, o->gap_first - 1, o->gap_first,
                    o->gap_last);
        }
        if (o->quarantined) {
            continue; /* counted in after_isolated; acknowledged below */
        }
        p->stats.committed_frames++;
        p->stats.committed_records += o->inserted;
        p->stats.duplicates += o->duplicates;
        kf_latency_add(&p->stats.latency, j->done_mono_us - j->items[i]->recv_mono_us);
    }
}

static void commit_after(struct kf_writer_job *job, int status)
{
    struct kf__commit_job *j = KF_WRITER_JOB_OF(job, struct kf__commit_job, job);
    struct kf_pipeline *p = j->p;

    p->commit_busy = 0;
    if (status != 0) {
        j->rc = status; /* never ran: nothing written */
    }
    if (j->rc == 0 && j->isolated) {
        after_isolated(p, j);
    }
    if (j->rc != 0) {
        after_failed(p, j);
        kf__pipeline_next(p);
        return;
    }
    if (p->fail_streak > 0) {
        kf_notice("store: commit succeeded again after %u failure(s)", p->fail_streak);
    }
    p->fail_streak = 0;
    p->retry_ms = KF__RETRY_MIN_MS;
    p->stats.commits++;
    if (j->n > 0 && !j->isolated) {
        kf_latency_add(&p->stats.commit, j->done_mono_us - j->start_mono_us);
    }
    count_frames(p, j);
    /* QoS 0 (docs/PROTOCOL.md section 1): an ACK is cumulative, and the agent's HELLO after
     * every connect and its ack timeout recover any one that a broken connection lost. */
    for (size_t i = 0; i < j->nacks; i++) {
        const struct ack *a = &j->acks[i];
        if (kf_link_publish(p->link, a->topic, a->buf, a->len, 0) == 0) {
            p->stats.acks_sent++;
        } else {
            p->stats.acks_failed++;
        }
    }
    p->stats.acks_failed += j->ack_errors;
    p->stats.ack_keys_derived += j->ack_keys_derived;
    if (j->n > 0) {
        struct kf_writer_commit c = {.frames = j->n, .expired = 0};

        kf__pipeline_release(p, j->items, j->n);
        j->n = 0;
        kf_writer_committed(p->w, &c);
    }
    kf__pipeline_next(p);
}

/* ---- the pipeline's side ---- */

int kf__pipeline_commit_new(struct kf_pipeline *p)
{
    struct kf__commit_job *j = calloc(1, sizeof(*j));
    size_t cap = p->opts.commit_batch_max;
    int rc;

    if (j == NULL) {
        return -ENOMEM;
    }
    p->commit = j;
    j->p = p;
    j->items = calloc(cap, sizeof(*j->items));
    j->ing = calloc(cap, sizeof(*j->ing));
    j->out = calloc(cap, sizeof(*j->out));
    j->order = calloc(cap, sizeof(*j->order));
    j->acks = calloc(2 * cap, sizeof(*j->acks));
    j->drop = calloc(cap, sizeof(*j->drop));
    if (j->items == NULL || j->ing == NULL || j->out == NULL || j->order == NULL ||
        j->acks == NULL || j->drop == NULL) {
        return -ENOMEM;
    }
    rc = kf_ackkeys_new(p->opts.server_sk, p->opts.ack_keys_max, &j->ackkeys);
    if (rc != 0) {
        return rc;
    }
    return 0;
}

void kf__pipeline_commit_free(struct kf_pipeline *p)
{
    struct kf__commit_job *j = p->commit;

    if (j == NULL) {
        return;
    }
    if (j->items != NULL) {
        kf__pipeline_release(p, j->items, j->n);
    }
    kf_ackkeys_free(j->ackkeys);
    free(j->items);
    free(j->ing);
    free(j->out);
    free(j->order);
    free(j->acks);
    free(j->drop);
    free(j);
    p->commit = NULL;
}

void kf__pipeline_commit_start(struct kf_pipeline *p)
{
    struct kf__commit_job *j = p->commit;
    int rc;

    if (p->commit_busy) {
        return;
    }
    if (p->commit_retry && p->kick_armed) {
        return; /* waiting out a failed commit's backoff */
    }
    if (!p->commit_retry) {
        size_t n = 0;

        if (p->ncq == 0) {
            return;
        }
        while (p->cq != NULL && n < p->opts.commit_batch_max) {
            struct kf_verified *v = p->cq;
            p->cq = v->next;
            v->next = NULL;
            j->items[n++] = v;
        }
        if (p->cq == NULL) {
            p->cq_tail = &p->cq;
        }
        p->ncq -= n;
        j->n = n;
    }
    j->n_queued = j->n;
    p->commit_n = j->n;
    rc = kf_writer_submit(p->w, &j->job, commit_work, commit_after);
    if (rc != 0) {
        kf_err("store: cannot queue the commit: %s", kf_strerror(rc));
        p->commit_retry = j->n > 0;
        kf__pipeline_arm_kick(p, p->retry_ms);
        return;
    }
    p->commit_busy = 1;
    p->commit_retry = 0;
}
