/* views/timeline.h: a terminal's states over time as a table (docs/WEB.md, the terminal's
 * page; GET /api/v1/terminals/{asset}/timeline): one row per change of a state the SLA
 * depends on (store/timeline.h), oldest first, in words a person reads. First come the rows
 * that say where each series stood as the period began (initial = 1: its last change before
 * the period, kf_store_timeline_before), then the changes in the period.
 *
 * Table "timeline", columns (kf_store_query_table_new's types):
 *   at        t  the instant the change counts at
 *   kind      x  presence, periph, fault, maint; "cut" (after the initial rows, once): the
 *                period held more facts than the bound, and the earlier ones are left out
 *                (its at: the oldest shown; every other cell empty)
 *   periph    x  periph: the peripheral; fault: its part (empty: device-wide)
 *   code      x  fault: its code
 *   value     x  presence online|offline, periph usable|unusable, fault raised|cleared,
 *                maint on|off
 *   state     x  periph: the state the terminal reported (media_jam, paper_low, ...)
 *   sev       x  fault: its severity
 *   source    x  presence: connect, will (the broker's last will), heartbeat (silent past the
 *                timeout, dated last seen)
 *   who       x  maint: the technician given at the terminal
 *   device    x  the board the fact came from
 *   initial   b  1: a series' state as the period began (its at is before the period)
 *   received  T  when kioskd received it (files only)
 *
 * Facts are written on changes only: a series with no row in the period kept its initial
 * state throughout; one with no initial row never changed before (never reported; a
 * peripheral always usable; never in maintenance).
 * Same threading rule as store.h.
 */
#ifndef KF_VIEWS_TIMELINE_H
#define KF_VIEWS_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "store/query.h"
#include "store/store.h"
#include "store/timeline.h"

/* The table of nb initial facts then n facts (each oldest first); cut: there were more than
 * the n (a "cut" row between). Pure. Owned: kf_store_query_table_free; NULL when out of
 * memory. */
struct kf_qtable *kf_view_timeline_table(const struct kf_timeline_fact *before, size_t nb,
                                         const struct kf_timeline_fact *facts, size_t n, int cut);

/* asset_id's timeline over [from_ms, to_ms): its initial rows, then at most max facts (0:
 * KF_STORE_TIMELINE_MAX), the newest kept. 0, or -ENOENT (no such asset in the connection's scope),
 * -EINVAL (an empty period), -ENOMEM, the store's error; err (cap bytes) says which. *ret owned. */
int kf_view_timeline(struct kf_store *st, const char *asset_id, int64_t from_ms, int64_t to_ms,
                     size_t max, struct kf_qtable **ret, char *err, size_t cap);

#endif
