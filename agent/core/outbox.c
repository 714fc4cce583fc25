/* core/outbox.c: the agent's durable queue of records, on SQLite.
 *
 * Schema (user_version 2):
 *   records(seq INTEGER PRIMARY KEY, type, ts_ms, len, json TEXT, boot, base_ms)
 *   meta(id = 1, next_seq, acked_seq, bytes, health, health_dropped)
 *   clocks(boot INTEGER PRIMARY KEY, boot_id TEXT UNIQUE, offset_ms, base_ms)
 * v2 added the clock regime of each record (boot, base_ms: outbox.h) and the clocks table;
 * records of a v1 outbox keep boot 0 ("not recorded").
 * The one meta row is updated in the same transaction as the records it describes, so the
 * statistics are exact and O(1) to read; records held = next_seq - 1 - acked_seq because the
 * run is contiguous. len is stored because length() on TEXT counts characters, not bytes.
 *
 * Memory: hundreds of outboxes may live in one process (kiosk-sim), and the agent must stay
 * under 8 MB RSS, so each connection gets a small page cache and no memory map, and the
 * process-wide page-cache preallocation is switched off (kf_ob_tune_sqlite).
 */
#include "core/outbox.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/record.h>

#define KF_OB_SCHEMA_VERSION 2
#define KF_OB_BUSY_TIMEOUT_MS 5000

#define KF_OB_DEFAULT_MAX_RECORDS 500000u
#define KF_OB_DEFAULT_MAX_BYTES (256u * 1024 * 1024)
#define KF_OB_DEFAULT_MAX_HEALTH 20160u

enum kf_ob_stmt {
    KF_OB_BEGIN,
    KF_OB_COMMIT,
    KF_OB_ROLLBACK,
    KF_OB_META_GET,
    KF_OB_META_PUT,
    KF_OB_INSERT,
    KF_OB_PEEK,
    KF_OB_ACK_SUM,
    KF_OB_ACK_DELETE,
    KF_OB_MAX_SEQ,
    KF_OB_REBASE,
    KF_OB_BOOT_GET,
    KF_OB_BOOT_ADD,
    KF_OB_CLOCK_PUT,
    KF_OB_CLOCK_GET,
    KF_OB_STMT_COUNT_
};

static const char *const kf_ob_sql[KF_OB_STMT_COUNT_] = {
    [KF_OB_BEGIN] = "BEGIN IMMEDIATE",
    [KF_OB_COMMIT] = "COMMIT",
    [KF_OB_ROLLBACK] = "ROLLBACK",
    [KF_OB_META_GET] = "SELECT next_seq, acked_seq, bytes, health, health_dropped"
                       " FROM meta WHERE id = 1",
    [KF_OB_META_PUT] = "UPDATE meta SET next_seq = ?1, acked_seq = ?2, bytes = ?3, health = ?4,"
                       " health_dropped = ?5 WHERE id = 1",
    [KF_OB_INSERT] = "INSERT INTO records(seq, type, ts_ms, len, json, boot, base_ms)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [KF_OB_PEEK] = "SELECT seq, type, ts_ms, len, json, boot, base_ms FROM records WHERE seq >= ?1"
                   " ORDER BY seq LIMIT ?2",
    [KF_OB_ACK_SUM] = "SELECT count(*), total(len), total(type = ?2) FROM records WHERE seq <= ?1",
    [KF_OB_ACK_DELETE] = "DELETE FROM records WHERE seq <= ?1",
    [KF_OB_MAX_SEQ] = "SELECT max(seq) FROM records",
    [KF_OB_REBASE] = "UPDATE records SET seq = seq + ?1",
    [KF_OB_BOOT_GET] = "SELECT boot FROM clocks WHERE boot_id = ?1",
    [KF_OB_BOOT_ADD] = "INSERT INTO clocks(boot_id) VALUES(?1)",
    [KF_OB_CLOCK_PUT] = "UPDATE clocks SET offset_ms = ?2, base_ms = ?3 WHERE boot = ?1",
    [KF_OB_CLOCK_GET] = "SELECT offset_ms, base_ms FROM clocks WHERE boot = ?1"
                        " AND offset_ms IS NOT NULL",
};

