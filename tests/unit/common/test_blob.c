/* BLOB and BLOB_ACK frames (kf/blob.h): the docs/PROTOCOL.md vectors 5 and 6, the chunking
 * arithmetic at its bounds, every refusal of the parsers, and the bounded inflate. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>
#include <zstd.h>

#include <kf/blob.h>
#include <kf/envelope.h>

/* ---- docs/PROTOCOL.md, "Test vectors", vectors 5 and 6: the same strings ---- */
#define VEC5_SHA "dfa15068f9d4952b4412dd23533ed7a8844464bc88b3efb323b7c84301895b99"
#define VEC5_FRAME                                                                                 \
    "4b460108000a4b462d58482d3030303100000001000000000000000000000007"                             \
    "000000000000019b78921c0000000000000000000000003b0000000000000001"                             \
    "000000000000000bdfa15068f9d4952b4412dd23533ed7a8844464bc88b3efb3"                             \
    "23b7c84301895b9968656c6c6f2c206c6f677338c9893e49653e1fc5404ff74d"                             \
    "1e1ef0394460b9b3021ad4280e83edadd411a06c0f8fc340ef21c614e0499995"                             \
    "080329a8bd5736c568ce2c7bb07273c788aa0c"
#define VEC6_FRAME                                                                                 \
    "4b460109000a4b462d58482d3030303100000001000000000000000000000007"                             \
    "000000000000019b789220d20000000000000000000000080000000101000000"                             \
    "b4df0f282b1cb278a1e65844fb2f3876045c37368cc5d1f0688a7fabca4a5195"                             \
    "85761eb382ba7841431331c884470e303f2354e6b0912969aea893847049c118"

static uint8_t dpk[32], dsk[64], spk[32], ssk[64];

static void setup(void)
{
    uint8_t seed[32];

    cr_assert(sodium_init() >= 0);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    crypto_sign_seed_keypair(dpk, dsk, seed);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(0x20 + i);
    crypto_sign_seed_keypair(spk, ssk, seed);
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    cr_assert_eq(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL), 0);
    return n;
}

static struct kf_env_header base(void)
{
    struct kf_env_header h;

    memset(&h, 0, sizeof(h));
    snprintf(h.device_id, sizeof(h.device_id), "KF-XH-0001");
    h.key_epoch = 1;
    h.device_ms = INT64_C(1767254400000);
    return h;
}

TestSuite(blob, .init = setup);

Test(blob, vector5_is_byte_exact_and_parses)
{
    static const char data[] = "hello, logs";
    uint8_t want[512], got[KF_BLOB_FRAME_MAX], sha[32];
    struct kf_env_header h = base();
    struct kf_blob_chunk c = {.cmd_seq = 7, .nchunks = 1, .total = 11, .len = 11}, p;
    struct kf_env_view v;
    size_t wlen = unhex(VEC5_FRAME, want, sizeof(want)), len;

    unhex(VEC5_SHA, sha, sizeof(sha));
    crypto_hash_sha256(c.sha256, (const uint8_t *)data, 11);
    cr_assert_eq(memcmp(c.sha256, sha, 32), 0);
    c.data = (const uint8_t *)data;
    cr_assert_eq(kf_blob_seal(&h, &c, dsk, got, sizeof(got), &len), 0);
    cr_assert_eq(len, wlen);
    cr_assert_eq(memcmp(got, want, len), 0);
    cr_assert_eq(kf_env_parse(want, wlen, &v), 0);
    cr_assert_eq(kf_env_verify(&v, "kf/v1/KF-XH-0001/blob", dpk), 0);
    cr_assert_eq(kf_blob_parse(&v, &p), 0);
    cr_assert_eq(p.cmd_seq, 7);
    cr_assert_eq(p.index, 0);
    cr_assert_eq(p.nchunks, 1);
    cr_assert_eq(p.total, 11);
    cr_assert_eq(p.len, 11);
    cr_assert_eq(memcmp(p.data, data, 11), 0);
    /* Bound to its topic: the same frame on another device's or kind's topic fails. */
    cr_assert_neq(kf_env_verify(&v, "kf/v1/KF-XH-0002/blob", dpk), 0);
    cr_assert_neq(kf_env_verify(&v, "kf/v1/KF-XH-0001/events", dpk), 0);
}

