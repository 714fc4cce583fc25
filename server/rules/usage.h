/* rules/usage.h: when a record counts. A device's clock is not trusted blindly
 * (DESIGN.md principle 4, docs/ARCHITECTURE.md "Clock"): the effective time of a record is
 * its device time plus the offset in force, kept only inside a window around its receipt;
 * a txn counts on the local day of that time. docs/STORE.md "Effective time of a record"
 * states the same for auditors. Pure: values in, values out; any thread.
 */
#ifndef KF_RULES_USAGE_H
#define KF_RULES_USAGE_H

#include <stdint.h>

/* The oldest plausible effective time, behind its receipt; also how far back the SLA
 * service loads maintenance windows, since no fact can carry an older instant. */
#define KF_USAGE_BEHIND_MS (62LL * 86400 * 1000)
/* The largest lead over receipt that a device clock is allowed. */
#define KF_USAGE_AHEAD_MS (5LL * 60 * 1000)

/* How a record's effective time was found (kept per record: records.flags). */
#define KF_USAGE_F_SUSPECT 0x1u   /* effective time implausible: replaced by receipt time */
#define KF_USAGE_F_CORRECTED 0x2u /* unsynced clock ahead of receipt: corrected */
#define KF_USAGE_F_SYNCED 0x4u    /* the frame carried a measured offset */

/* The offset added to the device time of every record of one frame. A synced frame (the
 * agent measured server - local from an ACK and sent it along) uses its measured offset
 * (KF_USAGE_F_SYNCED). An unsynced frame whose device time is more than KF_USAGE_AHEAD_MS
 * ahead of its receipt has its clock's lead taken back: recv_ms - device_ms
 * (KF_USAGE_F_CORRECTED). Any other frame: 0. Example: unsynced, sealed at 12:10:00 by its
 * own clock, received at 12:00:00: offset -10 min, and a txn stamped 12:09:00 counts at
 * 11:59:00. *ret_flags is one of those flags, or 0. */
int64_t kf_usage_offset(int synced, int64_t measured_ms, int64_t device_ms, int64_t recv_ms,
                        unsigned *ret_flags);

/* A record's effective time: ts_ms + offset_ms (kf_usage_offset), unless that overflows or
 * falls outside [recv_ms - KF_USAGE_BEHIND_MS, recv_ms + KF_USAGE_AHEAD_MS]: then the
 * receipt time, and KF_USAGE_F_SUSPECT is added to *flags. Device time, effective time and
 * receipt time are all kept, so the replacement is visible. */
int64_t kf_usage_effective_ms(int64_t ts_ms, int64_t offset_ms, int64_t recv_ms, unsigned *flags);

/* The local (Asia/Shanghai) day, in days since 1970-01-01, that a txn of this effective
 * time counts in: its usage_daily row, its week, month and half-year. A txn at 23:59 local
 * time on the last day of a month is that month's, whatever UTC says. */
int32_t kf_usage_day(int64_t effective_ms);

/* The instant an SLA fact from a record (peripheral, fault, maintenance) counts at: its
 * effective time, but never after its receipt, so a clock ahead (by up to the
 * KF_USAGE_AHEAD_MS tolerated) cannot date a fault in the future. */
int64_t kf_usage_fact_ms(int64_t effective_ms, int64_t recv_ms);

/* The device time a STATE frame is ordered by (STATEs apply in device-time order): its
 * device time, but no later than recv_ms + KF_USAGE_AHEAD_MS, so that a clock far ahead
 * cannot freeze that order for good. */
int64_t kf_usage_state_ms(int64_t device_ms, int64_t recv_ms);

#endif
