/* core/agent_frame.c: the agent's frames: headers stamped with the clock offset in force,
 * RECORDS batches cut from the outbox (compressed, sealed, published), HELLO and STATE. */
#include "core/agent_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

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
int64_t kf__agent_clock_base(const struct kf_agent *a)
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
void kf__agent_header(const struct kf_agent *a, struct kf_env_header *h, uint8_t kind)
{
    int64_t off;

    memset(h, 0, sizeof(*h));
    h->kind = kind;
    memcpy(h->device_id, a->cfg.device_id, sizeof(h->device_id));
    h->key_epoch = a->cfg.key_epoch;
    h->device_ms = kf_now_ms();
    if (agent_offset_for(a, a->boot_no, kf__agent_clock_base(a), &off) == 0) {
        h->flags = KF_ENV_F_CLOCK_SYNCED;
        h->clock_offset_ms = off;
    }
}

/* Seal a small uncompressed frame (HELLO, STATE). */
int kf__agent_seal_small(struct kf_agent *a, uint8_t kind, uint64_t seq, const char *topic,
                         const char *body, int64_t device_ms, uint8_t *out, size_t cap,
                         size_t *ret_len)
{
    struct kf_env_header h;
    kf__agent_header(a, &h, kind);
    h.seq = seq;
    if (device_ms != 0)
        h.device_ms = device_ms;
    return kf_env_seal(&h, topic, (const uint8_t *)body, strlen(body), a->sk, out, cap, ret_len);
}

int kf__agent_publish_small(struct kf_agent *a, uint8_t kind, uint64_t seq, const char *topic,
                            const char *body, int64_t device_ms, int retained)
{
    uint8_t frame[1024];
    size_t len;
    int rc = kf__agent_seal_small(a, kind, seq, topic, body, device_ms, frame, sizeof(frame), &len);
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
void kf__agent_flush(struct kf_agent *a, int force)
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
        kf__agent_header(a, &h, KF_MSG_RECORDS);
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

void kf__agent_send_hello(struct kf_agent *a)
{
    struct kf_outbox_stats os;
    char body[768 + KF_INV_JSON_MAX], cmd[320];
    const char *inv = kf__agent_inv_hello(a);
    uint8_t frame[1024 + sizeof(body)];
    size_t len;

    if (kf_outbox_stats(a->ob, &os) < 0)
        return;
    /* The commands it has accepted and refused (docs/PROTOCOL.md "HELLO"). */
    if (kf__agent_cmd_hello(a, cmd, sizeof(cmd)) < 0)
        snprintf(cmd, sizeof(cmd), "null");
    /* The inventory, when known (agent_inv.c). */
    snprintf(body, sizeof(body),
             "{\"agent\":\"%s\",\"kind\":\"%s\",\"boot_id\":\"%s\",\"outbox\":%" PRIu64
             ",\"health_dropped\":%" PRIu64 ",\"cmd\":%s%s%s}",
             a->agent_name, kf_agent_config_kind_name(a->cfg.kind), a->boot_id, os.records,
             os.health_dropped, cmd, inv ? ",\"inv\":" : "", inv ? inv : "");
    if (kf__agent_seal_small(a, KF_MSG_HELLO, os.acked_seq + 1, a->t_hello, body, 0, frame,
                             sizeof(frame), &len) == 0 &&
        kf_agent_link_publish(a->link, a->t_hello, frame, len, 1, 0) == 0)
        a->hello_sent_ms = uv_now(a->loop);
}
