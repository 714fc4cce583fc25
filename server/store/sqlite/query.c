/* store/sqlite/query.c: the operators' read-only queries (kioskctl). Each query runs once per
 * process, so statements are prepared, run and finalized here rather than kept. Times are
 * shown in local time (Asia/Shanghai, fixed UTC+8, as in kf/time.h). */
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

/* ms since the epoch -> "YYYY-MM-DD HH:MM:SS" local time, in SQL. */
#define LOCAL_TIME(col)                                                                            \
    "CASE WHEN " col " IS NULL OR " col " <= 0 THEN NULL ELSE"                                     \
    " strftime('%Y-%m-%d %H:%M:%S', " col " / 1000, 'unixepoch', '+8 hours') END"
#define KIND_NAME(col) "CASE " col " WHEN 1 THEN 'kiosk' WHEN 2 THEN 'itm' ELSE '?' END"

struct qparam {
    const char *text; /* bound as text when not NULL, else i */
    int64_t i;
};

void kf_store_query_table_free(struct kf_qtable *t)
{
    if (!t)
        return;
    for (size_t c = 0; c < t->ncols; c++)
        free(t->cols[c]);
    for (size_t k = 0; k < t->nrows * t->ncols; k++)
        free(t->cells[k]);
    free(t->cols);
    free(t->cells);
    free(t->numeric);
    free(t->title);
    free(t);
}

