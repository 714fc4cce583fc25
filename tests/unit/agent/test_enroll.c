/* test_enroll.c: enrollment as systemd sees it. The agent sends READY=1 only once enrolled,
 * and an enrollment may retry for a long time: it must keep extending systemd's start
 * timeout meanwhile. No broker answers here, so the enrollment only retries. */
#include <criterion/criterion.h>
#include "kf_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "core/config.h"
#include "core/enroll.h"

struct watch {
    int fd;
    int extends;
    int ticks; /* 50 ms each: give up after 15 s */
    char last[128];
    volatile int stop;
};

static void watch_cb(uv_timer_t *t)
{
    struct watch *w = t->data;
    char buf[128];
    ssize_t n;

    while ((n = recv(w->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
        buf[n] = '\0';
        if (strncmp(buf, "EXTEND_TIMEOUT_USEC=", 20) == 0) {
            w->extends++;
            snprintf(w->last, sizeof(w->last), "%s", buf);
        }
    }
    if (w->extends >= 2 || ++w->ticks >= 300) {
        w->stop = 1;
        uv_timer_stop(t);
    }
}

Test(enroll, extends_the_start_timeout_while_it_retries, .timeout = 60)
{
    static struct kf_agent_config cfg;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct watch w = {0};
    char dir[64], err[512];
    uv_loop_t loop;
    uv_timer_t t;
    int enrolled = 0, rc;

    kf_test_tmpdir("kf-test-enroll", dir, sizeof(dir));
    cr_assert_eq(kf_agent_config_defaults(&cfg), 0);
    snprintf(cfg.identity_dir, sizeof(cfg.identity_dir), "%s/identity", dir);
    cr_assert_eq(mkdir(cfg.identity_dir, 0700), 0);
    snprintf(cfg.enroll_token, sizeof(cfg.enroll_token),
             "KF1-ABCDEFGHIJ-AAAAAAAAAAAAAAAAAAAAAAAAAA");
    /* Nothing listens there: the link only retries. */
    snprintf(cfg.uri, sizeof(cfg.uri), "tcp://127.0.0.1:%d", kf_test_free_port());
    memset(cfg.server_pk, 7, sizeof(cfg.server_pk));

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
    w.fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    cr_assert_geq(w.fd, 0);
    cr_assert_eq(bind(w.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);

    cr_assert_eq(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &t);
    t.data = &w;
    uv_timer_start(&t, watch_cb, 50, 50);
    rc = kf_enroll_identity(&loop, &cfg, &w.stop, &enrolled, err, sizeof(err));
    unsetenv("NOTIFY_SOCKET");
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    close(w.fd);

    cr_assert_eq(rc, -EINTR, "enrollment ended with %d: %s", rc, err);
    cr_assert_eq(enrolled, 0);
    cr_assert_geq(w.extends, 2, "systemd heard %d extensions", w.extends);
    /* Three retry periods (10 s each) ahead: a retry is never the one that times out. */
    cr_assert_str_eq(w.last, "EXTEND_TIMEOUT_USEC=30000000");
    kf_test_rmtree(dir);
}
