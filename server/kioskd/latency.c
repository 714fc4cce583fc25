/* latency.c: the quarter-octave latency histogram (latency.h). */
#include "kioskd/latency.h"

static unsigned bucket_of(int64_t us)
{
    uint64_t v = us > 0 ? (uint64_t)us : 0;
    unsigned m, idx;

    if (v < 4) {
        return (unsigned)v; /* buckets 0..3 are exact */
    }
    m = 63u - (unsigned)__builtin_clzll(v);
    idx = m * 4u + (unsigned)((v >> (m - 2u)) & 3u);
    return idx < KF_LAT_BUCKETS ? idx : KF_LAT_BUCKETS - 1u;
}

static int64_t bucket_upper(unsigned idx)
{
    unsigned m = idx / 4u, f = idx % 4u;

    if (m < 2) {
        return (int64_t)idx + 1;
    }
    return (int64_t)((uint64_t)(5u + f) << (m - 2u));
}

void kf_latency_add(struct kf_latency *lat, int64_t us)
{
    lat->bucket[bucket_of(us)]++;
    lat->count++;
    if (us > lat->max_us) {
        lat->max_us = us;
    }
}

int64_t kf_latency_quantile_us(const struct kf_latency *lat, double q)
{
    uint64_t want, seen = 0;

    if (lat->count == 0) {
        return 0;
    }
    want = (uint64_t)(q * (double)lat->count + 0.5);
    if (want == 0) {
        want = 1;
    }
    for (unsigned i = 0; i < KF_LAT_BUCKETS; i++) {
        seen += lat->bucket[i];
        if (seen >= want) {
            int64_t up = bucket_upper(i);
            return up < lat->max_us ? up : lat->max_us;
        }
    }
    return lat->max_us;
}
