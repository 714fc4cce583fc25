/* store/sqlite/sla_state.c: what the SLA engine decided, in the store (store/sla.h): incidents
 * (struct kf_incident as columns, its down spans as JSON), their events, the terminals'
 * states (struct kf_devstate as JSON), and one engine run persisted in one transaction.
 * Prepared per call: these run once per engine run (slasvc.c) or once per kioskctl. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/err.h>

#include "store/sqlite/int.h"
#include "store/audit_log.h"
#include "store/sla.h"

/* ---- Incidents ------------------------------------------------------------------------- */

static char *spans_json(const struct kf_incident *inc)
{
    json_t *a = json_array();
    char *text;

    for (uint32_t i = 0; a && i < inc->n_spans; i++) {
        const struct kf_window *w = &inc->spans[i];
        json_t *span = json_pack("[I, o]", (json_int_t)w->start_ms,
                                 w->end_ms == KF_TIME_NEVER ? json_null()
                                                            : json_integer((json_int_t)w->end_ms));

        if (!span || json_array_append_new(a, span) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

static int spans_parse(const char *text, struct kf_incident *inc)
{
    json_error_t jerr;
    json_t *a = json_loads(text, 0, &jerr), *span;
    size_t i;
    int r = 0;

    if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > KF_INC_SPANS_MAX) {
        json_decref(a);
        return -EINVAL;
    }
    json_array_foreach(a, i, span)
    {
        json_t *b = json_array_get(span, 0), *e = json_array_get(span, 1);

        if (!json_is_integer(b) || !(json_is_integer(e) || json_is_null(e))) {
            r = -EINVAL;
            break;
        }
        inc->spans[i].start_ms = json_integer_value(b);
        inc->spans[i].end_ms = json_is_null(e) ? KF_TIME_NEVER : json_integer_value(e);
    }
    inc->n_spans = (uint32_t)json_array_size(a);
    json_decref(a);
    return r;
}

#define INC_COLS                                                                                   \
    "id, asset_id, cause, periph, sev, state, attr, breached, detail, opened_ms, acked_ms,"        \
    " acked_by, on_site_ms, on_site_by, on_site_since_ms, on_site_total_ms, resolved_ms,"          \
    " resolved_by, closed_ms, closed_by, n_reopened, n_attr_changes, n_notes, spans, forced,"      \
    " assignee"

/* Row -> incident (inc arrives zeroed); -EINVAL when a name or the spans do not parse. */
static int inc_from_row(sqlite3_stmt *s, struct kf_incident *inc)
{
    int v = 0;

    inc->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(inc->terminal, sizeof(inc->terminal), s, 1);
    kf__store_col_copy(inc->cause, sizeof(inc->cause), s, 2);
    if (sqlite3_column_type(s, 3) != SQLITE_NULL &&
        kf_periph_parse(kf__store_col_text(s, 3), &v) < 0)
        return -EINVAL;
    inc->periph = (uint8_t)v;
    v = 0;
    if (sqlite3_column_type(s, 4) != SQLITE_NULL &&
        kf_severity_parse(kf__store_col_text(s, 4), &v) < 0)
        return -EINVAL;
    inc->sev = (uint8_t)v;
    if (kf_incident_state_parse(kf__store_col_text(s, 5), &v) < 0)
        return -EINVAL;
    inc->state = (uint8_t)v;
    if (kf_incident_attr_parse(kf__store_col_text(s, 6), &v) < 0)
        return -EINVAL;
    inc->attr = (uint8_t)v;
    inc->breached = (uint8_t)sqlite3_column_int(s, 7);
    kf__store_col_copy(inc->detail, sizeof(inc->detail), s, 8);
    inc->opened_at_ms = sqlite3_column_int64(s, 9);
    inc->acked_at_ms = sqlite3_column_int64(s, 10);
    kf__store_col_copy(inc->acked_by, sizeof(inc->acked_by), s, 11);
    inc->on_site_at_ms = sqlite3_column_int64(s, 12);
    kf__store_col_copy(inc->on_site_by, sizeof(inc->on_site_by), s, 13);
    inc->on_site_since_ms = sqlite3_column_int64(s, 14);
    inc->on_site_ms = sqlite3_column_int64(s, 15);
    inc->resolved_at_ms = sqlite3_column_int64(s, 16);
    kf__store_col_copy(inc->resolved_by, sizeof(inc->resolved_by), s, 17);
    inc->closed_at_ms = sqlite3_column_int64(s, 18);
    kf__store_col_copy(inc->closed_by, sizeof(inc->closed_by), s, 19);
    inc->n_reopened = (uint32_t)sqlite3_column_int64(s, 20);
    inc->n_attr_changes = (uint32_t)sqlite3_column_int64(s, 21);
    inc->n_notes = (uint32_t)sqlite3_column_int64(s, 22);
    inc->forced = (uint8_t)(sqlite3_column_int(s, 24) != 0);
    kf__store_col_copy(inc->assignee, sizeof(inc->assignee), s, 25);
    return spans_parse(kf__store_col_text(s, 23), inc);
}

static int incident_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    if (inc_from_row(s, row) == 0)
        return 0;
    kf__store_seterr(st, "sla_incidents row %lld is not readable",
                     (long long)sqlite3_column_int64(s, 0));
    return -EINVAL;
}

int kf_store_sla_incidents(struct kf_store *st, int filter, int64_t since_ms, int64_t until_ms,
                           struct kf_incident **ret, size_t *ret_n)
{
    static const char *const where[] = {
        [KF_SLA_INC_ALL] = "",
        [KF_SLA_INC_LIVE] = " WHERE state <> 'closed' OR resolved_ms >= ?1",
        [KF_SLA_INC_PERIOD] = " WHERE start_ms < ?2 AND (end_ms IS NULL OR end_ms >= ?1"
                              " OR resolved_ms >= ?1 OR acked_ms >= ?1)",
    };
    char sql[512];
    sqlite3_stmt *s = NULL;
    int r;

    if (filter < KF_SLA_INC_ALL || filter > KF_SLA_INC_PERIOD)
        return -EINVAL;
    snprintf(sql, sizeof(sql), "SELECT " INC_COLS " FROM sla_incidents%s ORDER BY id",
             where[filter]);
    r = kf__store_prep(st, sql, &s);
    if (r < 0)
        return r;
    if (filter != KF_SLA_INC_ALL)
        sqlite3_bind_int64(s, 1, since_ms);
    if (filter == KF_SLA_INC_PERIOD)
        sqlite3_bind_int64(s, 2, until_ms);
    return kf__store_rows(st, s, sizeof(**ret), incident_fill, "sla incidents", (void **)ret,
                          ret_n);
}

int kf_store_sla_offline_incidents(struct kf_store *st, int64_t since_ms, struct kf_incident **ret,
                                   size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(st,
                       "SELECT " INC_COLS " FROM sla_incidents WHERE cause = 'offline'"
                       " AND (state <> 'closed' OR resolved_ms >= ?1) ORDER BY id",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, since_ms);
    return kf__store_rows(st, s, sizeof(**ret), incident_fill, "offline incidents", (void **)ret,
                          ret_n);
}

int kf_store_sla_incident(struct kf_store *st, int64_t id, struct kf_incident *ret)
{
    struct kf_incident *rows = NULL;
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    int r;

    r = kf__store_prep(st, "SELECT " INC_COLS " FROM sla_incidents WHERE id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    r = kf__store_rows(st, s, sizeof(*rows), incident_fill, "sla incidents", (void **)&rows, &n);
    if (r == 0 && n == 0) {
        kf__store_seterr(st, "no incident %lld", (long long)id);
        r = -ENOENT;
    }
    if (r == 0)
        *ret = rows[0];
    free(rows);
    return r;
}

int kf_store_sla_max_incident(struct kf_store *st, int64_t *ret)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_prep(st, "SELECT coalesce(max(id), 0) FROM sla_incidents", &s);
    if (r < 0)
        return r;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(s, 0);
    else
        r = kf__store_sql_fail(st, rc, "max incident");
    sqlite3_finalize(s);
    return r;
}

static int first_online_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_sla_first_online *f = row;

    (void)st;
    kf__store_col_copy(f->asset_id, sizeof(f->asset_id), s, 0);
    f->at_ms = sqlite3_column_int64(s, 1);
    return 0;
}

