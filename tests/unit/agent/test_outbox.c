/* test_outbox.c: the agent's durable outbox (agent/core/outbox.c) on real SQLite files. */
#include <criterion/criterion.h>
#include "kf_test.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <kf/record.h>

#include "core/outbox.h"

static char tmp_dir[256];
static char ob_path[300];

static void tmp_setup(void)
{
    kf_test_tmpdir("kf-test-outbox", tmp_dir, sizeof(tmp_dir));
    snprintf(ob_path, sizeof(ob_path), "%s/outbox.db", tmp_dir);
}

static void tmp_cleanup(void)
{
    kf_test_rmtree(tmp_dir);
}

TestSuite(outbox, .init = tmp_setup, .fini = tmp_cleanup);

static struct kf_outbox *open_ob(const struct kf_outbox_limits *lim)
{
    struct kf_outbox *ob = NULL;
    int r = kf_outbox_open(ob_path, lim, &ob);

    cr_assert_eq(r, 0, "open: %d", r);
    cr_assert_not_null(ob);
    return ob;
}

/* A txn record whose JSON is exactly TXN_LEN bytes for n < 1000. */
#define TXN_LEN 42
static size_t txn_json(char *buf, size_t cap, int n)
{
    int len = snprintf(buf, cap, "{\"t\":\"txn\",\"ts\":%03d,\"item\":\"HF-001\",\"x\":1}", n);

    cr_assert(len > 0 && (size_t)len < cap);
    cr_assert_eq(len, TXN_LEN);
    return (size_t)len;
}

static uint64_t append_txn(struct kf_outbox *ob, int n)
{
    char buf[128];
    size_t len = txn_json(buf, sizeof(buf), n);
    uint64_t seq = 0;
    int r = kf_outbox_append(ob, KF_REC_TXN, 1000 + n, buf, len, &seq);

    cr_assert_eq(r, 0, "append txn %d: %d", n, r);
    return seq;
}

static const char health_json[] = "{\"t\":\"health\",\"ts\":1,\"cpu_pm\":1}";

static int append_health(struct kf_outbox *ob, uint64_t *ret_seq)
{
    return kf_outbox_append(ob, KF_REC_HEALTH, 1, health_json, strlen(health_json), ret_seq);
}

struct seen {
    uint32_t n;
    uint64_t seq[64];
    int type[64];
    int64_t ts[64];
    char json[64][128];
    int stop_after; /* 0: never */
};

static int collect(void *ud, const struct kf_outbox_rec *rec)
{
    struct seen *s = ud;

    cr_assert_lt(s->n, 64);
    cr_assert_lt(rec->json_len, sizeof(s->json[0]));
    s->seq[s->n] = rec->seq;
    s->type[s->n] = rec->type;
    s->ts[s->n] = rec->ts_ms;
    memcpy(s->json[s->n], rec->json, rec->json_len);
    s->json[s->n][rec->json_len] = '\0';
    s->n++;
    if (s->stop_after > 0 && s->n == (uint32_t)s->stop_after)
        return 7;
    return 0;
}

static struct kf_outbox_stats stats_of(struct kf_outbox *ob)
{
    struct kf_outbox_stats st;

    cr_assert_eq(kf_outbox_stats(ob, &st), 0);
    return st;
}

