/* slasvc.c: kioskd's SLA service (slasvc.h). The store job's thread owns the engine and the
 * "work" half of the struct; the loop owns the "loop" half; a run's announcements and
 * counters cross over in the hook's after callback (uv_queue_work orders the two). */
#define _GNU_SOURCE
#include "kioskd/slasvc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

#include "rules/sla.h"
#include "rules/usage.h"
#include "store/query.h"
#include "store/sla.h"

#define KF__FACTS_BATCH 2000
#define KF__FACTS_PER_RUN 20000 /* a backlog is worked off over several runs */
#define KF__ACTIONS_PER_RUN 200
#define KF__RUN_MIN_US 1000000LL /* after commits, at most one run a second (ticks aside) */
#define KF__WINDOWS_SINCE_MS KF_USAGE_BEHIND_MS /* the oldest instant a fact can carry */

/* A yearly calendar file read into h (kf_holidays_load_string): the rules library reads no
 * files. 0, -ENOENT (cannot read), -EINVAL, -EFBIG (over 64 KiB), -ENOMEM; err names
 * "path:line: what". */
static int holidays_load_file(struct kf_holidays *h, const char *path, char *err, size_t cap)
{
    const size_t max = 64 * 1024;
    char *buf;
    size_t n;
    FILE *f;
    int rc;

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, cap, "%s: cannot open (%s)", path, strerror(errno));
        return -ENOENT;
    }
    buf = malloc(max + 1);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        rc = -ENOENT;
        snprintf(err, cap, "%s: cannot read", path);
    } else if (n > max) {
        rc = -EFBIG;
        snprintf(err, cap, "%s: larger than %zu bytes", path, max);
    } else if (memchr(buf, '\0', n) != NULL) {
        rc = -EINVAL;
        snprintf(err, cap, "%s: contains a NUL byte", path);
    } else {
        buf[n] = '\0';
        rc = kf_holidays_load_string(h, buf, path, err, cap);
    }
    fclose(f);
    free(buf);
    return rc;
}

struct kf__notice {
    struct kf__notice *next;
    int breach;
    char *log;  /* one line */
    char *json; /* the payload published and posted */
};

struct kf__ev {
    struct kf_inc_event ev;
    int64_t action;
    struct kf__notice *notice;
};

struct kf__wstats {
    uint64_t runs, facts, facts_skipped, actions_done, actions_refused, events, notices;
    uint64_t persist_failures, rebuilds;
};

struct kf_slasvc {
    /* fixed after _new */
    int64_t grace_ms, reopen_ms;
    char *topic;
    struct kf_link *link;
    struct kf_webhook *webhook;
    struct kf_holidays *hol;

    /* work half: the store job's thread */
    struct kf_sla_engine *e;
    struct kf_sla_terminal *terms; /* sorted by asset id */
    size_t n_terms, cap_terms;
    struct kf_sla_window_row *wins;
    size_t n_wins;
    int64_t fact_id, tick_ms, windows_rev;
    uint64_t facts_seen;
    int64_t last_run_us;
    int broken, more;
    int64_t cur_action;
    struct kf__ev *evs; /* this run's events, in order */
    size_t n_evs, cap_evs;
    struct kf_incident *snaps; /* the incident after each event */
    size_t n_snaps, cap_snaps;
    char (*dirty)[KF_TERMINAL_ID_MAX + 1]; /* terminals fed a fact this run */
    size_t n_dirty, cap_dirty;
    struct kf__notice *out; /* handed to the loop */
    char out_err[320];
    struct kf__wstats w;

    /* loop half */
    struct kf__wstats l;
    uint64_t mqtt_sent, mqtt_failed, webhook_refused;
};

static int kf__grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, ncap * elem);

    if (p == NULL)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static void kf__notices_free(struct kf__notice *n)
{
    while (n != NULL) {
        struct kf__notice *next = n->next;
        free(n->log);
        free(n->json);
        free(n);
        n = next;
    }
}

/* ---- Terminals --------------------------------------------------------------------------- */

