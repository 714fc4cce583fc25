/* test_pipeline.c: kioskd's verify stage in-process, then the whole daemon end to end:
 * a real mosquitto on a free loopback port, a real SQLite file, the real kioskd binary,
 * frames sealed and published with Paho, ACKs checked against the server's public key. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <jansson.h>
#include <sodium.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/keyfile.h>
#include <kf/record.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "kioskd/latency.h"
#include "kioskd/verify.h"
#include "store/registry.h"
#include "store/store.h"
#include "kf_test.h"

/* ---- helpers ---- */

static void init_sodium(void)
{
    cr_assert(sodium_init() >= 0);
}

/* Seal a RECORDS frame of count txn records starting at seq, as device dev on topic. */
/* Records are a function of their seq (and of seal_variant), so that a frame sent again is
 * a replay and one sent again with another variant is a conflict. */
static int seal_variant;

static size_t seal_records(const char *dev, const char *topic, const uint8_t sk[64], uint32_t epoch,
                           uint64_t seq, uint32_t count, uint8_t *out, size_t cap)
{
    static int64_t t0;
    static char json[64 * 1024];
    static uint8_t z[KF_ENV_MAX_BYTES];
    struct kf_zctx *zc;
    struct kf_env_header h;
    size_t off = 0, zlen = 0, len = 0;
    uint32_t dict = 0;

    json[off++] = '[';
    for (uint32_t i = 0; i < count; i++) {
        struct kf_record r;
        size_t rl;
        memset(&r, 0, sizeof(r));
        r.type = KF_REC_TXN;
        if (t0 == 0) {
            t0 = kf_now_ms() - 60000;
        }
        r.ts_ms = t0 + (int64_t)(seq + i) * 1000;
        snprintf(r.u.txn.item, sizeof(r.u.txn.item), seal_variant ? "HF-002" : "HF-001");
        r.u.txn.outcome = KF_OUTCOME_OK;
        r.u.txn.dur_ms = 30000;
        if (i > 0) {
            json[off++] = ',';
        }
        cr_assert_eq(kf_record_format(&r, json + off, sizeof(json) - off - 2, &rl), 0);
        off += rl;
    }
    json[off++] = ']';
    cr_assert_eq(kf_zctx_new(3, &zc), 0);
    cr_assert_eq(kf_zctx_compress(zc, json, off, z, sizeof(z), &zlen, &dict), 0);
    kf_zctx_free(zc);
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_RECORDS;
    h.flags = KF_ENV_F_ZSTD;
    snprintf(h.device_id, sizeof(h.device_id), "%s", dev);
    h.key_epoch = epoch;
    h.dict_id = dict;
    h.seq = seq;
    h.count = count;
    h.device_ms = kf_now_ms();
    cr_assert_eq(kf_env_seal(&h, topic, z, zlen, sk, out, cap, &len), 0);
    return len;
}

static size_t seal_json(uint8_t kind, const char *dev, const char *topic, const uint8_t sk[64],
                        uint64_t seq, const char *body, uint8_t *out, size_t cap)
{
    struct kf_env_header h;
    size_t len = 0;

    memset(&h, 0, sizeof(h));
    h.kind = kind;
    snprintf(h.device_id, sizeof(h.device_id), "%s", dev);
    h.key_epoch = 1;
    h.seq = seq;
    h.device_ms = kf_now_ms();
    cr_assert_eq(kf_env_seal(&h, topic, (const uint8_t *)body, strlen(body), sk, out, cap, &len),
                 0);
    return len;
}

static void topic_of(char *buf, const char *dev, enum kf_topic_kind k)
{
    cr_assert_eq(kf_topic_format(buf, KF_TOPIC_MAX + 1, dev, k), 0);
}

/* ---- verify stage, in-process ---- */

struct fix {
    uint8_t pk1[32], sk1[64], pk2[32], sk2[64];
    struct kf_registry *reg;
    struct kf_zctx *z;
    uint8_t *scratch;
};

