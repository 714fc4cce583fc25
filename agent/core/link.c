/* core/link.c: Paho MQTTAsync on a libuv loop. Paho threads copy into ev_head under mu and wake
 * the loop; link_async_cb applies the events in order on the loop thread. */
#include "core/link.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <MQTTAsync.h>

#include <kf/brokerpw.h>
#include <kf/err.h>
#include <kf/log.h>

#define LINK_INBOX_MAX 256 /* messages waiting for the loop; acks are cumulative */
#define LINK_WILL_MAX 512
/* A connect attempt Paho has not answered this long after its own connect timeout is
 * taken as failed (or as up, if Paho says it is connected): the link never waits forever
 * on one answer. */
#define LINK_CONNECT_GUARD_MS 5000

enum link_state {
    LS_IDLE,        /* created, not started */
    LS_CONNECTING,  /* MQTTAsync_connect issued; the timer guards it */
    LS_SUBSCRIBING, /* connected, subscribe issued */
    LS_UP,          /* up_cb called */
    LS_DROPPING,    /* disconnect issued after a failed subscribe */
    LS_WAITING,     /* backoff timer running */
    LS_CLOSING,     /* kf_agent_link_close called */
};

enum link_ev_type {
    EV_CONNECTED,
    EV_CONNECT_FAILED,
    EV_LOST,
    EV_SUBSCRIBED,
    EV_SUB_FAILED,
    EV_MESSAGE,
    EV_PUB_FAILED,
    EV_DISCONNECTED,
};

struct link_ev {
    struct link_ev *next;
    enum link_ev_type type;
    char *topic; /* EV_MESSAGE: points into this allocation */
    uint8_t *payload;
    size_t len;
    int code; /* EV_CONNECT_FAILED: Paho's code (a CONNACK return code when refused) */
};

struct kf_agent_link {
    uv_loop_t *loop;
    uv_async_t async;
    uv_timer_t timer;
    MQTTAsync client;
    struct kf_agent_link_cbs cbs;
    void *ud;

    pthread_mutex_t mu; /* guards ev_*, closed */
    struct link_ev *ev_head, *ev_tail;
    size_t ev_messages;
    int closed;

    enum link_state state;
    uint32_t attempt; /* consecutive failures, for the backoff */
    uint64_t rng;
    char *uri, *client_id, *username, *password, *will_topic, *sub_topic, *sub_topic2, *ca_file;
    int tls; /* ssl:// or mqtts:// */
    uint32_t keepalive_s, reconnect_min_ms, reconnect_max_ms, reconnect_spread_ms;
    uint32_t connect_timeout_s;
    uint8_t will[LINK_WILL_MAX];
    size_t will_len;
    struct kf_agent_link_stats stats;

    int handles_open;
    void (*close_cb)(void *ud);
    void *close_ud;
};

/* ---- Paho threads: copy, append, wake ---- */

static void link_push(struct kf_agent_link *l, struct link_ev *ev)
{
    pthread_mutex_lock(&l->mu);
    if (l->closed || (ev->type == EV_MESSAGE && l->ev_messages >= LINK_INBOX_MAX)) {
        if (!l->closed)
            l->stats.inbox_dropped++;
        pthread_mutex_unlock(&l->mu);
        free(ev);
        return;
    }
    if (ev->type == EV_MESSAGE)
        l->ev_messages++;
    ev->next = NULL;
    if (l->ev_tail)
        l->ev_tail->next = ev;
    else
        l->ev_head = ev;
    l->ev_tail = ev;
    uv_async_send(&l->async);
    pthread_mutex_unlock(&l->mu);
}

static void link_push_type(struct kf_agent_link *l, enum link_ev_type type)
{
    struct link_ev *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return; /* the ack timeout and the keepalive recover from a lost control event */
    ev->type = type;
    link_push(l, ev);
}

/* Paho calls this for every connection it completes: the link's own connects, and any it
 * would make by itself. The link follows it whatever state it thinks it is in (MQTT 3.1.1
 * is pinned, so Paho has no fallback of its own to make, but if it ever reconnects the
 * link must not be the last to know). */
