/* web/answer.c: a call's answer on the loop (web/server.c sends every answer through
 * kf__web_answer): status, the headers every answer carries, the session's cookie and body,
 * the ETag and 304, the access log line and the counters. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <kf/time.h>

#include "web/body.h"
#include "web/server_int.h"

/* ---- Answers ------------------------------------------------------------------------------ */

/* h2o keeps the value's pointer, not a copy: values go into the request's pool. */
void kf__web_add_header(h2o_req_t *req, const h2o_token_t *tok, const char *v)
{
    h2o_iovec_t c = h2o_strdup(&req->pool, v, strlen(v));

    h2o_add_header(&req->pool, &req->res.headers, tok, NULL, c.base, c.len);
}

static void add_header_str(h2o_req_t *req, const char *name, const char *v)
{
    h2o_iovec_t c = h2o_strdup(&req->pool, v, strlen(v));

    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, c.base,
                          c.len);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
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

static void access_log(struct kf_web_server *s, const struct kf_web_call *c, const char *user,
                       int status, size_t bytes, uint64_t us)
{
    char when[40];
    time_t t = (time_t)(c->now_ms / 1000);
    struct tm tm;

    if (!s->access_log)
        return;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* One line, fields separated by spaces; the path is the decoded one, with anything
     * below 0x21 or a quote shown as '?' so a line stays one line. */
    char path[256];
    size_t i;

    for (i = 0; i < sizeof(path) - 1 && c->path[i]; i++)
        path[i] = (unsigned char)c->path[i] < 0x21 || c->path[i] == '"' ? '?' : c->path[i];
    path[i] = '\0';
    fprintf(s->access_log, "%s %s %s %s \"%s\" %d %zu %.1f\n", when, c->peer, user[0] ? user : "-",
            c->method, path, status, bytes, (double)us / 1000.0);
    fflush(s->access_log);
}

/* The session's JSON (login, GET /api/v1/session). */
static json_t *session_json(const struct kf_web_call *c, const char *csrf)
{
    char role[64];
    struct kf_scope plain = c->scope;

    plain.bank[0] = '\0';
    if (c->scope.role == KF_ROLE_BANK)
        snprintf(role, sizeof(role), "bank");
    else
        kf_role_text(&plain, role, sizeof(role));
    return json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "user", c->user, "role", role, "bank",
                     c->scope.role == KF_ROLE_BANK ? c->scope.bank : NULL, "display", c->display,
                     "csrf", csrf);
}

void kf__web_detach(struct kf_web_call *c)
{
    if (c->guard)
        c->guard->call = NULL;
    c->guard = NULL;
    c->req = NULL;
}

/* The headers every answer carries, by what it is (loop). A console file's own caching
 * only on its 200 (a 304 keeps it): an error or a late 504 is never kept by a browser, and
 * the late one reads nothing its still-running work writes (cache_immutable, _revalidate). */
static void common_headers(struct kf_web_server *s, const struct kf_web_call *c, h2o_req_t *req,
                           int status)
{
    add_header_str(req, "x-content-type-options", "nosniff");
    add_header_str(req, "referrer-policy", "no-referrer");
    add_header_str(req, "x-frame-options", "DENY");
    if (s->ssl)
        add_header_str(req, "strict-transport-security", "max-age=31536000");
    if ((c->route->flags & KF_WEB_F_STATIC) && status == 200) {
        kf__web_add_header(req, H2O_TOKEN_CACHE_CONTROL,
                           c->cache_immutable    ? "public, max-age=31536000, immutable"
                           : c->cache_revalidate ? "no-cache"
                                                 : "public, max-age=300");
        add_header_str(req, "content-security-policy",
                       "default-src 'self'; img-src 'self' data:; style-src 'self' "
                       "'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri "
                       "'self'; form-action 'self'");
        add_header_str(req, "vary", "Accept-Encoding");
    } else {
        kf__web_add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
        /* Accept-Encoding: a kept answer is sent gzip-encoded to the callers that accept it. */
        add_header_str(req, "vary", "Cookie, Authorization, Accept-Encoding");
    }
}

