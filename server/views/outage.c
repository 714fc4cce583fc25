/* views/outage.c: the technicians' queue with mass outages folded, and one outage
 * (views/outage.h). */
#define _GNU_SOURCE
#include "views/outage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/time.h>

#include "store/sla.h"
#include "views/cells_int.h"

static const char *const queue_cols[] = {KF__VIEW_INCIDENT_COLS,
                                         "attribution",
                                         "state",
                                         "since",
                                         "response_left_s",
                                         "restore_left_s",
                                         "breached",
                                         "assignee",
                                         "outage",
                                         "children",
                                         NULL};
static const char queue_types[] = KF__VIEW_INCIDENT_TYPES "xxtssxxxi";

void kf_view_outage_queue_free(struct kf_view_outage_queue *v)
{
    if (v == NULL)
        return;
    kf_view_sla_queue_free(v->q);
    free(v->offline);
    kf_outages_free(v->out);
    free(v->row_outage);
    free(v);
}

static int term_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_sla_terminal *)a)->asset_id,
                  ((const struct kf_sla_terminal *)b)->asset_id);
}

static const struct kf_sla_terminal *term_of(const struct kf_view_sla_queue *q, const char *asset)
{
    struct kf_sla_terminal key;

    if (q->n_all == 0)
        return NULL;
    snprintf(key.asset_id, sizeof(key.asset_id), "%s", asset);
    return bsearch(&key, q->all, q->n_all, sizeof(key), term_cmp);
}

static int is_offline(const struct kf_incident *inc)
{
    return strcmp(inc->cause, KF_CAUSE_OFFLINE) == 0;
}

/* Its drop: the start of its latest down span. */
static int64_t drop_of(const struct kf_incident *inc)
{
    return inc->spans[inc->n_spans ? inc->n_spans - 1 : 0].start_ms;
}

static size_t offline_index(const struct kf_view_outage_queue *v, int64_t id)
{
    size_t lo = 0, hi = v->n_offline;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->offline[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n_offline && v->offline[lo].id == id ? lo : KF_OUTAGE_NONE;
}

static int group(struct kf_view_outage_queue *v)
{
    struct kf_outage_term *terms = calloc(v->q->n_all + 1, sizeof(*terms));
    struct kf_outage_inc *incs = calloc(v->n_offline + 1, sizeof(*incs));
    struct kf_outage_config cfg;
    int r = -ENOMEM;

    if (terms == NULL || incs == NULL)
        goto out;
    for (size_t i = 0; i < v->q->n_all; i++)
        terms[i] =
            (struct kf_outage_term){v->q->all[i].asset_id, v->q->all[i].zone_id, v->q->all[i].unit};
    for (size_t i = 0; i < v->n_offline; i++) {
        const struct kf_incident *inc = &v->offline[i];

        incs[i] = (struct kf_outage_inc){inc->id,
                                         inc->terminal,
                                         drop_of(inc),
                                         (uint8_t)kf_incident_down(inc),
                                         inc->state == KF_INC_CLOSED,
                                         (uint8_t)kf_incident_history(inc)};
    }
    kf_outage_config_defaults(&cfg);
    r = kf_outage_group(&cfg, terms, v->q->n_all, incs, v->n_offline, &v->out);
out:
    free(terms);
    free(incs);
    return r;
}

int kf_view_outage_queue(struct kf_store *st, int64_t now_ms, struct kf_view_outage_queue **ret,
                         char *err, size_t cap)
{
    struct kf_view_outage_queue *v = calloc(1, sizeof(*v));
    int64_t min_drop = INT64_MAX;
    int r;

    if (v == NULL)
        return -ENOMEM;
    v->now_ms = now_ms;
    r = kf_view_sla_queue(st, now_ms, &v->q, err, cap);
    /* The queue holds the open ones; closed ones near them keep their outage (outage.h). */
    for (size_t i = 0; r == 0 && i < v->q->n; i++)
        if (is_offline(v->q->rows[i].inc) && drop_of(v->q->rows[i].inc) < min_drop)
            min_drop = drop_of(v->q->rows[i].inc);
    if (r == 0 && min_drop != INT64_MAX &&
        (r = kf_store_sla_offline_incidents(st, min_drop - KF_OUTAGE_WINDOW_MS, &v->offline,
                                            &v->n_offline)) < 0)
        snprintf(err, cap, "offline incidents: %s",
                 kf_store_errmsg(st)[0] ? kf_store_errmsg(st) : kf_strerror(r));
    if (r == 0 && (r = group(v)) < 0)
        snprintf(err, cap, "outages: %s", kf_strerror(r));
    if (r == 0 && (v->row_outage = calloc(v->q->n + 1, sizeof(*v->row_outage))) == NULL)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < v->q->n; i++) {
        size_t k = offline_index(v, v->q->rows[i].inc->id);
        v->row_outage[i] = k == KF_OUTAGE_NONE ? KF_OUTAGE_NONE : v->out->of[k];
    }
    if (r < 0) {
        if (err[0] == '\0')
            snprintf(err, cap, "%s", kf_strerror(r));
        kf_view_outage_queue_free(v);
        return r;
    }
    *ret = v;
    return 0;
}

