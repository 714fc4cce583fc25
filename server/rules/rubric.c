/* rules/rubric.c: parse, check, score and re-serialize assessment rubrics (rubric.h). */
#include "rules/rubric.h"
#include "rules/jsonr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kf/time.h>

#include "rules/jsonw.h"

#define DOC "kioskfleet.rubric/1"

static const char *const measure_names[] = {
    NULL,         "activity", "availability",  "catalog_use", "in_service",
    "completion", "response", "response_time", "data_days",
};

const char *kf_rubric_measure_name(int measure)
{
    return measure >= 1 && measure <= KF_MEASURE_COUNT_ ? measure_names[measure] : NULL;
}

int kf_rubric_measure_parse(const char *s, int *ret)
{
    for (int m = 1; s && m <= KF_MEASURE_COUNT_; m++) {
        if (strcmp(s, measure_names[m]) == 0) {
            *ret = m;
            return 0;
        }
    }
    return -EINVAL;
}

int kf_rubric_measure_lower_better(int measure)
{
    return measure == KF_MEASURE_RESPONSE_TIME;
}

int64_t kf_rubric_measure_max(int measure)
{
    switch (measure) {
    case KF_MEASURE_ACTIVITY:
        return 100000;
    case KF_MEASURE_RESPONSE_TIME:
        return 30LL * 86400;
    case KF_MEASURE_AVAILABILITY:
    case KF_MEASURE_CATALOG_USE:
    case KF_MEASURE_IN_SERVICE:
    case KF_MEASURE_COMPLETION:
    case KF_MEASURE_RESPONSE:
    case KF_MEASURE_DATA_DAYS:
        return 10000;
    default:
        return 0;
    }
}

/* ---- Scoring ------------------------------------------------------------------------- */

int32_t kf_rubric_score_cp(const struct kf_rubric_criterion *c, int64_t value)
{
    int lower = kf_rubric_measure_lower_better(c->measure);
    /* Distances in the direction of "better", so both directions are one formula. */
    int64_t got = lower ? c->floor - value : value - c->floor;
    int64_t span = lower ? c->floor - c->full : c->full - c->floor;
    int64_t full_cp = (int64_t)c->weight * 100;

    if (got >= span)
        return (int32_t)full_cp;
    if (got <= 0)
        return 0;
    /* 0 < got < span <= 2592000 and weight <= 1000: the product fits easily. */
    return (int32_t)(full_cp * got / span);
}

int kf_rubric_passes(const struct kf_rubric_criterion *c, int64_t value)
{
    return kf_rubric_measure_lower_better(c->measure) ? value <= c->pass_mark
                                                      : value >= c->pass_mark;
}

const struct kf_rubric_criterion *kf_rubric_criterion(const struct kf_rubric *r, int measure)
{
    for (size_t i = 0; i < r->n_criteria; i++) {
        if (r->criteria[i].measure == measure)
            return &r->criteria[i];
    }
    return NULL;
}

/* ---- Parsing ------------------------------------------------------------------------- */

static int half_start(int32_t day)
{
    char d[16];

    kf_day_format(day, d, sizeof(d));
    return strcmp(d + 4, "-01-01") == 0 || strcmp(d + 4, "-07-01") == 0;
}

static int get_day(const json_t *o, const char *key, int nullable, int32_t *ret, char *err,
                   size_t errn)
{
    int r = kf__jr_get_day(o, key, nullable, ret, err, errn);

    if (r == 0 && *ret != KF_RUBRIC_OPEN && !half_start(*ret))
        return kf__jr_fail(
            err, errn, "%s: must be the first day of a half-year (YYYY-01-01 or YYYY-07-01)", key);
    return r;
}

