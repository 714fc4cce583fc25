/* kf-fetchtool: a terminal's side of an artifact transfer (docs/PROTOCOL.md "FETCH",
 * "PART"), for tests/integration/fetch.sh, until the agent does it itself.
 *
 *   kf-fetchtool fetch --key FILE --device ID --seq N --sha HEX --part P --first F --count C
 *                      --out FILE
 *
 * Writes one FETCH frame of device ID (key epoch 1), signed with FILE's secret key.
 *
 *   kf-fetchtool open --key FILE --server-pub FILE --device ID --dir DIR
 *
 * Reads PART frames as hex, one a line, on stdin (mosquitto_sub -F %x); checks each one's MAC
 * under the ACK key the device shares with the server, and its structure; prints one line
 * each, "seq part state index nchunks total sha256hex len", and writes its bytes to
 * DIR/<part>.<index>. Exit 1 on the first frame that does not verify or parse.
 *
 *   kf-fetchtool ask --uri URI --ca FILE --device ID --password-file FILE --frame FILE
 *                    --want N --wait S
 *
 * As the device on the broker (one connection both asks and hears: the broker takes one
 * connection per device): subscribes to kf/v1/ID/ack, publishes FILE on kf/v1/ID/blob (QoS
 * 1), and prints every frame heard on ack, in hex, one a line, until N were heard (exit 0)
 * or S seconds passed (exit 3).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <MQTTClient.h>
#include <sodium.h>

#include <kf/envelope.h>
#include <kf/fetch.h>
#include <kf/keyfile.h>
#include <kf/time.h>
#include <kf/topic.h>

static int do_fetch(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"seq", required_argument, NULL, 's'},
                                         {"sha", required_argument, NULL, 'h'},
                                         {"part", required_argument, NULL, 'p'},
                                         {"first", required_argument, NULL, 'f'},
                                         {"count", required_argument, NULL, 'c'},
                                         {"out", required_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    const char *key = NULL, *dev = NULL, *sha = NULL, *out = NULL;
    struct kf_fetch f = {0};
    struct kf_env_header h;
    uint8_t sk[64], frame[KF_FETCH_FRAME_MAX];
    size_t len;
    FILE *o;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'k')
            key = optarg;
        else if (c == 'd')
            dev = optarg;
        else if (c == 's')
            f.cmd_seq = strtoull(optarg, NULL, 10);
        else if (c == 'h')
            sha = optarg;
        else if (c == 'p')
            f.part = (uint8_t)strtoul(optarg, NULL, 10);
        else if (c == 'f')
            f.first = (uint32_t)strtoul(optarg, NULL, 10);
        else if (c == 'c')
            f.count = (uint32_t)strtoul(optarg, NULL, 10);
        else if (c == 'w')
            out = optarg;
        else
            return 2;
    }
    if (!key || !dev || !sha || !out || kf_hex_decode(sha, f.manifest_sha256, 32) != 0) {
        fprintf(stderr, "usage: kf-fetchtool fetch --key FILE --device ID --seq N --sha HEX "
                        "--part P --first F --count C --out FILE\n");
        return 2;
    }
    if (sodium_init() < 0 || kf_keyfile_read(key, sk) != 0)
        return 1;
    memset(&h, 0, sizeof(h));
    snprintf(h.device_id, sizeof(h.device_id), "%s", dev);
    h.key_epoch = 1;
    h.device_ms = kf_now_ms();
    if (kf_fetch_seal(&h, &f, sk, frame, sizeof(frame), &len) != 0) {
        fprintf(stderr, "kf-fetchtool: cannot seal that FETCH\n");
        return 1;
    }
    o = fopen(out, "wb");
    if (!o || fwrite(frame, 1, len, o) != len || fclose(o) != 0)
        return 1;
    return 0;
}

static int do_open(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"server-pub", required_argument, NULL, 'S'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"dir", required_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    const char *key = NULL, *spub = NULL, *dev = NULL, *dir = NULL;
    static char line[2 * KF_PART_FRAME_MAX + 16];
    static uint8_t frame[KF_PART_FRAME_MAX];
    uint8_t sk[64], spk[32], mac[KF_ACK_KEY_BYTES];
    char topic[KF_TOPIC_MAX + 1];
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'k')
            key = optarg;
        else if (c == 'S')
            spub = optarg;
        else if (c == 'd')
            dev = optarg;
        else if (c == 'D')
            dir = optarg;
        else
            return 2;
    }
    if (!key || !spub || !dev || !dir) {
        fprintf(stderr, "usage: kf-fetchtool open --key FILE --server-pub FILE --device ID "
                        "--dir DIR\n");
        return 2;
    }
    if (sodium_init() < 0 || kf_keyfile_read(key, sk) != 0 || kf_pubkey_read(spub, spk) != 0 ||
        kf_ack_key_device(sk, spk, mac) != 0 ||
        kf_topic_format(topic, sizeof(topic), dev, KF_TOPIC_ACK) != 0)
        return 1;
    while (fgets(line, sizeof(line), stdin) != NULL) {
        size_t n = strcspn(line, "\r\n"), len = 0;
        struct kf_env_view v;
        struct kf_part p;
        char hex[65], path[4096];
        FILE *o;

        line[n] = '\0';
        if (n == 0)
            continue;
        if (sodium_hex2bin(frame, sizeof(frame), line, n, NULL, &len, NULL) != 0 ||
            kf_env_parse(frame, len, &v) != 0) {
            fprintf(stderr, "kf-fetchtool: not a frame\n");
            return 1;
        }
        if (v.hdr.kind != KF_MSG_PART)
            continue; /* an ACK or a BLOB_ACK on the same topic */
        if (kf_env_verify_mac(&v, topic, mac) != 0 || kf_part_parse(&v, &p) != 0) {
            fprintf(stderr, "kf-fetchtool: a PART that does not verify or parse\n");
            return 1;
        }
        kf_hex_encode(p.sha256, 32, hex, sizeof(hex));
        printf("%llu %u %u %u %u %llu %s %zu\n", (unsigned long long)p.cmd_seq, p.part, p.state,
               p.index, p.nchunks, (unsigned long long)p.total, hex, p.len);
        if (p.state != KF_FETCH_OK)
            continue; /* nothing to keep */
        snprintf(path, sizeof(path), "%s/%u.%u", dir, p.part, p.index);
        o = fopen(path, "wb");
        if (!o || fwrite(p.data, 1, p.len, o) != p.len || fclose(o) != 0)
            return 1;
    }
    return 0;
}

