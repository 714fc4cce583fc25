/* core/outbox_cmd.c: the server's commands in the outbox file (outbox.h, "The server's
 * commands"): accepted, started, reported, each step one transaction, and the settings
 * set-config changed. The statements are outbox_db.c's. */
#include "core/outbox_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kf/command.h>
#include <kf/record.h>

#define CMD_COUNTERS 5 /* bad_signature .. malformed, in cmd_meta's column order */

/* cmd_meta's counters in enum kf_cmd_refusal order, by column. */
static const int counter_reason[CMD_COUNTERS] = {KF_CMD_BAD_SIGNATURE, KF_CMD_OTHER_DEVICE,
                                                 KF_CMD_EXPIRED, KF_CMD_REPLAYED, KF_CMD_MALFORMED};

static int meta_get(struct kf_outbox *ob, uint64_t *high, uint64_t counts[KF_CMD_REFUSAL_COUNT_])
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CMD_META_GET];
    int rc = sqlite3_step(s), r = 0;

    if (rc == SQLITE_ROW) {
        *high = kf__outbox_col_u64(s, 0);
        memset(counts, 0, KF_CMD_REFUSAL_COUNT_ * sizeof(counts[0]));
        for (int i = 0; i < CMD_COUNTERS; i++)
            counts[counter_reason[i]] = kf__outbox_col_u64(s, 1 + i);
    } else {
        r = rc == SQLITE_DONE ? -EIO : kf__outbox_err(rc);
    }
    kf__outbox_done(s);
    return r;
}

static int meta_put(struct kf_outbox *ob, uint64_t high, const uint64_t *counts)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CMD_META_PUT];
    int r = kf__outbox_bind_u64(s, 1, high);

    for (int i = 0; r == 0 && i < CMD_COUNTERS; i++)
        r = kf__outbox_bind_u64(s, 2 + i, counts[counter_reason[i]]);
    if (r < 0) {
        kf__outbox_done(s);
        return r;
    }
    return kf__outbox_exec(ob, KF__OUTBOX_CMD_META_PUT);
}

static int cmd_commit(struct kf_outbox *ob, int r)
{
    if (r == 0)
        r = kf__outbox_exec(ob, KF__OUTBOX_COMMIT);
    if (r < 0)
        kf__outbox_rollback(ob);
    return r;
}

int kf_outbox_cmd_refused(struct kf_outbox *ob, int reason)
{
    uint64_t high, counts[KF_CMD_REFUSAL_COUNT_];
    int r;

    if (reason <= KF_CMD_OK || reason >= KF_CMD_REFUSAL_COUNT_)
        return -EINVAL;
    r = kf__outbox_exec(ob, KF__OUTBOX_BEGIN);
    if (r < 0)
        return r;
    r = meta_get(ob, &high, counts);
    if (r == 0) {
        counts[reason]++;
        r = meta_put(ob, high, counts);
    }
    return cmd_commit(ob, r);
}

int kf_outbox_cmd_counters(struct kf_outbox *ob, uint64_t *ret_high,
                           uint64_t ret_counts[KF_CMD_REFUSAL_COUNT_])
{
    return meta_get(ob, ret_high, ret_counts);
}

int kf_outbox_cmd_accept(struct kf_outbox *ob, const struct kf_cmd *cmd, const char *body,
                         size_t len, int64_t now_ms)
{
    uint64_t high, counts[KF_CMD_REFUSAL_COUNT_];
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CMD_INSERT];
    int r;

    if (cmd == NULL || body == NULL || len == 0 || len > KF_CMD_BODY_MAX)
        return -EINVAL;
    r = kf__outbox_exec(ob, KF__OUTBOX_BEGIN);
    if (r < 0)
        return r;
    r = meta_get(ob, &high, counts);
    if (r == 0 && cmd->seq <= high) {
        /* Seen (or passed over) already: counted in the same transaction, never stored. */
        counts[KF_CMD_REPLAYED]++;
        r = meta_put(ob, high, counts);
        r = cmd_commit(ob, r);
        return r < 0 ? r : -EALREADY;
    }
    if (r == 0 &&
        ((r = kf__outbox_bind_u64(s, 1, cmd->seq)) < 0 ||
         (r = kf__outbox_err(sqlite3_bind_text(s, 2, cmd->id, -1, SQLITE_STATIC))) < 0 ||
         (r = kf__outbox_err(sqlite3_bind_text(s, 3, cmd->kind, -1, SQLITE_STATIC))) < 0 ||
         (r = kf__outbox_err(sqlite3_bind_text(s, 4, body, (int)len, SQLITE_STATIC))) < 0 ||
         (r = kf__outbox_err(sqlite3_bind_int64(s, 5, cmd->issued_ms))) < 0 ||
         (r = kf__outbox_err(sqlite3_bind_int64(s, 6, cmd->expires_ms))) < 0 ||
         (r = kf__outbox_err(sqlite3_bind_int64(s, 7, now_ms))) < 0))
        kf__outbox_done(s);
    else if (r == 0)
        r = kf__outbox_exec(ob, KF__OUTBOX_CMD_INSERT);
    if (r == 0)
        r = meta_put(ob, cmd->seq, counts);
    if (r == 0) {
        s = ob->st[KF__OUTBOX_CMD_PRUNE];
        if ((r = kf__outbox_bind_u64(s, 1, cmd->seq)) < 0)
            kf__outbox_done(s);
        else
            r = kf__outbox_exec(ob, KF__OUTBOX_CMD_PRUNE);
    }
    return cmd_commit(ob, r);
}

