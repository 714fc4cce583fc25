/* What a device sends twice, differently: a stored seq sent again with another record (a
 * conflict: refused, kept as evidence) and a record that repeats an application id (kept,
 * counted nowhere). Over real signed frames, so that the audit can re-verify the result. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/envelope.h>
#include <kf/record.h>
#include <kf/time.h>

#include "kf_test_store.h"
#include "store/audit.h"
#include "store/conflict.h"
#include "store/ingest.h"
#include "store/store.h"

#define DEV "KF-XH-0001"
#define TOPIC "kf/v1/KF-XH-0001/events"

static struct kf_test_store tstore;
static uint8_t pk[32], sk[64];
static int64_t t0;

static void setup(void)
{
    struct kf_device_reg reg = {
        .device_id = DEV,
        .asset_id = "A-000001",
        .kind = KF_KIND_KIOSK,
        .zone_id = "Z-XH-001",
        .lease_ref = "L-1",
    };

    cr_assert_eq(sodium_init() >= 0, 1);
    kf_test_store_open(&tstore, "kf-test-conflict", KF_TEST_FIXTURES_SMALL);
    crypto_sign_keypair(pk, sk);
    memcpy(reg.pk, pk, sizeof(pk));
    cr_assert_eq(kf_store_register_device(tstore.st, &reg), 0, "%s", kf_store_errmsg(tstore.st));
    t0 = kf_now_ms() - 3600 * 1000;
}

static void teardown(void)
{
    kf_test_store_close(&tstore);
}

TestSuite(conflict, .init = setup, .fini = teardown);

static int64_t q1(const char *sql)
{
    return kf_test_store_q1(&tstore, sql);
}

/* A signed RECORDS frame of n records from seq, uncompressed, as the pipeline hands it over. */
struct frame {
    struct kf_ingest in;
    struct kf_record recs[16];
    uint8_t raw[KF_ENV_MAX_BYTES];
};

/* Record seq's txn; variant changes its outcome, app its application id ("" for none). */
static struct kf_record txn(uint64_t seq, int variant, const char *app)
{
    struct kf_record r = {.type = KF_REC_TXN, .ts_ms = t0 + (int64_t)seq * 1000};

    snprintf(r.u.txn.item, sizeof(r.u.txn.item), "HF-001");
    r.u.txn.outcome = variant ? KF_OUTCOME_FAILED : KF_OUTCOME_OK;
    r.u.txn.dur_ms = 1000;
    snprintf(r.app_id, sizeof(r.app_id), "%s", app);
    return r;
}

/* Seal f's records (already in f->recs) as the frame seq..seq+n-1. */
static void seal(struct frame *f, uint64_t seq, uint32_t n)
{
    char body[16 * (KF_RECORD_JSON_MAX + 1) + 2];
    size_t off = 0, len;

    cr_assert(n <= 16);
    body[off++] = '[';
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            body[off++] = ',';
        cr_assert_eq(kf_record_format(&f->recs[i], body + off, sizeof(body) - off, &len), 0);
        off += len;
    }
    body[off++] = ']';
    memset(&f->in, 0, sizeof(f->in));
    f->in.hdr.kind = KF_MSG_RECORDS;
    snprintf(f->in.hdr.device_id, sizeof(f->in.hdr.device_id), "%s", DEV);
    f->in.hdr.key_epoch = 1;
    f->in.hdr.seq = seq;
    f->in.hdr.count = n;
    f->in.hdr.device_ms = kf_now_ms();
    cr_assert_eq(kf_env_seal(&f->in.hdr, TOPIC, (const uint8_t *)body, off, sk, f->raw,
                             sizeof(f->raw), &f->in.raw_len),
                 0);
    f->in.raw = f->raw;
    f->in.topic = TOPIC;
    f->in.recv_ms = f->in.hdr.device_ms;
    f->in.nrec = n;
    f->in.recs = f->recs;
}

