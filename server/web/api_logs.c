/* web/api_logs.c: GET /api/v1/commands/{id}/logs (docs/openapi.yaml): the text a logs
 * command collected, as kioskctl cmd logs gives it: read on the caller's scoped connection
 * (operators and technicians see commands), its SHA-256 checked again, decompressed within
 * KF_LOGS_TEXT_MAX. Pool thread, as every handler. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kf/blob.h>

#include "store/blobs.h"
#include "web/web.h"

void kf_web_api_command_logs(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_store_blob info;
    const char *s = c->args[0];
    uint8_t *z = NULL, *text = NULL;
    size_t zlen, tlen;
    char *end;
    long long id;
    int r;

    if (strncmp(s, "C-", 2) == 0)
        s += 2;
    id = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || id <= 0) {
        kf_web_problem(c, 400, "not a command id (C-42 or 42)");
        return;
    }
    r = kf_store_blob_info(st, id, &info);
    if (r < 0) {
        kf_web_reply_store_err(c, st, r, "command");
        return;
    }
    if (strcmp(info.kind, "logs") != 0) {
        kf_web_problem(c, 404, "C-%lld is a %s command: it has no logs", id, info.kind);
        return;
    }
    r = kf_store_blob_read(st, id, &z, &zlen);
    if (r == -EAGAIN) {
        if (info.state < 0)
            kf_web_problem(c, 409, "C-%lld (%s): no part of its logs has come", id, info.status);
        else if (info.state == KF_BLOB_REFUSED)
            kf_web_problem(c, 409, "C-%lld: its bundle was refused (see the command's detail)", id);
        else
            kf_web_problem(c, 409, "C-%lld (%s): %u of %u chunks have come", id, info.status,
                           info.have, info.nchunks);
        return;
    }
    if (r < 0) {
        kf_web_reply_store_err(c, st, r == -EBADMSG ? -EIO : r, "logs bundle");
        return;
    }
    r = kf_blob_inflate(z, zlen, KF_LOGS_TEXT_MAX, &text, &tlen);
    free(z);
    if (r < 0) {
        kf_web_problem(c, 500, "C-%lld: the bundle does not decompress", id);
        return;
    }
    kf_web_reply_raw(c, 200, "text/plain; charset=utf-8", (char *)text, tlen);
}
