/* Codec: dictionary round trips and every refusal of untrusted compressed bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <zstd.h>

#include <kf/codec.h>
#include <kf/envelope.h>

#define SAMPLE                                                                                     \
    "[{\"t\":\"txn\",\"ts\":1767254395000,\"item\":\"SB-003\",\"outcome\":\"ok\","                 \
    "\"dur_ms\":93000},{\"t\":\"periph\",\"ts\":1767254398000,\"dev\":\"receipt_printer\","        \
    "\"state\":\"paper_low\"}]"

Test(codec, round_trip_with_dictionary)
{
    struct kf_zctx *z;
    char zbuf[1024], out[1024];
    size_t zl, ol;
    uint32_t dict_id = 0;

    cr_assert_eq(kf_zctx_new(3, &z), 0);
    cr_assert_eq(kf_zctx_compress(z, SAMPLE, strlen(SAMPLE), zbuf, sizeof(zbuf), &zl, &dict_id), 0);
    cr_assert_eq(dict_id, KF_DICT_ID_V1);
    cr_assert_eq(ZSTD_getDictID_fromFrame(zbuf, zl), KF_DICT_ID_V1);
    cr_assert_lt(zl, strlen(SAMPLE) / 2, "dictionary should help: %zu", zl);
    cr_assert_eq(kf_zctx_decompress(z, dict_id, zbuf, zl, out, sizeof(out), &ol), 0);
    cr_assert_eq(ol, strlen(SAMPLE));
    cr_assert_eq(memcmp(out, SAMPLE, ol), 0);
    kf_zctx_free(z);
}

Test(codec, other_levels_round_trip)
{
    int levels[] = {1, 9, 19};

    for (size_t i = 0; i < 3; i++) {
        struct kf_zctx *z;
        char zbuf[1024], out[1024];
        size_t zl, ol;
        uint32_t dict_id;

        cr_assert_eq(kf_zctx_new(levels[i], &z), 0);
        cr_assert_eq(kf_zctx_compress(z, SAMPLE, strlen(SAMPLE), zbuf, sizeof(zbuf), &zl, &dict_id),
                     0);
        cr_assert_eq(kf_zctx_decompress(z, dict_id, zbuf, zl, out, sizeof(out), &ol), 0);
        cr_assert_eq(ol, strlen(SAMPLE));
        kf_zctx_free(z);
    }
    struct kf_zctx *bad;
    cr_assert_eq(kf_zctx_new(0, &bad), -EINVAL);
    cr_assert_eq(kf_zctx_new(99, &bad), -EINVAL);
    kf_zctx_free(NULL);
}

Test(codec, compress_into_small_buffer_is_emsgsize)
{
    struct kf_zctx *z;
    char zbuf[8];
    size_t zl;
    uint32_t dict_id;

    cr_assert_eq(kf_zctx_new(3, &z), 0);
    cr_assert_eq(kf_zctx_compress(z, SAMPLE, strlen(SAMPLE), zbuf, sizeof(zbuf), &zl, &dict_id),
                 -EMSGSIZE);
    kf_zctx_free(z);
}

/* A bomb: 64 MiB of zeros streamed through a small buffer (content size not declared, as an
 * attacker would), refused into a 256 KiB cap. */
static size_t make_bomb(void *dst, size_t cap, int declare_size)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    static char zeros[1 << 20];
    ZSTD_outBuffer ob = {dst, cap, 0};
    size_t total = 64u << 20;

    cr_assert(c);
    if (declare_size)
        ZSTD_CCtx_setPledgedSrcSize(c, total);
    for (size_t done = 0; done < total; done += sizeof(zeros)) {
        ZSTD_inBuffer ib = {zeros, sizeof(zeros), 0};
        ZSTD_EndDirective mode = done + sizeof(zeros) >= total ? ZSTD_e_end : ZSTD_e_continue;
        size_t r;

        do {
            r = ZSTD_compressStream2(c, &ob, &ib, mode);
            cr_assert(!ZSTD_isError(r));
        } while (mode == ZSTD_e_end ? r != 0 : ib.pos < ib.size);
    }
    ZSTD_freeCCtx(c);
    return ob.pos;
}

Test(codec, bomb_is_refused_with_emsgsize)
{
    static char bomb[1 << 16], out[KF_BODY_MAX_BYTES];
    struct kf_zctx *z;
    size_t bl, ol = 12345;

    cr_assert_eq(kf_zctx_new(3, &z), 0);
    for (int declare = 0; declare < 2; declare++) {
        bl = make_bomb(bomb, sizeof(bomb), declare);
        cr_assert_lt(bl, KF_ENV_MAX_BYTES, "bomb fits in a frame: %zu", bl);
        cr_assert_eq(kf_zctx_decompress(z, 0, bomb, bl, out, sizeof(out), &ol), -EMSGSIZE);
        cr_assert_eq(ol, 12345); /* untouched on failure */
    }
    kf_zctx_free(z);
}

