/* ackkeys.c: see ackkeys.h. */
#include "kioskd/ackkeys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define ACKKEYS_MIN_SLOTS 1024u

struct slot {
    uint8_t pk[32]; /* all zero: empty (the zero point has small order: never derived) */
    uint8_t key[KF_ACK_KEY_BYTES];
};

struct kf_ackkeys {
    uint8_t sk[64];
    uint8_t hash_key[crypto_shorthash_KEYBYTES]; /* random: device-chosen keys cannot collide */
    struct slot *slots;
    size_t nslots; /* a power of two */
    size_t held, max;
    struct kf_ackkeys_stats st;
};

static int slot_empty(const struct slot *s)
{
    static const uint8_t zero[32];

    return memcmp(s->pk, zero, sizeof(zero)) == 0;
}

static size_t slot_of(const struct kf_ackkeys *c, const uint8_t pk[32])
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v = 0;

    crypto_shorthash(h, pk, 32, c->hash_key);
    for (size_t i = 0; i < sizeof(h); i++)
        v = v << 8 | h[i];
    return (size_t)v & (c->nslots - 1);
}

/* The slot holding pk, or the empty slot where it goes. The table is never full. */
static struct slot *probe(const struct kf_ackkeys *c, const uint8_t pk[32])
{
    size_t i = slot_of(c, pk);

    for (;;) {
        struct slot *s = &c->slots[i];
        if (slot_empty(s) || memcmp(s->pk, pk, 32) == 0)
            return s;
        i = (i + 1) & (c->nslots - 1);
    }
}

/* Room for one more key at a load of at most 3/4: grow (rehash) or, at the bound, start over. */
static int make_room(struct kf_ackkeys *c)
{
    struct slot *old = c->slots, *n;
    size_t oldn = c->nslots, want;

    if (c->held >= c->max) {
        sodium_memzero(c->slots, c->nslots * sizeof(*c->slots));
        c->held = 0;
        c->st.resets++;
        return 0;
    }
    if ((c->held + 1) * 4 <= c->nslots * 3)
        return 0;
    want = c->nslots * 2;
    n = calloc(want, sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    c->slots = n;
    c->nslots = want;
    for (size_t i = 0; i < oldn; i++) {
        if (!slot_empty(&old[i]))
            *probe(c, old[i].pk) = old[i];
    }
    sodium_memzero(old, oldn * sizeof(*old));
    free(old);
    return 0;
}

int kf_ackkeys_new(const uint8_t server_sk[64], size_t max, struct kf_ackkeys **ret)
{
    struct kf_ackkeys *c;

    if (server_sk == NULL || ret == NULL || max < ACKKEYS_MIN_SLOTS)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->slots = calloc(ACKKEYS_MIN_SLOTS, sizeof(*c->slots));
    if (c->slots == NULL) {
        free(c);
        return -ENOMEM;
    }
    c->nslots = ACKKEYS_MIN_SLOTS;
    c->max = max;
    memcpy(c->sk, server_sk, sizeof(c->sk));
    crypto_shorthash_keygen(c->hash_key);
    *ret = c;
    return 0;
}

void kf_ackkeys_free(struct kf_ackkeys *c)
{
    if (c == NULL)
        return;
    sodium_memzero(c->slots, c->nslots * sizeof(*c->slots));
    free(c->slots);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

int kf_ackkeys_get(struct kf_ackkeys *c, const uint8_t device_pk[32], uint8_t key[KF_ACK_KEY_BYTES])
{
    struct slot *s = probe(c, device_pk);
    int r;

    if (!slot_empty(s)) {
        memcpy(key, s->key, KF_ACK_KEY_BYTES);
        c->st.hits++;
        return 0;
    }
    r = kf_ack_key_server(c->sk, device_pk, key);
    if (r != 0)
        return r;
    c->st.derived++;
    if (make_room(c) != 0)
        return 1; /* derived, not held: the next ACK derives it again */
    s = probe(c, device_pk);
    memcpy(s->pk, device_pk, 32);
    memcpy(s->key, key, KF_ACK_KEY_BYTES);
    c->held++;
    return 1;
}

void kf_ackkeys_stats(const struct kf_ackkeys *c, struct kf_ackkeys_stats *ret)
{
    *ret = c->st;
    ret->held = c->held;
}
