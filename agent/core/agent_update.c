/* core/agent_update.c: the update command (docs/AGENT.md "Updates", docs/PROTOCOL.md
 * "FETCH", "PART", section 14): an artifact fetched through update_dl.h, checked, installed
 * through [update] install_hook, health-checked, and reinstalled from the previous package
 * when it fails.
 *
 * The steps and what a kill -9 at any instant leaves (the command was stored before any of
 * them, agent_cmd.c):
 *   fetch    the command is STORED; its files (update_dl.h) are the state: a new run resumes
 *            the download from the last synced window. Nothing outside the agent happened.
 *   check    the package hashed against the manifest, on libuv's pool. Same as fetch.
 *   install  marked RUNNING in the outbox, then DIR/update-N.step says "install" (synced),
 *            then the hook runs. A run that finds "install" never runs the hook again: the
 *            hook may have finished or not (an agent package's own install restarts the
 *            agent), so it goes on with the health check, which decides.
 *   health   "health DEADLINE SINCE": healthy once the session is up (a HELLO answered) and,
 *            for the application's package, the application sent an inventory line after
 *            SINCE (it does after every connect: a restarted application reports in). A new
 *            agent process (the agent's own package) finishes this from the file.
 *   rollback "rollback": the hook runs once with the package kept from the last good update
 *            of that name (DIR/installed-NAME names its version, DIR/installed-NAME_V.deb is
 *            it); a run that finds "rollback" does not run it again and reports failed.
 *   report   "report STATUS" and the detail: the result, reported by a new run if this one
 *            died before its transaction (agent_cmd.c kf__agent_cmd_report: exactly once).
 * A healthy package becomes the kept one (renamed, then DIR/installed-NAME replaced: the
 * commit point) before it is reported done. The files of a command are removed once it is
 * reported. The files themselves: update_state.h. */
#include "core/agent_int.h"
#include "core/update_dl.h"
#include "core/update_state.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/time.h>

#define UPD_STALL_MS 10000 /* no PART for this long: ask again from the first chunk lacking */
#define UPD_RETRY_MS 10000 /* a report the outbox refused is tried again */
#define UPD_ARGV_MAX 16    /* words of the hook's command line, the package's path included */
#define UPD_CHECKS_MAX 2   /* whole downloads that do not match their manifest, then failed */

enum upd_step {
    UPD_IDLE = 0,
    UPD_FETCH,
    UPD_CHECK,
    UPD_INSTALL,
    UPD_HEALTH,
    UPD_ROLLBACK,
    UPD_REPORT,
    UPD_WAIT, /* a previous run's install hook still runs: the health check waits for it */
};

