/* kioskctl/assess.c: the bureau's half-year assessment (docs/REPORTS.md): rubric versions as
 * data (rubric load, rubrics), the assessment computed (assess run), issued and frozen
 * (assess issue: signed, stored, logged; a later version supersedes with a reason), shown
 * and verified byte for byte (assess show, assess verify), the zones' standing and the
 * watchlist, the bank ranking, and the bureau's delisting decisions (assess decide). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "render/assess.h"
#include "rules/assess.h"
#include "rules/rubric.h"
#include "store/audit_log.h"
#include "store/reports_docs.h"
#include "views/assess.h"
#include "views/billing.h"
#include "views/rdoc.h"

#define USAGE                                                                                      \
    "usage: kioskctl --db DB rubric load FILE --by WHO --reason TEXT --server-key FILE\n"          \
    "       kioskctl --db DB rubrics\n"                                                            \
    "       kioskctl --db DB assess run YYYY-HN [--view zones|units|banks]\n"                      \
    "                [-o FILE.xlsx|FILE.csv|FILE.json]\n"                                          \
    "       kioskctl --db DB assess issue YYYY-HN --by WHO [--reason TEXT] --server-key FILE\n"    \
    "       kioskctl --db DB assess show YYYY-HN [--version N] [--view zones|units|banks]\n"       \
    "                [-o FILE.xlsx|FILE.csv|FILE.json]\n"                                          \
    "       kioskctl --db DB assess verify YYYY-HN [--version N] --server-pub FILE\n"              \
    "       kioskctl --db DB assess standing [--zone Z] | assess watchlist\n"                      \
    "       kioskctl --db DB assess decide ZONE --period YYYY-HN (--keep | --delist [--from "      \
    "YYYY-MM-DD]) --by WHO --reason TEXT --server-key FILE\n"

static int usage(void)
{
    fputs(USAGE, stderr);
    return 2;
}

static char *read_file(const char *path, size_t max, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(max + 2) : NULL;
    size_t n = 0;

    if (buf)
        n = fread(buf, 1, max + 1, f);
    if (f)
        fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

/* ---- rubric load, rubrics ---------------------------------------------------------------- */

struct rubric_op {
    const char *path, *by, *reason;
    char *text;
    size_t len;
    struct kf_rubric r;
    char digest[65];
};

static int rubric_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct rubric_op *o = ud;
    struct kf_rubric_row *rows = NULL;
    struct kf_rubric *set = NULL;
    size_t n = 0;
    char err[512], subject[96], detail[96];
    int64_t now = kf_now_ms();
    int r = kf_store_rubrics(st, NULL, &rows, &n), rc = 0;

    if (r < 0)
        return kf_ctl_fail(st, "rubrics", r);
    set = calloc(n + 2, sizeof(*set));
    for (size_t i = 0; set && rc == 0 && i < n; i++) {
        if (kf_rubric_parse(rows[i].text, strlen(rows[i].text), &set[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "kioskctl: stored rubric %s v%d: %s\n", rows[i].id,
                    (int)rows[i].version, err);
            rc = 1;
        }
    }
    if (set == NULL)
        rc = 1;
    if (rc == 0) {
        set[n] = o->r;
        if (kf_rubric_set_check(set, n + 1, err, sizeof(err)) < 0) {
            fprintf(stderr,
                    "kioskctl: rubric load: %s (with the stored versions; nothing stored)\n", err);
            rc = 2;
        }
    }
    if (rc == 0) {
        r = kf_store_rubric_add(st, o->r.id, o->r.version, o->text, o->digest, now, o->by,
                                o->reason);
        if (r == 0) {
            snprintf(subject, sizeof(subject), "%s/v%d", o->r.id, (int)o->r.version);
            snprintf(detail, sizeof(detail), "{\"digest\":\"%s\"}", o->digest);
            r = kf_store_audit_log_append(st, now, o->by, "rubric.load", subject, detail, sk);
        }
        if (r < 0)
            rc = r == -EEXIST ? (fprintf(stderr, "kioskctl: rubric %s v%d is loaded already\n",
                                         o->r.id, (int)o->r.version),
                                 2)
                              : kf_ctl_fail(st, o->path, r);
    }
    free(set);
    kf_store_rubrics_free(rows, n);
    return rc;
}

