/* test_week.c: the weekly report and coverage (rules/week.h, rules/coverage.h), as
 * docs/REPORTS.md's worked week tells them. The week is 2026-W41, Monday 5 to Sunday 11
 * October (Asia/Shanghai): Monday to Wednesday are 国庆节 holidays, Saturday the 10th is a
 * make-up working day (fixtures/calendar/cn-2026.ini).
 *
 * Five zones: Z-A (a kiosk and a 24-hour ITM, busy), Z-B (one kiosk commissioned on Friday
 * at 12:00), Z-C (two kiosks planned, none installed), Z-D (a kiosk in service that never
 * reported) and Z-E (a kiosk online with no transaction). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kf/time.h>

#include "kf_test.h"
#include "rules/coverage.h"
#include "rules/week.h"

#define HOUR (3600LL * 1000)
#define NEVER KF_TIME_NEVER

static int32_t day(const char *s)
{
    int32_t d = 0;

    cr_assert_eq(kf_day_parse(s, &d), 0, "%s", s);
    return d;
}

static int64_t at(const char *s, int hour)
{
    return kf_day_start_ms(day(s)) + hour * HOUR;
}

/* ---- ISO weeks ------------------------------------------------------------------------------ */

Test(week, iso_weeks)
{
    int y, w;
    int32_t d;
    char b[16];
    int64_t from, to;

    kf_week_of_day(day("2026-10-05"), &y, &w);
    cr_assert(y == 2026 && w == 41);
    kf_week_of_day(day("2026-10-11"), &y, &w);
    cr_assert(y == 2026 && w == 41);
    /* 2026 begins on a Thursday: it has 53 weeks, and 1 January 2027 is in its 53rd. */
    kf_week_of_day(day("2027-01-01"), &y, &w);
    cr_assert(y == 2026 && w == 53, "%d-W%d", y, w);
    kf_week_of_day(day("2026-01-01"), &y, &w);
    cr_assert(y == 2026 && w == 1);
    kf_week_of_day(day("2025-12-29"), &y, &w);
    cr_assert(y == 2026 && w == 1, "Monday 29 December 2025 is 2026-W01");
    cr_assert_eq(kf_week_first_day(2026, 53, &d), 0);
    cr_assert_str_eq(kf_day_format(d, b, sizeof(b)), "2026-12-28");
    cr_assert_eq(kf_week_first_day(2025, 53, &d), -EINVAL, "2025 has 52 weeks");
    cr_assert_eq(kf_week_parse("2026-W41", &y, &w), 0);
    cr_assert(y == 2026 && w == 41);
    cr_assert_eq(kf_week_parse("2025-W53", &y, &w), -EINVAL);
    cr_assert_eq(kf_week_parse("2026-41", &y, &w), -EINVAL);
    cr_assert_eq(kf_week_parse("2026-W4a", &y, &w), -EINVAL);
    cr_assert_eq(kf_week_parse("2026-W00", &y, &w), -EINVAL);
    cr_assert_str_eq(kf_week_format(2026, 1, b, sizeof(b)), "2026-W01");
    kf_week_prev(2026, 1, &y, &w);
    cr_assert(y == 2025 && w == 52, "%d-W%d", y, w);
    cr_assert_eq(kf_week_range(2026, 41, &from, &to), 0);
    cr_assert_eq(from, at("2026-10-05", 0));
    cr_assert_eq(to, at("2026-10-12", 0));
    /* Closed on Monday 09:00 by default: at 08:59 the last closed week is still W40. */
    cr_assert_eq(kf_week_close_ms(2026, 41, KF_WEEK_CLOSE_DELAY_DEFAULT_MS), at("2026-10-12", 9));
    kf_week_last_closed(at("2026-10-12", 9) - 60000, KF_WEEK_CLOSE_DELAY_DEFAULT_MS, &y, &w);
    cr_assert(y == 2026 && w == 40, "%d-W%d", y, w);
    kf_week_last_closed(at("2026-10-12", 9), KF_WEEK_CLOSE_DELAY_DEFAULT_MS, &y, &w);
    cr_assert(y == 2026 && w == 41, "%d-W%d", y, w);
    kf_week_last_closed(at("2026-10-12", 0), 0, &y, &w);
    cr_assert(y == 2026 && w == 41, "with no delay, a week closes at its end");
}

/* ---- The worked week ------------------------------------------------------------------------ */

static const struct kf_week_name units[] = {{"U2", "卫东区"}, {"U1", "新华区"}};
static const struct kf_week_name banks[] = {{"B1", "银行一"}, {"B2", "银行二"}};
static const struct kf_week_name families[] = {{"F1", "住房公积金"}, {"F2", "社保"}};
static const struct kf_week_item items[] = {
    {"F1-001", "F1", "余额查询"}, {"F1-002", "F1", "提取"}, {"F2-001", "F2", "参保证明"}};
