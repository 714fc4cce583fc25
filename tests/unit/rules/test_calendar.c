/* test_calendar.c: opening hours, the yearly holiday files (errors name file:line) and
 * service-time arithmetic across midnight, holidays, make-up days and month boundaries.
 *
 * Times are written as local (Asia/Shanghai) wall-clock times; lt() turns them into UTC ms.
 * September 2026:          Mo Tu We Th Fr Sa Su
 *                               1  2  3  4  5  6
 *                           7  8  9 10 11 12 13
 *                          14 15 16 17 18 19 20   20th: make-up working day (国庆节调休)
 *                          21 22 23 24 25 26 27   25th-27th: 中秋节 holidays
 *                          28 29 30
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kf/time.h>

#include "rules/calendar.h"
#include "kf_test.h"

#define H (3600 * 1000LL)
#define MIN (60 * 1000LL)

static int64_t lt(const char *day, int hh, int mm, int ss)
{
    int32_t d = 0;

    cr_assert_eq(kf_day_parse(day, &d), 0, "%s", day);
    return kf_day_start_ms(d) + ((hh * 60LL + mm) * 60 + ss) * 1000;
}

static int32_t dayno(const char *day)
{
    int32_t d = 0;

    cr_assert_eq(kf_day_parse(day, &d), 0);
    return d;
}

static struct kf_holidays *load_cn2026(void)
{
    struct kf_holidays *h = kf_holidays_new();
    char err[256] = "", *text;

    cr_assert_not_null(h);
    text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/calendar/cn-2026.ini");
    cr_assert_eq(kf_holidays_load_string(h, text, "cn-2026.ini", err, sizeof(err)), 0, "%s", err);
    free(text);
    return h;
}

Test(calendar, dayspec_parses_and_merges)
{
    struct kf_dayspec d;
    char buf[64];

    cr_assert_eq(kf_calendar_dayspec_parse("08:30-17:00", &d), 0);
    cr_assert_eq(d.n, 1);
    cr_assert_eq(d.slot[0].start_s, 30600);
    cr_assert_eq(d.slot[0].end_s, 61200);
    cr_assert_eq(kf_calendar_dayspec_parse(" 08:00-12:00 , 13:30-17:00 ", &d), 0);
    cr_assert_eq(d.n, 2);
    cr_assert_eq(kf_calendar_dayspec_format(&d, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "08:00-12:00,13:30-17:00");
    cr_assert_eq(kf_calendar_dayspec_parse("08:00-12:00,12:00-17:00", &d),
                 0); /* touching: merged */
    cr_assert_eq(d.n, 1);
    cr_assert_eq(d.slot[0].end_s, 61200);
    cr_assert_eq(kf_calendar_dayspec_parse("00:00-24:00", &d), 0);
    cr_assert_eq(d.slot[0].start_s, 0);
    cr_assert_eq(d.slot[0].end_s, 86400);
    cr_assert_eq(kf_calendar_dayspec_parse("00:00-02:00,22:00-24:00", &d),
                 0); /* a night: two slots */
    cr_assert_eq(d.n, 2);
    for (int i = 0; i < 4; i++) {
        const char *closed[] = {NULL, "", "closed", "null"};
        cr_assert_eq(kf_calendar_dayspec_parse(closed[i], &d), 0);
        cr_assert_eq(d.n, 0);
    }
    cr_assert_eq(kf_calendar_dayspec_format(&d, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "closed");
}

Test(calendar, dayspec_rejects)
{
    const char *bad[] = {
        "8:30-17:00",   "08:30-17:00,",
        "17:00-08:30",  "08:00-12:00,11:00-13:00",
        "24:00-24:00",  "08:60-09:00",
        "25:00-26:00",  "08:30-24:30",
        "08:30-17:00x", "08:30",
        "09:00-09:00",  "01:00-02:00,03:00-04:00,05:00-06:00,07:00-08:00,09:00-10:00"};
    struct kf_dayspec d;

    d.n = 99;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(kf_calendar_dayspec_parse(bad[i], &d), -EINVAL, "%s", bad[i]);
    }
    cr_assert_eq(d.n, 99); /* untouched on error */
}

