/* test_registry.c: the immutable, refcounted registry snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "store/registry.h"

static struct kf_reg_device dev(const char *id, int kind, struct kf_reg_key *keys, uint32_t n)
{
    struct kf_reg_device d;

    memset(&d, 0, sizeof(d));
    snprintf(d.device_id, sizeof(d.device_id), "%s", id);
    snprintf(d.asset_id, sizeof(d.asset_id), "A-%s", id);
    snprintf(d.zone_id, sizeof(d.zone_id), "Z-1");
    d.kind = (uint8_t)kind;
    d.keys = keys;
    d.nkeys = n;
    return d;
}

Test(registry, lookup_finds_devices_and_keys)
{
    struct kf_reg_key keys[2] = {{.epoch = 1, .status = KF_KEY_RETIRED},
                                 {.epoch = 2, .status = KF_KEY_ACTIVE}};
    struct kf_reg_device devs[2];
    struct kf_registry *reg;
    const struct kf_reg_device *d;
    const struct kf_reg_key *k;

    memset(keys[1].pk, 0x5a, sizeof(keys[1].pk));
    devs[0] = dev("KF-XH-0001", KF_KIND_KIOSK, keys, 2);
    devs[1] = dev("KF-WG-0001", KF_KIND_ITM, NULL, 0);
    cr_assert_eq(kf_store_registry_new(devs, 2, &reg), 0);
    /* A deep copy: the caller's arrays may go away. */
    memset(keys, 0, sizeof(keys));
    memset(devs, 0, sizeof(devs));

    cr_assert_eq(kf_store_registry_count(reg), 2);
    d = kf_store_registry_find(reg, "KF-XH-0001");
    cr_assert_not_null(d);
    cr_assert_str_eq(d->asset_id, "A-KF-XH-0001");
    cr_assert_eq(d->kind, KF_KIND_KIOSK);
    k = kf_store_registry_key(d, 2);
    cr_assert_not_null(k);
    cr_assert_eq(k->status, KF_KEY_ACTIVE);
    cr_assert_eq(k->pk[31], 0x5a);
    cr_assert_eq(kf_store_registry_key(d, 1)->status, KF_KEY_RETIRED);
    cr_assert_null(kf_store_registry_key(d, 3));
    d = kf_store_registry_find(reg, "KF-WG-0001");
    cr_assert_not_null(d);
    cr_assert_eq(d->nkeys, 0);
    cr_assert_null(kf_store_registry_key(d, 1));
    cr_assert_null(kf_store_registry_find(reg, "KF-XH-0002"));
    cr_assert_null(kf_store_registry_find(reg, ""));
    kf_store_registry_unref(reg);
}

Test(registry, many_devices_all_found)
{
    enum { N = 5000 };
    struct kf_reg_device *devs = calloc(N, sizeof(*devs));
    struct kf_registry *reg;
    char id[32];

    cr_assert_not_null(devs);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "KF-%02d-%04d", i % 10, i);
        devs[i] = dev(id, KF_KIND_KIOSK, NULL, 0);
    }
    cr_assert_eq(kf_store_registry_new(devs, N, &reg), 0);
    free(devs);
    cr_assert_eq(kf_store_registry_count(reg), N);
    for (int i = 0; i < N; i++) {
        const struct kf_reg_device *d;

        snprintf(id, sizeof(id), "KF-%02d-%04d", i % 10, i);
        d = kf_store_registry_find(reg, id);
        cr_assert_not_null(d, "%s", id);
        cr_assert_str_eq(d->device_id, id);
    }
    cr_assert_null(kf_store_registry_find(reg, "KF-00-5000"));
    kf_store_registry_unref(reg);
}

Test(registry, ref_and_unref_keep_snapshot_alive)
{
    struct kf_reg_device d = dev("KF-XH-0001", KF_KIND_KIOSK, NULL, 0);
    struct kf_registry *reg, *r2;

    cr_assert_eq(kf_store_registry_new(&d, 1, &reg), 0);
    r2 = kf_store_registry_ref(reg);
    cr_assert_eq(r2, reg);
    kf_store_registry_unref(reg);
    /* Still alive through the second reference (ASan would flag a use after free). */
    cr_assert_not_null(kf_store_registry_find(r2, "KF-XH-0001"));
    kf_store_registry_unref(r2);
    kf_store_registry_unref(NULL);
    cr_assert_null(kf_store_registry_ref(NULL));
}

Test(registry, empty_registry_finds_nothing)
{
    struct kf_registry *reg;

    cr_assert_eq(kf_store_registry_new(NULL, 0, &reg), 0);
    cr_assert_eq(kf_store_registry_count(reg), 0);
    cr_assert_null(kf_store_registry_find(reg, "KF-XH-0001"));
    kf_store_registry_unref(reg);
}
