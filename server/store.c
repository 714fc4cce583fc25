/* store.c: the SQLite backend of store.h (schema, ingest commit, registry, fixtures).
 * docs/STORE.md describes the tables and how an auditor re-verifies the evidence. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/err.h>
#include <kf/record.h>
#include <kf/time.h>

#include "registry.h"
#include "store.h"
#include "store_query.h"

#define KF_SCHEMA_VERSION 1
#define KF_BUSY_TIMEOUT_MS 5000
#define KF_CLOCK_AHEAD_MS (5LL * 60 * 1000)      /* tolerated device clock lead */
#define KF_CLOCK_BEHIND_MS (62LL * 86400 * 1000) /* oldest plausible effective time */
#define KF_FIXTURES_MAX_BYTES (8u * 1024 * 1024)

/* records.flags */
#define KF_RECF_CLOCK_SUSPECT 0x1u   /* effective time implausible: replaced by receipt time */
#define KF_RECF_CLOCK_CORRECTED 0x2u /* unsynced clock ahead of receipt: corrected */
#define KF_RECF_CLOCK_SYNCED 0x4u    /* the frame carried a measured offset */

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
    "CREATE INDEX envelopes_dev_seq ON envelopes(device_id, seq_first)",
    "CREATE TABLE records(device_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " envelope_id INTEGER NOT NULL REFERENCES envelopes(id), type INTEGER NOT NULL,"
    " device_ts_ms INTEGER NOT NULL, effective_ms INTEGER NOT NULL, recv_ms INTEGER NOT NULL,"
    " flags INTEGER NOT NULL, PRIMARY KEY(device_id, seq)) WITHOUT ROWID",
    "CREATE TABLE txns(device_id TEXT NOT NULL, seq INTEGER NOT NULL, asset_id TEXT NOT NULL,"
    " zone_id TEXT NOT NULL, item TEXT NOT NULL, outcome TEXT NOT NULL,"
    " start_ms INTEGER NOT NULL, dur_ms INTEGER NOT NULL, day INTEGER NOT NULL,"
    " PRIMARY KEY(device_id, seq)) WITHOUT ROWID",
    "CREATE INDEX txns_day ON txns(day)",
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
    "INSERT INTO reject_counts(reason) VALUES ('unknown_device'), ('bad_signature'),"
    " ('replay'), ('oversize'), ('bad_compression'), ('malformed'), ('wrong_topic'),"
    " ('revoked')",
};