/* A detail: truncated where it must be (a cmd_result's detail is 128 bytes). */
static void say(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

/* ---- files (update_state.h) ---- */

/* Write the step reached, with the fields the agent holds for it. */
static int step_put(struct kf_agent *a, int kind, int status, const char *detail)
{
    struct kf_upd_step st;

    memset(&st, 0, sizeof(st));
    st.kind = kind;
    st.deadline_ms = a->upd_deadline_ms;
    st.since_ms = a->upd_since_ms;
    st.status = status;
    st.pid = a->upd_pid;
    st.pid_start = a->upd_pid_start;
    say(st.detail, sizeof(st.detail), "%s", detail);
    return kf_upd_step_put(a->upd_dir, a->cmd_seq, &st);
}

/* 1 if the update is of this agent's own package ([update] agent_package). */
static int upd_is_agent(const struct kf_agent *a)
{
    return strcmp(a->upd_m.name, a->cfg.agent_package) == 0;
}

static void upd_timer_cb(uv_timer_t *t);

/* The agent's program starts again (restart_cb), once the hook's handle is closed: the
 * agent is freed by the close, and the handle's own close callback must not come after. */
static void upd_restart(struct kf_agent *a)
{
    a->upd_restarting = 1;
    uv_timer_start(&a->upd_timer, upd_timer_cb, 10, 0);
}

/* ---- reporting ---- */

/* The result, reported (kf__agent_cmd_report); then the command's files go and the next
 * command may run. A report the outbox refused is tried again (UPD_REPORT). */
static void upd_finish(struct kf_agent *a, int status, const char *detail, const char *output)
{
    if (a->upd_step != UPD_REPORT) {
        a->upd_status = status;
        say(a->upd_detail, sizeof(a->upd_detail), "%s", detail);
        snprintf(a->upd_out, sizeof(a->upd_out), "%s", output != NULL ? output : "");
        /* Only once something may have happened outside the agent does a new run need to
         * know the outcome: before that, the command is run again from its files. */
        if (a->upd_installing)
            (void)step_put(a, KF_UPD_STEP_REPORT, status, a->upd_detail);
    }
    a->upd_step = UPD_REPORT;
    uv_timer_stop(&a->upd_timer);
    if (kf__agent_cmd_report(a, a->cmd.seq, a->cmd.id, a->cmd.kind, a->upd_status, a->upd_detail,
                             a->upd_out[0] ? a->upd_out : NULL, NULL, 0) < 0) {
        uv_timer_start(&a->upd_timer, upd_timer_cb, UPD_RETRY_MS, 0);
        return;
    }
    kf_upd_dl_close(a->upd_dl);
    a->upd_dl = NULL;
    kf_upd_dl_remove(a->upd_dir, a->cmd_seq);
    kf_upd_step_remove(a->upd_dir, a->cmd_seq);
    a->upd_step = UPD_IDLE;
    a->upd_installing = 0;
    a->cmd_seq = 0;
    if (a->upd_restart_after) {
        a->upd_restart_after = 0;
        kf_notice("%s: restarting into the agent package rolled back to", a->cfg.device_id);
        upd_restart(a);
        return;
    }
    kf__agent_cmd_next(a);
}

/* ---- the hook: fork/exec by libuv, no shell, bounded ---- */

static void upd_closed(uv_handle_t *h)
{
    struct kf_agent *a = h->data;

    a->upd_proc_on = 0;
    if (a->closing) /* counted by kf__agent_update_close: may free a */
        kf__agent_handle_closed(h);
}

static void upd_hook_done(struct kf_agent *a);

static void upd_exit_cb(uv_process_t *p, int64_t status, int signo)
{
    struct kf_agent *a = p->data;

    a->upd_exit = signo != 0 ? -(int64_t)signo : status;
    a->upd_exited = 1;
    uv_close((uv_handle_t *)p, upd_closed);
    upd_hook_done(a);
}

/* Run the hook with the package at path: 0, or a libuv error (nothing ran). */
static int upd_spawn(struct kf_agent *a, const char *path)
{
    static char words[KF_CFG_STR_MAX], pkg[KF_CFG_PATH_MAX + 160]; /* loop thread only */
    char *argv[UPD_ARGV_MAX + 1], log[KF_CFG_PATH_MAX + 64];
    uv_process_options_t o;
    uv_stdio_container_t io[3];
    off_t at;
    int n = 0, fd, rc;

    snprintf(words, sizeof(words), "%s", a->cfg.install_hook);
    snprintf(pkg, sizeof(pkg), "%s", path);
    n = kf__agent_split_words(words, argv, UPD_ARGV_MAX - 1);
    if (n == 0)
        return UV_EINVAL;
    argv[n++] = pkg;
    argv[n] = NULL;
    if (kf_upd_log_path(a->upd_dir, a->cmd_seq, log, sizeof(log)) < 0)
        return UV_ENAMETOOLONG;
    fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    at = lseek(fd, 0, SEEK_END);
    a->upd_log_at = at > 0 ? at : 0;
    a->upd_hook_out[0] = '\0';
    a->upd_exit = 0;
    a->upd_exited = 0;
    a->upd_timed_out = 0;
    memset(&o, 0, sizeof(o));
    memset(io, 0, sizeof(io));
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_INHERIT_FD;
    io[1].data.fd = fd;
    io[2].flags = UV_INHERIT_FD;
    io[2].data.fd = fd;
    o.file = argv[0];
    o.args = argv;
    o.exit_cb = upd_exit_cb;
    o.stdio = io;
    o.stdio_count = 3;
    a->upd_proc.data = a;
    a->upd_proc_on = 1;
    rc = uv_spawn(a->loop, &a->upd_proc, &o);
    close(fd);
    if (rc < 0) {
        uv_close((uv_handle_t *)&a->upd_proc, upd_closed); /* needed even when it failed */
        return rc;
    }
    a->upd_hook_running = 1;
    uv_timer_start(&a->upd_timer, upd_timer_cb, (uint64_t)a->cfg.install_timeout_s * 1000, 0);
    return 0;
}

/* The first KF_CMD_OUTPUT_MAX bytes the hook wrote in this run. */
static void upd_hook_output(struct kf_agent *a)
{
    char log[KF_CFG_PATH_MAX + 64];
    ssize_t n = -1;
    int fd;

    if (kf_upd_log_path(a->upd_dir, a->cmd_seq, log, sizeof(log)) == 0 &&
        (fd = open(log, O_RDONLY | O_CLOEXEC)) >= 0) {
        n = pread(fd, a->upd_hook_out, KF_CMD_OUTPUT_MAX, a->upd_log_at);
        close(fd);
    }
    a->upd_hook_out[n > 0 ? n : 0] = '\0';
}

/* What the hook's end says, for a detail. */
static void upd_hook_said(const struct kf_agent *a, char *out, size_t cap)
{
    if (a->upd_timed_out)
        snprintf(out, cap, "ran past %" PRIu32 " s: killed", a->cfg.install_timeout_s);
    else if (a->upd_exit < 0)
        snprintf(out, cap, "was killed by signal %" PRId64, -a->upd_exit);
    else
        snprintf(out, cap, "exited with %" PRId64, a->upd_exit);
}

/* ---- health and rollback ---- */

static void upd_health_start(struct kf_agent *a, const char *note)
{
    int64_t now = kf_now_ms(), left;

    if (note != NULL) { /* from the install's end (or a new run's start): a fresh deadline */
        a->upd_since_ms = now;
        a->upd_deadline_ms = now + (int64_t)a->cfg.update_health_s * 1000;
        a->upd_pid = 0;
        a->upd_pid_start = 0;
        if (step_put(a, KF_UPD_STEP_HEALTH, 0, note) < 0)
            kf_warn("%s: command %s (update): cannot record its health check; a restart now "
                    "would start it again",
                    a->cfg.device_id, a->cmd.id);
    }
    a->upd_step = UPD_HEALTH;
    left = a->upd_deadline_ms - now;
    uv_timer_start(&a->upd_timer, upd_timer_cb, left > 0 ? (uint64_t)left : 0, 0);
    kf_notice("%s: command %s (update): %s %s installed; health check for %" PRId64 " s",
              a->cfg.device_id, a->cmd.id, a->upd_m.name, a->upd_m.version,
              left > 0 ? left / 1000 : 0);
    kf__agent_update_poke(a);
}

/* The rollback's hook, once the install's handles are closed (a handle is not used again
 * before its close callback ran): tried again shortly until then. */
static void upd_rollback_spawn(struct kf_agent *a)
{
    char detail[KF_CMD_DETAIL_MAX + 1];
    int rc;

    if (a->upd_proc_on) {
        uv_timer_start(&a->upd_timer, upd_timer_cb, 10, 0);
        return;
    }
    a->upd_rb_pending = 0;
    rc = upd_spawn(a, a->upd_rb_path);
    if (rc < 0) {
        say(detail, sizeof(detail), "%s; rollback: the hook cannot run: %s", a->upd_why,
            uv_strerror(rc));
        upd_finish(a, KF_CMD_FAILED, detail, NULL);
    }
}

/* Reinstall the kept package of this name, once; or report failed saying why not. */
static void upd_rollback(struct kf_agent *a, const char *why)
{
    char ver[KF_MANIFEST_VERSION_MAX + 2], *path = a->upd_rb_path;
    char detail[KF_CMD_DETAIL_MAX + 1];
    int rc;

    uv_timer_stop(&a->upd_timer);
    if (kf_upd_kept_version(a->upd_dir, a->upd_m.name, ver, sizeof(ver)) < 0 ||
        kf_upd_kept_path(a->upd_dir, a->upd_m.name, ver, path, sizeof(a->upd_rb_path)) < 0 ||
        access(path, R_OK) != 0) {
        say(detail, sizeof(detail), "%s; no previous package of %s kept: not rolled back", why,
            a->upd_m.name);
        upd_finish(a, KF_CMD_FAILED, detail, a->upd_hook_out);
        return;
    }
    say(a->upd_why, sizeof(a->upd_why), "%s", why);
    rc = step_put(a, KF_UPD_STEP_ROLLBACK, 0, why);
    if (rc < 0) {
        say(detail, sizeof(detail), "%s; not rolled back: cannot record it (%s)", why,
            kf_strerror(rc));
        upd_finish(a, KF_CMD_FAILED, detail, a->upd_hook_out);
        return;
    }
    kf_notice("%s: command %s (update): %s: reinstalling %s %s", a->cfg.device_id, a->cmd.id, why,
              a->upd_m.name, ver);
    a->upd_step = UPD_ROLLBACK;
    a->upd_rb_pending = 1;
    upd_rollback_spawn(a);
}

static void upd_hook_done(struct kf_agent *a)
{
    char said[64], detail[KF_CMD_DETAIL_MAX + 1], ver[KF_MANIFEST_VERSION_MAX + 2];
    int ok = !a->upd_timed_out && a->upd_exit == 0;

    if (!a->upd_hook_running)
        return;
    a->upd_hook_running = 0;
    uv_timer_stop(&a->upd_timer);
    upd_hook_output(a);
    upd_hook_said(a, said, sizeof(said));
    if (a->upd_step == UPD_INSTALL) {
        if (ok && upd_is_agent(a) && a->restart_cb != NULL) {
            /* The agent's own package: its health check is the new program's, so start it
             * (the step on file says where it goes on from). */
            a->upd_restarting = 1;
            upd_health_start(a, "installed");
            kf_notice("%s: command %s (update): restarting into %s %s for its health check",
                      a->cfg.device_id, a->cmd.id, a->upd_m.name, a->upd_m.version);
            upd_restart(a);
            return;
        }
        if (ok) {
            upd_health_start(a, "installed");
            return;
        }
        say(detail, sizeof(detail), "the install hook %s", said);
        upd_rollback(a, detail);
        return;
    }
    /* UPD_ROLLBACK */
    if (kf_upd_kept_version(a->upd_dir, a->upd_m.name, ver, sizeof(ver)) < 0)
        snprintf(ver, sizeof(ver), "?");
    /* The agent's own package rolled back: the program running is the one that failed. */
    a->upd_restart_after = ok && upd_is_agent(a) && a->restart_cb != NULL;
    if (ok)
        say(detail, sizeof(detail), "%s; rolled back to %s", a->upd_why, ver);
    else
        say(detail, sizeof(detail), "%s; rollback to %s failed: the hook %s", a->upd_why, ver,
            said);
    upd_finish(a, KF_CMD_FAILED, detail, a->upd_hook_out);
}

/* ---- install ---- */

static void upd_install(struct kf_agent *a)
{
    char path[KF_CFG_PATH_MAX + 64], detail[KF_CMD_DETAIL_MAX + 1];
    int rc;

    /* Running, durably, then the step, then the hook: a new run that finds the step never
     * runs the hook again; one that finds only RUNNING knows the hook never ran. */
    rc = kf_outbox_cmd_start(a->ob, a->cmd.seq, a->kboot, kf_now_ms());
    a->upd_pid = 0;
    a->upd_pid_start = 0;
    a->upd_deadline_ms = kf_now_ms() + (int64_t)a->cfg.install_timeout_s * 1000;
    if (rc == 0 || rc == -EALREADY)
        rc = step_put(a, KF_UPD_STEP_INSTALL, 0, "");
    if (rc < 0) {
        say(detail, sizeof(detail), "not installed: cannot record the install (%s)",
            kf_strerror(rc));
        upd_finish(a, KF_CMD_FAILED, detail, NULL);
        return;
    }
    a->upd_installing = 1;
    a->upd_step = UPD_INSTALL;
    snprintf(path, sizeof(path), "%s/update-%" PRIu64 ".deb", a->upd_dir, a->cmd_seq);
    kf_notice("%s: command %s (update): installing %s %s: %s %s", a->cfg.device_id, a->cmd.id,
              a->upd_m.name, a->upd_m.version, a->cfg.install_hook, path);
    rc = upd_spawn(a, path);
    if (rc < 0) {
        say(detail, sizeof(detail), "not installed: the hook cannot run: %s", uv_strerror(rc));
        upd_finish(a, KF_CMD_FAILED, detail, NULL);
        return;
    }
    /* Which process it is, for a new run that finds it still running (best effort: without
     * it, a new run does not wait for the hook). */
    a->upd_pid = a->upd_proc.pid;
    a->upd_pid_start = kf_upd_proc_start(a->upd_pid);
    (void)step_put(a, KF_UPD_STEP_INSTALL, 0, "");
}

/* A previous run's install hook, still running: wait for it to end (its exit status is
 * that run's, lost), at most until its deadline, then kill it and roll back. */
static void upd_wait(struct kf_agent *a)
{
    char detail[KF_CMD_DETAIL_MAX + 1];

    if (a->upd_pid_start != 0 && kf_upd_proc_start(a->upd_pid) == a->upd_pid_start) {
        if (kf_now_ms() < a->upd_deadline_ms) {
            uv_timer_start(&a->upd_timer, upd_timer_cb, 200, 0);
            return;
        }
        (void)kill(a->upd_pid, SIGKILL);
        say(detail, sizeof(detail), "the install hook ran past %" PRIu32 " s: killed",
            a->cfg.install_timeout_s);
        upd_rollback(a, detail);
        return;
    }
    upd_health_start(a, "install interrupted; its hook ended");
}

/* ---- fetch and check ---- */

static void upd_fail_dl(struct kf_agent *a, const char *why)
{
    char detail[KF_CMD_DETAIL_MAX + 1];

    say(detail, sizeof(detail), "not installed: %s", why);
    upd_finish(a, KF_CMD_FAILED, detail, NULL);
}

/* The manifest verified (update_dl.h): it must be the artifact the command names. */
static int upd_manifest(struct kf_agent *a)
{
    char why[KF_CMD_DETAIL_MAX + 1];

    if (kf_upd_dl_manifest(a->upd_dl, &a->upd_m) < 0)
        return 0;
    if (strcmp(a->upd_m.name, a->cmd.args[0]) == 0 && strcmp(a->upd_m.version, a->cmd.args[1]) == 0)
        return 1;
    say(why, sizeof(why), "the manifest is for %.64s %.40s, not the command's", a->upd_m.name,
        a->upd_m.version);
    upd_fail_dl(a, why);
    return -1;
}

struct upd_work {
    uv_work_t req;
    struct kf_agent *a;
    struct kf_upd_dl *dl; /* not touched by the loop while the work runs (UPD_CHECK) */
    struct kf_manifest m;
    const char *path;
    int rc;
};

static void upd_work_cb(uv_work_t *req)
{
    struct upd_work *w = req->data;

    w->rc = kf_upd_dl_check(w->dl, &w->m, &w->path);
}

static void upd_fetch(struct kf_agent *a);

static void upd_work_after(uv_work_t *req, int status)
{
    struct upd_work *w = req->data;
    struct kf_agent *a = w->a;
    int rc = status != 0 ? -ECANCELED : w->rc;

    free(w);
    a->upd_work = NULL;
    if (a->closing) { /* counted among what the close waits for (kf__agent_update_close) */
        kf_upd_dl_close(a->upd_dl);
        a->upd_dl = NULL;
        kf__agent_handle_closed((uv_handle_t *)&a->upd_timer);
        return;
    }
    if (rc == 0) {
        upd_install(a);
        return;
    }
    if (rc == -EBADMSG && ++a->upd_checks < UPD_CHECKS_MAX) {
        kf_warn("%s: command %s (update): %s", a->cfg.device_id, a->cmd.id,
                kf_upd_dl_why(a->upd_dl));
        a->upd_step = UPD_FETCH;
        upd_fetch(a);
        return;
    }
    upd_fail_dl(a, rc == -EBADMSG ? "the package does not match its manifest (size, SHA-256)"
                                  : "the package cannot be read back to check it");
}

static void upd_check(struct kf_agent *a)
{
    struct upd_work *w = calloc(1, sizeof(*w));

    uv_timer_stop(&a->upd_timer);
    if (w == NULL) {
        upd_fail_dl(a, "out of memory");
        return;
    }
    w->a = a;
    w->dl = a->upd_dl;
    w->req.data = w;
    a->upd_step = UPD_CHECK;
    if (uv_queue_work(a->loop, &w->req, upd_work_cb, upd_work_after) < 0) {
        free(w);
        upd_fail_dl(a, "the package cannot be checked");
        return;
    }
    a->upd_work = w;
}

/* Ask for the next window (or check the whole package once it is here). Without a session,
 * the session's start asks (kf__agent_update_online). */
static void upd_fetch(struct kf_agent *a)
{
    static uint8_t frame[KF_FETCH_FRAME_MAX]; /* loop thread only */
    struct kf_env_header h;
    struct kf_fetch f;
    size_t len;
    int rc;

    if (a->upd_step != UPD_FETCH)
        return;
    if (kf_upd_dl_want(a->upd_dl, &f) == 1) {
        upd_check(a);
        return;
    }
    uv_timer_start(&a->upd_timer, upd_timer_cb, UPD_STALL_MS, 0);
    if (!a->online)
        return;
    a->upd_want_end = f.first + f.count;
    kf__agent_header(a, &h, KF_MSG_FETCH);
    rc = kf_fetch_seal(&h, &f, a->sk, frame, sizeof(frame), &len);
    if (rc == 0)
        rc = kf_agent_link_publish(a->link, a->t_blob, frame, len, 1, 0);
    if (rc < 0)
        return; /* the stall timer asks again */
    a->st.update_fetches++;
}

void kf__agent_update_part(struct kf_agent *a, const struct kf_env_view *v)
{
    struct kf_part p;
    uint32_t have, of;
    int rc;

    if (kf_part_parse(v, &p) < 0) {
        a->st.acks_rejected++;
        return;
    }
    if (a->upd_step != UPD_FETCH || a->upd_dl == NULL || p.cmd_seq != a->cmd_seq)
        return; /* another command's, or one sent twice after the download ended */
    rc = kf_upd_dl_take(a->upd_dl, &p);
    if (rc == 0)
        return;
    if (rc == -ENOENT || rc == -EKEYREJECTED || rc == -EMEDIUMTYPE || rc == -EBADMSG) {
        upd_fail_dl(a, kf_upd_dl_why(a->upd_dl));
        return;
    }
    if (rc < 0) {
        /* Writing failed (a full disk): the stall timer asks again from what is synced. */
        kf_err("%s: command %s (update): cannot keep a chunk: %s", a->cfg.device_id, a->cmd.id,
               kf_strerror(rc));
        return;
    }
    a->st.update_chunks++;
    kf_upd_dl_progress(a->upd_dl, &have, &of);
    if (p.part == KF_PART_MANIFEST) {
        if (upd_manifest(a) < 0)
            return;
        kf_info("%s: command %s (update): %s %s, %" PRIu64 " bytes in %" PRIu32 " chunks",
                a->cfg.device_id, a->cmd.id, a->upd_m.name, a->upd_m.version, a->upd_m.size, of);
        upd_fetch(a);
        return;
    }
    if (have >= a->upd_want_end || have == of)
        upd_fetch(a);
}

/* ---- the timer: stall, the hook's time and drain, the health deadline, a report again ---- */

static void upd_health_failed(struct kf_agent *a)
{
    char why[KF_CMD_DETAIL_MAX + 1];

    say(why, sizeof(why), "unhealthy: %s within %" PRIu32 " s",
        !a->online ? "no answer from the server"
                   : "the application did not report in (an inventory line)",
        a->cfg.update_health_s);
    upd_rollback(a, why);
}

static void upd_timer_cb(uv_timer_t *t)
{
    struct kf_agent *a = t->data;

    if (a->closing)
        return;
    if (a->upd_restarting) {
        if (a->upd_proc_on)
            uv_timer_start(&a->upd_timer, upd_timer_cb, 10, 0);
        else
            a->restart_cb(a->restart_ud);
        return;
    }
    switch (a->upd_step) {
    case UPD_FETCH:
        a->st.update_stalls++;
        upd_fetch(a);
        break;
    case UPD_INSTALL:
    case UPD_ROLLBACK:
        if (a->upd_rb_pending) {
            upd_rollback_spawn(a);
            return;
        }
        if (!a->upd_exited && a->upd_proc_on && !uv_is_closing((uv_handle_t *)&a->upd_proc)) {
            a->upd_timed_out = 1;
            uv_process_kill(&a->upd_proc, SIGKILL);
            return; /* the exit callback follows */
        }
        upd_hook_done(a);
        break;
    case UPD_HEALTH:
        upd_health_failed(a);
        break;
    case UPD_REPORT:
        upd_finish(a, a->upd_status, a->upd_detail, NULL);
        break;
    case UPD_WAIT:
        upd_wait(a);
        break;
    }
}

/* ---- the agent's side ---- */

void kf__agent_update_poke(struct kf_agent *a)
{
    char detail[KF_CMD_DETAIL_MAX + 1];
    int app;

    if (a->upd_step != UPD_HEALTH || !a->online || a->upd_restarting)
        return; /* restarting: the new program decides */
    app = !upd_is_agent(a);
    if (app && a->upd_app_ms < a->upd_since_ms)
        return;
    uv_timer_stop(&a->upd_timer);
    if (kf_upd_kept_promote(a->upd_dir, a->cmd_seq, a->upd_m.name, a->upd_m.version) < 0)
        kf_warn("%s: command %s (update): %s %s cannot be kept for a later rollback",
                a->cfg.device_id, a->cmd.id, a->upd_m.name, a->upd_m.version);
    say(detail, sizeof(detail), "%.64s %.40s installed: %s", a->upd_m.name, a->upd_m.version,
        app ? "the application reported in" : "the agent reached the server");
    upd_finish(a, KF_CMD_DONE, detail, NULL);
}

void kf__agent_update_app(struct kf_agent *a)
{
    a->upd_app_ms = kf_now_ms();
    kf__agent_update_poke(a);
}

void kf__agent_update_online(struct kf_agent *a)
{
    if (a->upd_step == UPD_FETCH)
        upd_fetch(a);
    else
        kf__agent_update_poke(a);
}

int kf__agent_update_run(struct kf_agent *a, const struct kf_cmd *c)
{
    static const uint8_t zero[32];
    static const int steps[] = {
        [KF_UPD_STEP_NONE] = UPD_IDLE,     [KF_UPD_STEP_INSTALL] = UPD_INSTALL,
        [KF_UPD_STEP_HEALTH] = UPD_HEALTH, [KF_UPD_STEP_ROLLBACK] = UPD_ROLLBACK,
        [KF_UPD_STEP_REPORT] = UPD_REPORT,
    };
    struct kf_upd_step st;
    char ver[KF_MANIFEST_VERSION_MAX + 2];
    uint8_t sha[32];
    uint32_t have, of;
    int step, rc;

    (void)kf_upd_step_get(a->upd_dir, c->seq, &st);
    step = steps[st.kind];
    a->upd_deadline_ms = st.deadline_ms;
    a->upd_since_ms = st.since_ms;
    a->upd_pid = st.pid;
    a->upd_pid_start = st.pid_start;
    if (step == UPD_IDLE) {
        const char *no = a->restart_cb == NULL ? "this program cannot install software"
                         : sodium_memcmp(a->cfg.release_pk, zero, 32) == 0
                             ? "no [update] release_public_key is pinned on this terminal"
                         : a->cfg.install_hook[0] == '\0'
                             ? "no [update] install_hook is configured on this terminal"
                         : c->nargs < 3 ? "no manifest SHA-256 (the server adds it)"
                                        : NULL;
        if (no != NULL)
            return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_REFUSED, no, NULL, NULL,
                                        0);
    }
    if (c->nargs < 3 || kf_hex_decode(c->args[2], sha, sizeof(sha)) < 0)
        return kf__agent_cmd_report(a, c->seq, c->id, c->kind, KF_CMD_FAILED, "no manifest SHA-256",
                                    NULL, NULL, 0);
    rc = kf_upd_dl_open(a->upd_dir, c->seq, sha, a->cfg.release_pk,
                        kf_agent_config_kind_name(a->cfg.kind), &a->upd_dl);
    if (rc < 0)
        return rc; /* tried again */
    a->cmd = *c;
    a->cmd_seq = c->seq;
    a->upd_checks = 0;
    a->upd_installing = step != UPD_IDLE;
    a->upd_hook_out[0] = '\0';
    memset(&a->upd_m, 0, sizeof(a->upd_m));
    if (step == UPD_IDLE) {
        a->upd_step = UPD_FETCH;
        if (upd_manifest(a) < 0)
            return 0;
        kf_upd_dl_progress(a->upd_dl, &have, &of);
        kf_notice("%s: command %s (update): fetching %s %s%s", a->cfg.device_id, c->id, c->args[0],
                  c->args[1], have > 0 ? " (resumed)" : "");
        if (have > 0)
            kf_info("%s: command %s (update): resuming at chunk %" PRIu32 " of %" PRIu32,
                    a->cfg.device_id, c->id, have, of);
        upd_fetch(a);
        return 0;
    }
    /* A previous run got past the download: its manifest is still here (removed only once
     * reported), and checked again by kf_upd_dl_open. */
    if (kf_upd_dl_manifest(a->upd_dl, &a->upd_m) < 0) {
        say(a->upd_m.name, sizeof(a->upd_m.name), "%s", c->args[0]);
        say(a->upd_m.version, sizeof(a->upd_m.version), "%s", c->args[1]);
    }
    switch (step) {
    case UPD_INSTALL:
        kf_notice("%s: command %s (update): the agent stopped while the install hook ran; not "
                  "run again: the health check decides, once the hook (pid %d) has ended",
                  a->cfg.device_id, c->id, a->upd_pid);
        a->upd_step = UPD_WAIT;
        upd_wait(a);
        break;
    case UPD_HEALTH:
        upd_health_start(a, NULL);
        break;
    case UPD_ROLLBACK:
        if (kf_upd_kept_version(a->upd_dir, a->upd_m.name, ver, sizeof(ver)) < 0)
            snprintf(ver, sizeof(ver), "?");
        say(a->upd_why, sizeof(a->upd_why), "%s; rollback to %s interrupted: not run again",
            st.detail, ver);
        upd_finish(a, KF_CMD_FAILED, a->upd_why, NULL);
        break;
    default: /* UPD_REPORT */
        upd_finish(a, st.status == KF_CMD_DONE ? KF_CMD_DONE : KF_CMD_FAILED, st.detail, NULL);
        break;
    }
    return 0;
}

