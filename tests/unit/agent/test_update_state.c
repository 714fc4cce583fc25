/* An update command's state on file (agent/core/update_state.h): the step a new run goes on
 * from (written whole or not at all, read back field for field), the package kept per name
 * for a rollback (promoted once, the one it replaces removed, a promotion repeated after a
 * crash is a no-op), the file names a sweep recognises, and the hook's process told apart
 * from a pid used again. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/update_state.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kf-test-updst-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

/* The directory holds only files these tests made, no subdirectory. */
static void teardown(void)
{
    struct dirent *e;
    char path[512];
    DIR *d = opendir(dir);

    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        cr_assert_eq(unlink(path), 0, "%s", path);
    }
    closedir(d);
    cr_assert_eq(rmdir(dir), 0);
}

static void put_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

Test(update_state, a_step_reads_back_field_for_field, .init = setup, .fini = teardown)
{
    struct kf_upd_step s = {.kind = KF_UPD_STEP_INSTALL,
                            .deadline_ms = 1796647000123,
                            .since_ms = -5,
                            .status = 3,
                            .pid = 4242,
                            .pid_start = 987654321};
    struct kf_upd_step got;

    snprintf(s.detail, sizeof(s.detail), "the install hook exited with 1");
    cr_assert_eq(kf_upd_step_get(dir, 9, &got), 0);
    cr_assert_eq(got.kind, KF_UPD_STEP_NONE); /* no file: nothing happened outside yet */
    cr_assert_eq(kf_upd_step_put(dir, 9, &s), 0);
    cr_assert_eq(kf_upd_step_get(dir, 9, &got), 0);
    cr_assert_eq(got.kind, KF_UPD_STEP_INSTALL);
    cr_assert_eq(got.deadline_ms, 1796647000123);
    cr_assert_eq(got.since_ms, -5);
    cr_assert_eq(got.status, 3);
    cr_assert_eq(got.pid, 4242);
    cr_assert_eq(got.pid_start, 987654321);
    cr_assert_str_eq(got.detail, "the install hook exited with 1");
    /* Replaced by the next step; another command's is its own. */
    s.kind = KF_UPD_STEP_REPORT;
    s.detail[0] = '\0';
    cr_assert_eq(kf_upd_step_put(dir, 9, &s), 0);
    cr_assert_eq(kf_upd_step_get(dir, 9, &got), 0);
    cr_assert_eq(got.kind, KF_UPD_STEP_REPORT);
    cr_assert_str_eq(got.detail, "");
    cr_assert_eq(kf_upd_step_get(dir, 10, &got), 0);
    cr_assert_eq(got.kind, KF_UPD_STEP_NONE);
    kf_upd_step_remove(dir, 9);
    cr_assert(!exists("update-9.step"));
}

Test(update_state, bad_steps_are_refused_or_not_there, .init = setup, .fini = teardown)
{
    struct kf_upd_step s = {.kind = KF_UPD_STEP_NONE};
    struct kf_upd_step got;

    cr_assert_eq(kf_upd_step_put(dir, 1, &s), -EINVAL);
    s.kind = KF_UPD_STEP_REPORT + 1;
    cr_assert_eq(kf_upd_step_put(dir, 1, &s), -EINVAL);
    s.kind = KF_UPD_STEP_HEALTH;
    snprintf(s.detail, sizeof(s.detail), "two\nlines");
    cr_assert_eq(kf_upd_step_put(dir, 1, &s), -EINVAL);
    /* What a crash or a hand could leave: cut short, an unknown step, garbage. */
    put_file("update-2.step", "health 100 200 0 0 0\n"); /* no detail line: not whole */
    put_file("update-3.step", "installing 1 2 3 4 5\n\n");
    put_file("update-4.step", "\x01\x02 nothing");
    for (uint64_t seq = 2; seq <= 4; seq++) {
        cr_assert_eq(kf_upd_step_get(dir, seq, &got), 0);
        cr_assert_eq(got.kind, KF_UPD_STEP_NONE, "seq %llu", (unsigned long long)seq);
    }
}

