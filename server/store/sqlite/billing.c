/* store/sqlite/billing.c: contract versions, assets in service, the close, issued bills and
 * credit notes, adjustments and disputes (store/billing.h). Rare paths: every statement is
 * prepared per call. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include <kf/keyfile.h>

#include "store/billing.h"
#include "store/sqlite/int.h"

/* v10. Documents and contracts are evidence: append-only, as audit_log is. asset_service
 * lets one change only: an open interval closed once (decommissioning), never reopened. */
const char *const kf__store_schema_billing[] = {
    "CREATE TABLE contract_versions(bank TEXT NOT NULL REFERENCES banks(code),"
    " id TEXT NOT NULL, version INTEGER NOT NULL, effective_from INTEGER NOT NULL,"
    " effective_to INTEGER, text TEXT NOT NULL, digest TEXT NOT NULL,"
    " loaded_ms INTEGER NOT NULL, loaded_by TEXT NOT NULL, reason TEXT NOT NULL,"
    " PRIMARY KEY(bank, id, version))",
    "CREATE TRIGGER contract_versions_no_update BEFORE UPDATE ON contract_versions"
    " BEGIN SELECT RAISE(ABORT, 'contract_versions is append-only'); END",
    "CREATE TRIGGER contract_versions_no_delete BEFORE DELETE ON contract_versions"
    " BEGIN SELECT RAISE(ABORT, 'contract_versions is append-only'); END",
    "CREATE TABLE asset_service(id INTEGER PRIMARY KEY,"
    " asset_id TEXT NOT NULL REFERENCES assets(asset_id),"
    " bank TEXT NOT NULL REFERENCES banks(code), zone_id TEXT NOT NULL REFERENCES zones(id),"
    " from_ms INTEGER NOT NULL, to_ms INTEGER, commissioned_by TEXT NOT NULL,"
    " commission_reason TEXT NOT NULL, decommissioned_by TEXT, decommission_reason TEXT,"
    " CHECK(to_ms IS NULL OR to_ms > from_ms))",
    "CREATE INDEX asset_service_asset ON asset_service(asset_id, from_ms)",
    "CREATE TRIGGER asset_service_no_overlap BEFORE INSERT ON asset_service"
    " WHEN EXISTS (SELECT 1 FROM asset_service WHERE asset_id = NEW.asset_id"
    " AND (to_ms IS NULL OR to_ms > NEW.from_ms) AND (NEW.to_ms IS NULL OR NEW.to_ms > from_ms))"
    " BEGIN SELECT RAISE(ABORT, 'asset_service: intervals of an asset overlap'); END",
    "CREATE TRIGGER asset_service_close_once BEFORE UPDATE ON asset_service"
    " WHEN OLD.to_ms IS NOT NULL OR NEW.to_ms IS NULL OR NEW.id IS NOT OLD.id"
    " OR NEW.asset_id IS NOT OLD.asset_id OR NEW.bank IS NOT OLD.bank"
    " OR NEW.zone_id IS NOT OLD.zone_id OR NEW.from_ms IS NOT OLD.from_ms"
    " OR NEW.commissioned_by IS NOT OLD.commissioned_by"
    " OR NEW.commission_reason IS NOT OLD.commission_reason"
    " BEGIN SELECT RAISE(ABORT, 'asset_service: only an open interval is closed, once'); END",
    "CREATE TRIGGER asset_service_no_delete BEFORE DELETE ON asset_service"
    " BEGIN SELECT RAISE(ABORT, 'asset_service is append-only'); END",
    "CREATE TABLE billing_settings(key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO billing_settings(key, value) VALUES ('close_day', 5)",
    "CREATE TABLE bill_numbers(bank TEXT NOT NULL, type INTEGER NOT NULL,"
    " last INTEGER NOT NULL, PRIMARY KEY(bank, type)) WITHOUT ROWID",
    "CREATE TABLE bill_docs(number TEXT PRIMARY KEY, type INTEGER NOT NULL,"
    " bank TEXT NOT NULL REFERENCES banks(code), period TEXT NOT NULL, seq INTEGER NOT NULL,"
    " ref TEXT REFERENCES bill_docs(number), ref_line INTEGER, issued_ms INTEGER NOT NULL,"
    " issued_by TEXT NOT NULL, net_fen INTEGER NOT NULL, tax_fen INTEGER NOT NULL,"
    " gross_fen INTEGER NOT NULL, json TEXT NOT NULL, digest TEXT NOT NULL,"
    " sig BLOB NOT NULL, UNIQUE(bank, type, seq))",
    /* One bill per bank and month: a correction is a credit note or a later adjustment. */
    "CREATE UNIQUE INDEX bill_docs_month ON bill_docs(bank, period) WHERE type = 1",
    "CREATE TRIGGER bill_docs_no_update BEFORE UPDATE ON bill_docs"
    " BEGIN SELECT RAISE(ABORT, 'bill_docs: an issued document is never changed'); END",
    "CREATE TRIGGER bill_docs_no_delete BEFORE DELETE ON bill_docs"
    " BEGIN SELECT RAISE(ABORT, 'bill_docs: an issued document is never deleted'); END",
    "CREATE TABLE bill_adjustments(bill TEXT NOT NULL REFERENCES bill_docs(number),"
    " ref TEXT NOT NULL REFERENCES bill_docs(number), asset TEXT NOT NULL,"
    " kind INTEGER NOT NULL, tax_rate_bp INTEGER NOT NULL, net_fen INTEGER NOT NULL,"
    " tax_fen INTEGER NOT NULL, gross_fen INTEGER NOT NULL,"
    " PRIMARY KEY(bill, ref, asset, kind, tax_rate_bp)) WITHOUT ROWID",
    "CREATE INDEX bill_adjustments_ref ON bill_adjustments(ref)",
    "CREATE TRIGGER bill_adjustments_no_update BEFORE UPDATE ON bill_adjustments"
    " BEGIN SELECT RAISE(ABORT, 'bill_adjustments is append-only'); END",
    "CREATE TRIGGER bill_adjustments_no_delete BEFORE DELETE ON bill_adjustments"
    " BEGIN SELECT RAISE(ABORT, 'bill_adjustments is append-only'); END",
    "CREATE TABLE bill_disputes(id INTEGER PRIMARY KEY,"
    " bill TEXT NOT NULL REFERENCES bill_docs(number), line INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL)",
    "CREATE TABLE bill_answers(dispute INTEGER PRIMARY KEY REFERENCES bill_disputes(id),"
    " accept INTEGER NOT NULL, at_ms INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL,"
    " credit_note TEXT REFERENCES bill_docs(number))",
    "CREATE TRIGGER bill_disputes_no_update BEFORE UPDATE ON bill_disputes"
    " BEGIN SELECT RAISE(ABORT, 'bill_disputes is append-only'); END",
    "CREATE TRIGGER bill_disputes_no_delete BEFORE DELETE ON bill_disputes"
    " BEGIN SELECT RAISE(ABORT, 'bill_disputes is append-only'); END",
    "CREATE TRIGGER bill_answers_no_update BEFORE UPDATE ON bill_answers"
    " BEGIN SELECT RAISE(ABORT, 'bill_answers is append-only'); END",
    "CREATE TRIGGER bill_answers_no_delete BEFORE DELETE ON bill_answers"
    " BEGIN SELECT RAISE(ABORT, 'bill_answers is append-only'); END",
    NULL,
};

