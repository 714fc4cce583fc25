/* store/sqlite/audit.c: re-verify the stored evidence, as an auditor would (docs/STORE.md).
 *
 * Every envelope is parsed and its Ed25519 signature checked against the key registered
 * for its device and epoch; its body is decompressed and every record compared with the
 * stored row for (device, seq); records without an envelope and (device, seq) pairs stored
 * twice are counted; usage_daily is compared with the aggregation of the transactions, both
 * ways, and each usage rollup with what it sums (v12). Read-only: it runs on a
 * KF_STORE_RDONLY connection while kioskd serves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/err.h>
#include <kf/record.h>

#include "store/audit.h"
#include "store/sqlite/int.h"

static const char sql_envelopes[] =
    "SELECT e.id, e.device_id, e.key_epoch, e.topic, e.raw, e.seq_first, e.count, k.pk"
    " FROM envelopes e LEFT JOIN device_keys k"
    " ON k.device_id = e.device_id AND k.epoch = e.key_epoch ORDER BY e.id";
/* The row for (device ?1, seq ?2): under the envelope being checked (?3), or, when that frame
 * repeated a record already stored, under the earlier envelope of the device that holds it,
 * which starts at most KF_ENV_MAX_RECORDS - 1 before it (?4). */
static const char sql_record[] =
    "SELECT type, device_ts_ms, item, outcome, dur_ms, app_id, flags FROM records"
    " WHERE envelope_id = ?3 AND seq = ?2 AND device_id = ?1"
    " UNION ALL SELECT r.type, r.device_ts_ms, r.item, r.outcome, r.dur_ms, r.app_id, r.flags"
    " FROM envelopes e JOIN records r ON r.envelope_id = e.id AND r.seq = ?2"
    " WHERE e.device_id = ?1 AND e.seq_first BETWEEN ?4 AND ?2 AND e.id <> ?3"
    " AND r.device_id = ?1 LIMIT 1";
/* A record kept apart for repeating an application id: another record of the device counts
 * under that id. */
static const char sql_app_counted[] =
    "SELECT 1 FROM records WHERE device_id = ?1 AND app_id = ?2 AND seq <> ?3";
static const char sql_orphans[] = "SELECT count(*) FROM records r WHERE NOT EXISTS"
                                  " (SELECT 1 FROM envelopes e WHERE e.id = r.envelope_id)";
/* No key makes (device, seq) unique any more (records are kept in commit order: STORE.md),
 * and a record stored twice would verify against its frame and match usage_daily, which
 * would count it twice too: so it is counted here, at the price of one sort of records. */
static const char sql_repeated[] = "SELECT count(*) FROM (SELECT 1 FROM records"
                                   " GROUP BY device_id, seq HAVING count(*) > 1)";
static const char sql_usage[] =
    "SELECT (SELECT count(*) FROM (SELECT day, zone_id, asset_id, device_id, item,"
    " sum(outcome = 'ok'), sum(outcome = 'failed'), sum(outcome = 'abandoned'), sum(dur_ms)"
    " FROM txns GROUP BY 1, 2, 3, 4, 5 EXCEPT SELECT day, zone_id, asset_id, device_id, item,"
    " ok, failed, abandoned, dur_ms_total FROM usage_daily))"
    " + (SELECT count(*) FROM (SELECT day, zone_id, asset_id, device_id, item, ok, failed,"
    " abandoned, dur_ms_total FROM usage_daily EXCEPT SELECT day, zone_id, asset_id, device_id,"
    " item, sum(outcome = 'ok'), sum(outcome = 'failed'), sum(outcome = 'abandoned'),"
    " sum(dur_ms) FROM txns GROUP BY 1, 2, 3, 4, 5))";

/* Each rollup against what it rolls up, so that with usage_daily equal to the txns every
 * figure read from a rollup is the txns' (docs/STORE.md, "Usage rollups"): usage_monthly
 * against usage_daily, usage_yearly against usage_monthly. In one pass per rollup: the finer
 * rows with their sums, the rollup's with theirs negated; every key must then hold exactly
 * one rollup row (n) and sum to nothing. */
