/* store/sqlite/ingest.c: the group commit of store/ingest.h (kf_store_ingest_commit) and online
 * expiry: frames taken device by device, envelopes kept as evidence, records idempotent on
 * (device, seq), latest health/peripherals/faults and the SLA's facts on each change of state
 * (sla.c). The usage sums are in ingest_usage.c; HELLO, STATE, presence and the high-water
 * mark in ingest_device.c. */
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

/* v7: records in commit order. Keyed by (device, seq), every commit wrote into as many
 * places of the table as it had devices, and that scattered insert was the largest part of
 * the commit (BENCHMARKS.md, "The store alone"). Keyed by (envelope, seq), a commit appends: its
 * envelope ids are the newest. What a device already sent is known from the envelopes
 * instead (commit_records), and a record is found from its device and seq through the
 * envelope that holds it (envelopes_dev_seq). */
const char *const kf__store_schema_records[] = {
    "CREATE TABLE records_v7(envelope_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " device_id TEXT NOT NULL, type INTEGER NOT NULL, device_ts_ms INTEGER NOT NULL,"
    " effective_ms INTEGER NOT NULL, recv_ms INTEGER NOT NULL, flags INTEGER NOT NULL,"
    " asset_id TEXT, zone_id TEXT, item TEXT, outcome TEXT, dur_ms INTEGER, day INTEGER,"
    " PRIMARY KEY(envelope_id, seq)) WITHOUT ROWID",
    "INSERT INTO records_v7 SELECT envelope_id, seq, device_id, type, device_ts_ms,"
    " effective_ms, recv_ms, flags, asset_id, zone_id, item, outcome, dur_ms, day"
    " FROM records ORDER BY envelope_id, seq",
    "DROP VIEW txns",
    "DROP TABLE records",
    "ALTER TABLE records_v7 RENAME TO records",
    "CREATE VIEW txns AS SELECT device_id, seq, asset_id, zone_id, item, outcome,"
    " effective_ms AS start_ms, dur_ms, day FROM records WHERE type = 1",
    NULL,
};

static int dev_get(struct kf_store *st, const char *device_id, struct kf__store_dev *ret)
{
    sqlite3_stmt *s = NULL;
    int r, rc;

    r = kf__store_stmt(st, ST_DEV_GET, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(ret->asset_id, sizeof(ret->asset_id), "%s",
                 (const char *)sqlite3_column_text(s, 0));
        snprintf(ret->zone_id, sizeof(ret->zone_id), "%s", (const char *)sqlite3_column_text(s, 1));
        ret->acked_seq = (uint64_t)sqlite3_column_int64(s, 2);
        ret->online = sqlite3_column_int(s, 3) != 0;
        r = 0;
    } else if (rc == SQLITE_DONE) {
        kf__store_seterr(st, "commit: unknown device %s", device_id);
        r = -ENOENT;
    } else {
        r = kf__store_sql_fail(st, rc, "device lookup");
    }
    kf__store_stmt_done(s);
    return r;
}

static int apply_health(struct kf_store *st, const struct kf_ingest *in, uint64_t seq,
                        const struct kf_rec_health *h, int64_t eff)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, ST_HEALTH_UPSERT, &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, seq);
    sqlite3_bind_int64(s, 3, eff);
    sqlite3_bind_int64(s, 4, in->recv_ms);
    sqlite3_bind_int(s, 5, h->cpu_pm);
    kf__store_bind_u64(s, 6, h->mem_total_kb);
    kf__store_bind_u64(s, 7, h->mem_avail_kb);
    kf__store_bind_u64(s, 8, h->disk_total_kb);
    kf__store_bind_u64(s, 9, h->disk_avail_kb);
    if (h->temp_mc == KF_TEMP_NONE)
        sqlite3_bind_null(s, 10);
    else
        sqlite3_bind_int(s, 10, h->temp_mc);
    kf__store_bind_u64(s, 11, h->uptime_s);
    kf__store_bind_u64(s, 12, h->net_rx);
    kf__store_bind_u64(s, 13, h->net_tx);
    sqlite3_bind_int(s, 14, h->net_up != 0);
    return kf__store_stmt_run(st, s, "health_latest");
}