static int kf__term_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_sla_terminal *)a)->asset_id,
                  ((const struct kf_sla_terminal *)b)->asset_id);
}

static struct kf_sla_terminal *kf__term(struct kf_slasvc *s, const char *asset)
{
    struct kf_sla_terminal key;

    if (s->n_terms == 0) {
        return NULL; /* bsearch's base must not be NULL, even for zero elements */
    }
    snprintf(key.asset_id, sizeof(key.asset_id), "%s", asset);
    return bsearch(&key, s->terms, s->n_terms, sizeof(key), kf__term_cmp);
}

/* Give the engine a terminal's calendar, terms and windows. */
static int kf__term_apply(struct kf_slasvc *s, const struct kf_sla_terminal *t)
{
    struct kf_window w[KF_SLA_WINDOWS_MAX];
    size_t n = kf_sla_windows_for(s->wins, s->n_wins, t, w, KF_SLA_WINDOWS_MAX);
    int r = kf_sla_terminal_set(s->e, t->asset_id, &t->week, &t->terms);

    if (r == 0)
        r = kf_sla_windows_set(s->e, t->asset_id, w,
                               n < KF_SLA_WINDOWS_MAX ? n : KF_SLA_WINDOWS_MAX);
    return r;
}

/* A terminal registered after the engine was built: load it from the store. */
static struct kf_sla_terminal *kf__term_load(struct kf_slasvc *s, struct kf_store *st,
                                             const char *asset)
{
    struct kf_sla_terminal *t = kf__term(s, asset), *rows = NULL;
    size_t n = 0;

    if (t != NULL)
        return t;
    if (kf_store_sla_terminals(st, asset, &rows, &n) < 0 || n != 1 ||
        kf__grow((void **)&s->terms, &s->cap_terms, s->n_terms, sizeof(*s->terms)) < 0 ||
        kf__term_apply(s, &rows[0]) < 0) {
        free(rows);
        return NULL;
    }
    s->terms[s->n_terms++] = rows[0];
    free(rows);
    qsort(s->terms, s->n_terms, sizeof(*s->terms), kf__term_cmp);
    return kf__term(s, asset);
}

static int kf__windows_load(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms)
{
    free(s->wins);
    s->wins = NULL;
    s->n_wins = 0;
    return kf_store_sla_windows(st, now_ms - KF__WINDOWS_SINCE_MS, &s->wins, &s->n_wins);
}

/* ---- Engine events ------------------------------------------------------------------------ */

static void kf__on_event(void *ud, const struct kf_inc_event *ev, const struct kf_incident *inc)
{
    struct kf_slasvc *s = ud;

    /* On allocation failure the run cannot be persisted faithfully: rebuild instead. */
    if (kf__grow((void **)&s->evs, &s->cap_evs, s->n_evs, sizeof(*s->evs)) < 0 ||
        kf__grow((void **)&s->snaps, &s->cap_snaps, s->n_snaps, sizeof(*s->snaps)) < 0) {
        s->broken = 1;
        return;
    }
    memset(&s->evs[s->n_evs], 0, sizeof(s->evs[0]));
    s->evs[s->n_evs].ev = *ev;
    s->evs[s->n_evs].action = s->cur_action;
    s->n_evs++;
    s->snaps[s->n_snaps++] = *inc;
}

/* ---- Loading: calendars, then the engine from the store ----------------------------------- */

