/* slasvc.h: kioskd's SLA service. The pure engine (rules/sla.h) wired to the store and the
 * network:
 *
 *   writer (the SLA job, slasvc_run.c; asked after a commit or an expiry that stored facts,
 *   at most once a second, through kf_writer_on_commit, and on every kf_slasvc_tick): read
 *   the facts committed since the cursor and feed them to the engine; apply the
 *   technicians' actions kioskctl queued (sla_actions); tick the engine to now (graces,
 *   breaches); persist everything it decided in one transaction (incidents, events,
 *   announcements, terminal states, the cursor, action outcomes);
 *   loop (the job's after callback): make the announcements of that run: a log line, an
 *   MQTT message on notify_topic (QoS 1, not retained) and a webhook POST of the same JSON.
 *
 * kioskd is the only process that runs an engine. If persisting a run fails, the engine is
 * thrown away and rebuilt from the store before the next run (the cursor did not move, the
 * actions are still pending), so memory never runs ahead of the database; nothing of that
 * run is announced. An announcement is made once: after a restart the restored incidents
 * carry what was already announced (docs/SLA.md section 10, docs/KIOSKD.md).
 *
 * Threads: kf_slasvc_new and kf_slasvc_check_calendars on the main thread before the loop
 * runs; the job's work on the writer's thread; everything else on the loop thread.
 */
#ifndef KF_KIOSKD_SLASVC_H
#define KF_KIOSKD_SLASVC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <kf/conf.h>

#include "kioskd/link.h"
#include "kioskd/webhook.h"
#include "kioskd/writer.h"
#include "store/store.h"

/* [sla] in kioskd's configuration (docs/KIOSKD.md, docs/SLA.md): the service's own section,
 * the webhook's keys included. */
struct kf_slasvc_config {
    char calendar_dir[512]; /* optional: the yearly cn-YYYY.ini files */
    int grace_s;            /* 120, 0..86400 */
    int reopen_window_s;    /* 86400, 0..2592000 */
    int tick_s;             /* 5, 1..60 */
    int settle_s;           /* 5, 0..60: the engine ticks to now minus this */
    char notify_topic[256]; /* kf/v1/_notify/sla; "" none */
    char webhook_url[512];  /* optional: http(s)://... */
    int webhook_timeout_ms; /* 5000, 100..60000 */
    int webhook_retries;    /* 3, 0..10 */
    int webhook_queue_max;  /* 1000, 1..100000 */
};

/* The [sla] section over cfg (borrowed for the load; kf/conf.h). Any thread. */
void kf_slasvc_config_section(struct kf_slasvc_config *cfg, struct kf_conf_section *ret);

struct kf_slasvc_opts {
    int64_t grace_ms;           /* an offline condition's grace (docs/SLA.md 5.1) */
    int64_t reopen_ms;          /* the reopen window */
    int64_t settle_ms;          /* ticks go to now minus this (docs/SLA.md 10.2) */
    const char *calendar_dir;   /* the yearly cn-YYYY.ini files; NULL or "": none */
    const char *notify_topic;   /* NULL or "": no MQTT announcements; copied */
    struct kf_link *link;       /* borrowed: announcements are published from the loop */
    struct kf_webhook *webhook; /* borrowed; NULL: none */
    const uint8_t *server_sk;   /* 64 bytes, copied: seals each run into the signed log */
};

struct kf_slasvc;

/* Load the calendars (every *.ini of calendar_dir, strictly; the texts are stored in
 * sla_calendars, and years stored earlier are loaded from there), then restore the engine
 * from the store: terminals, windows, incidents not closed (or within their reopen window),
 * terminal states, the cursor. A configured calendar_dir without the current local year is
 * an error (-ENOENT); no calendar_dir at all is allowed and warned about. Borrows st (used
 * here only). 0 or -errno with a message in err (cap bytes). */
int kf_slasvc_new(struct kf_store *st, const struct kf_slasvc_opts *o, int64_t now_ms,
                  struct kf_slasvc **ret, char *err, size_t cap);
/* kioskd --check: load every *.ini of dir as kf_slasvc_new would (strictly) and look for
 * the current local year. 0; 1 when the files are fine but this year's is missing (err
 * says so; kioskd starts anyway); or -errno with a message in err. Touches no database. */
int kf_slasvc_check_calendars(const char *dir, int64_t now_ms, char *err, size_t cap);
/* Hear of the writer's commits (kf_writer_on_commit) and run the SLA job on w, which s
 * borrows from now on: w must stay until s is freed, and be drained before. 0 or -errno. */
int kf_slasvc_register(struct kf_slasvc *s, struct kf_writer *w);
/* The engine's timer (tick_s): a run with tick = 1 as soon as the SLA job is free. */
void kf_slasvc_tick(struct kf_slasvc *s);
/* Counters as a JSON object (returns owned). Loop thread. */
json_t *kf_slasvc_stats_json(struct kf_slasvc *s);
/* Once no SLA job is in flight (the writer drained). NULL is a no-op. */
void kf_slasvc_free(struct kf_slasvc *s);

#endif
