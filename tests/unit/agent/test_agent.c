/* test_agent.c: the agent core against a real mosquitto on a random loopback port, with a
 * tiny fake server (a Paho client here) that answers HELLO and RECORDS with ACKs. */
#include <criterion/criterion.h>
#include "kf_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <sodium.h>
#include <uv.h>

#include <kf/envelope.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "core/agent.h"
#include "core/config.h"

#define DEV_ID "KF-TEST-0001"
#define N_TXN 500

static char tmpdir[64];
static pid_t broker_pid;
static int broker_port;

static void start_broker(void)
{
    char conf[128], log[128];

    kf_test_tmpdir("kf-test-agent", tmpdir, sizeof(tmpdir));
    broker_port = kf_test_free_port();
    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", tmpdir);
    snprintf(log, sizeof(log), "%s/mosquitto.log", tmpdir);
    broker_pid = kf_test_mosquitto_start(broker_port, conf, log, "max_queued_messages 10000\n");
}

static void stop_broker(void)
{
    kf_test_stop(broker_pid, 10000);
    broker_pid = 0;
    kf_test_rmtree(tmpdir);
}

/* ---- the fake server ---- */

/* How the fake server's ACKs lie, when a test asks: its clock ahead of ours, and the frame
 * an ACK says it answers older than the one it does (a held-back or replayed ACK). */
static int64_t fake_server_ahead_ms, fake_echo_lag_ms;

struct fake_server {
    MQTTAsync client;
    uint8_t ack_key[KF_ACK_KEY_BYTES]; /* what its ACKs carry a MAC under */
    pthread_mutex_t mu;
    uint64_t hwm;
    int64_t answered_ms; /* the device time of the newest frame received */
    int connected;
    int records_frames;
    struct {
        uint64_t seq;
        uint32_t count;
        uint8_t flags;
        int64_t offset_ms;
    } frames[64]; /* the first RECORDS frames, as received */
};

static void fake_ack(struct fake_server *fs, const char *dev)
{
    char topic[KF_TOPIC_MAX];
    uint8_t frame[512];
    size_t len;
    struct kf_env_header h;
    MQTTAsync_message m = MQTTAsync_message_initializer;

    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_ACK;
    snprintf(h.device_id, sizeof(h.device_id), "%s", dev);
    h.key_epoch = 1;
    h.seq = fs->hwm;
    h.device_ms = kf_now_ms() + fake_server_ahead_ms;
    h.clock_offset_ms = fs->answered_ms - fake_echo_lag_ms;
    kf_topic_format(topic, sizeof(topic), dev, KF_TOPIC_ACK);
    if (kf_env_seal_mac(&h, topic, (const uint8_t *)"{}", 2, fs->ack_key, frame, sizeof(frame),
                        &len) < 0)
        return;
    m.payload = frame;
    m.payloadlen = (int)len;
    m.qos = 1;
    MQTTAsync_sendMessage(fs->client, topic, &m, NULL);
}

static int fake_msg(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
    struct fake_server *fs = ctx;
    struct kf_env_view v;
    (void)tlen;
    if (kf_env_parse(m->payload, (size_t)m->payloadlen, &v) == 0) {
        pthread_mutex_lock(&fs->mu);
        if (v.hdr.device_ms > fs->answered_ms)
            fs->answered_ms = v.hdr.device_ms;
        if (v.hdr.kind == KF_MSG_RECORDS) {
            if (fs->records_frames < 64) {
                fs->frames[fs->records_frames].seq = v.hdr.seq;
                fs->frames[fs->records_frames].count = v.hdr.count;
                fs->frames[fs->records_frames].flags = v.hdr.flags;
                fs->frames[fs->records_frames].offset_ms = v.hdr.clock_offset_ms;
            }
            fs->records_frames++;
            if (v.hdr.seq <= fs->hwm + 1 && v.hdr.seq + v.hdr.count - 1 > fs->hwm)
                fs->hwm = v.hdr.seq + v.hdr.count - 1;
        }
        if (v.hdr.kind == KF_MSG_RECORDS || v.hdr.kind == KF_MSG_HELLO)
            fake_ack(fs, v.hdr.device_id);
        pthread_mutex_unlock(&fs->mu);
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void fake_sub_ok(void *ctx, MQTTAsync_successData *r)
{
    struct fake_server *fs = ctx;
    (void)r;
    pthread_mutex_lock(&fs->mu);
    fs->connected = 1;
    pthread_mutex_unlock(&fs->mu);
}

static void fake_conn_ok(void *ctx, MQTTAsync_successData *r)
{
    struct fake_server *fs = ctx;
    static char *topics[] = {"kf/v1/+/hello", "kf/v1/+/events", "kf/v1/+/telemetry"};
    static int qos[] = {1, 1, 1};
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    (void)r;
    ro.onSuccess = fake_sub_ok;
    ro.context = fs;
    MQTTAsync_subscribeMany(fs->client, 3, topics, qos, &ro);
}

/* A server whose key is sk, for the device whose key is dev_pk. */
static void fake_start(struct fake_server *fs, const uint8_t sk[64], const uint8_t dev_pk[32])
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    char uri[64];

    memset(fs, 0, sizeof(*fs));
    cr_assert_eq(kf_ack_key_server(sk, dev_pk, fs->ack_key), 0);
    pthread_mutex_init(&fs->mu, NULL);
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", broker_port);
    cr_assert_eq(
        MQTTAsync_create(&fs->client, uri, "fake-server", MQTTCLIENT_PERSISTENCE_NONE, NULL),
        MQTTASYNC_SUCCESS);
    MQTTAsync_setCallbacks(fs->client, fs, NULL, fake_msg, NULL);
    co.cleansession = 1;
    co.onSuccess = fake_conn_ok;
    co.context = fs;
    cr_assert_eq(MQTTAsync_connect(fs->client, &co), MQTTASYNC_SUCCESS);
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&fs->mu);
        int c = fs->connected;
        pthread_mutex_unlock(&fs->mu);
        if (c)
            return;
        usleep(10000);
    }
    cr_assert_fail("fake server did not connect");
}

