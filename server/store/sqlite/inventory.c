/* store/sqlite/inventory.c: terminals' inventories (store/inventory.h): the table, what the
 * ingest takes from a HELLO's "inv" (inside the group commit, from ingest_device.c), and
 * the grouped counts kioskctl and kiosk-web read. Statements are prepared per call: a HELLO
 * comes once a connection or change, not once a record. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/inventory.h>
#include <kf/log.h>

#include "store/identity.h"
#include "store/inventory.h"
#include "store/sqlite/int.h"

/* v18 (issue 18). ident is the canonical object without disk_free_gb: what "changed"
 * compares, so that free space moving by a GiB refreshes the row but is no change. */
const char *const kf__store_schema_inventory[] = {
    "CREATE TABLE inventory(device_id TEXT PRIMARY KEY REFERENCES devices(device_id),"
    " os TEXT NOT NULL DEFAULT '', os_version TEXT NOT NULL DEFAULT '',"
    " kernel TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '',"
    " app TEXT NOT NULL DEFAULT '', app_version TEXT NOT NULL DEFAULT '',"
    " cpu TEXT NOT NULL DEFAULT '', cores INTEGER NOT NULL DEFAULT 0,"
    " mem_mb INTEGER NOT NULL DEFAULT 0, disk_gb INTEGER NOT NULL DEFAULT 0,"
    " disk_free_gb INTEGER NOT NULL DEFAULT 0, periph TEXT NOT NULL DEFAULT '[]',"
    " inv TEXT NOT NULL DEFAULT '{}', ident TEXT NOT NULL DEFAULT '',"
    " changed_ms INTEGER NOT NULL DEFAULT 0, seen_ms INTEGER NOT NULL DEFAULT 0,"
    " rejected TEXT, rejected_ms INTEGER)",
    "CREATE INDEX inventory_agent ON inventory(agent)",
    "CREATE INDEX inventory_app ON inventory(app_version)",
    "CREATE TABLE inventory_changes(id INTEGER PRIMARY KEY,"
    " device_id TEXT NOT NULL REFERENCES devices(device_id), at_ms INTEGER NOT NULL,"
    " inv TEXT NOT NULL)",
    "CREATE INDEX inventory_changes_device ON inventory_changes(device_id, id)",
    NULL,
};

/* ---- the ingest ---- */

static int inv_refused(struct kf_store *st, const char *device_id, const char *why, int64_t now_ms)
{
    sqlite3_stmt *s = NULL;
    int r;

    kf_warn("%s: HELLO inventory refused (%s); the HELLO is taken, the inventory kept as it was",
            device_id, why);
    r = kf__store_prep(st,
                       "INSERT INTO inventory(device_id, rejected, rejected_ms) VALUES (?1, ?2, ?3)"
                       " ON CONFLICT(device_id) DO UPDATE SET rejected = excluded.rejected,"
                       " rejected_ms = excluded.rejected_ms",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, why, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, now_ms);
    return kf__store_step_done(st, s, "inventory");
}

static json_t *periph_json(const struct kf_inventory *inv)
{
    json_t *a = json_array();

    for (uint32_t i = 0; a != NULL && i < inv->nperiph; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", inv->periph[i].name, "model",
                                           inv->periph[i].model, "fw", inv->periph[i].fw));
    return a;
}

