/* Keyfile: atomic writes (mode, group, no temp file left), permission checks, strict hex. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include "kf_test.h"
#include <sodium.h>

#include <kf/keyfile.h>

static char dir[64];
static char path[128];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    kf_test_tmpdir("kf-keyfile", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/device.key", dir);
}

static void teardown(void)
{
    kf_test_rmtree(dir);
}

/* Entries of d other than "." and "..", names into names (joined by spaces). */
static int dir_entries(const char *d, char *names, size_t cap)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    int n = 0;

    cr_assert(dp);
    names[0] = '\0';
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        size_t len = strlen(names);
        snprintf(names + len, cap - len, "%s ", e->d_name);
    }
    closedir(dp);
    return n;
}

/* A group this process may give a file, if possible not the one a new file gets anyway,
 * so that the test sees the group being set: root may give any; others a supplementary
 * group; failing both getegid(), which at least must be accepted. */
static gid_t other_group(void)
{
    gid_t groups[64];
    int n;

    if (geteuid() == 0)
        return getegid() == 65534 ? 65533 : 65534;
    n = getgroups(64, groups);
    for (int i = 0; i < n; i++) {
        if (groups[i] != getegid())
            return groups[i];
    }
    return getegid();
}

/* kf_file_write_atomic(file, ...) as someone the permissions apply to: root writes
 * anywhere, so as root it runs in a child that has become nobody first. */
static int write_as_user(const char *file)
{
    pid_t pid;
    int status;

    if (geteuid() != 0)
        return kf_file_write_atomic(file, "s3cret\n", 7, 0600, (gid_t)-1, 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(255);
        _exit(-kf_file_write_atomic(file, "s3cret\n", 7, 0600, (gid_t)-1, 0) & 0xff);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_neq(WEXITSTATUS(status), 255, "cannot become nobody");
    return -WEXITSTATUS(status);
}

static void write_text(const char *p, const char *text, mode_t mode)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

TestSuite(keyfile, .init = setup, .fini = teardown);

Test(keyfile, write_read_round_trip_with_mode_0600)
{
    uint8_t pk[32], sk[64], back[64];
    struct stat st;

    crypto_sign_keypair(pk, sk);
    cr_assert_eq(kf_keyfile_write(path, sk), 0);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(st.st_size, 129);
    cr_assert_eq(kf_keyfile_read(path, back), 0);
    cr_assert_eq(memcmp(sk, back, 64), 0);
    /* overwrite replaces atomically */
    crypto_sign_keypair(pk, sk);
    cr_assert_eq(kf_keyfile_write(path, sk), 0);
    cr_assert_eq(kf_keyfile_read(path, back), 0);
    cr_assert_eq(memcmp(sk, back, 64), 0);
}

Test(keyfile, open_modes_are_eperm_and_key_wiped)
{
    uint8_t sk[64], back[64], zero[64] = {0};

    memset(sk, 0xab, sizeof(sk));
    cr_assert_eq(kf_keyfile_write(path, sk), 0);
    cr_assert_eq(chmod(path, 0640), 0);
    memset(back, 0x11, sizeof(back));
    cr_assert_eq(kf_keyfile_read(path, back), -EPERM);
    cr_assert_eq(memcmp(back, zero, 64), 0);
    cr_assert_eq(chmod(path, 0604), 0);
    cr_assert_eq(kf_keyfile_read(path, back), -EPERM);
    cr_assert_eq(chmod(path, 0400), 0);
    cr_assert_eq(kf_keyfile_read(path, back), 0);
}

Test(keyfile, missing_and_malformed)
{
    uint8_t sk[64];
    char text[300];

    cr_assert_eq(kf_keyfile_read("/nonexistent/kf.key", sk), -ENOENT);
    write_text(path, "abc\n", 0600);
    cr_assert_eq(kf_keyfile_read(path, sk), -EBADMSG);
    memset(text, 'a', 128);
    text[128] = '\0';
    write_text(path, text, 0600);
    cr_assert_eq(kf_keyfile_read(path, sk), 0); /* newline optional */
    text[5] = 'g';
    write_text(path, text, 0600);
    cr_assert_eq(kf_keyfile_read(path, sk), -EBADMSG);
    memset(text, 'a', 130);
    text[130] = '\0';
    write_text(path, text, 0600);
    cr_assert_eq(kf_keyfile_read(path, sk), -EBADMSG);
}

Test(keyfile, write_atomic_contents_mode_group_and_no_temp_left)
{
    static const char text[] = "one\ntwo\n";
    char buf[128], names[512];
    struct stat st;
    mode_t old_umask = umask(0);
    gid_t gid = other_group();
    int fd;

    /* exact mode even where the umask would have removed bits */
    umask(077);
    cr_assert_eq(kf_file_write_atomic(path, text, strlen(text), 0640, gid, 0), 0);
    umask(old_umask);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0640);
    cr_assert_eq(st.st_gid, gid);
    cr_assert_eq(st.st_size, (off_t)strlen(text));
    fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(read(fd, buf, sizeof(buf)), (ssize_t)strlen(text));
    close(fd);
    cr_assert_eq(memcmp(buf, text, strlen(text)), 0);
    cr_assert_eq(dir_entries(dir, names, sizeof(names)), 1, "left in the directory: %s", names);

    /* replacing: new contents and mode, group not set, still no temp file */
    cr_assert_eq(kf_file_write_atomic(path, "x", 1, 0600, (gid_t)-1, KF_FILE_NOSYNC), 0);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    cr_assert_eq(st.st_gid, getegid());
    cr_assert_eq(st.st_size, 1);
    cr_assert_eq(dir_entries(dir, names, sizeof(names)), 1, "left in the directory: %s", names);

    /* empty contents are a file, not an error */
    cr_assert_eq(kf_file_write_atomic(path, NULL, 0, 0600, (gid_t)-1, 0), 0);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 0);

    cr_assert_eq(kf_file_write_atomic(path, "x", 1, 0600, (gid_t)-1, 0x80), -EINVAL);
    snprintf(buf, sizeof(buf), "%s/", dir);
    cr_assert_eq(kf_file_write_atomic(buf, "x", 1, 0600, (gid_t)-1, 0), -EINVAL);
}

