/* sim/outbox_vfs.c: the SQLite VFS every outbox of kiosk-sim is opened through (below). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <sqlite3.h>

#include "sim/sim.h"

/* The outboxes' durability: what a simulator needs, not what a terminal needs.
 * A simulated terminal's outbox must survive a kill -9 of the sim (tests/integration/
 * sim_kill9.sh compares the server with the ledger after one), not a power cut, which a
 * simulator does not model. The agent's outbox pays for the power cut: an fsync per append
 * and per ACK, and a -shm file beside each WAL. Thousands of outboxes in one process pay
 * it thousands of times, in file descriptors (four per terminal with the MQTT socket) and
 * in syncs on the one loop thread. So every outbox of the sim is opened through a VFS of
 * its own, "kf-sim", the default of this process only:
 *  - on SQLite's "unix-excl" VFS: each file locked exclusively by this process (no other
 *    process opens a simulated terminal's outbox), the WAL index on the heap: no -shm file
 *    and one file descriptor less per terminal;
 *  - with its syncs answered without going to the disk: every write() still reaches the
 *    kernel's page cache, which a kill -9 of the process does not lose; only a power cut
 *    could. That is synchronous=OFF for the sim's files, whatever the outbox asks for.
 * The agent's code is unchanged (agent/core/outbox_db.c still sets synchronous=FULL and
 * WAL). docs/SIMULATOR.md, "Scale". */
struct simvfs_file {
    sqlite3_file base;  /* base.pMethods = &simvfs_io */
    sqlite3_file *real; /* the unix-excl file, in the same allocation, after this struct */
};

static sqlite3_vfs *simvfs_real;
static sqlite3_vfs simvfs;
static sqlite3_io_methods simvfs_io;

#define SV_REAL(f) (((struct simvfs_file *)(void *)(f))->real)

static int sv_close(sqlite3_file *f)
{
    return SV_REAL(f)->pMethods->xClose(SV_REAL(f));
}

static int sv_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return SV_REAL(f)->pMethods->xRead(SV_REAL(f), buf, n, off);
}

static int sv_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    return SV_REAL(f)->pMethods->xWrite(SV_REAL(f), buf, n, off);
}

static int sv_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return SV_REAL(f)->pMethods->xTruncate(SV_REAL(f), size);
}

static int sv_sync(sqlite3_file *f, int flags)
{
    (void)f;
    (void)flags;
    return SQLITE_OK; /* the write()s are in the kernel: safe from a kill -9 (above) */
}

static int sv_size(sqlite3_file *f, sqlite3_int64 *ret)
{
    return SV_REAL(f)->pMethods->xFileSize(SV_REAL(f), ret);
}

static int sv_lock(sqlite3_file *f, int lock)
{
    return SV_REAL(f)->pMethods->xLock(SV_REAL(f), lock);
}

static int sv_unlock(sqlite3_file *f, int lock)
{
    return SV_REAL(f)->pMethods->xUnlock(SV_REAL(f), lock);
}

static int sv_reserved(sqlite3_file *f, int *ret)
{
    return SV_REAL(f)->pMethods->xCheckReservedLock(SV_REAL(f), ret);
}

static int sv_fcntl(sqlite3_file *f, int op, void *arg)
{
    return SV_REAL(f)->pMethods->xFileControl(SV_REAL(f), op, arg);
}

static int sv_sector(sqlite3_file *f)
{
    return SV_REAL(f)->pMethods->xSectorSize(SV_REAL(f));
}

static int sv_devchar(sqlite3_file *f)
{
    return SV_REAL(f)->pMethods->xDeviceCharacteristics(SV_REAL(f));
}

/* The shared-memory methods are not called in unix-excl's exclusive mode (the WAL index is
 * on the heap); they are forwarded all the same. */
static int sv_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **ret)
{
    const sqlite3_io_methods *m = SV_REAL(f)->pMethods;
    return m->iVersion >= 2 ? m->xShmMap(SV_REAL(f), pg, pgsz, extend, ret) : SQLITE_IOERR;
}

static int sv_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    const sqlite3_io_methods *m = SV_REAL(f)->pMethods;
    return m->iVersion >= 2 ? m->xShmLock(SV_REAL(f), off, n, flags) : SQLITE_IOERR;
}

static void sv_shm_barrier(sqlite3_file *f)
{
    const sqlite3_io_methods *m = SV_REAL(f)->pMethods;
    if (m->iVersion >= 2)
        m->xShmBarrier(SV_REAL(f));
}

static int sv_shm_unmap(sqlite3_file *f, int del)
{
    const sqlite3_io_methods *m = SV_REAL(f)->pMethods;
    return m->iVersion >= 2 ? m->xShmUnmap(SV_REAL(f), del) : SQLITE_OK;
}

static int sv_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **ret)
{
    const sqlite3_io_methods *m = SV_REAL(f)->pMethods;
    if (m->iVersion < 3) {
        *ret = NULL;
        return SQLITE_OK;
    }
    return m->xFetch(SV_REAL(f), off, n, ret);
}

static int sv_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    const sqlite3_io_methods *m = SV_REAL(f)->pMethods;
    return m->iVersion >= 3 ? m->xUnfetch(SV_REAL(f), off, p) : SQLITE_OK;
}

static int sv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *ret_flags)
{
    struct simvfs_file *sf = (struct simvfs_file *)(void *)f;
    int rc;

    (void)vfs;
    sf->base.pMethods = NULL; /* SQLite closes only a file whose open set pMethods */
    sf->real = (sqlite3_file *)(void *)(sf + 1);
    rc = simvfs_real->xOpen(simvfs_real, name, sf->real, flags, ret_flags);
    if (sf->real->pMethods != NULL)
        sf->base.pMethods = &simvfs_io;
    return rc;
}

/* Make "kf-sim" this process's default VFS, before the first outbox is opened. */
int kf__sim_vfs_register(void)
{
    static const sqlite3_io_methods io = {
        .iVersion = 3,
        .xClose = sv_close,
        .xRead = sv_read,
        .xWrite = sv_write,
        .xTruncate = sv_truncate,
        .xSync = sv_sync,
        .xFileSize = sv_size,
        .xLock = sv_lock,
        .xUnlock = sv_unlock,
        .xCheckReservedLock = sv_reserved,
        .xFileControl = sv_fcntl,
        .xSectorSize = sv_sector,
        .xDeviceCharacteristics = sv_devchar,
        .xShmMap = sv_shm_map,
        .xShmLock = sv_shm_lock,
        .xShmBarrier = sv_shm_barrier,
        .xShmUnmap = sv_shm_unmap,
        .xFetch = sv_fetch,
        .xUnfetch = sv_unfetch,
    };

    /* Finding a VFS initializes SQLite, after which the outbox's process-wide setting (no
     * page-cache preallocation: ~78 KiB less per outbox, agent/core/outbox_db.c,
     * ob_tune_sqlite) can no longer be made; make it here first, as the outbox would. */
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)NULL, 0, 0);
    simvfs_real = sqlite3_vfs_find("unix-excl");
    if (simvfs_real == NULL)
        return -ENOSYS;
    simvfs_io = io;
    simvfs = *simvfs_real; /* its other methods do not depend on which struct they get */
    simvfs.szOsFile = (int)sizeof(struct simvfs_file) + simvfs_real->szOsFile;
    simvfs.pNext = NULL;
    simvfs.zName = "kf-sim";
    simvfs.xOpen = sv_open;
    return sqlite3_vfs_register(&simvfs, 1) == SQLITE_OK ? 0 : -EIO;
}
