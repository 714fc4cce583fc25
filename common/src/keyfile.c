/* keyfile.c: Ed25519 secret keys on disk as one line of 128 lowercase hex digits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "kf/keyfile.h"

#define KF_SK_HEX 128

void kf_hex_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    if (!out || cap == 0)
        return;
    for (i = 0; i < len && 2 * i + 2 < cap; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * i] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int kf_hex_decode(const char *hex, uint8_t *out, size_t len)
{
    if (!hex || strlen(hex) != 2 * len)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (hexval(hex[2 * i]) < 0 || hexval(hex[2 * i + 1]) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    return 0;
}

int kf_keyfile_read(const char *path, uint8_t sk[64])
{
    char buf[KF_SK_HEX + 4];
    struct stat st;
    ssize_t n;
    size_t len = 0;
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        goto out_wipe_key;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        r = -EBADMSG;
        goto out_close;
    }
    if (st.st_mode & 077) {
        r = -EPERM;
        goto out_close;
    }
    while (len < sizeof(buf) - 1) {
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            goto out_wipe_buf;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len != KF_SK_HEX || kf_hex_decode(buf, sk, 64) < 0) {
        r = -EBADMSG;
        goto out_wipe_buf;
    }
    r = 0;
out_wipe_buf:
    sodium_memzero(buf, sizeof(buf));
out_close:
    close(fd);
out_wipe_key:
    if (r < 0)
        sodium_memzero(sk, 64);
    return r;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int kf_keyfile_write(const char *path, const uint8_t sk[64])
{
    char tmp[PATH_MAX], dir[PATH_MAX], hex[KF_SK_HEX + 2];
    const char *slash;
    int fd, dfd, r, n;

    n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -ENAMETOOLONG;
    slash = strrchr(path, '/');
    if (!slash)
        n = snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        n = snprintf(dir, sizeof(dir), "/");
    else
        n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return -ENAMETOOLONG;

    fd = mkostemp(tmp, O_CLOEXEC); /* in the target's directory, so rename is atomic */
    if (fd < 0)
        return -errno;
    if (fchmod(fd, 0600) < 0) {
        r = -errno;
        goto out_unlink;
    }
    kf_hex_encode(sk, 64, hex, sizeof(hex));
    hex[KF_SK_HEX] = '\n';
    r = write_all(fd, hex, KF_SK_HEX + 1);
    sodium_memzero(hex, sizeof(hex));
    if (r < 0)
        goto out_unlink;
    if (fsync(fd) < 0) {
        r = -errno;
        goto out_unlink;
    }
    if (close(fd) < 0) {
        r = -errno;
        fd = -1;
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = -errno;
        goto out_unlink;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    r = fsync(dfd) < 0 ? -errno : 0;
    close(dfd);
    return r;

out_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return r;
}