int kf_store_sla_first_online(struct kf_store *st, struct kf_sla_first_online **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT asset_id, min(t) FROM ("
                           "SELECT asset_id, min(at_ms) AS t FROM sla_facts"
                           " WHERE kind = 'presence' AND value = 1 GROUP BY asset_id"
                           " UNION ALL SELECT d.asset_id, (SELECT min(r.effective_ms) FROM"
                           " records r WHERE r.envelope_id = (SELECT e.id FROM envelopes e"
                           " WHERE e.device_id = d.device_id ORDER BY e.seq_first LIMIT 1))"
                           " FROM devices d) GROUP BY asset_id HAVING min(t) IS NOT NULL"
                           " ORDER BY asset_id",
                           &s);

    if (r < 0)
        return r;
    return kf__store_rows(st, s, sizeof(**ret), first_online_fill, "first reports", (void **)ret,
                          ret_n);
}

/* A name we do not know reads as 0 (none): an event row is always readable. */
static int event_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_sla_event_row *er = row;
    struct kf_inc_event *ev = &er->ev;
    int v;

    (void)st;
    er->id = sqlite3_column_int64(s, 0);
    er->action = sqlite3_column_int64(s, 15);
    er->recorded_ms = sqlite3_column_int64(s, 16);
    ev->incident = sqlite3_column_int64(s, 1);
    ev->at_ms = sqlite3_column_int64(s, 3);
    ev->start_ms = sqlite3_column_int64(s, 4);
    ev->flags = (uint8_t)sqlite3_column_int(s, 8);
    v = 0;
    if (kf_incident_ev_parse(kf__store_col_text(s, 2), &v) == 0)
        ev->kind = (uint8_t)v;
    v = 0;
    if (kf_incident_clock_parse(kf__store_col_text(s, 5), &v) == 0)
        ev->clock = (uint8_t)v;
    v = 0;
    if (kf_incident_attr_parse(kf__store_col_text(s, 6), &v) == 0)
        ev->from = (uint8_t)v;
    v = 0;
    if (kf_incident_attr_parse(kf__store_col_text(s, 7), &v) == 0)
        ev->to = (uint8_t)v;
    v = 0;
    if (kf_periph_parse(kf__store_col_text(s, 9), &v) == 0)
        ev->periph = (uint8_t)v;
    v = 0;
    if (kf_severity_parse(kf__store_col_text(s, 10), &v) == 0)
        ev->sev = (uint8_t)v;
    kf__store_col_copy(ev->terminal, sizeof(ev->terminal), s, 11);
    kf__store_col_copy(ev->cause, sizeof(ev->cause), s, 12);
    kf__store_col_copy(ev->who, sizeof(ev->who), s, 13);
    kf__store_col_copy(ev->text, sizeof(ev->text), s, 14);
    kf__store_col_copy(ev->assignee, sizeof(ev->assignee), s, 17);
    return 0;
}

