/* test_config.c: kioskd's key table: defaults, bounds, unknown keys, file:line errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

Test(config, defaults_and_required)
{
    struct kf_kioskd_config c;
    char err[256];
    int rc;

    rc = kf_config_load_string("[store]\npath = /tmp/x.db\n[server]\nkey_file = /tmp/k\n", "t.ini",
                               &c, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(c.store_path, "/tmp/x.db");
    cr_assert_str_eq(c.mqtt_uri, "tcp://127.0.0.1:1883");
    cr_assert_str_eq(c.mqtt_client_id, "kioskd");
    cr_assert_eq(c.mqtt_keepalive_s, 30);
    cr_assert_eq(c.heartbeat_timeout_s, 180);
    cr_assert_eq(c.stats_interval_s, 10);
    cr_assert_eq(c.stats_file[0], '\0');
    cr_assert_eq(c.inbox_max, 20000);
    cr_assert_eq(c.verify_batch_max, 256);
    cr_assert_eq(c.verify_jobs_max, 2);
    cr_assert_eq(c.commit_batch_max, 5000);
    cr_assert_eq(c.log_level, KF_LOG_INFO);
}

Test(config, missing_required_key)
{
    struct kf_kioskd_config c;
    char err[256];

    cr_assert_eq(
        kf_config_load_string("[store]\npath = /tmp/x.db\n", "t.ini", &c, err, sizeof(err)),
        -EINVAL);
    cr_assert(strstr(err, "server.key_file") != NULL, "%s", err);
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
    cr_assert_eq(c.inbox_max, 100);
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
