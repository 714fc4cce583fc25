/* rules/assess_json.c: the canonical JSON of an assessment, "kioskfleet.assessment/1"
 * (assess.h; docs/REPORTS.md "The assessment document"). */
#include <stdint.h>

#include <kf/time.h>

#include "rules/assess.h"
#include "rules/jsonw.h"

static void put_int(struct kf__jw *w, const char *key, int64_t v)
{
    kf__jw_key(w, key);
    kf__jw_int(w, v);
}

/* A figure that may be n/a: null then. */
static void put_na(struct kf__jw *w, const char *key, int64_t v)
{
    kf__jw_key(w, key);
    if (v == KF_ASSESS_NA)
        kf__jw_null(w);
    else
        kf__jw_int(w, v);
}

static void put_str(struct kf__jw *w, const char *key, const char *s)
{
    kf__jw_key(w, key);
    kf__jw_str(w, s);
}

static void put_day(struct kf__jw *w, const char *key, int32_t day)
{
    char d[16];

    kf_day_format(day, d, sizeof(d));
    put_str(w, key, d);
}

static void put_rubric(struct kf__jw *w, const struct kf_rubric *r)
{
    kf__jw_key(w, "rubric");
    kf__jw_obj(w);
    put_str(w, "id", r->id);
    put_int(w, "version", r->version);
    put_int(w, "total", r->total);
    put_int(w, "pass_score", r->pass_score);
    put_int(w, "min_service_days", r->min_service_days);
    kf__jw_key(w, "criteria");
    kf__jw_arr(w);
    for (size_t i = 0; i < r->n_criteria; i++) {
        const struct kf_rubric_criterion *c = &r->criteria[i];

        kf__jw_obj(w);
        put_str(w, "measure", kf_rubric_measure_name(c->measure));
        put_int(w, "weight", c->weight);
        put_int(w, "floor", c->floor);
        put_int(w, "full", c->full);
        put_int(w, "pass_mark", c->pass_mark);
        kf__jw_key(w, "must_pass");
        kf__jw_bool(w, c->must_pass);
        kf__jw_end(w, '}');
    }
    kf__jw_end(w, ']');
    kf__jw_end(w, '}');
}

static void put_zone(struct kf__jw *w, const struct kf_assess_zone *z)
{
    kf__jw_obj(w);
    put_str(w, "zone", z->zone);
    put_str(w, "unit", z->unit);
    put_str(w, "bank", z->bank);
    put_int(w, "planned", z->planned);
    put_day(w, "from", z->from_day);
    put_day(w, "to", z->to_day);
    put_int(w, "service_days", z->service_days);
    put_int(w, "terminals", z->terminals);
    put_int(w, "terminal_days", z->terminal_days);
    put_int(w, "txns_ok", z->txns_ok);
    put_int(w, "owed_s", z->owed_s);
    put_int(w, "uptime_s", z->uptime_s);
    put_str(w, "result", kf_assess_result_name(z->result));
    put_str(w, "reason", kf_assess_reason_name(z->reason));
    put_na(w, "total_cp", z->total_cp);
    kf__jw_key(w, "criteria");
    kf__jw_arr(w);
    for (size_t i = 0; i < z->n_crit; i++) {
        const struct kf_assess_crit *c = &z->crit[i];

        kf__jw_obj(w);
        put_str(w, "measure", kf_rubric_measure_name(c->measure));
        put_int(w, "num", c->num);
        put_int(w, "den", c->den);
        put_na(w, "value", c->value);
        put_int(w, "score_cp", c->score_cp);
        kf__jw_key(w, "pass");
        kf__jw_bool(w, c->pass);
        kf__jw_end(w, '}');
    }
    kf__jw_end(w, ']');
    kf__jw_end(w, '}');
}

static void put_rollup(struct kf__jw *w, const char *key_name, const struct kf_assess_rollup *r,
                       int ranked)
{
    kf__jw_obj(w);
    if (ranked)
        put_int(w, "rank", r->rank);
    put_str(w, key_name, r->key);
    put_int(w, "zones", r->zones);
    put_int(w, "assessed", r->assessed);
    put_int(w, "passed", r->passed);
    put_int(w, "failed", r->failed);
    put_int(w, "not_assessed", r->not_assessed);
    put_na(w, "pass_rate_bp", r->pass_rate_bp);
    put_na(w, "mean_score_cp", r->mean_score_cp);
    put_int(w, "txns_ok", r->txns_ok);
    put_int(w, "terminal_days", r->terminal_days);
    put_na(w, "activity", r->activity);
    put_int(w, "owed_s", r->owed_s);
    put_int(w, "uptime_s", r->uptime_s);
    put_na(w, "availability_bp", r->availability_bp);
    kf__jw_end(w, '}');
}

int kf_assess_json(const struct kf_assessment *a, char **ret)
{
    struct kf__jw w;

    kf__jw_init(&w);
    kf__jw_obj(&w);
    put_str(&w, "doc", "kioskfleet.assessment/1");
    put_str(&w, "period", a->period.name);
    put_day(&w, "from", a->period.from_day);
    put_day(&w, "to", a->period.to_day);
    put_str(&w, "status", a->status == KF_ASSESS_ISSUED ? "issued" : "draft");
    put_na(&w, "issued_at_ms", a->status == KF_ASSESS_ISSUED ? a->issued_at_ms : KF_ASSESS_NA);
    put_int(&w, "version", a->version);
    put_str(&w, "supersedes", a->version > 1 ? a->supersedes : NULL);
    put_str(&w, "reason", a->version > 1 ? a->reason : NULL);
    put_rubric(&w, &a->rubric);
    kf__jw_key(&w, "inputs");
    kf__jw_obj(&w);
    for (size_t i = 0; i < a->n_inputs; i++)
        put_str(&w, a->inputs[i].name, a->inputs[i].hex);
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "zones");
    kf__jw_arr(&w);
    for (size_t i = 0; i < a->n_zones; i++)
        put_zone(&w, &a->zones[i]);
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "units");
    kf__jw_arr(&w);
    for (size_t i = 0; i < a->n_units; i++)
        put_rollup(&w, "unit", &a->units[i], 0);
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "banks");
    kf__jw_arr(&w);
    for (size_t i = 0; i < a->n_banks; i++)
        put_rollup(&w, "bank", &a->banks[i], 1);
    kf__jw_end(&w, ']');
    kf__jw_end(&w, '}');
    return kf__jw_finish(&w, ret);
}
