/* kioskd.c: wires link, writer, pipeline and the SLA service to one loop; signals, timers,
 * stats, systemd. */
#include "kioskd/kioskd.h"
#include "kioskd/metrics.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <uv.h>

#include <kf/err.h>
#include <kf/notify.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/time.h>

#include "kioskd/latency.h"
#include "kioskd/link.h"
#include "kioskd/pipeline.h"
#include "kioskd/cmdsvc.h"
#include "kioskd/reportsvc.h"
#include "kioskd/slasvc.h"
#include "kioskd/webhook.h"
#include "kioskd/writer.h"
#include "store/registry.h"
#include "store/store.h"

#define KF__HEARTBEAT_EVERY_MS 30000u
#define KF__STOP_LINK_GRACE_MS 10000u /* if Paho never reports the disconnect */
#define KF__NSIG 3

struct kf_kioskd {
    uv_loop_t loop;
    struct kf_kioskd_config cfg;
    uint8_t sk[64];
    struct kf_store *store;   /* the writer's connection; freed after the loop */
    struct kf_registry *reg;  /* until handed to the pipeline */
    struct kf_writer *writer; /* every job on store, one at a time (writer.h) */
    struct kf_link link;
    struct kf_pipeline *pipe;
    struct kf_slasvc *sla;        /* the SLA engine's service (a job on the writer) */
    struct kf_reportsvc *reports; /* the weekly report issued at its close (a writer job) */
    struct kf_cmdsvc *cmds;       /* commands to terminals, sealed and published */
    struct kf_webhook *webhook;   /* NULL: no [sla] webhook_url */
    char *sync_argv[10];          /* [broker]: the broker-sync command, pointing into cfg */

    uv_signal_t sig[KF__NSIG];
    uv_timer_t stats_timer, hb_timer, wd_timer, stop_timer, sla_timer;
    uv_work_t stats_req;
    char *stats_json;   /* owned by the in-flight stats write */
    char *metrics_text; /* the same in the Prometheus text format (metrics_file) */
    int stats_busy;

    int link_inited, started, stopping, link_stopped, drained, finishing;
    int closing; /* handles still to close */
    int rc;
    int64_t start_us, last_tick_us;
    double last_cpu_s;
};

/* ---- stats ---- */

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* p50/p99/max/count of a histogram, in milliseconds. */
static void latency_json(json_t *lat, const struct kf_latency *h)
{
    json_object_set_new(lat, "p50", json_real((double)kf_latency_quantile_us(h, 0.50) / 1000.0));
    json_object_set_new(lat, "p99", json_real((double)kf_latency_quantile_us(h, 0.99) / 1000.0));
    json_object_set_new(lat, "max", json_real((double)h->max_us / 1000.0));
    json_object_set_new(lat, "count", json_integer((json_int_t)h->count));
}

