/* views/cells_int.h: shared by the views that build query tables (store/query.h), not part of
 * kf_views' contract. Cells as every table writes them (an integer, an instant, a clock's
 * seconds left, the deadlines missed), and the columns every incident's row begins with, built
 * in one place so that the queue (views/outage.h), an outage's children and one incident
 * (views/sla_tables.h) fill them the same way, for kioskctl and kiosk-web alike.
 * Pure: no store, no I/O; any thread.
 */
#ifndef KF_VIEWS_CELLS_INT_H
#define KF_VIEWS_CELLS_INT_H

#include <stdint.h>

#include "rules/incident.h"
#include "views/names.h"

/* Cells written into buf (24 bytes) and returned, or NULL: a cell with no value. */
const char *kf__view_cell_int(int64_t v, char *buf);
/* An instant (ms); NULL for none (0 or KF_TIME_NEVER). */
const char *kf__view_cell_ms(int64_t ms, char *buf);
/* The service seconds left on a clock; NULL once it stopped (or when it never falls due). */
const char *kf__view_cell_left(int running, int64_t left_s, char *buf);

/* The deadlines missed, bit 1 the response's and bit 2 the restore's: "response", "restore",
 * "response,restore", or NULL for none. */
const char *kf__view_cell_breached(unsigned bits);

/* The columns an incident's row begins with (a table's column list goes on after them), their
 * types (store/query.h) and how many they are. */
#define KF__VIEW_INCIDENT_COLS                                                                     \
    "id", "terminal", "device", "zone", "zone_name", "bank", "bank_name", "cause", "part"
#define KF__VIEW_INCIDENT_TYPES "ixxxxxxxx"
#define KF__VIEW_INCIDENT_NCOLS 9

/* Fill cells[0 .. KF__VIEW_INCIDENT_NCOLS) for inc at its terminal's device, zone and bank (as
 * the caller shows them: NULL for none). Borrows everything: the cells point into inc, the
 * arguments, names (may be NULL) and id_buf, which must outlive them. */
void kf__view_cell_incident(const char **cells, char id_buf[24], const struct kf_incident *inc,
                            const char *device, const char *zone, const char *bank,
                            const struct kf_view_names *names);

#endif
