/* rules/assess.c: the half-year assessment of the zones and its roll-ups (assess.h;
 * docs/REPORTS.md). The delisting standing is in assess_standing.c, the document's JSON in
 * assess_json.c. */
#include "rules/assess.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "rules/assess_int.h"

#define DAY_MS (86400LL * 1000)
#define SPAN_DAYS_MAX 184 /* the longest half-year: July to December */
/* Every count and second a zone brings is at most this: 10^12 keeps each product taken
 * below (x 10000) far inside int64, and is beyond any real half-year. */
#define FIGURE_MAX 1000000000000LL

int kf__assess_fail(char *err, size_t errn, int code, const char *fmt, ...)
{
    va_list ap;

    if (err && errn > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errn, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- Periods -------------------------------------------------------------------------- */

int kf_assess_period(int year, int half, struct kf_assess_period *ret)
{
    struct kf_assess_period p;
    char d[16];

    if (year < 2000 || year > 9999 || (half != 1 && half != 2))
        return -EINVAL;
    memset(&p, 0, sizeof(p));
    p.year = year;
    p.half = half;
    snprintf(d, sizeof(d), "%04d-%s", year, half == 1 ? "01-01" : "07-01");
    if (kf_day_parse(d, &p.from_day) < 0)
        return -EINVAL;
    snprintf(d, sizeof(d), "%04d-%s", half == 1 ? year : year + 1, half == 1 ? "07-01" : "01-01");
    if (kf_day_parse(d, &p.to_day) < 0)
        return -EINVAL;
    snprintf(p.name, sizeof(p.name), "%04d-H%d", year, half);
    *ret = p;
    return 0;
}

int kf_assess_period_parse(const char *s, struct kf_assess_period *ret)
{
    int year = 0;

    if (!s || strlen(s) != 7 || s[4] != '-' || s[5] != 'H' || (s[6] != '1' && s[6] != '2'))
        return -EINVAL;
    for (int i = 0; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        year = year * 10 + (s[i] - '0');
    }
    return kf_assess_period(year, s[6] - '0', ret);
}

int kf_assess_span(const struct kf_assess_period *p, int32_t opened_day, int32_t delisted_day,
                   int32_t *ret_from_day, int32_t *ret_to_day)
{
    int32_t from = opened_day > p->from_day ? opened_day : p->from_day;

    if (from >= p->to_day || delisted_day < p->to_day)
        return -ENOENT;
    *ret_from_day = from;
    *ret_to_day = p->to_day;
    return 0;
}

/* ---- Response ------------------------------------------------------------------------- */

static int within(int64_t t, int64_t from, int64_t to)
{
    return t != 0 && t >= from && t < to;
}

void kf_assess_response_add(struct kf_assess_response *acc, const struct kf_incident *inc,
                            const struct kf_cal *cal, const struct kf_sla_terms *terms,
                            int64_t from_ms, int64_t to_ms)
{
    struct kf_inc_clock resp, rest;

    if (inc->attr != KF_ATTR_COMPANY || inc->n_spans == 0)
        return;
    kf_incident_clock(inc, KF_CLOCK_RESPONSE, cal, terms, to_ms, &resp);
    kf_incident_clock(inc, KF_CLOCK_RESTORE, cal, terms, to_ms, &rest);
    /* Down only outside service hours: it cost no service and counts in no figure, as in
     * the monthly report (docs/SLA.md 7). */
    if (rest.elapsed_ms == 0)
        return;
    if (within(inc->acked_at_ms, from_ms, to_ms)) {
        acc->due++;
        acc->in_time += !resp.breached;
        acc->sum_s += kf_time_floor_div(resp.elapsed_ms, 1000);
    } else if ((inc->acked_at_ms == 0 || inc->acked_at_ms >= to_ms) && resp.breached &&
               resp.due_ms >= from_ms && resp.due_ms < to_ms) {
        /* Not acknowledged by the end of the days assessed, its deadline passed in them: late,
         * with the service time it had waited by then. */
        acc->due++;
        acc->sum_s += kf_time_floor_div(resp.elapsed_ms, 1000);
    }
}

/* ---- One zone ------------------------------------------------------------------------- */

/* A text key of 1..KF_ASSESS_KEY_MAX bytes with nothing to escape. */
static int key_ok(const char *s)
{
    size_t l = s ? strlen(s) : 0;

    if (l == 0 || l > KF_ASSESS_KEY_MAX)
        return 0;
    for (size_t i = 0; i < l; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == '"' || s[i] == '\\')
            return 0;
    }
    return 1;
}

static int zone_check(const struct kf_assess_zone_in *z, size_t i, char *err, size_t errn)
{
    const char *name = key_ok(z->zone) ? z->zone : "?";
    const struct {
        const char *what;
        int64_t v;
    } figs[] = {
        {"txns_ok", z->txns_ok},
        {"txns_failed", z->txns_failed},
        {"txns_abandoned", z->txns_abandoned},
        {"owed_s", z->owed_s},
        {"uptime_s", z->uptime_s},
        {"response.sum_s", z->response.sum_s},
    };

    if (!key_ok(z->zone))
        return kf__assess_fail(err, errn, -EINVAL,
                               "zones[%zu].zone: 1..%d bytes, nothing to escape", i,
                               KF_ASSESS_KEY_MAX);
    if (!key_ok(z->unit) || !key_ok(z->bank))
        return kf__assess_fail(err, errn, -EINVAL,
                               "%s: unit and bank: 1..%d bytes, nothing to escape", name,
                               KF_ASSESS_KEY_MAX);
    if (z->planned < 1)
        return kf__assess_fail(err, errn, -EINVAL, "%s.planned: must be >= 1", name);
    if (!z->week)
        return kf__assess_fail(err, errn, -EINVAL, "%s.week: missing", name);
    if (z->n_terminals > 0 && !z->terminals)
        return kf__assess_fail(err, errn, -EINVAL, "%s.terminals: missing", name);
    if (z->n_data_days > 0 && !z->data_days)
        return kf__assess_fail(err, errn, -EINVAL, "%s.data_days: missing", name);
    for (size_t k = 0; k < sizeof(figs) / sizeof(figs[0]); k++) {
        if (figs[k].v < 0 || figs[k].v > FIGURE_MAX)
            return kf__assess_fail(err, errn, -EINVAL, "%s.%s: must be 0..%lld", name, figs[k].what,
                                   FIGURE_MAX);
    }
    if (z->uptime_s > z->owed_s)
        return kf__assess_fail(err, errn, -EINVAL, "%s.uptime_s: more than owed_s", name);
    if (z->catalog_size < 1)
        return kf__assess_fail(err, errn, -EINVAL, "%s.catalog_size: must be >= 1", name);
    if (z->items_used > z->catalog_size)
        return kf__assess_fail(err, errn, -EINVAL, "%s.items_used: more than catalog_size", name);
    if (z->response.in_time > z->response.due)
        return kf__assess_fail(err, errn, -EINVAL, "%s.response.in_time: more than due", name);
    for (size_t t = 0; t < z->n_terminals; t++) {
        const struct kf_assess_terminal *a = &z->terminals[t];

        if (a->n_in_zone > 0 && !a->in_zone)
            return kf__assess_fail(err, errn, -EINVAL, "%s.terminals[%zu].in_zone: missing", name,
                                   t);
        for (size_t w = 0; w < a->n_in_zone; w++) {
            if (a->in_zone[w].end_ms <= a->in_zone[w].start_ms)
                return kf__assess_fail(err, errn, -EINVAL,
                                       "%s.terminals[%zu].in_zone[%zu]: ends before it starts",
                                       name, t, w);
        }
    }
    return 0;
}

static int service_day(const struct kf_cal *cal, int32_t day)
{
    return kf_calendar_service_ms(cal, kf_day_start_ms(day), kf_day_start_ms(day + 1)) > 0;
}

/* In service in the zone at the day's last millisecond: the day is the terminal's (the
 * bill's rule, docs/BILLING.md "Days in service"). */
static int in_zone_at(const struct kf_assess_terminal *a, int64_t t)
{
    for (size_t w = 0; w < a->n_in_zone; w++) {
        if (a->in_zone[w].start_ms <= t && t < a->in_zone[w].end_ms)
            return 1;
    }
    return 0;
}

/* The days, the terminal-days and the days with data of a zone. */
struct zone_days {
    int32_t service_days;
    int64_t terminal_days;
    uint32_t terminals;
    int32_t data_days;
};

static void count_days(const struct kf_assess_zone_in *z, const struct kf_holidays *hol,
                       int32_t from, int32_t to, struct zone_days *ret)
{
    struct kf_cal cal = {z->week, hol, NULL, 0};
    uint8_t svc[SPAN_DAYS_MAX], seen[SPAN_DAYS_MAX];
    int32_t n = to - from;

    memset(ret, 0, sizeof(*ret));
    memset(svc, 0, sizeof(svc));
    memset(seen, 0, sizeof(seen));
    for (int32_t i = 0; i < n; i++) {
        svc[i] = (uint8_t)service_day(&cal, from + i);
        ret->service_days += svc[i];
    }
    for (size_t t = 0; t < z->n_terminals; t++) {
        int64_t days = 0;

        for (int32_t i = 0; i < n; i++) {
            if (svc[i] && in_zone_at(&z->terminals[t], kf_day_start_ms(from + i + 1) - 1))
                days++;
        }
        ret->terminal_days += days;
        ret->terminals += days > 0;
    }
    for (size_t k = 0; k < z->n_data_days; k++) {
        int32_t i = z->data_days[k] - from;

        if (i >= 0 && i < n && svc[i] && !seen[i]) {
            seen[i] = 1;
            ret->data_days++;
        }
    }
}

/* floor(num x scale / den) for num, den >= 0, or n/a. The product is taken in 128 bits: a
 * roll-up's sums over many zones may pass 10^15 before the division brings them back. */
static int64_t ratio(int64_t num, int64_t den, int64_t scale)
{
    __int128 q;

    if (den <= 0)
        return KF_ASSESS_NA;
    q = (__int128)num * scale / den;
    return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

/* A measure's figures and value for a zone (docs/REPORTS.md "Figures"). */
static void measure(const struct kf_assess_zone_in *z, const struct zone_days *d, int m,
                    struct kf_assess_crit *c)
{
    c->measure = (uint8_t)m;
    switch (m) {
    case KF_MEASURE_ACTIVITY:
        c->num = z->txns_ok;
        c->den = d->terminal_days;
        c->value = ratio(c->num, c->den, 100);
        break;
    case KF_MEASURE_AVAILABILITY:
        c->num = z->uptime_s;
        c->den = z->owed_s;
        c->value = ratio(c->num, c->den, 10000);
        break;
    case KF_MEASURE_CATALOG_USE:
        c->num = z->items_used;
        c->den = z->catalog_size;
        c->value = ratio(c->num, c->den, 10000);
        break;
    case KF_MEASURE_IN_SERVICE:
        c->num = d->terminal_days;
        c->den = (int64_t)z->planned * d->service_days;
        c->value = ratio(c->num, c->den, 10000);
        /* More terminals than planned count as the plan. */
        if (c->value > 10000)
            c->value = 10000;
        break;
    case KF_MEASURE_COMPLETION:
        c->num = z->txns_ok;
        c->den = z->txns_ok + z->txns_failed + z->txns_abandoned;
        c->value = ratio(c->num, c->den, 10000);
        break;
    case KF_MEASURE_RESPONSE:
        c->num = z->response.in_time;
        c->den = z->response.due;
        c->value = ratio(c->num, c->den, 10000);
        break;
    case KF_MEASURE_RESPONSE_TIME:
        c->num = z->response.sum_s;
        c->den = z->response.due;
        c->value = ratio(c->num, c->den, 1);
        break;
    case KF_MEASURE_DATA_DAYS:
        c->num = d->data_days;
        c->den = d->service_days;
        c->value = ratio(c->num, c->den, 10000);
        break;
    default:
        c->value = KF_ASSESS_NA;
    }
}

static void assess_zone(const struct kf_assess_input *in, const struct kf_assess_period *p,
                        const struct kf_assess_zone_in *z, struct kf_assess_zone *out)
{
    const struct kf_rubric *r = in->rubric;
    struct zone_days d;
    int32_t from, to;
    int64_t total = 0;
    int must_failed = 0;

    memset(out, 0, sizeof(*out));
    snprintf(out->zone, sizeof(out->zone), "%s", z->zone);
    snprintf(out->unit, sizeof(out->unit), "%s", z->unit);
    snprintf(out->bank, sizeof(out->bank), "%s", z->bank);
    out->planned = z->planned;
    out->total_cp = KF_ASSESS_NA;
    /* The days in the plan in the period, reported for every zone. */
    from = z->opened_day > p->from_day ? z->opened_day : p->from_day;
    to = z->delisted_day < p->to_day ? z->delisted_day : p->to_day;
    if (from > p->to_day)
        from = p->to_day;
    if (to < from)
        to = from;
    out->from_day = from;
    out->to_day = to;
    count_days(z, in->holidays, from, to, &d);
    out->service_days = d.service_days;
    out->terminals = d.terminals;
    out->terminal_days = d.terminal_days;
    out->result = KF_ASSESS_NOT_ASSESSED;
    if (z->delisted_day < p->to_day) {
        out->reason = KF_ASSESS_R_DELISTED;
        return;
    }
    if (d.service_days < r->min_service_days) {
        out->reason = KF_ASSESS_R_SHORT;
        return;
    }
    out->txns_ok = z->txns_ok;
    out->owed_s = z->owed_s;
    out->uptime_s = z->uptime_s;
    out->n_crit = r->n_criteria;
    for (size_t i = 0; i < r->n_criteria; i++) {
        const struct kf_rubric_criterion *rc = &r->criteria[i];
        struct kf_assess_crit *c = &out->crit[i];

        measure(z, &d, rc->measure, c);
        if (d.terminal_days == 0) {
            /* In the plan, nothing in service: nothing scores (docs/REPORTS.md). */
            c->score_cp = 0;
            c->pass = 0;
        } else if (c->value == KF_ASSESS_NA) {
            /* Nothing to divide by. No incident to answer is not a failure to answer; no
             * owed time or no txn with terminals in service is no evidence of service. */
            int free_mark =
                rc->measure == KF_MEASURE_RESPONSE || rc->measure == KF_MEASURE_RESPONSE_TIME;

            c->score_cp = free_mark ? rc->weight * 100 : 0;
            c->pass = (uint8_t)free_mark;
        } else {
            c->score_cp = kf_rubric_score_cp(rc, c->value);
            c->pass = (uint8_t)kf_rubric_passes(rc, c->value);
        }
        total += c->score_cp;
        must_failed |= rc->must_pass && !c->pass;
    }
    out->total_cp = (int32_t)total;
    if (d.terminal_days == 0) {
        out->result = KF_ASSESS_FAIL;
        out->reason = KF_ASSESS_R_NO_TERMINALS;
    } else if (total < (int64_t)r->pass_score * 100) {
        out->result = KF_ASSESS_FAIL;
        out->reason = KF_ASSESS_R_SCORE;
    } else if (must_failed) {
        out->result = KF_ASSESS_FAIL;
        out->reason = KF_ASSESS_R_MUST_PASS;
    } else {
        out->result = KF_ASSESS_PASS;
        out->reason = KF_ASSESS_R_NONE;
    }
}

/* ---- Roll-ups ------------------------------------------------------------------------- */

static struct kf_assess_rollup *rollup_of(struct kf_assess_rollup *v, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(v[i].key, key) == 0)
            return &v[i];
    }
    memset(&v[*n], 0, sizeof(v[*n]));
    snprintf(v[*n].key, sizeof(v[*n].key), "%s", key);
    return &v[(*n)++];
}

