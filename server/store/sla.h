/* store/sla.h: the store's part of fleet state and the SLA (docs/SLA.md, docs/STORE.md).
 *
 * What is kept (schema v4):
 *   sla_facts           append-only history of the facts the SLA engine needs, written by the
 *                       group commit when a state actually changes (presence, peripheral
 *                       state, faults, maintenance mode) and by the heartbeat expiry; its
 *                       row id is the engine's cursor;
 *   sla_contracts       SLA terms per bank and terminal kind (from the fixtures);
 *   sla_windows         planned maintenance windows per terminal (asset) or zone;
 *   sla_calendars       the yearly holiday files kioskd loaded, as text, so every report and
 *                       recompute uses the calendar the live clocks used;
 *   sla_incidents       incidents (struct kf_incident, keyed by the asset id);
 *   sla_events          every incident event in order (struct kf_inc_event): the history;
 *   sla_notices         the announcements made (opened, reopened, resolved, breach), with
 *                       the JSON published, so a restart never announces twice;
 *   sla_terminal_state  each terminal's struct kf_devstate as the engine last saw it, and
 *                       (v23) what its status is decided from (kf_seg: online, maint,
 *                       unusable, crit) as columns, written with it;
 *   sla_cursor          the engine's cursor over sla_facts and the instant it last ticked;
 *   sla_actions         technicians' actions queued by kioskctl for kioskd to apply.
 *
 * Writers: kioskd's store job (facts through kf_store_ingest_commit and
 * kf_store_ingest_expire_online, the engine's results through kf_store_sla_persist) and
 * kioskctl (kf_store_sla_action_add, kf_store_sla_window_add), each in its own transaction.
 * Only kioskd runs an engine: kioskctl never writes incidents or events. Same threading rule
 * as store.h: one thread at a time per struct kf_store. Functions return 0 or a negative
 * errno (details in kf_store_errmsg); outputs are written only on success; arrays returned
 * are owned (free()).
 */
#ifndef KF_STORE_SLA_H
#define KF_STORE_SLA_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

#include "rules/calendar.h"
#include "rules/devstate.h"
#include "rules/incident.h"
#include "store/ingest.h"
#include "store/store.h"

/* A contract's built-in terms, used when neither the terminal's bank nor "*" has one. */
#define KF_SLA_DEFAULT_RESPONSE_S (2 * 3600)
#define KF_SLA_DEFAULT_RESTORE_S (8 * 3600)
#define KF_SLA_DEFAULT_TARGET_BP 9800

/* Facts written since the store was opened (the engine's "anything new?" without a query).
 * Counts inserts of rolled-back transactions too: a hint, never a count of rows. */
uint64_t kf_store_sla_facts_written(const struct kf_store *st);

/* ---- Terminals, contracts, windows, calendars, catalog ---------------------------------- */

/* A terminal as the SLA sees it: an asset with its zone's hours and its contract. */
struct kf_sla_terminal {
    char asset_id[KF_TERMINAL_ID_MAX + 1];
    char device_id[KF_DEVICE_ID_MAX + 1]; /* newest active device of the asset; "" if none */
    char zone_id[KF_TERMINAL_ID_MAX + 1];
    char bank[KF_TERMINAL_ID_MAX + 1];
    char unit[KF_TERMINAL_ID_MAX + 1]; /* the zone's county-level unit */
    uint8_t kind;                      /* enum kf_device_kind: 1 kiosk, 2 ITM */
    uint8_t has_contract;              /* 0: the built-in KF_SLA_DEFAULT_* terms */
    struct kf_week week;               /* kf_calendar_week_for_terminal of the zone's hours */
    struct kf_sla_terms terms;
};
/* Every asset (asset_id NULL) or one, ordered by asset id. -ENOENT: no such asset;
 * -EINVAL: a zone's hours are not valid (the message names the zone). */
int kf_store_sla_terminals(struct kf_store *st, const char *asset_id, struct kf_sla_terminal **ret,
                           size_t *ret_n);

