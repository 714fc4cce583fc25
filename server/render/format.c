/* render/format.c: how figures and names are written, the same in every form. Money is
 * formatted from integer fen with integer arithmetic only (DESIGN.md principle 4): a double
 * cannot hold every fen of a large bill, and a CSV or PDF must show the JSON's figures to
 * the fen.
 */
#include "render/render_int.h"

#include <kf/time.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

char *kf__render_money(int64_t fen, int grouped, char *buf, size_t cap)
{
    /* The magnitude as unsigned, so that INT64_MIN has one too. */
    uint64_t mag = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    uint64_t yuan = mag / 100;
    char digits[24], out[KF__RENDER_MONEY_CAP];
    size_t nd = 0, n = 0;

    do {
        digits[nd++] = (char)('0' + yuan % 10);
        yuan /= 10;
    } while (yuan);
    if (fen < 0)
        out[n++] = '-';
    while (nd > 0) {
        out[n++] = digits[--nd];
        if (grouped && nd > 0 && nd % 3 == 0)
            out[n++] = ',';
    }
    out[n++] = '.';
    out[n++] = (char)('0' + mag % 100 / 10);
    out[n++] = (char)('0' + mag % 10);
    out[n] = '\0';
    snprintf(buf, cap, "%s", out);
    return buf;
}

char *kf__render_rate(int64_t bp, char *buf, size_t cap)
{
    int64_t whole = bp / 100, frac = bp % 100;
    if (frac < 0)
        frac = -frac;
    if (frac == 0)
        snprintf(buf, cap, "%lld%%", (long long)whole);
    else if (frac % 10 == 0)
        snprintf(buf, cap, "%lld.%lld%%", (long long)whole, (long long)(frac / 10));
    else
        snprintf(buf, cap, "%lld.%02lld%%", (long long)whole, (long long)frac);
    return buf;
}

const char *kf__render_kind_name(const char *kind)
{
    static const char *const names[][2] = {{"lease", "租赁费"},    {"maintenance", "维护费"},
                                           {"credit", "服务抵扣"}, {"penalty", "违约扣款"},
                                           {"cap", "扣减封顶"},    {"adjustment", "更正调整"}};
    for (size_t i = 0; kind && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(kind, names[i][0]) == 0)
            return names[i][1];
    return kind ? kind : "";
}

const char *kf__render_terminal_name(const char *terminal_kind)
{
    if (!terminal_kind)
        return "";
    if (strcmp(terminal_kind, "kiosk") == 0)
        return "一体机";
    if (strcmp(terminal_kind, "itm") == 0)
        return "智能柜员机";
    return terminal_kind;
}

char *kf__render_local_date(int64_t utc_ms, char *buf, size_t cap)
{
    return kf_day_format(kf_local_day(utc_ms), buf, cap);
}

const char *kf__render_number(const struct kf__render_bill *b)
{
    return b->draft ? "草稿 DRAFT" : b->number;
}

int kf__render_tmp_path(const char *path, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s.tmp", path);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int kf__render_commit(const char *tmp, const char *path, char *err, size_t errn)
{
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return kf__render_fail(err, errn, -e, "%s: %s", path, strerror(e));
    }
    return 0;
}
