/* store/sqlite/identity.c: enrollment tokens, enrollment, rotation, revocation and
 * replacement (store/identity.h), each with its audit entry (audit_log.c). These run a few times a
 * day, not per frame: their statements are prepared per call, which keeps the hot path's statement
 * table small. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include <kf/brokerpw.h>
#include <kf/err.h>
#include <kf/ident.h>
#include <kf/keyfile.h>

#include "store/broker.h"
#include "store/identity.h"
#include "store/sqlite/int.h"

/* How long an enrollment account outlives its token's use (see enroll()). */
#define KF_ENROLL_ACCOUNT_LINGER_MS (10LL * 60 * 1000)

const char *const kf__store_schema_identity[] = {
    "ALTER TABLE devices ADD COLUMN revoked_ms INTEGER",
    "CREATE TABLE enroll_tokens(token_id TEXT PRIMARY KEY,"
    " asset_id TEXT NOT NULL REFERENCES assets(asset_id), mac_key BLOB NOT NULL,"
    " issued_by TEXT NOT NULL, reason TEXT NOT NULL, issued_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL, used_ms INTEGER, device_id TEXT, pk BLOB,"
    " refused INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE audit_log(seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL,"
    " prev_hash BLOB NOT NULL, hash BLOB NOT NULL, sig BLOB NOT NULL)",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    NULL,
};

/* ---- small SQL helpers (statements prepared per call: kf__store_prep, store/sqlite/int.h) ---- */

/* Step a statement to its end and finalize it. */
static int run(struct kf_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : kf__store_sql_fail(st, rc, what);
}

int kf__store_text_ok(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

/* Append an entry whose detail is the JSON object d (taken; NULL: out of memory). */
static int audit(struct kf_store *st, int64_t at_ms, const char *actor, const char *action,
                 const char *subject, const uint8_t server_sk[64], json_t *d)
{
    char *text = d != NULL ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int r;

    json_decref(d);
    if (text == NULL)
        return -ENOMEM;
    r = kf_store_audit_log_append(st, at_ms, actor, action, subject, text, server_sk);
    free(text);
    return r;
}

void kf__store_col_blob(sqlite3_stmt *s, int i, uint8_t *out, size_t n)
{
    memset(out, 0, n);
    if ((size_t)sqlite3_column_bytes(s, i) == n)
        memcpy(out, sqlite3_column_blob(s, i), n);
}

/* ---- tokens ---- */

/* The asset row: create it (kind and zone required) or check the given fields match. */
static int asset_ensure(struct kf_store *st, const struct kf_token_req *req, int64_t now_ms)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st, "SELECT kind, zone_id FROM assets WHERE asset_id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, req->asset_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int kind = sqlite3_column_int(s, 0);
        int zone_ok = req->zone_id == NULL || strcmp(kf__store_col_text(s, 1), req->zone_id) == 0;

        sqlite3_finalize(s);
        if ((req->kind != 0 && req->kind != kind) || !zone_ok) {
            kf__store_seterr(st, "asset %s exists with another kind or zone", req->asset_id);
            return -EINVAL;
        }
        return 0;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "asset lookup");
    if ((req->kind != KF_KIND_KIOSK && req->kind != KF_KIND_ITM) || req->zone_id == NULL) {
        kf__store_seterr(st, "asset %s is new: its kind and zone are required", req->asset_id);
        return -EINVAL;
    }
    r = kf__store_exists(st, ST_ZONE_EXISTS, req->zone_id);
    if (r <= 0) {
        if (r == 0)
            kf__store_seterr(st, "unknown zone %s", req->zone_id);
        return r == 0 ? -ENOENT : r;
    }
    r = kf__store_prep(st,
                       "INSERT INTO assets(asset_id, kind, zone_id, lease_ref, created_ms)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, req->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, req->kind);
    sqlite3_bind_text(s, 3, req->zone_id, -1, SQLITE_STATIC);
    if (req->lease_ref != NULL)
        sqlite3_bind_text(s, 4, req->lease_ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now_ms);
    return run(st, s, "asset insert");
}

/* An asset id becomes the stem of device ids "<asset>.<n>": same character rules. */
static int asset_id_ok(const char *a)
{
    char probe[KF_DEVICE_ID_MAX + 1];

    if (!kf__store_text_ok(a, KF_ASSET_ID_MAX) ||
        !((a[0] >= 'A' && a[0] <= 'Z') || (a[0] >= 'a' && a[0] <= 'z') ||
          (a[0] >= '0' && a[0] <= '9')))
        return 0;
    snprintf(probe, sizeof(probe), "%s.9999", a);
    return kf_device_id_valid(probe);
}

