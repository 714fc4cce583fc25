/* config.h: kioskd's configuration file (INI), parsed by one table of keys.
 *
 * Every key has a type, bounds and a default (docs/KIOSKD.md lists them). Unknown sections
 * and keys are errors; errors name file:line. Loaded once by main before the loop starts.
 */
#ifndef KF_KIOSKD_CONFIG_H
#define KF_KIOSKD_CONFIG_H

#include <stddef.h>

#include <kf/brokerpw.h>
#include <kf/log.h>

#define KF_CONFIG_PATH_MAX 512
#define KF_CONFIG_URI_MAX 256
#define KF_CONFIG_CLIENT_ID_MAX 64

struct kf_kioskd_config {
    /* [store] */
    char store_path[KF_CONFIG_PATH_MAX]; /* required */
    /* [mqtt] */
    char mqtt_uri[KF_CONFIG_URI_MAX];             /* tcp://127.0.0.1:1883 */
    char mqtt_client_id[KF_CONFIG_CLIENT_ID_MAX]; /* kioskd */
    int mqtt_keepalive_s;                         /* 30, 5..3600 */
    char mqtt_ca_file[KF_CONFIG_PATH_MAX];        /* optional, TLS URIs: the broker's CA */
    char mqtt_username[KF_CONFIG_CLIENT_ID_MAX];  /* optional; "_kioskd" on a locked broker */
    char mqtt_password_file[KF_CONFIG_PATH_MAX];  /* optional; mode 0600 */
    char mqtt_password[KF_BROKERPW_MAX + 1];      /* kf_config_read_password fills it */
    /* [server] */
    char key_file[KF_CONFIG_PATH_MAX];   /* required: Ed25519 secret key (kf_keyfile_read) */
    int heartbeat_timeout_s;             /* 180, 10..86400 */
    int stats_interval_s;                /* 10, 1..3600 */
    char stats_file[KF_CONFIG_PATH_MAX]; /* optional; empty: none */
    /* [broker]: after an enrollment, before answering, run
     * `provision_bin broker-sync --db <store path> --dir auth_dir [--pid-file pid_file]`
     * (identity.h); auth_dir empty: no broker files to update */
    char broker_auth_dir[KF_CONFIG_PATH_MAX];
    char broker_pid_file[KF_CONFIG_PATH_MAX];
    char broker_provision_bin[KF_CONFIG_PATH_MAX]; /* kiosk-provision (searched in PATH) */
    /* [limits] */
    int inbox_max;        /* 20000, 16..1000000: frames held in memory, receipt to commit */
    int inbox_max_mb;     /* 64, 1..4096: and their bytes, in MiB */
    int verify_batch_max; /* 256, 1..4096 */
    int verify_jobs_max;  /* 2, 1..32 */
    int commit_batch_max; /* 5000, 1..100000 */
    int ack_keys_max;     /* 262144, 1024..16777216: ACK keys held (ackkeys.h) */
    /* [sla] (docs/KIOSKD.md, docs/SLA.md) */
    char sla_calendar_dir[KF_CONFIG_PATH_MAX]; /* optional: the yearly cn-YYYY.ini files */
    int sla_grace_s;                           /* 120, 0..86400 */
    int sla_reopen_window_s;                   /* 86400, 0..2592000 */
    int sla_tick_s;                            /* 5, 1..60 */
    char sla_notify_topic[KF_CONFIG_URI_MAX];  /* kf/v1/_notify/sla; "" none */
    char sla_webhook_url[KF_CONFIG_PATH_MAX];  /* optional: http(s)://... */
    int sla_webhook_timeout_ms;                /* 5000, 100..60000 */
    int sla_webhook_retries;                   /* 3, 0..10 */
    int sla_webhook_queue_max;                 /* 1000, 1..100000 */
    /* [log] */
    enum kf_log_level log_level; /* info */
};

/* Fill cfg with every default (required strings empty). */
void kf_config_defaults(struct kf_kioskd_config *cfg);

/* Parse path over the defaults. Returns 0, -ENOENT (cannot open), -EINVAL (bad content:
 * a message naming path:line, or the keys that disagree, is written into err, cap bytes,
 * when err is not NULL). cfg is written only on success. Borrows path. Main thread. */
int kf_config_load(const char *path, struct kf_kioskd_config *cfg, char *err, size_t cap);

/* Same from a string (tests); name is used in messages. */
int kf_config_load_string(const char *text, const char *name, struct kf_kioskd_config *cfg,
                          char *err, size_t cap);

/* Read the broker password from cfg->mqtt_password_file (none: empty) into
 * cfg->mqtt_password. The file must be a regular file of mode 0600 or stricter holding one
 * line. 0, -ENOENT, -EPERM (group or others may read it), -EBADMSG, -errno, with a message
 * in err. Wipe cfg (sodium_memzero) when done with it. Main thread. */
int kf_config_read_password(struct kf_kioskd_config *cfg, char *err, size_t cap);

#endif