Test(blob, vector6_blob_ack)
{
    uint8_t want[256], got[KF_BLOB_ACK_FRAME_MAX], key[KF_ACK_KEY_BYTES], dkey[KF_ACK_KEY_BYTES];
    struct kf_blob_ack a = {.cmd_seq = 7, .have = 1, .state = KF_BLOB_COMPLETE}, p;
    struct kf_env_view v;
    size_t wlen = unhex(VEC6_FRAME, want, sizeof(want)), len;

    cr_assert_eq(kf_ack_key_server(ssk, dpk, key), 0);
    cr_assert_eq(kf_ack_key_device(dsk, spk, dkey), 0);
    cr_assert_eq(memcmp(key, dkey, sizeof(key)), 0);
    cr_assert_eq(
        kf_blob_ack_seal("KF-XH-0001", 1, &a, INT64_C(1767254401234), key, got, sizeof(got), &len),
        0);
    cr_assert_eq(len, wlen);
    cr_assert_eq(memcmp(got, want, len), 0);
    cr_assert_eq(kf_env_parse(want, wlen, &v), 0);
    cr_assert_eq(kf_env_verify_mac(&v, "kf/v1/KF-XH-0001/ack", dkey), 0);
    cr_assert_eq(kf_blob_ack_parse(&v, &p), 0);
    cr_assert_eq(p.cmd_seq, 7);
    cr_assert_eq(p.have, 1);
    cr_assert_eq(p.state, KF_BLOB_COMPLETE);
    /* A reserved byte set: refused. */
    want[wlen - 64 - 1] = 1;
    cr_assert_eq(kf_env_parse(want, wlen, &v), 0);
    cr_assert_eq(kf_blob_ack_parse(&v, &p), -EBADMSG);
}

Test(blob, chunking_at_its_bounds)
{
    cr_assert_eq(kf_blob_nchunks(0), 0);
    cr_assert_eq(kf_blob_nchunks(1), 1);
    cr_assert_eq(kf_blob_nchunks(KF_BLOB_CHUNK_BYTES), 1);
    cr_assert_eq(kf_blob_nchunks(KF_BLOB_CHUNK_BYTES + 1), 2);
    cr_assert_eq(kf_blob_nchunks(KF_BLOB_MAX_BYTES), KF_BLOB_CHUNKS_MAX);
    cr_assert_eq(kf_blob_nchunks(KF_BLOB_MAX_BYTES + 1ull), 0);
    cr_assert_eq(kf_blob_chunk_len(KF_BLOB_CHUNK_BYTES + 5, 0), KF_BLOB_CHUNK_BYTES);
    cr_assert_eq(kf_blob_chunk_len(KF_BLOB_CHUNK_BYTES + 5, 1), 5);
    cr_assert_eq(kf_blob_chunk_len(KF_BLOB_CHUNK_BYTES + 5, 2), 0);
    cr_assert_eq(kf_blob_chunk_len(KF_BLOB_MAX_BYTES, KF_BLOB_CHUNKS_MAX - 1), KF_BLOB_CHUNK_BYTES);
    /* The biggest frame fits the envelope's limit. */
    cr_assert(KF_BLOB_FRAME_MAX <= KF_ENV_MAX_BYTES);
}

/* Reassembly: a bundle cut into chunks, sealed, parsed back in reverse order and put
 * together by index, is the bundle; every chunk carries the same declaration. */
Test(blob, reassembles_out_of_order)
{
    const size_t total = 3 * KF_BLOB_CHUNK_BYTES + 77;
    uint8_t *bundle = malloc(total), *back = calloc(1, total), frame[KF_BLOB_FRAME_MAX], sha[32];
    struct kf_env_header h = base();
    uint32_t n = kf_blob_nchunks(total);

    cr_assert(bundle && back);
    randombytes_buf(bundle, total);
    crypto_hash_sha256(sha, bundle, total);
    cr_assert_eq(n, 4);
    for (uint32_t i = n; i-- > 0;) {
        struct kf_blob_chunk c = {.cmd_seq = 9, .index = i, .nchunks = n, .total = total}, p;
        struct kf_env_view v;
        size_t len;

        memcpy(c.sha256, sha, 32);
        c.len = kf_blob_chunk_len(total, i);
        c.data = bundle + (size_t)i * KF_BLOB_CHUNK_BYTES;
        cr_assert_eq(kf_blob_seal(&h, &c, dsk, frame, sizeof(frame), &len), 0);
        cr_assert_eq(kf_env_parse(frame, len, &v), 0);
        cr_assert_eq(kf_blob_parse(&v, &p), 0);
        cr_assert_eq(p.index, i);
        cr_assert_eq(memcmp(p.sha256, sha, 32), 0);
        memcpy(back + (size_t)p.index * KF_BLOB_CHUNK_BYTES, p.data, p.len);
    }
    cr_assert_eq(memcmp(back, bundle, total), 0);
    free(bundle);
    free(back);
}