static const struct kf_week_zone_in zones[] = {{"Z-E", "专区E", "E支行", "U2", "B2", 1, 0},
                                               {"Z-A", "专区A", "A支行", "U1", "B1", 1, 1},
                                               {"Z-B", "专区B", "B支行", "U1", "B2", 1, 0},
                                               {"Z-C", "专区C", "C支行", "U2", "B1", 2, 0},
                                               {"Z-D", "专区D", "D支行", "U2", "B2", 1, 0}};

struct fixture {
    struct kf_holidays *hol;
    struct kf_week kiosk, itm;
    struct kf_window always, from_friday;
    struct kf_week_terminal_in terms[5];
    struct kf_week_usage_in usage[8];
    struct kf_week_avail_in avail[2][2];
    struct kf_incident inc[4];
    struct kf_week_incident_in incs[4];
    struct kf_week_digest dg[2];
    struct kf_week_input in;
};

static void fixture_init(struct fixture *f)
{
    char *text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/calendar/cn-2026.ini");
    char err[256];

    memset(f, 0, sizeof(*f));
    f->hol = kf_holidays_new();
    cr_assert_eq(kf_holidays_load_string(f->hol, text, "cn-2026.ini", err, sizeof(err)), 0, "%s",
                 err);
    free(text);
    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, NULL, 0, &f->kiosk), 0);
    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, "00:00-24:00", 1, &f->itm), 0);
    f->always = (struct kf_window){at("2026-01-01", 0), NEVER};
    f->from_friday = (struct kf_window){at("2026-10-09", 12), NEVER};
    f->terms[0] = (struct kf_week_terminal_in){"A-1", "Z-A", 1, &f->kiosk, &f->always, 1, 0};
    f->terms[1] = (struct kf_week_terminal_in){"A-2", "Z-A", 2, &f->itm, &f->always, 1, 0};
    f->terms[2] = (struct kf_week_terminal_in){"B-1", "Z-B", 1, &f->kiosk, &f->from_friday, 1, 0};
    f->terms[3] = (struct kf_week_terminal_in){"D-1", "Z-D", 1, &f->kiosk, &f->always, 1, 0};
    f->terms[4] = (struct kf_week_terminal_in){"E-1", "Z-E", 1, &f->kiosk, &f->always, 1, 1};
    f->usage[0] = (struct kf_week_usage_in){day("2026-10-08"), "Z-A", "A-1", "F1-001", 10, 1, 0};
    f->usage[1] = (struct kf_week_usage_in){day("2026-10-10"), "Z-A", "A-1", "F1-002", 5, 0, 2};
    f->usage[2] = (struct kf_week_usage_in){day("2026-10-05"), "Z-A", "A-2", "F2-001", 21, 0, 0};
    f->usage[3] = (struct kf_week_usage_in){day("2026-10-09"), "Z-B", "B-1", "F1-001", 4, 0, 0};
    /* An item the catalog does not know: counted nowhere but "uncounted". */
    f->usage[4] = (struct kf_week_usage_in){day("2026-10-08"), "Z-A", "A-1", "XX-999", 3, 0, 0};
    /* The week before (W40) and a row outside both weeks. */
    f->usage[5] = (struct kf_week_usage_in){day("2026-09-29"), "Z-A", "A-1", "F1-001", 30, 0, 0};
    f->usage[6] = (struct kf_week_usage_in){day("2026-09-20"), "Z-A", "A-1", "F1-001", 99, 0, 0};
    f->usage[7] = (struct kf_week_usage_in){day("2026-10-12"), "Z-E", "E-1", "F1-001", 7, 0, 0};
    f->avail[0][0] = (struct kf_week_avail_in){"Z-A", 100000, 99000, 100000LL * 9800};
    f->avail[0][1] = (struct kf_week_avail_in){"Z-D", 30600, 0, 30600LL * 9800};
    f->avail[1][0] = (struct kf_week_avail_in){"Z-A", 100000, 95000, 100000LL * 9800};
    /* Open at the week's end: A-1's (down since Sunday 10:00, any attribution). Not: D-1's,
     * which ended exactly at the end; one resolved on Thursday; one begun after the end. */
    f->inc[0] = (struct kf_incident){.id = 1, .attr = KF_ATTR_BANK_POWER, .n_spans = 1};
    snprintf(f->inc[0].terminal, sizeof(f->inc[0].terminal), "A-1");
    f->inc[0].spans[0] = (struct kf_window){at("2026-10-11", 10), NEVER};
    f->inc[1] = (struct kf_incident){.id = 2, .n_spans = 1};
    f->inc[1].spans[0] = (struct kf_window){at("2026-10-11", 10), at("2026-10-12", 0)};
    f->inc[2] = (struct kf_incident){.id = 3, .n_spans = 2};
    f->inc[2].spans[0] = (struct kf_window){at("2026-10-01", 10), at("2026-10-02", 0)};
    f->inc[2].spans[1] = (struct kf_window){at("2026-10-08", 10), at("2026-10-08", 11)};
    f->inc[3] = (struct kf_incident){.id = 4, .n_spans = 1};
    f->inc[3].spans[0] = (struct kf_window){at("2026-10-12", 1), NEVER};
    f->incs[0] = (struct kf_week_incident_in){&f->inc[0], "Z-A"};
    f->incs[1] = (struct kf_week_incident_in){&f->inc[1], "Z-D"};
    f->incs[2] = (struct kf_week_incident_in){&f->inc[2], "Z-A"};
    f->incs[3] = (struct kf_week_incident_in){&f->inc[3], "Z-E"};
    f->dg[0] = (struct kf_week_digest){"calendars", "00aa"};
    f->dg[1] = (struct kf_week_digest){"usage", "11bb"};
    f->in = (struct kf_week_input){
        .iso_year = 2026,
        .iso_week = 41,
        .hol = f->hol,
        .units = units,
        .n_units = 2,
        .banks = banks,
        .n_banks = 2,
        .families = families,
        .n_families = 2,
        .items = items,
        .n_items = 3,
        .zones = zones,
        .n_zones = 5,
        .terminals = f->terms,
        .n_terminals = 5,
        .usage = f->usage,
        .n_usage = 8,
        .avail = {f->avail[0], f->avail[1]},
        .n_avail = {2, 1},
        .avail_as_of_ms = at("2026-10-12", 0),
        .incidents = f->incs,
        .n_incidents = 4,
        .inputs = f->dg,
        .n_inputs = 2,
    };
}

