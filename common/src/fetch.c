/* fetch.c: FETCH and PART frames (kf/fetch.h), on the one envelope codec (envelope.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kf/fetch.h>
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

static uint64_t part_max(uint8_t part)
{
    if (part == KF_PART_MANIFEST)
        return KF_MANIFEST_FILE_MAX;
    if (part == KF_PART_FILE)
        return KF_ARTIFACT_MAX_BYTES;
    return 0;
}

uint32_t kf_part_nchunks(uint8_t part, uint64_t total)
{
    if (total == 0 || total > part_max(part))
        return 0;
    return (uint32_t)((total + KF_FETCH_CHUNK_BYTES - 1) / KF_FETCH_CHUNK_BYTES);
}

size_t kf_part_chunk_len(uint8_t part, uint64_t total, uint32_t index)
{
    uint32_t n = kf_part_nchunks(part, total);

    if (index >= n)
        return 0;
    if (index + 1 < n)
        return KF_FETCH_CHUNK_BYTES;
    return (size_t)(total - (uint64_t)index * KF_FETCH_CHUNK_BYTES);
}

static int fetch_valid(const struct kf_fetch *f)
{
    return f->cmd_seq >= 1 && f->cmd_seq <= (uint64_t)INT64_MAX && part_max(f->part) != 0 &&
           f->first < KF_FETCH_CHUNKS_MAX && f->count >= 1 && f->count <= KF_FETCH_WINDOW;
}

int kf_fetch_seal(const struct kf_env_header *base, const struct kf_fetch *f, const uint8_t sk[64],
                  uint8_t *out, size_t cap, size_t *ret_len)
{
    uint8_t body[KF_FETCH_BODY_BYTES] = {0};
    struct kf_env_header h;
    char topic[KF_TOPIC_MAX];
    int rc;

    if (base == NULL || f == NULL || !fetch_valid(f))
        return -EINVAL;
    rc = kf_topic_format(topic, sizeof(topic), base->device_id, KF_TOPIC_BLOB);
    if (rc < 0)
        return rc;
    h = *base;
    h.kind = KF_MSG_FETCH;
    h.flags &= (uint8_t)~KF_ENV_F_ZSTD;
    h.dict_id = 0;
    h.seq = f->cmd_seq;
    h.count = 0;
    memcpy(body, f->manifest_sha256, 32);
    body[32] = f->part;
    put32(body + 36, f->first);
    put32(body + 40, f->count);
    return kf_env_seal(&h, topic, body, sizeof(body), sk, out, cap, ret_len);
}

int kf_fetch_parse(const struct kf_env_view *v, struct kf_fetch *ret)
{
    struct kf_fetch f;

    if (v == NULL || v->hdr.kind != KF_MSG_FETCH || (v->hdr.flags & KF_ENV_F_ZSTD) ||
        v->hdr.dict_id != 0 || v->hdr.count != 0 || v->body_len != KF_FETCH_BODY_BYTES ||
        v->body[33] != 0 || v->body[34] != 0 || v->body[35] != 0)
        return -EBADMSG;
    f.cmd_seq = v->hdr.seq;
    memcpy(f.manifest_sha256, v->body, 32);
    f.part = v->body[32];
    f.first = get32(v->body + 36);
    f.count = get32(v->body + 40);
    if (!fetch_valid(&f))
        return -EBADMSG;
    *ret = f;
    return 0;
}

static int part_valid(const struct kf_part *p)
{
    static const uint8_t zero[32];

    if (p->cmd_seq < 1 || p->cmd_seq > (uint64_t)INT64_MAX || part_max(p->part) == 0)
        return 0;
    if (p->state == KF_FETCH_UNKNOWN)
        return p->index == 0 && p->nchunks == 0 && p->total == 0 && p->len == 0 &&
               memcmp(p->sha256, zero, 32) == 0;
    return p->state == KF_FETCH_OK && p->nchunks == kf_part_nchunks(p->part, p->total) &&
           p->nchunks != 0 && p->index < p->nchunks &&
           p->len == kf_part_chunk_len(p->part, p->total, p->index);
}

int kf_part_seal(const char *device_id, uint32_t epoch, const struct kf_part *p, int64_t now_ms,
                 const uint8_t key[KF_ACK_KEY_BYTES], uint8_t *out, size_t cap, size_t *ret_len)
{
    uint8_t body[KF_PART_HEAD_BYTES + KF_FETCH_CHUNK_BYTES];
    struct kf_env_header h;
    char topic[KF_TOPIC_MAX];
    int rc;

    if (p == NULL || !part_valid(p) || (p->len > 0 && p->data == NULL))
        return -EINVAL;
    rc = kf_topic_format(topic, sizeof(topic), device_id, KF_TOPIC_ACK);
    if (rc < 0)
        return rc;
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_PART;
    snprintf(h.device_id, sizeof(h.device_id), "%s", device_id);
    h.key_epoch = epoch;
    h.seq = p->cmd_seq;
    h.device_ms = now_ms;
    memset(body, 0, KF_PART_HEAD_BYTES);
    body[0] = p->part;
    body[1] = p->state;
    put32(body + 4, p->index);
    put32(body + 8, p->nchunks);
    put64(body + 12, p->total);
    memcpy(body + 20, p->sha256, 32);
    if (p->len > 0)
        memcpy(body + KF_PART_HEAD_BYTES, p->data, p->len);
    return kf_env_seal_mac(&h, topic, body, KF_PART_HEAD_BYTES + p->len, key, out, cap, ret_len);
}

int kf_part_parse(const struct kf_env_view *v, struct kf_part *ret)
{
    struct kf_part p;

    if (v == NULL || v->hdr.kind != KF_MSG_PART || v->hdr.flags != 0 || v->hdr.count != 0 ||
        v->hdr.dict_id != 0 || v->hdr.clock_offset_ms != 0 || v->body_len < KF_PART_HEAD_BYTES ||
        v->body_len > KF_PART_HEAD_BYTES + KF_FETCH_CHUNK_BYTES || v->body[2] != 0 ||
        v->body[3] != 0)
        return -EBADMSG;
    p.cmd_seq = v->hdr.seq;
    p.part = v->body[0];
    p.state = v->body[1];
    p.index = get32(v->body + 4);
    p.nchunks = get32(v->body + 8);
    p.total = get64(v->body + 12);
    memcpy(p.sha256, v->body + 20, 32);
    p.data = v->body + KF_PART_HEAD_BYTES;
    p.len = v->body_len - KF_PART_HEAD_BYTES;
    if (!part_valid(&p))
        return -EBADMSG;
    *ret = p;
    return 0;
}
