/* link.c: Paho async client -> inbox -> uv_async. Paho threads copy and hand off only. */
#include "kioskd/link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/brokerpw.h>
#include <kf/envelope.h>
#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

enum {
    KF__LINK_EV_SUBSCRIBED = 0x01,
    KF__LINK_EV_SUB_FAILED = 0x02,
    KF__LINK_EV_LOST = 0x08,
    KF__LINK_EV_DISCONNECTED = 0x10,
};

#define KF__LINK_RETRY_MIN_MS 500u
#define KF__LINK_RETRY_MAX_MS 30000u

/* Device -> server topics, exactly what the broker's ACL lets the server read. Not
 * "kf/v1/+/+": that would bring our own acks back to us. */
static char *const link_topics[] = {"kf/v1/+/hello", "kf/v1/+/telemetry", "kf/v1/+/events",
                                    "kf/v1/+/state", "kf/v1/+/enroll",    "kf/v1/+/blob"};
#define KF__LINK_NTOPICS ((int)(sizeof(link_topics) / sizeof(link_topics[0])))

/* Paho thread: record events and wake the loop. */
static void link_post(struct kf_link *l, unsigned ev)
{
    pthread_mutex_lock(&l->mu);
    l->events |= ev;
    pthread_mutex_unlock(&l->mu);
    uv_async_send(&l->async);
}

static void link_on_subscribe(void *ctx, MQTTAsync_successData *resp)
{
    (void)resp;
    link_post(ctx, KF__LINK_EV_SUBSCRIBED);
}

static void link_on_subscribe_failure(void *ctx, MQTTAsync_failureData *resp)
{
    kf_warn("mqtt: subscribe failed: %s", resp != NULL && resp->message ? resp->message : "?");
    link_post(ctx, KF__LINK_EV_SUB_FAILED);
}

/* Paho thread, after every successful (re)connect. Paho API calls other than create/destroy
 * are allowed here; subscribing at once means no window without a subscription. */
static void link_on_connected(void *ctx, char *cause)
{
    struct kf_link *l = ctx;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int qos[KF__LINK_NTOPICS];
    int rc;

    kf_info("mqtt: connected to %s (%s)", l->opts.uri, cause != NULL ? cause : "connect");
    pthread_mutex_lock(&l->mu);
    l->ctr.connects++;
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < KF__LINK_NTOPICS; i++) {
        qos[i] = 1;
    }
    ro.onSuccess = link_on_subscribe;
    ro.onFailure = link_on_subscribe_failure;
    ro.context = l;
    rc = MQTTAsync_subscribeMany(l->client, KF__LINK_NTOPICS, link_topics, qos, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        kf_warn("mqtt: subscribe: %s", kf_strerror(kf_err_from_paho(rc)));
        link_post(l, KF__LINK_EV_SUB_FAILED);
    }
}

/* Paho thread. Only logged: Paho's automatic reconnect retries (link.h). */
static void link_on_connect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    struct kf_link *l = ctx;

    kf_warn("mqtt: connect to %s failed: %s", l->opts.uri,
            resp != NULL && resp->message != NULL ? resp->message
            : resp != NULL                        ? kf_strerror(kf_err_from_paho(resp->code))
                                                  : "?");
}

static void link_on_lost(void *ctx, char *cause)
{
    struct kf_link *l = ctx;

    kf_warn("mqtt: connection lost: %s (reconnecting)",
            cause != NULL ? cause : "closed by the broker or the network");
    pthread_mutex_lock(&l->mu);
    l->ctr.lost++;
    pthread_mutex_unlock(&l->mu);
    link_post(l, KF__LINK_EV_LOST);
}

static void link_on_disconnect(void *ctx, MQTTAsync_successData *resp)
{
    (void)resp;
    link_post(ctx, KF__LINK_EV_DISCONNECTED);
}

static void link_on_disconnect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    (void)resp;
    link_post(ctx, KF__LINK_EV_DISCONNECTED);
}

/* Paho thread. Copy, hand off, free Paho's copies, return 1. Always 1: returning 0 is not
 * backpressure in Paho (it has already PUBACKed, and it parks the message on its own
 * unbounded queue). A frame that does not fit the inbox is dropped and counted instead:
 * it was never acknowledged, so its device sends it again after its ack timeout. */