static void fixture_close(struct fixture *f)
{
    kf_holidays_free(f->hol);
}

static struct kf_week_report *compute(const struct kf_week_input *in)
{
    struct kf_week_report *r = NULL;
    char err[256] = "";

    cr_assert_eq(kf_week_compute(in, &r, err, sizeof(err)), 0, "%s", err);
    return r;
}

static const struct kf_week_row *zone(const struct kf_week_report *r, const char *id)
{
    for (size_t i = 0; i < r->n_zones; i++) {
        if (strcmp(r->zones[i].code, id) == 0) {
            return &r->zones[i];
        }
    }
    cr_assert_fail("no zone %s", id);
    return NULL;
}

Test(week, the_calendar_of_the_week)
{
    struct fixture f;
    struct kf_week_report *r;

    fixture_init(&f);
    r = compute(&f.in);
    /* Monday to Wednesday 国庆节, Saturday a make-up working day. */
    for (int d = 0; d < 3; d++) {
        cr_assert_eq(r->days[d].kind, KF_DATE_HOLIDAY, "day %d", d);
        cr_assert(strstr(r->days[d].name, "国庆节") != NULL);
    }
    cr_assert_eq(r->days[3].kind, KF_DATE_NORMAL);
    cr_assert_eq(r->days[5].kind, KF_DATE_MAKEUP);
    cr_assert_eq(r->days[6].kind, KF_DATE_NORMAL);
    cr_assert(r->prev_year == 2026 && r->prev_week == 40);
    kf_week_free(r);
    fixture_close(&f);
}