int kf_store_sla_events(struct kf_store *st, int64_t incident, struct kf_sla_event_row **ret,
                        size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(
        st,
        "SELECT id, incident, kind, at_ms, start_ms, clock, from_attr, to_attr, flags,"
        " periph, sev, terminal, cause, who, text, action, recorded_ms, assignee"
        " FROM sla_events WHERE incident = ?1 ORDER BY id",
        &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, incident);
    return kf__store_rows(st, s, sizeof(**ret), event_fill, "sla events", (void **)ret, ret_n);
}

int kf_store_sla_incidents_at(struct kf_store *st, int64_t cut_ms, int64_t since_ms,
                              int64_t until_ms, struct kf_incident **ret, size_t *ret_n)
{
    struct kf_sla_event_row *evs = NULL;
    struct kf_incident *out = NULL;
    sqlite3_stmt *s = NULL;
    size_t n_evs = 0, n = 0;
    int r;

    /* The period's filter on today's rows is a superset: spans only grow with later facts. */
    r = kf__store_prep(
        st,
        "SELECT e.id, e.incident, e.kind, e.at_ms, e.start_ms, e.clock, e.from_attr,"
        " e.to_attr, e.flags, e.periph, e.sev, e.terminal, e.cause, e.who, e.text, e.action,"
        " e.recorded_ms, e.assignee FROM sla_events e JOIN sla_incidents i ON i.id = e.incident"
        " WHERE e.recorded_ms <= ?3 AND i.start_ms < ?2 AND (i.end_ms IS NULL OR"
        " i.end_ms >= ?1 OR i.resolved_ms >= ?1 OR i.acked_ms >= ?1)"
        " ORDER BY e.incident, e.id",
        &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, since_ms);
    sqlite3_bind_int64(s, 2, until_ms);
    sqlite3_bind_int64(s, 3, cut_ms);
    r = kf__store_rows(st, s, sizeof(*evs), event_fill, "sla events", (void **)&evs, &n_evs);
    if (r == 0 && (out = calloc(n_evs + 1, sizeof(*out))) == NULL)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n_evs; i++) {
        if (i == 0 || evs[i].ev.incident != evs[i - 1].ev.incident)
            memset(&out[n++], 0, sizeof(*out));
        if (kf_incident_apply(&out[n - 1], &evs[i].ev) < 0) {
            kf__store_seterr(st, "sla_events %lld does not apply to incident %lld",
                             (long long)evs[i].id, (long long)evs[i].ev.incident);
            r = -EINVAL;
        }
    }
    free(evs);
    if (r < 0) {
        free(out);
        return r;
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

/* ---- Terminal state as JSON ---------------------------------------------------------------- */

char *kf_store_sla_devstate_to_json(const struct kf_devstate *st)
{
    json_t *o, *ps = json_array(), *fs = json_array();
    char *text = NULL;

    for (int p = 0; ps && p <= KF_PERIPH_COUNT_; p++)
        json_array_append_new(ps, json_integer((json_int_t)st->periph_since_ms[p]));
    for (uint32_t i = 0; fs && i < st->n_faults && i < KF_OPEN_FAULTS_MAX; i++) {
        const struct kf_open_fault *f = &st->faults[i];

        json_array_append_new(fs, json_pack("{s:s, s:i, s:i, s:I}", "code", f->code, "periph",
                                            (int)f->periph, "sev", (int)f->sev, "since",
                                            (json_int_t)f->since_ms));
    }
    if (!ps || !fs) {
        json_decref(ps);
        json_decref(fs);
        return NULL;
    }
    o = json_pack("{s:I, s:i, s:i, s:I, s:i, s:I, s:s, s:I, s:o, s:o, s:I}", "at",
                  (json_int_t)st->at_ms, "online", (int)st->online, "src", (int)st->src, "since",
                  (json_int_t)st->presence_since_ms, "maint", (int)st->maint, "maint_since",
                  (json_int_t)st->maint_since_ms, "maint_who", st->maint_who, "unusable",
                  (json_int_t)st->unusable, "periph_since", ps, "faults", fs, "dropped",
                  (json_int_t)st->faults_dropped);
    if (o)
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

int kf_store_sla_devstate_from_json(const char *text, struct kf_devstate *ret)
{
    struct kf_devstate st;
    json_error_t jerr;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr), *ps = NULL, *fs = NULL, *v;
    json_int_t at, since, msince, unusable, dropped;
    int online, src, maint;
    const char *who;
    size_t i;
    int r = -EINVAL;

    kf_devstate_init(&st);
    if (json_unpack(o, "{s:I, s:i, s:i, s:I, s:i, s:I, s:s, s:I, s:o, s:o, s:I}", "at", &at,
                    "online", &online, "src", &src, "since", &since, "maint", &maint, "maint_since",
                    &msince, "maint_who", &who, "unusable", &unusable, "periph_since", &ps,
                    "faults", &fs, "dropped", &dropped) != 0 ||
        !json_is_array(ps) || json_array_size(ps) != KF_PERIPH_COUNT_ + 1 || !json_is_array(fs) ||
        json_array_size(fs) > KF_OPEN_FAULTS_MAX || strlen(who) > KF_WHO_MAX)
        goto out;
    st.at_ms = at;
    st.online = (uint8_t)(online != 0);
    st.src = (uint8_t)src;
    st.presence_since_ms = since;
    st.maint = (uint8_t)(maint != 0);
    st.maint_since_ms = msince;
    snprintf(st.maint_who, sizeof(st.maint_who), "%s", who);
    st.unusable = (uint32_t)unusable;
    st.faults_dropped = (uint32_t)dropped;
    json_array_foreach(ps, i, v) st.periph_since_ms[i] = json_integer_value(v);
    json_array_foreach(fs, i, v)
    {
        const char *code;
        int periph, sev;
        json_int_t fsince;

        if (json_unpack(v, "{s:s, s:i, s:i, s:I}", "code", &code, "periph", &periph, "sev", &sev,
                        "since", &fsince) != 0 ||
            strlen(code) > KF_FAULT_CODE_MAX)
            goto out;
        snprintf(st.faults[i].code, sizeof(st.faults[i].code), "%s", code);
        st.faults[i].periph = (uint8_t)periph;
        st.faults[i].sev = (uint8_t)sev;
        st.faults[i].since_ms = fsince;
        st.n_faults++;
    }
    *ret = st;
    r = 0;
out:
    json_decref(o);
    return r;
}

static int state_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_sla_state_row *sr = row;

    kf__store_col_copy(sr->asset_id, sizeof(sr->asset_id), s, 0);
    kf__store_col_copy(sr->device_id, sizeof(sr->device_id), s, 1);
    if (kf_store_sla_devstate_from_json(kf__store_col_text(s, 2), &sr->st) < 0) {
        kf__store_seterr(st, "sla_terminal_state of %s is not readable", sr->asset_id);
        return -EINVAL;
    }
    return 0;
}

