/* Keyfile: atomic 0600 writes, permission checks, strict hex. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/keyfile.h>

static char dir[64];
static char path[128];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    snprintf(dir, sizeof(dir), "/tmp/kf-keyfile-XXXXXX");
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/device.key", dir);
}

static void teardown(void)
{
    char cmd[256];

    unlink(path);
    snprintf(cmd, sizeof(cmd), "%s/other.key", dir);
    unlink(cmd);
    rmdir(dir);
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
