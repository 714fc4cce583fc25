/* core/identity.h: a terminal's own identity (docs/AGENT.md "Enrollment", docs/SECURITY.md).
 *
 * With [device] identity_dir set, the agent keeps its identity in that directory, all files
 * mode 0600, written atomically:
 *   identity      "device_id = ..." and "key_epoch = N": who the server says we are
 *   key.<N>       the Ed25519 secret key of epoch N (made here; it never leaves the terminal)
 *   broker.pw     the broker password (made here; the server only ever sees its verifier)
 * Enrollment (enroll.h) fills it from a one-time token; key rotation adds key.<N+1> and moves
 * key_epoch once the server has accepted the new key.
 *
 * Every function borrows its arguments. Loop thread / main thread only.
 */
#ifndef KF_AGENT_CORE_IDENTITY_H
#define KF_AGENT_CORE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

#include "core/config.h"

struct kf_identity {
    char device_id[KF_DEVICE_ID_MAX + 1];
    uint32_t key_epoch;
};

/* Read dir/identity. 0, -ENOENT (not enrolled yet), -EBADMSG (damaged), -errno. */
int kf_identity_load(const char *dir, struct kf_identity *ret);
/* Write dir/identity atomically (temp, fsync, rename, fsync dir). 0 or -errno. */
int kf_identity_save(const char *dir, const struct kf_identity *id);
/* dir/key.<epoch> into buf. 0 or -ENAMETOOLONG. */
int kf_identity_key_path(const char *dir, uint32_t epoch, char *buf, size_t cap);
/* dir/broker.pw into buf. 0 or -ENAMETOOLONG. */
int kf_identity_pw_path(const char *dir, char *buf, size_t cap);
/* Read key.<epoch>, or make and write a fresh one if absent. 0 or -errno. */
int kf_identity_key_get_or_make(const char *dir, uint32_t epoch, uint8_t sk[64]);

/* Make id the identity cfg connects and signs as: its device id (also the broker user name)
 * and key epoch, key_file = cfg->identity_dir/key.<epoch>, and the password read from
 * cfg->identity_dir/broker.pw. 0, or -errno with a one-line message in err (cap bytes; may
 * be NULL); cfg may be partly written on error. */
int kf_identity_apply(const struct kf_identity *id, struct kf_agent_config *cfg, char *err,
                      size_t cap);

/* The server has accepted key.<new_epoch> for device_id (kf_agent_rotate's callback): record
 * it in dir/identity, durably, then delete key.<old_epoch>, which signs nothing any more.
 * 0, or -errno from writing the identity (the old key is then kept; the server already
 * holds the new one, so the next start asks again and is told ok). */
int kf_identity_rotated(const char *dir, const char *device_id, uint32_t old_epoch,
                        uint32_t new_epoch);

/* Does key.<epoch + 1> exist? Then a rotation was asked for and may have been accepted by
 * the server before it could be recorded: the agent asks again at start. */
int kf_identity_rotation_pending(const char *dir, uint32_t epoch);

#endif
