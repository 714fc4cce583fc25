/* core/outbox.c: the outbox's queue operations: append, peek, ack, rebase, and the clock
 * regimes (outbox.h). The file, its schema and statements are outbox_db.c's.
 *
 * The one meta row is updated in the same transaction as the records it describes, so the
 * statistics are exact and O(1) to read; records held = next_seq - 1 - acked_seq because the
 * run is contiguous.
 */
#include "core/outbox_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/record.h>

#define OB_DAY_MS INT64_C(86400000)
/* The ts a digest gives a record whose line had none: the earliest a record may have
 * (docs/PROTOCOL.md section 7), so that the record still formats. */
#define OB_DIGEST_NO_TS INT64_C(1577836800000)

static int ob_meta_store(struct kf_outbox *ob, const struct kf__outbox_meta *m)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_META_PUT];
    int r;

    if ((r = kf__outbox_bind_u64(s, 1, m->next_seq)) < 0 ||
        (r = kf__outbox_bind_u64(s, 2, m->acked_seq)) < 0 ||
        (r = kf__outbox_bind_u64(s, 3, m->bytes)) < 0 ||
        (r = kf__outbox_bind_u64(s, 4, m->health)) < 0 ||
        (r = kf__outbox_bind_u64(s, 5, m->health_dropped)) < 0) {
        kf__outbox_done(s);
        return r;
    }
    return kf__outbox_exec(ob, KF__OUTBOX_META_PUT);
}

/* BEGIN IMMEDIATE and re-read meta inside the write lock, so the cache is right even if
 * some other connection wrote the file since we last looked. */
static int ob_begin(struct kf_outbox *ob, struct kf__outbox_meta *ret)
{
    int r = kf__outbox_exec(ob, KF__OUTBOX_BEGIN);

    if (r < 0)
        return r;
    r = kf__outbox_meta_load(ob, ret);
    if (r < 0)
        kf__outbox_exec(ob, KF__OUTBOX_ROLLBACK);
    return r;
}

/* COMMIT, then publish m as the cached meta; ROLLBACK if the commit fails. */
static int ob_commit(struct kf_outbox *ob, const struct kf__outbox_meta *m)
{
    int r = kf__outbox_exec(ob, KF__OUTBOX_COMMIT);

    if (r < 0) {
        if (!sqlite3_get_autocommit(ob->db))
            kf__outbox_exec(ob, KF__OUTBOX_ROLLBACK);
        return r;
    }
    ob->meta = *m;
    return 0;
}

static int ob_insert(struct kf_outbox *ob, uint64_t seq, const struct kf_outbox_rec *rec)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_INSERT];
    int r;

    if ((r = kf__outbox_bind_u64(s, 1, seq)) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int(s, 2, rec->type))) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int64(s, 3, rec->ts_ms))) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int64(s, 4, (sqlite3_int64)rec->json_len))) < 0 ||
        (r = kf__outbox_err(
             sqlite3_bind_text(s, 5, rec->json, (int)rec->json_len, SQLITE_STATIC))) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int64(s, 6, ob->boot))) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int64(s, 7, ob->base_ms))) < 0) {
        kf__outbox_done(s);
        return r;
    }
    return kf__outbox_exec(ob, KF__OUTBOX_INSERT);
}

static int ob_rec_valid(const struct kf_outbox_rec *rec)
{
    return rec->type >= KF_REC_TXN && rec->type <= KF_REC_CMD_RESULT && rec->json != NULL &&
           rec->json_len > 0 && rec->json_len <= INT_MAX;
}

