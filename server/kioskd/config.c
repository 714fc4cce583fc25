/* config.c: the key table drives parsing, defaults and bounds (Redis config.c style). */
#include "kioskd/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include <kf/envelope.h>
#include <kf/topic.h>

enum kf_cfg_type {
    KF_CFG_STR,
    KF_CFG_INT,
    KF_CFG_LOGLEVEL,
};

struct kf_cfg_key {
    const char *section;
    const char *name;
    enum kf_cfg_type type;
    size_t offset;
    size_t size; /* KF_CFG_STR: buffer size */
    long min, max;
    const char *def; /* default as text, parsed like a file value; NULL: empty */
    int required;
};

#define KF_STR(sec, key, field, dflt, req)                                                         \
    {                                                                                              \
        sec, key, KF_CFG_STR, offsetof(struct kf_kioskd_config, field),                            \
            sizeof(((struct kf_kioskd_config *)0)->field), 0, 0, dflt, req                         \
    }
#define KF_INT(sec, key, field, lo, hi, dflt)                                                      \
    {                                                                                              \
        sec, key, KF_CFG_INT, offsetof(struct kf_kioskd_config, field), sizeof(int), lo, hi, dflt, \
            0                                                                                      \
    }

static const struct kf_cfg_key kf_cfg_keys[] = {
    KF_STR("store", "path", store_path, NULL, 1),
    KF_STR("mqtt", "uri", mqtt_uri, "tcp://127.0.0.1:1883", 0),
    KF_STR("mqtt", "client_id", mqtt_client_id, "kioskd", 0),
    KF_INT("mqtt", "keepalive_s", mqtt_keepalive_s, 5, 3600, "30"),
    KF_STR("mqtt", "ca_file", mqtt_ca_file, NULL, 0),
    KF_STR("mqtt", "username", mqtt_username, NULL, 0),
    KF_STR("mqtt", "password_file", mqtt_password_file, NULL, 0),
    KF_STR("server", "key_file", key_file, NULL, 1),
    KF_INT("server", "heartbeat_timeout_s", heartbeat_timeout_s, 10, 86400, "180"),
    KF_INT("server", "stats_interval_s", stats_interval_s, 1, 3600, "10"),
    KF_STR("server", "stats_file", stats_file, NULL, 0),
    KF_STR("broker", "auth_dir", broker_auth_dir, NULL, 0),
    KF_STR("broker", "pid_file", broker_pid_file, NULL, 0),
    KF_STR("broker", "provision_bin", broker_provision_bin, "kiosk-provision", 0),
    KF_INT("limits", "inbox_max", inbox_max, 16, 1000000, "20000"),
    KF_INT("limits", "inbox_max_mb", inbox_max_mb, 1, 4096, "64"),
    KF_INT("limits", "verify_batch_max", verify_batch_max, 1, 4096, "256"),
    KF_INT("limits", "verify_jobs_max", verify_jobs_max, 1, 32, "2"),
    KF_INT("limits", "commit_batch_max", commit_batch_max, 1, 100000, "5000"),
    KF_INT("limits", "ack_keys_max", ack_keys_max, 1024, 16777216, "262144"),
    KF_STR("sla", "calendar_dir", sla_calendar_dir, NULL, 0),
    KF_INT("sla", "grace_s", sla_grace_s, 0, 86400, "120"),
    KF_INT("sla", "reopen_window_s", sla_reopen_window_s, 0, 2592000, "86400"),
    KF_INT("sla", "tick_s", sla_tick_s, 1, 60, "5"),
    KF_STR("sla", "notify_topic", sla_notify_topic, "kf/v1/_notify/sla", 0),
    KF_STR("sla", "webhook_url", sla_webhook_url, NULL, 0),
    KF_INT("sla", "webhook_timeout_ms", sla_webhook_timeout_ms, 100, 60000, "5000"),
    KF_INT("sla", "webhook_retries", sla_webhook_retries, 0, 10, "3"),
    KF_INT("sla", "webhook_queue_max", sla_webhook_queue_max, 1, 100000, "1000"),
    {"log", "level", KF_CFG_LOGLEVEL, offsetof(struct kf_kioskd_config, log_level),
     sizeof(enum kf_log_level), 0, 0, "info", 0},
};
#define KF_NKEYS (sizeof(kf_cfg_keys) / sizeof(kf_cfg_keys[0]))

struct kf_cfg_parse {
    struct kf_kioskd_config cfg;
    unsigned char seen[KF_NKEYS];
    char msg[256]; /* first error, without file:line */
};

