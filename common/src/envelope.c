/* envelope.c: the signed frame (layout in kf/envelope.h, normative text in docs/PROTOCOL.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kf/envelope.h"

#define KF_ENV_CTX_LEN (sizeof(KF_ENV_SIGN_CONTEXT) - 1)

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static int id_char_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int kf_device_id_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return 0;
    for (; s[n]; n++) {
        if (n >= KF_DEVICE_ID_MAX || !id_char_ok((unsigned char)s[n]))
            return 0;
    }
    return n > 0;
}

/* Rules shared by parse and seal; everything else about a header is its layout. */
static int header_valid(const struct kf_env_header *h)
{
    if (h->kind < KF_MSG_RECORDS || h->kind > KF_MSG_IDENT_RESULT)
        return 0;
    if (h->flags & ~KF_ENV_F_KNOWN)
        return 0;
    if (!(h->flags & KF_ENV_F_ZSTD) && h->dict_id != 0)
        return 0; /* a dictionary id names how the body was compressed */
    if (h->kind == KF_MSG_RECORDS) {
        if (h->count < 1 || h->count > KF_ENV_MAX_RECORDS)
            return 0;
    } else if (h->count != 0) {
        return 0;
    }
    return 1;
}

int kf_env_parse(const uint8_t *buf, size_t len, struct kf_env_view *ret_view)
{
    struct kf_env_view v;
    const uint8_t *p;
    size_t idlen, body_len;

    if (len > KF_ENV_MAX_BYTES)
        return -EMSGSIZE;
    if (!buf || len < KF_ENV_FIXED_BYTES + 1 + KF_ENV_SIG_BYTES)
        return -EBADMSG;
    if (buf[0] != 'K' || buf[1] != 'F' || buf[2] != KF_ENV_VERSION)
        return -EBADMSG;
    memset(&v, 0, sizeof(v));
    v.hdr.kind = buf[3];
    v.hdr.flags = buf[4];
    idlen = buf[5];
    if (idlen < 1 || idlen > KF_DEVICE_ID_MAX)
        return -EBADMSG;
    if (len < KF_ENV_FIXED_BYTES + idlen + KF_ENV_SIG_BYTES)
        return -EBADMSG;
    for (size_t i = 0; i < idlen; i++) {
        if (!id_char_ok(buf[6 + i]))
            return -EBADMSG;
    }
    memcpy(v.hdr.device_id, buf + 6, idlen);
    v.hdr.device_id[idlen] = '\0';
    p = buf + 6 + idlen;
    v.hdr.key_epoch = get_u32(p);
    v.hdr.dict_id = get_u32(p + 4);
    v.hdr.seq = get_u64(p + 8);
    v.hdr.count = get_u32(p + 16);
    v.hdr.device_ms = (int64_t)get_u64(p + 20);
    v.hdr.clock_offset_ms = (int64_t)get_u64(p + 28);
    body_len = get_u32(p + 36);
    if (body_len != len - KF_ENV_FIXED_BYTES - idlen - KF_ENV_SIG_BYTES)
        return -EBADMSG;
    if (!header_valid(&v.hdr))
        return -EBADMSG;
    v.body = p + 40;
    v.body_len = body_len;
    v.signed_len = len - KF_ENV_SIG_BYTES;
    v.signature = buf + v.signed_len;
    *ret_view = v;
    return 0;
}

/* The signed message: context || u16 topic length || topic || frame[0..frame_len).
 * Returns a malloc'ed buffer (Ed25519 signs one contiguous message). */
static uint8_t *signed_message(const char *topic, size_t tlen, const uint8_t *frame,
                               size_t frame_len, size_t *ret_len)
{
    size_t n = KF_ENV_CTX_LEN + 2 + tlen + frame_len;
    uint8_t *m = malloc(n);

    if (!m)
        return NULL;
    memcpy(m, KF_ENV_SIGN_CONTEXT, KF_ENV_CTX_LEN);
    put_u16(m + KF_ENV_CTX_LEN, (uint16_t)tlen);
    memcpy(m + KF_ENV_CTX_LEN + 2, topic, tlen);
    memcpy(m + KF_ENV_CTX_LEN + 2 + tlen, frame, frame_len);
    *ret_len = n;
    return m;
}

int kf_env_verify(const struct kf_env_view *view, const char *topic, const uint8_t pk[32])
{
    const uint8_t *frame;
    uint8_t *msg;
    size_t tlen, mlen;
    int r;

    if (!view || !topic || !pk || !view->signature)
        return -EKEYREJECTED;
    tlen = strlen(topic);
    if (tlen == 0 || tlen > KF_TOPIC_MAX)
        return -EKEYREJECTED;
    /* The signed bytes run from the frame's start up to the signature. */
    frame = view->signature - view->signed_len;
    msg = signed_message(topic, tlen, frame, view->signed_len, &mlen);
    if (!msg)
        return -ENOMEM;
    r = crypto_sign_verify_detached(view->signature, msg, mlen, pk);
    free(msg);
    return r == 0 ? 0 : -EKEYREJECTED;
}

int kf_env_seal(const struct kf_env_header *hdr, const char *topic, const uint8_t *body,
                size_t body_len, const uint8_t sk[64], uint8_t *out, size_t cap, size_t *ret_len)
{
    size_t idlen, tlen, total, mlen;
    uint8_t *p, *msg;
    int r;

    if (!hdr || !topic || !sk || !out || (!body && body_len > 0))
        return -EINVAL;
    if (!header_valid(hdr) || !kf_device_id_valid(hdr->device_id))
        return -EINVAL;
    tlen = strlen(topic);
    if (tlen == 0 || tlen > KF_TOPIC_MAX)
        return -EINVAL;
    idlen = strlen(hdr->device_id);
    if (body_len > KF_ENV_MAX_BYTES)
        return -EMSGSIZE;
    total = KF_ENV_FIXED_BYTES + idlen + body_len + KF_ENV_SIG_BYTES;
    if (total > KF_ENV_MAX_BYTES || total > cap)
        return -EMSGSIZE;

    out[0] = 'K';
    out[1] = 'F';
    out[2] = KF_ENV_VERSION;
    out[3] = hdr->kind;
    out[4] = hdr->flags;
    out[5] = (uint8_t)idlen;
    memcpy(out + 6, hdr->device_id, idlen);
    p = out + 6 + idlen;
    put_u32(p, hdr->key_epoch);
    put_u32(p + 4, hdr->dict_id);
    put_u64(p + 8, hdr->seq);
    put_u32(p + 16, hdr->count);
    put_u64(p + 20, (uint64_t)hdr->device_ms);
    put_u64(p + 28, (uint64_t)hdr->clock_offset_ms);
    put_u32(p + 36, (uint32_t)body_len);
    if (body_len > 0)
        memmove(p + 40, body, body_len); /* body may already sit in out */

    msg = signed_message(topic, tlen, out, total - KF_ENV_SIG_BYTES, &mlen);
    if (!msg)
        return -ENOMEM;
    r = crypto_sign_detached(out + total - KF_ENV_SIG_BYTES, NULL, msg, mlen, sk);
    free(msg);
    if (r != 0)
        return -EINVAL;
    *ret_len = total;
    return 0;
}
