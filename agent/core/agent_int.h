/* core/agent_int.h: the agent's state, and what its three files share: agent.c (lifecycle,
 * submissions, timers), agent_frame.c (frames: headers, clock offsets, batches, HELLO) and
 * agent_session.c (the link's callbacks: the session, ACKs and the clock, key rotation).
 * Not for use outside the agent. Loop thread only, as agent.h.
 */
#ifndef KF_AGENT_CORE_AGENT_INT_H
#define KF_AGENT_CORE_AGENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kf/codec.h>
#include <kf/command.h>
#include <kf/envelope.h>
#include <kf/ident.h>
#include <kf/manifest.h>
#include <kf/topic.h>

#include "core/agent.h"
#include "core/link.h"

#define KF__AGENT_INFLIGHT_CAP 64 /* the config bound of [batch] inflight_max */

struct kf_agent {
    uv_loop_t *loop;
    struct kf_agent_config cfg;
    uint8_t sk[64];
    /* The MAC keys of the server's ACKs (kf_ack_key_device): for key epoch cfg.key_epoch,
     * and for the epoch before a rotation, whose ACKs may still be on their way. */
    uint8_t ack_key[KF_ACK_KEY_BYTES];
    uint8_t ack_key_prev[KF_ACK_KEY_BYTES];
    uint32_t ack_epoch_prev; /* 0: none */
    struct kf_outbox *ob;
    struct kf_agent_link *link;
    struct kf_zctx *zctx;
    int own_zctx;
    uv_timer_t flush_timer;
    uv_timer_t health_timer;
    kf_agent_health_cb health_cb;
    void *health_ud;
    uint32_t health_interval_s;
    char agent_name[64];
    char boot_id[17];
    char t_hello[KF_TOPIC_MAX], t_telemetry[KF_TOPIC_MAX], t_events[KF_TOPIC_MAX];
    char t_state[KF_TOPIC_MAX], t_ack[KF_TOPIC_MAX], t_enroll[KF_TOPIC_MAX];
    char t_cmd[KF_TOPIC_MAX];
    char kboot[64]; /* the kernel boot id ("" unknown): a reboot command's proof */

    /* The server's commands (agent_cmd.c): one runs at a time, in seq order. */
    kf_agent_restart_cb restart_cb;
    void *restart_ud;
    uint64_t cmd_refusing; /* refused in a row, for the log */
    uint64_t cmd_seq;      /* the command running now; 0: none */
    struct kf_cmd cmd;     /* its fields */
    uv_timer_t cmd_timer;  /* its hook's timeout, or the wait for a reboot */
    uv_process_t cmd_proc; /* its hook, while cmd_proc_on */
    uv_pipe_t cmd_pipe;    /* the hook's stdout and stderr, while cmd_pipe_on */
    int cmd_proc_on, cmd_pipe_on, cmd_timed_out;
    int64_t cmd_exit; /* the hook's exit status; -signal when killed */
    char cmd_out[KF_CMD_OUTPUT_MAX + 1];
    size_t cmd_out_len;
    uv_timer_t trial_timer; /* a set-config on trial: its deadline */
    char trial_key[64];
    uint64_t trial_seq; /* 0: no trial */
    int64_t trial_deadline_ms;
    uint8_t periph[KF_PERIPH_COUNT_ + 1]; /* the last state the app gave each (0: none) */

