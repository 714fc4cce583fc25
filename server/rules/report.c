/* rules/report.c: the monthly availability report (report.h). */
#include "rules/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

/* Service ms of cal inside the (disjoint) windows w. */
static int64_t svc_sum(const struct kf_cal *cal, const struct kf_window *w, size_t n)
{
    int64_t sum = 0;

    for (size_t i = 0; i < n; i++) {
        sum += kf_calendar_service_ms(cal, w[i].start_ms, w[i].end_ms);
    }
    return sum;
}

static uint32_t in_period(int64_t t, int64_t from, int64_t to)
{
    return t != 0 && t >= from && t < to ? 1u : 0u;
}

/* Does one of inc's down spans begin in [from, to)? */
static uint32_t span_begins(const struct kf_incident *inc, int64_t from, int64_t to)
{
    for (uint32_t k = 0; k < inc->n_spans; k++) {
        if (in_period(inc->spans[k].start_ms, from, to)) {
            return 1;
        }
    }
    return 0;
}

/* out = the intersection of the (normalized) window lists a and b; returns its length.
 * out holds at least na + nb windows. */
static size_t intersect(const struct kf_window *a, size_t na, const struct kf_window *b, size_t nb,
                        struct kf_window *out)
{
    size_t i = 0, j = 0, n = 0;

    while (i < na && j < nb) {
        int64_t s = a[i].start_ms > b[j].start_ms ? a[i].start_ms : b[j].start_ms;
        int64_t e = a[i].end_ms < b[j].end_ms ? a[i].end_ms : b[j].end_ms;
        if (e > s) {
            out[n].start_ms = s;
            out[n++].end_ms = e;
        }
        if (a[i].end_ms < b[j].end_ms) {
            i++;
        } else {
            j++;
        }
    }
    return n;
}

/* Does inc stop an item needing `needs`? An offline or device-wide incident (peripheral 0)
 * stops every item; a peripheral's, the items that need it (the screen: all of them). */
static int stops_item(const struct kf_incident *inc, uint32_t needs)
{
    return inc->periph == 0 || inc->periph >= 32 || (needs & (1u << inc->periph)) != 0;
}

/* The item figures of one terminal (row->item_owed, item_down), once per distinct `needs`
 * mask: the company downtime of an item needing it (the first report's wait, fd, and the
 * incidents that stop it, in service, outside excluded time), times the number of items with
 * that mask. excl, svc as report_one made them. */
static int items_figures(const struct kf_report_terminal *in, const struct kf_holidays *hol,
                         int64_t from, int64_t to, const struct kf_window *fd, size_t nfd,
                         const struct kf_window *excl, size_t ne, const struct kf_window *svc,
                         size_t ns, struct kf_report_row *row)
{
    struct kf_cal cal = {in->week, hol, excl, ne};
    struct kf_window *down, *tmp;
    size_t cap = nfd + 1, nd;

    if (in->item_needs == NULL) {
        return -EINVAL;
    }
    for (size_t i = 0; i < in->n_incidents; i++) {
        cap += in->incidents[i].n_spans;
    }
    down = calloc(2 * cap + ns + 1, sizeof(*down));
    if (down == NULL) {
        return -ENOMEM;
    }
    tmp = down + cap;
    for (size_t i = 0; i < in->n_items; i++) {
        uint32_t needs = in->item_needs[i];
        int64_t w = 0;
        size_t j;

        for (j = 0; j < i && in->item_needs[j] != needs; j++) {
        }
        if (j < i) {
            continue; /* that mask is counted already */
        }
        for (j = i; j < in->n_items; j++) {
            w += in->item_needs[j] == needs;
        }
        memcpy(down, fd, nfd * sizeof(*fd));
        nd = nfd;
        for (size_t k = 0; k < in->n_incidents; k++) {
            const struct kf_incident *inc = &in->incidents[k];
            if (strcmp(inc->terminal, in->terminal) != 0 || inc->attr != KF_ATTR_COMPANY ||
                !stops_item(inc, needs)) {
                continue;
            }
            for (uint32_t s = 0; s < inc->n_spans; s++) {
                down[nd].start_ms = inc->spans[s].start_ms > from ? inc->spans[s].start_ms : from;
                down[nd].end_ms = inc->spans[s].end_ms < to ? inc->spans[s].end_ms : to;
                nd += down[nd].end_ms > down[nd].start_ms;
            }
        }
        if (kf_calendar_windows_normalize(down, nd, &nd) < 0) {
            free(down);
            return -EINVAL;
        }
        nd = intersect(down, nd, svc, ns, tmp);
        row->item_down += w * kf_time_floor_div(svc_sum(&cal, tmp, nd), 1000);
    }
    row->item_owed = (int64_t)in->n_items * (row->scheduled_s - row->excluded_s);
    free(down);
    return 0;
}

