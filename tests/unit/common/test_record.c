/* Record: strict parsing, canonical formatting, RECORDS bodies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kf/envelope.h>
#include <kf/record.h>

#define TS "1767254395000"

static const char *const canonical[] = {
    "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"SB-003\",\"outcome\":\"ok\",\"dur_ms\":93000}",
    "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"GJJ-012\",\"outcome\":\"abandoned\",\"dur_ms\":0}",
    "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":153,\"mem_total_kb\":8041236,"
    "\"mem_avail_kb\":5012344,\"disk_total_kb\":122030736,\"disk_avail_kb\":80000000,"
    "\"temp_mc\":41000,\"uptime_s\":86400,\"net_rx\":123456789,\"net_tx\":9876543,"
    "\"net_up\":true}",
    "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":0,\"mem_total_kb\":0,\"mem_avail_kb\":0,"
    "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"temp_mc\":null,\"uptime_s\":0,\"net_rx\":0,"
    "\"net_tx\":0,\"net_up\":false}",
    "{\"t\":\"periph\",\"ts\":" TS ",\"dev\":\"a4_printer\",\"state\":\"paper_low\"}",
    "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"PRN-JAM\",\"sev\":\"critical\",\"action\":\"raise\","
    "\"dev\":\"receipt_printer\",\"text\":\"paper jam at cutter\"}",
    "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"NET_DOWN\",\"sev\":\"info\",\"action\":\"clear\"}",
    "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"APP-CRASH\",\"sev\":\"major\",\"action\":\"raise\","
    "\"text\":\"客户端异常 \\\"quoted\\\" \\\\ back\"}",
    "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"on\",\"tech\":\"T-0042\"}",
    "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"off\"}",
    "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"off\",\"tech\":\"tech:wang.li@site-3\"}",
    "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"SB-003\",\"outcome\":\"ok\",\"dur_ms\":93000,"
    "\"app_id\":\"J-2026/000123\"}",
    "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"NET_DOWN\",\"sev\":\"info\",\"action\":\"clear\","
    "\"app_id\":\"a.b:c_d-9\"}",
};

Test(record, canonical_texts_round_trip_exactly)
{
    for (size_t i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++) {
        struct kf_record r;
        char buf[KF_RECORD_JSON_MAX];
        size_t n;

        cr_assert_eq(kf_record_parse(canonical[i], strlen(canonical[i]), &r), 0, "%s",
                     canonical[i]);
        cr_assert_eq(kf_record_format(&r, buf, sizeof(buf), &n), 0);
        cr_assert_eq(n, strlen(canonical[i]));
        cr_assert_eq(memcmp(buf, canonical[i], n), 0, "%.*s", (int)n, buf);
    }
}

Test(record, fields_land_in_the_struct)
{
    struct kf_record r;

    cr_assert_eq(kf_record_parse(canonical[0], strlen(canonical[0]), &r), 0);
    cr_assert_eq(r.type, KF_REC_TXN);
    cr_assert_eq(r.ts_ms, 1767254395000LL);
    cr_assert_str_eq(r.u.txn.item, "SB-003");
    cr_assert_eq(r.u.txn.outcome, KF_OUTCOME_OK);
    cr_assert_eq(r.u.txn.dur_ms, 93000);
    cr_assert_eq(kf_record_parse(canonical[3], strlen(canonical[3]), &r), 0);
    cr_assert_eq(r.u.health.temp_mc, KF_TEMP_NONE);
    cr_assert_eq(r.u.health.net_up, 0);
    cr_assert_eq(kf_record_parse(canonical[5], strlen(canonical[5]), &r), 0);
    cr_assert_eq(r.u.fault.periph, KF_PERIPH_RECEIPT_PRINTER);
    cr_assert_eq(r.u.fault.raise, 1);
    cr_assert_eq(r.u.fault.sev, KF_SEV_CRITICAL);
    cr_assert_eq(kf_record_parse(canonical[6], strlen(canonical[6]), &r), 0);
    cr_assert_eq(r.u.fault.periph, 0);
    cr_assert_eq(r.u.fault.raise, 0);
    cr_assert_str_eq(r.u.fault.text, "");
    cr_assert_eq(kf_record_parse(canonical[8], strlen(canonical[8]), &r), 0);
    cr_assert_eq(r.type, KF_REC_MAINT);
    cr_assert_eq(r.u.maint.on, 1);
    cr_assert_str_eq(r.u.maint.tech, "T-0042");
    cr_assert_eq(kf_record_parse(canonical[9], strlen(canonical[9]), &r), 0);
    cr_assert_eq(r.u.maint.on, 0);
    cr_assert_str_eq(r.u.maint.tech, "");
    cr_assert_str_eq(r.app_id, "");
    cr_assert_eq(kf_record_parse(canonical[11], strlen(canonical[11]), &r), 0);
    cr_assert_str_eq(r.app_id, "J-2026/000123");
}

/* The application's id is where kf_record_format puts it, whatever the input order. */
Test(record, app_id_goes_last_in_canonical_form)
{
    const char *in = "{\"app_id\":\"J-7\",\"t\":\"maint\",\"state\":\"on\",\"tech\":\"T-1\","
                     "\"ts\":1767254395000}";
    struct kf_record r;
    char buf[256];
    size_t n;

    cr_assert_eq(kf_record_parse(in, strlen(in), &r), 0);
    cr_assert_eq(kf_record_format(&r, buf, sizeof(buf), &n), 0);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "{\"t\":\"maint\",\"ts\":1767254395000,\"state\":\"on\",\"tech\":"
                          "\"T-1\",\"app_id\":\"J-7\"}");
}

