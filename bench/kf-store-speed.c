/* kf-store-speed: what kioskd's group commit costs per message, without the broker.
 *
 *   kf-store-speed [--devices D] [--frames F] [--records R] [--batch B] [--runs K]
 *                  [--fixtures FILE] [--sql SQL] [--profile] [--app-ids]
 *
 * Each run opens a fresh store in a scratch directory under /tmp (the deployment fixtures
 * loaded, D terminals registered, the checkpoint thread started as kioskd starts it), then
 * builds F RECORDS frames per terminal the way kf-loadgen does (R records: txns and a
 * health sample, signed, compressed), parses them as kioskd's verify stage does, and commits
 * them with kf_store_ingest_commit in batches of B frames, in the order a round-robin publisher
 * sends them. Timed: this thread's CPU in kf_store_ingest_commit per frame, and the process's CPU
 * over the commit phase (which adds the checkpoint thread). Between the batches, about a
 * tenth as many crypto_sign_verify_detached over such a frame's signed bytes, for the
 * ratio that BENCHMARKS.md reports: the store's share of the budget of 1.5 verifications
 * per message, against verifications made over the same seconds and between the same
 * commits (in a loop of their own they came out about a fifth cheaper, 59-72 against
 * 74-80 us: warm caches).
 * --sql runs SQL on each fresh store before the commits, to measure a variant of the
 * schema without building it (e.g. an index dropped); --profile adds SQLite's own wall time
 * per statement, per frame; --app-ids gives every txn an application id (record.h, app_id),
 * for what the unique index on (device, app_id) costs. Prints a human summary on stderr and one
 * JSON object on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/record.h>
#include <kf/time.h>

#include "bench_util.h"
#include "store/registry.h"
#include "store/ingest.h"
#include "store/store.h"
#include "store/sqlite/int.h" /* the connection, for --sql and --profile */

#define MAX_RUNS 50
/* Verifications after each batch: about a tenth of the batch's frames. */
#define VERIFY_PER_BATCH(n) ((n) / 10 + 20)

struct frame {
    struct kf_ingest in;
    struct kf_record recs[KF_ENV_MAX_RECORDS];
    uint8_t raw[KF_ENV_MAX_BYTES];
    char topic[KF_TOPIC_MAX + 1];
};

struct opts {
    uint64_t devices, frames, nrec, batch, runs;
    const char *fixtures;
    const char *sql; /* run on each fresh store before the commits (--sql) */
    int profile;     /* --profile: wall time per statement, over all runs */
    int app_ids;     /* --app-ids: every txn carries an application id */
};

/* --profile: SQLite's own per-statement timer (SQLITE_TRACE_PROFILE, wall nanoseconds of
 * each sqlite3_step to completion), summed by statement text. No product code changes. */
#define PROF_MAX 64
static struct prof {
    char *sql; /* the statement's whole text (two statements may share a long prefix) */
    double ns;
    uint64_t calls;
} prof[PROF_MAX];
static size_t nprof;

static int profile_cb(unsigned type, void *ctx, void *p, void *x)
{
    sqlite3_stmt *stmt = p;
    const char *sql = sqlite3_sql(stmt);
    size_t i;

    (void)ctx;
    if (type != SQLITE_TRACE_PROFILE || !sql)
        return 0;
    for (i = 0; i < nprof; i++) {
        if (strcmp(prof[i].sql, sql) == 0)
            break;
    }
    if (i == nprof) {
        if (nprof == PROF_MAX || (prof[nprof].sql = strdup(sql)) == NULL)
            return 0;
        nprof++;
    }
    prof[i].ns += (double)*(const int64_t *)x;
    prof[i].calls++;
    return 0;
}