static void on_connected(void *ctx, char *cause)
{
    (void)cause; /* Paho's own string */
    link_push_type(ctx, EV_CONNECTED);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *resp)
{
    struct link_ev *ev = calloc(1, sizeof(*ev));

    if (!ev)
        return;
    ev->type = EV_CONNECT_FAILED;
    ev->code = resp ? resp->code : 0;
    link_push(ctx, ev);
}

static void on_sub_ok(void *ctx, MQTTAsync_successData *resp)
{
    struct kf_agent_link *l = ctx;
    int refused = 0;

    /* MQTT 3.1.1 reports a refused subscription as granted QoS 0x80; a subscription to two
     * topics (subscribeMany) reports one granted QoS per topic. */
    if (resp && l->sub_topic2 == NULL)
        refused = resp->alt.qos == 0x80;
    else if (resp && resp->alt.qosList != NULL)
        refused = resp->alt.qosList[0] == 0x80 || resp->alt.qosList[1] == 0x80;
    link_push_type(ctx, refused ? EV_SUB_FAILED : EV_SUBSCRIBED);
}

static void on_sub_fail(void *ctx, MQTTAsync_failureData *resp)
{
    (void)resp;
    link_push_type(ctx, EV_SUB_FAILED);
}

static void on_pub_fail(void *ctx, MQTTAsync_failureData *resp)
{
    (void)resp;
    link_push_type(ctx, EV_PUB_FAILED);
}

static void on_disc_ok(void *ctx, MQTTAsync_successData *resp)
{
    (void)resp;
    link_push_type(ctx, EV_DISCONNECTED);
}

static void on_disc_fail(void *ctx, MQTTAsync_failureData *resp)
{
    (void)resp;
    link_push_type(ctx, EV_DISCONNECTED);
}

