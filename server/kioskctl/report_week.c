/* kioskctl/report_week.c: kioskctl report week (docs/REPORTS.md, docs/KIOSKCTL.md): the
 * bureau's weekly report for an ISO week, by default the last closed one, computed from the
 * store (views/week.h) and written as a table, the canonical JSON, CSV (render/week.h), an
 * XLSX workbook or the printable bulletin (PDF). A week not yet closed is refused unless
 * --draft, and a draft says so everywhere. Reads only. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/time.h>

#include <jansson.h>
#include <time.h>

#include <kf/keyfile.h>

#include "kioskctl/ctl.h"
#include "render/week.h"
#include "store/reports_docs.h"
#include "views/billing.h"
#include "views/rdoc.h"
#include "views/week.h"

#define HOUR_MS (3600LL * 1000)

/* hundredths as "3.60"; NULL for n/a. */
static const char *x100(int64_t v, char *buf, size_t cap)
{
    if (v == KF_WEEK_NA)
        return NULL;
    snprintf(buf, cap, "%lld.%02lld", (long long)(v / 100), (long long)(v % 100));
    return buf;
}

static const char *na(int64_t v, char *buf)
{
    return v == KF_WEEK_NA ? NULL : kf_ctl_int(v, buf);
}

static const char *name_of(const struct kf_week_row *rows, size_t n, const char *code)
{
    for (size_t i = 0; code && i < n; i++)
        if (strcmp(rows[i].code, code) == 0)
            return rows[i].name;
    return NULL;
}

/* "Z-XH-001 3.60, Z-RZ-004 3.10" */
static void ranked(const struct kf_week_report *r, const size_t *idx, size_t n, char *buf,
                   size_t cap)
{
    size_t len = 0;
    char b[32];

    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        const struct kf_week_row *z = &r->zones[idx[i]];
        const char *v = x100(z->ok_per_terminal_day_x100, b, sizeof(b));
        len +=
            (size_t)snprintf(buf + len, cap - len, "%s%s %s", i ? ", " : "", z->code, v ? v : "-");
    }
}

static struct kf_qtable *summary_table(const struct kf_week_report *r)
{
    static const char *const cols[] = {"week",
                                       "from",
                                       "to",
                                       "status",
                                       "as_of",
                                       "zones",
                                       "zones_commissioned",
                                       "zones_reporting",
                                       "zones_active",
                                       "zones_inactive",
                                       "planned",
                                       "commissioned",
                                       "reporting",
                                       "active",
                                       "terminal_days",
                                       "ok",
                                       "failed",
                                       "abandoned",
                                       "total",
                                       "ok_per_terminal_day",
                                       "ok_prev",
                                       "ok_change",
                                       "ok_change_pm",
                                       "availability_bp",
                                       "target_bp",
                                       "availability_prev_bp",
                                       "open_incidents",
                                       "uncounted",
                                       "busiest",
                                       "quietest",
                                       NULL};
    const struct kf_week_row *f = &r->fleet;
    char title[96], wk[16], from[16], to[16], at[24], b[24][24], busy[512], quiet[512];
    struct kf_qtable *t;

    snprintf(title, sizeof(title), "weekly report %s%s",
             kf_week_format(r->iso_year, r->iso_week, wk, sizeof(wk)),
             r->draft ? " (DRAFT: the week has not closed)" : "");
    t = kf_store_query_table_new("summary", title, cols,
                                 "xddxt"
                                 "iiiiiiiiiiiiii"
                                 "riii"
                                 "ppp"
                                 "ii"
                                 "xx");
    if (t == NULL)
        return NULL;
    t->record = 1;
    ranked(r, r->busiest, r->n_busiest, busy, sizeof(busy));
    ranked(r, r->quietest, r->n_quietest, quiet, sizeof(quiet));
    const char *cells[] = {wk,
                           kf_day_format(r->first_day, from, sizeof(from)),
                           kf_day_format(r->first_day + 6, to, sizeof(to)),
                           r->draft ? "draft" : "closed",
                           kf_ctl_int(r->avail_as_of_ms, at),
                           kf_ctl_int(f->zones, b[0]),
                           kf_ctl_int(f->zones_commissioned, b[1]),
                           kf_ctl_int(f->zones_reporting, b[2]),
                           kf_ctl_int(f->zones_active, b[3]),
                           kf_ctl_int(f->zones - f->zones_active, b[4]),
                           kf_ctl_int(f->planned, b[5]),
                           kf_ctl_int(f->commissioned, b[6]),
                           kf_ctl_int(f->reporting, b[7]),
                           kf_ctl_int(f->active, b[8]),
                           kf_ctl_int(f->terminal_days, b[9]),
                           kf_ctl_int(f->ok, b[10]),
                           kf_ctl_int(f->failed, b[11]),
                           kf_ctl_int(f->abandoned, b[12]),
                           kf_ctl_int(f->total, b[13]),
                           x100(f->ok_per_terminal_day_x100, b[14], sizeof(b[14])),
                           kf_ctl_int(f->ok_prev, b[15]),
                           kf_ctl_int(f->ok_change, b[16]),
                           na(f->ok_change_pm, b[17]),
                           na(f->availability_bp, b[18]),
                           na(f->target_bp, b[19]),
                           na(f->availability_prev_bp, b[20]),
                           kf_ctl_int(f->open_incidents, b[21]),
                           kf_ctl_int(r->uncounted, b[22]),
                           busy,
                           quiet};
    if (kf_store_query_table_add_row(t, cells) < 0) {
        kf_store_query_table_free(t);
        return NULL;
    }
    return t;
}

