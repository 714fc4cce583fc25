/* web/api_docs.c: the issued documents (bills, credit notes, weekly reports, assessments),
 * the bank's disputes, as kioskctl shows them: the canonical JSON as stored, or CSV (UTF-8
 * with a BOM), XLSX and PDF rendered by server/render from that same JSON. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/time.h>

#include "render/assess.h"
#include "render/render.h"
#include "render/week.h"
#include "rules/coverage.h"
#include "store/audit_log.h"
#include "store/billing.h"
#include "store/reports_docs.h"
#include "views/assess.h"
#include "views/billing.h"
#include "views/coverage.h"
#include "views/rdoc.h"
#include "web/cache.h"
#include "web/web.h"

/* ---- Rendering into memory ---------------------------------------------------------------- */

typedef int (*to_path_fn)(const char *json, const char *path, char *err, size_t errn);

/* A renderer that writes a file: into a temporary file, read back, removed. */
static int render_file(to_path_fn fn, const char *json, char **ret, size_t *ret_len, char *err,
                       size_t cap)
{
    char path[] = "/tmp/kiosk-web-XXXXXX";
    int fd = mkstemp(path), r;
    FILE *f;
    long n;
    char *buf;

    if (fd < 0) {
        snprintf(err, cap, "temporary file: %s", strerror(errno));
        return -errno;
    }
    close(fd);
    r = fn(json, path, err, cap);
    f = r == 0 ? fopen(path, "rb") : NULL;
    if (r == 0 && !f)
        r = -errno;
    if (f && (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0))
        r = -EIO;
    else if (f) {
        buf = malloc((size_t)n + 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            r = -EIO;
        } else {
            *ret = buf;
            *ret_len = (size_t)n;
        }
    }
    if (f)
        fclose(f);
    unlink(path);
    return r;
}

typedef int (*to_stream_fn)(const char *json, FILE *out, char *err, size_t errn);

static int render_stream(to_stream_fn fn, const char *json, char **ret, size_t *ret_len, char *err,
                         size_t cap)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int r;

    if (!f)
        return -ENOMEM;
    r = fn(json, f, err, cap);
    if (fclose(f) != 0 && r == 0)
        r = -ENOMEM;
    if (r < 0) {
        free(buf);
        return r;
    }
    *ret = buf;
    *ret_len = len;
    return 0;
}

static int week_csv(const char *json, FILE *out, char *err, size_t errn)
{
    return kf_render_week_csv(json, KF_RENDER_WEEK_ALL, out, err, errn);
}

static int assess_csv(const char *json, FILE *out, char *err, size_t errn)
{
    return kf_render_assess_csv(json, KF_RENDER_ASSESS_ALL, out, err, errn);
}

struct formats {
    to_stream_fn csv;
    to_path_fn xlsx, pdf;
};

/* Answer a document in the format the call asks for (?format=; JSON when none). */
static void reply_doc(struct kf_web_call *c, const char *name, const char *json, size_t len,
                      const struct formats *f)
{
    const char *fmt = kf_web_param(c, "format");
    char *out = NULL, err[256] = "";
    size_t out_len = 0;
    int r;

    if (!fmt || strcmp(fmt, "json") == 0) {
        char *copy = malloc(len + 1);

        if (!copy) {
            kf_web_problem(c, 500, "out of memory");
            return;
        }
        memcpy(copy, json, len);
        copy[len] = '\0';
        kf_web_reply_raw(c, 200, "application/json; charset=utf-8", copy, len);
        return;
    }
    if (strcmp(fmt, "csv") == 0 && f->csv)
        r = render_stream(f->csv, json, &out, &out_len, err, sizeof(err));
    else if (strcmp(fmt, "xlsx") == 0 && f->xlsx)
        r = render_file(f->xlsx, json, &out, &out_len, err, sizeof(err));
    else if (strcmp(fmt, "pdf") == 0 && f->pdf)
        r = render_file(f->pdf, json, &out, &out_len, err, sizeof(err));
    else {
        kf_web_problem(c, 400, "format is json%s%s%s", f->csv ? ", csv" : "",
                       f->xlsx ? ", xlsx" : "", f->pdf ? " or pdf" : "");
        return;
    }
    if (r < 0) {
        kf_err("%s %s: render %s: %s", c->method, c->path, fmt, err[0] ? err : kf_strerror(r));
        kf_web_problem(c, 500, "the %s could not be rendered (logged)", fmt);
        return;
    }
    kf_web_reply_raw(c, 200,
                     strcmp(fmt, "csv") == 0   ? "text/csv; charset=utf-8"
                     : strcmp(fmt, "pdf") == 0 ? "application/pdf"
                                               : "application/vnd.openxmlformats-officedocument."
                                                 "spreadsheetml.sheet",
                     out, out_len);
    snprintf(c->disposition, sizeof(c->disposition), "attachment; filename=\"%s.%s\"", name, fmt);
}

