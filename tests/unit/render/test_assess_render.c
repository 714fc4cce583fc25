/* test_assess_render.c: the half-year assessment's document (rules/assess.h) as CSV and XLSX
 * (render/assess.h), read back with the tools a person would use (unzip): what counts is what
 * a reader gets out of them. The document is made by the rules with the default rubric
 * (fixtures/rubric/default-2026.json) over 2026-H1 from four weekday zones (08:30-17:00: 120
 * service days): one that passes, one whose availability fails the must-pass criterion, one
 * opened too late to be assessed, one with no terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include <kf/time.h>

#include "kf_test.h"
#include "render/assess.h"
#include "rules/assess.h"

#define HOUR (3600LL * 1000)

static char tmpdir[256];

static void setup(void)
{
    kf_test_tmpdir("kf-assess-render", tmpdir, sizeof(tmpdir));
}

static void teardown(void)
{
    kf_test_rmtree(tmpdir);
}

TestSuite(assess_render, .init = setup, .fini = teardown);

static int32_t day(const char *s)
{
    int32_t d = 0;

    cr_assert_eq(kf_day_parse(s, &d), 0, "%s", s);
    return d;
}

/* A zone and the storage its pointers borrow. */
struct zone_fx {
    struct kf_assess_zone_in in;
    struct kf_assess_terminal t[1];
    struct kf_window w[1];
    int32_t data[181];
};

/* A weekday zone with one terminal (none when terminals is 0) in service from `opened`:
 * 10.00 txns per terminal-day, 45 of 75 items, availability as given in basis points, 2 of 2
 * incidents answered in time, data every day. */
static void zone(struct zone_fx *f, const struct kf_week *week, const char *z, const char *unit,
                 const char *bank, const char *opened, int terminals, int64_t avail_bp)
{
    int32_t from = day(opened) > day("2026-01-01") ? day(opened) : day("2026-01-01");

    memset(f, 0, sizeof(*f));
    f->w[0] = (struct kf_window){kf_day_start_ms(day(opened)), KF_TIME_NEVER};
    f->t[0] = (struct kf_assess_terminal){"K-1", &f->w[0], 1};
    for (int32_t i = 0; i < 181; i++)
        f->data[i] = day("2026-01-01") + i;
    f->in = (struct kf_assess_zone_in){
        .zone = z,
        .unit = unit,
        .bank = bank,
        .planned = 1,
        .opened_day = day(opened),
        .delisted_day = KF_ASSESS_OPEN,
        .week = week,
        .terminals = f->t,
        .n_terminals = (size_t)terminals,
        .txns_ok = terminals ? 1200 * (day("2026-07-01") - from) / 181 : 0,
        .items_used = terminals ? 45 : 0,
        .catalog_size = 75,
        .owed_s = terminals ? 3672000 : 0,
        .uptime_s = terminals ? 3672000 * avail_bp / 10000 : 0,
        .response = {terminals ? 2u : 0u, terminals ? 2u : 0u, terminals ? 3600 : 0},
        .data_days = f->data,
        .n_data_days = terminals ? 181 : 0,
    };
}