int kf__store_inv_hello(struct kf_store *st, const char *device_id, json_t *hello, int64_t now_ms)
{
    json_t *obj = json_object_get(hello, "inv"), *pj;
    struct kf_inventory *inv;
    char why[96] = "", *ptext = NULL, ident[KF_INV_JSON_MAX], json[KF_INV_JSON_MAX];
    sqlite3_stmt *s = NULL;
    int changed = 1, r, rc;

    if (obj == NULL)
        return 0; /* an agent that says nothing of itself */
    inv = calloc(1, sizeof(*inv));
    if (inv == NULL)
        return -ENOMEM;
    r = kf_inv_parse(obj, inv, why, sizeof(why));
    if (r == -EBADMSG) {
        r = inv_refused(st, device_id, why, now_ms);
        goto out_free;
    }
    if (r < 0)
        goto out_free;
    if ((r = kf_inv_render(inv, json, sizeof(json))) < 0) {
        r = inv_refused(st, device_id, "not renderable within its bounds", now_ms);
        goto out_free;
    }
    {
        int64_t free_gb = inv->disk_free_gb;

        inv->disk_free_gb = 0;
        r = kf_inv_render(inv, ident, sizeof(ident));
        inv->disk_free_gb = free_gb;
        if (r < 0)
            goto out_free;
    }
    pj = periph_json(inv);
    ptext = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
    json_decref(pj);
    if (ptext == NULL) {
        r = -ENOMEM;
        goto out_free;
    }
    r = kf__store_prep(st, "SELECT ident = ?2 FROM inventory WHERE device_id = ?1", &s);
    if (r < 0)
        goto out_free;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ident, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        changed = sqlite3_column_int(s, 0) == 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "inventory");
        goto out_free;
    }
    r = kf__store_prep(
        st,
        "INSERT INTO inventory(device_id, os, os_version, kernel, agent, app, app_version, cpu,"
        " cores, mem_mb, disk_gb, disk_free_gb, periph, inv, ident, changed_ms, seen_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        " ON CONFLICT(device_id) DO UPDATE SET os = excluded.os,"
        " os_version = excluded.os_version, kernel = excluded.kernel, agent = excluded.agent,"
        " app = excluded.app, app_version = excluded.app_version, cpu = excluded.cpu,"
        " cores = excluded.cores, mem_mb = excluded.mem_mb, disk_gb = excluded.disk_gb,"
        " disk_free_gb = excluded.disk_free_gb, periph = excluded.periph, inv = excluded.inv,"
        " ident = excluded.ident, changed_ms = CASE WHEN ?18 THEN excluded.changed_ms"
        " ELSE changed_ms END, seen_ms = excluded.seen_ms, rejected = NULL, rejected_ms = NULL",
        &s);
    if (r < 0)
        goto out_free;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, inv->os, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, inv->os_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, inv->kernel, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, inv->agent, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, inv->app, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, inv->app_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, inv->cpu, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, inv->cores);
    sqlite3_bind_int64(s, 10, inv->mem_mb);
    sqlite3_bind_int64(s, 11, inv->disk_gb);
    sqlite3_bind_int64(s, 12, inv->disk_free_gb);
    sqlite3_bind_text(s, 13, ptext, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 14, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 15, ident, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 16, now_ms);
    sqlite3_bind_int64(s, 17, now_ms);
    sqlite3_bind_int(s, 18, changed);
    r = kf__store_step_done(st, s, "inventory");
    if (r < 0 || !changed)
        goto out_free;
    /* The history: this object, and no more than the last KF_STORE_INV_HISTORY. */
    r = kf__store_prep(
        st, "INSERT INTO inventory_changes(device_id, at_ms, inv) VALUES (?1, ?2, ?3)", &s);
    if (r < 0)
        goto out_free;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_text(s, 3, json, -1, SQLITE_STATIC);
    r = kf__store_step_done(st, s, "inventory change");
    if (r == 0)
        r = kf__store_prep(st,
                           "DELETE FROM inventory_changes WHERE device_id = ?1 AND id <="
                           " (SELECT id FROM inventory_changes WHERE device_id = ?1"
                           " ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                           &s);
    if (r == 0) {
        sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, KF_STORE_INV_HISTORY);
        r = kf__store_step_done(st, s, "inventory history");
    }
out_free:
    free(ptext);
    free(inv);
    return r;
}

/* ---- grouped counts ---- */

/* A field: its name and its SQL over inventory i, devices d, assets a, zones z and, for
 * periph, one peripheral p (json_each over i.periph). Constant text: only these are ever
 * put into the statement; every value is bound. */
struct inv_field {
    const char *name, *expr;
};

static const struct inv_field inv_fields[] = {
    {"agent", "i.agent"},
    {"app", "trim(i.app || ' ' || i.app_version)"},
    {"app_name", "i.app"},
    {"app_version", "i.app_version"},
    {"os", "trim(i.os || ' ' || i.os_version)"},
    {"os_name", "i.os"},
    {"os_version", "i.os_version"},
    {"kernel", "i.kernel"},
    {"cpu", "i.cpu"},
    {"cores", "i.cores"},
    {"mem_gb", "(i.mem_mb + 512) / 1024"},
    {"disk_gb", "i.disk_gb"},
    {"periph", "trim(json_extract(p.value, '$.name') || ' ' || json_extract(p.value, '$.model')"
               " || ' ' || json_extract(p.value, '$.fw'))"},
    {"kind", "CASE a.kind WHEN 1 THEN 'kiosk' WHEN 2 THEN 'itm' END"},
    {"bank", "z.bank"},
    {"zone", "z.id"},
    {"unit", "z.unit"},
};

const char *kf_store_inv_fields(void)
{
    return "agent, app, app_name, app_version, os, os_name, os_version, kernel, cpu, cores, "
           "mem_gb, disk_gb, periph, kind, bank, zone, unit";
}

static const struct inv_field *field_of(const char *name)
{
    for (size_t i = 0; i < sizeof(inv_fields) / sizeof(inv_fields[0]); i++)
        if (strcmp(inv_fields[i].name, name) == 0)
            return &inv_fields[i];
    return NULL;
}

