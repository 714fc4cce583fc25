/* rules/contract.c: parse, check and re-serialize contract versions (contract.h). */
#include "rules/contract.h"
#include "rules/jsonr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kf/time.h>

#include "rules/jsonw.h"
#include "rules/money.h"

#define PRICE_MAX (1000000000LL * 100) /* 10^9 yuan a month: beyond it a typo, not a price */
#define SECONDS_MAX (366LL * 86400)    /* an SLA clock of at most a year */

static int get_price(const json_t *o, const char *path, const char *key, int64_t *ret, char *err,
                     size_t errn)
{
    json_t *v;
    char f[96];
    int r = kf__jr_get(o, path, key, JSON_INTEGER, 0, &v, err, errn);

    if (r < 0)
        return r;
    if (json_integer_value(v) < 0)
        return kf__jr_fail(err, errn, "%s: must be >= 0", kf__jr_field(f, sizeof(f), path, key));
    if (json_integer_value(v) > PRICE_MAX)
        return kf__jr_fail(err, errn, "%s: must be <= %lld", kf__jr_field(f, sizeof(f), path, key),
                           (long long)PRICE_MAX);
    *ret = (int64_t)json_integer_value(v);
    return 0;
}

static int get_rate(const json_t *o, const char *path, const char *key, int32_t *ret, char *err,
                    size_t errn)
{
    return kf__jr_get_i32(o, path, key, 0, KF_MONEY_RATE_MAX, ret, err, errn);
}

static int parse_sla(const json_t *sla, const char *kind, struct kf_contract_sla *ret, char *err,
                     size_t errn)
{
    static const char *const keys[] = {"response_s", "restore_s", "target_bp", NULL};
    char path[32];
    json_t *o;
    int r;

    snprintf(path, sizeof(path), "sla.%s", kind);
    if ((r = kf__jr_get(sla, "sla", kind, JSON_OBJECT, 0, &o, err, errn)) < 0 ||
        (r = kf__jr_only_keys(o, path, keys, err, errn)) < 0 ||
        (r = kf__jr_get_int(o, path, "response_s", 1, SECONDS_MAX, &ret->response_s, err, errn)) <
            0 ||
        (r = kf__jr_get_int(o, path, "restore_s", 1, SECONDS_MAX, &ret->restore_s, err, errn)) <
            0 ||
        (r = get_rate(o, path, "target_bp", &ret->target_bp, err, errn)) < 0)
        return r;
    return 0;
}

static int model_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_contract_model_price *)a)->model,
                  ((const struct kf_contract_model_price *)b)->model);
}

static int parse_lease(const json_t *root, struct kf_contract *c, char *err, size_t errn)
{
    static const char *const keys[] = {"kiosk_fen", "itm_fen", "by_model", NULL};
    json_t *o, *bm, *v;
    const char *k;
    char f[96];
    int r;

    if ((r = kf__jr_get(root, "", "lease", JSON_OBJECT, 0, &o, err, errn)) < 0 ||
        (r = kf__jr_only_keys(o, "lease", keys, err, errn)) < 0 ||
        (r = get_price(o, "lease", "kiosk_fen", &c->lease_kiosk_fen, err, errn)) < 0 ||
        (r = get_price(o, "lease", "itm_fen", &c->lease_itm_fen, err, errn)) < 0 ||
        (r = kf__jr_get(o, "lease", "by_model", JSON_OBJECT, 1, &bm, err, errn)) < 0)
        return r;
    c->n_models = 0;
    if (!bm)
        return 0;
    if (json_object_size(bm) > KF_CONTRACT_MODELS_MAX)
        return kf__jr_fail(err, errn, "lease.by_model: at most %d models", KF_CONTRACT_MODELS_MAX);
    json_object_foreach(bm, k, v)
    {
        struct kf_contract_model_price *m = &c->by_model[c->n_models];

        kf__jr_field(f, sizeof(f), "lease.by_model", k);
        if (strlen(k) == 0 || strlen(k) > KF_CONTRACT_MODEL_MAX)
            return kf__jr_fail(err, errn, "%s: a model name is 1..%d bytes", f,
                               KF_CONTRACT_MODEL_MAX);
        if (!json_is_integer(v))
            return kf__jr_fail(err, errn, "%s: must be an integer", f);
        if (json_integer_value(v) < 0)
            return kf__jr_fail(err, errn, "%s: must be >= 0", f);
        if (json_integer_value(v) > PRICE_MAX)
            return kf__jr_fail(err, errn, "%s: must be <= %lld", f, (long long)PRICE_MAX);
        memcpy(m->model, k, strlen(k) + 1);
        m->fen = (int64_t)json_integer_value(v);
        c->n_models++;
    }
    qsort(c->by_model, c->n_models, sizeof(c->by_model[0]), model_cmp);
    return 0;
}

