/* manifest.c: signed release manifests (kf/manifest.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <kf/keyfile.h>
#include <kf/manifest.h>

int kf_manifest_name_ok(const char *s)
{
    size_t n = strnlen(s, KF_MANIFEST_NAME_MAX + 1);

    if (n < 2 || n > KF_MANIFEST_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '+' && c != '-')))
            return 0;
    }
    return 1;
}

int kf_manifest_version_ok(const char *s)
{
    size_t n = strnlen(s, KF_MANIFEST_VERSION_MAX + 1);

    if (n < 1 || n > KF_MANIFEST_VERSION_MAX || !(s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '+' || c == '~' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

int kf_manifest_valid(const struct kf_manifest *m)
{
    return m != NULL && kf_manifest_name_ok(m->name) && kf_manifest_version_ok(m->version) &&
           m->kinds != 0 && (m->kinds & ~(KF_MANIFEST_KIOSK | KF_MANIFEST_ITM)) == 0 &&
           m->size >= 1 && m->size <= KF_ARTIFACT_MAX_BYTES;
}

int kf_manifest_for_kind(const struct kf_manifest *m, const char *kind)
{
    if (strcmp(kind, "kiosk") == 0)
        return (m->kinds & KF_MANIFEST_KIOSK) != 0;
    if (strcmp(kind, "itm") == 0)
        return (m->kinds & KF_MANIFEST_ITM) != 0;
    return 0;
}

static json_t *manifest_json(const struct kf_manifest *m)
{
    char hex[65];
    json_t *o = json_object(), *k = json_array();

    if (o == NULL || k == NULL) {
        json_decref(o);
        json_decref(k);
        return NULL;
    }
    /* In a fixed order: kiosk before itm. */
    if (m->kinds & KF_MANIFEST_KIOSK)
        json_array_append_new(k, json_string("kiosk"));
    if (m->kinds & KF_MANIFEST_ITM)
        json_array_append_new(k, json_string("itm"));
    kf_hex_encode(m->sha256, 32, hex, sizeof(hex));
    json_object_set_new(o, "kinds", k);
    json_object_set_new(o, "name", json_string(m->name));
    json_object_set_new(o, "sha256", json_string(hex));
    json_object_set_new(o, "size", json_integer((json_int_t)m->size));
    json_object_set_new(o, "version", json_string(m->version));
    return o;
}

int kf_manifest_body(const struct kf_manifest *m, char **ret)
{
    json_t *o;
    char *s;

    if (!kf_manifest_valid(m))
        return -EINVAL;
    o = manifest_json(m);
    if (o == NULL)
        return -ENOMEM;
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (s == NULL)
        return -ENOMEM;
    *ret = s;
    return 0;
}

/* The bytes signed: the context, then the canonical manifest. */
static int signed_bytes(const char *body, uint8_t **ret, size_t *ret_len)
{
    size_t clen = strlen(KF_MANIFEST_SIGN_CONTEXT), blen = strlen(body);
    uint8_t *buf = malloc(clen + blen);

    if (buf == NULL)
        return -ENOMEM;
    memcpy(buf, KF_MANIFEST_SIGN_CONTEXT, clen);
    memcpy(buf + clen, body, blen);
    *ret = buf;
    *ret_len = clen + blen;
    return 0;
}

int kf_manifest_sign(const struct kf_manifest *m, const uint8_t release_sk[64], char **ret)
{
    uint8_t sig[64], *msg = NULL;
    char *body = NULL, hex[129], *out;
    size_t mlen, n;
    int r;

    r = kf_manifest_body(m, &body);
    if (r < 0)
        return r;
    r = signed_bytes(body, &msg, &mlen);
    if (r < 0) {
        free(body);
        return r;
    }
    crypto_sign_detached(sig, NULL, msg, mlen, release_sk);
    free(msg);
    kf_hex_encode(sig, sizeof(sig), hex, sizeof(hex));
    n = strlen(body) + sizeof(hex) + 32;
    out = malloc(n);
    if (out == NULL) {
        free(body);
        return -ENOMEM;
    }
    snprintf(out, n, "{\"manifest\":%s,\"sig\":\"%s\"}", body, hex);
    free(body);
    if (strlen(out) > KF_MANIFEST_FILE_MAX) {
        free(out);
        return -EINVAL;
    }
    *ret = out;
    return 0;
}

static int get_str(json_t *o, const char *k, char *out, size_t cap)
{
    json_t *v = json_object_get(o, k);
    size_t n;

    if (!json_is_string(v))
        return -EBADMSG;
    n = json_string_length(v);
    if (n >= cap || memchr(json_string_value(v), '\0', n) != NULL)
        return -EBADMSG;
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

int kf_manifest_open(const char *text, size_t len, const uint8_t release_pk[32],
                     struct kf_manifest *ret)
{
    struct kf_manifest m;
    json_t *root, *man, *kinds, *size;
    char sighex[129], shahex[65], *body = NULL;
    uint8_t sig[64], *msg = NULL;
    size_t mlen, i;
    json_t *k;
    int r = -EBADMSG;

    if (text == NULL || len == 0 || len > KF_MANIFEST_FILE_MAX)
        return -EBADMSG;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    memset(&m, 0, sizeof(m));
    if (!json_is_object(root) || json_object_size(root) != 2)
        goto out;
    man = json_object_get(root, "manifest");
    if (!json_is_object(man) || json_object_size(man) != 5 ||
        get_str(root, "sig", sighex, sizeof(sighex)) < 0 || strlen(sighex) != 128 ||
        kf_hex_decode(sighex, sig, sizeof(sig)) < 0 ||
        get_str(man, "name", m.name, sizeof(m.name)) < 0 ||
        get_str(man, "version", m.version, sizeof(m.version)) < 0 ||
        get_str(man, "sha256", shahex, sizeof(shahex)) < 0 || strlen(shahex) != 64 ||
        kf_hex_decode(shahex, m.sha256, sizeof(m.sha256)) < 0)
        goto out;
    kinds = json_object_get(man, "kinds");
    size = json_object_get(man, "size");
    if (!json_is_array(kinds) || json_array_size(kinds) < 1 || json_array_size(kinds) > 2 ||
        !json_is_integer(size) || json_integer_value(size) < 1)
        goto out;
    m.size = (uint64_t)json_integer_value(size);
    json_array_foreach(kinds, i, k)
    {
        unsigned bit = !json_is_string(k)                           ? 0
                       : strcmp(json_string_value(k), "kiosk") == 0 ? KF_MANIFEST_KIOSK
                       : strcmp(json_string_value(k), "itm") == 0   ? KF_MANIFEST_ITM
                                                                    : 0;
        if (bit == 0 || (m.kinds & bit))
            goto out; /* unknown or repeated */
        m.kinds |= bit;
    }
    if (!kf_manifest_valid(&m))
        goto out;
    /* The canonical bytes of the fields parsed are what was signed: any field changed
     * (including a kind's order or the hash's case) fails; spacing does not matter. */
    r = kf_manifest_body(&m, &body);
    if (r < 0)
        goto out;
    r = signed_bytes(body, &msg, &mlen);
    if (r < 0)
        goto out;
    if (crypto_sign_verify_detached(sig, msg, mlen, release_pk) != 0) {
        r = -EKEYREJECTED;
        goto out;
    }
    *ret = m;
    r = 0;
out:
    free(msg);
    free(body);
    json_decref(root);
    return r;
}