static void on_lost(void *ctx, char *cause)
{
    (void)cause; /* Paho passes NULL or a string it owns */
    link_push_type(ctx, EV_LOST);
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    struct kf_agent_link *l = ctx;
    size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    size_t pl = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
    struct link_ev *ev = NULL;

    if (tl <= KF_TOPIC_MAX && pl <= KF_ENV_MAX_BYTES)
        ev = malloc(sizeof(*ev) + tl + 1 + pl);
    if (ev) {
        ev->type = EV_MESSAGE;
        ev->topic = (char *)(ev + 1);
        memcpy(ev->topic, topic, tl);
        ev->topic[tl] = '\0';
        ev->payload = (uint8_t *)ev->topic + tl + 1;
        if (pl)
            memcpy(ev->payload, m->payload, pl);
        ev->len = pl;
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    if (ev) {
        link_push(l, ev);
    } else {
        pthread_mutex_lock(&l->mu);
        l->stats.inbox_dropped++;
        pthread_mutex_unlock(&l->mu);
    }
    return 1;
}

/* ---- loop thread ---- */

static uint64_t link_rand(struct kf_agent_link *l)
{
    /* xorshift64*: jitter only, not crypto */
    uint64_t x = l->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    l->rng = x;
    return x * UINT64_C(2685821657736338717);
}

static void link_connect(struct kf_agent_link *l);
static void link_connected(struct kf_agent_link *l);
static void link_schedule(struct kf_agent_link *l);

/* The connect attempt outlived Paho's connect timeout without an answer. */
static void link_connect_overdue(struct kf_agent_link *l)
{
    if (MQTTAsync_isConnected(l->client)) {
        link_connected(l);
        return;
    }
    l->stats.connect_fails++;
    link_schedule(l);
}

static void link_timer_cb(uv_timer_t *t)
{
    struct kf_agent_link *l = t->data;
    if (l->state == LS_WAITING)
        link_connect(l);
    else if (l->state == LS_CONNECTING)
        link_connect_overdue(l);
}

static void link_schedule(struct kf_agent_link *l)
{
    uint64_t cap = l->reconnect_min_ms;
    for (uint32_t i = 0; i < l->attempt && cap < l->reconnect_max_ms; i++)
        cap *= 2;
    if (cap > l->reconnect_max_ms)
        cap = l->reconnect_max_ms;
    uint64_t span = cap - l->reconnect_min_ms;
    uint64_t delay = l->reconnect_min_ms + (span ? link_rand(l) % (span + 1) : 0);
    if (l->attempt < 64)
        l->attempt++;
    l->state = LS_WAITING;
    uv_timer_start(&l->timer, link_timer_cb, delay, 0);
}

/* The first reconnect after a lost session: anywhere in [0, reconnect_spread_ms]. A broker
 * restart or a network blip loses a whole fleet at once; spread out, its TLS handshakes do
 * not arrive as one storm (docs/AGENT.md, "Reconnecting"). */
static void link_schedule_lost(struct kf_agent_link *l)
{
    uint64_t span = l->reconnect_spread_ms;
    l->attempt = 0;
    l->state = LS_WAITING;
    uv_timer_start(&l->timer, link_timer_cb, span ? link_rand(l) % (span + 1) : 0, 0);
}

/* Paho thread: OpenSSL's reasons for a failed handshake (an unknown CA, an expired
 * certificate). Without this callback Paho prints them raw on stderr. */
static int on_ssl_error(const char *str, size_t len, void *u)
{
    (void)u;
    kf_warn("mqtt: tls: %.*s", (int)(len > 0 && str[len - 1] == '\n' ? len - 1 : len), str);
    return 1;
}

static void link_connect(struct kf_agent_link *l)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_willOptions wo = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions so = MQTTAsync_SSLOptions_initializer;

    co.keepAliveInterval = (int)l->keepalive_s;
    co.cleansession = 1;
    co.connectTimeout = (int)l->connect_timeout_s;
    /* The link's timer drives every retry: it seals a fresh will for each attempt and
     * spreads and backs off as docs/AGENT.md says. 3.1.1 pinned: with the default version
     * Paho retries a failed or lost connection as MQTT 3.1 on its own. */
    co.automaticReconnect = 0;
    co.MQTTVersion = MQTTVERSION_3_1_1;
    co.onSuccess = NULL; /* on_connected (MQTTAsync_setConnected) reports every connection */
    co.onFailure = on_connect_fail;
    co.context = l;
    if (l->username && l->username[0])
        co.username = l->username;
    if (l->password && l->password[0])
        co.password = l->password;
    if (l->tls) {
        /* Server authentication only: the terminal proves itself with its password here and
         * with its Ed25519 key in every frame. TLS 1.2+ is the broker's to enforce. No
         * cipher list or version pin for memory's sake either: OpenSSL 3 builds its algorithm
         * tables in SSL_CTX_new whatever is restricted later, and one handshake runs code in
         * every 64 KiB window of libcrypto's text, which the kernel's fault-around then maps
         * whole (measured: bench/agent-rss-tls with KF_RSS_FAULTS=1). */
        so.trustStore = l->ca_file && l->ca_file[0] ? l->ca_file : NULL;
        so.enableServerCertAuth = 1;
        so.verify = 1; /* the certificate must name the URI's host */
        so.ssl_error_cb = on_ssl_error;
        co.ssl = &so;
    }
    l->will_len = 0;
    if (l->cbs.will_cb && l->cbs.will_cb(l->ud, l->will, sizeof(l->will), &l->will_len) == 0 &&
        l->will_len > 0) {
        wo.topicName = l->will_topic;
        wo.qos = 1;
        wo.retained = 1;
        wo.payload.data = l->will;
        wo.payload.len = (int)l->will_len;
        co.will = &wo;
    }
    l->state = LS_CONNECTING;
    int rc = MQTTAsync_connect(l->client, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        l->stats.connect_fails++;
        link_schedule(l);
        return;
    }
    uv_timer_start(&l->timer, link_timer_cb,
                   (uint64_t)l->connect_timeout_s * 1000 + LINK_CONNECT_GUARD_MS, 0);
}

