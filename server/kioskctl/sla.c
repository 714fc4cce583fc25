/* kioskctl/sla.c: kioskctl's fleet-state and SLA commands (docs/guides/TECHNICIAN.md):
 *
 *   incidents, incident ID, outage ID, window list   print what the views build
 *                                                    (views/outage.h, views/sla_tables.h)
 *   window add                                       enter a planned window
 *
 * The actions kioskd applies (ack ... assign) are in kioskctl/sla_act.c; state and the
 * monthly report in kioskctl/sla_report.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kf/err.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "views/names.h"
#include "views/outage.h"
#include "views/sla_tables.h"
#include "store/sla.h"

/* ---- Small helpers ----------------------------------------------------------------------- */

static int usage_err(const char *msg)
{
    fprintf(stderr, "kioskctl: %s (kioskctl --help)\n", msg);
    return 2;
}

/* "2026-11-27 09:31:02" in local time (Asia/Shanghai); "-" for 0. */
const char *kf_ctl_local_time(int64_t ms, char *buf, size_t cap)
{
    char day[16];
    int64_t sod;

    if (ms == 0 || ms == KF_TIME_NEVER) {
        snprintf(buf, cap, "-");
        return buf;
    }
    sod = kf_time_floor_div(ms + KF_CST_OFFSET_MS, 1000) % 86400;
    if (sod < 0)
        sod += 86400;
    kf_day_format(kf_local_day(ms), day, sizeof(day));
    snprintf(buf, cap, "%s %02d:%02d:%02d", day, (int)(sod / 3600), (int)(sod / 60 % 60),
             (int)(sod % 60));
    return buf;
}

/* Seconds as "1h05m", "12m05s" or "40s" ("-12m05s" once past due). */
const char *kf_ctl_dur(int64_t s, char *buf, size_t cap)
{
    int64_t a = s < 0 ? -s : s;

    if (s == INT64_MAX)
        snprintf(buf, cap, "never");
    else if (a < 60)
        snprintf(buf, cap, "%s%llds", s < 0 ? "-" : "", (long long)a);
    else if (a < 3600)
        snprintf(buf, cap, "%s%lldm%02llds", s < 0 ? "-" : "", (long long)(a / 60),
                 (long long)(a % 60));
    else
        snprintf(buf, cap, "%s%lldh%02lldm", s < 0 ? "-" : "", (long long)(a / 3600),
                 (long long)(a / 60 % 60));
    return buf;
}

/* Parse a time: "now", "YYYY-MM-DD HH:MM[:SS]" or with a T, local time unless followed by
 * "Z" (UTC) or "+HH:MM"/"-HH:MM". 0 or -EINVAL. */
