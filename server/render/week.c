/* render/week.c: the weekly report's document parsed and checked once (render/week_int.h),
 * and written as CSV and XLSX (render/week.h). The bulletin is render/week_pdf.c. */
#include "render/week.h"
#include "render/render_int.h"
#include "render/sheet_int.h"
#include "render/week_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define DOC "kioskfleet.week/1"

/* ---- Views ------------------------------------------------------------------------------------
 */

#define COL(k, h, t, w)                                                                            \
    {                                                                                              \
        k, h, t, w                                                                                 \
    }
#define NCOLS(a) (sizeof(a) / sizeof(a[0]))

/* The figures of the activity, shared by every row with transactions. */
#define USAGE_COLS                                                                                 \
    COL("ok", "成功笔数", RW_INT, 9), COL("failed", "失败笔数", RW_INT, 9),                        \
        COL("abandoned", "放弃笔数", RW_INT, 9), COL("total", "合计笔数", RW_INT, 9),              \
        COL("ok_per_terminal_day_x100", "每台每服务日成功笔数", RW_X100, 12),                      \
        COL("ok_prev", "上周成功笔数", RW_INT, 11), COL("ok_change", "较上周增减", RW_INT, 10),    \
        COL("ok_change_pm", "较上周增减率", RW_PM, 11)
#define AVAIL_COLS                                                                                 \
    COL("availability_bp", "服务时段可用率", RW_BP, 12),                                           \
        COL("target_bp", "可用率目标", RW_BP, 10),                                                 \
        COL("availability_prev_bp", "上周可用率", RW_BP, 10),                                      \
        COL("availability_change_bp", "可用率变化(百分点)", RW_BPDIFF, 12),                        \
        COL("open_incidents", "周末未恢复故障", RW_INT, 12)
#define PLAN_COLS                                                                                  \
    COL("planned", "规划终端", RW_INT, 8), COL("commissioned", "在用终端", RW_INT, 8),             \
        COL("reporting", "上报终端", RW_INT, 8), COL("active", "有业务终端", RW_INT, 9)
#define SECONDS_COLS                                                                               \
    COL("planned_kiosks", "规划一体机", RW_INT, 9),                                                \
        COL("planned_itms", "规划智能柜员机", RW_INT, 12),                                         \
        COL("owed_s", "应服务时长(秒)", RW_INT, 13), COL("uptime_s", "可用时长(秒)", RW_INT, 13)

static const struct kf__rw_col rollup_cols[] = {
    COL("code", "代码", RW_TEXT, 8),
    COL("name", "名称", RW_TEXT, 16),
    COL("zones", "专区", RW_INT, 6),
    COL("zones_commissioned", "在用专区", RW_INT, 8),
    COL("zones_reporting", "上报专区", RW_INT, 8),
    COL("zones_active", "有业务专区", RW_INT, 9),
    PLAN_COLS,
    COL("terminal_days", "终端服务日", RW_INT, 9),
    USAGE_COLS,
    AVAIL_COLS,
    SECONDS_COLS,
};
static const struct kf__rw_col zone_cols[] = {
    COL("zone", "专区编号", RW_TEXT, 10),
    COL("name", "专区名称", RW_TEXT, 36),
    COL("branch", "网点", RW_TEXT, 14),
    COL("unit", "区县", RW_UNIT, 8),
    COL("bank", "银行", RW_BANK, 14),
    COL("status", "状态", RW_STATUS, 8),
    PLAN_COLS,
    COL("service_days", "服务天数", RW_INT, 8),
    COL("terminal_days", "终端服务日", RW_INT, 9),
    USAGE_COLS,
    AVAIL_COLS,
    SECONDS_COLS,
};
static const struct kf__rw_col family_cols[] = {
    COL("code", "类别代码", RW_TEXT, 8),
    COL("name", "类别名称", RW_TEXT, 12),
    COL("items", "事项数", RW_INT, 7),
    COL("zones_active", "有业务专区", RW_INT, 9),
    USAGE_COLS,
};
static const struct kf__rw_col item_cols[] = {
    COL("code", "事项代码", RW_TEXT, 9),
    COL("name", "事项名称", RW_TEXT, 30),
    COL("family", "类别", RW_FAMILY, 10),
    COL("zones_active", "有业务专区", RW_INT, 9),
    USAGE_COLS,
};
static const struct kf__rw_col inactive_cols[] = {
    COL("zone", "专区编号", RW_TEXT, 10),    COL("name", "专区名称", RW_TEXT, 36),
    COL("unit", "区县", RW_UNIT, 8),         COL("bank", "银行", RW_BANK, 14),
    COL("status", "状态", RW_STATUS, 8),     COL("commissioned", "在用终端", RW_INT, 8),
    COL("reporting", "上报终端", RW_INT, 8), COL("terminal_days", "终端服务日", RW_INT, 9),
};
static const struct kf__rw_col idle_cols[] = {
    COL("asset", "资产编号", RW_TEXT, 12),
    COL("zone", "专区编号", RW_TEXT, 10),
    COL("kind", "类型", RW_KIND, 10),
    COL("reporting", "本周上报", RW_BOOL, 8),
    COL("terminal_days", "终端服务日", RW_INT, 9),
};

