/* web/call.c: one request's work on a pool thread (web/web.h): who is calling, whether
 * the route allows their role, a connection scoped to them, the handler; and the shapes
 * of the answers (JSON, tables paged and filtered, RFC 9457 problem details). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/log.h>
#include <kf/passwd.h>

#include "views/qcsv.h"
#include "views/qjson.h"
#include "store/period.h"
#include "web/cache.h"
#include "web/web.h"

#define LIMIT_DEFAULT 100
#define LIMIT_MAX 1000

const char *kf_web_param(const struct kf_web_call *c, const char *name)
{
    for (size_t i = 0; i < c->nparams; i++)
        if (strcmp(c->params[i].name, name) == 0)
            return c->params[i].value;
    return NULL;
}

void kf_web_reply_raw(struct kf_web_call *c, int status, const char *ctype, char *buf, size_t len)
{
    kf_web_body_unref(c->kept);
    c->kept = NULL;
    free(c->out);
    c->status = status;
    c->ctype = ctype;
    c->out = buf;
    c->out_len = len;
}

void kf_web_reply_json(struct kf_web_call *c, int status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(j);
    if (!s) {
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    kf_web_reply_raw(c, status, "application/json; charset=utf-8", s, strlen(s));
}

static const char *title_of(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

void kf_web_problem(struct kf_web_call *c, int status, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    json_t *j;
    char *s;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    j = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title_of(status),
                  "status", status, "detail", detail);
    s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    kf_web_reply_raw(c, status, "application/problem+json", s, s ? strlen(s) : 0);
}

void kf_web_reply_store_err(struct kf_web_call *c, struct kf_store *st, int r, const char *what)
{
    const char *msg = st ? kf_store_errmsg(st) : "";

    if (r == -ENOENT)
        kf_web_problem(c, 404, "%s: not found", what);
    else if (r == -EINVAL)
        kf_web_problem(c, 400, "%s: %s", what, *msg ? msg : "invalid");
    else {
        kf_err("%s %s: %s: %s", c->method, c->path, what, *msg ? msg : kf_strerror(r));
        kf_web_problem(c, 500, "%s: the store failed (logged)", what);
    }
}

/* A non-negative integer parameter within [0, max]; -EINVAL when malformed. */
static int uint_param(const char *v, long max, long def, long *ret)
{
    char *end;
    long n;

    if (!v) {
        *ret = def;
        return 0;
    }
    if (*v < '0' || *v > '9')
        return -EINVAL;
    n = strtol(v, &end, 10);
    if (*end || n < 0 || n > max)
        return -EINVAL;
    *ret = n;
    return 0;
}

/* Does row r pass the call's column filters (a parameter named like a column) and q? */
static int row_passes(const struct kf_web_call *c, const struct kf_qtable *t, size_t r)
{
    const char *q = kf_web_param(c, "q");

    for (size_t i = 0; i < c->nparams; i++) {
        int col = kf_store_query_table_col(t, c->params[i].name);
        const char *v;

        if (col < 0)
            continue;
        v = kf_store_query_table_cell(t, r, (size_t)col);
        if (!v || strcmp(v, c->params[i].value) != 0)
            return 0;
    }
    if (q && *q) {
        for (size_t col = 0; col < t->ncols; col++) {
            const char *v = kf_store_query_table_cell(t, r, col);

            if ((t->types[col] & KF_QT_TYPE_MASK) == KF_QT_TEXT && v && strstr(v, q))
                return 1;
        }
        return 0;
    }
    return 1;
}

static int keep_row(const struct kf_qtable *t, size_t r, void *ud)
{
    return row_passes(ud, t, r);
}

