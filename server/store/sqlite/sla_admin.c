/* store/sqlite/sla_admin.c: what the SLA is computed against and what people enter (store/sla.h):
 * terminals with their hours and contracts, planned maintenance windows, the stored yearly
 * calendars, the service catalog's needs, and technicians' actions. None of it is on the
 * ingest path; statements are prepared per call. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/err.h>

#include "rules/sla.h"
#include "store/sqlite/int.h"
#include "store/sla.h"

#define KF_WINDOW_MAX_MS (31LL * 86400 * 1000) /* a planned window is at most a month */

/* ---- Terminals ---------------------------------------------------------------------------- */

/* A zone's "hours" JSON ({"weekday": spec, "weekend": spec|null}) and itm_hours -> week. */
static int week_of(const char *hours_json, const char *itm_hours, int kind, struct kf_week *ret)
{
    json_error_t jerr;
    json_t *h = json_loads(hours_json, 0, &jerr);
    json_t *wd = json_object_get(h, "weekday"), *we = json_object_get(h, "weekend");
    int r;

    if (!json_is_string(wd) || (we && !json_is_string(we) && !json_is_null(we))) {
        json_decref(h);
        return -EINVAL;
    }
    r = kf_calendar_week_for_terminal(json_string_value(wd),
                                      json_is_string(we) ? json_string_value(we) : NULL, itm_hours,
                                      kind == 2, ret);
    json_decref(h);
    return r;
}

/* A zone's week for one kind of terminal, parsed once per call: the hours are the zone's, and
 * a fleet has many terminals to a zone. Direct-mapped on the zone id and the kind. */
#define WEEK_MEMO 512
struct week_memo {
    char zone_id[KF_TERMINAL_ID_MAX + 1]; /* "" empty */
    uint8_t itm;
    struct kf_week week;
};

/* A terminal with its hours and its contract (the bank's, else the default one, else the
 * built-in terms). */
static int terminal_fill(struct kf_store *st, sqlite3_stmt *s, struct kf_sla_terminal *t,
                         struct week_memo *memo)
{
    struct week_memo *m = NULL;

