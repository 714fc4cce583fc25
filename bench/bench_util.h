/* bench_util.h: helpers shared by the benchmark programs (bench/ only; not a library of
 * the product). Single-threaded use unless a comment says otherwise.
 */
#ifndef KF_BENCH_UTIL_H
#define KF_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <kf/codec.h>
#include <kf/envelope.h>

/* Deterministic generator (xorshift64*), one per producer. */
struct kf_bench_rng {
    uint64_t s;
};
void kf_bench_rng_seed(struct kf_bench_rng *r, uint64_t seed);
uint32_t kf_bench_rng_below(struct kf_bench_rng *r, uint32_t n);

/* Realistic state of one simulated terminal (clock, counters). */
struct kf_bench_term {
    struct kf_bench_rng rng;
    int64_t ts_ms; /* device time of the next record */
    uint64_t uptime_s, rx, tx;
    int app_ids;      /* give every txn an application id (its journal number) */
    uint64_t journal; /* the next one */
};
void kf_bench_term_init(struct kf_bench_term *t, uint64_t seed, int64_t start_ms);

/* Build one sealed RECORDS frame for device_id: nrec records (txns, and a health sample
 * as the last record of every frame with nrec >= 2), seqs [seq, seq+nrec), JSON array
 * compressed with the v1 dictionary, topic kf/v1/<id>/events, key epoch 1.
 * Writes the frame into out (cap) and the topic into topic (KF_TOPIC_MAX+1).
 * Returns 0 and *ret_len, or a negative errno. z and body are scratch (body: cap_body). */
int kf_bench_frame(struct kf_bench_term *t, struct kf_zctx *z, const char *device_id, uint64_t seq,
                   uint32_t nrec, const uint8_t sk[64], char *body, size_t cap_body, uint8_t *out,
                   size_t cap, size_t *ret_len, char *topic, size_t *ret_body_len);

/* The exact bytes kf_env_verify checks the signature over, as envelope.c builds them:
 * context || u16 topic length || topic || the frame before its signature (v parsed from
 * frame). The floor a server's CPU per message is divided by is one
 * crypto_sign_verify_detached over these. Returns a malloc'ed buffer and *ret_len, or NULL. */
uint8_t *kf_bench_signed_msg(const struct kf_env_view *v, const uint8_t *frame, const char *topic,
                             size_t *ret_len);

/* Clocks: monotonic seconds; this thread's CPU seconds; this process's CPU seconds. */
double kf_bench_now(void);
double kf_bench_thread_cpu(void);
double kf_bench_process_cpu(void);

/* Median of n doubles (sorts v in place). n >= 1. */
double kf_bench_median(double *v, size_t n);

/* Parse an unsigned decimal in [lo, hi]; 0 or -EINVAL. */
int kf_bench_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *ret);
int kf_bench_parse_double(const char *s, double *ret);

#endif
