/* rules/week.c: the weekly report's figures (week.h; docs/REPORTS.md). The document's JSON
 * and the inputs' canonical texts are in rules/week_json.c. */
#include "rules/week.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#define DAY_MS 86400000LL

/* ---- ISO weeks --------------------------------------------------------------------------------
 */

/* The local day of 1 January (month 1) or any date of a year; -1 on a bad year. */
static int32_t day_of(int year, int month, int mday)
{
    char buf[32];
    int32_t d;

    if (year < 1900 || year > 9998) {
        return -1;
    }
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d", year, month, mday);
    return kf_day_parse(buf, &d) < 0 ? -1 : d;
}

static int year_of(int32_t day)
{
    char buf[16];
    int y = 0;

    kf_day_format(day, buf, sizeof(buf));
    for (int i = 0; i < 4; i++) {
        y = y * 10 + (buf[i] - '0');
    }
    return y;
}

void kf_week_of_day(int32_t day, int *ret_year, int *ret_week)
{
    /* The ISO week is the one whose Thursday lies in the year. */
    int32_t thu = day - kf_calendar_weekday(day) + 3;
    int y = year_of(thu);
    int32_t jan1 = day_of(y, 1, 1);

    *ret_year = y;
    *ret_week = (int)((thu - jan1) / 7 + 1);
}

int kf_week_first_day(int iso_year, int iso_week, int32_t *ret_day)
{
    int32_t jan4 = day_of(iso_year, 1, 4), d;
    int y, w;

    if (jan4 < 0 || iso_week < 1 || iso_week > 53) {
        return -EINVAL;
    }
    d = jan4 - kf_calendar_weekday(jan4) + 7 * (iso_week - 1);
    kf_week_of_day(d, &y, &w);
    if (y != iso_year || w != iso_week) {
        return -EINVAL; /* week 53 of a year that has 52 */
    }
    *ret_day = d;
    return 0;
}

int kf_week_range(int iso_year, int iso_week, int64_t *ret_from, int64_t *ret_to)
{
    int32_t d;

    if (kf_week_first_day(iso_year, iso_week, &d) < 0) {
        return -EINVAL;
    }
    *ret_from = kf_day_start_ms(d);
    *ret_to = kf_day_start_ms(d + 7);
    return 0;
}

void kf_week_prev(int iso_year, int iso_week, int *ret_year, int *ret_week)
{
    int32_t d;

    if (kf_week_first_day(iso_year, iso_week, &d) < 0) {
        *ret_year = iso_year;
        *ret_week = iso_week;
        return;
    }
    kf_week_of_day(d - 7, ret_year, ret_week);
}

int kf_week_parse(const char *s, int *ret_year, int *ret_week)
{
    int y = 0, w = 0;
    int32_t d;

    if (s == NULL || strlen(s) != 8 || s[4] != '-' || s[5] != 'W') {
        return -EINVAL;
    }
    for (int i = 0; i < 8; i++) {
        if (i == 4 || i == 5) {
            continue;
        }
        if (s[i] < '0' || s[i] > '9') {
            return -EINVAL;
        }
        if (i < 4) {
            y = y * 10 + (s[i] - '0');
        } else {
            w = w * 10 + (s[i] - '0');
        }
    }
    if (kf_week_first_day(y, w, &d) < 0) {
        return -EINVAL;
    }
    *ret_year = y;
    *ret_week = w;
    return 0;
}

char *kf_week_format(int iso_year, int iso_week, char *buf, size_t cap)
{
    snprintf(buf, cap, "%04d-W%02d", iso_year, iso_week);
    return buf;
}

int64_t kf_week_close_ms(int iso_year, int iso_week, int64_t delay_ms)
{
    int64_t from = 0, to = 0;

    kf_week_range(iso_year, iso_week, &from, &to);
    return to + delay_ms;
}

void kf_week_last_closed(int64_t now_ms, int64_t delay_ms, int *ret_year, int *ret_week)
{
    /* The week that contains (now - delay) is still open; the one before it has closed. */
    int32_t d = kf_local_day(now_ms - delay_ms);

    kf_week_of_day(d - 7, ret_year, ret_week);
}

const char *kf_week_status_name(int status)
{
    switch (status) {
    case KF_WEEK_ACTIVE:
        return "active";
    case KF_WEEK_NO_TXNS:
        return "no_transactions";
    case KF_WEEK_NOT_REPORTING:
        return "not_reporting";
    case KF_WEEK_NO_TERMINALS:
        return "no_terminals";
    default:
        return "";
    }
}

