/* store/sqlite/int.h: inside the SQLite store only (the files of store/sqlite/): the
 * connection, its prepared-statement cache and the helpers they share. Nothing outside
 * store/sqlite/ includes this. Same threading rule as store/store.h. */
#ifndef KF_STORE_SQLITE_INT_H
#define KF_STORE_SQLITE_INT_H

#include <jansson.h>
#include <sqlite3.h>

#include <kf/record.h>

#include "store/ingest.h"
#include "store/query.h"
#include "store/store.h"

/* Ids of the statements kept prepared (their SQL: stmt_sql in stmt.c). */
enum kf_stmt {
    ST_BEGIN,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_DEV_GET,
    ST_DEV_SEEN,
    ST_DEV_HELLO,
    ST_DEV_STATE,
    ST_DEV_ACKED,
    ST_ENV_INSERT,
    ST_HEALTH_UPSERT,
    ST_PERIPH_UPSERT,
    ST_FAULT_INSERT,
    ST_FAULT_STATE,
    ST_ENV_COVER,
    ST_HWM_WALK,
    ST_HWM_NEXT,
    ST_HWM_QUARANTINE,
    ST_QUARANTINE_RELEASE,
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
    ST_BROKER_PUT,
    ST_BROKER_DEL,
    ST_BROKER_EACH,
    /* issue 3 statements (identity, store/sqlite/broker.c, store_security.c) */
    /* issue 4 statements (fleet state and SLA, store/sqlite/sla.c) */
    ST_SLA_FACT_INSERT,
    ST_SLA_EXPIRE_FACTS,
    ST_SLA_PERIPH_PREV,
    ST_SLA_FAULT_PREV,
    ST_SLA_MAINT_PREV,
    ST_SLA_MAINT_UPSERT,
    /* v9: conflicts and application ids (store/sqlite/conflict.c) */
    ST_ENV_RAW,
    ST_CONFLICT_INSERT,
    ST_APP_FIRST,
    ST_APP_DUP_INSERT,
    ST_COUNT_
};

/* Tables the group commit writes many rows of at once (stmt.c's multi_sql, kf__store_multi_*). */
enum kf_multi {
    MT_RECORDS, /* a frame's records */
    MT_USAGE,   /* the commit's usage_daily sums */
    /* v12: the rollups of those sums (ingest_usage.c) */
    MT_USAGE_MONTHLY,
    MT_USAGE_YEARLY,
    /* v14: the (day, device) pairs of the commit's records (device_days.c) */
    MT_DEVICE_DAYS,
    MT_COUNT_
};
#define KF_MULTI_SHIFT_MAX 5 /* statements of 1, 2, 4, ..., 32 rows */

struct kf_store {
    sqlite3 *db;
    unsigned flags;
    sqlite3_stmt *stmt[ST_COUNT_];
    sqlite3_stmt *multi[MT_COUNT_][KF_MULTI_SHIFT_MAX + 1]; /* by log2 of the rows */
    char errmsg[256];
    uint64_t sla_facts;    /* facts written for the SLA engine (kf_store_sla_facts_written) */
    struct kf__ckpt *ckpt; /* the checkpointer thread (store/sqlite/ckpt.c), or NULL */
    int lock_fd;           /* KF_STORE_WRITER: the writer lock (store/sqlite/lock.c), or -1 */
    /* Decoding stored frames (store/sqlite/conflict.c), made on first use: */
    struct kf_zctx *zctx;
    char *body; /* KF_BODY_MAX_BYTES + 1 */
    /* Bundles (store/sqlite/blobs.c, kf_store_blob_limits): 0 = the defaults. */
    uint64_t blob_max_total;
    int64_t blob_keep_ms;
};

/* The writer lock of the store at path (store/sqlite/lock.c): an open file description lock
 * on "<path>.lock", holding the holder's pid as text. 0 with the fd in *ret_fd (closing it
 * releases the lock), -EBUSY when another holds it, or -errno. */
int kf__store_lock(const char *path, int *ret_fd);

/* Stop and join the checkpointer, if any (kf_store_free). */
void kf__store_checkpointer_stop(struct kf_store *st);

/* Schema migrations defined beside their code (NULL-terminated lists of statements; the
 * order is store.c's migrations[]). */