int kf_store_identity_token_issue(struct kf_store *st, const struct kf_token_req *req,
                                  int64_t now_ms, const uint8_t server_sk[64], char *token_out,
                                  size_t cap, char ret_id[KF_TOKEN_ID_LEN + 1])
{
    char id[KF_TOKEN_ID_LEN + 1], user[KF_DEVICE_ID_MAX + 1], pw[KF_ENROLL_PW_LEN + 1];
    char verifier[KF_PW_VERIFIER_MAX + 1];
    uint8_t secret[KF_TOKEN_SECRET_BYTES], mac_key[32];
    sqlite3_stmt *s = NULL;
    int64_t expires = now_ms + req->ttl_ms;
    int r, own;

    if (!asset_id_ok(req->asset_id) || !kf__store_text_ok(req->actor, KF_ACTOR_MAX) ||
        !kf__store_text_ok(req->reason, KF_REASON_MAX) || req->ttl_ms < 1000 ||
        req->ttl_ms > KF_TOKEN_TTL_MAX_MS || (req->lease_ref && strlen(req->lease_ref) > 64)) {
        kf__store_seterr(st,
                         "token: asset id ([A-Za-z0-9] then [A-Za-z0-9._-], at most %d),"
                         " actor and reason are required; ttl 1 s .. 30 days",
                         KF_ASSET_ID_MAX);
        return -EINVAL;
    }
    kf_token_new(id, secret);
    kf_token_mac_key(secret, mac_key);
    kf_token_broker_password(secret, pw);
    r = kf_brokerpw_verifier(pw, verifier, sizeof(verifier));
    sodium_memzero(pw, sizeof(pw));
    if (r < 0)
        goto out_wipe;
    r = kf_token_format(id, secret, token_out, cap);
    if (r < 0)
        goto out_wipe;
    kf_token_username(id, user, sizeof(user));

    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        goto out_wipe;
    r = asset_ensure(st, req, now_ms);
    if (r < 0)
        goto out;
    r = kf__store_prep(st,
                       "INSERT INTO enroll_tokens(token_id, asset_id, mac_key, issued_by, reason,"
                       " issued_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, req->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, mac_key, 32, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, req->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, req->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, now_ms);
    sqlite3_bind_int64(s, 7, expires);
    r = run(st, s, "token insert");
    if (r < 0)
        goto out;
    r = kf_store_broker_put(st, user, "enroll", NULL, verifier, expires, now_ms);
    if (r < 0)
        goto out;
    r = audit(st, now_ms, req->actor, "token.issue", req->asset_id, server_sk,
              json_pack("{s:s, s:s, s:I, s:s*}", "token", id, "reason", req->reason, "expires_ms",
                        (json_int_t)expires, "lease", req->lease_ref));
out:
    r = kf__store_txn_leave(st, own, r);
    if (r == 0)
        memcpy(ret_id, id, sizeof(id));
out_wipe:
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(mac_key, sizeof(mac_key));
    if (r < 0 && cap > 0)
        sodium_memzero(token_out, cap);
    return r;
}

/* A device's status (enum kf_device_status) in *ret, 0 if there is no such device. */
static int device_status(struct kf_store *st, const char *device_id, int *ret)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st, "SELECT status FROM devices WHERE device_id = ?1", &s), rc;

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *ret = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : kf__store_sql_fail(st, rc, "device lookup");
}

/* ---- enrollment and rotation ---- */

/* A valid, unused token: the asset's new device identity, its broker account, the token
 * marked used (its enrollment account lingers a while) and the audit entry. */