static int do_ask(int argc, char **argv)
{
    static const struct option opts[] = {
        {"uri", required_argument, NULL, 'u'},    {"ca", required_argument, NULL, 'c'},
        {"device", required_argument, NULL, 'd'}, {"password-file", required_argument, NULL, 'p'},
        {"frame", required_argument, NULL, 'f'},  {"want", required_argument, NULL, 'n'},
        {"wait", required_argument, NULL, 'w'},   {NULL, 0, NULL, 0}};
    const char *uri = NULL, *ca = NULL, *dev = NULL, *pwf = NULL, *framef = NULL;
    static uint8_t frame[KF_ENV_MAX_BYTES];
    char pw[256] = "", ack[KF_TOPIC_MAX + 1], blob[KF_TOPIC_MAX + 1];
    long want = 1, wait_s = 10, heard = 0;
    MQTTClient cl;
    MQTTClient_connectOptions co = MQTTClient_connectOptions_initializer;
    MQTTClient_SSLOptions so = MQTTClient_SSLOptions_initializer;
    int64_t deadline;
    size_t flen;
    FILE *f;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'u')
            uri = optarg;
        else if (c == 'c')
            ca = optarg;
        else if (c == 'd')
            dev = optarg;
        else if (c == 'p')
            pwf = optarg;
        else if (c == 'f')
            framef = optarg;
        else if (c == 'n')
            want = strtol(optarg, NULL, 10);
        else if (c == 'w')
            wait_s = strtol(optarg, NULL, 10);
        else
            return 2;
    }
    if (!uri || !ca || !dev || !pwf || !framef) {
        fprintf(stderr, "usage: kf-fetchtool ask --uri URI --ca FILE --device ID "
                        "--password-file FILE --frame FILE --want N --wait S\n");
        return 2;
    }
    f = fopen(pwf, "r");
    if (!f || !fgets(pw, sizeof(pw), f)) {
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    f = fopen(framef, "rb");
    if (!f)
        return 1;
    flen = fread(frame, 1, sizeof(frame), f);
    fclose(f);
    if (kf_topic_format(ack, sizeof(ack), dev, KF_TOPIC_ACK) != 0 ||
        kf_topic_format(blob, sizeof(blob), dev, KF_TOPIC_BLOB) != 0)
        return 1;
    if (MQTTClient_create(&cl, uri, dev, MQTTCLIENT_PERSISTENCE_NONE, NULL) != MQTTCLIENT_SUCCESS)
        return 1;
    so.trustStore = ca;
    co.ssl = &so;
    co.username = dev;
    co.password = pw;
    co.cleansession = 1;
    co.keepAliveInterval = 30;
    if (MQTTClient_connect(cl, &co) != MQTTCLIENT_SUCCESS ||
        MQTTClient_subscribe(cl, ack, 0) != MQTTCLIENT_SUCCESS) {
        fprintf(stderr, "kf-fetchtool: cannot connect or subscribe as %s\n", dev);
        MQTTClient_destroy(&cl);
        return 1;
    }
    {
        MQTTClient_deliveryToken tok;

        if (MQTTClient_publish(cl, blob, (int)flen, frame, 1, 0, &tok) != MQTTCLIENT_SUCCESS ||
            MQTTClient_waitForCompletion(cl, tok, 5000) != MQTTCLIENT_SUCCESS) {
            fprintf(stderr, "kf-fetchtool: publish refused\n");
            MQTTClient_disconnect(cl, 1000);
            MQTTClient_destroy(&cl);
            return 1;
        }
    }
    deadline = kf_now_ms() + wait_s * 1000;
    while (heard < want && kf_now_ms() < deadline) {
        char *topic = NULL;
        int tlen = 0;
        MQTTClient_message *m = NULL;

        if (MQTTClient_receive(cl, &topic, &tlen, &m, 200) != MQTTCLIENT_SUCCESS)
            break;
        if (m == NULL)
            continue;
        for (int i = 0; i < m->payloadlen; i++)
            printf("%02x", ((const uint8_t *)m->payload)[i]);
        printf("\n");
        heard++;
        MQTTClient_freeMessage(&m);
        MQTTClient_free(topic);
    }
    fflush(stdout);
    MQTTClient_disconnect(cl, 1000);
    MQTTClient_destroy(&cl);
    return heard >= want ? 0 : 3;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "ask") == 0)
        return do_ask(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "fetch") == 0)
        return do_fetch(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "open") == 0)
        return do_open(argc - 1, argv + 1);
    fprintf(stderr, "usage: kf-fetchtool fetch|open ...\n");
    return 2;
}