static int link_on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct kf_link *l = ctx;
    struct kf_frame *f = NULL;
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    size_t plen = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
    int full;

    if (plen > KF_ENV_MAX_BYTES || tlen == 0 || tlen > KF_TOPIC_MAX ||
        memchr(topic, '\0', tlen) != NULL) {
        /* Dropped here, counted by reason; the owner persists the counts. */
        pthread_mutex_lock(&l->mu);
        if (plen > KF_ENV_MAX_BYTES) {
            l->ctr.oversize++;
        } else {
            l->ctr.malformed++;
        }
        pthread_mutex_unlock(&l->mu);
        goto out_free;
    }

    f = malloc(sizeof(*f) + tlen + 1 + plen);
    if (f == NULL) {
        pthread_mutex_lock(&l->mu);
        l->ctr.dropped_nomem++;
        pthread_mutex_unlock(&l->mu);
        goto out_free;
    }
    f->next = NULL;
    f->topic = (char *)(f + 1);
    memcpy(f->topic, topic, tlen);
    f->topic[tlen] = '\0';
    f->payload = (uint8_t *)f->topic + tlen + 1;
    if (plen > 0) {
        memcpy(f->payload, m->payload, plen);
    }
    f->len = plen;
    f->cost = sizeof(*f) + tlen + 1 + plen;
    f->quarantine_id = 0;
    f->recv_ms = kf_now_ms();
    f->recv_mono_us = kf_mono_us();
    f->parked = 0;

    /* One lock per message: the bounds are checked where the frame is appended. */
    pthread_mutex_lock(&l->mu);
    full = l->held >= l->opts.inbox_max || l->held_bytes + f->cost > l->opts.inbox_max_bytes;
    if (full) {
        l->ctr.dropped_full++;
    } else {
        *l->tail = f;
        l->tail = &f->next;
        l->held++;
        l->held_bytes += f->cost;
        l->ctr.received++;
    }
    pthread_mutex_unlock(&l->mu);
    if (full) {
        free(f);
    } else {
        uv_async_send(&l->async);
    }

out_free:
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

/* Paho thread: OpenSSL's reasons for a failed handshake (unknown CA, expired certificate).
 * Without this callback Paho prints them raw on stderr. */
static int link_on_ssl_error(const char *str, size_t len, void *u)
{
    (void)u;
    kf_warn("mqtt: tls: %.*s", (int)(len > 0 && str[len - 1] == '\n' ? len - 1 : len), str);
    return 1;
}

static int link_connect(struct kf_link *l)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_SSLOptions so = MQTTAsync_SSLOptions_initializer;
    int rc;

    co.keepAliveInterval = l->opts.keepalive_s;
    co.cleansession = 0; /* the broker keeps our subscriptions and queues while we are down */
    co.automaticReconnect = 1;
    co.minRetryInterval = 1;
    co.maxRetryInterval = 30;
    co.connectTimeout = 10;
    co.onFailure = link_on_connect_failure;
    co.context = l;
    if (l->opts.username != NULL && l->opts.username[0] != '\0') {
        co.username = l->opts.username;
    }
    if (l->opts.password != NULL && l->opts.password[0] != '\0') {
        co.password = l->opts.password; /* Paho copies it, and reuses it to reconnect */
    }
    if (kf_brokerpw_uri_tls(l->opts.uri)) {
        /* Server authentication: we check the broker's certificate and name; the broker
         * checks our password. TLS 1.2 as the minimum is the broker's to enforce. */
        so.trustStore =
            l->opts.ca_file != NULL && l->opts.ca_file[0] != '\0' ? l->opts.ca_file : NULL;
        so.enableServerCertAuth = 1;
        so.verify = 1;
        so.ssl_error_cb = link_on_ssl_error;
        co.ssl = &so;
    }
    rc = MQTTAsync_connect(l->client, &co);
    if (rc == MQTTASYNC_SUCCESS) {
        l->connect_accepted = 1;
    }
    return kf_err_from_paho(rc);
}

static void link_on_timer(uv_timer_t *t);

static void link_schedule_retry(struct kf_link *l)
{
    unsigned delay = l->retry_ms;

    l->retry_ms = l->retry_ms * 2 > KF__LINK_RETRY_MAX_MS ? KF__LINK_RETRY_MAX_MS : l->retry_ms * 2;
    uv_timer_start(&l->timer, link_on_timer, delay, 0);
}

static void link_subscribe_again(struct kf_link *l)
{
    link_on_connected(l, "resubscribe");
}

static void link_on_timer(uv_timer_t *t)
{
    struct kf_link *l = t->data;
    int rc;

    if (l->stopping) {
        return;
    }
    if (l->connected) {
        link_subscribe_again(l);
        return;
    }
    if (l->connect_accepted) {
        return; /* Paho reconnects by itself, and link_on_connected subscribes */
    }
    rc = link_connect(l);
    if (rc != 0) {
        kf_warn("mqtt: connect: %s", kf_strerror(rc));
        link_schedule_retry(l);
    }
}

