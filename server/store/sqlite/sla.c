/* store/sqlite/sla.c: schema v4 and the facts side of the store's SLA part (store/sla.h): the facts
 * history written by the group commit, read back for the engine, and its cursor. Incidents,
 * events, terminal states and persisting an engine run are in store/sqlite/sla_state.c;
 * terminals, contracts, windows, calendars, the catalog and actions in store/sqlite/sla_admin.c.
 *
 * The ingest helpers run on the hot path: their statements are kept prepared (store.c) and
 * each writes a row only when a state changes. The engine's statements run once per engine
 * run (every tick_s at most, plus once after each commit that wrote facts), so they are
 * prepared per call, like store/sqlite/query.c's: a few tens of microseconds per run. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/err.h>

#include "rules/usage.h"
#include "store/sqlite/int.h"
#include "store/sla.h"

/* v6: a fact written dated before the engine's last tick had its time moved up to that
 * tick; `late` says so. Facts now keep their true time and `late` is always 0: a
 * backlog is the engine's call, per terminal (docs/SLA.md 10.1); old rows keep theirs. */
const char *const kf__store_schema_sla_late[] = {
    "ALTER TABLE sla_facts ADD COLUMN late INTEGER NOT NULL DEFAULT 0",
    NULL,
};

/* v10: a resolve forced while the terminal still reports the condition (docs/SLA.md 5.2). */
const char *const kf__store_schema_sla_forced[] = {
    "ALTER TABLE sla_actions ADD COLUMN flags INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE sla_incidents ADD COLUMN forced INTEGER NOT NULL DEFAULT 0",
    NULL,
};

/* v15 (issue 17): an incident's assignee, set by the technicians' `assign` action: on the
 * incident (NULL: nobody), on the event that set it and on the queued action. Work
 * planning only: nothing a figure is computed from (docs/SLA.md 5.2). */
const char *const kf__store_schema_sla_assign[] = {
    "ALTER TABLE sla_incidents ADD COLUMN assignee TEXT",
    "ALTER TABLE sla_events ADD COLUMN assignee TEXT",
    "ALTER TABLE sla_actions ADD COLUMN assignee TEXT",
    NULL,
};

/* v23: what a terminal's status is decided from (struct kf_seg of its state: online,
 * maintenance, unusable and critical-fault peripherals) as columns beside the state's JSON,
 * written with it by the engine's persist (sla_state.c), so the zone finder counts each
 * zone's terminals in service with a GROUP BY instead of parsing every state. The rows
 * already there are filled from their JSON here; crit is the OR of 1 << periph over the
 * open critical faults (sev 4, KF_SEV_CRITICAL; periph 0: device-wide, bit 0), summed over
 * distinct bits. A row whose JSON does not parse (no reader takes it) keeps zeros. */
_Static_assert(KF_SEV_CRITICAL == 4, "the v23 back-fill names critical as 4");
const char *const kf__store_schema_sla_columns[] = {
    "ALTER TABLE sla_terminal_state ADD COLUMN online INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE sla_terminal_state ADD COLUMN maint INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE sla_terminal_state ADD COLUMN unusable INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE sla_terminal_state ADD COLUMN crit INTEGER NOT NULL DEFAULT 0",
    "UPDATE sla_terminal_state SET"
    " online = coalesce(json_extract(state, '$.online') != 0, 0),"
    " maint = coalesce(json_extract(state, '$.maint') != 0, 0),"
    " unusable = coalesce(json_extract(state, '$.unusable'), 0),"
    " crit = coalesce((SELECT sum(DISTINCT 1 << json_extract(f.value, '$.periph'))"
    " FROM json_each(state, '$.faults') f WHERE json_extract(f.value, '$.sev') = 4), 0)"
    " WHERE json_valid(state)",
    NULL,
};