static void fake_stop(struct fake_server *fs)
{
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    d.timeout = 500;
    MQTTAsync_disconnect(fs->client, &d);
    usleep(100000);
    MQTTAsync_destroy(&fs->client);
    pthread_mutex_destroy(&fs->mu);
}

/* ---- the agent side ---- */

struct run {
    struct kf_agent *agent;
    uv_timer_t t;
    uint64_t want_records;  /* stop when the outbox holds this many */
    uint64_t want_rejected; /* or, when not 0, once this many ACKs were refused */
    int64_t deadline;
};

static void run_check(uv_timer_t *t)
{
    struct run *r = t->data;
    struct kf_agent_stats st;
    cr_assert_eq(kf_agent_stats(r->agent, &st), 0);
    if ((r->want_rejected == 0 && st.outbox.records == r->want_records) ||
        (r->want_rejected != 0 && st.acks_rejected >= r->want_rejected) ||
        kf_mono_us() > r->deadline) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, NULL);
        uv_stop(t->loop); /* the agent's own handles keep the loop alive */
    }
}

/* A test's ack timeout (0: the default), so that HELLOs are repeated quickly. */
static uint32_t test_ack_timeout_ms;

/* An agent on this test's broker, trusting trusted_pk, with quick timers. */
static void test_config(struct kf_agent_config *cfg, const uint8_t trusted_pk[32])
{
    kf_agent_config_defaults(cfg);
    snprintf(cfg->device_id, sizeof(cfg->device_id), DEV_ID);
    snprintf(cfg->uri, sizeof(cfg->uri), "tcp://127.0.0.1:%d", broker_port);
    snprintf(cfg->outbox_path, sizeof(cfg->outbox_path), "%s/outbox.db", tmpdir);
    memcpy(cfg->server_pk, trusted_pk, 32);
    cfg->flush_interval_ms = 50;
    cfg->reconnect_min_ms = 50;
    cfg->reconnect_max_ms = 500;
    cfg->reconnect_spread_ms = 100;
    cfg->batch_max_records = 50;
    if (test_ack_timeout_ms)
        cfg->ack_timeout_ms = test_ack_timeout_ms;
}

/* Start r->agent and run the loop until its outbox holds want_records or max_wait_us has
 * passed; then its stats, and the agent closed and the loop too. */
static void run_until(uv_loop_t *loop, struct run *r, uint64_t want_records, int64_t max_wait_us,
                      struct kf_agent_stats *ret)
{
    cr_assert_eq(kf_agent_start(r->agent), 0);
    r->want_records = want_records;
    r->deadline = kf_mono_us() + max_wait_us;
    uv_timer_init(loop, &r->t);
    r->t.data = r;
    uv_timer_start(&r->t, run_check, 20, 20);
    uv_run(loop, UV_RUN_DEFAULT); /* until run_check stops it */
    cr_assert_eq(kf_agent_stats(r->agent, ret), 0);
    kf_agent_close(r->agent, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(loop), 0);
}