static void fix_init(struct fix *f)
{
    struct kf_reg_key k1 = {.epoch = 1, .status = KF_KEY_ACTIVE};
    struct kf_reg_key k2 = {.epoch = 1, .status = KF_KEY_REVOKED};
    struct kf_reg_device d[2];

    init_sodium();
    crypto_sign_keypair(f->pk1, f->sk1);
    crypto_sign_keypair(f->pk2, f->sk2);
    memcpy(k1.pk, f->pk1, 32);
    memcpy(k2.pk, f->pk2, 32);
    memset(d, 0, sizeof(d));
    snprintf(d[0].device_id, sizeof(d[0].device_id), "KSK-1");
    snprintf(d[0].asset_id, sizeof(d[0].asset_id), "A-1");
    d[0].kind = KF_KIND_KIOSK;
    d[0].nkeys = 1;
    d[0].keys = &k1;
    snprintf(d[1].device_id, sizeof(d[1].device_id), "KSK-2");
    snprintf(d[1].asset_id, sizeof(d[1].asset_id), "A-2");
    d[1].kind = KF_KIND_ITM;
    d[1].nkeys = 1;
    d[1].keys = &k2;
    cr_assert_eq(kf_store_registry_new(d, 2, &f->reg), 0);
    cr_assert_eq(kf_zctx_new(3, &f->z), 0);
    f->scratch = malloc(KF_VERIFY_SCRATCH_BYTES);
    cr_assert(f->scratch != NULL);
}

static void fix_fini(struct fix *f)
{
    kf_store_registry_unref(f->reg);
    kf_zctx_free(f->z);
    free(f->scratch);
}

/* Returns the reject reason, -1 when accepted, -2 when ignored. */
static int verify(struct fix *f, const char *topic, const uint8_t *buf, size_t len)
{
    struct kf_verified *v = NULL;
    int reason = -100;
    int rc = kf_verify_frame(f->reg, f->z, f->scratch, topic, buf, len, 1, &v, &reason);

    if (rc == -EPROTO) {
        cr_assert(v == NULL);
        return reason;
    }
    cr_assert_eq(rc, 0);
    if (v == NULL) {
        return -2;
    }
    kf_verify_free(v);
    return -1;
}

Test(pipeline, verify_accepts_records_and_hello)
{
    struct fix f;
    static uint8_t buf[KF_ENV_MAX_BYTES];
    char topic[KF_TOPIC_MAX + 1];
    struct kf_verified *v = NULL;
    int reason = -1;
    size_t len;

    fix_init(&f);
    topic_of(topic, "KSK-1", KF_TOPIC_EVENTS);
    len = seal_records("KSK-1", topic, f.sk1, 1, 1, 5, buf, sizeof(buf));
    cr_assert_eq(kf_verify_frame(f.reg, f.z, f.scratch, topic, buf, len, 42, &v, &reason), 0);
    cr_assert(v != NULL);
    cr_assert_eq(v->ing.nrec, 5u);
    cr_assert_eq(v->ing.hdr.seq, 1u);
    cr_assert_eq(v->ing.recv_ms, 42);
    cr_assert_str_eq(v->ing.asset_id, "A-1");
    cr_assert_eq(v->ing.recs[4].type, KF_REC_TXN);
    cr_assert(v->ing.raw == buf && v->ing.raw_len == len);
    kf_verify_free(v);

    topic_of(topic, "KSK-1", KF_TOPIC_HELLO);
    len = seal_json(KF_MSG_HELLO, "KSK-1", topic, f.sk1, 1, "{\"agent\":\"t\"}", buf, sizeof(buf));
    v = NULL;
    cr_assert_eq(kf_verify_frame(f.reg, f.z, f.scratch, topic, buf, len, 42, &v, &reason), 0);
    cr_assert(v != NULL);
    cr_assert_str_eq(v->ing.body_json, "{\"agent\":\"t\"}");
    kf_verify_free(v);
    fix_fini(&f);
}

/* One signature check in KF_SIG_CLOCK_EVERY is timed on the thread's CPU clock, bad ones
 * too (a forged frame costs a verification as well), and a take clears what it took. */