/* ---- Bills -------------------------------------------------------------------------------- */

/* GET /api/v1/bills: kioskctl bill list's rows; the bank's connection holds its own only. */
void kf_web_api_bills(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_billing_doc *d = NULL;
    size_t n = 0;
    int r = kf_store_billing_docs(st, NULL, 0, &d, &n);

    if (r < 0) {
        kf_web_reply_store_err(c, st, r, "bills");
        return;
    }
    kf_web_reply_table(c, kf_view_billing_docs_table(d, n));
    free(d);
}

static int bill_csv(const char *json, FILE *out, char *err, size_t errn)
{
    return kf_render_bill_csv(json, out, err, errn);
}

/* GET /api/v1/bills/{number}: the signed document's JSON as stored, or rendered. */
void kf_web_api_bill(struct kf_web_call *c, struct kf_store *st)
{
    static const struct formats f = {bill_csv, kf_render_bill_xlsx, kf_render_bill_pdf};
    struct kf_billing_doc d = {0};
    int r = kf_store_billing_doc(st, c->args[0], &d);

    if (r < 0) {
        kf_web_reply_store_err(c, st, r, "bill");
        return;
    }
    reply_doc(c, d.number, d.json, d.json_len, &f);
    free(d.json);
}

/* POST /api/v1/bills/{number}/disputes {"line","reason"}: as kioskctl bill dispute, one
 * transaction with its entry in the signed log (server key); who is the bank's user. */
