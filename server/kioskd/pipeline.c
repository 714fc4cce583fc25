/* pipeline.c: verify jobs on the thread pool, the queues between them and the writer jobs,
 * acks from the loop (pipeline.h).
 *
 * The loop thread owns every field of struct kf_pipeline. A verify job's work touches only
 * its own job struct and read-only shared data (the registry snapshot it holds a reference
 * to). The writer jobs are in job_*.c.
 */
#include "kioskd/pipeline_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

/* ---- verify jobs (libuv pool, several at once) ---- */

struct vjob {
    uv_work_t req;
    struct kf_pipeline *p;
    struct kf_registry *reg; /* reference held for the job's life */
    struct kf_frame *frames; /* input, owned */
    size_t n;
    /* results */
    struct kf_verified *ok, **ok_tail;
    struct kf_frame *parked; /* unknown device, first time: held for a reload */
    size_t nparked;
    size_t nok, nfreed, freed_bytes, nreplays_freed, nignored, nnomem;
    uint64_t rej[KF_REJECT_COUNT_];
    struct kf__replay_note notes[KF__REPLAYS_MAX]; /* replays_held bounds them */
    size_t nnotes;
    uint64_t sig_cpu_ns, sig_samples;
};

static void dispatch(struct kf_pipeline *p);

/* Replayed quarantine frames never took room in the inbox: they count in replays_held. */
void kf__pipeline_release(struct kf_pipeline *p, struct kf_verified **v, size_t n)
{
    size_t bytes = 0, held = 0, replays = 0;

    for (size_t i = 0; i < n; i++) {
        if (v[i]->frame != NULL && v[i]->frame->quarantine_id == 0) {
            bytes += v[i]->frame->cost;
            held++;
        } else if (v[i]->frame != NULL) {
            replays++;
        }
        kf_verify_free(v[i]);
        v[i] = NULL;
    }
    kf_link_release(p->link, held, bytes);
    p->replays_held -= replays <= p->replays_held ? replays : p->replays_held;
}

static void vjob_work(uv_work_t *req)
{
    struct vjob *j = req->data;
    struct kf_zctx *z = NULL;
    uint8_t *scratch = malloc(KF_VERIFY_SCRATCH_BYTES);
    struct kf_frame *f = j->frames;

    /* One decompression context per job: a few µs amortized over up to verify_batch_max
     * frames, and nothing thread-local to leak when the pool shuts down. */
    if (scratch != NULL && kf_zctx_new(3, &z) != 0) {
        z = NULL;
    }
    j->frames = NULL;
    while (f != NULL) {
        struct kf_frame *next = f->next;
        struct kf_verified *v = NULL;
        int reason = KF_REJECT_MALFORMED, rc = -ENOMEM;

        f->next = NULL;
        if (z != NULL && f->quarantine_id == 0) {
            rc = kf_verify_frame(j->reg, z, scratch, f->topic, f->payload, f->len, f->recv_ms, &v,
                                 &reason);
        } else if (z != NULL) {
            rc = kf_verify_replay(j->reg, z, scratch, f->topic, f->payload, f->len, f->recv_ms, &v,
                                  &reason);
        }
        if (rc == 0 && v != NULL) {
            v->frame = f;
            v->recv_mono_us = f->recv_mono_us;
            v->ing.quarantine_id = f->quarantine_id;
            *j->ok_tail = v;
            j->ok_tail = &v->next;
            j->nok++;
        } else if (rc == -EPROTO && reason == KF_REJECT_UNKNOWN_DEVICE && f->quarantine_id == 0 &&
                   !f->parked) {
            /* Perhaps provisioned since the snapshot: held (still counted in the inbox)
             * and verified once more after a reload, instead of refused now. */
            f->parked = 1;
            f->next = j->parked;
            j->parked = f;
            j->nparked++;
        } else {
            if (rc == -EPROTO && f->quarantine_id != 0) {
                if (j->nnotes < KF__REPLAYS_MAX) {
                    j->notes[j->nnotes].id = f->quarantine_id;
                    j->notes[j->nnotes++].reason = reason;
                }
            } else if (rc == -EPROTO) {
                j->rej[reason]++;
            } else if (rc == 0) {
                j->nignored++;
            } else {
                j->nnomem++;
            }
            if (f->quarantine_id == 0) {
                j->freed_bytes += f->cost;
                j->nfreed++;
            } else {
                j->nreplays_freed++; /* a replayed frame never was in the inbox */
            }
            free(f);
        }
        f = next;
    }
    kf_verify_sig_clock_take(&j->sig_cpu_ns, &j->sig_samples);
    kf_zctx_free(z);
    free(scratch);
}

