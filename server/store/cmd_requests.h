/* store/cmd_requests.h: commands and rollout moves asked for through kiosk-web (docs/WEB.md
 * "Commands"), applied by kioskd.
 *
 * kiosk-web holds no server key, so it cannot sign the log entries a command needs. As with
 * the technicians' incident actions, it queues the request (who, their role, the body as
 * checked) through its one writer connection and answers 202; kioskd applies pending
 * requests in its command job, with its key: the targets are resolved then, the commands
 * queued or the rollout started, halted or resumed exactly as kioskctl does, the user as
 * the signed log's actor. The role rule is checked when the request is made and again when
 * it is applied. A request that cannot be applied (no target matches, the rollout is not
 * halted ...) is marked refused with why; each request is applied in its own savepoint, so
 * one refusal costs the others nothing.
 *
 * The body (JSON object, at most KF_CMD_REQUEST_MAX bytes):
 *   {"kind": K, "args": [..], "reason": R, "expires_s": S (60..2592000, default 3600),
 *    "targets": {"devices": [..], "zone", "bank", "unit", "kind", "agent_version",
 *                "app_version"},
 *    "canary": N | "P%", "halt_failures": N, "halt_rate": "P%"}        a command or rollout
 *   {"op": "halt" | "resume", "rollout": ID, "reason": R}                  a rollout's move
 * Same threading rule as store.h.
 */
#ifndef KF_STORE_CMD_REQUESTS_H
#define KF_STORE_CMD_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/commands.h"
#include "store/query.h"
#include "store/rollouts.h"
#include "store/store.h"

#define KF_CMD_REQUEST_MAX 16384 /* a request's body */

/* May a user of role (enum kf_role) issue kind? The operator anything; technicians probe,
 * logs and maintenance; banks, the bureau and the public nothing. Pure. */
int kf_cmd_role_may(uint8_t role, const char *kind);

/* A request as kioskd applies it, parsed from body (borrowed; the strings point into it). */
struct kf_cmd_request_body {
    int op; /* 0 send, 1 halt, 2 resume */
    int64_t rollout;
    const char *reason;
    struct kf_cmd_request req; /* kind, args, nargs; by, times set by the caller */
    const char *args[KF_CMD_ARGS_MAX];
    int64_t life_ms;
    struct kf_cmd_select sel;
    const char *devices[KF_CMD_SELECT_DEVICES_MAX];
    int dry_run, is_rollout;
    struct kf_rollout_plan plan;
};

/* Check body for role: 0 and *ret; -EPERM (the role may not issue this kind: 403) or
 * -EINVAL (malformed: 400), with why (why_cap bytes). Pure. */
int kf_cmd_request_parse(const json_t *body, uint8_t role, struct kf_cmd_request_body *ret,
                         char *why, size_t why_cap);

/* Queue a checked request (body_json: its text) from user by of role; *ret_id. */
int kf_store_cmd_request_add(struct kf_store *st, const char *by, uint8_t role,
                             const char *body_json, int64_t now_ms, int64_t *ret_id);

/* kioskd (on the writer): apply every pending request, oldest first (at most 64 a call).
 * *ret_applied: how many were applied or refused. */
int kf_store_cmd_requests_apply(struct kf_store *st, int64_t now_ms, const uint8_t server_sk[64],
                                uint32_t *ret_applied);

/* One request: id, at, by, status (pending, applied, refused), applied, result (JSON: the
 * commands queued, the rollout, or why it was refused), body. -ENOENT when there is none. */
int kf_store_cmd_request_show(struct kf_store *st, int64_t id, struct kf_qtable **ret);

#endif
