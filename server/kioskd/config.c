/* config.c: the daemon's own sections and the list of every section kioskd reads. */
#include "kioskd/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/conf.h>

#define SECTIONS_MAX 16

static const struct kf_conf_key store_keys[] = {
    KF_CONF_KEY_STR("path", struct kf_kioskd_config, store_path, NULL, KF_CONF_REQUIRED),
};

static const struct kf_conf_key server_keys[] = {
    KF_CONF_KEY_STR("key_file", struct kf_kioskd_config, key_file, NULL, KF_CONF_REQUIRED),
    KF_CONF_KEY_INT("heartbeat_timeout_s", struct kf_kioskd_config, heartbeat_timeout_s, 10, 86400,
                    "180", 0),
    KF_CONF_KEY_INT("stats_interval_s", struct kf_kioskd_config, stats_interval_s, 1, 3600, "10",
                    0),
    KF_CONF_KEY_STR("stats_file", struct kf_kioskd_config, stats_file, NULL, 0),
    KF_CONF_KEY_STR("metrics_file", struct kf_kioskd_config, metrics_file, NULL, 0),
};

static const struct kf_conf_key log_keys[] = {
    KF_CONF_KEY_LOG_LEVEL("level", struct kf_kioskd_config, log_level, "info", 0),
};

#define KEYS(t) t, sizeof(t) / sizeof(t[0])

/* Every section, in the order their checks run: the daemon's own, then one line per
 * subsystem, each registering its section from its own file. */
static size_t sections(struct kf_kioskd_config *cfg, struct kf_conf_section *s)
{
    size_t n = 0;

    s[n++] = (struct kf_conf_section){"store", KEYS(store_keys), cfg, NULL};
    s[n++] = (struct kf_conf_section){"server", KEYS(server_keys), cfg, NULL};
    s[n++] = (struct kf_conf_section){"log", KEYS(log_keys), cfg, NULL};
    kf_link_config_section(&cfg->mqtt, &s[n++]);
    kf_pipeline_config_section(&cfg->limits, &s[n++]);
    kf_brokersync_config_section(&cfg->broker, &s[n++]);
    kf_slasvc_config_section(&cfg->sla, &s[n++]);
    kf_reportsvc_config_section(&cfg->reports, &s[n++]);
    kf_cmdsvc_config_section(&cfg->commands, &s[n++]);
    kf_blobsvc_config_section(&cfg->blobs, &s[n++]);
    return n;
}

/* One load over a scratch copy: text NULL reads the file name. cfg is written on success. */
static int load(const char *text, const char *name, struct kf_kioskd_config *cfg, char *err,
                size_t cap, int defaults_only)
{
    struct kf_conf_section secs[SECTIONS_MAX];
    struct kf_kioskd_config *scratch;
    struct kf_conf *c = NULL;
    char msg[512] = "";
    int rc;

    scratch = calloc(1, sizeof(*scratch));
    if (scratch == NULL)
        return -ENOMEM;
    rc = kf_conf_new(secs, sections(scratch, secs), msg, sizeof(msg), &c);
    if (rc == 0) {
        if (defaults_only)
            rc = kf_conf_defaults(c);
        else if (text != NULL)
            rc = kf_conf_load_string(c, text, name);
        else
            rc = kf_conf_load_file(c, name);
    }
    if (rc == 0)
        *cfg = *scratch;
    else if (err != NULL)
        snprintf(err, cap, "%s", msg[0] != '\0' ? msg : strerror(-rc));
    kf_conf_free(c);
    free(scratch);
    return rc;
}

int kf_config_defaults(struct kf_kioskd_config *cfg)
{
    return load(NULL, "defaults", cfg, NULL, 0, 1);
}

int kf_config_load(const char *path, struct kf_kioskd_config *cfg, char *err, size_t cap)
{
    return load(NULL, path, cfg, err, cap, 0);
}

int kf_config_load_string(const char *text, const char *name, struct kf_kioskd_config *cfg,
                          char *err, size_t cap)
{
    return load(text, name, cfg, err, cap, 0);
}
