/* core/outbox_blob.c: bundles in the outbox file (outbox_blob.h). Statements are prepared per
 * call: a bundle is a few hundred chunk reads at most, next to a record stream that uses the
 * prepared set (outbox_db.c). */
#include "core/outbox_int.h"
#include "core/outbox_blob.h"

#include <errno.h>
#include <string.h>

#include <kf/blob.h>
#include <kf/record.h>

static int prep(struct kf_outbox *ob, const char *sql, sqlite3_stmt **ret)
{
    return kf__outbox_err(sqlite3_prepare_v2(ob->db, sql, -1, ret, NULL));
}

static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : (kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO);
}

struct finish {
    uint64_t seq;
    const struct kf_outbox_blob *b;
};

/* Inside the append's transaction: the command reported (its result is the last record) and
 * the bundle kept. */
static int finish_in_txn(struct kf_outbox *ob, void *ud, uint64_t last_seq)
{
    const struct finish *f = ud;
    sqlite3_stmt *s = NULL;
    int r;

    r = prep(ob, "UPDATE cmds SET state = 2, result_seq = ?2 WHERE seq = ?1 AND state < 2", &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)f->seq);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)last_seq);
    r = step_done(s);
    if (r == 0 && sqlite3_changes(ob->db) != 1)
        return -EALREADY;
    if (r < 0)
        return r;
    r = prep(ob,
             "INSERT INTO blobs(cmd_seq, sha, total, nchunks, have, data, made_ms)"
             " VALUES(?1, ?2, ?3, ?4, 0, ?5, strftime('%s','now') * 1000)",
             &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)f->b->cmd_seq);
    sqlite3_bind_blob(s, 2, f->b->sha256, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)f->b->total);
    sqlite3_bind_int64(s, 4, f->b->nchunks);
    sqlite3_bind_blob64(s, 5, f->b->data, f->b->total, SQLITE_STATIC);
    return step_done(s);
}

int kf_outbox_blob_finish(struct kf_outbox *ob, uint64_t seq, const struct kf_outbox_rec *recs,
                          size_t n, const struct kf_outbox_blob *b)
{
    struct finish f = {seq, b};
    size_t appended, dropped;
    uint64_t first;

    if (n == 0 || recs[n - 1].type != KF_REC_CMD_RESULT || b == NULL || b->data == NULL ||
        b->cmd_seq != seq || b->nchunks != kf_blob_nchunks(b->total))
        return -EINVAL;
    return kf__outbox_append_batch(ob, recs, n, NULL, finish_in_txn, &f, &appended, &dropped,
                                   &first, NULL);
}

int kf_outbox_blob_next(struct kf_outbox *ob, uint64_t after, struct kf_outbox_blob *ret)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = prep(ob,
             "SELECT cmd_seq, sha, total, nchunks, have FROM blobs WHERE cmd_seq > ?1"
             " ORDER BY cmd_seq LIMIT 1",
             &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 1) == 32) {
        memset(ret, 0, sizeof(*ret));
        ret->cmd_seq = kf__outbox_col_u64(s, 0);
        memcpy(ret->sha256, sqlite3_column_blob(s, 1), 32);
        ret->total = kf__outbox_col_u64(s, 2);
        ret->nchunks = (uint32_t)kf__outbox_col_u64(s, 3);
        ret->have = (uint32_t)kf__outbox_col_u64(s, 4);
        r = 0;
    } else {
        r = rc == SQLITE_DONE || rc == SQLITE_ROW ? -ENOENT : kf__outbox_err(rc);
    }
    sqlite3_finalize(s);
    return r;
}

int kf_outbox_blob_count(struct kf_outbox *ob, uint32_t *ret_n, uint64_t *ret_bytes)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = prep(ob, "SELECT count(*), total(total) FROM blobs", &s);
    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret_n = (uint32_t)kf__outbox_col_u64(s, 0);
        *ret_bytes = (uint64_t)sqlite3_column_double(s, 1);
        r = 0;
    } else {
        r = kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO;
    }
    sqlite3_finalize(s);
    return r;
}

int kf_outbox_blob_chunk(struct kf_outbox *ob, uint64_t seq, uint32_t index, uint8_t *buf,
                         size_t cap, size_t *ret_len)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    /* substr on a BLOB counts bytes, from 1. */
    r = prep(ob, "SELECT total, substr(data, ?2, ?3) FROM blobs WHERE cmd_seq = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)index * KF_BLOB_CHUNK_BYTES + 1);
    sqlite3_bind_int64(s, 3, KF_BLOB_CHUNK_BYTES);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        size_t want = kf_blob_chunk_len(kf__outbox_col_u64(s, 0), index);
        size_t got = (size_t)sqlite3_column_bytes(s, 1);

        if (want == 0 || got != want || got > cap) {
            r = -EIO;
        } else {
            memcpy(buf, sqlite3_column_blob(s, 1), got);
            *ret_len = got;
            r = 0;
        }
    } else {
        r = rc == SQLITE_DONE ? -ENOENT : kf__outbox_err(rc);
    }
    sqlite3_finalize(s);
    return r;
}

int kf_outbox_blob_have(struct kf_outbox *ob, uint64_t seq, uint32_t have)
{
    sqlite3_stmt *s = NULL;
    int r = prep(ob,
                 "UPDATE blobs SET have = ?2 WHERE cmd_seq = ?1 AND have < ?2"
                 " AND ?2 <= nchunks",
                 &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
    sqlite3_bind_int64(s, 2, have);
    return step_done(s);
}

int kf_outbox_blob_drop(struct kf_outbox *ob, uint64_t seq)
{
    sqlite3_stmt *s = NULL;
    int r = prep(ob, "DELETE FROM blobs WHERE cmd_seq = ?1", &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
    return step_done(s);
}
