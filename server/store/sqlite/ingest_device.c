/* store/sqlite/ingest_device.c: the device's row in a commit: HELLO and STATE frames, last
 * seen and presence (with the SLA's presence facts), the high-water mark walked over stored
 * envelopes, and gaps a HELLO reveals (docs/STORE.md, "What one commit does"). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/record.h>
#include <kf/time.h>

#include "rules/usage.h"
#include "store/ingest.h"
#include "store/store.h"
#include "store/sqlite/int.h"
#include "store/sla.h"

int kf__store_hello(struct kf_store *st, const struct kf_ingest *in)
{
    json_t *root, *v;
    json_error_t jerr;
    sqlite3_stmt *s = NULL;
    int r;

    if (!in->body_json)
        return 0;
    /* Verified bytes from a registered device, but still only advisory: a body we cannot
     * read leaves agent/boot_id as they were rather than failing the group commit. */
    root = json_loads(in->body_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return 0;
    }
    r = kf__store_stmt(st, ST_DEV_HELLO, &s);
    if (r < 0)
        goto out_decref;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    v = json_object_get(root, "agent");
    if (json_is_string(v))
        sqlite3_bind_text(s, 2, json_string_value(v), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 2);
    v = json_object_get(root, "boot_id");
    if (json_is_string(v))
        sqlite3_bind_text(s, 3, json_string_value(v), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 3);
    v = json_object_get(root, "health_dropped");
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        sqlite3_bind_int64(s, 4, json_integer_value(v));
    else
        sqlite3_bind_null(s, 4);
    r = kf__store_stmt_run(st, s, "hello");
    if (r == 0) /* the commands it has received (store/sqlite/commands.c) */
        r = kf__store_cmd_hello(st, in->hdr.device_id, root, in->recv_ms);
    if (r == 0) /* what it is (store/sqlite/inventory.c) */
        r = kf__store_inv_hello(st, in->hdr.device_id, root, in->recv_ms);
out_decref:
    json_decref(root);
    return r;
}

int kf__store_state(struct kf_store *st, const struct kf_ingest *in, struct kf__store_dev *dev)
{
    const struct kf__store_sla_src src = {in->hdr.device_id, dev->asset_id, in->recv_ms};
    json_t *root, *v;
    json_error_t jerr;
    const char *state;
    sqlite3_stmt *s = NULL;
    int online, r;

    if (!in->body_json)
        return 0;
    root = json_loads(in->body_json, JSON_REJECT_DUPLICATES, &jerr);
    v = json_object_get(root, "state");
    state = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(state, "online") == 0) {
        online = 1;
    } else if (strcmp(state, "offline") == 0) {
        online = 0;
    } else {
        json_decref(root);
        return 0; /* advisory, as for HELLO */
    }
    json_decref(root);
    r = kf__store_stmt(st, ST_DEV_STATE, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, online);
    sqlite3_bind_int64(s, 3, in->recv_ms);
    sqlite3_bind_int64(s, 4, kf_usage_state_ms(in->hdr.device_ms, in->recv_ms));
    r = kf__store_stmt_run(st, s, "state");
    if (r < 0 || sqlite3_changes(st->db) != 1 || online == dev->online)
        return r;
    /* Applied and a change: "offline" is the broker publishing the will; either way the
     * fact is dated at receipt (the will was sealed at connect time). */
    dev->online = online;
    return kf__store_sla_presence(st, &src, online, online ? KF_SRC_CONNECT : KF_SRC_WILL);
}

/* The device's row after a frame (or a group's summary of frames, commit_device): last
 * seen, online, clock offset and, when acked is not NULL, its new high-water mark. */
int kf__store_seen_update(struct kf_store *st, const struct kf_ingest *in, const uint64_t *acked)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, ST_DEV_SEEN, &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, in->recv_ms);
    sqlite3_bind_int(s, 3, in->hdr.kind == KF_MSG_RECORDS || in->hdr.kind == KF_MSG_HELLO);
    if (in->hdr.flags & KF_ENV_F_CLOCK_SYNCED)
        sqlite3_bind_int64(s, 4, in->hdr.clock_offset_ms);
    else
        sqlite3_bind_null(s, 4);
    if (acked)
        kf__store_bind_u64(s, 5, *acked);
    else
        sqlite3_bind_null(s, 5);
    return kf__store_stmt_run(st, s, "device seen");
}

/* The SLA's presence fact when a frame proves an offline device connected. */
int kf__store_seen_fact(struct kf_store *st, const struct kf_ingest *in, struct kf__store_dev *dev)
{
    const struct kf__store_sla_src src = {in->hdr.device_id, dev->asset_id, in->recv_ms};

    if (dev->online || (in->hdr.kind != KF_MSG_RECORDS && in->hdr.kind != KF_MSG_HELLO))
        return 0;
    dev->online = 1;
    return kf__store_sla_presence(st, &src, 1, KF_SRC_CONNECT);
}

