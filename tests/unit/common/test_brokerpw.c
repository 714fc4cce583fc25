/* Broker passwords: generation, Mosquitto "$6$" verifiers (checked against mosquitto_passwd's
 * output and against a real mosquitto), password files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include "kf_test.h"
#include <sodium.h>

#include <kf/brokerpw.h>

#define MOSQUITTO KF_MOSQUITTO_BIN /* the one kf_test_mosquitto_start runs */
#define MOSQUITTO_PUB "/usr/bin/mosquitto_pub"

static char dir[64];
static char path[128];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    kf_test_tmpdir("kf-brokerpw", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/device.pw", dir);
}

static void teardown(void)
{
    kf_test_rmtree(dir);
}

static void write_text(const char *p, const char *text, mode_t mode)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

TestSuite(brokerpw, .init = setup, .fini = teardown);

Test(brokerpw, generated_passwords_are_43_base64url_characters)
{
    char a[KF_BROKERPW_LEN + 1], b[KF_BROKERPW_LEN + 1];

    cr_assert_eq(kf_brokerpw_generate(a), 0);
    cr_assert_eq(kf_brokerpw_generate(b), 0);
    cr_assert_eq(strlen(a), 43);
    cr_assert_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    cr_assert_str_neq(a, b);
}

Test(brokerpw, verifier_has_mosquittos_sha512_form_and_checks)
{
    char pw[KF_BROKERPW_LEN + 1], v1[KF_BROKERPW_VERIFIER_LEN + 1],
        v2[KF_BROKERPW_VERIFIER_LEN + 1];

    kf_brokerpw_generate(pw);
    cr_assert_eq(kf_brokerpw_verifier(pw, v1, sizeof(v1)), 0);
    cr_assert_eq(kf_brokerpw_verifier(pw, v2, sizeof(v2)), 0);
    cr_assert_eq(strlen(v1), KF_BROKERPW_VERIFIER_LEN);
    cr_assert_eq(strncmp(v1, "$6$", 3), 0);
    cr_assert_eq(v1[19], '$'); /* 16 characters of salt */
    cr_assert_eq(strcmp(v1 + KF_BROKERPW_VERIFIER_LEN - 2, "=="), 0);
    cr_assert_str_neq(v1, v2, "a fresh salt each time");
    cr_assert(kf_brokerpw_verifier_valid(v1));
    cr_assert_eq(kf_brokerpw_check(pw, v1), 0);
    cr_assert_eq(kf_brokerpw_check(pw, v2), 0);
    cr_assert_eq(kf_brokerpw_check("not the password", v1), -EACCES);
    cr_assert_eq(kf_brokerpw_verifier(pw, v1, KF_BROKERPW_VERIFIER_LEN), -ENOBUFS);
    cr_assert_eq(kf_brokerpw_verifier("", v1, sizeof(v1)), -EINVAL);
}

/* mosquitto_passwd -H sha512 -b FILE u secret (Mosquitto 2.0.11) wrote this line: our
 * digest is Mosquitto's. */
Test(brokerpw, accepts_a_verifier_made_by_mosquitto_passwd)
{
    static const char line[] = "$6$lUmYEqLFMYFMwf5+$CossLYxHLWYr2CxJe5Mw/5iit4sry2CTkuoaso4HIZK5Il"
                               "sK9Y5O/E48uayzNV8PctN46Q7a6R8Z+MiY7is49Q==";

    cr_assert(kf_brokerpw_verifier_valid(line));
    cr_assert_eq(kf_brokerpw_check("secret", line), 0);
    cr_assert_eq(kf_brokerpw_check("Secret", line), -EACCES);
}

Test(brokerpw, refuses_malformed_verifiers)
{
    char v[KF_BROKERPW_VERIFIER_LEN + 8];
    char pw[KF_BROKERPW_LEN + 1];

    kf_brokerpw_generate(pw);
    cr_assert_eq(kf_brokerpw_verifier(pw, v, sizeof(v)), 0);
    cr_assert(!kf_brokerpw_verifier_valid(NULL));
    cr_assert(!kf_brokerpw_verifier_valid(""));
    cr_assert(!kf_brokerpw_verifier_valid(pw));
    v[1] = '7'; /* PBKDF2 lines have another layout */
    cr_assert(!kf_brokerpw_verifier_valid(v));
    v[1] = '6';
    v[10] = '\n'; /* would split a password file line */
    cr_assert(!kf_brokerpw_verifier_valid(v));
    kf_brokerpw_verifier(pw, v, sizeof(v));
    v[19] = 'x'; /* separator */
    cr_assert(!kf_brokerpw_verifier_valid(v));
    kf_brokerpw_verifier(pw, v, sizeof(v));
    v[KF_BROKERPW_VERIFIER_LEN] = 'A'; /* one character too many */
    v[KF_BROKERPW_VERIFIER_LEN + 1] = '\0';
    cr_assert(!kf_brokerpw_verifier_valid(v));
    cr_assert_eq(kf_brokerpw_check(pw, v), -EINVAL);
    kf_brokerpw_verifier(pw, v, sizeof(v));
    v[KF_BROKERPW_VERIFIER_LEN - 1] = 'A'; /* bad padding */
    cr_assert(!kf_brokerpw_verifier_valid(v));
}

