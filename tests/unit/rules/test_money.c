/* test_money.c: money in fen (rules/money.h): rounding by the contract's rule, the tax split
 * of a line, and the two written forms, as docs/BILLING.md "Rules" tells them. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rules/money.h"

Test(money, half_up_rounds_the_magnitude)
{
    cr_assert_eq(kf_money_round(5, 2, KF_ROUND_HALF_UP), 3);
    cr_assert_eq(kf_money_round(-5, 2, KF_ROUND_HALF_UP), -3);
    cr_assert_eq(kf_money_round(5, -2, KF_ROUND_HALF_UP), -3);
    cr_assert_eq(kf_money_round(7, 3, KF_ROUND_HALF_UP), 2);
    cr_assert_eq(kf_money_round(8, 3, KF_ROUND_HALF_UP), 3);
    cr_assert_eq(kf_money_round(-8, 3, KF_ROUND_HALF_UP), -3);
    cr_assert_eq(kf_money_round(0, 7, KF_ROUND_HALF_UP), 0);
}

Test(money, half_even_goes_to_the_even_fen_on_a_tie)
{
    cr_assert_eq(kf_money_round(5, 2, KF_ROUND_HALF_EVEN), 2);
    cr_assert_eq(kf_money_round(7, 2, KF_ROUND_HALF_EVEN), 4);
    cr_assert_eq(kf_money_round(-5, 2, KF_ROUND_HALF_EVEN), -2);
    cr_assert_eq(kf_money_round(-7, 2, KF_ROUND_HALF_EVEN), -4);
    cr_assert_eq(kf_money_round(51, 20, KF_ROUND_HALF_EVEN), 3); /* 2.55: not a tie */
}

Test(money, down_truncates_toward_zero)
{
    cr_assert_eq(kf_money_round(7, 2, KF_ROUND_DOWN), 3);
    cr_assert_eq(kf_money_round(-7, 2, KF_ROUND_DOWN), -3);
    cr_assert_eq(kf_money_round(29, 10, KF_ROUND_DOWN), 2);
}

Test(money, extremes_do_not_overflow)
{
    int64_t v = 0;

    cr_assert_eq(kf_money_round(INT64_MIN, 1, KF_ROUND_HALF_UP), INT64_MIN);
    cr_assert_eq(kf_money_round(INT64_MIN, 2, KF_ROUND_HALF_UP), INT64_MIN / 2);
    cr_assert_eq(kf_money_round(INT64_MAX, INT64_MAX, KF_ROUND_DOWN), 1);
    cr_assert_eq(kf_money_round(1, 0, KF_ROUND_HALF_UP), 0);
    /* The product is exact: INT64_MAX * 10000 / 10000 comes back whole. */
    cr_assert_eq(kf_money_muldiv(INT64_MAX, 10000, 10000, KF_ROUND_HALF_UP, &v), 0);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(kf_money_muldiv(INT64_MIN, 3, 3, KF_ROUND_DOWN, &v), 0);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(kf_money_muldiv(INT64_MAX, 2, 1, KF_ROUND_HALF_UP, &v), -ERANGE);
    cr_assert_eq(kf_money_muldiv(1, 2, 0, KF_ROUND_HALF_UP, &v), -EINVAL);
    cr_assert_eq(kf_money_muldiv(1, 2, 3, 99, &v), -EINVAL);
}

Test(money, tax_on_top_of_a_price_excluding_tax)
{
    int64_t net, tax, gross;

    cr_assert_eq(kf_money_tax_line(120000, 1300, 0, KF_ROUND_HALF_UP, &net, &tax, &gross), 0);
    cr_assert_eq(net, 120000);
    cr_assert_eq(tax, 15600);
    cr_assert_eq(gross, 135600);
    /* 25 fen at 6 %: 1.5 fen of tax. */
    cr_assert_eq(kf_money_tax_line(25, 600, 0, KF_ROUND_HALF_UP, &net, &tax, &gross), 0);
    cr_assert_eq(tax, 2);
    cr_assert_eq(kf_money_tax_line(25, 600, 0, KF_ROUND_HALF_EVEN, &net, &tax, &gross), 0);
    cr_assert_eq(tax, 2);
    cr_assert_eq(kf_money_tax_line(25, 600, 0, KF_ROUND_DOWN, &net, &tax, &gross), 0);
    cr_assert_eq(tax, 1);
    /* A credit: negative throughout, rounded like its positive twin. */
    cr_assert_eq(kf_money_tax_line(-25, 600, 0, KF_ROUND_HALF_UP, &net, &tax, &gross), 0);
    cr_assert_eq(net, -25);
    cr_assert_eq(tax, -2);
    cr_assert_eq(gross, -27);
}

Test(money, tax_taken_out_of_a_price_including_tax)
{
    int64_t net, tax, gross;

    cr_assert_eq(kf_money_tax_line(135600, 1300, 1, KF_ROUND_HALF_UP, &net, &tax, &gross), 0);
    cr_assert_eq(gross, 135600);
    cr_assert_eq(tax, 15600);
    cr_assert_eq(net, 120000);
    /* 300.00 at 6 % included: tax 16.9811.. -> 16.98, net 283.02. */
    cr_assert_eq(kf_money_tax_line(30000, 600, 1, KF_ROUND_HALF_UP, &net, &tax, &gross), 0);
    cr_assert_eq(tax, 1698);
    cr_assert_eq(net, 28302);
    cr_assert_eq(net + tax, gross);
    cr_assert_eq(kf_money_tax_line(-30000, 600, 1, KF_ROUND_HALF_UP, &net, &tax, &gross), 0);
    cr_assert_eq(tax, -1698);
    cr_assert_eq(net, -28302);
    cr_assert_eq(kf_money_tax_line(100, 0, 1, KF_ROUND_HALF_UP, &net, &tax, &gross), 0);
    cr_assert_eq(tax, 0);
    cr_assert_eq(net, 100);
}

