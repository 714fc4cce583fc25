/* rules/logentry.c: one signed-log entry's hash and signature (rules/logentry.h). */
#include "rules/logentry.h"

#include <string.h>

#include <sodium.h>

static void put_lp(crypto_generichash_state *h, const char *s)
{
    size_t n = strlen(s);
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

    crypto_generichash_update(h, len, 4);
    crypto_generichash_update(h, (const uint8_t *)s, n);
}

static void put_i64(crypto_generichash_state *h, int64_t v)
{
    uint8_t b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    crypto_generichash_update(h, b, 8);
}

void kf_log_entry_hash(const uint8_t prev[32], const struct kf_log_entry *e, uint8_t out[32])
{
    crypto_generichash_state h;

    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)KF_LOG_ENTRY_CTX, sizeof(KF_LOG_ENTRY_CTX) - 1);
    crypto_generichash_update(&h, prev, 32);
    put_i64(&h, e->seq);
    put_i64(&h, e->at_ms);
    put_lp(&h, e->actor);
    put_lp(&h, e->action);
    put_lp(&h, e->subject);
    put_lp(&h, e->detail);
    crypto_generichash_final(&h, out, 32);
}

int kf_log_entry_verify(const uint8_t prev[32], const struct kf_log_entry *e,
                        const uint8_t hash[32], const uint8_t sig[64], const uint8_t server_pk[32])
{
    uint8_t h[32];

    kf_log_entry_hash(prev, e, h);
    if (sodium_memcmp(h, hash, 32) != 0)
        return KF_LOG_ENTRY_BAD_HASH;
    if (crypto_sign_verify_detached(sig, hash, 32, server_pk) != 0)
        return KF_LOG_ENTRY_BAD_SIG;
    return KF_LOG_ENTRY_OK;
}

const char *kf_log_entry_check_name(int v)
{
    switch (v) {
    case KF_LOG_ENTRY_OK:
        return "";
    case KF_LOG_ENTRY_BAD_HASH:
        return "the entry's fields do not match its hash (edited)";
    case KF_LOG_ENTRY_BAD_SIG:
        return "the signature is not the server key's";
    default:
        return "unknown";
    }
}
