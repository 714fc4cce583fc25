/* Envelope: layout, bounds, signature coverage and the docs/PROTOCOL.md test vectors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/keyfile.h>

/* ---- docs/PROTOCOL.md, "Test vectors": the same strings ---- */
#define VEC_PK "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
#define VEC_TOPIC "kf/v1/KF-XH-0001/events"
#define VEC_BODY                                                                                   \
    "[{\"t\":\"txn\",\"ts\":1767254395000,\"item\":\"SB-003\",\"outcome\":\"ok\","                 \
    "\"dur_ms\":93000},{\"t\":\"periph\",\"ts\":1767254398000,\"dev\":\"receipt_printer\","        \
    "\"state\":\"paper_low\"}]"
#define VEC1_FRAME                                                                                 \
    "4b460101000a4b462d58482d3030303100000001000000000000000000000001"                             \
    "000000020000019b78921c0000000000000000000000009c5b7b2274223a2274"                             \
    "786e222c227473223a313736373235343339353030302c226974656d223a2253"                             \
    "422d303033222c226f7574636f6d65223a226f6b222c226475725f6d73223a39"                             \
    "333030307d2c7b2274223a22706572697068222c227473223a31373637323534"                             \
    "3339383030302c22646576223a22726563656970745f7072696e746572222c22"                             \
    "7374617465223a2270617065725f6c6f77227d5d8194445a96867cc8590ee563"                             \
    "a5af38489f35bfc444320046c8a180eb6185250fbc4148edb8397a60c1c17dc8"                             \
    "75f51c3be6a4cdcdff1bdbecd5e81c7859216c02"
#define VEC2_FRAME                                                                                 \
    "4b460101030a4b462d58482d30303031000000014b4600010000000000000001"                             \
    "000000020000019b78921c00fffffffffffffb2e0000003828b52ffd23010046"                             \
    "4b9c5d0100f300028995b929bff15b140cfc2577a8cdfffb022fcc54d3d478c0"                             \
    "be884ef4c3b1015075dc20186b39a903cc98b1b3bc8d17dda89d467ea3f715ed"                             \
    "1499f2906e27d962fd7138d1a2aac4639059c2e221a3d9dc4e2832659ff7c828"                             \
    "6f563822752326418625d530996db70c"

/* Vector 3: an ACK to the device above, from the server key with seed 20 21 ... 3f. */
#define VEC_SERVER_PK "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"
#define VEC_ACK_KEY "a48004e46c0a8a8d9cfde0e49df675607ecb204677da96f4c091b7f4eb7908d6"
#define VEC_ACK_TOPIC "kf/v1/KF-XH-0001/ack"
#define VEC3_FRAME                                                                                 \
    "4b460104000a4b462d58482d3030303100000001000000000000000000000002"                             \
    "000000000000019b789220d20000019b78921c0000000000d2cd30c3fedf12d6"                             \
    "dd58b6a2cae289a36385757f9464f5d1b71abd8df4b38eaa54e87d7a8ed0cf3e"                             \
    "114ec53a30d568354b465e19fecea6da603f55be7d2cf6c5"

static uint8_t pk[32], sk[64];

static void setup(void)
{
    uint8_t seed[32];

    cr_assert(sodium_init() >= 0);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    crypto_sign_seed_keypair(pk, sk, seed);
}

static void vec_header(struct kf_env_header *h)
{
    memset(h, 0, sizeof(*h));
    h->kind = KF_MSG_RECORDS;
    snprintf(h->device_id, sizeof(h->device_id), "%s", "KF-XH-0001");
    h->key_epoch = 1;
    h->seq = 1;
    h->count = 2;
    h->device_ms = 1767254400000LL;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;

    cr_assert(n <= cap);
    cr_assert_eq(kf_hex_decode(hex, out, n), 0);
    return n;
}

static size_t seal_sample(uint8_t *out, size_t cap, const char *topic)
{
    struct kf_env_header h;
    size_t n;

    vec_header(&h);
    h.flags = KF_ENV_F_CLOCK_SYNCED;
    h.key_epoch = 7;
    h.seq = 0x0102030405060708ULL;
    h.device_ms = -5;
    h.clock_offset_ms = -123456789;
    cr_assert_eq(
        kf_env_seal(&h, topic, (const uint8_t *)VEC_BODY, strlen(VEC_BODY), sk, out, cap, &n), 0);
    return n;
}

