/* store/sqlite/blobs.c: bundles sent in chunks (store/blobs.h). Statements are prepared per
 * call: chunks are few next to records (a bundle is at most 512). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include <kf/blob.h>
#include <kf/command.h>

#include "store/blobs.h"
#include "store/ingest.h"
#include "store/sqlite/int.h"

/* v20 (issue 18). blobs: one row per (device, command) bundle: what its chunks declare
 * (sha, total, nchunks), how many from index 0 are held (have), state (enum kf_blob_state),
 * when its first chunk came and when it was whole (done_ms), why it was refused (detail).
 * blob_chunks: the chunks, as received. */
const char *const kf__store_schema_blobs[] = {
    "CREATE TABLE blobs(device_id TEXT NOT NULL REFERENCES devices(device_id),"
    " cmd_seq INTEGER NOT NULL, sha BLOB NOT NULL, total INTEGER NOT NULL,"
    " nchunks INTEGER NOT NULL, have INTEGER NOT NULL, state INTEGER NOT NULL,"
    " first_ms INTEGER NOT NULL, done_ms INTEGER, detail TEXT,"
    " PRIMARY KEY(device_id, cmd_seq))",
    "CREATE INDEX blobs_done ON blobs(done_ms) WHERE done_ms IS NOT NULL",
    "CREATE TABLE blob_chunks(device_id TEXT NOT NULL, cmd_seq INTEGER NOT NULL,"
    " idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(device_id, cmd_seq, idx))",
    NULL,
};

void kf_store_blob_limits(struct kf_store *st, uint64_t max_total, uint32_t keep_days)
{
    st->blob_max_total = max_total;
    st->blob_keep_ms = (int64_t)keep_days * 86400 * 1000;
}

static uint64_t max_total(const struct kf_store *st)
{
    return st->blob_max_total ? st->blob_max_total : KF_STORE_BLOB_MAX_TOTAL_DEFAULT;
}

static int64_t keep_ms(const struct kf_store *st)
{
    return st->blob_keep_ms ? st->blob_keep_ms
                            : (int64_t)KF_STORE_BLOB_KEEP_DAYS_DEFAULT * 86400 * 1000;
}

/* Run sql bound with (device, cmd_seq) and nothing else. */
static int exec_dev_seq(struct kf_store *st, const char *sql, const char *dev, uint64_t seq)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st, sql, &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, dev, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, seq);
    return kf__store_step_done(st, s, "bundle");
}

/* The SHA-256 of the chunks held of (dev, seq), in order, into out; their bytes in *ret_n. */
static int hash_chunks(struct kf_store *st, const char *dev, uint64_t seq, uint8_t out[32],
                       uint64_t *ret_n, uint32_t *ret_count)
{
    crypto_hash_sha256_state h;
    sqlite3_stmt *s = NULL;
    uint64_t n = 0;
    uint32_t count = 0;
    int r, rc;

    r = kf__store_prep(st,
                       "SELECT data FROM blob_chunks WHERE device_id = ?1 AND cmd_seq = ?2"
                       " ORDER BY idx",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, dev, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, seq);
    crypto_hash_sha256_init(&h);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(s, 0);
        int len = sqlite3_column_bytes(s, 0);

        if (len > 0)
            crypto_hash_sha256_update(&h, p, (unsigned long long)len);
        n += (uint64_t)len;
        count++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "bundle hash");
    crypto_hash_sha256_final(&h, out);
    *ret_n = n;
    *ret_count = count;
    return 0;
}

/* Delete the bundles whole for longer than the retention (and their chunks). */
static int prune(struct kf_store *st, int64_t now_ms)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(st,
                       "DELETE FROM blob_chunks WHERE (device_id, cmd_seq) IN (SELECT device_id,"
                       " cmd_seq FROM blobs WHERE done_ms IS NOT NULL AND done_ms < ?1)",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, now_ms - keep_ms(st));
    r = kf__store_step_done(st, s, "bundle retention");
    if (r < 0)
        return r;
    r = kf__store_prep(
        st, "DELETE FROM blobs WHERE done_ms IS NOT NULL AND done_ms < ?1 AND state = 1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, now_ms - keep_ms(st));
    return kf__store_step_done(st, s, "bundle retention");
}

