/* testproc.c: see testproc.h. */
#include "testproc.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kf/time.h>

int64_t kf_test_mono_ms(void)
{
    return kf_mono_us() / 1000;
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
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = (do_connect ? connect(fd, (struct sockaddr *)&a, sizeof(a))
                     : bind(fd, (struct sockaddr *)&a, sizeof(a))) == 0;
    close(fd);
    return ok;
}

int kf_test_free_port(void)
{
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    for (int tries = 0; tries < 50; tries++) {
        int p = 20000 + rand() % 20000;

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

pid_t kf_test_spawn(const char *logpath, char *const argv[])
{
    pid_t parent = getpid(), pid = fork();

    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

pid_t kf_test_mosquitto(int port, const char *conf_path, const char *log_path, const char *extra)
{
    FILE *f = fopen(conf_path, "w");
    char *argv[] = {KF_MOSQUITTO_BIN, "-c", (char *)conf_path, NULL};

    cr_assert(f != NULL);
    fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n",
            port);
    if (getuid() == 0) {
        /* Not the user mosquitto: a change of user would clear the death signal (spawn). */
        fprintf(f, "user root\n");
    }
    if (extra != NULL) {
        fputs(extra, f);
    }
    fclose(f);
    return kf_test_spawn(log_path, argv);
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
        kf_test_nap_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}
