/* core/agent.c: the agent core: outbox -> batches -> link, ACK -> outbox. */
#include "core/agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/envelope.h>
#include <kf/ident.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "core/link.h"

#define AGENT_INFLIGHT_CAP 64 /* the config bound of [batch] inflight_max */
#define AGENT_DEFAULT_NAME "kiosk-agent/0.1.0"
#define AGENT_CLOSE_TIMEOUT_MS 1000
/* An ACK sets the clock only if the frame it answers left less than this long ago. */
#define AGENT_ACK_FRESH_MS 10000

struct kf_agent {
    uv_loop_t *loop;
    struct kf_agent_config cfg;
    uint8_t sk[64];
    /* The MAC keys of the server's ACKs (kf_ack_key_device): for key epoch cfg.key_epoch,
     * and for the epoch before a rotation, whose ACKs may still be on their way. */
    uint8_t ack_key[KF_ACK_KEY_BYTES];
    uint8_t ack_key_prev[KF_ACK_KEY_BYTES];
    uint32_t ack_epoch_prev; /* 0: none */
    struct kf_outbox *ob;
    struct kf_agent_link *link;
    struct kf_zctx *zctx;
    int own_zctx;
    uv_timer_t flush_timer;
    uv_timer_t health_timer;
    kf_agent_health_cb health_cb;
    void *health_ud;
    uint32_t health_interval_s;
    char agent_name[64];
    char boot_id[17];
    char t_hello[KF_TOPIC_MAX], t_telemetry[KF_TOPIC_MAX], t_events[KF_TOPIC_MAX];
    char t_state[KF_TOPIC_MAX], t_ack[KF_TOPIC_MAX], t_enroll[KF_TOPIC_MAX];

    /* key rotation under way */
    int rot_active;
    uint8_t rot_sk[64];
    uint32_t rot_epoch;
    uint64_t rot_sent_ms; /* uv_now of the last request; 0: not sent on this session */
    kf_agent_rotated_cb rot_cb;
    void *rot_ud;

    int online;                 /* the HELLO of this session was answered */
    uint64_t hello_sent_ms;     /* uv_now; 0: none pending */
    int64_t will_ms;            /* device time sealed into this connection's will */
    int64_t last_ack_server_ms; /* server time of the newest ACK taken for the clock */
    uint64_t send_seq;          /* next seq to send */
    uint64_t inflight_end[AGENT_INFLIGHT_CAP]; /* last seq of each unacked batch, in order */
    uint32_t inflight_n;
    uint64_t last_progress_ms; /* uv_now of the last ack progress (or first send) */
    uint64_t pending_bytes;    /* JSON appended since everything was last sent */
    int clock_synced;
    int64_t clock_offset_ms;    /* server - local wall clock, measured at clock_base_ms */
    int64_t clock_base_ms;      /* the wall clock's base then (kf_clock_base_ms) */
    int clock_saved;            /* a measurement is kept in the outbox for this boot */
    int64_t clock_saved_off_ms; /* its offset + base: all a correction depends on */
    uint32_t boot_no;           /* the kernel boot's number in the outbox; 0: unknown */
    int64_t (*clock_base_cb)(void *ud);
    void *clock_ud;
    struct kf_agent_stats st;

    int closing;
    int close_pending;
    void (*close_cb)(void *ud);
    void *close_ud;
};

struct agent_batch {
    char *buf;
    size_t len, cap;
    uint64_t first_seq;
    uint32_t n;
    int all_health;
    uint32_t boot; /* the clock regime of the batch: its first record's */
    int64_t base_ms;
};

/* Records whose wall-clock bases differ by more than this were stamped either side of a
 * clock step: they go in different frames, each with its own offset. NTP's slewing changes
 * the rate of both clocks alike, so it does not move the base; only a step does. */
#define AGENT_CLOCK_STEP_MS 1000

static int64_t agent_clock_base(const struct kf_agent *a)
{
    return a->clock_base_cb ? a->clock_base_cb(a->clock_ud) : kf_clock_base_ms();
}

/* The offset in force for a record stamped under (boot, base_ms): the one measured in that
 * boot plus the step of the wall clock between the record and the measurement (outbox.h).
 * 0 and *ret_ms, or -ENOENT: never measured in that boot. Boot 0 (records of an outbox
 * written before regimes were recorded): the offset measured now, as then. */
