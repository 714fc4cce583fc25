/* store.h: all of the server's SQL. One struct kf_store is one SQLite connection, used by
 * one thread at a time (kioskd: the commit worker; kioskctl and kiosk-provision: main).
 *
 * The database (WAL, synchronous=FULL, foreign_keys=ON, busy_timeout, schema migrated by
 * PRAGMA user_version) holds the deployment (units, banks, zones, service catalog), the
 * registry (assets, devices, device keys), the records (idempotent on device+seq), per-day
 * usage aggregates, the signed envelopes as received (evidence), the latest health and
 * peripheral state, online/offline state, and rejection counters.
 *
 * A second backend (PostgreSQL) would be a second file implementing this header.
 */
#ifndef KF_STORE_STORE_H
#define KF_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>
#include <kf/record.h>

#include "store/registry.h"

struct kf_store;

#define KF_STORE_RDONLY 0x1u /* read only: the schema must be this program's */
#define KF_STORE_NOCREATE                                                                          \
    0x2u /* a store that does not exist (or was never initialised,                                 \
          * schema 0) is -ENOENT, not created: only `kiosk-provision                               \
          * init` creates one */
#define KF_STORE_WRITER                                                                            \
    0x4u /* the one writer (kioskd): hold the store's writer lock for                              \
          * the connection's life; another holder is -EBUSY */

/* Rejection reasons, counted and persisted. */
enum kf_reject {
    KF_REJECT_UNKNOWN_DEVICE = 0, /* "unknown_device": no such device or key epoch */
    KF_REJECT_BAD_SIGNATURE,      /* "bad_signature" */
    KF_REJECT_REPLAY,             /* "replay": every record already committed */
    KF_REJECT_OVERSIZE,           /* "oversize": frame or body past its limit */
    KF_REJECT_BAD_COMPRESSION,    /* "bad_compression": corrupt frame or wrong dictionary */
    KF_REJECT_MALFORMED,          /* "malformed": framing, JSON or record fields */
    KF_REJECT_WRONG_TOPIC,        /* "wrong_topic": frame's device is not the topic's */
    KF_REJECT_REVOKED,            /* "revoked": signed with a revoked or retired key */
    KF_REJECT_CONFLICT,           /* "conflict": a stored seq sent again with another record */
    KF_REJECT_COUNT_
};
const char *kf_store_reject_name(int reason);

/* Open (creating and migrating unless KF_STORE_RDONLY; see the flags) the database at path.
 * Returns owned. -ENOENT (no such store, with KF_STORE_NOCREATE or RDONLY), -EBUSY (the
 * writer lock is held: kf_store_writer_pid names the holder), -EPROTONOSUPPORT (RDONLY,
 * another schema version), or another -errno. */
int kf_store_open(const char *path, unsigned flags, struct kf_store **ret);
void kf_store_free(struct kf_store *st); /* NULL is a no-op */

/* The pid of the process holding path's writer lock (KF_STORE_WRITER), 0 when none. */
long kf_store_writer_pid(const char *path);

/* What a store holds, read without opening it for use (kioskd --check): its schema
 * version against this program's, and the deployment it was given. */
struct kf_store_info {
    int schema, schema_current;
    int64_t units, banks, zones, items, devices; /* -1 when the schema has no such table */
};
/* Read-only; changes nothing. 0, -ENOENT (no such file, or not a store: schema 0), or
 * -errno. */
int kf_store_inspect(const char *path, struct kf_store_info *ret);

/* The last detailed error message of this store (e.g. which fixture row referenced an
 * unknown unit), or "" if none. Borrowed; valid until the next call on st. */
const char *kf_store_errmsg(struct kf_store *st);

/* Explicit transaction around several calls (e.g. registering a whole fleet at once).
 * kf_store_register_device and kf_store_load_fixtures join a transaction already open on
 * st instead of opening their own. kf_store_end(st, 1) commits, (st, 0) rolls back. */
int kf_store_begin(struct kf_store *st);
int kf_store_end(struct kf_store *st, int commit);
/* A read transaction (also on a read-only store): every read until kf_store_end sees one
 * snapshot of the database, however the writer moves on meanwhile (kioskctl verify). */
int kf_store_snapshot_begin(struct kf_store *st);
/* The writer only (kioskd): run WAL checkpoints on a thread of its own instead of inside
 * the commits (store/sqlite/ckpt.c). Stopped by kf_store_free. 0 or -errno. */
int kf_store_checkpointer_start(struct kf_store *st);

/* Load the deployment fixtures (fixtures/deployment.json format, see docs/OPERATIONS.md):
 * units, banks, zones, service families and items, and the SLA contracts (optional
 * "contracts" section, store/sla.h). Upsert; one transaction. */
int kf_store_load_fixtures(struct kf_store *st, const char *json_path);

/* Register an asset and a device identity bound to it with its first key (epoch 1).
 * The asset is created if new; a device id that exists is -EEXIST. */
struct kf_device_reg {
    const char *device_id;
    const char *asset_id;
    int kind; /* enum kf_device_kind */
    const char *zone_id;
    const char *lease_ref; /* may be NULL */
    uint8_t pk[32];
};
int kf_store_register_device(struct kf_store *st, const struct kf_device_reg *reg);

/* Build a registry snapshot of every device with its keys. Returns owned (refcount 1). */
int kf_store_load_registry(struct kf_store *st, struct kf_registry **ret);

#endif