static int apply_periph(struct kf_store *st, const struct kf_ingest *in,
                        const struct kf__store_sla_src *src, uint64_t seq,
                        const struct kf_rec_periph *p, int64_t eff)
{
    const char *pname = kf_periph_name(p->periph);
    const char *sname = kf_pstate_name(p->state);
    sqlite3_stmt *s = NULL;
    int r;

    if (!pname || !sname) {
        kf__store_seterr(st, "commit: %s seq %llu: bad peripheral record", in->hdr.device_id,
                         (unsigned long long)seq);
        return -EINVAL;
    }
    r = kf__store_sla_periph(st, src, seq, p, eff);
    if (r < 0)
        return r;
    r = kf__store_stmt(st, ST_PERIPH_UPSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, pname, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, sname, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, kf_pstate_usable(p->state) != 0);
    sqlite3_bind_int64(s, 5, eff);
    kf__store_bind_u64(s, 6, seq);
    return kf__store_stmt_run(st, s, "periph_latest");
}

static int apply_fault(struct kf_store *st, const struct kf_ingest *in,
                       const struct kf__store_sla_src *src, uint64_t seq,
                       const struct kf_rec_fault *f, int64_t eff)
{
    const char *sev = kf_severity_name(f->sev);
    const char *periph = f->periph ? kf_periph_name(f->periph) : NULL;
    sqlite3_stmt *s = NULL;
    int r;

    if (!sev) {
        kf__store_seterr(st, "commit: %s seq %llu: bad fault severity", in->hdr.device_id,
                         (unsigned long long)seq);
        return -EINVAL;
    }
    r = kf__store_stmt(st, ST_FAULT_INSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, seq);
    sqlite3_bind_text(s, 3, f->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, sev, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, f->raise != 0);
    if (periph)
        sqlite3_bind_text(s, 6, periph, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_text(s, 7, f->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, eff);
    r = kf__store_stmt_run(st, s, "insert fault");
    if (r < 0)
        return r;

    r = kf__store_sla_fault(st, src, seq, f, eff);
    if (r < 0)
        return r;
    r = kf__store_stmt(st, ST_FAULT_STATE, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->code, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, f->raise != 0);
    sqlite3_bind_text(s, 4, sev, -1, SQLITE_STATIC);
    if (periph)
        sqlite3_bind_text(s, 5, periph, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 5);
    sqlite3_bind_text(s, 6, f->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, eff);
    kf__store_bind_u64(s, 8, seq);
    return kf__store_stmt_run(st, s, "fault_state");
}

static int insert_envelope(struct kf_store *st, const struct kf_ingest *in, int64_t now,
                           int64_t *ret_id)
{
    sqlite3_stmt *s = NULL;
    int r;

    if (in->raw_len > INT_MAX)
        return -EMSGSIZE;
    r = kf__store_stmt(st, ST_ENV_INSERT, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, in->hdr.device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, in->hdr.key_epoch);
    sqlite3_bind_int(s, 3, in->hdr.kind);
    sqlite3_bind_int(s, 4, in->hdr.flags);
    kf__store_bind_u64(s, 5, in->hdr.seq);
    sqlite3_bind_int64(s, 6, in->nrec);
    sqlite3_bind_int64(s, 7, in->hdr.device_ms);
    sqlite3_bind_int64(s, 8, in->hdr.clock_offset_ms);
    sqlite3_bind_int64(s, 9, in->recv_ms);
    sqlite3_bind_int64(s, 10, now);
    sqlite3_bind_text(s, 11, in->topic ? in->topic : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 12, in->raw ? (const void *)in->raw : (const void *)"", (int)in->raw_len,
                      SQLITE_STATIC);
    r = kf__store_stmt_run(st, s, "insert envelope");
    if (r < 0)
        return r;
    *ret_id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

#define KF_COVER_WORDS ((KF_ENV_MAX_RECORDS + 63) / 64)

/* Which of the frame's seqs [first, last] the store holds already: bit i of have for
 * first + i. Every stored envelope's whole range is stored (what it did not add was there
 * before it), so the envelopes that reach [first, last] answer it. Where they can start:
 * after the mark walk, no envelope that starts at or before the mark ends past it
 * (kf__store_advance_hwm), so for a frame above the mark only envelopes starting past the
 * mark matter, a few at most (the device's frames in flight). A frame that reaches below
 * the mark, any frame of a device that had one in this commit (wide), or a replayed
 * quarantine row looks at every envelope that could reach it: those starting up to
 * KF_ENV_MAX_RECORDS - 1 before it. */
/* The stored envelopes holding any of them go to ids (at most one per seq of the frame, so
 * KF_ENV_MAX_RECORDS), for the conflict check. */
static int covered(struct kf_store *st, const char *device_id, uint64_t acked, int wide,
                   uint64_t first, uint64_t last, uint64_t have[KF_COVER_WORDS], int64_t *ids,
                   size_t *ret_nids)
{
    uint64_t lo = kf__store_env_reach_lo(first);
    sqlite3_stmt *s = NULL;
    int r, rc;

    memset(have, 0, KF_COVER_WORDS * sizeof(have[0]));
    *ret_nids = 0;
    if (!wide && acked + 1 > lo)
        lo = acked + 1;
    r = kf__store_stmt(st, ST_ENV_COVER, &s);
    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, 2, lo);
    kf__store_bind_u64(s, 3, last);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t a = (uint64_t)sqlite3_column_int64(s, 0);
        uint64_t n = (uint64_t)sqlite3_column_int64(s, 1);
        uint64_t b = n > 0 ? a + n - 1 : 0;

        if (n == 0 || b < first || a > last)
            continue;
        if (*ret_nids < KF_ENV_MAX_RECORDS)
            ids[(*ret_nids)++] = sqlite3_column_int64(s, 2);
        for (uint64_t q = a > first ? a : first; q <= b && q <= last; q++)
            have[(q - first) / 64] |= 1ull << ((q - first) % 64);
    }
    if (rc != SQLITE_DONE)
        r = kf__store_sql_fail(st, rc, "stored seqs");
    kf__store_stmt_done(s);
    return r;
}

