/* kf-bare-sub: a subscriber that only counts. What broker + Paho drain with no server work.
 *
 *   kf-bare-sub --uri URI [--topic kf/v1/+/+] [--expect N] [--idle SECONDS]
 *               [--timeout SECONDS] [--clean 0|1] [--client-id ID] [--ready-file PATH]
 *
 * Subscribes at QoS 1 with the session settings kioskd uses by default (a persistent
 * session, cleansession 0, unless --clean 1), touches create the file --ready-file once the
 * subscription is granted, then counts messages (the callback frees Paho's copies and
 * returns) until --expect messages have arrived, or --idle seconds pass without one after
 * the first, or --timeout. Prints one JSON object: count, bytes, seconds from the first
 * message to the last, the drain rate, and this process's CPU time per message.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "bench_util.h"

static struct {
    _Atomic uint64_t count, bytes;
    _Atomic uint64_t first_ns, last_ns;
    _Atomic int state; /* 0 connecting, 1 subscribed, -1 failed */
    const char *topic;
    MQTTAsync client;
} g;

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    uint64_t now = mono_ns(), zero = 0;

    (void)ctx;
    (void)tlen;
    atomic_compare_exchange_strong(&g.first_ns, &zero, now);
    atomic_store(&g.last_ns, now);
    atomic_fetch_add(&g.bytes, (uint64_t)m->payloadlen);
    atomic_fetch_add(&g.count, 1);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void on_lost(void *ctx, char *cause)
{
    (void)ctx;
    fprintf(stderr, "kf-bare-sub: connection lost: %s\n", cause ? cause : "(no cause)");
    atomic_store(&g.state, -1);
}

static void on_subscribed(void *ctx, MQTTAsync_successData *resp)
{
    (void)ctx;
    (void)resp;
    atomic_store(&g.state, 1);
}

static void on_fail(void *ctx, MQTTAsync_failureData *resp)
{
    (void)ctx;
    fprintf(stderr, "kf-bare-sub: connect/subscribe failed: %d\n", resp ? resp->code : 0);
    atomic_store(&g.state, -1);
}

static void on_connect(void *ctx, MQTTAsync_successData *resp)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

    (void)ctx;
    (void)resp;
    ro.onSuccess = on_subscribed;
    ro.onFailure = on_fail;
    if (MQTTAsync_subscribe(g.client, g.topic, 1, &ro) != MQTTASYNC_SUCCESS)
        atomic_store(&g.state, -1);
}

static void usage(void)
{
    fprintf(stderr, "usage: kf-bare-sub --uri URI [--topic T] [--expect N] [--idle S] "
                    "[--timeout S] [--clean 0|1] [--client-id ID] [--ready-file PATH]\n");
}

int main(int argc, char **argv)
{
    const char *uri = NULL, *ready = NULL, *client_id = NULL;
    uint64_t expect = 0, clean = 0;
    double idle = 5, timeout = 600, t0, cpu0, secs;
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
    char idbuf[64];
    uint64_t n;
    int status = 0;

    g.topic = "kf/v1/+/+";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;

        if (ok && strcmp(a, "--uri") == 0)
            uri = v;
        else if (ok && strcmp(a, "--topic") == 0)
            g.topic = v;
        else if (ok && strcmp(a, "--client-id") == 0)
            client_id = v;
        else if (ok && strcmp(a, "--ready-file") == 0)
            ready = v;
        else if (ok && strcmp(a, "--expect") == 0)
            ok = kf_bench_parse_u64(v, 0, UINT64_MAX, &expect) == 0;
        else if (ok && strcmp(a, "--clean") == 0)
            ok = kf_bench_parse_u64(v, 0, 1, &clean) == 0;
        else if (ok && strcmp(a, "--idle") == 0)
            ok = kf_bench_parse_double(v, &idle) == 0;
        else if (ok && strcmp(a, "--timeout") == 0)
            ok = kf_bench_parse_double(v, &timeout) == 0;
        else
            ok = 0;
        if (!ok) {
            usage();
            return 2;
        }
        i++;
    }
    if (!uri) {
        usage();
        return 2;
    }
    if (!client_id) {
        snprintf(idbuf, sizeof(idbuf), "kf-bare-sub-%ld", (long)getpid());
        client_id = idbuf;
    }
    if (MQTTAsync_create(&g.client, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
            MQTTASYNC_SUCCESS ||
        MQTTAsync_setCallbacks(g.client, NULL, on_lost, on_message, NULL) != MQTTASYNC_SUCCESS)
        return 1;
    co.keepAliveInterval = 60;
    co.cleansession = (int)clean;
    co.onSuccess = on_connect;
    co.onFailure = on_fail;
    if (MQTTAsync_connect(g.client, &co) != MQTTASYNC_SUCCESS)
        return 1;
    t0 = kf_bench_now();
    while (atomic_load(&g.state) == 0 && kf_bench_now() - t0 < 10)
        usleep(5000);
    if (atomic_load(&g.state) != 1) {
        fprintf(stderr, "kf-bare-sub: not subscribed to %s on %s\n", g.topic, uri);
        return 1;
    }
    if (ready) {
        FILE *f = fopen(ready, "w");

        if (f)
            fclose(f);
    }
    cpu0 = kf_bench_process_cpu();
    for (;;) {
        double now = kf_bench_now();
        uint64_t last = atomic_load(&g.last_ns);

        n = atomic_load(&g.count);
        if (expect > 0 && n >= expect)
            break;
        if (last && (double)(mono_ns() - last) * 1e-9 > idle)
            break;
        if (now - t0 > timeout || atomic_load(&g.state) < 0) {
            status = 1;
            break;
        }
        usleep(2000);
    }
    n = atomic_load(&g.count);
    secs = (double)(atomic_load(&g.last_ns) - atomic_load(&g.first_ns)) * 1e-9;
    printf("{\"received\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"rate\":%.1f,"
           "\"cpu_us_per_msg\":%.2f}\n",
           (unsigned long long)n, (unsigned long long)atomic_load(&g.bytes), secs,
           secs > 0 ? (double)n / secs : 0.0,
           n ? (kf_bench_process_cpu() - cpu0) * 1e6 / (double)n : 0.0);
    fflush(stdout);
    if (expect > 0 && n < expect)
        status = 3;
    dopt.timeout = 1000;
    MQTTAsync_disconnect(g.client, &dopt);
    usleep(100000);
    MQTTAsync_destroy(&g.client);
    return status;
}
