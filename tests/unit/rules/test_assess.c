/* test_assess.c: the half-year assessment (rules/assess.h) with the default rubric
 * (fixtures/rubric/default-2026.json), as docs/REPORTS.md tells it: periods and spans, each
 * figure's edges, the zone opened mid-period, the zone with no terminals, the response
 * figures from incidents, the bank ranking and its ties, the document's bytes and its
 * versions; and the delisting standing over a zone's history. H1 2026; local times are
 * Asia/Shanghai. A "weekday zone" keeps 08:30-17:00 on working days: 120 service days in
 * H1 2026. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kf/time.h>

#include "kf_test.h"
#include "rules/assess.h"

#define HOUR (3600LL * 1000)
#define ALWAYS_FROM (INT64_MIN / 2)

static struct kf_holidays *hol;
static struct kf_week weekdays;
static struct kf_rubric rubric;
static struct kf_assess_period h1;
static const struct kf_assess_digest digests[] = {
    {"usage", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    {"calendar", "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"},
    {"rubric", "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13"},
};

static void setup(void)
{
    char err[256], *text;

    hol = kf_holidays_new();
    cr_assert_not_null(hol);
    text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/calendar/cn-2026.ini");
    cr_assert_eq(kf_holidays_load_string(hol, text, "cn-2026.ini", err, sizeof(err)), 0, "%s", err);
    free(text);
    text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/rubric/default-2026.json");
    cr_assert_eq(kf_rubric_parse(text, strlen(text), &rubric, err, sizeof(err)), 0, "%s", err);
    free(text);
    cr_assert_eq(kf_calendar_week_from_hours("08:30-17:00", NULL, &weekdays), 0);
    cr_assert_eq(kf_assess_period(2026, 1, &h1), 0);
}

static void teardown(void)
{
    kf_holidays_free(hol);
}

TestSuite(assess, .init = setup, .fini = teardown);
TestSuite(standing);

static int32_t day(const char *s)
{
    int32_t d = 0;

    cr_assert_eq(kf_day_parse(s, &d), 0, "%s", s);
    return d;
}

/* Local wall-clock time on a day, as a UTC instant. */
static int64_t at(const char *s, int hour)
{
    return kf_day_start_ms(day(s)) + hour * HOUR;
}

/* A zone and the storage its pointers borrow. Initialized in place (it points into itself). */
struct zone_fx {
    struct kf_assess_zone_in in;
    struct kf_assess_terminal t[4];
    struct kf_window w[4];
    int32_t data[200];
};

/* A weekday zone of `terminals` terminals in service all along, planned as many, in the
 * plan since 2025, with good figures: 10.00 txns per terminal-day, 45 of 75 items, full
 * availability, 2 of 2 incidents answered in time, data every day. Its score: 16.07 +
 * 20 + 15 + 15 + 15 + 10 = 91.07. */
static struct kf_assess_zone_in *good_zone(struct zone_fx *f, const char *zone, const char *bank,
                                           uint32_t terminals)
{
    static const char *const assets[] = {"K-1", "K-2", "K-3", "K-4"};

    memset(f, 0, sizeof(*f));
    for (uint32_t i = 0; i < terminals; i++) {
        f->w[i] = (struct kf_window){ALWAYS_FROM, KF_TIME_NEVER};
        f->t[i] = (struct kf_assess_terminal){assets[i], &f->w[i], 1};
    }
    for (int32_t i = 0; i < 181; i++)
        f->data[i] = h1.from_day + i;
    f->in = (struct kf_assess_zone_in){
        .zone = zone,
        .unit = "WG",
        .bank = bank,
        .planned = terminals,
        .opened_day = day("2025-06-01"),
        .delisted_day = KF_ASSESS_OPEN,
        .week = &weekdays,
        .terminals = f->t,
        .n_terminals = terminals,
        .txns_ok = 1200LL * terminals,
        .items_used = 45,
        .catalog_size = 75,
        .owed_s = 3672000LL * terminals, /* 120 days x 8.5 h */
        .uptime_s = 3672000LL * terminals,
        .response = {2, 2, 3600},
        .data_days = f->data,
        .n_data_days = 181,
    };
    return &f->in;
}

static struct kf_assess_input input(const struct kf_assess_zone_in *zones, size_t n)
{
    return (struct kf_assess_input){.year = 2026,
                                    .half = 1,
                                    .rubric = &rubric,
                                    .holidays = hol,
                                    .zones = zones,
                                    .n_zones = n,
                                    .status = KF_ASSESS_DRAFT,
                                    .version = 1,
                                    .inputs = digests,
                                    .n_inputs = 3};
}

static struct kf_assessment *assess(const struct kf_assess_zone_in *zones, size_t n)
{
    struct kf_assess_input in = input(zones, n);
    struct kf_assessment *a = NULL;
    char err[256];

    cr_assert_eq(kf_assess_compute(&in, &a, err, sizeof(err)), 0, "%s", err);
    return a;
}

static const struct kf_assess_crit *crit(const struct kf_assess_zone *z, int measure)
{
    for (size_t i = 0; i < z->n_crit; i++) {
        if (z->crit[i].measure == measure)
            return &z->crit[i];
    }
    cr_assert_fail("no criterion %d", measure);
    return NULL;
}

static void refused(const struct kf_assess_input *in, const char *want)
{
    struct kf_assessment *a = (void *)0x5a;
    char err[256];

    cr_assert_eq(kf_assess_compute(in, &a, err, sizeof(err)), -EINVAL, "accepted: %s", want);
    cr_assert_str_eq(err, want);
    cr_assert_eq(a, (void *)0x5a, "written on failure");
}

