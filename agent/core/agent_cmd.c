/* core/agent_cmd.c: the server's commands (docs/AGENT.md "Commands", docs/PROTOCOL.md
 * "COMMAND"): opened and checked (kf/command.h), refused and counted, or stored before
 * anything is done (outbox.h: stored, running, reported, each step one transaction), run
 * one at a time in seq order, and reported as a cmd_result record in the normal sequence.
 *
 * The crash rule: a command is run at most once and reported exactly once. A probe or a
 * maintenance change is its records, appended in the transaction that reports it. A command
 * that acts outside the agent (a hook, a restart, a setting on trial) is marked running
 * before it acts; a run that finds one running after a restart does not run it again: it
 * reports what it can tell (restart-agent: done, the agent is running again; reboot: done
 * if the kernel boot changed, else failed; anything else: failed, interrupted). */
#include "core/agent_int.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/record.h>
#include <kf/time.h>

#define CMD_ARGV_MAX 16    /* words of a hook's command line */
#define CMD_DRAIN_MS 1000  /* after a hook exits, how long its output may still come */
#define CMD_RETRY_MS 10000 /* a report the outbox refused (full) is tried again */
#define CMD_RECS_MAX (2 + KF_PERIPH_COUNT_) /* a probe: health, peripherals, the result */

/* The clock a command's expiry is judged by: the server's, as far as it was measured. */
static int64_t cmd_now(const struct kf_agent *a)
{
    return kf_now_ms() + (a->clock_synced ? a->clock_offset_ms : 0);
}

/* Printable ASCII only: what a hook prints ends up in a record (no control characters) and
 * on an operator's screen. */
