/* rules/coverage.c: coverage against the plan (coverage.h; docs/REPORTS.md "Coverage"). */
#include "rules/coverage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <kf/time.h>

#include "rules/jsonw.h"

/* ---- Targets ----------------------------------------------------------------------------------
 */

static const struct {
    const char *key;
    size_t off;
} target_keys[] = {
    {"zones_min", offsetof(struct kf_coverage_targets, zones_min)},
    {"banks_min", offsetof(struct kf_coverage_targets, banks_min)},
    {"units_min", offsetof(struct kf_coverage_targets, units_min)},
    {"zones_per_unit_min", offsetof(struct kf_coverage_targets, zones_per_unit_min)},
    {"itm_items_min", offsetof(struct kf_coverage_targets, itm_items_min)},
    {"families_min", offsetof(struct kf_coverage_targets, families_min)},
};
#define N_TARGETS (sizeof(target_keys) / sizeof(target_keys[0]))

struct tparse {
    struct kf_coverage_targets t;
    unsigned seen;
    char msg[160];
};

/* inih: a handler returning 0 makes ini_parse_string return that line's number. */
static int target_handler(void *user, const char *section, const char *name, const char *value)
{
    struct tparse *p = user;
    char *end = NULL;
    long long v;

    if (p->msg[0]) {
        return 1;
    }
    if (strcmp(section, "targets") != 0) {
        snprintf(p->msg, sizeof(p->msg), "unknown section [%.60s]", section);
        return 0;
    }
    for (size_t i = 0; i < N_TARGETS; i++) {
        if (strcmp(name, target_keys[i].key) != 0) {
            continue;
        }
        if (p->seen & (1u << i)) {
            snprintf(p->msg, sizeof(p->msg), "%s given twice", name);
            return 0;
        }
        v = strtoll(value, &end, 10);
        if (end == value || *end != '\0' || v < 0 || v > 1000000) {
            snprintf(p->msg, sizeof(p->msg), "%s: not an integer 0..1000000", name);
            return 0;
        }
        p->seen |= 1u << i;
        *(int64_t *)(void *)((char *)&p->t + target_keys[i].off) = v;
        return 1;
    }
    snprintf(p->msg, sizeof(p->msg), "unknown key \"%.60s\" in [targets]", name);
    return 0;
}

int kf_coverage_targets_parse(const char *text, const char *name, struct kf_coverage_targets *ret,
                              char *err, size_t cap)
{
    struct tparse p;
    int line;

    memset(&p, 0, sizeof(p));
    line = ini_parse_string(text ? text : "", target_handler, &p);
    if (line != 0 || p.msg[0]) {
        snprintf(err, cap, "%s:%d: %s", name, line, p.msg[0] ? p.msg : "not an INI line");
        return -EINVAL;
    }
    for (size_t i = 0; i < N_TARGETS; i++) {
        if (!(p.seen & (1u << i))) {
            snprintf(err, cap, "%s: [targets] %s missing", name, target_keys[i].key);
            return -EINVAL;
        }
    }
    *ret = p.t;
    return 0;
}

int kf_coverage_targets_text(const struct kf_coverage_targets *t, char **ret, size_t *ret_len)
{
    struct kf__week_sb sb = {0};

    kf__week_sb_printf(&sb, "kioskfleet/coverage-targets/v1\n");
    for (size_t i = 0; i < N_TARGETS; i++) {
        kf__week_sb_printf(
            &sb, "%s\t%lld\n", target_keys[i].key,
            (long long)*(const int64_t *)(const void *)((const char *)t + target_keys[i].off));
    }
    return kf__week_sb_finish(&sb, ret, ret_len);
}

/* ---- The figures ------------------------------------------------------------------------------
 */

static long find_code(const struct kf_week_name *v, size_t n, const char *code)
{
    for (size_t i = 0; code && i < n; i++) {
        if (strcmp(v[i].code, code) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_coverage_row *)a)->code,
                  ((const struct kf_coverage_row *)b)->code);
}

static int fam_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_coverage_family *)a)->code,
                  ((const struct kf_coverage_family *)b)->code);
}

static int del_cmp(const void *a, const void *b)
{
    const struct kf_coverage_delisted *x = *(const struct kf_coverage_delisted *const *)a;
    const struct kf_coverage_delisted *y = *(const struct kf_coverage_delisted *const *)b;

    return strcmp(x->zone, y->zone);
}