static int parse_credits(const json_t *root, struct kf_contract *c, char *err, size_t errn)
{
    static const char *const keys[] = {"tiers", "response_breach_fen", "restore_breach_fen",
                                       "cap_bp", NULL};
    static const char *const tkeys[] = {"below_bp", "share_bp", NULL};
    json_t *o, *tiers;
    int r;

    if ((r = kf__jr_get(root, "", "credits", JSON_OBJECT, 0, &o, err, errn)) < 0 ||
        (r = kf__jr_only_keys(o, "credits", keys, err, errn)) < 0 ||
        (r = kf__jr_get(o, "credits", "tiers", JSON_ARRAY, 0, &tiers, err, errn)) < 0 ||
        (r = get_price(o, "credits", "response_breach_fen", &c->response_breach_fen, err, errn)) <
            0 ||
        (r = get_price(o, "credits", "restore_breach_fen", &c->restore_breach_fen, err, errn)) <
            0 ||
        (r = get_rate(o, "credits", "cap_bp", &c->cap_bp, err, errn)) < 0)
        return r;
    if (json_array_size(tiers) > KF_CONTRACT_TIERS_MAX)
        return kf__jr_fail(err, errn, "credits.tiers: at most %d tiers", KF_CONTRACT_TIERS_MAX);
    c->n_tiers = json_array_size(tiers);
    for (size_t i = 0; i < c->n_tiers; i++) {
        json_t *t = json_array_get(tiers, i);
        char path[48];

        snprintf(path, sizeof(path), "credits.tiers[%zu]", i);
        if (!json_is_object(t))
            return kf__jr_fail(err, errn, "%s: must be an object", path);
        if ((r = kf__jr_only_keys(t, path, tkeys, err, errn)) < 0 ||
            (r = get_rate(t, path, "below_bp", &c->tiers[i].below_bp, err, errn)) < 0 ||
            (r = get_rate(t, path, "share_bp", &c->tiers[i].share_bp, err, errn)) < 0)
            return r;
        /* Deeper tiers further down the list: the bill picks the last one that applies. */
        if (i > 0 && c->tiers[i].below_bp >= c->tiers[i - 1].below_bp)
            return kf__jr_fail(err, errn, "%s.below_bp: must be below the tier before it (%d)",
                               path, (int)c->tiers[i - 1].below_bp);
    }
    return 0;
}

static int parse_root(const json_t *root, const char *const *banks, size_t n_banks,
                      struct kf_contract *c, char *err, size_t errn)
{
    static const char *const keys[] = {"doc",
                                       "bank",
                                       "id",
                                       "version",
                                       "effective_from",
                                       "effective_to",
                                       "signed_by",
                                       "note",
                                       "prices_include_tax",
                                       "rounding",
                                       "tax_bp",
                                       "lease",
                                       "maintenance",
                                       "sla",
                                       "availability",
                                       "credits",
                                       NULL};
    static const char *const tax_keys[] = {"lease", "maintenance", NULL};
    static const char *const maint_keys[] = {"kiosk_fen", "itm_fen", NULL};
    static const char *const sla_keys[] = {"kiosk", "itm", NULL};
    json_t *v, *o;
    char s[32];
    size_t i;
    int r;