TestSuite(envelope, .init = setup);

/* Flip the lowest and the highest bit of every byte of a sealed frame in turn: each must
 * fail to parse or fail check (kf_env_verify with a public key, kf_env_verify_mac with a
 * MAC key). */
static void expect_every_flip_refused(uint8_t *out, size_t n, const char *topic,
                                      int (*check)(const struct kf_env_view *, const char *,
                                                   const uint8_t *),
                                      const uint8_t *key)
{
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            struct kf_env_view v;
            int r;

            out[i] ^= (uint8_t)(1u << bit);
            r = kf_env_parse(out, n, &v);
            if (r == 0)
                r = check(&v, topic, key);
            cr_assert_neq(r, 0, "byte %zu bit %d accepted", i, bit);
            out[i] ^= (uint8_t)(1u << bit);
        }
    }
}

Test(envelope, vector_uncompressed_matches_byte_for_byte)
{
    uint8_t out[1024], expect[1024], vpk[32];
    char pkhex[65];
    struct kf_env_header h;
    size_t n, en;

    kf_hex_encode(pk, 32, pkhex, sizeof(pkhex));
    cr_assert_str_eq(pkhex, VEC_PK);
    vec_header(&h);
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, (const uint8_t *)VEC_BODY, strlen(VEC_BODY), sk, out,
                             sizeof(out), &n),
                 0);
    en = unhex(VEC1_FRAME, expect, sizeof(expect));
    cr_assert_eq(n, en);
    cr_assert_eq(memcmp(out, expect, n), 0);

    struct kf_env_view v;
    cr_assert_eq(kf_env_parse(expect, en, &v), 0);
    cr_assert_eq(kf_hex_decode(VEC_PK, vpk, 32), 0);
    cr_assert_eq(kf_env_verify(&v, VEC_TOPIC, vpk), 0);
}

Test(envelope, vector_compressed_decodes_and_verifies)
{
    uint8_t frame[1024], vpk[32];
    char body[1024];
    struct kf_env_view v;
    struct kf_zctx *z;
    size_t n, blen;

    n = unhex(VEC2_FRAME, frame, sizeof(frame));
    cr_assert_eq(kf_hex_decode(VEC_PK, vpk, 32), 0);
    cr_assert_eq(kf_env_parse(frame, n, &v), 0);
    cr_assert_eq(v.hdr.flags, KF_ENV_F_ZSTD | KF_ENV_F_CLOCK_SYNCED);
    cr_assert_eq(v.hdr.dict_id, KF_DICT_ID_V1);
    cr_assert_eq(v.hdr.clock_offset_ms, -1234);
    cr_assert_eq(v.hdr.count, 2);
    cr_assert_eq(kf_env_verify(&v, VEC_TOPIC, vpk), 0);
    cr_assert_eq(kf_zctx_new(3, &z), 0);
    cr_assert_eq(
        kf_zctx_decompress(z, v.hdr.dict_id, v.body, v.body_len, body, sizeof(body), &blen), 0);
    kf_zctx_free(z);
    cr_assert_eq(blen, strlen(VEC_BODY));
    cr_assert_eq(memcmp(body, VEC_BODY, blen), 0);
}