Test(week, zones_terminal_days_and_status)
{
    struct fixture f;
    struct kf_week_report *r;
    const struct kf_week_row *z;

    fixture_init(&f);
    r = compute(&f.in);
    cr_assert_eq(r->n_zones, 5, "every zone appears");
    cr_assert_str_eq(r->zones[0].code, "Z-A", "zones by id");
    /* Z-A: the kiosk serves Thursday, Friday and the make-up Saturday (closed on the holidays
     * and on Sunday): 3 days; the 24-hour ITM all 7. */
    z = zone(r, "Z-A");
    cr_assert_eq(z->status, KF_WEEK_ACTIVE);
    cr_assert_eq(z->service_days, 7);
    cr_assert_eq(z->terminal_days, 10);
    cr_assert(z->planned == 2 && z->commissioned == 2 && z->reporting == 2 && z->active == 2);
    cr_assert(z->ok == 36 && z->failed == 1 && z->abandoned == 2 && z->total == 39);
    cr_assert_eq(z->ok_per_terminal_day_x100, 360, "36 x 100 / 10");
    cr_assert(z->ok_prev == 30 && z->ok_change == 6 && z->ok_change_pm == 200);
    cr_assert(z->availability_bp == 9900 && z->target_bp == 9800);
    cr_assert(z->availability_prev_bp == 9500 && z->availability_change_bp == 400);
    cr_assert_eq(z->open_incidents, 1);
    /* Z-B opened on Friday at 12:00: Friday and Saturday count, nothing before. */
    z = zone(r, "Z-B");
    cr_assert(z->service_days == 2 && z->terminal_days == 2 && z->commissioned == 1);
    cr_assert_eq(z->ok_per_terminal_day_x100, 200);
    /* Growth from nothing: +4, and no per-mille against a zero base. */
    cr_assert(z->ok_prev == 0 && z->ok_change == 4 && z->ok_change_pm == KF_WEEK_NA);
    cr_assert(z->availability_bp == KF_WEEK_NA && z->target_bp == KF_WEEK_NA);
    cr_assert_eq(z->availability_change_bp, KF_WEEK_NA);
    /* Z-C: planned, no terminal: it appears, with zeros, and counts as planned. */
    z = zone(r, "Z-C");
    cr_assert_eq(z->status, KF_WEEK_NO_TERMINALS);
    cr_assert(z->planned == 2 && z->commissioned == 0 && z->terminal_days == 0);
    cr_assert(z->service_days == 0 && z->total == 0);
    cr_assert_eq(z->ok_per_terminal_day_x100, KF_WEEK_NA);
    cr_assert_eq(z->ok_change_pm, 0, "nothing against nothing is no change");
    z = zone(r, "Z-D");
    cr_assert_eq(z->status, KF_WEEK_NOT_REPORTING);
    cr_assert(z->commissioned == 1 && z->reporting == 0 && z->terminal_days == 3);
    cr_assert_eq(z->ok_per_terminal_day_x100, 0);
    cr_assert_eq(z->availability_bp, 0, "never reported: down all week");
    cr_assert_eq(z->open_incidents, 0, "its incident ended exactly at the week's end");
    z = zone(r, "Z-E");
    cr_assert_eq(z->status, KF_WEEK_NO_TXNS);
    cr_assert(z->reporting == 1 && z->active == 0 && z->total == 0);
    cr_assert_eq(z->open_incidents, 0, "an incident begun after the week is not open in it");
    cr_assert_eq(r->uncounted, 3);
    kf_week_free(r);
    fixture_close(&f);
}

Test(week, rollups_divide_once)
{
    struct fixture f;
    struct kf_week_report *r;
    const struct kf_week_row *u1, *u2, *fl = NULL;

    fixture_init(&f);
    r = compute(&f.in);
    cr_assert_eq(r->n_units, 2);
    u1 = &r->units[0];
    u2 = &r->units[1];
    cr_assert_str_eq(u1->code, "U1", "units by code");
    cr_assert_str_eq(u1->name, "新华区");
    cr_assert(u1->zones == 2 && u1->zones_commissioned == 2 && u1->zones_reporting == 2 &&
              u1->zones_active == 2);
    cr_assert(u1->planned == 3 && u1->commissioned == 3 && u1->reporting == 3 && u1->active == 3);
    cr_assert(u1->ok == 40 && u1->terminal_days == 12);
    cr_assert_eq(u1->ok_per_terminal_day_x100, 333, "4000 / 12, floored");
    cr_assert(u1->ok_prev == 30 && u1->ok_change == 10 && u1->ok_change_pm == 333);
    cr_assert(u2->zones == 3 && u2->zones_commissioned == 2 && u2->zones_reporting == 1 &&
              u2->zones_active == 0);
    cr_assert(u2->planned == 4 && u2->commissioned == 2 && u2->reporting == 1);
    cr_assert(u2->ok == 0 && u2->terminal_days == 6 && u2->ok_per_terminal_day_x100 == 0);
    /* Availability of U2 is Z-D's alone: 0 of 30600 s. Seconds are added, then divided. */
    cr_assert(u2->owed_s == 30600 && u2->availability_bp == 0);
    fl = &r->fleet;
    cr_assert(fl->zones == 5 && fl->zones_commissioned == 4 && fl->zones_active == 2);
    cr_assert(fl->planned == 7 && fl->commissioned == 5 && fl->reporting == 4);
    cr_assert(fl->ok == 40 && fl->failed == 1 && fl->abandoned == 2 && fl->total == 43);
    cr_assert_eq(fl->terminal_days, 18);
    cr_assert_eq(fl->ok_per_terminal_day_x100, 222);
    /* 99000 of 130600 s: 7580 bp; the mean of 9900 and 0 would be 4950. */
    cr_assert_eq(fl->availability_bp, 7580);
    cr_assert_eq(fl->target_bp, 9800);
    cr_assert_eq(fl->open_incidents, 1);
    /* Banks: B1 has Z-A and Z-C, B2 the rest. */
    cr_assert_str_eq(r->banks[0].code, "B1");
    cr_assert(r->banks[0].zones == 2 && r->banks[0].ok == 36 && r->banks[0].planned == 4);
    cr_assert(r->banks[1].zones == 3 && r->banks[1].ok == 4 && r->banks[1].commissioned == 3);
    kf_week_free(r);
    fixture_close(&f);
}

