/* core/agent.h: one terminal's agent core on a caller-provided libuv loop.
 *
 * An agent owns its outbox and its link. Records come in through kf_agent_submit (the app
 * socket and kiosk-sim use the same call) and through the health hook; they leave the
 * outbox only when the server's ACK covers them. Batches are contiguous runs of the outbox
 * from send_seq, compressed, sealed and published QoS 1; at most inflight_max are unacked.
 * No ack progress for ack_timeout_ms, or a reconnect, rewinds send_seq to acked_seq + 1.
 *
 * Several agents may share one loop (kiosk-sim runs hundreds). Loop thread only.
 */
#ifndef KF_AGENT_CORE_AGENT_H
#define KF_AGENT_CORE_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kf/codec.h>
#include <kf/command.h>
#include <kf/inventory.h>
#include <kf/record.h>

#include "core/config.h"
#include "core/outbox.h"

struct kf_agent;

/* Fill *ret with a health sample taken at now_ms (type KF_REC_HEALTH). 0 or -errno. */
typedef int (*kf_agent_health_cb)(void *ud, int64_t now_ms, struct kf_record *ret);
/* The agent asks its program to stop and start it again (a restart-agent command, or a
 * set-config applied or rolled back): close the agent as on SIGTERM, then exec the program
 * anew. The command is durable before this is called. */
typedef void (*kf_agent_restart_cb)(void *ud);

struct kf_agent_opts {
    const char *uri;              /* NULL: cfg->uri. Borrowed during kf_agent_new. */
    const char *agent_name;       /* HELLO "agent"; NULL: "kiosk-agent/0.1.0" */
    struct kf_zctx *zctx;         /* borrowed, shared by agents on one loop; NULL: own one */
    kf_agent_health_cb health_cb; /* NULL: no periodic health samples */
    void *health_ud;
    uint32_t health_interval_s; /* 0: cfg->health_interval_s */
    uint64_t seed;              /* reconnect jitter; 0: random */
    /* The wall clock's base (kf_clock_base_ms) and the kernel boot id; NULL: the system's
     * (tests step a clock through these). */
    int64_t (*clock_base_cb)(void *ud);
    void *clock_ud;
    const char *kernel_boot_id;
    int outbox_process_durable; /* kf_outbox_limits.process_durable (kiosk-sim) */
    /* NULL: restart-agent and set-config are refused (kiosk-sim's agents share a process). */
    kf_agent_restart_cb restart_cb;
    void *restart_ud;
};

struct kf_agent_stats {
    struct kf_outbox_stats outbox;
    uint64_t send_seq; /* next seq to send */
    uint32_t inflight; /* batches sent and not yet acked */
    int online;        /* HELLO answered on the current session */
    int clock_synced;
    int64_t clock_offset_ms; /* server - local, last measured */
    uint64_t batches_sent;
    uint64_t records_sent;  /* including resends */
    uint64_t resends;       /* rewinds after an ack timeout or a reconnect */
    uint64_t acks;          /* acks applied */
    uint64_t acks_rejected; /* ignored: malformed, not ours, not ACK, bad signature */
    uint64_t acks_range;    /* ignored: hwm past anything we sent (-ERANGE) */
    uint64_t acks_stale;    /* applied, but too old to set the clock by (PROTOCOL.md 9) */
    uint64_t rebases;       /* outbox renumbered to follow the server (recreated outbox) */
    uint64_t health_sampled;
    uint64_t health_dropped; /* refused by the outbox this run (-ENOBUFS) */
    uint64_t connects, lost;
    uint64_t rotations; /* key rotations accepted by the server */
    /* The server's commands (persisted: since the outbox was made): the highest command seq
     * accepted, and those refused by reason (enum kf_cmd_refusal); this run: reported. */
    uint64_t cmd_high;
    uint64_t cmd_refused[KF_CMD_REFUSAL_COUNT_];
    uint64_t cmd_reported;
    uint64_t blob_chunks_sent; /* BLOB frames published (logs bundles) */
    uint64_t blob_resends;     /* times a bundle was sent again from what the server held */
    uint64_t update_fetches;   /* FETCH frames published (update commands) */
    uint64_t update_chunks;    /* PART chunks kept */
    uint64_t update_stalls;    /* times a download asked again after no progress */
};