/* Set one key from text. Returns 0 or -EINVAL with a message in msg. */
static int kf_cfg_set(struct kf_kioskd_config *cfg, const struct kf_cfg_key *k, const char *value,
                      char *msg, size_t cap)
{
    char *field = (char *)cfg + k->offset;

    switch (k->type) {
    case KF_CFG_STR: {
        size_t len = strlen(value);
        if (len >= k->size) {
            snprintf(msg, cap, "%s.%s: longer than %zu bytes", k->section, k->name, k->size - 1);
            return -EINVAL;
        }
        memcpy(field, value, len + 1);
        return 0;
    }
    case KF_CFG_INT: {
        char *end = NULL;
        long v;
        errno = 0;
        v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0') {
            snprintf(msg, cap, "%s.%s: not an integer: \"%s\"", k->section, k->name, value);
            return -EINVAL;
        }
        if (v < k->min || v > k->max) {
            snprintf(msg, cap, "%s.%s: %ld is out of range %ld..%ld", k->section, k->name, v,
                     k->min, k->max);
            return -EINVAL;
        }
        *(int *)(void *)field = (int)v;
        return 0;
    }
    case KF_CFG_LOGLEVEL: {
        enum kf_log_level lvl;
        if (kf_log_parse_level(value, &lvl) != 0) {
            snprintf(msg, cap, "%s.%s: expected err|warning|notice|info|debug, got \"%s\"",
                     k->section, k->name, value);
            return -EINVAL;
        }
        *(enum kf_log_level *)(void *)field = lvl;
        return 0;
    }
    }
    snprintf(msg, cap, "%s.%s: bad key type", k->section, k->name);
    return -EINVAL;
}

void kf_config_defaults(struct kf_kioskd_config *cfg)
{
    char msg[256];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < KF_NKEYS; i++) {
        if (kf_cfg_keys[i].def != NULL) {
            /* Defaults are in bounds by construction; a failure here is a table bug. */
            (void)kf_cfg_set(cfg, &kf_cfg_keys[i], kf_cfg_keys[i].def, msg, sizeof(msg));
        }
    }
}

/* inih handler: returns 1 to go on, 0 to report an error at the current line. */
static int kf_cfg_handler(void *user, const char *section, const char *name, const char *value)
{
    struct kf_cfg_parse *ps = user;
    char msg[sizeof(ps->msg)];
    int known_section = 0;

    for (size_t i = 0; i < KF_NKEYS; i++) {
        const struct kf_cfg_key *k = &kf_cfg_keys[i];
        if (strcmp(k->section, section) != 0) {
            continue;
        }
        known_section = 1;
        if (strcmp(k->name, name) != 0) {
            continue;
        }
        if (ps->seen[i]) {
            if (ps->msg[0] == '\0') {
                snprintf(ps->msg, sizeof(ps->msg), "%s.%s: given twice", section, name);
            }
            return 0;
        }
        ps->seen[i] = 1;
        if (kf_cfg_set(&ps->cfg, k, value, msg, sizeof(msg)) != 0) {
            if (ps->msg[0] == '\0') {
                memcpy(ps->msg, msg, sizeof(msg));
            }
            return 0;
        }
        return 1;
    }
    if (ps->msg[0] == '\0') {
        if (!known_section) {
            snprintf(ps->msg, sizeof(ps->msg), "unknown section [%s]", section);
        } else {
            snprintf(ps->msg, sizeof(ps->msg), "unknown key \"%s\" in [%s]", name, section);
        }
    }
    return 0;
}

/* Cross-key checks of the broker connection. 0 or -EINVAL with a message in msg. */
static int kf_cfg_broker(const struct kf_kioskd_config *cfg, char *msg, size_t cap)
{
    if (cfg->mqtt_ca_file[0] != '\0' && !kf_brokerpw_uri_tls(cfg->mqtt_uri)) {
        /* The uri cut to fit the message: enough to recognise it. */
        snprintf(msg, cap, "mqtt.ca_file: needs an ssl:// or mqtts:// uri, not \"%.160s\"",
                 cfg->mqtt_uri);
        return -EINVAL;
    }
    if (cfg->mqtt_password_file[0] != '\0' && cfg->mqtt_username[0] == '\0') {
        snprintf(msg, cap, "mqtt.password_file: given without mqtt.username");
        return -EINVAL;
    }
    return 0;
}