    /* The inventory (agent_inv.c): the host's and the app's parts, and the HELLO's "inv" as
     * last rendered ("" none yet). */
    struct kf_inventory inv;
    char inv_json[KF_INV_JSON_MAX];
    /* The logs command (agent_logs.c): its collector while it runs, and the bundles'
     * transfer to the server (one bundle at a time, a window of chunks in flight). */
    uv_process_t logs_proc;
    uv_pipe_t logs_pipe;
    uv_timer_t logs_timer; /* the collector's timeout, then the output's drain */
    int logs_proc_on, logs_pipe_on, logs_running, logs_timed_out, logs_exited;
    int64_t logs_exit;
    uint8_t *logs_buf; /* cfg.log_max_bytes, while collecting */
    size_t logs_len;
    int logs_truncated;
    uint32_t logs_span_s;
    void *logs_zwork;      /* the compression on the pool, while it runs */
    uv_timer_t blob_timer; /* no progress within this time: send again from what is held */
    uint64_t blob_seq;     /* the bundle being sent (its command's seq); 0: none */
    uint32_t blob_next, blob_have, blob_nchunks;
    char t_blob[KF_TOPIC_MAX];
    /* The update command (agent_update.c): its download, its hook (install or rollback),
     * its health check; the step is also on file (DIR/update-N.step) once it acts. */
    int upd_step;                  /* agent_update.c's enum upd_step; 0: no update running */
    char upd_dir[KF_CFG_PATH_MAX]; /* the outbox's directory: downloads and kept packages */
    struct kf_upd_dl *upd_dl;      /* the download, while the update runs */
    struct kf_manifest upd_m;      /* its manifest, once verified */
    uv_timer_t upd_timer; /* fetch stall, the hook's time and drain, health deadline, retry */
    uv_process_t upd_proc;
    int upd_proc_on, upd_hook_running, upd_timed_out, upd_exited;
    int64_t upd_exit;
    char upd_hook_out[KF_CMD_OUTPUT_MAX + 1]; /* its first output (DIR/update-N.log) */
    int64_t upd_log_at;                       /* where this run's output starts in the log */
    int upd_pid;                              /* the install hook's pid (0: unknown) */
    uint64_t upd_pid_start;                   /* and its start time (/proc/PID/stat) */
    uint32_t upd_want_end;                    /* the window asked for ends before this chunk */
    int upd_checks;        /* whole downloads that did not match their manifest */
    int upd_installing;    /* past the download: the outcome is kept on file */
    int upd_rb_pending;    /* the rollback's hook waits for the install's handles */
    int upd_restarting;    /* the agent's package installed: restarting into it */
    int upd_restart_after; /* the agent's package rolled back: restart once reported */
    char upd_rb_path[KF_CFG_PATH_MAX + 160];
    char upd_why[KF_CMD_DETAIL_MAX + 1]; /* why it is rolled back */
    int64_t upd_since_ms;    /* health: the application reports in after this (wall clock) */
    int64_t upd_deadline_ms; /* health: by this (wall clock) */
    int64_t upd_app_ms;      /* the application's last inventory line (wall clock; 0: none) */
    int upd_status;          /* the result being reported */
    char upd_detail[KF_CMD_DETAIL_MAX + 1];
    char upd_out[KF_CMD_OUTPUT_MAX + 1];
    void *upd_work; /* the package's check on the pool, while it runs */

    /* key rotation under way */
    int rot_active;
    uint8_t rot_sk[64];
    uint32_t rot_epoch;
    uint64_t rot_sent_ms; /* uv_now of the last request; 0: not sent on this session */
    kf_agent_rotated_cb rot_cb;
    void *rot_ud;

    uint64_t acks_refusing;     /* messages on the ack topic refused since one was applied */
    int online;                 /* the HELLO of this session was answered */
    uint64_t hello_sent_ms;     /* uv_now; 0: none pending */
    int64_t will_ms;            /* device time sealed into this connection's will */
    int64_t last_ack_server_ms; /* server time of the newest ACK taken for the clock */
    uint64_t send_seq;          /* next seq to send */
    uint64_t inflight_end[KF__AGENT_INFLIGHT_CAP]; /* last seq of each unacked batch, in order */
    uint32_t inflight_n;
    uint64_t last_progress_ms; /* uv_now of the last ack progress (or first send) */
    uint64_t pending_bytes;    /* JSON appended since everything was last sent */
    int clock_synced;
    int64_t clock_offset_ms;    /* server - local wall clock, measured at clock_base_ms */
    int64_t clock_base_ms;      /* the wall clock's base then (kf_clock_base_ms) */
    int clock_saved;            /* a measurement is kept in the outbox for this boot */
    int64_t clock_saved_off_ms; /* its offset + base: all a correction depends on */
    uint32_t boot_no;           /* the kernel boot's number in the outbox; 0: unknown */
    int64_t (*clock_base_cb)(void *ud);
    void *clock_ud;
    struct kf_agent_stats st;

    int closing;
    int close_pending;
    void (*close_cb)(void *ud);
    void *close_ud;
};

/* ---- frames (agent_frame.c) ---- */

/* The wall clock's base now (kf_clock_base_ms, or the test's clock). */
int64_t kf__agent_clock_base(const struct kf_agent *a);
/* A header of kind stamped now, with the clock offset in force now. */
void kf__agent_header(const struct kf_agent *a, struct kf_env_header *h, uint8_t kind);
/* Seal a small uncompressed frame (HELLO, STATE) into out (cap); device_ms 0: now. */
int kf__agent_seal_small(struct kf_agent *a, uint8_t kind, uint64_t seq, const char *topic,
                         const char *body, int64_t device_ms, uint8_t *out, size_t cap,
                         size_t *ret_len);
/* The same, published QoS 1. 0 or -errno (-ENOTCONN: no session). */
int kf__agent_publish_small(struct kf_agent *a, uint8_t kind, uint64_t seq, const char *topic,
                            const char *body, int64_t device_ms, int retained);
/* Send batches from send_seq while the window allows. force: also a partial last batch. */
void kf__agent_flush(struct kf_agent *a, int force);
/* HELLO: who we are and what the outbox holds; its answer starts the sending. */
void kf__agent_send_hello(struct kf_agent *a);

/* ---- the session (agent_session.c) ---- */