static void cmd_clean(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[n++] = c < 0x20 || c == 0x7f ? ' ' : c >= 0x80 ? '?' : (char)c;
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

static void cmd_retry_cb(uv_timer_t *t);

/* Report command seq (id) with status, after the records extra (its effects), in one
 * transaction with its state (outbox.h kf_outbox_cmd_finish). 0 or -errno (logged; the
 * command stays as it was and is tried again). */
int kf__agent_cmd_report(struct kf_agent *a, uint64_t seq, const char *id, const char *kind,
                         int status, const char *detail, const char *output,
                         const struct kf_record *extra, size_t nextra)
{
    struct kf_outbox_rec recs[CMD_RECS_MAX];
    static char arena[CMD_RECS_MAX][KF_RECORD_JSON_MAX + 1]; /* loop thread only */
    struct kf_record r;
    size_t n = 0, len;
    int rc;

    memset(&r, 0, sizeof(r));
    r.type = KF_REC_CMD_RESULT;
    r.ts_ms = kf_now_ms();
    snprintf(r.u.cmd_result.cmd, sizeof(r.u.cmd_result.cmd), "%s", kf_cmd_id_ok(id) ? id : "C-0");
    r.u.cmd_result.cmd_seq = seq;
    r.u.cmd_result.status = (uint8_t)status;
    cmd_clean(r.u.cmd_result.detail, sizeof(r.u.cmd_result.detail), detail, strlen(detail));
    if (output != NULL)
        cmd_clean(r.u.cmd_result.output, sizeof(r.u.cmd_result.output), output, strlen(output));
    for (size_t i = 0; i <= nextra && n < CMD_RECS_MAX; i++) {
        const struct kf_record *x = i < nextra ? &extra[i] : &r;

        rc = kf_record_format(x, arena[n], sizeof(arena[n]), &len);
        if (rc < 0)
            goto out_fail;
        recs[n] = (struct kf_outbox_rec){
            .type = x->type, .ts_ms = x->ts_ms, .json = arena[n], .json_len = len};
        n++;
    }
    kf_outbox_set_clock(a->ob, a->boot_no, kf__agent_clock_base(a));
    rc = kf_outbox_cmd_finish(a->ob, seq, recs, n);
    if (rc == -EALREADY)
        return 0; /* reported before (a retry after a failure that did commit) */
    if (rc < 0)
        goto out_fail;
    a->st.cmd_reported++;
    kf_notice("%s: command %s (%s): %s%s%s", a->cfg.device_id, r.u.cmd_result.cmd, kind,
              kf_cmd_status_name(status), r.u.cmd_result.detail[0] ? ": " : "",
              r.u.cmd_result.detail);
    if (a->online)
        kf__agent_flush(a, 1);
    return 0;
out_fail:
    kf_err("%s: command %s (%s): cannot store its result (%s): tried again in %d s",
           a->cfg.device_id, id, kind, kf_strerror(rc), CMD_RETRY_MS / 1000);
    return rc;
}

static void cmd_next(struct kf_agent *a);

void kf__agent_cmd_next(struct kf_agent *a)
{
    cmd_next(a);
}

/* ---- hooks (restart-app, reboot): fork/exec by libuv, no shell, bounded ---- */

static void cmd_hook_closed(uv_handle_t *h)
{
    struct kf_agent *a = h->data;

    if (h == (uv_handle_t *)&a->cmd_proc)
        a->cmd_proc_on = 0;
    else
        a->cmd_pipe_on = 0;
    if (a->closing) /* counted by kf__agent_cmd_close: may free a */
        kf__agent_handle_closed(h);
}

static void cmd_hook_done(struct kf_agent *a)
{
    char detail[KF_CMD_DETAIL_MAX + 1];
    int reboot = strcmp(a->cmd.kind, "reboot") == 0;
    int ok = !a->cmd_timed_out && a->cmd_exit == 0;

    uv_timer_stop(&a->cmd_timer);
    if (a->cmd_pipe_on && !uv_is_closing((uv_handle_t *)&a->cmd_pipe))
        uv_close((uv_handle_t *)&a->cmd_pipe, cmd_hook_closed);
    if (a->cmd_proc_on && !uv_is_closing((uv_handle_t *)&a->cmd_proc))
        uv_close((uv_handle_t *)&a->cmd_proc, cmd_hook_closed);
    a->cmd_out[a->cmd_out_len] = '\0';
    if (a->cmd_timed_out)
        snprintf(detail, sizeof(detail), "the hook ran past %" PRIu32 " s: killed",
                 a->cfg.hook_timeout_s);
    else if (a->cmd_exit < 0)
        snprintf(detail, sizeof(detail), "the hook was killed by signal %" PRId64, -a->cmd_exit);
    else
        snprintf(detail, sizeof(detail), "the hook exited with %" PRId64, a->cmd_exit);
    if (ok && reboot) {
        /* The terminal should go down now: the next run, in a new kernel boot, reports it
         * done. If it does not within the timeout, it failed. */
        a->cmd_exit = -1000;
        uv_timer_start(&a->cmd_timer, cmd_retry_cb, (uint64_t)a->cfg.hook_timeout_s * 1000, 0);
        return;
    }
    if (kf__agent_cmd_report(a, a->cmd.seq, a->cmd.id, a->cmd.kind,
                             ok ? KF_CMD_DONE : KF_CMD_FAILED, detail, a->cmd_out, NULL, 0) < 0) {
        uv_timer_start(&a->cmd_timer, cmd_retry_cb, CMD_RETRY_MS, 0);
        a->cmd_exit = -2000; /* the report is what is left to do */
        return;
    }
    a->cmd_seq = 0;
    cmd_next(a);
}

static void cmd_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char scratch[1024];
    (void)h;
    (void)hint;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void cmd_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct kf_agent *a = s->data;

    if (n > 0) {
        /* Keep the first KF_CMD_OUTPUT_MAX bytes; read and drop the rest. */
        size_t room = KF_CMD_OUTPUT_MAX - a->cmd_out_len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(a->cmd_out + a->cmd_out_len, buf->base, take);
        a->cmd_out_len += take;
        return;
    }
    if (n < 0) { /* EOF or an error: the output is over */
        uv_read_stop(s);
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, cmd_hook_closed);
        if (!a->cmd_proc_on || uv_is_closing((uv_handle_t *)&a->cmd_proc))
            return;
    }
}

