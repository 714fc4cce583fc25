/* command.c: COMMAND frames (kf/command.h), on the one envelope codec (envelope.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/command.h>
#include <kf/manifest.h>
#include <kf/topic.h>

static const char *const refusal_names[KF_CMD_REFUSAL_COUNT_] = {
    [KF_CMD_OK] = "ok",
    [KF_CMD_MALFORMED] = "malformed",
    [KF_CMD_BAD_SIGNATURE] = "bad_signature",
    [KF_CMD_OTHER_DEVICE] = "other_device",
    [KF_CMD_EXPIRED] = "expired",
    [KF_CMD_REPLAYED] = "replayed",
};

static const char *const status_names[] = {
    [KF_CMD_DONE] = "done",
    [KF_CMD_FAILED] = "failed",
    [KF_CMD_REFUSED] = "refused",
};
#define STATUS_N (sizeof(status_names) / sizeof(status_names[0]))

/* The kinds of this version: a new kind is a row here and a handler in the agent. */
static const struct {
    const char *name;
    uint32_t min_args, max_args;
} kinds[] = {
    {"probe", 0, 0},         /* a health sample and the peripherals' states, now */
    {"maintenance", 1, 2},   /* on|off [technician id] */
    {"restart-app", 0, 0},   /* the agent's [commands] restart_app hook */
    {"reboot", 0, 0},        /* the agent's [commands] reboot hook */
    {"restart-agent", 0, 0}, /* the agent starts itself again */
    {"set-config", 2, 2},    /* KEY VALUE, "section.key" from the agent's allowlist */
    {"logs", 2, 2},          /* UNIT[,UNIT...] SPAN_S: the journal, sent as a bundle */
    {"update", 2, 3},        /* NAME VERSION [MANIFEST_SHA256]: a stored artifact (the store
                              * adds the third, the agent needs it) */
};

const char *kf_cmd_refusal_name(int reason)
{
    if (reason < 0 || reason >= KF_CMD_REFUSAL_COUNT_)
        return NULL;
    return refusal_names[reason];
}

const char *kf_cmd_status_name(int status)
{
    if (status <= 0 || (size_t)status >= STATUS_N)
        return NULL;
    return status_names[status];
}

int kf_cmd_status_parse(const char *s, int *ret)
{
    for (size_t i = 1; i < STATUS_N; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *ret = (int)i;
            return 0;
        }
    }
    return -EINVAL;
}

