/* test_rubric.c: assessment rubrics (rules/rubric.h): every refusal names its field, the set
 * check, lookups by day, the canonical form, the default rubric in fixtures/rubric/, and
 * the scoring edges of docs/REPORTS.md "Scores" (floor, full mark, cap, exact pass mark). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include <kf/time.h>

#include "kf_test.h"
#include "rules/rubric.h"

/* A small rubric, already canonical: a higher-is-better, a must-pass and a lower-is-better
 * criterion. */
static const char base[] =
    "{\"doc\":\"kioskfleet.rubric/1\",\"id\":\"PDS-ZONE\",\"version\":1,"
    "\"effective_from\":\"2026-01-01\",\"effective_to\":null,\"total\":100,\"pass_score\":60,"
    "\"min_service_days\":30,\"criteria\":["
    "{\"measure\":\"activity\",\"weight\":40,\"floor\":100,\"full\":1500,\"pass_mark\":400,"
    "\"must_pass\":false},"
    "{\"measure\":\"availability\",\"label\":\"设备可用率\",\"weight\":30,\"floor\":9000,"
    "\"full\":9900,\"pass_mark\":9500,\"must_pass\":true},"
    "{\"measure\":\"response_time\",\"weight\":30,\"floor\":14400,\"full\":3600,"
    "\"pass_mark\":7200,\"must_pass\":false}]}";

static int parse(const char *text, struct kf_rubric *r, char *err, size_t errn)
{
    return kf_rubric_parse(text, strlen(text), r, err, errn);
}

/* base with the value at a dotted path replaced (value NULL: removed); a numeric part
 * indexes an array ("criteria.1.weight"). Steals value. */
static char *edited(const char *path, json_t *value)
{
    json_t *root = json_loads(base, JSON_PRESERVE_ORDER, NULL), *o = root;
    char p[128], *dot, *key = p;
    char *out;

    cr_assert_not_null(root);
    snprintf(p, sizeof(p), "%s", path);
    while ((dot = strchr(key, '.')) != NULL) {
        *dot = '\0';
        o = json_is_array(o) ? json_array_get(o, strtoul(key, NULL, 10)) : json_object_get(o, key);
        cr_assert_not_null(o, "%s", path);
        key = dot + 1;
    }
    if (json_is_array(o)) {
        size_t i = strtoul(key, NULL, 10);

        if (value)
            json_array_set_new(o, i, value);
        else
            json_array_remove(o, i);
    } else if (value) {
        json_object_set_new(o, key, value);
    } else {
        json_object_del(o, key);
    }
    out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(root);
    return out;
}

static void refused(const char *path, json_t *value, const char *want)
{
    struct kf_rubric r;
    char err[256], *text = edited(path, value);

    memset(&r, 0x5a, sizeof(r));
    cr_assert_eq(parse(text, &r, err, sizeof(err)), -EINVAL, "%s accepted", path);
    cr_assert_str_eq(err, want);
    cr_assert_eq(r.version, 0x5a5a5a5a, "written on failure");
    free(text);
}

static struct kf_rubric base_rubric(void)
{
    struct kf_rubric r;
    char err[256];

    cr_assert_eq(parse(base, &r, err, sizeof(err)), 0, "%s", err);
    return r;
}

Test(rubric, parses_the_example)
{
    struct kf_rubric r = base_rubric();
    const struct kf_rubric_criterion *c;

    cr_assert_str_eq(r.id, "PDS-ZONE");
    cr_assert_eq(r.version, 1);
    cr_assert_eq(r.effective_from, 20454); /* 2026-01-01 */
    cr_assert_eq(r.effective_to, KF_RUBRIC_OPEN);
    cr_assert_eq(r.total, 100);
    cr_assert_eq(r.pass_score, 60);
    cr_assert_eq(r.min_service_days, 30);
    cr_assert_eq(r.n_criteria, 3);
    c = kf_rubric_criterion(&r, KF_MEASURE_AVAILABILITY);
    cr_assert_not_null(c);
    cr_assert_eq(c->must_pass, 1);
    cr_assert_str_eq(c->label, "设备可用率");
    cr_assert_eq(c->weight, 30);
    c = kf_rubric_criterion(&r, KF_MEASURE_RESPONSE_TIME);
    cr_assert_eq(c->floor, 14400);
    cr_assert_eq(c->full, 3600);
    cr_assert_eq(c->has_label, 0);
    cr_assert_null(kf_rubric_criterion(&r, KF_MEASURE_DATA_DAYS));
}