Test(update_state, promotion_keeps_one_package_per_name, .init = setup, .fini = teardown)
{
    char ver[80], path[256];

    cr_assert_eq(kf_upd_kept_version(dir, "kf-app", ver, sizeof(ver)), -ENOENT);
    put_file("update-5.deb", "version 1.0");
    cr_assert_eq(kf_upd_kept_promote(dir, 5, "kf-app", "1.0"), 0);
    cr_assert(!exists("update-5.deb"));
    cr_assert(exists("installed-kf-app_1.0.deb"));
    cr_assert_eq(kf_upd_kept_version(dir, "kf-app", ver, sizeof(ver)), 0);
    cr_assert_str_eq(ver, "1.0");
    /* Again after a crash between the rename and the report: a no-op. */
    cr_assert_eq(kf_upd_kept_promote(dir, 5, "kf-app", "1.0"), 0);
    /* The next version replaces it; another name is apart. */
    put_file("update-6.deb", "version 1.1");
    cr_assert_eq(kf_upd_kept_promote(dir, 6, "kf-app", "1.1"), 0);
    cr_assert(exists("installed-kf-app_1.1.deb"));
    cr_assert(!exists("installed-kf-app_1.0.deb"));
    cr_assert_eq(kf_upd_kept_version(dir, "kf-app", ver, sizeof(ver)), 0);
    cr_assert_str_eq(ver, "1.1");
    cr_assert_eq(kf_upd_kept_version(dir, "kiosk-agent", ver, sizeof(ver)), -ENOENT);
    /* Nothing to promote. */
    cr_assert_eq(kf_upd_kept_promote(dir, 7, "kf-app", "1.2"), -ENOENT);
    /* A name or version outside the manifest's rules never makes a path. */
    cr_assert_eq(kf_upd_kept_path(dir, "../etc", "1", path, sizeof(path)), -EINVAL);
    cr_assert_eq(kf_upd_kept_path(dir, "kf-app", "1/../x", path, sizeof(path)), -EINVAL);
    cr_assert_eq(kf_upd_kept_promote(dir, 6, "kf-app", "../1"), -EINVAL);
    /* A pointer that does not hold a version is no version. */
    put_file("installed-kf-app", "not a version\n");
    cr_assert_eq(kf_upd_kept_version(dir, "kf-app", ver, sizeof(ver)), -ENOENT);
}

Test(update_state, file_names_a_sweep_recognises)
{
    uint64_t seq = 0;

    cr_assert_eq(kf_upd_file_seq("update-12.deb", &seq), 0);
    cr_assert_eq(seq, 12);
    cr_assert_eq(kf_upd_file_seq("update-18446744073709551615.step", &seq), 0);
    cr_assert_eq(seq, UINT64_MAX);
    cr_assert_eq(kf_upd_file_seq("update-18446744073709551616.step", &seq), -EINVAL);
    cr_assert_eq(kf_upd_file_seq("update-0.deb", &seq), -EINVAL);
    cr_assert_eq(kf_upd_file_seq("update-12", &seq), -EINVAL);
    cr_assert_eq(kf_upd_file_seq("update-12.", &seq), -EINVAL);
    cr_assert_eq(kf_upd_file_seq("update-x.deb", &seq), -EINVAL);
    cr_assert_eq(kf_upd_file_seq("installed-kf-app_1.deb", &seq), -EINVAL);
    cr_assert_eq(kf_upd_file_seq("outbox.db", &seq), -EINVAL);
}

Test(update_state, a_process_is_told_from_a_pid_used_again)
{
    pid_t child;
    int status;

    cr_assert_neq(kf_upd_proc_start(getpid()), 0);
    cr_assert_eq(kf_upd_proc_start(0), 0);
    child = fork();
    cr_assert_geq(child, 0);
    if (child == 0)
        _exit(0);
    /* Exited and not yet reaped: a zombie has done its work. */
    for (int i = 0; i < 200 && kf_upd_proc_start(child) != 0; i++)
        usleep(5000);
    cr_assert_eq(kf_upd_proc_start(child), 0);
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert_eq(kf_upd_proc_start(child), 0);
}