/* One terminal's row; the ratios are filled in by row_finish. */
static int report_one(const struct kf_report_terminal *in, const struct kf_holidays *hol,
                      int64_t from, int64_t to, struct kf_report_row *row)
{
    struct kf_cal sched = {in->week, hol, NULL, 0}, cal;
    struct kf_window *buf, *excl, *down, *win, *svc, *tmp;
    struct kf_window fd = {0, 0}; /* commissioned, not yet reported */
    size_t cap = in->n_windows + in->n_service + 2, ne = 0, nd = 0, nw = 0, ns = 0, nfd;
    int rc = 0;

    for (size_t i = 0; i < in->n_incidents; i++) {
        cap += in->incidents[i].n_spans;
    }
    buf = calloc(5 * cap + 1, sizeof(*buf));
    if (buf == NULL) {
        return -ENOMEM;
    }
    excl = buf;
    down = buf + cap;
    win = buf + 2 * cap;
    svc = buf + 3 * cap;
    tmp = buf + 4 * cap;
    /* The period in service: [from, to) inside the service intervals. */
    if (in->n_service == 0) {
        svc[ns].start_ms = from;
        svc[ns++].end_ms = to;
    } else {
        int64_t first = INT64_MAX;
        for (size_t i = 0; i < in->n_service; i++) {
            svc[ns].start_ms = in->service[i].start_ms > from ? in->service[i].start_ms : from;
            svc[ns].end_ms = in->service[i].end_ms < to ? in->service[i].end_ms : to;
            ns += svc[ns].end_ms > svc[ns].start_ms;
            first = in->service[i].start_ms < first ? in->service[i].start_ms : first;
        }
        /* Commissioned and not yet reported: down, the company's. */
        if (in->first_online_ms == 0 || in->first_online_ms > first) {
            down[nd].start_ms = first > from ? first : from;
            down[nd].end_ms =
                in->first_online_ms == 0 || in->first_online_ms > to ? to : in->first_online_ms;
            if (down[nd].end_ms > down[nd].start_ms) {
                fd = down[nd++];
            }
        }
    }
    nfd = nd;
    for (size_t i = 0; i < in->n_windows; i++) {
        win[nw++] = in->windows[i];
        excl[ne].start_ms = in->windows[i].start_ms > from ? in->windows[i].start_ms : from;
        excl[ne].end_ms = in->windows[i].end_ms < to ? in->windows[i].end_ms : to;
        ne += excl[ne].end_ms > excl[ne].start_ms;
    }
    for (size_t i = 0; i < in->n_incidents; i++) {
        const struct kf_incident *inc = &in->incidents[i];
        if (strcmp(inc->terminal, in->terminal) != 0) {
            continue;
        }
        for (uint32_t k = 0; k < inc->n_spans; k++) {
            struct kf_window *w = inc->attr == KF_ATTR_COMPANY ? &down[nd] : &excl[ne];
            w->start_ms = inc->spans[k].start_ms > from ? inc->spans[k].start_ms : from;
            w->end_ms = inc->spans[k].end_ms < to ? inc->spans[k].end_ms : to;
            if (w->end_ms > w->start_ms) {
                *(inc->attr == KF_ATTR_COMPANY ? &nd : &ne) += 1;
            }
        }
    }
    if (kf_calendar_windows_normalize(excl, ne, &ne) < 0 ||
        kf_calendar_windows_normalize(down, nd, &nd) < 0 ||
        kf_calendar_windows_normalize(win, nw, &nw) < 0 ||
        kf_calendar_windows_normalize(svc, ns, &ns) < 0) {
        free(buf);
        return -EINVAL;
    }
    /* Only time in service counts, for every figure. */
    ne = intersect(excl, ne, svc, ns, tmp);
    memcpy(excl, tmp, ne * sizeof(*tmp));
    nd = intersect(down, nd, svc, ns, tmp);
    memcpy(down, tmp, nd * sizeof(*tmp));
    row->scheduled_s = kf_time_floor_div(svc_sum(&sched, svc, ns), 1000);
    row->excluded_s = kf_time_floor_div(svc_sum(&sched, excl, ne), 1000);
    cal = (struct kf_cal){in->week, hol, excl, ne};
    row->downtime_s = kf_time_floor_div(svc_sum(&cal, down, nd), 1000);
    if (in->n_items > 0 &&
        (rc = items_figures(in, hol, from, to, &fd, nfd, excl, ne, svc, ns, row)) < 0) {
        free(buf);
        return rc;
    }
    /* Clocks run on service time outside planned maintenance, as in the live engine. */
    cal = (struct kf_cal){in->week, hol, win, nw};
    for (size_t i = 0; i < in->n_incidents; i++) {
        const struct kf_incident *inc = &in->incidents[i];
        struct kf_inc_clock resp, rest;
        if (strcmp(inc->terminal, in->terminal) != 0 || inc->n_spans == 0) {
            continue;
        }
        kf_incident_clock(inc, KF_CLOCK_RESPONSE, &cal, in->terms, to, &resp);
        kf_incident_clock(inc, KF_CLOCK_RESTORE, &cal, in->terms, to, &rest);
        /* An incident whose down time fell entirely outside service hours (as of the
         * period's end) cost no service: it counts in no figure (docs/SLA.md 7). */
        if (rest.elapsed_ms == 0) {
            continue;
        }
        if (inc->attr != KF_ATTR_COMPANY) {
            row->other_incidents += span_begins(inc, from, to);
            continue;
        }
        row->incidents += span_begins(inc, from, to);
        if (!kf_incident_down(inc) && in_period(inc->resolved_at_ms, from, to)) {
            row->restored++;
            row->restore_sum_s += kf_time_floor_div(rest.elapsed_ms, 1000);
        }
        if (inc->forced && in_period(inc->resolved_at_ms, from, to)) {
            row->forced++;
        }
        if (in_period(inc->acked_at_ms, from, to)) {
            row->responded++;
            row->response_sum_s += kf_time_floor_div(resp.elapsed_ms, 1000);
        }
        row->response_breaches += resp.breached && in_period(resp.due_ms, from, to);
        row->restore_breaches += rest.breached && in_period(rest.due_ms, from, to);
    }
    free(buf);
    return 0;
}