/* A planned maintenance window of one asset or of every terminal of a zone. */
struct kf_sla_window_row {
    int64_t id;
    char asset_id[KF_TERMINAL_ID_MAX + 1]; /* "" for a zone's window */
    char zone_id[KF_TERMINAL_ID_MAX + 1];  /* "" for an asset's window */
    int64_t start_ms, end_ms;              /* [start, end), UTC */
    char reason[KF_TEXT_MAX + 1];
    char by[KF_WHO_MAX + 1];
    int64_t entered_ms;
};
/* Enter a window (kioskctl). target is a device id (its asset is taken), an asset id or,
 * with is_zone, a zone id. Windows are agreed ahead of time: start must not be before
 * now_ms, and end after start, at most 31 days later. Bumps the windows revision so that a
 * running kioskd reloads them. *ret_id: the new id. -EINVAL (message says why), -ENOENT. */
int kf_store_sla_window_add(struct kf_store *st, const char *target, int is_zone, int64_t start_ms,
                            int64_t end_ms, const char *reason, const char *by, int64_t now_ms,
                            int64_t *ret_id);
/* Every window (by start, then id), or those ending after since_ms. */
int kf_store_sla_windows(struct kf_store *st, int64_t since_ms, struct kf_sla_window_row **ret,
                         size_t *ret_n);
/* The windows of one terminal (its own and its zone's) from a list kf_store_sla_windows
 * returned, as kf_windows for the engine and the report. Writes at most cap; returns the
 * count there is (like snprintf). Pure. */
size_t kf_store_sla_windows_for(const struct kf_sla_window_row *rows, size_t n,
                                const struct kf_sla_terminal *t, struct kf_window *out, size_t cap);

/* Remember a calendar file's text for its year (replacing an older text of that year). */
int kf_store_sla_calendar_put(struct kf_store *st, int year, const char *text, const char *source,
                              int64_t now_ms);
/* Load every *.ini of dir (in name order; each strictly, kf_holidays_load_string) into h
 * and store each text for its year, as kf_store_load_fixtures reads its file. 0, -ENOENT
 * (no such directory), or the loader's error; err (cap bytes) names the file and line. */
int kf_store_sla_calendar_dir(struct kf_store *st, struct kf_holidays *h, const char *dir,
                              int64_t now_ms, char *err, size_t cap);
/* Load every stored year into h, except the years h already covers (files given to kioskd
 * win over older copies). err (cap bytes) says which stored text failed. */
int kf_store_sla_calendars_load(struct kf_store *st, struct kf_holidays *h, char *err, size_t cap);
/* Each stored calendar text, by year (a bank's bundle carries them). A non-zero return of cb
 * stops and is returned. text borrowed for the call. */
typedef int (*kf_store_sla_calendar_cb)(void *ud, int year, const char *text);
int kf_store_sla_calendar_each(struct kf_store *st, kf_store_sla_calendar_cb cb, void *ud);

/* A service item and the peripherals it needs (kf_devstate_needs_from_names of the catalog). */
struct kf_sla_item {
    char code[KF_ITEM_CODE_MAX + 1];
    uint32_t needs;
};
int kf_store_sla_items(struct kf_store *st, struct kf_sla_item **ret, size_t *ret_n);

/* ---- The engine's inputs and state (kioskd's store job) --------------------------------- */

struct kf_sla_cursor {
    int64_t fact_id;     /* facts up to this id were fed to the engine */
    int64_t tick_ms;     /* the instant the engine last ticked to */
    int64_t windows_rev; /* bumped by kf_store_sla_window_add */
    int64_t updated_ms;  /* wall clock of kioskd's last persist (0: never ran) */
};
int kf_store_sla_cursor(struct kf_store *st, struct kf_sla_cursor *ret);

/* One fact of the history, ready for kf_sla_fact. */
struct kf_sla_fact_row {
    int64_t id;
    char asset_id[KF_TERMINAL_ID_MAX + 1];
    char device_id[KF_DEVICE_ID_MAX + 1];
    int64_t recv_ms;
    int64_t seq; /* the device record's seq (periph, fault, maint facts); 0: none */
    struct kf_fact fact;
};
/* Facts with id > after_id, in id order, at most max. */
int kf_store_sla_facts(struct kf_store *st, int64_t after_id, size_t max,
                       struct kf_sla_fact_row **ret, size_t *ret_n);

/* Incidents: all (filter KF_SLA_INC_ALL), those a restarted engine needs (KF_SLA_INC_LIVE:
 * not closed, or resolved at or after since_ms), or those that can count in a period
 * (KF_SLA_INC_PERIOD: begun before until_ms, not resolved before since_ms). By id. */