extern const char *const kf__store_schema_broker[];     /* v2: store/sqlite/broker.c */
extern const char *const kf__store_schema_identity[];   /* v3: store/sqlite/identity.c */
extern const char *const kf__store_schema_sla[];        /* v4: store/sqlite/sla.c */
extern const char *const kf__store_schema_quarantine[]; /* v5: store/sqlite/quarantine.c */
extern const char *const kf__store_schema_sla_late[];   /* v6: store/sqlite/sla.c */
extern const char *const kf__store_schema_records[];    /* v7: store/sqlite/ingest.c */
extern const char *const kf__store_schema_usage[];      /* v8: store/sqlite/ingest.c */
extern const char *const kf__store_schema_conflicts[];  /* v9: store/sqlite/conflict.c */
extern const char *const kf__store_schema_sla_forced[]; /* v10: store/sqlite/sla.c */
extern const char *const kf__store_schema_billing[];    /* v11: store/sqlite/billing.c */
extern const char *const kf__store_schema_rollups[];    /* v12: store/sqlite/ingest_usage.c */
extern const char *const kf__store_schema_reports[];    /* v13: store/sqlite/reports_docs.c */
extern const char *const kf__store_schema_users[];      /* v14: store/sqlite/users.c */
extern const char *const kf__store_schema_sla_assign[]; /* v15: store/sqlite/sla.c */
extern const char *const kf__store_schema_commands[];   /* v16: store/sqlite/commands.c */
/* v17: store/sqlite/device_days.c */
extern const char *const kf__store_schema_device_days[];
extern const char *const kf__store_schema_inventory[]; /* v18: store/sqlite/inventory.c */
extern const char *const kf__store_schema_rollouts[];  /* v19: store/sqlite/rollouts.c */

/* records.flags bits the store adds to the usage flags (rules/usage.h: KF_USAGE_F_*). */
#define KF_STORE_REC_F_APP_REPEAT 0x100u /* repeats an app_id: kept, counted nowhere */

/* Conflicts and application ids (store/sqlite/conflict.c), inside the group commit.
 * conflict_find: compare the frame's records at the seqs have marks (bit i: seq + i) with the
 * stored frames env_ids; *ret_seq is the first seq whose record differs (0: none) and
 * *ret_env the stored frame holding it. conflict_keep: keep the frame in seq_conflicts.
 * app_first: 1 and *ret_seq when the device has a counted record with app_id, 0 when not.
 * app_duplicate: note a record kept apart for repeating first_seq's app_id. */
int kf__store_conflict_find(struct kf_store *st, const struct kf_ingest *in, const int64_t *env_ids,
                            size_t nenv, const uint64_t *have, uint64_t *ret_seq, int64_t *ret_env);
int kf__store_conflict_keep(struct kf_store *st, const struct kf_ingest *in, uint64_t conflict_seq,
                            int64_t stored_env);
int kf__store_app_first(struct kf_store *st, const char *device_id, const char *app_id,
                        uint64_t *ret_seq);
int kf__store_app_duplicate(struct kf_store *st, const struct kf_ingest *in, uint64_t seq,
                            const char *app_id, uint64_t first_seq, int64_t env_id);

/* Facts for the SLA engine (store/sqlite/sla.c), written by the group commit
 * (store/sqlite/ingest.c) in its transaction, and only when a state actually changes: each compares
 * with the state the commit is about to overwrite, so call it before that state's own update. */
struct kf__store_sla_src {
    const char *device_id, *asset_id;
    int64_t recv_ms; /* the frame's receipt */
};
/* online: 1/0; how: enum kf_presence_src (connect, will). Dated at receipt. */
int kf__store_sla_presence(struct kf_store *st, const struct kf__store_sla_src *src, int online,
                           int how);
/* A record's fact, dated min(effective time, receipt). seq orders it against the state. */
int kf__store_sla_periph(struct kf_store *st, const struct kf__store_sla_src *src, uint64_t seq,
                         const struct kf_rec_periph *p, int64_t eff_ms);
int kf__store_sla_fault(struct kf_store *st, const struct kf__store_sla_src *src, uint64_t seq,
                        const struct kf_rec_fault *f, int64_t eff_ms);
/* Also keeps maint_latest (the record type has no other table). */
int kf__store_sla_maint(struct kf_store *st, const struct kf__store_sla_src *src, uint64_t seq,
                        const struct kf_rec_maint *m, int64_t eff_ms);
/* Commands (store/sqlite/commands.c), inside the group commit: what a device's HELLO says
 * of them (its "cmd" object: the highest command seq it accepted, its refusal counters;
 * advisory, a body without one changes nothing), and a cmd_result record's outcome. */