/* Does the request's If-None-Match name etag (or "*")? RFC 9110 13.1.2: a list of entity
 * tags, compared weakly (a "W/" prefix ignored). */
static int none_match(h2o_req_t *req, const char *etag)
{
    ssize_t ix = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    size_t el = strlen(etag);
    const char *p, *end;

    if (ix < 0)
        return 0;
    p = req->headers.entries[ix].value.base;
    end = p + req->headers.entries[ix].value.len;
    while (p < end) {
        const char *q;

        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p < end && *p == '*')
            return 1;
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        if (p >= end || *p != '"')
            return 0; /* malformed: no match, the full answer */
        q = memchr(p + 1, '"', (size_t)(end - p - 1));
        if (!q)
            return 0;
        if ((size_t)(q + 1 - p) == el && memcmp(p, etag, el) == 0)
            return 1;
        p = q + 1;
    }
    return 0;
}

/* A kept body handed to h2o without copying: the request's pool holds a reference until
 * the pool is cleared, after the response has been written or the client has gone. */
struct kept_send {
    h2o_generator_t gen; /* no proceed or stop: everything goes in one final send */
    struct kf_web_body *body;
};

static void kept_send_dispose(void *p)
{
    kf_web_body_unref(((struct kept_send *)p)->body);
}

static void send_kept(h2o_req_t *req, struct kf_web_body *b, const char *bytes, size_t len)
{
    struct kept_send *k = h2o_mem_alloc_shared(&req->pool, sizeof(*k), kept_send_dispose);
    h2o_iovec_t buf = h2o_iovec_init(bytes, len);

    k->gen.proceed = NULL;
    k->gen.stop = NULL;
    k->body = kf_web_body_ref(b);
    h2o_start_response(req, &k->gen);
    if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

void kf__web_answer(struct kf_web_server *s, struct kf_web_call *c)
{
    h2o_req_t *req = c->req;
    uint64_t us = (uint64_t)kf_mono_us() - c->started_us;
    char etag_buf[48], buf[64];
    const char *etag = NULL;
    int status = c->status ? c->status : 500;
    int get = strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0;
    struct kf_web_body *kept = c->kept; /* a kept answer's bytes, instead of c->out */
    int gzip = 0;

    if (c->answered || !req) {
        c->answered = 1;
        return;
    }
    c->answered = 1;
    int session_body = status == 200 && (c->login_ok || c->route->fn == kf_web_api_session);

    if (!c->out && !kept && status != 204 && status != 304 && status < 400 && !session_body) {
        status = 500;
        kf_web_problem(c, 500, "no answer");
    }
    req->res.status = status;
    req->res.reason = reason_of(status);
    if (s->stopping)
        req->http1_is_persistent = 0;
    common_headers(s, c, req, status);
    if (c->retry_after > 0) {
        snprintf(buf, sizeof(buf), "%d", c->retry_after);
        add_header_str(req, "retry-after", buf);
    }
    if (c->disposition[0])
        add_header_str(req, "content-disposition", c->disposition);
    if (session_body) {
        json_t *j;
        struct kf_web_session *ss = NULL;
        char sid[KF_WEB_SID_HEX + 1], cookie[200];
        const char *csrf = NULL;

        if (c->login_ok) {
            ss = kf__web_session_new(s, c, c->now_ms, sid);
            if (ss) {
                snprintf(cookie, sizeof(cookie),
                         "kf_session=%s; Path=/; HttpOnly; SameSite=Strict%s", sid,
                         s->ssl ? "; Secure" : "");
                kf__web_add_header(req, H2O_TOKEN_SET_COOKIE, cookie);
                csrf = ss->csrf;
            }
            sodium_memzero(sid, sizeof(sid));
        } else if (c->auth == KF_WEB_AUTH_SESSION) {
            csrf = c->csrf; /* GET: the session's own token again (the console reloaded) */
        }
        j = session_json(c, csrf);
        kf_web_reply_json(c, 200, j);
        kept = NULL;
    }
    if (status == 200 && c->out && c->route->fn == kf_web_api_fleet_metrics) {
        char *mbuf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&mbuf, &len);

        if (f) {
            kf__web_metrics_own(s, f);
            fwrite(c->out, 1, c->out_len, f);
            if (fclose(f) == 0)
                kf_web_reply_raw(c, 200, c->ctype, mbuf, len);
            else
                free(mbuf);
        }
    }
    if (kept && get && status == 200) {
        /* Made once when the answer was kept: the ETag, and gzip for whoever accepts it. */
        ssize_t ix = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_ENCODING, -1);

        gzip = kept->gz && ix >= 0 &&
               kf_web_accepts_gzip(req->headers.entries[ix].value.base,
                                   req->headers.entries[ix].value.len);
        etag = gzip ? kept->etag_gz : kept->etag;
    } else if (c->out && get && status == 200) {
        uint8_t h[16];

        crypto_generichash(h, sizeof(h), (const uint8_t *)c->out, c->out_len, NULL, 0);
        etag_buf[0] = '"';
        sodium_bin2hex(etag_buf + 1, 33, h, sizeof(h));
        etag_buf[33] = '"';
        etag_buf[34] = '\0';
        etag = etag_buf;
    }
    if (etag) {
        kf__web_add_header(req, H2O_TOKEN_ETAG, etag);
        if (none_match(req, etag)) {
            status = req->res.status = 304;
            req->res.reason = reason_of(304);
            free(c->out);
            c->out = NULL;
            c->out_len = 0;
            kept = NULL;
        }
    }
    if ((c->out || kept) && c->ctype)
        kf__web_add_header(req, H2O_TOKEN_CONTENT_TYPE, c->ctype);
    kf__web_metrics_count(s, c->route_ix, status, us);
    kf__web_detach(c);
    if (kept) {
        const char *bytes = gzip ? kept->gz : kept->bytes;
        size_t len = gzip ? kept->gz_len : kept->len;

        if (gzip)
            kf__web_add_header(req, H2O_TOKEN_CONTENT_ENCODING, "gzip");
        access_log(s, c, c->user, status, len, us);
        req->res.content_length = len;
        send_kept(req, kept, bytes, len);
        return;
    }
    access_log(s, c, c->user, status, c->out_len, us);
    /* A 304 says no Content-Length (RFC 9110 8.6: it would have to be the 200's). */
    if (status != 304)
        req->res.content_length = c->out ? c->out_len : 0;
    h2o_send_inline(req, c->out ? c->out : "", c->out ? c->out_len : 0);
}

