/* rules/bill.c: one bank's bill for one month (bill.h; docs/BILLING.md "Rules"). */
#include "rules/bill.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "rules/jsonw.h"

#define DAY_MS (86400LL * 1000)

struct ctx {
    const struct kf_bill_input *in;
    struct kf_bill *b;
    struct kf_contract *mine; /* this bank's versions, by effective_from */
    size_t n_mine;
    size_t n_in_month;              /* of them, in force on some day of the month */
    const struct kf_contract *last; /* the version for credits, penalties and the cap */
    int32_t first_day, n_days;
    int32_t *days; /* per version of mine: the current asset's days in service */
    size_t cap_lines;
    int64_t maint_net; /* the month's maintenance lines, net */
    int64_t sla_net;   /* the month's credit and penalty lines, net (<= 0) */
    char *err;
    size_t errn;
};

static int fail(struct ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, int code, const char *fmt, ...)
{
    va_list ap;

    if (c->err && c->errn > 0) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errn, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *kf_bill_kind_name(int kind)
{
    static const char *const names[] = {NULL,      "lease", "maintenance", "credit",
                                        "penalty", "cap",   "adjustment"};

    return kind >= KF_LINE_LEASE && kind <= KF_LINE_ADJUSTMENT ? names[kind] : NULL;
}

static const char *terminal_kind_name(int kind)
{
    return kind == KF_TERMINAL_KIOSK ? "kiosk" : kind == KF_TERMINAL_ITM ? "itm" : NULL;
}

/* s fits in cap bytes with its NUL (NULL fits as ""). */
static int fits(const char *s, size_t cap)
{
    return !s || strlen(s) < cap;
}

static void copy(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

/* "96.19" for 9619 bp. */
static const char *pct(int32_t bp, char *buf, size_t n)
{
    snprintf(buf, n, "%d.%02d", (int)(bp / 100), (int)(bp % 100));
    return buf;
}

static int push(struct ctx *c, int kind, const struct kf_bill_asset *a, struct kf_bill_line **ret)
{
    struct kf_bill *b = c->b;
    struct kf_bill_line *ln;

    if (b->n_lines == c->cap_lines) {
        size_t cap = c->cap_lines ? 2 * c->cap_lines : 64;
        struct kf_bill_line *nl = realloc(b->lines, cap * sizeof(*nl));

        if (!nl)
            return -ENOMEM;
        b->lines = nl;
        c->cap_lines = cap;
    }
    ln = &b->lines[b->n_lines++];
    memset(ln, 0, sizeof(*ln));
    ln->kind = (uint8_t)kind;
    if (a) {
        copy(ln->asset, sizeof(ln->asset), a->id);
        ln->terminal_kind = (uint8_t)a->kind;
        copy(ln->model, sizeof(ln->model), a->model);
        copy(ln->zone, sizeof(ln->zone), a->zone);
    }
    memcpy(ln->period, b->period, sizeof(ln->period));
    ln->days = ln->period_days = KF_BILL_NA;
    ln->unit_fen = KF_BILL_NA;
    ln->availability_bp = KF_BILL_NA;
    *ret = ln;
    return 0;
}

static int tax(struct ctx *c, struct kf_bill_line *ln, int64_t amount, int32_t rate, int inclusive,
               int rule)
{
    int r = kf_money_tax_line(amount, rate, inclusive, rule, &ln->net_fen, &ln->tax_fen,
                              &ln->gross_fen);

    ln->tax_rate_bp = rate;
    return r < 0 ? fail(c, r, "%s: amount out of range", ln->asset) : 0;
}

/* A day counts when the asset is in service at the day's last millisecond: a move between
 * banks, a commissioning or a decommissioning on some day bills that day once, to whoever
 * holds the asset when the day ends. */
static int in_service_at(const struct kf_bill_asset *a, int64_t t)
{
    for (size_t i = 0; i < a->n_in_service; i++) {
        if (a->in_service[i].start_ms <= t && t < a->in_service[i].end_ms)
            return 1;
    }
    return 0;
}

/* One lease or maintenance line: the version's monthly price prorated over the days in
 * service under that version. A zero price gives no line. */
static int fee_line(struct ctx *c, const struct kf_bill_asset *a, int kind,
                    const struct kf_contract *v, int32_t days)
{
    int lease = kind == KF_LINE_LEASE;
    int64_t unit = lease ? kf_contract_lease_fen(v, a->kind, a->model)
                         : kf_contract_maintenance_fen(v, a->kind);
    struct kf_bill_line *ln;
    char ver[96] = "";
    int64_t amount;
    int r;

    if (unit == 0 || days == 0)
        return 0;
    r = kf_money_muldiv(unit, days, c->n_days, v->rounding, &amount);
    if (r < 0)
        return fail(c, r, "%s: amount out of range", a->id);
    if ((r = push(c, kind, a, &ln)) < 0 ||
        (r = tax(c, ln, amount, lease ? v->tax_lease_bp : v->tax_maintenance_bp,
                 v->prices_include_tax, v->rounding)) < 0)
        return r;
    ln->days = days;
    ln->period_days = c->n_days;
    ln->unit_fen = unit;
    /* Name the version only when the month has more than one: the usual line stays short. */
    if (c->n_in_month > 1)
        snprintf(ver, sizeof(ver), ", 合同 %s 第%d版", v->id, (int)v->version);
    snprintf(ln->text, sizeof(ln->text), "%s %s %s (%d/%d 天%s)", lease ? "租赁费" : "维护费",
             a->id, c->b->period, (int)days, (int)c->n_days, ver);
    return 0;
}

/* The availability the contract version bills on: the whole terminal's, or over the items. */
static int32_t avail_of(const struct kf_contract *v, const struct kf_bill_asset *a)
{
    return v->availability == KF_AVAIL_ITEMS ? a->items_availability_bp : a->availability_bp;
}

static void sla_basis(struct kf_bill_line *ln, const struct kf_bill_asset *a, int32_t avail,
                      int32_t share)
{
    ln->basis = KF_BASIS_SLA;
    ln->availability_bp = avail;
    ln->target_bp = a->target_bp;
    ln->share_bp = share;
    ln->breaches = a->response_breaches + a->restore_breaches;
}

/* Credit and penalty of one asset, from the month's last version. */
static int sla_lines(struct ctx *c, const struct kf_bill_asset *a, int64_t maint_net)
{
    const struct kf_contract *v = c->last;
    struct kf_bill_line *ln;
    int32_t share = 0, avail;
    int64_t amount;
    __int128 pen;
    char p1[16], p2[16], p3[16], f1[KF_MONEY_FMT_MAX], f2[KF_MONEY_FMT_MAX];
    int r;

    if (!v)
        return 0;
    avail = avail_of(v, a);
    /* The deepest tier below which the availability fell: tiers go down the list. */
    if (avail != KF_BILL_NA && avail < a->target_bp) {
        for (size_t i = 0; i < v->n_tiers; i++) {
            if (v->tiers[i].below_bp > avail)
                share = v->tiers[i].share_bp;
        }
    }
    if (share > 0 && maint_net > 0) {
        r = kf_money_muldiv(maint_net, share, 10000, v->rounding, &amount);
        if (r < 0)
            return fail(c, r, "%s: credit out of range", a->id);
        if (amount != 0) {
            /* A share of a net amount is a net amount: tax goes on top whatever the
             * contract's prices include. */
            if ((r = push(c, KF_LINE_CREDIT, a, &ln)) < 0 ||
                (r = tax(c, ln, -amount, v->tax_maintenance_bp, 0, v->rounding)) < 0)
                return r;
            sla_basis(ln, a, avail, share);
            c->sla_net += ln->net_fen;
            snprintf(ln->text, sizeof(ln->text),
                     "SLA 抵扣 %s %s (%s %s%% 低于目标 %s%%, 抵扣维护费 %s%%)", a->id, c->b->period,
                     v->availability == KF_AVAIL_ITEMS ? "服务事项可用率" : "可用率",
                     pct(avail, p1, sizeof(p1)), pct(a->target_bp, p2, sizeof(p2)),
                     pct(share, p3, sizeof(p3)));
        }
    }
    pen = (__int128)a->response_breaches * v->response_breach_fen +
          (__int128)a->restore_breaches * v->restore_breach_fen;
    if (pen > INT64_MAX)
        return fail(c, -ERANGE, "%s: penalty out of range", a->id);
    if (pen > 0) {
        /* Per-breach amounts are prices of the contract: they follow its tax basis. */
        if ((r = push(c, KF_LINE_PENALTY, a, &ln)) < 0 ||
            (r = tax(c, ln, -(int64_t)pen, v->tax_maintenance_bp, v->prices_include_tax,
                     v->rounding)) < 0)
            return r;
        sla_basis(ln, a, avail, share);
        c->sla_net += ln->net_fen;
        kf_money_fmt(v->response_breach_fen, f1, sizeof(f1));
        kf_money_fmt(v->restore_breach_fen, f2, sizeof(f2));
        snprintf(ln->text, sizeof(ln->text),
                 "SLA 违约金 %s %s (响应超时 %u 次 × %s 元, 修复超时 %u 次 × %s 元)", a->id,
                 c->b->period, (unsigned)a->response_breaches, f1, (unsigned)a->restore_breaches,
                 f2);
    }
    return 0;
}

static int check_asset(struct ctx *c, const struct kf_bill_asset *a)
{
    if (!a->id || !*a->id || !fits(a->id, KF_TERMINAL_ID_MAX + 1))
        return fail(c, -EINVAL, "asset: id missing or longer than %d bytes", KF_TERMINAL_ID_MAX);
    if (!terminal_kind_name(a->kind))
        return fail(c, -EINVAL, "%s: kind must be kiosk or itm", a->id);
    if (!fits(a->model, KF_BILL_MODEL_MAX + 1) || !fits(a->zone, KF_TERMINAL_ID_MAX + 1))
        return fail(c, -EINVAL, "%s: model or zone too long", a->id);
    if (a->n_in_service && !a->in_service)
        return fail(c, -EINVAL, "%s: in_service missing", a->id);
    if (a->availability_bp < KF_BILL_NA || a->availability_bp > 10000 ||
        a->items_availability_bp < KF_BILL_NA || a->items_availability_bp > 10000 ||
        a->target_bp < 0 || a->target_bp > 10000)
        return fail(c, -EINVAL, "%s: availability_bp or target_bp out of range", a->id);
    return 0;
}

static int asset_lines(struct ctx *c, const struct kf_bill_asset *a)
{
    int64_t maint_net = 0;
    size_t before;
    int r;

    memset(c->days, 0, c->n_mine * sizeof(c->days[0]));
    for (int32_t d = c->first_day; d < c->first_day + c->n_days; d++) {
        const struct kf_contract *v;

        if (!in_service_at(a, kf_day_start_ms(d + 1) - 1))
            continue;
        v = kf_contract_for(c->mine, c->n_mine, c->b->bank_code, d);
        if (v) /* a day under no contract bills nothing */
            c->days[v - c->mine]++;
    }
    for (size_t k = 0; k < c->n_mine; k++) {
        if ((r = fee_line(c, a, KF_LINE_LEASE, &c->mine[k], c->days[k])) < 0)
            return r;
    }
    before = c->b->n_lines;
    for (size_t k = 0; k < c->n_mine; k++) {
        if ((r = fee_line(c, a, KF_LINE_MAINTENANCE, &c->mine[k], c->days[k])) < 0)
            return r;
    }
    for (size_t i = before; i < c->b->n_lines; i++)
        maint_net += c->b->lines[i].net_fen;
    c->maint_net += maint_net;
    return sla_lines(c, a, maint_net);
}

/* The cap: credits and penalties of the month together at most cap_bp of the month's
 * maintenance net; a positive line gives back what goes beyond. */
static int cap_line(struct ctx *c)
{
    const struct kf_contract *v = c->last;
    struct kf_bill_line *ln;
    char p[16], f1[KF_MONEY_FMT_MAX], f2[KF_MONEY_FMT_MAX];
    int64_t cap;
    int r;

    if (!v || c->sla_net >= 0)
        return 0;
    r = kf_money_muldiv(c->maint_net > 0 ? c->maint_net : 0, v->cap_bp, 10000, v->rounding, &cap);
    if (r < 0)
        return fail(c, r, "cap out of range");
    if (-c->sla_net <= cap)
        return 0;
    if ((r = push(c, KF_LINE_CAP, NULL, &ln)) < 0 ||
        (r = tax(c, ln, -c->sla_net - cap, v->tax_maintenance_bp, 0, v->rounding)) < 0)
        return r;
    kf_money_fmt(c->maint_net, f1, sizeof(f1));
    kf_money_fmt(cap, f2, sizeof(f2));
    snprintf(ln->text, sizeof(ln->text),
             "抵扣封顶 %s (抵扣与违约金合计以当月维护费 %s 元的 %s%% 即 %s 元为限)", c->b->period,
             f1, pct(v->cap_bp, p, sizeof(p)), f2);
    return 0;
}

struct adj {
    const struct kf_bill_line *ln;
    size_t i;
};

static int adj_cmp(const void *x, const void *y)
{
    const struct adj *a = x, *b = y;
    int r = strcmp(a->ln->period, b->ln->period);

    if (!r)
        r = strcmp(a->ln->ref, b->ln->ref);
    if (!r)
        r = (a->ln->ref_line > b->ln->ref_line) - (a->ln->ref_line < b->ln->ref_line);
    if (!r)
        r = (a->i > b->i) - (a->i < b->i);
    return r;
}

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static int period_ok(const char *p)
{
    int32_t d;
    char day[16];

    if (!terminated(p, 8) || strlen(p) != 7)
        return 0;
    snprintf(day, sizeof(day), "%s-01", p);
    return kf_day_parse(day, &d) == 0;
}

static int adjustment_lines(struct ctx *c)
{
    const struct kf_bill_input *in = c->in;
    struct adj *v;
    int r = 0;

    if (in->n_adjustments == 0)
        return 0;
    if (!in->adjustments)
        return fail(c, -EINVAL, "adjustments missing");
    v = calloc(in->n_adjustments, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < in->n_adjustments; i++) {
        const struct kf_bill_line *a = &in->adjustments[i];
        int64_t sum;

        v[i].ln = a;
        v[i].i = i;
        if (a->kind != KF_LINE_ADJUSTMENT || a->basis != KF_BASIS_REF ||
            !terminated(a->ref, sizeof(a->ref)) || !a->ref[0] || !period_ok(a->period) ||
            strcmp(a->period, c->b->period) >= 0 || !terminated(a->asset, sizeof(a->asset)) ||
            !terminated(a->model, sizeof(a->model)) || !terminated(a->zone, sizeof(a->zone)) ||
            !terminated(a->text, sizeof(a->text)) || !a->text[0] ||
            (a->terminal_kind && !terminal_kind_name(a->terminal_kind)) || a->tax_rate_bp < 0 ||
            a->tax_rate_bp > KF_MONEY_RATE_MAX ||
            __builtin_add_overflow(a->net_fen, a->tax_fen, &sum) || sum != a->gross_fen) {
            r = fail(c, -EINVAL,
                     "adjustment %zu: must be an adjustment line referring to a bill of an "
                     "earlier period, with net + tax = gross",
                     i);
            goto out_free;
        }
    }
    qsort(v, in->n_adjustments, sizeof(*v), adj_cmp);
    for (size_t i = 0; i < in->n_adjustments; i++) {
        struct kf_bill_line *ln;

        if ((r = push(c, KF_LINE_ADJUSTMENT, NULL, &ln)) < 0)
            goto out_free;
        *ln = *v[i].ln;
        ln->days = ln->period_days = KF_BILL_NA;
        ln->unit_fen = KF_BILL_NA;
        ln->availability_bp = KF_BILL_NA;
        ln->target_bp = ln->share_bp = 0;
        ln->breaches = 0;
    }
out_free:
    free(v);
    return r;
}

static int add(int64_t *acc, int64_t v)
{
    return __builtin_add_overflow(*acc, v, acc) ? -ERANGE : 0;
}

static int totals(struct ctx *c)
{
    struct kf_bill *b = c->b;

    for (size_t i = 0; i < b->n_lines; i++) {
        struct kf_bill_line *ln = &b->lines[i];
        size_t k = 0;

        ln->no = (uint32_t)(i + 1);
        while (k < b->n_rates && b->by_rate[k].tax_rate_bp < ln->tax_rate_bp)
            k++;
        if (k == b->n_rates || b->by_rate[k].tax_rate_bp != ln->tax_rate_bp) {
            struct kf_bill_rate *nr = realloc(b->by_rate, (b->n_rates + 1) * sizeof(*nr));

            if (!nr)
                return -ENOMEM;
            b->by_rate = nr;
            memmove(&nr[k + 1], &nr[k], (b->n_rates - k) * sizeof(*nr));
            memset(&nr[k], 0, sizeof(*nr));
            nr[k].tax_rate_bp = ln->tax_rate_bp;
            b->n_rates++;
        }
        if (add(&b->by_rate[k].net_fen, ln->net_fen) < 0 ||
            add(&b->by_rate[k].tax_fen, ln->tax_fen) < 0 ||
            add(&b->by_rate[k].gross_fen, ln->gross_fen) < 0 || add(&b->net_fen, ln->net_fen) < 0 ||
            add(&b->tax_fen, ln->tax_fen) < 0 || add(&b->gross_fen, ln->gross_fen) < 0)
            return fail(c, -ERANGE, "totals out of range");
    }
    return kf_money_capital(b->gross_fen, b->gross_capital, sizeof(b->gross_capital));
}

static int digest_cmp(const void *x, const void *y)
{
    return strcmp(((const struct kf_bill_input_digest *)x)->name,
                  ((const struct kf_bill_input_digest *)y)->name);
}

static int digests(struct ctx *c)
{
    const struct kf_bill_input *in = c->in;
    struct kf_bill *b = c->b;

    if (in->n_inputs == 0)
        return 0;
    if (!in->inputs)
        return fail(c, -EINVAL, "inputs missing");
    b->inputs = calloc(in->n_inputs, sizeof(*b->inputs));
    if (!b->inputs)
        return -ENOMEM;
    b->n_inputs = in->n_inputs;
    for (size_t i = 0; i < in->n_inputs; i++) {
        const char *name = in->inputs[i].name, *hex = in->inputs[i].hex;

        if (!name || !*name || !fits(name, KF_BILL_DIGEST_NAME_MAX + 1) || !hex || !*hex ||
            !fits(hex, KF_BILL_DIGEST_HEX_MAX + 1) ||
            strspn(hex, "0123456789abcdef") != strlen(hex))
            return fail(c, -EINVAL, "inputs[%zu]: a name and a lowercase hex digest", i);
        for (const char *p = name; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
                return fail(c, -EINVAL, "inputs[%zu]: name has a character to escape", i);
        }
        copy(b->inputs[i].name, sizeof(b->inputs[i].name), name);
        copy(b->inputs[i].hex, sizeof(b->inputs[i].hex), hex);
    }
    qsort(b->inputs, b->n_inputs, sizeof(*b->inputs), digest_cmp);
    for (size_t i = 1; i < b->n_inputs; i++) {
        if (strcmp(b->inputs[i - 1].name, b->inputs[i].name) == 0)
            return fail(c, -EINVAL, "inputs: %s given twice", b->inputs[i].name);
    }
    return 0;
}

static int contract_cmp(const void *x, const void *y)
{
    const struct kf_contract *a = x, *b = y;

    return (a->effective_from > b->effective_from) - (a->effective_from < b->effective_from);
}

/* This bank's versions, the month's list and the version for credits. */
static int contracts(struct ctx *c)
{
    const struct kf_bill_input *in = c->in;
    struct kf_bill *b = c->b;
    int32_t last_day = c->first_day + c->n_days - 1;
    int r;

    if (in->n_contracts && !in->contracts)
        return fail(c, -EINVAL, "contracts missing");
    c->mine = calloc(in->n_contracts + 1, sizeof(*c->mine));
    c->days = calloc(in->n_contracts + 1, sizeof(*c->days));
    if (!c->mine || !c->days)
        return -ENOMEM;
    for (size_t i = 0; i < in->n_contracts; i++) {
        if (strcmp(in->contracts[i].bank, b->bank_code) == 0)
            c->mine[c->n_mine++] = in->contracts[i];
    }
    if ((r = kf_contract_set_check(c->mine, c->n_mine, c->err, c->errn)) < 0)
        return r;
    qsort(c->mine, c->n_mine, sizeof(*c->mine), contract_cmp);
    b->contracts = calloc(c->n_mine + 1, sizeof(*b->contracts));
    if (!b->contracts)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_mine; i++) {
        const struct kf_contract *v = &c->mine[i];
        struct kf_bill_contract_ref *ref;

        if (v->effective_from > last_day || v->effective_to <= c->first_day)
            continue;
        ref = &b->contracts[b->n_contracts++];
        copy(ref->id, sizeof(ref->id), v->id);
        ref->version = v->version;
        ref->effective_from = v->effective_from;
        ref->effective_to = v->effective_to;
        c->last = v; /* by effective_from: the latest in force in the month */
    }
    c->n_in_month = b->n_contracts;
    /* Credits, penalties and the cap follow the version in force on the month's last day;
     * when the contract ended before it, the latest version in force in the month. */
    if (kf_contract_for(c->mine, c->n_mine, b->bank_code, last_day))
        c->last = kf_contract_for(c->mine, c->n_mine, b->bank_code, last_day);
    b->prices_include_tax = c->last ? c->last->prices_include_tax : 0;
    return 0;
}

static int header(struct ctx *c)
{
    const struct kf_bill_input *in = c->in;
    struct kf_bill *b = c->b;
    size_t bl;

    if (!in->bank_code || !*in->bank_code || !fits(in->bank_code, sizeof(b->bank_code)))
        return fail(c, -EINVAL, "bank.code: 1..%d bytes", KF_CONTRACT_BANK_MAX);
    if (!in->bank_name || !*in->bank_name || !fits(in->bank_name, sizeof(b->bank_name)))
        return fail(c, -EINVAL, "bank.name: 1..%d bytes", KF_BILL_BANK_NAME_MAX);
    copy(b->bank_code, sizeof(b->bank_code), in->bank_code);
    copy(b->bank_name, sizeof(b->bank_name), in->bank_name);
    if (in->year < 1970 || in->year > 9999 ||
        kf_calendar_month_range(in->year, in->month, &b->from_ms, &b->to_ms) < 0)
        return fail(c, -EINVAL, "period: no such month %d-%d", in->year, in->month);
    b->year = in->year;
    b->month = in->month;
    snprintf(b->period, sizeof(b->period), "%04d-%02d", in->year, in->month);
    c->first_day = kf_local_day(b->from_ms);
    c->n_days = (int32_t)((b->to_ms - b->from_ms) / DAY_MS);
    b->period_days = c->n_days;
    b->status = in->status;
    if (in->status == KF_BILL_DRAFT) {
        if (in->number)
            return fail(c, -EINVAL, "number: a draft has none");
        return 0;
    }
    if (in->status != KF_BILL_ISSUED)
        return fail(c, -EINVAL, "status: draft or issued");
    bl = strlen(b->bank_code);
    /* "<BANK>-NNNNNN": the bank's own gapless sequence (the caller keeps it). */
    if (!in->number || strlen(in->number) != bl + 7 || strncmp(in->number, b->bank_code, bl) ||
        in->number[bl] != '-' || strspn(in->number + bl + 1, "0123456789") != 6)
        return fail(c, -EINVAL, "number: must be \"%s-NNNNNN\"", b->bank_code);
    /* Periods close before their document is issued (DESIGN.md principle 9). */
    if (in->issued_at_ms < b->to_ms)
        return fail(c, -EINVAL, "issued_at_ms: before the end of %s", b->period);
    copy(b->number, sizeof(b->number), in->number);
    b->issued_at_ms = in->issued_at_ms;
    return 0;
}

static int asset_cmp(const void *x, const void *y)
{
    return strcmp((*(const struct kf_bill_asset *const *)x)->id,
                  (*(const struct kf_bill_asset *const *)y)->id);
}

int kf_bill_compute(const struct kf_bill_input *in, struct kf_bill **ret, char *err, size_t errn)
{
    struct ctx c = {.in = in, .err = err, .errn = errn};
    const struct kf_bill_asset **order = NULL;
    int r;

    if (err && errn > 0)
        err[0] = '\0';
    if (!in || (in->n_assets && !in->assets))
        return fail(&c, -EINVAL, "no input");
    c.b = calloc(1, sizeof(*c.b));
    order = calloc(in->n_assets + 1, sizeof(*order));
    if (!c.b || !order) {
        r = -ENOMEM;
        goto out_free;
    }
    if ((r = header(&c)) < 0 || (r = contracts(&c)) < 0)
        goto out_free;
    for (size_t i = 0; i < in->n_assets; i++) {
        if ((r = check_asset(&c, &in->assets[i])) < 0)
            goto out_free;
        order[i] = &in->assets[i];
    }
    qsort(order, in->n_assets, sizeof(*order), asset_cmp);
    for (size_t i = 0; i < in->n_assets; i++) {
        if (i > 0 && strcmp(order[i - 1]->id, order[i]->id) == 0) {
            r = fail(&c, -EINVAL, "%s: given twice", order[i]->id);
            goto out_free;
        }
        if ((r = asset_lines(&c, order[i])) < 0)
            goto out_free;
    }
    if ((r = cap_line(&c)) < 0 || (r = adjustment_lines(&c)) < 0 || (r = totals(&c)) < 0 ||
        (r = digests(&c)) < 0)
        goto out_free;
    *ret = c.b;
    c.b = NULL;
out_free:
    kf_bill_free(c.b);
    free(order);
    free(c.mine);
    free(c.days);
    return r;
}

void kf_bill_free(struct kf_bill *b)
{
    if (!b)
        return;
    free(b->contracts);
    free(b->lines);
    free(b->by_rate);
    free(b->inputs);
    free(b);
}

static void str_or_null(struct kf__jw *w, const char *key, const char *s)
{
    kf__jw_key(w, key);
    kf__jw_str(w, *s ? s : NULL);
}

static void int_or_null(struct kf__jw *w, const char *key, int64_t v, int null)
{
    kf__jw_key(w, key);
    if (null)
        kf__jw_null(w);
    else
        kf__jw_int(w, v);
}

static void money4(struct kf__jw *w, int64_t net, int32_t rate, int64_t tax, int64_t gross,
                   int with_rate_first)
{
    if (with_rate_first) {
        kf__jw_key(w, "tax_rate_bp");
        kf__jw_int(w, rate);
    }
    kf__jw_key(w, "net_fen");
    kf__jw_int(w, net);
    if (!with_rate_first) {
        kf__jw_key(w, "tax_rate_bp");
        kf__jw_int(w, rate);
    }
    kf__jw_key(w, "tax_fen");
    kf__jw_int(w, tax);
    kf__jw_key(w, "gross_fen");
    kf__jw_int(w, gross);
}

static void line_json(struct kf__jw *w, const struct kf_bill_line *ln)
{
    int fee = ln->kind == KF_LINE_LEASE || ln->kind == KF_LINE_MAINTENANCE;

    kf__jw_obj(w);
    kf__jw_key(w, "no");
    kf__jw_int(w, ln->no);
    kf__jw_key(w, "kind");
    kf__jw_str(w, kf_bill_kind_name(ln->kind));
    str_or_null(w, "asset", ln->asset);
    kf__jw_key(w, "terminal_kind");
    kf__jw_str(w, terminal_kind_name(ln->terminal_kind));
    str_or_null(w, "model", ln->model);
    str_or_null(w, "zone", ln->zone);
    kf__jw_key(w, "period");
    kf__jw_str(w, ln->period);
    int_or_null(w, "days", ln->days, !fee);
    int_or_null(w, "period_days", ln->period_days, !fee);
    int_or_null(w, "unit_fen", ln->unit_fen, !fee);
    kf__jw_key(w, "basis");
    if (ln->basis == KF_BASIS_SLA) {
        kf__jw_obj(w);
        int_or_null(w, "availability_bp", ln->availability_bp, ln->availability_bp == KF_BILL_NA);
        int_or_null(w, "target_bp", ln->target_bp, 0);
        int_or_null(w, "share_bp", ln->share_bp, 0);
        int_or_null(w, "breaches", ln->breaches, 0);
        kf__jw_end(w, '}');
    } else if (ln->basis == KF_BASIS_REF) {
        kf__jw_obj(w);
        kf__jw_key(w, "ref");
        kf__jw_str(w, ln->ref);
        int_or_null(w, "line", ln->ref_line, 0);
        kf__jw_end(w, '}');
    } else {
        kf__jw_null(w);
    }
    money4(w, ln->net_fen, ln->tax_rate_bp, ln->tax_fen, ln->gross_fen, 0);
    kf__jw_key(w, "text");
    kf__jw_str(w, ln->text);
    kf__jw_end(w, '}');
}

int kf_bill_json(const struct kf_bill *b, char **ret)
{
    struct kf__jw w;
    char d[16];

    kf__jw_init(&w);
    kf__jw_obj(&w);
    kf__jw_key(&w, "doc");
    kf__jw_str(&w, "kioskfleet.bill/1");
    kf__jw_key(&w, "status");
    kf__jw_str(&w, b->status == KF_BILL_ISSUED ? "issued" : "draft");
    str_or_null(&w, "number", b->number);
    kf__jw_key(&w, "bank");
    kf__jw_obj(&w);
    kf__jw_key(&w, "code");
    kf__jw_str(&w, b->bank_code);
    kf__jw_key(&w, "name");
    kf__jw_str(&w, b->bank_name);
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "period");
    kf__jw_str(&w, b->period);
    int_or_null(&w, "from_ms", b->from_ms, 0);
    int_or_null(&w, "to_ms", b->to_ms, 0);
    int_or_null(&w, "issued_at_ms", b->issued_at_ms, b->status != KF_BILL_ISSUED);
    kf__jw_key(&w, "prices_include_tax");
    kf__jw_bool(&w, b->prices_include_tax);
    kf__jw_key(&w, "contracts");
    kf__jw_arr(&w);
    for (size_t i = 0; i < b->n_contracts; i++) {
        const struct kf_bill_contract_ref *v = &b->contracts[i];

        kf__jw_obj(&w);
        kf__jw_key(&w, "id");
        kf__jw_str(&w, v->id);
        int_or_null(&w, "version", v->version, 0);
        kf__jw_key(&w, "effective_from");
        kf__jw_str(&w, kf_day_format(v->effective_from, d, sizeof(d)));
        kf__jw_key(&w, "effective_to");
        kf__jw_str(&w, v->effective_to == KF_CONTRACT_OPEN
                           ? NULL
                           : kf_day_format(v->effective_to, d, sizeof(d)));
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "lines");
    kf__jw_arr(&w);
    for (size_t i = 0; i < b->n_lines; i++)
        line_json(&w, &b->lines[i]);
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "totals");
    kf__jw_obj(&w);
    kf__jw_key(&w, "by_rate");
    kf__jw_arr(&w);
    for (size_t i = 0; i < b->n_rates; i++) {
        const struct kf_bill_rate *r = &b->by_rate[i];

        kf__jw_obj(&w);
        money4(&w, r->net_fen, r->tax_rate_bp, r->tax_fen, r->gross_fen, 1);
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    int_or_null(&w, "net_fen", b->net_fen, 0);
    int_or_null(&w, "tax_fen", b->tax_fen, 0);
    int_or_null(&w, "gross_fen", b->gross_fen, 0);
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "gross_capital");
    kf__jw_str(&w, b->gross_capital);
    kf__jw_key(&w, "inputs");
    kf__jw_obj(&w);
    for (size_t i = 0; i < b->n_inputs; i++) {
        kf__jw_key(&w, b->inputs[i].name);
        kf__jw_str(&w, b->inputs[i].hex);
    }
    kf__jw_end(&w, '}');
    kf__jw_end(&w, '}');
    return kf__jw_finish(&w, ret);
}