/* ---- Contract versions -------------------------------------------------------------------- */

static int contract_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_billing_contract_row *c = row;

    (void)st;
    kf__store_col_copy(c->bank, sizeof(c->bank), s, 0);
    kf__store_col_copy(c->id, sizeof(c->id), s, 1);
    c->version = sqlite3_column_int(s, 2);
    c->effective_from = sqlite3_column_int(s, 3);
    c->effective_to =
        sqlite3_column_type(s, 4) == SQLITE_NULL ? KF_CONTRACT_OPEN : sqlite3_column_int(s, 4);
    kf__store_col_copy(c->digest, sizeof(c->digest), s, 5);
    c->loaded_ms = sqlite3_column_int64(s, 6);
    kf__store_col_copy(c->loaded_by, sizeof(c->loaded_by), s, 7);
    kf__store_col_copy(c->reason, sizeof(c->reason), s, 8);
    c->text = strdup(kf__store_col_text(s, 9));
    return c->text ? 0 : -ENOMEM;
}

void kf_store_billing_contracts_free(struct kf_billing_contract_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].text);
    free(rows);
}

int kf_store_billing_contracts(struct kf_store *st, const char *bank,
                               struct kf_billing_contract_row **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT bank, id, version, effective_from, effective_to, digest,"
                           " loaded_ms, loaded_by, reason, text FROM contract_versions"
                           " WHERE ?1 IS NULL OR bank = ?1 ORDER BY bank, effective_from, id,"
                           " version",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, bank);
    /* Only running out of memory fails a fill; the texts read by then are lost with it. */
    return kf__store_rows(st, s, sizeof(**ret), contract_fill, "contract versions", (void **)ret,
                          ret_n);
}

