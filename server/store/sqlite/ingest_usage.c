/* store/sqlite/ingest_usage.c: a commit's usage, summed per (device, day, item) and written
 * to usage_daily once per commit in multi-row upserts (docs/STORE.md, "What one commit
 * does", step 2), with its rollups by month and year in the same transaction (docs/STORE.md,
 * "Usage rollups"); the v8 schema of usage_daily and the v12 rollups; the local calendar's
 * months and years, and which of the rollups a period is read from (kf__store_usage_plan). */
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

/* ---- Local calendar days, months and years ---------------------------------------------- */

/* A local day number (days since 1970-01-01, kf_local_day) as a date of the proleptic
 * Gregorian calendar, and back (H. Hinnant's civil_from_days / days_from_civil): plain
 * arithmetic, so that a commit pays no formatting for its months. */
static void civil_from_day(int32_t day, int32_t *ret_y, int32_t *ret_m, int32_t *ret_d)
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;

    *ret_y = (int32_t)(yoe + era * 400 + (m <= 2));
    *ret_m = (int32_t)m;
    *ret_d = (int32_t)(doy - (153 * mp + 2) / 5 + 1);
}

static int32_t day_from_civil(int32_t y, int32_t m, int32_t d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return (int32_t)(era * 146097 + doe - 719468);
}

int32_t kf__store_usage_month(int32_t day)
{
    int32_t y, m, d;

    civil_from_day(day, &y, &m, &d);
    return y * 100 + m;
}

int32_t kf__store_usage_year(int32_t day)
{
    return kf__store_usage_month(day) / 100;
}

int32_t kf__store_usage_month_start(int32_t yyyymm)
{
    return day_from_civil(yyyymm / 100, yyyymm % 100, 1);
}

/* The month after (or before, dir -1) YYYYMM. */
static int32_t month_add(int32_t yyyymm, int dir)
{
    int32_t y = yyyymm / 100, m = yyyymm % 100 + dir;

    if (m > 12)
        return (y + 1) * 100 + 1;
    if (m < 1)
        return (y - 1) * 100 + 12;
    return y * 100 + m;
}

/* Local days the rollups can hold: 1970-01-01 .. 9999-12-31 (a txn counts on the local day
 * of an effective time near its receipt by the server's clock). */
#define PLAN_DAY_MIN 0
#define PLAN_DAY_MAX 2932896

void kf__store_usage_plan(int32_t from, int32_t to, struct kf__store_usage_plan *ret)
{
    struct kf__store_usage_plan p = {
        .d1 = {1, 0}, .m1 = {1, 0}, .y = {1, 0}, .m2 = {1, 0}, .d2 = {1, 0}};
    int32_t m1, m2, y1, y2, y, m, d;

    from = from < PLAN_DAY_MIN ? PLAN_DAY_MIN : from;
    to = to > PLAN_DAY_MAX ? PLAN_DAY_MAX : to;
    if (from > to) {
        *ret = p;
        return;
    }
    /* The whole months inside [from, to]: m1 .. m2 (YYYYMM). */
    civil_from_day(from, &y, &m, &d);
    m1 = d == 1 ? y * 100 + m : month_add(y * 100 + m, 1);
    /* to is the last day of its month when the day after it is a first. */
    civil_from_day(to + 1, &y, &m, &d);
    m2 = month_add(d == 1 ? y * 100 + m : kf__store_usage_month(to), -1);
    if (m1 > m2) {
        p.d1[0] = from;
        p.d1[1] = to;
        *ret = p;
        return;
    }
    p.d1[0] = from;
    p.d1[1] = kf__store_usage_month_start(m1) - 1;
    p.d2[0] = kf__store_usage_month_start(month_add(m2, 1));
    p.d2[1] = to;
    /* The whole years inside those months: y1 .. y2. */
    y1 = m1 % 100 == 1 ? m1 / 100 : m1 / 100 + 1;
    y2 = m2 % 100 == 12 ? m2 / 100 : m2 / 100 - 1;
    if (y1 > y2) {
        p.m1[0] = m1;
        p.m1[1] = m2;
    } else {
        p.m1[0] = m1;
        p.m1[1] = (y1 - 1) * 100 + 12;
        p.y[0] = y1;
        p.y[1] = y2;
        p.m2[0] = (y2 + 1) * 100 + 1;
        p.m2[1] = m2;
    }
    *ret = p;
}

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