const struct kf__rw_view kf__rw_views[KF__RW_IDLE + 1] = {
    {NULL, NULL, NULL, NULL, 0},
    {"unit", "区县", "units", rollup_cols, NCOLS(rollup_cols)},
    {"bank", "银行", "banks", rollup_cols, NCOLS(rollup_cols)},
    {"zone", "专区", "zones", zone_cols, NCOLS(zone_cols)},
    {"family", "服务类别", "families", family_cols, NCOLS(family_cols)},
    {"item", "服务事项", "items", item_cols, NCOLS(item_cols)},
    {"inactive", "无业务专区", "inactive_zones", inactive_cols, NCOLS(inactive_cols)},
    {"idle", "无业务终端", "idle_terminals", idle_cols, NCOLS(idle_cols)},
};
const struct kf__rw_col *const kf__rw_fleet_cols = rollup_cols + 2;
const size_t kf__rw_n_fleet_cols = NCOLS(rollup_cols) - 2;

int kf_render_week_view(const char *name)
{
    for (int v = KF_RENDER_WEEK_UNIT; name && v < KF_RENDER_WEEK_VIEWS_; v++) {
        if (strcmp(name, kf__rw_views[v].name) == 0) {
            return v;
        }
    }
    return -1;
}

/* ---- Parse ------------------------------------------------------------------------------------
 */

int64_t kf__rw_int(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : KF__RW_NULL;
}

const char *kf__rw_str(const json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));

    return s ? s : "";
}

static int check_row(const json_t *row, const struct kf__rw_col *cols, size_t n, const char *where,
                     size_t i, char *err, size_t errn)
{
    if (!json_is_object(row)) {
        return kf__render_fail(err, errn, -EINVAL, "week: %s[%zu]: not an object", where, i);
    }
    for (size_t c = 0; c < n; c++) {
        const json_t *v = json_object_get(row, cols[c].key);
        int ok;

        switch (cols[c].type) {
        case RW_BOOL:
            ok = json_is_boolean(v);
            break;
        case RW_INT:
        case RW_X100:
        case RW_BP:
        case RW_PM:
        case RW_BPDIFF:
            ok = json_is_integer(v) || json_is_null(v);
            break;
        default:
            ok = json_is_string(v) && strlen(json_string_value(v)) <= KF__RENDER_MAX_TEXT;
        }
        if (!ok) {
            return kf__render_fail(err, errn, -EINVAL, "week: %s[%zu].%s: missing or not a %s",
                                   where, i, cols[c].key,
                                   cols[c].type >= RW_INT ? "number" : "string");
        }
    }
    return 0;
}

static json_t *need(const json_t *o, const char *key, int array, char *err, size_t errn)
{
    json_t *v = json_object_get(o, key);

    if (array ? !json_is_array(v) : !json_is_string(v)) {
        kf__render_fail(err, errn, -EINVAL, "week: \"%s\": missing or not %s", key,
                        array ? "an array" : "a string");
        return NULL;
    }
    return v;
}

