/* kf_test_daemon.c: mosquitto and kioskd for the suites (see kf_test.h). The one way the
 * unit suites start a broker: a template, the caller's extra lines, a log file. */
#include "kf_test.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t kf_test_mosquitto_spawn(int port, const char *conf_path, const char *log_path,
                              const char *extra)
{
    FILE *f = fopen(conf_path, "w");
    char *argv[] = {KF_MOSQUITTO_BIN, "-c", (char *)conf_path, NULL};

    cr_assert(f != NULL, "%s: %s", conf_path, strerror(errno));
    fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n",
            port);
    if (getuid() == 0) {
        /* Not the user mosquitto: a change of user would clear the death signal (spawn). */
        fprintf(f, "user root\n");
    }
    if (extra != NULL) {
        fputs(extra, f);
    }
    cr_assert(fclose(f) == 0, "%s: %s", conf_path, strerror(errno));
    return kf_test_spawn(log_path, argv);
}

pid_t kf_test_mosquitto_start(int port, const char *conf_path, const char *log_path,
                              const char *extra)
{
    pid_t pid = kf_test_mosquitto_spawn(port, conf_path, log_path, extra);

    cr_assert(kf_test_wait_port(port, 10000), "mosquitto did not start on port %d (see %s)", port,
              log_path);
    return pid;
}

pid_t kf_test_kioskd_start(const char *conf_path, const char *log_path)
{
    char *argv[] = {KF_KIOSKD_BIN, "-c", (char *)conf_path, NULL};
    pid_t pid = kf_test_spawn(log_path, argv);
    int r = kf_test_wait_log(log_path, "ready: subscribed, serving", pid, 30000);

    if (r != 1) {
        kf_test_stop(pid, 5000);
    }
    cr_assert(r != -1, "kioskd exited before it was ready (see %s)", log_path);
    cr_assert(r == 1, "kioskd not ready after 30 s (see %s)", log_path);
    return pid;
}
