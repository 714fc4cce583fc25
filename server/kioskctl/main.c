/* kioskctl: the operators' CLI. Reads the server database read-only (safe while kioskd
 * runs: WAL lets readers in beside the writer); every query lives in store/sqlite/query.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/store.h"
#include "store/audit.h"
#include "store/query.h"

static void usage(FILE *f)
{
    fputs("usage: kioskctl --db DB [--format table|csv|json] COMMAND\n"
          "commands:\n"
          "  devices                      every terminal: state, health, faults\n"
          "  device ID                    one terminal in detail\n"
          "  usage --from YYYY-MM-DD --to YYYY-MM-DD\n"
          "        --by device|zone|unit|bank|item|family|device,item\n"
          "                               transactions over inclusive local days\n"
          "  rejects                      rejected frames by reason\n"
          "  summary [--from D --to D]    fleet summary (usage total: all time by default)\n"
          "  verify                       re-verify the stored evidence: every frame's\n"
          "                               signature, every record against its frame,\n"
          "                               usage_daily against the transactions\n"
          "                               (exit 0 clean, 3 problems found)\n"
          "  audit [verify] [--server-pub FILE]\n"
          "                               the identity audit log (enrollments, rotations,\n"
          "                               revocations, replacements); verify checks its\n"
          "                               hash chain and signatures (exit 3 if broken)\n"
          "  quarantine [list [--all]]    frames the store refused, kept and acknowledged\n"
          "  quarantine show ID           one of them: reason, header, the frame in hex\n"
          "  quarantine replay ID|all     hand them back to kioskd once the cause is fixed\n"
          "fleet state and SLA (docs/guides/TECHNICIAN.md):\n"
          "  incidents                    open incidents, least time left on their clocks first\n"
          "  incident ID                  one incident: clocks, on-site time, history\n"
          "  ack ID --by WHO [--note TEXT]\n"
          "  onsite ID --by WHO           technician on site (typed; maintenance mode at the\n"
          "                               terminal records it by itself)\n"
          "  resolve ID --by WHO --note TEXT\n"
          "  close ID --by WHO [--note TEXT]\n"
          "  attribute ID --to company|bank_power|bank_network|bank_consumables|\n"
          "               bank_vandalism|force_majeure --by WHO --reason TEXT\n"
          "  note ID --by WHO --text TEXT actions are applied by kioskd; [--wait S] (15)\n"
          "  window add --device ID|--zone ID --from TIME --to TIME --reason TEXT --by WHO\n"
          "  window list [--all]          planned maintenance windows (TIME: 'YYYY-MM-DD HH:MM'\n"
          "                               local, or with Z/+HH:MM, or now)\n"
          "  state [--device ID]          each terminal: up/degraded/down/maintenance, which part\n"
          "  sla --month YYYY-MM [--by terminal|zone|bank] [--as-of TIME]\n"
          "                               the month's availability report (byte-for-byte\n"
          "                               reproducible from the database)\n",
          f);
}

struct opts {
    const char *db, *from, *to, *by;
    enum kf_ctl_format fmt;
};

static int parse_day(const char *s, const char *name, int32_t *ret)
{
    if (kf_day_parse(s, ret) < 0) {
        fprintf(stderr, "kioskctl: %s must be a date YYYY-MM-DD, not '%s'\n", name, s);
        return -EINVAL;
    }
    return 0;
}

/* kioskctl verify: the auditor's check (docs/guides/AUDITOR.md). */
static int run_verify(struct kf_store *st, enum kf_ctl_format fmt)
{
    struct kf_audit a;
    int r = kf_store_audit(st, &a), clean;

    if (r < 0)
        return kf_ctl_fail(st, "verify", r);
    clean = kf_store_audit_clean(&a);
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
    };
    const size_t n = sizeof(rows) / sizeof(rows[0]);

    if (fmt == KF_FMT_JSON) {
        printf("{");
        for (size_t i = 0; i < n; i++)
            printf("\"%s\":%llu,", rows[i].name, (unsigned long long)rows[i].v);
        printf("\"clean\":%s}\n", clean ? "true" : "false");
    } else if (fmt == KF_FMT_CSV) {
        printf("check,count\n");
        for (size_t i = 0; i < n; i++)
            printf("%s,%llu\n", rows[i].name, (unsigned long long)rows[i].v);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%-26s %12llu\n", rows[i].name, (unsigned long long)rows[i].v);
        if (clean)
            printf("evidence verified: every stored frame's signature checks under its "
                   "device's key, every record matches its frame and is stored once, "
                   "usage_daily equals the sum of the transactions\n");
        else
            printf("PROBLEMS FOUND; first: %s\n", a.first_problem);
    }
    if (fflush(stdout) != 0)
        return 1;
    return clean ? 0 : 3;
}