/* ---- Rows ----------------------------------------------------------------------------- */

static int passes(const struct kf_incident *inc, const struct kf_view_outage_filter *f)
{
    if (f == NULL)
        return 1;
    if (f->unassigned && inc->assignee[0] != '\0')
        return 0;
    return f->assignee == NULL || strcmp(inc->assignee, f->assignee) == 0;
}

/* One incident's row; row is its queue row (its clocks), or NULL when it is not in the queue
 * (closed): no clock runs then. */
static int add_incident(struct kf_qtable *t, const struct kf_incident *inc,
                        const struct kf_sla_terminal *term, const struct kf_sla_queue_row *row,
                        const char *outage, const struct kf_view_names *names)
{
    char id[24], since[24], rl[24], tl[24];
    unsigned bits =
        row ? (row->response.breached ? 1u : 0u) | (row->restore.breached ? 2u : 0u) : 0;
    const char *cells[] = {
        [KF__VIEW_INCIDENT_NCOLS] = kf_incident_attr_name(inc->attr),
        kf_incident_state_name(inc->state),
        kf__view_cell_ms(inc->spans[0].start_ms, since),
        row ? kf__view_cell_left(row->response.running, row->response.left_s, rl) : NULL,
        row ? kf__view_cell_left(row->restore.running, row->restore.left_s, tl) : NULL,
        kf__view_cell_breached(bits),
        inc->assignee[0] ? inc->assignee : NULL,
        outage,
        NULL,
    };

    kf__view_cell_incident(cells, id, inc, term && term->device_id[0] ? term->device_id : NULL,
                           term ? term->zone_id : NULL, term ? term->bank : NULL, names);
    return kf_store_query_table_add_row(t, cells);
}

/* What an outage's row says of the incidents it stands for. */
struct agg {
    size_t n;
    int64_t resp, rest; /* the least service seconds left on a running clock */
    int resp_run, rest_run;
    /* The deadlines missed: 1 response, 2 restore (kf__view_cell_breached). */
    unsigned bits;
    const char *bank, *attr, *state, *assignee; /* common to all, else NULL */
    int mixed_bank, mixed_attr, mixed_state, mixed_assignee;
};

/* Keep v in *slot while every value is the same; NULL once two differ. */
static void common(const char **slot, int *mixed, const char *v, int first)
{
    v = v ? v : "";
    if (first) {
        *slot = v;
    } else if (!*mixed && strcmp(*slot, v) != 0) {
        *mixed = 1;
        *slot = NULL;
    }
}

static void agg_add(struct agg *a, const struct kf_sla_queue_row *row,
                    const struct kf_sla_terminal *term)
{
    const struct kf_incident *inc = row->inc;
    int first = a->n == 0;

    if (row->response.running && row->response.left_s != INT64_MAX &&
        (!a->resp_run || row->response.left_s < a->resp)) {
        a->resp = row->response.left_s;
        a->resp_run = 1;
    }
    if (row->restore.running && row->restore.left_s != INT64_MAX &&
        (!a->rest_run || row->restore.left_s < a->rest)) {
        a->rest = row->restore.left_s;
        a->rest_run = 1;
    }
    a->bits |= (row->response.breached ? 1u : 0u) | (row->restore.breached ? 2u : 0u);
    common(&a->bank, &a->mixed_bank, term ? term->bank : "", first);
    common(&a->attr, &a->mixed_attr, kf_incident_attr_name(inc->attr), first);
    common(&a->state, &a->mixed_state, kf_incident_state_name(inc->state), first);
    common(&a->assignee, &a->mixed_assignee, inc->assignee, first);
    a->n++;
}