    kf__store_col_copy(t->asset_id, sizeof(t->asset_id), s, 0);
    t->kind = (uint8_t)sqlite3_column_int(s, 1);
    kf__store_col_copy(t->zone_id, sizeof(t->zone_id), s, 2);
    kf__store_col_copy(t->bank, sizeof(t->bank), s, 3);
    kf__store_col_copy(t->device_id, sizeof(t->device_id), s, 6);
    kf__store_col_copy(t->unit, sizeof(t->unit), s, 10);
    if (memo) {
        uint64_t h = 1469598103934665603u ^ (t->kind == 2);

        for (const char *c = t->zone_id; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211u;
        m = &memo[h % WEEK_MEMO];
        if (m->zone_id[0] && m->itm == (t->kind == 2) && strcmp(m->zone_id, t->zone_id) == 0) {
            t->week = m->week;
            m = NULL; /* found */
            goto terms;
        }
    }
    if (week_of(kf__store_col_text(s, 4),
                sqlite3_column_type(s, 5) == SQLITE_NULL ? NULL : kf__store_col_text(s, 5), t->kind,
                &t->week) < 0) {
        kf__store_seterr(st, "zone %s: its hours are not valid opening hours (docs/SLA.md 2.1)",
                         t->zone_id);
        return -EINVAL;
    }
    if (m) {
        snprintf(m->zone_id, sizeof(m->zone_id), "%s", t->zone_id);
        m->itm = t->kind == 2;
        m->week = t->week;
    }
terms:
    t->has_contract = sqlite3_column_type(s, 7) != SQLITE_NULL;
    t->terms.response_s = t->has_contract ? sqlite3_column_int64(s, 7) : KF_SLA_DEFAULT_RESPONSE_S;
    t->terms.restore_s = t->has_contract ? sqlite3_column_int64(s, 8) : KF_SLA_DEFAULT_RESTORE_S;
    t->terms.target_bp = t->has_contract ? sqlite3_column_int(s, 9) : KF_SLA_DEFAULT_TARGET_BP;
    return 0;
}

#define TERMINALS_SQL                                                                              \
    "SELECT a.asset_id, a.kind, a.zone_id, z.bank, z.hours, z.itm_hours,"                          \
    " (SELECT d.device_id FROM devices d WHERE d.asset_id = a.asset_id AND d.status = 1"           \
    "  ORDER BY d.created_ms DESC, d.device_id DESC LIMIT 1),"                                     \
    " coalesce(cb.response_s, cd.response_s), coalesce(cb.restore_s, cd.restore_s),"               \
    " coalesce(cb.target_bp, cd.target_bp), z.unit"                                                \
    " FROM assets a JOIN zones z ON z.id = a.zone_id"                                              \
    " LEFT JOIN sla_contracts cb ON cb.bank = z.bank AND cb.kind = a.kind"                         \
    " LEFT JOIN sla_contracts cd ON cd.bank = '*' AND cd.kind = a.kind"

int kf_store_sla_terminals(struct kf_store *st, const char *asset_id, struct kf_sla_terminal **ret,
                           size_t *ret_n)
{
    struct kf_sla_terminal *rows = NULL;
    struct week_memo *memo = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = NULL;
    int r, rc;

    st->errmsg[0] = '\0';
    /* One asset: by its key (an OR with "?1 IS NULL" would scan every asset). */
    r = kf__store_prep(st,
                       asset_id ? TERMINALS_SQL " WHERE a.asset_id = ?1"
                                : TERMINALS_SQL " ORDER BY a.asset_id",
                       &s);
    if (r < 0)
        return r;
    if (asset_id)
        sqlite3_bind_text(s, 1, asset_id, -1, SQLITE_STATIC);
    else
        memo = calloc(WEEK_MEMO, sizeof(*memo)); /* none: each row parses its own */
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        r = kf__store_grow((void **)&rows, &cap, n, sizeof(*rows));
        if (r < 0)
            break;
        memset(&rows[n], 0, sizeof(rows[n]));
        r = terminal_fill(st, s, &rows[n], memo);
        if (r < 0)
            break;
        n++;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "sla terminals");
    sqlite3_finalize(s);
    free(memo);
    if (r < 0) {
        free(rows);
        return r;
    }
    if (asset_id && n == 0) {
        free(rows);
        kf__store_seterr(st, "no asset %s", asset_id);
        return -ENOENT;
    }
    *ret = rows;
    *ret_n = n;
    return 0;
}

/* ---- Windows ------------------------------------------------------------------------------ */

/* The asset of a device id, or the id itself when it is an asset. 0, -ENOENT. */
static int resolve_asset(struct kf_store *st, const char *target, char *asset, size_t cap)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st,
                       "SELECT asset_id FROM devices WHERE device_id = ?1"
                       " UNION ALL SELECT asset_id FROM assets WHERE asset_id = ?1 LIMIT 1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, target, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        kf__store_col_copy(asset, cap, s, 0);
    } else if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "no device or asset %s", target);
        r = -ENOENT;
    } else {
        r = kf__store_sql_fail(st, rc, "window target");
    }
    sqlite3_finalize(s);
    return r;
}