/* Add r's seconds and counts to acc (a roll-up). */
static void row_add(struct kf_report_row *acc, const struct kf_report_row *r)
{
    if (acc->terminals == 0) {
        memcpy(acc->zone, r->zone, sizeof(acc->zone));
        memcpy(acc->bank, r->bank, sizeof(acc->bank));
    }
    if (strcmp(acc->zone, r->zone) != 0) {
        acc->zone[0] = '\0';
    }
    if (strcmp(acc->bank, r->bank) != 0) {
        acc->bank[0] = '\0';
    }
    acc->target_owed += r->target_owed;
    acc->terminals += r->terminals;
    acc->scheduled_s += r->scheduled_s;
    acc->excluded_s += r->excluded_s;
    acc->downtime_s += r->downtime_s;
    acc->incidents += r->incidents;
    acc->other_incidents += r->other_incidents;
    acc->restored += r->restored;
    acc->restore_sum_s += r->restore_sum_s;
    acc->responded += r->responded;
    acc->response_sum_s += r->response_sum_s;
    acc->response_breaches += r->response_breaches;
    acc->restore_breaches += r->restore_breaches;
    acc->forced += r->forced;
    acc->item_owed += r->item_owed;
    acc->item_down += r->item_down;
}

/* The ratios, from the row's own sums: one division each. A roll-up's target is what its
 * terminals were owed, weighted like the availability (rollup = 1): a bank row mixing kiosk
 * (98 %) and ITM (99 %) terms meets it exactly when its terminals' uptime adds up to what
 * their contracts asked of them together. */
