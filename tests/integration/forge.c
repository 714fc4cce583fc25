/* kf-forge: writes the hostile frames the integration tests throw at kioskd.
 *
 *   kf-forge --key FILE --device ID --other ID --seq N --out DIR
 *
 * Writes DIR/<name>.bin and DIR/frames.txt, one line per frame: "<name> <topic> <reason>",
 * where reason is the rejection kioskd must count ("ok" for the frames that must commit;
 * "conflict": the first frame's seq sent again with another record).
 * Every hostile frame except the forged and unknown ones is signed with the device's real
 * key: the server must refuse it for what it is, not because a signature fails.
 *
 *   kf-forge ack --key FILE --device ID --seq N --out FILE
 *
 * Writes one ACK frame for device ID with high-water mark N, its MAC under the ACK key that
 * FILE's key pair would share with itself: what a forger holding some key but not the
 * server's can make (docs/PROTOCOL.md section 4).
 *
 *   kf-forge frame --key FILE --device ID --seq N --ms T RECORD_JSON
 *
 * Prints "TOPIC HEX": one RECORDS frame of device ID (key epoch 1, uncompressed body) holding
 * RECORD_JSON as record seq N, sealed at device time T (ms), as the events topic carries it:
 * what a test writes into the envelopes table for a fact it writes directly (a device's
 * record behind the fact; the bank's checker verifies it). With --keygen, FILE is created
 * first with a new key pair and the public key printed on a line of its own before.
 *
 *   kf-forge cmd --key FILE --device ID --seq N --id C-N --issued MS --expires MS --out FILE
 *                [--keygen] KIND [ARG...]
 *
 * Writes one COMMAND frame (docs/PROTOCOL.md "COMMAND") for device ID signed by FILE's key:
 * with the server's key and a stored command's fields, the very bytes kioskd sent (Ed25519
 * is deterministic): a replay; with another key (--keygen makes one), a forgery.
 *
 *   kf-forge enroll-account TOKENFILE
 *
 * Prints "USERNAME PASSWORD": the broker account an enrolling terminal derives from its
 * token (docs/PROTOCOL.md section 13.1), so a test can act as that terminal on the broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include <sodium.h>
#include <zstd.h>

#include <kf/codec.h>
#include <kf/command.h>
#include <kf/envelope.h>
#include <kf/err.h>
#include <kf/ident.h>
#include <kf/keyfile.h>
#include <kf/record.h>
#include <kf/time.h>
#include <kf/topic.h>

extern const unsigned char kf__dict_v1[];
extern const size_t kf__dict_v1_len;

static const char *out_dir;
static FILE *manifest;

static int write_frame(const char *name, const char *topic, const char *reason, const uint8_t *buf,
                       size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.bin", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "kf-forge: cannot write %s\n", path);
        return -EIO;
    }
    fprintf(manifest, "%s %s %s\n", name, topic, reason);
    return 0;
}

static void header(struct kf_env_header *h, const char *dev, uint64_t seq, uint32_t count)
{
    memset(h, 0, sizeof(*h));
    h->kind = KF_MSG_RECORDS;
    snprintf(h->device_id, sizeof(h->device_id), "%s", dev);
    h->key_epoch = 1;
    h->seq = seq;
    h->count = count;
    h->device_ms = kf_now_ms();
}

static int seal(const struct kf_env_header *h, const char *topic, const void *body, size_t body_len,
                const uint8_t sk[64], uint8_t *out, size_t cap, size_t *len)
{
    int r = kf_env_seal(h, topic, body, body_len, sk, out, cap, len);
    if (r < 0)
        fprintf(stderr, "kf-forge: seal: %s\n", kf_strerror(r));
    return r;
}

/* A zstd frame, made with the v1 dictionary, that inflates to `total` zero bytes. */
static int make_bomb(uint8_t *out, size_t cap, size_t total, size_t *ret_len)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    static uint8_t zeros[1 << 20];
    ZSTD_outBuffer ob = {out, cap, 0};
    size_t r;

    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_loadDictionary(c, kf__dict_v1, kf__dict_v1_len);
    ZSTD_CCtx_setPledgedSrcSize(c, total);
    for (size_t done = 0; done < total; done += sizeof(zeros)) {
        ZSTD_inBuffer ib = {zeros, sizeof(zeros), 0};
        while (ib.pos < ib.size) {
            r = ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_continue);
            if (ZSTD_isError(r))
                goto fail;
        }
    }
    do {
        ZSTD_inBuffer ib = {NULL, 0, 0};
        r = ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end);
        if (ZSTD_isError(r))
            goto fail;
    } while (r != 0);
    ZSTD_freeCCtx(c);
    *ret_len = ob.pos;
    return 0;
