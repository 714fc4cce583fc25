/* cmdsvc.c: the command service (cmdsvc.h). */
#include "kioskd/cmdsvc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/command.h>
#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "store/cmd_requests.h"
#include "store/commands.h"
#include "store/rollouts.h"

#define CMDSVC_MIN_GAP_MS 1000 /* between two dispatch jobs */
#define CMD_FRAME_MAX (KF_ENV_FIXED_BYTES + KF_DEVICE_ID_MAX + KF_CMD_BODY_MAX + KF_ENV_SIG_BYTES)

struct kf_cmdsvc {
    struct kf_cmdsvc_config cfg;
    uint8_t sk[64];
    struct kf_writer *w;
    struct kf_link *link;
    uv_loop_t *loop;
    int busy, stopped, wanted;
    uint64_t last_ms; /* uv_now when the last job was submitted */
    uint64_t sent, resent_or_sent_jobs, publish_failed, expired, failed;
};

/* One sealed frame, its topic and what to say of it. */
struct sealed {
    char topic[KF_TOPIC_MAX];
    char id[KF_CMD_ID_MAX + 1];
    size_t len;
    uint8_t frame[CMD_FRAME_MAX];
};

struct dispatch_job {
    struct kf_writer_job job;
    struct kf_cmdsvc *c;
    int64_t now_ms;
    int rc;
    uint32_t expired, moves, requests;
    struct sealed *out;
    size_t n;
    char err[256];
};

static void dispatch_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct dispatch_job *j = KF_WRITER_JOB_OF(job, struct dispatch_job, job);
    struct kf_cmd *cmds = NULL;
    size_t n = 0;

    /* kiosk-web's requests, then the rollouts (store/cmd_requests.h, store/rollouts.h):
     * what they queue goes out in this same job. */
    j->rc = kf_store_cmd_requests_apply(st, j->now_ms, j->c->sk, &j->requests);
    if (j->rc < 0) {
        snprintf(j->err, sizeof(j->err), "web requests: %s", kf_store_errmsg(st));
        return;
    }
    j->rc = kf_store_rollout_tick(st, j->now_ms, j->c->sk, &j->moves);
    if (j->rc < 0) {
        snprintf(j->err, sizeof(j->err), "rollouts: %s", kf_store_errmsg(st));
        return;
    }
    j->rc = kf_store_cmd_dispatch(st, j->now_ms, (int64_t)j->c->cfg.resend_s * 1000,
                                  (size_t)j->c->cfg.batch_max, &cmds, &n, &j->expired);
    if (j->rc < 0) {
        snprintf(j->err, sizeof(j->err), "%s", kf_store_errmsg(st));
        return;
    }
    if (n == 0)
        return;
    j->out = calloc(n, sizeof(*j->out));
    if (j->out == NULL) {
        /* Marked sent and not sealed: they go again after resend_s. */
        j->rc = -ENOMEM;
        free(cmds);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct sealed *s = &j->out[j->n];

        if (kf_topic_format(s->topic, sizeof(s->topic), cmds[i].device_id, KF_TOPIC_CMD) < 0 ||
            kf_cmd_seal(&cmds[i], j->c->sk, s->frame, sizeof(s->frame), &s->len) < 0) {
            kf_warn("commands: %s for %s cannot be sealed: skipped", cmds[i].id, cmds[i].device_id);
            continue;
        }
        snprintf(s->id, sizeof(s->id), "%s", cmds[i].id);
        j->n++;
    }
    sodium_memzero(cmds, n * sizeof(*cmds));
    free(cmds);
}

