/* core/outbox.h: the agent's durable queue of records (SQLite, WAL, synchronous=FULL).
 *
 * Every record gets the device's next 64-bit sequence number when appended; sequence
 * numbers are persisted and never reused, and the outbox holds a contiguous run
 * (acked_seq, next_seq). A record leaves only when the server acknowledges a high-water
 * mark covering it (kf_outbox_ack). Limits:
 *  - max_records / max_bytes: hard, the outbox's quota. A txn/periph/fault append past
 *    them fails with -EDQUOT and nothing is written: the caller refuses the record upstream
 *    (the kiosk app keeps it and retries), so usage is never dropped silently.
 *  - the file system: an append the disk has no room for fails with -ENOSPC (SQLITE_FULL,
 *    or a write refused with ENOSPC, EDQUOT or EFBIG) and nothing is written either; the
 *    outbox is usable again once there is room.
 *  - max_health: health samples are droppable. An append of a health sample when the
 *    outbox already holds max_health of them (or is at a hard limit) is refused with
 *    -ENOBUFS and counted in health_dropped (persisted). The sample is never given a
 *    sequence number, so the run stays contiguous.
 *  - app_ids_max / app_ids_keep_days: the application's ids for its records (kf/record.h
 *    app_id) taken by kf_outbox_append_app, kept apart from the records so that they outlive
 *    the acks: each for keep_days after it was taken, at most app_ids_max of them (the
 *    oldest forgotten first). A resend after that is stored again; the server still counts
 *    one (docs/PROTOCOL.md section 7).
 *
 * Not thread-safe: one outbox is used by one thread (the agent's loop thread).
 */
#ifndef KF_AGENT_CORE_OUTBOX_H
#define KF_AGENT_CORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <kf/command.h>

struct kf_outbox;

struct kf_outbox_limits {
    uint64_t max_records;       /* default 500000 */
    uint64_t max_bytes;         /* of record JSON; default 256 MiB */
    uint64_t max_health;        /* default 20160 (two weeks at one a minute) */
    uint64_t app_ids_max;       /* default 100000 */
    uint32_t app_ids_keep_days; /* default 30 */
    /* 1: survive a crash of the process, not a power cut (kiosk-sim's thousands of outboxes
     * in one process): the file locked for this connection alone, so the WAL index lives on
     * the heap and no -shm file is opened, and no fsync (synchronous = OFF; every write()
     * still reaches the kernel, which a kill -9 does not lose). 0: a terminal's outbox. */
    int process_durable;
};

struct kf_outbox_stats {
    uint64_t next_seq;       /* the seq the next append will get (starts at 1) */
    uint64_t acked_seq;      /* highest acknowledged seq (0: none) */
    uint64_t records;        /* held now */
    uint64_t bytes;          /* JSON bytes held now */
    uint64_t health;         /* health samples held now */
    uint64_t health_dropped; /* ever, persisted */
};

/* One record as stored: type (enum kf_rec_type), device time, canonical JSON, and the
 * clock it was stamped under (kf_outbox_set_clock; peek fills these in, appends ignore them). */
struct kf_outbox_rec {
    uint64_t seq;
    int type;
    int64_t ts_ms;
    const char *json; /* borrowed; valid only during the callback */
    size_t json_len;
    uint32_t boot;   /* kf_outbox_boot's number for the kernel boot; 0: not recorded */
    int64_t base_ms; /* kf_clock_base_ms() when it was appended */
};

/* Open (creating if needed) the outbox at path. limits NULL: defaults. Returns owned. */
int kf_outbox_open(const char *path, const struct kf_outbox_limits *limits, struct kf_outbox **ret);
void kf_outbox_free(struct kf_outbox *ob); /* NULL is a no-op */

/* Append one record in its own transaction (fsynced). Returns 0 and *ret_seq,
 * -EDQUOT (hard limit), -ENOSPC (disk full), -ENOBUFS (health sample dropped, counted),
 * -EIO. */
int kf_outbox_append(struct kf_outbox *ob, int type, int64_t ts_ms, const char *json, size_t len,
                     uint64_t *ret_seq);

/* The application's id for a record, taken once (kf/record.h app_id; docs/AGENT.md,
 * "Exactly once from the application's journal"). digest says what record took it, so that
 * a resent line can be told from another record under the same id: kf_outbox_app_digest. */
#define KF_OUTBOX_APP_DIGEST 32
struct kf_outbox_app {
    const char *id; /* 1..KF_APP_ID_MAX bytes; borrowed */
    uint8_t digest[KF_OUTBOX_APP_DIGEST];
    int64_t now_ms; /* wall clock when taken: the retention window counts from it */
};

