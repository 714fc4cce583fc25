/* FETCH and PART frames (kf/fetch.h): the docs/PROTOCOL.md vectors 8 and 9, the chunking
 * arithmetic at its bounds (a part's bound, not a bundle's), every refusal of the parsers,
 * and an artifact reassembled from PARTs out of order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/envelope.h>
#include <kf/fetch.h>

/* ---- docs/PROTOCOL.md, "Test vectors", vectors 8 and 9: the same strings ---- */
#define VEC8_FRAME                                                                                 \
    "4b46010a000a4b462d58482d3030303100000001000000000000000000000007"                             \
    "000000000000019b78921c0000000000000000000000002ca0a1a2a3a4a5a6a7"                             \
    "a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf0100000000000000"                             \
    "000000080ea2ebabbeb95a396a62b85f811e046f92452570e4af3a40e081c98b"                             \
    "dca3632a915218813e91feb4cc0aa1e0a12c632cb797635e34c313249ea60e30"                             \
    "7b3fee01"
#define VEC9_FRAME                                                                                 \
    "4b46010b000a4b462d58482d3030303100000001000000000000000000000007"                             \
    "000000000000019b789220d200000000000000000000003f0100000000000000"                             \
    "00000001000000000000000bb3b78990443ccf6ff00970e2420eea69e59e3280"                             \
    "7c242980b73ea07d76193a876b662d7465737461707021c85acd91f3bcc6be4d"                             \
    "cf2730cd4bfbda388939499f05f06289982a65cd1f3b20dcf8fe24f4a43e7ec2"                             \
    "42815824cdd7c06831a8be7decfd22133be73a284af6b2"
#define VEC9_DATA "kf-testapp!"

static uint8_t dpk[32], dsk[64], spk[32], ssk[64], key[KF_ACK_KEY_BYTES];

static void setup(void)
{
    uint8_t seed[32], dkey[KF_ACK_KEY_BYTES];

    cr_assert(sodium_init() >= 0);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    crypto_sign_seed_keypair(dpk, dsk, seed);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(0x20 + i);
    crypto_sign_seed_keypair(spk, ssk, seed);
    cr_assert_eq(kf_ack_key_server(ssk, dpk, key), 0);
    cr_assert_eq(kf_ack_key_device(dsk, spk, dkey), 0);
    cr_assert_eq(memcmp(key, dkey, sizeof(key)), 0);
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    cr_assert_eq(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL), 0);
    return n;
}