static void dispatch_after(struct kf_writer_job *job, int status)
{
    struct dispatch_job *j = KF_WRITER_JOB_OF(job, struct dispatch_job, job);
    struct kf_cmdsvc *c = j->c;

    c->busy = 0;
    if (status != 0 || j->rc < 0) {
        c->failed++;
        kf_err("commands: dispatch failed: %s",
               j->err[0] ? j->err : kf_strerror(status != 0 ? status : j->rc));
    } else {
        c->expired += j->expired;
        if (j->expired > 0)
            kf_notice("commands: %u expired without an answer", j->expired);
        if (j->requests > 0)
            kf_notice("commands: %u requests from kiosk-web applied or refused", j->requests);
        if (j->moves > 0)
            kf_notice("commands: %u rollouts advanced, halted or ended (kioskctl rollout list)",
                      j->moves);
        for (size_t i = 0; i < j->n; i++) {
            /* QoS 1, not retained: a retained command would reach a device again at each
             * subscription, and the broker would keep it past its expiry. */
            if (kf_link_publish(c->link, j->out[i].topic, j->out[i].frame, j->out[i].len, 1) == 0) {
                c->sent++;
                kf_info("commands: %s sent on %s", j->out[i].id, j->out[i].topic);
            } else {
                c->publish_failed++; /* sent again after resend_s */
            }
        }
    }
    free(j->out);
    free(j);
    if (c->wanted) {
        c->wanted = 0;
        kf_cmdsvc_tick(c);
    }
}

void kf_cmdsvc_tick(struct kf_cmdsvc *c)
{
    struct dispatch_job *j;
    uint64_t now;

    if (c == NULL || c->stopped)
        return;
    now = uv_now(c->loop);
    if (c->busy || (c->last_ms != 0 && now - c->last_ms < CMDSVC_MIN_GAP_MS)) {
        c->wanted = 1; /* taken after the job in flight, or on the next tick */
        return;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->c = c;
    j->now_ms = kf_now_ms();
    if (kf_writer_submit(c->w, &j->job, dispatch_work, dispatch_after) != 0) {
        free(j);
        return;
    }
    c->busy = 1;
    c->wanted = 0;
    c->last_ms = now;
}

/* A commit that brought frames may have brought a device back online (its HELLO): its
 * commands go now rather than at the next tick. */
static void on_commit(void *ud, const struct kf_writer_commit *cm)
{
    struct kf_cmdsvc *c = ud;

    if (cm->frames > 0)
        kf_cmdsvc_tick(c);
}

int kf_cmdsvc_new(const struct kf_cmdsvc_config *cfg, const uint8_t *sk, struct kf_writer *w,
                  struct kf_link *link, uv_loop_t *loop, struct kf_cmdsvc **ret)
{
    struct kf_cmdsvc *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL)
        return -ENOMEM;
    c->cfg = *cfg;
    memcpy(c->sk, sk, sizeof(c->sk));
    c->w = w;
    c->link = link;
    c->loop = loop;
    rc = kf_writer_on_commit(w, on_commit, c);
    if (rc < 0) {
        kf_cmdsvc_free(c);
        return rc;
    }
    *ret = c;
    return 0;
}

void kf_cmdsvc_stop(struct kf_cmdsvc *c)
{
    if (c != NULL)
        c->stopped = 1;
}

json_t *kf_cmdsvc_stats_json(struct kf_cmdsvc *c)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "sent", (json_int_t)(c ? c->sent : 0),
                     "publish_failed", (json_int_t)(c ? c->publish_failed : 0), "expired",
                     (json_int_t)(c ? c->expired : 0), "failed", (json_int_t)(c ? c->failed : 0));
}

void kf_cmdsvc_free(struct kf_cmdsvc *c)
{
    if (c == NULL)
        return;
    sodium_memzero(c->sk, sizeof(c->sk));
    free(c);
}

/* ---- [commands] ---- */

static const struct kf_conf_key commands_keys[] = {
    KF_CONF_KEY_INT("resend_s", struct kf_cmdsvc_config, resend_s, 5, 86400, "60", 0),
    KF_CONF_KEY_INT("batch_max", struct kf_cmdsvc_config, batch_max, 1, 10000, "256", 0),
};

void kf_cmdsvc_config_section(struct kf_cmdsvc_config *cfg, struct kf_conf_section *ret)
{
    *ret = (struct kf_conf_section){"commands", commands_keys,
                                    sizeof(commands_keys) / sizeof(commands_keys[0]), cfg, NULL};
}