/* health_seq: the newest health sample's seq among this commit's frames of the device;
 * only that one can end up in health_latest, so older ones are not written there. wide:
 * look behind the mark for what is held (covered): set by commit_device for every frame of
 * a device whose group has a frame reaching below the mark (this one included), and for a
 * replayed quarantine row. */
/* A new record's row in the frame's multi-row INSERT (its parameters start after off); a
 * txn's columns too, and *ret_day, the local day it counts in. */
static int bind_record(struct kf_store *st, sqlite3_stmt *s, int off, const struct kf_ingest *in,
                       const struct kf__store_dev *dev, int64_t env_id, uint64_t seq,
                       const struct kf_record *rec, int64_t eff, unsigned flags, int32_t *ret_day)
{
    const char *outcome;

    sqlite3_bind_text(s, off + 1, in->hdr.device_id, -1, SQLITE_STATIC);
    kf__store_bind_u64(s, off + 2, seq);
    sqlite3_bind_int64(s, off + 3, env_id);
    sqlite3_bind_int(s, off + 4, rec->type);
    sqlite3_bind_int64(s, off + 5, rec->ts_ms);
    sqlite3_bind_int64(s, off + 6, eff);
    sqlite3_bind_int64(s, off + 7, in->recv_ms);
    sqlite3_bind_int(s, off + 8, (int)flags);
    if (rec->app_id[0] && !(flags & KF_STORE_REC_F_APP_REPEAT))
        sqlite3_bind_text(s, off + 9, rec->app_id, -1, SQLITE_STATIC);
    if (rec->type != KF_REC_TXN)
        return 0;
    outcome = kf_outcome_name(rec->u.txn.outcome);
    if (!outcome) {
        kf__store_seterr(st, "commit: %s seq %llu: bad outcome %u", in->hdr.device_id,
                         (unsigned long long)seq, rec->u.txn.outcome);
        return -EINVAL;
    }
    *ret_day = kf_usage_day(eff);
    sqlite3_bind_text(s, off + 10, dev->asset_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, off + 11, dev->zone_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, off + 12, rec->u.txn.item, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, off + 13, outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, off + 14, rec->u.txn.dur_ms);
    sqlite3_bind_int(s, off + 15, *ret_day);
    return 0;
}

