/* render/pdf.c: the bill as a printable A4 document (libharu). Chinese text uses libharu's
 * CNS fonts (SimSun, SimHei) in GBK, which the reader supplies, so the file embeds no font and
 * stays small; text is converted from UTF-8 with iconv. The page count is only known at the
 * end, so every page is kept and "第 i 页 共 N 页" is drawn on each once the last exists
 * (libharu lets a page be drawn on until the document is saved).
 */
#include "render/render.h"
#include "render/pdf_text.h"
#include "render/render_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_W 595.276f
#define PAGE_H 841.89f
#define LEFT 40.0f
#define RIGHT (PAGE_W - 40.0f)
#define BOTTOM 58.0f /* lowest baseline of content; the footer is below */
#define ROW_H 13.0f
#define CELL_PAD 2.0f
#define TABLE_SIZE 8.0f
#define CELL_MAX_BYTES 120

struct column {
    const char *name;
    float width;
    enum kf__pdf_align align;
};

/* The lines' table: what an accountant ticks off, narrowed to fit portrait A4. The model and
 * the line's text are in the CSV and XLSX; the text is shown under the lines that need it. */
enum {
    C_NO,
    C_KIND,
    C_ASSET,
    C_TYPE,
    C_ZONE,
    C_PERIOD,
    C_DAYS,
    C_UNIT,
    C_NET,
    C_RATE,
    C_TAX,
    C_GROSS,
    NCOLS
};
static const struct column columns[NCOLS] = {
    {"行号", 24, KF__PDF_RIGHT},           {"类别", 40, KF__PDF_LEFT},
    {"资产编号", 60, KF__PDF_LEFT},        {"类型", 46, KF__PDF_LEFT},
    {"网点/专区", 48, KF__PDF_LEFT},       {"所属期", 34, KF__PDF_CENTER},
    {"天数", 28, KF__PDF_CENTER},          {"单价(元)", 44, KF__PDF_RIGHT},
    {"不含税金额(元)", 58, KF__PDF_RIGHT}, {"税率", 24, KF__PDF_RIGHT},
    {"税额(元)", 50, KF__PDF_RIGHT},       {"价税合计(元)", 58, KF__PDF_RIGHT}};

struct pdf {
    struct kf__pdf t; /* the document, its fonts and the page drawn on */
    const struct kf__render_bill *b;
    HPDF_Page *pages;
    size_t n_pages, cap_pages;
    float y;      /* the next baseline, from the bottom */
    int in_table; /* a new page repeats the table's header */
};

/* Text in a cell [x, x + w): a size smaller when it does not fit, then cut with "…" only
 * when even 6 pt does not fit, so that a long asset id never runs into the next column. */
static void cell(struct pdf *p, int bold, float x, float w, float y, enum kf__pdf_align a,
                 const char *utf8)
{
    char cut[CELL_MAX_BYTES + 1], fit[CELL_MAX_BYTES + 8];
    float size = TABLE_SIZE, room = w - 2 * CELL_PAD, tw, tx;

    /* No cell holds 40 characters even at 6 pt: measure no more, so that a long text costs
     * no more than a short one. */
    if (strlen(utf8) > CELL_MAX_BYTES) {
        size_t n = 0;
        while (n + kf__pdf_u8len(utf8 + n) <= CELL_MAX_BYTES)
            n += kf__pdf_u8len(utf8 + n);
        snprintf(cut, sizeof cut, "%.*s", (int)n, utf8);
        utf8 = cut;
    }
    while ((tw = kf__pdf_width(&p->t, bold, size, utf8)) > room && size > 6.0f)
        size -= 0.5f;
    if (tw > room) {
        size_t n = 0, next;
        /* The longest whole-character prefix that fits with the ellipsis. */
        for (;;) {
            if (!utf8[n])
                break;
            next = n + kf__pdf_u8len(utf8 + n);
            snprintf(fit, sizeof fit, "%.*s…", (int)next, utf8);
            if (kf__pdf_width(&p->t, bold, size, fit) > room)
                break;
            n = next;
        }
        snprintf(fit, sizeof fit, "%.*s…", (int)n, utf8);
        utf8 = fit;
        tw = kf__pdf_width(&p->t, bold, size, fit);
    }
    tx = a == KF__PDF_LEFT    ? x + CELL_PAD
         : a == KF__PDF_RIGHT ? x + w - CELL_PAD - tw
                              : x + (w - tw) / 2;
    kf__pdf_mixed(&p->t, bold, size, tx, y, utf8, strlen(utf8), 1);
}

