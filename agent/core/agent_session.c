/* core/agent_session.c: the agent's session with the server, on the link's callbacks: the
 * will and the online/offline states, HELLO's answer, ACKs (authenticated, applied to the
 * outbox, and setting the clock), and key rotation (docs/PROTOCOL.md sections 4, 9, 11). */
#include "core/agent_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/log.h>
#include <kf/time.h>

/* An ACK sets the clock only if the frame it answers left less than this long ago. */
#define AGENT_ACK_FRESH_MS 10000

/* ---- key rotation ---- */

void kf__agent_rotation_send(struct kf_agent *a)
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
    kf__agent_header(a, &h, KF_MSG_IDENT);
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
        kf__agent_flush(a, 1);
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
        kf__agent_rotation_send(a);
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
    return kf__agent_seal_small(a, KF_MSG_STATE, 0, a->t_state, "{\"state\":\"offline\"}",
                                a->will_ms, buf, cap, ret_len);
}

static void agent_up_cb(void *ud)
{
    struct kf_agent *a = ud;
    a->st.connects++;
    a->online = 0;
    a->inflight_n = 0;
    (void)kf__agent_publish_small(a, KF_MSG_STATE, 0, a->t_state, "{\"state\":\"online\"}",
                                  a->will_ms, 1);
    kf__agent_send_hello(a);
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
 * rotation just replaced); the answer to a rotation request is signed by the server key.
 * NULL, or what is wrong with it, for the log. */
static const char *agent_authentic(const struct kf_agent *a, const struct kf_env_view *v,
                                   const char *topic)
{
    const uint8_t *key = NULL;

    if (v->hdr.kind == KF_MSG_IDENT_RESULT)
        return kf_env_verify(v, topic, a->cfg.server_pk) == 0
                   ? NULL
                   : "a key rotation answer whose signature does not verify under [device] "
                     "server_public_key: is it this server's key (its server.key.pub)?";
    if (v->hdr.kind != KF_MSG_ACK && v->hdr.kind != KF_MSG_BLOB_ACK && v->hdr.kind != KF_MSG_PART)
        return "not an ACK";
    if (v->hdr.key_epoch == a->cfg.key_epoch)
        key = a->ack_key;
    else if (a->ack_epoch_prev != 0 && v->hdr.key_epoch == a->ack_epoch_prev)
        key = a->ack_key_prev;
    if (key == NULL)
        return "an ACK for another key epoch than this device's: was the device re-provisioned "
               "or its key rotated elsewhere?";
    return kf_env_verify_mac(v, topic, key) == 0
               ? NULL
               : "an ACK whose MAC does not verify: [device] server_public_key is most likely "
                 "not this server's key (compare it with the server's server.key.pub)";
}

/* Refused messages on the ack topic are counted; the first of each run is logged, with
 * what to check: an agent that never hears an ACK it believes sends nothing but HELLOs. */
static void agent_ack_refused(struct kf_agent *a, const char *why)
{
    a->st.acks_rejected++;
    if (a->acks_refusing++ == 0)
        kf_warn("%s: ignored a message on %s: %s (logged once until an ACK verifies)",
                a->cfg.device_id, a->t_ack, why);
}

static void agent_message_cb(void *ud, const char *topic, const uint8_t *payload, size_t len)
{
    struct kf_agent *a = ud;
    struct kf_env_view v;
    struct kf_outbox_stats os;
    const char *why;
    int rc;

    if (strcmp(topic, a->t_cmd) == 0) {
        kf__agent_cmd_message(a, topic, payload, len);
        return;
    }
    if (strcmp(topic, a->t_ack) != 0 || kf_env_parse(payload, len, &v) < 0) {
        agent_ack_refused(a, "not a frame");
        return;
    }
    if (strcmp(v.hdr.device_id, a->cfg.device_id) != 0) {
        agent_ack_refused(a, "a frame for another device");
        return;
    }
    if ((why = agent_authentic(a, &v, topic)) != NULL) {
        agent_ack_refused(a, why);
        return;
    }
    if (a->acks_refusing > 0) {
        kf_notice("%s: a message on %s verifies again, after %" PRIu64 " refused", a->cfg.device_id,
                  a->t_ack, a->acks_refusing);
        a->acks_refusing = 0;
    }
    if (v.hdr.kind == KF_MSG_IDENT_RESULT) {
        agent_rotation_answer(a, &v);
        return;
    }
    if (v.hdr.kind == KF_MSG_BLOB_ACK) {
        kf__agent_blob_ack(a, &v);
        return;
    }
    if (v.hdr.kind == KF_MSG_PART) {
        kf__agent_update_part(a, &v);
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
        a->clock_base_ms = kf__agent_clock_base(a);
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
            kf__agent_rotation_send(a);
        kf__agent_cmd_online(a); /* a setting on trial reached the server */
        kf__agent_flush(a, 1);
        kf__agent_blob_online(a);
        kf__agent_update_online(a); /* a download asks again; a health check may pass */
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
    kf__agent_flush(a, 0);
}

int kf__agent_link_new(struct kf_agent *a, const struct kf_agent_opts *opts)
{
    const struct kf_agent_config *cfg = &a->cfg;
    struct kf_agent_link_opts lo;
    struct kf_agent_link_cbs cbs;

    memset(&lo, 0, sizeof(lo));
    lo.uri = opts && opts->uri ? opts->uri : cfg->uri;
    lo.client_id = cfg->device_id;
    lo.username = cfg->username;
    lo.password = cfg->password;
    lo.ca_file = cfg->ca_file;
    lo.will_topic = a->t_state;
    lo.sub_topic = a->t_ack;
    lo.sub_topic2 = a->t_cmd;
    lo.keepalive_s = cfg->keepalive_s;
    lo.reconnect_min_ms = cfg->reconnect_min_ms;
    lo.reconnect_max_ms = cfg->reconnect_max_ms;
    lo.reconnect_spread_ms = cfg->reconnect_spread_ms;
    lo.connect_timeout_s = cfg->connect_timeout_s;
    lo.seed = opts && opts->seed ? opts->seed : randombytes_random();
    memset(&cbs, 0, sizeof(cbs));
    cbs.will_cb = agent_will_cb;
    cbs.up_cb = agent_up_cb;
    cbs.down_cb = agent_down_cb;
    cbs.message_cb = agent_message_cb;
    return kf_agent_link_new(a->loop, &lo, &cbs, a, &a->link);
}
