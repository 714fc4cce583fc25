/* reportsvc.h: kioskd's report service: the bureau's weekly report issued by itself once the
 * week has closed (docs/REPORTS.md, docs/REPORTS.md): at [reports] weekly_after_h hours after
 * the ISO week's end (Monday 00:00 local; 9 h: Monday 09:00), the last closed week is
 * computed (views/week.h: availability to the week's end, incidents as the engine had them
 * at that instant) and frozen like a bill (views/rdoc.h: signed by the server key, stored in
 * report_docs, logged as report.issue by "kioskd") in one transaction on the writer's
 * thread. A week issued already (by kioskd or by an operator's kioskctl report week --issue)
 * is left alone; a week kioskd was down for is issued on demand (kioskctl), not back-filled.
 * A kioskd that has just started waits [reports] weekly_settle_min before issuing anything:
 * terminals that were waiting for it send their backlogs first, and a week is not frozen
 * without them.
 *
 * Threads: new/free on the main thread; tick on the loop thread; the job on the writer's.
 */
#ifndef KF_KIOSKD_REPORTSVC_H
#define KF_KIOSKD_REPORTSVC_H

#include <stdint.h>

#include <jansson.h>

#include <kf/conf.h>

#include "kioskd/writer.h"

/* [reports] in kioskd's configuration (docs/KIOSKD.md). */
struct kf_reportsvc_config {
    int weekly;            /* 1: issue each closed week (default); 0: only on demand */
    int weekly_after_h;    /* 9, 0..168: hours after the week's end */
    int weekly_settle_min; /* 15, 0..1440: not before kioskd has run this long */
};

void kf_reportsvc_config_section(struct kf_reportsvc_config *cfg, struct kf_conf_section *ret);

struct kf_reportsvc;

/* sk (64 bytes) is copied; w is borrowed until kf_reportsvc_free (after the writer drained). */
int kf_reportsvc_new(const struct kf_reportsvc_config *cfg, const uint8_t *sk, struct kf_writer *w,
                     struct kf_reportsvc **ret);
/* Look at the clock: submit the job when a week is due and no job is in flight. */
void kf_reportsvc_tick(struct kf_reportsvc *r);
json_t *kf_reportsvc_stats_json(struct kf_reportsvc *r);
void kf_reportsvc_free(struct kf_reportsvc *r); /* NULL is a no-op */

#endif
