/* views/assess.c: the half-year assessment from the store (views/assess.h). */
#define _GNU_SOURCE
#include "views/assess.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/err.h>
#include <kf/time.h>

#include "rules/report.h"
#include "rules/rubric.h"
#include "store/billing.h"
#include "store/plan.h"
#include "store/reports_docs.h"
#include "store/sla.h"
#include "views/billing.h"
#include "views/cells_int.h"
#include "views/sla.h"

#define DAY_MS 86400000LL

/* Grow *arr to hold n + 1 elements. */
static int grow_rows(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    void *na = realloc(*arr, nc * elem);

    if (na == NULL)
        return -ENOMEM;
    *arr = na;
    *cap = nc;
    return 0;
}

static int fail(struct kf_store *st, int r, const char *what, char *err, size_t cap)
{
    snprintf(err, cap, "%s: %s", what, st ? kf_store_errmsg(st) : kf_strerror(r));
    return r;
}

/* The rubric version in force on the period's first day, among those loaded. */
static int load_rubric(struct kf_store *st, const struct kf_assess_period *p, struct kf_rubric *ret,
                       char digest[65], char *err, size_t cap)
{
    struct kf_rubric_row *rows = NULL;
    struct kf_rubric *set = NULL;
    const struct kf_rubric *in_force;
    char *canon = NULL;
    size_t n = 0;
    int r = kf_store_rubrics(st, NULL, &rows, &n);

    if (r < 0)
        return fail(st, r, "rubrics", err, cap);
    set = calloc(n + 1, sizeof(*set));
    if (set == NULL)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char e[256];

        if ((r = kf_rubric_parse(rows[i].text, strlen(rows[i].text), &set[i], e, sizeof(e))) < 0)
            snprintf(err, cap, "stored rubric %s v%d: %s", rows[i].id, (int)rows[i].version, e);
    }
    if (r == 0 && (r = kf_rubric_set_check(set, n, err, cap)) < 0) {
        /* err says which versions clash */
    } else if (r == 0 && (in_force = kf_rubric_for(set, n, p->from_day)) == NULL) {
        snprintf(err, cap,
                 "no rubric in force on the first day of %s: load one with kioskctl rubric load "
                 "(fixtures/rubric/default-2026.json is the example)",
                 p->name);
        r = -ENOENT;
    } else if (r == 0 && (r = kf_rubric_canonical(in_force, &canon)) == 0) {
        *ret = *in_force;
        kf_view_billing_digest(canon, strlen(canon), digest);
    }
    free(canon);
    free(set);
    kf_store_rubrics_free(rows, n);
    return r;
}

/* Everything one assessment reads, owned here. */
/* A zone's usage by item over local days [from, to) (store/plan.h). */
struct usage_range {
    int32_t from, to;
    struct kf_plan_zone_usage *rows; /* by zone, item */
    size_t n;
};

struct gather {
    struct kf_plan_zone *zones;
    size_t n_zones;
    struct kf_week *weeks;
    struct kf_assess_zone_in *in;
    struct kf_billing_service *svc;
    size_t n_svc;
    struct kf_assess_terminal *terms; /* one per (asset, zone) */
    struct kf_window *wins;
    struct kf_zone_decision_row *dec;
    size_t n_dec;
    struct usage_range *ranges; /* the usage of each range of days a zone's span needs */
    size_t n_ranges;
    struct kf_plan_data_day *data;
    size_t n_data;
    int32_t *data_days;
    struct kf_holidays *hol;
    uint32_t catalog;
};

static void gather_free(struct gather *g)
{
    free(g->zones);
    free(g->weeks);
    free(g->in);
    free(g->svc);
    free(g->terms);
    free(g->wins);
    free(g->dec);
    for (size_t i = 0; i < g->n_ranges; i++)
        free(g->ranges[i].rows);
    free(g->ranges);
    free(g->data);
    free(g->data_days);
    kf_holidays_free(g->hol);
}

