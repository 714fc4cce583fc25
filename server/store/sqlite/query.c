/* store/sqlite/query.c: the operators' read-only queries (kioskctl); the usage figures are in
 * query_usage.c. Each query runs once per process, so statements are prepared, run and
 * finalized here rather than kept. Times are shown in local time (Asia/Shanghai, fixed
 * UTC+8, as in kf/time.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/err.h>
#include <kf/time.h>

#include "store/store.h"
#include "store/sqlite/int.h"
#include "store/query.h"

/* An instant for the reader: ms since the epoch, or NULL for "never" (stored as 0). The
 * reader (kioskctl) shows it in local time. */
#define MS(col) "CASE WHEN " col " > 0 THEN " col " END"
#define KIND_NAME(col) "CASE " col " WHEN 1 THEN 'kiosk' WHEN 2 THEN 'itm' END"

/* A column type from its letter in a query's type string: x text, i integer, r decimal,
 * b boolean, t time (ms), d day, s seconds, p basis points; upper case for a file-only
 * column (KF_QT_FILE_ONLY). -1 for anything else. */
static int type_of(char ch)
{
    static const char letters[] = "xirbtdsp";
    static const uint8_t types[] = {KF_QT_TEXT, KF_QT_INT, KF_QT_DECIMAL, KF_QT_BOOL,
                                    KF_QT_TIME, KF_QT_DAY, KF_QT_SECONDS, KF_QT_BP};
    int file_only = ch >= 'A' && ch <= 'Z';
    const char *p = strchr(letters, file_only ? ch - 'A' + 'a' : ch);

    if (ch == '\0' || p == NULL)
        return -1;
    return types[p - letters] | (file_only ? KF_QT_FILE_ONLY : 0);
}

/* A row's cells live in one allocation, in column order, from its first cell that has a
 * value: the one kf_store_query_table_free frees. A year's usage by device and item is then
 * 144,000 allocations, not 1.9 million (their page faults were a quarter of its time). The
 * row goes at t->nrows (room made by the caller); vals are copied. 0 or -ENOMEM. */
static int row_put(struct kf_qtable *t, const char *const *vals)
{
    char **row = &t->cells[t->nrows * t->ncols], *p;
    size_t len = 0;

    for (size_t c = 0; c < t->ncols; c++)
        len += vals[c] ? strlen(vals[c]) + 1 : 0;
    p = len ? malloc(len) : NULL;
    if (len && !p)
        return -ENOMEM;
    for (size_t c = 0; c < t->ncols; c++) {
        size_t n = vals[c] ? strlen(vals[c]) + 1 : 0;

        row[c] = vals[c] ? memcpy(p, vals[c], n) : NULL;
        p += n;
    }
    t->nrows++;
    return 0;
}

void kf_store_query_table_free(struct kf_qtable *t)
{
    if (!t)
        return;
    for (size_t c = 0; c < t->ncols; c++)
        free(t->cols[c]);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (t->cells[r * t->ncols + c]) {
                free(t->cells[r * t->ncols + c]);
                break;
            }
        }
    }
    free(t->cols);
    free(t->cells);
    free(t->types);
    free(t->title);
    free(t->name);
    free(t);
}

const char *kf_store_query_table_cell(const struct kf_qtable *t, size_t row, size_t col)
{
    if (!t || row >= t->nrows || col >= t->ncols)
        return NULL;
    return t->cells[row * t->ncols + col];
}

int kf_store_query_table_col(const struct kf_qtable *t, const char *name)
{
    for (size_t c = 0; t && c < t->ncols; c++)
        if (strcmp(t->cols[c], name) == 0)
            return (int)c;
    return -1;
}

