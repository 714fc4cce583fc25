/* verify.c: the verify stage (signature before decompression, then decode). Nothing here
 * touches struct kf_pipeline: verify jobs call it off the loop. */
#include "kioskd/verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <kf/blob.h>
#include <kf/envelope.h>
#include <kf/ident.h>
#include <kf/topic.h>

/* ---- verification (any thread) ---- */

void kf_verify_free(struct kf_verified *v)
{
    if (v == NULL) {
        return;
    }
    free((void *)(uintptr_t)v->ing.body_json); /* recs live in v's own allocation */
    free(v->ident);
    free(v->frame);
    free(v);
}

static int rec_cb(void *ud, uint32_t index, const struct kf_record *rec)
{
    struct kf_verified *v = ud;

    if (index >= v->ing.nrec) {
        return -EBADMSG;
    }
    v->ing.recs[index] = *rec;
    return 0;
}

static int kind_matches(enum kf_topic_kind tk, uint8_t kind)
{
    switch (tk) {
    case KF_TOPIC_TELEMETRY:
    case KF_TOPIC_EVENTS:
        return kind == KF_MSG_RECORDS;
    case KF_TOPIC_HELLO:
        return kind == KF_MSG_HELLO;
    case KF_TOPIC_STATE:
        return kind == KF_MSG_STATE;
    case KF_TOPIC_ENROLL:
        return kind == KF_MSG_IDENT;
    case KF_TOPIC_BLOB:
        return kind == KF_MSG_BLOB || kind == KF_MSG_FETCH;
    default:
        return 0;
    }
}

/* An identity request on "enroll" (docs/PROTOCOL.md section 11). Its body is plain JSON
 * (small; never compressed). An enrollment is signed by the new key it carries and its
 * frame names the enrolling client "_enroll-<token id>"; a rotation is signed by the
 * device's current key and carries a signature by the new one. Whether the token or the
 * epochs are right is the store's question (kf_store_identity_apply), asked on commit. */
static int verify_ident(const struct kf_registry *reg, const struct kf_env_view *view,
                        const char *topic, struct kf_ident_req **ret, int *ret_reason)
{
    char user[KF_DEVICE_ID_MAX + 1];
    struct kf_ident_req *req;
    const struct kf_reg_device *dev;
    const struct kf_reg_key *key;
    int reason = KF_REJECT_MALFORMED;

    if ((view->hdr.flags & KF_ENV_F_ZSTD) || view->body_len > 2048) {
        goto out_reject;
    }
    req = calloc(1, sizeof(*req));
    if (req == NULL) {
        return -ENOMEM;
    }
    if (kf_ident_req_parse((const char *)view->body, view->body_len, req) != 0) {
        goto out_free;
    }
    if (req->op == KF_IDENT_ENROLL) {
        if (kf_token_username(req->token_id, user, sizeof(user)) != 0 ||
            strcmp(user, view->hdr.device_id) != 0 || view->hdr.key_epoch != 1) {
            reason = KF_REJECT_WRONG_TOPIC;
            goto out_free;
        }
        if (kf_env_verify(view, topic, req->pk) != 0) {
            reason = KF_REJECT_BAD_SIGNATURE;
            goto out_free;
        }
    } else {
        dev = kf_store_registry_find(reg, view->hdr.device_id);
        key = dev != NULL ? kf_store_registry_key(dev, view->hdr.key_epoch) : NULL;
        if (key == NULL) {
            reason = KF_REJECT_UNKNOWN_DEVICE;
            goto out_free;
        }
        if (key->status != KF_KEY_ACTIVE) {
            reason = KF_REJECT_REVOKED;
            goto out_free;
        }
        snprintf(req->device_id, sizeof(req->device_id), "%s", view->hdr.device_id);
        req->old_epoch = view->hdr.key_epoch;
        if (kf_env_verify(view, topic, key->pk) != 0 || kf_ident_rotate_check(req) != 0) {
            reason = KF_REJECT_BAD_SIGNATURE;
            goto out_free;
        }
    }
    *ret = req;
    return 0;

out_free:
    free(req);
out_reject:
    *ret_reason = reason;
    return -EPROTO;
}

static int verify(const struct kf_registry *reg, struct kf_zctx *z, uint8_t *scratch,
                  const char *topic, const uint8_t *raw, size_t len, int64_t recv_ms, int replay,
                  struct kf_verified **ret, int *ret_reason);

static __thread struct {
    uint64_t seen, ns, n;
} sig_clock;

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* kf_env_verify, one call in KF_SIG_CLOCK_EVERY timed. */
static int sig_check(const struct kf_env_view *view, const char *topic, const uint8_t *pk)
{
    uint64_t t0;
    int r;

    if (sig_clock.seen++ % KF_SIG_CLOCK_EVERY != 0)
        return kf_env_verify(view, topic, pk);
    t0 = thread_cpu_ns();
    r = kf_env_verify(view, topic, pk);
    sig_clock.ns += thread_cpu_ns() - t0;
    sig_clock.n++;
    return r;
}