const char *const kf__store_schema_sla[] = {
    /* The facts history: one row per change of a state the SLA depends on. id is the
     * engine's cursor (commit order); at_ms the instant the fact counts at. */
    "CREATE TABLE sla_facts(id INTEGER PRIMARY KEY, asset_id TEXT NOT NULL,"
    " device_id TEXT NOT NULL, kind TEXT NOT NULL"
    " CHECK(kind IN ('presence', 'periph', 'fault', 'maint')),"
    " at_ms INTEGER NOT NULL, recv_ms INTEGER NOT NULL, seq INTEGER, value INTEGER NOT NULL,"
    " src TEXT, periph TEXT, state TEXT, code TEXT, sev TEXT, who TEXT)",
    "CREATE INDEX sla_facts_asset ON sla_facts(asset_id, id)",
    /* Maintenance mode per device, newest record by seq (like periph_latest). */
    "CREATE TABLE maint_latest(device_id TEXT PRIMARY KEY REFERENCES devices(device_id),"
    " maint INTEGER NOT NULL, tech TEXT NOT NULL, since_ms INTEGER NOT NULL,"
    " seq INTEGER NOT NULL) WITHOUT ROWID",
    /* bank '*' is the default for banks without a contract of their own. */
    "CREATE TABLE sla_contracts(bank TEXT NOT NULL, kind INTEGER NOT NULL CHECK(kind IN (1, 2)),"
    " response_s INTEGER NOT NULL CHECK(response_s > 0),"
    " restore_s INTEGER NOT NULL CHECK(restore_s > 0),"
    " target_bp INTEGER NOT NULL CHECK(target_bp BETWEEN 0 AND 10000),"
    " PRIMARY KEY(bank, kind)) WITHOUT ROWID",
    "CREATE TABLE sla_windows(id INTEGER PRIMARY KEY,"
    " asset_id TEXT REFERENCES assets(asset_id), zone_id TEXT REFERENCES zones(id),"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, reason TEXT NOT NULL,"
    " entered_by TEXT NOT NULL, entered_ms INTEGER NOT NULL,"
    " CHECK((asset_id IS NULL) <> (zone_id IS NULL)), CHECK(end_ms > start_ms))",
    "CREATE TABLE sla_calendars(year INTEGER PRIMARY KEY, text TEXT NOT NULL,"
    " source TEXT NOT NULL, loaded_ms INTEGER NOT NULL)",
    /* Unset instants are NULL; spans is a JSON array of [start, end|null]. */
    "CREATE TABLE sla_incidents(id INTEGER PRIMARY KEY,"
    " asset_id TEXT NOT NULL REFERENCES assets(asset_id), cause TEXT NOT NULL, periph TEXT,"
    " sev TEXT, state TEXT NOT NULL, attr TEXT NOT NULL, breached INTEGER NOT NULL,"
    " detail TEXT NOT NULL, opened_ms INTEGER NOT NULL, acked_ms INTEGER, acked_by TEXT,"
    " on_site_ms INTEGER, on_site_by TEXT, on_site_since_ms INTEGER,"
    " on_site_total_ms INTEGER NOT NULL, resolved_ms INTEGER, resolved_by TEXT,"
    " closed_ms INTEGER, closed_by TEXT, n_reopened INTEGER NOT NULL,"
    " n_attr_changes INTEGER NOT NULL, n_notes INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
    " end_ms INTEGER, spans TEXT NOT NULL, updated_ms INTEGER NOT NULL)",
    "CREATE INDEX sla_incidents_live ON sla_incidents(state, resolved_ms)",
    "CREATE INDEX sla_incidents_asset ON sla_incidents(asset_id, id)",
    "CREATE TABLE sla_events(id INTEGER PRIMARY KEY,"
    " incident INTEGER NOT NULL REFERENCES sla_incidents(id), kind TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL, start_ms INTEGER, clock TEXT, from_attr TEXT, to_attr TEXT,"
    " flags INTEGER NOT NULL, periph TEXT, sev TEXT, terminal TEXT, cause TEXT,"
    " who TEXT NOT NULL, text TEXT NOT NULL, action INTEGER, recorded_ms INTEGER NOT NULL)",
    "CREATE INDEX sla_events_incident ON sla_events(incident, id)",
    "CREATE TABLE sla_notices(event_id INTEGER PRIMARY KEY REFERENCES sla_events(id),"
    " kind TEXT NOT NULL, payload TEXT NOT NULL, created_ms INTEGER NOT NULL)",
    "CREATE TABLE sla_terminal_state(asset_id TEXT PRIMARY KEY REFERENCES assets(asset_id),"
    " device_id TEXT NOT NULL, at_ms INTEGER NOT NULL, state TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE sla_cursor(one INTEGER PRIMARY KEY CHECK(one = 1),"
    " fact_id INTEGER NOT NULL DEFAULT 0, tick_ms INTEGER NOT NULL DEFAULT 0,"
    " windows_rev INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL DEFAULT 0)",
    "INSERT INTO sla_cursor(one) VALUES (1)",
    "CREATE TABLE sla_actions(id INTEGER PRIMARY KEY, incident INTEGER NOT NULL,"
    " kind TEXT NOT NULL, to_attr TEXT, who TEXT NOT NULL, text TEXT NOT NULL,"
    " requested_ms INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending'"
    " CHECK(status IN ('pending', 'done', 'refused')), applied_ms INTEGER, at_ms INTEGER,"
    " result TEXT)",
    "CREATE INDEX sla_actions_pending ON sla_actions(id) WHERE status = 'pending'",
    NULL,
};

