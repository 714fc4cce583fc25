/* views/week.c: the weekly report from the store (views/week.h), and the registry's assembly
 * shared with views/coverage.c (views/week_int.h). */
#define _GNU_SOURCE
#include "views/week.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/time.h>

#include "rules/report.h"
#include "store/billing.h"
#include "store/reports.h"
#include "store/reports_docs.h"
#include "store/sla.h"
#include "views/billing.h"
#include "views/sla.h"
#include "views/week_int.h"

/* ---- Shared: the registry ----------------------------------------------------------------------
 */

int kf__view_fail(struct kf_store *st, int r, const char *what, char *err, size_t cap)
{
    const char *m = kf_store_errmsg(st);

    snprintf(err, cap, "%s: %s", what, m[0] ? m : kf_strerror(r));
    return r;
}

int kf__view_snapshot(struct kf_store *st, int *ret_own)
{
    /* BEGIN fails inside a transaction the caller holds: that one is the snapshot. */
    *ret_own = kf_store_snapshot_begin(st) == 0;
    return 0;
}

int kf__view_text_digest(int rc, char *text, size_t len, char hex[65])
{
    if (rc == 0) {
        kf_view_billing_digest(text, len, hex);
        free(text);
    }
    return rc;
}

void kf__view_registry_close(struct kf__view_registry *r)
{
    free(r->units);
    free(r->banks);
    free(r->families);
    free(r->items);
    free(r->zones);
    free(r->svc);
    free(r->usage);
    free(r->wunits);
    free(r->wbanks);
    free(r->wfamilies);
    free(r->witems);
    free(r->wzones);
    free(r->wterms);
    free(r->wins);
    free(r->wusage);
    memset(r, 0, sizeof(*r));
}

static struct kf_week_name *names_of(const struct kf_reports_name *v, size_t n)
{
    struct kf_week_name *w = calloc(n + 1, sizeof(*w));

    for (size_t i = 0; w && i < n; i++) {
        w[i] = (struct kf_week_name){v[i].code, v[i].name};
    }
    return w;
}

static int svc_cmp(const void *a, const void *b)
{
    const struct kf_billing_service *x = *(const struct kf_billing_service *const *)a;
    const struct kf_billing_service *y = *(const struct kf_billing_service *const *)b;
    int c = strcmp(x->asset_id, y->asset_id);

    if (c == 0) {
        c = strcmp(x->zone_id, y->zone_id);
    }
    return c ? c : (x->w.start_ms > y->w.start_ms) - (x->w.start_ms < y->w.start_ms);
}

static int zone_cmp(const void *key, const void *z)
{
    return strcmp(key, ((const struct kf_reports_zone *)z)->id);
}

