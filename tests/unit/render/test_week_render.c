/* test_week_render.c: the weekly report's document (rules/week.h) as CSV, XLSX and the PDF
 * bulletin (render/week.h), read back with the tools a person would use (unzip, pdftotext):
 * what counts is what a reader gets out of them. The document is made by the rules from a
 * small week, 2026-W41 (国庆节 from Monday to Wednesday, Saturday a make-up working day). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include <kf/time.h>

#include "kf_test.h"
#include "render/week.h"
#include "rules/week.h"

#define HOUR (3600LL * 1000)

static char tmpdir[256];

static void setup(void)
{
    kf_test_tmpdir("kf-week-render", tmpdir, sizeof(tmpdir));
}

static void teardown(void)
{
    kf_test_rmtree(tmpdir);
}

TestSuite(week_render, .init = setup, .fini = teardown);

static int32_t day(const char *s)
{
    int32_t d = 0;

    cr_assert_eq(kf_day_parse(s, &d), 0);
    return d;
}

/* The document of a small week; draft as asked. Owned. */
static char *document(int draft)
{
    static const struct kf_week_name units[] = {{"XH", "新华区"}, {"WG", "舞钢市"}};
    static const struct kf_week_name banks[] = {{"ICBC", "中国工商银行"}, {"CCB", "中国建设银行"}};
    static const struct kf_week_name families[] = {{"HF", "住房公积金"}, {"SB", "社保"}};
    static const struct kf_week_item items[] = {{"HF-001", "HF", "公积金缴存查询"},
                                                {"SB-003", "SB", "社保缴费证明打印"}};
    static const struct kf_week_zone_in zones[] = {
        {"Z-XH-001", "工行新华支行服务专区", "新华支行", "XH", "ICBC", 1, 1},
        {"Z-XH-002", "建行光明路服务专区", "光明路支行", "XH", "CCB", 2, 0},
        {"Z-WG-001", "工行舞钢支行服务专区", "舞钢支行", "WG", "ICBC", 1, 0}};
    struct kf_holidays *hol = kf_holidays_new();
    char *cal = kf_test_read_file(KF_SOURCE_DIR "/fixtures/calendar/cn-2026.ini"), err[256];
    struct kf_week kiosk, itm;
    struct kf_window always = {kf_day_start_ms(day("2026-01-01")), KF_TIME_NEVER};
    struct kf_week_terminal_in terms[3];
    struct kf_week_usage_in usage[4] = {
        {day("2026-10-08"), "Z-XH-001", "A-1", "HF-001", 30, 2, 1},
        {day("2026-10-05"), "Z-XH-001", "A-2", "SB-003", 12, 0, 0},
        {day("2026-10-09"), "Z-WG-001", "A-3", "HF-001", 7, 1, 0},
        {day("2026-09-30"), "Z-XH-001", "A-1", "HF-001", 40, 0, 0},
    };
    struct kf_week_avail_in avail[2] = {{"Z-XH-001", 90000, 89100, 90000LL * 9850},
                                        {"Z-WG-001", 30600, 30600, 30600LL * 9800}};
    struct kf_week_digest dg[1] = {{"usage", "0123456789abcdef0123456789abcdef"}};
    struct kf_week_report *r = NULL;
    struct kf_week_input in;
    char *json = NULL;
    size_t len;

    cr_assert_eq(kf_holidays_load_string(hol, cal, "cn-2026.ini", err, sizeof(err)), 0);
    free(cal);
    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, NULL, 0, &kiosk), 0);
    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, "00:00-24:00", 1, &itm), 0);
    terms[0] = (struct kf_week_terminal_in){"A-1", "Z-XH-001", 1, &kiosk, &always, 1, 1};
    terms[1] = (struct kf_week_terminal_in){"A-2", "Z-XH-001", 2, &itm, &always, 1, 1};
    terms[2] = (struct kf_week_terminal_in){"A-3", "Z-WG-001", 1, &kiosk, &always, 1, 0};
    in = (struct kf_week_input){.iso_year = 2026,
                                .iso_week = 41,
                                .draft = draft,
                                .hol = hol,
                                .units = units,
                                .n_units = 2,
                                .banks = banks,
                                .n_banks = 2,
                                .families = families,
                                .n_families = 2,
                                .items = items,
                                .n_items = 2,
                                .zones = zones,
                                .n_zones = 3,
                                .terminals = terms,
                                .n_terminals = 3,
                                .usage = usage,
                                .n_usage = 4,
                                .avail = {avail, NULL},
                                .n_avail = {2, 0},
                                .avail_as_of_ms = kf_day_start_ms(day("2026-10-12")),
                                .inputs = dg,
                                .n_inputs = 1};
    cr_assert_eq(kf_week_compute(&in, &r, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_week_json(r, &json, &len), 0);
    kf_week_free(r);
    kf_holidays_free(hol);
    return json;
}