static const char *const fact_kinds[] = {NULL, "presence", "periph", "fault", "maint"};
static const char *const src_names[] = {NULL, "connect", "will", "heartbeat"};

uint64_t kf_store_sla_facts_written(const struct kf_store *st)
{
    return st->sla_facts;
}

void kf__store_bind_opt_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v != NULL && v[0] != '\0')
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

void kf__store_bind_opt_ms(sqlite3_stmt *s, int i, int64_t v)
{
    if (v != 0)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

const char *kf__store_col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t ? (const char *)t : "";
}

void kf__store_col_copy(char *dst, size_t cap, sqlite3_stmt *s, int i)
{
    snprintf(dst, cap, "%s", kf__store_col_text(s, i));
}

/* ---- Facts from the group commit --------------------------------------------------------- */

struct fact_cols {
    const char *kind;
    int64_t at_ms;
    uint64_t seq; /* 0: none */
    int value;
    const char *src, *periph, *state, *code, *sev, *who;
};

static int fact_insert(struct kf_store *st, const struct kf__store_sla_src *src,
                       const struct fact_cols *c)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, ST_SLA_FACT_INSERT, &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, src->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, src->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, c->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, c->at_ms);
    sqlite3_bind_int64(s, 5, src->recv_ms);
    if (c->seq != 0)
        kf__store_bind_u64(s, 6, c->seq);
    sqlite3_bind_int(s, 7, c->value);
    kf__store_bind_opt_text(s, 8, c->src);
    kf__store_bind_opt_text(s, 9, c->periph);
    kf__store_bind_opt_text(s, 10, c->state);
    kf__store_bind_opt_text(s, 11, c->code);
    kf__store_bind_opt_text(s, 12, c->sev);
    kf__store_bind_opt_text(s, 13, c->who);
    r = kf__store_stmt_run(st, s, "sla fact");
    if (r == 0)
        st->sla_facts++;
    return r;
}

int kf__store_sla_presence(struct kf_store *st, const struct kf__store_sla_src *src, int online,
                           int how)
{
    struct fact_cols c = {.kind = "presence", .at_ms = src->recv_ms, .value = online != 0};

    c.src = how >= KF_SRC_CONNECT && how <= KF_SRC_HEARTBEAT ? src_names[how] : "connect";
    return fact_insert(st, src, &c);
}

int kf__store_sla_periph(struct kf_store *st, const struct kf__store_sla_src *src, uint64_t seq,
                         const struct kf_rec_periph *p, int64_t eff_ms)
{
    const char *pname = kf_periph_name(p->periph), *sname = kf_pstate_name(p->state);
    struct fact_cols c = {
        .kind = "periph", .at_ms = kf_usage_fact_ms(eff_ms, src->recv_ms), .seq = seq};
    sqlite3_stmt *s = NULL;
    int r, rc, changed = 1;

    if (!pname || !sname)
        return -EINVAL;
    r = kf__store_stmt(st, ST_SLA_PERIPH_PREV, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, src->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, pname, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        /* An older record arriving late changes nothing (periph_latest keeps the newest). */
        changed = (uint64_t)sqlite3_column_int64(s, 1) < seq &&
                  strcmp(kf__store_col_text(s, 0), sname) != 0;
    } else if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "sla periph");
    }
    kf__store_stmt_done(s);
    if (r < 0 || !changed)
        return r;
    c.value = kf_pstate_usable(p->state) != 0;
    c.periph = pname;
    c.state = sname;
    return fact_insert(st, src, &c);
}

