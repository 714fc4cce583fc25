/* kf/fetch.h: moving a software artifact server -> device (docs/PROTOCOL.md section 6,
 * "FETCH" and "PART"), for the `update` command: the agent asks for a window of chunks,
 * the server answers each with the chunk.
 *
 * An artifact has two **parts**: part 0, the signed manifest (kf/manifest.h, at most
 * KF_MANIFEST_FILE_MAX bytes, so one chunk), and part 1, the package file the manifest
 * describes (1..KF_ARTIFACT_MAX_BYTES). A part of `total` bytes is cut into chunks of
 * KF_FETCH_CHUNK_BYTES (the last one shorter), as bundles are (kf/blob.h).
 *
 * FETCH, device -> server on kf/v1/<device>/blob, signed by the device key like RECORDS:
 *   kind 10, flags 0 or CLOCK_SYNCED, dictionary id 0, seq = the update command's seq (>= 1),
 *   count 0, body (big-endian, 44 bytes) =
 *     32 B SHA-256 of the signed manifest (as the command's args name it) | u8 part |
 *     3 zero bytes | u32 first | u32 count (1..KF_FETCH_WINDOW)
 * PART, server -> device on kf/v1/<device>/ack, MAC'd like an ACK (the device's ACK key):
 *   kind 11, flags 0, dictionary id 0, key epoch = the device key the MAC key comes from,
 *   seq = the command's seq, count 0, device time = server clock, clock offset 0,
 *   body (big-endian) = u8 part | u8 state | 2 zero bytes | u32 index | u32 nchunks |
 *                       u64 total | 32 B SHA-256 of the whole part | the chunk's bytes
 *   state KF_FETCH_OK: a chunk (index < nchunks, its exact length); KF_FETCH_UNKNOWN: the
 *   server serves no such artifact to this command (index, nchunks, total 0, hash zero, no
 *   bytes): the agent fails the command.
 *
 * Any thread; no globals. Functions return 0 or a negative errno.
 */
#ifndef KF_FETCH_H
#define KF_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>
#include <kf/manifest.h>

#define KF_FETCH_CHUNK_BYTES 32768u /* every chunk but the last */
#define KF_FETCH_CHUNKS_MAX (KF_ARTIFACT_MAX_BYTES / KF_FETCH_CHUNK_BYTES) /* 2048 */
#define KF_FETCH_WINDOW 8u /* chunks one FETCH may ask for: the most in flight */
#define KF_FETCH_BODY_BYTES 44u
#define KF_PART_HEAD_BYTES 52u /* a PART body before the chunk's bytes */
#define KF_FETCH_FRAME_MAX                                                                         \
    (KF_ENV_FIXED_BYTES + KF_DEVICE_ID_MAX + KF_FETCH_BODY_BYTES + KF_ENV_SIG_BYTES)
/* A PART frame on the wire, at most (46 + 48 + 52 + 32768 + 64). */
#define KF_PART_FRAME_MAX                                                                          \
    (KF_ENV_FIXED_BYTES + KF_DEVICE_ID_MAX + KF_PART_HEAD_BYTES + KF_FETCH_CHUNK_BYTES +           \
     KF_ENV_SIG_BYTES)

enum kf_fetch_part {
    KF_PART_MANIFEST = 0, /* the signed manifest, at most KF_MANIFEST_FILE_MAX bytes */
    KF_PART_FILE = 1,     /* the package, at most KF_ARTIFACT_MAX_BYTES */
};

enum kf_fetch_state {
    KF_FETCH_OK = 0,      /* a chunk */
    KF_FETCH_UNKNOWN = 1, /* no such artifact for this command: give up */
};

struct kf_fetch {
    uint64_t cmd_seq; /* the update command (the header's seq) */
    uint8_t manifest_sha256[32];
    uint8_t part;   /* enum kf_fetch_part */
    uint32_t first; /* < the part's nchunks (the server checks against it) */
    uint32_t count; /* 1..KF_FETCH_WINDOW */
};

/* One PART. data borrows from the frame it was parsed from. */
struct kf_part {
    uint64_t cmd_seq;
    uint8_t part;  /* enum kf_fetch_part */
    uint8_t state; /* enum kf_fetch_state */
    uint32_t index;
    uint32_t nchunks;
    uint64_t total;
    uint8_t sha256[32];
    const uint8_t *data;
    size_t len;
};

/* Chunks for a part of total bytes (0 when total is 0 or over the part's bound). */
uint32_t kf_part_nchunks(uint8_t part, uint64_t total);
/* Chunk index's length within a part of total bytes (0 when out of range). */
size_t kf_part_chunk_len(uint8_t part, uint64_t total, uint32_t index);

/* Seal f on kf/v1/<base->device_id>/blob with the device's secret key (base gives device id,
 * key epoch, device time and clock fields). -EINVAL, -EMSGSIZE. */
int kf_fetch_seal(const struct kf_env_header *base, const struct kf_fetch *f, const uint8_t sk[64],
                  uint8_t *out, size_t cap, size_t *ret_len);
/* The FETCH in a parsed frame, strictly (structure only: kf_env_verify first). 0 or
 * -EBADMSG. */
int kf_fetch_parse(const struct kf_env_view *v, struct kf_fetch *ret);

/* Seal a PART for device_id (key epoch epoch) with its ACK key at now_ms. -EINVAL,
 * -EMSGSIZE. */
int kf_part_seal(const char *device_id, uint32_t epoch, const struct kf_part *p, int64_t now_ms,
                 const uint8_t key[KF_ACK_KEY_BYTES], uint8_t *out, size_t cap, size_t *ret_len);
/* The PART in a parsed frame, strictly (check its MAC with kf_env_verify_mac first). 0 with
 * *ret borrowing from v's buffer, or -EBADMSG. */
int kf_part_parse(const struct kf_env_view *v, struct kf_part *ret);

#endif
