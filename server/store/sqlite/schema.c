/* store/sqlite/schema.c: the schema and its migrations, by PRAGMA user_version (int.h). The
 * tables of each version after the first are declared beside the code that uses them
 * (kf__store_schema_* in int.h). docs/STORE.md describes the tables. */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/notify.h>
#include <kf/record.h>
#include <kf/time.h>

#include "store/registry.h"
#include "store/store.h"
#include "store/sqlite/int.h"

/* Schema migrations, in order: entry i takes user_version i to i + 1. Each is a
 * NULL-terminated list of statements; the SQL of later versions lives beside the code that
 * uses it (store_<area>.c) and is declared in store/sqlite/int.h. */
static const char *const schema_v1[] = {
    "CREATE TABLE units(code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL)",
    "CREATE TABLE banks(code TEXT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE zones(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " bank TEXT NOT NULL REFERENCES banks(code), branch TEXT NOT NULL,"
    " unit TEXT NOT NULL REFERENCES units(code), address TEXT NOT NULL,"
    " kiosks INTEGER NOT NULL DEFAULT 0, itms INTEGER NOT NULL DEFAULT 0,"
    " hours TEXT NOT NULL, itm_hours TEXT)",
    "CREATE TABLE families(code TEXT PRIMARY KEY, name TEXT NOT NULL, name_en TEXT NOT NULL)",
    "CREATE TABLE items(code TEXT PRIMARY KEY, family TEXT NOT NULL REFERENCES families(code),"
    " name TEXT NOT NULL, name_en TEXT NOT NULL, needs TEXT NOT NULL,"
    " weight INTEGER NOT NULL DEFAULT 1)",
    "CREATE TABLE assets(asset_id TEXT PRIMARY KEY, kind INTEGER NOT NULL,"
    " zone_id TEXT NOT NULL REFERENCES zones(id), lease_ref TEXT, created_ms INTEGER NOT NULL)",
    "CREATE TABLE devices(device_id TEXT PRIMARY KEY,"
    " asset_id TEXT NOT NULL REFERENCES assets(asset_id), created_ms INTEGER NOT NULL,"
    " status INTEGER NOT NULL DEFAULT 1, online INTEGER NOT NULL DEFAULT 0,"
    " state_since_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL DEFAULT 0,"
    " last_state_device_ms INTEGER NOT NULL DEFAULT -9223372036854775808,"
    " acked_seq INTEGER NOT NULL DEFAULT 0, agent TEXT, boot_id TEXT, clock_offset_ms INTEGER,"
    " health_dropped INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX devices_asset ON devices(asset_id)",
    "CREATE TABLE device_keys(device_id TEXT NOT NULL REFERENCES devices(device_id),"
    " epoch INTEGER NOT NULL, pk BLOB NOT NULL, status INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL, PRIMARY KEY(device_id, epoch)) WITHOUT ROWID",
    "CREATE TABLE envelopes(id INTEGER PRIMARY KEY,"
    " device_id TEXT NOT NULL REFERENCES devices(device_id), key_epoch INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, flags INTEGER NOT NULL, seq_first INTEGER NOT NULL,"
    " count INTEGER NOT NULL, device_ms INTEGER NOT NULL, clock_offset_ms INTEGER NOT NULL,"
    " recv_ms INTEGER NOT NULL, commit_ms INTEGER NOT NULL, topic TEXT NOT NULL,"
    " raw BLOB NOT NULL)",
    /* Covering for the high-water-mark walk: it reads seq_first and count only. */
    "CREATE INDEX envelopes_dev_seq ON envelopes(device_id, seq_first, count)",
    /* One row per record; a transaction's own columns live in the same row (NULL for other
     * types), so the idempotent insert of a txn is one B-tree write, not two. envelope_id is
     * not declared a foreign key: the commit inserts each record with the id of the envelope
     * it inserted just before, in the same transaction, and a declared key would cost a
     * B-tree lookup per record on the hottest path (BENCHMARKS.md). v7 keys it in commit
     * order instead (kf__store_schema_records, store/sqlite/ingest.c). */
    "CREATE TABLE records(device_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " envelope_id INTEGER NOT NULL, type INTEGER NOT NULL,"
    " device_ts_ms INTEGER NOT NULL, effective_ms INTEGER NOT NULL, recv_ms INTEGER NOT NULL,"
    " flags INTEGER NOT NULL, asset_id TEXT, zone_id TEXT, item TEXT, outcome TEXT,"
    " dur_ms INTEGER, day INTEGER, PRIMARY KEY(device_id, seq)) WITHOUT ROWID",
    "CREATE INDEX records_txn_day ON records(day) WHERE type = 1",
    "CREATE VIEW txns AS SELECT device_id, seq, asset_id, zone_id, item, outcome,"
    " effective_ms AS start_ms, dur_ms, day FROM records WHERE type = 1",
    "CREATE TABLE usage_daily(day INTEGER NOT NULL, zone_id TEXT NOT NULL,"
    " asset_id TEXT NOT NULL, item TEXT NOT NULL, ok INTEGER NOT NULL DEFAULT 0,"
    " failed INTEGER NOT NULL DEFAULT 0, abandoned INTEGER NOT NULL DEFAULT 0,"
    " dur_ms_total INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(day, zone_id, asset_id, item)) WITHOUT ROWID",
    "CREATE TABLE health_latest(device_id TEXT PRIMARY KEY REFERENCES devices(device_id),"
    " seq INTEGER NOT NULL, ts_ms INTEGER NOT NULL, recv_ms INTEGER NOT NULL,"
    " cpu_pm INTEGER NOT NULL, mem_total_kb INTEGER NOT NULL, mem_avail_kb INTEGER NOT NULL,"
    " disk_total_kb INTEGER NOT NULL, disk_avail_kb INTEGER NOT NULL, temp_mc INTEGER,"
    " uptime_s INTEGER NOT NULL, net_rx INTEGER NOT NULL, net_tx INTEGER NOT NULL,"
    " net_up INTEGER NOT NULL)",
    "CREATE TABLE periph_latest(device_id TEXT NOT NULL REFERENCES devices(device_id),"
    " periph TEXT NOT NULL, state TEXT NOT NULL, usable INTEGER NOT NULL,"
    " since_ms INTEGER NOT NULL, ts_ms INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY(device_id, periph)) WITHOUT ROWID",
    "CREATE TABLE faults(device_id TEXT NOT NULL, seq INTEGER NOT NULL, code TEXT NOT NULL,"
    " sev TEXT NOT NULL, raise INTEGER NOT NULL, periph TEXT, text TEXT NOT NULL,"
    " ts_ms INTEGER NOT NULL, PRIMARY KEY(device_id, seq)) WITHOUT ROWID",
    "CREATE TABLE fault_state(device_id TEXT NOT NULL REFERENCES devices(device_id),"
    " code TEXT NOT NULL, open INTEGER NOT NULL, sev TEXT NOT NULL, periph TEXT,"
    " text TEXT NOT NULL, since_ms INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY(device_id, code)) WITHOUT ROWID",
    "CREATE VIEW faults_open AS SELECT device_id, code, sev, periph, text, since_ms, seq"
    " FROM fault_state WHERE open = 1",
    "CREATE TABLE reject_counts(reason TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0)",
    /* Sequence numbers a device says the server acknowledged but the server does not hold
     * (e.g. the database was restored from a backup): recorded, never silently skipped. */
    "CREATE TABLE seq_gaps(device_id TEXT NOT NULL REFERENCES devices(device_id),"
    " first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, detected_ms INTEGER NOT NULL,"
    " PRIMARY KEY(device_id, first_seq))",
    "INSERT INTO reject_counts(reason) VALUES ('unknown_device'), ('bad_signature'),"
    " ('replay'), ('oversize'), ('bad_compression'), ('malformed'), ('wrong_topic'),"
    " ('revoked')",
    NULL,
};

