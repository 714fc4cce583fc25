/* rules/holidays.c: the yearly calendar files (holidays.h): public holidays and make-up
 * working days, parsed strictly from their text. */
#include "rules/holidays.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <kf/time.h>

#include "rules/calendar.h"

#define KF_HOL_RANGE_MAX 31 /* days in one holiday line */

struct hday {
    int32_t day;
    uint8_t kind; /* enum kf_datekind */
    uint32_t file;
    int line;
    char name[KF_HOLIDAY_NAME_MAX + 1];
};

struct kf_holidays {
    struct hday *days; /* sorted by day, unique */
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
struct hentry {
    int line;
    uint8_t kind;
    int32_t first, last;
    char name[KF_HOLIDAY_NAME_MAX + 1];
};

struct hparse {
    const char *p, *end; /* the reader's position */
    int line, next_line, too_long;
    int year, year_line;
    struct hentry *ent;
    size_t n_ent, cap_ent;
    int err_line;
    char msg[160];
};

/* fgets-like reader that counts lines, so that every handler call knows its line. */
static char *hol_reader(char *str, int num, void *stream)
{
    struct hparse *ps = stream;
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

static int hol_fail(struct hparse *ps, const char *msg)
{
    if (ps->err_line == 0) {
        ps->err_line = ps->line;
        snprintf(ps->msg, sizeof(ps->msg), "%s", msg);
    }
    return 0;
}

/* "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD". */
static int hol_dates(const char *key, int32_t *ret_first, int32_t *ret_last)
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

static int hol_handler(void *user, const char *section, const char *name, const char *value)
{
    struct hparse *ps = user;
    struct hentry e;
    char msg[160];

    if (ps->err_line != 0) {
        return 1; /* the first error is the one reported */
    }
    if (strcmp(section, "calendar") == 0) {
        if (strcmp(name, "year") == 0) {
            char *end = NULL;
            long y = strtol(value, &end, 10);
            if (ps->year != 0) {
                return hol_fail(ps, "calendar.year: given twice");
            }
            if (end == value || *end != '\0' || y < 1991 || y > 2200) {
                return hol_fail(ps, "calendar.year: not a year (1991..2200)");
            }
            ps->year = (int)y;
            ps->year_line = ps->line;
            return 1;
        }
        if (strcmp(name, "source") == 0 || strcmp(name, "region") == 0) {
            return 1; /* free text, for people */
        }
        snprintf(msg, sizeof(msg), "unknown key \"%s\" in [calendar]", name);
        return hol_fail(ps, msg);
    }
    memset(&e, 0, sizeof(e));
    if (strcmp(section, "holidays") == 0) {
        e.kind = KF_DATE_HOLIDAY;
    } else if (strcmp(section, "workdays") == 0) {
        e.kind = KF_DATE_MAKEUP;
    } else {
        snprintf(msg, sizeof(msg), "unknown section [%s]", section);
        return hol_fail(ps, msg);
    }
    if (hol_dates(name, &e.first, &e.last) < 0) {
        snprintf(msg, sizeof(msg),
                 "\"%.40s\": not a date YYYY-MM-DD or range YYYY-MM-DD..YYYY-MM-DD", name);
        return hol_fail(ps, msg);
    }
    if (e.last < e.first) {
        return hol_fail(ps, "range ends before it starts");
    }
    if (e.last - e.first >= KF_HOL_RANGE_MAX) {
        return hol_fail(ps, "range longer than 31 days");
    }
    if (strlen(value) > KF_HOLIDAY_NAME_MAX) {
        return hol_fail(ps, "name longer than 63 bytes");
    }
    memcpy(e.name, value, strlen(value) + 1);
    e.line = ps->line;
    if (ps->n_ent == ps->cap_ent) {
        size_t cap = ps->cap_ent ? ps->cap_ent * 2 : 32;
        struct hentry *ne = realloc(ps->ent, cap * sizeof(*ne));
        if (ne == NULL) {
            return hol_fail(ps, "out of memory");
        }
        ps->ent = ne;
        ps->cap_ent = cap;
    }
    ps->ent[ps->n_ent++] = e;
    return 1;
}

static int hday_cmp(const void *a, const void *b)
{
    const struct hday *x = a, *y = b;

    if (x->day != y->day) {
        return x->day < y->day ? -1 : 1;
    }
    return (x->line > y->line) - (x->line < y->line);
}

static const struct hday *hol_find(const struct kf_holidays *h, int32_t day)
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

static int year_of_day(int32_t day)
{
    char buf[16];

    kf_day_format(day, buf, sizeof(buf));
    return (int)strtol(buf, NULL, 10);
}

/* Validate the parsed entries and merge them into h; all or nothing. */
static int hol_commit(struct kf_holidays *h, struct hparse *ps, const char *name, char *err,
                      size_t cap)
{
    struct hday *nd = NULL, *all = NULL;
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
        const struct hentry *e = &ps->ent[i];
        for (int32_t d = e->first; d <= e->last; d++) {
            if (d < lo || d > hi) {
                snprintf(err, cap, "%s:%d: %s is outside the year %d (%04d-12-01..%04d-12-31)",
                         name, e->line, kf_day_format(d, d1, sizeof(d1)), ps->year, ps->year - 1,
                         ps->year);
                goto out_free;
            }
            if (e->kind == KF_DATE_MAKEUP && kf_calendar_weekday(d) < KF_DAY_SAT) {
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
        qsort(nd, nn, sizeof(*nd), hday_cmp);
    }
    for (size_t i = 0; i < nn; i++) {
        const struct hday *old = hol_find(h, nd[i].day);
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
        qsort(all, h->n + nn, sizeof(*all), hday_cmp);
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

static int hol_load(struct kf_holidays *h, const char *text, size_t len, const char *name,
                    char *err, size_t cap)
{
    struct hparse ps;
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
    rc = ini_parse_stream(hol_reader, &ps, hol_handler, &ps);
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
        rc = hol_commit(h, &ps, name, err, cap);
    }
    free(ps.ent);
    return rc;
}

int kf_holidays_load_string(struct kf_holidays *h, const char *text, const char *name, char *err,
                            size_t cap)
{
    return hol_load(h, text, strlen(text), name, err, cap);
}

enum kf_datekind kf_holidays_kind(const struct kf_holidays *h, int32_t day)
{
    const struct hday *d = hol_find(h, day);

    return d ? (enum kf_datekind)d->kind : KF_DATE_NORMAL;
}

const char *kf_holidays_name(const struct kf_holidays *h, int32_t day)
{
    const struct hday *d = hol_find(h, day);

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
    y0 = year_of_day(kf_local_day(from_ms));
    y1 = year_of_day(kf_local_day(to_ms - 1));
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
