/* main.c: kioskd's command line. Everything else is in kioskd.c (the library). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/mqtt.h>
#include <kf/time.h>

#include "kioskd/config.h"
#include "kioskd/kioskd.h"
#include "kioskd/slasvc.h"

static void kf_usage(FILE *f)
{
    fputs("usage: kioskd -c FILE [--check]\n"
          "  -c, --config FILE  configuration (INI; see docs/KIOSKD.md)\n"
          "      --check        validate the configuration and the key file, then exit\n"
          "  -h, --help         this text\n",
          f);
}

int main(int argc, char **argv)
{
    struct kf_kioskd_config cfg;
    struct kf_kioskd *kd = NULL;
    const char *path = NULL;
    char err[512];
    int check = 0, rc;

    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            kf_usage(stdout);
            return 0;
        } else {
            kf_usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        kf_usage(stderr);
        return 2;
    }
    kf_log_set_ident("kioskd");
    /* SQLite's allocation statistics take a global mutex on every malloc and free; kioskd
     * never reads them, and the store thread allocates per row. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sodium_init() < 0) {
        kf_err("libsodium: initialization failed");
        return 1;
    }
    kf_mqtt_global_init();
    rc = kf_config_load(path, &cfg, err, sizeof(err));
    if (rc != 0) {
        kf_err("config: %s", err);
        return 1;
    }
    kf_log_set_level(cfg.log_level);
    rc = kf_link_config_read_password(&cfg.mqtt, err, sizeof(err));
    if (rc != 0) {
        kf_err("config: %s: %s", path, err);
        return 1;
    }
    if (check) {
        uint8_t sk[64];
        sodium_memzero(cfg.mqtt.password, sizeof(cfg.mqtt.password));
        rc = kf_keyfile_read(cfg.key_file, sk);
        sodium_memzero(sk, sizeof(sk));
        if (rc != 0) {
            kf_err("config: %s: [server] key_file %s: %s", path, cfg.key_file, kf_strerror(rc));
            return 1;
        }
        if (cfg.sla.calendar_dir[0] != '\0') {
            rc = kf_slasvc_check_calendars(cfg.sla.calendar_dir, kf_now_ms(), err, sizeof(err));
            if (rc < 0) {
                kf_err("config: %s: %s", path, err);
                return 1;
            }
            if (rc == 1) /* starts anyway: ingest must not wait for a calendar */
                kf_warn("config: %s: %s: add this year's file", path, err);
        }
        printf("%s: OK\n", path);
        return 0;
    }
    /* Paho writes to sockets the peer may have closed. */
    signal(SIGPIPE, SIG_IGN);

    rc = kf_kioskd_new(&cfg, &kd);
    sodium_memzero(cfg.mqtt.password, sizeof(cfg.mqtt.password)); /* kd has its own copy */
    if (rc != 0) {
        return 1;
    }
    rc = kf_kioskd_run(kd);
    kf_kioskd_free(kd);
    return rc == 0 ? 0 : 1;
}
