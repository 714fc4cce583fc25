/* test_render.c: a bill's JSON as CSV, XLSX and PDF (server/render, kf_render). The CSV is
 * compared byte for byte; the XLSX and the PDF are read back with the tools a person would
 * use (unzip, pdftotext), since what counts is what a reader gets out of them. A bill that
 * does not match the spec is refused and leaves no file. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "kf_test.h"
#include "render/render.h"
#include "render/render_int.h"

#define FIXTURES KF_SOURCE_DIR "/tests/data/render/"

/* Three lines, two rates, a credit whose text needs quoting and an adjustment whose text
 * Excel would take for a formula. */
static const char small_bill[] =
    "{\"doc\":\"kioskfleet.bill/1\",\"status\":\"issued\",\"number\":\"ICBC-000001\","
    "\"bank\":{\"code\":\"ICBC\",\"name\":\"中国工商银行\"},\"period\":\"2026-09\","
    "\"from_ms\":1788192000000,\"to_ms\":1790784000000,\"issued_at_ms\":1790992800000,"
    "\"prices_include_tax\":false,\"contracts\":[{\"id\":\"ICBC-2026\",\"version\":1,"
    "\"effective_from\":\"2026-01-01\",\"effective_to\":null}],\"lines\":["
    "{\"no\":1,\"kind\":\"lease\",\"asset\":\"K-1\",\"terminal_kind\":\"kiosk\",\"model\":null,"
    "\"zone\":\"Z-1\",\"period\":\"2026-09\",\"days\":30,\"period_days\":30,\"unit_fen\":120000,"
    "\"basis\":null,\"net_fen\":120000,\"tax_rate_bp\":1300,\"tax_fen\":15600,"
    "\"gross_fen\":135600,\"text\":\"租赁费 K-1\"},"
    "{\"no\":2,\"kind\":\"credit\",\"asset\":\"K-1\",\"terminal_kind\":\"kiosk\",\"model\":null,"
    "\"zone\":\"Z-1\",\"period\":\"2026-09\",\"days\":null,\"period_days\":null,"
    "\"unit_fen\":null,\"basis\":{\"availability_bp\":9619,\"target_bp\":9800,\"share_bp\":500,"
    "\"breaches\":1},\"net_fen\":-1500,\"tax_rate_bp\":600,\"tax_fen\":-90,\"gross_fen\":-1590,"
    "\"text\":\"服务抵扣 5%, \\\"SLA\\\"\"},"
    "{\"no\":3,\"kind\":\"adjustment\",\"asset\":\"K-1\",\"terminal_kind\":\"kiosk\","
    "\"model\":null,\"zone\":\"Z-1\",\"period\":\"2026-08\",\"days\":null,\"period_days\":null,"
    "\"unit_fen\":null,\"basis\":{\"ref\":\"ICBC-000003\",\"line\":4},\"net_fen\":-7742,"
    "\"tax_rate_bp\":1300,\"tax_fen\":-1006,\"gross_fen\":-8748,"
    "\"text\":\"+更正调整 ICBC-000003 第 4 行\"}],"
    "\"totals\":{\"by_rate\":[{\"tax_rate_bp\":600,\"net_fen\":-1500,\"tax_fen\":-90,"
    "\"gross_fen\":-1590},{\"tax_rate_bp\":1300,\"net_fen\":112258,\"tax_fen\":14594,"
    "\"gross_fen\":126852}],\"net_fen\":110758,\"tax_fen\":14504,\"gross_fen\":125262},"
    "\"gross_capital\":\"人民币壹仟贰佰伍拾贰元陆角贰分\","
    "\"inputs\":{\"contracts\":"
    "\"2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6\"}}";

static const char small_csv[] =
    "\xEF\xBB\xBF"
    "账单编号,ICBC-000001\r\n"
    "银行,中国工商银行 (ICBC)\r\n"
    "所属期,2026-09\r\n"
    "开具日期,2026-10-03\r\n"
    "价税合计(大写),人民币壹仟贰佰伍拾贰元陆角贰分\r\n"
    "\r\n"
    "行号,类别,资产编号,类型,型号,网点/专区,所属期,服务天数,当月天数,单价(元),"
    "不含税金额(元),税率,税额(元),价税合计(元),说明\r\n"
    "1,租赁费,K-1,一体机,,Z-1,2026-09,30,30,1200.00,1200.00,13%,156.00,1356.00,租赁费 K-1\r\n"
    "2,服务抵扣,K-1,一体机,,Z-1,2026-09,,,,-15.00,6%,-0.90,-15.90,\"服务抵扣 5%, \"\"SLA\"\"\"\r\n"
    "3,更正调整,K-1,一体机,,Z-1,2026-08,,,,-77.42,13%,-10.06,-87.48,"
    "'+更正调整 ICBC-000003 第 4 行\r\n"
    "\r\n"
    ",小计,,,,,,,,,-15.00,6%,-0.90,-15.90,税率 6% 小计\r\n"
    ",小计,,,,,,,,,1122.58,13%,145.94,1268.52,税率 13% 小计\r\n"
    ",合计,,,,,,,,,1107.58,,145.04,1252.62,价税合计\r\n";

