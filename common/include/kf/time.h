/* kf/time.h: instants are UTC milliseconds since the Unix epoch (int64_t) inside.
 * The local calendar (Asia/Shanghai, UTC+8, no daylight saving since 1991) is
 * used only where days and periods are cut.
 */
#ifndef KF_TIME_H
#define KF_TIME_H

#include <stdint.h>

#define KF_CST_OFFSET_MS (8LL * 3600 * 1000) /* Asia/Shanghai, fixed since 1991 */

/* Wall clock, UTC ms. Any thread. */
int64_t kf_now_ms(void);
/* Monotonic clock, microseconds. Any thread. */
int64_t kf_mono_us(void);
/* The wall clock's base: CLOCK_REALTIME - CLOCK_BOOTTIME, in ms. Constant while nobody sets
 * the clock (CLOCK_BOOTTIME counts true elapsed time since boot, suspend included); a step of
 * the wall clock moves it by the step. Compared within one kernel boot only. Any thread. */
int64_t kf_clock_base_ms(void);

/* Local (Asia/Shanghai) calendar day of an instant, as days since 1970-01-01. */
int32_t kf_local_day(int64_t utc_ms);
/* Format a local day as "YYYY-MM-DD" into buf (>= 11 bytes). Returns buf. */
char *kf_day_format(int32_t day, char *buf, unsigned long cap);
/* Parse "YYYY-MM-DD" (a local day). Returns 0 or -EINVAL. */
int kf_day_parse(const char *s, int32_t *ret_day);
/* First instant (UTC ms) of a local day. */
int64_t kf_day_start_ms(int32_t day);
/* Format an instant as RFC 3339 UTC "2026-11-26T13:56:03.123Z" (buf >= 25). Returns buf. */
char *kf_ms_format(int64_t utc_ms, char *buf, unsigned long cap);

/* Floor division (b != 0): rounds toward minus infinity, so durations and days round down
 * the same way for negatives (before the epoch, a clock running past its deadline). */
int64_t kf_time_floor_div(int64_t a, int64_t b);

#endif