int kf_store_billing_contract_add(struct kf_store *st, const struct kf_contract *c,
                                  const char *text, const char *digest_hex, int64_t now_ms,
                                  const char *by, const char *reason)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "INSERT INTO contract_versions(bank, id, version, effective_from,"
                           " effective_to, text, digest, loaded_ms, loaded_by, reason)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, c->bank);
    kf__store_bind_text(s, 2, c->id);
    sqlite3_bind_int(s, 3, c->version);
    sqlite3_bind_int(s, 4, c->effective_from);
    if (c->effective_to != KF_CONTRACT_OPEN)
        sqlite3_bind_int(s, 5, c->effective_to);
    kf__store_bind_text(s, 6, text);
    kf__store_bind_text(s, 7, digest_hex);
    sqlite3_bind_int64(s, 8, now_ms);
    kf__store_bind_text(s, 9, by);
    kf__store_bind_text(s, 10, reason);
    return kf__store_step_done(st, s, "contract version");
}

/* ---- Assets in service -------------------------------------------------------------------- */

static int service_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_billing_service *v = row;

    (void)st;
    v->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(v->asset_id, sizeof(v->asset_id), s, 1);
    v->kind = sqlite3_column_int(s, 2);
    kf__store_col_copy(v->bank, sizeof(v->bank), s, 3);
    kf__store_col_copy(v->zone_id, sizeof(v->zone_id), s, 4);
    v->w.start_ms = sqlite3_column_int64(s, 5);
    v->w.end_ms =
        sqlite3_column_type(s, 6) == SQLITE_NULL ? KF_TIME_NEVER : sqlite3_column_int64(s, 6);
    v->implicit = v->id == 0;
    kf__store_col_copy(v->commissioned_by, sizeof(v->commissioned_by), s, 7);
    kf__store_col_copy(v->commission_reason, sizeof(v->commission_reason), s, 8);
    kf__store_col_copy(v->decommissioned_by, sizeof(v->decommissioned_by), s, 9);
    kf__store_col_copy(v->decommission_reason, sizeof(v->decommission_reason), s, 10);
    return 0;
}

int kf_store_billing_asset_service(struct kf_store *st, const char *asset_id, const char *bank,
                                   struct kf_billing_service **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    /* The implicit interval: an asset nobody ever commissioned is in service for its
     * current zone's bank from its registration (docs/BILLING.md "Operating it"). */
    int r = kf__store_prep(
        st,
        "SELECT * FROM ("
        " SELECT v.id, v.asset_id, a.kind, v.bank, v.zone_id, v.from_ms, v.to_ms,"
        "  v.commissioned_by, v.commission_reason, v.decommissioned_by, v.decommission_reason"
        " FROM asset_service v JOIN assets a USING (asset_id)"
        " UNION ALL"
        " SELECT 0, a.asset_id, a.kind, z.bank, a.zone_id, a.created_ms, NULL, NULL, NULL,"
        "  NULL, NULL FROM assets a JOIN zones z ON z.id = a.zone_id"
        " WHERE NOT EXISTS (SELECT 1 FROM asset_service v WHERE v.asset_id = a.asset_id))"
        " WHERE (?1 IS NULL OR asset_id = ?1) AND (?2 IS NULL OR bank = ?2)"
        " ORDER BY asset_id, from_ms",
        &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, asset_id);
    kf__store_bind_opt_text(s, 2, bank);
    return kf__store_rows(st, s, sizeof(**ret), service_fill, "asset service", (void **)ret, ret_n);
}

