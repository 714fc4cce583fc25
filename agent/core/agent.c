/* core/agent.c: the agent core: outbox -> batches -> link, ACK -> outbox. Lifecycle,
 * submissions and timers here; frames in agent_frame.c, the session in agent_session.c. */
#include "core/agent_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/time.h>

#define AGENT_DEFAULT_NAME "kiosk-agent/0.1.0"
#define AGENT_CLOSE_TIMEOUT_MS 1000

/* ---- timers ---- */

static void agent_flush_timer_cb(uv_timer_t *t)
{
    struct kf_agent *a = t->data;
    uint64_t now = uv_now(a->loop);

    if (!kf_agent_link_is_up(a->link))
        return;
    if (!a->online) {
        if (a->hello_sent_ms == 0 || now - a->hello_sent_ms >= a->cfg.ack_timeout_ms)
            kf__agent_send_hello(a);
        return;
    }
    if (a->rot_active && (a->rot_sent_ms == 0 || now - a->rot_sent_ms >= a->cfg.ack_timeout_ms))
        kf__agent_rotation_send(a);
    if (a->inflight_n > 0 && now - a->last_progress_ms >= a->cfg.ack_timeout_ms) {
        struct kf_outbox_stats os;
        if (kf_outbox_stats(a->ob, &os) == 0) {
            a->send_seq = os.acked_seq + 1;
            a->inflight_n = 0;
            a->st.resends++;
        }
    }
    kf__agent_flush(a, 1);
}

static void agent_health_timer_cb(uv_timer_t *t)
{
    struct kf_agent *a = t->data;
    struct kf_record rec;

    if (a->health_cb(a->health_ud, kf_now_ms(), &rec) < 0)
        return;
    rec.type = KF_REC_HEALTH;
    a->st.health_sampled++;
    (void)kf_agent_submit(a, &rec, NULL);
}

/* ---- public ---- */

/* The kernel boot the records are stamped in (outbox.h, "Clock regimes"): boot_id, or the
 * system's. Without one the records carry no regime and get the offset measured when they
 * are sent. */
static void agent_kernel_boot(struct kf_agent *a, const char *boot_id)
{
    char kboot[64] = "";

    if (boot_id) {
        snprintf(kboot, sizeof(kboot), "%s", boot_id);
    } else {
        FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
        if (f != NULL) {
            if (fgets(kboot, sizeof(kboot), f) == NULL)
                kboot[0] = '\0';
            fclose(f);
        }
    }
    kboot[strcspn(kboot, " \r\n")] = '\0';
    snprintf(a->kboot, sizeof(a->kboot), "%s", kboot);
    if (kboot[0] == '\0' || kf_outbox_boot(a->ob, kboot, &a->boot_no) < 0) {
        kf_warn("%s: no kernel boot id: records are sent with the clock offset measured "
                "then, even across a step of the clock",
                a->cfg.device_id);
        a->boot_no = 0;
    }
}