/* v12: usage_daily rolled up by month and by year (docs/STORE.md, "Usage rollups"): a year
 * of a 2,000-terminal city is ~25 million rows of usage_daily, and a figure over a year read
 * from it took 37 to 71 s (BENCHMARKS.md, "Usage at city scale"). Months are YYYYMM, years
 * YYYY, of the local calendar. Keyed as usage_daily is, by period, device, zone and item (a
 * device's asset is the devices table's: a device identity belongs to one asset for good),
 * so that every grouping can be read from them and a commit's rows of one period sit
 * together. The commit writes them beside usage_daily (kf__store_usage_flush); here they are
 * built from it, the coarser from the finer. */
#define ROLLUP_SUMS "sum(ok), sum(failed), sum(abandoned), sum(dur_ms_total)"
#define ROLLUP_COUNTS                                                                              \
    " ok INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"                           \
    " abandoned INTEGER NOT NULL DEFAULT 0, dur_ms_total INTEGER NOT NULL DEFAULT 0,"
#define FILL_MONTHLY                                                                               \
    "INSERT INTO usage_monthly SELECT"                                                             \
    " CAST(strftime('%Y%m', day * 86400, 'unixepoch') AS INTEGER), device_id, zone_id, item,"      \
    " " ROLLUP_SUMS " FROM usage_daily GROUP BY 1, device_id, zone_id, item"
#define FILL_YEARLY                                                                                \
    "INSERT INTO usage_yearly SELECT month / 100, device_id, zone_id, item, " ROLLUP_SUMS          \
    " FROM usage_monthly GROUP BY 1, device_id, zone_id, item"
const char *const kf__store_schema_rollups[] = {
    "CREATE TABLE usage_monthly(month INTEGER NOT NULL, device_id TEXT NOT NULL,"
    " zone_id TEXT NOT NULL, item TEXT NOT NULL," ROLLUP_COUNTS
    " PRIMARY KEY(month, device_id, zone_id, item)) WITHOUT ROWID",
    "CREATE TABLE usage_yearly(year INTEGER NOT NULL, device_id TEXT NOT NULL,"
    " zone_id TEXT NOT NULL, item TEXT NOT NULL," ROLLUP_COUNTS
    " PRIMARY KEY(year, device_id, zone_id, item)) WITHOUT ROWID",
    FILL_MONTHLY,
    FILL_YEARLY,
    NULL,
};

int kf_store_usage_rebuild(struct kf_store *st)
{
    static const char *const sql[] = {
        "DELETE FROM usage_monthly",
        "DELETE FROM usage_yearly",
        FILL_MONTHLY,
        FILL_YEARLY,
    };
    int own, r = kf__store_txn_enter(st, &own);

    for (size_t i = 0; r == 0 && i < sizeof(sql) / sizeof(sql[0]); i++)
        r = kf__store_exec_sql(st, sql[i]);
    return kf__store_txn_leave(st, own, r);
}

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

/* ---- The rollups of one commit ------------------------------------------------------- */

/* One rollup row: the key is the period and the first commit row folded into it (its device,
 * zone and item). */
struct rollup_row {
    int32_t period;
    const struct kf__store_usage_row *key;
    int64_t ok, failed, abandoned, dur_ms;
};

/* The commit's rows folded by one rollup's key: an open-addressed table of indexes into rows
 * (0: empty), sized to twice the commit's usage rows. */
struct rollup_fold {
    struct rollup_row *rows;
    uint32_t *slots;
    size_t n, nslots;
};

static const struct rollup {
    enum kf_multi id;
    const char *table;
    int32_t (*period)(int32_t day);
} rollups[] = {
    {MT_USAGE_MONTHLY, "usage_monthly", kf__store_usage_month},
    {MT_USAGE_YEARLY, "usage_yearly", kf__store_usage_year},
};

