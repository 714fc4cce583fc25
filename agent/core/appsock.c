/* core/appsock.c: JSON lines from the kiosk application, one reply line per request. */
#include "core/appsock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kf/time.h>

struct appsock_client {
    struct kf_appsock *s;
    uv_pipe_t pipe;
    struct appsock_client *prev, *next;
    char *buf; /* max_line + 1: a line and its newline */
    size_t len;
    int closing;
};

struct kf_appsock {
    uv_loop_t *loop;
    uv_pipe_t srv;
    char *path;
    size_t max_line;
    kf_appsock_submit_cb submit;
    void *ud;
    struct appsock_client *clients;
    size_t nclients;
    struct kf_appsock_stats st;
    int closing;
    size_t close_pending;
    void (*close_cb)(void *ud);
    void *close_ud;
};

struct appsock_wreq {
    uv_write_t req;
    size_t len;
    char data[];
};

static void appsock_release(struct kf_appsock *s);

static void client_closed(uv_handle_t *h)
{
    struct appsock_client *c = h->data;
    struct kf_appsock *s = c->s;

    if (c->prev)
        c->prev->next = c->next;
    else if (s->clients == c)
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nclients--;
    free(c->buf);
    free(c);
    if (s->closing)
        appsock_release(s);
}

static void client_close(struct appsock_client *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_read_stop((uv_stream_t *)&c->pipe);
    uv_close((uv_handle_t *)&c->pipe, client_closed);
}

static void client_write_cb(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a read error or EOF */
    free(req);
}

static void client_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct appsock_client *c = req->data;
    (void)status;
    free(req);
    client_close(c);
}

/* Queue one reply line. */
static void client_reply(struct appsock_client *c, const char *line)
{
    size_t len = strlen(line);
    struct appsock_wreq *w;
    uv_buf_t b;

    if (c->closing)
        return;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > KF_APPSOCK_MAX_WBUF) {
        client_close(c); /* it does not read its replies: bounded, so drop it */
        return;
    }
    w = malloc(sizeof(*w) + len + 1);
    if (!w) {
        client_close(c);
        return;
    }
    memcpy(w->data, line, len);
    w->data[len] = '\n';
    w->len = len + 1;
    b = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, client_write_cb) < 0) {
        free(w);
        client_close(c);
    }
}

static void client_error(struct appsock_client *c, const char *reason)
{
    struct kf_appsock_err err = {reason, {"", NULL}, 0, ""};
    char line[KF_APPSOCK_REPLY_MAX];

    c->s->st.errors++;
    kf_appsock_reply_error(&err, line, sizeof(line));
    client_reply(c, line);
}

/* Reply, then close once the reply is written. */
static void client_error_close(struct appsock_client *c, const char *reason)
{
    uv_shutdown_t *req;

    client_error(c, reason);
    if (c->closing)
        return;
    uv_read_stop((uv_stream_t *)&c->pipe);
    req = malloc(sizeof(*req));
    if (!req || uv_shutdown(req, (uv_stream_t *)&c->pipe, client_shutdown_cb) < 0) {
        free(req);
        client_close(c);
        return;
    }
    req->data = c;
}

static void client_line(struct appsock_client *c, char *line, size_t len)
{
    struct kf_appsock *s = c->s;
    struct kf_appsock_err err;
    struct kf_appsock_req req;
    uint64_t seq = 0;
    char reply[KF_APPSOCK_REPLY_MAX];
    int taken = KF_OUTBOX_APP_NEW;
    int rc;

    rc = kf_appsock_decode(line, len, kf_now_ms(), &req, &err);
    if (rc == -ENODATA)
        return;
    s->st.lines++;
    if (rc < 0) {
        s->st.errors++;
        kf_appsock_reply_error(&err, reply, sizeof(reply));
        client_reply(c, reply);
        return;
    }
    /* Synchronous: the look-up of the app_id and the append are one transaction, and no
     * other client's line is read before it commits (the loop runs nothing else meanwhile). */
    rc = s->submit(s->ud, &req, &seq, &taken);
    if (rc < 0) {
        client_error(c, kf_appsock_submit_error(rc));
        return;
    }
    if (req.is_inv) {
        s->st.ok++;
        kf_appsock_reply_ok_inv(reply, sizeof(reply));
        client_reply(c, reply);
        return;
    }
    if (taken == KF_OUTBOX_APP_REUSED) {
        struct kf_appsock_err reused = {"app_id_reused", {"", NULL}, seq, ""};

        s->st.reused++;
        s->st.errors++;
        kf_appsock_reply_error(&reused, reply, sizeof(reply));
        client_reply(c, reply);
        return;
    }
    if (taken == KF_OUTBOX_APP_REPEAT)
        s->st.repeats++;
    s->st.ok++;
    kf_appsock_reply_ok(seq, reply, sizeof(reply));
    client_reply(c, reply);
}