int kf__rw_parse(const char *json, struct kf__rw_doc *d, char *err, size_t errn)
{
    static const struct kf__rw_col rank_cols[] = {
        COL("zone", "", RW_TEXT, 0),         COL("name", "", RW_TEXT, 0),
        COL("bank", "", RW_TEXT, 0),         COL("ok", "", RW_INT, 0),
        COL("terminal_days", "", RW_INT, 0), COL("ok_per_terminal_day_x100", "", RW_X100, 0)};
    static const struct kf__rw_col day_cols[] = {
        COL("date", "", RW_TEXT, 0), COL("kind", "", RW_TEXT, 0), COL("name", "", RW_TEXT, 0)};
    json_error_t je;
    const char *k;
    json_t *v;
    int rc = -EINVAL;

    memset(d, 0, sizeof(*d));
    d->root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(d->root)) {
        kf__render_fail(err, errn, -EINVAL, "week: not a JSON object (line %d: %s)", je.line,
                        je.text);
        goto out_fail;
    }
    if (strcmp(kf__rw_str(d->root, "doc"), DOC) != 0) {
        kf__render_fail(err, errn, -EINVAL, "week: \"doc\" is not \"%s\"", DOC);
        goto out_fail;
    }
    if (!need(d->root, "week", 0, err, errn) || !need(d->root, "previous_week", 0, err, errn) ||
        !need(d->root, "from", 0, err, errn) || !need(d->root, "to", 0, err, errn) ||
        !need(d->root, "availability_as_of", 0, err, errn) ||
        !(d->days = need(d->root, "days", 1, err, errn)) ||
        !(d->busiest = need(d->root, "busiest", 1, err, errn)) ||
        !(d->quietest = need(d->root, "quietest", 1, err, errn))) {
        goto out_fail;
    }
    d->week = kf__rw_str(d->root, "week");
    d->prev_week = kf__rw_str(d->root, "previous_week");
    d->from = kf__rw_str(d->root, "from");
    d->to = kf__rw_str(d->root, "to");
    d->as_of = kf__rw_str(d->root, "availability_as_of");
    if (!json_is_boolean(json_object_get(d->root, "draft")) ||
        !json_is_integer(json_object_get(d->root, "uncounted"))) {
        kf__render_fail(err, errn, -EINVAL, "week: \"draft\" or \"uncounted\" missing");
        goto out_fail;
    }
    d->draft = json_is_true(json_object_get(d->root, "draft"));
    d->uncounted = kf__rw_int(d->root, "uncounted");
    d->inputs = json_object_get(d->root, "inputs");
    if (!json_is_object(d->inputs)) {
        kf__render_fail(err, errn, -EINVAL, "week: \"inputs\" missing");
        goto out_fail;
    }
    json_object_foreach(d->inputs, k, v)
    {
        if (!json_is_string(v)) {
            kf__render_fail(err, errn, -EINVAL, "week: inputs.%s: not a string", k);
            goto out_fail;
        }
    }
    d->fleet = json_object_get(d->root, "fleet");
    if ((rc = check_row(d->fleet, kf__rw_fleet_cols, kf__rw_n_fleet_cols, "fleet", 0, err, errn)) <
        0) {
        goto out_fail;
    }
    rc = -EINVAL;
    if (json_array_size(d->days) != 7) {
        kf__render_fail(err, errn, -EINVAL, "week: \"days\": not 7 days");
        goto out_fail;
    }
    for (int i = KF_RENDER_WEEK_UNIT; i <= KF__RW_IDLE; i++) {
        const struct kf__rw_view *vw = &kf__rw_views[i];
        size_t j;
        json_t *row;

        if (!(d->arrays[i] = need(d->root, vw->array, 1, err, errn))) {
            goto out_fail;
        }
        json_array_foreach(d->arrays[i], j, row)
        {
            if ((rc = check_row(row, vw->cols, vw->ncols, vw->array, j, err, errn)) < 0) {
                goto out_fail;
            }
        }
    }
    for (int a = 0; a < 3; a++) {
        json_t *arr = a == 0 ? d->busiest : a == 1 ? d->quietest : d->days;
        size_t j;
        json_t *row;

        json_array_foreach(arr, j, row)
        {
            if ((rc = check_row(row, a < 2 ? rank_cols : day_cols, a < 2 ? 6 : 3,
                                a == 0   ? "busiest"
                                : a == 1 ? "quietest"
                                         : "days",
                                j, err, errn)) < 0) {
                goto out_fail;
            }
        }
    }
    return 0;
out_fail:
    json_decref(d->root);
    memset(d, 0, sizeof(*d));
    return rc;
}

void kf__rw_close(struct kf__rw_doc *d)
{
    json_decref(d->root);
    memset(d, 0, sizeof(*d));
}

/* ---- Figures as text ----------------------------------------------------------------------------
 */