#define ROLLUP_CHECK(key, fine, rollup)                                                            \
    "(SELECT count(*) FROM (SELECT 1 FROM (SELECT " key ", 0 AS n, ok, failed, abandoned,"         \
    " dur_ms_total AS dur FROM " fine " UNION ALL SELECT " key ", 1, -ok, -failed, -abandoned,"    \
    " -dur_ms_total FROM " rollup ") GROUP BY " key " HAVING sum(n) <> 1 OR sum(ok) <> 0"          \
    " OR sum(failed) <> 0 OR sum(abandoned) <> 0 OR sum(dur) <> 0))"
static const char sql_rollups[] = "SELECT " ROLLUP_CHECK(
    "month, device_id, zone_id, item",
    "(SELECT CAST(strftime('%Y%m', day * 86400, 'unixepoch') AS INTEGER) AS month,"
    " device_id, zone_id, item, ok, failed, abandoned, dur_ms_total FROM usage_daily)",
    "usage_monthly") " + " ROLLUP_CHECK("year, device_id, zone_id, item",
                                        "(SELECT month / 100 AS year, device_id, zone_id,"
                                        " item, ok, failed, abandoned, dur_ms_total"
                                        " FROM usage_monthly)",
                                        "usage_yearly");
#undef ROLLUP_CHECK

struct rec_check {
    struct kf_audit *a;
    sqlite3_stmt *rec, *app;
    const char *device_id;
    uint64_t seq_first;
    int64_t envelope_id;
};

static void problem(struct kf_audit *a, const char *dev, int64_t id, const char *what, uint64_t seq)
{
    if (a->first_problem[0] == '\0')
        snprintf(a->first_problem, sizeof(a->first_problem), "%s: envelope %lld: %s (seq %llu)",
                 dev, (long long)id, what, (unsigned long long)seq);
}

/* The row's application id is the frame's; or the row is kept apart (counted nowhere) and
 * another record of the device counts under that id. A record without one is counted. */