/* What kf_outbox_append_app did with the id. */
enum kf_outbox_app_taken {
    KF_OUTBOX_APP_NEW = 0, /* not taken before (or forgotten): the record is stored now */
    KF_OUTBOX_APP_REPEAT,  /* taken by the same record: its first seq, nothing stored */
    KF_OUTBOX_APP_REUSED,  /* taken by a different record: that one's seq, nothing stored */
};

/* The digest of a record as the application sent it: BLAKE2b-256 (crypto_generichash) of
 * its canonical JSON (kf_record_format, app_id included), with the ts left out when the line
 * gave none (ts_given 0: the agent stamped it, and a resent line would be stamped anew).
 * It is kept in the outbox file, so its definition never changes. 0 or -EINVAL. Any thread. */
struct kf_record;
int kf_outbox_app_digest(const struct kf_record *rec, int ts_given,
                         uint8_t ret[KF_OUTBOX_APP_DIGEST]);

/* kf_outbox_append for a record with the application's id app: in one transaction, look the
 * id up and, if it is not taken, append the record and take the id for it (forgetting ids
 * past the retention bounds). Returns 0, *ret_taken (enum kf_outbox_app_taken) and *ret_seq:
 * the new record's, or with REPEAT and REUSED the seq of the record that took the id (then
 * nothing was written). A taken id is answered even when the outbox is full. Errors as
 * kf_outbox_append; -EINVAL for a health sample (no app_id on those) or an empty id. */
int kf_outbox_append_app(struct kf_outbox *ob, const struct kf_outbox_rec *rec,
                         const struct kf_outbox_app *app, uint64_t *ret_seq, int *ret_taken);

/* Append n records in one transaction: all or nothing (-EDQUOT if any would pass the hard
 * limits; health samples past max_health are dropped and counted, not failing the rest).
 * *ret_appended counts the records that got a seq. */
int kf_outbox_append_many(struct kf_outbox *ob, const struct kf_outbox_rec *recs, size_t n,
                          size_t *ret_appended);

/* Visit held records with seq >= from_seq in order, at most max_records and stopping
 * before the one that would take the JSON total past max_bytes (always at least one).
 * cb returns 0 to continue, non-zero to stop (that value is returned).
 * *ret_n = records visited. */
typedef int (*kf_outbox_visit_cb)(void *ud, const struct kf_outbox_rec *rec);
int kf_outbox_peek(struct kf_outbox *ob, uint64_t from_seq, uint32_t max_records, size_t max_bytes,
                   kf_outbox_visit_cb cb, void *ud, uint32_t *ret_n);

/* The server has committed everything <= hwm: delete it and persist acked_seq.
 * An hwm below acked_seq is ignored (0); one at or past next_seq is -ERANGE (a server
 * cannot have committed what was never sent: the ack is not trusted, nothing deleted). */
int kf_outbox_ack(struct kf_outbox *ob, uint64_t hwm);

/* The server holds this device's sequence numbers up to hwm, at or past next_seq: this
 * outbox was recreated (disk replaced or wiped) while the device id and key stayed. Renumber
 * the held records to follow hwm, in order, and take hwm as acknowledged, so that no new
 * record reuses a number the server already has (it would be dropped as a duplicate).
 * -EINVAL if hwm < next_seq (use kf_outbox_ack). Nothing changes on error. */
int kf_outbox_rebase(struct kf_outbox *ob, uint64_t hwm);

int kf_outbox_stats(struct kf_outbox *ob, struct kf_outbox_stats *ret);
/* How many application ids the outbox remembers now. 0 or -errno. */
int kf_outbox_app_ids(struct kf_outbox *ob, uint64_t *ret);

/* Clock regimes (docs/PROTOCOL.md section 9). A record's device time is corrected by the
 * offset in force when it was stamped, which is the offset measured later plus how far the
 * wall clock was stepped in between: the difference of the clock's base (kf_clock_base_ms)
 * at measurement and at append, within one kernel boot. So every record keeps the boot it
 * was appended in and the base at append, and each boot keeps the last offset measured in
 * it, for records still held after a reboot.
 *
 * kf_outbox_boot: the number of the kernel boot boot_id (/proc/sys/kernel/random/boot_id),
 * created on first use (1, 2, ...). kf_outbox_set_clock: the regime stamped on the records
 * appended from now on (boot 0, the default: none, as outboxes written before this was
 * recorded). kf_outbox_clock_put/get: the offset last measured in a boot, at that base;
 * get returns -ENOENT if none was. */