/* Returns an owned JSON text of the current counters and a newline, or NULL. Loop thread. */
static char *stats_json(struct kf_kioskd *kd)
{
    const struct kf_pipeline_stats *s = kf_pipeline_stats(kd->pipe);
    struct kf_link_counters lc;
    struct rusage ru;
    json_t *o, *rej, *lat;
    uint64_t total_rej = 0;
    char *text;

    kf_link_counters(&kd->link, &lc);
    getrusage(RUSAGE_SELF, &ru);
    o = json_object();
    rej = json_object();
    lat = json_object();
    if (o == NULL || rej == NULL || lat == NULL) {
        json_decref(o);
        json_decref(rej);
        json_decref(lat);
        return NULL;
    }
    for (int r = 0; r < KF_REJECT_COUNT_; r++) {
        json_object_set_new(rej, kf_store_reject_name(r), json_integer((json_int_t)s->rejected[r]));
        total_rej += s->rejected[r];
    }
    latency_json(lat, &s->latency);

    json_object_set_new(o, "received",
                        json_integer((json_int_t)(lc.received + lc.oversize + lc.malformed)));
    json_object_set_new(o, "verified", json_integer((json_int_t)s->verified));
    json_object_set_new(o, "committed_frames", json_integer((json_int_t)s->committed_frames));
    json_object_set_new(o, "committed_records", json_integer((json_int_t)s->committed_records));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)s->duplicates));
    json_object_set_new(o, "app_repeats", json_integer((json_int_t)s->app_repeats));
    json_object_set_new(o, "rejected", rej);
    json_object_set_new(o, "rejected_total", json_integer((json_int_t)total_rej));
    json_object_set_new(o, "ignored", json_integer((json_int_t)s->ignored));
    json_object_set_new(o, "acks_sent", json_integer((json_int_t)s->acks_sent));
    json_object_set_new(o, "acks_failed", json_integer((json_int_t)s->acks_failed));
    json_object_set_new(o, "ack_keys_derived", json_integer((json_int_t)s->ack_keys_derived));
    json_object_set_new(o, "verify_sig_cpu_ns", json_integer((json_int_t)s->sig_cpu_ns));
    json_object_set_new(o, "verify_sig_samples", json_integer((json_int_t)s->sig_samples));
    json_object_set_new(o, "commits", json_integer((json_int_t)s->commits));
    json_object_set_new(o, "commit_failures", json_integer((json_int_t)s->commit_failures));
    json_object_set_new(o, "registry_reloads", json_integer((json_int_t)s->registry_reloads));
    json_object_set_new(o, "expired_offline", json_integer((json_int_t)s->expired_offline));
    json_object_set_new(o, "dropped_nomem", json_integer((json_int_t)s->dropped_nomem));
    json_object_set_new(o, "seq_gaps", json_integer((json_int_t)s->seq_gaps));
    json_object_set_new(o, "quarantined", json_integer((json_int_t)s->quarantined));
    json_object_set_new(o, "quarantine_replays", json_integer((json_int_t)s->quarantine_replays));
    json_object_set_new(o, "ident_answers", json_integer((json_int_t)s->ident_answers));
    json_object_set_new(o, "parts_sent", json_integer((json_int_t)s->parts_sent));
    json_object_set_new(o, "fetch_dropped", json_integer((json_int_t)s->fetch_dropped));
    json_object_set_new(o, "inbox_depth", json_integer((json_int_t)lc.held));
    json_object_set_new(o, "inbox_bytes", json_integer((json_int_t)lc.held_bytes));
    json_object_set_new(o, "inbox_dropped", json_integer((json_int_t)lc.dropped_full));
    json_object_set_new(o, "inbox_dropped_nomem", json_integer((json_int_t)lc.dropped_nomem));
    json_object_set_new(o, "pending", json_integer((json_int_t)s->pending));
    json_object_set_new(o, "commit_queue", json_integer((json_int_t)s->commit_queue));
    json_object_set_new(o, "mqtt_connects", json_integer((json_int_t)lc.connects));
    json_object_set_new(o, "mqtt_lost", json_integer((json_int_t)lc.lost));
    json_object_set_new(o, "latency_ms", lat);
    lat = json_object();
    if (lat != NULL) {
        latency_json(lat, &s->commit);
        json_object_set_new(o, "commit_ms", lat);
    }
    json_object_set_new(o, "sla", kf_slasvc_stats_json(kd->sla));
    json_object_set_new(o, "reports", kf_reportsvc_stats_json(kd->reports));
    json_object_set_new(o, "commands", kf_cmdsvc_stats_json(kd->cmds));
    json_object_set_new(o, "cpu_user_s", json_real(tv_s(ru.ru_utime)));
    json_object_set_new(o, "cpu_sys_s", json_real(tv_s(ru.ru_stime)));
    json_object_set_new(o, "uptime_s", json_real((double)(kf_mono_us() - kd->start_us) / 1e6));
    text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (text != NULL) { /* one line, newline-terminated like any text file */
        size_t len = strlen(text);
        char *line = realloc(text, len + 2);

        if (line == NULL) {
            free(text);
            return NULL;
        }
        line[len] = '\n';
        line[len + 1] = '\0';
        text = line;
    }
    return text;
}

/* Replace the stats file with text. Any thread. 0 or -errno.
 * Not fsynced (KF_FILE_NOSYNC): the file is a snapshot rewritten every stats_interval_s,
 * normally in /run, which a reboot empties anyway; an fsync would hold a pool thread that
 * verify jobs and the store job share (and, at exit, the loop thread) for nothing. The
 * rename still shows readers the old or the new snapshot, never a torn one. Mode 0640:
 * what kioskd.service's UMask=0027 made of the old 0644, now exact whatever the umask. */
