/* passwd.c: users' passwords (Argon2id through crypto_pwhash_str) and API tokens. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kf/passwd.h"

#define KF_TOKEN_PREFIX "kft_"
#define KF_TOKEN_RAW 32

/* Well-formed UTF-8, no NUL, no control characters below space (a password typed or pasted;
 * a newline in it is a file's line end kept by mistake). */
static int text_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n;

        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80)
            n = 1;
        else if ((c & 0xe0) == 0xc0 && c >= 0xc2)
            n = 2;
        else if ((c & 0xf0) == 0xe0)
            n = 3;
        else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
            n = 4;
        else
            return 0;
        if (i + n > len)
            return 0;
        for (size_t k = 1; k < n; k++)
            if (((unsigned char)s[i + k] & 0xc0) != 0x80)
                return 0;
        i += n;
    }
    return 1;
}

int kf_pw_hash(const char *pw, char out[KF_PW_HASH_MAX])
{
    size_t len = pw ? strnlen(pw, KF_PW_MAX + 1) : 0;

    if (len < KF_PW_MIN || len > KF_PW_MAX || !text_ok(pw, len))
        return -EINVAL;
    if (sodium_init() < 0)
        return -ENOMEM;
    if (crypto_pwhash_str(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return -ENOMEM;
    return 0;
}

int kf_pw_verify(const char *hash, const char *pw)
{
    size_t len = pw ? strnlen(pw, KF_PW_MAX + 1) : 0;

    if (!hash || !hash[0] || len > KF_PW_MAX || sodium_init() < 0)
        return -EACCES;
    /* Only Argon2id texts: crypto_pwhash_str_verify would also take Argon2i. */
    if (strncmp(hash, crypto_pwhash_argon2id_STRPREFIX, strlen(crypto_pwhash_argon2id_STRPREFIX)))
        return -EACCES;
    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : -EACCES;
}

void kf_api_token_new(char text[KF_TOKEN_TEXT_MAX], uint8_t hash[32])
{
    uint8_t raw[KF_TOKEN_RAW];
    size_t n = strlen(KF_TOKEN_PREFIX);

    if (sodium_init() < 0) /* only fails when the system has no randomness: nothing works */
        abort();
    randombytes_buf(raw, sizeof(raw));
    memcpy(text, KF_TOKEN_PREFIX, n);
    sodium_bin2base64(text + n, KF_TOKEN_TEXT_MAX - n, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    crypto_generichash(hash, 32, (const unsigned char *)text, strlen(text), NULL, 0);
}

int kf_api_token_hash(const char *text, uint8_t hash[32])
{
    size_t n = strlen(KF_TOKEN_PREFIX), len;

    if (!text || strncmp(text, KF_TOKEN_PREFIX, n) != 0)
        return -EINVAL;
    len = strnlen(text, KF_TOKEN_TEXT_MAX);
    if (len !=
        n + sodium_base64_ENCODED_LEN(KF_TOKEN_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1)
        return -EINVAL;
    for (size_t i = n; i < len; i++) {
        char c = text[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return -EINVAL;
    }
    if (sodium_init() < 0)
        return -EINVAL;
    crypto_generichash(hash, 32, (const unsigned char *)text, len, NULL, 0);
    return 0;
}
