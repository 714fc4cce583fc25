/* checker/check.h: does an issued bill follow from its bundle? (docs/BILLING.md "Checking a
 * bill offline"; the steps of /work/spec/bundle.md.) Every signature with the server's
 * public key (received out of band, never the bundle's own), the contracts against their
 * signed digests, the service intervals against their signed commissioning, each device fact
 * against the terminal's signed record behind it (its frame's signature), each seal's
 * facts against its digest, the incidents replayed, the month's report and the bill
 * recomputed to the fen and compared byte for byte. Stops at the first difference and names
 * it: which log entry, fact, terminal, bill line and field, both values.
 *
 * Pure computation over a parsed bundle (checker/bundle.h) with kf_rules: no store, no loop.
 */
#ifndef KF_CHECKER_CHECK_H
#define KF_CHECKER_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "checker/bundle.h"

struct kf_check_result {
    char number[32];
    size_t lines, facts, seals, incidents, entries, device_facts, frames;
    int64_t gross_fen;
    char message[1024]; /* the first difference, or the OK line */
};

/* 0: the bill follows (message: the OK line); 1: a difference (message names it);
 * -ENOMEM. */
int kf_check_bundle(const struct kf_bundle *b, const uint8_t server_pk[32],
                    struct kf_check_result *res);

#endif