static int agent_offset_for(const struct kf_agent *a, uint32_t boot, int64_t base_ms,
                            int64_t *ret_ms)
{
    int64_t off, at_base;

    if (boot == 0 || boot == a->boot_no) {
        if (!a->clock_synced)
            return -ENOENT;
        *ret_ms = a->clock_offset_ms + (boot == 0 ? 0 : a->clock_base_ms - base_ms);
        return 0;
    }
    if (kf_outbox_clock_get(a->ob, boot, &off, &at_base) != 0)
        return -ENOENT;
    *ret_ms = off + (at_base - base_ms);
    return 0;
}

/* A header stamped now: the offset in force now. */
static void agent_header(const struct kf_agent *a, struct kf_env_header *h, uint8_t kind)
{
    int64_t off;

    memset(h, 0, sizeof(*h));
    h->kind = kind;
    memcpy(h->device_id, a->cfg.device_id, sizeof(h->device_id));
    h->key_epoch = a->cfg.key_epoch;
    h->device_ms = kf_now_ms();
    if (agent_offset_for(a, a->boot_no, agent_clock_base(a), &off) == 0) {
        h->flags = KF_ENV_F_CLOCK_SYNCED;
        h->clock_offset_ms = off;
    }
}

/* Seal a small uncompressed frame (HELLO, STATE). */
static int agent_seal_small(struct kf_agent *a, uint8_t kind, uint64_t seq, const char *topic,
                            const char *body, int64_t device_ms, uint8_t *out, size_t cap,
                            size_t *ret_len)
{
    struct kf_env_header h;
    agent_header(a, &h, kind);
    h.seq = seq;
    if (device_ms != 0)
        h.device_ms = device_ms;
    return kf_env_seal(&h, topic, (const uint8_t *)body, strlen(body), a->sk, out, cap, ret_len);
}

static int agent_publish_small(struct kf_agent *a, uint8_t kind, uint64_t seq, const char *topic,
                               const char *body, int64_t device_ms, int retained)
{
    uint8_t frame[1024];
    size_t len;
    int rc = agent_seal_small(a, kind, seq, topic, body, device_ms, frame, sizeof(frame), &len);
    if (rc < 0)
        return rc;
    return kf_agent_link_publish(a->link, topic, frame, len, 1, retained);
}

static int batch_visit(void *ud, const struct kf_outbox_rec *rec)
{
    struct agent_batch *b = ud;
    if (rec->seq != b->first_seq + b->n)
        return -EIO; /* the outbox promises a contiguous run */
    if (b->n == 0) {
        b->boot = rec->boot;
        b->base_ms = rec->base_ms;
    } else if (rec->boot != b->boot || rec->base_ms - b->base_ms > AGENT_CLOCK_STEP_MS ||
               b->base_ms - rec->base_ms > AGENT_CLOCK_STEP_MS) {
        return 1; /* another clock regime: the next frame */
    }
    if (b->len + rec->json_len + 2 > b->cap)
        return -EMSGSIZE;
    b->buf[b->len++] = b->n ? ',' : '[';
    memcpy(b->buf + b->len, rec->json, rec->json_len);
    b->len += rec->json_len;
    if (rec->type != KF_REC_HEALTH)
        b->all_health = 0;
    b->n++;
    return 0;
}

