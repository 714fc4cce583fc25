/* rules/sla_int.h: inside the SLA engine only (sla.c, sla_queue.c): the engine's state and
 * the lookups its files share. */
#ifndef KF_RULES_SLA_INT_H
#define KF_RULES_SLA_INT_H

#include "rules/sla.h"

#define KF_CONDS_MAX (1 + KF_OPEN_FAULTS_MAX)

struct kf_cond {
    char cause[KF_CAUSE_MAX + 1];
    uint8_t periph, sev, src;
    uint8_t detached; /* its incident was resolved by hand while it went on */
    /* A fault raised by a fact dated before the engine's clock for its terminal (a backlog
     * sent on reconnect: clamped to the clock). It waits the grace, in wall time from that
     * instant, for the rest of the backlog: a fault raised and cleared while the terminal
     * was away makes no incident. */
    uint8_t late;
    int64_t since_ms, due_ms;
    int64_t inc; /* the incident it opened or reopened; 0 while within its grace */
};

struct kf_sla_term {
    char id[KF_TERMINAL_ID_MAX + 1];
    struct kf_week week;
    struct kf_sla_terms terms;
    struct kf_window *win;
    size_t n_win;
    struct kf_devstate st;
    int64_t clock_ms; /* newest fact or qualification: later facts are not taken before it */
    uint32_t n_cond;
    struct kf_cond cond[KF_CONDS_MAX];
};

struct kf_sla_engine {
    struct kf_sla_config cfg;
    const struct kf_holidays *hol;
    kf_sla_event_cb cb;
    void *ud;
    struct kf_sla_term **terms; /* sorted by id */
    size_t n_terms, cap_terms;
    struct kf_incident **incs; /* sorted by id */
    size_t n_incs, cap_incs;
};

/* The terminal with this id; the incident with this id; the newest incident of a terminal
 * and cause; a terminal's service calendar (its week, the holidays, its windows). */
struct kf_sla_term *kf__sla_term_find(const struct kf_sla_engine *e, const char *id);
struct kf_incident *kf__sla_inc_find(const struct kf_sla_engine *e, int64_t id);
struct kf_incident *kf__sla_inc_latest(const struct kf_sla_engine *e, const char *term,
                                       const char *cause);
void kf__sla_term_cal(const struct kf_sla_engine *e, const struct kf_sla_term *t,
                      struct kf_cal *cal);

#endif
