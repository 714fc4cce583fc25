/* core/outbox_int.h: what the outbox's two files share: outbox_db.c (the file: connection,
 * schema and its migrations, prepared statements, SQLite helpers) and outbox.c (the queue
 * operations on it). Not for use outside the outbox; same thread rules as outbox.h. */
#ifndef KF_AGENT_CORE_OUTBOX_INT_H
#define KF_AGENT_CORE_OUTBOX_INT_H

#include <stdint.h>

#include <sqlite3.h>

#include "core/outbox.h"

/* The prepared statements, one per use (outbox_db.c holds their SQL). */
enum kf__outbox_stmt {
    KF__OUTBOX_BEGIN,
    KF__OUTBOX_COMMIT,
    KF__OUTBOX_ROLLBACK,
    KF__OUTBOX_META_GET,
    KF__OUTBOX_META_PUT,
    KF__OUTBOX_INSERT,
    KF__OUTBOX_PEEK,
    KF__OUTBOX_ACK_SUM,
    KF__OUTBOX_ACK_DELETE,
    KF__OUTBOX_MAX_SEQ,
    KF__OUTBOX_REBASE,
    KF__OUTBOX_BOOT_GET,
    KF__OUTBOX_BOOT_ADD,
    KF__OUTBOX_CLOCK_PUT,
    KF__OUTBOX_CLOCK_GET,
    KF__OUTBOX_APP_GET,
    KF__OUTBOX_APP_PUT,
    KF__OUTBOX_APP_FORGET_OLD,
    KF__OUTBOX_APP_FORGET_MANY,
    KF__OUTBOX_APP_REBASE,
    KF__OUTBOX_APP_COUNT,
    KF__OUTBOX_CMD_META_GET,
    KF__OUTBOX_CMD_META_PUT,
    KF__OUTBOX_CMD_INSERT,
    KF__OUTBOX_CMD_STATE,
    KF__OUTBOX_CMD_PENDING,
    KF__OUTBOX_CMD_PRUNE,
    KF__OUTBOX_CONF_GET,
    KF__OUTBOX_CONF_PUT,
    KF__OUTBOX_CONF_DEL,
    KF__OUTBOX_STMT_COUNT
};

/* The meta row, as committed. */
struct kf__outbox_meta {
    uint64_t next_seq;
    uint64_t acked_seq;
    uint64_t bytes;
    uint64_t health;
    uint64_t health_dropped;
};

struct kf_outbox {
    sqlite3 *db;
    struct kf_outbox_limits lim;
    uint32_t boot; /* the regime stamped on appends (kf_outbox_set_clock) */
    int64_t base_ms;
    struct kf__outbox_meta meta; /* mirrors the committed meta row */
    sqlite3_stmt *st[KF__OUTBOX_STMT_COUNT];
};

/* SQLite result -> 0 or negative errno. */
int kf__outbox_err(int rc);
/* Reset a statement and clear its bindings after use. */
void kf__outbox_done(sqlite3_stmt *s);
/* Run a statement that returns no rows (or whose rows are ignored). */
int kf__outbox_exec(struct kf_outbox *ob, enum kf__outbox_stmt which);
/* An integer column read as unsigned (a negative one as 0). */
uint64_t kf__outbox_col_u64(sqlite3_stmt *s, int col);
/* Bind v; -ERANGE past INT64_MAX. */
int kf__outbox_bind_u64(sqlite3_stmt *s, int idx, uint64_t v);
/* Read the meta row; -EIO if it is missing or inconsistent (not our file). */
int kf__outbox_meta_load(struct kf_outbox *ob, struct kf__outbox_meta *ret);
/* ROLLBACK if a transaction is open. */
void kf__outbox_rollback(struct kf_outbox *ob);

/* The one write path for appends (outbox.c): recs appended in one transaction, with app's
 * id taken when app is not NULL (kf_outbox_append_app), and also (when not NULL) run in the
 * same transaction after the records are inserted, with the seq the last one got: the
 * commands' state changes that must commit with their records (outbox_cmd.c). */
typedef int (*kf__outbox_txn_fn)(struct kf_outbox *ob, void *ud, uint64_t last_seq);
int kf__outbox_append_batch(struct kf_outbox *ob, const struct kf_outbox_rec *recs, size_t n,
                            const struct kf_outbox_app *app, kf__outbox_txn_fn also, void *also_ud,
                            size_t *ret_appended, size_t *ret_dropped, uint64_t *ret_first_seq,
                            int *ret_taken);

#endif
