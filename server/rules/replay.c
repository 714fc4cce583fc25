/* replay.c: the digest of a run's facts, and runs fed again to a fresh engine (replay.h). */
#include "rules/replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FACTS_CTX "kioskfleet/sla-facts/v1"

_Static_assert(sizeof(((struct kf_facts_digest *)0)->state) >= sizeof(crypto_generichash_state),
               "kf_facts_digest too small for libsodium's state");

static crypto_generichash_state *hstate(struct kf_facts_digest *d)
{
    return (crypto_generichash_state *)(void *)d->state;
}

static void put_i64(struct kf_facts_digest *d, int64_t v)
{
    uint8_t b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    crypto_generichash_update(hstate(d), b, 8);
}

static void put_str(struct kf_facts_digest *d, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    put_i64(d, (int64_t)n);
    if (n)
        crypto_generichash_update(hstate(d), (const uint8_t *)s, n);
}

void kf_facts_digest_init(struct kf_facts_digest *d)
{
    memset(d, 0, sizeof(*d));
    crypto_generichash_init(hstate(d), NULL, 0, 32);
    crypto_generichash_update(hstate(d), (const uint8_t *)FACTS_CTX, sizeof(FACTS_CTX) - 1);
}

void kf_facts_digest_add(struct kf_facts_digest *d, int64_t id, const char *terminal,
                         const char *device, int64_t recv_ms, const struct kf_fact *f)
{
    uint8_t small[5] = {f->kind, f->on, f->src, f->periph, f->sev};

    put_i64(d, id);
    put_str(d, terminal);
    put_str(d, device);
    put_i64(d, recv_ms);
    put_i64(d, f->at_ms);
    crypto_generichash_update(hstate(d), small, sizeof(small));
    put_str(d, f->code);
    put_str(d, f->who);
}

void kf_facts_digest_hex(struct kf_facts_digest *d, char out[65])
{
    uint8_t h[32];

    crypto_generichash_final(hstate(d), h, sizeof(h));
    sodium_bin2hex(out, 65, h, sizeof(h));
}

struct rt_slot {
    char terminal[KF_TERMINAL_ID_MAX + 1]; /* "" free */
    uint64_t n;
    struct kf_facts_digest dg;
};

struct kf_run_terms {
    struct rt_slot *slots;
    size_t cap, used; /* cap a power of two */
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    }
    return h;
}

int kf_run_terms_new(struct kf_run_terms **ret)
{
    struct kf_run_terms *rt = calloc(1, sizeof(*rt));

    if (rt == NULL) {
        return -ENOMEM;
    }
    *ret = rt;
    return 0;
}

void kf_run_terms_free(struct kf_run_terms *rt)
{
    if (rt != NULL) {
        free(rt->slots);
        free(rt);
    }
}

void kf_run_terms_reset(struct kf_run_terms *rt)
{
    for (size_t i = 0; i < rt->cap; i++) {
        rt->slots[i].terminal[0] = '\0';
    }
    rt->used = 0;
}

static struct rt_slot *rt_find(struct rt_slot *slots, size_t cap, const char *terminal)
{
    size_t i = (size_t)fnv(terminal) & (cap - 1);

    while (slots[i].terminal[0] != '\0' && strcmp(slots[i].terminal, terminal) != 0) {
        i = (i + 1) & (cap - 1);
    }
    return &slots[i];
}

/* The terminal's slot, created (with an initialized digest) when new. */
static struct rt_slot *rt_slot(struct kf_run_terms *rt, const char *terminal)
{
    struct rt_slot *sl;

    if (strlen(terminal) > KF_TERMINAL_ID_MAX) {
        return NULL;
    }
    if (2 * (rt->used + 1) > rt->cap) {
        size_t cap = rt->cap ? rt->cap * 2 : 64;
        struct rt_slot *n = calloc(cap, sizeof(*n));
        if (n == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < rt->cap; i++) {
            if (rt->slots[i].terminal[0] != '\0') {
                *rt_find(n, cap, rt->slots[i].terminal) = rt->slots[i];
            }
        }
        free(rt->slots);
        rt->slots = n;
        rt->cap = cap;
    }
    sl = rt_find(rt->slots, rt->cap, terminal);
    if (sl->terminal[0] == '\0') {
        snprintf(sl->terminal, sizeof(sl->terminal), "%s", terminal);
        sl->n = 0;
        kf_facts_digest_init(&sl->dg);
        rt->used++;
    }
    return sl;
}