void kf_web_api_bill_dispute(struct kf_web_call *c, struct kf_store *st)
{
    const uint8_t *sk = kf_web_server_sk(c->srv);
    struct kf_billing_doc d = {0};
    struct kf_store *w = NULL;
    const char *reason = NULL;
    json_int_t line = 0;
    json_error_t je;
    json_t *j = c->body ? json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    json_t *root = NULL, *detail;
    char *text = NULL, by[KF_BILLING_WHO_MAX + 1];
    int64_t id = 0;
    size_t nlines;
    int r;

    if (!j || json_unpack(j, "{s:I, s:s}", "line", &line, "reason", &reason) < 0 || line < 1 ||
        line > 100000 || reason[0] == '\0' || strlen(reason) > KF_BILLING_REASON_MAX) {
        json_decref(j);
        kf_web_problem(c, 400, "the body is {\"line\": N, \"reason\": TEXT (1..%d bytes)}",
                       KF_BILLING_REASON_MAX);
        return;
    }
    if (!sk) {
        json_decref(j);
        kf_web_problem(c, 503, "disputes need [web] server_key, which is not set");
        return;
    }
    /* The bill must be one the caller sees (its scoped connection), and have that line. */
    r = kf_store_billing_doc(st, c->args[0], &d);
    if (r < 0) {
        json_decref(j);
        kf_web_reply_store_err(c, st, r, "bill");
        return;
    }
    root = json_loadb(d.json, d.json_len, 0, NULL);
    nlines = json_array_size(json_object_get(root, "lines"));
    json_decref(root);
    free(d.json);
    if (d.type != KF_BILLING_BILL || (size_t)line > nlines) {
        json_decref(j);
        kf_web_problem(c, 400, "%s has no line %lld (it has %zu)", c->args[0], (long long)line,
                       nlines);
        return;
    }
    snprintf(by, sizeof(by), "web:%s", c->user);
    r = kf_web_pool_writer_get(kf_web_server_pool(c->srv), &w);
    if (r < 0) {
        json_decref(j);
        kf_web_problem(c, 503, "the store cannot be written now");
        return;
    }
    r = kf_store_begin(w);
    if (r == 0)
        r = kf_store_billing_dispute_add(w, c->args[0], (int32_t)line, c->now_ms, by, reason, &id);
    if (r == 0) {
        detail =
            json_pack("{s:I, s:I, s:s}", "dispute", (json_int_t)id, "line", line, "reason", reason);
        text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(detail);
        r = text ? kf_store_audit_log_append(w, c->now_ms, by, "bill.dispute", c->args[0], text, sk)
                 : -ENOMEM;
    }
    if (r == 0)
        r = kf_store_end(w, 1);
    else
        kf_store_end(w, 0);
    if (r < 0)
        kf_web_reply_store_err(c, w, r, "dispute");
    else
        kf_web_reply_json(c, 202,
                          json_pack("{s:I, s:s, s:I}", "dispute", (json_int_t)id, "bill",
                                    c->args[0], "line", line));
    kf_web_pool_writer_put(kf_web_server_pool(c->srv));
    free(text);
    json_decref(j);
    if (r == 0)
        kf_notice("dispute %lld: %s line %lld by %s (%s)", (long long)id, c->args[0],
                  (long long)line, by, c->peer);
}

/* GET /api/v1/disputes: kioskctl bill disputes' rows. */
void kf_web_api_disputes(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_billing_dispute *d = NULL;
    size_t n = 0;
    int r = kf_store_billing_disputes(st, NULL, 0, &d, &n);

    if (r < 0) {
        kf_web_reply_store_err(c, st, r, "disputes");
        return;
    }
    kf_web_reply_table(c, kf_view_billing_disputes_table(d, n));
    free(d);
}

/* ---- The bureau's documents --------------------------------------------------------------- */

/* The issued versions of kind, as kioskctl report list's rows. */
static void rdoc_list(struct kf_web_call *c, struct kf_store *st, const char *kind)
{
    struct kf_rdoc *docs = NULL;
    size_t n = 0;
    int r = kf_store_rdoc_list(st, kind, &docs, &n);

    if (r < 0) {
        kf_web_reply_store_err(c, st, r, kind);
        return;
    }
    kf_web_reply_table(c, kf_view_rdoc_list_table(docs, n));
    free(docs);
}

static void rdoc_one(struct kf_web_call *c, struct kf_store *st, const char *kind,
                     const struct formats *f)
{
    struct kf_rdoc d;
    char name[64];
    int r;

    memset(&d, 0, sizeof(d));
    r = kf_store_rdoc_get(st, kind, c->args[0], 0, &d);
    if (r < 0) {
        kf_web_reply_store_err(c, st, r, kind);
        return;
    }
    snprintf(name, sizeof(name), "%s-%s-v%d", kind, d.period, (int)d.version);
    reply_doc(c, name, d.json, d.json_len, f);
    free(d.json);
}

void kf_web_api_weeks(struct kf_web_call *c, struct kf_store *st)
{
    rdoc_list(c, st, "week");
}

void kf_web_api_week(struct kf_web_call *c, struct kf_store *st)
{
    static const struct formats f = {week_csv, kf_render_week_xlsx, kf_render_week_pdf};

    rdoc_one(c, st, "week", &f);
}

void kf_web_api_assessments(struct kf_web_call *c, struct kf_store *st)
{
    rdoc_list(c, st, "assessment");
}

