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
#include "views/names.h"
#include "views/sla.h"
#include "views/sla_tables.h"

/* ---- state ------------------------------------------------------------------------------ */

int kf_ctl_state(const struct kf_ctl *c, int argc, char **argv)
{
    const char *target = NULL;
    struct kf_view_names *names = NULL;
    struct kf_qreport *rep = NULL;
    struct kf_store *st;
    char err[256] = "";
    int r;

    if (argc == 3 && strcmp(argv[1], "--device") == 0)
        target = argv[2];
    else if (argc != 1) {
        fprintf(stderr, "kioskctl: state [--device ID]\n");
        return 2;
    }
    if (kf_ctl_open_with_names(c, &st, &names) < 0)
        return 1;
    r = kf_view_sla_tables_state(st, names, target, &rep, err, sizeof(err));
    kf_view_names_free(names);
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: state: %s\n", err);
        return 1;
    }
    r = kf_ctl_print_report(c, "state", rep);
    kf_store_query_report_free(rep);
    return r;
}

/* ---- sla --month ------------------------------------------------------------------------- */

/* The report's rows (the scope asked for, and the fleet) as a table with names beside the
 * codes. Seconds, counts and basis points as kf_report computed them (docs/SLA.md section 7);
 * the month and the instant it was cut at on every row, for the files. */
static struct kf_qtable *report_table(const struct kf_report *rep, int scope, int64_t as_of,
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
             kf_ctl_local_time(as_of, when, sizeof(when)));
    /* The table view leaves out the month, the cut and the sums the means come from. */
    t = kf_store_query_table_new("sla", title, cols, "XTxxxxxxisssSpppbiiISssISsiii");
    for (size_t i = 0; t && i < rep->n; i++) {
        const struct kf_report_row *w = &rep->rows[i];
        char b[22][24];
        const char *bank = w->bank[0] ? w->bank : NULL, *zone = w->zone[0] ? w->zone : NULL;

        if (w->scope != scope && w->scope != KF_SCOPE_FLEET)
            continue;
#define NA(v, k) ((v) == KF_REPORT_NA ? NULL : kf_ctl_int((v), b[k]))
        const char *cells[] = {
            month,
            kf_ctl_int(as_of, at),
            scope_names[w->scope <= KF_SCOPE_FLEET ? w->scope : 0],
            w->key,
            bank,
            kf_view_names_get(names, KF_NAMES_BANK, bank),
            zone,
            kf_view_names_get(names, KF_NAMES_ZONE, zone),
            kf_ctl_int(w->terminals, b[0]),
            kf_ctl_int(w->scheduled_s, b[1]),
            kf_ctl_int(w->excluded_s, b[2]),
            kf_ctl_int(w->downtime_s, b[3]),
            kf_ctl_int(w->uptime_s, b[4]),
            NA(w->availability_bp, 5),
            NA(w->items_availability_bp, 20),
            NA(w->target_bp, 6),
            NA(w->met, 7),
            kf_ctl_int(w->incidents, b[8]),
            kf_ctl_int(w->other_incidents, b[9]),
            kf_ctl_int(w->restored, b[10]),
            kf_ctl_int(w->restore_sum_s, b[11]),
            NA(w->mttr_s, 12),
            NA(w->mtbf_s, 13),
            kf_ctl_int(w->responded, b[14]),
            kf_ctl_int(w->response_sum_s, b[15]),
            NA(w->mean_response_s, 16),
            kf_ctl_int(w->response_breaches, b[17]),
            kf_ctl_int(w->restore_breaches, b[18]),
            kf_ctl_int(w->forced, b[19]),
        };
#undef NA
        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

int kf_ctl_sla(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"month", required_argument, NULL, 'm'},
        {"by", required_argument, NULL, 'b'},
        {"as-of", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    int year = 0, month = 0, scope = KF_SCOPE_TERMINAL, ch, r;
    int64_t as_of = 0, used = 0;
    struct kf_report *rep = NULL;
    struct kf_view_names *names = NULL;
    struct kf_store *st;
    char err[256] = "";

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
        default:
            ok = 0;
        }
        if (!ok)
            year = -1;
    }
    if (year <= 0 || optind != argc) {
        fprintf(stderr, "kioskctl: sla --month YYYY-MM [--by terminal|zone|bank] [--as-of TIME]\n");
        return 2;
    }
    if (kf_ctl_open_with_names(c, &st, &names) < 0)
        return 1;
    r = kf_view_sla_report(st, year, month, as_of, &rep, &used, err, sizeof(err));
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: sla: %s\n", err);
        kf_view_names_free(names);
        return 1;
    }
    r = kf_ctl_print_table_free(c, "sla", report_table(rep, scope, used, names));
    kf_report_free(rep);
    kf_view_names_free(names);
    return r;
}