char *kf__rw_bp(int64_t bp, char *buf, size_t cap)
{
    return kf__sheet_fixed(bp, 100, 2, 0, "%", buf, cap);
}

char *kf__rw_pm(int64_t pm, char *buf, size_t cap)
{
    return kf__sheet_fixed(pm, 10, 1, 1, "%", buf, cap);
}

char *kf__rw_x100(int64_t v, char *buf, size_t cap)
{
    return kf__sheet_fixed(v, 100, 2, 0, "", buf, cap);
}

char *kf__rw_bpdiff(int64_t bp, char *buf, size_t cap)
{
    return kf__sheet_fixed(bp, 100, 2, 1, "", buf, cap);
}

const char *kf__rw_status(const char *status)
{
    static const char *const names[][2] = {{"active", "有业务"},
                                           {"no_transactions", "零交易"},
                                           {"not_reporting", "未上报"},
                                           {"no_terminals", "无终端"}};

    for (size_t i = 0; status && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(status, names[i][0]) == 0) {
            return names[i][1];
        }
    }
    return status ? status : "";
}

const char *kf__rw_name(const struct kf__rw_doc *d, int type, const char *code)
{
    int view = type == RW_UNIT   ? KF_RENDER_WEEK_UNIT
               : type == RW_BANK ? KF_RENDER_WEEK_BANK
                                 : KF_RENDER_WEEK_FAMILY;
    size_t i;
    json_t *row;

    json_array_foreach(d->arrays[view], i, row)
    {
        if (strcmp(kf__rw_str(row, "code"), code) == 0) {
            return kf__rw_str(row, "name");
        }
    }
    return code;
}

const char *kf__rw_text(const struct kf__rw_doc *d, const json_t *row, const struct kf__rw_col *c,
                        char *buf, size_t cap)
{
    int64_t v = kf__rw_int(row, c->key);

    switch (c->type) {
    case RW_UNIT:
    case RW_BANK:
    case RW_FAMILY:
        return kf__rw_name(d, c->type, kf__rw_str(row, c->key));
    case RW_STATUS:
        return kf__rw_status(kf__rw_str(row, c->key));
    case RW_KIND:
        return strcmp(kf__rw_str(row, c->key), "itm") == 0 ? "智能柜员机" : "一体机";
    case RW_BOOL:
        return json_is_true(json_object_get(row, c->key)) ? "是" : "否";
    case RW_INT:
        if (v == KF__RW_NULL) {
            buf[0] = '\0';
        } else {
            snprintf(buf, cap, "%lld", (long long)v);
        }
        return buf;
    case RW_X100:
        return kf__rw_x100(v, buf, cap);
    case RW_BP:
        return kf__rw_bp(v, buf, cap);
    case RW_PM:
        return kf__rw_pm(v, buf, cap);
    case RW_BPDIFF:
        return kf__rw_bpdiff(v, buf, cap);
    default:
        return kf__rw_str(row, c->key);
    }
}

char *kf__rw_title_week(const struct kf__rw_doc *d, char *buf, size_t cap)
{
    int y = 0, w = 0, m0 = 0, d0 = 0, m1 = 0, d1 = 0;

    sscanf(d->week, "%4d-W%2d", &y, &w);
    sscanf(d->from, "%*4d-%2d-%2d", &m0, &d0);
    sscanf(d->to, "%*4d-%2d-%2d", &m1, &d1);
    snprintf(buf, cap, "%d年第%d周（%d月%d日—%d月%d日）", y, w, m0, d0, m1, d1);
    return buf;
}

/* ---- CSV ----------------------------------------------------------------------------------------
 */

static void csv_view(FILE *out, const struct kf__rw_doc *d, int view, int titled)
{
    const struct kf__rw_view *vw = &kf__rw_views[view];
    const char *f[64];
    char buf[64][32];
    size_t i;
    json_t *row;

    if (titled) {
        f[0] = vw->sheet;
        kf__sheet_csv_row(out, f, 1);
    }
    for (size_t c = 0; c < vw->ncols; c++) {
        f[c] = vw->cols[c].head;
    }
    kf__sheet_csv_row(out, f, vw->ncols);
    json_array_foreach(d->arrays[view], i, row)
    {
        for (size_t c = 0; c < vw->ncols; c++) {
            f[c] = kf__rw_text(d, row, &vw->cols[c], buf[c], sizeof(buf[c]));
        }
        kf__sheet_csv_row(out, f, vw->ncols);
    }
    if (view == KF_RENDER_WEEK_UNIT || view == KF_RENDER_WEEK_BANK) {
        for (size_t c = 0; c < vw->ncols; c++) {
            f[c] = c == 0   ? "all"
                   : c == 1 ? "全市合计"
                            : kf__rw_text(d, d->fleet, &vw->cols[c], buf[c], sizeof(buf[c]));
        }
        kf__sheet_csv_row(out, f, vw->ncols);
    }
}