static int run(struct kf_store *st, const struct opts *o, const char *cmd, const char *arg)
{
    struct kf_qtable *t = NULL;
    struct kf_qreport *rep = NULL;
    int32_t today = kf_local_day(kf_now_ms()), from, to;
    int r;

    if (strcmp(cmd, "devices") == 0) {
        r = kf_store_query_devices(st, &t);
    } else if (strcmp(cmd, "device") == 0) {
        r = kf_store_query_device(st, arg, &rep);
    } else if (strcmp(cmd, "usage") == 0) {
        to = today;
        if (o->to && parse_day(o->to, "--to", &to) < 0)
            return 2;
        from = to;
        if (o->from && parse_day(o->from, "--from", &from) < 0)
            return 2;
        if (from > to) {
            fprintf(stderr, "kioskctl: --from is after --to\n");
            return 2;
        }
        r = kf_store_query_usage(st, from, to, o->by ? o->by : "zone", &t);
        if (r == -EINVAL) {
            fprintf(stderr, "kioskctl: --by must be one of "
                            "device|zone|unit|bank|item|family|device,item\n");
            return 2;
        }
    } else if (strcmp(cmd, "rejects") == 0) {
        r = kf_store_query_rejects(st, &t);
    } else if (strcmp(cmd, "verify") == 0) {
        return run_verify(st, o->fmt);
    } else {
        from = INT32_MIN;
        to = INT32_MAX;
        if (o->from && parse_day(o->from, "--from", &from) < 0)
            return 2;
        if (o->to && parse_day(o->to, "--to", &to) < 0)
            return 2;
        r = kf_store_query_summary(st, today, from, to, &rep);
    }
    if (r < 0)
        return kf_ctl_fail(st, cmd, r);
    r = t ? kf_ctl_print_table(t, o->fmt) : kf_ctl_print_report(rep, o->fmt);
    kf_store_query_table_free(t);
    kf_store_query_report_free(rep);
    if (r < 0) {
        fprintf(stderr, "kioskctl: output: %s\n", kf_strerror(r));
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Command families with words and options of their own (ctl.h). */
static const struct {
    const char *name;
    kf_ctl_cmd_fn fn;
} families[] = {
    {"audit", kf_ctl_audit},
    {"quarantine", kf_ctl_quarantine}, /* kioskctl/quarantine.c: poison frames kept */
    {"incidents", kf_ctl_incidents},   /* kioskctl/sla.c: the technicians' queue */
    {"incident", kf_ctl_incidents},    /* kioskctl/sla.c: one incident */
    {"ack", kf_ctl_ack},               /* kioskctl/sla.c: actions kioskd applies */
    {"onsite", kf_ctl_onsite},         /* kioskctl/sla.c */
    {"resolve", kf_ctl_resolve},       /* kioskctl/sla.c */
    {"close", kf_ctl_close},           /* kioskctl/sla.c */
    {"attribute", kf_ctl_attribute},   /* kioskctl/sla.c */
    {"note", kf_ctl_note},             /* kioskctl/sla.c */
    {"window", kf_ctl_window},         /* kioskctl/sla.c: planned maintenance windows */
    {"state", kf_ctl_state},           /* kioskctl/sla_report.c: fleet state */
    {"sla", kf_ctl_sla},               /* kioskctl/sla_report.c: the monthly report */
};

/* The index of the command word: the first argument that is neither an option nor the value
 * of --db/--format; argc if there is none. */
static int command_index(int argc, char **argv)
{
    int i = 1;

    while (i < argc && argv[i][0] == '-') {
        if ((strcmp(argv[i], "--db") == 0 || strcmp(argv[i], "--format") == 0) && i + 1 < argc)
            i += 2;
        else
            i++;
    }
    return i;
}

/* kioskctl [--db DB] [--format F] FAMILY ...: the global options may come before or after
 * the command word (as for the basic queries); everything else is the family's. */
static int run_family(kf_ctl_cmd_fn fn, int argc, char **argv, int ci)
{
    struct kf_ctl c = {.fmt = KF_FMT_TABLE};
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int n = 0, r;

    if (rest == NULL)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int is_db = 0;

        if (strcmp(a, "--db") == 0 || strcmp(a, "--format") == 0) {
            is_db = a[2] == 'd';
            v = i + 1 < argc ? argv[++i] : NULL;
        } else if (strncmp(a, "--db=", 5) == 0 || strncmp(a, "--format=", 9) == 0) {
            is_db = a[2] == 'd';
            v = strchr(a, '=') + 1;
        } else if (i < ci) {
            fprintf(stderr, "kioskctl: unknown option '%s'\n", a);
            free(rest);
            return 2;
        } else {
            rest[n++] = argv[i];
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "kioskctl: %s needs a value\n", a);
            free(rest);
            return 2;
        }
        if (is_db) {
            c.db = v;
        } else if (strcmp(v, "table") == 0) {
            c.fmt = KF_FMT_TABLE;
        } else if (strcmp(v, "csv") == 0) {
            c.fmt = KF_FMT_CSV;
        } else if (strcmp(v, "json") == 0) {
            c.fmt = KF_FMT_JSON;
        } else {
            fprintf(stderr, "kioskctl: --format must be table, csv or json\n");
            free(rest);
            return 2;
        }
    }
    if (c.db == NULL) {
        usage(stderr);
        free(rest);
        return 2;
    }
    if (access(c.db, F_OK) < 0) {
        fprintf(stderr, "kioskctl: database %s: %s\n", c.db, strerror(errno));
        free(rest);
        return 1;
    }
    r = fn(&c, n, rest);
    free(rest);
    return r;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"by", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const cmds[] = {"devices", "device",  "usage",
                                       "rejects", "summary", "verify"};
    struct opts o = {.fmt = KF_FMT_TABLE};
    struct kf_store *st;
    const char *cmd, *arg = NULL;
    int c, r, nargs, known = 0;

    kf_log_set_ident("kioskctl");
    {
        int ci = command_index(argc, argv);

        for (size_t i = 0; ci < argc && i < sizeof(families) / sizeof(families[0]); i++)
            if (strcmp(argv[ci], families[i].name) == 0)
                return run_family(families[i].fn, argc, argv, ci);
    }
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.db = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "table") == 0) {
                o.fmt = KF_FMT_TABLE;
            } else if (strcmp(optarg, "csv") == 0) {
                o.fmt = KF_FMT_CSV;
            } else if (strcmp(optarg, "json") == 0) {
                o.fmt = KF_FMT_JSON;
            } else {
                fprintf(stderr, "kioskctl: --format must be table, csv or json\n");
                usage(stderr);
                return 2;
            }
            break;
        case 'F':
            o.from = optarg;
            break;
        case 'T':
            o.to = optarg;
            break;
        case 'b':
            o.by = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    nargs = argc - optind;
    if (!o.db || nargs < 1) {
        usage(stderr);
        return 2;
    }
    cmd = argv[optind];
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        known |= strcmp(cmd, cmds[i]) == 0;
    if (!known || (strcmp(cmd, "device") == 0) != (nargs == 2) || nargs > 2) {
        if (!known)
            fprintf(stderr, "kioskctl: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    if (nargs == 2)
        arg = argv[optind + 1];
    if ((o.by && strcmp(cmd, "usage") != 0) ||
        ((o.from || o.to) && strcmp(cmd, "usage") != 0 && strcmp(cmd, "summary") != 0)) {
        fprintf(stderr, "kioskctl: option not valid for '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    if (access(o.db, F_OK) < 0) {
        fprintf(stderr, "kioskctl: database %s: %s\n", o.db, strerror(errno));
        return 1;
    }
    r = kf_store_open(o.db, KF_STORE_RDONLY, &st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: cannot open database %s: %s\n", o.db,
                r == -ENOENT ? "not a kioskfleet database" : kf_strerror(r));
        return 1;
    }
    r = run(st, &o, cmd, arg);
    kf_store_free(st);
    return r;
}
