/* kf-loadgen: many simulated terminals, pre-signed, published as fast as allowed.
 *
 *   kf-loadgen --fleet DIR/fleet.csv --uri tcp://127.0.0.1:PORT [--devices N]
 *              [--per-device M] [--records R] [--start-seq S] [--conns C] [--inflight W]
 *              [--rate MSGS_PER_S] [--device-window K] [--wait-acks SECONDS]
 *              [--ack-idle SECONDS] [--resend-after SECONDS] [--watch-pid PID]...
 *              [--sign-threads T] [--seed X]
 *
 * Before the timed window: reads the fleet (kiosk-provision's fleet.csv and the key files
 * it names), builds M RECORDS frames per device (R realistic records each, contiguous seqs
 * from S, compressed with the v1 dictionary) and signs them all, on T threads. Then it opens
 * C MQTT connections (QoS 1), each publishing for its slice of the devices, one frame per
 * device a pass over the devices with something to publish, with at most W PUBACKs
 * outstanding per connection. The connections are libmosquitto clients driven from one
 * thread (pump()): the load shares the machine with the broker and kioskd, and Paho's two
 * threads per process, with a hand-off between them for every message, cost the load
 * generator about four times as much CPU per message (BENCHMARKS.md, "A lighter load
 * generator"). kioskd and the agent keep Paho.
 *
 * --wait-acks: also subscribe to kf/v1/+/ack (before publishing) and wait until the server
 * has acknowledged every device's last seq; the window then ends at the last ACK needed,
 * which kioskd publishes only after COMMIT (or, when some device is never fully acknowledged,
 * at the last ACK of any device, after --ack-idle seconds without one; default
 * 10). --device-window K (needs --wait-acks) lets a
 * device have at most K frames published and not yet acknowledged, as a real agent does
 * (its batch.inflight_max), so the load follows what the server commits instead of piling
 * up in the broker. --resend-after S (with --device-window): a device whose ACKs have not
 * moved for S seconds while it has frames out rewinds and publishes them again, as an
 * agent does after its ack timeout (a server with a full inbox drops frames unacknowledged);
 * the publishing then goes on until every device is acknowledged or --wait-acks runs out,
 * and "resent" counts the frames published again. --watch-pid: report the CPU time of that process
 * (kioskd, mosquitto) spent inside the window, read from /proc. Prints one JSON object on stdout.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <poll.h>
#include <sodium.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/keyfile.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "bench_util.h"

#define MAX_CONNS 64
#define MAX_WATCH 8

struct device {
    char id[KF_DEVICE_ID_MAX + 1];
    char key_path[1024];
    char topic[KF_TOPIC_MAX + 1];
    uint8_t sk[64];
    uint32_t conn;
    uint8_t **frames; /* M pointers into the connection's arena */
    uint16_t *lens;
    uint32_t next;      /* next frame to publish (publisher thread only) */
    uint32_t high;      /* frames published at least once (publisher thread only) */
    double out_since;   /* kf_bench_now of the last publish or rewind (publisher) */
    uint64_t acked_seq; /* highest HWM seen in an ACK */
    uint64_t ack_ns;    /* mono_ns of the last ACK that moved acked_seq */
    int queued;         /* in g.ready */
};

struct conn {
    struct mosquitto *client;
    uint32_t index;
    uint32_t *devs; /* indexes into g.devs */
    uint32_t ndevs;
    uint8_t *arena;
    size_t arena_len;
    int connected; /* 0 connecting, 1 up, -1 refused */
    uint32_t inflight;
    uint64_t completed;
};

static struct {
    struct device *devs;
    uint32_t ndevs;
    struct conn conns[MAX_CONNS];
    uint32_t nconns;
    uint64_t per_device, nrec, start_seq, inflight, device_window, seed;
    double rate, wait_acks, resend_after;
    /* ack watcher */
    struct mosquitto *ack_client;
    int ack_connected, ack_ready;
    uint64_t acks_received;
    uint32_t devices_done;
    uint64_t last_ack_ns; /* monotonic ns of the ACK that completed the last device */
    uint64_t progress_ns; /* monotonic ns of the last ACK of any device */
    double ack_idle;      /* give up after this long without progress */
    uint32_t *by_id;      /* device indexes sorted by id, for the ACK lookup */
    int lost, closing;
    /* The devices that may have a frame to publish, each at most once (device.queued): all
     * at the start, then those an ACK moved the mark of, a rewind, or a pass left with more
     * to publish (its connection full, the rate reached, one frame a device a pass). A pass
     * looks at these, not at the whole fleet: with --device-window and 20,000 devices,
     * scanning them all for the few an ACK had freed cost ~26 of the load generator's 90 us
     * per message (BENCHMARKS.md). */
    uint32_t *ready, nready;
} g;

