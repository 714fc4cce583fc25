/* core/config.h: the agent's INI file (written by kiosk-provision; read by kiosk-agent and
 * kiosk-sim).
 *
 * Read by the kf_conf engine (kf/conf.h): one table per section in config.c, one row per key
 * (type, field, bounds, default), each section's cross-key rules in its check. Unknown
 * sections and keys are errors; every error names file:line. Relative paths (key_file,
 * outbox path, app socket...) are taken relative to the INI file's directory.
 * docs/AGENT.md lists every key with its default and bounds.
 */
#ifndef KF_AGENT_CORE_CONFIG_H
#define KF_AGENT_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <kf/brokerpw.h>
#include <kf/envelope.h>

#define KF_CFG_PATH_MAX 512
#define KF_CFG_STR_MAX 256

enum kf_device_kind {
    KF_KIND_KIOSK = 1, /* "kiosk" */
    KF_KIND_ITM = 2,   /* "itm" */
};

struct kf_agent_config {
    /* [device] */
    char identity_dir[KF_CFG_PATH_MAX]; /* enroll.h: the terminal's own identity; empty: none */
    char device_id[KF_DEVICE_ID_MAX + 1];
    char key_file[KF_CFG_PATH_MAX];
    uint32_t key_epoch;
    int kind; /* enum kf_device_kind */
    uint8_t server_pk[32];
    /* [enroll] */
    char enroll_token_file[KF_CFG_PATH_MAX]; /* mode 0600; read by the loader */
    char enroll_token[KF_CFG_STR_MAX];       /* its content (the token text); empty: none */
    /* [mqtt] */
    char uri[KF_CFG_STR_MAX];
    char ca_file[KF_CFG_PATH_MAX];       /* optional (TLS URIs); empty: the system's trust store */
    char username[KF_CFG_STR_MAX];       /* optional; empty: none */
    char password_file[KF_CFG_PATH_MAX]; /* optional; mode 0600, read by the loader */
    char password[KF_BROKERPW_MAX + 1];  /* password_file's content; empty: none */
    uint32_t keepalive_s;
    uint32_t reconnect_min_ms;
    uint32_t reconnect_max_ms;
    uint32_t reconnect_spread_ms;
    uint32_t connect_timeout_s;
    /* [outbox] */
    char outbox_path[KF_CFG_PATH_MAX];
    uint64_t outbox_max_records;
    uint64_t outbox_max_bytes;
    uint64_t outbox_max_health;
    /* [batch] */
    uint32_t batch_max_records;
    uint32_t batch_max_bytes;
    uint32_t flush_interval_ms;
    uint32_t inflight_max;
    uint32_t ack_timeout_ms;
    /* [probes] */
    uint32_t health_interval_s;
    char disk_path[KF_CFG_PATH_MAX];
    char thermal_dir[KF_CFG_PATH_MAX];
    /* [app] */
    char app_socket[KF_CFG_PATH_MAX];
    uint32_t app_max_line;
    uint32_t app_id_keep_days; /* outbox.h: how long an application's id is remembered */
    uint64_t app_id_max;       /* and how many at most */
    /* [log] */
    int log_level; /* enum kf_log_level */
    /* [commands] (docs/AGENT.md "Commands"): the hooks' command lines (split at spaces, run
     * without a shell; empty: the command is refused), how long a hook may run, and how
     * long a set-config change has to reach the server before it is rolled back. */
    char hook_restart_app[KF_CFG_STR_MAX];
    char hook_reboot[KF_CFG_STR_MAX];
    uint32_t hook_timeout_s;
    uint32_t config_trial_s;
    /* The logs command (agent_logs.c): the units it may collect (separated by spaces or
     * commas; empty: none), the collector's command line, and the cap on what it keeps. */
    char log_units[KF_CFG_STR_MAX];
    char log_collector[KF_CFG_STR_MAX];
    uint32_t log_max_bytes;
    /* [update] (docs/AGENT.md "Updates", agent_update.c): the release public key pinned
     * (all zero: none, and update commands are refused), the install hook's command line
     * (split at blanks, run without a shell, the package's path added as its last word), how
     * long it may run, how long the health check after it may take, and the package name
     * that is this agent itself (any other is the kiosk application's). */
    uint8_t release_pk[32];
    char install_hook[KF_CFG_STR_MAX];
    uint32_t install_timeout_s;
    uint32_t update_health_s;
    char agent_package[KF_CFG_STR_MAX];
};

/* The keys a set-config command may change, "section.key" (docs/AGENT.md "Commands"). */
int kf_agent_config_settable(const char *key);
/* Set one allowlisted key ("section.key") of cfg to value, checked against the bounds the
 * file's value has (and the rules across keys that involve it). 0; -EPERM (not on the
 * allowlist), -EINVAL (out of bounds: err says why, cap bytes). Nothing changes on error.
 * *ret_prev (cap_prev bytes; may be NULL) receives the value it replaces, as text. */
int kf_agent_config_set(struct kf_agent_config *cfg, const char *key, const char *value,
                        char *ret_prev, size_t cap_prev, char *err, size_t cap);

/* Fill cfg with every default (required strings empty). 0, or -ENOMEM. Any thread. */
int kf_agent_config_defaults(struct kf_agent_config *cfg);

/* Load path into *ret (defaults first, then the file, then required keys and cross-key
 * checks, then the broker password from [mqtt] password_file, which must be mode 0600).
 * Returns 0, or -EINVAL / -ENOENT / -EPERM with a one-line "file:line: reason" message in
 * err (cap bytes; may be NULL). *ret is written only on success; it holds the password:
 * wipe it (sodium_memzero) when done. Any thread. */
int kf_agent_config_load(const char *path, struct kf_agent_config *ret, char *err, size_t cap);

/* "kiosk" or "itm" for an enum kf_device_kind; NULL for anything else. */
const char *kf_agent_config_kind_name(int kind);

#endif