static const char kf_ob_schema_v1[] =
    "CREATE TABLE records("
    " seq INTEGER PRIMARY KEY,"
    " type INTEGER NOT NULL,"
    " ts_ms INTEGER NOT NULL,"
    " len INTEGER NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE TABLE meta("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " next_seq INTEGER NOT NULL,"
    " acked_seq INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " health INTEGER NOT NULL,"
    " health_dropped INTEGER NOT NULL);"
    "INSERT INTO meta(id, next_seq, acked_seq, bytes, health, health_dropped)"
    " VALUES(1, 1, 0, 0, 0, 0);"
    "PRAGMA user_version = 1;";

/* v1 -> v2: the clock regime of each record. Clocks rows of boots no record needs any more
 * are pruned at open (kf_ob_prune_clocks). */
static const char kf_ob_schema_v2[] =
    "ALTER TABLE records ADD COLUMN boot INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE records ADD COLUMN base_ms INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE clocks("
    " boot INTEGER PRIMARY KEY,"
    " boot_id TEXT NOT NULL UNIQUE,"
    " offset_ms INTEGER,"
    " base_ms INTEGER);"
    "PRAGMA user_version = 2;";

/* Per-connection settings. Constants, nothing formatted in; PRAGMAs cannot take bindings. */
static const char kf_ob_pragmas[] = "PRAGMA synchronous = FULL;"
                                    "PRAGMA foreign_keys = ON;"
                                    "PRAGMA cache_size = -256;" /* KiB */
                                    "PRAGMA mmap_size = 0;"
                                    "PRAGMA temp_store = FILE;"
                                    "PRAGMA journal_size_limit = 4194304;";

/* The meta row, as committed. */
struct kf_ob_meta {
    uint64_t next_seq;
    uint64_t acked_seq;
    uint64_t bytes;
    uint64_t health;
    uint64_t health_dropped;
};

struct kf_outbox {
    sqlite3 *db;
    struct kf_outbox_limits lim;
    uint32_t boot; /* the regime stamped on appends (kf_outbox_set_clock) */
    int64_t base_ms;
    struct kf_ob_meta meta; /* mirrors the committed meta row */
    sqlite3_stmt *st[KF_OB_STMT_COUNT_];
};

/* SQLite result -> 0 or negative errno. Local so the outbox needs nothing from kf_common's
 * objects; it matches kf_err_from_sqlite() for the codes an outbox can see. */
static int kf_ob_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_TOOBIG:
        return -EMSGSIZE;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
        return -EINVAL;
    default:
        return -EIO;
    }
}

static void kf_ob_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows (or whose rows are ignored). */
static int kf_ob_exec(struct kf_outbox *ob, enum kf_ob_stmt which)
{
    sqlite3_stmt *s = ob->st[which];
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ;
    kf_ob_done(s);
    return rc == SQLITE_DONE ? 0 : kf_ob_err(rc);
}

static uint64_t kf_ob_col_u64(sqlite3_stmt *s, int col)
{
    sqlite3_int64 v = sqlite3_column_int64(s, col);

    return v < 0 ? 0 : (uint64_t)v;
}

static int kf_ob_bind_u64(sqlite3_stmt *s, int idx, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX)
        return -ERANGE;
    return kf_ob_err(sqlite3_bind_int64(s, idx, (sqlite3_int64)v));
}

