/* kf_test.c: the clock, loopback ports, temp directories and files of kf_test.h. Children,
 * logs and the daemons are in kf_test_proc.c and kf_test_daemon.c. */
#define _GNU_SOURCE /* fdopendir, openat and friends under -std=c11 with extensions */
#include "kf_test.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Our own clock, not kf_mono_us: the helper depends on no library it helps to test. */
int64_t kf_test_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kf_test_nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* bind (free) or connect (open) to 127.0.0.1:port: 1 if it succeeded. */
static int loopback(int port, int do_connect)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

    if (fd < 0) {
        return 0;
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = (do_connect ? connect(fd, (struct sockaddr *)&a, sizeof(a))
                     : bind(fd, (struct sockaddr *)&a, sizeof(a))) == 0;
    close(fd);
    return ok;
}

/* xorshift32, seeded once per process from its pid and the clock: two suites started in the
 * same second, or two calls in one test, do not draw the same port (srand(time) did). */
static uint32_t port_draw(void)
{
    static uint32_t s;

    if (s == 0) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = ((uint32_t)getpid() * 2654435761u) ^ (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec;
        if (s == 0) {
            s = 1;
        }
    }
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
}

int kf_test_free_port(void)
{
    for (int tries = 0; tries < 50; tries++) {
        int p = 20000 + (int)(port_draw() % 20000);

        if (loopback(p, 0)) {
            return p;
        }
    }
    cr_assert_fail("no free loopback port found");
    return 0;
}

int kf_test_port_open(int port)
{
    return loopback(port, 1);
}

int kf_test_wait_port(int port, int64_t timeout_ms)
{
    for (int64_t end = kf_test_mono_ms() + timeout_ms; !kf_test_port_open(port);) {
        if (kf_test_mono_ms() >= end) {
            return 0;
        }
        kf_test_nap_ms(50);
    }
    return 1;
}

/* ---- temp directories ---- */

char *kf_test_tmpdir(const char *prefix, char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");
    int n;

    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    n = snprintf(buf, cap, "%s/%s-XXXXXX", base, prefix);
    cr_assert(n > 0 && (size_t)n < cap, "temp dir %s/%s-XXXXXX: longer than the %zu bytes given",
              base, prefix, cap);
    cr_assert(mkdtemp(buf) != NULL, "mkdtemp %s: %s", buf, strerror(errno));
    return buf;
}

/* Remove name (relative to the directory dfd) and, for a directory, what is under it.
 * Returns 0 or the first negative errno. */
static int rm_at(int dfd, const char *name)
{
    struct stat sb;
    struct dirent *e;
    DIR *d;
    int fd, r = 0;

    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (!S_ISDIR(sb.st_mode)) {
        return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
    }
    /* A test may have taken its own permissions away from a directory (test_keyfile does). */
    if ((sb.st_mode & 0700) != 0700) {
        fchmodat(dfd, name, 0700, 0);
    }
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        r = -errno;
        close(fd);
        return r;
    }
    while ((e = readdir(d)) != NULL) {
        int rr;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        rr = rm_at(dirfd(d), e->d_name);
        if (r == 0) {
            r = rr;
        }
    }
    closedir(d);
    if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && r == 0) {
        r = -errno;
    }
    return r;
}

int kf_test_rmtree(const char *path)
{
    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    if (path[0] != '/' || path[strspn(path, "/")] == '\0') {
        return -EINVAL;
    }
    if (getenv("KF_TEST_KEEP") != NULL) {
        fprintf(stderr, "KF_TEST_KEEP: kept %s\n", path);
        return 0;
    }
    return rm_at(AT_FDCWD, path);
}

/* ---- files ---- */

char *kf_test_read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    char *buf;
    long n;

    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n, "%s", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}