void kf__web_answer_late(struct kf_web_server *s, struct kf_web_call *c)
{
    h2o_req_t *req = c->req;
    uint64_t us = (uint64_t)kf_mono_us() - c->started_us;
    char body[256];
    int n;

    if (c->answered || !req)
        return;
    c->answered = 1;
    req->res.status = 504;
    req->res.reason = reason_of(504);
    if (s->stopping)
        req->http1_is_persistent = 0;
    common_headers(s, c, req, 504);
    n = snprintf(body, sizeof(body),
                 "{\"type\":\"about:blank\",\"title\":\"Gateway Timeout\",\"status\":504,"
                 "\"detail\":\"the answer took longer than %u ms\"}",
                 s->cfg.request_ms);
    kf__web_add_header(req, H2O_TOKEN_CONTENT_TYPE, "application/problem+json");
    kf__web_metrics_count(s, c->route_ix, 504, us);
    /* A token's user, or a login's, is set by the work still running: only a session's
     * user outside a login is the loop's. */
    access_log(
        s, c, c->auth == KF_WEB_AUTH_SESSION && !(c->route->flags & KF_WEB_F_LOGIN) ? c->user : "-",
        504, (size_t)n, us);
    kf__web_detach(c);
    req->res.content_length = (size_t)n;
    h2o_send_inline(req, body, (size_t)n);
}