/* The document: a draft, or version 2 issued on 2026-07-15 10:00 (local). Owned. */
static char *document(int draft)
{
    static const struct kf_assess_digest digests[] = {
        {"calendars", "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"},
        {"rubric:PDS-ZONE/v1", "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13"},
    };
    struct kf_holidays *hol = kf_holidays_new();
    char *text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/calendar/cn-2026.ini"), err[256];
    struct kf_rubric rubric;
    struct kf_week week;
    struct zone_fx fx[4];
    struct kf_assess_zone_in in[4];
    struct kf_assessment *a = NULL;
    struct kf_assess_input input;
    char *json = NULL;

    cr_assert_eq(kf_holidays_load_string(hol, text, "cn-2026.ini", err, sizeof(err)), 0, "%s", err);
    free(text);
    text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/rubric/default-2026.json");
    cr_assert_eq(kf_rubric_parse(text, strlen(text), &rubric, err, sizeof(err)), 0, "%s", err);
    free(text);
    cr_assert_eq(kf_calendar_week_from_hours("08:30-17:00", NULL, &week), 0);
    zone(&fx[0], &week, "Z-WG-001", "WG", "ABC", "2025-06-01", 1, 10000);
    zone(&fx[1], &week, "Z-WG-002", "WG", "BOC", "2025-06-01", 1, 9400);
    zone(&fx[2], &week, "Z-WG-003", "WG", "CCB", "2026-06-15", 1, 10000);
    zone(&fx[3], &week, "Z-XH-001", "XH", "ABC", "2025-06-01", 0, 0);
    for (int i = 0; i < 4; i++)
        in[i] = fx[i].in;
    input = (struct kf_assess_input){.year = 2026,
                                     .half = 1,
                                     .rubric = &rubric,
                                     .holidays = hol,
                                     .zones = in,
                                     .n_zones = 4,
                                     .status = draft ? KF_ASSESS_DRAFT : KF_ASSESS_ISSUED,
                                     .issued_at_ms = kf_day_start_ms(day("2026-07-15")) + 10 * HOUR,
                                     .version = draft ? 1 : 2,
                                     .supersedes = draft ? NULL : "ab12cd34",
                                     .reason = draft ? NULL : "更正 Z-WG-002 的可用时长",
                                     .inputs = digests,
                                     .n_inputs = 2};
    cr_assert_eq(kf_assess_compute(&input, &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_assess_json(a, &json), 0);
    kf_assess_free(a);
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
    while ((c = fgetc(p)) != EOF)
        fputc(c, mem);
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

    cr_assert_eq(kf_render_assess_csv(json, view, mem, err, sizeof(err)), 0, "%s", err);
    fclose(mem);
    return buf;
}

/* The index of a shared string in xl/sharedStrings.xml (the <si> it is in), as a cell names it. */
static int shared_index(const char *strings, const char *text)
{
    char t[256];
    const char *at, *p = strings;
    int n = -1;

    snprintf(t, sizeof(t), "<t>%s</t>", text);
    at = strstr(strings, t);
    cr_assert_not_null(at, "no shared string %s", text);
    while ((p = strstr(p, "<si>")) != NULL && p < at) {
        n++;
        p += 4;
    }
    return n;
}

/* Cell ref of a sheet's XML holds nothing (<c r="M6" s="3"/>). */
static int cell_empty(const char *sheet, const char *ref)
{
    char r[32];
    const char *c, *close;

    snprintf(r, sizeof(r), "<c r=\"%s\"", ref);
    c = strstr(sheet, r);
    cr_assert_not_null(c, "no cell %s", ref);
    close = strchr(c, '>');
    return close && close[-1] == '/';
}

/* The value of cell ref ("K5") in a sheet's XML: "<v>...</v>" of it. Owned. */
static char *cell_value(const char *sheet, const char *ref)
{
    char r[32];
    const char *c, *v, *end;

    snprintf(r, sizeof(r), "<c r=\"%s\"", ref);
    c = strstr(sheet, r);
    cr_assert_not_null(c, "no cell %s", ref);
    v = strstr(c, "<v>");
    end = strstr(c, "</c>");
    cr_assert(v && end && v < end, "cell %s has no value", ref);
    return strndup(v + 3, (size_t)(strstr(v, "</v>") - v - 3));
}

Test(assess_render, csv_one_view_and_all_sections)
{
    char *json = document(1), *zones = csv_of(json, KF_RENDER_ASSESS_ZONES), *all, *banks, *line;
    size_t rows = 0;

    /* One view: BOM, the header row of Chinese names with the rubric's criteria, CRLF. */
    cr_assert(strncmp(zones, "\xEF\xBB\xBF专区编号,", strlen("\xEF\xBB\xBF专区编号,")) == 0,
              "%.80s", zones);
    assert_has(zones,
               "专区编号,区县,银行,规划终端,考核起始日,考核截止日(含),服务天数,在用终端,"
               "终端服务日,成功交易笔数,考核结果,原因,总分,活跃度(笔/台/日),活跃度得分,"
               "设备可用率,设备可用率得分,事项使用覆盖率,事项使用覆盖率得分,设备在位率,"
               "设备在位率得分,故障按时响应率,故障按时响应率得分,数据上报率,数据上报率得分\r\n",
               "zones csv");
    /* 10.00 a day scores 16.07 (⌊2500 × 900 / 1400⌋ cp); the rest full: 91.07. */
    assert_has(zones,
               "\r\nZ-WG-001,WG,ABC,1,2026-01-01,2026-06-30,120,1,120,1200,合格,,91.07,10.00,16.07,"
               "100.00%,20.00,60.00%,15.00,100.00%,15.00,100.00%,15.00,100.00%,10.00\r\n",
               "zones csv");
    /* 94.00 % availability: 8.88 points, below the must-pass mark; 79.95 in all, failed. */
    assert_has(zones,
               "\r\nZ-WG-002,WG,BOC,1,2026-01-01,2026-06-30,120,1,120,1200,不合格,必达项未达标,"
               "79.95,10.00,16.07,94.00%,8.88,",
               "zones csv");
    /* Not assessed (11 service days): no total, no criteria (empty fields, not zeros). */
    assert_has(zones,
               "\r\nZ-WG-003,WG,CCB,1,2026-06-15,2026-06-30,11,1,11,0,不参评,服务天数不足,,,,,,,,,,"
               ",,,\r\n",
               "zones csv");
    assert_has(zones,
               "\r\nZ-XH-001,XH,ABC,1,2026-01-01,2026-06-30,120,0,0,0,不合格,考核期内无终端在用,"
               "0.00,,0.00,,0.00,0.00%,0.00,",
               "zones csv");
    for (line = zones; (line = strstr(line, "\r\n")) != NULL; line += 2)
        rows++;
    cr_assert_eq(rows, 5, "header and 4 zones");
    cr_assert_null(strstr(zones, "\n\n"), "CRLF only");
    free(zones);

    /* The banks in ranking order: ABC (one pass of two) before BOC (none). */
    banks = csv_of(json, KF_RENDER_ASSESS_BANKS);
    assert_has(banks,
               "\xEF\xBB\xBF排名,银行,专区数,参评专区,合格,不合格,不参评,合格率,平均分,"
               "活跃度(笔/台/日),设备可用率,成功交易笔数,终端服务日,应服务时长(秒),可用时长(秒)"
               "\r\n1,ABC,2,2,1,1,0,50.00%,45.53,10.00,100.00%,1200,120,3672000,3672000\r\n"
               "2,BOC,1,1,0,1,0,0.00%,79.95,",
               "banks csv");
    free(banks);

    all = csv_of(json, KF_RENDER_ASSESS_ALL);
    cr_assert(strncmp(all, "\xEF\xBB\xBF政银通办服务专区半年考核,2026年上半年\r\n", 46) == 0,
              "%.80s", all);
    assert_has(all, "\r\n考核期间,2026-01-01 至 2026-06-30\r\n", "all csv");
    assert_has(all, "\r\n状态,草稿 DRAFT", "all csv");
    assert_has(all, "\r\n考核细则,PDS-ZONE v1\r\n", "all csv");
    assert_has(all, "\r\n\r\n专区考核\r\n专区编号,", "all csv");
    assert_has(all, "\r\n\r\n区县汇总\r\n区县,专区数,", "all csv");
    assert_has(all, "\r\nWG,3,2,1,1,1,50.00%,", "all csv");
    assert_has(all, "\r\n\r\n银行排名\r\n排名,银行,", "all csv");
    free(all);
    free(json);

    /* A later version says what it supersedes and why. */
    json = document(0);
    all = csv_of(json, KF_RENDER_ASSESS_ALL);
    assert_has(all, "\r\n状态,已发布\r\n版本,2\r\n发布时间,2026-07-15 10:00\r\n", "issued csv");
    assert_has(all, "\r\n取代版本摘要,ab12cd34\r\n更正原因,更正 Z-WG-002 的可用时长\r\n",
               "issued csv");
    cr_assert_null(strstr(all, "DRAFT"), "issued");
    free(all);
    free(json);
}

Test(assess_render, xlsx_sheets_cells_and_panes)
{
    static const char *const sheets[] = {"专区考核", "区县汇总", "银行排名", "考核细则", "依据"};
    char *json = document(0), x[512], tmp[520], err[256] = "", *wb, *s, *sheet, *v, want[64];
    struct stat st;

    snprintf(x, sizeof(x), "%s/a.xlsx", tmpdir);
    cr_assert_eq(kf_render_assess_xlsx(json, x, err, sizeof(err)), 0, "%s", err);
    snprintf(tmp, sizeof(tmp), "%s.tmp", x);
    cr_assert_neq(stat(tmp, &st), 0, "the tmp file is renamed");
    wb = output_of("unzip -p", x, "xl/workbook.xml");
    for (int i = 0; i < 5; i++) {
        snprintf(want, sizeof(want), "<sheet name=\"%s\" sheetId=\"%d\"", sheets[i], i + 1);
        assert_has(wb, want, "workbook");
    }
    assert_has(wb, "_xlnm._FilterDatabase", "workbook");
    free(wb);
    s = output_of("unzip -p", x, "xl/sharedStrings.xml");
    assert_has(s, "必达项未达标", "strings");
    assert_has(s, "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13", "strings");
    assert_has(s, "更正 Z-WG-002 的可用时长", "strings");
    cr_assert_null(strstr(s, "DRAFT"), "issued");

    /* 专区考核: the header on row 3 frozen under an autofilter; Z-WG-002 on row 5, its result
     * (column K) 不合格, its total (M) 79.95 and availability (P) 0.94 as numbers. */
    sheet = output_of("unzip -p", x, "xl/worksheets/sheet1.xml");
    assert_has(sheet, "state=\"frozen\"", "sheet1");
    assert_has(sheet, "<autoFilter ref=\"A3:Y7\"", "sheet1");
    v = cell_value(sheet, "K5");
    snprintf(want, sizeof(want), "%d", shared_index(s, "不合格"));
    cr_assert_str_eq(v, want, "K5 is 不合格");
    free(v);
    v = cell_value(sheet, "K4");
    snprintf(want, sizeof(want), "%d", shared_index(s, "合格"));
    cr_assert_str_eq(v, want, "K4 is 合格");
    free(v);
    v = cell_value(sheet, "M5");
    cr_assert_str_eq(v, "79.95");
    free(v);
    v = cell_value(sheet, "P5");
    cr_assert_eq(strtod(v, NULL), 0.94, "P5 %s", v);
    free(v);
    /* Z-WG-003 not assessed: no total, an empty cell. */
    cr_assert(cell_empty(sheet, "M6"), "M6 has a value");
    free(sheet);

    /* 银行排名: rank 1 ABC, its pass rate 0.5 under a percentage. */
    sheet = output_of("unzip -p", x, "xl/worksheets/sheet3.xml");
    v = cell_value(sheet, "A4");
    cr_assert_str_eq(v, "1");
    free(v);
    v = cell_value(sheet, "H4");
    cr_assert_str_eq(v, "0.5");
    free(v);
    free(sheet);
    /* 考核细则: availability's pass mark 0.95, a must. */
    sheet = output_of("unzip -p", x, "xl/worksheets/sheet4.xml");
    assert_has(sheet, "<v>0.95</v>", "sheet4");
    free(sheet);
    sheet = output_of("unzip -p", x, "xl/styles.xml");
    assert_has(sheet, "formatCode=\"0.00%\"", "styles");
    assert_has(sheet, "formatCode=\"0.00\"", "styles");
    assert_has(sheet, "FFFFC7CE", "styles: the failed rows' fill");
    free(sheet);
    free(s);
    free(json);

    /* A draft says so on every sheet, printed, and in the properties. */
    json = document(1);
    cr_assert_eq(kf_render_assess_xlsx(json, x, err, sizeof(err)), 0, "%s", err);
    for (int i = 1; i <= 5; i++) {
        snprintf(want, sizeof(want), "xl/worksheets/sheet%d.xml", i);
        sheet = output_of("unzip -p", x, want);
        assert_has(sheet, "<oddHeader>&amp;C&amp;\"-,Bold\"&amp;14草稿 DRAFT</oddHeader>", want);
        free(sheet);
    }
    s = output_of("unzip -p", x, "docProps/core.xml");
    assert_has(s, "草稿 DRAFT", "core properties");
    free(s);
    s = output_of("unzip -p", x, "xl/sharedStrings.xml");
    assert_has(s, "专区考核 — 草稿 DRAFT", "draft strings");
    assert_has(s, "依据 — 草稿 DRAFT", "draft strings");
    free(s);
    free(json);
}

Test(assess_render, refuses_what_is_not_the_document)
{
    char *json = document(1), *bad, p[512], tmp[520], err[256] = "";
    struct stat st;
    FILE *devnull = fopen("/dev/null", "w");

    snprintf(p, sizeof(p), "%s/bad.xlsx", tmpdir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    cr_assert_eq(kf_render_assess_xlsx("not json", p, err, sizeof(err)), -EINVAL);
    assert_has(err, "not a JSON object", "err");
    cr_assert_eq(kf_render_assess_xlsx("{\"doc\":\"kioskfleet.week/1\"}", p, err, sizeof(err)),
                 -EINVAL);
    assert_has(err, "\"doc\" is not \"kioskfleet.assessment/1\"", "err");
    /* A zone without its total. */
    bad = strdup(json);
    memcpy(strstr(bad, "\"total_cp\""), "\"total_cq\"", 10);
    cr_assert_eq(kf_render_assess_xlsx(bad, p, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "assessment: zones[0].total_cp: missing, must be an integer or null");
    cr_assert_neq(stat(p, &st), 0, "no file for a refused document");
    cr_assert_neq(stat(tmp, &st), 0, "no tmp file either");
    free(bad);
    /* The document without its banks, and with a key it does not have. */
    bad = strdup(json);
    memcpy(strstr(bad, "\"banks\""), "\"bankz\"", 7);
    cr_assert_eq(kf_render_assess_csv(bad, KF_RENDER_ASSESS_ALL, devnull, err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "assessment: \"banks\": missing, must be an array");
    free(bad);
    bad = strdup(json);
    memcpy(strstr(bad, "\"owed_s\""), "\"owed_x\"", 8);
    cr_assert_eq(kf_render_assess_csv(bad, KF_RENDER_ASSESS_ZONES, devnull, err, sizeof(err)),
                 -EINVAL);
    assert_has(err, "zones[0].owed_s: missing", "err");
    free(bad);
    /* A result its reason does not go with; a criterion out of the rubric's order. */
    bad = strdup(json);
    memcpy(strstr(bad, "\"must_pass\",\"total_cp\""), "\"short\"    ", 11);
    cr_assert_eq(kf_render_assess_csv(bad, KF_RENDER_ASSESS_ZONES, devnull, err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "assessment: zones[1].reason: not a reason of the result");
    free(bad);
    bad = strdup(json);
    memcpy(strstr(strstr(bad, "\"zones\""), "\"measure\":\"activity\"") + 11, "response", 8);
    cr_assert_eq(kf_render_assess_csv(bad, KF_RENDER_ASSESS_ZONES, devnull, err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "assessment: zones[0].criteria[0].measure: not the rubric's criterion "
                          "in its place");
    free(bad);
    cr_assert_eq(kf_render_assess_csv(json, 9, devnull, err, sizeof(err)), -EINVAL);
    cr_assert_eq(kf_render_assess_view("banks"), KF_RENDER_ASSESS_BANKS);
    cr_assert_eq(kf_render_assess_view("bank"), -1);
    fclose(devnull);
    free(json);
}
