/* pipeline.c: verify jobs on the thread pool, one store job at a time, acks from the loop.
 *
 * The loop thread owns every field of struct kf_pipeline. A job's work callback touches only
 * its own job struct, read-only shared data (registry snapshot it holds a reference to, the
 * server key) and, for the store job, the store connection (one job at a time).
 */
#include "kioskd/pipeline_int.h"
#include "kioskd/identity.h"
#include "store/query.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/envelope.h>
#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>
#include <kf/topic.h>

#define KF__RELOAD_MIN_US (5LL * 1000 * 1000)
#define KF__RETRY_MIN_MS 100u
#define KF__RETRY_MAX_MS 5000u
#define KF__STOP_MAX_FAILURES 10u /* while stopping, give a failing batch up after this */

/* ---- jobs ---- */

struct kf__vjob {
    uv_work_t req;
    struct kf_pipeline *p;
    struct kf_registry *reg; /* reference held for the job's life */
    struct kf_frame *frames; /* input, owned */
    size_t n;
    /* results */
    struct kf_verified *ok, **ok_tail;
    size_t nok, nfreed, freed_bytes, nreplays_freed, nignored, nnomem;
    uint64_t rej[KF_REJECT_COUNT_];
    struct kf__replay_note notes[KF__REPLAYS_MAX]; /* replays_held bounds them */
    size_t nnotes;
    uint64_t sig_cpu_ns, sig_samples;
};

static void kf__maybe_start_store(struct kf_pipeline *p);
static void kf__dispatch(struct kf_pipeline *p);

/* Free n verified frames and give their room in the inbox back to the link (replayed
 * quarantine frames never took any: they count in replays_held instead). */
static void kf__release(struct kf_pipeline *p, struct kf_verified **v, size_t n)
{
    size_t bytes = 0, held = 0, replays = 0;

    for (size_t i = 0; i < n; i++) {
        if (v[i]->frame != NULL && v[i]->frame->quarantine_id == 0) {
            bytes += v[i]->frame->cost;
            held++;
        } else if (v[i]->frame != NULL) {
            replays++;
        }
        kf_verified_free(v[i]);
        v[i] = NULL;
    }
    kf_link_release(p->link, held, bytes);
    p->replays_held -= replays <= p->replays_held ? replays : p->replays_held;
}