static int rubric_load(const struct kf_ctl *c, int argc, char **argv)
{
    struct rubric_op o = {0};
    const char *key = NULL;
    char err[512], *canon = NULL;
    int rc;

    if (kf_ctl_signed_opts(argc, argv, &o.by, &o.reason, &key) < 0)
        return usage();
    if (optind + 1 != argc || key == NULL || kf_ctl_who_why(o.by, o.reason) < 0)
        return usage();
    o.path = argv[optind];
    if ((o.text = read_file(o.path, KF_RUBRIC_JSON_MAX, &o.len)) == NULL) {
        fprintf(stderr, "kioskctl: %s: not readable, or larger than a rubric may be (64 KiB)\n",
                o.path);
        return 2;
    }
    if (kf_rubric_parse(o.text, o.len, &o.r, err, sizeof(err)) < 0) {
        fprintf(stderr, "kioskctl: %s: %s\n", o.path, err);
        free(o.text);
        return 2;
    }
    if (kf_rubric_canonical(&o.r, &canon) < 0) {
        free(o.text);
        return 1;
    }
    kf_view_billing_digest(canon, strlen(canon), o.digest);
    free(canon);
    rc = kf_ctl_signed_txn(c, key, rubric_run, &o);
    if (rc == 0)
        printf("rubric %s/v%d %s\n", o.r.id, (int)o.r.version, o.digest);
    free(o.text);
    return rc;
}

int kf_ctl_rubric(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return rubric_load(c, argc - 1, argv + 1);
    return usage();
}

int kf_ctl_rubrics(const struct kf_ctl *c, int argc, char **argv)
{
    static const char *const cols[] = {"id",           "version", "effective_from",
                                       "effective_to", "digest",  "loaded_by",
                                       "loaded",       "reason",  NULL};
    struct kf_rubric_row *rows = NULL;
    struct kf_store *st;
    struct kf_qtable *t;
    size_t n = 0;
    int r;

    (void)argv;
    if (argc != 1 || c->fmt > KF_FMT_JSON)
        return usage();
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    if ((r = kf_store_rubrics(st, NULL, &rows, &n)) < 0) {
        r = kf_ctl_fail(st, "rubrics", r);
        kf_store_free(st);
        return r;
    }
    t = kf_store_query_table_new("rubrics", NULL, cols, "xixxxxtx");
    for (size_t i = 0; t && i < n; i++) {
        struct kf_rubric v;
        char ver[24], from[16] = "", to[16] = "", at[24], e[256];
        int ok = kf_rubric_parse(rows[i].text, strlen(rows[i].text), &v, e, sizeof(e)) == 0;
        const char *cells[] = {rows[i].id,
                               kf_ctl_int(rows[i].version, ver),
                               ok ? kf_day_format(v.effective_from, from, sizeof(from)) : NULL,
                               ok && v.effective_to != KF_RUBRIC_OPEN
                                   ? kf_day_format(v.effective_to, to, sizeof(to))
                                   : NULL,
                               rows[i].digest,
                               rows[i].loaded_by,
                               kf_ctl_int(rows[i].loaded_ms, at),
                               rows[i].reason};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    kf_store_rubrics_free(rows, n);
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "rubrics", t);
}

/* ---- The document as tables ------------------------------------------------------------- */

/* An integer of a JSON object as a cell ("" -> NULL for null). */
static const char *jint(json_t *o, const char *k, char buf[24])
{
    json_t *v = json_object_get(o, k);

    return json_is_integer(v) ? kf_ctl_int(json_integer_value(v), buf) : NULL;
}