int kf_outbox_app_digest(const struct kf_record *rec, int ts_given,
                         uint8_t ret[KF_OUTBOX_APP_DIGEST])
{
    crypto_generichash_state st;
    struct kf_record r = *rec;
    char json[KF_RECORD_JSON_MAX + 1];
    const uint8_t ts_mark = ts_given ? 1 : 0;
    size_t len;

    if (!ts_given)
        r.ts_ms = OB_DIGEST_NO_TS;
    if (kf_record_format(&r, json, sizeof(json), &len) < 0)
        return -EINVAL;
    /* The mark keeps a line with "ts":1577836800000 apart from one without a ts. */
    crypto_generichash_init(&st, NULL, 0, KF_OUTBOX_APP_DIGEST);
    crypto_generichash_update(&st, (const uint8_t *)"kf-app-digest-1", 15);
    crypto_generichash_update(&st, &ts_mark, 1);
    crypto_generichash_update(&st, (const uint8_t *)json, len);
    crypto_generichash_final(&st, ret, KF_OUTBOX_APP_DIGEST);
    return 0;
}

/* Inside the append's transaction: forget the ids past the retention window, then look app
 * up. Returns 0 with *ret_taken NEW, or REPEAT / REUSED and *ret_seq; or -errno. */
static int ob_app_lookup(struct kf_outbox *ob, const struct kf_outbox_app *app, int *ret_taken,
                         uint64_t *ret_seq)
{
    int64_t keep_ms = (int64_t)ob->lim.app_ids_keep_days * OB_DAY_MS;
    sqlite3_stmt *s = ob->st[KF__OUTBOX_APP_FORGET_OLD];
    int r, rc;

    if (app->now_ms > INT64_MIN + keep_ms) {
        if ((r = kf__outbox_err(sqlite3_bind_int64(s, 1, app->now_ms - keep_ms))) < 0) {
            kf__outbox_done(s);
            return r;
        }
        if ((r = kf__outbox_exec(ob, KF__OUTBOX_APP_FORGET_OLD)) < 0)
            return r;
    }
    s = ob->st[KF__OUTBOX_APP_GET];
    if ((r = kf__outbox_err(sqlite3_bind_text(s, 1, app->id, -1, SQLITE_STATIC))) < 0) {
        kf__outbox_done(s);
        return r;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *d = sqlite3_column_blob(s, 1);
        int same = d != NULL && sqlite3_column_bytes(s, 1) == KF_OUTBOX_APP_DIGEST &&
                   memcmp(d, app->digest, KF_OUTBOX_APP_DIGEST) == 0;

        *ret_seq = kf__outbox_col_u64(s, 0);
        *ret_taken = same ? KF_OUTBOX_APP_REPEAT : KF_OUTBOX_APP_REUSED;
        r = 0;
    } else if (rc == SQLITE_DONE) {
        *ret_taken = KF_OUTBOX_APP_NEW;
        r = 0;
    } else {
        r = kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO;
    }
    kf__outbox_done(s);
    return r;
}

/* Inside the append's transaction: take app for seq, and keep at most app_ids_max ids. */
static int ob_app_take(struct kf_outbox *ob, const struct kf_outbox_app *app, uint64_t seq)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_APP_PUT];
    int r;

    if ((r = kf__outbox_err(sqlite3_bind_text(s, 1, app->id, -1, SQLITE_STATIC))) < 0 ||
        (r = kf__outbox_bind_u64(s, 2, seq)) < 0 ||
        (r = kf__outbox_err(
             sqlite3_bind_blob(s, 3, app->digest, KF_OUTBOX_APP_DIGEST, SQLITE_STATIC))) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int64(s, 4, app->now_ms))) < 0) {
        kf__outbox_done(s);
        return r;
    }
    if ((r = kf__outbox_exec(ob, KF__OUTBOX_APP_PUT)) < 0)
        return r;
    s = ob->st[KF__OUTBOX_APP_FORGET_MANY];
    if ((r = kf__outbox_bind_u64(s, 1, ob->lim.app_ids_max)) < 0) {
        kf__outbox_done(s);
        return r;
    }
    return kf__outbox_exec(ob, KF__OUTBOX_APP_FORGET_MANY);
}