static void run_agent(uint8_t server_sk[64], uint8_t trusted_pk[32], uint64_t want_records,
                      uint64_t want_rejected, int64_t max_wait_us, struct kf_agent_stats *ret)
{
    struct kf_agent_config cfg;
    struct fake_server fs;
    uv_loop_t loop;
    uint8_t dev_pk[32], dev_sk[64];
    struct run r = {.want_rejected = want_rejected};

    test_config(&cfg, trusted_pk);
    crypto_sign_keypair(dev_pk, dev_sk);

    fake_start(&fs, server_sk, dev_pk);
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kf_agent_new(&loop, &cfg, dev_sk, NULL, &r.agent), 0);
    for (int i = 0; i < N_TXN; i++) {
        struct kf_record rec;
        memset(&rec, 0, sizeof(rec));
        rec.type = KF_REC_TXN;
        rec.ts_ms = kf_now_ms() - 60000;
        snprintf(rec.u.txn.item, sizeof(rec.u.txn.item), "SB-%03d", i % 7);
        rec.u.txn.outcome = KF_OUTCOME_OK;
        rec.u.txn.dur_ms = 45000;
        cr_assert_eq(kf_agent_submit(r.agent, &rec, NULL), 0);
    }
    run_until(&loop, &r, want_records, max_wait_us, ret);
    fake_stop(&fs);
}

Test(agent, outbox_drains_when_the_server_acks, .init = start_broker, .fini = stop_broker,
     .timeout = 60)
{
    uint8_t spk[32], ssk[64];
    struct kf_agent_stats st;

    crypto_sign_keypair(spk, ssk);
    run_agent(ssk, spk, 0, 0, 30 * 1000000LL, &st);
    cr_assert_eq(st.outbox.records, 0);
    cr_assert_eq(st.outbox.acked_seq, N_TXN);
    cr_assert_eq(st.acks_rejected, 0);
    cr_assert(st.clock_synced);
    cr_assert_geq(st.batches_sent, N_TXN / 50);
}

/* ACKs whose server time is a day ahead, answering a frame sent a minute ago (held back,
 * or replayed): they still delete what they acknowledge, but say nothing about the clock. */
Test(agent, stale_acks_do_not_set_the_clock, .init = start_broker, .fini = stop_broker,
     .timeout = 60)
{
    uint8_t spk[32], ssk[64];
    struct kf_agent_stats st;

    crypto_sign_keypair(spk, ssk);
    fake_server_ahead_ms = 86400000;
    fake_echo_lag_ms = 60000;
    run_agent(ssk, spk, 0, 0, 30 * 1000000LL, &st);
    cr_assert_eq(st.outbox.records, 0, "stale ACKs must still acknowledge");
    cr_assert_gt(st.acks_stale, 0);
    cr_assert_eq(st.clock_synced, 0, "a stale ACK set the clock (offset %lld ms)",
                 (long long)st.clock_offset_ms);
}

/* The same ACKs answering the frame just sent set the clock a day ahead. */
Test(agent, fresh_acks_set_the_clock, .init = start_broker, .fini = stop_broker, .timeout = 60)
{
    const int64_t day = 86400000;
    uint8_t spk[32], ssk[64];
    struct kf_agent_stats st;

    crypto_sign_keypair(spk, ssk);
    fake_server_ahead_ms = day;
    run_agent(ssk, spk, 0, 0, 30 * 1000000LL, &st);
    cr_assert_eq(st.outbox.records, 0);
    cr_assert_eq(st.acks_stale, 0);
    cr_assert(st.clock_synced);
    cr_assert(st.clock_offset_ms > day - 60000 && st.clock_offset_ms < day + 60000,
              "offset %lld ms, want about a day", (long long)st.clock_offset_ms);
}

Test(agent, forged_acks_delete_nothing, .init = start_broker, .fini = stop_broker, .timeout = 60)
{
    uint8_t spk[32], ssk[64], fpk[32], fsk[64];
    struct kf_agent_stats st;

    crypto_sign_keypair(spk, ssk);
    crypto_sign_keypair(fpk, fsk);
    /* The agent trusts spk; the fake server's ACK key comes from fsk. Run until the agent
     * has refused the answer to its HELLO (however slow a busy machine makes the connects):
     * nothing may go. */
    run_agent(fsk, spk, 0, 1, 30 * 1000000LL, &st);
    cr_assert_eq(st.outbox.records, N_TXN);
    cr_assert_eq(st.outbox.acked_seq, 0);
    cr_assert_geq(st.acks_rejected, 1);
    cr_assert_eq(st.acks, 0);
}

/* Refused ACKs are logged, once per run of refusals, with what to check: an agent whose
 * server_public_key is not the server's hears ACK after ACK that it cannot believe, sends
 * its HELLO again and again, and is otherwise silent. */