int kf_render_week_csv(const char *json, int view, FILE *out, char *err, size_t errn)
{
    struct kf__rw_doc d;
    int rc;

    if (view < 0 || view >= KF_RENDER_WEEK_VIEWS_) {
        return kf__render_fail(err, errn, -EINVAL, "week: no view %d", view);
    }
    if ((rc = kf__rw_parse(json, &d, err, errn)) < 0) {
        return rc;
    }
    fputs("\xEF\xBB\xBF", out);
    if (view != KF_RENDER_WEEK_ALL) {
        csv_view(out, &d, view, 0);
    } else {
        const char *f[2];
        char title[128];

        f[0] = "政银通办服务专区运行周报";
        f[1] = kf__rw_title_week(&d, title, sizeof(title));
        kf__sheet_csv_row(out, f, 2);
        f[0] = "周次";
        f[1] = d.week;
        kf__sheet_csv_row(out, f, 2);
        f[0] = "状态";
        f[1] = d.draft ? "草稿 DRAFT（本周尚未结束统计）" : "已结束统计";
        kf__sheet_csv_row(out, f, 2);
        for (int v = KF_RENDER_WEEK_UNIT; v <= KF__RW_IDLE; v++) {
            fputs("\r\n", out);
            csv_view(out, &d, v, 1);
        }
    }
    if (fflush(out) != 0 || ferror(out)) {
        rc = kf__render_fail(err, errn, -EIO, "week: csv: write failed: %s", strerror(errno));
    }
    kf__rw_close(&d);
    return rc;
}

/* ---- XLSX ---------------------------------------------------------------------------------------
 */

struct fmts {
    lxw_format *title, *draft, *head, *x100, *bp, *pm, *pts, *bold, *label;
};

static struct fmts make_fmts(lxw_workbook *wb)
{
    struct fmts f;

    f.title = workbook_add_format(wb);
    format_set_bold(f.title);
    format_set_font_size(f.title, 14);
    f.draft = workbook_add_format(wb);
    format_set_bold(f.draft);
    format_set_font_size(f.draft, 14);
    format_set_font_color(f.draft, LXW_COLOR_RED);
    f.head = workbook_add_format(wb);
    format_set_bold(f.head);
    format_set_bg_color(f.head, 0xD9E1F2);
    format_set_border(f.head, LXW_BORDER_THIN);
    format_set_align(f.head, LXW_ALIGN_CENTER);
    format_set_text_wrap(f.head);
    f.x100 = workbook_add_format(wb);
    format_set_num_format(f.x100, "0.00");
    f.bp = workbook_add_format(wb);
    format_set_num_format(f.bp, "0.00%");
    f.pm = workbook_add_format(wb);
    format_set_num_format(f.pm, "+0.0%;-0.0%;0.0%");
    f.pts = workbook_add_format(wb);
    format_set_num_format(f.pts, "+0.00;-0.00;0.00");
    f.bold = workbook_add_format(wb);
    format_set_bold(f.bold);
    f.label = workbook_add_format(wb);
    format_set_bold(f.label);
    format_set_align(f.label, LXW_ALIGN_RIGHT);
    return f;
}

/* The first row of every sheet names the report; a draft says so on the sheet and the page. */
static void sheet_title(lxw_worksheet *ws, const struct kf__rw_doc *d, const char *sheet,
                        const struct fmts *f)
{
    char t[256], w[96];

    snprintf(t, sizeof(t), "政银通办服务专区运行周报 %s %s%s", kf__rw_title_week(d, w, sizeof(w)),
             sheet, d->draft ? " — 草稿 DRAFT" : "");
    kf__sheet_title(ws, t, d->draft ? f->draft : f->title, "政银通办服务专区运行周报", d->draft);
}