/* A new bundle: refused (a row that says why, so that its chunks are answered alike) when it
 * answers no logs command of this device, or would pass the store's bound. */
static int blob_new(struct kf_store *st, const char *dev, const struct kf_blob_chunk *c,
                    int64_t now_ms, int *ret_state)
{
    sqlite3_stmt *s = NULL;
    const char *why = NULL;
    uint64_t held = 0;
    int r, rc, is_logs = 0;

    r = kf__store_prep(st,
                       "SELECT kind = 'logs', (SELECT total(total) FROM blobs WHERE state <> 2)"
                       " FROM commands WHERE device_id = ?1 AND seq = ?2",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, dev, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, c->cmd_seq);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        is_logs = sqlite3_column_int(s, 0);
        held = (uint64_t)sqlite3_column_double(s, 1);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "bundle command");
    if (!is_logs)
        why = "no logs command of this device has this seq";
    else if (held + c->total > max_total(st))
        why = "the server's store of bundles is full ([blobs] max_total_mb)";
    r = kf__store_prep(st,
                       "INSERT INTO blobs(device_id, cmd_seq, sha, total, nchunks, have, state,"
                       " first_ms, done_ms, detail) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9)",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, dev, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, c->cmd_seq);
    sqlite3_bind_blob(s, 3, c->sha256, 32, SQLITE_STATIC);
    kf__store_bind_u64(s, 4, c->total);
    sqlite3_bind_int64(s, 5, c->nchunks);
    sqlite3_bind_int(s, 6, why ? KF_BLOB_REFUSED : KF_BLOB_PARTIAL);
    sqlite3_bind_int64(s, 7, now_ms);
    kf__store_bind_opt_ms(s, 8, why ? now_ms : 0);
    kf__store_bind_opt_text(s, 9, why);
    r = kf__store_step_done(st, s, "bundle new");
    if (r == 0)
        *ret_state = why ? KF_BLOB_REFUSED : KF_BLOB_PARTIAL;
    return r;
}

int kf__store_blob_chunk(struct kf_store *st, const struct kf_ingest *in, int64_t now_ms,
                         struct kf_commit_out *out)
{
    const struct kf_blob_chunk *c = &in->blob;
    const char *dev = in->hdr.device_id;
    sqlite3_stmt *s = NULL;
    uint8_t sha[32];
    uint32_t have = 0, nchunks = 0;
    int r, rc, state = -1, same = 0;

