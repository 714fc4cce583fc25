/* core/config.c: the agent INI, one table row per key (Redis/h2o style). */
#include "core/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <sodium.h>

#include <kf/brokerpw.h>
#include <kf/keyfile.h>
#include <kf/log.h>

enum cfg_type {
    CFG_STR,    /* char[size] */
    CFG_PATH,   /* char[size], relative to the INI's directory */
    CFG_ID,     /* device id */
    CFG_U32,    /* uint32_t within [min, max] */
    CFG_U64,    /* uint64_t within [min, max] */
    CFG_KIND,   /* int: kiosk|itm */
    CFG_PUBKEY, /* 64 hex digits, optional (empty: none) */
    CFG_LEVEL,  /* int: enum kf_log_level */
};

#define CFG_REQUIRED 0x1u

struct cfg_row {
    const char *section;
    const char *name;
    enum cfg_type type;
    size_t offset;
    size_t size;
    uint64_t min, max;
    const char *def; /* NULL: required (or optional when empty is fine) */
    unsigned flags;
};

#define OFF(f) offsetof(struct kf_agent_config, f)
#define SZ(f) sizeof(((struct kf_agent_config *)0)->f)

static const struct cfg_row cfg_rows[] = {
    /* Either identity_dir (the terminal enrolls and keeps its own identity there), or id and
     * key_file (a provisioned identity): checked after parsing. */
    {"device", "identity_dir", CFG_PATH, OFF(identity_dir), SZ(identity_dir), 0, 0, NULL, 0},
    {"device", "id", CFG_ID, OFF(device_id), SZ(device_id), 0, 0, NULL, 0},
    {"device", "key_file", CFG_PATH, OFF(key_file), SZ(key_file), 0, 0, NULL, 0},
    {"device", "key_epoch", CFG_U32, OFF(key_epoch), SZ(key_epoch), 0, UINT32_MAX, "1", 0},
    {"device", "kind", CFG_KIND, OFF(kind), SZ(kind), 0, 0, "kiosk", 0},
    /* Required: an ACK deletes records, so only the server may make one (the ACK key is
     * derived from it, docs/PROTOCOL.md section 4). */
    {"device", "server_public_key", CFG_PUBKEY, OFF(server_pk), SZ(server_pk), 0, 0, NULL,
     CFG_REQUIRED},
    {"enroll", "token_file", CFG_PATH, OFF(enroll_token_file), SZ(enroll_token_file), 0, 0, NULL,
     0},
    {"mqtt", "uri", CFG_STR, OFF(uri), SZ(uri), 0, 0, NULL, CFG_REQUIRED},
    /* TLS (ssl:// or mqtts://): the CA that signed the broker's certificate. */
    {"mqtt", "ca_file", CFG_PATH, OFF(ca_file), SZ(ca_file), 0, 0, NULL, 0},
    {"mqtt", "username", CFG_STR, OFF(username), SZ(username), 0, 0, "", 0},
    /* The broker password lives in its own 0600 file, never in this (0640) one. */
    {"mqtt", "password_file", CFG_PATH, OFF(password_file), SZ(password_file), 0, 0, NULL, 0},
    {"mqtt", "keepalive_s", CFG_U32, OFF(keepalive_s), SZ(keepalive_s), 5, 3600, "30", 0},
    {"mqtt", "reconnect_min_ms", CFG_U32, OFF(reconnect_min_ms), SZ(reconnect_min_ms), 10, 600000,
     "500", 0},
    {"mqtt", "reconnect_max_ms", CFG_U32, OFF(reconnect_max_ms), SZ(reconnect_max_ms), 10, 3600000,
     "60000", 0},
    {"outbox", "path", CFG_PATH, OFF(outbox_path), SZ(outbox_path), 0, 0, NULL, CFG_REQUIRED},
    {"outbox", "max_records", CFG_U64, OFF(outbox_max_records), SZ(outbox_max_records), 1,
     100000000, "500000", 0},
    {"outbox", "max_bytes", CFG_U64, OFF(outbox_max_bytes), SZ(outbox_max_bytes), 65536,
     UINT64_C(17179869184), "268435456", 0},
    {"outbox", "max_health", CFG_U64, OFF(outbox_max_health), SZ(outbox_max_health), 0, 100000000,
     "20160", 0},
    {"batch", "max_records", CFG_U32, OFF(batch_max_records), SZ(batch_max_records), 1,
     KF_ENV_MAX_RECORDS, "200", 0},
    /* Raw JSON per batch; an uncompressed batch must still fit one 64 KiB frame. */
    {"batch", "max_bytes", CFG_U32, OFF(batch_max_bytes), SZ(batch_max_bytes), 1024, 60000, "48000",
     0},
    {"batch", "flush_interval_ms", CFG_U32, OFF(flush_interval_ms), SZ(flush_interval_ms), 10,
     600000, "2000", 0},
    {"batch", "inflight_max", CFG_U32, OFF(inflight_max), SZ(inflight_max), 1, 64, "4", 0},
    {"batch", "ack_timeout_ms", CFG_U32, OFF(ack_timeout_ms), SZ(ack_timeout_ms), 100, 3600000,
     "30000", 0},
    {"probes", "health_interval_s", CFG_U32, OFF(health_interval_s), SZ(health_interval_s), 1,
     86400, "60", 0},
    {"probes", "disk_path", CFG_STR, OFF(disk_path), SZ(disk_path), 0, 0, "/", 0},
    {"probes", "thermal_dir", CFG_STR, OFF(thermal_dir), SZ(thermal_dir), 0, 0,
     "/sys/class/thermal", 0},
    {"app", "socket", CFG_PATH, OFF(app_socket), SZ(app_socket), 0, 0, "/run/kiosk-agent/app.sock",
     0},
    {"app", "max_line", CFG_U32, OFF(app_max_line), SZ(app_max_line), 256, 65536, "4096", 0},
    {"log", "level", CFG_LEVEL, OFF(log_level), SZ(log_level), 0, 0, "info", 0},
};