Test(record, key_order_and_whitespace_do_not_matter_on_input)
{
    const char *in = " { \"outcome\" : \"failed\", \"dur_ms\":5, \"item\":\"YB-1\", "
                     "\"ts\":1767254395000, \"t\":\"txn\" }\n";
    struct kf_record r;
    char buf[256];
    size_t n;

    cr_assert_eq(kf_record_parse(in, strlen(in), &r), 0);
    cr_assert_eq(kf_record_format(&r, buf, sizeof(buf), &n), 0);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "{\"t\":\"txn\",\"ts\":1767254395000,\"item\":\"YB-1\",\"outcome\":"
                          "\"failed\",\"dur_ms\":5}");
}

Test(record, rejects_bad_records)
{
    static const char *bad[] = {
        "[]",
        "42",
        "{}",
        "{\"t\":\"txn\"}",
        "{\"t\":\"nope\",\"ts\":" TS "}",
        /* unknown key, duplicate key, missing key */
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"SB-003\",\"outcome\":\"ok\",\"dur_ms\":1,\"x\":1}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"SB-003\",\"item\":\"SB-004\",\"outcome\":\"ok\","
        "\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"SB-003\",\"outcome\":\"ok\"}",
        /* ts bounds and type */
        "{\"t\":\"txn\",\"ts\":1577836799999,\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":4102444800000,\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":\"" TS "\",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":1767254395000.0,\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1}",
        /* item code */
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"\",\"outcome\":\"ok\",\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"sb-003\",\"outcome\":\"ok\",\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"SB_003\",\"outcome\":\"ok\",\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":" TS
        ",\"item\":\"ABCDEFGHIJKLMNOPQ\",\"outcome\":\"ok\",\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"SB\\u0000\",\"outcome\":\"ok\",\"dur_ms\":1}",
        /* outcome, duration */
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"A\",\"outcome\":\"OK\",\"dur_ms\":1}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":86400001}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":-1}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":true}",
        /* health ranges */
        "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":1001,\"mem_total_kb\":0,\"mem_avail_kb\":0,"
        "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"temp_mc\":null,\"uptime_s\":0,\"net_rx\":0,"
        "\"net_tx\":0,\"net_up\":false}",
        "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":1,\"mem_total_kb\":0,\"mem_avail_kb\":0,"
        "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"temp_mc\":150001,\"uptime_s\":0,\"net_rx\":0,"
        "\"net_tx\":0,\"net_up\":false}",
        "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":1,\"mem_total_kb\":0,\"mem_avail_kb\":0,"
        "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"temp_mc\":-50001,\"uptime_s\":0,\"net_rx\":0,"
        "\"net_tx\":0,\"net_up\":false}",
        "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":1,\"mem_total_kb\":10,\"mem_avail_kb\":11,"
        "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"temp_mc\":null,\"uptime_s\":0,\"net_rx\":0,"
        "\"net_tx\":0,\"net_up\":false}",
        "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":1,\"mem_total_kb\":0,\"mem_avail_kb\":0,"
        "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"temp_mc\":null,\"uptime_s\":0,\"net_rx\":-1,"
        "\"net_tx\":0,\"net_up\":false}",
        "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":1,\"mem_total_kb\":0,\"mem_avail_kb\":0,"
        "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"temp_mc\":null,\"uptime_s\":0,\"net_rx\":0,"
        "\"net_tx\":0,\"net_up\":1}",
        "{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":1,\"mem_total_kb\":0,\"mem_avail_kb\":0,"
        "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"uptime_s\":0,\"net_rx\":0,"
        "\"net_tx\":0,\"net_up\":true}",
        /* periph names */
        "{\"t\":\"periph\",\"ts\":" TS ",\"dev\":\"toaster\",\"state\":\"online\"}",
        "{\"t\":\"periph\",\"ts\":" TS ",\"dev\":\"screen\",\"state\":\"melted\"}",
        /* fault */
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"prn\",\"sev\":\"info\",\"action\":\"raise\"}",
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"ABCDEFGHIJKLMNOPQRSTUVWXY\",\"sev\":\"info\","
        "\"action\":\"raise\"}",
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"fatal\",\"action\":\"raise\"}",
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\",\"action\":\"toggle\"}",
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\",\"action\":\"raise\","
        "\"dev\":\"toaster\"}",
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\",\"action\":\"raise\","
        "\"text\":\"line\\nbreak\"}",
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\",\"action\":\"raise\","
        "\"text\":null}",
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\",\"action\":\"raise\","
        "\"text\":\"\xff\xfe\"}",
        /* nesting */
        "{\"t\":\"periph\",\"ts\":" TS ",\"dev\":[\"screen\"],\"state\":\"online\"}",
        "{\"t\":\"txn\",\"ts\":" TS ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1} trailing",
        /* maint: state, technician required when entering, its charset and length */
        "{\"t\":\"maint\",\"ts\":" TS "}",
        "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"on\"}",
        "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"ON\",\"tech\":\"T-1\"}",
        "{\"t\":\"maint\",\"ts\":" TS ",\"state\":true,\"tech\":\"T-1\"}",
        "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"on\",\"tech\":\"\"}",
        "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"off\",\"tech\":\"\"}",
        "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"on\",\"tech\":\"wang li\"}",
        "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"on\",\"tech\":\"王师傅\"}",
        "{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"on\",\"tech\":\"T-1\",\"dev\":\"screen\"}",
        "{\"t\":\"maint\",\"ts\":" TS
        ",\"state\":\"on\",\"tech\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\"}",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct kf_record r;

        memset(&r, 0x5a, sizeof(r));
        cr_assert_eq(kf_record_parse(bad[i], strlen(bad[i]), &r), -EBADMSG, "accepted: %s", bad[i]);
        cr_assert_eq(r.type, 0x5a); /* not written on failure */
    }
}

