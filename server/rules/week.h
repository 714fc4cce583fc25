/* rules/week.h: the bureau's weekly report (周报, issue 16) over one ISO week, Monday to
 * Sunday in Asia/Shanghai: per county-level unit, bank, zone, service family and item,
 * terminals planned, commissioned and reporting, availability in service hours,
 * transactions and completed transactions per terminal per service day, the zones and
 * terminals with no activity, the busiest and quietest zones, the change against the week
 * before and the incidents still open at the week's end. Every zone appears, active or not.
 *
 * Pure: plain values in (the registry, each terminal's hours and intervals in service, the
 * usage rows of both weeks, the availability per zone of both weeks, incidents), a report
 * out and its canonical JSON ("kioskfleet.week/1") with deterministic bytes. Nothing here
 * reads a clock, a file or the store; every figure is an integer (docs/REPORTS.md defines
 * each one). Any thread; the functions share no state.
 */
#ifndef KF_RULES_WEEK_H
#define KF_RULES_WEEK_H

#include <stddef.h>
#include <stdint.h>

#include "rules/calendar.h"
#include "rules/incident.h"

#define KF_WEEK_DOC "kioskfleet.week/1"
#define KF_WEEK_NA INT64_MIN /* a figure with nothing to divide by: null in JSON */
#define KF_WEEK_RANK_N 5     /* zones in each of the busiest and quietest lists */
/* A week closes this long after its end (Sunday 24:00 local): Monday 09:00. */
#define KF_WEEK_CLOSE_DELAY_DEFAULT_MS (9LL * 3600 * 1000)
#define KF_WEEK_CLOSE_DELAY_MAX_MS (7LL * 86400 * 1000)

/* ---- ISO weeks (Asia/Shanghai) ------------------------------------------------------------ */

/* The ISO year and week (1..53) of a local day (days since 1970-01-01). */
void kf_week_of_day(int32_t day, int *ret_year, int *ret_week);
/* The Monday of ISO week (year, week), as a local day. -EINVAL: no such week (week 53 of a
 * year that has 52, year outside 1900..9998). */
int kf_week_first_day(int iso_year, int iso_week, int32_t *ret_day);
/* [*ret_from, *ret_to): the week's first and the next week's first local midnight, UTC ms. */
int kf_week_range(int iso_year, int iso_week, int64_t *ret_from, int64_t *ret_to);
/* The week before. */
void kf_week_prev(int iso_year, int iso_week, int *ret_year, int *ret_week);
/* "2026-W41" <-> (2026, 41). parse: 0 or -EINVAL (also for a week the year lacks).
 * format: buf >= 9 bytes; returns buf. */
int kf_week_parse(const char *s, int *ret_year, int *ret_week);
char *kf_week_format(int iso_year, int iso_week, char *buf, size_t cap);
/* The instant the week closes: its end plus delay_ms (0..KF_WEEK_CLOSE_DELAY_MAX_MS). */
int64_t kf_week_close_ms(int iso_year, int iso_week, int64_t delay_ms);
/* The last week closed at now_ms for that delay. */
void kf_week_last_closed(int64_t now_ms, int64_t delay_ms, int *ret_year, int *ret_week);

/* ---- Inputs (all borrowed; strings UTF-8, codes at most KF_TERMINAL_ID_MAX bytes) --------- */

struct kf_week_name {
    const char *code, *name;
};
struct kf_week_item {
    const char *code, *family, *name;
};
/* A zone of the plan: its unit, its bank, and the terminals planned there (the registry's
 * zones.kiosks and zones.itms). */
struct kf_week_zone_in {
    const char *id, *name, *branch, *unit, *bank;
    int64_t kiosks, itms;
};
/* A terminal at a zone: the intervals in which it was in service there (commissioning to
 * decommissioning, any order; rules/report.h's service intervals), its opening hours, and
 * whether kioskd saw it online (presence facts) at some instant of the week. An asset moved
 * between zones is one entry per zone. */
struct kf_week_terminal_in {
    const char *asset, *zone;
    uint8_t kind; /* 1 kiosk, 2 ITM */
    const struct kf_week *hours;
    const struct kf_window *service;
    size_t n_service;
    uint8_t online;
};
/* One row of usage_daily summed over the asset's devices: local day, the zone the
 * transactions were made at, the asset, the item, the counts by outcome. */
struct kf_week_usage_in {
    int32_t day;
    const char *zone, *asset, *item;
    int64_t ok, failed, abandoned;
};
/* A zone's availability over one week, as the SLA report's zone row has it (rules/report.h):
 * owed_s = scheduled_s - excluded_s, uptime_s, target_owed. */
