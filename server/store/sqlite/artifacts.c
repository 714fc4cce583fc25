/* store/sqlite/artifacts.c: software artifacts (store/artifacts.h). Statements are prepared
 * per call: artifacts are added by hand, a few a year. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include <kf/blob.h>
#include <kf/command.h>
#include <kf/fetch.h>
#include <kf/keyfile.h>

#include "store/artifacts.h"
#include "store/audit_log.h"
#include "store/registry.h"
#include "store/sqlite/int.h"

/* v21 (issue 18). artifacts: one row per package version, its manifest as signed (the
 * text a terminal verifies), its fields for listing. artifact_chunks: its bytes in chunks of
 * KF_BLOB_CHUNK_BYTES (the last shorter). */
const char *const kf__store_schema_artifacts[] = {
    "CREATE TABLE artifacts(id INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,"
    " kinds TEXT NOT NULL, size INTEGER NOT NULL, sha BLOB NOT NULL, manifest TEXT NOT NULL,"
    " added_ms INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL,"
    " UNIQUE(name, version))",
    "CREATE TABLE artifact_chunks(artifact_id INTEGER NOT NULL REFERENCES artifacts(id),"
    " idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(artifact_id, idx))",
    NULL,
};

static const char *kinds_text(unsigned k)
{
    return k == (KF_MANIFEST_KIOSK | KF_MANIFEST_ITM) ? "kiosk,itm"
           : k == KF_MANIFEST_KIOSK                   ? "kiosk"
                                                      : "itm";
}

static int add(struct kf_store *st, const struct kf_manifest *m, const char *manifest,
               const uint8_t *data, size_t len, int64_t now_ms, const char *by, const char *reason,
               const uint8_t sk[64], int64_t *ret_id)
{
    sqlite3_stmt *s = NULL;
    char hex[65], subject[KF_MANIFEST_NAME_MAX + KF_MANIFEST_VERSION_MAX + 2], *text;
    json_t *detail;
    int64_t id;
    int r, rc;

    r = kf__store_prep(st,
                       "INSERT INTO artifacts(name, version, kinds, size, sha, manifest,"
                       " added_ms, by, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, m->version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, kinds_text(m->kinds), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)m->size);
    sqlite3_bind_blob(s, 5, m->sha256, 32, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, manifest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, now_ms);
    sqlite3_bind_text(s, 8, by, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, reason, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        kf__store_seterr(st, "%s %s is stored already", m->name, m->version);
        return -EEXIST;
    }
    if (rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "artifact");
    id = sqlite3_last_insert_rowid(kf__store_db(st));
    for (uint32_t i = 0; (size_t)i * KF_BLOB_CHUNK_BYTES < len; i++) {
        size_t off = (size_t)i * KF_BLOB_CHUNK_BYTES;
        size_t n = len - off < KF_BLOB_CHUNK_BYTES ? len - off : KF_BLOB_CHUNK_BYTES;

        r = kf__store_prep(
            st, "INSERT INTO artifact_chunks(artifact_id, idx, data) VALUES (?1, ?2, ?3)", &s);
        if (r < 0)
            return r;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, i);
        sqlite3_bind_blob(s, 3, data + off, (int)n, SQLITE_STATIC);
        r = kf__store_step_done(st, s, "artifact chunk");
        if (r < 0)
            return r;
    }
    kf_hex_encode(m->sha256, 32, hex, sizeof(hex));
    detail = json_pack("{s:s, s:I, s:s, s:s}", "sha256", hex, "size", (json_int_t)m->size, "kinds",
                       kinds_text(m->kinds), "reason", reason);
    text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    if (text == NULL)
        return -ENOMEM;
    snprintf(subject, sizeof(subject), "%s_%s", m->name, m->version);
    r = kf_store_audit_log_append(st, now_ms, by, "artifact.add", subject, text, sk);
    free(text);
    if (r == 0)
        *ret_id = id;
    return r;
}

