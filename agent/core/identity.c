/* core/identity.c: the terminal's identity directory (identity.h). */
#include "core/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <sodium.h>

#include <kf/brokerpw.h>
#include <kf/err.h>
#include <kf/keyfile.h>

static int path_join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int kf_identity_key_path(const char *dir, uint32_t epoch, char *buf, size_t cap)
{
    char name[32];

    snprintf(name, sizeof(name), "key.%u", epoch);
    return path_join(buf, cap, dir, name);
}

int kf_identity_pw_path(const char *dir, char *buf, size_t cap)
{
    return path_join(buf, cap, dir, "broker.pw");
}

struct id_parse {
    struct kf_identity id;
    int have_id, have_epoch, bad;
};

static int id_handler(void *ud, const char *section, const char *name, const char *value)
{
    struct id_parse *p = ud;
    char *end;
    unsigned long v;

    if (section[0] != '\0') {
        p->bad = 1;
    } else if (strcmp(name, "device_id") == 0 && kf_device_id_valid(value)) {
        snprintf(p->id.device_id, sizeof(p->id.device_id), "%s", value);
        p->have_id = 1;
    } else if (strcmp(name, "key_epoch") == 0) {
        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno || *end || v < 1 || v > UINT32_MAX)
            p->bad = 1;
        p->id.key_epoch = (uint32_t)v;
        p->have_epoch = 1;
    } else {
        p->bad = 1;
    }
    return 1;
}

int kf_identity_load(const char *dir, struct kf_identity *ret)
{
    char path[512];
    struct id_parse p;
    int r;

    memset(&p, 0, sizeof(p));
    r = path_join(path, sizeof(path), dir, "identity");
    if (r < 0)
        return r;
    if (access(path, F_OK) != 0)
        return -errno;
    r = ini_parse(path, id_handler, &p);
    if (r < 0)
        return -EIO;
    if (r > 0 || p.bad || !p.have_id || !p.have_epoch)
        return -EBADMSG;
    *ret = p.id;
    return 0;
}

int kf_identity_save(const char *dir, const struct kf_identity *id)
{
    char path[512], text[160];
    int n;

    if (path_join(path, sizeof(path), dir, "identity") < 0)
        return -ENAMETOOLONG;
    n = snprintf(text, sizeof(text),
                 "# written by kiosk-agent at enrollment and key rotation: do not edit\n"
                 "device_id = %s\nkey_epoch = %u\n",
                 id->device_id, id->key_epoch);
    return kf_file_write_atomic(path, text, (size_t)n, 0600, (gid_t)-1, 0);
}

int kf_identity_key_get_or_make(const char *dir, uint32_t epoch, uint8_t sk[64])
{
    char path[512];
    uint8_t pk[32];
    int r = kf_identity_key_path(dir, epoch, path, sizeof(path));

    if (r < 0)
        return r;
    r = kf_keyfile_read(path, sk);
    if (r != -ENOENT)
        return r;
    crypto_sign_keypair(pk, sk);
    r = kf_keyfile_write(path, sk);
    if (r < 0)
        sodium_memzero(sk, 64);
    return r;
}

int kf_identity_apply(const struct kf_identity *id, struct kf_agent_config *cfg, char *err,
                      size_t cap)
{
    char pwpath[KF_CFG_PATH_MAX];
    int rc;

    memcpy(cfg->device_id, id->device_id, sizeof(cfg->device_id));
    cfg->key_epoch = id->key_epoch;
    snprintf(cfg->username, sizeof(cfg->username), "%s", id->device_id);
    rc = kf_identity_key_path(cfg->identity_dir, id->key_epoch, cfg->key_file,
                              sizeof(cfg->key_file));
    if (rc == 0)
        rc = kf_identity_pw_path(cfg->identity_dir, pwpath, sizeof(pwpath));
    if (rc < 0) {
        if (err && cap)
            snprintf(err, cap, "identity in %s: %s", cfg->identity_dir, kf_strerror(rc));
        return rc;
    }
    rc = kf_brokerpw_read(pwpath, cfg->password, sizeof(cfg->password));
    if (rc < 0 && err && cap)
        snprintf(err, cap, "%s: %s", pwpath, kf_strerror(rc));
    return rc;
}

int kf_identity_rotated(const char *dir, const char *device_id, uint32_t old_epoch,
                        uint32_t new_epoch)
{
    struct kf_identity id;
    char old[KF_CFG_PATH_MAX];
    int rc;

    snprintf(id.device_id, sizeof(id.device_id), "%s", device_id);
    id.key_epoch = new_epoch;
    rc = kf_identity_save(dir, &id);
    if (rc < 0)
        return rc;
    if (kf_identity_key_path(dir, old_epoch, old, sizeof(old)) == 0)
        (void)unlink(old);
    return 0;
}

int kf_identity_rotation_pending(const char *dir, uint32_t epoch)
{
    char next[KF_CFG_PATH_MAX];

    return kf_identity_key_path(dir, epoch + 1, next, sizeof(next)) == 0 && access(next, F_OK) == 0;
}