static void cmd_exit_cb(uv_process_t *p, int64_t status, int signo)
{
    struct kf_agent *a = p->data;

    a->cmd_exit = signo != 0 ? -(int64_t)signo : status;
    uv_close((uv_handle_t *)p, cmd_hook_closed);
    /* Output still in the pipe has a moment to arrive (a child of the hook may hold the
     * pipe open for longer: it is not waited for). */
    uv_timer_start(&a->cmd_timer, cmd_retry_cb, a->cmd_pipe_on ? CMD_DRAIN_MS : 0, 0);
}

/* The timer of the running command: a hook past its time is killed; an exited hook's output
 * is over; a reboot that did not happen failed; a report that failed is tried again. With
 * nothing running, the queue is looked at again (a report that failed). */
static void cmd_retry_cb(uv_timer_t *t)
{
    struct kf_agent *a = t->data;
    char detail[KF_CMD_DETAIL_MAX + 1];

    if (a->closing)
        return;
    if (a->cmd_seq == 0) {
        cmd_next(a);
        return;
    }
    if (a->cmd_proc_on && !uv_is_closing((uv_handle_t *)&a->cmd_proc)) {
        a->cmd_timed_out = 1;
        uv_process_kill(&a->cmd_proc, SIGKILL);
        return; /* cmd_exit_cb follows */
    }
    if (a->cmd_exit == -1000) { /* reboot: the hook said yes, the terminal stayed up */
        snprintf(detail, sizeof(detail),
                 "the reboot hook exited 0 but the terminal did not reboot within %" PRIu32 " s",
                 a->cfg.hook_timeout_s);
        if (kf__agent_cmd_report(a, a->cmd.seq, a->cmd.id, a->cmd.kind, KF_CMD_FAILED, detail,
                                 a->cmd_out, NULL, 0) < 0) {
            uv_timer_start(&a->cmd_timer, cmd_retry_cb, CMD_RETRY_MS, 0);
            return;
        }
        a->cmd_seq = 0;
        cmd_next(a);
        return;
    }
    if (a->cmd_exit == -2000) { /* a hook's report the outbox refused */
        a->cmd_exit = 0;
        a->cmd_timed_out = 0;
    }
    cmd_hook_done(a);
}

static int cmd_hook(struct kf_agent *a, const struct kf_cmd *c, const char *line, const char *key)
{
    char words[KF_CFG_STR_MAX], detail[KF_CMD_DETAIL_MAX + 1];
    char *argv[CMD_ARGV_MAX + 1];
    uv_process_options_t o;
    uv_stdio_container_t io[3];
    int n = 0, rc;

    if (line[0] == '\0') {
        snprintf(detail, sizeof(detail), "no [commands] %s hook is configured on this terminal",
                 key);
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_REFUSED, detail, NULL, NULL,
                                    0);
    }
    /* The command line is split at blanks and run without a shell (no quoting, no
     * expansion): what the file says is what runs. */
    snprintf(words, sizeof(words), "%s", line);
    n = kf__agent_split_words(words, argv, CMD_ARGV_MAX);
    argv[n] = NULL;
    /* Running, durably, before anything happens outside the agent. */
    rc = kf_outbox_cmd_start(a->ob, c->seq, a->kboot, kf_now_ms());
    if (rc < 0)
        return rc;
    a->cmd = *c;
    a->cmd_seq = c->seq;
    a->cmd_out_len = 0;
    a->cmd_exit = 0;
    a->cmd_timed_out = 0;
    uv_pipe_init(a->loop, &a->cmd_pipe, 0);
    a->cmd_pipe.data = a;
    a->cmd_pipe_on = 1;
    memset(&o, 0, sizeof(o));
    memset(io, 0, sizeof(io));
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    io[1].data.stream = (uv_stream_t *)&a->cmd_pipe;
    io[2].flags = UV_INHERIT_FD;
    io[2].data.fd = 2;
    o.file = argv[0];
    o.args = argv;
    o.exit_cb = cmd_exit_cb;
    o.stdio = io;
    o.stdio_count = 3;
    a->cmd_proc.data = a;
    rc = n == 0 ? UV_EINVAL : uv_spawn(a->loop, &a->cmd_proc, &o);
    if (rc < 0) {
        uv_close((uv_handle_t *)&a->cmd_pipe, cmd_hook_closed);
        if (n > 0) /* uv_spawn's handle needs closing even when it failed */
            uv_close((uv_handle_t *)&a->cmd_proc, cmd_hook_closed);
        snprintf(detail, sizeof(detail), "the hook %s cannot run: %s", n ? argv[0] : "(empty)",
                 uv_strerror(rc));
        a->cmd_seq = 0;
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_FAILED, detail, NULL, NULL,
                                    0);
    }
    a->cmd_proc_on = 1;
    kf_notice("%s: command %s (%s): running %s", a->cfg.device_id, c->id, c->kind, line);
    uv_read_start((uv_stream_t *)&a->cmd_pipe, cmd_alloc_cb, cmd_read_cb);
    uv_timer_start(&a->cmd_timer, cmd_retry_cb, (uint64_t)a->cfg.hook_timeout_s * 1000, 0);
    return 0;
}

