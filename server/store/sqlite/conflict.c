/* store/sqlite/conflict.c: what a device sent twice, differently (docs/STORE.md, "Conflicts
 * and duplicates").
 *
 * A frame that repeats a stored sequence number with another record under it (a cloned
 * terminal, an outbox restored from an old copy, a faulty agent) is a `conflict`: none of
 * its records is committed, and the frame is kept, bytes as received, in seq_conflicts beside
 * the stored frame it contradicts. A record that repeats an application id (record.h,
 * app_id) the device has used before, under a new sequence number, is kept with its frame
 * but counted nowhere, and listed in app_duplicates.
 *
 * Both checks read what is stored back from the signed frames themselves, decoded as the
 * audit does, so "same record" means the same canonical JSON (kf_record_format), every field.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/record.h>

#include "store/conflict.h"
#include "store/sqlite/int.h"

/* v9: conflicting frames, the application's id per record (unique per device among the
 * records that count), and the records kept apart for repeating one. The txns view (what
 * usage_daily must equal) leaves those records out. */
const char *const kf__store_schema_conflicts[] = {
    "CREATE TABLE seq_conflicts(id INTEGER PRIMARY KEY, device_id TEXT NOT NULL,"
    " key_epoch INTEGER NOT NULL, seq_first INTEGER NOT NULL, count INTEGER NOT NULL,"
    " conflict_seq INTEGER NOT NULL, stored_envelope_id INTEGER NOT NULL,"
    " recv_ms INTEGER NOT NULL, topic TEXT NOT NULL, raw BLOB NOT NULL)",
    "CREATE INDEX seq_conflicts_dev ON seq_conflicts(device_id, seq_first)",
    "ALTER TABLE records ADD COLUMN app_id TEXT",
    "CREATE UNIQUE INDEX records_app_id ON records(device_id, app_id) WHERE app_id IS NOT NULL",
    "CREATE TABLE app_duplicates(device_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " app_id TEXT NOT NULL, first_seq INTEGER NOT NULL, envelope_id INTEGER NOT NULL,"
    " recv_ms INTEGER NOT NULL, PRIMARY KEY(device_id, seq)) WITHOUT ROWID",
    "DROP VIEW txns",
    "CREATE VIEW txns AS SELECT device_id, seq, asset_id, zone_id, item, outcome,"
    " effective_ms AS start_ms, dur_ms, day FROM records WHERE type = 1 AND flags & 256 = 0",
    "INSERT OR IGNORE INTO reject_counts(reason) VALUES ('conflict')",
    NULL,
};

/* ---- a stored frame's records, decoded ---- */

/* The scratch a decode needs, made on first use and kept with the connection. */
static int scratch(struct kf_store *st)
{
    if (!st->body) {
        st->body = malloc(KF_BODY_MAX_BYTES + 1);
        if (!st->body)
            return -ENOMEM;
    }
    if (!st->zctx)
        return kf_zctx_new(3, &st->zctx);
    return 0;
}

/* The records of a stored RECORDS frame: cb for each (index from 0), as kf_records_parse. */
static int decode_frame(struct kf_store *st, const uint8_t *raw, size_t len, kf_record_cb cb,
                        void *ud, uint64_t *ret_first, uint32_t *ret_count)
{
    struct kf_env_view v;
    const char *json;
    size_t blen;
    int r = scratch(st);

    if (r < 0)
        return r;
    if (kf_env_parse(raw, len, &v) < 0 || v.hdr.kind != KF_MSG_RECORDS)
        return -EBADMSG;
    if (v.hdr.flags & KF_ENV_F_ZSTD) {
        if (kf_zctx_decompress(st->zctx, v.hdr.dict_id, v.body, v.body_len, st->body,
                               KF_BODY_MAX_BYTES, &blen) < 0)
            return -EBADMSG;
        json = st->body;
    } else {
        json = (const char *)v.body;
        blen = v.body_len;
    }
    if (ret_first)
        *ret_first = v.hdr.seq;
    if (ret_count)
        *ret_count = v.hdr.count;
    if (kf_records_parse(json, blen, v.hdr.count, NULL, NULL) < 0)
        return -EBADMSG;
    return kf_records_parse(json, blen, v.hdr.count, cb, ud);
}

