/* core/agent_logs.c: the logs command and the bundles it makes (docs/AGENT.md "Logs",
 * docs/PROTOCOL.md "BLOB").
 *
 * A logs command names units from [commands] log_units and a span in seconds. The collector
 * ([commands] log_collector, journalctl by default) runs without a shell, its standard output
 * kept up to log_max_bytes (the rest read and dropped: "truncated"); the text is compressed
 * with zstd and hashed (SHA-256), and the bundle is stored in the outbox in the transaction
 * that reports the command (a cmd_result record naming the hash), so a crash keeps both or
 * neither. A crash while the collector runs leaves the command running: the next run reports
 * it failed, interrupted (agent_cmd.c's rule), and collects nothing twice.
 *
 * A held bundle is sent in BLOB frames while the session is up, a window of chunks past what
 * the server said it holds; each BLOB_ACK says how many chunks it holds from the first, and
 * when it holds them all (verified) the bundle is forgotten. No progress for a while, or a
 * new session: send again from what the server holds. The server stores chunks idempotently,
 * so sending one twice costs bandwidth, never a second copy. */
#include "core/agent_int.h"
#include "core/outbox_blob.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

#include <kf/blob.h>
#include <kf/err.h>
#include <kf/log.h>
#include <kf/record.h>
#include <kf/time.h>

#define LOGS_UNITS_MAX 8       /* units per command */
#define LOGS_SPAN_MAX_S 604800 /* a week */
#define LOGS_ARGV_MAX 48       /* words of the collector's command line, expanded */
#define LOGS_DRAIN_MS 1000     /* after the collector exits, how long its output may come */
#define LOGS_ZSTD_LEVEL 3
#define BLOB_WINDOW 4       /* chunks in flight past what the server holds */
#define BLOB_STALL_MS 10000 /* no BLOB_ACK progress: send again from what is held */

/* ---- reporting ---- */

/* The command's result (cmd_result, last) with its bundle when there is one, in one
 * transaction. Returns 0 or -errno (the command stays running; a new run reports it
 * interrupted). */
static int logs_report(struct kf_agent *a, const struct kf_cmd *c, int status, const char *detail,
                       const char *output, const struct kf_outbox_blob *b)
{
    char json[KF_RECORD_JSON_MAX + 1];
    struct kf_outbox_rec rec;
    struct kf_record r;
    size_t len;
    int rc;

    memset(&r, 0, sizeof(r));
    r.type = KF_REC_CMD_RESULT;
    r.ts_ms = kf_now_ms();
    snprintf(r.u.cmd_result.cmd, sizeof(r.u.cmd_result.cmd), "%s", c->id);
    r.u.cmd_result.cmd_seq = c->seq;
    r.u.cmd_result.status = (uint8_t)status;
    snprintf(r.u.cmd_result.detail, sizeof(r.u.cmd_result.detail), "%s", detail);
    if (output != NULL)
        snprintf(r.u.cmd_result.output, sizeof(r.u.cmd_result.output), "%s", output);
    rc = kf_record_format(&r, json, sizeof(json), &len);
    if (rc < 0)
        return rc;
    rec = (struct kf_outbox_rec){.type = r.type, .ts_ms = r.ts_ms, .json = json, .json_len = len};
    kf_outbox_set_clock(a->ob, a->boot_no, kf__agent_clock_base(a));
    rc = b != NULL ? kf_outbox_blob_finish(a->ob, c->seq, &rec, 1, b)
                   : kf_outbox_cmd_finish(a->ob, c->seq, &rec, 1);
    if (rc == -EALREADY)
        return 0;
    if (rc < 0) {
        kf_err("%s: command %s (logs): cannot store its result: %s", a->cfg.device_id, c->id,
               kf_strerror(rc));
        return rc;
    }
    a->st.cmd_reported++;
    kf_notice("%s: command %s (logs): %s: %s", a->cfg.device_id, c->id, kf_cmd_status_name(status),
              detail);
    if (a->online)
        kf__agent_flush(a, 1);
    return 0;
}

/* ---- the collector ---- */

