/* store/sqlite/reports.c: the bureau's reports' reads (store/reports.h). Nothing here is on
 * the ingest path: statements are prepared per call. The usage figures come from
 * usage_daily alone (as every usage figure does, docs/STORE.md), read by its key's first
 * column, the day. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/reports.h"
#include "store/sqlite/int.h"

/* ---- Names ------------------------------------------------------------------------------------
 */

static int name_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_reports_name *n = row;

    (void)st;
    kf__store_col_copy(n->code, sizeof(n->code), s, 0);
    kf__store_col_copy(n->name, sizeof(n->name), s, 1);
    kf__store_col_copy(n->family, sizeof(n->family), s, 2);
    return 0;
}

int kf_store_reports_names(struct kf_store *st, const char *kind, struct kf_reports_name **ret,
                           size_t *ret_n)
{
    static const struct {
        const char *kind, *sql;
    } q[] = {
        {"unit", "SELECT code, name, NULL FROM units ORDER BY code"},
        {"bank", "SELECT code, name, NULL FROM banks ORDER BY code"},
        {"family", "SELECT code, name, NULL FROM families ORDER BY code"},
        {"item", "SELECT code, name, family FROM items ORDER BY code"},
    };
    sqlite3_stmt *s = NULL;
    int r;

    for (size_t i = 0; kind && i < sizeof(q) / sizeof(q[0]); i++) {
        if (strcmp(kind, q[i].kind) != 0)
            continue;
        r = kf__store_prep(st, q[i].sql, &s);
        if (r < 0)
            return r;
        return kf__store_rows(st, s, sizeof(**ret), name_fill, kind, (void **)ret, ret_n);
    }
    kf__store_seterr(st, "no names of kind %s", kind ? kind : "(null)");
    return -EINVAL;
}

/* ---- Zones ------------------------------------------------------------------------------------
 */

/* zones.hours ({"weekday": spec, "weekend": spec|null}) and itm_hours -> the weeks of the
 * zone's kiosks and ITMs, as the SLA reads them (store/sqlite/sla_admin.c). */
static int zone_weeks(const char *hours_json, const char *itm_hours, struct kf_reports_zone *z)
{
    json_error_t jerr;
    json_t *h = json_loads(hours_json, 0, &jerr);
    json_t *wd = json_object_get(h, "weekday"), *we = json_object_get(h, "weekend");
    const char *wds = json_string_value(wd),
               *wes = json_is_string(we) ? json_string_value(we) : NULL;
    int r = -EINVAL;

    if (json_is_string(wd) && (we == NULL || json_is_string(we) || json_is_null(we)) &&
        kf_calendar_week_for_terminal(wds, wes, itm_hours, 0, &z->kiosk_week) == 0 &&
        kf_calendar_week_for_terminal(wds, wes, itm_hours, 1, &z->itm_week) == 0)
        r = 0;
    json_decref(h);
    return r;
}

static int zone_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_reports_zone *z = row;

    kf__store_col_copy(z->id, sizeof(z->id), s, 0);
    kf__store_col_copy(z->name, sizeof(z->name), s, 1);
    kf__store_col_copy(z->branch, sizeof(z->branch), s, 2);
    kf__store_col_copy(z->unit, sizeof(z->unit), s, 3);
    kf__store_col_copy(z->bank, sizeof(z->bank), s, 4);
    z->kiosks = sqlite3_column_int64(s, 5);
    z->itms = sqlite3_column_int64(s, 6);
    if (zone_weeks(kf__store_col_text(s, 7),
                   sqlite3_column_type(s, 8) == SQLITE_NULL ? NULL : kf__store_col_text(s, 8),
                   z) < 0) {
        kf__store_seterr(st, "zone %s: its hours are not valid opening hours (docs/SLA.md 2.1)",
                         z->id);
        return -EINVAL;
    }
    return 0;
}

int kf_store_reports_zones(struct kf_store *st, struct kf_reports_zone **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT id, name, branch, unit, bank, kiosks, itms, hours, itm_hours"
                           " FROM zones ORDER BY id",
                           &s);

    if (r < 0)
        return r;
    return kf__store_rows(st, s, sizeof(**ret), zone_fill, "zones", (void **)ret, ret_n);
}

/* ---- Usage ------------------------------------------------------------------------------------
 */

static int usage_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_reports_usage *u = row;

    (void)st;
    u->day = (int32_t)sqlite3_column_int64(s, 0);
    kf__store_col_copy(u->zone, sizeof(u->zone), s, 1);
    kf__store_col_copy(u->asset, sizeof(u->asset), s, 2);
    kf__store_col_copy(u->item, sizeof(u->item), s, 3);
    u->ok = sqlite3_column_int64(s, 4);
    u->failed = sqlite3_column_int64(s, 5);
    u->abandoned = sqlite3_column_int64(s, 6);
    return 0;
}

int kf_store_reports_usage(struct kf_store *st, int32_t from_day, int32_t to_day,
                           struct kf_reports_usage **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT day, zone_id, asset_id, item, sum(ok), sum(failed),"
                           " sum(abandoned) FROM usage_daily WHERE day BETWEEN ?1 AND ?2"
                           " GROUP BY day, zone_id, asset_id, item ORDER BY 1, 2, 3, 4",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, from_day);
    sqlite3_bind_int64(s, 2, to_day);
    return kf__store_rows(st, s, sizeof(**ret), usage_fill, "usage", (void **)ret, ret_n);
}

/* ---- Presence ---------------------------------------------------------------------------------
 */

static int asset_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    (void)st;
    kf__store_col_copy(row, KF_TERMINAL_ID_MAX + 1, s, 0);
    return 0;
}

int kf_store_reports_online(struct kf_store *st, int64_t from_ms, int64_t to_ms,
                            char (**ret)[KF_TERMINAL_ID_MAX + 1], size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    /* Facts are taken in commit order (docs/SLA.md 10.1): the state at the period's start is
     * the last presence fact before it. */
    int r = kf__store_prep(st,
                           "SELECT asset_id FROM sla_facts WHERE kind = 'presence' AND value = 1"
                           " AND at_ms >= ?1 AND at_ms < ?2"
                           " UNION SELECT f.asset_id FROM sla_facts f JOIN"
                           " (SELECT max(id) AS id FROM sla_facts WHERE kind = 'presence'"
                           "  AND at_ms < ?1 GROUP BY asset_id) l ON f.id = l.id"
                           " WHERE f.value = 1 ORDER BY 1",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, from_ms);
    sqlite3_bind_int64(s, 2, to_ms);
    return kf__store_rows(st, s, sizeof(**ret), asset_fill, "presence", (void **)ret, ret_n);
}