Test(keyfile, write_atomic_unwritable_dir_is_errno_and_leaves_nothing)
{
    char sub[128], file[160], names[512];

    snprintf(sub, sizeof(sub), "%s/sub", dir);
    snprintf(file, sizeof(file), "%s/secret", sub);
    cr_assert_eq(chmod(dir, 0711), 0); /* nobody may pass through, see write_as_user */
    cr_assert_eq(mkdir(sub, 0555), 0);
    cr_assert_eq(write_as_user(file), -EACCES);
    cr_assert_eq(dir_entries(sub, names, sizeof(names)), 0, "left in the directory: %s", names);
    cr_assert_eq(kf_file_write_atomic("/nonexistent/kf/secret", "x", 1, 0600, (gid_t)-1, 0),
                 -ENOENT);
}

Test(keyfile, write_atomic_failed_write_keeps_old_file_and_no_temp)
{
    char buf[16], names[512];
    struct stat st;
    pid_t pid;
    int status, fd;

    cr_assert_eq(kf_file_write_atomic(path, "old\n", 4, 0600, (gid_t)-1, 0), 0);
    /* A write that fails half-way, after the temp file exists: a file size limit of 2
     * bytes (in a child, the limit is per process). */
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {2, 2};

        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
            _exit(255);
        _exit(-kf_file_write_atomic(path, "new text\n", 9, 0600, (gid_t)-1, 0) & 0xff);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), EFBIG);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 4);
    fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(read(fd, buf, sizeof(buf)), 4);
    close(fd);
    cr_assert_eq(memcmp(buf, "old\n", 4), 0);
    cr_assert_eq(dir_entries(dir, names, sizeof(names)), 1, "left in the directory: %s", names);
}

Test(keyfile, hex_helpers)
{
    uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
    char hex[7];

    kf_hex_encode(in, 3, hex, sizeof(hex));
    cr_assert_str_eq(hex, "00abff");
    cr_assert_eq(kf_hex_decode("00ABff", out, 3), 0);
    cr_assert_eq(memcmp(in, out, 3), 0);
    cr_assert_eq(kf_hex_decode("00abf", out, 3), -EINVAL);
    cr_assert_eq(kf_hex_decode("00abfff", out, 3), -EINVAL);
    cr_assert_eq(kf_hex_decode("00abfx", out, 3), -EINVAL);
    kf_hex_encode(in, 3, hex, 5); /* truncated, still terminated */
    cr_assert_str_eq(hex, "00ab");
}