#define CFG_NROWS (sizeof(cfg_rows) / sizeof(cfg_rows[0]))

struct cfg_parse {
    struct kf_agent_config *cfg;
    const char *path;
    char dir[KF_CFG_PATH_MAX]; /* the INI's directory, "" for the cwd */
    FILE *f;
    int line;
    int failed;
    char seen[CFG_NROWS];
    int lines[CFG_NROWS]; /* where each key was given, for errors found after parsing */
    char *err;
    size_t cap;
};

static void cfg_fail(struct cfg_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfg_fail(struct cfg_parse *p, int line, const char *fmt, ...)
{
    if (p->failed++ || !p->err || !p->cap)
        return;
    int n = line > 0 ? snprintf(p->err, p->cap, "%s:%d: ", p->path, line)
                     : snprintf(p->err, p->cap, "%s: ", p->path);
    if (n < 0 || (size_t)n >= p->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->cap - (size_t)n, fmt, ap);
    va_end(ap);
}

static int parse_u64(const char *s, uint64_t *ret)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Apply one value to the row's field; on error returns a static reason. */
static const char *cfg_apply(struct cfg_parse *p, const struct cfg_row *r, const char *value)
{
    char *field = (char *)p->cfg + r->offset;
    uint64_t v;
    int iv;
    int n;

    switch (r->type) {
    case CFG_ID:
        if (!kf_device_id_valid(value))
            return "not a valid device id (1..48 of [A-Za-z0-9._-])";
        /* fallthrough */
    case CFG_STR:
        n = snprintf(field, r->size, "%s", value);
        if (n < 0 || (size_t)n >= r->size)
            return "value too long";
        return NULL;
    case CFG_PATH:
        if (value[0] == '\0')
            return "empty path";
        if (value[0] == '/' || p->dir[0] == '\0')
            n = snprintf(field, r->size, "%s", value);
        else
            n = snprintf(field, r->size, "%s/%s", p->dir, value);
        if (n < 0 || (size_t)n >= r->size)
            return "path too long";
        return NULL;
    case CFG_U32:
    case CFG_U64:
        if (parse_u64(value, &v) < 0)
            return "not an unsigned integer";
        if (v < r->min || v > r->max)
            return "out of range";
        if (r->type == CFG_U32)
            *(uint32_t *)(void *)field = (uint32_t)v;
        else
            *(uint64_t *)(void *)field = v;
        return NULL;
    case CFG_KIND:
        if (strcmp(value, "kiosk") == 0)
            iv = KF_KIND_KIOSK;
        else if (strcmp(value, "itm") == 0)
            iv = KF_KIND_ITM;
        else
            return "must be kiosk or itm";
        *(int *)(void *)field = iv;
        return NULL;
    case CFG_PUBKEY:
        if (strlen(value) != 2 * r->size || kf_hex_decode(value, (uint8_t *)field, r->size) < 0)
            return "must be 64 hex digits";
        return NULL;
    case CFG_LEVEL: {
        enum kf_log_level lvl;
        if (kf_log_parse_level(value, &lvl) < 0)
            return "must be err, warning, notice, info or debug";
        *(int *)(void *)field = (int)lvl;
        return NULL;
    }
    }
    return "bad table row";
}

/* The line [section] name was given on (0: not given). */
static int cfg_line(const struct cfg_parse *p, const char *section, const char *name)
{
    for (size_t i = 0; i < CFG_NROWS; i++) {
        if (strcmp(cfg_rows[i].section, section) == 0 && strcmp(cfg_rows[i].name, name) == 0)
            return p->lines[i];
    }
    return 0;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_parse *p = user;

    for (size_t i = 0; i < CFG_NROWS; i++) {
        const struct cfg_row *r = &cfg_rows[i];
        if (strcmp(r->section, section) != 0 || strcmp(r->name, name) != 0)
            continue;
        if (p->seen[i]) {
            cfg_fail(p, p->line, "[%s] %s given twice", section, name);
            return 0;
        }
        p->seen[i] = 1;
        p->lines[i] = p->line;
        const char *why = cfg_apply(p, r, value);
        if (why) {
            cfg_fail(p, p->line, "[%s] %s = \"%s\": %s", section, name, value, why);
            return 0;
        }
        return 1;
    }
    cfg_fail(p, p->line, "unknown key [%s] %s", section, name);
    return 0;
}

/* inih calls the reader once per line: counting here gives the handler its line number. */
static char *cfg_reader(char *str, int num, void *stream)
{
    struct cfg_parse *p = stream;
    char *s = fgets(str, num, p->f);
    if (s)
        p->line++;
    return s;
}

void kf_agent_config_defaults(struct kf_agent_config *cfg)
{
    struct cfg_parse p;

    memset(cfg, 0, sizeof(*cfg));
    memset(&p, 0, sizeof(p));
    p.cfg = cfg;
    p.path = "(defaults)";
    for (size_t i = 0; i < CFG_NROWS; i++) {
        if (cfg_rows[i].def)
            (void)cfg_apply(&p, &cfg_rows[i], cfg_rows[i].def);
    }
}

int kf_agent_config_load(const char *path, struct kf_agent_config *ret, char *err, size_t cap)
{
    struct kf_agent_config *cfg;
    struct cfg_parse p;
    int rc;

    cfg = malloc(sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    kf_agent_config_defaults(cfg);
    memset(&p, 0, sizeof(p));
    p.cfg = cfg;
    p.path = path;
    p.err = err;
    p.cap = cap;
    if (err && cap)
        err[0] = '\0';

    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t dl = (size_t)(slash - path);
        if (dl == 0)
            dl = 1; /* "/x.ini": the root */
        if (dl >= sizeof(p.dir)) {
            cfg_fail(&p, 0, "path too long");
            rc = -EINVAL;
            goto out_free;
        }
        memcpy(p.dir, path, dl);
        p.dir[dl] = '\0';
    }

    p.f = fopen(path, "r");
    if (!p.f) {
        rc = -errno;
        cfg_fail(&p, 0, "cannot open: %s", strerror(errno));
        goto out_free;
    }
    rc = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
    fclose(p.f);
    if (rc != 0 && !p.failed)
        cfg_fail(&p, rc > 0 ? rc : 0, "syntax error");
    if (p.failed) {
        rc = -EINVAL;
        goto out_free;
    }

    for (size_t i = 0; i < CFG_NROWS; i++) {
        if ((cfg_rows[i].flags & CFG_REQUIRED) && !p.seen[i]) {
            cfg_fail(&p, 0, "missing [%s] %s", cfg_rows[i].section, cfg_rows[i].name);
            rc = -EINVAL;
            goto out_free;
        }
    }
    if (cfg->identity_dir[0]
            ? (cfg->device_id[0] || cfg->key_file[0] || cfg->username[0] || cfg->password_file[0])
            : (!cfg->device_id[0] || !cfg->key_file[0])) {
        cfg_fail(&p, 0,
                 cfg->identity_dir[0]
                     ? "[device] identity_dir holds the identity: no id, key_file, "
                       "[mqtt] username or password_file beside it"
                     : "[device] needs identity_dir (enrollment) or id and key_file");
        rc = -EINVAL;
        goto out_free;
    }
    if (cfg->enroll_token_file[0] && !cfg->identity_dir[0]) {
        cfg_fail(&p, cfg_line(&p, "enroll", "token_file"),
                 "[enroll] token_file needs [device] identity_dir");
        rc = -EINVAL;
        goto out_free;
    }
    if (cfg->enroll_token_file[0]) {
        /* The token is a secret until used: same rule as a key file. */
        rc = kf_brokerpw_read(cfg->enroll_token_file, cfg->enroll_token, sizeof(cfg->enroll_token));
        if (rc < 0) {
            cfg_fail(&p, cfg_line(&p, "enroll", "token_file"), "[enroll] token_file %s: %s",
                     cfg->enroll_token_file,
                     rc == -EPERM     ? "readable by group or others (chmod 0600)"
                     : rc == -EBADMSG ? "not one line of printable characters"
                                      : strerror(-rc));
            goto out_free;
        }
    }
    if (cfg->reconnect_max_ms < cfg->reconnect_min_ms) {
        cfg_fail(&p, 0, "[mqtt] reconnect_max_ms (%" PRIu32 ") < reconnect_min_ms (%" PRIu32 ")",
                 cfg->reconnect_max_ms, cfg->reconnect_min_ms);
        rc = -EINVAL;
        goto out_free;
    }
    if (cfg->outbox_max_health > cfg->outbox_max_records) {
        cfg_fail(&p, 0, "[outbox] max_health exceeds max_records");
        rc = -EINVAL;
        goto out_free;
    }
    if (cfg->ca_file[0] && !kf_brokerpw_uri_tls(cfg->uri)) {
        cfg_fail(&p, cfg_line(&p, "mqtt", "ca_file"),
                 "[mqtt] ca_file needs an ssl:// or mqtts:// uri (got \"%s\")", cfg->uri);
        rc = -EINVAL;
        goto out_free;
    }
    if (cfg->password_file[0] && !cfg->username[0]) {
        cfg_fail(&p, cfg_line(&p, "mqtt", "password_file"),
                 "[mqtt] password_file without a username");
        rc = -EINVAL;
        goto out_free;
    }
    if (cfg->password_file[0]) {
        rc = kf_brokerpw_read(cfg->password_file, cfg->password, sizeof(cfg->password));
        if (rc < 0) {
            cfg_fail(&p, cfg_line(&p, "mqtt", "password_file"), "[mqtt] password_file %s: %s",
                     cfg->password_file,
                     rc == -EPERM     ? "readable by group or others (chmod 0600)"
                     : rc == -EBADMSG ? "not one line of printable characters"
                                      : strerror(-rc));
            goto out_free;
        }
    }
    *ret = *cfg;
    rc = 0;
out_free:
    sodium_memzero(cfg, sizeof(*cfg)); /* it may hold a password */
    free(cfg);
    return rc;
}

const char *kf_device_kind_name(int kind)
{
    switch (kind) {
    case KF_KIND_KIOSK:
        return "kiosk";
    case KF_KIND_ITM:
        return "itm";
    }
    return NULL;
}
