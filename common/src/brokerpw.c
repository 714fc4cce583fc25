/* brokerpw.c: broker passwords, Mosquitto "$6$" verifiers, password files.
 *
 * The verifier format is Mosquitto 2.0's (src/security_default.c, unpwd__decode_passwords
 * and pw__digest at v2.0.11): "$6$", the salt in base64 that must decode to exactly 12
 * bytes, "$", and SHA-512 over the password's bytes followed by the salt's, in base64 (64
 * bytes). Mosquitto decodes both with OpenSSL's base64 BIO: the standard alphabet, padded.
 */
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

#include "kf/brokerpw.h"
#include "kf/keyfile.h"

#define KF__PW_RAW 32
#define KF__SALT_LEN 12
#define KF__SALT_B64 16 /* 12 bytes: no padding */
#define KF__HASH_B64 88 /* 64 bytes: two '=' of padding */
#define KF__PREFIX "$6$"

static void kf__digest(const char *password, const unsigned char salt[KF__SALT_LEN],
                       unsigned char out[crypto_hash_sha512_BYTES])
{
    crypto_hash_sha512_state h;

    crypto_hash_sha512_init(&h);
    crypto_hash_sha512_update(&h, (const unsigned char *)password, strlen(password));
    crypto_hash_sha512_update(&h, salt, KF__SALT_LEN);
    crypto_hash_sha512_final(&h, out);
    sodium_memzero(&h, sizeof(h));
}

int kf_brokerpw_generate(char out[KF_BROKERPW_LEN + 1])
{
    unsigned char raw[KF__PW_RAW];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, KF_BROKERPW_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

static int kf__password_ok(const char *password)
{
    size_t n;

    if (!password)
        return 0;
    n = strlen(password);
    return n >= 1 && n <= KF_BROKERPW_MAX;
}

int kf_brokerpw_verifier(const char *password, char *out, size_t cap)
{
    unsigned char salt[KF__SALT_LEN], hash[crypto_hash_sha512_BYTES];
    char salt_b64[KF__SALT_B64 + 1], hash_b64[KF__HASH_B64 + 1];

    if (!kf__password_ok(password) || !out)
        return -EINVAL;
    if (cap < KF_BROKERPW_VERIFIER_LEN + 1)
        return -ENOBUFS;
    randombytes_buf(salt, sizeof(salt));
    kf__digest(password, salt, hash);
    sodium_bin2base64(salt_b64, sizeof(salt_b64), salt, sizeof(salt),
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(hash_b64, sizeof(hash_b64), hash, sizeof(hash),
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, cap, KF__PREFIX "%s$%s", salt_b64, hash_b64);
    sodium_memzero(hash, sizeof(hash));
    return 0;
}

/* Split and decode a verifier. 0 or -EINVAL. */
static int kf__parse(const char *s, unsigned char salt[KF__SALT_LEN],
                     unsigned char hash[crypto_hash_sha512_BYTES])
{
    const char *sp, *hp, *end;
    size_t len;

    if (!s || strlen(s) != KF_BROKERPW_VERIFIER_LEN || strncmp(s, KF__PREFIX, 3) != 0)
        return -EINVAL;
    sp = s + 3;
    if (sp[KF__SALT_B64] != '$')
        return -EINVAL;
    hp = sp + KF__SALT_B64 + 1;
    if (sodium_base642bin(salt, KF__SALT_LEN, sp, KF__SALT_B64, NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != KF__SALT_LEN || end != sp + KF__SALT_B64)
        return -EINVAL;
    if (sodium_base642bin(hash, crypto_hash_sha512_BYTES, hp, KF__HASH_B64, NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != crypto_hash_sha512_BYTES || end != hp + KF__HASH_B64)
        return -EINVAL;
    return 0;
}

int kf_brokerpw_verifier_valid(const char *s)
{
    unsigned char salt[KF__SALT_LEN], hash[crypto_hash_sha512_BYTES];

    return kf__parse(s, salt, hash) == 0;
}

int kf_brokerpw_check(const char *password, const char *verifier)
{
    unsigned char salt[KF__SALT_LEN], want[crypto_hash_sha512_BYTES], got[crypto_hash_sha512_BYTES];
    int r;

    if (kf__parse(verifier, salt, want) < 0 || !kf__password_ok(password))
        return -EINVAL;
    kf__digest(password, salt, got);
    r = sodium_memcmp(got, want, sizeof(got)) == 0 ? 0 : -EACCES;
    sodium_memzero(got, sizeof(got));
    return r;
}

int kf_brokerpw_read(const char *path, char *out, size_t cap)
{
    char buf[KF_BROKERPW_MAX + 2];
    size_t len;
    int r;

    if (!path || !out || cap < 2)
        return -EINVAL;
    r = kf_secret_file_read(path, buf, sizeof(buf), &len);
    if (r == 0 && (len == 0 || len > KF_BROKERPW_MAX || len >= cap))
        r = -EBADMSG;
    for (size_t i = 0; r == 0 && i < len; i++) {
        if (buf[i] < 0x21 || buf[i] > 0x7e) /* printable ASCII, no blanks */
            r = -EBADMSG;
    }
    if (r == 0)
        memcpy(out, buf, len + 1);
    sodium_memzero(buf, sizeof(buf));
    return r;
}

int kf_brokerpw_write(const char *path, const char *password)
{
    char line[KF_BROKERPW_MAX + 2];
    size_t len;
    int r;

    if (!path || !kf__password_ok(password) || strchr(password, '\n'))
        return -EINVAL;
    len = strlen(password); /* <= KF_BROKERPW_MAX: kf__password_ok */
    memcpy(line, password, len);
    line[len] = '\n';
    r = kf_file_write_atomic(path, line, len + 1, 0600, (gid_t)-1, 0);
    sodium_memzero(line, sizeof(line));
    return r;
}

int kf_brokerpw_uri_tls(const char *uri)
{
    return uri && (strncmp(uri, "ssl://", 6) == 0 || strncmp(uri, "mqtts://", 8) == 0);
}