static void link_subscribe(struct kf_agent_link *l)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess = on_sub_ok;
    ro.onFailure = on_sub_fail;
    ro.context = l;
    l->state = LS_SUBSCRIBING;
    if (l->sub_topic2 != NULL) {
        char *topics[2] = {l->sub_topic, l->sub_topic2};
        int qos[2] = {1, 1};

        if (MQTTAsync_subscribeMany(l->client, 2, topics, qos, &ro) != MQTTASYNC_SUCCESS)
            link_push_type(l, EV_SUB_FAILED);
        return;
    }
    if (MQTTAsync_subscribe(l->client, l->sub_topic, 1, &ro) != MQTTASYNC_SUCCESS)
        link_push_type(l, EV_SUB_FAILED);
}

/* A session is up (ours or one Paho made): say so once, subscribe, then up_cb. A session
 * the link still thought up is over: down_cb first, so the agent starts afresh (HELLO). */
static void link_connected(struct kf_agent_link *l)
{
    int was_up = l->state == LS_UP;

    uv_timer_stop(&l->timer);
    if (was_up) {
        l->stats.lost++;
        if (l->cbs.down_cb)
            l->cbs.down_cb(l->ud);
    }
    l->stats.connects++;
    kf_info("mqtt: connected to %s as %s", l->uri, l->client_id);
    link_subscribe(l);
}

static void link_drop(struct kf_agent_link *l)
{
    MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
    dopt.timeout = 0;
    dopt.onSuccess = on_disc_ok;
    dopt.onFailure = on_disc_fail;
    dopt.context = l;
    l->state = LS_DROPPING;
    if (MQTTAsync_disconnect(l->client, &dopt) != MQTTASYNC_SUCCESS)
        link_schedule(l);
}

static void link_handle_close(uv_handle_t *h)
{
    struct kf_agent_link *l = h->data;
    if (--l->handles_open > 0)
        return;
    void (*cb)(void *) = l->close_cb;
    void *ud = l->close_ud;
    free(l->uri);
    free(l->client_id);
    free(l->username);
    if (l->password) {
        memset(l->password, 0, strlen(l->password));
        free(l->password);
    }
    free(l->will_topic);
    free(l->sub_topic);
    free(l->sub_topic2);
    free(l->ca_file);
    pthread_mutex_destroy(&l->mu);
    free(l);
    if (cb)
        cb(ud);
}

static void link_finish_close(struct kf_agent_link *l)
{
    struct link_ev *ev;

    if (l->client) {
        MQTTAsync_destroy(&l->client);
        l->client = NULL;
    }
    pthread_mutex_lock(&l->mu);
    l->closed = 1;
    ev = l->ev_head;
    l->ev_head = l->ev_tail = NULL;
    pthread_mutex_unlock(&l->mu);
    while (ev) {
        struct link_ev *next = ev->next;
        free(ev);
        ev = next;
    }
    uv_timer_stop(&l->timer);
    l->handles_open = 2;
    uv_close((uv_handle_t *)&l->async, link_handle_close);
    uv_close((uv_handle_t *)&l->timer, link_handle_close);
}

static void link_close_timeout_cb(uv_timer_t *t)
{
    link_finish_close(t->data);
}