static void ready_push(uint32_t i)
{
    if (g.devs[i].queued)
        return;
    g.devs[i].queued = 1;
    g.ready[g.nready++] = i;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- fleet ------------------------------------------------------------------------------ */

/* Copy the idx-th comma-separated field of line into out (cap). 0 or -EINVAL. */
static int csv_field(const char *line, int idx, char *out, size_t cap)
{
    const char *p = line, *e;
    size_t n;

    for (int i = 0; i < idx; i++) {
        p = strchr(p, ',');
        if (!p)
            return -EINVAL;
        p++;
    }
    e = p + strcspn(p, ",\r\n");
    n = (size_t)(e - p);
    if (n == 0 || n >= cap)
        return -EINVAL;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int load_fleet(const char *csv, uint64_t limit)
{
    char line[4096], dir[1024], rel[1024];
    const char *slash = strrchr(csv, '/');
    size_t cap = 256;
    FILE *f = fopen(csv, "r");
    int r = 0, len;

    if (!f)
        return -errno;
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - csv), csv);
    else
        snprintf(dir, sizeof(dir), ".");
    g.devs = calloc(cap, sizeof(*g.devs));
    if (!g.devs || !fgets(line, sizeof(line), f) || strncmp(line, "device_id,", 10) != 0) {
        r = -EBADMSG;
        goto out_close;
    }
    while (fgets(line, sizeof(line), f) && (limit == 0 || g.ndevs < limit)) {
        struct device *d;

        if (line[0] == '\n' || line[0] == '\0')
            continue;
        if (g.ndevs == cap) {
            struct device *n = realloc(g.devs, 2 * cap * sizeof(*g.devs));

            if (!n) {
                r = -ENOMEM;
                goto out_close;
            }
            memset(n + cap, 0, cap * sizeof(*n));
            g.devs = n;
            cap *= 2;
        }
        d = &g.devs[g.ndevs];
        if (csv_field(line, 0, d->id, sizeof(d->id)) < 0 || !kf_device_id_valid(d->id) ||
            csv_field(line, 4, rel, sizeof(rel)) < 0) {
            r = -EBADMSG;
            goto out_close;
        }
        len = rel[0] == '/' ? snprintf(d->key_path, sizeof(d->key_path), "%s", rel)
                            : snprintf(d->key_path, sizeof(d->key_path), "%s/%s", dir, rel);
        if (len < 0 || (size_t)len >= sizeof(d->key_path)) {
            r = -ENAMETOOLONG;
            goto out_close;
        }
        r = kf_keyfile_read(d->key_path, d->sk);
        if (r < 0) {
            fprintf(stderr, "kf-loadgen: %s: %s\n", d->key_path, strerror(-r));
            goto out_close;
        }
        g.ndevs++;
    }
    if (g.ndevs == 0)
        r = -ENOENT;
out_close:
    fclose(f);
    return r;
}

/* ---- pre-signing ------------------------------------------------------------------------ */

struct signer {
    pthread_t th;
    uint32_t first, step;
    int err;
};

