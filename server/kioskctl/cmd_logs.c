/* kioskctl/cmd_logs.c: `kioskctl cmd logs ID [-o FILE]`: the text a logs command collected
 * (docs/KIOSKCTL.md "cmd"), read from the store, its SHA-256 checked again, decompressed
 * within KF_LOGS_TEXT_MAX, written to FILE (the global -o) or standard output. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kf/blob.h>
#include <kf/err.h>

#include "kioskctl/ctl.h"
#include "store/blobs.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int kf_ctl_cmd_logs(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_store_blob info;
    struct kf_store *st;
    uint8_t *z = NULL, *text = NULL;
    size_t zlen, tlen;
    char *end;
    const char *s;
    long long id;
    int r, fd = 1, status = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: kioskctl --db DB cmd logs ID [-o FILE]\n");
        return 2;
    }
    s = strncmp(argv[1], "C-", 2) == 0 ? argv[1] + 2 : argv[1];
    id = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || id <= 0) {
        fprintf(stderr, "kioskctl: cmd logs: %s is not a command id (C-42 or 42)\n", argv[1]);
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_blob_info(st, id, &info);
    if (r == 0 && strcmp(info.kind, "logs") != 0) {
        fprintf(stderr, "kioskctl: cmd logs: C-%lld is a %s command, not logs\n", id, info.kind);
        goto out;
    }
    if (r == 0)
        r = kf_store_blob_read(st, id, &z, &zlen);
    if (r == -EAGAIN) {
        if (info.state < 0)
            fprintf(stderr, "kioskctl: cmd logs: C-%lld (%s): no part of its logs has come yet\n",
                    id, info.status);
        else if (info.state == KF_BLOB_REFUSED)
            fprintf(stderr, "kioskctl: cmd logs: C-%lld: its bundle was refused (cmd show %lld)\n",
                    id, id);
        else
            fprintf(stderr,
                    "kioskctl: cmd logs: C-%lld: %u of %u chunks have come; try again later\n", id,
                    info.have, info.nchunks);
        status = 3;
        goto out;
    }
    if (r < 0) {
        status = kf_ctl_fail(st, "cmd logs", r);
        goto out;
    }
    r = kf_blob_inflate(z, zlen, KF_LOGS_TEXT_MAX, &text, &tlen);
    if (r < 0) {
        fprintf(stderr, "kioskctl: cmd logs: C-%lld: the bundle does not decompress: %s\n", id,
                kf_strerror(r));
        goto out;
    }
    if (c->out != NULL) {
        fd = open(c->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0) {
            fprintf(stderr, "kioskctl: cmd logs: %s: %s\n", c->out, strerror(errno));
            goto out;
        }
    }
    r = write_all(fd, text, tlen);
    if (fd != 1 && close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0) {
        fprintf(stderr, "kioskctl: cmd logs: %s: %s\n", c->out ? c->out : "stdout", kf_strerror(r));
        goto out;
    }
    if (c->out != NULL)
        fprintf(stderr, "C-%lld: %zu bytes of logs from %s written to %s\n", id, tlen,
                info.device_id, c->out);
    status = 0;
out:
    free(z);
    free(text);
    kf_store_free(st);
    return status;
}
