/* views/billing.c: a bank's bill from the store (views/billing.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/time.h>

#include "rules/bill_inputs.h"
#include "rules/report.h"
#include "store/query.h"
#include "store/sla.h"
#include "views/billing.h"
#include "views/cells_int.h"
#include "views/sla.h"

#define DAY_MS 86400000LL

void kf_view_billing_digest(const void *data, size_t len, char hex[65])
{
    uint8_t h[32];

    crypto_generichash(h, sizeof(h), data, len, NULL, 0);
    kf_hex_encode(h, sizeof(h), hex, 65);
}

int kf_view_billing_month(const char *s, int *ret_year, int *ret_month)
{
    char day[16];
    int32_t d;
    int y, m;

    if (s == NULL || strlen(s) != 7 || s[4] != '-')
        return -EINVAL;
    snprintf(day, sizeof(day), "%s-01", s);
    if (kf_day_parse(day, &d) < 0 || sscanf(s, "%4d-%2d", &y, &m) != 2)
        return -EINVAL;
    *ret_year = y;
    *ret_month = m;
    return 0;
}

static int store_fail(struct kf_store *st, int r, const char *what, char *err, size_t cap)
{
    snprintf(err, cap, "%s: %s", what, *kf_store_errmsg(st) ? kf_store_errmsg(st) : kf_strerror(r));
    return r;
}

int kf_view_billing_close_ms(struct kf_store *st, int year, int month, int64_t *ret, char *err,
                             size_t cap)
{
    int64_t from, to;
    int day, r;

    if (kf_calendar_month_range(year, month, &from, &to) < 0) {
        snprintf(err, cap, "not a month: %d-%02d", year, month);
        return -EINVAL;
    }
    r = kf_store_billing_close_day(st, &day);
    if (r < 0)
        return store_fail(st, r, "close day", err, cap);
    /* to is the next month's first local midnight; local days have no daylight saving. */
    *ret = to + (int64_t)(day - 1) * DAY_MS;
    return 0;
}

/* ---- The inputs ----------------------------------------------------------------------------- */

struct inputs {
    struct kf_qtable *banks;
    const char **codes;
    const char *bank_name;
    struct kf_contract *contracts;
    size_t n_contracts;
    struct kf_billing_service *svc; /* every interval of every asset, by asset */
    struct kf_bill_service *bsvc;   /* the same for rules/bill_inputs.h */
    size_t n_svc;
    struct kf_window *wins;       /* this bank's intervals, grouped per asset */
    struct kf_bill_asset *assets; /* this bank's assets with a day in the month */
    size_t n_assets;
    struct kf_report *rep;
};

static void inputs_free(struct inputs *in)
{
    kf_store_query_table_free(in->banks);
    free(in->codes);
    free(in->contracts);
    free(in->svc);
    free(in->bsvc);
    free(in->wins);
    free(in->assets);
    kf_report_free(in->rep);
}

static int load_contracts(struct kf_store *st, struct inputs *in, const char *bank, char *err,
                          size_t cap)
{
    struct kf_billing_contract_row *rows = NULL;
    size_t n = 0, nb;
    int r;

    r = kf_store_query_names(st, "bank", &in->banks);
    if (r < 0)
        return store_fail(st, r, "banks", err, cap);
    nb = in->banks->nrows;
    in->codes = calloc(nb + 1, sizeof(*in->codes));
    if (in->codes == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < nb; i++) {
        in->codes[i] = kf_store_query_table_cell(in->banks, i, 0);
        if (strcmp(in->codes[i], bank) == 0)
            in->bank_name = kf_store_query_table_cell(in->banks, i, 1);
    }
    if (in->bank_name == NULL) {
        snprintf(err, cap, "no bank %s", bank);
        return -ENOENT;
    }
    r = kf_store_billing_contracts(st, bank, &rows, &n);
    if (r < 0)
        return store_fail(st, r, "contract versions", err, cap);
    in->contracts = calloc(n + 1, sizeof(*in->contracts));
    if (in->contracts == NULL)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char e[256];

        /* Parsed again from the stored text: the text is the evidence, not a cache of it. */
        r = kf_contract_parse(rows[i].text, strlen(rows[i].text), in->codes, nb, &in->contracts[i],
                              e, sizeof(e));
        if (r < 0)
            snprintf(err, cap, "stored contract %s v%d: %s", rows[i].id, rows[i].version, e);
    }
    if (r == 0)
        in->n_contracts = n;
    kf_store_billing_contracts_free(rows, n);
    return r;
}

