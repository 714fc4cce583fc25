/* store/sqlite/stmt.c: the statements kept prepared (int.h, enum kf_stmt), the multi-row
 * INSERTs of the group commit, and the helpers that run them. */
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

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN DEFERRED",
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
    [ST_ENV_COVER] = "SELECT seq_first, count, id FROM envelopes"
                     " WHERE device_id = ?1 AND seq_first BETWEEN ?2 AND ?3",
    /* In seq_first order from the mark: the covering index envelopes_dev_seq, no sort. */
    [ST_HWM_WALK] = "SELECT seq_first, count FROM envelopes"
                    " WHERE device_id = ?1 AND seq_first >= ?2 ORDER BY seq_first",
    /* Past the walk: a frame stored over the mark (resent with other boundaries). */
    [ST_HWM_NEXT] = "SELECT max(seq_first + count - 1) FROM envelopes"
                    " WHERE device_id = ?1 AND seq_first BETWEEN ?2 AND ?3",
    /* Held quarantine rows count as stored for the mark (store/quarantine.h). */
    [ST_HWM_QUARANTINE] = "SELECT max(seq_first + count - 1) FROM quarantine"
                          " WHERE device_id = ?1 AND seq_first BETWEEN ?2 AND ?3"
                          " AND released_ms IS NULL",
    [ST_QUARANTINE_RELEASE] = "UPDATE quarantine SET released_ms = ?2 WHERE id = ?1",
    [ST_ENV_RAW] = "SELECT raw FROM envelopes WHERE id = ?1",
    [ST_CONFLICT_INSERT] = "INSERT INTO seq_conflicts(device_id, key_epoch, seq_first, count,"
                           " conflict_seq, stored_envelope_id, recv_ms, topic, raw)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_APP_FIRST] = "SELECT seq FROM records WHERE device_id = ?1 AND app_id = ?2",
    [ST_APP_DUP_INSERT] = "INSERT INTO app_duplicates(device_id, seq, app_id, first_seq,"
                          " envelope_id, recv_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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
    /* issue 3 statements (identity, store/sqlite/broker.c, store_security.c) */
    /* issue 4 statements (fleet state and SLA, store/sqlite/sla.c) */
    /* A fact carries its true effective time (docs/SLA.md 10.1): whether it is a backlog
     * (history) is the engine's call, per terminal, never the store's against a tick. */
    [ST_SLA_FACT_INSERT] =
        "INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, seq, value, src, periph,"
        " state, code, sev, who) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
 * per key (commit_device sums them first), and one row per key of each rollup
 * (ingest_usage.c folds them). */
static const struct {
    const char *head;
    int columns;
    const char *tail;
} multi_sql[MT_COUNT_] = {
    [MT_RECORDS] = {"INSERT INTO records(device_id, seq, envelope_id, type, device_ts_ms,"
                    " effective_ms, recv_ms, flags, app_id, asset_id, zone_id, item, outcome,"
                    " dur_ms, day) VALUES ",
                    15, ""},
    [MT_USAGE] = {"INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok, failed,"
                  " abandoned, dur_ms_total) VALUES ",
                  9,
                  " ON CONFLICT(day, device_id, zone_id, item) DO UPDATE SET"
                  " ok = ok + excluded.ok, failed = failed + excluded.failed,"
                  " abandoned = abandoned + excluded.abandoned,"
                  " dur_ms_total = dur_ms_total + excluded.dur_ms_total"},
#define ROLLUP_ADD                                                                                 \
    " DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed,"                     \
    " abandoned = abandoned + excluded.abandoned,"                                                 \
    " dur_ms_total = dur_ms_total + excluded.dur_ms_total"
    [MT_USAGE_MONTHLY] = {"INSERT INTO usage_monthly(month, device_id, zone_id, item, ok,"
                          " failed, abandoned, dur_ms_total) VALUES ",
                          8, " ON CONFLICT(month, device_id, zone_id, item)" ROLLUP_ADD},
    [MT_USAGE_YEARLY] = {"INSERT INTO usage_yearly(year, device_id, zone_id, item, ok, failed,"
                         " abandoned, dur_ms_total) VALUES ",
                         8, " ON CONFLICT(year, device_id, zone_id, item)" ROLLUP_ADD},
#undef ROLLUP_ADD
    /* A pair the table holds is left as it is: a day is had or not. */
    [MT_DEVICE_DAYS] = {"INSERT INTO device_days(day, device_id) VALUES ", 2,
                        " ON CONFLICT(day, device_id) DO NOTHING"},
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
    memcpy(p, multi_sql[id].tail, strlen(multi_sql[id].tail) + 1); /* len counted it */
    rc =
        sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->multi[id][shift], NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return kf__store_sql_fail(st, rc, "prepare");
    *ret = st->multi[id][shift];
    return 0;
}

void kf__store_multi_start(struct kf__store_multi *m, enum kf_multi id, size_t nrows)
{
    m->id = id;
    m->left = nrows;
    m->k = m->i = 0;
    m->s = NULL;
}

int kf__store_multi_row(struct kf_store *st, struct kf__store_multi *m, sqlite3_stmt **ret_s,
                        int *ret_off)
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

int kf__store_multi_next(struct kf_store *st, struct kf__store_multi *m, const char *what)
{
    if (++m->i < m->k)
        return 0;
    return kf__store_stmt_run(st, m->s, what);
}

void kf__store_multi_abort(struct kf__store_multi *m)
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

void kf__store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

int kf__store_step_done(struct kf_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s), r = 0;

    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = kf__store_sql_fail(st, rc, what);
    sqlite3_finalize(s);
    return r;
}