/* Hundredths as a decimal ("70.50"). */
static const char *cp(json_t *o, const char *k, char buf[24])
{
    json_t *v = json_object_get(o, k);
    long long x;

    if (!json_is_integer(v))
        return NULL;
    x = json_integer_value(v);
    snprintf(buf, 24, "%s%lld.%02lld", x < 0 ? "-" : "", (x < 0 ? -x : x) / 100,
             (x < 0 ? -x : x) % 100);
    return buf;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The zones of an assessment document: identity, result, total, and each criterion's value
 * and score (columns from the rubric's criteria). */
static struct kf_qtable *zones_table(json_t *doc)
{
    json_t *crit = json_object_get(json_object_get(doc, "rubric"), "criteria");
    json_t *zones = json_object_get(doc, "zones"), *z;
    size_t nc = json_array_size(crit), k;
    const char *fixed[] = {"zone",    "unit",   "bank",   "planned", "service_days",
                           "txns_ok", "result", "reason", "total"};
    const size_t nf = sizeof(fixed) / sizeof(fixed[0]);
    const char **cols = calloc(nf + 2 * nc + 1, sizeof(*cols));
    char(*names)[48] = calloc(2 * nc + 1, sizeof(*names));
    char *types = calloc(nf + 2 * nc + 1, 1);
    struct kf_qtable *t = NULL;

    if (!cols || !names || !types)
        goto out;
    memcpy(cols, fixed, sizeof(fixed));
    memcpy(types, "xxxiiixxr", nf);
    for (size_t i = 0; i < nc; i++) {
        const char *m = jstr(json_array_get(crit, i), "measure");

        snprintf(names[2 * i], sizeof(names[0]), "%s", m ? m : "?");
        snprintf(names[2 * i + 1], sizeof(names[0]), "%s_score", m ? m : "?");
        cols[nf + 2 * i] = names[2 * i];
        cols[nf + 2 * i + 1] = names[2 * i + 1];
        /* activity in hundredths, response_time in seconds, the others in basis points */
        types[nf + 2 * i] = m && strcmp(m, "activity") == 0        ? 'r'
                            : m && strcmp(m, "response_time") == 0 ? 's'
                                                                   : 'p';
        types[nf + 2 * i + 1] = 'r';
    }
    t = kf_store_query_table_new("zones", jstr(doc, "period"), cols, types);
    json_array_foreach(zones, k, z)
    {
        char b[8 + 2 * KF_MEASURE_COUNT_][24];
        const char *cells[9 + 2 * KF_MEASURE_COUNT_] = {jstr(z, "zone"),
                                                        jstr(z, "unit"),
                                                        jstr(z, "bank"),
                                                        jint(z, "planned", b[0]),
                                                        jint(z, "service_days", b[1]),
                                                        jint(z, "txns_ok", b[2]),
                                                        jstr(z, "result"),
                                                        jstr(z, "reason"),
                                                        cp(z, "total_cp", b[3])};
        json_t *zc = json_object_get(z, "criteria");

        for (size_t i = 0; i < nc && i < KF_MEASURE_COUNT_; i++) {
            json_t *one = json_array_get(zc, i);
            const char *m = jstr(one, "measure");

            cells[nf + 2 * i] = !one ? NULL
                                : m && strcmp(m, "activity") == 0
                                    ? cp(one, "value", b[4 + 2 * i])
                                    : jint(one, "value", b[4 + 2 * i]);
            cells[nf + 2 * i + 1] = one ? cp(one, "score_cp", b[5 + 2 * i]) : NULL;
        }
        if (t && kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
out:
    free(cols);
    free(names);
    free(types);
    return t;
}

/* Units or banks: the roll-ups, banks in ranking order. */
static struct kf_qtable *rollup_table(json_t *doc, const char *key)
{
    const char *name = strcmp(key, "banks") == 0 ? "bank" : "unit";
    const char *const cols[] = {
        "rank",         "bank" /* or unit */, "zones",      "assessed", "passed",          "failed",
        "not_assessed", "pass_rate_bp",       "mean_score", "activity", "availability_bp", NULL};
    json_t *a = json_object_get(doc, key), *v;
    struct kf_qtable *t;
    size_t k;
    const char *named[12];

    memcpy(named, cols, sizeof(named));
    named[1] = name;
    t = kf_store_query_table_new(key, jstr(doc, "period"), named, "ixiiiiiprrp");

    json_array_foreach(a, k, v)
    {
        char b[10][24];
        const char *cells[] = {jint(v, "rank", b[0]),           jstr(v, name),
                               jint(v, "zones", b[1]),          jint(v, "assessed", b[2]),
                               jint(v, "passed", b[3]),         jint(v, "failed", b[4]),
                               jint(v, "not_assessed", b[5]),   jint(v, "pass_rate_bp", b[6]),
                               cp(v, "mean_score_cp", b[7]),    cp(v, "activity", b[8]),
                               jint(v, "availability_bp", b[9])};

        if (t && kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

/* Print a document: JSON as it is, or one of its views as a table. */
static int print_doc(const struct kf_ctl *c, const char *json, size_t len, const char *view)
{
    json_t *doc;
    struct kf_qtable *t;

    if (c->fmt == KF_FMT_JSON)
        return kf_ctl_write_doc(c, json, len);
    doc = json_loadb(json, len, 0, NULL);
    if (doc == NULL) {
        fprintf(stderr, "kioskctl: the assessment is not JSON\n");
        return 1;
    }
    if (strcmp(view, "zones") == 0)
        t = zones_table(doc);
    else
        t = rollup_table(doc, view);
    json_decref(doc);
    return kf_ctl_print_table_free(c, view, t);
}

static int view_ok(const char *v)
{
    return kf_render_assess_view(v) > 0;
}

/* The document in the file -o names, in the form its extension says (docs/KIOSKCTL.md): the
 * workbook (render/assess.h), CSV (--view's table, else every view as sections) or the JSON's
 * bytes as they are. The CSV and JSON go through "<file>.tmp", renamed when complete, as the
 * workbook does, so the file never holds half a document. */
static int write_out(const struct kf_ctl *c, const char *json, size_t len, const char *view)
{
    const char *dot = strrchr(c->out, '.'), *ext = dot ? dot + 1 : "";
    char err[256] = "", tmp[4096];
    FILE *f;
    int r = 0;

    if (strcmp(ext, "xlsx") == 0) {
        r = kf_render_assess_xlsx(json, c->out, err, sizeof(err));
    } else if (strcmp(ext, "csv") == 0 || strcmp(ext, "json") == 0) {
        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", c->out) >= sizeof(tmp)) {
            fprintf(stderr, "kioskctl: %s: path too long\n", c->out);
            return 2;
        }
        if ((f = fopen(tmp, "wb")) == NULL) {
            fprintf(stderr, "kioskctl: %s: %s\n", tmp, strerror(errno));
            return 1;
        }
        if (strcmp(ext, "csv") == 0)
            r = kf_render_assess_csv(json,
                                     view ? kf_render_assess_view(view) : KF_RENDER_ASSESS_ALL, f,
                                     err, sizeof(err));
        else if (fwrite(json, 1, len, f) != len)
            r = -EIO;
        if (fclose(f) != 0 && r == 0)
            r = -EIO;
        if (r == 0 && rename(tmp, c->out) != 0)
            r = -errno;
        if (r < 0)
            remove(tmp);
    } else {
        fprintf(stderr, "kioskctl: assess -o %s: name a .xlsx, .csv or .json file\n", c->out);
        return 2;
    }
    if (r < 0) {
        fprintf(stderr, "kioskctl: %s: %s\n", c->out, err[0] ? err : kf_strerror(r));
        return 1;
    }
    printf("%s\n", c->out);
    return 0;
}

/* The document as the options ask: the file -o names, else print_doc. */
static int output_doc(const struct kf_ctl *c, const char *json, size_t len, const char *view,
                      int view_given)
{
    if (c->out)
        return write_out(c, json, len, view_given ? view : NULL);
    return print_doc(c, json, len, view);
}

/* ---- assess run, issue, show, verify --------------------------------------------------------- */

/* Options shared by the subcommands; what each does not take stays NULL. */
struct opts {
    const char *view, *by, *reason, *key, *pub, *zone, *period, *from;
    int view_given; /* --view given (a CSV file of one view, not all) */
    int version, keep, delist;
};

/* --version N: 1..2^31-1, or -1. */
static int version_arg(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);

    return end != s && *end == '\0' && v >= 1 && v <= INT32_MAX ? (int)v : -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"view", required_argument, NULL, 'v'},       {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},     {"server-key", required_argument, NULL, 'k'},
        {"server-pub", required_argument, NULL, 'p'}, {"zone", required_argument, NULL, 'z'},
        {"period", required_argument, NULL, 'P'},     {"from", required_argument, NULL, 'f'},
        {"version", required_argument, NULL, 'n'},    {"keep", no_argument, NULL, 'K'},
        {"delist", no_argument, NULL, 'D'},           {NULL, 0, NULL, 0},
    };
    int ch;

    memset(o, 0, sizeof(*o));
    o->view = "zones";
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'v':
            o->view = optarg;
            o->view_given = 1;
            break;
        case 'b':
            o->by = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'p':
            o->pub = optarg;
            break;
        case 'z':
            o->zone = optarg;
            break;
        case 'P':
            o->period = optarg;
            break;
        case 'f':
            o->from = optarg;
            break;
        case 'n':
            o->version = version_arg(optarg);
            if (o->version < 1)
                return -1;
            break;
        case 'K':
            o->keep = 1;
            break;
        case 'D':
            o->delist = 1;
            break;
        default:
            return -1;
        }
    }
    return view_ok(o->view) ? 0 : -1;
}

static int assess_run(const struct kf_ctl *c, const char *period, const struct opts *o)
{
    struct kf_view_assess_opts vo = {.status = KF_ASSESS_DRAFT, .version = 1};
    struct kf_store *st;
    char err[512], *json = NULL;
    int r;

    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_view_assess(st, period, &vo, NULL, &json, err, sizeof(err));
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: assess %s: %s\n", period, err);
        return r == -EINVAL || r == -ENOENT ? 2 : 1;
    }
    if (c->fmt != KF_FMT_JSON)
        fprintf(stderr,
                "kioskctl: a draft: nothing is stored (kioskctl assess issue freezes it)\n");
    r = output_doc(c, json, strlen(json), o->view, o->view_given);
    free(json);
    return r;
}