Test(pipeline, signature_checks_are_sampled_on_the_thread_clock)
{
    struct fix f;
    static uint8_t buf[KF_ENV_MAX_BYTES];
    char topic[KF_TOPIC_MAX + 1];
    uint64_t ns = 0, n = 0;
    size_t len;

    fix_init(&f);
    kf_verify_sig_clock_take(&ns, &n); /* whatever this thread did before */
    ns = n = 0;
    topic_of(topic, "KSK-1", KF_TOPIC_EVENTS);
    len = seal_records("KSK-1", topic, f.sk1, 1, 1, 5, buf, sizeof(buf));
    for (unsigned i = 0; i < 2 * KF_SIG_CLOCK_EVERY; i++)
        cr_assert_eq(verify(&f, topic, buf, len), -1);
    buf[len - 1] ^= 1;
    for (unsigned i = 0; i < KF_SIG_CLOCK_EVERY; i++)
        cr_assert_eq(verify(&f, topic, buf, len), KF_REJECT_BAD_SIGNATURE);
    kf_verify_sig_clock_take(&ns, &n);
    cr_assert_eq(n, 3u);
    cr_assert_gt(ns, 3u * 1000u, "three Ed25519 verifications take more than 3 us");
    kf_verify_sig_clock_take(&ns, &n);
    cr_assert_eq(n, 3u, "taken once");
    fix_fini(&f);
}

Test(pipeline, verify_rejects_by_reason)
{
    struct fix f;
    static uint8_t buf[KF_ENV_MAX_BYTES];
    char topic[KF_TOPIC_MAX + 1], other[KF_TOPIC_MAX + 1];
    uint8_t pk3[32], sk3[64];
    size_t len;

    fix_init(&f);
    crypto_sign_keypair(pk3, sk3);
    topic_of(topic, "KSK-1", KF_TOPIC_EVENTS);

    /* forged: signed with a key that is not the device's */
    len = seal_records("KSK-1", topic, sk3, 1, 1, 2, buf, sizeof(buf));
    cr_assert_eq(verify(&f, topic, buf, len), KF_REJECT_BAD_SIGNATURE);
    /* tampered signature */
    len = seal_records("KSK-1", topic, f.sk1, 1, 1, 2, buf, sizeof(buf));
    buf[len - 1] ^= 1;
    cr_assert_eq(verify(&f, topic, buf, len), KF_REJECT_BAD_SIGNATURE);
    /* a good frame copied to another device's topic */
    len = seal_records("KSK-1", topic, f.sk1, 1, 1, 2, buf, sizeof(buf));
    topic_of(other, "KSK-2", KF_TOPIC_EVENTS);
    cr_assert_eq(verify(&f, other, buf, len), KF_REJECT_WRONG_TOPIC);
    /* unknown device, unknown epoch */
    topic_of(other, "KSK-9", KF_TOPIC_EVENTS);
    len = seal_records("KSK-9", other, sk3, 1, 1, 2, buf, sizeof(buf));
    cr_assert_eq(verify(&f, other, buf, len), KF_REJECT_UNKNOWN_DEVICE);
    len = seal_records("KSK-1", topic, f.sk1, 7, 1, 2, buf, sizeof(buf));
    cr_assert_eq(verify(&f, topic, buf, len), KF_REJECT_UNKNOWN_DEVICE);
    /* revoked key */
    topic_of(other, "KSK-2", KF_TOPIC_EVENTS);
    len = seal_records("KSK-2", other, f.sk2, 1, 1, 2, buf, sizeof(buf));
    cr_assert_eq(verify(&f, other, buf, len), KF_REJECT_REVOKED);
    /* RECORDS on the hello topic: a kind that does not belong there (PROTOCOL.md 11) */
    topic_of(other, "KSK-1", KF_TOPIC_HELLO);
    len = seal_records("KSK-1", other, f.sk1, 1, 1, 2, buf, sizeof(buf));
    cr_assert_eq(verify(&f, other, buf, len), KF_REJECT_WRONG_TOPIC);
    /* a HELLO whose body is not a JSON object */
    len = seal_json(KF_MSG_HELLO, "KSK-1", other, f.sk1, 1, "[1]", buf, sizeof(buf));
    cr_assert_eq(verify(&f, other, buf, len), KF_REJECT_MALFORMED);
    /* garbage, and a topic outside the tree */
    cr_assert_eq(verify(&f, topic, (const uint8_t *)"hello", 5), KF_REJECT_MALFORMED);
    cr_assert_eq(verify(&f, "other/topic", (const uint8_t *)"x", 1), KF_REJECT_MALFORMED);
    /* acks are not ours to consume */
    topic_of(other, "KSK-1", KF_TOPIC_ACK);
    cr_assert_eq(verify(&f, other, (const uint8_t *)"x", 1), -2);
    fix_fini(&f);
}