static int kf__calendars(struct kf_slasvc *s, struct kf_store *st, const char *dir, int64_t now_ms,
                         char *err, size_t cap)
{
    char why[128];
    int r;

    s->hol = kf_holidays_new();
    if (s->hol == NULL)
        return -ENOMEM;
    if (dir != NULL && dir[0] != '\0') {
        r = kf_store_sla_calendar_dir(st, s->hol, dir, now_ms, err, cap);
        if (r < 0)
            return r;
    }
    r = kf_store_sla_calendars_load(st, s->hol, err, cap);
    if (r < 0)
        return r;
    if (kf_holidays_require(s->hol, now_ms, now_ms + 1, why, sizeof(why)) < 0) {
        /* Ingest must not stop on New Year's Day because this year's file is not installed
         * yet (or not published): say so loudly; reports for the year refuse until it is. */
        if (dir != NULL && dir[0] != '\0') {
            kf_err("sla.calendar_dir %s: %s: add cn-YYYY.ini for this year (docs/SLA.md 2.2); "
                   "until then holidays and make-up days are not applied and monthly reports "
                   "refuse this year",
                   dir, why);
            return 0;
        }
        kf_warn("sla: NO HOLIDAY CALENDAR for this year (%s; no [sla] calendar_dir): public "
                "holidays and make-up working days are not applied, every day keeps its "
                "weekday hours, and monthly reports refuse this year",
                why);
    } else if (kf_holidays_require(s->hol, now_ms, now_ms + 31LL * 86400 * 1000, why, sizeof(why)) <
               0) {
        kf_warn("sla: %s yet: add next year's file to the calendar directory before New Year", why);
    }
    return 0;
}

static int kf__is_ini(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".ini") == 0;
}

int kf_slasvc_check_calendars(const char *dir, int64_t now_ms, char *err, size_t cap)
{
    struct kf_holidays *h = kf_holidays_new();
    struct dirent **names = NULL;
    char why[128];
    int n, r = 0;

    if (h == NULL)
        return -ENOMEM;
    n = scandir(dir, &names, kf__is_ini, alphasort);
    if (n < 0) {
        snprintf(err, cap, "sla.calendar_dir %s: %s", dir, strerror(errno));
        kf_holidays_free(h);
        return -ENOENT;
    }
    for (int i = 0; i < n; i++) {
        char path[1024];

        if (r == 0 &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < sizeof(path))
            r = holidays_load_file(h, path, err, cap);
        free(names[i]);
    }
    free(names);
    if (r == 0 && kf_holidays_require(h, now_ms, now_ms + 1, why, sizeof(why)) < 0) {
        snprintf(err, cap, "sla.calendar_dir %s: %s", dir, why);
        r = 1; /* the files are fine; this year's is missing */
    }
    kf_holidays_free(h);
    return r;
}

/* (Re)build the engine from the store. Work thread, or the main thread before it exists. */
static int kf__load(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms, char *err, size_t cap)
{
    struct kf_sla_config cfg;
    struct kf_sla_cursor cur;
    struct kf_incident *incs = NULL;
    struct kf_sla_state_row *states = NULL;
    size_t n_incs = 0, n_states = 0;
    int64_t max_id = 0;
    int r;

    kf_sla_free(s->e);
    s->e = NULL;
    free(s->terms);
    s->terms = NULL;
    s->n_terms = s->cap_terms = 0;
    kf_sla_config_defaults(&cfg);
    cfg.offline_grace_ms = s->grace_ms;
    cfg.reopen_window_ms = s->reopen_ms;
    r = kf_store_sla_cursor(st, &cur);
    if (r == 0)
        r = kf_store_sla_max_incident(st, &max_id);
    if (r == 0)
        r = kf__windows_load(s, st, now_ms);
    if (r == 0)
        r = kf_store_sla_terminals(st, NULL, &s->terms, &s->n_terms);
    s->cap_terms = s->n_terms;
    if (r == 0) {
        cfg.next_id = max_id + 1;
        r = kf_sla_new(&cfg, s->hol, kf__on_event, s, &s->e);
    }
    for (size_t i = 0; r == 0 && i < s->n_terms; i++)
        r = kf__term_apply(s, &s->terms[i]);
    if (r == 0)
        r = kf_store_sla_incidents(st, KF_SLA_INC_LIVE, now_ms - s->reopen_ms, 0, &incs, &n_incs);
    for (size_t i = 0; r == 0 && i < n_incs; i++)
        if (kf__term(s, incs[i].terminal) != NULL)
            r = kf_sla_restore_incident(s->e, &incs[i]);
    if (r == 0)
        r = kf_store_sla_states(st, &states, &n_states);
    for (size_t i = 0; r == 0 && i < n_states; i++)
        if (kf__term(s, states[i].asset_id) != NULL)
            r = kf_sla_restore_state(s->e, states[i].asset_id, &states[i].st);
    if (r == 0) {
        s->fact_id = cur.fact_id;
        s->tick_ms = cur.tick_ms;
        s->windows_rev = cur.windows_rev;
    } else {
        snprintf(err, cap, "sla: restoring the engine from the store: %s",
                 kf_store_errmsg(st)[0] ? kf_store_errmsg(st) : kf_strerror(r));
        kf_sla_free(s->e);
        s->e = NULL;
    }
    free(incs);
    free(states);
    return r;
}