/* ---- Periods and spans ---- */

Test(assess, periods_are_half_years)
{
    struct kf_assess_period p;

    cr_assert_eq(h1.from_day, day("2026-01-01"));
    cr_assert_eq(h1.to_day, day("2026-07-01"));
    cr_assert_str_eq(h1.name, "2026-H1");
    cr_assert_eq(kf_assess_period_parse("2026-H2", &p), 0);
    cr_assert_eq(p.from_day, day("2026-07-01"));
    cr_assert_eq(p.to_day, day("2027-01-01"));
    cr_assert_eq(p.to_day - p.from_day, 184);
    cr_assert_eq(kf_assess_period_parse("2026-H3", &p), -EINVAL);
    cr_assert_eq(kf_assess_period_parse("26-H1", &p), -EINVAL);
    cr_assert_eq(kf_assess_period_parse("2026-h1", &p), -EINVAL);
    cr_assert_eq(kf_assess_period(1999, 1, &p), -EINVAL);
    cr_assert_eq(kf_assess_period(2026, 0, &p), -EINVAL);
}

Test(assess, span_starts_at_the_opening_and_a_delisted_zone_has_none)
{
    int32_t from = 0, to = 0;

    cr_assert_eq(kf_assess_span(&h1, day("2025-03-01"), KF_ASSESS_OPEN, &from, &to), 0);
    cr_assert_eq(from, h1.from_day);
    cr_assert_eq(to, h1.to_day);
    cr_assert_eq(kf_assess_span(&h1, day("2026-04-13"), KF_ASSESS_OPEN, &from, &to), 0);
    cr_assert_eq(from, day("2026-04-13"));
    cr_assert_eq(kf_assess_span(&h1, day("2026-07-01"), KF_ASSESS_OPEN, &from, &to), -ENOENT);
    cr_assert_eq(kf_assess_span(&h1, day("2025-03-01"), day("2026-06-30"), &from, &to), -ENOENT);
    /* Delisted on the day the period ends: after it, assessed in full. */
    cr_assert_eq(kf_assess_span(&h1, day("2025-03-01"), day("2026-07-01"), &from, &to), 0);
}

/* ---- One zone ---- */

Test(assess, a_good_zone_passes)
{
    struct zone_fx f;
    struct kf_assessment *a = assess(good_zone(&f, "Z-WG-001", "ABC", 1), 1);
    const struct kf_assess_zone *z = &a->zones[0];

    cr_assert_eq(z->service_days, 120);
    cr_assert_eq(z->terminals, 1);
    cr_assert_eq(z->terminal_days, 120);
    cr_assert_eq(z->from_day, h1.from_day);
    cr_assert_eq(crit(z, KF_MEASURE_ACTIVITY)->value, 1000);
    cr_assert_eq(crit(z, KF_MEASURE_ACTIVITY)->score_cp, 1607); /* 2500 x 900 / 1400 */
    cr_assert_eq(crit(z, KF_MEASURE_AVAILABILITY)->score_cp, 2000);
    cr_assert_eq(crit(z, KF_MEASURE_CATALOG_USE)->value, 6000);
    cr_assert_eq(crit(z, KF_MEASURE_DATA_DAYS)->num, 120); /* non-service days ignored */
    cr_assert_eq(z->total_cp, 9107);
    cr_assert_eq(z->result, KF_ASSESS_PASS);
    cr_assert_eq(z->reason, KF_ASSESS_R_NONE);
    kf_assess_free(a);
}

Test(assess, a_zone_opened_mid_period_is_assessed_on_its_days)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-020", "PSBC", 1);
    struct kf_assessment *a;
    const struct kf_assess_zone *r;

    /* Opened on Monday 13 April with its kiosk commissioned at 09:00: 54 service days. */
    z->opened_day = day("2026-04-13");
    f.w[0].start_ms = at("2026-04-13", 9);
    z->txns_ok = 540;
    z->owed_s = z->uptime_s = 54 * 30600 - 1800;
    a = assess(z, 1);
    r = &a->zones[0];
    cr_assert_eq(r->from_day, day("2026-04-13"));
    cr_assert_eq(r->service_days, 54);
    cr_assert_eq(r->terminal_days, 54);
    cr_assert_eq(crit(r, KF_MEASURE_ACTIVITY)->value, 1000); /* 540 / 54, not 540 / 120 */
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->value, 10000);
    cr_assert_eq(crit(r, KF_MEASURE_DATA_DAYS)->value, 10000); /* 54 of its 54 */
    cr_assert_eq(r->total_cp, 9107);
    cr_assert_eq(r->result, KF_ASSESS_PASS);
    kf_assess_free(a);

    /* Had it been in the plan since January, its terminals' late arrival would count. */
    z->opened_day = day("2025-06-01");
    a = assess(z, 1);
    r = &a->zones[0];
    cr_assert_eq(r->service_days, 120);
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->value, 4500); /* 54 / 120 */
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->score_cp, 0);
    cr_assert_eq(crit(r, KF_MEASURE_ACTIVITY)->value, 1000);
    kf_assess_free(a);
}