int kf__store_cmd_hello(struct kf_store *st, const char *device_id, json_t *hello, int64_t now_ms);
/* The HELLO's "inv" (store/sqlite/inventory.c), in the same commit: 0 also when the
 * inventory is refused (noted on the row); -errno only for the store's own failures. */
int kf__store_inv_hello(struct kf_store *st, const char *device_id, json_t *hello, int64_t now_ms);
int kf__store_cmd_result(struct kf_store *st, const char *device_id, uint64_t seq,
                         const struct kf_rec_cmd_result *res, int64_t recv_ms);
/* Bundles (store/sqlite/blobs.c), inside the group commit: a BLOB frame's chunk stored
 * (idempotent), its bundle verified when whole (out's blob_have/blob_state for the
 * BLOB_ACK); and a logs command settled (done only when its bundle is whole and matches the
 * SHA-256 its cmd_result named; failed when the bundle was refused). */
struct kf_commit_out;
int kf__store_blob_chunk(struct kf_store *st, const struct kf_ingest *in, int64_t now_ms,
                         struct kf_commit_out *out);
int kf__store_blob_settle(struct kf_store *st, const char *device_id, uint64_t cmd_seq,
                          int64_t now_ms);
extern const char *const kf__store_schema_blobs[];       /* v18: store/sqlite/blobs.c */
extern const char *const kf__store_schema_artifacts[];   /* v19: store/sqlite/artifacts.c */
extern const char *const kf__store_schema_period[];      /* v22: store/sqlite/period.c */
extern const char *const kf__store_schema_sla_columns[]; /* v23: store/sqlite/sla.c */
/* Heartbeat expiry: an offline fact dated at the last sight of every device about to be
 * marked offline (call before ST_EXPIRE, same cutoff). */
int kf__store_sla_expire(struct kf_store *st, int64_t cutoff_ms, int64_t now_ms);

/* Helpers for statements prepared per call (rare paths: store/sqlite/identity.c, store_sla*.c;
 * defined in store/sqlite/sla.c):
 * prepare (0 or the converted error, with a message), grow an array to hold n + 1 elements,
 * read a text column ("" for NULL) or copy it (truncated to cap), bind text or an instant
 * that is NULL when empty or 0. */
int kf__store_prep(struct kf_store *st, const char *sql, sqlite3_stmt **ret);
int kf__store_grow(void **arr, size_t *cap, size_t n, size_t elem);
/* Read one row of s into row, which arrives zeroed: 0, or -errno having set the message
 * (a row that is not readable ends the whole read). */
typedef int (*kf__store_fill_fn)(struct kf_store *st, sqlite3_stmt *s, void *row);
/* Step s (from kf__store_prep, bound) to its end into an array of elem-byte rows, fill
 * reading each, in order. A failed step sets "what: <SQLite's message>"; running out of
 * memory returns -ENOMEM and leaves the message alone. s is finalized either way. On success
 * *ret (NULL when no row) and *ret_n are the caller's, to free; on failure they are left
 * untouched, so they may be the caller's live fields. */
int kf__store_rows(struct kf_store *st, sqlite3_stmt *s, size_t elem, kf__store_fill_fn fill,
                   const char *what, void **ret, size_t *ret_n);
/* The lowest seq an envelope can start at and still hold seq s (s >= 1): one holds at most
 * KF_ENV_MAX_RECORDS records. Bounds every look behind a seq (the mark walk, which seqs a
 * frame repeats, the audit's search for a repeated record). */
static inline uint64_t kf__store_env_reach_lo(uint64_t s)
{
    return s > KF_ENV_MAX_RECORDS ? s - KF_ENV_MAX_RECORDS + 1 : 1;
}

/* Move device_id's high-water mark from acked over the stored frames (and held quarantine
 * rows) contiguous with it, and store it; *ret: the new mark. Inside a transaction.
 * overlap: frames starting at or before acked may have been stored since the mark last
 * moved (a batch resent with other boundaries, a replayed quarantine row, a mark moved
 * past a gap), so the walk must also look behind the mark. */
int kf__store_advance_hwm(struct kf_store *st, const char *device_id, uint64_t acked, int overlap,
                          uint64_t *ret);
const char *kf__store_col_text(sqlite3_stmt *s, int i);
void kf__store_col_copy(char *dst, size_t cap, sqlite3_stmt *s, int i);
void kf__store_bind_opt_text(sqlite3_stmt *s, int i, const char *v);
void kf__store_bind_opt_ms(sqlite3_stmt *s, int i, int64_t v);
/* Bind text that outlives the statement (SQLITE_STATIC). */
void kf__store_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Step a bound write (or a one-row read whose row is not wanted) once and finalize it: 0, or
 * the converted error with "what: <SQLite's message>" (a constraint or a trigger's RAISE is
 * -EEXIST). Defined in store/sqlite/stmt.c. */
