/* web/api_fleet.c: the session, the fleet, terminals, incidents and zones (docs/openapi.yaml).
 * Handlers run on pool threads with a connection scoped to the caller (web/call.c); every
 * table is one the views build for kioskctl too (views/sla_tables.h, store/query.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/passwd.h>
#include <kf/time.h>

#include "rules/calendar.h"
#include "rules/incident.h"
#include "store/reports.h"
#include "store/sla.h"
#include "store/users.h"
#include "views/billing.h"
#include "views/names.h"
#include "views/outage.h"
#include "views/sla.h"
#include "views/sla_tables.h"
#include "views/timeline.h"
#include "store/inventory.h"
#include "web/web.h"

/* ---- Session ------------------------------------------------------------------------------ */

/* POST /api/v1/session {"user","password"}: the session itself is made on the loop
 * (web/server.c) when login_ok is set. A wrong user and a wrong password look the same,
 * and take as long (the dummy hash). */
void kf_web_api_login(struct kf_web_call *c, struct kf_store *st)
{
    const char *user = NULL, *pw = NULL;
    struct kf_user u;
    json_error_t je;
    json_t *j = c->body ? json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    int r, ok;

    if (!j || json_unpack(j, "{s:s, s:s}", "user", &user, "password", &pw) < 0 ||
        strlen(user) > KF_USER_NAME_MAX || strlen(pw) > KF_PW_MAX) {
        json_decref(j);
        kf_web_problem(c, 400, "the body is {\"user\": NAME, \"password\": TEXT}");
        return;
    }
    snprintf(c->user, sizeof(c->user), "%s", user);
    r = kf_store_user_get(st, user, &u);
    ok = r == 0 && !u.disabled && u.pw_hash[0] != '\0';
    r = kf_pw_verify(ok ? u.pw_hash : kf_web_server_dummy_hash(c->srv), pw);
    json_decref(j);
    if (!ok || r < 0) {
        c->login_failed = 1;
        kf_web_problem(c, 401, "wrong user or password");
        return;
    }
    c->login_ok = 1;
    c->scope = u.scope;
    snprintf(c->display, sizeof(c->display), "%s", u.display);
    c->status = 200; /* the body (with the CSRF token) is written on the loop */
}

/* GET /api/v1/session: identify() has checked the user; the loop writes the body. */
void kf_web_api_session(struct kf_web_call *c, struct kf_store *st)
{
    (void)st;
    c->status = 200;
}

/* ---- Fleet -------------------------------------------------------------------------------- */

static char type_letter(uint8_t t)
{
    static const char letters[] = "xirbtdsp";
    char l = letters[(t & KF_QT_TYPE_MASK) < 8 ? (t & KF_QT_TYPE_MASK) : 0];

    return (t & KF_QT_FILE_ONLY) ? (char)(l - 'a' + 'A') : l;
}

/* t with two columns more after column at: the unit of each row's zone and its name (the
 * console shows the fleet by unit). Takes t. */
static struct kf_qtable *with_unit(struct kf_store *st, const struct kf_view_names *names,
                                   struct kf_qtable *t, int zone_col)
{
    struct kf_reports_zone *zones = NULL;
    struct kf_qtable *o = NULL;
    const char **cols = NULL, **cells = NULL;
    char *types = NULL;
    size_t nz = 0, n = t->ncols + 2;

