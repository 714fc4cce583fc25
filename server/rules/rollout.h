/* rules/rollout.h: a rollout's waves and its halting rule (docs/KIOSKCTL.md "rollout").
 * Pure: values in, values out.
 *
 * A rollout sends one command to `total` terminals in two waves: the canary (a count, or a
 * share in basis points of total, rounded up, at least 1 and at most total), then the rest.
 * It halts when its failures (commands that ended failed, refused or expired) since it was
 * started or last resumed pass the threshold: more than halt_failures of them, or more
 * than halt_rate_bp basis points of the commands queued so far. Without a threshold the
 * first failure halts it.
 */
#ifndef KF_RULES_ROLLOUT_H
#define KF_RULES_ROLLOUT_H

#include <stdint.h>

#define KF_ROLLOUT_TARGETS_MAX 5000 /* terminals in one rollout */
#define KF_ROLLOUT_WAVES 2          /* the canary, then the rest */

struct kf_rollout_plan {
    uint32_t total;
    uint32_t canary_n;     /* 0: use canary_bp */
    uint32_t canary_bp;    /* 1..10000 when canary_n is 0 */
    int32_t halt_failures; /* -1: none */
    int32_t halt_rate_bp;  /* -1: none; 0..10000 */
};

/* 0 when plan is well formed (total 1..KF_ROLLOUT_TARGETS_MAX, a canary by count or by
 * share, thresholds in range), -EINVAL otherwise. */
int kf_rollout_plan_check(const struct kf_rollout_plan *plan);

/* The size of the canary wave (1..total). */
uint32_t kf_rollout_canary(const struct kf_rollout_plan *plan);

/* Wave w (1 or 2): its first target's index into the ordered targets and its size
 * (*ret_n 0 for a second wave when the canary took everything). -EINVAL for another w. */
int kf_rollout_wave(const struct kf_rollout_plan *plan, uint32_t w, uint32_t *ret_first,
                    uint32_t *ret_n);

/* The number of waves (1 when the canary is everything, else 2). */
uint32_t kf_rollout_waves(const struct kf_rollout_plan *plan);

/* 1 when failures (since the start or the last resume) against the commands queued so far
 * pass the plan's threshold, else 0. */
int kf_rollout_should_halt(const struct kf_rollout_plan *plan, uint32_t failures, uint32_t queued);

/* "N" (a count 0..max) or "P%" (a share, 0..100 with at most two decimals, into basis
 * points: "10%" is 1000, "2.5%" is 250). 0 with exactly one of *ret_n, *ret_bp set (the
 * other 0), or -EINVAL. */
int kf_rollout_parse_share(const char *s, uint32_t max, uint32_t *ret_n, uint32_t *ret_bp);

#endif
