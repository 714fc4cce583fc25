/* config.h: kioskd's configuration file (INI, docs/KIOSKD.md), on the kf_conf engine.
 *
 * Each subsystem owns its section and registers it from its own file: [mqtt] is the link's
 * (link.h), [limits] the pipeline's (pipeline.h), [broker] brokersync's, [sla] the SLA
 * service's (slasvc.h); [store], [server] and [log] are the daemon's own (config.c). This
 * file learns no subsystem's key: a new section is its subsystem's table, a member below
 * and one line in config.c's list of sections. Unknown sections and keys are errors;
 * errors name file:line. Loaded once by main before the loop starts.
 */
#ifndef KF_KIOSKD_CONFIG_H
#define KF_KIOSKD_CONFIG_H

#include <stddef.h>

#include <kf/log.h>

#include "kioskd/brokersync.h"
#include "kioskd/blobsvc.h"
#include "kioskd/cmdsvc.h"
#include "kioskd/link.h"
#include "kioskd/pipeline.h"
#include "kioskd/reportsvc.h"
#include "kioskd/slasvc.h"

struct kf_kioskd_config {
    /* [store] */
    char store_path[512]; /* required */
    /* [server] */
    char key_file[512];      /* required: Ed25519 secret key (kf_keyfile_read) */
    int heartbeat_timeout_s; /* 180, 10..86400 */
    int stats_interval_s;    /* 10, 1..3600 */
    char stats_file[512];    /* optional; empty: none */
    char metrics_file[512];  /* optional: the stats in the Prometheus text format (metrics.h) */
    /* [log] */
    enum kf_log_level log_level; /* info */
    /* the subsystems' sections */
    struct kf_link_config mqtt;
    struct kf_pipeline_config limits;
    struct kf_brokersync_config broker;
    struct kf_slasvc_config sla;
    struct kf_reportsvc_config reports;
    struct kf_cmdsvc_config commands;
    struct kf_blobsvc_config blobs;
};

/* Fill cfg with every default (required strings empty). 0, or -EINVAL for a table bug. */
int kf_config_defaults(struct kf_kioskd_config *cfg);

/* Parse path over the defaults. Returns 0, -ENOENT (cannot open), -EINVAL (bad content:
 * a message naming path:line, or the keys that disagree, is written into err, cap bytes,
 * when err is not NULL). cfg is written only on success. Borrows path. Main thread. */
int kf_config_load(const char *path, struct kf_kioskd_config *cfg, char *err, size_t cap);

/* Same from a string (tests); name is used in messages. */
int kf_config_load_string(const char *text, const char *name, struct kf_kioskd_config *cfg,
                          char *err, size_t cap);

#endif
