/* render/week_pdf.c: the weekly bulletin (通报) as a printable A4 PDF (libharu), from the
 * report's document (render/week.h). Chinese in the reader's SimSun and SimHei (libharu's CNS
 * fonts, GBK), ASCII in Helvetica, with the bill's document and text helpers
 * (render/pdf_text.h). Two charts are drawn with
 * libharu's paths: completed transactions per county-level unit, this week against the week
 * before, and availability per bank against its target. Every figure shown is the
 * document's integer, formatted (render/week_int.h); the charts' bar heights are the only
 * floating point, and they are drawn, not printed.
 */
#include "render/pdf_text.h"
#include "render/render_int.h"
#include "render/week.h"
#include "render/week_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_W 595.276f
#define PAGE_H 841.89f
#define LEFT 48.0f
#define RIGHT (PAGE_W - 48.0f)
#define BOTTOM 60.0f

struct pdf {
    struct kf__pdf t; /* the document, its fonts and the page drawn on */
    const struct kf__rw_doc *d;
    HPDF_Page pages[16];
    size_t n_pages;
    float y;
};

/* Text shrunk (down to 5.5 pt) to fit width w, drawn aligned in [x, x + w). */
static void fit(struct pdf *p, int bold, float size, float x, float w, float y,
                enum kf__pdf_align a, const char *s)
{
    float tw;

    while ((tw = kf__pdf_width(&p->t, bold, size, s)) > w && size > 5.5f) {
        size -= 0.5f;
    }
    kf__pdf_mixed(&p->t, bold, size,
                  a == KF__PDF_LEFT    ? x
                  : a == KF__PDF_RIGHT ? x + w - tw
                                       : x + (w - tw) / 2,
                  y, s, strlen(s), 1);
}

static void rect(struct pdf *p, float x, float y, float w, float h, float r, float g, float b)
{
    HPDF_Page_SetRGBFill(p->t.page, r, g, b);
    HPDF_Page_Rectangle(p->t.page, x, y, w, h);
    HPDF_Page_Fill(p->t.page);
    HPDF_Page_SetGrayFill(p->t.page, 0.0f);
}

/* ---- Pages ---------------------------------------------------------------------------------- */

