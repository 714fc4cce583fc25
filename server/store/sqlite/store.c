/* store.c: the SQLite backend of store.h, its core: opening, schema and migration, the
 * statement cache, transactions, device registration and registry loading. The group commit
 * is in store_ingest.c, the deployment fixtures in store_fixtures.c.
 * docs/STORE.md describes the tables and how an auditor re-verifies the evidence. */
#define _GNU_SOURCE
#include <errno.h>
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
#include "store/query.h"

#define KF_BUSY_TIMEOUT_MS 5000

/* Schema migrations, in order: entry i takes user_version i to i + 1. Each is a
 * NULL-terminated list of statements; the SQL of later versions lives beside the code that
 * uses it (store_<area>.c) and is declared in store_int.h. */
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
     * order instead (kf__schema_records, store_ingest.c). */
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
    schema_v1,             /* v1: the pipeline's tables, above */
    kf__schema_broker,     /* v2 (issue 3): broker accounts, store_broker.c */
    kf__schema_identity,   /* v3 (issue 3): tokens, audit log, store_identity.c */
    kf__schema_sla,        /* v4 (issue 4): fleet state and SLA, store_sla.c */
    kf__schema_quarantine, /* v5: poison frames kept, not resent forever */
    kf__schema_sla_late,   /* v6: facts that arrived dated before the SLA engine's tick */
    kf__schema_records,    /* v7: records kept in commit order, store_ingest.c */
    kf__schema_usage,      /* v8: usage_daily per device; no day index on records */
};
#define KF_SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_DEV_GET] = "SELECT d.asset_id, a.zone_id, d.acked_seq, d.online FROM devices d"
                   " JOIN assets a ON a.asset_id = d.asset_id WHERE d.device_id = ?1",
    /* ?3: the frame proves the device is connected (RECORDS, HELLO). ?5: the device's new
     * high-water mark, when the commit writes it here (commit_device), or NULL. */
    [ST_DEV_SEEN] = "UPDATE devices SET last_seen_ms = max(last_seen_ms, ?2),"
                    " state_since_ms = CASE WHEN ?3 AND online = 0 THEN ?2"
                    " ELSE state_since_ms END,"
                    " online = CASE WHEN ?3 THEN 1 ELSE online END,"
                    " clock_offset_ms = coalesce(?4, clock_offset_ms),"
                    " acked_seq = coalesce(?5, acked_seq) WHERE device_id = ?1",
    [ST_DEV_HELLO] = "UPDATE devices SET agent = coalesce(?2, agent),"
                     " boot_id = coalesce(?3, boot_id),"
                     " health_dropped = coalesce(?4, health_dropped) WHERE device_id = ?1",
    [ST_DEV_STATE] = "UPDATE devices SET state_since_ms = CASE WHEN online <> ?2 THEN ?3"
                     " ELSE state_since_ms END, online = ?2, last_state_device_ms = ?4"
                     " WHERE device_id = ?1 AND last_state_device_ms <= ?4",
    [ST_DEV_ACKED] = "UPDATE devices SET acked_seq = ?2 WHERE device_id = ?1",
    [ST_ENV_DELETE] = "DELETE FROM envelopes WHERE id = ?1",
    [ST_ENV_INSERT] = "INSERT INTO envelopes(device_id, key_epoch, kind, flags, seq_first,"
                      " count, device_ms, clock_offset_ms, recv_ms, commit_ms, topic, raw)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
    [ST_GAP_INSERT] = "INSERT OR IGNORE INTO seq_gaps(device_id, first_seq, last_seq, detected_ms)"
                      " VALUES (?1, ?2, ?3, ?4)",
    /* The stored envelopes of a device that start in [?2, ?3] (commit_records). */
    [ST_ENV_COVER] = "SELECT seq_first, count FROM envelopes"
                     " WHERE device_id = ?1 AND seq_first BETWEEN ?2 AND ?3",
    /* In seq_first order from the mark: the covering index envelopes_dev_seq, no sort. */
    [ST_HWM_WALK] = "SELECT seq_first, count FROM envelopes"
                    " WHERE device_id = ?1 AND seq_first >= ?2 ORDER BY seq_first",
    /* Past the walk: a frame stored over the mark (resent with other boundaries). */
    [ST_HWM_NEXT] = "SELECT max(seq_first + count - 1) FROM envelopes"
                    " WHERE device_id = ?1 AND seq_first BETWEEN ?2 AND ?3",
    /* Held quarantine rows count as stored for the mark (store_quarantine.h). */
    [ST_HWM_QUARANTINE] = "SELECT max(seq_first + count - 1) FROM quarantine"
                          " WHERE device_id = ?1 AND seq_first BETWEEN ?2 AND ?3"
                          " AND released_ms IS NULL",
    [ST_QUARANTINE_RELEASE] = "UPDATE quarantine SET released_ms = ?2 WHERE id = ?1",
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
    [ST_BROKER_PUT] =
        "INSERT INTO broker_accounts(username, verifier, role, device_id, expires_ms, created_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(username) DO UPDATE SET"
        " verifier = excluded.verifier, role = excluded.role, device_id = excluded.device_id,"
        " expires_ms = excluded.expires_ms, created_ms = excluded.created_ms",
    [ST_BROKER_DEL] = "DELETE FROM broker_accounts WHERE username = ?1",
    [ST_BROKER_EACH] = "SELECT username, verifier, role, device_id, expires_ms, created_ms"
                       " FROM broker_accounts WHERE expires_ms IS NULL OR expires_ms > ?1"
                       " ORDER BY username",
    /* issue 3 statements (identity, store_broker.c, store_security.c) */
    /* issue 4 statements (fleet state and SLA, store_sla.c) */
    /* A fact is never dated before the engine's last tick (docs/SLA.md, "Facts"): what the
     * engine already announced stays true. Heartbeat facts (below) are not clamped. */
    [ST_SLA_FACT_INSERT] =
        "INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, seq, value, src, periph,"
        " state, code, sev, who, late) VALUES (?1, ?2, ?3,"
        " max(?4, coalesce((SELECT tick_ms FROM sla_cursor WHERE one = 1), 0)),"
        " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?4 < coalesce((SELECT tick_ms FROM sla_cursor WHERE one = 1), 0))",
    [ST_SLA_EXPIRE_FACTS] =
        "INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, value, src)"
        " SELECT asset_id, device_id, 'presence', last_seen_ms, ?2, 0, 'heartbeat' FROM devices"
        " WHERE online = 1 AND last_seen_ms < ?1 AND status = 1",
    [ST_SLA_PERIPH_PREV] =
        "SELECT state, seq FROM periph_latest WHERE device_id = ?1 AND periph = ?2",
    [ST_SLA_FAULT_PREV] =
        "SELECT open, sev, periph, seq FROM fault_state WHERE device_id = ?1 AND code = ?2",
    [ST_SLA_MAINT_PREV] = "SELECT maint, seq FROM maint_latest WHERE device_id = ?1",
    [ST_SLA_MAINT_UPSERT] =
        "INSERT INTO maint_latest(device_id, maint, tech, since_ms, seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(device_id) DO UPDATE SET"
        " since_ms = CASE WHEN maint <> excluded.maint"
        " THEN excluded.since_ms ELSE since_ms END, maint = excluded.maint, tech = excluded.tech,"
        " seq = excluded.seq WHERE excluded.seq > maint_latest.seq",
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