Test(week, families_and_items)
{
    struct fixture f;
    struct kf_week_report *r;

    fixture_init(&f);
    r = compute(&f.in);
    cr_assert_eq(r->n_families, 2);
    cr_assert_str_eq(r->families[0].code, "F1");
    cr_assert(r->families[0].items == 2 && r->families[1].items == 1);
    /* F1: 10 + 5 at Z-A, 4 at Z-B; 30 the week before. */
    cr_assert(r->families[0].ok == 19 && r->families[0].zones_active == 2);
    cr_assert(r->families[0].ok_prev == 30 && r->families[0].ok_change == -11);
    cr_assert_eq(r->families[0].ok_change_pm, -367, "-11000 / 30 = -366.7, floored");
    /* Every terminal offers every item: per terminal day over the fleet's 18. */
    cr_assert_eq(r->items[0].ok, 14);
    cr_assert_eq(r->items[0].ok_per_terminal_day_x100, 77);
    cr_assert_eq(r->items[0].ok_change_pm, -534, "-16000 / 30 = -533.3, floored");
    cr_assert_str_eq(r->items[2].family, "F2");
    cr_assert(r->items[2].ok == 21 && r->items[2].zones_active == 1);
    kf_week_free(r);
    fixture_close(&f);
}

Test(week, inactive_idle_and_ranks)
{
    struct fixture f;
    struct kf_week_report *r;

    fixture_init(&f);
    r = compute(&f.in);
    /* Z-C, Z-D, Z-E had no transaction, by id. */
    cr_assert_eq(r->n_inactive, 3);
    cr_assert_str_eq(r->zones[r->inactive[0]].code, "Z-C");
    cr_assert_str_eq(r->zones[r->inactive[2]].code, "Z-E");
    /* D-1 (not reporting) and E-1 (reporting) in service without a transaction. */
    cr_assert_eq(r->n_idle, 2);
    cr_assert(strcmp(r->idle[0].asset, "D-1") == 0 && r->idle[0].reporting == 0);
    cr_assert(strcmp(r->idle[1].asset, "E-1") == 0 && r->idle[1].reporting == 1);
    cr_assert_eq(r->idle[1].terminal_days, 3);
    /* Ranked on completed per terminal per service day; Z-C has no terminal day and is not
     * ranked; Z-D and Z-E tie at 0 and go by id. */
    cr_assert_eq(r->n_busiest, 4);
    cr_assert_str_eq(r->zones[r->busiest[0]].code, "Z-A");
    cr_assert_str_eq(r->zones[r->busiest[1]].code, "Z-B");
    cr_assert_str_eq(r->zones[r->busiest[2]].code, "Z-D");
    cr_assert_str_eq(r->zones[r->busiest[3]].code, "Z-E");
    cr_assert_str_eq(r->zones[r->quietest[0]].code, "Z-D");
    cr_assert_str_eq(r->zones[r->quietest[1]].code, "Z-E");
    cr_assert_str_eq(r->zones[r->quietest[3]].code, "Z-A");
    kf_week_free(r);
    fixture_close(&f);
}