static int stats_write(const char *path, const char *text)
{
    return kf_file_write_atomic(path, text, strlen(text), 0640, (gid_t)-1, KF_FILE_NOSYNC);
}

static void stats_work(uv_work_t *req)
{
    struct kf_kioskd *kd = req->data;
    int rc = kd->cfg.stats_file[0] ? stats_write(kd->cfg.stats_file, kd->stats_json) : 0;

    if (rc != 0) {
        kf_warn("stats: cannot write %s: %s", kd->cfg.stats_file, kf_strerror(rc));
    }
    rc = kd->metrics_text ? stats_write(kd->cfg.metrics_file, kd->metrics_text) : 0;
    if (rc != 0) {
        kf_warn("metrics: cannot write %s: %s", kd->cfg.metrics_file, kf_strerror(rc));
    }
}

static void finish(struct kf_kioskd *kd);

static void stats_after(uv_work_t *req, int status)
{
    struct kf_kioskd *kd = req->data;

    (void)status;
    free(kd->stats_json);
    kd->stats_json = NULL;
    free(kd->metrics_text);
    kd->metrics_text = NULL;
    kd->stats_busy = 0;
    if (kd->drained) {
        finish(kd);
    }
}

static void stats_log(struct kf_kioskd *kd)
{
    const struct kf_pipeline_stats *s = kf_pipeline_stats(kd->pipe);
    struct kf_link_counters lc;
    struct rusage ru;
    uint64_t rej = 0;
    int64_t now = kf_mono_us();
    double cpu, wall;

    kf_link_counters(&kd->link, &lc);
    getrusage(RUSAGE_SELF, &ru);
    for (int r = 0; r < KF_REJECT_COUNT_; r++) {
        rej += s->rejected[r];
    }
    cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    wall = (double)(now - kd->last_tick_us) / 1e6;
    kf_info("stats: received=%llu verified=%llu committed=%llu frames/%llu records "
            "duplicates=%llu rejected=%llu inbox=%zu latency p50=%.1fms p99=%.1fms max=%.1fms "
            "cpu=%.0f%%",
            (unsigned long long)(lc.received + lc.oversize + lc.malformed),
            (unsigned long long)s->verified, (unsigned long long)s->committed_frames,
            (unsigned long long)s->committed_records, (unsigned long long)s->duplicates,
            (unsigned long long)rej, lc.held,
            (double)kf_latency_quantile_us(&s->latency, 0.50) / 1000.0,
            (double)kf_latency_quantile_us(&s->latency, 0.99) / 1000.0,
            (double)s->latency.max_us / 1000.0,
            wall > 0 ? 100.0 * (cpu - kd->last_cpu_s) / wall : 0.0);
    kd->last_cpu_s = cpu;
    kd->last_tick_us = now;
}

static void stats_write_async(struct kf_kioskd *kd)
{
    if ((kd->cfg.stats_file[0] == '\0' && kd->cfg.metrics_file[0] == '\0') || kd->stats_busy) {
        return;
    }
    kd->stats_json = stats_json(kd);
    if (kd->stats_json == NULL) {
        return;
    }
    if (kd->cfg.metrics_file[0] != '\0') {
        const struct kf_pipeline_stats *ps = kf_pipeline_stats(kd->pipe);

        kd->metrics_text = kf_metrics_text(kd->stats_json, &ps->latency, &ps->commit);
    }
    kd->stats_req.data = kd;
    if (uv_queue_work(&kd->loop, &kd->stats_req, stats_work, stats_after) != 0) {
        free(kd->stats_json);
        kd->stats_json = NULL;
        free(kd->metrics_text);
        kd->metrics_text = NULL;
        return;
    }
    kd->stats_busy = 1;
}

static void on_stats_timer(uv_timer_t *t)
{
    struct kf_kioskd *kd = t->data;

    kf_pipeline_tick(kd->pipe); /* persist reject counters */
    stats_log(kd);
    stats_write_async(kd);
}

/* ---- timers ---- */

static void on_hb_timer(uv_timer_t *t)
{
    struct kf_kioskd *kd = t->data;

    kf_pipeline_expire(kd->pipe, kf_now_ms() - (int64_t)kd->cfg.heartbeat_timeout_s * 1000);
}

