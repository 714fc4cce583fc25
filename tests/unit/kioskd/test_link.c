/* test_link.c: kioskd's MQTT link (server/kioskd/link.c) on a real libuv loop against a real
 * mosquitto on a free loopback port. MQTTAsync_connect is wrapped (-Wl,--wrap) to count the
 * calls: once Paho has accepted a connect, its automatic reconnect owns every retry, and a
 * second MQTTAsync_connect from the loop thread would free and replace Paho's copies of the
 * connect options (TLS options, user name, password) without Paho's lock while a Paho thread
 * may be reading them for an attempt of its own: a use after free in Paho's threads. */
#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <uv.h>

#include <kf/mqtt.h>
#include <kf/time.h>

#include "kioskd/link.h"
#include "kf_test.h"

int __real_MQTTAsync_connect(MQTTAsync handle, const MQTTAsync_connectOptions *options);
int __wrap_MQTTAsync_connect(MQTTAsync handle, const MQTTAsync_connectOptions *options);

static atomic_int connect_calls;

int __wrap_MQTTAsync_connect(MQTTAsync handle, const MQTTAsync_connectOptions *options)
{
    atomic_fetch_add(&connect_calls, 1);
    return __real_MQTTAsync_connect(handle, options);
}

/* ---- the link on a loop, the broker started late ---- */

struct late {
    struct kf_link link;
    uv_timer_t tick;
    int port;
    char dir[64], conf[96], log[96];
    pid_t mosq;
    int64_t start_ms, broker_at_ms, deadline_ms;
    int ups, first_up, stopped, closed;
};

static void on_frames(struct kf_link *l, void *ud)
{
    (void)ud;
    kf_link_drop(l);
}

static void on_up(struct kf_link *l, int first, void *ud)
{
    struct late *t = ud;

    (void)l;
    t->ups++;
    t->first_up += first;
}

static void on_closed(struct kf_link *l)
{
    struct late *t = l->ud;

    t->closed = 1;
}

static void on_stopped(struct kf_link *l, void *ud)
{
    struct late *t = ud;

    t->stopped = 1;
    kf_link_close(l, on_closed);
}

static void on_tick(uv_timer_t *h)
{
    struct late *t = h->data;
    int64_t now = kf_test_mono_ms();

    if (t->mosq == 0 && now >= t->broker_at_ms) {
        t->mosq = kf_test_mosquitto_spawn(t->port, t->conf, t->log, NULL);
    }
    if (t->ups > 0 || now >= t->deadline_ms) {
        uv_timer_stop(h);
        uv_close((uv_handle_t *)h, NULL);
        kf_link_stop(&t->link);
    }
}

/* Nothing listens when the link starts: the first connect fails. The broker comes up 2.5 s
 * later; Paho's automatic reconnect alone brings the link up, and the loop never calls
 * MQTTAsync_connect a second time (a retry of its own would have, at 0.5 s and 1.5 s). */
Test(link, failed_first_connect_is_retried_by_paho_alone, .timeout = 60)
{
    static struct late t;
    struct kf_link_opts lo;
    struct kf_link_cbs cbs;
    char uri[64], client_id[64];
    uv_loop_t loop;

    memset(&t, 0, sizeof(t));
    kf_mqtt_global_init();
    t.port = kf_test_free_port();
    kf_test_tmpdir("kf-link", t.dir, sizeof(t.dir));
    snprintf(t.conf, sizeof(t.conf), "%s/broker.conf", t.dir);
    snprintf(t.log, sizeof(t.log), "%s/broker.log", t.dir);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", t.port);
    snprintf(client_id, sizeof(client_id), "kf-test-link-%d", (int)getpid());

    memset(&lo, 0, sizeof(lo));
    lo.uri = uri;
    lo.client_id = client_id;
    lo.keepalive_s = 10;
    lo.inbox_max = 64;
    lo.inbox_max_bytes = 1u << 20;
    memset(&cbs, 0, sizeof(cbs));
    cbs.frames_cb = on_frames;
    cbs.up_cb = on_up;
    cbs.stopped_cb = on_stopped;

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kf_link_init(&t.link, &loop, &lo, &cbs, &t), 0);
    uv_timer_init(&loop, &t.tick);
    t.tick.data = &t;
    t.start_ms = kf_test_mono_ms();
    t.broker_at_ms = t.start_ms + 2500;
    t.deadline_ms = t.start_ms + 40000;
    atomic_store(&connect_calls, 0);
    cr_assert_eq(kf_link_start(&t.link), 0);
    uv_timer_start(&t.tick, on_tick, 100, 100);
    uv_run(&loop, UV_RUN_DEFAULT);

    cr_assert_eq(uv_loop_close(&loop), 0);
    kf_test_stop(t.mosq, 10000);
    cr_assert(t.stopped && t.closed);
    cr_assert_eq(t.first_up, 1, "the link never came up (broker log: %s)", t.log);
    cr_assert_eq(atomic_load(&connect_calls), 1,
                 "MQTTAsync_connect called %d times: the loop retried beside Paho's automatic "
                 "reconnect",
                 atomic_load(&connect_calls));
    kf_test_rmtree(t.dir);
}
