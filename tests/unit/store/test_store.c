/* test_store.c: the server store: idempotent group commit, aggregates, HWM, clock rules,
 * fixtures and registration. Each test works on its own database in a temp directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include "kf_test.h"
#include "kf_test_store.h"
#include <sqlite3.h>

#include <kf/record.h>
#include <kf/time.h>

#include "store/registry.h"
#include "store/ingest.h"
#include "store/store.h"
#include "store/query.h"
#include "store/quarantine.h"
#include "store/sla.h"

#define DAY_MS (86400LL * 1000)

static struct kf_test_store tstore; /* the store, its read-only twin, its dir */
static const uint8_t raw_frame[] = "not a real frame: the store keeps whatever bytes it is given";
/* 2026-03-10 12:00 +08:00, a fixed receipt time */
static int64_t recv_base;

static void setup(void)
{
    struct kf_device_reg reg = {
        .device_id = "KF-XH-0001",
        .asset_id = "A-000001",
        .kind = KF_KIND_KIOSK,
        .zone_id = "Z-XH-001",
        .lease_ref = "L-1",
    };
    int32_t day;

    kf_test_store_open(&tstore, "kf-test-store", KF_TEST_FIXTURES_SMALL);
    memset(reg.pk, 7, sizeof(reg.pk));
    cr_assert_eq(kf_store_register_device(tstore.st, &reg), 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_eq(kf_day_parse("2026-03-10", &day), 0);
    recv_base = kf_day_start_ms(day) + 12 * 3600 * 1000LL;
}

static void teardown(void)
{
    kf_test_store_close(&tstore);
}

/* One integer from a query on the read connection (-1 when there is no row). */
static int64_t q1(const char *sql)
{
    return kf_test_store_q1(&tstore, sql);
}

/* usage_daily equals the aggregation of the transactions: no row of either is missing
 * from the other. */
#define TXN_SUMS                                                                                   \
    "SELECT day, zone_id, asset_id, device_id, item, sum(outcome = 'ok'),"                         \
    " sum(outcome = 'failed'), sum(outcome = 'abandoned'), sum(dur_ms)"                            \
    " FROM txns GROUP BY 1, 2, 3, 4, 5"
#define USAGE_ROWS                                                                                 \
    "SELECT day, zone_id, asset_id, device_id, item, ok, failed, abandoned, dur_ms_total"          \
    " FROM usage_daily"

static void assert_usage_equals_txns(void)
{
    cr_assert_eq(q1("SELECT count(*) FROM (" TXN_SUMS " EXCEPT " USAGE_ROWS ")"), 0);
    cr_assert_eq(q1("SELECT count(*) FROM (" USAGE_ROWS " EXCEPT " TXN_SUMS ")"), 0);
}

static struct kf_record txn(int64_t ts, const char *item, int outcome, uint32_t dur_ms)
{
    struct kf_record r = {.type = KF_REC_TXN, .ts_ms = ts};

    snprintf(r.u.txn.item, sizeof(r.u.txn.item), "%s", item);
    r.u.txn.outcome = (uint8_t)outcome;
    r.u.txn.dur_ms = dur_ms;
    return r;
}

/* A RECORDS frame of n ok txns on HF-001 starting at seq, device clock = receipt time. */
struct frame {
    struct kf_ingest in;
    struct kf_record recs[32];
};

static void records_frame(struct frame *f, const char *dev, uint64_t seq, uint32_t n)
{
    cr_assert(n <= 32);
    memset(f, 0, sizeof(*f));
    f->in.hdr.kind = KF_MSG_RECORDS;
    snprintf(f->in.hdr.device_id, sizeof(f->in.hdr.device_id), "%s", dev);
    f->in.hdr.key_epoch = 1;
    f->in.hdr.seq = seq;
    f->in.hdr.count = n;
    f->in.hdr.device_ms = recv_base;
    f->in.topic = "kf/v1/KF-XH-0001/events";
    f->in.raw = raw_frame;
    f->in.raw_len = sizeof(raw_frame);
    f->in.recv_ms = recv_base;
    f->in.nrec = n;
    f->in.recs = f->recs;
    for (uint32_t i = 0; i < n; i++)
        f->recs[i] = txn(recv_base - 60000, "HF-001", KF_OUTCOME_OK, 1000);
}

static int commit1(struct kf_ingest *in, struct kf_commit_out *out)
{
    struct kf_ingest *items[1] = {in};

    return kf_store_ingest_commit(tstore.st, items, 1, out);
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, commit_inserts_records_and_aggregates)
{
    struct frame f;
    struct kf_commit_out out = {0};

    records_frame(&f, "KF-XH-0001", 1, 6);
    f.recs[1] = txn(recv_base - 1000, "HF-001", KF_OUTCOME_FAILED, 500);
    f.recs[2] = txn(recv_base - 1000, "SB-003", KF_OUTCOME_ABANDONED, 200);
    f.recs[3] = (struct kf_record){.type = KF_REC_HEALTH, .ts_ms = recv_base};
    f.recs[3].u.health.cpu_pm = 153;
    f.recs[3].u.health.temp_mc = KF_TEMP_NONE;
    f.recs[3].u.health.disk_total_kb = 1000;
    f.recs[3].u.health.disk_avail_kb = 50;
    f.recs[4] = (struct kf_record){.type = KF_REC_PERIPH, .ts_ms = recv_base};
    f.recs[4].u.periph.periph = KF_PERIPH_A4_PRINTER;
    f.recs[4].u.periph.state = KF_PSTATE_PAPER_OUT;
    f.recs[5] = (struct kf_record){.type = KF_REC_FAULT, .ts_ms = recv_base};
    snprintf(f.recs[5].u.fault.code, sizeof(f.recs[5].u.fault.code), "PRN-JAM");
    f.recs[5].u.fault.sev = KF_SEV_CRITICAL;
    f.recs[5].u.fault.raise = 1;
    f.recs[5].u.fault.periph = KF_PERIPH_A4_PRINTER;

    cr_assert_eq(commit1(&f.in, &out), 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_eq(out.inserted, 6);
    cr_assert_eq(out.duplicates, 0);
    cr_assert_eq(out.replay, 0);
    cr_assert_eq(out.acked_seq, 6);
    cr_assert_eq(q1("SELECT count(*) FROM records"), 6);
    cr_assert_eq(q1("SELECT count(*) FROM txns"), 3);
    cr_assert_eq(q1("SELECT count(*) FROM envelopes"), 1);
    cr_assert_eq(q1("SELECT length(raw) FROM envelopes"), (int64_t)sizeof(raw_frame));
    cr_assert_eq(q1("SELECT ok FROM usage_daily WHERE item = 'HF-001'"), 1);
    cr_assert_eq(q1("SELECT failed FROM usage_daily WHERE item = 'HF-001'"), 1);
    cr_assert_eq(q1("SELECT dur_ms_total FROM usage_daily WHERE item = 'HF-001'"), 1500);
    cr_assert_eq(q1("SELECT abandoned FROM usage_daily WHERE item = 'SB-003'"), 1);
    cr_assert_eq(q1("SELECT zone_id = 'Z-XH-001' AND asset_id = 'A-000001' FROM usage_daily"
                    " LIMIT 1"),
                 1);
    cr_assert_eq(q1("SELECT cpu_pm FROM health_latest WHERE device_id = 'KF-XH-0001'"), 153);
    cr_assert_eq(q1("SELECT temp_mc IS NULL FROM health_latest"), 1);
    cr_assert_eq(q1("SELECT usable FROM periph_latest WHERE periph = 'a4_printer'"
                    " AND state = 'paper_out'"),
                 0);
    cr_assert_eq(q1("SELECT count(*) FROM faults_open WHERE code = 'PRN-JAM'"), 1);
    cr_assert_eq(q1("SELECT online FROM devices"), 1);
    cr_assert_eq(q1("SELECT acked_seq FROM devices"), 6);

    /* The fault cleared later: no longer open. */
    records_frame(&f, "KF-XH-0001", 7, 1);
    f.recs[0] = (struct kf_record){.type = KF_REC_FAULT, .ts_ms = recv_base + 1000};
    snprintf(f.recs[0].u.fault.code, sizeof(f.recs[0].u.fault.code), "PRN-JAM");
    f.recs[0].u.fault.sev = KF_SEV_CRITICAL;
    f.recs[0].u.fault.raise = 0;
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(q1("SELECT count(*) FROM faults_open"), 0);
    cr_assert_eq(out.acked_seq, 7);
}

Test(store, same_frame_twice_is_replay)
{
    struct frame f;
    struct kf_commit_out out = {0};

    records_frame(&f, "KF-XH-0001", 1, 10);
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(out.inserted, 10);
    memset(&out, 0, sizeof(out));
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(out.replay, 1);
    cr_assert_eq(out.inserted, 0);
    cr_assert_eq(out.duplicates, 10);
    cr_assert_eq(out.acked_seq, 10);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily"), 10);
    cr_assert_eq(q1("SELECT count(*) FROM envelopes"), 1);
    cr_assert_eq(q1("SELECT count(*) FROM records"), 10);
}

Test(store, overlapping_batch_counts_only_new_records)
{
    struct frame a, b;
    struct kf_commit_out out = {0};

    records_frame(&a, "KF-XH-0001", 1, 10);
    records_frame(&b, "KF-XH-0001", 6, 10);
    cr_assert_eq(commit1(&a.in, &out), 0);
    cr_assert_eq(commit1(&b.in, &out), 0);
    cr_assert_eq(out.inserted, 5);
    cr_assert_eq(out.duplicates, 5);
    cr_assert_eq(out.replay, 0);
    cr_assert_eq(out.acked_seq, 15);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily"), 15);
    cr_assert_eq(q1("SELECT count(*) FROM txns"), 15);
    cr_assert_eq(q1("SELECT count(*) FROM envelopes"), 2);
}

/* Records are kept in commit order, with no index on (device, seq): what a device sent
 * before is known from the envelopes. Every way a record can come twice, each stored once. */
Test(store, repeated_records_found_from_the_envelopes)
{
    struct frame a, b, c, d, x, y;
    struct kf_ingest *same[2] = {&a.in, &b.in}, *over[2] = {&x.in, &y.in};
    struct kf_commit_out out[2];

    /* Two overlapping frames in one commit: the second sees the first's envelope. */
    records_frame(&a, "KF-XH-0001", 1, 10);
    records_frame(&b, "KF-XH-0001", 6, 10);
    cr_assert_eq(kf_store_ingest_commit(tstore.st, same, 2, out), 0);
    cr_assert_eq(out[0].inserted, 10);
    cr_assert_eq(out[1].inserted, 5);
    cr_assert_eq(out[1].duplicates, 5);
    cr_assert_eq(out[1].acked_seq, 15);
    /* Above the mark, past a hole: an overlapping resend finds the stored frame. */
    records_frame(&c, "KF-XH-0001", 21, 10);
    records_frame(&d, "KF-XH-0001", 25, 10);
    cr_assert_eq(commit1(&c.in, &out[0]), 0);
    cr_assert_eq(commit1(&d.in, &out[0]), 0);
    cr_assert_eq(out[0].inserted, 4);
    cr_assert_eq(out[0].duplicates, 6);
    cr_assert_eq(out[0].acked_seq, 15);
    /* In one commit, a frame reaching below the mark (16-20 new, and 21-24 already there)
     * and then one inside what it just covered: the second must look behind the mark. */
    records_frame(&x, "KF-XH-0001", 12, 13);
    records_frame(&y, "KF-XH-0001", 17, 3);
    cr_assert_eq(kf_store_ingest_commit(tstore.st, over, 2, out), 0);
    cr_assert_eq(out[0].inserted, 5);
    cr_assert_eq(out[0].duplicates, 8);
    cr_assert_eq(out[1].inserted, 0);
    cr_assert_eq(out[1].replay, 1);
    cr_assert_eq(out[1].acked_seq, 34);
    cr_assert_eq(q1("SELECT count(*) FROM records"), 34);
    cr_assert_eq(q1("SELECT count(*) FROM (SELECT 1 FROM records GROUP BY device_id, seq"
                    " HAVING count(*) > 1)"),
                 0);
    cr_assert_eq(q1("SELECT min(seq) = 1 AND max(seq) = 34 FROM records"), 1);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily"), 34);
}

/* The same property over random traffic: frames of random start and length, resent, out of
 * order, overlapping, two devices, random group sizes. Whatever arrives, each (device, seq)
 * sent is stored exactly once, every frame's records are counted new or duplicate, the mark
 * is the contiguous prefix of what was sent, and usage equals the records. */
static uint64_t rnd_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

Test(store, random_traffic_stores_each_record_once)
{
    enum { NSEQ = 400, NFRAMES = 600, MAXN = 12, MAXB = 10 };
    static const char *const devs[2] = {"KF-XH-0001", "KF-XH-0002"};
    struct kf_device_reg reg = {.device_id = "KF-XH-0002",
                                .asset_id = "A-000002",
                                .kind = KF_KIND_ITM,
                                .zone_id = "Z-XH-001"};
    static struct frame f[NFRAMES];
    static uint8_t sent[2][NSEQ + 1];
    struct kf_ingest *in[MAXB];
    struct kf_commit_out out[MAXB];
    uint64_t x = 0x9e3779b97f4a7c15ull, total = 0, inserted = 0, last_end[2] = {0, 0};
    char sql[160];

    memset(reg.pk, 9, sizeof(reg.pk));
    cr_assert_eq(kf_store_register_device(tstore.st, &reg), 0, "%s", kf_store_errmsg(tstore.st));
    for (int i = 0; i < NFRAMES;) {
        int want = 1 + (int)(rnd_next(&x) % MAXB), m = 0;

        for (; m < want && i < NFRAMES; m++, i++) {
            int d = (int)(rnd_next(&x) % 2);
            uint64_t first, back = rnd_next(&x) % 16;
            uint32_t n = 1 + (uint32_t)(rnd_next(&x) % MAXN);

            switch (rnd_next(&x) % 4) {
            case 0: /* anywhere: ahead of the mark, past holes, or long stored */
                first = 1 + rnd_next(&x) % NSEQ;
                break;
            case 1: /* the next batch, as an agent sends it */
                first = last_end[d] + 1;
                break;
            default: /* resent with other boundaries, reaching back over what was sent */
                first = last_end[d] > back ? last_end[d] - back : 1;
            }
            if (first > NSEQ)
                first = NSEQ;
            if (first + n - 1 > NSEQ)
                n = (uint32_t)(NSEQ - first + 1);
            records_frame(&f[i], devs[d], first, n);
            for (uint32_t q = 0; q < n; q++)
                sent[d][first + q] = 1;
            if (first + n - 1 > last_end[d])
                last_end[d] = first + n - 1;
            in[m] = &f[i].in;
        }
        cr_assert_eq(kf_store_ingest_commit(tstore.st, in, (size_t)m, out), 0, "%s",
                     kf_store_errmsg(tstore.st));
        for (int k = 0; k < m; k++) {
            cr_assert_eq(out[k].inserted + out[k].duplicates, in[k]->nrec, "frame %d", i - m + k);
            inserted += out[k].inserted;
        }
    }
    for (int d = 0; d < 2; d++) {
        int64_t prefix = 0;

        while (prefix < NSEQ && sent[d][prefix + 1])
            prefix++;
        for (int q = 1; q <= NSEQ; q++)
            total += sent[d][q];
        snprintf(sql, sizeof(sql), "SELECT acked_seq FROM devices WHERE device_id = '%s'", devs[d]);
        cr_assert_eq(q1(sql), prefix, "%s: the mark is the contiguous prefix", devs[d]);
    }
    cr_assert_eq(inserted, total);
    cr_assert_eq(q1("SELECT count(*) FROM records"), (int64_t)total);
    cr_assert_eq(q1("SELECT count(*) FROM (SELECT 1 FROM records GROUP BY device_id, seq"
                    " HAVING count(*) > 1)"),
                 0);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily"), (int64_t)total);
}

Test(store, out_of_order_frames_advance_hwm_when_contiguous)
{
    struct frame a, b;
    struct kf_commit_out out = {0};

    records_frame(&a, "KF-XH-0001", 11, 10);
    records_frame(&b, "KF-XH-0001", 1, 10);
    cr_assert_eq(commit1(&a.in, &out), 0);
    cr_assert_eq(out.inserted, 10);
    cr_assert_eq(out.acked_seq, 0);
    cr_assert_eq(commit1(&b.in, &out), 0);
    cr_assert_eq(out.acked_seq, 20);
    cr_assert_eq(q1("SELECT acked_seq FROM devices"), 20);
}

Test(store, frames_of_one_device_in_one_commit_in_any_order)
{
    struct frame a, b, c;
    struct kf_ingest *items[3] = {&a.in, &b.in, &c.in};
    struct kf_commit_out out[3];

    records_frame(&a, "KF-XH-0001", 21, 10);
    records_frame(&b, "KF-XH-0001", 11, 10);
    records_frame(&c, "KF-XH-0001", 1, 10);
    cr_assert_eq(kf_store_ingest_commit(tstore.st, items, 3, out), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(out[i].acked_seq, 30);
        cr_assert_eq(out[i].inserted, 10);
    }
}

Test(store, hello_returns_current_hwm)
{
    struct frame f;
    struct kf_ingest hello = {0};
    struct kf_commit_out out = {0};

    records_frame(&f, "KF-XH-0001", 1, 5);
    cr_assert_eq(commit1(&f.in, &out), 0);
    hello.hdr.kind = KF_MSG_HELLO;
    snprintf(hello.hdr.device_id, sizeof(hello.hdr.device_id), "KF-XH-0001");
    hello.hdr.seq = 6;
    hello.hdr.device_ms = recv_base;
    hello.recv_ms = recv_base + 5000;
    hello.body_json = "{\"agent\":\"kiosk-agent/0.1.0\",\"boot_id\":\"b-1\"}";
    memset(&out, 0xff, sizeof(out));
    cr_assert_eq(commit1(&hello, &out), 0);
    cr_assert_eq(out.acked_seq, 5);
    cr_assert_eq(out.inserted, 0);
    cr_assert_eq(out.replay, 0);
    cr_assert_eq(q1("SELECT agent = 'kiosk-agent/0.1.0' AND boot_id = 'b-1' FROM devices"), 1);
    cr_assert_eq(q1("SELECT last_seen_ms FROM devices"), recv_base + 5000);
    cr_assert_eq(q1("SELECT online FROM devices"), 1);
    cr_assert_eq(q1("SELECT count(*) FROM envelopes"), 1); /* HELLO is not evidence */
}

/* A device acknowledged past what the store holds (database restored from a backup): the
 * gap is recorded, and the high-water mark moves past it so the device can go on. */
Test(store, hello_past_the_store_records_the_gap)
{
    struct frame f;
    struct kf_ingest hello = {0};
    struct kf_commit_out out = {0};

    records_frame(&f, "KF-XH-0001", 1, 5);
    cr_assert_eq(commit1(&f.in, &out), 0);
    hello.hdr.kind = KF_MSG_HELLO;
    snprintf(hello.hdr.device_id, sizeof(hello.hdr.device_id), "KF-XH-0001");
    hello.hdr.seq = 11; /* the device holds acks up to 10 */
    hello.hdr.device_ms = recv_base;
    hello.recv_ms = recv_base + 5000;
    hello.body_json = "{}";
    cr_assert_eq(commit1(&hello, &out), 0);
    cr_assert_eq(out.acked_seq, 10);
    cr_assert_eq(out.gap_first, 6);
    cr_assert_eq(out.gap_last, 10);
    cr_assert_eq(q1("SELECT first_seq * 100 + last_seq FROM seq_gaps"), 610);
    records_frame(&f, "KF-XH-0001", 11, 2);
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(out.acked_seq, 12);
    /* the same HELLO again finds no new gap */
    cr_assert_eq(commit1(&hello, &out), 0);
    cr_assert_eq(out.gap_last, 0);
    cr_assert_eq(q1("SELECT count(*) FROM seq_gaps"), 1);
}

static int commit_state(const char *state, int64_t device_ms, int64_t recv_ms)
{
    struct kf_ingest in = {0};
    struct kf_commit_out out;
    char body[64];

    in.hdr.kind = KF_MSG_STATE;
    snprintf(in.hdr.device_id, sizeof(in.hdr.device_id), "KF-XH-0001");
    in.hdr.device_ms = device_ms;
    in.recv_ms = recv_ms;
    snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
    in.body_json = body;
    return commit1(&in, &out);
}

Test(store, stale_state_is_ignored)
{
    cr_assert_eq(commit_state("online", recv_base, recv_base), 0);
    cr_assert_eq(q1("SELECT online FROM devices"), 1);
    cr_assert_eq(commit_state("offline", recv_base + 2000, recv_base + 3000), 0);
    cr_assert_eq(q1("SELECT online FROM devices"), 0);
    cr_assert_eq(q1("SELECT state_since_ms FROM devices"), recv_base + 3000);
    /* A retained "online" sealed before the will: stale, ignored. */
    cr_assert_eq(commit_state("online", recv_base + 1000, recv_base + 4000), 0);
    cr_assert_eq(q1("SELECT online FROM devices"), 0);
    cr_assert_eq(q1("SELECT last_state_device_ms FROM devices"), recv_base + 2000);
    cr_assert_eq(q1("SELECT last_seen_ms FROM devices"), recv_base + 4000);
}

Test(store, error_rolls_back_everything)
{
    struct frame good, bad;
    struct kf_ingest *items[2] = {&good.in, &bad.in};
    struct kf_commit_out out[2];
    uint64_t delta[KF_REJECT_COUNT_] = {0};

    records_frame(&good, "KF-XH-0001", 1, 5);
    records_frame(&bad, "KF-NOPE-0001", 1, 5);
    delta[KF_REJECT_MALFORMED] = 3;
    memset(out, 0xab, sizeof(out));
    cr_assert_lt(kf_store_ingest_commit(tstore.st, items, 2, out), 0);
    for (size_t i = 0; i < sizeof(out); i++)
        cr_assert_eq(((const uint8_t *)out)[i], 0xab);
    cr_assert_eq(q1("SELECT count(*) FROM records"), 0);
    cr_assert_eq(q1("SELECT count(*) FROM envelopes"), 0);
    cr_assert_eq(q1("SELECT count(*) FROM usage_daily"), 0);
    cr_assert_eq(q1("SELECT sum(count) FROM reject_counts"), 0);
    cr_assert_eq(q1("SELECT acked_seq FROM devices"), 0);
    cr_assert_eq(q1("SELECT online FROM devices"), 0);

    /* The store is usable afterwards. */
    cr_assert_eq(kf_store_ingest_commit(tstore.st, items, 1, out), 0);
    cr_assert_eq(out[0].acked_seq, 5);
    cr_assert_eq(kf_store_ingest_rejects_add(tstore.st, delta), 0);
    cr_assert_eq(q1("SELECT count FROM reject_counts WHERE reason = 'malformed'"), 3);
}

Test(store, effective_day_follows_clock_rules)
{
    struct frame f;
    struct kf_commit_out out;
    int32_t day;

    cr_assert_eq(kf_day_parse("2026-03-10", &day), 0);

    /* A device clock 3 days behind, synced: its offset puts the txn on the right day. */
    records_frame(&f, "KF-XH-0001", 1, 1);
    f.in.hdr.flags = KF_ENV_F_CLOCK_SYNCED;
    f.in.hdr.clock_offset_ms = 3 * DAY_MS;
    f.in.hdr.device_ms = recv_base - 3 * DAY_MS;
    f.recs[0] = txn(recv_base - 3 * DAY_MS - 60000, "HF-001", KF_OUTCOME_OK, 1000);
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(q1("SELECT day FROM txns WHERE seq = 1"), day);
    cr_assert_eq(q1("SELECT flags & 1 FROM records WHERE seq = 1"), 0);
    cr_assert_eq(q1("SELECT effective_ms FROM records WHERE seq = 1"), recv_base - 60000);

    /* Unsynced and 2 days in the future: corrected by the frame's lead. */
    records_frame(&f, "KF-XH-0001", 2, 1);
    f.in.hdr.device_ms = recv_base + 2 * DAY_MS;
    f.recs[0] = txn(recv_base + 2 * DAY_MS - 3600000, "HF-001", KF_OUTCOME_OK, 1000);
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(q1("SELECT day FROM txns WHERE seq = 2"), day);
    cr_assert_eq(q1("SELECT effective_ms FROM records WHERE seq = 2"), recv_base - 3600000);
    cr_assert_eq(q1("SELECT flags & 1 FROM records WHERE seq = 2"), 0);

    /* Unsynced, 100 days behind: implausible, counted at receipt and flagged. */
    records_frame(&f, "KF-XH-0001", 3, 1);
    f.in.hdr.device_ms = recv_base - 100 * DAY_MS;
    f.recs[0] = txn(recv_base - 100 * DAY_MS, "HF-001", KF_OUTCOME_OK, 1000);
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(q1("SELECT day FROM txns WHERE seq = 3"), day);
    cr_assert_eq(q1("SELECT flags & 1 FROM records WHERE seq = 3"), 1);
    cr_assert_eq(q1("SELECT device_ts_ms FROM records WHERE seq = 3"), recv_base - 100 * DAY_MS);

    /* Unsynced, slightly behind (a late batch from yesterday): stays on yesterday. */
    records_frame(&f, "KF-XH-0001", 4, 1);
    f.recs[0] = txn(recv_base - DAY_MS, "HF-001", KF_OUTCOME_OK, 1000);
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(q1("SELECT day FROM txns WHERE seq = 4"), day - 1);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily WHERE day = (SELECT day FROM txns"
                    " WHERE seq = 1)"),
                 3);
    cr_assert_eq(out.acked_seq, 4);
}

Test(store, fixtures_load_with_counts)
{
    cr_assert_eq(q1("SELECT count(*) FROM units"), 2);
    cr_assert_eq(q1("SELECT count(*) FROM zones"), 3);
    cr_assert_eq(q1("SELECT count(*) FROM items"), 3);
    /* Loading again is an upsert, not a duplicate. */
    cr_assert_eq(kf_store_load_fixtures(tstore.st, KF_TEST_FIXTURES_SMALL), 0);
    cr_assert_eq(q1("SELECT count(*) FROM zones"), 3);

    if (access(KF_TEST_FIXTURES_FULL, R_OK) != 0) {
        cr_log_warn("%s missing: full fixture counts not checked", KF_TEST_FIXTURES_FULL);
        return;
    }
    /* The deployment itself, in a database of its own. */
    struct kf_store *full;
    char path[160];

    snprintf(path, sizeof(path), "%s/full.db", tstore.dir);
    cr_assert_eq(kf_store_open(path, 0, &full), 0);
    cr_assert_eq(kf_store_load_fixtures(full, KF_TEST_FIXTURES_FULL), 0, "%s",
                 kf_store_errmsg(full));
    kf_store_free(full);
    sqlite3_close(tstore.rd);
    cr_assert_eq(sqlite3_open_v2(path, &tstore.rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(q1("SELECT count(*) FROM units"), 10);
    cr_assert_geq(q1("SELECT count(*) FROM zones"), 200);
    cr_assert_eq(q1("SELECT count(*) FROM units u"
                    " WHERE (SELECT count(*) FROM zones z WHERE z.unit = u.code) >= 10"),
                 10);
    cr_assert_geq(q1("SELECT count(*) FROM items"), 70);
    cr_assert_eq(q1("SELECT count(*) FROM families"), 8);
    cr_assert_eq(q1("SELECT count(DISTINCT bank) FROM zones"), 6);
}

Test(store, fixtures_with_unknown_reference_fail_whole)
{
    char path[160];
    FILE *f;

    snprintf(path, sizeof(path), "%s/bad.json", tstore.dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"units\":[{\"code\":\"YX\",\"name\":\"叶县\",\"kind\":\"county\"}],"
          "\"banks\":[],\"families\":[],\"items\":[],"
          "\"zones\":[{\"id\":\"Z-1\",\"name\":\"n\",\"bank\":\"NOBANK\",\"branch\":\"b\","
          "\"unit\":\"YX\",\"address\":\"a\",\"hours\":{\"weekday\":\"08:30-17:00\"}}]}",
          f);
    fclose(f);
    cr_assert_eq(kf_store_load_fixtures(tstore.st, path), -EINVAL);
    cr_assert_not_null(strstr(kf_store_errmsg(tstore.st), "NOBANK"), "%s",
                       kf_store_errmsg(tstore.st));
    cr_assert_eq(q1("SELECT count(*) FROM units WHERE code = 'YX'"), 0);
}

Test(store, register_device_twice_is_eexist)
{
    struct kf_device_reg reg = {
        .device_id = "KF-XH-0001",
        .asset_id = "A-000002",
        .kind = KF_KIND_ITM,
        .zone_id = "Z-XH-001",
    };

    cr_assert_eq(kf_store_register_device(tstore.st, &reg), -EEXIST);
    reg.device_id = "KF-XH-0002";
    reg.zone_id = "Z-NOWHERE";
    cr_assert_eq(kf_store_register_device(tstore.st, &reg), -ENOENT);
    reg.zone_id = "Z-XH-001";
    cr_assert_eq(kf_store_register_device(tstore.st, &reg), 0);
    cr_assert_eq(q1("SELECT count(*) FROM devices"), 2);
    cr_assert_eq(q1("SELECT count(*) FROM assets"), 2);
}

Test(store, registry_snapshot_has_devices_and_keys)
{
    struct kf_registry *reg;
    const struct kf_reg_device *d;
    const struct kf_reg_key *k;
    uint8_t pk[32];

    cr_assert_eq(kf_store_load_registry(tstore.st, &reg), 0);
    cr_assert_eq(kf_store_registry_count(reg), 1);
    d = kf_store_registry_find(reg, "KF-XH-0001");
    cr_assert_not_null(d);
    cr_assert_str_eq(d->asset_id, "A-000001");
    cr_assert_str_eq(d->zone_id, "Z-XH-001");
    cr_assert_eq(d->kind, KF_KIND_KIOSK);
    k = kf_store_registry_key(d, 1);
    cr_assert_not_null(k);
    cr_assert_eq(k->status, KF_KEY_ACTIVE);
    memset(pk, 7, sizeof(pk));
    cr_assert_eq(memcmp(k->pk, pk, sizeof(pk)), 0);
    cr_assert_null(kf_store_registry_key(d, 2));
    cr_assert_null(kf_store_registry_find(reg, "KF-XH-0002"));
    kf_store_registry_unref(reg);
}

Test(store, expire_marks_silent_devices_offline)
{
    struct frame f;
    struct kf_commit_out out;
    uint32_t n = 99;

    records_frame(&f, "KF-XH-0001", 1, 1);
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(kf_store_ingest_expire_online(tstore.st, recv_base, recv_base + 10, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(kf_store_ingest_expire_online(tstore.st, recv_base + 1, recv_base + 20, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(q1("SELECT online FROM devices"), 0);
    cr_assert_eq(q1("SELECT state_since_ms FROM devices"), recv_base + 20);
}

Test(store, reject_names_and_counts)
{
    uint64_t delta[KF_REJECT_COUNT_] = {0};
    struct kf_qtable *t;

    cr_assert_str_eq(kf_store_reject_name(KF_REJECT_UNKNOWN_DEVICE), "unknown_device");
    cr_assert_str_eq(kf_store_reject_name(KF_REJECT_REVOKED), "revoked");
    cr_assert_null(kf_store_reject_name(KF_REJECT_COUNT_));
    delta[KF_REJECT_BAD_SIGNATURE] = 2;
    delta[KF_REJECT_REPLAY] = 1;
    cr_assert_eq(kf_store_ingest_rejects_add(tstore.st, delta), 0);
    cr_assert_eq(kf_store_ingest_rejects_add(tstore.st, delta), 0);
    cr_assert_eq(kf_store_query_rejects(tstore.st, &t), 0);
    cr_assert_eq(t->nrows, KF_REJECT_COUNT_);
    for (size_t i = 0; i < t->nrows; i++)
        cr_assert_str_eq(kf_store_query_table_cell(t, i, 0), kf_store_reject_name((int)i));
    cr_assert_str_eq(kf_store_query_table_cell(t, KF_REJECT_BAD_SIGNATURE, 1), "4");
    cr_assert_str_eq(kf_store_query_table_cell(t, KF_REJECT_REPLAY, 1), "2");
    cr_assert_str_eq(kf_store_query_table_cell(t, KF_REJECT_OVERSIZE, 1), "0");
    kf_store_query_table_free(t);
}

Test(store, usage_query_groups_by_unit_and_family)
{
    struct frame f;
    struct kf_commit_out out;
    struct kf_qtable *t;
    int32_t day = kf_local_day(recv_base);

    records_frame(&f, "KF-XH-0001", 1, 3);
    f.recs[2] = txn(recv_base - 1000, "SB-003", KF_OUTCOME_FAILED, 1000);
    cr_assert_eq(commit1(&f.in, &out), 0);
    /* Every unit and family is a row (test_query.c has the rest of usage's contract). */
    cr_assert_eq(kf_store_query_usage(tstore.st, day, day, "unit", &t), 0);
    cr_assert_eq(t->nrows, 2);
    cr_assert_str_eq(kf_store_query_table_cell(t, 1, 2), "XH");
    cr_assert_str_eq(kf_store_query_table_cell(t, 1, 3), "新华区");
    cr_assert_str_eq(kf_store_query_table_cell(t, 1, 4), "3");
    kf_store_query_table_free(t);
    cr_assert_eq(kf_store_query_usage(tstore.st, day, day, "family", &t), 0);
    cr_assert_eq(t->nrows, 2);
    kf_store_query_table_free(t);
    cr_assert_eq(kf_store_query_usage(tstore.st, day + 1, day + 2, "device", &t), 0);
    cr_assert_eq(t->nrows, 1);
    cr_assert_str_eq(kf_store_query_table_cell(t, 0, 6), "0"); /* from, to, device, ..., total */
    kf_store_query_table_free(t);
    cr_assert_eq(kf_store_query_usage(tstore.st, day, day, "planet", &t), -EINVAL);
}

Test(store, readonly_open_sees_committed_data)
{
    struct frame f;
    struct kf_commit_out out;
    struct kf_store *ro;
    struct kf_qtable *t;
    struct kf_device_reg reg = {
        .device_id = "KF-XH-0009",
        .asset_id = "A-9",
        .kind = KF_KIND_KIOSK,
        .zone_id = "Z-XH-001",
    };

    records_frame(&f, "KF-XH-0001", 1, 2);
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(kf_store_open(tstore.path, KF_STORE_RDONLY, &ro), 0);
    cr_assert_eq(kf_store_query_devices(ro, &t), 0);
    cr_assert_eq(t->nrows, 1);
    kf_store_query_table_free(t);
    cr_assert_lt(kf_store_register_device(ro, &reg), 0);
    kf_store_free(ro);
}

/* One STATE sealed by a clock years ahead must not freeze every later STATE. */
Test(store, state_from_a_clock_far_ahead_does_not_freeze_state)
{
    const int64_t ten_years = 10LL * 365 * 86400 * 1000;

    cr_assert_eq(commit_state("online", recv_base + ten_years, recv_base), 0);
    cr_assert_eq(q1("SELECT online FROM devices"), 1);
    cr_assert_eq(commit_state("offline", recv_base + 400000, recv_base + 400000), 0);
    cr_assert_eq(q1("SELECT online FROM devices"), 0, "later STATE applied");
}

/* Several health samples of one device in one commit, in any frame order: the newest by
 * seq is the one kept as latest. */
Test(store, latest_health_is_the_newest_sample_of_the_commit)
{
    struct frame a, b;
    struct kf_ingest *items[2] = {&b.in, &a.in};
    struct kf_commit_out out[2];

    records_frame(&a, "KF-XH-0001", 1, 2);
    records_frame(&b, "KF-XH-0001", 3, 2);
    a.recs[1] = (struct kf_record){.type = KF_REC_HEALTH, .ts_ms = recv_base - 2000};
    a.recs[1].u.health.cpu_pm = 100;
    a.recs[1].u.health.temp_mc = KF_TEMP_NONE;
    b.recs[0] = (struct kf_record){.type = KF_REC_HEALTH, .ts_ms = recv_base - 1000};
    b.recs[0].u.health.cpu_pm = 300;
    b.recs[0].u.health.temp_mc = KF_TEMP_NONE;
    cr_assert_eq(kf_store_ingest_commit(tstore.st, items, 2, out), 0);
    cr_assert_eq(out[0].acked_seq, 4);
    cr_assert_eq(q1("SELECT cpu_pm FROM health_latest"), 300);
    cr_assert_eq(q1("SELECT seq FROM health_latest"), 3);
    cr_assert_eq(q1("SELECT count(*) FROM records WHERE type = 2"), 2, "both kept as records");
}

/* The auditor's invariant (docs/STORE.md): usage_daily is exactly the aggregation of the
 * transactions, after a group commit mixing devices, days, items, outcomes and a replay. */
Test(store, usage_daily_equals_the_aggregation_of_txns)
{
    struct kf_device_reg reg = {.device_id = "KF-XH-0002",
                                .asset_id = "A-000002",
                                .kind = KF_KIND_ITM,
                                .zone_id = "Z-XH-001"};
    static const char *const items[] = {"HF-001", "SB-003", "HF-001", "HF-001"};
    struct frame f[6];
    struct kf_ingest *in[7];
    struct kf_commit_out out[7];

    memset(reg.pk, 9, sizeof(reg.pk));
    cr_assert_eq(kf_store_register_device(tstore.st, &reg), 0, "%s", kf_store_errmsg(tstore.st));
    for (int i = 0; i < 6; i++) {
        records_frame(&f[i], i % 2 ? "KF-XH-0002" : "KF-XH-0001", 1 + (uint64_t)(i / 2) * 4, 4);
        for (int k = 0; k < 4; k++) {
            /* two local days, three outcomes, repeated items */
            f[i].recs[k] = txn(recv_base - (int64_t)(k % 2) * 86400000 - 1000, items[k],
                               1 + (i + k) % 3, 1000u * (uint32_t)(k + 1));
        }
        in[i] = &f[i].in;
    }
    in[6] = &f[0].in; /* the same frame again in the same commit */
    cr_assert_eq(kf_store_ingest_commit(tstore.st, in, 7, out), 0, "%s",
                 kf_store_errmsg(tstore.st));
    cr_assert_eq(q1("SELECT count(*) FROM txns"), 24);
    assert_usage_equals_txns();
    cr_assert_eq(q1("SELECT sum(ok + failed + abandoned) FROM usage_daily"), 24);
    cr_assert_eq(q1("SELECT sum(ok + failed + abandoned) FROM usage_daily"
                    " WHERE device_id = 'KF-XH-0002'"),
                 12, "per device too");
}

/* A long frame's records and a commit's usage rows go in statements of up to 32 rows
 * (kf__store_multi_*): more rows than one statement holds, in sizes that are not a power of two,
 * partly stored before, and a bad record in the middle of a statement. */
static void long_frame(struct kf_ingest *in, struct kf_record *recs, uint64_t seq, uint32_t n)
{
    memset(in, 0, sizeof(*in));
    in->hdr.kind = KF_MSG_RECORDS;
    snprintf(in->hdr.device_id, sizeof(in->hdr.device_id), "%s", "KF-XH-0001");
    in->hdr.key_epoch = 1;
    in->hdr.seq = seq;
    in->hdr.count = n;
    in->hdr.device_ms = recv_base;
    in->topic = "kf/v1/KF-XH-0001/events";
    in->raw = raw_frame;
    in->raw_len = sizeof(raw_frame);
    in->recv_ms = recv_base;
    in->nrec = n;
    in->recs = recs;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t q = seq + i;
        char item[16];

        snprintf(item, sizeof(item), "IT-%02u", (unsigned)(q % 41));
        /* 41 items on two local days: 82 usage rows */
        recs[i] = txn(recv_base - (int64_t)(q % 2) * 86400000 - 1000, item, 1 + (int)(q % 3),
                      (uint32_t)q);
    }
}

Test(store, long_frames_and_many_usage_rows_take_several_statements)
{
    static struct kf_record ra[100], rb[100], rc[70];
    struct kf_ingest a, b, c;
    struct kf_ingest *in[2] = {&a, &b};
    struct kf_commit_out out[2];

    long_frame(&a, ra, 1, 100);
    long_frame(&b, rb, 51, 100); /* seqs 51..100 again, in the same commit */
    cr_assert_eq(kf_store_ingest_commit(tstore.st, in, 2, out), 0, "%s",
                 kf_store_errmsg(tstore.st));
    cr_assert_eq(out[0].inserted, 100);
    cr_assert_eq(out[1].inserted, 50);
    cr_assert_eq(out[1].duplicates, 50);
    cr_assert_eq(out[1].acked_seq, 150);
    cr_assert_eq(q1("SELECT count(*) FROM records"), 150);
    cr_assert_eq(q1("SELECT count(*) FROM txns WHERE dur_ms = seq AND seq BETWEEN 1 AND 150"), 150,
                 "each record with its own values");
    cr_assert_eq(q1("SELECT count(*) FROM usage_daily"), 82);
    cr_assert_eq(q1("SELECT sum(ok + failed + abandoned) FROM usage_daily"), 150);
    cr_assert_eq(q1("SELECT sum(dur_ms_total) FROM usage_daily"), 150 * 151 / 2);
    assert_usage_equals_txns();

    /* A bad outcome at record 40: the statement holding records 33..64 is abandoned half
     * bound, nothing of the commit stays, and the next commit goes through. */
    long_frame(&c, rc, 151, 70);
    rc[40].u.txn.outcome = 77;
    in[0] = &c;
    cr_assert_lt(kf_store_ingest_commit(tstore.st, in, 1, out), 0);
    cr_assert_eq(q1("SELECT count(*) FROM records"), 150);
    cr_assert_eq(q1("SELECT sum(ok + failed + abandoned) FROM usage_daily"), 150);
    long_frame(&c, rc, 151, 70);
    cr_assert_eq(kf_store_ingest_commit(tstore.st, in, 1, out), 0, "%s",
                 kf_store_errmsg(tstore.st));
    cr_assert_eq(out[0].inserted, 70);
    cr_assert_eq(out[0].acked_seq, 220);
    cr_assert_eq(q1("SELECT count(*) FROM txns WHERE dur_ms = seq"), 220);
    cr_assert_eq(q1("SELECT sum(ok + failed + abandoned) FROM usage_daily"), 220);
}

/* Upgrading an existing database asks the service manager for more start time while the
 * migration runs (a table rebuilt as big as it is), and the rebuilt usage equals the txns. */
Test(store, migration_asks_the_service_manager_for_time)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    sqlite3 *w;
    char buf[128];
    ssize_t n;
    int fd;

    kf_store_free(tstore.st);
    tstore.st = NULL;
    /* Back to schema 7: without v14's, v13's, v12's, v11's, v10's and v9's tables and v9's column,
     * with the day index v8 drops, and enough txns to take a while. */
    cr_assert_eq(sqlite3_open(tstore.path, &w), SQLITE_OK);
    kf_test_store_drop_period_stamps(w);
    /* Terminal states as the engine wrote them before v23 (JSON only), for its back-fill: one
     * with two critical faults on the screen, a device-wide one and a major one; one offline
     * in maintenance; one that does not parse (left at zeros, the migration goes on). */
    {
        struct kf_devstate d;
        char *j1, *j2, sql[1400];

        kf_devstate_init(&d);
        d.at_ms = 1;
        d.online = 1;
        d.unusable = (1u << KF_PERIPH_A4_PRINTER) | (1u << KF_PERIPH_CAMERA);
        d.n_faults = 4;
        for (int i = 0; i < 4; i++) {
            snprintf(d.faults[i].code, sizeof(d.faults[i].code), "F-%d", i);
            d.faults[i].sev = i == 3 ? KF_SEV_MAJOR : KF_SEV_CRITICAL;
            d.faults[i].periph = i == 2 ? 0 : i == 3 ? KF_PERIPH_PIN_PAD : KF_PERIPH_SCREEN;
        }
        j1 = kf_store_sla_devstate_to_json(&d);
        kf_devstate_init(&d);
        d.maint = 1;
        snprintf(d.maint_who, sizeof(d.maint_who), "T-1");
        j2 = kf_store_sla_devstate_to_json(&d);
        cr_assert(j1 && j2);
        snprintf(sql, sizeof(sql),
                 "ALTER TABLE sla_terminal_state DROP COLUMN online;"
                 " ALTER TABLE sla_terminal_state DROP COLUMN maint;"
                 " ALTER TABLE sla_terminal_state DROP COLUMN unusable;"
                 " ALTER TABLE sla_terminal_state DROP COLUMN crit;"
                 " INSERT INTO assets(asset_id, kind, zone_id, created_ms) VALUES"
                 " ('A-000002', 1, 'Z-XH-001', 0), ('A-000003', 1, 'Z-XH-001', 0);"
                 " INSERT INTO sla_terminal_state(asset_id, device_id, at_ms, state) VALUES"
                 " ('A-000001', 'KF-XH-0001', 1, '%s'), ('A-000002', 'X', 0, '%s'),"
                 " ('A-000003', 'X', 0, 'not json')",
                 j1, j2);
        free(j1);
        free(j2);
        cr_assert_eq(sqlite3_exec(w, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(w));
    }
    cr_assert_eq(
        sqlite3_exec(w,
                     "DROP TABLE artifact_chunks; DROP TABLE artifacts;"
                     " DROP TABLE blob_chunks; DROP TABLE blobs;"
                     " DROP TABLE inventory_changes; DROP TABLE inventory;"
                     " DROP TABLE device_days; DROP TABLE cmd_devices; DROP TABLE commands;"
                     " DROP TABLE rollouts; DROP TABLE cmd_requests;"
                     " DROP TABLE api_tokens; DROP TABLE users;"
                     " DROP TABLE report_docs; DROP TABLE rubric_versions;"
                     " DROP TABLE zone_decisions;"
                     " DROP TABLE usage_monthly; DROP TABLE usage_yearly;"
                     " DROP TABLE bill_answers; DROP TABLE bill_disputes;"
                     " DROP TABLE bill_adjustments; DROP TABLE bill_docs;"
                     " DROP TABLE bill_numbers; DROP TABLE billing_settings;"
                     " DROP TABLE asset_service; DROP TABLE contract_versions;"
                     " DROP TABLE seq_conflicts; DROP TABLE app_duplicates;"
                     " DROP INDEX records_app_id; DROP VIEW txns;"
                     " ALTER TABLE records DROP COLUMN app_id;"
                     " CREATE VIEW txns AS SELECT device_id, seq, asset_id, zone_id,"
                     " item, outcome, effective_ms AS start_ms, dur_ms, day FROM records"
                     " WHERE type = 1; DELETE FROM reject_counts WHERE reason = 'conflict';"
                     " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                     " WHERE i < 20000) INSERT INTO records(envelope_id, seq, device_id,"
                     " type, device_ts_ms, effective_ms, recv_ms, flags, asset_id,"
                     " zone_id, item, outcome, dur_ms, day) SELECT i, i, 'KF-XH-0001',"
                     " 1, 0, 0, 0, 0, 'A-000001', 'Z-XH-001', 'HF-001', 'ok', 1000,"
                     " 20000 + i % 7 FROM n;"
                     " CREATE INDEX records_txn_day ON records(day) WHERE type = 1;"
                     " ALTER TABLE sla_actions DROP COLUMN flags;"
                     " ALTER TABLE sla_incidents DROP COLUMN forced;"
                     " ALTER TABLE sla_incidents DROP COLUMN assignee;"
                     " ALTER TABLE sla_events DROP COLUMN assignee;"
                     " ALTER TABLE sla_actions DROP COLUMN assignee;"
                     " PRAGMA user_version = 7",
                     NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(w));
    sqlite3_close(w);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", tstore.dir);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    cr_assert_eq(kf_store_open(tstore.path, 0, &tstore.st), 0, "%s",
                 tstore.st ? kf_store_errmsg(tstore.st) : "");
    unsetenv("NOTIFY_SOCKET");
    n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    close(fd);
    unlink(sa.sun_path);
    cr_assert_gt(n, 0, "no notification during the migration");
    buf[n] = '\0';
    cr_assert_str_eq(buf, "EXTEND_TIMEOUT_USEC=30000000");
    {
        struct kf_store_info info;

        cr_assert_eq(kf_store_inspect(tstore.path, &info), 0);
        cr_assert_eq(q1("PRAGMA user_version"), info.schema_current,
                     "migrated to this program's schema");
    }
    /* v17 built device_days from the records: one device, 7 days */
    cr_assert_eq(q1("SELECT count(*) FROM device_days"), 1);
    cr_assert_eq(q1("SELECT count(*) FROM sqlite_master WHERE name = 'records_txn_day'"), 0);
    cr_assert_eq(q1("SELECT count(*) FROM reject_counts WHERE reason = 'conflict'"), 1);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily WHERE device_id = 'KF-XH-0001'"), 20000);
    /* v12's rollups, built from the usage v8 rebuilt: days 20000 .. 20006 are in October 2024. */
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_monthly WHERE month = 202410"), 20000);
    cr_assert_eq(q1("SELECT count(*) FROM usage_yearly"), 1);
    /* v22's period stamps: a row per month of 2000 .. 2099 and one before them; the usage v8
     * rebuilt was written before v22's triggers, so no month has moved yet. */
    cr_assert_eq(q1("SELECT count(*) FROM period_stamps"), 1201);
    cr_assert_eq(q1("SELECT sum(gen) + sum(onward) FROM period_stamps"), 0);
    /* v23 filled the state's columns from its JSON: crit the OR of the critical faults'
     * peripherals (bit 0 device-wide, the screen's bit once), not the major one's. */
    {
        char sql[200];

        snprintf(sql, sizeof(sql),
                 "SELECT online = 1 AND maint = 0 AND unusable = %u AND crit = 3"
                 " FROM sla_terminal_state WHERE asset_id = 'A-000001'",
                 (1u << KF_PERIPH_A4_PRINTER) | (1u << KF_PERIPH_CAMERA));
        cr_assert_eq(q1(sql), 1);
    }
    cr_assert_eq(q1("SELECT online = 0 AND maint = 1 AND unusable = 0 AND crit = 0"
                    " FROM sla_terminal_state WHERE asset_id = 'A-000002'"),
                 1);
    cr_assert_eq(q1("SELECT online + maint + unusable + crit FROM sla_terminal_state"
                    " WHERE asset_id = 'A-000003'"),
                 0, "a state that does not parse keeps zeros");
}

/* ---- quarantine (store/quarantine.h) ---- */

struct taken {
    int n;
    int64_t id;
    size_t raw_len;
    char topic[64];
};

static int take_cb(void *ud, const struct kf_quarantined *q, const char *topic, const uint8_t *raw,
                   size_t raw_len)
{
    struct taken *t = ud;

    (void)raw;
    t->n++;
    t->id = q->id;
    t->raw_len = raw_len;
    snprintf(t->topic, sizeof(t->topic), "%s", topic);
    return 0;
}

static int count_cb(void *ud, const struct kf_quarantined *q, const char *topic, const uint8_t *raw,
                    size_t raw_len)
{
    (void)q;
    (void)topic;
    (void)raw;
    (void)raw_len;
    (*(int *)ud)++;
    return 0;
}

Test(store, quarantine_acks_over_the_frame_and_a_replay_commits_it)
{
    struct frame f1, f2, f3;
    struct kf_commit_out out = {0};
    struct taken t = {0};
    uint32_t n = 0;
    int held = 0;

    /* seqs 1-2 stored; 3-5 refused and quarantined; 6-7 stored past it */
    records_frame(&f1, "KF-XH-0001", 1, 2);
    cr_assert_eq(commit1(&f1.in, &out), 0);
    cr_assert_eq(out.acked_seq, 2);
    records_frame(&f3, "KF-XH-0001", 6, 2);
    cr_assert_eq(commit1(&f3.in, &out), 0);
    cr_assert_eq(out.acked_seq, 2, "a gap at 3: the mark cannot pass it");
    records_frame(&f2, "KF-XH-0001", 3, 3);
    cr_assert_eq(kf_store_quarantine(tstore.st, &f2.in, "EINVAL: test", recv_base + 1, &out), 0);
    cr_assert_eq(out.quarantined, 1);
    cr_assert_eq(out.acked_seq, 7, "the mark moves over the quarantined frame and on");
    cr_assert_eq(q1("SELECT acked_seq FROM devices WHERE device_id = 'KF-XH-0001'"), 7);
    cr_assert_eq(q1("SELECT count(*) FROM records WHERE seq BETWEEN 3 AND 5"), 0);
    /* The device resends it: one row, the newest reason. */
    cr_assert_eq(kf_store_quarantine(tstore.st, &f2.in, "EINVAL: again", recv_base + 2, &out), 0);
    cr_assert_eq(q1("SELECT count(*) FROM quarantine"), 1);
    cr_assert_eq(kf_store_quarantine_each(tstore.st, 1, count_cb, &held), 0);
    cr_assert_eq(held, 1);

    /* Nothing is handed back until asked. */
    cr_assert_eq(kf_store_quarantine_take(tstore.st, 10, take_cb, &t), 0);
    cr_assert_eq(t.n, 0);
    cr_assert_eq(kf_store_quarantine_request(tstore.st, 0, recv_base + 3, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(kf_store_quarantine_take(tstore.st, 10, take_cb, &t), 0);
    cr_assert_eq(t.n, 1);
    cr_assert_eq(t.raw_len, sizeof(raw_frame));
    cr_assert_str_eq(t.topic, "kf/v1/KF-XH-0001/events");
    cr_assert_eq(q1("SELECT attempts FROM quarantine"), 1);
    cr_assert_eq(kf_store_quarantine_take(tstore.st, 10, take_cb, &t), 0);
    cr_assert_eq(t.n, 1, "taken once per request");

    /* The replay commits below the mark (a received frame there would be a replay) and
     * releases the row; the mark stays. */
    f2.in.quarantine_id = t.id;
    cr_assert_eq(commit1(&f2.in, &out), 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_eq(out.replay, 0);
    cr_assert_eq(out.inserted, 3);
    cr_assert_eq(out.acked_seq, 7);
    cr_assert_eq(q1("SELECT count(*) FROM records WHERE seq BETWEEN 3 AND 5"), 3);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily"), 7);
    cr_assert_eq(q1("SELECT count(*) FROM quarantine WHERE released_ms IS NOT NULL"), 1);
    held = 0;
    cr_assert_eq(kf_store_quarantine_each(tstore.st, 1, count_cb, &held), 0);
    cr_assert_eq(held, 0);
    cr_assert_eq(kf_store_quarantine_request(tstore.st, 0, recv_base + 4, &n), 0);
    cr_assert_eq(n, 0, "a released row cannot be asked for again");
}

/* ---- the checkpoint thread (store/sqlite/ckpt.c) ---- */

Test(store, checkpoints_run_beside_the_commits)
{
    struct stat sb;
    off_t before;
    int i;

    cr_assert_eq(kf_store_checkpointer_start(tstore.st), 0);
    cr_assert_eq(kf_store_checkpointer_start(tstore.st), -EINVAL, "one checkpointer per store");
    cr_assert_eq(stat(tstore.path, &sb), 0);
    before = sb.st_size;
    /* Past 1000 pages of WAL: commits only append, the thread copies them back. */
    for (uint64_t seq = 1; seq <= 32 * 400; seq += 32) {
        struct frame f;
        struct kf_commit_out out;

        records_frame(&f, "KF-XH-0001", seq, 32);
        cr_assert_eq(commit1(&f.in, &out), 0, "%s", kf_store_errmsg(tstore.st));
    }
    for (i = 0; i < 50; i++) {
        cr_assert_eq(stat(tstore.path, &sb), 0);
        if (sb.st_size > before)
            break;
        usleep(100 * 1000);
    }
    cr_assert_gt(sb.st_size, before, "the database file never grew: no checkpoint ran");
    cr_assert_eq(q1("SELECT count(*) FROM records"), 32 * 400);
    /* kf_store_free (teardown) stops and joins the thread. */
}

/* The mark can jump over a held quarantine row into the middle of a stored envelope that
 * ends past it (found in review): the walk must then look behind the mark, or it stops
 * inside that envelope and a resend of its tail is stored a second time. */
Test(store, a_jump_over_quarantine_into_an_envelope_goes_on_to_its_end)
{
    struct frame a, q, e, f, r;
    struct kf_commit_out out = {0};

    records_frame(&a, "KF-XH-0001", 1, 5);
    cr_assert_eq(commit1(&a.in, &out), 0);
    records_frame(&q, "KF-XH-0001", 11, 10); /* held, past the hole at 6-10 */
    cr_assert_eq(kf_store_quarantine(tstore.st, &q.in, "EINVAL: test", recv_base + 1, &out), 0);
    records_frame(&e, "KF-XH-0001", 15, 16); /* resent with other boundaries: 15-30 */
    cr_assert_eq(commit1(&e.in, &out), 0);
    records_frame(&f, "KF-XH-0001", 6, 5); /* fills the hole: 6-10, then 11-20 held, 15-30 */
    cr_assert_eq(commit1(&f.in, &out), 0);
    cr_assert_eq(out.acked_seq, 30);
    records_frame(&r, "KF-XH-0001", 21, 10); /* the tail resent (its ACK was lost) */
    cr_assert_eq(commit1(&r.in, &out), 0);
    cr_assert_eq(out.inserted, 0);
    cr_assert_eq(q1("SELECT count(*) FROM (SELECT 1 FROM records GROUP BY device_id, seq"
                    " HAVING count(*) > 1)"),
                 0);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily"), 26); /* 1-10, 15-30 */
}

/* One kioskd per store: the writer lock is held for the connection's life, names its
 * holder, and is free again once the connection is closed. */
Test(store, writer_lock_admits_one_writer)
{
    struct kf_store *w1 = NULL, *w2 = NULL;

    cr_assert_eq(kf_store_writer_pid(tstore.path), 0);
    cr_assert_eq(kf_store_open(tstore.path, KF_STORE_WRITER | KF_STORE_NOCREATE, &w1), 0);
    cr_assert_eq(kf_store_writer_pid(tstore.path), (long)getpid());
    cr_assert_eq(kf_store_open(tstore.path, KF_STORE_WRITER | KF_STORE_NOCREATE, &w2), -EBUSY);
    cr_assert_null(w2);
    /* Readers and other (non-kioskd) writers are not kept out. */
    cr_assert_eq(kf_store_open(tstore.path, KF_STORE_RDONLY, &w2), 0);
    kf_store_free(w2);
    kf_store_free(w1);
    cr_assert_eq(kf_store_writer_pid(tstore.path), 0);
    cr_assert_eq(kf_store_open(tstore.path, KF_STORE_WRITER, &w1), 0);
    kf_store_free(w1);
}

/* Only `kiosk-provision init` creates a store: a mistyped path, or a file that was never
 * initialised, is -ENOENT and nothing is created. */
Test(store, nocreate_refuses_what_is_not_a_store)
{
    struct kf_store *s = NULL;
    struct kf_store_info in;
    char path[160];
    FILE *f;

    snprintf(path, sizeof(path), "%s/mistyped.db", tstore.dir);
    cr_assert_eq(kf_store_open(path, KF_STORE_NOCREATE, &s), -ENOENT);
    cr_assert_neq(access(path, F_OK), 0, "a store was created at %s", path);
    cr_assert_eq(kf_store_inspect(path, &in), -ENOENT);
    snprintf(path, sizeof(path), "%s/nodir/kioskd.db", tstore.dir);
    cr_assert_eq(kf_store_open(path, KF_STORE_NOCREATE | KF_STORE_WRITER, &s), -ENOENT);
    snprintf(path, sizeof(path), "%s/empty.db", tstore.dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(kf_store_open(path, KF_STORE_NOCREATE, &s), -ENOENT);
    cr_assert_eq(kf_store_inspect(path, &in), -ENOENT);
    /* The fixture store: its schema and deployment, read without writing. */
    cr_assert_eq(kf_store_inspect(tstore.path, &in), 0);
    cr_assert_eq(in.schema, in.schema_current);
    cr_assert_gt(in.units, 0);
    cr_assert_gt(in.zones, 0);
    cr_assert_gt(in.items, 0);
    cr_assert_eq(in.devices, 1);
}