int kf__store_sql_fail(struct kf_store *st, int rc, const char *what)
{
    kf__store_seterr(st, "%s: %s", what, sqlite3_errmsg(st->db));
    return kf_err_from_sqlite(rc);
}

int kf__store_stmt(struct kf_store *st, enum kf_stmt id, sqlite3_stmt **ret)
{
    int rc;

    if (!st->stmt[id]) {
        rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
                                NULL);
        if (rc != SQLITE_OK)
            return kf__store_sql_fail(st, rc, "prepare");
    }
    *ret = st->stmt[id];
    return 0;
}

void kf__store_bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    sqlite3_bind_int64(s, i, v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

void kf__store_stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int kf__store_stmt_run(struct kf_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int r = 0;

    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = kf__store_sql_fail(st, rc, what);
    kf__store_stmt_done(s);
    return r;
}

/* The multi-row INSERTs: head, the row's columns, tail. Records never conflict: the frame's
 * own new envelope id, seqs not stored (commit_records). A commit has at most one usage row
 * per key (commit_device sums them first). */
static const struct {
    const char *head;
    int columns;
    const char *tail;
} multi_sql[MT_COUNT_] = {
    [MT_RECORDS] = {"INSERT INTO records(device_id, seq, envelope_id, type, device_ts_ms,"
                    " effective_ms, recv_ms, flags, asset_id, zone_id, item, outcome, dur_ms, day)"
                    " VALUES ",
                    14, ""},
    [MT_USAGE] = {"INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok, failed,"
                  " abandoned, dur_ms_total) VALUES ",
                  9,
                  " ON CONFLICT(day, device_id, zone_id, item) DO UPDATE SET"
                  " ok = ok + excluded.ok, failed = failed + excluded.failed,"
                  " abandoned = abandoned + excluded.abandoned,"
                  " dur_ms_total = dur_ms_total + excluded.dur_ms_total"},
};

static int multi_prepare(struct kf_store *st, enum kf_multi id, unsigned shift, sqlite3_stmt **ret)
{
    size_t rows = (size_t)1 << shift, cols = (size_t)multi_sql[id].columns;
    size_t len = strlen(multi_sql[id].head) + rows * (2 * cols + 2) + strlen(multi_sql[id].tail);
    char *sql, *p;
    int rc;

    if (st->multi[id][shift]) {
        *ret = st->multi[id][shift];
        return 0;
    }
    sql = malloc(len + 1);
    if (!sql)
        return -ENOMEM;
    p = stpcpy(sql, multi_sql[id].head);
    for (size_t r = 0; r < rows; r++) {
        *p++ = r ? ',' : '(';
        if (r)
            *p++ = '(';
        for (size_t c = 0; c < cols; c++) {
            *p++ = '?';
            *p++ = c + 1 < cols ? ',' : ')';
        }
    }
    strcpy(p, multi_sql[id].tail);
    rc =
        sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->multi[id][shift], NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return kf__store_sql_fail(st, rc, "prepare");
    *ret = st->multi[id][shift];
    return 0;
}

void kf__multi_start(struct kf__multi *m, enum kf_multi id, size_t nrows)
{
    m->id = id;
    m->left = nrows;
    m->k = m->i = 0;
    m->s = NULL;
}

int kf__multi_row(struct kf_store *st, struct kf__multi *m, sqlite3_stmt **ret_s, int *ret_off)
{
    if (m->i == m->k) {
        unsigned shift = 0;
        int r;

        if (m->left == 0) {
            kf__store_seterr(st, "commit: more rows than announced");
            return -EINVAL;
        }
        while (shift < KF_MULTI_SHIFT_MAX && ((size_t)2 << shift) <= m->left)
            shift++;
        r = multi_prepare(st, m->id, shift, &m->s);
        if (r < 0)
            return r;
        m->k = (size_t)1 << shift;
        m->i = 0;
        m->left -= m->k;
    }
    *ret_s = m->s;
    *ret_off = (int)m->i * multi_sql[m->id].columns;
    return 0;
}

int kf__multi_next(struct kf_store *st, struct kf__multi *m, const char *what)
{
    if (++m->i < m->k)
        return 0;
    return kf__store_stmt_run(st, m->s, what);
}

void kf__multi_abort(struct kf__multi *m)
{
    if (m->s && m->i < m->k)
        kf__store_stmt_done(m->s);
    m->s = NULL;
    m->i = m->k = m->left = 0;
}

int kf__store_exec_one(struct kf_store *st, enum kf_stmt id)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, id, &s);

    if (r < 0)
        return r;
    return kf__store_stmt_run(st, s, stmt_sql[id]);
}

