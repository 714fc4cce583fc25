/* views/sla_verify.c: incidents recomputed from the sealed runs (sla_verify.h). */
#define _GNU_SOURCE
#include "views/sla_verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/err.h>

#include "rules/replay.h"
#include "store/audit_log.h"
#include "store/sla.h"
#include "views/sla.h"

struct seals {
    char **detail;
    int64_t *seq;
    size_t n, cap;
};

static int seal_collect(const struct kf_audit_entry *e, void *ud)
{
    struct seals *s = ud;

    if (strcmp(e->action, KF_STORE_SLA_SEAL) != 0)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        char **d = realloc(s->detail, cap * sizeof(*d));
        int64_t *q = d ? realloc(s->seq, cap * sizeof(*q)) : NULL;
        if (d != NULL)
            s->detail = d;
        if (q == NULL)
            return -ENOMEM;
        s->seq = q;
        s->cap = cap;
    }
    s->seq[s->n] = e->seq;
    if ((s->detail[s->n] = strdup(e->detail)) == NULL)
        return -ENOMEM;
    s->n++;
    return 0;
}

static void problem(struct kf_view_sla_verify *v, const char *fmt, ...)
{
    va_list ap;

    if (v->first_problem[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(v->first_problem, sizeof(v->first_problem), fmt, ap);
    va_end(ap);
}

static int64_t jint(const json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* The run's windows, as kioskd loaded them, set on every terminal. */
static int set_windows(struct kf_replay *rp, const json_t *arr, const struct kf_sla_terminal *terms,
                       size_t n_terms)
{
    size_t n = json_array_size(arr);
    struct kf_sla_window_row *rows = calloc(n + 1, sizeof(*rows));
    struct kf_window w[KF_SLA_WINDOWS_MAX];
    int r = 0;

    if (rows == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        rows[i].id = jint(o, "id");
        snprintf(rows[i].asset_id, sizeof(rows[i].asset_id), "%s", jstr(o, "asset"));
        snprintf(rows[i].zone_id, sizeof(rows[i].zone_id), "%s", jstr(o, "zone"));
        rows[i].start_ms = jint(o, "start_ms");
        rows[i].end_ms = jint(o, "end_ms");
    }
    for (size_t i = 0; r == 0 && i < n_terms; i++) {
        size_t k = kf_store_sla_windows_for(rows, n, &terms[i], w, KF_SLA_WINDOWS_MAX);
        r = kf_sla_windows_set(kf_replay_engine(rp), terms[i].asset_id, w,
                               k < KF_SLA_WINDOWS_MAX ? k : KF_SLA_WINDOWS_MAX);
    }
    free(rows);
    return r;
}

/* A sealed action against its row; the replay's copy comes from the seal. */
static int seal_action(struct kf_store *st, struct kf_view_sla_verify *v, int64_t seq,
                       const json_t *o, struct kf_replay_action *ra)
{
    struct kf_sla_action row;
    int kind = 0, to = 0, r;

    memset(ra, 0, sizeof(*ra));
    (void)kf_incident_ev_parse(jstr(o, "kind"), &kind);
    (void)kf_incident_attr_parse(json_string_value(json_object_get(o, "to")), &to);
    ra->after = (size_t)jint(o, "after");
    ra->refused = strcmp(jstr(o, "status"), "done") != 0;
    ra->ev.kind = (uint8_t)kind;
    ra->ev.incident = jint(o, "incident");
    ra->ev.at_ms = jint(o, "at_ms");
    ra->ev.to = (uint8_t)to;
    ra->ev.flags = (uint8_t)jint(o, "flags");
    snprintf(ra->ev.who, sizeof(ra->ev.who), "%s", jstr(o, "who"));
    snprintf(ra->ev.text, sizeof(ra->ev.text), "%s", jstr(o, "text"));
    snprintf(ra->ev.assignee, sizeof(ra->ev.assignee), "%s", jstr(o, "assignee"));
    v->actions_checked++;
    r = kf_store_sla_action(st, jint(o, "id"), &row);
    if (r == -ENOENT) {
        v->action_mismatches++;
        problem(v, "action %lld sealed in log entry %lld is gone from sla_actions",
                (long long)jint(o, "id"), (long long)seq);
        return 0;
    }
    if (r < 0)
        return r;
    if (row.kind != ra->ev.kind || row.incident != ra->ev.incident || row.flags != ra->ev.flags ||
        row.at_ms != ra->ev.at_ms || strcmp(row.who, ra->ev.who) != 0 ||
        strcmp(row.text, ra->ev.text) != 0 || (kind == KF_EV_ATTRIBUTE && row.to != ra->ev.to) ||
        strcmp(row.assignee, ra->ev.assignee) != 0 ||
        (row.status == KF_SLA_ACTION_DONE) != !ra->refused) {
        v->action_mismatches++;
        problem(v,
                "action %lld differs from its seal in log entry %lld (kind, incident, "
                "instant, who, text, attribution, assignee or outcome)",
                (long long)row.id, (long long)seq);
    }
    return 0;
}

/* One sealed run: its facts against the digest, its actions against their rows; fed. */
static int one_run(struct kf_store *st, struct kf_view_sla_verify *v, struct kf_replay *rp,
                   struct kf_run_terms *rt, int64_t seq, const json_t *o,
                   const struct kf_sla_terminal *terms, size_t n_terms, json_t **last_windows)
{
    int64_t after = jint(o, "facts_after"), to = jint(o, "facts_to");
    size_t count = (size_t)jint(o, "facts"), n = 0,
           n_acts = json_array_size(json_object_get(o, "actions"));
    struct kf_sla_fact_row *rows = NULL;
    struct kf_replay_fact *facts = NULL;
    struct kf_replay_action *acts = NULL;
    struct kf_run_term *got = NULL;
    size_t n_got = 0, k = 0;
    const json_t *sealed = json_object_get(o, "terminals");
    struct kf_replay_run run;
    size_t mismatch = 0;
    int r = 0, same = 1;

    if (json_is_array(json_object_get(o, "windows"))) {
        json_decref(*last_windows);
        *last_windows = json_incref(json_object_get(o, "windows"));
        r = set_windows(rp, json_object_get(o, "windows"), terms, n_terms);
    }
    if (r == 0 && count > 0)
        r = kf_store_sla_facts(st, after, count, &rows, &n);
    if (r < 0)
        goto out;
    /* Each terminal's facts against its digest in the seal (terminals listed with no fact
     * were decided for by the run: the replay checks those). */
    kf_run_terms_reset(rt);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = kf_run_terms_fact(rt, rows[i].id, rows[i].asset_id, rows[i].device_id, rows[i].recv_ms,
                              &rows[i].fact);
    if (r == 0)
        r = kf_run_terms_take(rt, &got, &n_got);
    if (r < 0)
        goto out;
    for (size_t i = 0; i < json_array_size(sealed); i++) {
        const json_t *e = json_array_get(sealed, i);
        if (json_integer_value(json_array_get(e, 1)) == 0)
            continue;
        if (k == n_got || strcmp(got[k].terminal, json_string_value(json_array_get(e, 0)) ?: "") ||
            (int64_t)got[k].n != json_integer_value(json_array_get(e, 1)) ||
            strcmp(got[k].hex, json_string_value(json_array_get(e, 2)) ?: "") != 0)
            same = 0;
        k++;
    }
    v->facts_sealed += count;
    if (!same || k != n_got || n != count || (n > 0 && rows[n - 1].id != to)) {
        v->fact_mismatches++;
        problem(v,
                "sla_facts %lld..%lld differ from their seal in log entry %lld (a fact "
                "edited, deleted or inserted)",
                (long long)after + 1, (long long)to, (long long)seq);
    }
    facts = calloc(n + 1, sizeof(*facts));
    acts = calloc(n_acts + 1, sizeof(*acts));
    if (facts == NULL || acts == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        facts[i].terminal = rows[i].asset_id;
        facts[i].fact = rows[i].fact;
    }
    for (size_t i = 0; r == 0 && i < n_acts; i++)
        r = seal_action(st, v, seq, json_array_get(json_object_get(o, "actions"), i), &acts[i]);
    if (r < 0)
        goto out;
    run.facts = facts;
    run.n_facts = n;
    run.acts = acts;
    run.n_acts = n_acts;
    run.tick_ms = jint(o, "tick_ms");
    r = kf_replay_run(rp, &run, &mismatch);
    if (mismatch) {
        v->action_mismatches += mismatch;
        problem(v, "an action sealed in log entry %lld has another outcome in the replay",
                (long long)seq);
    }
out:
    free(got);
    free(rows);
    free(facts);
    free(acts);
    return r;
}

/* The planned windows the engine last loaded (its last seal that lists them) against the
 * rows: a window edited or deleted afterwards would change the report and the bills without
 * changing any incident. (Windows entered since are not sealed yet; older ones than the
 * engine loads have left the list legitimately.) */
static int windows_check(struct kf_store *st, struct kf_view_sla_verify *v, const json_t *sealed)
{
    struct kf_sla_window_row *rows = NULL;
    size_t n = 0;
    int r = kf_store_sla_windows(st, 0, &rows, &n);

    if (r < 0)
        return r;
    for (size_t i = 0; i < json_array_size(sealed); i++) {
        const json_t *w = json_array_get(sealed, i);
        int64_t id = jint(w, "id");
        size_t k = 0;

        v->windows_checked++;
        while (k < n && rows[k].id != id)
            k++;
        if (k == n || rows[k].start_ms != jint(w, "start_ms") ||
            rows[k].end_ms != jint(w, "end_ms") || strcmp(rows[k].asset_id, jstr(w, "asset")) ||
            strcmp(rows[k].zone_id, jstr(w, "zone")) || strcmp(rows[k].reason, jstr(w, "reason"))) {
            v->window_mismatches++;
            problem(v, "planned window %lld %s since the engine loaded it", (long long)id,
                    k == n ? "was deleted" : "was changed");
        }
    }
    free(rows);
    return 0;
}

/* Every stored incident and its history against the replay's. */
static int compare(struct kf_store *st, struct kf_view_sla_verify *v, const struct kf_replay *rp)
{
    size_t n_rep, n_st = 0, j = 0;
    const struct kf_replay_incident *rep = kf_replay_incidents(rp, &n_rep);
    struct kf_incident *stored = NULL;
    char what[240];
    int r = kf_store_sla_incidents(st, KF_SLA_INC_ALL, 0, 0, &stored, &n_st);

    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < n_st; i++) {
        struct kf_sla_event_row *evs = NULL;
        size_t n_evs = 0;

        v->incidents_checked++;
        while (j < n_rep && rep[j].inc.id < stored[i].id) {
            v->incident_mismatches++;
            problem(v, "incident %lld follows from the evidence but is not stored",
                    (long long)rep[j].inc.id);
            j++;
        }
        if (j == n_rep || rep[j].inc.id != stored[i].id) {
            v->incident_mismatches++;
            problem(v, "incident %lld is stored but does not follow from the evidence",
                    (long long)stored[i].id);
            continue;
        }
        if (kf_replay_incident_diff(&stored[i], &rep[j].inc, what, sizeof(what))) {
            v->incident_mismatches++;
            problem(v, "incident %lld: %s", (long long)stored[i].id, what);
        }
        r = kf_store_sla_events(st, stored[i].id, &evs, &n_evs);
        if (r == 0 && n_evs != rep[j].n_evs) {
            v->event_mismatches++;
            problem(v, "incident %lld: %zu events stored, %zu from the evidence",
                    (long long)stored[i].id, n_evs, rep[j].n_evs);
        }
        for (size_t k = 0; r == 0 && k < n_evs && k < rep[j].n_evs; k++) {
            if (kf_replay_event_diff(&evs[k].ev, &rep[j].evs[k], what, sizeof(what))) {
                v->event_mismatches++;
                problem(v, "incident %lld, event %zu: %s", (long long)stored[i].id, k + 1, what);
                break;
            }
        }
        free(evs);
        j++;
    }
    for (; j < n_rep; j++) {
        v->incident_mismatches++;
        problem(v, "incident %lld follows from the evidence but is not stored",
                (long long)rep[j].inc.id);
    }
    free(stored);
    return r;
}

int kf_view_sla_verify(struct kf_store *st, struct kf_view_sla_verify *v, char *err, size_t cap)
{
    struct seals seals = {0};
    struct kf_sla_terminal *terms = NULL;
    struct kf_holidays *hol = NULL;
    struct kf_replay *rp = NULL;
    struct kf_run_terms *rt = NULL;
    json_t *last_windows = NULL;
    struct kf_sla_cursor cur;
    struct kf_sla_config cfg;
    int64_t expect = 0;
    int r;

    memset(v, 0, sizeof(*v));
    err[0] = '\0';
    size_t n_terms = 0;
    r = kf_store_audit_log_each(st, seal_collect, &seals);
    if (r == 0)
        r = kf_store_sla_cursor(st, &cur);
    if (r == 0)
        r = kf_store_sla_terminals(st, NULL, &terms, &n_terms);
    if (r == 0)
        r = kf_view_sla_holidays(st, &hol, err, cap);
    if (r == 0)
        r = kf_run_terms_new(&rt);
    if (r < 0)
        goto out;
    v->runs = seals.n;
    v->replayed = 1;
    for (size_t i = 0; r == 0 && i < seals.n; i++) {
        json_t *o = json_loads(seals.detail[i], 0, NULL);

        if (o == NULL || jint(o, "v") != 2) {
            json_decref(o);
            v->fact_mismatches++;
            problem(v, "log entry %lld is not a seal this version reads", (long long)seals.seq[i]);
            v->replayed = 0;
            snprintf(v->note, sizeof(v->note), "an unreadable seal (log entry %lld)",
                     (long long)seals.seq[i]);
            break;
        }
        if (i == 0) {
            kf_sla_config_defaults(&cfg);
            cfg.offline_grace_ms = jint(o, "grace_ms");
            cfg.reopen_window_ms = jint(o, "reopen_ms");
            if (jint(o, "facts_after") != 0) {
                v->replayed = 0;
                snprintf(v->note, sizeof(v->note),
                         "the runs were sealed from fact %lld on (runs before were not sealed): "
                         "the facts are checked, the incidents are not recomputed",
                         (long long)jint(o, "facts_after") + 1);
            }
            expect = jint(o, "facts_after");
            r = kf_replay_new(&cfg, hol, &rp);
            for (size_t t = 0; r == 0 && t < n_terms; t++)
                r = kf_sla_terminal_set(kf_replay_engine(rp), terms[t].asset_id, &terms[t].week,
                                        &terms[t].terms);
        } else if (v->replayed && (jint(o, "grace_ms") != cfg.offline_grace_ms ||
                                   jint(o, "reopen_ms") != cfg.reopen_window_ms)) {
            v->replayed = 0;
            snprintf(v->note, sizeof(v->note),
                     "[sla] grace_s or reopen_window_s changed at log entry %lld: incidents are "
                     "not recomputed across the change",
                     (long long)seals.seq[i]);
        }
        if (r == 0 && jint(o, "facts_after") != expect) {
            v->fact_mismatches++;
            problem(v, "log entry %lld seals facts after %lld, the run before ended at %lld",
                    (long long)seals.seq[i], (long long)jint(o, "facts_after"), (long long)expect);
        }
        if (r == 0)
            r = one_run(st, v, rp, rt, seals.seq[i], o, terms, n_terms, &last_windows);
        expect = jint(o, "facts_to");
        json_decref(o);
    }
    if (r == 0 && seals.n > 0 && cur.fact_id != expect) {
        v->fact_mismatches++;
        problem(v, "the engine's cursor says facts up to %lld were fed, the seals cover up to %lld",
                (long long)cur.fact_id, (long long)expect);
    }
    if (r == 0 && seals.n == 0) {
        v->replayed = 0;
        snprintf(v->note, sizeof(v->note), "no sealed run yet");
    }
    if (r == 0 && v->replayed)
        r = compare(st, v, rp);
    if (r == 0 && last_windows != NULL)
        r = windows_check(st, v, last_windows);
    if (r < 0 && err[0] == '\0')
        snprintf(err, cap, "recomputing incidents: %s",
                 kf_store_errmsg(st)[0] ? kf_store_errmsg(st) : kf_strerror(r));
out:
    json_decref(last_windows);
    kf_run_terms_free(rt);
    kf_replay_free(rp);
    kf_holidays_free(hol);
    free(terms);
    for (size_t i = 0; i < seals.n; i++)
        free(seals.detail[i]);
    free(seals.detail);
    free(seals.seq);
    return r;
}

int kf_view_sla_verify_clean(const struct kf_view_sla_verify *v)
{
    return v->fact_mismatches == 0 && v->action_mismatches == 0 && v->incident_mismatches == 0 &&
           v->event_mismatches == 0 && v->window_mismatches == 0;
}
