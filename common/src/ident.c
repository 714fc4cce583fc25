/* ident.c: enrollment tokens and identity messages (kf/ident.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <kf/ident.h>
#include <kf/keyfile.h>

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static const char *const refusal_names[KF_IDENT_REFUSAL_COUNT_] = {
    [KF_IDENT_OK] = "ok",
    [KF_IDENT_TOKEN_UNKNOWN] = "token_unknown",
    [KF_IDENT_TOKEN_EXPIRED] = "token_expired",
    [KF_IDENT_TOKEN_USED] = "token_used",
    [KF_IDENT_BAD_PROOF] = "bad_proof",
    [KF_IDENT_ASSET_RETIRED] = "asset_retired",
    [KF_IDENT_DEVICE_UNKNOWN] = "device_unknown",
    [KF_IDENT_REVOKED] = "revoked",
    [KF_IDENT_STALE_EPOCH] = "stale_epoch",
};

const char *kf_ident_refusal_name(int reason)
{
    if (reason < 0 || reason >= KF_IDENT_REFUSAL_COUNT_)
        return NULL;
    return refusal_names[reason];
}

/* Base32 of nbits bits from in (MSB first), zero-padded to a whole character. */
static void b32_encode(const uint8_t *in, size_t nbits, char *out)
{
    size_t nchars = (nbits + 4) / 5;

    for (size_t c = 0; c < nchars; c++) {
        unsigned v = 0;
        for (size_t b = 0; b < 5; b++) {
            size_t bit = c * 5 + b;
            unsigned x =
                bit < nbits ? ((unsigned)in[bit / 8] >> (7u - (unsigned)(bit % 8))) & 1u : 0u;
            v = (v << 1) | x;
        }
        out[c] = b32[v];
    }
    out[nchars] = '\0';
}

/* Decode exactly nchars base32 characters into nbytes; padding bits must be zero. */
static int b32_decode(const char *in, size_t nchars, uint8_t *out, size_t nbytes)
{
    size_t nbits = nbytes * 8;

    if ((nbits + 4) / 5 != nchars)
        return -EINVAL;
    memset(out, 0, nbytes);
    for (size_t c = 0; c < nchars; c++) {
        const char *p = strchr(b32, toupper((unsigned char)in[c]));
        unsigned v;

        if (in[c] == '\0' || p == NULL)
            return -EINVAL;
        v = (unsigned)(p - b32);
        for (size_t b = 0; b < 5; b++) {
            size_t bit = c * 5 + b;
            unsigned x = (v >> (4u - (unsigned)b)) & 1u;
            if (bit < nbits)
                out[bit / 8] = (uint8_t)(out[bit / 8] | (x << (7u - (unsigned)(bit % 8))));
            else if (x)
                return -EINVAL;
        }
    }
    return 0;
}

void kf_token_new(char id[KF_TOKEN_ID_LEN + 1], uint8_t secret[KF_TOKEN_SECRET_BYTES])
{
    uint8_t raw[7];

    randombytes_buf(raw, sizeof(raw));
    b32_encode(raw, KF_TOKEN_ID_LEN * 5, id);
    randombytes_buf(secret, KF_TOKEN_SECRET_BYTES);
    sodium_memzero(raw, sizeof(raw));
}

int kf_token_format(const char *id, const uint8_t secret[KF_TOKEN_SECRET_BYTES], char *out,
                    size_t cap)
{
    char s[32];
    int n;

    if (strlen(id) != KF_TOKEN_ID_LEN)
        return -EINVAL;
    b32_encode(secret, KF_TOKEN_SECRET_BYTES * 8, s);
    n = snprintf(out, cap, "KF1-%s-%s", id, s);
    sodium_memzero(s, sizeof(s));
    return n < 0 || (size_t)n >= cap ? -EMSGSIZE : 0;
}

