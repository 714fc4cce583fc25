/* test_assess_worked.c: the worked half-year of docs/REPORTS.md ("A worked half-year:
 * 舞钢市, 2026-H1"), reproduced from the same inputs with the default rubric
 * (fixtures/rubric/default-2026.json) and the 2026 calendar (fixtures/calendar/cn-2026.ini):
 * every zone's days, figures, scores and result, the unit's roll-up and the bank ranking,
 * the scheduled seconds behind each zone's owed time, and the bytes of one zone as the
 * document prints them. Change a number here only with the document. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/time.h>

#include "kf_test.h"
#include "rules/assess.h"

#define HOUR (3600LL * 1000)
#define NA KF_ASSESS_NA

/* One terminal: its asset, whether it is an ITM, when it was commissioned (local). */
struct term {
    const char *asset;
    int itm;
    const char *day;
    int hour;
};

/* One zone of the document's tables: inputs, then what the assessment must give. */
struct worked {
    const char *zone, *bank, *weekday, *weekend, *itm_hours;
    uint32_t planned;
    const char *opened;
    struct term t[3];
    int64_t ok, failed, abandoned;
    uint32_t items;
    int64_t scheduled_s, excluded_s, downtime_s;
    struct kf_assess_response response;
    const char *no_data[9];
    /* expected */
    int32_t service_days;
    int64_t terminal_days;
    int64_t value[6]; /* activity, availability, catalog_use, in_service, response, data_days */
    int32_t score[6];
    int32_t total;
    int result, reason;
};

/* The document's tables, one zone a block, laid out as they are printed there (clang-format
 * would put one number a line). */
/* clang-format off */
static const struct worked zones[] = {
    {.zone = "Z-WG-001", .bank = "ABC", .weekday = "08:30-17:00", .weekend = "09:00-16:00",
     .planned = 2, .opened = "2025-11-03",
     .t = {{"K-WG-001-1", 0, "2025-11-03", 9}, {"K-WG-001-2", 0, "2025-11-03", 9}},
     .ok = 2971, .failed = 40, .abandoned = 85, .items = 41,
     .scheduled_s = 9259200, .excluded_s = 10800, .downtime_s = 64800,
     .response = {6, 6, 21480}, .no_data = {"2026-03-17"},
     .service_days = 158, .terminal_days = 316,
     .value = {940, 9929, 5466, 10000, 10000, 9936},
     .score = {1500, 2000, 1299, 1500, 1500, 968},
     .total = 8767, .result = KF_ASSESS_PASS, .reason = KF_ASSESS_R_NONE},
    {.zone = "Z-WG-004", .bank = "CCB", .weekday = "08:30-17:00",
     .planned = 2, .opened = "2025-11-03",
     .t = {{"K-WG-004-1", 0, "2025-11-03", 9}, {"I-WG-004-1", 1, "2026-03-02", 10}},
     .ok = 1650, .failed = 22, .abandoned = 51, .items = 27,
     .scheduled_s = 6206400, .excluded_s = 0, .downtime_s = 97200,
     .response = {4, 4, 9000}, .no_data = {"2026-05-20", "2026-05-21"},
     .service_days = 120, .terminal_days = 203,
     .value = {812, 9843, 3600, 8458, 10000, 9833},
     .score = {1271, 1873, 600, 1037, 1500, 916},
     .total = 7197, .result = KF_ASSESS_PASS, .reason = KF_ASSESS_R_NONE},
    {.zone = "Z-WG-007", .bank = "PSBC", .weekday = "08:30-17:00", .weekend = "09:00-16:00",
     .planned = 1, .opened = "2025-11-03",
     .t = {{"K-WG-007-1", 0, "2025-11-03", 9}},
     .ok = 345, .failed = 19, .abandoned = 61, .items = 14,
     .scheduled_s = 4629600, .excluded_s = 7200, .downtime_s = 129600,
     .response = {5, 3, 31200},
     .no_data = {"2026-06-08", "2026-06-09", "2026-06-10", "2026-06-11", "2026-06-12",
                 "2026-06-13", "2026-06-14", "2026-06-15"},
     .service_days = 158, .terminal_days = 158,
     .value = {218, 9719, 1866, 10000, 6000, 9493},
     .score = {210, 1597, 0, 1500, 333, 746},
     .total = 4386, .result = KF_ASSESS_FAIL, .reason = KF_ASSESS_R_SCORE},
    {.zone = "Z-WG-012", .bank = "BOC", .weekday = "08:30-17:00", .itm_hours = "00:00-24:00",
     .planned = 2, .opened = "2025-11-03",
     .t = {{"K-WG-012-1", 0, "2025-11-03", 9}, {"I-WG-012-1", 1, "2025-11-03", 9}},
     .ok = 2204, .failed = 35, .abandoned = 70, .items = 33,
     .scheduled_s = 19310400, .excluded_s = 0, .downtime_s = 1049400,
     .response = {9, 6, 30600},
     .service_days = 120, .terminal_days = 240,
     .value = {918, 9456, 4400, 10000, 6666, 10000},
     .score = {1460, 1013, 900, 1500, 555, 1000},
     .total = 6428, .result = KF_ASSESS_FAIL, .reason = KF_ASSESS_R_MUST_PASS},
    {.zone = "Z-WG-016", .bank = "CCB", .weekday = "08:30-17:00", .weekend = "09:00-16:00",
     .planned = 1, .opened = "2025-11-03",
     .service_days = 158, .terminal_days = 0,
     .value = {NA, NA, 0, 0, NA, 0},
     .score = {0, 0, 0, 0, 0, 0},
     .total = 0, .result = KF_ASSESS_FAIL, .reason = KF_ASSESS_R_NO_TERMINALS},
    {.zone = "Z-WG-020", .bank = "PSBC", .weekday = "08:30-17:00",
     .planned = 1, .opened = "2026-04-13",
     .t = {{"K-WG-020-1", 0, "2026-04-13", 9}},
     .ok = 312, .failed = 6, .abandoned = 17, .items = 19,
     .scheduled_s = 1650600, .excluded_s = 0, .downtime_s = 14400,
     .response = {1, 1, 1800},
     .service_days = 54, .terminal_days = 54,
     .value = {577, 9912, 2533, 10000, 10000, 10000},
     .score = {851, 2000, 199, 1500, 1500, 1000},
     .total = 7050, .result = KF_ASSESS_PASS, .reason = KF_ASSESS_R_NONE},
};
/* clang-format on */
#define N_ZONES (sizeof(zones) / sizeof(zones[0]))

