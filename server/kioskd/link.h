/* link.h: kioskd's MQTT connection (Paho C async) and its inbox.
 *
 * Paho's threads only copy and hand off: the message callback copies topic and payload into
 * one malloc'd struct kf_frame, appends it to the inbox under a mutex and wakes the loop with
 * uv_async_send. The loop takes the whole list at once. Frames count as "held", by number and
 * by bytes, from receipt until the owner releases them (kf_link_release, after commit or
 * rejection); a frame that would take the inbox past inbox_max frames or inbox_max_bytes is
 * dropped and counted (never acknowledged, so its device resends it), so memory is bounded.
 *
 * Paho runs with MQTTCLIENT_PERSISTENCE_NONE and cleansession=0 under a fixed client id: the
 * broker keeps our subscriptions and queues QoS 1 frames while kioskd is down. Every
 * (re)connect subscribes again. All functions: loop thread only, unless noted.
 *
 * Once Paho has accepted one MQTTAsync_connect, its automatic reconnect owns every retry,
 * after a failed first connect as after a lost connection: the loop never calls
 * MQTTAsync_connect again. That call frees and replaces Paho's copies of the connect options
 * (TLS options, user name, password) outside Paho's lock, while Paho's own attempt may be
 * reading them on its threads (a use after free there).
 */
#ifndef KF_KIOSKD_LINK_H
#define KF_KIOSKD_LINK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <MQTTAsync.h>
#include <uv.h>

#include <kf/brokerpw.h>
#include <kf/conf.h>

/* One received message. topic and payload point into the same allocation; free() frees all. */
struct kf_frame {
    struct kf_frame *next;
    char *topic; /* NUL-terminated */
    uint8_t *payload;
    size_t len;
    size_t cost;           /* bytes this frame counts against inbox_max_bytes */
    int64_t quarantine_id; /* 0: received; else a quarantined frame replayed (not in the inbox) */
    int64_t recv_ms;       /* kf_now_ms() at copy time */
    int64_t recv_mono_us;  /* kf_mono_us() at copy time */
    uint8_t parked;        /* the pipeline held it once for a registry reload (pipeline.c) */
};

struct kf_link;

/* [mqtt] in kioskd's configuration (docs/KIOSKD.md): the link's own section. */
struct kf_link_config {
    char uri[256];                      /* tcp://127.0.0.1:1883 */
    char client_id[64];                 /* kioskd */
    int keepalive_s;                    /* 30, 5..3600 */
    char ca_file[512];                  /* optional, TLS URIs: the broker's CA */
    char username[64];                  /* optional; "_kioskd" on a locked broker */
    char password_file[512];            /* optional; mode 0600 */
    char password[KF_BROKERPW_MAX + 1]; /* not a key: kf_link_config_read_password fills it */
};

/* The [mqtt] section over cfg (borrowed for the load; kf/conf.h). Any thread. */
void kf_link_config_section(struct kf_link_config *cfg, struct kf_conf_section *ret);

/* Read the broker password from cfg->password_file (none: empty) into cfg->password. The
 * file must be a regular file of mode 0600 or stricter holding one line. 0, -ENOENT, -EPERM
 * (group or others may read it), -EBADMSG, -errno, with a message in err. Wipe cfg
 * (sodium_memzero) when done with it. */
int kf_link_config_read_password(struct kf_link_config *cfg, char *err, size_t cap);

struct kf_link_cbs {
    /* Frames arrived: call kf_link_take. */
    void (*frames_cb)(struct kf_link *l, void *ud);
    /* Subscribed after a (re)connect; first is set on the first one. */
    void (*up_cb)(struct kf_link *l, int first, void *ud);
    /* kf_link_stop finished: no more frames will arrive. */
    void (*stopped_cb)(struct kf_link *l, void *ud);
};

struct kf_link_opts {
    const char *uri;       /* borrowed for the link's life */
    const char *client_id; /* borrowed for the link's life */
    const char *username;  /* borrowed for the link's life; NULL or "": none */
    const char *password;  /* borrowed for the link's life; NULL or "": none */
    /* ssl:// and mqtts:// URIs: TLS; the broker's certificate is checked against this CA
     * file (PEM) and must name the URI's host. NULL or "": the system's trust store. */
    const char *ca_file;
    int keepalive_s;
    size_t inbox_max;       /* frames held at most */
    size_t inbox_max_bytes; /* their struct, topic and payload bytes, at most */
};

/* Counters kept by Paho's threads; read with kf_link_counters. */
struct kf_link_counters {
    uint64_t received;      /* messages accepted into the inbox */
    uint64_t oversize;      /* dropped in the callback: payload > KF_ENV_MAX_BYTES */
    uint64_t malformed;     /* dropped in the callback: topic unusable */
    uint64_t dropped_full;  /* dropped in the callback: inbox full (not acked: resent) */
    uint64_t dropped_nomem; /* dropped in the callback: no memory (not acked: resent) */
    uint64_t connects;      /* successful (re)connects */
    uint64_t lost;          /* connections lost */
    size_t held;            /* frames in memory now */
    size_t held_bytes;      /* their bytes */
};

struct kf_link {
    uv_loop_t *loop;
    uv_async_t async;
    uv_timer_t timer; /* connect / subscribe retries with backoff */
    MQTTAsync client;
    struct kf_link_opts opts;
    struct kf_link_cbs cbs;
    void *ud;

    pthread_mutex_t mu; /* guards everything below up to the loop-only fields */
    struct kf_frame *head, **tail;
    size_t held, held_bytes;
    unsigned events; /* KF__LINK_EV_* */
    struct kf_link_counters ctr;

    /* loop thread only */
    int started, stopping, stopped, subscribed_once, connected;
    int connect_accepted; /* MQTTAsync_connect succeeded once: Paho retries from now on */
    unsigned retry_ms;
    uint64_t publish_failures;
    void (*closed_cb)(struct kf_link *l);
    int nclosing;
};

/* Initialize (creates the Paho client and both handles; no network yet). 0 or -errno. */
int kf_link_init(struct kf_link *l, uv_loop_t *loop, const struct kf_link_opts *opts,
                 const struct kf_link_cbs *cbs, void *ud);
/* Start connecting: retried with backoff until Paho accepts a connect, by Paho from then on
 * (see above). */
int kf_link_start(struct kf_link *l);
/* Take the whole inbox; returns owned list (NULL if empty) and its length in *ret_n.
 * Taken frames stay "held" until released. */
struct kf_frame *kf_link_take(struct kf_link *l, size_t *ret_n);
/* Take the whole inbox and free it, released at once (closing, or an owner that keeps
 * nothing). */
void kf_link_drop(struct kf_link *l);
/* n frames of bytes cost in all (the sum of their kf_frame.cost) were freed by their owner.
 * Any thread. */
void kf_link_release(struct kf_link *l, size_t n, size_t bytes);
/* Publish at qos (0 or 1), not retained. Paho copies payload. 0, -ENOTCONN or -errno. */
int kf_link_publish(struct kf_link *l, const char *topic, const void *payload, size_t len, int qos);
/* Disconnect cleanly without unsubscribing (the broker keeps queuing for our session);
 * stopped_cb runs once no more frames can arrive. */
void kf_link_stop(struct kf_link *l);
/* Snapshot of the counters. Any thread. */
void kf_link_counters(struct kf_link *l, struct kf_link_counters *ret);
/* Destroy the Paho client and close the handles; cb runs when both are closed. Call after
 * stopped_cb (or before kf_link_start). Frames still in the inbox are freed. */
void kf_link_close(struct kf_link *l, void (*cb)(struct kf_link *l));

#endif
