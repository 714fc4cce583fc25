/* core/outbox_db.c: the outbox's SQLite file: connection settings, schema and its
 * migrations, prepared statements and the helpers outbox.c uses (outbox_int.h).
 *
 * Schema (user_version 5; v4's command tables are described at ob_schema_v4, v5's bundles
 * at ob_schema_v5):
 *   records(seq INTEGER PRIMARY KEY, type, ts_ms, len, json TEXT, boot, base_ms)
 *   meta(id = 1, next_seq, acked_seq, bytes, health, health_dropped)
 *   clocks(boot INTEGER PRIMARY KEY, boot_id TEXT UNIQUE, offset_ms, base_ms)
 *   app_ids(n INTEGER PRIMARY KEY, app_id TEXT UNIQUE, seq, digest BLOB, taken_ms)
 * v2 added the clock regime of each record (boot, base_ms: outbox.h) and the clocks table;
 * records of a v1 outbox keep boot 0 ("not recorded"). v3 added app_ids, the application's
 * ids taken (outbox.h, kf_outbox_append_app): n is the order they were taken in, so the
 * oldest go first when there are too many. len is stored because length() on TEXT counts
 * characters, not bytes.
 *
 * Memory: hundreds of outboxes may live in one process (kiosk-sim), and the agent must stay
 * under 8 MB RSS, so each connection gets a small page cache and no memory map, and the
 * process-wide page-cache preallocation is switched off (ob_tune_sqlite).
 */
#include "core/outbox_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define OB_SCHEMA_VERSION 5
#define OB_BUSY_TIMEOUT_MS 5000

#define OB_DEFAULT_MAX_RECORDS 500000u
#define OB_DEFAULT_MAX_BYTES (256u * 1024 * 1024)
#define OB_DEFAULT_MAX_HEALTH 20160u
#define OB_DEFAULT_APP_IDS_MAX 100000u
#define OB_DEFAULT_APP_IDS_KEEP_DAYS 30u