static void rollup_add(struct kf_assess_rollup *r, const struct kf_assess_zone *z,
                       int64_t *score_sum)
{
    if (z->reason == KF_ASSESS_R_DELISTED)
        return; /* out of the plan's counts from its delisting */
    r->zones++;
    if (z->result == KF_ASSESS_NOT_ASSESSED) {
        r->not_assessed++;
        return;
    }
    r->assessed++;
    r->passed += z->result == KF_ASSESS_PASS;
    r->failed += z->result == KF_ASSESS_FAIL;
    *score_sum += z->total_cp;
    r->txns_ok += z->txns_ok;
    r->terminal_days += z->terminal_days;
    r->owed_s += z->owed_s;
    r->uptime_s += z->uptime_s;
}

static void rollup_finish(struct kf_assess_rollup *r, int64_t score_sum)
{
    r->pass_rate_bp = (int32_t)ratio(r->passed, r->assessed, 10000);
    r->mean_score_cp = (int32_t)ratio(score_sum, r->assessed, 1);
    r->activity = ratio(r->txns_ok, r->terminal_days, 100);
    r->availability_bp = (int32_t)ratio(r->uptime_s, r->owed_s, 10000);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_assess_rollup *)a)->key,
                  ((const struct kf_assess_rollup *)b)->key);
}

