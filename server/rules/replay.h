/* replay.h: the SLA engine's runs, sealed and replayed (docs/SLA.md 12).
 *
 * kioskd's engine is fed in runs: the facts committed since the last run (in commit order),
 * the technicians' actions queued meanwhile (each at a place among those facts), sometimes
 * a new set of planned windows, then a tick to now. Each run that fed or decided anything
 * is sealed into the signed log (store/audit_log.h) with a digest of its facts, its actions
 * in full, its windows and its tick. Incidents and their events are derived state: feeding
 * the same runs to a fresh engine gives back every incident and every event, byte for
 * byte, because the engine is pure and its results depend only on the order of its inputs
 * and their instants (the tick instants included: a tick can open an incident, and a fact
 * dated before it is then taken at the opening, docs/SLA.md 3.1).
 *
 * So `kioskctl verify` (views/sla_verify.c) and a bank's own checker recompute incidents
 * from evidence alone and compare: an incident edited in the database, an event deleted,
 * an action rewritten is a difference. This file holds what both sides share: the digest
 * of a run's facts and the replay itself.
 *
 * Pure (no I/O). One replay = one thread.
 */
#ifndef KF_RULES_REPLAY_H
#define KF_RULES_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "rules/sla.h"

/* ---- The digest of a run's facts --------------------------------------------------------- */

/* BLAKE2b-256 over ("kioskfleet/sla-facts/v1", then per fact in order: its id, terminal,
 * device, receipt instant and every field of struct kf_fact but `late`, each length-prefixed
 * or big-endian). Opaque state, sized and aligned for libsodium's generichash state. */
struct kf_facts_digest {
    _Alignas(64) unsigned char state[384];
};
void kf_facts_digest_init(struct kf_facts_digest *d);
void kf_facts_digest_add(struct kf_facts_digest *d, int64_t id, const char *terminal,
                         const char *device, int64_t recv_ms, const struct kf_fact *f);
/* out: 64 lowercase hex digits and a NUL. */
void kf_facts_digest_hex(struct kf_facts_digest *d, char out[65]);

/* ---- The terminals of a run (seal v2) ----------------------------------------------------
 * A seal lists every terminal the run fed a fact to or decided something for, each with
 * the number of its facts in the run and their digest (kf_facts_digest over that terminal's
 * facts alone, in id order; the empty digest for none). A bank checks its own terminals'
 * facts against the seal without the other banks' facts, and replays its terminals alone,
 * ticking them only at the runs that list them (a tick that decides nothing for a terminal
 * changes nothing for it). */
struct kf_run_term {
    char terminal[KF_TERMINAL_ID_MAX + 1];
    uint64_t n;
    char hex[65];
};
struct kf_run_terms;
int kf_run_terms_new(struct kf_run_terms **ret); /* 0, -ENOMEM */
void kf_run_terms_free(struct kf_run_terms *rt);
void kf_run_terms_reset(struct kf_run_terms *rt);
/* Add a fact to its terminal's digest; touch lists a terminal without a fact. 0, -ENOMEM,
 * -EINVAL (an id too long). */
int kf_run_terms_fact(struct kf_run_terms *rt, int64_t id, const char *terminal, const char *device,
                      int64_t recv_ms, const struct kf_fact *f);
int kf_run_terms_touch(struct kf_run_terms *rt, const char *terminal);
/* How many facts of terminal were added so far (0 if none or unknown). */
uint64_t kf_run_terms_count(const struct kf_run_terms *rt, const char *terminal);
/* The terminals, sorted by id, digests final (the table is reset). *ret owned (free).
 * 0, -ENOMEM. */
int kf_run_terms_take(struct kf_run_terms *rt, struct kf_run_term **ret, size_t *ret_n);

/* ---- The replay ------------------------------------------------------------------------- */

struct kf_replay_fact {
    const char *terminal;
    struct kf_fact fact;
};

struct kf_replay_action {
    size_t after;           /* how many of the run's facts were fed before it */
    struct kf_inc_event ev; /* the action as kf_sla_act took it (at_ms: its effective time) */
    int refused;            /* what the live engine answered: 0 done, 1 refused */
};

struct kf_replay_run {
    const struct kf_replay_fact *facts;
    size_t n_facts;
    const struct kf_replay_action *acts;
    size_t n_acts;
    int64_t tick_ms;
};

/* An incident as the replay left it, and its events in order (owned by the replay). */
struct kf_replay_incident {
    struct kf_incident inc;
    struct kf_inc_event *evs;
    size_t n_evs;
};

struct kf_replay;

/* A fresh engine with cfg (next_id: where the live engine started, 1 for a new store).
 * hol borrowed. 0, -EINVAL, -ENOMEM. */
int kf_replay_new(const struct kf_sla_config *cfg, const struct kf_holidays *hol,
                  struct kf_replay **ret);
void kf_replay_free(struct kf_replay *r);
/* The engine inside, to register terminals and set windows (kf_sla_terminal_set,
 * kf_sla_windows_set) as the live engine had them at that point. */
struct kf_sla_engine *kf_replay_engine(struct kf_replay *r);

/* Feed one run as kioskd did. Facts for unknown terminals are skipped as live. An action
 * whose outcome differs from the live one's (done here and refused live, or the reverse)
 * is counted in *ret_mismatch (may be NULL). 0, -ENOSPC, -ENOMEM. */
int kf_replay_run(struct kf_replay *r, const struct kf_replay_run *run, size_t *ret_mismatch);

/* Every incident the replay touched, by id (borrowed until kf_replay_free). */
const struct kf_replay_incident *kf_replay_incidents(const struct kf_replay *r, size_t *ret_n);

/* Compare a stored incident with the replay's: 0 if equal, else 1 and what differs first
 * ("attr: stored force_majeure, evidence company"). */
int kf_replay_incident_diff(const struct kf_incident *stored, const struct kf_incident *replayed,
                            char *what, size_t cap);
/* Compare one stored event with the replay's, same convention. */
int kf_replay_event_diff(const struct kf_inc_event *stored, const struct kf_inc_event *replayed,
                         char *what, size_t cap);

#endif