/* This bank's assets in the month (rules/bill_inputs.h: the same code as the bank's
 * checker): every interval of every asset, then the shared rule. */
static int load_assets(struct kf_store *st, struct inputs *in, const char *bank, int year,
                       int month, char *err, size_t cap)
{
    int r = kf_store_billing_asset_service(st, NULL, NULL, &in->svc, &in->n_svc);

    if (r < 0)
        return store_fail(st, r, "assets in service", err, cap);
    in->bsvc = calloc(in->n_svc + 1, sizeof(*in->bsvc));
    if (in->bsvc == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < in->n_svc; i++)
        in->bsvc[i] = (struct kf_bill_service){.asset = in->svc[i].asset_id,
                                               .kind = in->svc[i].kind,
                                               .bank = in->svc[i].bank,
                                               .zone = in->svc[i].zone_id,
                                               .w = in->svc[i].w};
    r = kf_bill_inputs_assets(bank, year, month, in->bsvc, in->n_svc, in->rep, &in->assets,
                              &in->n_assets, &in->wins);
    if (r < 0)
        snprintf(err, cap, "assets: %s", kf_strerror(r));
    return r;
}

#define N_DIGESTS_MAX 64

/* The "catalog" digest: the service items and what each needs (figures over the items). */
static int catalog_digest(struct kf_store *st, char hex[65], char *err, size_t cap)
{
    struct kf_sla_item *items = NULL;
    const char **codes = NULL;
    uint32_t *needs = NULL;
    char *text = NULL;
    size_t n = 0, len = 0;
    int r = kf_store_sla_items(st, &items, &n);

    if (r < 0)
        return store_fail(st, r, "items", err, cap);
    codes = calloc(n + 1, sizeof(*codes));
    needs = calloc(n + 1, sizeof(*needs));
    if (codes == NULL || needs == NULL)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        codes[i] = items[i].code;
        needs[i] = items[i].needs;
    }
    if (r == 0 && (r = kf_bill_inputs_catalog_text(codes, needs, n, &text, &len)) == 0)
        kf_view_billing_digest(text, len, hex);
    free(text);
    free(codes);
    free(needs);
    free(items);
    return r;
}

