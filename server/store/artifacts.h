/* store/artifacts.h: software artifacts kept on the server (docs/KIOSKCTL.md "artifact",
 * docs/PROTOCOL.md section 14): a Debian package and its signed manifest (kf/manifest.h),
 * added by `kioskctl artifact add` after the manifest verified under the release public key
 * and the package matched its size and SHA-256; stored in chunks of KF_BLOB_CHUNK_BYTES so
 * that they can be served in pieces. Each addition is in the signed log ("artifact.add").
 * Same threading rule as store.h. Functions return 0 or a negative errno.
 */
#ifndef KF_STORE_ARTIFACTS_H
#define KF_STORE_ARTIFACTS_H

#include <stddef.h>
#include <stdint.h>

#include <kf/manifest.h>

#include "store/query.h"
#include "store/store.h"

/* Add the artifact data (len bytes, already checked against m) with its signed manifest
 * text, in the caller's transaction when it holds one, with its signed-log entry (actor by,
 * subject "<name>_<version>", detail {sha256, size, kinds, reason}). *ret_id: its row.
 * -EEXIST: that name and version are stored already; -EINVAL: m invalid or len != m->size. */
int kf_store_artifact_add(struct kf_store *st, const struct kf_manifest *m, const char *manifest,
                          const uint8_t *data, size_t len, int64_t now_ms, const char *by,
                          const char *reason, const uint8_t server_sk[64], int64_t *ret_id);
/* kioskctl artifact list: table "artifacts". */
int kf_store_artifact_list(struct kf_store *st, struct kf_qtable **ret);

/* The `update` command (docs/PROTOCOL.md section 6, "FETCH"): artifact name/version is stored
 * and is for device_id's kind; ret_hex: the SHA-256 of its signed manifest (64 lowercase hex),
 * the command's third argument. -ENOENT (no such device or artifact), -EPERM (not for this
 * device's kind), with the store's error set. */
int kf_store_artifact_for_device(struct kf_store *st, const char *device_id, const char *name,
                                 const char *version, char ret_hex[65]);

/* One chunk of a part (kf/fetch.h) of an artifact, as a PART carries it. */
struct kf_store_part {
    uint64_t total;     /* the part's length */
    uint32_t nchunks;   /* kf_part_nchunks(part, total) */
    uint8_t sha256[32]; /* of the whole part */
    uint8_t *data;      /* owned (kf_store_part_free): the chunk's bytes */
    size_t len;
};

/* Chunk index of part (KF_PART_*) of the artifact that device_id's update command cmd_seq
 * names, when that command is open (queued, sent or received) and its third argument is
 * manifest_sha, and the signed manifest stored hashes to it. -ENOENT: no such open command,
 * or another artifact (the device is answered KF_FETCH_UNKNOWN); -ERANGE: index past the
 * part's end (*ret has total, nchunks, sha256); -EIO: a chunk missing from the store. */
int kf_store_artifact_chunk(struct kf_store *st, const char *device_id, uint64_t cmd_seq,
                            const uint8_t manifest_sha[32], uint8_t part, uint32_t index,
                            struct kf_store_part *ret);
void kf_store_part_free(struct kf_store_part *p);

#endif
