/* kf/envelope.h: the signed frame every message travels in.
 *
 * Wire format (all integers big-endian; docs/PROTOCOL.md is the normative text):
 *
 *   off  size  field
 *   0    2     magic "KF" (0x4B 0x46)
 *   2    1     version (1)
 *   3    1     kind (enum kf_msg_kind)
 *   4    1     flags (KF_ENV_F_*)
 *   5    1     L = device id length, 1..KF_DEVICE_ID_MAX
 *   6    L     device id, ASCII [A-Za-z0-9._-]
 *   6+L  4     key epoch (which of the device's keys signed this; for an ACK, the device key
 *              its MAC key was derived from)
 *   +4   4     dictionary id (0 = none; required when KF_ENV_F_ZSTD is set with a dictionary)
 *   +8   8     seq: first record sequence number (RECORDS), acked high-water mark (ACK),
 *              next sequence number (HELLO), 0 otherwise
 *   +16  4     count: number of records in the body (RECORDS), else 0
 *   +20  8     device time, signed ms since the Unix epoch, UTC, when the frame was sealed
 *   +28  8     clock offset, signed ms: the sender's last measured (server time - device time),
 *              meaningful only with KF_ENV_F_CLOCK_SYNCED; in an ACK, the device time of
 *              the newest frame it answers (how the device knows the ACK is fresh)
 *   +36  4     N = body length in bytes (as sent, i.e. compressed when KF_ENV_F_ZSTD)
 *   +40  N     body
 *   +N   64    trailer: Ed25519 signature; for an ACK, a MAC (below)
 *
 * The signature is over: "kioskfleet/env/v1" (17 bytes, no NUL) || u16 topic length ||
 * topic bytes || every frame byte before the signature. Covering the topic binds the frame
 * to one device's topic; covering the compressed body lets a receiver verify before it
 * decompresses anything.
 *
 * An ACK's trailer is keyed BLAKE2b-512 over the same bytes, under a key the server and the
 * device each derive from their own secret key and the other's public key (X25519): an ACK
 * costs the server a hash, not a signature, and only that device can check or forge it.
 * Its key epoch names the device key the MAC key was derived from.
 */
#ifndef KF_ENVELOPE_H
#define KF_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define KF_ENV_VERSION 1
#define KF_DEVICE_ID_MAX 48
#define KF_ENV_FIXED_BYTES 46u /* header without the device id: 6 + 40 */
#define KF_ENV_SIG_BYTES 64u
#define KF_ENV_MAX_BYTES (64u * 1024u)   /* a whole frame on the wire */
#define KF_BODY_MAX_BYTES (256u * 1024u) /* a body after decompression */
#define KF_ENV_MAX_RECORDS 1000u
#define KF_TOPIC_MAX 128u
#define KF_ENV_SIGN_CONTEXT "kioskfleet/env/v1"
#define KF_ACK_KEY_BYTES 32u
#define KF_ACK_KEY_CONTEXT "kioskfleet/ack-key/v1"

enum kf_msg_kind {
    KF_MSG_RECORDS = 1,      /* a batch of records: body is a JSON array */
    KF_MSG_HELLO = 2,        /* birth message after each connect: body is a JSON object */
    KF_MSG_STATE = 3,        /* "online"/"offline" (the will): body is a JSON object */
    KF_MSG_ACK = 4,          /* server -> device: seq is the committed high-water mark */
    KF_MSG_COMMAND = 5,      /* server -> device on "cmd": a signed command (kf/command.h) */
    KF_MSG_IDENT = 6,        /* device -> server on "enroll": enrollment or key rotation (JSON) */
    KF_MSG_IDENT_RESULT = 7, /* server -> device on "ack": the answer to KF_MSG_IDENT (JSON) */
    KF_MSG_BLOB = 8,         /* device -> server on "blob": one chunk of a bundle (kf/blob.h) */
    KF_MSG_BLOB_ACK = 9,     /* server -> device on "ack": the chunks held (kf/blob.h), MAC */
    KF_MSG_FETCH = 10,       /* device -> server on "blob": chunks of an artifact wanted */
    KF_MSG_PART = 11,        /* server -> device on "ack": one chunk of it (kf/fetch.h), MAC */
};

