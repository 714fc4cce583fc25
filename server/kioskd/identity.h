/* identity.h: kioskd's side of enrollment and key rotation (docs/SECURITY.md).
 *
 * A verified identity request (struct kf_verified with ident set) is applied on the store
 * thread by kf_ident_answer (store_identity.h does the SQL) and answered with a signed
 * KF_MSG_IDENT_RESULT frame on the client's ack topic. An accepted enrollment creates a
 * broker account, so its answer waits until the broker has it: struct kf_brokersync runs
 * the configured command (normally `kiosk-provision broker-sync ...`) on the loop, one run
 * at a time, and publishes the answers that waited for it when the run ends.
 */
#ifndef KF_SERVER_IDENTITY_H
#define KF_SERVER_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kf/envelope.h>

#include "kioskd/link.h"
#include "store/store.h"
#include "kioskd/verify.h"

#define KF_IDENT_ANSWER_CAP (KF_ENV_FIXED_BYTES + KF_DEVICE_ID_MAX + KF_ENV_SIG_BYTES + 256u)

struct kf_ident_answer {
    struct kf_ident_answer *next; /* for the brokersync queue */
    char topic[KF_TOPIC_MAX + 1];
    size_t len;
    uint8_t buf[KF_IDENT_ANSWER_CAP];
    int accepted;   /* the request was accepted (registry reload wanted) */
    int needs_sync; /* an accepted enrollment: publish after the broker has the account */
    char what[160]; /* one log line: who asked what, and the answer */
};

/* Store thread: apply v->ident in its own transaction and seal the answer into *out.
 * 0, or -errno on database failure (nothing written; the request goes unanswered and the
 * device asks again). */
int kf_ident_answer(struct kf_store *st, const struct kf_verified *v, const uint8_t server_sk[64],
                    int64_t now_ms, struct kf_ident_answer *out);

struct kf_brokersync;

/* Loop thread. argv: the command and its arguments, NULL-terminated (copied; run without a
 * shell, argv[0] searched in PATH); NULL means no broker to update: answers are published
 * at once. Borrows loop and link. */
int kf_brokersync_new(uv_loop_t *loop, struct kf_link *link, char *const *argv,
                      struct kf_brokersync **ret);
/* Take ownership of a (malloc'd) answer: publish it now, or after the next sync run when
 * a->needs_sync. Starts a run if none is going. */
void kf_brokersync_submit(struct kf_brokersync *bs, struct kf_ident_answer *a);
/* Answers published and runs made so far. */
void kf_brokersync_counters(const struct kf_brokersync *bs, uint64_t *ret_answers,
                            uint64_t *ret_runs, uint64_t *ret_failures);
/* Drop queued answers (the devices ask again), kill a running command, free bs when its
 * handles are closed, then cb. NULL bs: cb at once. */
void kf_brokersync_close(struct kf_brokersync *bs, void (*cb)(void *ud), void *ud);

#endif