/* ---- Shared helpers ----------------------------------------------------------------------------
 */

void kf__week_sb_printf(struct kf__week_sb *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (sb->err) {
        return;
    }
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, sb->buf ? sb->cap - sb->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->err = -EINVAL;
            return;
        }
        if (sb->buf && (size_t)n < sb->cap - sb->len) {
            sb->len += (size_t)n;
            return;
        }
        size_t cap = (sb->cap + (size_t)n + 1) * 2;
        char *nb = realloc(sb->buf, cap);
        if (nb == NULL) {
            sb->err = -ENOMEM;
            return;
        }
        sb->buf = nb;
        sb->cap = cap;
    }
}

void kf__week_sb_field(struct kf__week_sb *sb, const char *s)
{
    if (s == NULL) {
        s = "";
    }
    if (strpbrk(s, "\t\r\n") != NULL) {
        sb->err = sb->err ? sb->err : -EINVAL;
        return;
    }
    kf__week_sb_printf(sb, "%s", s);
}

int kf__week_sb_finish(struct kf__week_sb *sb, char **ret, size_t *ret_len)
{
    if (!sb->err && sb->buf == NULL) {
        kf__week_sb_printf(sb, "%s", "");
    }
    if (sb->err) {
        free(sb->buf);
        return sb->err;
    }
    *ret = sb->buf;
    *ret_len = sb->len;
    return 0;
}

int kf__week_in_service(const struct kf_window *w, size_t n, int64_t from, int64_t to)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i].start_ms < to && w[i].end_ms > from) {
            return 1;
        }
    }
    return 0;
}

int64_t kf__week_ratio(int64_t a, int64_t m, int64_t b)
{
    __int128 p;
    __int128 q;

    if (b <= 0) {
        return KF_WEEK_NA;
    }
    p = (__int128)a * m;
    q = p / b;
    if (p % b != 0 && p < 0) {
        q--; /* floor, not toward zero */
    }
    return (int64_t)q;
}

/* ---- Lookups: codes sorted, each with its position in the input ---------------------------- */

struct ix {
    const char *key;
    size_t i;
};

static int ix_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ix *)a)->key, ((const struct ix *)b)->key);
}

/* Sort x[0..n) by key; a key given twice (or empty, or too long) is -EINVAL. */
static int ix_sort(struct ix *x, size_t n, const char *what, char *err, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        if (x[i].key == NULL || x[i].key[0] == '\0' || strlen(x[i].key) > KF_TERMINAL_ID_MAX) {
            snprintf(err, cap, "%s %zu: no code, or one longer than %d bytes", what, i,
                     KF_TERMINAL_ID_MAX);
            return -EINVAL;
        }
    }
    if (n > 1) {
        qsort(x, n, sizeof(*x), ix_cmp);
    }
    for (size_t i = 1; i < n; i++) {
        if (strcmp(x[i - 1].key, x[i].key) == 0) {
            snprintf(err, cap, "%s %s given twice", what, x[i].key);
            return -EINVAL;
        }
    }
    return 0;
}