static char *output_of(const char *before, const char *path, const char *after)
{
    char cmd[1024], *buf = NULL;
    size_t len = 0;
    FILE *p, *mem = open_memstream(&buf, &len);
    int c;

    snprintf(cmd, sizeof(cmd), "%s '%s' %s", before, path, after);
    p = popen(cmd, "r");
    cr_assert_not_null(p, "popen %s", cmd);
    while ((c = fgetc(p)) != EOF) {
        fputc(c, mem);
    }
    cr_assert_eq(pclose(p), 0, "%s failed", cmd);
    fclose(mem);
    return buf;
}

static void assert_has(const char *hay, const char *needle, const char *what)
{
    cr_assert_not_null(strstr(hay, needle), "%s lacks \"%s\"", what, needle);
}

static char *csv_of(const char *json, int view)
{
    char *buf = NULL, err[256] = "";
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);

    cr_assert_eq(kf_render_week_csv(json, view, mem, err, sizeof(err)), 0, "%s", err);
    fclose(mem);
    return buf;
}

Test(week_render, csv_sections_and_one_view)
{
    char *json = document(0), *all = csv_of(json, KF_RENDER_WEEK_ALL), *zones, *line;

    cr_assert(strncmp(all,
                      "\xEF\xBB\xBF政银通办服务专区运行周报,2026年第41周（10月5日—10月11日）\r\n",
                      strlen("\xEF\xBB\xBF政银通办服务专区运行周报,2026年第41周（10月5日—10月11日）"
                             "\r\n")) == 0,
              "%.200s", all);
    for (int v = KF_RENDER_WEEK_UNIT; v < KF_RENDER_WEEK_VIEWS_; v++) {
        static const char *const titles[] = {"",
                                             "\r\n区县\r\n",
                                             "\r\n银行\r\n",
                                             "\r\n专区\r\n",
                                             "\r\n服务类别\r\n",
                                             "\r\n服务事项\r\n",
                                             "\r\n无业务专区\r\n"};
        assert_has(all, titles[v], "csv");
    }
    assert_has(all, "\r\n无业务终端\r\n", "csv");
    /* A unit's row: 新华区 has Z-XH-001 (active) and Z-XH-002 (no terminal). 30 + 12 completed
     * over 3 (the kiosk: Thursday, Friday, the make-up Saturday) + 7 (the 24-hour ITM) terminal
     * days; 40 the week before: +5.0 %. */
    assert_has(all, "\r\nXH,新华区,2,1,1,1,4,2,2,2,10,42,2,1,45,4.20,40,2,+5.0%,99.00%,98.50%,,,0,",
               "csv");
    assert_has(all, "\r\nall,全市合计,3,2,2,2,5,3,3,3,13,49,3,1,53,3.76,40,9,+22.5%,", "csv");
    assert_has(all,
               "Z-XH-002,建行光明路服务专区,光明路支行,新华区,中国建设银行,无终端,2,0,0,0,0,0,"
               "0,0,0,0,,0,0,0.0%,,,,,0,2,0,0,0\r\n",
               "csv");
    free(all);
    /* One view: the header row first, then one row per zone, every zone. */
    zones = csv_of(json, KF_RENDER_WEEK_ZONE);
    cr_assert(strncmp(zones, "\xEF\xBB\xBF专区编号,专区名称,网点,区县,银行,状态,", 31) == 0,
              "%.80s", zones);
    size_t rows = 0;
    for (line = zones; (line = strstr(line, "\r\n")) != NULL; line += 2) {
        rows++;
    }
    cr_assert_eq(rows, 4, "header and 3 zones");
    free(zones);
    free(json);
}