int kf_store_sla_window_add(struct kf_store *st, const char *target, int is_zone, int64_t start_ms,
                            int64_t end_ms, const char *reason, const char *by, int64_t now_ms,
                            int64_t *ret_id)
{
    char asset[KF_TERMINAL_ID_MAX + 1] = "";
    sqlite3_stmt *s = NULL;
    int r, own;

    st->errmsg[0] = '\0';
    if (!target || !target[0] || !reason || !reason[0] || strlen(reason) > KF_TEXT_MAX || !by ||
        !by[0] || strlen(by) > KF_WHO_MAX) {
        kf__store_seterr(st,
                         "a window needs a terminal or zone, a reason (at most %d bytes) and "
                         "who entered it (at most %d bytes)",
                         KF_TEXT_MAX, KF_WHO_MAX);
        return -EINVAL;
    }
    if (start_ms < now_ms) {
        kf__store_seterr(st, "planned windows are entered ahead of time: it starts in the past");
        return -EINVAL;
    }
    if (end_ms <= start_ms || end_ms - start_ms > KF_WINDOW_MAX_MS) {
        kf__store_seterr(st, "a window ends after it starts, at most 31 days later");
        return -EINVAL;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    if (is_zone) {
        r = kf__store_exists(st, ST_ZONE_EXISTS, target);
        if (r == 0) {
            kf__store_seterr(st, "no zone %s", target);
            r = -ENOENT;
        }
        r = r < 0 ? r : 0;
    } else {
        r = resolve_asset(st, target, asset, sizeof(asset));
    }
    if (r == 0)
        r = kf__store_prep(
            st,
            "INSERT INTO sla_windows(asset_id, zone_id, start_ms, end_ms, reason, entered_by,"
            " entered_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &s);
    if (r == 0) {
        if (is_zone) {
            sqlite3_bind_null(s, 1);
            sqlite3_bind_text(s, 2, target, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_text(s, 1, asset, -1, SQLITE_STATIC);
            sqlite3_bind_null(s, 2);
        }
        sqlite3_bind_int64(s, 3, start_ms);
        sqlite3_bind_int64(s, 4, end_ms);
        sqlite3_bind_text(s, 5, reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, by, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 7, now_ms);
        r = kf__store_stmt_run(st, s, "insert window");
        if (r == 0)
            *ret_id = sqlite3_last_insert_rowid(kf__store_db(st));
        sqlite3_finalize(s);
        s = NULL;
    }
    /* kioskd notices the new revision on its next run and reloads the windows. */
    if (r == 0)
        r = kf__store_prep(st, "UPDATE sla_cursor SET windows_rev = windows_rev + 1 WHERE one = 1",
                           &s);
    if (r == 0) {
        r = kf__store_stmt_run(st, s, "windows revision");
        sqlite3_finalize(s);
    }
    return kf__store_txn_leave(st, own, r);
}

static int window_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_sla_window_row *w = row;

    (void)st;
    w->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(w->asset_id, sizeof(w->asset_id), s, 1);
    kf__store_col_copy(w->zone_id, sizeof(w->zone_id), s, 2);
    w->start_ms = sqlite3_column_int64(s, 3);
    w->end_ms = sqlite3_column_int64(s, 4);
    kf__store_col_copy(w->reason, sizeof(w->reason), s, 5);
    kf__store_col_copy(w->by, sizeof(w->by), s, 6);
    w->entered_ms = sqlite3_column_int64(s, 7);
    return 0;
}

int kf_store_sla_windows(struct kf_store *st, int64_t since_ms, struct kf_sla_window_row **ret,
                         size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(
        st,
        "SELECT id, coalesce(asset_id, ''), coalesce(zone_id, ''), start_ms, end_ms, reason,"
        " entered_by, entered_ms FROM sla_windows WHERE end_ms > ?1 ORDER BY start_ms, id",
        &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, since_ms);
    return kf__store_rows(st, s, sizeof(**ret), window_fill, "sla windows", (void **)ret, ret_n);
}

size_t kf_store_sla_windows_for(const struct kf_sla_window_row *rows, size_t n,
                                const struct kf_sla_terminal *t, struct kf_window *out, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        const struct kf_sla_window_row *w = &rows[i];

        if (strcmp(w->asset_id, t->asset_id) != 0 &&
            (w->zone_id[0] == '\0' || strcmp(w->zone_id, t->zone_id) != 0))
            continue;
        if (k < cap) {
            out[k].start_ms = w->start_ms;
            out[k].end_ms = w->end_ms;
        }
        k++;
    }
    return k;
}

/* ---- Calendars ---------------------------------------------------------------------------- */

int kf_store_sla_calendar_put(struct kf_store *st, int year, const char *text, const char *source,
                              int64_t now_ms)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(
        st,
        "INSERT INTO sla_calendars(year, text, source, loaded_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT(year) DO UPDATE SET text = excluded.text, source = excluded.source,"
        " loaded_ms = excluded.loaded_ms WHERE text <> excluded.text",
        &s);
    if (r < 0)
        return r;
    sqlite3_bind_int(s, 1, year);
    sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    r = kf__store_stmt_run(st, s, "sla calendar");
    sqlite3_finalize(s);
    return r;
}