/* The byte parser is strict JSON (RFC 8259) for a flat object, and decodes escapes as
 * jansson does: the same text parsed through kf_record_from_json (jansson) gives the same
 * record or the same refusal. */
Test(record, json_syntax_is_strict_and_escapes_decode)
{
#define TXN_HEAD "{\"t\":\"txn\",\"ts\":" TS
    static const char *bad[] = {
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\" \"dur_ms\":1}",  /* missing comma */
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1,}", /* trailing comma */
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":01}", /* leading zero */
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1e3}",
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":+1}",
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":99999999999999999999}",
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":tru}",
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\"1}",     /* missing colon */
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1",     /* unterminated */
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"o\tk\",\"dur_ms\":1}",  /* raw tab */
        TXN_HEAD ",\"item\":\"A\\x\",\"outcome\":\"ok\",\"dur_ms\":1}", /* bad escape */
        TXN_HEAD ",\"item\":\"A\",\"outcome\":\"\\u006\",\"dur_ms\":1}",
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\","
        "\"action\":\"raise\",\"text\":\"\\ud800x\"}", /* lone surrogate */
        "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\","
        "\"action\":\"raise\",\"text\":\"\\udc00\"}",
        "{'t':'txn'}",
        "",
        "{",
    };
    struct kf_record r;
    const char *esc =
        "{\"\\u0074\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\","
        "\"action\":\"raise\",\"text\":\"\\u6545\\u969c \\ud83d\\ude00 \\\"q\\\" \\/\"}";

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *obj = json_loadb(bad[i], strlen(bad[i]), JSON_REJECT_DUPLICATES, NULL);

        cr_assert_eq(kf_record_parse(bad[i], strlen(bad[i]), &r), -EBADMSG, "accepted: %s", bad[i]);
        /* Where jansson reads the text at all, the record it gives is refused too. */
        cr_assert(obj == NULL || kf_record_from_json(obj, &r) == -EBADMSG, "jansson: %s", bad[i]);
        json_decref(obj);
    }
    cr_assert_eq(kf_record_parse(esc, strlen(esc), &r), 0);
    cr_assert_eq(r.type, KF_REC_FAULT);
    cr_assert_str_eq(r.u.fault.text, "故障 \xf0\x9f\x98\x80 \"q\" /");
    {
        struct kf_record r2;
        json_t *obj = json_loads(esc, 0, NULL);

        cr_assert_not_null(obj);
        cr_assert_eq(kf_record_from_json(obj, &r2), 0);
        cr_assert_eq(memcmp(&r, &r2, sizeof(r)), 0);
        json_decref(obj);
    }
    /* Whitespace anywhere JSON allows it. */
    cr_assert_eq(kf_record_parse(" {\n\"t\" : \"txn\" ,\t\"ts\":" TS " , \"item\":\"A\","
                                 "\"outcome\":\"ok\",\"dur_ms\":0 }\r\n",
                                 strlen(" {\n\"t\" : \"txn\" ,\t\"ts\":" TS " , \"item\":\"A\","
                                        "\"outcome\":\"ok\",\"dur_ms\":0 }\r\n"),
                                 &r),
                 0);