/* The one write path for appends (outbox_int.h). Hard limits are checked for the non-health records
 * of the whole batch first (all or nothing); health samples then take only the room those leave.
 * With app (one record, not a health sample), the id is looked up first in the same
 * transaction: if taken, nothing is written and *ret_taken and *ret_first_seq say by what. */
int kf__outbox_append_batch(struct kf_outbox *ob, const struct kf_outbox_rec *recs, size_t n,
                            const struct kf_outbox_app *app, kf__outbox_txn_fn also, void *also_ud,
                            size_t *ret_appended, size_t *ret_dropped, uint64_t *ret_first_seq,
                            int *ret_taken)
{
    struct kf__outbox_meta m;
    uint64_t need_recs = 0, need_bytes = 0, held, taken_seq = 0;
    size_t appended = 0, dropped = 0;
    int taken = KF_OUTBOX_APP_NEW;
    int r;

    if (ob == NULL || (recs == NULL && n > 0))
        return -EINVAL;
    if (app != NULL && (n != 1 || recs[0].type == KF_REC_HEALTH || app->id == NULL ||
                        app->id[0] == '\0' || strnlen(app->id, KF_APP_ID_MAX + 1) > KF_APP_ID_MAX))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!ob_rec_valid(&recs[i]))
            return -EINVAL;
    }
    if (n == 0) {
        *ret_appended = 0;
        *ret_dropped = 0;
        return 0;
    }

    r = ob_begin(ob, &m);
    if (r < 0)
        return r;
    if (app != NULL) {
        r = ob_app_lookup(ob, app, &taken, &taken_seq);
        if (r < 0)
            goto out_rollback;
        if (taken != KF_OUTBOX_APP_NEW) {
            /* Nothing to write; forgetting old ids can wait for the next new one. */
            kf__outbox_rollback(ob);
            *ret_appended = 0;
            *ret_dropped = 0;
            *ret_first_seq = taken_seq;
            *ret_taken = taken;
            return 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (recs[i].type != KF_REC_HEALTH) {
            need_recs++;
            need_bytes += recs[i].json_len;
        }
    }
    held = m.next_seq - 1 - m.acked_seq;
    if (held + need_recs > ob->lim.max_records || m.bytes + need_bytes > ob->lim.max_bytes) {
        r = -EDQUOT;
        goto out_rollback;
    }

    for (size_t i = 0; i < n; i++) {
        const struct kf_outbox_rec *rec = &recs[i];

        if (rec->type == KF_REC_HEALTH) {
            if (m.health >= ob->lim.max_health || held + 1 + need_recs > ob->lim.max_records ||
                m.bytes + rec->json_len + need_bytes > ob->lim.max_bytes) {
                m.health_dropped++;
                dropped++;
                continue;
            }
            m.health++;
        } else {
            need_recs--;
            need_bytes -= rec->json_len;
        }
        r = ob_insert(ob, m.next_seq, rec);
        if (r == 0 && app != NULL)
            r = ob_app_take(ob, app, m.next_seq);
        if (r < 0)
            goto out_rollback;
        m.next_seq++;
        m.bytes += rec->json_len;
        held++;
        appended++;
    }

    if (also != NULL && (r = also(ob, also_ud, m.next_seq - 1)) < 0)
        goto out_rollback;
    r = ob_meta_store(ob, &m);
    if (r < 0)
        goto out_rollback;
    r = ob_commit(ob, &m);
    if (r < 0)
        return r;
    *ret_appended = appended;
    *ret_dropped = dropped;
    if (ret_first_seq != NULL)
        *ret_first_seq = m.next_seq - appended;
    if (ret_taken != NULL)
        *ret_taken = KF_OUTBOX_APP_NEW;
    return 0;

out_rollback:
    kf__outbox_rollback(ob);
    return r;
}

