/* time.c: UTC instants inside; the Asia/Shanghai calendar (fixed UTC+8) by plain arithmetic,
 * never through TZ or localtime(3). Civil-date conversions after Howard Hinnant's
 * days_from_civil / civil_from_days (proleptic Gregorian). */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "kf/time.h"

#define KF_DAY_MS (86400LL * 1000)

int64_t kf_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kf_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t kf_clock_base_ms(void)
{
    struct timespec rt, bt;

    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_BOOTTIME, &bt);
    return ((int64_t)rt.tv_sec - (int64_t)bt.tv_sec) * 1000 + (rt.tv_nsec - bt.tv_nsec) / 1000000;
}

int64_t kf_time_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = kf_time_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
    z += 719468;
    int64_t era = kf_time_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);

    *ret_y = y + (m <= 2);
    *ret_m = m;
    *ret_d = d;
}

int32_t kf_local_day(int64_t utc_ms)
{
    return (int32_t)kf_time_floor_div(utc_ms + KF_CST_OFFSET_MS, KF_DAY_MS);
}

char *kf_day_format(int32_t day, char *buf, unsigned long cap)
{
    int64_t y;
    int m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02d-%02d", (long long)y, m, d);
    return buf;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int parse_digits(const char *s, int n, int *ret)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int kf_day_parse(const char *s, int32_t *ret_day)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, dim;

    if (!s || parse_digits(s, 4, &y) < 0 || s[4] != '-' || parse_digits(s + 5, 2, &m) < 0 ||
        s[7] != '-' || parse_digits(s + 8, 2, &d) < 0 || s[10] != '\0')
        return -EINVAL;
    if (m < 1 || m > 12)
        return -EINVAL;
    dim = mdays[m - 1] + (m == 2 && is_leap(y));
    if (d < 1 || d > dim)
        return -EINVAL;
    *ret_day = (int32_t)days_from_civil(y, m, d);
    return 0;
}

int64_t kf_day_start_ms(int32_t day)
{
    return (int64_t)day * KF_DAY_MS - KF_CST_OFFSET_MS;
}

char *kf_ms_format(int64_t utc_ms, char *buf, unsigned long cap)
{
    int64_t day = kf_time_floor_div(utc_ms, KF_DAY_MS);
    int64_t rem = utc_ms - day * KF_DAY_MS;
    int64_t y;
    int m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
    return buf;
}