/* The figures every view has, after its own columns. */
#define USAGE_COLS                                                                                 \
    "ok", "failed", "abandoned", "total", "ok_per_terminal_day", "ok_prev", "ok_change",           \
        "ok_change_pm"
#define USAGE_TYPES "iiiiriii"
#define AVAIL_COLS "availability_bp", "target_bp", "availability_prev_bp", "open_incidents"
#define AVAIL_TYPES "pppi"

static int usage_cells(const struct kf_week_row *w, const char **cells, char (*b)[24])
{
    cells[0] = kf_ctl_int(w->ok, b[0]);
    cells[1] = kf_ctl_int(w->failed, b[1]);
    cells[2] = kf_ctl_int(w->abandoned, b[2]);
    cells[3] = kf_ctl_int(w->total, b[3]);
    cells[4] = x100(w->ok_per_terminal_day_x100, b[4], sizeof(b[4]));
    cells[5] = kf_ctl_int(w->ok_prev, b[5]);
    cells[6] = kf_ctl_int(w->ok_change, b[6]);
    cells[7] = na(w->ok_change_pm, b[7]);
    return 8;
}

static int avail_cells(const struct kf_week_row *w, const char **cells, char (*b)[24])
{
    cells[0] = na(w->availability_bp, b[0]);
    cells[1] = na(w->target_bp, b[1]);
    cells[2] = na(w->availability_prev_bp, b[2]);
    cells[3] = kf_ctl_int(w->open_incidents, b[3]);
    return 4;
}

/* One integer cell into cells[k] with its text in b[k]. */
#define PUT(v)                                                                                     \
    do {                                                                                           \
        cells[k] = kf_ctl_int((v), b[k]);                                                          \
        k++;                                                                                       \
    } while (0)

static struct kf_qtable *view_table(const struct kf_week_report *r, int view)
{
    static const char *const rollup[] = {"code",
                                         "name",
                                         "zones",
                                         "zones_commissioned",
                                         "zones_reporting",
                                         "zones_active",
                                         "planned",
                                         "commissioned",
                                         "reporting",
                                         "active",
                                         "terminal_days",
                                         USAGE_COLS,
                                         AVAIL_COLS,
                                         NULL};
    static const char *const zone[] = {"zone",          "name",      "unit",     "unit_name",
                                       "bank",          "bank_name", "status",   "planned",
                                       "commissioned",  "reporting", "active",   "service_days",
                                       "terminal_days", USAGE_COLS,  AVAIL_COLS, NULL};
    static const char *const fam[] = {"code", "name", "items", "zones_active", USAGE_COLS, NULL};
    static const char *const item[] = {"code",         "name",     "family", "family_name",
                                       "zones_active", USAGE_COLS, NULL};
    static const char *const inactive[] = {"zone",      "name",          "unit",
                                           "bank",      "status",        "commissioned",
                                           "reporting", "terminal_days", NULL};
    const struct kf_week_row *rows = NULL;
    struct kf_qtable *t = NULL;
    size_t n = 0;
    char title[96], wk[16];