int kf_run_terms_fact(struct kf_run_terms *rt, int64_t id, const char *terminal, const char *device,
                      int64_t recv_ms, const struct kf_fact *f)
{
    struct rt_slot *sl = rt_slot(rt, terminal);

    if (sl == NULL) {
        return strlen(terminal) > KF_TERMINAL_ID_MAX ? -EINVAL : -ENOMEM;
    }
    kf_facts_digest_add(&sl->dg, id, terminal, device, recv_ms, f);
    sl->n++;
    return 0;
}

int kf_run_terms_touch(struct kf_run_terms *rt, const char *terminal)
{
    if (rt_slot(rt, terminal) == NULL) {
        return strlen(terminal) > KF_TERMINAL_ID_MAX ? -EINVAL : -ENOMEM;
    }
    return 0;
}

uint64_t kf_run_terms_count(const struct kf_run_terms *rt, const char *terminal)
{
    const struct rt_slot *sl;

    if (rt->cap == 0) {
        return 0;
    }
    sl = rt_find(rt->slots, rt->cap, terminal);
    return sl->terminal[0] != '\0' ? sl->n : 0;
}

static int run_term_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_run_term *)a)->terminal,
                  ((const struct kf_run_term *)b)->terminal);
}

int kf_run_terms_take(struct kf_run_terms *rt, struct kf_run_term **ret, size_t *ret_n)
{
    struct kf_run_term *out = calloc(rt->used + 1, sizeof(*out));
    size_t n = 0;

    if (out == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < rt->cap; i++) {
        struct rt_slot *sl = &rt->slots[i];
        if (sl->terminal[0] == '\0') {
            continue;
        }
        memcpy(out[n].terminal, sl->terminal, sizeof(out[n].terminal));
        out[n].n = sl->n;
        kf_facts_digest_hex(&sl->dg, out[n].hex);
        n++;
    }
    qsort(out, n, sizeof(*out), run_term_cmp);
    kf_run_terms_reset(rt);
    *ret = out;
    *ret_n = n;
    return 0;
}

struct kf_replay {
    struct kf_sla_engine *e;
    struct kf_replay_incident *incs; /* sorted by id (ids are assigned increasing) */
    size_t n_incs, cap_incs;
    int broken; /* an allocation failed inside the callback */
};

static struct kf_replay_incident *find(struct kf_replay *r, int64_t id)
{
    size_t lo = 0, hi = r->n_incs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->incs[mid].inc.id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->n_incs && r->incs[lo].inc.id == id ? &r->incs[lo] : NULL;
}

/* Insert in id order: new incidents get the next id, so this is an append but for a
 * restored store whose ids do not start at 1. */
static struct kf_replay_incident *insert(struct kf_replay *r, int64_t id)
{
    size_t at = r->n_incs;

    if (r->n_incs == r->cap_incs) {
        size_t cap = r->cap_incs ? r->cap_incs * 2 : 256;
        void *p = realloc(r->incs, cap * sizeof(*r->incs));
        if (p == NULL)
            return NULL;
        r->incs = p;
        r->cap_incs = cap;
    }
    while (at > 0 && r->incs[at - 1].inc.id > id)
        at--;
    memmove(&r->incs[at + 1], &r->incs[at], (r->n_incs - at) * sizeof(*r->incs));
    memset(&r->incs[at], 0, sizeof(*r->incs));
    r->n_incs++;
    return &r->incs[at];
}

static void on_event(void *ud, const struct kf_inc_event *ev, const struct kf_incident *inc)
{
    struct kf_replay *r = ud;
    struct kf_replay_incident *ri = find(r, inc->id);
    struct kf_inc_event *evs;

    if (ri == NULL && (ri = insert(r, inc->id)) == NULL) {
        r->broken = 1;
        return;
    }
    evs = realloc(ri->evs, (ri->n_evs + 1) * sizeof(*evs));
    if (evs == NULL) {
        r->broken = 1;
        return;
    }
    ri->evs = evs;
    ri->evs[ri->n_evs++] = *ev;
    ri->inc = *inc;
}

int kf_replay_new(const struct kf_sla_config *cfg, const struct kf_holidays *hol,
                  struct kf_replay **ret)
{
    struct kf_replay *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL)
        return -ENOMEM;
    rc = kf_sla_new(cfg, hol, on_event, r, &r->e);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

void kf_replay_free(struct kf_replay *r)
{
    if (r == NULL)
        return;
    kf_sla_free(r->e);
    for (size_t i = 0; i < r->n_incs; i++)
        free(r->incs[i].evs);
    free(r->incs);
    free(r);
}

struct kf_sla_engine *kf_replay_engine(struct kf_replay *r)
{
    return r->e;
}