Test(assess, fewer_service_days_than_the_minimum_is_not_assessed)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-021", "PSBC", 1);
    struct kf_assessment *a;

    /* From Tuesday 19 May: 30 service days (the rubric's minimum); from the 20th: 29. */
    z->opened_day = day("2026-05-19");
    a = assess(z, 1);
    cr_assert_eq(a->zones[0].service_days, 30);
    cr_assert_eq(a->zones[0].result, KF_ASSESS_PASS);
    kf_assess_free(a);
    z->opened_day = day("2026-05-20");
    a = assess(z, 1);
    cr_assert_eq(a->zones[0].service_days, 29);
    cr_assert_eq(a->zones[0].result, KF_ASSESS_NOT_ASSESSED);
    cr_assert_eq(a->zones[0].reason, KF_ASSESS_R_SHORT);
    cr_assert_eq(a->zones[0].total_cp, KF_ASSESS_NA);
    cr_assert_eq(a->zones[0].n_crit, 0);
    kf_assess_free(a);
}

Test(assess, a_zone_with_no_terminals_fails)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-016", "CCB", 1);
    struct kf_assessment *a;
    const struct kf_assess_zone *r;

    /* In the plan all half-year, nothing commissioned, so no figures at all. */
    z->n_terminals = 0;
    z->txns_ok = z->owed_s = z->uptime_s = 0;
    z->items_used = 0;
    z->response = (struct kf_assess_response){0, 0, 0};
    z->n_data_days = 0;
    a = assess(z, 1);
    r = &a->zones[0];
    cr_assert_eq(r->result, KF_ASSESS_FAIL);
    cr_assert_eq(r->reason, KF_ASSESS_R_NO_TERMINALS);
    cr_assert_eq(r->total_cp, 0);
    cr_assert_eq(r->terminals, 0);
    cr_assert_eq(r->n_crit, 6);
    for (size_t i = 0; i < r->n_crit; i++) {
        cr_assert_eq(r->crit[i].score_cp, 0);
        cr_assert_eq(r->crit[i].pass, 0);
    }
    /* No incident to answer scores nothing here: there was nothing in service to fail. */
    cr_assert_eq(crit(r, KF_MEASURE_RESPONSE)->value, KF_ASSESS_NA);
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->value, 0);
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->den, 120);
    kf_assess_free(a);

    /* A terminal taken away before the period is no terminal either. */
    z->n_terminals = 1;
    f.w[0] = (struct kf_window){at("2025-03-01", 9), at("2025-12-01", 9)};
    a = assess(z, 1);
    cr_assert_eq(a->zones[0].reason, KF_ASSESS_R_NO_TERMINALS);
    kf_assess_free(a);

    /* In the plan for too few days, it is not assessed rather than failed. */
    z->opened_day = day("2026-06-22");
    a = assess(z, 1);
    cr_assert_eq(a->zones[0].result, KF_ASSESS_NOT_ASSESSED);
    cr_assert_eq(a->zones[0].reason, KF_ASSESS_R_SHORT);
    kf_assess_free(a);
}

Test(assess, terminal_days_count_at_the_end_of_each_service_day)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-004", "CCB", 2);
    struct kf_assessment *a;
    const struct kf_assess_zone *r;

    /* The ITM commissioned Monday 2 March at 10:00 (the 2nd counts), taken away Friday
     * 6 March at 10:00 (the 6th does not): 4 terminal-days. */
    f.w[1] = (struct kf_window){at("2026-03-02", 10), at("2026-03-06", 10)};
    a = assess(z, 1);
    r = &a->zones[0];
    cr_assert_eq(r->terminal_days, 124);
    cr_assert_eq(r->terminals, 2);
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->num, 124);
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->den, 240);
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->value, 5166);
    cr_assert_eq(crit(r, KF_MEASURE_IN_SERVICE)->score_cp, 49); /* 1500 x 166 / 5000 */
    cr_assert_eq(crit(r, KF_MEASURE_ACTIVITY)->value, 1935);    /* 2400 / 124 */
    kf_assess_free(a);
}

Test(assess, more_terminals_than_planned_count_as_the_plan)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-005", "CCB", 2);
    struct kf_assessment *a;

    z->planned = 1;
    a = assess(z, 1);
    cr_assert_eq(crit(&a->zones[0], KF_MEASURE_IN_SERVICE)->num, 240);
    cr_assert_eq(crit(&a->zones[0], KF_MEASURE_IN_SERVICE)->value, 10000);
    kf_assess_free(a);
}

Test(assess, days_with_data_are_service_days_counted_once)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-006", "ICBC", 1);
    struct kf_assessment *a;
    const struct kf_assess_crit *c;

    f.data[0] = day("2026-03-02"); /* Monday */
    f.data[1] = day("2026-03-02"); /* again */
    f.data[2] = day("2026-03-07"); /* a Saturday: closed */
    f.data[3] = day("2026-02-17"); /* Spring Festival */
    f.data[4] = day("2025-12-31"); /* before the period */
    f.data[5] = day("2026-07-01"); /* after */
    f.data[6] = day("2026-02-28"); /* a make-up working Saturday */
    z->n_data_days = 7;
    a = assess(z, 1);
    c = crit(&a->zones[0], KF_MEASURE_DATA_DAYS);
    cr_assert_eq(c->num, 2);
    cr_assert_eq(c->den, 120);
    cr_assert_eq(c->value, 166);
    cr_assert_eq(c->score_cp, 0);
    cr_assert_eq(c->pass, 0);
    kf_assess_free(a);
}

