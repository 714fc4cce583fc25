/* kf/ident.h: identity messages (docs/PROTOCOL.md section 11): enrollment tokens, the
 * enrollment and key-rotation requests a device sends on kf/v1/<client>/enroll, and the
 * server's signed result on kf/v1/<client>/ack.
 *
 * An enrollment token is "KF1-<id>-<secret>": id is 10 base32 characters (RFC 4648
 * alphabet, upper case), secret is 16 random bytes as 26 base32 characters. From the
 * secret the device derives (BLAKE2b keyed with the secret):
 *   - the password of its one-time broker account "_enroll-<id>", and
 *   - the key of the MAC ("proof") that binds its new public key to the token.
 * The server stores only the MAC key and the broker password's verifier, never the secret.
 *
 * Any thread; no globals. Functions return 0 or a negative errno.
 */
#ifndef KF_IDENT_H
#define KF_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

#define KF_TOKEN_ID_LEN 10
#define KF_TOKEN_SECRET_BYTES 16
#define KF_TOKEN_LEN (4 + KF_TOKEN_ID_LEN + 1 + 26) /* "KF1-" id "-" secret */
#define KF_ENROLL_USER_PREFIX "_enroll-"
#define KF_ENROLL_PW_LEN 43    /* base64url, no padding, of 32 bytes */
#define KF_PW_VERIFIER_MAX 160 /* a Mosquitto "$6$salt$hash" line part */
#define KF_IDENT_PROOF_BYTES 32

enum kf_ident_op {
    KF_IDENT_ENROLL = 1, /* "enroll" */
    KF_IDENT_ROTATE = 2, /* "rotate" */
};

/* Why the server refused a request (the "reason" of a refused result). */
enum kf_ident_refusal {
    KF_IDENT_OK = 0,
    KF_IDENT_TOKEN_UNKNOWN,  /* "token_unknown" */
    KF_IDENT_TOKEN_EXPIRED,  /* "token_expired" */
    KF_IDENT_TOKEN_USED,     /* "token_used": already used by another key */
    KF_IDENT_BAD_PROOF,      /* "bad_proof": MAC does not match the token */
    KF_IDENT_ASSET_RETIRED,  /* "asset_retired" */
    KF_IDENT_DEVICE_UNKNOWN, /* "device_unknown" */
    KF_IDENT_REVOKED,        /* "revoked": the device is revoked */
    KF_IDENT_STALE_EPOCH,    /* "stale_epoch": rotation from a key that is not current */
    KF_IDENT_REFUSAL_COUNT_
};
const char *kf_ident_refusal_name(int reason);

/* A device's request, decoded. enroll: token_id, pk (the new key), verifier, proof.
 * rotate: device_id (= the frame's), old_epoch (= the frame's key epoch), new_epoch
 * (old + 1), pk (the new key), new_sig (signature by the new key, kf_ident_rotate_msg). */
struct kf_ident_req {
    int op; /* enum kf_ident_op */
    char token_id[KF_TOKEN_ID_LEN + 1];
    char device_id[KF_DEVICE_ID_MAX + 1];
    uint8_t pk[32];
    char verifier[KF_PW_VERIFIER_MAX + 1];
    uint8_t proof[KF_IDENT_PROOF_BYTES];
    uint32_t old_epoch, new_epoch;
    uint8_t new_sig[64];
};

/* The server's answer. ok: device_id and key_epoch now valid for the device. */
struct kf_ident_result {
    int op;     /* enum kf_ident_op */
    int reason; /* enum kf_ident_refusal; KF_IDENT_OK when accepted */
    char device_id[KF_DEVICE_ID_MAX + 1];
    uint32_t key_epoch;
};

/* Tokens. kf_token_new fills id and secret with fresh randomness. kf_token_format writes
 * the token text (out: cap >= KF_TOKEN_LEN + 1). kf_token_parse accepts surrounding
 * whitespace and lower case; -EINVAL for anything else. */
void kf_token_new(char id[KF_TOKEN_ID_LEN + 1], uint8_t secret[KF_TOKEN_SECRET_BYTES]);
int kf_token_format(const char *id, const uint8_t secret[KF_TOKEN_SECRET_BYTES], char *out,
                    size_t cap);
int kf_token_parse(const char *text, char id[KF_TOKEN_ID_LEN + 1],
                   uint8_t secret[KF_TOKEN_SECRET_BYTES]);
/* The enrolling client's broker username "_enroll-<id>" (cap >= KF_DEVICE_ID_MAX + 1). */
int kf_token_username(const char *id, char *out, size_t cap);
/* Derivations from the secret: the broker password (out: KF_ENROLL_PW_LEN + 1) and the
 * proof's MAC key (32 bytes). */
void kf_token_broker_password(const uint8_t secret[KF_TOKEN_SECRET_BYTES], char *out);
void kf_token_mac_key(const uint8_t secret[KF_TOKEN_SECRET_BYTES], uint8_t key[32]);

/* The proof of an enroll request: HMAC-SHA-512-256 (crypto_auth) with the MAC key over
 * "kioskfleet/enroll/v1" || id || pk || verifier (each length-prefixed, u16 big-endian).
 * kf_ident_proof_check: 0 or -EKEYREJECTED, constant time. */
void kf_ident_proof(const uint8_t mac_key[32], const struct kf_ident_req *req,
                    uint8_t out[KF_IDENT_PROOF_BYTES]);
int kf_ident_proof_check(const uint8_t mac_key[32], const struct kf_ident_req *req);

/* What the new key signs in a rotate request: "kioskfleet/rotate/v1" || u16 len || device
 * id || u32 new_epoch || new pk (all big-endian). kf_ident_rotate_sign/check use it. */
void kf_ident_rotate_sign(struct kf_ident_req *req, const uint8_t new_sk[64]);
int kf_ident_rotate_check(const struct kf_ident_req *req);

/* JSON bodies (docs/PROTOCOL.md). to_json: returns a malloc'd NUL-terminated string in
 * *ret (owned) or -ENOMEM. parse: strict (unknown fields, wrong types, bad hex: -EBADMSG). */
int kf_ident_req_to_json(const struct kf_ident_req *req, char **ret);
int kf_ident_req_parse(const char *json, size_t len, struct kf_ident_req *ret);
int kf_ident_result_to_json(const struct kf_ident_result *res, char **ret);
int kf_ident_result_parse(const char *json, size_t len, struct kf_ident_result *ret);

#endif