/* The frame seq..seq+n-1 of txns; the one at bad (0: none) in its other variant. */
static void txns(struct frame *f, uint64_t seq, uint32_t n, uint64_t bad)
{
    for (uint32_t i = 0; i < n; i++)
        f->recs[i] = txn(seq + i, seq + i == bad, "");
    seal(f, seq, n);
}

static struct kf_commit_out commit(struct frame *f)
{
    struct kf_ingest *items[1] = {&f->in};
    struct kf_commit_out out;

    memset(&out, 0, sizeof(out));
    cr_assert_eq(kf_store_ingest_commit(tstore.st, items, 1, &out), 0, "%s",
                 kf_store_errmsg(tstore.st));
    return out;
}

static void assert_audit_clean(void)
{
    struct kf_audit a;

    cr_assert_eq(kf_store_audit(tstore.st, &a), 0);
    cr_assert(kf_store_audit_clean(&a), "audit: %s", a.first_problem);
}

struct shown {
    int n, differs;
    uint64_t first_differing;
    char stored[KF_RECORD_JSON_MAX + 1], received[KF_RECORD_JSON_MAX + 1];
};

static int show_cb(void *ud, const struct kf_seq_conflict *c, uint64_t seq, const char *stored,
                   const char *received, int differs)
{
    struct shown *s = ud;
    (void)c;

    s->n++;
    if (differs && s->differs++ == 0) {
        s->first_differing = seq;
        snprintf(s->stored, sizeof(s->stored), "%s", stored);
        snprintf(s->received, sizeof(s->received), "%s", received);
    }
    return 0;
}

static struct frame f; /* large: not on the stack */