static void row_finish(struct kf_report_row *r, int rollup)
{
    int64_t base = r->scheduled_s - r->excluded_s;

    if (rollup) {
        r->target_bp = base > 0 ? (int32_t)kf_time_floor_div(r->target_owed, base) : KF_REPORT_NA;
    } else {
        r->target_owed = base > 0 ? (int64_t)r->target_bp * base : 0;
    }
    r->uptime_s = base - r->downtime_s;
    r->availability_bp =
        base > 0 ? (int32_t)kf_time_floor_div(r->uptime_s * 10000, base) : KF_REPORT_NA;
    r->met = r->availability_bp == KF_REPORT_NA || r->target_bp == KF_REPORT_NA
                 ? KF_REPORT_NA
                 : r->availability_bp >= r->target_bp;
    r->mttr_s = r->restored ? kf_time_floor_div(r->restore_sum_s, r->restored) : KF_REPORT_NA;
    r->mean_response_s =
        r->responded ? kf_time_floor_div(r->response_sum_s, r->responded) : KF_REPORT_NA;
    r->mtbf_s = r->incidents ? kf_time_floor_div(r->uptime_s, r->incidents) : KF_REPORT_NA;
    /* 10000 x a fleet's item-seconds may pass 2^63: multiplied in 128 bits. */
    r->items_availability_bp =
        r->item_owed > 0 ? (int32_t)((__int128)(r->item_owed - r->item_down) * 10000 / r->item_owed)
                         : KF_REPORT_NA;
}

static int row_key_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_report_row *)a)->key, ((const struct kf_report_row *)b)->key);
}

/* Roll up the terminal rows t[0..n) by zone (by_bank 0) or bank into out; returns count. */
static size_t rollup(const struct kf_report_row *t, size_t n, int by_bank, int scope,
                     struct kf_report_row *out)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        const char *key = by_bank ? t[i].bank : t[i].zone;
        size_t j;
        for (j = 0; j < k && strcmp(out[j].key, key) != 0; j++) {
        }
        if (j == k) {
            memset(&out[k], 0, sizeof(out[k]));
            out[k].scope = (uint8_t)scope;
            snprintf(out[k].key, sizeof(out[k].key), "%s", key);
            k++;
        }
        row_add(&out[j], &t[i]);
    }
    for (size_t j = 0; j < k; j++) {
        row_finish(&out[j], 1);
    }
    if (k > 1) {
        qsort(out, k, sizeof(*out), row_key_cmp);
    }
    return k;
}

int kf_report_month(int year, int month, int64_t as_of_ms, const struct kf_holidays *hol,
                    const struct kf_report_terminal *terms, size_t n, struct kf_report **ret)
{
    int64_t from, to;
    int rc;

    if (kf_calendar_month_range(year, month, &from, &to) < 0) {
        return -EINVAL;
    }
    rc = kf_report_range(from, to, as_of_ms, hol, terms, n, ret);
    if (rc == 0) {
        (*ret)->year = year;
        (*ret)->month = month;
    }
    return rc;
}

