/* web/config.c: kiosk-web's configuration file (docs/WEB.md "Configuration"), one table per
 * section on kf_common's INI engine (kf/conf.h), as kioskd's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/conf.h>

#include "web/web.h"

#define C struct kf_web_config

static const struct kf_conf_key web_keys[] = {
    KF_CONF_KEY_STR("listen", C, listen, "127.0.0.1:8443", 0),
    KF_CONF_KEY_PATH("tls_cert", C, tls_cert, NULL, 0),
    KF_CONF_KEY_PATH("tls_key", C, tls_key, NULL, 0),
    KF_CONF_KEY_PATH("console_dir", C, console_dir, "/usr/share/kioskfleet/console", 0),
    KF_CONF_KEY_PATH("server_key", C, server_key, NULL, 0),
    KF_CONF_KEY_PATH("access_log", C, access_log, NULL, 0),
    KF_CONF_KEY_PATH("kioskd_metrics", C, kioskd_metrics, NULL, 0),
    KF_CONF_KEY_PATH("coverage_targets", C, coverage_targets, "/usr/share/kioskfleet/targets.ini",
                     0),
};

static const struct kf_conf_key store_keys[] = {
    KF_CONF_KEY_PATH("path", C, store, NULL, KF_CONF_REQUIRED),
};

static const struct kf_conf_key limits_keys[] = {
    KF_CONF_KEY_U32("body_max", C, body_max, 1024, 16u << 20, "65536", 0),
    KF_CONF_KEY_U32("request_ms", C, request_ms, 100, 600000, "15000", 0),
    KF_CONF_KEY_U32("jobs_max", C, jobs_max, 1, 100000, "256", 0),
    KF_CONF_KEY_U32("pool_max", C, pool_max, 1, 64, "8", 0),
    KF_CONF_KEY_U32("pw_max", C, pw_max, 1, 16, "2", 0),
    KF_CONF_KEY_U32("sessions_max", C, sessions_max, 1, 1000000, "10000", 0),
    KF_CONF_KEY_U32("sse_max", C, sse_max, 0, 10000, "64", 0),
    KF_CONF_KEY_U32("answer_max_age_ms", C, answer_max_age_ms, 0, 60000, "1000", 0),
    KF_CONF_KEY_U32("answer_cache_entries", C, answer_cache_entries, 1, 100000, "512", 0),
    KF_CONF_KEY_U32("answer_cache_kb", C, answer_cache_kb, 1, 4194304, "65536", 0),
};

static const struct kf_conf_key session_keys[] = {
    KF_CONF_KEY_U32("idle_s", C, idle_s, 60, 86400 * 7, "1800", 0),
    KF_CONF_KEY_U32("absolute_s", C, absolute_s, 300, 86400 * 30, "43200", 0),
    KF_CONF_KEY_U32("login_fail_max", C, login_fail_max, 1, 1000, "5", 0),
    KF_CONF_KEY_U32("addr_fail_max", C, addr_fail_max, 1, 100000, "30", 0),
    KF_CONF_KEY_U32("login_window_s", C, login_window_s, 10, 86400, "300", 0),
};

static const struct kf_conf_key log_keys[] = {
    KF_CONF_KEY_LOG_LEVEL("level", C, log_level, "info", 0),
};

/* Cross-key rules: TLS needs both halves; a non-loopback address needs TLS. */
static int web_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    const C *cfg = s->base;
    const char *host = cfg->listen;
    const char *colon = strrchr(cfg->listen, ':');
    size_t hl;

    if (!colon || colon == cfg->listen || colon[1] == '\0') {
        kf_conf_fail(c, kf_conf_line(c, "web", "listen"), "[web] listen: HOST:PORT, not '%s'",
                     cfg->listen);
        return -EINVAL;
    }
    if ((cfg->tls_cert[0] != '\0') != (cfg->tls_key[0] != '\0')) {
        kf_conf_fail(c, kf_conf_line(c, "web", cfg->tls_cert[0] ? "tls_cert" : "tls_key"),
                     "[web] tls_cert and tls_key go together");
        return -EINVAL;
    }
    hl = (size_t)(colon - host);
    if (cfg->tls_cert[0] == '\0' && !((hl == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
                                      (hl == 9 && strncmp(host, "localhost", 9) == 0) ||
                                      (hl == 5 && strncmp(host, "[::1]", 5) == 0))) {
        kf_conf_fail(c, kf_conf_line(c, "web", "listen"),
                     "[web] listen %s is not a loopback address: set tls_cert and tls_key "
                     "(passwords and session cookies never cross a network in clear)",
                     cfg->listen);
        return -EINVAL;
    }
    return 0;
}

static int session_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    const C *cfg = s->base;

    if (cfg->idle_s > cfg->absolute_s) {
        kf_conf_fail(c, kf_conf_line(c, "session", "idle_s"),
                     "[session] idle_s is longer than absolute_s");
        return -EINVAL;
    }
    return 0;
}

#define KEYS(t) t, sizeof(t) / sizeof(t[0])

static int load(const char *text, const char *name, struct kf_web_config *cfg, char *err,
                size_t cap)
{
    struct kf_web_config *scratch = calloc(1, sizeof(*scratch));
    struct kf_conf *c = NULL;
    char msg[512] = "";
    int rc;

    if (!scratch)
        return -ENOMEM;
    struct kf_conf_section secs[] = {
        {"web", KEYS(web_keys), scratch, web_check},
        {"store", KEYS(store_keys), scratch, NULL},
        {"limits", KEYS(limits_keys), scratch, NULL},
        {"session", KEYS(session_keys), scratch, session_check},
        {"log", KEYS(log_keys), scratch, NULL},
    };
    rc = kf_conf_new(secs, sizeof(secs) / sizeof(secs[0]), msg, sizeof(msg), &c);
    if (rc == 0)
        rc = text ? kf_conf_load_string(c, text, name) : kf_conf_load_file(c, name);
    if (rc == 0)
        *cfg = *scratch;
    else
        snprintf(err, cap, "%s", msg[0] ? msg : strerror(-rc));
    kf_conf_free(c);
    free(scratch);
    return rc;
}

int kf_web_config_load(const char *path, struct kf_web_config *cfg, char *err, size_t cap)
{
    return load(NULL, path, cfg, err, cap);
}

int kf_web_config_load_string(const char *text, const char *name, struct kf_web_config *cfg,
                              char *err, size_t cap)
{
    return load(text, name, cfg, err, cap);
}