/* Two records are the same when their canonical JSON is. */
static int same_record(const struct kf_record *a, const struct kf_record *b)
{
    char x[KF_RECORD_JSON_MAX + 1], y[KF_RECORD_JSON_MAX + 1];
    size_t nx, ny;

    if (kf_record_format(a, x, sizeof(x), &nx) < 0 || kf_record_format(b, y, sizeof(y), &ny) < 0)
        return 0;
    return nx == ny && memcmp(x, y, nx) == 0;
}

/* ---- the commit's check ---- */

struct cmp {
    const struct kf_ingest *in;
    const uint64_t *have;
    uint64_t stored_first;
    uint64_t conflict_seq; /* the lowest seq whose records differ; 0: none */
};

static int cmp_record(void *ud, uint32_t index, const struct kf_record *stored)
{
    struct cmp *c = ud;
    uint64_t seq = c->stored_first + index, first = c->in->hdr.seq;
    uint64_t i;

    if (seq < first || seq - first >= c->in->nrec)
        return 0;
    i = seq - first;
    if (!(c->have[i / 64] & (1ull << (i % 64))))
        return 0;
    if (!same_record(stored, &c->in->recs[i]) && (c->conflict_seq == 0 || seq < c->conflict_seq))
        c->conflict_seq = seq;
    return 0;
}

int kf__store_conflict_find(struct kf_store *st, const struct kf_ingest *in, const int64_t *env_ids,
                            size_t nenv, const uint64_t *have, uint64_t *ret_seq, int64_t *ret_env)
{
    sqlite3_stmt *s = NULL;
    int r = 0, rc;

    *ret_seq = 0;
    *ret_env = 0;
    for (size_t k = 0; k < nenv && r == 0; k++) {
        struct cmp c = {in, have, 0, 0};

        r = kf__store_stmt(st, ST_ENV_RAW, &s);
        if (r < 0)
            return r;
        sqlite3_bind_int64(s, 1, env_ids[k]);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            /* A stored frame that does not decode is the audit's finding, not this frame's
             * fault: it is compared with nothing. */
            if (decode_frame(st, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0),
                             cmp_record, &c, &c.stored_first, NULL) == -ENOMEM)
                r = -ENOMEM;
        } else if (rc != SQLITE_DONE) {
            r = kf__store_sql_fail(st, rc, "stored frame");
        }
        kf__store_stmt_done(s);
        if (c.conflict_seq != 0 && (*ret_seq == 0 || c.conflict_seq < *ret_seq)) {
            *ret_seq = c.conflict_seq;
            *ret_env = env_ids[k];
        }
    }
    return r;
}

int kf__store_conflict_keep(struct kf_store *st, const struct kf_ingest *in, uint64_t conflict_seq,
                            int64_t stored_env)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (in->raw_len > INT_MAX)
        return -EMSGSIZE;
    r = kf__store_stmt(st, ST_CONFLICT_INSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, in->hdr.key_epoch);
    kf__store_bind_u64(s, 3, in->hdr.seq);
    sqlite3_bind_int64(s, 4, in->nrec);
    kf__store_bind_u64(s, 5, conflict_seq);
    sqlite3_bind_int64(s, 6, stored_env);
    sqlite3_bind_int64(s, 7, in->recv_ms);
    sqlite3_bind_text(s, 8, in->topic ? in->topic : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 9, in->raw ? (const void *)in->raw : (const void *)"", (int)in->raw_len,
                      SQLITE_STATIC);
    return kf__store_stmt_run(st, s, "keep conflicting frame");
}

/* ---- application ids ---- */