int kf_outbox_append(struct kf_outbox *ob, int type, int64_t ts_ms, const char *json, size_t len,
                     uint64_t *ret_seq)
{
    const struct kf_outbox_rec rec = {.type = type, .ts_ms = ts_ms, .json = json, .json_len = len};
    size_t appended, dropped;
    uint64_t seq;
    int r;

    r = kf__outbox_append_batch(ob, &rec, 1, NULL, NULL, NULL, &appended, &dropped, &seq, NULL);
    if (r < 0)
        return r;
    if (dropped > 0)
        return -ENOBUFS; /* counted and committed, but no seq */
    if (ret_seq != NULL)
        *ret_seq = seq;
    return 0;
}

int kf_outbox_append_app(struct kf_outbox *ob, const struct kf_outbox_rec *rec,
                         const struct kf_outbox_app *app, uint64_t *ret_seq, int *ret_taken)
{
    size_t appended, dropped;
    uint64_t seq;
    int taken, r;

    if (rec == NULL || app == NULL)
        return -EINVAL;
    r = kf__outbox_append_batch(ob, rec, 1, app, NULL, NULL, &appended, &dropped, &seq, &taken);
    if (r < 0)
        return r;
    if (ret_seq != NULL)
        *ret_seq = seq;
    if (ret_taken != NULL)
        *ret_taken = taken;
    return 0;
}

int kf_outbox_append_many(struct kf_outbox *ob, const struct kf_outbox_rec *recs, size_t n,
                          size_t *ret_appended)
{
    size_t appended, dropped;
    int r;

    r = kf__outbox_append_batch(ob, recs, n, NULL, NULL, NULL, &appended, &dropped, NULL, NULL);
    if (r < 0)
        return r;
    if (ret_appended != NULL)
        *ret_appended = appended;
    return 0;
}

/* *ret_n is written whenever the walk ran (0, or a callback's non-zero value); it counts the
 * callbacks made, including one that stopped the walk. cb must not call into this outbox. */
int kf_outbox_peek(struct kf_outbox *ob, uint64_t from_seq, uint32_t max_records, size_t max_bytes,
                   kf_outbox_visit_cb cb, void *ud, uint32_t *ret_n)
{
    sqlite3_stmt *s;
    uint64_t total = 0;
    uint32_t n = 0;
    int r, rc = SQLITE_DONE;

    if (ob == NULL || cb == NULL)
        return -EINVAL;
    s = ob->st[KF__OUTBOX_PEEK];
    if (from_seq > (uint64_t)INT64_MAX)
        from_seq = (uint64_t)INT64_MAX;
    if ((r = kf__outbox_bind_u64(s, 1, from_seq)) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int64(s, 2, (sqlite3_int64)max_records))) < 0)
        goto out_reset;

    r = 0;
    while (n < max_records && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct kf_outbox_rec rec;
        sqlite3_int64 len = sqlite3_column_int64(s, 3);

        if (len < 0 || (n > 0 && total + (uint64_t)len > max_bytes))
            break;
        rec.seq = kf__outbox_col_u64(s, 0);
        rec.type = sqlite3_column_int(s, 1);
        rec.ts_ms = sqlite3_column_int64(s, 2);
        rec.json = (const char *)sqlite3_column_text(s, 4);
        rec.json_len = (size_t)sqlite3_column_bytes(s, 4);
        rec.boot = (uint32_t)sqlite3_column_int64(s, 5);
        rec.base_ms = sqlite3_column_int64(s, 6);
        if (rec.json == NULL) {
            r = -ENOMEM; /* the only way a NOT NULL TEXT column reads back NULL */
            goto out_reset;
        }
        total += (uint64_t)len;
        n++;
        r = cb(ud, &rec);
        if (r != 0)
            break;
    }
    if (r == 0 && n < max_records && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r = kf__outbox_err(rc);
        goto out_reset;
    }
    if (ret_n != NULL)
        *ret_n = n;

out_reset:
    kf__outbox_done(s);
    return r;
}

