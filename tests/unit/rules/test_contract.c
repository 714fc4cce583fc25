/* test_contract.c: contract versions (rules/contract.h): every refusal names its field, the
 * set check finds overlaps and duplicates, lookups by day, the canonical form, and the
 * fixtures in fixtures/contracts/ parse and form a valid set with today's SLA terms. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include <kf/time.h>

#include "kf_test.h"
#include "rules/contract.h"
#include "rules/money.h"

static const char *const banks[] = {"ICBC", "ABC", "BOC", "CCB", "PSBC", "PDSRCB"};
#define N_BANKS (sizeof(banks) / sizeof(banks[0]))

/* The spec's example version. */
static const char base[] =
    "{\"doc\":\"kioskfleet.contract/1\",\"bank\":\"ICBC\",\"id\":\"ICBC-2026\",\"version\":1,"
    "\"effective_from\":\"2026-01-01\",\"effective_to\":null,\"signed_by\":\"a / b\","
    "\"prices_include_tax\":false,\"rounding\":\"half_up\","
    "\"tax_bp\":{\"lease\":1300,\"maintenance\":600},"
    "\"lease\":{\"kiosk_fen\":120000,\"itm_fen\":0,\"by_model\":{\"KX-200\":135000}},"
    "\"maintenance\":{\"kiosk_fen\":30000,\"itm_fen\":50000},"
    "\"sla\":{\"kiosk\":{\"response_s\":7200,\"restore_s\":28800,\"target_bp\":9800},"
    "\"itm\":{\"response_s\":3600,\"restore_s\":14400,\"target_bp\":9900}},"
    "\"availability\":\"terminal\","
    "\"credits\":{\"tiers\":[{\"below_bp\":9800,\"share_bp\":500},{\"below_bp\":9500,"
    "\"share_bp\":1000},{\"below_bp\":9000,\"share_bp\":2000}],"
    "\"response_breach_fen\":5000,\"restore_breach_fen\":10000,\"cap_bp\":1500}}";

static int parse(const char *text, struct kf_contract *c, char *err, size_t errn)
{
    return kf_contract_parse(text, strlen(text), banks, N_BANKS, c, err, errn);
}

/* base with the value at a dotted path replaced (value NULL: the key removed). Steals value. */
static char *edited(const char *path, json_t *value)
{
    json_t *root = json_loads(base, JSON_PRESERVE_ORDER, NULL), *o = root;
    char p[128], *dot, *key = p;
    char *out;

    cr_assert_not_null(root);
    snprintf(p, sizeof(p), "%s", path);
    while ((dot = strchr(key, '.')) != NULL) {
        *dot = '\0';
        o = json_object_get(o, key);
        cr_assert_not_null(o, "%s", path);
        key = dot + 1;
    }
    if (value)
        json_object_set_new(o, key, value);
    else
        json_object_del(o, key);
    out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(root);
    return out;
}

static void refused(const char *path, json_t *value, const char *want)
{
    struct kf_contract c;
    char err[256], *text = edited(path, value);

    memset(&c, 0x5a, sizeof(c));
    cr_assert_eq(parse(text, &c, err, sizeof(err)), -EINVAL, "%s accepted", path);
    cr_assert_str_eq(err, want);
    cr_assert_eq(c.version, 0x5a5a5a5a, "written on failure");
    free(text);
}