Test(pipeline, verify_refuses_decompression_bomb)
{
    struct fix f;
    static uint8_t buf[KF_ENV_MAX_BYTES], z[KF_ENV_MAX_BYTES];
    char topic[KF_TOPIC_MAX + 1];
    struct kf_env_header h;
    size_t zeros = 4u * 1024u * 1024u, zlen = 0, len = 0;
    char *in = calloc(1, zeros);
    uint32_t dict = 0;

    fix_init(&f);
    cr_assert(in != NULL);
    memset(in, ' ', zeros);
    cr_assert_eq(kf_zctx_compress(f.z, in, zeros, z, sizeof(z), &zlen, &dict), 0);
    free(in);
    topic_of(topic, "KSK-1", KF_TOPIC_EVENTS);
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_RECORDS;
    h.flags = KF_ENV_F_ZSTD;
    snprintf(h.device_id, sizeof(h.device_id), "KSK-1");
    h.key_epoch = 1;
    h.dict_id = dict;
    h.seq = 1;
    h.count = 1;
    cr_assert_eq(kf_env_seal(&h, topic, z, zlen, f.sk1, buf, sizeof(buf), &len), 0);
    cr_assert_eq(verify(&f, topic, buf, len), KF_REJECT_OVERSIZE);
    /* corrupt zstd frame, validly signed */
    z[zlen / 2] ^= 0xff;
    z[zlen / 2 + 1] ^= 0xff;
    cr_assert_eq(kf_env_seal(&h, topic, z, zlen, f.sk1, buf, sizeof(buf), &len), 0);
    int r = verify(&f, topic, buf, len);
    cr_assert(r == KF_REJECT_BAD_COMPRESSION || r == KF_REJECT_OVERSIZE, "reason %d", r);
    fix_fini(&f);
}

Test(pipeline, latency_quantiles)
{
    struct kf_latency lat;

    memset(&lat, 0, sizeof(lat));
    cr_assert_eq(kf_latency_quantile_us(&lat, 0.5), 0);
    for (int i = 0; i < 99; i++) {
        kf_latency_add(&lat, 1000);
    }
    kf_latency_add(&lat, 1000000);
    cr_assert_eq(lat.count, 100u);
    cr_assert_eq(lat.max_us, 1000000);
    /* quarter-octave buckets: the reported edge is within 25% above the value */
    cr_assert(kf_latency_quantile_us(&lat, 0.5) >= 1000);
    cr_assert(kf_latency_quantile_us(&lat, 0.5) <= 1250);
    cr_assert(kf_latency_quantile_us(&lat, 0.99) <= 1250);
    cr_assert_eq(kf_latency_quantile_us(&lat, 1.0), 1000000);
}

/* ---- end to end: mosquitto + kioskd + Paho ---- */

struct acks {
    pthread_mutex_t mu;
    /* The ACK key of each registered device, as the device derives it: an ACK counts only
     * when its MAC checks under the key of the device it names. */
    struct {
        const char *dev;
        uint8_t key[KF_ACK_KEY_BYTES];
    } keys[2];
    int n, bad;
    char dev[8][KF_DEVICE_ID_MAX + 1];
    uint64_t hwm[8];
    int count[8];
};

static int on_ack(void *ctx, char *topic, int tl, MQTTAsync_message *m)
{
    struct acks *a = ctx;
    struct kf_env_view v;
    const uint8_t *key = NULL;
    int ok;

    (void)tl;
    ok = kf_env_parse(m->payload, (size_t)m->payloadlen, &v) == 0 && v.hdr.kind == KF_MSG_ACK &&
         v.hdr.key_epoch == 1;
    for (int k = 0; ok && k < 2; k++) {
        if (strcmp(a->keys[k].dev, v.hdr.device_id) == 0) {
            key = a->keys[k].key;
        }
    }
    ok = ok && key != NULL && kf_env_verify_mac(&v, topic, key) == 0;
    /* It names the frame it answers by that frame's device time: one sealed in this test. */
    ok = ok && v.hdr.clock_offset_ms > kf_now_ms() - 120000 && v.hdr.clock_offset_ms <= kf_now_ms();
    pthread_mutex_lock(&a->mu);
    if (!ok) {
        a->bad++;
    } else {
        int i;
        for (i = 0; i < a->n; i++) {
            if (strcmp(a->dev[i], v.hdr.device_id) == 0) {
                break;
            }
        }
        if (i == a->n && a->n < 8) {
            snprintf(a->dev[a->n++], sizeof(a->dev[0]), "%s", v.hdr.device_id);
        }
        if (i < 8) {
            a->hwm[i] = v.hdr.seq;
            a->count[i]++;
        }
    }
    pthread_mutex_unlock(&a->mu);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

/* Latest verified ack for dev: returns the number received so far, hwm in *ret. */
static int acks_get(struct acks *a, const char *dev, uint64_t *ret)
{
    int c = 0;

    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->dev[i], dev) == 0) {
            *ret = a->hwm[i];
            c = a->count[i];
        }
    }
    pthread_mutex_unlock(&a->mu);
    return c;
}