    if (kf_store_reports_zones(st, &zones, &nz) < 0)
        goto out;
    cols = calloc(n + 1, sizeof(*cols));
    cells = calloc(n, sizeof(*cells));
    types = calloc(n + 1, 1);
    if (!cols || !cells || !types)
        goto out;
    for (size_t i = 0, k = 0; i < t->ncols; i++) {
        cols[k] = t->cols[i];
        types[k++] = type_letter(t->types[i]);
        if ((int)i == zone_col + 1) {
            cols[k] = "unit";
            types[k++] = 'x';
            cols[k] = "unit_name";
            types[k++] = 'x';
        }
    }
    o = kf_store_query_table_new(t->name, t->title, cols, types);
    for (size_t r = 0; o && r < t->nrows; r++) {
        const char *zone = kf_store_query_table_cell(t, r, (size_t)zone_col), *unit = NULL;

        for (size_t z = 0; zone && z < nz; z++)
            if (strcmp(zones[z].id, zone) == 0)
                unit = zones[z].unit;
        for (size_t i = 0, k = 0; i < t->ncols; i++) {
            cells[k++] = kf_store_query_table_cell(t, r, i);
            if ((int)i == zone_col + 1) {
                cells[k++] = unit;
                cells[k++] = kf_view_names_get(names, KF_NAMES_UNIT, unit);
            }
        }
        if (kf_store_query_table_add_row(o, cells) < 0) {
            kf_store_query_table_free(o);
            o = NULL;
        }
    }
out:
    free(zones);
    free(cols);
    free(cells);
    free(types);
    kf_store_query_table_free(t);
    return o;
}

int kf__web_load_names(struct kf_web_call *c, struct kf_store *st, struct kf_view_names **ret)
{
    int r = kf_view_names_load(st, ret);

    if (r < 0)
        kf_web_reply_store_err(c, st, r, "names");
    return r;
}

/* Does terminal t pass the call's filters on its own fields (the fleet table's unit, bank,
 * zone and kind cells, as kf_web_reply_table compares them)? */
static int fleet_keep(const struct kf_sla_terminal *t, void *ud)
{
    const struct kf_web_call *c = ud;

    for (size_t i = 0; i < c->nparams; i++) {
        const char *n = c->params[i].name, *v = c->params[i].value, *cell;

        if (strcmp(n, "zone") == 0)
            cell = t->zone_id[0] ? t->zone_id : NULL;
        else if (strcmp(n, "bank") == 0)
            cell = t->bank[0] ? t->bank : NULL;
        else if (strcmp(n, "unit") == 0)
            cell = t->unit;
        else if (strcmp(n, "kind") == 0)
            cell = t->kind == 2 ? "itm" : "kiosk";
        else
            continue;
        if (!cell || strcmp(cell, v) != 0)
            return 0;
    }
    return 1;
}

/* Can the page be cut before the states are read? Not when a filter needs the state
 * (status), the text search (q) reads every cell, the whole table is asked for (csv), or a
 * filter is empty (a cell's "" and NULL are told apart only in the table). */
static int fleet_pageable(const struct kf_web_call *c)
{
    for (size_t i = 0; i < c->nparams; i++) {
        const char *n = c->params[i].name;

        if (strcmp(n, "status") == 0 || strcmp(n, "q") == 0 || strcmp(n, "format") == 0)
            return 0;
        if (c->params[i].value[0] == '\0')
            return 0;
    }
    return 1;
}

/* GET /api/v1/fleet: kioskctl state's rows, with each zone's unit. A page is read as a page:
 * the terminals filtered and counted on their own fields, and only the page's states read
 * (views/sla.h kf_view_sla_states_page); otherwise the whole table, filtered and paged. */
void kf_web_api_fleet(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_names *names = NULL;
    struct kf_qreport *rep = NULL;
    struct kf_qtable *t;
    char err[256] = "";
    long limit, offset;
    int r;

    if (kf__web_load_names(c, st, &names) < 0)
        return;
    if (fleet_pageable(c) && kf__web_page_params(c, &limit, &offset) == 0) {
        struct kf_view_sla_page pg = {fleet_keep, c, (size_t)offset, (size_t)limit, 0};

        r = kf_view_sla_tables_state_page(st, names, &pg, &t, err, sizeof(err));
        if (r < 0) {
            kf_view_names_free(names);
            kf_web_problem(c, 500, "fleet: %s", err);
            return;
        }
        t = with_unit(st, names, t, kf_store_query_table_col(t, "zone_name") - 1);
        kf_view_names_free(names);
        kf__web_reply_page(c, t, pg.total, limit, offset);
        return;
    }
    r = kf_view_sla_tables_state(st, names, NULL, &rep, err, sizeof(err));
    if (r < 0) {
        kf_view_names_free(names);
        kf_web_problem(c, 500, "fleet: %s", err);
        return;
    }
    t = rep->tables[0];
    rep->tables[0] = NULL;
    kf_store_query_report_free(rep);
    t = with_unit(st, names, t, kf_store_query_table_col(t, "zone_name") - 1);
    kf_view_names_free(names);
    kf_web_reply_table(c, t);
}