Test(assess, no_incident_to_answer_is_full_marks_nothing_owed_is_none)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-007", "PSBC", 1);
    struct kf_assessment *a;
    const struct kf_assess_zone *r;

    z->response = (struct kf_assess_response){0, 0, 0};
    z->owed_s = z->uptime_s = 0;
    a = assess(z, 1);
    r = &a->zones[0];
    cr_assert_eq(crit(r, KF_MEASURE_RESPONSE)->value, KF_ASSESS_NA);
    cr_assert_eq(crit(r, KF_MEASURE_RESPONSE)->score_cp, 1500);
    cr_assert_eq(crit(r, KF_MEASURE_RESPONSE)->pass, 1);
    cr_assert_eq(crit(r, KF_MEASURE_AVAILABILITY)->value, KF_ASSESS_NA);
    cr_assert_eq(crit(r, KF_MEASURE_AVAILABILITY)->score_cp, 0);
    cr_assert_eq(crit(r, KF_MEASURE_AVAILABILITY)->pass, 0);
    cr_assert_eq(r->total_cp, 7107);
    cr_assert_eq(r->result, KF_ASSESS_FAIL); /* availability must pass */
    cr_assert_eq(r->reason, KF_ASSESS_R_MUST_PASS);
    kf_assess_free(a);
}

Test(assess, a_must_pass_criterion_fails_the_zone_whatever_its_total)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-008", "ABC", 1);
    struct kf_assessment *a;

    z->uptime_s = z->owed_s * 9499 / 10000 + 1; /* 94.99 % */
    a = assess(z, 1);
    cr_assert_eq(crit(&a->zones[0], KF_MEASURE_AVAILABILITY)->value, 9499);
    cr_assert_eq(crit(&a->zones[0], KF_MEASURE_AVAILABILITY)->score_cp, 1108);
    cr_assert_eq(a->zones[0].total_cp, 8215);
    cr_assert_eq(a->zones[0].result, KF_ASSESS_FAIL);
    cr_assert_eq(a->zones[0].reason, KF_ASSESS_R_MUST_PASS);
    kf_assess_free(a);
    z->uptime_s = z->owed_s * 95 / 100; /* exactly the pass mark */
    a = assess(z, 1);
    cr_assert_eq(crit(&a->zones[0], KF_MEASURE_AVAILABILITY)->value, 9500);
    cr_assert_eq(a->zones[0].result, KF_ASSESS_PASS);
    kf_assess_free(a);
}

Test(assess, a_total_below_the_pass_score_fails_and_at_it_passes)
{
    struct zone_fx f;
    struct kf_assess_zone_in *z = good_zone(&f, "Z-WG-009", "CCB", 1);
    struct kf_assessment *a;

    /* 91.07 - 16.07 (activity at the floor) - 15 (catalog at the floor) = 60.00 */
    z->txns_ok = 120;
    z->items_used = 15;
    a = assess(z, 1);
    cr_assert_eq(a->zones[0].total_cp, 6000);
    cr_assert_eq(a->zones[0].result, KF_ASSESS_PASS);
    kf_assess_free(a);
    z->response = (struct kf_assess_response){100, 99, 0}; /* 99.00 %: still full */
    f.data[180] = f.data[0]; /* no data on 30 June: 119 of 120, 99.16 % */
    a = assess(z, 1);
    cr_assert_eq(crit(&a->zones[0], KF_MEASURE_DATA_DAYS)->value, 9916);
    cr_assert_eq(crit(&a->zones[0], KF_MEASURE_DATA_DAYS)->score_cp, 958);
    cr_assert_eq(a->zones[0].total_cp, 5958);
    cr_assert_eq(a->zones[0].result, KF_ASSESS_FAIL);
    cr_assert_eq(a->zones[0].reason, KF_ASSESS_R_SCORE);
    kf_assess_free(a);
}

Test(assess, a_zone_delisted_in_the_period_leaves_the_counts)
{
    struct zone_fx f[2];
    struct kf_assess_zone_in z[2] = {*good_zone(&f[0], "Z-WG-010", "ICBC", 1),
                                     *good_zone(&f[1], "Z-WG-011", "ICBC", 1)};
    struct kf_assessment *a;

    z[1].delisted_day = day("2026-03-16");
    a = assess(z, 2);
    cr_assert_eq(a->zones[1].result, KF_ASSESS_NOT_ASSESSED);
    cr_assert_eq(a->zones[1].reason, KF_ASSESS_R_DELISTED);
    cr_assert_eq(a->zones[1].to_day, day("2026-03-16"));
    cr_assert_eq(a->zones[1].service_days, 47);
    cr_assert_eq(a->n_banks, 1);
    cr_assert_eq(a->banks[0].zones, 1);
    cr_assert_eq(a->banks[0].assessed, 1);
    cr_assert_eq(a->banks[0].not_assessed, 0);
    cr_assert_eq(a->units[0].zones, 1);
    kf_assess_free(a);
}

/* ---- Response figures from incidents ---- */

static struct kf_incident incident(int64_t start, int64_t end, int64_t acked, int attr)
{
    struct kf_incident inc;

    memset(&inc, 0, sizeof(inc));
    snprintf(inc.terminal, sizeof(inc.terminal), "K-1");
    inc.attr = (uint8_t)attr;
    inc.n_spans = 1;
    inc.spans[0] = (struct kf_window){start, end};
    inc.acked_at_ms = acked;
    inc.state = end == KF_TIME_NEVER ? (acked ? KF_INC_ACKED : KF_INC_OPENED) : KF_INC_RESOLVED;
    return inc;
}

