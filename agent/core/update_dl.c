/* update_dl.c: an update's artifact downloaded into files, resumable (update_dl.h). */
#include "core/update_dl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <kf/keyfile.h>

struct kf_upd_dl {
    char manifest_path[4096], deb_path[4096], have_path[4096];
    uint64_t cmd_seq;
    uint8_t manifest_sha[32], release_pk[32];
    char kind[8];
    int have_manifest; /* the manifest is here and verified */
    struct kf_manifest m;
    uint32_t have, nchunks; /* chunks of the package held from 0; of nchunks */
    int fd;                 /* the .deb, open once the manifest is here */
    char why[160];
};

static int path_of(char *out, size_t cap, const char *dir, uint64_t seq, const char *ext)
{
    int n = snprintf(out, cap, "%s/update-%llu.%s", dir, (unsigned long long)seq, ext);

    return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

static int read_file(const char *path, char *buf, size_t cap, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL)
        return -errno;
    n = fread(buf, 1, cap, f);
    fclose(f);
    *ret_len = n;
    return 0;
}

/* The signed manifest's text: hashes to the command's, verifies, is for this kind. */
static int accept_manifest(struct kf_upd_dl *d, const char *text, size_t len)
{
    uint8_t sha[32];
    int r;

    crypto_hash_sha256(sha, (const uint8_t *)text, len);
    if (memcmp(sha, d->manifest_sha, 32) != 0) {
        snprintf(d->why, sizeof(d->why), "the manifest received is not the one the command names");
        return -EBADMSG;
    }
    r = kf_manifest_open(text, len, d->release_pk, &d->m);
    if (r == -EKEYREJECTED) {
        snprintf(d->why, sizeof(d->why),
                 "the manifest's signature does not verify under the pinned release key");
        return r;
    }
    if (r < 0) {
        snprintf(d->why, sizeof(d->why), "not a signed manifest");
        return -EBADMSG;
    }
    if (!kf_manifest_for_kind(&d->m, d->kind)) {
        snprintf(d->why, sizeof(d->why), "%s %s is not for %s terminals", d->m.name, d->m.version,
                 d->kind);
        return -EMEDIUMTYPE;
    }
    d->nchunks = kf_part_nchunks(KF_PART_FILE, d->m.size);
    d->have_manifest = 1;
    return 0;
}

static int open_deb(struct kf_upd_dl *d)
{
    char text[32] = "";
    size_t len = 0;
    struct stat sb;

    d->fd = open(d->deb_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->fd < 0)
        return -errno;
    d->have = 0;
    if (read_file(d->have_path, text, sizeof(text) - 1, &len) == 0) {
        unsigned long v;
        char *end;

        text[len] = '\0';
        v = strtoul(text, &end, 10);
        if (end != text && v <= d->nchunks && fstat(d->fd, &sb) == 0 &&
            (uint64_t)sb.st_size >=
                (v == d->nchunks ? d->m.size : (uint64_t)v * KF_FETCH_CHUNK_BYTES))
            d->have = (uint32_t)v;
    }
    /* Nothing past what have says is trusted. */
    if (ftruncate(d->fd, d->have == d->nchunks ? (off_t)d->m.size
                                               : (off_t)d->have * KF_FETCH_CHUNK_BYTES) != 0)
        return -errno;
    return 0;
}

int kf_upd_dl_open(const char *dir, uint64_t cmd_seq, const uint8_t manifest_sha[32],
                   const uint8_t release_pk[32], const char *kind, struct kf_upd_dl **ret)
{
    struct kf_upd_dl *d = calloc(1, sizeof(*d));
    char text[KF_MANIFEST_FILE_MAX + 1];
    size_t len;
    int r;

    if (d == NULL)
        return -ENOMEM;
    d->fd = -1;
    d->cmd_seq = cmd_seq;
    memcpy(d->manifest_sha, manifest_sha, 32);
    memcpy(d->release_pk, release_pk, 32);
    snprintf(d->kind, sizeof(d->kind), "%s", kind);
    if ((r = path_of(d->manifest_path, sizeof(d->manifest_path), dir, cmd_seq, "manifest")) < 0 ||
        (r = path_of(d->deb_path, sizeof(d->deb_path), dir, cmd_seq, "deb")) < 0 ||
        (r = path_of(d->have_path, sizeof(d->have_path), dir, cmd_seq, "have")) < 0) {
        free(d);
        return r;
    }
    if (read_file(d->manifest_path, text, sizeof(text), &len) == 0 && len <= KF_MANIFEST_FILE_MAX &&
        accept_manifest(d, text, len) == 0) {
        r = open_deb(d);
        if (r < 0) {
            kf_upd_dl_close(d);
            return r;
        }
    }
    d->why[0] = '\0';
    *ret = d;
    return 0;
}