Test(rubric, measure_names_round_trip)
{
    for (int m = 1; m <= KF_MEASURE_COUNT_; m++) {
        int back = 0;

        cr_assert_not_null(kf_rubric_measure_name(m));
        cr_assert_eq(kf_rubric_measure_parse(kf_rubric_measure_name(m), &back), 0);
        cr_assert_eq(back, m);
        cr_assert_gt(kf_rubric_measure_max(m), 0);
    }
    cr_assert_null(kf_rubric_measure_name(0));
    cr_assert_null(kf_rubric_measure_name(KF_MEASURE_COUNT_ + 1));
    cr_assert_eq(kf_rubric_measure_parse("speed", &(int){0}), -EINVAL);
    cr_assert_eq(kf_rubric_measure_parse(NULL, &(int){0}), -EINVAL);
    cr_assert_eq(kf_rubric_measure_lower_better(KF_MEASURE_RESPONSE_TIME), 1);
    cr_assert_eq(kf_rubric_measure_lower_better(KF_MEASURE_RESPONSE), 0);
}

Test(rubric, refuses_bad_json_and_unknown_keys)
{
    struct kf_rubric r;
    char err[256];
    const char *dup = "{\"doc\":\"kioskfleet.rubric/1\",\"doc\":\"kioskfleet.rubric/1\"}";

    cr_assert_eq(parse("{\"doc\":", &r, err, sizeof(err)), -EINVAL);
    cr_assert(strncmp(err, "line 1:", 7) == 0, "%s", err);
    cr_assert_eq(parse("[]", &r, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "a rubric is a JSON object");
    cr_assert_eq(parse(dup, &r, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "duplicate") != NULL, "%s", err);
    refused("colour", json_string("red"), "colour: unknown key");
    refused("criteria.0.points", json_integer(3), "criteria[0].points: unknown key");
    refused("doc", json_string("kioskfleet.rubric/2"), "doc: must be \"kioskfleet.rubric/1\"");
}

Test(rubric, refuses_missing_fields_and_wrong_types)
{
    refused("id", NULL, "id: missing");
    refused("pass_score", NULL, "pass_score: missing");
    refused("criteria.1.pass_mark", NULL, "criteria[1].pass_mark: missing");
    refused("version", json_string("1"), "version: must be an integer");
    refused("criteria.0.weight", json_real(40.0), "criteria[0].weight: must be an integer");
    refused("criteria.0.must_pass", json_integer(1),
            "criteria[0].must_pass: must be true or false");
    refused("criteria", json_object(), "criteria: must be an array");
    refused("criteria.2", json_integer(7), "criteria[2]: must be an object");
    refused("criteria", json_array(), "criteria: at least one criterion");
    refused("id", json_string(""), "id: must be 1..47 bytes");
    refused("version", json_integer(0), "version: must be 1..2147483647");
    refused("min_service_days", json_integer(0), "min_service_days: must be 1..90");
    refused("total", json_integer(0), "total: must be 1..1000");
}

Test(rubric, refuses_weights_that_do_not_sum_to_the_total)
{
    refused("criteria.0.weight", json_integer(35), "criteria: the weights sum to 95, total is 100");
    refused("total", json_integer(90), "criteria: the weights sum to 100, total is 90");
    refused("criteria.0.weight", json_integer(101), "criteria[0].weight: must be 1..100");
    refused("criteria.0.weight", json_integer(0), "criteria[0].weight: must be 1..100");
    refused("criteria.2", NULL, "criteria: the weights sum to 70, total is 100");
}

Test(rubric, refuses_an_unknown_measure)
{
    refused("criteria.1.measure", json_string("popularity"),
            "criteria[1].measure: unknown measure \"popularity\" (activity, availability, "
            "catalog_use, in_service, completion, response, response_time, data_days)");
    refused("criteria.1.measure", json_integer(2), "criteria[1].measure: must be a string");
}

Test(rubric, refuses_a_duplicated_criterion)
{
    json_t *c = json_pack("{s:s,s:i,s:i,s:i,s:i}", "measure", "activity", "weight", 30, "floor", 0,
                          "full", 100, "pass_mark", 50);

    refused("criteria.2", c, "criteria[2].measure: activity is already criteria[0]");
}

Test(rubric, refuses_marks_out_of_range)
{
    refused("criteria.1.full", json_integer(10001), "criteria[1].full: must be 0..10000");
    refused("criteria.1.floor", json_integer(-1), "criteria[1].floor: must be 0..10000");
    refused("criteria.0.full", json_integer(100001), "criteria[0].full: must be 0..100000");
    refused("criteria.2.floor", json_integer(2592001), "criteria[2].floor: must be 0..2592000");
    refused("criteria.1.pass_mark", json_integer(8999),
            "criteria[1].pass_mark: must lie between floor (9000) and full (9900)");
    refused("criteria.1.pass_mark", json_integer(9901),
            "criteria[1].pass_mark: must lie between floor (9000) and full (9900)");
    refused("criteria.2.pass_mark", json_integer(3599),
            "criteria[2].pass_mark: must lie between floor (14400) and full (3600)");
    refused("pass_score", json_integer(101), "pass_score: must be 0..100");
}

Test(rubric, refuses_a_full_mark_on_the_wrong_side)
{
    refused("criteria.0.full", json_integer(99), "criteria[0].full: must be at least floor (100)");
    refused("criteria.2.full", json_integer(20000),
            "criteria[2].full: must be at most floor (14400): lower is better for response_time");
}

Test(rubric, refuses_dates_that_do_not_start_a_half_year)
{
    refused("effective_from", json_string("2026-02-30"),
            "effective_from: must be a date \"YYYY-MM-DD\"");
    refused("effective_from", json_string("2026-03-01"),
            "effective_from: must be the first day of a half-year (YYYY-01-01 or YYYY-07-01)");
    refused("effective_to", json_string("2026-12-31"),
            "effective_to: must be the first day of a half-year (YYYY-01-01 or YYYY-07-01)");
    refused("effective_to", json_string("2026-01-01"),
            "effective_to: must be after effective_from");
    refused("effective_to", json_integer(1), "effective_to: must be a date \"YYYY-MM-DD\" or null");
}

static struct kf_rubric version(const char *id, int ver, const char *from, const char *to)
{
    struct kf_rubric r = base_rubric();

    snprintf(r.id, sizeof(r.id), "%s", id);
    r.version = ver;
    cr_assert_eq(kf_day_parse(from, &r.effective_from), 0);
    if (to)
        cr_assert_eq(kf_day_parse(to, &r.effective_to), 0);
    else
        r.effective_to = KF_RUBRIC_OPEN;
    return r;
}

Test(rubric, set_check_and_lookup_by_day)
{
    struct kf_rubric v[2] = {version("PDS-ZONE", 1, "2026-01-01", "2027-01-01"),
                             version("PDS-ZONE", 2, "2027-01-01", NULL)};
    char err[256];
    int32_t d;

    cr_assert_eq(kf_rubric_set_check(v, 2, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_day_parse("2026-07-01", &d), 0);
    cr_assert_eq(kf_rubric_for(v, 2, d), &v[0]);
    cr_assert_eq(kf_day_parse("2027-01-01", &d), 0);
    cr_assert_eq(kf_rubric_for(v, 2, d), &v[1]);
    cr_assert_null(kf_rubric_for(v, 2, v[0].effective_from - 1));

    v[1] = version("PDS-ZONE-B", 1, "2026-07-01", NULL);
    cr_assert_eq(kf_rubric_set_check(v, 2, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "PDS-ZONE version 1 and PDS-ZONE-B version 1 overlap (both in force on "
                          "2026-07-01)");
    v[1] = version("PDS-ZONE", 1, "2028-01-01", NULL);
    cr_assert_eq(kf_rubric_set_check(v, 2, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "PDS-ZONE version 1: duplicated");
}

Test(rubric, canonical_form_is_stable)
{
    struct kf_rubric a, b;
    char err[256], *ca, *cb;
    /* The same rubric, spaced, with keys sorted and its criteria in another order. */
    json_t *root = json_loads(base, 0, NULL), *crit = json_object_get(root, "criteria");
    json_t *first = json_incref(json_array_get(crit, 0));
    char *loose;

    json_array_remove(crit, 0);
    json_array_append_new(crit, first);
    loose = json_dumps(root, JSON_INDENT(3) | JSON_SORT_KEYS);
    json_decref(root);
    cr_assert_eq(parse(base, &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(parse(loose, &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_rubric_canonical(&a, &ca), 0);
    cr_assert_eq(kf_rubric_canonical(&b, &cb), 0);
    cr_assert_str_eq(ca, cb);
    cr_assert_str_eq(ca, base); /* the example is already canonical */
    free(cb);
    cr_assert_eq(parse(ca, &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_rubric_canonical(&b, &cb), 0);
    cr_assert_str_eq(ca, cb);
    free(ca);
    free(cb);
    free(loose);
}

Test(rubric, the_default_rubric_parses)
{
    char err[256], *text = kf_test_read_file(KF_SOURCE_DIR "/fixtures/rubric/default-2026.json");
    static const int order[] = {KF_MEASURE_ACTIVITY,    KF_MEASURE_AVAILABILITY,
                                KF_MEASURE_CATALOG_USE, KF_MEASURE_IN_SERVICE,
                                KF_MEASURE_RESPONSE,    KF_MEASURE_DATA_DAYS};
    struct kf_rubric r;
    int32_t weights = 0;

    cr_assert_eq(parse(text, &r, err, sizeof(err)), 0, "%s", err);
    free(text);
    cr_assert_str_eq(r.id, "PDS-ZONE");
    cr_assert_eq(r.total, 100);
    cr_assert_eq(r.pass_score, 60);
    cr_assert_eq(r.min_service_days, 30);
    cr_assert_eq(r.n_criteria, 6);
    for (size_t i = 0; i < r.n_criteria; i++) {
        cr_assert_eq(r.criteria[i].measure, order[i]);
        weights += r.criteria[i].weight;
        cr_assert_eq(r.criteria[i].must_pass, order[i] == KF_MEASURE_AVAILABILITY);
    }
    cr_assert_eq(weights, 100);
}

/* ---- Scores (docs/REPORTS.md "Scores") ---- */

Test(rubric, score_is_linear_from_floor_to_full_and_capped)
{
    struct kf_rubric r = base_rubric();
    const struct kf_rubric_criterion *act = kf_rubric_criterion(&r, KF_MEASURE_ACTIVITY);

    /* activity: weight 40, floor 1.00, full 15.00 txns per terminal-day. */
    cr_assert_eq(kf_rubric_score_cp(act, 0), 0);
    cr_assert_eq(kf_rubric_score_cp(act, 99), 0);
    cr_assert_eq(kf_rubric_score_cp(act, 100), 0);    /* at the floor */
    cr_assert_eq(kf_rubric_score_cp(act, 101), 2);    /* 4000 x 1 / 1400 = 2.86, down */
    cr_assert_eq(kf_rubric_score_cp(act, 800), 2000); /* half way */
    cr_assert_eq(kf_rubric_score_cp(act, 1499), 3997);
    cr_assert_eq(kf_rubric_score_cp(act, 1500), 4000);  /* the full mark */
    cr_assert_eq(kf_rubric_score_cp(act, 99999), 4000); /* capped */
}

Test(rubric, exact_pass_mark_passes)
{
    struct kf_rubric r = base_rubric();
    const struct kf_rubric_criterion *av = kf_rubric_criterion(&r, KF_MEASURE_AVAILABILITY);
    const struct kf_rubric_criterion *rt = kf_rubric_criterion(&r, KF_MEASURE_RESPONSE_TIME);

    cr_assert_eq(kf_rubric_passes(av, 9500), 1);
    cr_assert_eq(kf_rubric_passes(av, 9499), 0);
    cr_assert_eq(kf_rubric_score_cp(av, 9500), 1666); /* 3000 x 500 / 900 */
    /* Lower is better: 7200 s passes, 7201 s does not. */
    cr_assert_eq(kf_rubric_passes(rt, 7200), 1);
    cr_assert_eq(kf_rubric_passes(rt, 7201), 0);
    cr_assert_eq(kf_rubric_passes(rt, 0), 1);
}

Test(rubric, lower_is_better_mirrors_the_line)
{
    struct kf_rubric r = base_rubric();
    const struct kf_rubric_criterion *rt = kf_rubric_criterion(&r, KF_MEASURE_RESPONSE_TIME);

    /* response_time: weight 30, floor 4 h, full 1 h. */
    cr_assert_eq(kf_rubric_score_cp(rt, 20000), 0);
    cr_assert_eq(kf_rubric_score_cp(rt, 14400), 0);
    cr_assert_eq(kf_rubric_score_cp(rt, 9000), 1500);
    cr_assert_eq(kf_rubric_score_cp(rt, 7200), 2000);
    cr_assert_eq(kf_rubric_score_cp(rt, 3600), 3000);
    cr_assert_eq(kf_rubric_score_cp(rt, 0), 3000);
}

Test(rubric, floor_equal_to_full_is_all_or_nothing)
{
    struct kf_rubric_criterion c = {.measure = KF_MEASURE_DATA_DAYS,
                                    .weight = 10,
                                    .floor = 9500,
                                    .full = 9500,
                                    .pass_mark = 9500};

    cr_assert_eq(kf_rubric_score_cp(&c, 9499), 0);
    cr_assert_eq(kf_rubric_score_cp(&c, 9500), 1000);
    cr_assert_eq(kf_rubric_score_cp(&c, 10000), 1000);
    c.measure = KF_MEASURE_RESPONSE_TIME;
    c.floor = c.full = c.pass_mark = 3600;
    cr_assert_eq(kf_rubric_score_cp(&c, 3601), 0);
    cr_assert_eq(kf_rubric_score_cp(&c, 3600), 1000);
}
