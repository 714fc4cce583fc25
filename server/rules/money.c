/* rules/money.c: rounding, tax split and the written forms of an amount (money.h). */
#include "rules/money.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* |num| / |den| rounded by rule, then the sign of num / den: every path goes through the
 * magnitude so that the rounding of -x is the negation of the rounding of x. */
static int round128(__int128 num, __int128 den, int rule, int64_t *ret)
{
    int neg = (num < 0) != (den < 0);
    unsigned __int128 n = num < 0 ? (unsigned __int128)(-(num + 1)) + 1 : (unsigned __int128)num;
    unsigned __int128 d = den < 0 ? (unsigned __int128)(-(den + 1)) + 1 : (unsigned __int128)den;
    unsigned __int128 q, r;

    if (d == 0)
        return -EINVAL;
    q = n / d;
    r = n % d;
    switch (rule) {
    case KF_ROUND_HALF_UP:
        if (r >= d - r)
            q++;
        break;
    case KF_ROUND_HALF_EVEN:
        if (r > d - r || (r == d - r && (q & 1)))
            q++;
        break;
    case KF_ROUND_DOWN:
        break;
    default:
        return -EINVAL;
    }
    if (neg ? q > (unsigned __int128)INT64_MAX + 1 : q > (unsigned __int128)INT64_MAX)
        return -ERANGE;
    *ret = neg ? (int64_t)(-(__int128)q) : (int64_t)q;
    return 0;
}

int64_t kf_money_round(int64_t num, int64_t den, int rule)
{
    int64_t v = 0;
    int r;

    if (rule != KF_ROUND_HALF_EVEN && rule != KF_ROUND_DOWN)
        rule = KF_ROUND_HALF_UP;
    r = round128(num, den, rule, &v);
    if (r == -ERANGE)
        return INT64_MAX; /* only INT64_MIN / -1 gets here */
    return r < 0 ? 0 : v;
}

int kf_money_muldiv(int64_t a, int64_t b, int64_t den, int rule, int64_t *ret)
{
    /* |a * b| < 2^126: exact in 128 bits. */
    return round128((__int128)a * b, den, rule, ret);
}

int kf_money_tax_line(int64_t amount, int32_t rate_bp, int inclusive, int rule, int64_t *ret_net,
                      int64_t *ret_tax, int64_t *ret_gross)
{
    int64_t net, tax, gross;
    int r;

    if (rate_bp < 0 || rate_bp > KF_MONEY_RATE_MAX)
        return -EINVAL;
    if (inclusive) {
        gross = amount;
        r = kf_money_muldiv(gross, rate_bp, 10000 + (int64_t)rate_bp, rule, &tax);
        if (r < 0)
            return r;
        if (__builtin_sub_overflow(gross, tax, &net))
            return -ERANGE;
    } else {
        net = amount;
        r = kf_money_muldiv(net, rate_bp, 10000, rule, &tax);
        if (r < 0)
            return r;
        if (__builtin_add_overflow(net, tax, &gross))
            return -ERANGE;
    }
    *ret_net = net;
    *ret_tax = tax;
    *ret_gross = gross;
    return 0;
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
}

