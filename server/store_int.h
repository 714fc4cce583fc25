/* store_int.h: inside the store module only (store.c, store_ingest.c, store_fixtures.c,
 * store_query.c): the connection, its prepared-statement cache and the helpers they share.
 * Nothing outside server/store*.c includes this. Same threading rule as store.h. */
#ifndef KF_SERVER_STORE_INT_H
#define KF_SERVER_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* Ids of the statements kept prepared (their SQL: stmt_sql in store.c). */
enum kf_stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_DEV_GET,
    ST_DEV_SEEN,
    ST_DEV_HELLO,
    ST_DEV_STATE,
    ST_DEV_ACKED,
    ST_ENV_DELETE,
    ST_ENV_INSERT,
    ST_REC_INSERT,
    ST_USAGE_UPSERT,
    ST_HEALTH_UPSERT,
    ST_PERIPH_UPSERT,
    ST_FAULT_INSERT,
    ST_FAULT_STATE,
    ST_HWM_NEXT,
    ST_HWM_EXACT,
    ST_GAP_INSERT,
    ST_REJECT_ADD,
    ST_EXPIRE,
    ST_UNIT_UPSERT,
    ST_BANK_UPSERT,
    ST_FAMILY_UPSERT,
    ST_ZONE_UPSERT,
    ST_ITEM_UPSERT,
    ST_UNIT_EXISTS,
    ST_BANK_EXISTS,
    ST_FAMILY_EXISTS,
    ST_ZONE_EXISTS,
    ST_DEV_EXISTS,
    ST_ASSET_GET,
    ST_ASSET_INSERT,
    ST_DEV_INSERT,
    ST_KEY_INSERT,
    ST_REG_DEVICES,
    ST_REG_KEYS,
    /* issue 3 statements (identity, store_security.c) */
    /* issue 4 statements (fleet state and SLA, store_sla.c) */
    ST_COUNT_
};

struct kf_store {
    sqlite3 *db;
    unsigned flags;
    sqlite3_stmt *stmt[ST_COUNT_];
    char errmsg[256];
};

/* The connection. Borrowed. */
sqlite3 *kf__store_db(struct kf_store *st);
/* Set the message kf_store_errmsg returns. */
void kf__store_seterr(struct kf_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Record an SQLite failure with its message; returns the converted errno. */
int kf__store_sql_fail(struct kf_store *st, int rc, const char *what);

/* The statement for id, prepared on first use and kept (borrowed): bind, step, then
 * kf__store_stmt_done (reset and clear), or kf__store_stmt_run for all three. */
int kf__store_stmt(struct kf_store *st, enum kf_stmt id, sqlite3_stmt **ret);
void kf__store_stmt_done(sqlite3_stmt *s);
/* Step a statement that returns no rows (or whose rows are not wanted), then reset it. */
int kf__store_stmt_run(struct kf_store *st, sqlite3_stmt *s, const char *what);
/* Run the parameterless statement id (BEGIN, COMMIT, ROLLBACK). */
int kf__store_exec_one(struct kf_store *st, enum kf_stmt id);
/* 1 if the single-text-parameter lookup id finds a row, 0 if not, or -errno. */
int kf__store_exists(struct kf_store *st, enum kf_stmt id, const char *key);

/* Open our own transaction unless the caller already holds one (*ret_own says which);
 * kf__store_txn_leave commits it (r == 0) or rolls it back, and returns the outcome. */
int kf__store_txn_enter(struct kf_store *st, int *ret_own);
int kf__store_txn_leave(struct kf_store *st, int own, int r);

#endif
