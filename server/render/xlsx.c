/* render/xlsx.c: the bill as an Excel workbook (libxlsxwriter). Amounts are cells holding
 * numbers in yuan, so that an accountant can sum and filter them; a double holds every fen
 * of any real bill exactly enough to show it (the JSON and the CSV keep the exact text).
 * Three sheets: 账单 (the lines), 汇总 (totals), 依据 (what the figures were computed from).
 */
#include "render/render.h"
#include "render/render_int.h"
#include "render/sheet_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define LINE_COLS 15
#define HEAD_ROW 5 /* the lines' header row on 账单; the lines follow it */

static const char *const line_columns[LINE_COLS] = {
    "行号",           "类别",   "资产编号", "类型",         "型号",
    "网点/专区",      "所属期", "服务天数", "当月天数",     "单价(元)",
    "不含税金额(元)", "税率",   "税额(元)", "价税合计(元)", "说明"};
/* Widths in Excel's character units; a Chinese character counts about two. */
static const double line_widths[LINE_COLS] = {6, 10, 14, 11, 10, 12, 9, 9,
                                              9, 12, 15, 7,  12, 15, 48};

struct formats {
    lxw_format *title, *draft, *label, *head, *money, *money_bold, *text, *bold, *center;
};

static struct formats make_formats(lxw_workbook *wb)
{
    struct formats f;
    f.title = workbook_add_format(wb);
    format_set_bold(f.title);
    format_set_font_size(f.title, 16);
    f.draft = workbook_add_format(wb);
    format_set_bold(f.draft);
    format_set_font_size(f.draft, 16);
    format_set_font_color(f.draft, LXW_COLOR_RED);
    f.label = workbook_add_format(wb);
    format_set_bold(f.label);
    format_set_align(f.label, LXW_ALIGN_RIGHT);
    f.head = workbook_add_format(wb);
    format_set_bold(f.head);
    format_set_bg_color(f.head, 0xD9E1F2);
    format_set_border(f.head, LXW_BORDER_THIN);
    format_set_align(f.head, LXW_ALIGN_CENTER);
    format_set_text_wrap(f.head);
    f.money = workbook_add_format(wb);
    format_set_num_format(f.money, "#,##0.00");
    f.money_bold = workbook_add_format(wb);
    format_set_num_format(f.money_bold, "#,##0.00");
    format_set_bold(f.money_bold);
    format_set_top(f.money_bold, LXW_BORDER_THIN);
    f.text = workbook_add_format(wb);
    f.bold = workbook_add_format(wb);
    format_set_bold(f.bold);
    f.center = workbook_add_format(wb);
    format_set_align(f.center, LXW_ALIGN_CENTER);
    return f;
}

static double yuan(int64_t fen)
{
    return (double)fen / 100.0;
}

/* The first row of every sheet says what the document is, and a draft says so at once. */
static void put_title(lxw_worksheet *ws, const struct kf__render_bill *b, const char *sheet,
                      const struct formats *f)
{
    char t[256];
    snprintf(t, sizeof t, "租赁及维护服务费账单%s%s%s", *sheet ? " " : "", sheet,
             b->draft ? " — 草稿 DRAFT" : "");
    worksheet_write_string(ws, 0, 0, t, b->draft ? f->draft : f->title);
    worksheet_set_row(ws, 0, 24, NULL);
    /* The printed page says it too: a draft printed and filed is still a draft. */
    worksheet_set_header(ws, b->draft ? "&C&\"-,Bold\"&14草稿 DRAFT" : "&C租赁及维护服务费账单");
    worksheet_set_footer(ws, "&C第 &P 页 共 &N 页");
    worksheet_set_paper(ws, 9); /* A4 */
}

static void put_pair(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *label,
                     const char *value, const struct formats *f)
{
    worksheet_write_string(ws, row, col, label, f->label);
    worksheet_write_string(ws, row, (lxw_col_t)(col + 1), value ? value : "", f->text);
}

static void put_head_block(lxw_worksheet *ws, const struct kf__render_bill *b,
                           const struct formats *f)
{
    char bank[2 * KF__RENDER_MAX_TEXT + 8], from[16], to[16], period[64], date[16];
    snprintf(bank, sizeof bank, "%s (%s)", b->bank_name, b->bank_code);
    snprintf(period, sizeof period, "%s (%s 至 %s)", b->period,
             kf__render_local_date(b->from_ms, from, sizeof from),
             kf__render_local_date(b->to_ms - 1, to, sizeof to));
    put_pair(ws, 1, 1, "账单编号", kf__render_number(b), f);
    put_pair(ws, 1, 5, "银行", bank, f);
    put_pair(ws, 2, 1, "所属期", period, f);
    put_pair(ws, 2, 5, "开具日期",
             b->draft ? "未开具" : kf__render_local_date(b->issued_at_ms, date, sizeof date), f);
    worksheet_write_string(ws, 3, 1, "价税合计(元)", f->label);
    worksheet_write_number(ws, 3, 2, yuan(b->total.gross_fen), f->money_bold);
    put_pair(ws, 3, 5, "大写", b->gross_capital, f);
    put_pair(ws, 3, 9, "价格", b->prices_include_tax ? "含税价" : "不含税价", f);
}

