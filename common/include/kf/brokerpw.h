/* kf/brokerpw.h: broker (Mosquitto) passwords and their verifiers (docs/OPERATIONS.md,
 * "Broker credentials").
 *
 * A broker password is 32 random bytes as base64url without padding: 43 characters of
 * [A-Za-z0-9_-]. Only its verifier is stored and given to the broker, in the form
 * Mosquitto 2.0 reads from a password_file line "username:<verifier>":
 *
 *   $6$<base64(salt)>$<base64(SHA-512(password || salt))>
 *
 * with a 12-byte random salt (Mosquitto requires exactly 12) and standard base64 with
 * padding (16 + 88 characters). One salted SHA-512 is enough for a 256-bit random password:
 * stretching (Mosquitto's "$7$" PBKDF2) only slows the guessing of human-chosen ones.
 *
 * On disk a password is one line in a regular file that group and others cannot read
 * (mode 0600 or stricter), like the key files (kf/keyfile.h).
 *
 * Every function: any thread; sodium_init() must have been called.
 */
#ifndef KF_BROKERPW_H
#define KF_BROKERPW_H

#include <stddef.h>

#define KF_BROKERPW_LEN 43           /* generated passwords: base64url of 32 bytes */
#define KF_BROKERPW_MAX 256          /* longest password read from a file, without NUL */
#define KF_BROKERPW_VERIFIER_LEN 108 /* "$6$" + 16 + "$" + 88 */

/* Write a fresh random password (KF_BROKERPW_LEN characters + NUL) into out. 0. */
int kf_brokerpw_generate(char out[KF_BROKERPW_LEN + 1]);

/* Compute a "$6$" verifier of password (1..KF_BROKERPW_MAX bytes, no NUL) with a fresh
 * random salt into out (cap >= KF_BROKERPW_VERIFIER_LEN + 1). 0, -EINVAL, -ENOBUFS. */
int kf_brokerpw_verifier(const char *password, char *out, size_t cap);

/* Is s a well-formed "$6$" verifier (exact lengths, base64 alphabet, decodes to 12 and 64
 * bytes)? 1 or 0. Nothing else may reach a broker password file. */
int kf_brokerpw_verifier_valid(const char *s);

/* Does password match verifier? 0, -EACCES (it does not), -EINVAL (not a verifier). The
 * comparison is constant-time. */
int kf_brokerpw_check(const char *password, const char *verifier);

/* Read a password file: one line of 1..min(cap-1, KF_BROKERPW_MAX) printable ASCII
 * characters, an optional trailing newline. 0, -ENOENT, -EPERM (group or others may read
 * it), -EBADMSG (not a regular file, empty, too long, or a control character), -errno.
 * out is written only on success; the read buffer is wiped. */
int kf_brokerpw_read(const char *path, char *out, size_t cap);

/* Write password and a newline to path atomically (temp file in the same directory,
 * fsync, rename, fsync of the directory) with mode 0600. 0 or -errno. */
int kf_brokerpw_write(const char *path, const char *password);

/* Does uri name a TLS listener (Paho's "ssl://" or "mqtts://")? 1 or 0. Clients send a
 * password only over such a connection in production (docs/OPERATIONS.md). */
int kf_brokerpw_uri_tls(const char *uri);

#endif