/* ---- lifecycle ---- */

struct sweep {
    uint64_t seq[64]; /* commands not yet reported (those past 64 keep their files) */
    size_t n;
    int full;
};

static int sweep_cb(void *ud, const struct kf_outbox_cmd *c)
{
    struct sweep *w = ud;

    if (w->n == sizeof(w->seq) / sizeof(w->seq[0])) {
        w->full = 1;
        return 1;
    }
    w->seq[w->n++] = c->seq;
    return 0;
}

void kf__agent_update_sweep(struct kf_agent *a)
{
    struct sweep w;
    struct dirent *e;
    DIR *d;

    memset(&w, 0, sizeof(w));
    if (kf_outbox_cmd_pending(a->ob, sweep_cb, &w) < 0 || w.full ||
        (d = opendir(a->upd_dir)) == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[KF_CFG_PATH_MAX + 300];
        uint64_t seq;
        size_t i;
        int n;

        if (kf_upd_file_seq(e->d_name, &seq) < 0)
            continue;
        for (i = 0; i < w.n && w.seq[i] != seq; i++)
            ;
        if (i < w.n)
            continue;
        n = snprintf(path, sizeof(path), "%s/%s", a->upd_dir, e->d_name);
        if (n > 0 && (size_t)n < sizeof(path) && unlink(path) == 0)
            kf_info("%s: removed %s (its update command was reported)", a->cfg.device_id, path);
    }
    closedir(d);
}