static struct kf_assess_zone_in *zone_in(struct gather *g, const char *zone)
{
    size_t lo = 0, hi = g->n_zones;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->zones[mid].id, zone);
        if (c == 0)
            return &g->in[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The zone's span in the period, or -ENOENT when it is not assessed. */
static int span_of(const struct kf_assess_period *p, const struct kf_assess_zone_in *z,
                   int32_t *from, int32_t *to)
{
    return kf_assess_span(p, z->opened_day, z->delisted_day, from, to);
}

static int svc_zone_cmp(const void *x, const void *y)
{
    const struct kf_billing_service *a = x, *b = y;
    int c = strcmp(a->zone_id, b->zone_id);

    if (c == 0)
        c = strcmp(a->asset_id, b->asset_id);
    return c ? c : (a->w.start_ms > b->w.start_ms) - (a->w.start_ms < b->w.start_ms);
}

/* Zones, weeks, terminals in service per zone, opening and delisting days. */
static int gather_plan(struct kf_store *st, const struct kf_assess_period *p, struct gather *g,
                       char *err, size_t cap)
{
    int r;

    if ((r = kf_store_plan_zones(st, &g->zones, &g->n_zones)) < 0)
        return fail(st, r, "zones", err, cap);
    if ((r = kf_store_billing_asset_service(st, NULL, NULL, &g->svc, &g->n_svc)) < 0)
        return fail(st, r, "assets in service", err, cap);
    if ((r = kf_store_zone_decisions(st, NULL, &g->dec, &g->n_dec)) < 0)
        return fail(st, r, "zone decisions", err, cap);
    if ((r = kf_store_plan_catalog_size(st, &g->catalog)) < 0)
        return fail(st, r, "catalog", err, cap);
    g->weeks = calloc(g->n_zones + 1, sizeof(*g->weeks));
    g->in = calloc(g->n_zones + 1, sizeof(*g->in));
    g->terms = calloc(g->n_svc + 1, sizeof(*g->terms));
    g->wins = calloc(g->n_svc + 1, sizeof(*g->wins));
    if (!g->weeks || !g->in || !g->terms || !g->wins)
        return -ENOMEM;
    for (size_t i = 0; i < g->n_zones; i++) {
        const struct kf_plan_zone *z = &g->zones[i];
        struct kf_assess_zone_in *in = &g->in[i];
        json_t *h = json_loads(z->hours, 0, NULL);
        const char *wd = json_string_value(json_object_get(h, "weekday"));
        const char *we = json_string_value(json_object_get(h, "weekend"));

        r = wd ? kf_calendar_week_from_hours(wd, we, &g->weeks[i]) : -EINVAL;
        json_decref(h);
        if (r < 0) {
            snprintf(err, cap, "zone %s: hours %s are not valid", z->id, z->hours);
            return -EINVAL;
        }
        in->zone = z->id;
        in->unit = z->unit;
        in->bank = z->bank;
        in->planned = z->kiosks + z->itms;
        /* A zone enters the plan with its first terminal in service; one with none has been
         * in the plan since before the period (docs/REPORTS.md 3.2). */
        in->opened_day = p->from_day;
        in->delisted_day = KF_ASSESS_OPEN;
        in->week = &g->weeks[i];
        in->catalog_size = g->catalog;
    }
    /* Each asset's intervals in each zone, contiguous per zone. */
    if (g->n_svc > 1)
        qsort(g->svc, g->n_svc, sizeof(*g->svc), svc_zone_cmp);
    for (size_t i = 0, k = 0; i < g->n_svc; i++) {
        const struct kf_billing_service *v = &g->svc[i];
        struct kf_assess_zone_in *in = zone_in(g, v->zone_id);
        int32_t day = kf_local_day(v->w.start_ms);

        g->wins[i] = v->w;
        /* What came after the period is not the period's: an interval begun later, the
         * part of one after its end (so that a later commissioning or decommissioning
         * leaves an issued assessment's inputs, and bytes, as they were). */
        if (g->wins[i].end_ms > kf_day_start_ms(p->to_day))
            g->wins[i].end_ms = kf_day_start_ms(p->to_day);
        if (in == NULL || v->w.start_ms >= kf_day_start_ms(p->to_day))
            continue;
        if (in->n_terminals == 0 || day < in->opened_day)
            in->opened_day = day;
        if (i > 0 && k > 0 && strcmp(g->svc[i - 1].zone_id, v->zone_id) == 0 &&
            strcmp(g->terms[k - 1].asset, v->asset_id) == 0) {
            g->terms[k - 1].n_in_zone++;
            continue;
        }
        g->terms[k] = (struct kf_assess_terminal){v->asset_id, &g->wins[i], 1};
        if (in->n_terminals == 0)
            in->terminals = &g->terms[k];
        in->n_terminals++;
        k++;
    }
    for (size_t i = 0; i < g->n_dec; i++) {
        struct kf_assess_zone_in *in = zone_in(g, g->dec[i].zone_id);

        /* A delisting from after the period changes nothing in it (nor its inputs). */
        if (in && g->dec[i].decision == KF_ZONE_DELIST && g->dec[i].from_day < p->to_day)
            in->delisted_day = g->dec[i].from_day;
    }
    return 0;
}

/* The usage of every zone over [from, to), read once for all the zones whose span needs it
 * (nearly always one range, the period's: a zone opened or delisted in it adds its own). */
static int usage_range(struct kf_store *st, struct gather *g, int32_t from, int32_t to,
                       const struct usage_range **ret)
{
    struct usage_range *u;
    int r;

    for (size_t i = 0; i < g->n_ranges; i++) {
        if (g->ranges[i].from == from && g->ranges[i].to == to) {
            *ret = &g->ranges[i];
            return 0;
        }
    }
    u = realloc(g->ranges, (g->n_ranges + 1) * sizeof(*u));
    if (u == NULL)
        return -ENOMEM;
    g->ranges = u;
    u = &g->ranges[g->n_ranges];
    *u = (struct usage_range){from, to, NULL, 0};
    r = kf_store_plan_zone_usage(st, from, to, &u->rows, &u->n);
    if (r < 0)
        return r;
    g->n_ranges++;
    *ret = u;
    return 0;
}

/* The first of a zone's rows in a range's (by zone, item), or its end. */
static size_t usage_first(const struct usage_range *u, const char *zone)
{
    size_t lo = 0, hi = u->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(u->rows[mid].zone, zone) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Transactions, items used and days with data, each over the zone's own span: the
 * transactions over [from, to), the catalog items completed at least once over [from, the
 * period's end) (docs/REPORTS.md 3.11). */
static int gather_usage(struct kf_store *st, const struct kf_assess_period *p, struct gather *g,
                        char *err, size_t cap)
{
    int r;

    if ((r = kf_store_plan_data_days(st, p->from_day, p->to_day, &g->data, &g->n_data)) < 0)
        return fail(st, r, "usage", err, cap);
    for (size_t i = 0; i < g->n_zones; i++) {
        struct kf_assess_zone_in *in = &g->in[i];
        const struct usage_range *u;
        int32_t from, to;

        if (span_of(p, in, &from, &to) < 0)
            continue;
        if ((r = usage_range(st, g, from, to, &u)) < 0)
            return fail(st, r, "usage", err, cap);
        for (size_t k = usage_first(u, in->zone); k < u->n && !strcmp(u->rows[k].zone, in->zone);
             k++) {
            in->txns_ok += u->rows[k].ok;
            in->txns_failed += u->rows[k].failed;
            in->txns_abandoned += u->rows[k].abandoned;
        }
        if ((r = usage_range(st, g, from, p->to_day, &u)) < 0)
            return fail(st, r, "usage", err, cap);
        for (size_t k = usage_first(u, in->zone); k < u->n && !strcmp(u->rows[k].zone, in->zone);
             k++)
            in->items_used += u->rows[k].in_catalog && u->rows[k].ok > 0;
    }
    /* The days with data: the store's list is by zone, day; each zone gets its slice. */
    g->data_days = calloc(g->n_data + 1, sizeof(*g->data_days));
    if (g->data_days == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < g->n_data; i++) {
        struct kf_assess_zone_in *in = zone_in(g, g->data[i].zone);

        g->data_days[i] = g->data[i].day;
        if (in == NULL)
            continue;
        if (in->n_data_days == 0)
            in->data_days = &g->data_days[i];
        in->n_data_days++;
    }
    return 0;
}

/* Availability: the zone rows of each month's SLA report (the same inputs kioskctl sla and
 * the bills read), summed over the months of the period. An issued assessment cuts each month
 * at its end (it is issued after the period); a draft where the engine has got to, as
 * kioskctl sla does. */
static int gather_availability(struct kf_store *st, const struct kf_assess_period *p,
                               const struct kf_view_assess_opts *o, struct gather *g, char *err,
                               size_t cap)
{
    for (int m = 0; m < 6; m++) {
        struct kf_report *rep = NULL;
        int64_t as_of = 0, from, to;
        int month = (p->half - 1) * 6 + m + 1, r;

        kf_calendar_month_range(p->year, month, &from, &to);
        r = kf_view_sla_report(st, p->year, month, o->status == KF_ASSESS_ISSUED ? to : 0, &rep,
                               &as_of, err, cap);

        if (r < 0)
            return r;
        for (size_t i = 0; i < rep->n; i++) {
            const struct kf_report_row *w = &rep->rows[i];
            struct kf_assess_zone_in *in = w->scope == KF_SCOPE_ZONE ? zone_in(g, w->key) : NULL;

            if (in) {
                in->owed_s += w->scheduled_s - w->excluded_s;
                in->uptime_s += w->uptime_s;
            }
        }
        kf_report_free(rep);
    }
    return 0;
}

static int term_cmp(const void *k, const void *e)
{
    return strcmp(k, ((const struct kf_sla_terminal *)e)->asset_id);
}

/* The response figures: every company incident of a zone's terminals, on the terminal's own
 * calendar and terms, over the zone's span. */
static int gather_response(struct kf_store *st, const struct kf_assess_period *p, struct gather *g,
                           char *err, size_t cap)
{
    struct kf_sla_terminal *terms = NULL;
    struct kf_sla_window_row *wrows = NULL;
    struct kf_incident *incs = NULL;
    struct kf_window *wbuf = NULL;
    size_t n_terms = 0, n_wrows = 0, n_incs = 0;
    int64_t from_ms = kf_day_start_ms(p->from_day), to_ms = kf_day_start_ms(p->to_day);
    int r;

    if ((r = kf_store_sla_terminals(st, NULL, &terms, &n_terms)) < 0 ||
        (r = kf_store_sla_windows(st, 0, &wrows, &n_wrows)) < 0 ||
        (r = kf_store_sla_incidents(st, KF_SLA_INC_PERIOD, from_ms, to_ms, &incs, &n_incs)) < 0) {
        fail(st, r, "incidents", err, cap);
        goto out;
    }
    wbuf = calloc(n_wrows + 1, sizeof(*wbuf));
    if (wbuf == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_incs; i++) {
        const struct kf_sla_terminal *t =
            bsearch(incs[i].terminal, terms, n_terms, sizeof(*terms), term_cmp);
        struct kf_assess_zone_in *in = t ? zone_in(g, t->zone_id) : NULL;
        int32_t from, to;
        size_t nw;
        struct kf_cal cal;

        if (in == NULL || span_of(p, in, &from, &to) < 0)
            continue;
        nw = kf_store_sla_windows_for(wrows, n_wrows, t, wbuf, n_wrows);
        cal = (struct kf_cal){&t->week, g->hol, wbuf, nw < n_wrows ? nw : n_wrows};
        kf_assess_response_add(&in->response, &incs[i], &cal, &t->terms, kf_day_start_ms(from),
                               kf_day_start_ms(to));
    }
out:
    free(terms);
    free(wrows);
    free(incs);
    free(wbuf);
    return r;
}

/* A digest of what the assessment read, zone by zone (docs/REPORTS.md "inputs"). */
static int inputs_text(const struct gather *g, int what, char hex[65])
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len); /* memory, not a file */

    if (f == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < g->n_zones; i++) {
        const struct kf_assess_zone_in *z = &g->in[i];

        if (what == 0) { /* plan */
            fprintf(f, "%s\t%s\t%s\t%u\t%d\t%d\t%s", z->zone, z->unit, z->bank, z->planned,
                    z->opened_day, z->delisted_day, g->zones[i].hours);
            for (size_t t = 0; t < z->n_terminals; t++)
                for (size_t w = 0; w < z->terminals[t].n_in_zone; w++)
                    fprintf(f, "\t%s:%lld-%lld", z->terminals[t].asset,
                            (long long)z->terminals[t].in_zone[w].start_ms,
                            (long long)z->terminals[t].in_zone[w].end_ms);
        } else if (what == 1) { /* usage */
            fprintf(f, "%s\t%lld\t%lld\t%lld\t%u\t%u", z->zone, (long long)z->txns_ok,
                    (long long)z->txns_failed, (long long)z->txns_abandoned, z->items_used,
                    z->catalog_size);
            for (size_t d = 0; d < z->n_data_days; d++)
                fprintf(f, "%c%d", d ? ',' : '\t', z->data_days[d]);
        } else if (what == 2) { /* availability */
            fprintf(f, "%s\t%lld\t%lld", z->zone, (long long)z->owed_s, (long long)z->uptime_s);
        } else { /* response */
            fprintf(f, "%s\t%u\t%u\t%lld", z->zone, z->response.due, z->response.in_time,
                    (long long)z->response.sum_s);
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return -ENOMEM;
    }
    kf_view_billing_digest(buf, len, hex);
    free(buf);
    return 0;
}

int kf_view_assess(struct kf_store *st, const char *period, const struct kf_view_assess_opts *o,
                   struct kf_assessment **ret_a, char **ret_json, char *err, size_t cap)
{
    struct kf_assess_period p;
    struct kf_rubric rubric;
    struct gather g;
    struct kf_assessment *a = NULL;
    char hex[6][65], rname[96];
    struct kf_assess_digest dg[6];
    int r;

    err[0] = '\0';
    memset(&g, 0, sizeof(g));
    if (kf_assess_period_parse(period, &p) < 0) {
        snprintf(err, cap, "not a half-year: \"%s\" (YYYY-H1 or YYYY-H2)", period);
        return -EINVAL;
    }
    r = load_rubric(st, &p, &rubric, hex[0], err, cap);
    if (r == 0)
        r = kf_view_sla_holidays(st, &g.hol, err, cap);
    if (r == 0 && (r = kf_holidays_require(g.hol, kf_day_start_ms(p.from_day),
                                           kf_day_start_ms(p.to_day), err, cap)) < 0) {
        size_t l = strlen(err);
        snprintf(err + l, cap - l, " (kioskd stores each [sla] calendar_dir file it loads)");
    }
    if (r == 0)
        r = gather_plan(st, &p, &g, err, cap);
    if (r == 0)
        r = gather_usage(st, &p, &g, err, cap);
    if (r == 0)
        r = gather_availability(st, &p, o, &g, err, cap);
    if (r == 0)
        r = gather_response(st, &p, &g, err, cap);
    if (r == 0 && (r = kf_store_billing_calendars_digest(st, hex[1])) < 0)
        fail(st, r, "calendars", err, cap);
    for (int i = 0; r == 0 && i < 4; i++)
        r = inputs_text(&g, i, hex[2 + i]);
    if (r == 0) {
        snprintf(rname, sizeof(rname), "rubric:%s/v%d", rubric.id, (int)rubric.version);
        dg[0] = (struct kf_assess_digest){rname, hex[0]};
        dg[1] = (struct kf_assess_digest){"calendars", hex[1]};
        dg[2] = (struct kf_assess_digest){"plan", hex[2]};
        dg[3] = (struct kf_assess_digest){"usage", hex[3]};
        dg[4] = (struct kf_assess_digest){"availability", hex[4]};
        dg[5] = (struct kf_assess_digest){"response", hex[5]};
        struct kf_assess_input in = {
            .year = p.year,
            .half = p.half,
            .rubric = &rubric,
            .holidays = g.hol,
            .zones = g.in,
            .n_zones = g.n_zones,
            .status = o->status,
            .issued_at_ms = o->issued_at_ms,
            .version = o->version > 0 ? o->version : 1,
            .supersedes = o->supersedes,
            .reason = o->reason,
            .inputs = dg,
            .n_inputs = 6,
        };
        r = kf_assess_compute(&in, &a, err, cap);
    }
    if (r == 0 && ret_json && (r = kf_assess_json(a, ret_json)) < 0)
        snprintf(err, cap, "%s", kf_strerror(r));
    if (r == 0 && ret_a) {
        *ret_a = a;
        a = NULL;
    }
    kf_assess_free(a);
    gather_free(&g);
    return r;
}

int kf_view_assess_opts_of(const char *json, struct kf_view_assess_opts *o, char *supersedes,
                           size_t sup_cap, char *reason, size_t reason_cap)
{
    json_t *root = json_loads(json, 0, NULL);
    const char *status = json_string_value(json_object_get(root, "status"));
    json_t *v = json_object_get(root, "version");
    int r = 0;

    memset(o, 0, sizeof(*o));
    if (!root || !status || !json_is_integer(v)) {
        r = -EINVAL;
        goto out;
    }
    o->status = strcmp(status, "issued") == 0 ? KF_ASSESS_ISSUED : KF_ASSESS_DRAFT;
    o->version = (int32_t)json_integer_value(v);
    o->issued_at_ms = json_integer_value(json_object_get(root, "issued_at_ms"));
    snprintf(supersedes, sup_cap, "%s",
             json_string_value(json_object_get(root, "supersedes")) ?: "");
    snprintf(reason, reason_cap, "%s", json_string_value(json_object_get(root, "reason")) ?: "");
    o->supersedes = supersedes[0] ? supersedes : NULL;
    o->reason = reason[0] ? reason : NULL;
out:
    json_decref(root);
    return r;
}

/* ---- Standings ------------------------------------------------------------------------------ */

struct result_row {
    char zone[KF_TERMINAL_ID_MAX + 1], unit[KF_TERMINAL_ID_MAX + 1], bank[KF_TERMINAL_ID_MAX + 1];
    int year, half;
    uint8_t result;
    int32_t total_cp;
};

static int result_cmp(const void *x, const void *y)
{
    const struct result_row *a = x, *b = y;
    int c = strcmp(a->zone, b->zone);

    if (c == 0)
        c = a->year != b->year ? (a->year > b->year) - (a->year < b->year)
                               : (a->half > b->half) - (a->half < b->half);
    return c;
}

/* The zones' results in every period's current (latest) issued assessment. */
static int load_results(struct kf_store *st, struct result_row **ret, size_t *ret_n, char *err,
                        size_t cap)
{
    struct kf_rdoc *docs = NULL;
    struct result_row *rows = NULL;
    size_t n_docs = 0, n = 0, ncap = 0;
    int r = kf_store_rdoc_list(st, "assessment", &docs, &n_docs);

    if (r < 0)
        return fail(st, r, "issued assessments", err, cap);
    for (size_t i = 0; r == 0 && i < n_docs; i++) {
        struct kf_rdoc d;
        struct kf_assess_period p;
        json_t *root, *zones, *z;
        size_t k;

        if (i + 1 < n_docs && strcmp(docs[i + 1].period, docs[i].period) == 0)
            continue; /* superseded */
        if ((r = kf_store_rdoc_get(st, "assessment", docs[i].period, docs[i].version, &d)) < 0) {
            fail(st, r, docs[i].period, err, cap);
            break;
        }
        root = json_loads(d.json, 0, NULL);
        free(d.json);
        zones = json_object_get(root, "zones");
        if (kf_assess_period_parse(docs[i].period, &p) < 0 || !json_is_array(zones)) {
            snprintf(err, cap, "assessment %s v%d: not a kioskfleet.assessment/1", docs[i].period,
                     (int)docs[i].version);
            json_decref(root);
            r = -EINVAL;
            break;
        }
        json_array_foreach(zones, k, z)
        {
            const char *res = json_string_value(json_object_get(z, "result"));
            struct result_row *w;

            if ((r = grow_rows((void **)&rows, &ncap, n, sizeof(*rows))) < 0)
                break;
            w = &rows[n++];
            memset(w, 0, sizeof(*w));
            snprintf(w->zone, sizeof(w->zone), "%s",
                     json_string_value(json_object_get(z, "zone")) ?: "");
            snprintf(w->unit, sizeof(w->unit), "%s",
                     json_string_value(json_object_get(z, "unit")) ?: "");
            snprintf(w->bank, sizeof(w->bank), "%s",
                     json_string_value(json_object_get(z, "bank")) ?: "");
            w->year = p.year;
            w->half = p.half;
            w->result = !res                       ? 0
                        : strcmp(res, "pass") == 0 ? KF_ASSESS_PASS
                        : strcmp(res, "fail") == 0 ? KF_ASSESS_FAIL
                                                   : KF_ASSESS_NOT_ASSESSED;
            w->total_cp = json_is_integer(json_object_get(z, "total_cp"))
                              ? (int32_t)json_integer_value(json_object_get(z, "total_cp"))
                              : KF_ASSESS_NA;
        }
        json_decref(root);
    }
    free(docs);
    if (r < 0) {
        free(rows);
        return r;
    }
    if (n > 1)
        qsort(rows, n, sizeof(*rows), result_cmp);
    *ret = rows;
    *ret_n = n;
    return 0;
}

/* Add one decision to a zone's history, after the result of the period it answers. */
static void hist_decision(struct kf_assess_hist *h, const struct kf_zone_decision_row *d)
{
    struct kf_assess_period p;

    memset(h, 0, sizeof(*h));
    h->kind = d->decision == KF_ZONE_DELIST ? KF_HIST_DELIST : KF_HIST_KEEP;
    if (kf_assess_period_parse(d->period, &p) == 0) {
        h->year = p.year;
        h->half = p.half;
    }
    h->day = d->decision == KF_ZONE_DELIST ? d->from_day : kf_local_day(d->at_ms);
    h->reason = d->reason;
}

int kf_view_assess_standings(struct kf_store *st, const struct kf_zone_decision_row *extra,
                             struct kf_view_standing **ret, size_t *ret_n, char *err, size_t cap)
{
    struct kf_plan_zone *zones = NULL;
    struct result_row *res = NULL;
    struct kf_zone_decision_row *dec = NULL;
    struct kf_assess_hist *h = NULL;
    struct kf_view_standing *out = NULL;
    size_t n_zones = 0, n_res = 0, n_dec = 0, kr = 0, kd = 0;
    int r;

    err[0] = '\0';
    if ((r = kf_store_plan_zones(st, &zones, &n_zones)) < 0 ||
        (r = kf_store_zone_decisions(st, NULL, &dec, &n_dec)) < 0) {
        fail(st, r, "zones", err, cap);
        goto out;
    }
    if ((r = load_results(st, &res, &n_res, err, cap)) < 0)
        goto out;
    h = calloc(n_res + n_dec + 2, sizeof(*h));
    out = calloc(n_zones + 1, sizeof(*out));
    if (h == NULL || out == NULL) {
        r = -ENOMEM;
        goto out;
    }
    /* All three lists are by zone; decisions by zone, period, after that period's result. */
    for (size_t i = 0; r == 0 && i < n_zones; i++) {
        struct kf_view_standing *v = &out[i];
        size_t n = 0;
        int extra_here = extra && strcmp(extra->zone_id, zones[i].id) == 0;

        snprintf(v->zone, sizeof(v->zone), "%s", zones[i].id);
        snprintf(v->unit, sizeof(v->unit), "%s", zones[i].unit);
        snprintf(v->bank, sizeof(v->bank), "%s", zones[i].bank);
        v->last_total_cp = KF_ASSESS_NA;
        while (kr < n_res && strcmp(res[kr].zone, zones[i].id) < 0)
            kr++;
        while (kd < n_dec && strcmp(dec[kd].zone_id, zones[i].id) < 0)
            kd++;
        size_t d0 = kd;
        while (kr < n_res && strcmp(res[kr].zone, zones[i].id) == 0) {
            const struct result_row *w = &res[kr++];

            h[n++] = (struct kf_assess_hist){
                .kind = KF_HIST_RESULT, .year = w->year, .half = w->half, .result = w->result};
            v->last_result = w->result;
            v->last_total_cp = w->total_cp;
            /* the decisions answering this period */
            for (size_t j = d0; j < n_dec && strcmp(dec[j].zone_id, zones[i].id) == 0; j++) {
                struct kf_assess_period p;
                if (kf_assess_period_parse(dec[j].period, &p) == 0 && p.year == w->year &&
                    p.half == w->half)
                    hist_decision(&h[n++], &dec[j]);
            }
        }
        while (kd < n_dec && strcmp(dec[kd].zone_id, zones[i].id) == 0)
            kd++;
        if (extra_here)
            hist_decision(&h[n++], extra);
        if ((r = kf_assess_standing(h, n, &v->s, v->problem, sizeof(v->problem))) < 0) {
            /* One zone's history does not stop the others' standing, unless it is the
             * decision being checked. */
            if (extra_here) {
                snprintf(err, cap, "%s", v->problem);
            } else {
                r = 0;
            }
        } else {
            v->problem[0] = '\0';
        }
    }
out:
    free(zones);
    free(res);
    free(dec);
    free(h);
    if (r < 0) {
        free(out);
        return r;
    }
    *ret = out;
    *ret_n = n_zones;
    return 0;
}

struct kf_qtable *kf_view_assess_standings_table(const struct kf_view_standing *v, size_t n,
                                                 const char *zone, int watchlist)
{
    static const char *const cols[] = {"zone",          "unit",        "bank",        "standing",
                                       "streak",        "last_period", "last_result", "last_total",
                                       "delisted_from", "problem",     NULL};
    struct kf_qtable *t =
        kf_store_query_table_new(watchlist ? "watchlist" : "standing", NULL, cols, "xxxxixxrdx");

    for (size_t i = 0; t && i < n; i++) {
        const struct kf_assess_standing *s = &v[i].s;
        char streak[24], total[24], day[16];
        long long x = v[i].last_total_cp;

        if (zone && strcmp(zone, v[i].zone) != 0)
            continue;
        if (watchlist && !v[i].problem[0] && !s->failed_last && s->standing != KF_STANDING_PROPOSED)
            continue;
        snprintf(total, sizeof(total), "%lld.%02lld", x / 100, x % 100);
        const char *cells[] = {v[i].zone,
                               v[i].unit,
                               v[i].bank,
                               v[i].problem[0] ? "?" : kf_assess_standing_name(s->standing),
                               kf__view_cell_int(s->streak, streak),
                               s->last.year ? s->last.name : NULL,
                               v[i].last_result ? kf_assess_result_name(v[i].last_result) : NULL,
                               x != KF_ASSESS_NA && v[i].last_result ? total : NULL,
                               s->standing == KF_STANDING_DELISTED && !v[i].problem[0]
                                   ? kf_day_format(s->delisted_day, day, sizeof(day))
                                   : NULL,
                               v[i].problem[0] ? v[i].problem : NULL};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}