int kf_token_parse(const char *text, char id[KF_TOKEN_ID_LEN + 1],
                   uint8_t secret[KF_TOKEN_SECRET_BYTES])
{
    char buf[KF_TOKEN_LEN + 1];
    size_t len;

    while (isspace((unsigned char)*text))
        text++;
    len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len != KF_TOKEN_LEN)
        return -EINVAL;
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    if (memcmp(buf, "KF1-", 4) != 0 || buf[4 + KF_TOKEN_ID_LEN] != '-')
        return -EINVAL;
    /* The id is 50 bits: check its characters without keeping the bytes. */
    for (size_t i = 0; i < KF_TOKEN_ID_LEN; i++)
        if (strchr(b32, buf[4 + i]) == NULL)
            return -EINVAL;
    if (b32_decode(buf + 5 + KF_TOKEN_ID_LEN, 26, secret, KF_TOKEN_SECRET_BYTES) != 0) {
        sodium_memzero(buf, sizeof(buf));
        return -EINVAL;
    }
    memcpy(id, buf + 4, KF_TOKEN_ID_LEN);
    id[KF_TOKEN_ID_LEN] = '\0';
    sodium_memzero(buf, sizeof(buf));
    return 0;
}

int kf_token_username(const char *id, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", KF_ENROLL_USER_PREFIX, id);

    return n < 0 || (size_t)n >= cap ? -EMSGSIZE : 0;
}

static void derive(const uint8_t secret[KF_TOKEN_SECRET_BYTES], const char *ctx, uint8_t out[32])
{
    crypto_generichash(out, 32, (const uint8_t *)ctx, strlen(ctx), secret, KF_TOKEN_SECRET_BYTES);
}

void kf_token_broker_password(const uint8_t secret[KF_TOKEN_SECRET_BYTES], char *out)
{
    uint8_t k[32];

    derive(secret, "kioskfleet/enroll-broker/v1", k);
    sodium_bin2base64(out, KF_ENROLL_PW_LEN + 1, k, sizeof(k),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(k, sizeof(k));
}

void kf_token_mac_key(const uint8_t secret[KF_TOKEN_SECRET_BYTES], uint8_t key[32])
{
    derive(secret, "kioskfleet/enroll-mac/v1", key);
}

static void put_lp(crypto_auth_hmacsha512256_state *st, const void *p, size_t n)
{
    uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};

    crypto_auth_hmacsha512256_update(st, len, 2);
    crypto_auth_hmacsha512256_update(st, p, n);
}