    if (!json_is_object(root))
        return kf__jr_fail(err, errn, "a contract is a JSON object");
    if ((r = kf__jr_only_keys(root, "", keys, err, errn)) < 0 ||
        (r = kf__jr_get(root, "", "doc", JSON_STRING, 0, &v, err, errn)) < 0)
        return r;
    if (strcmp(json_string_value(v), "kioskfleet.contract/1") != 0)
        return kf__jr_fail(err, errn, "doc: must be \"kioskfleet.contract/1\"");
    if ((r = kf__jr_get_str(root, "", "bank", KF_CONTRACT_BANK_MAX, 0, c->bank, NULL, err, errn)) <
        0)
        return r;
    for (i = 0; i < n_banks; i++) {
        if (banks[i] && strcmp(banks[i], c->bank) == 0)
            break;
    }
    if (i == n_banks)
        return kf__jr_fail(err, errn, "bank: unknown bank \"%s\"", c->bank);
    if ((r = kf__jr_get_str(root, "", "id", KF_CONTRACT_ID_MAX, 0, c->id, NULL, err, errn)) < 0 ||
        (r = kf__jr_get_i32(root, "", "version", 1, INT32_MAX, &c->version, err, errn)) < 0 ||
        (r = kf__jr_get_day(root, "effective_from", 0, &c->effective_from, err, errn)) < 0 ||
        (r = kf__jr_get_day(root, "effective_to", 1, &c->effective_to, err, errn)) < 0)
        return r;
    if (c->effective_to <= c->effective_from)
        return kf__jr_fail(err, errn, "effective_to: must be after effective_from");
    if ((r = kf__jr_get_str(root, "", "signed_by", KF_CONTRACT_TEXT_MAX, 1, c->signed_by,
                            &c->has_signed_by, err, errn)) < 0 ||
        (r = kf__jr_get_str(root, "", "note", KF_CONTRACT_TEXT_MAX, 1, c->note, &c->has_note, err,
                            errn)) < 0 ||
        (r = kf__jr_get(root, "", "prices_include_tax", JSON_TRUE, 0, &v, err, errn)) < 0)
        return r;
    c->prices_include_tax = json_is_true(v);
    if ((r = kf__jr_get(root, "", "rounding", JSON_STRING, 0, &v, err, errn)) < 0)
        return r;
    if (kf_money_round_parse(json_string_value(v), &c->rounding) < 0)
        return kf__jr_fail(err, errn, "rounding: must be half_up, half_even or down");
    if ((r = kf__jr_get(root, "", "tax_bp", JSON_OBJECT, 0, &o, err, errn)) < 0 ||
        (r = kf__jr_only_keys(o, "tax_bp", tax_keys, err, errn)) < 0 ||
        (r = get_rate(o, "tax_bp", "lease", &c->tax_lease_bp, err, errn)) < 0 ||
        (r = get_rate(o, "tax_bp", "maintenance", &c->tax_maintenance_bp, err, errn)) < 0 ||
        (r = parse_lease(root, c, err, errn)) < 0 ||
        (r = kf__jr_get(root, "", "maintenance", JSON_OBJECT, 0, &o, err, errn)) < 0 ||
        (r = kf__jr_only_keys(o, "maintenance", maint_keys, err, errn)) < 0 ||
        (r = get_price(o, "maintenance", "kiosk_fen", &c->maint_kiosk_fen, err, errn)) < 0 ||
        (r = get_price(o, "maintenance", "itm_fen", &c->maint_itm_fen, err, errn)) < 0 ||
        (r = kf__jr_get(root, "", "sla", JSON_OBJECT, 0, &o, err, errn)) < 0 ||
        (r = kf__jr_only_keys(o, "sla", sla_keys, err, errn)) < 0 ||
        (r = parse_sla(o, "kiosk", &c->sla_kiosk, err, errn)) < 0 ||
        (r = parse_sla(o, "itm", &c->sla_itm, err, errn)) < 0 ||
        (r = kf__jr_get_str(root, "", "availability", sizeof(s) - 1, 0, s, NULL, err, errn)) < 0)
        return r;
    if (strcmp(s, "terminal") == 0)
        c->availability = KF_AVAIL_TERMINAL;
    else if (strcmp(s, "items") == 0)
        c->availability = KF_AVAIL_ITEMS;
    else
        return kf__jr_fail(err, errn, "availability: must be terminal or items");
    return parse_credits(root, c, err, errn);
}

int kf_contract_parse(const char *text, size_t len, const char *const *banks, size_t n_banks,
                      struct kf_contract *ret, char *err, size_t errn)
{
    json_t *root = kf__jr_load(text, len, KF_CONTRACT_JSON_MAX, "contract", err, errn);
    struct kf_contract *c;
    int r;

    if (!root)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c) {
        json_decref(root);
        return -ENOMEM;
    }
    r = parse_root(root, banks, n_banks, c, err, errn);
    json_decref(root);
    if (r == 0)
        *ret = *c;
    free(c);
    return r;
}

int kf_contract_set_check(const struct kf_contract *v, size_t n, char *err, size_t errn)
{
    char a[16];

    if (err && errn > 0)
        err[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            const struct kf_contract *x = &v[i], *y = &v[j];

            if (strcmp(x->bank, y->bank) != 0)
                continue;
            if (strcmp(x->id, y->id) == 0 && x->version == y->version)
                return kf__jr_fail(err, errn, "%s %s version %d: duplicated", x->bank, x->id,
                                   (int)x->version);
            if (x->effective_from < y->effective_to && y->effective_from < x->effective_to) {
                kf_day_format(x->effective_from > y->effective_from ? x->effective_from
                                                                    : y->effective_from,
                              a, sizeof(a));
                return kf__jr_fail(
                    err, errn, "%s: %s version %d and %s version %d overlap (both in force on %s)",
                    x->bank, x->id, (int)x->version, y->id, (int)y->version, a);
            }
        }
    }
    return 0;
}

const struct kf_contract *kf_contract_for(const struct kf_contract *set, size_t n, const char *bank,
                                          int32_t day)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(set[i].bank, bank) == 0 && set[i].effective_from <= day &&
            day < set[i].effective_to)
            return &set[i];
    }
    return NULL;
}

