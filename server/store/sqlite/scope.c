/* store/sqlite/scope.c: read-only connections scoped to a role (store/users.h,
 * docs/SECURITY.md "Users, roles and scope").
 *
 * Every table of the store has a class here: for each role, all of its rows, none, or the
 * rows a filter keeps. Opening a scoped connection shadows each table that is not "all" by a
 * TEMP view of the same name over main's table and the filter, and re-creates the store's
 * own views in temp so that they read through the shadows. A table without a class makes
 * the open fail: a table added later cannot leak by being forgotten here.
 *
 * The operator's connection is the plain read-only one: the operator reads everything
 * (kiosk-web serves no route that returns a secret: keys' private halves are not in the
 * store, enrollment MACs and password hashes never leave it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <kf/log.h>

#include "store/sqlite/int.h"
#include "store/users.h"

#define ALL NULL
#define NONE "0"
/* The bank's rows. %1$s stands for the bank's code as an SQL literal (shadow()). */
#define BZ "(SELECT id FROM main.zones WHERE bank = %1$s)"
#define BA "(SELECT asset_id FROM main.assets WHERE zone_id IN " BZ ")"
#define BD "(SELECT device_id FROM main.devices WHERE asset_id IN " BA ")"
#define BI "(SELECT id FROM main.sla_incidents WHERE asset_id IN " BA ")"
#define BB "(SELECT number FROM main.bill_docs WHERE bank = %1$s)"

/* What each role reads of a table: ALL, NONE or a filter (an SQL expression over the
 * table's columns). Roles in the order of enum kf_role (public first; the operator is not
 * here: it reads all). */
struct scope_class {
    const char *table;
    const char *pub, *tech, *bank, *bureau;
};

static const struct scope_class classes[] = {
    /* The plan and the catalog: public (the zone finder shows every zone); a bank's user works
     * with its own zones. */
    {"units", ALL, ALL, ALL, ALL},
    {"banks", ALL, ALL, ALL, ALL},
    {"zones", ALL, ALL, "bank = %1$s", ALL},
    {"families", ALL, ALL, ALL, ALL},
    {"items", ALL, ALL, ALL, ALL},
    {"zone_decisions", ALL, ALL, ALL, ALL}, /* a delisted zone leaves the finder */
    /* Terminals and their live state: the finder says what works now. */
    {"assets", ALL, ALL, "zone_id IN " BZ, ALL},
    {"devices", ALL, ALL, "asset_id IN " BA, ALL},
    {"periph_latest", ALL, ALL, "device_id IN " BD, ALL},
    {"maint_latest", ALL, ALL, "device_id IN " BD, ALL},
    {"sla_terminal_state", ALL, ALL, "asset_id IN " BA, ALL},
    {"sla_calendars", ALL, ALL, ALL, ALL},
    {"sla_cursor", ALL, ALL, ALL, ALL},
    /* Evidence and facts: a bank its own terminals'; the bureau every zone's, no keys. */
    {"device_keys", NONE, ALL, "device_id IN " BD, NONE},
    {"envelopes", NONE, ALL, "device_id IN " BD, ALL},
    {"records", NONE, ALL, "device_id IN " BD, ALL},
    {"health_latest", NONE, ALL, "device_id IN " BD, ALL},
    {"faults", NONE, ALL, "device_id IN " BD, ALL},
    {"fault_state", NONE, ALL, "device_id IN " BD, ALL},
    {"seq_gaps", NONE, ALL, "device_id IN " BD, ALL},
    {"seq_conflicts", NONE, ALL, "device_id IN " BD, NONE},
    {"app_duplicates", NONE, ALL, "device_id IN " BD, NONE},
    {"quarantine", NONE, ALL, "device_id IN " BD, NONE},
    {"reject_counts", NONE, ALL, NONE, NONE},
    {"usage_daily", NONE, ALL, "zone_id IN " BZ, ALL},
    {"usage_monthly", NONE, ALL, "zone_id IN " BZ, ALL},
    {"usage_yearly", NONE, ALL, "zone_id IN " BZ, ALL},
    {"device_days", NONE, ALL, "device_id IN " BD, ALL},
    /* Counters of changes by month (store/period.h), no row of anyone's: what tells
     * kiosk-web's cache that a period's answer still holds. The public reads no period. */
    {"period_stamps", NONE, ALL, ALL, ALL},
    /* The SLA: incidents and their history. */
    {"sla_facts", NONE, ALL, "asset_id IN " BA, ALL},
    {"sla_contracts", NONE, ALL, "bank = %1$s OR bank = '*'", ALL},
    {"sla_windows", NONE, ALL, "asset_id IN " BA " OR zone_id IN " BZ, ALL},
    {"sla_incidents", NONE, ALL, "asset_id IN " BA, ALL},
    {"sla_events", NONE, ALL, "incident IN " BI, ALL},
    {"sla_actions", NONE, ALL, "incident IN " BI, NONE},
    {"sla_notices", NONE, ALL, NONE, NONE},
    /* Billing: the bank's own; neither technicians nor the bureau. */
    {"contract_versions", NONE, NONE, "bank = %1$s", NONE},
    {"asset_service", NONE, ALL, "bank = %1$s", ALL},
    {"billing_settings", NONE, NONE, ALL, NONE},
    {"bill_numbers", NONE, NONE, "bank = %1$s", NONE},
    {"bill_docs", NONE, NONE, "bank = %1$s", NONE},
    {"bill_adjustments", NONE, NONE, "bill IN " BB, NONE},
    {"bill_disputes", NONE, NONE, "bill IN " BB, NONE},
    {"bill_answers", NONE, NONE,
     "dispute IN (SELECT id FROM main.bill_disputes WHERE bill IN " BB ")", NONE},
    /* The bureau's documents. */
    {"report_docs", NONE, NONE, NONE, ALL},
    {"rubric_versions", NONE, NONE, ALL, ALL},
    /* The signed log: a hash chain, whole or not at all (a bank's checker verifies it). */
    {"audit_log", NONE, ALL, ALL, ALL},
    /* Secrets and accounts: the operator's only. */
    {"broker_accounts", NONE, NONE, NONE, NONE},
    {"enroll_tokens", NONE, NONE, NONE, NONE},
    {"users", NONE, NONE, NONE, NONE},
    /* Commands to terminals: the operator's and technicians' tool (issue 18). */
    {"commands", NONE, ALL, NONE, NONE},
    {"cmd_devices", NONE, ALL, NONE, NONE},
    {"rollouts", NONE, ALL, NONE, NONE},
    {"cmd_requests", NONE, ALL, NONE, NONE},
    /* What each terminal is (issue 18): a bank its own terminals'; the bureau every
     * terminal's, as it sees every device (versions and models, no keys or secrets). */
    {"inventory", NONE, ALL, "device_id IN " BD, ALL},
    {"inventory_changes", NONE, ALL, "device_id IN " BD, ALL},
    {"blobs", NONE, ALL, NONE, NONE},
    {"blob_chunks", NONE, ALL, NONE, NONE},
    /* Software artifacts: the operator's. */
    {"artifacts", NONE, NONE, NONE, NONE},
    {"artifact_chunks", NONE, NONE, NONE, NONE},
    {"api_tokens", NONE, NONE, NONE, NONE},
};