static int parse_criterion(const json_t *o, size_t i, int32_t total, struct kf_rubric_criterion *c,
                           char *err, size_t errn)
{
    static const char *const keys[] = {"measure", "label",     "weight",    "floor",
                                       "full",    "pass_mark", "must_pass", NULL};
    char path[32], measure[32];
    json_t *v;
    int64_t max;
    int r;

    snprintf(path, sizeof(path), "criteria[%zu]", i);
    if (!json_is_object(o))
        return kf__jr_fail(err, errn, "%s: must be an object", path);
    if ((r = kf__jr_only_keys(o, path, keys, err, errn)) < 0 ||
        (r = kf__jr_get_str(o, path, "measure", sizeof(measure) - 1, 0, measure, NULL, err, errn)) <
            0)
        return r;
    if (kf_rubric_measure_parse(measure, &c->measure) < 0)
        return kf__jr_fail(
            err, errn,
            "%s.measure: unknown measure \"%s\" (activity, availability, catalog_use, "
            "in_service, completion, response, response_time, data_days)",
            path, measure);
    max = kf_rubric_measure_max(c->measure);
    if ((r = kf__jr_get_str(o, path, "label", KF_RUBRIC_LABEL_MAX, 1, c->label, &c->has_label, err,
                            errn)) < 0 ||
        (r = kf__jr_get_i32(o, path, "weight", 1, total, &c->weight, err, errn)) < 0 ||
        (r = kf__jr_get_int(o, path, "floor", 0, max, &c->floor, err, errn)) < 0 ||
        (r = kf__jr_get_int(o, path, "full", 0, max, &c->full, err, errn)) < 0 ||
        (r = kf__jr_get_int(o, path, "pass_mark", 0, max, &c->pass_mark, err, errn)) < 0 ||
        (r = kf__jr_get(o, path, "must_pass", JSON_TRUE, 1, &v, err, errn)) < 0)
        return r;
    c->must_pass = v && json_is_true(v);
    if (kf_rubric_measure_lower_better(c->measure)) {
        if (c->full > c->floor)
            return kf__jr_fail(err, errn,
                               "%s.full: must be at most floor (%lld): lower is better for %s",
                               path, (long long)c->floor, measure);
        if (c->pass_mark > c->floor || c->pass_mark < c->full)
            return kf__jr_fail(err, errn,
                               "%s.pass_mark: must lie between floor (%lld) and full (%lld)", path,
                               (long long)c->floor, (long long)c->full);
    } else {
        if (c->full < c->floor)
            return kf__jr_fail(err, errn, "%s.full: must be at least floor (%lld)", path,
                               (long long)c->floor);
        if (c->pass_mark < c->floor || c->pass_mark > c->full)
            return kf__jr_fail(err, errn,
                               "%s.pass_mark: must lie between floor (%lld) and full (%lld)", path,
                               (long long)c->floor, (long long)c->full);
    }
    return 0;
}

static int criterion_cmp(const void *a, const void *b)
{
    return ((const struct kf_rubric_criterion *)a)->measure -
           ((const struct kf_rubric_criterion *)b)->measure;
}

static int parse_criteria(const json_t *root, struct kf_rubric *r, char *err, size_t errn)
{
    size_t seen[KF_MEASURE_COUNT_ + 1];
    int64_t sum = 0;
    json_t *arr;
    int rc;

    if ((rc = kf__jr_get(root, "", "criteria", JSON_ARRAY, 0, &arr, err, errn)) < 0)
        return rc;
    if (json_array_size(arr) == 0)
        return kf__jr_fail(err, errn, "criteria: at least one criterion");
    if (json_array_size(arr) > KF_MEASURE_COUNT_)
        return kf__jr_fail(err, errn, "criteria: at most %d (one per measure)", KF_MEASURE_COUNT_);
    memset(seen, 0, sizeof(seen));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct kf_rubric_criterion *c = &r->criteria[i];

        memset(c, 0, sizeof(*c));
        if ((rc = parse_criterion(json_array_get(arr, i), i, r->total, c, err, errn)) < 0)
            return rc;
        if (seen[c->measure])
            return kf__jr_fail(err, errn, "criteria[%zu].measure: %s is already criteria[%zu]", i,
                               kf_rubric_measure_name(c->measure), seen[c->measure] - 1);
        seen[c->measure] = i + 1;
        sum += c->weight;
    }
    r->n_criteria = json_array_size(arr);
    if (sum != r->total)
        return kf__jr_fail(err, errn, "criteria: the weights sum to %lld, total is %d",
                           (long long)sum, (int)r->total);
    qsort(r->criteria, r->n_criteria, sizeof(r->criteria[0]), criterion_cmp);
    return 0;
}

static int parse_root(const json_t *root, struct kf_rubric *r, char *err, size_t errn)
{
    static const char *const keys[] = {
        "doc",  "id",    "version",    "effective_from",   "effective_to", "title",
        "note", "total", "pass_score", "min_service_days", "criteria",     NULL};
    json_t *v;
    int rc;

    if (!json_is_object(root))
        return kf__jr_fail(err, errn, "a rubric is a JSON object");
    if ((rc = kf__jr_only_keys(root, "", keys, err, errn)) < 0 ||
        (rc = kf__jr_get(root, "", "doc", JSON_STRING, 0, &v, err, errn)) < 0)
        return rc;
    if (strcmp(json_string_value(v), DOC) != 0)
        return kf__jr_fail(err, errn, "doc: must be \"" DOC "\"");
    if ((rc = kf__jr_get_str(root, "", "id", KF_RUBRIC_ID_MAX, 0, r->id, NULL, err, errn)) < 0 ||
        (rc = kf__jr_get_i32(root, "", "version", 1, INT32_MAX, &r->version, err, errn)) < 0 ||
        (rc = get_day(root, "effective_from", 0, &r->effective_from, err, errn)) < 0 ||
        (rc = get_day(root, "effective_to", 1, &r->effective_to, err, errn)) < 0)
        return rc;
    if (r->effective_to <= r->effective_from)
        return kf__jr_fail(err, errn, "effective_to: must be after effective_from");
    if ((rc = kf__jr_get_str(root, "", "title", KF_RUBRIC_TEXT_MAX, 1, r->title, &r->has_title, err,
                             errn)) < 0 ||
        (rc = kf__jr_get_str(root, "", "note", KF_RUBRIC_TEXT_MAX, 1, r->note, &r->has_note, err,
                             errn)) < 0 ||
        (rc = kf__jr_get_i32(root, "", "total", 1, KF_RUBRIC_TOTAL_MAX, &r->total, err, errn)) <
            0 ||
        (rc = kf__jr_get_i32(root, "", "pass_score", 0, r->total, &r->pass_score, err, errn)) < 0 ||
        (rc = kf__jr_get_i32(root, "", "min_service_days", 1, KF_RUBRIC_MIN_DAYS_MAX,
                             &r->min_service_days, err, errn)) < 0)
        return rc;
    return parse_criteria(root, r, err, errn);
}

