/* test_bill.c: one bank's monthly bill (rules/bill.h), as docs/BILLING.md "Rules" tells it.
 * The month is 2026-09 (30 days); local times are Asia/Shanghai. Prices are the spec's:
 * kiosk lease 1,200.00, kiosk maintenance 300.00, ITM maintenance 500.00 a month; tax 13 %
 * on leases and 6 % on maintenance. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include <kf/time.h>

#include "rules/bill.h"
#include "rules/contract.h"

#define HOUR (3600LL * 1000)
#define NEVER KF_TIME_NEVER

static const char *const banks[] = {"ICBC", "ABC", "CCB", "PDSRCB"};

static const char base[] =
    "{\"doc\":\"kioskfleet.contract/1\",\"bank\":\"ICBC\",\"id\":\"ICBC-2026\",\"version\":1,"
    "\"effective_from\":\"2026-01-01\",\"effective_to\":null,"
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

static int32_t day(const char *s)
{
    int32_t d = 0;

    cr_assert_eq(kf_day_parse(s, &d), 0, "%s", s);
    return d;
}

/* Local wall-clock time on a day, as a UTC instant. */
static int64_t at(const char *s, int hour)
{
    return kf_day_start_ms(day(s)) + hour * HOUR;
}

/* The spec's version for `bank`, id "<bank>-2026", version 1, from 2026-01-01, open. */
static struct kf_contract contract(const char *bank)
{
    struct kf_contract c;
    char err[256];

    cr_assert_eq(kf_contract_parse(base, strlen(base), banks, 4, &c, err, sizeof(err)), 0, "%s",
                 err);
    snprintf(c.bank, sizeof(c.bank), "%s", bank);
    snprintf(c.id, sizeof(c.id), "%s-2026", bank);
    return c;
}

static struct kf_window always[1] = {{INT64_MIN, NEVER}};

static struct kf_bill_asset kiosk(const char *id)
{
    struct kf_bill_asset a = {.id = id,
                              .kind = KF_TERMINAL_KIOSK,
                              .zone = "Z-XH-001",
                              .in_service = always,
                              .n_in_service = 1,
                              .availability_bp = 10000,
                              .items_availability_bp = 10000,
                              .target_bp = 9800};
    return a;
}

static struct kf_bill_asset itm(const char *id)
{
    struct kf_bill_asset a = kiosk(id);

    a.kind = KF_TERMINAL_ITM;
    a.target_bp = 9900;
    return a;
}

static struct kf_bill_input input(const char *bank, const struct kf_contract *c, size_t nc,
                                  const struct kf_bill_asset *a, size_t na)
{
    struct kf_bill_input in = {.bank_code = bank,
                               .bank_name = "中国工商银行",
                               .year = 2026,
                               .month = 9,
                               .contracts = c,
                               .n_contracts = nc,
                               .assets = a,
                               .n_assets = na,
                               .status = KF_BILL_DRAFT};
    return in;
}

/* Every total is the sum of its lines; lines are numbered 1..n. */
static void check_sums(const struct kf_bill *b)
{
    int64_t net = 0, tax = 0, gross = 0;
    char capital[KF_MONEY_CAPITAL_MAX];

    for (size_t i = 0; i < b->n_lines; i++) {
        cr_assert_eq(b->lines[i].no, i + 1);
        cr_assert_eq(b->lines[i].net_fen + b->lines[i].tax_fen, b->lines[i].gross_fen);
        net += b->lines[i].net_fen;
        tax += b->lines[i].tax_fen;
        gross += b->lines[i].gross_fen;
    }
    cr_assert_eq(b->net_fen, net);
    cr_assert_eq(b->tax_fen, tax);
    cr_assert_eq(b->gross_fen, gross);
    for (size_t k = 0; k < b->n_rates; k++) {
        int64_t rn = 0, rt = 0, rg = 0;

        if (k > 0)
            cr_assert_lt(b->by_rate[k - 1].tax_rate_bp, b->by_rate[k].tax_rate_bp);
        for (size_t i = 0; i < b->n_lines; i++) {
            if (b->lines[i].tax_rate_bp != b->by_rate[k].tax_rate_bp)
                continue;
            rn += b->lines[i].net_fen;
            rt += b->lines[i].tax_fen;
            rg += b->lines[i].gross_fen;
        }
        cr_assert_eq(b->by_rate[k].net_fen, rn);
        cr_assert_eq(b->by_rate[k].tax_fen, rt);
        cr_assert_eq(b->by_rate[k].gross_fen, rg);
    }
    cr_assert_eq(kf_money_capital(b->gross_fen, capital, sizeof(capital)), 0);
    cr_assert_str_eq(b->gross_capital, capital);
}

static struct kf_bill *compute(const struct kf_bill_input *in)
{
    struct kf_bill *b = NULL;
    char err[256];

    cr_assert_eq(kf_bill_compute(in, &b, err, sizeof(err)), 0, "%s", err);
    check_sums(b);
    return b;
}

static void refused(const struct kf_bill_input *in, int code, const char *want)
{
    struct kf_bill *b = (struct kf_bill *)1;
    char err[256];

    cr_assert_eq(kf_bill_compute(in, &b, err, sizeof(err)), code, "%s", err);
    cr_assert_str_eq(err, want);
    cr_assert_eq(b, (struct kf_bill *)1, "written on failure");
}

static const struct kf_bill_line *line(const struct kf_bill *b, size_t no)
{
    cr_assert_geq(no, 1);
    cr_assert_leq(no, b->n_lines, "line %zu of %zu", no, b->n_lines);
    return &b->lines[no - 1];
}