/* Send batches from send_seq while the window allows. force: also a partial last batch. */
static void agent_flush(struct kf_agent *a, int force)
{
    struct kf_outbox_stats os;
    uint8_t *scratch = NULL;
    size_t body_cap = (size_t)a->cfg.batch_max_bytes + a->cfg.batch_max_records + 4;

    if (!a->online || a->closing || kf_outbox_stats(a->ob, &os) < 0)
        return;
    if (a->send_seq <= os.acked_seq)
        a->send_seq = os.acked_seq + 1;
    while (a->inflight_n < a->cfg.inflight_max && a->send_seq < os.next_seq) {
        struct agent_batch b = {0};
        struct kf_env_header h;
        uint32_t visited = 0;
        size_t zlen = 0, flen = 0;
        uint32_t dict_id = 0;
        const uint8_t *body;
        size_t body_len;

        if (!scratch) {
            scratch = malloc(body_cap + 2 * (size_t)KF_ENV_MAX_BYTES);
            if (!scratch)
                return;
        }
        b.buf = (char *)scratch;
        b.cap = body_cap;
        b.first_seq = a->send_seq;
        b.all_health = 1;
        int pr = kf_outbox_peek(a->ob, a->send_seq, a->cfg.batch_max_records,
                                a->cfg.batch_max_bytes, batch_visit, &b, &visited);
        int64_t off;

        if ((pr != 0 && pr != 1) || b.n == 0)
            break;
        int full = b.n >= a->cfg.batch_max_records || a->send_seq + b.n < os.next_seq;
        if (!force && !full)
            break;
        b.buf[b.len++] = ']';

        uint8_t *zbuf = scratch + body_cap;
        uint8_t *frame = zbuf + KF_ENV_MAX_BYTES;
        agent_header(a, &h, KF_MSG_RECORDS);
        /* The offset in force when these records were stamped (docs/PROTOCOL.md section 9),
         * not the one now: they may predate a step of the clock, or this boot. */
        h.flags &= (uint8_t)~KF_ENV_F_CLOCK_SYNCED;
        h.clock_offset_ms = 0;
        if (agent_offset_for(a, b.boot, b.base_ms, &off) == 0) {
            h.flags |= KF_ENV_F_CLOCK_SYNCED;
            h.clock_offset_ms = off;
        }
        body = (const uint8_t *)b.buf;
        body_len = b.len;
        if (kf_zctx_compress(a->zctx, b.buf, b.len, zbuf, KF_ENV_MAX_BYTES, &zlen, &dict_id) == 0 &&
            zlen < b.len) {
            body = zbuf;
            body_len = zlen;
            h.flags |= KF_ENV_F_ZSTD;
            h.dict_id = dict_id;
        }
        h.seq = b.first_seq;
        h.count = b.n;
        const char *topic = b.all_health ? a->t_telemetry : a->t_events;
        if (kf_env_seal(&h, topic, body, body_len, a->sk, frame, KF_ENV_MAX_BYTES, &flen) < 0)
            break;
        if (kf_agent_link_publish(a->link, topic, frame, flen, 1, 0) < 0)
            break;
        if (a->inflight_n == 0)
            a->last_progress_ms = uv_now(a->loop);
        a->inflight_end[a->inflight_n++] = b.first_seq + b.n - 1;
        a->send_seq += b.n;
        a->st.batches_sent++;
        a->st.records_sent += b.n;
    }
    if (a->send_seq >= os.next_seq)
        a->pending_bytes = 0;
    free(scratch);
}

static void agent_send_hello(struct kf_agent *a)
{
    struct kf_outbox_stats os;
    char body[384];

    if (kf_outbox_stats(a->ob, &os) < 0)
        return;
    snprintf(body, sizeof(body),
             "{\"agent\":\"%s\",\"kind\":\"%s\",\"boot_id\":\"%s\",\"outbox\":%" PRIu64
             ",\"health_dropped\":%" PRIu64 "}",
             a->agent_name, kf_device_kind_name(a->cfg.kind), a->boot_id, os.records,
             os.health_dropped);
    if (agent_publish_small(a, KF_MSG_HELLO, os.acked_seq + 1, a->t_hello, body, 0, 0) == 0)
        a->hello_sent_ms = uv_now(a->loop);
}

/* ---- key rotation ---- */

static void agent_rotation_send(struct kf_agent *a)
{
    struct kf_ident_req req;
    struct kf_env_header h;
    uint8_t frame[1024];
    size_t len;
    char *body = NULL;

    memset(&req, 0, sizeof(req));
    req.op = KF_IDENT_ROTATE;
    memcpy(req.device_id, a->cfg.device_id, sizeof(req.device_id));
    req.old_epoch = a->cfg.key_epoch;
    req.new_epoch = a->rot_epoch;
    crypto_sign_ed25519_sk_to_pk(req.pk, a->rot_sk);
    kf_ident_rotate_sign(&req, a->rot_sk);
    if (kf_ident_req_to_json(&req, &body) < 0)
        return;
    agent_header(a, &h, KF_MSG_IDENT);
    if (kf_env_seal(&h, a->t_enroll, (const uint8_t *)body, strlen(body), a->sk, frame,
                    sizeof(frame), &len) == 0 &&
        kf_agent_link_publish(a->link, a->t_enroll, frame, len, 1, 0) == 0)
        a->rot_sent_ms = uv_now(a->loop);
    free(body);
}