int kf_ctl_parse_time(const char *s, int64_t *ret)
{
    int32_t day;
    int h = 0, m = 0, sec = 0, n = 0, oh = 0, om = 0;
    char date[11], sep = 0, sign = 0;
    const char *z;
    int64_t off = KF_CST_OFFSET_MS;

    if (strcmp(s, "now") == 0) {
        *ret = kf_now_ms();
        return 0;
    }
    if (strlen(s) < 16)
        return -EINVAL;
    memcpy(date, s, 10);
    date[10] = '\0';
    sep = s[10];
    if (kf_day_parse(date, &day) < 0 || (sep != ' ' && sep != 'T') ||
        sscanf(s + 11, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5)
        return -EINVAL;
    z = s + 16;
    if (*z == ':') {
        if (sscanf(z, ":%2d%n", &sec, &n) != 1 || n != 3)
            return -EINVAL;
        z += 3;
    }
    if (*z == 'Z') {
        off = 0;
        z++;
    } else if (*z == '+' || *z == '-') {
        sign = *z;
        if (sscanf(z + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
            return -EINVAL;
        off = (sign == '-' ? -1 : 1) * ((int64_t)oh * 3600 + om * 60) * 1000;
        z += 6;
    }
    if (*z != '\0' || h > 23 || m > 59 || sec > 59)
        return -EINVAL;
    /* kf_day_start_ms is local midnight; shift to the given offset. */
    *ret =
        kf_day_start_ms(day) + KF_CST_OFFSET_MS - off + ((int64_t)h * 3600 + m * 60 + sec) * 1000;
    return 0;
}

int kf_ctl_parse_id(const char *s, int64_t *ret)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v <= 0)
        return -EINVAL;
    *ret = v;
    return 0;
}

int kf_ctl_open_store(const struct kf_ctl *c, int write, struct kf_store **ret)
{
    int r = kf_store_open(c->db, write ? KF_STORE_NOCREATE : KF_STORE_RDONLY, ret);

    if (r < 0)
        fprintf(stderr, "kioskctl: cannot open database %s: %s\n", c->db,
                r == -ENOENT ? "not a kioskfleet database" : kf_strerror(r));
    return r;
}

const char *kf_ctl_int(int64_t v, char *buf)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

/* ---- incidents, incident ID --------------------------------------------------------------- */

/* An instant as a cell (ms), NULL for none. */
static const char *ms_cell(int64_t ms, char *buf)
{
    return ms == 0 || ms == KF_TIME_NEVER ? NULL : kf_ctl_int(ms, buf);
}

int kf_ctl_open_with_names(const struct kf_ctl *c, struct kf_store **ret_st,
                           struct kf_view_names **ret_names)
{
    struct kf_store *st;
    int r = kf_ctl_open_store(c, 0, &st);

    if (r < 0)
        return r;
    r = kf_view_names_load(st, ret_names);
    if (r < 0) {
        kf_ctl_fail(st, "names", r);
        kf_store_free(st);
        return r;
    }
    *ret_st = st;
    return 0;
}

/* incidents [--flat] [--assignee NAME | --unassigned]: the queue, mass outages folded. */
static int cmd_incidents(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"flat", no_argument, NULL, 'f'},
        {"assignee", required_argument, NULL, 'a'},
        {"unassigned", no_argument, NULL, 'u'},
        {NULL, 0, NULL, 0},
    };
    struct kf_view_outage_filter f = {0};
    struct kf_view_outage_queue *v = NULL;
    struct kf_view_names *names = NULL;
    struct kf_qtable *t = NULL;
    struct kf_store *st;
    char err[256] = "";
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'f')
            f.flat = 1;
        else if (ch == 'a')
            f.assignee = optarg;
        else if (ch == 'u')
            f.unassigned = 1;
        else
            return 2;
    }
    if (optind != argc || (f.assignee != NULL && f.unassigned))
        return usage_err("incidents [--flat] [--assignee NAME | --unassigned]");
    if (kf_ctl_open_with_names(c, &st, &names) < 0)
        return 1;
    r = kf_view_outage_queue(st, kf_now_ms(), &v, err, sizeof(err));
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: incidents: %s\n", err);
        kf_view_names_free(names);
        return 1;
    }
    r = kf_view_outage_queue_table(v, names, &f, &t);
    kf_view_outage_queue_free(v);
    kf_view_names_free(names);
    return kf_ctl_print_table_free(c, "incidents", r == 0 ? t : NULL);
}

/* outage ID: one mass outage and its incidents. */
int kf_ctl_outage(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_view_outage_queue *v = NULL;
    struct kf_view_names *names = NULL;
    struct kf_qreport *rep = NULL;
    struct kf_store *st;
    char err[256] = "";
    int r;

    if (argc != 2)
        return usage_err("outage ID (Z17, U17, F17: kioskctl incidents lists them)");
    if (kf_ctl_open_with_names(c, &st, &names) < 0)
        return 1;
    r = kf_view_outage_queue(st, kf_now_ms(), &v, err, sizeof(err));
    kf_store_free(st);
    if (r == 0)
        r = kf_view_outage_report(v, names, argv[1], &rep, err, sizeof(err));
    kf_view_outage_queue_free(v);
    kf_view_names_free(names);
    if (r < 0) {
        fprintf(stderr, "kioskctl: outage: %s\n", err);
        return 1;
    }
    r = kf_ctl_print_report(c, "outage", rep);
    kf_store_query_report_free(rep);
    return r;
}

/* incident ID: the tables the API serves for it (views/sla_tables.h). */
static int cmd_incident(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_view_names *names = NULL;
    struct kf_qreport *rep = NULL;
    struct kf_store *st;
    char err[256] = "";
    int64_t id;
    int r;

    if (argc != 2 || kf_ctl_parse_id(argv[1], &id) < 0)
        return usage_err("incident ID");
    if (kf_ctl_open_with_names(c, &st, &names) < 0)
        return 1;
    r = kf_view_sla_tables_incident(st, names, id, kf_now_ms(), &rep, err, sizeof(err));
    kf_store_free(st);
    kf_view_names_free(names);
    if (r < 0) {
        fprintf(stderr, "kioskctl: %s\n", err);
        return 1;
    }
    r = kf_ctl_print_report(c, "incident", rep);
    kf_store_query_report_free(rep);
    return r;
}