int kf_cmd_id_ok(const char *s)
{
    size_t n = s ? strnlen(s, KF_CMD_ID_MAX + 1) : 0;

    if (n < 1 || n > KF_CMD_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

int kf_cmd_kind_ok(const char *s)
{
    size_t n = s ? strnlen(s, KF_CMD_KIND_MAX + 1) : 0;

    if (n < 1 || n > KF_CMD_KIND_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

int kf_cmd_arg_ok(const char *s)
{
    size_t n = s ? strnlen(s, KF_CMD_ARG_MAX + 1) : KF_CMD_ARG_MAX + 1;

    if (n > KF_CMD_ARG_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    }
    return 1;
}

int kf_cmd_sha_hex_ok(const char *s)
{
    size_t n = s ? strnlen(s, 65) : 0;

    if (n != 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

int kf_cmd_kind_check(const char *kind, uint32_t nargs, const char *const *args)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kinds[i].name, kind) != 0)
            continue;
        if (nargs < kinds[i].min_args || nargs > kinds[i].max_args)
            return -EINVAL;
        if (strcmp(kind, "maintenance") == 0 && strcmp(args[0], "on") != 0 &&
            strcmp(args[0], "off") != 0)
            return -EINVAL;
        if (strcmp(kind, "update") == 0 &&
            (!kf_manifest_name_ok(args[0]) || !kf_manifest_version_ok(args[1]) ||
             (nargs == 3 && !kf_cmd_sha_hex_ok(args[2]))))
            return -EINVAL;
        return 0;
    }
    return -ENOENT;
}

/* The fields a body carries, and the header's, within their bounds. */
static int cmd_valid(const struct kf_cmd *c)
{
    if (!kf_device_id_valid(c->device_id) || !kf_cmd_id_ok(c->id) || !kf_cmd_kind_ok(c->kind) ||
        c->seq == 0 || c->seq > (uint64_t)INT64_MAX || c->nargs > KF_CMD_ARGS_MAX ||
        c->issued_ms <= 0 || c->expires_ms < c->issued_ms ||
        c->expires_ms - c->issued_ms > KF_CMD_LIFE_MAX_MS)
        return 0;
    for (uint32_t i = 0; i < c->nargs; i++) {
        if (!kf_cmd_arg_ok(c->args[i]))
            return 0;
    }
    return 1;
}

int kf_cmd_body(const struct kf_cmd *cmd, char **ret)
{
    json_t *o, *a;
    char *s;

    if (!kf_cmd_id_ok(cmd->id) || !kf_cmd_kind_ok(cmd->kind) || cmd->nargs > KF_CMD_ARGS_MAX ||
        cmd->expires_ms <= 0)
        return -EINVAL;
    for (uint32_t i = 0; i < cmd->nargs; i++) {
        if (!kf_cmd_arg_ok(cmd->args[i]))
            return -EINVAL;
    }
    o = json_object();
    a = json_array();
    if (o == NULL || a == NULL) {
        json_decref(o);
        json_decref(a);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < cmd->nargs; i++)
        json_array_append_new(a, json_string(cmd->args[i]));
    json_object_set_new(o, "args", a);
    json_object_set_new(o, "expires", json_integer(cmd->expires_ms));
    json_object_set_new(o, "id", json_string(cmd->id));
    json_object_set_new(o, "kind", json_string(cmd->kind));
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (s == NULL)
        return -ENOMEM;
    if (strlen(s) > KF_CMD_BODY_MAX) {
        free(s);
        return -EINVAL;
    }
    *ret = s;
    return 0;
}

/* A string member of o into out (cap), checked by ok. */
static int get_str(json_t *o, const char *k, char *out, size_t cap, int (*ok)(const char *))
{
    json_t *v = json_object_get(o, k);
    size_t n;

    if (!json_is_string(v))
        return -EBADMSG;
    n = json_string_length(v);
    if (n >= cap || memchr(json_string_value(v), '\0', n) != NULL)
        return -EBADMSG;
    memcpy(out, json_string_value(v), n + 1);
    return ok(out) ? 0 : -EBADMSG;
}

int kf_cmd_body_parse(const char *json, size_t len, struct kf_cmd *ret)
{
    struct kf_cmd c;
    json_t *o, *a, *e;
    int rc = -EBADMSG;

    if (len == 0 || len > KF_CMD_BODY_MAX)
        return -EBADMSG;
    /* Flat: an object holding one array of strings. Deeper input is refused by the types
     * below; jansson's own depth limit bounds the parse itself. */
    o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    memcpy(&c, ret, sizeof(c));
    if (!json_is_object(o) || json_object_size(o) != 4)
        goto out;
    a = json_object_get(o, "args");
    e = json_object_get(o, "expires");
    if (!json_is_array(a) || json_array_size(a) > KF_CMD_ARGS_MAX || !json_is_integer(e) ||
        json_integer_value(e) <= 0 || get_str(o, "id", c.id, sizeof(c.id), kf_cmd_id_ok) < 0 ||
        get_str(o, "kind", c.kind, sizeof(c.kind), kf_cmd_kind_ok) < 0)
        goto out;
    c.expires_ms = (int64_t)json_integer_value(e);
    c.nargs = (uint32_t)json_array_size(a);
    memset(c.args, 0, sizeof(c.args));
    for (uint32_t i = 0; i < c.nargs; i++) {
        json_t *v = json_array_get(a, i);
        size_t n;

        if (!json_is_string(v) || (n = json_string_length(v)) > KF_CMD_ARG_MAX ||
            memchr(json_string_value(v), '\0', n) != NULL)
            goto out;
        memcpy(c.args[i], json_string_value(v), n + 1);
        if (!kf_cmd_arg_ok(c.args[i]))
            goto out;
    }
    *ret = c;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

static void cmd_header(const struct kf_cmd *cmd, struct kf_env_header *h)
{
    memset(h, 0, sizeof(*h));
    h->kind = KF_MSG_COMMAND;
    memcpy(h->device_id, cmd->device_id, sizeof(h->device_id));
    h->key_epoch = KF_CMD_KEY_EPOCH;
    h->seq = cmd->seq;
    h->device_ms = cmd->issued_ms;
}

int kf_cmd_seal(const struct kf_cmd *cmd, const uint8_t server_sk[64], uint8_t *out, size_t cap,
                size_t *ret_len)
{
    struct kf_env_header h;
    char topic[KF_TOPIC_MAX];
    char *body = NULL;
    int rc;

    if (cmd == NULL || !cmd_valid(cmd))
        return -EINVAL;
    rc = kf_topic_format(topic, sizeof(topic), cmd->device_id, KF_TOPIC_CMD);
    if (rc < 0)
        return rc;
    rc = kf_cmd_body(cmd, &body);
    if (rc < 0)
        return rc;
    cmd_header(cmd, &h);
    rc = kf_env_seal(&h, topic, (const uint8_t *)body, strlen(body), server_sk, out, cap, ret_len);
    free(body);
    return rc;
}

int kf_cmd_open(const uint8_t *buf, size_t len, const char *topic, const char *device_id,
                const uint8_t server_pk[32], int64_t now_ms, struct kf_cmd *ret)
{
    struct kf_env_view v;
    struct kf_cmd c;

    /* Structure first (no crypto): kf_env_parse bounds the length and every field. */
    if (buf == NULL || kf_env_parse(buf, len, &v) < 0 || v.hdr.kind != KF_MSG_COMMAND ||
        v.hdr.flags != 0 || v.hdr.dict_id != 0 || v.hdr.key_epoch != KF_CMD_KEY_EPOCH ||
        v.hdr.seq == 0 || v.hdr.seq > (uint64_t)INT64_MAX || v.hdr.clock_offset_ms != 0 ||
        v.hdr.device_ms <= 0 || v.body_len == 0 || v.body_len > KF_CMD_BODY_MAX)
        return KF_CMD_MALFORMED;
    if (device_id == NULL || strcmp(v.hdr.device_id, device_id) != 0)
        return KF_CMD_OTHER_DEVICE;
    if (kf_env_verify(&v, topic, server_pk) != 0)
        return KF_CMD_BAD_SIGNATURE;
    /* Signed by the server: now the body is worth parsing. */
    memset(&c, 0, sizeof(c));
    memcpy(c.device_id, v.hdr.device_id, sizeof(c.device_id));
    c.seq = v.hdr.seq;
    c.issued_ms = v.hdr.device_ms;
    if (kf_cmd_body_parse((const char *)v.body, v.body_len, &c) < 0 || !cmd_valid(&c))
        return KF_CMD_MALFORMED;
    if (now_ms > c.expires_ms)
        return KF_CMD_EXPIRED;
    *ret = c;
    return KF_CMD_OK;
}
