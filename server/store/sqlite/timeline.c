/* store/sqlite/timeline.c: a terminal's facts over a period (store/timeline.h). Prepared per
 * call: one terminal's page asks for it once. sla_facts_asset (asset_id, id) narrows the read
 * to the asset's rows; facts are written on changes only, so those are few. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite/int.h"
#include "store/timeline.h"

static int fact_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_timeline_fact *f = row;

    (void)st;
    f->id = sqlite3_column_int64(s, 0);
    f->at_ms = sqlite3_column_int64(s, 1);
    f->recv_ms = sqlite3_column_int64(s, 2);
    kf__store_col_copy(f->kind, sizeof(f->kind), s, 3);
    f->value = (uint8_t)(sqlite3_column_int(s, 4) != 0);
    kf__store_col_copy(f->device_id, sizeof(f->device_id), s, 5);
    kf__store_col_copy(f->src, sizeof(f->src), s, 6);
    kf__store_col_copy(f->periph, sizeof(f->periph), s, 7);
    kf__store_col_copy(f->state, sizeof(f->state), s, 8);
    kf__store_col_copy(f->code, sizeof(f->code), s, 9);
    kf__store_col_copy(f->sev, sizeof(f->sev), s, 10);
    kf__store_col_copy(f->who, sizeof(f->who), s, 11);
    return 0;
}

/* Is asset_id an asset this connection sees? 0, -ENOENT, or the store's error. */
static int asset_known(struct kf_store *st, const char *asset_id)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st, "SELECT 1 FROM assets WHERE asset_id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, asset_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : kf__store_sql_fail(st, rc, "asset");
    sqlite3_finalize(s);
    if (r == -ENOENT)
        kf__store_seterr(st, "no asset %s", asset_id);
    return r;
}

int kf_store_timeline_facts(struct kf_store *st, const char *asset_id, int64_t from_ms,
                            int64_t to_ms, size_t max, struct kf_timeline_fact **ret, size_t *ret_n,
                            int *ret_cut)
{
    struct kf_timeline_fact *rows = NULL;
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    int r, cut;

    if (from_ms >= to_ms) {
        kf__store_seterr(st, "the period is empty");
        return -EINVAL;
    }
    if (max == 0 || max > (size_t)INT32_MAX)
        max = KF_STORE_TIMELINE_MAX;
    r = asset_known(st, asset_id);
    if (r < 0)
        return r;
    /* Newest first, one row past the bound to know whether it cut; turned around below. */
    r = kf__store_prep(st,
                       "SELECT id, at_ms, recv_ms, kind, value, device_id, src, periph, state,"
                       " code, sev, who FROM sla_facts WHERE asset_id = ?1 AND at_ms >= ?2"
                       " AND at_ms < ?3 ORDER BY at_ms DESC, id DESC LIMIT ?4",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, from_ms);
    sqlite3_bind_int64(s, 3, to_ms);
    sqlite3_bind_int64(s, 4, (int64_t)max + 1);
    r = kf__store_rows(st, s, sizeof(*rows), fact_fill, "timeline", (void **)&rows, &n);
    if (r < 0)
        return r;
    cut = n > max;
    if (cut)
        n = max; /* the extra row is the oldest: dropped */
    for (size_t i = 0; i < n / 2; i++) {
        struct kf_timeline_fact t = rows[i];

        rows[i] = rows[n - 1 - i];
        rows[n - 1 - i] = t;
    }
    *ret = rows;
    *ret_n = n;
    *ret_cut = cut;
    return 0;
}

int kf_store_timeline_before(struct kf_store *st, const char *asset_id, int64_t from_ms, size_t max,
                             struct kf_timeline_fact **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (max == 0 || max > (size_t)INT32_MAX)
        max = KF_STORE_TIMELINE_MAX;
    r = asset_known(st, asset_id);
    if (r < 0)
        return r;
    /* A series: presence, maint, one peripheral, one fault code. Its newest fact by instant
     * (then commit order, as the engine applies them) is its state at from_ms. */
    r = kf__store_prep(
        st,
        "SELECT id, at_ms, recv_ms, kind, value, device_id, src, periph, state, code, sev, who"
        " FROM (SELECT *, row_number() OVER (PARTITION BY kind, CASE kind WHEN 'periph' THEN"
        " periph WHEN 'fault' THEN code ELSE '' END ORDER BY at_ms DESC, id DESC) AS rn"
        " FROM sla_facts WHERE asset_id = ?1 AND at_ms < ?2)"
        " WHERE rn = 1 AND NOT (kind = 'fault' AND value = 0) ORDER BY at_ms, id LIMIT ?3",
        &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, from_ms);
    sqlite3_bind_int64(s, 3, (int64_t)max);
    return kf__store_rows(st, s, sizeof(**ret), fact_fill, "timeline", (void **)ret, ret_n);
}
