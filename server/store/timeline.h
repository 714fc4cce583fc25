/* store/timeline.h: a terminal's states over time, for people (docs/WEB.md, the terminal's
 * page): its rows of sla_facts (store/sla.h) over a period, as the store wrote them, names
 * and all. The SLA engine reads the same rows through kf_store_sla_facts, in commit order;
 * this reads one asset's, in time order, bounded.
 *
 * On a scoped connection (kf_store_open_scoped) an asset outside the scope does not exist:
 * sla_facts and assets are shadowed there. Same threading rule as store.h: one thread at a
 * time per struct kf_store.
 */
#ifndef KF_STORE_TIMELINE_H
#define KF_STORE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>
#include <kf/record.h>

#include "rules/devstate.h"
#include "store/store.h"

/* The most rows one read returns by default (a week of a flapping terminal fits). */
#define KF_STORE_TIMELINE_MAX 2000

/* One change of a state, as sla_facts holds it. Text fields are "" when the row has none. */
struct kf_timeline_fact {
    int64_t id;                           /* commit order */
    int64_t at_ms;                        /* the instant it counts at */
    int64_t recv_ms;                      /* when kioskd received it */
    char kind[12];                        /* "presence", "periph", "fault", "maint" */
    uint8_t value;                        /* online / usable / raised / in maintenance */
    char device_id[KF_DEVICE_ID_MAX + 1]; /* the board it came from */
    char src[16];                         /* presence: "connect", "will", "heartbeat" */
    char periph[24];                      /* periph; fault: its part ("" device-wide) */
    char state[24];                       /* periph: the reported state's name */
    char code[KF_FAULT_CODE_MAX + 1];     /* fault */
    char sev[16];                         /* fault: its severity's name */
    char who[KF_WHO_MAX + 1];             /* maint: the technician given at the terminal */
};

/* The facts of asset_id counting in [from_ms, to_ms), oldest first (by instant, then commit
 * order). At most max (0: KF_STORE_TIMELINE_MAX): when there are more, the newest max are
 * kept and *ret_cut is 1 (else 0). -ENOENT: no such asset (or none in the connection's
 * scope); -EINVAL: from_ms >= to_ms. *ret owned (free; NULL when there is no row). */
int kf_store_timeline_facts(struct kf_store *st, const char *asset_id, int64_t from_ms,
                            int64_t to_ms, size_t max, struct kf_timeline_fact **ret, size_t *ret_n,
                            int *ret_cut);

/* What asset_id's states were as the period from from_ms began: each series' last fact
 * before it (presence, maintenance, each peripheral; each fault still raised), oldest first,
 * at most max (0: KF_STORE_TIMELINE_MAX). A series that never changed before has none: a
 * terminal that never reported, a peripheral always usable. -ENOENT as above. *ret owned. */
int kf_store_timeline_before(struct kf_store *st, const char *asset_id, int64_t from_ms, size_t max,
                             struct kf_timeline_fact **ret, size_t *ret_n);

#endif