/* The digest of the default rubric's canonical form, as the document prints it. */
static const char rubric_sha256[] =
    "06de12e6fe058009fe99d914be2154d7239cdd520091a350265fb9974d499154";

/* The digest of the whole document (issued 2026-07-15 10:00 with the inputs below): the
 * bytes that are signed, and that a recompute must give again. */
static const char document_sha256[] =
    "6a2860d876f60efd31270646c9a076f20088d53dfc19d1ceceabee53ce7c2f0e";

/* Z-WG-020 in the document's bytes, as docs/REPORTS.md prints it. */
static const char zone_020_json[] =
    "{\"zone\":\"Z-WG-020\",\"unit\":\"WG\",\"bank\":\"PSBC\",\"planned\":1,\"from\":\"2026-04-"
    "13\",\"to\":\"2026-07-01\",\"service_days\":54,\"terminals\":1,\"terminal_days\":54,\"txns_"
    "ok\":312,\"owed_s\":1650600,\"uptime_s\":1636200,\"result\":\"pass\",\"reason\":null,\"total_"
    "cp\":7050,\"criteria\":["
    "{\"measure\":\"activity\",\"num\":312,\"den\":54,\"value\":577,\"score_cp\":851,\"pass\":true}"
    ","
    "{\"measure\":\"availability\",\"num\":1636200,\"den\":1650600,\"value\":9912,\"score_cp\":"
    "2000,\"pass\":true},"
    "{\"measure\":\"catalog_use\",\"num\":19,\"den\":75,\"value\":2533,\"score_cp\":199,\"pass\":"
    "false},"
    "{\"measure\":\"in_service\",\"num\":54,\"den\":54,\"value\":10000,\"score_cp\":1500,\"pass\":"
    "true},"
    "{\"measure\":\"response\",\"num\":1,\"den\":1,\"value\":10000,\"score_cp\":1500,\"pass\":true}"
    ","
    "{\"measure\":\"data_days\",\"num\":54,\"den\":54,\"value\":10000,\"score_cp\":1000,\"pass\":"
    "true}]}";

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

static char *hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return out;
}