static void vjob_after(uv_work_t *req, int status)
{
    struct vjob *j = req->data;
    struct kf_pipeline *p = j->p;

    (void)status; /* never cancelled: we do not call uv_cancel */
    /* Identity requests go to their own job, the rest to the commit queue. */
    for (struct kf_verified *v = j->ok, *next; v != NULL; v = next) {
        next = v->next;
        v->next = NULL;
        if (v->ident != NULL) {
            *p->idq_tail = v;
            p->idq_tail = &v->next;
            p->nidq++;
        } else if (v->ing.hdr.kind == KF_MSG_FETCH) {
            if (p->nfq >= KF__FETCH_QUEUE_MAX) {
                p->stats.fetch_dropped++; /* the terminal asks again after its timeout */
                kf__pipeline_release(p, &v, 1);
                continue;
            }
            *p->fq_tail = v;
            p->fq_tail = &v->next;
            p->nfq++;
        } else {
            *p->cq_tail = v;
            p->cq_tail = &v->next;
            p->ncq++;
        }
    }
    p->stats.verified += j->nok;
    p->stats.ignored += j->nignored;
    p->stats.sig_cpu_ns += j->sig_cpu_ns;
    p->stats.sig_samples += j->sig_samples;
    p->stats.dropped_nomem += j->nnomem;
    for (int r = 0; r < KF_REJECT_COUNT_; r++) {
        kf_rejects_add(&p->rejects, r, j->rej[r]);
    }
    while (j->parked != NULL) {
        struct kf_frame *f = j->parked;

        j->parked = f->next;
        if (p->nparked >= KF__PARKED_MAX || p->draining) {
            /* Past the bound (a flood of unknown devices): refused now, as before. */
            kf_rejects_add(&p->rejects, KF_REJECT_UNKNOWN_DEVICE, 1);
            kf_link_release(p->link, 1, f->cost);
            free(f);
            continue;
        }
        f->next = p->parked;
        p->parked = f;
        p->nparked++;
    }
    if (j->rej[KF_REJECT_UNKNOWN_DEVICE] > 0 || p->nparked > 0) {
        p->reload_wanted = 1;
    }
    for (size_t i = 0; i < j->nnotes && p->nnotes < KF__REPLAYS_MAX; i++) {
        p->notes[p->nnotes++] = j->notes[i];
    }
    if (j->nnomem > 0) {
        kf_warn("verify: %zu frame(s) dropped: out of memory (not acked; devices resend)",
                j->nnomem);
    }
    kf_link_release(p->link, j->nfreed, j->freed_bytes);
    p->replays_held -= j->nreplays_freed <= p->replays_held ? j->nreplays_freed : p->replays_held;
    kf_store_registry_unref(j->reg);
    free(j);
    p->vjobs--;
    kf__pipeline_next(p);
}

void kf__pipeline_unpark(struct kf_pipeline *p, struct kf_frame *list, size_t n)
{
    struct kf_frame *last = list;

    if (list == NULL) {
        return;
    }
    while (last->next != NULL) {
        last = last->next;
    }
    last->next = p->pend;
    if (p->pend == NULL) {
        p->pend_tail = &last->next;
    }
    p->pend = list;
    p->npend += n;
}

/* Start verify jobs while slots are free. */
static void dispatch(struct kf_pipeline *p)
{
    while (p->npend > 0 && p->vjobs < p->opts.verify_jobs_max) {
        struct vjob *j = calloc(1, sizeof(*j));
        struct kf_frame **pp;
        size_t n = 0;
        int rc;

        if (j == NULL) {
            return; /* retried on the next feed or job completion */
        }
        j->p = p;
        j->req.data = j;
        j->ok_tail = &j->ok;
        j->frames = p->pend;
        pp = &p->pend;
        while (*pp != NULL && n < p->opts.verify_batch_max) {
            pp = &(*pp)->next;
            n++;
        }
        p->pend = *pp;
        *pp = NULL;
        if (p->pend == NULL) {
            p->pend_tail = &p->pend;
        }
        p->npend -= n;
        j->n = n;
        j->reg = kf_store_registry_ref(p->reg);
        rc = uv_queue_work(p->loop, &j->req, vjob_work, vjob_after);
        if (rc != 0) {
            /* Cannot happen with a live loop; put the frames back. */
            *pp = p->pend;
            p->pend = j->frames;
            if (*pp == NULL) {
                p->pend_tail = pp;
            }
            p->npend += n;
            kf_store_registry_unref(j->reg);
            free(j);
            return;
        }
        p->vjobs++;
    }
}