/* Inside a transaction: seq's state to state (only forward), with what else is given. */
static int cmd_state(struct kf_outbox *ob, uint64_t seq, int state, const char *boot_id,
                     int64_t started_ms, uint64_t result_seq)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CMD_STATE];
    int r;

    if ((r = kf__outbox_bind_u64(s, 1, seq)) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_int(s, 2, state))) < 0 ||
        (boot_id != NULL &&
         (r = kf__outbox_err(sqlite3_bind_text(s, 3, boot_id, -1, SQLITE_STATIC))) < 0) ||
        (started_ms != 0 && (r = kf__outbox_err(sqlite3_bind_int64(s, 4, started_ms))) < 0) ||
        (result_seq != 0 && (r = kf__outbox_bind_u64(s, 5, result_seq)) < 0)) {
        kf__outbox_done(s);
        return r;
    }
    r = kf__outbox_exec(ob, KF__OUTBOX_CMD_STATE);
    if (r == 0 && sqlite3_changes(ob->db) != 1)
        r = -EALREADY;
    return r;
}

int kf_outbox_cmd_start(struct kf_outbox *ob, uint64_t seq, const char *boot_id, int64_t now_ms)
{
    int r = kf__outbox_exec(ob, KF__OUTBOX_BEGIN);

    if (r < 0)
        return r;
    r = cmd_state(ob, seq, KF_OUTBOX_CMD_RUNNING, boot_id ? boot_id : "", now_ms, 0);
    return cmd_commit(ob, r);
}

int kf_outbox_cmd_pending(struct kf_outbox *ob, kf_outbox_cmd_cb cb, void *ud)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CMD_PENDING];
    int rc, r = 0;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct kf_outbox_cmd c;
        const char *boot = (const char *)sqlite3_column_text(s, 4);

        c.seq = kf__outbox_col_u64(s, 0);
        c.body = (const char *)sqlite3_column_text(s, 1);
        c.body_len = (size_t)sqlite3_column_bytes(s, 1);
        c.issued_ms = sqlite3_column_int64(s, 2);
        c.state = sqlite3_column_int(s, 3);
        c.boot_id = boot ? boot : "";
        c.started_ms = sqlite3_column_int64(s, 5);
        if (c.body == NULL)
            continue;
        r = cb(ud, &c);
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO;
    kf__outbox_done(s);
    return r;
}

/* The cmd_result is the last record of the batch (never dropped: only health samples are):
 * its seq marks the command reported. */
static int finish_in_txn(struct kf_outbox *ob, void *ud, uint64_t last_seq)
{
    const uint64_t *seq = ud;

    return cmd_state(ob, *seq, KF_OUTBOX_CMD_REPORTED, NULL, 0, last_seq);
}

int kf_outbox_cmd_finish(struct kf_outbox *ob, uint64_t seq, const struct kf_outbox_rec *recs,
                         size_t n)
{
    size_t appended, dropped;
    uint64_t first;

    if (n == 0 || recs[n - 1].type != KF_REC_CMD_RESULT)
        return -EINVAL;
    return kf__outbox_append_batch(ob, recs, n, NULL, finish_in_txn, &seq, &appended, &dropped,
                                   &first, NULL);
}

/* ---- set-config ---- */