#undef TXN_HEAD
}

Test(record, text_limit_is_128_bytes)
{
    char json[512], text[200];
    struct kf_record r;
    int n;

    /* 42 three-byte characters + 2 ASCII = 128 bytes: accepted */
    text[0] = '\0';
    for (int i = 0; i < 42; i++)
        strncat(text, "故", sizeof(text) - strlen(text) - 1);
    strncat(text, "ab", sizeof(text) - strlen(text) - 1);
    n = snprintf(json, sizeof(json),
                 "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\","
                 "\"action\":\"raise\",\"text\":\"%s\"}",
                 text);
    cr_assert_eq(kf_record_parse(json, (size_t)n, &r), 0);
    cr_assert_eq(strlen(r.u.fault.text), 128);
    strncat(text, "c", sizeof(text) - strlen(text) - 1);
    n = snprintf(json, sizeof(json),
                 "{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\","
                 "\"action\":\"raise\",\"text\":\"%s\"}",
                 text);
    cr_assert_eq(kf_record_parse(json, (size_t)n, &r), -EBADMSG);
}

Test(record, format_refuses_invalid_records_and_small_buffers)
{
    struct kf_record r;
    char buf[KF_RECORD_JSON_MAX];
    size_t n;

    cr_assert_eq(kf_record_parse(canonical[0], strlen(canonical[0]), &r), 0);
    cr_assert_eq(kf_record_format(&r, buf, 20, &n), -EMSGSIZE);
    cr_assert_eq(kf_record_format(&r, buf, strlen(canonical[0]), &n), -EMSGSIZE);
    cr_assert_eq(kf_record_format(&r, buf, strlen(canonical[0]) + 1, &n), 0);
    r.u.txn.outcome = 9;
    cr_assert_eq(kf_record_format(&r, buf, sizeof(buf), &n), -EINVAL);
    r.u.txn.outcome = KF_OUTCOME_OK;
    r.ts_ms = 0;
    cr_assert_eq(kf_record_format(&r, buf, sizeof(buf), &n), -EINVAL);
    r.type = 9;
    cr_assert_eq(kf_record_format(&r, buf, sizeof(buf), &n), -EINVAL);
}