int kf_agent_new(uv_loop_t *loop, const struct kf_agent_config *cfg, const uint8_t sk[64],
                 const struct kf_agent_opts *opts, struct kf_agent **ret)
{
    struct kf_outbox_limits lim;
    struct kf_agent *a;
    uint8_t boot[8];
    int rc;

    if (cfg->batch_max_records == 0 || cfg->batch_max_records > KF_ENV_MAX_RECORDS ||
        cfg->inflight_max == 0 || cfg->inflight_max > KF__AGENT_INFLIGHT_CAP ||
        !kf_device_id_valid(cfg->device_id) || cfg->batch_max_bytes > 60000)
        return -EINVAL;
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->loop = loop;
    a->cfg = *cfg;
    memcpy(a->sk, sk, sizeof(a->sk));
    if (kf_ack_key_device(a->sk, cfg->server_pk, a->ack_key) != 0) {
        kf_err("%s: the server public key is not a usable key", cfg->device_id);
        rc = -EINVAL;
        goto out_free;
    }
    snprintf(a->agent_name, sizeof(a->agent_name), "%s",
             opts && opts->agent_name ? opts->agent_name : AGENT_DEFAULT_NAME);
    randombytes_buf(boot, sizeof(boot));
    kf_hex_encode(boot, sizeof(boot), a->boot_id, sizeof(a->boot_id));
    if (opts) {
        a->health_cb = opts->health_cb;
        a->health_ud = opts->health_ud;
        a->health_interval_s = opts->health_interval_s;
    }
    if (!a->health_interval_s)
        a->health_interval_s = cfg->health_interval_s;

    if ((rc = kf_topic_format(a->t_hello, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_HELLO)) < 0 ||
        (rc = kf_topic_format(a->t_telemetry, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_TELEMETRY)) <
            0 ||
        (rc = kf_topic_format(a->t_events, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_EVENTS)) < 0 ||
        (rc = kf_topic_format(a->t_state, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_STATE)) < 0 ||
        (rc = kf_topic_format(a->t_ack, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_ACK)) < 0 ||
        (rc = kf_topic_format(a->t_enroll, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_ENROLL)) < 0 ||
        (rc = kf_topic_format(a->t_cmd, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_CMD)) < 0)
        goto out_free;

    if (opts && opts->zctx) {
        a->zctx = opts->zctx;
    } else {
        rc = kf_zctx_new(3, &a->zctx);
        if (rc < 0)
            goto out_free;
        a->own_zctx = 1;
    }

    lim.max_records = cfg->outbox_max_records;
    lim.max_bytes = cfg->outbox_max_bytes;
    lim.max_health = cfg->outbox_max_health;
    lim.app_ids_max = cfg->app_id_max;
    lim.app_ids_keep_days = cfg->app_id_keep_days;
    lim.process_durable = opts != NULL && opts->outbox_process_durable;
    rc = kf_outbox_open(cfg->outbox_path, &lim, &a->ob);
    if (rc < 0)
        goto out_zctx;
    agent_kernel_boot(a, opts ? opts->kernel_boot_id : NULL);
    if (opts) {
        a->clock_base_cb = opts->clock_base_cb;
        a->clock_ud = opts->clock_ud;
        a->restart_cb = opts->restart_cb;
        a->restart_ud = opts->restart_ud;
    }
    /* The settings the server changed (set-config) before the link takes the broker's. */
    rc = kf__agent_cmd_init(a);
    if (rc < 0)
        goto out_outbox;
    if (a->cfg.health_interval_s != cfg->health_interval_s && !(opts && opts->health_interval_s))
        a->health_interval_s = a->cfg.health_interval_s;

    rc = kf__agent_link_new(a, opts);
    if (rc < 0)
        goto out_outbox;

    uv_timer_init(loop, &a->flush_timer);
    a->flush_timer.data = a;
    uv_timer_init(loop, &a->health_timer);
    a->health_timer.data = a;
    kf__agent_cmd_timers(a);
    kf__agent_logs_timers(a);
    kf__agent_update_timers(a);
    *ret = a;
    return 0;

out_outbox:
    kf_outbox_free(a->ob);
out_zctx:
    if (a->own_zctx)
        kf_zctx_free(a->zctx);
out_free:
    sodium_memzero(a, sizeof(*a));
    free(a);
    return rc;
}

int kf_agent_start(struct kf_agent *a)
{
    int rc = kf_agent_link_start(a->link);
    if (rc < 0)
        return rc;
    uv_timer_start(&a->flush_timer, agent_flush_timer_cb, a->cfg.flush_interval_ms,
                   a->cfg.flush_interval_ms);
    if (a->health_cb) {
        uint64_t ms = (uint64_t)a->health_interval_s * 1000;
        uv_timer_start(&a->health_timer, agent_health_timer_cb, ms, ms);
    }
    kf__agent_cmd_start(a); /* what a previous run left, and a setting on trial */
    return 0;
}

static void agent_after_append(struct kf_agent *a, uint64_t last_seq, size_t bytes)
{
    a->pending_bytes += bytes;
    if (!a->online || a->inflight_n >= a->cfg.inflight_max)
        return;
    if (last_seq + 1 - a->send_seq >= a->cfg.batch_max_records ||
        a->pending_bytes >= a->cfg.batch_max_bytes)
        kf__agent_flush(a, 0);
}

int kf_agent_submit_app(struct kf_agent *a, const struct kf_record *rec, int ts_given,
                        uint64_t *ret_seq, int *ret_taken)
{
    char json[KF_RECORD_JSON_MAX + 1];
    struct kf_outbox_app app;
    size_t len;
    uint64_t seq;
    int taken = KF_OUTBOX_APP_NEW;
    int rc;

    if (a->closing)
        return -ESHUTDOWN;
    rc = kf_record_format(rec, json, sizeof(json), &len);
    if (rc < 0)
        return rc;
    kf_outbox_set_clock(a->ob, a->boot_no, kf__agent_clock_base(a));
    if (rec->app_id[0] != '\0') {
        const struct kf_outbox_rec orec = {
            .type = rec->type, .ts_ms = rec->ts_ms, .json = json, .json_len = len};

        rc = kf_outbox_app_digest(rec, ts_given, app.digest);
        if (rc < 0)
            return rc;
        app.id = rec->app_id;
        app.now_ms = kf_now_ms();
        rc = kf_outbox_append_app(a->ob, &orec, &app, &seq, &taken);
    } else {
        rc = kf_outbox_append(a->ob, rec->type, rec->ts_ms, json, len, &seq);
    }
    if (rc == -ENOBUFS)
        a->st.health_dropped++;
    if (rc < 0)
        return rc;
    if (taken == KF_OUTBOX_APP_NEW)
        agent_after_append(a, seq, len);
    if (rec->type == KF_REC_PERIPH) /* what a probe command re-sends */
        a->periph[rec->u.periph.periph] = rec->u.periph.state;
    if (ret_seq)
        *ret_seq = seq;
    if (ret_taken)
        *ret_taken = taken;
    return 0;
}

