/* test_agent_config.c: the agent INI table: defaults, bounds, unknown keys, file:line. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kf/log.h>

#include "core/config.h"

static char path[64];

static const char *write_ini(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/kf-test-config-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void cleanup(void)
{
    if (path[0])
        unlink(path);
}

#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define MINIMAL                                                                                    \
    "[device]\nid = KF-XH-0001\nkey_file = /etc/kf/dev.key\n"                                      \
    "server_public_key = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"       \
    "[mqtt]\nuri = tcp://127.0.0.1:1883\n"                                                         \
    "[outbox]\npath = outbox.db\n"

Test(agent_config, defaults_fill_every_optional_key, .fini = cleanup)
{
    struct kf_agent_config c;
    char err[256];

    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL), &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.device_id, "KF-XH-0001");
    cr_assert_eq(c.key_epoch, 1);
    cr_assert_eq(c.kind, KF_KIND_KIOSK);
    cr_assert_eq(c.keepalive_s, 30);
    cr_assert_eq(c.reconnect_min_ms, 500);
    cr_assert_eq(c.reconnect_max_ms, 60000);
    cr_assert_eq(c.reconnect_spread_ms, 5000);
    cr_assert_eq(c.connect_timeout_s, 30);
    cr_assert_eq(c.outbox_max_records, 500000);
    cr_assert_eq(c.outbox_max_bytes, 268435456);
    cr_assert_eq(c.outbox_max_health, 20160);
    cr_assert_eq(c.batch_max_records, 200);
    cr_assert_eq(c.batch_max_bytes, 48000);
    cr_assert_eq(c.flush_interval_ms, 2000);
    cr_assert_eq(c.inflight_max, 4);
    cr_assert_eq(c.ack_timeout_ms, 30000);
    cr_assert_eq(c.health_interval_s, 60);
    cr_assert_str_eq(c.disk_path, "/");
    cr_assert_str_eq(c.thermal_dir, "/sys/class/thermal");
    cr_assert_eq(c.app_max_line, 4096);
    cr_assert_eq(c.app_id_keep_days, 30);
    cr_assert_eq(c.app_id_max, 100000);
    cr_assert_eq(c.log_level, KF_LOG_INFO);
    /* relative paths are relative to the ini's directory */
    cr_assert_str_eq(c.outbox_path, "/tmp/outbox.db");
    cr_assert_str_eq(c.key_file, "/etc/kf/dev.key");
}

Test(agent_config, reads_every_key, .fini = cleanup)
{
    struct kf_agent_config c;
    char err[256];
    const char *ini =
        MINIMAL "[device]\nkey_epoch = 3\nkind = itm\n"
                "[batch]\nmax_records = 1000\ninflight_max = 8\n[log]\nlevel = debug\n"
                "[app]\nsocket = /run/x.sock\nmax_line = 8192\napp_id_keep_days = 7\n"
                "app_id_max = 5000\n";

    cr_assert_eq(kf_agent_config_load(write_ini(ini), &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.key_epoch, 3);
    cr_assert_eq(c.kind, KF_KIND_ITM);
    cr_assert_eq(c.server_pk[1], 0x11);
    cr_assert_eq(c.batch_max_records, 1000);
    cr_assert_eq(c.inflight_max, 8);
    cr_assert_eq(c.log_level, KF_LOG_DEBUG);
    cr_assert_str_eq(c.app_socket, "/run/x.sock");
    cr_assert_eq(c.app_max_line, 8192);
    cr_assert_eq(c.app_id_keep_days, 7);
    cr_assert_eq(c.app_id_max, 5000);
}

Test(agent_config, unknown_key_names_file_and_line, .fini = cleanup)
{
    struct kf_agent_config c;
    char err[256], want[128];

    cr_assert_eq(
        kf_agent_config_load(write_ini(MINIMAL "[batch]\nmax_recs = 5\n"), &c, err, sizeof(err)),
        -EINVAL);
    snprintf(want, sizeof(want), "%s:10: unknown key [batch] max_recs", path);
    cr_assert_str_eq(err, want);
}

Test(agent_config, bounds_are_enforced, .fini = cleanup)
{
    struct kf_agent_config c;
    char err[256];

    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[batch]\nmax_records = 1001\n"), &c, err,
                                      sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, ":10:") && strstr(err, "out of range"), "%s", err);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[batch]\ninflight_max = 0\n"), &c, err,
                                      sizeof(err)),
                 -EINVAL);
    unlink(path);
    cr_assert_eq(
        kf_agent_config_load(write_ini(MINIMAL "[mqtt]\nkeepalive_s = -1\n"), &c, err, sizeof(err)),
        -EINVAL);
    cr_assert(strstr(err, "not an unsigned integer"), "%s", err);
    unlink(path);
    cr_assert_eq(
        kf_agent_config_load(write_ini(MINIMAL "[device]\nkind = atm\n"), &c, err, sizeof(err)),
        -EINVAL);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[app]\napp_id_keep_days = 0\n"), &c, err,
                                      sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, ":10:") && strstr(err, "out of range"), "%s", err);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[app]\napp_id_max = 10000001\n"), &c, err,
                                      sizeof(err)),
                 -EINVAL);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[device]\nserver_public_key = abc\n"), &c,
                                      err, sizeof(err)),
                 -EINVAL);
    unlink(path);
    cr_assert_eq(
        kf_agent_config_load(
            write_ini(MINIMAL "[mqtt]\nreconnect_min_ms = 5000\nreconnect_max_ms = 1000\n"), &c,
            err, sizeof(err)),
        -EINVAL);
}