#define DESC(x, y)                                                                                 \
    do {                                                                                           \
        if ((x) != (y))                                                                            \
            return (x) > (y) ? -1 : 1;                                                             \
    } while (0)

/* The ranking's figures, best first; n/a (-1) is below every figure. 0: equal figures. */
static int figures_cmp(const struct kf_assess_rollup *a, const struct kf_assess_rollup *b)
{
    DESC(a->pass_rate_bp, b->pass_rate_bp);
    DESC(a->mean_score_cp, b->mean_score_cp);
    DESC(a->availability_bp, b->availability_bp);
    DESC(a->activity, b->activity);
    return 0;
}

static int rank_cmp(const void *a, const void *b)
{
    int c = figures_cmp(a, b);

    return c ? c : key_cmp(a, b);
}

static int zone_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_assess_zone *)a)->zone,
                  ((const struct kf_assess_zone *)b)->zone);
}

static int rollups(struct kf_assessment *a)
{
    int64_t *sums;
    size_t n = a->n_zones ? a->n_zones : 1;

    a->units = calloc(n, sizeof(*a->units));
    a->banks = calloc(n, sizeof(*a->banks));
    sums = calloc(2 * n, sizeof(*sums));
    if (!a->units || !a->banks || !sums) {
        free(sums);
        return -ENOMEM;
    }
    for (size_t i = 0; i < a->n_zones; i++) {
        const struct kf_assess_zone *z = &a->zones[i];
        struct kf_assess_rollup *u = rollup_of(a->units, &a->n_units, z->unit);
        struct kf_assess_rollup *b = rollup_of(a->banks, &a->n_banks, z->bank);

        rollup_add(u, z, &sums[u - a->units]);
        rollup_add(b, z, &sums[n + (size_t)(b - a->banks)]);
    }
    for (size_t i = 0; i < a->n_units; i++)
        rollup_finish(&a->units[i], sums[i]);
    for (size_t i = 0; i < a->n_banks; i++)
        rollup_finish(&a->banks[i], sums[n + i]);
    free(sums);
    qsort(a->units, a->n_units, sizeof(*a->units), key_cmp);
    qsort(a->banks, a->n_banks, sizeof(*a->banks), rank_cmp);
    /* Competition ranking: equal figures share a rank, the next rank skips ("1, 2, 2, 4");
     * the listing orders them by bank code. */
    for (size_t i = 0; i < a->n_banks; i++) {
        a->banks[i].rank = i > 0 && figures_cmp(&a->banks[i - 1], &a->banks[i]) == 0
                               ? a->banks[i - 1].rank
                               : (uint32_t)(i + 1);
    }
    return 0;
}

