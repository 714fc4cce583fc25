/* rules/outage.c: mass outages grouped from offline incidents (outage.h). */
#include "rules/outage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cand {
    size_t ix; /* into the caller's incs */
    int64_t id, since;
    const char *zone, *unit;
    size_t g; /* its group, KF_OUTAGE_NONE while loose */
};

struct grp {
    uint8_t scope;
    const char *key, *unit;
    int64_t first, first_id; /* the earliest member's drop and id */
    size_t parent;           /* itself, or the unit group that took it */
};

struct tref {
    const char *terminal, *zone, *unit;
};

struct ctx {
    const struct kf_outage_config *cfg;
    struct cand *c;
    size_t n;
    struct grp *g;
    size_t n_g, cap_g;
};

void kf_outage_config_defaults(struct kf_outage_config *cfg)
{
    cfg->window_ms = KF_OUTAGE_WINDOW_MS;
    cfg->zone_min = KF_OUTAGE_ZONE_MIN;
    cfg->unit_zones = KF_OUTAGE_UNIT_ZONES;
    cfg->fleet_bp = KF_OUTAGE_FLEET_BP;
}

const char *kf_outage_scope_name(int scope)
{
    static const char *const names[] = {NULL, "zone", "unit", "fleet"};

    return scope >= KF_OUTAGE_ZONE && scope <= KF_OUTAGE_FLEET ? names[scope] : NULL;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int tref_cmp(const void *a, const void *b)
{
    return strcmp(nz(((const struct tref *)a)->terminal), nz(((const struct tref *)b)->terminal));
}

static int i64_cmp(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* Master order: by drop, then id. */
static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    int d = i64_cmp(x->since, y->since);

    return d ? d : i64_cmp(x->id, y->id);
}

/* Keys for the zone pass (by zone, then the master order) and the unit pass (by unit, first
 * drop, first id): sorted as values, so that no comparison needs a context. */
struct zkey {
    const char *zone;
    size_t i; /* into the master order */
};

static int zkey_cmp(const void *a, const void *b)
{
    const struct zkey *x = a, *y = b;
    int d = strcmp(x->zone, y->zone);

    return d ? d : (x->i > y->i) - (x->i < y->i);
}

struct ukey {
    const char *unit;
    int64_t first, first_id;
    size_t g;
};

static int ukey_cmp(const void *a, const void *b)
{
    const struct ukey *x = a, *y = b;
    int d = strcmp(x->unit, y->unit);

    if (d == 0)
        d = i64_cmp(x->first, y->first);
    return d ? d : i64_cmp(x->first_id, y->first_id);
}

static size_t grp_new(struct ctx *x, int scope, const char *key, const char *unit,
                      const struct cand *first)
{
    if (x->n_g == x->cap_g) {
        size_t cap = x->cap_g ? x->cap_g * 2 : 16;
        struct grp *g = realloc(x->g, cap * sizeof(*g));

        if (g == NULL)
            return KF_OUTAGE_NONE;
        x->g = g;
        x->cap_g = cap;
    }
    x->g[x->n_g] = (struct grp){(uint8_t)scope, key, unit, first->since, first->id, x->n_g};
    return x->n_g++;
}

/* The fleet pass over the master order (every candidate). */
static int pass_fleet(struct ctx *x, size_t n_terms)
{
    for (size_t i = 0; i < x->n;) {
        size_t j = i, zones = 1;

        while (j < x->n && x->c[j].since - x->c[i].since <= x->cfg->window_ms) {
            if (zones == 1 && strcmp(nz(x->c[j].zone), nz(x->c[i].zone)) != 0)
                zones = 2;
            j++;
        }
        if (j - i >= 2 && zones >= 2 &&
            (uint64_t)(j - i) * 10000 >= (uint64_t)x->cfg->fleet_bp * n_terms) {
            size_t g = grp_new(x, KF_OUTAGE_FLEET, NULL, NULL, &x->c[i]);

            if (g == KF_OUTAGE_NONE)
                return -ENOMEM;
            for (size_t k = i; k < j; k++)
                x->c[k].g = g;
            i = j;
        } else {
            i++;
        }
    }
    return 0;
}

static size_t count_terms(const struct tref *t, size_t n, int unit, const char *key)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += strcmp(nz(unit ? t[i].unit : t[i].zone), key) == 0;
    return k;
}