enum kf_stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_DEV_GET,
    ST_DEV_SEEN,
    ST_DEV_HELLO,
    ST_DEV_STATE,
    ST_DEV_ACKED,
    ST_REC_EXISTING,
    ST_ENV_INSERT,
    ST_REC_INSERT,
    ST_TXN_INSERT,
    ST_USAGE_UPSERT,
    ST_HEALTH_UPSERT,
    ST_PERIPH_UPSERT,
    ST_FAULT_INSERT,
    ST_FAULT_STATE,
    ST_HWM_NEXT,
    ST_REJECT_ADD,
    ST_EXPIRE,
    ST_UNIT_UPSERT,
    ST_BANK_UPSERT,
    ST_FAMILY_UPSERT,
    ST_ZONE_UPSERT,
    ST_ITEM_UPSERT,
    ST_UNIT_EXISTS,
    ST_BANK_EXISTS,
    ST_FAMILY_EXISTS,
    ST_ZONE_EXISTS,
    ST_DEV_EXISTS,
    ST_ASSET_GET,
    ST_ASSET_INSERT,
    ST_DEV_INSERT,
    ST_KEY_INSERT,
    ST_REG_DEVICES,
    ST_REG_KEYS,
    ST_COUNT_
};

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_DEV_GET] = "SELECT d.asset_id, a.zone_id, d.acked_seq FROM devices d"
                   " JOIN assets a ON a.asset_id = d.asset_id WHERE d.device_id = ?1",
    /* ?3: the frame proves the device is connected (RECORDS, HELLO). */
    [ST_DEV_SEEN] = "UPDATE devices SET last_seen_ms = max(last_seen_ms, ?2),"
                    " state_since_ms = CASE WHEN ?3 AND online = 0 THEN ?2"
                    " ELSE state_since_ms END,"
                    " online = CASE WHEN ?3 THEN 1 ELSE online END,"
                    " clock_offset_ms = coalesce(?4, clock_offset_ms) WHERE device_id = ?1",
    [ST_DEV_HELLO] = "UPDATE devices SET agent = coalesce(?2, agent),"
                     " boot_id = coalesce(?3, boot_id),"
                     " health_dropped = coalesce(?4, health_dropped) WHERE device_id = ?1",
    [ST_DEV_STATE] = "UPDATE devices SET state_since_ms = CASE WHEN online <> ?2 THEN ?3"
                     " ELSE state_since_ms END, online = ?2, last_state_device_ms = ?4"
                     " WHERE device_id = ?1 AND last_state_device_ms <= ?4",
    [ST_DEV_ACKED] = "UPDATE devices SET acked_seq = ?2 WHERE device_id = ?1",
    [ST_REC_EXISTING] =
        "SELECT count(*) FROM records WHERE device_id = ?1 AND seq BETWEEN ?2 AND ?3",
    [ST_ENV_INSERT] = "INSERT INTO envelopes(device_id, key_epoch, kind, flags, seq_first,"
                      " count, device_ms, clock_offset_ms, recv_ms, commit_ms, topic, raw)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_REC_INSERT] = "INSERT OR IGNORE INTO records(device_id, seq, envelope_id, type,"
                      " device_ts_ms, effective_ms, recv_ms, flags)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_TXN_INSERT] = "INSERT INTO txns(device_id, seq, asset_id, zone_id, item, outcome,"
                      " start_ms, dur_ms, day) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_USAGE_UPSERT] =
        "INSERT INTO usage_daily(day, zone_id, asset_id, item, ok, failed, abandoned,"
        " dur_ms_total) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(day, zone_id, asset_id, item) DO UPDATE SET ok = ok + excluded.ok,"
        " failed = failed + excluded.failed, abandoned = abandoned + excluded.abandoned,"
        " dur_ms_total = dur_ms_total + excluded.dur_ms_total",
    [ST_HEALTH_UPSERT] =
        "INSERT INTO health_latest(device_id, seq, ts_ms, recv_ms, cpu_pm, mem_total_kb,"
        " mem_avail_kb, disk_total_kb, disk_avail_kb, temp_mc, uptime_s, net_rx, net_tx,"
        " net_up) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        " ON CONFLICT(device_id) DO UPDATE SET seq = excluded.seq, ts_ms = excluded.ts_ms,"
        " recv_ms = excluded.recv_ms, cpu_pm = excluded.cpu_pm,"
        " mem_total_kb = excluded.mem_total_kb, mem_avail_kb = excluded.mem_avail_kb,"
        " disk_total_kb = excluded.disk_total_kb, disk_avail_kb = excluded.disk_avail_kb,"
        " temp_mc = excluded.temp_mc, uptime_s = excluded.uptime_s, net_rx = excluded.net_rx,"
        " net_tx = excluded.net_tx, net_up = excluded.net_up"
        " WHERE excluded.seq > health_latest.seq",
    [ST_PERIPH_UPSERT] =
        "INSERT INTO periph_latest(device_id, periph, state, usable, since_ms, ts_ms, seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT(device_id, periph) DO UPDATE SET"
        " since_ms = CASE WHEN state <> excluded.state THEN excluded.since_ms"
        " ELSE since_ms END, state = excluded.state, usable = excluded.usable,"
        " ts_ms = excluded.ts_ms, seq = excluded.seq WHERE excluded.seq > periph_latest.seq",
    [ST_FAULT_INSERT] = "INSERT INTO faults(device_id, seq, code, sev, raise, periph, text,"
                        " ts_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* A fault's state is decided by its newest record, whatever order they arrive in. */
    [ST_FAULT_STATE] =
        "INSERT INTO fault_state(device_id, code, open, sev, periph, text, since_ms, seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(device_id, code) DO UPDATE SET"
        " since_ms = CASE WHEN open <> excluded.open THEN excluded.since_ms ELSE since_ms END,"
        " open = excluded.open, sev = excluded.sev, periph = excluded.periph,"
        " text = excluded.text, seq = excluded.seq WHERE excluded.seq > fault_state.seq",
    [ST_HWM_NEXT] = "SELECT max(seq_first + count - 1) FROM envelopes"
                    " WHERE device_id = ?1 AND seq_first BETWEEN ?2 AND ?3",
    [ST_REJECT_ADD] = "INSERT INTO reject_counts(reason, count) VALUES (?1, ?2)"
                      " ON CONFLICT(reason) DO UPDATE SET count = count + excluded.count",
    [ST_EXPIRE] = "UPDATE devices SET online = 0, state_since_ms = ?2"
                  " WHERE online = 1 AND last_seen_ms < ?1",
    [ST_UNIT_UPSERT] = "INSERT INTO units(code, name, kind) VALUES (?1, ?2, ?3)"
                       " ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
                       " kind = excluded.kind",
    [ST_BANK_UPSERT] = "INSERT INTO banks(code, name) VALUES (?1, ?2)"
                       " ON CONFLICT(code) DO UPDATE SET name = excluded.name",
    [ST_FAMILY_UPSERT] = "INSERT INTO families(code, name, name_en) VALUES (?1, ?2, ?3)"
                         " ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
                         " name_en = excluded.name_en",
    [ST_ZONE_UPSERT] =
        "INSERT INTO zones(id, name, bank, branch, unit, address, kiosks, itms, hours,"
        " itm_hours) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT(id) DO UPDATE SET name = excluded.name, bank = excluded.bank,"
        " branch = excluded.branch, unit = excluded.unit, address = excluded.address,"
        " kiosks = excluded.kiosks, itms = excluded.itms, hours = excluded.hours,"
        " itm_hours = excluded.itm_hours",
    [ST_ITEM_UPSERT] = "INSERT INTO items(code, family, name, name_en, needs, weight)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(code) DO UPDATE SET"
                       " family = excluded.family, name = excluded.name,"
                       " name_en = excluded.name_en, needs = excluded.needs,"
                       " weight = excluded.weight",
    [ST_UNIT_EXISTS] = "SELECT 1 FROM units WHERE code = ?1",
    [ST_BANK_EXISTS] = "SELECT 1 FROM banks WHERE code = ?1",
    [ST_FAMILY_EXISTS] = "SELECT 1 FROM families WHERE code = ?1",
    [ST_ZONE_EXISTS] = "SELECT 1 FROM zones WHERE id = ?1",
    [ST_DEV_EXISTS] = "SELECT 1 FROM devices WHERE device_id = ?1",
    [ST_ASSET_GET] = "SELECT kind, zone_id FROM assets WHERE asset_id = ?1",
    [ST_ASSET_INSERT] = "INSERT INTO assets(asset_id, kind, zone_id, lease_ref, created_ms)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_DEV_INSERT] = "INSERT INTO devices(device_id, asset_id, created_ms, state_since_ms)"
                      " VALUES (?1, ?2, ?3, ?3)",
    [ST_KEY_INSERT] = "INSERT INTO device_keys(device_id, epoch, pk, status, created_ms)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_REG_DEVICES] = "SELECT d.device_id, d.asset_id, a.zone_id, a.kind FROM devices d"
                       " JOIN assets a ON a.asset_id = d.asset_id ORDER BY d.device_id",
    [ST_REG_KEYS] = "SELECT device_id, epoch, status, pk FROM device_keys"
                    " ORDER BY device_id, epoch",
};

struct kf_store {
    sqlite3 *db;
    unsigned flags;
    sqlite3_stmt *stmt[ST_COUNT_];
    char errmsg[256];
};

static const char *const reject_names[KF_REJECT_COUNT_] = {
    [KF_REJECT_UNKNOWN_DEVICE] = "unknown_device",
    [KF_REJECT_BAD_SIGNATURE] = "bad_signature",
    [KF_REJECT_REPLAY] = "replay",
    [KF_REJECT_OVERSIZE] = "oversize",
    [KF_REJECT_BAD_COMPRESSION] = "bad_compression",
    [KF_REJECT_MALFORMED] = "malformed",
    [KF_REJECT_WRONG_TOPIC] = "wrong_topic",
    [KF_REJECT_REVOKED] = "revoked",
};

const char *kf_reject_name(int reason)
{
    if (reason < 0 || reason >= KF_REJECT_COUNT_)
        return NULL;
    return reject_names[reason];
}

sqlite3 *kf__store_db(struct kf_store *st)
{
    return st->db;
}

const char *kf_store_errmsg(struct kf_store *st)
{
    return st ? st->errmsg : "";
}

void kf__store_seterr(struct kf_store *st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
    va_end(ap);
}

/* Record an SQLite failure with its message; returns the converted errno. */
static int sql_fail(struct kf_store *st, int rc, const char *what)
{
    kf__store_seterr(st, "%s: %s", what, sqlite3_errmsg(st->db));
    return kf_err_from_sqlite(rc);
}

/* The statement for id, prepared on first use and kept (reset and cleared after use). */
static int stmt_get(struct kf_store *st, enum kf_stmt id, sqlite3_stmt **ret)
{
    int rc;

    if (!st->stmt[id]) {
        rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
                                NULL);
        if (rc != SQLITE_OK)
            return sql_fail(st, rc, "prepare");
    }
    *ret = st->stmt[id];
    return 0;
}