/* The same inputs in another order give the same bytes: the document and every text. */
Test(week, byte_identical_recompute)
{
    struct fixture f, g;
    struct kf_week_report *a, *b;
    char *ja, *jb, *ta, *tb;
    size_t la, lb;

    fixture_init(&f);
    fixture_init(&g);
    /* Reverse the terminals and the usage rows of g. */
    for (size_t i = 0; i < 5 / 2; i++) {
        struct kf_week_terminal_in t = g.terms[i];
        g.terms[i] = g.terms[4 - i];
        g.terms[4 - i] = t;
    }
    for (size_t i = 0; i < 8 / 2; i++) {
        struct kf_week_usage_in u = g.usage[i];
        g.usage[i] = g.usage[7 - i];
        g.usage[7 - i] = u;
    }
    a = compute(&f.in);
    b = compute(&g.in);
    cr_assert_eq(kf_week_json(a, &ja, &la), 0);
    cr_assert_eq(kf_week_json(b, &jb, &lb), 0);
    cr_assert(la == lb && memcmp(ja, jb, la) == 0, "%s\n%s", ja, jb);
    cr_assert(strncmp(ja,
                      "{\"doc\":\"kioskfleet.week/1\",\"week\":\"2026-W41\","
                      "\"previous_week\":\"2026-W40\",\"from\":\"2026-10-05\","
                      "\"to\":\"2026-10-11\",\"draft\":false,"
                      "\"availability_as_of\":\"2026-10-11T16:00:00.000Z\",",
                      strlen("{\"doc\":\"kioskfleet.week/1\",\"week\":\"2026-W41\","
                             "\"previous_week\":\"2026-W40\",\"from\":\"2026-10-05\","
                             "\"to\":\"2026-10-11\",\"draft\":false,"
                             "\"availability_as_of\":\"2026-10-11T16:00:00.000Z\",")) == 0,
              "%.300s", ja);
    cr_assert(strstr(ja, "{\"date\":\"2026-10-10\",\"kind\":\"makeup\",\"name\":\"国庆节调休 "
                         "(Saturday)\"}") != NULL);
    cr_assert(strstr(ja, "\"inputs\":{\"calendars\":\"00aa\",\"usage\":\"11bb\"}") != NULL);
    cr_assert(strstr(ja, "\"zone\":\"Z-B\",\"name\":\"专区B\",\"branch\":\"B支行\",\"unit\":"
                         "\"U1\",\"bank\":\"B2\",\"status\":\"active\"") != NULL);
    cr_assert(strstr(ja, "\"ok_change_pm\":null") != NULL);
    cr_assert(strstr(ja, "\"busiest\":[{\"rank\":1,\"zone\":\"Z-A\",\"name\":\"专区A\","
                         "\"bank\":\"B1\",\"ok\":36,"
                         "\"terminal_days\":10,\"ok_per_terminal_day_x100\":360}") != NULL);
    cr_assert(strstr(ja, "\"idle_terminals\":[{\"asset\":\"D-1\",\"zone\":\"Z-D\",\"kind\":"
                         "\"kiosk\",\"reporting\":false,\"terminal_days\":3}") != NULL);
    for (int k = KF_WEEK_TEXT_REGISTRY; k <= KF_WEEK_TEXT_INCIDENTS; k++) {
        cr_assert_eq(kf_week_text(&f.in, k, &ta, &la), 0);
        cr_assert_eq(kf_week_text(&g.in, k, &tb, &lb), 0);
        cr_assert(la == lb && memcmp(ta, tb, la) == 0, "text %d", k);
        if (k == KF_WEEK_TEXT_USAGE) {
            /* Rows of both weeks only, sorted. */
            cr_assert_str_eq(ta, "kioskfleet/week-usage/v1\n"
                                 "2026-09-29\tZ-A\tA-1\tF1-001\t30\t0\t0\n"
                                 "2026-10-05\tZ-A\tA-2\tF2-001\t21\t0\t0\n"
                                 "2026-10-08\tZ-A\tA-1\tF1-001\t10\t1\t0\n"
                                 "2026-10-08\tZ-A\tA-1\tXX-999\t3\t0\t0\n"
                                 "2026-10-09\tZ-B\tB-1\tF1-001\t4\t0\t0\n"
                                 "2026-10-10\tZ-A\tA-1\tF1-002\t5\t0\t2\n");
        }
        free(ta);
        free(tb);
    }
    /* A changed row changes its text. */
    cr_assert_eq(kf_week_text(&f.in, KF_WEEK_TEXT_USAGE, &ta, &la), 0);
    f.usage[3].ok = 5;
    cr_assert_eq(kf_week_text(&f.in, KF_WEEK_TEXT_USAGE, &tb, &lb), 0);
    cr_assert(la != lb || memcmp(ta, tb, la) != 0);
    free(ta);
    free(tb);
    free(ja);
    free(jb);
    kf_week_free(a);
    kf_week_free(b);
    fixture_close(&f);
    fixture_close(&g);
}

Test(week, refuses_what_it_cannot_place)
{
    struct fixture f;
    struct kf_week_report *r = NULL;
    struct kf_week_zone_in bad[2] = {zones[0], zones[0]};
    char err[256];

    fixture_init(&f);
    f.in.zones = bad;
    f.in.n_zones = 2;
    cr_assert_eq(kf_week_compute(&f.in, &r, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "Z-E given twice") != NULL, "%s", err);
    bad[1].id = "Z-X";
    bad[1].unit = "U9";
    cr_assert_eq(kf_week_compute(&f.in, &r, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "no unit U9") != NULL, "%s", err);
    f.in.zones = zones;
    f.in.n_zones = 5;
    f.in.iso_week = 53;
    f.in.iso_year = 2025;
    cr_assert_eq(kf_week_compute(&f.in, &r, err, sizeof(err)), -EINVAL);
    cr_assert_null(r);
    fixture_close(&f);
}

/* ---- Coverage ------------------------------------------------------------------------------- */

static const char targets_text[] = "; the city's targets\n[targets]\nzones_min = 4\nbanks_min = 2\n"
                                   "units_min = 2\nzones_per_unit_min = 2\nitm_items_min = 3\n"
                                   "families_min = 2\n";