Test(week_render, xlsx_sheets_numbers_and_panes)
{
    char *json = document(0), x[512], err[256] = "", *wb, *s, *sheet;

    snprintf(x, sizeof(x), "%s/w.xlsx", tmpdir);
    cr_assert_eq(kf_render_week_xlsx(json, x, err, sizeof(err)), 0, "%s", err);
    wb = output_of("unzip -p", x, "xl/workbook.xml");
    assert_has(wb, "<sheet name=\"概要\" sheetId=\"1\"", "workbook");
    assert_has(wb, "<sheet name=\"区县\" sheetId=\"2\"", "workbook");
    assert_has(wb, "<sheet name=\"专区\" sheetId=\"4\"", "workbook");
    assert_has(wb, "<sheet name=\"服务事项\" sheetId=\"6\"", "workbook");
    assert_has(wb, "<sheet name=\"无业务终端\" sheetId=\"8\"", "workbook");
    /* An autofilter over each view's table. */
    assert_has(wb, "_xlnm._FilterDatabase", "workbook");
    s = output_of("unzip -p", x, "xl/sharedStrings.xml");
    assert_has(s, "专区编号", "strings");
    assert_has(s, "服务时段可用率", "strings");
    assert_has(s, "法定节假日", "strings");
    /* 区县 (sheet2): the header frozen, XH's completed 42 a number, its availability 0.99 under
     * a percentage format, per terminal day 4.20. */
    sheet = output_of("unzip -p", x, "xl/worksheets/sheet2.xml");
    assert_has(sheet, "state=\"frozen\"", "sheet2");
    assert_has(sheet, "<autoFilter ref=\"A3:", "sheet2");
    assert_has(sheet, "<v>42</v>", "sheet2");
    assert_has(sheet, "<v>0.99</v>", "sheet2");
    assert_has(sheet, "<v>4.2</v>", "sheet2");
    free(sheet);
    sheet = output_of("unzip -p", x, "xl/styles.xml");
    assert_has(sheet, "formatCode=\"0.00%\"", "styles");
    free(sheet);
    free(s);
    free(wb);
    free(json);
    /* A draft says so. */
    json = document(1);
    cr_assert_eq(kf_render_week_xlsx(json, x, err, sizeof(err)), 0, "%s", err);
    s = output_of("unzip -p", x, "xl/sharedStrings.xml");
    assert_has(s, "草稿 DRAFT", "draft strings");
    free(s);
    free(json);
}

Test(week_render, bulletin_pdf)
{
    char *json = document(0), p[512], err[256] = "", *t;

    snprintf(p, sizeof(p), "%s/w.pdf", tmpdir);
    cr_assert_eq(kf_render_week_pdf(json, p, err, sizeof(err)), 0, "%s", err);
    t = output_of("pdftotext -enc UTF-8", p, "-");
    assert_has(t, "政银通办服务专区运行周报", "pdf");
    assert_has(t, "2026年第41周（10月5日—10月11日）", "pdf");
    assert_has(t, "10月5日—10月7日 法定节假日（国庆节 National Day）", "pdf");
    assert_has(t, "10月10日 调休工作日", "pdf");
    assert_has(t, "全市规划服务专区 3 个", "pdf");
    assert_has(t, "成功 49 笔", "pdf");
    assert_has(t, "+22.5%", "pdf");
    assert_has(t, "最活跃专区", "pdf");
    assert_has(t, "工行新华支行服务专区", "pdf");
    assert_has(t, "各区县成功办理笔数", "pdf");
    assert_has(t, "各银行服务时段可用率", "pdf");
    assert_has(t, "舞钢市", "pdf");
    assert_has(t, "中国建设银行", "pdf");
    assert_has(t, "无终端 1 个", "pdf");
    assert_has(t, "第 1 页", "pdf");
    cr_assert_null(strstr(t, "草稿"), "not a draft");
    free(t);
    free(json);
    json = document(1);
    cr_assert_eq(kf_render_week_pdf(json, p, err, sizeof(err)), 0, "%s", err);
    t = output_of("pdftotext -enc UTF-8", p, "-");
    assert_has(t, "草稿 DRAFT", "draft pdf");
    free(t);
    free(json);
}

Test(week_render, refuses_what_is_not_the_document)
{
    char *json = document(0), *bad, p[512], err[256] = "";
    struct stat stt;
    FILE *devnull = fopen("/dev/null", "w");

    snprintf(p, sizeof(p), "%s/bad.pdf", tmpdir);
    cr_assert_eq(kf_render_week_pdf("{\"doc\":\"kioskfleet.bill/1\"}", p, err, sizeof(err)),
                 -EINVAL);
    assert_has(err, "\"doc\"", "err");
    cr_assert_neq(stat(p, &stt), 0, "no file for a refused document");
    cr_assert_eq(kf_render_week_xlsx("not json", p, err, sizeof(err)), -EINVAL);
    /* A row without one of its keys. */
    bad = strdup(json);
    memcpy(strstr(bad, "\"service_days\""), "\"service_dayz\"", 14);
    cr_assert_eq(kf_render_week_csv(bad, KF_RENDER_WEEK_ALL, devnull, err, sizeof(err)), -EINVAL);
    assert_has(err, "zones[0].service_days", "err");
    cr_assert_eq(kf_render_week_csv(json, 99, devnull, err, sizeof(err)), -EINVAL);
    cr_assert_eq(kf_render_week_view("zone"), KF_RENDER_WEEK_ZONE);
    cr_assert_eq(kf_render_week_view("zones"), -1);
    fclose(devnull);
    free(bad);
    free(json);
}