Test(bill, a_full_month_is_the_monthly_fee)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a = kiosk("K-XH-001-1");
    struct kf_bill_input in = input("ICBC", &c, 1, &a, 1);
    struct kf_bill *b = compute(&in);

    cr_assert_eq(b->period_days, 30);
    cr_assert_eq(b->from_ms, 1788192000000);
    cr_assert_eq(b->to_ms, 1790784000000);
    cr_assert_eq(b->n_lines, 2);
    cr_assert_eq(line(b, 1)->kind, KF_LINE_LEASE);
    cr_assert_eq(line(b, 1)->days, 30);
    cr_assert_eq(line(b, 1)->net_fen, 120000);
    cr_assert_eq(line(b, 1)->tax_fen, 15600);
    cr_assert_eq(line(b, 1)->gross_fen, 135600);
    cr_assert_str_eq(line(b, 1)->text, "租赁费 K-XH-001-1 2026-09 (30/30 天)");
    cr_assert_eq(line(b, 2)->kind, KF_LINE_MAINTENANCE);
    cr_assert_eq(line(b, 2)->net_fen, 30000);
    cr_assert_eq(line(b, 2)->tax_fen, 1800);
    cr_assert_eq(b->n_rates, 2);
    cr_assert_eq(b->by_rate[0].tax_rate_bp, 600);
    cr_assert_eq(b->by_rate[1].tax_rate_bp, 1300);
    cr_assert_eq(b->gross_fen, 167400);
    cr_assert_str_eq(b->gross_capital, "人民币壹仟陆佰柒拾肆元整");
    kf_bill_free(b);
}

Test(bill, a_model_listed_in_the_contract_leases_at_its_price)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a[2] = {kiosk("K-1"), kiosk("K-2")};
    struct kf_bill_input in;
    struct kf_bill *b;

    a[1].model = "KX-200";
    in = input("ICBC", &c, 1, a, 2);
    b = compute(&in);
    cr_assert_eq(line(b, 1)->unit_fen, 120000);
    cr_assert_eq(line(b, 3)->unit_fen, 135000);
    cr_assert_eq(line(b, 3)->net_fen, 135000);
    cr_assert_str_eq(line(b, 3)->model, "KX-200");
    kf_bill_free(b);
}

Test(bill, an_itm_pays_maintenance_and_no_zero_lease)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a = itm("I-XH-001-1");
    struct kf_bill_input in = input("ICBC", &c, 1, &a, 1);
    struct kf_bill *b = compute(&in);

    cr_assert_eq(b->n_lines, 1);
    cr_assert_eq(line(b, 1)->kind, KF_LINE_MAINTENANCE);
    cr_assert_eq(line(b, 1)->terminal_kind, KF_TERMINAL_ITM);
    cr_assert_eq(line(b, 1)->net_fen, 50000);
    kf_bill_free(b);
}

