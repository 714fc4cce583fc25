/* web/server.c: kiosk-web's loop (web/web.h): h2o on libuv, one handler for every request;
 * the route table decides, a call is queued on the thread pool, answered from its after-work
 * callback. Nothing here blocks but the access log's one write per request. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/time.h>

#include "views/qjson.h"
#include "web/cache.h"
#include "web/server_int.h"

/* The console's files: every path that is not the API's. */
static const struct kf_web_route static_route = {
    "GET", "/{file}", KF_WEB_R_PUBLIC, KF_WEB_F_STATIC, NULL, kf_web_static, "the console"};

const struct kf_web_config *kf_web_server_config(const struct kf_web_server *s)
{
    return &s->cfg;
}

struct kf_web_pool *kf_web_server_pool(struct kf_web_server *s)
{
    return s->pool;
}

struct kf_web_cache *kf_web_server_cache(struct kf_web_server *s)
{
    return s->cache;
}

struct kf_web_files *kf_web_server_files(struct kf_web_server *s)
{
    return s->files;
}

const uint8_t *kf_web_server_sk(const struct kf_web_server *s)
{
    return s->sk;
}

int *kf_web_server_stopping_flag(struct kf_web_server *s)
{
    return &s->stopping;
}

const char *kf_web_server_dummy_hash(const struct kf_web_server *s)
{
    return s->dummy_hash;
}

/* An answer made on the loop, without the pool. */
static int answer_now(struct kf_web_server *s, h2o_req_t *req, struct kf_web_call *c)
{
    c->req = req;
    kf__web_answer(s, c);
    kf_web_call_free(c);
    return 0;
}

/* ---- Calls on the thread pool -------------------------------------------------------------- */

static void on_call_freed(uv_handle_t *h)
{
    kf_web_call_free(h->data);
}

static void call_work(uv_work_t *w)
{
    kf_web_call_run(w->data);
}

static void call_after(uv_work_t *w, int status)
{
    struct kf_web_call *c = w->data;
    struct kf_web_server *s = c->srv;
    char key[96];

    (void)status;
    s->jobs--;
    if (c->route->flags & KF_WEB_F_LOGIN) {
        s->pw_jobs--;
        if (c->login_failed) {
            s->logins_failed++;
            snprintf(key, sizeof(key), "u:%s", c->user);
            kf__web_limit_fail(s, key, c->now_ms);
            snprintf(key, sizeof(key), "a:%s", c->peer);
            kf__web_limit_fail(s, key, c->now_ms);
            kf_warn("login failed: user '%s' from %s", c->user, c->peer);
        } else if (c->login_ok) {
            s->logins_ok++;
            snprintf(key, sizeof(key), "u:%s", c->user);
            kf__web_limit_clear(s, key);
            kf_info("login: %s from %s", c->user, c->peer);
        }
    }
    if (c->drop_session)
        kf__web_session_drop_user(s, c->user);
    kf__web_answer(s, c);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_call_freed);
}

static void on_call_timeout(uv_timer_t *t)
{
    struct kf_web_call *c = t->data;

    if (c->answered || !c->req)
        return;
    kf_warn("%s %s: no answer after %u ms: 504", c->method, c->path, c->srv->cfg.request_ms);
    /* The work is still running on its thread and owns the call's answer fields. */
    kf__web_answer_late(c->srv, c);
}

static void guard_dispose(void *p)
{
    struct kf_web_req_guard *g = p;

    if (g->call) {
        g->call->req = NULL;
        g->call->guard = NULL;
    }
}

static int queue_call(struct kf_web_server *s, h2o_req_t *req, struct kf_web_call *c)
{
    int r;

    c->req = req;
    c->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*c->guard), guard_dispose);
    c->guard->call = c;
    c->work.data = c;
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    r = uv_queue_work(s->loop, &c->work, call_work, call_after);
    if (r < 0) {
        if (c->route->flags & KF_WEB_F_LOGIN)
            s->pw_jobs--;
        kf_web_problem(c, 503, "busy");
        kf__web_answer(s, c);
        uv_close((uv_handle_t *)&c->timer, on_call_freed);
        return 0;
    }
    s->jobs++;
    uv_timer_start(&c->timer, on_call_timeout, s->cfg.request_ms, 0);
    return 0;
}

/* ---- Requests ------------------------------------------------------------------------------ */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode n bytes of in (plus_space: '+' is a space, in queries). -EINVAL for a bad
 * escape, a NUL, or no room. */
