/* lock.c: the store's writer lock (KF_STORE_WRITER, store/store.h).
 *
 * One kioskd per store: two would share the broker session and knock each other off, and
 * both SLA engines would act on the same incidents. The lock is an open file description
 * lock (F_OFD_SETLK) on "<store>.lock" beside the database: it is released when the
 * process dies however it dies, it conflicts within one process too (so a test can see
 * it), and SQLite's own POSIX locks on the database file are not touched. The holder
 * writes its pid into the file, so that the refused one can name it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/int.h"
#include "store/store.h"

static int lock_path(const char *path, char *buf, size_t cap)
{
    return (size_t)snprintf(buf, cap, "%s.lock", path) >= cap ? -ENAMETOOLONG : 0;
}

int kf__store_lock(const char *path, int *ret_fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char lp[PATH_MAX], pid[32];
    int fd, r, n;

    r = lock_path(path, lp, sizeof(lp));
    if (r < 0)
        return r;
    fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        r = errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
        close(fd);
        return r;
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        r = -errno;
        close(fd);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

long kf_store_writer_pid(const char *path)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char lp[PATH_MAX], buf[32] = "";
    ssize_t n;
    long pid = 0;
    int fd;

    if (lock_path(path, lp, sizeof(lp)) < 0)
        return 0;
    fd = open(lp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    /* Held at all? Then the pid its holder wrote. */
    if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            pid = strtol(buf, NULL, 10);
        }
        if (pid <= 0)
            pid = -1; /* held, by a pid we cannot read */
    }
    close(fd);
    return pid;
}
