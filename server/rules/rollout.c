/* rules/rollout.c: a rollout's waves and its halting rule (rules/rollout.h). */
#include "rules/rollout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kf_rollout_plan_check(const struct kf_rollout_plan *p)
{
    if (p->total < 1 || p->total > KF_ROLLOUT_TARGETS_MAX)
        return -EINVAL;
    if (p->canary_n == 0 && (p->canary_bp < 1 || p->canary_bp > 10000))
        return -EINVAL;
    if (p->halt_failures < -1 || p->halt_rate_bp < -1 || p->halt_rate_bp > 10000)
        return -EINVAL;
    return 0;
}

uint32_t kf_rollout_canary(const struct kf_rollout_plan *p)
{
    uint64_t n = p->canary_n;

    if (n == 0) /* a share, rounded up: 10% of 15 is 2 */
        n = ((uint64_t)p->total * p->canary_bp + 9999) / 10000;
    if (n < 1)
        n = 1;
    return n > p->total ? p->total : (uint32_t)n;
}

uint32_t kf_rollout_waves(const struct kf_rollout_plan *p)
{
    return kf_rollout_canary(p) >= p->total ? 1 : 2;
}

int kf_rollout_wave(const struct kf_rollout_plan *p, uint32_t w, uint32_t *ret_first,
                    uint32_t *ret_n)
{
    uint32_t c = kf_rollout_canary(p);

    if (w == 1) {
        *ret_first = 0;
        *ret_n = c;
        return 0;
    }
    if (w == 2) {
        *ret_first = c;
        *ret_n = p->total - c;
        return 0;
    }
    return -EINVAL;
}

int kf_rollout_should_halt(const struct kf_rollout_plan *p, uint32_t failures, uint32_t queued)
{
    if (p->halt_failures < 0 && p->halt_rate_bp < 0)
        return failures > 0;
    if (p->halt_failures >= 0 && failures > (uint32_t)p->halt_failures)
        return 1;
    /* failures / queued > rate, in integers: failures * 10000 > rate * queued. */
    if (p->halt_rate_bp >= 0 && queued > 0 &&
        (uint64_t)failures * 10000 > (uint64_t)p->halt_rate_bp * queued)
        return 1;
    return 0;
}

int kf_rollout_parse_share(const char *s, uint32_t max, uint32_t *ret_n, uint32_t *ret_bp)
{
    uint64_t whole = 0, frac = 0;
    size_t i = 0, fd = 0;

    /* By hand, not strtod: the locale's decimal point must not matter, nor rounding. */
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -EINVAL;
    for (; s[i] >= '0' && s[i] <= '9'; i++)
        if ((whole = whole * 10 + (uint64_t)(s[i] - '0')) > 100000000)
            return -EINVAL;
    if (s[i] == '.') {
        for (i++; s[i] >= '0' && s[i] <= '9'; i++, fd++)
            if (fd < 2)
                frac = frac * 10 + (uint64_t)(s[i] - '0');
            else
                return -EINVAL;
        if (fd == 0)
            return -EINVAL;
        if (fd == 1)
            frac *= 10;
        if (strcmp(s + i, "%") != 0)
            return -EINVAL; /* a count has no decimals */
    }
    if (strcmp(s + i, "%") == 0) {
        if (whole * 100 + frac > 10000)
            return -EINVAL;
        *ret_n = 0;
        *ret_bp = (uint32_t)(whole * 100 + frac);
        return 0;
    }
    if (s[i] != '\0' || whole > max)
        return -EINVAL;
    *ret_n = (uint32_t)whole;
    *ret_bp = 0;
    return 0;
}