/* ---- the kinds ---- */

static int run_probe(struct kf_agent *a, const struct kf_cmd *c)
{
    struct kf_record recs[CMD_RECS_MAX - 1];
    char detail[KF_CMD_DETAIL_MAX + 1];
    size_t n = 0, np = 0;
    int64_t now = kf_now_ms();
    int health = 0;

    memset(recs, 0, sizeof(recs));
    if (a->health_cb != NULL && a->health_cb(a->health_ud, now, &recs[0]) == 0) {
        recs[0].type = KF_REC_HEALTH;
        recs[0].ts_ms = now;
        a->st.health_sampled++;
        health = 1;
        n++;
    }
    for (int d = 1; d <= KF_PERIPH_COUNT_; d++) {
        if (a->periph[d] == 0)
            continue;
        recs[n].type = KF_REC_PERIPH;
        recs[n].ts_ms = now;
        recs[n].u.periph.periph = (uint8_t)d;
        recs[n].u.periph.state = a->periph[d];
        n++;
        np++;
    }
    snprintf(detail, sizeof(detail),
             "%s and %zu peripheral state(s) as the application last gave them",
             health ? "a health sample" : "no health probe", np);
    return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_DONE, detail, NULL, recs, n);
}

static int run_maintenance(struct kf_agent *a, const struct kf_cmd *c)
{
    static char json[KF_RECORD_JSON_MAX + 1];
    struct kf_record m;
    const char *tech = c->nargs > 1 ? c->args[1] : "remote";
    size_t len;

    memset(&m, 0, sizeof(m));
    m.type = KF_REC_MAINT;
    m.ts_ms = kf_now_ms();
    m.u.maint.on = strcmp(c->args[0], "on") == 0;
    if (strlen(tech) < sizeof(m.u.maint.tech))
        memcpy(m.u.maint.tech, tech, strlen(tech) + 1);
    if (kf_record_format(&m, json, sizeof(json), &len) < 0)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_REFUSED,
                                    "not a technician id (1..31 of [A-Za-z0-9._:@-])", NULL, NULL,
                                    0);
    return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_DONE,
                                m.u.maint.on ? "maintenance mode on" : "maintenance mode off", NULL,
                                &m, 1);
}

static int run_restart_app(struct kf_agent *a, const struct kf_cmd *c)
{
    return cmd_hook(a, c, a->cfg.hook_restart_app, "restart_app");
}

static int run_reboot(struct kf_agent *a, const struct kf_cmd *c)
{
    return cmd_hook(a, c, a->cfg.hook_reboot, "reboot");
}