/* A cell as a number where it is one (rates as fractions under a percentage format). */
static void put_cell(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const struct kf__rw_doc *d,
                     const json_t *row, const struct kf__rw_col *col, const struct fmts *f)
{
    int64_t v = kf__rw_int(row, col->key);
    char buf[32];

    switch (col->type) {
    case RW_INT:
    case RW_X100:
    case RW_BP:
    case RW_PM:
    case RW_BPDIFF:
        if (v == KF__RW_NULL) {
            return; /* n/a: an empty cell, not a zero */
        }
        if (col->type == RW_INT) {
            worksheet_write_number(ws, r, c, (double)v, NULL);
        } else if (col->type == RW_X100) {
            worksheet_write_number(ws, r, c, (double)v / 100.0, f->x100);
        } else if (col->type == RW_BP) {
            worksheet_write_number(ws, r, c, (double)v / 10000.0, f->bp);
        } else if (col->type == RW_PM) {
            worksheet_write_number(ws, r, c, (double)v / 1000.0, f->pm);
        } else {
            worksheet_write_number(ws, r, c, (double)v / 100.0, f->pts);
        }
        return;
    default:
        worksheet_write_string(ws, r, c, kf__rw_text(d, row, col, buf, sizeof(buf)), NULL);
    }
}

#define HEAD_ROW 2 /* the header row of a view's sheet; rows follow it */

static void sheet_view(lxw_workbook *wb, const struct kf__rw_doc *d, int view, const struct fmts *f)
{
    const struct kf__rw_view *vw = &kf__rw_views[view];
    lxw_worksheet *ws = workbook_add_worksheet(wb, vw->sheet);
    size_t n = json_array_size(d->arrays[view]), i;
    json_t *row;

    sheet_title(ws, d, vw->sheet, f);
    for (size_t c = 0; c < vw->ncols; c++) {
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, vw->cols[c].width, NULL);
        worksheet_write_string(ws, HEAD_ROW, (lxw_col_t)c, vw->cols[c].head, f->head);
    }
    worksheet_set_row(ws, HEAD_ROW, 30, NULL);
    json_array_foreach(d->arrays[view], i, row)
    {
        for (size_t c = 0; c < vw->ncols; c++) {
            put_cell(ws, (lxw_row_t)(HEAD_ROW + 1 + i), (lxw_col_t)c, d, row, &vw->cols[c], f);
        }
    }
    /* The city's total under a unit's or a bank's rows, outside the filtered range. */
    if (view == KF_RENDER_WEEK_UNIT || view == KF_RENDER_WEEK_BANK) {
        lxw_row_t r = (lxw_row_t)(HEAD_ROW + 2 + n);
        worksheet_write_string(ws, r, 0, "all", f->bold);
        worksheet_write_string(ws, r, 1, "全市合计", f->bold);
        for (size_t c = 2; c < vw->ncols; c++) {
            put_cell(ws, r, (lxw_col_t)c, d, d->fleet, &vw->cols[c], f);
        }
    }
    worksheet_freeze_panes(ws, HEAD_ROW + 1, view == KF_RENDER_WEEK_ZONE ? 2 : 1);
    worksheet_autofilter(ws, HEAD_ROW, 0, (lxw_row_t)(HEAD_ROW + n), (lxw_col_t)(vw->ncols - 1));
    worksheet_repeat_rows(ws, HEAD_ROW, HEAD_ROW);
    worksheet_set_landscape(ws);
    worksheet_fit_to_pages(ws, 1, 0);
}

static void pair(lxw_worksheet *ws, lxw_row_t r, const char *label, const char *value,
                 const struct fmts *f)
{
    worksheet_write_string(ws, r, 0, label, f->label);
    worksheet_write_string(ws, r, 1, value, NULL);
}

