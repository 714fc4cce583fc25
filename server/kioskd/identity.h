/* identity.h: kioskd's side of enrollment and key rotation (docs/SECURITY.md).
 *
 * A verified identity request (struct kf_verified with ident set) is applied by
 * kf_identity_answer on the writer (job_ident.c; store/identity.h does the SQL) and
 * answered with a signed KF_MSG_IDENT_RESULT frame on the client's ack topic, published by
 * struct kf_brokersync (brokersync.h) once the broker knows an enrolled device.
 */
#ifndef KF_KIOSKD_IDENTITY_H
#define KF_KIOSKD_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>
#include <kf/topic.h>

#include "kioskd/verify.h"
#include "store/store.h"

#define KF_IDENTITY_ANSWER_CAP (KF_ENV_FIXED_BYTES + KF_DEVICE_ID_MAX + KF_ENV_SIG_BYTES + 256u)

struct kf_identity_answer {
    struct kf_identity_answer *next; /* for the brokersync queue */
    char topic[KF_TOPIC_MAX + 1];
    size_t len;
    uint8_t buf[KF_IDENTITY_ANSWER_CAP];
    int accepted;   /* the request was accepted (registry reload wanted) */
    int needs_sync; /* an accepted enrollment: publish after the broker has the account */
    char what[160]; /* one log line: who asked what, and the answer */
};

/* Writer thread (a job's work, with the writer's store): apply v->ident in its own
 * transaction and seal the answer into *out. Borrows v and server_sk. 0, or -errno on
 * database failure (nothing written; the request goes unanswered and the device asks
 * again). */
int kf_identity_answer(struct kf_store *st, const struct kf_verified *v,
                       const uint8_t server_sk[64], int64_t now_ms, struct kf_identity_answer *out);

#endif
