/* test_agent_link.c: the link as a fleet sees it, against a real mosquitto: when the broker goes
 * away and comes straight back, the fleet's reconnects are spread over
 * [mqtt] reconnect_spread_ms rather than arriving as one storm. */
#include <criterion/criterion.h>
#include "kf_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include <kf/mqtt.h>

#include "core/link.h"

#define N_LINKS 20
#define SPREAD_MS 3000

static char tmpdir[64], conf[128], log_path[128];
static int port;

struct fleet {
    uv_loop_t loop;
    struct kf_agent_link *links[N_LINKS];
    int ups[N_LINKS];
    uint64_t up_ms[N_LINKS]; /* uv_now at the last up_cb */
    int closed;
};

struct member {
    struct fleet *f;
    int i;
};
static struct member members[N_LINKS];

static int no_will(void *ud, uint8_t *buf, size_t cap, size_t *ret_len)
{
    (void)ud;
    (void)buf;
    (void)cap;
    (void)ret_len;
    return -ENODATA;
}

static void up_cb(void *ud)
{
    struct member *m = ud;
    m->f->ups[m->i]++;
    m->f->up_ms[m->i] = uv_now(&m->f->loop);
}

static void down_cb(void *ud)
{
    (void)ud;
}

static void closed_cb(void *ud)
{
    ((struct fleet *)ud)->closed++;
}

/* Run the loop until every link has been up `want` times, or the deadline. */
static int run_until_up(struct fleet *f, int want, uint64_t max_ms)
{
    uint64_t end = uv_now(&f->loop) + max_ms;

    while (uv_now(&f->loop) < end) {
        int all = 1;
        for (int i = 0; i < N_LINKS; i++)
            all &= f->ups[i] >= want;
        if (all)
            return 1;
        uv_run(&f->loop, UV_RUN_NOWAIT);
        uv_sleep(5);
        uv_update_time(&f->loop);
    }
    return 0;
}

Test(agent_link, a_fleet_reconnects_spread_over_the_window, .timeout = 120)
{
    static struct fleet f;
    char id[32], sub[64];
    uint64_t first = UINT64_MAX, last = 0;
    pid_t broker;

    kf_mqtt_global_init();
    kf_test_tmpdir("kf-test-link", tmpdir, sizeof(tmpdir));
    port = kf_test_free_port();
    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", tmpdir);
    snprintf(log_path, sizeof(log_path), "%s/mosquitto.log", tmpdir);
    broker = kf_test_mosquitto_start(port, conf, log_path, NULL);
    cr_assert_eq(uv_loop_init(&f.loop), 0);
    for (int i = 0; i < N_LINKS; i++) {
        struct kf_agent_link_opts o;
        struct kf_agent_link_cbs cbs = {no_will, up_cb, down_cb, NULL};
        char uri[64];

        snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
        snprintf(id, sizeof(id), "KF-LINK-%02d", i);
        snprintf(sub, sizeof(sub), "kf/v1/%s/ack", id);
        memset(&o, 0, sizeof(o));
        o.uri = uri;
        o.client_id = id;
        o.will_topic = "kf/v1/x/state";
        o.sub_topic = sub;
        o.keepalive_s = 5;
        o.reconnect_min_ms = 50;
        o.reconnect_max_ms = 400;
        o.reconnect_spread_ms = SPREAD_MS;
        o.connect_timeout_s = 10;
        o.seed = (uint64_t)i + 1;
        members[i] = (struct member){&f, i};
        cr_assert_eq(kf_agent_link_new(&f.loop, &o, &cbs, &members[i], &f.links[i]), 0);
        cr_assert_eq(kf_agent_link_start(f.links[i]), 0);
    }
    cr_assert(run_until_up(&f, 1, 20000), "the fleet did not connect");

    /* The broker goes and comes straight back: every session is lost at the same moment. */
    cr_assert_eq(kf_test_stop(broker, 10000), 0);
    broker = kf_test_mosquitto_start(port, conf, log_path, NULL);
    cr_assert(run_until_up(&f, 2, 30000), "the fleet did not come back");
    for (int i = 0; i < N_LINKS; i++) {
        if (f.up_ms[i] < first)
            first = f.up_ms[i];
        if (f.up_ms[i] > last)
            last = f.up_ms[i];
    }
    /* 20 uniform draws over 3 s: their range is under 1.5 s with a chance below 1e-4. */
    cr_assert_geq(last - first, SPREAD_MS / 2,
                  "%d terminals reconnected within %llu ms of each other (spread %d ms)", N_LINKS,
                  (unsigned long long)(last - first), SPREAD_MS);
    cr_assert_leq(last - first, SPREAD_MS + 2000, "reconnects took %llu ms",
                  (unsigned long long)(last - first));

    for (int i = 0; i < N_LINKS; i++)
        kf_agent_link_close(f.links[i], 500, closed_cb, &f);
    while (f.closed < N_LINKS)
        uv_run(&f.loop, UV_RUN_ONCE);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&f.loop), 0);
    kf_test_stop(broker, 10000);
    kf_test_rmtree(tmpdir);
}
