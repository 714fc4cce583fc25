/* broker.h: kiosk-provision's side of the broker's credentials (docs/OPERATIONS.md, "Broker
 * credentials"): creating an account (a random password in a 0600 file for the client, its
 * verifier in the store) and broker-sync (the store's accounts and the static ACL rendered
 * into the broker's password and ACL files, then SIGHUP to the broker).
 *
 * Main thread of kiosk-provision; errors are logged here, once, on one line (edge code).
 */
#ifndef KF_PROVISION_BROKER_H
#define KF_PROVISION_BROKER_H

#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

/* Give username a broker account: the password in pw_path (mode 0600), its verifier in the
 * store (kf_store_broker_put: role, device_id, expires_ms 0 = never). With reuse set, a
 * password already in pw_path is kept (re-running "init" must not lock kioskd out);
 * otherwise a fresh one replaces it. Runs in the caller's transaction when there is one.
 * 0 or -errno (logged). */
int kf_prov_broker_account_create(struct kf_store *st, const char *username, const char *role,
                                  const char *device_id, const char *pw_path, int reuse);

/* broker-sync: render dir/passwd from the store's unexpired accounts and dir/acl, each
 * atomically (temp file, fsync, rename; mode 0640, group "mosquitto" when run as root so
 * the broker can re-read them after dropping privileges), then SIGHUP pid when pid > 0.
 * Prints one line: accounts, added, removed, changed, whether the ACL changed, the signal.
 * 0 or -errno (logged). */
int kf_prov_broker_sync_store(struct kf_store *st, const char *dir, pid_t pid, int64_t now_ms);

/* The broker's pid from a pid file (one decimal number). 0 or -errno (logged). */
/* (kf_prov_broker_sync in prov.h, for the identity commands, is broker-sync by database
 * path and pid file, also defined in broker.c.) */
int kf_prov_broker_pid_file(const char *path, pid_t *ret);

#endif