int kf_store_artifact_add(struct kf_store *st, const struct kf_manifest *m, const char *manifest,
                          const uint8_t *data, size_t len, int64_t now_ms, const char *by,
                          const char *reason, const uint8_t server_sk[64], int64_t *ret_id)
{
    int own, r;

    if (!kf_manifest_valid(m) || manifest == NULL || data == NULL || len != m->size || !by ||
        !reason)
        return -EINVAL;
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = add(st, m, manifest, data, len, now_ms, by, reason, server_sk, ret_id);
    return kf__store_txn_leave(st, own, r);
}

int kf_store_artifact_list(struct kf_store *st, struct kf_qtable **ret)
{
    static const char *const cols[] = {"id",     "name",  "version", "kinds", "size",
                                       "sha256", "added", "by",      NULL};
    struct kf_qtable *t;
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st,
                       "SELECT id, name, version, kinds, size, lower(hex(sha)), added_ms, by"
                       " FROM artifacts ORDER BY name, id",
                       &s);
    if (r < 0)
        return r;
    t = kf_store_query_table_new("artifacts", NULL, cols, "ixxxixtx");
    if (t == NULL) {
        sqlite3_finalize(s);
        return -ENOMEM;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *row[8];

        for (int i = 0; i < 8; i++)
            row[i] = kf__store_col_text(s, i);
        if (kf_store_query_table_add_row(t, row) < 0) {
            sqlite3_finalize(s);
            kf_store_query_table_free(t);
            return -ENOMEM;
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        kf_store_query_table_free(t);
        return kf__store_sql_fail(st, rc, "artifacts");
    }
    *ret = t;
    return 0;
}

/* ---- the update command: what it names, and its bytes served in PARTs ---- */

static const char *device_kind(int k)
{
    return k == KF_KIND_KIOSK ? "kiosk" : k == KF_KIND_ITM ? "itm" : "";
}

int kf_store_artifact_for_device(struct kf_store *st, const char *device_id, const char *name,
                                 const char *version, char ret_hex[65])
{
    sqlite3_stmt *s = NULL;
    char kinds[16] = "", manifest[KF_MANIFEST_FILE_MAX + 1] = "";
    uint8_t sha[32];
    int r, rc, kind = 0;

    r = kf__store_prep(st,
                       "SELECT a.kind FROM devices d JOIN assets a ON a.asset_id = d.asset_id"
                       " WHERE d.device_id = ?1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kind = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "device kind");
    if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "update: no device %s", device_id);
        return -ENOENT;
    }
    r = kf__store_prep(st, "SELECT kinds, manifest FROM artifacts WHERE name = ?1 AND version = ?2",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, version, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        kf__store_col_copy(kinds, sizeof(kinds), s, 0);
        kf__store_col_copy(manifest, sizeof(manifest), s, 1);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "artifact");
    if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "update: no artifact %s %s is stored (kioskctl artifact list)", name,
                         version);
        return -ENOENT;
    }
    if (strstr(kinds, device_kind(kind)) == NULL || device_kind(kind)[0] == '\0') {
        kf__store_seterr(st, "update: %s %s is for %s terminals; %s is a%s %s", name, version,
                         kinds, device_id, kind == KF_KIND_ITM ? "n" : "", device_kind(kind));
        return -EPERM;
    }
    crypto_hash_sha256(sha, (const uint8_t *)manifest, strlen(manifest));
    kf_hex_encode(sha, 32, ret_hex, 65);
    return 0;
}

/* The artifact an open update command of device (seq cmd_seq) names, if the signed manifest
 * stored for it hashes to manifest_sha: its id, and the manifest's text in manifest. */