static void link_apply(struct kf_agent_link *l, struct link_ev *ev)
{
    if (l->state == LS_CLOSING) {
        if (ev->type == EV_DISCONNECTED || ev->type == EV_CONNECT_FAILED)
            link_finish_close(l);
        return;
    }
    switch (ev->type) {
    case EV_CONNECTED:
        /* Whatever the link thought: Paho has a connection, so follow it. Only a drop the
         * link asked for (its disconnect answers next) and an idle link ignore it. */
        if (l->state == LS_IDLE || l->state == LS_DROPPING)
            break;
        link_connected(l);
        break;
    case EV_CONNECT_FAILED:
        if (l->state != LS_CONNECTING)
            break;
        uv_timer_stop(&l->timer);
        l->stats.connect_fails++;
        /* MQTT 3.1.1 CONNACK 4 (bad user name or password) and 5 (not authorised): the
         * broker does not know these credentials (revoked, or a used or expired token). */
        if (ev->code == 4 || ev->code == 5) {
            if (l->stats.refused++ == 0 || l->attempt == 0)
                kf_warn("mqtt: %s refused %s: not authorised (revoked, or wrong credentials)",
                        l->uri, l->username ? l->username : "(anonymous)");
        }
        link_schedule(l);
        break;
    case EV_SUBSCRIBED:
        if (l->state != LS_SUBSCRIBING)
            break;
        l->state = LS_UP;
        l->attempt = 0;
        if (l->cbs.up_cb)
            l->cbs.up_cb(l->ud);
        break;
    case EV_SUB_FAILED:
        if (l->state != LS_SUBSCRIBING)
            break;
        link_drop(l);
        break;
    case EV_LOST:
        if (l->state == LS_UP || l->state == LS_SUBSCRIBING) {
            int was_up = l->state == LS_UP;
            l->stats.lost++;
            if (was_up)
                link_schedule_lost(l);
            else
                link_schedule(l);
            if (was_up && l->cbs.down_cb)
                l->cbs.down_cb(l->ud);
        }
        break;
    case EV_DISCONNECTED:
        if (l->state == LS_DROPPING)
            link_schedule(l);
        break;
    case EV_PUB_FAILED:
        l->stats.publish_fails++;
        break;
    case EV_MESSAGE:
        if (l->state != LS_UP)
            break;
        l->stats.received++;
        if (l->cbs.message_cb)
            l->cbs.message_cb(l->ud, ev->topic, ev->payload, ev->len);
        break;
    }
}

static void link_async_cb(uv_async_t *a)
{
    struct kf_agent_link *l = a->data;
    struct link_ev *ev;

    pthread_mutex_lock(&l->mu);
    ev = l->ev_head;
    l->ev_head = l->ev_tail = NULL;
    l->ev_messages = 0;
    pthread_mutex_unlock(&l->mu);

    while (ev) {
        struct link_ev *next = ev->next;
        /* After kf_agent_link_close has finished, l is gone: stop applying, just free. */
        if (l)
            link_apply(l, ev);
        if (l && l->closed)
            l = NULL;
        free(ev);
        ev = next;
    }
}

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

int kf_agent_link_new(uv_loop_t *loop, const struct kf_agent_link_opts *opts,
                      const struct kf_agent_link_cbs *cbs, void *ud, struct kf_agent_link **ret)
{
    MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
    struct kf_agent_link *l;
    int rc;

    if (!opts->uri || !opts->client_id || !opts->will_topic || !opts->sub_topic ||
        opts->reconnect_min_ms == 0 || opts->reconnect_max_ms < opts->reconnect_min_ms)
        return -EINVAL;
    l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->loop = loop;
    l->cbs = *cbs;
    l->ud = ud;
    l->keepalive_s = opts->keepalive_s;
    l->reconnect_min_ms = opts->reconnect_min_ms;
    l->reconnect_max_ms = opts->reconnect_max_ms;
    l->reconnect_spread_ms = opts->reconnect_spread_ms;
    l->connect_timeout_s = opts->connect_timeout_s ? opts->connect_timeout_s : 30;
    l->rng = opts->seed ^ UINT64_C(0x9E3779B97F4A7C15);
    if (l->rng == 0)
        l->rng = 1;
    l->uri = strdup(opts->uri);
    l->client_id = strdup(opts->client_id);
    l->username = dup_opt(opts->username);
    l->password = dup_opt(opts->password);
    l->will_topic = strdup(opts->will_topic);
    l->sub_topic = strdup(opts->sub_topic);
    l->sub_topic2 = opts->sub_topic2 && opts->sub_topic2[0] ? strdup(opts->sub_topic2) : NULL;
    l->ca_file = dup_opt(opts->ca_file);
    l->tls = kf_brokerpw_uri_tls(opts->uri);
    if (!l->uri || !l->client_id || !l->will_topic || !l->sub_topic ||
        (opts->username && !l->username) || (opts->password && !l->password) ||
        (opts->sub_topic2 && opts->sub_topic2[0] && !l->sub_topic2) ||
        (opts->ca_file && !l->ca_file)) {
        rc = -ENOMEM;
        goto out_free;
    }
    pthread_mutex_init(&l->mu, NULL);

    cro.sendWhileDisconnected = 0;
    rc = kf_err_from_paho(MQTTAsync_createWithOptions(&l->client, l->uri, l->client_id,
                                                      MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro));
    if (rc < 0)
        goto out_mutex;
    /* Callbacks are set before the first connect, never changed afterwards. */
    rc = kf_err_from_paho(MQTTAsync_setCallbacks(l->client, l, on_lost, on_message, NULL));
    if (rc == 0)
        rc = kf_err_from_paho(MQTTAsync_setConnected(l->client, l, on_connected));
    if (rc < 0)
        goto out_destroy;
    rc = uv_async_init(loop, &l->async, link_async_cb);
    if (rc < 0)
        goto out_destroy;
    l->async.data = l;
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->state = LS_IDLE;
    *ret = l;
    return 0;

out_destroy:
    MQTTAsync_destroy(&l->client);
out_mutex:
    pthread_mutex_destroy(&l->mu);
out_free:
    free(l->uri);
    free(l->client_id);
    free(l->username);
    free(l->password);
    free(l->will_topic);
    free(l->sub_topic);
    free(l->sub_topic2);
    free(l->ca_file);
    free(l);
    return rc;
}

