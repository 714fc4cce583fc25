/* rules/holidays.h: the yearly calendar files (public holidays and make-up working days,
 * 调休) that operators update every year, loaded from their text into a set that service
 * calendars (calendar.h) consult. Nothing here reads a file or a clock. Functions taking
 * const pointers only read, so any number of threads may share one loaded set; loading
 * needs the caller's exclusive use of it. docs/SLA.md gives the file format.
 */
#ifndef KF_RULES_HOLIDAYS_H
#define KF_RULES_HOLIDAYS_H

#include <stddef.h>
#include <stdint.h>

#define KF_HOLIDAY_NAME_MAX 63 /* bytes of UTF-8 */

enum kf_datekind {
    KF_DATE_NORMAL = 0,  /* keeps its weekday's hours */
    KF_DATE_HOLIDAY = 1, /* public holiday: the week's KF_DAY_HOLIDAY hours */
    KF_DATE_MAKEUP = 2,  /* make-up working day: the week's KF_DAY_MAKEUP hours */
};

/* A set of loaded calendar files (one per year). Opaque; _new/_free. */
struct kf_holidays;

/* Returns owned, empty, or NULL when out of memory. */
struct kf_holidays *kf_holidays_new(void);
/* NULL is a no-op. */
void kf_holidays_free(struct kf_holidays *h);

/* Load one yearly file's text into h (format in docs/SLA.md and
 * fixtures/calendar/cn-2026.ini); name (borrowed) is used in messages. Nothing here reads a
 * file: the caller reads it (kioskd, the store's copies of the files). Validated strictly:
 * unknown sections or keys, bad or impossible dates, reversed ranges, a make-up day that is
 * not a Saturday or Sunday, a date listed twice (in this file or in one already loaded), a
 * date outside the file's year (December of the year before is allowed: notices sometimes
 * move days there), a missing or repeated year, a year already loaded. All or nothing: on
 * error h is unchanged and err (cap bytes, when not NULL) names "name:line: what". Returns
 * 0, -EINVAL, -ENOMEM. Needs exclusive use of h. */
int kf_holidays_load_string(struct kf_holidays *h, const char *text, const char *name, char *err,
                            size_t cap);

/* What a local day (days since 1970-01-01, kf_local_day) is. h may be NULL (all normal). */
enum kf_datekind kf_holidays_kind(const struct kf_holidays *h, int32_t day);
/* The name given in the file for a listed day ("" if none or not listed). Borrowed. */
const char *kf_holidays_name(const struct kf_holidays *h, int32_t day);
/* 1 if a file for this year is loaded, else 0. */
int kf_holidays_covers(const struct kf_holidays *h, int year);
/* Are the local years of every instant in [from_ms, to_ms) covered? 0, or -ENOENT with
 * "no calendar file for YEAR" in err. Days of a year not covered keep their weekday's
 * hours; callers (kioskd at start, the monthly report) check this and warn or refuse. */
int kf_holidays_require(const struct kf_holidays *h, int64_t from_ms, int64_t to_ms, char *err,
                        size_t cap);

#endif