static int enroll_new(struct kf_store *st, const struct kf_ident_req *req, int64_t now_ms,
                      const uint8_t server_sk[64], const char *asset, int kind, const char *zone,
                      const char *lease, struct kf_ident_result *ret)
{
    char user[KF_DEVICE_ID_MAX + 1];
    sqlite3_stmt *s = NULL;
    struct kf_device_reg reg;
    int64_t n = 0;
    int r, rc;

    /* The device id: "<asset>.<n>", n counting every identity the asset ever had. */
    r = kf__store_prep(st, "SELECT count(*) FROM devices WHERE asset_id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, asset, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    {
        char id[KF_ASSET_ID_MAX + 24];

        snprintf(id, sizeof(id), "%s.%lld", asset, (long long)n + 1);
        if (!kf_device_id_valid(id)) {
            kf__store_seterr(st, "asset %s: no room for device id %s", asset, id);
            return -ENAMETOOLONG;
        }
        memcpy(ret->device_id, id, strlen(id) + 1);
    }
    memset(&reg, 0, sizeof(reg));
    reg.device_id = ret->device_id;
    reg.asset_id = asset;
    reg.kind = kind;
    reg.zone_id = zone;
    reg.lease_ref = lease[0] ? lease : NULL;
    memcpy(reg.pk, req->pk, 32);
    r = kf_store_register_device(st, &reg);
    if (r < 0)
        return r;
    r = kf_store_broker_put(st, ret->device_id, "device", ret->device_id, req->verifier, 0, now_ms);
    if (r < 0)
        return r;
    /* The enrollment account goes, but not at once: broker-sync runs before the answer is
     * published, and a broker that dropped the enrolling client on that reload would leave
     * the answer undelivered and the terminal unable to log in again to fetch it. It may
     * stay a few minutes: its token is used, so anything it sends is refused (token_used). */
    kf_token_username(req->token_id, user, sizeof(user));
    r = kf__store_prep(st,
                       "UPDATE broker_accounts SET expires_ms = ?2 WHERE username = ?1"
                       " AND (expires_ms IS NULL OR expires_ms = 0 OR expires_ms > ?2)",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms + KF_ENROLL_ACCOUNT_LINGER_MS);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    s = NULL;
    if (rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "enrollment account expiry");
    r = kf__store_prep(st,
                       "UPDATE enroll_tokens SET used_ms = ?2, device_id = ?3, pk = ?4"
                       " WHERE token_id = ?1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, req->token_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_text(s, 3, ret->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, req->pk, 32, SQLITE_STATIC);
    r = run(st, s, "token use");
    if (r < 0)
        return r;
    {
        char pkhex[65];

        kf_hex_encode(req->pk, 32, pkhex, sizeof(pkhex));
        r = audit(st, now_ms, "kioskd", "device.enroll", ret->device_id, server_sk,
                  json_pack("{s:s, s:s, s:i, s:s}", "asset", asset, "token", req->token_id,
                            "key_epoch", 1, "pk", pkhex));
    }
    ret->key_epoch = 1;
    return r;
}

static int enroll(struct kf_store *st, const struct kf_ident_req *req, int64_t now_ms,
                  const uint8_t server_sk[64], struct kf_ident_result *ret)
{
    char asset[KF_ASSET_ID_MAX + 1], used_dev[KF_DEVICE_ID_MAX + 1] = "";
    char zone[KF_ZONE_ID_MAX + 1], lease[65] = "";
    uint8_t mac_key[32], used_pk[32];
    int64_t expires, used_ms;
    int has_used_pk, kind, r, rc;
    sqlite3_stmt *s = NULL;

    r = kf__store_prep(st,
                       "SELECT t.asset_id, t.mac_key, t.expires_ms, t.used_ms, t.device_id, t.pk,"
                       " a.kind, a.zone_id, a.lease_ref FROM enroll_tokens t"
                       " JOIN assets a ON a.asset_id = t.asset_id WHERE t.token_id = ?1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, req->token_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE)
            return kf__store_sql_fail(st, rc, "token lookup");
        ret->reason = KF_IDENT_TOKEN_UNKNOWN;
        return 0;
    }
    kf__store_col_copy(asset, sizeof(asset), s, 0);
    kf__store_col_blob(s, 1, mac_key, 32);
    expires = sqlite3_column_int64(s, 2);
    used_ms = sqlite3_column_type(s, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 3);
    kf__store_col_copy(used_dev, sizeof(used_dev), s, 4);
    has_used_pk = sqlite3_column_bytes(s, 5) == 32;
    kf__store_col_blob(s, 5, used_pk, 32);
    kind = sqlite3_column_int(s, 6);
    kf__store_col_copy(zone, sizeof(zone), s, 7);
    kf__store_col_copy(lease, sizeof(lease), s, 8);
    sqlite3_finalize(s);

    if (kf_ident_proof_check(mac_key, req) != 0) {
        ret->reason = KF_IDENT_BAD_PROOF;
    } else if (used_ms != 0) {
        /* The device may not have heard the first answer: the same key gets it again. */
        if (has_used_pk && sodium_memcmp(used_pk, req->pk, 32) == 0) {
            snprintf(ret->device_id, sizeof(ret->device_id), "%s", used_dev);
            ret->key_epoch = 1;
            ret->reason = KF_IDENT_OK;
        } else {
            ret->reason = KF_IDENT_TOKEN_USED;
        }
    } else if (now_ms >= expires) {
        ret->reason = KF_IDENT_TOKEN_EXPIRED;
    } else {
        ret->reason = KF_IDENT_OK;
    }
    sodium_memzero(mac_key, sizeof(mac_key));
    if (ret->reason != KF_IDENT_OK || used_ms != 0) {
        if (ret->reason != KF_IDENT_OK) {
            r = kf__store_prep(
                st, "UPDATE enroll_tokens SET refused = refused + 1 WHERE token_id = ?1", &s);
            if (r < 0)
                return r;
            sqlite3_bind_text(s, 1, req->token_id, -1, SQLITE_STATIC);
            return run(st, s, "token refused");
        }
        return 0;
    }

    return enroll_new(st, req, now_ms, server_sk, asset, kind, zone, lease, ret);
}

static int rotate(struct kf_store *st, const struct kf_ident_req *req, int64_t now_ms,
                  const uint8_t server_sk[64], struct kf_ident_result *ret)
{
    sqlite3_stmt *s = NULL;
    int status, active_epoch = 0, new_exists = 0, r, rc;
    uint8_t new_pk[32];

    snprintf(ret->device_id, sizeof(ret->device_id), "%s", req->device_id);
    r = device_status(st, req->device_id, &status);
    if (r < 0)
        return r;
    if (status == 0) {
        ret->reason = KF_IDENT_DEVICE_UNKNOWN;
        return 0;
    }
    if (status != KF_DEVICE_ACTIVE) {
        ret->reason = KF_IDENT_REVOKED;
        return 0;
    }
    r = kf__store_prep(st, "SELECT epoch, status, pk FROM device_keys WHERE device_id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, req->device_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint32_t e = (uint32_t)sqlite3_column_int64(s, 0);
        if (sqlite3_column_int(s, 1) == KF_KEY_ACTIVE)
            active_epoch = (int)e;
        if (e == req->new_epoch) {
            new_exists = 1;
            kf__store_col_blob(s, 2, new_pk, 32);
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "key lookup");
    ret->key_epoch = req->new_epoch;
    if (new_exists) {
        /* Already applied (the answer was lost) if it is the same key and it is current. */
        ret->reason = sodium_memcmp(new_pk, req->pk, 32) == 0 && active_epoch == (int)req->new_epoch
                          ? KF_IDENT_OK
                          : KF_IDENT_STALE_EPOCH;
        return 0;
    }
    if (active_epoch == 0 || (uint32_t)active_epoch != req->old_epoch ||
        req->new_epoch != req->old_epoch + 1 || kf_ident_rotate_check(req) != 0) {
        ret->reason = KF_IDENT_STALE_EPOCH;
        return 0;
    }
    r = kf__store_prep(st, "UPDATE device_keys SET status = ?3 WHERE device_id = ?1 AND epoch = ?2",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, req->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, req->old_epoch);
    sqlite3_bind_int(s, 3, KF_KEY_RETIRED);
    r = run(st, s, "key retire");
    if (r < 0)
        return r;
    r = kf__store_prep(st,
                       "INSERT INTO device_keys(device_id, epoch, pk, status, created_ms)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, req->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, req->new_epoch);
    sqlite3_bind_blob(s, 3, req->pk, 32, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, KF_KEY_ACTIVE);
    sqlite3_bind_int64(s, 5, now_ms);
    r = run(st, s, "key insert");
    if (r < 0)
        return r;
    {
        char pkhex[65];

        kf_hex_encode(req->pk, 32, pkhex, sizeof(pkhex));
        r = audit(st, now_ms, req->device_id, "key.rotate", req->device_id, server_sk,
                  json_pack("{s:I, s:I, s:s}", "old_epoch", (json_int_t)req->old_epoch, "new_epoch",
                            (json_int_t)req->new_epoch, "pk", pkhex));
    }
    ret->reason = r == 0 ? KF_IDENT_OK : ret->reason;
    return r;
}

int kf_store_identity_apply(struct kf_store *st, const struct kf_ident_req *req, int64_t now_ms,
                            const uint8_t server_sk[64], struct kf_ident_result *ret)
{
    struct kf_ident_result res;
    int r, own;

    memset(&res, 0, sizeof(res));
    res.op = req->op;
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    if (req->op == KF_IDENT_ENROLL)
        r = enroll(st, req, now_ms, server_sk, &res);
    else if (req->op == KF_IDENT_ROTATE)
        r = rotate(st, req, now_ms, server_sk, &res);
    else
        r = -EINVAL;
    r = kf__store_txn_leave(st, own, r);
    if (r == 0)
        *ret = res;
    return r;
}

/* ---- revocation and replacement ---- */

static int revoke_one(struct kf_store *st, const char *device_id, const char *actor,
                      const char *reason, int64_t now_ms, const uint8_t server_sk[64])
{
    sqlite3_stmt *s = NULL;
    int status, r;

    r = device_status(st, device_id, &status);
    if (r < 0)
        return r;
    if (status == 0) {
        kf__store_seterr(st, "no device %s", device_id);
        return -ENOENT;
    }
    if (status == KF_DEVICE_REVOKED) {
        kf__store_seterr(st, "device %s is already revoked", device_id);
        return -EALREADY;
    }
    r = kf__store_prep(st, "UPDATE devices SET status = ?2, revoked_ms = ?3 WHERE device_id = ?1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, KF_DEVICE_REVOKED);
    sqlite3_bind_int64(s, 3, now_ms);
    r = run(st, s, "device revoke");
    if (r < 0)
        return r;
    r = kf__store_prep(st, "UPDATE device_keys SET status = ?2 WHERE device_id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, KF_KEY_REVOKED);
    r = run(st, s, "keys revoke");
    if (r < 0)
        return r;
    r = kf_store_broker_del(st, device_id);
    if (r < 0 && r != -ENOENT)
        return r;
    return audit(st, now_ms, actor, "device.revoke", device_id, server_sk,
                 json_pack("{s:s}", "reason", reason));
}

int kf_store_identity_revoke(struct kf_store *st, const char *device_id, const char *actor,
                             const char *reason, int64_t now_ms, const uint8_t server_sk[64])
{
    int r, own;

    if (!kf_device_id_valid(device_id) || !kf__store_text_ok(actor, KF_ACTOR_MAX) ||
        !kf__store_text_ok(reason, KF_REASON_MAX)) {
        kf__store_seterr(st, "revoke: a device id, who (--by) and why (--reason) are required");
        return -EINVAL;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = revoke_one(st, device_id, actor, reason, now_ms, server_sk);
    return kf__store_txn_leave(st, own, r);
}

/* A row of kf_store_identity_replace's device ids. */
static int device_id_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    (void)st;
    kf__store_col_copy(row, KF_DEVICE_ID_MAX + 1, s, 0);
    return 0;
}

int kf_store_identity_replace(struct kf_store *st, const char *asset_id, const char *actor,
                              const char *reason, int64_t ttl_ms, int64_t now_ms,
                              const uint8_t server_sk[64], char *token_out, size_t cap,
                              char ret_id[KF_TOKEN_ID_LEN + 1])
{
    struct kf_token_req tr;
    char why[KF_REASON_MAX + 32];
    char(*devs)[KF_DEVICE_ID_MAX + 1] = NULL;
    size_t ndev = 0;
    json_t *old = json_array();
    sqlite3_stmt *s = NULL;
    int r, own;

    if (!kf__store_text_ok(asset_id, KF_ASSET_ID_MAX) || !kf__store_text_ok(actor, KF_ACTOR_MAX) ||
        !kf__store_text_ok(reason, KF_REASON_MAX) || old == NULL) {
        json_decref(old);
        kf__store_seterr(st, "replace: an asset id, who (--by) and why (--reason) are required");
        return old == NULL ? -ENOMEM : -EINVAL;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0) {
        json_decref(old);
        return r;
    }
    r = kf__store_exists(st, ST_ASSET_GET, asset_id);
    if (r == 0) {
        kf__store_seterr(st, "no asset %s", asset_id);
        r = -ENOENT;
    }
    if (r < 0)
        goto out;
    r = kf__store_prep(st, "SELECT device_id FROM devices WHERE asset_id = ?1 AND status = ?2", &s);
    if (r < 0)
        goto out;
    sqlite3_bind_text(s, 1, asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, KF_DEVICE_ACTIVE);
    r = kf__store_rows(st, s, sizeof(*devs), device_id_fill, "asset devices", (void **)&devs,
                       &ndev);
    if (r < 0)
        goto out;
    snprintf(why, sizeof(why), "replaced: %s", reason);
    for (size_t i = 0; i < ndev && r == 0; i++) {
        r = revoke_one(st, devs[i], actor, why, now_ms, server_sk);
        json_array_append_new(old, json_string(devs[i]));
    }
    if (r < 0)
        goto out;
    r = audit(st, now_ms, actor, "asset.replace", asset_id, server_sk,
              json_pack("{s:s, s:O}", "reason", reason, "revoked", old));
    if (r < 0)
        goto out;
    memset(&tr, 0, sizeof(tr));
    tr.asset_id = asset_id;
    tr.actor = actor;
    tr.reason = why;
    tr.ttl_ms = ttl_ms;
    r = kf_store_identity_token_issue(st, &tr, now_ms, server_sk, token_out, cap, ret_id);
out:
    free(devs);
    json_decref(old);
    return kf__store_txn_leave(st, own, r);
}
