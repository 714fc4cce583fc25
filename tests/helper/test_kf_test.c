/* test_kf_test.c: the helper's own contracts (kf_test.h), the ones every suite leans on. */
#include <criterion/criterion.h>
#include "kf_test.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "%s", path);
    cr_assert_geq(fputs(text, f), 0);
    cr_assert_eq(fclose(f), 0);
}

Test(kf_test, tmpdir_is_fresh_private_and_rmtree_removes_everything)
{
    char a[128], b[128], p[256], outside[128];
    struct stat sb;

    kf_test_tmpdir("kf-test-self", a, sizeof(a));
    kf_test_tmpdir("kf-test-self", b, sizeof(b));
    cr_assert_str_neq(a, b);
    cr_assert_eq(stat(a, &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
    cr_assert_eq(sb.st_mode & 0777, 0700);

    /* files, a nested directory a test made unreadable, a symbolic link out of the tree */
    kf_test_tmpdir("kf-test-self-outside", outside, sizeof(outside));
    snprintf(p, sizeof(p), "%s/keep", outside);
    put(p, "not ours to remove\n");
    snprintf(p, sizeof(p), "%s/f", a);
    put(p, "x");
    snprintf(p, sizeof(p), "%s/sub", a);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/sub/deeper", a);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/sub/deeper/g", a);
    put(p, "y");
    snprintf(p, sizeof(p), "%s/sub", a);
    cr_assert_eq(chmod(p, 0), 0);
    snprintf(p, sizeof(p), "%s/link", a);
    cr_assert_eq(symlink(outside, p), 0);

    cr_assert_eq(kf_test_rmtree(a), 0);
    cr_assert_neq(access(a, F_OK), 0);
    snprintf(p, sizeof(p), "%s/keep", outside);
    cr_assert_eq(access(p, F_OK), 0, "rmtree followed a symbolic link");
    cr_assert_eq(kf_test_rmtree(a), 0, "gone already: not an error");
    cr_assert_eq(kf_test_rmtree(b), 0);
    cr_assert_eq(kf_test_rmtree(outside), 0);
    cr_assert_eq(kf_test_rmtree(NULL), 0);
    cr_assert_eq(kf_test_rmtree("relative"), -EINVAL);
    cr_assert_eq(kf_test_rmtree("//"), -EINVAL);
}

Test(kf_test, tmpdir_follows_TMPDIR)
{
    char base[128], d[256];

    kf_test_tmpdir("kf-test-self", base, sizeof(base));
    setenv("TMPDIR", base, 1);
    kf_test_tmpdir("inner", d, sizeof(d));
    unsetenv("TMPDIR");
    cr_assert_eq(strncmp(d, base, strlen(base)), 0, "%s not under %s", d, base);
    cr_assert_eq(kf_test_rmtree(base), 0);
}

Test(kf_test, read_file_returns_the_whole_file)
{
    char d[128], p[192];
    char *text;

    kf_test_tmpdir("kf-test-self", d, sizeof(d));
    snprintf(p, sizeof(p), "%s/fixture.ini", d);
    put(p, "[a]\nb = 1\n");
    text = kf_test_read_file(p);
    cr_assert_str_eq(text, "[a]\nb = 1\n");
    free(text);
    cr_assert_eq(kf_test_rmtree(d), 0);
}

Test(kf_test, free_ports_differ_and_are_free)
{
    int a = kf_test_free_port(), b = kf_test_free_port();

    cr_assert(a >= 20000 && a < 40000);
    cr_assert_neq(a, b, "two draws in one process gave the same port");
    cr_assert_eq(kf_test_port_open(a), 0);
}

Test(kf_test, sanitizer_reports_are_counted)
{
    char d[128], log[192], none[192];

    kf_test_tmpdir("kf-test-self", d, sizeof(d));
    snprintf(log, sizeof(log), "%s/child.log", d);
    put(log, "<6>kioskd: ready: subscribed, serving\n");
    cr_assert_eq(kf_test_sanitizer_reports(log), 0);
    put(log, "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n"
             "x.c:3:5: runtime error: signed integer overflow\n"
             "==1==ERROR: LeakSanitizer: detected memory leaks\n"
             "WARNING: ThreadSanitizer: data race (pid=1)\n"
             "an ordinary line about an error\n");
    cr_assert_eq(kf_test_sanitizer_reports(log), 4);
    snprintf(none, sizeof(none), "%s/none.log", d);
    cr_assert_eq(kf_test_sanitizer_reports(none), -ENOENT);
    cr_assert_eq(kf_test_rmtree(d), 0);
}

Test(kf_test, children_stop_with_a_deadline_and_logs_are_waited_for)
{
    char d[128], log[192];
    char *sleeper[] = {"/bin/sh", "-c", "echo started; exec sleep 30", NULL};
    char *stubborn[] = {"/bin/sh", "-c", "trap '' TERM; echo up; while :; do sleep 1; done", NULL};
    char *quitter[] = {"/bin/sh", "-c", "exit 3", NULL};
    int64_t t0;
    pid_t pid;
    int st;

    kf_test_tmpdir("kf-test-self", d, sizeof(d));
    snprintf(log, sizeof(log), "%s/child.log", d);

    pid = kf_test_spawn(log, sleeper);
    cr_assert_eq(kf_test_wait_log(log, "started", pid, 5000), 1);
    st = kf_test_stop(pid, 5000);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %d", st);

    pid = kf_test_spawn(log, stubborn);
    cr_assert_eq(kf_test_wait_log(log, "up", pid, 5000), 1);
    t0 = kf_test_mono_ms();
    cr_assert_eq(kf_test_stop(pid, 300), -1, "ignores SIGTERM: killed at the deadline");
    cr_assert_lt(kf_test_mono_ms() - t0, 3000);
    cr_assert_eq(kill(pid, 0), -1, "reaped");

    pid = kf_test_spawn(log, quitter);
    cr_assert_eq(kf_test_wait_log(log, "never said", pid, 5000), -1, "exited first");
    st = kf_test_reap(pid, 5000);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "still reapable, status %d", st);
    cr_assert_eq(kf_test_wait_log(log, "never said", 0, 100), 0, "deadline");
    cr_assert_eq(kf_test_stop(0, 100), 0);
    cr_assert_eq(kf_test_rmtree(d), 0);
}