int kf__store_app_first(struct kf_store *st, const char *device_id, const char *app_id,
                        uint64_t *ret_seq)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, ST_APP_FIRST, &s), rc;

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, app_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret_seq = (uint64_t)sqlite3_column_int64(s, 0);
        r = 1;
    } else if (rc == SQLITE_DONE) {
        r = 0;
    } else {
        r = kf__store_sql_fail(st, rc, "application id");
    }
    kf__store_stmt_done(s);
    return r;
}

int kf__store_app_duplicate(struct kf_store *st, const struct kf_ingest *in, uint64_t seq,
                            const char *app_id, uint64_t first_seq, int64_t env_id)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, ST_APP_DUP_INSERT, &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, seq);
    sqlite3_bind_text(s, 3, app_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 4, first_seq);
    sqlite3_bind_int64(s, 5, env_id);
    sqlite3_bind_int64(s, 6, in->recv_ms);
    return kf__store_stmt_run(st, s, "application id repeated");
}

/* ---- kioskctl: listing and showing ---- */

static int fill_conflict(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_seq_conflict *c = row;
    (void)st;

    c->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(c->device_id, sizeof(c->device_id), s, 1);
    c->seq_first = (uint64_t)sqlite3_column_int64(s, 2);
    c->count = (uint32_t)sqlite3_column_int64(s, 3);
    c->conflict_seq = (uint64_t)sqlite3_column_int64(s, 4);
    c->stored_envelope_id = sqlite3_column_int64(s, 5);
    c->recv_ms = sqlite3_column_int64(s, 6);
    c->stored_recv_ms = sqlite3_column_type(s, 7) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 7);
    return 0;
}

int kf_store_conflicts(struct kf_store *st, const char *device_id, struct kf_seq_conflict **ret,
                       size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(
        st,
        "SELECT c.id, c.device_id, c.seq_first, c.count, c.conflict_seq, c.stored_envelope_id,"
        " c.recv_ms, e.recv_ms FROM seq_conflicts c LEFT JOIN envelopes e"
        " ON e.id = c.stored_envelope_id WHERE ?1 IS NULL OR c.device_id = ?1 ORDER BY c.id",
        &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, device_id);
    return kf__store_rows(st, s, sizeof(**ret), fill_conflict, "conflicts", (void **)ret, ret_n);
}

/* One side of a conflict: the records of a frame at seqs [lo, hi], canonical JSON. */
struct side {
    uint64_t first, lo, hi;
    char (*json)[KF_RECORD_JSON_MAX + 1]; /* hi - lo + 1 entries, "" where absent */
};

static int side_record(void *ud, uint32_t index, const struct kf_record *rec)
{
    struct side *d = ud;
    uint64_t seq = d->first + index;
    size_t n;

    if (seq < d->lo || seq > d->hi)
        return 0;
    if (kf_record_format(rec, d->json[seq - d->lo], KF_RECORD_JSON_MAX + 1, &n) < 0)
        return -EBADMSG;
    d->json[seq - d->lo][n] = '\0';
    return 0;
}

static int load_side(struct kf_store *st, const char *sql, int64_t id, struct side *d)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st, sql, &s), rc;

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        r = decode_frame(st, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0),
                         side_record, d, &d->first, NULL);
    else if (rc == SQLITE_DONE)
        r = 0; /* the stored frame is gone (a pruned store): nothing to show on that side */
    else
        r = kf__store_sql_fail(st, rc, "conflict");
    sqlite3_finalize(s);
    if (r == -EBADMSG)
        kf__store_seterr(st, "conflict %lld: a frame does not decode", (long long)id);
    return r;
}