Test(assess, response_counts_the_clocks_that_ended_in_the_days_assessed)
{
    struct kf_cal cal = {&weekdays, hol, NULL, 0};
    struct kf_sla_terms terms = {7200, 28800, 9800};
    struct kf_assess_response acc = {0, 0, 0};
    int64_t from = kf_day_start_ms(h1.from_day), to = kf_day_start_ms(h1.to_day);
    const struct kf_incident incs[] = {
        /* Acknowledged after 1 h: in time. */
        incident(at("2026-03-02", 9), at("2026-03-02", 15), at("2026-03-02", 10), KF_ATTR_COMPANY),
        /* After 3 h: late. */
        incident(at("2026-03-03", 9), at("2026-03-03", 15), at("2026-03-03", 12), KF_ATTR_COMPANY),
        /* Never acknowledged; its 2 h ran out at 17:00 on 30 June: late, 2 h waited. */
        incident(at("2026-06-30", 15), KF_TIME_NEVER, 0, KF_ATTR_COMPANY),
        /* Its deadline falls in the next period: not yet counted. */
        incident(at("2026-06-30", 16), KF_TIME_NEVER, 0, KF_ATTR_COMPANY),
        /* The bank's power: not the company's clock. */
        incident(at("2026-03-04", 9), at("2026-03-04", 15), 0, KF_ATTR_BANK_POWER),
        /* Down only on a Saturday the zone is closed: no service lost, no figure. */
        incident(at("2026-03-07", 10), at("2026-03-07", 11), at("2026-03-07", 10) + 60000,
                 KF_ATTR_COMPANY),
        /* Acknowledged in the last period. */
        incident(at("2025-12-30", 9), at("2025-12-30", 15), at("2025-12-30", 10), KF_ATTR_COMPANY),
    };

    for (size_t i = 0; i < sizeof(incs) / sizeof(incs[0]); i++)
        kf_assess_response_add(&acc, &incs[i], &cal, &terms, from, to);
    cr_assert_eq(acc.due, 3);
    cr_assert_eq(acc.in_time, 1);
    cr_assert_eq(acc.sum_s, 3600 + 10800 + 7200);
}

Test(assess, a_deadline_at_the_period_end_belongs_to_the_next)
{
    struct kf_week lobby;
    struct kf_cal cal = {&lobby, hol, NULL, 0};
    struct kf_sla_terms terms = {7200, 14400, 9900};
    struct kf_assess_response acc = {0, 0, 0};
    int64_t from = kf_day_start_ms(h1.from_day), to = kf_day_start_ms(h1.to_day);
    /* A 24-hour ITM down from 22:00 on 30 June: its 2 h run out at midnight, the instant
     * the next period begins. */
    struct kf_incident inc = incident(at("2026-06-30", 22), KF_TIME_NEVER, 0, KF_ATTR_COMPANY);

    cr_assert_eq(kf_calendar_week_for_terminal("08:30-17:00", NULL, "00:00-24:00", 1, &lobby), 0);
    kf_assess_response_add(&acc, &inc, &cal, &terms, from, to);
    cr_assert_eq(acc.due, 0);
    inc.spans[0].start_ms -= 1000; /* a second earlier: due in the period, late */
    kf_assess_response_add(&acc, &inc, &cal, &terms, from, to);
    cr_assert_eq(acc.due, 1);
    cr_assert_eq(acc.in_time, 0);
    cr_assert_eq(acc.sum_s, 7201); /* waited 2 h and 1 s when the period closed */
}

/* ---- Bank ranking ---- */

Test(assess, banks_rank_by_pass_rate_then_score_with_ties_shared)
{
    struct zone_fx f[8];
    struct kf_assess_zone_in z[8] = {
        *good_zone(&f[0], "Z-XH-001", "ICBC", 1), *good_zone(&f[1], "Z-XH-002", "ABC", 2),
        *good_zone(&f[2], "Z-XH-003", "ABC", 1),  *good_zone(&f[3], "Z-XH-004", "BOC", 2),
        *good_zone(&f[4], "Z-XH-005", "BOC", 1),  *good_zone(&f[5], "Z-XH-006", "CCB", 1),
        *good_zone(&f[6], "Z-XH-007", "CCB", 1),  *good_zone(&f[7], "Z-XH-008", "PSBC", 1),
    };
    struct kf_assessment *a;
    const struct kf_assess_rollup *b;

    /* ABC and BOC: a busy zone of two terminals (20.00 a day) and a failing one (1.00 a
     * day, catalog unused): the same figures, so the same rank. */
    for (int i = 1; i <= 3; i += 2) {
        z[i].txns_ok = 4800;
        z[i + 1].txns_ok = 120;
        z[i + 1].items_used = 0;
        z[i + 1].response = (struct kf_assess_response){4, 1, 0};
    }
    /* CCB: one pass and one fail too, but a lower pass (weaker activity). */
    z[5].txns_ok = 600;
    z[6].txns_ok = 120;
    z[6].items_used = 0;
    z[6].response = (struct kf_assess_response){4, 1, 0};
    /* PSBC: its only zone opened too late to be assessed. */
    z[7].opened_day = day("2026-06-01");
    a = assess(z, 8);
    cr_assert_eq(a->n_banks, 5);
    b = a->banks;
    cr_assert_str_eq(b[0].key, "ICBC");
    cr_assert_eq(b[0].rank, 1);
    cr_assert_eq(b[0].pass_rate_bp, 10000);
    cr_assert_str_eq(b[1].key, "ABC");
    cr_assert_eq(b[1].rank, 2);
    cr_assert_str_eq(b[2].key, "BOC");
    cr_assert_eq(b[2].rank, 2);
    cr_assert_eq(b[1].pass_rate_bp, 5000);
    /* (100.00 + 45.00) / 2 */
    cr_assert_eq(b[1].mean_score_cp, 7250);
    cr_assert_eq(b[2].mean_score_cp, 7250);
    /* Activity sums then divides: 4920 / 360 = 13.66, not (20.00 + 1.00) / 2. */
    cr_assert_eq(b[1].txns_ok, 4920);
    cr_assert_eq(b[1].terminal_days, 360);
    cr_assert_eq(b[1].activity, 1366);
    cr_assert_str_eq(b[3].key, "CCB");
    cr_assert_eq(b[3].rank, 4);
    cr_assert_eq(b[3].pass_rate_bp, 5000);
    cr_assert_lt(b[3].mean_score_cp, b[1].mean_score_cp);
    cr_assert_str_eq(b[4].key, "PSBC");
    cr_assert_eq(b[4].rank, 5);
    cr_assert_eq(b[4].zones, 1);
    cr_assert_eq(b[4].not_assessed, 1);
    cr_assert_eq(b[4].assessed, 0);
    cr_assert_eq(b[4].pass_rate_bp, KF_ASSESS_NA);
    cr_assert_eq(b[4].mean_score_cp, KF_ASSESS_NA);
    cr_assert_eq(b[4].activity, KF_ASSESS_NA);
    cr_assert_eq(a->n_units, 1);
    cr_assert_eq(a->units[0].zones, 8);
    cr_assert_eq(a->units[0].rank, 0);
    kf_assess_free(a);
}