/* ---- Announcements ----------------------------------------------------------------------- */

static const char *kf__notice_kind(int kind)
{
    switch (kind) {
    case KF_EV_OPEN:
        return "opened";
    case KF_EV_REOPEN:
        return "reopened";
    case KF_EV_RECOVER:
    case KF_EV_RESOLVE:
        return "resolved";
    case KF_EV_BREACH:
        return "breach";
    default:
        return NULL;
    }
}

static struct kf__notice *kf__notice_new(struct kf_slasvc *s, const struct kf_inc_event *ev,
                                         const struct kf_incident *inc)
{
    const char *kind = kf__notice_kind(ev->kind);
    const struct kf_sla_terminal *t = kf__term(s, inc->terminal);
    const char *part = inc->periph ? kf_periph_name(inc->periph) : NULL;
    int64_t since = inc->spans[inc->n_spans ? inc->n_spans - 1 : 0].start_ms;
    char at[40], from[40], line[640];
    struct kf__notice *n;
    json_t *o;

    if (kind == NULL)
        return NULL;
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    kf_ms_format(ev->at_ms, at, sizeof(at));
    kf_ms_format(since, from, sizeof(from));
    o = json_pack("{s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, "
                  "s:s}",
                  "event", kind, "incident", (json_int_t)inc->id, "at", at, "at_ms",
                  (json_int_t)ev->at_ms, "terminal", inc->terminal, "device", t ? t->device_id : "",
                  "zone", t ? t->zone_id : "", "bank", t ? t->bank : "", "kind",
                  t && t->kind == 2 ? "itm" : "kiosk", "cause", inc->cause, "part",
                  part ? json_string(part) : json_null(), "severity",
                  inc->sev ? json_string(kf_severity_name(inc->sev)) : json_null(), "attribution",
                  kf_attr_name(inc->attr), "state", kf_inc_state_name(inc->state), "since", from,
                  "detail", inc->detail);
    if (o != NULL && ev->kind == KF_EV_BREACH)
        json_object_set_new(o, "clock", json_string(kf_clock_name(ev->clock)));
    if (o != NULL && ev->kind == KF_EV_RESOLVE) {
        json_object_set_new(o, "by", json_string(ev->who));
        json_object_set_new(o, "note", json_string(ev->text));
    }
    n->json = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    n->breach = ev->kind == KF_EV_BREACH;
    if (n->breach)
        snprintf(line, sizeof(line),
                 "sla: BREACH: incident %lld %s deadline %s passed: %s (%s, zone %s, %s) %s",
                 (long long)inc->id, kf_clock_name(ev->clock), at, inc->terminal,
                 t ? t->device_id : "-", t ? t->zone_id : "-", t ? t->bank : "-", inc->detail);
    else
        snprintf(line, sizeof(line),
                 "sla: incident %lld %s at %s: %s (%s, zone %s, %s) %s since %s",
                 (long long)inc->id, kind, at, inc->terminal, t ? t->device_id : "-",
                 t ? t->zone_id : "-", t ? t->bank : "-", inc->detail, from);
    n->log = strdup(line);
    if (n->json == NULL || n->log == NULL) {
        kf__notices_free(n);
        return NULL;
    }
    return n;
}

/* ---- One run (work thread) ---------------------------------------------------------------- */