/* The asset's current zone and whether it has any recorded interval. */
static int asset_zone(struct kf_store *st, const char *asset_id, char *zone, size_t cap,
                      int64_t *ret_created, int *ret_rows)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT zone_id, created_ms, EXISTS (SELECT 1 FROM asset_service"
                           " WHERE asset_id = ?1) FROM assets WHERE asset_id = ?1",
                           &s),
        rc;

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, asset_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        kf__store_col_copy(zone, cap, s, 0);
        *ret_created = sqlite3_column_int64(s, 1);
        *ret_rows = sqlite3_column_int(s, 2);
    } else if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "no asset %s", asset_id);
        r = -ENOENT;
    } else {
        r = kf__store_sql_fail(st, rc, "asset");
    }
    sqlite3_finalize(s);
    return r;
}

static int insert_service(struct kf_store *st, const char *asset_id, const char *zone_id,
                          int64_t from_ms, int64_t to_ms, const char *by, const char *reason)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "INSERT INTO asset_service(asset_id, bank, zone_id, from_ms, to_ms,"
                           " commissioned_by, commission_reason)"
                           " SELECT ?1, bank, id, ?3, ?4, ?5, ?6 FROM zones WHERE id = ?2",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, asset_id);
    kf__store_bind_text(s, 2, zone_id);
    sqlite3_bind_int64(s, 3, from_ms);
    if (to_ms != KF_TIME_NEVER)
        sqlite3_bind_int64(s, 4, to_ms);
    kf__store_bind_text(s, 5, by);
    kf__store_bind_text(s, 6, reason);
    r = kf__store_step_done(st, s, "asset_service");
    if (r == 0 && sqlite3_changes(kf__store_db(st)) == 0) {
        kf__store_seterr(st, "no zone %s", zone_id);
        r = -ENOENT;
    }
    if (r == -EEXIST)
        kf__store_seterr(st, "%s is in service then already (intervals may not overlap)", asset_id);
    return r;
}

int kf_store_billing_commission(struct kf_store *st, const char *asset_id, const char *zone_id,
                                int64_t at_ms, const char *by, const char *reason)
{
    char cur[KF_TERMINAL_ID_MAX + 1];
    int64_t created;
    int own, rows, r;

    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = asset_zone(st, asset_id, cur, sizeof(cur), &created, &rows);
    if (r == 0)
        r = insert_service(st, asset_id, zone_id ? zone_id : cur, at_ms, KF_TIME_NEVER, by, reason);
    if (r == 0 && zone_id && strcmp(zone_id, cur) != 0) {
        sqlite3_stmt *s = NULL;

        r = kf__store_prep(st, "UPDATE assets SET zone_id = ?2 WHERE asset_id = ?1", &s);
        if (r == 0) {
            kf__store_bind_text(s, 1, asset_id);
            kf__store_bind_text(s, 2, zone_id);
            r = kf__store_step_done(st, s, "asset zone");
        }
    }
    return kf__store_txn_leave(st, own, r);
}