static void banner(struct pdf *p, float y)
{
    HPDF_Page_SetRGBFill(p->t.page, 0.80f, 0.0f, 0.0f);
    HPDF_Page_Rectangle(p->t.page, LEFT, y - 5.0f, RIGHT - LEFT, 18.0f);
    HPDF_Page_Fill(p->t.page);
    HPDF_Page_SetGrayFill(p->t.page, 1.0f);
    kf__pdf_text(&p->t, 1, 11.0f, PAGE_W / 2, y, KF__PDF_CENTER,
                 "草稿 DRAFT · 未开具，不作结算依据 · not issued, not for payment");
    HPDF_Page_SetGrayFill(p->t.page, 0.0f);
}

static void table_header(struct pdf *p)
{
    float x = LEFT;
    HPDF_Page_SetGrayFill(p->t.page, 0.88f);
    HPDF_Page_Rectangle(p->t.page, LEFT, p->y - 4.0f, RIGHT - LEFT, ROW_H + 2.0f);
    HPDF_Page_Fill(p->t.page);
    HPDF_Page_SetGrayFill(p->t.page, 0.0f);
    for (int c = 0; c < NCOLS; c++) {
        cell(p, 1, x, columns[c].width, p->y,
             columns[c].align == KF__PDF_LEFT ? KF__PDF_LEFT : KF__PDF_CENTER, columns[c].name);
        x += columns[c].width;
    }
    p->y -= ROW_H + 2.0f;
}

/* A new page: watermark, title, the bill's identity, and the table's header if the lines
 * continue on it. */
