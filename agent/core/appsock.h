/* core/appsock.h: the kiosk application's Unix socket (JSON lines).
 *
 * Each line is one record in the JSON form of kf/record.h ("ts" optional: defaults to now;
 * "t":"health" is refused: the agent samples health itself). Each line gets one reply line:
 *   {"ok":true,"seq":N}
 *   {"ok":false,"error":"<reason>"}
 *   {"ok":false,"error":"bad_record","field":"<key>","why":"<rule>"}
 *   {"ok":false,"error":"app_id_reused","seq":N}
 * An inventory line (docs/AGENT.md "Inventory") is answered {"ok":true} or
 *   {"ok":false,"error":"bad_inventory","why":"<key>: <rule>"}.
 * with reason one of bad_json, bad_record (with the first failing field, when there is one,
 * and why), type_not_allowed, outbox_full (at its configured limit: keep the record and
 * retry later), disk_full (the file system under the outbox is full: keep the record; it
 * needs someone to free space), line_too_long (the connection is then closed), busy (too
 * many clients; the connection is then closed), internal. A line whose app_id was taken by
 * the same record before is answered {"ok":true,"seq":<the first seq>} and nothing is
 * stored; one whose app_id was taken by another record gets app_id_reused with that
 * record's seq, nothing stored. docs/AGENT.md is the application developers' guide.
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

#include <kf/inventory.h>
#include <kf/record.h>

#include "core/outbox.h"

#define KF_APPSOCK_MAX_CLIENTS 8
#define KF_APPSOCK_MAX_WBUF (64u * 1024u)
#define KF_APPSOCK_REPLY_MAX 256 /* one reply line, without its newline, and its NUL */

struct kf_appsock;

/* One decoded request line: its record, and whether the line gave the record's "ts" (0: the
 * agent stamped it; a resent line is then the same request only if it leaves ts out too). */
struct kf_appsock_req {
    struct kf_record rec;
    int ts_given;
    /* 1: an inventory line ({"t":"inventory",...}, docs/AGENT.md): not a record; inv holds
     * the application's part (app, app_version, periph), rec is unset. */
    int is_inv;
    struct kf_inventory inv;
};

/* Store one validated request (kf_agent_submit_app; an inventory line:
 * kf_agent_inventory_app, answered {"ok":true} on 0). Returns 0, *ret_seq and *ret_taken
 * (enum kf_outbox_app_taken: NEW stored now; REPEAT its app_id was taken by the same record,
 * *ret_seq the first seq; REUSED taken by another record, *ret_seq that one's), or -EDQUOT
 * (the outbox at its limit), -ENOSPC (the disk is full), -errno. Synchronous: the appsock
 * reads no further line until it returns. */
typedef int (*kf_appsock_submit_cb)(void *ud, const struct kf_appsock_req *req, uint64_t *ret_seq,
                                    int *ret_taken);

/* What the socket has seen since it opened (kf_appsock_stats). */
struct kf_appsock_stats {
    uint64_t accepted; /* connections */
    uint64_t refused;  /* connections over the client limit */
    uint64_t lines;    /* requests */
    uint64_t ok;       /* answered ok: stored now, or repeats */
    uint64_t repeats;  /* of those, a resent app_id answered with its first answer */
    uint64_t reused;   /* app_id_reused refusals */
    uint64_t errors;   /* error replies, app_id_reused included */
};

/* ---- one line (appsock_line.c): any thread, no I/O ---- */

/* Why a line was refused: error is the reply's "error" (static: bad_json, bad_record,
 * type_not_allowed, app_id_reused, internal); with bad_record, rec.field and rec.why as
 * kf/record.h gives them (rec.why NULL otherwise); with app_id_reused, seq is the record that
 * holds the app_id (0 otherwise: no "seq" in the reply). */
struct kf_appsock_err {
    const char *error;
    struct kf_record_why rec;
    uint64_t seq;
    char inv_why[96]; /* bad_inventory: the key and the rule (kf_inv_parse) */
};

/* Decode one request line (len bytes, its newline removed; trailing blanks and a CR are
 * ignored) into *ret, "ts" defaulting to now_ms (ret->ts_given 0). Returns 0 and *ret;
 * -ENODATA for a blank line (not a request: no reply); -EBADMSG (bad_json, bad_record,
 * type_not_allowed) or -ENOMEM (internal), with *err. Borrows line; len is bounded by the
 * caller ([app] max_line on the socket). */
int kf_appsock_decode(const char *line, size_t len, int64_t now_ms, struct kf_appsock_req *ret,
                      struct kf_appsock_err *err);
/* The reply "error" for a submit callback's failure rc (outbox_full, disk_full, bad_record,
 * internal). Static. */
const char *kf_appsock_submit_error(int rc);
/* The reply line to a refusal, or to a stored record, without its newline, into buf (cap
 * bytes; KF_APPSOCK_REPLY_MAX always suffices): always one line of JSON. Returns its length. */
size_t kf_appsock_reply_error(const struct kf_appsock_err *err, char *buf, size_t cap);
size_t kf_appsock_reply_ok(uint64_t seq, char *buf, size_t cap);
/* The reply to an accepted inventory line: {"ok":true}. */
size_t kf_appsock_reply_ok_inv(char *buf, size_t cap);

/* Listen on path (a stale socket file is unlinked; mode 0660). Returns owned in *ret. */
int kf_appsock_new(uv_loop_t *loop, const char *path, size_t max_line, kf_appsock_submit_cb submit,
                   void *ud, struct kf_appsock **ret);
void kf_appsock_stats(const struct kf_appsock *s, struct kf_appsock_stats *ret);
/* Close the listener and every client, unlink the path, free, then cb (may be NULL). */
void kf_appsock_close(struct kf_appsock *s, void (*cb)(void *ud), void *ud);

#endif