int kf_outbox_ack(struct kf_outbox *ob, uint64_t hwm)
{
    struct kf__outbox_meta m;
    sqlite3_stmt *s;
    uint64_t gone, gone_bytes, gone_health;
    int r, rc;

    if (ob == NULL)
        return -EINVAL;
    if (hwm <= ob->meta.acked_seq)
        return 0; /* old or repeated ack */
    if (hwm >= ob->meta.next_seq)
        return -ERANGE;

    r = ob_begin(ob, &m);
    if (r < 0)
        return r;
    if (hwm <= m.acked_seq) {
        r = 0;
        goto out_rollback;
    }
    if (hwm >= m.next_seq) {
        r = -ERANGE;
        goto out_rollback;
    }

    s = ob->st[KF__OUTBOX_ACK_SUM];
    if ((r = kf__outbox_bind_u64(s, 1, hwm)) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int(s, 2, KF_REC_HEALTH))) < 0) {
        kf__outbox_done(s);
        goto out_rollback;
    }
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        kf__outbox_done(s);
        r = kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO;
        goto out_rollback;
    }
    gone = kf__outbox_col_u64(s, 0);
    gone_bytes = (uint64_t)sqlite3_column_int64(s, 1);
    gone_health = (uint64_t)sqlite3_column_int64(s, 2);
    kf__outbox_done(s);
    if (gone != hwm - m.acked_seq || gone_bytes > m.bytes || gone_health > m.health) {
        r = -EIO; /* the run is not what meta says: leave the file alone */
        goto out_rollback;
    }

    s = ob->st[KF__OUTBOX_ACK_DELETE];
    if ((r = kf__outbox_bind_u64(s, 1, hwm)) < 0) {
        kf__outbox_done(s);
        goto out_rollback;
    }
    r = kf__outbox_exec(ob, KF__OUTBOX_ACK_DELETE);
    if (r < 0)
        goto out_rollback;

    m.acked_seq = hwm;
    m.bytes -= gone_bytes;
    m.health -= gone_health;
    r = ob_meta_store(ob, &m);
    if (r < 0)
        goto out_rollback;
    return ob_commit(ob, &m);

out_rollback:
    kf__outbox_rollback(ob);
    return r;
}

int kf_outbox_rebase(struct kf_outbox *ob, uint64_t hwm)
{
    struct kf__outbox_meta m;
    sqlite3_stmt *s;
    uint64_t delta;
    int r;

    if (ob == NULL)
        return -EINVAL;
    if (hwm < ob->meta.next_seq)
        return -EINVAL; /* an ordinary ack: kf_outbox_ack */
    if (hwm > (uint64_t)INT64_MAX / 2)
        return -ERANGE;
    r = ob_begin(ob, &m);
    if (r < 0)
        return r;
    /* Every held seq is in (acked, next); every new one is past hwm >= next - 1, so no new
     * seq can collide with an old one while the UPDATE runs, whatever its row order. */
    delta = hwm - m.acked_seq;
    s = ob->st[KF__OUTBOX_REBASE];
    if ((r = kf__outbox_bind_u64(s, 1, delta)) < 0) {
        kf__outbox_done(s);
        goto out_rollback;
    }
    r = kf__outbox_exec(ob, KF__OUTBOX_REBASE);
    if (r < 0)
        goto out_rollback;
    /* The ids of held records follow them: a resent line must get the seq it is sent under. */
    s = ob->st[KF__OUTBOX_APP_REBASE];
    if ((r = kf__outbox_bind_u64(s, 1, delta)) < 0 ||
        (r = kf__outbox_bind_u64(s, 2, m.acked_seq)) < 0) {
        kf__outbox_done(s);
        goto out_rollback;
    }
    r = kf__outbox_exec(ob, KF__OUTBOX_APP_REBASE);
    if (r < 0)
        goto out_rollback;
    m.acked_seq = hwm;
    m.next_seq += delta;
    r = ob_meta_store(ob, &m);
    if (r < 0)
        goto out_rollback;
    return ob_commit(ob, &m);

out_rollback:
    kf__outbox_rollback(ob);
    return r;
}