struct kf_week_avail_in {
    const char *zone;
    int64_t owed_s, uptime_s, target_owed;
};
/* An incident (rules/incident.h) with the zone of its terminal. */
struct kf_week_incident_in {
    const struct kf_incident *inc;
    const char *zone;
};
/* A named digest of an input (BLAKE2b-256, lowercase hex): the "inputs" object. */
struct kf_week_digest {
    const char *name, *hex;
};

struct kf_week_input {
    int iso_year, iso_week;
    int draft;                     /* the week has not closed: the document says so */
    const struct kf_holidays *hol; /* the stored calendars; NULL: no holidays */
    const struct kf_week_name *units, *banks, *families;
    size_t n_units, n_banks, n_families;
    const struct kf_week_item *items;
    size_t n_items;
    const struct kf_week_zone_in *zones;
    size_t n_zones;
    const struct kf_week_terminal_in *terminals;
    size_t n_terminals;
    /* Usage rows of this week and the previous one, any order; rows of other days are
     * ignored. A row whose zone or item the registry does not know counts in no figure but
     * "uncounted" (as kioskctl usage leaves unknown items out). */
    const struct kf_week_usage_in *usage;
    size_t n_usage;
    /* Availability per zone: [0] this week, [1] the previous week. A zone absent has nothing
     * owed (n/a). avail_as_of_ms: the instant this week's figures were cut at (the week's end
     * once the SLA engine has processed past it). */
    const struct kf_week_avail_in *avail[2];
    size_t n_avail[2];
    int64_t avail_as_of_ms;
    /* The instant the incidents were taken as the SLA engine had them (a closed week's
     * close, or when it was frozen); 0: as they stood when computed. Written in the
     * document, so that a recompute uses the same cut. */
    int64_t incidents_cut_ms;
    const struct kf_week_incident_in *incidents;
    size_t n_incidents;
    /* The inputs' digests, written as given, in this order (names unique). */
    const struct kf_week_digest *inputs;
    size_t n_inputs;
};

/* ---- The report ----------------------------------------------------------------------------- */

enum kf_week_status {
    KF_WEEK_ACTIVE = 1,    /* some transaction in the week */
    KF_WEEK_NO_TXNS,       /* terminals reporting, no transaction */
    KF_WEEK_NOT_REPORTING, /* terminals in service, none reporting */
    KF_WEEK_NO_TERMINALS,  /* no terminal in service in the week */
};
const char *kf_week_status_name(int status); /* "active", "no_transactions", ... */

/* One row of a view (docs/REPORTS.md defines every figure). Strings borrowed from the input.
 * Figures that do not apply to a view are 0 (and not written); KF_WEEK_NA: n/a. */
struct kf_week_row {
    const char *code, *name;
    const char *unit, *bank, *branch; /* zone rows */
    const char *family;               /* item rows */
    int status;                       /* zone rows: enum kf_week_status */
    int64_t zones, zones_commissioned, zones_reporting, zones_active; /* roll-ups; family and
                                                                         item: zones_active */
    int64_t items;                                                    /* family rows */
    int64_t planned_kiosks, planned_itms, planned, commissioned, reporting, active;
    int64_t service_days; /* zone rows: days with some terminal in scheduled service */
    int64_t terminal_days;
    int64_t ok, failed, abandoned, total;
    int64_t ok_per_terminal_day_x100;         /* floor(100 x ok / terminal_days), NA */
    int64_t ok_prev, ok_change, ok_change_pm; /* pm: floor(1000 x change / ok_prev), NA */
    int64_t owed_s, uptime_s, target_owed;
    int64_t availability_bp, target_bp; /* NA */
    int64_t owed_prev_s, uptime_prev_s;
    int64_t availability_prev_bp, availability_change_bp; /* NA */
    int64_t open_incidents;
};

/* A terminal in service in the week with no transaction. */
struct kf_week_idle {
    const char *asset, *zone;
    uint8_t kind, reporting;
    int64_t terminal_days;
};

struct kf_week_day {
    int32_t day;
    uint8_t kind;     /* enum kf_datekind */
    const char *name; /* the calendar's name for a listed day, "" */
};

