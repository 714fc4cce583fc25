/* store/sqlite/reports_docs.c: the bureau's frozen documents, rubrics and zone decisions
 * (store/reports_docs.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/reports_docs.h"
#include "store/sqlite/int.h"

/* v13 (issue 16). Evidence, append-only as audit_log is. A document's versions follow each
 * other without gaps, and a later one says why it supersedes the earlier. */
const char *const kf__store_schema_reports[] = {
    "CREATE TABLE report_docs(kind TEXT NOT NULL, period TEXT NOT NULL,"
    " version INTEGER NOT NULL CHECK(version >= 1), issued_ms INTEGER NOT NULL,"
    " issued_by TEXT NOT NULL, reason TEXT NOT NULL, json TEXT NOT NULL,"
    " digest TEXT NOT NULL, sig BLOB NOT NULL, PRIMARY KEY(kind, period, version),"
    " CHECK(version = 1 OR reason <> ''))",
    "CREATE TRIGGER report_docs_in_order BEFORE INSERT ON report_docs"
    " WHEN NEW.version <> 1 + (SELECT coalesce(max(version), 0) FROM report_docs"
    " WHERE kind = NEW.kind AND period = NEW.period)"
    " BEGIN SELECT RAISE(ABORT, 'report_docs: versions follow each other'); END",
    "CREATE TRIGGER report_docs_no_update BEFORE UPDATE ON report_docs"
    " BEGIN SELECT RAISE(ABORT, 'report_docs: an issued document is never changed'); END",
    "CREATE TRIGGER report_docs_no_delete BEFORE DELETE ON report_docs"
    " BEGIN SELECT RAISE(ABORT, 'report_docs: an issued document is never deleted'); END",
    "CREATE TABLE rubric_versions(id TEXT NOT NULL, version INTEGER NOT NULL,"
    " text TEXT NOT NULL, digest TEXT NOT NULL, loaded_ms INTEGER NOT NULL,"
    " loaded_by TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY(id, version))",
    "CREATE TRIGGER rubric_versions_no_update BEFORE UPDATE ON rubric_versions"
    " BEGIN SELECT RAISE(ABORT, 'rubric_versions is append-only'); END",
    "CREATE TRIGGER rubric_versions_no_delete BEFORE DELETE ON rubric_versions"
    " BEGIN SELECT RAISE(ABORT, 'rubric_versions is append-only'); END",
    "CREATE TABLE zone_decisions(id INTEGER PRIMARY KEY,"
    " zone_id TEXT NOT NULL REFERENCES zones(id), period TEXT NOT NULL,"
    " decision INTEGER NOT NULL CHECK(decision IN (1, 2)), from_day INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL CHECK(reason <> ''),"
    " UNIQUE(zone_id, period))",
    "CREATE TRIGGER zone_decisions_once_delisted BEFORE INSERT ON zone_decisions"
    " WHEN EXISTS (SELECT 1 FROM zone_decisions WHERE zone_id = NEW.zone_id AND decision = 1)"
    " BEGIN SELECT RAISE(ABORT, 'zone_decisions: the zone is delisted already'); END",
    "CREATE TRIGGER zone_decisions_no_update BEFORE UPDATE ON zone_decisions"
    " BEGIN SELECT RAISE(ABORT, 'zone_decisions is append-only'); END",
    "CREATE TRIGGER zone_decisions_no_delete BEFORE DELETE ON zone_decisions"
    " BEGIN SELECT RAISE(ABORT, 'zone_decisions is append-only'); END",
    NULL,
};

/* ---- Issued documents --------------------------------------------------------------------- */

int kf_store_rdoc_latest(struct kf_store *st, const char *kind, const char *period, int32_t *ret)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT coalesce(max(version), 0) FROM report_docs"
                           " WHERE kind = ?1 AND period = ?2",
                           &s);
    int rc;

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, kind);
    kf__store_bind_text(s, 2, period);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        r = kf__store_sql_fail(st, rc, "report version");
    } else {
        *ret = sqlite3_column_int(s, 0);
    }
    sqlite3_finalize(s);
    return r;
}

