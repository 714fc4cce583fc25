/* verify.h: kioskd's verification stage, the work of pipeline.h's verify jobs. Any thread:
 * nothing here touches shared state but the registry snapshot the caller holds a reference
 * to, and a per-thread sample of signature-check CPU time.
 */
#ifndef KF_KIOSKD_VERIFY_H
#define KF_KIOSKD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <kf/codec.h>
#include <kf/fetch.h>
#include <kf/ident.h>

#include "kioskd/link.h"
#include "store/registry.h"
#include "store/ingest.h"
#include "store/store.h"

/* One frame that passed verification; owns body_json, and its recs follow it in the same
 * allocation; borrows topic/raw (the frame). */
struct kf_verified {
    struct kf_verified *next;
    struct kf_frame *frame; /* owned when not NULL (set by the pipeline) */
    struct kf_ingest ing;
    struct kf_ident_req *ident; /* owned; set for an identity request (topic "enroll") */
    int64_t recv_mono_us;
    uint8_t pk[32];        /* the device key it was verified with (not for identity requests) */
    struct kf_fetch fetch; /* a FETCH (ing.hdr.kind KF_MSG_FETCH): what it asks for */
};
void kf_verify_free(struct kf_verified *v); /* frees frame too when set; NULL is a no-op */

#define KF_VERIFY_SCRATCH_BYTES (KF_BODY_MAX_BYTES + 1u)

/* Verify and decode one frame as received on topic. Borrows reg (caller holds a
 * reference), z (this thread's), scratch (KF_VERIFY_SCRATCH_BYTES), topic and raw (which
 * must outlive *ret). Returns 0 with *ret owned (NULL: a topic the server does not
 * consume, e.g. ack/cmd), -EPROTO with *ret_reason (enum kf_reject), or -ENOMEM. */
int kf_verify_frame(const struct kf_registry *reg, struct kf_zctx *z, uint8_t *scratch,
                    const char *topic, const uint8_t *raw, size_t len, int64_t recv_ms,
                    struct kf_verified **ret, int *ret_reason);
/* What the signature checks cost this thread, sampled: one check in KF_SIG_CLOCK_EVERY is
 * timed with the thread's CPU clock (two clock reads, a syscall each, so not every one).
 * kf_verify_sig_clock_take adds this thread's samples since the last take to *ns and *n
 * and clears them. kioskd reports the sum in its stats (verify_sig_cpu_ns,
 * verify_sig_samples), so the benchmark can set its CPU per message against the
 * verification it did in the same seconds, under the same load (BENCHMARKS.md). */
#define KF_SIG_CLOCK_EVERY 16u
void kf_verify_sig_clock_take(uint64_t *ns, uint64_t *n);

/* The same for a quarantined frame handed back (store/quarantine.h): it is evidence of its
 * receipt, so a key retired since (rotated out) still verifies it; a revoked one does not. */
int kf_verify_replay(const struct kf_registry *reg, struct kf_zctx *z, uint8_t *scratch,
                     const char *topic, const uint8_t *raw, size_t len, int64_t recv_ms,
                     struct kf_verified **ret, int *ret_reason);

#endif
