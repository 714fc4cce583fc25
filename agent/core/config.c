/* core/config.c: the agent INI on the kf_conf engine (kf/conf.h): one table per section,
 * one row per key, each section's rules in its check. */
#include "core/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/brokerpw.h>
#include <kf/conf.h>
#include <kf/keyfile.h>
#include <kf/manifest.h>

#define CFG struct kf_agent_config
#define KEYS(t) (t), sizeof(t) / sizeof((t)[0])

/* ---- the agent's own types ---- */

static int parse_device_id(const char *value, void *field, size_t size, char *err, size_t cap)
{
    if (!kf_device_id_valid(value)) {
        snprintf(err, cap, "not a valid device id (1..48 of [A-Za-z0-9._-])");
        return -EINVAL;
    }
    snprintf(field, size, "%s", value); /* fits: KF_DEVICE_ID_MAX + 1 */
    return 0;
}

static int parse_kind(const char *value, void *field, size_t size, char *err, size_t cap)
{
    (void)size;
    if (strcmp(value, "kiosk") == 0) {
        *(int *)field = KF_KIND_KIOSK;
    } else if (strcmp(value, "itm") == 0) {
        *(int *)field = KF_KIND_ITM;
    } else {
        snprintf(err, cap, "must be kiosk or itm");
        return -EINVAL;
    }
    return 0;
}

static int parse_public_key(const char *value, void *field, size_t size, char *err, size_t cap)
{
    if (strlen(value) != 2 * size || kf_hex_decode(value, field, size) < 0) {
        snprintf(err, cap, "must be 64 hex digits");
        return -EINVAL;
    }
    return 0;
}

/* A secret read from its own 0600 file ([enroll] token_file, [mqtt] password_file): the
 * error names the key's line. */
static int read_secret(struct kf_conf *c, const char *section, const char *key, const char *path,
                       char *buf, size_t cap)
{
    int rc = kf_brokerpw_read(path, buf, cap);

    if (rc < 0)
        kf_conf_fail(c, kf_conf_line(c, section, key), "[%s] %s %s: %s", section, key, path,
                     rc == -EPERM     ? "readable by group or others (chmod 0600)"
                     : rc == -EBADMSG ? "not one line of printable characters"
                                      : strerror(-rc));
    return rc;
}

/* ---- [device] ---- */

static const struct kf_conf_key device_keys[] = {
    /* Either identity_dir (the terminal enrolls and keeps its own identity there), or id and
     * key_file (a provisioned identity): device_check. */
    KF_CONF_KEY_PATH("identity_dir", CFG, identity_dir, NULL, 0),
    KF_CONF_KEY_CUSTOM("id", CFG, device_id, parse_device_id, NULL, 0),
    KF_CONF_KEY_PATH("key_file", CFG, key_file, NULL, 0),
    KF_CONF_KEY_U32("key_epoch", CFG, key_epoch, 0, UINT32_MAX, "1", 0),
    KF_CONF_KEY_CUSTOM("kind", CFG, kind, parse_kind, "kiosk", 0),
    /* Required: an ACK deletes records, so only the server may make one (the ACK key is
     * derived from it, docs/PROTOCOL.md section 4). */
    KF_CONF_KEY_CUSTOM("server_public_key", CFG, server_pk, parse_public_key, NULL,
                       KF_CONF_REQUIRED),
};

/* The agent's sections share one struct, so a check may read the other sections' keys:
 * every default and every value of the file is in by now. */
static int device_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    const struct kf_agent_config *cfg = s->base;

    if (cfg->identity_dir[0]
            ? (cfg->device_id[0] || cfg->key_file[0] || cfg->username[0] || cfg->password_file[0])
            : (!cfg->device_id[0] || !cfg->key_file[0])) {
        kf_conf_fail(c, 0,
                     cfg->identity_dir[0]
                         ? "[device] identity_dir holds the identity: no id, key_file, "
                           "[mqtt] username or password_file beside it"
                         : "[device] needs identity_dir (enrollment) or id and key_file");
        return -EINVAL;
    }
    return 0;
}

