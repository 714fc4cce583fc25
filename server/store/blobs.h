/* store/blobs.h: bundles terminals send in chunks (docs/PROTOCOL.md "BLOB"): the logs a
 * `logs` command collected. kioskd's ingest stores each chunk (idempotently, in the group
 * commit), verifies a bundle's SHA-256 when it is whole, and keeps it for a while; a logs
 * command is done only when its bundle is whole and matches the SHA-256 its cmd_result
 * named. kioskctl and kiosk-web read a whole bundle back. Same threading rule as store.h.
 * Functions return 0 or a negative errno.
 */
#ifndef KF_STORE_BLOBS_H
#define KF_STORE_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define KF_STORE_BLOB_MAX_TOTAL_DEFAULT (1024ull * 1024 * 1024) /* 1 GiB, all bundles */
#define KF_STORE_BLOB_KEEP_DAYS_DEFAULT 30

/* The writer's bounds (kioskd's [blobs]): bytes of all bundles kept (a new bundle past it is
 * refused: its command fails), and how long a whole bundle is kept after it completed (older
 * ones are deleted when another completes). 0 for either: the default. */
void kf_store_blob_limits(struct kf_store *st, uint64_t max_total, uint32_t keep_days);

/* A command's bundle. */
struct kf_store_blob {
    char device_id[64];
    uint64_t cmd_seq;
    char kind[32];
    char status[16]; /* the command's */
    int state;       /* enum kf_blob_state; -1: no chunk received yet */
    uint32_t have, nchunks;
    uint64_t total;
    uint8_t sha256[32];
};

/* What the store knows of command id's bundle (row id, as kioskctl names it "C-<id>").
 * -ENOENT: no such command (or not visible to this connection's role). */
int kf_store_blob_info(struct kf_store *st, int64_t id, struct kf_store_blob *ret);
/* Command id's whole bundle, verified again against its SHA-256: an owned buffer in *ret
 * (free()), *ret_len bytes. -ENOENT (no such command), -EAGAIN (not whole yet, or refused:
 * see kf_store_blob_info), -EBADMSG (the stored chunks do not match: damaged). */
int kf_store_blob_read(struct kf_store *st, int64_t id, uint8_t **ret, size_t *ret_len);

#endif