static int kf_ob_meta_load(struct kf_outbox *ob, struct kf_ob_meta *ret)
{
    sqlite3_stmt *s = ob->st[KF_OB_META_GET];
    int rc = sqlite3_step(s);
    int r;

    if (rc == SQLITE_ROW) {
        ret->next_seq = kf_ob_col_u64(s, 0);
        ret->acked_seq = kf_ob_col_u64(s, 1);
        ret->bytes = kf_ob_col_u64(s, 2);
        ret->health = kf_ob_col_u64(s, 3);
        ret->health_dropped = kf_ob_col_u64(s, 4);
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? -EIO : kf_ob_err(rc); /* no meta row: not our file */
    }
    kf_ob_done(s);
    if (r == 0 && (ret->next_seq < 1 || ret->acked_seq >= ret->next_seq))
        r = -EIO;
    return r;
}

static int kf_ob_meta_store(struct kf_outbox *ob, const struct kf_ob_meta *m)
{
    sqlite3_stmt *s = ob->st[KF_OB_META_PUT];
    int r;

    if ((r = kf_ob_bind_u64(s, 1, m->next_seq)) < 0 ||
        (r = kf_ob_bind_u64(s, 2, m->acked_seq)) < 0 || (r = kf_ob_bind_u64(s, 3, m->bytes)) < 0 ||
        (r = kf_ob_bind_u64(s, 4, m->health)) < 0 ||
        (r = kf_ob_bind_u64(s, 5, m->health_dropped)) < 0) {
        kf_ob_done(s);
        return r;
    }
    return kf_ob_exec(ob, KF_OB_META_PUT);
}

/* BEGIN IMMEDIATE and re-read meta inside the write lock, so the cache is right even if
 * some other connection wrote the file since we last looked. */
static int kf_ob_begin(struct kf_outbox *ob, struct kf_ob_meta *ret)
{
    int r = kf_ob_exec(ob, KF_OB_BEGIN);

    if (r < 0)
        return r;
    r = kf_ob_meta_load(ob, ret);
    if (r < 0)
        kf_ob_exec(ob, KF_OB_ROLLBACK);
    return r;
}

/* COMMIT, then publish m as the cached meta; ROLLBACK if the commit fails. */
static int kf_ob_commit(struct kf_outbox *ob, const struct kf_ob_meta *m)
{
    int r = kf_ob_exec(ob, KF_OB_COMMIT);

    if (r < 0) {
        if (!sqlite3_get_autocommit(ob->db))
            kf_ob_exec(ob, KF_OB_ROLLBACK);
        return r;
    }
    ob->meta = *m;
    return 0;
}

static void kf_ob_rollback(struct kf_outbox *ob)
{
    if (!sqlite3_get_autocommit(ob->db))
        kf_ob_exec(ob, KF_OB_ROLLBACK);
}

static int kf_ob_insert(struct kf_outbox *ob, uint64_t seq, const struct kf_outbox_rec *rec)
{
    sqlite3_stmt *s = ob->st[KF_OB_INSERT];
    int r;

    if ((r = kf_ob_bind_u64(s, 1, seq)) < 0 ||
        (r = kf_ob_err(sqlite3_bind_int(s, 2, rec->type))) < 0 ||
        (r = kf_ob_err(sqlite3_bind_int64(s, 3, rec->ts_ms))) < 0 ||
        (r = kf_ob_err(sqlite3_bind_int64(s, 4, (sqlite3_int64)rec->json_len))) < 0 ||
        (r = kf_ob_err(sqlite3_bind_text(s, 5, rec->json, (int)rec->json_len, SQLITE_STATIC))) <
            0 ||
        (r = kf_ob_err(sqlite3_bind_int64(s, 6, ob->boot))) < 0 ||
        (r = kf_ob_err(sqlite3_bind_int64(s, 7, ob->base_ms))) < 0) {
        kf_ob_done(s);
        return r;
    }
    return kf_ob_exec(ob, KF_OB_INSERT);
}

static int kf_ob_rec_valid(const struct kf_outbox_rec *rec)
{
    return rec->type >= KF_REC_TXN && rec->type <= KF_REC_MAINT && rec->json != NULL &&
           rec->json_len > 0 && rec->json_len <= INT_MAX;
}