    r = kf__store_prep(st,
                       "SELECT sha, total, nchunks, have, state FROM blobs"
                       " WHERE device_id = ?1 AND cmd_seq = ?2",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, dev, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, c->cmd_seq);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        same = sqlite3_column_bytes(s, 0) == 32 &&
               memcmp(sqlite3_column_blob(s, 0), c->sha256, 32) == 0 &&
               (uint64_t)sqlite3_column_int64(s, 1) == c->total &&
               (uint32_t)sqlite3_column_int64(s, 2) == c->nchunks;
        nchunks = (uint32_t)sqlite3_column_int64(s, 2);
        have = (uint32_t)sqlite3_column_int64(s, 3);
        state = sqlite3_column_int(s, 4);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "bundle");
    if (state < 0) {
        r = blob_new(st, dev, c, now_ms, &state);
        if (r < 0)
            return r;
        same = 1;
        nchunks = c->nchunks;
    }
    /* Whole, refused, or a chunk that declares another bundle under the same command (a
     * device bug: the first declaration stands): answered with what is held, nothing
     * stored. */
    if (state != KF_BLOB_PARTIAL || !same) {
        if (state == KF_BLOB_REFUSED) {
            r = kf__store_blob_settle(st, dev, c->cmd_seq, now_ms);
            if (r < 0)
                return r;
        }
        out->blob_have = have;
        out->blob_state = (uint8_t)state;
        return 0;
    }
    r = kf__store_prep(st,
                       "INSERT OR IGNORE INTO blob_chunks(device_id, cmd_seq, idx, data)"
                       " VALUES (?1, ?2, ?3, ?4)",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, dev, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, c->cmd_seq);
    sqlite3_bind_int64(s, 3, c->index);
    sqlite3_bind_blob(s, 4, c->data, (int)c->len, SQLITE_STATIC);
    r = kf__store_step_done(st, s, "bundle chunk");
    if (r < 0)
        return r;
    /* How many from index 0 without a gap: chunks may come in any order. */
    r = kf__store_prep(st,
                       "SELECT idx FROM blob_chunks WHERE device_id = ?1 AND cmd_seq = ?2"
                       " AND idx >= ?3 ORDER BY idx",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, dev, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, c->cmd_seq);
    sqlite3_bind_int64(s, 3, have);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && sqlite3_column_int64(s, 0) == have)
        have++;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "bundle have");
    if (have == nchunks) {
        uint64_t n;
        uint32_t count;

        r = hash_chunks(st, dev, c->cmd_seq, sha, &n, &count);
        if (r < 0)
            return r;
        state = n == c->total && count == nchunks && sodium_memcmp(sha, c->sha256, 32) == 0
                    ? KF_BLOB_COMPLETE
                    : KF_BLOB_REFUSED;
    }
    r = kf__store_prep(st,
                       "UPDATE blobs SET have = ?3, state = ?4, done_ms = ?5, detail = ?6"
                       " WHERE device_id = ?1 AND cmd_seq = ?2",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, dev, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, c->cmd_seq);
    sqlite3_bind_int64(s, 3, have);
    sqlite3_bind_int(s, 4, state);
    kf__store_bind_opt_ms(s, 5, state != KF_BLOB_PARTIAL ? now_ms : 0);
    kf__store_bind_opt_text(s, 6,
                            state == KF_BLOB_REFUSED
                                ? "the bundle's chunks do not hash to the SHA-256 they declare"
                                : NULL);
    r = kf__store_step_done(st, s, "bundle state");
    if (r == 0 && state == KF_BLOB_REFUSED)
        r = exec_dev_seq(st, "DELETE FROM blob_chunks WHERE device_id = ?1 AND cmd_seq = ?2", dev,
                         c->cmd_seq);
    if (r == 0 && state != KF_BLOB_PARTIAL)
        r = kf__store_blob_settle(st, dev, c->cmd_seq, now_ms);
    if (r == 0 && state == KF_BLOB_COMPLETE)
        r = prune(st, now_ms);
    if (r < 0)
        return r;
    out->blob_have = have;
    out->blob_state = (uint8_t)state;
    return 0;
}

int kf__store_blob_settle(struct kf_store *st, const char *device_id, uint64_t cmd_seq,
                          int64_t now_ms)
{
    sqlite3_stmt *s = NULL;
    char hex[65], want[80], status[16], detail[KF_CMD_DETAIL_MAX + 1];
    const char *output;
    int r, rc, state = -1, match = 0;

    r = kf__store_prep(st,
                       "SELECT c.status, coalesce(c.output, ''), b.state, b.sha,"
                       " coalesce(b.detail, '') FROM commands c JOIN blobs b"
                       " ON b.device_id = c.device_id AND b.cmd_seq = c.seq"
                       " WHERE c.device_id = ?1 AND c.seq = ?2 AND c.kind = 'logs'"
                       " AND c.result_seq IS NOT NULL",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, cmd_seq);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        kf__store_col_copy(status, sizeof(status), s, 0);
        output = kf__store_col_text(s, 1);
        state = sqlite3_column_int(s, 2);
        if (sqlite3_column_bytes(s, 3) == 32) {
            sodium_bin2hex(hex, sizeof(hex), sqlite3_column_blob(s, 3), 32);
            snprintf(want, sizeof(want), "sha256=%s ", hex);
            match = strncmp(output, want, strlen(want)) == 0;
        }
        kf__store_col_copy(detail, sizeof(detail), s, 4);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "bundle settle");
    /* Only a command the device reported done, waiting for its bundle ("received"). */
    if (rc != SQLITE_ROW || strcmp(status, "received") != 0 || state == KF_BLOB_PARTIAL)
        return 0;
    if (state == KF_BLOB_COMPLETE && !match)
        snprintf(detail, sizeof(detail),
                 "the bundle received does not have the SHA-256 the terminal reported");
    r = kf__store_prep(st,
                       "UPDATE commands SET status = ?3, ended_ms = ?4,"
                       " detail = CASE WHEN ?3 = 'done' THEN detail ELSE ?5 END"
                       " WHERE device_id = ?1 AND seq = ?2",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, cmd_seq);
    sqlite3_bind_text(s, 3, state == KF_BLOB_COMPLETE && match ? "done" : "failed", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
    return kf__store_step_done(st, s, "bundle settle");
}