Test(outbox, keeps_records_until_acked)
{
    struct kf_outbox *ob = open_ob(NULL);
    struct seen s = {0};
    uint32_t n = 0;
    char want[128];

    cr_assert_eq(append_txn(ob, 1), 1);
    cr_assert_eq(append_txn(ob, 2), 2);
    cr_assert_eq(append_txn(ob, 3), 3);
    kf_outbox_free(ob);

    ob = open_ob(NULL);
    cr_assert_eq(kf_outbox_peek(ob, 1, 100, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(s.n, 3);
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(s.seq[i], i + 1);
        cr_assert_eq(s.type[i], KF_REC_TXN);
        cr_assert_eq(s.ts[i], 1000 + (int64_t)i + 1);
        txn_json(want, sizeof(want), (int)i + 1);
        cr_assert_str_eq(s.json[i], want);
    }

    cr_assert_eq(kf_outbox_ack(ob, 2), 0);
    kf_outbox_free(ob);
    ob = open_ob(NULL);
    memset(&s, 0, sizeof(s));
    cr_assert_eq(kf_outbox_peek(ob, 0, 100, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(s.seq[0], 3);
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.records, 1);
    cr_assert_eq(st.acked_seq, 2);
    cr_assert_eq(st.next_seq, 4);
    cr_assert_eq(st.bytes, TXN_LEN);
    kf_outbox_free(ob);
}

Test(outbox, seqs_monotonic_across_reopen)
{
    struct kf_outbox *ob = open_ob(NULL);

    for (int i = 1; i <= 5; i++)
        cr_assert_eq(append_txn(ob, i), (uint64_t)i);
    cr_assert_eq(kf_outbox_ack(ob, 5), 0);
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.records, 0);
    cr_assert_eq(st.bytes, 0);
    kf_outbox_free(ob);

    /* Everything was deleted by the ack; the next seq must still not be reused. */
    ob = open_ob(NULL);
    st = stats_of(ob);
    cr_assert_eq(st.next_seq, 6);
    cr_assert_eq(st.acked_seq, 5);
    cr_assert_eq(append_txn(ob, 6), 6);
    kf_outbox_free(ob);

    ob = open_ob(NULL);
    cr_assert_eq(append_txn(ob, 7), 7);
    st = stats_of(ob);
    cr_assert_eq(st.next_seq, 8);
    cr_assert_eq(st.records, 2);
    kf_outbox_free(ob);
}

Test(outbox, ack_deletes_only_up_to_hwm)
{
    struct kf_outbox *ob = open_ob(NULL);
    struct seen s = {0};
    uint32_t n = 0;

    for (int i = 1; i <= 10; i++) {
        if (i % 3 == 0) {
            uint64_t seq = 0;
            cr_assert_eq(append_health(ob, &seq), 0);
            cr_assert_eq(seq, (uint64_t)i);
        } else {
            cr_assert_eq(append_txn(ob, i), (uint64_t)i);
        }
    }
    /* seqs 3, 6, 9 are health samples. */
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.records, 10);
    cr_assert_eq(st.health, 3);
    cr_assert_eq(st.bytes, 7 * TXN_LEN + 3 * strlen(health_json));

    cr_assert_eq(kf_outbox_ack(ob, 4), 0);
    st = stats_of(ob);
    cr_assert_eq(st.records, 6);
    cr_assert_eq(st.acked_seq, 4);
    cr_assert_eq(st.health, 2);
    cr_assert_eq(st.bytes, 4 * TXN_LEN + 2 * strlen(health_json));

    /* A lower or repeated hwm is ignored. */
    cr_assert_eq(kf_outbox_ack(ob, 2), 0);
    cr_assert_eq(kf_outbox_ack(ob, 4), 0);
    cr_assert_eq(stats_of(ob).records, 6);

    cr_assert_eq(kf_outbox_peek(ob, 0, 100, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 6);
    for (uint32_t i = 0; i < 6; i++)
        cr_assert_eq(s.seq[i], 5 + i);
    kf_outbox_free(ob);
}

Test(outbox, ack_past_next_seq_refused)
{
    struct kf_outbox *ob = open_ob(NULL);
    struct seen s = {0};
    uint32_t n = 0;

    for (int i = 1; i <= 3; i++)
        append_txn(ob, i);
    cr_assert_eq(kf_outbox_ack(ob, 4), -ERANGE);
    cr_assert_eq(kf_outbox_ack(ob, UINT64_MAX), -ERANGE);
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.records, 3);
    cr_assert_eq(st.acked_seq, 0);
    kf_outbox_free(ob);

    ob = open_ob(NULL);
    cr_assert_eq(kf_outbox_peek(ob, 1, 100, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(kf_outbox_ack(ob, 3), 0);
    cr_assert_eq(stats_of(ob).records, 0);
    kf_outbox_free(ob);
}

Test(outbox, health_dropped_at_max_health)
{
    const struct kf_outbox_limits lim = {.max_records = 100, .max_bytes = 1 << 20, .max_health = 3};
    struct kf_outbox *ob = open_ob(&lim);
    uint64_t seq = 0;

    for (uint64_t i = 1; i <= 3; i++) {
        cr_assert_eq(append_health(ob, &seq), 0);
        cr_assert_eq(seq, i);
    }
    seq = 99;
    cr_assert_eq(append_health(ob, &seq), -ENOBUFS);
    cr_assert_eq(seq, 99, "no seq is given to a dropped sample");
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.health_dropped, 1);
    cr_assert_eq(st.next_seq, 4);
    cr_assert_eq(st.health, 3);

    /* Usage still goes in, with the next seq: no gap. */
    cr_assert_eq(append_txn(ob, 1), 4);
    kf_outbox_free(ob);

    ob = open_ob(&lim);
    st = stats_of(ob);
    cr_assert_eq(st.health_dropped, 1, "the drop count is persisted");
    cr_assert_eq(append_health(ob, NULL), -ENOBUFS);
    cr_assert_eq(stats_of(ob).health_dropped, 2);
    cr_assert_eq(kf_outbox_ack(ob, 1), 0);
    cr_assert_eq(append_health(ob, &seq), 0);
    cr_assert_eq(seq, 5);
    kf_outbox_free(ob);
}

Test(outbox, usage_never_dropped_but_refused_at_hard_limit)
{
    const struct kf_outbox_limits lim = {.max_records = 5, .max_bytes = 1 << 20, .max_health = 100};
    struct kf_outbox *ob = open_ob(&lim);
    char buf[128];
    size_t len = txn_json(buf, sizeof(buf), 6);
    uint64_t seq = 0;

    for (int i = 1; i <= 5; i++)
        append_txn(ob, i);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_TXN, 1, buf, len, &seq), -EDQUOT);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_FAULT, 1, buf, len, &seq), -EDQUOT);
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.records, 5);
    cr_assert_eq(st.next_seq, 6);
    cr_assert_eq(st.health_dropped, 0);

    /* A health sample at a hard limit is dropped and counted, not -EDQUOT. */
    cr_assert_eq(append_health(ob, NULL), -ENOBUFS);
    cr_assert_eq(stats_of(ob).health_dropped, 1);

    cr_assert_eq(kf_outbox_ack(ob, 1), 0);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_TXN, 1, buf, len, &seq), 0);
    cr_assert_eq(seq, 6);
    kf_outbox_free(ob);
}