int kf_report_range(int64_t from, int64_t to, int64_t as_of_ms, const struct kf_holidays *hol,
                    const struct kf_report_terminal *terms, size_t n, struct kf_report **ret)
{
    struct kf_report *r;
    struct kf_report_row *rows, *fleet;
    size_t k;
    int rc;

    if (to < from) {
        return -EINVAL;
    }
    to = as_of_ms < to ? as_of_ms : to;
    to = to < from ? from : to;
    r = calloc(1, sizeof(*r));
    rows = calloc(3 * n + 1, sizeof(*rows));
    if (r == NULL || rows == NULL) {
        free(r);
        free(rows);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct kf_report_row *row = &rows[i];
        if (strlen(terms[i].terminal) > KF_TERMINAL_ID_MAX ||
            strlen(terms[i].zone) > KF_TERMINAL_ID_MAX ||
            strlen(terms[i].bank) > KF_TERMINAL_ID_MAX) {
            rc = -EINVAL;
            goto out_free;
        }
        row->scope = KF_SCOPE_TERMINAL;
        row->terminals = 1;
        row->target_bp = terms[i].terms->target_bp;
        snprintf(row->key, sizeof(row->key), "%s", terms[i].terminal);
        snprintf(row->zone, sizeof(row->zone), "%s", terms[i].zone);
        snprintf(row->bank, sizeof(row->bank), "%s", terms[i].bank);
        rc = report_one(&terms[i], hol, from, to, row);
        if (rc < 0) {
            goto out_free;
        }
        row_finish(row, 0);
    }
    if (n > 1) {
        qsort(rows, n, sizeof(*rows), row_key_cmp);
    }
    for (size_t i = 1; i < n; i++) {
        if (strcmp(rows[i - 1].key, rows[i].key) == 0) {
            rc = -EINVAL; /* a terminal given twice */
            goto out_free;
        }
    }
    k = n;
    k += rollup(rows, n, 0, KF_SCOPE_ZONE, rows + k);
    k += rollup(rows, n, 1, KF_SCOPE_BANK, rows + k);
    fleet = &rows[k++];
    fleet->scope = KF_SCOPE_FLEET;
    snprintf(fleet->key, sizeof(fleet->key), "all");
    for (size_t i = 0; i < n; i++) {
        row_add(fleet, &rows[i]);
    }
    row_finish(fleet, 1);
    r->from_ms = from;
    r->to_ms = to;
    r->n = k;
    r->rows = rows;
    *ret = r;
    return 0;
out_free:
    free(rows);
    free(r);
    return rc;
}

void kf_report_free(struct kf_report *r)
{
    if (r != NULL) {
        free(r->rows);
        free(r);
    }
}

/* A growing output buffer; the first failure sticks. */
struct strbuf {
    char *buf;
    size_t len, cap;
    int err;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (sb->err) {
        return;
    }
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->err = -EINVAL;
            return;
        }
        if ((size_t)n < sb->cap - sb->len) {
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

/* A string field: CSV quotes it when needed, JSON escapes it. */
static void sb_str(struct strbuf *sb, const char *s, int json)
{
    int quote = json || strpbrk(s, ",\"\r\n") != NULL;

    if (quote) {
        sb_printf(sb, "\"");
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"') {
            sb_printf(sb, json ? "\\\"" : "\"\"");
        } else if (json && *p == '\\') {
            sb_printf(sb, "\\\\");
        } else if (json && *p < 0x20) {
            sb_printf(sb, "\\u%04x", *p);
        } else {
            sb_printf(sb, "%c", *p);
        }
    }
    if (quote) {
        sb_printf(sb, "\"");
    }
}

enum col_type { KF_COL_SCOPE, KF_COL_STR, KF_COL_U32, KF_COL_I64, KF_COL_I32NA, KF_COL_I64NA };

struct col {
    const char *name;
    uint8_t type;
    size_t off;
};

#define KF_COL(name, type, field)                                                                  \
    {                                                                                              \
        name, type, offsetof(struct kf_report_row, field)                                          \
    }