int kf_outbox_stats(struct kf_outbox *ob, struct kf_outbox_stats *ret)
{
    if (ob == NULL || ret == NULL)
        return -EINVAL;
    ret->next_seq = ob->meta.next_seq;
    ret->acked_seq = ob->meta.acked_seq;
    ret->records = ob->meta.next_seq - 1 - ob->meta.acked_seq;
    ret->bytes = ob->meta.bytes;
    ret->health = ob->meta.health;
    ret->health_dropped = ob->meta.health_dropped;
    return 0;
}

int kf_outbox_app_ids(struct kf_outbox *ob, uint64_t *ret)
{
    sqlite3_stmt *s;
    int rc, r;

    if (ob == NULL || ret == NULL)
        return -EINVAL;
    s = ob->st[KF__OUTBOX_APP_COUNT];
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret = kf__outbox_col_u64(s, 0);
        r = 0;
    } else {
        r = kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO;
    }
    kf__outbox_done(s);
    return r;
}

int kf_outbox_boot(struct kf_outbox *ob, const char *boot_id, uint32_t *ret)
{
    sqlite3_stmt *s;
    int r, rc;

    if (ob == NULL || boot_id == NULL || boot_id[0] == '\0' || ret == NULL)
        return -EINVAL;
    for (int pass = 0; pass < 2; pass++) {
        s = ob->st[KF__OUTBOX_BOOT_GET];
        if ((r = kf__outbox_err(sqlite3_bind_text(s, 1, boot_id, -1, SQLITE_STATIC))) < 0) {
            kf__outbox_done(s);
            return r;
        }
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *ret = (uint32_t)sqlite3_column_int64(s, 0);
            kf__outbox_done(s);
            return 0;
        }
        kf__outbox_done(s);
        if (rc != SQLITE_DONE || pass == 1)
            return rc == SQLITE_DONE ? -EIO : kf__outbox_err(rc);
        s = ob->st[KF__OUTBOX_BOOT_ADD];
        if ((r = kf__outbox_err(sqlite3_bind_text(s, 1, boot_id, -1, SQLITE_STATIC))) < 0) {
            kf__outbox_done(s);
            return r;
        }
        if ((r = kf__outbox_exec(ob, KF__OUTBOX_BOOT_ADD)) < 0)
            return r;
    }
    return -EIO;
}

void kf_outbox_set_clock(struct kf_outbox *ob, uint32_t boot, int64_t base_ms)
{
    ob->boot = boot;
    ob->base_ms = base_ms;
}

int kf_outbox_clock_put(struct kf_outbox *ob, uint32_t boot, int64_t offset_ms, int64_t base_ms)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CLOCK_PUT];
    int r;

    if ((r = kf__outbox_err(sqlite3_bind_int64(s, 1, boot))) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int64(s, 2, offset_ms))) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int64(s, 3, base_ms))) < 0) {
        kf__outbox_done(s);
        return r;
    }
    return kf__outbox_exec(ob, KF__OUTBOX_CLOCK_PUT);
}

int kf_outbox_clock_get(struct kf_outbox *ob, uint32_t boot, int64_t *ret_offset_ms,
                        int64_t *ret_base_ms)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CLOCK_GET];
    int r, rc;

    if ((r = kf__outbox_err(sqlite3_bind_int64(s, 1, boot))) < 0) {
        kf__outbox_done(s);
        return r;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret_offset_ms = sqlite3_column_int64(s, 0);
        *ret_base_ms = sqlite3_column_int64(s, 1);
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? -ENOENT : kf__outbox_err(rc);
    }
    kf__outbox_done(s);
    return r;
}