static void act(struct kf_replay *r, const struct kf_replay_action *a, size_t *mismatch)
{
    int rc = kf_sla_act(r->e, &a->ev);

    if ((rc == 0) != (a->refused == 0) && mismatch != NULL)
        (*mismatch)++;
}

int kf_replay_run(struct kf_replay *r, const struct kf_replay_run *run, size_t *ret_mismatch)
{
    size_t k = 0;

    for (size_t i = 0; i < run->n_facts; i++) {
        while (k < run->n_acts && run->acts[k].after <= i)
            act(r, &run->acts[k++], ret_mismatch);
        /* As live: a fact the engine refuses (unknown terminal, malformed) is skipped. */
        int rc = kf_sla_fact(r->e, run->facts[i].terminal, &run->facts[i].fact);
        if (rc == -ENOSPC)
            return rc;
    }
    while (k < run->n_acts)
        act(r, &run->acts[k++], ret_mismatch);
    if (kf_sla_tick(r->e, run->tick_ms) < 0)
        return -ENOSPC;
    return r->broken ? -ENOMEM : 0;
}

const struct kf_replay_incident *kf_replay_incidents(const struct kf_replay *r, size_t *ret_n)
{
    *ret_n = r->n_incs;
    return r->incs;
}

#define DIFF_I64(field)                                                                            \
    if (a->field != b->field) {                                                                    \
        snprintf(what, cap, #field ": stored %lld, evidence %lld", (long long)a->field,            \
                 (long long)b->field);                                                             \
        return 1;                                                                                  \
    }
#define DIFF_STR(field)                                                                            \
    if (strcmp(a->field, b->field) != 0) {                                                         \
        snprintf(what, cap, #field ": stored \"%s\", evidence \"%s\"", a->field, b->field);        \
        return 1;                                                                                  \
    }

int kf_replay_incident_diff(const struct kf_incident *a, const struct kf_incident *b, char *what,
                            size_t cap)
{
    if (a->attr != b->attr) {
        snprintf(what, cap, "attr: stored %s, evidence %s", kf_incident_attr_name(a->attr),
                 kf_incident_attr_name(b->attr));
        return 1;
    }
    if (a->state != b->state) {
        snprintf(what, cap, "state: stored %s, evidence %s", kf_incident_state_name(a->state),
                 kf_incident_state_name(b->state));
        return 1;
    }
    DIFF_STR(terminal)
    DIFF_STR(cause)
    DIFF_I64(periph)
    DIFF_I64(sev)
    DIFF_I64(breached)
    DIFF_I64(forced)
    DIFF_STR(detail)
    DIFF_I64(opened_at_ms)
    DIFF_I64(acked_at_ms)
    DIFF_STR(acked_by)
    DIFF_I64(on_site_at_ms)
    DIFF_STR(on_site_by)
    DIFF_I64(on_site_since_ms)
    DIFF_I64(on_site_ms)
    DIFF_I64(resolved_at_ms)
    DIFF_STR(resolved_by)
    DIFF_I64(closed_at_ms)
    DIFF_STR(closed_by)
    DIFF_STR(assignee)
    DIFF_I64(n_reopened)
    DIFF_I64(n_attr_changes)
    DIFF_I64(n_notes)
    DIFF_I64(n_spans)
    for (uint32_t i = 0; i < a->n_spans && i < KF_INC_SPANS_MAX; i++) {
        if (a->spans[i].start_ms != b->spans[i].start_ms ||
            a->spans[i].end_ms != b->spans[i].end_ms) {
            snprintf(what, cap, "down span %u: stored [%lld, %lld), evidence [%lld, %lld)", i + 1,
                     (long long)a->spans[i].start_ms, (long long)a->spans[i].end_ms,
                     (long long)b->spans[i].start_ms, (long long)b->spans[i].end_ms);
            return 1;
        }
    }
    return 0;
}

int kf_replay_event_diff(const struct kf_inc_event *a, const struct kf_inc_event *b, char *what,
                         size_t cap)
{
    if (a->kind != b->kind) {
        snprintf(what, cap, "kind: stored %s, evidence %s", kf_incident_ev_name(a->kind),
                 kf_incident_ev_name(b->kind));
        return 1;
    }
    DIFF_I64(at_ms)
    DIFF_I64(clock)
    DIFF_I64(from)
    DIFF_I64(to)
    DIFF_I64(flags)
    DIFF_STR(who)
    DIFF_STR(text)
    DIFF_STR(assignee)
    if (a->kind == KF_EV_OPEN || a->kind == KF_EV_REOPEN) {
        DIFF_I64(start_ms)
    }
    return 0;
}