int kf_store_sla_states(struct kf_store *st, struct kf_sla_state_row **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(
        st, "SELECT asset_id, device_id, state FROM sla_terminal_state ORDER BY asset_id", &s);
    if (r < 0)
        return r;
    return kf__store_rows(st, s, sizeof(**ret), state_fill, "sla states", (void **)ret, ret_n);
}

static int id_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

int kf_store_sla_states_in(struct kf_store *st, const char *const *ids, size_t n,
                           struct kf_sla_state_row **ret, size_t *ret_n)
{
    struct kf_sla_state_row *rows = NULL;
    sqlite3_stmt *s = NULL;
    size_t k = 0;
    int r, rc;

    *ret = NULL;
    *ret_n = 0;
    if (n == 0)
        return 0;
    rows = calloc(n, sizeof(*rows));
    if (rows == NULL)
        return -ENOMEM;
    r = kf__store_prep(st,
                       "SELECT asset_id, device_id, state FROM sla_terminal_state"
                       " WHERE asset_id BETWEEN ?1 AND ?2 ORDER BY asset_id",
                       &s);
    if (r < 0) {
        free(rows);
        return r;
    }
    sqlite3_bind_text(s, 1, ids[0], -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, ids[n - 1], -1, SQLITE_TRANSIENT);
    /* Only the rows asked for are parsed: the others in the range are stepped over. */
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = kf__store_col_text(s, 0);