/* Appended once per fact, made unique when the run is persisted (kf__dirty_unique): a storm
 * of connects feeds up to KF__FACTS_PER_RUN facts a run, and a search of the list per fact
 * was quadratic in them (BENCHMARKS.md, "ACKs: a MAC instead of a signature"). */
static void kf__dirty(struct kf_slasvc *s, const char *asset)
{
    if (s->n_dirty > 0 && strcmp(s->dirty[s->n_dirty - 1], asset) == 0)
        return;
    if (kf__grow((void **)&s->dirty, &s->cap_dirty, s->n_dirty, sizeof(*s->dirty)) < 0) {
        s->broken = 1;
        return;
    }
    snprintf(s->dirty[s->n_dirty++], sizeof(s->dirty[0]), "%s", asset);
}

static void kf__refusal(int rc, const struct kf_slasvc *s, const struct kf_sla_action *a, char *buf,
                        size_t cap)
{
    const struct kf_incident *inc = kf_sla_incident(s->e, a->incident);

    switch (rc) {
    case -EPERM:
        snprintf(buf, cap, "refused: not allowed while the incident is %s",
                 inc ? kf_inc_state_name(inc->state) : "closed");
        break;
    case -EALREADY:
        snprintf(buf, cap, "refused: already so (%s)",
                 inc ? kf_inc_state_name(inc->state) : "closed");
        break;
    case -ENOENT:
        snprintf(buf, cap, "refused: incident %lld is closed and past its reopen window",
                 (long long)a->incident);
        break;
    case -EINVAL:
        snprintf(buf, cap, "refused: missing who, text or reason, or not a valid change");
        break;
    default:
        snprintf(buf, cap, "refused: %s", kf_strerror(rc));
    }
}

/* When an action takes effect: when it was queued, but never before what the engine has
 * already announced (its last tick), nor after now. */
static int64_t kf__action_at(const struct kf_slasvc *s, const struct kf_sla_action *a,
                             int64_t now_ms)
{
    int64_t at = a->requested_ms < s->tick_ms ? s->tick_ms : a->requested_ms;

    return at > now_ms ? now_ms : at;
}

static void kf__apply_action(struct kf_slasvc *s, struct kf_sla_action *a, int64_t now_ms)
{
    struct kf_inc_event ev;
    int rc;

    memset(&ev, 0, sizeof(ev));
    ev.kind = a->kind;
    ev.incident = a->incident;
    ev.at_ms = kf__action_at(s, a, now_ms);
    ev.to = a->to;
    memcpy(ev.who, a->who, sizeof(ev.who));
    memcpy(ev.text, a->text, sizeof(ev.text));
    s->cur_action = a->id;
    rc = kf_sla_act(s->e, &ev);
    s->cur_action = 0;
    a->applied_ms = now_ms;
    if (rc == 0) {
        a->status = KF_SLA_ACTION_DONE;
        a->at_ms = ev.at_ms;
        snprintf(a->result, sizeof(a->result), "%s", "done");
        s->w.actions_done++;
    } else {
        a->status = KF_SLA_ACTION_REFUSED;
        kf__refusal(rc, s, a, a->result, sizeof(a->result));
        s->w.actions_refused++;
    }
}

/* Feed the facts committed since the cursor and the queued actions, merged in time order
 * (an action queued while kioskd was down takes effect before the facts that arrived
 * after it). *ret_done: how many of the actions were applied (the rest wait for the next
 * run when this one stopped at KF__FACTS_PER_RUN). */
static int kf__feed(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms,
                    struct kf_sla_action *acts, size_t n_acts, size_t *ret_done)
{
    size_t total = 0, k = 0;