Test(brokerpw, password_file_round_trip_mode_0600)
{
    char pw[KF_BROKERPW_LEN + 1], back[KF_BROKERPW_MAX + 1];
    struct stat st;

    kf_brokerpw_generate(pw);
    cr_assert_eq(kf_brokerpw_write(path, pw), 0);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(st.st_size, 44);
    cr_assert_eq(kf_brokerpw_read(path, back, sizeof(back)), 0);
    cr_assert_str_eq(back, pw);
    cr_assert_eq(kf_brokerpw_read(path, back, 10), -EBADMSG, "does not fit the caller's buffer");
}

Test(brokerpw, password_file_refusals)
{
    char back[KF_BROKERPW_MAX + 1];

    cr_assert_eq(kf_brokerpw_read(path, back, sizeof(back)), -ENOENT);
    write_text(path, "abc\n", 0640);
    cr_assert_eq(kf_brokerpw_read(path, back, sizeof(back)), -EPERM);
    write_text(path, "abc\n", 0604);
    cr_assert_eq(kf_brokerpw_read(path, back, sizeof(back)), -EPERM);
    write_text(path, "\n", 0600);
    cr_assert_eq(kf_brokerpw_read(path, back, sizeof(back)), -EBADMSG);
    write_text(path, "two\nlines\n", 0600);
    cr_assert_eq(kf_brokerpw_read(path, back, sizeof(back)), -EBADMSG);
    write_text(path, "with space\n", 0600);
    cr_assert_eq(kf_brokerpw_read(path, back, sizeof(back)), -EBADMSG);
    write_text(path, "no-newline", 0600);
    cr_assert_eq(kf_brokerpw_read(path, back, sizeof(back)), 0);
    cr_assert_str_eq(back, "no-newline");
    cr_assert_eq(kf_brokerpw_read(dir, back, sizeof(back)), -EBADMSG, "a directory");
    cr_assert_eq(kf_brokerpw_write(path, "bad\nline"), -EINVAL);
}

/* ---- a real mosquitto accepts the password behind a verifier we made ---- */

static int run(char *const argv[])
{
    int status = kf_test_reap(kf_test_spawn(NULL, argv), 20000);

    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(brokerpw, a_real_mosquitto_accepts_the_password, .timeout = 30)
{
    char pw[KF_BROKERPW_LEN + 1], v[KF_BROKERPW_VERIFIER_LEN + 1], line[256], extra[256];
    char conf_path[160], pw_path[160], log_path[160], port_s[16];
    int port;
    pid_t broker;

    cr_assert_eq(access(MOSQUITTO, X_OK), 0, "needs mosquitto (scripts/lib.sh installs it)");
    cr_assert_eq(access(MOSQUITTO_PUB, X_OK), 0, "needs mosquitto-clients");
    kf_brokerpw_generate(pw);
    cr_assert_eq(kf_brokerpw_verifier(pw, v, sizeof(v)), 0);
    snprintf(pw_path, sizeof(pw_path), "%s/passwd", dir);
    snprintf(line, sizeof(line), "KF-XH-0001:%s\n", v);
    write_text(pw_path, line, 0644); /* the broker may run as user mosquitto */
    chmod(dir, 0755);
    port = kf_test_free_port();
    snprintf(conf_path, sizeof(conf_path), "%s/broker.conf", dir);
    snprintf(log_path, sizeof(log_path), "%s/broker.log", dir);
    snprintf(extra, sizeof(extra), "allow_anonymous false\npassword_file %s\n", pw_path);
    broker = kf_test_mosquitto_start(port, conf_path, log_path, extra);

    snprintf(port_s, sizeof(port_s), "%d", port);
    char *good[] = {MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", port_s, "-u", "KF-XH-0001", "-P", pw,
                    "-q",          "1",  "-t",        "x",  "-m",   "x",  NULL};
    char *bad[] = {MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", port_s, "-u", "KF-XH-0001", "-P",
                   "wrong",       "-q", "1",         "-t", "x",    "-m", "x",          NULL};
    int rc_good = run(good), rc_bad = run(bad);

    kf_test_stop(broker, 10000);
    cr_assert_eq(rc_good, 0, "mosquitto refused the right password (see %s)", log_path);
    cr_assert_neq(rc_bad, 0, "mosquitto accepted a wrong password");
}