Test(record, oversize_single_record_is_rejected)
{
    char *big = malloc(KF_RECORD_JSON_MAX + 100);
    struct kf_record r;

    memset(big, ' ', KF_RECORD_JSON_MAX + 100);
    memcpy(big, canonical[0], strlen(canonical[0]));
    cr_assert_eq(kf_record_parse(big, KF_RECORD_JSON_MAX, &r), 0);
    cr_assert_eq(kf_record_parse(big, KF_RECORD_JSON_MAX + 1, &r), -EBADMSG);
    free(big);
}

/* Inside a RECORDS body, one record is held to the same 1,024 bytes (PROTOCOL.md sections 7
 * and 10): a record padded past it with whitespace inside its object is refused, one that
 * ends exactly at the limit is not. */
Test(record, oversize_record_inside_a_body_is_rejected)
{
    const char *rec = canonical[0]; /* "{...}" */
    size_t rlen = strlen(rec);
    char *body = malloc(2 * KF_RECORD_JSON_MAX + 16);
    size_t pad;

    for (int over = 0; over <= 1; over++) {
        /* "[" + "{" + padding + rest of the record + "]": the object is rlen + pad bytes. */
        pad = KF_RECORD_JSON_MAX - rlen + (size_t)over;
        body[0] = '[';
        body[1] = '{';
        memset(body + 2, ' ', pad);
        memcpy(body + 2 + pad, rec + 1, rlen - 1);
        body[2 + pad + rlen - 1] = ']';
        cr_assert_eq(kf_records_parse(body, 2 + pad + rlen, 1, NULL, NULL), over ? -EBADMSG : 0,
                     "padding %zu", pad);
    }
    free(body);
}

struct collect {
    uint32_t n;
    int types[8];
    int stop_at;
};

static int collect_cb(void *ud, uint32_t index, const struct kf_record *rec)
{
    struct collect *c = ud;

    cr_assert_eq(index, c->n);
    c->types[c->n++] = rec->type;
    return (int)index + 1 == c->stop_at ? 77 : 0;
}

Test(record, records_body_is_an_array_of_exact_count)
{
    char body[2048];
    struct collect c = {0};
    int n = snprintf(body, sizeof(body), "[%s,%s,%s]", canonical[0], canonical[4], canonical[5]);

    cr_assert_eq(kf_records_parse(body, (size_t)n, 3, collect_cb, &c), 0);
    cr_assert_eq(c.n, 3);
    cr_assert_eq(c.types[0], KF_REC_TXN);
    cr_assert_eq(c.types[1], KF_REC_PERIPH);
    cr_assert_eq(c.types[2], KF_REC_FAULT);
    cr_assert_eq(kf_records_parse(body, (size_t)n, 2, NULL, NULL), -EBADMSG);
    cr_assert_eq(kf_records_parse(body, (size_t)n, 4, NULL, NULL), -EBADMSG);
    memset(&c, 0, sizeof(c));
    c.stop_at = 2;
    cr_assert_eq(kf_records_parse(body, (size_t)n, 3, collect_cb, &c), 77);
    cr_assert_eq(c.n, 2);
    cr_assert_eq(kf_records_parse(canonical[0], strlen(canonical[0]), 1, NULL, NULL), -EBADMSG);
    cr_assert_eq(kf_records_parse("[]", 2, 0, NULL, NULL), 0);
    n = snprintf(body, sizeof(body), "[%s,{\"t\":\"txn\"}]", canonical[0]);
    cr_assert_eq(kf_records_parse(body, (size_t)n, 2, NULL, NULL), -EBADMSG);
    cr_assert_eq(kf_records_parse("[[[[1]]]]", 9, 1, NULL, NULL), -EBADMSG);
}

