/* store/sqlite/devices.c: registering a device (store.h) and loading the registry snapshot
 * verification works from (store/registry.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/notify.h>
#include <kf/record.h>
#include <kf/time.h>

#include "store/registry.h"
#include "store/store.h"
#include "store/sqlite/int.h"

int kf_store_register_device(struct kf_store *st, const struct kf_device_reg *reg)
{
    int64_t now = kf_now_ms();
    sqlite3_stmt *s = NULL;
    int r, rc, own;

    st->errmsg[0] = '\0';
    if (!reg || !kf_device_id_valid(reg->device_id) || !reg->asset_id || !reg->asset_id[0] ||
        strlen(reg->asset_id) > KF_ASSET_ID_MAX || !reg->zone_id ||
        strlen(reg->zone_id) > KF_ZONE_ID_MAX ||
        (reg->kind != KF_KIND_KIOSK && reg->kind != KF_KIND_ITM)) {
        kf__store_seterr(st, "register: invalid device id, asset id, zone or kind");
        return -EINVAL;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = kf__store_exists(st, ST_DEV_EXISTS, reg->device_id);
    if (r < 0)
        goto out;
    if (r == 1) {
        kf__store_seterr(st, "device %s is already registered", reg->device_id);
        r = -EEXIST;
        goto out;
    }
    r = kf__store_exists(st, ST_ZONE_EXISTS, reg->zone_id);
    if (r < 0)
        goto out;
    if (r == 0) {
        kf__store_seterr(st, "unknown zone %s", reg->zone_id);
        r = -ENOENT;
        goto out;
    }

    r = kf__store_stmt(st, ST_ASSET_GET, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->asset_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        /* An asset keeps its identity when its board or key is replaced; it must not
         * silently change kind or zone through a re-registration. */
        int kind = sqlite3_column_int(s, 0);
        int same_zone = strcmp((const char *)sqlite3_column_text(s, 1), reg->zone_id) == 0;

        kf__store_stmt_done(s);
        if (kind != reg->kind || !same_zone) {
            kf__store_seterr(st, "asset %s exists with another kind or zone", reg->asset_id);
            r = -EINVAL;
            goto out;
        }
    } else if (rc == SQLITE_DONE) {
        kf__store_stmt_done(s);
        r = kf__store_stmt(st, ST_ASSET_INSERT, &s);
        if (r < 0)
            goto out;
        sqlite3_bind_text(s, 1, reg->asset_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, reg->kind);
        sqlite3_bind_text(s, 3, reg->zone_id, -1, SQLITE_STATIC);
        if (reg->lease_ref)
            sqlite3_bind_text(s, 4, reg->lease_ref, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 4);
        sqlite3_bind_int64(s, 5, now);
        r = kf__store_stmt_run(st, s, "insert asset");
        if (r < 0)
            goto out;
    } else {
        r = kf__store_sql_fail(st, rc, "asset lookup");
        kf__store_stmt_done(s);
        goto out;
    }

    r = kf__store_stmt(st, ST_DEV_INSERT, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, reg->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    r = kf__store_stmt_run(st, s, "insert device");
    if (r < 0)
        goto out;

    r = kf__store_stmt(st, ST_KEY_INSERT, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, reg->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, 1);
    sqlite3_bind_blob(s, 3, reg->pk, 32, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, KF_KEY_ACTIVE);
    sqlite3_bind_int64(s, 5, now);
    r = kf__store_stmt_run(st, s, "insert key");
out:
    return kf__store_txn_leave(st, own, r);
}

static void reg_devs_free(struct kf_reg_device *devs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(devs[i].keys);
    free(devs);
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);

    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int kf_store_load_registry(struct kf_store *st, struct kf_registry **ret)
{
    struct kf_reg_device *devs = NULL, *d = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = NULL;
    int r, rc;

    st->errmsg[0] = '\0';
    /* One read transaction, so devices and keys come from the same snapshot. */
    r = kf__store_exec_sql(st, "BEGIN");
    if (r < 0)
        return r;
    r = kf__store_stmt(st, ST_REG_DEVICES, &s);
    if (r < 0)
        goto out_end;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct kf_reg_device *nd = realloc(devs, ncap * sizeof(*nd));

            if (!nd) {
                r = -ENOMEM;
                break;
            }
            devs = nd;
            cap = ncap;
        }
        d = &devs[n++];
        memset(d, 0, sizeof(*d));
        copy_col(d->device_id, sizeof(d->device_id), s, 0);
        copy_col(d->asset_id, sizeof(d->asset_id), s, 1);
        copy_col(d->zone_id, sizeof(d->zone_id), s, 2);
        d->kind = (uint8_t)sqlite3_column_int(s, 3);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "registry devices");
    kf__store_stmt_done(s);
    if (r < 0)
        goto out_end;

    /* Both lists are ordered by device id: merge. */
    r = kf__store_stmt(st, ST_REG_KEYS, &s);
    if (r < 0)
        goto out_end;
    size_t di = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        struct kf_reg_key *k;

        while (di < n && strcmp(devs[di].device_id, id) < 0)
            di++;
        if (di == n || strcmp(devs[di].device_id, id) != 0 || sqlite3_column_bytes(s, 3) != 32)
            continue; /* a key without a device cannot exist (FK); a bad blob is skipped */
        d = &devs[di];
        k = realloc(d->keys, (d->nkeys + 1) * sizeof(*k));
        if (!k) {
            r = -ENOMEM;
            break;
        }
        d->keys = k;
        k = &d->keys[d->nkeys++];
        k->epoch = (uint32_t)sqlite3_column_int64(s, 1);
        k->status = (uint8_t)sqlite3_column_int(s, 2);
        memcpy(k->pk, sqlite3_column_blob(s, 3), 32);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "registry keys");
    kf__store_stmt_done(s);
    if (r < 0)
        goto out_end;
    r = kf_store_registry_new(devs, n, ret);

out_end:
    kf__store_exec_sql(st, "COMMIT");
    reg_devs_free(devs, n);
    return r;
}