int64_t kf_contract_lease_fen(const struct kf_contract *c, int kind, const char *model)
{
    for (size_t i = 0; model && i < c->n_models; i++) {
        if (strcmp(c->by_model[i].model, model) == 0)
            return c->by_model[i].fen;
    }
    return kind == KF_TERMINAL_ITM ? c->lease_itm_fen : c->lease_kiosk_fen;
}

int64_t kf_contract_maintenance_fen(const struct kf_contract *c, int kind)
{
    return kind == KF_TERMINAL_ITM ? c->maint_itm_fen : c->maint_kiosk_fen;
}

static void put_sla(struct kf__jw *w, const char *kind, const struct kf_contract_sla *s)
{
    kf__jw_key(w, kind);
    kf__jw_obj(w);
    kf__jw_key(w, "response_s");
    kf__jw_int(w, s->response_s);
    kf__jw_key(w, "restore_s");
    kf__jw_int(w, s->restore_s);
    kf__jw_key(w, "target_bp");
    kf__jw_int(w, s->target_bp);
    kf__jw_end(w, '}');
}

int kf_contract_canonical(const struct kf_contract *c, char **ret)
{
    struct kf__jw w;

    kf__jw_init(&w);
    kf__jw_obj(&w);
    kf__jw_key(&w, "doc");
    kf__jw_str(&w, "kioskfleet.contract/1");
    kf__jw_key(&w, "bank");
    kf__jw_str(&w, c->bank);
    kf__jw_key(&w, "id");
    kf__jw_str(&w, c->id);
    kf__jw_key(&w, "version");
    kf__jw_int(&w, c->version);
    kf__jw_day(&w, "effective_from", c->effective_from);
    kf__jw_day(&w, "effective_to", c->effective_to);
    if (c->has_signed_by) {
        kf__jw_key(&w, "signed_by");
        kf__jw_str(&w, c->signed_by);
    }
    if (c->has_note) {
        kf__jw_key(&w, "note");
        kf__jw_str(&w, c->note);
    }
    kf__jw_key(&w, "prices_include_tax");
    kf__jw_bool(&w, c->prices_include_tax);
    kf__jw_key(&w, "rounding");
    kf__jw_str(&w, kf_money_round_name(c->rounding));
    kf__jw_key(&w, "tax_bp");
    kf__jw_obj(&w);
    kf__jw_key(&w, "lease");
    kf__jw_int(&w, c->tax_lease_bp);
    kf__jw_key(&w, "maintenance");
    kf__jw_int(&w, c->tax_maintenance_bp);
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "lease");
    kf__jw_obj(&w);
    kf__jw_key(&w, "kiosk_fen");
    kf__jw_int(&w, c->lease_kiosk_fen);
    kf__jw_key(&w, "itm_fen");
    kf__jw_int(&w, c->lease_itm_fen);
    kf__jw_key(&w, "by_model");
    kf__jw_obj(&w);
    for (size_t i = 0; i < c->n_models; i++) {
        kf__jw_key(&w, c->by_model[i].model);
        kf__jw_int(&w, c->by_model[i].fen);
    }
    kf__jw_end(&w, '}');
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "maintenance");
    kf__jw_obj(&w);
    kf__jw_key(&w, "kiosk_fen");
    kf__jw_int(&w, c->maint_kiosk_fen);
    kf__jw_key(&w, "itm_fen");
    kf__jw_int(&w, c->maint_itm_fen);
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "sla");
    kf__jw_obj(&w);
    put_sla(&w, "kiosk", &c->sla_kiosk);
    put_sla(&w, "itm", &c->sla_itm);
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "availability");
    kf__jw_str(&w, c->availability == KF_AVAIL_ITEMS ? "items" : "terminal");
    kf__jw_key(&w, "credits");
    kf__jw_obj(&w);
    kf__jw_key(&w, "tiers");
    kf__jw_arr(&w);
    for (size_t i = 0; i < c->n_tiers; i++) {
        kf__jw_obj(&w);
        kf__jw_key(&w, "below_bp");
        kf__jw_int(&w, c->tiers[i].below_bp);
        kf__jw_key(&w, "share_bp");
        kf__jw_int(&w, c->tiers[i].share_bp);
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "response_breach_fen");
    kf__jw_int(&w, c->response_breach_fen);
    kf__jw_key(&w, "restore_breach_fen");
    kf__jw_int(&w, c->restore_breach_fen);
    kf__jw_key(&w, "cap_bp");
    kf__jw_int(&w, c->cap_bp);
    kf__jw_end(&w, '}');
    kf__jw_end(&w, '}');
    return kf__jw_finish(&w, ret);
}