int kf_money_fmt(int64_t fen, char *buf, size_t n)
{
    char digits[24], out[KF_MONEY_FMT_MAX];
    uint64_t m = magnitude(fen);
    size_t nd, o = 0;
    int len;

    len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)(m / 100));
    nd = (size_t)len;
    if (fen < 0)
        out[o++] = '-';
    for (size_t i = 0; i < nd; i++) {
        /* A separator before every group of three counted from the right. */
        if (i > 0 && (nd - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    len = snprintf(out + o, sizeof(out) - o, ".%02u", (unsigned)(m % 100));
    o += (size_t)len;
    if (o + 1 > n)
        return -ENOSPC;
    memcpy(buf, out, o + 1);
    return 0;
}

/* ---- Capital numerals ------------------------------------------------------------------ */

static const char *const cap_digit[10] = {"零", "壹", "贰", "叁", "肆",
                                          "伍", "陆", "柒", "捌", "玖"};
static const char *const cap_pos[4] = {"", "拾", "佰", "仟"};

struct capbuf {
    char s[KF_MONEY_CAPITAL_MAX];
    size_t len;
};

static void cap_put(struct capbuf *b, const char *s)
{
    size_t l = strlen(s);

    /* Cannot overflow: the longest int64 form is well under the buffer (checked in tests). */
    if (b->len + l < sizeof(b->s)) {
        memcpy(b->s + b->len, s, l + 1);
        b->len += l;
    }
}

/* One group of four digits (0 < x < 10000). `higher`: a higher group was written, so a
 * leading zero here is spoken ("壹拾万零伍"). Zeros inside a run speak one 零, and only
 * when a non-zero digit follows: trailing zeros are silent ("壹仟" for 1000). */
static void cap_group(struct capbuf *b, unsigned x, int higher)
{
    static const unsigned pow10[4] = {1, 10, 100, 1000};
    int pending = 0, started = higher;

    for (int i = 3; i >= 0; i--) {
        unsigned d = x / pow10[i] % 10;

        if (d == 0) {
            pending = started;
            continue;
        }
        if (pending)
            cap_put(b, cap_digit[0]);
        cap_put(b, cap_digit[d]);
        cap_put(b, cap_pos[i]);
        pending = 0;
        started = 1;
    }
}

/* Below 10^8: a 万 group and a units group. */
static void cap_below_yi(struct capbuf *b, uint64_t v, int higher)
{
    unsigned hi = (unsigned)(v / 10000), lo = (unsigned)(v % 10000);

    if (hi) {
        cap_group(b, hi, higher);
        cap_put(b, "万");
        higher = 1;
    } else if (higher && lo) {
        /* A whole zero 万 group between a higher one and the units: 壹亿零伍仟. */
        cap_put(b, cap_digit[0]);
        higher = 0;
    }
    if (lo)
        cap_group(b, lo, higher);
}

/* Any integer > 0: 亿 recursively (10^16 is 壹亿亿, 10^12 壹万亿), so every int64 fits. */
static void cap_integer(struct capbuf *b, uint64_t v, int higher)
{
    if (v >= 100000000u) {
        cap_integer(b, v / 100000000u, higher);
        cap_put(b, "亿");
        cap_below_yi(b, v % 100000000u, 1);
        return;
    }
    cap_below_yi(b, v, higher);
}

int kf_money_capital(int64_t fen, char *buf, size_t n)
{
    struct capbuf b = {.len = 0};
    uint64_t m = magnitude(fen), yuan = m / 100;
    unsigned jiao = (unsigned)(m / 10 % 10), f = (unsigned)(m % 10);

    b.s[0] = '\0';
    cap_put(&b, "人民币");
    if (fen < 0)
        cap_put(&b, "负");
    if (yuan) {
        cap_integer(&b, yuan, 0);
        cap_put(&b, "元");
    }
    if (jiao == 0 && f == 0) {
        cap_put(&b, yuan ? "整" : "零元整");
    } else {
        /* 零 after 元 when the units digit or the 角 is zero: 壹仟元零伍角, 壹元零伍分. */
        if (yuan && (yuan % 10 == 0 || jiao == 0))
            cap_put(&b, cap_digit[0]);
        if (jiao) {
            cap_put(&b, cap_digit[jiao]);
            cap_put(&b, "角");
        }
        if (f) {
            cap_put(&b, cap_digit[f]);
            cap_put(&b, "分");
        }
    }
    if (b.len + 1 > n)
        return -ENOSPC;
    memcpy(buf, b.s, b.len + 1);
    return 0;
}

int kf_money_round_parse(const char *name, int *ret_rule)
{
    for (int r = KF_ROUND_HALF_UP; r <= KF_ROUND_DOWN; r++) {
        if (name && strcmp(name, kf_money_round_name(r)) == 0) {
            *ret_rule = r;
            return 0;
        }
    }
    return -EINVAL;
}

const char *kf_money_round_name(int rule)
{
    switch (rule) {
    case KF_ROUND_HALF_UP:
        return "half_up";
    case KF_ROUND_HALF_EVEN:
        return "half_even";
    case KF_ROUND_DOWN:
        return "down";
    }
    return NULL;
}