Test(calendar, weeks_for_kiosks_and_itms)
{
    struct kf_week w;

    cr_assert_eq(kf_calendar_week_from_hours("08:30-17:00", NULL, &w), 0);
    cr_assert_eq(w.day[KF_DAY_MON].n, 1);
    cr_assert_eq(w.day[KF_DAY_FRI].slot[0].start_s, 30600);
    cr_assert_eq(w.day[KF_DAY_SAT].n, 0);
    cr_assert_eq(w.day[KF_DAY_SUN].n, 0);
    cr_assert_eq(w.day[KF_DAY_HOLIDAY].n, 0);
    cr_assert_eq(w.day[KF_DAY_MAKEUP].slot[0].end_s, 61200); /* weekday hours */
    cr_assert_eq(kf_calendar_week_from_hours("09:00-17:00", "09:00-16:00", &w), 0);
    cr_assert_eq(w.day[KF_DAY_SUN].slot[0].end_s, 57600);
    cr_assert_eq(w.day[KF_DAY_MAKEUP].slot[0].end_s, 61200);
    /* A 24 h lobby keeps its hours every day of the year, holidays included. */
    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, "00:00-24:00", 1, &w), 0);
    for (int i = 0; i < KF_DAY_KINDS; i++) {
        cr_assert_eq(w.day[i].n, 1);
        cr_assert_eq(w.day[i].slot[0].end_s - w.day[i].slot[0].start_s, 86400);
    }
    /* No itm_hours, or a kiosk: the zone's hours. */
    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, NULL, 1, &w), 0);
    cr_assert_eq(w.day[KF_DAY_HOLIDAY].n, 0);
    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, "00:00-24:00", 0, &w), 0);
    cr_assert_eq(w.day[KF_DAY_SAT].n, 0);
    cr_assert_eq(kf_calendar_week_from_hours("8-17", NULL, &w), -EINVAL);
}

Test(calendar, loads_the_2026_schedule)
{
    struct kf_holidays *h = load_cn2026();
    char err[128] = "";
    int holidays = 0, makeups = 0;

    /* The State Council's notice of 2025-11-04: 33 days off, 6 make-up working days. */
    for (int32_t d = dayno("2025-12-01"); d <= dayno("2026-12-31"); d++) {
        holidays += kf_holidays_kind(h, d) == KF_DATE_HOLIDAY;
        makeups += kf_holidays_kind(h, d) == KF_DATE_MAKEUP;
    }
    cr_assert_eq(holidays, 3 + 9 + 3 + 5 + 3 + 3 + 7);
    cr_assert_eq(makeups, 6);
    cr_assert_eq(kf_holidays_kind(h, dayno("2026-02-15")), KF_DATE_HOLIDAY);
    cr_assert_eq(kf_holidays_kind(h, dayno("2026-02-23")), KF_DATE_HOLIDAY);
    cr_assert_eq(kf_holidays_kind(h, dayno("2026-02-24")), KF_DATE_NORMAL);
    cr_assert_eq(kf_holidays_kind(h, dayno("2026-02-14")), KF_DATE_MAKEUP);
    cr_assert_eq(kf_holidays_kind(h, dayno("2026-09-20")), KF_DATE_MAKEUP);
    cr_assert_eq(kf_holidays_kind(h, dayno("2026-10-07")), KF_DATE_HOLIDAY);
    cr_assert_eq(kf_holidays_kind(h, dayno("2026-10-10")), KF_DATE_MAKEUP);
    cr_assert_str_eq(kf_holidays_name(h, dayno("2026-09-25")), "中秋节 Mid-Autumn Festival");
    cr_assert_str_eq(kf_holidays_name(h, dayno("2026-09-24")), "");
    cr_assert_eq(kf_holidays_covers(h, 2026), 1);
    cr_assert_eq(kf_holidays_covers(h, 2027), 0);
    cr_assert_eq(kf_holidays_require(h, lt("2026-01-01", 0, 0, 0), lt("2027-01-01", 0, 0, 0), err,
                                     sizeof(err)),
                 0);
    cr_assert_eq(kf_holidays_require(h, lt("2026-12-01", 0, 0, 0), lt("2027-01-01", 0, 0, 1), err,
                                     sizeof(err)),
                 -ENOENT);
    cr_assert_str_eq(err, "no calendar file for 2027");
    kf_holidays_free(h);
    kf_holidays_free(NULL);
}

/* Each bad file must fail with exactly this message (file:line: what). */
static void expect_error(const char *text, int rc, const char *msg)
{
    struct kf_holidays *h = kf_holidays_new();
    char err[256] = "";

    cr_assert_eq(kf_holidays_load_string(h, text, "t.ini", err, sizeof(err)), rc, "%s", text);
    cr_assert_str_eq(err, msg);
    cr_assert_eq(kf_holidays_covers(h, 2026), 0); /* all or nothing */
    kf_holidays_free(h);
}