/* ---- [enroll] ---- */

static const struct kf_conf_key enroll_keys[] = {
    KF_CONF_KEY_PATH("token_file", CFG, enroll_token_file, NULL, 0),
};

static int enroll_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    struct kf_agent_config *cfg = s->base;

    if (!cfg->enroll_token_file[0])
        return 0;
    if (!cfg->identity_dir[0]) {
        kf_conf_fail(c, kf_conf_line(c, "enroll", "token_file"),
                     "[enroll] token_file needs [device] identity_dir");
        return -EINVAL;
    }
    /* The token is a secret until used: same rule as a key file. */
    return read_secret(c, "enroll", "token_file", cfg->enroll_token_file, cfg->enroll_token,
                       sizeof(cfg->enroll_token));
}

/* ---- [mqtt] ---- */

static const struct kf_conf_key mqtt_keys[] = {
    KF_CONF_KEY_STR("uri", CFG, uri, NULL, KF_CONF_REQUIRED),
    /* TLS (ssl:// or mqtts://): the CA that signed the broker's certificate. */
    KF_CONF_KEY_PATH("ca_file", CFG, ca_file, NULL, 0),
    KF_CONF_KEY_STR("username", CFG, username, "", 0),
    /* The broker password lives in its own 0600 file, never in this (0640) one. */
    KF_CONF_KEY_PATH("password_file", CFG, password_file, NULL, 0),
    KF_CONF_KEY_U32("keepalive_s", CFG, keepalive_s, 5, 3600, "30", 0),
    KF_CONF_KEY_U32("reconnect_min_ms", CFG, reconnect_min_ms, 10, 600000, "500", 0),
    KF_CONF_KEY_U32("reconnect_max_ms", CFG, reconnect_max_ms, 10, 3600000, "60000", 0),
    /* A fleet that loses the broker at once must not come back at once: the first
     * reconnect is spread over this window, the handshakes it costs the broker over time
     * (docs/AGENT.md, "Reconnecting"). */
    KF_CONF_KEY_U32("reconnect_spread_ms", CFG, reconnect_spread_ms, 0, 600000, "5000", 0),
    /* Longer than a busy broker's handshake queue, or clients give up and add CONNECTs. */
    KF_CONF_KEY_U32("connect_timeout_s", CFG, connect_timeout_s, 5, 300, "30", 0),
};

static int mqtt_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    struct kf_agent_config *cfg = s->base;

    if (cfg->reconnect_max_ms < cfg->reconnect_min_ms) {
        kf_conf_fail(c, 0, "[mqtt] reconnect_max_ms (%" PRIu32 ") < reconnect_min_ms (%" PRIu32 ")",
                     cfg->reconnect_max_ms, cfg->reconnect_min_ms);
        return -EINVAL;
    }
    if (cfg->ca_file[0] && !kf_brokerpw_uri_tls(cfg->uri)) {
        kf_conf_fail(c, kf_conf_line(c, "mqtt", "ca_file"),
                     "[mqtt] ca_file needs an ssl:// or mqtts:// uri (got \"%s\")", cfg->uri);
        return -EINVAL;
    }
    if (cfg->password_file[0] && !cfg->username[0]) {
        kf_conf_fail(c, kf_conf_line(c, "mqtt", "password_file"),
                     "[mqtt] password_file without a username");
        return -EINVAL;
    }
    if (!cfg->password_file[0])
        return 0;
    return read_secret(c, "mqtt", "password_file", cfg->password_file, cfg->password,
                       sizeof(cfg->password));
}

/* ---- [outbox] ---- */

