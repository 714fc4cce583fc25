/* test_notify.c: the sd_notify datagram reaches a socket, and the watchdog contract. */
#include <criterion/criterion.h>
#include "kf_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <kf/notify.h>

Test(notify, sends_state_to_the_socket)
{
    char dir[64], path[128], buf[64];
    struct sockaddr_un sa;
    int fd;
    ssize_t n;

    kf_test_tmpdir("kf-notify", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

    setenv("NOTIFY_SOCKET", path, 1);
    cr_assert_eq(kf_notify("READY=1"), 1);
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    cr_assert_eq(n, 7);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "READY=1");

    unsetenv("NOTIFY_SOCKET");
    cr_assert_eq(kf_notify("READY=1"), 0, "no manager: nothing sent, no error");
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    cr_assert_lt(kf_notify("READY=1"), 0, "only absolute or abstract sockets");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    kf_test_rmtree(dir);
}

Test(notify, watchdog_only_for_this_pid)
{
    char pid[32];

    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    cr_assert_eq(kf_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    cr_assert_eq(kf_notify_watchdog_usec(), 30000000);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    cr_assert_eq(kf_notify_watchdog_usec(), 30000000);
    setenv("WATCHDOG_PID", "1", 1);
    cr_assert_eq(kf_notify_watchdog_usec(), 0, "another process's watchdog");
    setenv("WATCHDOG_PID", pid, 1);
    setenv("WATCHDOG_USEC", "12x", 1);
    cr_assert_eq(kf_notify_watchdog_usec(), 0, "garbage is not an interval");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}
