/* views/coverage.c: coverage against the plan from the store (views/coverage.h). */
#define _GNU_SOURCE
#include "views/coverage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/time.h>

#include "store/billing.h"
#include "store/reports_docs.h"
#include "views/week_int.h"

#define N_DIGESTS 4

struct kf__view_coverage_in {
    struct kf__view_registry reg;
    struct kf_zone_decision_row *dec;
    struct kf_coverage_delisted *del;
    size_t n_dec, n_del;
    char hex[N_DIGESTS][65];
    struct kf_week_digest dg[N_DIGESTS];
    struct kf_coverage_input in;
};

void kf_view_coverage_free(struct kf_view_coverage *v)
{
    if (v == NULL)
        return;
    kf_coverage_free(v->cov);
    free(v->json);
    if (v->in)
        kf__view_registry_close(&v->in->reg);
    if (v->in) {
        free(v->in->dec);
        free(v->in->del);
    }
    free(v->in);
    free(v);
}

/* The inputs' digests, by name: presence, registry, targets, usage. */
static int digests(struct kf__view_coverage_in *c, char *err, size_t cap)
{
    static const struct {
        const char *name;
        int text; /* 0: the targets' canonical text */
    } d[N_DIGESTS] = {
        {"presence", KF_WEEK_TEXT_PRESENCE},
        {"registry", KF_WEEK_TEXT_REGISTRY},
        {"targets", 0},
        {"usage", KF_WEEK_TEXT_USAGE},
    };
    int r = 0;

    for (int i = 0; i < N_DIGESTS && r == 0; i++) {
        char *text = NULL;
        size_t len = 0;

        r = d[i].text ? kf_coverage_text(&c->in, d[i].text, &text, &len)
                      : kf_coverage_targets_text(c->in.targets, &text, &len);
        r = kf__view_text_digest(r, text, len, c->hex[i]);
        if (r < 0)
            snprintf(err, cap, "%s: a text with a tab or a line break", d[i].name);
        c->dg[i] = (struct kf_week_digest){d[i].name, c->hex[i]};
    }
    c->in.inputs = c->dg;
    c->in.n_inputs = N_DIGESTS;
    return r;
}

int kf_view_coverage(struct kf_store *st, const struct kf_view_coverage_opts *o,
                     struct kf_view_coverage **ret, char *err, size_t cap)
{
    struct kf_view_coverage *v = calloc(1, sizeof(*v));
    int32_t first = o->at_day - (KF_COVERAGE_WINDOW_DAYS - 1);
    struct kf__view_coverage_in *c;
    int own = 0, r;

    err[0] = '\0';
    if (v == NULL || (v->in = calloc(1, sizeof(*v->in))) == NULL) {
        free(v);
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    if (o->targets == NULL) {
        kf_view_coverage_free(v);
        snprintf(err, cap, "no targets");
        return -EINVAL;
    }
    c = v->in;
    kf__view_snapshot(st, &own);
    r = kf__view_registry_load(st, &c->reg, err, cap);
    if (r == 0)
        r = kf__view_registry_online(st, &c->reg, kf_day_start_ms(first),
                                     kf_day_start_ms(o->at_day + 1), err, cap);
    if (r == 0)
        r = kf__view_registry_usage(st, &c->reg, first, o->at_day, err, cap);
    if (r == 0 && (r = kf_store_zone_decisions(st, NULL, &c->dec, &c->n_dec)) < 0)
        snprintf(err, cap, "zone decisions: %s", kf_store_errmsg(st));
    if (r == 0 && (c->del = calloc(c->n_dec + 1, sizeof(*c->del))) == NULL)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < c->n_dec; i++) {
        if (c->dec[i].decision == KF_ZONE_DELIST)
            c->del[c->n_del++] =
                (struct kf_coverage_delisted){c->dec[i].zone_id, c->dec[i].from_day};
    }
    if (own)
        kf_store_end(st, 0);
    c->in = (struct kf_coverage_input){
        .at_day = o->at_day,
        .targets = o->targets,
        .units = c->reg.wunits,
        .n_units = c->reg.n_units,
        .banks = c->reg.wbanks,
        .n_banks = c->reg.n_banks,
        .families = c->reg.wfamilies,
        .n_families = c->reg.n_families,
        .items = c->reg.witems,
        .n_items = c->reg.n_items,
        .zones = c->reg.wzones,
        .n_zones = c->reg.n_zones,
        .terminals = c->reg.wterms,
        .n_terminals = c->reg.n_wterms,
        .usage = c->reg.wusage,
        .n_usage = c->reg.n_usage,
        .delisted = c->del,
        .n_delisted = c->n_del,
    };
    if (r == 0)
        r = digests(c, err, cap);
    if (r == 0)
        r = kf_coverage_compute(&c->in, &v->cov, err, cap);
    if (r == 0 && (r = kf_coverage_json(v->cov, &v->json, &v->len)) < 0)
        snprintf(err, cap, "out of memory");
    if (r < 0) {
        if (err[0] == '\0')
            snprintf(err, cap, "%s", kf_strerror(r));
        kf_view_coverage_free(v);
        return r;
    }
    *ret = v;
    return 0;
}
