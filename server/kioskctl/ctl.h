/* kioskctl/ctl.h: kioskctl's shared parts (library kf_ctl; main.c is a thin main over it).
 * Each command family lives in its own file and is one row of kioskctl/ctl.c's command
 * table. Output goes through kioskctl/print.c alone, so every command prints its tables the
 * same way: an aligned table, CSV for Excel (UTF-8 with a BOM, or GBK) or typed JSON
 * (docs/KIOSKCTL.md). Main thread only. */
#ifndef KF_KIOSKCTL_CTL_H
#define KF_KIOSKCTL_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "store/store.h"
#include "store/query.h"

enum kf_ctl_format {
    KF_FMT_TABLE,
    KF_FMT_CSV,
    KF_FMT_JSON,
    KF_FMT_XLSX, /* documents only (bill draft, bill show): an XLSX workbook */
    KF_FMT_PDF,  /* documents only: a printable PDF */
};

enum kf_ctl_encoding {
    KF_ENC_UTF8, /* UTF-8 with a byte order mark, so that Excel reads it as UTF-8 */
    KF_ENC_GBK,  /* GBK (code page 936), for tools that read only the ANSI code page */
};

/* The global options, which may come before or after the command word. */
struct kf_ctl {
    const char *db;
    enum kf_ctl_format fmt;
    enum kf_ctl_encoding enc; /* CSV only */
    int vertical;             /* table view: every table as name/value lines */
    const char *table;        /* --table NAME: only that table of the command's; NULL: all */
    const char *out;          /* -o PREFIX: each table to PREFIX-NAME.csv|json|txt */
};

/* Run kioskctl: argv as main's. Returns the exit status. */
int kf_ctl_main(int argc, char **argv);

/* A command family: argv[0] is the command word, its own words and options follow
 * (parse them with getopt_long after setting optind = 0). Returns the exit status:
 * 0 done, 1 failed, 2 usage error, 3 a check found problems. */
typedef int (*kf_ctl_cmd_fn)(const struct kf_ctl *c, int argc, char **argv);