Test(envelope, round_trip_keeps_every_header_field)
{
    uint8_t out[1024];
    struct kf_env_view v;
    size_t n = seal_sample(out, sizeof(out), VEC_TOPIC);

    cr_assert_eq(n, KF_ENV_FIXED_BYTES + strlen("KF-XH-0001") + strlen(VEC_BODY) + 64);
    cr_assert_eq(kf_env_parse(out, n, &v), 0);
    cr_assert_eq(v.hdr.kind, KF_MSG_RECORDS);
    cr_assert_eq(v.hdr.flags, KF_ENV_F_CLOCK_SYNCED);
    cr_assert_str_eq(v.hdr.device_id, "KF-XH-0001");
    cr_assert_eq(v.hdr.key_epoch, 7);
    cr_assert_eq(v.hdr.dict_id, 0);
    cr_assert_eq(v.hdr.seq, 0x0102030405060708ULL);
    cr_assert_eq(v.hdr.count, 2);
    cr_assert_eq(v.hdr.device_ms, -5);
    cr_assert_eq(v.hdr.clock_offset_ms, -123456789);
    cr_assert_eq(v.body_len, strlen(VEC_BODY));
    cr_assert_eq(memcmp(v.body, VEC_BODY, v.body_len), 0);
    cr_assert_eq(v.signed_len, n - 64);
    cr_assert_eq(v.signature, out + n - 64);
    cr_assert_eq(kf_env_verify(&v, VEC_TOPIC, pk), 0);
    /* big-endian on the wire */
    cr_assert_eq(out[6 + 10 + 8], 0x01);
    cr_assert_eq(out[6 + 10 + 15], 0x08);
}

Test(envelope, any_flipped_byte_fails_parse_or_verify)
{
    uint8_t out[1024];
    size_t n = seal_sample(out, sizeof(out), VEC_TOPIC);

    expect_every_flip_refused(out, n, VEC_TOPIC, kf_env_verify, pk);
}

Test(envelope, other_topic_or_key_fails_verify)
{
    uint8_t out[1024], pk2[32], sk2[64];
    struct kf_env_view v;
    size_t n = seal_sample(out, sizeof(out), VEC_TOPIC);

    cr_assert_eq(kf_env_parse(out, n, &v), 0);
    cr_assert_eq(kf_env_verify(&v, "kf/v1/KF-XH-0001/telemetry", pk), -EKEYREJECTED);
    cr_assert_eq(kf_env_verify(&v, "kf/v1/KF-XH-0002/events", pk), -EKEYREJECTED);
    cr_assert_eq(kf_env_verify(&v, "", pk), -EKEYREJECTED);
    crypto_sign_keypair(pk2, sk2);
    cr_assert_eq(kf_env_verify(&v, VEC_TOPIC, pk2), -EKEYREJECTED);
    cr_assert_eq(kf_env_verify(&v, VEC_TOPIC, pk), 0);
}

Test(envelope, truncated_and_extended_frames_are_malformed)
{
    uint8_t out[1024];
    struct kf_env_view v;
    size_t n = seal_sample(out, sizeof(out), VEC_TOPIC);

    for (size_t len = 0; len < n; len++)
        cr_assert_eq(kf_env_parse(out, len, &v), -EBADMSG, "len %zu", len);
    cr_assert_eq(kf_env_parse(out, n + 1, &v), -EBADMSG);
}

Test(envelope, oversize_frames_are_refused)
{
    static uint8_t big[KF_ENV_MAX_BYTES + 64], body[KF_ENV_MAX_BYTES];
    struct kf_env_header h;
    struct kf_env_view v;
    size_t n, fits = KF_ENV_MAX_BYTES - KF_ENV_FIXED_BYTES - 10 - KF_ENV_SIG_BYTES;

    cr_assert_eq(kf_env_parse(big, KF_ENV_MAX_BYTES + 1, &v), -EMSGSIZE);
    vec_header(&h);
    memset(body, 'x', sizeof(body));
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, body, fits + 1, sk, big, sizeof(big), &n), -EMSGSIZE);
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, body, fits, sk, big, sizeof(big), &n), 0);
    cr_assert_eq(n, KF_ENV_MAX_BYTES);
    cr_assert_eq(kf_env_parse(big, n, &v), 0);
    /* the caller's cap is honoured too */
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, body, 100, sk, big, 100, &n), -EMSGSIZE);
}

static int reseal_raw(uint8_t *out, size_t n)
{
    /* re-sign after a header edit, so only the structure check can refuse it */
    uint8_t msg[2048];
    size_t tl = strlen(VEC_TOPIC), ml = 0;

    memcpy(msg, KF_ENV_SIGN_CONTEXT, 17);
    ml = 17;
    msg[ml++] = (uint8_t)(tl >> 8);
    msg[ml++] = (uint8_t)tl;
    memcpy(msg + ml, VEC_TOPIC, tl);
    ml += tl;
    memcpy(msg + ml, out, n - 64);
    ml += n - 64;
    return crypto_sign_detached(out + n - 64, NULL, msg, ml, sk);
}

