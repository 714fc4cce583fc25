/* test_print.c: kioskctl's output (kioskctl/print.c, docs/KIOSKCTL.md "Formats"): CSV for
 * Excel (a BOM, or GBK with an error naming the row), JSON with one type per field, tables
 * that keep their shape, texts that never become formulas. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kioskctl/ctl.h"
#include "store/query.h"

/* A one-row zone table: codes, a name, a count, a time, a duration, a flag, nothing. */
static struct kf_qtable *zone_table(const char *zone_name, const char *note)
{
    static const char *const cols[] = {"from",  "zone",   "zone_name", "total", "since",
                                       "dur_s", "online", "note",      NULL};
    const char *row[] = {"2026-11-27",    "Z-XH-004", zone_name, "12",
                         "1795743062000", "3900",     "1",       note};
    struct kf_qtable *t = kf_store_query_table_new("usage", "usage", cols, "DxxitsbX");

    cr_assert_not_null(t);
    cr_assert_eq(kf_store_query_table_add_row(t, row), 0);
    return t;
}

static char *render(const struct kf_qtable *t, enum kf_ctl_format fmt, enum kf_ctl_encoding enc,
                    int vertical)
{
    char *buf = NULL, err[256];
    size_t len = 0;

    cr_assert_eq(kf_ctl_render_table(t, fmt, enc, vertical, &buf, &len, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(strlen(buf), len);
    return buf;
}

Test(print, csv_is_utf8_with_a_bom_and_no_title)
{
    struct kf_qtable *t = zone_table("新新街服务专区", NULL);
    char *csv = render(t, KF_FMT_CSV, KF_ENC_UTF8, 0);

    cr_assert_str_eq(csv, "\xef\xbb\xbf"
                          "from,zone,zone_name,total,since,dur_s,online,note\n"
                          "2026-11-27,Z-XH-004,新新街服务专区,12,2026-11-27 09:31:02,3900,1,\n");
    free(csv);
    kf_store_query_table_free(t);
}

Test(print, csv_in_gbk_reads_back_and_refuses_what_gbk_lacks)
{
    struct kf_qtable *t = zone_table("新新街服务专区", NULL);
    char *csv = render(t, KF_FMT_CSV, KF_ENC_GBK, 0), *buf = NULL, err[256];
    size_t len = 0;

    /* 新 is C2 C2 in GBK; no BOM. */
    cr_assert(strncmp(csv, "from,", 5) == 0);
    cr_assert_not_null(strstr(csv, "Z-XH-004,\xd0\xc2\xd0\xc2"));
    free(csv);
    kf_store_query_table_free(t);
    t = zone_table("\xf0\xa0\xae\xb7"
                   "服务专区",
                   NULL); /* U+20BB7 has no GBK code */
    cr_assert_eq(kf_ctl_render_table(t, KF_FMT_CSV, KF_ENC_GBK, 0, &buf, &len, err, sizeof(err)),
                 -EILSEQ);
    cr_assert_null(buf);
    cr_assert_not_null(strstr(err, "Z-XH-004"), "%s", err);
    cr_assert_not_null(strstr(err, "zone_name"), "%s", err);
    cr_assert_not_null(strstr(err, "U+20BB7"), "%s", err);
    kf_store_query_table_free(t);
}

Test(print, csv_quotes_and_never_writes_a_formula)
{
    struct kf_qtable *t = zone_table("a, \"b\"", "=HYPERLINK(\"x\")");
    char *csv = render(t, KF_FMT_CSV, KF_ENC_UTF8, 0);

    cr_assert_not_null(strstr(csv, ",\"a, \"\"b\"\"\",12,"), "%s", csv);
    cr_assert_not_null(strstr(csv, ",\"'=HYPERLINK(\"\"x\"\")\"\n"), "%s", csv);
    free(csv);
    kf_store_query_table_free(t);
}

Test(print, json_has_one_type_per_field)
{
    struct kf_qtable *t = zone_table("新新街服务专区", NULL);
    char *s = render(t, KF_FMT_JSON, KF_ENC_UTF8, 0);
    json_t *j = json_loads(s, 0, NULL), *row;

    cr_assert(json_is_array(j));
    row = json_array_get(j, 0);
    cr_assert(json_is_string(json_object_get(row, "from")));
    cr_assert(json_is_integer(json_object_get(row, "total")));
    cr_assert_str_eq(json_string_value(json_object_get(row, "since")), "2026-11-27T09:31:02+08:00");
    cr_assert_eq(json_integer_value(json_object_get(row, "dur_s")), 3900);
    cr_assert(json_is_true(json_object_get(row, "online")));
    cr_assert(json_is_null(json_object_get(row, "note")));
    json_decref(j);
    free(s);
    kf_store_query_table_free(t);
}

Test(print, a_one_row_table_keeps_its_shape)
{
    struct kf_qtable *t = zone_table("新新街服务专区", NULL);
    char *s = render(t, KF_FMT_TABLE, KF_ENC_UTF8, 0);

    /* Files-only columns (from, note) are left out; durations and flags read as words. */
    cr_assert_str_eq(s, "== usage ==\n"
                        "zone      zone_name       total  since                  dur  online\n"
                        "--------  --------------  -----  -------------------  -----  ------\n"
                        "Z-XH-004  新新街服务专区     12  2026-11-27 09:31:02  1h05m  yes\n");
    free(s);
    s = render(t, KF_FMT_TABLE, KF_ENC_UTF8, 1);
    cr_assert_not_null(strstr(s, "\nzone_name  新新街服务专区\n"), "%s", s);
    free(s);
    kf_store_query_table_free(t);
}