static const char *nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

static int add_outage(struct kf_qtable *t, const struct kf_outage *o, const struct agg *a,
                      const struct kf_view_names *names)
{
    char since[24], rl[24], tl[24], n[24];
    const char *zone = o->scope == KF_OUTAGE_ZONE ? o->key : NULL;
    const char *bank = nonempty(a->bank);
    const char *cells[] = {
        NULL,
        NULL,
        NULL,
        zone,
        kf_view_names_get(names, KF_NAMES_ZONE, zone),
        bank,
        kf_view_names_get(names, KF_NAMES_BANK, bank),
        KF_CAUSE_OFFLINE,
        NULL,
        a->attr,
        a->state,
        kf__view_cell_ms(o->first_ms, since),
        kf__view_cell_left(a->resp_run, a->resp, rl),
        kf__view_cell_left(a->rest_run, a->rest, tl),
        kf__view_cell_breached(a->bits),
        nonempty(a->assignee),
        o->id,
        kf__view_cell_int((int64_t)a->n, n),
    };

    return kf_store_query_table_add_row(t, cells);
}

int kf_view_outage_queue_table(const struct kf_view_outage_queue *v,
                               const struct kf_view_names *names,
                               const struct kf_view_outage_filter *f, struct kf_qtable **ret)
{
    const struct kf_view_sla_queue *q = v->q;
    int flat = f != NULL && f->flat;
    struct agg *aggs = calloc(v->out->n + 1, sizeof(*aggs));
    uint8_t *shown = calloc(v->out->n + 1, 1);
    struct kf_qtable *t;
    int r = 0;

    t = kf_store_query_table_new("incidents",
                                 flat ? "open incidents, most urgent first"
                                      : "open incidents, most urgent first; mass outages folded",
                                 queue_cols, queue_types);
    if (t == NULL || aggs == NULL || shown == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; !flat && i < q->n; i++)
        if (v->row_outage[i] != KF_OUTAGE_NONE && passes(q->rows[i].inc, f))
            agg_add(&aggs[v->row_outage[i]], &q->rows[i], q->terms[i]);
    for (size_t i = 0; r == 0 && i < q->n; i++) {
        size_t k = v->row_outage[i];

        if (!passes(q->rows[i].inc, f))
            continue;
        if (flat || k == KF_OUTAGE_NONE) {
            r = add_incident(t, q->rows[i].inc, q->terms[i], &q->rows[i],
                             k == KF_OUTAGE_NONE ? NULL : v->out->v[k].id, names);
        } else if (!shown[k]) {
            shown[k] = 1;
            r = add_outage(t, &v->out->v[k], &aggs[k], names);
        }
    }
out:
    free(aggs);
    free(shown);
    if (r < 0) {
        kf_store_query_table_free(t);
        return r;
    }
    *ret = t;
    return 0;
}

/* ---- One outage --------------------------------------------------------------------------- */

static const struct kf_sla_queue_row *queue_row(const struct kf_view_sla_queue *q, int64_t id)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->rows[i].inc->id == id)
            return &q->rows[i];
    return NULL;
}