void kf_ident_proof(const uint8_t mac_key[32], const struct kf_ident_req *req,
                    uint8_t out[KF_IDENT_PROOF_BYTES])
{
    static const char ctx[] = "kioskfleet/enroll/v1";
    crypto_auth_hmacsha512256_state st;

    crypto_auth_hmacsha512256_init(&st, mac_key, 32);
    crypto_auth_hmacsha512256_update(&st, (const uint8_t *)ctx, sizeof(ctx) - 1);
    put_lp(&st, req->token_id, strlen(req->token_id));
    put_lp(&st, req->pk, sizeof(req->pk));
    put_lp(&st, req->verifier, strlen(req->verifier));
    crypto_auth_hmacsha512256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

int kf_ident_proof_check(const uint8_t mac_key[32], const struct kf_ident_req *req)
{
    uint8_t want[KF_IDENT_PROOF_BYTES];
    int r;

    kf_ident_proof(mac_key, req, want);
    r = sodium_memcmp(want, req->proof, sizeof(want)) == 0 ? 0 : -EKEYREJECTED;
    sodium_memzero(want, sizeof(want));
    return r;
}

/* "kioskfleet/rotate/v1" || u16 len || id || u32 epoch || pk */
static size_t rotate_msg(const struct kf_ident_req *req, uint8_t *m)
{
    static const char ctx[] = "kioskfleet/rotate/v1";
    size_t idlen = strlen(req->device_id), n = 0;

    memcpy(m, ctx, sizeof(ctx) - 1);
    n += sizeof(ctx) - 1;
    m[n++] = (uint8_t)(idlen >> 8);
    m[n++] = (uint8_t)idlen;
    memcpy(m + n, req->device_id, idlen);
    n += idlen;
    for (int s = 24; s >= 0; s -= 8)
        m[n++] = (uint8_t)(req->new_epoch >> s);
    memcpy(m + n, req->pk, 32);
    return n + 32;
}

void kf_ident_rotate_sign(struct kf_ident_req *req, const uint8_t new_sk[64])
{
    uint8_t m[32 + KF_DEVICE_ID_MAX + 40];
    size_t n = rotate_msg(req, m);

    crypto_sign_detached(req->new_sig, NULL, m, n, new_sk);
}

int kf_ident_rotate_check(const struct kf_ident_req *req)
{
    uint8_t m[32 + KF_DEVICE_ID_MAX + 40];
    size_t n = rotate_msg(req, m);

    return crypto_sign_verify_detached(req->new_sig, m, n, req->pk) == 0 ? 0 : -EKEYREJECTED;
}

/* ---- JSON ---- */

static const char *op_name(int op)
{
    return op == KF_IDENT_ENROLL ? "enroll" : op == KF_IDENT_ROTATE ? "rotate" : NULL;
}

static int op_parse(const char *s)
{
    if (strcmp(s, "enroll") == 0)
        return KF_IDENT_ENROLL;
    if (strcmp(s, "rotate") == 0)
        return KF_IDENT_ROTATE;
    return 0;
}

static int dump(json_t *o, char **ret)
{
    char *s;

    if (o == NULL)
        return -ENOMEM;
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (s == NULL)
        return -ENOMEM;
    *ret = s;
    return 0;
}

static json_t *hex_value(const uint8_t *b, size_t n)
{
    char h[129];

    kf_hex_encode(b, n, h, sizeof(h));
    return json_string(h);
}

int kf_ident_req_to_json(const struct kf_ident_req *req, char **ret)
{
    json_t *o = json_object();

    if (o == NULL || op_name(req->op) == NULL) {
        json_decref(o);
        return o == NULL ? -ENOMEM : -EINVAL;
    }
    json_object_set_new(o, "op", json_string(op_name(req->op)));
    json_object_set_new(o, "pk", hex_value(req->pk, 32));
    if (req->op == KF_IDENT_ENROLL) {
        json_object_set_new(o, "token", json_string(req->token_id));
        json_object_set_new(o, "broker_verifier", json_string(req->verifier));
        json_object_set_new(o, "proof", hex_value(req->proof, sizeof(req->proof)));
    } else {
        json_object_set_new(o, "new_epoch", json_integer(req->new_epoch));
        json_object_set_new(o, "new_sig", hex_value(req->new_sig, 64));
    }
    return dump(o, ret);
}

static int get_hex(json_t *o, const char *k, uint8_t *out, size_t n)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_string(v) || json_string_length(v) != 2 * n)
        return -EBADMSG;
    return kf_hex_decode(json_string_value(v), out, n) == 0 ? 0 : -EBADMSG;
}

static int get_str(json_t *o, const char *k, char *out, size_t cap)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
        return -EBADMSG;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return strlen(out) == json_string_length(v) ? 0 : -EBADMSG; /* no NUL inside */
}

/* Every key of o must be in allowed. */
static int only_keys(json_t *o, const char *const *allowed)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v)
    {
        int found = 0;
        (void)v;
        for (const char *const *a = allowed; *a; a++)
            found |= strcmp(*a, k) == 0;
        if (!found)
            return -EBADMSG;
    }
    return 0;
}

