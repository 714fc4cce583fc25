/* views/outage.h: the technicians' queue as the console and kioskctl show it: incidents most
 * urgent first (views/sla.h), mass outages folded into one row each (rules/outage.h,
 * docs/SLA.md 5.4), filtered by assignee; and one outage with its children. Tables, not
 * text: kioskctl prints them, the HTTP server serves them.
 *
 * Read-only, computed from the store at an instant passed in; the outages are derived from
 * the stored incidents with the documented constants (KF_OUTAGE_*), so every reader gets the
 * same groups and ids. Same threading rule as store.h.
 */
#ifndef KF_VIEWS_OUTAGE_H
#define KF_VIEWS_OUTAGE_H

#include <stddef.h>
#include <stdint.h>

#include "rules/outage.h"
#include "store/query.h"
#include "store/store.h"
#include "views/names.h"
#include "views/sla.h"

struct kf_view_outage_queue {
    struct kf_view_sla_queue *q; /* the queue: incidents not closed, most urgent first */
    struct kf_incident *offline; /* the offline incidents the outages were grouped from, by id */
    size_t n_offline;
    struct kf_outages *out; /* over offline[] */
    size_t *row_outage;     /* per row of q: the index of its outage in out, or NONE */
    int64_t now_ms;
};

/* The queue and its outages at now_ms. 0 or -errno with err set. *ret owned. */
int kf_view_outage_queue(struct kf_store *st, int64_t now_ms, struct kf_view_outage_queue **ret,
                         char *err, size_t cap);
void kf_view_outage_queue_free(struct kf_view_outage_queue *v); /* NULL is a no-op */

struct kf_view_outage_filter {
    int flat;             /* every incident on its own row (its outage named beside it) */
    const char *assignee; /* only incidents assigned to this technician (NULL: any) */
    int unassigned;       /* only incidents assigned to nobody */
};

/* The table "incidents" (docs/KIOSKCTL.md): the rows of the queue that pass the filter, an
 * outage's in one row where its first one stands (id and terminal null, `outage` its id,
 * `children` how many of its incidents the row stands for) unless flat. names borrowed
 * (may be NULL). 0, -ENOMEM. *ret owned. */
int kf_view_outage_queue_table(const struct kf_view_outage_queue *v,
                               const struct kf_view_names *names,
                               const struct kf_view_outage_filter *f, struct kf_qtable **ret);

/* One outage: tables "outage" (a record: scope, key, counts, drops, the children's most
 * urgent clocks) and "children" (its incidents as rows of "incidents", by drop). -ENOENT
 * (err says) when no outage has this id now. *ret owned. */
int kf_view_outage_report(const struct kf_view_outage_queue *v, const struct kf_view_names *names,
                          const char *id, struct kf_qreport **ret, char *err, size_t cap);

/* The ids of an outage's children not closed, by drop (an action on the outage is one on
 * each). *ret owned (free). 0, -ENOENT, -ENOMEM. */
int kf_view_outage_children(const struct kf_view_outage_queue *v, const char *id, int64_t **ret,
                            size_t *ret_n);

#endif
