/* store/period.h: period stamps (docs/STORE.md "Period stamps"): a number per period of the
 * local calendar that changes whenever the store changes anything an answer over that period
 * reads: usage over days (kf_store_query_usage), a month's SLA report (views/sla.h) and
 * coverage (views/coverage.h). Kept by the store itself (triggers, schema v22) in the
 * transaction of each write, whoever the writer is (kioskd's commit and SLA engine, kioskctl),
 * so a reader that took a stamp before computing an answer knows, by reading the stamp
 * again, that the answer is still the one it would compute now (kiosk-web's answer cache,
 * docs/WEB.md "The answer cache").
 *
 * What is counted, by month (YYYYMM of the local calendar): a row of usage_daily written or
 * deleted counts for its day's month; a presence fact (sla_facts) for its month and every
 * later one (the first report and the online terminals of a later period read it); an
 * incident for the month it starts and every later one; anything else the answers read (the
 * registry, devices' assets, contracts, windows, calendars, assets in service, decisions, a
 * device's first frame) for every month. usage_monthly and usage_yearly are rolled up from
 * usage_daily in the same transaction; what kiosk-web's views read and is not listed (live
 * state, health, events) is not an input of these answers.
 *
 * Same threading rule as store.h. */
#ifndef KF_STORE_PERIOD_H
#define KF_STORE_PERIOD_H

#include <stdint.h>

#include "store/store.h"

/* The stamp of the local days [from_day, to_day] into *ret: it differs from an earlier one
 * read for the same days whenever anything counted for those days changed in between.
 * -EAGAIN when the period is not settled: it ends today or later (facts of today still
 * arrive and "now" moves), or kioskd's SLA engine has not yet run past its end (its figures
 * are as of the engine's tick); an answer over it is live. 0 or a negative errno. */
int kf_store_period_stamp(struct kf_store *st, int32_t from_day, int32_t to_day, int64_t *ret);

#endif