static void put_opt_int(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t v)
{
    if (v != KF__RENDER_NULL)
        worksheet_write_number(ws, r, c, (double)v, NULL);
}

static void put_line(lxw_worksheet *ws, lxw_row_t r, const struct kf__render_line *l,
                     const struct formats *f)
{
    char rate[KF__RENDER_RATE_CAP];
    worksheet_write_number(ws, r, 0, (double)l->no, NULL);
    worksheet_write_string(ws, r, 1, kf__render_kind_name(l->kind), NULL);
    worksheet_write_string(ws, r, 2, l->asset ? l->asset : "", NULL);
    worksheet_write_string(ws, r, 3, kf__render_terminal_name(l->terminal_kind), NULL);
    worksheet_write_string(ws, r, 4, l->model ? l->model : "", NULL);
    worksheet_write_string(ws, r, 5, l->zone ? l->zone : "", NULL);
    worksheet_write_string(ws, r, 6, l->period, NULL);
    put_opt_int(ws, r, 7, l->days);
    put_opt_int(ws, r, 8, l->period_days);
    if (l->unit_fen != KF__RENDER_NULL)
        worksheet_write_number(ws, r, 9, yuan(l->unit_fen), f->money);
    worksheet_write_number(ws, r, 10, yuan(l->net_fen), f->money);
    worksheet_write_string(ws, r, 11, kf__render_rate(l->tax_rate_bp, rate, sizeof rate),
                           f->center);
    worksheet_write_number(ws, r, 12, yuan(l->tax_fen), f->money);
    worksheet_write_number(ws, r, 13, yuan(l->gross_fen), f->money);
    worksheet_write_string(ws, r, 14, l->text, NULL);
}

static void sheet_lines(lxw_workbook *wb, const struct kf__render_bill *b, const struct formats *f)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "账单");
    lxw_row_t last = (lxw_row_t)(HEAD_ROW + b->n_lines);
    put_title(ws, b, "", f);
    put_head_block(ws, b, f);
    for (lxw_col_t c = 0; c < LINE_COLS; c++) {
        worksheet_set_column(ws, c, c, line_widths[c], NULL);
        worksheet_write_string(ws, HEAD_ROW, c, line_columns[c], f->head);
    }
    for (size_t i = 0; i < b->n_lines; i++)
        put_line(ws, (lxw_row_t)(HEAD_ROW + 1 + i), &b->lines[i], f);
    worksheet_write_string(ws, last + 1, 1, "合计", f->bold);
    worksheet_write_number(ws, last + 1, 10, yuan(b->total.net_fen), f->money_bold);
    worksheet_write_number(ws, last + 1, 12, yuan(b->total.tax_fen), f->money_bold);
    worksheet_write_number(ws, last + 1, 13, yuan(b->total.gross_fen), f->money_bold);
    /* Scrolling keeps the identity and the column names in view. */
    worksheet_freeze_panes(ws, HEAD_ROW + 1, 0);
    worksheet_autofilter(ws, HEAD_ROW, 0, last, LINE_COLS - 1);
    worksheet_repeat_rows(ws, HEAD_ROW, HEAD_ROW);
    worksheet_set_landscape(ws);
    worksheet_fit_to_pages(ws, 1, 0);
}

static void sheet_totals(lxw_workbook *wb, const struct kf__render_bill *b, const struct formats *f)
{
    static const char *const cols[] = {"税率", "不含税金额(元)", "税额(元)", "价税合计(元)"};
    lxw_worksheet *ws = workbook_add_worksheet(wb, "汇总");
    char rate[KF__RENDER_RATE_CAP];
    lxw_row_t r = 2;
    put_title(ws, b, "汇总", f);
    worksheet_write_string(ws, 1, 0, kf__render_number(b), b->draft ? f->draft : f->bold);
    worksheet_set_column(ws, 0, 0, 12, NULL);
    worksheet_set_column(ws, 1, 3, 18, NULL);
    for (lxw_col_t c = 0; c < 4; c++)
        worksheet_write_string(ws, r, c, cols[c], f->head);
    for (size_t i = 0; i < b->n_rates; i++) {
        const struct kf__render_sum *s = &b->rates[i];
        r++;
        worksheet_write_string(ws, r, 0, kf__render_rate(s->tax_rate_bp, rate, sizeof rate),
                               f->center);
        worksheet_write_number(ws, r, 1, yuan(s->net_fen), f->money);
        worksheet_write_number(ws, r, 2, yuan(s->tax_fen), f->money);
        worksheet_write_number(ws, r, 3, yuan(s->gross_fen), f->money);
    }
    r++;
    worksheet_write_string(ws, r, 0, "合计", f->bold);
    worksheet_write_number(ws, r, 1, yuan(b->total.net_fen), f->money_bold);
    worksheet_write_number(ws, r, 2, yuan(b->total.tax_fen), f->money_bold);
    worksheet_write_number(ws, r, 3, yuan(b->total.gross_fen), f->money_bold);
    put_pair(ws, r + 2, 0, "大写", b->gross_capital, f);
}

