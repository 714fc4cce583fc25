/* blobsvc.h: kioskd's bundles (docs/KIOSKD.md "[blobs]", store/blobs.h): the chunks of the
 * bundles terminals send (the logs of a logs command) are stored by the ingest, in the
 * group commit, and answered with BLOB_ACKs (job_commit.c); this file holds the bounds the
 * store applies: bytes of all bundles kept, and how long a whole one is kept.
 *
 * Threads: main thread, before the writer starts.
 */
#ifndef KF_KIOSKD_BLOBSVC_H
#define KF_KIOSKD_BLOBSVC_H

#include <kf/conf.h>

#include "store/store.h"

/* [blobs] in kioskd's configuration (docs/KIOSKD.md). */
struct kf_blobsvc_config {
    int max_total_mb; /* 1024, 16..1048576: all bundles kept; a new one past it is refused */
    int keep_days;    /* 30, 1..3650: a whole bundle is kept this long after it completed */
};

void kf_blobsvc_config_section(struct kf_blobsvc_config *cfg, struct kf_conf_section *ret);
/* Give the writer's store the bounds (before the writer's first job). */
void kf_blobsvc_apply(const struct kf_blobsvc_config *cfg, struct kf_store *st);

#endif