static char tmpdir[256];

static void setup(void)
{
    kf_test_tmpdir("kf-test-render", tmpdir, sizeof(tmpdir));
}

static void teardown(void)
{
    kf_test_rmtree(tmpdir);
}

TestSuite(render, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
    return buf;
}

/* Whether name exists in tmpdir (its own buffer: path_in's is the caller's path). */
static int exists_in(const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return stat(path, &st) == 0;
}

/* What "before 'path' after" prints (owned); fails the test if it fails. */
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

static char *csv_of(const char *json)
{
    char *buf = NULL, err[256] = "";
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);

    cr_assert_eq(kf_render_bill_csv(json, mem, err, sizeof(err)), 0, "%s", err);
    fclose(mem);
    return buf;
}

static void assert_has(const char *hay, const char *needle, const char *what)
{
    cr_assert_not_null(strstr(hay, needle), "%s lacks \"%s\"", what, needle);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *s = hay; (s = strstr(s, needle)) != NULL; s += strlen(needle))
        n++;
    return n;
}

/* The sample bill with 300 lines (150 leases at 13%, 150 maintenance at 6%): enough for
 * several pages. */
static char *long_bill(void)
{
    char *src = kf_test_read_file(FIXTURES "bill-draft.json"), *out;
    json_t *b = json_loads(src, 0, NULL), *lines = json_array(), *totals;
    char asset[32], text[96];

    cr_assert_not_null(b);
    for (int i = 0; i < 300; i++) {
        int lease = i % 2 == 0;
        snprintf(asset, sizeof(asset), "K-XH-%03d-1", i / 2 + 1);
        snprintf(text, sizeof(text), "%s %s 2026-09 (30/30 天)", lease ? "租赁费" : "维护费",
                 asset);
        json_array_append_new(
            lines, json_pack("{s:i,s:s,s:s,s:s,s:n,s:s,s:s,s:i,s:i,s:i,s:n,s:i,s:i,s:i,s:i,s:s}",
                             "no", i + 1, "kind", lease ? "lease" : "maintenance", "asset", asset,
                             "terminal_kind", "kiosk", "model", "zone", "Z-XH-001", "period",
                             "2026-09", "days", 30, "period_days", 30, "unit_fen",
                             lease ? 100000 : 10000, "basis", "net_fen", lease ? 100000 : 10000,
                             "tax_rate_bp", lease ? 1300 : 600, "tax_fen", lease ? 13000 : 600,
                             "gross_fen", lease ? 113000 : 10600, "text", text));
    }
    totals = json_pack("{s:[{s:i,s:i,s:i,s:i},{s:i,s:i,s:i,s:i}],s:I,s:I,s:I}", "by_rate",
                       "tax_rate_bp", 600, "net_fen", 1500000, "tax_fen", 90000, "gross_fen",
                       1590000, "tax_rate_bp", 1300, "net_fen", 15000000, "tax_fen", 1950000,
                       "gross_fen", 16950000, "net_fen", (json_int_t)16500000, "tax_fen",
                       (json_int_t)2040000, "gross_fen", (json_int_t)18540000);
    json_object_set_new(b, "lines", lines);
    json_object_set_new(b, "totals", totals);
    json_object_set_new(b, "gross_capital", json_string("人民币壹拾捌万伍仟肆佰元整"));
    out = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(b);
    free(src);
    return out;
}