static int sign_conn(struct conn *c, struct kf_zctx *z, char *body, size_t body_cap)
{
    size_t cap = (size_t)c->ndevs * g.per_device * 400 + 4096, len;
    struct kf_bench_term *terms = calloc(c->ndevs, sizeof(*terms));
    uint8_t frame[KF_ENV_MAX_BYTES];
    int64_t start_ms = kf_now_ms() - 3600000; /* an hour ago: inside every accepted window */
    int r = 0;

    c->arena = malloc(cap);
    if (!terms || !c->arena) {
        free(terms);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < c->ndevs; i++)
        kf_bench_term_init(&terms[i], g.seed * 1000003u + c->devs[i], start_ms);
    /* Offsets first (the arena may move while it grows); pointers fixed up at the end. */
    for (uint64_t m = 0; m < g.per_device; m++) {
        for (uint32_t i = 0; i < c->ndevs; i++) {
            struct device *d = &g.devs[c->devs[i]];
            uint64_t seq = g.start_seq + m * g.nrec;

            r = kf_bench_frame(&terms[i], z, d->id, seq, (uint32_t)g.nrec, d->sk, body, body_cap,
                               frame, sizeof(frame), &len, d->topic, NULL);
            if (r < 0)
                goto out;
            if (len > UINT16_MAX) {
                r = -EMSGSIZE;
                goto out;
            }
            if (c->arena_len + len > cap) {
                uint8_t *n = realloc(c->arena, cap * 2);

                if (!n) {
                    r = -ENOMEM;
                    goto out;
                }
                c->arena = n;
                cap *= 2;
            }
            memcpy(c->arena + c->arena_len, frame, len);
            d->frames[m] = (uint8_t *)(uintptr_t)c->arena_len;
            d->lens[m] = (uint16_t)len;
            c->arena_len += len;
        }
    }
    for (uint32_t i = 0; i < c->ndevs; i++) {
        struct device *d = &g.devs[c->devs[i]];

        for (uint64_t m = 0; m < g.per_device; m++)
            d->frames[m] = c->arena + (uintptr_t)d->frames[m];
        sodium_memzero(d->sk, sizeof(d->sk));
    }
out:
    free(terms);
    return r;
}

static void *signer_main(void *arg)
{
    struct signer *s = arg;
    struct kf_zctx *z = NULL;
    size_t body_cap = 64 * 1024;
    char *body = malloc(body_cap);

    s->err = body ? kf_zctx_new(3, &z) : -ENOMEM;
    for (uint32_t c = s->first; s->err == 0 && c < g.nconns; c += s->step)
        s->err = sign_conn(&g.conns[c], z, body, body_cap);
    kf_zctx_free(z);
    free(body);
    return NULL;
}

/* ---- MQTT ------------------------------------------------------------------------------- */

/* Every callback below runs inside pump(), on the one thread that also publishes. */
static uint64_t g_events; /* callbacks run: tells pump() a read found a whole packet */

static int cmp_by_id(const void *a, const void *b)
{
    return strcmp(g.devs[*(const uint32_t *)a].id, g.devs[*(const uint32_t *)b].id);
}

