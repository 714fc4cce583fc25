/* store/quarantine.h: frames the store refused, kept instead of resent forever.
 *
 * A frame that verified (its device signed it) but that the store cannot take (the group
 * commit failed on it, and it failed again alone) is a poison frame: a bug in the agent or
 * in kioskd, or a value past what the store can hold. Dropping it unacknowledged would make
 * its device resend it after every ack timeout and hold every later record in its outbox
 * behind it. Instead it is quarantined: its raw bytes and the store's reason are kept in
 * one transaction, and the device's high-water mark moves over its sequence numbers as over
 * a stored frame's, so the device is acknowledged and goes on. Nothing is lost: the signed
 * frame is on the server, listed by `kioskctl quarantine`, and once the cause is fixed
 * `kioskctl quarantine replay` hands it back to kioskd, which verifies and commits it like
 * a frame just received (docs/KIOSKD.md, "Quarantine").
 */
#ifndef KF_STORE_QUARANTINE_H
#define KF_STORE_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

#include "store/ingest.h"
#include "store/store.h"

struct kf_quarantined {
    int64_t id;
    char device_id[KF_DEVICE_ID_MAX + 1];
    uint8_t kind;
    uint32_t key_epoch;
    uint64_t seq_first; /* as stored: a value past 2^63 - 1 reads as 2^63 - 1 */
    uint32_t count;
    int64_t recv_ms, quarantined_ms;
    int64_t replay_ms;   /* a replay was asked for at this time and not yet taken; 0: none */
    int64_t released_ms; /* a replay committed it; 0: still held */
    uint32_t attempts;   /* replays taken so far */
    char reason[256];
};

/* Called for each row; topic and raw are borrowed for the call. Non-zero stops the walk
 * and is returned. */
typedef int (*kf_quarantine_cb)(void *ud, const struct kf_quarantined *q, const char *topic,
                                const uint8_t *raw, size_t raw_len);

/* Quarantine in (a frame the store refused for reason), in its own transaction, and
 * advance its device's high-water mark over it when it is contiguous; out->acked_seq and
 * out->quarantined are set. A frame already in quarantine (a device resending it) keeps
 * its first copy and gets the new reason. Store thread. 0 or -errno. */
int kf_store_quarantine(struct kf_store *st, const struct kf_ingest *in, const char *reason,
                        int64_t now_ms, struct kf_commit_out *out);

/* Every row, newest first (held_only: not released). */
int kf_store_quarantine_each(struct kf_store *st, int held_only, kf_quarantine_cb cb, void *ud);

/* Ask kioskd to replay row id (0: every held row). *ret_n: rows asked. kioskctl. */
int kf_store_quarantine_request(struct kf_store *st, int64_t id, int64_t now_ms, uint32_t *ret_n);

/* Why a replay of row id did not get to the store (verification refused it): the row's
 * reason becomes text. Store thread. */
int kf_store_quarantine_note(struct kf_store *st, int64_t id, const char *text);

/* The replays asked for, at most max, oldest first: each is taken (its request cleared,
 * attempts counted) in one transaction, then cb is called for it. Store thread. */
int kf_store_quarantine_take(struct kf_store *st, size_t max, kf_quarantine_cb cb, void *ud);

#endif
