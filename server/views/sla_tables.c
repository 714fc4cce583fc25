/* views/sla_tables.c: fleet state and the incident queue as query tables
 * (views/sla_tables.h). The state table and the month's report moved here from kioskctl's
 * sla_report.c; the incident's tables are kioskctl's `incident ID` (the queue itself is
 * views/outage.h's; both begin their rows with views/cells_int.h's incident cells). */
#include "views/sla_tables.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "rules/devstate.h"
#include "rules/incident.h"
#include "store/sla.h"
#include "views/cells_int.h"
#include "views/qjson.h"
#include "views/sla.h"

static const char *status_name(const struct kf_view_sla_state *v)
{
    switch (v->known ? v->status : 0) {
    case KF_TERM_UP:
        return "up";
    case KF_TERM_DEGRADED:
        return "degraded";
    case KF_TERM_DOWN:
        return "down";
    case KF_TERM_MAINT:
        return "maintenance";
    default:
        return "unknown";
    }
}

/* Since when the terminal has been in its status (as well as the state says). */
static int64_t status_since(const struct kf_view_sla_state *v)
{
    const struct kf_devstate *s = &v->st;
    int64_t t = 0;

    if (!v->known)
        return 0;
    if (!s->online || v->status == KF_TERM_UP)
        return s->presence_since_ms;
    if (v->status == KF_TERM_MAINT)
        return s->maint_since_ms;
    for (int p = 1; p <= KF_PERIPH_COUNT_; p++)
        if ((s->unusable & (1u << p)) && s->periph_since_ms[p] > t)
            t = s->periph_since_ms[p];
    for (uint32_t i = 0; i < s->n_faults; i++)
        if (s->faults[i].sev == KF_SEV_CRITICAL && s->faults[i].since_ms > t)
            t = s->faults[i].since_ms;
    return t ? t : s->at_ms;
}

/* "a4_printer,screen": peripherals not usable or with a critical fault (0: device-wide). */
static void parts(const struct kf_devstate *s, char *buf, size_t cap)
{
    uint32_t mask = s->unusable | kf_devstate_crit(s);
    size_t len = 0;

    buf[0] = '\0';
    if (mask & 1u)
        len += (size_t)snprintf(buf, cap, "terminal");
    for (int p = 1; p <= KF_PERIPH_COUNT_ && len < cap; p++)
        if (mask & (1u << p))
            len +=
                (size_t)snprintf(buf + len, cap - len, "%s%s", len ? "," : "", kf_periph_name(p));
}

static void faults(const struct kf_devstate *s, char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = '\0';
    for (uint32_t i = 0; i < s->n_faults && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s(%s)", len ? "," : "", s->faults[i].code,
                                kf_severity_name(s->faults[i].sev));
}

static const char *breached(const struct kf_inc_clock *rs, const struct kf_inc_clock *rt)
{
    return kf__view_cell_breached((rs->breached ? 1u : 0u) | (rt->breached ? 2u : 0u));
}

/* Service seconds left on a running clock; NULL (no value) once it stopped. */
static const char *clock_left(const struct kf_inc_clock *c, char *buf)
{
    return kf__view_cell_left(c->running, c->left_s, buf);
}

