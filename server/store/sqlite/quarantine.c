/* store/sqlite/quarantine.c: the quarantine of poison frames (store/quarantine.h). */
#include "store/quarantine.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/int.h"
#include "store/store.h"

/* v5: one row per refused frame, its bytes exactly as received. The unique index makes a
 * resent copy update the row instead of adding one; quarantine_held serves the
 * high-water-mark walk (store/sqlite/ingest.c), which asks only for held rows, and
 * quarantine_replay the store tick's look for replays asked for. */
const char *const kf__store_schema_quarantine[] = {
    "CREATE TABLE quarantine(id INTEGER PRIMARY KEY, device_id TEXT NOT NULL,"
    " key_epoch INTEGER NOT NULL, kind INTEGER NOT NULL, seq_first INTEGER NOT NULL,"
    " count INTEGER NOT NULL, recv_ms INTEGER NOT NULL, quarantined_ms INTEGER NOT NULL,"
    " reason TEXT NOT NULL, topic TEXT NOT NULL, raw BLOB NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, replay_ms INTEGER, released_ms INTEGER)",
    "CREATE UNIQUE INDEX quarantine_frame ON quarantine(device_id, kind, seq_first, count)",
    "CREATE INDEX quarantine_held ON quarantine(device_id, seq_first, count)"
    " WHERE released_ms IS NULL",
    "CREATE INDEX quarantine_replay ON quarantine(id) WHERE replay_ms IS NOT NULL",
    NULL,
};

int kf_store_quarantine(struct kf_store *st, const struct kf_ingest *in, const char *reason,
                        int64_t now_ms, struct kf_commit_out *out)
{
    sqlite3_stmt *s = NULL;
    uint64_t acked = 0, hwm = 0;
    int r, rc;

    if (in->raw_len > INT_MAX)
        return -EMSGSIZE;
    memset(out, 0, sizeof(*out));
    r = kf_store_begin(st);
    if (r < 0)
        return r;
    r = kf__store_prep(st,
                       "INSERT INTO quarantine(device_id, key_epoch, kind, seq_first, count,"
                       " recv_ms, quarantined_ms, reason, topic, raw)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                       " ON CONFLICT(device_id, kind, seq_first, count) DO UPDATE SET"
                       " reason = excluded.reason, quarantined_ms = excluded.quarantined_ms",
                       &s);
    if (r < 0)
        goto out_rollback;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, in->hdr.key_epoch);
    sqlite3_bind_int(s, 3, in->hdr.kind);
    kf__store_bind_u64(s, 4, in->hdr.seq);
    sqlite3_bind_int64(s, 5, in->hdr.count);
    sqlite3_bind_int64(s, 6, in->recv_ms);
    sqlite3_bind_int64(s, 7, now_ms);
    sqlite3_bind_text(s, 8, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, in->topic ? in->topic : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 10, in->raw ? (const void *)in->raw : (const void *)"", (int)in->raw_len,
                      SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "quarantine");
        goto out_rollback;
    }
    /* The device's mark, then the walk: over stored frames and held quarantine rows. */
    r = kf__store_prep(st, "SELECT acked_seq FROM devices WHERE device_id = ?1", &s);
    if (r < 0)
        goto out_rollback;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        acked = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW) {
        r = kf__store_advance_hwm(st, in->hdr.device_id, acked, 1, &hwm);
        if (r < 0)
            goto out_rollback;
    } else if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "quarantine: device");
        goto out_rollback;
    }
    r = kf_store_end(st, 1);
    if (r < 0)
        return r;
    out->acked_seq = hwm;
    out->quarantined = 1;
    return 0;

out_rollback:
    kf_store_end(st, 0);
    return r;
}

static void read_row(sqlite3_stmt *s, struct kf_quarantined *q)
{
    memset(q, 0, sizeof(*q));
    q->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(q->device_id, sizeof(q->device_id), s, 1);
    q->key_epoch = (uint32_t)sqlite3_column_int64(s, 2);
    q->kind = (uint8_t)sqlite3_column_int(s, 3);
    q->seq_first = (uint64_t)sqlite3_column_int64(s, 4);
    q->count = (uint32_t)sqlite3_column_int64(s, 5);
    q->recv_ms = sqlite3_column_int64(s, 6);
    q->quarantined_ms = sqlite3_column_int64(s, 7);
    kf__store_col_copy(q->reason, sizeof(q->reason), s, 8);
    q->attempts = (uint32_t)sqlite3_column_int64(s, 9);
    q->replay_ms = sqlite3_column_int64(s, 10);
    q->released_ms = sqlite3_column_int64(s, 11);
}