Test(money, tax_refuses_a_rate_out_of_range)
{
    int64_t net = 7, tax = 7, gross = 7;

    cr_assert_eq(kf_money_tax_line(100, -1, 0, KF_ROUND_HALF_UP, &net, &tax, &gross), -EINVAL);
    cr_assert_eq(kf_money_tax_line(100, 10001, 0, KF_ROUND_HALF_UP, &net, &tax, &gross), -EINVAL);
    cr_assert_eq(kf_money_tax_line(INT64_MAX, 10000, 0, KF_ROUND_HALF_UP, &net, &tax, &gross),
                 -ERANGE);
    cr_assert_eq(net, 7); /* outputs untouched on failure */
    cr_assert_eq(tax, 7);
    cr_assert_eq(gross, 7);
}

static void fmt_is(int64_t fen, const char *want)
{
    char buf[KF_MONEY_FMT_MAX];

    cr_assert_eq(kf_money_fmt(fen, buf, sizeof(buf)), 0, "%lld", (long long)fen);
    cr_assert_str_eq(buf, want);
}

Test(money, fmt_writes_yuan_with_separators)
{
    char small[5];

    fmt_is(0, "0.00");
    fmt_is(5, "0.05");
    fmt_is(-5, "-0.05");
    fmt_is(99999, "999.99");
    fmt_is(100000, "1,000.00");
    fmt_is(123456, "1,234.56");
    fmt_is(-100000, "-1,000.00");
    fmt_is(100000000, "1,000,000.00");
    fmt_is(INT64_MAX, "92,233,720,368,547,758.07");
    fmt_is(INT64_MIN, "-92,233,720,368,547,758.08");
    cr_assert_eq(kf_money_fmt(123456, small, sizeof(small)), -ENOSPC);
}

static void capital_is(int64_t fen, const char *want)
{
    char buf[KF_MONEY_CAPITAL_MAX];

    cr_assert_eq(kf_money_capital(fen, buf, sizeof(buf)), 0, "%lld", (long long)fen);
    cr_assert_str_eq(buf, want, "%lld", (long long)fen);
}

Test(money, capital_small_amounts)
{
    capital_is(0, "人民币零元整");
    capital_is(1, "人民币壹分");
    capital_is(5, "人民币伍分");
    capital_is(10, "人民币壹角");
    capital_is(12, "人民币壹角贰分");
    capital_is(100, "人民币壹元整");
    capital_is(1000, "人民币壹拾元整");
    capital_is(1500, "人民币壹拾伍元整");
    capital_is(10000, "人民币壹佰元整");
}

Test(money, capital_zeros_inside_the_integer)
{
    capital_is(10105, "人民币壹佰零壹元零伍分");
    capital_is(600714, "人民币陆仟零柒元壹角肆分");
    capital_is(101010, "人民币壹仟零壹拾元零壹角");
    capital_is(1001000, "人民币壹万零壹拾元整");
    capital_is(10000500, "人民币壹拾万零伍元整");
    capital_is(10050000, "人民币壹拾万零伍佰元整");
    capital_is(101000000, "人民币壹佰零壹万元整");
    capital_is(1000000000, "人民币壹仟万元整");
    capital_is(1000050000, "人民币壹仟万零伍佰元整");
}

Test(money, capital_zero_between_yuan_and_jiao_fen)
{
    capital_is(100050, "人民币壹仟元零伍角");
    capital_is(100005, "人民币壹仟元零伍分");
    capital_is(1640902, "人民币壹万陆仟肆佰零玖元零贰分");
    capital_is(10700053, "人民币壹拾万柒仟元零伍角叁分");
    capital_is(123456, "人民币壹仟贰佰叁拾肆元伍角陆分");
    capital_is(13560000, "人民币壹拾叁万伍仟陆佰元整");
}

Test(money, capital_yi_and_beyond)
{
    capital_is(10000000000, "人民币壹亿元整");
    capital_is(10000050000, "人民币壹亿零伍佰元整");
    capital_is(10000500000, "人民币壹亿零伍仟元整");
    capital_is(10500000000, "人民币壹亿零伍佰万元整");
    capital_is(12000000000, "人民币壹亿贰仟万元整");
    capital_is(12345678901, "人民币壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元零壹分");
    capital_is(100000000000000, "人民币壹万亿元整");
    capital_is(100000001000000, "人民币壹万亿零壹万元整");
    capital_is(INT64_MAX, "人民币玖亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿"
                          "陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零柒分");
}

Test(money, capital_negative_amounts_say_fu)
{
    char small[16];

    capital_is(-5, "人民币负伍分");
    capital_is(-13560000, "人民币负壹拾叁万伍仟陆佰元整");
    capital_is(INT64_MIN, "人民币负玖亿贰仟贰佰叁拾叁万柒仟贰佰零叁亿"
                          "陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零捌分");
    cr_assert_eq(kf_money_capital(13560000, small, sizeof(small)), -ENOSPC);
}

Test(money, rounding_names)
{
    int r = 0;

    cr_assert_eq(kf_money_round_parse("half_even", &r), 0);
    cr_assert_eq(r, KF_ROUND_HALF_EVEN);
    cr_assert_eq(kf_money_round_parse("HALF_UP", &r), -EINVAL);
    cr_assert_str_eq(kf_money_round_name(KF_ROUND_DOWN), "down");
    cr_assert_null(kf_money_round_name(0));
}
