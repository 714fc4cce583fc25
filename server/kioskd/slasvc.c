/* slasvc.c: kioskd's SLA service (slasvc.h): the calendars, the engine restored at start,
 * the SLA job on the writer (one in flight, asked by commits and ticks) and the loop's half
 * (announcements, counters). The run itself is slasvc_run.c.
 */
#define _GNU_SOURCE
#include "kioskd/slasvc_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/envelope.h>
#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "store/sla.h"

#define CALENDAR_FILE_MAX (1u << 20) /* one year's holidays take a few KiB */

/* ---- Calendars ---------------------------------------------------------------------------- */

static int calendars(struct kf_slasvc *s, struct kf_store *st, const char *dir, int64_t now_ms,
                     char *err, size_t cap)
{
    char why[128];
    int r;

    s->hol = kf_holidays_new();
    if (s->hol == NULL)
        return -ENOMEM;
    if (dir != NULL && dir[0] != '\0') {
        r = kf_store_sla_calendar_dir(st, s->hol, dir, now_ms, err, cap);
        if (r < 0)
            return r;
    }
    r = kf_store_sla_calendars_load(st, s->hol, err, cap);
    if (r < 0)
        return r;
    if (kf_holidays_require(s->hol, now_ms, now_ms + 1, why, sizeof(why)) < 0) {
        /* Ingest must not stop on New Year's Day because this year's file is not installed
         * yet (or not published): say so loudly; reports for the year refuse until it is. */
        if (dir != NULL && dir[0] != '\0') {
            kf_err("[sla] calendar_dir %s: %s: add cn-YYYY.ini for this year (docs/SLA.md 2.2); "
                   "until then holidays and make-up days are not applied and monthly reports "
                   "refuse this year",
                   dir, why);
            return 0;
        }
        kf_warn("sla: NO HOLIDAY CALENDAR for this year (%s; no [sla] calendar_dir): public "
                "holidays and make-up working days are not applied, every day keeps its "
                "weekday hours, and monthly reports refuse this year",
                why);
    } else if (kf_holidays_require(s->hol, now_ms, now_ms + 31LL * 86400 * 1000, why, sizeof(why)) <
               0) {
        kf_warn("sla: %s yet: add next year's file to the calendar directory before New Year", why);
    }
    return 0;
}

static int is_ini(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".ini") == 0;
}

/* A calendar file, read here (the rules library does no I/O) and parsed by the rules. The
 * errors are those the calendar loader gave for files: -ENOENT (cannot open or read),
 * -EFBIG (past CALENDAR_FILE_MAX), -EINVAL (a NUL byte, or what the parser refuses). */
static int load_file(struct kf_holidays *h, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "re");
    char *buf;
    size_t n;
    int rc;

    if (f == NULL) {
        snprintf(err, cap, "%s: cannot open (%s)", path, strerror(errno));
        return -ENOENT;
    }
    buf = malloc(CALENDAR_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    n = fread(buf, 1, CALENDAR_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, cap, "%s: cannot read", path);
        rc = -ENOENT;
    } else if (n > CALENDAR_FILE_MAX) {
        snprintf(err, cap, "%s: larger than %u bytes", path, CALENDAR_FILE_MAX);
        rc = -EFBIG;
    } else if (memchr(buf, '\0', n) != NULL) {
        snprintf(err, cap, "%s: not a text file (a NUL byte)", path);
        rc = -EINVAL;
    } else {
        buf[n] = '\0';
        rc = kf_holidays_load_string(h, buf, path, err, cap);
    }
    fclose(f);
    free(buf);
    return rc;
}

int kf_slasvc_check_calendars(const char *dir, int64_t now_ms, char *err, size_t cap)
{
    struct kf_holidays *h = kf_holidays_new();
    struct dirent **names = NULL;
    char why[128];
    int n, r = 0;

    if (h == NULL)
        return -ENOMEM;
    n = scandir(dir, &names, is_ini, alphasort);
    if (n < 0) {
        snprintf(err, cap, "[sla] calendar_dir %s: %s", dir, strerror(errno));
        kf_holidays_free(h);
        return -ENOENT;
    }
    for (int i = 0; i < n; i++) {
        char path[1024];

        if (r == 0 &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < sizeof(path))
            r = load_file(h, path, err, cap);
        free(names[i]);
    }
    free(names);
    if (r == 0 && kf_holidays_require(h, now_ms, now_ms + 1, why, sizeof(why)) < 0) {
        snprintf(err, cap, "[sla] calendar_dir %s: %s", dir, why);
        r = 1; /* the files are fine; this year's is missing */
    }
    kf_holidays_free(h);
    return r;
}

/* ---- The loop's half --------------------------------------------------------------------- */