static const char *const ob_sql[KF__OUTBOX_STMT_COUNT] = {
    [KF__OUTBOX_BEGIN] = "BEGIN IMMEDIATE",
    [KF__OUTBOX_COMMIT] = "COMMIT",
    [KF__OUTBOX_ROLLBACK] = "ROLLBACK",
    [KF__OUTBOX_META_GET] = "SELECT next_seq, acked_seq, bytes, health, health_dropped"
                            " FROM meta WHERE id = 1",
    [KF__OUTBOX_META_PUT] =
        "UPDATE meta SET next_seq = ?1, acked_seq = ?2, bytes = ?3, health = ?4,"
        " health_dropped = ?5 WHERE id = 1",
    [KF__OUTBOX_INSERT] = "INSERT INTO records(seq, type, ts_ms, len, json, boot, base_ms)"
                          " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [KF__OUTBOX_PEEK] =
        "SELECT seq, type, ts_ms, len, json, boot, base_ms FROM records WHERE seq >= ?1"
        " ORDER BY seq LIMIT ?2",
    [KF__OUTBOX_ACK_SUM] =
        "SELECT count(*), total(len), total(type = ?2) FROM records WHERE seq <= ?1",
    [KF__OUTBOX_ACK_DELETE] = "DELETE FROM records WHERE seq <= ?1",
    [KF__OUTBOX_MAX_SEQ] = "SELECT max(seq) FROM records",
    [KF__OUTBOX_REBASE] = "UPDATE records SET seq = seq + ?1",
    [KF__OUTBOX_BOOT_GET] = "SELECT boot FROM clocks WHERE boot_id = ?1",
    [KF__OUTBOX_BOOT_ADD] = "INSERT INTO clocks(boot_id) VALUES(?1)",
    [KF__OUTBOX_CLOCK_PUT] = "UPDATE clocks SET offset_ms = ?2, base_ms = ?3 WHERE boot = ?1",
    [KF__OUTBOX_CLOCK_GET] = "SELECT offset_ms, base_ms FROM clocks WHERE boot = ?1"
                             " AND offset_ms IS NOT NULL",
    [KF__OUTBOX_APP_GET] = "SELECT seq, digest FROM app_ids WHERE app_id = ?1",
    [KF__OUTBOX_APP_PUT] = "INSERT INTO app_ids(app_id, seq, digest, taken_ms)"
                           " VALUES(?1, ?2, ?3, ?4)",
    [KF__OUTBOX_APP_FORGET_OLD] = "DELETE FROM app_ids WHERE taken_ms < ?1",
    /* Keeps the ?1 taken last: n only grows (the largest is never deleted by this). */
    [KF__OUTBOX_APP_FORGET_MANY] =
        "DELETE FROM app_ids WHERE n <= (SELECT max(n) FROM app_ids) - ?1",
    [KF__OUTBOX_APP_REBASE] = "UPDATE app_ids SET seq = seq + ?1 WHERE seq > ?2",
    [KF__OUTBOX_APP_COUNT] = "SELECT count(*) FROM app_ids",
    [KF__OUTBOX_CMD_META_GET] = "SELECT high_seq, bad_signature, other_device, expired, replayed,"
                                " malformed FROM cmd_meta WHERE id = 1",
    [KF__OUTBOX_CMD_META_PUT] =
        "UPDATE cmd_meta SET high_seq = ?1, bad_signature = ?2, other_device = ?3,"
        " expired = ?4, replayed = ?5, malformed = ?6 WHERE id = 1",
    [KF__OUTBOX_CMD_INSERT] = "INSERT INTO cmds(seq, id, kind, body, issued_ms, expires_ms, state,"
                              " accepted_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
    [KF__OUTBOX_CMD_STATE] = "UPDATE cmds SET state = ?2, boot_id = coalesce(?3, boot_id),"
                             " started_ms = coalesce(?4, started_ms),"
                             " result_seq = coalesce(?5, result_seq) WHERE seq = ?1 AND state < ?2",
    [KF__OUTBOX_CMD_PENDING] = "SELECT seq, body, issued_ms, state, boot_id, started_ms FROM cmds"
                               " WHERE state < 2 ORDER BY seq",
    /* Reported commands are kept a while for the log, then go: 1000 at most. */
    [KF__OUTBOX_CMD_PRUNE] = "DELETE FROM cmds WHERE state = 2 AND seq <= ?1 - 1000",
    [KF__OUTBOX_CONF_GET] = "SELECT key, value, prev, trial_seq, deadline_ms FROM conf"
                            " ORDER BY key",
    [KF__OUTBOX_CONF_PUT] = "INSERT INTO conf(key, value, prev, trial_seq, deadline_ms)"
                            " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET"
                            " value = excluded.value, prev = excluded.prev,"
                            " trial_seq = excluded.trial_seq, deadline_ms = excluded.deadline_ms",
    [KF__OUTBOX_CONF_DEL] = "DELETE FROM conf WHERE key = ?1",
};

static const char ob_schema_v1[] =
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
 * are pruned at open (ob_prune_clocks). */
static const char ob_schema_v2[] =
    "ALTER TABLE records ADD COLUMN boot INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE records ADD COLUMN base_ms INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE clocks("
    " boot INTEGER PRIMARY KEY,"
    " boot_id TEXT NOT NULL UNIQUE,"
    " offset_ms INTEGER,"
    " base_ms INTEGER);"
    "PRAGMA user_version = 2;";

/* v2 -> v3: the application's ids (kf_outbox_append_app). The index on taken_ms keeps the
 * forgetting of old ids, done at every new one, a seek rather than a scan. */
static const char ob_schema_v3[] = "CREATE TABLE app_ids("
                                   " n INTEGER PRIMARY KEY,"
                                   " app_id TEXT NOT NULL UNIQUE,"
                                   " seq INTEGER NOT NULL,"
                                   " digest BLOB NOT NULL,"
                                   " taken_ms INTEGER NOT NULL);"
                                   "CREATE INDEX app_ids_taken ON app_ids(taken_ms);"
                                   "PRAGMA user_version = 3;";

/* v3 -> v4: the server's commands (outbox_cmd.c). cmds holds each accepted command from
 * before it runs until well after its result is reported (state 0 stored, 1 running, 2
 * reported: result_seq is its cmd_result record); cmd_meta the highest command seq
 * accepted and the refusal counters; conf the settings a set-config command changed, each
 * with the value it replaced and, while on trial, the command and the deadline by which the
 * server must have been reached with it. */
