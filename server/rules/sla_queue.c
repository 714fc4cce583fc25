/* rules/sla_queue.c: the engine's read side (sla.h): lookups and the technicians' queue,
 * most urgent first. */
#include "rules/sla.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/sla_int.h"

const struct kf_incident *kf_sla_incident(const struct kf_sla_engine *e, int64_t id)
{
    return kf__sla_inc_find(e, id);
}

int64_t kf_sla_find(const struct kf_sla_engine *e, const char *terminal, const char *cause)
{
    const struct kf_incident *inc = kf__sla_inc_latest(e, terminal, cause);

    return inc ? inc->id : 0;
}

const struct kf_devstate *kf_sla_state(const struct kf_sla_engine *e, const char *terminal)
{
    const struct kf_sla_term *t = kf__sla_term_find(e, terminal);

    return t ? &t->st : NULL;
}

int kf_sla_cal(const struct kf_sla_engine *e, const char *terminal, struct kf_cal *ret_cal,
               struct kf_sla_terms *ret_terms)
{
    const struct kf_sla_term *t = kf__sla_term_find(e, terminal);

    if (t == NULL) {
        return -ENOENT;
    }
    kf__sla_term_cal(e, t, ret_cal);
    *ret_terms = t->terms;
    return 0;
}

static int queue_group(const struct kf_sla_queue_row *r)
{
    if (r->left_s == INT64_MAX && !r->response.running && !r->restore.running) {
        return 2;
    }
    return r->inc->attr == KF_ATTR_COMPANY ? 0 : 1;
}

static int queue_cmp(const void *a, const void *b)
{
    const struct kf_sla_queue_row *x = a, *y = b;
    int gx = queue_group(x), gy = queue_group(y);
    int64_t dx, dy;

    if (gx != gy) {
        return gx < gy ? -1 : 1;
    }
    if (x->left_s != y->left_s) {
        return x->left_s < y->left_s ? -1 : 1;
    }
    dx = x->response.running ? x->response.due_ms : x->restore.due_ms;
    dy = y->response.running ? y->response.due_ms : y->restore.due_ms;
    if (dx != dy) {
        return dx < dy ? -1 : 1;
    }
    return (x->inc->id > y->inc->id) - (x->inc->id < y->inc->id);
}

int kf_sla_queue(const struct kf_sla_engine *e, int64_t now_ms, struct kf_sla_queue_row **ret,
                 size_t *ret_n)
{
    struct kf_sla_queue_row *rows = NULL;
    size_t n = 0;

    if (e->n_incs > 0) {
        rows = calloc(e->n_incs, sizeof(*rows));
        if (rows == NULL) {
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < e->n_incs; i++) {
        const struct kf_incident *inc = e->incs[i];
        const struct kf_sla_term *t = kf__sla_term_find(e, inc->terminal);
        struct kf_sla_queue_row *r = &rows[n];
        struct kf_cal cal;

        if (inc->state == KF_INC_CLOSED || kf_incident_history(inc)) {
            continue; /* nothing left for a technician to do */
        }
        r->inc = inc;
        r->left_s = INT64_MAX;
        if (t != NULL) {
            kf__sla_term_cal(e, t, &cal);
            kf_incident_clock(inc, KF_CLOCK_RESPONSE, &cal, &t->terms, now_ms, &r->response);
            kf_incident_clock(inc, KF_CLOCK_RESTORE, &cal, &t->terms, now_ms, &r->restore);
            if (r->response.running) {
                r->left_s = r->response.left_s;
            }
            if (r->restore.running && r->restore.left_s < r->left_s) {
                r->left_s = r->restore.left_s;
            }
        }
        n++;
    }
    if (n > 1) {
        qsort(rows, n, sizeof(*rows), queue_cmp);
    }
    if (n == 0) {
        free(rows);
        rows = NULL;
    }
    *ret = rows;
    *ret_n = n;
    return 0;
}