static int run_restart_agent(struct kf_agent *a, const struct kf_cmd *c)
{
    int rc;

    if (a->restart_cb == NULL)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_REFUSED,
                                    "this program cannot restart its agent", NULL, NULL, 0);
    rc = kf_outbox_cmd_start(a->ob, c->seq, a->kboot, kf_now_ms());
    if (rc < 0)
        return rc;
    a->cmd = *c;
    a->cmd_seq = c->seq; /* nothing else runs: the agent is on its way out */
    kf_notice("%s: command %s (restart-agent): restarting", a->cfg.device_id, c->id);
    a->restart_cb(a->restart_ud);
    return 0;
}

static int run_set_config(struct kf_agent *a, const struct kf_cmd *c)
{
    struct kf_agent_config *tmp;
    struct kf_outbox_conf oc;
    char err[256], prev[KF_CFG_STR_MAX];
    int rc;

    if (a->restart_cb == NULL)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_REFUSED,
                                    "this program cannot restart its agent to apply a setting",
                                    NULL, NULL, 0);
    if (a->trial_seq != 0)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_REFUSED,
                                    "another set-config is on trial", NULL, NULL, 0);
    tmp = malloc(sizeof(*tmp));
    if (tmp == NULL)
        return -ENOMEM;
    *tmp = a->cfg;
    err[0] = '\0';
    rc = kf_agent_config_set(tmp, c->args[0], c->args[1], prev, sizeof(prev), err, sizeof(err));
    free(tmp);
    if (rc < 0)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_REFUSED, err, NULL, NULL, 0);
    /* On trial: the new value and the one it replaces, durable with the command's state; the
     * next run applies it, and keeps it only once the server answers (kf__agent_cmd_online). */
    oc.key = c->args[0];
    oc.value = c->args[1];
    oc.prev = prev;
    oc.trial_seq = c->seq;
    oc.deadline_ms = kf_now_ms() + (int64_t)a->cfg.config_trial_s * 1000;
    rc = kf_outbox_conf_put(a->ob, &oc, c->seq, a->kboot, kf_now_ms());
    if (rc < 0)
        return rc;
    a->cmd = *c;
    a->cmd_seq = c->seq;
    kf_notice("%s: command %s (set-config): %s = %s on trial for %" PRIu32 " s: restarting",
              a->cfg.device_id, c->id, c->args[0], c->args[1], a->cfg.config_trial_s);
    a->restart_cb(a->restart_ud);
    return 0;
}

/* The kinds this agent runs: a new kind is a row here (and in kf/command.h's table). */
static const struct {
    const char *kind;
    int (*run)(struct kf_agent *a, const struct kf_cmd *c);
} kinds[] = {
    {"probe", run_probe},
    {"maintenance", run_maintenance},
    {"restart-app", run_restart_app},
    {"reboot", run_reboot},
    {"restart-agent", run_restart_agent},
    {"set-config", run_set_config},
    {"logs", kf__agent_logs_run},
    {"update", kf__agent_update_run},
};

static int cmd_run(struct kf_agent *a, const struct kf_cmd *c)
{
    const char *args[KF_CMD_ARGS_MAX];
    int rc;

    for (uint32_t i = 0; i < c->nargs; i++)
        args[i] = c->args[i];
    if (cmd_now(a) > c->expires_ms)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_FAILED,
                                    "expired before it could run", NULL, NULL, 0);
    rc = kf_cmd_kind_check(c->kind, c->nargs, args);
    for (size_t i = 0; rc == 0 && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kinds[i].kind, c->kind) == 0)
            return kinds[i].run(a, c);
    }
    return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_REFUSED,
                                rc == -EINVAL ? "wrong arguments for this kind"
                                              : "a kind this agent does not run",
                                NULL, NULL, 0);
}

