/* rejects.h: kioskd's rejection counters, with one owner: the pipeline, on the loop thread.
 *
 * Every refusal is counted here by reason (enum kf_reject): the verify jobs' results, the
 * commit's replays and unquarantinable frames (added by the pipeline when their jobs come
 * back to the loop), and the link's own drops (oversize, unusable topic: kept by Paho's
 * threads in struct kf_link_counters and folded in from a snapshot). `total` is what stats
 * report; `unsaved` is what the store does not have yet. A save takes `unsaved` into
 * `saving` (kf_rejects_save_begin), a writer job adds it with kf_store_ingest_rejects_add, and
 * kf_rejects_save_end either drops it (persisted) or puts it back into `unsaved` (failed):
 * counts leave the owner only once they are stored.
 *
 * Plain data, no I/O, no locks: loop thread only.
 */
#ifndef KF_KIOSKD_REJECTS_H
#define KF_KIOSKD_REJECTS_H

#include <stdint.h>

#include "kioskd/link.h"
#include "store/store.h"

struct kf_rejects {
    uint64_t total[KF_REJECT_COUNT_];       /* since start, for stats */
    uint64_t unsaved[KF_REJECT_COUNT_];     /* not in the store yet, no save under way */
    uint64_t saving[KF_REJECT_COUNT_];      /* handed to a save in flight */
    int busy;                               /* a save is in flight */
    uint64_t link_oversize, link_malformed; /* the link's counters already folded in */
};

/* Count n refusals for reason (enum kf_reject). */
void kf_rejects_add(struct kf_rejects *r, int reason, uint64_t n);
/* Fold in the link's drops since the last fold (c: a kf_link_counters snapshot). */
void kf_rejects_fold_link(struct kf_rejects *r, const struct kf_link_counters *c);
/* 1 when some count is not stored yet (unsaved, or a save in flight). */
int kf_rejects_pending(const struct kf_rejects *r);
/* Start a save: copy unsaved into delta (KF_REJECT_COUNT_ entries) and hold it as saving.
 * 0, or -EALREADY while a save is in flight, or -ENODATA when there is nothing to save. */
int kf_rejects_save_begin(struct kf_rejects *r, uint64_t *delta);
/* The save is over: rc 0 forgets what was saved; otherwise it is unsaved again. */
void kf_rejects_save_end(struct kf_rejects *r, int rc);
/* Forget what is not stored (giving up at shutdown). Returns how many counts that was. */
uint64_t kf_rejects_discard(struct kf_rejects *r);

#endif
