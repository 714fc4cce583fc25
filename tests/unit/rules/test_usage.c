/* test_usage.c: when a record counts (rules/usage.h), as docs/ARCHITECTURE.md "Clock" and
 * docs/STORE.md "Effective time of a record" tell it. Local times are Asia/Shanghai
 * (UTC+8); every instant below is written out in local time. */
#include <stdint.h>

#include <criterion/criterion.h>

#include <kf/time.h>

#include "rules/usage.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* 2026-09-07 (a Monday) 00:00 local is 2026-09-06 16:00 UTC: day 20703 since 1970-01-01. */
#define SEP7 (20703LL * DAY - 8 * HOUR)

Test(usage, a_synced_frame_uses_its_measured_offset)
{
    unsigned flags = 99;
    /* The agent measured the server 90 s ahead of its own clock. */
    int64_t off = kf_usage_offset(1, 90 * SEC, SEP7 + 12 * HOUR, SEP7 + 12 * HOUR, &flags);

    cr_assert_eq(off, 90 * SEC);
    cr_assert_eq(flags, KF_USAGE_F_SYNCED);
    flags = 0;
    cr_assert_eq(kf_usage_effective_ms(SEP7 + 10 * HOUR, off, SEP7 + 12 * HOUR, &flags),
                 SEP7 + 10 * HOUR + 90 * SEC);
    cr_assert_eq(flags, 0u);
}

Test(usage, an_unsynced_clock_ahead_by_more_than_5_minutes_is_taken_back)
{
    unsigned flags = 0;
    /* Sealed at 12:10 by the device's clock, received at 12:00: 10 minutes ahead. */
    int64_t off = kf_usage_offset(0, 0, SEP7 + 12 * HOUR + 10 * MIN, SEP7 + 12 * HOUR, &flags);

    cr_assert_eq(off, -10 * MIN);
    cr_assert_eq(flags, KF_USAGE_F_CORRECTED);
    /* A txn stamped 12:09 counts at 11:59. */
    cr_assert_eq(kf_usage_effective_ms(SEP7 + 12 * HOUR + 9 * MIN, off, SEP7 + 12 * HOUR, &flags),
                 SEP7 + 11 * HOUR + 59 * MIN);
    cr_assert_eq(flags, KF_USAGE_F_CORRECTED);
}

Test(usage, an_unsynced_clock_up_to_5_minutes_ahead_is_left_alone)
{
    unsigned flags = 99;

    cr_assert_eq(kf_usage_offset(0, 0, SEP7 + 12 * HOUR + 5 * MIN, SEP7 + 12 * HOUR, &flags), 0);
    cr_assert_eq(flags, 0u);
    /* Behind is never corrected: a terminal offline for days flushes old records. */
    cr_assert_eq(kf_usage_offset(0, 0, SEP7 - 3 * DAY, SEP7, &flags), 0);
    cr_assert_eq(flags, 0u);
}

Test(usage, an_effective_time_outside_the_window_is_replaced_by_receipt)
{
    int64_t recv = SEP7 + 12 * HOUR;
    unsigned flags = 0;

    /* Inside [recv - 62 days, recv + 5 min]: kept, the edges included. */
    cr_assert_eq(kf_usage_effective_ms(recv - 62 * DAY, 0, recv, &flags), recv - 62 * DAY);
    cr_assert_eq(kf_usage_effective_ms(recv + 5 * MIN, 0, recv, &flags), recv + 5 * MIN);
    cr_assert_eq(flags, 0u);
    /* One millisecond further on either side: receipt time, flagged suspect. */
    cr_assert_eq(kf_usage_effective_ms(recv - 62 * DAY - 1, 0, recv, &flags), recv);
    cr_assert_eq(flags, KF_USAGE_F_SUSPECT);
    flags = KF_USAGE_F_SYNCED;
    cr_assert_eq(kf_usage_effective_ms(recv + 5 * MIN + 1, 0, recv, &flags), recv);
    cr_assert_eq(flags, KF_USAGE_F_SYNCED | KF_USAGE_F_SUSPECT);
    /* A garbage timestamp that overflows is suspect too, never undefined. */
    flags = 0;
    cr_assert_eq(kf_usage_effective_ms(INT64_MAX, 1, recv, &flags), recv);
    cr_assert_eq(flags, KF_USAGE_F_SUSPECT);
}

Test(usage, a_txn_counts_on_its_local_day)
{
    /* 23:59 local on Sunday 6 Sep is 15:59 UTC: still the 6th. */
    cr_assert_eq(kf_usage_day(SEP7 - MIN), 20702);
    /* 00:00 local on Monday 7 Sep is 16:00 UTC on the 6th: already the 7th. */
    cr_assert_eq(kf_usage_day(SEP7), 20703);
    cr_assert_eq(kf_usage_day(SEP7), kf_local_day(SEP7));
}

Test(usage, a_fact_never_counts_after_its_receipt)
{
    int64_t recv = SEP7 + 12 * HOUR;

    /* A fault stamped 3 minutes ahead (tolerated skew) is dated at receipt. */
    cr_assert_eq(kf_usage_fact_ms(recv + 3 * MIN, recv), recv);
    cr_assert_eq(kf_usage_fact_ms(recv - 3 * MIN, recv), recv - 3 * MIN);
}

Test(usage, a_state_is_ordered_no_later_than_receipt_plus_5_minutes)
{
    int64_t recv = SEP7 + 12 * HOUR;

    cr_assert_eq(kf_usage_state_ms(recv + MIN, recv), recv + MIN);
    cr_assert_eq(kf_usage_state_ms(recv + 3 * DAY, recv), recv + 5 * MIN);
    cr_assert_eq(kf_usage_state_ms(recv - DAY, recv), recv - DAY);
}
