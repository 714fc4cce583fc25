/* views/sla_tables.h: fleet state, one incident, incident history and the month's SLA report
 * as query tables (store/query.h), the rows kioskctl prints (`state`, `incident ID`, `sla`)
 * and kiosk-web serves, built in one place so that the CLI and the API show the same columns
 * with the same types. (The queue is views/outage.h's.)
 *
 * Same threading rule as store.h. Functions return 0 with an owned result, or a negative
 * errno with a message in err (cap bytes).
 */
#ifndef KF_VIEWS_SLA_TABLES_H
#define KF_VIEWS_SLA_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "store/query.h"
#include "store/store.h"
#include "views/names.h"

/* Table "state": every terminal (target NULL) or one (a device or asset id: -ENOENT when
 * none) as kioskd's engine last saw it: terminal, device, zone, zone_name, bank, bank_name,
 * kind, status (up, degraded, down, maintenance, unknown), since, parts, faults,
 * maintenance, items_out, items. For one terminal, also table "items_out" (item,
 * item_name, family, family_name). */
int kf_view_sla_tables_state(struct kf_store *st, const struct kf_view_names *names,
                             const char *target, struct kf_qreport **ret, char *err, size_t cap);
/* Table "state" of one page of the terminals (views/sla.h struct kf_view_sla_page: which
 * terminals, which of them; pg->total set): the rows of kf_view_sla_tables_state's for
 * those terminals, reading only their states. */
struct kf_view_sla_page;
int kf_view_sla_tables_state_page(struct kf_store *st, const struct kf_view_names *names,
                                  struct kf_view_sla_page *pg, struct kf_qtable **ret, char *err,
                                  size_t cap);
/* Tables "incident" (a record: the incident's fields and clocks at now_ms) and "history"
 * (at, event, who, detail). -ENOENT: no such incident. */
int kf_view_sla_tables_incident(struct kf_store *st, const struct kf_view_names *names, int64_t id,
                                int64_t now_ms, struct kf_qreport **ret, char *err, size_t cap);

/* Table "incidents": every incident that counts in [since_ms, until_ms) (begun before its
 * end, not resolved before its start), newest first, closed ones included: id, terminal,
 * zone, zone_name, bank, bank_name, cause, part, attribution, state, since, opened,
 * acknowledged, on_site, resolved, resolved_by, closed, breached, down_spans. */
int kf_view_sla_tables_history(struct kf_store *st, const struct kf_view_names *names,
                               const char *terminal, int64_t since_ms, int64_t until_ms,
                               struct kf_qtable **ret, char *err, size_t cap);
/* Table "sla": the month's report (views/sla.h kf_view_sla_report) at scope (KF_SCOPE_
 * TERMINAL, ZONE or BANK) and the fleet's row, with names beside the codes; the month and
 * as_of on every row (file-only columns), as kioskctl sla prints it. NULL when out of memory. */
struct kf_report;
struct kf_qtable *kf_view_sla_tables_report(const struct kf_report *rep, int scope, int64_t as_of,
                                            const struct kf_view_names *names);

#endif
