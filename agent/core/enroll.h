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

/* The identity of an agent configured with [device] identity_dir: the one kept there or,
 * when there is none yet, a new one from enrolling with cfg's token: make the key and the
 * broker password (or reuse those of an earlier attempt), connect to cfg's broker as
 * "_enroll-<token id>", send the request every 10 s until an answer signed by cfg's server
 * key comes, and save the identity it gives. Runs loop until done (other handles on it keep
 * running). Then kf_identity_apply: cfg connects and signs as that identity.
 * *ret_enrolled (may be NULL) says whether this call enrolled. Borrows loop and stop.
 * Returns 0, or -errno with a one-line message for the operator in err (cap bytes; may be
 * NULL): -ENOKEY (not enrolled and no token), -EACCES (the server refused the token),
 * -EPERM (the broker refused the enrollment account three times: the token was used, or
 * expired, or is unknown), -EINTR (*stop became non-zero; err left empty), or the codes of
 * kf_identity_load and kf_identity_apply. */
int kf_enroll_identity(uv_loop_t *loop, struct kf_agent_config *cfg, volatile int *stop,
                       int *ret_enrolled, char *err, size_t cap);

#endif
