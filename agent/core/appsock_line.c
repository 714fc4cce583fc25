/* core/appsock_line.c: one app-socket request line -> a record, or why not; and the reply
 * lines (appsock.h). Apart from the socket so that it can be tested and fuzzed alone. */
#include "core/appsock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

static int line_refuse(struct kf_appsock_err *err, const char *error, int rc)
{
    if (strcmp(error, "bad_inventory") != 0)
        err->inv_why[0] = '\0';
    err->error = error;
    err->rec.field[0] = '\0';
    err->rec.why = NULL;
    err->seq = 0;
    return rc;
}

int kf_appsock_decode(const char *line, size_t len, int64_t now_ms, struct kf_appsock_req *ret,
                      struct kf_appsock_err *err)
{
    struct kf_record rec;
    json_t *obj, *t;
    int ts_given, rc;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0)
        return -ENODATA; /* blank lines are not requests */
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    if (!obj)
        return line_refuse(err, "bad_json", -EBADMSG);
    t = json_object_get(obj, "t"); /* NULL for anything but an object */
    /* Health samples are the agent's own probes, command results its own reports. */
    if (json_is_string(t) && (strcmp(json_string_value(t), "health") == 0 ||
                              strcmp(json_string_value(t), "cmd_result") == 0)) {
        rc = line_refuse(err, "type_not_allowed", -EBADMSG);
        goto out_decref;
    }
    if (json_is_string(t) && strcmp(json_string_value(t), "inventory") == 0) {
        struct kf_inventory inv;

        /* The application's part only: the host's fields are the agent's own probes. */
        rc = kf_inv_parse(obj, &inv, err->inv_why, sizeof(err->inv_why));
        if (rc < 0) {
            rc = line_refuse(err, rc == -ENOMEM ? "internal" : "bad_inventory", rc);
            goto out_decref;
        }
        memset(&ret->inv, 0, sizeof(ret->inv));
        memcpy(ret->inv.app, inv.app, sizeof(inv.app));
        memcpy(ret->inv.app_version, inv.app_version, sizeof(inv.app_version));
        memcpy(ret->inv.periph, inv.periph, sizeof(inv.periph));
        ret->inv.nperiph = inv.nperiph;
        ret->is_inv = 1;
        ret->ts_given = 0;
        goto out_decref;
    }
    ts_given = json_object_get(obj, "ts") != NULL;
    if (json_is_object(obj) && !ts_given &&
        json_object_set_new(obj, "ts", json_integer((json_int_t)now_ms)) < 0) {
        rc = line_refuse(err, "internal", -ENOMEM);
        goto out_decref;
    }
    line_refuse(err, "bad_record", 0);
    rc = kf_record_from_json_why(obj, &rec, &err->rec);
    if (rc == 0) {
        ret->rec = rec;
        ret->ts_given = ts_given;
        ret->is_inv = 0;
    }
out_decref:
    json_decref(obj);
    return rc;
}

const char *kf_appsock_submit_error(int rc)
{
    switch (rc) {
    case -EDQUOT:
        return "outbox_full";
    case -ENOSPC:
        return "disk_full";
    case -EBADMSG:
    case -EINVAL:
        return "bad_record";
    case -EEXIST:
        return "app_id_reused";
    default:
        return "internal";
    }
}

/* s as a JSON string's content: s is a static reason or a field kf/record.h has already
 * made printable ASCII, so only '"' and '\\' need escaping. */
static void put_escaped(char *buf, size_t cap, size_t *len, const char *s)
{
    for (; *s && *len + 2 < cap; s++) {
        if (*s == '"' || *s == '\\')
            buf[(*len)++] = '\\';
        buf[(*len)++] = *s;
    }
    buf[*len] = '\0';
}

static void put_raw(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strnlen(s, cap - 1 - *len);

    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

size_t kf_appsock_reply_error(const struct kf_appsock_err *err, char *buf, size_t cap)
{
    size_t len = 0;

    if (cap == 0)
        return 0;
    buf[0] = '\0';
    put_raw(buf, cap, &len, "{\"ok\":false,\"error\":\"");
    put_escaped(buf, cap, &len, err->error ? err->error : "internal");
    if (err->error && strcmp(err->error, "bad_record") == 0 && err->rec.why) {
        if (err->rec.field[0]) {
            put_raw(buf, cap, &len, "\",\"field\":\"");
            put_escaped(buf, cap, &len, err->rec.field);
        }
        put_raw(buf, cap, &len, "\",\"why\":\"");
        put_escaped(buf, cap, &len, err->rec.why);
    }
    if (err->error && strcmp(err->error, "bad_inventory") == 0 && err->inv_why[0]) {
        put_raw(buf, cap, &len, "\",\"why\":\"");
        put_escaped(buf, cap, &len, err->inv_why);
    }
    if (err->seq > 0) {
        char seq[32];

        snprintf(seq, sizeof(seq), "\",\"seq\":%" PRIu64 "}", err->seq);
        put_raw(buf, cap, &len, seq);
        return len;
    }
    put_raw(buf, cap, &len, "\"}");
    return len;
}

size_t kf_appsock_reply_ok(uint64_t seq, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "{\"ok\":true,\"seq\":%" PRIu64 "}", seq);

    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t kf_appsock_reply_ok_inv(char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "{\"ok\":true}");

    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