Test(envelope, unknown_flags_and_bad_fields_are_rejected)
{
    uint8_t out[1024], copy[1024];
    struct kf_env_view v;
    size_t n = seal_sample(out, sizeof(out), VEC_TOPIC);
    struct {
        size_t off;
        uint8_t val;
    } edits[] = {
        {0, 'k'},
        {1, 'G'},
        {2, 2},
        {3, 0},
        {3, 6},
        {4, 0x04},
        {4, 0x80},
        {5, 0},
        {5, 49},
        {6, '/'},
        {6, ' '},             /* device id charset */
        {6 + 10 + 7, 1},      /* dict id without the zstd flag */
        {6 + 10 + 16 + 3, 0}, /* RECORDS with count 0 */
    };

    cr_assert_eq(kf_env_parse(out, n, &v), 0);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        memcpy(copy, out, n);
        copy[edits[i].off] = edits[i].val;
        cr_assert_eq(reseal_raw(copy, n), 0);
        cr_assert_eq(kf_env_parse(copy, n, &v), -EBADMSG, "edit %zu", i);
    }
}

Test(envelope, seal_rejects_bad_headers)
{
    uint8_t out[1024];
    struct kf_env_header h;
    size_t n;

    vec_header(&h);
    h.flags = 0x10;
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, (const uint8_t *)"[]", 2, sk, out, sizeof(out), &n),
                 -EINVAL);
    vec_header(&h);
    snprintf(h.device_id, sizeof(h.device_id), "bad id");
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, (const uint8_t *)"[]", 2, sk, out, sizeof(out), &n),
                 -EINVAL);
    vec_header(&h);
    h.kind = KF_MSG_ACK; /* count must be 0 outside RECORDS */
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, NULL, 0, sk, out, sizeof(out), &n), -EINVAL);
    h.count = 0;
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, NULL, 0, sk, out, sizeof(out), &n), 0);
    cr_assert_eq(n, KF_ENV_FIXED_BYTES + 10 + KF_ENV_SIG_BYTES);
}

/* The server key of the ACK vector: seed 20 21 ... 3f. */
static void vec_server(uint8_t spk[32], uint8_t ssk[64])
{
    uint8_t seed[32];

    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(0x20 + i);
    crypto_sign_seed_keypair(spk, ssk, seed);
}

static void vec_ack_header(struct kf_env_header *h)
{
    memset(h, 0, sizeof(*h));
    h->kind = KF_MSG_ACK;
    snprintf(h->device_id, sizeof(h->device_id), "KF-XH-0001");
    h->key_epoch = 1;
    h->seq = 2;
    h->device_ms = 1767254401234LL;
    h->clock_offset_ms = 1767254400000LL; /* vector 1's device time: the frame it answers */
}

Test(envelope, vector_ack_key_and_mac_match_byte_for_byte)
{
    uint8_t spk[32], ssk[64], k_server[32], k_device[32], out[256], expect[256];
    char hex[65];
    struct kf_env_header h;
    struct kf_env_view v;
    size_t n, en;

    vec_server(spk, ssk);
    kf_hex_encode(spk, 32, hex, sizeof(hex));
    cr_assert_str_eq(hex, VEC_SERVER_PK);
    cr_assert_eq(kf_ack_key_server(ssk, pk, k_server), 0);
    cr_assert_eq(kf_ack_key_device(sk, spk, k_device), 0);
    kf_hex_encode(k_server, 32, hex, sizeof(hex));
    cr_assert_str_eq(hex, VEC_ACK_KEY);
    cr_assert_eq(memcmp(k_server, k_device, 32), 0, "the two sides derive different keys");

    vec_ack_header(&h);
    cr_assert_eq(kf_env_seal_mac(&h, VEC_ACK_TOPIC, NULL, 0, k_server, out, sizeof(out), &n), 0);
    en = unhex(VEC3_FRAME, expect, sizeof(expect));
    cr_assert_eq(n, en);
    cr_assert_eq(memcmp(out, expect, n), 0);
    cr_assert_eq(kf_env_parse(expect, en, &v), 0);
    cr_assert_eq(v.hdr.kind, KF_MSG_ACK);
    cr_assert_eq(v.hdr.seq, 2);
    cr_assert_eq(v.body_len, 0);
    cr_assert_eq(kf_env_verify_mac(&v, VEC_ACK_TOPIC, k_device), 0);
}