Test(conflict, other_records_under_stored_seqs_are_refused_and_kept)
{
    struct kf_commit_out out;
    struct kf_seq_conflict *c = NULL;
    struct shown shown = {0};
    size_t n = 0;

    txns(&f, 1, 5, 0);
    out = commit(&f);
    cr_assert_eq(out.inserted, 5);
    /* 4..8: 4 and 5 are stored, 5 differs; 6..8 are new but come with it. */
    txns(&f, 4, 5, 5);
    out = commit(&f);
    cr_assert_eq(out.conflict, 1);
    cr_assert_eq(out.replay, 0);
    cr_assert_eq(out.inserted, 0);
    cr_assert_eq(out.acked_seq, 5);
    cr_assert_eq(q1("SELECT count(*) FROM records"), 5);
    cr_assert_eq(q1("SELECT count(*) FROM envelopes"), 1);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily"), 5);
    cr_assert_eq(q1("SELECT conflict_seq FROM seq_conflicts"), 5);
    cr_assert_eq(q1("SELECT length(raw) FROM seq_conflicts"), (int64_t)f.in.raw_len);

    cr_assert_eq(kf_store_conflicts(tstore.st, NULL, &c, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(c[0].device_id, DEV);
    cr_assert_eq(c[0].seq_first, 4);
    cr_assert_eq(c[0].count, 5);
    cr_assert_eq(c[0].conflict_seq, 5);
    cr_assert_eq(c[0].stored_envelope_id, 1);
    cr_assert_gt(c[0].stored_recv_ms, 0);
    cr_assert_eq(kf_store_conflict_show(tstore.st, c[0].id, show_cb, &shown), 0);
    cr_assert_eq(shown.n, 2); /* 4 and 5: what the stored frame holds */
    cr_assert_eq(shown.differs, 1);
    cr_assert_eq(shown.first_differing, 5);
    cr_assert(strstr(shown.stored, "\"outcome\":\"ok\""), "%s", shown.stored);
    cr_assert(strstr(shown.received, "\"outcome\":\"failed\""), "%s", shown.received);
    cr_assert_eq(kf_store_conflict_show(tstore.st, c[0].id + 1, show_cb, &shown), -ENOENT);
    free(c);

    /* The same frame as stored is still a replay; the device goes on. */
    txns(&f, 1, 5, 0);
    out = commit(&f);
    cr_assert_eq(out.replay, 1);
    cr_assert_eq(out.conflict, 0);
    txns(&f, 6, 3, 0);
    out = commit(&f);
    cr_assert_eq(out.inserted, 3);
    cr_assert_eq(out.acked_seq, 8);
    assert_audit_clean();
}

Test(conflict, below_the_mark_too)
{
    struct kf_commit_out out;

    txns(&f, 1, 5, 0);
    commit(&f);
    txns(&f, 6, 5, 0);
    commit(&f);
    /* Entirely below the mark, with seq 7 different: once a replay without a look. */
    txns(&f, 6, 3, 7);
    out = commit(&f);
    cr_assert_eq(out.conflict, 1);
    cr_assert_eq(out.acked_seq, 10);
    cr_assert_eq(q1("SELECT conflict_seq FROM seq_conflicts"), 7);
    cr_assert_eq(q1("SELECT stored_envelope_id FROM seq_conflicts"), 2);
    /* Spanning both stored frames, same records: a replay. */
    txns(&f, 3, 6, 0);
    out = commit(&f);
    cr_assert_eq(out.replay, 1);
    cr_assert_eq(q1("SELECT count(*) FROM seq_conflicts"), 1);
    cr_assert_eq(q1("SELECT seq_first FROM seq_conflicts"), 6);
    assert_audit_clean();
}

Test(conflict, a_repeated_application_id_is_kept_and_counted_nowhere)
{
    static const char *const ids[] = {"J-1", "J-2", "J-3"};
    struct kf_commit_out out;
    struct kf_app_duplicate *d = NULL;
    struct kf_app_record *a = NULL;
    size_t n = 0;

    for (uint32_t i = 0; i < 3; i++)
        f.recs[i] = txn(1 + i, 0, ids[i]);
    seal(&f, 1, 3);
    out = commit(&f);
    cr_assert_eq(out.inserted, 3);
    cr_assert_eq(out.app_repeats, 0);
    /* J-3 again (the app resent a line to an agent that had lost its outbox), J-4 twice in
     * one frame, and a record without an id. */
    f.recs[0] = txn(4, 0, "J-3");
    f.recs[1] = txn(5, 0, "J-4");
    f.recs[2] = txn(6, 0, "J-4");
    f.recs[3] = txn(7, 0, "");
    seal(&f, 4, 4);
    out = commit(&f);
    cr_assert_eq(out.inserted, 4);
    cr_assert_eq(out.app_repeats, 2);
    cr_assert_eq(out.acked_seq, 7);
    cr_assert_eq(q1("SELECT count(*) FROM records"), 7);
    cr_assert_eq(q1("SELECT count(*) FROM txns"), 5);
    cr_assert_eq(q1("SELECT sum(ok) FROM usage_daily"), 5);
    cr_assert_eq(q1("SELECT count(*) FROM records WHERE app_id IS NOT NULL"), 4);

    cr_assert_eq(kf_store_app_duplicates(tstore.st, DEV, &d, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(d[0].seq, 4);
    cr_assert_str_eq(d[0].app_id, "J-3");
    cr_assert_eq(d[0].first_seq, 3);
    cr_assert_eq(d[1].seq, 6);
    cr_assert_eq(d[1].first_seq, 5);
    free(d);
    cr_assert_eq(kf_store_app_records(tstore.st, DEV, &a, &n), 0);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(a[2].app_id, "J-3");
    cr_assert_eq(a[2].seq, 3);
    cr_assert_eq(a[2].repeats, 1);
    cr_assert_str_eq(a[2].item, "HF-001");
    cr_assert_str_eq(a[2].outcome, "ok");
    cr_assert_eq(a[0].repeats, 0);
    free(a);
    assert_audit_clean();

    /* The audit catches a counted record turned into a repeat in the database. */
    {
        sqlite3 *w;
        struct kf_audit au;

        cr_assert_eq(sqlite3_open(tstore.path, &w), SQLITE_OK);
        cr_assert_eq(sqlite3_exec(w,
                                  "UPDATE records SET flags = flags | 256, app_id = NULL"
                                  " WHERE seq = 2",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
        sqlite3_close(w);
        cr_assert_eq(kf_store_audit(tstore.st, &au), 0);
        cr_assert_eq(au.record_mismatches, 1);
    }
}