static void kf__vjob_work(uv_work_t *req)
{
    struct kf__vjob *j = req->data;
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
            rc = kf_pipeline_verify(j->reg, z, scratch, f->topic, f->payload, f->len, f->recv_ms,
                                    &v, &reason);
        } else if (z != NULL) {
            rc = kf_pipeline_verify_replay(j->reg, z, scratch, f->topic, f->payload, f->len,
                                           f->recv_ms, &v, &reason);
        }
        if (rc == 0 && v != NULL) {
            v->frame = f;
            v->recv_mono_us = f->recv_mono_us;
            v->ing.quarantine_id = f->quarantine_id;
            *j->ok_tail = v;
            j->ok_tail = &v->next;
            j->nok++;
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

static void kf__vjob_after(uv_work_t *req, int status)
{
    struct kf__vjob *j = req->data;
    struct kf_pipeline *p = j->p;

    (void)status; /* never cancelled: we do not call uv_cancel */
    if (j->ok != NULL) {
        *p->cq_tail = j->ok;
        p->cq_tail = j->ok_tail;
        p->ncq += j->nok;
    }
    p->stats.verified += j->nok;
    p->stats.ignored += j->nignored;
    p->stats.sig_cpu_ns += j->sig_cpu_ns;
    p->stats.sig_samples += j->sig_samples;
    p->stats.dropped_nomem += j->nnomem;
    for (int r = 0; r < KF_REJECT_COUNT_; r++) {
        p->delta[r] += j->rej[r];
        p->stats.rejected[r] += j->rej[r];
    }
    if (j->rej[KF_REJECT_UNKNOWN_DEVICE] > 0) {
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
    kf_registry_unref(j->reg);
    free(j);
    p->vjobs--;
    kf__dispatch(p);
    kf__maybe_start_store(p);
}

/* Start verify jobs while slots are free. */
static void kf__dispatch(struct kf_pipeline *p)
{
    while (p->npend > 0 && p->vjobs < p->opts.verify_jobs_max) {
        struct kf__vjob *j = calloc(1, sizeof(*j));
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
        j->reg = kf_registry_ref(p->reg);
        rc = uv_queue_work(p->loop, &j->req, kf__vjob_work, kf__vjob_after);
        if (rc != 0) {
            /* Cannot happen with a live loop; put the frames back. */
            *pp = p->pend;
            p->pend = j->frames;
            if (*pp == NULL) {
                p->pend_tail = pp;
            }
            p->npend += n;
            kf_registry_unref(j->reg);
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
    kf__dispatch(p);
}

static void kf__arm_kick(struct kf_pipeline *p, uint64_t ms);

static void kf__sjob_after(uv_work_t *req, int status)
{
    struct kf__sjob *j = req->data;
    struct kf_pipeline *p = j->p;

    (void)status;
    p->sj_busy = 0;

    if (j->hook_ran) {
        j->hook_ran = 0;
        p->opts.hook.after(p->opts.hook.ud);
    }
    j->do_hook_tick = 0;
    if (j->nidents > 0) {
        for (size_t i = 0; i < j->nanswers; i++) {
            struct kf_ident_answer *a = j->answers[i];
            if (a->accepted) {
                p->reload_wanted = 1;
                p->reload_forced = 1;
            }
            p->stats.ident_answers++;
            kf_notice("identity: %s", a->what);
            kf_brokersync_submit(p->bsync, a);
            j->answers[i] = NULL;
        }
        if (j->ident_errors > 0) {
            kf_err("identity: %zu request(s) not applied (database error); the devices ask again",
                   j->ident_errors);
        }
        kf__release(p, j->idents, j->nidents);
        j->nidents = 0;
        j->nanswers = 0;
    }

    if (j->do_replays) {
        if (j->replays_rc != 0) {
            kf_err("quarantine: taking the replays asked for failed: %s (asked again: "
                   "kioskctl quarantine replay)",
                   kf_strerror(j->replays_rc));
        }
        if (j->replays != NULL) {
            kf_notice("quarantine: %zu frame(s) handed back for replay", j->nreplays);
            *p->pend_tail = j->replays;
            p->pend_tail = j->replays_tail;
            p->npend += j->nreplays;
            p->replays_held += j->nreplays;
            p->stats.quarantine_replays += j->nreplays;
        }
        j->replays = NULL;
        j->nreplays = 0;
        j->do_replays = 0;
    }
    if (j->do_reload) {
        if (j->reload_rc == 0) {
            kf_registry_unref(p->reg);
            p->reg = j->new_reg;
            p->stats.registry_reloads++;
            kf_info("registry: reloaded, %zu device(s)", kf_registry_count(p->reg));
        } else {
            kf_err("registry: reload failed: %s (keeping the old snapshot)",
                   kf_strerror(j->reload_rc));
        }
        j->new_reg = NULL;
        j->do_reload = 0;
    }
    if (j->do_expire) {
        if (j->expire_rc == 0) {
            p->stats.expired_offline += j->expired;
            if (j->expired > 0) {
                kf_notice("heartbeat: %u device(s) marked offline", j->expired);
            }
        } else {
            kf_err("heartbeat: expiry failed: %s", kf_strerror(j->expire_rc));
        }
        j->do_expire = 0;
    }
    if (!j->do_commit) {
        goto out_next;
    }
    j->do_commit = 0;
    if (j->isolated) {
        kf_notice("store: a group commit of %zu frame(s) failed (%s: %s); committed them one by "
                  "one",
                  j->n_queued, kf_strerror(j->group_rc), j->group_msg);
        if (j->nquarantined > 0) {
            kf_err("store: %zu frame(s) refused by the store (%s: %s): quarantined and acked "
                   "(kioskctl quarantine)",
                   j->nquarantined, kf_strerror(j->poison_rc), j->poison_msg);
            p->stats.quarantined += j->nquarantined;
        }
        if (j->npoison > 0) {
            kf_err("store: %zu frame(s) refused by the store (%s) and not quarantined; counted "
                   "as malformed, not acked",
                   j->npoison, kf_strerror(j->poison_rc));
            p->delta[KF_REJECT_MALFORMED] += j->npoison;
            p->stats.rejected[KF_REJECT_MALFORMED] += j->npoison;
        }
        if (j->ndrop > j->npoison) {
            kf_warn("store: %zu frame(s) dropped after a database error (not acked; devices "
                    "resend them)",
                    j->ndrop - j->npoison);
            p->stats.commit_failures++;
        }
        kf__release(p, j->drop, j->ndrop);
        j->ndrop = 0;
        if (j->rc != 0) {
            /* Only the reject deltas failed: keep them for the next commit. */
            for (int r = 0; r < KF_REJECT_COUNT_; r++) {
                p->delta[r] += j->delta[r];
            }
            j->rc = 0;
        }
    }
    if (j->rc != 0) {
        /* Nothing was written: keep the batch, give the deltas back, retry later. */
        for (int r = 0; r < KF_REJECT_COUNT_; r++) {
            p->delta[r] += j->delta[r];
        }
        memset(j->delta, 0, sizeof(j->delta));
        p->stats.commit_failures++;
        if (p->fail_streak++ == 0) {
            kf_err("store: commit of %zu frame(s) failed: %s (retrying)", j->n, kf_strerror(j->rc));
        }
        if (p->draining && p->fail_streak >= KF__STOP_MAX_FAILURES) {
            kf_err("store: giving up %zu uncommitted frame(s) and the reject counts at shutdown "
                   "(not acked; devices resend them)",
                   j->n);
            kf__release(p, j->items, j->n);
            j->n = 0;
            memset(p->delta, 0, sizeof(p->delta));
            goto out_next;
        }
        if (j->n > 0) {
            p->sj_retry = 1;
        }
        kf__arm_kick(p, p->retry_ms);
        p->retry_ms = p->retry_ms * 2 > KF__RETRY_MAX_MS ? KF__RETRY_MAX_MS : p->retry_ms * 2;
        goto out_next;
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
    memset(j->delta, 0, sizeof(j->delta));

    for (size_t i = 0; i < j->n; i++) {
        const struct kf_commit_out *o = &j->out[i];
        if (o->replay) {
            p->delta[KF_REJECT_REPLAY]++;
            p->stats.rejected[KF_REJECT_REPLAY]++;
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
            continue; /* counted above; acknowledged below */
        }
        p->stats.committed_frames++;
        p->stats.committed_records += o->inserted;
        p->stats.duplicates += o->duplicates;
        kf_latency_add(&p->stats.latency, j->done_mono_us - j->items[i]->recv_mono_us);
    }
    /* QoS 0 (docs/PROTOCOL.md section 1): an ACK is cumulative, and the agent's HELLO after
     * every connect and its ack timeout recover any one that a broken connection lost. */
    for (size_t i = 0; i < j->nacks; i++) {
        const struct kf__ack *a = &j->acks[i];
        if (kf_link_publish(p->link, a->topic, a->buf, a->len, 0) == 0) {
            p->stats.acks_sent++;
        } else {
            p->stats.acks_failed++;
        }
    }
    p->stats.acks_failed += j->ack_errors;
    p->stats.ack_keys_derived += j->ack_keys_derived;
    kf__release(p, j->items, j->n);
    j->n = 0;

out_next:
    kf__dispatch(p);
    kf__maybe_start_store(p);
}

static void kf__check_drained(struct kf_pipeline *p)
{
    int deltas = 0;

    for (int r = 0; r < KF_REJECT_COUNT_; r++) {
        deltas |= p->delta[r] != 0;
    }
    if (p->draining && p->drained_cb != NULL && p->npend == 0 && p->vjobs == 0 && p->ncq == 0 &&
        !p->sj_busy && !p->sj_retry && !deltas) {
        void (*cb)(void *ud) = p->drained_cb;
        p->drained_cb = NULL;
        cb(p->drained_ud);
    }
}

/* Fold the link's own drops (oversize, unusable topic) into the counters. */
static void kf__fold_link(struct kf_pipeline *p)
{
    struct kf_link_counters c;
    uint64_t d;

    kf_link_counters(p->link, &c);
    d = c.oversize - p->link_oversize_seen;
    p->delta[KF_REJECT_OVERSIZE] += d;
    p->stats.rejected[KF_REJECT_OVERSIZE] += d;
    p->link_oversize_seen = c.oversize;
    d = c.malformed - p->link_malformed_seen;
    p->delta[KF_REJECT_MALFORMED] += d;
    p->stats.rejected[KF_REJECT_MALFORMED] += d;
    p->link_malformed_seen = c.malformed;
}

static void kf__maybe_start_store(struct kf_pipeline *p)
{
    struct kf__sjob *j = &p->sj;
    int64_t now = kf_mono_us();
    int deltas = 0, rc;

    if (p->sj_busy) {
        return;
    }
    kf__fold_link(p);
    if (p->reload_wanted && !p->reload_forced && now - p->last_reload_us < KF__RELOAD_MIN_US) {
        kf__arm_kick(p, (uint64_t)(KF__RELOAD_MIN_US - (now - p->last_reload_us)) / 1000u + 1u);
    }
    j->do_reload =
        p->reload_forced || (p->reload_wanted && now - p->last_reload_us >= KF__RELOAD_MIN_US);
    j->do_expire = p->expire_wanted;
    j->do_hook_tick = p->hook_tick_wanted && p->opts.hook.work != NULL;
    /* Replays only into a quiet pipeline, one batch at a time: they never crowd out what
     * terminals send, and at most KF__REPLAYS_MAX of them are held. */
    j->do_replays = p->replays_wanted && !p->draining && p->replays_held == 0 && p->npend == 0 &&
                    p->ncq == 0 && !p->sj_retry;
    for (int r = 0; r < KF_REJECT_COUNT_; r++) {
        deltas |= p->delta[r] != 0;
    }
    if (p->sj_retry && p->kick_armed) {
        /* Waiting out a failed commit's backoff; reload/expire may still go now. */
        j->do_commit = 0;
    } else if (p->sj_retry) {
        j->do_commit = 1;
    } else if (p->ncq > 0) {
        size_t n = 0;
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
        j->do_commit = 1;
    } else {
        j->n = 0;
        j->do_commit = deltas && (p->flush_deltas || p->draining);
    }
    if (j->do_commit) {
        for (int r = 0; r < KF_REJECT_COUNT_; r++) {
            j->delta[r] += p->delta[r];
            p->delta[r] = 0;
        }
        p->flush_deltas = 0;
    }
    if (p->nnotes > 0) {
        memcpy(j->notes, p->notes, p->nnotes * sizeof(p->notes[0]));
        j->nnotes = p->nnotes;
        p->nnotes = 0;
    }
    if (!j->do_commit && !j->do_reload && !j->do_expire && !j->do_hook_tick && !j->do_replays &&
        j->nnotes == 0) {
        kf__check_drained(p);
        return;
    }
    if (j->do_reload) {
        p->reload_wanted = 0;
        p->reload_forced = 0;
        p->last_reload_us = now;
    }
    if (j->do_expire) {
        p->expire_wanted = 0;
        j->cutoff_ms = p->expire_cutoff_ms;
    }
    if (j->do_hook_tick) {
        p->hook_tick_wanted = 0;
    }
    if (j->do_replays) {
        p->replays_wanted = 0; /* until a quiet moment, the wish stays */
    }
    if (j->do_commit) {
        p->sj_retry = 0;
    }
    j->p = p;
    j->req.data = j;
    j->n_queued = j->n; /* the loop reads this while the worker may shrink j->n */
    rc = uv_queue_work(p->loop, &j->req, kf__sjob_work, kf__sjob_after);
    if (rc != 0) {
        kf_err("store: cannot queue work: %s", uv_strerror(rc));
        p->sj_retry = j->do_commit && j->n > 0;
        return;
    }
    p->sj_busy = 1;
}

static void kf__on_kick(uv_timer_t *t)
{
    struct kf_pipeline *p = t->data;

    p->kick_armed = 0;
    kf__maybe_start_store(p);
}

static void kf__arm_kick(struct kf_pipeline *p, uint64_t ms)
{
    if (p->kick_armed) {
        return;
    }
    p->kick_armed = 1;
    uv_timer_start(&p->kick, kf__on_kick, ms, 0);
}

/* ---- public ---- */

/* The commit job's arrays (each commit_batch_max long); the job itself is embedded. */
static void kf__sjob_free(struct kf__sjob *j)
{
    free(j->items);
    free(j->out);
    free(j->order);
    free(j->acks);
    free(j->drop);
    free(j->ing);
    free(j->idents);
    free(j->answers);
}

int kf_pipeline_new(uv_loop_t *loop, struct kf_link *link, struct kf_store *store,
                    struct kf_registry *reg, const struct kf_pipeline_opts *opts,
                    struct kf_pipeline **ret)
{
    struct kf_pipeline *p;
    size_t cap = opts->commit_batch_max;
    int rc;

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->sj.items = calloc(cap, sizeof(*p->sj.items));
    p->sj.out = calloc(cap, sizeof(*p->sj.out));
    p->sj.order = calloc(cap, sizeof(*p->sj.order));
    p->sj.acks = calloc(cap, sizeof(*p->sj.acks));
    p->sj.drop = calloc(cap, sizeof(*p->sj.drop));
    p->sj.ing = calloc(cap, sizeof(*p->sj.ing));
    p->sj.idents = calloc(cap, sizeof(*p->sj.idents));
    p->sj.answers = calloc(cap, sizeof(*p->sj.answers));
    if (p->sj.items == NULL || p->sj.out == NULL || p->sj.order == NULL || p->sj.acks == NULL ||
        p->sj.drop == NULL || p->sj.ing == NULL || p->sj.idents == NULL || p->sj.answers == NULL) {
        rc = -ENOMEM;
        goto out_free;
    }
    rc = kf_ackkeys_new(opts->server_sk, opts->ack_keys_max, &p->ackkeys);
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
    p->store = store;
    p->reg = reg;
    p->opts = *opts;
    p->pend_tail = &p->pend;
    p->cq_tail = &p->cq;
    p->retry_ms = KF__RETRY_MIN_MS;
    p->last_reload_us = kf_mono_us();
    *ret = p;
    return 0;

out_free:
    kf_brokersync_close(p->bsync, NULL, NULL);
    kf_ackkeys_free(p->ackkeys);
    kf__sjob_free(&p->sj);
    free(p);
    return rc;
}

void kf_pipeline_reload(struct kf_pipeline *p, int forced)
{
    p->reload_wanted = 1;
    if (forced) {
        p->reload_forced = 1;
    }
    kf__maybe_start_store(p);
}

void kf_pipeline_expire(struct kf_pipeline *p, int64_t cutoff_ms)
{
    p->expire_wanted = 1;
    p->expire_cutoff_ms = cutoff_ms;
    kf__maybe_start_store(p);
}

void kf_pipeline_tick(struct kf_pipeline *p)
{
    p->flush_deltas = 1;
    kf__maybe_start_store(p);
}

void kf_pipeline_hook_tick(struct kf_pipeline *p)
{
    if (p->draining) {
        return; /* stopping: the last commit's hook run is the last */
    }
    p->hook_tick_wanted = 1;
    p->replays_wanted = 1; /* and quarantined frames asked back, on the same tick */
    kf__maybe_start_store(p);
}

const struct kf_pipeline_stats *kf_pipeline_stats(struct kf_pipeline *p)
{
    kf__fold_link(p);
    p->stats.pending = p->npend;
    p->stats.verifying = p->vjobs;
    p->stats.commit_queue = p->ncq + (p->sj_busy || p->sj_retry ? p->sj.n_queued : 0);
    return &p->stats;
}

void kf_pipeline_drain(struct kf_pipeline *p, void (*cb)(void *ud), void *ud)
{
    p->draining = 1;
    p->drained_cb = cb;
    p->drained_ud = ud;
    kf_pipeline_feed(p); /* frames that arrived before the link stopped */
    kf__maybe_start_store(p);
}

static void kf__on_closed_all(void *ud);

static void kf__on_closed(uv_handle_t *h)
{
    struct kf_pipeline *p = h->data;

    kf_brokersync_close(p->bsync, kf__on_closed_all, p);
}

static void kf__on_closed_all(void *arg)
{
    struct kf_pipeline *p = arg;
    void (*cb)(void *ud) = p->closed_cb;
    void *ud = p->closed_ud;
    size_t n = 0, bytes = 0;

    while (p->pend != NULL) {
        struct kf_frame *f = p->pend;
        p->pend = f->next;
        bytes += f->cost;
        n += f->quarantine_id == 0;
        free(f);
    }
    while (p->cq != NULL) {
        struct kf_verified *v = p->cq;
        p->cq = v->next;
        kf__release(p, &v, 1);
    }
    kf__release(p, p->sj.items, p->sj.n);
    kf_link_release(p->link, n, bytes);
    kf_registry_unref(p->reg);
    kf_store_free(p->store);
    kf_ackkeys_free(p->ackkeys);
    kf__sjob_free(&p->sj);
    free(p);
    if (cb != NULL) {
        cb(ud);
    }
}

void kf_pipeline_close(struct kf_pipeline *p, void (*cb)(void *ud), void *ud)
{
    p->closed_cb = cb;
    p->closed_ud = ud;
    uv_close((uv_handle_t *)&p->kick, kf__on_closed);
}