static const struct scope_class *class_of(const char *table)
{
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strcmp(classes[i].table, table) == 0)
            return &classes[i];
    return NULL;
}

static const char *filter_of(const struct scope_class *c, uint8_t role)
{
    switch (role) {
    case KF_ROLE_TECHNICIAN:
        return c->tech;
    case KF_ROLE_BANK:
        return c->bank;
    case KF_ROLE_BUREAU:
        return c->bureau;
    default:
        return c->pub;
    }
}

/* Shadow one table by its filter, each %1$s in it replaced by the bank's literal. */
static int shadow(struct kf_store *st, const char *table, const char *filter, const char *bank)
{
    static const char mark[] = "%1$s";
    sqlite3_str *w = sqlite3_str_new(kf__store_db(st));
    const char *p = filter, *q;
    char *sql;
    int r;

    sqlite3_str_appendf(w, "CREATE TEMP VIEW \"%w\" AS SELECT * FROM main.\"%w\" WHERE ", table,
                        table);
    while ((q = strstr(p, mark)) != NULL) {
        sqlite3_str_append(w, p, (int)(q - p));
        sqlite3_str_appendall(w, bank);
        p = q + strlen(mark);
    }
    sqlite3_str_appendall(w, p);
    sql = sqlite3_str_finish(w);
    r = sql ? kf__store_exec_sql(st, sql) : -ENOMEM;
    sqlite3_free(sql);
    return r;
}

/* Every table shadowed as its class says, then the store's views again in temp. */
static int apply(struct kf_store *st, const struct kf_scope *scope)
{
    sqlite3 *db = kf__store_db(st);
    sqlite3_stmt *s = NULL;
    char *bank = sqlite3_mprintf("%Q", scope->bank);
    int rc, r = 0;

    if (!bank)
        return -ENOMEM;
    rc = sqlite3_prepare_v2(db,
                            "SELECT type, name, sql FROM main.sqlite_schema"
                            " WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
                            " ORDER BY type = 'view', name",
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
        r = kf__store_sql_fail(st, rc, "scope: schema");
    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(s, 0);
        const char *name = (const char *)sqlite3_column_text(s, 1);
        const char *sql = (const char *)sqlite3_column_text(s, 2);
        const struct scope_class *c;
        const char *filter;

        if (strcmp(type, "view") == 0) {
            /* "CREATE VIEW name AS ..." again in temp: its names now resolve to the shadows. */
            char *tsql = sqlite3_mprintf("CREATE TEMP %s", sql + strlen("CREATE "));

            r = tsql && strncmp(sql, "CREATE VIEW", 11) == 0 ? kf__store_exec_sql(st, tsql)
                                                             : -EPROTO;
            sqlite3_free(tsql);
            continue;
        }
        c = class_of(name);
        if (c == NULL) {
            kf__store_seterr(st, "scope: table %s has no class (store/sqlite/scope.c)", name);
            r = -EPROTO;
            break;
        }
        filter = filter_of(c, scope->role);
        if (filter != ALL)
            r = shadow(st, name, filter, bank);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "scope: schema");
    sqlite3_finalize(s);
    sqlite3_free(bank);
    return r;
}

int kf_store_open_scoped(const char *path, const struct kf_scope *scope, struct kf_store **ret)
{
    struct kf_store *st = NULL;
    int r;

    if (scope == NULL || scope->role > KF_ROLE_BUREAU ||
        (scope->role == KF_ROLE_BANK && scope->bank[0] == '\0'))
        return -EINVAL;
    r = kf_store_open(path, KF_STORE_RDONLY, &st);
    if (r < 0)
        return r;
    if (scope->role != KF_ROLE_OPERATOR) {
        r = apply(st, scope);
        if (r < 0) {
            kf_err("store: a scoped connection to %s: %s", path, kf_store_errmsg(st));
            kf_store_free(st);
            return r;
        }
    }
    *ret = st;
    return 0;
}