static const char *const *const migrations[] = {
    schema_v1,                   /* v1: the pipeline's tables, above */
    kf__store_schema_broker,     /* v2 (issue 3): broker accounts, store/sqlite/broker.c */
    kf__store_schema_identity,   /* v3 (issue 3): tokens, audit log, store/sqlite/identity.c */
    kf__store_schema_sla,        /* v4 (issue 4): fleet state and SLA, store/sqlite/sla.c */
    kf__store_schema_quarantine, /* v5: poison frames kept, not resent forever */
    kf__store_schema_sla_late,   /* v6: facts that arrived dated before the SLA engine's tick */
    kf__store_schema_records,    /* v7: records kept in commit order, store/sqlite/ingest.c */
    kf__store_schema_usage,      /* v8: usage_daily per device; no day index on records */
    kf__store_schema_conflicts,  /* v9: seq conflicts, application ids, store/sqlite/conflict.c */
    kf__store_schema_sla_forced, /* v10: forced resolves, store/sqlite/sla.c */
    kf__store_schema_billing,    /* v11 (issue 15): contracts, assets in service, bills */
    kf__store_schema_rollups,    /* v12: usage by month and year */
    kf__store_schema_reports,    /* v13 (issue 16): frozen reports, rubrics, zone decisions */
    kf__store_schema_users,      /* v14 (issue 17): users and API tokens, store/sqlite/users.c */
    kf__store_schema_sla_assign, /* v15 (issue 17): incidents assigned to a technician */
    kf__store_schema_commands, /* v16 (issue 18): commands to terminals, store/sqlite/commands.c */
    /* v17: the local days each device sent a record on, store/sqlite/device_days.c */
    kf__store_schema_device_days,
    kf__store_schema_inventory, /* v18 (issue 18): terminals' inventory, store/sqlite/inventory.c */
    kf__store_schema_rollouts,  /* v19 (issue 18): rollouts in waves, store/sqlite/rollouts.c */
    kf__store_schema_blobs,     /* v20 (issue 18): logs bundles, store/sqlite/blobs.c */
    kf__store_schema_artifacts, /* v21 (issue 18): software artifacts, store/sqlite/artifacts.c */
    kf__store_schema_period,    /* v22 (issue 17): period stamps, store/sqlite/period.c */
    /* v23 (issue 17): a terminal's state as columns too, for the zone finder */
    kf__store_schema_sla_columns,
};
#define KF_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int kf__store_exec_sql(struct kf_store *st, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        kf__store_seterr(st, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return kf_err_from_sqlite(rc);
    }
    return 0;
}

