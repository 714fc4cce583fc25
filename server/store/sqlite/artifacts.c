/* store/sqlite/artifacts.c: software artifacts (store/artifacts.h). Statements are prepared
 * per call: artifacts are added by hand, a few a year. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/blob.h>
#include <kf/keyfile.h>

#include "store/artifacts.h"
#include "store/audit_log.h"
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