int kf_upd_dl_want(const struct kf_upd_dl *d, struct kf_fetch *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->cmd_seq = d->cmd_seq;
    memcpy(ret->manifest_sha256, d->manifest_sha, 32);
    if (!d->have_manifest) {
        ret->part = KF_PART_MANIFEST;
        ret->first = 0;
        ret->count = 1;
        return 0;
    }
    if (d->have >= d->nchunks)
        return 1;
    ret->part = KF_PART_FILE;
    ret->first = d->have;
    ret->count = d->nchunks - d->have < KF_FETCH_WINDOW ? d->nchunks - d->have : KF_FETCH_WINDOW;
    return 0;
}

static int save_have(struct kf_upd_dl *d)
{
    char text[16];
    int n;

    if (fdatasync(d->fd) != 0)
        return -errno;
    n = snprintf(text, sizeof(text), "%u\n", d->have);
    return kf_file_write_atomic(d->have_path, text, (size_t)n, 0600, (gid_t)-1, 0);
}

int kf_upd_dl_take(struct kf_upd_dl *d, const struct kf_part *p)
{
    int r;

    if (p->cmd_seq != d->cmd_seq)
        return 0;
    if (p->state == KF_FETCH_UNKNOWN) {
        snprintf(d->why, sizeof(d->why), "the server has no such artifact for this command");
        return -ENOENT;
    }
    if (p->part == KF_PART_MANIFEST) {
        if (d->have_manifest)
            return 0;
        if (p->index != 0 || p->nchunks != 1 || memcmp(p->sha256, d->manifest_sha, 32) != 0) {
            snprintf(d->why, sizeof(d->why),
                     "the manifest received is not the one the command names");
            return -EBADMSG;
        }
        r = accept_manifest(d, (const char *)p->data, p->len);
        if (r < 0)
            return r;
        r = kf_file_write_atomic(d->manifest_path, p->data, p->len, 0600, (gid_t)-1, 0);
        if (r == 0) {
            unlink(d->have_path);
            r = open_deb(d);
        }
        return r < 0 ? r : 1;
    }
    if (!d->have_manifest || p->index != d->have || d->have >= d->nchunks)
        return 0;
    if (p->total != d->m.size || memcmp(p->sha256, d->m.sha256, 32) != 0) {
        snprintf(d->why, sizeof(d->why),
                 "the package served is not the one the manifest describes");
        return -EBADMSG;
    }
    if (pwrite(d->fd, p->data, p->len, (off_t)p->index * KF_FETCH_CHUNK_BYTES) != (ssize_t)p->len)
        return -EIO;
    d->have++;
    if (d->have % KF_FETCH_WINDOW == 0 || d->have == d->nchunks) {
        r = save_have(d);
        if (r < 0)
            return r;
    }
    return 1;
}

void kf_upd_dl_progress(const struct kf_upd_dl *d, uint32_t *have, uint32_t *of)
{
    *have = d->have_manifest ? d->have : 0;
    *of = d->have_manifest ? d->nchunks : 0;
}

int kf_upd_dl_manifest(const struct kf_upd_dl *d, struct kf_manifest *ret)
{
    if (!d->have_manifest)
        return -EAGAIN;
    *ret = d->m;
    return 0;
}

int kf_upd_dl_check(struct kf_upd_dl *d, struct kf_manifest *ret, const char **ret_path)
{
    crypto_hash_sha256_state st;
    uint8_t buf[65536], sha[32];
    uint64_t total = 0;
    ssize_t n;

    if (!d->have_manifest || d->have < d->nchunks)
        return -EAGAIN;
    crypto_hash_sha256_init(&st);
    while ((n = pread(d->fd, buf, sizeof(buf), (off_t)total)) > 0) {
        crypto_hash_sha256_update(&st, buf, (size_t)n);
        total += (uint64_t)n;
    }
    if (n < 0)
        return -errno;
    crypto_hash_sha256_final(&st, sha);
    if (total != d->m.size || memcmp(sha, d->m.sha256, 32) != 0) {
        snprintf(d->why, sizeof(d->why),
                 "the package does not have the manifest's size and SHA-256; fetched again");
        unlink(d->have_path);
        d->have = 0;
        if (ftruncate(d->fd, 0) != 0)
            return -errno;
        return -EBADMSG;
    }
    *ret = d->m;
    *ret_path = d->deb_path;
    return 0;
}

const char *kf_upd_dl_why(const struct kf_upd_dl *d)
{
    return d->why;
}

void kf_upd_dl_close(struct kf_upd_dl *d)
{
    if (d == NULL)
        return;
    if (d->fd >= 0)
        close(d->fd);
    free(d);
}

void kf_upd_dl_remove(const char *dir, uint64_t cmd_seq)
{
    static const char *const ext[] = {"manifest", "deb", "have"};
    char path[4096];

    for (size_t i = 0; i < 3; i++) {
        if (path_of(path, sizeof(path), dir, cmd_seq, ext[i]) == 0)
            unlink(path);
    }
}
