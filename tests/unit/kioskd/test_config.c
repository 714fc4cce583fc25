/* test_config.c: kioskd's key table: defaults, bounds, unknown keys, file:line errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kioskd/config.h"

Test(config, defaults_and_required)
{
    struct kf_kioskd_config c;
    char err[256];
    int rc;

    rc = kf_config_load_string("[store]\npath = /tmp/x.db\n[server]\nkey_file = /tmp/k\n", "t.ini",
                               &c, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(c.store_path, "/tmp/x.db");
    cr_assert_str_eq(c.mqtt.uri, "tcp://127.0.0.1:1883");
    cr_assert_str_eq(c.mqtt.client_id, "kioskd");
    cr_assert_eq(c.mqtt.keepalive_s, 30);
    cr_assert_eq(c.heartbeat_timeout_s, 180);
    cr_assert_eq(c.stats_interval_s, 10);
    cr_assert_eq(c.stats_file[0], '\0');
    cr_assert_eq(c.limits.inbox_max, 20000);
    cr_assert_eq(c.limits.verify_batch_max, 256);
    cr_assert_eq(c.limits.verify_jobs_max, 2);
    cr_assert_eq(c.limits.commit_batch_max, 5000);
    cr_assert_eq(c.log_level, KF_LOG_INFO);
}

Test(config, missing_required_key)
{
    struct kf_kioskd_config c;
    char err[256];

    cr_assert_eq(
        kf_config_load_string("[store]\npath = /tmp/x.db\n", "t.ini", &c, err, sizeof(err)),
        -EINVAL);
    cr_assert(strstr(err, "[server] key_file") != NULL, "%s", err);
}

Test(config, unknown_key_names_file_and_line)
{
    struct kf_kioskd_config c;
    char err[256];

    cr_assert_eq(kf_config_load_string("[store]\npath = /x\n\n[mqtt]\nurl = tcp://h:1\n", "a.ini",
                                       &c, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "a.ini:5:") != NULL, "%s", err);
    cr_assert(strstr(err, "url") != NULL, "%s", err);
    cr_assert_eq(kf_config_load_string("[nope]\nx = 1\n", "b.ini", &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "b.ini:2:") != NULL, "%s", err);
    cr_assert(strstr(err, "[nope]") != NULL, "%s", err);
}

Test(config, bounds_and_types)
{
    struct kf_kioskd_config c;
    char err[256];
    const char *base = "[store]\npath=/x\n[server]\nkey_file=/k\n";
    char text[512];

    snprintf(text, sizeof(text), "%sheartbeat_timeout_s = 9\n", base);
    cr_assert_eq(kf_config_load_string(text, "c.ini", &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "c.ini:5:") != NULL && strstr(err, "10..86400") != NULL, "%s", err);
    snprintf(text, sizeof(text), "%sheartbeat_timeout_s = 12x\n", base);
    cr_assert_eq(kf_config_load_string(text, "c.ini", &c, err, sizeof(err)), -EINVAL);
    snprintf(text, sizeof(text), "%s[log]\nlevel = loud\n", base);
    cr_assert_eq(kf_config_load_string(text, "c.ini", &c, err, sizeof(err)), -EINVAL);
    snprintf(text, sizeof(text), "%sstats_interval_s = 1\nstats_interval_s = 2\n", base);
    cr_assert_eq(kf_config_load_string(text, "c.ini", &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "twice") != NULL, "%s", err);
    snprintf(text, sizeof(text), "%s[limits]\ninbox_max = 100\n[log]\nlevel = debug\n", base);
    cr_assert_eq(kf_config_load_string(text, "c.ini", &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.limits.inbox_max, 100);
    cr_assert_eq(c.log_level, KF_LOG_DEBUG);
}

Test(config, example_file_parses)
{
    struct kf_kioskd_config c;
    char err[512];

    cr_assert_eq(kf_config_load(KF_SOURCE_DIR "/conf/kioskd.example.ini", &c, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(kf_config_load("/nonexistent/kioskd.ini", &c, err, sizeof(err)), -ENOENT);
}

/* The broker connection: TLS keys, and the password read from its own 0600 file. */
Test(config, broker_credentials)
{
    struct kf_kioskd_config c;
    char pw[64], text[512], err[512];
    int fd;

    snprintf(pw, sizeof(pw), "/tmp/kf-test-kpw-XXXXXX");
    fd = mkstemp(pw);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "server-Secret_1\n", 16), 16);
    close(fd);
    cr_assert_eq(chmod(pw, 0600), 0);
    snprintf(text, sizeof(text),
             "[store]\npath = /x.db\n[server]\nkey_file = /k\n[mqtt]\nuri = ssl://localhost:8883\n"
             "ca_file = /etc/kioskfleet/ca.crt\nusername = _kioskd\npassword_file = %s\n",
             pw);
    cr_assert_eq(kf_config_load_string(text, "k.ini", &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.mqtt.ca_file, "/etc/kioskfleet/ca.crt");
    cr_assert_str_eq(c.mqtt.username, "_kioskd");
    cr_assert_eq(c.mqtt.password[0], '\0', "the loader does not read secrets");
    cr_assert_eq(kf_link_config_read_password(&c.mqtt, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(c.mqtt.password, "server-Secret_1");

    cr_assert_eq(chmod(pw, 0644), 0);
    cr_assert_eq(kf_link_config_read_password(&c.mqtt, err, sizeof(err)), -EPERM);
    cr_assert(strstr(err, "readable by group or others") != NULL, "%s", err);
    unlink(pw);
    cr_assert_eq(kf_link_config_read_password(&c.mqtt, err, sizeof(err)), -ENOENT);

    cr_assert_eq(kf_config_load_string("[store]\npath = /x\n[server]\nkey_file = /k\n"
                                       "[mqtt]\nuri = tcp://h:1\nca_file = /ca.crt\n",
                                       "a.ini", &c, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "a.ini:7: [mqtt] ca_file: needs an ssl://") != NULL, "%s", err);
    cr_assert_eq(kf_config_load_string("[store]\npath = /x\n[server]\nkey_file = /k\n"
                                       "[mqtt]\npassword_file = /pw\n",
                                       "b.ini", &c, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "without [mqtt] username") != NULL, "%s", err);
}

/* [sla]: defaults, bounds, and the cross-key checks of the announcement targets. */
Test(config, sla_keys)
{
    static const char base[] = "[store]\npath = /x\n[server]\nkey_file = /k\n[sla]\n";
    struct kf_kioskd_config c;
    char text[512], err[256];

    cr_assert_eq(kf_config_load_string(base, "s.ini", &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.sla.grace_s, 120);
    cr_assert_eq(c.sla.reopen_window_s, 86400);
    cr_assert_eq(c.sla.tick_s, 5);
    cr_assert_str_eq(c.sla.notify_topic, "kf/v1/_notify/sla");
    cr_assert_str_eq(c.sla.calendar_dir, "");
    cr_assert_str_eq(c.sla.webhook_url, "");
    snprintf(text, sizeof(text),
             "%scalendar_dir = /usr/share/kioskfleet/calendar\ngrace_s = 0\ntick_s = 1\n"
             "notify_topic =\nwebhook_url = https://ops.example/hook\nwebhook_timeout_ms = 2000\n"
             "webhook_retries = 0\n",
             base);
    cr_assert_eq(kf_config_load_string(text, "s.ini", &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.sla.grace_s, 0);
    cr_assert_str_eq(c.sla.notify_topic, "");
    cr_assert_eq(c.sla.webhook_retries, 0);
    static const char *const bad[] = {
        "tick_s = 0\n",
        "grace_s = -1\n",
        "notify_topic = kf/v1/+/sla\n",
        "notify_topic = $SYS/x\n",
        "notify_topic = kf/v1/KF-XH-0001/events\n",
        "webhook_url = ftp://x\n",
        "webhook_timeout_ms = 10\n",
        "webhook_retries = 11\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", base, bad[i]);
        cr_assert_eq(kf_config_load_string(text, "s.ini", &c, err, sizeof(err)), -EINVAL, "%s",
                     bad[i]);
    }
}