static void sheet_basis(lxw_workbook *wb, const struct kf__render_bill *b, const struct formats *f)
{
    static const char *const ccols[] = {"合同编号", "版本", "生效日", "失效日(不含)"};
    lxw_worksheet *ws = workbook_add_worksheet(wb, "依据");
    lxw_row_t r = 2;
    put_title(ws, b, "依据", f);
    worksheet_write_string(ws, 1, 0, kf__render_number(b), b->draft ? f->draft : f->bold);
    worksheet_set_column(ws, 0, 0, 18, NULL);
    worksheet_set_column(ws, 1, 1, 70, NULL);
    worksheet_set_column(ws, 2, 3, 14, NULL);
    worksheet_write_string(ws, r++, 0, "合同版本", f->bold);
    for (lxw_col_t c = 0; c < 4; c++)
        worksheet_write_string(ws, r, c, ccols[c], f->head);
    for (size_t i = 0; i < b->n_contracts; i++) {
        const struct kf__render_contract *c = &b->contracts[i];
        r++;
        worksheet_write_string(ws, r, 0, c->id, NULL);
        worksheet_write_number(ws, r, 1, (double)c->version, NULL);
        worksheet_write_string(ws, r, 2, c->effective_from, NULL);
        worksheet_write_string(ws, r, 3, c->effective_to ? c->effective_to : "(无)", NULL);
    }
    r += 2;
    worksheet_write_string(ws, r++, 0, "输入摘要", f->bold);
    worksheet_write_string(ws, r, 0, "名称", f->head);
    worksheet_write_string(ws, r, 1, "摘要", f->head);
    for (size_t i = 0; i < b->n_inputs; i++) {
        r++;
        worksheet_write_string(ws, r, 0, b->inputs[i].name, NULL);
        worksheet_write_string(ws, r, 1, b->inputs[i].digest, NULL);
    }
    r += 2;
    worksheet_write_string(ws, r, 0,
                           "核对：用 kioskctl bill export 导出本账单及其依据，再用核对程序由原始"
                           "证据重算；结果须与本账单逐字节一致。",
                           NULL);
    worksheet_write_string(ws, r + 1, 0,
                           "To check: kioskctl bill export, then recompute with the checker from "
                           "the raw evidence; it must match byte for byte.",
                           NULL);
}

static void set_properties(lxw_workbook *wb, const struct kf__render_bill *b)
{
    char title[256], status[32], keywords[128], company[KF__RENDER_MAX_TEXT + 1];
    lxw_doc_properties p = {0};
    snprintf(title, sizeof title, "租赁及维护服务费账单 %s %s %s", b->bank_code, b->period,
             kf__render_number(b));
    snprintf(status, sizeof status, "%s", b->draft ? "草稿 DRAFT" : "已开具 issued");
    snprintf(keywords, sizeof keywords, "kioskfleet.bill/1, %s", status);
    snprintf(company, sizeof company, "%s", b->bank_name);
    p.title = title;
    p.subject = title;
    p.status = status;
    p.keywords = keywords;
    p.company = company;
    workbook_set_properties(wb, &p);
}

int kf_render_bill_xlsx(const char *bill_json, const char *path, char *err, size_t errn)
{
    struct kf__render_bill b;
    char tmp[4096];
    lxw_workbook *wb;
    struct formats f;
    int rc = kf__render_parse(bill_json, &b, err, errn);
    if (rc != 0)
        return rc;
    wb = kf__sheet_open(path, tmp, sizeof(tmp), "xlsx", &rc, err, errn);
    if (!wb) {
        goto out_close;
    }
    f = make_formats(wb);
    set_properties(wb, &b);
    sheet_lines(wb, &b, &f);
    sheet_totals(wb, &b, &f);
    sheet_basis(wb, &b, &f);
    rc = kf__sheet_commit(wb, tmp, path, "xlsx", err, errn);
out_close:
    kf__render_close(&b);
    return rc;
}
