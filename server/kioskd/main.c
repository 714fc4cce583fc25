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
#include "store/store.h"

static void kf_usage(FILE *f)
{
    fputs("usage: kioskd -c FILE [--check]\n"
          "  -c, --config FILE  configuration (INI; see docs/KIOSKD.md)\n"
          "      --check        validate the configuration, the key file and the store (read\n"
          "                     only), then exit\n"
          "  -h, --help         this text\n",
          f);
}

/* --check: the store exists, has a schema this kioskd can serve (or migrate to), and a
 * deployment; read only, changes nothing. 0, or -1 after logging why. */
static int check_store(const char *conf, const char *db)
{
    struct kf_store_info in;
    long holder;
    int rc = kf_store_inspect(db, &in);

    if (rc == -ENOENT) {
        kf_err("config: %s: [store] path %s: no such store; create it with kiosk-provision "
               "init --db %s",
               conf, db, db);
        return -1;
    }
    if (rc != 0) {
        kf_err("config: %s: [store] path %s: %s", conf, db, kf_strerror(rc));
        return -1;
    }
    if (in.schema > in.schema_current) {
        kf_err("config: %s: [store] path %s: schema version %d is newer than this kioskd's (%d)",
               conf, db, in.schema, in.schema_current);
        return -1;
    }
    if (in.units <= 0 || in.banks <= 0 || in.zones <= 0 || in.items <= 0) {
        kf_err("config: %s: [store] path %s: no deployment loaded (%lld units, %lld banks, %lld "
               "zones, %lld items); load it with kiosk-provision init --fixtures",
               conf, db, (long long)in.units, (long long)in.banks, (long long)in.zones,
               (long long)in.items);
        return -1;
    }
    if (in.schema < in.schema_current)
        kf_notice("config: %s: [store] path %s: schema version %d; kioskd will migrate it to %d",
                  conf, db, in.schema, in.schema_current);
    holder = kf_store_writer_pid(db);
    if (holder != 0)
        kf_warn("config: %s: [store] path %s: served now by kioskd pid %ld: a second kioskd "
                "on it would not start",
                conf, db, holder);
    printf("%s: store %s: schema %d, %lld units, %lld banks, %lld zones, %lld items, %lld "
           "devices\n",
           conf, db, in.schema, (long long)in.units, (long long)in.banks, (long long)in.zones,
           (long long)in.items, (long long)in.devices);
    return 0;
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
        rc = check_store(path, cfg.store_path);
        if (rc != 0)
            return 1;
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