Test(render, money_is_exact_fen)
{
    char b[KF__RENDER_MONEY_CAP];

    cr_assert_str_eq(kf__render_money(0, 1, b, sizeof(b)), "0.00");
    cr_assert_str_eq(kf__render_money(5, 1, b, sizeof(b)), "0.05");
    cr_assert_str_eq(kf__render_money(-5, 1, b, sizeof(b)), "-0.05");
    cr_assert_str_eq(kf__render_money(123456, 1, b, sizeof(b)), "1,234.56");
    cr_assert_str_eq(kf__render_money(-123456, 1, b, sizeof(b)), "-1,234.56");
    cr_assert_str_eq(kf__render_money(-100000, 1, b, sizeof(b)), "-1,000.00");
    cr_assert_str_eq(kf__render_money(99999, 1, b, sizeof(b)), "999.99");
    cr_assert_str_eq(kf__render_money(123456789012, 1, b, sizeof(b)), "1,234,567,890.12");
    cr_assert_str_eq(kf__render_money(123456789012, 0, b, sizeof(b)), "1234567890.12");
    /* Past what a double holds to the fen. */
    cr_assert_str_eq(kf__render_money(INT64_MAX, 0, b, sizeof(b)), "92233720368547758.07");
    cr_assert_str_eq(kf__render_money(INT64_MIN, 1, b, sizeof(b)), "-92,233,720,368,547,758.08");
}

Test(render, rates_read_as_people_write_them)
{
    char b[KF__RENDER_RATE_CAP];

    cr_assert_str_eq(kf__render_rate(1300, b, sizeof(b)), "13%");
    cr_assert_str_eq(kf__render_rate(600, b, sizeof(b)), "6%");
    cr_assert_str_eq(kf__render_rate(650, b, sizeof(b)), "6.5%");
    cr_assert_str_eq(kf__render_rate(1, b, sizeof(b)), "0.01%");
    cr_assert_str_eq(kf__render_rate(0, b, sizeof(b)), "0%");
    cr_assert_str_eq(kf__render_rate(10000, b, sizeof(b)), "100%");
}

Test(render, csv_has_the_exact_bytes_excel_wants)
{
    char *csv = csv_of(small_bill);

    cr_assert_str_eq(csv, small_csv);
    free(csv);
}

Test(render, csv_of_the_sample_starts_with_a_bom_and_ends_lines_with_crlf)
{
    char *json = kf_test_read_file(FIXTURES "bill-draft.json"), *csv = csv_of(json);

    cr_assert(strncmp(csv, "\xEF\xBB\xBF账单编号,草稿 DRAFT\r\n", 22) == 0, "%.40s", csv);
    for (const char *s = strchr(csv, '\n'); s; s = strchr(s + 1, '\n'))
        cr_assert_eq(s[-1], '\r', "a bare LF at byte %td", s - csv);
    assert_has(csv, "开具日期,未开具\r\n", "draft CSV");
    assert_has(csv, ",合计,,,,,,,,,4057.58,,450.14,4507.72,价税合计\r\n", "draft CSV");
    free(csv);
    free(json);
}

Test(render, xlsx_holds_the_sheets_values_and_formats)
{
    char *json = kf_test_read_file(FIXTURES "bill-issued.json"), err[256] = "";
    const char *x = path_in("bill.xlsx");
    char *wb, *strings, *sheet1, *core;

    cr_assert_eq(kf_render_bill_xlsx(json, x, err, sizeof(err)), 0, "%s", err);
    cr_assert(!exists_in("bill.xlsx.tmp"));
    wb = output_of("unzip -p", x, "xl/workbook.xml");
    assert_has(wb, "name=\"账单\"", "workbook.xml");
    assert_has(wb, "name=\"汇总\"", "workbook.xml");
    assert_has(wb, "name=\"依据\"", "workbook.xml");
    strings = output_of("unzip -p", x, "xl/sharedStrings.xml");
    assert_has(strings, "ICBC-000004", "sharedStrings.xml");
    assert_has(strings, "中国工商银行 (ICBC)", "sharedStrings.xml");
    assert_has(strings, "人民币肆仟伍佰零柒元柒角贰分", "sharedStrings.xml");
    assert_has(strings, "不含税金额(元)", "sharedStrings.xml");
    cr_assert_null(strstr(strings, "草稿"), "an issued bill says 草稿");
    sheet1 = output_of("unzip -p", x, "xl/worksheets/sheet1.xml");
    /* Amounts are numbers, the header row is frozen, the table filters. */
    assert_has(sheet1, "<v>4507.72</v>", "sheet1.xml");
    assert_has(sheet1, "<v>-77.42</v>", "sheet1.xml");
    assert_has(sheet1, "<pane ySplit=\"6\"", "sheet1.xml");
    assert_has(sheet1, "<autoFilter ref=\"A6:O16\"", "sheet1.xml");
    free(wb);
    wb = output_of("unzip -p", x, "xl/styles.xml");
    assert_has(wb, "formatCode=\"#,##0.00\"", "styles.xml");
    free(wb);
    /* 依据: the inputs' digests in full. */
    wb = output_of("unzip -p", x, "xl/sharedStrings.xml");
    assert_has(wb, "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
               "sharedStrings.xml");
    core = output_of("unzip -p", x, "docProps/core.xml");
    assert_has(core, "已开具", "core.xml");
    free(wb);
    free(strings);
    free(sheet1);
    free(core);
    free(json);
}