/* A signed IDENT_RESULT on our ack topic: the answer to our rotation request. */
static void agent_rotation_answer(struct kf_agent *a, const struct kf_env_view *v)
{
    struct kf_ident_result res;
    struct kf_outbox_stats os;

    if (!a->rot_active || (v->hdr.flags & KF_ENV_F_ZSTD) ||
        kf_ident_result_parse((const char *)v->body, v->body_len, &res) < 0 ||
        res.op != KF_IDENT_ROTATE || (res.reason == KF_IDENT_OK && res.key_epoch != a->rot_epoch)) {
        a->st.acks_rejected++;
        return;
    }
    a->rot_active = 0;
    if (res.reason != KF_IDENT_OK) {
        kf_err("%s: the server refused the key rotation: %s", a->cfg.device_id,
               kf_ident_refusal_name(res.reason));
        sodium_memzero(a->rot_sk, sizeof(a->rot_sk));
        if (a->rot_cb)
            a->rot_cb(a->rot_ud, a->rot_epoch, res.reason);
        return;
    }
    /* Durable first (the callback), then switch: a crash in between leaves key.<N+1> on
     * disk and the identity at N, and the next start asks again (the server answers a
     * repeated rotation by the same key with the same "ok"). */
    if (a->rot_cb)
        a->rot_cb(a->rot_ud, a->rot_epoch, KF_IDENT_OK);
    /* The old ACK key stays for the ACKs already on their way. The server public key was
     * usable at start, so the new one derives. */
    memcpy(a->ack_key_prev, a->ack_key, sizeof(a->ack_key));
    a->ack_epoch_prev = a->cfg.key_epoch;
    (void)kf_ack_key_device(a->rot_sk, a->cfg.server_pk, a->ack_key);
    memcpy(a->sk, a->rot_sk, sizeof(a->sk));
    sodium_memzero(a->rot_sk, sizeof(a->rot_sk));
    a->cfg.key_epoch = a->rot_epoch;
    a->st.rotations++;
    kf_notice("%s: now signing with key epoch %u", a->cfg.device_id, a->cfg.key_epoch);
    /* Frames in flight were signed with the retired key: the server refuses them, so send
     * them again under the new one now rather than after an ack timeout. */
    if (kf_outbox_stats(a->ob, &os) == 0) {
        a->send_seq = os.acked_seq + 1;
        a->inflight_n = 0;
        a->last_progress_ms = uv_now(a->loop);
        agent_flush(a, 1);
    }
}

int kf_agent_rotate(struct kf_agent *a, const uint8_t new_sk[64], kf_agent_rotated_cb cb, void *ud)
{
    if (a->rot_active)
        return -EBUSY;
    memcpy(a->rot_sk, new_sk, sizeof(a->rot_sk));
    a->rot_epoch = a->cfg.key_epoch + 1;
    a->rot_cb = cb;
    a->rot_ud = ud;
    a->rot_active = 1;
    a->rot_sent_ms = 0;
    if (a->online)
        agent_rotation_send(a);
    return 0;
}

/* ---- link callbacks (loop thread) ---- */

static int agent_will_cb(void *ud, uint8_t *buf, size_t cap, size_t *ret_len)
{
    struct kf_agent *a = ud;
    /* The server applies a STATE only if its device time is not older than the last one it
     * applied (stale retained or replayed states are ignored). The "online" that follows
     * this connect therefore carries the will's own time, so the will still counts when
     * the broker fires it. */
    a->will_ms = kf_now_ms();
    return agent_seal_small(a, KF_MSG_STATE, 0, a->t_state, "{\"state\":\"offline\"}", a->will_ms,
                            buf, cap, ret_len);
}

static void agent_up_cb(void *ud)
{
    struct kf_agent *a = ud;
    a->st.connects++;
    a->online = 0;
    a->inflight_n = 0;
    (void)agent_publish_small(a, KF_MSG_STATE, 0, a->t_state, "{\"state\":\"online\"}", a->will_ms,
                              1);
    agent_send_hello(a);
}

static void agent_down_cb(void *ud)
{
    struct kf_agent *a = ud;
    a->st.lost++;
    a->online = 0;
    a->inflight_n = 0;
    a->hello_sent_ms = 0;
    a->rot_sent_ms = 0;
}