/* The zone pass over the candidates no fleet outage took. */
static int pass_zone(struct ctx *x, const struct tref *t, size_t n_terms)
{
    struct zkey *z = calloc(x->n + 1, sizeof(*z));
    size_t n = 0;

    if (z == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < x->n; i++)
        if (x->c[i].g == KF_OUTAGE_NONE)
            z[n++] = (struct zkey){nz(x->c[i].zone), i};
    qsort(z, n, sizeof(*z), zkey_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a, size, need;

        while (b < n && strcmp(z[b].zone, z[a].zone) == 0)
            b++;
        size = count_terms(t, n_terms, 0, z[a].zone);
        need = size < x->cfg->zone_min ? size : x->cfg->zone_min;
        need = need < 2 ? 2 : need;
        for (size_t i = a; i < b;) {
            size_t j = i;

            while (j < b && x->c[z[j].i].since - x->c[z[i].i].since <= x->cfg->window_ms)
                j++;
            if (j - i >= need) {
                const struct cand *f = &x->c[z[i].i];
                size_t g = grp_new(x, KF_OUTAGE_ZONE, f->zone, f->unit, f);

                if (g == KF_OUTAGE_NONE) {
                    free(z);
                    return -ENOMEM;
                }
                for (size_t k = i; k < j; k++)
                    x->c[z[k].i].g = g;
                i = j;
            } else {
                i++;
            }
        }
        a = b;
    }
    free(z);
    return 0;
}

/* The unit pass over the zone outages. */
static int pass_unit(struct ctx *x)
{
    struct ukey *u = calloc(x->n_g + 1, sizeof(*u));
    size_t n = 0;

    if (u == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < x->n_g; i++)
        if (x->g[i].scope == KF_OUTAGE_ZONE && nz(x->g[i].unit)[0] != '\0')
            u[n++] = (struct ukey){x->g[i].unit, x->g[i].first, x->g[i].first_id, i};
    qsort(u, n, sizeof(*u), ukey_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j < n && strcmp(u[j].unit, u[i].unit) == 0 &&
               u[j].first - u[i].first <= x->cfg->window_ms)
            j++;
        if (j - i >= x->cfg->unit_zones) {
            /* Sorted by first drop then id: the earliest member is the first's. */
            struct cand first = {.since = u[i].first, .id = u[i].first_id};
            size_t g = grp_new(x, KF_OUTAGE_UNIT, u[i].unit, u[i].unit, &first);

            if (g == KF_OUTAGE_NONE) {
                free(u);
                return -ENOMEM;
            }
            for (size_t k = i; k < j; k++)
                x->g[u[k].g].parent = g;
            i = j;
        } else {
            i++;
        }
    }
    free(u);
    return 0;
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* By first drop, then the earliest child's id (the number in the id), then scope. */
static int outage_cmp(const void *a, const void *b)
{
    const struct kf_outage *x = a, *y = b;
    int d = i64_cmp(x->first_ms, y->first_ms);

    if (d == 0)
        d = i64_cmp(strtoll(x->id + 1, NULL, 10), strtoll(y->id + 1, NULL, 10));
    return d ? d : x->scope - y->scope;
}

/* Fill the outages from the groups: children in the master order. */
static int build(struct ctx *x, const struct kf_outage_inc *incs, size_t n_incs,
                 const struct tref *t, size_t n_terms, struct kf_outages *o)
{
    const char **zbuf = calloc(x->n + 1, sizeof(*zbuf));
    size_t used = 0;

    o->v = calloc(x->n_g + 1, sizeof(*o->v));
    o->storage_ = calloc(x->n + 1, sizeof(*o->storage_));
    o->of = calloc(n_incs + 1, sizeof(*o->of));
    if (zbuf == NULL || o->v == NULL || o->storage_ == NULL || o->of == NULL) {
        free(zbuf);
        return -ENOMEM;
    }
    for (size_t gi = 0; gi < x->n_g; gi++) {
        const struct grp *g = &x->g[gi];
        struct kf_outage *out = &o->v[o->n];
        size_t *kids = o->storage_ + used;

        if (g->parent != gi)
            continue;
        memset(out, 0, sizeof(*out));
        out->scope = g->scope;
        out->key = g->key;
        for (size_t k = 0; k < x->n; k++) {
            const struct cand *c = &x->c[k];
            const struct kf_outage_inc *in = &incs[c->ix];

            if (c->g == KF_OUTAGE_NONE || x->g[c->g].parent != gi)
                continue;
            if (out->n_children == 0)
                out->first_ms = c->since;
            out->last_ms = c->since;
            zbuf[out->n_children] = nz(c->zone);
            kids[out->n_children++] = c->ix;
            out->n_down += in->down != 0;
            out->n_open += in->closed == 0;
        }
        if (out->n_children == 0 || out->n_open == 0)
            continue; /* over: every child closed */
        qsort(zbuf, out->n_children, sizeof(*zbuf), str_ptr_cmp);
        for (size_t m = 0; m < out->n_children; m++)
            out->n_zones += m == 0 || strcmp(zbuf[m], zbuf[m - 1]) != 0;
        out->n_terminals = g->scope == KF_OUTAGE_FLEET
                               ? n_terms
                               : count_terms(t, n_terms, g->scope == KF_OUTAGE_UNIT, nz(g->key));
        snprintf(out->id, sizeof(out->id), "%c%lld",
                 g->scope == KF_OUTAGE_ZONE   ? 'Z'
                 : g->scope == KF_OUTAGE_UNIT ? 'U'
                                              : 'F',
                 (long long)incs[kids[0]].id);
        out->children = kids;
        used += out->n_children;
        o->n++;
    }
    free(zbuf);
    if (o->n > 1)
        qsort(o->v, o->n, sizeof(*o->v), outage_cmp);
    for (size_t i = 0; i < n_incs; i++)
        o->of[i] = KF_OUTAGE_NONE;
    for (size_t i = 0; i < o->n; i++)
        for (size_t k = 0; k < o->v[i].n_children; k++)
            o->of[o->v[i].children[k]] = i;
    return 0;
}