/* What a new record changes besides its own row: the commit's usage sums, the latest health
 * (only the commit's newest sample, health_seq), peripherals, faults and maintenance, with
 * their SLA facts. */
static int apply_record(struct kf_store *st, const struct kf_ingest *in,
                        const struct kf__store_dev *dev, uint64_t seq, const struct kf_record *rec,
                        int64_t eff, int32_t day, uint64_t health_seq,
                        struct kf__store_usage *usage)
{
    const struct kf__store_sla_src src = {in->hdr.device_id, dev->asset_id, in->recv_ms};

    switch (rec->type) {
    case KF_REC_TXN:
        return kf__store_usage_add(usage, in->hdr.device_id, dev, &rec->u.txn, day);
    case KF_REC_HEALTH:
        return seq == health_seq ? apply_health(st, in, seq, &rec->u.health, eff) : 0;
    case KF_REC_PERIPH:
        return apply_periph(st, in, &src, seq, &rec->u.periph, eff);
    case KF_REC_FAULT:
        return apply_fault(st, in, &src, seq, &rec->u.fault, eff);
    case KF_REC_MAINT:
        return kf__store_sla_maint(st, &src, seq, &rec->u.maint, eff);
    case KF_REC_CMD_RESULT: /* the command's status: store/sqlite/commands.c */
        return kf__store_cmd_result(st, in->hdr.device_id, seq, &rec->u.cmd_result, in->recv_ms);
    default:
        kf__store_seterr(st, "commit: %s seq %llu: unknown record type %u", in->hdr.device_id,
                         (unsigned long long)seq, rec->type);
        return -EINVAL;
    }
}

struct app_ref {
    const char *id;
    uint32_t i;
};

static int app_ref_cmp(const void *a, const void *b)
{
    const struct app_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);

    return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

/* Which of the frame's new records repeat an application id the device has used, in a
 * counted record stored before or earlier in this frame: bit i of rep for record i, with
 * the counted record's seq in first_seq[i]. One lookup per distinct id; the frame's own
 * repeats are found by sorting (a frame's rows are not in the table before its INSERT). */
static int app_repeats(struct kf_store *st, const struct kf_ingest *in, const uint64_t *have,
                       uint64_t rep[KF_COVER_WORDS], uint64_t *first_seq, uint32_t *ret_n)
{
    struct app_ref refs[KF_ENV_MAX_RECORDS];
    size_t n = 0;

    *ret_n = 0;
    memset(rep, 0, KF_COVER_WORDS * sizeof(rep[0]));
    for (uint32_t i = 0; i < in->nrec; i++) {
        if (in->recs[i].app_id[0] && !(have[i / 64] & (1ull << (i % 64))))
            refs[n++] = (struct app_ref){in->recs[i].app_id, i};
    }
    if (n > 1)
        qsort(refs, n, sizeof(refs[0]), app_ref_cmp);
    for (size_t g = 0; g < n;) {
        size_t e = g + 1;
        uint64_t counted;
        int r = kf__store_app_first(st, in->hdr.device_id, refs[g].id, &counted);

        if (r < 0)
            return r;
        if (r == 0)
            counted = in->hdr.seq + refs[g].i; /* the first in the frame counts */
        while (e < n && strcmp(refs[e].id, refs[g].id) == 0)
            e++;
        for (size_t k = r == 1 ? g : g + 1; k < e; k++) {
            rep[refs[k].i / 64] |= 1ull << (refs[k].i % 64);
            first_seq[refs[k].i] = counted;
            (*ret_n)++;
        }
        g = e;
    }
    return 0;
}

static int commit_records(struct kf_store *st, const struct kf_ingest *in,
                          const struct kf__store_dev *dev, int wide, uint64_t health_seq,
                          int64_t now, struct kf__store_usage *usage,
                          struct kf__store_device_days *days, struct kf_commit_out *out)
{
    uint64_t first = in->hdr.seq, last, have[KF_COVER_WORDS], rep[KF_COVER_WORDS];
    uint64_t conflict_seq, first_seq[KF_ENV_MAX_RECORDS];
    int64_t offset, env_id, ids[KF_ENV_MAX_RECORDS], conflict_env;
    uint32_t nhave = 0, nrep = 0;
    size_t nids;
    unsigned fflags;
    int replay, r;
    struct kf__store_multi m;
    sqlite3_stmt *s = NULL;