/* The one write path for appends. Hard limits are checked for the non-health records of the
 * whole batch first (all or nothing); health samples then take only the room those leave. */
static int kf_ob_append_batch(struct kf_outbox *ob, const struct kf_outbox_rec *recs, size_t n,
                              size_t *ret_appended, size_t *ret_dropped, uint64_t *ret_first_seq)
{
    struct kf_ob_meta m;
    uint64_t need_recs = 0, need_bytes = 0, held;
    size_t appended = 0, dropped = 0;
    int r;

    if (ob == NULL || (recs == NULL && n > 0))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!kf_ob_rec_valid(&recs[i]))
            return -EINVAL;
    }
    if (n == 0) {
        *ret_appended = 0;
        *ret_dropped = 0;
        return 0;
    }

    r = kf_ob_begin(ob, &m);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].type != KF_REC_HEALTH) {
            need_recs++;
            need_bytes += recs[i].json_len;
        }
    }
    held = m.next_seq - 1 - m.acked_seq;
    if (held + need_recs > ob->lim.max_records || m.bytes + need_bytes > ob->lim.max_bytes) {
        r = -ENOSPC;
        goto out_rollback;
    }

    for (size_t i = 0; i < n; i++) {
        const struct kf_outbox_rec *rec = &recs[i];

        if (rec->type == KF_REC_HEALTH) {
            if (m.health >= ob->lim.max_health || held + 1 + need_recs > ob->lim.max_records ||
                m.bytes + rec->json_len + need_bytes > ob->lim.max_bytes) {
                m.health_dropped++;
                dropped++;
                continue;
            }
            m.health++;
        } else {
            need_recs--;
            need_bytes -= rec->json_len;
        }
        r = kf_ob_insert(ob, m.next_seq, rec);
        if (r < 0)
            goto out_rollback;
        m.next_seq++;
        m.bytes += rec->json_len;
        held++;
        appended++;
    }

    r = kf_ob_meta_store(ob, &m);
    if (r < 0)
        goto out_rollback;
    r = kf_ob_commit(ob, &m);
    if (r < 0)
        return r;
    *ret_appended = appended;
    *ret_dropped = dropped;
    if (ret_first_seq != NULL)
        *ret_first_seq = m.next_seq - appended;
    return 0;

out_rollback:
    kf_ob_rollback(ob);
    return r;
}

static int kf_ob_migrate(struct kf_outbox *ob)
{
    sqlite3_stmt *s = NULL;
    int version = -1, r, rc;

    r = kf_ob_exec(ob, KF_OB_BEGIN);
    if (r < 0)
        return r;
    rc = sqlite3_prepare_v2(ob->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version < 0) {
        r = kf_ob_err(rc) < 0 ? kf_ob_err(rc) : -EIO;
        goto out_rollback;
    }
    if (version > KF_OB_SCHEMA_VERSION) {
        r = -EPROTONOSUPPORT; /* written by a newer agent: do not touch it */
        goto out_rollback;
    }
    if (version == 0) {
        r = kf_ob_err(sqlite3_exec(ob->db, kf_ob_schema_v1, NULL, NULL, NULL));
        if (r < 0)
            goto out_rollback;
        version = 1;
    }
    if (version == 1) {
        r = kf_ob_err(sqlite3_exec(ob->db, kf_ob_schema_v2, NULL, NULL, NULL));
        if (r < 0)
            goto out_rollback;
    }
    /* A boot's clock row is needed while a record of it is held (or it is the newest). */
    r = kf_ob_err(sqlite3_exec(ob->db,
                               "DELETE FROM clocks WHERE boot < (SELECT max(boot) FROM clocks)"
                               " AND boot NOT IN (SELECT DISTINCT boot FROM records)",
                               NULL, NULL, NULL));
    if (r < 0)
        goto out_rollback;
    return kf_ob_exec(ob, KF_OB_COMMIT);

out_rollback:
    kf_ob_rollback(ob);
    return r;
}