        if (k == n || !bsearch(id, ids, n, sizeof(*ids), id_cmp))
            continue;
        r = state_fill(st, s, &rows[k]);
        if (r < 0)
            break;
        k++;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "sla states");
    sqlite3_finalize(s);
    if (r < 0) {
        free(rows);
        return r;
    }
    *ret = rows;
    *ret_n = k;
    return 0;
}

int kf_store_sla_state_of(struct kf_store *st, const char *asset_id, struct kf_sla_state_row **ret,
                          size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    r = kf__store_prep(
        st, "SELECT asset_id, device_id, state FROM sla_terminal_state WHERE asset_id = ?1", &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, asset_id, -1, SQLITE_TRANSIENT);
    return kf__store_rows(st, s, sizeof(**ret), state_fill, "sla state", (void **)ret, ret_n);
}

static int zone_count_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_sla_zone_count *zc = row;

    (void)st;
    kf__store_col_copy(zc->zone_id, sizeof(zc->zone_id), s, 0);
    zc->terminals = sqlite3_column_int64(s, 1);
    zc->in_service = sqlite3_column_int64(s, 2);
    return 0;
}

int kf_store_sla_zone_counts(struct kf_store *st, uint32_t down_mask,
                             struct kf_sla_zone_count **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r;

    /* The assets and zones of kf_store_sla_terminals (its join), each with its state row if
     * the engine wrote one: a terminal without one is not in service (status unknown). */
    r = kf__store_prep(st,
                       "SELECT a.zone_id, count(*), coalesce(sum(s.online != 0 AND s.maint = 0"
                       " AND (s.crit & ?1) = 0), 0)"
                       " FROM assets a JOIN zones z ON z.id = a.zone_id"
                       " LEFT JOIN sla_terminal_state s ON s.asset_id = a.asset_id"
                       " GROUP BY a.zone_id ORDER BY a.zone_id",
                       &s);
    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, down_mask);
    return kf__store_rows(st, s, sizeof(**ret), zone_count_fill, "sla zone counts", (void **)ret,
                          ret_n);
}