/* Loop: make the announcements of the run that just ended. */
static void announce(struct kf_slasvc *s)
{
    struct kf__notice *list = s->out;

    s->out = NULL;
    s->l = s->w;
    if (s->out_err[0] != '\0') {
        kf_err("%s", s->out_err);
        s->out_err[0] = '\0';
    }
    for (struct kf__notice *n = list; n != NULL; n = n->next) {
        if (n->breach)
            kf_warn("%s", n->log);
        else
            kf_notice("%s", n->log);
        if (s->topic != NULL) {
            if (kf_link_publish(s->link, s->topic, n->json, strlen(n->json), 1) == 0)
                s->mqtt_sent++;
            else
                s->mqtt_failed++;
        }
        if (s->webhook != NULL && kf_webhook_post(s->webhook, n->json, strlen(n->json)) < 0)
            s->webhook_refused++;
    }
    kf__slasvc_notices_free(list);
}

/* ---- The SLA job on the writer ------------------------------------------------------------ */

static void sla_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct kf_slasvc *s = KF_WRITER_JOB_OF(job, struct kf_slasvc, job);

    kf__slasvc_work(s, st, s->job_tick);
}

static void submit(struct kf_slasvc *s);

static void sla_after(struct kf_writer_job *job, int status)
{
    struct kf_slasvc *s = KF_WRITER_JOB_OF(job, struct kf_slasvc, job);

    (void)status; /* never ran: nothing to announce; the next commit or tick runs it */
    s->job_busy = 0;
    s->ran_us = s->last_run_us;
    announce(s);
    submit(s);
}

/* One job at a time. A run asked by a commit within KF__SLASVC_RUN_MIN_US of the last one
 * would return at once (kf__slasvc_work checks the same): not submitted at all; its facts
 * wait for the next commit or tick. */
static void submit(struct kf_slasvc *s)
{
    if (s->writer == NULL || s->job_busy) {
        return;
    }
    if (!s->want_tick) {
        if (!s->want_run) {
            return;
        }
        if (kf_mono_us() - s->ran_us < KF__SLASVC_RUN_MIN_US) {
            s->want_run = 0;
            return;
        }
    }
    s->job_tick = s->want_tick;
    if (kf_writer_submit(s->writer, &s->job, sla_work, sla_after) != 0) {
        return; /* the wish stays: the next commit or tick */
    }
    s->want_tick = 0;
    s->want_run = 0;
    s->job_busy = 1;
}

/* A commit or an expiry stored facts: run the engine on them. */
static void on_commit(void *ud, const struct kf_writer_commit *c)
{
    struct kf_slasvc *s = ud;

    (void)c;
    s->want_run = 1;
    submit(s);
}

int kf_slasvc_register(struct kf_slasvc *s, struct kf_writer *w)
{
    int rc = kf_writer_on_commit(w, on_commit, s);

    if (rc == 0) {
        s->writer = w;
    }
    return rc;
}

void kf_slasvc_tick(struct kf_slasvc *s)
{
    s->want_tick = 1;
    submit(s);
}

json_t *kf_slasvc_stats_json(struct kf_slasvc *s)
{
    struct kf_webhook_counters wc;

    memset(&wc, 0, sizeof(wc));
    if (s->webhook != NULL)
        kf_webhook_counters(s->webhook, &wc);
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "runs",
        (json_int_t)s->l.runs, "facts", (json_int_t)s->l.facts, "facts_skipped",
        (json_int_t)s->l.facts_skipped, "actions_done", (json_int_t)s->l.actions_done,
        "actions_refused", (json_int_t)s->l.actions_refused, "events", (json_int_t)s->l.events,
        "notices", (json_int_t)s->l.notices, "persist_failures", (json_int_t)s->l.persist_failures,
        "mqtt_sent", (json_int_t)s->mqtt_sent, "mqtt_failed", (json_int_t)s->mqtt_failed,
        "webhook_delivered", (json_int_t)wc.delivered, "webhook_given_up", (json_int_t)wc.given_up,
        "webhook_dropped", (json_int_t)(wc.dropped + s->webhook_refused), "webhook_queued",
        (json_int_t)wc.queued);
}

/* ---- Public ----------------------------------------------------------------------------- */

int kf_slasvc_new(struct kf_store *st, const struct kf_slasvc_opts *o, int64_t now_ms,
                  struct kf_slasvc **ret, char *err, size_t cap)
{
    struct kf_slasvc *s = calloc(1, sizeof(*s));
    int r;

