/* render/assess_xlsx.c: the half-year assessment as an Excel workbook (libxlsxwriter), one
 * sheet per view (render/assess.h): numbers are cells holding numbers, so that the bureau can
 * sort, filter and sum them; a double holds every figure of the document exactly (integers
 * below 2^53, checked when parsed), and the JSON and the CSV keep the exact text. */
#include "render/assess.h"
#include "render/assess_int.h"
#include "render/render_int.h"
#include "render/sheet_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define DOC "kioskfleet.assessment/1"
#define NAME "政银通办服务专区半年考核"
#define HEAD_ROW 2    /* the header row of a view's sheet; rows follow it */
#define RUBRIC_HEAD 8 /* the criteria's header row on 考核细则 */

struct fmts {
    lxw_format *title, *draft, *note, *head, *label, *bold;
    /* A cell by what it holds (enum kf__ra_type), in a failed zone's row, below its pass mark. */
    lxw_format *cell[4][2][2];
};

static struct fmts make_fmts(lxw_workbook *wb)
{
    static const char *const num[4] = {NULL, NULL, "0.00", "0.00%"};
    struct fmts f;

    f.title = workbook_add_format(wb);
    format_set_bold(f.title);
    format_set_font_size(f.title, 14);
    f.draft = workbook_add_format(wb);
    format_set_bold(f.draft);
    format_set_font_size(f.draft, 14);
    format_set_font_color(f.draft, LXW_COLOR_RED);
    f.note = workbook_add_format(wb);
    format_set_font_color(f.note, LXW_COLOR_GRAY);
    f.head = workbook_add_format(wb);
    format_set_bold(f.head);
    format_set_bg_color(f.head, 0xD9E1F2);
    format_set_border(f.head, LXW_BORDER_THIN);
    format_set_align(f.head, LXW_ALIGN_CENTER);
    format_set_text_wrap(f.head);
    f.label = workbook_add_format(wb);
    format_set_bold(f.label);
    format_set_align(f.label, LXW_ALIGN_RIGHT);
    f.bold = workbook_add_format(wb);
    format_set_bold(f.bold);
    for (int t = 0; t < 4; t++) {
        for (int fail = 0; fail < 2; fail++) {
            for (int miss = 0; miss < 2; miss++) {
                lxw_format *x = workbook_add_format(wb);

                if (num[t]) {
                    format_set_num_format(x, num[t]);
                }
                if (fail) {
                    format_set_bg_color(x, 0xFFC7CE); /* Excel's own "bad" fill */
                }
                if (miss) {
                    format_set_font_color(x, 0x9C0006);
                    format_set_bold(x);
                }
                f.cell[t][fail][miss] = x;
            }
        }
    }
    return f;
}

/* The first row of every sheet names the document; a draft says so on the sheet and the page. */
static void sheet_title(lxw_worksheet *ws, const struct kf__ra_doc *d, const char *sheet,
                        const struct fmts *f)
{
    char t[256], half[64];

    snprintf(t, sizeof(t), NAME " %s %s%s", kf__ra_half(d, half, sizeof(half)), sheet,
             d->draft ? " — 草稿 DRAFT" : "");
    kf__sheet_title(ws, t, d->draft ? f->draft : f->title, NAME, d->draft);
}

/* A number in the unit of its type; n/a an empty cell (filled when the row is), not a zero. */
static void put_num(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int type, int64_t v,
                    lxw_format *fmt)
{
    if (v == KF__RA_NA) {
        worksheet_write_blank(ws, r, c, fmt);
    } else if (type == RA_X100) {
        worksheet_write_number(ws, r, c, (double)v / 100.0, fmt);
    } else if (type == RA_BP) {
        worksheet_write_number(ws, r, c, (double)v / 10000.0, fmt);
    } else {
        worksheet_write_number(ws, r, c, (double)v, fmt);
    }
}

static void put_cell(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const struct kf__ra_cell *cell,
                     int failed, const struct fmts *f)
{
    lxw_format *fmt = f->cell[cell->type][failed != 0][cell->miss != 0];

    if (cell->type != RA_TEXT) {
        put_num(ws, r, c, cell->type, cell->v, fmt);
    } else if (cell->text) {
        worksheet_write_string(ws, r, c, cell->text, fmt);
    } else {
        worksheet_write_blank(ws, r, c, fmt);
    }
}