#define KF_ENV_F_ZSTD 0x01u         /* body is one zstd frame */
#define KF_ENV_F_CLOCK_SYNCED 0x02u /* clock_offset_ms is a measurement */
#define KF_ENV_F_KNOWN 0x03u        /* any other flag bit set: malformed */

struct kf_env_header {
    uint8_t kind;
    uint8_t flags;
    char device_id[KF_DEVICE_ID_MAX + 1]; /* NUL-terminated */
    uint32_t key_epoch;
    uint32_t dict_id;
    uint64_t seq;
    uint32_t count;
    int64_t device_ms;
    int64_t clock_offset_ms;
};

/* A parsed (not yet verified) frame. Pointers borrow from the parsed buffer. */
struct kf_env_view {
    struct kf_env_header hdr;
    const uint8_t *body; /* as sent (compressed when KF_ENV_F_ZSTD) */
    size_t body_len;
    const uint8_t *signature; /* KF_ENV_SIG_BYTES */
    size_t signed_len;        /* frame bytes covered by the signature */
};

/* Check the frame's structure and bounds without any crypto. Borrows buf (len bytes).
 * Returns 0, -EMSGSIZE (longer than KF_ENV_MAX_BYTES), -EBADMSG (anything malformed:
 * magic, version, kind, flags, id charset, lengths that disagree, a non-zero dict_id
 * without KF_ENV_F_ZSTD, count outside 1..KF_ENV_MAX_RECORDS for RECORDS or non-zero for
 * any other kind). Any thread. */
int kf_env_parse(const uint8_t *buf, size_t len, struct kf_env_view *ret_view);

/* Verify the signature of a parsed frame as received on topic with public key pk.
 * Returns 0, -EKEYREJECTED (bad signature, or topic empty or longer than KF_TOPIC_MAX), or
 * -ENOMEM. Any thread. */
int kf_env_verify(const struct kf_env_view *view, const char *topic, const uint8_t pk[32]);

/* Build and sign a frame. body/body_len are sent as given (compress first with kf_zctx);
 * hdr->flags/dict_id must describe them. sk is a libsodium Ed25519 secret key (64 bytes).
 * Writes into out (cap bytes). Returns 0, -EINVAL (bad header: the kf_env_parse rules, or a
 * topic of 0 or more than KF_TOPIC_MAX bytes), -EMSGSIZE (does not fit cap or
 * KF_ENV_MAX_BYTES), -ENOMEM. Any thread. */
int kf_env_seal(const struct kf_env_header *hdr, const char *topic, const uint8_t *body,
                size_t body_len, const uint8_t sk[64], uint8_t *out, size_t cap, size_t *ret_len);

/* The same frame with a MAC trailer instead of a signature (ACKs): key from
 * kf_ack_key_server. Same returns as kf_env_seal. Any thread. */
int kf_env_seal_mac(const struct kf_env_header *hdr, const char *topic, const uint8_t *body,
                    size_t body_len, const uint8_t key[KF_ACK_KEY_BYTES], uint8_t *out, size_t cap,
                    size_t *ret_len);

/* Check a parsed frame's MAC trailer as received on topic. 0 or -EKEYREJECTED (wrong MAC,
 * or topic empty or longer than KF_TOPIC_MAX). Constant time in the MAC. Any thread. */
int kf_env_verify_mac(const struct kf_env_view *view, const char *topic,
                      const uint8_t key[KF_ACK_KEY_BYTES]);

/* The key that authenticates the server's ACKs to the device holding one key pair: the
 * server derives it from its secret key and the device's public key, the device from its
 * secret key and the server's public key; both get the same 32 bytes (docs/PROTOCOL.md,
 * section 4). One X25519 each: derive once per key, not per ACK. Returns 0, -EINVAL (NULL),
 * or -EKEYREJECTED (a public key that is not a usable curve point). Any thread. */
int kf_ack_key_server(const uint8_t server_sk[64], const uint8_t device_pk[32],
                      uint8_t key[KF_ACK_KEY_BYTES]);
int kf_ack_key_device(const uint8_t device_sk[64], const uint8_t server_pk[32],
                      uint8_t key[KF_ACK_KEY_BYTES]);

/* True if s is a valid device id (1..KF_DEVICE_ID_MAX chars of [A-Za-z0-9._-]). */
int kf_device_id_valid(const char *s);

#endif
