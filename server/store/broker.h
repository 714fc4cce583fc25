/* store/broker.h: the broker's accounts (docs/OPERATIONS.md, "Broker credentials").
 *
 * One row per Mosquitto username: its password verifier (kf/brokerpw.h, "$6$..."), its role
 * and, for a device, the device id (which is also its username). kiosk-provision
 * broker-sync renders the unexpired rows into the broker's password file and sends the
 * broker SIGHUP; Mosquitto then disconnects every client whose account is gone. The store
 * never holds a password, only verifiers.
 *
 *   role "server": kioskd's account, username "_kioskd" (KF_BROKER_USER_SERVER)
 *   role "device": a registered terminal; username = device id (starts alphanumeric)
 *   role "enroll": a one-time enrollment account "_enroll-<token id>"
 *
 * Names starting with '_' never collide with device ids. Same threading rule as store.h.
 * Every function may run inside a caller's transaction (kf_store_begin ... kf_store_end);
 * without one, each change is its own transaction.
 */
#ifndef KF_STORE_BROKER_H
#define KF_STORE_BROKER_H

#include <stdint.h>

#include "store/store.h"

#define KF_BROKER_USER_SERVER "_kioskd"
#define KF_BROKER_USER_ENROLL_PREFIX "_enroll-"

/* One account, as stored. Every pointer is borrowed for the duration of the callback. */
struct kf_broker_account {
    const char *username;
    const char *verifier;
    const char *role;      /* "server", "device" or "enroll" */
    const char *device_id; /* NULL when none */
    int64_t expires_ms;    /* 0: never */
    int64_t created_ms;    /* when these credentials were set */
};

/* Called once per account; return 0 to go on, anything else stops the walk and is
 * returned by kf_store_broker_each. */
typedef int (*kf_broker_account_cb)(void *ud, const struct kf_broker_account *a);

/* Create or replace the account username (upsert: a new verifier, role, device or expiry
 * replaces the old; created_ms becomes now_ms). Checks: username 1..48 of [A-Za-z0-9._-];
 * role "device" needs device_id == username and an alphanumeric first character; roles
 * "server" and "enroll" need a name starting with '_' ("enroll": "_enroll-"); verifier
 * must be a well-formed "$6$" verifier; expires_ms 0 (never) or > 0. 0, -EINVAL (with
 * kf_store_errmsg), or -errno. Borrows everything. */
int kf_store_broker_put(struct kf_store *st, const char *username, const char *role,
                        const char *device_id, const char *verifier, int64_t expires_ms,
                        int64_t now_ms);

/* Delete the account username. 0, -ENOENT (no such account), or -errno. The broker only
 * learns of it at the next broker-sync. */
int kf_store_broker_del(struct kf_store *st, const char *username);

/* Call cb for every account that has not expired at now_ms (expires_ms == 0 or
 * > now_ms), in username order (byte order). 0, cb's non-zero result, or -errno. */
int kf_store_broker_each(struct kf_store *st, int64_t now_ms, kf_broker_account_cb cb, void *ud);

#endif