void kf_verify_sig_clock_take(uint64_t *ns, uint64_t *n)
{
    *ns += sig_clock.ns;
    *n += sig_clock.n;
    sig_clock.ns = sig_clock.n = 0;
}

int kf_verify_frame(const struct kf_registry *reg, struct kf_zctx *z, uint8_t *scratch,
                    const char *topic, const uint8_t *raw, size_t len, int64_t recv_ms,
                    struct kf_verified **ret, int *ret_reason)
{
    return verify(reg, z, scratch, topic, raw, len, recv_ms, 0, ret, ret_reason);
}

int kf_verify_replay(const struct kf_registry *reg, struct kf_zctx *z, uint8_t *scratch,
                     const char *topic, const uint8_t *raw, size_t len, int64_t recv_ms,
                     struct kf_verified **ret, int *ret_reason)
{
    return verify(reg, z, scratch, topic, raw, len, recv_ms, 1, ret, ret_reason);
}

/* The body into scratch (KF_VERIFY_SCRATCH_BYTES), decompressed when it is, bounded by
 * KF_BODY_MAX_BYTES and NUL-terminated; its length in *ret_len. 0, -EPROTO with
 * *ret_reason, or -ENOMEM. */
static int unpack(struct kf_zctx *z, const struct kf_env_view *view, uint8_t *scratch,
                  size_t *ret_len, int *ret_reason)
{
    int rc;

    if (view->hdr.flags & KF_ENV_F_ZSTD) {
        rc = kf_zctx_decompress(z, view->hdr.dict_id, view->body, view->body_len, scratch,
                                KF_BODY_MAX_BYTES, ret_len);
        if (rc == -ENOMEM) {
            return rc;
        }
        if (rc != 0) {
            *ret_reason = rc == -EMSGSIZE ? KF_REJECT_OVERSIZE : KF_REJECT_BAD_COMPRESSION;
            return -EPROTO;
        }
    } else {
        if (view->body_len > KF_BODY_MAX_BYTES) {
            *ret_reason = KF_REJECT_OVERSIZE;
            return -EPROTO;
        }
        *ret_len = view->body_len;
        if (view->body_len > 0) {
            memcpy(scratch, view->body, view->body_len);
        }
    }
    scratch[*ret_len] = '\0';
    return 0;
}

/* A verified frame for the body in scratch (blen bytes): RECORDS parsed into records that
 * follow the struct in one allocation, HELLO/STATE kept as a JSON object. 0 with *ret
 * owned, -EPROTO with *ret_reason, or -ENOMEM. */
static int decode(const struct kf_env_view *view, const uint8_t *scratch, size_t blen,
                  struct kf_verified **ret, int *ret_reason)
{
    struct kf_verified *v;
    size_t nrec;

    /* One allocation per frame: the records follow the struct (count <= KF_ENV_MAX_RECORDS,
     * checked by kf_env_parse). */
    nrec = view->hdr.kind == KF_MSG_RECORDS ? view->hdr.count : 0;
    v = calloc(1, sizeof(*v) + nrec * sizeof(struct kf_record));
    if (v == NULL) {
        return -ENOMEM;
    }
    if (view->hdr.kind == KF_MSG_RECORDS) {
        v->ing.nrec = view->hdr.count;
        v->ing.recs = nrec > 0 ? (struct kf_record *)(v + 1) : NULL;
        if (kf_records_parse((const char *)scratch, blen, view->hdr.count, rec_cb, v) != 0) {
            kf_verify_free(v);
            *ret_reason = KF_REJECT_MALFORMED;
            return -EPROTO;
        }
    } else {
        json_error_t jerr;
        json_t *obj = json_loadb((const char *)scratch, blen, JSON_REJECT_DUPLICATES, &jerr);
        int ok = obj != NULL && json_is_object(obj);
        char *copy;

        json_decref(obj);
        if (!ok) {
            kf_verify_free(v);
            *ret_reason = KF_REJECT_MALFORMED;
            return -EPROTO;
        }
        copy = malloc(blen + 1);
        if (copy == NULL) {
            kf_verify_free(v);
            return -ENOMEM;
        }
        memcpy(copy, scratch, blen + 1);
        v->ing.body_json = copy;
    }
    *ret = v;
    return 0;
}

static int verify(const struct kf_registry *reg, struct kf_zctx *z, uint8_t *scratch,
                  const char *topic, const uint8_t *raw, size_t len, int64_t recv_ms, int replay,
                  struct kf_verified **ret, int *ret_reason)
{
    char dev_id[KF_DEVICE_ID_MAX + 1];
    enum kf_topic_kind tk;
    struct kf_env_view view;
    const struct kf_reg_device *dev;
    const struct kf_reg_key *key;
    struct kf_verified *v;
    size_t blen;
    int reason, rc;