static struct device *find_device(const char *id)
{
    uint32_t lo = 0, hi = g.ndevs;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g.devs[g.by_id[mid]].id, id);

        if (c == 0)
            return &g.devs[g.by_id[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ACKs: only the device id (from the topic) and the HWM are read; signatures are the
 * agent's business, not the benchmark's. */
static void on_ack(struct mosquitto *m, void *ctx, const struct mosquitto_message *msg)
{
    char dev[KF_DEVICE_ID_MAX + 1];
    enum kf_topic_kind kind;
    struct kf_env_view v;
    struct device *d;
    uint64_t last = g.start_seq + g.per_device * g.nrec - 1, prev, now;

    (void)m;
    (void)ctx;
    g_events++;
    g.acks_received++;
    if (kf_topic_parse(msg->topic, dev, sizeof(dev), &kind) < 0 || kind != KF_TOPIC_ACK ||
        kf_env_parse(msg->payload, (size_t)msg->payloadlen, &v) < 0 || v.hdr.kind != KF_MSG_ACK ||
        (d = find_device(dev)) == NULL)
        return;
    now = mono_ns();
    prev = d->acked_seq;
    if (v.hdr.seq > prev) {
        d->acked_seq = v.hdr.seq;
        d->ack_ns = now;
        ready_push((uint32_t)(d - g.devs));
    }
    /* Every ACK follows a COMMIT that touched the device, even one that stored frames
     * past a gap and so could not move its HWM. */
    g.progress_ns = now;
    if (prev < last && v.hdr.seq >= last) {
        g.last_ack_ns = now;
        g.devices_done++;
    }
}

/* ctx: the publishing connection, or &g for the ACK listener (libmosquitto replaces a NULL
 * one with the client itself). */
static void on_connect(struct mosquitto *m, void *ctx, int rc)
{
    struct conn *c = ctx == (void *)&g ? NULL : ctx;

    g_events++;
    if (rc != 0)
        fprintf(stderr, "kf-loadgen: connect refused: %s\n", mosquitto_connack_string(rc));
    if (c) {
        c->connected = rc == 0 ? 1 : -1;
        return;
    }
    g.ack_connected = rc == 0 ? 1 : -1;
    if (rc == 0 && mosquitto_subscribe(m, NULL, "kf/v1/+/ack", 1) != MOSQ_ERR_SUCCESS)
        g.ack_ready = -1;
}

static void on_subscribed(struct mosquitto *m, void *ctx, int mid, int n, const int *granted)
{
    (void)m;
    (void)ctx;
    (void)mid;
    g_events++;
    g.ack_ready = n == 1 && granted[0] <= 2 ? 1 : -1;
}

static void on_disconnect(struct mosquitto *m, void *ctx, int rc)
{
    (void)m;
    (void)ctx;
    g_events++;
    if (rc != 0 && !g.closing) {
        fprintf(stderr, "kf-loadgen: connection lost: %s\n", mosquitto_strerror(rc));
        g.lost = 1;
    }
}

static void on_published(struct mosquitto *m, void *ctx, int mid)
{
    struct conn *c = ctx;

    (void)m;
    (void)mid;
    g_events++;
    c->inflight--;
    c->completed++;
}

/* A client on host:port from a tcp://HOST:PORT uri, its callbacks set, connecting: CONNACK
 * arrives through pump(). NULL on failure (printed). */
static struct mosquitto *client_new(const char *uri, const char *id, void *ctx)
{
    char host[256];
    const char *colon;
    uint64_t port;
    struct mosquitto *m;
    size_t hl;
    int rc;

    if (strncmp(uri, "tcp://", 6) != 0 || !(colon = strrchr(uri + 6, ':')) ||
        (hl = (size_t)(colon - uri - 6)) == 0 || hl >= sizeof(host) ||
        kf_bench_parse_u64(colon + 1, 1, 65535, &port) < 0) {
        fprintf(stderr, "kf-loadgen: %s: not tcp://HOST:PORT\n", uri);
        return NULL;
    }
    memcpy(host, uri + 6, hl);
    host[hl] = '\0';
    m = mosquitto_new(id, true, ctx);
    if (!m)
        return NULL;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    /* Above the publisher's own limit: libmosquitto never holds a publish back. */
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)g.inflight + 1);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_disconnect_callback_set(m, on_disconnect);
    mosquitto_publish_callback_set(m, on_published);
    mosquitto_subscribe_callback_set(m, on_subscribed);
    mosquitto_message_callback_set(m, on_ack);
    rc = mosquitto_connect(m, host, (int)port, 60);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "kf-loadgen: connect %s: %s\n", uri, mosquitto_strerror(rc));
        mosquitto_destroy(m);
        return NULL;
    }
    return m;
}

/* Every client, once: wait up to timeout_ms for one to have something to read, then read
 * all that has arrived (PUBACKs, ACKs, CONNACKs), write what is queued, and keep the
 * connections alive. The load generator's only thread does this between passes, so its
 * callbacks need no locks and nothing crosses threads per message. */
static void pump(int timeout_ms)
{
    struct pollfd pfd[MAX_CONNS + 1];
    struct mosquitto *m[MAX_CONNS + 1];
    static double last_misc;
    double now;
    nfds_t n = 0;

    for (uint32_t c = 0; c <= g.nconns; c++) {
        struct mosquitto *x = c < g.nconns ? g.conns[c].client : g.ack_client;
        int fd = x ? mosquitto_socket(x) : -1;

        if (fd < 0)
            continue;
        pfd[n].fd = fd;
        pfd[n].events = (short)(POLLIN | (mosquitto_want_write(x) ? POLLOUT : 0));
        pfd[n].revents = 0;
        m[n++] = x;
    }
    if (poll(pfd, n, timeout_ms) < 0 && errno != EINTR) {
        g.lost = 1;
        return;
    }
    for (nfds_t i = 0; i < n; i++) {
        int rc = MOSQ_ERR_SUCCESS;

        /* mosquitto_loop_read stops after one packet when errno already says EAGAIN, and
         * after one in any case on a client with nothing of QoS > 0 in flight (the ACK
         * listener): read until a call runs no callback. */
        for (int k = 0; rc == MOSQ_ERR_SUCCESS && (pfd[i].revents & ~POLLOUT) && k < 4096; k++) {
            uint64_t seen = g_events;

            errno = 0;
            rc = mosquitto_loop_read(m[i], 1);
            if (g_events == seen)
                break;
        }
        if (rc == MOSQ_ERR_SUCCESS && (pfd[i].revents & POLLOUT))
            rc = mosquitto_loop_write(m[i], 1);
        if (rc != MOSQ_ERR_SUCCESS && !g.closing) {
            fprintf(stderr, "kf-loadgen: connection: %s\n", mosquitto_strerror(rc));
            g.lost = 1;
        }
    }
    now = kf_bench_now();
    if (now - last_misc >= 1) {
        last_misc = now;
        for (nfds_t i = 0; i < n; i++)
            mosquitto_loop_misc(m[i]);
    }
}

