/* calendar.h: service calendars. When is a terminal scheduled to serve, and how much
 * scheduled service time lies between two instants?
 *
 * Instants are UTC milliseconds (int64_t). Opening hours are local Asia/Shanghai wall-clock
 * times, a fixed UTC+8 with no daylight saving since 1991 (kf/time.h), so a local day is
 * exactly 86 400 s and converting is plain arithmetic.
 *
 * Three layers, all plain data except the holiday set:
 *   struct kf_week      opening hours per weekday, plus the hours kept on a public holiday
 *                       and on a make-up working day (调休);
 *   struct kf_holidays  the yearly calendar files (public holidays, make-up working days),
 *                       loaded from INI files that operators update every year;
 *   struct kf_cal       a week + a holiday set + excluded windows (planned maintenance) =
 *                       the service calendar that SLA clocks and availability run on.
 *
 * Nothing here reads a clock: every instant is passed in. Functions taking const pointers
 * only read, so any number of threads may share one loaded struct kf_holidays and the
 * weeks; loading into a holiday set needs the caller's exclusive use of it.
 * docs/SLA.md defines service time and the file format for operators and auditors.
 */
#ifndef KF_RULES_CALENDAR_H
#define KF_RULES_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "rules/holidays.h"

#define KF_TIME_NEVER INT64_MAX  /* "no such instant": a deadline that never comes */
#define KF_DAY_SLOTS_MAX 4       /* opening intervals in one day */
#define KF_CAL_HORIZON_DAYS 1000 /* kf_calendar_add_service looks this far ahead, then gives up */

/* One opening interval of a local day, in seconds after local midnight:
 * 0 <= start_s < end_s <= 86400 ("24:00" is 86400). */
struct kf_slot {
    int32_t start_s, end_s;
};

/* A day's opening hours: n sorted, disjoint, non-touching slots; n = 0 is closed. */
struct kf_dayspec {
    uint32_t n;
    struct kf_slot slot[KF_DAY_SLOTS_MAX];
};

enum kf_daykind {
    KF_DAY_MON = 0,
    KF_DAY_TUE,
    KF_DAY_WED,
    KF_DAY_THU,
    KF_DAY_FRI,
    KF_DAY_SAT,
    KF_DAY_SUN,
    KF_DAY_HOLIDAY, /* a public holiday (any weekday) */
    KF_DAY_MAKEUP,  /* a make-up working day: a weekend day worked */
    KF_DAY_KINDS,
};

/* The hours of every kind of day. Plain data: copy it freely. */
struct kf_week {
    struct kf_dayspec day[KF_DAY_KINDS];
};

/* [start_ms, end_ms) in UTC ms; used for planned maintenance windows, down spans and the
 * scheduled intervals enumerated below. */
struct kf_window {
    int64_t start_ms, end_ms;
};

/* Parse a day's hours: "HH:MM-HH:MM" intervals separated by commas (spaces allowed around
 * them), e.g. "08:30-12:00,13:30-17:00" or "00:00-24:00". NULL, "", "closed" and "null"
 * mean closed. Intervals must lie within one day, be in increasing order and must not
 * overlap; touching ones are merged ("08:00-12:00,12:00-17:00" is "08:00-17:00"); a night
 * across midnight is two intervals on two days. Returns 0 or -EINVAL. *ret written only on
 * success. Any thread. */
int kf_calendar_dayspec_parse(const char *spec, struct kf_dayspec *ret);

/* Canonical text of a day's hours ("08:30-17:00", "closed") into buf. 0 or -ENOSPC. */
int kf_calendar_dayspec_format(const struct kf_dayspec *d, char *buf, size_t cap);

/* A branch's week from the fixture's form {"weekday": spec, "weekend": spec|null}:
 * Monday to Friday keep `weekday`, Saturday and Sunday keep `weekend` (NULL: closed),
 * public holidays are closed and make-up working days keep `weekday`. 0 or -EINVAL. */
int kf_calendar_week_from_hours(const char *weekday, const char *weekend, struct kf_week *ret);

/* The week of one terminal of a zone. A kiosk keeps the zone's hours
 * (kf_calendar_week_from_hours). An ITM keeps the zone's itm_hours when given (non-NULL,
 * non-empty): a self-service lobby keeps its hours on every day of the year, public holidays
 * and make-up days included; without itm_hours an ITM keeps the zone's hours too.
 * 0 or -EINVAL. */
int kf_calendar_week_for_terminal(const char *weekday, const char *weekend, const char *itm_hours,
                                  int is_itm, struct kf_week *ret);

/* ---- Service time ---------------------------------------------------------------------- */

/* A service calendar. All pointers borrowed; excl (may be NULL when n_excl is 0) must be
 * sorted and disjoint (kf_calendar_windows_normalize). Scheduled time inside excl does not
 * count. */
struct kf_cal {
    const struct kf_week *week;
    const struct kf_holidays *holidays; /* may be NULL */
    const struct kf_window *excl;
    size_t n_excl;
};

/* Sort windows by start, merge overlapping or touching ones and drop empty ones, in place;
 * *ret_n is the new count. -EINVAL (nothing changed) if a window ends before it starts. */
int kf_calendar_windows_normalize(struct kf_window *w, size_t n, size_t *ret_n);

/* Service milliseconds in [from_ms, to_ms): scheduled and not excluded. 0 if to <= from. */
int64_t kf_calendar_service_ms(const struct kf_cal *c, int64_t from_ms, int64_t to_ms);

/* The earliest instant T >= start_ms with kf_calendar_service_ms(c, start_ms, T) == service_ms:
 * the deadline "service_ms of service time after start". service_ms <= 0 gives start_ms.
 * KF_TIME_NEVER if not reached within KF_CAL_HORIZON_DAYS (a week that never opens). */
int64_t kf_calendar_add_service(const struct kf_cal *c, int64_t start_ms, int64_t service_ms);

/* The scheduled, not excluded intervals inside [from_ms, to_ms), in order, clipped to the
 * range; intervals touching across midnight are merged (a 24 h lobby is one interval).
 * Writes at most cap into out and returns how many there are (like snprintf). */
size_t kf_calendar_intervals(const struct kf_cal *c, int64_t from_ms, int64_t to_ms,
                             struct kf_window *out, size_t cap);

/* Local (Asia/Shanghai) calendar month [*ret_from, *ret_to) in UTC ms. 0 or -EINVAL. */
int kf_calendar_month_range(int year, int month, int64_t *ret_from, int64_t *ret_to);

/* The weekday of a local day (days since 1970-01-01): Monday = 0 ... Sunday = 6. */
int kf_calendar_weekday(int32_t day);

#endif