struct kf_week_report {
    int iso_year, iso_week, prev_year, prev_week, draft;
    int32_t first_day; /* Monday */
    int64_t from_ms, to_ms, avail_as_of_ms, incidents_cut_ms;
    struct kf_week_day days[7];
    struct kf_week_row fleet;
    struct kf_week_row *units, *banks, *zones, *families, *items; /* each by code */
    size_t n_units, n_banks, n_zones, n_families, n_items;
    size_t *inactive; /* zones with no transaction: indices into zones, by zone id */
    size_t n_inactive;
    struct kf_week_idle *idle; /* by zone, then asset */
    size_t n_idle;
    /* Indices into zones, best first: completed per terminal per service day, descending
     * (busiest) or ascending (quietest), ties by zone id; zones with terminal days only. */
    size_t busiest[KF_WEEK_RANK_N], quietest[KF_WEEK_RANK_N];
    size_t n_busiest, n_quietest;
    int64_t uncounted; /* this week's transactions of an unknown zone or item */
    const struct kf_week_digest *inputs;
    size_t n_inputs;
};

/* Compute the week's report. The report borrows the input's strings: keep the input alive
 * while it is used. 0; -EINVAL (no such week; a zone naming an unknown unit or bank, an item
 * an unknown family, a code given twice, a terminal at an unknown zone; err says which),
 * -ENOMEM. *ret owned: kf_week_free. */
int kf_week_compute(const struct kf_week_input *in, struct kf_week_report **ret, char *err,
                    size_t cap);
void kf_week_free(struct kf_week_report *r); /* NULL is a no-op */

/* The report's canonical JSON (docs/REPORTS.md "The document"): compact, keys in a fixed
 * order, integers only, n/a as null, no wall-clock time. *ret owned (free), NUL-terminated.
 * 0 or -ENOMEM. */
int kf_week_json(const struct kf_week_report *r, char **ret, size_t *ret_len);

/* The canonical texts the inputs' digests are taken over (docs/REPORTS.md "Inputs"):
 * registry (units, banks, zones with their plan, families, items, terminals with their
 * hours and intervals in service), presence (each terminal's online flag), usage (the
 * rows of both weeks), availability (both weeks' zone rows), incidents (those given). */
enum kf_week_text {
    KF_WEEK_TEXT_REGISTRY = 1,
    KF_WEEK_TEXT_PRESENCE,
    KF_WEEK_TEXT_USAGE,
    KF_WEEK_TEXT_AVAILABILITY,
    KF_WEEK_TEXT_INCIDENTS,
};
/* *ret owned (free), NUL-terminated, *ret_len bytes. 0, -EINVAL, -ENOMEM. */
int kf_week_text(const struct kf_week_input *in, int which, char **ret, size_t *ret_len);
/* KF_WEEK_TEXT_USAGE's text is its head line, then one line per usage row of the two weeks,
 * sorted: a caller that has the rows in that order already (the store gives them by day,
 * zone, asset, item) can digest the text as it reads them instead of holding it, with the
 * same bytes: each line is kf_week_usage_line's, followed by '\n'. */
#define KF_WEEK_USAGE_HEAD "kioskfleet/week-usage/v1"
/* Row u's line (no '\n') into buf[cap]: its length; -EINVAL when a field holds a tab or a
 * line break, -ENOSPC when it does not fit. day: u->day as kf_day_format writes it (a caller
 * with many rows of few days formats each day once), or NULL to format it here. */
int kf_week_usage_line(const struct kf_week_usage_in *u, const char *day, char *buf, size_t cap);

/* Shared with rules/coverage.c. */
/* A growing text buffer; the first failure sticks. */
struct kf__week_sb {
    char *buf;
    size_t len, cap;
    int err;
};
void kf__week_sb_printf(struct kf__week_sb *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A text field: tabs and line breaks would break a line of a canonical text: -EINVAL. */
void kf__week_sb_field(struct kf__week_sb *sb, const char *s);
int kf__week_sb_finish(struct kf__week_sb *sb, char **ret, size_t *ret_len);
/* Lines of a canonical text: added in any order, sorted and joined under a head line. */
struct kf__week_lines {
    char **v;
    size_t n, cap;
    int err;
};
void kf__week_lines_add(struct kf__week_lines *l, struct kf__week_sb *sb); /* takes sb's text */
int kf__week_lines_join(struct kf__week_lines *l, const char *head, char **ret, size_t *ret_len);
void kf__week_usage_line(struct kf__week_lines *l, const struct kf_week_usage_in *u);
/* Does any interval of w[0..n) meet [from, to)? */
int kf__week_in_service(const struct kf_window *w, size_t n, int64_t from, int64_t to);
/* floor(a * m / b) for b > 0, or KF_WEEK_NA when b <= 0 (128-bit product). */
int64_t kf__week_ratio(int64_t a, int64_t m, int64_t b);

#endif