/* Publish d's next frame on c: 1 published, -1 failed for good (g.lost set). */
static int publish_next(struct conn *c, struct device *d)
{
    int rc = mosquitto_publish(c->client, NULL, d->topic, d->lens[d->next], d->frames[d->next], 1,
                               false);

    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "kf-loadgen: publish: %s\n", mosquitto_strerror(rc));
        g.lost = 1;
        return -1;
    }
    c->inflight++;
    return 1;
}

/* The frames of d its server has acknowledged (its mark, in frames). */
static uint32_t frames_acked(struct device *d)
{
    uint64_t acked = d->acked_seq;

    return acked >= g.start_seq ? (uint32_t)((acked - g.start_seq + 1) / g.nrec) : 0;
}

/* After d's next frame went out (publisher thread). */
static void published(struct device *d, double now, uint64_t *sent, uint64_t *first_sent)
{
    d->next++;
    if (d->next > d->high) {
        d->high = d->next;
        (*first_sent)++;
    }
    d->out_since = now;
    (*sent)++;
}

/* ---- /proc ------------------------------------------------------------------------------ */

static double proc_cpu_s(long pid)
{
    char path[64], buf[4096], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* comm may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- main ------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: kf-loadgen --fleet FLEET.csv --uri URI [--devices N] [--per-device M]\n"
            "       [--records R] [--start-seq S] [--conns C] [--inflight W] [--rate MSGS_S]\n"
            "       [--device-window K] [--wait-acks SECONDS] [--ack-idle SECONDS]\n"
            "       [--resend-after SECONDS] [--watch-pid PID]...\n"
            "       [--sign-threads T] [--seed X]\n");
}