static const char ob_schema_v4[] = "CREATE TABLE cmds("
                                   " seq INTEGER PRIMARY KEY,"
                                   " id TEXT NOT NULL,"
                                   " kind TEXT NOT NULL,"
                                   " body TEXT NOT NULL,"
                                   " issued_ms INTEGER NOT NULL,"
                                   " expires_ms INTEGER NOT NULL,"
                                   " state INTEGER NOT NULL,"
                                   " accepted_ms INTEGER NOT NULL,"
                                   " boot_id TEXT,"
                                   " started_ms INTEGER,"
                                   " result_seq INTEGER);"
                                   "CREATE TABLE cmd_meta("
                                   " id INTEGER PRIMARY KEY CHECK (id = 1),"
                                   " high_seq INTEGER NOT NULL,"
                                   " bad_signature INTEGER NOT NULL,"
                                   " other_device INTEGER NOT NULL,"
                                   " expired INTEGER NOT NULL,"
                                   " replayed INTEGER NOT NULL,"
                                   " malformed INTEGER NOT NULL);"
                                   "INSERT INTO cmd_meta VALUES(1, 0, 0, 0, 0, 0, 0);"
                                   "CREATE TABLE conf("
                                   " key TEXT PRIMARY KEY,"
                                   " value TEXT NOT NULL,"
                                   " prev TEXT,"
                                   " trial_seq INTEGER,"
                                   " deadline_ms INTEGER);"
                                   "PRAGMA user_version = 4;";

/* v4 -> v5: bundles a command made (outbox_blob.c: the logs a `logs` command collected),
 * compressed, kept until the server holds them all (have = chunks the server acknowledged
 * holding from index 0). */
static const char ob_schema_v5[] = "CREATE TABLE blobs("
                                   " cmd_seq INTEGER PRIMARY KEY,"
                                   " sha BLOB NOT NULL,"
                                   " total INTEGER NOT NULL,"
                                   " nchunks INTEGER NOT NULL,"
                                   " have INTEGER NOT NULL DEFAULT 0,"
                                   " data BLOB NOT NULL,"
                                   " made_ms INTEGER NOT NULL);"
                                   "PRAGMA user_version = 5;";

/* Per-connection settings. Constants, nothing formatted in; PRAGMAs cannot take bindings. */
static const char ob_pragmas[] = "PRAGMA synchronous = FULL;"
                                 "PRAGMA foreign_keys = ON;"
                                 "PRAGMA cache_size = -256;" /* KiB */
                                 "PRAGMA mmap_size = 0;"
                                 "PRAGMA temp_store = FILE;"
                                 "PRAGMA journal_size_limit = 4194304;";

/* SQLite result -> 0 or negative errno. Local so the outbox needs nothing from kf_common's
 * objects; it matches kf_err_from_sqlite() for the codes an outbox can see. */
int kf__outbox_err(int rc)
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

void kf__outbox_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows (or whose rows are ignored). */
/* The errno of the outbox's last failed write: its WAL's (where commits write), else its
 * database file's. sqlite3_system_errno() reads errno after SQLite has run on, so it is not
 * to be trusted for this; each file keeps its own. */
static int ob_write_errno(struct kf_outbox *ob)
{
    sqlite3_file *f = NULL;
    int e = 0;

    if (sqlite3_file_control(ob->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) == SQLITE_OK &&
        f != NULL && f->pMethods != NULL && f->pMethods->xFileControl != NULL &&
        f->pMethods->xFileControl(f, SQLITE_FCNTL_LAST_ERRNO, &e) == SQLITE_OK && e != 0)
        return e;
    e = 0;
    if (sqlite3_file_control(ob->db, "main", SQLITE_FCNTL_LAST_ERRNO, &e) == SQLITE_OK && e != 0)
        return e;
    return 0;
}

int kf__outbox_exec(struct kf_outbox *ob, enum kf__outbox_stmt which)
{
    sqlite3_stmt *s = ob->st[which];
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ;
    kf__outbox_done(s);
    if (rc == SQLITE_DONE)
        return 0;
    /* A full file system is not always SQLITE_FULL: a write refused outright with EDQUOT,
     * or EFBIG past a file size limit, is SQLITE_IOERR_WRITE. Both are a full disk. */
    if ((rc & 0xff) == SQLITE_IOERR) {
        int e = ob_write_errno(ob);
        if (e == ENOSPC || e == EDQUOT || e == EFBIG)
            return -ENOSPC;
    }
    return kf__outbox_err(rc);
}

