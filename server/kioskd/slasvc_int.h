/* slasvc_int.h: what slasvc.c (the service: loading, its writer job, the loop's half) and
 * slasvc_run.c (one run of the engine, on the writer's thread) share. Nothing else
 * includes it.
 *
 * struct kf_slasvc has two halves: the work half belongs to the thread running the SLA job
 * (the writer's; the main thread before the writer exists), the loop half to the loop. A
 * run's announcements and counters cross over in the job's after callback (the writer
 * orders the two).
 */
#ifndef KF_KIOSKD_SLASVC_INT_H
#define KF_KIOSKD_SLASVC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kioskd/slasvc.h"
#include "rules/replay.h"
#include "rules/sla.h"

#define KF__SLASVC_RUN_MIN_US                                                                      \
    1000000LL /* after commits, at most one run a second (ticks aside)                             \
               */

struct kf__notice {
    struct kf__notice *next;
    int breach;
    char *log;  /* one line */
    char *json; /* the payload published and posted */
};

struct kf__ev {
    struct kf_inc_event ev;
    int64_t action;
    struct kf__notice *notice;
};

struct kf__wstats {
    uint64_t runs, facts, facts_skipped, actions_done, actions_refused, events, notices;
    uint64_t persist_failures, rebuilds;
};

struct kf_slasvc {
    /* fixed after _new */
    int64_t grace_ms, reopen_ms, settle_ms;
    char *topic;
    struct kf_link *link;
    struct kf_webhook *webhook;
    struct kf_holidays *hol;
    uint8_t sk[64]; /* the server key: each run is sealed into the signed log */

    /* work half: the writer's thread (slasvc_run.c) */
    struct kf_sla_engine *e;
    struct kf_sla_terminal *terms; /* sorted by asset id */
    size_t n_terms, cap_terms;
    struct kf_sla_window_row *wins;
    size_t n_wins;
    int64_t fact_id, tick_ms, windows_rev;
    uint64_t facts_seen;
    int64_t last_run_us;
    int broken, more;
    int64_t cur_action;
    struct kf__ev *evs; /* this run's events, in order */
    size_t n_evs, cap_evs;
    struct kf_incident *snaps; /* the incident after each event */
    size_t n_snaps, cap_snaps;
    char (*dirty)[KF_TERMINAL_ID_MAX + 1]; /* terminals fed a fact this run */
    size_t n_dirty, cap_dirty;
    /* this run's seal (docs/SLA.md 12): the facts fed, where each action went among them */
    struct kf_run_terms *rt; /* the run's terminals and their facts' digests */
    int64_t run_from;        /* the cursor before the run */
    size_t run_facts;
    size_t *act_after;   /* per action of the run: facts fed before it */
    size_t *act_after_t; /* per action: facts of its incident's terminal fed before it */
    /* per action: its incident's terminal, taken before the action is applied (a close
     * takes the incident out of the engine, and the seal must still name it) */
    char (*act_term)[KF_TERMINAL_ID_MAX + 1];
    size_t cap_after;
    int seal_windows;       /* the engine (re)loaded its windows: the next seal lists them */
    struct kf__notice *out; /* handed to the loop */
    char out_err[320];
    struct kf__wstats w;

    /* loop half */
    struct kf__wstats l;
    uint64_t mqtt_sent, mqtt_failed, webhook_refused;
    struct kf_writer *writer; /* borrowed (kf_slasvc_register) */
    struct kf_writer_job job; /* the run: at most one in flight */
    int job_busy, job_tick;   /* job_tick: read by the job's work */
    int want_run, want_tick;  /* asked for while busy, or not yet submitted */
    int64_t ran_us;           /* last_run_us as of the last job's end */
};

/* Free a list of announcements. NULL is a no-op. */
void kf__slasvc_notices_free(struct kf__notice *n);
/* (Re)build the engine from the store. The work half's thread. 0 or -errno, err set. */
int kf__slasvc_load(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms, char *err,
                    size_t cap);
/* The SLA job's work: run the engine when tick, a backlog, or new facts (at most once per
 * KF__SLASVC_RUN_MIN_US) ask for it. Writer thread. */
void kf__slasvc_work(struct kf_slasvc *s, struct kf_store *st, int tick);

#endif