static int update_artifact(struct kf_store *st, const char *device_id, uint64_t cmd_seq,
                           const uint8_t manifest_sha[32], int64_t *ret_id,
                           char manifest[KF_MANIFEST_FILE_MAX + 1], uint64_t *ret_size,
                           uint8_t ret_sha[32])
{
    sqlite3_stmt *s = NULL;
    char args[KF_CMD_ARGS_MAX * (KF_CMD_ARG_MAX + 8)] = "", hex[65];
    const char *name, *version, *want;
    uint8_t sha[32];
    json_t *a;
    int r, rc;

    if (cmd_seq == 0 || cmd_seq > (uint64_t)INT64_MAX)
        return -ENOENT;
    r = kf__store_prep(st,
                       "SELECT args FROM commands WHERE device_id = ?1 AND seq = ?2 AND"
                       " kind = 'update' AND status IN ('queued', 'sent', 'received')",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)cmd_seq);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kf__store_col_copy(args, sizeof(args), s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "update command");
    if (rc == SQLITE_DONE)
        return -ENOENT;
    a = json_loads(args, 0, NULL);
    name = json_string_value(json_array_get(a, 0));
    version = json_string_value(json_array_get(a, 1));
    want = json_string_value(json_array_get(a, 2));
    kf_hex_encode(manifest_sha, 32, hex, sizeof(hex));
    if (name == NULL || version == NULL || want == NULL || strcmp(want, hex) != 0) {
        json_decref(a);
        return -ENOENT;
    }
    r = kf__store_prep(st,
                       "SELECT id, manifest, size, sha FROM artifacts WHERE name = ?1 AND"
                       " version = ?2",
                       &s);
    if (r < 0) {
        json_decref(a);
        return r;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, version, -1, SQLITE_TRANSIENT);
    json_decref(a);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 3) == 32) {
        *ret_id = sqlite3_column_int64(s, 0);
        kf__store_col_copy(manifest, KF_MANIFEST_FILE_MAX + 1, s, 1);
        *ret_size = (uint64_t)sqlite3_column_int64(s, 2);
        memcpy(ret_sha, sqlite3_column_blob(s, 3), 32);
    } else if (rc == SQLITE_ROW) {
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "artifact");
    if (rc == SQLITE_DONE)
        return -ENOENT;
    crypto_hash_sha256(sha, (const uint8_t *)manifest, strlen(manifest));
    return memcmp(sha, manifest_sha, 32) == 0 ? 0 : -ENOENT;
}

int kf_store_artifact_chunk(struct kf_store *st, const char *device_id, uint64_t cmd_seq,
                            const uint8_t manifest_sha[32], uint8_t part, uint32_t index,
                            struct kf_store_part *ret)
{
    char manifest[KF_MANIFEST_FILE_MAX + 1];
    sqlite3_stmt *s = NULL;
    uint64_t size;
    uint8_t file_sha[32];
    int64_t id;
    size_t want;
    int r, rc;

    memset(ret, 0, sizeof(*ret));
    r = update_artifact(st, device_id, cmd_seq, manifest_sha, &id, manifest, &size, file_sha);
    if (r < 0)
        return r;
    if (part == KF_PART_MANIFEST) {
        ret->total = strlen(manifest);
        ret->nchunks = kf_part_nchunks(part, ret->total);
        if (index >= ret->nchunks)
            return -ERANGE;
        memcpy(ret->sha256, manifest_sha, 32);
        ret->len = (size_t)ret->total;
        ret->data = malloc(ret->len);
        if (ret->data == NULL)
            return -ENOMEM;
        memcpy(ret->data, manifest, ret->len);
        return 0;
    }
    if (part != KF_PART_FILE)
        return -ENOENT;
    ret->total = size;
    ret->nchunks = kf_part_nchunks(part, size);
    memcpy(ret->sha256, file_sha, 32);
    if (index >= ret->nchunks)
        return -ERANGE;
    want = kf_part_chunk_len(part, size, index);
    r = kf__store_prep(st, "SELECT data FROM artifact_chunks WHERE artifact_id = ?1 AND idx = ?2",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, index);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && (size_t)sqlite3_column_bytes(s, 0) == want) {
        ret->data = malloc(want);
        if (ret->data != NULL)
            memcpy(ret->data, sqlite3_column_blob(s, 0), want);
        ret->len = want;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return kf__store_sql_fail(st, rc, "artifact chunk");
    if (rc == SQLITE_DONE || ret->len != want) {
        kf__store_seterr(st, "artifact %lld: chunk %u missing or of the wrong length",
                         (long long)id, index);
        return -EIO;
    }
    return ret->data != NULL ? 0 : -ENOMEM;
}

void kf_store_part_free(struct kf_store_part *p)
{
    free(p->data);
    p->data = NULL;
}
