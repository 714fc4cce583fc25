/* kf/passwd.h: passwords and API tokens of kiosk-web's users (docs/SECURITY.md "Users").
 *
 * Passwords: libsodium's crypto_pwhash_str (Argon2id) at the INTERACTIVE limits (64 MiB,
 * about 0.1 s here): the stored text carries its own salt and parameters, so a later change
 * of limits still verifies old hashes. Passwords are 8 to KF_PW_MAX bytes of UTF-8.
 * Tokens: "kft_" and 43 characters of URL-safe base64 (32 random bytes); the store keeps
 * only BLAKE2b-256 of the token's text.
 */
#ifndef KF_PASSWD_H
#define KF_PASSWD_H

#include <stddef.h>
#include <stdint.h>

#define KF_PW_MIN 8
#define KF_PW_MAX 256
#define KF_PW_HASH_MAX 128 /* >= crypto_pwhash_STRBYTES (128) including the NUL */
#define KF_TOKEN_TEXT_MAX 64

/* Hash pw into out (NUL-terminated). 0, -EINVAL (length outside KF_PW_MIN..KF_PW_MAX or
 * not UTF-8), -ENOMEM (libsodium could not get its memory). */
int kf_pw_hash(const char *pw, char out[KF_PW_HASH_MAX]);
/* 0 when pw matches hash, -EACCES when it does not (or hash is not a hash). Takes as long
 * as a hash does, so a caller must bound how many run at once. */
int kf_pw_verify(const char *hash, const char *pw);

/* A new random token: its text (shown once) and the hash to store. */
void kf_api_token_new(char text[KF_TOKEN_TEXT_MAX], uint8_t hash[32]);
/* The hash of a token's text; -EINVAL when text does not look like a token. */
int kf_api_token_hash(const char *text, uint8_t hash[32]);

#endif