Test(calendar, file_errors_name_file_and_line)
{
    expect_error("[calendar]\nyear = 2026\n[holidays]\n2026-02-30 = x\n", -EINVAL,
                 "t.ini:4: \"2026-02-30\": not a date YYYY-MM-DD or range YYYY-MM-DD..YYYY-MM-DD");
    expect_error("[calendar]\nyear = 2026\n\n[holidays]\n2026-10-07..2026-10-01 = x\n", -EINVAL,
                 "t.ini:5: range ends before it starts");
    expect_error("[calendar]\nyear = 2026\n[workdays]\n2026-09-21 = x\n", -EINVAL,
                 "t.ini:4: 2026-09-21 is not a Saturday or Sunday; a make-up working day is a "
                 "weekend day");
    expect_error("[calendar]\nyear = 2026\n[holidays]\n2026-10-01..2026-10-07 = a\n"
                 "# a comment\n2026-10-07..2026-10-08 = b\n",
                 -EINVAL, "t.ini:6: 2026-10-07 is already listed at line 4");
    expect_error("[calendar]\nyear = 2026\n[holidays]\n2026-09-26 = a\n[workdays]\n"
                 "2026-09-26 = b\n",
                 -EINVAL, "t.ini:6: 2026-09-26 is already listed at line 4");
    expect_error("[calendar]\nyear = 2026\n[holidays]\n2025-11-30 = a\n", -EINVAL,
                 "t.ini:4: 2025-11-30 is outside the year 2026 (2025-12-01..2026-12-31)");
    expect_error("[calendar]\nyear = 2026\n[holidays]\n2027-01-01 = a\n", -EINVAL,
                 "t.ini:4: 2027-01-01 is outside the year 2026 (2025-12-01..2026-12-31)");
    expect_error("[holidays]\n2026-01-01 = a\n", -EINVAL, "t.ini: missing [calendar] year");
    expect_error("[calendar]\nyear = 2026\nyear = 2027\n", -EINVAL,
                 "t.ini:3: calendar.year: given twice");
    expect_error("[calendar]\nyear = MMXXVI\n", -EINVAL,
                 "t.ini:2: calendar.year: not a year (1991..2200)");
    expect_error("[calendar]\nyear = 2026\nyaer = 2026\n", -EINVAL,
                 "t.ini:3: unknown key \"yaer\" in [calendar]");
    expect_error("[calendar]\nyear = 2026\n[holiday]\n2026-01-01 = a\n", -EINVAL,
                 "t.ini:4: unknown section [holiday]");
    expect_error("[calendar]\nyear = 2026\n[holidays]\n2026-01-01..2026-02-15 = a\n", -EINVAL,
                 "t.ini:4: range longer than 31 days");
    expect_error("[calendar]\nyear = 2026\n[holidays]\nthis line has no equals sign\n", -EINVAL,
                 "t.ini:4: syntax error");
    {
        char text[512];
        char pad[300];
        memset(pad, 'x', sizeof(pad) - 1);
        pad[sizeof(pad) - 1] = '\0';
        snprintf(text, sizeof(text), "[calendar]\nyear = 2026\n# %s\n", pad);
        expect_error(text, -EINVAL, "t.ini:3: line too long");
    }
}

