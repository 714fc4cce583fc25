/* views/sla.c: read-only SLA views from the store (views/sla.h). */
#define _GNU_SOURCE
#include "views/sla.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>

#include "store/billing.h"
#include "store/store.h"

static int fail(struct kf_store *st, int r, const char *what, char *err, size_t cap)
{
    const char *m = kf_store_errmsg(st);

    snprintf(err, cap, "%s: %s", what, m[0] ? m : kf_strerror(r));
    return r;
}

static int term_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_sla_terminal *)a)->asset_id,
                  ((const struct kf_sla_terminal *)b)->asset_id);
}

static const struct kf_sla_terminal *term_of(const struct kf_sla_terminal *all, size_t n,
                                             const char *asset)
{
    struct kf_sla_terminal key;

    if (n == 0) {
        return NULL; /* bsearch's base must not be NULL, even for zero elements */
    }
    snprintf(key.asset_id, sizeof(key.asset_id), "%s", asset);
    return bsearch(&key, all, n, sizeof(key), term_cmp);
}

int kf_view_sla_holidays(struct kf_store *st, struct kf_holidays **ret, char *err, size_t cap)
{
    struct kf_holidays *h = kf_holidays_new();
    int r;

    if (h == NULL)
        return -ENOMEM;
    r = kf_store_sla_calendars_load(st, h, err, cap);
    if (r < 0) {
        kf_holidays_free(h);
        return r;
    }
    *ret = h;
    return 0;
}

void kf_view_sla_queue_free(struct kf_view_sla_queue *q)
{
    if (q == NULL)
        return;
    free(q->rows);
    free(q->terms);
    kf_sla_free(q->e);
    kf_holidays_free(q->hol);
    free(q->all);
    free(q);
}

int kf_view_sla_queue(struct kf_store *st, int64_t now_ms, struct kf_view_sla_queue **ret,
                      char *err, size_t cap)
{
    struct kf_view_sla_queue *q = calloc(1, sizeof(*q));
    struct kf_sla_window_row *wins = NULL;
    struct kf_incident *incs = NULL;
    struct kf_window w[KF_SLA_WINDOWS_MAX];
    struct kf_sla_config cfg;
    size_t n_wins = 0, n_incs = 0;
    unsigned char *set = NULL;
    int r;

    if (q == NULL)
        return -ENOMEM;
    kf_sla_config_defaults(&cfg);
    r = kf_view_sla_holidays(st, &q->hol, err, cap);
    /* Not closed: since = the far future keeps closed ones out. */
    if (r == 0 &&
        (r = kf_store_sla_incidents(st, KF_SLA_INC_LIVE, INT64_MAX, 0, &incs, &n_incs)) < 0)
        fail(st, r, "incidents", err, cap);
    /* The terminals' hours, contracts and windows matter only to open incidents' clocks (and
     * their places to the outages they form): with none open, nothing is read. */
    if (r == 0 && n_incs > 0 && (r = kf_store_sla_terminals(st, NULL, &q->all, &q->n_all)) < 0)
        fail(st, r, "terminals", err, cap);
    if (r == 0 && n_incs > 0 && (r = kf_store_sla_windows(st, 0, &wins, &n_wins)) < 0)
        fail(st, r, "windows", err, cap);
    if (r == 0 && (r = kf_sla_new(&cfg, q->hol, NULL, NULL, &q->e)) < 0)
        snprintf(err, cap, "engine: %s", kf_strerror(r));
    /* The engine needs the hours, terms and windows of the terminals with an open incident
     * only: their clocks are the queue's. Each set once. */
    if (r == 0 && q->n_all > 0 && (set = calloc(q->n_all, 1)) == NULL)
        r = -ENOMEM;
    for (size_t k = 0; r == 0 && k < n_incs; k++) {
        const struct kf_sla_terminal *t = term_of(q->all, q->n_all, incs[k].terminal);
        size_t i = t ? (size_t)(t - q->all) : 0, n;

        if (!t || set[i])
            continue;
        set[i] = 1;
        n = kf_store_sla_windows_for(wins, n_wins, t, w, KF_SLA_WINDOWS_MAX);
        r = kf_sla_terminal_set(q->e, t->asset_id, &t->week, &t->terms);
        if (r == 0)
            r = kf_sla_windows_set(q->e, t->asset_id, w,
                                   n < KF_SLA_WINDOWS_MAX ? n : KF_SLA_WINDOWS_MAX);
    }
    free(set);
    for (size_t i = 0; r == 0 && i < n_incs; i++)
        r = kf_sla_restore_incident(q->e, &incs[i]);
    if (r == 0)
        r = kf_sla_queue(q->e, now_ms, &q->rows, &q->n);
    if (r == 0 && q->n > 0 && (q->terms = calloc(q->n, sizeof(*q->terms))) == NULL)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < q->n; i++)
        q->terms[i] = term_of(q->all, q->n_all, q->rows[i].inc->terminal);
    free(wins);
    free(incs);
    if (r < 0) {
        if (err[0] == '\0')
            snprintf(err, cap, "%s", kf_strerror(r));
        kf_view_sla_queue_free(q);
        return r;
    }
    *ret = q;
    return 0;
}