static const struct kf_conf_key outbox_keys[] = {
    KF_CONF_KEY_PATH("path", CFG, outbox_path, NULL, KF_CONF_REQUIRED),
    KF_CONF_KEY_U64("max_records", CFG, outbox_max_records, 1, 100000000, "500000", 0),
    KF_CONF_KEY_U64("max_bytes", CFG, outbox_max_bytes, 65536, UINT64_C(17179869184), "268435456",
                    0),
    KF_CONF_KEY_U64("max_health", CFG, outbox_max_health, 0, 100000000, "20160", 0),
};

static int outbox_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    const struct kf_agent_config *cfg = s->base;

    if (cfg->outbox_max_health > cfg->outbox_max_records) {
        kf_conf_fail(c, 0, "[outbox] max_health exceeds max_records");
        return -EINVAL;
    }
    return 0;
}

/* ---- [batch], [probes], [app], [log] ---- */

static const struct kf_conf_key batch_keys[] = {
    KF_CONF_KEY_U32("max_records", CFG, batch_max_records, 1, KF_ENV_MAX_RECORDS, "200", 0),
    /* Raw JSON per batch; an uncompressed batch must still fit one 64 KiB frame. */
    KF_CONF_KEY_U32("max_bytes", CFG, batch_max_bytes, 1024, 60000, "48000", 0),
    KF_CONF_KEY_U32("flush_interval_ms", CFG, flush_interval_ms, 10, 600000, "2000", 0),
    KF_CONF_KEY_U32("inflight_max", CFG, inflight_max, 1, 64, "4", 0),
    KF_CONF_KEY_U32("ack_timeout_ms", CFG, ack_timeout_ms, 100, 3600000, "30000", 0),
};

static const struct kf_conf_key probes_keys[] = {
    KF_CONF_KEY_U32("health_interval_s", CFG, health_interval_s, 1, 86400, "60", 0),
    KF_CONF_KEY_STR("disk_path", CFG, disk_path, "/", 0),
    KF_CONF_KEY_STR("thermal_dir", CFG, thermal_dir, "/sys/class/thermal", 0),
};

static const struct kf_conf_key app_keys[] = {
    KF_CONF_KEY_PATH("socket", CFG, app_socket, "/run/kiosk-agent/app.sock", 0),
    KF_CONF_KEY_U32("max_line", CFG, app_max_line, 256, 65536, "4096", 0),
    /* The application's ids (app_id) the agent remembers, so that a resent line is answered
     * and not stored twice (docs/AGENT.md, "Exactly once from the application's journal").
     * About 150 bytes of outbox file each. */
    KF_CONF_KEY_U32("app_id_keep_days", CFG, app_id_keep_days, 1, 3650, "30", 0),
    KF_CONF_KEY_U64("app_id_max", CFG, app_id_max, 100, 10000000, "100000", 0),
};

static const struct kf_conf_key log_keys[] = {
    KF_CONF_KEY_LOG_LEVEL("level", CFG, log_level, "info", 0),
};

static const struct kf_conf_key commands_keys[] = {
    /* The hooks are off unless configured: a remote restart or reboot of a terminal is
     * something its owner opts into, with the command line that does it here. */
    KF_CONF_KEY_STR("restart_app", CFG, hook_restart_app, "", 0),
    KF_CONF_KEY_STR("reboot", CFG, hook_reboot, "", 0),
    KF_CONF_KEY_U32("hook_timeout_s", CFG, hook_timeout_s, 1, 3600, "60", 0),
    KF_CONF_KEY_U32("config_trial_s", CFG, config_trial_s, 5, 86400, "120", 0),
    /* Logs: none unless allowlisted here. %u is one word: "-u UNIT" for each unit asked
     * for; %s in a word: the start of the span, seconds since the epoch. */
    KF_CONF_KEY_STR("log_units", CFG, log_units, "", 0),
    KF_CONF_KEY_STR("log_collector", CFG, log_collector,
                    "journalctl %u --since=@%s -o short-iso --no-pager", 0),
    KF_CONF_KEY_U32("log_max_bytes", CFG, log_max_bytes, 4096, 8388608, "1048576", 0),
};

