/* rules/calendar.c: opening hours and service-time arithmetic (calendar.h); the yearly
 * holiday files are in holidays.c.
 *
 * Everything is computed day by day on the local (UTC+8) calendar: a day's slots are cut
 * against the range asked for and against the excluded windows, so results are exact to
 * the millisecond and do not depend on how a range is split. */
#include "rules/calendar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <kf/time.h>

#define KF_DAY_S 86400
#define KF_DAY_MS (86400LL * 1000)

int kf_calendar_weekday(int32_t day)
{
    return (int)((int64_t)day + 3 - 7 * kf_time_floor_div((int64_t)day + 3, 7));
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* "HH:MM" at p (exactly five characters); 00:00..24:00. */
static int hhmm(const char *p, int32_t *ret_s)
{
    int h, m;

    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] != ':' || p[3] < '0' ||
        p[3] > '5' || p[4] < '0' || p[4] > '9') {
        return -EINVAL;
    }
    h = (p[0] - '0') * 10 + (p[1] - '0');
    m = (p[3] - '0') * 10 + (p[4] - '0');
    if (h > 24 || (h == 24 && m != 0)) {
        return -EINVAL;
    }
    *ret_s = h * 3600 + m * 60;
    return 0;
}

int kf_calendar_dayspec_parse(const char *spec, struct kf_dayspec *ret)
{
    struct kf_dayspec d;
    const char *p;

    memset(&d, 0, sizeof(d));
    if (spec == NULL || strcmp(spec, "closed") == 0 || strcmp(spec, "null") == 0) {
        *ret = d;
        return 0;
    }
    p = skip_space(spec);
    if (*p == '\0') {
        *ret = d;
        return 0;
    }
    for (;;) {
        struct kf_slot s;

        p = skip_space(p);
        if (hhmm(p, &s.start_s) < 0 || p[5] != '-' || hhmm(p + 6, &s.end_s) < 0) {
            return -EINVAL;
        }
        if (s.start_s >= s.end_s || s.start_s == KF_DAY_S) {
            return -EINVAL;
        }
        if (d.n > 0 && s.start_s < d.slot[d.n - 1].end_s) {
            return -EINVAL; /* out of order or overlapping */
        }
        if (d.n > 0 && s.start_s == d.slot[d.n - 1].end_s) {
            d.slot[d.n - 1].end_s = s.end_s;
        } else {
            if (d.n == KF_DAY_SLOTS_MAX) {
                return -EINVAL;
            }
            d.slot[d.n++] = s;
        }
        p = skip_space(p + 11);
        if (*p == '\0') {
            break;
        }
        if (*p != ',') {
            return -EINVAL;
        }
        p++;
    }
    *ret = d;
    return 0;
}

int kf_calendar_dayspec_format(const struct kf_dayspec *d, char *buf, size_t cap)
{
    size_t off = 0;

    if (d->n == 0) {
        return snprintf(buf, cap, "closed") < (int)cap ? 0 : -ENOSPC;
    }
    if (cap > 0) {
        buf[0] = '\0';
    }
    for (uint32_t i = 0; i < d->n; i++) {
        int a = d->slot[i].start_s, b = d->slot[i].end_s;
        int n = snprintf(buf + off, cap - off, "%s%02d:%02d-%02d:%02d", i ? "," : "", a / 3600,
                         a / 60 % 60, b / 3600, b / 60 % 60);
        if (n < 0 || (size_t)n >= cap - off) {
            return -ENOSPC;
        }
        off += (size_t)n;
    }
    return 0;
}

int kf_calendar_week_from_hours(const char *weekday, const char *weekend, struct kf_week *ret)
{
    struct kf_dayspec wd, we;
    struct kf_week w;

    if (kf_calendar_dayspec_parse(weekday, &wd) < 0 ||
        kf_calendar_dayspec_parse(weekend, &we) < 0) {
        return -EINVAL;
    }
    memset(&w, 0, sizeof(w));
    for (int i = KF_DAY_MON; i <= KF_DAY_FRI; i++) {
        w.day[i] = wd;
    }
    w.day[KF_DAY_SAT] = we;
    w.day[KF_DAY_SUN] = we;
    w.day[KF_DAY_MAKEUP] = wd; /* a make-up working day is worked on weekday hours */
    /* KF_DAY_HOLIDAY stays closed */
    *ret = w;
    return 0;
}

int kf_calendar_week_for_terminal(const char *weekday, const char *weekend, const char *itm_hours,
                                  int is_itm, struct kf_week *ret)
{
    struct kf_dayspec all;
    struct kf_week w;

    if (!is_itm || itm_hours == NULL || *skip_space(itm_hours) == '\0' ||
        strcmp(itm_hours, "null") == 0) {
        return kf_calendar_week_from_hours(weekday, weekend, ret);
    }
    if (kf_calendar_dayspec_parse(itm_hours, &all) < 0) {
        return -EINVAL;
    }
    for (int i = 0; i < KF_DAY_KINDS; i++) {
        w.day[i] = all;
    }
    *ret = w;
    return 0;
}

/* ---- Service time -------------------------------------------------------------------- */

static int window_cmp(const void *a, const void *b)
{
    const struct kf_window *x = a, *y = b;

    if (x->start_ms != y->start_ms) {
        return x->start_ms < y->start_ms ? -1 : 1;
    }
    return (x->end_ms > y->end_ms) - (x->end_ms < y->end_ms);
}