/* ---- Persisting one engine run ------------------------------------------------------------ */

static int put_incident(struct kf_store *st, sqlite3_stmt *s, const struct kf_incident *inc,
                        int64_t now_ms)
{
    const struct kf_window *last = &inc->spans[inc->n_spans ? inc->n_spans - 1 : 0];
    char *spans;
    int r;

    if (inc->n_spans == 0 || inc->n_spans > KF_INC_SPANS_MAX)
        return -EINVAL;
    spans = spans_json(inc);
    if (!spans)
        return -ENOMEM;
    sqlite3_bind_int64(s, 1, inc->id);
    sqlite3_bind_text(s, 2, inc->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, inc->cause, -1, SQLITE_STATIC);
    kf__store_bind_opt_text(s, 4, inc->periph ? kf_periph_name(inc->periph) : NULL);
    kf__store_bind_opt_text(s, 5, inc->sev ? kf_severity_name(inc->sev) : NULL);
    sqlite3_bind_text(s, 6, kf_incident_state_name(inc->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, kf_incident_attr_name(inc->attr), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, inc->breached);
    sqlite3_bind_text(s, 9, inc->detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 10, inc->opened_at_ms);
    kf__store_bind_opt_ms(s, 11, inc->acked_at_ms);
    kf__store_bind_opt_text(s, 12, inc->acked_by);
    kf__store_bind_opt_ms(s, 13, inc->on_site_at_ms);
    kf__store_bind_opt_text(s, 14, inc->on_site_by);
    kf__store_bind_opt_ms(s, 15, inc->on_site_since_ms);
    sqlite3_bind_int64(s, 16, inc->on_site_ms);
    kf__store_bind_opt_ms(s, 17, inc->resolved_at_ms);
    kf__store_bind_opt_text(s, 18, inc->resolved_by);
    kf__store_bind_opt_ms(s, 19, inc->closed_at_ms);
    kf__store_bind_opt_text(s, 20, inc->closed_by);
    sqlite3_bind_int64(s, 21, inc->n_reopened);
    sqlite3_bind_int64(s, 22, inc->n_attr_changes);
    sqlite3_bind_int64(s, 23, inc->n_notes);
    sqlite3_bind_int64(s, 24, inc->spans[0].start_ms);
    if (last->end_ms == KF_TIME_NEVER)
        sqlite3_bind_null(s, 25);
    else
        sqlite3_bind_int64(s, 25, last->end_ms);
    sqlite3_bind_text(s, 26, spans, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 27, now_ms);
    sqlite3_bind_int(s, 28, inc->forced);
    kf__store_bind_opt_text(s, 29, inc->assignee);
    r = kf__store_stmt_run(st, s, "sla incident");
    free(spans);
    return r;
}

static const char *clock_name_or_null(int c)
{
    return c ? kf_incident_clock_name(c) : NULL;
}

static int put_event(struct kf_store *st, sqlite3_stmt *s, const struct kf_sla_persist_event *pe,
                     int64_t now_ms, int64_t *ret_id)
{
    const struct kf_inc_event *ev = &pe->ev;
    int r;

    sqlite3_bind_int64(s, 1, ev->incident);
    sqlite3_bind_text(s, 2, kf_incident_ev_name(ev->kind), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, ev->at_ms);
    kf__store_bind_opt_ms(s, 4, ev->start_ms);
    kf__store_bind_opt_text(s, 5, clock_name_or_null(ev->clock));
    kf__store_bind_opt_text(s, 6, ev->from ? kf_incident_attr_name(ev->from) : NULL);
    kf__store_bind_opt_text(s, 7, ev->to ? kf_incident_attr_name(ev->to) : NULL);
    sqlite3_bind_int(s, 8, ev->flags);
    kf__store_bind_opt_text(s, 9, ev->periph ? kf_periph_name(ev->periph) : NULL);
    kf__store_bind_opt_text(s, 10, ev->sev ? kf_severity_name(ev->sev) : NULL);
    kf__store_bind_opt_text(s, 11, ev->terminal);
    kf__store_bind_opt_text(s, 12, ev->cause);
    sqlite3_bind_text(s, 13, ev->who, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 14, ev->text, -1, SQLITE_STATIC);
    kf__store_bind_opt_ms(s, 15, pe->action);
    sqlite3_bind_int64(s, 16, now_ms);
    kf__store_bind_opt_text(s, 17, ev->kind == KF_EV_ASSIGN ? ev->assignee : NULL);
    r = kf__store_stmt_run(st, s, "sla event");
    if (r == 0)
        *ret_id = sqlite3_last_insert_rowid(kf__store_db(st));
    return r;
}

static const char *const action_status_names[] = {"pending", "done", "refused"};

enum { PS_INC, PS_EVENT, PS_NOTICE, PS_STATE, PS_CURSOR, PS_ACTION, PS_COUNT };

static const char *const persist_sql[PS_COUNT] = {
    /* An upsert, not INSERT OR REPLACE: a replace deletes the row its events refer to. */
    [PS_INC] = "INSERT INTO sla_incidents(" INC_COLS ", start_ms, end_ms, updated_ms)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
               " ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?26, ?28, ?29, ?24, ?25, ?27)"
               " ON CONFLICT(id) DO UPDATE SET periph = excluded.periph, sev = excluded.sev,"
               " state = excluded.state, attr = excluded.attr, breached = excluded.breached,"
               " detail = excluded.detail, opened_ms = excluded.opened_ms,"
               " acked_ms = excluded.acked_ms, acked_by = excluded.acked_by,"
               " on_site_ms = excluded.on_site_ms, on_site_by = excluded.on_site_by,"
               " on_site_since_ms = excluded.on_site_since_ms,"
               " on_site_total_ms = excluded.on_site_total_ms, resolved_ms = excluded.resolved_ms,"
               " resolved_by = excluded.resolved_by, closed_ms = excluded.closed_ms,"
               " closed_by = excluded.closed_by, n_reopened = excluded.n_reopened,"
               " n_attr_changes = excluded.n_attr_changes, n_notes = excluded.n_notes,"
               " spans = excluded.spans, forced = excluded.forced, assignee = excluded.assignee,"
               " start_ms = excluded.start_ms, end_ms = excluded.end_ms,"
               " updated_ms = excluded.updated_ms",
    [PS_EVENT] = "INSERT INTO sla_events(incident, kind, at_ms, start_ms, clock, from_attr,"
                 " to_attr, flags, periph, sev, terminal, cause, who, text, action, recorded_ms,"
                 " assignee) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                 " ?15, ?16, ?17)",
    [PS_NOTICE] = "INSERT INTO sla_notices(event_id, kind, payload, created_ms)"
                  " VALUES (?1, ?2, ?3, ?4)",
    [PS_STATE] = "INSERT OR REPLACE INTO sla_terminal_state(asset_id, device_id, at_ms, state,"
                 " online, maint, unusable, crit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [PS_CURSOR] = "UPDATE sla_cursor SET fact_id = ?1, tick_ms = ?2, updated_ms = ?3"
                  " WHERE one = 1",
    [PS_ACTION] = "UPDATE sla_actions SET status = ?2, result = ?3, applied_ms = ?4, at_ms = ?5"
                  " WHERE id = ?1 AND status = 'pending'",
};