#define KF__CAL_MAX_BYTES (64 * 1024)
#define KF__YEAR_FIRST 2000 /* calendar files are stored for years in this range */
#define KF__YEAR_LAST 2099

static int read_text(const char *path, char **ret)
{
    FILE *f = fopen(path, "re");
    char *buf;
    size_t n;

    if (f == NULL)
        return -errno;
    buf = malloc(KF__CAL_MAX_BYTES + 2);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    n = fread(buf, 1, KF__CAL_MAX_BYTES + 1, f);
    fclose(f);
    if (n > KF__CAL_MAX_BYTES) {
        free(buf);
        return -EFBIG;
    }
    buf[n] = '\0';
    *ret = buf;
    return 0;
}

static int is_ini(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".ini") == 0;
}

/* Every *.ini of dir into hol, in name order; each text is stored for its year. */
int kf_store_sla_calendar_dir(struct kf_store *st, struct kf_holidays *hol, const char *dir,
                              int64_t now_ms, char *err, size_t cap)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, is_ini, alphasort), r = 0;

    if (n < 0) {
        snprintf(err, cap, "sla.calendar_dir %s: %s", dir, strerror(errno));
        return -ENOENT;
    }
    for (int i = 0; i < n; i++) {
        char path[1024], *text = NULL;
        int year = 0;

        if (r == 0 &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >= sizeof(path))
            r = -ENAMETOOLONG;
        if (r == 0 && (r = read_text(path, &text)) < 0)
            snprintf(err, cap, "%s: %s", path, kf_strerror(r));
        if (r == 0) {
            /* The file's year: the one it made covered (a file holds exactly one year). */
            unsigned char before[KF__YEAR_LAST - KF__YEAR_FIRST + 1];

            for (int y = KF__YEAR_FIRST; y <= KF__YEAR_LAST; y++)
                before[y - KF__YEAR_FIRST] = (unsigned char)kf_holidays_covers(hol, y);
            r = kf_holidays_load_string(hol, text, path, err, cap);
            for (int y = KF__YEAR_FIRST; r == 0 && y <= KF__YEAR_LAST; y++)
                if (!before[y - KF__YEAR_FIRST] && kf_holidays_covers(hol, y))
                    year = y;
        }
        if (r == 0 && year > 0 && (r = kf_store_sla_calendar_put(st, year, text, path, now_ms)) < 0)
            snprintf(err, cap, "storing %s: %s", path, st->errmsg);
        free(text);
        free(names[i]);
    }
    free(names);
    return r;
}

int kf_store_sla_calendars_load(struct kf_store *st, struct kf_holidays *h, char *err, size_t cap)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st, "SELECT year, text, source FROM sla_calendars ORDER BY year", &s);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char name[64];

        if (kf_holidays_covers(h, sqlite3_column_int(s, 0)))
            continue;
        snprintf(name, sizeof(name), "sla_calendars[%d]", sqlite3_column_int(s, 0));
        r = kf_holidays_load_string(h, kf__store_col_text(s, 1), name, err, cap);
        if (r < 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "sla calendars");
    sqlite3_finalize(s);
    return r;
}

int kf_store_sla_calendar_each(struct kf_store *st, kf_store_sla_calendar_cb cb, void *ud)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st, "SELECT year, text FROM sla_calendars ORDER BY year", &s);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        r = cb(ud, sqlite3_column_int(s, 0), kf__store_col_text(s, 1));
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "sla calendars");
    sqlite3_finalize(s);
    return r;
}

/* ---- The catalog's needs ------------------------------------------------------------------ */

