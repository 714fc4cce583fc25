/* rules/devstate.h: a terminal's state derived from its facts (docs/SLA.md).
 *
 * A fold, pure and deterministic: facts -> struct kf_devstate (kf_devstate_apply): online,
 * maintenance mode, unusable peripherals, open faults; and over a range, segments of
 * constant state (kf_devstate_segments) from which per-item "in service" intervals follow
 * (kf_devstate_segs_item_intervals). The SLA engine (rules/sla.h) keeps one per terminal;
 * incidents (rules/incident.h) are opened from what the segments say.
 *
 * Units: instants are UTC ms. Nothing here reads a clock, keeps global state or allocates:
 * any thread, given exclusive use of what it writes.
 */
#ifndef KF_RULES_DEVSTATE_H
#define KF_RULES_DEVSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <kf/record.h>

#include "rules/calendar.h"

#define KF_WHO_MAX 31         /* a technician's or operator's id */
#define KF_OPEN_FAULTS_MAX 16 /* open faults kept per terminal */

enum kf_fact_kind {
    KF_FACT_PRESENCE = 1, /* on: online; src: how it was learnt */
    KF_FACT_PERIPH,       /* periph, on: usable (kf_pstate_usable of the reported state) */
    KF_FACT_FAULT,        /* code, sev, periph (0: device-wide), on: raise (1) or clear (0) */
    KF_FACT_MAINT,        /* on: maintenance mode entered at the terminal; who: technician */
};

enum kf_presence_src {
    KF_SRC_CONNECT = 1, /* connected / HELLO / traffic: online */
    KF_SRC_WILL,        /* the MQTT last will: offline */
    KF_SRC_HEARTBEAT,   /* silent past the heartbeat timeout: offline, dated last seen */
};

/* One fact about one terminal. Facts of a terminal are applied in time order; one older
 * than the newest applied is taken at the newest's time (clamped), never reordered. */
struct kf_fact {
    int64_t at_ms;
    uint8_t kind;                     /* enum kf_fact_kind */
    uint8_t on;                       /* see kind */
    uint8_t src;                      /* PRESENCE: enum kf_presence_src */
    uint8_t periph;                   /* PERIPH, FAULT: enum kf_periph; FAULT 0: device-wide */
    uint8_t sev;                      /* FAULT: enum kf_severity */
    char code[KF_FAULT_CODE_MAX + 1]; /* FAULT */
    char who[KF_WHO_MAX + 1];         /* MAINT: technician id given at the terminal; may be "" */
    uint8_t late; /* a backlog fact, as stores before the sealed runs wrote it (at_ms moved
                   * up to the engine's tick); 0 since: the engine decides what is backlog */
};

struct kf_open_fault {
    char code[KF_FAULT_CODE_MAX + 1];
    uint8_t periph, sev;
    int64_t since_ms;
};

/* A terminal's state after a sequence of facts. Plain data; start from kf_devstate_init.
 * A peripheral never reported is taken as usable. */
struct kf_devstate {
    int64_t at_ms;  /* newest fact applied */
    uint8_t online; /* 0 until a presence fact says otherwise */
    uint8_t src;    /* source of the last presence change */
    uint8_t maint;
    int64_t presence_since_ms; /* online, or offline, since (0: never reported) */
    int64_t maint_since_ms;
    char maint_who[KF_WHO_MAX + 1];
    uint32_t unusable; /* bit p: peripheral p last reported not usable */
    int64_t periph_since_ms[KF_PERIPH_COUNT_ + 1];
    uint32_t n_faults;
    struct kf_open_fault faults[KF_OPEN_FAULTS_MAX]; /* open faults, any severity */
    uint32_t faults_dropped;                         /* raises not kept because the list was full */
};

/* A stretch [start_ms, end_ms) of constant state. */
struct kf_seg {
    int64_t start_ms, end_ms;
    uint8_t online, maint;
    uint32_t unusable; /* bit p: peripheral p not usable */
    uint32_t crit;     /* bit p: an open critical fault on p; bit 0: a device-wide one */
};

enum kf_term_status {
    KF_TERM_UP = 1,   /* online, every item in service */
    KF_TERM_DEGRADED, /* online, some items out of service */
    KF_TERM_DOWN,     /* offline, or a device-wide critical fault */
    KF_TERM_MAINT,    /* in maintenance mode at the terminal (and not down) */
};

void kf_devstate_init(struct kf_devstate *st);
/* Apply one fact. Returns 1 if the state changed, 0 if not (a repeat), -EINVAL for a
 * malformed fact (st unchanged). */
int kf_devstate_apply(struct kf_devstate *st, const struct kf_fact *f);
/* The state as a segment (start = st->at_ms, end = KF_TIME_NEVER). */
void kf_devstate_seg(const struct kf_devstate *st, struct kf_seg *ret);
/* The open critical fault masks (as kf_seg.crit). */
uint32_t kf_devstate_crit(const struct kf_devstate *st);

/* Mask of peripherals (bit enum kf_periph) from wire names ("screen", "a4_printer"...):
 * a service item's "needs" in the catalog. 0 or -EINVAL (unknown name). */
int kf_devstate_needs_from_names(const char *const *names, size_t n, uint32_t *ret);

/* Is an item needing `needs` in service in this state: online, not in maintenance, every
 * needed peripheral usable, no open critical fault on a needed peripheral or device-wide? */
int kf_devstate_seg_item_ok(const struct kf_seg *s, uint32_t needs);
/* The whole terminal, for the items it offers (needs[i] per item). */
enum kf_term_status kf_devstate_seg_status(const struct kf_seg *s, const uint32_t *needs,
                                           size_t n_items);
/* The critical faults that take the whole terminal down (bit 0, device-wide, and the
 * peripherals every item needs), as kf_devstate_seg_status decides: a terminal is in service
 * (up or degraded) exactly when it is online, not in maintenance and (crit & this) == 0. So
 * a reader that has only a state's online, maint and crit (sla_terminal_state's columns) can
 * count the terminals in service without the items. */
uint32_t kf_devstate_down_mask(const uint32_t *needs, size_t n_items);

/* Segments covering [from_ms, to_ms): start from *initial (the state before the first fact),
 * apply facts (time order) and cut where the state changes; consecutive equal states are
 * one segment. Writes at most cap segments and sets *ret_n to how many there are; returns 0,
 * or -ENOSPC when cap was too small (*ret_n says how many are needed), -EINVAL (a bad fact). */
int kf_devstate_segments(const struct kf_devstate *initial, const struct kf_fact *facts, size_t n,
                         int64_t from_ms, int64_t to_ms, struct kf_seg *out, size_t cap,
                         size_t *ret_n);
/* Intervals where an item needing `needs` is in service (adjacent ones merged), from
 * segments. Writes at most cap and returns how many there are. */
size_t kf_devstate_segs_item_intervals(const struct kf_seg *segs, size_t n, uint32_t needs,
                                       struct kf_window *out, size_t cap);

#endif
