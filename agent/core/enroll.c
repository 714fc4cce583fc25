/* core/enroll.c: the terminal's enrollment (enroll.h). */
#define _GNU_SOURCE
#include "core/enroll.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/brokerpw.h>
#include <kf/err.h>
#include <kf/ident.h>
#include <kf/log.h>
#include <kf/notify.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "core/link.h"

struct enroll_opts {
    const char *dir;          /* identity_dir */
    const char *token;        /* the token text "KF1-..." */
    const char *uri;          /* broker */
    const char *ca_file;      /* trust anchor of the broker's certificate */
    const uint8_t *server_pk; /* 32 bytes: answers must be signed by it */
    uint32_t keepalive_s, reconnect_min_ms, reconnect_max_ms, reconnect_spread_ms;
    uint32_t connect_timeout_s;
    uint32_t retry_ms; /* ask again after this long without an answer */
};

struct enroll {
    uv_loop_t *loop;
    const struct enroll_opts *o;
    struct kf_agent_link *link;
    uv_timer_t retry;
    char user[KF_DEVICE_ID_MAX + 1];
    char t_enroll[KF_TOPIC_MAX + 1], t_ack[KF_TOPIC_MAX + 1], t_state[KF_TOPIC_MAX + 1];
    uint8_t frame[2048];
    size_t frame_len;
    int done, rc, reason, closed, timer_closed;
    struct kf_identity id;
};

static int enroll_will_cb(void *ud, uint8_t *buf, size_t cap, size_t *ret_len)
{
    (void)ud;
    (void)buf;
    (void)cap;
    (void)ret_len;
    return -ENODATA; /* an enrolling client has no state worth announcing */
}

static void enroll_send(struct enroll *e)
{
    int rc;

    if (!kf_agent_link_is_up(e->link))
        return;
    rc = kf_agent_link_publish(e->link, e->t_enroll, e->frame, e->frame_len, 1, 0);
    if (rc < 0)
        kf_warn("enroll: publish: %s", kf_strerror(rc));
    else
        kf_info("enroll: request sent as %s", e->user);
}

static void enroll_up_cb(void *ud)
{
    enroll_send(ud);
}

static void enroll_down_cb(void *ud)
{
    (void)ud;
}

/* Enrollment runs before READY=1 and can take many retries (a broker not synced yet, a
 * server away): tell systemd to wait for three more of them, at the start and at each, so
 * its start timeout never kills a slow enrollment (kioskd does the same in a migration). */
static void enroll_extend(const struct enroll *e)
{
    char msg[64];

    snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu",
             (unsigned long long)e->o->retry_ms * 3000ULL);
    (void)kf_notify(msg);
}

static void enroll_retry_cb(uv_timer_t *t)
{
    enroll_extend(t->data);
    enroll_send(t->data);
}

static void enroll_message_cb(void *ud, const char *topic, const uint8_t *payload, size_t len)
{
    struct enroll *e = ud;
    struct kf_env_view v;
    struct kf_ident_result res;

    if (e->done || strcmp(topic, e->t_ack) != 0 || kf_env_parse(payload, len, &v) < 0 ||
        v.hdr.kind != KF_MSG_IDENT_RESULT || strcmp(v.hdr.device_id, e->user) != 0 ||
        (v.hdr.flags & KF_ENV_F_ZSTD) || kf_env_verify(&v, topic, e->o->server_pk) < 0 ||
        kf_ident_result_parse((const char *)v.body, v.body_len, &res) < 0 ||
        res.op != KF_IDENT_ENROLL) {
        kf_warn("enroll: ignored a message on %s that is not a result signed by the server", topic);
        return;
    }
    e->done = 1;
    if (res.reason != KF_IDENT_OK) {
        e->reason = res.reason;
        e->rc = -EACCES;
        return;
    }
    snprintf(e->id.device_id, sizeof(e->id.device_id), "%s", res.device_id);
    e->id.key_epoch = res.key_epoch;
    e->rc = kf_identity_save(e->o->dir, &e->id);
}

static void enroll_link_closed(void *ud)
{
    ((struct enroll *)ud)->closed = 1;
}

static void enroll_timer_closed(uv_handle_t *h)
{
    ((struct enroll *)h->data)->timer_closed = 1;
}