struct issue_op {
    const char *period, *by, *reason;
    int32_t version;
    char digest[65];
};

static int issue_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct issue_op *op = ud;
    struct kf_view_assess_opts vo = {.status = KF_ASSESS_ISSUED, .issued_at_ms = kf_now_ms()};
    struct kf_rdoc prev;
    char err[512], *json = NULL;
    int32_t latest = 0;
    int r;

    memset(&prev, 0, sizeof(prev));
    if ((r = kf_store_rdoc_latest(st, "assessment", op->period, &latest)) < 0)
        return kf_ctl_fail(st, "assessment", r);
    if (latest > 0 && (op->reason == NULL || !*op->reason)) {
        fprintf(stderr,
                "kioskctl: the assessment of %s is issued already (version %d); a new version "
                "supersedes it only with --reason\n",
                op->period, (int)latest);
        return 2;
    }
    if (latest > 0 && (r = kf_store_rdoc_get(st, "assessment", op->period, latest, &prev)) < 0)
        return kf_ctl_fail(st, "assessment", r);
    vo.version = latest + 1;
    vo.supersedes = latest > 0 ? prev.digest : NULL;
    vo.reason = latest > 0 ? op->reason : NULL;
    r = kf_view_assess(st, op->period, &vo, NULL, &json, err, sizeof(err));
    free(prev.json);
    if (r < 0) {
        fprintf(stderr, "kioskctl: assess issue %s: %s\n", op->period, err);
        return r == -EINVAL || r == -ENOENT ? 2 : 1;
    }
    r = kf_view_rdoc_freeze(st, sk, "assessment", op->period, json, strlen(json), vo.issued_at_ms,
                            op->by, vo.reason, &op->version, err, sizeof(err));
    if (r == 0)
        kf_view_billing_digest(json, strlen(json), op->digest);
    free(json);
    if (r < 0) {
        fprintf(stderr, "kioskctl: assess issue %s: %s\n", op->period, err);
        return 1;
    }
    return 0;
}

