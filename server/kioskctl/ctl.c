/* kioskctl/ctl.c: kioskctl's entry (kf_ctl_main): the global options, wherever they stand,
 * and the table of commands, one row per command family (ctl.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kf/log.h>

#include "kioskctl/ctl.h"

static void usage(FILE *f)
{
    fputs(
        "usage: kioskctl --db DB [OPTIONS] COMMAND (docs/KIOSKCTL.md)\n"
        "options (before or after the command):\n"
        "  --format table|csv|json      table for people (default), CSV for Excel, typed JSON\n"
        "  --encoding utf-8|gbk         CSV: UTF-8 with a BOM (default), or GBK for older tools\n"
        "  --table NAME                 only that table of a command that prints several\n"
        "  -o PREFIX                    each table to its own file, PREFIX-NAME.csv|json|txt\n"
        "  --vertical                   table view: each row as name/value lines\n"
        "commands:\n"
        "  devices                      every terminal: state, health, faults\n"
        "  device ID                    one terminal in detail (tables: device, keys,\n"
        "                               health, peripherals, faults, frames)\n"
        "  usage [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
        "        [--by device|zone|unit|bank|item|family|device,item]\n"
        "                               transactions over inclusive local days (default:\n"
        "                               today, by zone); every zone, unit, bank, item,\n"
        "                               family listed; unknown item codes left out\n"
        "  unknown-items [--from D] [--to D]\n"
        "                               item codes the catalog does not know: kept, listed\n"
        "                               here, counted nowhere until the catalog knows them\n"
        "  rejects                      rejected frames by reason\n"
        "  summary [--from D --to D]    fleet summary (usage total: all time by default;\n"
        "                               tables: terminals, usage_by_unit, usage_by_family,\n"
        "                               health, rejections)\n"
        "  verify                       re-verify the stored evidence: every frame's\n"
        "                               signature, every record against its frame,\n"
        "                               usage_daily and its rollups against the txns\n"
        "                               (exit 0 clean, 3 problems found)\n"
        "  audit [--action PREFIX]...   the signed log: identity (token., device., key.),\n"
        "                               the SLA engine's runs (sla.run), contracts, assets,\n"
        "                               bills; --action keeps entries whose action starts so\n"
        "  audit verify --server-pub FILE\n"
        "                               its hash chain and signatures (exit 3 if broken)\n"
        "  quarantine [list [--all]]    frames the store refused, kept and acknowledged\n"
        "  quarantine show ID           one of them: reason, header, the frame in hex\n"
        "  quarantine replay ID|all     hand them back to kioskd once the cause is fixed\n"
        "  conflicts [--device ID]      frames that repeated stored seqs with other records\n"
        "                               (a cloned or faulty terminal): refused, kept\n"
        "  conflict ID                  one of them: stored and received record per seq\n"
        "  app-duplicates [--device ID] records that repeated an application id: kept,\n"
        "                               counted nowhere\n"
        "  reconcile --device ID JOURNAL.csv\n"
        "                               the device's records against the application's\n"
        "                               journal (columns app_id[,item,outcome]): what is\n"
        "                               missing on either side (exit 3 if anything is)\n"
        "fleet state and SLA (docs/guides/TECHNICIAN.md):\n"
        "  incidents [--flat] [--assignee NAME | --unassigned]\n"
        "                               open incidents, least time left on their clocks\n"
        "                               first; a mass outage on one row (--flat: each)\n"
        "  incident ID                  one incident: clocks, on-site time (tables:\n"
        "                               incident, history)\n"
        "  outage ID                    a mass outage (Z17, U17, F17) and its incidents\n"
        "                               (tables: outage, children)\n"
        "  every action takes ID [ID...] (up to 1000, all queued or none) or --outage ID:\n"
        "  ack ID --by WHO [--note TEXT]\n"
        "  onsite ID --by WHO           technician on site (typed; maintenance mode at the\n"
        "                               terminal records it by itself)\n"
        "  resolve ID --by WHO --note TEXT [--force]\n"
        "                               --force: while the terminal still reports the fault\n"
        "                               (flagged; its downtime runs until the fault clears)\n"
        "  close ID --by WHO [--note TEXT]\n"
        "  attribute ID --to company|bank_power|bank_network|bank_consumables|\n"
        "               bank_vandalism|force_majeure --by WHO --reason TEXT\n"
        "  note ID --by WHO --text TEXT actions are applied by kioskd; [--wait S] (15)\n"
        "  assign ID --to NAME|--clear --by WHO [--note TEXT]\n"
        "                               the technician who works it (no clock changes)\n"
        "  window add --device ID|--zone ID --from TIME --to TIME --reason TEXT --by WHO\n"
        "  window list [--all]          planned maintenance windows (TIME: 'YYYY-MM-DD HH:MM'\n"
        "                               local, or with Z/+HH:MM, or now)\n"
        "  state [--device ID]          each terminal: up/degraded/down/maintenance, which part\n"
        "  sla --month YYYY-MM [--by terminal|zone|bank] [--as-of TIME]\n"
        "                               the month's availability report (byte-for-byte\n"
        "                               reproducible from the database)\n"
        "billing (docs/BILLING.md \"Operating it\"; WHO/TEXT recorded in the signed log):\n"
        "  contract load FILE... --by WHO --reason TEXT --server-key FILE\n"
        "                               store contract versions (all or none)\n"
        "  contracts [--bank B]         the stored versions\n"
        "  asset commission ASSET|--all --at TIME --by WHO --reason TEXT --server-key FILE\n"
        "  asset decommission ASSET --at TIME --by WHO --reason TEXT --server-key FILE\n"
        "  asset move ASSET --zone ZONE --at TIME --by WHO --reason TEXT --server-key FILE\n"
        "  assets [--bank B]            each asset's intervals in service\n"
        "  bill close-day [N --by WHO --server-key FILE]\n"
        "                               the day of the next month a month closes (5)\n"
        "  bill draft --bank B --month YYYY-MM [--format json|csv|xlsx|pdf] [-o FILE]\n"
        "  bill issue --bank B|--all --month YYYY-MM --by WHO --server-key FILE\n"
        "  bill list [--bank B]         issued bills and credit notes\n"
        "  bill show NUMBER [--format json|csv|xlsx|pdf] [-o FILE]\n"
        "  bill verify NUMBER --server-pub FILE\n"
        "                               signature and recompute (exit 3 on a difference)\n"
        "  bill dispute NUMBER --line N --reason TEXT --by WHO --server-key FILE\n"
        "  bill answer ID --accept|--refuse --reason TEXT --by WHO --server-key FILE\n"
        "  bill credit NUMBER --line N [--amount-fen F] --reason TEXT --by WHO --server-key FILE\n"
        "  bill disputes [--bank B]\n"
        "  bill export NUMBER -o FILE [--server-pub FILE]\n"
        "                               the bill's evidence for its bank (kf-bill-check)\n"
        "the bureau's reports (docs/REPORTS.md):\n"
        "  report week [--week YYYY-Www | --date YYYY-MM-DD] [--draft] [--close-after HOURS]\n"
        "              [--view unit|bank|zone|family|item|inactive]\n"
        "                               the weekly report (default: the last closed week;\n"
        "                               a week closes Monday 09:00, --draft before that);\n"
        "                               -o FILE.xlsx|.pdf (the bulletin)|.csv|.json\n"
        "  coverage [--at YYYY-MM-DD] [--targets FILE]\n"
        "                               zones and terminals against the plan's targets\n"
        "                               (tables: checks, units, banks, families)\n"
        "kiosk-web's users (docs/WEB.md):\n"
        "  user add NAME --role operator|technician|bank:CODE|bureau [--display TEXT]\n"
        "           [--password-file FILE | --password-stdin] --by WHO --reason TEXT\n"
        "           --server-key FILE    (no password given: one is made and printed once)\n"
        "  user disable|enable|reset NAME, user role NAME --role ROLE   (--by --reason\n"
        "           --server-key, as add)\n"
        "  user token add NAME [--label TEXT] [--days N], user token revoke ID\n"
        "                               API tokens for scripts, printed once\n"
        "  users, tokens                who may log in, and the tokens (never the secrets)\n"
        "the terminals from afar (docs/KIOSKCTL.md \"Commands to terminals\"):\n"
        "  cmd send KIND [ARG...] SELECTOR... --by WHO --reason TEXT --server-key FILE\n"
        "           [--expires DURATION] [--dry-run] [--canary N|P%] [--halt-failures N]\n"
        "                               probe, maintenance, restart-app, reboot, restart-agent,\n"
        "                               set-config, logs; to --device D, --zone, --bank, --unit,\n"
        "                               --kind, --agent-version, --app-version\n"
        "  cmd list|show|cancel|refused, cmd logs ID [-o FILE]\n"
        "  rollout list|show|halt|resume|cancel   commands in waves, halted on failures\n"
        "  inventory [--by FIELD,...] [--where FIELD=VALUE], inventory show DEVICE\n"
        "                               what the terminals run (agent, app, OS, peripherals)\n"
        "  artifact keygen|sign|add|list   release-signed software packages\n",
        f);
}

/* Command families (ctl.h). */
static const struct {
    const char *name;
    kf_ctl_cmd_fn fn;
} commands[] = {
    {"devices", kf_ctl_devices},               /* kioskctl/query.c: the fleet's queries */
    {"device", kf_ctl_device},                 /* kioskctl/query.c */
    {"usage", kf_ctl_usage},                   /* kioskctl/query.c */
    {"unknown-items", kf_ctl_unknown_items},   /* kioskctl/query.c */
    {"rejects", kf_ctl_rejects},               /* kioskctl/query.c */
    {"summary", kf_ctl_summary},               /* kioskctl/query.c */
    {"verify", kf_ctl_verify},                 /* kioskctl/query.c: the auditor's check */
    {"audit", kf_ctl_audit},                   /* kioskctl/audit.c: the identity audit log */
    {"quarantine", kf_ctl_quarantine},         /* kioskctl/quarantine.c: poison frames kept */
    {"conflicts", kf_ctl_conflicts},           /* kioskctl/conflicts.c: seqs sent differently */
    {"conflict", kf_ctl_conflict},             /* kioskctl/conflicts.c */
    {"app-duplicates", kf_ctl_app_duplicates}, /* kioskctl/conflicts.c: app ids repeated */
    {"reconcile", kf_ctl_reconcile},           /* kioskctl/conflicts.c: against the app's journal */
    {"incidents", kf_ctl_incidents},           /* kioskctl/sla.c: the technicians' queue */
    {"incident", kf_ctl_incidents},            /* kioskctl/sla.c: one incident */
    {"ack", kf_ctl_action},                    /* kioskctl/sla_act.c: actions kioskd applies */
    {"onsite", kf_ctl_action},                 /* kioskctl/sla_act.c */
    {"resolve", kf_ctl_action},                /* kioskctl/sla_act.c */
    {"close", kf_ctl_action},                  /* kioskctl/sla_act.c */
    {"attribute", kf_ctl_action},              /* kioskctl/sla_act.c */
    {"note", kf_ctl_action},                   /* kioskctl/sla_act.c */
    {"assign", kf_ctl_action},                 /* kioskctl/sla_act.c: who works it */
    {"outage", kf_ctl_outage},                 /* kioskctl/sla.c: one mass outage */
    {"window", kf_ctl_window},                 /* kioskctl/sla.c: planned maintenance windows */
    {"state", kf_ctl_state},                   /* kioskctl/sla_report.c: fleet state */
    {"sla", kf_ctl_sla},                       /* kioskctl/sla_report.c: the monthly report */
    {"contract", kf_ctl_contract},             /* kioskctl/contract.c: contract load */
    {"contracts", kf_ctl_contracts},           /* kioskctl/contract.c: the stored versions */
    {"asset", kf_ctl_asset},                   /* kioskctl/asset.c: commissioning */
    {"assets", kf_ctl_assets},                 /* kioskctl/asset.c: assets in service */
    {"user", kf_ctl_user},                     /* kioskctl/user.c: kiosk-web's users */
    {"cmd", kf_ctl_cmd},                       /* kioskctl/cmd.c: commands to terminals */
    {"rollout", kf_ctl_rollout},               /* kioskctl/rollout.c: commands in waves */
    {"inventory", kf_ctl_inventory},           /* kioskctl/inventory.c: what terminals are */
    {"artifact", kf_ctl_artifact},             /* kioskctl/artifact.c: software artifacts */
    {"users", kf_ctl_users},                   /* kioskctl/user.c */
    {"tokens", kf_ctl_users},                  /* kioskctl/user.c: API tokens */
    {"bill", kf_ctl_bill},                     /* kioskctl/bill.c: bills and credit notes */
    {"rubric", kf_ctl_rubric},                 /* kioskctl/assess.c: rubric load */
    {"rubrics", kf_ctl_rubrics},               /* kioskctl/assess.c: the stored versions */
    {"assess", kf_ctl_assess},                 /* kioskctl/assess.c: the half-year assessment */
    {"report", kf_ctl_report},                 /* kioskctl/report_week.c: the weekly report */
    {"coverage", kf_ctl_coverage},             /* kioskctl/coverage.c: against the plan */
};