Test(assess, roll_ups_divide_large_sums_without_overflow)
{
    enum { N = 1000 };
    struct zone_fx *f = calloc(N, sizeof(*f));
    struct kf_assess_zone_in *z = calloc(N, sizeof(*z));
    char(*ids)[16] = calloc(N, sizeof(*ids));
    struct kf_assessment *a;

    cr_assert(f && z && ids);
    /* A thousand zones at the largest figures a zone may bring: Σ owed is 10^15 and
     * 10^15 x 10000 does not fit in 64 bits. */
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "Z-%04d", i);
        z[i] = *good_zone(&f[i], ids[i], "ICBC", 1);
        z[i].owed_s = 1000000000000LL;
        z[i].uptime_s = 999900000000LL;
        z[i].txns_ok = 1000000000000LL;
    }
    a = assess(z, N);
    cr_assert_eq(a->banks[0].owed_s, 1000000000000000LL);
    cr_assert_eq(a->banks[0].availability_bp, 9999);
    cr_assert_eq(a->banks[0].activity, 833333333333LL); /* 100 x 10^15 / 120 000 */
    kf_assess_free(a);
    free(ids);
    free(z);
    free(f);
}

/* ---- The document ---- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

Test(assess, the_document_is_the_same_bytes_whatever_the_input_order)
{
    struct zone_fx f[3];
    struct kf_assess_zone_in z[3] = {*good_zone(&f[0], "Z-WG-001", "ABC", 1),
                                     *good_zone(&f[1], "Z-WG-002", "PDSRCB", 2),
                                     *good_zone(&f[2], "Z-WG-003", "PDSRCB", 1)};
    struct kf_assess_zone_in rev[3] = {z[2], z[1], z[0]};
    const struct kf_assess_digest rdig[3] = {digests[2], digests[0], digests[1]};
    struct kf_assess_input in = input(z, 3);
    struct kf_assessment *a, *b;
    char err[256], *ja, *jb, *ja2;

    z[2].txns_ok = 0;
    rev[0].txns_ok = 0;
    cr_assert_eq(kf_assess_compute(&in, &a, err, sizeof(err)), 0, "%s", err);
    in.zones = rev;
    in.inputs = rdig;
    cr_assert_eq(kf_assess_compute(&in, &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_assess_json(a, &ja), 0);
    cr_assert_eq(kf_assess_json(a, &ja2), 0);
    cr_assert_eq(kf_assess_json(b, &jb), 0);
    cr_assert_str_eq(ja, ja2);
    cr_assert_str_eq(ja, jb);
    cr_assert(starts_with(
                  ja, "{\"doc\":\"kioskfleet.assessment/1\",\"period\":\"2026-H1\",\"from\":"
                      "\"2026-01-01\",\"to\":\"2026-07-01\",\"status\":\"draft\",\"issued_at_ms\":"
                      "null,\"version\":1,\"supersedes\":null,\"reason\":null,\"rubric\":{\"id\":"
                      "\"PDS-ZONE\",\"version\":1,\"total\":100,\"pass_score\":60,"),
              "%s", ja);
    cr_assert_not_null(strstr(ja, "\"inputs\":{\"calendar\":\"6030"), "%s", ja);
    cr_assert_not_null(strstr(ja, "\"zones\":[{\"zone\":\"Z-WG-001\""), "%s", ja);
    cr_assert_not_null(
        strstr(ja, "{\"measure\":\"activity\",\"num\":0,\"den\":120,\"value\":0,\"score_cp\":0,"
                   "\"pass\":false}"),
        "%s", ja);
    cr_assert_not_null(strstr(ja, "\"banks\":[{\"rank\":1,\"bank\":\"ABC\",\"zones\":1,"), "%s",
                       ja);
    free(ja);
    free(ja2);
    free(jb);
    kf_assess_free(a);
    kf_assess_free(b);
}

Test(assess, a_superseding_version_names_the_one_it_replaces)
{
    struct zone_fx f;
    struct kf_assess_input in = input(good_zone(&f, "Z-WG-001", "ABC", 1), 1);
    struct kf_assessment *a;
    char err[256], *j;

    in.status = KF_ASSESS_ISSUED;
    in.issued_at_ms = at("2026-07-10", 10);
    in.version = 2;
    in.supersedes = "a3f1c0de";
    in.reason = "usage of Z-WG-001 flushed late by a terminal offline in June";
    cr_assert_eq(kf_assess_compute(&in, &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_assess_json(a, &j), 0);
    cr_assert_not_null(strstr(j, "\"status\":\"issued\",\"issued_at_ms\":1783648800000,"
                                 "\"version\":2,\"supersedes\":\"a3f1c0de\",\"reason\":\"usage of "
                                 "Z-WG-001 flushed late by a terminal offline in June\","),
                       "%s", j);
    free(j);
    kf_assess_free(a);

    in.reason = NULL;
    refused(&in, "reason: why version 2 supersedes the last (1..383 bytes)");
    in.reason = "x";
    in.supersedes = "A3F1";
    refused(&in, "supersedes: the lowercase hex digest of version 1");
    in.version = 1;
    in.supersedes = "a3f1";
    refused(&in, "version 1 supersedes nothing: no supersedes, no reason");
    in.supersedes = NULL;
    in.reason = NULL;
    in.version = 0;
    refused(&in, "version: must be >= 1");
    in.version = 1;
    in.issued_at_ms = at("2026-06-30", 23);
    refused(&in, "issued_at_ms: before the end of 2026-H1");
}

Test(assess, refuses_inputs_that_break_the_contract)
{
    struct zone_fx f[2];
    struct kf_assess_zone_in z[2] = {*good_zone(&f[0], "Z-WG-001", "ABC", 1),
                                     *good_zone(&f[1], "Z-WG-001", "BOC", 1)};
    struct kf_assess_input in = input(z, 2);
    struct kf_rubric later = rubric;
    const struct kf_assess_digest twice[2] = {digests[0], digests[0]};
    struct kf_window back = {at("2026-03-02", 10), at("2026-03-02", 9)};

    refused(&in, "Z-WG-001: given twice");
    in.n_zones = 1;
    later.effective_from = day("2026-07-01");
    in.rubric = &later;
    refused(&in, "rubric: PDS-ZONE version 1 is not in force on 2026-01-01");
    in.rubric = &rubric;
    in.inputs = twice;
    in.n_inputs = 2;
    refused(&in, "inputs: usage given twice");
    in.n_inputs = 0;
    refused(&in, "inputs: missing");
    in = input(z, 1);
    in.half = 3;
    refused(&in, "period: year 2000..9999, half 1 or 2");
    in.half = 1;
    z[0].planned = 0;
    refused(&in, "Z-WG-001.planned: must be >= 1");
    z[0].planned = 1;
    z[0].uptime_s = z[0].owed_s + 1;
    refused(&in, "Z-WG-001.uptime_s: more than owed_s");
    z[0].uptime_s = 0;
    z[0].txns_failed = -1;
    refused(&in, "Z-WG-001.txns_failed: must be 0..1000000000000");
    z[0].txns_failed = 0;
    z[0].items_used = 76;
    refused(&in, "Z-WG-001.items_used: more than catalog_size");
    z[0].items_used = 0;
    z[0].response = (struct kf_assess_response){1, 2, 0};
    refused(&in, "Z-WG-001.response.in_time: more than due");
    z[0].response = (struct kf_assess_response){0, 0, 0};
    f[0].w[0] = back;
    refused(&in, "Z-WG-001.terminals[0].in_zone[0]: ends before it starts");
    z[0].zone = "";
    refused(&in, "zones[0].zone: 1..48 bytes, nothing to escape");
}

/* ---- Delisting (docs/REPORTS.md "Delisting") ---- */

