/* render/bill.c: the canonical bill JSON (kioskfleet.bill/1) parsed and checked once, so
 * that the writers never meet a missing key or a wrong type half way through a file. The
 * checks are the spec's shape plus the arithmetic a reader would do first: each line's gross
 * is its net plus its tax, and every total is the exact sum of its lines. A renderer that
 * showed a bill failing those would put its name under wrong figures.
 */
#include "render/render_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kf__render_fail(char *err, size_t errn, int code, const char *fmt, ...)
{
    if (errn > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errn, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A JSON object's keys must be exactly these (the spec lists them all). */
static int only_keys(const json_t *obj, const char *const *keys, const char *where, char *err,
                     size_t errn)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t i;
        for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
            ;
        if (!keys[i])
            return kf__render_fail(err, errn, -EINVAL, "bill: %s: unknown key \"%s\"", where, k);
    }
    return 0;
}

static json_t *need(const json_t *obj, const char *key, const char *where, char *err, size_t errn)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        kf__render_fail(err, errn, -EINVAL, "bill: %s%s: missing", where, key);
    return v;
}

/* A string (or null when nullable): its bytes bounded and free of NUL. */
static int get_str(const json_t *obj, const char *key, int nullable, const char **ret,
                   const char *where, char *err, size_t errn)
{
    json_t *v = need(obj, key, where, err, errn);
    if (!v)
        return -EINVAL;
    if (nullable && json_is_null(v)) {
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return kf__render_fail(err, errn, -EINVAL, "bill: %s%s: not a string%s", where, key,
                               nullable ? " or null" : "");
    if (json_string_length(v) > KF__RENDER_MAX_TEXT ||
        strlen(json_string_value(v)) != json_string_length(v))
        return kf__render_fail(err, errn, -EINVAL, "bill: %s%s: longer than %d bytes or has NUL",
                               where, key, KF__RENDER_MAX_TEXT);
    *ret = json_string_value(v);
    return 0;
}

/* An integer (or null -> KF__RENDER_NULL when nullable); floats are refused: money is fen. */
static int get_int(const json_t *obj, const char *key, int nullable, int64_t *ret,
                   const char *where, char *err, size_t errn)
{
    json_t *v = need(obj, key, where, err, errn);
    if (!v)
        return -EINVAL;
    if (nullable && json_is_null(v)) {
        *ret = KF__RENDER_NULL;
        return 0;
    }
    if (!json_is_integer(v))
        return kf__render_fail(err, errn, -EINVAL, "bill: %s%s: not an integer%s", where, key,
                               nullable ? " or null" : "");
    *ret = (int64_t)json_integer_value(v);
    /* Amounts stay far from overflow when summed: 10^15 fen is 10 trillion yuan. */
    if (*ret < -1000000000000000LL || *ret > 1000000000000000LL)
        return kf__render_fail(err, errn, -EINVAL, "bill: %s%s: out of range", where, key);
    return 0;
}

static int one_of(const char *s, const char *const *set)
{
    for (size_t i = 0; set[i]; i++)
        if (strcmp(s, set[i]) == 0)
            return 1;
    return 0;
}

static int get_enum(const json_t *obj, const char *key, int nullable, const char *const *set,
                    const char **ret, const char *where, char *err, size_t errn)
{
    int rc = get_str(obj, key, nullable, ret, where, err, errn);
    if (rc == 0 && *ret && !one_of(*ret, set))
        rc = kf__render_fail(err, errn, -EINVAL, "bill: %s%s: unknown value \"%s\"", where, key,
                             *ret);
    return rc;
}

static int get_array(const json_t *obj, const char *key, json_t **ret, const char *where, char *err,
                     size_t errn)
{
    json_t *v = need(obj, key, where, err, errn);
    if (!v)
        return -EINVAL;
    if (!json_is_array(v))
        return kf__render_fail(err, errn, -EINVAL, "bill: %s%s: not an array", where, key);
    *ret = v;
    return 0;
}

static int get_object(const json_t *obj, const char *key, json_t **ret, const char *where,
                      char *err, size_t errn)
{
    json_t *v = need(obj, key, where, err, errn);
    if (!v)
        return -EINVAL;
    if (!json_is_object(v))
        return kf__render_fail(err, errn, -EINVAL, "bill: %s%s: not an object", where, key);
    *ret = v;
    return 0;
}

static int get_bool(const json_t *obj, const char *key, int *ret, const char *where, char *err,
                    size_t errn)
{
    json_t *v = need(obj, key, where, err, errn);
    if (!v)
        return -EINVAL;
    if (!json_is_boolean(v))
        return kf__render_fail(err, errn, -EINVAL, "bill: %s%s: not true or false", where, key);
    *ret = json_is_true(v);
    return 0;
}

static int check_rate(int64_t bp, const char *where, char *err, size_t errn)
{
    if (bp < 0 || bp > 10000)
        return kf__render_fail(err, errn, -EINVAL, "bill: %stax_rate_bp: %lld not in 0..10000",
                               where, (long long)bp);
    return 0;
}

/* The amounts of a line or a total: gross = net + tax, whatever the rounding rule was. */
static int check_sum(const struct kf__render_sum *s, const char *where, char *err, size_t errn)
{
    if (s->net_fen + s->tax_fen != s->gross_fen)
        return kf__render_fail(err, errn, -EINVAL,
                               "bill: %sgross_fen: %lld is not net_fen + tax_fen (%lld)", where,
                               (long long)s->gross_fen, (long long)(s->net_fen + s->tax_fen));
    return 0;
}

static int parse_sum(const json_t *o, int with_rate, struct kf__render_sum *s, const char *where,
                     char *err, size_t errn)
{
    int rc = 0;
    s->tax_rate_bp = KF__RENDER_NULL;
    if (with_rate) {
        rc = get_int(o, "tax_rate_bp", 0, &s->tax_rate_bp, where, err, errn);
        if (rc == 0)
            rc = check_rate(s->tax_rate_bp, where, err, errn);
    }
    if (rc == 0)
        rc = get_int(o, "net_fen", 0, &s->net_fen, where, err, errn);
    if (rc == 0)
        rc = get_int(o, "tax_fen", 0, &s->tax_fen, where, err, errn);
    if (rc == 0)
        rc = get_int(o, "gross_fen", 0, &s->gross_fen, where, err, errn);
    if (rc == 0)
        rc = check_sum(s, where, err, errn);
    return rc;
}

static const char *const line_keys[] = {
    "no",          "kind",    "asset",       "terminal_kind", "model", "zone",
    "period",      "days",    "period_days", "unit_fen",      "basis", "net_fen",
    "tax_rate_bp", "tax_fen", "gross_fen",   "text",          NULL};
static const char *const kinds[] = {"lease", "maintenance", "credit", "penalty",
                                    "cap",   "adjustment",  NULL};
static const char *const terminal_kinds[] = {"kiosk", "itm", NULL};

static int parse_line(const json_t *o, size_t i, struct kf__render_line *l, char *err, size_t errn)
{
    char where[48];
    struct kf__render_sum s;
    json_t *basis;
    int rc;

    snprintf(where, sizeof where, "lines[%zu].", i);
    if (!json_is_object(o))
        return kf__render_fail(err, errn, -EINVAL, "bill: lines[%zu]: not an object", i);
    if ((rc = only_keys(o, line_keys, where, err, errn)) != 0 ||
        (rc = get_int(o, "no", 0, &l->no, where, err, errn)) != 0 ||
        (rc = get_enum(o, "kind", 0, kinds, &l->kind, where, err, errn)) != 0 ||
        (rc = get_str(o, "asset", 1, &l->asset, where, err, errn)) != 0 ||
        (rc = get_enum(o, "terminal_kind", 1, terminal_kinds, &l->terminal_kind, where, err,
                       errn)) != 0 ||
        (rc = get_str(o, "model", 1, &l->model, where, err, errn)) != 0 ||
        (rc = get_str(o, "zone", 1, &l->zone, where, err, errn)) != 0 ||
        (rc = get_str(o, "period", 0, &l->period, where, err, errn)) != 0 ||
        (rc = get_int(o, "days", 1, &l->days, where, err, errn)) != 0 ||
        (rc = get_int(o, "period_days", 1, &l->period_days, where, err, errn)) != 0 ||
        (rc = get_int(o, "unit_fen", 1, &l->unit_fen, where, err, errn)) != 0 ||
        (rc = get_str(o, "text", 0, &l->text, where, err, errn)) != 0 ||
        (rc = parse_sum(o, 1, &s, where, err, errn)) != 0)
        return rc;
    basis = json_object_get(o, "basis");
    if (!basis || !(json_is_null(basis) || json_is_object(basis)))
        return kf__render_fail(err, errn, -EINVAL, "bill: %sbasis: %s", where,
                               basis ? "not an object or null" : "missing");
    if (l->no != (int64_t)i + 1)
        return kf__render_fail(err, errn, -EINVAL, "bill: %sno: %lld, expected %zu", where,
                               (long long)l->no, i + 1);
    l->net_fen = s.net_fen;
    l->tax_rate_bp = s.tax_rate_bp;
    l->tax_fen = s.tax_fen;
    l->gross_fen = s.gross_fen;
    return 0;
}

static int parse_lines(const json_t *root, struct kf__render_bill *b, char *err, size_t errn)
{
    json_t *arr;
    int rc = get_array(root, "lines", &arr, "", err, errn);
    if (rc != 0)
        return rc;
    b->n_lines = json_array_size(arr);
    if (b->n_lines > KF__RENDER_MAX_LINES)
        return kf__render_fail(err, errn, -EINVAL, "bill: lines: more than %d",
                               KF__RENDER_MAX_LINES);
    b->lines = calloc(b->n_lines ? b->n_lines : 1, sizeof *b->lines);
    if (!b->lines)
        return kf__render_fail(err, errn, -ENOMEM, "bill: out of memory");
    for (size_t i = 0; i < b->n_lines; i++)
        if ((rc = parse_line(json_array_get(arr, i), i, &b->lines[i], err, errn)) != 0)
            return rc;
    return 0;
}

static int parse_contracts(const json_t *root, struct kf__render_bill *b, char *err, size_t errn)
{
    static const char *const keys[] = {"id", "version", "effective_from", "effective_to", NULL};
    json_t *arr;
    int rc = get_array(root, "contracts", &arr, "", err, errn);
    if (rc != 0)
        return rc;
    b->n_contracts = json_array_size(arr);
    b->contracts = calloc(b->n_contracts ? b->n_contracts : 1, sizeof *b->contracts);
    if (!b->contracts)
        return kf__render_fail(err, errn, -ENOMEM, "bill: out of memory");
    for (size_t i = 0; i < b->n_contracts; i++) {
        const json_t *o = json_array_get(arr, i);
        struct kf__render_contract *c = &b->contracts[i];
        char where[48];
        snprintf(where, sizeof where, "contracts[%zu].", i);
        if (!json_is_object(o))
            return kf__render_fail(err, errn, -EINVAL, "bill: contracts[%zu]: not an object", i);
        if ((rc = only_keys(o, keys, where, err, errn)) != 0 ||
            (rc = get_str(o, "id", 0, &c->id, where, err, errn)) != 0 ||
            (rc = get_int(o, "version", 0, &c->version, where, err, errn)) != 0 ||
            (rc = get_str(o, "effective_from", 0, &c->effective_from, where, err, errn)) != 0 ||
            (rc = get_str(o, "effective_to", 1, &c->effective_to, where, err, errn)) != 0)
            return rc;
    }
    return 0;
}

static int parse_totals(const json_t *root, struct kf__render_bill *b, char *err, size_t errn)
{
    static const char *const keys[] = {"by_rate", "net_fen", "tax_fen", "gross_fen", NULL};
    static const char *const rate_keys[] = {"tax_rate_bp", "net_fen", "tax_fen", "gross_fen", NULL};
    json_t *t, *arr;
    int rc;
    if ((rc = get_object(root, "totals", &t, "", err, errn)) != 0 ||
        (rc = only_keys(t, keys, "totals.", err, errn)) != 0 ||
        (rc = get_array(t, "by_rate", &arr, "totals.", err, errn)) != 0 ||
        (rc = parse_sum(t, 0, &b->total, "totals.", err, errn)) != 0)
        return rc;
    b->n_rates = json_array_size(arr);
    b->rates = calloc(b->n_rates ? b->n_rates : 1, sizeof *b->rates);
    if (!b->rates)
        return kf__render_fail(err, errn, -ENOMEM, "bill: out of memory");
    for (size_t i = 0; i < b->n_rates; i++) {
        const json_t *o = json_array_get(arr, i);
        char where[48];
        snprintf(where, sizeof where, "totals.by_rate[%zu].", i);
        if (!json_is_object(o))
            return kf__render_fail(err, errn, -EINVAL, "bill: %s: not an object", where);
        if ((rc = only_keys(o, rate_keys, where, err, errn)) != 0 ||
            (rc = parse_sum(o, 1, &b->rates[i], where, err, errn)) != 0)
            return rc;
        if (i > 0 && b->rates[i].tax_rate_bp <= b->rates[i - 1].tax_rate_bp)
            return kf__render_fail(err, errn, -EINVAL, "bill: %stax_rate_bp: not ascending", where);
    }
    return 0;
}

/* Every total is the exact sum of its lines (spec, "The bill"), per rate and overall. */
static int check_totals(const struct kf__render_bill *b, char *err, size_t errn)
{
    struct kf__render_sum all = {0};
    for (size_t r = 0; r < b->n_rates; r++) {
        struct kf__render_sum s = {0};
        for (size_t i = 0; i < b->n_lines; i++) {
            const struct kf__render_line *l = &b->lines[i];
            if (l->tax_rate_bp != b->rates[r].tax_rate_bp)
                continue;
            s.net_fen += l->net_fen;
            s.tax_fen += l->tax_fen;
            s.gross_fen += l->gross_fen;
        }
        if (s.net_fen != b->rates[r].net_fen || s.tax_fen != b->rates[r].tax_fen ||
            s.gross_fen != b->rates[r].gross_fen)
            return kf__render_fail(err, errn, -EINVAL,
                                   "bill: totals.by_rate[%zu]: not the sum of the lines at that "
                                   "rate (net %lld, tax %lld, gross %lld)",
                                   r, (long long)s.net_fen, (long long)s.tax_fen,
                                   (long long)s.gross_fen);
    }
    for (size_t i = 0; i < b->n_lines; i++) {
        size_t r;
        for (r = 0; r < b->n_rates && b->rates[r].tax_rate_bp != b->lines[i].tax_rate_bp; r++)
            ;
        if (r == b->n_rates)
            return kf__render_fail(err, errn, -EINVAL,
                                   "bill: lines[%zu].tax_rate_bp: no totals.by_rate entry", i);
        all.net_fen += b->lines[i].net_fen;
        all.tax_fen += b->lines[i].tax_fen;
        all.gross_fen += b->lines[i].gross_fen;
    }
    if (all.net_fen != b->total.net_fen || all.tax_fen != b->total.tax_fen ||
        all.gross_fen != b->total.gross_fen)
        return kf__render_fail(err, errn, -EINVAL,
                               "bill: totals: not the sum of the lines (net %lld, tax %lld, "
                               "gross %lld)",
                               (long long)all.net_fen, (long long)all.tax_fen,
                               (long long)all.gross_fen);
    return 0;
}

static int parse_inputs(const json_t *root, struct kf__render_bill *b, char *err, size_t errn)
{
    json_t *o, *v;
    const char *k;
    size_t i = 0;
    int rc = get_object(root, "inputs", &o, "", err, errn);
    if (rc != 0)
        return rc;
    b->n_inputs = json_object_size(o);
    b->inputs = calloc(b->n_inputs ? b->n_inputs : 1, sizeof *b->inputs);
    if (!b->inputs)
        return kf__render_fail(err, errn, -ENOMEM, "bill: out of memory");
    json_object_foreach(o, k, v)
    {
        if ((rc = get_str(o, k, 0, &b->inputs[i].digest, "inputs.", err, errn)) != 0)
            return rc;
        b->inputs[i++].name = k;
    }
    return 0;
}

static int parse_bank(const json_t *root, struct kf__render_bill *b, char *err, size_t errn)
{
    static const char *const keys[] = {"code", "name", NULL};
    json_t *o;
    int rc;
    if ((rc = get_object(root, "bank", &o, "", err, errn)) != 0 ||
        (rc = only_keys(o, keys, "bank.", err, errn)) != 0 ||
        (rc = get_str(o, "code", 0, &b->bank_code, "bank.", err, errn)) != 0 ||
        (rc = get_str(o, "name", 0, &b->bank_name, "bank.", err, errn)) != 0)
        return rc;
    return 0;
}

static const char *const bill_keys[] = {"doc",           "status",       "number",
                                        "bank",          "period",       "from_ms",
                                        "to_ms",         "issued_at_ms", "prices_include_tax",
                                        "contracts",     "lines",        "totals",
                                        "gross_capital", "inputs",       NULL};
static const char *const statuses[] = {"draft", "issued", NULL};

static int parse_head(const json_t *root, struct kf__render_bill *b, char *err, size_t errn)
{
    const char *doc, *status;
    int rc;
    if ((rc = only_keys(root, bill_keys, "", err, errn)) != 0 ||
        (rc = get_str(root, "doc", 0, &doc, "", err, errn)) != 0)
        return rc;
    if (strcmp(doc, "kioskfleet.bill/1") != 0)
        return kf__render_fail(err, errn, -EINVAL, "bill: doc: \"%s\", expected kioskfleet.bill/1",
                               doc);
    if ((rc = get_enum(root, "status", 0, statuses, &status, "", err, errn)) != 0 ||
        (rc = get_str(root, "number", 1, &b->number, "", err, errn)) != 0 ||
        (rc = get_str(root, "period", 0, &b->period, "", err, errn)) != 0 ||
        (rc = get_int(root, "from_ms", 0, &b->from_ms, "", err, errn)) != 0 ||
        (rc = get_int(root, "to_ms", 0, &b->to_ms, "", err, errn)) != 0 ||
        (rc = get_int(root, "issued_at_ms", 1, &b->issued_at_ms, "", err, errn)) != 0 ||
        (rc = get_bool(root, "prices_include_tax", &b->prices_include_tax, "", err, errn)) != 0 ||
        (rc = get_str(root, "gross_capital", 0, &b->gross_capital, "", err, errn)) != 0 ||
        (rc = parse_bank(root, b, err, errn)) != 0)
        return rc;
    b->draft = strcmp(status, "draft") == 0;
    /* An issued bill is numbered and dated; a draft is neither, so it cannot pass for one. */
    if (!b->draft && (!b->number || b->issued_at_ms == KF__RENDER_NULL))
        return kf__render_fail(err, errn, -EINVAL,
                               "bill: issued but number or issued_at_ms is null");
    if (b->draft && (b->number || b->issued_at_ms != KF__RENDER_NULL))
        return kf__render_fail(err, errn, -EINVAL,
                               "bill: a draft has a number or issued_at_ms (must be null)");
    if (b->to_ms <= b->from_ms)
        return kf__render_fail(err, errn, -EINVAL, "bill: to_ms: not after from_ms");
    return 0;
}

int kf__render_parse(const char *json, struct kf__render_bill *ret, char *err, size_t errn)
{
    struct kf__render_bill b = {0};
    json_error_t jerr;
    int rc;

    if (!json)
        return kf__render_fail(err, errn, -EINVAL, "bill: no JSON given");
    b.root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!b.root)
        return kf__render_fail(err, errn, -EINVAL, "bill: not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    if (!json_is_object(b.root)) {
        rc = kf__render_fail(err, errn, -EINVAL, "bill: not a JSON object");
        goto out_close;
    }
    if ((rc = parse_head(b.root, &b, err, errn)) != 0 ||
        (rc = parse_contracts(b.root, &b, err, errn)) != 0 ||
        (rc = parse_lines(b.root, &b, err, errn)) != 0 ||
        (rc = parse_totals(b.root, &b, err, errn)) != 0 ||
        (rc = check_totals(&b, err, errn)) != 0 || (rc = parse_inputs(b.root, &b, err, errn)) != 0)
        goto out_close;
    *ret = b;
    return 0;

out_close:
    kf__render_close(&b);
    return rc;
}

void kf__render_close(struct kf__render_bill *b)
{
    if (!b)
        return;
    free(b->contracts);
    free(b->lines);
    free(b->rates);
    free(b->inputs);
    json_decref(b->root);
    memset(b, 0, sizeof *b);
}
