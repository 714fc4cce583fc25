/* Signed release manifests (kf/manifest.h): the docs/PROTOCOL.md vector 7, byte for byte;
 * refused when signed by another key, edited, or out of bounds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/manifest.h>

/* ---- docs/PROTOCOL.md section 14, vector 7: the same strings ---- */
#define VEC7_PK "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d"
#define VEC7                                                                                       \
    "{\"manifest\":{\"kinds\":[\"kiosk\",\"itm\"],\"name\":\"kiosk-agent\",\"sha256\":"            \
    "\"dfa15068f9d4952b4412dd23533ed7a8844464bc88b3efb323b7c84301895b99\",\"size\":11,"            \
    "\"version\":\"1.1.0\"},\"sig\":\"d6baf9d9a078189819a1e2e150d6a8ab5ed7b7d6a2014ac10b98316773"  \
    "3c1783ab3d9f04a59abe92852c6797875e3db2e82bd3fac89dcdb442ebb77739084c0a\"}"

static uint8_t pk[32], sk[64];

static void setup(void)
{
    uint8_t seed[32];

    cr_assert(sodium_init() >= 0);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(0x40 + i);
    crypto_sign_seed_keypair(pk, sk, seed);
}

TestSuite(manifest, .init = setup);

static struct kf_manifest vec7(void)
{
    struct kf_manifest m;

    memset(&m, 0, sizeof(m));
    snprintf(m.name, sizeof(m.name), "kiosk-agent");
    snprintf(m.version, sizeof(m.version), "1.1.0");
    m.kinds = KF_MANIFEST_KIOSK | KF_MANIFEST_ITM;
    m.size = 11;
    crypto_hash_sha256(m.sha256, (const uint8_t *)"hello, logs", 11);
    return m;
}

Test(manifest, vector7_is_byte_exact_and_opens)
{
    struct kf_manifest m = vec7(), got;
    uint8_t vpk[32];
    char *text = NULL;

    cr_assert_eq(sodium_hex2bin(vpk, 32, VEC7_PK, 64, NULL, NULL, NULL), 0);
    cr_assert_eq(memcmp(vpk, pk, 32), 0);
    cr_assert_eq(kf_manifest_sign(&m, sk, &text), 0);
    cr_assert_str_eq(text, VEC7);
    free(text);
    cr_assert_eq(kf_manifest_open(VEC7, strlen(VEC7), pk, &got), 0);
    cr_assert_str_eq(got.name, "kiosk-agent");
    cr_assert_str_eq(got.version, "1.1.0");
    cr_assert_eq(got.size, 11);
    cr_assert_eq(memcmp(got.sha256, m.sha256, 32), 0);
    cr_assert(kf_manifest_for_kind(&got, "kiosk"));
    cr_assert(kf_manifest_for_kind(&got, "itm"));
    cr_assert_not(kf_manifest_for_kind(&got, "atm"));
}

Test(manifest, refused_under_another_key_or_edited)
{
    uint8_t opk[32], osk[64];
    struct kf_manifest got;
    char *t = strdup(VEC7), *p;

    crypto_sign_keypair(opk, osk);
    cr_assert_eq(kf_manifest_open(VEC7, strlen(VEC7), opk, &got), -EKEYREJECTED);
    /* A version bumped: well formed, the signature fails. */
    p = strstr(t, "1.1.0");
    p[2] = '2';
    cr_assert_eq(kf_manifest_open(t, strlen(t), pk, &got), -EKEYREJECTED);
    free(t);
    /* Spaced differently: the signature covers the canonical bytes of the fields, so the same
     * manifest opens, with the same fields. */
    t = calloc(1, strlen(VEC7) + 2);
    cr_assert_not_null(t);
    memcpy(t, VEC7, strlen(VEC7));
    p = strstr(t, "\"size\":11");
    memmove(p + 1, p, strlen(p) + 1);
    *p = ' ';
    cr_assert_eq(kf_manifest_open(t, strlen(t), pk, &got), 0);
    cr_assert_eq(got.size, 11);
    free(t);
    /* Cut short at every length: never accepted. */
    for (size_t n = 0; n < strlen(VEC7); n++)
        cr_assert_neq(kf_manifest_open(VEC7, n, pk, &got), 0);
}

Test(manifest, refuses_out_of_bounds)
{
    struct kf_manifest m = vec7(), got;
    const char *bad[] = {
        "{\"manifest\":{\"kinds\":[\"kiosk\",\"kiosk\"],\"name\":\"ab\",\"sha256\":\"" /* repeated
                                                                                        */
        "dfa15068f9d4952b4412dd23533ed7a8844464bc88b3efb323b7c84301895b99\",\"size\":1,"
        "\"version\":\"1\"},\"sig\":\"00\"}",
        "{\"manifest\":{},\"sig\":\"00\"}",
        "[]",
        "{\"manifest\":{\"kinds\":[\"kiosk\"],\"name\":\"ab\",\"sha256\":\"x\",\"size\":1,"
        "\"version\":\"1\"},\"sig\":\"00\",\"extra\":1}",
    };
    char *t = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(kf_manifest_open(bad[i], strlen(bad[i]), pk, &got), -EBADMSG, "%zu", i);
    m.size = 0;
    cr_assert_eq(kf_manifest_sign(&m, sk, &t), -EINVAL);
    m = vec7();
    m.size = KF_ARTIFACT_MAX_BYTES + 1ull;
    cr_assert_eq(kf_manifest_sign(&m, sk, &t), -EINVAL);
    m = vec7();
    snprintf(m.name, sizeof(m.name), "Kiosk"); /* Debian names are lower case */
    cr_assert_eq(kf_manifest_sign(&m, sk, &t), -EINVAL);
    m = vec7();
    snprintf(m.version, sizeof(m.version), "v1"); /* a digit first */
    cr_assert_eq(kf_manifest_sign(&m, sk, &t), -EINVAL);
    m = vec7();
    m.kinds = 0;
    cr_assert_eq(kf_manifest_sign(&m, sk, &t), -EINVAL);
}
