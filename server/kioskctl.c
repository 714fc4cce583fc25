/* kioskctl: the operators' CLI. Reads the server database read-only (safe while kioskd
 * runs: WAL lets readers in beside the writer); every query lives in store_query.c. */
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

#include "store.h"
#include "store_audit.h"
#include "store_query.h"

enum format {
    FMT_TABLE,
    FMT_CSV,
    FMT_JSON,
};

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
          "                               (exit 0 clean, 3 problems found)\n",
          f);
}

/* Display columns of one code point: 2 for East Asian wide/fullwidth, 0 for combining
 * marks and zero-width characters, else 1. Enough for Chinese names and ASCII codes. */
static int cp_width(uint32_t c)
{
    if (c == 0x200B || (c >= 0x0300 && c <= 0x036F) || (c >= 0xFE00 && c <= 0xFE0F))
        return 0;
    if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
        (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
        (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
        (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
        (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
        (c >= 0x20000 && c <= 0x3FFFD))
        return 2;
    return 1;
}

/* Display width of a UTF-8 string; an invalid byte counts as one column. */
static size_t str_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;

    while (*p) {
        uint32_t c;
        int n;

        if (*p < 0x80) {
            c = *p;
            n = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            c = *p & 0x1Fu;
            n = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            c = *p & 0x0Fu;
            n = 3;
        } else if ((*p & 0xF8) == 0xF0) {
            c = *p & 0x07u;
            n = 4;
        } else {
            w++;
            p++;
            continue;
        }
        for (int i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                n = 1;
                c = 0xFFFD;
                break;
            }
            c = (c << 6) | (p[i] & 0x3Fu);
        }
        w += (size_t)cp_width(c);
        p += n;
    }
    return w;
}

static void pad(FILE *f, size_t n)
{
    while (n-- > 0)
        fputc(' ', f);
}

static const char *cell_text(const struct kf_qtable *t, size_t r, size_t c)
{
    const char *v = kf_qtable_cell(t, r, c);

    return v ? v : "-";
}

/* A one-row table with many columns reads better as "name  value" lines. */
static void print_vertical(FILE *f, const struct kf_qtable *t)
{
    size_t w = 0;

    for (size_t c = 0; c < t->ncols; c++) {
        size_t cw = str_width(t->cols[c]);
        w = cw > w ? cw : w;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        fputs(t->cols[c], f);
        pad(f, w - str_width(t->cols[c]) + 2);
        fprintf(f, "%s\n", cell_text(t, 0, c));
    }
}

static int print_table(FILE *f, const struct kf_qtable *t)
{
    size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));

    if (!w)
        return -ENOMEM;
    if (t->title)
        fprintf(f, "== %s ==\n", t->title);
    if (t->nrows == 1 && t->ncols > 8) {
        print_vertical(f, t);
        free(w);
        return 0;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = str_width(t->cols[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = str_width(cell_text(t, r, c));
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    for (size_t r = 0; r <= t->nrows + 1; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v;
            size_t vw;

            if (r == 1) { /* the rule under the header */
                for (size_t i = 0; i < w[c]; i++)
                    fputc('-', f);
                if (c + 1 < t->ncols)
                    fputs("  ", f);
                continue;
            }
            v = r == 0 ? t->cols[c] : cell_text(t, r - 2, c);
            vw = str_width(v);
            if (t->numeric[c]) {
                pad(f, w[c] - vw);
                fputs(v, f);
            } else {
                fputs(v, f);
                if (c + 1 < t->ncols)
                    pad(f, w[c] - vw);
            }
            if (c + 1 < t->ncols)
                fputs("  ", f);
        }
        fputc('\n', f);
    }
    if (t->nrows == 0)
        fputs("(none)\n", f);
    free(w);
    return 0;
}

static void csv_field(FILE *f, const char *v)
{
    if (!v)
        return;
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void print_csv(FILE *f, const struct kf_qtable *t)
{
    if (t->title)
        fprintf(f, "# %s\n", t->title);
    for (size_t c = 0; c < t->ncols; c++) {
        csv_field(f, t->cols[c]);
        fputc(c + 1 < t->ncols ? ',' : '\n', f);
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            csv_field(f, kf_qtable_cell(t, r, c));
            fputc(c + 1 < t->ncols ? ',' : '\n', f);
        }
    }
}

static json_t *json_cell(const struct kf_qtable *t, size_t r, size_t c)
{
    const char *v = kf_qtable_cell(t, r, c);
    char *end;

    if (!v)
        return json_null();
    if (t->numeric[c]) {
        if (strpbrk(v, ".eE")) {
            double d = strtod(v, &end);
            if (*end == '\0')
                return json_real(d);
        } else {
            long long i = strtoll(v, &end, 10);
            if (*end == '\0')
                return json_integer(i);
        }
    }
    return json_string(v);
}

/* An array of row objects; NULL on allocation failure. */
static json_t *table_json(const struct kf_qtable *t)
{
    json_t *rows = json_array();

    for (size_t r = 0; rows && r < t->nrows; r++) {
        json_t *o = json_object();

        for (size_t c = 0; o && c < t->ncols; c++) {
            if (json_object_set_new(o, t->cols[c], json_cell(t, r, c)) < 0) {
                json_decref(o);
                o = NULL;
            }
        }
        if (!o || json_array_append_new(rows, o) < 0) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

static int emit_json(json_t *j)
{
    int r;

    if (!j)
        return -ENOMEM;
    r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(j);
    return r < 0 ? -EIO : 0;
}

static int print_one(const struct kf_qtable *t, enum format fmt)
{
    switch (fmt) {
    case FMT_CSV:
        print_csv(stdout, t);
        return 0;
    case FMT_JSON:
        return emit_json(table_json(t));
    default:
        return print_table(stdout, t);
    }
}

/* Reports: tables one after another (table, CSV) or one object keyed by title (JSON).
 * single_row: titles whose table is one row print as an object, not an array. */
static int print_report(const struct kf_qreport *rep, enum format fmt)
{
    json_t *root;
    int r;

    if (fmt != FMT_JSON) {
        for (size_t i = 0; i < rep->n; i++) {
            if (i > 0)
                fputc('\n', stdout);
            r = print_one(rep->tables[i], fmt);
            if (r < 0)
                return r;
        }
        return 0;
    }
    root = json_object();
    for (size_t i = 0; root && i < rep->n; i++) {
        const struct kf_qtable *t = rep->tables[i];
        json_t *rows = table_json(t);

        if (rows && json_object_set_new(root, t->title ? t->title : "table", rows) < 0)
            rows = NULL;
        if (!rows) {
            json_decref(root);
            root = NULL;
        }
    }
    return emit_json(root);
}

struct opts {
    const char *db, *from, *to, *by;
    enum format fmt;
};

static int parse_day(const char *s, const char *name, int32_t *ret)
{
    if (kf_day_parse(s, ret) < 0) {
        fprintf(stderr, "kioskctl: %s must be a date YYYY-MM-DD, not '%s'\n", name, s);
        return -EINVAL;
    }
    return 0;
}

static int fail(struct kf_store *st, const char *what, int r)
{
    const char *msg = kf_store_errmsg(st);

    fprintf(stderr, "kioskctl: %s: %s\n", what, *msg ? msg : kf_strerror(r));
    return 1;
}

/* kioskctl verify: the auditor's check (docs/guides/AUDITOR.md). */
static int run_verify(struct kf_store *st, enum format fmt)
{
    struct kf_audit a;
    int r = kf_store_audit(st, &a), clean;

    if (r < 0)
        return fail(st, "verify", r);
    clean = kf_audit_clean(&a);
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
        {"usage_mismatches", a.usage_mismatches},
    };
    const size_t n = sizeof(rows) / sizeof(rows[0]);

    if (fmt == FMT_JSON) {
        printf("{");
        for (size_t i = 0; i < n; i++)
            printf("\"%s\":%llu,", rows[i].name, (unsigned long long)rows[i].v);
        printf("\"clean\":%s}\n", clean ? "true" : "false");
    } else if (fmt == FMT_CSV) {
        printf("check,count\n");
        for (size_t i = 0; i < n; i++)
            printf("%s,%llu\n", rows[i].name, (unsigned long long)rows[i].v);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%-26s %12llu\n", rows[i].name, (unsigned long long)rows[i].v);
        if (clean)
            printf("evidence verified: every stored frame's signature checks under its "
                   "device's key, every record matches its frame, usage_daily equals the sum "
                   "of the transactions\n");
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
        r = kf_query_devices(st, &t);
    } else if (strcmp(cmd, "device") == 0) {
        r = kf_query_device(st, arg, &rep);
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
        r = kf_query_usage(st, from, to, o->by ? o->by : "zone", &t);
        if (r == -EINVAL) {
            fprintf(stderr, "kioskctl: --by must be one of "
                            "device|zone|unit|bank|item|family|device,item\n");
            return 2;
        }
    } else if (strcmp(cmd, "rejects") == 0) {
        r = kf_query_rejects(st, &t);
    } else if (strcmp(cmd, "verify") == 0) {
        return run_verify(st, o->fmt);
    } else {
        from = INT32_MIN;
        to = INT32_MAX;
        if (o->from && parse_day(o->from, "--from", &from) < 0)
            return 2;
        if (o->to && parse_day(o->to, "--to", &to) < 0)
            return 2;
        r = kf_query_summary(st, today, from, to, &rep);
    }
    if (r < 0)
        return fail(st, cmd, r);
    r = t ? print_one(t, o->fmt) : print_report(rep, o->fmt);
    kf_qtable_free(t);
    kf_qreport_free(rep);
    if (r < 0) {
        fprintf(stderr, "kioskctl: output: %s\n", kf_strerror(r));
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
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
    struct opts o = {.fmt = FMT_TABLE};
    struct kf_store *st;
    const char *cmd, *arg = NULL;
    int c, r, nargs, known = 0;

    kf_log_set_ident("kioskctl");
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.db = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "table") == 0) {
                o.fmt = FMT_TABLE;
            } else if (strcmp(optarg, "csv") == 0) {
                o.fmt = FMT_CSV;
            } else if (strcmp(optarg, "json") == 0) {
                o.fmt = FMT_JSON;
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
