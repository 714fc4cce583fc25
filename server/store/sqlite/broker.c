/* store/sqlite/broker.c: broker accounts (store/broker.h) and their schema, migration v2. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/brokerpw.h>
#include <kf/envelope.h>

#include "store/broker.h"
#include "store/sqlite/int.h"

/* WITHOUT ROWID: a few thousand short rows read whole, in key order, by broker-sync. No
 * foreign key on device_id: an enrollment account may name a device not registered yet. */
const char *const kf__store_schema_broker[] = {
    "CREATE TABLE broker_accounts(username TEXT PRIMARY KEY, verifier TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK(role IN ('server', 'device', 'enroll')), device_id TEXT,"
    " expires_ms INTEGER, created_ms INTEGER NOT NULL) WITHOUT ROWID",
    NULL,
};

static int broker_check(struct kf_store *st, const char *username, const char *role,
                        const char *device_id, const char *verifier, int64_t expires_ms)
{
    if (!username || !kf_device_id_valid(username)) {
        kf__store_seterr(st, "broker account: invalid username (1..%d of [A-Za-z0-9._-])",
                         KF_DEVICE_ID_MAX);
        return -EINVAL;
    }
    if (!role) {
        kf__store_seterr(st, "broker account %s: no role", username);
        return -EINVAL;
    }
    if (strcmp(role, "device") == 0) {
        if (!device_id || strcmp(device_id, username) != 0 ||
            !isalnum((unsigned char)username[0])) {
            kf__store_seterr(st, "broker account %s: a device's username is its device id",
                             username);
            return -EINVAL;
        }
    } else if (strcmp(role, "server") == 0 || strcmp(role, "enroll") == 0) {
        const char *prefix = role[0] == 's' ? "_" : KF_BROKER_USER_ENROLL_PREFIX;

        if (strncmp(username, prefix, strlen(prefix)) != 0 || !username[strlen(prefix)]) {
            kf__store_seterr(st, "broker account %s: a %s account's name starts with \"%s\"",
                             username, role, prefix);
            return -EINVAL;
        }
        if (device_id && !kf_device_id_valid(device_id)) {
            kf__store_seterr(st, "broker account %s: invalid device id", username);
            return -EINVAL;
        }
    } else {
        kf__store_seterr(st, "broker account %s: role must be server, device or enroll", username);
        return -EINVAL;
    }
    /* The verifier becomes a line of the broker's password file: nothing but a "$6$". */
    if (!kf_brokerpw_verifier_valid(verifier)) {
        kf__store_seterr(st, "broker account %s: not a \"$6$\" password verifier", username);
        return -EINVAL;
    }
    if (expires_ms < 0) {
        kf__store_seterr(st, "broker account %s: negative expiry", username);
        return -EINVAL;
    }
    return 0;
}

int kf_store_broker_put(struct kf_store *st, const char *username, const char *role,
                        const char *device_id, const char *verifier, int64_t expires_ms,
                        int64_t now_ms)
{
    sqlite3_stmt *s = NULL;
    int r, own;

    st->errmsg[0] = '\0';
    r = broker_check(st, username, role, device_id, verifier, expires_ms);
    if (r < 0)
        return r;
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = kf__store_stmt(st, ST_BROKER_PUT, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, verifier, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, role, -1, SQLITE_STATIC);
    if (device_id)
        sqlite3_bind_text(s, 4, device_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 4);
    if (expires_ms > 0)
        sqlite3_bind_int64(s, 5, expires_ms);
    else
        sqlite3_bind_null(s, 5);
    sqlite3_bind_int64(s, 6, now_ms);
    r = kf__store_stmt_run(st, s, "broker account upsert");
out:
    return kf__store_txn_leave(st, own, r);
}

int kf_store_broker_del(struct kf_store *st, const char *username)
{
    sqlite3_stmt *s = NULL;
    int r, own;

    st->errmsg[0] = '\0';
    if (!username)
        return -EINVAL;
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = kf__store_stmt(st, ST_BROKER_DEL, &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
    r = kf__store_stmt_run(st, s, "broker account delete");
    if (r == 0 && sqlite3_changes(kf__store_db(st)) == 0)
        r = -ENOENT;
out:
    if (r == -ENOENT) {
        /* Nothing changed: not a reason to roll anything back. */
        r = kf__store_txn_leave(st, own, 0);
        return r < 0 ? r : -ENOENT;
    }
    return kf__store_txn_leave(st, own, r);
}

int kf_store_broker_each(struct kf_store *st, int64_t now_ms, kf_broker_account_cb cb, void *ud)
{
    struct kf_broker_account a;
    sqlite3_stmt *s = NULL;
    int r, rc;

    st->errmsg[0] = '\0';
    r = kf__store_stmt(st, ST_BROKER_EACH, &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, now_ms);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        a.username = (const char *)sqlite3_column_text(s, 0);
        a.verifier = (const char *)sqlite3_column_text(s, 1);
        a.role = (const char *)sqlite3_column_text(s, 2);
        a.device_id = (const char *)sqlite3_column_text(s, 3);
        a.expires_ms = sqlite3_column_int64(s, 4);
        a.created_ms = sqlite3_column_int64(s, 5);
        r = cb(ud, &a);
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "broker accounts");
    kf__store_stmt_done(s);
    return r;
}