/* An ACK carries a MAC under the ACK key of the device key it names (ours, or the one a
 * rotation just replaced); the answer to a rotation request is signed by the server key. */
static int agent_authentic(const struct kf_agent *a, const struct kf_env_view *v, const char *topic)
{
    const uint8_t *key = NULL;

    if (v->hdr.kind == KF_MSG_IDENT_RESULT)
        return kf_env_verify(v, topic, a->cfg.server_pk) == 0;
    if (v->hdr.kind != KF_MSG_ACK)
        return 0;
    if (v->hdr.key_epoch == a->cfg.key_epoch)
        key = a->ack_key;
    else if (a->ack_epoch_prev != 0 && v->hdr.key_epoch == a->ack_epoch_prev)
        key = a->ack_key_prev;
    return key != NULL && kf_env_verify_mac(v, topic, key) == 0;
}

static void agent_message_cb(void *ud, const char *topic, const uint8_t *payload, size_t len)
{
    struct kf_agent *a = ud;
    struct kf_env_view v;
    struct kf_outbox_stats os;
    int rc;

    if (strcmp(topic, a->t_ack) != 0 || kf_env_parse(payload, len, &v) < 0 ||
        strcmp(v.hdr.device_id, a->cfg.device_id) != 0 || !agent_authentic(a, &v, topic)) {
        a->st.acks_rejected++;
        return;
    }
    if (v.hdr.kind == KF_MSG_IDENT_RESULT) {
        agent_rotation_answer(a, &v);
        return;
    }
    rc = kf_outbox_ack(a->ob, v.hdr.seq);
    if (rc == -ERANGE && !a->online && a->hello_sent_ms != 0) {
        /* The HELLO's answer names seqs this outbox never gave out: it was recreated under
         * the same identity. Follow the server's numbering, or our next records would reuse
         * seqs it already holds and be dropped as duplicates. */
        kf_warn("%s: the server holds seqs up to %" PRIu64 ", past this outbox's; renumbering "
                "the outbox to follow them",
                a->cfg.device_id, v.hdr.seq);
        a->st.rebases++;
        rc = kf_outbox_rebase(a->ob, v.hdr.seq);
    }
    if (rc == -ERANGE) {
        a->st.acks_range++;
        return;
    }
    if (rc < 0 || kf_outbox_stats(a->ob, &os) < 0)
        return;
    a->st.acks++;
    /* An ACK names the newest frame it answers by that frame's device time (its clock
     * offset field): the server's time in it was read at most that long ago, so only an ACK
     * answering a frame sent moments ago may set the clock. A captured ACK published again,
     * or a genuine one held back on the way, answers an old frame. The server's clock also
     * only moves forward across the ACKs taken. Neither can delete anything: kf_outbox_ack
     * ignores an old mark. */
    int64_t answered = kf_now_ms() - v.hdr.clock_offset_ms;
    int fresh = v.hdr.clock_offset_ms != 0 && answered >= -1000 && answered <= AGENT_ACK_FRESH_MS;
    if (!fresh)
        a->st.acks_stale++;
    if (fresh && v.hdr.device_ms > a->last_ack_server_ms) {
        a->last_ack_server_ms = v.hdr.device_ms;
        a->clock_offset_ms = v.hdr.device_ms - kf_now_ms();
        a->clock_base_ms = agent_clock_base(a);
        a->clock_synced = 1;
        /* Kept for this boot's records that are still held after a reboot. A correction
         * depends only on offset + base (a step moves both, oppositely), so it is written
         * the first time and when that sum drifts by a second, not on every ACK. */
        int64_t kept = a->clock_offset_ms + a->clock_base_ms;
        if (a->boot_no != 0 && (!a->clock_saved || kept - a->clock_saved_off_ms > 1000 ||
                                a->clock_saved_off_ms - kept > 1000)) {
            if (kf_outbox_clock_put(a->ob, a->boot_no, a->clock_offset_ms, a->clock_base_ms) == 0) {
                a->clock_saved = 1;
                a->clock_saved_off_ms = kept;
            }
        }
    }

    if (!a->online) {
        /* The HELLO's answer: (re)start sending right after what the server holds. */
        a->online = 1;
        a->hello_sent_ms = 0;
        a->send_seq = os.acked_seq + 1;
        a->inflight_n = 0;
        a->last_progress_ms = uv_now(a->loop);
        if (a->rot_active)
            agent_rotation_send(a);
        agent_flush(a, 1);
        return;
    }
    uint32_t done = 0;
    while (done < a->inflight_n && a->inflight_end[done] <= os.acked_seq)
        done++;
    if (done) {
        memmove(a->inflight_end, a->inflight_end + done,
                (a->inflight_n - done) * sizeof(a->inflight_end[0]));
        a->inflight_n -= done;
        a->last_progress_ms = uv_now(a->loop);
    }
    agent_flush(a, 0);
}