static int kf_ob_set_wal(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int rc, r = -EIO;

    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return kf_ob_err(rc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(s, 0);

        /* WAL can be refused (e.g. a file system without shared memory): we need it. */
        r = mode != NULL && strcmp((const char *)mode, "wal") == 0 ? 0 : -EOPNOTSUPP;
    } else {
        r = kf_ob_err(rc);
    }
    sqlite3_finalize(s);
    return r;
}

/* next_seq must lie past every seq ever handed out; records hold the largest live one. */
static int kf_ob_check_seq(struct kf_outbox *ob)
{
    sqlite3_stmt *s = ob->st[KF_OB_MAX_SEQ];
    uint64_t max_seq = 0;
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        max_seq = kf_ob_col_u64(s, 0);
    kf_ob_done(s);
    if (rc != SQLITE_ROW)
        return kf_ob_err(rc) < 0 ? kf_ob_err(rc) : -EIO;
    if (max_seq != 0 && (max_seq >= ob->meta.next_seq || max_seq <= ob->meta.acked_seq))
        return -EIO; /* meta disagrees with the rows: refuse rather than reuse a seq */
    return 0;
}

/* SQLite preallocates SQLITE_DEFAULT_PCACHE_INITSZ (20) pages for every connection when it
 * reads the schema, before PRAGMA cache_size can apply: ~90 KiB per outbox, measured here
 * (106 KiB of heap per connection with it, 28 KiB without). Turning the bulk allocation
 * off is process-wide and only possible before SQLite initializes; pages are then allocated
 * as used. If the process already used SQLite, sqlite3_config refuses and nothing changes.
 * pthread_once so this runs once even if outboxes are opened from several threads. */
static pthread_once_t kf_ob_tune_once = PTHREAD_ONCE_INIT;

static void kf_ob_tune_sqlite_once(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)NULL, 0, 0);
}

static void kf_ob_tune_sqlite(void)
{
    (void)pthread_once(&kf_ob_tune_once, kf_ob_tune_sqlite_once);
}

static int kf_ob_prepare(struct kf_outbox *ob, int from, int to)
{
    for (int i = from; i < to; i++) {
        int rc = sqlite3_prepare_v3(ob->db, kf_ob_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ob->st[i],
                                    NULL);
        if (rc != SQLITE_OK)
            return kf_ob_err(rc);
    }
    return 0;
}

int kf_outbox_open(const char *path, const struct kf_outbox_limits *limits, struct kf_outbox **ret)
{
    struct kf_outbox *ob;
    int r, rc;

    if (path == NULL || ret == NULL)
        return -EINVAL;
    kf_ob_tune_sqlite();
    ob = calloc(1, sizeof(*ob));
    if (ob == NULL)
        return -ENOMEM;
    ob->lim.max_records = KF_OB_DEFAULT_MAX_RECORDS;
    ob->lim.max_bytes = KF_OB_DEFAULT_MAX_BYTES;
    ob->lim.max_health = KF_OB_DEFAULT_MAX_HEALTH;
    if (limits != NULL) { /* a zero field keeps its default */
        if (limits->max_records != 0)
            ob->lim.max_records = limits->max_records;
        if (limits->max_bytes != 0)
            ob->lim.max_bytes = limits->max_bytes;
        if (limits->max_health != 0)
            ob->lim.max_health = limits->max_health;
    }

    /* NOMUTEX: one outbox, one thread (see outbox.h). */
    rc = sqlite3_open_v2(path, &ob->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        r = rc == SQLITE_CANTOPEN ? -ENOENT : kf_ob_err(rc);
        goto out_free;
    }
    /* A small lookaside (8 KiB instead of ~120 KiB) for the same reason as the small cache,
     * where SQLite is built with one (Debian's is not). */
    sqlite3_db_config(ob->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 256, 32);
    sqlite3_busy_timeout(ob->db, KF_OB_BUSY_TIMEOUT_MS);
    r = kf_ob_err(sqlite3_exec(ob->db, kf_ob_pragmas, NULL, NULL, NULL));
    if (r < 0)
        goto out_free;
    r = kf_ob_set_wal(ob->db);
    if (r < 0)
        goto out_free;

    /* The tables may not exist yet: prepare what the migration needs, migrate, then the rest. */
    r = kf_ob_prepare(ob, 0, KF_OB_ROLLBACK + 1);
    if (r < 0)
        goto out_free;
    r = kf_ob_migrate(ob);
    if (r < 0)
        goto out_free;
    r = kf_ob_prepare(ob, KF_OB_ROLLBACK + 1, KF_OB_STMT_COUNT_);
    if (r < 0)
        goto out_free;
    r = kf_ob_meta_load(ob, &ob->meta);
    if (r < 0)
        goto out_free;
    r = kf_ob_check_seq(ob);
    if (r < 0)
        goto out_free;

    *ret = ob;
    return 0;

out_free:
    kf_outbox_free(ob);
    return r;
}