const char *kf_store_query_table_cell(const struct kf_qtable *t, size_t row, size_t col)
{
    if (!t || row >= t->nrows || col >= t->ncols)
        return NULL;
    return t->cells[row * t->ncols + col];
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

static int report_add(struct kf_qreport *r, struct kf_qtable *t)
{
    struct kf_qtable **nt = realloc(r->tables, (r->n + 1) * sizeof(*nt));

    if (!nt) {
        kf_store_query_table_free(t);
        return -ENOMEM;
    }
    r->tables = nt;
    r->tables[r->n++] = t;
    return 0;
}

/* Run sql with params and collect every row as strings. */
static int qtable_run(struct kf_store *st, const char *title, const char *sql,
                      const struct qparam *params, size_t np, struct kf_qtable **ret)
{
    sqlite3 *db = kf__store_db(st);
    struct kf_qtable *t;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    int rc, r = 0;

    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    if (title) {
        t->title = strdup(title);
        if (!t->title) {
            r = -ENOMEM;
            goto out_free;
        }
    }
    rc = sqlite3_prepare_v3(db, sql, -1, 0, &s, NULL);
    if (rc != SQLITE_OK) {
        kf__store_seterr(st, "query: %s", sqlite3_errmsg(db));
        r = kf_err_from_sqlite(rc);
        goto out_free;
    }
    for (size_t i = 0; i < np; i++) {
        if (params[i].text)
            sqlite3_bind_text(s, (int)i + 1, params[i].text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(s, (int)i + 1, params[i].i);
    }
    t->ncols = (size_t)sqlite3_column_count(s);
    t->cols = calloc(t->ncols ? t->ncols : 1, sizeof(*t->cols));
    t->numeric = calloc(t->ncols ? t->ncols : 1, sizeof(*t->numeric));
    if (!t->cols || !t->numeric) {
        r = -ENOMEM;
        goto out_finalize;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        t->cols[c] = strdup(sqlite3_column_name(s, (int)c));
        if (!t->cols[c]) {
            r = -ENOMEM;
            goto out_finalize;
        }
        t->numeric[c] = 2; /* unknown until a non-NULL value is seen */
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
            int type = sqlite3_column_type(s, (int)c);
            const unsigned char *v = sqlite3_column_text(s, (int)c);
            char **cell = &t->cells[t->nrows * t->ncols + c];

            *cell = NULL;
            if (type == SQLITE_NULL || !v)
                continue;
            *cell = strdup((const char *)v);
            if (!*cell) {
                for (size_t k = 0; k < c; k++)
                    free(t->cells[t->nrows * t->ncols + k]);
                r = -ENOMEM;
                goto out_finalize;
            }
            if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
                if (t->numeric[c] == 2)
                    t->numeric[c] = 1;
            } else {
                t->numeric[c] = 0;
            }
        }
        t->nrows++;
    }
    if (rc != SQLITE_DONE) {
        kf__store_seterr(st, "query: %s", sqlite3_errmsg(db));
        r = kf_err_from_sqlite(rc);
        goto out_finalize;
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->numeric[c] = t->numeric[c] == 1;
    sqlite3_finalize(s);
    *ret = t;
    return 0;

out_finalize:
    sqlite3_finalize(s);
out_free:
    kf_store_query_table_free(t);
    return r;
}

static int report_query(struct kf_store *st, struct kf_qreport *rep, const char *title,
                        const char *sql, const struct qparam *params, size_t np)
{
    struct kf_qtable *t;
    int r = qtable_run(st, title, sql, params, np, &t);

    if (r < 0)
        return r;
    return report_add(rep, t);
}

int kf_store_query_devices(struct kf_store *st, struct kf_qtable **ret)
{
    static const char sql[] = "SELECT d.device_id, d.asset_id AS asset, " KIND_NAME(
        "a.kind") " AS kind,"
                  " a.zone_id AS zone, z.unit, z.bank,"
                  " CASE d.online WHEN 1 THEN 'yes' ELSE 'no' END AS online,"
                  " " LOCAL_TIME(
                      "d.state_since_ms") " AS since,"
                                          " " LOCAL_TIME(
                                              "d.last_seen_ms") " AS last_seen, d.acked_seq,"
                                                                " round(h.cpu_pm / 10.0, 1) AS "
                                                                "\"cpu%\", round(h.temp_mc / "
                                                                "1000.0, 1) AS temp_c,"
                                                                " h.mem_avail_kb / 1024 AS "
                                                                "mem_avail_mb, h.disk_avail_kb / "
                                                                "1024 AS disk_avail_mb,"
                                                                " (SELECT count(*) FROM "
                                                                "faults_open f WHERE f.device_id = "
                                                                "d.device_id) AS faults,"
                                                                " (SELECT CASE WHEN p.state = "
                                                                "'online' THEN 'ok' ELSE p.periph "
                                                                "|| ':' || p.state END"
                                                                "  FROM periph_latest p WHERE "
                                                                "p.device_id = d.device_id"
                                                                "  ORDER BY p.usable, p.state = "
                                                                "'online', p.since_ms LIMIT 1) AS "
                                                                "worst_periph"
                                                                " FROM devices d JOIN assets a ON "
                                                                "a.asset_id = d.asset_id"
                                                                " LEFT JOIN zones z ON z.id = "
                                                                "a.zone_id"
                                                                " LEFT JOIN health_latest h ON "
                                                                "h.device_id = d.device_id ORDER "
                                                                "BY d.device_id";

    return qtable_run(st, NULL, sql, NULL, 0, ret);
}

int kf_store_query_device(struct kf_store *st, const char *device_id, struct kf_qreport **ret)
{
    static const char sql_dev[] = "SELECT d.device_id, d.asset_id AS asset, " KIND_NAME(
        "a.kind") " AS kind,"
                  " a.zone_id AS zone, z.name AS zone_name, z.unit, u.name AS unit_name, z.bank,"
                  " b.name AS bank_name, z.branch, a.lease_ref AS lease,"
                  " CASE d.status WHEN 1 THEN 'active' ELSE 'inactive' END AS status,"
                  " CASE d.online WHEN 1 THEN 'yes' ELSE 'no' END AS online,"
                  " " LOCAL_TIME(
                      "d.state_since_ms") " AS since,"
                                          " " LOCAL_TIME(
                                              "d.last_seen_ms") " AS last_seen, d.acked_seq, "
                                                                "d.agent, d.boot_id,"
                                                                " d.clock_offset_ms, "
                                                                "d.health_dropped, " LOCAL_TIME(
                                                                    "d.created_ms") " AS registered"
                                                                                    " FROM devices "
                                                                                    "d JOIN assets "
                                                                                    "a ON "
                                                                                    "a.asset_id = "
                                                                                    "d.asset_id"
                                                                                    " LEFT JOIN "
                                                                                    "zones z ON "
                                                                                    "z.id = "
                                                                                    "a.zone_id "
                                                                                    "LEFT JOIN "
                                                                                    "units u ON "
                                                                                    "u.code = "
                                                                                    "z.unit"
                                                                                    " LEFT JOIN "
                                                                                    "banks b ON "
                                                                                    "b.code = "
                                                                                    "z.bank WHERE "
                                                                                    "d.device_id = "
                                                                                    "?1";
    static const char sql_keys[] =
        "SELECT epoch, CASE status WHEN 1 THEN 'active' WHEN 2 THEN 'retired'"
        " WHEN 3 THEN 'revoked' ELSE '?' END AS status,"
        " " LOCAL_TIME("created_ms") " AS created, lower(hex(pk)) AS public_key"
                                     " FROM device_keys WHERE device_id = ?1 ORDER BY epoch";
    static const char sql_health[] = "SELECT " LOCAL_TIME(
        "ts_ms") " AS at, seq, round(cpu_pm / 10.0, 1) AS \"cpu%\","
                 " round(temp_mc / 1000.0, 1) AS temp_c, mem_total_kb / 1024 AS mem_total_mb,"
                 " mem_avail_kb / 1024 AS mem_avail_mb, disk_total_kb / 1024 AS disk_total_mb,"
                 " disk_avail_kb / 1024 AS disk_avail_mb, uptime_s,"
                 " CASE net_up WHEN 1 THEN 'up' ELSE 'down' END AS net"
                 " FROM health_latest WHERE device_id = ?1";
    static const char sql_periph[] =
        "SELECT periph, state, CASE usable WHEN 1 THEN 'yes' ELSE 'no' END AS usable,"
        " " LOCAL_TIME("since_ms") " AS since FROM periph_latest WHERE device_id = ?1"
                                   " ORDER BY periph";
    static const char sql_faults[] = "SELECT code, sev, periph, text, " LOCAL_TIME(
        "since_ms") " AS since, seq"
                    " FROM faults_open WHERE device_id = ?1 ORDER BY since_ms";
    static const char sql_frames[] =
        "SELECT id, seq_first, count, key_epoch AS epoch, topic,"
        " " LOCAL_TIME("recv_ms") " AS received, " LOCAL_TIME(
            "device_ms") " AS device_time,"
                         " CASE WHEN flags & 2 THEN clock_offset_ms END AS clock_offset_ms,"
                         " length(raw) AS bytes FROM envelopes WHERE device_id = ?1 ORDER BY id "
                         "DESC LIMIT 10";
    struct qparam p = {.text = device_id};
    struct kf_qreport *rep;
    int r;

    rep = calloc(1, sizeof(*rep));
    if (!rep)
        return -ENOMEM;
    r = report_query(st, rep, "device", sql_dev, &p, 1);
    if (r < 0)
        goto out_free;
    if (rep->tables[0]->nrows == 0) {
        kf__store_seterr(st, "no device %s", device_id);
        r = -ENOENT;
        goto out_free;
    }
    r = report_query(st, rep, "keys", sql_keys, &p, 1);
    if (r == 0)
        r = report_query(st, rep, "health (latest)", sql_health, &p, 1);
    if (r == 0)
        r = report_query(st, rep, "peripherals", sql_periph, &p, 1);
    if (r == 0)
        r = report_query(st, rep, "open faults", sql_faults, &p, 1);
    if (r == 0)
        r = report_query(st, rep, "last frames", sql_frames, &p, 1);
    if (r < 0)
        goto out_free;
    *ret = rep;
    return 0;

out_free:
    kf_store_query_report_free(rep);
    return r;
}

#define USAGE_SUMS                                                                                 \
    " sum(u.ok + u.failed + u.abandoned) AS total, sum(u.ok) AS ok, sum(u.failed) AS failed,"      \
    " sum(u.abandoned) AS abandoned, sum(u.dur_ms_total) / 1000 AS dur_s"
#define USAGE_FROM                                                                                 \
    " FROM usage_daily u LEFT JOIN zones z ON z.id = u.zone_id"                                    \
    " LEFT JOIN items i ON i.code = u.item WHERE u.day BETWEEN ?1 AND ?2"
static const struct {
    const char *by;
    const char *sql;
} usage_sql[] = {
    {"device", "SELECT u.device_id, u.asset_id AS asset, u.zone_id AS zone," USAGE_SUMS USAGE_FROM
               " GROUP BY u.device_id ORDER BY u.device_id"},
    {"device,item", "SELECT u.device_id, u.item, i.name AS item_name," USAGE_SUMS USAGE_FROM
                    " GROUP BY u.device_id, u.item ORDER BY u.device_id, u.item"},
    {"zone", "SELECT u.zone_id AS zone, z.name AS zone_name, z.unit, z.bank," USAGE_SUMS USAGE_FROM
             " GROUP BY u.zone_id ORDER BY u.zone_id"},
    {"unit", "SELECT z.unit, (SELECT name FROM units WHERE code = z.unit) AS unit_name," USAGE_SUMS
                 USAGE_FROM " GROUP BY z.unit ORDER BY z.unit"},
    {"bank", "SELECT z.bank, (SELECT name FROM banks WHERE code = z.bank) AS bank_name," USAGE_SUMS
                 USAGE_FROM " GROUP BY z.bank ORDER BY z.bank"},
    {"item", "SELECT u.item, i.name AS item_name, i.family," USAGE_SUMS USAGE_FROM
             " GROUP BY u.item ORDER BY u.item"},
    {"family", "SELECT i.family, (SELECT name FROM families WHERE code = i.family)"
               " AS family_name," USAGE_SUMS USAGE_FROM " GROUP BY i.family ORDER BY i.family"},
};

int kf_store_query_usage(struct kf_store *st, int32_t from_day, int32_t to_day, const char *by,
                         struct kf_qtable **ret)
{
    struct qparam p[2] = {{.i = from_day}, {.i = to_day}};

    for (size_t i = 0; i < sizeof(usage_sql) / sizeof(usage_sql[0]); i++) {
        if (by && strcmp(by, usage_sql[i].by) == 0)
            return qtable_run(st, NULL, usage_sql[i].sql, p, 2, ret);
    }
    kf__store_seterr(st, "usage: unknown grouping \"%s\"", by ? by : "");
    return -EINVAL;
}

int kf_store_query_zones(struct kf_store *st, struct kf_qtable **ret)
{
    return qtable_run(st, NULL, "SELECT id, unit, kiosks, itms FROM zones ORDER BY unit, id", NULL,
                      0, ret);
}

int kf_store_query_rejects(struct kf_store *st, struct kf_qtable **ret)
{
    /* rowid order is the order the reasons were created in: the enum's order. */
    return qtable_run(st, NULL, "SELECT reason, count FROM reject_counts ORDER BY rowid", NULL, 0,
                      ret);
}

static void range_title(char *buf, size_t cap, const char *by, const char *today, int32_t from_day,
                        int32_t to_day)
{
    char a[16], b[16];

    if (from_day == INT32_MIN && to_day == INT32_MAX) {
        snprintf(buf, cap, "usage by %s (today %s; total: all time)", by, today);
        return;
    }
    snprintf(buf, cap, "usage by %s (today %s; total: %s .. %s)", by, today,
             kf_day_format(from_day, a, sizeof(a)), kf_day_format(to_day, b, sizeof(b)));
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
    static const char sql_units[] =
        "SELECT un.code AS unit, un.name,"
        " (SELECT count(*) FROM zones z WHERE z.unit = un.code) AS zones,"
        " coalesce(sum(CASE WHEN x.day = ?3 THEN x.n END), 0) AS today,"
        " coalesce(sum(CASE WHEN x.day BETWEEN ?1 AND ?2 THEN x.n END), 0) AS total,"
        " coalesce(sum(CASE WHEN x.day BETWEEN ?1 AND ?2 THEN x.ok END), 0) AS ok,"
        " coalesce(sum(CASE WHEN x.day BETWEEN ?1 AND ?2 THEN x.failed END), 0) AS failed,"
        " coalesce(sum(CASE WHEN x.day BETWEEN ?1 AND ?2 THEN x.abandoned END), 0)"
        " AS abandoned"
        " FROM units un LEFT JOIN (SELECT z.unit, u.day, u.ok + u.failed + u.abandoned AS n,"
        "  u.ok, u.failed, u.abandoned FROM usage_daily u JOIN zones z ON z.id = u.zone_id"
        "  WHERE u.day BETWEEN min(?1, ?3) AND max(?2, ?3)) x ON x.unit = un.code"
        " GROUP BY un.code ORDER BY un.code";
    static const char sql_families[] =
        "SELECT f.code AS family, f.name,"
        " coalesce(sum(CASE WHEN x.day = ?3 THEN x.n END), 0) AS today,"
        " coalesce(sum(CASE WHEN x.day BETWEEN ?1 AND ?2 THEN x.n END), 0) AS total,"
        " coalesce(sum(CASE WHEN x.day BETWEEN ?1 AND ?2 THEN x.ok END), 0) AS ok,"
        " coalesce(sum(CASE WHEN x.day BETWEEN ?1 AND ?2 THEN x.failed END), 0) AS failed,"
        " coalesce(sum(CASE WHEN x.day BETWEEN ?1 AND ?2 THEN x.abandoned END), 0)"
        " AS abandoned"
        " FROM families f LEFT JOIN (SELECT i.family, u.day,"
        "  u.ok + u.failed + u.abandoned AS n, u.ok, u.failed, u.abandoned"
        "  FROM usage_daily u JOIN items i ON i.code = u.item"
        "  WHERE u.day BETWEEN min(?1, ?3) AND max(?2, ?3)) x ON x.family = f.code"
        " GROUP BY f.code ORDER BY f.code";
    static const char sql_health[] =
        "SELECT (SELECT count(*) FROM devices) AS devices,"
        " (SELECT count(*) FROM health_latest) AS reporting,"
        " (SELECT round(avg(cpu_pm) / 10.0, 1) FROM health_latest) AS \"avg_cpu%\","
        " (SELECT round(max(cpu_pm) / 10.0, 1) FROM health_latest) AS \"max_cpu%\","
        " (SELECT round(max(temp_mc) / 1000.0, 1) FROM health_latest) AS max_temp_c,"
        " (SELECT count(*) FROM health_latest WHERE disk_total_kb > 0"
        "  AND disk_avail_kb * 10 < disk_total_kb) AS low_disk,"
        " (SELECT count(DISTINCT device_id) FROM faults_open) AS with_open_faults,"
        " (SELECT count(*) FROM periph_latest WHERE usable = 0) AS periph_not_usable";
    struct qparam p[3] = {{.i = from_day}, {.i = to_day}, {.i = today}};
    char title[128], t[16];
    struct kf_qreport *rep;
    int r;

    rep = calloc(1, sizeof(*rep));
    if (!rep)
        return -ENOMEM;
    kf_day_format(today, t, sizeof(t));
    r = report_query(st, rep, "terminals", sql_terminals, NULL, 0);
    if (r < 0)
        goto out_free;
    range_title(title, sizeof(title), "unit", t, from_day, to_day);
    r = report_query(st, rep, title, sql_units, p, 3);
    if (r < 0)
        goto out_free;
    range_title(title, sizeof(title), "family", t, from_day, to_day);
    r = report_query(st, rep, title, sql_families, p, 3);
    if (r == 0)
        r = report_query(st, rep, "fleet health", sql_health, NULL, 0);
    if (r == 0)
        r = report_query(st, rep, "rejections",
                         "SELECT reason, count FROM reject_counts ORDER BY rowid", NULL, 0);
    if (r < 0)
        goto out_free;
    *ret = rep;
    return 0;

out_free:
    kf_store_query_report_free(rep);
    return r;
}