int kf_calendar_windows_normalize(struct kf_window *w, size_t n, size_t *ret_n)
{
    size_t out = 0;

    for (size_t i = 0; i < n; i++) {
        if (w[i].end_ms < w[i].start_ms) {
            return -EINVAL;
        }
    }
    if (n > 1) {
        qsort(w, n, sizeof(*w), window_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        if (w[i].end_ms == w[i].start_ms) {
            continue;
        }
        if (out > 0 && w[i].start_ms <= w[out - 1].end_ms) {
            if (w[i].end_ms > w[out - 1].end_ms) {
                w[out - 1].end_ms = w[i].end_ms;
            }
            continue;
        }
        w[out++] = w[i];
    }
    *ret_n = out;
    return 0;
}

/* What the week says about a local day, holidays applied. */
static const struct kf_dayspec *day_spec(const struct kf_cal *c, int32_t day)
{
    switch (kf_holidays_kind(c->holidays, day)) {
    case KF_DATE_HOLIDAY:
        return &c->week->day[KF_DAY_HOLIDAY];
    case KF_DATE_MAKEUP:
        return &c->week->day[KF_DAY_MAKEUP];
    default:
        return &c->week->day[kf_calendar_weekday(day)];
    }
}

/* Called for each service piece [a, b) in order; a non-zero return stops the walk. */
typedef int (*piece_cb)(void *ud, int64_t a, int64_t b);

static void cal_walk(const struct kf_cal *c, int64_t from, int64_t to, piece_cb cb, void *ud)
{
    size_t lo = 0, hi = c->n_excl, wi;
    int32_t d0, d1;

    if (to <= from) {
        return;
    }
    while (lo < hi) { /* first window ending after from */
        size_t mid = lo + (hi - lo) / 2;
        if (c->excl[mid].end_ms <= from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    wi = lo;
    d0 = kf_local_day(from);
    d1 = kf_local_day(to - 1);
    for (int32_t d = d0; d <= d1; d++) {
        const struct kf_dayspec *ds = day_spec(c, d);
        int64_t base = kf_day_start_ms(d);

        for (uint32_t i = 0; i < ds->n; i++) {
            int64_t a = base + ds->slot[i].start_s * 1000LL;
            int64_t b = base + ds->slot[i].end_s * 1000LL;
            int64_t cur;

            a = a < from ? from : a;
            b = b > to ? to : b;
            if (a >= b) {
                continue;
            }
            while (wi < c->n_excl && c->excl[wi].end_ms <= a) {
                wi++;
            }
            cur = a;
            for (size_t k = wi; k < c->n_excl && c->excl[k].start_ms < b && cur < b; k++) {
                if (c->excl[k].start_ms > cur && cb(ud, cur, c->excl[k].start_ms)) {
                    return;
                }
                if (c->excl[k].end_ms > cur) {
                    cur = c->excl[k].end_ms;
                }
            }
            if (cur < b && cb(ud, cur, b)) {
                return;
            }
        }
    }
}

static int sum_cb(void *ud, int64_t a, int64_t b)
{
    *(int64_t *)ud += b - a;
    return 0;
}

int64_t kf_calendar_service_ms(const struct kf_cal *c, int64_t from_ms, int64_t to_ms)
{
    int64_t sum = 0;

    cal_walk(c, from_ms, to_ms, sum_cb, &sum);
    return sum;
}

struct add_state {
    int64_t left, at;
};

static int add_cb(void *ud, int64_t a, int64_t b)
{
    struct add_state *st = ud;

    if (b - a >= st->left) {
        st->at = a + st->left;
        return 1;
    }
    st->left -= b - a;
    return 0;
}

int64_t kf_calendar_add_service(const struct kf_cal *c, int64_t start_ms, int64_t service_ms)
{
    struct add_state st = {service_ms, KF_TIME_NEVER};

    if (service_ms <= 0) {
        return start_ms;
    }
    cal_walk(c, start_ms, start_ms + KF_CAL_HORIZON_DAYS * KF_DAY_MS, add_cb, &st);
    return st.at;
}

struct ivl_state {
    struct kf_window *out;
    size_t cap, n;
    int64_t last_end;
};

/* Merges a piece that starts where the previous one ended; counts past cap. */
static int ivl_cb(void *ud, int64_t a, int64_t b)
{
    struct ivl_state *st = ud;

    if (st->n > 0 && st->last_end == a) {
        if (st->n <= st->cap) {
            st->out[st->n - 1].end_ms = b;
        }
        st->last_end = b;
        return 0;
    }
    if (st->n < st->cap) {
        st->out[st->n].start_ms = a;
        st->out[st->n].end_ms = b;
    }
    st->n++;
    st->last_end = b;
    return 0;
}

size_t kf_calendar_intervals(const struct kf_cal *c, int64_t from_ms, int64_t to_ms,
                             struct kf_window *out, size_t cap)
{
    struct ivl_state st = {out, cap, 0, 0};

    cal_walk(c, from_ms, to_ms, ivl_cb, &st);
    return st.n;
}

int kf_calendar_month_range(int year, int month, int64_t *ret_from, int64_t *ret_to)
{
    char buf[32];
    int32_t d0, d1;

    if (month < 1 || month > 12 || year < 1900 || year > 9998) {
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%04d-%02d-01", year, month);
    if (kf_day_parse(buf, &d0) < 0) {
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%04d-%02d-01", month == 12 ? year + 1 : year,
             month == 12 ? 1 : month + 1);
    if (kf_day_parse(buf, &d1) < 0) {
        return -EINVAL;
    }
    *ret_from = kf_day_start_ms(d0);
    *ret_to = kf_day_start_ms(d1);
    return 0;
}