static void stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Step a statement that returns no rows (or whose rows are not wanted), then reset it. */
static int stmt_run(struct kf_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int r = 0;

    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = sql_fail(st, rc, what);
    stmt_done(s);
    return r;
}

static int exec_one(struct kf_store *st, enum kf_stmt id)
{
    sqlite3_stmt *s = NULL;
    int r = stmt_get(st, id, &s);

    if (r < 0)
        return r;
    return stmt_run(st, s, stmt_sql[id]);
}

/* 1 if the single-text-parameter lookup id finds a row, 0 if not, or -errno. */
static int exists(struct kf_store *st, enum kf_stmt id, const char *key)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = stmt_get(st, id, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        r = 1;
    else if (rc == SQLITE_DONE)
        r = 0;
    else
        r = sql_fail(st, rc, "lookup");
    stmt_done(s);
    return r;
}

int kf_store_begin(struct kf_store *st)
{
    return exec_one(st, ST_BEGIN);
}

int kf_store_end(struct kf_store *st, int commit)
{
    int r;

    if (!commit)
        return exec_one(st, ST_ROLLBACK);
    r = exec_one(st, ST_COMMIT);
    if (r < 0 && !sqlite3_get_autocommit(st->db))
        exec_one(st, ST_ROLLBACK);
    return r;
}

/* Open our own transaction unless the caller already holds one (*ret_own says which). */
static int txn_enter(struct kf_store *st, int *ret_own)
{
    int r;

    if (!sqlite3_get_autocommit(st->db)) {
        *ret_own = 0;
        return 0;
    }
    r = kf_store_begin(st);
    if (r < 0)
        return r;
    *ret_own = 1;
    return 0;
}

static int txn_leave(struct kf_store *st, int own, int r)
{
    if (!own)
        return r;
    if (r < 0) {
        if (!sqlite3_get_autocommit(st->db))
            exec_one(st, ST_ROLLBACK);
        return r;
    }
    return kf_store_end(st, 1);
}

static int exec_sql(struct kf_store *st, const char *sql)
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
        return sql_fail(st, rc, "user_version");
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return sql_fail(st, rc, "user_version");
    return 0;
}

static int migrate(struct kf_store *st)
{
    int v, r;

    r = exec_sql(st, "BEGIN IMMEDIATE");
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
    if (v < 1) {
        for (size_t i = 0; i < sizeof(schema_v1) / sizeof(schema_v1[0]); i++) {
            r = exec_sql(st, schema_v1[i]);
            if (r < 0)
                goto out_rollback;
        }
    }
    /* Future versions: if (v < 2) { ALTER ... } */
    r = exec_sql(st, "PRAGMA user_version = 1");
    if (r < 0)
        goto out_rollback;
    return exec_sql(st, "COMMIT");

out_rollback:
    exec_sql(st, "ROLLBACK");
    return r;
}

int kf_store_open(const char *path, unsigned flags, struct kf_store **ret)
{
    struct kf_store *st;
    int oflags, rc, r, v;

    st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->flags = flags;
    oflags = (flags & KF_STORE_RDONLY) ? SQLITE_OPEN_READONLY
                                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    rc = sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        r = kf_err_from_sqlite(rc);
        goto out_free;
    }
    sqlite3_extended_result_codes(st->db, 1);
    rc = sqlite3_busy_timeout(st->db, KF_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        r = kf_err_from_sqlite(rc);
        goto out_free;
    }
    r = exec_sql(st, "PRAGMA foreign_keys = ON");
    if (r < 0)
        goto out_free;
    if (flags & KF_STORE_RDONLY) {
        r = user_version(st, &v);
        if (r < 0)
            goto out_free;
        if (v != KF_SCHEMA_VERSION) {
            r = v == 0 ? -ENOENT : -EPROTONOSUPPORT;
            goto out_free;
        }
    } else {
        r = exec_sql(st, "PRAGMA journal_mode = WAL");
        if (r < 0)
            goto out_free;
        r = exec_sql(st, "PRAGMA synchronous = FULL");
        if (r < 0)
            goto out_free;
        r = migrate(st);
        if (r < 0)
            goto out_free;
    }
    *ret = st;
    return 0;

out_free:
    kf_store_free(st);
    return r;
}

void kf_store_free(struct kf_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st);
}

/* ---- ingest ---- */

/* What commit needs to know about a device, read once per frame. */
struct dev_row {
    char asset_id[KF_ASSET_ID_MAX + 1];
    char zone_id[KF_ZONE_ID_MAX + 1];
    uint64_t acked_seq;
};

static int dev_get(struct kf_store *st, const char *device_id, struct dev_row *ret)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = stmt_get(st, ST_DEV_GET, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(ret->asset_id, sizeof(ret->asset_id), "%s",
                 (const char *)sqlite3_column_text(s, 0));
        snprintf(ret->zone_id, sizeof(ret->zone_id), "%s", (const char *)sqlite3_column_text(s, 1));
        ret->acked_seq = (uint64_t)sqlite3_column_int64(s, 2);
        r = 0;
    } else if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "commit: unknown device %s", device_id);
        r = -ENOENT;
    } else {
        r = sql_fail(st, rc, "device lookup");
    }
    stmt_done(s);
    return r;
}

/* The offset applied to every record of a frame (docs/ARCHITECTURE.md "Clock"). */
static int64_t frame_offset(const struct kf_ingest *in, unsigned *ret_flags)
{
    *ret_flags = 0;
    if (in->hdr.flags & KF_ENV_F_CLOCK_SYNCED) {
        *ret_flags = KF_RECF_CLOCK_SYNCED;
        return in->hdr.clock_offset_ms;
    }
    if (in->hdr.device_ms > in->recv_ms && in->hdr.device_ms - in->recv_ms > KF_CLOCK_AHEAD_MS) {
        *ret_flags = KF_RECF_CLOCK_CORRECTED;
        return in->recv_ms - in->hdr.device_ms;
    }
    return 0;
}

static int64_t effective_ms(int64_t ts, int64_t offset, int64_t recv_ms, unsigned *flags)
{
    int64_t eff;

    if (__builtin_add_overflow(ts, offset, &eff) || eff < recv_ms - KF_CLOCK_BEHIND_MS ||
        eff > recv_ms + KF_CLOCK_AHEAD_MS) {
        *flags |= KF_RECF_CLOCK_SUSPECT;
        return recv_ms;
    }
    return eff;
}