    if (s == NULL)
        return -ENOMEM;
    s->grace_ms = o->grace_ms;
    s->reopen_ms = o->reopen_ms;
    s->settle_ms = o->settle_ms;
    s->link = o->link;
    s->webhook = o->webhook;
    if (o->server_sk == NULL) {
        snprintf(err, cap, "sla: no server key to seal the engine's runs with");
        r = -EINVAL;
        goto out_free;
    }
    memcpy(s->sk, o->server_sk, sizeof(s->sk));
    r = kf_run_terms_new(&s->rt);
    if (r < 0)
        goto out_free;
    if (o->notify_topic != NULL && o->notify_topic[0] != '\0' &&
        (s->topic = strdup(o->notify_topic)) == NULL) {
        r = -ENOMEM;
        goto out_free;
    }
    r = calendars(s, st, o->calendar_dir, now_ms, err, cap);
    if (r == 0)
        r = kf__slasvc_load(s, st, now_ms, err, cap);
    if (r < 0)
        goto out_free;
    s->facts_seen = kf_store_sla_facts_written(st);
    s->more = 1; /* the first run catches up with facts committed while kioskd was down */
    {
        char at[40];

        kf_info("sla: %zu terminal(s); facts fed up to #%lld; engine last ticked at %s", s->n_terms,
                (long long)s->fact_id,
                s->tick_ms ? kf_ms_format(s->tick_ms, at, sizeof(at)) : "never");
    }
    *ret = s;
    return 0;

out_free:
    kf_slasvc_free(s);
    return r;
}

void kf_slasvc_free(struct kf_slasvc *s)
{
    if (s == NULL)
        return;
    kf_sla_free(s->e);
    kf_holidays_free(s->hol);
    kf__slasvc_notices_free(s->out);
    free(s->terms);
    free(s->wins);
    free(s->evs);
    free(s->snaps);
    free(s->dirty);
    free(s->topic);
    free(s->act_after);
    free(s->act_after_t);
    free(s->act_term);
    kf_run_terms_free(s->rt);
    sodium_memzero(s->sk, sizeof(s->sk));
    free(s);
}

/* ---- [sla] ---- */

static const struct kf_conf_key sla_keys[] = {
    KF_CONF_KEY_STR("calendar_dir", struct kf_slasvc_config, calendar_dir, NULL, 0),
    KF_CONF_KEY_INT("grace_s", struct kf_slasvc_config, grace_s, 0, 86400, "120", 0),
    KF_CONF_KEY_INT("reopen_window_s", struct kf_slasvc_config, reopen_window_s, 0, 2592000,
                    "86400", 0),
    KF_CONF_KEY_INT("tick_s", struct kf_slasvc_config, tick_s, 1, 60, "5", 0),
    KF_CONF_KEY_INT("settle_s", struct kf_slasvc_config, settle_s, 0, 60, "5", 0),
    KF_CONF_KEY_STR("notify_topic", struct kf_slasvc_config, notify_topic, "kf/v1/_notify/sla", 0),
    KF_CONF_KEY_STR("webhook_url", struct kf_slasvc_config, webhook_url, NULL, 0),
    KF_CONF_KEY_INT("webhook_timeout_ms", struct kf_slasvc_config, webhook_timeout_ms, 100, 60000,
                    "5000", 0),
    KF_CONF_KEY_INT("webhook_retries", struct kf_slasvc_config, webhook_retries, 0, 10, "3", 0),
    KF_CONF_KEY_INT("webhook_queue_max", struct kf_slasvc_config, webhook_queue_max, 1, 100000,
                    "1000", 0),
};

static int sla_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    const struct kf_slasvc_config *cfg = s->base;
    const char *t = cfg->notify_topic, *u = cfg->webhook_url;
    char dev[KF_DEVICE_ID_MAX + 1];
    enum kf_topic_kind kind;

    /* A topic to publish on: no wildcards, not a broker ($SYS) topic, and not one of the
     * device topics kioskd itself reads (it would receive its own announcements). */
    if (t[0] == '$' || strpbrk(t, "+#") != NULL ||
        kf_topic_parse(t, dev, sizeof(dev), &kind) == 0) {
        kf_conf_fail(c, kf_conf_line(c, "sla", "notify_topic"),
                     "[sla] notify_topic: \"%.200s\" is not a topic to announce on", t);
        return -EINVAL;
    }
    if (u[0] != '\0' && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
        kf_conf_fail(c, kf_conf_line(c, "sla", "webhook_url"),
                     "[sla] webhook_url: must start with http:// or https://");
        return -EINVAL;
    }
    return 0;
}

void kf_slasvc_config_section(struct kf_slasvc_config *cfg, struct kf_conf_section *ret)
{
    *ret = (struct kf_conf_section){"sla", sla_keys, sizeof(sla_keys) / sizeof(sla_keys[0]), cfg,
                                    sla_check};
}
