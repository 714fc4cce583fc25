/* Time: Asia/Shanghai day cuts by arithmetic, formatting and parsing. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kf/time.h>

#define MS_2026_01_01 1767225600000LL /* 2026-01-01T00:00:00Z */

Test(time, local_day_cuts_at_16h_utc)
{
    char buf[16];
    int32_t d;

    /* 2026-01-01T15:59:59.999Z is 23:59:59.999 on 2026-01-01 in Shanghai */
    d = kf_local_day(MS_2026_01_01 + 16 * 3600000LL - 1);
    cr_assert_str_eq(kf_day_format(d, buf, sizeof(buf)), "2026-01-01");
    /* 16:00Z is already 2026-01-02 there */
    d = kf_local_day(MS_2026_01_01 + 16 * 3600000LL);
    cr_assert_str_eq(kf_day_format(d, buf, sizeof(buf)), "2026-01-02");
    /* 2025-12-31T16:00:00Z is midnight of 2026-01-01 local */
    d = kf_local_day(MS_2026_01_01 - 8 * 3600000LL);
    cr_assert_str_eq(kf_day_format(d, buf, sizeof(buf)), "2026-01-01");
    d = kf_local_day(MS_2026_01_01 - 8 * 3600000LL - 1);
    cr_assert_str_eq(kf_day_format(d, buf, sizeof(buf)), "2025-12-31");
}

Test(time, day_start_and_parse_agree)
{
    int32_t d;

    cr_assert_eq(kf_day_parse("2026-01-01", &d), 0);
    cr_assert_eq(d, 20454);
    cr_assert_eq(kf_day_start_ms(d), MS_2026_01_01 - 8 * 3600000LL);
    cr_assert_eq(kf_local_day(kf_day_start_ms(d)), d);
    cr_assert_eq(kf_local_day(kf_day_start_ms(d) - 1), d - 1);
    cr_assert_eq(kf_day_parse("1970-01-01", &d), 0);
    cr_assert_eq(d, 0);
    cr_assert_eq(kf_local_day(0), 0); /* 08:00 local */
    cr_assert_eq(kf_local_day(-8 * 3600000LL - 1), -1);
}

Test(time, format_and_parse_round_trip_over_many_days)
{
    char buf[16];

    for (int32_t d = -800; d < 60000; d += 7) {
        int32_t back;

        kf_day_format(d, buf, sizeof(buf));
        cr_assert_eq(kf_day_parse(buf, &back), 0, "%s", buf);
        cr_assert_eq(back, d);
    }
}

Test(time, day_parse_is_strict)
{
    static const char *bad[] = {"2026-02-29", "2026-13-01",  "2026-00-10", "2026-01-32",
                                "2026-1-01",  "2026-01-01 ", "26-01-01",   "2026/01/01",
                                "",           "2026-04-31",  "abcd-ef-gh"};
    int32_t d = 77;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(kf_day_parse(bad[i], &d), -EINVAL, "%s", bad[i]);
    cr_assert_eq(d, 77);
    cr_assert_eq(kf_day_parse("2024-02-29", &d), 0);
    cr_assert_eq(kf_day_parse("2000-02-29", &d), 0);
    cr_assert_eq(kf_day_parse("1900-02-29", &d), -EINVAL);
}

Test(time, ms_format_is_rfc3339_utc)
{
    char buf[32];

    cr_assert_str_eq(kf_ms_format(MS_2026_01_01 + 16 * 3600000LL - 1, buf, sizeof(buf)),
                     "2026-01-01T15:59:59.999Z");
    cr_assert_str_eq(kf_ms_format(1795701363123LL, buf, sizeof(buf)), "2026-11-26T13:56:03.123Z");
    cr_assert_str_eq(kf_ms_format(-1, buf, sizeof(buf)), "1969-12-31T23:59:59.999Z");
    cr_assert_str_eq(kf_ms_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
}

Test(time, floor_div_rounds_toward_minus_infinity)
{
    cr_assert_eq(kf_time_floor_div(7, 2), 3);
    cr_assert_eq(kf_time_floor_div(-7, 2), -4);
    cr_assert_eq(kf_time_floor_div(7, -2), -4);
    cr_assert_eq(kf_time_floor_div(-7, -2), 3);
    cr_assert_eq(kf_time_floor_div(-6, 2), -3);
    cr_assert_eq(kf_time_floor_div(-1, 1000), -1);
    cr_assert_eq(kf_time_floor_div(0, 1000), 0);
}

Test(time, clocks_move_forward)
{
    int64_t a = kf_mono_us(), b;

    cr_assert_gt(kf_now_ms(), MS_2026_01_01 - 365LL * 86400000 * 10);
    b = kf_mono_us();
    cr_assert_geq(b, a);
}
