/* ctl.h: kioskctl's shared parts. Each command family beyond the basic queries lives in its
 * own ctl_<area>.c and is one row of kioskctl.c's command table. Main thread only. */
#ifndef KF_KIOSKCTL_CTL_H
#define KF_KIOSKCTL_CTL_H

#include <jansson.h>

#include "store/store.h"
#include "store/query.h"

enum kf_ctl_format {
    KF_FMT_TABLE,
    KF_FMT_CSV,
    KF_FMT_JSON,
};

/* The global options, parsed before the command word. */
struct kf_ctl {
    const char *db;
    enum kf_ctl_format fmt;
};

/* A command family: argv[0] is the command word, its own words and options follow
 * (parse them with getopt_long after setting optind = 0). Returns the exit status:
 * 0 done, 1 failed, 2 usage error, 3 a check found problems. */
typedef int (*kf_ctl_cmd_fn)(const struct kf_ctl *c, int argc, char **argv);

int kf_ctl_audit(const struct kf_ctl *c, int argc, char **argv); /* kioskctl/audit.c */
/* kioskctl/quarantine.c: the frames the store refused and kept (list, show, replay). */
int kf_ctl_quarantine(const struct kf_ctl *c, int argc, char **argv);

/* Fleet state and the SLA (docs/guides/TECHNICIAN.md). kioskctl/sla.c: incidents and incident ID
 * (the queue and one incident), the actions kioskd applies (ack, onsite, resolve, close,
 * attribute, note) and planned windows; kioskctl/sla_report.c: state and the monthly report. */
int kf_ctl_incidents(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_ack(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_onsite(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_resolve(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_close(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_attribute(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_note(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_window(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_state(const struct kf_ctl *c, int argc, char **argv);
int kf_ctl_sla(const struct kf_ctl *c, int argc, char **argv);

/* Helpers of the SLA commands (kioskctl/sla.c). Open the database (write: read-write, else
 * read-only), printing why not. A local (Asia/Shanghai) "YYYY-MM-DD HH:MM:SS", "-" for 0.
 * Seconds as "1h05m", "12m05s" or "40s" ("never" for INT64_MAX). A time given on the command line:
 * "now", "YYYY-MM-DD HH:MM[:SS]" (or with T) in local time, or followed by Z or +HH:MM. A table
 * built row by row (numeric: one 'n' per numeric column, else '.'), printed and freed. */
int kf_ctl_open_store(const struct kf_ctl *c, int write, struct kf_store **ret);
const char *kf_ctl_local_time(int64_t ms, char *buf, size_t cap);
const char *kf_ctl_dur(int64_t s, char *buf, size_t cap);
int kf_ctl_parse_time(const char *s, int64_t *ret);
struct kf_qtable *kf_ctl_table_new(const char *title, const char *const *cols, const char *numeric);
int kf_ctl_table_row(struct kf_qtable *t, const char *const *cells);
int kf_ctl_table_print_free(struct kf_qtable *t, enum kf_ctl_format fmt);

/* Output (kioskctl/print.c). Tables print as aligned text, CSV or a JSON array of objects;
 * reports as several tables, or one JSON object keyed by title. 0 or -errno. */
int kf_ctl_print_table(const struct kf_qtable *t, enum kf_ctl_format fmt);
int kf_ctl_print_report(const struct kf_qreport *rep, enum kf_ctl_format fmt);
/* Print j (taken) to stdout, indented. */
int kf_ctl_emit_json(json_t *j);
/* Print "kioskctl: what: <store message or errno text>" and return 1. */
int kf_ctl_fail(struct kf_store *st, const char *what, int r);

#endif