int kf_store_inv_group(struct kf_store *st, const char *const *by, size_t nby,
                       const char *const *wf, const char *const *wv, size_t nwhere,
                       struct kf_qtable **ret)
{
    struct kf__store_qparam p[1 + KF_STORE_INV_WHERE_MAX];
    const struct inv_field *f;
    char types[KF_STORE_INV_BY_MAX + 2];
    int periph = 0, r;
    sqlite3_str *w;
    char *sql;

    if (nby > KF_STORE_INV_BY_MAX || nwhere > KF_STORE_INV_WHERE_MAX) {
        kf__store_seterr(st, "inventory: at most %d fields to group by and %d filters",
                         KF_STORE_INV_BY_MAX, KF_STORE_INV_WHERE_MAX);
        return -EINVAL;
    }
    for (size_t k = 0; k < nby + nwhere; k++) {
        const char *name = k < nby ? by[k] : wf[k - nby];

        if ((f = field_of(name)) == NULL) {
            kf__store_seterr(st, "inventory: no field %s (fields: %s)", name,
                             kf_store_inv_fields());
            return -EINVAL;
        }
        periph |= strcmp(f->name, "periph") == 0;
    }
    w = sqlite3_str_new(NULL);
    sqlite3_str_appendall(w, "SELECT ");
    for (size_t k = 0; k < nby; k++) {
        sqlite3_str_appendf(w, "%s AS \"%w\", ", field_of(by[k])->expr, by[k]);
        types[k] = 'x';
    }
    types[nby] = 'i';
    types[nby + 1] = '\0';
    sqlite3_str_appendall(
        w, "count(DISTINCT i.device_id) AS terminals FROM inventory i"
           " JOIN devices d ON d.device_id = i.device_id JOIN assets a ON a.asset_id = d.asset_id"
           " JOIN zones z ON z.id = a.zone_id");
    if (periph)
        sqlite3_str_appendall(w, " JOIN json_each(i.periph) p");
    sqlite3_str_appendall(w, " WHERE d.status = ?1 AND i.changed_ms > 0");
    p[0] = (struct kf__store_qparam){NULL, KF_DEVICE_ACTIVE, 0};
    for (size_t k = 0; k < nwhere; k++) {
        const char *e = field_of(wf[k])->expr;

        /* Equal, or a release under it: agent=1.3 keeps 1.3.0 and 1.3.1. */
        sqlite3_str_appendf(w,
                            " AND (CAST(%s AS TEXT) = ?%d OR substr(CAST(%s AS TEXT), 1,"
                            " length(?%d) + 1) = ?%d || '.')",
                            e, (int)k + 2, e, (int)k + 2, (int)k + 2);
        p[k + 1] = (struct kf__store_qparam){wv[k], 0, wv[k] == NULL};
    }
    if (nby > 0) {
        sqlite3_str_appendall(w, " GROUP BY ");
        for (size_t k = 0; k < nby; k++)
            sqlite3_str_appendf(w, "%s%d", k ? ", " : "", (int)k + 1); /* sqlite's printf: no %zu */
    }
    sqlite3_str_appendall(w, " ORDER BY terminals DESC");
    for (size_t k = 0; k < nby; k++)
        sqlite3_str_appendf(w, ", %d", (int)k + 1);
    sql = sqlite3_str_finish(w);
    if (sql == NULL)
        return -ENOMEM;
    r = kf__store_query_run(st, "inventory", NULL, types, sql, p, nwhere + 1, ret);
    sqlite3_free(sql);
    return r;
}

int kf_store_inv_show(struct kf_store *st, const char *device_id, struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {{device_id, 0, 0}};
    int r = kf__store_query_run(
        st, "inventory", NULL, "xxxxxxxxiiiixttxt",
        "SELECT device_id AS device, os, os_version, kernel, agent, app, app_version, cpu,"
        " cores, mem_mb, disk_gb, disk_free_gb, periph, nullif(changed_ms, 0) AS changed,"
        " nullif(seen_ms, 0) AS seen, rejected, rejected_ms AS rejected_at"
        " FROM inventory WHERE device_id = ?1 OR device_id IN"
        " (SELECT device_id FROM devices WHERE asset_id = ?1 AND status = 1)",
        p, 1, ret);

    if (r == 0) {
        (*ret)->record = 1;
        if ((*ret)->nrows == 0) {
            kf_store_query_table_free(*ret);
            *ret = NULL; /* callers free what they hold on any error */
            kf__store_seterr(st, "%s: no inventory reported", device_id);
            return -ENOENT;
        }
    }
    return r;
}

int kf_store_inv_changes(struct kf_store *st, const char *device_id, struct kf_qtable **ret)
{
    const struct kf__store_qparam p[] = {{device_id, 0, 0}};

    return kf__store_query_run(st, "inventory_changes", NULL, "tx",
                               "SELECT at_ms AS at, inv FROM inventory_changes"
                               " WHERE device_id = ?1 ORDER BY id DESC",
                               p, 1, ret);
}