enum kf_sla_inc_filter {
    KF_SLA_INC_ALL = 0,
    KF_SLA_INC_LIVE,
    KF_SLA_INC_PERIOD,
};
int kf_store_sla_incidents(struct kf_store *st, int filter, int64_t since_ms, int64_t until_ms,
                           struct kf_incident **ret, size_t *ret_n);
/* The incidents that can count in [since_ms, until_ms) as the engine had left them at
 * cut_ms: each the fold of its events recorded (persisted by a run) at or before cut_ms;
 * incidents with none are absent. An issued bill's figures use this with its month's close
 * (docs/BILLING.md, "The close"): a fact the engine took after the close changes the next
 * bill, as an adjustment, never this one. By id. */
int kf_store_sla_incidents_at(struct kf_store *st, int64_t cut_ms, int64_t since_ms,
                              int64_t until_ms, struct kf_incident **ret, size_t *ret_n);
/* The offline incidents an outage can group (rules/outage.h): those not closed, and closed
 * ones resolved at or after since_ms (a superset of those whose latest drop is). By id. */
int kf_store_sla_offline_incidents(struct kf_store *st, int64_t since_ms, struct kf_incident **ret,
                                   size_t *ret_n);
/* One incident. -ENOENT if none. */
int kf_store_sla_incident(struct kf_store *st, int64_t id, struct kf_incident *ret);
/* The highest incident id stored (0: none). */
int kf_store_sla_max_incident(struct kf_store *st, int64_t *ret);

/* Each asset's first report, by asset id: its first presence-online fact, or the earliest
 * effective instant of the records in its devices' first frame (a terminal that sends a
 * backlog on its first connection was working when those records were made), whichever is
 * earlier; assets that never reported are absent. *ret owned (free). */
struct kf_sla_first_online {
    char asset_id[KF_TERMINAL_ID_MAX + 1];
    int64_t at_ms;
};
int kf_store_sla_first_online(struct kf_store *st, struct kf_sla_first_online **ret, size_t *ret_n);

/* An event as stored: the event, when it was recorded, and the action that caused it. */
struct kf_sla_event_row {
    int64_t id;
    int64_t recorded_ms;
    int64_t action; /* sla_actions.id, 0: automatic */
    struct kf_inc_event ev;
};
/* An incident's history, in order. */
int kf_store_sla_events(struct kf_store *st, int64_t incident, struct kf_sla_event_row **ret,
                        size_t *ret_n);

/* A terminal's state as the engine last saw it. */
struct kf_sla_state_row {
    char asset_id[KF_TERMINAL_ID_MAX + 1];
    char device_id[KF_DEVICE_ID_MAX + 1];
    struct kf_devstate st;
};
int kf_store_sla_states(struct kf_store *st, struct kf_sla_state_row **ret, size_t *ret_n);
/* The same for the assets of ids (n of them, in ascending order, each once): their rows
 * only (at most n), read from the range [ids[0], ids[n - 1]]. */
int kf_store_sla_states_in(struct kf_store *st, const char *const *ids, size_t n,
                           struct kf_sla_state_row **ret, size_t *ret_n);
/* The same for one asset: 0 or 1 row. */
int kf_store_sla_state_of(struct kf_store *st, const char *asset_id, struct kf_sla_state_row **ret,
                          size_t *ret_n);

/* Each zone's terminals (assets, as kf_store_sla_terminals lists them) and how many of them
 * are in service: a state row that is online, not in maintenance and whose crit column has
 * no bit of down_mask (kf_devstate_down_mask of the catalog's needs: up or degraded). Read
 * from sla_terminal_state's columns (schema v23), no state parsed. Zones without a terminal
 * are absent; rows in zone id order (byte order). */
struct kf_sla_zone_count {
    char zone_id[KF_TERMINAL_ID_MAX + 1];
    int64_t terminals, in_service;
};
int kf_store_sla_zone_counts(struct kf_store *st, uint32_t down_mask,
                             struct kf_sla_zone_count **ret, size_t *ret_n);

/* ---- Technicians' actions ---------------------------------------------------------------- */

