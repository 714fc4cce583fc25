/* store/inventory.h: what each terminal says it is (docs/PROTOCOL.md "HELLO", "inv";
 * docs/KIOSKCTL.md "inventory").
 *
 * One current row per device, written by the ingest in the HELLO's own commit: the fields,
 * the whole object as received (canonical JSON), when it last changed (a change of free disk
 * space alone is not a change) and when it was last reported. Each change also appends the
 * new object to the device's history (the last KF_STORE_INV_HISTORY changes are kept). An
 * inventory the server cannot take (kf_inv_parse refuses it) leaves the current row as it
 * was, notes why and when on it, and costs the HELLO nothing.
 *
 * Same threading rule as store.h. Readers go through scoped connections
 * (store/sqlite/scope.c: a bank its own terminals', technicians and the bureau all).
 */
#ifndef KF_STORE_INVENTORY_H
#define KF_STORE_INVENTORY_H

#include <stddef.h>

#include "store/query.h"
#include "store/store.h"

#define KF_STORE_INV_HISTORY 100 /* changes kept per device */
#define KF_STORE_INV_BY_MAX 4    /* fields grouped by at once */
#define KF_STORE_INV_WHERE_MAX 8 /* FIELD=VALUE filters at once */

/* The fields kioskctl inventory and GET /api/v1/inventory group and filter by, as one
 * comma-separated static string (for usage texts and error messages). */
const char *kf_store_inv_fields(void);

/* Count the active terminals that reported an inventory, grouped by the fields named in
 * by[0..nby) (none: one row, the total), keeping those where every field wf[k] has the value
 * wv[k] (k < nwhere): equal, or the value followed by "." (agent=1.3 keeps 1.3.0 and 1.3.1).
 * Columns: the fields, then "terminals"; rows by count, largest first. Grouping by "periph"
 * counts terminals per peripheral model and firmware (a terminal once per peripheral).
 * -EINVAL (with the store's error message) for an unknown field or too many. */
int kf_store_inv_group(struct kf_store *st, const char *const *by, size_t nby,
                       const char *const *wf, const char *const *wv, size_t nwhere,
                       struct kf_qtable **ret);

/* One device's current inventory (a record table: the fields, peripherals as JSON, changed,
 * seen, and the last refusal if any); device_id may also name an asset (its active device).
 * -ENOENT when it never reported one. */
int kf_store_inv_show(struct kf_store *st, const char *device_id, struct kf_qtable **ret);

/* One device's history of changes, newest first (at, inv). */
int kf_store_inv_changes(struct kf_store *st, const char *device_id, struct kf_qtable **ret);

#endif
