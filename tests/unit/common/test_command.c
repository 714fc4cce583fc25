/* COMMAND frames: the docs/PROTOCOL.md vector, and every refusal kf_cmd_open makes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/command.h>
#include <kf/envelope.h>
#include <kf/keyfile.h>
#include <kf/record.h>

/* ---- docs/PROTOCOL.md, "Test vectors", vector 4: the same strings ---- */
#define VEC_SERVER_PK "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"
#define VEC_TOPIC "kf/v1/KF-XH-0001/cmd"
#define VEC_BODY                                                                                   \
    "{\"args\":[\"on\",\"T-0042\"],\"expires\":1767258000000,\"id\":\"C-42\",\"kind\":"            \
    "\"maintenance\"}"
#define VEC4_FRAME                                                                                 \
    "4b460105000a4b462d58482d3030303100000001000000000000000000000007"                             \
    "000000000000019b78921c000000000000000000000000517b2261726773223a"                             \
    "5b226f6e222c22542d30303432225d2c2265787069726573223a313736373235"                             \
    "383030303030302c226964223a22432d3432222c226b696e64223a226d61696e"                             \
    "74656e616e6365227dc3c06f7702b81bd4b77b39ec417e59fc764dec9a5a2f0f"                             \
    "fe6f85293ee6993c97340d80f401d8d49da8174efb12664c7c8cd4693a02a75f"                             \
    "e43bc8ce95479ab508"

#define T_ISSUED INT64_C(1767254400000)
#define T_EXPIRES INT64_C(1767258000000)

static uint8_t spk[32], ssk[64];

static void setup(void)
{
    uint8_t seed[32];

    cr_assert(sodium_init() >= 0);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(0x20 + i);
    crypto_sign_seed_keypair(spk, ssk, seed);
}

TestSuite(command, .init = setup);

static void vec_cmd(struct kf_cmd *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->device_id, sizeof(c->device_id), "KF-XH-0001");
    snprintf(c->id, sizeof(c->id), "C-42");
    c->seq = 7;
    c->issued_ms = T_ISSUED;
    c->expires_ms = T_EXPIRES;
    snprintf(c->kind, sizeof(c->kind), "maintenance");
    c->nargs = 2;
    snprintf(c->args[0], sizeof(c->args[0]), "on");
    snprintf(c->args[1], sizeof(c->args[1]), "T-0042");
}

static size_t seal(const struct kf_cmd *c, const uint8_t *key, uint8_t *out, size_t cap)
{
    size_t n = 0;

    cr_assert_eq(kf_cmd_seal(c, key, out, cap, &n), 0);
    return n;
}

Test(command, vector_matches_byte_for_byte)
{
    struct kf_cmd c, got;
    uint8_t out[4096];
    char hex[8192], pkhex[65];
    char *body = NULL;
    size_t n;

    kf_hex_encode(spk, 32, pkhex, sizeof(pkhex));
    cr_assert_str_eq(pkhex, VEC_SERVER_PK);
    vec_cmd(&c);
    cr_assert_eq(kf_cmd_body(&c, &body), 0);
    cr_assert_str_eq(body, VEC_BODY);
    free(body);
    n = seal(&c, ssk, out, sizeof(out));
    kf_hex_encode(out, n, hex, sizeof(hex));
    if (strcmp(hex, VEC4_FRAME) != 0)
        fprintf(stderr, "vector 4 is now %zu bytes: %s\n", n, hex);
    cr_assert_str_eq(hex, VEC4_FRAME);
    cr_assert_eq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED + 1, &got), KF_CMD_OK);
    cr_assert_str_eq(got.id, "C-42");
    cr_assert_eq(got.seq, 7);
    cr_assert_eq(got.issued_ms, T_ISSUED);
    cr_assert_eq(got.expires_ms, T_EXPIRES);
    cr_assert_str_eq(got.kind, "maintenance");
    cr_assert_eq(got.nargs, 2);
    cr_assert_str_eq(got.args[1], "T-0042");
}

Test(command, refuses_a_bad_signature_and_any_flipped_byte)
{
    struct kf_cmd c, got;
    uint8_t out[4096], other_pk[32], other_sk[64];
    size_t n;

    crypto_sign_keypair(other_pk, other_sk);
    vec_cmd(&c);
    n = seal(&c, other_sk, out, sizeof(out));
    cr_assert_eq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED, &got),
                 KF_CMD_BAD_SIGNATURE);
    n = seal(&c, ssk, out, sizeof(out));
    /* Replayed onto another device's topic: the signature covers the topic. */
    cr_assert_eq(kf_cmd_open(out, n, "kf/v1/KF-XH-0002/cmd", "KF-XH-0001", spk, T_ISSUED, &got),
                 KF_CMD_BAD_SIGNATURE);
    for (size_t i = 0; i < n; i++) {
        out[i] ^= 0x01;
        cr_assert_neq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED, &got), KF_CMD_OK,
                      "byte %zu", i);
        out[i] ^= 0x01;
    }
}

