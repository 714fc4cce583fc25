/* store/commands.h: the server's commands to terminals (docs/PROTOCOL.md "COMMAND",
 * docs/KIOSKCTL.md "cmd").
 *
 * One row per (device, command): kioskctl queues them (each with its signed-log entry, who
 * and why), kioskd sends them to online devices and re-sends them when a device comes back,
 * until they expire; a device's HELLO says which it has received (its highest command seq)
 * and its cmd_result records, committed by the ingest in the same transaction as the
 * record, say how each ended. Lifecycle (status):
 *
 *   queued -> sent -> received -> done | failed | refused
 *   queued | sent -> expired (past expires_ms, nothing heard) | cancelled (kioskctl)
 *
 * A device's report is the last word: a result for a command marked expired or cancelled
 * still records what the device did. Same threading rule as store.h.
 */
#ifndef KF_STORE_COMMANDS_H
#define KF_STORE_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include <kf/command.h>

#include "store/query.h"
#include "store/store.h"

/* What a command is to kioskctl: who sends it and why (the signed log's actor and reason).
 * rollout/wave: the rollout and wave it belongs to (store/rollouts.h); 0 for a command sent
 * on its own. */
struct kf_cmd_request {
    const char *kind;
    const char *const *args;
    uint32_t nargs;
    int64_t now_ms, expires_ms;
    const char *by, *reason;
    int64_t rollout;
    uint32_t wave;
};

/* Which terminals a command goes to (docs/KIOSKCTL.md "cmd send"): the active devices that
 * match every selector given (NULL or 0 devices: any). devices: any of these ids (at most
 * KF_CMD_SELECT_DEVICES_MAX); zone, bank, unit (county-level unit code); kind ("kiosk" or
 * "itm"); agent_version and app_version from the inventory (store/inventory.h): equal, or
 * the version followed by "." ("1.3" selects 1.3.0 and 1.3.1; a device without an
 * inventory matches no version selector). */
#define KF_CMD_SELECT_DEVICES_MAX 256
struct kf_cmd_select {
    const char *const *devices;
    size_t ndevices;
    const char *zone, *bank, *unit, *kind, *agent_version, *app_version;
};

/* The devices sel selects, in device id order: an owned array of owned strings in *ret
 * (kf_store_cmd_targets_free), *ret_n of them (0: none). One statement, every selector a
 * bound parameter. -EINVAL (with the store's message) when sel selects nothing at all (no
 * selector given: the whole fleet is never a target by default) or a bound is passed. */
int kf_store_cmd_targets(struct kf_store *st, const struct kf_cmd_select *sel, char ***ret,
                         size_t *ret_n);
void kf_store_cmd_targets_free(char **v, size_t n);

/* Queue req for device_id: the device's next command seq, status queued, and the signed-log
 * entry "command.send" (actor by, subject "C-<id>", detail with the device, kind, args,
 * expiry and reason), in the caller's transaction if it holds one. *ret_id: the row id (the
 * command id on the wire is "C-<id>"). -EINVAL for a request out of bounds
 * (kf_cmd_kind_check, kf_cmd_arg_ok, expiry after now and within KF_CMD_LIFE_MAX_MS). */
int kf_store_cmd_queue(struct kf_store *st, const char *device_id, const struct kf_cmd_request *req,
                       const uint8_t server_sk[64], int64_t *ret_id);
/* Cancel a queued or sent command ("command.cancel" in the signed log). -ENOENT: no such
 * command; -EALREADY: it has been received or has ended. */
int kf_store_cmd_cancel(struct kf_store *st, int64_t id, int64_t now_ms, const char *by,
                        const char *reason, const uint8_t server_sk[64]);

/* kioskctl's tables: cmd list (device and status may be NULL: any) and cmd show. */
int kf_store_cmd_list(struct kf_store *st, const char *device, const char *status,
                      struct kf_qtable **ret);
/* The same, paged and also by rollout (0: any): at most limit rows after the command id
 * after (0: from the start) in id order, or with newest_first before it (0: from the newest)
 * newest first. */
int kf_store_cmd_page(struct kf_store *st, const char *device, const char *status, int64_t rollout,
                      int64_t after, uint32_t limit, int newest_first, struct kf_qtable **ret);
int kf_store_cmd_show(struct kf_store *st, int64_t id, struct kf_qtable **ret);
/* The refusals each device reports in its HELLO (cmd refused). */
int kf_store_cmd_refusals(struct kf_store *st, struct kf_qtable **ret);

/* kioskd: in one transaction, mark expired every queued or sent command past its expiry
 * (*ret_expired), then take at most max commands to send now and mark them sent: the
 * queued ones of online devices, and the sent ones (not yet received) of an online device
 * whose HELLO since it came back online did not list them, or that were sent resend_ms ago
 * or more. Each comes
 * back as a struct kf_cmd (the wire's fields; id "C-<row id>") in an owned array *ret
 * (free()), *ret_n of them, in (device, seq) order. */
int kf_store_cmd_dispatch(struct kf_store *st, int64_t now_ms, int64_t resend_ms, size_t max,
                          struct kf_cmd **ret, size_t *ret_n, uint32_t *ret_expired);

#endif
