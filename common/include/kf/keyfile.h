/* kf/keyfile.h: Ed25519 keys on disk and in config, as lowercase hex.
 *
 * A secret key file holds one line: the 64-byte libsodium secret key as 128 hex digits.
 * It must be a regular file not readable by group or others (mode 0600 or stricter).
 * Public keys are 64 hex digits wherever they appear in text.
 */
#ifndef KF_KEYFILE_H
#define KF_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read a secret key file into sk (wiped on failure). 0, -ENOENT, -EPERM (mode too open),
 * -EBADMSG (not 128 hex digits). */
int kf_keyfile_read(const char *path, uint8_t sk[64]);
/* A public key file (server.key.pub): its first word, 64 hex digits. Also takes the 64 hex
 * digits themselves when path is exactly that. 0, -errno (-ENOENT), -EBADMSG. */
int kf_pubkey_read(const char *path, uint8_t pk[32]);
/* Write sk to path atomically (temp file, fsync, rename) with mode 0600. 0 or -errno. */
int kf_keyfile_write(const char *path, const uint8_t sk[64]);

/* Secret files in general (keys, broker passwords, tokens), one line each.
 * kf_secret_file_read: path must be a regular file not readable by group or others; reads
 * at most cap - 1 bytes into buf, drops one trailing newline, NUL-terminates, sets
 * *ret_len. 0, -EINVAL, -errno (-ENOENT), -EPERM (mode too open), -EBADMSG (not a regular
 * file); buf is wiped on failure. The caller checks the content and wipes buf. */
int kf_secret_file_read(const char *path, char *buf, size_t cap, size_t *ret_len);

/* kf_file_write_atomic flags. KF_FILE_NOSYNC: no fsync of the file nor of the directory,
 * for a file that is rewritten often and whose loss in a crash does not matter; the
 * rename still makes every reader see either the old or the new contents. */
#define KF_FILE_NOSYNC 0x1u

/* The one way to replace a file: len bytes of data to path, atomically. A temp file
 * ".<name>.XXXXXX" in path's directory (so the rename is atomic, and nothing listing the
 * directory takes it for the real file) is created 0600, given group gid (unless
 * (gid_t)-1) and then exactly mode, whatever the umask, all before any data is written:
 * a secret is never readable by anyone else, not even briefly. Then the data, fsync,
 * rename over path, fsync of the directory (unless KF_FILE_NOSYNC). On failure the temp
 * file is removed and path is left as it was, except that a failed fsync of the
 * directory is reported after the rename. 0 or -errno (-EINVAL: no file name in path, or
 * an unknown flag). */
int kf_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, gid_t gid,
                         unsigned flags);

/* Hex helpers. kf_hex_encode writes 2*len digits + NUL into out (cap >= 2*len+1).
 * kf_hex_decode requires exactly 2*len hex digits; 0 or -EINVAL. */
void kf_hex_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int kf_hex_decode(const char *hex, uint8_t *out, size_t len);

#endif