    for (;;) {
        struct kf_sla_fact_row *rows = NULL;
        size_t n = 0;
        int r = kf_store_sla_facts(st, s->fact_id, KF__FACTS_BATCH, &rows, &n);

        if (r < 0)
            return r;
        for (size_t i = 0; i < n; i++) {
            struct kf_sla_terminal *t;

            while (k < n_acts && kf__action_at(s, &acts[k], now_ms) < rows[i].fact.at_ms)
                kf__apply_action(s, &acts[k++], now_ms);
            t = kf__term_load(s, st, rows[i].asset_id);
            s->fact_id = rows[i].id;
            if (t == NULL || kf_sla_fact(s->e, rows[i].asset_id, &rows[i].fact) < 0) {
                s->w.facts_skipped++;
                continue;
            }
            snprintf(t->device_id, sizeof(t->device_id), "%s", rows[i].device_id);
            kf__dirty(s, rows[i].asset_id);
            s->w.facts++;
        }
        free(rows);
        total += n;
        if (n < KF__FACTS_BATCH)
            break;
        if (total >= KF__FACTS_PER_RUN) {
            s->more = 1;
            *ret_done = k;
            return 0;
        }
    }
    while (k < n_acts)
        kf__apply_action(s, &acts[k++], now_ms);
    *ret_done = k;
    return 0;
}

/* A snapshot's incident and its place in the run, to find each incident's last one. */
struct kf__snap_ix {
    int64_t id;
    size_t at;
};

static int kf__snap_cmp(const void *a, const void *b)
{
    const struct kf__snap_ix *x = a, *y = b;

    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (x->at > y->at) - (x->at < y->at);
}

static int kf__dirty_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void kf__dirty_unique(struct kf_slasvc *s)
{
    size_t k = 0;

    if (s->n_dirty < 2)
        return;
    qsort(s->dirty, s->n_dirty, sizeof(s->dirty[0]), kf__dirty_cmp);
    for (size_t i = 1; i < s->n_dirty; i++) {
        if (strcmp(s->dirty[i], s->dirty[k]) != 0 && ++k != i)
            memcpy(s->dirty[k], s->dirty[i], sizeof(s->dirty[0]));
    }
    s->n_dirty = k + 1;
}

/* Persist what the run decided; on success the notices go to the loop. */
static int kf__persist(struct kf_slasvc *s, struct kf_store *st, struct kf_sla_action *acts,
                       size_t n_acts, int64_t tick, int64_t now_ms)
{
    struct kf_sla_persist_event *pev = calloc(s->n_evs + 1, sizeof(*pev));
    struct kf_sla_state_row *states = calloc(s->n_dirty + 1, sizeof(*states));
    struct kf_incident *incs = calloc(s->n_snaps + 1, sizeof(*incs));
    struct kf__snap_ix *ix = calloc(s->n_snaps + 1, sizeof(*ix));
    struct kf__notice *notices = NULL, **tail = &notices;
    struct kf_sla_persist p;
    size_t n_incs = 0, n_states = 0;
    int r = 0;

    if (pev == NULL || states == NULL || incs == NULL || ix == NULL) {
        r = -ENOMEM;
        goto out;
    }
    kf__dirty_unique(s);
    for (size_t i = 0; i < s->n_evs; i++) {
        pev[i].ev = s->evs[i].ev;
        pev[i].action = s->evs[i].action;
        if (kf__notice_kind(pev[i].ev.kind) == NULL)
            continue;
        *tail = kf__notice_new(s, &pev[i].ev, &s->snaps[i]);
        if (*tail == NULL) {
            r = -ENOMEM;
            goto out;
        }
        pev[i].notice = (*tail)->json;
        pev[i].nkind = kf__notice_kind(pev[i].ev.kind);
        tail = &(*tail)->next;
    }
    /* The last snapshot of each incident is its final state; incidents in id order. */
    for (size_t i = 0; i < s->n_snaps; i++) {
        ix[i].id = s->snaps[i].id;
        ix[i].at = i;
    }
    if (s->n_snaps > 1) {
        qsort(ix, s->n_snaps, sizeof(*ix), kf__snap_cmp);
    }
    for (size_t i = 0; i < s->n_snaps; i++) {
        if (i + 1 == s->n_snaps || ix[i + 1].id != ix[i].id)
            incs[n_incs++] = s->snaps[ix[i].at];
    }
    for (size_t i = 0; i < s->n_dirty; i++) {
        const struct kf_devstate *ds = kf_sla_state(s->e, s->dirty[i]);
        const struct kf_sla_terminal *t = kf__term(s, s->dirty[i]);

        if (ds == NULL || t == NULL)
            continue;
        snprintf(states[n_states].asset_id, sizeof(states[0].asset_id), "%s", t->asset_id);
        snprintf(states[n_states].device_id, sizeof(states[0].device_id), "%s", t->device_id);
        states[n_states++].st = *ds;
    }
    memset(&p, 0, sizeof(p));
    p.fact_id = s->fact_id;
    p.tick_ms = tick;
    p.incidents = incs;
    p.n_incidents = n_incs;
    p.events = pev;
    p.n_events = s->n_evs;
    p.states = states;
    p.n_states = n_states;
    p.actions = acts;
    p.n_actions = n_acts;
    r = kf_store_sla_persist(st, &p, now_ms);
    if (r == 0) {
        *tail = s->out;
        s->out = notices;
        notices = NULL;
        s->w.events += s->n_evs;
        for (struct kf__notice *n = s->out; n != NULL; n = n->next)
            s->w.notices++;
    }
out:
    kf__notices_free(notices);
    free(pev);
    free(states);
    free(incs);
    free(ix);
    return r;
}