static void sheet_view(lxw_workbook *wb, const struct kf__ra_doc *d, int view, const struct fmts *f)
{
    const char *sheet = kf__ra_sheet(view);
    lxw_worksheet *ws = workbook_add_worksheet(wb, sheet);
    struct kf__ra_col cols[KF__RA_MAX_COLS];
    struct kf__ra_cell cells[KF__RA_MAX_COLS];
    char buf[KF__RA_MAX_COLS][16];
    size_t nc = kf__ra_cols(d, view, cols), nr = kf__ra_nrows(d, view);

    sheet_title(ws, d, sheet, f);
    if (view == KF_RENDER_ASSESS_ZONES) {
        worksheet_write_string(ws, 1, 0,
                               "不合格专区整行标红；考核项未达达标线的数值以红字显示。总分与得分"
                               "为分（两位小数），占比为百分数，活跃度为每台每服务日成功笔数。",
                               f->note);
    } else if (view == KF_RENDER_ASSESS_BANKS) {
        worksheet_write_string(ws, 1, 0,
                               "排名依次按合格率、平均分、设备可用率、活跃度，高者在前；四项均同"
                               "者并列。",
                               f->note);
    }
    for (size_t c = 0; c < nc; c++) {
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, cols[c].width, NULL);
        worksheet_write_string(ws, HEAD_ROW, (lxw_col_t)c, cols[c].head, f->head);
    }
    worksheet_set_row(ws, HEAD_ROW, 30, NULL);
    for (size_t i = 0; i < nr; i++) {
        int failed = kf__ra_row_failed(d, view, i);

        kf__ra_row(d, view, i, cells, buf);
        for (size_t c = 0; c < nc; c++) {
            put_cell(ws, (lxw_row_t)(HEAD_ROW + 1 + i), (lxw_col_t)c, &cells[c], failed, f);
        }
    }
    worksheet_freeze_panes(ws, HEAD_ROW + 1, view == KF_RENDER_ASSESS_BANKS ? 2 : 1);
    worksheet_autofilter(ws, HEAD_ROW, 0, (lxw_row_t)(HEAD_ROW + nr), (lxw_col_t)(nc - 1));
    worksheet_repeat_rows(ws, HEAD_ROW, HEAD_ROW);
    worksheet_set_landscape(ws);
    worksheet_fit_to_pages(ws, 1, 0);
}

static void pair(lxw_worksheet *ws, lxw_row_t r, const char *label, const char *value,
                 const struct fmts *f)
{
    worksheet_write_string(ws, r, 0, label, f->label);
    worksheet_write_string(ws, r, 1, value ? value : "", NULL);
}

static void pair_num(lxw_worksheet *ws, lxw_row_t r, const char *label, int64_t v,
                     const struct fmts *f)
{
    worksheet_write_string(ws, r, 0, label, f->label);
    worksheet_write_number(ws, r, 1, (double)v, NULL);
}

/* 考核细则: the rubric the document was scored with, readable without its file. */
static void sheet_rubric(lxw_workbook *wb, const struct kf__ra_doc *d, const struct fmts *f)
{
    static const char *const heads[] = {"考核项", "名称",   "单位",   "权重(分)",
                                        "零分线", "满分线", "达标线", "必达项"};
    static const double widths[] = {16, 16, 10, 9, 10, 10, 10, 8};
    lxw_worksheet *ws = workbook_add_worksheet(wb, "考核细则");
    lxw_row_t r = RUBRIC_HEAD + 1;

    sheet_title(ws, d, "考核细则", f);
    pair(ws, 2, "细则编号", d->rubric_id, f);
    pair_num(ws, 3, "版本", d->rubric_version, f);
    pair_num(ws, 4, "满分(分)", d->total, f);
    pair_num(ws, 5, "合格分(分)", d->pass_score, f);
    pair_num(ws, 6, "最少服务天数", d->min_service_days, f);
    for (lxw_col_t c = 0; c < 8; c++) {
        worksheet_set_column(ws, c, c, widths[c], NULL);
        worksheet_write_string(ws, RUBRIC_HEAD, c, heads[c], f->head);
    }
    for (size_t i = 0; i < d->n_rules; i++, r++) {
        const struct kf__ra_rule *u = &d->rules[i];
        lxw_format *fmt = f->cell[u->m->type][0][0];

        worksheet_write_string(ws, r, 0, u->m->name, NULL);
        worksheet_write_string(ws, r, 1, u->m->label, NULL);
        worksheet_write_string(ws, r, 2, u->m->unit, NULL);
        worksheet_write_number(ws, r, 3, (double)u->weight, NULL);
        put_num(ws, r, 4, u->m->type, u->floor, fmt);
        put_num(ws, r, 5, u->m->type, u->full, fmt);
        put_num(ws, r, 6, u->m->type, u->pass_mark, fmt);
        worksheet_write_string(ws, r, 7, u->must_pass ? "是" : "否", NULL);
    }
    worksheet_write_string(ws, r + 1, 0,
                           "零分线及以下得 0 分，满分线及以上得满分，其间按比例；数值达到达标线为"
                           "达标。响应时长越短越好。必达项未达标者不合格。",
                           f->note);
    worksheet_freeze_panes(ws, RUBRIC_HEAD + 1, 0);
    worksheet_autofilter(ws, RUBRIC_HEAD, 0, (lxw_row_t)(RUBRIC_HEAD + d->n_rules), 7);
}