/* A command found running by a new run of the agent: the crash rule (top of the file). */
static int cmd_interrupted(struct kf_agent *a, const struct kf_cmd *c, const char *boot_id)
{
    if (strcmp(c->kind, "restart-agent") == 0)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_DONE, "the agent restarted",
                                    NULL, NULL, 0);
    if (strcmp(c->kind, "reboot") == 0 && boot_id[0] != '\0' && a->kboot[0] != '\0' &&
        strcmp(boot_id, a->kboot) != 0)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_DONE, "the terminal rebooted",
                                    NULL, NULL, 0);
    return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_FAILED,
                                "interrupted: the agent stopped while it ran; not run again", NULL,
                                NULL, 0);
}

struct pick {
    uint64_t skip; /* the set-config on trial: decided by its trial, not here */
    int found;
    uint64_t seq;
    int64_t issued_ms;
    int state;
    char body[KF_CMD_BODY_MAX + 1];
    size_t body_len;
    char boot_id[64];
};

static int pick_cb(void *ud, const struct kf_outbox_cmd *c)
{
    struct pick *p = ud;

    if (c->seq == p->skip || c->body_len > KF_CMD_BODY_MAX)
        return 0;
    p->found = 1;
    p->seq = c->seq;
    p->issued_ms = c->issued_ms;
    p->state = c->state;
    memcpy(p->body, c->body, c->body_len);
    p->body[c->body_len] = '\0';
    p->body_len = c->body_len;
    snprintf(p->boot_id, sizeof(p->boot_id), "%s", c->boot_id);
    return 1;
}

/* Run (or settle) what is stored, one command at a time, until one runs on its own (a hook,
 * a restart) or nothing is left. */
static void cmd_next(struct kf_agent *a)
{
    static struct pick p; /* loop thread only; 2 KiB */
    struct kf_cmd c;
    int rc;

    while (!a->closing && a->cmd_seq == 0) {
        memset(&p, 0, sizeof(p));
        p.skip = a->trial_seq;
        if (kf_outbox_cmd_pending(a->ob, pick_cb, &p) < 0 || !p.found)
            return;
        memset(&c, 0, sizeof(c));
        snprintf(c.device_id, sizeof(c.device_id), "%s", a->cfg.device_id);
        c.seq = p.seq;
        c.issued_ms = p.issued_ms;
        if (kf_cmd_body_parse(p.body, p.body_len, &c) < 0) {
            /* Verified before it was stored: only a damaged file gets here. */
            snprintf(c.id, sizeof(c.id), "C-0");
            snprintf(c.kind, sizeof(c.kind), "unknown");
            rc = kf__agent_cmd_report(a, c.seq, c.id, c.kind, KF_CMD_FAILED,
                                      "stored command unreadable", NULL, NULL, 0);
        } else if (p.state == KF_OUTBOX_CMD_RUNNING && strcmp(c.kind, "update") == 0) {
            rc = kf__agent_update_run(a, &c); /* goes on from its step (agent_update.c) */
        } else if (p.state == KF_OUTBOX_CMD_RUNNING) {
            rc = cmd_interrupted(a, &c, p.boot_id);
        } else {
            rc = cmd_run(a, &c);
        }
        if (rc < 0) {
            if (a->cmd_seq == 0)
                uv_timer_start(&a->cmd_timer, cmd_retry_cb, CMD_RETRY_MS, 0);
            return;
        }
    }
}

/* ---- the session's side ---- */