int kf_view_billing_compute(struct kf_store *st, const char *bank, int year, int month,
                            const struct kf_view_billing_opts *o, struct kf_bill **ret, char *err,
                            size_t cap)
{
    struct inputs in = {0};
    struct kf_bill_digest dg[N_DIGESTS_MAX];
    char names[N_DIGESTS_MAX][KF_BILL_DIGEST_NAME_MAX + 1], hex[N_DIGESTS_MAX][65];
    size_t nd = 0;
    int64_t from, to, as_of;
    int r;

    err[0] = '\0';
    if (kf_calendar_month_range(year, month, &from, &to) < 0) {
        snprintf(err, cap, "not a month: %d-%02d", year, month);
        return -EINVAL;
    }
    r = load_contracts(st, &in, bank, err, cap);
    if (r == 0 && o->report != NULL)
        in.rep = (struct kf_report *)o->report; /* borrowed: not freed below */
    else if (r == 0)
        r = kf_view_sla_report_cut(st, year, month, o->as_of_ms, o->cut_ms, &in.rep, &as_of, err,
                                   cap);
    if (r == 0)
        r = load_assets(st, &in, bank, year, month, err, cap);
    if (r == 0 && !o->no_inputs) {
        char *text = NULL;
        size_t len = 0;

        for (size_t i = 0; r == 0 && i < in.n_contracts && nd < N_DIGESTS_MAX - 6; i++) {
            const struct kf_contract *c = &in.contracts[i];
            char *canon = NULL;

            if (c->effective_from >= kf_local_day(to) ||
                (c->effective_to != KF_CONTRACT_OPEN && c->effective_to <= kf_local_day(from)))
                continue;
            r = kf_contract_canonical(c, &canon);
            if (r < 0)
                break;
            snprintf(names[nd], sizeof(names[nd]), "contract:%s/v%d", c->id, c->version);
            kf_view_billing_digest(canon, strlen(canon), hex[nd]);
            free(canon);
            nd++;
        }
        if (r == 0 && (r = kf_store_billing_calendars_digest(st, hex[nd])) < 0)
            store_fail(st, r, "calendars", err, cap);
        if (r == 0)
            snprintf(names[nd++], sizeof(names[0]), "calendars");
        if (r == 0 && (r = catalog_digest(st, hex[nd], err, cap)) == 0)
            snprintf(names[nd++], sizeof(names[0]), "catalog");
        if (r == 0 &&
            (r = kf_bill_inputs_availability_text(in.assets, in.n_assets, &text, &len)) == 0) {
            kf_view_billing_digest(text, len, hex[nd]);
            snprintf(names[nd++], sizeof(names[0]), "availability");
            free(text);
        }
        if (r == 0 && (r = kf_bill_inputs_service_text(in.assets, in.n_assets, &text, &len)) == 0) {
            kf_view_billing_digest(text, len, hex[nd]);
            snprintf(names[nd++], sizeof(names[0]), "in_service");
            free(text);
        }
        if (r == 0 && o->log_head) {
            snprintf(hex[nd], sizeof(hex[nd]), "%s", o->log_head);
        } else if (r == 0 && (r = kf_store_billing_log_head(st, hex[nd])) < 0) {
            store_fail(st, r, "signed log", err, cap);
        }
        if (r == 0)
            snprintf(names[nd++], sizeof(names[0]), "log_head");
        for (size_t i = 0; i < nd; i++)
            dg[i] = (struct kf_bill_digest){.name = names[i], .hex = hex[i]};
    }
    if (r == 0) {
        struct kf_bill_input bi = {
            .bank_code = bank,
            .bank_name = in.bank_name,
            .year = year,
            .month = month,
            .contracts = in.contracts,
            .n_contracts = in.n_contracts,
            .assets = in.assets,
            .n_assets = in.n_assets,
            .adjustments = o->adjustments,
            .n_adjustments = o->n_adjustments,
            .status = o->status,
            .number = o->status == KF_BILL_ISSUED ? o->number : NULL,
            .issued_at_ms = o->issued_at_ms,
            .inputs = nd ? dg : NULL,
            .n_inputs = nd,
        };
        char e[256] = "";

        r = kf_bill_compute(&bi, ret, e, sizeof(e));
        if (r < 0)
            snprintf(err, cap, "bill: %s", e[0] ? e : kf_strerror(r));
    } else if (r < 0 && err[0] == '\0') {
        snprintf(err, cap, "%s", kf_strerror(r));
    }
    if (o->report != NULL)
        in.rep = NULL;
    inputs_free(&in);
    return r;
}

/* ---- Late facts: adjustments of earlier bills ---------------------------------------------- */

/* One amount of a bill under its key (asset, kind, rate), from an issued bill's JSON (sign
 * -1), the same month computed now (+1), or an adjustment made already (-1). */
struct entry {
    char asset[KF_TERMINAL_ID_MAX + 1];
    int kind;
    int32_t rate;
    int64_t net, tax, gross;
};

static int entry_cmp(const void *x, const void *y)
{
    const struct entry *a = x, *b = y;
    int c = strcmp(a->asset, b->asset);

    if (!c)
        c = (a->kind > b->kind) - (a->kind < b->kind);
    if (!c)
        c = (a->rate > b->rate) - (a->rate < b->rate);
    return c;
}

static int kind_of(const char *name)
{
    for (int k = KF_LINE_LEASE; k <= KF_LINE_ADJUSTMENT; k++)
        if (name && kf_bill_kind_name(k) && strcmp(kf_bill_kind_name(k), name) == 0)
            return k;
    return 0;
}

static const char *kind_zh(int kind)
{
    static const char *const zh[] = {"",       "租赁费",   "维护费", "可用率扣减",
                                     "违约金", "封顶返还", "调整"};
    return kind >= 1 && kind <= KF_LINE_ADJUSTMENT ? zh[kind] : "";
}

/* An issued bill as the adjustments need it: its period and lines. */
struct issued {
    char number[KF_BILLING_NUMBER_MAX + 1], period[8];
    json_t *root; /* owned */
    json_t *lines;
};