int kf_ctl_incidents(const struct kf_ctl *c, int argc, char **argv)
{
    return argc >= 2 && strcmp(argv[0], "incident") == 0 ? cmd_incident(c, argc, argv)
                                                         : cmd_incidents(c, argc, argv);
}

/* ---- window add | list ---------------------------------------------------------------------- */

static int window_add(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"device", required_argument, NULL, 'd'},
        {"zone", required_argument, NULL, 'z'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"reason", required_argument, NULL, 'r'},
        {"by", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    const char *target = NULL, *reason = NULL, *by = NULL;
    int64_t from = 0, to = 0, id = 0, now = kf_now_ms();
    int is_zone = 0, ch, r, have_from = 0, have_to = 0;
    struct kf_store *st;
    char a[32], b[32];

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
        case 'z':
            if (target != NULL)
                return usage_err("one of --device ID or --zone ID");
            target = optarg;
            is_zone = ch == 'z';
            break;
        case 'f':
        case 't':
            if (kf_ctl_parse_time(optarg, ch == 'f' ? &from : &to) < 0)
                return usage_err("times are 'YYYY-MM-DD HH:MM' (local), with Z or +HH:MM for "
                                 "another offset, or 'now'");
            have_from |= ch == 'f';
            have_to |= ch == 't';
            break;
        case 'r':
            reason = optarg;
            break;
        case 'b':
            by = optarg;
            break;
        default:
            return 2;
        }
    }
    if (optind != argc || !target || !have_from || !have_to || !reason || !by)
        return usage_err("window add --device ID|--zone ID --from TIME --to TIME --reason TEXT "
                         "--by WHO");
    if (kf_ctl_open_store(c, 1, &st) < 0)
        return 1;
    r = kf_store_sla_window_add(st, target, is_zone, from, to, reason, by, now, &id);
    if (r < 0) {
        kf_ctl_fail(st, "window add", r);
        kf_store_free(st);
        return 1;
    }
    kf_store_free(st);
    printf("window %lld: %s %s, %s .. %s (local time): %s\n", (long long)id,
           is_zone ? "zone" : "terminal", target, kf_ctl_local_time(from, a, sizeof(a)),
           kf_ctl_local_time(to, b, sizeof(b)), reason);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int window_list(const struct kf_ctl *c, int argc, char **argv)
{
    static const char *const cols[] = {"id", "terminal", "zone", "zone_name",  "from",
                                       "to", "reason",   "by",   "entered_at", NULL};
    struct kf_sla_window_row *w = NULL;
    struct kf_view_names *names = NULL;
    struct kf_qtable *t;
    struct kf_store *st;
    size_t n = 0;
    int all = argc == 2 && strcmp(argv[1], "--all") == 0, r;

    if (argc > 2 || (argc == 2 && !all))
        return usage_err("window list [--all]");
    if (kf_ctl_open_with_names(c, &st, &names) < 0)
        return 1;
    r = kf_store_sla_windows(st, all ? INT64_MIN : kf_now_ms(), &w, &n);
    if (r < 0) {
        kf_ctl_fail(st, "window list", r);
        kf_store_free(st);
        kf_view_names_free(names);
        return 1;
    }
    kf_store_free(st);
    t = kf_store_query_table_new(
        "windows", all ? "planned maintenance windows" : "planned maintenance windows not yet over",
        cols, "ixxxttxxt");
    for (size_t i = 0; t && i < n; i++) {
        char id[24], f[24], to[24], e[24];
        const char *zone = w[i].zone_id[0] ? w[i].zone_id : NULL;
        const char *cells[] = {kf_ctl_int(w[i].id, id),
                               w[i].asset_id[0] ? w[i].asset_id : NULL,
                               zone,
                               kf_view_names_get(names, KF_NAMES_ZONE, zone),
                               ms_cell(w[i].start_ms, f),
                               ms_cell(w[i].end_ms, to),
                               w[i].reason,
                               w[i].by,
                               ms_cell(w[i].entered_ms, e)};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    free(w);
    kf_view_names_free(names);
    return kf_ctl_print_table_free(c, "window list", t);
}

int kf_ctl_window(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return window_add(c, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return window_list(c, argc - 1, argv + 1);
    return usage_err("window add ... | window list [--all]");
}