int kf_config_read_password(struct kf_kioskd_config *cfg, char *err, size_t cap)
{
    int rc;

    if (cfg->mqtt_password_file[0] == '\0') {
        cfg->mqtt_password[0] = '\0';
        return 0;
    }
    rc = kf_brokerpw_read(cfg->mqtt_password_file, cfg->mqtt_password, sizeof(cfg->mqtt_password));
    if (rc != 0 && err != NULL) {
        snprintf(err, cap, "mqtt.password_file %s: %s", cfg->mqtt_password_file,
                 rc == -EPERM     ? "readable by group or others (chmod 0600)"
                 : rc == -EBADMSG ? "not one line of printable characters"
                                  : strerror(-rc));
    }
    return rc;
}

/* Cross-key checks of [sla]. 0 or -EINVAL with a message in msg. */
static int kf_cfg_sla(const struct kf_kioskd_config *cfg, char *msg, size_t cap)
{
    const char *t = cfg->sla_notify_topic, *u = cfg->sla_webhook_url;

    char dev[KF_DEVICE_ID_MAX + 1];
    enum kf_topic_kind kind;

    /* A topic to publish on: no wildcards, not a broker ($SYS) topic, and not one of the
     * device topics kioskd itself reads (it would receive its own announcements). */
    if (t[0] == '$' || strpbrk(t, "+#") != NULL ||
        kf_topic_parse(t, dev, sizeof(dev), &kind) == 0) {
        snprintf(msg, cap, "sla.notify_topic: \"%.200s\" is not a topic to announce on", t);
        return -EINVAL;
    }
    if (u[0] != '\0' && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
        snprintf(msg, cap, "sla.webhook_url: must start with http:// or https://");
        return -EINVAL;
    }
    return 0;
}

/* Shared tail of both loaders: rc is what inih returned. */
static int kf_cfg_finish(struct kf_cfg_parse *ps, int rc, const char *name,
                         struct kf_kioskd_config *cfg, char *err, size_t cap)
{
    if (rc < 0) {
        if (err != NULL) {
            snprintf(err, cap, "%s: cannot open or read", name);
        }
        return -ENOENT;
    }
    if (rc > 0) {
        if (err != NULL) {
            snprintf(err, cap, "%s:%d: %s", name, rc,
                     ps->msg[0] != '\0' ? ps->msg : "syntax error");
        }
        return -EINVAL;
    }
    for (size_t i = 0; i < KF_NKEYS; i++) {
        if (kf_cfg_keys[i].required && !ps->seen[i]) {
            if (err != NULL) {
                snprintf(err, cap, "%s: missing required key %s.%s", name, kf_cfg_keys[i].section,
                         kf_cfg_keys[i].name);
            }
            return -EINVAL;
        }
    }
    rc = kf_cfg_broker(&ps->cfg, ps->msg, sizeof(ps->msg));
    if (rc == 0) {
        rc = kf_cfg_sla(&ps->cfg, ps->msg, sizeof(ps->msg));
    }
    if (rc != 0) {
        if (err != NULL) {
            snprintf(err, cap, "%s: %s", name, ps->msg);
        }
        return rc;
    }
    *cfg = ps->cfg;
    return 0;
}

int kf_config_load(const char *path, struct kf_kioskd_config *cfg, char *err, size_t cap)
{
    struct kf_cfg_parse *ps;
    FILE *f;
    int rc;

    ps = calloc(1, sizeof(*ps));
    if (ps == NULL) {
        return -ENOMEM;
    }
    kf_config_defaults(&ps->cfg);
    f = fopen(path, "re");
    if (f == NULL) {
        rc = -errno;
        if (err != NULL) {
            snprintf(err, cap, "%s: %s", path, strerror(-rc));
        }
        goto out_free;
    }
    rc = ini_parse_file(f, kf_cfg_handler, ps);
    fclose(f);
    rc = kf_cfg_finish(ps, rc, path, cfg, err, cap);
out_free:
    free(ps);
    return rc;
}

int kf_config_load_string(const char *text, const char *name, struct kf_kioskd_config *cfg,
                          char *err, size_t cap)
{
    struct kf_cfg_parse *ps;
    int rc;

    ps = calloc(1, sizeof(*ps));
    if (ps == NULL) {
        return -ENOMEM;
    }
    kf_config_defaults(&ps->cfg);
    rc = ini_parse_string(text, kf_cfg_handler, ps);
    rc = kf_cfg_finish(ps, rc, name, cfg, err, cap);
    free(ps);
    return rc;
}