int kf__store_sla_fault(struct kf_store *st, const struct kf__store_sla_src *src, uint64_t seq,
                        const struct kf_rec_fault *f, int64_t eff_ms)
{
    const char *sev = kf_severity_name(f->sev);
    const char *periph = f->periph ? kf_periph_name(f->periph) : NULL;
    struct fact_cols c = {
        .kind = "fault", .at_ms = kf_usage_fact_ms(eff_ms, src->recv_ms), .seq = seq};
    sqlite3_stmt *s = NULL;
    int r, rc, changed = f->raise != 0; /* no state yet: only a raise is news */

    if (!sev)
        return -EINVAL;
    r = kf__store_stmt(st, ST_SLA_FAULT_PREV, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, src->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->code, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int was_open = sqlite3_column_int(s, 0);
        int same = was_open == (f->raise != 0) &&
                   (!f->raise || (strcmp(kf__store_col_text(s, 1), sev) == 0 &&
                                  strcmp(kf__store_col_text(s, 2), periph ? periph : "") == 0));

        changed = (uint64_t)sqlite3_column_int64(s, 3) < seq && !same;
    } else if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "sla fault");
    }
    kf__store_stmt_done(s);
    if (r < 0 || !changed)
        return r;
    c.value = f->raise != 0;
    c.code = f->code;
    c.sev = sev;
    c.periph = periph;
    return fact_insert(st, src, &c);
}

int kf__store_sla_maint(struct kf_store *st, const struct kf__store_sla_src *src, uint64_t seq,
                        const struct kf_rec_maint *m, int64_t eff_ms)
{
    struct fact_cols c = {
        .kind = "maint", .at_ms = kf_usage_fact_ms(eff_ms, src->recv_ms), .seq = seq};
    sqlite3_stmt *s = NULL;
    int r, rc, changed = m->on != 0;

    r = kf__store_stmt(st, ST_SLA_MAINT_PREV, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, src->device_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        changed =
            (uint64_t)sqlite3_column_int64(s, 1) < seq && sqlite3_column_int(s, 0) != (m->on != 0);
    else if (rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "sla maint");
    kf__store_stmt_done(s);
    if (r < 0)
        return r;
    r = kf__store_stmt(st, ST_SLA_MAINT_UPSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, src->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, m->on != 0);
    sqlite3_bind_text(s, 3, m->tech, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, c.at_ms);
    kf__store_bind_u64(s, 5, seq);
    r = kf__store_stmt_run(st, s, "maint_latest");
    if (r < 0 || !changed)
        return r;
    c.value = m->on != 0;
    c.who = m->tech;
    return fact_insert(st, src, &c);
}

int kf__store_sla_expire(struct kf_store *st, int64_t cutoff_ms, int64_t now_ms)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, ST_SLA_EXPIRE_FACTS, &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, cutoff_ms);
    sqlite3_bind_int64(s, 2, now_ms);
    r = kf__store_stmt_run(st, s, "sla expire");
    if (r == 0)
        st->sla_facts += (uint64_t)sqlite3_changes(kf__store_db(st));
    return r;
}

/* ---- Reading ----------------------------------------------------------------------------- */

int kf__store_prep(struct kf_store *st, const char *sql, sqlite3_stmt **ret)
{
    int rc = sqlite3_prepare_v2(kf__store_db(st), sql, -1, ret, NULL);

    return rc == SQLITE_OK ? 0 : kf__store_sql_fail(st, rc, "prepare");
}