    if (kf_topic_parse(topic, dev_id, sizeof(dev_id), &tk) != 0) {
        reason = KF_REJECT_MALFORMED;
        goto out_reject;
    }
    if (tk == KF_TOPIC_ACK || tk == KF_TOPIC_CMD) {
        *ret = NULL; /* server -> device traffic: not ours to consume */
        return 0;
    }
    rc = kf_env_parse(raw, len, &view);
    if (rc != 0) {
        reason = rc == -EMSGSIZE ? KF_REJECT_OVERSIZE : KF_REJECT_MALFORMED;
        goto out_reject;
    }
    if (strcmp(view.hdr.device_id, dev_id) != 0) {
        reason = KF_REJECT_WRONG_TOPIC;
        goto out_reject;
    }
    if (!kind_matches(tk, view.hdr.kind)) {
        reason = KF_REJECT_WRONG_TOPIC; /* a kind that does not belong on this topic (§11) */
        goto out_reject;
    }
    /* Sequence numbers start at 1, and the store holds them as SQLite integers: a RECORDS
     * frame reaching past 2^63 - 1 can never be stored (docs/PROTOCOL.md section 8). */
    if (view.hdr.kind == KF_MSG_RECORDS &&
        (view.hdr.seq == 0 || view.hdr.seq > (uint64_t)INT64_MAX - view.hdr.count + 1)) {
        reason = KF_REJECT_MALFORMED;
        goto out_reject;
    }
    if (tk == KF_TOPIC_ENROLL) {
        struct kf_ident_req *req = NULL;

        rc = verify_ident(reg, &view, topic, &req, &reason);
        if (rc == -EPROTO) {
            goto out_reject;
        }
        if (rc != 0) {
            return rc;
        }
        v = calloc(1, sizeof(*v));
        if (v == NULL) {
            free(req);
            return -ENOMEM;
        }
        v->ident = req;
        v->ing.hdr = view.hdr;
        v->ing.topic = topic;
        v->ing.raw = raw;
        v->ing.raw_len = len;
        v->ing.recv_ms = recv_ms;
        *ret = v;
        return 0;
    }
    dev = kf_store_registry_find(reg, dev_id);
    key = dev != NULL ? kf_store_registry_key(dev, view.hdr.key_epoch) : NULL;
    if (key == NULL) {
        reason = KF_REJECT_UNKNOWN_DEVICE;
        goto out_reject;
    }
    if (key->status != KF_KEY_ACTIVE && !(replay && key->status == KF_KEY_RETIRED)) {
        reason = KF_REJECT_REVOKED;
        goto out_reject;
    }
    /* Signature over the compressed bytes, before anything is decompressed. */
    if (sig_check(&view, topic, key->pk) != 0) {
        reason = KF_REJECT_BAD_SIGNATURE;
        goto out_reject;
    }
    if (view.hdr.kind == KF_MSG_BLOB) {
        /* A chunk of a bundle: binary, never decompressed here (the bundle is compressed as
         * a whole and only ever decompressed by its reader, bounded). */
        v = calloc(1, sizeof(*v));
        if (v == NULL) {
            return -ENOMEM;
        }
        if (kf_blob_parse(&view, &v->ing.blob) != 0) {
            free(v);
            reason = KF_REJECT_MALFORMED;
            goto out_reject;
        }
        goto out_ok;
    }
    if (view.hdr.kind == KF_MSG_FETCH) {
        /* A request for chunks of an artifact (job_fetch.c): answered, never stored. */
        v = calloc(1, sizeof(*v));
        if (v == NULL) {
            return -ENOMEM;
        }
        if (kf_fetch_parse(&view, &v->fetch) != 0) {
            free(v);
            reason = KF_REJECT_MALFORMED;
            goto out_reject;
        }
        goto out_ok;
    }
    rc = unpack(z, &view, scratch, &blen, &reason);
    if (rc == -EPROTO) {
        goto out_reject;
    }
    if (rc != 0) {
        return rc;
    }
    rc = decode(&view, scratch, blen, &v, &reason);
    if (rc == -EPROTO) {
        goto out_reject;
    }
    if (rc != 0) {
        return rc;
    }
out_ok:
    v->ing.hdr = view.hdr;
    memcpy(v->pk, key->pk, sizeof(v->pk));
    memcpy(v->ing.asset_id, dev->asset_id, sizeof(v->ing.asset_id));
    v->ing.asset_id[KF_ASSET_ID_MAX] = '\0';
    v->ing.topic = topic;
    v->ing.raw = raw;
    v->ing.raw_len = len;
    v->ing.recv_ms = recv_ms;
    *ret = v;
    return 0;

out_reject:
    *ret_reason = reason;
    return -EPROTO;
}