static int parse_package_name(const char *value, void *field, size_t size, char *err, size_t cap)
{
    if (!kf_manifest_name_ok(value)) {
        snprintf(err, cap,
                 "not a Debian package name (2..64 of [a-z0-9.+-], a letter or digit first)");
        return -EINVAL;
    }
    snprintf(field, size, "%s", value); /* fits: 64 < KF_CFG_STR_MAX */
    return 0;
}

static const struct kf_conf_key update_keys[] = {
    /* No key, no updates: a terminal installs only what the release key signed. */
    KF_CONF_KEY_CUSTOM("release_public_key", CFG, release_pk, parse_public_key, NULL, 0),
    /* The package's path is added as the last word; empty: updates are refused. */
    KF_CONF_KEY_STR("install_hook", CFG, install_hook,
                    "/usr/lib/kioskfleet/kiosk-agent-install-request", 0),
    KF_CONF_KEY_U32("install_timeout_s", CFG, install_timeout_s, 10, 3600, "600", 0),
    KF_CONF_KEY_U32("health_s", CFG, update_health_s, 5, 3600, "120", 0),
    KF_CONF_KEY_CUSTOM("agent_package", CFG, agent_package, parse_package_name, "kiosk-agent", 0),
};

/* Every section, in the order their checks run; the bases are filled in per load. */
static const struct kf_conf_section agent_sections[] = {
    {"device", KEYS(device_keys), NULL, device_check},
    {"enroll", KEYS(enroll_keys), NULL, enroll_check},
    {"mqtt", KEYS(mqtt_keys), NULL, mqtt_check},
    {"outbox", KEYS(outbox_keys), NULL, outbox_check},
    {"batch", KEYS(batch_keys), NULL, NULL},
    {"probes", KEYS(probes_keys), NULL, NULL},
    {"app", KEYS(app_keys), NULL, NULL},
    {"log", KEYS(log_keys), NULL, NULL},
    {"commands", KEYS(commands_keys), NULL, NULL},
    {"update", KEYS(update_keys), NULL, NULL},
};

#define AGENT_NSECTIONS (sizeof(agent_sections) / sizeof(agent_sections[0]))

/* A kf_conf over cfg (zeroed first: the fields no key fills, too). */
static int agent_conf_new(struct kf_agent_config *cfg, struct kf_conf_section *secs, char *err,
                          size_t cap, struct kf_conf **ret)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < AGENT_NSECTIONS; i++) {
        secs[i] = agent_sections[i];
        secs[i].base = cfg;
    }
    return kf_conf_new(secs, AGENT_NSECTIONS, err, cap, ret);
}

int kf_agent_config_defaults(struct kf_agent_config *cfg)
{
    struct kf_conf_section secs[AGENT_NSECTIONS];
    struct kf_conf *c;
    int rc = agent_conf_new(cfg, secs, NULL, 0, &c);

    if (rc < 0)
        return rc;
    rc = kf_conf_defaults(c);
    kf_conf_free(c);
    return rc;
}