int kf_store_billing_decommission(struct kf_store *st, const char *asset_id, int64_t at_ms,
                                  const char *by, const char *reason)
{
    char zone[KF_TERMINAL_ID_MAX + 1];
    sqlite3_stmt *s = NULL;
    int64_t created;
    int own, rows, r;

    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = asset_zone(st, asset_id, zone, sizeof(zone), &created, &rows);
    /* In service since its registration, never recorded: write down that interval first,
     * so that the history shows where the decommissioned interval began. */
    if (r == 0 && !rows)
        r = insert_service(st, asset_id, zone, created, KF_TIME_NEVER, "registry",
                           "in service from its registration (no commissioning recorded)");
    if (r == 0)
        r = kf__store_prep(st,
                           "UPDATE asset_service SET to_ms = ?2, decommissioned_by = ?3,"
                           " decommission_reason = ?4 WHERE asset_id = ?1 AND to_ms IS NULL"
                           " AND from_ms < ?2",
                           &s);
    if (r == 0) {
        kf__store_bind_text(s, 1, asset_id);
        sqlite3_bind_int64(s, 2, at_ms);
        kf__store_bind_text(s, 3, by);
        kf__store_bind_text(s, 4, reason);
        r = kf__store_step_done(st, s, "decommission");
    }
    if (r == 0 && sqlite3_changes(kf__store_db(st)) == 0) {
        sqlite3_stmt *q = NULL;

        /* Which of the two: not in service, or not after the interval's start. */
        r = kf__store_prep(st, "SELECT 1 FROM asset_service WHERE asset_id = ?1 AND to_ms IS NULL",
                           &q);
        if (r == 0) {
            kf__store_bind_text(q, 1, asset_id);
            r = sqlite3_step(q) == SQLITE_ROW ? -EINVAL : -EALREADY;
            sqlite3_finalize(q);
            kf__store_seterr(st,
                             r == -EINVAL ? "%s: the decommissioning must come after the"
                                            " commissioning"
                                          : "%s is not in service",
                             asset_id);
        }
    }
    return kf__store_txn_leave(st, own, r);
}

static int id_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    (void)st;
    kf__store_col_copy(row, KF_TERMINAL_ID_MAX + 1, s, 0);
    return 0;
}

int kf_store_billing_uncommissioned(struct kf_store *st, char (**ret)[KF_TERMINAL_ID_MAX + 1],
                                    size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT asset_id FROM assets a WHERE NOT EXISTS (SELECT 1 FROM"
                           " asset_service v WHERE v.asset_id = a.asset_id) ORDER BY asset_id",
                           &s);

    if (r < 0)
        return r;
    return kf__store_rows(st, s, KF_TERMINAL_ID_MAX + 1, id_fill, "assets", (void **)ret, ret_n);
}

/* ---- The close ---------------------------------------------------------------------------- */

static int zone_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_billing_zone *z = row;

    (void)st;
    kf__store_col_copy(z->id, sizeof(z->id), s, 0);
    kf__store_col_copy(z->bank, sizeof(z->bank), s, 1);
    kf__store_col_copy(z->hours, sizeof(z->hours), s, 2);
    z->has_itm_hours = sqlite3_column_type(s, 3) != SQLITE_NULL;
    kf__store_col_copy(z->itm_hours, sizeof(z->itm_hours), s, 3);
    return 0;
}

int kf_store_billing_zones(struct kf_store *st, const char *bank, struct kf_billing_zone **ret,
                           size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT id, bank, hours, itm_hours FROM zones"
                           " WHERE ?1 IS NULL OR bank = ?1 ORDER BY id",
                           &s);

    if (r < 0)
        return r;
    if (bank)
        sqlite3_bind_text(s, 1, bank, -1, SQLITE_STATIC);
    return kf__store_rows(st, s, sizeof(**ret), zone_fill, "zones", (void **)ret, ret_n);
}

int kf_store_billing_close_day(struct kf_store *st, int *ret)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st, "SELECT value FROM billing_settings WHERE key = 'close_day'", &s),
        rc;

    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int(s, 0);
    else if (rc == SQLITE_DONE)
        *ret = KF_BILLING_CLOSE_DAY_DEFAULT;
    else
        r = kf__store_sql_fail(st, rc, "close day");
    sqlite3_finalize(s);
    return r;
}

int kf_store_billing_set_close_day(struct kf_store *st, int day)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (day < 1 || day > KF_BILLING_CLOSE_DAY_MAX) {
        kf__store_seterr(st, "close day %d: must be 1..%d", day, KF_BILLING_CLOSE_DAY_MAX);
        return -EINVAL;
    }
    r = kf__store_prep(st,
                       "INSERT INTO billing_settings(key, value) VALUES ('close_day', ?1)"
                       " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int(s, 1, day);
    return kf__store_step_done(st, s, "close day");
}

/* ---- Issued documents --------------------------------------------------------------------- */

int kf_store_billing_next_seq(struct kf_store *st, const char *bank, int type, int64_t *ret)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "INSERT INTO bill_numbers(bank, type, last) VALUES (?1, ?2, 1)"
                           " ON CONFLICT(bank, type) DO UPDATE SET last = last + 1"
                           " RETURNING last",
                           &s),
        rc;

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, bank);
    sqlite3_bind_int(s, 2, type);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(s, 0);
    else
        r = kf__store_sql_fail(st, rc, "bill number");
    if (r == 0 && (rc = sqlite3_step(s)) != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "bill number");
    sqlite3_finalize(s);
    return r;
}