Test(record, deep_nesting_is_refused_cheaply)
{
    size_t depth = 100000;
    char *s = malloc(2 * depth);

    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    cr_assert_eq(kf_records_parse(s, 2 * depth, 1, NULL, NULL), -EBADMSG);
    free(s);
}

Test(record, names_round_trip)
{
    int v;

    for (int i = 1; i <= KF_PERIPH_COUNT_; i++) {
        cr_assert_not_null(kf_periph_name(i));
        cr_assert_eq(kf_periph_parse(kf_periph_name(i), &v), 0);
        cr_assert_eq(v, i);
    }
    for (int i = 1; i <= KF_PSTATE_COUNT_; i++) {
        cr_assert_eq(kf_pstate_parse(kf_pstate_name(i), &v), 0);
        cr_assert_eq(v, i);
    }
    cr_assert_null(kf_periph_name(0));
    cr_assert_null(kf_periph_name(KF_PERIPH_COUNT_ + 1));
    cr_assert_null(kf_rec_type_name(7));
    cr_assert_str_eq(kf_rec_type_name(KF_REC_CMD_RESULT), "cmd_result");
    cr_assert_str_eq(kf_rec_type_name(KF_REC_MAINT), "maint");
    cr_assert_str_eq(kf_rec_type_name(KF_REC_HEALTH), "health");
    cr_assert_str_eq(kf_severity_name(KF_SEV_MAJOR), "major");
    cr_assert_str_eq(kf_outcome_name(KF_OUTCOME_ABANDONED), "abandoned");
    cr_assert_eq(kf_outcome_parse("ok", &v), 0);
    cr_assert_eq(v, KF_OUTCOME_OK);
    cr_assert_eq(kf_severity_parse("fatal", &v), -EINVAL);
    cr_assert_eq(kf_rec_type_parse(NULL, &v), -EINVAL);
    cr_assert(kf_pstate_usable(KF_PSTATE_PAPER_LOW));
    cr_assert(kf_pstate_usable(KF_PSTATE_CASH_LOW));
    cr_assert(kf_pstate_usable(KF_PSTATE_ONLINE));
    cr_assert(!kf_pstate_usable(KF_PSTATE_PAPER_OUT));
    cr_assert(!kf_pstate_usable(KF_PSTATE_HW_ERROR));
}

