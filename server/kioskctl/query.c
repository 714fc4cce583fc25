/* kioskctl/query.c: the fleet's queries (store/query.h): devices, device ID, usage,
 * unknown-items, rejects, summary, and verify (the auditor's check of the evidence). They
 * read the database read-only, safe while kioskd runs (WAL lets readers in beside the
 * writer). Columns and types: docs/KIOSKCTL.md. */
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
#include "store/audit.h"
#include "store/query.h"
#include "store/store.h"
#include "views/sla_verify.h"

static int usage_err(const char *msg)
{
    fprintf(stderr, "kioskctl: %s (kioskctl --help)\n", msg);
    return 2;
}

static int parse_day(const char *s, const char *name, int32_t *ret)
{
    if (kf_day_parse(s, ret) < 0) {
        fprintf(stderr, "kioskctl: %s must be a date YYYY-MM-DD, not '%s'\n", name, s);
        return -EINVAL;
    }
    return 0;
}

/* --from D --to D [--by X]: the period (what is not given is left as it was) and the
 * grouping. -EINVAL on anything else. */
static int parse_period(int argc, char **argv, int with_by, int32_t *from, int32_t *to,
                        const char **by)
{
    static const struct option longopts[] = {
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"by", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'F' && parse_day(optarg, "--from", from) == 0)
            continue;
        if (ch == 'T' && parse_day(optarg, "--to", to) == 0)
            continue;
        if (ch == 'b' && with_by) {
            *by = optarg;
            continue;
        }
        return -EINVAL;
    }
    return optind == argc ? 0 : -EINVAL;
}

/* Open read-only, run one query, print its table. */
static int one_table(const struct kf_ctl *c, const char *cmd,
                     int (*q)(struct kf_store *, struct kf_qtable **))
{
    struct kf_qtable *t = NULL;
    struct kf_store *st;
    int r;

    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = q(st, &t);
    if (r < 0) {
        kf_ctl_fail(st, cmd, r);
        kf_store_free(st);
        return 1;
    }
    kf_store_free(st);
    return kf_ctl_print_table_free(c, cmd, t);
}

int kf_ctl_devices(const struct kf_ctl *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage_err("devices takes no arguments");
    return one_table(c, "devices", kf_store_query_devices);
}

int kf_ctl_rejects(const struct kf_ctl *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage_err("rejects takes no arguments");
    return one_table(c, "rejects", kf_store_query_rejects);
}

int kf_ctl_device(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_qreport *rep = NULL;
    struct kf_store *st;
    int r;

    if (argc != 2 || argv[1][0] == '-')
        return usage_err("device ID");
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_query_device(st, argv[1], &rep);
    if (r < 0) {
        kf_ctl_fail(st, "device", r);
        kf_store_free(st);
        return 1;
    }
    kf_store_free(st);
    rep->tables[0]->record = 1; /* one terminal's fields: name/value lines in the table view */
    r = kf_ctl_print_report(c, "device", rep);
    kf_store_query_report_free(rep);
    return r;
}

/* Transactions left out of usage because the catalog does not know their item code: said
 * on stderr, so that no total is taken for the whole without knowing. */
static void note_unknown(struct kf_store *st, int32_t from, int32_t to)
{
    struct kf_qtable *t = NULL;
    long long n = 0;
    int col;

    if (kf_store_query_unknown_items(st, from, to, &t) < 0)
        return;
    col = kf_store_query_table_col(t, "total");
    for (size_t r = 0; col >= 0 && r < t->nrows; r++)
        n += strtoll(kf_store_query_table_cell(t, r, (size_t)col), NULL, 10);
    if (t->nrows > 0)
        fprintf(stderr,
                "kioskctl: %lld transaction(s) with %zu item code(s) the catalog does not know "
                "are not counted here (kioskctl unknown-items)\n",
                n, t->nrows);
    kf_store_query_table_free(t);
}

