/* store/sqlite/plan.c: the plan and the per-zone figures of the assessment (store/plan.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/plan.h"
#include "store/sqlite/int.h"

/* The local (UTC+8, no daylight saving) day of an instant in ms, in SQL; instants are after
 * 1970 here. Matches kf_usage_day. */
#define LOCAL_DAY(col) "((" col " + 28800000) / 86400000)"

static int zone_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_plan_zone *z = row;

    (void)st;
    kf__store_col_copy(z->id, sizeof(z->id), s, 0);
    kf__store_col_copy(z->unit, sizeof(z->unit), s, 1);
    kf__store_col_copy(z->bank, sizeof(z->bank), s, 2);
    z->kiosks = (uint32_t)sqlite3_column_int(s, 3);
    z->itms = (uint32_t)sqlite3_column_int(s, 4);
    kf__store_col_copy(z->hours, sizeof(z->hours), s, 5);
    return 0;
}

int kf_store_plan_zones(struct kf_store *st, struct kf_plan_zone **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r =
        kf__store_prep(st, "SELECT id, unit, bank, kiosks, itms, hours FROM zones ORDER BY id", &s);

    if (r < 0)
        return r;
    return kf__store_rows(st, s, sizeof(**ret), zone_fill, "zones", (void **)ret, ret_n);
}

static int day_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_plan_zone_day *d = row;

    (void)st;
    kf__store_col_copy(d->zone, sizeof(d->zone), s, 0);
    d->day = sqlite3_column_int(s, 1);
    d->ok = sqlite3_column_int64(s, 2);
    d->failed = sqlite3_column_int64(s, 3);
    d->abandoned = sqlite3_column_int64(s, 4);
    return 0;
}

int kf_store_plan_usage_days(struct kf_store *st, int32_t from_day, int32_t to_day,
                             struct kf_plan_zone_day **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT zone_id, day, sum(ok), sum(failed), sum(abandoned)"
                           " FROM usage_daily WHERE day >= ?1 AND day < ?2"
                           " GROUP BY zone_id, day ORDER BY zone_id, day",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int(s, 1, from_day);
    sqlite3_bind_int(s, 2, to_day);
    return kf__store_rows(st, s, sizeof(**ret), day_fill, "usage by zone and day", (void **)ret,
                          ret_n);
}

static int item_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_plan_zone_item *it = row;

    (void)st;
    kf__store_col_copy(it->zone, sizeof(it->zone), s, 0);
    kf__store_col_copy(it->item, sizeof(it->item), s, 1);
    it->last_day = sqlite3_column_int(s, 2);
    return 0;
}

int kf_store_plan_items_used(struct kf_store *st, int32_t from_day, int32_t to_day,
                             struct kf_plan_zone_item **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT u.zone_id, u.item, max(u.day) FROM usage_daily u"
                           " JOIN items i ON i.code = u.item"
                           " WHERE u.day >= ?1 AND u.day < ?2 AND u.ok > 0"
                           " GROUP BY u.zone_id, u.item ORDER BY u.zone_id, u.item",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int(s, 1, from_day);
    sqlite3_bind_int(s, 2, to_day);
    return kf__store_rows(st, s, sizeof(**ret), item_fill, "items used", (void **)ret, ret_n);
}

int kf_store_plan_catalog_size(struct kf_store *st, uint32_t *ret)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st, "SELECT count(*) FROM items", &s);
    int rc;

    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = (uint32_t)sqlite3_column_int(s, 0);
    else
        r = kf__store_sql_fail(st, rc, "catalog");
    sqlite3_finalize(s);
    return r;
}

static int data_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_plan_data_day *d = row;

    (void)st;
    kf__store_col_copy(d->zone, sizeof(d->zone), s, 0);
    d->day = sqlite3_column_int(s, 1);
    return 0;
}

int kf_store_plan_data_days(struct kf_store *st, int32_t from_day, int32_t to_day,
                            struct kf_plan_data_day **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    /* Facts are few (state changes, not readings): their scan is by id order, cut to the
     * range's instants. The server's own presence facts of a will or a timeout are not data
     * the terminal sent: only a connection is. */
    int r = kf__store_prep(
        st,
        "SELECT zone_id, day FROM usage_daily WHERE day >= ?1 AND day < ?2"
        " UNION"
        " SELECT a.zone_id, " LOCAL_DAY(
            "f.at_ms") " FROM sla_facts f"
                       " JOIN assets a ON a.asset_id = f.asset_id"
                       " WHERE f.at_ms >= ?1 * 86400000 - 28800000 AND f.at_ms < ?2 * 86400000 - "
                       "28800000"
                       " AND (f.kind <> 'presence' OR (f.value = 1 AND f.src = 'connect'))"
                       " ORDER BY 1, 2",
        &s);

    if (r < 0)
        return r;
    sqlite3_bind_int(s, 1, from_day);
    sqlite3_bind_int(s, 2, to_day);
    return kf__store_rows(st, s, sizeof(**ret), data_fill, "days with data", (void **)ret, ret_n);
}
