/* rules/logentry.h: the hash and signature of one entry of the signed log (store/audit_log.h),
 * the one implementation that the store (which appends and verifies the chain) and a bank's
 * offline checker (checker/, which holds only some entries) both call.
 *
 * hash = BLAKE2b-256("kioskfleet/audit/v1" || prev_hash (32) || seq (i64 BE) || at_ms (i64 BE)
 *        || lp(actor) || lp(action) || lp(subject) || lp(detail)), lp = 4-byte BE length and
 *        the bytes; sig = Ed25519 over the 32-byte hash by the server key.
 *
 * Pure (libsodium only), any thread.
 */
#ifndef KF_RULES_LOGENTRY_H
#define KF_RULES_LOGENTRY_H

#include <stdint.h>

#define KF_LOG_ENTRY_CTX "kioskfleet/audit/v1"

/* One entry's fields (borrowed strings, NUL-terminated). */
struct kf_log_entry {
    int64_t seq, at_ms;
    const char *actor, *action, *subject, *detail;
};

/* The entry's hash over prev (the previous entry's hash; 32 zeros for the first). */
void kf_log_entry_hash(const uint8_t prev[32], const struct kf_log_entry *e, uint8_t out[32]);

enum kf_log_entry_check {
    KF_LOG_ENTRY_OK = 0,
    KF_LOG_ENTRY_BAD_HASH = 1, /* the fields and prev do not give hash (edited) */
    KF_LOG_ENTRY_BAD_SIG = 2,  /* the signature over hash is not server_pk's */
};
/* Check one entry: its hash from prev and its fields, then its signature with server_pk.
 * Returns enum kf_log_entry_check. */
int kf_log_entry_verify(const uint8_t prev[32], const struct kf_log_entry *e,
                        const uint8_t hash[32], const uint8_t sig[64], const uint8_t server_pk[32]);

/* Why a check failed, in words ("" for OK). */
const char *kf_log_entry_check_name(int v);

#endif