void kf_pipeline_feed(struct kf_pipeline *p)
{
    size_t n;
    struct kf_frame *head = kf_link_take(p->link, &n);

    if (head != NULL) {
        struct kf_frame *last = head;
        while (last->next != NULL) {
            last = last->next;
        }
        *p->pend_tail = head;
        p->pend_tail = &last->next;
        p->npend += n;
    }
    dispatch(p);
}

/* ---- the writer jobs ---- */

static void check_drained(struct kf_pipeline *p)
{
    if (p->draining && p->drained_cb != NULL && p->npend == 0 && p->vjobs == 0 && p->ncq == 0 &&
        p->nidq == 0 && p->nfq == 0 && !p->fetch_busy && !p->commit_busy && !p->commit_retry &&
        !p->ident_busy && !p->replay_busy && !p->reload_busy && !p->expire_busy &&
        !kf_rejects_pending(&p->rejects)) {
        void (*cb)(void *ud) = p->drained_cb;
        p->drained_cb = NULL;
        cb(p->drained_ud);
    }
}

/* Fold the link's own drops (oversize, unusable topic) into the reject counters. */
static void fold_link(struct kf_pipeline *p)
{
    struct kf_link_counters c;

    kf_link_counters(p->link, &c);
    kf_rejects_fold_link(&p->rejects, &c);
}

void kf__pipeline_next(struct kf_pipeline *p)
{
    dispatch(p);
    fold_link(p);
    /* In the order the single store job took them before the writer existed: a reload or
     * an expiry never waits behind a batch, identity requests go before the commit. */
    kf__pipeline_replay_start(p);
    kf__pipeline_reload_start(p);
    kf__pipeline_expire_start(p);
    kf__pipeline_ident_start(p);
    kf__pipeline_fetch_start(p);
    kf__pipeline_commit_start(p);
    kf__pipeline_rejects_start(p);
    check_drained(p);
}

static void on_kick(uv_timer_t *t)
{
    struct kf_pipeline *p = t->data;

    p->kick_armed = 0;
    kf__pipeline_next(p);
}

void kf__pipeline_arm_kick(struct kf_pipeline *p, uint64_t ms)
{
    if (p->kick_armed) {
        return;
    }
    p->kick_armed = 1;
    uv_timer_start(&p->kick, on_kick, ms, 0);
}

/* ---- public ---- */

int kf_pipeline_new(uv_loop_t *loop, struct kf_link *link, struct kf_writer *w,
                    struct kf_registry *reg, const struct kf_pipeline_opts *opts,
                    struct kf_pipeline **ret)
{
    struct kf_pipeline *p;
    int rc;

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->opts = *opts;
    rc = kf__pipeline_commit_new(p);
    if (rc != 0) {
        goto out_free;
    }
    rc = kf_brokersync_new(loop, link, opts->broker_sync_argv, &p->bsync);
    if (rc != 0) {
        goto out_free;
    }
    rc = uv_timer_init(loop, &p->kick);
    if (rc != 0) {
        goto out_free;
    }
    p->kick.data = p;
    p->loop = loop;
    p->link = link;
    p->w = w;
    p->reg = reg;
    p->pend_tail = &p->pend;
    p->cq_tail = &p->cq;
    p->idq_tail = &p->idq;
    p->fq_tail = &p->fq;
    p->retry_ms = KF__RETRY_MIN_MS;
    p->last_reload_us = kf_mono_us();
    p->rejects_tried_us = kf_mono_us();
    *ret = p;
    return 0;

out_free:
    kf_brokersync_close(p->bsync, NULL, NULL);
    kf__pipeline_commit_free(p);
    free(p);
    return rc;
}

void kf_pipeline_reload(struct kf_pipeline *p, int forced)
{
    p->reload_wanted = 1;
    if (forced) {
        p->reload_forced = 1;
    }
    kf__pipeline_next(p);
}

void kf_pipeline_expire(struct kf_pipeline *p, int64_t cutoff_ms)
{
    p->expire_wanted = 1;
    p->expire_cutoff_ms = cutoff_ms;
    kf__pipeline_next(p);
}