static int issued_load(struct kf_store *st, const char *number, struct issued *ret, char *err,
                       size_t cap)
{
    struct kf_billing_doc d;
    json_error_t je;
    int r = kf_store_billing_doc(st, number, &d);

    if (r < 0)
        return store_fail(st, r, number, err, cap);
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->number, sizeof(ret->number), "%s", d.number);
    snprintf(ret->period, sizeof(ret->period), "%s", d.period);
    ret->root = json_loadb(d.json, d.json_len, 0, &je);
    free(d.json);
    ret->lines = ret->root ? json_object_get(ret->root, "lines") : NULL;
    if (!json_is_array(ret->lines)) {
        json_decref(ret->root);
        snprintf(err, cap, "%s: stored JSON has no lines", number);
        return -EBADMSG;
    }
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* The line an adjustment of (asset, kind) in is built on: made from stored data only
 * (the earlier bill's JSON, the asset's kind), so that bill verify rebuilds it alike. */
static void adjustment_line(struct kf_store *st, const struct issued *is, const struct entry *e,
                            struct kf_bill_line *ln)
{
    size_t i;
    json_t *l, *first = NULL;

    memset(ln, 0, sizeof(*ln));
    json_array_foreach(is->lines, i, l)
    {
        if (strcmp(jstr(l, "asset"), e->asset) != 0)
            continue;
        if (first == NULL)
            first = l;
        if (kind_of(jstr(l, "kind")) == e->kind) {
            ln->ref_line = (uint32_t)json_integer_value(json_object_get(l, "no"));
            break;
        }
    }
    ln->kind = KF_LINE_ADJUSTMENT;
    ln->basis = KF_BASIS_REF;
    snprintf(ln->asset, sizeof(ln->asset), "%s", e->asset);
    if (first) {
        ln->terminal_kind = strcmp(jstr(first, "terminal_kind"), "itm") == 0     ? KF_TERMINAL_ITM
                            : strcmp(jstr(first, "terminal_kind"), "kiosk") == 0 ? KF_TERMINAL_KIOSK
                                                                                 : 0;
        snprintf(ln->zone, sizeof(ln->zone), "%s", jstr(first, "zone"));
    } else if (e->asset[0]) {
        struct kf_billing_service *v = NULL;
        size_t n = 0;

        if (kf_store_billing_asset_service(st, e->asset, NULL, &v, &n) == 0 && n > 0)
            ln->terminal_kind = (uint8_t)v[0].kind;
        free(v);
    }
    snprintf(ln->period, sizeof(ln->period), "%s", is->period);
    snprintf(ln->ref, sizeof(ln->ref), "%s", is->number);
    ln->net_fen = e->net;
    ln->tax_fen = e->tax;
    ln->gross_fen = e->gross;
    ln->tax_rate_bp = e->rate;
    snprintf(ln->text, sizeof(ln->text), "调整 %s%s%s %s (账单 %s 第%u行)", e->asset,
             e->asset[0] ? " " : "", kind_zh(e->kind), is->period, is->number, ln->ref_line);
}

struct entries {
    struct entry *v;
    size_t n, cap;
};

static int push(struct entries *es, const char *asset, int kind, int32_t rate, int64_t net,
                int64_t tax, int64_t gross)
{
    struct entry *e;

    if (es->n == es->cap) {
        size_t cap = es->cap ? es->cap * 2 : 64;
        struct entry *v = realloc(es->v, cap * sizeof(*v));

        if (v == NULL)
            return -ENOMEM;
        es->v = v;
        es->cap = cap;
    }
    e = &es->v[es->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->asset, sizeof(e->asset), "%s", asset ? asset : "");
    e->kind = kind;
    e->rate = rate;
    e->net = net;
    e->tax = tax;
    e->gross = gross;
    return 0;
}

