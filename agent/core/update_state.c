/* update_state.c: an update command's state on file (update_state.h). */
#include "core/update_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <kf/keyfile.h>
#include <kf/manifest.h>

#define STEP_TEXT_MAX (96 + KF_CMD_DETAIL_MAX + 2)

static const char *const step_names[] = {"", "install", "health", "rollback", "report"};

static int path_of(char *out, size_t cap, const char *dir, uint64_t seq, const char *ext)
{
    int n = snprintf(out, cap, "%s/update-%" PRIu64 ".%s", dir, seq, ext);

    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

int kf_upd_step_put(const char *dir, uint64_t seq, const struct kf_upd_step *s)
{
    char path[4096], text[STEP_TEXT_MAX];
    int n, rc;

    if (s->kind <= KF_UPD_STEP_NONE || s->kind > KF_UPD_STEP_REPORT ||
        strchr(s->detail, '\n') != NULL)
        return -EINVAL;
    rc = path_of(path, sizeof(path), dir, seq, "step");
    if (rc < 0)
        return rc;
    n = snprintf(text, sizeof(text), "%s %" PRId64 " %" PRId64 " %d %d %" PRIu64 "\n%s\n",
                 step_names[s->kind], s->deadline_ms, s->since_ms, s->status, s->pid, s->pid_start,
                 s->detail);
    if (n < 0 || (size_t)n >= sizeof(text))
        return -EINVAL;
    return kf_file_write_atomic(path, text, (size_t)n, 0600, (gid_t)-1, 0);
}

int kf_upd_step_get(const char *dir, uint64_t seq, struct kf_upd_step *ret)
{
    char path[4096], text[STEP_TEXT_MAX], name[16];
    long long deadline, since;
    unsigned long long pstart;
    int status, pid;
    FILE *f;
    size_t n;
    char *nl;

    memset(ret, 0, sizeof(*ret));
    if (path_of(path, sizeof(path), dir, seq, "step") < 0 || (f = fopen(path, "rb")) == NULL)
        return 0;
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* Written atomically: a file that is not whole was never there. */
    if (sscanf(text, "%15s %lld %lld %d %d %llu", name, &deadline, &since, &status, &pid,
               &pstart) != 6 ||
        (nl = strchr(text, '\n')) == NULL || strchr(nl + 1, '\n') == NULL)
        return 0;
    for (int k = KF_UPD_STEP_INSTALL; k <= KF_UPD_STEP_REPORT; k++) {
        if (strcmp(name, step_names[k]) == 0)
            ret->kind = k;
    }
    if (ret->kind == KF_UPD_STEP_NONE)
        return 0;
    ret->deadline_ms = deadline;
    ret->since_ms = since;
    ret->status = status;
    ret->pid = pid;
    ret->pid_start = pstart;
    n = strcspn(nl + 1, "\n");
    if (n >= sizeof(ret->detail))
        n = sizeof(ret->detail) - 1;
    memcpy(ret->detail, nl + 1, n);
    ret->detail[n] = '\0';
    return 0;
}

int kf_upd_log_path(const char *dir, uint64_t seq, char *out, size_t cap)
{
    return path_of(out, cap, dir, seq, "log");
}

void kf_upd_step_remove(const char *dir, uint64_t seq)
{
    char path[4096];

    if (path_of(path, sizeof(path), dir, seq, "step") == 0)
        unlink(path);
    if (path_of(path, sizeof(path), dir, seq, "log") == 0)
        unlink(path);
}

int kf_upd_file_seq(const char *fname, uint64_t *ret)
{
    const char *p = fname + 7;
    uint64_t v = 0;

    if (strncmp(fname, "update-", 7) != 0 || *p < '0' || *p > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');

        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (*p != '.' || p[1] == '\0' || v == 0)
        return -EINVAL;
    *ret = v;
    return 0;
}

int kf_upd_kept_path(const char *dir, const char *name, const char *ver, char *out, size_t cap)
{
    int n;

    if (!kf_manifest_name_ok(name) || (ver != NULL && !kf_manifest_version_ok(ver)))
        return -EINVAL;
    n = ver == NULL ? snprintf(out, cap, "%s/installed-%s", dir, name)
                    : snprintf(out, cap, "%s/installed-%s_%s.deb", dir, name, ver);
    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

int kf_upd_kept_version(const char *dir, const char *name, char *ver, size_t cap)
{
    char path[4096], text[KF_MANIFEST_VERSION_MAX + 2];
    FILE *f;
    size_t n;

    if (kf_upd_kept_path(dir, name, NULL, path, sizeof(path)) < 0 ||
        (f = fopen(path, "rb")) == NULL)
        return -ENOENT;
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    text[strcspn(text, "\n")] = '\0';
    if (!kf_manifest_version_ok(text) || strlen(text) >= cap)
        return -ENOENT;
    memcpy(ver, text, strlen(text) + 1);
    return 0;
}

/* A package path's signed manifest beside it: "X.deb" -> "X.manifest". */
static int manifest_of(const char *pkg, char *out, size_t cap)
{
    size_t len = strlen(pkg);
    int n;

    if (len < 5 || strcmp(pkg + len - 4, ".deb") != 0)
        return -EINVAL;
    n = snprintf(out, cap, "%.*s.manifest", (int)(len - 4), pkg);
    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

int kf_upd_kept_promote(const char *dir, uint64_t seq, const char *name, const char *version)
{
    char deb[4096], kept[4096], ptr[4096], old[KF_MANIFEST_VERSION_MAX + 2];
    char man[4096], kept_man[4096], text[KF_MANIFEST_VERSION_MAX + 2];
    int have_old, n, rc;

    have_old = kf_upd_kept_version(dir, name, old, sizeof(old)) == 0 && strcmp(old, version) != 0;
    if ((rc = path_of(deb, sizeof(deb), dir, seq, "deb")) < 0 ||
        (rc = path_of(man, sizeof(man), dir, seq, "manifest")) < 0 ||
        (rc = kf_upd_kept_path(dir, name, version, kept, sizeof(kept))) < 0 ||
        (rc = manifest_of(kept, kept_man, sizeof(kept_man))) < 0 ||
        (rc = kf_upd_kept_path(dir, name, NULL, ptr, sizeof(ptr))) < 0)
        return rc;
    /* The signed manifest goes with the package: the installer checks it again as root
     * (agent/hooks/kiosk-agent-install) before a rollback reinstalls the kept package. */
    if (rename(man, kept_man) != 0 && errno != ENOENT)
        return -errno;
    if (rename(deb, kept) != 0) {
        rc = -errno;
        if (rc != -ENOENT || access(kept, R_OK) != 0)
            return rc;
    }
    /* The pointer's atomic replace syncs the directory: the renames above are durable too. */
    n = snprintf(text, sizeof(text), "%s\n", version);
    rc = kf_file_write_atomic(ptr, text, (size_t)n, 0600, (gid_t)-1, 0);
    if (rc == 0 && have_old && kf_upd_kept_path(dir, name, old, kept, sizeof(kept)) == 0) {
        unlink(kept);
        if (manifest_of(kept, kept_man, sizeof(kept_man)) == 0)
            unlink(kept_man);
    }
    return rc;
}

int kf_upd_verify_package(const char *pkg, const uint8_t release_pk[32], const char *kind,
                          struct kf_manifest *ret, char *why, size_t cap)
{
    char man[4096], text[KF_MANIFEST_FILE_MAX + 1];
    crypto_hash_sha256_state h;
    unsigned char buf[65536], sum[32];
    uint64_t total = 0;
    size_t n;
    FILE *f;
    int rc;

    if ((rc = manifest_of(pkg, man, sizeof(man))) < 0) {
        snprintf(why, cap, "%s: not a .deb path", pkg);
        return rc;
    }
    if ((f = fopen(man, "rb")) == NULL) {
        rc = -errno;
        snprintf(why, cap, "%s: %s (the signed manifest must sit beside the package)", man,
                 strerror(errno));
        return rc;
    }
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    if (n == 0 || n > KF_MANIFEST_FILE_MAX) {
        snprintf(why, cap, "%s: empty or longer than %d bytes", man, KF_MANIFEST_FILE_MAX);
        return -EBADMSG;
    }
    rc = kf_manifest_open(text, n, release_pk, ret);
    if (rc < 0) {
        snprintf(why, cap, "%s: %s", man,
                 rc == -EKEYREJECTED ? "its signature does not verify under the release key"
                                     : "not a signed manifest");
        return rc;
    }
    if (!kf_manifest_for_kind(ret, kind)) {
        snprintf(why, cap, "%s %s is not for %s terminals", ret->name, ret->version, kind);
        return -EMEDIUMTYPE;
    }
    if ((f = fopen(pkg, "rb")) == NULL) {
        rc = -errno;
        snprintf(why, cap, "%s: %s", pkg, strerror(errno));
        return rc;
    }
    crypto_hash_sha256_init(&h);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && total <= ret->size) {
        crypto_hash_sha256_update(&h, buf, n);
        total += n;
    }
    rc = ferror(f) ? -EIO : 0;
    fclose(f);
    crypto_hash_sha256_final(&h, sum);
    if (rc == 0 && (total != ret->size || sodium_memcmp(sum, ret->sha256, 32) != 0))
        rc = -EBADMSG;
    if (rc < 0)
        snprintf(why, cap, "%s: %s", pkg,
                 rc == -EIO ? "read error" : "its size or SHA-256 is not the manifest's");
    return rc;
}

uint64_t kf_upd_proc_start(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long long v = 0;
    FILE *f;
    size_t n;

    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if ((f = fopen(path, "rb")) == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (p == NULL || p[1] != ' ' || p[2] == 'Z')
        return 0; /* p[2]: the state; a zombie has done its work */
    for (int field = 2; field < 22 && p != NULL; field++) /* to the space before field 22 */
        p = strchr(p + 1, ' ');
    if (p == NULL || sscanf(p + 1, "%llu", &v) != 1)
        return 0;
    return (uint64_t)v;
}