static int needs_of(const char *json, uint32_t *ret)
{
    json_error_t jerr;
    json_t *a = json_loads(json, 0, &jerr), *v;
    const char *names[KF_PERIPH_COUNT_];
    size_t i;
    int r = -EINVAL;

    if (json_is_array(a) && json_array_size(a) <= KF_PERIPH_COUNT_) {
        r = 0;
        json_array_foreach(a, i, v)
        {
            if (!json_is_string(v))
                r = -EINVAL;
            names[i] = json_string_value(v);
        }
        if (r == 0)
            r = kf_devstate_needs_from_names(names, json_array_size(a), ret);
    }
    json_decref(a);
    return r;
}

static int item_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_sla_item *it = row;

    kf__store_col_copy(it->code, sizeof(it->code), s, 0);
    if (needs_of(kf__store_col_text(s, 1), &it->needs) < 0) {
        kf__store_seterr(st, "item %s: bad needs", it->code);
        return -EINVAL;
    }
    return 0;
}

int kf_store_sla_items(struct kf_store *st, struct kf_sla_item **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(st, "SELECT code, needs FROM items ORDER BY code", &s);
    if (r < 0)
        return r;
    return kf__store_rows(st, s, sizeof(**ret), item_fill, "items", (void **)ret, ret_n);
}

/* ---- Actions ------------------------------------------------------------------------------ */

static const char *const status_names[] = {"pending", "done", "refused"};

/* Check one action against what the store can tell without the engine (sla.h). */
static int action_check(struct kf_store *st, sqlite3_stmt *exists, const struct kf_sla_action *a)
{
    unsigned needs = kf_sla_action_needs(a->kind);
    int rc;

    if (needs == 0) {
        kf__store_seterr(st, "not a technician's action");
        return -EINVAL;
    }
    if (a->who[0] == '\0' || ((needs & KF_SLA_NEEDS_TEXT) && a->text[0] == '\0') ||
        ((needs & KF_SLA_NEEDS_TO) && kf_incident_attr_name(a->to) == NULL)) {
        kf__store_seterr(st, "%s needs %s", kf_incident_ev_name(a->kind),
                         (needs & KF_SLA_NEEDS_TO)     ? "--to, --by and --reason"
                         : (needs & KF_SLA_NEEDS_TEXT) ? "--by and a text"
                                                       : "--by");
        return -EINVAL;
    }
    sqlite3_bind_int64(exists, 1, a->incident);
    rc = sqlite3_step(exists);
    sqlite3_reset(exists);
    sqlite3_clear_bindings(exists);
    if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "no incident %lld", (long long)a->incident);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW)
        return kf__store_sql_fail(st, rc, "incident lookup");
    return 0;
}

static int action_insert(struct kf_store *st, sqlite3_stmt *s, const struct kf_sla_action *a,
                         int64_t *ret_id)
{
    int r;

    sqlite3_bind_int64(s, 1, a->incident);
    sqlite3_bind_text(s, 2, kf_incident_ev_name(a->kind), -1, SQLITE_STATIC);
    if (a->kind == KF_EV_ATTRIBUTE)
        sqlite3_bind_text(s, 3, kf_incident_attr_name(a->to), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, a->who, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, a->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, a->requested_ms);
    sqlite3_bind_int(s, 7, a->kind == KF_EV_RESOLVE ? a->flags & KF_EV_F_FORCED : 0);
    kf__store_bind_opt_text(s, 8, a->kind == KF_EV_ASSIGN ? a->assignee : NULL);
    r = kf__store_stmt_run(st, s, "queue action");
    if (r == 0)
        *ret_id = sqlite3_last_insert_rowid(kf__store_db(st));
    return r;
}