static void client_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *ret)
{
    struct appsock_client *c = h->data;
    size_t cap = c->s->max_line + 1;
    (void)suggested;
    *ret = uv_buf_init(c->buf + c->len, (unsigned)(cap - c->len));
}

static void client_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct appsock_client *c = st->data;
    size_t cap = c->s->max_line + 1;
    size_t start = 0;
    (void)b;

    if (nread < 0) {
        client_close(c);
        return;
    }
    c->len += (size_t)nread;
    for (size_t i = 0; i < c->len && !c->closing; i++) {
        if (c->buf[i] != '\n')
            continue;
        client_line(c, c->buf + start, i - start);
        start = i + 1;
    }
    if (c->closing)
        return;
    if (start > 0) {
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
    }
    if (c->len >= cap)
        client_error_close(c, "line_too_long");
}

static void srv_connection_cb(uv_stream_t *srv, int status)
{
    struct kf_appsock *s = srv->data;
    struct appsock_client *c;

    if (status < 0 || s->closing)
        return;
    c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->s = s;
    c->buf = malloc(s->max_line + 1);
    uv_pipe_init(s->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    if (uv_accept(srv, (uv_stream_t *)&c->pipe) < 0 || !c->buf) {
        client_close(c);
        return;
    }
    if (s->nclients > KF_APPSOCK_MAX_CLIENTS) {
        s->st.refused++;
        client_error_close(c, "busy");
        return;
    }
    s->st.accepted++;
    if (uv_read_start((uv_stream_t *)&c->pipe, client_alloc_cb, client_read_cb) < 0)
        client_close(c);
}

static void srv_failed(uv_handle_t *h)
{
    struct kf_appsock *s = h->data;
    free(s->path);
    free(s);
}

int kf_appsock_new(uv_loop_t *loop, const char *path, size_t max_line, kf_appsock_submit_cb submit,
                   void *ud, struct kf_appsock **ret)
{
    struct kf_appsock *s;
    struct stat sb;
    int rc;

    if (!path || !submit || max_line < 16 || max_line > (1u << 20))
        return -EINVAL;
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode))
            return -EEXIST; /* never unlink something that is not a stale socket */
        if (unlink(path) < 0)
            return -errno;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->max_line = max_line;
    s->submit = submit;
    s->ud = ud;
    s->path = strdup(path);
    if (!s->path) {
        free(s);
        return -ENOMEM;
    }
    uv_pipe_init(loop, &s->srv, 0);
    s->srv.data = s;
    rc = uv_pipe_bind(&s->srv, path);
    if (rc < 0)
        goto out_close;
    if (chmod(path, 0660) < 0) {
        rc = -errno;
        goto out_unlink;
    }
    rc = uv_listen((uv_stream_t *)&s->srv, 16, srv_connection_cb);
    if (rc < 0)
        goto out_unlink;
    *ret = s;
    return 0;

out_unlink:
    unlink(path);
out_close:
    /* The handle is closed on the loop; s is freed there. */
    uv_close((uv_handle_t *)&s->srv, srv_failed);
    return rc;
}

static void appsock_release(struct kf_appsock *s)
{
    if (s->close_pending > 0 || s->nclients > 0)
        return;
    void (*cb)(void *) = s->close_cb;
    void *ud = s->close_ud;
    if (s->path)
        unlink(s->path);
    free(s->path);
    free(s);
    if (cb)
        cb(ud);
}

static void srv_closed(uv_handle_t *h)
{
    struct kf_appsock *s = h->data;
    s->close_pending--;
    appsock_release(s);
}

void kf_appsock_stats(const struct kf_appsock *s, struct kf_appsock_stats *ret)
{
    *ret = s->st;
}

void kf_appsock_close(struct kf_appsock *s, void (*cb)(void *ud), void *ud)
{
    struct appsock_client *c, *next;

    s->closing = 1;
    s->close_cb = cb;
    s->close_ud = ud;
    s->close_pending = 1;
    uv_close((uv_handle_t *)&s->srv, srv_closed);
    for (c = s->clients; c; c = next) {
        next = c->next;
        client_close(c);
    }
}
