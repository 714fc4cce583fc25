/* kioskctl/sla_report.c: kioskctl state [--device ID] (each terminal's state as kioskd's engine
 * last saw it: up, degraded, down or in maintenance, and which part) and kioskctl sla
 * --month YYYY-MM (the monthly report of docs/SLA.md section 7 as a table, CSV or JSON).
 * Both read the store only (views/sla.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "views/sla.h"

/* ---- state ------------------------------------------------------------------------------ */

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

int kf_ctl_state(const struct kf_ctl *c, int argc, char **argv)
{
    static const char *const cols[] = {"terminal", "device",      "zone",      "bank",
                                       "kind",     "status",      "since",     "parts",
                                       "faults",   "maintenance", "items_out", NULL};
    const char *target = NULL;
    struct kf_view_sla_state *v = NULL;
    struct kf_qtable *t;
    struct kf_store *st;
    size_t n = 0;
    char err[256] = "";
    int r;

    if (argc == 3 && strcmp(argv[1], "--device") == 0)
        target = argv[2];
    else if (argc != 1) {
        fprintf(stderr, "kioskctl: state [--device ID]\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_view_sla_states(st, target, &v, &n, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "kioskctl: state: %s\n", err);
        kf_store_free(st);
        return 1;
    }
    /* A title in a table, or when a second table follows; plain CSV/JSON rows otherwise. */
    t = kf_ctl_table_new(target ? "terminal"
                         : c->fmt == KF_FMT_TABLE
                             ? "terminals (as kioskd's SLA engine last saw them)"
                             : NULL,
                         cols, NULL);
    for (size_t i = 0; t && i < n; i++) {
        char since[32], p[160], f[400], m[64], items[32];

        parts(&v[i].st, p, sizeof(p));
        faults(&v[i].st, f, sizeof(f));
        snprintf(m, sizeof(m), "%s", v[i].st.maint ? v[i].st.maint_who : "");
        snprintf(items, sizeof(items), "%zu/%zu", v[i].items_out, v[i].items);
        const char *cells[] = {v[i].term.asset_id,
                               v[i].term.device_id[0] ? v[i].term.device_id : NULL,
                               v[i].term.zone_id,
                               v[i].term.bank,
                               v[i].term.kind == 2 ? "itm" : "kiosk",
                               status_name(&v[i]),
                               kf_ctl_local_time(status_since(&v[i]), since, sizeof(since)),
                               p[0] ? p : NULL,
                               f[0] ? f : NULL,
                               m[0] ? m : NULL,
                               v[i].known ? items : NULL};
        if (kf_ctl_table_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    r = kf_ctl_table_print_free(t, c->fmt);
    if (r == 0 && target != NULL && n == 1 && v[0].known) {
        static const char *const icols[] = {"item_out_of_service", NULL};
        char buf[128][KF_ITEM_CODE_MAX + 1];
        const char *codes[128];
        size_t k = kf_view_sla_items_out(st, &v[0], codes, buf, 128);

        t = kf_ctl_table_new("service items out of service", icols, NULL);
        for (size_t i = 0; t && i < k && i < 128; i++) {
            if (kf_ctl_table_row(t, &codes[i]) < 0) {
                kf_store_query_table_free(t);
                t = NULL;
            }
        }
        if (c->fmt == KF_FMT_TABLE)
            fputc('\n', stdout);
        r = kf_ctl_table_print_free(t, c->fmt);
    }
    free(v);
    kf_store_free(st);
    return r;
}

/* ---- sla --month ------------------------------------------------------------------------- */

static const char *na_or(int64_t v, const char *(*fmt)(int64_t, char *, size_t), char *buf,
                         size_t cap)
{
    return v == KF_REPORT_NA ? "n/a" : fmt(v, buf, cap);
}

static const char *pct(int64_t bp, char *buf, size_t cap)
{
    snprintf(buf, cap, "%lld.%02lld%%", (long long)(bp / 100), (long long)(bp % 100));
    return buf;
}

static const char *hours(int64_t s, char *buf, size_t cap)
{
    return kf_ctl_dur(s, buf, cap);
}

static int print_report_table(const struct kf_report *r, int scope, int64_t as_of)
{
    static const char *const cols[] = {
        "key",      "bank",      "zone",     "terminals", "scheduled", "excluded",
        "downtime", "available", "target",   "met",       "incidents", "other",
        "mttr",     "mtbf",      "response", "breaches",  NULL};
    static const char *const scope_names[] = {"", "terminal", "zone", "bank", "fleet"};
    char title[160], at[32];
    struct kf_qtable *t;

    snprintf(title, sizeof(title), "SLA %04d-%02d by %s, as of %s (local time)", r->year, r->month,
             scope_names[scope], kf_ctl_local_time(as_of, at, sizeof(at)));
    t = kf_ctl_table_new(title, cols, "...nnnnnn.nnnnnn");
    for (size_t i = 0; t && i < r->n; i++) {
        const struct kf_report_row *w = &r->rows[i];
        char b[12][40];

        if (w->scope != scope && w->scope != KF_SCOPE_FLEET)
            continue;
        snprintf(b[0], sizeof(b[0]), "%u", w->terminals);
        snprintf(b[1], sizeof(b[1]), "%u", w->incidents);
        snprintf(b[2], sizeof(b[2]), "%u", w->other_incidents);
        snprintf(b[3], sizeof(b[3]), "%u/%u", w->response_breaches, w->restore_breaches);
        const char *cells[] = {
            w->key,
            w->bank[0] ? w->bank : NULL,
            w->zone[0] ? w->zone : NULL,
            b[0],
            hours(w->scheduled_s, b[4], sizeof(b[4])),
            hours(w->excluded_s, b[5], sizeof(b[5])),
            hours(w->downtime_s, b[6], sizeof(b[6])),
            na_or(w->availability_bp, pct, b[7], sizeof(b[7])),
            na_or(w->target_bp, pct, b[8], sizeof(b[8])),
            w->met == KF_REPORT_NA ? "n/a"
            : w->met               ? "yes"
                                   : "NO",
            b[1],
            b[2],
            na_or(w->mttr_s, hours, b[9], sizeof(b[9])),
            na_or(w->mtbf_s, hours, b[10], sizeof(b[10])),
            na_or(w->mean_response_s, hours, b[11], sizeof(b[11])),
            b[3],
        };
        if (kf_ctl_table_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return kf_ctl_table_print_free(t, KF_FMT_TABLE);
}

int kf_ctl_sla(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"month", required_argument, NULL, 'm'},
        {"by", required_argument, NULL, 'b'},
        {"as-of", required_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    enum kf_ctl_format fmt = c->fmt;
    int year = 0, month = 0, scope = KF_SCOPE_TERMINAL, ch, r;
    int64_t as_of = 0, used = 0;
    struct kf_report *rep = NULL, view;
    struct kf_store *st;
    char err[256] = "", *buf = NULL;
    size_t len = 0, n = 0;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int ok = 1;

        switch (ch) {
        case 'm':
            ok = strlen(optarg) == 7 && sscanf(optarg, "%4d-%2d", &year, &month) == 2 &&
                 month >= 1 && month <= 12;
            break;
        case 'b':
            scope = strcmp(optarg, "terminal") == 0 ? KF_SCOPE_TERMINAL
                    : strcmp(optarg, "zone") == 0   ? KF_SCOPE_ZONE
                    : strcmp(optarg, "bank") == 0   ? KF_SCOPE_BANK
                                                    : 0;
            ok = scope != 0;
            break;
        case 'a':
            ok = kf_ctl_parse_time(optarg, &as_of) == 0;
            break;
        case 'f':
            ok = strcmp(optarg, "table") == 0 || strcmp(optarg, "csv") == 0 ||
                 strcmp(optarg, "json") == 0;
            fmt = optarg[0] == 'c' ? KF_FMT_CSV : optarg[0] == 'j' ? KF_FMT_JSON : KF_FMT_TABLE;
            break;
        default:
            ok = 0;
        }
        if (!ok)
            year = -1;
    }
    if (year <= 0 || optind != argc) {
        fprintf(stderr, "kioskctl: sla --month YYYY-MM [--by terminal|zone|bank] [--as-of TIME] "
                        "[--format table|csv|json]\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_view_sla_report(st, year, month, as_of, &rep, &used, err, sizeof(err));
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: sla: %s\n", err);
        return 1;
    }
    if (fmt == KF_FMT_TABLE) {
        r = print_report_table(rep, scope, used);
        kf_report_free(rep);
        return r;
    }
    /* CSV and JSON: the core's deterministic rendering of the rows asked for (and the fleet). */
    view = *rep;
    view.rows = calloc(rep->n + 1, sizeof(*view.rows));
    if (view.rows == NULL) {
        kf_report_free(rep);
        return 1;
    }
    for (size_t i = 0; i < rep->n; i++)
        if (rep->rows[i].scope == scope || rep->rows[i].scope == KF_SCOPE_FLEET)
            view.rows[n++] = rep->rows[i];
    view.n = n;
    r = kf_report_render(&view, fmt == KF_FMT_CSV ? KF_REPORT_CSV : KF_REPORT_JSON, &buf, &len);
    free(view.rows);
    kf_report_free(rep);
    if (r < 0) {
        fprintf(stderr, "kioskctl: sla: %s\n", kf_strerror(r));
        return 1;
    }
    r = fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : 1;
    free(buf);
    return r;
}