struct kf_qtable *kf_store_query_table_new(const char *name, const char *title,
                                           const char *const *cols, const char *types)
{
    struct kf_qtable *t = calloc(1, sizeof(*t));
    size_t n = 0;

    while (cols[n] != NULL)
        n++;
    if (t == NULL)
        return NULL;
    t->cols = calloc(n + 1, sizeof(*t->cols));
    t->types = calloc(n + 1, sizeof(*t->types));
    t->title = title ? strdup(title) : NULL;
    t->name = name ? strdup(name) : NULL;
    if (t->cols == NULL || t->types == NULL || (title && t->title == NULL) ||
        (name && t->name == NULL) || strlen(types) != n) {
        kf_store_query_table_free(t);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        int ty = type_of(types[i]);

        if (ty < 0 || (t->cols[i] = strdup(cols[i])) == NULL) {
            kf_store_query_table_free(t);
            return NULL;
        }
        t->ncols++;
        t->types[i] = (uint8_t)ty;
    }
    return t;
}

int kf_store_query_table_add_row(struct kf_qtable *t, const char *const *cells)
{
    char **nc = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*nc) + 1);

    if (nc == NULL)
        return -ENOMEM;
    t->cells = nc;
    return row_put(t, cells);
}

void kf_store_query_report_free(struct kf_qreport *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        kf_store_query_table_free(r->tables[i]);
    free(r->tables);
    free(r);
}

int kf_store_query_report_add(struct kf_qreport *r, struct kf_qtable *t)
{
    struct kf_qtable **nt = t ? realloc(r->tables, (r->n + 1) * sizeof(*nt)) : NULL;

    if (!nt) {
        kf_store_query_table_free(t);
        return -ENOMEM;
    }
    r->tables = nt;
    r->tables[r->n++] = t;
    return 0;
}