/* The sorted position of key, or -1. */
static long ix_find(const struct ix *x, size_t n, const char *key)
{
    size_t lo = 0, hi = n;

    if (key == NULL) {
        return -1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(x[mid].key, key);
        if (c == 0) {
            return (long)mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/* ---- The computation ------------------------------------------------------------------------- */

/* A terminal entry as the computation follows it. */
struct term {
    size_t in; /* its index in the input */
    const char *asset, *zone_id;
    long zone;     /* sorted zone position */
    int inweek;    /* in service at some instant of the week */
    unsigned mask; /* bit d: day d of the week was a service day */
    int64_t days;
    int reported, active;
};

static int term_cmp(const void *a, const void *b)
{
    const struct term *x = a, *y = b;
    int c = strcmp(x->asset, y->asset);

    return c ? c : strcmp(x->zone_id, y->zone_id);
}

/* The first terminal (sorted) of asset, or n. */
static size_t term_lower(const struct term *t, size_t n, const char *asset)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t[mid].asset, asset) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

struct work {
    const struct kf_week_input *in;
    struct kf_week_report *r;
    struct ix *units, *banks, *families, *items, *zones;
    struct term *terms;
    size_t n_terms;
    uint8_t *zone_item, *zone_family; /* this week: a zone had a txn of the item / family */
    long *item_family;                /* each item's family position */
    long *zone_unit, *zone_bank;
};

static void work_free(struct work *w)
{
    free(w->units);
    free(w->banks);
    free(w->families);
    free(w->items);
    free(w->zones);
    free(w->terms);
    free(w->zone_item);
    free(w->zone_family);
    free(w->item_family);
    free(w->zone_unit);
    free(w->zone_bank);
}

void kf_week_free(struct kf_week_report *r)
{
    if (r == NULL) {
        return;
    }
    free(r->units);
    free(r->banks);
    free(r->zones);
    free(r->families);
    free(r->items);
    free(r->inactive);
    free(r->idle);
    free(r);
}

/* A row with every n/a figure set so, before anything is added. */
static void row_init(struct kf_week_row *row, const char *code, const char *name)
{
    memset(row, 0, sizeof(*row));
    row->code = code;
    row->name = name;
}

/* The ratios and differences, from the row's own sums: one division each. */
static void row_finish(struct kf_week_row *r)
{
    r->total = r->ok + r->failed + r->abandoned;
    r->ok_per_terminal_day_x100 = kf__week_ratio(r->ok, 100, r->terminal_days);
    r->ok_change = r->ok - r->ok_prev;
    /* Against a zero base: no change is 0 per mille, growth from nothing has no ratio. */
    r->ok_change_pm = r->ok_prev > 0 ? kf__week_ratio(r->ok_change, 1000, r->ok_prev)
                      : r->ok == 0   ? 0
                                     : KF_WEEK_NA;
    r->availability_bp = kf__week_ratio(r->uptime_s, 10000, r->owed_s);
    r->target_bp = r->owed_s > 0 ? kf__week_ratio(r->target_owed, 1, r->owed_s) : KF_WEEK_NA;
    r->availability_prev_bp = kf__week_ratio(r->uptime_prev_s, 10000, r->owed_prev_s);
    r->availability_change_bp =
        r->availability_bp == KF_WEEK_NA || r->availability_prev_bp == KF_WEEK_NA
            ? KF_WEEK_NA
            : r->availability_bp - r->availability_prev_bp;
}

/* Add a zone's row to a roll-up (unit, bank, fleet). */
static void row_add(struct kf_week_row *acc, const struct kf_week_row *z, int incidents)
{
    acc->zones++;
    acc->zones_commissioned += z->commissioned > 0;
    acc->zones_reporting += z->reporting > 0;
    acc->zones_active += z->total > 0;
    acc->planned_kiosks += z->planned_kiosks;
    acc->planned_itms += z->planned_itms;
    acc->planned += z->planned;
    acc->commissioned += z->commissioned;
    acc->reporting += z->reporting;
    acc->active += z->active;
    acc->terminal_days += z->terminal_days;
    acc->ok += z->ok;
    acc->failed += z->failed;
    acc->abandoned += z->abandoned;
    acc->ok_prev += z->ok_prev;
    acc->owed_s += z->owed_s;
    acc->uptime_s += z->uptime_s;
    acc->target_owed += z->target_owed;
    acc->owed_prev_s += z->owed_prev_s;
    acc->uptime_prev_s += z->uptime_prev_s;
    if (incidents) {
        acc->open_incidents += z->open_incidents;
    }
}

/* Names into rows, in code order; positions via the sorted index. */
static int names_rows(const struct kf_week_name *names, size_t n, const char *what,
                      struct ix **ret_ix, struct kf_week_row **ret_rows, char *err, size_t cap)
{
    struct ix *x = calloc(n + 1, sizeof(*x));
    struct kf_week_row *rows = calloc(n + 1, sizeof(*rows));
    int r;

    if (x == NULL || rows == NULL) {
        free(x);
        free(rows);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        x[i] = (struct ix){names[i].code, i};
    }
    r = ix_sort(x, n, what, err, cap);
    for (size_t j = 0; r == 0 && j < n; j++) {
        row_init(&rows[j], names[x[j].i].code, names[x[j].i].name ? names[x[j].i].name : "");
    }
    if (r < 0) {
        free(x);
        free(rows);
        return r;
    }
    *ret_ix = x;
    *ret_rows = rows;
    return 0;
}

static int setup_registry(struct work *w, char *err, size_t cap)
{
    const struct kf_week_input *in = w->in;
    struct kf_week_report *r = w->r;
    int rc;

    if ((rc = names_rows(in->units, in->n_units, "unit", &w->units, &r->units, err, cap)) < 0 ||
        (rc = names_rows(in->banks, in->n_banks, "bank", &w->banks, &r->banks, err, cap)) < 0 ||
        (rc = names_rows(in->families, in->n_families, "family", &w->families, &r->families, err,
                         cap)) < 0) {
        return rc;
    }
    r->n_units = in->n_units;
    r->n_banks = in->n_banks;
    r->n_families = in->n_families;
    w->items = calloc(in->n_items + 1, sizeof(*w->items));
    r->items = calloc(in->n_items + 1, sizeof(*r->items));
    w->item_family = calloc(in->n_items + 1, sizeof(*w->item_family));
    w->zones = calloc(in->n_zones + 1, sizeof(*w->zones));
    r->zones = calloc(in->n_zones + 1, sizeof(*r->zones));
    w->zone_unit = calloc(in->n_zones + 1, sizeof(*w->zone_unit));
    w->zone_bank = calloc(in->n_zones + 1, sizeof(*w->zone_bank));
    if (!w->items || !r->items || !w->item_family || !w->zones || !r->zones || !w->zone_unit ||
        !w->zone_bank) {
        return -ENOMEM;
    }
    r->n_items = in->n_items;
    r->n_zones = in->n_zones;
    for (size_t i = 0; i < in->n_items; i++) {
        w->items[i] = (struct ix){in->items[i].code, i};
    }
    if ((rc = ix_sort(w->items, in->n_items, "item", err, cap)) < 0) {
        return rc;
    }
    for (size_t j = 0; j < in->n_items; j++) {
        const struct kf_week_item *it = &in->items[w->items[j].i];
        long f = ix_find(w->families, in->n_families, it->family);

        if (f < 0) {
            snprintf(err, cap, "item %s: no family %s", it->code, it->family ? it->family : "");
            return -EINVAL;
        }
        w->item_family[j] = f;
        row_init(&r->items[j], it->code, it->name ? it->name : "");
        r->items[j].family = in->families[w->families[f].i].code;
        r->families[f].items++;
    }
    for (size_t i = 0; i < in->n_zones; i++) {
        w->zones[i] = (struct ix){in->zones[i].id, i};
    }
    if ((rc = ix_sort(w->zones, in->n_zones, "zone", err, cap)) < 0) {
        return rc;
    }
    for (size_t j = 0; j < in->n_zones; j++) {
        const struct kf_week_zone_in *z = &in->zones[w->zones[j].i];
        struct kf_week_row *row = &r->zones[j];

        w->zone_unit[j] = ix_find(w->units, in->n_units, z->unit);
        w->zone_bank[j] = ix_find(w->banks, in->n_banks, z->bank);
        if (w->zone_unit[j] < 0 || w->zone_bank[j] < 0) {
            snprintf(err, cap, "zone %s: no %s %s", z->id, w->zone_unit[j] < 0 ? "unit" : "bank",
                     w->zone_unit[j] < 0 ? (z->unit ? z->unit : "") : (z->bank ? z->bank : ""));
            return -EINVAL;
        }
        if (z->kiosks < 0 || z->itms < 0) {
            snprintf(err, cap, "zone %s: a negative plan", z->id);
            return -EINVAL;
        }
        row_init(row, z->id, z->name ? z->name : "");
        row->unit = z->unit;
        row->bank = z->bank;
        row->branch = z->branch ? z->branch : "";
        row->planned_kiosks = z->kiosks;
        row->planned_itms = z->itms;
        row->planned = z->kiosks + z->itms;
    }
    w->zone_item = calloc(in->n_zones * in->n_items + 1, 1);
    w->zone_family = calloc(in->n_zones * in->n_families + 1, 1);
    return w->zone_item && w->zone_family ? 0 : -ENOMEM;
}

/* Each terminal entry: in service in the week, and on which days (a service day: some of the
 * day's scheduled time, holidays and make-up days applied, while in service). */
static int setup_terminals(struct work *w, char *err, size_t cap)
{
    const struct kf_week_input *in = w->in;
    const struct kf_week_report *r = w->r;

    w->terms = calloc(in->n_terminals + 1, sizeof(*w->terms));
    if (w->terms == NULL) {
        return -ENOMEM;
    }
    w->n_terms = in->n_terminals;
    for (size_t i = 0; i < in->n_terminals; i++) {
        const struct kf_week_terminal_in *t = &in->terminals[i];
        struct term *tm = &w->terms[i];
        struct kf_cal cal = {t->hours, in->hol, NULL, 0};

        tm->in = i;
        tm->asset = t->asset;
        tm->zone_id = t->zone;
        tm->zone = ix_find(w->zones, in->n_zones, t->zone);
        if (t->asset == NULL || t->asset[0] == '\0' || tm->zone < 0 || t->hours == NULL ||
            (t->service == NULL && t->n_service > 0)) {
            snprintf(err, cap, "terminal %s: no asset, hours or zone %s", t->asset ? t->asset : "",
                     t->zone ? t->zone : "");
            return -EINVAL;
        }
        tm->inweek = kf__week_in_service(t->service, t->n_service, r->from_ms, r->to_ms);
        for (int d = 0; tm->inweek && d < 7; d++) {
            int64_t ds = r->from_ms + d * DAY_MS, de = ds + DAY_MS, ms = 0;

            for (size_t k = 0; k < t->n_service; k++) {
                int64_t a = t->service[k].start_ms > ds ? t->service[k].start_ms : ds;
                int64_t b = t->service[k].end_ms < de ? t->service[k].end_ms : de;
                ms += kf_calendar_service_ms(&cal, a, b);
            }
            if (ms > 0) {
                tm->mask |= 1u << d;
                tm->days++;
            }
        }
    }
    if (w->n_terms > 1) {
        qsort(w->terms, w->n_terms, sizeof(*w->terms), term_cmp);
    }
    for (size_t i = 1; i < w->n_terms; i++) {
        if (term_cmp(&w->terms[i - 1], &w->terms[i]) == 0) {
            snprintf(err, cap, "terminal %s at %s given twice", w->terms[i].asset,
                     w->terms[i].zone_id);
            return -EINVAL;
        }
    }
    return 0;
}

static void add_usage(struct work *w)
{
    const struct kf_week_input *in = w->in;
    struct kf_week_report *r = w->r;

    for (size_t i = 0; i < in->n_usage; i++) {
        const struct kf_week_usage_in *u = &in->usage[i];
        int cur = u->day >= r->first_day && u->day < r->first_day + 7;
        int prev = u->day >= r->first_day - 7 && u->day < r->first_day;
        long z = ix_find(w->zones, in->n_zones, u->zone);
        long it = ix_find(w->items, in->n_items, u->item);
        int64_t n = u->ok + u->failed + u->abandoned;

        if (!cur && !prev) {
            continue;
        }
        if (cur && u->asset) {
            /* Any row of the asset this week says it reported, whatever its zone or item. */
            size_t k = term_lower(w->terms, w->n_terms, u->asset);
            for (; k < w->n_terms && strcmp(w->terms[k].asset, u->asset) == 0; k++) {
                w->terms[k].reported |= n > 0;
                if (z >= 0 && it >= 0 && w->terms[k].zone == z) {
                    w->terms[k].active |= n > 0;
                }
            }
        }
        if (z < 0 || it < 0) {
            r->uncounted += cur ? n : 0;
            continue;
        }
        long f = w->item_family[it];
        if (prev) {
            r->zones[z].ok_prev += u->ok;
            r->items[it].ok_prev += u->ok;
            r->families[f].ok_prev += u->ok;
            continue;
        }
        r->zones[z].ok += u->ok;
        r->zones[z].failed += u->failed;
        r->zones[z].abandoned += u->abandoned;
        r->items[it].ok += u->ok;
        r->items[it].failed += u->failed;
        r->items[it].abandoned += u->abandoned;
        r->families[f].ok += u->ok;
        r->families[f].failed += u->failed;
        r->families[f].abandoned += u->abandoned;
        if (n > 0) {
            w->zone_item[(size_t)z * in->n_items + (size_t)it] = 1;
            w->zone_family[(size_t)z * in->n_families + (size_t)f] = 1;
        }
    }
}

/* Is the incident down at the week's end: one of its spans began before it and had not ended
 * by then? */
static int open_at(const struct kf_incident *inc, int64_t t)
{
    for (uint32_t k = 0; k < inc->n_spans && k < KF_INC_SPANS_MAX; k++) {
        if (inc->spans[k].start_ms < t && inc->spans[k].end_ms > t) {
            return 1;
        }
    }
    return 0;
}

static int add_terminals_avail_incidents(struct work *w)
{
    const struct kf_week_input *in = w->in;
    struct kf_week_report *r = w->r;
    unsigned *mask = calloc(r->n_zones + 1, sizeof(*mask));

    if (mask == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < w->n_terms; i++) {
        struct term *tm = &w->terms[i];
        struct kf_week_row *z = &r->zones[tm->zone];

        if (!tm->inweek) {
            continue;
        }
        tm->reported |= in->terminals[tm->in].online != 0;
        z->commissioned++;
        z->reporting += tm->reported;
        z->active += tm->active;
        z->terminal_days += tm->days;
        mask[tm->zone] |= tm->mask;
    }
    for (size_t j = 0; j < r->n_zones; j++) {
        r->zones[j].service_days = __builtin_popcount(mask[j]);
    }
    free(mask);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < in->n_avail[k]; i++) {
            const struct kf_week_avail_in *a = &in->avail[k][i];
            long z = ix_find(w->zones, in->n_zones, a->zone);

            if (z < 0) {
                continue;
            }
            if (k == 0) {
                r->zones[z].owed_s += a->owed_s;
                r->zones[z].uptime_s += a->uptime_s;
                r->zones[z].target_owed += a->target_owed;
            } else {
                r->zones[z].owed_prev_s += a->owed_s;
                r->zones[z].uptime_prev_s += a->uptime_s;
            }
        }
    }
    for (size_t i = 0; i < in->n_incidents; i++) {
        long z;

        if (in->incidents[i].inc == NULL || !open_at(in->incidents[i].inc, r->to_ms)) {
            continue;
        }
        r->fleet.open_incidents++;
        z = ix_find(w->zones, in->n_zones, in->incidents[i].zone);
        if (z >= 0) {
            r->zones[z].open_incidents++;
        }
    }
    return 0;
}