/* Create a->link (not started) with the agent's callbacks. 0 or -errno. */
int kf__agent_link_new(struct kf_agent *a, const struct kf_agent_opts *opts);
/* Send the pending key rotation request (again). */
void kf__agent_rotation_send(struct kf_agent *a);

/* ---- the server's commands (agent_cmd.c) ---- */

/* Before the link exists: the settings set-config changed, applied to a->cfg (a trial
 * noted, to be decided when the session is up or the deadline passes). 0 or -errno. */
int kf__agent_cmd_init(struct kf_agent *a);
/* With the agent's other handles: the commands' timers. */
void kf__agent_cmd_timers(struct kf_agent *a);
/* With the loop running: the commands a previous run left (the crash rule), then the trial's
 * timer. */
void kf__agent_cmd_start(struct kf_agent *a);
/* A message on the cmd topic. */
void kf__agent_cmd_message(struct kf_agent *a, const char *topic, const uint8_t *payload,
                           size_t len);
/* The HELLO was answered: a set-config on trial reached the server. */
void kf__agent_cmd_online(struct kf_agent *a);
/* The HELLO's "cmd" object: {"high":N,"refused":{...}} into buf; its length or -1. */
int kf__agent_cmd_hello(struct kf_agent *a, char *buf, size_t cap);
/* ---- the inventory (agent_inv.c) ---- */

/* The HELLO's "inv" object, or NULL when nothing is known yet. */
const char *kf__agent_inv_hello(const struct kf_agent *a);

/* One of the handles (or pool works) kf_agent_close counted has closed; h->data is the
 * agent. The last one frees the agent. A module's own close callback, or a pool work's after
 * callback, calls this once the agent is closing (a->closing). */
void kf__agent_handle_closed(uv_handle_t *h);
/* Close a hook's handle h (open while *on) for kf_agent_close: with kf__agent_handle_closed,
 * *on cleared, when it is not closing yet; one already closing on its own callback, which
 * hands on to kf__agent_handle_closed once the agent is closing. Returns 1 (counted) when
 * *on, else 0. */
int kf__agent_close_hook(uv_handle_t *h, int *on);
/* Split a hook's command line in place at blanks (no shell: no quoting, no expansion; what
 * the file says is what runs) into at most max words in argv. Returns how many. */
int kf__agent_split_words(char *words, char **argv, int max);
/* Close the handles the commands hold; returns how many close callbacks will come. */
int kf__agent_cmd_close(struct kf_agent *a);
/* Run (or settle) the stored commands, one at a time (after one that ran on its own ended). */
void kf__agent_cmd_next(struct kf_agent *a);
/* Report command seq (id, kind) with status, detail and a hook's output (may be NULL), after
 * the records extra (nextra, its effects), in one transaction with its state. 0 (also when it
 * was reported before), or -errno (logged; the caller tries again). */
int kf__agent_cmd_report(struct kf_agent *a, uint64_t seq, const char *id, const char *kind,
                         int status, const char *detail, const char *output,
                         const struct kf_record *extra, size_t nextra);

/* ---- the update command (agent_update.c) ---- */

struct kf_upd_dl;
/* Run an update command, or go on with one a previous run started (its step on file). 0 or
 * -errno (tried again). */
int kf__agent_update_run(struct kf_agent *a, const struct kf_cmd *c);
/* With the agent's other handles: the update's timer and directory. */
void kf__agent_update_timers(struct kf_agent *a);
/* A PART whose MAC verified. */
void kf__agent_update_part(struct kf_agent *a, const struct kf_env_view *v);
/* The session is answered: ask again for what the download lacks; a health check may pass. */
void kf__agent_update_online(struct kf_agent *a);
/* The application sent an inventory line (it reports in). */
void kf__agent_update_app(struct kf_agent *a);
/* Before the stored commands run: remove the files of update commands already reported (a
 * crash between the report and the removal leaves them). */
void kf__agent_update_sweep(struct kf_agent *a);
/* Look at the health check again. */
void kf__agent_update_poke(struct kf_agent *a);
/* Close the handles; returns how many close callbacks will come. */
int kf__agent_update_close(struct kf_agent *a);

/* ---- the logs command and bundles (agent_logs.c) ---- */

/* Run a logs command (checked by kf_cmd_kind_check). 0 or -errno (tried again). */
int kf__agent_logs_run(struct kf_agent *a, const struct kf_cmd *c);
/* With the agent's other handles: the logs' timers. */
void kf__agent_logs_timers(struct kf_agent *a);
/* The session is answered: send held bundles from what the server said it holds. */
void kf__agent_blob_online(struct kf_agent *a);
/* A BLOB_ACK whose MAC verified. */
void kf__agent_blob_ack(struct kf_agent *a, const struct kf_env_view *v);
/* Close the handles; returns how many close callbacks will come. */
int kf__agent_logs_close(struct kf_agent *a);

#endif