int kf__store_exists(struct kf_store *st, enum kf_stmt id, const char *key)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_stmt(st, id, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        r = 1;
    else if (rc == SQLITE_DONE)
        r = 0;
    else
        r = kf__store_sql_fail(st, rc, "lookup");
    kf__store_stmt_done(s);
    return r;
}

int kf_store_begin(struct kf_store *st)
{
    return kf__store_exec_one(st, ST_BEGIN);
}

int kf_store_end(struct kf_store *st, int commit)
{
    int r;

    if (!commit)
        return kf__store_exec_one(st, ST_ROLLBACK);
    r = kf__store_exec_one(st, ST_COMMIT);
    if (r < 0 && !sqlite3_get_autocommit(st->db))
        kf__store_exec_one(st, ST_ROLLBACK);
    return r;
}

int kf__store_txn_enter(struct kf_store *st, int *ret_own)
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

int kf__store_txn_leave(struct kf_store *st, int own, int r)
{
    if (!own)
        return r;
    if (r < 0) {
        if (!sqlite3_get_autocommit(st->db))
            kf__store_exec_one(st, ST_ROLLBACK);
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

static int migrate(struct kf_store *st)
{
    int64_t next_us = 0, t0 = kf_mono_us();
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
    if (v > 0 && v < KF_SCHEMA_VERSION) {
        kf_notice("store: migrating the schema from version %d to %d", v, KF_SCHEMA_VERSION);
        sqlite3_progress_handler(st->db, 10000, migrate_progress, &next_us);
    }
    for (int m = v; m < KF_SCHEMA_VERSION; m++) {
        char pragma[48];

        for (const char *const *q = migrations[m]; *q; q++) {
            r = exec_sql(st, *q);
            if (r < 0)
                goto out_rollback;
        }
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m + 1);
        r = exec_sql(st, pragma);
        if (r < 0)
            goto out_rollback;
    }
    r = exec_sql(st, "COMMIT");
    if (r < 0)
        goto out_rollback;
    sqlite3_progress_handler(st->db, 0, NULL, NULL);
    if (v > 0 && v < KF_SCHEMA_VERSION)
        kf_notice("store: schema migrated to version %d in %.1f s", KF_SCHEMA_VERSION,
                  (double)(kf_mono_us() - t0) / 1e6);
    return 0;

out_rollback:
    sqlite3_progress_handler(st->db, 0, NULL, NULL);
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
        /* The writer touches records, txns, envelopes and their indexes on every commit: a
         * 64 MiB page cache and mapped reads keep it from re-reading pages through pread
         * (a third of kioskd's CPU before; BENCHMARKS.md). */
        r = exec_sql(st, "PRAGMA cache_size = -65536");
        if (r < 0)
            goto out_free;
        r = exec_sql(st, "PRAGMA mmap_size = 268435456");
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
    kf__store_checkpointer_stop(st);
    for (int i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(st->stmt[i]);
    for (int i = 0; i < MT_COUNT_; i++) {
        for (int k = 0; k <= KF_MULTI_SHIFT_MAX; k++)
            sqlite3_finalize(st->multi[i][k]);
    }
    sqlite3_close(st->db);
    free(st);
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
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = kf__store_exists(st, ST_DEV_EXISTS, reg->device_id);
    if (r < 0)
        goto out;
    if (r == 1) {
        kf__store_seterr(st, "device %s is already registered", reg->device_id);
        r = -EEXIST;
        goto out;
    }
    r = kf__store_exists(st, ST_ZONE_EXISTS, reg->zone_id);
    if (r < 0)
        goto out;
    if (r == 0) {
        kf__store_seterr(st, "unknown zone %s", reg->zone_id);
        r = -ENOENT;
        goto out;
    }

    r = kf__store_stmt(st, ST_ASSET_GET, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->asset_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        /* An asset keeps its identity when its board or key is replaced; it must not
         * silently change kind or zone through a re-registration. */
        int kind = sqlite3_column_int(s, 0);
        int same_zone = strcmp((const char *)sqlite3_column_text(s, 1), reg->zone_id) == 0;

        kf__store_stmt_done(s);
        if (kind != reg->kind || !same_zone) {
            kf__store_seterr(st, "asset %s exists with another kind or zone", reg->asset_id);
            r = -EINVAL;
            goto out;
        }
    } else if (rc == SQLITE_DONE) {
        kf__store_stmt_done(s);
        r = kf__store_stmt(st, ST_ASSET_INSERT, &s);
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
        r = kf__store_stmt_run(st, s, "insert asset");
        if (r < 0)
            goto out;
    } else {
        r = kf__store_sql_fail(st, rc, "asset lookup");
        kf__store_stmt_done(s);
        goto out;
    }

    r = kf__store_stmt(st, ST_DEV_INSERT, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, reg->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    r = kf__store_stmt_run(st, s, "insert device");
    if (r < 0)
        goto out;

    r = kf__store_stmt(st, ST_KEY_INSERT, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, 1);
    sqlite3_bind_blob(s, 3, reg->pk, 32, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, KF_KEY_ACTIVE);
    sqlite3_bind_int64(s, 5, now);
    r = kf__store_stmt_run(st, s, "insert key");
out:
    return kf__store_txn_leave(st, own, r);
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
    r = kf__store_stmt(st, ST_REG_DEVICES, &s);
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
        r = kf__store_sql_fail(st, rc, "registry devices");
    kf__store_stmt_done(s);
    if (r < 0)
        goto out_end;

    /* Both lists are ordered by device id: merge. */
    r = kf__store_stmt(st, ST_REG_KEYS, &s);
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
        r = kf__store_sql_fail(st, rc, "registry keys");
    kf__store_stmt_done(s);
    if (r < 0)
        goto out_end;
    r = kf_registry_new(devs, n, ret);

out_end:
    exec_sql(st, "COMMIT");
    reg_devs_free(devs, n);
    return r;
}
