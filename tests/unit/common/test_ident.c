/* test_ident.c: enrollment tokens, proofs, rotation signatures and the identity JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/ident.h>

static void init(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(ident, .init = init);

Test(ident, token_round_trip)
{
    char id[KF_TOKEN_ID_LEN + 1], id2[KF_TOKEN_ID_LEN + 1], text[KF_TOKEN_LEN + 1];
    uint8_t secret[KF_TOKEN_SECRET_BYTES], secret2[KF_TOKEN_SECRET_BYTES];
    char lower[KF_TOKEN_LEN + 8];

    kf_token_new(id, secret);
    cr_assert_eq(strlen(id), KF_TOKEN_ID_LEN);
    cr_assert_eq(kf_token_format(id, secret, text, sizeof(text)), 0);
    cr_assert_eq(strlen(text), KF_TOKEN_LEN);
    cr_assert_eq(kf_token_parse(text, id2, secret2), 0);
    cr_assert_str_eq(id, id2);
    cr_assert_eq(memcmp(secret, secret2, sizeof(secret)), 0);
    /* typed by hand: lower case and stray whitespace are accepted */
    snprintf(lower, sizeof(lower), "  %s\n", text);
    for (char *p = lower; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    cr_assert_eq(kf_token_parse(lower, id2, secret2), 0);
    cr_assert_eq(memcmp(secret, secret2, sizeof(secret)), 0);
}

Test(ident, token_parse_refuses_damage)
{
    char id[KF_TOKEN_ID_LEN + 1], text[KF_TOKEN_LEN + 1], bad[KF_TOKEN_LEN + 1];
    uint8_t secret[KF_TOKEN_SECRET_BYTES];

    kf_token_new(id, secret);
    cr_assert_eq(kf_token_format(id, secret, text, sizeof(text)), 0);
    cr_assert_eq(kf_token_parse("", id, secret), -EINVAL);
    memcpy(bad, text, sizeof(bad));
    bad[KF_TOKEN_LEN - 1] = '\0'; /* one character short */
    cr_assert_eq(kf_token_parse(bad, id, secret), -EINVAL);
    memcpy(bad, text, sizeof(bad));
    bad[6] = '1'; /* not in the alphabet */
    cr_assert_eq(kf_token_parse(bad, id, secret), -EINVAL);
    memcpy(bad, text, sizeof(bad));
    bad[0] = 'X';
    cr_assert_eq(kf_token_parse(bad, id, secret), -EINVAL);
}

Test(ident, proof_binds_key_and_verifier)
{
    char id[KF_TOKEN_ID_LEN + 1];
    uint8_t secret[KF_TOKEN_SECRET_BYTES], mac[32], other[32];
    struct kf_ident_req req;

    kf_token_new(id, secret);
    kf_token_mac_key(secret, mac);
    memset(&req, 0, sizeof(req));
    req.op = KF_IDENT_ENROLL;
    memcpy(req.token_id, id, sizeof(id));
    memset(req.pk, 0x42, 32);
    snprintf(req.verifier, sizeof(req.verifier), "$6$c2FsdA==$aGFzaA==");
    kf_ident_proof(mac, &req, req.proof);
    cr_assert_eq(kf_ident_proof_check(mac, &req), 0);
    req.pk[0] ^= 1; /* another key under the same proof */
    cr_assert_eq(kf_ident_proof_check(mac, &req), -EKEYREJECTED);
    req.pk[0] ^= 1;
    req.verifier[4] = 'x'; /* another broker password */
    cr_assert_eq(kf_ident_proof_check(mac, &req), -EKEYREJECTED);
    kf_token_new(id, secret);
    kf_token_mac_key(secret, other);
    cr_assert_neq(memcmp(mac, other, 32), 0);
}

Test(ident, rotation_signed_by_the_new_key)
{
    uint8_t pk[32], sk[64];
    struct kf_ident_req req;

    crypto_sign_keypair(pk, sk);
    memset(&req, 0, sizeof(req));
    req.op = KF_IDENT_ROTATE;
    snprintf(req.device_id, sizeof(req.device_id), "A-1.1");
    req.new_epoch = 2;
    memcpy(req.pk, pk, 32);
    kf_ident_rotate_sign(&req, sk);
    cr_assert_eq(kf_ident_rotate_check(&req), 0);
    req.new_epoch = 3; /* the signature covers the epoch */
    cr_assert_eq(kf_ident_rotate_check(&req), -EKEYREJECTED);
    req.new_epoch = 2;
    snprintf(req.device_id, sizeof(req.device_id), "A-2.1"); /* and the device */
    cr_assert_eq(kf_ident_rotate_check(&req), -EKEYREJECTED);
}

Test(ident, json_round_trip_and_strictness)
{
    struct kf_ident_req req, back;
    struct kf_ident_result res, rback;
    char *s = NULL;

    memset(&req, 0, sizeof(req));
    req.op = KF_IDENT_ENROLL;
    snprintf(req.token_id, sizeof(req.token_id), "ABCDEFGHIJ");
    memset(req.pk, 0xab, 32);
    snprintf(req.verifier, sizeof(req.verifier), "$6$c2FsdA==$aGFzaA==");
    memset(req.proof, 0x11, sizeof(req.proof));
    cr_assert_eq(kf_ident_req_to_json(&req, &s), 0);
    cr_assert_eq(kf_ident_req_parse(s, strlen(s), &back), 0);
    cr_assert_eq(memcmp(&req, &back, sizeof(req)), 0);
    free(s);

    cr_assert_eq(kf_ident_req_parse("{\"op\":\"enroll\"}", 15, &back), -EBADMSG);
    {
        const char *extra = "{\"op\":\"rotate\",\"pk\":\"00\",\"new_epoch\":2,\"x\":1}";
        cr_assert_eq(kf_ident_req_parse(extra, strlen(extra), &back), -EBADMSG);
    }

    memset(&res, 0, sizeof(res));
    res.op = KF_IDENT_ENROLL;
    res.reason = KF_IDENT_OK;
    snprintf(res.device_id, sizeof(res.device_id), "A-000001.1");
    res.key_epoch = 1;
    cr_assert_eq(kf_ident_result_to_json(&res, &s), 0);
    cr_assert_eq(kf_ident_result_parse(s, strlen(s), &rback), 0);
    cr_assert_str_eq(rback.device_id, "A-000001.1");
    cr_assert_eq(rback.key_epoch, 1);
    free(s);
    res.reason = KF_IDENT_TOKEN_USED;
    cr_assert_eq(kf_ident_result_to_json(&res, &s), 0);
    cr_assert_not_null(strstr(s, "\"reason\":\"token_used\""));
    cr_assert_eq(kf_ident_result_parse(s, strlen(s), &rback), 0);
    cr_assert_eq(rback.reason, KF_IDENT_TOKEN_USED);
    free(s);
}