void kf_web_api_assessment(struct kf_web_call *c, struct kf_store *st)
{
    static const struct formats f = {assess_csv, kf_render_assess_xlsx, NULL};

    rdoc_one(c, st, "assessment", &f);
}

/* The coverage targets' text (owned; < 1 MiB), or NULL. */
static char *targets_read(const char *path)
{
    FILE *f = fopen(path, "re");
    char *text = NULL;
    long n;

    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (text = calloc(1, (size_t)n + 1)) != NULL &&
        fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    if (f)
        fclose(f);
    return text;
}

/* Coverage at a day reads the reporting window ending on it, and the targets file: its
 * digest (FNV-1a) is what the answer reads outside the store. No at: today, never settled. */
int kf_web_period_coverage(const struct kf_web_call *c, struct kf_web_period *ret)
{
    const char *at = kf_web_param(c, "at");
    char *text;
    int32_t day;

    if (!at || kf_day_parse(at, &day) < 0)
        return -1;
    text = targets_read(kf_web_server_config(c->srv)->coverage_targets);
    if (!text)
        return -1;
    ret->extra = kf_web_hash(text, strlen(text));
    free(text);
    ret->from_day = day - (KF_COVERAGE_WINDOW_DAYS - 1);
    ret->to_day = day;
    return 0;
}

/* GET /api/v1/coverage?at=YYYY-MM-DD: zones and terminals against the plan's targets
 * ([web] coverage_targets), the canonical document kioskctl coverage --format json prints. */
void kf_web_api_coverage(struct kf_web_call *c, struct kf_store *st)
{
    const struct kf_web_config *cfg = kf_web_server_config(c->srv);
    const char *at = kf_web_param(c, "at");
    struct kf_coverage_targets targets;
    struct kf_view_coverage_opts o = {0};
    struct kf_view_coverage *v = NULL;
    char err[256] = "", *text = NULL, *copy;
    int32_t day = kf_local_day(c->now_ms);
    int r;

    if (at && kf_day_parse(at, &day) < 0) {
        kf_web_problem(c, 400, "at is a day, YYYY-MM-DD");
        return;
    }
    text = targets_read(cfg->coverage_targets);
    if (!text) {
        kf_err("coverage: [web] coverage_targets %s cannot be read", cfg->coverage_targets);
        kf_web_problem(c, 503, "the coverage targets are not installed (logged)");
        return;
    }
    r = kf_coverage_targets_parse(text, cfg->coverage_targets, &targets, err, sizeof(err));
    free(text);
    if (r < 0) {
        kf_err("coverage: %s", err);
        kf_web_problem(c, 503, "the coverage targets do not parse (logged)");
        return;
    }
    o.at_day = day;
    o.targets = &targets;
    r = kf_view_coverage(st, &o, &v, err, sizeof(err));
    if (r < 0) {
        kf_web_problem(c, r == -EINVAL ? 400 : 500, "coverage: %s", err);
        return;
    }
    copy = malloc(v->len + 1);
    if (copy) {
        memcpy(copy, v->json, v->len);
        copy[v->len] = '\0';
        kf_web_reply_raw(c, 200, "application/json; charset=utf-8", copy, v->len);
    } else {
        kf_web_problem(c, 500, "out of memory");
    }
    kf_view_coverage_free(v);
}

/* GET /api/v1/watchlist: the zones that failed the last assessed period and those proposed
 * for delisting, with kioskctl assess watchlist's columns (the same view,
 * kf_view_assess_standings). */
void kf_web_api_watchlist(struct kf_web_call *c, struct kf_store *st)
{
    struct kf_view_standing *v = NULL;
    size_t n = 0;
    char err[512] = "";
    int r = kf_view_assess_standings(st, NULL, &v, &n, err, sizeof(err));

    if (r < 0) {
        kf_web_problem(c, 500, "watchlist: %s", err);
        return;
    }
    kf_web_reply_table(c, kf_view_assess_standings_table(v, n, NULL, 1));
    free(v);
}