enum kf_sla_action_status {
    KF_SLA_ACTION_PENDING = 0,
    KF_SLA_ACTION_DONE,
    KF_SLA_ACTION_REFUSED,
};

struct kf_sla_action {
    int64_t id;
    int64_t incident;
    uint8_t kind; /* enum kf_ev: ACK, ON_SITE, RESOLVE, CLOSE, NOTE, ATTRIBUTE, ASSIGN */
    uint8_t to;   /* ATTRIBUTE: enum kf_attr */
    uint8_t status;
    uint8_t flags; /* RESOLVE: KF_EV_F_FORCED (kioskctl resolve --force) */
    char who[KF_WHO_MAX + 1];
    char text[KF_TEXT_MAX + 1];
    char assignee[KF_WHO_MAX + 1]; /* ASSIGN: the technician, "" to clear */
    int64_t requested_ms;          /* kioskctl's clock when queued */
    int64_t applied_ms;            /* kioskd's clock when applied or refused */
    int64_t at_ms;                 /* the instant the action took effect in the engine */
    char result[KF_TEXT_MAX + 1];
};
/* Queue an action (kioskctl). Checks the kind, who, text where required and that the
 * incident exists; the lifecycle is decided by kioskd. *ret_id: the action's id. */
int kf_store_sla_action_add(struct kf_store *st, const struct kf_sla_action *a, int64_t *ret_id);
/* Queue n actions at once (kioskctl ack ID ID..., ack --outage): each checked as above, all
 * in one transaction, all or none. At most KF_SLA_ACTIONS_BULK_MAX (-E2BIG); the same
 * incident twice is -EINVAL. On an error the message names the first bad incident and
 * *ret_bad (may be NULL) is its index in a. ret_ids (n entries) receives the ids. */
#define KF_SLA_ACTIONS_BULK_MAX 1000
int kf_store_sla_actions_add(struct kf_store *st, const struct kf_sla_action *a, size_t n,
                             int64_t *ret_ids, size_t *ret_bad);
/* One action by id (kioskctl waiting for the outcome). -ENOENT if none. */
int kf_store_sla_action(struct kf_store *st, int64_t id, struct kf_sla_action *ret);
/* Pending actions in id order, at most max (kioskd). */
int kf_store_sla_actions_pending(struct kf_store *st, size_t max, struct kf_sla_action **ret,
                                 size_t *ret_n);

/* ---- One engine run, persisted at once -------------------------------------------------- */

/* An event the engine emitted, with what it was applied to and why. */
struct kf_sla_persist_event {
    struct kf_inc_event ev;
    int64_t action;     /* the action that caused it, 0: automatic */
    const char *notice; /* the announcement's JSON, or NULL: not announced */
    const char *nkind;  /* its kind ("opened", "breach"...) when notice is set */
};

#define KF_STORE_SLA_SEAL "sla.run" /* the action of a run's seal in the signed log */

struct kf_sla_persist {
    int64_t fact_id, tick_ms;            /* the new cursor */
    const struct kf_incident *incidents; /* final state of every incident touched */
    size_t n_incidents;
    const struct kf_sla_persist_event *events; /* in emission order */
    size_t n_events;
    const struct kf_sla_state_row *states; /* terminals whose state changed */
    size_t n_states;
    const struct kf_sla_action *actions; /* actions applied or refused (status, result) */
    size_t n_actions;
    /* The run's seal (docs/SLA.md 12): when seal is set, an entry of the signed log
     * ("sla.run", actor "kioskd", detail = seal, a JSON object) is appended in the same
     * transaction, signed with server_sk (64 bytes). */
    const char *seal;
    const uint8_t *server_sk;
};
/* Write one run in one transaction: incidents (upsert), events, notices, states, cursor,
 * actions, its seal. All or nothing. */
int kf_store_sla_persist(struct kf_store *st, const struct kf_sla_persist *p, int64_t now_ms);

/* ---- Text forms (shared by the store, kioskd and kioskctl) ------------------------------- */

/* struct kf_devstate <-> compact JSON (sla_terminal_state.state). _to_json returns owned
 * text (free) or NULL; _from_json 0 or -EINVAL. */
char *kf_store_sla_devstate_to_json(const struct kf_devstate *st);
int kf_store_sla_devstate_from_json(const char *text, struct kf_devstate *ret);

#endif
