/* core/outbox_blob.h: bundles in the outbox file (docs/AGENT.md "Logs"): the compressed
 * logs a `logs` command collected, kept from the transaction that reports the command until
 * the server says it holds them all (a BLOB_ACK, kf/blob.h). Same thread rules as outbox.h.
 * Functions return 0 or a negative errno.
 */
#ifndef KF_AGENT_CORE_OUTBOX_BLOB_H
#define KF_AGENT_CORE_OUTBOX_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "core/outbox.h"

#define KF_OUTBOX_BLOBS_MAX 4u /* bundles held at once: a fifth logs command is refused */

/* A bundle as stored (data only in kf_outbox_blob_finish). */
struct kf_outbox_blob {
    uint64_t cmd_seq;
    uint8_t sha256[32];
    uint64_t total;
    uint32_t nchunks;
    uint32_t have;       /* chunks the server holds from index 0 */
    const uint8_t *data; /* borrowed: total bytes */
};

/* Report command seq with recs (its cmd_result last, as kf_outbox_cmd_finish) and keep b, in
 * one transaction: a crash keeps both or neither. -EALREADY: reported before (nothing
 * written); -EINVAL; the append's errors. */
int kf_outbox_blob_finish(struct kf_outbox *ob, uint64_t seq, const struct kf_outbox_rec *recs,
                          size_t n, const struct kf_outbox_blob *b);
/* The held bundle with the lowest command seq above after (data NULL): 0, or -ENOENT. */
int kf_outbox_blob_next(struct kf_outbox *ob, uint64_t after, struct kf_outbox_blob *ret);
/* How many bundles are held, and their bytes. */
int kf_outbox_blob_count(struct kf_outbox *ob, uint32_t *ret_n, uint64_t *ret_bytes);
/* Chunk index of bundle seq into buf (cap >= its length); its length in *ret_len. -ENOENT. */
int kf_outbox_blob_chunk(struct kf_outbox *ob, uint64_t seq, uint32_t index, uint8_t *buf,
                         size_t cap, size_t *ret_len);
/* The server holds have chunks of bundle seq (only ever moves forward). */
int kf_outbox_blob_have(struct kf_outbox *ob, uint64_t seq, uint32_t have);
/* Forget bundle seq (the server holds it all, or refused it for good). */
int kf_outbox_blob_drop(struct kf_outbox *ob, uint64_t seq);

#endif
