/* rules/outage.h: mass outages, derived from the offline incidents (docs/SLA.md 5.4).
 *
 * When the terminals of one branch (zone), of one county-level unit or of most of the fleet
 * drop together, the cause is the branch's network, the unit's line or the broker, not N
 * kiosks: an *outage* groups their offline incidents so that the technicians' queue shows
 * one row, as Zabbix's trigger dependencies do. It is a reading of the incidents, never
 * stored and never evidence: every incident stays as the engine decided it (its own down
 * spans, clocks, attribution), so availability, bills and the bank's checker are unchanged
 * by construction. Any reader computing from the same incidents gets the same groups and
 * ids (kioskctl, the HTTP server).
 *
 * The rule, with W = window_ms:
 *  - candidates: offline incidents that are not history; a closed one only while its drop
 *    (the start of its latest down span) is at most W before the earliest drop of a
 *    not-closed one (so that closing a child keeps its group and id);
 *  - fleet: the candidates whose drops lie within W of the earliest one's (an anchored
 *    window, taken from the earliest drop on), covering at least fleet_bp of the fleet's
 *    terminals and at least two zones: the broker or the server's network;
 *  - zone: of the rest, one zone's candidates within an anchored window W, at least
 *    max(2, min(zone_min, the zone's terminals));
 *  - unit: zone outages of one unit whose first drops lie within an anchored window W, at
 *    least unit_zones of them, become one unit outage (it replaces them);
 *  - an outage none of whose children is open (not closed) is over and not listed.
 * A window that does not qualify slides to the next drop; one that does is taken whole.
 * Membership is decided by the drops, not by who is still down: a terminal that came back
 * stays a child (counted in n_children, not in n_down).
 *
 * Ids: the scope's letter (Z, U, F) and the id of the earliest child (earliest drop, then
 * lowest id): "Z17". Pure, no I/O, no clock; any thread.
 */
#ifndef KF_RULES_OUTAGE_H
#define KF_RULES_OUTAGE_H

#include <stddef.h>
#include <stdint.h>

#define KF_OUTAGE_WINDOW_MS (5 * 60 * 1000LL) /* drops within 5 minutes are one event */
#define KF_OUTAGE_ZONE_MIN 3                  /* terminals of a zone (or all, if fewer; >= 2) */
#define KF_OUTAGE_UNIT_ZONES 2                /* zone outages of one unit */
#define KF_OUTAGE_FLEET_BP 5000               /* half of the fleet's terminals */
#define KF_OUTAGE_ID_MAX 23
#define KF_OUTAGE_NONE SIZE_MAX

enum kf_outage_scope {
    KF_OUTAGE_ZONE = 1,
    KF_OUTAGE_UNIT,
    KF_OUTAGE_FLEET,
};

struct kf_outage_config {
    int64_t window_ms;   /* > 0 */
    uint32_t zone_min;   /* >= 2 */
    uint32_t unit_zones; /* >= 2 */
    uint32_t fleet_bp;   /* 1..10000 */
};
void kf_outage_config_defaults(struct kf_outage_config *cfg);

/* Every terminal of the fleet, for the sizes of zones, units and the fleet (borrowed). */
struct kf_outage_term {
    const char *terminal;
    const char *zone;
    const char *unit; /* NULL or "": the zone belongs to no unit (no unit outage) */
};

/* An offline incident (cause "offline"), as the caller read it. */
struct kf_outage_inc {
    int64_t id;
    const char *terminal; /* one of terms; an unknown terminal's incident is left out */
    int64_t since_ms;     /* its drop: the start of its latest down span */
    uint8_t down;         /* still down */
    uint8_t closed;
    uint8_t history; /* over before it was learned (kf_incident_history): never a child */
};

struct kf_outage {
    char id[KF_OUTAGE_ID_MAX + 1];
    uint8_t scope;    /* enum kf_outage_scope */
    const char *key;  /* the zone or unit code (borrowed from terms); NULL for the fleet */
    int64_t first_ms; /* the earliest and latest drops */
    int64_t last_ms;
    const size_t *children; /* indexes into the caller's incs, by drop then id */
    size_t n_children;
    size_t n_down;      /* children still down */
    size_t n_open;      /* children not closed (>= 1) */
    size_t n_zones;     /* distinct zones of the children */
    size_t n_terminals; /* terminals of the scope (the zone's, the unit's, the fleet's) */
};

struct kf_outages {
    struct kf_outage *v; /* by first drop, then id */
    size_t n;
    size_t *of;       /* per incident of the input: its outage's index in v, or KF_OUTAGE_NONE */
    size_t *storage_; /* private: the children's indexes */
};

/* Group incs. 0, -EINVAL (bad config), -ENOMEM. *ret owned: kf_outages_free. */
int kf_outage_group(const struct kf_outage_config *cfg, const struct kf_outage_term *terms,
                    size_t n_terms, const struct kf_outage_inc *incs, size_t n_incs,
                    struct kf_outages **ret);
void kf_outages_free(struct kf_outages *o); /* NULL is a no-op */
/* The outage with this id ("Z17", case-insensitive letter), or NULL. */
const struct kf_outage *kf_outage_find(const struct kf_outages *o, const char *id);
/* "zone", "unit", "fleet"; NULL out of range. */
const char *kf_outage_scope_name(int scope);

#endif