static void logs_closed(uv_handle_t *h)
{
    struct kf_agent *a = h->data;

    if (h == (uv_handle_t *)&a->logs_proc)
        a->logs_proc_on = 0;
    else
        a->logs_pipe_on = 0;
    if (a->closing) /* counted by kf__agent_logs_close: may free a */
        kf__agent_handle_closed(h);
}

static void blob_kick(struct kf_agent *a);

/* After the collector: the command's outcome (0), or -errno (it stays running: the next run
 * reports it interrupted). Either way the next command may run. */
static void logs_settled(struct kf_agent *a, int rc)
{
    free(a->logs_buf);
    a->logs_buf = NULL;
    if (rc < 0)
        return;
    a->cmd_seq = 0;
    kf__agent_cmd_next(a);
    blob_kick(a);
}

/* Compressing and hashing run on libuv's pool (the loop never blocks): the text is up to
 * log_max_bytes (8 MiB by the config's bound). The work touches only this struct. */
struct zwork {
    uv_work_t req;
    struct kf_agent *a;
    const uint8_t *text; /* a->logs_buf, not touched by the loop meanwhile */
    size_t len;
    uint8_t *z;
    size_t zlen;
    uint8_t sha256[32];
    int rc;
};

static void zwork_cb(uv_work_t *req)
{
    struct zwork *w = req->data;
    size_t zcap = ZSTD_compressBound(w->len);

    w->z = malloc(zcap);
    if (w->z == NULL) {
        w->rc = -ENOMEM;
        return;
    }
    w->zlen = ZSTD_compress(w->z, zcap, w->text, w->len, LOGS_ZSTD_LEVEL);
    if (ZSTD_isError(w->zlen) || w->zlen == 0 || w->zlen > KF_BLOB_MAX_BYTES) {
        w->rc = -EMSGSIZE;
        return;
    }
    crypto_hash_sha256(w->sha256, w->z, w->zlen);
}

static void zwork_after(uv_work_t *req, int status)
{
    struct zwork *w = req->data;
    struct kf_agent *a = w->a;
    struct kf_cmd *c = &a->cmd;
    struct kf_outbox_blob b;
    char detail[KF_CMD_DETAIL_MAX + 1], output[KF_CMD_OUTPUT_MAX + 1], hex[65];
    int rc;

    a->logs_zwork = NULL;
    if (a->closing) {
        /* The agent is closing and counted this work among what it waits for: the command
         * stays running (reported interrupted by the next run). The close callback reads
         * only the handle's data, which is the agent. */
        free(w->z);
        free(w);
        free(a->logs_buf);
        a->logs_buf = NULL;
        kf__agent_handle_closed((uv_handle_t *)&a->logs_timer);
        return;
    }
    if (status != 0 || w->rc < 0) {
        rc = logs_report(a, c, KF_CMD_FAILED,
                         w->rc == -ENOMEM ? "out of memory compressing the logs"
                                          : "the logs cannot be compressed",
                         NULL, NULL);
        goto out;
    }
    memset(&b, 0, sizeof(b));
    b.cmd_seq = c->seq;
    memcpy(b.sha256, w->sha256, sizeof(b.sha256));
    b.total = w->zlen;
    b.nchunks = kf_blob_nchunks(w->zlen);
    b.data = w->z;
    sodium_bin2hex(hex, sizeof(hex), b.sha256, sizeof(b.sha256));
    snprintf(detail, sizeof(detail),
             "%zu bytes of logs over %" PRIu32 " s%s%s, zstd %zu bytes in %" PRIu32 " chunk(s)",
             a->logs_len, a->logs_span_s, a->logs_truncated ? " (truncated)" : "",
             a->logs_timed_out ? " (collector killed)" : "", w->zlen, b.nchunks);
    snprintf(output, sizeof(output),
             "sha256=%s bytes=%zu raw=%zu chunks=%" PRIu32 " truncated=%d exit=%" PRId64, hex,
             w->zlen, a->logs_len, b.nchunks, a->logs_truncated, a->logs_exit);
    rc = logs_report(a, c, KF_CMD_DONE, detail, output, &b);
out:
    free(w->z);
    free(w);
    logs_settled(a, rc);
}

/* The collector is over (exited and its output read, or killed): compress and hash on the
 * pool, then keep and report (zwork_after). */
