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
    r = kf_ctl_print_table_free(c, "sla", kf_view_sla_tables_report(rep, scope, used, names));
    kf_report_free(rep);
    kf_view_names_free(names);
    return r;
}