void kf_view_sla_incident_free(struct kf_view_sla_incident *v)
{
    if (v == NULL)
        return;
    free(v->events);
    free(v);
}

int kf_view_sla_incident(struct kf_store *st, int64_t id, int64_t now_ms,
                         struct kf_view_sla_incident **ret, char *err, size_t cap)
{
    struct kf_view_sla_incident *v = calloc(1, sizeof(*v));
    struct kf_sla_window_row *wins = NULL;
    struct kf_sla_terminal *t = NULL;
    struct kf_holidays *hol = NULL;
    struct kf_window w[KF_SLA_WINDOWS_MAX];
    size_t n_wins = 0, n_t = 0;
    int r;

    if (v == NULL)
        return -ENOMEM;
    r = kf_store_sla_incident(st, id, &v->inc);
    if (r < 0)
        fail(st, r, "incident", err, cap);
    if (r == 0)
        r = kf_view_sla_holidays(st, &hol, err, cap);
    if (r == 0 && (r = kf_store_sla_events(st, id, &v->events, &v->n_events)) < 0)
        fail(st, r, "history", err, cap);
    if (r == 0 && (r = kf_store_sla_windows(st, 0, &wins, &n_wins)) < 0)
        fail(st, r, "windows", err, cap);
    if (r == 0 && kf_store_sla_terminals(st, v->inc.terminal, &t, &n_t) == 0 && n_t == 1) {
        struct kf_cal cal = {&t->week, hol, w, 0};

        v->term = *t;
        cal.n_excl = kf_store_sla_windows_for(wins, n_wins, t, w, KF_SLA_WINDOWS_MAX);
        if (cal.n_excl > KF_SLA_WINDOWS_MAX)
            cal.n_excl = KF_SLA_WINDOWS_MAX;
        kf_calendar_windows_normalize(w, cal.n_excl, &cal.n_excl);
        kf_incident_clock(&v->inc, KF_CLOCK_RESPONSE, &cal, &t->terms, now_ms, &v->response);
        kf_incident_clock(&v->inc, KF_CLOCK_RESTORE, &cal, &t->terms, now_ms, &v->restore);
    }
    free(t);
    free(wins);
    kf_holidays_free(hol);
    if (r < 0) {
        kf_view_sla_incident_free(v);
        return r;
    }
    *ret = v;
    return 0;
}

/* The view of each terminal of all (target NULL) or of the one target names, from the state
 * rows (both lists ordered by asset id). out has room for n_all. Returns how many. */
static size_t states_merge(struct kf_view_sla_state *out, const struct kf_sla_terminal *all,
                           size_t n_all, const struct kf_sla_state_row *rows, size_t n_rows,
                           const uint32_t *needs, size_t n_items, const char *target)
{
    size_t n = 0;

    for (size_t i = 0, k = 0; i < n_all; i++) {
        struct kf_view_sla_state *v = &out[n];
        struct kf_seg seg;

        if (target != NULL && strcmp(all[i].asset_id, target) != 0 &&
            strcmp(all[i].device_id, target) != 0)
            continue;
        v->term = all[i];
        v->items = n_items;
        /* Both lists are ordered by asset id: merge. */
        while (k < n_rows && strcmp(rows[k].asset_id, all[i].asset_id) < 0)
            k++;
        if (k < n_rows && strcmp(rows[k].asset_id, all[i].asset_id) == 0) {
            v->known = 1;
            v->st = rows[k].st;
            if (rows[k].device_id[0] != '\0')
                snprintf(v->term.device_id, sizeof(v->term.device_id), "%s", rows[k].device_id);
            kf_devstate_seg(&v->st, &seg);
            v->status = (int)kf_devstate_seg_status(&seg, needs, n_items);
            for (size_t j = 0; j < n_items; j++)
                v->items_out += !kf_devstate_seg_item_ok(&seg, needs[j]);
        }
        n++;
    }
    return n;
}