/* The incident's own fields: who, what, when, its clocks. NULL when out of memory. */
static struct kf_qtable *incident_table(const struct kf_view_sla_incident *v,
                                        const struct kf_view_names *names, int64_t now_ms)
{
    static const char *const cols[] = {KF__VIEW_INCIDENT_COLS,
                                       "severity",
                                       "detail",
                                       "attribution",
                                       "state",
                                       "since",
                                       "opened",
                                       "acknowledged",
                                       "acknowledged_by",
                                       "on_site",
                                       "on_site_by",
                                       "on_site_duration_s",
                                       "resolved",
                                       "resolved_by",
                                       "closed",
                                       "response_due",
                                       "response_left_s",
                                       "restore_due",
                                       "restore_left_s",
                                       "breached",
                                       "down_spans",
                                       "assignee",
                                       NULL};
    const struct kf_incident *inc = &v->inc;
    int64_t measured = inc->on_site_ms;
    struct kf_qtable *t;
    char b[14][24];

    if (inc->on_site_since_ms != 0)
        measured += now_ms - inc->on_site_since_ms;
    const char *cells[] = {
        [KF__VIEW_INCIDENT_NCOLS] = inc->sev ? kf_severity_name(inc->sev) : NULL,
        inc->detail[0] ? inc->detail : NULL,
        kf_incident_attr_name(inc->attr),
        kf_incident_state_name(inc->state),
        kf__view_cell_ms(inc->spans[0].start_ms, b[1]),
        kf__view_cell_ms(inc->opened_at_ms, b[2]),
        kf__view_cell_ms(inc->acked_at_ms, b[3]),
        inc->acked_by[0] ? inc->acked_by : NULL,
        kf__view_cell_ms(inc->on_site_at_ms, b[4]),
        inc->on_site_by[0] ? inc->on_site_by : NULL,
        kf__view_cell_int(kf_time_floor_div(measured, 1000), b[5]),
        kf__view_cell_ms(inc->resolved_at_ms, b[6]),
        inc->resolved_by[0] ? inc->resolved_by : NULL,
        kf__view_cell_ms(inc->closed_at_ms, b[7]),
        kf__view_cell_ms(v->response.due_ms, b[8]),
        clock_left(&v->response, b[9]),
        kf__view_cell_ms(v->restore.due_ms, b[10]),
        clock_left(&v->restore, b[11]),
        breached(&v->response, &v->restore),
        kf__view_cell_int(inc->n_spans, b[12]),
        inc->assignee[0] ? inc->assignee : NULL,
    };
    kf__view_cell_incident(cells, b[0], inc, v->term.device_id[0] ? v->term.device_id : NULL,
                           v->term.zone_id[0] ? v->term.zone_id : NULL,
                           v->term.bank[0] ? v->term.bank : NULL, names);
    t = kf_store_query_table_new("incident", "incident", cols,
                                 KF__VIEW_INCIDENT_TYPES "xxxxttt"
                                                         "xtxs"
                                                         "txt"
                                                         "tsts"
                                                         "xix");
    if (t && kf_store_query_table_add_row(t, cells) < 0) {
        kf_store_query_table_free(t);
        t = NULL;
    }
    if (t)
        t->record = 1;
    return t;
}

/* The incident's history, one event a row. NULL when out of memory. */
static struct kf_qtable *history_table(const struct kf_view_sla_incident *v)
{
    static const char *const hcols[] = {"at", "event", "who", "detail", NULL};
    struct kf_qtable *h;

    h = kf_store_query_table_new("history", "history", hcols, "txxx");
    for (size_t i = 0; h && i < v->n_events; i++) {
        const struct kf_inc_event *ev = &v->events[i].ev;
        char at[24], what[320];

        if (ev->kind == KF_EV_ATTRIBUTE)
            snprintf(what, sizeof(what), "%s -> %s: %s", kf_incident_attr_name(ev->from),
                     kf_incident_attr_name(ev->to), ev->text);
        else if (ev->kind == KF_EV_ASSIGN)
            snprintf(what, sizeof(what), "%s%s%s%s", ev->assignee[0] ? "to " : "cleared",
                     ev->assignee, ev->text[0] ? ": " : "", ev->text);
        else if (ev->kind == KF_EV_BREACH)
            snprintf(what, sizeof(what), "%s deadline passed", kf_incident_clock_name(ev->clock));
        else if (ev->flags & KF_EV_F_MEASURED)
            snprintf(what, sizeof(what), "%s%smaintenance mode at the terminal", ev->text,
                     ev->text[0] ? "; " : "");
        else
            snprintf(what, sizeof(what), "%s", ev->text);
        const char *cells[] = {kf__view_cell_ms(ev->at_ms, at), kf_incident_ev_name(ev->kind),
                               ev->who[0] ? ev->who : NULL, what[0] ? what : NULL};
        if (kf_store_query_table_add_row(h, cells) < 0) {
            kf_store_query_table_free(h);
            h = NULL;
        }
    }
    return h;
}