void kf__agent_update_timers(struct kf_agent *a)
{
    const char *slash;

    uv_timer_init(a->loop, &a->upd_timer);
    a->upd_timer.data = a;
    snprintf(a->upd_dir, sizeof(a->upd_dir), "%s", a->cfg.outbox_path);
    slash = strrchr(a->upd_dir, '/');
    if (slash == NULL)
        snprintf(a->upd_dir, sizeof(a->upd_dir), ".");
    else if (slash == a->upd_dir)
        a->upd_dir[1] = '\0';
    else
        a->upd_dir[slash - a->upd_dir] = '\0';
}

int kf__agent_update_close(struct kf_agent *a)
{
    int n = 1;

    uv_timer_stop(&a->upd_timer);
    uv_close((uv_handle_t *)&a->upd_timer, kf__agent_handle_closed);
    /* A hook still running is left to finish on its own (dpkg cut short leaves a package
     * half-installed); its step is on file and the next run goes on from it. */
    /* One already closing (its hook just exited) closes on upd_closed, which hands on to
     * kf__agent_handle_closed: counted too. */
    n += kf__agent_close_hook((uv_handle_t *)&a->upd_proc, &a->upd_proc_on);
    if (a->upd_work != NULL) {
        /* The check on the pool holds the download: its after callback closes it and counts
         * as one close (upd_work_after). */
        return n + 1;
    }
    kf_upd_dl_close(a->upd_dl);
    a->upd_dl = NULL;
    return n;
}