    if (in->nrec == 0 || !in->recs)
        return 0;
    if (first == 0 || in->nrec > KF_ENV_MAX_RECORDS || first > (uint64_t)INT64_MAX - in->nrec) {
        kf__store_seterr(st, "commit: %s: bad sequence range", in->hdr.device_id);
        return -EINVAL;
    }
    last = first + in->nrec - 1;
    /* At or below the high-water mark everything is stored (in frames, or held in quarantine
     * or skipped as a gap, which this frame must not fill): a replay, unless what the stored
     * frames hold under those seqs differs. A quarantined frame replayed is below the mark
     * that moved over it: it is inserted anyway (idempotently, as any frame). */
    replay = last <= dev->acked_seq && in->quarantine_id == 0;
    r = covered(st, in->hdr.device_id, dev->acked_seq, wide || replay, first, last, have, ids,
                &nids);
    if (r < 0)
        return r;
    for (uint32_t w = 0; w < KF_COVER_WORDS; w++)
        nhave += (uint32_t)__builtin_popcountll(have[w]);
    if (nhave > 0) {
        r = kf__store_conflict_find(st, in, ids, nids, have, &conflict_seq, &conflict_env);
        if (r < 0)
            return r;
        if (conflict_seq != 0) {
            out->conflict = 1;
            return kf__store_conflict_keep(st, in, conflict_seq, conflict_env);
        }
    }
    if (replay || nhave == in->nrec) {
        /* Nothing new (a resend, perhaps with other boundaries): not evidence of anything
         * new, so the frame is not kept twice. */
        out->replay = 1;
        out->duplicates = in->nrec;
        return 0;
    }
    r = app_repeats(st, in, have, rep, first_seq, &nrep);
    if (r < 0)
        return r;
    r = insert_envelope(st, in, now, &env_id);
    if (r < 0)
        return r;
    offset = kf_usage_offset((in->hdr.flags & KF_ENV_F_CLOCK_SYNCED) != 0, in->hdr.clock_offset_ms,
                             in->hdr.device_ms, in->recv_ms, &fflags);
    /* The frame's new records in one statement (or a few, for a long frame). */
    kf__store_multi_start(&m, MT_RECORDS, in->nrec - nhave);
    for (uint32_t i = 0; i < in->nrec; i++) {
        const struct kf_record *rec = &in->recs[i];
        uint64_t seq = first + i;
        unsigned flags = fflags;
        int repeat = (rep[i / 64] & (1ull << (i % 64))) != 0;
        int64_t eff;
        int32_t day = 0;
        int off;

        if (have[i / 64] & (1ull << (i % 64))) {
            out->duplicates++;
            continue;
        }
        eff = kf_usage_effective_ms(rec->ts_ms, offset, in->recv_ms, &flags);
        if (repeat)
            flags |= KF_STORE_REC_F_APP_REPEAT;
        r = kf__store_multi_row(st, &m, &s, &off);
        if (r == 0)
            r = bind_record(st, s, off, in, dev, env_id, seq, rec, eff, flags, &day);
        if (r < 0)
            break;
        out->inserted++;
        /* Any record stored says the device sent something that day (device_days). */
        r = kf__store_device_days_add(days, in->hdr.device_id, kf_usage_day(eff));
        if (r < 0)
            break;
        /* A repeated application id: kept with its frame, counted nowhere. */
        if (repeat)
            r = kf__store_app_duplicate(st, in, seq, rec->app_id, first_seq[i], env_id);
        else
            r = apply_record(st, in, dev, seq, rec, eff, day, health_seq, usage);
        if (r == 0)
            r = kf__store_multi_next(st, &m, "insert record");
        if (r < 0)
            break;
    }
    if (r < 0) {
        kf__store_multi_abort(&m);
        return r;
    }
    out->app_repeats = nrep;
    return 0;
}

/* Frames of one device are processed together (in arrival order), so the per-device work
 * (lookup, last-seen, high-water mark) is done once per commit, not once per frame. */