static int new_page(struct pdf *p)
{
    const struct kf__render_bill *b = p->b;
    char line[2 * KF__RENDER_MAX_TEXT + 128];
    if (p->n_pages == p->cap_pages) {
        size_t cap = p->cap_pages ? 2 * p->cap_pages : 8;
        HPDF_Page *np = realloc(p->pages, cap * sizeof *np);
        if (!np)
            return -ENOMEM;
        p->pages = np;
        p->cap_pages = cap;
    }
    p->t.page = HPDF_AddPage(p->t.doc);
    if (!p->t.page)
        return -EIO;
    p->pages[p->n_pages++] = p->t.page;
    HPDF_Page_SetSize(p->t.page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
    if (b->draft)
        kf__pdf_watermark(&p->t, PAGE_W, PAGE_H, 0.90f);
    p->y = PAGE_H - 52.0f;
    kf__pdf_text(&p->t, 1, 16.0f, PAGE_W / 2, p->y, KF__PDF_CENTER, "租赁及维护服务费账单");
    p->y -= 24.0f;
    if (b->draft) {
        banner(p, p->y);
        p->y -= 22.0f;
    }
    if (p->n_pages > 1) {
        snprintf(line, sizeof line, "%s (%s)   所属期 %s   账单编号 %s   (续)", b->bank_name,
                 b->bank_code, b->period, kf__render_number(b));
        kf__pdf_text(&p->t, 0, 9.0f, LEFT, p->y, KF__PDF_LEFT, line);
        p->y -= 18.0f;
    }
    if (p->in_table)
        table_header(p);
    return 0;
}

/* Room for h more points on this page, or a new one. */
static int ensure(struct pdf *p, float h)
{
    return p->y - h < BOTTOM ? new_page(p) : 0;
}

static void pair(struct pdf *p, float x, float y, const char *label, const char *value)
{
    kf__pdf_text(&p->t, 1, 10.0f, x, y, KF__PDF_LEFT, label);
    kf__pdf_text(&p->t, 0, 10.0f, x + 56.0f, y, KF__PDF_LEFT, value);
}

static void head_block(struct pdf *p)
{
    const struct kf__render_bill *b = p->b;
    char bank[2 * KF__RENDER_MAX_TEXT + 8], period[64], from[16], to[16], date[16];
    char contracts[512];
    size_t n = 0;
    const float mid = LEFT + 290.0f;

    snprintf(bank, sizeof bank, "%s (%s)", b->bank_name, b->bank_code);
    snprintf(period, sizeof period, "%s (%s 至 %s)", b->period,
             kf__render_local_date(b->from_ms, from, sizeof from),
             kf__render_local_date(b->to_ms - 1, to, sizeof to));
    pair(p, LEFT, p->y, "银行：", bank);
    pair(p, mid, p->y, "账单编号：", kf__render_number(b));
    p->y -= 15.0f;
    pair(p, LEFT, p->y, "所属期：", period);
    pair(p, mid, p->y, "开具日期：",
         b->draft ? "未开具（草稿）" : kf__render_local_date(b->issued_at_ms, date, sizeof date));
    p->y -= 15.0f;
    contracts[0] = '\0';
    for (size_t i = 0; i < b->n_contracts && n < sizeof contracts; i++) {
        int k = snprintf(contracts + n, sizeof contracts - n, "%s%s 第 %lld 版", i ? "；" : "",
                         b->contracts[i].id, (long long)b->contracts[i].version);
        n += k > 0 ? (size_t)k : 0;
    }
    pair(p, LEFT, p->y, "合同：", contracts);
    pair(p, mid, p->y, "计价：", b->prices_include_tax ? "含税价" : "不含税价，税额另计");
    p->y -= 22.0f;
}

/* Text over as many lines of width w as it needs (a line's explanation, the notes at the end),
 * broken at a space when there is one on the line, else between characters (Chinese). */
static int wrapped(struct pdf *p, int bold, float size, float x, float w, const char *utf8,
                   float gray)
{
    const char *s = utf8;
    int rc;
    while (*s) {
        size_t n = 0, space = 0;
        float used = 0.0f;
        if ((rc = ensure(p, size + 2.0f)) != 0)
            return rc;
        while (s[n]) {
            size_t k = kf__pdf_u8len(s + n);
            float cw = kf__pdf_mixed(&p->t, bold, size, 0.0f, 0.0f, s + n, k, 0);
            if (used + cw > w && n > 0)
                break;
            used += cw;
            n += k;
            if (s[n - 1] == ' ')
                space = n;
        }
        /* Inside an English word: back to its start; Chinese breaks anywhere. */
        if (s[n] && space > 0 && s[n] != ' ' && (unsigned char)s[n] < 0x80 &&
            (unsigned char)s[n - 1] < 0x80)
            n = space;
        HPDF_Page_SetGrayFill(p->t.page, gray);
        kf__pdf_mixed(&p->t, bold, size, x, p->y, s, n, 1);
        HPDF_Page_SetGrayFill(p->t.page, 0.0f);
        s += n;
        while (*s == ' ')
            s++;
        p->y -= size + 3.0f;
    }
    return 0;
}

/* Lines whose amount is not price x days carry their reason under them (a credit's
 * availability, an adjustment's reference): an auditor asks about those first. */
static int explained(const struct kf__render_line *l)
{
    return strcmp(l->kind, "lease") != 0 && strcmp(l->kind, "maintenance") != 0;
}

static int line_row(struct pdf *p, const struct kf__render_line *l)
{
    char v[NCOLS][KF__RENDER_MAX_TEXT + 1];
    float x = LEFT;
    int rc;

    if ((rc = ensure(p, ROW_H + (explained(l) ? 11.0f : 0.0f))) != 0)
        return rc;
    snprintf(v[C_NO], sizeof v[0], "%lld", (long long)l->no);
    snprintf(v[C_KIND], sizeof v[0], "%s", kf__render_kind_name(l->kind));
    snprintf(v[C_ASSET], sizeof v[0], "%s", l->asset ? l->asset : "—");
    snprintf(v[C_TYPE], sizeof v[0], "%s", kf__render_terminal_name(l->terminal_kind));
    snprintf(v[C_ZONE], sizeof v[0], "%s", l->zone ? l->zone : "");
    snprintf(v[C_PERIOD], sizeof v[0], "%s", l->period);
    if (l->days != KF__RENDER_NULL && l->period_days != KF__RENDER_NULL)
        snprintf(v[C_DAYS], sizeof v[0], "%lld/%lld", (long long)l->days,
                 (long long)l->period_days);
    else
        v[C_DAYS][0] = '\0';
    if (l->unit_fen != KF__RENDER_NULL)
        kf__render_money(l->unit_fen, 1, v[C_UNIT], sizeof v[0]);
    else
        v[C_UNIT][0] = '\0';
    kf__render_money(l->net_fen, 1, v[C_NET], sizeof v[0]);
    kf__render_rate(l->tax_rate_bp, v[C_RATE], sizeof v[0]);
    kf__render_money(l->tax_fen, 1, v[C_TAX], sizeof v[0]);
    kf__render_money(l->gross_fen, 1, v[C_GROSS], sizeof v[0]);
    for (int c = 0; c < NCOLS; c++) {
        cell(p, 0, x, columns[c].width, p->y, columns[c].align, v[c]);
        x += columns[c].width;
    }
    p->y -= ROW_H;
    if (explained(l)) {
        p->y += 3.0f;
        if ((rc = wrapped(p, 0, 7.0f, LEFT + columns[C_NO].width + CELL_PAD,
                          RIGHT - LEFT - columns[C_NO].width - 2 * CELL_PAD, l->text, 0.35f)) != 0)
            return rc;
        p->y -= 3.0f;
    }
    /* A hairline under the row (and its explanation), between the baselines. */
    kf__pdf_hline(&p->t, LEFT, RIGHT, p->y + ROW_H - 3.5f, 0.3f, 0.8f);
    return 0;
}

static float column_x(int col)
{
    float x = LEFT;
    for (int c = 0; c < col; c++)
        x += columns[c].width;
    return x;
}

/* A total in the table's own columns, so that it stands under what it sums. */
static int total_row(struct pdf *p, const struct kf__render_sum *s)
{
    char label[64], rate[KF__RENDER_RATE_CAP], m[KF__RENDER_MONEY_CAP];
    int all = s->tax_rate_bp == KF__RENDER_NULL;
    int f = all;
    int rc = ensure(p, ROW_H + 4.0f);
    if (rc != 0)
        return rc;
    if (all)
        kf__pdf_hline(&p->t, column_x(C_NET), RIGHT, p->y + ROW_H - 3.0f, 0.8f, 0.0f);
    else
        kf__render_rate(s->tax_rate_bp, rate, sizeof rate);
    snprintf(label, sizeof label, "%s", all ? "合计" : "小计（按税率）");
    cell(p, f, column_x(C_UNIT) - 80.0f, 124.0f, p->y, KF__PDF_RIGHT, label);
    if (!all)
        cell(p, f, column_x(C_RATE), columns[C_RATE].width, p->y, KF__PDF_RIGHT, rate);
    cell(p, f, column_x(C_NET), columns[C_NET].width, p->y, KF__PDF_RIGHT,
         kf__render_money(s->net_fen, 1, m, sizeof m));
    cell(p, f, column_x(C_TAX), columns[C_TAX].width, p->y, KF__PDF_RIGHT,
         kf__render_money(s->tax_fen, 1, m, sizeof m));
    cell(p, f, column_x(C_GROSS), columns[C_GROSS].width, p->y, KF__PDF_RIGHT,
         kf__render_money(s->gross_fen, 1, m, sizeof m));
    p->y -= ROW_H;
    return 0;
}

static int totals(struct pdf *p)
{
    const struct kf__render_bill *b = p->b;
    char m[KF__RENDER_MONEY_CAP], line[256];
    int rc;
    p->in_table = 0;
    kf__pdf_hline(&p->t, LEFT, RIGHT, p->y + ROW_H - 3.0f, 0.8f, 0.0f);
    p->y -= 4.0f;
    for (size_t r = 0; r < b->n_rates; r++)
        if ((rc = total_row(p, &b->rates[r])) != 0)
            return rc;
    if ((rc = total_row(p, &b->total)) != 0)
        return rc;
    p->y -= 10.0f;
    if ((rc = ensure(p, 40.0f)) != 0)
        return rc;
    snprintf(line, sizeof line, "价税合计（小写）：￥%s",
             kf__render_money(b->total.gross_fen, 1, m, sizeof m));
    kf__pdf_text(&p->t, 1, 11.0f, LEFT, p->y, KF__PDF_LEFT, line);
    p->y -= 17.0f;
    snprintf(line, sizeof line, "价税合计（大写）：%s", b->gross_capital);
    kf__pdf_text(&p->t, 1, 11.0f, LEFT, p->y, KF__PDF_LEFT, line);
    p->y -= 24.0f;
    return 0;
}

/* The inputs' digests (shortened: the full ones are in the XLSX and the JSON) and how to
 * check the bill: the bank recomputes it from the evidence itself (DESIGN.md principle 8). */
static int evidence(struct pdf *p)
{
    const struct kf__render_bill *b = p->b;
    char line[KF__RENDER_MAX_TEXT + 64];
    int rc;
    if ((rc = ensure(p, 30.0f)) != 0)
        return rc;
    kf__pdf_hline(&p->t, LEFT, RIGHT, p->y + 10.0f, 0.3f, 0.6f);
    kf__pdf_text(&p->t, 1, 9.0f, LEFT, p->y, KF__PDF_LEFT, "依据（输入摘要，前 16 位）");
    p->y -= 13.0f;
    for (size_t i = 0; i < b->n_inputs; i++) {
        snprintf(line, sizeof line, "%s: %.16s%s", b->inputs[i].name, b->inputs[i].digest,
                 strlen(b->inputs[i].digest) > 16 ? "…" : "");
        if ((rc = wrapped(p, 0, 8.0f, LEFT + 8.0f, RIGHT - LEFT - 8.0f, line, 0.0f)) != 0)
            return rc;
    }
    p->y -= 4.0f;
    return wrapped(p, 0, 8.0f, LEFT, RIGHT - LEFT,
                   "核对方法：用 kioskctl bill export 导出本账单及其全部依据（已签名的设备证据、"
                   "合同版本、日志），再用核对程序由原始证据独立重算；重算结果须与本账单逐字节"
                   "一致，摘要须与上列相符。 To check: kioskctl bill export, then recompute with "
                   "the checker from the raw evidence; it must match this bill byte for byte.",
                   0.25f);
}

static void footers(struct pdf *p)
{
    char line[128];
    for (size_t i = 0; i < p->n_pages; i++) {
        p->t.page = p->pages[i];
        kf__pdf_hline(&p->t, LEFT, RIGHT, 44.0f, 0.3f, 0.6f);
        snprintf(line, sizeof line, "第 %zu 页 共 %zu 页", i + 1, p->n_pages);
        kf__pdf_text(&p->t, 0, 9.0f, PAGE_W / 2, 30.0f, KF__PDF_CENTER, line);
        snprintf(line, sizeof line, "%s %s", p->b->bank_code, kf__render_number(p->b));
        kf__pdf_text(&p->t, 0, 8.0f, LEFT, 30.0f, KF__PDF_LEFT, line);
        kf__pdf_text(&p->t, 0, 8.0f, RIGHT, 30.0f, KF__PDF_RIGHT, "kioskfleet.bill/1");
    }
}

static int layout(struct pdf *p)
{
    int rc;
    if ((rc = new_page(p)) != 0)
        return rc;
    head_block(p);
    p->in_table = 1;
    table_header(p);
    for (size_t i = 0; i < p->b->n_lines; i++)
        if ((rc = line_row(p, &p->b->lines[i])) != 0)
            return rc;
    if ((rc = totals(p)) != 0 || (rc = evidence(p)) != 0)
        return rc;
    footers(p);
    return 0;
}

int kf_render_bill_pdf(const char *bill_json, const char *path, char *err, size_t errn)
{
    struct kf__render_bill b;
    struct pdf *p;
    char title[128];
    int rc = kf__render_parse(bill_json, &b, err, errn);

    if (rc != 0)
        return rc;
    p = calloc(1, sizeof *p);
    if (!p) {
        rc = kf__render_fail(err, errn, -ENOMEM, "pdf: out of memory");
        goto out_bill;
    }
    p->b = &b;
    snprintf(title, sizeof title, "Bill %s %s %s", b.bank_code, b.period,
             b.draft ? "DRAFT" : b.number);
    rc = kf__pdf_open(&p->t, title, b.draft);
    if (rc == 0)
        rc = layout(p);
    rc = kf__pdf_save(&p->t, rc, path, "pdf", err, errn);
    kf__pdf_close(&p->t);
    free(p->pages);
    free(p);
out_bill:
    kf__render_close(&b);
    return rc;
}