static int decode(const char *in, size_t n, char *out, size_t cap, int plus_space)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)in[i];

        if (ch == '%') {
            if (n < 3 || i > n - 3)
                return -EINVAL;
            int a = hexval(in[i + 1]), b = hexval(in[i + 2]);
            if (a < 0 || b < 0)
                return -EINVAL;
            ch = a * 16 + b;
            i += 2;
        } else if (ch == '+' && plus_space) {
            ch = ' ';
        }
        if (ch == 0 || o + 1 >= cap)
            return -EINVAL;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

static int parse_query(struct kf_web_call *c, const char *q, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t end = i, eq;
        char name[128], *value;

        while (end < n && q[end] != '&')
            end++;
        if (end > i) {
            if (c->nparams >= KF_WEB_PARAMS_MAX)
                return -E2BIG;
            for (eq = i; eq < end && q[eq] != '='; eq++)
                ;
            value = malloc(end - i + 1);
            if (!value || decode(q + i, eq - i, name, sizeof(name), 1) < 0 ||
                decode(q + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0, value,
                       end - i + 1, 1) < 0) {
                free(value);
                return -EINVAL;
            }
            for (size_t k = 0; k < c->nparams; k++)
                if (strcmp(c->params[k].name, name) == 0) {
                    free(value);
                    return -EEXIST;
                }
            c->params[c->nparams].name = strdup(name);
            c->params[c->nparams].value = value;
            if (!c->params[c->nparams].name)
                return -ENOMEM;
            c->nparams++;
        }
        i = end + 1;
    }
    return 0;
}

static void peer_of(h2o_req_t *req, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);

    snprintf(buf, cap, "-");
    if (len == 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, (socklen_t)cap);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, (socklen_t)cap);
}

static const char *header(h2o_req_t *req, const h2o_token_t *tok, char *buf, size_t cap)
{
    ssize_t ix = h2o_find_header(&req->headers, tok, -1);
    h2o_iovec_t v;

    if (ix < 0)
        return NULL;
    v = req->headers.entries[ix].value;
    if (v.len >= cap)
        return NULL;
    memcpy(buf, v.base, v.len);
    buf[v.len] = '\0';
    return buf;
}

static const char *header_str(h2o_req_t *req, const char *name, char *buf, size_t cap)
{
    ssize_t ix = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    h2o_iovec_t v;

    if (ix < 0)
        return NULL;
    v = req->headers.entries[ix].value;
    if (v.len >= cap)
        return NULL;
    memcpy(buf, v.base, v.len);
    buf[v.len] = '\0';
    return buf;
}