Test(render, xlsx_of_a_draft_says_so_on_every_sheet_and_in_its_properties)
{
    char *json = kf_test_read_file(FIXTURES "bill-draft.json"), err[256] = "", *s;
    const char *x = path_in("draft.xlsx");

    cr_assert_eq(kf_render_bill_xlsx(json, x, err, sizeof(err)), 0, "%s", err);
    for (int i = 1; i <= 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), "xl/worksheets/sheet%d.xml", i);
        s = output_of("unzip -p", x, name);
        assert_has(s, "<oddHeader>&amp;C&amp;\"-,Bold\"&amp;14草稿 DRAFT</oddHeader>", name);
        free(s);
    }
    s = output_of("unzip -p", x, "xl/sharedStrings.xml");
    assert_has(s, "租赁及维护服务费账单 汇总 — 草稿 DRAFT", "sharedStrings.xml");
    assert_has(s, "租赁及维护服务费账单 依据 — 草稿 DRAFT", "sharedStrings.xml");
    free(s);
    s = output_of("unzip -p", x, "docProps/core.xml");
    assert_has(s, "草稿 DRAFT", "core.xml");
    free(s);
    free(json);
}

Test(render, pdf_of_an_issued_bill_reads_back)
{
    char *json = kf_test_read_file(FIXTURES "bill-issued.json"), err[256] = "", *t;
    const char *p = path_in("bill.pdf");

    cr_assert_eq(kf_render_bill_pdf(json, p, err, sizeof(err)), 0, "%s", err);
    cr_assert(!exists_in("bill.pdf.tmp"));
    t = output_of("pdftotext -enc UTF-8", p, "-");
    assert_has(t, "租赁及维护服务费账单", "pdftotext");
    assert_has(t, "中国工商银行 (ICBC)", "pdftotext");
    assert_has(t, "ICBC-000004", "pdftotext");
    assert_has(t, "2026-10-03", "pdftotext");
    assert_has(t, "人民币肆仟伍佰零柒元柒角贰分", "pdftotext");
    assert_has(t, "4,507.72", "pdftotext");
    assert_has(t, "-77.42", "pdftotext");
    assert_has(t, "第 1 页 共 1 页", "pdftotext");
    assert_has(t, "kioskctl bill export", "pdftotext");
    assert_has(t, "2e7d2c03a9507ae2", "pdftotext");
    cr_assert_null(strstr(t, "草稿"), "an issued bill says 草稿");
    free(t);
    free(json);
}

Test(render, pdf_of_a_draft_says_so)
{
    char *json = kf_test_read_file(FIXTURES "bill-draft.json"), err[256] = "", *t;
    const char *p = path_in("draft.pdf");

    cr_assert_eq(kf_render_bill_pdf(json, p, err, sizeof(err)), 0, "%s", err);
    t = output_of("pdftotext -enc UTF-8", p, "-");
    assert_has(t, "草稿", "pdftotext");
    assert_has(t, "DRAFT", "pdftotext");
    assert_has(t, "人民币肆仟伍佰零柒元柒角贰分", "pdftotext");
    free(t);
    free(json);
}

