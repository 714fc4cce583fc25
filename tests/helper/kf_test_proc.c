/* kf_test_proc.c: children and their logs (see kf_test.h). */
#define _GNU_SOURCE /* memmem */
#include "kf_test.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t kf_test_spawn(const char *logpath, char *const argv[])
{
    /* Opened before the fork: the child of a threaded test (Paho, libuv) only calls
     * async-signal-safe functions between fork and exec. */
    int fd = open(logpath != NULL ? logpath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
    pid_t parent = getpid(), pid;

    cr_assert(fd >= 0, "%s: %s", logpath != NULL ? logpath : "/dev/null", strerror(errno));
    pid = fork();
    if (pid == 0) {
        /* SIGKILL when the thread that started it ends; a change of user clears it (see
         * kf_test_mosquitto_spawn). The getppid check closes the race with a parent that
         * died before prctl. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
            _exit(126);
        }
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
    cr_assert(pid > 0, "fork %s: %s", argv[0], strerror(errno));
    return pid;
}

int kf_test_reap(pid_t pid, int64_t timeout_ms)
{
    int64_t end = kf_test_mono_ms() + timeout_ms;
    int st;

    while (kf_test_mono_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            return st;
        }
        if (r < 0 && errno != EINTR) {
            return -1; /* not our child, or already reaped */
        }
        kf_test_nap_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

int kf_test_stop(pid_t pid, int64_t timeout_ms)
{
    if (pid <= 0) {
        return 0;
    }
    kill(pid, SIGTERM);
    return kf_test_reap(pid, timeout_ms);
}

/* ---- logs ---- */

/* 1 if the file at path contains needle, 0 if not (or it cannot be read yet). Logs here are
 * a few megabytes at most; a line may be split across reads, so keep the tail. */
static int file_has(const char *path, const char *needle)
{
    char buf[8192 + 1];
    size_t keep = 0, nlen = strlen(needle), n;
    FILE *f = fopen(path, "r");
    int found = 0;

    if (f == NULL || nlen == 0 || nlen >= sizeof(buf) / 2) {
        if (f != NULL) {
            fclose(f);
        }
        return nlen == 0;
    }
    while (!found && (n = fread(buf + keep, 1, sizeof(buf) - 1 - keep, f)) > 0) {
        size_t len = keep + n;

        buf[len] = '\0';
        found = memmem(buf, len, needle, nlen) != NULL;
        keep = nlen - 1 < len ? nlen - 1 : len;
        memmove(buf, buf + len - keep, keep);
    }
    fclose(f);
    return found;
}

int kf_test_wait_log(const char *path, const char *needle, pid_t pid, int64_t timeout_ms)
{
    for (int64_t end = kf_test_mono_ms() + timeout_ms;;) {
        siginfo_t si;

        if (file_has(path, needle)) {
            return 1;
        }
        memset(&si, 0, sizeof(si));
        /* WNOWAIT: the caller still reaps it and sees its status. */
        if (pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == pid) {
            return file_has(path, needle) ? 1 : -1;
        }
        if (kf_test_mono_ms() >= end) {
            return 0;
        }
        kf_test_nap_ms(20);
    }
}

static const char *const sanitizer_marks[] = {
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
};

/* Count the report lines of log_path; the first one into first (cap bytes) when not NULL. */
static int count_reports(const char *log_path, char *first, size_t cap)
{
    char line[1024];
    FILE *f = fopen(log_path, "r");
    int n = 0;

    if (f == NULL) {
        return -errno;
    }
    if (first != NULL && cap > 0) {
        first[0] = '\0';
    }
    /* A line longer than the buffer is read in pieces; a mark split between two pieces
     * would be missed, but every mark sits near the start of its line (UBSan's after a
     * file:line:col). */
    while (fgets(line, sizeof(line), f) != NULL) {
        for (size_t i = 0; i < sizeof(sanitizer_marks) / sizeof(sanitizer_marks[0]); i++) {
            if (strstr(line, sanitizer_marks[i]) != NULL) {
                if (n++ == 0 && first != NULL && cap > 0) {
                    snprintf(first, cap, "%s", line);
                }
                break;
            }
        }
    }
    fclose(f);
    return n;
}

int kf_test_sanitizer_reports(const char *log_path)
{
    return count_reports(log_path, NULL, 0);
}

void kf_test_assert_no_sanitizer_reports(const char *log_path)
{
    char first[1024];
    int n = count_reports(log_path, first, sizeof(first));

    cr_assert(n >= 0, "%s: %s", log_path, strerror(-n));
    cr_assert(n == 0, "%d sanitizer report(s) in %s, the first: %s", n, log_path, first);
}