int kf__store_step_done(struct kf_store *st, sqlite3_stmt *s, const char *what);

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
/* Bind an unsigned 64-bit value (a sequence number) as SQLite's signed integer, clamped to
 * 2^63 - 1: counters and sequence numbers the store accepts never reach it. */
void kf__store_bind_u64(sqlite3_stmt *s, int i, uint64_t v);
/* Step a statement that returns no rows (or whose rows are not wanted), then reset it. */
int kf__store_stmt_run(struct kf_store *st, sqlite3_stmt *s, const char *what);
/* Multi-row INSERTs: the rows of one table a commit writes go in statements of up to
 * 2^KF_MULTI_SHIFT_MAX rows, not one statement per row; what a statement costs besides its
 * rows (bind, step, halt, reset) is then paid once per frame or per commit. Rows are bound in
 * place, so bound text must stay valid until the statement runs, which is at the latest at
 * the last row's kf__store_multi_next:
 *     kf__store_multi_start(&m, MT_RECORDS, n);
 *     for each of the n rows:
 *         kf__store_multi_row(st, &m, &s, &off);   bind parameters off + 1 .. off + columns of s
 *         kf__store_multi_next(st, &m, "what");    runs s when its last row is bound
 * On an error between the two, kf__store_multi_abort resets the statement. */
struct kf__store_multi {
    enum kf_multi id;
    size_t left; /* rows not yet in a statement */
    size_t k, i; /* rows of the current statement, and those bound */
    sqlite3_stmt *s;
};
void kf__store_multi_start(struct kf__store_multi *m, enum kf_multi id, size_t nrows);
int kf__store_multi_row(struct kf_store *st, struct kf__store_multi *m, sqlite3_stmt **ret_s,
                        int *ret_off);
int kf__store_multi_next(struct kf_store *st, struct kf__store_multi *m, const char *what);
void kf__store_multi_abort(struct kf__store_multi *m);
/* Run the parameterless statement id (BEGIN, COMMIT, ROLLBACK). */
int kf__store_exec_one(struct kf_store *st, enum kf_stmt id);
/* 1 if the single-text-parameter lookup id finds a row, 0 if not, or -errno. */
int kf__store_exists(struct kf_store *st, enum kf_stmt id, const char *key);

/* The schema (schema.c): kf__store_migrate brings a writable database to this program's
 * version in one transaction; kf__store_schema_check says whether a read-only one is at it
 * (0, -ENOENT: no schema, -EPROTONOSUPPORT: another version). kf__store_exec_sql runs one
 * statement (or a PRAGMA) outside the cache. */
int kf__store_migrate(struct kf_store *st);
/* The database's PRAGMA user_version (0: never initialised), or -errno. */
int kf__store_schema_version(struct kf_store *st);
int kf__store_schema_check(struct kf_store *st);
int kf__store_exec_sql(struct kf_store *st, const char *sql);

/* Open our own transaction unless the caller already holds one (*ret_own says which);
 * kf__store_txn_leave commits it (r == 0) or rolls it back, and returns the outcome. */
int kf__store_txn_enter(struct kf_store *st, int *ret_own);
int kf__store_txn_leave(struct kf_store *st, int own, int r);

/* ---- The group commit, shared by ingest.c, ingest_usage.c and ingest_device.c ---------- */

/* What commit needs to know about a device, read once per device and commit. */
struct kf__store_dev {
    char asset_id[KF_ASSET_ID_MAX + 1];
    char zone_id[KF_ZONE_ID_MAX + 1];
    uint64_t acked_seq;
    int online; /* as the commit has left it so far: presence facts only on a change */
};

/* The commit's usage rows (ingest_usage.c), one per (device, day, zone, item). */
struct kf__store_usage_row;
struct kf__store_usage {
    size_t n, cap;
    size_t dev_first; /* the current device's first row */
    struct kf__store_usage_row *rows;
};
/* The commit's usage sums (ingest_usage.c): add a new txn of the device whose rows start at
 * dev_first; write them all at the commit's end. */
int kf__store_usage_add(struct kf__store_usage *acc, const char *device_id,
                        const struct kf__store_dev *dev, const struct kf_rec_txn *t, int32_t day);
