/* store/audit_log.h: the append-only audit log (docs/SECURITY.md): every enrollment,
 * rotation, revocation, replacement and token, with who and why.
 *
 * The log is a hash chain: entry n carries BLAKE2b-256 over ("kioskfleet/audit/v1", the
 * previous entry's hash, its own fields) and an Ed25519 signature of that hash by the server
 * key. Rewriting an entry breaks the chain; rewriting the whole chain needs the server's
 * secret key. SQLite triggers refuse UPDATE and DELETE on the table.
 *
 * Same threading rule as store.h (one thread per connection). An append joins the caller's
 * transaction when it holds one, so an action without its entry cannot exist.
 */
#ifndef KF_STORE_AUDIT_LOG_H
#define KF_STORE_AUDIT_LOG_H

#include <stdint.h>

#include "store/store.h"

/* Append one audit entry (also used by provisioning for "device.register" and the like).
 * detail is a JSON object text (may be "{}"). */
int kf_store_audit_log_append(struct kf_store *st, int64_t at_ms, const char *actor,
                              const char *action, const char *subject, const char *detail,
                              const uint8_t server_sk[64]);

/* One audit entry as stored. Borrowed strings, valid during the callback. */
struct kf_audit_entry {
    int64_t seq, at_ms;
    const char *actor, *action, *subject, *detail;
    uint8_t prev_hash[32], hash[32], sig[64];
};
typedef int (*kf_audit_cb)(const struct kf_audit_entry *e, void *ud);
/* Every entry in order; a non-zero return from cb stops and is returned. */
int kf_store_audit_log_each(struct kf_store *st, kf_audit_cb cb, void *ud);

/* Verify the chain and every signature with server_pk. Returns 0 when intact (ret_n:
 * entries checked, ret_head: the last hash, publishable), 1 when broken (ret_bad_seq: the
 * first bad entry, ret_what: what is wrong), -errno on database failure. */
int kf_store_audit_log_verify(struct kf_store *st, const uint8_t server_pk[32], int64_t *ret_n,
                              uint8_t ret_head[32], int64_t *ret_bad_seq, const char **ret_what);

#endif
