/* core/enroll.h: a terminal enrolls itself with a one-time token (docs/AGENT.md
 * "Enrollment", docs/SECURITY.md) and keeps the identity the server gives it in its identity
 * directory (identity.h).
 *
 * Loop thread / main thread only.
 */
#ifndef KF_AGENT_CORE_ENROLL_H
#define KF_AGENT_CORE_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/config.h"
#include "core/identity.h"

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

/* The identity of an agent configured with [device] identity_dir: the one kept there, or,
 * when there is none yet, a new one from enrolling (kf_enroll_run with cfg's broker, CA,
 * server key and token). Then kf_identity_apply: cfg connects and signs as that identity.
 * *ret_enrolled (may be NULL) says whether this call enrolled. Borrows loop and stop.
 * Returns 0, or -errno with a one-line message for the operator in err (cap bytes): -ENOKEY
 * (not enrolled and no token), the codes of kf_enroll_run (-EINTR leaves err empty) and of
 * kf_identity_load and kf_identity_apply. */
int kf_enroll_identity(uv_loop_t *loop, struct kf_agent_config *cfg, volatile int *stop,
                       int *ret_enrolled, char *err, size_t cap);

#endif
