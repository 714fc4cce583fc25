/* registry.h: an immutable, reference-counted snapshot of the device registry, for
 * verifying frames off the loop thread without locks.
 *
 * The loop thread owns the current snapshot; each verification job takes a reference when
 * it is queued and drops it when done. A reload builds a new snapshot and swaps it in; the
 * old one is freed when its last job finishes. Lookups are O(1) (hash on device id).
 */
#ifndef KF_STORE_REGISTRY_H
#define KF_STORE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

#define KF_ASSET_ID_MAX 32
#define KF_ZONE_ID_MAX 32

enum kf_device_kind {
    KF_KIND_KIOSK = 1, /* leased government-service kiosk */
    KF_KIND_ITM = 2,   /* bank-owned intelligent teller machine */
};

enum kf_key_status {
    KF_KEY_ACTIVE = 1,
    KF_KEY_RETIRED = 2, /* rotated out: old evidence verifies, new frames refused */
    KF_KEY_REVOKED = 3,
};

struct kf_reg_key {
    uint32_t epoch;
    uint8_t status; /* enum kf_key_status */
    uint8_t pk[32];
};

struct kf_reg_device {
    char device_id[KF_DEVICE_ID_MAX + 1];
    char asset_id[KF_ASSET_ID_MAX + 1];
    char zone_id[KF_ZONE_ID_MAX + 1];
    uint8_t kind; /* enum kf_device_kind */
    uint32_t nkeys;
    struct kf_reg_key *keys;
};

struct kf_registry;

/* Build from an array of devices (deep-copied). Returns owned, refcount 1. 0 or -ENOMEM. */
int kf_store_registry_new(const struct kf_reg_device *devs, size_t n, struct kf_registry **ret);
/* Any thread; the count is atomic. unref(NULL) is a no-op; the last unref frees. */
struct kf_registry *kf_store_registry_ref(struct kf_registry *reg);
void kf_store_registry_unref(struct kf_registry *reg);

/* Borrowed pointers valid while the caller holds a reference. NULL if unknown. */
const struct kf_reg_device *kf_store_registry_find(const struct kf_registry *reg,
                                                   const char *device_id);
const struct kf_reg_key *kf_store_registry_key(const struct kf_reg_device *dev, uint32_t epoch);
size_t kf_store_registry_count(const struct kf_registry *reg);

#endif