/* The largest of the outbox's files (the database, its WAL), bytes. */
static off_t outbox_files_max(void)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    off_t max = 0;

    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        char path[320];
        struct stat sb;

        snprintf(path, sizeof(path), "%s%s", ob_path, suffix[i]);
        if (stat(path, &sb) == 0 && sb.st_size > max)
            max = sb.st_size;
    }
    return max;
}

/* A full disk is not the outbox's limit: -ENOSPC, not -EDQUOT (the app socket tells the
 * application disk_full rather than outbox_full), nothing half-written, and the outbox
 * takes records again once there is room. The disk is made full with a file size limit
 * (RLIMIT_FSIZE) on this test's own process: Criterion runs each test in a fork. */
Test(outbox, a_full_disk_is_enospc_not_the_limit)
{
    struct kf_outbox *ob = open_ob(NULL);
    struct rlimit old, lim;
    struct kf_outbox_stats st;
    char json[900];
    int n, r = 0, i;

    n = snprintf(json, sizeof(json), "{\"t\":\"fault\",\"text\":\"%0800d\"}", 0);
    cr_assert(n > 0 && (size_t)n < sizeof(json));
    for (i = 1; i <= 10; i++)
        append_txn(ob, i);
    signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead of a signal */
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)outbox_files_max() + 64 * 1024;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (i = 0; i < 10000 && r == 0; i++)
        r = kf_outbox_append(ob, KF_REC_FAULT, 1, json, (size_t)n, NULL);
    cr_assert_eq(r, -ENOSPC, "the disk filled up with %d (after %d appends)", r, i);
    st = stats_of(ob);
    cr_assert_eq(st.records, 10 + (uint64_t)i - 1, "a refused append left nothing behind");
    cr_assert_eq(st.next_seq, st.records + 1);

    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_FAULT, 1, json, (size_t)n, NULL), 0);
    kf_outbox_free(ob);
    ob = open_ob(NULL);
    cr_assert_eq(stats_of(ob).records, 10 + (uint64_t)i);
    kf_outbox_free(ob);
}

Test(outbox, refused_at_max_bytes)
{
    const struct kf_outbox_limits lim = {.max_records = 100, .max_bytes = 100, .max_health = 100};
    struct kf_outbox *ob = open_ob(&lim);
    char buf[128];
    size_t len = txn_json(buf, sizeof(buf), 3);

    append_txn(ob, 1);
    append_txn(ob, 2);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_PERIPH, 1, buf, len, NULL), -EDQUOT);
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.records, 2);
    cr_assert_eq(st.bytes, 2 * TXN_LEN);
    /* 16 bytes left: a record that fits exactly still goes in. */
    cr_assert_eq(kf_outbox_append(ob, KF_REC_PERIPH, 1, buf, 100 - 2 * TXN_LEN, NULL), 0);
    cr_assert_eq(stats_of(ob).bytes, 100);
    kf_outbox_free(ob);
}

Test(outbox, append_many_all_or_nothing)
{
    const struct kf_outbox_limits lim = {.max_records = 5, .max_bytes = 1 << 20, .max_health = 1};
    struct kf_outbox *ob = open_ob(&lim);
    char bufs[4][128];
    struct kf_outbox_rec recs[4];
    struct seen s = {0};
    size_t appended = 99;
    uint32_t n = 0;

    for (int i = 0; i < 4; i++) {
        recs[i].seq = 0;
        recs[i].type = KF_REC_TXN;
        recs[i].ts_ms = 2000 + i;
        recs[i].json_len = txn_json(bufs[i], sizeof(bufs[i]), 10 + i);
        recs[i].json = bufs[i];
    }

    /* [health, health, txn] on an empty outbox, max_health 1: the second sample is dropped. */
    recs[0].type = KF_REC_HEALTH;
    recs[1].type = KF_REC_HEALTH;
    cr_assert_eq(kf_outbox_append_many(ob, recs, 3, &appended), 0);
    cr_assert_eq(appended, 2);
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.records, 2);
    cr_assert_eq(st.health_dropped, 1);
    cr_assert_eq(st.next_seq, 3);
    cr_assert_eq(kf_outbox_peek(ob, 0, 100, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(s.seq[0], 1);
    cr_assert_eq(s.type[0], KF_REC_HEALTH);
    cr_assert_eq(s.seq[1], 2, "seqs stay contiguous over a dropped sample");
    cr_assert_eq(s.type[1], KF_REC_TXN);
    cr_assert_str_eq(s.json[1], bufs[2]);

    /* 2 held, room for 3: four usage records do not fit, so none is written. */
    for (int i = 0; i < 4; i++)
        recs[i].type = KF_REC_TXN;
    appended = 99;
    cr_assert_eq(kf_outbox_append_many(ob, recs, 4, &appended), -EDQUOT);
    cr_assert_eq(appended, 99);
    st = stats_of(ob);
    cr_assert_eq(st.records, 2);
    cr_assert_eq(st.next_seq, 3);
    cr_assert_eq(st.health_dropped, 1);
    kf_outbox_free(ob);

    /* Still nothing after reopening (the refusal rolled back). */
    ob = open_ob(&lim);
    cr_assert_eq(stats_of(ob).records, 2);
    cr_assert_eq(kf_outbox_ack(ob, 2), 0);
    recs[1].type = KF_REC_HEALTH;
    cr_assert_eq(kf_outbox_append(ob, KF_REC_TXN, 1, bufs[0], recs[0].json_len, NULL), 0);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_TXN, 1, bufs[0], recs[0].json_len, NULL), 0);
    /* held 2 (seqs 3, 4), room 3: [txn, health, txn, txn] -> 3 txns, sample dropped */
    cr_assert_eq(kf_outbox_append_many(ob, recs, 4, &appended), 0);
    cr_assert_eq(appended, 3);
    st = stats_of(ob);
    cr_assert_eq(st.records, 5);
    cr_assert_eq(st.health, 0);
    cr_assert_eq(st.health_dropped, 2);
    cr_assert_eq(st.next_seq, 8);
    kf_outbox_free(ob);
}

