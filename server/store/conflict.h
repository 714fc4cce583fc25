/* store/conflict.h: what a device sent twice, differently (docs/STORE.md, "Conflicts and
 * duplicates"), for kioskctl.
 *
 * A seq conflict is a frame that repeated stored sequence numbers with other records under
 * them: refused (reason `conflict`), kept bytes as received beside the stored frame it
 * contradicts. An application-id duplicate is a record that came again under a new sequence
 * number with an app_id (kf/record.h) the device had used: kept with its frame, counted
 * nowhere. Read-only; any connection.
 */
#ifndef KF_STORE_CONFLICT_H
#define KF_STORE_CONFLICT_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>
#include <kf/record.h>

#include "store/store.h"

struct kf_seq_conflict {
    int64_t id;
    char device_id[KF_DEVICE_ID_MAX + 1];
    uint64_t seq_first;
    uint32_t count;
    uint64_t conflict_seq;      /* the first seq whose record differs from the stored one */
    int64_t stored_envelope_id; /* the stored frame that holds it */
    int64_t recv_ms;            /* when the conflicting frame arrived */
    int64_t stored_recv_ms;     /* when the stored one did; 0 when it is gone */
};

/* Every conflict (of device_id; NULL: all devices), oldest first. *ret is the caller's to
 * free (NULL when none). 0 or -errno. */
int kf_store_conflicts(struct kf_store *st, const char *device_id, struct kf_seq_conflict **ret,
                       size_t *ret_n);

/* Conflict id, seq by seq over the conflicting frame's range where a stored frame holds the
 * seq: cb(ud, c, seq, stored_json, received_json, differs) with both records' canonical
 * JSON. A non-zero cb result stops the walk and is returned. -ENOENT: no such conflict. */
typedef int (*kf_conflict_seq_cb)(void *ud, const struct kf_seq_conflict *c, uint64_t seq,
                                  const char *stored_json, const char *received_json, int differs);
int kf_store_conflict_show(struct kf_store *st, int64_t id, kf_conflict_seq_cb cb, void *ud);

struct kf_app_duplicate {
    char device_id[KF_DEVICE_ID_MAX + 1];
    uint64_t seq; /* the repeated record, kept with its frame, counted nowhere */
    char app_id[KF_APP_ID_MAX + 1];
    uint64_t first_seq; /* the record that counts */
    int64_t recv_ms;
};

/* Every record kept apart for repeating an application id (of device_id; NULL: all). */
int kf_store_app_duplicates(struct kf_store *st, const char *device_id,
                            struct kf_app_duplicate **ret, size_t *ret_n);

/* The device's counted records that carry an application id, in app_id order (bytewise). */
struct kf_app_record {
    char app_id[KF_APP_ID_MAX + 1];
    uint64_t seq;
    int type;                        /* enum kf_rec_type */
    char item[KF_ITEM_CODE_MAX + 1]; /* a txn's; "" otherwise */
    char outcome[16];                /* a txn's; "" otherwise */
    int64_t effective_ms;
    uint32_t repeats; /* records with this app_id kept apart (app_duplicates) */
};
int kf_store_app_records(struct kf_store *st, const char *device_id, struct kf_app_record **ret,
                         size_t *ret_n);

#endif