int kf_store_billing_doc_add(struct kf_store *st, const struct kf_billing_doc *d)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "INSERT INTO bill_docs(number, type, bank, period, seq, ref, ref_line,"
                           " issued_ms, issued_by, net_fen, tax_fen, gross_fen, json, digest, sig)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                           " ?15)",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, d->number);
    sqlite3_bind_int(s, 2, d->type);
    kf__store_bind_text(s, 3, d->bank);
    kf__store_bind_text(s, 4, d->period);
    sqlite3_bind_int64(s, 5, d->seq);
    kf__store_bind_opt_text(s, 6, d->ref);
    if (d->ref[0])
        sqlite3_bind_int(s, 7, d->ref_line);
    sqlite3_bind_int64(s, 8, d->issued_ms);
    kf__store_bind_text(s, 9, d->issued_by);
    sqlite3_bind_int64(s, 10, d->net_fen);
    sqlite3_bind_int64(s, 11, d->tax_fen);
    sqlite3_bind_int64(s, 12, d->gross_fen);
    sqlite3_bind_text(s, 13, d->json, (int)d->json_len, SQLITE_STATIC);
    kf__store_bind_text(s, 14, d->digest);
    sqlite3_bind_blob(s, 15, d->sig, 64, SQLITE_STATIC);
    r = kf__store_step_done(st, s, "bill document");
    if (r == -EEXIST)
        kf__store_seterr(st, "%s: issued already (or a bill of %s for %s exists)", d->number,
                         d->bank, d->period);
    return r;
}

#define DOC_COLS                                                                                   \
    "number, type, bank, period, seq, ref, ref_line, issued_ms, issued_by, net_fen, tax_fen,"      \
    " gross_fen, digest, sig"

static int doc_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_billing_doc *d = row;

    (void)st;
    kf__store_col_copy(d->number, sizeof(d->number), s, 0);
    d->type = sqlite3_column_int(s, 1);
    kf__store_col_copy(d->bank, sizeof(d->bank), s, 2);
    kf__store_col_copy(d->period, sizeof(d->period), s, 3);
    d->seq = sqlite3_column_int64(s, 4);
    kf__store_col_copy(d->ref, sizeof(d->ref), s, 5);
    d->ref_line = sqlite3_column_int(s, 6);
    d->issued_ms = sqlite3_column_int64(s, 7);
    kf__store_col_copy(d->issued_by, sizeof(d->issued_by), s, 8);
    d->net_fen = sqlite3_column_int64(s, 9);
    d->tax_fen = sqlite3_column_int64(s, 10);
    d->gross_fen = sqlite3_column_int64(s, 11);
    kf__store_col_copy(d->digest, sizeof(d->digest), s, 12);
    kf__store_col_blob(s, 13, d->sig, 64);
    return 0;
}

int kf_store_billing_doc(struct kf_store *st, const char *number, struct kf_billing_doc *ret)
{
    struct kf_billing_doc d = {0};
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st, "SELECT " DOC_COLS ", json FROM bill_docs WHERE number = ?1", &s),
        rc;

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, number);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        doc_fill(st, s, &d);
        d.json_len = (size_t)sqlite3_column_bytes(s, 14);
        d.json = malloc(d.json_len + 1);
        if (d.json == NULL) {
            r = -ENOMEM;
        } else {
            memcpy(d.json, sqlite3_column_blob(s, 14), d.json_len);
            d.json[d.json_len] = '\0';
        }
    } else if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "no bill or credit note %s", number);
        r = -ENOENT;
    } else {
        r = kf__store_sql_fail(st, rc, "bill document");
    }
    sqlite3_finalize(s);
    if (r == 0)
        *ret = d;
    return r;
}

