/* store/sqlite/store.c: the SQLite backend of store.h, its connection: opening (pragmas,
 * then the schema: schema.c), closing, errors and transactions. The statement cache is in
 * stmt.c, device registration in devices.c, the group commit in ingest.c, the deployment
 * fixtures in fixtures.c. docs/STORE.md describes the tables and how an auditor re-verifies
 * the evidence. */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/codec.h>
#include <kf/err.h>
#include <kf/log.h>
#include <kf/notify.h>
#include <kf/record.h>
#include <kf/time.h>

#include "store/registry.h"
#include "store/store.h"
#include "store/sqlite/int.h"

#define KF_BUSY_TIMEOUT_MS 5000

static const char *const reject_names[KF_REJECT_COUNT_] = {
    [KF_REJECT_UNKNOWN_DEVICE] = "unknown_device",
    [KF_REJECT_BAD_SIGNATURE] = "bad_signature",
    [KF_REJECT_REPLAY] = "replay",
    [KF_REJECT_OVERSIZE] = "oversize",
    [KF_REJECT_BAD_COMPRESSION] = "bad_compression",
    [KF_REJECT_MALFORMED] = "malformed",
    [KF_REJECT_WRONG_TOPIC] = "wrong_topic",
    [KF_REJECT_REVOKED] = "revoked",
    [KF_REJECT_CONFLICT] = "conflict",
};

const char *kf_store_reject_name(int reason)
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

int kf_store_begin(struct kf_store *st)
{
    return kf__store_exec_one(st, ST_BEGIN);
}

int kf_store_snapshot_begin(struct kf_store *st)
{
    return kf__store_exec_one(st, ST_BEGIN_READ);
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

int kf_store_open(const char *path, unsigned flags, struct kf_store **ret)
{
    struct kf_store *st;
    int oflags, rc, r;

    st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->flags = flags;
    st->lock_fd = -1;
    if ((flags & (KF_STORE_RDONLY | KF_STORE_NOCREATE)) && access(path, F_OK) != 0) {
        r = -errno;
        goto out_free;
    }
    /* The writer lock before SQLite sees the file: a second writer migrates nothing. */
    if (flags & KF_STORE_WRITER) {
        r = kf__store_lock(path, &st->lock_fd);
        if (r < 0)
            goto out_free;
    }
    oflags = (flags & KF_STORE_RDONLY)     ? SQLITE_OPEN_READONLY
             : (flags & KF_STORE_NOCREATE) ? SQLITE_OPEN_READWRITE
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
    r = kf__store_exec_sql(st, "PRAGMA foreign_keys = ON");
    if (r < 0)
        goto out_free;
    if (flags & KF_STORE_RDONLY) {
        r = kf__store_schema_check(st);
        if (r < 0)
            goto out_free;
    } else {
        r = kf__store_exec_sql(st, "PRAGMA journal_mode = WAL");
        if (r < 0)
            goto out_free;
        r = kf__store_exec_sql(st, "PRAGMA synchronous = FULL");
        if (r < 0)
            goto out_free;
        /* The writer touches records, txns, envelopes and their indexes on every commit: a
         * 64 MiB page cache and mapped reads keep it from re-reading pages through pread
         * (a third of kioskd's CPU before; BENCHMARKS.md). */
        r = kf__store_exec_sql(st, "PRAGMA cache_size = -65536");
        if (r < 0)
            goto out_free;
        r = kf__store_exec_sql(st, "PRAGMA mmap_size = 268435456");
        if (r < 0)
            goto out_free;
        if (flags & KF_STORE_NOCREATE) {
            r = kf__store_schema_version(st);
            if (r == 0)
                r = -ENOENT; /* a file, but never initialised: not a store */
            if (r < 0)
                goto out_free;
        }
        r = kf__store_migrate(st);
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
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    kf_zctx_free(st->zctx);
    free(st->body);
    free(st);
}