static int persist_body(struct kf_store *st, sqlite3_stmt **s, const struct kf_sla_persist *p,
                        int64_t now_ms)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < p->n_incidents; i++)
        r = put_incident(st, s[PS_INC], &p->incidents[i], now_ms);
    for (size_t i = 0; r == 0 && i < p->n_events; i++) {
        const struct kf_sla_persist_event *pe = &p->events[i];
        int64_t id = 0;

        r = put_event(st, s[PS_EVENT], pe, now_ms, &id);
        if (r < 0 || !pe->notice)
            continue;
        sqlite3_bind_int64(s[PS_NOTICE], 1, id);
        sqlite3_bind_text(s[PS_NOTICE], 2, pe->nkind ? pe->nkind : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s[PS_NOTICE], 3, pe->notice, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s[PS_NOTICE], 4, now_ms);
        r = kf__store_stmt_run(st, s[PS_NOTICE], "sla notice");
    }
    for (size_t i = 0; r == 0 && i < p->n_states; i++) {
        const struct kf_sla_state_row *sr = &p->states[i];
        char *json = kf_store_sla_devstate_to_json(&sr->st);
        struct kf_seg seg;

        if (!json)
            return -ENOMEM;
        /* The columns are the state's segment, from the same struct as the JSON: what
         * kf_view_sla_states would derive from the JSON, readable without parsing it. */
        kf_devstate_seg(&sr->st, &seg);
        sqlite3_bind_text(s[PS_STATE], 1, sr->asset_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s[PS_STATE], 2, sr->device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s[PS_STATE], 3, sr->st.at_ms);
        sqlite3_bind_text(s[PS_STATE], 4, json, -1, SQLITE_STATIC);
        sqlite3_bind_int(s[PS_STATE], 5, seg.online != 0);
        sqlite3_bind_int(s[PS_STATE], 6, seg.maint != 0);
        sqlite3_bind_int64(s[PS_STATE], 7, seg.unusable);
        sqlite3_bind_int64(s[PS_STATE], 8, seg.crit);
        r = kf__store_stmt_run(st, s[PS_STATE], "sla state");
        free(json);
    }
    for (size_t i = 0; r == 0 && i < p->n_actions; i++) {
        const struct kf_sla_action *a = &p->actions[i];

        sqlite3_bind_int64(s[PS_ACTION], 1, a->id);
        sqlite3_bind_text(s[PS_ACTION], 2, action_status_names[a->status <= 2 ? a->status : 0], -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(s[PS_ACTION], 3, a->result, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s[PS_ACTION], 4, a->applied_ms);
        kf__store_bind_opt_ms(s[PS_ACTION], 5, a->at_ms);
        r = kf__store_stmt_run(st, s[PS_ACTION], "sla action");
    }
    if (r == 0) {
        sqlite3_bind_int64(s[PS_CURSOR], 1, p->fact_id);
        sqlite3_bind_int64(s[PS_CURSOR], 2, p->tick_ms);
        sqlite3_bind_int64(s[PS_CURSOR], 3, now_ms);
        r = kf__store_stmt_run(st, s[PS_CURSOR], "sla cursor");
    }
    return r;
}

int kf_store_sla_persist(struct kf_store *st, const struct kf_sla_persist *p, int64_t now_ms)
{
    sqlite3_stmt *s[PS_COUNT] = {0};
    int r, own;

    st->errmsg[0] = '\0';
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    for (int i = 0; r == 0 && i < PS_COUNT; i++)
        r = kf__store_prep(st, persist_sql[i], &s[i]);
    if (r == 0)
        r = persist_body(st, s, p, now_ms);
    for (int i = 0; i < PS_COUNT; i++)
        sqlite3_finalize(s[i]);
    if (r == 0 && p->seal != NULL) {
        char subject[48];

        snprintf(subject, sizeof(subject), "facts..%lld", (long long)p->fact_id);
        r = p->server_sk ? kf_store_audit_log_append(st, now_ms, "kioskd", KF_STORE_SLA_SEAL,
                                                     subject, p->seal, p->server_sk)
                         : -EINVAL;
    }
    return kf__store_txn_leave(st, own, r);
}