static struct kf_assess_hist res(int year, int half, int result)
{
    return (struct kf_assess_hist){
        .kind = KF_HIST_RESULT, .year = year, .half = half, .result = (uint8_t)result};
}

static struct kf_assess_hist decide(int kind, const char *when, const char *reason)
{
    return (struct kf_assess_hist){.kind = (uint8_t)kind, .day = day(when), .reason = reason};
}

static struct kf_assess_standing standing(const struct kf_assess_hist *h, size_t n)
{
    struct kf_assess_standing st;
    char err[256];

    cr_assert_eq(kf_assess_standing(h, n, &st, err, sizeof(err)), 0, "%s", err);
    return st;
}

static void standing_refused(const struct kf_assess_hist *h, size_t n, const char *want)
{
    struct kf_assess_standing st = {.standing = 99};
    char err[256];

    cr_assert_eq(kf_assess_standing(h, n, &st, err, sizeof(err)), -EINVAL, "accepted: %s", want);
    cr_assert_str_eq(err, want);
    cr_assert_eq(st.standing, 99, "written on failure");
}

#define PASS KF_ASSESS_PASS
#define FAIL KF_ASSESS_FAIL
#define NA KF_ASSESS_NOT_ASSESSED

Test(standing, no_history_is_ok)
{
    struct kf_assess_standing st = standing(NULL, 0);

    cr_assert_eq(st.standing, KF_STANDING_OK);
    cr_assert_eq(st.streak, 0);
    cr_assert_eq(st.failed_last, 0);
    cr_assert_eq(st.last.year, 0);
    cr_assert_eq(st.delisted_day, KF_ASSESS_OPEN);
}