int kf_ctl_usage(const struct kf_ctl *c, int argc, char **argv)
{
    int32_t today = kf_local_day(kf_now_ms()), from = INT32_MIN, to = INT32_MIN;
    const char *by = "zone";
    struct kf_qtable *t = NULL;
    struct kf_store *st;
    char title[160], a[16], b[16];
    int r;

    if (parse_period(argc, argv, 1, &from, &to, &by) < 0)
        return usage_err("usage --from YYYY-MM-DD --to YYYY-MM-DD "
                         "--by device|zone|unit|bank|item|family|device,item");
    if (to == INT32_MIN)
        to = today;
    if (from == INT32_MIN)
        from = to;
    if (from > to) {
        fprintf(stderr, "kioskctl: --from is after --to\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_query_usage(st, from, to, by, &t);
    if (r == -EINVAL) {
        kf_store_free(st);
        return usage_err("--by must be one of device|zone|unit|bank|item|family|device,item");
    }
    if (r < 0) {
        kf_ctl_fail(st, "usage", r);
        kf_store_free(st);
        return 1;
    }
    note_unknown(st, from, to);
    kf_store_free(st);
    snprintf(title, sizeof(title), "usage by %s, %s .. %s (local days)", by,
             kf_day_format(from, a, sizeof(a)), kf_day_format(to, b, sizeof(b)));
    free(t->title);
    t->title = strdup(title);
    return kf_ctl_print_table_free(c, "usage", t);
}

int kf_ctl_unknown_items(const struct kf_ctl *c, int argc, char **argv)
{
    int32_t from = INT32_MIN, to = INT32_MAX;
    struct kf_qtable *t = NULL;
    struct kf_store *st;
    const char *by = NULL;
    int r;

    if (parse_period(argc, argv, 0, &from, &to, &by) < 0)
        return usage_err("unknown-items [--from YYYY-MM-DD] [--to YYYY-MM-DD]");
    if (from > to)
        return usage_err("--from is after --to");
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_query_unknown_items(st, from, to, &t);
    if (r < 0) {
        kf_ctl_fail(st, "unknown-items", r);
        kf_store_free(st);
        return 1;
    }
    kf_store_free(st);
    free(t->title);
    t->title = strdup("item codes the catalog does not know (kept, not counted in usage)");
    return kf_ctl_print_table_free(c, "unknown-items", t);
}

int kf_ctl_summary(const struct kf_ctl *c, int argc, char **argv)
{
    int32_t today = kf_local_day(kf_now_ms()), from = INT32_MIN, to = INT32_MAX;
    struct kf_qreport *rep = NULL;
    struct kf_store *st;
    const char *by = NULL;
    int r;

    if (parse_period(argc, argv, 0, &from, &to, &by) < 0)
        return usage_err("summary [--from YYYY-MM-DD] [--to YYYY-MM-DD]");
    if (from > to)
        return usage_err("--from is after --to");
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_query_summary(st, today, from, to, &rep);
    if (r < 0) {
        kf_ctl_fail(st, "summary", r);
        kf_store_free(st);
        return 1;
    }
    note_unknown(st, from, to);
    kf_store_free(st);
    r = kf_ctl_print_report(c, "summary", rep);
    kf_store_query_report_free(rep);
    return r;
}

/* kioskctl verify: the auditor's check (docs/guides/AUDITOR.md). JSON: one object, the
 * counts and "clean"; otherwise a table of (check, count). */
int kf_ctl_verify(const struct kf_ctl *c, int argc, char **argv)
{
    static const char *const cols[] = {"check", "count", NULL};
    struct kf_store *st;
    struct kf_audit a;
    struct kf_view_sla_verify sv;
    struct kf_qtable *t;
    char err[320];
    int r, clean;

    (void)argv;
    if (argc != 1)
        return usage_err("verify takes no arguments");
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    /* One snapshot: kioskd may commit and seal meanwhile. */
    r = kf_store_snapshot_begin(st);
    if (r == 0)
        r = kf_store_audit(st, &a);
    if (r < 0) {
        kf_ctl_fail(st, "verify", r);
        kf_store_free(st);
        return 1;
    }
    r = kf_view_sla_verify(st, &sv, err, sizeof(err));
    (void)kf_store_end(st, 0);
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: verify: %s\n", err);
        return 1;
    }
    clean = kf_store_audit_clean(&a) && kf_view_sla_verify_clean(&sv);
    if (a.first_problem[0] == '\0' && sv.first_problem[0] != '\0')
        snprintf(a.first_problem, sizeof(a.first_problem), "%.250s", sv.first_problem);
    const struct {
        const char *name;
        uint64_t v;
    } rows[] = {
        {"envelopes", a.envelopes},
        {"verified", a.verified},
        {"no_key", a.no_key},
        {"undecodable", a.undecodable},
        {"bad_signatures", a.bad_signatures},
        {"records_checked", a.records_checked},
        {"record_mismatches", a.record_mismatches},
        {"records_without_evidence", a.records_without_evidence},
        {"records_repeated", a.records_repeated},
        {"usage_mismatches", a.usage_mismatches},
        {"rollup_mismatches", a.rollup_mismatches},
        {"device_day_mismatches", a.device_day_mismatches},
        {"sla_runs_sealed", sv.runs},
        {"sla_facts_sealed", sv.facts_sealed},
        {"sla_fact_mismatches", sv.fact_mismatches},
        {"sla_actions_checked", sv.actions_checked},
        {"sla_action_mismatches", sv.action_mismatches},
        {"incidents_recomputed", sv.replayed ? sv.incidents_checked : 0},
        {"incident_mismatches", sv.incident_mismatches},
        {"incident_history_mismatches", sv.event_mismatches},
        {"windows_checked", sv.windows_checked},
        {"window_mismatches", sv.window_mismatches},
    };
    const size_t n = sizeof(rows) / sizeof(rows[0]);

    if (c->fmt == KF_FMT_JSON) {
        json_t *o = json_object();

        for (size_t i = 0; o && i < n; i++)
            json_object_set_new(o, rows[i].name, json_integer((json_int_t)rows[i].v));
        if (o)
            json_object_set_new(o, "clean", json_boolean(clean));
        if (o && !sv.replayed)
            json_object_set_new(o, "incidents_not_recomputed", json_string(sv.note));
        if (o && !clean)
            json_object_set_new(o, "first_problem", json_string(a.first_problem));
        if (kf_ctl_emit_json(o) < 0)
            return 1;
        return clean ? 0 : 3;
    }
    t = kf_store_query_table_new("verify", NULL, cols, "xi");
    for (size_t i = 0; t && i < n; i++) {
        char v[24];
        const char *cells[] = {rows[i].name, kf_ctl_int((int64_t)rows[i].v, v)};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    r = kf_ctl_print_table_free(c, "verify", t);
    if (r == 0 && c->fmt == KF_FMT_TABLE && c->out == NULL) {
        if (clean)
            printf("evidence verified: every stored frame's signature checks under its "
                   "device's key, every record matches its frame and is stored once, "
                   "usage_daily and its rollups equal the sum of the transactions, "
                   "device_days holds exactly the days of the records%s\n",
                   sv.replayed ? ", and every incident and its history follow from the facts "
                                 "and actions sealed in the signed log"
                               : "");
        else
            printf("PROBLEMS FOUND; first: %s\n", a.first_problem);
        if (!sv.replayed)
            printf("incidents not recomputed: %s\n", sv.note);
        r = fflush(stdout) == 0 ? 0 : 1;
    }
    return r != 0 ? r : clean ? 0 : 3;
}
