/* core/appsock.h: the kiosk application's Unix socket (JSON lines).
 *
 * Each line is one record in the JSON form of kf/record.h ("ts" optional: defaults to now;
 * "t":"health" is refused: the agent samples health itself). Each line gets one reply line:
 *   {"ok":true,"seq":N}
 *   {"ok":false,"error":"<reason>"}
 *   {"ok":false,"error":"bad_record","field":"<key>","why":"<rule>"}
 * with reason one of bad_json, bad_record (with the first failing field, when there is one,
 * and why), type_not_allowed, outbox_full (at its configured limit: keep the record and
 * retry later), disk_full (the file system under the outbox is full: keep the record; it
 * needs someone to free space), line_too_long (the connection is then closed), busy (too
 * many clients; the connection is then closed), internal. docs/AGENT.md is the application
 * developers' guide.
 *
 * Bounds: a line of at most max_line bytes, at most KF_APPSOCK_MAX_CLIENTS clients, at most
 * KF_APPSOCK_MAX_WBUF bytes of unsent replies per client (past it the client is dropped).
 * Loop thread only.
 */
#ifndef KF_AGENT_CORE_APPSOCK_H
#define KF_AGENT_CORE_APPSOCK_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kf/record.h>

#define KF_APPSOCK_MAX_CLIENTS 8
#define KF_APPSOCK_MAX_WBUF (64u * 1024u)
#define KF_APPSOCK_REPLY_MAX 256 /* one reply line, without its newline, and its NUL */

struct kf_appsock;

/* Store one validated record. Returns 0 and *ret_seq, or -EDQUOT (the outbox at its limit),
 * -ENOSPC (the disk is full), -errno. */
typedef int (*kf_appsock_submit_cb)(void *ud, const struct kf_record *rec, uint64_t *ret_seq);

/* ---- one line (appsock_line.c): any thread, no I/O ---- */

/* Why a line was refused: error is the reply's "error" (static: bad_json, bad_record,
 * type_not_allowed, internal); with bad_record, rec.field and rec.why as kf/record.h gives
 * them (rec.why NULL otherwise). */
struct kf_appsock_err {
    const char *error;
    struct kf_record_why rec;
};

/* Decode one request line (len bytes, its newline removed; trailing blanks and a CR are
 * ignored) into *ret, "ts" defaulting to now_ms. Returns 0 and *ret; -ENODATA for a blank
 * line (not a request: no reply); -EBADMSG (bad_json, bad_record, type_not_allowed) or
 * -ENOMEM (internal), with *err. Borrows line; len is bounded by the caller ([app]
 * max_line on the socket). */
int kf_appsock_decode(const char *line, size_t len, int64_t now_ms, struct kf_record *ret,
                      struct kf_appsock_err *err);
/* The reply "error" for a submit callback's failure rc (outbox_full, disk_full, bad_record,
 * internal). Static. */
const char *kf_appsock_submit_error(int rc);
/* The reply line to a refusal, or to a stored record, without its newline, into buf (cap
 * bytes; KF_APPSOCK_REPLY_MAX always suffices): always one line of JSON. Returns its length. */
size_t kf_appsock_reply_error(const struct kf_appsock_err *err, char *buf, size_t cap);
size_t kf_appsock_reply_ok(uint64_t seq, char *buf, size_t cap);

/* Listen on path (a stale socket file is unlinked; mode 0660). Returns owned in *ret. */
int kf_appsock_new(uv_loop_t *loop, const char *path, size_t max_line, kf_appsock_submit_cb submit,
                   void *ud, struct kf_appsock **ret);
/* Close the listener and every client, unlink the path, free, then cb (may be NULL). */
void kf_appsock_close(struct kf_appsock *s, void (*cb)(void *ud), void *ud);

#endif