Test(envelope, ack_mac_covers_every_byte_the_topic_and_the_key)
{
    uint8_t spk[32], ssk[64], key[32], other[32], out[256];
    struct kf_env_header h;
    struct kf_env_view v;
    size_t n;

    vec_server(spk, ssk);
    cr_assert_eq(kf_ack_key_device(sk, spk, key), 0);
    vec_ack_header(&h);
    cr_assert_eq(kf_env_seal_mac(&h, VEC_ACK_TOPIC, NULL, 0, key, out, sizeof(out), &n), 0);
    expect_every_flip_refused(out, n, VEC_ACK_TOPIC, kf_env_verify_mac, key);
    cr_assert_eq(kf_env_parse(out, n, &v), 0);
    cr_assert_eq(kf_env_verify_mac(&v, VEC_ACK_TOPIC, key), 0);
    cr_assert_eq(kf_env_verify_mac(&v, "kf/v1/KF-XH-0002/ack", key), -EKEYREJECTED);
    cr_assert_eq(kf_env_verify_mac(&v, "", key), -EKEYREJECTED);
    /* Another device's key with the same server, and the same device with another server. */
    uint8_t pk2[32], sk2[64];
    crypto_sign_keypair(pk2, sk2);
    cr_assert_eq(kf_ack_key_device(sk2, spk, other), 0);
    cr_assert_eq(kf_env_verify_mac(&v, VEC_ACK_TOPIC, other), -EKEYREJECTED);
    cr_assert_eq(kf_ack_key_device(sk, pk2, other), 0);
    cr_assert_eq(kf_env_verify_mac(&v, VEC_ACK_TOPIC, other), -EKEYREJECTED);
    /* A MAC is no signature and a signature no MAC, even by the server's own key. */
    cr_assert_eq(kf_env_verify(&v, VEC_ACK_TOPIC, spk), -EKEYREJECTED);
    cr_assert_eq(kf_env_seal(&h, VEC_ACK_TOPIC, NULL, 0, ssk, out, sizeof(out), &n), 0);
    cr_assert_eq(kf_env_parse(out, n, &v), 0);
    cr_assert_eq(kf_env_verify(&v, VEC_ACK_TOPIC, spk), 0);
    cr_assert_eq(kf_env_verify_mac(&v, VEC_ACK_TOPIC, key), -EKEYREJECTED);
}

Test(envelope, ack_key_refuses_a_key_that_is_no_curve_point)
{
    uint8_t spk[32], ssk[64], key[32], zero[32] = {0};

    vec_server(spk, ssk);
    /* The all-zero key has small order: no shared secret can come of it. */
    cr_assert_eq(kf_ack_key_server(ssk, zero, key), -EKEYREJECTED);
    cr_assert_eq(kf_ack_key_device(sk, zero, key), -EKEYREJECTED);
    cr_assert_eq(kf_ack_key_server(NULL, pk, key), -EINVAL);
}

Test(envelope, device_id_validation)
{
    char longid[KF_DEVICE_ID_MAX + 2];

    cr_assert(kf_device_id_valid("KF-XH-0001"));
    cr_assert(kf_device_id_valid("a.b_c-9"));
    cr_assert(!kf_device_id_valid(""));
    cr_assert(!kf_device_id_valid(NULL));
    cr_assert(!kf_device_id_valid("a/b"));
    cr_assert(!kf_device_id_valid("a+b"));
    cr_assert(!kf_device_id_valid("a#"));
    memset(longid, 'a', sizeof(longid));
    longid[KF_DEVICE_ID_MAX] = '\0';
    cr_assert(kf_device_id_valid(longid));
    longid[KF_DEVICE_ID_MAX] = 'a';
    longid[KF_DEVICE_ID_MAX + 1] = '\0';
    cr_assert(!kf_device_id_valid(longid));
}
