/* core/enroll.h: a terminal's own identity (docs/AGENT.md "Enrollment", docs/SECURITY.md).
 *
 * With [device] identity_dir set, the agent keeps its identity in that directory, all files
 * mode 0600, written atomically:
 *   identity      "device_id = ..." and "key_epoch = N": who the server says we are
 *   key.<N>       the Ed25519 secret key of epoch N (made here; it never leaves the terminal)
 *   broker.pw     the broker password (made here; the server only ever sees its verifier)
 * Enrollment fills it from a one-time token; key rotation adds key.<N+1> and moves
 * key_epoch once the server has accepted the new key.
 *
 * Loop thread / main thread only.
 */
#ifndef KF_AGENT_CORE_ENROLL_H
#define KF_AGENT_CORE_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kf/envelope.h>

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
/* dir/broker.pw into buf. */
int kf_identity_pw_path(const char *dir, char *buf, size_t cap);
/* Read key.<epoch>, or make and write a fresh one if absent. 0 or -errno. */
int kf_identity_key_get_or_make(const char *dir, uint32_t epoch, uint8_t sk[64]);

struct kf_enroll_opts {
    const char *dir;          /* identity_dir */
    const char *token;        /* the token text "KF1-..." */
    const char *uri;          /* broker */
    const char *ca_file;      /* trust anchor of the broker's certificate */
    const uint8_t *server_pk; /* 32 bytes: answers must be signed by it */
    const char *agent_name;
    uint32_t keepalive_s, reconnect_min_ms, reconnect_max_ms;
    uint32_t retry_ms; /* ask again after this long without an answer */
};

/* Enroll: make the key and broker password (or reuse those of an earlier attempt), connect
 * as "_enroll-<token id>", send the request until a signed answer comes, and on acceptance
 * save the identity. Runs loop until done (other handles on it keep running). Returns 0
 * (enrolled: *ret filled), -EACCES (refused by the server: *ret_reason is enum
 * kf_ident_refusal), -EPERM (the broker refused the enrollment account three times: the
 * token was used, or expired, or is unknown), -EINTR (*stop became non-zero), or -errno. */
int kf_enroll_run(uv_loop_t *loop, const struct kf_enroll_opts *o, volatile int *stop,
                  struct kf_identity *ret, int *ret_reason);

#endif