struct rank {
    size_t zone;
    int64_t v;
    const char *id;
};

static int rank_desc(const void *a, const void *b)
{
    const struct rank *x = a, *y = b;

    if (x->v != y->v) {
        return x->v > y->v ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

static int rank_asc(const void *a, const void *b)
{
    const struct rank *x = a, *y = b;

    if (x->v != y->v) {
        return x->v < y->v ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

static int finish(struct work *w)
{
    const struct kf_week_input *in = w->in;
    struct kf_week_report *r = w->r;
    struct rank *rk;
    size_t n_rk = 0, n_in = 0;

    for (size_t j = 0; j < r->n_zones; j++) {
        struct kf_week_row *z = &r->zones[j];

        row_finish(z);
        z->status = z->total > 0           ? KF_WEEK_ACTIVE
                    : z->commissioned == 0 ? KF_WEEK_NO_TERMINALS
                    : z->reporting == 0    ? KF_WEEK_NOT_REPORTING
                                           : KF_WEEK_NO_TXNS;
        row_add(&r->units[w->zone_unit[j]], z, 1);
        row_add(&r->banks[w->zone_bank[j]], z, 1);
        row_add(&r->fleet, z, 0);
        for (size_t it = 0; it < r->n_items; it++) {
            r->items[it].zones_active += w->zone_item[j * in->n_items + it];
        }
        for (size_t f = 0; f < r->n_families; f++) {
            r->families[f].zones_active += w->zone_family[j * in->n_families + f];
        }
    }
    for (size_t j = 0; j < r->n_units; j++) {
        row_finish(&r->units[j]);
    }
    for (size_t j = 0; j < r->n_banks; j++) {
        row_finish(&r->banks[j]);
    }
    row_finish(&r->fleet);
    /* Every terminal offers every item: an item's or family's transactions per terminal per
     * service day are over the fleet's terminal days. */
    for (size_t j = 0; j < r->n_families; j++) {
        r->families[j].terminal_days = r->fleet.terminal_days;
        row_finish(&r->families[j]);
    }
    for (size_t j = 0; j < r->n_items; j++) {
        r->items[j].terminal_days = r->fleet.terminal_days;
        row_finish(&r->items[j]);
    }
    r->inactive = calloc(r->n_zones + 1, sizeof(*r->inactive));
    r->idle = calloc(w->n_terms + 1, sizeof(*r->idle));
    rk = calloc(r->n_zones + 1, sizeof(*rk));
    if (!r->inactive || !r->idle || !rk) {
        free(rk);
        return -ENOMEM;
    }
    for (size_t j = 0; j < r->n_zones; j++) {
        if (r->zones[j].total == 0) {
            r->inactive[n_in++] = j;
        }
        if (r->zones[j].terminal_days > 0) {
            rk[n_rk++] = (struct rank){j, r->zones[j].ok_per_terminal_day_x100, r->zones[j].code};
        }
    }
    r->n_inactive = n_in;
    /* Idle terminals by zone, then asset. The terminals are sorted by asset: collect, sort. */
    for (size_t i = 0; i < w->n_terms; i++) {
        const struct term *tm = &w->terms[i];
        if (tm->inweek && !tm->active) {
            r->idle[r->n_idle++] =
                (struct kf_week_idle){in->terminals[tm->in].asset, in->terminals[tm->in].zone,
                                      in->terminals[tm->in].kind, (uint8_t)tm->reported, tm->days};
        }
    }
    for (size_t i = 1; i < r->n_idle; i++) {
        /* Insertion sort: stable, and the list is short next to the fleet. */
        struct kf_week_idle x = r->idle[i];
        size_t k = i;
        while (k > 0 && (strcmp(r->idle[k - 1].zone, x.zone) > 0 ||
                         (strcmp(r->idle[k - 1].zone, x.zone) == 0 &&
                          strcmp(r->idle[k - 1].asset, x.asset) > 0))) {
            r->idle[k] = r->idle[k - 1];
            k--;
        }
        r->idle[k] = x;
    }
    if (n_rk > 1) {
        qsort(rk, n_rk, sizeof(*rk), rank_desc);
    }
    for (size_t i = 0; i < n_rk && i < KF_WEEK_RANK_N; i++) {
        r->busiest[r->n_busiest++] = rk[i].zone;
    }
    if (n_rk > 1) {
        qsort(rk, n_rk, sizeof(*rk), rank_asc);
    }
    for (size_t i = 0; i < n_rk && i < KF_WEEK_RANK_N; i++) {
        r->quietest[r->n_quietest++] = rk[i].zone;
    }
    free(rk);
    return 0;
}

int kf_week_compute(const struct kf_week_input *in, struct kf_week_report **ret, char *err,
                    size_t cap)
{
    struct work w = {.in = in};
    struct kf_week_report *r;
    int rc;

    if (cap > 0) {
        err[0] = '\0';
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    w.r = r;
    r->iso_year = in->iso_year;
    r->iso_week = in->iso_week;
    r->draft = in->draft != 0;
    r->avail_as_of_ms = in->avail_as_of_ms;
    r->incidents_cut_ms = in->incidents_cut_ms;
    r->inputs = in->inputs;
    r->n_inputs = in->n_inputs;
    if (kf_week_first_day(in->iso_year, in->iso_week, &r->first_day) < 0) {
        snprintf(err, cap, "no week %d-W%02d", in->iso_year, in->iso_week);
        rc = -EINVAL;
        goto out_fail;
    }
    kf_week_range(in->iso_year, in->iso_week, &r->from_ms, &r->to_ms);
    kf_week_prev(in->iso_year, in->iso_week, &r->prev_year, &r->prev_week);
    for (int d = 0; d < 7; d++) {
        r->days[d].day = r->first_day + d;
        r->days[d].kind = (uint8_t)kf_holidays_kind(in->hol, r->first_day + d);
        r->days[d].name = kf_holidays_name(in->hol, r->first_day + d);
    }
    for (size_t i = 0; i < in->n_inputs; i++) {
        for (size_t k = 0; k < i; k++) {
            if (strcmp(in->inputs[i].name, in->inputs[k].name) == 0) {
                snprintf(err, cap, "input %s named twice", in->inputs[i].name);
                rc = -EINVAL;
                goto out_fail;
            }
        }
    }
    if ((rc = setup_registry(&w, err, cap)) < 0 || (rc = setup_terminals(&w, err, cap)) < 0) {
        goto out_fail;
    }
    row_init(&r->fleet, "all", "");
    add_usage(&w);
    if ((rc = add_terminals_avail_incidents(&w)) < 0 || (rc = finish(&w)) < 0) {
        goto out_fail;
    }
    work_free(&w);
    *ret = r;
    return 0;
out_fail:
    if (rc == -ENOMEM && cap > 0 && err[0] == '\0') {
        snprintf(err, cap, "out of memory");
    }
    work_free(&w);
    kf_week_free(r);
    return rc;
}
