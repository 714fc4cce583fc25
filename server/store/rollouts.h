/* store/rollouts.h: one command to a group of terminals in waves (docs/KIOSKCTL.md
 * "rollout", rules/rollout.h for the waves and the halting rule).
 *
 * A rollout keeps its ordered targets, its plan, its status and its current wave:
 *
 *   running -> done       every command of the last wave ended, failures within the threshold
 *   running -> halted     failures passed the threshold (kioskd), or an operator halted it
 *   halted  -> running    an operator resumed it (failures counted afresh from then)
 *   running | halted -> cancelled   an operator cancelled it
 *
 * Starting queues the canary wave (each command with its "command.send" entry). kioskd's
 * tick (kf_store_rollout_tick, on the writer) moves it: the next wave is queued when every
 * command of the current wave has ended and the failures are within the threshold; it halts
 * by itself as soon as the failures pass it. A halt (kioskd's or an operator's) never queues
 * the rest and cancels the commands of the current wave not yet sent (still "queued": their
 * terminals are offline), so a command found harmful does not reach them when they come
 * back; commands already sent go on. A resume queues those cancelled ones again. Every
 * start, advance, halt, resume, cancel and end is in the signed log (subject "R-<id>") with
 * who and why; kioskd's own moves with actor "kioskd" and the figures in the reason.
 *
 * A failure is a command of the rollout that ended failed, refused or expired. Same threading
 * rule as store.h.
 */
#ifndef KF_STORE_ROLLOUTS_H
#define KF_STORE_ROLLOUTS_H

#include <stddef.h>
#include <stdint.h>

#include "rules/rollout.h"
#include "store/commands.h"
#include "store/query.h"
#include "store/store.h"

/* Start a rollout of req (kind, args, life = expires_ms - now_ms for each wave's commands,
 * by, reason; req->rollout and wave are set here) to targets[0..n) in that order, under
 * plan (plan->total is n). In the caller's transaction if it holds one. *ret_id: the
 * rollout's id ("R-<id>"). -EINVAL (with the store's message) for a request or plan out of
 * bounds. */
int kf_store_rollout_start(struct kf_store *st, const char *const *targets, size_t n,
                           const struct kf_cmd_request *req, const struct kf_rollout_plan *plan,
                           const uint8_t server_sk[64], int64_t *ret_id);

/* An operator's halt (running -> halted), resume (halted -> running) or cancel (running or
 * halted -> cancelled; the commands not yet sent cancelled). -ENOENT: no such rollout;
 * -EALREADY: not in a state that allows it. */
int kf_store_rollout_halt(struct kf_store *st, int64_t id, int64_t now_ms, const char *by,
                          const char *reason, const uint8_t server_sk[64]);
int kf_store_rollout_resume(struct kf_store *st, int64_t id, int64_t now_ms, const char *by,
                            const char *reason, const uint8_t server_sk[64]);
int kf_store_rollout_cancel(struct kf_store *st, int64_t id, int64_t now_ms, const char *by,
                            const char *reason, const uint8_t server_sk[64]);

/* kioskd (on the writer): move every running rollout as the header says, in one
 * transaction. *ret_moves: rollouts advanced, halted or ended. */
int kf_store_rollout_tick(struct kf_store *st, int64_t now_ms, const uint8_t server_sk[64],
                          uint32_t *ret_moves);

/* Tables: the rollouts (status NULL: any; newest first) with their counts; one rollout as a
 * record; its waves (per wave: size, queued, sent, received, done, failures, cancelled). */
int kf_store_rollout_list(struct kf_store *st, const char *status, struct kf_qtable **ret);
int kf_store_rollout_show(struct kf_store *st, int64_t id, struct kf_qtable **ret);
int kf_store_rollout_waves(struct kf_store *st, int64_t id, struct kf_qtable **ret);

#endif