/* ---- The document --------------------------------------------------------------------- */

static int text_ok(const char *s, size_t max)
{
    size_t l = s ? strlen(s) : 0;

    if (l == 0 || l > max)
        return 0;
    for (size_t i = 0; i < l; i++) {
        if ((unsigned char)s[i] < 0x20)
            return 0;
    }
    return 1;
}

static int hex_ok(const char *s)
{
    return s && *s && strlen(s) <= KF_ASSESS_DIGEST_HEX_MAX &&
           strspn(s, "0123456789abcdef") == strlen(s);
}

static int digest_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_assess_input_digest *)a)->name,
                  ((const struct kf_assess_input_digest *)b)->name);
}

static int header(const struct kf_assess_input *in, struct kf_assessment *a, char *err, size_t errn)
{
    const struct kf_rubric *r = in->rubric;
    char d[16];

    if (kf_assess_period(in->year, in->half, &a->period) < 0)
        return kf__assess_fail(err, errn, -EINVAL, "period: year 2000..9999, half 1 or 2");
    if (!r || r->n_criteria < 1 || r->n_criteria > KF_MEASURE_COUNT_)
        return kf__assess_fail(err, errn, -EINVAL, "rubric: missing (a parsed version)");
    if (r->effective_from > a->period.from_day || a->period.from_day >= r->effective_to) {
        kf_day_format(a->period.from_day, d, sizeof(d));
        return kf__assess_fail(err, errn, -EINVAL, "rubric: %s version %d is not in force on %s",
                               r->id, (int)r->version, d);
    }
    a->rubric = *r;
    if (in->status != KF_ASSESS_DRAFT && in->status != KF_ASSESS_ISSUED)
        return kf__assess_fail(err, errn, -EINVAL, "status: draft or issued");
    a->status = in->status;
    if (in->status == KF_ASSESS_ISSUED) {
        if (in->issued_at_ms < kf_day_start_ms(a->period.to_day))
            return kf__assess_fail(err, errn, -EINVAL, "issued_at_ms: before the end of %s",
                                   a->period.name);
        a->issued_at_ms = in->issued_at_ms;
    }
    if (in->version < 1)
        return kf__assess_fail(err, errn, -EINVAL, "version: must be >= 1");
    a->version = in->version;
    if (in->version == 1 && (in->supersedes || in->reason))
        return kf__assess_fail(err, errn, -EINVAL,
                               "version 1 supersedes nothing: no supersedes, no reason");
    if (in->version > 1) {
        if (!hex_ok(in->supersedes))
            return kf__assess_fail(err, errn, -EINVAL,
                                   "supersedes: the lowercase hex digest of version %d",
                                   (int)in->version - 1);
        if (!text_ok(in->reason, KF_ASSESS_TEXT_MAX))
            return kf__assess_fail(err, errn, -EINVAL,
                                   "reason: why version %d supersedes the last (1..%d bytes)",
                                   (int)in->version, KF_ASSESS_TEXT_MAX);
        snprintf(a->supersedes, sizeof(a->supersedes), "%s", in->supersedes);
        snprintf(a->reason, sizeof(a->reason), "%s", in->reason);
    }
    if (in->n_inputs == 0 || !in->inputs)
        return kf__assess_fail(err, errn, -EINVAL, "inputs: missing");
    a->inputs = calloc(in->n_inputs, sizeof(*a->inputs));
    if (!a->inputs)
        return -ENOMEM;
    a->n_inputs = in->n_inputs;
    for (size_t i = 0; i < in->n_inputs; i++) {
        const char *name = in->inputs[i].name;

        if (!key_ok(name) || strlen(name) > KF_ASSESS_DIGEST_NAME_MAX || !hex_ok(in->inputs[i].hex))
            return kf__assess_fail(err, errn, -EINVAL,
                                   "inputs[%zu]: a name and a lowercase hex digest", i);
        snprintf(a->inputs[i].name, sizeof(a->inputs[i].name), "%s", name);
        snprintf(a->inputs[i].hex, sizeof(a->inputs[i].hex), "%s", in->inputs[i].hex);
    }
    qsort(a->inputs, a->n_inputs, sizeof(*a->inputs), digest_cmp);
    for (size_t i = 1; i < a->n_inputs; i++) {
        if (strcmp(a->inputs[i - 1].name, a->inputs[i].name) == 0)
            return kf__assess_fail(err, errn, -EINVAL, "inputs: %s given twice", a->inputs[i].name);
    }
    return 0;
}