Test(agent, refused_acks_are_logged_once_with_what_to_check, .init = start_broker,
     .fini = stop_broker, .timeout = 60)
{
    uint8_t spk[32], ssk[64], fpk[32], fsk[64];
    struct kf_agent_stats st;
    char log_path[128], line[1024];
    int saved, fd, warned = 0;
    FILE *f;

    crypto_sign_keypair(spk, ssk);
    crypto_sign_keypair(fpk, fsk);
    snprintf(log_path, sizeof(log_path), "%s/agent.log", tmpdir);
    fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    saved = dup(STDERR_FILENO);
    cr_assert_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    test_ack_timeout_ms = 200;
    run_agent(fsk, spk, 0, 4, 30 * 1000000LL, &st);
    cr_assert_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    cr_assert_geq(st.acks_rejected, 4, "the HELLO was answered only %llu times",
                  (unsigned long long)st.acks_rejected);
    f = fopen(log_path, "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "ignored a message on kf/v1/" DEV_ID "/ack")) {
            warned++;
            cr_assert(strstr(line, "MAC does not verify") && strstr(line, "server_public_key"),
                      "%s", line);
        }
    }
    fclose(f);
    cr_assert_eq(warned, 1, "%d warnings for %llu refused ACKs, want one", warned,
                 (unsigned long long)st.acks_rejected);
}

/* ---- clock regimes (docs/PROTOCOL.md section 9) ---- */

static int64_t test_base_ms;

static int64_t test_clock_base(void *ud)
{
    (void)ud;
    return test_base_ms;
}

/* A terminal boots with its clock two days slow and stamps 10 txns; NTP then steps the
 * clock right and it stamps 10 more; only then does it reach the server. The offset it
 * measures is ~0, but the first 10 were stamped under a clock 2 days behind: their frame
 * must say +2 days, the others ~0, and the two never share a frame. */
Test(agent, records_carry_the_offset_in_force_when_stamped, .init = start_broker,
     .fini = stop_broker, .timeout = 60)
{
    const int64_t two_days = 2 * 86400 * 1000LL;
    struct kf_agent_config cfg;
    struct kf_agent_opts opts = {0};
    struct fake_server fs;
    struct kf_agent_stats st;
    uv_loop_t loop;
    uint8_t spk[32], ssk[64], dev_pk[32], dev_sk[64];
    struct run r;
    int saw_slow = 0, saw_right = 0;

    crypto_sign_keypair(spk, ssk);
    test_config(&cfg, spk);
    crypto_sign_keypair(dev_pk, dev_sk);
    opts.clock_base_cb = test_clock_base;
    opts.kernel_boot_id = "test-boot-1";

    fake_start(&fs, ssk, dev_pk);
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kf_agent_new(&loop, &cfg, dev_sk, &opts, &r.agent), 0);
    for (int i = 0; i < 20; i++) {
        struct kf_record rec;

        /* Before the step the wall clock reads two days early: so do its stamps. */
        test_base_ms = kf_clock_base_ms() - (i < 10 ? two_days : 0);
        memset(&rec, 0, sizeof(rec));
        rec.type = KF_REC_TXN;
        rec.ts_ms = kf_now_ms() - 60000 - (i < 10 ? two_days : 0);
        snprintf(rec.u.txn.item, sizeof(rec.u.txn.item), "SB-001");
        rec.u.txn.outcome = KF_OUTCOME_OK;
        rec.u.txn.dur_ms = 1000;
        cr_assert_eq(kf_agent_submit(r.agent, &rec, NULL), 0);
    }
    run_until(&loop, &r, 0, 30 * 1000000LL, &st);
    fake_stop(&fs);

    cr_assert_eq(st.outbox.acked_seq, 20);
    cr_assert(st.clock_synced);
    cr_assert_lt(st.clock_offset_ms < 0 ? -st.clock_offset_ms : st.clock_offset_ms, 1000);
    cr_assert_geq(fs.records_frames, 2);
    for (int i = 0; i < fs.records_frames && i < 64; i++) {
        uint64_t first = fs.frames[i].seq, last = first + fs.frames[i].count - 1;
        int64_t off = fs.frames[i].offset_ms;

        cr_assert(fs.frames[i].flags & KF_ENV_F_CLOCK_SYNCED, "frame %d not synced", i);
        cr_assert(last <= 10 || first > 10, "frame %d mixes the two clocks (%lu-%lu)", i,
                  (unsigned long)first, (unsigned long)last);
        if (last <= 10) {
            cr_assert(off > two_days - 1000 && off < two_days + 1000,
                      "records stamped before the step: offset %ld, want +2 days", (long)off);
            saw_slow = 1;
        } else {
            cr_assert(off > -1000 && off < 1000, "records after the step: offset %ld, want ~0",
                      (long)off);
            saw_right = 1;
        }
    }
    cr_assert(saw_slow && saw_right);
}