Test(agent_config, missing_required_key_and_bad_id, .fini = cleanup)
{
    struct kf_agent_config c;
    char err[256];

    cr_assert_eq(kf_agent_config_load(write_ini("[device]\nid = KF-1\nkey_file = k\n"
                                                "server_public_key = " KEY_HEX "\n"
                                                "[outbox]\npath = o.db\n"),
                                      &c, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "missing [mqtt] uri"), "%s", err);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini("[device]\nid = bad id!\n"), &c, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, ":2:"), "%s", err);
    unlink(path);
    cr_assert_eq(kf_agent_config_load("/nonexistent/agent.ini", &c, err, sizeof(err)), -ENOENT);
}

Test(agent_config, server_public_key_is_required, .fini = cleanup)
{
    struct kf_agent_config c;
    char err[256];

    /* An ACK deletes records: an agent that cannot check who signed one must not start. */
    cr_assert_lt(kf_agent_config_load(write_ini("[device]\nid = KF-XH-0001\nkey_file = k\n"
                                                "[mqtt]\nuri = tcp://127.0.0.1:1883\n"
                                                "[outbox]\npath = o.db\n"),
                                      &c, err, sizeof(err)),
                 0);
    cr_assert(strstr(err, "server_public_key") != NULL, "%s", err);
}

/* The broker password is read from its own 0600 file; never from the INI itself. */
Test(agent_config, broker_credentials, .fini = cleanup)
{
    struct kf_agent_config c;
    char pw[64], ini[1024], err[512], want[600];
    int fd;

    snprintf(pw, sizeof(pw), "/tmp/kf-test-pw-XXXXXX");
    fd = mkstemp(pw);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "s3cret-Pw_x\n", 12), 12);
    close(fd);
    cr_assert_eq(chmod(pw, 0600), 0);

    snprintf(ini, sizeof(ini),
             "[device]\nid = KF-XH-0001\nkey_file = k\nserver_public_key = " KEY_HEX "\n"
             "[mqtt]\nuri = ssl://127.0.0.1:8883\nca_file = ca.crt\nusername = KF-XH-0001\n"
             "password_file = %s\n[outbox]\npath = o.db\n",
             pw);
    cr_assert_eq(kf_agent_config_load(write_ini(ini), &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.ca_file, "/tmp/ca.crt");
    cr_assert_str_eq(c.username, "KF-XH-0001");
    cr_assert_str_eq(c.password, "s3cret-Pw_x");
    unlink(path);

    /* group-readable: refused, naming the line */
    cr_assert_eq(chmod(pw, 0640), 0);
    cr_assert_eq(kf_agent_config_load(write_ini(ini), &c, err, sizeof(err)), -EPERM);
    snprintf(want, sizeof(want), "%s:9: [mqtt] password_file %s: readable by group", path, pw);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
    unlink(path);
    unlink(pw);
    cr_assert_eq(kf_agent_config_load(write_ini(ini), &c, err, sizeof(err)), -ENOENT);
    unlink(path);

    /* a CA for a plain-TCP broker is a mistake, not something to ignore */
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[mqtt]\nca_file = /etc/ca.crt\n"), &c, err,
                                      sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "ca_file needs an ssl://"), "%s", err);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[mqtt]\npassword_file = /etc/pw\n"), &c,
                                      err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "without a username"), "%s", err);
    unlink(path);
    /* no password in the INI itself */
    cr_assert_eq(
        kf_agent_config_load(write_ini(MINIMAL "[mqtt]\npassword = x\n"), &c, err, sizeof(err)),
        -EINVAL);
    cr_assert(strstr(err, "unknown key [mqtt] password"), "%s", err);
}

Test(agent_config, update_keys_defaults_and_bounds, .fini = cleanup)
{
    static const uint8_t zero[32];
    struct kf_agent_config c;
    char err[256];

    /* Defaults: no release key (update commands refused), the root installer's request
     * (agent/hooks), bounded times. */
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL), &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memcmp(c.release_pk, zero, 32), 0);
    cr_assert_str_eq(c.install_hook, "/usr/lib/kioskfleet/kiosk-agent-install-request");
    cr_assert_eq(c.install_timeout_s, 600);
    cr_assert_eq(c.update_health_s, 120);
    cr_assert_str_eq(c.agent_package, "kiosk-agent");
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[update]\nrelease_public_key = " KEY_HEX
                                                        "\nhealth_s = 5\ninstall_timeout_s = 3600\n"
                                                        "agent_package = kf-agent\n"),
                                      &c, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(c.release_pk[1], 0x11);
    cr_assert_eq(c.update_health_s, 5);
    cr_assert_eq(c.install_timeout_s, 3600);
    cr_assert_str_eq(c.agent_package, "kf-agent");
    unlink(path);
    /* Out of bounds, each naming its line. */
    cr_assert_eq(
        kf_agent_config_load(write_ini(MINIMAL "[update]\nhealth_s = 4\n"), &c, err, sizeof(err)),
        -EINVAL);
    cr_assert(strstr(err, ":10:") && strstr(err, "out of range"), "%s", err);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[update]\ninstall_timeout_s = 3601\n"), &c,
                                      err, sizeof(err)),
                 -EINVAL);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[update]\nrelease_public_key = 0011\n"),
                                      &c, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "64 hex digits"), "%s", err);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[update]\nagent_package = Kiosk Agent\n"),
                                      &c, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "Debian package name"), "%s", err);
    unlink(path);
    cr_assert_eq(kf_agent_config_load(write_ini(MINIMAL "[update]\nhook = /bin/true\n"), &c, err,
                                      sizeof(err)),
                 -EINVAL);
}