static void logs_done(struct kf_agent *a)
{
    struct kf_cmd *c = &a->cmd;
    char detail[KF_CMD_DETAIL_MAX + 1];
    struct zwork *w;
    int rc;

    uv_timer_stop(&a->logs_timer);
    if (a->logs_pipe_on && !uv_is_closing((uv_handle_t *)&a->logs_pipe))
        uv_close((uv_handle_t *)&a->logs_pipe, logs_closed);
    if (a->logs_proc_on && !uv_is_closing((uv_handle_t *)&a->logs_proc))
        uv_close((uv_handle_t *)&a->logs_proc, logs_closed);
    a->logs_running = 0;
    if (a->logs_len == 0 && (a->logs_timed_out || a->logs_exit != 0)) {
        if (a->logs_timed_out)
            snprintf(detail, sizeof(detail), "the collector ran past %" PRIu32 " s: killed",
                     a->cfg.hook_timeout_s);
        else
            snprintf(detail, sizeof(detail), "the collector %s %" PRId64 " and printed nothing",
                     a->logs_exit < 0 ? "was killed by signal" : "exited with",
                     a->logs_exit < 0 ? -a->logs_exit : a->logs_exit);
        logs_settled(a, logs_report(a, c, KF_CMD_FAILED, detail, NULL, NULL));
        return;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        logs_settled(a, -ENOMEM);
        return;
    }
    w->a = a;
    w->text = a->logs_buf;
    w->len = a->logs_len;
    w->req.data = w;
    rc = uv_queue_work(a->loop, &w->req, zwork_cb, zwork_after);
    if (rc < 0) {
        free(w);
        logs_settled(a,
                     logs_report(a, c, KF_CMD_FAILED, "the logs cannot be compressed", NULL, NULL));
        return;
    }
    a->logs_zwork = w;
}

static void logs_timer_cb(uv_timer_t *t)
{
    struct kf_agent *a = t->data;

    if (a->closing || !a->logs_running)
        return;
    if (!a->logs_exited && a->logs_proc_on && !uv_is_closing((uv_handle_t *)&a->logs_proc)) {
        a->logs_timed_out = 1;
        uv_process_kill(&a->logs_proc, SIGKILL);
        return; /* the exit callback follows */
    }
    logs_done(a); /* exited; the output had its time */
}

static void logs_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char scratch[16384]; /* loop thread only */
    (void)h;
    (void)hint;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void logs_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct kf_agent *a = s->data;

    if (n > 0) {
        size_t room = a->cfg.log_max_bytes - a->logs_len;
        size_t take = (size_t)n < room ? (size_t)n : room;

        if (a->logs_buf != NULL)
            memcpy(a->logs_buf + a->logs_len, buf->base, take);
        a->logs_len += take;
        if (take < (size_t)n)
            a->logs_truncated = 1; /* read on, dropping: the collector must not block */
        return;
    }
    if (n < 0) {
        uv_read_stop(s);
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, logs_closed);
        if (a->logs_exited && a->logs_running)
            logs_done(a);
    }
}

static void logs_exit_cb(uv_process_t *p, int64_t status, int signo)
{
    struct kf_agent *a = p->data;

    a->logs_exit = signo != 0 ? -(int64_t)signo : status;
    a->logs_exited = 1;
    uv_close((uv_handle_t *)p, logs_closed);
    if (!a->logs_pipe_on || uv_is_closing((uv_handle_t *)&a->logs_pipe)) {
        logs_done(a);
        return;
    }
    /* Output still in the pipe has a moment to arrive (a child of the collector may hold the
     * pipe open longer: not waited for). */
    uv_timer_start(&a->logs_timer, logs_timer_cb, LOGS_DRAIN_MS, 0);
}