int kf_agent_config_load(const char *path, struct kf_agent_config *ret, char *err, size_t cap)
{
    struct kf_conf_section secs[AGENT_NSECTIONS];
    struct kf_agent_config *cfg;
    struct kf_conf *c;
    int rc;

    cfg = malloc(sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    rc = agent_conf_new(cfg, secs, err, cap, &c);
    if (rc == 0) {
        rc = kf_conf_load_file(c, path);
        kf_conf_free(c);
    }
    if (rc == 0)
        *ret = *cfg;
    sodium_memzero(cfg, sizeof(*cfg)); /* it may hold a password */
    free(cfg);
    return rc;
}

const char *kf_agent_config_kind_name(int kind)
{
    switch (kind) {
    case KF_KIND_KIOSK:
        return "kiosk";
    case KF_KIND_ITM:
        return "itm";
    }
    return NULL;
}

/* ---- set-config ---- */

/* Settings a server may change from afar. Each can cut the terminal off (a wrong broker, a
 * keepalive the broker refuses), which the trial (docs/AGENT.md "Commands") undoes; none
 * names a file, a key or a hook, so a command can never make the agent run or read
 * something new. */
static const char *const settable[] = {
    "mqtt.uri",
    "mqtt.keepalive_s",
    "batch.flush_interval_ms",
    "probes.health_interval_s",
    "log.level",
    NULL,
};

int kf_agent_config_settable(const char *key)
{
    for (const char *const *k = settable; *k; k++) {
        if (strcmp(*k, key) == 0)
            return 1;
    }
    return 0;
}

/* The current value of an allowlisted key, as text. */
static void current_text(const struct kf_agent_config *cfg, const char *key, char *out, size_t cap)
{
    static const char *const levels[] = {"err", "warning", "notice", "info", "debug"};

    if (strcmp(key, "mqtt.uri") == 0)
        snprintf(out, cap, "%s", cfg->uri);
    else if (strcmp(key, "mqtt.keepalive_s") == 0)
        snprintf(out, cap, "%" PRIu32, cfg->keepalive_s);
    else if (strcmp(key, "batch.flush_interval_ms") == 0)
        snprintf(out, cap, "%" PRIu32, cfg->flush_interval_ms);
    else if (strcmp(key, "probes.health_interval_s") == 0)
        snprintf(out, cap, "%" PRIu32, cfg->health_interval_s);
    else if (strcmp(key, "log.level") == 0 && cfg->log_level >= 3 && cfg->log_level <= 7)
        snprintf(out, cap, "%s", levels[cfg->log_level - 3]);
    else
        snprintf(out, cap, "%s", "");
}

int kf_agent_config_set(struct kf_agent_config *cfg, const char *key, const char *value,
                        char *ret_prev, size_t cap_prev, char *err, size_t cap)
{
    struct kf_conf_section secs[AGENT_NSECTIONS];
    struct kf_agent_config *tmp;
    char section[16];
    const char *dot = strchr(key, '.');
    struct kf_conf *c;
    char buf[256];
    int rc;

    if (!kf_agent_config_settable(key) || dot == NULL || (size_t)(dot - key) >= sizeof(section)) {
        snprintf(err, cap, "%s: not a key set-config may change", key);
        return -EPERM;
    }
    memcpy(section, key, (size_t)(dot - key));
    section[dot - key] = '\0';
    tmp = malloc(sizeof(*tmp));
    if (tmp == NULL)
        return -ENOMEM;
    *tmp = *cfg;
    for (size_t i = 0; i < AGENT_NSECTIONS; i++) {
        secs[i] = agent_sections[i];
        secs[i].base = tmp;
    }
    buf[0] = '\0';
    rc = kf_conf_new(secs, AGENT_NSECTIONS, buf, sizeof(buf), &c);
    if (rc == 0) {
        rc = kf_conf_set_value(c, section, dot + 1, value);
        kf_conf_free(c);
    }
    /* The rule of [mqtt]'s check a new uri can break; and only the schemes Paho takes. */
    if (rc == 0 && strcmp(key, "mqtt.uri") == 0 &&
        ((strncmp(value, "tcp://", 6) != 0 && !kf_brokerpw_uri_tls(value)) ||
         (tmp->ca_file[0] && !kf_brokerpw_uri_tls(value)))) {
        snprintf(buf, sizeof(buf), "[mqtt] uri: must be ssl://host:port%s",
                 tmp->ca_file[0] ? " (ca_file is set)" : " or tcp://host:port");
        rc = -EINVAL;
    }
    if (rc == 0) {
        if (ret_prev != NULL)
            current_text(cfg, key, ret_prev, cap_prev);
        *cfg = *tmp;
    } else if (err != NULL) {
        snprintf(err, cap, "%s", buf);
    }
    sodium_memzero(tmp, sizeof(*tmp));
    free(tmp);
    return rc;
}