int kf_assess_compute(const struct kf_assess_input *in, struct kf_assessment **ret, char *err,
                      size_t errn)
{
    struct kf_assessment *a;
    int r;

    if (err && errn > 0)
        err[0] = '\0';
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    if ((r = header(in, a, err, errn)) < 0)
        goto out_free;
    if (in->n_zones > 0 && !in->zones) {
        r = kf__assess_fail(err, errn, -EINVAL, "zones: missing");
        goto out_free;
    }
    a->zones = calloc(in->n_zones ? in->n_zones : 1, sizeof(*a->zones));
    if (!a->zones) {
        r = -ENOMEM;
        goto out_free;
    }
    for (size_t i = 0; i < in->n_zones; i++) {
        if ((r = zone_check(&in->zones[i], i, err, errn)) < 0)
            goto out_free;
        assess_zone(in, &a->period, &in->zones[i], &a->zones[i]);
    }
    a->n_zones = in->n_zones;
    qsort(a->zones, a->n_zones, sizeof(*a->zones), zone_cmp);
    for (size_t i = 1; i < a->n_zones; i++) {
        if (strcmp(a->zones[i - 1].zone, a->zones[i].zone) == 0) {
            r = kf__assess_fail(err, errn, -EINVAL, "%s: given twice", a->zones[i].zone);
            goto out_free;
        }
    }
    if ((r = rollups(a)) < 0)
        goto out_free;
    *ret = a;
    return 0;

out_free:
    kf_assess_free(a);
    return r;
}

void kf_assess_free(struct kf_assessment *a)
{
    if (!a)
        return;
    free(a->zones);
    free(a->units);
    free(a->banks);
    free(a->inputs);
    free(a);
}

const char *kf_assess_result_name(int result)
{
    static const char *const names[] = {NULL, "pass", "fail", "not_assessed"};

    return result >= KF_ASSESS_PASS && result <= KF_ASSESS_NOT_ASSESSED ? names[result] : NULL;
}

const char *kf_assess_reason_name(int reason)
{
    static const char *const names[] = {NULL,           "score", "must_pass",
                                        "no_terminals", "short", "delisted"};

    return reason >= KF_ASSESS_R_NONE && reason <= KF_ASSESS_R_DELISTED ? names[reason] : NULL;
}