static void print_hex(const char *what, const uint8_t *b, size_t n)
{
    if (getenv("KF_PRINT_VECTORS") == NULL)
        return;
    fprintf(stderr, "%s (%zu bytes)\n", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%02x%s", b[i], (i % 32 == 31 || i + 1 == n) ? "\n" : "");
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

static struct kf_fetch vec8(void)
{
    struct kf_fetch f = {.cmd_seq = 7, .part = KF_PART_FILE, .first = 0, .count = 8};

    for (int i = 0; i < 32; i++)
        f.manifest_sha256[i] = (uint8_t)(0xa0 + i);
    return f;
}

TestSuite(fetch, .init = setup);

Test(fetch, vector8_fetch_is_byte_exact_and_parses)
{
    uint8_t want[256], got[KF_FETCH_FRAME_MAX];
    struct kf_env_header h = base();
    struct kf_fetch f = vec8(), p;
    struct kf_env_view v;
    size_t wlen, len;

    cr_assert_eq(kf_fetch_seal(&h, &f, dsk, got, sizeof(got), &len), 0);
    print_hex("vector 8", got, len);
    wlen = unhex(VEC8_FRAME, want, sizeof(want));
    cr_assert_eq(len, wlen);
    cr_assert_eq(memcmp(got, want, len), 0);
    cr_assert_eq(kf_env_parse(want, wlen, &v), 0);
    cr_assert_eq(kf_env_verify(&v, "kf/v1/KF-XH-0001/blob", dpk), 0);
    cr_assert_neq(kf_env_verify(&v, "kf/v1/KF-XH-0001/events", dpk), 0);
    cr_assert_eq(kf_fetch_parse(&v, &p), 0);
    cr_assert_eq(p.cmd_seq, 7);
    cr_assert_eq(p.part, KF_PART_FILE);
    cr_assert_eq(p.first, 0);
    cr_assert_eq(p.count, 8);
    cr_assert_eq(memcmp(p.manifest_sha256, f.manifest_sha256, 32), 0);
    /* A reserved byte set: refused. */
    want[wlen - 64 - 44 + 33] = 1;
    cr_assert_eq(kf_env_parse(want, wlen, &v), 0);
    cr_assert_eq(kf_fetch_parse(&v, &p), -EBADMSG);
}

Test(fetch, vector9_part_is_byte_exact_and_parses)
{
    uint8_t want[256], got[KF_PART_FRAME_MAX];
    struct kf_part c = {.cmd_seq = 7,
                        .part = KF_PART_FILE,
                        .state = KF_FETCH_OK,
                        .index = 0,
                        .nchunks = 1,
                        .total = 11,
                        .data = (const uint8_t *)VEC9_DATA,
                        .len = 11},
                   p;
    struct kf_env_view v;
    size_t wlen, len;

    crypto_hash_sha256(c.sha256, c.data, c.len);
    print_hex("part sha256", c.sha256, 32);
    print_hex("ack key", key, 32);
    cr_assert_eq(
        kf_part_seal("KF-XH-0001", 1, &c, INT64_C(1767254401234), key, got, sizeof(got), &len), 0);
    print_hex("vector 9", got, len);
    wlen = unhex(VEC9_FRAME, want, sizeof(want));
    cr_assert_eq(len, wlen);
    cr_assert_eq(memcmp(got, want, len), 0);
    cr_assert_eq(kf_env_parse(want, wlen, &v), 0);
    cr_assert_eq(kf_env_verify_mac(&v, "kf/v1/KF-XH-0001/ack", key), 0);
    cr_assert_neq(kf_env_verify_mac(&v, "kf/v1/KF-XH-0002/ack", key), 0);
    cr_assert_eq(kf_part_parse(&v, &p), 0);
    cr_assert_eq(p.cmd_seq, 7);
    cr_assert_eq(p.part, KF_PART_FILE);
    cr_assert_eq(p.state, KF_FETCH_OK);
    cr_assert_eq(p.total, 11);
    cr_assert_eq(p.len, 11);
    cr_assert_eq(memcmp(p.data, VEC9_DATA, 11), 0);
    cr_assert_eq(memcmp(p.sha256, c.sha256, 32), 0);
    /* A reserved byte set: refused. */
    want[wlen - 64 - 52 - 11 + 2] = 1;
    cr_assert_eq(kf_env_parse(want, wlen, &v), 0);
    cr_assert_eq(kf_part_parse(&v, &p), -EBADMSG);
}

Test(fetch, chunking_at_its_bounds)
{
    cr_assert_eq(kf_part_nchunks(KF_PART_FILE, 0), 0);
    cr_assert_eq(kf_part_nchunks(KF_PART_FILE, 1), 1);
    cr_assert_eq(kf_part_nchunks(KF_PART_FILE, KF_FETCH_CHUNK_BYTES), 1);
    cr_assert_eq(kf_part_nchunks(KF_PART_FILE, KF_FETCH_CHUNK_BYTES + 1), 2);
    cr_assert_eq(kf_part_nchunks(KF_PART_FILE, KF_ARTIFACT_MAX_BYTES), KF_FETCH_CHUNKS_MAX);
    cr_assert_eq(KF_FETCH_CHUNKS_MAX, 2048);
    cr_assert_eq(kf_part_nchunks(KF_PART_FILE, KF_ARTIFACT_MAX_BYTES + 1ull), 0);
    cr_assert_eq(kf_part_nchunks(KF_PART_MANIFEST, KF_MANIFEST_FILE_MAX), 1);
    cr_assert_eq(kf_part_nchunks(KF_PART_MANIFEST, KF_MANIFEST_FILE_MAX + 1), 0);
    cr_assert_eq(kf_part_nchunks(2, 10), 0); /* no such part */
    cr_assert_eq(kf_part_chunk_len(KF_PART_FILE, KF_FETCH_CHUNK_BYTES + 5, 0),
                 KF_FETCH_CHUNK_BYTES);
    cr_assert_eq(kf_part_chunk_len(KF_PART_FILE, KF_FETCH_CHUNK_BYTES + 5, 1), 5);
    cr_assert_eq(kf_part_chunk_len(KF_PART_FILE, KF_FETCH_CHUNK_BYTES + 5, 2), 0);
    cr_assert(KF_PART_FRAME_MAX <= KF_ENV_MAX_BYTES);
}

/* A package cut into PARTs, sealed, parsed back in reverse order and put together by index,
 * is the package. */
Test(fetch, reassembles_out_of_order)
{
    const size_t total = 3 * KF_FETCH_CHUNK_BYTES + 77;
    uint8_t *file = malloc(total), *back = calloc(1, total), frame[KF_PART_FRAME_MAX], sha[32];
    uint32_t n = kf_part_nchunks(KF_PART_FILE, total);

    cr_assert(file && back);
    randombytes_buf(file, total);
    crypto_hash_sha256(sha, file, total);
    cr_assert_eq(n, 4);
    for (uint32_t i = n; i-- > 0;) {
        struct kf_part c = {.cmd_seq = 9,
                            .part = KF_PART_FILE,
                            .index = i,
                            .nchunks = n,
                            .total = total},
                       p;
        struct kf_env_view v;
        size_t len;

        memcpy(c.sha256, sha, 32);
        c.len = kf_part_chunk_len(KF_PART_FILE, total, i);
        c.data = file + (size_t)i * KF_FETCH_CHUNK_BYTES;
        cr_assert_eq(kf_part_seal("KF-XH-0001", 1, &c, 1, key, frame, sizeof(frame), &len), 0);
        cr_assert_eq(kf_env_parse(frame, len, &v), 0);
        cr_assert_eq(kf_env_verify_mac(&v, "kf/v1/KF-XH-0001/ack", key), 0);
        cr_assert_eq(kf_part_parse(&v, &p), 0);
        cr_assert_eq(p.index, i);
        memcpy(back + (size_t)p.index * KF_FETCH_CHUNK_BYTES, p.data, p.len);
    }
    cr_assert_eq(memcmp(back, file, total), 0);
    free(file);
    free(back);
}

Test(fetch, refuses_what_breaks_the_rules)
{
    uint8_t data[KF_FETCH_CHUNK_BYTES] = {0}, frame[KF_PART_FRAME_MAX];
    struct kf_env_header h = base();
    struct kf_fetch f, okf = vec8();
    struct kf_part ok = {.cmd_seq = 1,
                         .part = KF_PART_FILE,
                         .index = 0,
                         .nchunks = 2,
                         .total = KF_FETCH_CHUNK_BYTES + 1,
                         .data = data,
                         .len = KF_FETCH_CHUNK_BYTES},
                   c, unknown = {.cmd_seq = 3, .part = KF_PART_MANIFEST, .state = KF_FETCH_UNKNOWN},
                   p;
    struct kf_env_view v;
    size_t len;

    /* FETCH: seq, part, window, first. */
    cr_assert_eq(kf_fetch_seal(&h, &okf, dsk, frame, sizeof(frame), &len), 0);
    f = okf, f.cmd_seq = 0;
    cr_assert_eq(kf_fetch_seal(&h, &f, dsk, frame, sizeof(frame), &len), -EINVAL);
    f = okf, f.part = 2;
    cr_assert_eq(kf_fetch_seal(&h, &f, dsk, frame, sizeof(frame), &len), -EINVAL);
    f = okf, f.count = 0;
    cr_assert_eq(kf_fetch_seal(&h, &f, dsk, frame, sizeof(frame), &len), -EINVAL);
    f = okf, f.count = KF_FETCH_WINDOW + 1;
    cr_assert_eq(kf_fetch_seal(&h, &f, dsk, frame, sizeof(frame), &len), -EINVAL);
    f = okf, f.first = KF_FETCH_CHUNKS_MAX;
    cr_assert_eq(kf_fetch_seal(&h, &f, dsk, frame, sizeof(frame), &len), -EINVAL);

    /* PART: lengths, counts, states. */
    cr_assert_eq(kf_part_seal("KF-XH-0001", 1, &ok, 1, key, frame, sizeof(frame), &len), 0);
    c = ok, c.index = 2;
    cr_assert_eq(kf_part_seal("KF-XH-0001", 1, &c, 1, key, frame, sizeof(frame), &len), -EINVAL);
    c = ok, c.len = 100; /* not the last chunk: must be whole */
    cr_assert_eq(kf_part_seal("KF-XH-0001", 1, &c, 1, key, frame, sizeof(frame), &len), -EINVAL);
    c = ok, c.part = KF_PART_MANIFEST; /* a manifest is one chunk of at most 1024 bytes */
    cr_assert_eq(kf_part_seal("KF-XH-0001", 1, &c, 1, key, frame, sizeof(frame), &len), -EINVAL);
    c = ok, c.state = 2;
    cr_assert_eq(kf_part_seal("KF-XH-0001", 1, &c, 1, key, frame, sizeof(frame), &len), -EINVAL);
    c = ok, c.state = KF_FETCH_UNKNOWN; /* unknown carries nothing */
    cr_assert_eq(kf_part_seal("KF-XH-0001", 1, &c, 1, key, frame, sizeof(frame), &len), -EINVAL);
    cr_assert_eq(kf_part_seal("KF-XH-0001", 1, &unknown, 1, key, frame, sizeof(frame), &len), 0);
    cr_assert_eq(kf_env_parse(frame, len, &v), 0);
    cr_assert_eq(kf_part_parse(&v, &p), 0);
    cr_assert_eq(p.state, KF_FETCH_UNKNOWN);
    cr_assert_eq(p.len, 0);
    /* Each parser refuses the other's frame. */
    cr_assert_eq(kf_fetch_parse(&v, &f), -EBADMSG);
    cr_assert_eq(kf_fetch_seal(&h, &okf, dsk, frame, sizeof(frame), &len), 0);
    cr_assert_eq(kf_env_parse(frame, len, &v), 0);
    cr_assert_eq(kf_part_parse(&v, &p), -EBADMSG);
    /* A FETCH with a body of another length (sealed by hand). */
    {
        uint8_t body[KF_FETCH_BODY_BYTES + 1] = {0};
        struct kf_env_header g = base();

        g.kind = KF_MSG_FETCH;
        g.seq = 1;
        body[43] = 1;
        cr_assert_eq(kf_env_seal(&g, "kf/v1/KF-XH-0001/blob", body, sizeof(body), dsk, frame,
                                 sizeof(frame), &len),
                     0);
        cr_assert_eq(kf_env_parse(frame, len, &v), 0);
        cr_assert_eq(kf_fetch_parse(&v, &f), -EBADMSG);
        cr_assert_eq(kf_env_seal(&g, "kf/v1/KF-XH-0001/blob", body, KF_FETCH_BODY_BYTES, dsk, frame,
                                 sizeof(frame), &len),
                     0);
        cr_assert_eq(kf_env_parse(frame, len, &v), 0);
        cr_assert_eq(kf_fetch_parse(&v, &f), 0);
    }
}