int kf_store_sla_actions_add(struct kf_store *st, const struct kf_sla_action *a, size_t n,
                             int64_t *ret_ids, size_t *ret_bad)
{
    sqlite3_stmt *exists = NULL, *ins = NULL;
    size_t i = 0;
    int r, own;

    st->errmsg[0] = '\0';
    if (n == 0 || n > KF_SLA_ACTIONS_BULK_MAX) {
        kf__store_seterr(st, "%zu actions at once: between 1 and %d", n, KF_SLA_ACTIONS_BULK_MAX);
        return n == 0 ? -EINVAL : -E2BIG;
    }
    /* The same incident twice in one bulk is a mistake (a pasted list), not two actions. */
    for (i = 1; i < n; i++) {
        for (size_t k = 0; k < i; k++) {
            if (a[k].incident == a[i].incident) {
                kf__store_seterr(st, "incident %lld is given twice", (long long)a[i].incident);
                if (ret_bad)
                    *ret_bad = i;
                return -EINVAL;
            }
        }
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    r = kf__store_prep(st, "SELECT 1 FROM sla_incidents WHERE id = ?1", &exists);
    if (r == 0)
        r = kf__store_prep(
            st,
            "INSERT INTO sla_actions(incident, kind, to_attr, who, text,"
            " requested_ms, flags, assignee) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &ins);
    for (i = 0; r == 0 && i < n; i++) {
        r = action_check(st, exists, &a[i]);
        if (r == 0)
            r = action_insert(st, ins, &a[i], &ret_ids[i]);
    }
    if (r < 0 && i > 0 && ret_bad)
        *ret_bad = i - 1;
    sqlite3_finalize(exists);
    sqlite3_finalize(ins);
    return kf__store_txn_leave(st, own, r);
}

int kf_store_sla_action_add(struct kf_store *st, const struct kf_sla_action *a, int64_t *ret_id)
{
    return kf_store_sla_actions_add(st, a, 1, ret_id, NULL);
}

#define ACTION_COLS                                                                                \
    "id, incident, kind, coalesce(to_attr, ''), who, text, requested_ms, status,"                  \
    " coalesce(applied_ms, 0), coalesce(at_ms, 0), coalesce(result, ''), flags, assignee"

static int action_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_sla_action *a = row;
    int v;

    (void)st;
    a->id = sqlite3_column_int64(s, 0);
    a->incident = sqlite3_column_int64(s, 1);
    v = 0; /* an unknown kind reads as 0, which no action has */
    (void)kf_incident_ev_parse(kf__store_col_text(s, 2), &v);
    a->kind = (uint8_t)v;
    if (kf_incident_attr_parse(kf__store_col_text(s, 3), &v) == 0)
        a->to = (uint8_t)v;
    kf__store_col_copy(a->who, sizeof(a->who), s, 4);
    kf__store_col_copy(a->text, sizeof(a->text), s, 5);
    a->requested_ms = sqlite3_column_int64(s, 6);
    for (int k = 0; k < 3; k++)
        if (strcmp(status_names[k], kf__store_col_text(s, 7)) == 0)
            a->status = (uint8_t)k;
    a->applied_ms = sqlite3_column_int64(s, 8);
    a->at_ms = sqlite3_column_int64(s, 9);
    kf__store_col_copy(a->result, sizeof(a->result), s, 10);
    a->flags = (uint8_t)sqlite3_column_int(s, 11);
    kf__store_col_copy(a->assignee, sizeof(a->assignee), s, 12);
    return 0;
}

int kf_store_sla_action(struct kf_store *st, int64_t id, struct kf_sla_action *ret)
{
    struct kf_sla_action *rows = NULL;
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    int r;

    r = kf__store_prep(st, "SELECT " ACTION_COLS " FROM sla_actions WHERE id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    r = kf__store_rows(st, s, sizeof(*rows), action_fill, "sla actions", (void **)&rows, &n);
    if (r == 0 && n == 0)
        r = -ENOENT;
    if (r == 0)
        *ret = rows[0];
    free(rows);
    return r;
}

int kf_store_sla_actions_pending(struct kf_store *st, size_t max, struct kf_sla_action **ret,
                                 size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(st,
                       "SELECT " ACTION_COLS
                       " FROM sla_actions WHERE status = 'pending' ORDER BY id"
                       " LIMIT ?1",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    return kf__store_rows(st, s, sizeof(**ret), action_fill, "sla actions", (void **)ret, ret_n);
}
