/* store/sqlite/audit_log.c: the audit log's hash chain (store/audit_log.h): append, read
 * in order, verify. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include <kf/err.h>

#include "rules/logentry.h"
#include "store/audit_log.h"
#include "store/identity.h"
#include "store/sqlite/int.h"

/* The hash and signature of an entry: rules/logentry.h, shared with the bank's checker. */
static void audit_hash(const uint8_t prev[32], int64_t seq, int64_t at_ms, const char *actor,
                       const char *action, const char *subject, const char *detail, uint8_t out[32])
{
    struct kf_log_entry e = {seq, at_ms, actor, action, subject, detail};

    kf_log_entry_hash(prev, &e, out);
}

int kf_store_audit_log_append(struct kf_store *st, int64_t at_ms, const char *actor,
                              const char *action, const char *subject, const char *detail,
                              const uint8_t server_sk[64])
{
    uint8_t prev[32] = {0}, hash[32], sig[64];
    sqlite3_stmt *s = NULL;
    int64_t seq = 1;
    int r, rc, own;

    if (!kf__store_text_ok(actor, KF_ACTOR_MAX) || !kf__store_text_ok(action, 64) ||
        !kf__store_text_ok(subject, 128) || detail == NULL) {
        kf__store_seterr(st, "audit: actor, action and subject are required");
        return -EINVAL;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = kf__store_prep(st, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &s);
    if (r < 0)
        goto out;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        seq = sqlite3_column_int64(s, 0) + 1;
        if (sqlite3_column_bytes(s, 1) == 32)
            memcpy(prev, sqlite3_column_blob(s, 1), 32);
    } else if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "audit head");
    }
    sqlite3_finalize(s);
    if (r < 0)
        goto out;
    audit_hash(prev, seq, at_ms, actor, action, subject, detail, hash);
    crypto_sign_detached(sig, NULL, hash, sizeof(hash), server_sk);
    r = kf__store_prep(
        st,
        "INSERT INTO audit_log(seq, at_ms, actor, action, subject, detail, prev_hash,"
        " hash, sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &s);
    if (r < 0)
        goto out;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_int64(s, 2, at_ms);
    sqlite3_bind_text(s, 3, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, detail, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 7, prev, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 8, hash, 32, SQLITE_STATIC);
    sqlite3_bind_blob(s, 9, sig, 64, SQLITE_STATIC);
    r = kf__store_stmt_run(st, s, "audit insert");
    sqlite3_finalize(s);
out:
    return kf__store_txn_leave(st, own, r);
}

int kf_store_audit_log_each(struct kf_store *st, kf_audit_cb cb, void *ud)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st,
                       "SELECT seq, at_ms, actor, action, subject, detail, prev_hash, hash, sig"
                       " FROM audit_log ORDER BY seq",
                       &s);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct kf_audit_entry e;

        e.seq = sqlite3_column_int64(s, 0);
        e.at_ms = sqlite3_column_int64(s, 1);
        e.actor = kf__store_col_text(s, 2);
        e.action = kf__store_col_text(s, 3);
        e.subject = kf__store_col_text(s, 4);
        e.detail = kf__store_col_text(s, 5);
        kf__store_col_blob(s, 6, e.prev_hash, 32);
        kf__store_col_blob(s, 7, e.hash, 32);
        kf__store_col_blob(s, 8, e.sig, 64);
        r = cb(&e, ud);
        if (r != 0) {
            sqlite3_finalize(s);
            return r;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : kf__store_sql_fail(st, rc, "audit list");
}

struct verify_ctx {
    const uint8_t *pk;
    uint8_t prev[32];
    int64_t n, bad_seq;
    const char *what;
};

static int verify_one(const struct kf_audit_entry *e, void *ud)
{
    struct verify_ctx *v = ud;

    if (e->seq != v->n + 1) {
        v->what = "a gap in the sequence (an entry was removed)";
    } else if (sodium_memcmp(e->prev_hash, v->prev, 32) != 0) {
        v->what = "prev_hash does not match the previous entry's hash";
    } else {
        struct kf_log_entry le = {e->seq, e->at_ms, e->actor, e->action, e->subject, e->detail};
        int c = kf_log_entry_verify(e->prev_hash, &le, e->hash, e->sig, v->pk);

        if (c != KF_LOG_ENTRY_OK)
            v->what = kf_log_entry_check_name(c);
    }
    if (v->what != NULL) {
        v->bad_seq = e->seq;
        return 1;
    }
    memcpy(v->prev, e->hash, 32);
    v->n++;
    return 0;
}

int kf_store_audit_log_verify(struct kf_store *st, const uint8_t server_pk[32], int64_t *ret_n,
                              uint8_t ret_head[32], int64_t *ret_bad_seq, const char **ret_what)
{
    struct verify_ctx v = {.pk = server_pk};
    int r = kf_store_audit_log_each(st, verify_one, &v);

    if (r < 0)
        return r;
    *ret_n = v.n;
    memcpy(ret_head, v.prev, 32);
    if (r == 1) {
        *ret_bad_seq = v.bad_seq;
        *ret_what = v.what;
        return 1;
    }
    return 0;
}
