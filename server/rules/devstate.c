/* devstate.c: device state as a fold of facts, and the segments of constant state that
 * availability and the SLA engine read. */
#include "rules/devstate.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

void kf_devstate_init(struct kf_devstate *st)
{
    memset(st, 0, sizeof(*st));
}

static int fault_find(const struct kf_devstate *st, const char *code)
{
    for (uint32_t i = 0; i < st->n_faults; i++) {
        if (strcmp(st->faults[i].code, code) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void fault_remove(struct kf_devstate *st, uint32_t i)
{
    memmove(&st->faults[i], &st->faults[i + 1], (st->n_faults - i - 1) * sizeof(st->faults[0]));
    st->n_faults--;
}

static int fault_apply(struct kf_devstate *st, const struct kf_fact *f, int64_t at)
{
    int i = fault_find(st, f->code);
    struct kf_open_fault *of;

    if (!f->on) {
        if (i < 0) {
            return 0;
        }
        fault_remove(st, (uint32_t)i);
        return 1;
    }
    if (i >= 0) {
        of = &st->faults[i];
        if (of->sev == f->sev && of->periph == f->periph) {
            return 0;
        }
        of->sev = f->sev;
        of->periph = f->periph;
        return 1;
    }
    if (st->n_faults == KF_OPEN_FAULTS_MAX) {
        /* Full: a critical fault displaces the oldest non-critical one, else is dropped. */
        uint32_t k;
        for (k = 0; k < st->n_faults && st->faults[k].sev == KF_SEV_CRITICAL; k++) {
        }
        if (f->sev != KF_SEV_CRITICAL || k == st->n_faults) {
            st->faults_dropped++;
            return 0;
        }
        fault_remove(st, k);
    }
    of = &st->faults[st->n_faults++];
    memset(of, 0, sizeof(*of));
    memcpy(of->code, f->code, sizeof(of->code));
    of->periph = f->periph;
    of->sev = f->sev;
    of->since_ms = at;
    return 1;
}

int kf_devstate_apply(struct kf_devstate *st, const struct kf_fact *f)
{
    int64_t at = f->at_ms > st->at_ms ? f->at_ms : st->at_ms;
    int changed = 0;

    switch (f->kind) {
    case KF_FACT_PRESENCE:
        if (f->on > 1 || f->src < KF_SRC_CONNECT || f->src > KF_SRC_HEARTBEAT) {
            return -EINVAL;
        }
        if (st->presence_since_ms == 0 || st->online != f->on) {
            st->online = f->on;
            st->src = f->src;
            st->presence_since_ms = at;
            changed = 1;
        }
        break;
    case KF_FACT_PERIPH: {
        uint32_t bit;
        if (f->periph < 1 || f->periph > KF_PERIPH_COUNT_ || f->on > 1) {
            return -EINVAL;
        }
        bit = 1u << f->periph;
        if (((st->unusable & bit) != 0) == (f->on == 0)) {
            break;
        }
        st->unusable ^= bit;
        st->periph_since_ms[f->periph] = at;
        changed = 1;
        break;
    }
    case KF_FACT_FAULT:
        if (f->code[0] == '\0' || strnlen(f->code, sizeof(f->code)) == sizeof(f->code) ||
            f->periph > KF_PERIPH_COUNT_ || f->on > 1 ||
            (f->on && (f->sev < KF_SEV_INFO || f->sev > KF_SEV_CRITICAL))) {
            return -EINVAL;
        }
        changed = fault_apply(st, f, at);
        break;
    case KF_FACT_MAINT:
        if (f->on > 1 || strnlen(f->who, sizeof(f->who)) == sizeof(f->who)) {
            return -EINVAL;
        }
        if (st->maint != f->on) {
            st->maint = f->on;
            st->maint_since_ms = at;
            memcpy(st->maint_who, f->on ? f->who : "", f->on ? sizeof(st->maint_who) : 1);
            changed = 1;
        }
        break;
    default:
        return -EINVAL;
    }
    st->at_ms = at;
    return changed;
}

uint32_t kf_devstate_crit(const struct kf_devstate *st)
{
    uint32_t m = 0;

    for (uint32_t i = 0; i < st->n_faults; i++) {
        if (st->faults[i].sev == KF_SEV_CRITICAL) {
            m |= 1u << st->faults[i].periph;
        }
    }
    return m;
}

void kf_devstate_seg(const struct kf_devstate *st, struct kf_seg *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->start_ms = st->at_ms;
    ret->end_ms = KF_TIME_NEVER;
    ret->online = st->online;
    ret->maint = st->maint;
    ret->unusable = st->unusable;
    ret->crit = kf_devstate_crit(st);
}

int kf_devstate_needs_from_names(const char *const *names, size_t n, uint32_t *ret)
{
    uint32_t m = 0;

    for (size_t i = 0; i < n; i++) {
        int p;
        if (kf_periph_parse(names[i], &p) < 0) {
            return -EINVAL;
        }
        m |= 1u << p;
    }
    *ret = m;
    return 0;
}

int kf_devstate_seg_item_ok(const struct kf_seg *s, uint32_t needs)
{
    return s->online && !s->maint && (s->unusable & needs) == 0 && (s->crit & (needs | 1u)) == 0;
}

uint32_t kf_devstate_down_mask(const uint32_t *needs, size_t n_items)
{
    uint32_t every = n_items ? ~0u : 0u; /* the peripherals every item needs */

    for (size_t i = 0; i < n_items; i++) {
        every &= needs[i];
    }
    return 1u | every;
}

enum kf_term_status kf_devstate_seg_status(const struct kf_seg *s, const uint32_t *needs,
                                           size_t n_items)
{
    /* A critical fault on the screen (or any part every item needs) stops every item: the
     * terminal is down, not degraded (docs/SLA.md 3.2). */
    if (!s->online || (s->crit & kf_devstate_down_mask(needs, n_items))) {
        return KF_TERM_DOWN;
    }
    if (s->maint) {
        return KF_TERM_MAINT;
    }
    if (n_items == 0) {
        return (s->unusable | s->crit) ? KF_TERM_DEGRADED : KF_TERM_UP;
    }
    for (size_t i = 0; i < n_items; i++) {
        if (!kf_devstate_seg_item_ok(s, needs[i])) {
            return KF_TERM_DEGRADED;
        }
    }
    return KF_TERM_UP;
}

static int seg_same(const struct kf_seg *a, const struct kf_seg *b)
{
    return a->online == b->online && a->maint == b->maint && a->unusable == b->unusable &&
           a->crit == b->crit;
}

struct seg_out {
    struct kf_seg *out;
    size_t cap, n;
    struct kf_seg last; /* the newest segment, also past cap */
};

static void seg_emit(struct seg_out *o, const struct kf_devstate *st, int64_t a, int64_t b)
{
    struct kf_seg s;

    if (b <= a) {
        return;
    }
    kf_devstate_seg(st, &s);
    s.start_ms = a;
    s.end_ms = b;
    if (o->n > 0 && o->last.end_ms == a && seg_same(&o->last, &s)) {
        o->last.end_ms = b;
    } else {
        o->last = s;
        o->n++;
    }
    if (o->n <= o->cap) {
        o->out[o->n - 1] = o->last;
    }
}

int kf_devstate_segments(const struct kf_devstate *initial, const struct kf_fact *facts, size_t n,
                         int64_t from_ms, int64_t to_ms, struct kf_seg *out, size_t cap,
                         size_t *ret_n)
{
    struct seg_out o = {out, cap, 0, {0}};
    struct kf_devstate st = *initial;
    int64_t cur = from_ms;

    for (size_t i = 0; i < n; i++) {
        int64_t at = facts[i].at_ms > st.at_ms ? facts[i].at_ms : st.at_ms;
        if (at >= to_ms) {
            break;
        }
        if (at > cur) {
            struct kf_devstate before = st;
            int rc = kf_devstate_apply(&st, &facts[i]);
            if (rc < 0) {
                return rc;
            }
            if (rc > 0) {
                seg_emit(&o, &before, cur, at);
                cur = at;
            }
        } else if (kf_devstate_apply(&st, &facts[i]) < 0) {
            return -EINVAL;
        }
    }
    seg_emit(&o, &st, cur, to_ms);
    *ret_n = o.n;
    return o.n <= cap ? 0 : -ENOSPC;
}

size_t kf_devstate_segs_item_intervals(const struct kf_seg *segs, size_t n, uint32_t needs,
                                       struct kf_window *out, size_t cap)
{
    size_t k = 0;
    int64_t last_end = INT64_MIN;

    for (size_t i = 0; i < n; i++) {
        if (!kf_devstate_seg_item_ok(&segs[i], needs)) {
            continue;
        }
        if (k > 0 && last_end == segs[i].start_ms) {
            if (k <= cap) {
                out[k - 1].end_ms = segs[i].end_ms;
            }
        } else {
            if (k < cap) {
                out[k].start_ms = segs[i].start_ms;
                out[k].end_ms = segs[i].end_ms;
            }
            k++;
        }
        last_end = segs[i].end_ms;
    }
    return k;
}