static const struct col cols[] = {
    KF_COL("scope", KF_COL_SCOPE, scope),
    KF_COL("key", KF_COL_STR, key),
    KF_COL("bank", KF_COL_STR, bank),
    KF_COL("zone", KF_COL_STR, zone),
    KF_COL("terminals", KF_COL_U32, terminals),
    KF_COL("scheduled_s", KF_COL_I64, scheduled_s),
    KF_COL("excluded_s", KF_COL_I64, excluded_s),
    KF_COL("downtime_s", KF_COL_I64, downtime_s),
    KF_COL("uptime_s", KF_COL_I64, uptime_s),
    KF_COL("availability_bp", KF_COL_I32NA, availability_bp),
    KF_COL("target_bp", KF_COL_I32NA, target_bp),
    KF_COL("met", KF_COL_I32NA, met),
    KF_COL("incidents", KF_COL_U32, incidents),
    KF_COL("other_incidents", KF_COL_U32, other_incidents),
    KF_COL("restored", KF_COL_U32, restored),
    KF_COL("restore_sum_s", KF_COL_I64, restore_sum_s),
    KF_COL("mttr_s", KF_COL_I64NA, mttr_s),
    KF_COL("mtbf_s", KF_COL_I64NA, mtbf_s),
    KF_COL("responded", KF_COL_U32, responded),
    KF_COL("response_sum_s", KF_COL_I64, response_sum_s),
    KF_COL("mean_response_s", KF_COL_I64NA, mean_response_s),
    KF_COL("response_breaches", KF_COL_U32, response_breaches),
    KF_COL("restore_breaches", KF_COL_U32, restore_breaches),
    KF_COL("forced", KF_COL_U32, forced),
    KF_COL("items_availability_bp", KF_COL_I32NA, items_availability_bp),
};
#define KF_NCOLS (sizeof(cols) / sizeof(cols[0]))

static void render_cell(struct strbuf *sb, const struct kf_report_row *row, const struct col *c,
                        int json)
{
    static const char *const scopes[] = {"", "terminal", "zone", "bank", "fleet"};
    const char *p = (const char *)row + c->off;
    int32_t i32;
    int64_t i64;
    uint32_t u32;

    switch (c->type) {
    case KF_COL_SCOPE:
        sb_str(sb, scopes[row->scope <= KF_SCOPE_FLEET ? row->scope : 0], json);
        break;
    case KF_COL_STR:
        sb_str(sb, p, json);
        break;
    case KF_COL_U32:
        memcpy(&u32, p, sizeof(u32));
        sb_printf(sb, "%u", u32);
        break;
    case KF_COL_I32NA:
        memcpy(&i32, p, sizeof(i32));
        if (i32 == KF_REPORT_NA) {
            sb_printf(sb, "%s", json ? "null" : "");
        } else {
            sb_printf(sb, "%d", i32);
        }
        break;
    default:
        memcpy(&i64, p, sizeof(i64));
        if (c->type == KF_COL_I64NA && i64 == KF_REPORT_NA) {
            sb_printf(sb, "%s", json ? "null" : "");
        } else {
            sb_printf(sb, "%lld", (long long)i64);
        }
        break;
    }
}

int kf_report_render(const struct kf_report *r, int fmt, char **ret_buf, size_t *ret_len)
{
    struct strbuf sb = {NULL, 0, 0, 0};
    char month[16], t0[32], t1[32];
    int json = fmt == KF_REPORT_JSON;

    if (fmt != KF_REPORT_CSV && fmt != KF_REPORT_JSON) {
        return -EINVAL;
    }
    sb.cap = 4096;
    sb.buf = malloc(sb.cap);
    if (sb.buf == NULL) {
        return -ENOMEM;
    }
    snprintf(month, sizeof(month), "%04d-%02d", r->year, r->month);
    if (json) {
        sb_printf(&sb, "{\"month\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"rows\":[\n", month,
                  kf_ms_format(r->from_ms, t0, sizeof(t0)), kf_ms_format(r->to_ms, t1, sizeof(t1)));
    } else {
        sb_printf(&sb, "month");
        for (size_t c = 0; c < KF_NCOLS; c++) {
            sb_printf(&sb, ",%s", cols[c].name);
        }
        sb_printf(&sb, "\n");
    }
    for (size_t i = 0; i < r->n; i++) {
        sb_printf(&sb, "%s", json ? "{" : month);
        for (size_t c = 0; c < KF_NCOLS; c++) {
            if (json) {
                sb_printf(&sb, "%s\"%s\":", c ? "," : "", cols[c].name);
            } else {
                sb_printf(&sb, ",");
            }
            render_cell(&sb, &r->rows[i], &cols[c], json);
        }
        sb_printf(&sb, "%s\n", !json ? "" : i + 1 < r->n ? "}," : "}");
    }
    if (json) {
        sb_printf(&sb, "]}\n");
    }
    if (sb.err) {
        free(sb.buf);
        return sb.err;
    }
    *ret_buf = sb.buf;
    *ret_len = sb.len;
    return 0;
}