/* ---- timers ---- */

static void agent_flush_timer_cb(uv_timer_t *t)
{
    struct kf_agent *a = t->data;
    uint64_t now = uv_now(a->loop);

    if (!kf_agent_link_is_up(a->link))
        return;
    if (!a->online) {
        if (a->hello_sent_ms == 0 || now - a->hello_sent_ms >= a->cfg.ack_timeout_ms)
            agent_send_hello(a);
        return;
    }
    if (a->rot_active && (a->rot_sent_ms == 0 || now - a->rot_sent_ms >= a->cfg.ack_timeout_ms))
        agent_rotation_send(a);
    if (a->inflight_n > 0 && now - a->last_progress_ms >= a->cfg.ack_timeout_ms) {
        struct kf_outbox_stats os;
        if (kf_outbox_stats(a->ob, &os) == 0) {
            a->send_seq = os.acked_seq + 1;
            a->inflight_n = 0;
            a->st.resends++;
        }
    }
    agent_flush(a, 1);
}

static void agent_health_timer_cb(uv_timer_t *t)
{
    struct kf_agent *a = t->data;
    struct kf_record rec;

    if (a->health_cb(a->health_ud, kf_now_ms(), &rec) < 0)
        return;
    rec.type = KF_REC_HEALTH;
    a->st.health_sampled++;
    (void)kf_agent_submit(a, &rec, NULL);
}

/* ---- public ---- */