Test(reports, worked_half_year_of_wugang)
{
    static const int measures[6] = {KF_MEASURE_ACTIVITY,    KF_MEASURE_AVAILABILITY,
                                    KF_MEASURE_CATALOG_USE, KF_MEASURE_IN_SERVICE,
                                    KF_MEASURE_RESPONSE,    KF_MEASURE_DATA_DAYS};
    struct kf_week weeks[N_ZONES];
    struct kf_window windows[N_ZONES][3];
    struct kf_assess_terminal terms[N_ZONES][3];
    int32_t data[N_ZONES][181];
    struct kf_assess_zone_in in[N_ZONES];
    struct kf_assess_period h1;
    struct kf_holidays *hol = kf_holidays_new();
    struct kf_rubric rubric;
    struct kf_assessment *a;
    unsigned char sha[crypto_hash_sha256_BYTES];
    char err[256], sha_hex[2 * crypto_hash_sha256_BYTES + 1], *text, *canon, *json;
    struct kf_assess_digest digests[4] = {
        {"rubric", NULL},
        {"calendar", "5d1c1f6f0e0b5a8f3b0a64f0d0d1f2b3c4d5e6f708192a3b4c5d6e7f8091a2b3"},
        {"usage", "0b7e4f9a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"},
        {"sla", "7a1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
    };

    cr_assert_eq(sodium_init() >= 0, 1);
    text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/calendar/cn-2026.ini");
    cr_assert_eq(kf_holidays_load_string(hol, text, "cn-2026.ini", err, sizeof(err)), 0, "%s", err);
    free(text);
    text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/rubric/default-2026.json");
    cr_assert_eq(kf_rubric_parse(text, strlen(text), &rubric, err, sizeof(err)), 0, "%s", err);
    free(text);
    cr_assert_eq(kf_rubric_canonical(&rubric, &canon), 0);
    crypto_hash_sha256(sha, (const unsigned char *)canon, strlen(canon));
    free(canon);
    digests[0].hex = hex(sha, sizeof(sha), sha_hex);
    cr_assert_str_eq(sha_hex, rubric_sha256);
    cr_assert_eq(kf_assess_period(2026, 1, &h1), 0);

    for (size_t i = 0; i < N_ZONES; i++) {
        const struct worked *w = &zones[i];
        int64_t scheduled = 0;
        size_t nt = 0, nd = 0;

        cr_assert_eq(kf_calendar_week_from_hours(w->weekday, w->weekend, &weeks[i]), 0);
        for (; nt < 3 && w->t[nt].asset; nt++) {
            struct kf_week tw;
            struct kf_cal cal = {&tw, hol, NULL, 0};
            int64_t from = at(w->t[nt].day, w->t[nt].hour);

            windows[i][nt] = (struct kf_window){from, KF_TIME_NEVER};
            terms[i][nt] = (struct kf_assess_terminal){w->t[nt].asset, &windows[i][nt], 1};
            /* The owed seconds of the table: each terminal's scheduled time in service. */
            cr_assert_eq(kf_calendar_week_for_terminal(w->weekday, w->weekend, w->itm_hours,
                                                       w->t[nt].itm, &tw),
                         0);
            if (from < kf_day_start_ms(h1.from_day))
                from = kf_day_start_ms(h1.from_day);
            scheduled += kf_calendar_service_ms(&cal, from, kf_day_start_ms(h1.to_day)) / 1000;
        }
        cr_assert_eq(scheduled, w->scheduled_s, "%s: scheduled %lld", w->zone,
                     (long long)scheduled);
        /* Data on every day but the table's; none at all where nothing stood. */
        for (int32_t d = h1.from_day; nt > 0 && d < h1.to_day; d++) {
            int missing = 0;

            for (size_t k = 0; w->no_data[k]; k++)
                missing |= day(w->no_data[k]) == d;
            if (!missing)
                data[i][nd++] = d;
        }
        in[i] = (struct kf_assess_zone_in){
            .zone = w->zone,
            .unit = "WG",
            .bank = w->bank,
            .planned = w->planned,
            .opened_day = day(w->opened),
            .delisted_day = KF_ASSESS_OPEN,
            .week = &weeks[i],
            .terminals = terms[i],
            .n_terminals = nt,
            .txns_ok = w->ok,
            .txns_failed = w->failed,
            .txns_abandoned = w->abandoned,
            .items_used = w->items,
            .catalog_size = 75,
            .owed_s = w->scheduled_s - w->excluded_s,
            .uptime_s = w->scheduled_s - w->excluded_s - w->downtime_s,
            .response = w->response,
            .data_days = data[i],
            .n_data_days = nd,
        };
    }

    struct kf_assess_input input = {.year = 2026,
                                    .half = 1,
                                    .rubric = &rubric,
                                    .holidays = hol,
                                    .zones = in,
                                    .n_zones = N_ZONES,
                                    .status = KF_ASSESS_ISSUED,
                                    .issued_at_ms = at("2026-07-15", 10),
                                    .version = 1,
                                    .inputs = digests,
                                    .n_inputs = 4};
    cr_assert_eq(kf_assess_compute(&input, &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(a->n_zones, N_ZONES);
    for (size_t i = 0; i < N_ZONES; i++) {
        const struct worked *w = &zones[i];
        const struct kf_assess_zone *z = &a->zones[i];

        cr_assert_str_eq(z->zone, w->zone);
        cr_assert_eq(z->service_days, w->service_days, "%s: %d", w->zone, (int)z->service_days);
        cr_assert_eq(z->terminal_days, w->terminal_days, "%s: %lld", w->zone,
                     (long long)z->terminal_days);
        cr_assert_eq(z->n_crit, 6);
        for (size_t k = 0; k < 6; k++) {
            cr_assert_eq(z->crit[k].measure, measures[k]);
            cr_assert_eq(z->crit[k].value, w->value[k], "%s %s: %lld", w->zone,
                         kf_rubric_measure_name(measures[k]), (long long)z->crit[k].value);
            cr_assert_eq(z->crit[k].score_cp, w->score[k], "%s %s: %d", w->zone,
                         kf_rubric_measure_name(measures[k]), (int)z->crit[k].score_cp);
        }
        cr_assert_eq(z->total_cp, w->total, "%s: %d", w->zone, (int)z->total_cp);
        cr_assert_eq(z->result, w->result, "%s", w->zone);
        cr_assert_eq(z->reason, w->reason, "%s", w->zone);
    }
    /* Passes and failures the tables mark. */
    cr_assert_eq(a->zones[1].crit[3].pass, 0); /* Z-WG-004 in_service 84.58 % */
    cr_assert_eq(a->zones[2].crit[5].pass, 0); /* Z-WG-007 data_days 94.93 %, below 95 % */
    cr_assert_eq(a->zones[3].crit[1].pass, 0); /* Z-WG-012 availability, must pass */
    cr_assert_eq(a->zones[5].crit[2].pass, 0); /* Z-WG-020 catalog_use, not a must */

    /* The unit. */
    cr_assert_eq(a->n_units, 1);
    cr_assert_eq(a->units[0].zones, 6);
    cr_assert_eq(a->units[0].passed, 3);
    cr_assert_eq(a->units[0].failed, 3);
    cr_assert_eq(a->units[0].pass_rate_bp, 5000);
    cr_assert_eq(a->units[0].mean_score_cp, 5638);
    cr_assert_eq(a->units[0].txns_ok, 7482);
    cr_assert_eq(a->units[0].terminal_days, 971);
    cr_assert_eq(a->units[0].activity, 770);
    cr_assert_eq(a->units[0].owed_s, 41038200);
    cr_assert_eq(a->units[0].uptime_s, 39682800);
    cr_assert_eq(a->units[0].availability_bp, 9669);

    /* The banks, in ranking order. */
    {
        static const struct {
            const char *bank;
            uint32_t rank, assessed, passed;
            int32_t rate, mean;
            int64_t activity;
            int32_t availability;
        } want[] = {
            {"ABC", 1, 1, 1, 10000, 8767, 940, 9929},
            {"PSBC", 2, 2, 1, 5000, 5718, 309, 9770},
            {"CCB", 3, 2, 1, 5000, 3598, 812, 9843},
            {"BOC", 4, 1, 0, 0, 6428, 918, 9456},
        };

        cr_assert_eq(a->n_banks, 4);
        for (size_t i = 0; i < 4; i++) {
            const struct kf_assess_rollup *b = &a->banks[i];

            cr_assert_str_eq(b->key, want[i].bank);
            cr_assert_eq(b->rank, want[i].rank, "%s", b->key);
            cr_assert_eq(b->assessed, want[i].assessed, "%s", b->key);
            cr_assert_eq(b->passed, want[i].passed, "%s", b->key);
            cr_assert_eq(b->pass_rate_bp, want[i].rate, "%s", b->key);
            cr_assert_eq(b->mean_score_cp, want[i].mean, "%s: %d", b->key, (int)b->mean_score_cp);
            cr_assert_eq(b->activity, want[i].activity, "%s: %lld", b->key, (long long)b->activity);
            cr_assert_eq(b->availability_bp, want[i].availability, "%s: %d", b->key,
                         (int)b->availability_bp);
        }
    }

    cr_assert_eq(kf_assess_json(a, &json), 0);
    cr_assert_not_null(strstr(json, zone_020_json), "%s", json);
    crypto_hash_sha256(sha, (const unsigned char *)json, strlen(json));
    cr_assert_str_eq(hex(sha, sizeof(sha), sha_hex), document_sha256);
    free(json);
    kf_assess_free(a);
    kf_holidays_free(hol);
}