int kf__store_seen(struct kf_store *st, const struct kf_ingest *in, struct kf__store_dev *dev)
{
    int r = kf__store_seen_update(st, in, NULL);

    return r < 0 ? r : kf__store_seen_fact(st, in, dev);
}

/* Walk the envelopes that start after the mark, in order, while each starts within what is
 * covered: every frame committed in sequence since the last walk, in one index range.
 * Envelopes are sorted by start, so the first one past a hole ends the walk. */
static int hwm_walk(struct kf_store *st, const char *device_id, uint64_t *acked)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_stmt(st, ST_HWM_WALK, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, *acked + 1);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t first = (uint64_t)sqlite3_column_int64(s, 0);
        uint64_t count = (uint64_t)sqlite3_column_int64(s, 1);

        if (first > *acked + 1) {
            rc = SQLITE_DONE;
            break;
        }
        if (count > 0 && first + count - 1 > *acked)
            *acked = first + count - 1;
    }
    if (rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "hwm walk");
    kf__store_stmt_done(s);
    return r;
}

/* Where the walk stopped: the end of a stored envelope (ST_HWM_NEXT) or held quarantine
 * row (ST_HWM_QUARANTINE) starting in [lo, from]; 0 when there is none. */
static int hwm_probe(struct kf_store *st, const char *device_id, enum kf_stmt id, uint64_t lo,
                     uint64_t from, uint64_t *ret_end)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_stmt(st, id, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, lo);
    kf__store_bind_u64(s, 3, from);
    *ret_end = 0;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        *ret_end = (uint64_t)sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "hwm");
    kf__store_stmt_done(s);
    return r;
}

/* Where the device's HWM moves over stored envelopes contiguous with it (not written: the
 * callers write it, kf__store_advance_hwm or commit_device with the device's row). Agents send
 * batches that start right after the mark, so the walk finds them all. When the mark stops, no
 * stored envelope that starts at or before it ends past it; the only frames that can break
 * that are stored over the mark later, and the caller says so (overlap), or a jump of the
 * mark itself: then a second probe looks behind the mark, where such a frame starts at most
 * KF_ENV_MAX_RECORDS - 1 before it (a range of up to that many index entries, hence not on every
 * commit). A held quarantine row counts as stored (store/quarantine.h): probed wherever the walk
 * stops, on an index that is empty in normal operation. */
int kf__store_find_hwm(struct kf_store *st, const char *device_id, uint64_t acked, int overlap,
                       uint64_t *ret)
{
    int r;

    for (;;) {
        uint64_t lo, end = 0;

        r = hwm_walk(st, device_id, &acked);
        if (r < 0)
            return r;
        lo = kf__store_env_reach_lo(acked + 1);
        if (overlap)
            r = hwm_probe(st, device_id, ST_HWM_NEXT, lo, acked + 1, &end);
        if (r == 0 && end <= acked)
            r = hwm_probe(st, device_id, ST_HWM_QUARANTINE, lo, acked + 1, &end);
        if (r < 0)
            return r;
        if (end <= acked)
            break;
        /* A jump (over a held quarantine row, or an envelope stored over the mark) can land
         * inside an envelope that starts before the new mark and ends past it: from here on
         * the walk must look behind the mark too, or the mark stops inside it and a resend
         * of its tail is taken for new records. */
        acked = end;
        overlap = 1;
    }
    *ret = acked;
    return 0;
}

int kf__store_set_acked(struct kf_store *st, const char *device_id, uint64_t acked)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, ST_DEV_ACKED, &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, acked);
    return kf__store_stmt_run(st, s, "set acked_seq");
}

int kf__store_advance_hwm(struct kf_store *st, const char *device_id, uint64_t acked, int overlap,
                          uint64_t *ret)
{
    int r = kf__store_find_hwm(st, device_id, acked, overlap, ret);

    if (r < 0 || *ret == acked)
        return r;
    return kf__store_set_acked(st, device_id, *ret);
}

/* A HELLO says the device was acknowledged up to seq - 1. The server only ever acknowledges
 * what it committed, so a mark past ours means the store lost records (restored from a
 * backup): record the gap for the operator and move past it, or the device would resend
 * into a hole forever and its outbox would fill. */
int kf__store_gap(struct kf_store *st, const struct kf_ingest *in, int64_t now,
                  struct kf_commit_out *out)
{
    uint64_t device_acked = in->hdr.seq > 0 ? in->hdr.seq - 1 : 0;
    sqlite3_stmt *s = NULL;
    int r;

    if (device_acked <= out->acked_seq || device_acked > (uint64_t)INT64_MAX)
        return 0;
    r = kf__store_stmt(st, ST_GAP_INSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, out->acked_seq + 1);
    kf__store_bind_u64(s, 3, device_acked);
    sqlite3_bind_int64(s, 4, now);
    r = kf__store_stmt_run(st, s, "seq gap");
    if (r < 0)
        return r;
    out->gap_first = out->acked_seq + 1;
    out->gap_last = device_acked;
    /* The caller writes the mark (commit_device). */
    return kf__store_find_hwm(st, in->hdr.device_id, device_acked, 1, &out->acked_seq);
}
