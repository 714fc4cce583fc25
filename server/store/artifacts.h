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

#endif
