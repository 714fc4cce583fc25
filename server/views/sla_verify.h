/* views/sla_verify.h: incidents recomputed from evidence (kioskctl verify; docs/SLA.md 12).
 *
 * Reads the engine's sealed runs from the signed log (store/audit_log.h, action "sla.run"),
 * checks each run's facts against its digest and its actions against the stored rows, feeds
 * the runs to a fresh engine (rules/replay.h) and compares every stored incident and event
 * with what the evidence gives. The signed log's chain and signatures are checked by
 * kf_store_audit_log_verify (with the server's public key from outside the database); this
 * view checks that the tables agree with the log.
 */
#ifndef KF_VIEWS_SLA_VERIFY_H
#define KF_VIEWS_SLA_VERIFY_H

#include <stdint.h>

#include "store/store.h"

struct kf_view_sla_verify {
    uint64_t runs;                /* sealed runs read */
    uint64_t facts_sealed;        /* facts covered by a seal */
    uint64_t fact_mismatches;     /* runs whose facts do not match their digest or count */
    uint64_t actions_checked;     /* sealed actions compared with sla_actions */
    uint64_t action_mismatches;   /* a sealed action that differs from its row, or is gone,
                                     or whose outcome differs in the replay */
    uint64_t incidents_checked;   /* stored incidents compared with the replay's */
    uint64_t incident_mismatches; /* differ, or exist on one side only */
    uint64_t event_mismatches;    /* incidents whose stored history differs from the replay's */
    uint64_t windows_checked;     /* planned windows the engine last loaded, against their rows */
    uint64_t window_mismatches;   /* such a window changed or deleted since */
    int replayed;                 /* 0: not replayed (why in `note`) */
    char note[200];               /* why the replay was skipped, when it was */
    char first_problem[320];
};

/* 0 (the result says what was found), or -errno with a message in err. */
int kf_view_sla_verify(struct kf_store *st, struct kf_view_sla_verify *ret, char *err, size_t cap);
/* 1 when nothing was found wrong. */
int kf_view_sla_verify_clean(const struct kf_view_sla_verify *v);

#endif