int kf_store_rdoc_add(struct kf_store *st, const struct kf_rdoc *d)
{
    sqlite3_stmt *s = NULL;
    int32_t latest = 0;
    int r = kf_store_rdoc_latest(st, d->kind, d->period, &latest);

    if (r < 0)
        return r;
    if (d->version <= latest) {
        kf__store_seterr(st, "%s %s version %d is issued already", d->kind, d->period,
                         (int)d->version);
        return -EEXIST;
    }
    if (d->version != latest + 1 || (d->version > 1 && d->reason[0] == '\0')) {
        kf__store_seterr(st, "%s %s: version %d follows %d and a later version needs a reason",
                         d->kind, d->period, (int)d->version, (int)latest);
        return -EINVAL;
    }
    r = kf__store_prep(st,
                       "INSERT INTO report_docs(kind, period, version, issued_ms, issued_by,"
                       " reason, json, digest, sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                       &s);
    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, d->kind);
    kf__store_bind_text(s, 2, d->period);
    sqlite3_bind_int(s, 3, d->version);
    sqlite3_bind_int64(s, 4, d->issued_ms);
    kf__store_bind_text(s, 5, d->issued_by);
    kf__store_bind_text(s, 6, d->reason);
    sqlite3_bind_text(s, 7, d->json, (int)d->json_len, SQLITE_STATIC);
    kf__store_bind_text(s, 8, d->digest);
    sqlite3_bind_blob(s, 9, d->sig, 64, SQLITE_STATIC);
    return kf__store_step_done(st, s, "report document");
}

#define RDOC_COLS "kind, period, version, issued_ms, issued_by, reason, digest, sig"

static int rdoc_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_rdoc *d = row;

    kf__store_col_copy(d->kind, sizeof(d->kind), s, 0);
    kf__store_col_copy(d->period, sizeof(d->period), s, 1);
    d->version = sqlite3_column_int(s, 2);
    d->issued_ms = sqlite3_column_int64(s, 3);
    kf__store_col_copy(d->issued_by, sizeof(d->issued_by), s, 4);
    kf__store_col_copy(d->reason, sizeof(d->reason), s, 5);
    kf__store_col_copy(d->digest, sizeof(d->digest), s, 6);
    if (sqlite3_column_bytes(s, 7) != 64) {
        kf__store_seterr(st, "report_docs %s %s v%d: the signature is not 64 bytes", d->kind,
                         d->period, (int)d->version);
        return -EIO;
    }
    memcpy(d->sig, sqlite3_column_blob(s, 7), 64);
    return 0;
}

int kf_store_rdoc_get(struct kf_store *st, const char *kind, const char *period, int32_t version,
                      struct kf_rdoc *ret)
{
    sqlite3_stmt *s = NULL;
    struct kf_rdoc d;
    int r = kf__store_prep(st,
                           "SELECT " RDOC_COLS ", json FROM report_docs WHERE kind = ?1"
                           " AND period = ?2 AND (?3 = 0 OR version = ?3)"
                           " ORDER BY version DESC LIMIT 1",
                           &s);
    int rc;

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, kind);
    kf__store_bind_text(s, 2, period);
    sqlite3_bind_int(s, 3, version);
    memset(&d, 0, sizeof(d));
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "no issued %s for %s%s", kind, period,
                         version ? " in that version" : "");
        r = -ENOENT;
    } else if (rc != SQLITE_ROW) {
        r = kf__store_sql_fail(st, rc, "report document");
    } else if ((r = rdoc_fill(st, s, &d)) == 0) {
        d.json_len = (size_t)sqlite3_column_bytes(s, 8);
        d.json = malloc(d.json_len + 1);
        if (d.json == NULL) {
            r = -ENOMEM;
        } else {
            memcpy(d.json, kf__store_col_text(s, 8), d.json_len);
            d.json[d.json_len] = '\0';
            *ret = d;
        }
    }
    sqlite3_finalize(s);
    return r;
}

int kf_store_rdoc_list(struct kf_store *st, const char *kind, struct kf_rdoc **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT " RDOC_COLS " FROM report_docs WHERE ?1 IS NULL OR kind = ?1"
                           " ORDER BY kind, period, version",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, kind);
    return kf__store_rows(st, s, sizeof(**ret), rdoc_fill, "report documents", (void **)ret, ret_n);
}

/* ---- Rubrics ------------------------------------------------------------------------------ */

int kf_store_rubric_add(struct kf_store *st, const char *id, int32_t version, const char *text,
                        const char *digest_hex, int64_t now_ms, const char *by, const char *reason)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "INSERT INTO rubric_versions(id, version, text, digest, loaded_ms,"
                           " loaded_by, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, id);
    sqlite3_bind_int(s, 2, version);
    kf__store_bind_text(s, 3, text);
    kf__store_bind_text(s, 4, digest_hex);
    sqlite3_bind_int64(s, 5, now_ms);
    kf__store_bind_text(s, 6, by);
    kf__store_bind_text(s, 7, reason);
    return kf__store_step_done(st, s, "rubric version");
}