Test(contract, parses_the_spec_example)
{
    struct kf_contract c;
    char err[256];

    cr_assert_eq(parse(base, &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.bank, "ICBC");
    cr_assert_str_eq(c.id, "ICBC-2026");
    cr_assert_eq(c.version, 1);
    cr_assert_eq(c.effective_from, 20454); /* 2026-01-01 */
    cr_assert_eq(c.effective_to, KF_CONTRACT_OPEN);
    cr_assert_eq(c.has_signed_by, 1);
    cr_assert_eq(c.has_note, 0);
    cr_assert_eq(c.rounding, KF_ROUND_HALF_UP);
    cr_assert_eq(c.tax_lease_bp, 1300);
    cr_assert_eq(c.tax_maintenance_bp, 600);
    cr_assert_eq(kf_contract_lease_fen(&c, KF_TERMINAL_KIOSK, "KX-200"), 135000);
    cr_assert_eq(kf_contract_lease_fen(&c, KF_TERMINAL_KIOSK, "KX-100"), 120000);
    cr_assert_eq(kf_contract_lease_fen(&c, KF_TERMINAL_KIOSK, NULL), 120000);
    cr_assert_eq(kf_contract_lease_fen(&c, KF_TERMINAL_ITM, NULL), 0);
    cr_assert_eq(kf_contract_maintenance_fen(&c, KF_TERMINAL_ITM), 50000);
    cr_assert_eq(c.sla_kiosk.restore_s, 28800);
    cr_assert_eq(c.sla_itm.target_bp, 9900);
    cr_assert_eq(c.n_tiers, 3);
    cr_assert_eq(c.tiers[2].share_bp, 2000);
    cr_assert_eq(c.cap_bp, 1500);
}

Test(contract, refuses_bad_json_and_unknown_keys)
{
    struct kf_contract c;
    char err[256];

    cr_assert_eq(parse("{\"doc\":", &c, err, sizeof(err)), -EINVAL);
    cr_assert(strncmp(err, "line 1:", 7) == 0, "%s", err);
    cr_assert_eq(parse("[]", &c, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "a contract is a JSON object");
    refused("colour", json_string("red"), "colour: unknown key");
    refused("lease.kiosk_fee", json_integer(1), "lease.kiosk_fee: unknown key");
    refused("sla.kiosk.grace_s", json_integer(1), "sla.kiosk.grace_s: unknown key");
    refused("credits.extra", json_true(), "credits.extra: unknown key");
    refused("doc", json_string("kioskfleet.contract/2"), "doc: must be \"kioskfleet.contract/1\"");
}

Test(contract, refuses_duplicate_keys)
{
    struct kf_contract c;
    char err[256];
    const char *dup = "{\"doc\":\"kioskfleet.contract/1\",\"doc\":\"kioskfleet.contract/1\"}";

    cr_assert_eq(parse(dup, &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "duplicate") != NULL, "%s", err);
}

Test(contract, refuses_missing_fields_and_wrong_types)
{
    refused("bank", NULL, "bank: missing");
    refused("maintenance.itm_fen", NULL, "maintenance.itm_fen: missing");
    refused("version", json_string("1"), "version: must be an integer");
    refused("lease.kiosk_fen", json_real(1200.5), "lease.kiosk_fen: must be an integer");
    refused("prices_include_tax", json_integer(0), "prices_include_tax: must be true or false");
    refused("tax_bp", json_integer(1300), "tax_bp: must be an object");
    refused("credits.tiers", json_object(), "credits.tiers: must be an array");
    refused("note", json_integer(3), "note: must be a string");
    refused("id", json_string(""), "id: must be 1..47 bytes");
    refused("rounding", json_string("ceiling"), "rounding: must be half_up, half_even or down");
    refused("availability", json_string("zone"), "availability: must be terminal or items");
    refused("version", json_integer(0), "version: must be 1..2147483647");
}

Test(contract, refuses_negative_prices)
{
    refused("lease.kiosk_fen", json_integer(-1), "lease.kiosk_fen: must be >= 0");
    refused("lease.itm_fen", json_integer(-100), "lease.itm_fen: must be >= 0");
    refused("lease.by_model.KX-200", json_integer(-5), "lease.by_model.KX-200: must be >= 0");
    refused("maintenance.kiosk_fen", json_integer(-30000), "maintenance.kiosk_fen: must be >= 0");
    refused("credits.response_breach_fen", json_integer(-1),
            "credits.response_breach_fen: must be >= 0");
    refused("credits.restore_breach_fen", json_integer(-1),
            "credits.restore_breach_fen: must be >= 0");
}

Test(contract, refuses_rates_out_of_range)
{
    refused("tax_bp.lease", json_integer(10001), "tax_bp.lease: must be 0..10000");
    refused("tax_bp.maintenance", json_integer(-600), "tax_bp.maintenance: must be 0..10000");
    refused("sla.itm.target_bp", json_integer(10500), "sla.itm.target_bp: must be 0..10000");
    refused("credits.cap_bp", json_integer(20000), "credits.cap_bp: must be 0..10000");
    refused("sla.kiosk.response_s", json_integer(0), "sla.kiosk.response_s: must be 1..31622400");
}

Test(contract, refuses_bad_dates)
{
    refused("effective_from", json_string("2026-02-30"),
            "effective_from: must be a date \"YYYY-MM-DD\"");
    refused("effective_from", json_null(), "effective_from: must be a date \"YYYY-MM-DD\"");
    refused("effective_to", json_string("2026/07/01"),
            "effective_to: must be a date \"YYYY-MM-DD\" or null");
    refused("effective_to", json_string("2026-01-01"),
            "effective_to: must be after effective_from");
    refused("effective_to", json_string("2025-12-31"),
            "effective_to: must be after effective_from");
}

Test(contract, refuses_tiers_that_do_not_decrease)
{
    json_t *t = json_pack("[{s:i,s:i},{s:i,s:i}]", "below_bp", 9500, "share_bp", 500, "below_bp",
                          9500, "share_bp", 1000);

    refused("credits.tiers", t,
            "credits.tiers[1].below_bp: must be below the tier before it (9500)");
    t = json_pack("[{s:i,s:i},{s:i,s:i}]", "below_bp", 9000, "share_bp", 500, "below_bp", 9500,
                  "share_bp", 1000);
    refused("credits.tiers", t,
            "credits.tiers[1].below_bp: must be below the tier before it (9000)");
    t = json_pack("[{s:i,s:i}]", "below_bp", 9000, "share_bp", 10001);
    refused("credits.tiers", t, "credits.tiers[0].share_bp: must be 0..10000");
    t = json_pack("[{s:i}]", "below_bp", 9000);
    refused("credits.tiers", t, "credits.tiers[0].share_bp: missing");
    t = json_pack("[i]", 7);
    refused("credits.tiers", t, "credits.tiers[0]: must be an object");
}

Test(contract, refuses_an_unknown_bank)
{
    refused("bank", json_string("HSBC"), "bank: unknown bank \"HSBC\"");
}

static struct kf_contract version(const char *bank, const char *id, int ver, const char *from,
                                  const char *to)
{
    struct kf_contract c;
    char err[256], *text;

    text = edited("bank", json_string(bank));
    cr_assert_eq(parse(text, &c, err, sizeof(err)), 0, "%s", err);
    free(text);
    snprintf(c.id, sizeof(c.id), "%s", id);
    c.version = ver;
    cr_assert_eq(kf_day_parse(from, &c.effective_from), 0);
    if (to)
        cr_assert_eq(kf_day_parse(to, &c.effective_to), 0);
    else
        c.effective_to = KF_CONTRACT_OPEN;
    return c;
}

Test(contract, set_accepts_touching_versions_and_other_banks)
{
    struct kf_contract v[3] = {version("CCB", "CCB-2026", 1, "2026-01-01", "2026-07-01"),
                               version("CCB", "CCB-2026", 2, "2026-07-01", NULL),
                               version("ICBC", "ICBC-2026", 1, "2026-01-01", NULL)};
    char err[256];
    int32_t d;

    cr_assert_eq(kf_contract_set_check(v, 3, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_day_parse("2026-06-30", &d), 0);
    cr_assert_eq(kf_contract_for(v, 3, "CCB", d), &v[0]);
    cr_assert_eq(kf_contract_for(v, 3, "CCB", d + 1), &v[1]);
    cr_assert_eq(kf_contract_for(v, 3, "ICBC", d + 1), &v[2]);
    cr_assert_null(kf_contract_for(v, 3, "ABC", d));
    cr_assert_null(kf_contract_for(v, 3, "CCB", v[0].effective_from - 1));
}

Test(contract, set_refuses_overlapping_versions_of_one_bank)
{
    struct kf_contract v[2] = {version("CCB", "CCB-2026", 1, "2026-01-01", "2026-07-02"),
                               version("CCB", "CCB-2026", 2, "2026-07-01", NULL)};
    char err[256];

    cr_assert_eq(kf_contract_set_check(v, 2, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "CCB: CCB-2026 version 1 and CCB-2026 version 2 overlap (both in "
                          "force on 2026-07-01)");
    /* Different contract ids of one bank may not overlap either. */
    v[1] = version("CCB", "CCB-SUPP", 1, "2026-03-01", "2026-04-01");
    cr_assert_eq(kf_contract_set_check(v, 2, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "CCB: CCB-2026 version 1 and CCB-SUPP version 1 overlap (both in "
                          "force on 2026-03-01)");
    /* Two open-ended versions always overlap. */
    v[0] = version("CCB", "CCB-2026", 1, "2026-01-01", NULL);
    v[1] = version("CCB", "CCB-2026", 2, "2027-01-01", NULL);
    cr_assert_eq(kf_contract_set_check(v, 2, err, sizeof(err)), -EINVAL);
}

Test(contract, set_refuses_a_duplicated_version)
{
    struct kf_contract v[2] = {version("ABC", "ABC-2026", 1, "2026-01-01", "2026-02-01"),
                               version("ABC", "ABC-2026", 1, "2027-01-01", NULL)};
    char err[256];

    cr_assert_eq(kf_contract_set_check(v, 2, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "ABC ABC-2026 version 1: duplicated");
}

Test(contract, canonical_form_is_stable)
{
    struct kf_contract a, b;
    char err[256], *ca, *cb;
    /* The same terms, spaced and ordered differently, give the same canonical bytes. */
    json_t *root = json_loads(base, 0, NULL);
    char *loose = json_dumps(root, JSON_INDENT(3) | JSON_SORT_KEYS);

    json_decref(root);
    cr_assert_eq(parse(base, &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(parse(loose, &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_contract_canonical(&a, &ca), 0);
    cr_assert_eq(kf_contract_canonical(&b, &cb), 0);
    cr_assert_str_eq(ca, cb);
    cr_assert_str_eq(ca, base); /* the spec's example is already canonical */
    free(cb);
    cr_assert_eq(parse(ca, &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_contract_canonical(&b, &cb), 0);
    cr_assert_str_eq(ca, cb);
    free(ca);
    free(cb);
    free(loose);
}

static const char *const fixture_files[] = {
    "ICBC-2026-v1.json", "ABC-2026-v1.json",  "BOC-2026-v1.json",    "CCB-2026-v1.json",
    "CCB-2026-v2.json",  "PSBC-2026-v1.json", "PDSRCB-2026-v1.json",
};
#define N_FIXTURES (sizeof(fixture_files) / sizeof(fixture_files[0]))

Test(contract, fixtures_parse_and_form_a_set)
{
    struct kf_contract v[N_FIXTURES];
    char err[256], path[512];
    int32_t jan1, jul1, d;

    for (size_t i = 0; i < N_FIXTURES; i++) {
        char *text;

        snprintf(path, sizeof(path), "%s/fixtures/contracts/%s", KF_SOURCE_DIR, fixture_files[i]);
        text = kf_test_read_file(path);
        cr_assert_not_null(text, "%s", path);
        cr_assert_eq(parse(text, &v[i], err, sizeof(err)), 0, "%s: %s", fixture_files[i], err);
        free(text);
    }
    cr_assert_eq(kf_contract_set_check(v, N_FIXTURES, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_day_parse("2026-01-01", &jan1), 0);
    cr_assert_eq(kf_day_parse("2026-07-01", &jul1), 0);
    /* Every bank has a version every day of 2026. */
    for (size_t b = 0; b < N_BANKS; b++) {
        for (d = jan1; d < jan1 + 365; d++)
            cr_assert_not_null(kf_contract_for(v, N_FIXTURES, banks[b], d), "%s", banks[b]);
    }
    /* Today's SLA terms (fixtures/deployment.json "contracts"). */
    for (size_t i = 0; i < N_FIXTURES; i++) {
        int pd = strcmp(v[i].bank, "PDSRCB") == 0;

        cr_assert_eq(v[i].sla_kiosk.response_s, pd ? 14400 : 7200, "%s", v[i].bank);
        cr_assert_eq(v[i].sla_kiosk.restore_s, pd ? 57600 : 28800, "%s", v[i].bank);
        cr_assert_eq(v[i].sla_kiosk.target_bp, pd ? 9700 : 9800, "%s", v[i].bank);
        cr_assert_eq(v[i].sla_itm.response_s, 3600);
        cr_assert_eq(v[i].sla_itm.restore_s, 14400);
        cr_assert_eq(v[i].sla_itm.target_bp, 9900);
        cr_assert_eq(v[i].prices_include_tax, pd);
    }
    /* CCB's change of prices at mid-year. */
    cr_assert_eq(kf_contract_for(v, N_FIXTURES, "CCB", jul1 - 1)->version, 1);
    cr_assert_eq(kf_contract_for(v, N_FIXTURES, "CCB", jul1)->version, 2);
    cr_assert_neq(kf_contract_for(v, N_FIXTURES, "CCB", jul1 - 1)->lease_kiosk_fen,
                  kf_contract_for(v, N_FIXTURES, "CCB", jul1)->lease_kiosk_fen);
}