int kf_agent_new(uv_loop_t *loop, const struct kf_agent_config *cfg, const uint8_t sk[64],
                 const struct kf_agent_opts *opts, struct kf_agent **ret)
{
    struct kf_outbox_limits lim;
    struct kf_agent_link_opts lo;
    struct kf_agent_link_cbs cbs;
    struct kf_agent *a;
    uint8_t boot[8];
    int rc;

    if (cfg->batch_max_records == 0 || cfg->batch_max_records > KF_ENV_MAX_RECORDS ||
        cfg->inflight_max == 0 || cfg->inflight_max > AGENT_INFLIGHT_CAP ||
        !kf_device_id_valid(cfg->device_id) || cfg->batch_max_bytes > 60000)
        return -EINVAL;
    a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->loop = loop;
    a->cfg = *cfg;
    memcpy(a->sk, sk, sizeof(a->sk));
    if (kf_ack_key_device(a->sk, cfg->server_pk, a->ack_key) != 0) {
        kf_err("%s: the server public key is not a usable key", cfg->device_id);
        rc = -EINVAL;
        goto out_free;
    }
    snprintf(a->agent_name, sizeof(a->agent_name), "%s",
             opts && opts->agent_name ? opts->agent_name : AGENT_DEFAULT_NAME);
    randombytes_buf(boot, sizeof(boot));
    kf_hex_encode(boot, sizeof(boot), a->boot_id, sizeof(a->boot_id));
    if (opts) {
        a->health_cb = opts->health_cb;
        a->health_ud = opts->health_ud;
        a->health_interval_s = opts->health_interval_s;
    }
    if (!a->health_interval_s)
        a->health_interval_s = cfg->health_interval_s;

    if ((rc = kf_topic_format(a->t_hello, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_HELLO)) < 0 ||
        (rc = kf_topic_format(a->t_telemetry, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_TELEMETRY)) <
            0 ||
        (rc = kf_topic_format(a->t_events, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_EVENTS)) < 0 ||
        (rc = kf_topic_format(a->t_state, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_STATE)) < 0 ||
        (rc = kf_topic_format(a->t_ack, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_ACK)) < 0 ||
        (rc = kf_topic_format(a->t_enroll, KF_TOPIC_MAX, cfg->device_id, KF_TOPIC_ENROLL)) < 0)
        goto out_free;

    if (opts && opts->zctx) {
        a->zctx = opts->zctx;
    } else {
        rc = kf_zctx_new(3, &a->zctx);
        if (rc < 0)
            goto out_free;
        a->own_zctx = 1;
    }

    lim.max_records = cfg->outbox_max_records;
    lim.max_bytes = cfg->outbox_max_bytes;
    lim.max_health = cfg->outbox_max_health;
    rc = kf_outbox_open(cfg->outbox_path, &lim, &a->ob);
    if (rc < 0)
        goto out_zctx;
    /* The kernel boot the records are stamped in (outbox.h, "Clock regimes"). Without one
     * the records carry no regime and get the offset measured when they are sent. */
    {
        char kboot[64] = "";

        if (opts && opts->kernel_boot_id) {
            snprintf(kboot, sizeof(kboot), "%s", opts->kernel_boot_id);
        } else {
            FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
            if (f != NULL) {
                if (fgets(kboot, sizeof(kboot), f) == NULL)
                    kboot[0] = '\0';
                fclose(f);
            }
        }
        kboot[strcspn(kboot, " \r\n")] = '\0';
        if (kboot[0] == '\0' || kf_outbox_boot(a->ob, kboot, &a->boot_no) < 0) {
            kf_warn("%s: no kernel boot id: records are sent with the clock offset measured "
                    "then, even across a step of the clock",
                    cfg->device_id);
            a->boot_no = 0;
        }
    }
    if (opts) {
        a->clock_base_cb = opts->clock_base_cb;
        a->clock_ud = opts->clock_ud;
    }

    memset(&lo, 0, sizeof(lo));
    lo.uri = opts && opts->uri ? opts->uri : cfg->uri;
    lo.client_id = cfg->device_id;
    lo.username = cfg->username;
    lo.password = cfg->password;
    lo.ca_file = cfg->ca_file;
    lo.will_topic = a->t_state;
    lo.sub_topic = a->t_ack;
    lo.keepalive_s = cfg->keepalive_s;
    lo.reconnect_min_ms = cfg->reconnect_min_ms;
    lo.reconnect_max_ms = cfg->reconnect_max_ms;
    lo.seed = opts && opts->seed ? opts->seed : randombytes_random();
    memset(&cbs, 0, sizeof(cbs));
    cbs.will_cb = agent_will_cb;
    cbs.up_cb = agent_up_cb;
    cbs.down_cb = agent_down_cb;
    cbs.message_cb = agent_message_cb;
    rc = kf_agent_link_new(loop, &lo, &cbs, a, &a->link);
    if (rc < 0)
        goto out_outbox;

    uv_timer_init(loop, &a->flush_timer);
    a->flush_timer.data = a;
    uv_timer_init(loop, &a->health_timer);
    a->health_timer.data = a;
    *ret = a;
    return 0;

out_outbox:
    kf_outbox_free(a->ob);
out_zctx:
    if (a->own_zctx)
        kf_zctx_free(a->zctx);
out_free:
    sodium_memzero(a, sizeof(*a));
    free(a);
    return rc;
}

int kf_agent_start(struct kf_agent *a)
{
    int rc = kf_agent_link_start(a->link);
    if (rc < 0)
        return rc;
    uv_timer_start(&a->flush_timer, agent_flush_timer_cb, a->cfg.flush_interval_ms,
                   a->cfg.flush_interval_ms);
    if (a->health_cb) {
        uint64_t ms = (uint64_t)a->health_interval_s * 1000;
        uv_timer_start(&a->health_timer, agent_health_timer_cb, ms, ms);
    }
    return 0;
}

static void agent_after_append(struct kf_agent *a, uint64_t last_seq, size_t bytes)
{
    a->pending_bytes += bytes;
    if (!a->online || a->inflight_n >= a->cfg.inflight_max)
        return;
    if (last_seq + 1 - a->send_seq >= a->cfg.batch_max_records ||
        a->pending_bytes >= a->cfg.batch_max_bytes)
        agent_flush(a, 0);
}