/* Build the signed request frame once: the same bytes are sent on every retry. */
static int enroll_build(struct enroll *e, const uint8_t sk[64], const char *pw,
                        const uint8_t secret[KF_TOKEN_SECRET_BYTES], const char *tid)
{
    struct kf_ident_req req;
    struct kf_env_header h;
    uint8_t mac[32];
    char *body = NULL;
    int r;

    memset(&req, 0, sizeof(req));
    req.op = KF_IDENT_ENROLL;
    snprintf(req.token_id, sizeof(req.token_id), "%s", tid);
    crypto_sign_ed25519_sk_to_pk(req.pk, sk);
    r = kf_brokerpw_verifier(pw, req.verifier, sizeof(req.verifier));
    if (r < 0)
        return r;
    kf_token_mac_key(secret, mac);
    kf_ident_proof(mac, &req, req.proof);
    sodium_memzero(mac, sizeof(mac));
    r = kf_ident_req_to_json(&req, &body);
    if (r < 0)
        return r;
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_IDENT;
    snprintf(h.device_id, sizeof(h.device_id), "%s", e->user);
    h.key_epoch = 1;
    h.device_ms = kf_now_ms();
    r = kf_env_seal(&h, e->t_enroll, (const uint8_t *)body, strlen(body), sk, e->frame,
                    sizeof(e->frame), &e->frame_len);
    free(body);
    return r;
}

/* Enroll: make the key and broker password (or reuse those of an earlier attempt), connect
 * as "_enroll-<token id>", send the request until a signed answer comes, and on acceptance
 * save the identity. Runs loop until done (other handles on it keep running). Returns 0
 * (enrolled: *ret filled), -EACCES (refused by the server: *ret_reason is enum
 * kf_ident_refusal), -EPERM (the broker refused the enrollment account three times: the
 * token was used, or expired, or is unknown), -EINTR (*stop became non-zero), or -errno. */
static int enroll_run(uv_loop_t *loop, const struct enroll_opts *o, volatile int *stop,
                      struct kf_identity *ret, int *ret_reason)
{
    static struct enroll e; /* one enrollment per process; the frame buffer is large */
    char tid[KF_TOKEN_ID_LEN + 1], pwpath[512], pw[KF_BROKERPW_MAX + 1];
    char epw[KF_ENROLL_PW_LEN + 1];
    uint8_t secret[KF_TOKEN_SECRET_BYTES], sk[64];
    struct kf_agent_link_opts lo;
    struct kf_agent_link_cbs cbs;
    int r;

    memset(&e, 0, sizeof(e));
    e.loop = loop;
    e.o = o;
    if (kf_token_parse(o->token, tid, secret) != 0) {
        kf_err("enroll: the token is not of the form KF1-XXXXXXXXXX-... (26 characters)");
        return -EINVAL;
    }
    if ((r = kf_token_username(tid, e.user, sizeof(e.user))) < 0 ||
        (r = kf_topic_format(e.t_enroll, sizeof(e.t_enroll), e.user, KF_TOPIC_ENROLL)) < 0 ||
        (r = kf_topic_format(e.t_ack, sizeof(e.t_ack), e.user, KF_TOPIC_ACK)) < 0 ||
        (r = kf_topic_format(e.t_state, sizeof(e.t_state), e.user, KF_TOPIC_STATE)) < 0)
        goto out_wipe;
    /* The key and the broker password of an earlier attempt are kept: the server answers a
     * repeated request by the same key with the same identity. */
    r = kf_identity_key_get_or_make(o->dir, 1, sk);
    if (r < 0) {
        kf_err("enroll: key in %s: %s", o->dir, kf_strerror(r));
        goto out_wipe;
    }
    r = kf_identity_pw_path(o->dir, pwpath, sizeof(pwpath));
    if (r == 0) {
        r = kf_brokerpw_read(pwpath, pw, sizeof(pw));
        if (r == -ENOENT && (r = kf_brokerpw_generate(pw)) == 0)
            r = kf_brokerpw_write(pwpath, pw);
    }
    if (r < 0) {
        kf_err("enroll: broker password %s: %s", pwpath, kf_strerror(r));
        goto out_wipe;
    }
    r = enroll_build(&e, sk, pw, secret, tid);
    if (r < 0)
        goto out_wipe;
    kf_token_broker_password(secret, epw);