Test(blob, refuses_chunks_that_break_the_rules)
{
    uint8_t data[KF_BLOB_CHUNK_BYTES] = {0}, frame[KF_BLOB_FRAME_MAX];
    struct kf_env_header h = base();
    struct kf_blob_chunk ok = {.cmd_seq = 1,
                               .index = 0,
                               .nchunks = 2,
                               .total = KF_BLOB_CHUNK_BYTES + 1,
                               .data = data,
                               .len = KF_BLOB_CHUNK_BYTES};
    struct kf_blob_chunk c;
    size_t len;

    cr_assert_eq(kf_blob_seal(&h, &ok, dsk, frame, sizeof(frame), &len), 0);
    c = ok, c.cmd_seq = 0;
    cr_assert_eq(kf_blob_seal(&h, &c, dsk, frame, sizeof(frame), &len), -EINVAL);
    c = ok, c.index = 2;
    cr_assert_eq(kf_blob_seal(&h, &c, dsk, frame, sizeof(frame), &len), -EINVAL);
    c = ok, c.nchunks = 3;
    cr_assert_eq(kf_blob_seal(&h, &c, dsk, frame, sizeof(frame), &len), -EINVAL);
    c = ok, c.len = 100; /* not the last chunk: must be whole */
    cr_assert_eq(kf_blob_seal(&h, &c, dsk, frame, sizeof(frame), &len), -EINVAL);
    c = ok, c.total = KF_BLOB_MAX_BYTES + 1ull, c.nchunks = 0;
    cr_assert_eq(kf_blob_seal(&h, &c, dsk, frame, sizeof(frame), &len), -EINVAL);
    /* A frame with a body too short to hold the head, and one of another kind. */
    {
        struct kf_env_view v;
        struct kf_blob_chunk p;
        struct kf_env_header g = base();

        g.kind = KF_MSG_BLOB;
        g.seq = 1;
        cr_assert_eq(
            kf_env_seal(&g, "kf/v1/KF-XH-0001/blob", data, 40, dsk, frame, sizeof(frame), &len), 0);
        cr_assert_eq(kf_env_parse(frame, len, &v), 0);
        cr_assert_eq(kf_blob_parse(&v, &p), -EBADMSG);
        g.kind = KF_MSG_HELLO;
        cr_assert_eq(kf_env_seal(&g, "kf/v1/KF-XH-0001/hello", (const uint8_t *)"{}", 2, dsk, frame,
                                 sizeof(frame), &len),
                     0);
        cr_assert_eq(kf_env_parse(frame, len, &v), 0);
        cr_assert_eq(kf_blob_parse(&v, &p), -EBADMSG);
    }
}

Test(blob, inflate_is_bounded)
{
    const size_t n = 1u << 20; /* 1 MiB of zeros: a few dozen bytes compressed */
    uint8_t *zeros = calloc(1, n), *z, *out = NULL;
    size_t zcap = ZSTD_compressBound(n), zlen, olen;

    z = malloc(zcap);
    cr_assert(zeros && z);
    zlen = ZSTD_compress(z, zcap, zeros, n, 3);
    cr_assert(!ZSTD_isError(zlen));
    cr_assert_eq(kf_blob_inflate(z, zlen, n - 1, &out, &olen), -EMSGSIZE);
    cr_assert_null(out);
    cr_assert_eq(kf_blob_inflate(z, zlen, n, &out, &olen), 0);
    cr_assert_eq(olen, n);
    free(out);
    cr_assert_eq(kf_blob_inflate(z, zlen - 1, n, &out, &olen), -EBADMSG); /* cut short */
    cr_assert_eq(kf_blob_inflate((const uint8_t *)"nonsense", 8, n, &out, &olen), -EBADMSG);
    free(zeros);
    free(z);
}