uint64_t kf__outbox_col_u64(sqlite3_stmt *s, int col)
{
    sqlite3_int64 v = sqlite3_column_int64(s, col);

    return v < 0 ? 0 : (uint64_t)v;
}

int kf__outbox_bind_u64(sqlite3_stmt *s, int idx, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX)
        return -ERANGE;
    return kf__outbox_err(sqlite3_bind_int64(s, idx, (sqlite3_int64)v));
}

int kf__outbox_meta_load(struct kf_outbox *ob, struct kf__outbox_meta *ret)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_META_GET];
    int rc = sqlite3_step(s);
    int r;

    if (rc == SQLITE_ROW) {
        ret->next_seq = kf__outbox_col_u64(s, 0);
        ret->acked_seq = kf__outbox_col_u64(s, 1);
        ret->bytes = kf__outbox_col_u64(s, 2);
        ret->health = kf__outbox_col_u64(s, 3);
        ret->health_dropped = kf__outbox_col_u64(s, 4);
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? -EIO : kf__outbox_err(rc); /* no meta row: not our file */
    }
    kf__outbox_done(s);
    if (r == 0 && (ret->next_seq < 1 || ret->acked_seq >= ret->next_seq))
        r = -EIO;
    return r;
}

void kf__outbox_rollback(struct kf_outbox *ob)
{
    if (!sqlite3_get_autocommit(ob->db))
        kf__outbox_exec(ob, KF__OUTBOX_ROLLBACK);
}

static int ob_migrate(struct kf_outbox *ob)
{
    sqlite3_stmt *s = NULL;
    int version = -1, r, rc;

    r = kf__outbox_exec(ob, KF__OUTBOX_BEGIN);
    if (r < 0)
        return r;
    rc = sqlite3_prepare_v2(ob->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version < 0) {
        r = kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO;
        goto out_rollback;
    }
    if (version > OB_SCHEMA_VERSION) {
        r = -EPROTONOSUPPORT; /* written by a newer agent: do not touch it */
        goto out_rollback;
    }
    if (version == 0) {
        r = kf__outbox_err(sqlite3_exec(ob->db, ob_schema_v1, NULL, NULL, NULL));
        if (r < 0)
            goto out_rollback;
        version = 1;
    }
    if (version == 1) {
        r = kf__outbox_err(sqlite3_exec(ob->db, ob_schema_v2, NULL, NULL, NULL));
        if (r < 0)
            goto out_rollback;
        version = 2;
    }
    if (version == 2) {
        r = kf__outbox_err(sqlite3_exec(ob->db, ob_schema_v3, NULL, NULL, NULL));
        if (r < 0)
            goto out_rollback;
        version = 3;
    }
    if (version == 3) {
        r = kf__outbox_err(sqlite3_exec(ob->db, ob_schema_v4, NULL, NULL, NULL));
        if (r < 0)
            goto out_rollback;
        version = 4;
    }
    if (version == 4) {
        r = kf__outbox_err(sqlite3_exec(ob->db, ob_schema_v5, NULL, NULL, NULL));
        if (r < 0)
            goto out_rollback;
    }
    /* A boot's clock row is needed while a record of it is held (or it is the newest). */
    r = kf__outbox_err(sqlite3_exec(ob->db,
                                    "DELETE FROM clocks WHERE boot < (SELECT max(boot) FROM clocks)"
                                    " AND boot NOT IN (SELECT DISTINCT boot FROM records)",
                                    NULL, NULL, NULL));
    if (r < 0)
        goto out_rollback;
    return kf__outbox_exec(ob, KF__OUTBOX_COMMIT);

out_rollback:
    kf__outbox_rollback(ob);
    return r;
}

static int ob_set_wal(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int rc, r = -EIO;

    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return kf__outbox_err(rc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(s, 0);

        /* WAL can be refused (e.g. a file system without shared memory): we need it. */
        r = mode != NULL && strcmp((const char *)mode, "wal") == 0 ? 0 : -EOPNOTSUPP;
    } else {
        r = kf__outbox_err(rc);
    }
    sqlite3_finalize(s);
    return r;
}

/* next_seq must lie past every seq ever handed out; records hold the largest live one. */
static int ob_check_seq(struct kf_outbox *ob)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_MAX_SEQ];
    uint64_t max_seq = 0;
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        max_seq = kf__outbox_col_u64(s, 0);
    kf__outbox_done(s);
    if (rc != SQLITE_ROW)
        return kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO;
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
static pthread_once_t ob_tune_once = PTHREAD_ONCE_INIT;

