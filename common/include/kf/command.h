/* kf/command.h: COMMAND frames, server -> device on kf/v1/<device>/cmd (docs/PROTOCOL.md,
 * section 6, "COMMAND").
 *
 * A command travels in the one envelope every message uses (kf/envelope.h), signed by the
 * server key the agent pins:
 *   kind 5, flags 0 (never compressed), dictionary id 0, device id = the target device,
 *   key epoch 1 (the server key), seq = the command's per-device sequence number (>= 1),
 *   count 0, device time = the issue time (server clock), clock offset 0,
 *   body = canonical JSON (compact, keys sorted), at most KF_CMD_BODY_MAX bytes:
 *     {"args":["on","T-0042"],"expires":1767258000000,"id":"C-42","kind":"maintenance"}
 *
 * kf_cmd_open checks, in this order, before anything costs more than a comparison:
 * size and structure (kf_env_parse), kind, flags, epoch, body size -> the device named ->
 * the Ed25519 signature over topic and frame -> only then the JSON body -> the expiry.
 * Whether the command was already seen (its seq at or below the highest accepted) is the
 * receiver's state, not the frame's: the agent checks it when it stores the command.
 *
 * Any thread; no globals. Functions return 0 or a negative errno unless said otherwise.
 */
#ifndef KF_COMMAND_H
#define KF_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

#define KF_CMD_ID_MAX 24     /* a command id: 1..24 of [A-Za-z0-9._:-] */
#define KF_CMD_KIND_MAX 24   /* a command kind: 1..24 of [a-z0-9-], starting with a letter */
#define KF_CMD_ARGS_MAX 4    /* arguments per command */
#define KF_CMD_ARG_MAX 200   /* bytes per argument: printable ASCII */
#define KF_CMD_BODY_MAX 2048 /* the JSON body, bytes */
#define KF_CMD_KEY_EPOCH 1   /* the server key's epoch in a COMMAND header */
/* The longest a command may live: issue time to expiry. */
#define KF_CMD_LIFE_MAX_MS (INT64_C(30) * 86400 * 1000)
#define KF_CMD_DETAIL_MAX 128 /* a cmd_result's detail, bytes */
#define KF_CMD_OUTPUT_MAX 256 /* a cmd_result's output (a hook's), bytes */

struct kf_cmd {
    char device_id[KF_DEVICE_ID_MAX + 1];
    char id[KF_CMD_ID_MAX + 1];
    uint64_t seq;      /* per device, from 1, never reused */
    int64_t issued_ms; /* server clock, UTC ms (the header's device time) */
    int64_t expires_ms;
    char kind[KF_CMD_KIND_MAX + 1];
    uint32_t nargs;
    char args[KF_CMD_ARGS_MAX][KF_CMD_ARG_MAX + 1];
};

/* Why a receiver refused a COMMAND (counted by the agent, reported in its HELLO). */
enum kf_cmd_refusal {
    KF_CMD_OK = 0,
    KF_CMD_MALFORMED,     /* "malformed": framing, kind, flags, body */
    KF_CMD_BAD_SIGNATURE, /* "bad_signature": not signed by the pinned server key */
    KF_CMD_OTHER_DEVICE,  /* "other_device": names another device */
    KF_CMD_EXPIRED,       /* "expired": past its expiry on the receiver's clock */
    KF_CMD_REPLAYED,      /* "replayed": seq at or below the highest accepted */
    KF_CMD_REFUSAL_COUNT_
};
const char *kf_cmd_refusal_name(int reason); /* NULL out of range */

/* The outcome a device reports in a cmd_result record. */
enum kf_cmd_status {
    KF_CMD_DONE = 1,    /* "done" */
    KF_CMD_FAILED = 2,  /* "failed" */
    KF_CMD_REFUSED = 3, /* "refused": stored, but not something this agent will run */
};
const char *kf_cmd_status_name(int status); /* NULL out of range */
int kf_cmd_status_parse(const char *s, int *ret);

/* 1 if s is a valid command id / kind / argument, else 0. */
int kf_cmd_id_ok(const char *s);
int kf_cmd_kind_ok(const char *s);
int kf_cmd_arg_ok(const char *s);

/* The command kinds this version defines, with their argument counts, so that a sender can
 * refuse a bad command before it is queued: 0 (known, arguments fit), -ENOENT (unknown
 * kind: an agent reports such a command "refused"), -EINVAL (wrong arguments). */
int kf_cmd_kind_check(const char *kind, uint32_t nargs, const char *const *args);
/* 1 if s is a SHA-256 as 64 lowercase hex digits (the `update` command's third argument). */
int kf_cmd_sha_hex_ok(const char *s);

/* The canonical body of cmd: a malloc'd NUL-terminated string in *ret (owned). -EINVAL
 * for a command whose fields break the rules above, -ENOMEM. */
int kf_cmd_body(const struct kf_cmd *cmd, char **ret);
/* Parse a body strictly (exactly the four keys, the types and bounds above) into the id,
 * kind, args and expiry of ret (the other fields untouched). -EBADMSG. */
int kf_cmd_body_parse(const char *json, size_t len, struct kf_cmd *ret);

/* Seal cmd for topic kf/v1/<cmd->device_id>/cmd with the server's secret key. Writes into
 * out (cap bytes; KF_ENV_FIXED_BYTES + 48 + KF_CMD_BODY_MAX + 64 is always enough). 0 and
 * *ret_len, -EINVAL (a field out of bounds, issued/expiry inconsistent), -EMSGSIZE. */
int kf_cmd_seal(const struct kf_cmd *cmd, const uint8_t server_sk[64], uint8_t *out, size_t cap,
                size_t *ret_len);

/* Open a COMMAND frame received on topic, for device_id, with the pinned server key, at
 * now_ms on the receiver's (corrected) clock. Returns KF_CMD_OK with *ret filled, or a
 * refusal (enum kf_cmd_refusal, > 0) and *ret untouched. Borrows everything. */
int kf_cmd_open(const uint8_t *buf, size_t len, const char *topic, const char *device_id,
                const uint8_t server_pk[32], int64_t now_ms, struct kf_cmd *ret);

#endif