void kf_outbox_free(struct kf_outbox *ob)
{
    if (ob == NULL)
        return;
    for (int i = 0; i < KF_OB_STMT_COUNT_; i++)
        sqlite3_finalize(ob->st[i]);
    sqlite3_close(ob->db); /* NULL is a no-op; checkpoints and removes the WAL if last */
    free(ob);
}

int kf_outbox_append(struct kf_outbox *ob, int type, int64_t ts_ms, const char *json, size_t len,
                     uint64_t *ret_seq)
{
    const struct kf_outbox_rec rec = {.type = type, .ts_ms = ts_ms, .json = json, .json_len = len};
    size_t appended, dropped;
    uint64_t seq;
    int r;

    r = kf_ob_append_batch(ob, &rec, 1, &appended, &dropped, &seq);
    if (r < 0)
        return r;
    if (dropped > 0)
        return -ENOBUFS; /* counted and committed, but no seq */
    if (ret_seq != NULL)
        *ret_seq = seq;
    return 0;
}

int kf_outbox_append_many(struct kf_outbox *ob, const struct kf_outbox_rec *recs, size_t n,
                          size_t *ret_appended)
{
    size_t appended, dropped;
    int r;

    r = kf_ob_append_batch(ob, recs, n, &appended, &dropped, NULL);
    if (r < 0)
        return r;
    if (ret_appended != NULL)
        *ret_appended = appended;
    return 0;
}

/* *ret_n is written whenever the walk ran (0, or a callback's non-zero value); it counts the
 * callbacks made, including one that stopped the walk. cb must not call into this outbox. */
int kf_outbox_peek(struct kf_outbox *ob, uint64_t from_seq, uint32_t max_records, size_t max_bytes,
                   kf_outbox_visit_cb cb, void *ud, uint32_t *ret_n)
{
    sqlite3_stmt *s;
    uint64_t total = 0;
    uint32_t n = 0;
    int r, rc = SQLITE_DONE;

    if (ob == NULL || cb == NULL)
        return -EINVAL;
    s = ob->st[KF_OB_PEEK];
    if (from_seq > (uint64_t)INT64_MAX)
        from_seq = (uint64_t)INT64_MAX;
    if ((r = kf_ob_bind_u64(s, 1, from_seq)) < 0 ||
        (r = kf_ob_err(sqlite3_bind_int64(s, 2, (sqlite3_int64)max_records))) < 0)
        goto out_reset;

    r = 0;
    while (n < max_records && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct kf_outbox_rec rec;
        sqlite3_int64 len = sqlite3_column_int64(s, 3);

        if (len < 0 || (n > 0 && total + (uint64_t)len > max_bytes))
            break;
        rec.seq = kf_ob_col_u64(s, 0);
        rec.type = sqlite3_column_int(s, 1);
        rec.ts_ms = sqlite3_column_int64(s, 2);
        rec.json = (const char *)sqlite3_column_text(s, 4);
        rec.json_len = (size_t)sqlite3_column_bytes(s, 4);
        rec.boot = (uint32_t)sqlite3_column_int64(s, 5);
        rec.base_ms = sqlite3_column_int64(s, 6);
        if (rec.json == NULL) {
            r = -ENOMEM; /* the only way a NOT NULL TEXT column reads back NULL */
            goto out_reset;
        }
        total += (uint64_t)len;
        n++;
        r = cb(ud, &rec);
        if (r != 0)
            break;
    }
    if (r == 0 && n < max_records && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r = kf_ob_err(rc);
        goto out_reset;
    }
    if (ret_n != NULL)
        *ret_n = n;

out_reset:
    kf_ob_done(s);
    return r;
}