static uint64_t hash_str(uint64_t h, const char *s)
{
    while (*s)
        h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL;
}

static int same_key(const struct rollup_row *a, int32_t period, const struct kf__store_usage_row *u)
{
    return a->period == period && strcmp(a->key->item, u->item) == 0 &&
           strcmp(a->key->zone_id, u->zone_id) == 0 && strcmp(a->key->device_id, u->device_id) == 0;
}

static void fold(const struct rollup *ru, struct rollup_fold *f,
                 const struct kf__store_usage_row *u)
{
    int32_t period = ru->period(u->day);
    uint64_t h = (uint64_t)(uint32_t)period * UINT64_C(0x9E3779B97F4A7C15);
    size_t k;

    h = hash_str(hash_str(hash_str(h, u->item), u->zone_id), u->device_id);
    for (k = h % f->nslots; f->slots[k]; k = (k + 1) % f->nslots) {
        struct rollup_row *a = &f->rows[f->slots[k] - 1];

        if (same_key(a, period, u)) {
            a->ok += u->ok;
            a->failed += u->failed;
            a->abandoned += u->abandoned;
            a->dur_ms += u->dur_ms;
            return;
        }
    }
    f->rows[f->n] = (struct rollup_row){period, u, u->ok, u->failed, u->abandoned, u->dur_ms};
    f->slots[k] = (uint32_t)++f->n;
}

/* Upsert one rollup's rows: what the commit adds to each (period, key). */
static int rollup_write(struct kf_store *st, const struct rollup *ru, const struct rollup_fold *f)
{
    struct kf__store_multi m;

    kf__store_multi_start(&m, ru->id, f->n);
    for (size_t i = 0; i < f->n; i++) {
        const struct rollup_row *a = &f->rows[i];
        sqlite3_stmt *s = NULL;
        int off, r = kf__store_multi_row(st, &m, &s, &off);

        if (r < 0)
            return r;
        sqlite3_bind_int(s, off + 1, a->period);
        sqlite3_bind_text(s, off + 2, a->key->device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, off + 3, a->key->zone_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, off + 4, a->key->item, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, off + 5, a->ok);
        sqlite3_bind_int64(s, off + 6, a->failed);
        sqlite3_bind_int64(s, off + 7, a->abandoned);
        sqlite3_bind_int64(s, off + 8, a->dur_ms);
        r = kf__store_multi_next(st, &m, ru->table);
        if (r < 0)
            return r;
    }
    return 0;
}

static int rollups_write(struct kf_store *st, const struct kf__store_usage *acc)
{
    struct rollup_fold f = {0};
    int r = 0;

    if (acc->n == 0)
        return 0;
    f.nslots = 2 * acc->n + 1;
    f.rows = malloc(acc->n * sizeof(*f.rows));
    f.slots = malloc(f.nslots * sizeof(*f.slots));
    if (!f.rows || !f.slots) {
        r = -ENOMEM;
        goto out_free;
    }
    for (size_t k = 0; r == 0 && k < sizeof(rollups) / sizeof(rollups[0]); k++) {
        f.n = 0;
        memset(f.slots, 0, f.nslots * sizeof(*f.slots));
        for (size_t i = 0; i < acc->n; i++)
            fold(&rollups[k], &f, &acc->rows[i]);
        r = rollup_write(st, &rollups[k], &f);
    }
out_free:
    free(f.rows);
    free(f.slots);
    return r;
}

int kf__store_usage_flush(struct kf_store *st, struct kf__store_usage *acc)
{
    struct kf__store_multi m;
    int r;

    kf__store_multi_start(&m, MT_USAGE, acc->n);
    for (size_t i = 0; i < acc->n; i++) {
        const struct kf__store_usage_row *u = &acc->rows[i];
        sqlite3_stmt *s = NULL;
        int off;

        r = kf__store_multi_row(st, &m, &s, &off);
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
    r = rollups_write(st, acc);
    if (r < 0)
        return r;
    acc->n = acc->dev_first = 0;
    return 0;
}