static void publish(MQTTAsync c, const char *topic, const uint8_t *buf, size_t len)
{
    MQTTAsync_message m = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

    m.payload = (void *)(uintptr_t)buf;
    m.payloadlen = (int)len;
    m.qos = 1;
    cr_assert_eq(MQTTAsync_sendMessage(c, topic, &m, &ro), MQTTASYNC_SUCCESS);
    cr_assert_eq(MQTTAsync_waitForCompletion(c, ro.token, 5000), MQTTASYNC_SUCCESS);
}

/* Publish until an ack for dev with at least `count_after` acks and hwm == want arrives. */
static void expect_ack(struct acks *a, const char *dev, uint64_t want, int min_count,
                       int64_t timeout_ms)
{
    int64_t end = kf_test_mono_ms() + timeout_ms;
    uint64_t hwm = 0;

    while (kf_test_mono_ms() < end) {
        if (acks_get(a, dev, &hwm) >= min_count && hwm == want) {
            return;
        }
        kf_test_nap_ms(20);
    }
    cr_assert_fail("no ack %llu for %s (last %llu)", (unsigned long long)want, dev,
                   (unsigned long long)hwm);
}

static void first_zone(const char *fixture, char *zone, size_t cap)
{
    json_error_t e;
    json_t *root = json_load_file(fixture, 0, &e);
    json_t *z = json_array_get(json_object_get(root, "zones"), 0);

    cr_assert(json_is_string(json_object_get(z, "id")), "%s: no zones", fixture);
    snprintf(zone, cap, "%s", json_string_value(json_object_get(z, "id")));
    json_decref(root);
}

static uint64_t stat_u64(json_t *root, const char *a, const char *b)
{
    json_t *v = json_object_get(root, a);
    if (b != NULL) {
        v = json_object_get(v, b);
    }
    cr_assert(json_is_integer(v), "stats: %s.%s missing", a, b ? b : "");
    return (uint64_t)json_integer_value(v);
}

static void on_connected_flag(void *ctx, MQTTAsync_successData *r)
{
    (void)r;
    *(volatile int *)ctx = 1;
}

struct e2e {
    char dir[32];
    char path[7][600];
    int port;
    uint8_t spk[32], ssk[64], pk1[32], sk1[64], pk2[32], sk2[64], pk9[32], sk9[64];
    pid_t mosq, kd;
    MQTTAsync cli;
    struct acks acks;
    volatile int connected;
    char t1e[KF_TOPIC_MAX + 1], t1h[KF_TOPIC_MAX + 1], t2e[KF_TOPIC_MAX + 1], t2h[KF_TOPIC_MAX + 1],
        t9e[KF_TOPIC_MAX + 1];
};

enum { P_BCONF, P_BLOG, P_DB, P_KEY, P_INI, P_KLOG, P_STATS };

/* Broker, store with two devices, kioskd (extra_ini appended to its config), a device-side
 * Paho client subscribed to every ack topic; returns once kioskd answered a HELLO. */
