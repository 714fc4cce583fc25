/* bench_util.c: realistic frames, clocks and small parsing helpers for bench/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kf/record.h>
#include <kf/topic.h>

#include "bench_util.h"

void kf_bench_rng_seed(struct kf_bench_rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (r->s == 0)
        r->s = 1;
}

uint32_t kf_bench_rng_below(struct kf_bench_rng *r, uint32_t n)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 2685821657736338717ULL) >> 32) % n;
}

void kf_bench_term_init(struct kf_bench_term *t, uint64_t seed, int64_t start_ms)
{
    kf_bench_rng_seed(&t->rng, seed);
    t->ts_ms = start_ms + kf_bench_rng_below(&t->rng, 60000);
    t->uptime_s = 3600 + kf_bench_rng_below(&t->rng, 86400 * 20);
    t->rx = (uint64_t)kf_bench_rng_below(&t->rng, 1u << 30);
    t->tx = (uint64_t)kf_bench_rng_below(&t->rng, 1u << 28);
    t->app_ids = 0;
    t->journal = 1;
}

/* Service item codes as the deployment names them: family prefix + number. */
static const char *const families[] = {"GJJ", "SB", "RS", "YB", "GA", "BDC", "WJ", "MZ"};

static void make_txn(struct kf_bench_term *t, struct kf_record *r)
{
    uint32_t o = kf_bench_rng_below(&t->rng, 10);

    memset(r, 0, sizeof(*r));
    r->type = KF_REC_TXN;
    r->ts_ms = t->ts_ms;
    snprintf(r->u.txn.item, sizeof(r->u.txn.item), "%s-%03u",
             families[kf_bench_rng_below(&t->rng, sizeof(families) / sizeof(families[0]))],
             1 + kf_bench_rng_below(&t->rng, 12));
    r->u.txn.outcome = o < 8 ? KF_OUTCOME_OK : (o == 8 ? KF_OUTCOME_FAILED : KF_OUTCOME_ABANDONED);
    r->u.txn.dur_ms = 15000 + kf_bench_rng_below(&t->rng, 400000);
    if (t->app_ids)
        snprintf(r->app_id, sizeof(r->app_id), "J-2026/%08llu", (unsigned long long)t->journal++);
    t->ts_ms += 1000 + kf_bench_rng_below(&t->rng, 5000);
}

static void make_health(struct kf_bench_term *t, struct kf_record *r)
{
    struct kf_rec_health *h = &r->u.health;

    memset(r, 0, sizeof(*r));
    r->type = KF_REC_HEALTH;
    r->ts_ms = t->ts_ms;
    t->uptime_s += 60;
    t->rx += 20000 + kf_bench_rng_below(&t->rng, 400000);
    t->tx += 10000 + kf_bench_rng_below(&t->rng, 200000);
    h->cpu_pm = (int32_t)(20 + kf_bench_rng_below(&t->rng, 250));
    h->mem_total_kb = 8033164;
    h->mem_avail_kb = 2000000 + kf_bench_rng_below(&t->rng, 4000000);
    h->disk_total_kb = 122546584;
    h->disk_avail_kb = 40000000 + kf_bench_rng_below(&t->rng, 4000000);
    h->temp_mc = (int32_t)(38000 + kf_bench_rng_below(&t->rng, 25000));
    h->uptime_s = t->uptime_s;
    h->net_rx = t->rx;
    h->net_tx = t->tx;
    h->net_up = 1;
    t->ts_ms += 1000;
}

int kf_bench_frame(struct kf_bench_term *t, struct kf_zctx *z, const char *device_id, uint64_t seq,
                   uint32_t nrec, const uint8_t sk[64], char *body, size_t cap_body, uint8_t *out,
                   size_t cap, size_t *ret_len, char *topic, size_t *ret_body_len)
{
    struct kf_env_header h;
    struct kf_record rec;
    uint8_t zbuf[KF_ENV_MAX_BYTES];
    size_t n = 0, rl, zlen;
    uint32_t dict_id;
    int r;

    if (cap_body < 2)
        return -EMSGSIZE;
    body[n++] = '[';
    for (uint32_t i = 0; i < nrec; i++) {
        if (nrec >= 2 && i == nrec - 1)
            make_health(t, &rec);
        else
            make_txn(t, &rec);
        if (i > 0) {
            if (n + 1 >= cap_body)
                return -EMSGSIZE;
            body[n++] = ',';
        }
        r = kf_record_format(&rec, body + n, cap_body - n - 1, &rl);
        if (r < 0)
            return r;
        n += rl;
    }
    if (n + 1 >= cap_body)
        return -EMSGSIZE;
    body[n++] = ']';
    body[n] = '\0';

    r = kf_zctx_compress(z, body, n, zbuf, sizeof(zbuf), &zlen, &dict_id);
    if (r < 0)
        return r;
    r = kf_topic_format(topic, KF_TOPIC_MAX + 1, device_id, KF_TOPIC_EVENTS);
    if (r < 0)
        return r;
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_RECORDS;
    h.flags = KF_ENV_F_ZSTD;
    snprintf(h.device_id, sizeof(h.device_id), "%s", device_id);
    h.key_epoch = 1;
    h.dict_id = dict_id;
    h.seq = seq;
    h.count = nrec;
    h.device_ms = t->ts_ms;
    r = kf_env_seal(&h, topic, zbuf, zlen, sk, out, cap, ret_len);
    if (r < 0)
        return r;
    if (ret_body_len)
        *ret_body_len = n;
    return 0;
}

uint8_t *kf_bench_signed_msg(const struct kf_env_view *v, const uint8_t *frame, const char *topic,
                             size_t *ret_len)
{
    size_t ctx = sizeof(KF_ENV_SIGN_CONTEXT) - 1, tlen = strlen(topic);
    size_t n = ctx + 2 + tlen + v->signed_len;
    uint8_t *m = malloc(n);

    if (!m)
        return NULL;
    memcpy(m, KF_ENV_SIGN_CONTEXT, ctx);
    m[ctx] = (uint8_t)(tlen >> 8);
    m[ctx + 1] = (uint8_t)tlen;
    memcpy(m + ctx + 2, topic, tlen);
    memcpy(m + ctx + 2 + tlen, frame, v->signed_len);
    *ret_len = n;
    return m;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double kf_bench_now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

double kf_bench_thread_cpu(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

double kf_bench_process_cpu(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double kf_bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int kf_bench_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -EINVAL;
    *ret = v;
    return 0;
}

int kf_bench_parse_double(const char *s, double *ret)
{
    char *end;
    double v;

    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || v < 0)
        return -EINVAL;
    *ret = v;
    return 0;
}
