/* store/identity.h: device identity in the store (docs/SECURITY.md): enrollment tokens,
 * enrollment, key rotation, revocation, replacement of a terminal under the same asset;
 * each recorded in the audit log (store/audit_log.h).
 *
 * Same threading rule as store.h (one thread per connection). Every function that changes
 * something runs in its own transaction unless the caller holds one, and appends its audit
 * entry in that same transaction: an action without its entry cannot exist.
 */
#ifndef KF_STORE_IDENTITY_H
#define KF_STORE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <kf/ident.h>

#include "store/audit_log.h"
#include "store/store.h"

#define KF_ACTOR_MAX 64
#define KF_REASON_MAX 256
#define KF_TOKEN_TTL_MAX_MS (30LL * 24 * 3600 * 1000) /* a token lives at most 30 days */

/* Device status in the devices table. */
enum kf_device_status {
    KF_DEVICE_ACTIVE = 1,
    KF_DEVICE_REVOKED = 2,
};

struct kf_token_req {
    const char *asset_id; /* created if new (then kind and zone_id are required) */
    int kind;             /* enum kf_device_kind; 0: take the existing asset's */
    const char *zone_id;  /* NULL: the existing asset's */
    const char *lease_ref;
    const char *actor;  /* who issues it (required) */
    const char *reason; /* why (required: "new installation", "replacement: ...") */
    int64_t ttl_ms;     /* 1 s .. KF_TOKEN_TTL_MAX_MS */
};

/* Issue a one-time enrollment token for an asset. Writes the token text into token_out
 * (cap >= KF_TOKEN_LEN + 1; the only place the secret ever exists on the server side) and
 * its id into ret_id. Stores the token's MAC key and the verifier of the derived broker
 * password (broker account "_enroll-<id>", expiring with the token), and audits
 * "token.issue". -EINVAL (bad fields, asset kind/zone mismatch), -ENOENT (zone unknown). */
int kf_store_identity_token_issue(struct kf_store *st, const struct kf_token_req *req,
                                  int64_t now_ms, const uint8_t server_sk[64], char *token_out,
                                  size_t cap, char ret_id[KF_TOKEN_ID_LEN + 1]);

/* Apply a device's verified identity request (the frame's signature has been checked with
 * req->pk for enroll, with the device's current key for rotate). Fills *ret: reason
 * KF_IDENT_OK with the device id and key epoch, or a refusal. Returns 0 whenever *ret is
 * filled (a refusal is not an error), -errno on database failure (nothing written).
 *   enroll: token known, proof valid, not expired, unused (a repeat by the same key gets
 *   the same answer: the device may have missed it); creates device "<asset>.<n>" with key
 *   epoch 1, its broker account (the request's verifier), consumes the token, drops the
 *   token's broker account, audits "device.enroll".
 *   rotate: device active, req->old_epoch its active key, new_epoch = old + 1, the new
 *   key's signature valid; the old key becomes retired (its frames stay valid evidence,
 *   new ones are refused), audits "key.rotate". A repeat of an applied rotation is ok. */
int kf_store_identity_apply(struct kf_store *st, const struct kf_ident_req *req, int64_t now_ms,
                            const uint8_t server_sk[64], struct kf_ident_result *ret);

/* Revoke a device: its keys are revoked (frames counted "revoked"; stored evidence still
 * verifies), its broker account is deleted (shut out at the next broker-sync), audits
 * "device.revoke" with actor and reason (both required). -ENOENT unknown device, -EALREADY
 * already revoked. */
int kf_store_identity_revoke(struct kf_store *st, const char *device_id, const char *actor,
                             const char *reason, int64_t now_ms, const uint8_t server_sk[64]);

/* Replace the terminal behind an asset (board or disk swapped): revoke every active device
 * bound to it, issue a token for the same asset, audit "asset.replace" (who, when, why).
 * Outputs as kf_store_identity_token_issue. -ENOENT unknown asset. */
int kf_store_identity_replace(struct kf_store *st, const char *asset_id, const char *actor,
                              const char *reason, int64_t ttl_ms, int64_t now_ms,
                              const uint8_t server_sk[64], char *token_out, size_t cap,
                              char ret_id[KF_TOKEN_ID_LEN + 1]);

#endif