/* 1 if unit is one of the allowlist's words (spaces or commas between them). */
static int unit_allowed(const char *allow, const char *unit, size_t ulen)
{
    const char *p = allow;

    while (*p != '\0') {
        size_t n;

        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        n = strcspn(p, " ,\t");
        if (n > 0 && n == ulen && memcmp(p, unit, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* The units argument, checked against the allowlist, into units[] (pointers into buf). */
static int logs_units(const struct kf_agent *a, const char *arg, char *buf, size_t cap,
                      char **units, int *ret_n, char *err, size_t ecap)
{
    int n = 0;
    char *p;

    snprintf(buf, cap, "%s", arg);
    p = buf;
    while (*p != '\0') {
        char *u = p;
        size_t len = strcspn(p, ",");

        p += len;
        if (*p == ',')
            *p++ = '\0';
        if (len == 0 || len > 64 || n == LOGS_UNITS_MAX) {
            snprintf(err, ecap, "1..%d units of 1..64 characters, separated by commas",
                     LOGS_UNITS_MAX);
            return -EINVAL;
        }
        for (size_t i = 0; i < len; i++) {
            char ch = u[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == '@' ||
                  ch == ':')) {
                snprintf(err, ecap, "not a unit name: %.64s", u);
                return -EINVAL;
            }
        }
        if (!unit_allowed(a->cfg.log_units, u, len)) {
            snprintf(err, ecap, "%.64s is not in this terminal's [commands] log_units", u);
            return -EPERM;
        }
        units[n++] = u;
    }
    if (n == 0) {
        snprintf(err, ecap, "no unit named");
        return -EINVAL;
    }
    *ret_n = n;
    return 0;
}

int kf__agent_logs_run(struct kf_agent *a, const struct kf_cmd *c)
{
    static char words[KF_CFG_STR_MAX], ubuf[KF_CMD_ARG_MAX + 1], sbuf[8][KF_CFG_STR_MAX + 24];
    static char dash_u[] = "-u";
    char *argv[LOGS_ARGV_MAX + 1], *units[LOGS_UNITS_MAX], *p = words, *end;
    char detail[KF_CMD_DETAIL_MAX + 1], since[24];
    uv_process_options_t o;
    uv_stdio_container_t io[3];
    unsigned long long span;
    uint64_t held_bytes;
    uint32_t held;
    int n = 0, nu = 0, ns = 0, rc;

    rc = logs_units(a, c->args[0], ubuf, sizeof(ubuf), units, &nu, detail, sizeof(detail));
    if (rc < 0)
        return logs_report(a, c, KF_CMD_REFUSED, detail, NULL, NULL);
    errno = 0;
    span = strtoull(c->args[1], &end, 10);
    if (errno != 0 || end == c->args[1] || *end != '\0' || span < 1 || span > LOGS_SPAN_MAX_S) {
        snprintf(detail, sizeof(detail), "the span is 1..%d seconds", LOGS_SPAN_MAX_S);
        return logs_report(a, c, KF_CMD_REFUSED, detail, NULL, NULL);
    }
    rc = kf_outbox_blob_count(a->ob, &held, &held_bytes);
    if (rc < 0)
        return rc;
    if (held >= KF_OUTBOX_BLOBS_MAX) {
        snprintf(detail, sizeof(detail),
                 "%" PRIu32 " bundles of logs still wait for the server: not collecting more",
                 held);
        return logs_report(a, c, KF_CMD_REFUSED, detail, NULL, NULL);
    }
    snprintf(since, sizeof(since), "%" PRId64, kf_now_ms() / 1000 - (int64_t)span);
    /* The command line, split at blanks, run without a shell: "%u" (a word of its own) is
     * "-u UNIT" per unit, "%s" in a word the start of the span. */
    snprintf(words, sizeof(words), "%s", a->cfg.log_collector);
    while (*p != '\0' && n < LOGS_ARGV_MAX - 2 * LOGS_UNITS_MAX) {
        char *w, *pct;

        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (*p == '\0')
            break;
        w = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (*p != '\0')
            *p++ = '\0';
        if (strcmp(w, "%u") == 0) {
            for (int i = 0; i < nu; i++) {
                argv[n++] = dash_u;
                argv[n++] = units[i];
            }
        } else if ((pct = strstr(w, "%s")) != NULL && ns < 8) {
            snprintf(sbuf[ns], sizeof(sbuf[ns]), "%.*s%s%s", (int)(pct - w), w, since, pct + 2);
            argv[n++] = sbuf[ns++];
        } else {
            argv[n++] = w;
        }
    }
    argv[n] = NULL;
    if (n == 0)
        return logs_report(a, c, KF_CMD_REFUSED, "no [commands] log_collector is configured", NULL,
                           NULL);
    a->logs_buf = malloc(a->cfg.log_max_bytes);
    if (a->logs_buf == NULL)
        return -ENOMEM;
    /* Running, durably, before the collector starts. */
    rc = kf_outbox_cmd_start(a->ob, c->seq, a->kboot, kf_now_ms());
    if (rc < 0) {
        free(a->logs_buf);
        a->logs_buf = NULL;
        return rc;
    }
    a->cmd = *c;
    a->cmd_seq = c->seq;
    a->logs_len = 0;
    a->logs_truncated = 0;
    a->logs_timed_out = 0;
    a->logs_exited = 0;
    a->logs_exit = 0;
    a->logs_span_s = (uint32_t)span;
    uv_pipe_init(a->loop, &a->logs_pipe, 0);
    a->logs_pipe.data = a;
    a->logs_pipe_on = 1;
    memset(&o, 0, sizeof(o));
    memset(io, 0, sizeof(io));
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    io[1].data.stream = (uv_stream_t *)&a->logs_pipe;
    io[2].flags = UV_IGNORE; /* the collector's complaints are not logs */
    o.file = argv[0];
    o.args = argv;
    o.exit_cb = logs_exit_cb;
    o.stdio = io;
    o.stdio_count = 3;
    a->logs_proc.data = a;
    rc = uv_spawn(a->loop, &a->logs_proc, &o);
    if (rc < 0) {
        uv_close((uv_handle_t *)&a->logs_pipe, logs_closed);
        uv_close((uv_handle_t *)&a->logs_proc, logs_closed);
        free(a->logs_buf);
        a->logs_buf = NULL;
        snprintf(detail, sizeof(detail), "the collector %.64s cannot run: %s", argv[0],
                 uv_strerror(rc));
        rc = logs_report(a, c, KF_CMD_FAILED, detail, NULL, NULL);
        if (rc == 0)
            a->cmd_seq = 0;
        return rc;
    }
    a->logs_proc_on = 1;
    a->logs_running = 1;
    kf_notice("%s: command %s (logs): collecting %s over %llu s", a->cfg.device_id, c->id,
              c->args[0], span);
    uv_read_start((uv_stream_t *)&a->logs_pipe, logs_alloc_cb, logs_read_cb);
    uv_timer_start(&a->logs_timer, logs_timer_cb, (uint64_t)a->cfg.hook_timeout_s * 1000, 0);
    return 0;
}

/* ---- the transfer ---- */

static void blob_stall_cb(uv_timer_t *t)
{
    struct kf_agent *a = t->data;

    if (a->closing || a->blob_seq == 0)
        return;
    a->st.blob_resends++;
    a->blob_next = a->blob_have; /* lost on the way (a broker or server restart): again */
    blob_kick(a);
}

/* Load the next held bundle when none is being sent, then send chunks while the window
 * allows. */
static void blob_kick(struct kf_agent *a)
{
    static uint8_t chunk[KF_BLOB_CHUNK_BYTES], frame[KF_BLOB_FRAME_MAX]; /* loop thread only */
    struct kf_outbox_blob b;
    int rc;

    if (a->closing || !a->online)
        return;
    if (a->blob_seq == 0) {
        if (kf_outbox_blob_next(a->ob, 0, &b) < 0)
            return;
        a->blob_seq = b.cmd_seq;
        a->blob_have = b.have;
        a->blob_next = b.have;
        a->blob_nchunks = b.nchunks;
    }
    if (kf_outbox_blob_next(a->ob, a->blob_seq - 1, &b) < 0 || b.cmd_seq != a->blob_seq) {
        a->blob_seq = 0; /* forgotten meanwhile */
        return;
    }
    while (a->blob_next < b.nchunks && a->blob_next < a->blob_have + BLOB_WINDOW) {
        struct kf_blob_chunk c;
        struct kf_env_header h;
        size_t len, flen;

        rc = kf_outbox_blob_chunk(a->ob, b.cmd_seq, a->blob_next, chunk, sizeof(chunk), &len);
        if (rc < 0) {
            kf_err("%s: bundle of command seq %" PRIu64 ": cannot read chunk %" PRIu32 ": %s",
                   a->cfg.device_id, b.cmd_seq, a->blob_next, kf_strerror(rc));
            break;
        }
        memset(&c, 0, sizeof(c));
        c.cmd_seq = b.cmd_seq;
        c.index = a->blob_next;
        c.nchunks = b.nchunks;
        c.total = b.total;
        memcpy(c.sha256, b.sha256, sizeof(c.sha256));
        c.data = chunk;
        c.len = len;
        kf__agent_header(a, &h, KF_MSG_BLOB);
        rc = kf_blob_seal(&h, &c, a->sk, frame, sizeof(frame), &flen);
        if (rc == 0)
            rc = kf_agent_link_publish(a->link, a->t_blob, frame, flen, 1, 0);
        if (rc < 0)
            break; /* the stall timer sends it again */
        a->st.blob_chunks_sent++;
        a->blob_next++;
    }
    uv_timer_start(&a->blob_timer, blob_stall_cb, BLOB_STALL_MS, 0);
}

void kf__agent_blob_online(struct kf_agent *a)
{
    a->blob_seq = 0; /* from what the outbox says the server holds */
    blob_kick(a);
}

void kf__agent_blob_ack(struct kf_agent *a, const struct kf_env_view *v)
{
    struct kf_blob_ack ack;
    struct kf_outbox_blob b;

    if (kf_blob_ack_parse(v, &ack) < 0) {
        a->st.acks_rejected++;
        return;
    }
    if (kf_outbox_blob_next(a->ob, ack.cmd_seq - 1, &b) < 0 || b.cmd_seq != ack.cmd_seq)
        return; /* forgotten already (an answer to a chunk sent twice) */
    if (ack.state == KF_BLOB_COMPLETE || ack.state == KF_BLOB_REFUSED) {
        if (kf_outbox_blob_drop(a->ob, ack.cmd_seq) < 0)
            return;
        if (ack.state == KF_BLOB_COMPLETE)
            kf_info("%s: bundle of command seq %" PRIu64 ": the server holds it all (%" PRIu32
                    " chunks)",
                    a->cfg.device_id, ack.cmd_seq, b.nchunks);
        else
            kf_warn("%s: bundle of command seq %" PRIu64 ": refused by the server: forgotten",
                    a->cfg.device_id, ack.cmd_seq);
        if (a->blob_seq == ack.cmd_seq)
            a->blob_seq = 0;
        uv_timer_stop(&a->blob_timer);
        blob_kick(a);
        return;
    }
    if (ack.have > b.have && ack.have <= b.nchunks)
        (void)kf_outbox_blob_have(a->ob, ack.cmd_seq, ack.have);
    if (a->blob_seq == ack.cmd_seq && ack.have > a->blob_have) {
        a->blob_have = ack.have;
        if (a->blob_next < a->blob_have)
            a->blob_next = a->blob_have;
        blob_kick(a);
    }
}

/* ---- lifecycle ---- */

void kf__agent_logs_timers(struct kf_agent *a)
{
    uv_timer_init(a->loop, &a->logs_timer);
    a->logs_timer.data = a;
    uv_timer_init(a->loop, &a->blob_timer);
    a->blob_timer.data = a;
    (void)kf_topic_format(a->t_blob, sizeof(a->t_blob), a->cfg.device_id, KF_TOPIC_BLOB);
}

int kf__agent_logs_close(struct kf_agent *a)
{
    int n = 2;

    uv_timer_stop(&a->logs_timer);
    uv_timer_stop(&a->blob_timer);
    uv_close((uv_handle_t *)&a->logs_timer, kf__agent_handle_closed);
    uv_close((uv_handle_t *)&a->blob_timer, kf__agent_handle_closed);
    /* A collector still running is left to finish alone; its command is marked running and
     * the next run reports it interrupted (nothing is collected twice). */
    /* One already closing (the collector just ended) closes on logs_closed, which hands on
     * to kf__agent_handle_closed: counted too. */
    n += kf__agent_close_hook((uv_handle_t *)&a->logs_pipe, &a->logs_pipe_on);
    n += kf__agent_close_hook((uv_handle_t *)&a->logs_proc, &a->logs_proc_on);
    if (a->logs_zwork != NULL) {
        /* Compressing on the pool: its after callback frees the text and counts as one
         * close (zwork_after). */
        return n + 1;
    }
    free(a->logs_buf);
    a->logs_buf = NULL;
    return n;
}
