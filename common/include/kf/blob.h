/* kf/blob.h: bundles of bytes a device sends the server in chunks (docs/PROTOCOL.md, section
 * 6, "BLOB" and "BLOB_ACK"): the logs a `logs` command collected, compressed.
 *
 * A bundle is at most KF_BLOB_MAX_BYTES, cut into chunks of KF_BLOB_CHUNK_BYTES (the last
 * one shorter), each sent in its own BLOB frame on kf/v1/<device>/blob, signed by the device
 * key like RECORDS:
 *   kind 8, flags 0 or CLOCK_SYNCED (never ZSTD: the bundle is compressed as a whole),
 *   dictionary id 0, seq = the command's seq (>= 1), count 0,
 *   body (big-endian) = u32 index | u32 nchunks | u64 total | 32 B SHA-256 of the whole
 *                       bundle | the chunk's bytes
 * The server answers each BLOB frame it committed with a BLOB_ACK on kf/v1/<device>/ack, MAC'd
 * like an ACK (kf_env_seal_mac, the device's ACK key):
 *   kind 9, flags 0, dictionary id 0, key epoch = the device key the MAC key comes from,
 *   seq = the command's seq, count 0, device time = server clock, clock offset 0,
 *   body (8 bytes) = u32 have | u8 state | 3 zero bytes
 * have: how many chunks from index 0 the server holds without a gap; state: KF_BLOB_*.
 *
 * Any thread; no globals. Functions return 0 or a negative errno.
 */
#ifndef KF_BLOB_H
#define KF_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

#define KF_BLOB_CHUNK_BYTES 32768u              /* every chunk but the last */
#define KF_BLOB_HEAD_BYTES 48u                  /* the body before the chunk's bytes */
#define KF_BLOB_MAX_BYTES (16u * 1024u * 1024u) /* a whole bundle, as sent (compressed) */
#define KF_BLOB_CHUNKS_MAX (KF_BLOB_MAX_BYTES / KF_BLOB_CHUNK_BYTES) /* 512 */
#define KF_BLOB_ACK_BODY_BYTES 8u
/* A BLOB frame on the wire, at most (46 + 48 + 48 + 32768 + 64). */
#define KF_BLOB_FRAME_MAX                                                                          \
    (KF_ENV_FIXED_BYTES + KF_DEVICE_ID_MAX + KF_BLOB_HEAD_BYTES + KF_BLOB_CHUNK_BYTES +            \
     KF_ENV_SIG_BYTES)
#define KF_BLOB_ACK_FRAME_MAX                                                                      \
    (KF_ENV_FIXED_BYTES + KF_DEVICE_ID_MAX + KF_BLOB_ACK_BODY_BYTES + KF_ENV_SIG_BYTES)

/* A BLOB_ACK's state. */
enum kf_blob_state {
    KF_BLOB_PARTIAL = 0,  /* chunks missing: send from `have` */
    KF_BLOB_COMPLETE = 1, /* all held and the SHA-256 verified: the device may forget it */
    KF_BLOB_REFUSED = 2,  /* never to be stored (over the server's bounds, or it did not
                           * verify): the device forgets it too; the command has failed */
};

/* One chunk. data borrows from the frame it was parsed from. */
struct kf_blob_chunk {
    uint64_t cmd_seq; /* the command the bundle answers (the header's seq) */
    uint32_t index;   /* 0..nchunks-1 */
    uint32_t nchunks; /* kf_blob_nchunks(total) */
    uint64_t total;   /* the bundle's length, 1..KF_BLOB_MAX_BYTES */
    uint8_t sha256[32];
    const uint8_t *data;
    size_t len; /* KF_BLOB_CHUNK_BYTES, or what is left for the last chunk */
};

struct kf_blob_ack {
    uint64_t cmd_seq;
    uint32_t have;
    uint8_t state; /* enum kf_blob_state */
};

/* Chunks for a bundle of total bytes (0 when total is 0 or over KF_BLOB_MAX_BYTES). */
uint32_t kf_blob_nchunks(uint64_t total);
/* Chunk index's length within a bundle of total bytes (0 when out of range). */
size_t kf_blob_chunk_len(uint64_t total, uint32_t index);

/* Seal chunk c on topic kf/v1/<base->device_id>/blob with the device's secret key. base
 * gives the device id, key epoch, device time and clock fields; kind, seq, count, dictionary
 * and the ZSTD flag are set here. -EINVAL (a chunk that breaks the rules above), -EMSGSIZE. */
int kf_blob_seal(const struct kf_env_header *base, const struct kf_blob_chunk *c,
                 const uint8_t sk[64], uint8_t *out, size_t cap, size_t *ret_len);
/* The chunk in a parsed BLOB frame (kf_env_parse), strictly: kind, flags, seq, count, body
 * layout, index/nchunks/total/len consistent. Structure only: verify the signature first
 * (kf_env_verify) and call this after. 0 with *ret borrowing from v's buffer, or -EBADMSG. */
int kf_blob_parse(const struct kf_env_view *v, struct kf_blob_chunk *ret);

/* Seal a BLOB_ACK for device_id (key epoch epoch) with its ACK key (kf_ack_key_server) at
 * now_ms. -EINVAL, -EMSGSIZE. */
int kf_blob_ack_seal(const char *device_id, uint32_t epoch, const struct kf_blob_ack *a,
                     int64_t now_ms, const uint8_t key[KF_ACK_KEY_BYTES], uint8_t *out, size_t cap,
                     size_t *ret_len);
/* The BLOB_ACK in a parsed frame, strictly (check its MAC with kf_env_verify_mac first).
 * 0 or -EBADMSG. */
int kf_blob_ack_parse(const struct kf_env_view *v, struct kf_blob_ack *ret);

/* The text of a logs bundle: the agent's [commands] log_max_bytes is bounded by this. */
#define KF_LOGS_TEXT_MAX (8u * 1024u * 1024u)
/* Decompress a bundle (one zstd frame) into a malloc'd buffer of at most cap bytes (owned,
 * NUL-terminated, *ret_len without the NUL). -EBADMSG (not one whole zstd frame), -EMSGSIZE
 * (more than cap), -ENOMEM. */
int kf_blob_inflate(const uint8_t *z, size_t zlen, size_t cap, uint8_t **ret, size_t *ret_len);

#endif