static void ob_tune_sqlite_once(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)NULL, 0, 0);
}

static void ob_tune_sqlite(void)
{
    (void)pthread_once(&ob_tune_once, ob_tune_sqlite_once);
}

static int ob_prepare(struct kf_outbox *ob, int from, int to)
{
    for (int i = from; i < to; i++) {
        int rc =
            sqlite3_prepare_v3(ob->db, ob_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ob->st[i], NULL);
        if (rc != SQLITE_OK)
            return kf__outbox_err(rc);
    }
    return 0;
}

int kf_outbox_open(const char *path, const struct kf_outbox_limits *limits, struct kf_outbox **ret)
{
    struct kf_outbox *ob;
    int r, rc;

    if (path == NULL || ret == NULL)
        return -EINVAL;
    ob_tune_sqlite();
    ob = calloc(1, sizeof(*ob));
    if (ob == NULL)
        return -ENOMEM;
    ob->lim.max_records = OB_DEFAULT_MAX_RECORDS;
    ob->lim.max_bytes = OB_DEFAULT_MAX_BYTES;
    ob->lim.max_health = OB_DEFAULT_MAX_HEALTH;
    ob->lim.app_ids_max = OB_DEFAULT_APP_IDS_MAX;
    ob->lim.app_ids_keep_days = OB_DEFAULT_APP_IDS_KEEP_DAYS;
    if (limits != NULL) { /* a zero field keeps its default */
        if (limits->max_records != 0)
            ob->lim.max_records = limits->max_records;
        if (limits->max_bytes != 0)
            ob->lim.max_bytes = limits->max_bytes;
        if (limits->max_health != 0)
            ob->lim.max_health = limits->max_health;
        if (limits->app_ids_max != 0)
            ob->lim.app_ids_max = limits->app_ids_max;
        if (limits->app_ids_keep_days != 0)
            ob->lim.app_ids_keep_days = limits->app_ids_keep_days;
    }
    if (limits != NULL)
        ob->lim.process_durable = limits->process_durable;
    if (ob->lim.app_ids_max > (uint64_t)INT64_MAX)
        ob->lim.app_ids_max = (uint64_t)INT64_MAX; /* bound as an SQLite integer */

    /* NOMUTEX: one outbox, one thread (see outbox.h). */
    rc = sqlite3_open_v2(path, &ob->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        r = rc == SQLITE_CANTOPEN ? -ENOENT : kf__outbox_err(rc);
        goto out_free;
    }
    /* A small lookaside (8 KiB instead of ~120 KiB) for the same reason as the small cache,
     * where SQLite is built with one (Debian's is not). */
    sqlite3_db_config(ob->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 256, 32);
    sqlite3_busy_timeout(ob->db, OB_BUSY_TIMEOUT_MS);
    r = kf__outbox_err(sqlite3_exec(ob->db, ob_pragmas, NULL, NULL, NULL));
    /* Before the first WAL access: in exclusive mode SQLite never maps a -shm file. */
    if (r == 0 && ob->lim.process_durable)
        r = kf__outbox_err(
            sqlite3_exec(ob->db, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF;", NULL,
                         NULL, NULL));
    if (r < 0)
        goto out_free;
    r = ob_set_wal(ob->db);
    if (r < 0)
        goto out_free;

    /* The tables may not exist yet: prepare what the migration needs, migrate, then the rest. */
    r = ob_prepare(ob, 0, KF__OUTBOX_ROLLBACK + 1);
    if (r < 0)
        goto out_free;
    r = ob_migrate(ob);
    if (r < 0)
        goto out_free;
    r = ob_prepare(ob, KF__OUTBOX_ROLLBACK + 1, KF__OUTBOX_STMT_COUNT);
    if (r < 0)
        goto out_free;
    r = kf__outbox_meta_load(ob, &ob->meta);
    if (r < 0)
        goto out_free;
    r = ob_check_seq(ob);
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
    for (int i = 0; i < KF__OUTBOX_STMT_COUNT; i++)
        sqlite3_finalize(ob->st[i]);
    sqlite3_close(ob->db); /* NULL is a no-op; checkpoints and removes the WAL if last */
    free(ob);
}
