/* calendar.c: opening hours, the yearly holiday files and service-time arithmetic.
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
#define KF_HOL_RANGE_MAX 31 /* days in one holiday line */

int64_t kf_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

/* Monday = 0: 1970-01-01 (day 0) was a Thursday. */
static int kf_weekday(int32_t day)
{
    return (int)((int64_t)day + 3 - 7 * kf_floor_div((int64_t)day + 3, 7));
}

static const char *kf_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* "HH:MM" at p (exactly five characters); 00:00..24:00. */
static int kf_hhmm(const char *p, int32_t *ret_s)
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

int kf_dayspec_parse(const char *spec, struct kf_dayspec *ret)
{
    struct kf_dayspec d;
    const char *p;

    memset(&d, 0, sizeof(d));
    if (spec == NULL || strcmp(spec, "closed") == 0 || strcmp(spec, "null") == 0) {
        *ret = d;
        return 0;
    }
    p = kf_skip_space(spec);
    if (*p == '\0') {
        *ret = d;
        return 0;
    }
    for (;;) {
        struct kf_slot s;

        p = kf_skip_space(p);
        if (kf_hhmm(p, &s.start_s) < 0 || p[5] != '-' || kf_hhmm(p + 6, &s.end_s) < 0) {
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
        p = kf_skip_space(p + 11);
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

int kf_dayspec_format(const struct kf_dayspec *d, char *buf, size_t cap)
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

int kf_week_from_hours(const char *weekday, const char *weekend, struct kf_week *ret)
{
    struct kf_dayspec wd, we;
    struct kf_week w;

    if (kf_dayspec_parse(weekday, &wd) < 0 || kf_dayspec_parse(weekend, &we) < 0) {
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

int kf_week_for_terminal(const char *weekday, const char *weekend, const char *itm_hours,
                         int is_itm, struct kf_week *ret)
{
    struct kf_dayspec all;
    struct kf_week w;

    if (!is_itm || itm_hours == NULL || *kf_skip_space(itm_hours) == '\0' ||
        strcmp(itm_hours, "null") == 0) {
        return kf_week_from_hours(weekday, weekend, ret);
    }
    if (kf_dayspec_parse(itm_hours, &all) < 0) {
        return -EINVAL;
    }
    for (int i = 0; i < KF_DAY_KINDS; i++) {
        w.day[i] = all;
    }
    *ret = w;
    return 0;
}

/* ---- Holiday files ------------------------------------------------------------------- */

struct kf_hday {
    int32_t day;
    uint8_t kind; /* enum kf_datekind */
    uint32_t file;
    int line;
    char name[KF_HOLIDAY_NAME_MAX + 1];
};

struct kf_holidays {
    struct kf_hday *days; /* sorted by day, unique */
    size_t n;
    int *years;
    size_t n_years;
    char **files; /* names, for "already listed at file:line" */
    size_t n_files;
};

struct kf_holidays *kf_holidays_new(void)
{
    return calloc(1, sizeof(struct kf_holidays));
}

void kf_holidays_free(struct kf_holidays *h)
{
    if (h == NULL) {
        return;
    }
    for (size_t i = 0; i < h->n_files; i++) {
        free(h->files[i]);
    }
    free(h->files);
    free(h->years);
    free(h->days);
    free(h);
}

/* One line of [holidays] or [workdays], before validation. */
struct kf_hentry {
    int line;
    uint8_t kind;
    int32_t first, last;
    char name[KF_HOLIDAY_NAME_MAX + 1];
};

struct kf_hparse {
    const char *p, *end; /* the reader's position */
    int line, next_line, too_long;
    int year, year_line;
    struct kf_hentry *ent;
    size_t n_ent, cap_ent;
    int err_line;
    char msg[160];
};

/* fgets-like reader that counts lines, so that every handler call knows its line. */
static char *kf_hol_reader(char *str, int num, void *stream)
{
    struct kf_hparse *ps = stream;
    size_t n = 0;

    ps->line = ps->next_line;
    if (ps->p >= ps->end || num < 2) {
        return NULL;
    }
    while (ps->p + n < ps->end && ps->p[n] != '\n') {
        n++;
    }
    if (ps->p + n < ps->end) {
        n++; /* the newline */
    }
    if (n > (size_t)num - 1) {
        ps->too_long = ps->line;
        return NULL;
    }
    memcpy(str, ps->p, n);
    str[n] = '\0';
    ps->p += n;
    ps->next_line++;
    return str;
}

static int kf_hol_fail(struct kf_hparse *ps, const char *msg)
{
    if (ps->err_line == 0) {
        ps->err_line = ps->line;
        snprintf(ps->msg, sizeof(ps->msg), "%s", msg);
    }
    return 0;
}

/* "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD". */
static int kf_hol_dates(const char *key, int32_t *ret_first, int32_t *ret_last)
{
    char a[11], b[11];
    size_t len = strlen(key);

    if (len == 10) {
        if (kf_day_parse(key, ret_first) < 0) {
            return -EINVAL;
        }
        *ret_last = *ret_first;
        return 0;
    }
    if (len != 22 || key[10] != '.' || key[11] != '.') {
        return -EINVAL;
    }
    memcpy(a, key, 10);
    a[10] = '\0';
    memcpy(b, key + 12, 10);
    b[10] = '\0';
    if (kf_day_parse(a, ret_first) < 0 || kf_day_parse(b, ret_last) < 0) {
        return -EINVAL;
    }
    return 0;
}

static int kf_hol_handler(void *user, const char *section, const char *name, const char *value)
{
    struct kf_hparse *ps = user;
    struct kf_hentry e;
    char msg[160];

    if (ps->err_line != 0) {
        return 1; /* the first error is the one reported */
    }
    if (strcmp(section, "calendar") == 0) {
        if (strcmp(name, "year") == 0) {
            char *end = NULL;
            long y = strtol(value, &end, 10);
            if (ps->year != 0) {
                return kf_hol_fail(ps, "calendar.year: given twice");
            }
            if (end == value || *end != '\0' || y < 1991 || y > 2200) {
                return kf_hol_fail(ps, "calendar.year: not a year (1991..2200)");
            }
            ps->year = (int)y;
            ps->year_line = ps->line;
            return 1;
        }
        if (strcmp(name, "source") == 0 || strcmp(name, "region") == 0) {
            return 1; /* free text, for people */
        }
        snprintf(msg, sizeof(msg), "unknown key \"%s\" in [calendar]", name);
        return kf_hol_fail(ps, msg);
    }
    memset(&e, 0, sizeof(e));
    if (strcmp(section, "holidays") == 0) {
        e.kind = KF_DATE_HOLIDAY;
    } else if (strcmp(section, "workdays") == 0) {
        e.kind = KF_DATE_MAKEUP;
    } else {
        snprintf(msg, sizeof(msg), "unknown section [%s]", section);
        return kf_hol_fail(ps, msg);
    }
    if (kf_hol_dates(name, &e.first, &e.last) < 0) {
        snprintf(msg, sizeof(msg),
                 "\"%.40s\": not a date YYYY-MM-DD or range YYYY-MM-DD..YYYY-MM-DD", name);
        return kf_hol_fail(ps, msg);
    }
    if (e.last < e.first) {
        return kf_hol_fail(ps, "range ends before it starts");
    }
    if (e.last - e.first >= KF_HOL_RANGE_MAX) {
        return kf_hol_fail(ps, "range longer than 31 days");
    }
    if (strlen(value) > KF_HOLIDAY_NAME_MAX) {
        return kf_hol_fail(ps, "name longer than 63 bytes");
    }
    memcpy(e.name, value, strlen(value) + 1);
    e.line = ps->line;
    if (ps->n_ent == ps->cap_ent) {
        size_t cap = ps->cap_ent ? ps->cap_ent * 2 : 32;
        struct kf_hentry *ne = realloc(ps->ent, cap * sizeof(*ne));
        if (ne == NULL) {
            return kf_hol_fail(ps, "out of memory");
        }
        ps->ent = ne;
        ps->cap_ent = cap;
    }
    ps->ent[ps->n_ent++] = e;
    return 1;
}

static int kf_hday_cmp(const void *a, const void *b)
{
    const struct kf_hday *x = a, *y = b;

    if (x->day != y->day) {
        return x->day < y->day ? -1 : 1;
    }
    return (x->line > y->line) - (x->line < y->line);
}

static const struct kf_hday *kf_hol_find(const struct kf_holidays *h, int32_t day)
{
    size_t lo = 0, hi = h ? h->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->days[mid].day == day) {
            return &h->days[mid];
        }
        if (h->days[mid].day < day) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static int kf_year_of_day(int32_t day)
{
    char buf[16];

    kf_day_format(day, buf, sizeof(buf));
    return (int)strtol(buf, NULL, 10);
}

/* Validate the parsed entries and merge them into h; all or nothing. */
static int kf_hol_commit(struct kf_holidays *h, struct kf_hparse *ps, const char *name, char *err,
                         size_t cap)
{
    struct kf_hday *nd = NULL, *all = NULL;
    size_t nn = 0, total = 0;
    int32_t lo, hi;
    char d1[16], buf[32];
    int *years = NULL;
    char **files = NULL, *fname = NULL;
    int rc = -EINVAL;

    if (ps->year == 0) {
        snprintf(err, cap, "%s: missing [calendar] year", name);
        return -EINVAL;
    }
    if (kf_holidays_covers(h, ps->year)) {
        snprintf(err, cap, "%s:%d: a calendar for %d is already loaded", name, ps->year_line,
                 ps->year);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%04d-12-01", ps->year - 1);
    kf_day_parse(buf, &lo);
    snprintf(buf, sizeof(buf), "%04d-12-31", ps->year);
    kf_day_parse(buf, &hi);
    for (size_t i = 0; i < ps->n_ent; i++) {
        total += (size_t)(ps->ent[i].last - ps->ent[i].first + 1);
    }
    nd = calloc(total ? total : 1, sizeof(*nd));
    if (nd == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < ps->n_ent; i++) {
        const struct kf_hentry *e = &ps->ent[i];
        for (int32_t d = e->first; d <= e->last; d++) {
            if (d < lo || d > hi) {
                snprintf(err, cap, "%s:%d: %s is outside the year %d (%04d-12-01..%04d-12-31)",
                         name, e->line, kf_day_format(d, d1, sizeof(d1)), ps->year, ps->year - 1,
                         ps->year);
                goto out_free;
            }
            if (e->kind == KF_DATE_MAKEUP && kf_weekday(d) < KF_DAY_SAT) {
                snprintf(
                    err, cap,
                    "%s:%d: %s is not a Saturday or Sunday; a make-up working day is a weekend day",
                    name, e->line, kf_day_format(d, d1, sizeof(d1)));
                goto out_free;
            }
            nd[nn].day = d;
            nd[nn].kind = e->kind;
            nd[nn].line = e->line;
            nd[nn].file = (uint32_t)h->n_files;
            memcpy(nd[nn].name, e->name, sizeof(e->name));
            nn++;
        }
    }
    if (nn > 1) {
        qsort(nd, nn, sizeof(*nd), kf_hday_cmp);
    }
    for (size_t i = 0; i < nn; i++) {
        const struct kf_hday *old = kf_hol_find(h, nd[i].day);
        if (i > 0 && nd[i - 1].day == nd[i].day) {
            snprintf(err, cap, "%s:%d: %s is already listed at line %d", name, nd[i].line,
                     kf_day_format(nd[i].day, d1, sizeof(d1)), nd[i - 1].line);
            goto out_free;
        }
        if (old != NULL) {
            snprintf(err, cap, "%s:%d: %s is already listed at %s:%d", name, nd[i].line,
                     kf_day_format(nd[i].day, d1, sizeof(d1)), h->files[old->file], old->line);
            goto out_free;
        }
    }
    rc = -ENOMEM;
    all = malloc((h->n + nn + 1) * sizeof(*all));
    years = malloc((h->n_years + 1) * sizeof(*years));
    files = malloc((h->n_files + 1) * sizeof(*files));
    fname = strdup(name);
    if (all == NULL || years == NULL || files == NULL || fname == NULL) {
        goto out_free;
    }
    if (h->n > 0) {
        memcpy(all, h->days, h->n * sizeof(*all));
    }
    if (nn > 0) {
        memcpy(all + h->n, nd, nn * sizeof(*all));
    }
    if (h->n + nn > 1) {
        qsort(all, h->n + nn, sizeof(*all), kf_hday_cmp);
    }
    if (h->n_years > 0) {
        memcpy(years, h->years, h->n_years * sizeof(*years));
    }
    years[h->n_years] = ps->year;
    if (h->n_files > 0) {
        memcpy(files, h->files, h->n_files * sizeof(*files));
    }
    files[h->n_files] = fname;
    free(h->days);
    free(h->years);
    free(h->files);
    h->days = all;
    h->n += nn;
    h->years = years;
    h->n_years++;
    h->files = files;
    h->n_files++;
    free(nd);
    return 0;
out_free:
    free(fname);
    free(files);
    free(years);
    free(all);
    free(nd);
    return rc;
}

static int kf_hol_load(struct kf_holidays *h, const char *text, size_t len, const char *name,
                       char *err, size_t cap)
{
    struct kf_hparse ps;
    char dummy[8];
    int rc;

    if (err == NULL) {
        err = dummy;
        cap = sizeof(dummy);
    }
    memset(&ps, 0, sizeof(ps));
    ps.p = text;
    ps.end = text + len;
    ps.next_line = 1;
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, cap, "%s: contains a NUL byte", name);
        return -EINVAL;
    }
    rc = ini_parse_stream(kf_hol_reader, &ps, kf_hol_handler, &ps);
    if (ps.too_long != 0 && (ps.err_line == 0 || ps.too_long < ps.err_line)) {
        snprintf(err, cap, "%s:%d: line too long", name, ps.too_long);
        rc = -EINVAL;
    } else if (ps.err_line != 0) {
        snprintf(err, cap, "%s:%d: %s", name, ps.err_line, ps.msg);
        rc = -EINVAL;
    } else if (rc != 0) {
        snprintf(err, cap, "%s:%d: syntax error", name, rc);
        rc = -EINVAL;
    } else {
        rc = kf_hol_commit(h, &ps, name, err, cap);
    }
    free(ps.ent);
    return rc;
}

int kf_holidays_load_string(struct kf_holidays *h, const char *text, const char *name, char *err,
                            size_t cap)
{
    return kf_hol_load(h, text, strlen(text), name, err, cap);
}

enum kf_datekind kf_holidays_kind(const struct kf_holidays *h, int32_t day)
{
    const struct kf_hday *d = kf_hol_find(h, day);

    return d ? (enum kf_datekind)d->kind : KF_DATE_NORMAL;
}

const char *kf_holidays_name(const struct kf_holidays *h, int32_t day)
{
    const struct kf_hday *d = kf_hol_find(h, day);

    return d ? d->name : "";
}

int kf_holidays_covers(const struct kf_holidays *h, int year)
{
    for (size_t i = 0; h != NULL && i < h->n_years; i++) {
        if (h->years[i] == year) {
            return 1;
        }
    }
    return 0;
}

int kf_holidays_require(const struct kf_holidays *h, int64_t from_ms, int64_t to_ms, char *err,
                        size_t cap)
{
    int y0, y1;

    if (to_ms <= from_ms) {
        return 0;
    }
    y0 = kf_year_of_day(kf_local_day(from_ms));
    y1 = kf_year_of_day(kf_local_day(to_ms - 1));
    for (int y = y0; y <= y1; y++) {
        if (!kf_holidays_covers(h, y)) {
            if (err != NULL) {
                snprintf(err, cap, "no calendar file for %d", y);
            }
            return -ENOENT;
        }
    }
    return 0;
}

/* ---- Service time -------------------------------------------------------------------- */

static int kf_window_cmp(const void *a, const void *b)
{
    const struct kf_window *x = a, *y = b;

    if (x->start_ms != y->start_ms) {
        return x->start_ms < y->start_ms ? -1 : 1;
    }
    return (x->end_ms > y->end_ms) - (x->end_ms < y->end_ms);
}

int kf_windows_normalize(struct kf_window *w, size_t n, size_t *ret_n)
{
    size_t out = 0;

    for (size_t i = 0; i < n; i++) {
        if (w[i].end_ms < w[i].start_ms) {
            return -EINVAL;
        }
    }
    if (n > 1) {
        qsort(w, n, sizeof(*w), kf_window_cmp);
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

const struct kf_dayspec *kf_cal_dayspec(const struct kf_cal *c, int32_t day)
{
    switch (kf_holidays_kind(c->holidays, day)) {
    case KF_DATE_HOLIDAY:
        return &c->week->day[KF_DAY_HOLIDAY];
    case KF_DATE_MAKEUP:
        return &c->week->day[KF_DAY_MAKEUP];
    default:
        return &c->week->day[kf_weekday(day)];
    }
}

/* Called for each service piece [a, b) in order; a non-zero return stops the walk. */
typedef int (*kf_piece_cb)(void *ud, int64_t a, int64_t b);

static void kf_cal_walk(const struct kf_cal *c, int64_t from, int64_t to, kf_piece_cb cb, void *ud)
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
        const struct kf_dayspec *ds = kf_cal_dayspec(c, d);
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

static int kf_sum_cb(void *ud, int64_t a, int64_t b)
{
    *(int64_t *)ud += b - a;
    return 0;
}

int64_t kf_cal_service_ms(const struct kf_cal *c, int64_t from_ms, int64_t to_ms)
{
    int64_t sum = 0;

    kf_cal_walk(c, from_ms, to_ms, kf_sum_cb, &sum);
    return sum;
}

struct kf_add_state {
    int64_t left, at;
};

static int kf_add_cb(void *ud, int64_t a, int64_t b)
{
    struct kf_add_state *st = ud;

    if (b - a >= st->left) {
        st->at = a + st->left;
        return 1;
    }
    st->left -= b - a;
    return 0;
}

int64_t kf_cal_add_service(const struct kf_cal *c, int64_t start_ms, int64_t service_ms)
{
    struct kf_add_state st = {service_ms, KF_TIME_NEVER};

    if (service_ms <= 0) {
        return start_ms;
    }
    kf_cal_walk(c, start_ms, start_ms + KF_CAL_HORIZON_DAYS * KF_DAY_MS, kf_add_cb, &st);
    return st.at;
}

struct kf_ivl_state {
    struct kf_window *out;
    size_t cap, n;
    int64_t last_end;
};

/* Merges a piece that starts where the previous one ended; counts past cap. */
static int kf_ivl_cb(void *ud, int64_t a, int64_t b)
{
    struct kf_ivl_state *st = ud;

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

size_t kf_cal_intervals(const struct kf_cal *c, int64_t from_ms, int64_t to_ms,
                        struct kf_window *out, size_t cap)
{
    struct kf_ivl_state st = {out, cap, 0, 0};

    kf_cal_walk(c, from_ms, to_ms, kf_ivl_cb, &st);
    return st.n;
}

int kf_month_range(int year, int month, int64_t *ret_from, int64_t *ret_to)
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