/* The catalog's needs, one per item. */
static int needs_of(struct kf_store *st, uint32_t **ret, size_t *ret_n)
{
    struct kf_sla_item *items = NULL;
    size_t n = 0;
    int r = kf_store_sla_items(st, &items, &n);

    if (r < 0)
        return r;
    *ret = calloc(n + 1, sizeof(**ret));
    for (size_t i = 0; *ret && i < n; i++)
        (*ret)[i] = items[i].needs;
    free(items);
    if (*ret == NULL)
        return -ENOMEM;
    *ret_n = n;
    return 0;
}

int kf_view_sla_states(struct kf_store *st, const char *target, struct kf_view_sla_state **ret,
                       size_t *ret_n, char *err, size_t cap)
{
    struct kf_sla_terminal *all = NULL;
    struct kf_sla_state_row *rows = NULL;
    struct kf_view_sla_state *out = NULL;
    uint32_t *needs = NULL;
    size_t n_all = 0, n_rows = 0, n_items = 0, n = 0;
    int r;

    /* One asset: its own rows only. Every terminal, or a device id: among them all. */
    r = target != NULL ? kf_store_sla_terminals(st, target, &all, &n_all) : -ENOENT;
    if (r == 0) {
        r = kf_store_sla_state_of(st, target, &rows, &n_rows);
    } else if (r == -ENOENT) {
        r = kf_store_sla_terminals(st, NULL, &all, &n_all);
        if (r == 0)
            r = kf_store_sla_states(st, &rows, &n_rows);
    }
    if (r == 0)
        r = needs_of(st, &needs, &n_items);
    if (r < 0) {
        fail(st, r, "state", err, cap);
        goto out;
    }
    out = calloc(n_all + 1, sizeof(*out));
    if (out == NULL) {
        r = -ENOMEM;
        goto out;
    }
    n = states_merge(out, all, n_all, rows, n_rows, needs, n_items, target);
    if (target != NULL && n == 0) {
        snprintf(err, cap, "no device or asset %s", target);
        r = -ENOENT;
    }
out:
    free(all);
    free(rows);
    free(needs);
    if (r < 0) {
        free(out);
        return r;
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

int kf_view_sla_zone_counts(struct kf_store *st, struct kf_sla_zone_count **ret, size_t *ret_n,
                            char *err, size_t cap)
{
    uint32_t *needs = NULL;
    size_t n_items = 0;
    int r = needs_of(st, &needs, &n_items);

    if (r == 0) {
        r = kf_store_sla_zone_counts(st, kf_devstate_down_mask(needs, n_items), ret, ret_n);
        free(needs);
    }
    if (r < 0)
        fail(st, r, "zone counts", err, cap);
    return r;
}

int kf_view_sla_states_page(struct kf_store *st, struct kf_view_sla_page *pg,
                            struct kf_view_sla_state **ret, size_t *ret_n, char *err, size_t cap)
{
    struct kf_sla_terminal *all = NULL;
    struct kf_sla_state_row *rows = NULL;
    struct kf_view_sla_state *out = NULL;
    const char **ids = NULL;
    uint32_t *needs = NULL;
    size_t n_all = 0, n_rows = 0, n_items = 0, n_sel = 0, n = 0;
    int r;

    pg->total = 0;
    r = kf_store_sla_terminals(st, NULL, &all, &n_all);
    if (r == 0)
        r = needs_of(st, &needs, &n_items);
    if (r < 0) {
        fail(st, r, "state", err, cap);
        goto out;
    }
    /* The terminals kept, the page's moved to the front (still in asset order). */
    for (size_t i = 0; i < n_all; i++) {
        if (pg->keep && !pg->keep(&all[i], pg->ud))
            continue;
        if (pg->total++ >= pg->offset && n_sel < pg->limit)
            all[n_sel++] = all[i];
    }
    ids = calloc(n_sel + 1, sizeof(*ids));
    out = calloc(n_sel + 1, sizeof(*out));
    if (ids == NULL || out == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_sel; i++)
        ids[i] = all[i].asset_id;
    r = kf_store_sla_states_in(st, ids, n_sel, &rows, &n_rows);
    if (r < 0) {
        fail(st, r, "state", err, cap);
        goto out;
    }
    n = states_merge(out, all, n_sel, rows, n_rows, needs, n_items, NULL);
out:
    free(all);
    free(rows);
    free(ids);
    free(needs);
    if (r < 0) {
        free(out);
        return r;
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

size_t kf_view_sla_items_out(struct kf_store *st, const struct kf_view_sla_state *v,
                             const char **codes_out, char (*buf)[KF_ITEM_CODE_MAX + 1], size_t cap)
{
    struct kf_sla_item *items = NULL;
    size_t n_items = 0, k = 0;
    struct kf_seg seg;

    if (!v->known || kf_store_sla_items(st, &items, &n_items) < 0)
        return 0;
    kf_devstate_seg(&v->st, &seg);
    for (size_t i = 0; i < n_items; i++) {
        if (kf_devstate_seg_item_ok(&seg, items[i].needs))
            continue;
        if (k < cap) {
            snprintf(buf[k], sizeof(buf[k]), "%s", items[i].code);
            codes_out[k] = buf[k];
        }
        k++;
    }
    free(items);
    return k;
}

static int inc_cmp(const void *a, const void *b)
{
    const struct kf_incident *x = a, *y = b;
    int c = strcmp(x->terminal, y->terminal);

    return c != 0 ? c : (x->id > y->id) - (x->id < y->id);
}

int kf_view_sla_report(struct kf_store *st, int year, int month, int64_t as_of_ms,
                       struct kf_report **ret, int64_t *ret_as_of, char *err, size_t cap)
{
    return kf_view_sla_report_cut(st, year, month, as_of_ms, 0, ret, ret_as_of, err, cap);
}

int kf_view_sla_report_cut(struct kf_store *st, int year, int month, int64_t as_of_ms,
                           int64_t cut_ms, struct kf_report **ret, int64_t *ret_as_of, char *err,
                           size_t cap)
{
    struct kf_sla_terminal *terms = NULL;
    struct kf_sla_window_row *wins = NULL;
    struct kf_incident *incs = NULL;
    struct kf_report_terminal *in = NULL;
    struct kf_window *wbuf = NULL;
    struct kf_holidays *hol = NULL;
    struct kf_sla_cursor cur;
    struct kf_billing_service *svc = NULL;
    struct kf_sla_first_online *first = NULL;
    struct kf_window *sbuf = NULL;
    struct kf_sla_item *items = NULL;
    uint32_t *needs = NULL;
    size_t n_svc = 0, n_first = 0, n_items = 0;
    size_t n_terms = 0, n_wins = 0, n_incs = 0, used = 0, total = 0;
    int64_t from, to, as_of;
    int r;

    if (kf_calendar_month_range(year, month, &from, &to) < 0) {
        snprintf(err, cap, "not a month: %d-%02d", year, month);
        return -EINVAL;
    }
    r = kf_store_sla_cursor(st, &cur);
    if (r < 0)
        return fail(st, r, "sla cursor", err, cap);
    as_of = as_of_ms != 0 ? as_of_ms : (cur.tick_ms >= to ? to : cur.tick_ms);
    if (as_of < from)
        as_of = from;
    r = kf_view_sla_holidays(st, &hol, err, cap);
    if (r == 0 &&
        (r = kf_holidays_require(hol, from, as_of > from ? as_of : from + 1, err, cap)) < 0) {
        size_t l = strlen(err);
        snprintf(err + l, cap - l, " (kioskd stores each [sla] calendar_dir file it loads)");
    }
    if (r == 0 && (r = kf_store_sla_terminals(st, NULL, &terms, &n_terms)) < 0)
        fail(st, r, "terminals", err, cap);
    if (r == 0 && (r = kf_store_sla_windows(st, 0, &wins, &n_wins)) < 0)
        fail(st, r, "windows", err, cap);
    if (r == 0 && cut_ms != 0 &&
        (r = kf_store_sla_incidents_at(st, cut_ms, from, as_of > from ? as_of : to, &incs,
                                       &n_incs)) < 0)
        fail(st, r, "incidents at the close", err, cap);
    if (r == 0 && cut_ms == 0 &&
        (r = kf_store_sla_incidents(st, KF_SLA_INC_PERIOD, from, as_of > from ? as_of : to, &incs,
                                    &n_incs)) < 0)
        fail(st, r, "incidents", err, cap);
    /* A zone's window belongs to each of its terminals: count before filling. */
    for (size_t i = 0; r == 0 && i < n_terms; i++)
        total += kf_store_sla_windows_for(wins, n_wins, &terms[i], NULL, 0);
    if (r == 0) {
        in = calloc(n_terms + 1, sizeof(*in));
        wbuf = calloc(total + 1, sizeof(*wbuf));
        if (in == NULL || wbuf == NULL)
            r = -ENOMEM;
    }
    if (r == 0 && (r = kf_store_billing_asset_service(st, NULL, NULL, &svc, &n_svc)) < 0)
        fail(st, r, "assets in service", err, cap);
    if (r == 0 && (r = kf_store_sla_first_online(st, &first, &n_first)) < 0)
        fail(st, r, "first reports", err, cap);
    if (r == 0 && (r = kf_store_sla_items(st, &items, &n_items)) < 0)
        fail(st, r, "items", err, cap);
    if (r == 0) {
        sbuf = calloc(n_svc + 1, sizeof(*sbuf));
        needs = calloc(n_items + 1, sizeof(*needs));
        if (sbuf == NULL || needs == NULL)
            r = -ENOMEM;
    }
    /* Every terminal offers the whole catalog (for availability over the items). */
    for (size_t i = 0; r == 0 && i < n_items; i++)
        needs[i] = items[i].needs;
    for (size_t i = 0; r == 0 && i < n_svc; i++)
        sbuf[i] = svc[i].w;
    if (r == 0 && n_incs > 1)
        qsort(incs, n_incs, sizeof(*incs), inc_cmp);
    for (size_t i = 0, k = 0, ks = 0, kf = 0; r == 0 && i < n_terms; i++) {
        size_t nw = kf_store_sla_windows_for(wins, n_wins, &terms[i], wbuf + used, total - used);

        in[i].terminal = terms[i].asset_id;
        in[i].zone = terms[i].zone_id;
        in[i].bank = terms[i].bank;
        in[i].week = &terms[i].week;
        in[i].terms = &terms[i].terms;
        in[i].windows = wbuf + used;
        in[i].n_windows = nw;
        in[i].item_needs = needs;
        in[i].n_items = n_items;
        used += nw;
        /* Both ordered by terminal: each terminal gets its own slice of the incidents. */
        while (k < n_incs && strcmp(incs[k].terminal, terms[i].asset_id) < 0)
            k++;
        in[i].incidents = incs + k;
        while (k < n_incs && strcmp(incs[k].terminal, terms[i].asset_id) == 0) {
            in[i].n_incidents++;
            k++;
        }
        /* In service from commissioning to decommissioning; silent until its first report
         * (all three lists ordered by asset id). */
        while (ks < n_svc && strcmp(svc[ks].asset_id, terms[i].asset_id) < 0)
            ks++;
        in[i].service = sbuf + ks;
        while (ks < n_svc && strcmp(svc[ks].asset_id, terms[i].asset_id) == 0) {
            in[i].n_service++;
            ks++;
        }
        while (kf < n_first && strcmp(first[kf].asset_id, terms[i].asset_id) < 0)
            kf++;
        if (kf < n_first && strcmp(first[kf].asset_id, terms[i].asset_id) == 0)
            in[i].first_online_ms = first[kf].at_ms;
    }
    if (r == 0 && (r = kf_report_month(year, month, as_of, hol, in, n_terms, ret)) < 0)
        snprintf(err, cap, "report: %s", kf_strerror(r));
    if (r == 0)
        *ret_as_of = as_of;
    free(in);
    free(wbuf);
    free(sbuf);
    free(items);
    free(needs);
    free(svc);
    free(first);
    free(terms);
    free(wins);
    free(incs);
    kf_holidays_free(hol);
    return r;
}