static void e2e_start(struct e2e *e, const char *extra_ini)
{
    static const char *names[7] = {"broker.conf", "broker.log", "kioskd.db", "server.key",
                                   "kioskd.ini",  "kioskd.log", "stats.json"};
    const char *fixture = KF_SOURCE_DIR "/tests/data/deployment_small.json";
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    static uint8_t buf[KF_ENV_MAX_BYTES];
    struct kf_device_reg reg;
    struct kf_store *st;
    char zone[64], uri[64];
    size_t len;
    FILE *f;

    memset(e, 0, sizeof(*e));
    init_sodium();
    kf_test_tmpdir("kf-kioskd", e->dir, sizeof(e->dir));
    for (int i = 0; i < 7; i++) {
        snprintf(e->path[i], sizeof(e->path[i]), "%s/%s", e->dir, names[i]);
    }
    if (access(fixture, R_OK) != 0) {
        fixture = KF_SOURCE_DIR "/fixtures/deployment.json";
    }
    e->port = kf_test_free_port();
    e->mosq = kf_test_mosquitto_start(e->port, e->path[P_BCONF], e->path[P_BLOG],
                                      "max_queued_messages 100000\nmax_inflight_messages 1000\n");

    crypto_sign_keypair(e->spk, e->ssk);
    crypto_sign_keypair(e->pk1, e->sk1);
    crypto_sign_keypair(e->pk2, e->sk2);
    crypto_sign_keypair(e->pk9, e->sk9);
    cr_assert_eq(kf_keyfile_write(e->path[P_KEY], e->ssk), 0);
    first_zone(fixture, zone, sizeof(zone));
    cr_assert_eq(kf_store_open(e->path[P_DB], 0, &st), 0);
    cr_assert_eq(kf_store_load_fixtures(st, fixture), 0);
    memset(&reg, 0, sizeof(reg));
    reg.device_id = "KSK-T-0001";
    reg.asset_id = "A-T-0001";
    reg.kind = KF_KIND_KIOSK;
    reg.zone_id = zone;
    memcpy(reg.pk, e->pk1, 32);
    cr_assert_eq(kf_store_register_device(st, &reg), 0);
    reg.device_id = "KSK-T-0002";
    reg.asset_id = "A-T-0002";
    memcpy(reg.pk, e->pk2, 32);
    cr_assert_eq(kf_store_register_device(st, &reg), 0);
    kf_store_free(st);

    f = fopen(e->path[P_INI], "w");
    cr_assert(f != NULL);
    fprintf(f,
            "[store]\npath = %s\n[mqtt]\nuri = tcp://127.0.0.1:%d\nclient_id = kioskd-test-%d\n"
            "[server]\nkey_file = %s\nstats_interval_s = 1\nstats_file = %s\n%s"
            "[log]\nlevel = debug\n",
            e->path[P_DB], e->port, (int)getpid(), e->path[P_KEY], e->path[P_STATS], extra_ini);
    fclose(f);
    e->kd = kf_test_kioskd_start(e->path[P_INI], e->path[P_KLOG]);

    pthread_mutex_init(&e->acks.mu, NULL);
    e->acks.keys[0].dev = "KSK-T-0001";
    e->acks.keys[1].dev = "KSK-T-0002";
    cr_assert_eq(kf_ack_key_device(e->sk1, e->spk, e->acks.keys[0].key), 0);
    cr_assert_eq(kf_ack_key_device(e->sk2, e->spk, e->acks.keys[1].key), 0);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", e->port);
    cr_assert_eq(MQTTAsync_create(&e->cli, uri, "kf-test-dev", MQTTCLIENT_PERSISTENCE_NONE, NULL),
                 MQTTASYNC_SUCCESS);
    cr_assert_eq(MQTTAsync_setCallbacks(e->cli, &e->acks, NULL, on_ack, NULL), MQTTASYNC_SUCCESS);
    co.cleansession = 1;
    co.onSuccess = on_connected_flag;
    co.context = (void *)&e->connected;
    cr_assert_eq(MQTTAsync_connect(e->cli, &co), MQTTASYNC_SUCCESS);
    for (int64_t end = kf_test_mono_ms() + 10000; !e->connected && kf_test_mono_ms() < end;) {
        kf_test_nap_ms(20);
    }
    cr_assert(e->connected);
    cr_assert_eq(MQTTAsync_subscribe(e->cli, "kf/v1/+/ack", 1, &ro), MQTTASYNC_SUCCESS);
    cr_assert_eq(MQTTAsync_waitForCompletion(e->cli, ro.token, 5000), MQTTASYNC_SUCCESS);

    topic_of(e->t1e, "KSK-T-0001", KF_TOPIC_EVENTS);
    topic_of(e->t1h, "KSK-T-0001", KF_TOPIC_HELLO);
    topic_of(e->t2e, "KSK-T-0002", KF_TOPIC_EVENTS);
    topic_of(e->t2h, "KSK-T-0002", KF_TOPIC_HELLO);
    topic_of(e->t9e, "KSK-T-9999", KF_TOPIC_EVENTS);

    /* HELLO until kioskd is up and answers: ACK(0) */
    uint64_t hwm = 99;
    int64_t end = kf_test_mono_ms() + 30000;
    len = seal_json(KF_MSG_HELLO, "KSK-T-0001", e->t1h, e->sk1, 1, "{\"agent\":\"test\"}", buf,
                    sizeof(buf));
    while (acks_get(&e->acks, "KSK-T-0001", &hwm) == 0 && kf_test_mono_ms() < end) {
        publish(e->cli, e->t1h, buf, len);
        for (int64_t w = kf_test_mono_ms() + 1000;
             acks_get(&e->acks, "KSK-T-0001", &hwm) == 0 && kf_test_mono_ms() < w;) {
            kf_test_nap_ms(20);
        }
    }
    cr_assert(acks_get(&e->acks, "KSK-T-0001", &hwm) > 0, "kioskd never acked (see %s)",
              e->path[P_KLOG]);
    cr_assert_eq(hwm, 0u);
}