void kf__store_query_bind(sqlite3_stmt *s, const struct kf__store_qparam *params, size_t np)
{
    for (size_t i = 0; i < np; i++) {
        if (params[i].null)
            sqlite3_bind_null(s, (int)i + 1);
        else if (params[i].text)
            sqlite3_bind_text(s, (int)i + 1, params[i].text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(s, (int)i + 1, params[i].i);
    }
}

int kf__store_query_run(struct kf_store *st, const char *name, const char *title, const char *types,
                        const char *sql, const struct kf__store_qparam *params, size_t np,
                        struct kf_qtable **ret)
{
    sqlite3 *db = kf__store_db(st);
    struct kf_qtable *t;
    sqlite3_stmt *s = NULL;
    const char **vals = NULL; /* a row's values */
    size_t cap = 0;
    int rc, r = 0;

    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    if ((title && !(t->title = strdup(title))) || (name && !(t->name = strdup(name)))) {
        r = -ENOMEM;
        goto out_free;
    }
    rc = sqlite3_prepare_v3(db, sql, -1, 0, &s, NULL);
    if (rc != SQLITE_OK) {
        kf__store_seterr(st, "query: %s", sqlite3_errmsg(db));
        r = kf_err_from_sqlite(rc);
        goto out_free;
    }
    kf__store_query_bind(s, params, np);
    t->ncols = (size_t)sqlite3_column_count(s);
    if (strlen(types) != t->ncols) {
        kf__store_seterr(st, "query %s: %zu types for %zu columns", name ? name : "", strlen(types),
                         t->ncols);
        t->ncols = 0;
        r = -EINVAL;
        goto out_finalize;
    }
    t->cols = calloc(t->ncols ? t->ncols : 1, sizeof(*t->cols));
    t->types = calloc(t->ncols ? t->ncols : 1, sizeof(*t->types));
    vals = calloc(t->ncols ? t->ncols : 1, sizeof(*vals));
    if (!t->cols || !t->types || !vals) {
        t->ncols = 0;
        r = -ENOMEM;
        goto out_finalize;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        int ty = type_of(types[c]);

        t->cols[c] = strdup(sqlite3_column_name(s, (int)c));
        if (!t->cols[c] || ty < 0) {
            kf__store_seterr(st, "query %s: column %zu", name ? name : "", c);
            r = ty < 0 ? -EINVAL : -ENOMEM;
            goto out_finalize;
        }
        t->types[c] = (uint8_t)ty;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (t->nrows == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nc = realloc(t->cells, ncap * t->ncols * sizeof(*nc) + 1);

            if (!nc) {
                r = -ENOMEM;
                goto out_finalize;
            }
            t->cells = nc;
            cap = ncap;
        }
        for (size_t c = 0; c < t->ncols; c++) {
            int null = sqlite3_column_type(s, (int)c) == SQLITE_NULL; /* before any conversion */

            vals[c] = null ? NULL : (const char *)sqlite3_column_text(s, (int)c);
        }
        r = row_put(t, vals);
        if (r < 0)
            goto out_finalize;
    }
    if (rc != SQLITE_DONE) {
        kf__store_seterr(st, "query: %s", sqlite3_errmsg(db));
        r = kf_err_from_sqlite(rc);
        goto out_finalize;
    }
    sqlite3_finalize(s);
    free(vals);
    *ret = t;
    return 0;

out_finalize:
    sqlite3_finalize(s);
    free(vals);
out_free:
    kf_store_query_table_free(t);
    return r;
}

static int report_query(struct kf_store *st, struct kf_qreport *rep, const char *name,
                        const char *title, const char *types, const char *sql,
                        const struct kf__store_qparam *params, size_t np)
{
    struct kf_qtable *t;
    int r = kf__store_query_run(st, name, title, types, sql, params, np, &t);

    if (r < 0)
        return r;
    return kf_store_query_report_add(rep, t);
}

/* The worst state among a device's peripherals: "ok", or "periph:state". */
#define WORST_PERIPH(dev)                                                                          \
    "(SELECT CASE WHEN p.state = 'online' THEN 'ok' ELSE p.periph || ':' || p.state END"           \
    " FROM periph_latest p WHERE p.device_id = " dev                                               \
    " ORDER BY p.usable, p.state = 'online', p.since_ms LIMIT 1)"
/* A zone's unit and bank, each code with its name (z: zones). */
#define PLACE_JOINS " LEFT JOIN units un ON un.code = z.unit LEFT JOIN banks b ON b.code = z.bank"

int kf_store_query_devices(struct kf_store *st, struct kf_qtable **ret)
{
    static const char sql[] = "SELECT d.device_id, d.asset_id AS asset, " KIND_NAME(
        "a.kind") " AS kind,"
                  " a.zone_id AS zone, z.name AS zone_name, z.unit, un.name AS unit_name,"
                  " z.bank, b.name AS bank_name, d.online = 1 AS online,"
                  " " MS("d.state_since_ms") " AS since, " MS(
                      "d.last_seen_ms") " AS last_seen,"
                                        " d.acked_seq, round(h.cpu_pm / 10.0, 1) AS cpu_pct,"
                                        " round(h.temp_mc / 1000.0, 1) AS temp_c, h.mem_avail_kb / "
                                        "1024 AS mem_avail_mb,"
                                        " h.disk_avail_kb / 1024 AS disk_avail_mb,"
                                        " (SELECT count(*) FROM faults_open f WHERE f.device_id = "
                                        "d.device_id) AS faults,"
                                        " " WORST_PERIPH(
                                            "d.device_id") " AS worst_periph"
                                                           " FROM devices d JOIN assets a ON "
                                                           "a.asset_id = d.asset_id"
                                                           " LEFT JOIN zones z ON z.id = "
                                                           "a.zone_id" PLACE_JOINS
                                                           " LEFT JOIN health_latest h ON "
                                                           "h.device_id = d.device_id ORDER BY "
                                                           "d.device_id";

    return kf__store_query_run(st, "devices", NULL, "xxxxxxxxxbttirriiix", sql, NULL, 0, ret);
}

int kf_store_query_device(struct kf_store *st, const char *device_id, struct kf_qreport **ret)
{
    static const char sql_dev[] = "SELECT d.device_id, d.asset_id AS asset, " KIND_NAME(
        "a.kind") " AS kind,"
                  " a.zone_id AS zone, z.name AS zone_name, z.unit, un.name AS unit_name, z.bank,"
                  " b.name AS bank_name, z.branch, a.lease_ref AS lease,"
                  " CASE d.status WHEN 1 THEN 'active' ELSE 'inactive' END AS status,"
                  " d.online = 1 AS online, " MS(
                      "d.state_since_ms") " AS since,"
                                          " " MS(
                                              "d.last_seen_ms") " AS last_seen, d.acked_seq, "
                                                                "d.agent, d.boot_id,"
                                                                " d.clock_offset_ms, "
                                                                "d.health_dropped, " MS(
                                                                    "d.created_ms") " AS registered"
                                                                                    " FROM devices "
                                                                                    "d JOIN assets "
                                                                                    "a ON "
                                                                                    "a.asset_id = "
                                                                                    "d.asset_id"
                                                                                    " LEFT JOIN "
                                                                                    "zones z ON "
                                                                                    "z.id = "
                                                                                    "a.zone_"
                                                                                    "id" PLACE_JOINS
                                                                                    " WHERE "
                                                                                    "d.device_id = "
                                                                                    "?1";
    static const char sql_keys[] =
        "SELECT epoch, CASE status WHEN 1 THEN 'active' WHEN 2 THEN 'retired'"
        " WHEN 3 THEN 'revoked' END AS status, " MS(
            "created_ms") " AS created,"
                          " lower(hex(pk)) AS public_key FROM device_keys WHERE device_id = ?1 "
                          "ORDER BY epoch";
    static const char sql_health[] = "SELECT " MS(
        "ts_ms") " AS at, seq, round(cpu_pm / 10.0, 1) AS cpu_pct,"
                 " round(temp_mc / 1000.0, 1) AS temp_c, mem_total_kb / 1024 AS mem_total_mb,"
                 " mem_avail_kb / 1024 AS mem_avail_mb, disk_total_kb / 1024 AS disk_total_mb,"
                 " disk_avail_kb / 1024 AS disk_avail_mb, uptime_s, net_up = 1 AS net_up"
                 " FROM health_latest WHERE device_id = ?1";
    static const char sql_periph[] = "SELECT periph, state, usable = 1 AS usable, " MS(
        "since_ms") " AS since"
                    " FROM periph_latest WHERE device_id = ?1 ORDER BY periph";
    static const char sql_faults[] = "SELECT code, sev AS severity, periph, text, " MS(
        "since_ms") " AS since, seq"
                    " FROM faults_open WHERE device_id = ?1 ORDER BY since_ms";
    static const char sql_frames[] = "SELECT id, seq_first, count, key_epoch AS epoch, topic, " MS(
        "recv_ms") " AS received,"
                   " " MS("device_ms") " AS device_time,"
                                       " CASE WHEN flags & 2 THEN clock_offset_ms END AS "
                                       "clock_offset_ms,"
                                       " length(raw) AS bytes FROM envelopes WHERE device_id = ?1 "
                                       "ORDER BY id DESC LIMIT 10";
    struct kf__store_qparam p = {.text = device_id};
    struct kf_qreport *rep;
    int r;

    rep = calloc(1, sizeof(*rep));
    if (!rep)
        return -ENOMEM;
    r = report_query(st, rep, "device", "device", "xxxxxxxxxxxxbttixxiit", sql_dev, &p, 1);
    if (r < 0)
        goto out_free;
    if (rep->tables[0]->nrows == 0) {
        kf__store_seterr(st, "no device %s", device_id);
        r = -ENOENT;
        goto out_free;
    }
    r = report_query(st, rep, "keys", "keys", "ixtx", sql_keys, &p, 1);
    if (r == 0)
        r = report_query(st, rep, "health", "health (latest sample)", "tirriiiisb", sql_health, &p,
                         1);
    if (r == 0)
        r = report_query(st, rep, "peripherals", "peripherals", "xxbt", sql_periph, &p, 1);
    if (r == 0)
        r = report_query(st, rep, "faults", "open faults", "xxxxti", sql_faults, &p, 1);
    if (r == 0)
        r = report_query(st, rep, "frames", "last frames", "iiiixttii", sql_frames, &p, 1);
    if (r < 0)
        goto out_free;
    *ret = rep;
    return 0;

out_free:
    kf_store_query_report_free(rep);
    return r;
}

int kf_store_query_zones(struct kf_store *st, struct kf_qtable **ret)
{
    return kf__store_query_run(st, "zones", NULL, "xxii",
                               "SELECT id, unit, kiosks, itms FROM zones ORDER BY unit, id", NULL,
                               0, ret);
}

int kf_store_query_names(struct kf_store *st, const char *kind, struct kf_qtable **ret)
{
    static const struct {
        const char *kind, *sql;
    } names[] = {
        {"unit", "SELECT code, name FROM units ORDER BY code"},
        {"bank", "SELECT code, name FROM banks ORDER BY code"},
        {"zone", "SELECT id AS code, name FROM zones ORDER BY id"},
        {"item", "SELECT code, name FROM items ORDER BY code"},
        {"family", "SELECT code, name FROM families ORDER BY code"},
        {"item_family", "SELECT code, family FROM items ORDER BY code"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (kind && strcmp(kind, names[i].kind) == 0)
            return kf__store_query_run(st, kind, NULL, "xx", names[i].sql, NULL, 0, ret);
    kf__store_seterr(st, "names: unknown kind \"%s\"", kind ? kind : "");
    return -EINVAL;
}

int kf_store_query_rejects(struct kf_store *st, struct kf_qtable **ret)
{
    /* rowid order is the order the reasons were created in: the enum's order. */
    return kf__store_query_run(st, "rejects", NULL, "xi",
                               "SELECT reason, count FROM reject_counts ORDER BY rowid", NULL, 0,
                               ret);
}

int kf_store_query_summary(struct kf_store *st, int32_t today, int32_t from_day, int32_t to_day,
                           struct kf_qreport **ret)
{
    static const char sql_terminals[] = "SELECT " KIND_NAME(
        "a.kind") " AS kind, count(*) AS terminals,"
                  " sum(d.online) AS online, count(*) - sum(d.online) AS offline"
                  " FROM devices d JOIN assets a ON a.asset_id = d.asset_id GROUP BY a.kind"
                  " UNION ALL SELECT 'all', count(*), coalesce(sum(online), 0),"
                  " count(*) - coalesce(sum(online), 0) FROM devices";
    static const char sql_health[] =
        "SELECT (SELECT count(*) FROM devices) AS devices,"
        " (SELECT count(*) FROM health_latest) AS reporting,"
        " (SELECT round(avg(cpu_pm) / 10.0, 1) FROM health_latest) AS avg_cpu_pct,"
        " (SELECT round(max(cpu_pm) / 10.0, 1) FROM health_latest) AS max_cpu_pct,"
        " (SELECT round(max(temp_mc) / 1000.0, 1) FROM health_latest) AS max_temp_c,"
        " (SELECT count(*) FROM health_latest WHERE disk_total_kb > 0"
        "  AND disk_avail_kb * 10 < disk_total_kb) AS low_disk,"
        " (SELECT count(DISTINCT device_id) FROM faults_open) AS with_open_faults,"
        " (SELECT count(*) FROM periph_latest WHERE usable = 0) AS periph_not_usable";
    struct kf_qreport *rep;
    int r;

    rep = calloc(1, sizeof(*rep));
    if (!rep)
        return -ENOMEM;
    r = report_query(st, rep, "terminals", "terminals", "xiii", sql_terminals, NULL, 0);
    if (r < 0)
        goto out_free;
    /* usage_by_unit and usage_by_family (store/sqlite/query_usage.c) */
    r = kf__store_query_usage_summary(st, rep, today, from_day, to_day);
    if (r == 0)
        r = report_query(st, rep, "health", "fleet health", "iirrriii", sql_health, NULL, 0);
    if (r == 0)
        r = report_query(st, rep, "rejections", "rejections", "xi",
                         "SELECT reason, count FROM reject_counts ORDER BY rowid", NULL, 0);
    if (r < 0)
        goto out_free;
    *ret = rep;
    return 0;

out_free:
    kf_store_query_report_free(rep);
    return r;
}