/* Rows for names, sorted by code; a code twice is -EINVAL. */
static int rows_of(const struct kf_week_name *v, size_t n, const char *what,
                   struct kf_coverage_row **ret, char *err, size_t cap)
{
    struct kf_coverage_row *rows = calloc(n + 1, sizeof(*rows));

    if (rows == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].code = v[i].code;
        rows[i].name = v[i].name ? v[i].name : "";
        if (rows[i].code == NULL) {
            free(rows);
            snprintf(err, cap, "%s %zu has no code", what, i);
            return -EINVAL;
        }
    }
    if (n > 1) {
        qsort(rows, n, sizeof(*rows), name_cmp);
    }
    for (size_t i = 1; i < n; i++) {
        if (strcmp(rows[i - 1].code, rows[i].code) == 0) {
            snprintf(err, cap, "%s %s given twice", what, rows[i].code);
            free(rows);
            return -EINVAL;
        }
    }
    *ret = rows;
    return 0;
}

static struct kf_coverage_row *row_of(struct kf_coverage_row *rows, size_t n, const char *code)
{
    struct kf_coverage_row key = {.code = code};

    return code && n ? bsearch(&key, rows, n, sizeof(*rows), name_cmp) : NULL;
}

/* What one zone adds, counted once into its unit, its bank and the city. */
struct zfig {
    int delisted;
    int64_t commissioned_kiosks, commissioned_itms, reporting;
};

static void add_zone(struct kf_coverage_row *acc, const struct kf_week_zone_in *z,
                     const struct zfig *f)
{
    if (f->delisted) {
        acc->zones_delisted++;
        return;
    }
    acc->zones_planned++;
    acc->planned_kiosks += z->kiosks;
    acc->planned_itms += z->itms;
    acc->planned += z->kiosks + z->itms;
    acc->commissioned_kiosks += f->commissioned_kiosks;
    acc->commissioned_itms += f->commissioned_itms;
    acc->commissioned += f->commissioned_kiosks + f->commissioned_itms;
    acc->reporting += f->reporting;
    acc->zones_commissioned += f->commissioned_kiosks + f->commissioned_itms > 0;
    acc->zones_reporting += f->reporting > 0;
}

static void row_met(struct kf_coverage_row *r, int64_t target)
{
    r->zones_target = target;
    r->met = target == KF_WEEK_NA ? KF_WEEK_NA : r->zones_commissioned >= target;
    r->plan_met = target == KF_WEEK_NA ? KF_WEEK_NA : r->zones_planned >= target;
}

static void check_set(struct kf_coverage_check *c, const char *name, int64_t required,
                      int64_t planned, int64_t commissioned, int64_t reporting)
{
    c->name = name;
    c->required = required;
    c->planned = planned;
    c->commissioned = commissioned;
    c->reporting = reporting;
    c->met = commissioned >= required;
    c->plan_met = planned >= required;
}