Test(standing, fail_pass_fail_is_watched_not_proposed)
{
    struct kf_assess_hist h[3] = {res(2026, 1, FAIL), res(2026, 2, PASS), res(2027, 1, FAIL)};
    struct kf_assess_standing st = standing(h, 1);

    cr_assert_eq(st.standing, KF_STANDING_WATCH);
    cr_assert_eq(st.failed_last, 1);
    st = standing(h, 2);
    cr_assert_eq(st.standing, KF_STANDING_OK);
    cr_assert_eq(st.failed_last, 0);
    st = standing(h, 3);
    cr_assert_eq(st.standing, KF_STANDING_WATCH);
    cr_assert_eq(st.streak, 1);
    cr_assert_eq(st.failed_last, 1);
    cr_assert_str_eq(st.last.name, "2027-H1");
    cr_assert_str_eq(kf_assess_standing_name(st.standing), "watch");
}

Test(standing, two_failures_in_a_row_are_proposed)
{
    struct kf_assess_hist h[3] = {res(2026, 1, PASS), res(2026, 2, FAIL), res(2027, 1, FAIL)};
    struct kf_assess_standing st = standing(h, 3);

    cr_assert_eq(st.standing, KF_STANDING_PROPOSED);
    cr_assert_eq(st.streak, 2);
    cr_assert_eq(st.failed_last, 1);
}

Test(standing, not_assessed_neither_resets_nor_counts)
{
    struct kf_assess_hist h[3] = {res(2026, 1, FAIL), res(2026, 2, NA), res(2027, 1, FAIL)};
    struct kf_assess_standing st = standing(h, 2);

    cr_assert_eq(st.standing, KF_STANDING_WATCH);
    cr_assert_eq(st.streak, 1);
    cr_assert_eq(st.failed_last, 1); /* its last assessed period was a failure */
    st = standing(h, 3);
    cr_assert_eq(st.standing, KF_STANDING_PROPOSED);
    cr_assert_eq(st.streak, 2);
}

Test(standing, a_decision_to_keep_restarts_the_streak)
{
    struct kf_assess_hist h[5] = {
        res(2026, 1, FAIL),
        res(2026, 2, FAIL),
        decide(KF_HIST_KEEP, "2027-01-20", "the branch moved in December; new zone fitted"),
        res(2027, 1, FAIL),
        res(2027, 2, FAIL),
    };
    struct kf_assess_standing st = standing(h, 3);

    cr_assert_eq(st.standing, KF_STANDING_KEPT);
    cr_assert_eq(st.streak, 0);
    cr_assert_eq(st.failed_last, 1); /* still on the watchlist: it failed the last period */
    st = standing(h, 4);
    cr_assert_eq(st.standing, KF_STANDING_WATCH); /* one failure since the decision */
    cr_assert_eq(st.streak, 1);
    st = standing(h, 5);
    cr_assert_eq(st.standing, KF_STANDING_PROPOSED);

    /* A period not assessed after the decision leaves it kept. */
    h[3] = res(2027, 1, NA);
    st = standing(h, 4);
    cr_assert_eq(st.standing, KF_STANDING_KEPT);
    /* A pass after it clears it. */
    h[3] = res(2027, 1, PASS);
    st = standing(h, 4);
    cr_assert_eq(st.standing, KF_STANDING_OK);
    cr_assert_eq(st.failed_last, 0);
}

Test(standing, a_delisted_zone_stays_delisted)
{
    struct kf_assess_hist h[4] = {
        res(2026, 1, FAIL),
        res(2026, 2, FAIL),
        decide(KF_HIST_DELIST, "2027-02-01", "two failures; the bank closes the branch"),
        res(2027, 1, NA),
    };
    struct kf_assess_standing st = standing(h, 4);

    cr_assert_eq(st.standing, KF_STANDING_DELISTED);
    cr_assert_eq(st.delisted_day, day("2027-02-01"));
    cr_assert_str_eq(kf_assess_standing_name(st.standing), "delisted");
    h[3] = res(2027, 1, PASS);
    standing_refused(h, 4, "history[3]: 2027-H1: a delisted zone is not assessed");
}

Test(standing, refuses_histories_that_cannot_be)
{
    struct kf_assess_hist h[4] = {res(2026, 1, FAIL), res(2026, 2, FAIL), res(2026, 2, FAIL)};

    standing_refused(h, 3, "history[2]: 2026-H2 does not follow 2026-H2");
    h[1] = res(2025, 2, FAIL);
    standing_refused(h, 2, "history[1]: 2025-H2 does not follow 2026-H1");
    h[1] = decide(KF_HIST_KEEP, "2026-07-20", "first failure");
    standing_refused(h, 2, "history[1]: keep: the zone is not proposed for delisting");
    h[1] = res(2026, 2, FAIL);
    h[2] = decide(KF_HIST_KEEP, "2027-01-20", NULL);
    standing_refused(h, 3, "history[2]: keep: a reason (1..383 bytes)");
    h[2] = decide(KF_HIST_DELIST, "2026-12-31", "two failures");
    standing_refused(h, 3,
                     "history[2]: delist: 2026-12-31 is before the end of 2026-H2 (2027-01-01)");
    h[2] = decide(KF_HIST_KEEP, "2026-12-20", "kept before the period closed");
    standing_refused(h, 3,
                     "history[2]: keep: 2026-12-20 is before the end of 2026-H2 (2027-01-01)");
    h[2] = decide(KF_HIST_DELIST, "2027-01-01", "two failures");
    h[3] = decide(KF_HIST_KEEP, "2027-01-02", "changed our minds");
    standing_refused(h, 4, "history[3]: keep: the zone is not proposed for delisting");
    h[2] = res(2027, 3, FAIL);
    standing_refused(h, 3, "history[2]: not a period");
}