Test(command, refuses_another_device_expired_and_malformed)
{
    struct kf_cmd c, got;
    uint8_t out[4096];
    size_t n;

    vec_cmd(&c);
    n = seal(&c, ssk, out, sizeof(out));
    cr_assert_eq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0002", spk, T_ISSUED, &got),
                 KF_CMD_OTHER_DEVICE);
    cr_assert_eq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0001", spk, T_EXPIRES, &got), KF_CMD_OK);
    cr_assert_eq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0001", spk, T_EXPIRES + 1, &got),
                 KF_CMD_EXPIRED);
    /* Truncated anywhere, or one byte more: malformed, before any signature check. */
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(kf_cmd_open(out, k, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED, &got),
                     KF_CMD_MALFORMED, "length %zu", k);
    out[n] = 0;
    cr_assert_eq(kf_cmd_open(out, n + 1, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED, &got),
                 KF_CMD_MALFORMED);
    cr_assert_eq(kf_cmd_open(NULL, 0, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED, &got),
                 KF_CMD_MALFORMED);
}

Test(command, another_kind_of_frame_is_malformed)
{
    struct kf_env_header h;
    struct kf_cmd got;
    uint8_t out[512];
    size_t n;

    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_IDENT_RESULT;
    snprintf(h.device_id, sizeof(h.device_id), "KF-XH-0001");
    h.key_epoch = 1;
    h.device_ms = T_ISSUED;
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, (const uint8_t *)VEC_BODY, strlen(VEC_BODY), ssk, out,
                             sizeof(out), &n),
                 0);
    cr_assert_eq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED, &got),
                 KF_CMD_MALFORMED);
    /* A COMMAND whose signed body is not a command: malformed after the signature. */
    h.kind = KF_MSG_COMMAND;
    h.seq = 1;
    cr_assert_eq(
        kf_env_seal(&h, VEC_TOPIC, (const uint8_t *)"{\"id\":1}", 8, ssk, out, sizeof(out), &n), 0);
    cr_assert_eq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED, &got),
                 KF_CMD_MALFORMED);
}

Test(command, oversize_commands_are_refused)
{
    struct kf_cmd c;
    struct kf_env_header h;
    uint8_t out[8192];
    static char big[KF_CMD_BODY_MAX + 2];
    struct kf_cmd got;
    size_t n;

    vec_cmd(&c);
    memset(c.args[0], 'a', KF_CMD_ARG_MAX); /* the longest argument: still fits */
    c.args[0][KF_CMD_ARG_MAX] = '\0';
    cr_assert_eq(kf_cmd_seal(&c, ssk, out, sizeof(out), &n), 0);
    c.nargs = KF_CMD_ARGS_MAX + 1;
    cr_assert_eq(kf_cmd_seal(&c, ssk, out, sizeof(out), &n), -EINVAL);
    c.nargs = 1;
    c.expires_ms = c.issued_ms + KF_CMD_LIFE_MAX_MS + 1;
    cr_assert_eq(kf_cmd_seal(&c, ssk, out, sizeof(out), &n), -EINVAL);
    /* A signed frame whose body passes the body bound is refused before it is parsed. */
    memset(big, ' ', sizeof(big) - 1);
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_COMMAND;
    snprintf(h.device_id, sizeof(h.device_id), "KF-XH-0001");
    h.key_epoch = 1;
    h.seq = 1;
    h.device_ms = T_ISSUED;
    cr_assert_eq(kf_env_seal(&h, VEC_TOPIC, (const uint8_t *)big, KF_CMD_BODY_MAX + 1, ssk, out,
                             sizeof(out), &n),
                 0);
    cr_assert_eq(kf_cmd_open(out, n, VEC_TOPIC, "KF-XH-0001", spk, T_ISSUED, &got),
                 KF_CMD_MALFORMED);
}