fail:
    ZSTD_freeCCtx(c);
    return -EIO;
}

static int forge_ack(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"seq", required_argument, NULL, 's'},
                                         {"out", required_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *dev = NULL, *out = NULL;
    char topic[KF_TOPIC_MAX + 1];
    uint8_t sk[64], frame[512], ack_key[KF_ACK_KEY_BYTES];
    struct kf_env_header h;
    uint64_t seq = 0;
    size_t len;
    FILE *f;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'k')
            key_path = optarg;
        else if (c == 'd')
            dev = optarg;
        else if (c == 's')
            seq = strtoull(optarg, NULL, 10);
        else if (c == 'w')
            out = optarg;
        else
            return 2;
    }
    if (!key_path || !dev || !out) {
        fprintf(stderr, "usage: kf-forge ack --key FILE --device ID --seq N --out FILE\n");
        return 2;
    }
    if (sodium_init() < 0 || kf_keyfile_read(key_path, sk) != 0 ||
        kf_topic_format(topic, sizeof(topic), dev, KF_TOPIC_ACK) != 0)
        return 1;
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_ACK;
    snprintf(h.device_id, sizeof(h.device_id), "%s", dev);
    h.key_epoch = 1;
    h.seq = seq;
    h.device_ms = kf_now_ms();
    if (kf_ack_key_server(sk, sk + 32, ack_key) != 0 ||
        kf_env_seal_mac(&h, topic, (const uint8_t *)"", 0, ack_key, frame, sizeof(frame), &len) !=
            0)
        return 1;
    f = fopen(out, "wb");
    if (!f || fwrite(frame, 1, len, f) != len || fclose(f) != 0)
        return 1;
    return 0;
}