int kf_rubric_parse(const char *text, size_t len, struct kf_rubric *ret, char *err, size_t errn)
{
    json_t *root = kf__jr_load(text, len, KF_RUBRIC_JSON_MAX, "rubric", err, errn);
    struct kf_rubric *r;
    int rc;

    if (!root)
        return -EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r) {
        json_decref(root);
        return -ENOMEM;
    }
    rc = parse_root(root, r, err, errn);
    json_decref(root);
    if (rc == 0)
        *ret = *r;
    free(r);
    return rc;
}

int kf_rubric_set_check(const struct kf_rubric *v, size_t n, char *err, size_t errn)
{
    char a[16];

    if (err && errn > 0)
        err[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            const struct kf_rubric *x = &v[i], *y = &v[j];

            if (strcmp(x->id, y->id) == 0 && x->version == y->version)
                return kf__jr_fail(err, errn, "%s version %d: duplicated", x->id, (int)x->version);
            if (x->effective_from < y->effective_to && y->effective_from < x->effective_to) {
                kf_day_format(x->effective_from > y->effective_from ? x->effective_from
                                                                    : y->effective_from,
                              a, sizeof(a));
                return kf__jr_fail(err, errn,
                                   "%s version %d and %s version %d overlap (both in force on %s)",
                                   x->id, (int)x->version, y->id, (int)y->version, a);
            }
        }
    }
    return 0;
}

const struct kf_rubric *kf_rubric_for(const struct kf_rubric *set, size_t n, int32_t day)
{
    for (size_t i = 0; i < n; i++) {
        if (set[i].effective_from <= day && day < set[i].effective_to)
            return &set[i];
    }
    return NULL;
}

int kf_rubric_canonical(const struct kf_rubric *r, char **ret)
{
    struct kf__jw w;

    kf__jw_init(&w);
    kf__jw_obj(&w);
    kf__jw_key(&w, "doc");
    kf__jw_str(&w, DOC);
    kf__jw_key(&w, "id");
    kf__jw_str(&w, r->id);
    kf__jw_key(&w, "version");
    kf__jw_int(&w, r->version);
    kf__jw_day(&w, "effective_from", r->effective_from);
    kf__jw_day(&w, "effective_to", r->effective_to);
    if (r->has_title) {
        kf__jw_key(&w, "title");
        kf__jw_str(&w, r->title);
    }
    if (r->has_note) {
        kf__jw_key(&w, "note");
        kf__jw_str(&w, r->note);
    }
    kf__jw_key(&w, "total");
    kf__jw_int(&w, r->total);
    kf__jw_key(&w, "pass_score");
    kf__jw_int(&w, r->pass_score);
    kf__jw_key(&w, "min_service_days");
    kf__jw_int(&w, r->min_service_days);
    kf__jw_key(&w, "criteria");
    kf__jw_arr(&w);
    for (size_t i = 0; i < r->n_criteria; i++) {
        const struct kf_rubric_criterion *c = &r->criteria[i];

        kf__jw_obj(&w);
        kf__jw_key(&w, "measure");
        kf__jw_str(&w, kf_rubric_measure_name(c->measure));
        if (c->has_label) {
            kf__jw_key(&w, "label");
            kf__jw_str(&w, c->label);
        }
        kf__jw_key(&w, "weight");
        kf__jw_int(&w, c->weight);
        kf__jw_key(&w, "floor");
        kf__jw_int(&w, c->floor);
        kf__jw_key(&w, "full");
        kf__jw_int(&w, c->full);
        kf__jw_key(&w, "pass_mark");
        kf__jw_int(&w, c->pass_mark);
        kf__jw_key(&w, "must_pass");
        kf__jw_bool(&w, c->must_pass);
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    kf__jw_end(&w, '}');
    return kf__jw_finish(&w, ret);
}