static void link_on_async(uv_async_t *a)
{
    struct kf_link *l = a->data;
    unsigned ev;
    int have_frames;

    pthread_mutex_lock(&l->mu);
    ev = l->events;
    l->events = 0;
    have_frames = l->head != NULL;
    pthread_mutex_unlock(&l->mu);

    if (have_frames && l->cbs.frames_cb != NULL) {
        l->cbs.frames_cb(l, l->ud);
    }
    if (ev & KF__LINK_EV_LOST) {
        l->connected = 0;
    }
    if ((ev & KF__LINK_EV_SUBSCRIBED) && !l->stopping) {
        int first = !l->subscribed_once;
        l->connected = 1;
        l->subscribed_once = 1;
        l->retry_ms = KF__LINK_RETRY_MIN_MS;
        uv_timer_stop(&l->timer);
        kf_info("mqtt: subscribed to kf/v1/+/{hello,telemetry,events,state,enroll,blob}");
        if (l->cbs.up_cb != NULL) {
            l->cbs.up_cb(l, first, l->ud);
        }
    }
    if ((ev & KF__LINK_EV_SUB_FAILED) && !l->stopping) {
        l->connected = 1;
        link_schedule_retry(l);
    }
    if ((ev & KF__LINK_EV_DISCONNECTED) && l->stopping && !l->stopped) {
        l->stopped = 1;
        l->connected = 0;
        if (l->cbs.stopped_cb != NULL) {
            l->cbs.stopped_cb(l, l->ud);
        }
    }
}

int kf_link_init(struct kf_link *l, uv_loop_t *loop, const struct kf_link_opts *opts,
                 const struct kf_link_cbs *cbs, void *ud)
{
    int rc;

    memset(l, 0, sizeof(*l));
    l->loop = loop;
    l->opts = *opts;
    l->cbs = *cbs;
    l->ud = ud;
    l->tail = &l->head;
    l->retry_ms = KF__LINK_RETRY_MIN_MS;

    rc = pthread_mutex_init(&l->mu, NULL);
    if (rc != 0) {
        return -rc;
    }
    rc = kf_err_from_paho(MQTTAsync_create(&l->client, opts->uri, opts->client_id,
                                           MQTTCLIENT_PERSISTENCE_NONE, NULL));
    if (rc != 0) {
        goto out_mutex;
    }
    /* Callbacks before connecting. */
    rc =
        kf_err_from_paho(MQTTAsync_setCallbacks(l->client, l, link_on_lost, link_on_message, NULL));
    if (rc == 0) {
        rc = kf_err_from_paho(MQTTAsync_setConnected(l->client, l, link_on_connected));
    }
    if (rc != 0) {
        goto out_client;
    }
    rc = uv_async_init(loop, &l->async, link_on_async);
    if (rc != 0) {
        goto out_client;
    }
    l->async.data = l;
    uv_timer_init(loop, &l->timer); /* cannot fail: it only links the handle into the loop */
    l->timer.data = l;
    return 0;

out_client:
    MQTTAsync_destroy(&l->client);
out_mutex:
    pthread_mutex_destroy(&l->mu);
    return rc;
}

int kf_link_start(struct kf_link *l)
{
    int rc;

    l->started = 1;
    rc = link_connect(l);
    if (rc != 0) {
        kf_warn("mqtt: connect: %s", kf_strerror(rc));
        link_schedule_retry(l);
    }
    return 0;
}

struct kf_frame *kf_link_take(struct kf_link *l, size_t *ret_n)
{
    struct kf_frame *head;
    size_t n = 0;

    pthread_mutex_lock(&l->mu);
    head = l->head;
    l->head = NULL;
    l->tail = &l->head;
    pthread_mutex_unlock(&l->mu);
    for (struct kf_frame *f = head; f != NULL; f = f->next) {
        n++;
    }
    *ret_n = n;
    return head;
}

void kf_link_drop(struct kf_link *l)
{
    size_t n, bytes = 0;
    struct kf_frame *f = kf_link_take(l, &n);

    while (f != NULL) {
        struct kf_frame *next = f->next;
        bytes += f->cost;
        free(f);
        f = next;
    }
    kf_link_release(l, n, bytes);
}

void kf_link_release(struct kf_link *l, size_t n, size_t bytes)
{
    pthread_mutex_lock(&l->mu);
    l->held = n > l->held ? 0 : l->held - n;
    l->held_bytes = bytes > l->held_bytes ? 0 : l->held_bytes - bytes;
    pthread_mutex_unlock(&l->mu);
}

int kf_link_publish(struct kf_link *l, const char *topic, const void *payload, size_t len, int qos)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    int rc;

    if (l->stopped || l->client == NULL) {
        return -ENOTCONN;
    }
    m.payload = (void *)(uintptr_t)payload; /* Paho copies; its API is not const-correct */
    m.payloadlen = (int)len;
    m.qos = qos;
    m.retained = 0;
    rc = MQTTAsync_sendMessage(l->client, topic, &m, NULL);
    if (rc != MQTTASYNC_SUCCESS) {
        l->publish_failures++;
        return rc == MQTTASYNC_DISCONNECTED ? -ENOTCONN : kf_err_from_paho(rc);
    }
    return 0;
}