int kf_store_billing_docs(struct kf_store *st, const char *bank, int type,
                          struct kf_billing_doc **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT " DOC_COLS " FROM bill_docs WHERE (?1 IS NULL OR bank = ?1)"
                           " AND (?2 = 0 OR type = ?2) ORDER BY bank, type, seq",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, bank);
    sqlite3_bind_int(s, 2, type);
    return kf__store_rows(st, s, sizeof(**ret), doc_fill, "bill documents", (void **)ret, ret_n);
}

int kf_store_billing_adjustment_add(struct kf_store *st, const struct kf_billing_adjustment *a)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "INSERT INTO bill_adjustments(bill, ref, asset, kind, tax_rate_bp,"
                           " net_fen, tax_fen, gross_fen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, a->bill);
    kf__store_bind_text(s, 2, a->ref);
    kf__store_bind_text(s, 3, a->asset);
    sqlite3_bind_int(s, 4, a->kind);
    sqlite3_bind_int(s, 5, a->tax_rate_bp);
    sqlite3_bind_int64(s, 6, a->net_fen);
    sqlite3_bind_int64(s, 7, a->tax_fen);
    sqlite3_bind_int64(s, 8, a->gross_fen);
    return kf__store_step_done(st, s, "bill adjustment");
}

static int adj_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_billing_adjustment *a = row;

    (void)st;
    kf__store_col_copy(a->bill, sizeof(a->bill), s, 0);
    kf__store_col_copy(a->ref, sizeof(a->ref), s, 1);
    kf__store_col_copy(a->asset, sizeof(a->asset), s, 2);
    a->kind = sqlite3_column_int(s, 3);
    a->tax_rate_bp = sqlite3_column_int(s, 4);
    a->net_fen = sqlite3_column_int64(s, 5);
    a->tax_fen = sqlite3_column_int64(s, 6);
    a->gross_fen = sqlite3_column_int64(s, 7);
    return 0;
}

int kf_store_billing_adjustments(struct kf_store *st, const char *ref, const char *bill,
                                 struct kf_billing_adjustment **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT bill, ref, asset, kind, tax_rate_bp, net_fen, tax_fen,"
                           " gross_fen FROM bill_adjustments WHERE (?1 IS NULL OR ref = ?1)"
                           " AND (?2 IS NULL OR bill = ?2) ORDER BY ref, asset, kind,"
                           " tax_rate_bp, bill",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, ref);
    kf__store_bind_opt_text(s, 2, bill);
    return kf__store_rows(st, s, sizeof(**ret), adj_fill, "bill adjustments", (void **)ret, ret_n);
}

/* ---- Disputes ----------------------------------------------------------------------------- */

int kf_store_billing_dispute_add(struct kf_store *st, const char *bill, int32_t line, int64_t at_ms,
                                 const char *by, const char *reason, int64_t *ret_id)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "INSERT INTO bill_disputes(bill, line, at_ms, by, reason)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_text(s, 1, bill);
    sqlite3_bind_int(s, 2, line);
    sqlite3_bind_int64(s, 3, at_ms);
    kf__store_bind_text(s, 4, by);
    kf__store_bind_text(s, 5, reason);
    r = kf__store_step_done(st, s, "bill dispute");
    if (r == 0)
        *ret_id = sqlite3_last_insert_rowid(kf__store_db(st));
    return r;
}

int kf_store_billing_answer_add(struct kf_store *st, int64_t dispute, int accept, int64_t at_ms,
                                const char *by, const char *reason, const char *credit_note)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "INSERT INTO bill_answers(dispute, accept, at_ms, by, reason,"
                           " credit_note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, dispute);
    sqlite3_bind_int(s, 2, accept != 0);
    sqlite3_bind_int64(s, 3, at_ms);
    kf__store_bind_text(s, 4, by);
    kf__store_bind_text(s, 5, reason);
    kf__store_bind_opt_text(s, 6, credit_note);
    r = kf__store_step_done(st, s, "bill answer");
    if (r == -EEXIST) {
        kf__store_seterr(st, "dispute %lld was answered already", (long long)dispute);
        r = -EALREADY;
    }
    return r;
}

