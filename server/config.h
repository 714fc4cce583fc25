/* config.h: kioskd's configuration file (INI), parsed by one table of keys.
 *
 * Every key has a type, bounds and a default (docs/KIOSKD.md lists them). Unknown sections
 * and keys are errors; errors name file:line. Loaded once by main before the loop starts.
 */
#ifndef KF_SERVER_CONFIG_H
#define KF_SERVER_CONFIG_H

#include <stddef.h>

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
    /* [server] */
    char key_file[KF_CONFIG_PATH_MAX];   /* required: Ed25519 secret key (kf_keyfile_read) */
    int heartbeat_timeout_s;             /* 180, 10..86400 */
    int stats_interval_s;                /* 10, 1..3600 */
    char stats_file[KF_CONFIG_PATH_MAX]; /* optional; empty: none */
    /* [limits] */
    int inbox_max;        /* 20000, 16..1000000: frames held in memory, receipt to commit */
    int verify_batch_max; /* 256, 1..4096 */
    int verify_jobs_max;  /* 2, 1..32 */
    int commit_batch_max; /* 2000, 1..100000 */
    /* [log] */
    enum kf_log_level log_level; /* info */
};

/* Fill cfg with every default (required strings empty). */
void kf_config_defaults(struct kf_kioskd_config *cfg);

/* Parse path over the defaults. Returns 0, -ENOENT (cannot open), -EINVAL (bad content:
 * a message naming path:line is written into err, cap bytes, when err is not NULL).
 * cfg is written only on success. Borrows path. Main thread. */
int kf_config_load(const char *path, struct kf_kioskd_config *cfg, char *err, size_t cap);

/* Same from a string (tests); name is used in messages. */
int kf_config_load_string(const char *text, const char *name, struct kf_kioskd_config *cfg,
                          char *err, size_t cap);

#endif