    memset(&lo, 0, sizeof(lo));
    lo.uri = o->uri;
    lo.client_id = e.user;
    lo.username = e.user;
    lo.password = epw;
    lo.ca_file = o->ca_file;
    lo.will_topic = e.t_state;
    lo.sub_topic = e.t_ack;
    lo.keepalive_s = o->keepalive_s;
    lo.reconnect_min_ms = o->reconnect_min_ms;
    lo.reconnect_max_ms = o->reconnect_max_ms;
    lo.reconnect_spread_ms = o->reconnect_spread_ms;
    lo.connect_timeout_s = o->connect_timeout_s;
    lo.seed = randombytes_random();
    memset(&cbs, 0, sizeof(cbs));
    cbs.will_cb = enroll_will_cb;
    cbs.up_cb = enroll_up_cb;
    cbs.down_cb = enroll_down_cb;
    cbs.message_cb = enroll_message_cb;
    r = kf_agent_link_new(loop, &lo, &cbs, &e, &e.link);
    sodium_memzero(epw, sizeof(epw));
    if (r < 0)
        goto out_wipe;
    uv_timer_init(loop, &e.retry);
    e.retry.data = &e;
    r = kf_agent_link_start(e.link);
    if (r == 0) {
        enroll_extend(&e);
        uv_timer_start(&e.retry, enroll_retry_cb, o->retry_ms, o->retry_ms);
        kf_info("enroll: token %s, connecting to %s as %s", tid, o->uri, e.user);
        struct kf_agent_link_stats ls = {0};

        /* The broker refusing the enrollment account three times in a row means the token
         * is no longer good there (used, expired and synced away, or never issued). */
        while (!e.done && !*stop && ls.refused < 3) {
            uv_run(loop, UV_RUN_ONCE);
            kf_agent_link_stats(e.link, &ls);
        }
        if (!e.done && ls.refused >= 3) {
            e.done = 1;
            e.rc = -EPERM;
        }
        r = e.done ? e.rc : -EINTR;
        *ret_reason = e.reason;
    }
    uv_close((uv_handle_t *)&e.retry, enroll_timer_closed);
    kf_agent_link_close(e.link, 1000, enroll_link_closed, &e);
    while (!e.closed || !e.timer_closed)
        uv_run(loop, UV_RUN_ONCE);
    if (r == 0)
        *ret = e.id;

out_wipe:
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(pw, sizeof(pw));
    return r;
}

/* The one-line message of a failed kf_enroll_identity, into err (cap; may be NULL). */
static void enroll_fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void enroll_fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (!err || !cap)
        return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* Messages name what the operator can do: a token is good for one terminal, once. */
static void enroll_explain(int rc, int reason, char *err, size_t cap)
{
    if (rc == -EACCES)
        enroll_fail(err, cap,
                    "enrollment refused: %s (a token is good for one terminal, once, until it "
                    "expires: ask for a new one)",
                    kf_ident_refusal_name(reason));
    else if (rc == -EPERM)
        enroll_fail(err, cap,
                    "enrollment refused by the broker: it has no enrollment account for this "
                    "token: the token was used or has expired (ask for a new one), or the "
                    "broker was never told of it (on the server: kiosk-provision broker-sync, "
                    "or issue tokens with --auth-dir; docs/OPERATIONS.md, \"Enrollment\")");
    else if (rc != -EINTR)
        enroll_fail(err, cap, "enrollment: %s", kf_strerror(rc));
}

int kf_enroll_identity(uv_loop_t *loop, struct kf_agent_config *cfg, volatile int *stop,
                       int *ret_enrolled, char *err, size_t cap)
{
    struct kf_identity id;
    int rc, reason = 0, enrolled = 0;

    if (err && cap)
        err[0] = '\0';
    rc = kf_identity_load(cfg->identity_dir, &id);
    if (rc == -ENOENT) {
        struct enroll_opts eo = {
            .dir = cfg->identity_dir,
            .token = cfg->enroll_token,
            .uri = cfg->uri,
            .ca_file = cfg->ca_file,
            .server_pk = cfg->server_pk,
            .keepalive_s = cfg->keepalive_s,
            .reconnect_min_ms = cfg->reconnect_min_ms,
            .reconnect_max_ms = cfg->reconnect_max_ms,
            .reconnect_spread_ms = cfg->reconnect_spread_ms,
            .connect_timeout_s = cfg->connect_timeout_s,
            .retry_ms = 10000,
        };
        if (cfg->enroll_token[0] == '\0') {
            enroll_fail(err, cap,
                        "%s: not enrolled and no [enroll] token_file: ask the operator for a "
                        "token (kiosk-provision token)",
                        cfg->identity_dir);
            return -ENOKEY;
        }
        rc = enroll_run(loop, &eo, stop, &id, &reason);
        if (rc < 0) {
            enroll_explain(rc, reason, err, cap);
            return rc;
        }
        enrolled = 1;
    } else if (rc < 0) {
        enroll_fail(err, cap, "identity in %s: %s", cfg->identity_dir, kf_strerror(rc));
        return rc;
    }
    rc = kf_identity_apply(&id, cfg, err, cap);
    if (rc == 0 && ret_enrolled)
        *ret_enrolled = enrolled;
    return rc;
}