    kf_week_format(r->iso_year, r->iso_week, wk, sizeof(wk));
    switch (view) {
    case KF_RENDER_WEEK_UNIT:
    case KF_RENDER_WEEK_BANK:
        snprintf(title, sizeof(title), "%s by %s", wk,
                 view == KF_RENDER_WEEK_UNIT ? "unit" : "bank");
        t = kf_store_query_table_new(view == KF_RENDER_WEEK_UNIT ? "units" : "banks", title, rollup,
                                     "xxiiiiiiiii" USAGE_TYPES AVAIL_TYPES);
        rows = view == KF_RENDER_WEEK_UNIT ? r->units : r->banks;
        n = view == KF_RENDER_WEEK_UNIT ? r->n_units : r->n_banks;
        break;
    case KF_RENDER_WEEK_ZONE:
        snprintf(title, sizeof(title), "%s by zone", wk);
        t = kf_store_query_table_new("zones", title, zone, "xxxxxxxiiiiii" USAGE_TYPES AVAIL_TYPES);
        rows = r->zones;
        n = r->n_zones;
        break;
    case KF_RENDER_WEEK_FAMILY:
        snprintf(title, sizeof(title), "%s by service family", wk);
        t = kf_store_query_table_new("families", title, fam, "xxii" USAGE_TYPES);
        rows = r->families;
        n = r->n_families;
        break;
    case KF_RENDER_WEEK_ITEM:
        snprintf(title, sizeof(title), "%s by service item", wk);
        t = kf_store_query_table_new("items", title, item, "xxxxi" USAGE_TYPES);
        rows = r->items;
        n = r->n_items;
        break;
    default:
        snprintf(title, sizeof(title), "%s: zones with no transaction", wk);
        t = kf_store_query_table_new("inactive_zones", title, inactive, "xxxxxiii");
        break;
    }
    for (size_t i = 0; t && i < (view == KF_RENDER_WEEK_INACTIVE ? r->n_inactive : n); i++) {
        const struct kf_week_row *w =
            view == KF_RENDER_WEEK_INACTIVE ? &r->zones[r->inactive[i]] : &rows[i];
        const char *cells[40];
        char b[40][24];
        int k = 0;

        cells[k++] = w->code;
        cells[k++] = w->name;
        if (view == KF_RENDER_WEEK_UNIT || view == KF_RENDER_WEEK_BANK) {
            PUT(w->zones);
            PUT(w->zones_commissioned);
            PUT(w->zones_reporting);
            PUT(w->zones_active);
        } else if (view == KF_RENDER_WEEK_ZONE || view == KF_RENDER_WEEK_INACTIVE) {
            cells[k++] = w->unit;
            if (view == KF_RENDER_WEEK_ZONE)
                cells[k++] = name_of(r->units, r->n_units, w->unit);
            cells[k++] = w->bank;
            if (view == KF_RENDER_WEEK_ZONE)
                cells[k++] = name_of(r->banks, r->n_banks, w->bank);
            cells[k++] = kf_week_status_name(w->status);
        } else if (view == KF_RENDER_WEEK_FAMILY) {
            PUT(w->items);
        } else {
            cells[k++] = w->family;
            cells[k++] = name_of(r->families, r->n_families, w->family);
        }
        if (view == KF_RENDER_WEEK_FAMILY || view == KF_RENDER_WEEK_ITEM) {
            PUT(w->zones_active);
        } else if (view == KF_RENDER_WEEK_INACTIVE) {
            PUT(w->commissioned);
            PUT(w->reporting);
            PUT(w->terminal_days);
        } else {
            PUT(w->planned);
            PUT(w->commissioned);
            PUT(w->reporting);
            PUT(w->active);
            if (view == KF_RENDER_WEEK_ZONE)
                PUT(w->service_days);
            PUT(w->terminal_days);
        }
        if (view != KF_RENDER_WEEK_INACTIVE)
            k += usage_cells(w, cells + k, b + k);
        if (view != KF_RENDER_WEEK_INACTIVE && view != KF_RENDER_WEEK_FAMILY &&
            view != KF_RENDER_WEEK_ITEM)
            k += avail_cells(w, cells + k, b + k);
        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

static const char *ext_of(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;

    return dot ? dot + 1 : "";
}

/* The document where -o and --format say: a file by its extension, else stdout. */
static int write_out(const struct kf_ctl *c, const struct kf_view_week *v, int view)
{
    const char *ext = ext_of(c->out);
    char err[256] = "";
    FILE *f = stdout;
    int r = 0, fmt = c->fmt;

    if (c->out) {
        fmt = strcmp(ext, "xlsx") == 0   ? KF_FMT_XLSX
              : strcmp(ext, "pdf") == 0  ? KF_FMT_PDF
              : strcmp(ext, "csv") == 0  ? KF_FMT_CSV
              : strcmp(ext, "json") == 0 ? KF_FMT_JSON
                                         : -1;
        if (fmt < 0) {
            fprintf(stderr, "kioskctl: report week -o %s: name a .xlsx, .pdf, .csv or .json file\n",
                    c->out);
            return 2;
        }
    } else if (fmt == KF_FMT_XLSX || fmt == KF_FMT_PDF) {
        fprintf(stderr, "kioskctl: --format xlsx|pdf writes a file: give -o FILE\n");
        return 2;
    }
    if (fmt == KF_FMT_XLSX)
        r = kf_render_week_xlsx(v->json, c->out, err, sizeof(err));
    else if (fmt == KF_FMT_PDF)
        r = kf_render_week_pdf(v->json, c->out, err, sizeof(err));
    if (fmt == KF_FMT_XLSX || fmt == KF_FMT_PDF)
        goto out;
    if (c->out && (f = fopen(c->out, "wb")) == NULL) {
        fprintf(stderr, "kioskctl: %s: %s\n", c->out, strerror(errno));
        return 1;
    }
    if (fmt == KF_FMT_CSV) {
        r = kf_render_week_csv(v->json, view, f, err, sizeof(err));
    } else if (fwrite(v->json, 1, v->len, f) != v->len ||
               (c->out == NULL && fputc('\n', f) == EOF)) {
        r = -EIO; /* the canonical bytes as they are */
    }
    if (f != stdout && fclose(f) != 0 && r == 0)
        r = -EIO;
    if (f == stdout && fflush(f) != 0 && r == 0)
        r = -EIO;
out:
    if (r < 0) {
        fprintf(stderr, "kioskctl: %s: %s\n", c->out ? c->out : "stdout",
                err[0] ? err : kf_strerror(r));
        return 1;
    }
    if (c->out)
        printf("%s\n", c->out);
    return 0;
}

static int usage_err(void)
{
    fprintf(stderr,
            "usage: kioskctl --db DB report week [--week YYYY-Www | --date YYYY-MM-DD]\n"
            "           [--view unit|bank|zone|family|item|inactive] [--draft]\n"
            "           [--close-after HOURS] [--format table|csv|json]\n"
            "           [-o FILE.xlsx|FILE.pdf|FILE.csv|FILE.json]\n"
            "           [--issue --by WHO [--reason TEXT] --server-key FILE]\n"
            "       kioskctl --db DB report verify YYYY-Www [--version N] --server-pub FILE\n"
            "       kioskctl --db DB report list\n");
    return 2;
}

/* "2026-10-11T16:00:00.000Z" (kf_ms_format) back to ms. */
static int parse_utc_ms(const char *s, int64_t *ret)
{
    struct tm tm = {0};
    int ms = 0;

    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ret = (int64_t)timegm(&tm) * 1000 + ms;
    return 0;
}

/* The options a stored week was computed with, from its document: a recompute with them
 * gives its bytes when nothing it read has changed. */
static int opts_of(const char *json, struct kf_view_week_opts *o)
{
    json_t *root = json_loads(json, 0, NULL);
    json_t *cut = json_object_get(root, "incidents_as_of");
    int r = 0;

    memset(o, 0, sizeof(*o));
    if (root == NULL ||
        parse_utc_ms(json_string_value(json_object_get(root, "availability_as_of")), &o->as_of_ms) <
            0 ||
        (cut && !json_is_null(cut) && parse_utc_ms(json_string_value(cut), &o->cut_ms) < 0))
        r = -EINVAL;
    o->draft = json_is_true(json_object_get(root, "draft"));
    json_decref(root);
    return r;
}

struct week_issue_op {
    int y, w;
    const char *period, *by, *reason;
    struct kf_view_week_opts o;
    int32_t version;
    char digest[65];
};

/* Compute and freeze in one transaction (what is frozen is what the store holds then). */
static int week_issue_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct week_issue_op *op = ud;
    char err[512], *json = NULL;
    size_t len = 0;
    int r = kf_view_week_json(st, op->y, op->w, &op->o, &json, &len, err, sizeof(err));

    if (r < 0) {
        fprintf(stderr, "kioskctl: report week %s: %s\n", op->period, err);
        return r == -ENOENT ? 2 : 1;
    }
    r = kf_view_rdoc_freeze(st, sk, "week", op->period, json, len, kf_now_ms(), op->by, op->reason,
                            &op->version, err, sizeof(err));
    if (r == 0)
        kf_view_billing_digest(json, len, op->digest);
    free(json);
    if (r < 0) {
        fprintf(stderr, "kioskctl: report week %s: %s\n", op->period, err);
        return r == -EEXIST ? 2 : 1;
    }
    return 0;
}

static int report_verify(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server-pub", required_argument, NULL, 'p'},
        {"version", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    const char *pub = NULL;
    struct kf_view_week_opts o;
    struct kf_store *st;
    struct kf_rdoc d;
    uint8_t pk[32];
    char err[1024] = "", *json = NULL;
    size_t len = 0;
    int ch, y, w, version = 0, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'p')
            pub = optarg;
        else if (ch == 'n' && (version = (int)strtol(optarg, NULL, 10)) > 0 && version < INT32_MAX)
            continue;
        else
            return usage_err();
    }
    if (optind + 1 != argc || pub == NULL || kf_week_parse(argv[optind], &y, &w) < 0)
        return usage_err();
    if ((r = kf_pubkey_read(pub, pk)) < 0) {
        fprintf(stderr, "kioskctl: %s: not a public key file (%s)\n", pub, kf_strerror(r));
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    memset(&d, 0, sizeof(d));
    r = kf_store_rdoc_get(st, "week", argv[optind], version, &d);
    if (r == -ENOENT)
        snprintf(err, sizeof(err), "%s", kf_store_errmsg(st));
    if (r == 0 && opts_of(d.json, &o) < 0) {
        snprintf(err, sizeof(err), "the stored document is not a kioskfleet.week/1");
        r = 1;
    }
    if (r == 0)
        r = kf_view_week_json(st, y, w, &o, &json, &len, err, sizeof(err));
    if (r == 0)
        r = kf_view_rdoc_verify(st, pk, "week", argv[optind], d.version, json, len, err,
                                sizeof(err));
    kf_store_free(st);
    if (r == 0)
        printf("week %s version %d: digest, signature and log entry verified; recomputed to "
               "the same %zu bytes\n",
               argv[optind], (int)d.version, d.json_len);
    else
        printf("week %s: %s\n", argv[optind], err[0] ? err : kf_strerror(r));
    free(d.json);
    free(json);
    return r == 0 ? 0 : r == 1 ? 3 : r == -ENOENT ? 2 : 1;
}

static int report_list(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_rdoc *docs = NULL;
    struct kf_store *st;
    struct kf_qtable *t;
    size_t n = 0;
    int r;

    (void)argv;
    if (argc != 1 || c->fmt > KF_FMT_JSON)
        return usage_err();
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    if ((r = kf_store_rdoc_list(st, NULL, &docs, &n)) < 0) {
        r = kf_ctl_fail(st, "reports", r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    t = kf_view_rdoc_list_table(docs, n);
    free(docs);
    return kf_ctl_print_table_free(c, "reports", t);
}

static int report_week(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"week", required_argument, NULL, 'w'},        {"date", required_argument, NULL, 'd'},
        {"view", required_argument, NULL, 'v'},        {"draft", no_argument, NULL, 'D'},
        {"close-after", required_argument, NULL, 'c'}, {"issue", no_argument, NULL, 'I'},
        {"by", required_argument, NULL, 'b'},          {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'},  {NULL, 0, NULL, 0},
    };
    const char *by = NULL, *reason = NULL, *key = NULL;
    int issue = 0;
    int y = 0, w = 0, view = KF_RENDER_WEEK_ALL, draft = 0, ch, r, given = 0;
    int64_t delay = KF_WEEK_CLOSE_DELAY_DEFAULT_MS, close, now = kf_now_ms(), from, to;
    struct kf_view_week_opts o = {0};
    struct kf_view_week *v = NULL;
    struct kf_store *st;
    char err[256] = "", wk[16], when[32];
    int32_t day;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        long h;

        switch (ch) {
        case 'w':
            if (kf_week_parse(optarg, &y, &w) < 0 || given++) {
                fprintf(stderr, "kioskctl: --week %s: not an ISO week YYYY-Www (or given twice)\n",
                        optarg);
                return 2;
            }
            break;
        case 'd':
            if (kf_day_parse(optarg, &day) < 0 || given++) {
                fprintf(stderr, "kioskctl: --date %s: not a date YYYY-MM-DD\n", optarg);
                return 2;
            }
            kf_week_of_day(day, &y, &w);
            break;
        case 'v':
            if ((view = kf_render_week_view(optarg)) < 0) {
                fprintf(stderr,
                        "kioskctl: --view %s: one of unit, bank, zone, family, item, "
                        "inactive\n",
                        optarg);
                return 2;
            }
            break;
        case 'D':
            draft = 1;
            break;
        case 'I':
            issue = 1;
            break;
        case 'b':
            by = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'c':
            h = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || h < 0 || h > 168) {
                fprintf(stderr, "kioskctl: --close-after %s: hours after Sunday 24:00, 0..168\n",
                        optarg);
                return 2;
            }
            delay = h * HOUR_MS;
            break;
        default:
            return usage_err();
        }
    }
    if (optind != argc || (issue && (draft || key == NULL || by == NULL || !*by)))
        return usage_err();
    if (!given)
        kf_week_last_closed(now, delay, &y, &w);
    kf_week_format(y, w, wk, sizeof(wk));
    close = kf_week_close_ms(y, w, delay);
    kf_week_range(y, w, &from, &to);
    if (now < close && !draft) {
        fprintf(stderr,
                "kioskctl: report week: %s closes on %s (local); --draft computes it as it "
                "stands, marked DRAFT\n",
                wk, kf_ctl_local_time(close, when, sizeof(when)));
        return 2;
    }
    /* A closed week: availability to its end, incidents as the engine had them at its close
     * (what freezing it stores, views/week.h). A draft: as things stand. */
    o.draft = now < close;
    o.as_of_ms = o.draft ? 0 : to;
    o.cut_ms = o.draft ? 0 : close;
    if (issue) {
        struct week_issue_op op = {y, w, wk, by, reason, o, 0, ""};

        r = kf_ctl_signed_txn(c, key, week_issue_run, &op);
        if (r == 0)
            printf("week %s version %d issued: %s\n", wk, (int)op.version, op.digest);
        return r;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_view_week(st, y, w, &o, &v, err, sizeof(err));
    /* An issued week is its stored document: the files and JSON are its bytes as signed;
     * the table is computed, and says when the store has changed since. */
    if (r == 0 && !o.draft) {
        struct kf_rdoc d;

        memset(&d, 0, sizeof(d));
        if (kf_store_rdoc_get(st, "week", wk, 0, &d) == 0) {
            if (d.json_len != v->len || memcmp(d.json, v->json, v->len) != 0) {
                fprintf(stderr,
                        "kioskctl: %s was issued (version %d) and its inputs have changed "
                        "since: %s\n",
                        wk, (int)d.version,
                        c->fmt == KF_FMT_TABLE && c->out == NULL
                            ? "this table is a recompute; the issued document: --format json"
                            : "this is the issued document; kioskctl report verify names "
                              "the change");
                if (!(c->fmt == KF_FMT_TABLE && c->out == NULL)) {
                    free(v->json);
                    v->json = d.json;
                    v->len = d.json_len;
                    d.json = NULL;
                }
            }
            free(d.json);
        }
    }
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: report week %s: %s\n", wk, err);
        return r == -ENOENT ? 2 : 1;
    }
    if (c->fmt == KF_FMT_TABLE && c->out == NULL) {
        struct kf_qreport rep = {0};

        r = kf_store_query_report_add(&rep, summary_table(v->rep));
        if (r == 0)
            r = kf_store_query_report_add(
                &rep, view_table(v->rep, view == KF_RENDER_WEEK_ALL ? KF_RENDER_WEEK_UNIT : view));
        if (r == 0) {
            r = kf_ctl_print_report(c, "report week", &rep);
        } else {
            fprintf(stderr, "kioskctl: report week: out of memory\n");
            r = 1;
        }
        for (size_t i = 0; i < rep.n; i++)
            kf_store_query_table_free(rep.tables[i]);
        free(rep.tables);
    } else {
        r = write_out(c, v, view);
    }
    kf_view_week_free(v);
    return r;
}

int kf_ctl_report(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "week") == 0)
        return report_week(c, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return report_verify(c, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return report_list(c, argc - 1, argv + 1);
    return usage_err();
}