Test(render, pdf_of_300_lines_breaks_pages_and_repeats_the_header)
{
    char *json = long_bill(), err[256] = "", *t, cmd[128], want[64];
    const char *p = path_in("long.pdf");
    int pages;

    cr_assert_eq(kf_render_bill_pdf(json, p, err, sizeof(err)), 0, "%s", err);
    t = output_of("pdfinfo", p, "");
    cr_assert_eq(sscanf(strstr(t, "Pages:"), "Pages: %d", &pages), 1);
    free(t);
    cr_assert_geq(pages, 5, "300 lines on %d pages", pages);
    for (int i = 1; i <= pages; i++) {
        snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 -f %d -l %d", i, i);
        t = output_of(cmd, p, "-");
        snprintf(want, sizeof(want), "第 %d 页 共 %d 页", i, pages);
        assert_has(t, want, cmd);
        assert_has(t, "草稿", cmd);
        if (i < pages)
            assert_has(t, "资产编号", cmd);
        free(t);
    }
    t = output_of("pdftotext -enc UTF-8", p, "-");
    assert_has(t, "K-XH-150-1", "pdftotext");
    assert_has(t, "185,400.00", "pdftotext");
    assert_has(t, "人民币壹拾捌万伍仟肆佰元整", "pdftotext");
    cr_assert_geq(count_of(t, "资产编号"), pages - 1, "the header is not on every page");
    free(t);
    free(json);
}

/* Nothing at path, nothing at path.tmp, and a message. */
static void assert_refused(const char *json, const char *needle)
{
    char err[256] = "", *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);

    cr_assert_lt(kf_render_bill_csv(json, mem, err, sizeof(err)), 0);
    fclose(mem);
    cr_assert_eq(len, 0, "the CSV was begun");
    free(buf);
    cr_assert_not_null(strstr(err, needle), "message \"%s\" lacks \"%s\"", err, needle);
    err[0] = '\0';
    cr_assert_eq(kf_render_bill_xlsx(json, path_in("bad.xlsx"), err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, needle), "message \"%s\" lacks \"%s\"", err, needle);
    err[0] = '\0';
    cr_assert_eq(kf_render_bill_pdf(json, path_in("bad.pdf"), err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, needle), "message \"%s\" lacks \"%s\"", err, needle);
    cr_assert(!exists_in("bad.xlsx") && !exists_in("bad.xlsx.tmp"));
    cr_assert(!exists_in("bad.pdf") && !exists_in("bad.pdf.tmp"));
}

/* The issued sample with one change made through jansson. */
static char *sample_with(const char *key, json_t *value)
{
    char *src = kf_test_read_file(FIXTURES "bill-issued.json"), *out;
    json_t *b = json_loads(src, 0, NULL);

    cr_assert_not_null(b);
    if (value)
        json_object_set_new(b, key, value);
    else
        json_object_del(b, key);
    out = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(b);
    free(src);
    return out;
}

Test(render, refuses_malformed_json)
{
    assert_refused("{\"doc\":\"kioskfleet.bill/1\",", "not JSON");
    assert_refused("[]", "not a JSON object");
}

Test(render, refuses_a_bill_without_lines)
{
    char *json = sample_with("lines", NULL);
    assert_refused(json, "lines: missing");
    free(json);
}

Test(render, refuses_wrong_types_unknown_keys_and_sums_that_do_not_add_up)
{
    char *src = kf_test_read_file(FIXTURES "bill-issued.json"), *json;
    json_t *b = json_loads(src, 0, NULL), *line;

    /* An amount as a float: money is integer fen. */
    line = json_array_get(json_object_get(b, "lines"), 2);
    json_object_set_new(line, "net_fen", json_real(480.0));
    json = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_refused(json, "lines[2].net_fen: not an integer");
    free(json);
    /* A line's gross that is not net + tax. */
    json_object_set_new(line, "net_fen", json_integer(48000));
    json_object_set_new(line, "gross_fen", json_integer(54241));
    json = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_refused(json, "lines[2].gross_fen");
    free(json);
    /* Totals that are not the lines' sum. */
    json_object_set_new(line, "tax_fen", json_integer(6241));
    json = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_refused(json, "totals.by_rate[1]: not the sum");
    free(json);
    json_decref(b);
    free(src);

    json = sample_with("surprise", json_true());
    assert_refused(json, "unknown key \"surprise\"");
    free(json);
    json = sample_with("status", json_string("paid"));
    assert_refused(json, "status: unknown value");
    free(json);
    json = sample_with("number", json_null());
    assert_refused(json, "issued but number");
    free(json);
}

Test(render, a_failed_write_leaves_nothing)
{
    char *json = kf_test_read_file(FIXTURES "bill-issued.json"), err[256] = "";

    cr_assert_neq(kf_render_bill_pdf(json, path_in("no/such/dir/bill.pdf"), err, sizeof(err)), 0);
    cr_assert_neq(err[0], '\0');
    cr_assert_neq(kf_render_bill_xlsx(json, path_in("no/such/dir/bill.xlsx"), err, sizeof(err)), 0);
    cr_assert_neq(err[0], '\0');
    free(json);
}