void kf_outages_free(struct kf_outages *o)
{
    if (o == NULL)
        return;
    free(o->v);
    free(o->of);
    free(o->storage_);
    free(o);
}

const struct kf_outage *kf_outage_find(const struct kf_outages *o, const char *id)
{
    for (size_t i = 0; o != NULL && id != NULL && i < o->n; i++)
        if (strcasecmp(o->v[i].id, id) == 0)
            return &o->v[i];
    return NULL;
}

int kf_outage_group(const struct kf_outage_config *cfg, const struct kf_outage_term *terms,
                    size_t n_terms, const struct kf_outage_inc *incs, size_t n_incs,
                    struct kf_outages **ret)
{
    struct kf_outages *o = calloc(1, sizeof(*o));
    struct tref *t = calloc(n_terms + 1, sizeof(*t));
    struct ctx x = {.cfg = cfg};
    int64_t min_open = INT64_MAX;
    int r = 0;

    if (cfg->window_ms <= 0 || cfg->zone_min < 2 || cfg->unit_zones < 2 || cfg->fleet_bp < 1 ||
        cfg->fleet_bp > 10000) {
        r = -EINVAL;
        goto out;
    }
    x.c = calloc(n_incs + 1, sizeof(*x.c));
    if (o == NULL || t == NULL || x.c == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_terms; i++)
        t[i] = (struct tref){terms[i].terminal, terms[i].zone, terms[i].unit};
    if (n_terms > 1)
        qsort(t, n_terms, sizeof(*t), tref_cmp);
    for (size_t i = 0; i < n_incs; i++) {
        struct tref key = {incs[i].terminal, NULL, NULL};
        const struct tref *tr = n_terms ? bsearch(&key, t, n_terms, sizeof(*t), tref_cmp) : NULL;

        if (tr == NULL || incs[i].history)
            continue;
        x.c[x.n++] =
            (struct cand){i, incs[i].id, incs[i].since_ms, tr->zone, tr->unit, KF_OUTAGE_NONE};
        if (!incs[i].closed && incs[i].since_ms < min_open)
            min_open = incs[i].since_ms;
    }
    /* A closed incident stays a candidate only near the open ones (outage.h). */
    size_t kept = 0;
    for (size_t i = 0; i < x.n; i++)
        if (!incs[x.c[i].ix].closed ||
            (min_open != INT64_MAX && x.c[i].since >= min_open - cfg->window_ms))
            x.c[kept++] = x.c[i];
    x.n = kept;
    if (x.n > 1)
        qsort(x.c, x.n, sizeof(*x.c), cand_cmp);
    r = pass_fleet(&x, n_terms);
    if (r == 0)
        r = pass_zone(&x, t, n_terms);
    if (r == 0)
        r = pass_unit(&x);
    if (r == 0)
        r = build(&x, incs, n_incs, t, n_terms, o);
out:
    free(t);
    free(x.c);
    free(x.g);
    if (r < 0) {
        kf_outages_free(o);
        return r;
    }
    *ret = o;
    return 0;
}