struct order {
    const char *device_id;
    size_t index;
};

/* A replayed quarantine row committed: it is released (kept, as the record of what
 * happened, but no longer held). */
static int release_quarantined(struct kf_store *st, int64_t id, int64_t now)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_stmt(st, ST_QUARANTINE_RELEASE, &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    return kf__store_stmt_run(st, s, "release quarantined");
}

static int order_cmp(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    int c = strcmp(x->device_id, y->device_id);

    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int commit_device(struct kf_store *st, struct kf_ingest *const *items,
                         const struct order *ord, size_t m, int64_t now,
                         struct kf__store_usage *usage, struct kf__store_device_days *days,
                         struct kf_commit_out *tmp)
{
    const char *device_id = ord[0].device_id;
    const struct kf_ingest *last_synced = NULL;
    struct kf_ingest seen = {0};
    struct kf__store_dev dev;
    uint64_t hwm, health_seq = 0;
    size_t live = 0;
    int has_state = 0, overlap = 0, r;

    r = dev_get(st, device_id, &dev);
    if (r < 0)
        return r;
    usage->dev_first = usage->n;
    days->dev_first = days->n;
    /* Last-seen/online once for the group, unless a STATE frame is in it: then the frames'
     * order decides the final online state, and each frame is applied in turn. A replayed
     * quarantined frame (quarantine_id) says nothing about the device now: it adds its
     * records and nothing else (no presence, no latest health, no HELLO or STATE). */
    for (size_t k = 0; k < m; k++) {
        const struct kf_ingest *in = items[ord[k].index];

        /* Stored over the mark (resent with other boundaries, or a replay): the walk
         * must look behind it too (kf__store_advance_hwm). */
        overlap |= in->hdr.kind == KF_MSG_RECORDS && in->hdr.seq <= dev.acked_seq;
        if (in->quarantine_id != 0)
            continue;
        if (live++ == 0) {
            seen.hdr = in->hdr;
            seen.recv_ms = in->recv_ms;
            seen.hdr.flags = 0;
        }
        has_state |= in->hdr.kind == KF_MSG_STATE;
        if (in->recv_ms > seen.recv_ms)
            seen.recv_ms = in->recv_ms;
        if (in->hdr.kind == KF_MSG_RECORDS || in->hdr.kind == KF_MSG_HELLO)
            seen.hdr.kind = in->hdr.kind;
        if (in->hdr.flags & KF_ENV_F_CLOCK_SYNCED)
            last_synced = in;
        if (in->hdr.kind == KF_MSG_RECORDS && in->recs) {
            for (uint32_t i = 0; i < in->nrec; i++) {
                if (in->recs[i].type == KF_REC_HEALTH && in->hdr.seq + i > health_seq)
                    health_seq = in->hdr.seq + i;
            }
        }
    }
    if (last_synced) {
        seen.hdr.flags = KF_ENV_F_CLOCK_SYNCED;
        seen.hdr.clock_offset_ms = last_synced->hdr.clock_offset_ms;
    }
    /* The group's presence fact now, before its records' facts; the row is written at
     * the end, with the new mark: one write of the device's row per commit. */
    if (live > 0 && !has_state) {
        r = kf__store_seen_fact(st, &seen, &dev);
        if (r < 0)
            return r;
    }
    for (size_t k = 0; k < m; k++) {
        const struct kf_ingest *in = items[ord[k].index];

        if (has_state && in->quarantine_id == 0) {
            r = kf__store_seen(st, in, &dev);
            if (r < 0)
                return r;
        }
        switch (in->quarantine_id != 0 && in->hdr.kind != KF_MSG_RECORDS ? 0 : in->hdr.kind) {
        case KF_MSG_RECORDS:
            r = commit_records(st, in, &dev, overlap || in->quarantine_id != 0, health_seq, now,
                               usage, days, &tmp[ord[k].index]);
            break;
        case KF_MSG_HELLO:
            r = kf__store_hello(st, in);
            break;
        case KF_MSG_STATE:
            r = kf__store_state(st, in, &dev);
            break;
        case KF_MSG_BLOB: /* a chunk of a bundle: store/sqlite/blobs.c */
            r = kf__store_blob_chunk(st, in, now, &tmp[ord[k].index]);
            break;
        default:
            r = 0; /* ACK/COMMAND never come from devices (only last_seen is noted), and a
                    * replayed HELLO or STATE is history: nothing to apply */
        }
        if (r == 0 && in->quarantine_id != 0)
            r = release_quarantined(st, in->quarantine_id, now);
        if (r < 0)
            return r;
    }
    /* Frames may have come in any order: advance over everything stored, once. */
    r = kf__store_find_hwm(st, device_id, dev.acked_seq, overlap, &hwm);
    if (r < 0)
        return r;
    for (size_t k = 0; k < m; k++) {
        struct kf_commit_out *o = &tmp[ord[k].index];

        o->acked_seq = hwm;
        if (items[ord[k].index]->hdr.kind == KF_MSG_HELLO &&
            items[ord[k].index]->quarantine_id == 0) {
            r = kf__store_gap(st, items[ord[k].index], now, o);
            if (r < 0)
                return r;
            hwm = o->acked_seq;
        }
    }
    if (live > 0 && !has_state)
        r = kf__store_seen_update(st, &seen, &hwm);
    else if (hwm != dev.acked_seq)
        r = kf__store_set_acked(st, device_id, hwm);
    if (r < 0)
        return r;
    for (size_t k = 0; k < m; k++)
        tmp[ord[k].index].acked_seq = hwm;
    return 0;
}

int kf_store_ingest_commit(struct kf_store *st, struct kf_ingest *const *items, size_t n,
                           struct kf_commit_out *out)
{
    struct kf_commit_out *tmp = NULL;
    struct order *ord = NULL;
    struct kf__store_usage usage = {0};
    struct kf__store_device_days days = {0};
    int64_t now = kf_now_ms();
    int r;

    if (n > 0) {
        tmp = calloc(n, sizeof(*tmp));
        ord = calloc(n, sizeof(*ord));
        if (!tmp || !ord) {
            r = -ENOMEM;
            goto out_free;
        }
        for (size_t i = 0; i < n; i++) {
            ord[i].device_id = items[i]->hdr.device_id;
            ord[i].index = i;
        }
        qsort(ord, n, sizeof(*ord), order_cmp);
    }
    st->errmsg[0] = '\0';
    r = kf_store_begin(st);
    if (r < 0)
        goto out_free;
    for (size_t g = 0; g < n;) {
        size_t m = 1;

        while (g + m < n && strcmp(ord[g + m].device_id, ord[g].device_id) == 0)
            m++;
        r = commit_device(st, items, ord + g, m, now, &usage, &days, tmp);
        if (r < 0)
            goto out_rollback;
        g += m;
    }
    r = kf__store_usage_flush(st, &usage);
    if (r == 0)
        r = kf__store_device_days_flush(st, &days);
    if (r < 0)
        goto out_rollback;
    r = kf_store_end(st, 1);
    if (r < 0)
        goto out_free;
    if (n > 0)
        memcpy(out, tmp, n * sizeof(*tmp));
    free(usage.rows);
    free(days.rows);
    free(ord);
    free(tmp);
    return 0;

out_rollback:
    kf__store_exec_one(st, ST_ROLLBACK);
out_free:
    free(usage.rows);
    free(days.rows);
    free(ord);
    free(tmp);
    return r;
}

int kf_store_ingest_expire_online(struct kf_store *st, int64_t cutoff_ms, int64_t now_ms,
                                  uint32_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r, own, changes;

    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    /* The SLA's offline facts first, from the rows the update is about to change. */
    r = kf__store_sla_expire(st, cutoff_ms, now_ms);
    if (r < 0)
        return kf__store_txn_leave(st, own, r);
    r = kf__store_stmt(st, ST_EXPIRE, &s);
    if (r < 0)
        return kf__store_txn_leave(st, own, r);
    sqlite3_bind_int64(s, 1, cutoff_ms);
    sqlite3_bind_int64(s, 2, now_ms);
    r = kf__store_stmt_run(st, s, "expire online");
    changes = sqlite3_changes(st->db);
    r = kf__store_txn_leave(st, own, r);
    if (r < 0)
        return r;
    *ret_n = (uint32_t)changes;
    return 0;
}