/* 依据: which document this is and what it was computed from. */
static void sheet_basis(lxw_workbook *wb, const struct kf__ra_doc *d, const struct fmts *f)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "依据");
    char half[64], period[96], days[64], at[32], rubric[KF__RENDER_MAX_TEXT + 32];
    lxw_row_t r = 2;
    const char *k;
    json_t *v;

    sheet_title(ws, d, "依据", f);
    worksheet_set_column(ws, 0, 0, 22, NULL);
    worksheet_set_column(ws, 1, 1, 72, NULL);
    snprintf(period, sizeof(period), "%s（%s）", d->period, kf__ra_half(d, half, sizeof(half)));
    pair(ws, r++, "考核期", period, f);
    pair(ws, r++, "考核期间", kf__ra_days(d, days, sizeof(days)), f);
    pair(ws, r++, "状态", kf__ra_status(d), f);
    pair(ws, r++, "发布时间(北京时间)",
         d->draft ? "未发布" : kf__ra_local_time(d->issued_at_ms, at, sizeof(at)), f);
    pair_num(ws, r++, "版本", d->version, f);
    if (d->version > 1) {
        pair(ws, r++, "取代版本摘要", d->supersedes, f);
        pair(ws, r++, "更正原因", d->reason, f);
    }
    snprintf(rubric, sizeof(rubric), "%s v%lld", d->rubric_id, (long long)d->rubric_version);
    pair(ws, r++, "考核细则", rubric, f);
    pair(ws, r++, "文档格式", DOC, f);
    r++;
    worksheet_write_string(ws, r, 0, "输入", f->head);
    worksheet_write_string(ws, r++, 1, "摘要", f->head);
    json_object_foreach(d->inputs, k, v)
    {
        worksheet_write_string(ws, r, 0, k, f->label);
        worksheet_write_string(ws, r++, 1, json_string_value(v), NULL);
    }
}

int kf_render_assess_xlsx(const char *json, const char *path, char *err, size_t errn)
{
    struct kf__ra_doc d;
    lxw_doc_properties p = {0};
    char tmp[4096], title[160];
    lxw_workbook *wb;
    struct fmts f;
    int rc = kf__ra_parse(json, &d, err, errn);

    if (rc != 0) {
        return rc;
    }
    wb = kf__sheet_open(path, tmp, sizeof(tmp), "assessment: xlsx", &rc, err, errn);
    if (!wb) {
        goto out_close;
    }
    f = make_fmts(wb);
    snprintf(title, sizeof(title), NAME " %s%s", d.period, d.draft ? " 草稿 DRAFT" : "");
    p.title = title;
    p.subject = title;
    p.keywords = (char *)(d.draft ? DOC ", DRAFT" : DOC);
    p.status = (char *)(d.draft ? "草稿 DRAFT" : "已发布");
    workbook_set_properties(wb, &p);
    for (int v = KF_RENDER_ASSESS_ZONES; v < KF_RENDER_ASSESS_VIEWS_; v++) {
        sheet_view(wb, &d, v, &f);
    }
    sheet_rubric(wb, &d, &f);
    sheet_basis(wb, &d, &f);
    rc = kf__sheet_commit(wb, tmp, path, "assessment: xlsx", err, errn);
out_close:
    kf__ra_close(&d);
    return rc;
}