/* Open the outbox, create the link (not connected yet). cfg and sk are copied (sk is wiped
 * on free). Returns an owned agent in *ret; 0 or -errno (outbox and Paho errors included). */
int kf_agent_new(uv_loop_t *loop, const struct kf_agent_config *cfg, const uint8_t sk[64],
                 const struct kf_agent_opts *opts, struct kf_agent **ret);

/* Start the timers and connect. 0 or -errno. */
int kf_agent_start(struct kf_agent *a);

/* Append one record (any type; a txn/periph/fault over the hard limits is -EDQUOT, a health
 * sample over max_health -ENOBUFS; a full disk is -ENOSPC). Borrows rec. 0 and *ret_seq
 * (may be NULL). A record with an app_id is kf_agent_submit_app's with ts_given: a repeat
 * gets 0 and the first seq, an app_id taken by another record -EEXIST. */
int kf_agent_submit(struct kf_agent *a, const struct kf_record *rec, uint64_t *ret_seq);

/* The application's record (the app socket): as kf_agent_submit, and a record with an
 * app_id takes it once (outbox.h, kf_outbox_append_app): 0, *ret_seq and *ret_taken (enum
 * kf_outbox_app_taken; NEW for a record without app_id), nothing stored unless NEW.
 * ts_given 0: the record's ts was stamped by the agent, not sent (kf_outbox_app_digest).
 * The look-up and the append are one transaction and the call returns when it is
 * committed, so no other line can come between them. Borrows rec. */
int kf_agent_submit_app(struct kf_agent *a, const struct kf_record *rec, int ts_given,
                        uint64_t *ret_seq, int *ret_taken);

/* Append n records in one transaction (all or nothing; health samples past max_health are
 * dropped and counted). *ret_first_seq is the seq of recs[0] when every record was
 * appended (seqs are then consecutive, recs[i] has first + i); 0 when a health sample was
 * dropped. A record with an app_id is -EINVAL here (ids are taken one at a time:
 * kf_agent_submit). Borrows recs. */
int kf_agent_submit_many(struct kf_agent *a, const struct kf_record *recs, size_t n,
                         size_t *ret_appended, uint64_t *ret_first_seq);

/* Key rotation (docs/PROTOCOL.md section 11). cb runs when the server has answered: reason
 * KF_IDENT_OK (enum kf_ident_refusal) means the server holds the new key as new_epoch; cb
 * must make that durable (enroll.h: kf_identity_save) before returning, and the agent signs
 * everything with the new key from then on, resending what was unacknowledged. */
typedef void (*kf_agent_rotated_cb)(void *ud, uint32_t new_epoch, int reason);
/* Ask the server to take new_sk (copied, wiped later) as key epoch current + 1. The request
 * is sent once the session is up and repeated every ack_timeout_ms until answered.
 * 0, or -EBUSY (a rotation is under way). */
int kf_agent_rotate(struct kf_agent *a, const uint8_t new_sk[64], kf_agent_rotated_cb cb, void *ud);

int kf_agent_stats(struct kf_agent *a, struct kf_agent_stats *ret);

/* The inventory in the HELLO (docs/PROTOCOL.md "HELLO", "inv"): the host's part (os,
 * kernel, cpu, memory, disk: core/inventory.h) and the application's part (its name and
 * version, its peripherals: the app socket's inventory line). Each call replaces its part
 * (borrowed, copied); the agent's own version is added. When the whole differs from what the
 * last HELLO said, a HELLO is sent again now (when online; the next connect's otherwise).
 * 0, or -EINVAL (a field out of bounds: nothing changes). */
int kf_agent_inventory_host(struct kf_agent *a, const struct kf_inventory *host);
int kf_agent_inventory_app(struct kf_agent *a, const char *app, const char *app_version,
                           const struct kf_inv_periph *periph, uint32_t nperiph);

/* Stop timers, disconnect, close everything, free the agent, then call cb (may be NULL)
 * from the loop. Nothing held in the outbox is lost: it is there at the next start. */
void kf_agent_close(struct kf_agent *a, void (*cb)(void *ud), void *ud);

#endif