int kf_ident_req_parse(const char *json, size_t len, struct kf_ident_req *ret)
{
    static const char *const enroll_keys[] = {"op",    "pk", "token", "broker_verifier",
                                              "proof", NULL};
    static const char *const rotate_keys[] = {"op", "pk", "new_epoch", "new_sig", NULL};
    struct kf_ident_req r;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *op, *ep;
    int rc = -EBADMSG;

    memset(&r, 0, sizeof(r));
    if (!json_is_object(o))
        goto out;
    op = json_object_get(o, "op");
    if (!json_is_string(op) || (r.op = op_parse(json_string_value(op))) == 0)
        goto out;
    if (only_keys(o, r.op == KF_IDENT_ENROLL ? enroll_keys : rotate_keys) != 0 ||
        get_hex(o, "pk", r.pk, 32) != 0)
        goto out;
    if (r.op == KF_IDENT_ENROLL) {
        if (get_str(o, "token", r.token_id, sizeof(r.token_id)) != 0 ||
            strlen(r.token_id) != KF_TOKEN_ID_LEN ||
            get_str(o, "broker_verifier", r.verifier, sizeof(r.verifier)) != 0 ||
            get_hex(o, "proof", r.proof, sizeof(r.proof)) != 0)
            goto out;
        for (const char *p = r.verifier; *p; p++)
            if (!isgraph((unsigned char)*p) || *p == ':')
                goto out; /* it becomes one line of the broker's password file */
    } else {
        ep = json_object_get(o, "new_epoch");
        if (!json_is_integer(ep) || json_integer_value(ep) < 2 ||
            json_integer_value(ep) > UINT32_MAX || get_hex(o, "new_sig", r.new_sig, 64) != 0)
            goto out;
        r.new_epoch = (uint32_t)json_integer_value(ep);
    }
    *ret = r;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int kf_ident_result_to_json(const struct kf_ident_result *res, char **ret)
{
    json_t *o = json_object();
    const char *reason = kf_ident_refusal_name(res->reason);

    if (o == NULL || op_name(res->op) == NULL || reason == NULL) {
        json_decref(o);
        return o == NULL ? -ENOMEM : -EINVAL;
    }
    json_object_set_new(o, "op", json_string(op_name(res->op)));
    json_object_set_new(o, "status", json_string(res->reason == KF_IDENT_OK ? "ok" : "refused"));
    if (res->reason == KF_IDENT_OK) {
        json_object_set_new(o, "device_id", json_string(res->device_id));
        json_object_set_new(o, "key_epoch", json_integer(res->key_epoch));
    } else {
        json_object_set_new(o, "reason", json_string(reason));
    }
    return dump(o, ret);
}

int kf_ident_result_parse(const char *json, size_t len, struct kf_ident_result *ret)
{
    static const char *const ok_keys[] = {"op", "status", "device_id", "key_epoch", NULL};
    static const char *const no_keys[] = {"op", "status", "reason", NULL};
    struct kf_ident_result r;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *op, *st, *ep, *rs;
    int rc = -EBADMSG;

    memset(&r, 0, sizeof(r));
    if (!json_is_object(o))
        goto out;
    op = json_object_get(o, "op");
    st = json_object_get(o, "status");
    if (!json_is_string(op) || (r.op = op_parse(json_string_value(op))) == 0 || !json_is_string(st))
        goto out;
    if (strcmp(json_string_value(st), "ok") == 0) {
        ep = json_object_get(o, "key_epoch");
        if (only_keys(o, ok_keys) != 0 ||
            get_str(o, "device_id", r.device_id, sizeof(r.device_id)) != 0 ||
            !kf_device_id_valid(r.device_id) || !json_is_integer(ep) ||
            json_integer_value(ep) < 1 || json_integer_value(ep) > UINT32_MAX)
            goto out;
        r.key_epoch = (uint32_t)json_integer_value(ep);
        r.reason = KF_IDENT_OK;
    } else if (strcmp(json_string_value(st), "refused") == 0) {
        rs = json_object_get(o, "reason");
        if (only_keys(o, no_keys) != 0 || !json_is_string(rs))
            goto out;
        r.reason = -1;
        for (int i = 1; i < KF_IDENT_REFUSAL_COUNT_; i++)
            if (strcmp(refusal_names[i], json_string_value(rs)) == 0)
                r.reason = i;
        if (r.reason < 0)
            goto out;
    } else {
        goto out;
    }
    *ret = r;
    rc = 0;
out:
    json_decref(o);
    return rc;
}