Test(outbox, peek_respects_limits_and_order)
{
    struct kf_outbox *ob = open_ob(NULL);
    struct seen s = {0};
    uint32_t n = 0;

    for (int i = 1; i <= 10; i++)
        append_txn(ob, i);

    cr_assert_eq(kf_outbox_peek(ob, 1, 4, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 4);
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(s.seq[i], i + 1);

    /* 100 bytes hold two 42-byte records, not three. */
    memset(&s, 0, sizeof(s));
    cr_assert_eq(kf_outbox_peek(ob, 1, 100, 100, collect, &s, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(s.seq[1], 2);

    /* Always at least one, even past max_bytes. */
    memset(&s, 0, sizeof(s));
    cr_assert_eq(kf_outbox_peek(ob, 3, 100, 10, collect, &s, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(s.seq[0], 3);

    memset(&s, 0, sizeof(s));
    cr_assert_eq(kf_outbox_peek(ob, 7, 100, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(s.seq[0], 7);
    cr_assert_eq(s.seq[3], 10);

    memset(&s, 0, sizeof(s));
    cr_assert_eq(kf_outbox_peek(ob, 11, 100, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 0);

    /* A callback's non-zero result stops the walk and is returned. */
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    cr_assert_eq(kf_outbox_peek(ob, 1, 100, 1 << 20, collect, &s, &n), 7);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(n, 2);

    /* The statement was reset: a new walk works and sees the same data. */
    memset(&s, 0, sizeof(s));
    cr_assert_eq(kf_outbox_peek(ob, 5, 2, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(s.seq[0], 5);
    cr_assert_eq(s.seq[1], 6);
    kf_outbox_free(ob);
}

Test(outbox, rejects_bad_arguments_and_newer_schema)
{
    struct kf_outbox *ob = open_ob(NULL);
    sqlite3 *db = NULL;

    cr_assert_eq(kf_outbox_append(ob, 0, 1, "{}", 2, NULL), -EINVAL);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_TXN, 1, NULL, 2, NULL), -EINVAL);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_TXN, 1, "{}", 0, NULL), -EINVAL);
    cr_assert_eq(stats_of(ob).next_seq, 1);
    kf_outbox_free(ob);
    kf_outbox_free(NULL);

    cr_assert_eq(sqlite3_open(ob_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ob = NULL;
    cr_assert_eq(kf_outbox_open(ob_path, NULL, &ob), -EPROTONOSUPPORT);
    cr_assert_null(ob);
}

/* Child: append until killed, reporting each seq on the pipe only after append returned 0. */
static void crash_child(int wfd)
{
    struct kf_outbox *ob = NULL;
    char buf[128];

    if (kf_outbox_open(ob_path, NULL, &ob) < 0)
        _exit(3);
    for (int i = 0; i < 1000000; i++) {
        uint64_t seq = 0;
        int len = snprintf(buf, sizeof(buf), "{\"t\":\"txn\",\"ts\":%d,\"item\":\"HF-001\"}", i);

        if (kf_outbox_append(ob, KF_REC_TXN, i, buf, (size_t)len, &seq) != 0)
            _exit(4);
        if (write(wfd, &seq, sizeof(seq)) != (ssize_t)sizeof(seq))
            _exit(5);
    }
    _exit(0);
}

static int crash_check(void *ud, const struct kf_outbox_rec *rec)
{
    uint64_t *expect = ud;
    char want[128];

    cr_assert_eq(rec->seq, *expect, "held seqs are contiguous");
    /* ts_ms is the child's loop counter; the JSON must be that append's, byte for byte. */
    snprintf(want, sizeof(want), "{\"t\":\"txn\",\"ts\":%lld,\"item\":\"HF-001\"}",
             (long long)rec->ts_ms);
    cr_assert_eq(rec->json_len, strlen(want));
    cr_assert_eq(memcmp(rec->json, want, rec->json_len), 0);
    (*expect)++;
    return 0;
}

Test(outbox, survives_sigkill_mid_stream)
{
    static uint64_t acked[20000];
    size_t nacked = 0;

    for (int round = 0; round < 3; round++) {
        int fds[2];
        size_t before = nacked;
        uint64_t seq;
        int status = 0;
        pid_t pid;

        cr_assert_eq(pipe(fds), 0);
        pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            close(fds[0]);
            crash_child(fds[1]);
        }
        close(fds[1]);
        while (read(fds[0], &seq, sizeof(seq)) == (ssize_t)sizeof(seq)) {
            cr_assert_lt(nacked, sizeof(acked) / sizeof(acked[0]));
            acked[nacked++] = seq;
            if (nacked - before == 150 + 50 * (size_t)round)
                kill(pid, SIGKILL);
        }
        close(fds[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
    }

    struct kf_outbox *ob = open_ob(NULL);
    struct kf_outbox_stats st = stats_of(ob);
    uint64_t expect = 1;
    uint32_t n = 0;

    cr_assert_eq(st.acked_seq, 0);
    cr_assert_geq(st.records, nacked, "every acknowledged append survived");
    cr_assert_gt(nacked, 450);
    for (size_t i = 0; i < nacked; i++) {
        if (i > 0)
            cr_assert_gt(acked[i], acked[i - 1], "seqs are handed out in order, never reused");
        cr_assert_lt(acked[i], st.next_seq);
    }
    /* Walk everything held: contiguous from 1, each record intact. */
    while (expect < st.next_seq) {
        cr_assert_eq(kf_outbox_peek(ob, expect, 1000, 1 << 20, crash_check, &expect, &n), 0);
        cr_assert_gt(n, 0);
    }
    cr_assert_eq(expect, st.next_seq);
    cr_assert_eq(append_txn(ob, 1), st.next_seq);
    kf_outbox_free(ob);
}

/* A recreated outbox under the same identity follows the server's numbering: held records
 * keep their order and content, get seqs past the server's mark, and survive a reopen. */
Test(outbox, rebase_follows_the_servers_numbering)
{
    struct kf_outbox *ob = open_ob(NULL);
    struct seen s = {0};
    uint32_t n = 0;

    for (int i = 1; i <= 3; i++)
        append_txn(ob, i);
    cr_assert_eq(kf_outbox_ack(ob, 1), 0);
    cr_assert_eq(kf_outbox_rebase(ob, 2), -EINVAL, "an ordinary ack is not a rebase");
    cr_assert_eq(kf_outbox_rebase(ob, 500), 0);
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.acked_seq, 500);
    cr_assert_eq(st.next_seq, 503);
    cr_assert_eq(st.records, 2);
    kf_outbox_free(ob);

    ob = open_ob(NULL);
    cr_assert_eq(stats_of(ob).next_seq, 503, "persisted");
    cr_assert_eq(kf_outbox_peek(ob, 1, 100, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(s.seq[0], 501);
    cr_assert_eq(s.seq[1], 502);
    cr_assert(strstr(s.json[0], "\"ts\":002") != NULL, "order and content kept: %s", s.json[0]);
    cr_assert(strstr(s.json[1], "\"ts\":003") != NULL, "order and content kept: %s", s.json[1]);
    cr_assert_eq(s.ts[0], 1002);
    cr_assert_eq(append_txn(ob, 4), 503);
    cr_assert_eq(kf_outbox_ack(ob, 503), 0);
    cr_assert_eq(stats_of(ob).records, 0);
    kf_outbox_free(ob);
}

struct regime {
    uint32_t boot[8];
    int64_t base[8];
    int n;
};

static int regime_cb(void *ud, const struct kf_outbox_rec *rec)
{
    struct regime *g = ud;

    g->boot[g->n] = rec->boot;
    g->base[g->n] = rec->base_ms;
    g->n++;
    return 0;
}

/* Each record keeps the clock regime it was appended under; a boot keeps its number and its
 * last measured offset across a reopen; a v1 outbox migrates with its records unchanged
 * (regime "not recorded"). */
Test(outbox, records_keep_their_clock_regime)
{
    struct kf_outbox *ob;
    struct regime g = {0};
    uint32_t b1, b2, again;
    int64_t off, base;
    sqlite3 *db = NULL;

    /* A v1 outbox with one record held, as an older agent left it. */
    cr_assert_eq(sqlite3_open(ob_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "CREATE TABLE records(seq INTEGER PRIMARY KEY, type INTEGER NOT NULL,"
                              " ts_ms INTEGER NOT NULL, len INTEGER NOT NULL, json TEXT NOT NULL);"
                              "CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1),"
                              " next_seq INTEGER NOT NULL, acked_seq INTEGER NOT NULL,"
                              " bytes INTEGER NOT NULL, health INTEGER NOT NULL,"
                              " health_dropped INTEGER NOT NULL);"
                              "INSERT INTO meta VALUES(1, 2, 0, 2, 0, 0);"
                              "INSERT INTO records VALUES(1, 1, 5, 2, '{}');"
                              "PRAGMA user_version = 1;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);

    ob = open_ob(NULL);
    cr_assert_eq(kf_outbox_boot(ob, "boot-a", &b1), 0);
    cr_assert_eq(kf_outbox_boot(ob, "boot-b", &b2), 0);
    cr_assert_neq(b1, 0);
    cr_assert_neq(b1, b2);
    cr_assert_eq(kf_outbox_clock_get(ob, b1, &off, &base), -ENOENT);
    kf_outbox_set_clock(ob, b1, 1000);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_TXN, 6, "{}", 2, NULL), 0);
    kf_outbox_set_clock(ob, b2, -5000);
    cr_assert_eq(kf_outbox_append(ob, KF_REC_TXN, 7, "{}", 2, NULL), 0);
    cr_assert_eq(kf_outbox_clock_put(ob, b1, 250, 1000), 0);
    kf_outbox_free(ob);

    ob = open_ob(NULL);
    cr_assert_eq(kf_outbox_boot(ob, "boot-a", &again), 0);
    cr_assert_eq(again, b1, "a boot keeps its number");
    cr_assert_eq(kf_outbox_clock_get(ob, b1, &off, &base), 0);
    cr_assert_eq(off, 250);
    cr_assert_eq(base, 1000);
    cr_assert_eq(kf_outbox_peek(ob, 1, 10, 1 << 20, regime_cb, &g, NULL), 0);
    cr_assert_eq(g.n, 3);
    cr_assert_eq(g.boot[0], 0, "the v1 record: no regime");
    cr_assert_eq(g.boot[1], b1);
    cr_assert_eq(g.base[1], 1000);
    cr_assert_eq(g.boot[2], b2);
    cr_assert_eq(g.base[2], -5000);
    kf_outbox_free(ob);
}

/* ---- the application's ids (kf_outbox_append_app; docs/AGENT.md, "Exactly once from the
 * application's journal") ---- */

#define APP_NOW_MS INT64_C(1767254395000)

/* A txn with the application's id app_id and duration dur_ms, as the app socket hands it
 * over: formatted, its digest over the line's record (ts given). Returns kf_outbox_append_app's
 * result; *ret_seq and *ret_taken as it gives them. */
static int append_app_txn(struct kf_outbox *ob, const char *app_id, uint32_t dur_ms, int64_t now_ms,
                          uint64_t *ret_seq, int *ret_taken)
{
    struct kf_record rec = {.type = KF_REC_TXN, .ts_ms = APP_NOW_MS};
    struct kf_outbox_app app = {.id = app_id, .now_ms = now_ms};
    char json[KF_RECORD_JSON_MAX + 1];
    struct kf_outbox_rec orec = {.type = KF_REC_TXN, .ts_ms = APP_NOW_MS, .json = json};

    snprintf(rec.app_id, sizeof(rec.app_id), "%s", app_id);
    snprintf(rec.u.txn.item, sizeof(rec.u.txn.item), "HF-001");
    rec.u.txn.outcome = KF_OUTCOME_OK;
    rec.u.txn.dur_ms = dur_ms;
    cr_assert_eq(kf_record_format(&rec, json, sizeof(json), &orec.json_len), 0);
    cr_assert_eq(kf_outbox_app_digest(&rec, 1, app.digest), 0);
    return kf_outbox_append_app(ob, &orec, &app, ret_seq, ret_taken);
}

/* Expect app_id to come back as taken (what, seq). */
static void expect_app(struct kf_outbox *ob, const char *app_id, uint32_t dur_ms, int64_t now_ms,
                       int want_taken, uint64_t want_seq)
{
    uint64_t seq = 0;
    int taken = -1;
    int r = append_app_txn(ob, app_id, dur_ms, now_ms, &seq, &taken);

    cr_assert_eq(r, 0, "%s: %d", app_id, r);
    cr_assert_eq(taken, want_taken, "%s: taken %d, want %d", app_id, taken, want_taken);
    cr_assert_eq(seq, want_seq, "%s: seq %llu, want %llu", app_id, (unsigned long long)seq,
                 (unsigned long long)want_seq);
}

static uint64_t app_ids_of(struct kf_outbox *ob)
{
    uint64_t n = 0;

    cr_assert_eq(kf_outbox_app_ids(ob, &n), 0);
    return n;
}

Test(outbox, a_resent_app_id_gets_the_first_seq_and_stores_nothing)
{
    struct kf_outbox *ob = open_ob(NULL);
    struct seen s = {0};
    uint32_t n = 0;

    expect_app(ob, "J-000001", 1000, APP_NOW_MS, KF_OUTBOX_APP_NEW, 1);
    cr_assert_eq(append_txn(ob, 2), 2, "a record without app_id is stored as before");
    expect_app(ob, "J-000003", 3000, APP_NOW_MS, KF_OUTBOX_APP_NEW, 3);
    expect_app(ob, "J-000001", 1000, APP_NOW_MS + 5000, KF_OUTBOX_APP_REPEAT, 1);
    expect_app(ob, "J-000001", 1000, APP_NOW_MS + 9000, KF_OUTBOX_APP_REPEAT, 1);
    struct kf_outbox_stats st = stats_of(ob);
    cr_assert_eq(st.records, 3, "the resends added nothing");
    cr_assert_eq(st.next_seq, 4);
    cr_assert_eq(app_ids_of(ob), 2);
    cr_assert_eq(kf_outbox_peek(ob, 1, 10, 1 << 20, collect, &s, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert(strstr(s.json[0], "\"app_id\":\"J-000001\"}") != NULL, "the id travels: %s",
              s.json[0]);
    kf_outbox_free(ob);
}

Test(outbox, an_app_id_taken_by_another_record_is_refused)
{
    struct kf_outbox *ob = open_ob(NULL);

    expect_app(ob, "J-7", 1000, APP_NOW_MS, KF_OUTBOX_APP_NEW, 1);
    /* The same id for a different transaction: the application reused a journal number. */
    expect_app(ob, "J-7", 2000, APP_NOW_MS, KF_OUTBOX_APP_REUSED, 1);
    cr_assert_eq(stats_of(ob).records, 1, "nothing stored");
    /* and the first record's resend is still its own */
    expect_app(ob, "J-7", 1000, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 1);
    kf_outbox_free(ob);
}

/* A restart (the outbox reopened) and the server's acks (the records deleted) forget
 * nothing: the kill -9 between the commit and the reply. */
Test(outbox, app_ids_outlive_a_restart_and_the_acks)
{
    struct kf_outbox *ob = open_ob(NULL);

    expect_app(ob, "J-1", 1000, APP_NOW_MS, KF_OUTBOX_APP_NEW, 1);
    expect_app(ob, "J-2", 2000, APP_NOW_MS, KF_OUTBOX_APP_NEW, 2);
    expect_app(ob, "J-3", 3000, APP_NOW_MS, KF_OUTBOX_APP_NEW, 3);
    kf_outbox_free(ob);

    ob = open_ob(NULL);
    expect_app(ob, "J-3", 3000, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 3);
    cr_assert_eq(kf_outbox_ack(ob, 3), 0);
    cr_assert_eq(stats_of(ob).records, 0);
    kf_outbox_free(ob);

    ob = open_ob(NULL);
    expect_app(ob, "J-1", 1000, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 1);
    expect_app(ob, "J-2", 9999, APP_NOW_MS, KF_OUTBOX_APP_REUSED, 2);
    cr_assert_eq(stats_of(ob).records, 0, "acked records stay gone");
    cr_assert_eq(stats_of(ob).next_seq, 4);
    expect_app(ob, "J-4", 4000, APP_NOW_MS, KF_OUTBOX_APP_NEW, 4);
    kf_outbox_free(ob);
}

/* Ids are kept app_ids_keep_days after they were taken, and at most app_ids_max of them,
 * the oldest forgotten first; a forgotten id is a new one. */
Test(outbox, app_ids_are_kept_for_a_bounded_time_and_count)
{
    const struct kf_outbox_limits lim = {.app_ids_max = 3, .app_ids_keep_days = 2};
    const int64_t day = INT64_C(86400000);
    struct kf_outbox *ob = open_ob(&lim);

    expect_app(ob, "J-1", 1, APP_NOW_MS, KF_OUTBOX_APP_NEW, 1);
    expect_app(ob, "J-2", 2, APP_NOW_MS, KF_OUTBOX_APP_NEW, 2);
    expect_app(ob, "J-3", 3, APP_NOW_MS, KF_OUTBOX_APP_NEW, 3);
    expect_app(ob, "J-4", 4, APP_NOW_MS, KF_OUTBOX_APP_NEW, 4);
    cr_assert_eq(app_ids_of(ob), 3);
    expect_app(ob, "J-2", 2, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 2);
    expect_app(ob, "J-1", 1, APP_NOW_MS, KF_OUTBOX_APP_NEW, 5); /* the oldest went first */
    cr_assert_eq(app_ids_of(ob), 3);
    expect_app(ob, "J-2", 2, APP_NOW_MS, KF_OUTBOX_APP_NEW, 6); /* J-1 pushed it out; J-3 goes */
    expect_app(ob, "J-4", 4, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 4);

    /* Two days on, J-4 is still known; past them, everything taken at APP_NOW_MS is gone. */
    expect_app(ob, "J-4", 4, APP_NOW_MS + 2 * day, KF_OUTBOX_APP_REPEAT, 4);
    expect_app(ob, "J-9", 9, APP_NOW_MS + 2 * day + 1, KF_OUTBOX_APP_NEW, 7);
    cr_assert_eq(app_ids_of(ob), 1);
    expect_app(ob, "J-4", 4, APP_NOW_MS + 2 * day + 2, KF_OUTBOX_APP_NEW, 8);
    cr_assert_eq(stats_of(ob).records, 8);
    kf_outbox_free(ob);

    /* The defaults: 30 days, 100,000 ids. */
    ob = open_ob(NULL);
    expect_app(ob, "J-4", 4, APP_NOW_MS + 31 * day, KF_OUTBOX_APP_REPEAT, 8);
    expect_app(ob, "J-5", 5, APP_NOW_MS + 33 * day, KF_OUTBOX_APP_NEW, 9);
    expect_app(ob, "J-4", 4, APP_NOW_MS + 33 * day, KF_OUTBOX_APP_NEW, 10);
    kf_outbox_free(ob);
}

/* A full outbox still answers a resend: the record is there, nothing needs room. */
Test(outbox, a_full_outbox_still_answers_a_resend)
{
    const struct kf_outbox_limits lim = {.max_records = 1};
    struct kf_outbox *ob = open_ob(&lim);
    uint64_t seq = 0;
    int taken = -1;

    expect_app(ob, "J-1", 1, APP_NOW_MS, KF_OUTBOX_APP_NEW, 1);
    cr_assert_eq(append_app_txn(ob, "J-2", 2, APP_NOW_MS, &seq, &taken), -EDQUOT);
    cr_assert_eq(app_ids_of(ob), 1, "a refused record takes no id");
    expect_app(ob, "J-1", 1, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 1);
    cr_assert_eq(kf_outbox_ack(ob, 1), 0);
    expect_app(ob, "J-2", 2, APP_NOW_MS, KF_OUTBOX_APP_NEW, 2);
    kf_outbox_free(ob);
}

/* A recreated outbox renumbered to follow the server: the held records' ids follow them. */
Test(outbox, rebase_moves_the_ids_of_held_records)
{
    struct kf_outbox *ob = open_ob(NULL);

    expect_app(ob, "J-1", 1, APP_NOW_MS, KF_OUTBOX_APP_NEW, 1);
    expect_app(ob, "J-2", 2, APP_NOW_MS, KF_OUTBOX_APP_NEW, 2);
    cr_assert_eq(kf_outbox_ack(ob, 1), 0);
    cr_assert_eq(kf_outbox_rebase(ob, 500), 0);
    expect_app(ob, "J-1", 1, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 1);
    expect_app(ob, "J-2", 2, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 501);
    kf_outbox_free(ob);
}

/* The digest is of the record as the application sent it: a ts the agent stamped is not
 * part of it; one the line gave is. */
Test(outbox, the_digest_leaves_out_a_stamped_ts)
{
    struct kf_record a = {.type = KF_REC_PERIPH, .ts_ms = APP_NOW_MS}, b;
    uint8_t da[KF_OUTBOX_APP_DIGEST], db[KF_OUTBOX_APP_DIGEST];

    a.u.periph.periph = KF_PERIPH_A4_PRINTER;
    a.u.periph.state = KF_PSTATE_PAPER_LOW;
    snprintf(a.app_id, sizeof(a.app_id), "P-1");
    b = a;
    b.ts_ms = APP_NOW_MS + 1234;
    cr_assert_eq(kf_outbox_app_digest(&a, 0, da), 0);
    cr_assert_eq(kf_outbox_app_digest(&b, 0, db), 0);
    cr_assert_eq(memcmp(da, db, sizeof(da)), 0, "stamped at another time, the same line");
    cr_assert_eq(kf_outbox_app_digest(&a, 1, da), 0);
    cr_assert_eq(kf_outbox_app_digest(&b, 1, db), 0);
    cr_assert_neq(memcmp(da, db, sizeof(da)), 0, "a different ts sent: a different record");
    b = a;
    b.ts_ms = INT64_C(1577836800000); /* the ts a digest without one stands in with */
    cr_assert_eq(kf_outbox_app_digest(&a, 0, da), 0);
    cr_assert_eq(kf_outbox_app_digest(&b, 1, db), 0);
    cr_assert_neq(memcmp(da, db, sizeof(da)), 0);
    b = a;
    snprintf(b.app_id, sizeof(b.app_id), "P-2");
    cr_assert_eq(kf_outbox_app_digest(&b, 0, db), 0);
    cr_assert_eq(kf_outbox_app_digest(&a, 0, da), 0);
    cr_assert_neq(memcmp(da, db, sizeof(da)), 0, "the id is part of the record");
}

/* An outbox an older agent left (schema v1 or v2) gains the ids on open, records kept. */
Test(outbox, an_older_outbox_upgrades_and_takes_ids)
{
    struct kf_outbox *ob;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    uint64_t seq = 0;
    int taken = -1;

    cr_assert_eq(sqlite3_open(ob_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "CREATE TABLE records(seq INTEGER PRIMARY KEY, type INTEGER NOT NULL,"
                              " ts_ms INTEGER NOT NULL, len INTEGER NOT NULL, json TEXT NOT NULL);"
                              "CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1),"
                              " next_seq INTEGER NOT NULL, acked_seq INTEGER NOT NULL,"
                              " bytes INTEGER NOT NULL, health INTEGER NOT NULL,"
                              " health_dropped INTEGER NOT NULL);"
                              "INSERT INTO meta VALUES(1, 2, 0, 2, 0, 0);"
                              "INSERT INTO records VALUES(1, 1, 5, 2, '{}');"
                              "PRAGMA user_version = 1;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);

    ob = open_ob(NULL);
    cr_assert_eq(stats_of(ob).records, 1);
    cr_assert_eq(append_app_txn(ob, "J-1", 1, APP_NOW_MS, &seq, &taken), 0);
    cr_assert_eq(seq, 2);
    cr_assert_eq(taken, KF_OUTBOX_APP_NEW);
    kf_outbox_free(ob);

    cr_assert_eq(sqlite3_open(ob_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), 5);
    sqlite3_finalize(st);
    sqlite3_close(db);
    ob = open_ob(NULL);
    expect_app(ob, "J-1", 1, APP_NOW_MS, KF_OUTBOX_APP_REPEAT, 2);
    kf_outbox_free(ob);
}

Test(outbox, app_append_rejects_bad_arguments)
{
    struct kf_outbox *ob = open_ob(NULL);
    struct kf_outbox_app app = {.id = "", .now_ms = APP_NOW_MS};
    struct kf_outbox_rec rec = {.type = KF_REC_TXN, .ts_ms = 1, .json = "{}", .json_len = 2};
    uint64_t seq;
    int taken;

    cr_assert_eq(kf_outbox_append_app(ob, &rec, &app, &seq, &taken), -EINVAL, "empty id");
    app.id = "123456789012345678901234567890123";
    cr_assert_eq(kf_outbox_append_app(ob, &rec, &app, &seq, &taken), -EINVAL, "33 bytes");
    app.id = "J-1";
    rec.type = KF_REC_HEALTH;
    cr_assert_eq(kf_outbox_append_app(ob, &rec, &app, &seq, &taken), -EINVAL, "health");
    cr_assert_eq(kf_outbox_append_app(ob, NULL, &app, &seq, &taken), -EINVAL);
    cr_assert_eq(stats_of(ob).next_seq, 1);
    kf_outbox_free(ob);
}