static int rubric_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_rubric_row *v = row;

    (void)st;
    kf__store_col_copy(v->id, sizeof(v->id), s, 0);
    v->version = sqlite3_column_int(s, 1);
    kf__store_col_copy(v->digest, sizeof(v->digest), s, 2);
    v->loaded_ms = sqlite3_column_int64(s, 3);
    kf__store_col_copy(v->loaded_by, sizeof(v->loaded_by), s, 4);
    kf__store_col_copy(v->reason, sizeof(v->reason), s, 5);
    v->text = strdup(kf__store_col_text(s, 6));
    return v->text ? 0 : -ENOMEM;
}

int kf_store_rubrics(struct kf_store *st, const char *id, struct kf_rubric_row **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT id, version, digest, loaded_ms, loaded_by, reason, text"
                           " FROM rubric_versions WHERE ?1 IS NULL OR id = ?1 ORDER BY id, version",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, id);
    return kf__store_rows(st, s, sizeof(**ret), rubric_fill, "rubric versions", (void **)ret,
                          ret_n);
}

void kf_store_rubrics_free(struct kf_rubric_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].text);
    free(rows);
}

/* ---- Zone decisions ----------------------------------------------------------------------- */

const char *kf_zone_decision_name(int d)
{
    return d == KF_ZONE_DELIST ? "delist" : d == KF_ZONE_KEEP ? "keep" : NULL;
}

int kf_store_zone_decision_add(struct kf_store *st, const struct kf_zone_decision_row *d,
                               int64_t *ret_id)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT EXISTS (SELECT 1 FROM zones WHERE id = ?1),"
                           " EXISTS (SELECT 1 FROM zone_decisions WHERE zone_id = ?1"
                           "  AND decision = 1),"
                           " EXISTS (SELECT 1 FROM zone_decisions WHERE zone_id = ?1"
                           "  AND period = ?2)",
                           &s);
    int rc, zone = 0, delisted = 0, decided = 0;

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, d->zone_id);
    kf__store_bind_text(s, 2, d->period);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        zone = sqlite3_column_int(s, 0);
        delisted = sqlite3_column_int(s, 1);
        decided = sqlite3_column_int(s, 2);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return kf__store_sql_fail(st, rc, "zone decision");
    if (!zone) {
        kf__store_seterr(st, "no zone %s", d->zone_id);
        return -ENOENT;
    }
    if (delisted) {
        kf__store_seterr(st, "zone %s is delisted already", d->zone_id);
        return -EALREADY;
    }
    if (decided) {
        kf__store_seterr(st, "zone %s has a decision on %s already", d->zone_id, d->period);
        return -EEXIST;
    }
    if (kf_zone_decision_name(d->decision) == NULL || d->reason[0] == '\0' || d->by[0] == '\0') {
        kf__store_seterr(st, "a decision is delist or keep, with who and why");
        return -EINVAL;
    }
    r = kf__store_prep(st,
                       "INSERT INTO zone_decisions(zone_id, period, decision, from_day, at_ms,"
                       " by, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       &s);
    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, d->zone_id);
    kf__store_bind_text(s, 2, d->period);
    sqlite3_bind_int(s, 3, d->decision);
    sqlite3_bind_int(s, 4, d->decision == KF_ZONE_DELIST ? d->from_day : 0);
    sqlite3_bind_int64(s, 5, d->at_ms);
    kf__store_bind_text(s, 6, d->by);
    kf__store_bind_text(s, 7, d->reason);
    r = kf__store_step_done(st, s, "zone decision");
    if (r == 0 && ret_id)
        *ret_id = sqlite3_last_insert_rowid(kf__store_db(st));
    return r;
}

static int decision_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_zone_decision_row *v = row;

    (void)st;
    v->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(v->zone_id, sizeof(v->zone_id), s, 1);
    kf__store_col_copy(v->period, sizeof(v->period), s, 2);
    v->decision = sqlite3_column_int(s, 3);
    v->from_day = sqlite3_column_int(s, 4);
    v->at_ms = sqlite3_column_int64(s, 5);
    kf__store_col_copy(v->by, sizeof(v->by), s, 6);
    kf__store_col_copy(v->reason, sizeof(v->reason), s, 7);
    return 0;
}

int kf_store_zone_decisions(struct kf_store *st, const char *zone_id,
                            struct kf_zone_decision_row **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT id, zone_id, period, decision, from_day, at_ms, by, reason"
                           " FROM zone_decisions WHERE ?1 IS NULL OR zone_id = ?1"
                           " ORDER BY zone_id, period",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, zone_id);
    return kf__store_rows(st, s, sizeof(**ret), decision_fill, "zone decisions", (void **)ret,
                          ret_n);
}