/* SIGTERM kioskd, expect exit 0 (ASan/LSan findings would make it non-zero) and return its
 * final stats (owned). */
static json_t *e2e_stop_kioskd(struct e2e *e)
{
    json_error_t err;
    json_t *s;
    int status;

    pthread_mutex_lock(&e->acks.mu);
    cr_assert_eq(e->acks.bad, 0, "an ack did not verify with the server key");
    pthread_mutex_unlock(&e->acks.mu);
    MQTTAsync_disconnect(e->cli, NULL);
    kf_test_nap_ms(100);
    MQTTAsync_destroy(&e->cli);
    status = kf_test_stop(e->kd, 30000);
    cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "kioskd did not stop cleanly (status %d, see %s)", status, e->path[P_KLOG]);
    kf_test_assert_no_sanitizer_reports(e->path[P_KLOG]);
    s = json_load_file(e->path[P_STATS], 0, &err);
    cr_assert(s != NULL, "stats file: %s", err.text);
    return s;
}

/* KF_TEST_KEEP=1 keeps the logs and the database for a look (kf_test_rmtree). */
static void e2e_cleanup(struct e2e *e)
{
    kf_test_stop(e->mosq, 10000);
    kf_test_rmtree(e->dir);
}

Test(pipeline, end_to_end_with_mosquitto_and_kioskd, .timeout = 110)
{
    static struct e2e e;
    static uint8_t buf[KF_ENV_MAX_BYTES];
    size_t len;
    json_t *s;

    e2e_start(&e, "[limits]\nverify_batch_max = 8\ncommit_batch_max = 64\n");

    /* records 1..5 -> ACK 5 */
    len = seal_records("KSK-T-0001", e.t1e, e.sk1, 1, 1, 5, buf, sizeof(buf));
    publish(e.cli, e.t1e, buf, len);
    expect_ack(&e.acks, "KSK-T-0001", 5, 1, 20000);

    /* forged, unknown device, copied to another device's topic: counted, not committed */
    len = seal_records("KSK-T-0001", e.t1e, e.sk9, 1, 6, 2, buf, sizeof(buf));
    publish(e.cli, e.t1e, buf, len);
    len = seal_records("KSK-T-9999", e.t9e, e.sk9, 1, 1, 2, buf, sizeof(buf));
    publish(e.cli, e.t9e, buf, len);
    len = seal_records("KSK-T-0001", e.t1e, e.sk1, 1, 6, 2, buf, sizeof(buf));
    publish(e.cli, e.t2e, buf, len);

    /* still serving: 6..8 -> ACK 8; a second device's HELLO -> ACK 0 */
    len = seal_records("KSK-T-0001", e.t1e, e.sk1, 1, 6, 3, buf, sizeof(buf));
    publish(e.cli, e.t1e, buf, len);
    expect_ack(&e.acks, "KSK-T-0001", 8, 1, 20000);
    len = seal_json(KF_MSG_HELLO, "KSK-T-0002", e.t2h, e.sk2, 1, "{\"agent\":\"test\"}", buf,
                    sizeof(buf));
    publish(e.cli, e.t2h, buf, len);
    expect_ack(&e.acks, "KSK-T-0002", 0, 1, 20000);

    /* replay of 1..5: nothing written, ACK 8 again */
    {
        uint64_t hwm = 0;
        int before = acks_get(&e.acks, "KSK-T-0001", &hwm);
        len = seal_records("KSK-T-0001", e.t1e, e.sk1, 1, 1, 5, buf, sizeof(buf));
        publish(e.cli, e.t1e, buf, len);
        expect_ack(&e.acks, "KSK-T-0001", 8, before + 1, 20000);
    }

    /* 4..6 again with other records: a conflict, nothing written, ACK 8 again */
    {
        uint64_t hwm = 0;
        int before = acks_get(&e.acks, "KSK-T-0001", &hwm);
        seal_variant = 1;
        len = seal_records("KSK-T-0001", e.t1e, e.sk1, 1, 4, 3, buf, sizeof(buf));
        seal_variant = 0;
        publish(e.cli, e.t1e, buf, len);
        expect_ack(&e.acks, "KSK-T-0001", 8, before + 1, 20000);
    }

    s = e2e_stop_kioskd(&e);
    cr_assert_eq(stat_u64(s, "committed_records", NULL), 8u);
    cr_assert(stat_u64(s, "rejected", "bad_signature") >= 1);
    cr_assert(stat_u64(s, "rejected", "unknown_device") >= 1);
    cr_assert(stat_u64(s, "rejected", "wrong_topic") >= 1);
    cr_assert(stat_u64(s, "rejected", "replay") >= 1);
    cr_assert_eq(stat_u64(s, "rejected", "conflict"), 1u);
    cr_assert(stat_u64(s, "received", NULL) >= 8);
    cr_assert(json_is_real(json_object_get(json_object_get(s, "latency_ms"), "p99")));
    json_decref(s);
    e2e_cleanup(&e);
}

