/* A rollout's waves and halting rule (rules/rollout.h), as the worked examples in
 * docs/KIOSKCTL.md "rollout". */
#include <errno.h>

#include <criterion/criterion.h>

#include "rules/rollout.h"

static struct kf_rollout_plan plan(uint32_t total, uint32_t n, uint32_t bp, int32_t hf, int32_t hr)
{
    struct kf_rollout_plan p = {total, n, bp, hf, hr};
    return p;
}

Test(rollout, canary_by_count_or_share_rounded_up)
{
    struct kf_rollout_plan p = plan(15, 0, 1000, -1, -1); /* 10% of 15: 1.5 -> 2 */
    uint32_t first, n;

    cr_assert_eq(kf_rollout_canary(&p), 2);
    cr_assert_eq(kf_rollout_waves(&p), 2);
    cr_assert_eq(kf_rollout_wave(&p, 1, &first, &n), 0);
    cr_assert_eq(first, 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(kf_rollout_wave(&p, 2, &first, &n), 0);
    cr_assert_eq(first, 2);
    cr_assert_eq(n, 13);
    cr_assert_eq(kf_rollout_wave(&p, 3, &first, &n), -EINVAL);
    p = plan(200, 0, 1, -1, -1); /* 0.01% of 200 is still one terminal */
    cr_assert_eq(kf_rollout_canary(&p), 1);
    p = plan(3, 5, 0, -1, -1); /* a canary larger than the group: one wave */
    cr_assert_eq(kf_rollout_canary(&p), 3);
    cr_assert_eq(kf_rollout_waves(&p), 1);
    p = plan(3, 0, 10000, -1, -1);
    cr_assert_eq(kf_rollout_waves(&p), 1);
}

Test(rollout, plan_bounds)
{
    struct kf_rollout_plan p = plan(10, 1, 0, -1, -1);

    cr_assert_eq(kf_rollout_plan_check(&p), 0);
    p.total = 0;
    cr_assert_eq(kf_rollout_plan_check(&p), -EINVAL);
    p.total = KF_ROLLOUT_TARGETS_MAX + 1;
    cr_assert_eq(kf_rollout_plan_check(&p), -EINVAL);
    p = plan(10, 0, 0, -1, -1);
    cr_assert_eq(kf_rollout_plan_check(&p), -EINVAL);
    p = plan(10, 0, 10001, -1, -1);
    cr_assert_eq(kf_rollout_plan_check(&p), -EINVAL);
    p = plan(10, 1, 0, -2, -1);
    cr_assert_eq(kf_rollout_plan_check(&p), -EINVAL);
    p = plan(10, 1, 0, -1, 10001);
    cr_assert_eq(kf_rollout_plan_check(&p), -EINVAL);
}

Test(rollout, halts_past_the_threshold)
{
    struct kf_rollout_plan p = plan(100, 10, 0, -1, -1); /* none given: the first failure */

    cr_assert_eq(kf_rollout_should_halt(&p, 0, 10), 0);
    cr_assert_eq(kf_rollout_should_halt(&p, 1, 10), 1);
    p = plan(100, 10, 0, 2, -1); /* more than 2 */
    cr_assert_eq(kf_rollout_should_halt(&p, 2, 10), 0);
    cr_assert_eq(kf_rollout_should_halt(&p, 3, 10), 1);
    p = plan(100, 10, 0, -1, 1000);                      /* more than 10% of those queued */
    cr_assert_eq(kf_rollout_should_halt(&p, 1, 10), 0);  /* 10%: not past it */
    cr_assert_eq(kf_rollout_should_halt(&p, 2, 10), 1);  /* 20% of the canary */
    cr_assert_eq(kf_rollout_should_halt(&p, 2, 100), 0); /* 2% once the rest is queued */
    cr_assert_eq(kf_rollout_should_halt(&p, 0, 0), 0);
    p = plan(100, 10, 0, 5, 1000); /* either */
    cr_assert_eq(kf_rollout_should_halt(&p, 2, 10), 1);
    cr_assert_eq(kf_rollout_should_halt(&p, 6, 100), 1);
    cr_assert_eq(kf_rollout_should_halt(&p, 5, 100), 0);
}

Test(rollout, parses_a_count_or_a_share)
{
    uint32_t n = 9, bp = 9;

    cr_assert_eq(kf_rollout_parse_share("2", 10, &n, &bp), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(bp, 0);
    cr_assert_eq(kf_rollout_parse_share("10%", 10, &n, &bp), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(bp, 1000);
    cr_assert_eq(kf_rollout_parse_share("2.5%", 10, &n, &bp), 0);
    cr_assert_eq(bp, 250);
    cr_assert_eq(kf_rollout_parse_share("0.01%", 10, &n, &bp), 0);
    cr_assert_eq(bp, 1);
    cr_assert_eq(kf_rollout_parse_share("100%", 10, &n, &bp), 0);
    cr_assert_eq(bp, 10000);
    cr_assert_eq(kf_rollout_parse_share("11", 10, &n, &bp), -EINVAL);
    cr_assert_eq(kf_rollout_parse_share("100.01%", 10, &n, &bp), -EINVAL);
    cr_assert_eq(kf_rollout_parse_share("1.5", 10, &n, &bp), -EINVAL);
    cr_assert_eq(kf_rollout_parse_share("0.001%", 10, &n, &bp), -EINVAL);
    cr_assert_eq(kf_rollout_parse_share("-1", 10, &n, &bp), -EINVAL);
    cr_assert_eq(kf_rollout_parse_share("", 10, &n, &bp), -EINVAL);
    cr_assert_eq(kf_rollout_parse_share("5%%", 10, &n, &bp), -EINVAL);
    cr_assert_eq(kf_rollout_parse_share("1e3", 10000, &n, &bp), -EINVAL);
}