void kf__agent_cmd_message(struct kf_agent *a, const char *topic, const uint8_t *payload,
                           size_t len)
{
    struct kf_env_view v;
    struct kf_cmd c;
    int reason, rc;

    reason = kf_cmd_open(payload, len, topic, a->cfg.device_id, a->cfg.server_pk, cmd_now(a), &c);
    if (reason == KF_CMD_OK && kf_env_parse(payload, len, &v) == 0) {
        rc = kf_outbox_cmd_accept(a->ob, &c, (const char *)v.body, v.body_len, kf_now_ms());
        if (rc == 0) {
            a->cmd_refusing = 0;
            kf_info("%s: command %s (%s, seq %" PRIu64 ") accepted", a->cfg.device_id, c.id, c.kind,
                    c.seq);
            /* A HELLO says what it has accepted (its "cmd" high mark): the server marks the
             * command received and stops sending it. */
            if (a->online)
                kf__agent_send_hello(a);
            cmd_next(a);
            return;
        }
        if (rc != -EALREADY) {
            /* Not stored, so not seen: the server sends it again. */
            kf_err("%s: command %s: cannot store it: %s", a->cfg.device_id, c.id, kf_strerror(rc));
            return;
        }
        reason = KF_CMD_REPLAYED; /* counted by the accept, in its transaction */
    } else if (reason != KF_CMD_OK) {
        (void)kf_outbox_cmd_refused(a->ob, reason);
    }
    if (a->cmd_refusing++ == 0)
        kf_warn("%s: refused a command on %s: %s (counted; logged once until one is accepted)",
                a->cfg.device_id, topic, kf_cmd_refusal_name(reason));
}

int kf__agent_cmd_hello(struct kf_agent *a, char *buf, size_t cap)
{
    uint64_t high = 0, n[KF_CMD_REFUSAL_COUNT_];
    int len;

    if (kf_outbox_cmd_counters(a->ob, &high, n) < 0)
        return -1;
    len = snprintf(buf, cap,
                   "{\"high\":%" PRIu64 ",\"refused\":{\"bad_signature\":%" PRIu64
                   ",\"expired\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"other_device\":%" PRIu64
                   ",\"replayed\":%" PRIu64 "}}",
                   high, n[KF_CMD_BAD_SIGNATURE], n[KF_CMD_EXPIRED], n[KF_CMD_MALFORMED],
                   n[KF_CMD_OTHER_DEVICE], n[KF_CMD_REPLAYED]);
    return len < 0 || (size_t)len >= cap ? -1 : len;
}

/* ---- set-config on trial ---- */

static void trial_end(struct kf_agent *a, int keep)
{
    struct kf_record r;
    struct kf_outbox_rec rec;
    char json[KF_RECORD_JSON_MAX + 1];
    size_t len;
    int rc;

    if (a->trial_seq == 0)
        return;
    memset(&r, 0, sizeof(r));
    r.type = KF_REC_CMD_RESULT;
    r.ts_ms = kf_now_ms();
    snprintf(r.u.cmd_result.cmd, sizeof(r.u.cmd_result.cmd), "%s", a->cmd.id);
    r.u.cmd_result.cmd_seq = a->trial_seq;
    r.u.cmd_result.status = keep ? KF_CMD_DONE : KF_CMD_FAILED;
    snprintf(r.u.cmd_result.detail, sizeof(r.u.cmd_result.detail),
             keep ? "%s set: the server answered with it"
                  : "%s rolled back: no answer from the server within the trial",
             a->trial_key);
    if (kf_record_format(&r, json, sizeof(json), &len) < 0)
        return;
    rec = (struct kf_outbox_rec){.type = r.type, .ts_ms = r.ts_ms, .json = json, .json_len = len};
    kf_outbox_set_clock(a->ob, a->boot_no, kf__agent_clock_base(a));
    rc = kf_outbox_conf_end(a->ob, a->trial_key, keep, a->trial_seq, &rec);
    if (rc < 0) {
        kf_err("%s: set-config %s: cannot end its trial: %s", a->cfg.device_id, a->trial_key,
               kf_strerror(rc));
        return;
    }
    kf_notice("%s: command %s (set-config): %s %s", a->cfg.device_id, a->cmd.id, a->trial_key,
              keep ? "kept: the server answered" : "rolled back: no server within the trial");
    a->st.cmd_reported++;
    a->trial_seq = 0;
    uv_timer_stop(&a->trial_timer);
    if (keep) {
        cmd_next(a);
        return;
    }
    /* Back to the value it replaced: a new run reads it (the rollback is durable). */
    if (a->restart_cb != NULL)
        a->restart_cb(a->restart_ud);
}