/* The kf_session cookie's value among the Cookie headers, or NULL. */
static const char *session_cookie(h2o_req_t *req, char *buf, size_t cap)
{
    ssize_t ix = -1;

    while ((ix = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, ix)) >= 0) {
        h2o_iovec_t v = req->headers.entries[ix].value;
        size_t i = 0;

        while (i < v.len) {
            size_t end = i;

            while (end < v.len && v.base[end] != ';')
                end++;
            while (i < end && v.base[i] == ' ')
                i++;
            if (end - i > 11 && memcmp(v.base + i, "kf_session=", 11) == 0 && end - i - 11 < cap) {
                memcpy(buf, v.base + i + 11, end - i - 11);
                buf[end - i - 11] = '\0';
                return buf;
            }
            i = end + 1;
        }
    }
    return NULL;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct kf_web_server *s = *(struct kf_web_server **)(self + 1);
    struct kf_web_call *c = calloc(1, sizeof(*c));
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    int known = 0, r;
    char hb[256], cookie[100];
    const char *v;
    struct kf_web_session *ss = NULL;

    if (!c) {
        h2o_send_error_503(req, "Service Unavailable", "out of memory", 0);
        return 0;
    }
    c->srv = s;
    c->started_us = (uint64_t)kf_mono_us();
    c->now_ms = kf_now_ms();
    c->route = &static_route;
    c->route_ix = (unsigned)kf_web_nroutes;
    peer_of(req, c->peer, sizeof(c->peer));
    snprintf(c->method, sizeof(c->method), "%.*s", (int)(req->method.len < 7 ? req->method.len : 7),
             req->method.base);
    if (decode(req->path.base, plen, c->path, sizeof(c->path), 0) < 0 || c->path[0] != '/') {
        snprintf(c->path, sizeof(c->path), "(undecodable)");
        kf_web_problem(c, 400, "the path is not a valid percent-encoded path");
        return answer_now(s, req, c);
    }
    if (s->stopping) {
        kf_web_problem(c, 503, "kiosk-web is stopping");
        return answer_now(s, req, c);
    }
    /* Which route. */
    {
        const struct kf_web_route *rt = kf_web_route_find(c->method, c->path, c->args, &known);

        if (rt) {
            c->route = rt;
            c->route_ix = (unsigned)(rt - kf_web_routes);
        } else if (known) {
            kf_web_problem(c, 405, "%s is not allowed on %s", c->method, c->path);
            return answer_now(s, req, c);
        } else if (strncmp(c->path, "/api/", 5) == 0 || strcmp(c->path, "/api") == 0) {
            kf_web_problem(c, 404, "no such route: %s %s", c->method, c->path);
            return answer_now(s, req, c);
        } else if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
            kf_web_problem(c, 405, "the console's files are read with GET");
            return answer_now(s, req, c);
        }
    }
    if (req->query_at != SIZE_MAX) {
        r = parse_query(c, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
        if (r < 0) {
            kf_web_problem(c, 400, "%s",
                           r == -E2BIG    ? "too many query parameters"
                           : r == -EEXIST ? "a query parameter is given twice"
                                          : "the query is not valid percent-encoding");
            return answer_now(s, req, c);
        }
    }
    /* Who: a bearer token (checked on the pool), or a session cookie (here). */
    if ((v = header(req, H2O_TOKEN_AUTHORIZATION, hb, sizeof(hb))) != NULL) {
        if (strncmp(v, "Bearer ", 7) != 0 || strlen(v + 7) > KF_TOKEN_TEXT_MAX) {
            kf_web_problem(c, 401, "Authorization: Bearer kft_...");
            return answer_now(s, req, c);
        }
        snprintf(c->token, sizeof(c->token), "%s", v + 7);
        c->auth = KF_WEB_AUTH_TOKEN;
        sodium_memzero(hb, sizeof(hb));
    } else if ((v = session_cookie(req, cookie, sizeof(cookie))) != NULL &&
               (ss = kf__web_session_find(s, v, c->now_ms)) != NULL) {
        c->auth = KF_WEB_AUTH_SESSION;
        snprintf(c->user, sizeof(c->user), "%s", ss->user);
        c->scope = ss->scope;
        snprintf(c->display, sizeof(c->display), "%s", ss->display);
        snprintf(c->csrf, sizeof(c->csrf), "%s", ss->csrf);
    }
    /* CSRF: a state-changing request under a cookie carries the session's token. */
    if ((c->route->flags & KF_WEB_F_WRITE) && !(c->route->flags & KF_WEB_F_LOGIN) &&
        c->auth == KF_WEB_AUTH_SESSION) {
        v = header_str(req, "x-csrf-token", hb, sizeof(hb));
        if (!v || strlen(v) != KF_WEB_CSRF_HEX ||
            sodium_memcmp(v, ss->csrf, KF_WEB_CSRF_HEX) != 0) {
            kf_web_problem(c, 403, "missing or wrong X-CSRF-Token (GET /api/v1/session gives it)");
            return answer_now(s, req, c);
        }
    }
    /* Answers that need no store. */
    if (c->route->flags & KF_WEB_F_NOSTORE) {
        if (strcmp(c->route->pattern, "/healthz") == 0) {
            kf_web_reply_json(c, 200, json_pack("{s:b}", "ok", 1));
        } else if (c->auth != KF_WEB_AUTH_SESSION) { /* DELETE /api/v1/session */
            kf_web_problem(c, 401, "no session");
        } else {
            kf__web_session_drop(s, ss);
            kf__web_add_header(
                req, H2O_TOKEN_SET_COOKIE,
                s->ssl ? "kf_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure"
                       : "kf_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
            c->status = 204;
        }
        return answer_now(s, req, c);
    }
    /* The body: bounded, JSON. (h2o refuses a body past body_max itself with 413.) */
    if (req->entity.base) {
        if (req->entity.len > s->cfg.body_max) {
            kf_web_problem(c, 413, "the body is larger than %u bytes", s->cfg.body_max);
            return answer_now(s, req, c);
        }
        v = header(req, H2O_TOKEN_CONTENT_TYPE, hb, sizeof(hb));
        if (!v || strncmp(v, "application/json", 16) != 0) {
            kf_web_problem(c, 415, "the body is application/json");
            return answer_now(s, req, c);
        }
        c->body = malloc(req->entity.len + 1);
        if (!c->body) {
            kf_web_problem(c, 503, "out of memory");
            return answer_now(s, req, c);
        }
        memcpy(c->body, req->entity.base, req->entity.len);
        c->body[req->entity.len] = '\0';
        c->body_len = req->entity.len;
    }
    if (c->route->flags & KF_WEB_F_LOGIN) {
        json_t *j = c->body ? json_loadb(c->body, c->body_len, 0, NULL) : NULL;
        const char *uj = json_string_value(json_object_get(j, "user"));
        char user[KF_USER_NAME_MAX + 1], key[96];
        int wait_u, wait_a;

        snprintf(user, sizeof(user), "%s", uj ? uj : "");
        json_decref(j);
        snprintf(key, sizeof(key), "u:%s", user);
        wait_u = kf__web_limit_check(s, key, c->now_ms);
        snprintf(key, sizeof(key), "a:%s", c->peer);
        wait_a = kf__web_limit_check(s, key, c->now_ms);
        if (wait_u || wait_a) {
            s->limited++;
            snprintf(c->user, sizeof(c->user), "%s", user);
            kf_warn("login refused: too many failures for %s from %s", c->user, c->peer);
            c->retry_after = wait_u > wait_a ? wait_u : wait_a;
            kf_web_problem(c, 429, "too many failed logins: try again in %d s", c->retry_after);
            return answer_now(s, req, c);
        }
        if (s->pw_jobs >= s->cfg.pw_max) {
            c->retry_after = 1;
            kf_web_problem(c, 503, "too many logins at once: try again");
            return answer_now(s, req, c);
        }
        s->pw_jobs++;
    }
    if (c->route->flags & KF_WEB_F_SSE)
        return kf__web_sse_start(s, req, c);
    if (s->jobs >= s->cfg.jobs_max) {
        if (c->route->flags & KF_WEB_F_LOGIN)
            s->pw_jobs--;
        c->retry_after = 1;
        kf_web_problem(c, 503, "busy: %u requests in progress", s->jobs);
        return answer_now(s, req, c);
    }
    return queue_call(s, req, c);
}

/* ---- Listening ----------------------------------------------------------------------------- */

static void on_accept(uv_stream_t *listener, int status)
{
    struct kf_web_server *s = listener->data;
    uv_tcp_t *conn;
    h2o_socket_t *sock;

    if (status != 0 || s->stopping)
        return;
    conn = h2o_mem_alloc(sizeof(*conn));
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    sock = h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free);
    h2o_accept(&s->accept, sock);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct kf_web_server *s = h->data;

    kf_notice("signal %d: stopping", signum);
    kf_web_server_stop(s);
}