/* The open incidents of the queue, filtered to one terminal when asset is set. */
/* The queue, every incident on its own row (kioskctl incidents --flat). */
static int queue_table(struct kf_web_call *c, struct kf_store *st,
                       const struct kf_view_names *names, struct kf_qtable **ret)
{
    struct kf_view_outage_filter f = {.flat = 1};

    return kf__web_queue_table(c, st, names, &f, ret);
}

/* GET /api/v1/terminals/{asset}: {"state": {...}, "items_out": [...], "incidents": [...],
 * "history": [...]}: its state, the items it cannot serve now, its open incidents and every
 * incident of the last 90 days (closed ones included), newest first. A terminal outside the
 * caller's scope is not found, as one that does not exist. */
void kf_web_api_terminal(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_names *names = NULL;
    struct kf_qreport *rep = NULL;
    struct kf_qtable *q = NULL, *h = NULL;
    char err[256] = "", asset[KF_TERMINAL_ID_MAX + 1];
    int r;

    if (kf__web_load_names(c, st, &names) < 0)
        return;
    r = kf_view_sla_tables_state(st, names, c->args[0], &rep, err, sizeof(err));
    if (r < 0) {
        kf_view_names_free(names);
        if (r == -ENOENT)
            kf_web_problem(c, 404, "no terminal %s", c->args[0]);
        else
            kf_web_problem(c, 500, "terminal: %s", err);
        return;
    }
    rep->tables[0]->record = 1;
    snprintf(asset, sizeof(asset), "%s", kf_store_query_table_cell(rep->tables[0], 0, 0));
    if (queue_table(c, st, names, &q) < 0) {
        kf_view_names_free(names);
        kf_store_query_report_free(rep);
        return;
    }
    r = kf_view_sla_tables_history(st, names, asset, c->now_ms - 90LL * 86400000, c->now_ms + 1, &h,
                                   err, sizeof(err));
    kf_view_names_free(names);
    if (r < 0) {
        kf_store_query_table_free(q);
        kf_store_query_report_free(rep);
        kf_web_problem(c, 500, "terminal: %s", err);
        return;
    }
    /* The queue and the history hold the scope's: this terminal's rows. */
    q = kf__web_table_where(q, NULL, "terminal", asset);
    h = kf__web_table_where(h, "history", "terminal", asset);
    r = kf_store_query_report_add(rep, q);
    if (r == 0)
        r = kf_store_query_report_add(rep, h);
    else
        kf_store_query_table_free(h);
    if (r == 0) { /* what it is (store/inventory.h): absent until its agent reported it */
        struct kf_qtable *inv = NULL;
        int ri = kf_store_inv_show(st, asset, &inv);

        if (ri == 0)
            r = kf_store_query_report_add(rep, inv);
        else if (ri != -ENOENT)
            r = ri;
    }
    if (r < 0) {
        kf_store_query_report_free(rep);
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    kf_web_reply_report(c, rep);
}

/* GET /api/v1/terminals/{asset}/timeline?days=N: the terminal's changes of state over the
 * last N days (1..90, default 7), oldest first, at most KF_STORE_TIMELINE_MAX of them (the
 * newest; a "cut" row first when there were more): views/timeline.h. Another bank's
 * terminal is not found, as on the terminal's route: the connection's scope hides it. */
void kf_web_api_terminal_timeline(struct kf_web_call *c, struct kf_store *st)
{
    const char *d = kf_web_param(c, "days");
    struct kf_qtable *t = NULL;
    char err[256] = "", *end = NULL;
    long days = d ? strtol(d, &end, 10) : 7;
    int r;

    if (d && (*d < '0' || *d > '9' || *end || days < 1 || days > 90)) {
        kf_web_problem(c, 400, "days is 1..90");
        return;
    }
    r = kf_view_timeline(st, c->args[0], c->now_ms - days * 86400000LL, c->now_ms + 1, 0, &t, err,
                         sizeof(err));
    if (r == -ENOENT)
        kf_web_problem(c, 404, "no terminal %s", c->args[0]);
    else if (r < 0)
        kf_web_problem(c, 500, "timeline: %s", err);
    else
        kf_web_reply_table(c, t);
}

int kf__web_parse_id(const char *s, int64_t *ret)
{
    char *end;
    long long v;

    if (*s < '1' || *s > '9' || strlen(s) > 18)
        return -EINVAL;
    v = strtoll(s, &end, 10);
    if (*end)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* GET /api/v1/incidents/{id}: {"incident": {...}, "history": [...]}. */
void kf_web_api_incident(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_names *names = NULL;
    struct kf_qreport *rep = NULL;
    char err[256] = "";
    int64_t id;
    int r;

    if (kf__web_parse_id(c->args[0], &id) < 0) {
        kf_web_problem(c, 400, "an incident id is a positive integer");
        return;
    }
    if (kf__web_load_names(c, st, &names) < 0)
        return;
    r = kf_view_sla_tables_incident(st, names, id, c->now_ms, &rep, err, sizeof(err));
    kf_view_names_free(names);
    if (r == -ENOENT)
        kf_web_problem(c, 404, "no incident %lld", (long long)id);
    else if (r < 0)
        kf_web_problem(c, 500, "incident: %s", err);
    else
        kf_web_reply_report(c, rep);
}

/* ---- Zones -------------------------------------------------------------------------------- */

static const char *hours_text(const struct kf_week *w, char *buf, size_t cap);

/* The zones with their plan, names, hours (for the public: the same minus nothing
 * private; the public connection's scope decides what rows exist). */
static struct kf_qtable *zones_table(struct kf_store *st, const struct kf_view_names *names,
                                     int *ret_err)
{
    static const char *const cols[] = {"zone",      "zone_name", "branch",    "unit",
                                       "unit_name", "bank",      "bank_name", "kiosks",
                                       "itms",      "hours",     "itm_hours", NULL};
    struct kf_reports_zone *z = NULL;
    struct kf_qtable *t;
    size_t n = 0;
    int r = kf_store_reports_zones(st, &z, &n);

    if (r < 0) {
        *ret_err = r;
        return NULL;
    }
    t = kf_store_query_table_new("zones", "zones", cols, "xxxxxxxiixx");
    for (size_t i = 0; t && i < n; i++) {
        char k[24], m[24], h[600], ih[600];
        const char *cells[] = {z[i].id,
                               z[i].name,
                               z[i].branch[0] ? z[i].branch : NULL,
                               z[i].unit,
                               kf_view_names_get(names, KF_NAMES_UNIT, z[i].unit),
                               z[i].bank,
                               kf_view_names_get(names, KF_NAMES_BANK, z[i].bank),
                               (snprintf(k, sizeof(k), "%lld", (long long)z[i].kiosks), k),
                               (snprintf(m, sizeof(m), "%lld", (long long)z[i].itms), m),
                               hours_text(&z[i].kiosk_week, h, sizeof(h)),
                               hours_text(&z[i].itm_week, ih, sizeof(ih))};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    free(z);
    *ret_err = t ? 0 : -ENOMEM;
    return t;
}

void kf_web_api_zones(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_names *names = NULL;
    struct kf_qtable *t;
    int r;

    if (kf__web_load_names(c, st, &names) < 0)
        return;
    t = zones_table(st, names, &r);
    kf_view_names_free(names);
    if (!t)
        kf_web_reply_store_err(c, st, r, "zones");
    else
        kf_web_reply_table(c, t);
}

static int zone_count_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct kf_sla_zone_count *)elem)->zone_id);
}