static int enroll_account(const char *token_path)
{
    char text[128] = "", id[KF_TOKEN_ID_LEN + 1], user[KF_DEVICE_ID_MAX + 1];
    char pw[KF_ENROLL_PW_LEN + 1];
    uint8_t secret[KF_TOKEN_SECRET_BYTES];
    FILE *f = fopen(token_path, "r");

    if (!f || !fgets(text, sizeof(text), f) || kf_token_parse(text, id, secret) != 0 ||
        kf_token_username(id, user, sizeof(user)) != 0) {
        fprintf(stderr, "kf-forge: %s: not a token\n", token_path);
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    kf_token_broker_password(secret, pw);
    printf("%s %s\n", user, pw);
    return 0;
}

static int forge_frame(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'}, {"device", required_argument, NULL, 'd'},
        {"seq", required_argument, NULL, 's'}, {"ms", required_argument, NULL, 'm'},
        {"keygen", no_argument, NULL, 'g'},    {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *dev = NULL;
    char topic[KF_TOPIC_MAX + 1], body[KF_RECORD_JSON_MAX + 3], hex[2 * 2048 + 1];
    uint8_t sk[64], pk[32], frame[2048];
    struct kf_env_header h;
    uint64_t seq = 0;
    int64_t ms = 0;
    int c, gen = 0;
    size_t len;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'k')
            key_path = optarg;
        else if (c == 'd')
            dev = optarg;
        else if (c == 's')
            seq = strtoull(optarg, NULL, 10);
        else if (c == 'm')
            ms = strtoll(optarg, NULL, 10);
        else if (c == 'g')
            gen = 1;
        else
            return 2;
    }
    if (!key_path || !dev || !seq || optind + 1 != argc) {
        fprintf(stderr, "usage: kf-forge frame --key FILE --device ID --seq N --ms T [--keygen] "
                        "RECORD_JSON\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    if (gen) {
        crypto_sign_keypair(pk, sk);
        if (kf_keyfile_write(key_path, sk) < 0)
            return 1;
        kf_hex_encode(pk, 32, hex, sizeof(hex));
        printf("%s\n", hex);
    } else if (kf_keyfile_read(key_path, sk) < 0) {
        fprintf(stderr, "kf-forge: cannot read %s\n", key_path);
        return 1;
    }
    snprintf(body, sizeof(body), "[%s]", argv[optind]);
    header(&h, dev, seq, 1);
    h.device_ms = ms;
    if (kf_topic_format(topic, sizeof(topic), dev, KF_TOPIC_EVENTS) < 0 ||
        seal(&h, topic, body, strlen(body), sk, frame, sizeof(frame), &len) < 0)
        return 1;
    kf_hex_encode(frame, len, hex, sizeof(hex));
    printf("%s %s\n", topic, hex);
    return 0;
}

static int forge_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"seq", required_argument, NULL, 's'},
                                         {"id", required_argument, NULL, 'i'},
                                         {"issued", required_argument, NULL, 'I'},
                                         {"expires", required_argument, NULL, 'e'},
                                         {"out", required_argument, NULL, 'w'},
                                         {"keygen", no_argument, NULL, 'g'},
                                         {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *out = NULL;
    uint8_t sk[64], pk[32], frame[4096];
    struct kf_cmd cmd;
    size_t len;
    FILE *f;
    int c, gen = 0;

    memset(&cmd, 0, sizeof(cmd));
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'k')
            key_path = optarg;
        else if (c == 'd')
            snprintf(cmd.device_id, sizeof(cmd.device_id), "%s", optarg);
        else if (c == 's')
            cmd.seq = strtoull(optarg, NULL, 10);
        else if (c == 'i')
            snprintf(cmd.id, sizeof(cmd.id), "%s", optarg);
        else if (c == 'I')
            cmd.issued_ms = strtoll(optarg, NULL, 10);
        else if (c == 'e')
            cmd.expires_ms = strtoll(optarg, NULL, 10);
        else if (c == 'w')
            out = optarg;
        else if (c == 'g')
            gen = 1;
        else
            return 2;
    }
    if (!key_path || !out || optind >= argc || argc - optind - 1 > KF_CMD_ARGS_MAX) {
        fprintf(stderr, "usage: kf-forge cmd --key FILE --device ID --seq N --id C-N --issued MS "
                        "--expires MS --out FILE [--keygen] KIND [ARG...]\n");
        return 2;
    }
    snprintf(cmd.kind, sizeof(cmd.kind), "%s", argv[optind]);
    for (int i = optind + 1; i < argc; i++)
        snprintf(cmd.args[cmd.nargs++], sizeof(cmd.args[0]), "%s", argv[i]);
    if (sodium_init() < 0)
        return 1;
    if (gen) {
        crypto_sign_keypair(pk, sk);
        if (kf_keyfile_write(key_path, sk) < 0)
            return 1;
    } else if (kf_keyfile_read(key_path, sk) < 0) {
        fprintf(stderr, "kf-forge: cannot read %s\n", key_path);
        return 1;
    }
    if (kf_cmd_seal(&cmd, sk, frame, sizeof(frame), &len) < 0) {
        fprintf(stderr, "kf-forge: not a command kf_cmd_seal takes\n");
        return 1;
    }
    f = fopen(out, "wb");
    if (!f || fwrite(frame, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "kf-forge: cannot write %s\n", out);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *key_path = NULL, *dev = NULL, *other = NULL;
    uint64_t seq = 1;
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},   {"device", required_argument, NULL, 'd'},
        {"other", required_argument, NULL, 'o'}, {"seq", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'w'},   {NULL, 0, NULL, 0}};
    int c;

    if (argc > 1 && strcmp(argv[1], "frame") == 0)
        return forge_frame(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "ack") == 0)
        return forge_ack(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "cmd") == 0)
        return forge_cmd(argc - 1, argv + 1);
    if (argc == 3 && strcmp(argv[1], "enroll-account") == 0)
        return sodium_init() < 0 ? 1 : enroll_account(argv[2]);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'd':
            dev = optarg;
            break;
        case 'o':
            other = optarg;
            break;
        case 's':
            seq = strtoull(optarg, NULL, 10);
            break;
        case 'w':
            out_dir = optarg;
            break;
        default:
            return 2;
        }
    }
    if (!key_path || !dev || !other || !out_dir) {
        fprintf(stderr, "usage: kf-forge --key FILE --device ID --other ID --seq N --out DIR\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;

    uint8_t sk[64], rogue_pk[32], rogue_sk[64];
    int r = kf_keyfile_read(key_path, sk);
    if (r < 0) {
        fprintf(stderr, "kf-forge: %s: %s\n", key_path, kf_strerror(r));
        return 1;
    }
    crypto_sign_keypair(rogue_pk, rogue_sk);

    char path[4096];
    snprintf(path, sizeof(path), "%s/frames.txt", out_dir);
    manifest = fopen(path, "w");
    if (!manifest)
        return 1;

    char topic[KF_TOPIC_MAX], other_topic[KF_TOPIC_MAX], unknown_topic[KF_TOPIC_MAX];
    kf_topic_format(topic, sizeof(topic), dev, KF_TOPIC_EVENTS);
    kf_topic_format(other_topic, sizeof(other_topic), other, KF_TOPIC_EVENTS);
    kf_topic_format(unknown_topic, sizeof(unknown_topic), "KF-NOBODY-0001", KF_TOPIC_EVENTS);

    static uint8_t buf[2 * KF_ENV_MAX_BYTES], body[KF_ENV_MAX_BYTES];
    size_t len, blen;
    struct kf_env_header h;
    char txn[256];
    int n = snprintf(txn, sizeof(txn),
                     "[{\"t\":\"txn\",\"ts\":%lld,\"item\":\"SS-001\",\"outcome\":\"ok\","
                     "\"dur_ms\":60000}]",
                     (long long)kf_now_ms() - 60000);
    blen = (size_t)n;

    /* The control frame: valid, must commit (and its second copy is a replay). */
    header(&h, dev, seq, 1);
    if (seal(&h, topic, txn, blen, sk, buf, sizeof(buf), &len) < 0)
        return 1;
    write_frame("valid", topic, "ok", buf, len);
    write_frame("replay", topic, "replay", buf, len);
    /* The valid frame's seq again with another record under it (a cloned or faulty
     * terminal): refused as a conflict, kept as evidence beside the stored frame. */
    {
        char ctxn[256];
        int cn = snprintf(ctxn, sizeof(ctxn),
                          "[{\"t\":\"txn\",\"ts\":%lld,\"item\":\"SS-001\","
                          "\"outcome\":\"failed\",\"dur_ms\":60000}]",
                          (long long)kf_now_ms() - 60000);
        uint8_t cbuf[KF_ENV_MAX_BYTES];
        size_t clen;

        header(&h, dev, seq, 1);
        if (seal(&h, topic, ctxn, (size_t)cn, sk, cbuf, sizeof(cbuf), &clen) < 0)
            return 1;
        write_frame("conflict", topic, "conflict", cbuf, clen);
    }
    /* The same bytes on another device's topic. */
    write_frame("copied", other_topic, "wrong_topic", buf, len);
    /* Truncated: half of a valid frame. */
    write_frame("truncated", topic, "malformed", buf, len / 2);

    /* Forged: signed by a key the server does not know for this device. */
    header(&h, dev, seq + 1, 1);
    seal(&h, topic, txn, blen, rogue_sk, buf, sizeof(buf), &len);
    write_frame("forged", topic, "bad_signature", buf, len);

    /* A device the registry has never heard of. */
    header(&h, "KF-NOBODY-0001", 1, 1);
    seal(&h, unknown_topic, txn, blen, rogue_sk, buf, sizeof(buf), &len);
    write_frame("unknown", unknown_topic, "unknown_device", buf, len);

    /* Oversize: a well-formed header claiming a body past the frame limit. */
    memset(body, 'x', sizeof(body));
    header(&h, dev, seq + 2, 1);
    size_t big = KF_ENV_MAX_BYTES + 1024;
    static uint8_t huge[KF_ENV_MAX_BYTES + 4096];
    memset(huge, 0, sizeof(huge));
    if (seal(&h, topic, txn, blen, sk, buf, sizeof(buf), &len) == 0) {
        memcpy(huge, buf, len);
        write_frame("oversize", topic, "oversize", huge, big);
    }

    /* Malformed JSON, validly signed. */
    header(&h, dev, seq + 3, 1);
    static const char badjson[] = "[{\"t\":\"txn\",\"ts\":";
    seal(&h, topic, badjson, sizeof(badjson) - 1, sk, buf, sizeof(buf), &len);
    write_frame("badjson", topic, "malformed", buf, len);

    /* A zstd bomb: 1 GiB of zeros in a few tens of KB, validly signed. */
    size_t bomb_len;
    if (make_bomb(body, sizeof(body), (size_t)1 << 30, &bomb_len) < 0) {
        fprintf(stderr, "kf-forge: bomb failed\n");
        return 1;
    }
    header(&h, dev, seq + 4, 1);
    h.flags = KF_ENV_F_ZSTD;
    h.dict_id = KF_DICT_ID_V1;
    if (seal(&h, topic, body, bomb_len, sk, buf, sizeof(buf), &len) < 0)
        return 1;
    write_frame("bomb", topic, "oversize", buf, len);
    /* The same bomb cut short, then signed: corrupt, whatever size its header claims. */
    header(&h, dev, seq + 4, 1);
    h.flags = KF_ENV_F_ZSTD;
    h.dict_id = KF_DICT_ID_V1;
    if (seal(&h, topic, body, bomb_len - 7, sk, buf, sizeof(buf), &len) < 0)
        return 1;
    write_frame("cutbomb", topic, "bad_compression", buf, len);

    /* A good compressed body that names a dictionary we never shipped. */
    struct kf_zctx *z;
    uint32_t dict_id;
    kf_zctx_new(3, &z);
    if (kf_zctx_compress(z, txn, blen, body, sizeof(body), &bomb_len, &dict_id) < 0)
        return 1;
    kf_zctx_free(z);
    header(&h, dev, seq + 5, 1);
    h.flags = KF_ENV_F_ZSTD;
    h.dict_id = KF_DICT_ID_V1 + 0x98;
    seal(&h, topic, body, bomb_len, sk, buf, sizeof(buf), &len);
    write_frame("wrongdict", topic, "bad_compression", buf, len);

    /* Signed, but its sequence number is past what the store can hold (2^63). */
    header(&h, dev, (uint64_t)1 << 63, 1);
    seal(&h, topic, txn, blen, sk, buf, sizeof(buf), &len);
    write_frame("seqmax", topic, "malformed", buf, len);

    /* Kinds on topics they do not belong on (docs/PROTOCOL.md section 11): a valid RECORDS
     * frame on the device's hello topic, a HELLO on its events topic. */
    {
        char hello_topic[KF_TOPIC_MAX];
        static const char hello[] = "{\"agent\":\"kf-forge\",\"kind\":\"kiosk\","
                                    "\"boot_id\":\"0123456789abcdef\",\"outbox\":0,"
                                    "\"health_dropped\":0}";

        kf_topic_format(hello_topic, sizeof(hello_topic), dev, KF_TOPIC_HELLO);
        header(&h, dev, seq + 7, 1);
        seal(&h, hello_topic, txn, blen, sk, buf, sizeof(buf), &len);
        write_frame("records-on-hello", hello_topic, "wrong_topic", buf, len);
        header(&h, dev, seq, 0);
        h.kind = KF_MSG_HELLO;
        seal(&h, topic, hello, sizeof(hello) - 1, sk, buf, sizeof(buf), &len);
        write_frame("hello-on-events", topic, "wrong_topic", buf, len);
    }

    /* One record padded with spaces inside its object past KF_RECORD_JSON_MAX (1,024
     * bytes), in a body well under every other limit (sections 7 and 10). */
    {
        static char padded[2 * KF_RECORD_JSON_MAX];
        int pn = snprintf(padded, sizeof(padded),
                          "[{%*s\"t\":\"txn\",\"ts\":%lld,"
                          "\"item\":\"SS-001\",\"outcome\":\"ok\","
                          "\"dur_ms\":60000}]",
                          KF_RECORD_JSON_MAX, "", (long long)kf_now_ms() - 60000);

        header(&h, dev, seq + 8, 1);
        seal(&h, topic, padded, (size_t)pn, sk, buf, sizeof(buf), &len);
        write_frame("padded", topic, "malformed", buf, len);
    }

    /* A poison frame: valid and signed, every check at receipt passes, and the store refuses
     * it (hostile.sh installs a trigger that refuses item ZZ-999, standing in for a bug):
     * it is quarantined and acknowledged, then replayed once the "bug" is gone. */
    {
        char ptxn[256];
        int pn = snprintf(ptxn, sizeof(ptxn),
                          "[{\"t\":\"txn\",\"ts\":%lld,\"item\":\"ZZ-999\","
                          "\"outcome\":\"ok\",\"dur_ms\":60000}]",
                          (long long)kf_now_ms() - 60000);

        header(&h, dev, seq + 6, 1);
        seal(&h, topic, ptxn, (size_t)pn, sk, buf, sizeof(buf), &len);
        write_frame("poison", topic, "quarantined", buf, len);
    }

    /* After all of that, a valid frame still commits: the server kept serving. */
    header(&h, dev, seq + 1, 1);
    seal(&h, topic, txn, blen, sk, buf, sizeof(buf), &len);
    write_frame("after", topic, "ok", buf, len);

    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(rogue_sk, sizeof(rogue_sk));
    fclose(manifest);
    return 0;
}