int kf__store_usage_flush(struct kf_store *st, struct kf__store_usage *acc);

/* The commit's (day, device) pairs (device_days.c, schema v14): one per local day of a new
 * record's effective time, whatever its type; device_id is the frame's, valid until the
 * commit ends. add: the device whose pairs start at dev_first; flush: INSERT OR IGNORE them
 * all at the commit's end, in its transaction. */
struct kf__store_device_day {
    int32_t day;
    const char *device_id;
};
struct kf__store_device_days {
    size_t n, cap;
    size_t dev_first;
    struct kf__store_device_day *rows;
};
int kf__store_device_days_add(struct kf__store_device_days *acc, const char *device_id,
                              int32_t day);
int kf__store_device_days_flush(struct kf_store *st, struct kf__store_device_days *acc);
/* kioskctl verify's check: one row, the count of (day, device) pairs on which device_days and
 * the records differ (audit.c). */
extern const char kf__store_device_days_check_sql[];

/* Usage rollups (ingest_usage.c, docs/STORE.md "Usage rollups"). A local day's month as
 * YYYYMM and year as YYYY, the first day of month YYYYMM. */
int32_t kf__store_usage_month(int32_t day);
int32_t kf__store_usage_year(int32_t day);
int32_t kf__store_usage_month_start(int32_t yyyymm);
/* Where the usage over local days [from, to] is read: the fewest rows that sum to exactly it.
 * Each pair is an inclusive range, empty when [0] > [1]: days d1 (usage_daily), months m1
 * (usage_monthly), years y (usage_yearly), months m2, days d2. Open ends (INT32_MIN,
 * INT32_MAX) are the first and last day the rollups can hold. */
struct kf__store_usage_plan {
    int32_t d1[2], m1[2], y[2], m2[2], d2[2];
};
void kf__store_usage_plan(int32_t from, int32_t to, struct kf__store_usage_plan *ret);

/* The device's row (ingest_device.c). HELLO's advisory fields; an applied STATE (and its
 * presence fact on a change); last seen, online, clock offset and, when acked is not NULL,
 * the new mark (kf__store_seen_update); the presence fact of a frame that proves an offline
 * device connected (kf__store_seen_fact); both for one frame (kf__store_seen). */
int kf__store_hello(struct kf_store *st, const struct kf_ingest *in);
int kf__store_state(struct kf_store *st, const struct kf_ingest *in, struct kf__store_dev *dev);
int kf__store_seen_update(struct kf_store *st, const struct kf_ingest *in, const uint64_t *acked);
int kf__store_seen_fact(struct kf_store *st, const struct kf_ingest *in, struct kf__store_dev *dev);
int kf__store_seen(struct kf_store *st, const struct kf_ingest *in, struct kf__store_dev *dev);
/* Where the mark moves over stored envelopes contiguous with acked (not written); write it;
 * record the gap a HELLO acknowledged past the store reveals, and move out->acked_seq past
 * it. */
int kf__store_find_hwm(struct kf_store *st, const char *device_id, uint64_t acked, int overlap,
                       uint64_t *ret);
int kf__store_set_acked(struct kf_store *st, const char *device_id, uint64_t acked);
int kf__store_gap(struct kf_store *st, const struct kf_ingest *in, int64_t now,
                  struct kf_commit_out *out);

/* The operators' queries (query.c, query_usage.c): run sql with params (params[i] bound to
 * ?i+1: text when text is not NULL, else i, or NULL when null is set: kf__store_query_bind)
 * and collect every row as strings, typed by types (one letter per column, store/query.h);
 * name and title may be NULL. The summary's usage tables (usage_by_unit, usage_by_family),
 * appended to rep. */
struct kf__store_qparam {
    const char *text;
    int64_t i;
    int null;
};
int kf__store_query_run(struct kf_store *st, const char *name, const char *title, const char *types,
                        const char *sql, const struct kf__store_qparam *params, size_t np,
                        struct kf_qtable **ret);
void kf__store_query_bind(sqlite3_stmt *s, const struct kf__store_qparam *params, size_t np);
int kf__store_query_usage_summary(struct kf_store *st, struct kf_qreport *rep, int32_t today,
                                  int32_t from_day, int32_t to_day);

/* Shared by identity.c and audit_log.c: a non-empty text of at most max bytes; a BLOB column
 * of exactly n bytes into out (zeros otherwise). */
int kf__store_text_ok(const char *s, size_t max);
void kf__store_col_blob(sqlite3_stmt *s, int i, uint8_t *out, size_t n);

#endif