static struct kf_qtable *outage_table(const struct kf_view_outage_queue *v,
                                      const struct kf_outage *o, const struct kf_view_names *names)
{
    static const char *const cols[] = {"id",
                                       "scope",
                                       "key",
                                       "key_name",
                                       "bank",
                                       "bank_name",
                                       "terminals",
                                       "children",
                                       "down",
                                       "open",
                                       "zones",
                                       "first_drop",
                                       "last_drop",
                                       "response_left_s",
                                       "restore_left_s",
                                       "breached",
                                       "assignee",
                                       NULL};
    struct agg a;
    struct kf_qtable *t;
    char b[9][24];
    const char *key_name = NULL, *bank;

    memset(&a, 0, sizeof(a));
    for (size_t i = 0; i < o->n_children; i++) {
        const struct kf_incident *inc = &v->offline[o->children[i]];
        const struct kf_sla_queue_row *row = queue_row(v->q, inc->id);
        struct kf_sla_queue_row closed = {.inc = inc, .left_s = INT64_MAX};

        agg_add(&a, row ? row : &closed, term_of(v->q, inc->terminal));
    }
    if (o->scope == KF_OUTAGE_ZONE)
        key_name = kf_view_names_get(names, KF_NAMES_ZONE, o->key);
    else if (o->scope == KF_OUTAGE_UNIT)
        key_name = kf_view_names_get(names, KF_NAMES_UNIT, o->key);
    bank = nonempty(a.bank);
    const char *cells[] = {
        o->id,
        kf_outage_scope_name(o->scope),
        o->key,
        key_name,
        bank,
        kf_view_names_get(names, KF_NAMES_BANK, bank),
        kf__view_cell_int((int64_t)o->n_terminals, b[0]),
        kf__view_cell_int((int64_t)o->n_children, b[1]),
        kf__view_cell_int((int64_t)o->n_down, b[2]),
        kf__view_cell_int((int64_t)o->n_open, b[3]),
        kf__view_cell_int((int64_t)o->n_zones, b[4]),
        kf__view_cell_ms(o->first_ms, b[5]),
        kf__view_cell_ms(o->last_ms, b[6]),
        kf__view_cell_left(a.resp_run, a.resp, b[7]),
        kf__view_cell_left(a.rest_run, a.rest, b[8]),
        kf__view_cell_breached(a.bits),
        nonempty(a.assignee),
    };
    t = kf_store_query_table_new("outage", "outage", cols, "xxxxxxiiiiittssxx");
    if (t != NULL && kf_store_query_table_add_row(t, cells) < 0) {
        kf_store_query_table_free(t);
        t = NULL;
    }
    if (t != NULL)
        t->record = 1;
    return t;
}

int kf_view_outage_report(const struct kf_view_outage_queue *v, const struct kf_view_names *names,
                          const char *id, struct kf_qreport **ret, char *err, size_t cap)
{
    const struct kf_outage *o = kf_outage_find(v->out, id);
    struct kf_qreport *rep;
    struct kf_qtable *kids;
    int r = 0;

    if (o == NULL) {
        snprintf(err, cap, "no outage %s now (kioskctl incidents lists them)", id);
        return -ENOENT;
    }
    rep = calloc(1, sizeof(*rep));
    if (rep == NULL)
        return -ENOMEM;
    r = kf_store_query_report_add(rep, outage_table(v, o, names));
    kids = kf_store_query_table_new("children", "its incidents, by drop", queue_cols, queue_types);
    for (size_t i = 0; r == 0 && kids != NULL && i < o->n_children; i++) {
        const struct kf_incident *inc = &v->offline[o->children[i]];

        r = add_incident(kids, inc, term_of(v->q, inc->terminal), queue_row(v->q, inc->id), o->id,
                         names);
    }
    if (r == 0)
        r = kf_store_query_report_add(rep, kids);
    else
        kf_store_query_table_free(kids);
    if (r < 0) {
        kf_store_query_report_free(rep);
        snprintf(err, cap, "%s", kf_strerror(r));
        return r;
    }
    *ret = rep;
    return 0;
}

int kf_view_outage_children(const struct kf_view_outage_queue *v, const char *id, int64_t **ret,
                            size_t *ret_n)
{
    const struct kf_outage *o = kf_outage_find(v->out, id);
    int64_t *ids;
    size_t n = 0;

    if (o == NULL)
        return -ENOENT;
    ids = calloc(o->n_children + 1, sizeof(*ids));
    if (ids == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->n_children; i++)
        if (v->offline[o->children[i]].state != KF_INC_CLOSED)
            ids[n++] = v->offline[o->children[i]].id;
    *ret = ids;
    *ret_n = n;
    return 0;
}