/* SLA clocks, graces, heartbeat-caught silence and technicians' queued actions. */
static void on_sla_timer(uv_timer_t *t)
{
    struct kf_kioskd *kd = t->data;

    kf_slasvc_tick(kd->sla);
    kf_pipeline_replays(kd->pipe);  /* quarantined frames asked back, on the same tick */
    kf_reportsvc_tick(kd->reports); /* a look at the clock; a job once a week */
    kf_cmdsvc_tick(kd->cmds);       /* commands due, expired, to send again */
}

/* Fed from the loop, so a stuck loop stops the pings and systemd restarts us. */
static void on_wd_timer(uv_timer_t *t)
{
    (void)t;
    kf_notify("WATCHDOG=1");
}

/* ---- shutdown ---- */

static void on_handle_closed(uv_handle_t *h)
{
    struct kf_kioskd *kd = h->data;

    kd->closing--;
}

static void on_pipeline_closed(void *ud)
{
    struct kf_kioskd *kd = ud;

    kd->pipe = NULL;
    kd->closing--;
}

static void on_link_closed(struct kf_link *l)
{
    struct kf_kioskd *kd = l->ud;

    kd->closing--;
}

static void close_handle(struct kf_kioskd *kd, uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        h->data = kd;
        kd->closing++;
        uv_close(h, on_handle_closed);
    }
}

/* Everything is committed and the link is down: final stats, then close every handle. */
static void finish(struct kf_kioskd *kd)
{
    if (kd->finishing || kd->stats_busy) {
        return; /* a stats write in flight calls us again when done */
    }
    kd->finishing = 1;
    stats_log(kd);
    if (kd->cfg.stats_file[0] != '\0') {
        char *text = stats_json(kd);
        /* Shutting down: nothing else runs on the loop, a blocking write is fine here. */
        int rc = text != NULL ? stats_write(kd->cfg.stats_file, text) : -ENOMEM;
        if (rc != 0) {
            kf_warn("stats: cannot write %s: %s", kd->cfg.stats_file, kf_strerror(rc));
        }
        free(text);
    }
    kd->closing++;
    kf_pipeline_close(kd->pipe, on_pipeline_closed, kd);
    for (int i = 0; i < KF__NSIG; i++) {
        close_handle(kd, (uv_handle_t *)&kd->sig[i]);
    }
    close_handle(kd, (uv_handle_t *)&kd->stats_timer);
    close_handle(kd, (uv_handle_t *)&kd->hb_timer);
    close_handle(kd, (uv_handle_t *)&kd->wd_timer);
    close_handle(kd, (uv_handle_t *)&kd->stop_timer);
    close_handle(kd, (uv_handle_t *)&kd->sla_timer);
}

static void on_drained(void *ud)
{
    struct kf_kioskd *kd = ud;

    kd->drained = 1;
    kf_notice("stopping: every held frame is committed or refused");
    /* No Paho callback can run after this; inbox leftovers (none expected) are freed. */
    kd->closing++;
    kf_link_close(&kd->link, on_link_closed);
    finish(kd);
}

/* The pipeline is done; jobs of other subsystems (the SLA run after the last commit) may
 * still be on the writer, and they publish through the link: wait for them too. */
static void on_pipeline_drained(void *ud)
{
    struct kf_kioskd *kd = ud;

    kf_writer_drain(kd->writer, on_drained, kd);
}

static void after_link_stopped(struct kf_kioskd *kd)
{
    if (kd->link_stopped) {
        return;
    }
    kd->link_stopped = 1;
    uv_timer_stop(&kd->stop_timer);
    kf_pipeline_drain(kd->pipe, on_pipeline_drained, kd);
}

static void on_stop_timer(uv_timer_t *t)
{
    struct kf_kioskd *kd = t->data;

    kf_warn("stopping: MQTT disconnect did not complete; draining anyway");
    after_link_stopped(kd);
}