static int assess_issue(const struct kf_ctl *c, const char *period, const struct opts *o)
{
    struct issue_op op = {.period = period, .by = o->by, .reason = o->reason};
    int rc;

    if (o->key == NULL || o->by == NULL || !*o->by)
        return usage();
    rc = kf_ctl_signed_txn(c, o->key, issue_run, &op);
    if (rc == 0)
        printf("assessment %s version %d issued: %s\n", period, (int)op.version, op.digest);
    return rc;
}

static int assess_show(const struct kf_ctl *c, const char *period, const struct opts *o)
{
    struct kf_store *st;
    struct kf_rdoc d;
    int r;

    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    memset(&d, 0, sizeof(d));
    r = kf_store_rdoc_get(st, "assessment", period, o->version, &d);
    if (r < 0) {
        r = r == -ENOENT ? (fprintf(stderr, "kioskctl: %s\n", kf_store_errmsg(st)), 2)
                         : kf_ctl_fail(st, "assessment", r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    if (c->fmt != KF_FMT_JSON)
        fprintf(stderr, "kioskctl: assessment %s version %d, issued by %s, digest %s%s%s\n", period,
                (int)d.version, d.issued_by, d.digest, d.reason[0] ? "; superseding: " : "",
                d.reason);
    r = output_doc(c, d.json, d.json_len, o->view, o->view_given);
    free(d.json);
    return r;
}

static int assess_verify(const struct kf_ctl *c, const char *period, const struct opts *o)
{
    struct kf_view_assess_opts vo;
    struct kf_store *st;
    struct kf_rdoc d;
    uint8_t pk[32];
    char err[1024], sup[129], reason[KF_ASSESS_TEXT_MAX + 1], *json = NULL;
    int r;

    if (o->pub == NULL)
        return usage();
    if ((r = kf_pubkey_read(o->pub, pk)) < 0) {
        fprintf(stderr, "kioskctl: %s: not a public key file (%s)\n", o->pub, kf_strerror(r));
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    memset(&d, 0, sizeof(d));
    r = kf_store_rdoc_get(st, "assessment", period, o->version, &d);
    if (r == 0 && kf_view_assess_opts_of(d.json, &vo, sup, sizeof(sup), reason, sizeof(reason)) < 0)
        r = -EINVAL;
    /* Recomputed as it was issued: the same status, instant, version and reason. */
    if (r == 0)
        r = kf_view_assess(st, period, &vo, NULL, &json, err, sizeof(err));
    if (r == 0)
        r = kf_view_rdoc_verify(st, pk, "assessment", period, d.version, json, strlen(json), err,
                                sizeof(err));
    else if (r == -ENOENT && !err[0])
        snprintf(err, sizeof(err), "%s", kf_store_errmsg(st));
    kf_store_free(st);
    if (r == 0)
        printf("assessment %s version %d: digest, signature and log entry verified; recomputed "
               "to the same %zu bytes\n",
               period, (int)d.version, d.json_len);
    else
        printf("assessment %s: %s\n", period, err[0] ? err : kf_strerror(r));
    free(d.json);
    free(json);
    return r == 0 ? 0 : r == 1 ? 3 : r == -ENOENT ? 2 : 1;
}

/* ---- standing, watchlist, decide ---------------------------------------------------------- */

static int assess_standing(const struct kf_ctl *c, const struct opts *o, int watch_only)
{
    struct kf_view_standing *v = NULL;
    struct kf_store *st;
    struct kf_qtable *t;
    size_t n = 0;
    char err[512];
    int r;

    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_view_assess_standings(st, NULL, &v, &n, err, sizeof(err));
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: standing: %s\n", err);
        return 1;
    }
    t = kf_view_assess_standings_table(v, n, o->zone, watch_only);
    free(v);
    return kf_ctl_print_table_free(c, watch_only ? "watchlist" : "standing", t);
}

struct decide_op {
    struct kf_zone_decision_row d;
};

static int decide_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct decide_op *op = ud;
    struct kf_view_standing *v = NULL;
    size_t n = 0;
    char err[512], subject[96], detail[96];
    int64_t id = 0;
    int r;

    /* The decision is checked against the zone's history with it added (proposed zones
     * only; after the period closed; a reason) before it is recorded. */
    r = kf_view_assess_standings(st, &op->d, &v, &n, err, sizeof(err));
    free(v);
    if (r == -EINVAL) {
        fprintf(stderr, "kioskctl: assess decide %s: %s\n", op->d.zone_id, err);
        return 2;
    }
    if (r < 0) {
        fprintf(stderr, "kioskctl: assess decide: %s\n", err);
        return 1;
    }
    r = kf_store_zone_decision_add(st, &op->d, &id);
    if (r == -ENOENT || r == -EEXIST || r == -EALREADY || r == -EINVAL) {
        fprintf(stderr, "kioskctl: assess decide: %s\n", kf_store_errmsg(st));
        return 2;
    }
    if (r < 0)
        return kf_ctl_fail(st, "zone decision", r);
    snprintf(subject, sizeof(subject), "%s/%s", op->d.zone_id, op->d.period);
    snprintf(detail, sizeof(detail), "{\"decision\":%lld,\"from_day\":%d}", (long long)id,
             op->d.from_day);
    r = kf_store_audit_log_append(st, op->d.at_ms, op->d.by,
                                  op->d.decision == KF_ZONE_DELIST ? "zone.delist" : "zone.keep",
                                  subject, detail, sk);
    return r < 0 ? kf_ctl_fail(st, "signed log", r) : 0;
}

static int assess_decide(const struct kf_ctl *c, const char *zone, const struct opts *o)
{
    struct decide_op op;
    struct kf_assess_period p;
    int32_t day = 0;
    int rc;

    if (o->key == NULL || o->period == NULL || o->keep == o->delist ||
        kf_ctl_who_why(o->by, o->reason) < 0 || (o->keep && o->from))
        return usage();
    if (kf_assess_period_parse(o->period, &p) < 0) {
        fprintf(stderr, "kioskctl: --period %s: YYYY-H1 or YYYY-H2\n", o->period);
        return 2;
    }
    memset(&op, 0, sizeof(op));
    op.d.at_ms = kf_now_ms();
    if (o->delist) {
        /* Delisted from the day given, or from today: never before the decision. */
        day = kf_local_day(op.d.at_ms);
        if (o->from && (kf_day_parse(o->from, &day) < 0 || day < kf_local_day(op.d.at_ms))) {
            fprintf(stderr, "kioskctl: --from %s: a day (YYYY-MM-DD), today or later\n", o->from);
            return 2;
        }
    }
    snprintf(op.d.zone_id, sizeof(op.d.zone_id), "%s", zone);
    snprintf(op.d.period, sizeof(op.d.period), "%s", p.name);
    op.d.decision = o->delist ? KF_ZONE_DELIST : KF_ZONE_KEEP;
    op.d.from_day = day;
    snprintf(op.d.by, sizeof(op.d.by), "%s", o->by);
    snprintf(op.d.reason, sizeof(op.d.reason), "%s", o->reason);
    rc = kf_ctl_signed_txn(c, o->key, decide_run, &op);
    if (rc == 0)
        printf("zone %s: %s (%s)%s%s\n", zone, o->delist ? "delisted" : "kept", p.name,
               o->delist ? " from " : "", o->delist ? kf_day_format(day, (char[16]){0}, 16) : "");
    return rc;
}

int kf_ctl_assess(const struct kf_ctl *c, int argc, char **argv)
{
    struct opts o;
    const char *sub = argc >= 2 ? argv[1] : "";

    if (parse_opts(argc - 1, argv + 1, &o) < 0)
        return usage();
    /* getopt_long has moved the operands to the end. */
    int nops = argc - 1 - optind;
    const char *arg = nops >= 1 ? argv[1 + optind] : NULL;

    if (strcmp(sub, "standing") == 0 && nops == 0)
        return assess_standing(c, &o, 0);
    if (strcmp(sub, "watchlist") == 0 && nops == 0)
        return assess_standing(c, &o, 1);
    /* run and show write files too: with -o, its extension says which form (not --format). */
    if (nops != 1 || (c->fmt > KF_FMT_JSON &&
                      !(c->out && (strcmp(sub, "run") == 0 || strcmp(sub, "show") == 0))))
        return usage();
    if (strcmp(sub, "run") == 0)
        return assess_run(c, arg, &o);
    if (strcmp(sub, "issue") == 0)
        return assess_issue(c, arg, &o);
    if (strcmp(sub, "show") == 0)
        return assess_show(c, arg, &o);
    if (strcmp(sub, "verify") == 0)
        return assess_verify(c, arg, &o);
    if (strcmp(sub, "decide") == 0)
        return assess_decide(c, arg, &o);
    return usage();
}