int kf_agent_submit(struct kf_agent *a, const struct kf_record *rec, uint64_t *ret_seq)
{
    uint64_t seq;
    int taken, rc;

    rc = kf_agent_submit_app(a, rec, 1, &seq, &taken);
    if (rc < 0)
        return rc;
    if (taken == KF_OUTBOX_APP_REUSED)
        return -EEXIST;
    if (ret_seq)
        *ret_seq = seq;
    return 0;
}

int kf_agent_submit_many(struct kf_agent *a, const struct kf_record *recs, size_t n,
                         size_t *ret_appended, uint64_t *ret_first_seq)
{
    struct kf_outbox_rec * or = NULL;
    struct kf_outbox_stats os;
    char *arena = NULL;
    size_t used = 0, appended = 0;
    int rc;

    if (a->closing)
        return -ESHUTDOWN;
    if (n == 0) {
        rc = 0;
        goto out;
    }
    or = calloc(n, sizeof(* or));
    arena = malloc(n * (KF_RECORD_JSON_MAX + 1));
    if (! or || !arena) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if (recs[i].app_id[0] != '\0') {
            rc = -EINVAL; /* taken one at a time: kf_agent_submit */
            goto out;
        }
        rc = kf_record_format(&recs[i], arena + used, KF_RECORD_JSON_MAX + 1, &len);
        if (rc < 0)
            goto out;
        or [i].type = recs[i].type;
        or [i].ts_ms = recs[i].ts_ms;
        or [i].json = arena + used;
        or [i].json_len = len;
        used += len;
    }
    rc = kf_outbox_stats(a->ob, &os);
    if (rc < 0)
        goto out;
    kf_outbox_set_clock(a->ob, a->boot_no, kf__agent_clock_base(a));
    rc = kf_outbox_append_many(a->ob, or, n, &appended);
    if (rc < 0)
        goto out;
    if (appended < n)
        a->st.health_dropped += n - appended;
    if (appended)
        agent_after_append(a, os.next_seq + appended - 1, used);
    if (ret_appended)
        *ret_appended = appended;
    if (ret_first_seq)
        *ret_first_seq = appended == n ? os.next_seq : 0; /* 0: a dropped sample left gaps */
out:
    free(arena);
    free(or);
    return rc;
}

int kf_agent_stats(struct kf_agent *a, struct kf_agent_stats *ret)
{
    struct kf_agent_link_stats ls;
    int rc = kf_outbox_stats(a->ob, &a->st.outbox);
    if (rc < 0)
        return rc;
    kf_agent_link_stats(a->link, &ls);
    a->st.send_seq = a->send_seq;
    a->st.inflight = a->inflight_n;
    a->st.online = a->online;
    a->st.clock_synced = a->clock_synced;
    a->st.clock_offset_ms = a->clock_offset_ms;
    (void)kf_outbox_cmd_counters(a->ob, &a->st.cmd_high, a->st.cmd_refused);
    *ret = a->st;
    ret->connects = ls.connects;
    ret->lost = ls.lost;
    return 0;
}

static void agent_closed_one(struct kf_agent *a)
{
    if (--a->close_pending > 0)
        return;
    void (*cb)(void *) = a->close_cb;
    void *ud = a->close_ud;
    kf_outbox_free(a->ob);
    if (a->own_zctx)
        kf_zctx_free(a->zctx);
    sodium_memzero(a, sizeof(*a));
    free(a);
    if (cb)
        cb(ud);
}

void kf__agent_handle_closed(uv_handle_t *h)
{
    agent_closed_one(h->data);
}

static void agent_link_closed(void *ud)
{
    agent_closed_one(ud);
}

int kf__agent_split_words(char *words, char **argv, int max)
{
    char *p = words;
    int n = 0;

    while (*p != '\0' && n < max) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (*p == '\0')
            break;
        argv[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
    }
    return n;
}

int kf__agent_close_hook(uv_handle_t *h, int *on)
{
    if (!*on)
        return 0;
    if (!uv_is_closing(h)) {
        uv_close(h, kf__agent_handle_closed);
        *on = 0;
    }
    return 1;
}

void kf_agent_close(struct kf_agent *a, void (*cb)(void *ud), void *ud)
{
    if (a->closing)
        return;
    /* A clean disconnect suppresses the will: say offline ourselves. */
    if (kf_agent_link_is_up(a->link))
        (void)kf__agent_publish_small(a, KF_MSG_STATE, 0, a->t_state, "{\"state\":\"offline\"}", 0,
                                      1);
    a->closing = 1;
    a->online = 0;
    a->close_cb = cb;
    a->close_ud = ud;
    a->close_pending = 3;
    a->close_pending += kf__agent_cmd_close(a);
    a->close_pending += kf__agent_logs_close(a);
    a->close_pending += kf__agent_update_close(a);
    uv_timer_stop(&a->flush_timer);
    uv_timer_stop(&a->health_timer);
    uv_close((uv_handle_t *)&a->flush_timer, kf__agent_handle_closed);
    uv_close((uv_handle_t *)&a->health_timer, kf__agent_handle_closed);
    kf_agent_link_close(a->link, AGENT_CLOSE_TIMEOUT_MS, agent_link_closed, a);
}