static void kf__run(struct kf_slasvc *s, struct kf_store *st, int64_t now_ms)
{
    struct kf_sla_action *acts = NULL;
    struct kf_sla_cursor cur;
    size_t n_acts = 0;
    int64_t tick = now_ms > s->tick_ms ? now_ms : s->tick_ms;
    int r;

    s->n_evs = s->n_snaps = s->n_dirty = 0;
    s->w.runs++;
    r = kf_store_sla_cursor(st, &cur);
    if (r == 0 && cur.windows_rev != s->windows_rev) {
        r = kf__windows_load(s, st, now_ms);
        for (size_t i = 0; r == 0 && i < s->n_terms; i++)
            r = kf__term_apply(s, &s->terms[i]);
        s->windows_rev = cur.windows_rev;
    }
    if (r == 0)
        r = kf_store_sla_actions_pending(st, KF__ACTIONS_PER_RUN, &acts, &n_acts);
    if (r == 0)
        r = kf__feed(s, st, now_ms, acts, n_acts, &n_acts);
    if (r == 0 && kf_sla_tick(s->e, tick) < 0)
        r = -ENOSPC;
    if (r == 0 && !s->broken)
        r = kf__persist(s, st, acts, n_acts, tick, now_ms);
    if (r == 0 && !s->broken) {
        s->tick_ms = tick;
    } else {
        /* Memory may be ahead of the store now: rebuild from the store next time. */
        s->broken = 1;
        s->w.persist_failures++;
        snprintf(s->out_err, sizeof(s->out_err),
                 "sla: a run could not be stored (%s); the engine is rebuilt from the store and "
                 "the facts and actions are taken again",
                 kf_store_errmsg(st)[0] ? kf_store_errmsg(st) : kf_strerror(r ? r : -ENOMEM));
    }
    free(acts);
}

static void kf__work(void *ud, struct kf_store *st, int tick)
{
    struct kf_slasvc *s = ud;
    uint64_t written = kf_store_sla_facts_written(st);
    int64_t now = kf_now_ms();

    if (!tick && !s->more && written == s->facts_seen)
        return; /* a commit without a change of state: nothing for the engine */
    /* A storm of connects writes facts in every commit: one run (one more fsync) a second
     * is enough; what is left waits for the next commit or tick. */
    if (!tick && kf_mono_us() - s->last_run_us < KF__RUN_MIN_US)
        return;
    s->last_run_us = kf_mono_us();
    s->facts_seen = written;
    s->more = 0;
    if (s->broken || s->e == NULL) {
        char err[256];

        if (kf__load(s, st, now, err, sizeof(err)) < 0) {
            snprintf(s->out_err, sizeof(s->out_err), "%s", err);
            return;
        }
        s->broken = 0;
        s->w.rebuilds++;
    }
    kf__run(s, st, now);
}

