/* blobsvc.c: kioskd's bundles (blobsvc.h). */
#include "kioskd/blobsvc.h"

#include "store/blobs.h"

static const struct kf_conf_key blobs_keys[] = {
    KF_CONF_KEY_INT("max_total_mb", struct kf_blobsvc_config, max_total_mb, 16, 1048576, "1024", 0),
    KF_CONF_KEY_INT("keep_days", struct kf_blobsvc_config, keep_days, 1, 3650, "30", 0),
};

void kf_blobsvc_config_section(struct kf_blobsvc_config *cfg, struct kf_conf_section *ret)
{
    *ret = (struct kf_conf_section){"blobs", blobs_keys, sizeof(blobs_keys) / sizeof(blobs_keys[0]),
                                    cfg, NULL};
}

void kf_blobsvc_apply(const struct kf_blobsvc_config *cfg, struct kf_store *st)
{
    kf_store_blob_limits(st, (uint64_t)cfg->max_total_mb * 1024 * 1024, (uint32_t)cfg->keep_days);
}