/* A corrupt frame is corrupt whatever size its header claims: a bomb that declares 64 MiB,
 * cut short, is -EBADMSG (bad_compression), not -EMSGSIZE (oversize: docs/PROTOCOL.md 11);
 * and a frame that declares a size that fits but decodes past it lied: -EBADMSG too. */
Test(codec, corrupt_frames_claiming_a_large_size_are_ebadmsg)
{
    static char bomb[1 << 16], out[KF_BODY_MAX_BYTES];
    struct kf_zctx *z;
    size_t bl, ol;

    cr_assert_eq(kf_zctx_new(3, &z), 0);
    bl = make_bomb(bomb, sizeof(bomb), 1);
    cr_assert_eq(kf_zctx_decompress(z, 0, bomb, bl - 7, out, sizeof(out), &ol), -EBADMSG);
    cr_assert_eq(kf_zctx_decompress(z, 0, bomb, bl, out, sizeof(out), &ol), -EMSGSIZE);
    kf_zctx_free(z);
}

Test(codec, wrong_dictionary_id_is_enoent)
{
    struct kf_zctx *z;
    char zbuf[1024], out[1024];
    size_t zl, ol;
    uint32_t dict_id;

    cr_assert_eq(kf_zctx_new(3, &z), 0);
    cr_assert_eq(kf_zctx_compress(z, SAMPLE, strlen(SAMPLE), zbuf, sizeof(zbuf), &zl, &dict_id), 0);
    cr_assert_eq(kf_zctx_decompress(z, 0x4B460002u, zbuf, zl, out, sizeof(out), &ol), -ENOENT);
    /* frame made with the dictionary, header claims none */
    cr_assert_eq(kf_zctx_decompress(z, 0, zbuf, zl, out, sizeof(out), &ol), -ENOENT);
    /* frame made without a dictionary, header claims v1 */
    zl = ZSTD_compress(zbuf, sizeof(zbuf), SAMPLE, strlen(SAMPLE), 3);
    cr_assert(!ZSTD_isError(zl));
    cr_assert_eq(kf_zctx_decompress(z, KF_DICT_ID_V1, zbuf, zl, out, sizeof(out), &ol), -ENOENT);
    cr_assert_eq(kf_zctx_decompress(z, 0, zbuf, zl, out, sizeof(out), &ol), 0);
    cr_assert_eq(ol, strlen(SAMPLE));
    kf_zctx_free(z);
}

Test(codec, corrupt_frames_are_ebadmsg)
{
    struct kf_zctx *z;
    char zbuf[1024], bad[1024], out[1024];
    size_t zl, ol;
    uint32_t dict_id;
    int refused = 0;

    cr_assert_eq(kf_zctx_new(3, &z), 0);
    cr_assert_eq(kf_zctx_compress(z, SAMPLE, strlen(SAMPLE), zbuf, sizeof(zbuf), &zl, &dict_id), 0);
    cr_assert_eq(kf_zctx_decompress(z, dict_id, "not zstd", 8, out, sizeof(out), &ol), -EBADMSG);
    cr_assert_eq(kf_zctx_decompress(z, dict_id, zbuf, 0, out, sizeof(out), &ol), -EBADMSG);
    cr_assert_eq(kf_zctx_decompress(z, dict_id, zbuf, zl - 1, out, sizeof(out), &ol), -EBADMSG);
    /* trailing garbage after the frame */
    memcpy(bad, zbuf, zl);
    bad[zl] = 0;
    cr_assert_eq(kf_zctx_decompress(z, dict_id, bad, zl + 1, out, sizeof(out), &ol), -EBADMSG);
    /* zstd frames without a checksum cannot catch every flipped bit; flipped bits must never
     * crash, and truncation past the header must be refused */
    for (size_t i = 0; i < zl; i++) {
        memcpy(bad, zbuf, zl);
        bad[i] ^= 0x5a;
        int r = kf_zctx_decompress(z, dict_id, bad, zl, out, sizeof(out), &ol);
        cr_assert(r == 0 || r == -EBADMSG || r == -ENOENT || r == -EMSGSIZE, "r=%d", r);
        refused += r != 0;
    }
    cr_assert_gt(refused, 0);
    kf_zctx_free(z);
}