/* A tiny inbox under a burst: the Paho callback drops what does not fit (memory stays
 * bounded) and counts it; nothing dropped was acknowledged, so a sender that resends from
 * the acknowledged high-water mark, as agents do, gets everything committed exactly once. */
static void publish_from(struct e2e *e, uint32_t first, uint32_t nframes, uint32_t per,
                         uint8_t *buf)
{
    for (uint32_t i = first; i < nframes; i++) {
        MQTTAsync_message m = MQTTAsync_message_initializer;
        size_t len = seal_records("KSK-T-0001", e->t1e, e->sk1, 1, 1 + (uint64_t)i * per, per, buf,
                                  KF_ENV_MAX_BYTES);
        m.payload = buf;
        m.payloadlen = (int)len;
        m.qos = 1;
        /* Paho copies the payload; no need to wait for each PUBACK */
        cr_assert_eq(MQTTAsync_sendMessage(e->cli, e->t1e, &m, NULL), MQTTASYNC_SUCCESS);
    }
}

Test(pipeline, overload_drops_unacked_and_resend_loses_nothing, .timeout = 110)
{
    static struct e2e e;
    static uint8_t buf[KF_ENV_MAX_BYTES];
    const uint32_t nframes = 300, per = 2;
    const uint64_t want = (uint64_t)nframes * per;
    uint64_t hwm = 0, last = 0;
    int64_t end, quiet;
    json_t *s;

    e2e_start(&e, "[limits]\ninbox_max = 16\nverify_batch_max = 4\ncommit_batch_max = 8\n");
    publish_from(&e, 0, nframes, per, buf);
    end = kf_test_mono_ms() + 90000;
    quiet = kf_test_mono_ms() + 1500;
    while (kf_test_mono_ms() < end) {
        acks_get(&e.acks, "KSK-T-0001", &hwm);
        if (hwm == want)
            break;
        if (hwm != last) {
            last = hwm;
            quiet = kf_test_mono_ms() + 1500;
        } else if (kf_test_mono_ms() > quiet) {
            /* no progress: rewind to the high-water mark and resend, as an agent does */
            publish_from(&e, (uint32_t)(hwm / per), nframes, per, buf);
            quiet = kf_test_mono_ms() + 1500;
        }
        kf_test_nap_ms(20);
    }
    cr_assert_eq(hwm, want, "hwm %llu, want %llu", (unsigned long long)hwm,
                 (unsigned long long)want);
    s = e2e_stop_kioskd(&e);
    cr_assert_eq(stat_u64(s, "committed_records", NULL), want, "each record committed once");
    cr_assert_gt(stat_u64(s, "inbox_dropped", NULL), 0u, "the burst overflowed a 16-frame inbox");
    cr_assert_eq(stat_u64(s, "inbox_depth", NULL), 0u);
    json_decref(s);
    e2e_cleanup(&e);
}