int kf_store_blob_info(struct kf_store *st, int64_t id, struct kf_store_blob *ret)
{
    struct kf_store_blob b;
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st,
                       "SELECT c.device_id, c.seq, c.kind, c.status, b.state, b.have, b.nchunks,"
                       " b.total, b.sha FROM commands c LEFT JOIN blobs b"
                       " ON b.device_id = c.device_id AND b.cmd_seq = c.seq WHERE c.id = ?1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(&b, 0, sizeof(b));
        kf__store_col_copy(b.device_id, sizeof(b.device_id), s, 0);
        b.cmd_seq = (uint64_t)sqlite3_column_int64(s, 1);
        kf__store_col_copy(b.kind, sizeof(b.kind), s, 2);
        kf__store_col_copy(b.status, sizeof(b.status), s, 3);
        b.state = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 4);
        b.have = (uint32_t)sqlite3_column_int64(s, 5);
        b.nchunks = (uint32_t)sqlite3_column_int64(s, 6);
        b.total = (uint64_t)sqlite3_column_int64(s, 7);
        if (sqlite3_column_bytes(s, 8) == 32)
            memcpy(b.sha256, sqlite3_column_blob(s, 8), 32);
        *ret = b;
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? -ENOENT : kf__store_sql_fail(st, rc, "bundle info");
    }
    sqlite3_finalize(s);
    return r;
}

int kf_store_blob_read(struct kf_store *st, int64_t id, uint8_t **ret, size_t *ret_len)
{
    struct kf_store_blob b;
    sqlite3_stmt *s = NULL;
    uint8_t *buf, sha[32];
    size_t n = 0;
    int r, rc;

    r = kf_store_blob_info(st, id, &b);
    if (r < 0)
        return r;
    if (b.state != KF_BLOB_COMPLETE || b.total == 0 || b.total > KF_BLOB_MAX_BYTES)
        return -EAGAIN;
    r = kf__store_prep(st,
                       "SELECT data FROM blob_chunks WHERE device_id = ?1 AND cmd_seq = ?2"
                       " ORDER BY idx",
                       &s);
    if (r < 0)
        return r;
    buf = malloc((size_t)b.total);
    if (buf == NULL) {
        sqlite3_finalize(s);
        return -ENOMEM;
    }
    sqlite3_bind_text(s, 1, b.device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, b.cmd_seq);
    r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(s, 0);

        if (len > b.total - n) {
            r = -EBADMSG;
            break;
        }
        memcpy(buf + n, sqlite3_column_blob(s, 0), len);
        n += len;
    }
    sqlite3_finalize(s);
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "bundle read");
    if (r == 0) {
        crypto_hash_sha256(sha, buf, n);
        if (n != b.total || sodium_memcmp(sha, b.sha256, 32) != 0)
            r = -EBADMSG;
    }
    if (r < 0) {
        free(buf);
        return r;
    }
    *ret = buf;
    *ret_len = n;
    return 0;
}
