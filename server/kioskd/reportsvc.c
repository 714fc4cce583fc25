/* reportsvc.c: the weekly report issued by kioskd (reportsvc.h). */
#include "kioskd/reportsvc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

#include "rules/week.h"
#include "store/reports_docs.h"
#include "views/rdoc.h"
#include "views/week.h"

struct kf_reportsvc {
    struct kf_reportsvc_config cfg;
    uint8_t sk[64];
    struct kf_writer *w;
    int64_t started_ms; /* when kioskd started: nothing is issued before it settled */
    int busy;
    char done[16];   /* the last week found issued: no job for it again */
    uint64_t issued; /* weeks this process issued */
    uint64_t failed; /* jobs that failed */
    char last[16];   /* the last week issued here */
};

struct week_job {
    struct kf_writer_job job;
    struct kf_reportsvc *r;
    int year, week;
    char period[16];
    int64_t now_ms;
    int rc, issued;
    char err[512];
};

static void week_work(struct kf_writer_job *job, struct kf_store *st)
{
    struct week_job *j = KF_WRITER_JOB_OF(job, struct week_job, job);
    struct kf_view_week_opts o = {0};
    int64_t from, to;
    int32_t latest = 0, v = 0;
    char *json = NULL;
    size_t len = 0;

    j->rc = kf_store_rdoc_latest(st, "week", j->period, &latest);
    if (j->rc < 0) {
        snprintf(j->err, sizeof(j->err), "%s", kf_store_errmsg(st));
        return;
    }
    if (latest > 0)
        return; /* issued already (kioskctl, or this service before a restart) */
    kf_week_range(j->year, j->week, &from, &to);
    /* Availability to the week's end, the incidents as the engine had them when it is frozen
     * (both written in the document, which a recompute reads back). */
    (void)from;
    o.as_of_ms = to;
    o.cut_ms = j->now_ms;
    j->rc = kf_view_week_json(st, j->year, j->week, &o, &json, &len, j->err, sizeof(j->err));
    if (j->rc < 0)
        return;
    j->rc = kf_store_begin(st);
    if (j->rc == 0) {
        j->rc = kf_view_rdoc_freeze(st, j->r->sk, "week", j->period, json, len, j->now_ms, "kioskd",
                                    NULL, &v, j->err, sizeof(j->err));
        int e = kf_store_end(st, j->rc == 0);
        j->rc = j->rc < 0 ? j->rc : e;
    } else {
        snprintf(j->err, sizeof(j->err), "%s", kf_store_errmsg(st));
    }
    j->issued = j->rc == 0;
    free(json);
}

static void week_after(struct kf_writer_job *job, int status)
{
    struct week_job *j = KF_WRITER_JOB_OF(job, struct week_job, job);
    struct kf_reportsvc *r = j->r;

    r->busy = 0;
    if (status == 0 && j->rc == 0) {
        snprintf(r->done, sizeof(r->done), "%s", j->period);
        if (j->issued) {
            r->issued++;
            snprintf(r->last, sizeof(r->last), "%s", j->period);
            kf_notice("reports: the weekly report %s is issued (kioskctl report week %s)",
                      j->period, j->period);
        }
    } else {
        r->failed++;
        kf_err("reports: the weekly report %s: %s", j->period,
               j->err[0] ? j->err : kf_strerror(status != 0 ? status : j->rc));
    }
    free(j);
}

void kf_reportsvc_tick(struct kf_reportsvc *r)
{
    struct week_job *j;
    int y, w;
    int64_t now = kf_now_ms(), delay;

    if (r == NULL || !r->cfg.weekly || r->busy ||
        now - r->started_ms < (int64_t)r->cfg.weekly_settle_min * 60 * 1000)
        return;
    delay = (int64_t)r->cfg.weekly_after_h * 3600 * 1000;
    kf_week_last_closed(now, delay, &y, &w);
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    snprintf(j->period, sizeof(j->period), "%04d-W%02d", y, w);
    if (strcmp(j->period, r->done) == 0) {
        free(j);
        return;
    }
    j->r = r;
    j->year = y;
    j->week = w;
    j->now_ms = now;
    if (kf_writer_submit(r->w, &j->job, week_work, week_after) != 0) {
        free(j);
        return;
    }
    r->busy = 1;
}

int kf_reportsvc_new(const struct kf_reportsvc_config *cfg, const uint8_t *sk, struct kf_writer *w,
                     struct kf_reportsvc **ret)
{
    struct kf_reportsvc *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return -ENOMEM;
    r->cfg = *cfg;
    r->started_ms = kf_now_ms();
    memcpy(r->sk, sk, sizeof(r->sk));
    r->w = w;
    *ret = r;
    return 0;
}

json_t *kf_reportsvc_stats_json(struct kf_reportsvc *r)
{
    return json_pack("{s:b, s:I, s:I, s:s}", "weekly", r && r->cfg.weekly, "issued",
                     (json_int_t)(r ? r->issued : 0), "failed", (json_int_t)(r ? r->failed : 0),
                     "last", r && r->last[0] ? r->last : "");
}

void kf_reportsvc_free(struct kf_reportsvc *r)
{
    if (r == NULL)
        return;
    sodium_memzero(r->sk, sizeof(r->sk));
    free(r);
}

/* ---- [reports] ---- */

static const struct kf_conf_key reports_keys[] = {
    KF_CONF_KEY_INT("weekly", struct kf_reportsvc_config, weekly, 0, 1, "1", 0),
    KF_CONF_KEY_INT("weekly_after_h", struct kf_reportsvc_config, weekly_after_h, 0, 168, "9", 0),
    KF_CONF_KEY_INT("weekly_settle_min", struct kf_reportsvc_config, weekly_settle_min, 0, 1440,
                    "15", 0),
};

void kf_reportsvc_config_section(struct kf_reportsvc_config *cfg, struct kf_conf_section *ret)
{
    *ret = (struct kf_conf_section){"reports", reports_keys,
                                    sizeof(reports_keys) / sizeof(reports_keys[0]), cfg, NULL};
}