/* ---- The loop's half --------------------------------------------------------------------- */

static void kf__after(void *ud)
{
    struct kf_slasvc *s = ud;
    struct kf__notice *list = s->out;

    s->out = NULL;
    s->l = s->w;
    if (s->out_err[0] != '\0') {
        kf_err("%s", s->out_err);
        s->out_err[0] = '\0';
    }
    for (struct kf__notice *n = list; n != NULL; n = n->next) {
        if (n->breach)
            kf_warn("%s", n->log);
        else
            kf_notice("%s", n->log);
        if (s->topic != NULL) {
            if (kf_link_publish(s->link, s->topic, n->json, strlen(n->json), 1) == 0)
                s->mqtt_sent++;
            else
                s->mqtt_failed++;
        }
        if (s->webhook != NULL && kf_webhook_post(s->webhook, n->json, strlen(n->json)) < 0)
            s->webhook_refused++;
    }
    kf__notices_free(list);
}

json_t *kf_slasvc_stats_json(struct kf_slasvc *s)
{
    struct kf_webhook_counters wc;

    memset(&wc, 0, sizeof(wc));
    if (s->webhook != NULL)
        kf_webhook_counters(s->webhook, &wc);
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "runs",
        (json_int_t)s->l.runs, "facts", (json_int_t)s->l.facts, "facts_skipped",
        (json_int_t)s->l.facts_skipped, "actions_done", (json_int_t)s->l.actions_done,
        "actions_refused", (json_int_t)s->l.actions_refused, "events", (json_int_t)s->l.events,
        "notices", (json_int_t)s->l.notices, "persist_failures", (json_int_t)s->l.persist_failures,
        "mqtt_sent", (json_int_t)s->mqtt_sent, "mqtt_failed", (json_int_t)s->mqtt_failed,
        "webhook_delivered", (json_int_t)wc.delivered, "webhook_given_up", (json_int_t)wc.given_up,
        "webhook_dropped", (json_int_t)(wc.dropped + s->webhook_refused));
}

/* ---- Public ----------------------------------------------------------------------------- */

int kf_slasvc_new(struct kf_store *st, const struct kf_slasvc_opts *o, int64_t now_ms,
                  struct kf_slasvc **ret, char *err, size_t cap)
{
    struct kf_slasvc *s = calloc(1, sizeof(*s));
    int r;

    if (s == NULL)
        return -ENOMEM;
    s->grace_ms = o->grace_ms;
    s->reopen_ms = o->reopen_ms;
    s->link = o->link;
    s->webhook = o->webhook;
    if (o->notify_topic != NULL && o->notify_topic[0] != '\0' &&
        (s->topic = strdup(o->notify_topic)) == NULL) {
        r = -ENOMEM;
        goto out_free;
    }
    r = kf__calendars(s, st, o->calendar_dir, now_ms, err, cap);
    if (r == 0)
        r = kf__load(s, st, now_ms, err, cap);
    if (r < 0)
        goto out_free;
    s->facts_seen = kf_store_sla_facts_written(st);
    s->more = 1; /* the first run catches up with facts committed while kioskd was down */
    {
        char at[40];

        kf_info("sla: %zu terminal(s); facts fed up to #%lld; engine last ticked at %s", s->n_terms,
                (long long)s->fact_id,
                s->tick_ms ? kf_ms_format(s->tick_ms, at, sizeof(at)) : "never");
    }
    *ret = s;
    return 0;

out_free:
    kf_slasvc_free(s);
    return r;
}

void kf_slasvc_hook(struct kf_slasvc *s, struct kf_pipeline_hook *ret)
{
    ret->work = kf__work;
    ret->after = kf__after;
    ret->ud = s;
}

void kf_slasvc_free(struct kf_slasvc *s)
{
    if (s == NULL)
        return;
    kf_sla_free(s->e);
    kf_holidays_free(s->hol);
    kf__notices_free(s->out);
    free(s->terms);
    free(s->wins);
    free(s->evs);
    free(s->snaps);
    free(s->dirty);
    free(s->topic);
    free(s);
}