static void trial_timer_cb(uv_timer_t *t)
{
    trial_end(t->data, 0);
}

void kf__agent_cmd_online(struct kf_agent *a)
{
    trial_end(a, 1);
}

/* ---- lifecycle ---- */

struct conf_load {
    struct kf_agent *a;
    int rc;
};

static int conf_apply(void *ud, const struct kf_outbox_conf *c)
{
    struct conf_load *l = ud;
    struct kf_agent *a = l->a;
    char err[256];

    if (kf_agent_config_set(&a->cfg, c->key, c->value, NULL, 0, err, sizeof(err)) < 0) {
        /* A setting this version refuses (its bounds changed): the file's value stays. */
        kf_warn("%s: set-config %s = %s is not applied: %s", a->cfg.device_id, c->key, c->value,
                err);
        return 0;
    }
    if (c->trial_seq != 0) {
        a->trial_seq = c->trial_seq;
        a->trial_deadline_ms = c->deadline_ms;
        snprintf(a->trial_key, sizeof(a->trial_key), "%s", c->key);
    }
    kf_notice("%s: %s = %s (set by the server%s)", a->cfg.device_id, c->key, c->value,
              c->trial_seq != 0 ? ", on trial until the server answers" : "");
    return 0;
}

static int trial_cmd(void *ud, const struct kf_outbox_cmd *c)
{
    struct kf_agent *a = ud;

    if (c->seq != a->trial_seq)
        return 0;
    memset(&a->cmd, 0, sizeof(a->cmd));
    a->cmd.seq = c->seq;
    if (kf_cmd_body_parse(c->body, c->body_len, &a->cmd) < 0)
        snprintf(a->cmd.id, sizeof(a->cmd.id), "C-0");
    return 1;
}

int kf__agent_cmd_init(struct kf_agent *a)
{
    struct conf_load l = {a, 0};
    int rc;

    rc = kf_outbox_conf_each(a->ob, conf_apply, &l);
    if (rc == 0 && a->trial_seq != 0)
        rc = kf_outbox_cmd_pending(a->ob, trial_cmd, a);
    if (rc < 0)
        return rc;
    if (a->trial_seq != 0 && a->cmd.seq != a->trial_seq)
        a->trial_seq = 0; /* its command was reported already: nothing on trial */
    return 0;
}

void kf__agent_cmd_timers(struct kf_agent *a)
{
    uv_timer_init(a->loop, &a->cmd_timer);
    a->cmd_timer.data = a;
    uv_timer_init(a->loop, &a->trial_timer);
    a->trial_timer.data = a;
}

void kf__agent_cmd_start(struct kf_agent *a)
{
    if (a->trial_seq != 0) {
        int64_t left = a->trial_deadline_ms - kf_now_ms();
        uv_timer_start(&a->trial_timer, trial_timer_cb, left > 0 ? (uint64_t)left : 0, 0);
    }
    kf__agent_update_sweep(a);
    cmd_next(a);
}

int kf__agent_cmd_close(struct kf_agent *a)
{
    int n = 2;

    uv_timer_stop(&a->cmd_timer);
    uv_timer_stop(&a->trial_timer);
    uv_close((uv_handle_t *)&a->cmd_timer, kf__agent_handle_closed);
    uv_close((uv_handle_t *)&a->trial_timer, kf__agent_handle_closed);
    /* A hook still running is left to finish on its own (a restart of the application
     * should not be cut short by the agent's own restart); its command is marked running,
     * and the next run reports it interrupted. */
    /* A handle already closing (its hook just ended) closes on cmd_hook_closed, which runs
     * after this turn and hands on to kf__agent_handle_closed: counted too, so the agent is not
     * freed before. */
    n += kf__agent_close_hook((uv_handle_t *)&a->cmd_pipe, &a->cmd_pipe_on);
    n += kf__agent_close_hook((uv_handle_t *)&a->cmd_proc, &a->cmd_proc_on);
    return n;
}