Test(bill, commissioning_on_the_15th_at_10_counts_the_15th)
{
    struct kf_contract c = contract("ICBC");
    struct kf_window w = {at("2026-09-15", 10), NEVER};
    struct kf_bill_asset a = kiosk("K-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    a.in_service = &w;
    in = input("ICBC", &c, 1, &a, 1);
    b = compute(&in);
    cr_assert_eq(line(b, 1)->days, 16); /* 15th..30th */
    cr_assert_eq(line(b, 1)->net_fen, 64000);
    cr_assert_eq(line(b, 2)->net_fen, 16000);
    kf_bill_free(b);
}

Test(bill, decommissioning_on_the_20th_at_10_does_not_count_the_20th)
{
    struct kf_contract c = contract("ICBC");
    struct kf_window w = {at("2026-03-01", 9), at("2026-09-20", 10)};
    struct kf_bill_asset a = kiosk("K-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    a.in_service = &w;
    in = input("ICBC", &c, 1, &a, 1);
    b = compute(&in);
    cr_assert_eq(line(b, 1)->days, 19);
    cr_assert_eq(line(b, 1)->net_fen, 76000);
    cr_assert_eq(line(b, 2)->net_fen, 19000);
    kf_bill_free(b);
    /* Out at 23:59:59.999 still misses the 20th's last millisecond; out at midnight keeps
     * it. */
    w.end_ms = at("2026-09-21", 0) - 1;
    b = compute(&in);
    cr_assert_eq(line(b, 1)->days, 19);
    kf_bill_free(b);
    w.end_ms = at("2026-09-21", 0);
    b = compute(&in);
    cr_assert_eq(line(b, 1)->days, 20);
    kf_bill_free(b);
}

Test(bill, a_move_between_banks_on_one_day_bills_that_day_once)
{
    struct kf_contract c[2] = {contract("ICBC"), contract("ABC")};
    int64_t moved = at("2026-09-10", 14);
    struct kf_window wi = {INT64_MIN, moved}, wa = {moved, NEVER};
    struct kf_bill_asset ai = kiosk("K-1"), aa = kiosk("K-1");
    struct kf_bill_input ii, ia;
    struct kf_bill *bi, *ba;

    ai.in_service = &wi;
    aa.in_service = &wa;
    ii = input("ICBC", c, 2, &ai, 1);
    ia = input("ABC", c, 2, &aa, 1);
    bi = compute(&ii);
    ba = compute(&ia);
    cr_assert_eq(line(bi, 1)->days, 9);  /* 1st..9th */
    cr_assert_eq(line(ba, 1)->days, 21); /* 10th..30th: the receiving bank */
    cr_assert_eq(line(bi, 1)->net_fen + line(ba, 1)->net_fen, 120000);
    cr_assert_eq(line(bi, 2)->net_fen + line(ba, 2)->net_fen, 30000);
    kf_bill_free(bi);
    kf_bill_free(ba);
}

Test(bill, a_contract_change_mid_month_splits_the_lines)
{
    struct kf_contract c[2] = {contract("CCB"), contract("CCB")};
    struct kf_bill_asset a = kiosk("K-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    c[0].effective_to = day("2026-09-16");
    c[1].version = 2;
    c[1].effective_from = day("2026-09-16");
    c[1].lease_kiosk_fen = 110000;
    c[1].maint_kiosk_fen = 33000;
    in = input("CCB", c, 2, &a, 1);
    b = compute(&in);
    cr_assert_eq(b->n_contracts, 2);
    cr_assert_eq(b->contracts[0].version, 1);
    cr_assert_eq(b->contracts[1].version, 2);
    cr_assert_eq(b->n_lines, 4);
    cr_assert_eq(line(b, 1)->kind, KF_LINE_LEASE);
    cr_assert_eq(line(b, 1)->days, 15);
    cr_assert_eq(line(b, 1)->net_fen, 60000);
    cr_assert_eq(line(b, 2)->kind, KF_LINE_LEASE);
    cr_assert_eq(line(b, 2)->days, 15);
    cr_assert_eq(line(b, 2)->unit_fen, 110000);
    cr_assert_eq(line(b, 2)->net_fen, 55000);
    cr_assert_str_eq(line(b, 1)->period, line(b, 2)->period);
    cr_assert_str_eq(line(b, 2)->text, "租赁费 K-1 2026-09 (15/30 天, 合同 CCB-2026 第2版)");
    cr_assert_eq(line(b, 3)->net_fen, 15000);
    cr_assert_eq(line(b, 4)->net_fen, 16500);
    kf_bill_free(b);
}

Test(bill, no_contract_no_fee)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a = kiosk("K-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    c.effective_from = day("2026-09-11"); /* the contract starts on the 11th */
    in = input("ICBC", &c, 1, &a, 1);
    b = compute(&in);
    cr_assert_eq(line(b, 1)->days, 20);
    kf_bill_free(b);
    /* Another bank's contract is not this bank's. */
    in = input("ABC", &c, 1, &a, 1);
    b = compute(&in);
    cr_assert_eq(b->n_lines, 0);
    cr_assert_eq(b->n_contracts, 0);
    cr_assert_str_eq(b->gross_capital, "人民币零元整");
    kf_bill_free(b);
}

Test(bill, credits_by_tier)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a[7] = {kiosk("K-1"), kiosk("K-2"), kiosk("K-3"), kiosk("K-4"),
                                 kiosk("K-5"), kiosk("K-6"), kiosk("K-7")};
    static const int32_t avail[7] = {9800, 9799, 9500, 9499, 8999, KF_BILL_NA, 0};
    static const int64_t credit[7] = {0, -1500, -1500, -3000, -6000, 0, -6000};
    struct kf_bill_input in;
    struct kf_bill *b;
    size_t no = 1;

    c.cap_bp = 10000; /* no cap here */
    for (size_t i = 0; i < 7; i++)
        a[i].availability_bp = avail[i];
    in = input("ICBC", &c, 1, a, 7);
    b = compute(&in);
    for (size_t i = 0; i < 7; i++) {
        cr_assert_str_eq(line(b, no)->asset, a[i].id);
        no += 2; /* lease, maintenance */
        if (credit[i] == 0) {
            cr_assert(no > b->n_lines || line(b, no)->kind != KF_LINE_CREDIT, "%s", a[i].id);
            continue;
        }
        cr_assert_eq(line(b, no)->kind, KF_LINE_CREDIT, "%s", a[i].id);
        cr_assert_eq(line(b, no)->net_fen, credit[i], "%s", a[i].id);
        cr_assert_eq(line(b, no)->tax_rate_bp, 600);
        cr_assert_eq(line(b, no)->tax_fen, credit[i] * 6 / 100);
        cr_assert_eq(line(b, no)->basis, KF_BASIS_SLA);
        cr_assert_eq(line(b, no)->availability_bp, avail[i]);
        cr_assert_eq(line(b, no)->target_bp, 9800);
        no++;
    }
    cr_assert_eq(no, b->n_lines + 1);
    cr_assert_str_eq(line(b, 5)->text,
                     "SLA 抵扣 K-2 2026-09 (可用率 97.99% 低于目标 98.00%, 抵扣维护费 5.00%)");
    cr_assert_eq(line(b, 5)->share_bp, 500);
    kf_bill_free(b);
}

Test(bill, a_credit_is_a_share_of_the_days_billed)
{
    struct kf_contract c = contract("ICBC");
    struct kf_window w = {at("2026-09-16", 9), NEVER};
    struct kf_bill_asset a = kiosk("K-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    a.in_service = &w;
    a.availability_bp = 9400; /* 10 % of 15 days' maintenance (15,000) */
    in = input("ICBC", &c, 1, &a, 1);
    b = compute(&in);
    cr_assert_eq(line(b, 2)->net_fen, 15000);
    cr_assert_eq(line(b, 3)->kind, KF_LINE_CREDIT);
    cr_assert_eq(line(b, 3)->net_fen, -1500);
    kf_bill_free(b);
}

Test(bill, penalties_per_breach)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a = itm("I-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    a.response_breaches = 2;
    a.restore_breaches = 1;
    a.availability_bp = 9950;
    in = input("ICBC", &c, 1, &a, 1);
    c.cap_bp = 10000;
    b = compute(&in);
    cr_assert_eq(b->n_lines, 2);
    cr_assert_eq(line(b, 2)->kind, KF_LINE_PENALTY);
    cr_assert_eq(line(b, 2)->net_fen, -20000);
    cr_assert_eq(line(b, 2)->tax_fen, -1200);
    cr_assert_eq(line(b, 2)->gross_fen, -21200);
    cr_assert_eq(line(b, 2)->breaches, 3);
    cr_assert_eq(line(b, 2)->share_bp, 0);
    cr_assert_str_eq(line(b, 2)->text, "SLA 违约金 I-1 2026-09 (响应超时 2 次 × 50.00 元, "
                                       "修复超时 1 次 × 100.00 元)");
    kf_bill_free(b);
}

Test(bill, the_cap_gives_back_what_goes_beyond_it)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a[2] = {kiosk("K-1"), itm("I-1")};
    struct kf_bill_input in;
    struct kf_bill *b;
    int64_t sla = 0;

    /* Maintenance 300 + 500 = 800.00; cap 15 % = 120.00. K-1 loses 20 % (60.00) and three
     * restore breaches (300.00): 360.00 off, 240.00 of it given back. */
    a[0].availability_bp = 8000;
    a[0].restore_breaches = 3;
    in = input("ICBC", &c, 1, a, 2);
    b = compute(&in);
    cr_assert_eq(b->n_lines, 6);
    cr_assert_str_eq(line(b, 1)->asset, "I-1");    /* assets by id */
    cr_assert_eq(line(b, 2)->kind, KF_LINE_LEASE); /* an ITM leases at 0: no line */
    cr_assert_eq(line(b, 4)->kind, KF_LINE_CREDIT);
    cr_assert_eq(line(b, 4)->net_fen, -6000);
    cr_assert_eq(line(b, 5)->kind, KF_LINE_PENALTY);
    cr_assert_eq(line(b, 5)->net_fen, -30000);
    cr_assert_eq(line(b, 6)->kind, KF_LINE_CAP);
    cr_assert_eq(line(b, 6)->asset[0], '\0');
    cr_assert_eq(line(b, 6)->net_fen, 24000);
    cr_assert_eq(line(b, 6)->tax_fen, 1440);
    for (size_t no = 1; no <= b->n_lines; no++) {
        int k = line(b, no)->kind;

        if (k == KF_LINE_CREDIT || k == KF_LINE_PENALTY || k == KF_LINE_CAP)
            sla += line(b, no)->net_fen;
    }
    cr_assert_eq(sla, -12000);
    cr_assert_str_eq(line(b, 6)->text, "抵扣封顶 2026-09 (抵扣与违约金合计以当月维护费 800.00 "
                                       "元的 15.00% 即 120.00 元为限)");
    kf_bill_free(b);
    /* Under the cap: no cap line. */
    a[0].restore_breaches = 0;
    b = compute(&in);
    cr_assert_eq(b->n_lines, 4);
    kf_bill_free(b);
}

Test(bill, prices_including_tax)
{
    struct kf_contract c = contract("PDSRCB");
    struct kf_window w = {INT64_MIN, NEVER};
    struct kf_bill_asset a = kiosk("K-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    c.prices_include_tax = 1;
    c.rounding = KF_ROUND_HALF_EVEN;
    c.lease_kiosk_fen = 135600;
    c.maint_kiosk_fen = 31800;
    c.response_breach_fen = 3000;
    a.availability_bp = 9700; /* 5 % */
    a.response_breaches = 1;
    in = input("PDSRCB", &c, 1, &a, 1);
    b = compute(&in);
    cr_assert_eq(b->prices_include_tax, 1);
    cr_assert_eq(line(b, 1)->gross_fen, 135600);
    cr_assert_eq(line(b, 1)->tax_fen, 15600);
    cr_assert_eq(line(b, 1)->net_fen, 120000);
    cr_assert_eq(line(b, 2)->gross_fen, 31800);
    cr_assert_eq(line(b, 2)->net_fen, 30000);
    /* The credit is a share of the net, taxed on top. */
    cr_assert_eq(line(b, 3)->kind, KF_LINE_CREDIT);
    cr_assert_eq(line(b, 3)->net_fen, -1500);
    cr_assert_eq(line(b, 3)->tax_fen, -90);
    /* The penalty is a price of the contract: 30.00 including tax, 1.6981 -> 1.70. */
    cr_assert_eq(line(b, 4)->kind, KF_LINE_PENALTY);
    cr_assert_eq(line(b, 4)->gross_fen, -3000);
    cr_assert_eq(line(b, 4)->tax_fen, -170);
    cr_assert_eq(line(b, 4)->net_fen, -2830);
    kf_bill_free(b);
    /* Half a month including tax: 67,800 gross at 13 %: 7,800 tax, 60,000 net. */
    w.start_ms = at("2026-09-16", 9);
    a.in_service = &w;
    b = compute(&in);
    cr_assert_eq(line(b, 1)->days, 15);
    cr_assert_eq(line(b, 1)->gross_fen, 67800);
    cr_assert_eq(line(b, 1)->tax_fen, 7800);
    cr_assert_eq(line(b, 1)->net_fen, 60000);
    kf_bill_free(b);
}

Test(bill, prices_excluding_tax_round_once_per_amount)
{
    struct kf_contract c = contract("ICBC");
    struct kf_window w = {at("2026-09-20", 9), NEVER}; /* 11 days */
    struct kf_bill_asset a = kiosk("K-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    c.lease_kiosk_fen = 100001;
    a.in_service = &w;
    in = input("ICBC", &c, 1, &a, 1);
    b = compute(&in);
    /* 100001 * 11 / 30 = 36667.03 -> 36667; tax 4766.71 -> 4767. */
    cr_assert_eq(line(b, 1)->net_fen, 36667);
    cr_assert_eq(line(b, 1)->tax_fen, 4767);
    kf_bill_free(b);
    c.rounding = KF_ROUND_DOWN;
    b = compute(&in);
    cr_assert_eq(line(b, 1)->tax_fen, 4766);
    kf_bill_free(b);
}

static struct kf_bill_line adjustment(const char *period, const char *ref, uint32_t ref_line,
                                      int64_t net, const char *text)
{
    struct kf_bill_line l;

    memset(&l, 0, sizeof(l));
    l.kind = KF_LINE_ADJUSTMENT;
    l.basis = KF_BASIS_REF;
    snprintf(l.period, sizeof(l.period), "%s", period);
    snprintf(l.ref, sizeof(l.ref), "%s", ref);
    l.ref_line = ref_line;
    snprintf(l.asset, sizeof(l.asset), "K-1");
    l.terminal_kind = KF_TERMINAL_KIOSK;
    l.net_fen = net;
    l.tax_rate_bp = 1300;
    l.tax_fen = net * 13 / 100;
    l.gross_fen = l.net_fen + l.tax_fen;
    snprintf(l.text, sizeof(l.text), "%s", text);
    return l;
}

Test(bill, adjustments_come_last_by_period_and_reference)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a = kiosk("K-1");
    struct kf_bill_line adj[3] = {
        adjustment("2026-08", "ICBC-000008", 1, -4000, "更正 2026-08 租赁费"),
        adjustment("2026-07", "ICBC-000007", 3, 1000, "更正 2026-07 租赁费"),
        adjustment("2026-08", "ICBC-000007", 9, 2000, "补收"),
    };
    struct kf_bill_input in = input("ICBC", &c, 1, &a, 1);
    struct kf_bill *b;

    in.adjustments = adj;
    in.n_adjustments = 3;
    b = compute(&in);
    cr_assert_eq(b->n_lines, 5);
    cr_assert_str_eq(line(b, 3)->period, "2026-07");
    cr_assert_str_eq(line(b, 4)->ref, "ICBC-000007");
    cr_assert_str_eq(line(b, 4)->period, "2026-08");
    cr_assert_str_eq(line(b, 5)->ref, "ICBC-000008");
    cr_assert_eq(line(b, 5)->net_fen, -4000);
    cr_assert_eq(line(b, 5)->days, KF_BILL_NA);
    kf_bill_free(b);
    /* An adjustment names an earlier period, and its sums hold. */
    adj[0] = adjustment("2026-09", "ICBC-000009", 1, 100, "x");
    refused(&in, -EINVAL,
            "adjustment 0: must be an adjustment line referring to a bill of an earlier "
            "period, with net + tax = gross");
    adj[0] = adjustment("2026-08", "ICBC-000009", 1, 100, "x");
    adj[0].gross_fen++;
    refused(&in, -EINVAL,
            "adjustment 0: must be an adjustment line referring to a bill of an earlier "
            "period, with net + tax = gross");
}

Test(bill, refusals)
{
    struct kf_contract c[2] = {contract("ICBC"), contract("ICBC")};
    struct kf_bill_asset a[2] = {kiosk("K-1"), kiosk("K-1")};
    struct kf_bill_input in = input("ICBC", c, 1, a, 2);
    struct kf_bill_digest d[2] = {{"contract", "ab"}, {"contract", "cd"}};

    refused(&in, -EINVAL, "K-1: given twice");
    in.n_assets = 1;
    a[0].kind = 3;
    refused(&in, -EINVAL, "K-1: kind must be kiosk or itm");
    a[0].kind = KF_TERMINAL_KIOSK;
    a[0].availability_bp = 10001;
    refused(&in, -EINVAL, "K-1: availability_bp or target_bp out of range");
    a[0].availability_bp = 10000;
    in.n_contracts = 2;
    c[1].version = 2;
    c[1].effective_from = day("2026-06-01");
    refused(&in, -EINVAL,
            "ICBC: ICBC-2026 version 1 and ICBC-2026 version 2 overlap (both in force on "
            "2026-06-01)");
    in.n_contracts = 1;
    in.month = 13;
    refused(&in, -EINVAL, "period: no such month 2026-13");
    in.month = 9;
    in.status = KF_BILL_ISSUED;
    in.number = "ICBC-00001";
    refused(&in, -EINVAL, "number: must be \"ICBC-NNNNNN\"");
    in.number = "ABC-000001";
    refused(&in, -EINVAL, "number: must be \"ICBC-NNNNNN\"");
    in.number = "ICBC-000001";
    in.issued_at_ms = at("2026-09-30", 23);
    refused(&in, -EINVAL, "issued_at_ms: before the end of 2026-09");
    in.status = KF_BILL_DRAFT;
    refused(&in, -EINVAL, "number: a draft has none");
    in.number = NULL;
    in.inputs = d;
    in.n_inputs = 2;
    refused(&in, -EINVAL, "inputs: contract given twice");
    d[1].name = "evidence";
    d[1].hex = "CD";
    refused(&in, -EINVAL, "inputs[1]: a name and a lowercase hex digest");
}

/* The spec's shape, byte for byte: one kiosk all month, one ITM from the 16th, a draft. */
static const char small_json[] =
    "{\"doc\":\"kioskfleet.bill/1\",\"status\":\"draft\",\"number\":null,"
    "\"bank\":{\"code\":\"ICBC\",\"name\":\"中国工商银行\"},\"period\":\"2026-09\","
    "\"from_ms\":1788192000000,\"to_ms\":1790784000000,\"issued_at_ms\":null,"
    "\"prices_include_tax\":false,"
    "\"contracts\":[{\"id\":\"ICBC-2026\",\"version\":1,\"effective_from\":\"2026-01-01\","
    "\"effective_to\":null}],"
    "\"lines\":["
    "{\"no\":1,\"kind\":\"maintenance\",\"asset\":\"I-XH-001-1\",\"terminal_kind\":\"itm\","
    "\"model\":null,\"zone\":\"Z-XH-001\",\"period\":\"2026-09\",\"days\":15,"
    "\"period_days\":30,\"unit_fen\":50000,\"basis\":null,\"net_fen\":25000,"
    "\"tax_rate_bp\":600,\"tax_fen\":1500,\"gross_fen\":26500,"
    "\"text\":\"维护费 I-XH-001-1 2026-09 (15/30 天)\"},"
    "{\"no\":2,\"kind\":\"penalty\",\"asset\":\"I-XH-001-1\",\"terminal_kind\":\"itm\","
    "\"model\":null,\"zone\":\"Z-XH-001\",\"period\":\"2026-09\",\"days\":null,"
    "\"period_days\":null,\"unit_fen\":null,\"basis\":{\"availability_bp\":null,"
    "\"target_bp\":9900,\"share_bp\":0,\"breaches\":1},\"net_fen\":-5000,"
    "\"tax_rate_bp\":600,\"tax_fen\":-300,\"gross_fen\":-5300,"
    "\"text\":\"SLA 违约金 I-XH-001-1 2026-09 (响应超时 1 次 × 50.00 元, 修复超时 0 次 × "
    "100.00 元)\"},"
    "{\"no\":3,\"kind\":\"lease\",\"asset\":\"K-XH-001-1\",\"terminal_kind\":\"kiosk\","
    "\"model\":\"KX-200\",\"zone\":\"Z-XH-001\",\"period\":\"2026-09\",\"days\":30,"
    "\"period_days\":30,\"unit_fen\":135000,\"basis\":null,\"net_fen\":135000,"
    "\"tax_rate_bp\":1300,\"tax_fen\":17550,\"gross_fen\":152550,"
    "\"text\":\"租赁费 K-XH-001-1 2026-09 (30/30 天)\"},"
    "{\"no\":4,\"kind\":\"maintenance\",\"asset\":\"K-XH-001-1\",\"terminal_kind\":\"kiosk\","
    "\"model\":\"KX-200\",\"zone\":\"Z-XH-001\",\"period\":\"2026-09\",\"days\":30,"
    "\"period_days\":30,\"unit_fen\":30000,\"basis\":null,\"net_fen\":30000,"
    "\"tax_rate_bp\":600,\"tax_fen\":1800,\"gross_fen\":31800,"
    "\"text\":\"维护费 K-XH-001-1 2026-09 (30/30 天)\"},"
    "{\"no\":5,\"kind\":\"credit\",\"asset\":\"K-XH-001-1\",\"terminal_kind\":\"kiosk\","
    "\"model\":\"KX-200\",\"zone\":\"Z-XH-001\",\"period\":\"2026-09\",\"days\":null,"
    "\"period_days\":null,\"unit_fen\":null,\"basis\":{\"availability_bp\":9619,"
    "\"target_bp\":9800,\"share_bp\":500,\"breaches\":0},\"net_fen\":-1500,"
    "\"tax_rate_bp\":600,\"tax_fen\":-90,\"gross_fen\":-1590,"
    "\"text\":\"SLA 抵扣 K-XH-001-1 2026-09 (可用率 96.19% 低于目标 98.00%, 抵扣维护费 "
    "5.00%)\"}],"
    "\"totals\":{\"by_rate\":[{\"tax_rate_bp\":600,\"net_fen\":48500,\"tax_fen\":2910,"
    "\"gross_fen\":51410},{\"tax_rate_bp\":1300,\"net_fen\":135000,\"tax_fen\":17550,"
    "\"gross_fen\":152550}],\"net_fen\":183500,\"tax_fen\":20460,\"gross_fen\":203960},"
    "\"gross_capital\":\"人民币贰仟零叁拾玖元陆角\","
    "\"inputs\":{\"contract\":\"0a1b\",\"evidence\":\"ffee\"}}";

static struct kf_window from16[1];

static void small_bill(struct kf_contract *c, struct kf_bill_asset a[2], struct kf_bill_digest d[2],
                       struct kf_bill_input *in)
{
    *c = contract("ICBC");
    a[0] = kiosk("K-XH-001-1");
    a[0].model = "KX-200";
    a[0].availability_bp = 9619;
    a[1] = itm("I-XH-001-1");
    from16[0].start_ms = at("2026-09-16", 8);
    from16[0].end_ms = NEVER;
    a[1].in_service = from16;
    a[1].availability_bp = KF_BILL_NA;
    a[1].response_breaches = 1;
    d[0].name = "evidence";
    d[0].hex = "ffee";
    d[1].name = "contract";
    d[1].hex = "0a1b";
    *in = input("ICBC", c, 1, a, 2);
    in->inputs = d;
    in->n_inputs = 2;
}

Test(bill, json_of_a_small_bill_is_exactly_the_spec)
{
    struct kf_contract c;
    struct kf_bill_asset a[2];
    struct kf_bill_digest d[2];
    struct kf_bill_input in;
    struct kf_bill *b;
    char *json;

    small_bill(&c, a, d, &in);
    b = compute(&in);
    cr_assert_eq(kf_bill_json(b, &json), 0);
    cr_assert_str_eq(json, small_json);
    free(json);
    kf_bill_free(b);
}

/* A checker that parses the bill and dumps it again with jansson (JSON_COMPACT |
 * JSON_PRESERVE_ORDER) gets the same bytes, escapes included. */
Test(bill, json_is_what_jansson_writes_back)
{
    struct kf_contract c;
    struct kf_bill_asset a[2];
    struct kf_bill_digest d[2];
    struct kf_bill_line adj =
        adjustment("2026-08", "ICBC-000008", 2, -100, "更正 \"引号\" \\ 换行\n\t制表\x01 / 斜线");
    struct kf_bill_input in;
    struct kf_bill *b;
    json_t *root;
    char *json, *again;

    small_bill(&c, a, d, &in);
    in.adjustments = &adj;
    in.n_adjustments = 1;
    b = compute(&in);
    cr_assert_eq(kf_bill_json(b, &json), 0);
    root = json_loads(json, JSON_PRESERVE_ORDER | JSON_REJECT_DUPLICATES, NULL);
    cr_assert_not_null(root);
    again = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    cr_assert_str_eq(again, json);
    cr_assert(strstr(json, "\\u0001") != NULL, "%s", json);
    json_decref(root);
    free(again);
    free(json);
    kf_bill_free(b);
}

Test(bill, an_issued_bill_carries_its_number_and_instant)
{
    struct kf_contract c;
    struct kf_bill_asset a[2];
    struct kf_bill_digest d[2];
    struct kf_bill_input in;
    struct kf_bill *b;
    char *json;

    small_bill(&c, a, d, &in);
    in.status = KF_BILL_ISSUED;
    in.number = "ICBC-000001";
    in.issued_at_ms = 1790812800000; /* 2026-10-01 08:00 local */
    b = compute(&in);
    cr_assert_eq(kf_bill_json(b, &json), 0);
    cr_assert(strstr(json, "{\"doc\":\"kioskfleet.bill/1\",\"status\":\"issued\","
                           "\"number\":\"ICBC-000001\",") == json,
              "%s", json);
    cr_assert(strstr(json, "\"issued_at_ms\":1790812800000,\"prices_include_tax\":false,"));
    free(json);
    kf_bill_free(b);
}

Test(bill, recompute_gives_the_same_bytes_whatever_the_input_order)
{
    struct kf_contract c;
    struct kf_bill_asset a[2], swapped[2];
    struct kf_bill_digest d[2];
    struct kf_bill_input in;
    struct kf_bill *b1, *b2;
    char *j1, *j2;

    small_bill(&c, a, d, &in);
    b1 = compute(&in);
    swapped[0] = a[1];
    swapped[1] = a[0];
    in.assets = swapped;
    b2 = compute(&in);
    cr_assert_eq(kf_bill_json(b1, &j1), 0);
    cr_assert_eq(kf_bill_json(b2, &j2), 0);
    cr_assert_str_eq(j1, j2);
    free(j1);
    free(j2);
    kf_bill_free(b1);
    kf_bill_free(b2);
}

/* ---- Property test over generated months ------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    /* splitmix64: a fixed seed, the same months on every machine. */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (uint32_t)(z % n);
}

#define N_GEN 200

Test(bill, property_generated_months)
{
    static char ids[N_GEN][16];
    static struct kf_window win[N_GEN][3], win_b[N_GEN][1];
    static struct kf_bill_asset a[N_GEN], other[N_GEN];
    static int full[N_GEN];
    struct kf_contract c[3] = {contract("ICBC"), contract("ABC"), contract("ICBC")};
    int64_t from, to;

    rng_state = 20260901;
    cr_assert_eq(kf_calendar_month_range(2026, 9, &from, &to), 0);
    for (int round = 0; round < 5; round++) {
        struct kf_bill_input in, ib;
        struct kf_bill *b, *b2, *bb;
        char *j1, *j2;
        int split = round % 2; /* a contract change on a random day of the month */

        c[0].rounding = 1 + (int)rnd(3);
        c[0].prices_include_tax = (int)rnd(2);
        c[0].effective_to = KF_CONTRACT_OPEN;
        if (split) {
            c[0].effective_to = kf_local_day(from) + 1 + (int32_t)rnd(29);
            c[2].version = 2;
            c[2].effective_from = c[0].effective_to;
            c[2].lease_kiosk_fen = 100000 + rnd(50000);
            c[2].maint_kiosk_fen = 20000 + rnd(20000);
        }
        for (int i = 0; i < N_GEN; i++) {
            int64_t moved = from + (int64_t)rnd(30 * 24) * HOUR + rnd(3600000);
            size_t n = 0;

            snprintf(ids[i], sizeof(ids[i]), "A-%03d", (int)rnd(1000) * 1000 + i);
            a[i] = rnd(3) ? kiosk(ids[i]) : itm(ids[i]);
            a[i].model = rnd(4) == 0 ? "KX-200" : NULL;
            full[i] = rnd(3) == 0;
            if (full[i]) {
                /* In service all month with ICBC. */
                win[i][n].start_ms = from - (int64_t)rnd(100) * 24 * HOUR;
                win[i][n++].end_ms = rnd(2) ? NEVER : to + (int64_t)rnd(100) * HOUR;
            } else {
                /* Some intervals inside the month, then moved to ABC at `moved`. */
                int64_t t = from - 5 * 24 * HOUR;

                for (int k = (int)rnd(3); k > 0; k--) {
                    int64_t s = t + (int64_t)rnd(10 * 24) * HOUR + rnd(3600000);
                    int64_t e = s + (int64_t)rnd(10 * 24) * HOUR + rnd(3600000);

                    win[i][n].start_ms = s < moved ? s : moved;
                    win[i][n++].end_ms = e < moved ? e : moved;
                    t = e;
                }
            }
            a[i].in_service = win[i];
            a[i].n_in_service = n;
            a[i].availability_bp = rnd(5) ? 9000 + (int32_t)rnd(1001) : KF_BILL_NA;
            a[i].response_breaches = rnd(4) == 0 ? rnd(4) : 0;
            a[i].restore_breaches = rnd(6) == 0 ? rnd(3) : 0;
            other[i] = a[i];
            win_b[i][0].start_ms = moved;
            win_b[i][0].end_ms = NEVER;
            other[i].in_service = win_b[i];
            other[i].n_in_service = full[i] ? 0 : 1;
        }
        in = input("ICBC", c, split ? 3 : 2, a, N_GEN);
        ib = input("ABC", c, 3, other, N_GEN);
        b = compute(&in);
        b2 = compute(&in);
        bb = compute(&ib);
        cr_assert_eq(kf_bill_json(b, &j1), 0);
        cr_assert_eq(kf_bill_json(b2, &j2), 0);
        cr_assert_str_eq(j1, j2);
        for (size_t no = 1; no <= b->n_lines; no++) {
            const struct kf_bill_line *ln = line(b, no);
            const struct kf_bill_asset *as = NULL;

            cr_assert(no == 1 || ln->kind == KF_LINE_CAP ||
                      strcmp(line(b, no - 1)->asset, ln->asset) <= 0);
            if (ln->kind != KF_LINE_LEASE && ln->kind != KF_LINE_MAINTENANCE)
                continue;
            cr_assert_leq(ln->days, 30);
            for (int i = 0; i < N_GEN; i++) {
                if (strcmp(a[i].id, ln->asset) == 0)
                    as = &a[i];
            }
            cr_assert_not_null(as);
            /* A full month under one version is exactly the monthly fee. */
            if (full[as - a] && !split) {
                cr_assert_eq(ln->days, 30);
                cr_assert_eq(c[0].prices_include_tax ? ln->gross_fen : ln->net_fen, ln->unit_fen);
            }
        }
        /* Days: a split asset's days with ICBC and ABC never add past the month. */
        for (int i = 0; i < N_GEN; i++) {
            int32_t di = 0, da = 0;

            for (size_t no = 1; no <= b->n_lines; no++) {
                if (line(b, no)->kind == KF_LINE_MAINTENANCE &&
                    strcmp(line(b, no)->asset, a[i].id) == 0)
                    di += line(b, no)->days;
            }
            for (size_t no = 1; no <= bb->n_lines; no++) {
                if (bb->lines[no - 1].kind == KF_LINE_MAINTENANCE &&
                    strcmp(bb->lines[no - 1].asset, a[i].id) == 0)
                    da += bb->lines[no - 1].days;
            }
            cr_assert_leq(di + da, 30, "%s", a[i].id);
            if (full[i])
                cr_assert_eq(di, 30);
            else if (a[i].n_in_service == 0)
                cr_assert_eq(di, 0);
        }
        free(j1);
        free(j2);
        kf_bill_free(b);
        kf_bill_free(b2);
        kf_bill_free(bb);
    }
}

/* A contract that asks for availability over the service items bills on that figure: the
 * same terminal (a printer down: 97.00 % whole, 99.50 % over its items) earns a credit under
 * one contract and none under the other. */
Test(bill, availability_over_items)
{
    struct kf_contract c = contract("ICBC");
    struct kf_bill_asset a = kiosk("K-XH-001-1");
    struct kf_bill_input in;
    struct kf_bill *b;

    a.availability_bp = 9700;
    a.items_availability_bp = 9950;
    in = input("ICBC", &c, 1, &a, 1);
    b = compute(&in);
    cr_assert_eq(b->n_lines, 3);
    cr_assert_eq(line(b, 3)->kind, KF_LINE_CREDIT);
    cr_assert_eq(line(b, 3)->availability_bp, 9700);
    kf_bill_free(b);
    c.availability = KF_AVAIL_ITEMS;
    b = compute(&in);
    cr_assert_eq(b->n_lines, 2, "99.50 %% over the items meets 98.00 %%: no credit");
    kf_bill_free(b);
    a.items_availability_bp = 9600;
    b = compute(&in);
    cr_assert_eq(line(b, 3)->kind, KF_LINE_CREDIT);
    cr_assert_eq(line(b, 3)->availability_bp, 9600);
    cr_assert_str_eq(line(b, 3)->text, "SLA 抵扣 K-XH-001-1 2026-09 (服务事项可用率 96.00% "
                                       "低于目标 98.00%, 抵扣维护费 5.00%)");
    kf_bill_free(b);
    /* No figure over the items (no catalog): no credit, as with no availability at all. */
    a.items_availability_bp = KF_BILL_NA;
    b = compute(&in);
    cr_assert_eq(b->n_lines, 2);
    kf_bill_free(b);
}