Test(calendar, files_for_two_years_must_not_collide)
{
    struct kf_holidays *h = kf_holidays_new();
    char err[256] = "";

    cr_assert_eq(kf_holidays_load_string(h,
                                         "[calendar]\nyear = 2026\n[holidays]\n"
                                         "2026-12-31 = New Year's Eve, say\n",
                                         "a.ini", err, sizeof(err)),
                 0, "%s", err);
    /* The 2027 notice may reach back into December 2026, but not onto a day already set. */
    cr_assert_eq(kf_holidays_load_string(h,
                                         "[calendar]\nyear = 2027\n[holidays]\n"
                                         "2026-12-31..2027-01-02 = 元旦\n",
                                         "b.ini", err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "b.ini:4: 2026-12-31 is already listed at a.ini:4");
    cr_assert_eq(kf_holidays_covers(h, 2027), 0);
    cr_assert_eq(kf_holidays_load_string(h, "[calendar]\nyear = 2026\n", "c.ini", err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "c.ini:2: a calendar for 2026 is already loaded");
    cr_assert_eq(kf_holidays_load_string(h,
                                         "[calendar]\nyear = 2027\n[holidays]\n"
                                         "2027-01-01..2027-01-02 = 元旦\n",
                                         "b.ini", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(kf_holidays_covers(h, 2027), 1);
    cr_assert_eq(kf_holidays_kind(h, dayno("2027-01-02")), KF_DATE_HOLIDAY);
    cr_assert_eq(kf_holidays_kind(h, dayno("2026-12-31")), KF_DATE_HOLIDAY);
    kf_holidays_free(h);
}

Test(calendar, service_time_across_nights_holidays_and_makeup_days)
{
    struct kf_holidays *hol = load_cn2026();
    struct kf_week kiosk;
    struct kf_cal c = {&kiosk, hol, NULL, 0}, plain = {&kiosk, NULL, NULL, 0};

    cr_assert_eq(kf_calendar_week_from_hours("08:30-17:00", NULL, &kiosk), 0);
    /* Fri 16:00 -> Mon 09:00: Fri 16:00-17:00 (1 h) + Mon 08:30-09:00 (0.5 h). */
    cr_assert_eq(kf_calendar_service_ms(&c, lt("2026-09-11", 16, 0, 0), lt("2026-09-14", 9, 0, 0)),
                 90 * MIN);
    /* Thu 16:00 -> Mon 09:30 across 中秋节: Thu 1 h, Fri 25th a holiday, Mon 1 h = 2 h;
     * without the holiday file Friday's 8.5 h would count too. */
    cr_assert_eq(kf_calendar_service_ms(&c, lt("2026-09-24", 16, 0, 0), lt("2026-09-28", 9, 30, 0)),
                 2 * H);
    cr_assert_eq(
        kf_calendar_service_ms(&plain, lt("2026-09-24", 16, 0, 0), lt("2026-09-28", 9, 30, 0)),
        2 * H + 510 * MIN);
    /* Sat 19th -> Mon 21st: only Sunday the 20th, a make-up day on weekday hours (8.5 h). */
    cr_assert_eq(kf_calendar_service_ms(&c, lt("2026-09-19", 0, 0, 0), lt("2026-09-21", 0, 0, 0)),
                 510 * MIN);
    cr_assert_eq(
        kf_calendar_service_ms(&plain, lt("2026-09-19", 0, 0, 0), lt("2026-09-21", 0, 0, 0)), 0);
    cr_assert_eq(kf_calendar_service_ms(&c, lt("2026-09-21", 0, 0, 0), lt("2026-09-19", 0, 0, 0)),
                 0);

    /* Deadlines. 2 h after Thu 24th 16:00: 1 h on Thursday, the rest on Monday 28th from
     * 08:30, so 09:30. */
    cr_assert_eq(kf_calendar_add_service(&c, lt("2026-09-24", 16, 0, 0), 2 * H),
                 lt("2026-09-28", 9, 30, 0));
    /* Exactly at closing: 1 h after 16:00 is 17:00 the same day, not the next morning. */
    cr_assert_eq(kf_calendar_add_service(&c, lt("2026-09-24", 16, 0, 0), 1 * H),
                 lt("2026-09-24", 17, 0, 0));
    /* Starting before opening: 1 h after 07:00 is 09:30. */
    cr_assert_eq(kf_calendar_add_service(&c, lt("2026-09-29", 7, 0, 0), 1 * H),
                 lt("2026-09-29", 9, 30, 0));
    /* Saturday 16:00 + 2 h lands on the make-up Sunday at 10:30 (Monday 10:30 without it). */
    cr_assert_eq(kf_calendar_add_service(&c, lt("2026-09-19", 16, 0, 0), 2 * H),
                 lt("2026-09-20", 10, 30, 0));
    cr_assert_eq(kf_calendar_add_service(&plain, lt("2026-09-19", 16, 0, 0), 2 * H),
                 lt("2026-09-21", 10, 30, 0));
    /* Across a month boundary: Wed 30th 16:00 + 8 h: 1 h on the 30th; Oct 1st-7th are
     * holidays, so 08:30 + 7 h = 15:30 on Thursday 8 October. */
    cr_assert_eq(kf_calendar_add_service(&c, lt("2026-09-30", 16, 0, 0), 8 * H),
                 lt("2026-10-08", 15, 30, 0));
    /* Fri 9 Oct 16:00 + 2 h: 1 h on Friday, then Saturday 10th, a make-up day: 09:30. */
    cr_assert_eq(kf_calendar_add_service(&c, lt("2026-10-09", 16, 0, 0), 2 * H),
                 lt("2026-10-10", 9, 30, 0));
    cr_assert_eq(kf_calendar_add_service(&c, lt("2026-09-30", 16, 0, 0), 0),
                 lt("2026-09-30", 16, 0, 0));
    {
        struct kf_week closed;
        struct kf_cal cc = {&closed, hol, NULL, 0};
        cr_assert_eq(kf_calendar_week_from_hours(NULL, NULL, &closed), 0);
        cr_assert_eq(kf_calendar_add_service(&cc, lt("2026-09-30", 16, 0, 0), 1), KF_TIME_NEVER);
    }
    kf_holidays_free(hol);
}

Test(calendar, maintenance_windows_do_not_count)
{
    struct kf_week kiosk;
    struct kf_window w[3];
    size_t n = 0;
    struct kf_cal c = {&kiosk, NULL, w, 0};

    cr_assert_eq(kf_calendar_week_from_hours("08:30-17:00", NULL, &kiosk), 0);
    /* Given out of order, overlapping and with an empty one: normalized to one window. */
    w[0] = (struct kf_window){lt("2026-09-07", 10, 0, 0), lt("2026-09-07", 12, 0, 0)};
    w[1] = (struct kf_window){lt("2026-09-07", 9, 0, 0), lt("2026-09-07", 10, 30, 0)};
    w[2] = (struct kf_window){lt("2026-09-08", 9, 0, 0), lt("2026-09-08", 9, 0, 0)};
    cr_assert_eq(kf_calendar_windows_normalize(w, 3, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(w[0].start_ms, lt("2026-09-07", 9, 0, 0));
    cr_assert_eq(w[0].end_ms, lt("2026-09-07", 12, 0, 0));
    c.n_excl = n;
    /* 08:00-13:00 Monday: 08:30-09:00 and 12:00-13:00 count = 1.5 h. */
    cr_assert_eq(kf_calendar_service_ms(&c, lt("2026-09-07", 8, 0, 0), lt("2026-09-07", 13, 0, 0)),
                 90 * MIN);
    /* 30 min after 08:45: 15 min before the window, 15 after it: 12:15. */
    cr_assert_eq(kf_calendar_add_service(&c, lt("2026-09-07", 8, 45, 0), 30 * MIN),
                 lt("2026-09-07", 12, 15, 0));
    w[1] = (struct kf_window){2, 1};
    cr_assert_eq(kf_calendar_windows_normalize(w, 2, &n), -EINVAL);
}

Test(calendar, months_and_intervals)
{
    struct kf_holidays *hol = load_cn2026();
    struct kf_week kiosk, zone_b, itm;
    struct kf_cal k = {&kiosk, hol, NULL, 0}, b = {&zone_b, hol, NULL, 0}, t = {&itm, hol, NULL, 0};
    struct kf_window out[8];
    int64_t from, to;

    cr_assert_eq(kf_calendar_week_from_hours("08:30-17:00", NULL, &kiosk), 0);
    cr_assert_eq(kf_calendar_week_from_hours("09:00-17:00", "09:00-16:00", &zone_b), 0);
    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, "00:00-24:00", 1, &itm), 0);
    cr_assert_eq(kf_calendar_month_range(2026, 9, &from, &to), 0);
    cr_assert_eq(from, lt("2026-09-01", 0, 0, 0));
    cr_assert_eq(from, 1788192000000LL); /* 2026-08-31T16:00:00Z */
    cr_assert_eq(to, lt("2026-10-01", 0, 0, 0));
    cr_assert_eq(kf_calendar_month_range(2026, 13, &from, &to), -EINVAL);
    cr_assert_eq(kf_calendar_month_range(2026, 9, &from, &to), 0);
    /* September 2026: 22 weekdays, less Fri 25th (中秋节), plus Sun 20th (make-up) = 22
     * days of 8.5 h = 673 200 s. */
    cr_assert_eq(kf_calendar_service_ms(&k, from, to), 673200 * 1000LL);
    /* Zone B: 21 weekdays x 8 h + the make-up Sunday at weekday hours (8 h) + 5 weekend
     * days (5, 6, 12, 13, 19; 26 and 27 are holidays) x 7 h = 604800 + 28800 + 126000. */
    cr_assert_eq(kf_calendar_service_ms(&b, from, to), 759600 * 1000LL);
    cr_assert_eq(kf_calendar_service_ms(&t, from, to), 30 * 86400 * 1000LL);
    /* April: 22 weekdays less Mon 6th (清明节) = 21 x 8.5 h. */
    cr_assert_eq(kf_calendar_month_range(2026, 4, &from, &to), 0);
    cr_assert_eq(kf_calendar_service_ms(&k, from, to), 21 * 30600 * 1000LL);
    /* February: 20 weekdays less 16th-20th and 23rd (春节), plus Sat 14th and 28th. */
    cr_assert_eq(kf_calendar_month_range(2026, 2, &from, &to), 0);
    cr_assert_eq(kf_calendar_service_ms(&k, from, to), 16 * 30600 * 1000LL);

    /* The 24 h lobby across midnight and the National Day holiday: one interval. */
    cr_assert_eq(
        kf_calendar_intervals(&t, lt("2026-09-30", 12, 0, 0), lt("2026-10-03", 0, 0, 0), out, 8),
        1);
    cr_assert_eq(out[0].start_ms, lt("2026-09-30", 12, 0, 0));
    cr_assert_eq(out[0].end_ms, lt("2026-10-03", 0, 0, 0));
    /* The kiosk, Mon 21st to Mon 28th: Mon-Thu only (Fri a holiday, weekend closed). */
    cr_assert_eq(
        kf_calendar_intervals(&k, lt("2026-09-21", 0, 0, 0), lt("2026-09-28", 0, 0, 0), out, 8), 4);
    cr_assert_eq(out[3].start_ms, lt("2026-09-24", 8, 30, 0));
    cr_assert_eq(out[3].end_ms, lt("2026-09-24", 17, 0, 0));
    /* Counting goes on past cap, like snprintf. */
    cr_assert_eq(
        kf_calendar_intervals(&k, lt("2026-09-21", 0, 0, 0), lt("2026-09-28", 0, 0, 0), out, 2), 4);
    kf_holidays_free(hol);
}

/* Properties over many pseudo-random instants: additivity, and add_service is the inverse of
 * service_ms and gives the earliest instant. */
Test(calendar, service_time_is_additive_and_add_is_its_inverse)
{
    struct kf_holidays *hol = load_cn2026();
    struct kf_week w;
    struct kf_window win[2] = {{0, 0}, {0, 0}};
    struct kf_cal c = {&w, hol, win, 2};
    uint64_t x = 88172645463325252ULL;
    int64_t base = lt("2026-09-01", 0, 0, 0);

    cr_assert_eq(kf_calendar_week_from_hours("08:00-12:00,13:30-17:30", "10:00-15:00", &w), 0);
    win[0] = (struct kf_window){lt("2026-09-07", 9, 0, 0), lt("2026-09-07", 14, 0, 0)};
    win[1] = (struct kf_window){lt("2026-09-20", 16, 0, 0), lt("2026-09-22", 10, 0, 0)};
    for (int i = 0; i < 2000; i++) {
        int64_t a, b2, m, n, d;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        a = base + (int64_t)(x % (40ULL * 86400000ULL));
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b2 = a + (int64_t)(x % (9ULL * 86400000ULL));
        m = a + (b2 - a) / 3;
        cr_assert_eq(kf_calendar_service_ms(&c, a, b2),
                     kf_calendar_service_ms(&c, a, m) + kf_calendar_service_ms(&c, m, b2));
        n = 1 + (int64_t)(x % (30ULL * 3600000ULL));
        d = kf_calendar_add_service(&c, a, n);
        cr_assert_eq(kf_calendar_service_ms(&c, a, d), n);
        cr_assert_lt(kf_calendar_service_ms(&c, a, d - 1), n);
    }
    kf_holidays_free(hol);
}

/* A year with no holidays at all (tests use one for a year the repository has no official
 * file for yet): it loads and covers its year. */
Test(calendar, a_year_without_holidays_loads)
{
    struct kf_holidays *h = kf_holidays_new();
    char err[256] = "";

    cr_assert_not_null(h);
    cr_assert_eq(kf_holidays_load_string(h, "[calendar]\nyear = 2031\nregion = CN\nsource = test\n",
                                         "cn-2031.ini", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(kf_holidays_covers(h, 2031), 1);
    kf_holidays_free(h);
}
