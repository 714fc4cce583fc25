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
    if (h->kind < KF_MSG_RECORDS || h->kind > KF_MSG_PART)
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

/* The MAC of an ACK: keyed BLAKE2b-512 over the same byte string the signature covers,
 * streamed (no copy). */
static void ack_mac(const uint8_t key[KF_ACK_KEY_BYTES], const char *topic, size_t tlen,
                    const uint8_t *frame, size_t frame_len, uint8_t out[KF_ENV_SIG_BYTES])
{
    crypto_generichash_blake2b_state s;
    uint8_t l[2];

    put_u16(l, (uint16_t)tlen);
    crypto_generichash_blake2b_init(&s, key, KF_ACK_KEY_BYTES, KF_ENV_SIG_BYTES);
    crypto_generichash_blake2b_update(&s, (const uint8_t *)KF_ENV_SIGN_CONTEXT, KF_ENV_CTX_LEN);
    crypto_generichash_blake2b_update(&s, l, sizeof(l));
    crypto_generichash_blake2b_update(&s, (const uint8_t *)topic, tlen);
    crypto_generichash_blake2b_update(&s, frame, frame_len);
    crypto_generichash_blake2b_final(&s, out, KF_ENV_SIG_BYTES);
    sodium_memzero(&s, sizeof(s));
}

/* The signed bytes of a parsed frame and its topic's length; 0 or -EKEYREJECTED. */
static int view_frame(const struct kf_env_view *view, const char *topic, const uint8_t **frame,
                      size_t *tlen)
{
    if (!view || !topic || !view->signature)
        return -EKEYREJECTED;
    *tlen = strlen(topic);
    if (*tlen == 0 || *tlen > KF_TOPIC_MAX)
        return -EKEYREJECTED;
    /* The signed bytes run from the frame's start up to the signature. */
    *frame = view->signature - view->signed_len;
    return 0;
}

int kf_env_verify(const struct kf_env_view *view, const char *topic, const uint8_t pk[32])
{
    const uint8_t *frame;
    uint8_t *msg;
    size_t tlen, mlen;
    int r;

    if (!pk || view_frame(view, topic, &frame, &tlen) != 0)
        return -EKEYREJECTED;
    msg = signed_message(topic, tlen, frame, view->signed_len, &mlen);
    if (!msg)
        return -ENOMEM;
    r = crypto_sign_verify_detached(view->signature, msg, mlen, pk);
    free(msg);
    return r == 0 ? 0 : -EKEYREJECTED;
}

int kf_env_verify_mac(const struct kf_env_view *view, const char *topic,
                      const uint8_t key[KF_ACK_KEY_BYTES])
{
    const uint8_t *frame;
    uint8_t mac[KF_ENV_SIG_BYTES];
    size_t tlen;
    int r;

    if (!key || view_frame(view, topic, &frame, &tlen) != 0)
        return -EKEYREJECTED;
    ack_mac(key, topic, tlen, frame, view->signed_len, mac);
    r = crypto_verify_64(mac, view->signature);
    return r == 0 ? 0 : -EKEYREJECTED;
}

/* Write every frame byte before the trailer; *ret_len is the whole frame's length. */
static int frame_write(const struct kf_env_header *hdr, const char *topic, const uint8_t *body,
                       size_t body_len, uint8_t *out, size_t cap, size_t *ret_tlen, size_t *ret_len)
{
    size_t idlen, tlen, total;
    uint8_t *p;

    if (!hdr || !topic || !out || (!body && body_len > 0))
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
    *ret_tlen = tlen;
    *ret_len = total;
    return 0;
}

int kf_env_seal(const struct kf_env_header *hdr, const char *topic, const uint8_t *body,
                size_t body_len, const uint8_t sk[64], uint8_t *out, size_t cap, size_t *ret_len)
{
    size_t tlen, total, mlen;
    uint8_t *msg;
    int r;

    if (!sk)
        return -EINVAL;
    r = frame_write(hdr, topic, body, body_len, out, cap, &tlen, &total);
    if (r != 0)
        return r;
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

int kf_env_seal_mac(const struct kf_env_header *hdr, const char *topic, const uint8_t *body,
                    size_t body_len, const uint8_t key[KF_ACK_KEY_BYTES], uint8_t *out, size_t cap,
                    size_t *ret_len)
{
    size_t tlen, total;
    int r;

    if (!key)
        return -EINVAL;
    r = frame_write(hdr, topic, body, body_len, out, cap, &tlen, &total);
    if (r != 0)
        return r;
    ack_mac(key, topic, tlen, out, total - KF_ENV_SIG_BYTES, out + total - KF_ENV_SIG_BYTES);
    *ret_len = total;
    return 0;
}

/* X25519 between one side's Ed25519 secret key and the other's Ed25519 public key, then
 * BLAKE2b-256(context || shared point || server pk || device pk). */
static int ack_key(const uint8_t my_sk[64], const uint8_t peer_pk[32], const uint8_t server_pk[32],
                   const uint8_t device_pk[32], uint8_t key[KF_ACK_KEY_BYTES])
{
    uint8_t xsk[crypto_scalarmult_curve25519_SCALARBYTES];
    uint8_t xpk[crypto_scalarmult_curve25519_BYTES];
    uint8_t shared[crypto_scalarmult_curve25519_BYTES];
    crypto_generichash_blake2b_state s;
    int r = -EKEYREJECTED;

    if (!my_sk || !peer_pk || !key)
        return -EINVAL;
    if (crypto_sign_ed25519_sk_to_curve25519(xsk, my_sk) == 0 &&
        crypto_sign_ed25519_pk_to_curve25519(xpk, peer_pk) == 0 &&
        crypto_scalarmult_curve25519(shared, xsk, xpk) == 0) {
        crypto_generichash_blake2b_init(&s, NULL, 0, KF_ACK_KEY_BYTES);
        crypto_generichash_blake2b_update(&s, (const uint8_t *)KF_ACK_KEY_CONTEXT,
                                          sizeof(KF_ACK_KEY_CONTEXT) - 1);
        crypto_generichash_blake2b_update(&s, shared, sizeof(shared));
        crypto_generichash_blake2b_update(&s, server_pk, 32);
        crypto_generichash_blake2b_update(&s, device_pk, 32);
        crypto_generichash_blake2b_final(&s, key, KF_ACK_KEY_BYTES);
        sodium_memzero(&s, sizeof(s));
        r = 0;
    }
    sodium_memzero(xsk, sizeof(xsk));
    sodium_memzero(shared, sizeof(shared));
    return r;
}

int kf_ack_key_server(const uint8_t server_sk[64], const uint8_t device_pk[32],
                      uint8_t key[KF_ACK_KEY_BYTES])
{
    return ack_key(server_sk, device_pk, server_sk ? server_sk + 32 : NULL, device_pk, key);
}

int kf_ack_key_device(const uint8_t device_sk[64], const uint8_t server_pk[32],
                      uint8_t key[KF_ACK_KEY_BYTES])
{
    return ack_key(device_sk, server_pk, server_pk, device_sk ? device_sk + 32 : NULL, key);
}