/* The global options: name, whether it takes a value. */
static const struct {
    const char *name;
    int has_value;
} globals[] = {
    {"--db", 1},     {"--format", 1}, {"--encoding", 1}, {"--table", 1},
    {"--output", 1}, {"-o", 1},       {"--vertical", 0},
};

/* Is a a global option? Its index in globals, and *value set when given as "--x=v". */
static int global_of(const char *a, const char **value)
{
    *value = NULL;
    for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
        size_t n = strlen(globals[i].name);

        if (strcmp(a, globals[i].name) == 0)
            return (int)i;
        if (globals[i].has_value && strncmp(a, globals[i].name, n) == 0 && a[n] == '=') {
            *value = a + n + 1;
            return (int)i;
        }
    }
    return -1;
}

static int set_global(struct kf_ctl *c, const char *name, const char *v)
{
    if (strcmp(name, "--db") == 0) {
        c->db = v;
    } else if (strcmp(name, "--format") == 0) {
        if (strcmp(v, "table") == 0)
            c->fmt = KF_FMT_TABLE;
        else if (strcmp(v, "csv") == 0)
            c->fmt = KF_FMT_CSV;
        else if (strcmp(v, "json") == 0)
            c->fmt = KF_FMT_JSON;
        else if (strcmp(v, "xlsx") == 0)
            c->fmt = KF_FMT_XLSX;
        else if (strcmp(v, "pdf") == 0)
            c->fmt = KF_FMT_PDF;
        else
            return -EINVAL;
    } else if (strcmp(name, "--encoding") == 0) {
        if (strcasecmp(v, "utf-8") == 0 || strcasecmp(v, "utf8") == 0)
            c->enc = KF_ENC_UTF8;
        else if (strcasecmp(v, "gbk") == 0 || strcasecmp(v, "cp936") == 0)
            c->enc = KF_ENC_GBK;
        else
            return -EINVAL;
    } else if (strcmp(name, "--table") == 0) {
        c->table = v;
    } else {
        c->out = v; /* -o, --output */
    }
    return 0;
}