void kf_coverage_free(struct kf_coverage *c)
{
    if (c == NULL) {
        return;
    }
    free(c->units);
    free(c->banks);
    free(c->families);
    free(c->delisted);
    free(c);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct zkey {
    const char *id;
    size_t i;
};

static int zkey_cmp(const void *a, const void *b)
{
    return strcmp(((const struct zkey *)a)->id, ((const struct zkey *)b)->id);
}

/* The terminals of each zone: commissioned at the end of the day, and reporting. */
static int zone_figures(const struct kf_coverage_input *in, struct kf_coverage *c, struct zfig *zf)
{
    int64_t t = kf_day_start_ms(in->at_day + 1) - 1;
    const char **active = calloc(in->n_usage + 1, sizeof(*active));
    struct zkey *zk = calloc(in->n_zones + 1, sizeof(*zk));
    size_t na = 0;

    if (active == NULL || zk == NULL) {
        free(active);
        free(zk);
        return -ENOMEM;
    }
    /* The assets with a transaction in the reporting window, sorted for lookups. */
    for (size_t k = 0; k < in->n_usage; k++) {
        const struct kf_week_usage_in *u = &in->usage[k];
        if (u->asset && u->day >= c->window_first && u->day <= in->at_day &&
            u->ok + u->failed + u->abandoned > 0) {
            active[na++] = u->asset;
        }
    }
    if (na > 1) {
        qsort(active, na, sizeof(*active), str_cmp);
    }
    for (size_t k = 0; k < in->n_zones; k++) {
        zk[k] = (struct zkey){in->zones[k].id ? in->zones[k].id : "", k};
    }
    if (in->n_zones > 1) {
        qsort(zk, in->n_zones, sizeof(*zk), zkey_cmp);
    }
    for (size_t i = 0; i < in->n_terminals; i++) {
        const struct kf_week_terminal_in *tm = &in->terminals[i];
        struct zkey key = {tm->zone ? tm->zone : "", 0}, *z;
        int reported = tm->online != 0;

        z = in->n_zones ? bsearch(&key, zk, in->n_zones, sizeof(*zk), zkey_cmp) : NULL;
        if (z == NULL || tm->asset == NULL ||
            !kf__week_in_service(tm->service, tm->n_service, t, t + 1)) {
            continue;
        }
        if (!reported && na > 0) {
            reported = bsearch(&tm->asset, active, na, sizeof(*active), str_cmp) != NULL;
        }
        if (tm->kind == 2) {
            zf[z->i].commissioned_itms++;
        } else {
            zf[z->i].commissioned_kiosks++;
        }
        zf[z->i].reporting += reported;
        if (!zf[z->i].delisted) {
            c->itms_commissioned += tm->kind == 2;
            c->itms_reporting += tm->kind == 2 && reported;
        }
    }
    free(active);
    free(zk);
    return 0;
}

int kf_coverage_compute(const struct kf_coverage_input *in, struct kf_coverage **ret, char *err,
                        size_t cap)
{
    struct kf_coverage *c = calloc(1, sizeof(*c));
    struct zfig *zf = calloc(in->n_zones + 1, sizeof(*zf));
    const struct kf_coverage_targets *tg = in->targets;
    int64_t per_unit;
    int rc = 0;

    if (cap > 0) {
        err[0] = '\0';
    }
    if (c == NULL || zf == NULL) {
        rc = -ENOMEM;
        goto out_fail;
    }
    if (tg == NULL) {
        snprintf(err, cap, "no targets");
        rc = -EINVAL;
        goto out_fail;
    }
    per_unit = tg->zones_per_unit_min;
    c->at_day = in->at_day;
    c->window_first = in->at_day - (KF_COVERAGE_WINDOW_DAYS - 1);
    c->targets = *tg;
    c->inputs = in->inputs;
    c->n_inputs = in->n_inputs;
    if ((rc = rows_of(in->units, in->n_units, "unit", &c->units, err, cap)) < 0 ||
        (rc = rows_of(in->banks, in->n_banks, "bank", &c->banks, err, cap)) < 0) {
        goto out_fail;
    }
    c->n_units = in->n_units;
    c->n_banks = in->n_banks;
    c->families = calloc(in->n_families + 1, sizeof(*c->families));
    c->delisted = calloc(in->n_delisted + 1, sizeof(*c->delisted));
    if (c->families == NULL || c->delisted == NULL) {
        rc = -ENOMEM;
        goto out_fail;
    }
    for (size_t i = 0; i < in->n_families; i++) {
        c->families[i] = (struct kf_coverage_family){
            in->families[i].code, in->families[i].name ? in->families[i].name : "", 0};
    }
    c->n_families = in->n_families;
    if (c->n_families > 1) {
        qsort(c->families, c->n_families, sizeof(*c->families), fam_cmp);
    }
    for (size_t i = 0; i < in->n_items; i++) {
        long f = find_code(in->families, in->n_families, in->items[i].family);
        struct kf_coverage_family key = {.code = in->items[i].family}, *fam;

        if (f < 0) {
            snprintf(err, cap, "item %s: no family %s", in->items[i].code,
                     in->items[i].family ? in->items[i].family : "");
            rc = -EINVAL;
            goto out_fail;
        }
        fam = bsearch(&key, c->families, c->n_families, sizeof(*c->families), fam_cmp);
        fam->items++;
    }
    c->items = (int64_t)in->n_items;
    /* Delistings in effect at the date (the latest decision per zone is the caller's). */
    for (size_t i = 0; i < in->n_delisted; i++) {
        const struct kf_coverage_delisted *d = &in->delisted[i];
        long z = -1;

        for (size_t k = 0; k < in->n_zones; k++) {
            if (d->zone && strcmp(in->zones[k].id, d->zone) == 0) {
                z = (long)k;
                break;
            }
        }
        if (z < 0) {
            snprintf(err, cap, "delisted zone %s is not a zone", d->zone ? d->zone : "");
            rc = -EINVAL;
            goto out_fail;
        }
        if (d->from_day <= in->at_day && !zf[z].delisted) {
            zf[z].delisted = 1;
            c->delisted[c->n_delisted++] = d;
        }
    }
    if (c->n_delisted > 1) {
        qsort(c->delisted, c->n_delisted, sizeof(*c->delisted), del_cmp);
    }
    if ((rc = zone_figures(in, c, zf)) < 0) {
        goto out_fail;
    }
    c->fleet.code = "all";
    c->fleet.name = "";
    for (size_t k = 0; k < in->n_zones; k++) {
        const struct kf_week_zone_in *z = &in->zones[k];
        struct kf_coverage_row *u = row_of(c->units, c->n_units, z->unit);
        struct kf_coverage_row *b = row_of(c->banks, c->n_banks, z->bank);

        if (u == NULL || b == NULL) {
            snprintf(err, cap, "zone %s: no %s %s", z->id ? z->id : "", u ? "bank" : "unit",
                     u ? (z->bank ? z->bank : "") : (z->unit ? z->unit : ""));
            rc = -EINVAL;
            goto out_fail;
        }
        add_zone(u, z, &zf[k]);
        add_zone(b, z, &zf[k]);
        add_zone(&c->fleet, z, &zf[k]);
    }
    row_met(&c->fleet, tg->zones_min);
    {
        int64_t up = 0, uc = 0, ur = 0, bp = 0, bc = 0, br = 0, fam = 0;

        for (size_t i = 0; i < c->n_units; i++) {
            row_met(&c->units[i], per_unit);
            up += c->units[i].zones_planned >= per_unit;
            uc += c->units[i].zones_commissioned >= per_unit;
            ur += c->units[i].zones_reporting >= per_unit;
        }
        for (size_t i = 0; i < c->n_banks; i++) {
            row_met(&c->banks[i], KF_WEEK_NA);
            bp += c->banks[i].zones_planned > 0;
            bc += c->banks[i].zones_commissioned > 0;
            br += c->banks[i].zones_reporting > 0;
        }
        for (size_t i = 0; i < c->n_families; i++) {
            fam += c->families[i].items > 0;
        }
        check_set(&c->checks[KF_COVERAGE_ZONES], "zones", tg->zones_min, c->fleet.zones_planned,
                  c->fleet.zones_commissioned, c->fleet.zones_reporting);
        check_set(&c->checks[KF_COVERAGE_BANKS], "banks", tg->banks_min, bp, bc, br);
        check_set(&c->checks[KF_COVERAGE_UNITS], "units", tg->units_min, up, uc, ur);
        /* Every ITM offers the whole catalog: the items are on ITMs once one is in service. */
        check_set(&c->checks[KF_COVERAGE_ITM_ITEMS], "itm_items", tg->itm_items_min, c->items,
                  c->itms_commissioned > 0 ? c->items : 0, c->itms_reporting > 0 ? c->items : 0);
        check_set(&c->checks[KF_COVERAGE_FAMILIES], "families", tg->families_min, fam,
                  c->itms_commissioned > 0 ? fam : 0, c->itms_reporting > 0 ? fam : 0);
    }
    free(zf);
    *ret = c;
    return 0;
out_fail:
    if (rc == -ENOMEM && cap > 0 && err[0] == '\0') {
        snprintf(err, cap, "out of memory");
    }
    free(zf);
    kf_coverage_free(c);
    return rc;
}

int kf_coverage_text(const struct kf_coverage_input *in, int which, char **ret, size_t *ret_len)
{
    struct kf_week_input w = {
        .iso_year = 2026, /* any week: the registry and presence texts do not depend on it */
        .iso_week = 1,
        .units = in->units,
        .n_units = in->n_units,
        .banks = in->banks,
        .n_banks = in->n_banks,
        .families = in->families,
        .n_families = in->n_families,
        .items = in->items,
        .n_items = in->n_items,
        .zones = in->zones,
        .n_zones = in->n_zones,
        .terminals = in->terminals,
        .n_terminals = in->n_terminals,
    };
    struct kf__week_lines l = {0};
    int32_t first = in->at_day - (KF_COVERAGE_WINDOW_DAYS - 1);

    if (which == KF_WEEK_TEXT_REGISTRY || which == KF_WEEK_TEXT_PRESENCE) {
        return kf_week_text(&w, which, ret, ret_len);
    }
    if (which != KF_WEEK_TEXT_USAGE) {
        return -EINVAL;
    }
    for (size_t i = 0; i < in->n_usage; i++) {
        if (in->usage[i].day >= first && in->usage[i].day <= in->at_day) {
            kf__week_usage_line(&l, &in->usage[i]);
        }
    }
    return kf__week_lines_join(&l, "kioskfleet/coverage-usage/v1", ret, ret_len);
}

/* ---- The document ---------------------------------------------------------------------------- */

static void j_int(struct kf__jw *w, const char *k, int64_t v)
{
    kf__jw_key(w, k);
    if (v == KF_WEEK_NA) {
        kf__jw_null(w);
    } else {
        kf__jw_int(w, v);
    }
}

static void j_str(struct kf__jw *w, const char *k, const char *v)
{
    kf__jw_key(w, k);
    kf__jw_str(w, v ? v : "");
}

static void row_json(struct kf__jw *w, const struct kf_coverage_row *r, int named)
{
    kf__jw_obj(w);
    if (named) {
        j_str(w, "code", r->code);
        j_str(w, "name", r->name);
    }
    j_int(w, "zones_target", r->zones_target);
    j_int(w, "zones_planned", r->zones_planned);
    j_int(w, "zones_delisted", r->zones_delisted);
    j_int(w, "zones_commissioned", r->zones_commissioned);
    j_int(w, "zones_reporting", r->zones_reporting);
    j_int(w, "planned_kiosks", r->planned_kiosks);
    j_int(w, "planned_itms", r->planned_itms);
    j_int(w, "planned", r->planned);
    j_int(w, "commissioned_kiosks", r->commissioned_kiosks);
    j_int(w, "commissioned_itms", r->commissioned_itms);
    j_int(w, "commissioned", r->commissioned);
    j_int(w, "reporting", r->reporting);
    j_int(w, "met", r->met);
    j_int(w, "plan_met", r->plan_met);
    kf__jw_end(w, '}');
}

int kf_coverage_json(const struct kf_coverage *c, char **ret, size_t *ret_len)
{
    struct kf__jw w;
    char b[16];
    int rc;

    kf__jw_init(&w);
    kf__jw_obj(&w);
    j_str(&w, "doc", KF_COVERAGE_DOC);
    j_str(&w, "at", kf_day_format(c->at_day, b, sizeof(b)));
    j_str(&w, "reporting_from", kf_day_format(c->window_first, b, sizeof(b)));
    j_str(&w, "reporting_to", kf_day_format(c->at_day, b, sizeof(b)));
    kf__jw_key(&w, "targets");
    kf__jw_obj(&w);
    for (size_t i = 0; i < N_TARGETS; i++) {
        j_int(&w, target_keys[i].key,
              *(const int64_t *)(const void *)((const char *)&c->targets + target_keys[i].off));
    }
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "inputs");
    kf__jw_obj(&w);
    for (size_t i = 0; i < c->n_inputs; i++) {
        j_str(&w, c->inputs[i].name, c->inputs[i].hex);
    }
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "checks");
    kf__jw_arr(&w);
    for (int i = 0; i < KF_COVERAGE_CHECKS; i++) {
        const struct kf_coverage_check *k = &c->checks[i];

        kf__jw_obj(&w);
        j_str(&w, "target", k->name);
        j_int(&w, "required", k->required);
        j_int(&w, "planned", k->planned);
        j_int(&w, "commissioned", k->commissioned);
        j_int(&w, "reporting", k->reporting);
        kf__jw_key(&w, "met");
        kf__jw_bool(&w, k->met);
        kf__jw_key(&w, "plan_met");
        kf__jw_bool(&w, k->plan_met);
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "fleet");
    row_json(&w, &c->fleet, 0);
    j_int(&w, "items", c->items);
    j_int(&w, "itms_commissioned", c->itms_commissioned);
    j_int(&w, "itms_reporting", c->itms_reporting);
    kf__jw_key(&w, "units");
    kf__jw_arr(&w);
    for (size_t i = 0; i < c->n_units; i++) {
        row_json(&w, &c->units[i], 1);
    }
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "banks");
    kf__jw_arr(&w);
    for (size_t i = 0; i < c->n_banks; i++) {
        row_json(&w, &c->banks[i], 1);
    }
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "families");
    kf__jw_arr(&w);
    for (size_t i = 0; i < c->n_families; i++) {
        kf__jw_obj(&w);
        j_str(&w, "code", c->families[i].code);
        j_str(&w, "name", c->families[i].name);
        j_int(&w, "items", c->families[i].items);
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "delisted");
    kf__jw_arr(&w);
    for (size_t i = 0; i < c->n_delisted; i++) {
        kf__jw_obj(&w);
        j_str(&w, "zone", c->delisted[i]->zone);
        j_str(&w, "from", kf_day_format(c->delisted[i]->from_day, b, sizeof(b)));
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    kf__jw_end(&w, '}');
    rc = kf__jw_finish(&w, ret);
    if (rc == 0) {
        *ret_len = strlen(*ret);
    }
    return rc;
}