/* kioskctl/query.c: devices, device ID, usage, unknown-items, rejects, summary, verify. */
int kf_ctl_devices(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_device(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_usage(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_unknown_items(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_rejects(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_summary(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_verify(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_audit(const struct kf_ctl *c, int argc, char **argv); /* kioskctl/audit.c */
/* kioskctl/quarantine.c: the frames the store refused and kept (list, show, replay). */
int kf_ctl_quarantine(const struct kf_ctl *c, int argc, char **argv);

/* kioskctl/conflicts.c: what terminals sent twice, differently: conflicts, conflict ID,
 * app-duplicates, and reconcile (a device's records against the application's journal;
 * exit 3 when they differ). */
int kf_ctl_conflicts(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_conflict(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_app_duplicates(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_reconcile(const struct kf_ctl *c, int argc, char **argv);

/* Fleet state and the SLA (docs/guides/TECHNICIAN.md). kioskctl/sla.c: incidents, incident ID
 * and outage ID (the queue with mass outages folded, one incident, one outage) and planned
 * windows; kioskctl/sla_act.c: the actions kioskd applies (ack, onsite, resolve, close,
 * attribute, note, assign), on one incident, several or an outage's;
 * kioskctl/sla_report.c: state and the monthly report. */
int kf_ctl_incidents(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_outage(const struct kf_ctl *c, int argc, char **argv);
/* ack, onsite, resolve, close, attribute, note and assign: which one is argv[0]. */
int kf_ctl_action(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_window(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_state(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_sla(const struct kf_ctl *c, int argc, char **argv);

/* Billing (docs/BILLING.md "Operating it"). kioskctl/contract.c: contract load, contracts;
 * kioskctl/asset.c: asset commission|decommission|move, assets; kioskctl/bill.c: bill draft,
 * issue, verify, close-day; kioskctl/bill_docs.c: bill list, show, dispute, answer, credit,
 * disputes. */
int kf_ctl_contract(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_contracts(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_asset(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_assets(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_bill(const struct kf_ctl *c, int argc, char **argv);
/* kioskctl/assess.c: rubric load, rubrics, assess run|issue|show|verify|standing|watchlist|
 * decide (docs/REPORTS.md). */
int kf_ctl_rubric(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_rubrics(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_assess(const struct kf_ctl *c, int argc, char **argv);
/* The bill subcommands of kioskctl/bill_docs.c (argv[0] is the subcommand word). */
int kf_ctl_bill_list(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_bill_show(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_bill_dispute(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_bill_answer(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_bill_credit(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_bill_disputes(const struct kf_ctl *c, int argc, char **argv);
/* kioskctl/bill_export.c: bill export NUMBER -o FILE (views/bundle.h). */
int kf_ctl_bill_export(const struct kf_ctl *c, int argc, char **argv);
/* The bureau's reports (docs/REPORTS.md). kioskctl/report_week.c: report week (the weekly
 * report: a table, its canonical JSON, CSV, XLSX or the PDF bulletin); kioskctl/coverage.c:
 * coverage (zones and terminals against the plan's targets). */
int kf_ctl_report(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_coverage(const struct kf_ctl *c, int argc, char **argv);
/* kioskctl/user.c: kiosk-web's users and API tokens (docs/WEB.md "Users"): user ..., and
 * users or tokens (the lists). */
int kf_ctl_user(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_users(const struct kf_ctl *c, int argc, char **argv);
/* kioskctl/cmd.c: commands to terminals: cmd send|list|show|cancel|refused. */
int kf_ctl_cmd(const struct kf_ctl *c, int argc, char **argv);
/* kioskctl/rollout.c: rollouts in waves: rollout list|show|halt|resume|cancel. */
int kf_ctl_rollout(const struct kf_ctl *c, int argc, char **argv);
/* kioskctl/inventory.c: the terminals' inventory: inventory [--by] [--where], inventory show. */
int kf_ctl_inventory(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_cmd_logs(const struct kf_ctl *c, int argc, char **argv); /* kioskctl/cmd_logs.c */
int kf_ctl_artifact(const struct kf_ctl *c, int argc, char **argv); /* kioskctl/artifact.c */
/* Shared by the billing commands (kioskctl/bill.c). The server's secret key from its key
 * file (printing why not). A recorded operation's who and why: both given, non-empty, of
 * bounded length (printing which is wrong). A bill document written where -o says (stdout
 * when NULL) in the format c asks for: json (the bytes as they are), csv, xlsx or pdf
 * (kf_render). A signed document: number, type, bank, period, ref, the JSON; it is signed,
 * stored and logged (action, subject number, detail {"digest":…}) in the caller's
 * transaction. */
int kf_ctl_server_key(const char *path, uint8_t sk[64]);
/* A recorded operation: rows and their signed-log entries in one write transaction. Reads
 * the server key at key_path, opens the store for writing, BEGIN IMMEDIATE (two operators
 * at once take turns), runs fn, commits when it returns 0 and rolls back otherwise; the key
 * is wiped. fn prints its own errors (kf_ctl_fail). Returns fn's status, or 1. */
typedef int (*kf_ctl_signed_fn)(struct kf_store *st, const uint8_t sk[64], void *ud);
int kf_ctl_signed_txn(const struct kf_ctl *c, const char *key_path, kf_ctl_signed_fn fn, void *ud);
int kf_ctl_who_why(const char *by, const char *reason);
/* A signed change's options and nothing else: --by WHO --reason TEXT --server-key FILE, parsed
 * from argv (getopt_long, optind reset) into *by, *reason, *key (left as they were when
 * absent). 0 with optind at the first operand, or -1 for any other option. */
int kf_ctl_signed_opts(int argc, char **argv, const char **by, const char **reason,
                       const char **key);
int kf_ctl_write_doc(const struct kf_ctl *c, const char *json, size_t len);
struct kf_billing_doc;
int kf_ctl_store_doc(struct kf_store *st, struct kf_billing_doc *d, const char *action,
                     const uint8_t sk[64]);

/* Helpers (kioskctl/sla.c). Open the database (write: read-write, else read-only), printing
 * why not. A local (Asia/Shanghai) "YYYY-MM-DD HH:MM:SS", "-" for 0 (messages to people).
 * Seconds as "1h05m", "12m05s" or "40s" ("never" for INT64_MAX). A time given on the command
 * line: "now", "YYYY-MM-DD HH:MM[:SS]" (or with T) in local time, or followed by Z or
 * +HH:MM. An integer as a cell's text (buf: 24 bytes). */
int kf_ctl_open_store(const struct kf_ctl *c, int write, struct kf_store **ret);
const char *kf_ctl_local_time(int64_t ms, char *buf, size_t cap);
const char *kf_ctl_dur(int64_t s, char *buf, size_t cap);
int kf_ctl_parse_time(const char *s, int64_t *ret);
const char *kf_ctl_int(int64_t v, char *buf);
/* A positive integer id (an incident's): 0 or -EINVAL. */
int kf_ctl_parse_id(const char *s, int64_t *ret);

/* ---- Output (kioskctl/print.c) ---------------------------------------------------------- */

/* Render one table into *ret_buf (owned, NUL-terminated; *ret_len bytes): the table view
 * (vertical: name/value lines), CSV in enc, or a JSON array of row objects. On a cell GBK
 * cannot write: -EILSEQ and err names the row, the column and the character. 0, -EILSEQ,
 * -ENOMEM. Pure: no I/O. */
int kf_ctl_render_table(const struct kf_qtable *t, enum kf_ctl_format fmt, enum kf_ctl_encoding enc,
                        int vertical, char **ret_buf, size_t *ret_len, char *err, size_t cap);
/* Print a command's tables as the options ask (stdout, or files with -o; one table per
 * CSV, --table picks one). Errors go to stderr. Returns the exit status: 0, 1 (output
 * failed), 2 (the options do not fit the tables: a CSV of several tables on stdout, an
 * unknown --table). */
int kf_ctl_print_report(const struct kf_ctl *c, const char *cmd, const struct kf_qreport *rep);
/* The same for a command of one table. Takes ownership of t (NULL: out of memory). */
int kf_ctl_print_table_free(const struct kf_ctl *c, const char *cmd, struct kf_qtable *t);
/* Print j (taken) to stdout, indented; for commands whose JSON is one object, not tables. */
int kf_ctl_emit_json(json_t *j);
/* Print "kioskctl: what: <store message or errno text>" and return 1. */
/* Open the store read only and load the names of its units, banks, zones, items and
 * families (views/names.h). 0 with both owned, or -errno after saying why on stderr. */
struct kf_view_names;
int kf_ctl_open_with_names(const struct kf_ctl *c, struct kf_store **ret_st,
                           struct kf_view_names **ret_names);
int kf_ctl_fail(struct kf_store *st, const char *what, int r);

#endif