#define KF__QUAR_COLS                                                                              \
    "id, device_id, key_epoch, kind, seq_first, count, recv_ms, quarantined_ms, reason,"           \
    " attempts, coalesce(replay_ms, 0), coalesce(released_ms, 0), topic, raw"

int kf_store_quarantine_each(struct kf_store *st, int held_only, kf_quarantine_cb cb, void *ud)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st,
                       held_only ? "SELECT " KF__QUAR_COLS " FROM quarantine"
                                   " WHERE released_ms IS NULL ORDER BY id DESC"
                                 : "SELECT " KF__QUAR_COLS " FROM quarantine ORDER BY id DESC",
                       &s);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct kf_quarantined q;

        read_row(s, &q);
        r = cb(ud, &q, kf__store_col_text(s, 12), sqlite3_column_blob(s, 13),
               (size_t)sqlite3_column_bytes(s, 13));
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "quarantine list");
    sqlite3_finalize(s);
    return r;
}

int kf_store_quarantine_request(struct kf_store *st, int64_t id, int64_t now_ms, uint32_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st,
                       "UPDATE quarantine SET replay_ms = ?2"
                       " WHERE released_ms IS NULL AND (?1 = 0 OR id = ?1)",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "quarantine replay");
    *ret_n = (uint32_t)sqlite3_changes(kf__store_db(st));
    return 0;
}

struct taken {
    struct kf_quarantined q;
    char *topic;
    uint8_t *raw;
    size_t raw_len;
};

int kf_store_quarantine_take(struct kf_store *st, size_t max, kf_quarantine_cb cb, void *ud)
{
    struct taken *t = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = NULL, *u = NULL;
    int r, rc;

    /* Asked on every store tick: nothing asked for costs one index probe, no transaction. */
    r = kf__store_prep(st, "SELECT 1 FROM quarantine WHERE replay_ms IS NOT NULL LIMIT 1", &s);
    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    s = NULL;
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return kf__store_sql_fail(st, rc, "quarantine take");
    r = kf_store_begin(st);
    if (r < 0)
        return r;
    r = kf__store_prep(st,
                       "SELECT " KF__QUAR_COLS " FROM quarantine WHERE replay_ms IS NOT NULL"
                       " AND released_ms IS NULL ORDER BY id LIMIT ?1",
                       &s);
    if (r == 0)
        r = kf__store_prep(st,
                           "UPDATE quarantine SET replay_ms = NULL, attempts = attempts + 1"
                           " WHERE id = ?1",
                           &u);
    if (r < 0)
        goto out;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)max);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *topic = kf__store_col_text(s, 12);
        size_t len = (size_t)sqlite3_column_bytes(s, 13);
        struct taken *x;

        r = kf__store_grow((void **)&t, &cap, n, sizeof(*t));
        if (r < 0)
            goto out;
        x = &t[n];
        read_row(s, &x->q);
        x->topic = strdup(topic);
        x->raw = malloc(len > 0 ? len : 1);
        x->raw_len = len;
        if (!x->topic || !x->raw) {
            free(x->topic);
            free(x->raw);
            r = -ENOMEM;
            goto out;
        }
        if (len > 0)
            memcpy(x->raw, sqlite3_column_blob(s, 13), len);
        n++;
        sqlite3_bind_int64(u, 1, x->q.id);
        r = kf__store_stmt_run(st, u, "quarantine take");
        if (r < 0)
            goto out;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "quarantine take");
        goto out;
    }
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    s = u = NULL;
    r = kf_store_end(st, 1);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = cb(ud, &t[i].q, t[i].topic, t[i].raw, t[i].raw_len);
    goto out_free;

out:
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    kf_store_end(st, 0);
out_free:
    for (size_t i = 0; i < n; i++) {
        free(t[i].topic);
        free(t[i].raw);
    }
    free(t);
    return r;
}

int kf_store_quarantine_note(struct kf_store *st, int64_t id, const char *text)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st, "UPDATE quarantine SET reason = ?2 WHERE id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : kf__store_sql_fail(st, rc, "quarantine note");
}