/* A refusal names the first failing field and why (the app socket's bad_record reply). */
Test(record, a_refusal_names_its_field_and_why)
{
#define TXN_HEAD "{\"t\":\"txn\",\"ts\":" TS
    static const struct {
        const char *in, *field, *why;
    } cases[] = {
        {"[1]", "", "not a JSON object"},
        {"{\"ts\":" TS "}", "t", "missing"},
        {"{\"t\":\"nope\",\"ts\":" TS "}", "t", "must be txn, periph, fault or maint"},
        {"{\"t\":\"txn\"}", "ts", "missing"},
        {"{\"t\":\"txn\",\"ts\":\"x\"}", "ts", "must be an integer (ms since 1970, UTC)"},
        {"{\"t\":\"txn\",\"ts\":1,\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1}", "ts",
         "out of range 2020-01-01..2100-01-01 (ms since 1970, UTC)"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":86400001}", "dur_ms",
         "out of range 0..86400000"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":-1}", "dur_ms",
         "must be a non-negative integer"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\"}", "dur_ms", "missing"},
        {TXN_HEAD ",\"item\":\"bad code!\",\"outcome\":\"ok\",\"dur_ms\":1}", "item",
         "must be 1..16 of [A-Z0-9-]"},
        {TXN_HEAD ",\"item\":\"ABCDEFGHIJKLMNOPQ\",\"outcome\":\"ok\",\"dur_ms\":1}", "item",
         "must be 1..16 of [A-Z0-9-]"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"OK\",\"dur_ms\":1}", "outcome",
         "must be ok, failed or abandoned"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1.5}", "dur_ms",
         "must be a string, an integer, true, false or null"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1,\"name\":\"x\"}", "name",
         "unknown field"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1,\"a\\\"b\\nc\":1}", "a?b?c",
         "unknown field"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1,"
                  "\"a_very_long_field_name\":1}",
         "a_very_long_fie", "unknown field"},
        {"{\"t\":\"periph\",\"ts\":" TS ",\"dev\":\"toaster\",\"state\":\"online\"}", "dev",
         "not a peripheral (screen, card_reader, id_card_reader, ...: docs/AGENT.md)"},
        {"{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"prn\",\"sev\":\"info\",\"action\":\"raise\"}",
         "code", "must be 1..24 of [A-Z0-9_-]"},
        {"{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\",\"action\":\"toggle\"}",
         "action", "must be raise or clear"},
        {"{\"t\":\"fault\",\"ts\":" TS ",\"code\":\"X\",\"sev\":\"info\",\"action\":\"raise\","
         "\"text\":\"line\\nbreak\"}",
         "text", "at most 128 bytes of UTF-8 without control characters"},
        {"{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"on\"}", "tech",
         "required with \"state\":\"on\""},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1,\"app_id\":\"\"}", "app_id",
         "must be 1..32 of [A-Za-z0-9._:/-]"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1,\"app_id\":\"J 1\"}", "app_id",
         "must be 1..32 of [A-Za-z0-9._:/-]"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1,"
                  "\"app_id\":\"123456789012345678901234567890123\"}",
         "app_id", "must be 1..32 of [A-Za-z0-9._:/-]"},
        {TXN_HEAD ",\"item\":\"A\",\"outcome\":\"ok\",\"dur_ms\":1,\"app_id\":17}", "app_id",
         "must be a string"},
        {"{\"t\":\"maint\",\"ts\":" TS ",\"state\":\"on\",\"tech\":\"wang li\"}", "tech",
         "must be 1..31 of [A-Za-z0-9._:@-]"},
        {"{\"t\":\"health\",\"ts\":" TS ",\"cpu_pm\":1,\"mem_total_kb\":10,\"mem_avail_kb\":11,"
         "\"disk_total_kb\":0,\"disk_avail_kb\":0,\"temp_mc\":null,\"uptime_s\":0,\"net_rx\":0,"
         "\"net_tx\":0,\"net_up\":false}",
         "mem_avail_kb", "more than mem_total_kb"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *obj = json_loads(cases[i].in, JSON_REJECT_DUPLICATES, NULL);
        struct kf_record_why why = {"", NULL};
        struct kf_record r;

        cr_assert_not_null(obj, "%s", cases[i].in);
        cr_assert_eq(kf_record_from_json_why(obj, &r, &why), -EBADMSG, "%s", cases[i].in);
        cr_assert_str_eq(why.field, cases[i].field, "%s", cases[i].in);
        cr_assert_not_null(why.why);
        cr_assert_str_eq(why.why, cases[i].why, "%s", cases[i].in);
        /* Saying why changes nothing about what is refused. */
        cr_assert_eq(kf_record_from_json(obj, &r), -EBADMSG);
        json_decref(obj);
    }
    for (size_t i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++) {
        json_t *obj = json_loads(canonical[i], 0, NULL);
        struct kf_record_why why = {"untouched", "untouched"};
        struct kf_record r;

        cr_assert_eq(kf_record_from_json_why(obj, &r, &why), 0, "%s", canonical[i]);
        cr_assert_str_eq(why.why, "untouched");
        json_decref(obj);
    }
#undef TXN_HEAD
}