static void begin_stop(struct kf_kioskd *kd, const char *why)
{
    if (kd->stopping) {
        kf_notice("%s: already stopping", why);
        return;
    }
    kd->stopping = 1;
    kf_cmdsvc_stop(kd->cmds); /* no new dispatch: the link is going */
    kf_notice("%s: stopping (disconnect, finish in-flight work and the last commit)", why);
    kf_notify("STOPPING=1");
    uv_timer_stop(&kd->hb_timer);
    uv_timer_stop(&kd->sla_timer);
    uv_timer_start(&kd->stop_timer, on_stop_timer, KF__STOP_LINK_GRACE_MS, 0);
    kf_link_stop(&kd->link);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct kf_kioskd *kd = s->data;

    if (signum == SIGHUP) {
        kf_notice("SIGHUP: reloading the registry");
        kf_pipeline_reload(kd->pipe, 1);
        return;
    }
    begin_stop(kd, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- link callbacks ---- */

static void on_frames(struct kf_link *l, void *ud)
{
    struct kf_kioskd *kd = ud;

    (void)l;
    if (kd->drained) {
        return; /* closing: kf_link_close frees them */
    }
    kf_pipeline_feed(kd->pipe);
}

static void on_link_up(struct kf_link *l, int first, void *ud)
{
    struct kf_kioskd *kd = ud;

    (void)l;
    (void)kd;
    if (first) {
        kf_notify("READY=1\nSTATUS=subscribed");
        kf_notice("ready: subscribed, serving");
    }
}

static void on_link_stopped(struct kf_link *l, void *ud)
{
    (void)l;
    after_link_stopped(ud);
}

/* ---- public ---- */

/* The webhook sender and the SLA service, restored from the store (main thread, before
 * the loop: the store connection is still ours). Logs once on failure. */
static int sla_new(struct kf_kioskd *kd)
{
    const struct kf_kioskd_config *c = &kd->cfg;
    struct kf_slasvc_opts so;
    char err[512];
    int rc;

    if (c->sla.webhook_url[0] != '\0') {
        struct kf_webhook_opts wo = {c->sla.webhook_url, c->sla.webhook_timeout_ms,
                                     (unsigned)c->sla.webhook_retries,
                                     (size_t)c->sla.webhook_queue_max, 0};
        rc = kf_webhook_new(&wo, &kd->webhook);
        if (rc != 0) {
            kf_err("[sla] webhook_url: %s", kf_strerror(rc));
            return rc;
        }
    }
    memset(&so, 0, sizeof(so));
    so.grace_ms = (int64_t)c->sla.grace_s * 1000;
    so.reopen_ms = (int64_t)c->sla.reopen_window_s * 1000;
    so.settle_ms = (int64_t)c->sla.settle_s * 1000;
    so.calendar_dir = c->sla.calendar_dir;
    so.notify_topic = c->sla.notify_topic;
    so.link = &kd->link;
    so.webhook = kd->webhook;
    so.server_sk = kd->sk;
    err[0] = '\0';
    rc = kf_slasvc_new(kd->store, &so, kf_now_ms(), &kd->sla, err, sizeof(err));
    if (rc != 0) {
        kf_err("%s", err[0] != '\0' ? err : kf_strerror(rc));
        kf_webhook_free(kd->webhook);
        kd->webhook = NULL;
    }
    return rc;
}

int kf_kioskd_new(const struct kf_kioskd_config *cfg, struct kf_kioskd **ret)
{
    struct kf_kioskd *kd;
    char pkhex[65];
    int rc;

    kd = calloc(1, sizeof(*kd));
    if (kd == NULL) {
        kf_err("out of memory");
        return -ENOMEM;
    }
    kd->cfg = *cfg;
    rc = kf_keyfile_read(cfg->key_file, kd->sk);
    if (rc != 0) {
        kf_err("[server] key_file %s: %s", cfg->key_file, kf_strerror(rc));
        goto out_free;
    }
    /* The one writer (KF_STORE_WRITER), of a store that exists: kioskd never creates one,
     * so a mistyped path cannot start an empty server that takes over the broker session
     * and refuses the fleet as unknown. */
    rc = kf_store_open(cfg->store_path, KF_STORE_WRITER | KF_STORE_NOCREATE, &kd->store);
    if (rc == -EBUSY) {
        kf_err("store %s: another kioskd (pid %ld) is serving this store; one kioskd per store",
               cfg->store_path, kf_store_writer_pid(cfg->store_path));
        goto out_free;
    }
    if (rc == -ENOENT) {
        kf_err("store %s: no such store; create it with kiosk-provision init --db %s "
               "--fixtures … --server-key … (docs/OPERATIONS.md)",
               cfg->store_path, cfg->store_path);
        goto out_free;
    }
    if (rc != 0) {
        kf_err("store %s: %s", cfg->store_path, kf_strerror(rc));
        goto out_free;
    }
    rc = kf_store_checkpointer_start(kd->store);
    if (rc != 0) {
        /* Not fatal: the commits checkpoint themselves, as SQLite does by default. */
        kf_warn("store %s: no checkpoint thread (%s): commits will checkpoint", cfg->store_path,
                kf_strerror(rc));
    }
    rc = kf_store_load_registry(kd->store, &kd->reg);
    if (rc != 0) {
        kf_err("store %s: loading the registry: %s", cfg->store_path, kf_strerror(rc));
        goto out_store;
    }
    rc = sla_new(kd);
    if (rc != 0) {
        goto out_registry;
    }
    kf_hex_encode(kd->sk + 32, 32, pkhex, sizeof(pkhex));
    kf_info("server public key %s; %zu device(s) registered", pkhex,
            kf_store_registry_count(kd->reg));
    *ret = kd;
    return 0;

out_registry:
    kf_store_registry_unref(kd->reg);
out_store:
    kf_store_free(kd->store);
out_free:
    sodium_memzero(kd->sk, sizeof(kd->sk));
    free(kd);
    return rc;
}

static int init_handles(struct kf_kioskd *kd)
{
    static const int signums[KF__NSIG] = {SIGTERM, SIGINT, SIGHUP};
    struct kf_pipeline_opts po;
    struct kf_link_opts lo;
    struct kf_link_cbs cbs;
    uint64_t wd_usec = 0;
    int rc;

    lo.uri = kd->cfg.mqtt.uri;
    lo.client_id = kd->cfg.mqtt.client_id;
    lo.username = kd->cfg.mqtt.username;
    lo.password = kd->cfg.mqtt.password;
    lo.ca_file = kd->cfg.mqtt.ca_file;
    lo.keepalive_s = kd->cfg.mqtt.keepalive_s;
    lo.inbox_max = (size_t)kd->cfg.limits.inbox_max;
    lo.inbox_max_bytes = (size_t)kd->cfg.limits.inbox_max_mb << 20;
    cbs.frames_cb = on_frames;
    cbs.up_cb = on_link_up;
    cbs.stopped_cb = on_link_stopped;
    rc = kf_link_init(&kd->link, &kd->loop, &lo, &cbs, kd);
    if (rc != 0) {
        kf_err("mqtt: %s: %s", kd->cfg.mqtt.uri, kf_strerror(rc));
        return rc;
    }
    kd->link_inited = 1;
    memset(&po, 0, sizeof(po));
    po.verify_batch_max = (size_t)kd->cfg.limits.verify_batch_max;
    po.verify_jobs_max = (size_t)kd->cfg.limits.verify_jobs_max;
    po.commit_batch_max = (size_t)kd->cfg.limits.commit_batch_max;
    po.server_sk = kd->sk;
    po.ack_keys_max = (size_t)kd->cfg.limits.ack_keys_max;
    if (kd->cfg.broker.auth_dir[0] != '\0') {
        size_t n = 0;

        kd->sync_argv[n++] = kd->cfg.broker.provision_bin;
        kd->sync_argv[n++] = (char *)"broker-sync";
        kd->sync_argv[n++] = (char *)"--db";
        kd->sync_argv[n++] = kd->cfg.store_path;
        kd->sync_argv[n++] = (char *)"--dir";
        kd->sync_argv[n++] = kd->cfg.broker.auth_dir;
        if (kd->cfg.broker.pid_file[0] != '\0') {
            kd->sync_argv[n++] = (char *)"--pid-file";
            kd->sync_argv[n++] = kd->cfg.broker.pid_file;
        }
        kd->sync_argv[n] = NULL;
        po.broker_sync_argv = kd->sync_argv;
    }
    kf_blobsvc_apply(&kd->cfg.blobs, kd->store); /* before the writer's first job */
    rc = kf_writer_new(&kd->loop, kd->store, &kd->writer);
    if (rc == 0) {
        rc = kf_slasvc_register(kd->sla, kd->writer);
    }
    if (rc == 0) {
        rc = kf_reportsvc_new(&kd->cfg.reports, kd->sk, kd->writer, &kd->reports);
    }
    if (rc == 0) {
        rc = kf_cmdsvc_new(&kd->cfg.commands, kd->sk, kd->writer, &kd->link, &kd->loop, &kd->cmds);
    }
    if (rc != 0) {
        kf_err("writer: %s", kf_strerror(rc));
        return rc;
    }
    rc = kf_pipeline_new(&kd->loop, &kd->link, kd->writer, kd->reg, &po, &kd->pipe);
    if (rc != 0) {
        kf_err("pipeline: %s", kf_strerror(rc));
        return rc;
    }
    kd->reg = NULL; /* owned by the pipeline now */

    for (int i = 0; i < KF__NSIG; i++) {
        uv_signal_init(&kd->loop, &kd->sig[i]);
        kd->sig[i].data = kd;
        uv_signal_start(&kd->sig[i], on_signal, signums[i]);
    }
    uv_timer_init(&kd->loop, &kd->stats_timer);
    uv_timer_init(&kd->loop, &kd->hb_timer);
    uv_timer_init(&kd->loop, &kd->wd_timer);
    uv_timer_init(&kd->loop, &kd->stop_timer);
    uv_timer_init(&kd->loop, &kd->sla_timer);
    kd->stats_timer.data = kd;
    kd->hb_timer.data = kd;
    kd->wd_timer.data = kd;
    kd->stop_timer.data = kd;
    kd->sla_timer.data = kd;
    uv_timer_start(&kd->stats_timer, on_stats_timer, (uint64_t)kd->cfg.stats_interval_s * 1000,
                   (uint64_t)kd->cfg.stats_interval_s * 1000);
    uv_timer_start(&kd->hb_timer, on_hb_timer, KF__HEARTBEAT_EVERY_MS, KF__HEARTBEAT_EVERY_MS);
    uv_timer_start(&kd->sla_timer, on_sla_timer, 0, (uint64_t)kd->cfg.sla.tick_s * 1000);
    if ((wd_usec = kf_notify_watchdog_usec()) >= 2000) {
        uv_timer_start(&kd->wd_timer, on_wd_timer, 0, wd_usec / 2000);
    }
    kd->started = 1;
    return 0;
}

int kf_kioskd_run(struct kf_kioskd *kd)
{
    char n[16];
    int rc;

    /* Verify jobs, the writer's job and the stats writer share libuv's pool: make sure the
     * writer never waits behind verify jobs. Must precede the first uv_queue_work. */
    snprintf(n, sizeof(n), "%d",
             kd->cfg.limits.verify_jobs_max + 2 > 4 ? kd->cfg.limits.verify_jobs_max + 2 : 4);
    setenv("UV_THREADPOOL_SIZE", n, 0);

    rc = uv_loop_init(&kd->loop);
    if (rc != 0) {
        kf_err("uv_loop_init: %s", uv_strerror(rc));
        return rc;
    }
    kd->start_us = kf_mono_us();
    kd->last_tick_us = kd->start_us;
    rc = init_handles(kd);
    if (rc != 0) {
        kd->rc = rc;
        /* Close what exists and let the loop finish closing it. */
        if (kd->pipe != NULL) {
            kd->closing++;
            kf_pipeline_close(kd->pipe, on_pipeline_closed, kd);
        }
        if (kd->link_inited) {
            kd->closing++;
            kf_link_close(&kd->link, on_link_closed);
        }
        uv_run(&kd->loop, UV_RUN_DEFAULT);
        uv_loop_close(&kd->loop);
        return rc;
    }
    kf_link_start(&kd->link);
    uv_run(&kd->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&kd->loop);
    if (rc != 0) {
        kf_err("uv_loop_close: %s (a handle was left open)", uv_strerror(rc));
        return rc;
    }
    kf_notice("stopped");
    return kd->rc;
}

void kf_kioskd_free(struct kf_kioskd *kd)
{
    if (kd == NULL) {
        return;
    }
    kf_store_registry_unref(kd->reg);
    kf_writer_free(kd->writer); /* the loop has run out: no job is in flight */
    kf_slasvc_free(kd->sla);
    kf_reportsvc_free(kd->reports);
    kf_cmdsvc_free(kd->cmds);
    kf_store_free(kd->store);
    kf_webhook_free(kd->webhook);
    sodium_memzero(kd->sk, sizeof(kd->sk));
    sodium_memzero(kd->cfg.mqtt.password, sizeof(kd->cfg.mqtt.password));
    free(kd);
}
