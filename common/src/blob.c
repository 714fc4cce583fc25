/* blob.c: BLOB and BLOB_ACK frames (kf/blob.h), on the one envelope codec (envelope.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include <kf/blob.h>
#include <kf/topic.h>

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

uint32_t kf_blob_nchunks(uint64_t total)
{
    if (total == 0 || total > KF_BLOB_MAX_BYTES)
        return 0;
    return (uint32_t)((total + KF_BLOB_CHUNK_BYTES - 1) / KF_BLOB_CHUNK_BYTES);
}

size_t kf_blob_chunk_len(uint64_t total, uint32_t index)
{
    uint32_t n = kf_blob_nchunks(total);

    if (index >= n)
        return 0;
    if (index + 1 < n)
        return KF_BLOB_CHUNK_BYTES;
    return (size_t)(total - (uint64_t)index * KF_BLOB_CHUNK_BYTES);
}

static int chunk_valid(const struct kf_blob_chunk *c)
{
    return c->cmd_seq >= 1 && c->cmd_seq <= (uint64_t)INT64_MAX &&
           c->nchunks == kf_blob_nchunks(c->total) && c->nchunks != 0 && c->index < c->nchunks &&
           c->len == kf_blob_chunk_len(c->total, c->index);
}

int kf_blob_seal(const struct kf_env_header *base, const struct kf_blob_chunk *c,
                 const uint8_t sk[64], uint8_t *out, size_t cap, size_t *ret_len)
{
    uint8_t body[KF_BLOB_HEAD_BYTES + KF_BLOB_CHUNK_BYTES];
    struct kf_env_header h;
    char topic[KF_TOPIC_MAX];
    int rc;

    if (base == NULL || c == NULL || !chunk_valid(c) || (c->len > 0 && c->data == NULL))
        return -EINVAL;
    rc = kf_topic_format(topic, sizeof(topic), base->device_id, KF_TOPIC_BLOB);
    if (rc < 0)
        return rc;
    h = *base;
    h.kind = KF_MSG_BLOB;
    h.flags &= (uint8_t)~KF_ENV_F_ZSTD;
    h.dict_id = 0;
    h.seq = c->cmd_seq;
    h.count = 0;
    put32(body, c->index);
    put32(body + 4, c->nchunks);
    put64(body + 8, c->total);
    memcpy(body + 16, c->sha256, 32);
    memcpy(body + KF_BLOB_HEAD_BYTES, c->data, c->len);
    return kf_env_seal(&h, topic, body, KF_BLOB_HEAD_BYTES + c->len, sk, out, cap, ret_len);
}

int kf_blob_parse(const struct kf_env_view *v, struct kf_blob_chunk *ret)
{
    struct kf_blob_chunk c;

    if (v == NULL || v->hdr.kind != KF_MSG_BLOB || (v->hdr.flags & KF_ENV_F_ZSTD) ||
        v->hdr.dict_id != 0 || v->hdr.count != 0 || v->body_len < KF_BLOB_HEAD_BYTES + 1 ||
        v->body_len > KF_BLOB_HEAD_BYTES + KF_BLOB_CHUNK_BYTES)
        return -EBADMSG;
    c.cmd_seq = v->hdr.seq;
    c.index = get32(v->body);
    c.nchunks = get32(v->body + 4);
    c.total = get64(v->body + 8);
    memcpy(c.sha256, v->body + 16, 32);
    c.data = v->body + KF_BLOB_HEAD_BYTES;
    c.len = v->body_len - KF_BLOB_HEAD_BYTES;
    if (!chunk_valid(&c))
        return -EBADMSG;
    *ret = c;
    return 0;
}

int kf_blob_ack_seal(const char *device_id, uint32_t epoch, const struct kf_blob_ack *a,
                     int64_t now_ms, const uint8_t key[KF_ACK_KEY_BYTES], uint8_t *out, size_t cap,
                     size_t *ret_len)
{
    uint8_t body[KF_BLOB_ACK_BODY_BYTES] = {0};
    struct kf_env_header h;
    char topic[KF_TOPIC_MAX];
    int rc;

    if (a == NULL || a->cmd_seq == 0 || a->cmd_seq > (uint64_t)INT64_MAX ||
        a->have > KF_BLOB_CHUNKS_MAX || a->state > KF_BLOB_REFUSED)
        return -EINVAL;
    rc = kf_topic_format(topic, sizeof(topic), device_id, KF_TOPIC_ACK);
    if (rc < 0)
        return rc;
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_BLOB_ACK;
    snprintf(h.device_id, sizeof(h.device_id), "%s", device_id);
    h.key_epoch = epoch;
    h.seq = a->cmd_seq;
    h.device_ms = now_ms;
    put32(body, a->have);
    body[4] = a->state;
    return kf_env_seal_mac(&h, topic, body, sizeof(body), key, out, cap, ret_len);
}

int kf_blob_ack_parse(const struct kf_env_view *v, struct kf_blob_ack *ret)
{
    struct kf_blob_ack a;

    if (v == NULL || v->hdr.kind != KF_MSG_BLOB_ACK || v->hdr.flags != 0 || v->hdr.count != 0 ||
        v->hdr.dict_id != 0 || v->hdr.clock_offset_ms != 0 || v->hdr.seq == 0 ||
        v->hdr.seq > (uint64_t)INT64_MAX || v->body_len != KF_BLOB_ACK_BODY_BYTES ||
        v->body[5] != 0 || v->body[6] != 0 || v->body[7] != 0)
        return -EBADMSG;
    a.cmd_seq = v->hdr.seq;
    a.have = get32(v->body);
    a.state = v->body[4];
    if (a.have > KF_BLOB_CHUNKS_MAX || a.state > KF_BLOB_REFUSED)
        return -EBADMSG;
    *ret = a;
    return 0;
}

int kf_blob_inflate(const uint8_t *z, size_t zlen, size_t cap, uint8_t **ret, size_t *ret_len)
{
    unsigned long long n;
    uint8_t *out;
    size_t got;

    if (z == NULL || zlen == 0 || ZSTD_findFrameCompressedSize(z, zlen) != zlen)
        return -EBADMSG; /* exactly one frame, nothing after it */
    n = ZSTD_getFrameContentSize(z, zlen);
    if (n == ZSTD_CONTENTSIZE_ERROR)
        return -EBADMSG;
    if (n == ZSTD_CONTENTSIZE_UNKNOWN)
        n = cap; /* streamed frame: decompress into the whole bound */
    if (n > cap)
        return -EMSGSIZE;
    out = malloc((size_t)n + 1);
    if (out == NULL)
        return -ENOMEM;
    got = ZSTD_decompress(out, (size_t)n, z, zlen);
    if (ZSTD_isError(got)) {
        free(out);
        return n == cap ? -EMSGSIZE : -EBADMSG; /* a streamed frame past the bound, or damage */
    }
    out[got] = '\0';
    *ret = out;
    *ret_len = got;
    return 0;
}