Test(coverage, targets_file)
{
    struct kf_coverage_targets t;
    char err[256], *text;
    size_t len;

    cr_assert_eq(kf_coverage_targets_parse(targets_text, "t.ini", &t, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert(t.zones_min == 4 && t.zones_per_unit_min == 2 && t.families_min == 2);
    cr_assert_eq(kf_coverage_targets_text(&t, &text, &len), 0);
    cr_assert_str_eq(text, "kioskfleet/coverage-targets/v1\nzones_min\t4\nbanks_min\t2\n"
                           "units_min\t2\nzones_per_unit_min\t2\nitm_items_min\t3\n"
                           "families_min\t2\n");
    free(text);
    cr_assert_eq(kf_coverage_targets_parse("[targets]\nzones_min = 4\nzones = 3\n", "t.ini", &t,
                                           err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "t.ini:3: unknown key \"zones\" in [targets]");
    cr_assert_eq(
        kf_coverage_targets_parse("[targets]\nzones_min = 4\n", "t.ini", &t, err, sizeof(err)),
        -EINVAL);
    cr_assert(strstr(err, "banks_min missing") != NULL, "%s", err);
    cr_assert_eq(
        kf_coverage_targets_parse("[targets]\nzones_min = -1\n", "t.ini", &t, err, sizeof(err)),
        -EINVAL);
    cr_assert_eq(
        kf_coverage_targets_parse("[plan]\nzones_min = 1\n", "t.ini", &t, err, sizeof(err)),
        -EINVAL);
    /* The shipped file: the targets. */
    text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/targets.ini");
    cr_assert_eq(kf_coverage_targets_parse(text, "targets.ini", &t, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert(t.zones_min == 200 && t.banks_min == 6 && t.units_min == 10 &&
              t.zones_per_unit_min == 10 && t.itm_items_min == 70 && t.families_min == 8);
    free(text);
}

static struct kf_coverage *cover(const struct kf_coverage_input *in)
{
    struct kf_coverage *c = NULL;
    char err[256] = "";

    cr_assert_eq(kf_coverage_compute(in, &c, err, sizeof(err)), 0, "%s", err);
    return c;
}

Test(coverage, against_the_plan_and_a_delisting)
{
    struct fixture f;
    struct kf_coverage_targets t;
    struct kf_coverage_delisted del[1] = {{"Z-A", 0}};
    struct kf_coverage *c;
    struct kf_coverage_input in;
    char err[256], *json;
    size_t len;

    fixture_init(&f);
    cr_assert_eq(kf_coverage_targets_parse(targets_text, "t.ini", &t, err, sizeof(err)), 0);
    in = (struct kf_coverage_input){
        .at_day = day("2026-10-11"),
        .targets = &t,
        .units = units,
        .n_units = 2,
        .banks = banks,
        .n_banks = 2,
        .families = families,
        .n_families = 2,
        .items = items,
        .n_items = 3,
        .zones = zones,
        .n_zones = 5,
        .terminals = f.terms,
        .n_terminals = 5,
        .usage = f.usage,
        .n_usage = 8,
    };
    c = cover(&in);
    /* U1: Z-A (kiosk + ITM, both with transactions) and Z-B (from Friday). */
    cr_assert_str_eq(c->units[0].code, "U1");
    cr_assert(c->units[0].zones_planned == 2 && c->units[0].zones_commissioned == 2 &&
              c->units[0].zones_reporting == 2);
    cr_assert(c->units[0].planned == 3 && c->units[0].commissioned == 3 &&
              c->units[0].commissioned_itms == 1 && c->units[0].reporting == 3);
    cr_assert(c->units[0].zones_target == 2 && c->units[0].met == 1 && c->units[0].plan_met == 1);
    /* U2: Z-C none, Z-D not reporting, Z-E online. */
    cr_assert(c->units[1].zones_planned == 3 && c->units[1].zones_commissioned == 2 &&
              c->units[1].zones_reporting == 1 && c->units[1].met == 1);
    cr_assert(c->banks[0].zones_target == KF_WEEK_NA && c->banks[0].met == KF_WEEK_NA);
    cr_assert(c->fleet.zones_planned == 5 && c->fleet.zones_commissioned == 4 && c->fleet.met == 1);
    cr_assert(c->checks[KF_COVERAGE_ZONES].met && c->checks[KF_COVERAGE_BANKS].commissioned == 2);
    cr_assert_eq(c->checks[KF_COVERAGE_UNITS].commissioned, 2);
    cr_assert_eq(c->checks[KF_COVERAGE_UNITS].reporting, 1, "U2 has 1 zone reporting, not 2");
    cr_assert(c->checks[KF_COVERAGE_ITM_ITEMS].commissioned == 3 &&
              c->checks[KF_COVERAGE_ITM_ITEMS].met);
    cr_assert(c->checks[KF_COVERAGE_FAMILIES].commissioned == 2);
    kf_coverage_free(c);
    /* The day before Z-B's commissioning it is planned, not commissioned. */
    in.at_day = day("2026-10-08");
    c = cover(&in);
    cr_assert(c->units[0].zones_commissioned == 1 && c->units[0].commissioned == 2);
    kf_coverage_free(c);
    /* Z-A delisted from the 10th: out of every count from that day on, the ITM with it. */
    del[0].from_day = day("2026-10-10");
    in.delisted = del;
    in.n_delisted = 1;
    in.at_day = day("2026-10-09");
    c = cover(&in);
    cr_assert(c->units[0].zones_planned == 2 && c->units[0].zones_delisted == 0);
    cr_assert_eq(c->n_delisted, 0, "not yet in effect");
    kf_coverage_free(c);
    in.at_day = day("2026-10-11");
    c = cover(&in);
    cr_assert(c->units[0].zones_planned == 1 && c->units[0].zones_delisted == 1);
    cr_assert(c->units[0].planned == 1 && c->units[0].commissioned == 1);
    cr_assert(c->units[0].met == 0 && c->units[0].plan_met == 0, "U1 falls below 2 zones");
    cr_assert(c->fleet.zones_planned == 4 && c->fleet.zones_delisted == 1);
    cr_assert_eq(c->itms_commissioned, 0, "the only ITM stood in the delisted zone");
    cr_assert(c->checks[KF_COVERAGE_ITM_ITEMS].commissioned == 0 &&
              !c->checks[KF_COVERAGE_ITM_ITEMS].met && c->checks[KF_COVERAGE_ITM_ITEMS].plan_met);
    cr_assert_eq(kf_coverage_json(c, &json, &len), 0);
    cr_assert(strstr(json, "\"delisted\":[{\"zone\":\"Z-A\",\"from\":\"2026-10-10\"}]") != NULL,
              "%s", json);
    cr_assert(strncmp(json,
                      "{\"doc\":\"kioskfleet.coverage/1\",\"at\":\"2026-10-11\","
                      "\"reporting_from\":\"2026-10-05\",\"reporting_to\":\"2026-10-11\","
                      "\"targets\":{\"zones_min\":4,",
                      100) == 0,
              "%s", json);
    free(json);
    kf_coverage_free(c);
    /* A delisting of a zone that does not exist is refused. */
    del[0].zone = "Z-Q";
    cr_assert_eq(kf_coverage_compute(&in, &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "Z-Q") != NULL);
    fixture_close(&f);
}

/* The usage text's line is written by hand (a million a week for a city): the bytes must be
 * those of "%s\t%s\t%s\t%s\t%lld\t%lld\t%lld", whatever the numbers; a tab or a line break in
 * a code is refused; a line that does not fit is refused, not cut. */
Test(week, the_usage_line_is_the_formats)
{
    static const int64_t v[] = {0, 1, 9, 10, 99, 1234567, -1, -10, INT64_MAX, INT64_MIN};
    const size_t nv = sizeof(v) / sizeof(v[0]);
    char got[256], want[256], day[16];

    for (size_t i = 0; i < nv; i++) {
        struct kf_week_usage_in u = {20600 + (int32_t)i, "Z-XH-001", "A-000017",
                                     "HF-0011",          v[i],       v[(i + 3) % nv],
                                     v[(i + 7) % nv]};
        int n = kf_week_usage_line(&u, i % 2 ? NULL : kf_day_format(u.day, day, sizeof(day)), got,
                                   sizeof(got));

        snprintf(want, sizeof(want), "%s\t%s\t%s\t%s\t%lld\t%lld\t%lld",
                 kf_day_format(u.day, day, sizeof(day)), u.zone, u.asset, u.item, (long long)u.ok,
                 (long long)u.failed, (long long)u.abandoned);
        cr_assert_eq(n, (int)strlen(want));
        cr_assert_str_eq(got, want);
    }
    struct kf_week_usage_in bad = {20600, "Z-XH\t001", "A-1", "HF-001", 1, 0, 0};
    cr_assert_eq(kf_week_usage_line(&bad, NULL, got, sizeof(got)), -EINVAL);
    bad.zone = "Z-XH-001";
    bad.item = NULL; /* an absent code is empty, as the text writes it */
    cr_assert_eq(kf_week_usage_line(&bad, NULL, got, sizeof(got)), 30);
    cr_assert(strcmp(got + 10, "\tZ-XH-001\tA-1\t\t1\t0\t0") == 0, "%s", got);
    cr_assert_eq(kf_week_usage_line(&bad, NULL, got, 40), -ENOSPC);
}
