/* store/sqlite/ingest_usage.c: a commit's usage, summed per (device, day, item) and written
 * to usage_daily once per commit in multi-row upserts (docs/STORE.md, "What one commit
 * does", step 2), and the v8 schema of usage_daily. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/record.h>
#include <kf/time.h>

#include "rules/usage.h"
#include "store/ingest.h"
#include "store/store.h"
#include "store/sqlite/int.h"
#include "store/sla.h"

/* v8: usage_daily per device too, so that every usage figure, the per-device ones included,
 * comes from it, and records need no index on the day of their txns: that index was the
 * one part of a record's insert that did not append (BENCHMARKS.md, "The store alone"). A device
 * identity belongs to one asset for good, so the asset is not part of the key; the zone is
 * (an asset can move). Rebuilt from the txns, which usage_daily must equal (kioskctl
 * verify). */
const char *const kf__store_schema_usage[] = {
    "CREATE TABLE usage_daily_v8(day INTEGER NOT NULL, zone_id TEXT NOT NULL,"
    " asset_id TEXT NOT NULL, device_id TEXT NOT NULL, item TEXT NOT NULL,"
    " ok INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"
    " abandoned INTEGER NOT NULL DEFAULT 0, dur_ms_total INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(day, device_id, zone_id, item)) WITHOUT ROWID",
    "INSERT INTO usage_daily_v8 SELECT day, zone_id, asset_id, device_id, item,"
    " sum(outcome = 'ok'), sum(outcome = 'failed'), sum(outcome = 'abandoned'), sum(dur_ms)"
    " FROM txns GROUP BY 1, 2, 3, 4, 5",
    "DROP TABLE usage_daily",
    "ALTER TABLE usage_daily_v8 RENAME TO usage_daily",
    "DROP INDEX IF EXISTS records_txn_day", /* v7 no longer builds it only for v8 to drop */
    NULL,
};

/* The commit's usage, summed per device before it is written: usage_daily gets one row per
 * (device, day, item) the commit touched, not one per transaction, and all of them in a few
 * multi-row upserts at the end of the commit. */
struct kf__store_usage_row {
    int32_t day;
    const char *device_id; /* the frame's, valid until the commit ends */
    char asset_id[KF_ASSET_ID_MAX + 1];
    char zone_id[KF_ZONE_ID_MAX + 1];
    char item[KF_ITEM_CODE_MAX + 1];
    int64_t ok, failed, abandoned, dur_ms;
};

int kf__store_usage_add(struct kf__store_usage *acc, const char *device_id,
                        const struct kf__store_dev *dev, const struct kf_rec_txn *t, int32_t day)
{
    struct kf__store_usage_row *u = NULL;

    for (size_t i = acc->n; i-- > acc->dev_first;) {
        if (acc->rows[i].day == day && strcmp(acc->rows[i].item, t->item) == 0) {
            u = &acc->rows[i];
            break;
        }
    }
    if (!u) {
        if (acc->n == acc->cap) {
            size_t cap = acc->cap ? 2 * acc->cap : 256;
            struct kf__store_usage_row *rows = realloc(acc->rows, cap * sizeof(*rows));
            if (!rows)
                return -ENOMEM;
            acc->rows = rows;
            acc->cap = cap;
        }
        u = &acc->rows[acc->n++];
        memset(u, 0, sizeof(*u));
        u->day = day;
        u->device_id = device_id;
        memcpy(u->asset_id, dev->asset_id, sizeof(u->asset_id));
        memcpy(u->zone_id, dev->zone_id, sizeof(u->zone_id));
        snprintf(u->item, sizeof(u->item), "%s", t->item);
    }
    u->ok += t->outcome == KF_OUTCOME_OK;
    u->failed += t->outcome == KF_OUTCOME_FAILED;
    u->abandoned += t->outcome == KF_OUTCOME_ABANDONED;
    u->dur_ms += t->dur_ms;
    return 0;
}

int kf__store_usage_flush(struct kf_store *st, struct kf__store_usage *acc)
{
    struct kf__store_multi m;

    kf__store_multi_start(&m, MT_USAGE, acc->n);
    for (size_t i = 0; i < acc->n; i++) {
        const struct kf__store_usage_row *u = &acc->rows[i];
        sqlite3_stmt *s = NULL;
        int off, r = kf__store_multi_row(st, &m, &s, &off);

        if (r < 0)
            return r;
        sqlite3_bind_int(s, off + 1, u->day);
        sqlite3_bind_text(s, off + 2, u->zone_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, off + 3, u->asset_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, off + 4, u->device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, off + 5, u->item, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, off + 6, u->ok);
        sqlite3_bind_int64(s, off + 7, u->failed);
        sqlite3_bind_int64(s, off + 8, u->abandoned);
        sqlite3_bind_int64(s, off + 9, u->dur_ms);
        r = kf__store_multi_next(st, &m, "usage_daily");
        if (r < 0)
            return r;
    }
    acc->n = acc->dev_first = 0;
    return 0;
}