int main(int argc, char **argv)
{
    const char *fleet = NULL, *uri = NULL;
    uint64_t ndev_limit = 0, sign_threads = 2, v;
    long watch[MAX_WATCH];
    double watch_cpu0[MAX_WATCH], cpu0, t_sign0, t_sign, t0, t_pub_end = 0, t_end, window_s;
    uint64_t total, sent = 0, first_sent = 0, resent = 0, total_bytes = 0, acked_frames = 0;
    uint32_t *work = NULL;
    double last_scan = 0;
    struct signer signers[16];
    char id[128];
    int nwatch = 0, rc, status = 0;

    g.per_device = 100;
    g.nrec = 4;
    g.start_seq = 1;
    g.nconns = 8;
    g.inflight = 1000;
    g.seed = 1;
    g.ack_idle = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = val != NULL;

        if (ok && strcmp(a, "--fleet") == 0)
            fleet = val;
        else if (ok && strcmp(a, "--uri") == 0)
            uri = val;
        else if (ok && strcmp(a, "--devices") == 0)
            ok = kf_bench_parse_u64(val, 0, 10000000, &ndev_limit) == 0;
        else if (ok && strcmp(a, "--per-device") == 0)
            ok = kf_bench_parse_u64(val, 1, 10000000, &g.per_device) == 0;
        else if (ok && strcmp(a, "--records") == 0)
            ok = kf_bench_parse_u64(val, 1, KF_ENV_MAX_RECORDS, &g.nrec) == 0;
        else if (ok && strcmp(a, "--start-seq") == 0)
            ok = kf_bench_parse_u64(val, 1, UINT64_MAX / 2, &g.start_seq) == 0;
        else if (ok && strcmp(a, "--conns") == 0) {
            ok = kf_bench_parse_u64(val, 1, MAX_CONNS, &v) == 0;
            g.nconns = (uint32_t)v;
        } else if (ok && strcmp(a, "--inflight") == 0)
            ok = kf_bench_parse_u64(val, 1, 65000, &g.inflight) == 0;
        else if (ok && strcmp(a, "--rate") == 0)
            ok = kf_bench_parse_double(val, &g.rate) == 0;
        else if (ok && strcmp(a, "--device-window") == 0)
            ok = kf_bench_parse_u64(val, 0, 1000000, &g.device_window) == 0;
        else if (ok && strcmp(a, "--wait-acks") == 0)
            ok = kf_bench_parse_double(val, &g.wait_acks) == 0;
        else if (ok && strcmp(a, "--ack-idle") == 0)
            ok = kf_bench_parse_double(val, &g.ack_idle) == 0;
        else if (ok && strcmp(a, "--resend-after") == 0)
            ok = kf_bench_parse_double(val, &g.resend_after) == 0;
        else if (ok && strcmp(a, "--sign-threads") == 0)
            ok = kf_bench_parse_u64(val, 1, 16, &sign_threads) == 0;
        else if (ok && strcmp(a, "--seed") == 0)
            ok = kf_bench_parse_u64(val, 0, UINT64_MAX, &g.seed) == 0;
        else if (ok && strcmp(a, "--watch-pid") == 0 && nwatch < MAX_WATCH) {
            ok = kf_bench_parse_u64(val, 1, 1u << 30, &v) == 0;
            watch[nwatch++] = (long)v;
        } else
            ok = 0;
        if (!ok) {
            usage();
            return 2;
        }
        i++;
    }
    if (!fleet || !uri || (g.device_window > 0 && g.wait_acks <= 0)) {
        usage();
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    mosquitto_lib_init();

    rc = load_fleet(fleet, ndev_limit);
    if (rc < 0) {
        fprintf(stderr, "kf-loadgen: %s: %s\n", fleet, strerror(-rc));
        return 1;
    }
    if (g.nconns > g.ndevs)
        g.nconns = g.ndevs;
    g.by_id = calloc(g.ndevs, sizeof(*g.by_id));
    for (uint32_t c = 0; c < g.nconns; c++) {
        g.conns[c].index = c;
        g.conns[c].devs = calloc(g.ndevs / g.nconns + 1, sizeof(uint32_t));
        if (!g.conns[c].devs)
            return 1;
    }
    for (uint32_t i = 0; i < g.ndevs; i++) {
        struct device *d = &g.devs[i];
        struct conn *c = &g.conns[i % g.nconns];

        d->conn = i % g.nconns;
        d->frames = calloc(g.per_device, sizeof(*d->frames));
        d->lens = calloc(g.per_device, sizeof(*d->lens));
        if (!d->frames || !d->lens || !g.by_id)
            return 1;
        c->devs[c->ndevs++] = i;
        g.by_id[i] = i;
    }
    qsort(g.by_id, g.ndevs, sizeof(*g.by_id), cmp_by_id);
    /* Every device starts with frames to publish. */
    g.ready = calloc(g.ndevs, sizeof(*g.ready));
    work = calloc(g.ndevs, sizeof(*work));
    if (!g.ready || !work)
        return 1;
    for (uint32_t i = 0; i < g.ndevs; i++)
        ready_push(i);

    /* Everything signed before the clock starts. */
    t_sign0 = kf_bench_now();
    if (sign_threads > g.nconns)
        sign_threads = g.nconns;
    for (uint32_t t = 0; t < sign_threads; t++) {
        signers[t].first = t;
        signers[t].step = (uint32_t)sign_threads;
        if (pthread_create(&signers[t].th, NULL, signer_main, &signers[t]) != 0)
            return 1;
    }
    for (uint32_t t = 0; t < sign_threads; t++) {
        pthread_join(signers[t].th, NULL);
        if (signers[t].err < 0) {
            fprintf(stderr, "kf-loadgen: signing: %s\n", strerror(-signers[t].err));
            return 1;
        }
    }
    t_sign = kf_bench_now() - t_sign0;
    total = (uint64_t)g.ndevs * g.per_device;
    for (uint32_t c = 0; c < g.nconns; c++)
        total_bytes += g.conns[c].arena_len;
    fprintf(stderr,
            "kf-loadgen: %u devices x %llu frames x %llu records signed in %.2f s "
            "(%.0f B/frame)\n",
            g.ndevs, (unsigned long long)g.per_device, (unsigned long long)g.nrec, t_sign,
            (double)total_bytes / (double)total);

    /* Connect everything. */
    if (g.wait_acks > 0) {
        snprintf(id, sizeof(id), "kf-loadgen-%ld-acks", (long)getpid());
        g.ack_client = client_new(uri, id, &g);
        if (!g.ack_client)
            return 1;
    }
    for (uint32_t c = 0; c < g.nconns; c++) {
        snprintf(id, sizeof(id), "kf-loadgen-%ld-%u", (long)getpid(), c);
        g.conns[c].client = client_new(uri, id, &g.conns[c]);
        if (!g.conns[c].client)
            return 1;
    }
    for (double until = kf_bench_now() + 10;;) {
        uint32_t up = 0;
        int bad = g.lost || g.ack_connected < 0 || g.ack_ready < 0;

        for (uint32_t c = 0; c < g.nconns; c++) {
            up += g.conns[c].connected == 1;
            bad |= g.conns[c].connected < 0;
        }
        if (up == g.nconns && (g.wait_acks <= 0 || g.ack_ready == 1))
            break;
        if (bad || kf_bench_now() > until) {
            fprintf(stderr, "kf-loadgen: cannot connect/subscribe to %s\n", uri);
            return 1;
        }
        pump(1);
    }

    /* The timed window. */
    for (int w = 0; w < nwatch; w++)
        watch_cpu0[w] = proc_cpu_s(watch[w]);
    cpu0 = kf_bench_process_cpu();
    t0 = kf_bench_now();
    for (;;) {
        uint64_t progress = 0;
        uint32_t *t, n;
        int resending = g.resend_after > 0 && g.device_window > 0;
        double now = kf_bench_now(); /* one clock read a pass, not one per device */

        if (g.lost)
            break;
        if (first_sent >= total &&
            (!resending || g.devices_done >= g.ndevs || now > t0 + g.wait_acks))
            break;

        /* The agent's ack timeout: nothing acknowledged for a while, so rewind. Looked for
         * ten times a second, not on every pass. */
        if (resending && now - last_scan >= 0.1) {
            last_scan = now;
            for (uint32_t i = 0; i < g.ndevs; i++) {
                struct device *d = &g.devs[i];
                uint32_t acked_frames_d = frames_acked(d);
                double moved = (double)d->ack_ns * 1e-9;

                if (d->next > acked_frames_d &&
                    now - (moved > d->out_since ? moved : d->out_since) > g.resend_after) {
                    resent += d->next - acked_frames_d;
                    d->next = acked_frames_d;
                    d->out_since = now;
                    ready_push(i);
                }
            }
        }
        t = g.ready;
        g.ready = work;
        work = t;
        n = g.nready;
        g.nready = 0;
        for (uint32_t k = 0; k < n; k++) {
            struct device *d = &g.devs[work[k]];
            struct conn *c = &g.conns[d->conn];
            uint64_t limit = g.per_device, acked_frames_d;
            int r = 0;

            if (g.rate > 0 && (double)sent >= g.rate * (kf_bench_now() - t0) + 1) {
                /* The rate is reached: the rest wait for a later pass, still queued. */
                memcpy(g.ready + g.nready, work + k, (n - k) * sizeof(*work));
                g.nready += n - k;
                break;
            }
            d->queued = 0;
            acked_frames_d = frames_acked(d);
            if (g.device_window > 0 && acked_frames_d + g.device_window < limit)
                limit = acked_frames_d + g.device_window;
            if (d->next >= limit)
                continue;
            /* One frame per device a pass: the devices' frames interleave, as an
             * agent's would. */
            if (!g.lost && c->inflight < g.inflight)
                r = publish_next(c, d);
            if (r > 0) {
                published(d, now, &sent, &first_sent);
                progress++;
            }
            if (d->next < limit)
                ready_push(work[k]); /* more to publish, or no room now: next pass */
        }
        /* PUBACKs and ACKs in, queued bytes out; a pass that published nothing waits
         * for one. */
        pump(progress ? 0 : 1);
    }
    /* Wait for the broker's PUBACKs. */
    for (;;) {
        uint64_t done = 0;

        for (uint32_t c = 0; c < g.nconns; c++)
            done += g.conns[c].completed;
        if (done >= sent || g.lost) {
            t_pub_end = kf_bench_now();
            break;
        }
        pump(1);
    }
    t_end = t_pub_end;
    if (g.wait_acks > 0) {
        double until = t_pub_end + g.wait_acks;

        while (g.devices_done < g.ndevs && kf_bench_now() < until && !g.lost) {
            double last = (double)g.progress_ns * 1e-9;

            /* Frames the server dropped (its inbox full) are never acknowledged: stop
             * waiting once nothing has moved for a while. */
            if (kf_bench_now() - (last > t_pub_end ? last : t_pub_end) > g.ack_idle)
                break;
            pump(1);
        }
        if (g.devices_done == g.ndevs)
            t_end = (double)g.last_ack_ns * 1e-9;
        else /* up to the last ACK */
            t_end = (double)g.progress_ns * 1e-9;
        if (t_end <= t0)
            t_end = kf_bench_now();
        for (uint32_t i = 0; i < g.ndevs; i++) {
            uint64_t a = g.devs[i].acked_seq;

            acked_frames += a >= g.start_seq ? (a - g.start_seq + 1) / g.nrec : 0;
        }
    }
    window_s = t_end - t0;

    printf("{\"devices\":%u,\"frames\":%llu,\"published\":%llu,\"records\":%llu,"
           "\"bytes\":%llu,\"conns\":%u,"
           "\"inflight\":%llu,\"rate_limit\":%.0f,\"device_window\":%llu,\"presign_s\":%.3f,"
           "\"publish_s\":%.3f,\"publish_rate\":%.1f,\"loadgen_cpu_s\":%.3f",
           g.ndevs, (unsigned long long)first_sent, (unsigned long long)sent,
           (unsigned long long)(first_sent * g.nrec), (unsigned long long)total_bytes, g.nconns,
           (unsigned long long)g.inflight, g.rate, (unsigned long long)g.device_window, t_sign,
           t_pub_end - t0, (double)sent / (t_pub_end - t0), kf_bench_process_cpu() - cpu0);
    if (g.wait_acks > 0)
        printf(",\"acks_received\":%llu,\"devices_acked\":%u,\"acked_frames\":%llu,"
               "\"commit_s\":%.3f,\"commit_rate\":%.1f,\"commit_records_rate\":%.1f",
               (unsigned long long)g.acks_received, g.devices_done,
               (unsigned long long)acked_frames, window_s, (double)acked_frames / window_s,
               (double)(acked_frames * g.nrec) / window_s);
    if (g.resend_after > 0)
        printf(",\"resent\":%llu", (unsigned long long)resent);
    printf(",\"watch\":[");
    for (int w = 0; w < nwatch; w++)
        printf("%s{\"pid\":%ld,\"cpu_s\":%.2f}", w ? "," : "", watch[w],
               proc_cpu_s(watch[w]) - watch_cpu0[w]);
    printf("]}\n");
    fflush(stdout);

    if (g.lost || first_sent < total)
        status = 1;
    if (g.wait_acks > 0 && g.devices_done < g.ndevs) {
        fprintf(stderr, "kf-loadgen: only %u of %u devices fully acknowledged\n", g.devices_done,
                g.ndevs);
        status = 3;
    }
    /* DISCONNECT goes out as it is queued (no loop thread), after any bytes still queued. */
    g.closing = 1;
    for (uint32_t c = 0; c <= g.nconns; c++) {
        struct mosquitto *m = c < g.nconns ? g.conns[c].client : g.ack_client;

        if (m)
            mosquitto_disconnect(m);
    }
    for (int i = 0; i < 10; i++)
        pump(10);
    for (uint32_t c = 0; c < g.nconns; c++) {
        mosquitto_destroy(g.conns[c].client);
        free(g.conns[c].arena);
        free(g.conns[c].devs);
    }
    if (g.ack_client)
        mosquitto_destroy(g.ack_client);
    mosquitto_lib_cleanup();
    for (uint32_t i = 0; i < g.ndevs; i++) {
        free(g.devs[i].frames);
        free(g.devs[i].lens);
    }
    free(g.devs);
    free(g.by_id);
    free(g.ready);
    free(work);
    return status;
}