void kf_pipeline_tick(struct kf_pipeline *p)
{
    p->rejects_due = 1;
    kf__pipeline_next(p);
}

void kf_pipeline_replays(struct kf_pipeline *p)
{
    if (p->draining) {
        return;
    }
    p->replays_wanted = 1;
    kf__pipeline_next(p);
}

const struct kf_pipeline_stats *kf_pipeline_stats(struct kf_pipeline *p)
{
    fold_link(p);
    memcpy(p->stats.rejected, p->rejects.total, sizeof(p->stats.rejected));
    p->stats.pending = p->npend + p->nparked + p->nreloading; /* held for a reload too */
    p->stats.verifying = p->vjobs;
    p->stats.commit_queue = p->ncq + (p->commit_busy || p->commit_retry ? p->commit_n : 0);
    return &p->stats;
}

void kf_pipeline_drain(struct kf_pipeline *p, void (*cb)(void *ud), void *ud)
{
    p->draining = 1;
    p->drained_cb = cb;
    p->drained_ud = ud;
    /* Frames held for a reload that will not come: refused now, as unknown devices. */
    while (p->parked != NULL) {
        struct kf_frame *f = p->parked;

        p->parked = f->next;
        kf_rejects_add(&p->rejects, KF_REJECT_UNKNOWN_DEVICE, 1);
        kf_link_release(p->link, 1, f->cost);
        free(f);
    }
    p->nparked = 0;
    kf_pipeline_feed(p); /* frames that arrived before the link stopped */
    kf__pipeline_next(p);
}

static void on_closed_all(void *ud);

static void on_closed(uv_handle_t *h)
{
    struct kf_pipeline *p = h->data;

    kf_brokersync_close(p->bsync, on_closed_all, p);
}

static void release_list(struct kf_pipeline *p, struct kf_verified *v)
{
    while (v != NULL) {
        struct kf_verified *next = v->next;
        kf__pipeline_release(p, &v, 1);
        v = next;
    }
}

static void on_closed_all(void *arg)
{
    struct kf_pipeline *p = arg;
    void (*cb)(void *ud) = p->closed_cb;
    void *ud = p->closed_ud;
    size_t n = 0, bytes = 0;

    kf__pipeline_unpark(p, p->parked, p->nparked);
    kf__pipeline_unpark(p, p->reloading, p->nreloading);
    p->parked = p->reloading = NULL;
    while (p->pend != NULL) {
        struct kf_frame *f = p->pend;
        p->pend = f->next;
        bytes += f->cost;
        n += f->quarantine_id == 0;
        free(f);
    }
    release_list(p, p->cq);
    release_list(p, p->idq);
    release_list(p, p->fq);
    kf__pipeline_commit_free(p);
    kf_link_release(p->link, n, bytes);
    kf_store_registry_unref(p->reg);
    free(p);
    if (cb != NULL) {
        cb(ud);
    }
}

void kf_pipeline_close(struct kf_pipeline *p, void (*cb)(void *ud), void *ud)
{
    p->closed_cb = cb;
    p->closed_ud = ud;
    uv_close((uv_handle_t *)&p->kick, on_closed);
}

/* ---- [limits] ---- */

static const struct kf_conf_key limits_keys[] = {
    KF_CONF_KEY_INT("inbox_max", struct kf_pipeline_config, inbox_max, 16, 1000000, "20000", 0),
    KF_CONF_KEY_INT("inbox_max_mb", struct kf_pipeline_config, inbox_max_mb, 1, 4096, "64", 0),
    KF_CONF_KEY_INT("verify_batch_max", struct kf_pipeline_config, verify_batch_max, 1, 4096, "256",
                    0),
    KF_CONF_KEY_INT("verify_jobs_max", struct kf_pipeline_config, verify_jobs_max, 1, 32, "2", 0),
    KF_CONF_KEY_INT("commit_batch_max", struct kf_pipeline_config, commit_batch_max, 1, 100000,
                    "5000", 0),
    KF_CONF_KEY_INT("ack_keys_max", struct kf_pipeline_config, ack_keys_max, 1024, 16777216,
                    "262144", 0),
};

void kf_pipeline_config_section(struct kf_pipeline_config *cfg, struct kf_conf_section *ret)
{
    *ret = (struct kf_conf_section){"limits", limits_keys,
                                    sizeof(limits_keys) / sizeof(limits_keys[0]), cfg, NULL};
}
