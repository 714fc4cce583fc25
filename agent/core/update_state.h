/* update_state.h: what an update command keeps on file beside the outbox besides its
 * download (update_dl.h), so that a new run of the agent goes on from where the last one
 * stopped (docs/AGENT.md "Updates"; agent_update.c runs the steps).
 *
 * In directory DIR, for command seq N:
 *   DIR/update-N.step   the step reached once something may happen outside the agent:
 *                       "NAME DEADLINE_MS SINCE_MS STATUS PID PID_START\nDETAIL\n", replaced
 *                       atomically and synced before the step acts;
 *   DIR/update-N.log    the install hook's standard output and error (a file, not a pipe:
 *                       a hook that outlives the agent must not die of SIGPIPE).
 * Per package name (the last version installed through the agent and found healthy):
 *   DIR/installed-NAME             its version, one line: the commit point of a promotion;
 *   DIR/installed-NAME_VERSION.deb the package, reinstalled by a rollback;
 *   DIR/installed-NAME_VERSION.manifest its signed manifest (checked again by the installer).
 * Names and versions are checked by kf/manifest.h's rules before they make a path.
 * Single thread; no globals. Functions return 0 or a negative errno.
 */
#ifndef KF_AGENT_UPDATE_STATE_H
#define KF_AGENT_UPDATE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <kf/command.h>
#include <kf/manifest.h>

enum kf_upd_step_kind {
    KF_UPD_STEP_NONE = 0, /* no file (or not a whole one): nothing happened outside yet */
    KF_UPD_STEP_INSTALL,  /* the install hook was (about to be) started */
    KF_UPD_STEP_HEALTH,   /* installed; the health check runs until deadline_ms */
    KF_UPD_STEP_ROLLBACK, /* the rollback's hook was (about to be) started; detail: why */
    KF_UPD_STEP_REPORT,   /* decided: status (enum kf_cmd_status) and detail, to report */
};

struct kf_upd_step {
    int kind;            /* enum kf_upd_step_kind */
    int64_t deadline_ms; /* INSTALL: the hook's time is up; HEALTH: the check's (wall clock) */
    int64_t since_ms;    /* HEALTH: the application reports in after this (wall clock) */
    int status;          /* REPORT */
    int pid;             /* INSTALL: the hook's process, once started (0: not known) */
    uint64_t pid_start;  /* and its start time (kf_upd_proc_start), so a reused pid is not it */
    char detail[KF_CMD_DETAIL_MAX + 1];
};

/* Write s for command seq (atomically, synced). -EINVAL (kind out of range). */
int kf_upd_step_put(const char *dir, uint64_t seq, const struct kf_upd_step *s);
/* Read command seq's step into *ret; ret->kind KF_UPD_STEP_NONE when there is none or it is
 * not one (always 0: a missing file is an answer). */
int kf_upd_step_get(const char *dir, uint64_t seq, struct kf_upd_step *ret);
/* DIR/update-N.log. */
int kf_upd_log_path(const char *dir, uint64_t seq, char *out, size_t cap);
/* Remove command seq's step and log (after it was reported). */
void kf_upd_step_remove(const char *dir, uint64_t seq);
/* The seq of a file name "update-N.<ext>" (any of this module's or update_dl.h's): 0 and
 * *ret, or -EINVAL. */
int kf_upd_file_seq(const char *fname, uint64_t *ret);

/* The kept package of name: DIR/installed-NAME_VER.deb (ver NULL: the pointer file). */
int kf_upd_kept_path(const char *dir, const char *name, const char *ver, char *out, size_t cap);
/* The version kept for name into ver (cap bytes): 0, or -ENOENT (none, or not a version). */
int kf_upd_kept_version(const char *dir, const char *name, char *ver, size_t cap);
/* Command seq's package (DIR/update-N.deb) becomes the one kept for name at version: renamed
 * (a no-op when a previous run did it), the pointer replaced, the one it replaced removed.
 * -ENOENT when neither the download nor the kept file is there. */
int kf_upd_kept_promote(const char *dir, uint64_t seq, const char *name, const char *version);

/* Check the package file pkg ("X.deb") against the signed manifest beside it ("X.manifest"):
 * it verifies under release_pk, lists kind ("kiosk" or "itm"), and pkg has its size and
 * SHA-256. 0 and *ret; or a negative errno with why (cap bytes) saying what failed. What the
 * root-run installer asks (`kiosk-agent --verify-package`) before dpkg sees the file. */
int kf_upd_verify_package(const char *pkg, const uint8_t release_pk[32], const char *kind,
                          struct kf_manifest *ret, char *why, size_t cap);

/* The kernel's start time of process pid (/proc/PID/stat, field 22), or 0 when it is gone
 * (or a zombie: it has done its work). */
uint64_t kf_upd_proc_start(int pid);

#endif
