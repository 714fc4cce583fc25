/* fuzz_appsock: one line on the agent's app socket (docs/AGENT.md, "The app socket"), as
 * kf_appsock_decode takes it from the kiosk application, and the reply it gets. Beyond
 * not crashing: every reply is one line of JSON within KF_APPSOCK_REPLY_MAX, and every
 * record accepted formats canonically and parses back to itself; so does every inventory
 * line accepted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/inventory.h>
#include <kf/record.h>

#include "core/appsock.h"
#include "fuzz.h"

#define FUZZ_NOW_MS 1767254395000LL

static void check_reply(const char *reply, size_t len)
{
    json_t *obj;

    if (len >= KF_APPSOCK_REPLY_MAX || strlen(reply) != len || memchr(reply, '\n', len))
        abort();
    obj = json_loadb(reply, len, JSON_REJECT_DUPLICATES, NULL);
    if (!obj || !json_is_object(obj) || !json_object_get(obj, "ok"))
        abort();
    json_decref(obj);
}

/* An accepted inventory line: answered {"ok":true}, and its application part renders
 * canonically and parses back to itself (the agent puts it into its HELLO as "inv"). */
static void check_inventory(const struct kf_inventory *inv, char *reply)
{
    char buf[KF_INV_JSON_MAX], buf2[KF_INV_JSON_MAX], why[96];
    struct kf_inventory back;
    json_t *obj;
    int len, len2;

    check_reply(reply, kf_appsock_reply_ok_inv(reply, KF_APPSOCK_REPLY_MAX));
    len = kf_inv_render(inv, buf, sizeof(buf));
    if (len < 0)
        abort();
    obj = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    memset(&back, 0, sizeof(back));
    if (!obj || kf_inv_parse(obj, &back, why, sizeof(why)) < 0)
        abort();
    json_decref(obj);
    len2 = kf_inv_render(&back, buf2, sizeof(buf2));
    if (len2 != len || memcmp(buf, buf2, (size_t)len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reply[KF_APPSOCK_REPLY_MAX], json[KF_RECORD_JSON_MAX + 1], again[KF_RECORD_JSON_MAX + 1];
    struct kf_appsock_err err;
    struct kf_appsock_req req;
    struct kf_record back;
    size_t len, len2;
    int rc;

    if (size > 65536) /* [app] max_line's bound */
        return 0;
    rc = kf_appsock_decode((const char *)data, size, FUZZ_NOW_MS, &req, &err);
    if (rc == -ENODATA)
        return 0;
    if (rc < 0) {
        check_reply(reply, kf_appsock_reply_error(&err, reply, sizeof(reply)));
        return 0;
    }
    if (req.is_inv) {
        check_inventory(&req.inv, reply);
        return 0;
    }
    /* The largest seq there is (PROTOCOL.md section 8). */
    check_reply(reply, kf_appsock_reply_ok((uint64_t)INT64_MAX, reply, sizeof(reply)));
    /* A record with an app_id may be refused as app_id_reused, with the holder's seq. */
    if (req.rec.app_id[0]) {
        struct kf_appsock_err reused = {"app_id_reused", {"", NULL}, (uint64_t)INT64_MAX, ""};

        check_reply(reply, kf_appsock_reply_error(&reused, reply, sizeof(reply)));
    }
    if (kf_record_format(&req.rec, json, sizeof(json), &len) < 0 ||
        kf_record_parse(json, len, &back) < 0 ||
        kf_record_format(&back, again, sizeof(again), &len2) < 0 || len2 != len ||
        memcmp(json, again, len) != 0)
        abort();
    return 0;
}