int kf_agent_link_start(struct kf_agent_link *l)
{
    if (l->state != LS_IDLE)
        return -EALREADY;
    link_connect(l);
    return 0;
}

int kf_agent_link_is_up(const struct kf_agent_link *l)
{
    return l->state == LS_UP;
}

int kf_agent_link_publish(struct kf_agent_link *l, const char *topic, const void *payload,
                          size_t len, int qos, int retained)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    MQTTAsync_message m = MQTTAsync_message_initializer;
    int rc;

    if (l->state != LS_UP)
        return -ENOTCONN;
    if (len > KF_ENV_MAX_BYTES)
        return -EMSGSIZE;
    m.payload = (void *)(uintptr_t)payload; /* Paho copies it */
    m.payloadlen = (int)len;
    m.qos = qos;
    m.retained = retained;
    ro.onFailure = on_pub_fail;
    ro.context = l;
    rc = kf_err_from_paho(MQTTAsync_sendMessage(l->client, topic, &m, &ro));
    if (rc < 0) {
        l->stats.publish_fails++;
        return rc;
    }
    l->stats.published++;
    return 0;
}

void kf_agent_link_stats(const struct kf_agent_link *l, struct kf_agent_link_stats *ret)
{
    struct kf_agent_link *ml = (struct kf_agent_link *)(uintptr_t)l; /* the mutex, not the state */
    pthread_mutex_lock(&ml->mu);
    *ret = l->stats;
    pthread_mutex_unlock(&ml->mu);
}

void kf_agent_link_close(struct kf_agent_link *l, uint32_t timeout_ms, void (*close_cb)(void *ud),
                         void *close_ud)
{
    MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
    enum link_state was = l->state;

    l->close_cb = close_cb;
    l->close_ud = close_ud;
    l->state = LS_CLOSING;
    uv_timer_stop(&l->timer);
    if (was == LS_IDLE || was == LS_WAITING) {
        link_finish_close(l);
        return;
    }
    dopt.timeout = (int)timeout_ms;
    dopt.onSuccess = on_disc_ok;
    dopt.onFailure = on_disc_fail;
    dopt.context = l;
    if (MQTTAsync_disconnect(l->client, &dopt) != MQTTASYNC_SUCCESS) {
        link_finish_close(l);
        return;
    }
    /* Paho may never answer (e.g. a connect still in progress): do not wait forever. */
    uv_timer_start(&l->timer, link_close_timeout_cb, (uint64_t)timeout_ms + 500, 0);
}
