/* pipeline_commit.c: the store job's work, on a pool thread (pipeline.c queues it and takes
 * its results on the loop). It touches only its job, the store connection (one job at a
 * time) and read-only pipeline options.
 */
#include "kioskd/pipeline_int.h"
#include "kioskd/identity.h"
#include "store/quarantine.h"
#include "store/query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/time.h>

/* ---- the store job ---- */

static int kf__cmp_dev(const void *a, const void *b)
{
    const struct kf__devseq *x = a, *y = b;

    return strcmp(x->dev, y->dev);
}

/* Work thread: one ACK per device touched by RECORDS or HELLO, with its highest HWM and the
 * device time of its newest frame, under the MAC key of the newest device key among its
 * frames (ackkeys.h). */
static void kf__seal_acks(struct kf__sjob *j)
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
    qsort(j->order, k, sizeof(j->order[0]), kf__cmp_dev);
    j->nacks = 0;
    while (i < k) {
        const struct kf__devseq *newest = &j->order[i];
        const char *dev = newest->dev;
        uint64_t hwm = 0;
        int64_t answered = INT64_MIN;
        uint8_t key[KF_ACK_KEY_BYTES];
        struct kf_env_header h;
        struct kf__ack *a = &j->acks[j->nacks];
        int r;

        for (; i < k && strcmp(j->order[i].dev, dev) == 0; i++) {
            hwm = j->order[i].seq > hwm ? j->order[i].seq : hwm;
            answered = j->order[i].device_ms > answered ? j->order[i].device_ms : answered;
            newest = j->order[i].epoch > newest->epoch ? &j->order[i] : newest;
        }
        r = kf_ackkeys_get(j->p->ackkeys, newest->pk, key);
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
}

/* Errors that say something about a frame rather than about the database. */
static int kf__frame_error(int rc)
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
static int kf__poison_error(int rc)
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
 * acknowledged: store_quarantine.h) and stays in items too; the rest move to drop (the first
 * npoison could not even be quarantined and are counted malformed, the others hit a
 * database error: all are dropped unacked, and their devices resend them). */
static void kf__isolate(struct kf__sjob *j, struct kf_store *st)
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
            r = kf_store_commit(st, &one, 1, NULL, &o);
        }
        if (r != 0 && kf__poison_error(r)) {
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
        } else if (kf__frame_error(r)) {
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
    /* The reject deltas on their own. */
    j->rc = kf_store_commit(st, NULL, 0, j->delta, NULL);
}

/* Work thread: identity requests (rare) leave the batch and are applied one by one, each
 * in its own transaction, before the group commit; their answers go back to the loop. */
static void kf__take_idents(struct kf__sjob *j, struct kf_store *st)
{
    size_t kept = 0;

    j->nidents = 0;
    j->nanswers = 0;
    j->ident_errors = 0;
    for (size_t i = 0; i < j->n; i++) {
        struct kf_verified *v = j->items[i];

        if (v->ident == NULL) {
            j->items[kept++] = v;
            continue;
        }
        j->idents[j->nidents++] = v;
        struct kf_ident_answer *a = malloc(sizeof(*a));
        if (a == NULL || kf_ident_answer(st, v, j->p->opts.server_sk, kf_now_ms(), a) != 0) {
            free(a);
            j->ident_errors++;
            continue;
        }
        j->answers[j->nanswers++] = a;
    }
    j->n = kept;
}

/* Work thread: one quarantined frame handed back, as a frame received now. */
static int kf__replay_cb(void *ud, const struct kf_quarantined *q, const char *topic,
                         const uint8_t *raw, size_t raw_len)
{
    struct kf__sjob *j = ud;
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
    *j->replays_tail = f;
    j->replays_tail = &f->next;
    j->nreplays++;
    return 0;
}

void kf__sjob_work(uv_work_t *req)
{
    struct kf__sjob *j = req->data;
    struct kf_store *st = j->p->store;

    for (size_t i = 0; i < j->nnotes; i++) {
        char why[96];

        snprintf(why, sizeof(why), "replay refused by verification: %s",
                 kf_reject_name(j->notes[i].reason));
        (void)kf_store_quarantine_note(st, j->notes[i].id, why); /* best effort: a label */
    }
    j->nnotes = 0;
    if (j->do_replays) {
        j->replays = NULL;
        j->replays_tail = &j->replays;
        j->nreplays = 0;
        j->replays_rc = kf_store_quarantine_take(st, KF__REPLAYS_MAX, kf__replay_cb, j);
    }

    if (j->do_reload) {
        j->new_reg = NULL;
        j->reload_rc = kf_store_load_registry(st, &j->new_reg);
    }
    if (j->do_expire) {
        j->expired = 0;
        j->expire_rc = kf_store_expire_online(st, j->cutoff_ms, kf_now_ms(), &j->expired);
    }
    j->rc = 0;
    j->nacks = 0;
    j->ack_errors = 0;
    j->ack_keys_derived = 0;
    if (j->do_commit) {
        kf__take_idents(j, st);
        memset(j->out, 0, j->n * sizeof(*j->out));
        j->isolated = 0;
        /* The store takes the frames' ingest parts, which sit inside struct kf_verified. */
        for (size_t i = 0; i < j->n; i++) {
            j->ing[i] = &j->items[i]->ing;
        }
        j->start_mono_us = kf_mono_us();
        j->rc = kf_store_commit(st, j->ing, j->n, j->delta, j->out);
        if (j->rc != 0 && j->n > 0 && kf__frame_error(j->rc)) {
            j->group_rc = j->rc;
            snprintf(j->group_msg, sizeof(j->group_msg), "%s", kf_store_errmsg(st));
            kf__isolate(j, st);
        }
        j->done_mono_us = kf_mono_us();
        if ((j->rc == 0 || j->isolated) && j->n > 0) {
            kf__seal_acks(j);
        }
    }
    /* After the ACKs are sealed, so that the hook never delays them. */
    j->hook_ran = 0;
    if (j->p->opts.hook.work != NULL &&
        (j->do_hook_tick || j->do_expire || (j->do_commit && j->rc == 0 && j->n > 0))) {
        j->p->opts.hook.work(j->p->opts.hook.ud, st, j->do_hook_tick);
        j->hook_ran = 1;
    }
}
