/* rules/money.h: money is integer fen (int64_t), rates are basis points (1300 = 13.00 %).
 * Rounding to the fen by a contract's rule, the tax split of one bill line, and the two
 * written forms of an amount: "1,234.56" and the capital numerals (大写金额) that Chinese
 * invoices and bills carry beside the figures (DESIGN.md principles 4 and 11).
 * Pure: no I/O, no globals; any thread. docs/BILLING.md "Rules".
 */
#ifndef KF_RULES_MONEY_H
#define KF_RULES_MONEY_H

#include <stddef.h>
#include <stdint.h>

enum kf_round {
    KF_ROUND_HALF_UP = 1, /* .5 away from zero */
    KF_ROUND_HALF_EVEN,   /* .5 to the even fen (banker's rounding) */
    KF_ROUND_DOWN,        /* toward zero (truncate the magnitude) */
};

#define KF_MONEY_RATE_MAX 10000  /* 100.00 %: a tax or share rate is 0..10000 bp */
#define KF_MONEY_FMT_MAX 32      /* "-92,233,720,368,547,758.08" and the NUL fit */
#define KF_MONEY_CAPITAL_MAX 256 /* the longest capital form of any int64 fen, with the NUL */

/* num / den rounded to an integer by rule, sign-symmetric: the magnitude is rounded and the
 * sign put back, so -x rounds to -(round x). den != 0 (0 gives 0); a result outside int64
 * (INT64_MIN / -1) saturates. An unknown rule rounds half up. */
int64_t kf_money_round(int64_t num, int64_t den, int rule);

/* a * b / den rounded by rule, the product taken exactly (128 bits), so fee * days or
 * amount * rate never overflows on the way. 0, -EINVAL (den == 0 or an unknown rule) or
 * -ERANGE (the result does not fit int64). *ret written only on success. */
int kf_money_muldiv(int64_t a, int64_t b, int64_t den, int rule, int64_t *ret);

/* The tax split of one line whose amount is `amount` (docs/BILLING.md "Tax"):
 *   excluding tax (inclusive == 0): net = amount, tax = round(net * rate / 10000),
 *                                   gross = net + tax;
 *   including tax (inclusive != 0): gross = amount, tax = round(gross * rate / (10000 + rate)),
 *                                   net = gross - tax.
 * A negative amount gives a negative net, tax and gross (rounding is sign-symmetric).
 * 0, -EINVAL (rate outside 0..10000, unknown rule) or -ERANGE; outputs written only on
 * success. */
int kf_money_tax_line(int64_t amount, int32_t rate_bp, int inclusive, int rule, int64_t *ret_net,
                      int64_t *ret_tax, int64_t *ret_gross);

/* "1,234.56", "-0.05", "0.00": yuan with thousands separators and two decimals, into buf.
 * 0 or -ENOSPC (KF_MONEY_FMT_MAX is always enough). */
int kf_money_fmt(int64_t fen, char *buf, size_t n);

/* The capital numerals of an amount, as Chinese cheques and invoices write them, UTF-8,
 * into buf: "人民币壹拾万零伍元整" (100,005.00), "人民币壹仟元零伍角" (1,000.50),
 * "人民币零元整" (0), "人民币负伍分" (-0.05). The rules are in docs/BILLING.md "Capital
 * numerals". 0 or -ENOSPC (KF_MONEY_CAPITAL_MAX is always enough). */
int kf_money_capital(int64_t fen, char *buf, size_t n);

/* Parse a rounding rule's name ("half_up", "half_even", "down"); the name of a rule.
 * kf_money_round_parse: 0 or -EINVAL. kf_money_round_name: NULL for an unknown rule. */
int kf_money_round_parse(const char *name, int *ret_rule);
const char *kf_money_round_name(int rule);

#endif