/* GET /api/v1/public/zones: the zone finder. Each zone with its hours, and how many of its
 * terminals are in service now (up or degraded, as kioskd's engine last saw them), counted
 * by zone in SQL from the state's columns (views/sla.h kf_view_sla_zone_counts). */
void kf_web_api_public_zones(struct kf_web_call *c, struct kf_store *st)
{
    static const char *const cols[] = {"zone",      "name",       "branch",    "unit",
                                       "unit_name", "bank",       "bank_name", "hours",
                                       "terminals", "in_service", NULL};
    struct kf_view_names *names = NULL;
    struct kf_sla_zone_count *v = NULL;
    struct kf_qtable *z, *t;
    char err[256];
    size_t n = 0;
    int r;

    if (kf__web_load_names(c, st, &names) < 0)
        return;
    z = zones_table(st, names, &r);
    if (!z) {
        kf_view_names_free(names);
        kf_web_reply_store_err(c, st, r, "zones");
        return;
    }
    r = kf_view_sla_zone_counts(st, &v, &n, err, sizeof(err));
    if (r < 0)
        n = 0; /* not readable: counts of zero */
    t = kf_store_query_table_new("zones", "zones", cols, "xxxxxxxxii");
    for (size_t i = 0; t && i < z->nrows; i++) {
        const char *zone = kf_store_query_table_cell(z, i, 0);
        const struct kf_sla_zone_count *k =
            n && zone ? bsearch(zone, v, n, sizeof(*v), zone_count_cmp) : NULL;
        char tb[24], ub[24];

        snprintf(tb, sizeof(tb), "%lld", k ? (long long)k->terminals : 0LL);
        snprintf(ub, sizeof(ub), "%lld", k ? (long long)k->in_service : 0LL);
        const char *cells[] = {zone,
                               kf_store_query_table_cell(z, i, 1),
                               kf_store_query_table_cell(z, i, 2),
                               kf_store_query_table_cell(z, i, 3),
                               kf_store_query_table_cell(z, i, 4),
                               kf_store_query_table_cell(z, i, 5),
                               kf_store_query_table_cell(z, i, 6),
                               kf_store_query_table_cell(z, i, 9),
                               tb,
                               ub};
        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    free(v);
    kf_store_query_table_free(z);
    kf_view_names_free(names);
    kf_web_reply_table(c, t);
}

/* "mon 09:00-17:00; ...; sun closed; holiday closed; makeup 09:00-17:00": a week's opening
 * hours, each kind of day as the plan's files write it. */
static const char *hours_text(const struct kf_week *w, char *buf, size_t cap)
{
    static const char *const days[] = {"mon", "tue", "wed",     "thu",   "fri",
                                       "sat", "sun", "holiday", "makeup"};
    size_t len = 0;

    buf[0] = '\0';
    for (int d = 0; d < KF_DAY_KINDS && len < cap; d++) {
        char spec[128];

        if (kf_calendar_dayspec_format(&w->day[d], spec, sizeof(spec)) < 0)
            snprintf(spec, sizeof(spec), "?");
        len += (size_t)snprintf(buf + len, cap - len, "%s%s %s", len ? "; " : "", days[d],
                                w->day[d].n ? spec : "closed");
    }
    return buf[0] ? buf : NULL;
}

/* ---- Usage, users ------------------------------------------------------------------------- */

/* Usage reads the days from .. to. */
int kf_web_period_usage(const struct kf_web_call *c, struct kf_web_period *ret)
{
    const char *from = kf_web_param(c, "from"), *to = kf_web_param(c, "to");
    int32_t fd, td;

    if (!from || !to || kf_day_parse(from, &fd) < 0 || kf_day_parse(to, &td) < 0 || td < fd)
        return -1;
    ret->from_day = fd;
    ret->to_day = td;
    ret->extra = 0;
    return 0;
}

/* GET /api/v1/usage?from=&to=&by=: kioskctl usage's table. */
void kf_web_api_usage(struct kf_web_call *c, struct kf_store *st)
{
    const char *from = kf_web_param(c, "from"), *to = kf_web_param(c, "to");
    const char *by = kf_web_param(c, "by");
    struct kf_qtable *t = NULL;
    int32_t fd, td;
    int r;

    if (!by)
        by = "zone";
    if (!from || !to || kf_day_parse(from, &fd) < 0 || kf_day_parse(to, &td) < 0 || td < fd ||
        td - fd > 366) {
        kf_web_problem(c, 400, "from and to are days YYYY-MM-DD, from <= to, at most a year");
        return;
    }
    if (strcmp(by, "device") && strcmp(by, "zone") && strcmp(by, "unit") && strcmp(by, "bank") &&
        strcmp(by, "item") && strcmp(by, "family")) {
        kf_web_problem(c, 400, "by is device, zone, unit, bank, item or family");
        return;
    }
    r = kf_store_query_usage(st, fd, td, by, &t);
    if (r < 0)
        kf_web_reply_store_err(c, st, r, "usage");
    else
        kf_web_reply_table(c, t);
}

void kf_web_api_users(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_qtable *t = NULL;
    int r = kf_store_user_list(st, &t);

    if (r < 0)
        kf_web_reply_store_err(c, st, r, "users");
    else
        kf_web_reply_table(c, t);
}

/* The SLA report reads its month's days: the month kf_view_sla_report computes over. */
int kf_web_period_sla(const struct kf_web_call *c, struct kf_web_period *ret)
{
    const char *month = kf_web_param(c, "month");
    int year = 0, mon = 0;
    int64_t from, to;

    if (!month || kf_view_billing_month(month, &year, &mon) < 0 ||
        kf_calendar_month_range(year, mon, &from, &to) < 0)
        return -1;
    ret->from_day = kf_local_day(from);
    ret->to_day = kf_local_day(to) - 1;
    ret->extra = 0;
    return 0;
}

/* GET /api/v1/sla?month=YYYY-MM&by=terminal|zone|bank: kioskctl sla's table. On a bank's
 * connection the report holds its own terminals only, and its "fleet" row is theirs. */
void kf_web_api_sla(struct kf_web_call *c, struct kf_store *st)
{
    const char *month = kf_web_param(c, "month"), *by = kf_web_param(c, "by");
    struct kf_view_names *names = NULL;
    struct kf_report *rep = NULL;
    int year = 0, mon = 0, scope;
    int64_t used = 0;
    char err[256] = "";
    int r;

    scope = !by || strcmp(by, "terminal") == 0 ? KF_SCOPE_TERMINAL
            : strcmp(by, "zone") == 0          ? KF_SCOPE_ZONE
            : strcmp(by, "bank") == 0          ? KF_SCOPE_BANK
                                               : 0;
    if (!month || kf_view_billing_month(month, &year, &mon) < 0 || scope == 0) {
        kf_web_problem(c, 400, "month is YYYY-MM; by is terminal, zone or bank");
        return;
    }
    if (kf__web_load_names(c, st, &names) < 0)
        return;
    r = kf_view_sla_report(st, year, mon, 0, &rep, &used, err, sizeof(err));
    if (r < 0) {
        kf_view_names_free(names);
        kf_web_problem(c, r == -ENOENT ? 404 : 500, "sla: %s", err);
        return;
    }
    kf_web_reply_table(c, kf_view_sla_tables_report(rep, scope, used, names));
    kf_report_free(rep);
    kf_view_names_free(names);
}
