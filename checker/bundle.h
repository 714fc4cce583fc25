/* checker/bundle.h: a bank's bundle ("kioskfleet.bundle/1", docs/BILLING.md "Checking a bill
 * offline") read into plain arrays, every field type-checked and every array and string
 * bounded before anything is computed from it: the file comes from the party being audited
 * and is treated as hostile. A bundle that passes is only *readable*; checker/check.h decides
 * whether the bill follows from it.
 *
 * Over kf_common, kf_rules and jansson only: no store, no loop, no network.
 */
#ifndef KF_CHECKER_BUNDLE_H
#define KF_CHECKER_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rules/devstate.h"

/* Limits: far above one bank's month (DESIGN.md: a 2,000-terminal city), far below what
 * would exhaust a laptop. Past any of them the bundle is refused, not truncated. */
#define KF_BUNDLE_FILE_MAX ((size_t)512 << 20) /* bytes */
#define KF_BUNDLE_FACTS_MAX 5000000
#define KF_BUNDLE_LOG_MAX 2000000
#define KF_BUNDLE_TERMINALS_MAX 100000
#define KF_BUNDLE_ZONES_MAX 100000
#define KF_BUNDLE_CONTRACTS_MAX 1000
#define KF_BUNDLE_CALENDARS_MAX 200
#define KF_BUNDLE_SERVICE_MAX 1000      /* intervals of one terminal */
#define KF_BUNDLE_INCIDENTS_MAX 1000000 /* incident ids of one terminal */
#define KF_BUNDLE_FRAMES_MAX 1000000
#define KF_BUNDLE_ITEMS_MAX 10000            /* service items in the catalog */
#define KF_BUNDLE_TEXT_MAX ((size_t)1 << 20) /* a bill, a contract, a calendar, a log detail */

struct kf_bundle_service {
    int64_t from_ms, to_ms; /* to KF_TIME_NEVER: open */
    int implicit;
    const char *zone;
};

struct kf_bundle_terminal {
    const char *asset, *zone;
    int kind; /* enum kf_terminal_kind */
    struct kf_bundle_service *svc;
    size_t n_svc;
    int64_t first_online_ms;
    int64_t *incs; /* live ids, ascending */
    size_t n_incs;
};

struct kf_bundle_zone {
    const char *id, *weekday, *weekend, *itm_hours; /* NULL where null */
};

struct kf_bundle_entry {
    int64_t seq, at_ms;
    const char *actor, *action, *subject, *detail;
    uint8_t prev_hash[32], hash[32], sig[64];
};

struct kf_bundle_fact {
    int64_t id, recv_ms;
    int64_t seq; /* the device record's seq; 0: null */
    const char *asset, *device;
    size_t term; /* index in terms */
    struct kf_fact f;
};

/* A device's signed frame as the server stored it ("frames"). */
struct kf_bundle_frame {
    const char *device, *topic;
    uint32_t key_epoch;
    uint8_t pk[32];
    int has_pk, key_signed;
    uint8_t *raw; /* owned: the frame's bytes */
    size_t raw_len;
    int64_t recv_ms;
};

/* Strings borrow from root (json_decref'd by kf_bundle_free). */
struct kf_bundle {
    json_t *root;
    const char *bill;
    size_t bill_len;
    uint8_t bill_sig[64];
    const char *bank, *period;
    int year, month;
    int64_t close_ms;
    const char **calendars;
    size_t n_calendars;
    const char **contracts;
    size_t *contract_len, n_contracts;
    struct kf_bundle_zone *zones;
    size_t n_zones;
    struct kf_bundle_terminal *terms; /* sorted by asset, unique */
    size_t n_terms;
    struct kf_bundle_entry *log; /* seq strictly ascending */
    size_t n_log;
    struct kf_bundle_fact *facts; /* id strictly ascending */
    size_t n_facts;
    struct kf_bundle_frame *frames; /* as listed */
    size_t n_frames;
    /* The catalog ("catalog"; absent in a bundle of before it: none), codes strictly
     * ascending, each item's peripherals as rules/devstate.h bits. */
    const char **item_codes;
    uint32_t *item_needs;
    size_t n_items;
};

/* Read data[0..len) (borrowed; need not be NUL-terminated). 0; -EINVAL (not a bundle this
 * version reads: err names the field), -E2BIG (past a limit: err names it), -ENOMEM. On
 * failure *b is left empty. */
int kf_bundle_parse(const char *data, size_t len, struct kf_bundle *b, char *err, size_t cap);
void kf_bundle_free(struct kf_bundle *b);

/* The index of asset among b->terms, or (size_t)-1. */
size_t kf_bundle_terminal(const struct kf_bundle *b, const char *asset);
/* The zone id, or NULL. */
const struct kf_bundle_zone *kf_bundle_zone(const struct kf_bundle *b, const char *id);

#endif