int kf_store_conflict_show(struct kf_store *st, int64_t id, kf_conflict_seq_cb cb, void *ud)
{
    struct kf_seq_conflict *c = NULL;
    struct side mine = {0}, theirs = {0};
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    int r;

    r = kf__store_prep(
        st,
        "SELECT c.id, c.device_id, c.seq_first, c.count, c.conflict_seq, c.stored_envelope_id,"
        " c.recv_ms, e.recv_ms FROM seq_conflicts c LEFT JOIN envelopes e"
        " ON e.id = c.stored_envelope_id WHERE c.id = ?1",
        &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    r = kf__store_rows(st, s, sizeof(*c), fill_conflict, "conflict", (void **)&c, &n);
    if (r < 0)
        return r;
    if (n == 0) {
        kf__store_seterr(st, "no conflict %lld (kioskctl conflicts lists them)", (long long)id);
        return -ENOENT;
    }
    mine.lo = theirs.lo = c->seq_first;
    mine.hi = theirs.hi = c->seq_first + c->count - 1;
    mine.json = calloc(c->count, sizeof(*mine.json));
    theirs.json = calloc(c->count, sizeof(*theirs.json));
    if (!mine.json || !theirs.json) {
        r = -ENOMEM;
        goto out;
    }
    r = load_side(st, "SELECT raw FROM seq_conflicts WHERE id = ?1", id, &mine);
    if (r == 0)
        r = load_side(st, "SELECT raw FROM envelopes WHERE id = ?1", c->stored_envelope_id,
                      &theirs);
    for (uint32_t i = 0; r == 0 && i < c->count; i++) {
        const char *a = theirs.json[i], *b = mine.json[i];

        if (!a[0])
            continue; /* that seq is in no stored frame this one was compared with */
        r = cb(ud, c, c->seq_first + i, a, b, strcmp(a, b) != 0);
    }
out:
    free(mine.json);
    free(theirs.json);
    free(c);
    return r;
}

static int fill_dup(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_app_duplicate *d = row;
    (void)st;

    kf__store_col_copy(d->device_id, sizeof(d->device_id), s, 0);
    d->seq = (uint64_t)sqlite3_column_int64(s, 1);
    kf__store_col_copy(d->app_id, sizeof(d->app_id), s, 2);
    d->first_seq = (uint64_t)sqlite3_column_int64(s, 3);
    d->recv_ms = sqlite3_column_int64(s, 4);
    return 0;
}

int kf_store_app_duplicates(struct kf_store *st, const char *device_id,
                            struct kf_app_duplicate **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT device_id, seq, app_id, first_seq, recv_ms FROM app_duplicates"
                           " WHERE ?1 IS NULL OR device_id = ?1 ORDER BY device_id, seq",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, device_id);
    return kf__store_rows(st, s, sizeof(**ret), fill_dup, "application ids repeated", (void **)ret,
                          ret_n);
}

static int fill_app_rec(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_app_record *a = row;
    (void)st;

    kf__store_col_copy(a->app_id, sizeof(a->app_id), s, 0);
    a->seq = (uint64_t)sqlite3_column_int64(s, 1);
    a->type = sqlite3_column_int(s, 2);
    kf__store_col_copy(a->item, sizeof(a->item), s, 3);
    kf__store_col_copy(a->outcome, sizeof(a->outcome), s, 4);
    a->effective_ms = sqlite3_column_int64(s, 5);
    a->repeats = (uint32_t)sqlite3_column_int64(s, 6);
    return 0;
}

int kf_store_app_records(struct kf_store *st, const char *device_id, struct kf_app_record **ret,
                         size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    /* In app_id order from the unique index; how often each id came again beside it. */
    int r = kf__store_prep(st,
                           "SELECT r.app_id, r.seq, r.type, r.item, r.outcome, r.effective_ms,"
                           " (SELECT count(*) FROM app_duplicates d WHERE d.device_id = ?1"
                           " AND d.app_id = r.app_id) FROM records r INDEXED BY records_app_id"
                           " WHERE r.device_id = ?1 AND r.app_id IS NOT NULL ORDER BY r.app_id",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_TRANSIENT);
    return kf__store_rows(st, s, sizeof(**ret), fill_app_rec, "records by application id",
                          (void **)ret, ret_n);
}
