/* prov.h: kiosk-provision's command families beyond init/device/fleet. Main thread only;
 * each returns the process exit status (0 ok, 1 failed, 2 usage) and logs its own errors. */
#ifndef KF_PROV_H
#define KF_PROV_H

#include <stdint.h>

/* Identity commands (identity.c): token, revoke, replace. */
struct kf_prov_ident_opts {
    const char *db;
    const char *server_key; /* the server's secret key file: audit entries are signed */
    const char *asset, *kind, *zone, *lease;
    const char *device;
    const char *by, *reason;
    const char *ttl;      /* "72h", "30m", "7d", or seconds; default 72h */
    const char *out;      /* token: also write the token to this file (mode 0600) */
    const char *auth_dir; /* broker-sync afterwards into this directory (optional) */
    const char *pid_file; /* ... and SIGHUP the broker whose pid is in this file */
};

/* kiosk-provision token|revoke|replace ARGS (its own options; argv[0] is the command). */
int kf_prov_ident_main(const char *cmd, int argc, char **argv);

/* Render the broker's password and ACL files from the store into auth_dir and, when
 * pid_file is given, make the broker re-read them (SIGHUP). 0 or 1 (reported). */
int kf_prov_broker_sync(const char *db, const char *auth_dir, const char *pid_file);

/* Parse a duration ("90s", "30m", "72h", "7d", or bare seconds) into ms. 0 or -EINVAL. */
int kf_prov_parse_ttl(const char *s, int64_t *ret_ms);

#endif