int kf_agent_submit(struct kf_agent *a, const struct kf_record *rec, uint64_t *ret_seq)
{
    char json[KF_RECORD_JSON_MAX + 1];
    size_t len;
    uint64_t seq;
    int rc;

    if (a->closing)
        return -ESHUTDOWN;
    rc = kf_record_format(rec, json, sizeof(json), &len);
    if (rc < 0)
        return rc;
    kf_outbox_set_clock(a->ob, a->boot_no, agent_clock_base(a));
    rc = kf_outbox_append(a->ob, rec->type, rec->ts_ms, json, len, &seq);
    if (rc == -ENOBUFS)
        a->st.health_dropped++;
    if (rc < 0)
        return rc;
    agent_after_append(a, seq, len);
    if (ret_seq)
        *ret_seq = seq;
    return 0;
}

int kf_agent_submit_many(struct kf_agent *a, const struct kf_record *recs, size_t n,
                         size_t *ret_appended, uint64_t *ret_first_seq)
{
    struct kf_outbox_rec * or = NULL;
    struct kf_outbox_stats os;
    char *arena = NULL;
    size_t used = 0, appended = 0;
    int rc;

    if (a->closing)
        return -ESHUTDOWN;
    if (n == 0) {
        rc = 0;
        goto out;
    }
    or = calloc(n, sizeof(* or));
    arena = malloc(n * (KF_RECORD_JSON_MAX + 1));
    if (! or || !arena) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len;
        rc = kf_record_format(&recs[i], arena + used, KF_RECORD_JSON_MAX + 1, &len);
        if (rc < 0)
            goto out;
        or [i].type = recs[i].type;
        or [i].ts_ms = recs[i].ts_ms;
        or [i].json = arena + used;
        or [i].json_len = len;
        used += len;
    }
    rc = kf_outbox_stats(a->ob, &os);
    if (rc < 0)
        goto out;
    kf_outbox_set_clock(a->ob, a->boot_no, agent_clock_base(a));
    rc = kf_outbox_append_many(a->ob, or, n, &appended);
    if (rc < 0)
        goto out;
    if (appended < n)
        a->st.health_dropped += n - appended;
    if (appended)
        agent_after_append(a, os.next_seq + appended - 1, used);
    if (ret_appended)
        *ret_appended = appended;
    if (ret_first_seq)
        *ret_first_seq = appended == n ? os.next_seq : 0; /* 0: a dropped sample left gaps */
out:
    free(arena);
    free(or);
    return rc;
}

int kf_agent_stats(struct kf_agent *a, struct kf_agent_stats *ret)
{
    struct kf_agent_link_stats ls;
    int rc = kf_outbox_stats(a->ob, &a->st.outbox);
    if (rc < 0)
        return rc;
    kf_agent_link_stats(a->link, &ls);
    a->st.send_seq = a->send_seq;
    a->st.inflight = a->inflight_n;
    a->st.online = a->online;
    a->st.clock_synced = a->clock_synced;
    a->st.clock_offset_ms = a->clock_offset_ms;
    *ret = a->st;
    ret->connects = ls.connects;
    ret->lost = ls.lost;
    return 0;
}

static void agent_closed_one(struct kf_agent *a)
{
    if (--a->close_pending > 0)
        return;
    void (*cb)(void *) = a->close_cb;
    void *ud = a->close_ud;
    kf_outbox_free(a->ob);
    if (a->own_zctx)
        kf_zctx_free(a->zctx);
    sodium_memzero(a, sizeof(*a));
    free(a);
    if (cb)
        cb(ud);
}

static void agent_handle_closed(uv_handle_t *h)
{
    agent_closed_one(h->data);
}

static void agent_link_closed(void *ud)
{
    agent_closed_one(ud);
}

void kf_agent_close(struct kf_agent *a, void (*cb)(void *ud), void *ud)
{
    if (a->closing)
        return;
    /* A clean disconnect suppresses the will: say offline ourselves. */
    if (kf_agent_link_is_up(a->link))
        (void)agent_publish_small(a, KF_MSG_STATE, 0, a->t_state, "{\"state\":\"offline\"}", 0, 1);
    a->closing = 1;
    a->online = 0;
    a->close_cb = cb;
    a->close_ud = ud;
    a->close_pending = 3;
    uv_timer_stop(&a->flush_timer);
    uv_timer_stop(&a->health_timer);
    uv_close((uv_handle_t *)&a->flush_timer, agent_handle_closed);
    uv_close((uv_handle_t *)&a->health_timer, agent_handle_closed);
    kf_agent_link_close(a->link, AGENT_CLOSE_TIMEOUT_MS, agent_link_closed, a);
}
