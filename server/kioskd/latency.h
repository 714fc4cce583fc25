/* latency.h: a latency histogram for kioskd's stats (receipt to commit, one group commit).
 * Plain data: whoever owns a histogram calls these (the loop, for the pipeline's).
 */
#ifndef KF_KIOSKD_LATENCY_H
#define KF_KIOSKD_LATENCY_H

#include <stdint.h>

/* Latency histogram: quarter-octave buckets of microseconds (bucket 4*m+f covers
 * [(4+f) << (m-2), (5+f) << (m-2)) for m >= 2), top bucket open-ended (~1.2 h). */
#define KF_LAT_BUCKETS 128

struct kf_latency {
    uint64_t count;
    int64_t max_us;
    uint64_t bucket[KF_LAT_BUCKETS];
};
void kf_latency_add(struct kf_latency *lat, int64_t us);
/* Upper edge of the bucket holding quantile q (0 < q <= 1), capped at max_us; 0 if empty. */
int64_t kf_latency_quantile_us(const struct kf_latency *lat, double q);

#endif