static void bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    /* SQLite integers are signed 64-bit; counters and sizes never reach 2^63. */
    sqlite3_bind_int64(s, i, v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

static int apply_txn(struct kf_store *st, const struct kf_ingest *in, const struct dev_row *dev,
                     uint64_t seq, const struct kf_rec_txn *t, int64_t eff)
{
    const char *outcome = kf_outcome_name(t->outcome);
    int32_t day = kf_local_day(eff);
    sqlite3_stmt *s = NULL;
    int r;

    if (!outcome) {
        kf__store_seterr(st, "commit: %s seq %llu: bad outcome %u", in->hdr.device_id,
                         (unsigned long long)seq, t->outcome);
        return -EINVAL;
    }
    r = stmt_get(st, ST_TXN_INSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    bind_u64(s, 2, seq);
    sqlite3_bind_text(s, 3, dev->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, dev->zone_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, t->item, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, eff);
    sqlite3_bind_int64(s, 8, t->dur_ms);
    sqlite3_bind_int(s, 9, day);
    r = stmt_run(st, s, "insert txn");
    if (r < 0)
        return r;

    r = stmt_get(st, ST_USAGE_UPSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_int(s, 1, day);
    sqlite3_bind_text(s, 2, dev->zone_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, dev->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, t->item, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, t->outcome == KF_OUTCOME_OK);
    sqlite3_bind_int(s, 6, t->outcome == KF_OUTCOME_FAILED);
    sqlite3_bind_int(s, 7, t->outcome == KF_OUTCOME_ABANDONED);
    sqlite3_bind_int64(s, 8, t->dur_ms);
    return stmt_run(st, s, "usage_daily");
}

static int apply_health(struct kf_store *st, const struct kf_ingest *in, uint64_t seq,
                        const struct kf_rec_health *h, int64_t eff)
{
    sqlite3_stmt *s = NULL;
    int r = stmt_get(st, ST_HEALTH_UPSERT, &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    bind_u64(s, 2, seq);
    sqlite3_bind_int64(s, 3, eff);
    sqlite3_bind_int64(s, 4, in->recv_ms);
    sqlite3_bind_int(s, 5, h->cpu_pm);
    bind_u64(s, 6, h->mem_total_kb);
    bind_u64(s, 7, h->mem_avail_kb);
    bind_u64(s, 8, h->disk_total_kb);
    bind_u64(s, 9, h->disk_avail_kb);
    if (h->temp_mc == KF_TEMP_NONE)
        sqlite3_bind_null(s, 10);
    else
        sqlite3_bind_int(s, 10, h->temp_mc);
    bind_u64(s, 11, h->uptime_s);
    bind_u64(s, 12, h->net_rx);
    bind_u64(s, 13, h->net_tx);
    sqlite3_bind_int(s, 14, h->net_up != 0);
    return stmt_run(st, s, "health_latest");
}

static int apply_periph(struct kf_store *st, const struct kf_ingest *in, uint64_t seq,
                        const struct kf_rec_periph *p, int64_t eff)
{
    const char *pname = kf_periph_name(p->periph);
    const char *sname = kf_pstate_name(p->state);
    sqlite3_stmt *s = NULL;
    int r;

    if (!pname || !sname) {
        kf__store_seterr(st, "commit: %s seq %llu: bad peripheral record", in->hdr.device_id,
                         (unsigned long long)seq);
        return -EINVAL;
    }
    r = stmt_get(st, ST_PERIPH_UPSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, pname, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, sname, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, kf_pstate_usable(p->state) != 0);
    sqlite3_bind_int64(s, 5, eff);
    bind_u64(s, 6, seq);
    return stmt_run(st, s, "periph_latest");
}

static int apply_fault(struct kf_store *st, const struct kf_ingest *in, uint64_t seq,
                       const struct kf_rec_fault *f, int64_t eff)
{
    const char *sev = kf_severity_name(f->sev);
    const char *periph = f->periph ? kf_periph_name(f->periph) : NULL;
    sqlite3_stmt *s = NULL;
    int r;

    if (!sev) {
        kf__store_seterr(st, "commit: %s seq %llu: bad fault severity", in->hdr.device_id,
                         (unsigned long long)seq);
        return -EINVAL;
    }
    r = stmt_get(st, ST_FAULT_INSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    bind_u64(s, 2, seq);
    sqlite3_bind_text(s, 3, f->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, sev, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, f->raise != 0);
    if (periph)
        sqlite3_bind_text(s, 6, periph, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_text(s, 7, f->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, eff);
    r = stmt_run(st, s, "insert fault");
    if (r < 0)
        return r;

    r = stmt_get(st, ST_FAULT_STATE, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->code, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, f->raise != 0);
    sqlite3_bind_text(s, 4, sev, -1, SQLITE_STATIC);
    if (periph)
        sqlite3_bind_text(s, 5, periph, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 5);
    sqlite3_bind_text(s, 6, f->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, eff);
    bind_u64(s, 8, seq);
    return stmt_run(st, s, "fault_state");
}

static int count_existing(struct kf_store *st, const char *device_id, uint64_t first, uint64_t last,
                          uint64_t *ret)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = stmt_get(st, ST_REC_EXISTING, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    bind_u64(s, 2, first);
    bind_u64(s, 3, last);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret = (uint64_t)sqlite3_column_int64(s, 0);
        r = 0;
    } else {
        r = sql_fail(st, rc, "count records");
    }
    stmt_done(s);
    return r;
}

static int insert_envelope(struct kf_store *st, const struct kf_ingest *in, int64_t now,
                           int64_t *ret_id)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (in->raw_len > INT_MAX)
        return -EMSGSIZE;
    r = stmt_get(st, ST_ENV_INSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, in->hdr.key_epoch);
    sqlite3_bind_int(s, 3, in->hdr.kind);
    sqlite3_bind_int(s, 4, in->hdr.flags);
    bind_u64(s, 5, in->hdr.seq);
    sqlite3_bind_int64(s, 6, in->nrec);
    sqlite3_bind_int64(s, 7, in->hdr.device_ms);
    sqlite3_bind_int64(s, 8, in->hdr.clock_offset_ms);
    sqlite3_bind_int64(s, 9, in->recv_ms);
    sqlite3_bind_int64(s, 10, now);
    sqlite3_bind_text(s, 11, in->topic ? in->topic : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 12, in->raw ? (const void *)in->raw : (const void *)"", (int)in->raw_len,
                      SQLITE_STATIC);
    r = stmt_run(st, s, "insert envelope");
    if (r < 0)
        return r;
    *ret_id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

static int commit_records(struct kf_store *st, const struct kf_ingest *in,
                          const struct dev_row *dev, int64_t now, struct kf_commit_out *out)
{
    uint64_t first = in->hdr.seq, last, existing = 0;
    unsigned fflags;
    int64_t offset, env_id;
    sqlite3_stmt *s = NULL;
    int r;

    if (in->nrec == 0 || !in->recs)
        return 0;
    if (first == 0 || in->nrec > KF_ENV_MAX_RECORDS || first > (uint64_t)INT64_MAX - in->nrec) {
        kf__store_seterr(st, "commit: %s: bad sequence range", in->hdr.device_id);
        return -EINVAL;
    }
    last = first + in->nrec - 1;
    r = count_existing(st, in->hdr.device_id, first, last, &existing);
    if (r < 0)
        return r;
    if (existing >= in->nrec) {
        out->replay = 1;
        out->duplicates = in->nrec;
        return 0;
    }
    r = insert_envelope(st, in, now, &env_id);
    if (r < 0)
        return r;
    offset = frame_offset(in, &fflags);
    for (uint32_t i = 0; i < in->nrec; i++) {
        const struct kf_record *rec = &in->recs[i];
        uint64_t seq = first + i;
        unsigned flags = fflags;
        int64_t eff = effective_ms(rec->ts_ms, offset, in->recv_ms, &flags);

        r = stmt_get(st, ST_REC_INSERT, &s);
        if (r < 0)
            return r;
        sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
        bind_u64(s, 2, seq);
        sqlite3_bind_int64(s, 3, env_id);
        sqlite3_bind_int(s, 4, rec->type);
        sqlite3_bind_int64(s, 5, rec->ts_ms);
        sqlite3_bind_int64(s, 6, eff);
        sqlite3_bind_int64(s, 7, in->recv_ms);
        sqlite3_bind_int(s, 8, (int)flags);
        r = stmt_run(st, s, "insert record");
        if (r < 0)
            return r;
        if (sqlite3_changes(st->db) != 1) {
            out->duplicates++;
            continue;
        }
        out->inserted++;
        switch (rec->type) {
        case KF_REC_TXN:
            r = apply_txn(st, in, dev, seq, &rec->u.txn, eff);
            break;
        case KF_REC_HEALTH:
            r = apply_health(st, in, seq, &rec->u.health, eff);
            break;
        case KF_REC_PERIPH:
            r = apply_periph(st, in, seq, &rec->u.periph, eff);
            break;
        case KF_REC_FAULT:
            r = apply_fault(st, in, seq, &rec->u.fault, eff);
            break;
        default:
            kf__store_seterr(st, "commit: %s seq %llu: unknown record type %u", in->hdr.device_id,
                             (unsigned long long)seq, rec->type);
            r = -EINVAL;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int commit_hello(struct kf_store *st, const struct kf_ingest *in)
{
    json_t *root, *v;
    json_error_t jerr;
    sqlite3_stmt *s = NULL;
    int r;

    if (!in->body_json)
        return 0;
    /* Verified bytes from a registered device, but still only advisory: a body we cannot
     * read leaves agent/boot_id as they were rather than failing the group commit. */
    root = json_loads(in->body_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return 0;
    }
    r = stmt_get(st, ST_DEV_HELLO, &s);
    if (r < 0)
        goto out_decref;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    v = json_object_get(root, "agent");
    if (json_is_string(v))
        sqlite3_bind_text(s, 2, json_string_value(v), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 2);
    v = json_object_get(root, "boot_id");
    if (json_is_string(v))
        sqlite3_bind_text(s, 3, json_string_value(v), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 3);
    v = json_object_get(root, "health_dropped");
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        sqlite3_bind_int64(s, 4, json_integer_value(v));
    else
        sqlite3_bind_null(s, 4);
    r = stmt_run(st, s, "hello");
out_decref:
    json_decref(root);
    return r;
}

static int commit_state(struct kf_store *st, const struct kf_ingest *in)
{
    json_t *root, *v;
    json_error_t jerr;
    const char *state;
    sqlite3_stmt *s = NULL;
    int online, r;

    if (!in->body_json)
        return 0;
    root = json_loads(in->body_json, JSON_REJECT_DUPLICATES, &jerr);
    v = json_object_get(root, "state");
    state = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(state, "online") == 0) {
        online = 1;
    } else if (strcmp(state, "offline") == 0) {
        online = 0;
    } else {
        json_decref(root);
        return 0; /* advisory, as for HELLO */
    }
    json_decref(root);
    r = stmt_get(st, ST_DEV_STATE, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, online);
    sqlite3_bind_int64(s, 3, in->recv_ms);
    sqlite3_bind_int64(s, 4, in->hdr.device_ms);
    return stmt_run(st, s, "state");
}

static int commit_seen(struct kf_store *st, const struct kf_ingest *in)
{
    int connected = in->hdr.kind == KF_MSG_RECORDS || in->hdr.kind == KF_MSG_HELLO;
    sqlite3_stmt *s = NULL;
    int r = stmt_get(st, ST_DEV_SEEN, &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, in->recv_ms);
    sqlite3_bind_int(s, 3, connected);
    if (in->hdr.flags & KF_ENV_F_CLOCK_SYNCED)
        sqlite3_bind_int64(s, 4, in->hdr.clock_offset_ms);
    else
        sqlite3_bind_null(s, 4);
    return stmt_run(st, s, "device seen");
}

/* Advance the device's HWM over stored envelopes contiguous with it. An envelope that
 * covers acked+1 starts at most KF_ENV_MAX_RECORDS - 1 before it, so the scan is a short
 * index range whatever the history. */
static int advance_hwm(struct kf_store *st, const char *device_id, uint64_t acked, uint64_t *ret)
{
    uint64_t start = acked;
    sqlite3_stmt *s = NULL;
    int r, rc;

    for (;;) {
        uint64_t lo = acked + 1 > KF_ENV_MAX_RECORDS ? acked + 2 - KF_ENV_MAX_RECORDS : 1;
        uint64_t end = 0;

        r = stmt_get(st, ST_HWM_NEXT, &s);
        if (r < 0)
            return r;
        sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
        bind_u64(s, 2, lo);
        bind_u64(s, 3, acked + 1);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
            end = (uint64_t)sqlite3_column_int64(s, 0);
        else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            r = sql_fail(st, rc, "hwm");
        stmt_done(s);
        if (r < 0)
            return r;
        if (end <= acked)
            break;
        acked = end;
    }
    if (acked != start) {
        r = stmt_get(st, ST_DEV_ACKED, &s);
        if (r < 0)
            return r;
        sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
        bind_u64(s, 2, acked);
        r = stmt_run(st, s, "set acked_seq");
        if (r < 0)
            return r;
    }
    *ret = acked;
    return 0;
}

static int commit_rejects(struct kf_store *st, const uint64_t *delta)
{
    sqlite3_stmt *s = NULL;
    int r;

    for (int i = 0; i < KF_REJECT_COUNT_; i++) {
        if (delta[i] == 0)
            continue;
        r = stmt_get(st, ST_REJECT_ADD, &s);
        if (r < 0)
            return r;
        sqlite3_bind_text(s, 1, reject_names[i], -1, SQLITE_STATIC);
        bind_u64(s, 2, delta[i]);
        r = stmt_run(st, s, "reject_counts");
        if (r < 0)
            return r;
    }
    return 0;
}

int kf_store_commit(struct kf_store *st, struct kf_ingest *const *items, size_t n,
                    const uint64_t *reject_delta, struct kf_commit_out *out)
{
    struct kf_commit_out *tmp = NULL;
    struct dev_row dev;
    int64_t now = kf_now_ms();
    int r;

    if (n > 0) {
        tmp = calloc(n, sizeof(*tmp));
        if (!tmp)
            return -ENOMEM;
    }
    st->errmsg[0] = '\0';
    r = kf_store_begin(st);
    if (r < 0)
        goto out_free;
    for (size_t i = 0; i < n; i++) {
        const struct kf_ingest *in = items[i];

        r = dev_get(st, in->hdr.device_id, &dev);
        if (r < 0)
            goto out_rollback;
        r = commit_seen(st, in);
        if (r < 0)
            goto out_rollback;
        switch (in->hdr.kind) {
        case KF_MSG_RECORDS:
            r = commit_records(st, in, &dev, now, &tmp[i]);
            break;
        case KF_MSG_HELLO:
            r = commit_hello(st, in);
            break;
        case KF_MSG_STATE:
            r = commit_state(st, in);
            break;
        default:
            r = 0; /* ACK/COMMAND never come from devices; only last_seen is noted */
        }
        if (r < 0)
            goto out_rollback;
    }
    /* After all frames: frames of one device may come in any order within the group. */
    for (size_t i = 0; i < n; i++) {
        r = dev_get(st, items[i]->hdr.device_id, &dev);
        if (r < 0)
            goto out_rollback;
        r = advance_hwm(st, items[i]->hdr.device_id, dev.acked_seq, &tmp[i].acked_seq);
        if (r < 0)
            goto out_rollback;
    }
    if (reject_delta) {
        r = commit_rejects(st, reject_delta);
        if (r < 0)
            goto out_rollback;
    }
    r = kf_store_end(st, 1);
    if (r < 0)
        goto out_free;
    if (n > 0)
        memcpy(out, tmp, n * sizeof(*tmp));
    free(tmp);
    return 0;

out_rollback:
    exec_one(st, ST_ROLLBACK);
out_free:
    free(tmp);
    return r;
}

int kf_store_expire_online(struct kf_store *st, int64_t cutoff_ms, int64_t now_ms, uint32_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r, own, changes;

    r = txn_enter(st, &own);
    if (r < 0)
        return r;
    r = stmt_get(st, ST_EXPIRE, &s);
    if (r < 0)
        return txn_leave(st, own, r);
    sqlite3_bind_int64(s, 1, cutoff_ms);
    sqlite3_bind_int64(s, 2, now_ms);
    r = stmt_run(st, s, "expire online");
    changes = sqlite3_changes(st->db);
    r = txn_leave(st, own, r);
    if (r < 0)
        return r;
    *ret_n = (uint32_t)changes;
    return 0;
}

/* ---- registry ---- */

int kf_store_register_device(struct kf_store *st, const struct kf_device_reg *reg)
{
    int64_t now = kf_now_ms();
    sqlite3_stmt *s = NULL;
    int r, rc, own;

    st->errmsg[0] = '\0';
    if (!reg || !kf_device_id_valid(reg->device_id) || !reg->asset_id || !reg->asset_id[0] ||
        strlen(reg->asset_id) > KF_ASSET_ID_MAX || !reg->zone_id ||
        strlen(reg->zone_id) > KF_ZONE_ID_MAX ||
        (reg->kind != KF_KIND_KIOSK && reg->kind != KF_KIND_ITM)) {
        kf__store_seterr(st, "register: invalid device id, asset id, zone or kind");
        return -EINVAL;
    }
    r = txn_enter(st, &own);
    if (r < 0)
        return r;
    r = exists(st, ST_DEV_EXISTS, reg->device_id);
    if (r < 0)
        goto out;
    if (r == 1) {
        kf__store_seterr(st, "device %s is already registered", reg->device_id);
        r = -EEXIST;
        goto out;
    }
    r = exists(st, ST_ZONE_EXISTS, reg->zone_id);
    if (r < 0)
        goto out;
    if (r == 0) {
        kf__store_seterr(st, "unknown zone %s", reg->zone_id);
        r = -ENOENT;
        goto out;
    }

    r = stmt_get(st, ST_ASSET_GET, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->asset_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        /* An asset keeps its identity when its board or key is replaced; it must not
         * silently change kind or zone through a re-registration. */
        int kind = sqlite3_column_int(s, 0);
        int same_zone = strcmp((const char *)sqlite3_column_text(s, 1), reg->zone_id) == 0;

        stmt_done(s);
        if (kind != reg->kind || !same_zone) {
            kf__store_seterr(st, "asset %s exists with another kind or zone", reg->asset_id);
            r = -EINVAL;
            goto out;
        }
    } else if (rc == SQLITE_DONE) {
        stmt_done(s);
        r = stmt_get(st, ST_ASSET_INSERT, &s);
        if (r < 0)
            goto out;
        sqlite3_bind_text(s, 1, reg->asset_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, reg->kind);
        sqlite3_bind_text(s, 3, reg->zone_id, -1, SQLITE_STATIC);
        if (reg->lease_ref)
            sqlite3_bind_text(s, 4, reg->lease_ref, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 4);
        sqlite3_bind_int64(s, 5, now);
        r = stmt_run(st, s, "insert asset");
        if (r < 0)
            goto out;
    } else {
        r = sql_fail(st, rc, "asset lookup");
        stmt_done(s);
        goto out;
    }

    r = stmt_get(st, ST_DEV_INSERT, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, reg->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    r = stmt_run(st, s, "insert device");
    if (r < 0)
        goto out;

    r = stmt_get(st, ST_KEY_INSERT, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, 1);
    sqlite3_bind_blob(s, 3, reg->pk, 32, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, KF_KEY_ACTIVE);
    sqlite3_bind_int64(s, 5, now);
    r = stmt_run(st, s, "insert key");
out:
    return txn_leave(st, own, r);
}

static void reg_devs_free(struct kf_reg_device *devs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(devs[i].keys);
    free(devs);
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int kf_store_load_registry(struct kf_store *st, struct kf_registry **ret)
{
    struct kf_reg_device *devs = NULL, *d = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = NULL;
    int r, rc;

    st->errmsg[0] = '\0';
    /* One read transaction, so devices and keys come from the same snapshot. */
    r = exec_sql(st, "BEGIN");
    if (r < 0)
        return r;
    r = stmt_get(st, ST_REG_DEVICES, &s);
    if (r < 0)
        goto out_end;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct kf_reg_device *nd = realloc(devs, ncap * sizeof(*nd));

            if (!nd) {
                r = -ENOMEM;
                break;
            }
            devs = nd;
            cap = ncap;
        }
        d = &devs[n++];
        memset(d, 0, sizeof(*d));
        copy_col(d->device_id, sizeof(d->device_id), s, 0);
        copy_col(d->asset_id, sizeof(d->asset_id), s, 1);
        copy_col(d->zone_id, sizeof(d->zone_id), s, 2);
        d->kind = (uint8_t)sqlite3_column_int(s, 3);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = sql_fail(st, rc, "registry devices");
    stmt_done(s);
    if (r < 0)
        goto out_end;

    /* Both lists are ordered by device id: merge. */
    r = stmt_get(st, ST_REG_KEYS, &s);
    if (r < 0)
        goto out_end;
    size_t di = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        struct kf_reg_key *k;

        while (di < n && strcmp(devs[di].device_id, id) < 0)
            di++;
        if (di == n || strcmp(devs[di].device_id, id) != 0 || sqlite3_column_bytes(s, 3) != 32)
            continue; /* a key without a device cannot exist (FK); a bad blob is skipped */
        d = &devs[di];
        k = realloc(d->keys, (d->nkeys + 1) * sizeof(*k));
        if (!k) {
            r = -ENOMEM;
            break;
        }
        d->keys = k;
        k = &d->keys[d->nkeys++];
        k->epoch = (uint32_t)sqlite3_column_int64(s, 1);
        k->status = (uint8_t)sqlite3_column_int(s, 2);
        memcpy(k->pk, sqlite3_column_blob(s, 3), 32);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = sql_fail(st, rc, "registry keys");
    stmt_done(s);
    if (r < 0)
        goto out_end;
    r = kf_registry_new(devs, n, ret);

out_end:
    exec_sql(st, "COMMIT");
    reg_devs_free(devs, n);
    return r;
}

/* ---- fixtures ---- */

/* Required string member; NULL (and an error message naming where) if absent. */
static const char *fx_str(struct kf_store *st, json_t *obj, const char *key, const char *where,
                          size_t idx)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v) || json_string_length(v) == 0) {
        kf__store_seterr(st, "fixtures: %s[%zu]: missing or empty string \"%s\"", where, idx, key);
        return NULL;
    }
    return json_string_value(v);
}

static int fx_ref(struct kf_store *st, enum kf_stmt id, const char *code, const char *what,
                  const char *where, size_t idx)
{
    int r = exists(st, id, code);

    if (r == 0) {
        kf__store_seterr(st, "fixtures: %s[%zu]: unknown %s \"%s\"", where, idx, what, code);
        return -EINVAL;
    }
    return r < 0 ? r : 0;
}

static json_t *fx_array(struct kf_store *st, json_t *root, const char *key)
{
    json_t *a = json_object_get(root, key);

    if (!json_is_array(a))
        kf__store_seterr(st, "fixtures: missing array \"%s\"", key);
    return json_is_array(a) ? a : NULL;
}

static int fx_units(struct kf_store *st, json_t *a)
{
    size_t i;
    json_t *o;
    sqlite3_stmt *s = NULL;
    int r;

    json_array_foreach(a, i, o)
    {
        const char *code = fx_str(st, o, "code", "units", i);
        const char *name = fx_str(st, o, "name", "units", i);
        const char *kind = fx_str(st, o, "kind", "units", i);

        if (!code || !name || !kind)
            return -EINVAL;
        r = stmt_get(st, ST_UNIT_UPSERT, &s);
        if (r < 0)
            return r;
        sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
        r = stmt_run(st, s, "upsert unit");
        if (r < 0)
            return r;
    }
    return 0;
}

static int fx_banks(struct kf_store *st, json_t *a)
{
    size_t i;
    json_t *o;
    sqlite3_stmt *s = NULL;
    int r;

    json_array_foreach(a, i, o)
    {
        const char *code = fx_str(st, o, "code", "banks", i);
        const char *name = fx_str(st, o, "name", "banks", i);

        if (!code || !name)
            return -EINVAL;
        r = stmt_get(st, ST_BANK_UPSERT, &s);
        if (r < 0)
            return r;
        sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        r = stmt_run(st, s, "upsert bank");
        if (r < 0)
            return r;
    }
    return 0;
}

static int fx_families(struct kf_store *st, json_t *a)
{
    size_t i;
    json_t *o;
    sqlite3_stmt *s = NULL;
    int r;

    json_array_foreach(a, i, o)
    {
        const char *code = fx_str(st, o, "code", "families", i);
        const char *name = fx_str(st, o, "name", "families", i);
        json_t *en = json_object_get(o, "name_en");

        if (!code || !name)
            return -EINVAL;
        r = stmt_get(st, ST_FAMILY_UPSERT, &s);
        if (r < 0)
            return r;
        sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, json_is_string(en) ? json_string_value(en) : "", -1, SQLITE_STATIC);
        r = stmt_run(st, s, "upsert family");
        if (r < 0)
            return r;
    }
    return 0;
}

static int fx_count(struct kf_store *st, json_t *o, const char *key, size_t idx, int *ret)
{
    json_t *v = json_object_get(o, key);

    if (!v) {
        *ret = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000) {
        kf__store_seterr(st, "fixtures: zones[%zu]: \"%s\" must be an integer 0..1000", idx, key);
        return -EINVAL;
    }
    *ret = (int)json_integer_value(v);
    return 0;
}

static int fx_zones(struct kf_store *st, json_t *a)
{
    size_t i;
    json_t *o;
    sqlite3_stmt *s = NULL;
    int r, kiosks, itms;

    json_array_foreach(a, i, o)
    {
        const char *id = fx_str(st, o, "id", "zones", i);
        const char *name = fx_str(st, o, "name", "zones", i);
        const char *bank = fx_str(st, o, "bank", "zones", i);
        const char *branch = fx_str(st, o, "branch", "zones", i);
        const char *unit = fx_str(st, o, "unit", "zones", i);
        const char *addr = fx_str(st, o, "address", "zones", i);
        json_t *hours = json_object_get(o, "hours");
        json_t *itm_hours = json_object_get(o, "itm_hours");
        char *hours_txt;

        if (!id || !name || !bank || !branch || !unit || !addr)
            return -EINVAL;
        if (strlen(id) > KF_ZONE_ID_MAX) {
            kf__store_seterr(st, "fixtures: zones[%zu]: id \"%s\" too long", i, id);
            return -EINVAL;
        }
        if (!json_is_object(hours)) {
            kf__store_seterr(st, "fixtures: zones[%zu] (%s): missing object \"hours\"", i, id);
            return -EINVAL;
        }
        if (itm_hours && !json_is_string(itm_hours) && !json_is_null(itm_hours)) {
            kf__store_seterr(st, "fixtures: zones[%zu] (%s): \"itm_hours\" must be a string", i,
                             id);
            return -EINVAL;
        }
        r = fx_count(st, o, "kiosks", i, &kiosks);
        if (r == 0)
            r = fx_count(st, o, "itms", i, &itms);
        if (r == 0)
            r = fx_ref(st, ST_UNIT_EXISTS, unit, "unit", "zones", i);
        if (r == 0)
            r = fx_ref(st, ST_BANK_EXISTS, bank, "bank", "zones", i);
        if (r < 0)
            return r;
        hours_txt = json_dumps(hours, JSON_COMPACT | JSON_SORT_KEYS);
        if (!hours_txt)
            return -ENOMEM;
        r = stmt_get(st, ST_ZONE_UPSERT, &s);
        if (r < 0) {
            free(hours_txt);
            return r;
        }
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, bank, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, branch, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, addr, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 7, kiosks);
        sqlite3_bind_int(s, 8, itms);
        sqlite3_bind_text(s, 9, hours_txt, -1, SQLITE_TRANSIENT);
        if (json_is_string(itm_hours))
            sqlite3_bind_text(s, 10, json_string_value(itm_hours), -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 10);
        free(hours_txt);
        r = stmt_run(st, s, "upsert zone");
        if (r < 0)
            return r;
    }
    return 0;
}

static int fx_needs(struct kf_store *st, json_t *needs, size_t idx, const char *code)
{
    size_t j;
    json_t *v;
    int p;

    if (!json_is_array(needs)) {
        kf__store_seterr(st, "fixtures: items[%zu] (%s): missing array \"needs\"", idx, code);
        return -EINVAL;
    }
    json_array_foreach(needs, j, v)
    {
        if (!json_is_string(v) || kf_periph_parse(json_string_value(v), &p) < 0) {
            kf__store_seterr(st, "fixtures: items[%zu] (%s): unknown peripheral in \"needs\"", idx,
                             code);
            return -EINVAL;
        }
    }
    return 0;
}

static int fx_items(struct kf_store *st, json_t *a)
{
    size_t i;
    json_t *o;
    sqlite3_stmt *s = NULL;
    int r;

    json_array_foreach(a, i, o)
    {
        const char *code = fx_str(st, o, "code", "items", i);
        const char *family = fx_str(st, o, "family", "items", i);
        const char *name = fx_str(st, o, "name", "items", i);
        json_t *en = json_object_get(o, "name_en");
        json_t *needs = json_object_get(o, "needs");
        json_t *w = json_object_get(o, "weight");
        char *needs_txt;

        if (!code || !family || !name)
            return -EINVAL;
        if (strlen(code) > KF_ITEM_CODE_MAX) {
            kf__store_seterr(st, "fixtures: items[%zu]: code \"%s\" too long", i, code);
            return -EINVAL;
        }
        if (w &&
            (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > 1000000)) {
            kf__store_seterr(st, "fixtures: items[%zu] (%s): bad \"weight\"", i, code);
            return -EINVAL;
        }
        r = fx_needs(st, needs, i, code);
        if (r == 0)
            r = fx_ref(st, ST_FAMILY_EXISTS, family, "family", "items", i);
        if (r < 0)
            return r;
        needs_txt = json_dumps(needs, JSON_COMPACT);
        if (!needs_txt)
            return -ENOMEM;
        r = stmt_get(st, ST_ITEM_UPSERT, &s);
        if (r < 0) {
            free(needs_txt);
            return r;
        }
        sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, family, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, json_is_string(en) ? json_string_value(en) : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, needs_txt, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 6, w ? json_integer_value(w) : 1);
        free(needs_txt);
        r = stmt_run(st, s, "upsert item");
        if (r < 0)
            return r;
    }
    return 0;
}

int kf_store_load_fixtures(struct kf_store *st, const char *json_path)
{
    json_error_t jerr;
    json_t *root, *units, *banks, *families, *zones, *items;
    struct stat sb;
    FILE *f;
    int r, own;

    st->errmsg[0] = '\0';
    f = fopen(json_path, "re");
    if (!f) {
        r = -errno;
        kf__store_seterr(st, "fixtures: %s: %s", json_path, strerror(-r));
        return r;
    }
    /* Bounded: an operator's file, but still not allowed to eat the machine. */
    if (fstat(fileno(f), &sb) < 0 || sb.st_size > (off_t)KF_FIXTURES_MAX_BYTES) {
        kf__store_seterr(st, "fixtures: %s: not readable or larger than %u bytes", json_path,
                         KF_FIXTURES_MAX_BYTES);
        fclose(f);
        return -EFBIG;
    }
    root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!json_is_object(root)) {
        kf__store_seterr(st, "fixtures: %s:%d: %s", json_path, root ? 1 : jerr.line,
                         root ? "not a JSON object" : jerr.text);
        json_decref(root);
        return -EINVAL;
    }
    units = fx_array(st, root, "units");
    banks = fx_array(st, root, "banks");
    families = fx_array(st, root, "families");
    zones = fx_array(st, root, "zones");
    items = fx_array(st, root, "items");
    if (!units || !banks || !families || !zones || !items) {
        r = -EINVAL;
        goto out_decref;
    }
    r = txn_enter(st, &own);
    if (r < 0)
        goto out_decref;
    r = fx_units(st, units);
    if (r == 0)
        r = fx_banks(st, banks);
    if (r == 0)
        r = fx_families(st, families);
    if (r == 0)
        r = fx_zones(st, zones);
    if (r == 0)
        r = fx_items(st, items);
    r = txn_leave(st, own, r);
out_decref:
    json_decref(root);
    return r;
}
