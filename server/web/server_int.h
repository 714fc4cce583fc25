/* web/server_int.h: kiosk-web's loop-side state, shared by server.c (requests, answers),
 * auth.c (sessions, login limits), events.c (event streams) and metrics.c. Loop thread only. */
#ifndef KF_WEB_SERVER_INT_H
#define KF_WEB_SERVER_INT_H

#include <h2o.h>
#include <openssl/ssl.h>

#include "web/web.h"

#define KF_WEB_CSRF_HEX 64
#define KF_WEB_SID_HEX 64

struct kf_web_session {
    uint8_t id[32]; /* the cookie's value, decoded; all zero: a free slot */
    char csrf[KF_WEB_CSRF_HEX + 1];
    char user[KF_USER_NAME_MAX + 1];
    char display[KF_USER_DISPLAY_MAX + 1];
    struct kf_scope scope;
    int64_t created_ms, used_ms;
};

struct kf_web_limit {
    char key[96]; /* "u:NAME" or "a:ADDRESS"; "" free */
    int64_t window_start_ms;
    uint32_t fails;
};

#define KF_WEB_LIMITS_MAX 4096
#define KF_WEB_LAT_BUCKETS 12
#define KF_WEB_STATUSES 20

struct kf_web_sse; /* web/events.c */

struct kf_web_server {
    struct kf_web_config cfg;
    uv_loop_t *loop;
    h2o_globalconf_t h2o;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    SSL_CTX *ssl;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    uv_timer_t tick; /* once a second: event streams */
    int started, stopping, ctx_inited, h2o_inited;
    struct kf_web_pool *pool;
    struct kf_web_cache *cache; /* web/cache.h; NULL when off */
    struct kf_web_files *files; /* the console's files kept (web/body.h, web/static.c) */
    uint8_t *sk;                /* sodium_malloc'd, or NULL */
    char dummy_hash[KF_PW_HASH_MAX];
    FILE *access_log;
    /* Sessions and login limits (web/auth.c). */
    struct kf_web_session *sessions;
    struct kf_web_limit *limits;
    /* Work in flight. */
    uint32_t jobs, pw_jobs;
    /* Counters (web/metrics.c). */
    uint64_t *req_count; /* [route][status class] */
    uint64_t lat_bucket[KF_WEB_LAT_BUCKETS + 1];
    double lat_sum_s;
    uint64_t lat_count, logins_failed, logins_ok, limited;
    /* Event streams (web/events.c). */
    struct kf_web_sse *sse;
    uint32_t nsse;
};

/* web/auth.c */
int kf__web_sessions_init(struct kf_web_server *s);
void kf__web_sessions_close(struct kf_web_server *s);
struct kf_web_session *kf__web_session_find(struct kf_web_server *s, const char *cookie_hex,
                                            int64_t now_ms);
struct kf_web_session *kf__web_session_new(struct kf_web_server *s, const struct kf_web_call *c,
                                           int64_t now_ms, char sid_hex[KF_WEB_SID_HEX + 1]);
void kf__web_session_drop(struct kf_web_server *s, struct kf_web_session *ss);
void kf__web_session_drop_user(struct kf_web_server *s, const char *user);
uint32_t kf__web_sessions_live(struct kf_web_server *s, int64_t now_ms);
/* Seconds until key may try again (0: now). */
int kf__web_limit_check(struct kf_web_server *s, const char *key, int64_t now_ms);
void kf__web_limit_fail(struct kf_web_server *s, const char *key, int64_t now_ms);
void kf__web_limit_clear(struct kf_web_server *s, const char *key);

/* web/events.c */
int kf__web_sse_start(struct kf_web_server *s, h2o_req_t *req, struct kf_web_call *c);
void kf__web_sse_tick(struct kf_web_server *s);
void kf__web_sse_stop_all(struct kf_web_server *s);

/* web/metrics.c */
void kf__web_metrics_count(struct kf_web_server *s, unsigned route_ix, int status,
                           uint64_t elapsed_us);
/* The loop's own figures in the Prometheus text format, appended to f. */
void kf__web_metrics_own(struct kf_web_server *s, FILE *f);

/* web/answer.c: the answer of a call (loop); a header whose value is copied into the
 * request's pool; forget the request (the answer is on its way, or it is gone). */
void kf__web_answer(struct kf_web_server *s, struct kf_web_call *c);
/* A 504 for a call whose work is still running: reads nothing the work writes. */
void kf__web_answer_late(struct kf_web_server *s, struct kf_web_call *c);
void kf__web_add_header(h2o_req_t *req, const h2o_token_t *tok, const char *v);
void kf__web_detach(struct kf_web_call *c);

/* A call's hold on its request: h2o frees this with the request's pool, and the call learns
 * the client has gone. */
struct kf_web_req_guard {
    struct kf_web_call *call;
};

#endif