Test(command, body_parse_is_strict)
{
    static const char *const bad[] = {
        "{\"args\":[],\"expires\":1,\"id\":\"C-1\"}",
        "{\"args\":[],\"expires\":1,\"id\":\"C-1\",\"kind\":\"probe\",\"x\":1}",
        "{\"args\":[1],\"expires\":1,\"id\":\"C-1\",\"kind\":\"probe\"}",
        "{\"args\":[],\"expires\":1.5,\"id\":\"C-1\",\"kind\":\"probe\"}",
        "{\"args\":[],\"expires\":1,\"id\":\"C 1\",\"kind\":\"probe\"}",
        "{\"args\":[],\"expires\":1,\"id\":\"C-1\",\"kind\":\"Probe\"}",
        "{\"args\":[\"\\u0001\"],\"expires\":1,\"id\":\"C-1\",\"kind\":\"probe\"}",
        "{\"args\":[\"a\",\"b\",\"c\",\"d\",\"e\"],\"expires\":1,\"id\":\"C-1\",\"kind\":\"x\"}",
        "{\"args\":[],\"args\":[],\"expires\":1,\"id\":\"C-1\",\"kind\":\"probe\"}",
        "[]",
        "",
    };
    struct kf_cmd c;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(kf_cmd_body_parse(bad[i], strlen(bad[i]), &c), -EBADMSG, "%s", bad[i]);
    cr_assert_eq(kf_cmd_body_parse(VEC_BODY, strlen(VEC_BODY), &c), 0);
}

Test(command, kinds_and_their_arguments)
{
    const char *on[] = {"on"}, *sw[] = {"sideways"}, *kv[] = {"mqtt.uri", "ssl://x:8883"};

    cr_assert_eq(kf_cmd_kind_check("probe", 0, NULL), 0);
    cr_assert_eq(kf_cmd_kind_check("probe", 1, on), -EINVAL);
    cr_assert_eq(kf_cmd_kind_check("maintenance", 1, on), 0);
    cr_assert_eq(kf_cmd_kind_check("maintenance", 1, sw), -EINVAL);
    cr_assert_eq(kf_cmd_kind_check("set-config", 2, kv), 0);
    cr_assert_eq(kf_cmd_kind_check("collect-logs", 0, NULL), -ENOENT);
    {
        const char *u2[] = {"kf-testapp", "1.1"}, *badname[] = {"KF App", "1.1"};
        const char *badver[] = {"kf-testapp", "v1"};
        const char *u3[] = {"kf-testapp", "1.1",
                            "b3b78990443ccf6ff00970e2420eea69e59e32807c242980b73ea07d76193a87"};
        const char *upper[] = {"kf-testapp", "1.1",
                               "B3B78990443CCF6FF00970E2420EEA69E59E32807C242980B73EA07D76193A87"};

        cr_assert_eq(kf_cmd_kind_check("update", 2, u2), 0);
        cr_assert_eq(kf_cmd_kind_check("update", 3, u3), 0);
        cr_assert_eq(kf_cmd_kind_check("update", 1, u2), -EINVAL);
        cr_assert_eq(kf_cmd_kind_check("update", 2, badname), -EINVAL);
        cr_assert_eq(kf_cmd_kind_check("update", 2, badver), -EINVAL);
        cr_assert_eq(kf_cmd_kind_check("update", 3, upper), -EINVAL);
    }
}

Test(command, cmd_result_records_round_trip)
{
    const char *text = "{\"t\":\"cmd_result\",\"ts\":1767254401000,\"cmd\":\"C-42\",\"cmd_seq\":7,"
                       "\"status\":\"failed\",\"detail\":\"exit 3\",\"output\":\"no \\\"app\\\"\"}";
    struct kf_record r;
    char out[KF_RECORD_JSON_MAX + 1];
    size_t n;

    cr_assert_eq(kf_record_parse(text, strlen(text), &r), 0);
    cr_assert_eq(r.type, KF_REC_CMD_RESULT);
    cr_assert_eq(r.u.cmd_result.status, KF_CMD_FAILED);
    cr_assert_eq(r.u.cmd_result.cmd_seq, 7);
    cr_assert_eq(kf_record_format(&r, out, sizeof(out), &n), 0);
    cr_assert_str_eq(out, text);
    /* The largest one fits a record. */
    memset(r.u.cmd_result.detail, '"', KF_CMD_DETAIL_MAX);
    r.u.cmd_result.detail[KF_CMD_DETAIL_MAX] = '\0';
    memset(r.u.cmd_result.output, '\\', KF_CMD_OUTPUT_MAX);
    r.u.cmd_result.output[KF_CMD_OUTPUT_MAX] = '\0';
    cr_assert_eq(kf_record_format(&r, out, sizeof(out), &n), 0);
    cr_assert_eq(kf_record_parse(out, n, &r), 0);
    text = "{\"t\":\"cmd_result\",\"ts\":1767254401000,\"cmd\":\"C-42\",\"cmd_seq\":0,"
           "\"status\":\"done\"}";
    cr_assert_eq(kf_record_parse(text, strlen(text), &r), -EBADMSG);
}