static int prof_cmp(const void *a, const void *b)
{
    const struct prof *x = a, *y = b;

    return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

static int collect(void *ud, uint32_t index, const struct kf_record *rec)
{
    struct frame *f = ud;

    f->recs[index] = *rec;
    return 0;
}

static void rm_store(const char *dir)
{
    static const char *const files[] = {"server.db", "server.db-wal", "server.db-shm"};
    char path[256];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Zone ids of the loaded fixtures, read on a connection of our own. */
static int zones_load(const char *db, char (**ret)[KF_ZONE_ID_MAX + 1], size_t *ret_n)
{
    char(*z)[KF_ZONE_ID_MAX + 1] = NULL;
    sqlite3 *c = NULL;
    sqlite3_stmt *s = NULL;
    size_t n = 0;

    if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c, "SELECT id FROM zones ORDER BY id", -1, &s, NULL) != SQLITE_OK) {
        sqlite3_close(c);
        return -EIO;
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
        void *p = realloc(z, (n + 1) * sizeof(*z));
        if (!p)
            break;
        z = p;
        snprintf(z[n++], sizeof(z[0]), "%s", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(c);
    *ret = z;
    *ret_n = n;
    return n > 0 ? 0 : -ENOENT;
}

/* One crypto_sign_verify_detached over such a frame's signed bytes: the floor. */
/* n verifications of f's signature: this thread's CPU for them, in seconds, or -1 if one
 * fails. */
static double verify_cpu(const struct frame *f, const uint8_t pk[32], size_t n)
{
    struct kf_env_view v;
    uint8_t *msg;
    size_t len;
    double c0, ret = -1;

    if (kf_env_parse(f->in.raw, f->in.raw_len, &v) < 0 ||
        (msg = kf_bench_signed_msg(&v, f->in.raw, f->topic, &len)) == NULL)
        return -1;
    c0 = kf_bench_thread_cpu();
    for (size_t i = 0; i < n; i++) {
        if (crypto_sign_verify_detached(v.signature, msg, len, pk) != 0)
            goto out;
    }
    ret = kf_bench_thread_cpu() - c0;
out:
    free(msg);
    return ret;
}

/* One run: fresh store, frames built, committed in batches. Fills the run's figures. */
static int run_once(const struct opts *o, double *store_us, double *proc_us, double *ver_us)
{
    char dir[] = "/tmp/kf-store-speed-XXXXXX", db[64];
    char(*zones)[KF_ZONE_ID_MAX + 1] = NULL;
    size_t nzones = 0, nframes = o->devices * o->frames;
    struct frame *frames = NULL;
    struct kf_ingest **batch = NULL;
    struct kf_commit_out *out = NULL;
    struct kf_bench_term *terms = NULL;
    struct kf_store *st = NULL;
    struct kf_zctx *z = NULL;
    uint8_t pk[32], sk[64];
    char body[KF_BODY_MAX_BYTES];
    double cpu = 0, p0, vcpu = 0;
    uint64_t vn = 0;
    int r;

    if (!mkdtemp(dir))
        return -errno;
    snprintf(db, sizeof(db), "%s/server.db", dir);
    crypto_sign_keypair(pk, sk);
    frames = calloc(nframes, sizeof(*frames));
    batch = calloc(o->batch, sizeof(*batch));
    out = calloc(o->batch, sizeof(*out));
    terms = calloc(o->devices, sizeof(*terms));
    r = !frames || !batch || !out || !terms ? -ENOMEM : 0;
    if (r == 0)
        r = kf_zctx_new(3, &z);
    if (r == 0)
        r = kf_store_open(db, 0, &st);
    if (r == 0)
        r = kf_store_load_fixtures(st, o->fixtures);
    if (r == 0)
        r = zones_load(db, &zones, &nzones);
    for (uint64_t d = 0; r == 0 && d < o->devices; d++) {
        char dev[32], asset[32];
        struct kf_device_reg reg = {.device_id = dev, .asset_id = asset, .kind = KF_KIND_KIOSK};

        snprintf(dev, sizeof(dev), "KF-BS-%05llu", (unsigned long long)d);
        snprintf(asset, sizeof(asset), "A-BS-%05llu", (unsigned long long)d);
        reg.zone_id = zones[d % nzones];
        memcpy(reg.pk, pk, sizeof(pk));
        r = kf_store_register_device(st, &reg);
        kf_bench_term_init(&terms[d], 1000 + d, kf_now_ms() - 3600000);
        terms[d].app_ids = o->app_ids;
    }
    if (r == 0)
        r = kf_store_checkpointer_start(st);
    if (r == 0 && o->sql) {
        char *e = NULL;

        /* A variant of the schema to measure: the store's prepared statements are
         * re-prepared by SQLite when the schema changed under them. */
        if (sqlite3_exec(st->db, o->sql, NULL, NULL, &e) != SQLITE_OK) {
            fprintf(stderr, "kf-store-speed: --sql: %s\n", e ? e : "failed");
            r = -EINVAL;
        }
        sqlite3_free(e);
    }
    if (r == 0 && o->profile)
        sqlite3_trace_v2(st->db, SQLITE_TRACE_PROFILE, profile_cb, NULL);
    /* Frames in publishing order: round k of every terminal, then round k+1. */
    for (uint64_t i = 0; r == 0 && i < nframes; i++) {
        uint64_t d = i % o->devices, k = i / o->devices;
        struct frame *f = &frames[i];
        struct kf_env_view v;
        char dev[32];
        size_t blen;

        snprintf(dev, sizeof(dev), "KF-BS-%05llu", (unsigned long long)d);
        r = kf_bench_frame(&terms[d], z, dev, 1 + k * o->nrec, (uint32_t)o->nrec, sk, body,
                           sizeof(body), f->raw, sizeof(f->raw), &f->in.raw_len, f->topic, &blen);
        if (r == 0)
            r = kf_env_parse(f->raw, f->in.raw_len, &v);
        if (r == 0)
            r = kf_records_parse(body, blen, (uint32_t)o->nrec, collect, f);
        if (r == 0) {
            f->in.hdr = v.hdr;
            snprintf(f->in.asset_id, sizeof(f->in.asset_id), "A-BS-%05llu", (unsigned long long)d);
            f->in.topic = f->topic;
            f->in.raw = f->raw;
            f->in.recv_ms = kf_now_ms();
            f->in.nrec = (uint32_t)o->nrec;
            f->in.recs = f->recs;
        }
    }
    p0 = kf_bench_process_cpu();
    for (uint64_t i = 0; r == 0 && i < nframes; i += o->batch) {
        size_t n = nframes - i < o->batch ? nframes - i : o->batch;
        double c0, v;

        for (size_t k = 0; k < n; k++)
            batch[k] = &frames[i + k].in;
        c0 = kf_bench_thread_cpu();
        r = kf_store_ingest_commit(st, batch, n, out);
        cpu += kf_bench_thread_cpu() - c0;
        for (size_t k = 0; r == 0 && k < n; k++) {
            if (out[k].inserted != o->nrec)
                r = -EPROTO; /* every record new: the figure is for real inserts */
        }
        /* Verifications between the batches, not before or after them all: this
         * machine's speed drifts by a third within seconds, and the ratio should compare
         * the commit with verifications made over the same seconds. */
        if (r == 0 && (v = verify_cpu(&frames[i], pk, VERIFY_PER_BATCH(n))) < 0)
            r = -EKEYREJECTED;
        if (r == 0) {
            vcpu += v;
            vn += VERIFY_PER_BATCH(n);
        }
    }
    if (r == 0) {
        *proc_us = (kf_bench_process_cpu() - p0 - vcpu) * 1e6 / (double)nframes;
        *store_us = cpu * 1e6 / (double)nframes;
        *ver_us = vcpu * 1e6 / (double)vn;
    } else if (st && kf_store_errmsg(st)[0] != '\0') {
        fprintf(stderr, "kf-store-speed: %s\n", kf_store_errmsg(st));
    }
    kf_store_free(st); /* joins the checkpoint thread */
    kf_zctx_free(z);
    free(zones);
    free(terms);
    free(out);
    free(batch);
    free(frames);
    rm_store(dir);
    return r;
}

static void usage(void)
{
    fprintf(stderr, "usage: kf-store-speed [--devices D] [--frames F] [--records R] [--batch B]"
                    " [--runs K] [--fixtures FILE] [--sql SQL] [--profile] [--app-ids]\n");
}

int main(int argc, char **argv)
{
    struct opts o = {.devices = 500,
                     .frames = 100,
                     .nrec = 4,
                     .batch = 1500,
                     .runs = 5,
                     .fixtures = KF_SOURCE_DIR "/fixtures/deployment.json"};
    double st_us[MAX_RUNS], pr_us[MAX_RUNS], ve_us[MAX_RUNS], ratio[MAX_RUNS];
    int r;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;

        if (ok && strcmp(a, "--devices") == 0)
            ok = kf_bench_parse_u64(v, 1, 100000, &o.devices) == 0;
        else if (ok && strcmp(a, "--frames") == 0)
            ok = kf_bench_parse_u64(v, 1, 100000, &o.frames) == 0;
        else if (ok && strcmp(a, "--records") == 0)
            ok = kf_bench_parse_u64(v, 1, KF_ENV_MAX_RECORDS, &o.nrec) == 0;
        else if (ok && strcmp(a, "--batch") == 0)
            ok = kf_bench_parse_u64(v, 1, 100000, &o.batch) == 0;
        else if (ok && strcmp(a, "--runs") == 0)
            ok = kf_bench_parse_u64(v, 1, MAX_RUNS, &o.runs) == 0;
        else if (ok && strcmp(a, "--fixtures") == 0)
            o.fixtures = v;
        else if (ok && strcmp(a, "--sql") == 0)
            o.sql = v;
        else if (strcmp(a, "--profile") == 0) {
            o.profile = 1;
            continue;
        } else if (strcmp(a, "--app-ids") == 0) {
            o.app_ids = 1;
            continue;
        } else
            ok = 0;
        if (!ok) {
            usage();
            return 2;
        }
        i++;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "kf-store-speed: sodium_init failed\n");
        return 1;
    }
    for (uint64_t k = 0; k < o.runs; k++) {
        r = run_once(&o, &st_us[k], &pr_us[k], &ve_us[k]);
        if (r < 0) {
            fprintf(stderr, "kf-store-speed: run %llu failed: %s\n", (unsigned long long)k + 1,
                    strerror(-r));
            return 1;
        }
        ratio[k] = st_us[k] / ve_us[k];
        fprintf(stderr,
                "run %llu: commit %.2f us/frame (process %.2f), verify %.2f us, ratio %.3f\n",
                (unsigned long long)k + 1, st_us[k], pr_us[k], ve_us[k], ratio[k]);
    }
    if (o.profile) {
        double frames = (double)(o.devices * o.frames * o.runs);

        qsort(prof, nprof, sizeof(prof[0]), prof_cmp);
        fprintf(stderr, "per frame, all runs (SQLite wall time; statements cut at 90 chars):\n");
        for (size_t i = 0; i < nprof && prof[i].ns / frames >= 10; i++)
            fprintf(stderr, "  %7.2f us  %6.3f calls  %.90s\n", prof[i].ns / frames / 1e3,
                    (double)prof[i].calls / frames, prof[i].sql);
    }
    printf("{\"devices\":%llu,\"frames_per_device\":%llu,\"records\":%llu,\"batch\":%llu,"
           "\"runs\":%llu,\"commit_us\":%.2f,\"process_us\":%.2f,\"verify_us\":%.2f,"
           "\"commit_per_verify\":%.3f}\n",
           (unsigned long long)o.devices, (unsigned long long)o.frames, (unsigned long long)o.nrec,
           (unsigned long long)o.batch, (unsigned long long)o.runs, kf_bench_median(st_us, o.runs),
           kf_bench_median(pr_us, o.runs), kf_bench_median(ve_us, o.runs),
           kf_bench_median(ratio, o.runs));
    return 0;
}