int kf__store_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, ncap * elem);

    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int kf__store_rows(struct kf_store *st, sqlite3_stmt *s, size_t elem, kf__store_fill_fn fill,
                   const char *what, void **ret, size_t *ret_n)
{
    char *rows = NULL;
    size_t n = 0, cap = 0;
    int r = 0, rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        r = kf__store_grow((void **)&rows, &cap, n, elem);
        if (r < 0)
            break;
        memset(rows + n * elem, 0, elem);
        r = fill(st, s, rows + n * elem);
        if (r < 0)
            break;
        n++;
    }
    /* A fill that failed has set its own message: only a failed step is left to report. */
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, what);
    sqlite3_finalize(s);
    if (r < 0) {
        free(rows);
        return r;
    }
    *ret = rows;
    *ret_n = n;
    return 0;
}

int kf_store_sla_cursor(struct kf_store *st, struct kf_sla_cursor *ret)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(
        st, "SELECT fact_id, tick_ms, windows_rev, updated_ms FROM sla_cursor WHERE one = 1", &s);
    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        ret->fact_id = sqlite3_column_int64(s, 0);
        ret->tick_ms = sqlite3_column_int64(s, 1);
        ret->windows_rev = sqlite3_column_int64(s, 2);
        ret->updated_ms = sqlite3_column_int64(s, 3);
    } else {
        r = rc == SQLITE_DONE ? -ENOENT : kf__store_sql_fail(st, rc, "sla cursor");
    }
    sqlite3_finalize(s);
    return r;
}

static int name_parse(const char *const *names, int n, const char *s, int *ret)
{
    for (int i = 1; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            *ret = i;
            return 0;
        }
    }
    return -EINVAL;
}

/* Row -> fact (f arrives zeroed); -EINVAL when a name is not one we write. */
static int fact_from_row(sqlite3_stmt *s, struct kf_sla_fact_row *f)
{
    int kind, v = 0;

    f->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(f->asset_id, sizeof(f->asset_id), s, 1);
    kf__store_col_copy(f->device_id, sizeof(f->device_id), s, 2);
    if (name_parse(fact_kinds, 5, kf__store_col_text(s, 3), &kind) < 0)
        return -EINVAL;
    f->fact.kind = (uint8_t)kind;
    f->fact.at_ms = sqlite3_column_int64(s, 4);
    f->recv_ms = sqlite3_column_int64(s, 5);
    f->fact.on = (uint8_t)(sqlite3_column_int(s, 6) != 0);
    if (kind == KF_FACT_PRESENCE && name_parse(src_names, 4, kf__store_col_text(s, 7), &v) < 0)
        return -EINVAL;
    f->fact.src = (uint8_t)v;
    v = 0;
    if (sqlite3_column_type(s, 8) != SQLITE_NULL &&
        kf_periph_parse(kf__store_col_text(s, 8), &v) < 0)
        return -EINVAL;
    f->fact.periph = (uint8_t)v;
    v = 0;
    if (sqlite3_column_type(s, 10) != SQLITE_NULL &&
        kf_severity_parse(kf__store_col_text(s, 10), &v) < 0)
        return -EINVAL;
    f->fact.sev = (uint8_t)v;
    kf__store_col_copy(f->fact.code, sizeof(f->fact.code), s, 9);
    kf__store_col_copy(f->fact.who, sizeof(f->fact.who), s, 11);
    f->fact.late = (uint8_t)(sqlite3_column_int(s, 12) != 0);
    f->seq = sqlite3_column_type(s, 13) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 13);
    return 0;
}

static int fact_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    if (fact_from_row(s, row) == 0)
        return 0;
    kf__store_seterr(st, "sla_facts row %lld is not readable",
                     (long long)sqlite3_column_int64(s, 0));
    return -EINVAL;
}

int kf_store_sla_facts(struct kf_store *st, int64_t after_id, size_t max,
                       struct kf_sla_fact_row **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(
        st,
        "SELECT id, asset_id, device_id, kind, at_ms, recv_ms, value, src, periph, code,"
        " sev, who, late, seq FROM sla_facts WHERE id > ?1 ORDER BY id LIMIT ?2",
        &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, after_id);
    sqlite3_bind_int64(s, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    return kf__store_rows(st, s, sizeof(**ret), fact_fill, "sla facts", (void **)ret, ret_n);
}
