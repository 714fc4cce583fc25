/* render/csv.c: the bill as CSV for Excel on a Chinese Windows. Excel guesses a CSV's
 * encoding from a BOM (without one it reads GBK and garbles every character), wants CRLF,
 * and reads "1234.56" as a number but would read "1,234.56" as text in some locales: so
 * amounts here are ungrouped. Fields are quoted per RFC 4180 when they hold a comma, a quote
 * or a line break, and texts never become formulas.
 */
#include "render/render.h"
#include "render/render_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NCOLS 15

static const char *const columns[NCOLS] = {
    "行号",           "类别",   "资产编号", "类型",         "型号",
    "网点/专区",      "所属期", "服务天数", "当月天数",     "单价(元)",
    "不含税金额(元)", "税率",   "税额(元)", "价税合计(元)", "说明"};

/* A text Excel would take for a formula (=, +, @, a tab or CR first, or "-" not starting a
 * number) is kept as text by a leading apostrophe, as kioskctl's CSV does; our own amounts
 * ("-15.00") stay numbers. */
static int formula_like(const char *s)
{
    return (s[0] != '\0' && strchr("=+@\t\r", s[0]) != NULL) ||
           (s[0] == '-' && !(s[1] >= '0' && s[1] <= '9'));
}

static void put_field(FILE *out, const char *s)
{
    int guard;
    if (!s)
        s = "";
    guard = formula_like(s);
    if (strpbrk(s, ",\"\r\n") == NULL) {
        if (guard)
            fputc('\'', out);
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (guard)
        fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void put_row(FILE *out, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputc(',', out);
        put_field(out, fields[i]);
    }
    fputs("\r\n", out);
}

static void put_pair(FILE *out, const char *name, const char *value)
{
    const char *f[2] = {name, value};
    put_row(out, f, 2);
}

static void put_head(FILE *out, const struct kf__render_bill *b)
{
    char bank[2 * KF__RENDER_MAX_TEXT + 8], date[16];
    snprintf(bank, sizeof bank, "%s (%s)", b->bank_name, b->bank_code);
    put_pair(out, "账单编号", kf__render_number(b));
    put_pair(out, "银行", bank);
    put_pair(out, "所属期", b->period);
    put_pair(out, "开具日期",
             b->draft ? "未开具" : kf__render_local_date(b->issued_at_ms, date, sizeof date));
    put_pair(out, "价税合计(大写)", b->gross_capital);
    fputs("\r\n", out);
}

static char *int_or_empty(int64_t v, char *buf, size_t cap)
{
    if (v == KF__RENDER_NULL)
        buf[0] = '\0';
    else
        snprintf(buf, cap, "%lld", (long long)v);
    return buf;
}

static void put_line(FILE *out, const struct kf__render_line *l)
{
    char no[24], days[24], pdays[24], unit[KF__RENDER_MONEY_CAP], net[KF__RENDER_MONEY_CAP];
    char rate[KF__RENDER_RATE_CAP], tax[KF__RENDER_MONEY_CAP], gross[KF__RENDER_MONEY_CAP];
    const char *f[NCOLS] = {
        int_or_empty(l->no, no, sizeof no),
        kf__render_kind_name(l->kind),
        l->asset,
        kf__render_terminal_name(l->terminal_kind),
        l->model,
        l->zone,
        l->period,
        int_or_empty(l->days, days, sizeof days),
        int_or_empty(l->period_days, pdays, sizeof pdays),
        l->unit_fen == KF__RENDER_NULL ? "" : kf__render_money(l->unit_fen, 0, unit, sizeof unit),
        kf__render_money(l->net_fen, 0, net, sizeof net),
        kf__render_rate(l->tax_rate_bp, rate, sizeof rate),
        kf__render_money(l->tax_fen, 0, tax, sizeof tax),
        kf__render_money(l->gross_fen, 0, gross, sizeof gross),
        l->text};
    put_row(out, f, NCOLS);
}

/* A total in the lines' own columns, so that a column's sum in Excel can be set beside it. */
static void put_total(FILE *out, const struct kf__render_sum *s)
{
    char net[KF__RENDER_MONEY_CAP], tax[KF__RENDER_MONEY_CAP], gross[KF__RENDER_MONEY_CAP];
    char rate[KF__RENDER_RATE_CAP], text[64];
    int all = s->tax_rate_bp == KF__RENDER_NULL;
    if (!all)
        snprintf(text, sizeof text, "税率 %s 小计",
                 kf__render_rate(s->tax_rate_bp, rate, sizeof rate));
    const char *f[NCOLS] = {"",
                            all ? "合计" : "小计",
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                            kf__render_money(s->net_fen, 0, net, sizeof net),
                            all ? "" : rate,
                            kf__render_money(s->tax_fen, 0, tax, sizeof tax),
                            kf__render_money(s->gross_fen, 0, gross, sizeof gross),
                            all ? "价税合计" : text};
    put_row(out, f, NCOLS);
}

int kf_render_bill_csv(const char *bill_json, FILE *out, char *err, size_t errn)
{
    struct kf__render_bill b;
    int rc = kf__render_parse(bill_json, &b, err, errn);
    if (rc != 0)
        return rc;
    fputs("\xEF\xBB\xBF", out);
    put_head(out, &b);
    put_row(out, columns, NCOLS);
    for (size_t i = 0; i < b.n_lines; i++)
        put_line(out, &b.lines[i]);
    fputs("\r\n", out);
    for (size_t r = 0; r < b.n_rates; r++)
        put_total(out, &b.rates[r]);
    put_total(out, &b.total);
    if (fflush(out) != 0 || ferror(out))
        rc = kf__render_fail(err, errn, -EIO, "csv: write failed: %s", strerror(errno));
    kf__render_close(&b);
    return rc;
}