int kf_outbox_conf_each(struct kf_outbox *ob, kf_outbox_conf_cb cb, void *ud)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CONF_GET];
    int rc, r = 0;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct kf_outbox_conf c;

        c.key = (const char *)sqlite3_column_text(s, 0);
        c.value = (const char *)sqlite3_column_text(s, 1);
        c.prev = (const char *)sqlite3_column_text(s, 2);
        c.trial_seq = kf__outbox_col_u64(s, 3);
        c.deadline_ms = sqlite3_column_int64(s, 4);
        if (c.key == NULL || c.value == NULL)
            continue;
        r = cb(ud, &c);
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__outbox_err(rc) < 0 ? kf__outbox_err(rc) : -EIO;
    kf__outbox_done(s);
    return r;
}

static int conf_put(struct kf_outbox *ob, const struct kf_outbox_conf *c)
{
    sqlite3_stmt *s = ob->st[KF__OUTBOX_CONF_PUT];
    int r;

    if ((r = kf__outbox_err(sqlite3_bind_text(s, 1, c->key, -1, SQLITE_STATIC))) < 0 ||
        (r = kf__outbox_err(sqlite3_bind_text(s, 2, c->value, -1, SQLITE_STATIC))) < 0 ||
        (c->prev != NULL &&
         (r = kf__outbox_err(sqlite3_bind_text(s, 3, c->prev, -1, SQLITE_STATIC))) < 0) ||
        (c->trial_seq != 0 && (r = kf__outbox_bind_u64(s, 4, c->trial_seq)) < 0) ||
        (c->deadline_ms != 0 &&
         (r = kf__outbox_err(sqlite3_bind_int64(s, 5, c->deadline_ms))) < 0)) {
        kf__outbox_done(s);
        return r;
    }
    return kf__outbox_exec(ob, KF__OUTBOX_CONF_PUT);
}

int kf_outbox_conf_put(struct kf_outbox *ob, const struct kf_outbox_conf *c, uint64_t seq,
                       const char *boot_id, int64_t now_ms)
{
    int r = kf__outbox_exec(ob, KF__OUTBOX_BEGIN);

    if (r < 0)
        return r;
    r = conf_put(ob, c);
    if (r == 0 && seq != 0)
        r = cmd_state(ob, seq, KF_OUTBOX_CMD_RUNNING, boot_id ? boot_id : "", now_ms, 0);
    return cmd_commit(ob, r);
}

struct conf_end {
    const char *key;
    int keep;
    uint64_t seq;
    int found;
    char value[512], prev[512];
    int has_prev;
};

static int conf_find(void *ud, const struct kf_outbox_conf *c)
{
    struct conf_end *e = ud;

    if (strcmp(c->key, e->key) != 0)
        return 0;
    e->found = 1;
    snprintf(e->value, sizeof(e->value), "%s", c->value);
    e->has_prev = c->prev != NULL;
    snprintf(e->prev, sizeof(e->prev), "%s", c->prev ? c->prev : "");
    return 1;
}

static int conf_end_in_txn(struct kf_outbox *ob, void *ud, uint64_t last_seq)
{
    struct conf_end *e = ud;
    int r;

    if (e->found && !e->keep && !e->has_prev) {
        sqlite3_stmt *s = ob->st[KF__OUTBOX_CONF_DEL];
        if ((r = kf__outbox_err(sqlite3_bind_text(s, 1, e->key, -1, SQLITE_STATIC))) < 0) {
            kf__outbox_done(s);
            return r;
        }
        r = kf__outbox_exec(ob, KF__OUTBOX_CONF_DEL);
    } else if (e->found) {
        /* Settled: the value stays (keep) or the one it replaced comes back, for good. */
        const struct kf_outbox_conf c = {e->key, e->keep ? e->value : e->prev, NULL, 0, 0};
        r = conf_put(ob, &c);
    } else {
        r = 0;
    }
    if (r == 0)
        r = cmd_state(ob, e->seq, KF_OUTBOX_CMD_REPORTED, NULL, 0, last_seq);
    return r;
}

int kf_outbox_conf_end(struct kf_outbox *ob, const char *key, int keep, uint64_t seq,
                       const struct kf_outbox_rec *rec)
{
    struct conf_end e;
    size_t appended, dropped;
    uint64_t first;
    int r;

    memset(&e, 0, sizeof(e));
    e.key = key;
    e.keep = keep;
    e.seq = seq;
    r = kf_outbox_conf_each(ob, conf_find, &e);
    if (r < 0)
        return r;
    return kf__outbox_append_batch(ob, rec, 1, NULL, conf_end_in_txn, &e, &appended, &dropped,
                                   &first, NULL);
}