static int app_id_ok(struct rec_check *c, const struct kf_record *r, uint64_t seq)
{
    const char *row_id = (const char *)sqlite3_column_text(c->rec, 5);
    int repeat = (sqlite3_column_int64(c->rec, 6) & KF_STORE_REC_F_APP_REPEAT) != 0;
    int ok;

    if (!r->app_id[0])
        return !row_id && !repeat;
    if (!repeat)
        return row_id && strcmp(row_id, r->app_id) == 0;
    if (row_id)
        return 0;
    sqlite3_bind_text(c->app, 1, c->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->app, 2, r->app_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(c->app, 3, (sqlite3_int64)seq);
    ok = sqlite3_step(c->app) == SQLITE_ROW;
    sqlite3_reset(c->app);
    sqlite3_clear_bindings(c->app);
    return ok;
}

static int check_record(void *ud, uint32_t index, const struct kf_record *r)
{
    struct rec_check *c = ud;
    uint64_t seq = c->seq_first + index;
    int ok = 0, rc;

    sqlite3_bind_text(c->rec, 1, c->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(c->rec, 2, (sqlite3_int64)seq);
    sqlite3_bind_int64(c->rec, 3, c->envelope_id);
    sqlite3_bind_int64(c->rec, 4, (sqlite3_int64)kf__store_env_reach_lo(seq));
    rc = sqlite3_step(c->rec);
    if (rc == SQLITE_ROW && sqlite3_column_int(c->rec, 0) == r->type &&
        sqlite3_column_int64(c->rec, 1) == r->ts_ms) {
        ok = 1;
        if (r->type == KF_REC_TXN) {
            const char *item = (const char *)sqlite3_column_text(c->rec, 2);
            const char *outcome = (const char *)sqlite3_column_text(c->rec, 3);
            const char *want = kf_outcome_name(r->u.txn.outcome);
            ok = item && outcome && want && strcmp(item, r->u.txn.item) == 0 &&
                 strcmp(outcome, want) == 0 &&
                 sqlite3_column_int64(c->rec, 4) == (sqlite3_int64)r->u.txn.dur_ms;
        }
        if (ok)
            ok = app_id_ok(c, r, seq);
    }
    sqlite3_reset(c->rec);
    sqlite3_clear_bindings(c->rec);
    c->a->records_checked++;
    if (!ok) {
        c->a->record_mismatches++;
        problem(c->a, c->device_id, c->envelope_id, "record differs from its signed frame", seq);
    }
    return 0;
}

static int count1(sqlite3 *db, const char *sql, uint64_t *ret)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    if (rc != SQLITE_OK)
        return kf_err_from_sqlite(rc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : kf_err_from_sqlite(rc);
}

int kf_store_audit(struct kf_store *st, struct kf_audit *ret)
{
    sqlite3 *db = kf__store_db(st);
    sqlite3_stmt *env = NULL, *rec = NULL, *app = NULL;
    struct kf_zctx *z = NULL;
    struct kf_audit a;
    char *body = NULL;
    int r, rc;

    memset(&a, 0, sizeof(a));
    body = malloc(KF_BODY_MAX_BYTES + 1);
    r = body ? kf_zctx_new(3, &z) : -ENOMEM;
    if (r < 0)
        goto out;
    rc = sqlite3_prepare_v2(db, sql_envelopes, -1, &env, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, sql_record, -1, &rec, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, sql_app_counted, -1, &app, NULL);
    if (rc != SQLITE_OK) {
        r = kf_err_from_sqlite(rc);
        goto out;
    }
    while ((rc = sqlite3_step(env)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(env, 0);
        const char *dev = (const char *)sqlite3_column_text(env, 1);
        const char *topic = (const char *)sqlite3_column_text(env, 3);
        const uint8_t *raw = sqlite3_column_blob(env, 4);
        size_t raw_len = (size_t)sqlite3_column_bytes(env, 4);
        uint64_t seq_first = (uint64_t)sqlite3_column_int64(env, 5);
        uint32_t count = (uint32_t)sqlite3_column_int64(env, 6);
        const uint8_t *pk = sqlite3_column_blob(env, 7);
        struct kf_env_view v;
        const char *json;
        size_t blen;

        a.envelopes++;
        if (!pk || sqlite3_column_bytes(env, 7) != 32) {
            a.no_key++;
            problem(&a, dev, id, "no registered key for its epoch", seq_first);
            continue;
        }
        if (kf_env_parse(raw, raw_len, &v) < 0 || strcmp(v.hdr.device_id, dev) != 0 ||
            v.hdr.seq != seq_first || v.hdr.count != count) {
            a.undecodable++;
            problem(&a, dev, id, "not a frame matching its row", seq_first);
            continue;
        }
        if (kf_env_verify(&v, topic ? topic : "", pk) < 0) {
            a.bad_signatures++;
            problem(&a, dev, id, "signature does not verify", seq_first);
            continue;
        }
        if (v.hdr.flags & KF_ENV_F_ZSTD) {
            if (kf_zctx_decompress(z, v.hdr.dict_id, v.body, v.body_len, body, KF_BODY_MAX_BYTES,
                                   &blen) < 0) {
                a.undecodable++;
                problem(&a, dev, id, "body does not decompress", seq_first);
                continue;
            }
            json = body;
        } else {
            json = (const char *)v.body;
            blen = v.body_len;
        }
        struct rec_check c = {&a, rec, app, dev, seq_first, id};
        /* The whole body first: the walk calls back before it has seen a bad record. */
        if (kf_records_parse(json, blen, count, NULL, NULL) < 0 ||
            kf_records_parse(json, blen, count, check_record, &c) < 0) {
            a.undecodable++;
            problem(&a, dev, id, "records do not parse", seq_first);
            continue;
        }
        a.verified++;
    }
    if (rc != SQLITE_DONE) {
        r = kf_err_from_sqlite(rc);
        goto out;
    }
    r = count1(db, sql_orphans, &a.records_without_evidence);
    if (r == 0)
        r = count1(db, sql_repeated, &a.records_repeated);
    if (r == 0)
        r = count1(db, sql_usage, &a.usage_mismatches);
    if (r == 0)
        r = count1(db, sql_rollups, &a.rollup_mismatches);
    if (r == 0)
        r = count1(db, kf__store_device_days_check_sql, &a.device_day_mismatches);
    if (r < 0)
        goto out;
    if (a.records_without_evidence && !a.first_problem[0])
        snprintf(a.first_problem, sizeof(a.first_problem),
                 "%llu record(s) point to no stored envelope",
                 (unsigned long long)a.records_without_evidence);
    if (a.records_repeated && !a.first_problem[0])
        snprintf(a.first_problem, sizeof(a.first_problem),
                 "%llu (device, seq) pair(s) stored more than once",
                 (unsigned long long)a.records_repeated);
    if (a.usage_mismatches && !a.first_problem[0])
        snprintf(a.first_problem, sizeof(a.first_problem),
                 "usage_daily differs from the sum of the transactions in %llu row(s)",
                 (unsigned long long)a.usage_mismatches);
    if (a.rollup_mismatches && !a.first_problem[0])
        snprintf(a.first_problem, sizeof(a.first_problem),
                 "a usage rollup differs from the usage it sums in %llu key(s)",
                 (unsigned long long)a.rollup_mismatches);
    if (a.device_day_mismatches && !a.first_problem[0])
        snprintf(a.first_problem, sizeof(a.first_problem),
                 "device_days differs from the days of the records in %llu (day, device) pair(s)",
                 (unsigned long long)a.device_day_mismatches);
    *ret = a;
out:
    sqlite3_finalize(env);
    sqlite3_finalize(rec);
    sqlite3_finalize(app);
    kf_zctx_free(z);
    free(body);
    return r;
}

int kf_store_audit_clean(const struct kf_audit *a)
{
    return a->no_key == 0 && a->undecodable == 0 && a->bad_signatures == 0 &&
           a->record_mismatches == 0 && a->records_without_evidence == 0 &&
           a->records_repeated == 0 && a->usage_mismatches == 0 && a->rollup_mismatches == 0 &&
           a->device_day_mismatches == 0;
}

int kf_store_frame_get(struct kf_store *st, const char *device_id, uint64_t seq, int64_t by_id,
                       struct kf_store_frame *ret)
{
    static const char sql_by_seq[] =
        "SELECT e.id, e.device_id, e.key_epoch, e.recv_ms, e.topic, e.raw, k.pk"
        " FROM envelopes e LEFT JOIN device_keys k"
        " ON k.device_id = e.device_id AND k.epoch = e.key_epoch"
        " WHERE e.device_id = ?1 AND e.seq_first BETWEEN ?3 AND ?2 AND e.seq_first + e.count > ?2"
        " AND e.kind = 1 ORDER BY e.id LIMIT 1";
    static const char sql_by_id[] =
        "SELECT e.id, e.device_id, e.key_epoch, e.recv_ms, e.topic, e.raw, k.pk"
        " FROM envelopes e LEFT JOIN device_keys k"
        " ON k.device_id = e.device_id AND k.epoch = e.key_epoch WHERE e.id = ?4";
    sqlite3 *db = kf__store_db(st);
    sqlite3_stmt *s = NULL;
    int rc, r = 0;

    memset(ret, 0, sizeof(*ret));
    rc = sqlite3_prepare_v2(db, by_id > 0 ? sql_by_id : sql_by_seq, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return kf_err_from_sqlite(rc);
    if (by_id > 0) {
        sqlite3_bind_int64(s, 4, by_id);
    } else {
        sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)kf__store_env_reach_lo(seq));
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *raw = sqlite3_column_blob(s, 5);
        const void *pk = sqlite3_column_blob(s, 6);
        const char *dev = (const char *)sqlite3_column_text(s, 1);
        const char *topic = (const char *)sqlite3_column_text(s, 4);

        ret->id = sqlite3_column_int64(s, 0);
        snprintf(ret->device_id, sizeof(ret->device_id), "%s", dev ? dev : "");
        ret->key_epoch = (uint32_t)sqlite3_column_int64(s, 2);
        ret->recv_ms = sqlite3_column_int64(s, 3);
        snprintf(ret->topic, sizeof(ret->topic), "%s", topic ? topic : "");
        ret->raw_len = (size_t)sqlite3_column_bytes(s, 5);
        ret->raw = malloc(ret->raw_len + 1);
        if (ret->raw == NULL)
            r = -ENOMEM;
        else if (ret->raw_len)
            memcpy(ret->raw, raw, ret->raw_len);
        if (pk && sqlite3_column_bytes(s, 6) == 32) {
            memcpy(ret->pk, pk, 32);
            ret->has_pk = 1;
        }
    } else {
        r = rc == SQLITE_DONE ? -ENOENT : kf_err_from_sqlite(rc);
    }
    sqlite3_finalize(s);
    return r;
}