static int tls_init(struct kf_web_server *s, char *err, size_t cap)
{
    s->ssl = SSL_CTX_new(TLS_server_method());
    if (!s->ssl) {
        snprintf(err, cap, "TLS: cannot make a context");
        return -ENOMEM;
    }
    SSL_CTX_set_min_proto_version(s->ssl, TLS1_2_VERSION);
    SSL_CTX_set_options(s->ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(s->ssl, s->cfg.tls_cert) != 1) {
        snprintf(err, cap, "[web] tls_cert %s: not a PEM certificate chain we can read",
                 s->cfg.tls_cert);
        return -EINVAL;
    }
    if (SSL_CTX_use_PrivateKey_file(s->ssl, s->cfg.tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s->ssl) != 1) {
        snprintf(err, cap, "[web] tls_key %s: not the certificate's PEM private key",
                 s->cfg.tls_key);
        return -EINVAL;
    }
    return 0;
}

struct kf_web_server *kf_web_server_new(const struct kf_web_config *cfg, uv_loop_t *loop, char *err,
                                        size_t cap)
{
    struct kf_web_server *s = calloc(1, sizeof(*s));
    h2o_hostconf_t *host;
    h2o_pathconf_t *path;
    h2o_handler_t *h;
    int r;

    if (!s) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->loop = loop;
    s->req_count = calloc((kf_web_nroutes + 1) * KF_WEB_STATUSES, sizeof(uint64_t));
    if (!s->req_count || kf__web_sessions_init(s) < 0) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    r = kf_web_pool_new(cfg->store, cfg->pool_max, &s->pool);
    if (r == 0)
        r = kf_web_cache_new(cfg->answer_max_age_ms, cfg->answer_cache_entries,
                             (size_t)cfg->answer_cache_kb << 10, &s->cache);
    if (r == 0)
        r = kf_web_files_new(&s->files);
    if (r < 0) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    if (cfg->server_key[0]) {
        s->sk = sodium_malloc(64);
        if (!s->sk || (r = kf_keyfile_read(cfg->server_key, s->sk)) < 0) {
            snprintf(err, cap, "[web] server_key %s: %s", cfg->server_key,
                     s->sk ? kf_strerror(r) : "out of memory");
            goto fail;
        }
    }
    /* A hash to check a password against when the user does not exist, so that a wrong
     * name takes as long as a wrong password. */
    {
        uint8_t rnd[24];
        char pw[49];

        randombytes_buf(rnd, sizeof(rnd));
        sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
        r = kf_pw_hash(pw, s->dummy_hash);
        sodium_memzero(pw, sizeof(pw));
        if (r < 0) {
            snprintf(err, cap, "password hashing: %s", kf_strerror(r));
            goto fail;
        }
    }
    if (cfg->access_log[0]) {
        s->access_log = fopen(cfg->access_log, "ae");
        if (!s->access_log) {
            snprintf(err, cap, "[web] access_log %s: %s", cfg->access_log, strerror(errno));
            goto fail;
        }
    }
    if (cfg->tls_cert[0] && tls_init(s, err, cap) < 0)
        goto fail;
    h2o_config_init(&s->h2o);
    s->h2o_inited = 1;
    s->h2o.max_request_entity_size = cfg->body_max;
    s->h2o.server_name = h2o_iovec_init(H2O_STRLIT("kiosk-web"));
    s->h2o.http1.req_timeout = 10000; /* headers, and an idle keep-alive connection */
    s->h2o.http2.idle_timeout = 10000;
    host = h2o_config_register_host(&s->h2o, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    path = h2o_config_register_path(host, "/", 0);
    h = h2o_create_handler(path, sizeof(*h) + sizeof(s));
    h->on_req = on_req;
    *(struct kf_web_server **)(h + 1) = s;
    return s;
fail:
    kf_web_server_free(s);
    return NULL;
}

int kf_web_server_start(struct kf_web_server *s, char *err, size_t cap)
{
    char host[128];
    const char *colon = strrchr(s->cfg.listen, ':');
    struct sockaddr_storage addr;
    size_t hl = (size_t)(colon - s->cfg.listen);
    int port = (int)strtol(colon + 1, NULL, 10), r;

    if (hl >= sizeof(host) || port <= 0 || port > 65535) {
        snprintf(err, cap, "[web] listen %s: bad port", s->cfg.listen);
        return -EINVAL;
    }
    memcpy(host, s->cfg.listen, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
        r = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    } else {
        r = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    }
    if (r < 0) {
        snprintf(err, cap, "[web] listen %s: not an address", s->cfg.listen);
        return -EINVAL;
    }
    h2o_context_init(&s->ctx, s->loop, &s->h2o);
    s->ctx_inited = 1;
    s->accept.ctx = &s->ctx;
    s->accept.hosts = s->h2o.hosts;
    s->accept.ssl_ctx = s->ssl;
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    if ((r = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) < 0 ||
        (r = uv_listen((uv_stream_t *)&s->listener, 128, on_accept)) < 0) {
        snprintf(err, cap, "[web] listen %s: %s", s->cfg.listen, uv_strerror(r));
        uv_close((uv_handle_t *)&s->listener, NULL);
        return r;
    }
    uv_signal_init(s->loop, &s->sigterm);
    uv_signal_init(s->loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_timer_init(s->loop, &s->tick);
    s->tick.data = s;
    s->started = 1;
    return 0;
}

static void close_if_open(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void kf_web_server_stop(struct kf_web_server *s)
{
    if (!s->started || s->stopping)
        return;
    s->stopping = 1;
    kf__web_sse_stop_all(s);
    close_if_open((uv_handle_t *)&s->listener);
    close_if_open((uv_handle_t *)&s->sigterm);
    close_if_open((uv_handle_t *)&s->sigint);
    uv_timer_stop(&s->tick);
    close_if_open((uv_handle_t *)&s->tick);
    /* Open connections end when their answer is sent (no keep-alive while stopping) or at
     * their idle timeout; calls in flight finish on the pool and are answered. */
    h2o_context_request_shutdown(&s->ctx);
}

void kf_web_server_free(struct kf_web_server *s)
{
    if (!s)
        return;
    if (s->ctx_inited) {
        /* h2o_context_request_shutdown armed HTTP/2's graceful-shutdown timeout; the loop
         * ended before it fired (no HTTP/2 is served here), and a linked entry may not be
         * disposed. */
        if (h2o_timeout_is_linked(&s->ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&s->ctx.http2._graceful_shutdown_timeout);
        h2o_context_dispose(&s->ctx);
    }
    if (s->h2o_inited)
        h2o_config_dispose(&s->h2o);
    if (s->ssl)
        SSL_CTX_free(s->ssl);
    kf_web_pool_free(s->pool);
    kf_web_cache_free(s->cache);
    kf_web_files_free(s->files);
    if (s->sk)
        sodium_free(s->sk);
    if (s->access_log)
        fclose(s->access_log);
    kf__web_sessions_close(s);
    free(s->req_count);
    free(s);
}