/* Table "state" of the views v (n of them). NULL when out of memory. */
static struct kf_qtable *state_table(const struct kf_view_sla_state *v, size_t n,
                                     const struct kf_view_names *names)
{
    static const char *const cols[] = {
        "terminal", "device", "zone",   "zone_name",   "bank",      "bank_name", "kind", "status",
        "since",    "parts",  "faults", "maintenance", "items_out", "items",     NULL};
    struct kf_qtable *t;

    t = kf_store_query_table_new("state", "terminals (as kioskd's SLA engine last saw them)", cols,
                                 "xxxxxxxxtxxxii");
    for (size_t i = 0; t && i < n; i++) {
        char since[24], p[160], f[400], io[24], it[24];
        const char *zone = v[i].term.zone_id[0] ? v[i].term.zone_id : NULL;
        const char *bank = v[i].term.bank[0] ? v[i].term.bank : NULL;
        int64_t at = status_since(&v[i]);

        parts(&v[i].st, p, sizeof(p));
        faults(&v[i].st, f, sizeof(f));
        const char *cells[] = {v[i].term.asset_id,
                               v[i].term.device_id[0] ? v[i].term.device_id : NULL,
                               zone,
                               kf_view_names_get(names, KF_NAMES_ZONE, zone),
                               bank,
                               kf_view_names_get(names, KF_NAMES_BANK, bank),
                               v[i].term.kind == 2 ? "itm" : "kiosk",
                               status_name(&v[i]),
                               at > 0 ? kf__view_cell_int(at, since) : NULL,
                               p[0] ? p : NULL,
                               f[0] ? f : NULL,
                               v[i].st.maint && v[i].st.maint_who[0] ? v[i].st.maint_who : NULL,
                               v[i].known ? kf__view_cell_int((int64_t)v[i].items_out, io) : NULL,
                               kf__view_cell_int((int64_t)v[i].items, it)};
        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

int kf_view_sla_tables_state(struct kf_store *st, const struct kf_view_names *names,
                             const char *target, struct kf_qreport **ret, char *err, size_t cap)
{
    static const char *const icols[] = {"item", "item_name", "family", "family_name", NULL};
    struct kf_view_sla_state *v = NULL;
    struct kf_qreport *rep = NULL;
    struct kf_qtable *t;
    size_t n = 0;
    int r;

    r = kf_view_sla_states(st, target, &v, &n, err, cap);
    if (r < 0)
        return r;
    t = state_table(v, n, names);
    rep = calloc(1, sizeof(*rep));
    r = rep ? kf_store_query_report_add(rep, t) : (kf_store_query_table_free(t), -ENOMEM);
    if (r == 0 && target != NULL && n == 1) {
        char buf[128][KF_ITEM_CODE_MAX + 1];
        const char *codes[128];
        size_t k = v[0].known ? kf_view_sla_items_out(st, &v[0], codes, buf, 128) : 0;

        t = kf_store_query_table_new("items_out", "service items out of service", icols, "xxxx");
        for (size_t i = 0; t && i < k && i < 128; i++) {
            const char *fam = kf_view_names_item_family(names, codes[i]);
            const char *cells[] = {codes[i], kf_view_names_get(names, KF_NAMES_ITEM, codes[i]), fam,
                                   kf_view_names_get(names, KF_NAMES_FAMILY, fam)};

            if (kf_store_query_table_add_row(t, cells) < 0) {
                kf_store_query_table_free(t);
                t = NULL;
            }
        }
        r = kf_store_query_report_add(rep, t);
    }
    free(v);
    if (r < 0) {
        kf_store_query_report_free(rep);
        snprintf(err, cap, "out of memory");
        return r;
    }
    *ret = rep;
    return 0;
}

int kf_view_sla_tables_state_page(struct kf_store *st, const struct kf_view_names *names,
                                  struct kf_view_sla_page *pg, struct kf_qtable **ret, char *err,
                                  size_t cap)
{
    struct kf_view_sla_state *v = NULL;
    size_t n = 0;
    int r = kf_view_sla_states_page(st, pg, &v, &n, err, cap);

    if (r < 0)
        return r;
    *ret = state_table(v, n, names);
    free(v);
    if (*ret == NULL) {
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

int kf_view_sla_tables_incident(struct kf_store *st, const struct kf_view_names *names, int64_t id,
                                int64_t now_ms, struct kf_qreport **ret, char *err, size_t cap)
{
    struct kf_view_sla_incident *v = NULL;
    struct kf_qreport *rep;
    int r;

    r = kf_view_sla_incident(st, id, now_ms, &v, err, cap);
    if (r < 0)
        return r;
    rep = calloc(1, sizeof(*rep));
    r = rep ? kf_store_query_report_add(rep, incident_table(v, names, now_ms)) : -ENOMEM;
    if (r == 0)
        r = kf_store_query_report_add(rep, history_table(v));
    kf_view_sla_incident_free(v);
    if (r < 0) {
        kf_store_query_report_free(rep);
        snprintf(err, cap, "out of memory");
        return r;
    }
    *ret = rep;
    return 0;
}

/* The report's rows (the scope asked for, and the fleet) as a table with names beside the
 * codes. Seconds, counts and basis points as kf_report computed them (docs/SLA.md section 7);
 * the month and the instant it was cut at on every row, for the files. */
struct kf_qtable *kf_view_sla_tables_report(const struct kf_report *rep, int scope, int64_t as_of,
                                            const struct kf_view_names *names)
{
    static const char *const cols[] = {"month",
                                       "as_of",
                                       "scope",
                                       "key",
                                       "bank",
                                       "bank_name",
                                       "zone",
                                       "zone_name",
                                       "terminals",
                                       "scheduled_s",
                                       "excluded_s",
                                       "downtime_s",
                                       "uptime_s",
                                       "availability_bp",
                                       "items_availability_bp",
                                       "target_bp",
                                       "met",
                                       "incidents",
                                       "other_incidents",
                                       "restored",
                                       "restore_sum_s",
                                       "mttr_s",
                                       "mtbf_s",
                                       "responded",
                                       "response_sum_s",
                                       "mean_response_s",
                                       "response_breaches",
                                       "restore_breaches",
                                       "forced",
                                       NULL};
    static const char *const scope_names[] = {"", "terminal", "zone", "bank", "fleet"};
    char title[160], month[16], at[24], when[32];
    struct kf_qtable *t;

    snprintf(month, sizeof(month), "%04d-%02d", rep->year, rep->month);
    snprintf(title, sizeof(title), "SLA %s by %s, as of %s (local time)", month, scope_names[scope],
             as_of ? kf_view_qjson_time(as_of, 0, when, sizeof(when)) : "-");
    /* The table view leaves out the month, the cut and the sums the means come from. */
    t = kf_store_query_table_new("sla", title, cols, "XTxxxxxxisssSpppbiiISssISsiii");
    for (size_t i = 0; t && i < rep->n; i++) {
        const struct kf_report_row *w = &rep->rows[i];
        char b[22][24];
        const char *bank = w->bank[0] ? w->bank : NULL, *zone = w->zone[0] ? w->zone : NULL;

        if (w->scope != scope && w->scope != KF_SCOPE_FLEET)
            continue;
#define NA(v, k) ((v) == KF_REPORT_NA ? NULL : kf__view_cell_int((v), b[k]))
        const char *cells[] = {
            month,
            kf__view_cell_int(as_of, at),
            scope_names[w->scope <= KF_SCOPE_FLEET ? w->scope : 0],
            w->key,
            bank,
            kf_view_names_get(names, KF_NAMES_BANK, bank),
            zone,
            kf_view_names_get(names, KF_NAMES_ZONE, zone),
            kf__view_cell_int(w->terminals, b[0]),
            kf__view_cell_int(w->scheduled_s, b[1]),
            kf__view_cell_int(w->excluded_s, b[2]),
            kf__view_cell_int(w->downtime_s, b[3]),
            kf__view_cell_int(w->uptime_s, b[4]),
            NA(w->availability_bp, 5),
            NA(w->items_availability_bp, 20),
            NA(w->target_bp, 6),
            NA(w->met, 7),
            kf__view_cell_int(w->incidents, b[8]),
            kf__view_cell_int(w->other_incidents, b[9]),
            kf__view_cell_int(w->restored, b[10]),
            kf__view_cell_int(w->restore_sum_s, b[11]),
            NA(w->mttr_s, 12),
            NA(w->mtbf_s, 13),
            kf__view_cell_int(w->responded, b[14]),
            kf__view_cell_int(w->response_sum_s, b[15]),
            NA(w->mean_response_s, 16),
            kf__view_cell_int(w->response_breaches, b[17]),
            kf__view_cell_int(w->restore_breaches, b[18]),
            kf__view_cell_int(w->forced, b[19]),
        };
#undef NA
        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

int kf_view_sla_tables_history(struct kf_store *st, const struct kf_view_names *names,
                               const char *terminal, int64_t since_ms, int64_t until_ms,
                               struct kf_qtable **ret, char *err, size_t cap)
{
    static const char *const cols[] = {"id",           "terminal",  "zone",       "zone_name",
                                       "bank",         "bank_name", "cause",      "part",
                                       "attribution",  "state",     "since",      "opened",
                                       "acknowledged", "on_site",   "resolved",   "resolved_by",
                                       "closed",       "breached",  "down_spans", NULL};
    struct kf_incident *inc = NULL;
    struct kf_sla_terminal *terms = NULL;
    struct kf_qtable *t;
    size_t n = 0, nt = 0;
    int r;

    r = kf_store_sla_incidents(st, KF_SLA_INC_PERIOD, since_ms, until_ms, &inc, &n);
    if (r == 0 && terminal) { /* its incidents only, and its own zone and bank */
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
            if (strcmp(inc[i].terminal, terminal) == 0)
                inc[k++] = inc[i];
        n = k;
        if (n > 0 && (r = kf_store_sla_terminals(st, terminal, &terms, &nt)) == -ENOENT)
            r = 0;                /* gone: no zone, no bank, as in the list of every terminal */
    } else if (r == 0 && n > 0) { /* their zones and banks */
        r = kf_store_sla_terminals(st, NULL, &terms, &nt);
    }
    if (r < 0) {
        snprintf(err, cap, "%s", kf_store_errmsg(st)[0] ? kf_store_errmsg(st) : "store failed");
        free(inc);
        free(terms);
        return r;
    }
    t = kf_store_query_table_new("incidents", "incidents in the period", cols,
                                 "ixxxxxxxxxttttxxtxi");
    for (size_t i = n; t && i-- > 0;) { /* newest first */
        const struct kf_incident *x = &inc[i];
        const struct kf_sla_terminal *term = NULL;
        char b[8][24];
        /* The stored bits are (1 << clock): the response's 2, the restore's 4. */
        const char *brk = kf__view_cell_breached((x->breached >> 1) & 3u);

        for (size_t k = 0; k < nt && !term; k++)
            if (strcmp(terms[k].asset_id, x->terminal) == 0)
                term = &terms[k];
        const char *zone = term ? term->zone_id : NULL, *bank = term ? term->bank : NULL;
        const char *cells[] = {kf__view_cell_int(x->id, b[0]),
                               x->terminal,
                               zone,
                               kf_view_names_get(names, KF_NAMES_ZONE, zone),
                               bank,
                               kf_view_names_get(names, KF_NAMES_BANK, bank),
                               x->cause,
                               x->periph ? kf_periph_name(x->periph) : NULL,
                               kf_incident_attr_name(x->attr),
                               kf_incident_state_name(x->state),
                               kf__view_cell_ms(x->spans[0].start_ms, b[1]),
                               kf__view_cell_ms(x->opened_at_ms, b[2]),
                               kf__view_cell_ms(x->acked_at_ms, b[3]),
                               kf__view_cell_ms(x->on_site_at_ms, b[4]),
                               kf__view_cell_ms(x->resolved_at_ms, b[5]),
                               x->resolved_by[0] ? x->resolved_by : NULL,
                               kf__view_cell_ms(x->closed_at_ms, b[6]),
                               brk,
                               kf__view_cell_int(x->n_spans, b[7])};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    free(inc);
    free(terms);
    if (!t) {
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    *ret = t;
    return 0;
}