static int new_page(struct pdf *p)
{
    char line[160], w[96];

    if (p->n_pages == sizeof(p->pages) / sizeof(p->pages[0])) {
        return -E2BIG;
    }
    p->t.page = HPDF_AddPage(p->t.doc);
    if (!p->t.page) {
        return -EIO;
    }
    p->pages[p->n_pages++] = p->t.page;
    HPDF_Page_SetSize(p->t.page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    if (p->d->draft) {
        kf__pdf_watermark(&p->t, PAGE_W, PAGE_H, 0.92f);
        HPDF_Page_SetGrayFill(p->t.page, 0.0f);
    }
    p->y = PAGE_H - 56.0f;
    if (p->n_pages > 1) {
        snprintf(line, sizeof(line), "政银通办服务专区运行周报 %s（续）",
                 kf__rw_title_week(p->d, w, sizeof(w)));
        kf__pdf_text(&p->t, 0, 9.0f, LEFT, p->y, KF__PDF_LEFT, line);
        kf__pdf_hline(&p->t, LEFT, RIGHT, p->y - 5.0f, 0.4f, 0.6f);
        p->y -= 24.0f;
    }
    return 0;
}

static int ensure(struct pdf *p, float h)
{
    return p->y - h < BOTTOM ? new_page(p) : 0;
}

/* A punctuation mark that must not begin a line. */
static int closing(const char *s)
{
    static const char *const marks[] = {"，", "。", "；", "、", "：", "）", "”", "？",
                                        "！", ")",  ",",  ".",  ";",  ":",  "%"};

    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        if (strncmp(s, marks[i], strlen(marks[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A paragraph over the width, broken between characters (Chinese) or at a space. */
static int para(struct pdf *p, float size, float indent, const char *s, float gray)
{
    float w = RIGHT - LEFT - indent;
    int rc;

    while (*s) {
        size_t n = 0, space = 0;
        float used = 0.0f;

        if ((rc = ensure(p, size + 4.0f)) != 0) {
            return rc;
        }
        while (s[n]) {
            size_t k = kf__pdf_u8len(s + n);
            float cw = kf__pdf_mixed(&p->t, 0, size, 0.0f, 0.0f, s + n, k, 0);
            if (used + cw > w && n > 0) {
                break;
            }
            used += cw;
            n += k;
            if (s[n - 1] == ' ') {
                space = n;
            }
        }
        if (s[n] && space > 0 && s[n] != ' ' && (unsigned char)s[n] < 0x80 &&
            (unsigned char)s[n - 1] < 0x80) {
            n = space;
        }
        /* No closing punctuation at the start of a line (避头): it stays with its line; no
         * opening bracket at its end (避尾): it goes with what it opens. */
        while (s[n] && closing(s + n)) {
            n += kf__pdf_u8len(s + n);
        }
        if (s[n] && n > 3 &&
            (strncmp(s + n - 3, "（", 3) == 0 || strncmp(s + n - 3, "“", 3) == 0)) {
            n -= 3;
        }
        HPDF_Page_SetGrayFill(p->t.page, gray);
        kf__pdf_mixed(&p->t, 0, size, LEFT + indent, p->y, s, n, 1);
        HPDF_Page_SetGrayFill(p->t.page, 0.0f);
        s += n;
        while (*s == ' ') {
            s++;
        }
        p->y -= size + 5.0f;
    }
    return 0;
}

static int heading(struct pdf *p, const char *s, float room)
{
    int rc = ensure(p, 24.0f + room);

    if (rc != 0) {
        return rc;
    }
    p->y -= 6.0f;
    rect(p, LEFT, p->y - 3.0f, 3.0f, 14.0f, 0.12f, 0.32f, 0.62f);
    kf__pdf_text(&p->t, 1, 12.0f, LEFT + 8.0f, p->y, KF__PDF_LEFT, s);
    p->y -= 20.0f;
    return 0;
}

/* ---- The summary ------------------------------------------------------------------------------
 */

/* "1,234" */
static char *grouped(int64_t v, char *buf, size_t cap)
{
    char digits[32];
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t nd = 0, n = 0;

    do {
        digits[nd++] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0 && n + 1 < cap) {
        buf[n++] = '-';
    }
    while (nd > 0 && n + 2 < cap) {
        buf[n++] = digits[--nd];
        if (nd > 0 && nd % 3 == 0) {
            buf[n++] = ',';
        }
    }
    buf[n] = '\0';
    return buf;
}

static int64_t fint(const struct kf__rw_doc *d, const char *key)
{
    return kf__rw_int(d->fleet, key);
}

/* "10月5日—10月7日 法定节假日（国庆节 National Day）；10月10日 调休工作日（…）": runs of days of
 * one kind and name as one range. */
static void calendar_line(const struct kf__rw_doc *d, char *out, size_t cap)
{
    size_t n = 0, count = json_array_size(d->days);
    int any = 0;

    n += (size_t)snprintf(out, cap, "本周日历：");
    for (size_t i = 0; i < count && n < cap; i++) {
        const json_t *row = json_array_get(d->days, i);
        const char *kind = kf__rw_str(row, "kind"), *name = kf__rw_str(row, "name");
        int m0 = 0, d0 = 0, m1 = 0, d1 = 0;
        size_t j = i;

        if (strcmp(kind, "normal") == 0) {
            continue;
        }
        while (j + 1 < count &&
               strcmp(kf__rw_str(json_array_get(d->days, j + 1), "kind"), kind) == 0 &&
               strcmp(kf__rw_str(json_array_get(d->days, j + 1), "name"), name) == 0) {
            j++;
        }
        sscanf(kf__rw_str(row, "date"), "%*4d-%2d-%2d", &m0, &d0);
        sscanf(kf__rw_str(json_array_get(d->days, j), "date"), "%*4d-%2d-%2d", &m1, &d1);
        n += (size_t)snprintf(out + n, cap - n, "%s%d月%d日", any ? "；" : "", m0, d0);
        if (j > i && n < cap) {
            n += (size_t)snprintf(out + n, cap - n, "—%d月%d日", m1, d1);
        }
        if (n < cap) {
            n += (size_t)snprintf(out + n, cap - n, " %s（%s）",
                                  strcmp(kind, "holiday") == 0 ? "法定节假日" : "调休工作日", name);
        }
        any = 1;
        i = j;
    }
    if (!any && n < cap) {
        snprintf(out + n, cap - n, "本周无法定节假日和调休工作日。");
    } else if (n < cap) {
        snprintf(out + n, cap - n,
                 "。服务日按各专区营业时间计算（节假日闭馆的专区不计，"
                 "24 小时自助银行照常计）。");
    }
}

static int summary(struct pdf *p)
{
    const struct kf__rw_doc *d = p->d;
    char s[1024], a[32], b[32], c[160], e[32], f[32], g[32], h[32];
    int64_t nt = 0, nr = 0, nz = 0, change = fint(d, "ok_change");
    size_t i;
    json_t *row;
    int rc;

    json_array_foreach(d->arrays[KF_RENDER_WEEK_INACTIVE], i, row)
    {
        const char *st = kf__rw_str(row, "status");
        nt += strcmp(st, "no_terminals") == 0;
        nr += strcmp(st, "not_reporting") == 0;
        nz += strcmp(st, "no_transactions") == 0;
    }
    snprintf(
        s, sizeof(s),
        "全市规划服务专区 %lld 个，本周在用 %lld 个，其中有业务 %lld 个、无业务 %lld 个（无终端 "
        "%lld 个、终端未上报 %lld 个、零交易 %lld 个）。规划终端 %lld 台，在用 %lld 台，本周上报 "
        "%lld 台、有业务 %lld 台。",
        (long long)fint(d, "zones"), (long long)fint(d, "zones_commissioned"),
        (long long)fint(d, "zones_active"), (long long)(fint(d, "zones") - fint(d, "zones_active")),
        (long long)nt, (long long)nr, (long long)nz, (long long)fint(d, "planned"),
        (long long)fint(d, "commissioned"), (long long)fint(d, "reporting"),
        (long long)fint(d, "active"));
    if ((rc = para(p, 10.0f, 0.0f, s, 0.0f)) != 0) {
        return rc;
    }
    if (fint(d, "ok_prev") > 0) {
        char prev[32];
        snprintf(c, sizeof(c), "成功笔数较上周（%s 笔）%s %s 笔（%s）",
                 grouped(fint(d, "ok_prev"), prev, sizeof(prev)), change < 0 ? "减少" : "增加",
                 grouped(change < 0 ? -change : change, e, sizeof(e)),
                 kf__rw_pm(fint(d, "ok_change_pm"), f, sizeof(f)));
    } else {
        snprintf(c, sizeof(c), "%s", "上周无成功办理，无可比基数");
    }
    snprintf(s, sizeof(s),
             "本周办理政务服务 %s 笔，其中成功 %s 笔、失败 %s 笔、放弃 %s 笔；%s；"
             "每台终端每服务日成功 %s 笔。",
             grouped(fint(d, "total"), a, sizeof(a)), grouped(fint(d, "ok"), b, sizeof(b)),
             grouped(fint(d, "failed"), g, sizeof(g)), grouped(fint(d, "abandoned"), h, sizeof(h)),
             c,
             fint(d, "ok_per_terminal_day_x100") == KF__RW_NULL
                 ? "—"
                 : kf__rw_x100(fint(d, "ok_per_terminal_day_x100"), e, sizeof(e)));
    if ((rc = para(p, 10.0f, 0.0f, s, 0.0f)) != 0) {
        return rc;
    }
    if (fint(d, "availability_bp") == KF__RW_NULL) {
        snprintf(s, sizeof(s),
                 "本周无应服务时长，服务时段可用率不适用。本周末仍有 %lld 起故障未恢复。",
                 (long long)fint(d, "open_incidents"));
    } else {
        char diff[64] = "";
        if (fint(d, "availability_change_bp") != KF__RW_NULL) {
            snprintf(diff, sizeof(diff), "，较上周 %s 个百分点",
                     kf__rw_bpdiff(fint(d, "availability_change_bp"), e, sizeof(e)));
        }
        snprintf(s, sizeof(s), "服务时段可用率 %s（目标 %s）%s。本周末仍有 %lld 起故障未恢复。",
                 kf__rw_bp(fint(d, "availability_bp"), a, sizeof(a)),
                 kf__rw_bp(fint(d, "target_bp"), b, sizeof(b)), diff,
                 (long long)fint(d, "open_incidents"));
    }
    if ((rc = para(p, 10.0f, 0.0f, s, 0.0f)) != 0) {
        return rc;
    }
    for (int k = 0; k < 2; k++) {
        json_t *list = k == 0 ? d->busiest : d->quietest;
        size_t n = (size_t)snprintf(s, sizeof(s), "%s", k == 0 ? "最活跃专区：" : "最不活跃专区：");

        json_array_foreach(list, i, row)
        {
            if (i >= 3 || n >= sizeof(s)) {
                break;
            }
            n += (size_t)snprintf(
                s + n, sizeof(s) - n, "%s%s（%s，每台每服务日成功 %s 笔）", i ? "；" : "",
                kf__rw_str(row, "name"), kf__rw_str(row, "zone"),
                kf__rw_x100(kf__rw_int(row, "ok_per_terminal_day_x100"), a, sizeof(a)));
        }
        if (json_array_size(list) == 0 && n < sizeof(s)) {
            n += (size_t)snprintf(s + n, sizeof(s) - n, "无（本周没有在服务的专区）");
        }
        if (n < sizeof(s)) {
            snprintf(s + n, sizeof(s) - n, "。");
        }
        if ((rc = para(p, 10.0f, 0.0f, s, 0.0f)) != 0) {
            return rc;
        }
    }
    if (d->uncounted > 0) {
        snprintf(s, sizeof(s), "另有 %lld 笔交易的服务事项或专区不在目录中，未计入上述数字。",
                 (long long)d->uncounted);
        return para(p, 9.0f, 0.0f, s, 0.35f);
    }
    return 0;
}

/* ---- Charts ------------------------------------------------------------------------------------
 */

/* A step of 1, 2 or 5 x 10^k so that max fits in at most 5 steps. */
static int64_t nice_step(int64_t max)
{
    int64_t step = 1;

    for (;;) {
        static const int64_t m[] = {1, 2, 5};
        for (int i = 0; i < 3; i++) {
            if (max <= 5 * step * m[i]) {
                return step * m[i];
            }
        }
        step *= 10;
    }
}

static void legend(struct pdf *p, float x, float y, float r, float g, float b, const char *label)
{
    rect(p, x, y - 1.0f, 9.0f, 8.0f, r, g, b);
    kf__pdf_text(&p->t, 0, 8.0f, x + 12.0f, y, KF__PDF_LEFT, label);
}

/* Completed transactions per unit, this week and the week before, side by side. */
static int chart_units(struct pdf *p)
{
    const struct kf__rw_doc *d = p->d;
    json_t *units = d->arrays[KF_RENDER_WEEK_UNIT], *row;
    const float h = 150.0f, x0 = LEFT + 44.0f, x1 = RIGHT - 4.0f;
    size_t n = json_array_size(units), i;
    int64_t max = 0, step, top;
    float y0, gw;
    char b[32];
    int rc;

    if ((rc = heading(p, "二、各区县成功办理笔数（本周与上周）", h + 40.0f)) != 0) {
        return rc;
    }
    json_array_foreach(units, i, row)
    {
        int64_t a = kf__rw_int(row, "ok"), c = kf__rw_int(row, "ok_prev");
        max = a > max ? a : max;
        max = c > max ? c : max;
    }
    step = nice_step(max > 0 ? max : 1);
    top = (max + step - 1) / step * step;
    top = top > 0 ? top : step;
    y0 = p->y - h;
    legend(p, RIGHT - 150.0f, p->y + 16.0f, 0.12f, 0.32f, 0.62f, "本周");
    legend(p, RIGHT - 90.0f, p->y + 16.0f, 0.72f, 0.76f, 0.82f, "上周");
    for (int64_t t = 0; t <= top; t += step) {
        float y = y0 + h * (float)t / (float)top;
        kf__pdf_hline(&p->t, x0, x1, y, t == 0 ? 0.8f : 0.3f, t == 0 ? 0.0f : 0.8f);
        kf__pdf_text(&p->t, 0, 7.5f, x0 - 4.0f, y - 2.5f, KF__PDF_RIGHT, grouped(t, b, sizeof(b)));
    }
    gw = n > 0 ? (x1 - x0) / (float)n : 0.0f;
    json_array_foreach(units, i, row)
    {
        int64_t a = kf__rw_int(row, "ok"), c = kf__rw_int(row, "ok_prev");
        float gx = x0 + gw * (float)i, bw = gw * 0.34f;
        float ha = h * (float)a / (float)top, hc = h * (float)c / (float)top;

        rect(p, gx + gw * 0.14f, y0, bw, ha, 0.12f, 0.32f, 0.62f);
        rect(p, gx + gw * 0.14f + bw, y0, bw, hc, 0.72f, 0.76f, 0.82f);
        fit(p, 0, 7.0f, gx, gw * 0.62f + 4.0f, y0 + ha + 3.0f, KF__PDF_CENTER,
            grouped(a, b, sizeof(b)));
        fit(p, 0, 8.0f, gx + 1.0f, gw - 2.0f, y0 - 12.0f, KF__PDF_CENTER, kf__rw_str(row, "name"));
    }
    p->y = y0 - 28.0f;
    return 0;
}

/* Availability per bank, each with its target marked; the axis starts where the figures do. */
static int chart_banks(struct pdf *p)
{
    const struct kf__rw_doc *d = p->d;
    json_t *banks = d->arrays[KF_RENDER_WEEK_BANK], *row;
    const float h = 130.0f, x0 = LEFT + 44.0f, x1 = RIGHT - 4.0f;
    size_t n = json_array_size(banks), i;
    int64_t lo = 10000, step;
    float y0, gw;
    char b[32];
    int rc;

    if ((rc = heading(p, "三、各银行服务时段可用率（红线为目标）", h + 40.0f)) != 0) {
        return rc;
    }
    json_array_foreach(banks, i, row)
    {
        int64_t a = kf__rw_int(row, "availability_bp"), t = kf__rw_int(row, "target_bp");
        if (a != KF__RW_NULL && a < lo) {
            lo = a;
        }
        if (t != KF__RW_NULL && t < lo) {
            lo = t;
        }
    }
    /* From a multiple of 5 % below the lowest figure, at most 50 points below 100 %. */
    lo = lo >= 10000 ? 9500 : (lo - 100) / 500 * 500;
    lo = lo < 0 ? 0 : lo;
    step = (10000 - lo) / 5;
    y0 = p->y - h;
    legend(p, RIGHT - 150.0f, p->y + 16.0f, 0.16f, 0.55f, 0.36f, "可用率");
    HPDF_Page_SetRGBStroke(p->t.page, 0.85f, 0.1f, 0.1f);
    HPDF_Page_SetLineWidth(p->t.page, 1.6f);
    HPDF_Page_MoveTo(p->t.page, RIGHT - 90.0f, p->y + 19.0f);
    HPDF_Page_LineTo(p->t.page, RIGHT - 80.0f, p->y + 19.0f);
    HPDF_Page_Stroke(p->t.page);
    kf__pdf_text(&p->t, 0, 8.0f, RIGHT - 77.0f, p->y + 16.0f, KF__PDF_LEFT, "目标");
    for (int64_t t = lo; t <= 10000; t += step) {
        float y = y0 + h * (float)(t - lo) / (float)(10000 - lo);
        kf__pdf_hline(&p->t, x0, x1, y, t == lo ? 0.8f : 0.3f, t == lo ? 0.0f : 0.8f);
        kf__pdf_text(&p->t, 0, 7.5f, x0 - 4.0f, y - 2.5f, KF__PDF_RIGHT,
                     kf__rw_bp(t, b, sizeof(b)));
    }
    gw = n > 0 ? (x1 - x0) / (float)n : 0.0f;
    json_array_foreach(banks, i, row)
    {
        int64_t a = kf__rw_int(row, "availability_bp"), t = kf__rw_int(row, "target_bp");
        float gx = x0 + gw * (float)i, bw = gw * 0.42f, bx = gx + (gw - bw) / 2;

        if (a == KF__RW_NULL) {
            fit(p, 0, 7.5f, gx, gw, y0 + 4.0f, KF__PDF_CENTER, "不适用");
        } else {
            float ha = h * (float)(a - lo) / (float)(10000 - lo);
            rect(p, bx, y0, bw, ha, 0.16f, 0.55f, 0.36f);
            fit(p, 0, 7.5f, gx, gw, y0 + ha + 3.0f, KF__PDF_CENTER, kf__rw_bp(a, b, sizeof(b)));
        }
        if (t != KF__RW_NULL) {
            float ht = h * (float)(t - lo) / (float)(10000 - lo);
            HPDF_Page_SetRGBStroke(p->t.page, 0.85f, 0.1f, 0.1f);
            HPDF_Page_SetLineWidth(p->t.page, 1.6f);
            HPDF_Page_MoveTo(p->t.page, bx - 6.0f, y0 + ht);
            HPDF_Page_LineTo(p->t.page, bx + bw + 6.0f, y0 + ht);
            HPDF_Page_Stroke(p->t.page);
        }
        fit(p, 0, 7.5f, gx + 1.0f, gw - 2.0f, y0 - 12.0f, KF__PDF_CENTER, kf__rw_str(row, "name"));
    }
    HPDF_Page_SetGrayStroke(p->t.page, 0.0f);
    p->y = y0 - 28.0f;
    return 0;
}

/* ---- The table per unit -------------------------------------------------------------------------
 */

struct tcol {
    const char *head, *key;
    uint8_t type;
    float w;
};

static const struct tcol tcols[] = {
    {"区县", "name", RW_TEXT, 52},
    {"专区规划", "zones", RW_INT, 40},
    {"在用", "zones_commissioned", RW_INT, 30},
    {"有业务", "zones_active", RW_INT, 34},
    {"终端规划", "planned", RW_INT, 40},
    {"在用", "commissioned", RW_INT, 30},
    {"上报", "reporting", RW_INT, 30},
    {"成功笔数", "ok", RW_INT, 46},
    {"较上周", "ok_change_pm", RW_PM, 40},
    {"每台每日", "ok_per_terminal_day_x100", RW_X100, 40},
    {"可用率", "availability_bp", RW_BP, 44},
    {"未恢复故障", "open_incidents", RW_INT, 46},
};
#define N_TCOLS (sizeof(tcols) / sizeof(tcols[0]))

static void table_row(struct pdf *p, const json_t *row, int bold, const char *name)
{
    float x = LEFT;
    char b[32];

    for (size_t c = 0; c < N_TCOLS; c++) {
        const struct kf__rw_col col = {tcols[c].key, tcols[c].head, tcols[c].type, 0};
        int64_t v = kf__rw_int(row, tcols[c].key);
        /* Counts grouped by thousands, as the charts show them. */
        const char *s = c == 0 && name ? name
                        : col.type == RW_INT && v != KF__RW_NULL
                            ? grouped(v, b, sizeof(b))
                            : kf__rw_text(p->d, row, &col, b, sizeof(b));

        fit(p, bold, 8.0f, x + 2.0f, tcols[c].w - 4.0f, p->y, c == 0 ? KF__PDF_LEFT : KF__PDF_RIGHT,
            s[0] ? s : "—");
        x += tcols[c].w;
    }
    p->y -= 13.0f;
}

static int table_units(struct pdf *p)
{
    json_t *units = p->d->arrays[KF_RENDER_WEEK_UNIT], *row;
    float x = LEFT;
    size_t i;
    int rc;

    if ((rc = heading(p, "四、分区县情况", 13.0f * (float)(json_array_size(units) + 3))) != 0) {
        return rc;
    }
    rect(p, LEFT, p->y - 4.0f, RIGHT - LEFT, 15.0f, 0.88f, 0.90f, 0.94f);
    for (size_t c = 0; c < N_TCOLS; c++) {
        fit(p, 1, 8.0f, x + 2.0f, tcols[c].w - 4.0f, p->y, c == 0 ? KF__PDF_LEFT : KF__PDF_RIGHT,
            tcols[c].head);
        x += tcols[c].w;
    }
    p->y -= 15.0f;
    json_array_foreach(units, i, row)
    {
        table_row(p, row, 0, NULL);
        kf__pdf_hline(&p->t, LEFT, RIGHT, p->y + 9.5f, 0.3f, 0.85f);
    }
    kf__pdf_hline(&p->t, LEFT, RIGHT, p->y + 9.5f, 0.8f, 0.0f);
    table_row(p, p->d->fleet, 1, "全市");
    p->y -= 6.0f;
    return 0;
}

/* The zones with no transaction, by reason: named, up to a limit (the XLSX lists them all). */
static int inactive_list(struct pdf *p)
{
    static const char *const reasons[] = {"no_terminals", "not_reporting", "no_transactions"};
    json_t *list = p->d->arrays[KF_RENDER_WEEK_INACTIVE], *row;
    char s[2048];
    int rc;

    if ((rc = heading(p, "五、无业务专区", 40.0f)) != 0) {
        return rc;
    }
    if (json_array_size(list) == 0) {
        return para(p, 10.0f, 0.0f, "本周全部专区均有业务。", 0.0f);
    }
    for (int k = 0; k < 3; k++) {
        size_t n = 0, shown = 0, total = 0, i;

        json_array_foreach(list, i, row)
        {
            total += strcmp(kf__rw_str(row, "status"), reasons[k]) == 0;
        }
        if (total == 0) {
            continue;
        }
        n = (size_t)snprintf(s, sizeof(s), "%s %zu 个：", kf__rw_status(reasons[k]), total);
        json_array_foreach(list, i, row)
        {
            if (strcmp(kf__rw_str(row, "status"), reasons[k]) != 0 || shown >= 12 ||
                n >= sizeof(s) - 64) {
                continue;
            }
            n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s（%s）", shown ? "、" : "",
                                  kf__rw_str(row, "zone"),
                                  kf__rw_name(p->d, RW_UNIT, kf__rw_str(row, "unit")));
            shown++;
        }
        if (shown < total && n < sizeof(s)) {
            snprintf(s + n, sizeof(s) - n, " 等，详见周报 XLSX“无业务专区”表。");
        } else if (n < sizeof(s)) {
            snprintf(s + n, sizeof(s) - n, "。");
        }
        if ((rc = para(p, 9.5f, 0.0f, s, 0.0f)) != 0) {
            return rc;
        }
    }
    return 0;
}

static void footers(struct pdf *p)
{
    char line[160];

    for (size_t i = 0; i < p->n_pages; i++) {
        p->t.page = p->pages[i];
        kf__pdf_hline(&p->t, LEFT, RIGHT, 44.0f, 0.3f, 0.6f);
        snprintf(line, sizeof(line), "第 %zu 页 共 %zu 页", i + 1, p->n_pages);
        kf__pdf_text(&p->t, 0, 8.5f, PAGE_W / 2, 31.0f, KF__PDF_CENTER, line);
        snprintf(line, sizeof(line), "kioskfleet.week/1 %s%s", p->d->week,
                 p->d->draft ? " DRAFT" : "");
        kf__pdf_text(&p->t, 0, 7.5f, LEFT, 31.0f, KF__PDF_LEFT, line);
        kf__pdf_text(&p->t, 0, 7.5f, RIGHT, 31.0f, KF__PDF_RIGHT, "数据：政银通办终端监测平台");
    }
}

static int layout(struct pdf *p)
{
    char line[512], w[96];
    int rc;

    if ((rc = new_page(p)) != 0) {
        return rc;
    }
    kf__pdf_text(&p->t, 1, 18.0f, PAGE_W / 2, p->y, KF__PDF_CENTER, "政银通办服务专区运行周报");
    p->y -= 22.0f;
    snprintf(line, sizeof(line), "%s · 通报", kf__rw_title_week(p->d, w, sizeof(w)));
    kf__pdf_text(&p->t, 0, 11.0f, PAGE_W / 2, p->y, KF__PDF_CENTER, line);
    p->y -= 14.0f;
    if (p->d->draft) {
        p->y -= 4.0f;
        rect(p, LEFT, p->y - 5.0f, RIGHT - LEFT, 17.0f, 0.80f, 0.0f, 0.0f);
        HPDF_Page_SetGrayFill(p->t.page, 1.0f);
        kf__pdf_text(
            &p->t, 1, 10.0f, PAGE_W / 2, p->y, KF__PDF_CENTER,
            "草稿 DRAFT · 本周尚未结束统计，数字仍会变化 · not closed, figures will change");
        HPDF_Page_SetGrayFill(p->t.page, 0.0f);
        p->y -= 20.0f;
    }
    kf__pdf_hline(&p->t, LEFT, RIGHT, p->y, 0.8f, 0.0f);
    p->y -= 16.0f;
    calendar_line(p->d, line, sizeof(line));
    if ((rc = para(p, 9.0f, 0.0f, line, 0.3f)) != 0 ||
        (rc = heading(p, "一、总体情况", 60.0f)) != 0 || (rc = summary(p)) != 0 ||
        (rc = chart_units(p)) != 0 || (rc = chart_banks(p)) != 0 || (rc = table_units(p)) != 0 ||
        (rc = inactive_list(p)) != 0) {
        return rc;
    }
    p->y -= 4.0f;
    rc = para(
        p, 8.0f, 0.0f,
        "口径：服务日指终端在用且当日有营业时间的日子（节假日、调休按国务院办公厅通知）；每台每"
        "服务日成功笔数 = 成功笔数 ÷ 终端服务日，向下取整到 0.01；可用率按服务时段计算，"
        "只计维护单位责任的停机。各项定义见 docs/REPORTS.md，全部明细见同周 XLSX。",
        0.35f);
    if (rc == 0) {
        footers(p);
    }
    return rc;
}

int kf_render_week_pdf(const char *json, const char *path, char *err, size_t errn)
{
    struct kf__rw_doc d;
    struct pdf *p;
    char title[96];
    int rc = kf__rw_parse(json, &d, err, errn);

    if (rc != 0) {
        return rc;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        rc = kf__render_fail(err, errn, -ENOMEM, "week: pdf: out of memory");
        goto out_doc;
    }
    p->d = &d;
    snprintf(title, sizeof(title), "Weekly report %s%s", d.week, d.draft ? " DRAFT" : "");
    rc = kf__pdf_open(&p->t, title, d.draft);
    if (rc == 0) {
        rc = layout(p);
    }
    rc = kf__pdf_save(&p->t, rc, path, "week: pdf", err, errn);
    kf__pdf_close(&p->t);
    free(p);
out_doc:
    kf__rw_close(&d);
    return rc;
}