static int dispute_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_billing_dispute *d = row;

    (void)st;
    d->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(d->bill, sizeof(d->bill), s, 1);
    kf__store_col_copy(d->bank, sizeof(d->bank), s, 2);
    d->line = sqlite3_column_int(s, 3);
    d->at_ms = sqlite3_column_int64(s, 4);
    kf__store_col_copy(d->by, sizeof(d->by), s, 5);
    kf__store_col_copy(d->reason, sizeof(d->reason), s, 6);
    d->state = sqlite3_column_type(s, 7) == SQLITE_NULL ? KF_DISPUTE_OPEN
               : sqlite3_column_int(s, 7)               ? KF_DISPUTE_ACCEPTED
                                                        : KF_DISPUTE_REFUSED;
    d->answered_ms = sqlite3_column_int64(s, 8);
    kf__store_col_copy(d->answered_by, sizeof(d->answered_by), s, 9);
    kf__store_col_copy(d->answer, sizeof(d->answer), s, 10);
    kf__store_col_copy(d->credit_note, sizeof(d->credit_note), s, 11);
    return 0;
}

int kf_store_billing_disputes(struct kf_store *st, const char *bank, int64_t id,
                              struct kf_billing_dispute **ret, size_t *ret_n)
{
    struct kf_billing_dispute *rows = NULL;
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    int r = kf__store_prep(st,
                           "SELECT d.id, d.bill, b.bank, d.line, d.at_ms, d.by, d.reason, a.accept,"
                           " a.at_ms, a.by, a.reason, a.credit_note FROM bill_disputes d"
                           " JOIN bill_docs b ON b.number = d.bill"
                           " LEFT JOIN bill_answers a ON a.dispute = d.id"
                           " WHERE (?1 IS NULL OR b.bank = ?1) AND (?2 = 0 OR d.id = ?2)"
                           " ORDER BY d.id",
                           &s);

    if (r < 0)
        return r;
    kf__store_bind_opt_text(s, 1, bank);
    sqlite3_bind_int64(s, 2, id);
    r = kf__store_rows(st, s, sizeof(*rows), dispute_fill, "bill disputes", (void **)&rows, &n);
    if (r == 0 && id > 0 && n == 0) {
        kf__store_seterr(st, "no dispute %lld", (long long)id);
        r = -ENOENT;
    }
    if (r < 0)
        return r;
    *ret = rows;
    *ret_n = n;
    return 0;
}

/* ---- Digests of the inputs ---------------------------------------------------------------- */

static void put_u32(crypto_generichash_state *h, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

    crypto_generichash_update(h, b, 4);
}

int kf_store_billing_calendars_digest(struct kf_store *st, char ret_hex[65])
{
    crypto_generichash_state h;
    sqlite3_stmt *s = NULL;
    uint8_t out[32];
    int r = kf__store_prep(st, "SELECT year, text FROM sla_calendars ORDER BY year", &s), rc;

    if (r < 0)
        return r;
    crypto_generichash_init(&h, NULL, 0, sizeof(out));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int len = sqlite3_column_bytes(s, 1);

        put_u32(&h, (uint32_t)sqlite3_column_int(s, 0));
        put_u32(&h, (uint32_t)len);
        crypto_generichash_update(&h, sqlite3_column_blob(s, 1), (unsigned long long)len);
    }
    if (rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "calendars");
    sqlite3_finalize(s);
    crypto_generichash_final(&h, out, sizeof(out));
    if (r == 0)
        kf_hex_encode(out, sizeof(out), ret_hex, 65);
    return r;
}

int kf_store_billing_log_head(struct kf_store *st, char ret_hex[65])
{
    uint8_t head[32] = {0};
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st, "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1", &s), rc;

    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        kf__store_col_blob(s, 0, head, sizeof(head));
    else if (rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "log head");
    sqlite3_finalize(s);
    if (r == 0)
        kf_hex_encode(head, sizeof(head), ret_hex, 65);
    return r;
}

int kf_store_billing_log_has(struct kf_store *st, const char *hex)
{
    uint8_t h[32];
    sqlite3_stmt *s = NULL;
    int r;

    if (kf_hex_decode(hex, h, sizeof(h)) < 0)
        return 0;
    r = kf__store_prep(st, "SELECT 1 FROM audit_log WHERE hash = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_blob(s, 1, h, sizeof(h), SQLITE_STATIC);
    r = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return r;
}