void kf_link_stop(struct kf_link *l)
{
    MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;
    int rc;

    if (l->stopping) {
        return;
    }
    l->stopping = 1;
    uv_timer_stop(&l->timer);
    dopts.timeout = 2000;
    dopts.onSuccess = link_on_disconnect;
    dopts.onFailure = link_on_disconnect_failure;
    dopts.context = l;
    rc = l->started ? MQTTAsync_disconnect(l->client, &dopts) : MQTTASYNC_DISCONNECTED;
    if (rc != MQTTASYNC_SUCCESS) {
        /* Not connected: nothing more can arrive once the async runs. */
        pthread_mutex_lock(&l->mu);
        l->events |= KF__LINK_EV_DISCONNECTED;
        pthread_mutex_unlock(&l->mu);
        uv_async_send(&l->async);
    }
}

void kf_link_counters(struct kf_link *l, struct kf_link_counters *ret)
{
    pthread_mutex_lock(&l->mu);
    *ret = l->ctr;
    ret->held = l->held;
    ret->held_bytes = l->held_bytes;
    pthread_mutex_unlock(&l->mu);
}

static void link_on_close(uv_handle_t *h)
{
    struct kf_link *l = h->data;

    if (--l->nclosing == 0) {
        pthread_mutex_destroy(&l->mu);
        if (l->closed_cb != NULL) {
            l->closed_cb(l);
        }
    }
}

void kf_link_close(struct kf_link *l, void (*cb)(struct kf_link *l))
{
    /* On the loop thread, never inside a Paho callback: destroying here is allowed. After
     * this no Paho thread touches l. */
    if (l->client != NULL) {
        MQTTAsync_destroy(&l->client);
        l->client = NULL;
    }
    kf_link_drop(l);
    l->closed_cb = cb;
    l->nclosing = 2;
    uv_close((uv_handle_t *)&l->async, link_on_close);
    uv_close((uv_handle_t *)&l->timer, link_on_close);
}

/* ---- [mqtt] ---- */

static const struct kf_conf_key mqtt_keys[] = {
    KF_CONF_KEY_STR("uri", struct kf_link_config, uri, "tcp://127.0.0.1:1883", 0),
    KF_CONF_KEY_STR("client_id", struct kf_link_config, client_id, "kioskd", 0),
    KF_CONF_KEY_INT("keepalive_s", struct kf_link_config, keepalive_s, 5, 3600, "30", 0),
    KF_CONF_KEY_STR("ca_file", struct kf_link_config, ca_file, NULL, 0),
    KF_CONF_KEY_STR("username", struct kf_link_config, username, NULL, 0),
    KF_CONF_KEY_STR("password_file", struct kf_link_config, password_file, NULL, 0),
};

static int mqtt_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    const struct kf_link_config *cfg = s->base;

    if (cfg->ca_file[0] != '\0' && !kf_brokerpw_uri_tls(cfg->uri)) {
        /* The uri cut to fit the message: enough to recognise it. */
        kf_conf_fail(c, kf_conf_line(c, "mqtt", "ca_file"),
                     "[mqtt] ca_file: needs an ssl:// or mqtts:// uri, not \"%.160s\"", cfg->uri);
        return -EINVAL;
    }
    if (cfg->password_file[0] != '\0' && cfg->username[0] == '\0') {
        kf_conf_fail(c, kf_conf_line(c, "mqtt", "password_file"),
                     "[mqtt] password_file: given without [mqtt] username");
        return -EINVAL;
    }
    return 0;
}

void kf_link_config_section(struct kf_link_config *cfg, struct kf_conf_section *ret)
{
    *ret = (struct kf_conf_section){"mqtt", mqtt_keys, sizeof(mqtt_keys) / sizeof(mqtt_keys[0]),
                                    cfg, mqtt_check};
}

int kf_link_config_read_password(struct kf_link_config *cfg, char *err, size_t cap)
{
    int rc;

    if (cfg->password_file[0] == '\0') {
        cfg->password[0] = '\0';
        return 0;
    }
    rc = kf_brokerpw_read(cfg->password_file, cfg->password, sizeof(cfg->password));
    if (rc != 0 && err != NULL) {
        snprintf(err, cap, "[mqtt] password_file %s: %s", cfg->password_file,
                 rc == -EPERM     ? "readable by group or others (chmod 0600)"
                 : rc == -EBADMSG ? "not one line of printable characters"
                                  : strerror(-rc));
    }
    return rc;
}