/* One terminal entry per asset and zone: an asset moved away and back is one entry there. */
static int terminals_of(struct kf__view_registry *r)
{
    const struct kf_billing_service **v = calloc(r->n_svc + 1, sizeof(*v));

    r->wterms = calloc(r->n_svc + 1, sizeof(*r->wterms));
    r->wins = calloc(r->n_svc + 1, sizeof(*r->wins));
    if (v == NULL || r->wterms == NULL || r->wins == NULL) {
        free(v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->n_svc; i++) {
        v[i] = &r->svc[i];
    }
    if (r->n_svc > 1) {
        qsort(v, r->n_svc, sizeof(*v), svc_cmp);
    }
    for (size_t i = 0; i < r->n_svc; i++) {
        const struct kf_billing_service *s = v[i];
        struct kf_week_terminal_in *t = r->n_wterms ? &r->wterms[r->n_wterms - 1] : NULL;

        r->wins[i] = s->w;
        if (t && strcmp(t->asset, s->asset_id) == 0 && strcmp(t->zone, s->zone_id) == 0) {
            t->n_service++;
            continue;
        }
        const struct kf_reports_zone *z =
            r->n_zones ? bsearch(s->zone_id, r->zones, r->n_zones, sizeof(*r->zones), zone_cmp)
                       : NULL;
        t = &r->wterms[r->n_wterms++];
        t->asset = s->asset_id;
        t->zone = s->zone_id;
        t->kind = (uint8_t)(s->kind == KF_TERMINAL_ITM ? 2 : 1);
        /* No such zone: NULL hours, and the rules refuse the terminal, naming it. */
        t->hours = z == NULL ? NULL : t->kind == 2 ? &z->itm_week : &z->kiosk_week;
        t->service = &r->wins[i];
        t->n_service = 1;
    }
    free(v);
    return 0;
}

int kf__view_registry_load(struct kf_store *st, struct kf__view_registry *r, char *err, size_t cap)
{
    int rc;

    memset(r, 0, sizeof(*r));
    if ((rc = kf_store_reports_names(st, "unit", &r->units, &r->n_units)) < 0 ||
        (rc = kf_store_reports_names(st, "bank", &r->banks, &r->n_banks)) < 0 ||
        (rc = kf_store_reports_names(st, "family", &r->families, &r->n_families)) < 0 ||
        (rc = kf_store_reports_names(st, "item", &r->items, &r->n_items)) < 0) {
        return kf__view_fail(st, rc, "names", err, cap);
    }
    if ((rc = kf_store_reports_zones(st, &r->zones, &r->n_zones)) < 0) {
        return kf__view_fail(st, rc, "zones", err, cap);
    }
    if ((rc = kf_store_billing_asset_service(st, NULL, NULL, &r->svc, &r->n_svc)) < 0) {
        return kf__view_fail(st, rc, "assets in service", err, cap);
    }
    r->wunits = names_of(r->units, r->n_units);
    r->wbanks = names_of(r->banks, r->n_banks);
    r->wfamilies = names_of(r->families, r->n_families);
    r->witems = calloc(r->n_items + 1, sizeof(*r->witems));
    r->wzones = calloc(r->n_zones + 1, sizeof(*r->wzones));
    if (!r->wunits || !r->wbanks || !r->wfamilies || !r->witems || !r->wzones) {
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->n_items; i++) {
        r->witems[i] =
            (struct kf_week_item){r->items[i].code, r->items[i].family, r->items[i].name};
    }
    for (size_t i = 0; i < r->n_zones; i++) {
        const struct kf_reports_zone *z = &r->zones[i];
        r->wzones[i] = (struct kf_week_zone_in){z->id,   z->name,   z->branch, z->unit,
                                                z->bank, z->kiosks, z->itms};
    }
    if ((rc = terminals_of(r)) < 0) {
        snprintf(err, cap, "out of memory");
    }
    return rc;
}

static int asset_cmp(const void *key, const void *elem)
{
    return strcmp(key, elem);
}

int kf__view_registry_online(struct kf_store *st, struct kf__view_registry *r, int64_t from_ms,
                             int64_t to_ms, char *err, size_t cap)
{
    char(*on)[KF_TERMINAL_ID_MAX + 1] = NULL;
    size_t n = 0;
    int rc = kf_store_reports_online(st, from_ms, to_ms, &on, &n);

    if (rc < 0) {
        return kf__view_fail(st, rc, "presence", err, cap);
    }
    for (size_t i = 0; i < r->n_wterms; i++) {
        /* Both lists by asset id: on is ordered by the store. */
        r->wterms[i].online =
            n > 0 && bsearch(r->wterms[i].asset, on, n, sizeof(*on), asset_cmp) != NULL;
    }
    free(on);
    return 0;
}

int kf__view_registry_usage(struct kf_store *st, struct kf__view_registry *r, int32_t from_day,
                            int32_t to_day, char *err, size_t cap)
{
    int rc = kf_store_reports_usage(st, from_day, to_day, &r->usage, &r->n_usage);

    if (rc < 0) {
        return kf__view_fail(st, rc, "usage", err, cap);
    }
    r->wusage = calloc(r->n_usage + 1, sizeof(*r->wusage));
    if (r->wusage == NULL) {
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->n_usage; i++) {
        const struct kf_reports_usage *u = &r->usage[i];
        r->wusage[i] = (struct kf_week_usage_in){u->day, u->zone,   u->asset,    u->item,
                                                 u->ok,  u->failed, u->abandoned};
    }
    return 0;
}

/* ---- The week
 * ------------------------------------------------------------------------------------ */

#define N_DIGESTS 6

struct kf__view_week_in {
    struct kf__view_registry reg;
    struct kf_holidays *hol;
    struct kf_sla_terminal *terms; /* the SLA's view of every asset, by id */
    size_t n_terms;
    struct kf_incident *incs; /* by terminal, then id */
    size_t n_incs;
    struct kf_week_avail_in *avail[2];
    size_t n_avail[2];
    struct kf_report *rep[2];
    struct kf_week_incident_in *wincs;
    size_t n_wincs;
    char hex[N_DIGESTS][65];
    struct kf_week_digest dg[N_DIGESTS];
    struct kf_week_input in;
    struct kf__view_week_usage usage;
    char (*drop)[KF_TERMINAL_ID_MAX + 1]; /* the zones delisted by the week's Monday */
    size_t n_drop;
};

static void in_free(struct kf__view_week_in *w)
{
    if (w == NULL) {
        return;
    }
    kf__view_registry_close(&w->reg);
    kf_holidays_free(w->hol);
    free(w->terms);
    free(w->incs);
    for (int k = 0; k < 2; k++) {
        free(w->avail[k]);
        kf_report_free(w->rep[k]);
    }
    free(w->wincs);
    kf__view_week_usage_close(&w->usage);
    free(w->drop);
    free(w);
}

void kf_view_week_free(struct kf_view_week *v)
{
    if (v == NULL) {
        return;
    }
    kf_week_free(v->rep);
    free(v->json);
    in_free(v->in);
    free(v);
}

static int inc_cmp(const void *a, const void *b)
{
    const struct kf_incident *x = a, *y = b;
    int c = strcmp(x->terminal, y->terminal);

    return c != 0 ? c : (x->id > y->id) - (x->id < y->id);
}

static int term_cmp(const void *key, const void *t)
{
    return strcmp(key, ((const struct kf_sla_terminal *)t)->asset_id);
}

/* The two weeks' availability per zone, by the monthly report's own code over the same
 * stored inputs (views/sla.c, kf_view_sla_report_cut, assembles a month alike). */
static int availability(struct kf_store *st, struct kf__view_week_in *w, int64_t pfrom,
                        int64_t from, int64_t to, int64_t as_of, int64_t cut, char *err, size_t cap)
{
    struct kf_sla_window_row *wins = NULL;
    struct kf_sla_first_online *first = NULL;
    struct kf_report_terminal *in = NULL;
    struct kf_window *wbuf = NULL, *sbuf = NULL;
    const struct kf__view_registry *reg = &w->reg;
    size_t n_wins = 0, n_first = 0, total = 0, used = 0;
    int r;

    if ((r = kf_store_sla_terminals(st, NULL, &w->terms, &w->n_terms)) < 0) {
        return kf__view_fail(st, r, "terminals", err, cap);
    }
    if ((r = kf_store_sla_windows(st, 0, &wins, &n_wins)) < 0) {
        return kf__view_fail(st, r, "windows", err, cap);
    }
    r = cut != 0 ? kf_store_sla_incidents_at(st, cut, pfrom, to, &w->incs, &w->n_incs)
                 : kf_store_sla_incidents(st, KF_SLA_INC_PERIOD, pfrom, to, &w->incs, &w->n_incs);
    if (r < 0) {
        free(wins);
        return kf__view_fail(st, r, "incidents", err, cap);
    }
    if ((r = kf_store_sla_first_online(st, &first, &n_first)) < 0) {
        free(wins);
        return kf__view_fail(st, r, "first reports", err, cap);
    }
    if (w->n_incs > 1) {
        qsort(w->incs, w->n_incs, sizeof(*w->incs), inc_cmp);
    }
    for (size_t i = 0; i < w->n_terms; i++) {
        total += kf_store_sla_windows_for(wins, n_wins, &w->terms[i], NULL, 0);
    }
    in = calloc(w->n_terms + 1, sizeof(*in));
    wbuf = calloc(total + 1, sizeof(*wbuf));
    sbuf = calloc(reg->n_svc + 1, sizeof(*sbuf));
    if (in == NULL || wbuf == NULL || sbuf == NULL) {
        r = -ENOMEM;
        snprintf(err, cap, "out of memory");
        goto out_free;
    }
    for (size_t i = 0; i < reg->n_svc; i++) {
        sbuf[i] = reg->svc[i].w;
    }
    /* Terminals, intervals in service, first reports and incidents: all by asset id. */
    for (size_t i = 0, k = 0, ks = 0, kf = 0; i < w->n_terms; i++) {
        const char *a = w->terms[i].asset_id;
        size_t nw = kf_store_sla_windows_for(wins, n_wins, &w->terms[i], wbuf + used, total - used);

        in[i].terminal = a;
        in[i].zone = w->terms[i].zone_id;
        in[i].bank = w->terms[i].bank;
        in[i].week = &w->terms[i].week;
        in[i].terms = &w->terms[i].terms;
        in[i].windows = wbuf + used;
        in[i].n_windows = nw;
        used += nw;
        while (k < w->n_incs && strcmp(w->incs[k].terminal, a) < 0) {
            k++;
        }
        in[i].incidents = w->incs + k;
        while (k < w->n_incs && strcmp(w->incs[k].terminal, a) == 0) {
            in[i].n_incidents++;
            k++;
        }
        while (ks < reg->n_svc && strcmp(reg->svc[ks].asset_id, a) < 0) {
            ks++;
        }
        in[i].service = sbuf + ks;
        while (ks < reg->n_svc && strcmp(reg->svc[ks].asset_id, a) == 0) {
            in[i].n_service++;
            ks++;
        }
        while (kf < n_first && strcmp(first[kf].asset_id, a) < 0) {
            kf++;
        }
        if (kf < n_first && strcmp(first[kf].asset_id, a) == 0) {
            in[i].first_online_ms = first[kf].at_ms;
        }
    }
    for (int k = 0; k < 2; k++) {
        int64_t a = k == 0 ? from : pfrom, b = k == 0 ? to : from;
        int64_t cut_at = as_of < b ? as_of : b;
        size_t n = 0;

        r = kf_report_range(a, b, cut_at, w->hol, in, w->n_terms, &w->rep[k]);
        if (r < 0) {
            snprintf(err, cap, "availability: %s", kf_strerror(r));
            goto out_free;
        }
        w->avail[k] = calloc(w->rep[k]->n + 1, sizeof(*w->avail[k]));
        if (w->avail[k] == NULL) {
            r = -ENOMEM;
            snprintf(err, cap, "out of memory");
            goto out_free;
        }
        for (size_t i = 0; i < w->rep[k]->n; i++) {
            const struct kf_report_row *row = &w->rep[k]->rows[i];
            if (row->scope == KF_SCOPE_ZONE) {
                w->avail[k][n++] = (struct kf_week_avail_in){
                    row->key, row->scheduled_s - row->excluded_s, row->uptime_s, row->target_owed};
            }
        }
        w->n_avail[k] = n;
    }
out_free:
    free(in);
    free(wbuf);
    free(sbuf);
    free(wins);
    free(first);
    return r;
}

/* Every input's digest (docs/REPORTS.md "Inputs"), by name. */
static int digests(struct kf_store *st, struct kf__view_week_in *w, char *err, size_t cap)
{
    static const struct {
        const char *name;
        int text; /* 0: the store's calendars digest */
    } d[N_DIGESTS] = {
        {"availability", KF_WEEK_TEXT_AVAILABILITY}, {"calendars", 0},
        {"incidents", KF_WEEK_TEXT_INCIDENTS},       {"presence", KF_WEEK_TEXT_PRESENCE},
        {"registry", KF_WEEK_TEXT_REGISTRY},         {"usage", KF_WEEK_TEXT_USAGE},
    };
    int r = 0;

    for (int i = 0; i < N_DIGESTS && r == 0; i++) {
        char *text = NULL;
        size_t len = 0;

        if (d[i].text == 0) {
            if ((r = kf_store_billing_calendars_digest(st, w->hex[i])) < 0) {
                kf__view_fail(st, r, "calendars", err, cap);
            }
        } else if (d[i].text == KF_WEEK_TEXT_USAGE) {
            /* Digested as the rows were read (views/week_usage.c): the same bytes. */
            memcpy(w->hex[i], w->usage.hex, sizeof(w->hex[i]));
        } else {
            r = kf_week_text(&w->in, d[i].text, &text, &len);
            r = kf__view_text_digest(r, text, len, w->hex[i]);
            if (r < 0) {
                snprintf(err, cap, "%s: a text with a tab or a line break", d[i].name);
            }
        }
        w->dg[i] = (struct kf_week_digest){d[i].name, w->hex[i]};
    }
    w->in.inputs = w->dg;
    w->in.n_inputs = N_DIGESTS;
    return r;
}

/* Is zone among the n delisted (sorted) ids? */
static int dropped(char (*ids)[KF_TERMINAL_ID_MAX + 1], size_t n, const char *zone)
{
    for (size_t i = 0; zone && i < n; i++)
        if (strcmp(ids[i], zone) == 0)
            return 1;
    return 0;
}

/* A zone delisted (the bureau's decision, zone_decisions) on or before the week's Monday has
 * left the plan: it leaves the week's report, its terminals, usage, availability and
 * incidents with it, in this week and the one compared (docs/REPORTS.md 1.2.1). A zone
 * delisted during the week is still that week's. The zones, before anything is read (the
 * usage is left out as it is read). */
static int delisted(struct kf_store *st, struct kf__view_week_in *w, int32_t first, char *err,
                    size_t cap)
{
    struct kf_zone_decision_row *dec = NULL;
    size_t n_dec = 0;
    int r = kf_store_zone_decisions(st, NULL, &dec, &n_dec);

    if (r < 0)
        return kf__view_fail(st, r, "zone decisions", err, cap);
    w->drop = calloc(n_dec + 1, sizeof(*w->drop));
    if (w->drop == NULL) {
        free(dec);
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n_dec; i++)
        if (dec[i].decision == KF_ZONE_DELIST && dec[i].from_day <= first)
            snprintf(w->drop[w->n_drop++], sizeof(w->drop[0]), "%s", dec[i].zone_id);
    free(dec);
    return 0;
}

/* Leave the delisted zones out of what was read with them. */
static void drop_delisted(struct kf__view_week_in *w)
{
    struct kf__view_registry *g = &w->reg;
    char(*ids)[KF_TERMINAL_ID_MAX + 1] = w->drop;
    size_t n = w->n_drop, k;

    if (n > 0) {
        for (size_t i = k = 0; i < g->n_zones; i++)
            if (!dropped(ids, n, g->wzones[i].id))
                g->wzones[k++] = g->wzones[i];
        g->n_zones = k;
        for (size_t i = k = 0; i < g->n_wterms; i++)
            if (!dropped(ids, n, g->wterms[i].zone))
                g->wterms[k++] = g->wterms[i];
        g->n_wterms = k;
        for (int a = 0; a < 2; a++) {
            for (size_t i = k = 0; i < w->n_avail[a]; i++)
                if (!dropped(ids, n, w->avail[a][i].zone))
                    w->avail[a][k++] = w->avail[a][i];
            w->n_avail[a] = k;
        }
        for (size_t i = k = 0; i < w->n_wincs; i++)
            if (!dropped(ids, n, w->wincs[i].zone))
                w->wincs[k++] = w->wincs[i];
        w->n_wincs = k;
    }
}

static int assemble(struct kf_store *st, struct kf__view_week_in *w, int y, int wk,
                    const struct kf_view_week_opts *o, char *err, size_t cap)
{
    struct kf_sla_cursor cur;
    int64_t from, to, pfrom, pto, as_of;
    int32_t first;
    int py, pw, r;

    if (kf_week_range(y, wk, &from, &to) < 0) {
        snprintf(err, cap, "no week %04d-W%02d", y, wk);
        return -EINVAL;
    }
    kf_week_first_day(y, wk, &first);
    kf_week_prev(y, wk, &py, &pw);
    kf_week_range(py, pw, &pfrom, &pto);
    if ((r = kf_view_sla_holidays(st, &w->hol, err, cap)) < 0) {
        return r;
    }
    if ((r = kf_holidays_require(w->hol, pfrom, to, err, cap)) < 0) {
        size_t l = strlen(err);
        snprintf(err + l, cap - l, " (kioskd stores each [sla] calendar_dir file it loads)");
        return r;
    }
    if ((r = kf_store_sla_cursor(st, &cur)) < 0) {
        return kf__view_fail(st, r, "sla cursor", err, cap);
    }
    as_of = o->as_of_ms != 0 ? o->as_of_ms : cur.tick_ms >= to ? to : cur.tick_ms;
    as_of = as_of > to ? to : as_of < pfrom ? pfrom : as_of;
    if ((r = delisted(st, w, first, err, cap)) < 0 ||
        (r = kf__view_registry_load(st, &w->reg, err, cap)) < 0 ||
        (r = kf__view_registry_online(st, &w->reg, from, to, err, cap)) < 0 ||
        (r = kf__view_week_usage(st, first, w->drop, w->n_drop, &w->usage, err, cap)) < 0 ||
        (r = availability(st, w, pfrom, from, to, as_of, o->cut_ms, err, cap)) < 0) {
        return r;
    }
    w->wincs = calloc(w->n_incs + 1, sizeof(*w->wincs));
    if (w->wincs == NULL) {
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < w->n_incs; i++) {
        const struct kf_sla_terminal *t =
            w->n_terms
                ? bsearch(w->incs[i].terminal, w->terms, w->n_terms, sizeof(*w->terms), term_cmp)
                : NULL;
        w->wincs[i] = (struct kf_week_incident_in){&w->incs[i], t ? t->zone_id : NULL};
    }
    w->n_wincs = w->n_incs;
    drop_delisted(w);
    w->in = (struct kf_week_input){
        .iso_year = y,
        .iso_week = wk,
        .draft = o->draft,
        .hol = w->hol,
        .units = w->reg.wunits,
        .n_units = w->reg.n_units,
        .banks = w->reg.wbanks,
        .n_banks = w->reg.n_banks,
        .families = w->reg.wfamilies,
        .n_families = w->reg.n_families,
        .items = w->reg.witems,
        .n_items = w->reg.n_items,
        .zones = w->reg.wzones,
        .n_zones = w->reg.n_zones,
        .terminals = w->reg.wterms,
        .n_terminals = w->reg.n_wterms,
        .usage = w->usage.rows,
        .n_usage = w->usage.n,
        .avail = {w->avail[0], w->avail[1]},
        .n_avail = {w->n_avail[0], w->n_avail[1]},
        .avail_as_of_ms = as_of,
        .incidents_cut_ms = o->cut_ms,
        .incidents = w->wincs,
        .n_incidents = w->n_wincs,
    };
    return digests(st, w, err, cap);
}

int kf_view_week(struct kf_store *st, int iso_year, int iso_week, const struct kf_view_week_opts *o,
                 struct kf_view_week **ret, char *err, size_t cap)
{
    static const struct kf_view_week_opts defaults = {0};
    struct kf_view_week *v = calloc(1, sizeof(*v));
    int own = 0, r;

    err[0] = '\0';
    if (v == NULL || (v->in = calloc(1, sizeof(*v->in))) == NULL) {
        free(v);
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    kf__view_snapshot(st, &own);
    r = assemble(st, v->in, iso_year, iso_week, o ? o : &defaults, err, cap);
    if (own) {
        kf_store_end(st, 0);
    }
    if (r == 0 && (r = kf_week_compute(&v->in->in, &v->rep, err, cap)) == 0 &&
        (r = kf_week_json(v->rep, &v->json, &v->len)) < 0) {
        snprintf(err, cap, "out of memory");
    }
    if (r < 0) {
        if (err[0] == '\0') {
            snprintf(err, cap, "%s", kf_strerror(r));
        }
        kf_view_week_free(v);
        return r;
    }
    *ret = v;
    return 0;
}

int kf_view_week_json(struct kf_store *st, int iso_year, int iso_week,
                      const struct kf_view_week_opts *o, char **ret_json, size_t *ret_len,
                      char *err, size_t cap)
{
    struct kf_view_week *v = NULL;
    int r = kf_view_week(st, iso_year, iso_week, o, &v, err, cap);

    if (r < 0) {
        return r;
    }
    *ret_json = v->json;
    *ret_len = v->len;
    v->json = NULL;
    kf_view_week_free(v);
    return 0;
}