/* Add what an issued bill's JSON says (sign -1), adjustment lines left out. */
static int push_issued(struct entries *es, const struct issued *is)
{
    size_t i;
    json_t *l;

    json_array_foreach(is->lines, i, l)
    {
        int kind = kind_of(jstr(l, "kind"));

        if (kind == KF_LINE_ADJUSTMENT)
            continue;
        if (push(es, jstr(l, "asset"), kind,
                 (int32_t)json_integer_value(json_object_get(l, "tax_rate_bp")),
                 -json_integer_value(json_object_get(l, "net_fen")),
                 -json_integer_value(json_object_get(l, "tax_fen")),
                 -json_integer_value(json_object_get(l, "gross_fen"))) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* One earlier bill: its differences, appended to lines and adj. */
static int late_one(struct kf_store *st, const struct kf_billing_doc *d, int64_t now_ms,
                    struct kf_bill_line **lines, struct kf_billing_adjustment **adj, size_t *n,
                    size_t *cap, char *err, size_t ecap)
{
    struct kf_view_billing_opts o = {.status = KF_BILL_DRAFT, .as_of_ms = now_ms, .no_inputs = 1};
    struct kf_billing_adjustment *done = NULL;
    struct entries es = {0};
    struct kf_bill *now = NULL;
    struct issued is;
    size_t n_done = 0;
    int year, month, r;

    r = issued_load(st, d->number, &is, err, ecap);
    if (r < 0)
        return r;
    if (kf_view_billing_month(d->period, &year, &month) < 0) {
        snprintf(err, ecap, "%s: period %s", d->number, d->period);
        r = -EBADMSG;
        goto out;
    }
    r = kf_view_billing_compute(st, d->bank, year, month, &o, &now, err, ecap);
    if (r == 0 && (r = kf_store_billing_adjustments(st, d->number, NULL, &done, &n_done)) < 0)
        store_fail(st, r, "adjustments", err, ecap);
    if (r == 0)
        r = push_issued(&es, &is);
    for (size_t i = 0; r == 0 && i < now->n_lines; i++) {
        const struct kf_bill_line *l = &now->lines[i];

        if (l->kind != KF_LINE_ADJUSTMENT)
            r = push(&es, l->asset, l->kind, l->tax_rate_bp, l->net_fen, l->tax_fen, l->gross_fen);
    }
    for (size_t i = 0; r == 0 && i < n_done; i++)
        r = push(&es, done[i].asset, done[i].kind, done[i].tax_rate_bp, -done[i].net_fen,
                 -done[i].tax_fen, -done[i].gross_fen);
    if (r == 0 && es.n > 1)
        qsort(es.v, es.n, sizeof(*es.v), entry_cmp);
    for (size_t i = 0, j; r == 0 && i < es.n; i = j) {
        struct entry sum = es.v[i];

        for (j = i + 1; j < es.n && entry_cmp(&es.v[i], &es.v[j]) == 0; j++) {
            sum.net += es.v[j].net;
            sum.tax += es.v[j].tax;
            sum.gross += es.v[j].gross;
        }
        if (sum.net == 0 && sum.tax == 0 && sum.gross == 0)
            continue;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 16;
            struct kf_bill_line *nl = realloc(*lines, c * sizeof(**lines));
            struct kf_billing_adjustment *na = nl ? realloc(*adj, c * sizeof(**adj)) : NULL;

            if (nl)
                *lines = nl;
            if (na)
                *adj = na;
            if (!nl || !na) {
                r = -ENOMEM;
                break;
            }
            *cap = c;
        }
        adjustment_line(st, &is, &sum, &(*lines)[*n]);
        (*adj)[*n] = (struct kf_billing_adjustment){.kind = sum.kind,
                                                    .tax_rate_bp = sum.rate,
                                                    .net_fen = sum.net,
                                                    .tax_fen = sum.tax,
                                                    .gross_fen = sum.gross};
        snprintf((*adj)[*n].ref, sizeof((*adj)[*n].ref), "%s", d->number);
        snprintf((*adj)[*n].asset, sizeof((*adj)[*n].asset), "%s", sum.asset);
        (*n)++;
    }
out:
    free(es.v);
    free(done);
    kf_bill_free(now);
    json_decref(is.root);
    return r;
}

int kf_view_billing_late(struct kf_store *st, const char *bank, int year, int month, int64_t now_ms,
                         struct kf_bill_line **ret_lines, struct kf_billing_adjustment **ret_adj,
                         size_t *ret_n, char *err, size_t cap)
{
    struct kf_billing_doc *docs = NULL;
    struct kf_bill_line *lines = NULL;
    struct kf_billing_adjustment *adj = NULL;
    size_t nd = 0, n = 0, ncap = 0;
    char period[16];
    int r;

    snprintf(period, sizeof(period), "%04d-%02d", year, month);
    r = kf_store_billing_docs(st, bank, KF_BILLING_BILL, &docs, &nd);
    if (r < 0)
        return store_fail(st, r, "bills", err, cap);
    for (size_t i = 0; r == 0 && i < nd; i++)
        if (strcmp(docs[i].period, period) < 0)
            r = late_one(st, &docs[i], now_ms, &lines, &adj, &n, &ncap, err, cap);
    free(docs);
    if (r < 0) {
        free(lines);
        free(adj);
        return r;
    }
    *ret_lines = lines;
    *ret_adj = adj;
    *ret_n = n;
    return 0;
}

int kf_view_billing_adjustment_lines(struct kf_store *st, const char *bill,
                                     struct kf_bill_line **ret, size_t *ret_n, char *err,
                                     size_t cap)
{
    struct kf_billing_adjustment *a = NULL;
    struct kf_bill_line *lines = NULL;
    struct issued is = {0};
    size_t n = 0;
    int r = kf_store_billing_adjustments(st, NULL, bill, &a, &n);

    if (r < 0)
        return store_fail(st, r, "adjustments", err, cap);
    lines = calloc(n + 1, sizeof(*lines));
    if (lines == NULL)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        struct entry e = {.kind = a[i].kind,
                          .rate = a[i].tax_rate_bp,
                          .net = a[i].net_fen,
                          .tax = a[i].tax_fen,
                          .gross = a[i].gross_fen};

        /* Rows come by ref: load each earlier bill once. */
        if (strcmp(is.number, a[i].ref) != 0) {
            json_decref(is.root);
            is.root = NULL;
            r = issued_load(st, a[i].ref, &is, err, cap);
            if (r < 0)
                break;
        }
        snprintf(e.asset, sizeof(e.asset), "%s", a[i].asset);
        adjustment_line(st, &is, &e, &lines[i]);
    }
    json_decref(is.root);
    free(a);
    if (r < 0) {
        free(lines);
        return r;
    }
    *ret = lines;
    *ret_n = n;
    return 0;
}

/* ---- The documents and the disputes as tables --------------------------------------------- */

struct kf_qtable *kf_view_billing_docs_table(const struct kf_billing_doc *d, size_t n)
{
    static const char *const cols[] = {"number",    "type",   "bank",      "period",  "ref",
                                       "ref_line",  "issued", "issued_by", "net_fen", "tax_fen",
                                       "gross_fen", "digest", NULL};
    struct kf_qtable *t = kf_store_query_table_new("bills", NULL, cols, "xxxxxitxiiix");

    for (size_t i = 0; t && i < n; i++) {
        char line[24], at[24], net[24], tax[24], gross[24];
        const char *cells[] = {d[i].number,
                               d[i].type == KF_BILLING_CREDIT_NOTE ? "credit-note" : "bill",
                               d[i].bank,
                               d[i].period,
                               d[i].ref[0] ? d[i].ref : NULL,
                               d[i].ref[0] ? kf__view_cell_int(d[i].ref_line, line) : NULL,
                               kf__view_cell_int(d[i].issued_ms, at),
                               d[i].issued_by,
                               kf__view_cell_int(d[i].net_fen, net),
                               kf__view_cell_int(d[i].tax_fen, tax),
                               kf__view_cell_int(d[i].gross_fen, gross),
                               d[i].digest};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

struct kf_qtable *kf_view_billing_disputes_table(const struct kf_billing_dispute *d, size_t n)
{
    static const char *const cols[] = {"id",     "bill",        "bank",  "line",     "opened",
                                       "by",     "reason",      "state", "answered", "answered_by",
                                       "answer", "credit_note", NULL};
    static const char *const states[] = {"", "open", "accepted", "refused"};
    struct kf_qtable *t = kf_store_query_table_new("disputes", NULL, cols, "ixxitxxxtxxx");

    for (size_t i = 0; t && i < n; i++) {
        char id[24], line[24], at[24], ans[24];
        int open = d[i].state == KF_DISPUTE_OPEN;
        const char *cells[] = {kf__view_cell_int(d[i].id, id),
                               d[i].bill,
                               d[i].bank,
                               kf__view_cell_int(d[i].line, line),
                               kf__view_cell_int(d[i].at_ms, at),
                               d[i].by,
                               d[i].reason,
                               states[d[i].state >= 1 && d[i].state <= 3 ? d[i].state : 0],
                               open ? NULL : kf__view_cell_int(d[i].answered_ms, ans),
                               open ? NULL : d[i].answered_by,
                               open ? NULL : d[i].answer,
                               d[i].credit_note[0] ? d[i].credit_note : NULL};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}
