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

int kf_secret_file_read(const char *path, char *buf, size_t cap, size_t *ret_len)
{
    struct stat st;
    size_t len = 0;
    ssize_t n;
    int fd, r = 0;

    if (!path || !buf || cap < 2)
        return -EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (!S_ISREG(st.st_mode))
        r = -EBADMSG;
    else if (st.st_mode & 077)
        r = -EPERM;
    while (r == 0 && len < cap - 1) {
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = -errno;
        else if (n == 0)
            break;
        else
            len += (size_t)n;
    }
    close(fd);
    if (r < 0) {
        sodium_memzero(buf, cap);
        return r;
    }
    buf[len] = '\0';
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    *ret_len = len;
    return 0;
}

int kf_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, gid_t gid,
                         unsigned flags)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    const char *slash, *base, *p = data;
    int fd, dfd, r = 0, n;

    if (!path || (!data && len > 0) || (flags & ~KF_FILE_NOSYNC))
        return -EINVAL;
    slash = strrchr(path, '/');
    base = slash ? slash + 1 : path;
    if (*base == '\0')
        return -EINVAL;
    if (!slash)
        n = snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        n = snprintf(dir, sizeof(dir), "/");
    else
        n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return -ENAMETOOLONG;
    n = snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", (int)(base - path), path, base);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -ENAMETOOLONG;

    /* In the target's directory, so rename is atomic. mkostemp creates the file with
     * O_EXCL (never someone else's file or symlink) and mode 0600 whatever the umask. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* Group before mode, both before any data: chown may clear set-id bits, and the file
     * is never readable by a group it was not meant for. */
    if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0)
        r = -errno;
    if (r == 0 && fchmod(fd, mode) < 0) /* exact, whatever the umask */
        r = -errno;
    while (r == 0 && len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            r = w < 0 ? -errno : -EIO; /* 0: would loop forever */
        } else {
            p += w;
            len -= (size_t)w;
        }
    }
    if (r == 0 && !(flags & KF_FILE_NOSYNC) && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    if (flags & KF_FILE_NOSYNC)
        return 0;
    /* The rename itself is durable only once the directory is. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    r = fsync(dfd) < 0 ? -errno : 0;
    close(dfd);
    return r;
}

int kf_keyfile_read(const char *path, uint8_t sk[64])
{
    char buf[KF_SK_HEX + 4];
    size_t len;
    int r = kf_secret_file_read(path, buf, sizeof(buf), &len);

    if (r == 0 && (len != KF_SK_HEX || kf_hex_decode(buf, sk, 64) < 0))
        r = -EBADMSG;
    sodium_memzero(buf, sizeof(buf));
    if (r < 0)
        sodium_memzero(sk, 64);
    return r;
}

int kf_keyfile_write(const char *path, const uint8_t sk[64])
{
    char hex[KF_SK_HEX + 2];
    int r;

    kf_hex_encode(sk, 64, hex, sizeof(hex));
    hex[KF_SK_HEX] = '\n';
    r = kf_file_write_atomic(path, hex, KF_SK_HEX + 1, 0600, (gid_t)-1, 0);
    sodium_memzero(hex, sizeof(hex));
    return r;
}

int kf_pubkey_read(const char *path, uint8_t pk[32])
{
    char line[160];
    FILE *f;
    size_t n;

    if (strlen(path) == 64 && kf_hex_decode(path, pk, 32) == 0)
        return 0;
    f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    if (fgets(line, sizeof(line), f) == NULL) {
        fclose(f);
        return -EBADMSG;
    }
    fclose(f);
    n = strcspn(line, " \t\r\n");
    line[n] = '\0';
    return n == 64 && kf_hex_decode(line, pk, 32) == 0 ? 0 : -EBADMSG;
}