int kf_outbox_boot(struct kf_outbox *ob, const char *boot_id, uint32_t *ret);
void kf_outbox_set_clock(struct kf_outbox *ob, uint32_t boot, int64_t base_ms);
int kf_outbox_clock_put(struct kf_outbox *ob, uint32_t boot, int64_t offset_ms, int64_t base_ms);
int kf_outbox_clock_get(struct kf_outbox *ob, uint32_t boot, int64_t *ret_offset_ms,
                        int64_t *ret_base_ms);

/* ---- The server's commands (outbox_cmd.c; docs/AGENT.md "Commands") ----
 *
 * A command is stored before it is acted on, in the transaction that makes it seen (its seq
 * becomes the highest accepted), and its cmd_result record is appended in the transaction
 * that marks it reported: so it is run at most once and reported exactly once, whatever
 * instant the process dies at. Its state: STORED (accepted, not started), RUNNING (started:
 * something outside the agent may have happened), REPORTED. */
enum kf_outbox_cmd_state {
    KF_OUTBOX_CMD_STORED = 0,
    KF_OUTBOX_CMD_RUNNING = 1,
    KF_OUTBOX_CMD_REPORTED = 2,
};

struct kf_cmd;
/* Store cmd (its verified body: body, len) as seen. 0; -EALREADY when its seq is at or
 * below the highest accepted (counted as replayed, in the same transaction); -errno. */
int kf_outbox_cmd_accept(struct kf_outbox *ob, const struct kf_cmd *cmd, const char *body,
                         size_t len, int64_t now_ms);
/* Count one refusal (enum kf_cmd_refusal), persisted. */
int kf_outbox_cmd_refused(struct kf_outbox *ob, int reason);
/* The highest command seq accepted and the refusal counters (indexed by enum
 * kf_cmd_refusal; [KF_CMD_OK] is 0). */
int kf_outbox_cmd_counters(struct kf_outbox *ob, uint64_t *ret_high,
                           uint64_t ret_counts[KF_CMD_REFUSAL_COUNT_]);
/* STORED -> RUNNING, with the kernel boot and the time it started. -EALREADY if it is not
 * STORED. */
int kf_outbox_cmd_start(struct kf_outbox *ob, uint64_t seq, const char *boot_id, int64_t now_ms);
/* One command not yet reported, as kf_outbox_cmd_pending visits it (borrowed strings). */
struct kf_outbox_cmd {
    uint64_t seq;
    const char *body;
    size_t body_len;
    int64_t issued_ms;
    int state;           /* STORED or RUNNING */
    const char *boot_id; /* RUNNING: the kernel boot it started in ("" unknown) */
    int64_t started_ms;
};
typedef int (*kf_outbox_cmd_cb)(void *ud, const struct kf_outbox_cmd *c);
/* Visit every command not yet reported, in seq order; cb must not call into the outbox. */
int kf_outbox_cmd_pending(struct kf_outbox *ob, kf_outbox_cmd_cb cb, void *ud);
/* Append recs (the command's effects, e.g. a probe's samples, then its cmd_result record
 * last) and mark command seq REPORTED with the result's seq, in one transaction. Hard limits
 * as kf_outbox_append_many (-EDQUOT: nothing written, the command stays as it was). -EALREADY
 * when it was reported already (nothing written). */
int kf_outbox_cmd_finish(struct kf_outbox *ob, uint64_t seq, const struct kf_outbox_rec *recs,
                         size_t n);

/* Settings changed by set-config (docs/AGENT.md "Commands"): key ("section.key"), the value
 * now in force, the one it replaced (NULL: the file's) and, while on trial, the command's seq
 * and the deadline (0: settled). */
struct kf_outbox_conf {
    const char *key, *value, *prev;
    uint64_t trial_seq;
    int64_t deadline_ms;
};
typedef int (*kf_outbox_conf_cb)(void *ud, const struct kf_outbox_conf *c);
int kf_outbox_conf_each(struct kf_outbox *ob, kf_outbox_conf_cb cb, void *ud);
/* Put c (a new value on trial, or settled) and mark command seq RUNNING, in one transaction;
 * seq 0: only the setting. */
int kf_outbox_conf_put(struct kf_outbox *ob, const struct kf_outbox_conf *c, uint64_t seq,
                       const char *boot_id, int64_t now_ms);
/* End a trial: keep (settle the value) or roll back (restore prev; a NULL prev removes the
 * row) key, and report command seq with rec, in one transaction. */
int kf_outbox_conf_end(struct kf_outbox *ob, const char *key, int keep, uint64_t seq,
                       const struct kf_outbox_rec *rec);

#endif