int kf_outbox_ack(struct kf_outbox *ob, uint64_t hwm)
{
    struct kf_ob_meta m;
    sqlite3_stmt *s;
    uint64_t gone, gone_bytes, gone_health;
    int r, rc;

    if (ob == NULL)
        return -EINVAL;
    if (hwm <= ob->meta.acked_seq)
        return 0; /* old or repeated ack */
    if (hwm >= ob->meta.next_seq)
        return -ERANGE;

    r = kf_ob_begin(ob, &m);
    if (r < 0)
        return r;
    if (hwm <= m.acked_seq) {
        r = 0;
        goto out_rollback;
    }
    if (hwm >= m.next_seq) {
        r = -ERANGE;
        goto out_rollback;
    }

    s = ob->st[KF_OB_ACK_SUM];
    if ((r = kf_ob_bind_u64(s, 1, hwm)) < 0 ||
        (r = kf_ob_err(sqlite3_bind_int(s, 2, KF_REC_HEALTH))) < 0) {
        kf_ob_done(s);
        goto out_rollback;
    }
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        kf_ob_done(s);
        r = kf_ob_err(rc) < 0 ? kf_ob_err(rc) : -EIO;
        goto out_rollback;
    }
    gone = kf_ob_col_u64(s, 0);
    gone_bytes = (uint64_t)sqlite3_column_int64(s, 1);
    gone_health = (uint64_t)sqlite3_column_int64(s, 2);
    kf_ob_done(s);
    if (gone != hwm - m.acked_seq || gone_bytes > m.bytes || gone_health > m.health) {
        r = -EIO; /* the run is not what meta says: leave the file alone */
        goto out_rollback;
    }

    s = ob->st[KF_OB_ACK_DELETE];
    if ((r = kf_ob_bind_u64(s, 1, hwm)) < 0) {
        kf_ob_done(s);
        goto out_rollback;
    }
    r = kf_ob_exec(ob, KF_OB_ACK_DELETE);
    if (r < 0)
        goto out_rollback;

    m.acked_seq = hwm;
    m.bytes -= gone_bytes;
    m.health -= gone_health;
    r = kf_ob_meta_store(ob, &m);
    if (r < 0)
        goto out_rollback;
    return kf_ob_commit(ob, &m);

out_rollback:
    kf_ob_rollback(ob);
    return r;
}

int kf_outbox_rebase(struct kf_outbox *ob, uint64_t hwm)
{
    struct kf_ob_meta m;
    sqlite3_stmt *s;
    uint64_t delta;
    int r;

    if (ob == NULL)
        return -EINVAL;
    if (hwm < ob->meta.next_seq)
        return -EINVAL; /* an ordinary ack: kf_outbox_ack */
    if (hwm > (uint64_t)INT64_MAX / 2)
        return -ERANGE;
    r = kf_ob_begin(ob, &m);
    if (r < 0)
        return r;
    /* Every held seq is in (acked, next); every new one is past hwm >= next - 1, so no new
     * seq can collide with an old one while the UPDATE runs, whatever its row order. */
    delta = hwm - m.acked_seq;
    s = ob->st[KF_OB_REBASE];
    if ((r = kf_ob_bind_u64(s, 1, delta)) < 0) {
        kf_ob_done(s);
        goto out_rollback;
    }
    r = kf_ob_exec(ob, KF_OB_REBASE);
    if (r < 0)
        goto out_rollback;
    m.acked_seq = hwm;
    m.next_seq += delta;
    r = kf_ob_meta_store(ob, &m);
    if (r < 0)
        goto out_rollback;
    return kf_ob_commit(ob, &m);

out_rollback:
    kf_ob_rollback(ob);
    return r;
}

