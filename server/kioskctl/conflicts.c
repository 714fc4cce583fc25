/* kioskctl/conflicts.c: what terminals sent twice, differently (store/conflict.h,
 * docs/KIOSKCTL.md):
 *   conflicts [--device ID]        frames refused for repeating a stored seq with other records
 *   conflict ID                    one of them, seq by seq: the stored record and the received
 *   app-duplicates [--device ID]   records kept apart for repeating an application id
 *   reconcile --device ID JOURNAL  the device's records against the application's journal
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/record.h>

#include "kioskctl/ctl.h"
#include "store/conflict.h"

/* --device ID, the only option of conflicts and app-duplicates. 0, or 2 (usage). */
static int device_opt(int argc, char **argv, const char *usage, const char **ret)
{
    static const struct option longopts[] = {{"device", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    int ch;

    *ret = NULL;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch != 'd') {
            fprintf(stderr, "usage: kioskctl %s\n", usage);
            return 2;
        }
        *ret = optarg;
    }
    if (optind != argc) {
        fprintf(stderr, "usage: kioskctl %s\n", usage);
        return 2;
    }
    return 0;
}

int kf_ctl_conflicts(const struct kf_ctl *c, int argc, char **argv)
{
    static const char *const cols[] = {"id",       "device",          "seq_first",
                                       "seq_last", "conflict_seq",    "stored_frame",
                                       "received", "stored_received", NULL};
    struct kf_seq_conflict *v = NULL;
    struct kf_qtable *t;
    struct kf_store *st;
    const char *dev;
    size_t n = 0;
    int r = device_opt(argc, argv, "conflicts [--device ID]", &dev);

    if (r != 0)
        return r;
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_conflicts(st, dev, &v, &n);
    if (r < 0) {
        r = kf_ctl_fail(st, "conflicts", r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    t = kf_store_query_table_new("conflicts", "frames that repeated stored seqs with other records",
                                 cols, "ixiiiitt");
    for (size_t i = 0; t && i < n; i++) {
        char id[24], a[24], b[24], cs[24], env[24], at[24], sat[24];
        const char *cells[] = {kf_ctl_int(v[i].id, id),
                               v[i].device_id,
                               kf_ctl_int((int64_t)v[i].seq_first, a),
                               kf_ctl_int((int64_t)(v[i].seq_first + v[i].count - 1), b),
                               kf_ctl_int((int64_t)v[i].conflict_seq, cs),
                               kf_ctl_int(v[i].stored_envelope_id, env),
                               kf_ctl_int(v[i].recv_ms, at),
                               v[i].stored_recv_ms ? kf_ctl_int(v[i].stored_recv_ms, sat) : NULL};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    free(v);
    return kf_ctl_print_table_free(c, "conflicts", t);
}

struct show_ctx {
    struct kf_qtable *t;
};

static int show_seq(void *ud, const struct kf_seq_conflict *sc, uint64_t seq, const char *stored,
                    const char *received, int differs)
{
    struct show_ctx *s = ud;
    char q[24];
    const char *cells[] = {sc->device_id, kf_ctl_int((int64_t)seq, q), differs ? "1" : "0", stored,
                           received};

    return kf_store_query_table_add_row(s->t, cells) < 0 ? -ENOMEM : 0;
}

int kf_ctl_conflict(const struct kf_ctl *c, int argc, char **argv)
{
    static const char *const cols[] = {"device", "seq", "differs", "stored", "received", NULL};
    struct show_ctx s = {0};
    struct kf_store *st;
    long long id;
    char *end;
    int r;

    if (argc != 2 || (id = strtoll(argv[1], &end, 10)) <= 0 || *end != '\0') {
        fprintf(stderr, "usage: kioskctl conflict ID (kioskctl conflicts lists them)\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    s.t = kf_store_query_table_new("conflict", "the stored record and the one received, per seq",
                                   cols, "xibxx");
    r = s.t ? kf_store_conflict_show(st, id, show_seq, &s) : -ENOMEM;
    if (r < 0) {
        kf_store_query_table_free(s.t);
        r = kf_ctl_fail(st, "conflict", r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "conflict", s.t);
}

int kf_ctl_app_duplicates(const struct kf_ctl *c, int argc, char **argv)
{
    static const char *const cols[] = {"device", "seq", "app_id", "counted_seq", "received", NULL};
    struct kf_app_duplicate *v = NULL;
    struct kf_qtable *t;
    struct kf_store *st;
    const char *dev;
    size_t n = 0;
    int r = device_opt(argc, argv, "app-duplicates [--device ID]", &dev);

    if (r != 0)
        return r;
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_app_duplicates(st, dev, &v, &n);
    if (r < 0) {
        r = kf_ctl_fail(st, "app-duplicates", r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    t = kf_store_query_table_new(
        "app_duplicates", "records kept apart for repeating an application id", cols, "xixit");
    for (size_t i = 0; t && i < n; i++) {
        char q[24], f[24], at[24];
        const char *cells[] = {v[i].device_id, kf_ctl_int((int64_t)v[i].seq, q), v[i].app_id,
                               kf_ctl_int((int64_t)v[i].first_seq, f),
                               kf_ctl_int(v[i].recv_ms, at)};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    free(v);
    return kf_ctl_print_table_free(c, "app-duplicates", t);
}

/* ---- reconcile ---- */

/* One line of the application's journal. */
struct jline {
    char app_id[KF_APP_ID_MAX + 1];
    char item[KF_ITEM_CODE_MAX + 1]; /* "" when the journal has no item column */
    char outcome[16];
    long line;
};

#define JOURNAL_LINE_MAX 4096
#define JOURNAL_ROWS_MAX 10000000L
#define JOURNAL_FIELDS_MAX 64

/* Split one CSV line (RFC 4180: quoted fields, "" inside quotes; no newline inside a field)
 * in place. Returns the number of fields, or -1 for a stray quote or too many fields. */
static int csv_split(char *s, char **f, int max)
{
    int n = 0;

    for (;;) {
        char *w;

        if (n == max)
            return -1;
        if (*s == '"') {
            w = f[n++] = ++s;
            for (;;) {
                if (*s == '\0')
                    return -1;
                if (*s == '"' && s[1] == '"') {
                    *w++ = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    *w++ = *s++;
                }
            }
            if (*s != ',' && *s != '\0')
                return -1;
            *w = '\0';
        } else {
            f[n++] = s;
            s += strcspn(s, ",\"");
            if (*s == '"')
                return -1;
        }
        if (*s == '\0')
            return n;
        *s++ = '\0';
    }
}

static int jline_cmp(const void *a, const void *b)
{
    return strcmp(((const struct jline *)a)->app_id, ((const struct jline *)b)->app_id);
}

/* Read the journal: a header naming an app_id column, optionally item and outcome; the rest
 * is ignored. Sorted by app_id. 0, or 2 after saying what is wrong with which line. */
static int read_journal(const char *path, struct jline **ret, size_t *ret_n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char buf[JOURNAL_LINE_MAX + 2], *fld[JOURNAL_FIELDS_MAX];
    int c_id = -1, c_item = -1, c_out = -1, nf, rc = 2;
    struct jline *v = NULL;
    size_t n = 0, cap = 0;
    long line = 0;

    if (!f) {
        fprintf(stderr, "kioskctl: reconcile: %s: %s\n", path, strerror(errno));
        return 1;
    }
    while (fgets(buf, sizeof(buf), f)) {
        size_t len = strlen(buf);
        char *s = buf;

        line++;
        if (len == sizeof(buf) - 1 && buf[len - 1] != '\n') {
            fprintf(stderr, "kioskctl: reconcile: %s:%ld: line longer than %d bytes\n", path, line,
                    JOURNAL_LINE_MAX);
            goto out;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (line == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3; /* Excel's BOM */
        if (*s == '\0')
            continue;
        nf = csv_split(s, fld, JOURNAL_FIELDS_MAX);
        if (nf < 0) {
            fprintf(stderr,
                    "kioskctl: reconcile: %s:%ld: not a CSV line (a stray quote, or more "
                    "than %d fields)\n",
                    path, line, JOURNAL_FIELDS_MAX);
            goto out;
        }
        if (c_id < 0) {
            for (int i = 0; i < nf; i++) {
                c_id = strcmp(fld[i], "app_id") == 0 ? i : c_id;
                c_item = strcmp(fld[i], "item") == 0 ? i : c_item;
                c_out = strcmp(fld[i], "outcome") == 0 ? i : c_out;
            }
            if (c_id < 0) {
                fprintf(stderr,
                        "kioskctl: reconcile: %s: the first line must name the columns, "
                        "one of them app_id (item and outcome are compared when given)\n",
                        path);
                goto out;
            }
            continue;
        }
        if (c_id >= nf || !kf_record_app_id_ok(fld[c_id])) {
            fprintf(stderr,
                    "kioskctl: reconcile: %s:%ld: app_id must be 1..%d of "
                    "[A-Za-z0-9._:/-]\n",
                    path, line, KF_APP_ID_MAX);
            goto out;
        }
        if ((long)n >= JOURNAL_ROWS_MAX) {
            fprintf(stderr, "kioskctl: reconcile: %s: more than %ld lines\n", path,
                    JOURNAL_ROWS_MAX);
            goto out;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 1024;
            struct jline *nv = realloc(v, ncap * sizeof(*nv));

            if (!nv) {
                fprintf(stderr, "kioskctl: reconcile: out of memory\n");
                rc = 1;
                goto out;
            }
            v = nv;
            cap = ncap;
        }
        memset(&v[n], 0, sizeof(v[n]));
        snprintf(v[n].app_id, sizeof(v[n].app_id), "%s", fld[c_id]);
        if (c_item >= 0 && c_item < nf)
            snprintf(v[n].item, sizeof(v[n].item), "%s", fld[c_item]);
        if (c_out >= 0 && c_out < nf)
            snprintf(v[n].outcome, sizeof(v[n].outcome), "%s", fld[c_out]);
        v[n].line = line;
        n++;
    }
    if (ferror(f)) {
        fprintf(stderr, "kioskctl: reconcile: %s: %s\n", path, strerror(errno));
        rc = 1;
        goto out;
    }
    if (c_id < 0) {
        fprintf(stderr, "kioskctl: reconcile: %s: empty (the first line names the columns)\n",
                path);
        goto out;
    }
    qsort(v, n, sizeof(*v), jline_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i].app_id, v[i - 1].app_id) == 0) {
            fprintf(stderr,
                    "kioskctl: reconcile: %s:%ld: app_id %s is also on line %ld (a journal "
                    "number is unique per terminal)\n",
                    path, v[i].line, v[i].app_id, v[i - 1].line);
            goto out;
        }
    }
    *ret = v;
    *ret_n = n;
    v = NULL;
    rc = 0;
out:
    free(v);
    if (f != stdin)
        fclose(f);
    return rc;
}

struct tally {
    long journal, server, matched, missing, extra, differs, repeats;
};

static int diff_row(struct kf_qtable *t, const char *status, const struct jline *j,
                    const struct kf_app_record *a)
{
    char seq[24], rep[24];
    const char *cells[] = {status,
                           j ? j->app_id : a->app_id,
                           a ? kf_ctl_int((int64_t)a->seq, seq) : NULL,
                           j && j->item[0] ? j->item : NULL,
                           j && j->outcome[0] ? j->outcome : NULL,
                           a && a->item[0] ? a->item : NULL,
                           a && a->outcome[0] ? a->outcome : NULL,
                           a ? kf_ctl_int(a->repeats, rep) : NULL};

    return kf_store_query_table_add_row(t, cells);
}

/* Walk both sorted lists once: what is on one side only, what differs, what came twice. */
static int reconcile(const struct jline *j, size_t nj, const struct kf_app_record *a, size_t na,
                     struct kf_qtable *t, struct tally *k)
{
    size_t x = 0, y = 0;
    int r = 0;

    k->journal = (long)nj;
    k->server = (long)na;
    while (r == 0 && (x < nj || y < na)) {
        int c = x == nj ? 1 : y == na ? -1 : strcmp(j[x].app_id, a[y].app_id);

        if (c < 0) {
            k->missing++;
            r = diff_row(t, "missing_on_server", &j[x++], NULL);
            continue;
        }
        if (c > 0) {
            k->extra++;
            r = diff_row(t, "not_in_journal", NULL, &a[y++]);
            continue;
        }
        if ((j[x].item[0] && strcmp(j[x].item, a[y].item) != 0) ||
            (j[x].outcome[0] && strcmp(j[x].outcome, a[y].outcome) != 0)) {
            k->differs++;
            r = diff_row(t, "differs", &j[x], &a[y]);
        } else {
            k->matched++;
            if (a[y].repeats > 0)
                r = diff_row(t, "repeat_kept_apart", &j[x], &a[y]);
        }
        k->repeats += a[y].repeats;
        x++;
        y++;
    }
    return r;
}

int kf_ctl_reconcile(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"device", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    static const char *const dcols[] = {"status",
                                        "app_id",
                                        "server_seq",
                                        "journal_item",
                                        "journal_outcome",
                                        "server_item",
                                        "server_outcome",
                                        "repeats_kept_apart",
                                        NULL};
    static const char *const scols[] = {"device",
                                        "journal",
                                        "server",
                                        "matched",
                                        "missing_on_server",
                                        "not_in_journal",
                                        "differs",
                                        "repeats_kept_apart",
                                        NULL};
    struct kf_qreport *rep = calloc(1, sizeof(*rep));
    struct kf_app_record *a = NULL;
    struct kf_qtable *diff, *sum;
    struct jline *j = NULL;
    struct tally k = {0};
    struct kf_store *st;
    const char *dev = NULL;
    size_t nj = 0, na = 0;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch != 'd')
            goto usage;
        dev = optarg;
    }
    if (!dev || optind != argc - 1)
        goto usage;
    r = read_journal(argv[optind], &j, &nj);
    if (r != 0) {
        free(rep);
        return r;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0) {
        free(j);
        free(rep);
        return 1;
    }
    r = kf_store_app_records(st, dev, &a, &na);
    if (r < 0) {
        free(j);
        free(rep);
        r = kf_ctl_fail(st, "reconcile", r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    diff = kf_store_query_table_new(
        "differences", "what the journal and the server do not agree on", dcols, "xxixxxxi");
    sum =
        kf_store_query_table_new("reconcile", "the journal against the server", scols, "xiiiiiii");
    r = diff && sum && rep ? reconcile(j, nj, a, na, diff, &k) : -ENOMEM;
    if (r == 0) {
        char v[7][24];
        const char *cells[] = {dev,
                               kf_ctl_int(k.journal, v[0]),
                               kf_ctl_int(k.server, v[1]),
                               kf_ctl_int(k.matched, v[2]),
                               kf_ctl_int(k.missing, v[3]),
                               kf_ctl_int(k.extra, v[4]),
                               kf_ctl_int(k.differs, v[5]),
                               kf_ctl_int(k.repeats, v[6])};

        sum->record = 1;
        r = kf_store_query_table_add_row(sum, cells);
    }
    free(j);
    free(a);
    if (r == 0) {
        r = kf_store_query_report_add(rep, sum); /* takes sum, even on failure */
        sum = NULL;
    }
    if (r == 0) {
        r = kf_store_query_report_add(rep, diff);
        diff = NULL;
    }
    kf_store_query_table_free(sum);
    kf_store_query_table_free(diff);
    if (r < 0) {
        kf_store_query_report_free(rep);
        fprintf(stderr, "kioskctl: reconcile: out of memory\n");
        return 1;
    }
    r = kf_ctl_print_report(c, "reconcile", rep);
    kf_store_query_report_free(rep);
    if (r != 0)
        return r;
    /* Repeats kept apart are the server doing its job, not a difference. */
    return k.missing || k.extra || k.differs ? 3 : 0;
usage:
    fprintf(stderr, "usage: kioskctl reconcile --device ID JOURNAL.csv (the journal's first line "
                    "names its columns: app_id, and item and outcome to compare)\n");
    return 2;
}
