/* core/appsock.h: the kiosk application's Unix socket (JSON lines).
 *
 * Each line is one record in the JSON form of kf/record.h ("ts" optional: defaults to now;
 * "t":"health" is refused: the agent samples health itself). Each line gets one reply line:
 *   {"ok":true,"seq":N}
 *   {"ok":false,"error":"<reason>"}
 * with reason one of bad_json, bad_record, type_not_allowed, outbox_full (keep the record and
 * retry later), line_too_long (the connection is then closed), busy (too many clients; the
 * connection is then closed), internal. docs/AGENT.md is the application developers' guide.
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

struct kf_appsock;

/* Store one validated record. Returns 0 and *ret_seq, or -ENOSPC (outbox full), -errno. */
typedef int (*kf_appsock_submit_cb)(void *ud, const struct kf_record *rec, uint64_t *ret_seq);

/* Listen on path (a stale socket file is unlinked; mode 0660). Returns owned in *ret. */
int kf_appsock_new(uv_loop_t *loop, const char *path, size_t max_line, kf_appsock_submit_cb submit,
                   void *ud, struct kf_appsock **ret);
/* Close the listener and every client, unlink the path, free, then cb (may be NULL). */
void kf_appsock_close(struct kf_appsock *s, void (*cb)(void *ud), void *ud);

#endif
