/* store/sqlite/ckpt.c: the WAL checkpoint on a thread of its own (kf_store_checkpointer_start).
 *
 * In WAL mode every commit appends pages to the -wal file, and a checkpoint copies them
 * back into the database and fsyncs it. By default SQLite runs that inside the commit
 * that takes the WAL past 1000 pages, so one group commit in a few pays for everybody's
 * pages and an extra fsync: in kioskd those commits were the slowest ones, and every frame
 * waiting behind them waited longer. Here the writer's automatic checkpoint is off; its WAL
 * hook wakes a thread with its own connection, which checkpoints PASSIVE (it never blocks
 * the writer, and copies what no reader still needs) while the next commit runs.
 *
 * A writer that never pauses could outrun a passive checkpoint and the WAL would grow; past
 * KF__CKPT_HARD_PAGES (64 MiB at 4 KiB pages) every commit tries the checkpoint itself, as
 * SQLite's own automatic checkpoint would have (one that finds the thread's checkpoint
 * running is busy and tries again at the next commit), so the file stays bounded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kf/err.h>
#include <kf/log.h>

#include "store/sqlite/int.h"

#define KF__CKPT_SOFT_PAGES 1000  /* wake the checkpointer (SQLite's own default) */
#define KF__CKPT_HARD_PAGES 16384 /* the commit checkpoints itself */
#define KF__CKPT_EVERY_MS 1000    /* and the checkpointer runs at least this often */
#define KF__CKPT_BUSY_TIMEOUT_MS 5000

struct kf__ckpt {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wanted, stop;
    sqlite3 *db; /* the checkpointer's own connection */
    uint64_t runs, failures;
};

static void *ckpt_main(void *arg)
{
    struct kf__ckpt *c = arg;

    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec ts;
        int rc;

        if (!c->wanted) {
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += KF__CKPT_EVERY_MS / 1000;
            pthread_cond_timedwait(&c->cv, &c->mu, &ts);
            if (c->stop)
                break;
        }
        c->wanted = 0;
        pthread_mutex_unlock(&c->mu);
        rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->mu);
        c->runs++;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && c->failures++ == 0)
            kf_warn("store: background checkpoint: %s (the commits checkpoint past 64 MiB)",
                    sqlite3_errstr(rc));
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* The writer's connection, after each commit (on the store thread). */
static int ckpt_wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
    struct kf__ckpt *c = ud;

    if (pages >= KF__CKPT_HARD_PAGES) {
        /* Outrun: what SQLite's automatic checkpoint does, at a larger size. */
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= KF__CKPT_SOFT_PAGES) {
        pthread_mutex_lock(&c->mu);
        c->wanted = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

int kf_store_checkpointer_start(struct kf_store *st)
{
    const char *path = sqlite3_db_filename(st->db, "main");
    struct kf__ckpt *c;
    int rc, r;

    if (st->ckpt != NULL || (st->flags & KF_STORE_RDONLY) || path == NULL || path[0] == '\0')
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(c->db, KF__CKPT_BUSY_TIMEOUT_MS);
    /* A connection learns the database is in WAL mode when it first reads it: until then a
     * checkpoint on it does nothing. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        r = kf_err_from_sqlite(rc);
        sqlite3_close(c->db);
        free(c);
        return r;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    r = -pthread_create(&c->thread, NULL, ckpt_main, c);
    if (r != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        sqlite3_close(c->db);
        free(c);
        return r;
    }
    st->ckpt = c;
    /* Replaces the automatic checkpoint (sqlite3_wal_autocheckpoint is a WAL hook too). */
    sqlite3_wal_hook(st->db, ckpt_wal_hook, c);
    return 0;
}

void kf__store_checkpointer_stop(struct kf_store *st)
{
    struct kf__ckpt *c = st->ckpt;

    if (c == NULL)
        return;
    sqlite3_wal_autocheckpoint(st->db, KF__CKPT_SOFT_PAGES); /* the default hook back */
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    st->ckpt = NULL;
}