static int user_version(struct kf_store *st, int *ret)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);

    if (rc != SQLITE_OK)
        return kf__store_sql_fail(st, rc, "user_version");
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return kf__store_sql_fail(st, rc, "user_version");
    return 0;
}

/* A migration that rebuilds a table runs as long as the table is big (v7 copies every
 * record: OPERATIONS.md, "Upgrades and rollbacks"), and kioskd says READY only after it.
 * Each second of it asks the service manager for 30 s more, so that systemd's start
 * timeout does not kill kioskd and restart it into the same migration, rolled back, for
 * ever. A no-op outside systemd. */
static int migrate_progress(void *ud)
{
    int64_t *next_us = ud, now = kf_mono_us();

    if (now >= *next_us) {
        *next_us = now + 1000000;
        kf_notify("EXTEND_TIMEOUT_USEC=30000000");
    }
    return 0;
}

int kf__store_migrate(struct kf_store *st)
{
    int64_t next_us = 0, t0 = kf_mono_us();
    int v, r;

    r = kf__store_exec_sql(st, "BEGIN IMMEDIATE");
    if (r < 0)
        return r;
    r = user_version(st, &v);
    if (r < 0)
        goto out_rollback;
    if (v > KF_SCHEMA_VERSION) {
        kf__store_seterr(st, "database schema version %d is newer than this program's (%d)", v,
                         KF_SCHEMA_VERSION);
        r = -EPROTONOSUPPORT;
        goto out_rollback;
    }
    if (v > 0 && v < KF_SCHEMA_VERSION) {
        kf_notice("store: migrating the schema from version %d to %d", v, KF_SCHEMA_VERSION);
        sqlite3_progress_handler(st->db, 10000, migrate_progress, &next_us);
    }
    for (int m = v; m < KF_SCHEMA_VERSION; m++) {
        char pragma[48];

        for (const char *const *q = migrations[m]; *q; q++) {
            r = kf__store_exec_sql(st, *q);
            if (r < 0)
                goto out_rollback;
        }
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m + 1);
        r = kf__store_exec_sql(st, pragma);
        if (r < 0)
            goto out_rollback;
    }
    r = kf__store_exec_sql(st, "COMMIT");
    if (r < 0)
        goto out_rollback;
    sqlite3_progress_handler(st->db, 0, NULL, NULL);
    if (v > 0 && v < KF_SCHEMA_VERSION)
        kf_notice("store: schema migrated to version %d in %.1f s", KF_SCHEMA_VERSION,
                  (double)(kf_mono_us() - t0) / 1e6);
    return 0;

out_rollback:
    sqlite3_progress_handler(st->db, 0, NULL, NULL);
    kf__store_exec_sql(st, "ROLLBACK");
    return r;
}

int kf__store_schema_version(struct kf_store *st)
{
    int v, r = user_version(st, &v);

    return r < 0 ? r : v;
}

int kf__store_schema_check(struct kf_store *st)
{
    int v, r = user_version(st, &v);

    if (r < 0)
        return r;
    if (v != KF_SCHEMA_VERSION)
        return v == 0 ? -ENOENT : -EPROTONOSUPPORT;
    return 0;
}

/* One count from a table the schema may not have yet: -1 then. */
static int64_t count_of(sqlite3 *db, const char *table)
{
    char sql[96];
    sqlite3_stmt *s = NULL;
    int64_t n = -1;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table); /* our own names only */
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

int kf_store_inspect(const char *path, struct kf_store_info *ret)
{
    struct kf_store_info info = {.schema_current = KF_SCHEMA_VERSION};
    sqlite3_stmt *s = NULL;
    sqlite3 *db = NULL;
    int rc;

    if (access(path, F_OK) != 0)
        return -errno;
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        info.schema = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
        rc = rc == SQLITE_ROW ? SQLITE_OK : rc;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        return kf_err_from_sqlite(rc);
    }
    info.units = count_of(db, "units");
    info.banks = count_of(db, "banks");
    info.zones = count_of(db, "zones");
    info.items = count_of(db, "items");
    info.devices = count_of(db, "devices");
    sqlite3_close(db);
    if (info.schema == 0)
        return -ENOENT;
    *ret = info;
    return 0;
}