static void sheet_summary(lxw_workbook *wb, const struct kf__rw_doc *d, const struct fmts *f)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "概要");
    char w[96];
    lxw_row_t r = 2;
    const char *k;
    json_t *v, *row;
    size_t i;

    sheet_title(ws, d, "概要", f);
    worksheet_set_column(ws, 0, 0, 22, NULL);
    worksheet_set_column(ws, 1, 1, 40, NULL);
    worksheet_set_column(ws, 2, 6, 14, NULL);
    pair(ws, r++, "周次", d->week, f);
    pair(ws, r++, "统计期", kf__rw_title_week(d, w, sizeof(w)), f);
    pair(ws, r++, "状态", d->draft ? "草稿 DRAFT（本周尚未结束统计）" : "已结束统计", f);
    pair(ws, r++, "上周", d->prev_week, f);
    pair(ws, r++, "可用率统计截至(UTC)", d->as_of, f);
    r++;
    worksheet_write_string(ws, r++, 0, "全市合计", f->bold);
    for (size_t c = 0; c < kf__rw_n_fleet_cols; c++, r++) {
        worksheet_write_string(ws, r, 0, kf__rw_fleet_cols[c].head, f->label);
        put_cell(ws, r, 1, d, d->fleet, &kf__rw_fleet_cols[c], f);
    }
    worksheet_write_string(ws, r, 0, "未计入笔数(未知专区或事项)", f->label);
    worksheet_write_number(ws, r++, 1, (double)d->uncounted, NULL);
    r++;
    worksheet_write_string(ws, r++, 0, "本周日历", f->bold);
    json_array_foreach(d->days, i, row)
    {
        const char *kind = kf__rw_str(row, "kind");
        worksheet_write_string(ws, r, 0, kf__rw_str(row, "date"), f->label);
        worksheet_write_string(ws, r, 1,
                               strcmp(kind, "holiday") == 0  ? "法定节假日"
                               : strcmp(kind, "makeup") == 0 ? "调休工作日"
                                                             : "",
                               NULL);
        worksheet_write_string(ws, r++, 2, kf__rw_str(row, "name"), NULL);
    }
    for (int a = 0; a < 2; a++) {
        static const char *const heads[] = {"名次",     "专区",       "专区名称",
                                            "成功笔数", "终端服务日", "每台每服务日成功笔数"};
        r++;
        worksheet_write_string(ws, r++, 0, a == 0 ? "最活跃专区" : "最不活跃专区", f->bold);
        for (lxw_col_t c = 0; c < 6; c++) {
            worksheet_write_string(ws, r, c, heads[c], f->head);
        }
        r++;
        json_array_foreach(a == 0 ? d->busiest : d->quietest, i, row)
        {
            worksheet_write_number(ws, r, 0, (double)(i + 1), NULL);
            worksheet_write_string(ws, r, 1, kf__rw_str(row, "zone"), NULL);
            worksheet_write_string(ws, r, 2, kf__rw_str(row, "name"), NULL);
            worksheet_write_number(ws, r, 3, (double)kf__rw_int(row, "ok"), NULL);
            worksheet_write_number(ws, r, 4, (double)kf__rw_int(row, "terminal_days"), NULL);
            worksheet_write_number(
                ws, r++, 5, (double)kf__rw_int(row, "ok_per_terminal_day_x100") / 100.0, f->x100);
        }
    }
    r++;
    worksheet_write_string(ws, r++, 0, "输入摘要 (BLAKE2b-256)", f->bold);
    json_object_foreach(d->inputs, k, v)
    {
        worksheet_write_string(ws, r, 0, k, f->label);
        worksheet_write_string(ws, r++, 1, json_string_value(v), NULL);
    }
}

int kf_render_week_xlsx(const char *json, const char *path, char *err, size_t errn)
{
    struct kf__rw_doc d;
    lxw_doc_properties p = {0};
    char tmp[4096], title[160];
    lxw_workbook *wb;
    struct fmts f;
    int rc = kf__rw_parse(json, &d, err, errn);

    if (rc != 0) {
        return rc;
    }
    wb = kf__sheet_open(path, tmp, sizeof(tmp), "week: xlsx", &rc, err, errn);
    if (!wb) {
        goto out_close;
    }
    f = make_fmts(wb);
    snprintf(title, sizeof(title), "政银通办服务专区运行周报 %s%s", d.week,
             d.draft ? " 草稿 DRAFT" : "");
    p.title = title;
    p.subject = title;
    p.keywords = (char *)(d.draft ? DOC ", DRAFT" : DOC);
    workbook_set_properties(wb, &p);
    sheet_summary(wb, &d, &f);
    for (int v = KF_RENDER_WEEK_UNIT; v <= KF__RW_IDLE; v++) {
        sheet_view(wb, &d, v, &f);
    }
    rc = kf__sheet_commit(wb, tmp, path, "week: xlsx", err, errn);
out_close:
    kf__rw_close(&d);
    return rc;
}