int kf_ctl_main(int argc, char **argv)
{
    struct kf_ctl c = {.fmt = KF_FMT_TABLE, .enc = KF_ENC_UTF8};
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int n = 0, r = 2, enc_given = 0;
    kf_ctl_cmd_fn fn = NULL;

    kf_log_set_ident("kioskctl");
    if (rest == NULL)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int g = global_of(argv[i], &v);

        if (g < 0) {
            if (n == 0 && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
                usage(stdout);
                free(rest);
                return 0;
            }
            if (n == 0 && argv[i][0] == '-') {
                fprintf(stderr, "kioskctl: unknown option '%s'\n", argv[i]);
                goto out_usage;
            }
            rest[n++] = argv[i];
            continue;
        }
        if (globals[g].has_value && v == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "kioskctl: %s needs a value\n", argv[i]);
                goto out_usage;
            }
            v = argv[++i];
        }
        if (!globals[g].has_value) {
            c.vertical = 1;
            continue;
        }
        enc_given |= strcmp(globals[g].name, "--encoding") == 0;
        if (set_global(&c, globals[g].name, v) < 0) {
            fprintf(stderr, "kioskctl: %s %s: not one of the values it takes\n", globals[g].name,
                    v);
            goto out_usage;
        }
    }
    /* The release machine's artifact commands (keygen, sign) touch no database. */
    if (n == 0 ||
        (c.db == NULL && !(n >= 2 && strcmp(rest[0], "artifact") == 0 &&
                           (strcmp(rest[1], "sign") == 0 || strcmp(rest[1], "keygen") == 0))))
        goto out_usage;
    if (enc_given && c.fmt != KF_FMT_CSV) {
        fprintf(stderr, "kioskctl: --encoding is for --format csv\n");
        goto out_free;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(rest[0], commands[i].name) == 0)
            fn = commands[i].fn;
    if (fn == NULL) {
        fprintf(stderr, "kioskctl: unknown command '%s'\n", rest[0]);
        goto out_usage;
    }
    /* Workbooks and PDFs are documents' forms, not tables': bills and the weekly report. */
    if ((c.fmt == KF_FMT_XLSX || c.fmt == KF_FMT_PDF) && strcmp(rest[0], "bill") != 0 &&
        strcmp(rest[0], "report") != 0) {
        fprintf(stderr, "kioskctl: --format xlsx|pdf is for bill draft, bill show and report\n");
        goto out_free;
    }
    if (c.db != NULL && access(c.db, F_OK) < 0) {
        fprintf(stderr, "kioskctl: database %s: %s\n", c.db, strerror(errno));
        r = 1;
        goto out_free;
    }
    r = fn(&c, n, rest);
    goto out_free;

out_usage:
    usage(stderr);
out_free:
    free(rest);
    return r;
}
