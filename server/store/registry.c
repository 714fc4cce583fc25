/* registry.c: an immutable snapshot of the device registry, looked up by an open-addressing
 * hash table (FNV-1a, linear probing, load factor <= 1/2). Built once, never modified, so
 * any number of threads read it without locks; only the refcount is shared and atomic. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/registry.h"

struct kf_registry {
    atomic_uint refs;
    size_t n;
    struct kf_reg_device *devs; /* deep copies, n entries */
    size_t nslots;              /* power of two */
    uint32_t *slots;            /* index + 1 into devs; 0 = empty */
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static void registry_free(struct kf_registry *reg)
{
    for (size_t i = 0; i < reg->n; i++)
        free(reg->devs[i].keys);
    free(reg->devs);
    free(reg->slots);
    free(reg);
}

int kf_store_registry_new(const struct kf_reg_device *devs, size_t n, struct kf_registry **ret)
{
    struct kf_registry *reg;

    if (n > UINT32_MAX / 4 || (n > 0 && !devs))
        return -EINVAL;
    reg = calloc(1, sizeof(*reg));
    if (!reg)
        return -ENOMEM;
    atomic_init(&reg->refs, 1);
    reg->nslots = 16;
    while (reg->nslots < 2 * n)
        reg->nslots *= 2;
    reg->slots = calloc(reg->nslots, sizeof(*reg->slots));
    reg->devs = calloc(n ? n : 1, sizeof(*reg->devs));
    if (!reg->slots || !reg->devs)
        goto out_free;
    for (size_t i = 0; i < n; i++) {
        struct kf_reg_device *d = &reg->devs[reg->n];
        size_t mask = reg->nslots - 1, h;

        /* A duplicate id would make lookups ambiguous: the first one wins. */
        if (kf_store_registry_find(reg, devs[i].device_id))
            continue;
        *d = devs[i];
        d->device_id[KF_DEVICE_ID_MAX] = '\0';
        d->asset_id[KF_ASSET_ID_MAX] = '\0';
        d->zone_id[KF_ZONE_ID_MAX] = '\0';
        d->keys = NULL;
        if (devs[i].nkeys > 0) {
            d->keys = malloc(devs[i].nkeys * sizeof(*d->keys));
            if (!d->keys) {
                d->nkeys = 0;
                goto out_free;
            }
            memcpy(d->keys, devs[i].keys, devs[i].nkeys * sizeof(*d->keys));
        }
        h = (size_t)fnv1a(d->device_id) & mask;
        while (reg->slots[h])
            h = (h + 1) & mask;
        reg->n++;
        reg->slots[h] = (uint32_t)reg->n;
    }
    *ret = reg;
    return 0;

out_free:
    registry_free(reg);
    return -ENOMEM;
}

struct kf_registry *kf_store_registry_ref(struct kf_registry *reg)
{
    if (reg)
        atomic_fetch_add_explicit(&reg->refs, 1, memory_order_relaxed);
    return reg;
}

void kf_store_registry_unref(struct kf_registry *reg)
{
    if (!reg)
        return;
    /* acq_rel: the freeing thread sees every other holder's reads as finished. */
    if (atomic_fetch_sub_explicit(&reg->refs, 1, memory_order_acq_rel) == 1)
        registry_free(reg);
}

const struct kf_reg_device *kf_store_registry_find(const struct kf_registry *reg,
                                                   const char *device_id)
{
    size_t mask, h;

    if (!reg || !device_id)
        return NULL;
    mask = reg->nslots - 1;
    h = (size_t)fnv1a(device_id) & mask;
    while (reg->slots[h]) {
        const struct kf_reg_device *d = &reg->devs[reg->slots[h] - 1];

        if (strcmp(d->device_id, device_id) == 0)
            return d;
        h = (h + 1) & mask;
    }
    return NULL;
}

const struct kf_reg_key *kf_store_registry_key(const struct kf_reg_device *dev, uint32_t epoch)
{
    if (!dev)
        return NULL;
    for (uint32_t i = 0; i < dev->nkeys; i++) {
        if (dev->keys[i].epoch == epoch)
            return &dev->keys[i];
    }
    return NULL;
}

size_t kf_store_registry_count(const struct kf_registry *reg)
{
    return reg ? reg->n : 0;
}