int kf_outbox_stats(struct kf_outbox *ob, struct kf_outbox_stats *ret)
{
    if (ob == NULL || ret == NULL)
        return -EINVAL;
    ret->next_seq = ob->meta.next_seq;
    ret->acked_seq = ob->meta.acked_seq;
    ret->records = ob->meta.next_seq - 1 - ob->meta.acked_seq;
    ret->bytes = ob->meta.bytes;
    ret->health = ob->meta.health;
    ret->health_dropped = ob->meta.health_dropped;
    return 0;
}

int kf_outbox_boot(struct kf_outbox *ob, const char *boot_id, uint32_t *ret)
{
    sqlite3_stmt *s;
    int r, rc;

    if (ob == NULL || boot_id == NULL || boot_id[0] == '\0' || ret == NULL)
        return -EINVAL;
    for (int pass = 0; pass < 2; pass++) {
        s = ob->st[KF_OB_BOOT_GET];
        if ((r = kf_ob_err(sqlite3_bind_text(s, 1, boot_id, -1, SQLITE_STATIC))) < 0) {
            kf_ob_done(s);
            return r;
        }
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *ret = (uint32_t)sqlite3_column_int64(s, 0);
            kf_ob_done(s);
            return 0;
        }
        kf_ob_done(s);
        if (rc != SQLITE_DONE || pass == 1)
            return rc == SQLITE_DONE ? -EIO : kf_ob_err(rc);
        s = ob->st[KF_OB_BOOT_ADD];
        if ((r = kf_ob_err(sqlite3_bind_text(s, 1, boot_id, -1, SQLITE_STATIC))) < 0) {
            kf_ob_done(s);
            return r;
        }
        if ((r = kf_ob_exec(ob, KF_OB_BOOT_ADD)) < 0)
            return r;
    }
    return -EIO;
}

void kf_outbox_set_clock(struct kf_outbox *ob, uint32_t boot, int64_t base_ms)
{
    ob->boot = boot;
    ob->base_ms = base_ms;
}

int kf_outbox_clock_put(struct kf_outbox *ob, uint32_t boot, int64_t offset_ms, int64_t base_ms)
{
    sqlite3_stmt *s = ob->st[KF_OB_CLOCK_PUT];
    int r;

    if ((r = kf_ob_err(sqlite3_bind_int64(s, 1, boot))) < 0 ||
        (r = kf_ob_err(sqlite3_bind_int64(s, 2, offset_ms))) < 0 ||
        (r = kf_ob_err(sqlite3_bind_int64(s, 3, base_ms))) < 0) {
        kf_ob_done(s);
        return r;
    }
    return kf_ob_exec(ob, KF_OB_CLOCK_PUT);
}

int kf_outbox_clock_get(struct kf_outbox *ob, uint32_t boot, int64_t *ret_offset_ms,
                        int64_t *ret_base_ms)
{
    sqlite3_stmt *s = ob->st[KF_OB_CLOCK_GET];
    int r, rc;

    if ((r = kf_ob_err(sqlite3_bind_int64(s, 1, boot))) < 0) {
        kf_ob_done(s);
        return r;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret_offset_ms = sqlite3_column_int64(s, 0);
        *ret_base_ms = sqlite3_column_int64(s, 1);
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? -ENOENT : kf_ob_err(rc);
    }
    kf_ob_done(s);
    return r;
}
