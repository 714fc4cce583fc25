/* ackkeys: the server's table of ACK keys (server/kioskd/ackkeys.h). */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "kioskd/ackkeys.h"

static uint8_t spk[32], ssk[64];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    crypto_sign_keypair(spk, ssk);
}

TestSuite(ackkeys, .init = setup);

Test(ackkeys, derives_once_then_holds_the_same_key_as_the_device)
{
    struct kf_ackkeys *c;
    struct kf_ackkeys_stats st;
    uint8_t dpk[32], dsk[64], k1[32], k2[32], kd[32];

    cr_assert_eq(kf_ackkeys_new(ssk, 1024, &c), 0);
    crypto_sign_keypair(dpk, dsk);
    cr_assert_eq(kf_ackkeys_get(c, dpk, k1), 1);
    cr_assert_eq(kf_ackkeys_get(c, dpk, k2), 0);
    cr_assert_eq(kf_ack_key_device(dsk, spk, kd), 0);
    cr_assert_eq(memcmp(k1, kd, 32), 0);
    cr_assert_eq(memcmp(k2, kd, 32), 0);
    kf_ackkeys_stats(c, &st);
    cr_assert_eq(st.derived, 1);
    cr_assert_eq(st.hits, 1);
    cr_assert_eq(st.held, 1);
    kf_ackkeys_free(c);
}

/* Past the first table's 768 keys it grows and rehashes: every key is still found, and
 * still right. Past the bound it starts over. */
Test(ackkeys, grows_keeps_every_key_and_starts_over_at_its_bound)
{
    enum { N = 1500 };
    static uint8_t pks[N][32], keys[N][32];
    struct kf_ackkeys *c;
    struct kf_ackkeys_stats st;
    uint8_t sk[64], k[32];

    cr_assert_eq(kf_ackkeys_new(ssk, 2000, &c), 0);
    for (int i = 0; i < N; i++) {
        crypto_sign_keypair(pks[i], sk);
        cr_assert_eq(kf_ack_key_device(sk, spk, keys[i]), 0);
        cr_assert_eq(kf_ackkeys_get(c, pks[i], k), 1);
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(kf_ackkeys_get(c, pks[i], k), 0, "key %d lost", i);
        cr_assert_eq(memcmp(k, keys[i], 32), 0, "key %d wrong after growing", i);
    }
    kf_ackkeys_stats(c, &st);
    cr_assert_eq(st.held, N);
    cr_assert_eq(st.resets, 0);
    kf_ackkeys_free(c);

    cr_assert_eq(kf_ackkeys_new(ssk, 1024, &c), 0);
    for (int i = 0; i < 1100; i++) {
        cr_assert_geq(kf_ackkeys_get(c, pks[i], k), 0);
        cr_assert_eq(memcmp(k, keys[i], 32), 0);
    }
    kf_ackkeys_stats(c, &st);
    cr_assert_eq(st.resets, 1);
    cr_assert_eq(st.held, 1100 - 1024);
    cr_assert_eq(kf_ackkeys_get(c, pks[1099], k), 0);
    cr_assert_eq(kf_ackkeys_get(c, pks[0], k), 1, "a key from before the restart still held");
    cr_assert_eq(memcmp(k, keys[0], 32), 0);
    kf_ackkeys_free(c);
}

Test(ackkeys, refuses_a_key_that_is_no_curve_point_and_holds_nothing)
{
    struct kf_ackkeys *c;
    struct kf_ackkeys_stats st;
    uint8_t zero[32] = {0}, k[32];

    cr_assert_eq(kf_ackkeys_new(ssk, 1024, &c), 0);
    /* All zero is also the table's empty slot: it must never be taken for a held key. */
    cr_assert_eq(kf_ackkeys_get(c, zero, k), -EKEYREJECTED);
    cr_assert_eq(kf_ackkeys_get(c, zero, k), -EKEYREJECTED);
    kf_ackkeys_stats(c, &st);
    cr_assert_eq(st.held, 0);
    cr_assert_eq(st.derived, 0);
    cr_assert_eq(kf_ackkeys_new(ssk, 1023, &c), -EINVAL);
    kf_ackkeys_free(c);
}
