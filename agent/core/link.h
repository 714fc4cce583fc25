/* core/link.h: one MQTT connection (Paho MQTTAsync) driven from a libuv loop.
 *
 * Paho's threads only copy what they are given into a bounded, locked event list and wake
 * the loop (uv_async_send); every kf_agent_link callback below runs on the loop thread. The link
 * reconnects on its own (a uv_timer; Paho's automatic reconnect stays off): the first attempt
 * after a lost session at a random moment in [0, reconnect_spread_ms], later ones after
 * failures with exponential backoff and full jitter between reconnect_min_ms and
 * reconnect_max_ms. It reuses one Paho client for its whole life (clients are created in
 * kf_agent_link_new and destroyed in kf_agent_link_close, never inside Paho callbacks).
 * MQTT 3.1.1 is pinned (no fallback to 3.1). Every connection Paho reports (its connected
 * callback) is followed, whatever state the link was in: subscribe, then up_cb; a session
 * the link thought up gets its down_cb first. Each connection is logged once (the URI).
 * Paho runs with MQTTCLIENT_PERSISTENCE_NONE, clean session: durability is the outbox's job.
 *
 * All functions: loop thread only.
 */
#ifndef KF_AGENT_CORE_LINK_H
#define KF_AGENT_CORE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kf/envelope.h>

struct kf_agent_link;

struct kf_agent_link_cbs {
    /* Produce the will payload for the next connect attempt into buf (cap). 0 or -errno
     * (then the attempt goes ahead without a will). */
    int (*will_cb)(void *ud, uint8_t *buf, size_t cap, size_t *ret_len);
    /* The session is up and the subscriptions given to kf_agent_link_new are confirmed. */
    void (*up_cb)(void *ud);
    /* The session went down (lost, or a subscription failed). A reconnect is scheduled. */
    void (*down_cb)(void *ud);
    /* A message arrived. topic and payload are borrowed for the call. */
    void (*message_cb)(void *ud, const char *topic, const uint8_t *payload, size_t len);
};

struct kf_agent_link_opts {
    const char *uri;       /* borrowed during init */
    const char *client_id; /* borrowed during init */
    const char *username;  /* NULL or "": none */
    const char *password;  /* NULL or "": none */
    /* ssl:// and mqtts:// URIs: TLS, the broker's certificate checked against this CA file
     * (PEM) and its name against the URI's host; NULL or "": the system's trust store. */
    const char *ca_file;
    const char *will_topic;
    const char *sub_topic;  /* subscribed QoS 1 after each connect, before up_cb */
    const char *sub_topic2; /* NULL or "": none; else subscribed with sub_topic (the cmd topic) */
    uint32_t keepalive_s;
    uint32_t reconnect_min_ms;
    uint32_t reconnect_max_ms;
    uint32_t reconnect_spread_ms; /* first reconnect after a loss: uniform in [0, this] */
    uint32_t connect_timeout_s;   /* Paho's connect timeout (TCP, TLS, CONNACK); 0: 30 */
    uint64_t seed;                /* for the backoff jitter */
};

struct kf_agent_link_stats {
    uint64_t connects;      /* sessions established */
    uint64_t connect_fails; /* attempts that failed */
    uint64_t refused;       /* ... of which the broker refused the credentials */
    uint64_t lost;          /* sessions lost */
    uint64_t published;     /* publish calls accepted by Paho */
    uint64_t publish_fails; /* refused at once or failed later */
    uint64_t received;      /* messages handed to message_cb */
    uint64_t inbox_dropped; /* messages dropped because the event list was full */
};

/* Returns an owned link in *ret. cbs/ud are kept. Nothing happens until kf_agent_link_start. */
int kf_agent_link_new(uv_loop_t *loop, const struct kf_agent_link_opts *opts,
                      const struct kf_agent_link_cbs *cbs, void *ud, struct kf_agent_link **ret);
/* Start connecting. 0 or -errno. */
int kf_agent_link_start(struct kf_agent_link *l);
/* Is a session up (after up_cb, before down_cb)? */
int kf_agent_link_is_up(const struct kf_agent_link *l);
/* Publish a copy of payload. 0, -ENOTCONN (no session), or another -errno. */
int kf_agent_link_publish(struct kf_agent_link *l, const char *topic, const void *payload,
                          size_t len, int qos, int retained);
void kf_agent_link_stats(const struct kf_agent_link *l, struct kf_agent_link_stats *ret);
/* Disconnect (at most timeout_ms), destroy the Paho client, close the handles, free the link,
 * then call close_cb (may be NULL) from the loop. No kf_agent_link callback runs after this call.
 */
void kf_agent_link_close(struct kf_agent_link *l, uint32_t timeout_ms, void (*close_cb)(void *ud),
                         void *close_ud);

#endif