/* The table as kioskctl --format csv writes it (UTF-8 with a BOM), as a file to save. */
static void reply_csv(struct kf_web_call *c, const struct kf_qtable *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f) {
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    kf_view_qcsv_table(f, t, keep_row, c);
    if (fclose(f) != 0) {
        free(buf);
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    kf_web_reply_raw(c, 200, "text/csv; charset=utf-8", buf, len);
    snprintf(c->disposition, sizeof(c->disposition), "attachment; filename=\"%s.csv\"",
             t->name ? t->name : "table");
}

void kf_web_reply_table(struct kf_web_call *c, struct kf_qtable *t)
{
    const char *fmt;
    long limit, offset;
    json_t *items, *o;
    size_t total = 0, seen = 0;

    if (!t) {
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    if (!(c->route->flags & KF_WEB_F_LIST)) {
        kf_web_reply_json(c, 200, kf_view_qjson_table(t));
        kf_store_query_table_free(t);
        return;
    }
    fmt = kf_web_param(c, "format");
    if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0) {
        kf_store_query_table_free(t);
        kf_web_problem(c, 400, "format is json or csv");
        return;
    }
    if (fmt && strcmp(fmt, "csv") == 0) { /* a download: every row the filters keep */
        reply_csv(c, t);
        kf_store_query_table_free(t);
        return;
    }
    if (uint_param(kf_web_param(c, "limit"), LIMIT_MAX, LIMIT_DEFAULT, &limit) < 0 ||
        uint_param(kf_web_param(c, "offset"), 1L << 30, 0, &offset) < 0) {
        kf_store_query_table_free(t);
        kf_web_problem(c, 400, "limit is 0..%d and offset a non-negative integer", LIMIT_MAX);
        return;
    }
    items = json_array();
    for (size_t r = 0; items && r < t->nrows; r++) {
        if (!row_passes(c, t, r))
            continue;
        total++;
        if (seen++ < (size_t)offset || json_array_size(items) >= (size_t)limit)
            continue;
        o = kf_view_qjson_rows(t, r, 1);
        if (!o || json_array_append(items, json_array_get(o, 0)) < 0) {
            json_decref(o);
            json_decref(items);
            items = NULL;
            break;
        }
        json_decref(o);
    }
    kf_store_query_table_free(t);
    if (!items) {
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    c->list_total = total;
    kf_web_reply_json(c, 200,
                      json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total,
                                "limit", (json_int_t)limit, "offset", (json_int_t)offset));
}

int kf__web_page_params(const struct kf_web_call *c, long *limit, long *offset)
{
    if (uint_param(kf_web_param(c, "limit"), LIMIT_MAX, LIMIT_DEFAULT, limit) < 0 ||
        uint_param(kf_web_param(c, "offset"), 1L << 30, 0, offset) < 0)
        return -EINVAL;
    return 0;
}

void kf__web_reply_page(struct kf_web_call *c, struct kf_qtable *t, size_t total, long limit,
                        long offset)
{
    json_t *items = t ? json_array() : NULL, *o;

    for (size_t r = 0; items && r < t->nrows; r++) {
        o = kf_view_qjson_rows(t, r, 1);
        if (!o || json_array_append(items, json_array_get(o, 0)) < 0) {
            json_decref(o);
            json_decref(items);
            items = NULL;
            break;
        }
        json_decref(o);
    }
    kf_store_query_table_free(t);
    if (!items) {
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    c->list_total = total;
    kf_web_reply_json(c, 200,
                      json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total,
                                "limit", (json_int_t)limit, "offset", (json_int_t)offset));
}

struct kf_qtable *kf__web_table_where(struct kf_qtable *t, const char *name, const char *col,
                                      const char *value)
{
    static const char letters[] = "xirbtdsp";
    const char **cols = calloc(t->ncols + 1, sizeof(*cols));
    char *types = calloc(t->ncols + 1, 1);
    struct kf_qtable *o = NULL;
    int k = kf_store_query_table_col(t, col);

    for (size_t i = 0; cols && types && i < t->ncols; i++) {
        unsigned ty = t->types[i] & KF_QT_TYPE_MASK;
        char l = letters[ty < 8 ? ty : 0];

        cols[i] = t->cols[i];
        types[i] = (t->types[i] & KF_QT_FILE_ONLY) ? (char)(l - 'a' + 'A') : l;
    }
    if (cols && types)
        o = kf_store_query_table_new(name ? name : t->name, t->title, cols, types);
    for (size_t r = 0; o && r < t->nrows; r++) {
        const char *v = k >= 0 ? kf_store_query_table_cell(t, r, (size_t)k) : NULL;

        if (!(value ? v && strcmp(v, value) == 0 : v != NULL))
            continue;
        if (kf_store_query_table_add_row(o, (const char *const *)&t->cells[r * t->ncols]) < 0) {
            kf_store_query_table_free(o);
            o = NULL;
        }
    }
    if (o)
        o->record = t->record;
    free(cols);
    free(types);
    kf_store_query_table_free(t);
    return o;
}

void kf_web_reply_report(struct kf_web_call *c, struct kf_qreport *rep)
{
    json_t *j = rep ? kf_view_qjson_report(rep, 1) : NULL;

    kf_store_query_report_free(rep);
    if (!j)
        kf_web_problem(c, 500, "out of memory");
    else
        kf_web_reply_json(c, 200, j);
}

/* The parameters the route takes, and only those: anything else is a 400, so a mistyped
 * filter is never silently ignored. */
static int params_ok(struct kf_web_call *c)
{
    const char *list = c->route->params;

    for (size_t i = 0; i < c->nparams; i++) {
        const char *n = c->params[i].name, *p = list;
        size_t len = strlen(n);
        int found = 0;

        while (p && *p && !found) {
            size_t pl = strcspn(p, ",");

            found = pl == len && strncmp(p, n, len) == 0;
            p += pl + (p[pl] == ',');
        }
        if (!found) {
            kf_web_problem(c, 400, "unknown parameter '%.64s'%s%s", n,
                           list ? "; this route takes " : "", list ? list : "");
            return 0;
        }
    }
    return 1;
}

/* Who is calling, as the store says now: a session's user (disabled or changed: the
 * session ends), or a token's (expired, revoked, its user disabled: 401). */
static int identify(struct kf_web_call *c)
{
    struct kf_web_pool *pool = kf_web_server_pool(c->srv);
    struct kf_store *st = NULL;
    struct kf_user u;
    struct kf_token tok;
    uint8_t hash[32];
    int r;

    if (c->auth == KF_WEB_AUTH_NONE)
        return 0;
    r = kf_web_pool_get(pool, NULL, &st);
    if (r < 0) {
        kf_err("identity: cannot open the store: %s", kf_strerror(r));
        kf_web_problem(c, 503, "the store cannot be opened");
        return -1;
    }
    if (c->auth == KF_WEB_AUTH_TOKEN) {
        if (kf_api_token_hash(c->token, hash) < 0 || kf_store_token_lookup(st, hash, &tok) < 0 ||
            tok.revoked || (tok.expires_ms != 0 && tok.expires_ms <= c->now_ms)) {
            kf_web_pool_put(pool, st, 0);
            kf_web_problem(c, 401, "the token is unknown, revoked or expired");
            return -1;
        }
        snprintf(c->user, sizeof(c->user), "%s", tok.user);
    }
    r = kf_store_user_get(st, c->user, &u);
    kf_web_pool_put(pool, st, r < 0 && r != -ENOENT);
    if (r < 0 || u.disabled ||
        (c->auth == KF_WEB_AUTH_SESSION &&
         (u.scope.role != c->scope.role || strcmp(u.scope.bank, c->scope.bank) != 0))) {
        c->drop_session = c->auth == KF_WEB_AUTH_SESSION;
        kf_web_problem(c, 401, "the user is disabled or has changed: log in again");
        return -1;
    }
    c->scope = u.scope;
    snprintf(c->display, sizeof(c->display), "%s", u.display);
    return 0;
}

/* Does the route allow the caller's role? Answered (401, 403) when not. */
static int role_ok(struct kf_web_call *c)
{
    unsigned bit = kf_web_role_bit(&c->scope);

    if (c->route->roles & (bit | KF_WEB_R_PUBLIC))
        return 1;
    if (bit == KF_WEB_R_PUBLIC)
        kf_web_problem(c, 401, "log in first (POST /api/v1/session) or send a token");
    else
        kf_web_problem(c, 403, "the role %s may not %s %s",
                       bit == KF_WEB_R_OPERATOR     ? "operator"
                       : bit == KF_WEB_R_TECHNICIAN ? "technician"
                       : bit == KF_WEB_R_BANK       ? "bank"
                                                    : "bureau",
                       c->method, c->route->pattern);
    return 0;
}

static void run_scoped(struct kf_web_call *c, int cached);

static void call_run(struct kf_web_call *c)
{
    struct kf_web_pool *pool = kf_web_server_pool(c->srv);
    struct kf_store *st = NULL;
    int r;

    if (c->route->flags & KF_WEB_F_STATIC) { /* the console's own query is its business */
        c->route->fn(c, NULL);
        return;
    }
    if (!params_ok(c))
        return;
    if (c->route->flags & KF_WEB_F_LOGIN) {
        r = kf_web_pool_get(pool, NULL, &st);
        if (r < 0) {
            kf_web_problem(c, 503, "the store cannot be opened");
            return;
        }
        c->route->fn(c, st);
        kf_web_pool_put(pool, st, 0);
        return;
    }
    if (identify(c) < 0 || !role_ok(c))
        return;
    run_scoped(c, 0);
}

/* The settled period c's answer covers and its stamp now (store/period.h), on st. 0, or -1:
 * none (a live answer, a period not settled, or the stamp cannot be read). */
static int period_read(const struct kf_web_call *c, struct kf_store *st, struct kf_web_period *ret)
{
    kf_web_period_fn period = kf_web_route_period(c->route);
    struct kf_web_period p = {0};

    if (!period || period(c, &p) < 0)
        return -1;
    if (kf_store_period_stamp(st, p.from_day, p.to_day, &p.stamp) < 0)
        return -1;
    *ret = p;
    return 0;
}

static void run_scoped(struct kf_web_call *c, int cached)
{
    struct kf_web_pool *pool = kf_web_server_pool(c->srv);
    struct kf_store *st = NULL;
    int r;

    /* Every read runs on a connection scoped to the caller: a bank's user's query cannot
     * see another bank's rows whatever the handler asks. */
    r = kf_web_pool_get(pool, &c->scope, &st);
    if (r < 0) {
        kf_err("%s %s: cannot open the store for %s: %s", c->method, c->path, c->user,
               kf_strerror(r));
        kf_web_problem(c, 503, "the store cannot be opened");
        return;
    }
    /* The stamp before the answer: a change between them makes the stamp older than the
     * answer, never newer, so an answer kept for its stamp is never staler than the stamp. */
    if (cached)
        c->period_ok = period_read(c, st, &c->period) == 0;
    c->route->fn(c, st);
    kf_web_pool_put(pool, st, c->status >= 500);
}

/* After kf_web_cache_begin returned 2 (ticket): 1 when c was answered from the kept answer,
 * its period's stamp unchanged. */
static int period_recheck(struct kf_web_call *c, struct kf_web_cache *cache,
                          struct kf_web_cache_entry *ticket)
{
    struct kf_web_pool *pool = kf_web_server_pool(c->srv);
    struct kf_web_period p;
    struct kf_store *st = NULL;
    int ok = 0;

    if (kf_web_pool_get(pool, &c->scope, &st) == 0) {
        ok = period_read(c, st, &p) == 0;
        kf_web_pool_put(pool, st, 0);
    }
    return kf_web_cache_recheck(cache, c, ticket, ok ? &p : NULL);
}

void kf_web_call_run(struct kf_web_call *c)
{
    struct kf_web_cache *cache = kf_web_server_cache(c->srv);
    struct kf_web_cache_entry *ticket = NULL;

    if (cache && (c->route->flags & KF_WEB_F_CACHE) &&
        (strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0)) {
        /* A live view: after the identity check (the key is the caller's scope), before a
         * connection is taken. */
        if (!params_ok(c) || identify(c) < 0 || !role_ok(c))
            return;
        for (int tries = 0;; tries++) {
            int r = kf_web_cache_begin(cache, c, &ticket);

            if (r == 1)
                return;
            if (r == 0)
                break;
            if (period_recheck(c, cache, ticket) == 1)
                return;
            ticket = NULL; /* dropped: begin again (another call may be computing it) */
            if (tries == 2)
                break; /* kept answers keep going stale under us: compute, uncached */
        }
        run_scoped(c, 1);
        kf_web_cache_done(cache, c, ticket);
        return;
    }
    call_run(c);
    /* An action kiosk-web performed: no answer computed before it is served after it. */
    if ((c->route->flags & KF_WEB_F_WRITE) && !(c->route->flags & KF_WEB_F_LOGIN))
        kf_web_cache_invalidate(cache);
}

void kf_web_call_free(struct kf_web_call *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nparams; i++) {
        free(c->params[i].name);
        free(c->params[i].value);
    }
    if (c->body) {
        sodium_memzero(c->body, c->body_len); /* may hold a password */
        free(c->body);
    }
    sodium_memzero(c->token, sizeof(c->token));
    free(c->out);
    kf_web_body_unref(c->kept);
    free(c);
}
