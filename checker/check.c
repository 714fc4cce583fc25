/* checker/check.c: the bill recomputed from its bundle (checker/check.h). */
#define _GNU_SOURCE
#include "checker/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/keyfile.h>
#include <kf/record.h>
#include <kf/time.h>

#include "rules/bill.h"
#include "rules/bill_inputs.h"
#include "rules/contract.h"
#include "rules/holidays.h"
#include "rules/logentry.h"
#include "rules/money.h"
#include "rules/replay.h"
#include "rules/report.h"

#define SEAL_ACTION "sla.run" /* store/sla.h KF_STORE_SLA_SEAL */
#define OTHER_BANK "(another bank)"
#define ID_OVER 1000000000000000LL /* ids past the bundle's lists: a difference, found later */
#define NO_TERM ((size_t)-1)

struct win {
    int64_t id;
    const char *asset, *zone; /* borrowed from a seal's JSON kept in ck.keep */
    int64_t start_ms, end_ms;
};

struct ck {
    const struct kf_bundle *b;
    const uint8_t *pk;
    struct kf_check_result *res;
    json_t *bill;
    json_t *keep; /* seal JSONs whose strings are borrowed */
    const char *number;
    struct kf_contract *contracts;
    size_t n_contracts;
    struct kf_holidays *hol;
    struct kf_week *weeks;
    struct kf_sla_terms *terms;
    size_t *next_inc;
    size_t short_of; /* a terminal whose incident ids ran out, or NO_TERM */
    int64_t over;
    struct win *wins;
    size_t n_wins, cap_wins;
    struct kf_replay *rp;
    struct kf_report *rep;
    struct kf_incident *incs; /* the replay's, by terminal then id */
    size_t n_incs;
};

static int differ(struct ck *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->res->message, sizeof(c->res->message), fmt, ap);
    va_end(ap);
    return 1;
}

static void digest_hex(const void *data, size_t len, char hex[65])
{
    uint8_t h[32];

    crypto_generichash(h, sizeof(h), data, len, NULL, 0);
    kf_hex_encode(h, sizeof(h), hex, 65);
}

/* A log entry's detail member "digest" (or "" when it has none). */
static void detail_digest(const struct kf_bundle_entry *e, char out[65])
{
    json_t *d = json_loads(e->detail, 0, NULL);
    const char *s = json_string_value(json_object_get(d, "digest"));

    snprintf(out, 65, "%s", s ? s : "");
    json_decref(d);
}

/* ---- 1. Signatures ---------------------------------------------------------------------- */

static int step_signatures(struct ck *c)
{
    const struct kf_bundle *b = c->b;
    const struct kf_bundle_entry *issue = NULL;
    char want[65], got[65];
    json_error_t je;

    for (size_t i = 0; i < b->n_log; i++) {
        const struct kf_bundle_entry *e = &b->log[i];
        struct kf_log_entry le = {e->seq, e->at_ms, e->actor, e->action, e->subject, e->detail};
        int v = kf_log_entry_verify(e->prev_hash, &le, e->hash, e->sig, c->pk);

        if (v != KF_LOG_ENTRY_OK)
            return differ(c, "log entry %lld (%s %s): %s", (long long)e->seq, e->action, e->subject,
                          kf_log_entry_check_name(v));
        if (i > 0 && e->seq == b->log[i - 1].seq + 1 &&
            sodium_memcmp(e->prev_hash, b->log[i - 1].hash, 32) != 0)
            return differ(c,
                          "log entry %lld: prev_hash is not entry %lld's hash (the chain is "
                          "broken)",
                          (long long)e->seq, (long long)b->log[i - 1].seq);
    }
    c->res->entries = b->n_log;
    if (crypto_sign_verify_detached(b->bill_sig, (const uint8_t *)b->bill, b->bill_len, c->pk) != 0)
        return differ(c, "the bill's signature (bill_sig) is not the server key's over the bill's "
                         "bytes: the bill text was changed, or signed with another key");
    c->bill = json_loadb(b->bill, b->bill_len, JSON_REJECT_DUPLICATES, &je);
    c->number = json_string_value(json_object_get(c->bill, "number"));
    if (c->bill == NULL || c->number == NULL ||
        strcmp(json_string_value(json_object_get(c->bill, "status")) ?: "", "issued") != 0)
        return differ(c, "the bill is not an issued kioskfleet.bill/1 (no number or status)");
    snprintf(c->res->number, sizeof(c->res->number), "%s", c->number);
    for (size_t i = 0; i < b->n_log; i++)
        if (strcmp(b->log[i].action, "bill.issue") == 0 &&
            strcmp(b->log[i].subject, c->number) == 0)
            issue = &b->log[i];
    if (issue == NULL)
        return differ(c, "no bill.issue entry for %s in the bundle's log", c->number);
    detail_digest(issue, want);
    digest_hex(b->bill, b->bill_len, got);
    if (strcmp(want, got) != 0)
        return differ(c,
                      "log entry %lld (bill.issue %s) signs digest %s, the bill's bytes digest "
                      "to %s",
                      (long long)issue->seq, c->number, want, got);
    return 0;
}

/* ---- 2. Contracts ------------------------------------------------------------------------ */

static int step_contracts(struct ck *c)
{
    const struct kf_bundle *b = c->b;
    const char *banks[1] = {b->bank};
    char e[256];

    c->contracts = calloc(b->n_contracts + 1, sizeof(*c->contracts));
    if (c->contracts == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < b->n_contracts; i++) {
        struct kf_contract *k = &c->contracts[i];
        const struct kf_bundle_entry *load = NULL;
        char subject[128], hex[65], want[65] = "";
        char *canon = NULL;

        if (kf_contract_parse(b->contracts[i], b->contract_len[i], banks, 1, k, e, sizeof(e)) < 0)
            return differ(c, "contracts[%zu]: %s", i, e);
        c->n_contracts++;
        if (kf_contract_canonical(k, &canon) < 0)
            return -ENOMEM;
        digest_hex(canon, strlen(canon), hex);
        free(canon);
        snprintf(subject, sizeof(subject), "%s/%s/v%d", k->bank, k->id, k->version);
        for (size_t j = 0; j < b->n_log; j++)
            if (strcmp(b->log[j].action, "contract.load") == 0 &&
                strcmp(b->log[j].subject, subject) == 0)
                load = &b->log[j];
        if (load == NULL)
            return differ(c, "contract %s: no contract.load entry for it in the bundle's log",
                          subject);
        detail_digest(load, want);
        if (strcmp(want, hex) != 0)
            return differ(c,
                          "contract %s: its canonical form digests to %s, log entry %lld "
                          "(contract.load) signed %s: the contract text was changed",
                          subject, hex, (long long)load->seq, want);
    }
    if (kf_contract_set_check(c->contracts, c->n_contracts, e, sizeof(e)) < 0)
        return differ(c, "contracts: %s", e);
    return 0;
}

/* ---- Frames: each device fact against the signed record behind it ---------------------- */

struct vframe {
    size_t i; /* index in b->frames */
    const char *device;
    uint64_t seq; /* first record's seq */
    uint32_t count;
    struct kf_record *recs; /* count */
    int used;
};

static int vf_cmp(const void *a, const void *b)
{
    const struct vframe *x = a, *y = b;
    int c = strcmp(x->device, y->device);

    if (c)
        return c;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int keep_record(void *ud, uint32_t index, const struct kf_record *rec)
{
    struct vframe *v = ud;

    v->recs[index] = *rec;
    return 0;
}

/* The signed log entry registering device's key of epoch, or NULL. */
static const struct kf_bundle_entry *key_entry(const struct kf_bundle *b, const char *device,
                                               uint32_t epoch, char pk_hex[65])
{
    const struct kf_bundle_entry *found = NULL;

    for (size_t i = 0; i < b->n_log; i++) {
        const struct kf_bundle_entry *e = &b->log[i];
        int rot = strcmp(e->action, "key.rotate") == 0;
        json_t *d, *ep;
        const char *pk;

        if ((!rot && strcmp(e->action, "device.enroll") != 0) || strcmp(e->subject, device) != 0)
            continue;
        d = json_loads(e->detail, 0, NULL);
        ep = json_object_get(d, rot ? "new_epoch" : "key_epoch");
        pk = json_string_value(json_object_get(d, "pk"));
        if (json_is_integer(ep) && json_integer_value(ep) == (json_int_t)epoch && pk) {
            snprintf(pk_hex, 65, "%s", pk);
            found = e;
        }
        json_decref(d);
    }
    return found;
}

static int step_frames(struct ck *c)
{
    const struct kf_bundle *b = c->b;
    struct vframe *v = calloc(b->n_frames + 1, sizeof(*v));
    struct kf_zctx *z = NULL;
    char *body = malloc(KF_BODY_MAX_BYTES + 1);
    size_t n_dev = 0, n_used = 0;
    int r = 0;

    if (v == NULL || body == NULL || kf_zctx_new(3, &z) < 0) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < b->n_frames; i++) {
        const struct kf_bundle_frame *f = &b->frames[i];
        const struct kf_bundle_entry *e;
        struct kf_env_view ev;
        char have[65], want[65] = "";
        const char *json;
        size_t blen;

        v[i].i = i;
        v[i].device = f->device;
        if (kf_env_parse(f->raw, f->raw_len, &ev) < 0 || ev.hdr.kind != KF_MSG_RECORDS) {
            r = differ(c, "frames[%zu] (device %s): not a RECORDS frame", i, f->device);
            goto out;
        }
        if (strcmp(ev.hdr.device_id, f->device) != 0 || ev.hdr.key_epoch != f->key_epoch) {
            r = differ(c,
                       "frames[%zu]: the frame is device %s's, key epoch %u; the bundle lists it "
                       "as device %s's, epoch %u",
                       i, ev.hdr.device_id, ev.hdr.key_epoch, f->device, f->key_epoch);
            goto out;
        }
        if (!f->has_pk) {
            r = differ(c, "frames[%zu] (device %s, epoch %u): no public key for it", i, f->device,
                       f->key_epoch);
            goto out;
        }
        kf_hex_encode(f->pk, 32, have, sizeof(have));
        e = key_entry(b, f->device, f->key_epoch, want);
        if (e && strcmp(want, have) != 0) {
            r = differ(c,
                       "frames[%zu] (device %s, epoch %u): its pk %s is not the key log entry "
                       "%lld (%s) registered, %s",
                       i, f->device, f->key_epoch, have, (long long)e->seq, e->action, want);
            goto out;
        }
        if (f->key_signed && e == NULL) {
            r = differ(c,
                       "frames[%zu] (device %s, epoch %u): key_signed, but no device.enroll or "
                       "key.rotate entry for that key in the bundle's log",
                       i, f->device, f->key_epoch);
            goto out;
        }
        if (kf_env_verify(&ev, f->topic, f->pk) < 0) {
            r = differ(c,
                       "frames[%zu] (device %s, seq %llu..%llu, recv_ms %lld): the frame's "
                       "signature does not verify under the device's key (epoch %u, pk %s) on "
                       "topic %s: the frame was changed",
                       i, f->device, (unsigned long long)ev.hdr.seq,
                       (unsigned long long)(ev.hdr.seq + ev.hdr.count - 1), (long long)f->recv_ms,
                       f->key_epoch, have, f->topic);
            goto out;
        }
        if (ev.hdr.flags & KF_ENV_F_ZSTD) {
            if (kf_zctx_decompress(z, ev.hdr.dict_id, ev.body, ev.body_len, body, KF_BODY_MAX_BYTES,
                                   &blen) < 0) {
                r = differ(c, "frames[%zu] (device %s): the body does not decompress", i,
                           f->device);
                goto out;
            }
            json = body;
        } else {
            json = (const char *)ev.body;
            blen = ev.body_len;
        }
        v[i].seq = ev.hdr.seq;
        v[i].count = ev.hdr.count;
        v[i].recs = calloc(ev.hdr.count + 1, sizeof(*v[i].recs));
        if (v[i].recs == NULL) {
            r = -ENOMEM;
            goto out;
        }
        if (kf_records_parse(json, blen, ev.hdr.count, NULL, NULL) < 0 ||
            kf_records_parse(json, blen, ev.hdr.count, keep_record, &v[i]) < 0) {
            r = differ(c, "frames[%zu] (device %s): the records do not parse", i, f->device);
            goto out;
        }
    }
    if (b->n_frames > 1)
        qsort(v, b->n_frames, sizeof(*v), vf_cmp);
    for (size_t i = 0; i < b->n_facts; i++) {
        const struct kf_bundle_fact *f = &b->facts[i];
        const struct kf_bundle_frame *fr;
        const struct kf_record *rec;
        struct vframe *hit = NULL;
        size_t lo = 0, hi = b->n_frames;
        char what[160] = "";

        if (f->f.kind == KF_FACT_PRESENCE)
            continue;
        if (f->seq <= 0) {
            r = differ(c,
                       "fact %lld (%s %s): a device fact without a seq: no signed record "
                       "behind it",
                       (long long)f->id, f->asset, f->device);
            goto out;
        }
        while (lo < hi) { /* the last frame of the device starting at or before seq */
            size_t mid = lo + (hi - lo) / 2;
            int cmp = strcmp(v[mid].device, f->device);

            if (cmp < 0 || (cmp == 0 && v[mid].seq <= (uint64_t)f->seq))
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && strcmp(v[lo - 1].device, f->device) == 0 &&
            (uint64_t)f->seq < v[lo - 1].seq + v[lo - 1].count)
            hit = &v[lo - 1];
        if (hit == NULL) {
            r = differ(c,
                       "fact %lld (%s %s seq %lld): no signed frame in the bundle holds its "
                       "record",
                       (long long)f->id, f->asset, f->device, (long long)f->seq);
            goto out;
        }
        fr = &b->frames[hit->i];
        rec = &hit->recs[(uint64_t)f->seq - hit->seq];
        switch (f->f.kind) {
        case KF_FACT_PERIPH:
            if (rec->type != KF_REC_PERIPH)
                snprintf(what, sizeof(what), "the record is a %s, the fact a periph",
                         kf_rec_type_name(rec->type));
            else if (rec->u.periph.periph != f->f.periph)
                snprintf(what, sizeof(what), "peripheral: record %s, fact %s",
                         kf_periph_name(rec->u.periph.periph), kf_periph_name(f->f.periph));
            else if ((kf_pstate_usable(rec->u.periph.state) != 0) != (f->f.on != 0))
                snprintf(what, sizeof(what), "usable: record %s (%s), fact %d",
                         kf_pstate_usable(rec->u.periph.state) ? "yes" : "no",
                         kf_pstate_name(rec->u.periph.state), f->f.on);
            break;
        case KF_FACT_FAULT:
            if (rec->type != KF_REC_FAULT)
                snprintf(what, sizeof(what), "the record is a %s, the fact a fault",
                         kf_rec_type_name(rec->type));
            else if (strcmp(rec->u.fault.code, f->f.code) != 0)
                snprintf(what, sizeof(what), "code: record %s, fact %s", rec->u.fault.code,
                         f->f.code);
            else if (rec->u.fault.sev != f->f.sev)
                snprintf(what, sizeof(what), "severity: record %s, fact %s",
                         kf_severity_name(rec->u.fault.sev), kf_severity_name(f->f.sev) ?: "-");
            else if (rec->u.fault.periph != f->f.periph)
                snprintf(what, sizeof(what), "peripheral: record %s, fact %s",
                         kf_periph_name(rec->u.fault.periph) ?: "-",
                         kf_periph_name(f->f.periph) ?: "-");
            else if ((rec->u.fault.raise != 0) != (f->f.on != 0))
                snprintf(what, sizeof(what), "record %s, fact %s",
                         rec->u.fault.raise ? "raise" : "clear", f->f.on ? "raise" : "clear");
            break;
        case KF_FACT_MAINT:
            if (rec->type != KF_REC_MAINT)
                snprintf(what, sizeof(what), "the record is a %s, the fact a maint",
                         kf_rec_type_name(rec->type));
            else if ((rec->u.maint.on != 0) != (f->f.on != 0))
                snprintf(what, sizeof(what), "maintenance: record %s, fact %s",
                         rec->u.maint.on ? "on" : "off", f->f.on ? "on" : "off");
            else if (strcmp(rec->u.maint.tech, f->f.who) != 0)
                snprintf(what, sizeof(what), "technician: record \"%s\", fact \"%s\"",
                         rec->u.maint.tech, f->f.who);
            break;
        default:
            snprintf(what, sizeof(what), "kind unknown");
        }
        if (!what[0] && f->f.at_ms > fr->recv_ms)
            snprintf(what, sizeof(what), "at_ms %lld is after the frame's recv_ms %lld",
                     (long long)f->f.at_ms, (long long)fr->recv_ms);
        if (what[0]) {
            r = differ(c,
                       "fact %lld (%s %s seq %lld) does not say what its signed record says "
                       "(frames[%zu]): %s",
                       (long long)f->id, f->asset, f->device, (long long)f->seq, hit->i, what);
            goto out;
        }
        n_dev++;
        if (!hit->used) {
            hit->used = 1;
            n_used++;
        }
    }
    c->res->device_facts = n_dev;
    c->res->frames = n_used;
out:
    for (size_t i = 0; v && i < b->n_frames; i++)
        free(v[i].recs);
    free(v);
    free(body);
    kf_zctx_free(z);
    return r;
}

/* ---- 3. Service intervals --------------------------------------------------------------- */

struct span {
    int64_t from, to; /* from INT64_MIN: not signed (a decommission of an implicit interval) */
};

static int step_service(struct ck *c)
{
    const struct kf_bundle *b = c->b;
    struct span *d = calloc(b->n_log + 1, sizeof(*d));

    if (d == NULL)
        return -ENOMEM;
    for (size_t t = 0; t < b->n_terms; t++) {
        const struct kf_bundle_terminal *term = &b->terms[t];
        size_t n = 0, k = 0;

        for (size_t i = 0; i < b->n_log; i++) {
            const struct kf_bundle_entry *e = &b->log[i];
            int com = strcmp(e->action, "asset.commission") == 0;
            json_t *det;
            int64_t at;

            if ((!com && strcmp(e->action, "asset.decommission") != 0) ||
                strcmp(e->subject, term->asset) != 0)
                continue;
            det = json_loads(e->detail, 0, NULL);
            at = (int64_t)json_integer_value(json_object_get(det, "at_ms"));
            json_decref(det);
            if (com)
                d[n++] = (struct span){at, KF_TIME_NEVER};
            else if (n > 0 && d[n - 1].to == KF_TIME_NEVER)
                d[n - 1].to = at;
            else
                d[n++] = (struct span){INT64_MIN, at};
        }
        for (size_t s = 0; s < term->n_svc; s++) {
            const struct kf_bundle_service *v = &term->svc[s];

            if (v->implicit) {
                if (n > 0) {
                    free(d);
                    return differ(c,
                                  "terminal %s: an implicit service interval from %lld, but the "
                                  "signed log records its commissioning",
                                  term->asset, (long long)v->from_ms);
                }
                continue;
            }
            if (k == n || (d[k].from != INT64_MIN && d[k].from != v->from_ms) ||
                d[k].to != v->to_ms) {
                char a[64], z[64];

                snprintf(a, sizeof(a), "%lld..%lld", k < n ? (long long)d[k].from : 0,
                         k < n ? (long long)d[k].to : 0);
                snprintf(z, sizeof(z), "%lld..%lld", (long long)v->from_ms,
                         v->to_ms == KF_TIME_NEVER ? -1LL : (long long)v->to_ms);
                free(d);
                return differ(c,
                              "terminal %s: service interval %zu [%s) (ms, -1: open) is not what "
                              "its asset.commission/decommission entries sign (%s)",
                              term->asset, s + 1, z, k < n ? a : "no such interval");
            }
            k++;
        }
        if (k != n) {
            free(d);
            return differ(c,
                          "terminal %s: the signed log commissions it %zu times, the bundle "
                          "lists %zu intervals",
                          term->asset, n, k);
        }
    }
    free(d);
    return 0;
}

/* ---- 4 and 5. Facts against seals, the replay --------------------------------------------- */

static int64_t next_id(void *ud, const char *terminal)
{
    struct ck *c = ud;
    size_t t = kf_bundle_terminal(c->b, terminal);

    if (t == NO_TERM || c->next_inc[t] >= c->b->terms[t].n_incs) {
        if (c->short_of == NO_TERM)
            c->short_of = t;
        return c->over++;
    }
    return c->b->terms[t].incs[c->next_inc[t]++];
}

static int setup_terminals(struct ck *c)
{
    const struct kf_bundle *b = c->b;
    int64_t from, to;
    const struct kf_contract *k;
    char e[256];

    c->hol = kf_holidays_new();
    c->weeks = calloc(b->n_terms + 1, sizeof(*c->weeks));
    c->terms = calloc(b->n_terms + 1, sizeof(*c->terms));
    c->next_inc = calloc(b->n_terms + 1, sizeof(*c->next_inc));
    if (!c->hol || !c->weeks || !c->terms || !c->next_inc)
        return -ENOMEM;
    for (size_t i = 0; i < b->n_calendars; i++) {
        char name[32];

        snprintf(name, sizeof(name), "calendars[%zu]", i);
        if (kf_holidays_load_string(c->hol, b->calendars[i], name, e, sizeof(e)) < 0)
            return differ(c, "%s", e);
    }
    kf_calendar_month_range(b->year, b->month, &from, &to);
    if (kf_holidays_require(c->hol, from, b->close_ms > from ? b->close_ms : from + 1, e,
                            sizeof(e)) < 0)
        return differ(c, "the bundle's calendars: %s", e);
    /* SLA terms: the version in force on the month's last day (one version a month in
     * practice; the live engine reads the terms kioskd holds, which must be these); when the
     * contract ended before it, the latest version in force in the month, as the bill's
     * credits take them (rules/bill.c, docs/BILLING.md "SLA credits"). */
    k = kf_contract_for(c->contracts, c->n_contracts, b->bank, kf_local_day(to) - 1);
    for (size_t j = 0, on_last = k != NULL; !on_last && j < c->n_contracts; j++) {
        /* none on the last day: the one begun last among those in force on some day */
        const struct kf_contract *x = &c->contracts[j];

        if (strcmp(x->bank, b->bank) != 0 || x->effective_from >= kf_local_day(to) ||
            (x->effective_to != KF_CONTRACT_OPEN && x->effective_to <= kf_local_day(from)))
            continue;
        if (k == NULL || x->effective_from > k->effective_from)
            k = x;
    }
    if (k == NULL)
        return differ(c, "no contract version of %s is in force in %s", b->bank, b->period);
    for (size_t i = 0; i < b->n_terms; i++) {
        const struct kf_bundle_terminal *t = &b->terms[i];
        const struct kf_bundle_zone *z = kf_bundle_zone(b, t->zone);
        const struct kf_contract_sla *s = t->kind == KF_TERMINAL_ITM ? &k->sla_itm : &k->sla_kiosk;

        if (z == NULL || z->weekday == NULL)
            return differ(c, "terminal %s: zone %s is not among the bundle's zones (with hours)",
                          t->asset, t->zone);
        if (kf_calendar_week_for_terminal(z->weekday, z->weekend, z->itm_hours,
                                          t->kind == KF_TERMINAL_ITM, &c->weeks[i]) < 0)
            return differ(c, "zone %s: its hours are not valid opening hours", z->id);
        c->terms[i] = (struct kf_sla_terms){s->response_s, s->restore_s, s->target_bp};
    }
    return 0;
}

static int win_add(struct ck *c, json_t *o)
{
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));

    for (size_t i = 0; i < c->n_wins; i++)
        if (c->wins[i].id == id)
            return 0;
    if (c->n_wins == c->cap_wins) {
        size_t cap = c->cap_wins ? c->cap_wins * 2 : 16;
        struct win *w = realloc(c->wins, cap * sizeof(*w));

        if (w == NULL)
            return -ENOMEM;
        c->wins = w;
        c->cap_wins = cap;
    }
    c->wins[c->n_wins++] = (struct win){id, json_string_value(json_object_get(o, "asset")) ?: "",
                                        json_string_value(json_object_get(o, "zone")) ?: "",
                                        (int64_t)json_integer_value(json_object_get(o, "start_ms")),
                                        (int64_t)json_integer_value(json_object_get(o, "end_ms"))};
    return 0;
}

/* The windows of terminal t among ws (its own and its zone's), at most cap. */
static size_t wins_for(const struct win *ws, size_t n, const struct kf_bundle_terminal *t,
                       struct kf_window *out, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(ws[i].asset, t->asset) != 0 &&
            (ws[i].zone[0] == '\0' || strcmp(ws[i].zone, t->zone) != 0))
            continue;
        if (k < cap)
            out[k] = (struct kf_window){ws[i].start_ms, ws[i].end_ms};
        k++;
    }
    return k;
}

/* A seal's windows, set on every bank terminal as the live engine had them. */
static int seal_windows(struct ck *c, json_t *arr)
{
    struct win *ws = calloc(json_array_size(arr) + 1, sizeof(*ws));
    struct kf_window w[KF_SLA_WINDOWS_MAX];
    size_t n = 0, i;
    json_t *o;
    int r = 0;

    if (ws == NULL)
        return -ENOMEM;
    json_array_foreach(arr, i, o)
    {
        ws[n++] = (struct win){(int64_t)json_integer_value(json_object_get(o, "id")),
                               json_string_value(json_object_get(o, "asset")) ?: "",
                               json_string_value(json_object_get(o, "zone")) ?: "",
                               (int64_t)json_integer_value(json_object_get(o, "start_ms")),
                               (int64_t)json_integer_value(json_object_get(o, "end_ms"))};
        if (r == 0)
            r = win_add(c, o);
    }
    for (size_t t = 0; r == 0 && t < c->b->n_terms; t++) {
        size_t k = wins_for(ws, n, &c->b->terms[t], w, KF_SLA_WINDOWS_MAX);

        r = kf_sla_windows_set(kf_replay_engine(c->rp), c->b->terms[t].asset, w,
                               k < KF_SLA_WINDOWS_MAX ? k : KF_SLA_WINDOWS_MAX);
    }
    free(ws);
    return r < 0 && r != -ENOMEM ? 0 : r;
}

static int act_cmp(const void *a, const void *b)
{
    const struct kf_replay_action *x = a, *y = b;

    return (x->after > y->after) - (x->after < y->after);
}

/* One seal's bank facts (facts[f0..f1)) against its per-terminal digests. */
static int seal_facts(struct ck *c, struct kf_run_terms *rt, const struct kf_bundle_entry *e,
                      json_t *seal, size_t f0, size_t f1, int64_t after, int64_t to)
{
    const struct kf_bundle *b = c->b;
    json_t *sealed = json_object_get(seal, "terminals"), *v;
    struct kf_run_term *got = NULL;
    size_t n_got = 0, k = 0, i;
    int r = 0;

    kf_run_terms_reset(rt);
    for (i = f0; r == 0 && i < f1; i++)
        r = kf_run_terms_fact(rt, b->facts[i].id, b->facts[i].asset, b->facts[i].device,
                              b->facts[i].recv_ms, &b->facts[i].f);
    if (r == 0)
        r = kf_run_terms_take(rt, &got, &n_got);
    if (r < 0)
        return r;
    json_array_foreach(sealed, i, v)
    {
        const char *term = json_string_value(json_array_get(v, 0)) ?: "";
        int64_t n = (int64_t)json_integer_value(json_array_get(v, 1));
        const char *hex = json_string_value(json_array_get(v, 2)) ?: "";

        if (n == 0 || kf_bundle_terminal(b, term) == NO_TERM)
            continue;
        while (k < n_got && strcmp(got[k].terminal, term) < 0) {
            r = differ(c,
                       "seal at log entry %lld (facts %lld..%lld): terminal %s has %llu facts "
                       "there that the seal does not list (facts inserted)",
                       (long long)e->seq, (long long)after + 1, (long long)to, got[k].terminal,
                       (unsigned long long)got[k].n);
            goto out;
        }
        if (k == n_got || strcmp(got[k].terminal, term) != 0) {
            r = differ(c,
                       "seal at log entry %lld (facts %lld..%lld): terminal %s: the seal counts "
                       "%lld facts, the bundle has none of them (facts removed)",
                       (long long)e->seq, (long long)after + 1, (long long)to, term, (long long)n);
            goto out;
        }
        if ((int64_t)got[k].n != n) {
            r = differ(c,
                       "seal at log entry %lld (facts %lld..%lld): terminal %s: the seal counts "
                       "%lld facts, the bundle has %llu (a fact removed or inserted)",
                       (long long)e->seq, (long long)after + 1, (long long)to, term, (long long)n,
                       (unsigned long long)got[k].n);
            goto out;
        }
        if (strcmp(got[k].hex, hex) != 0) {
            r = differ(c,
                       "seal at log entry %lld (facts %lld..%lld): terminal %s: its %lld facts "
                       "digest to %s, the seal signed %s (a fact edited)",
                       (long long)e->seq, (long long)after + 1, (long long)to, term, (long long)n,
                       got[k].hex, hex);
            goto out;
        }
        k++;
    }
    if (k < n_got)
        r = differ(c,
                   "seal at log entry %lld (facts %lld..%lld): terminal %s has %llu facts there "
                   "that the seal does not list (facts inserted)",
                   (long long)e->seq, (long long)after + 1, (long long)to, got[k].terminal,
                   (unsigned long long)got[k].n);
out:
    free(got);
    return r;
}

/* One seal's actions on bank terminals, placed among the bank's facts of the run. */
static int seal_actions(struct ck *c, const struct kf_bundle_entry *e, json_t *seal, size_t f0,
                        size_t f1, struct kf_replay_action **ret, size_t *ret_n)
{
    const struct kf_bundle *b = c->b;
    json_t *arr = json_object_get(seal, "actions"), *o;
    struct kf_replay_action *acts = calloc(json_array_size(arr) + 1, sizeof(*acts));
    size_t n = 0, i;

    if (acts == NULL)
        return -ENOMEM;
    json_array_foreach(arr, i, o)
    {
        const char *term = json_string_value(json_object_get(o, "terminal")) ?: "";
        struct kf_replay_action *a = &acts[n];
        int64_t after_t = (int64_t)json_integer_value(json_object_get(o, "after_t"));
        int kind = 0, to = 0;
        size_t pos = 0, seen = 0;

        if (kf_bundle_terminal(b, term) == NO_TERM)
            continue;
        /* After its terminal's after_t-th fact of the run: the terminals are independent,
         * so only the place among its own terminal's facts matters. */
        for (size_t f = f0; f < f1 && (int64_t)seen < after_t; f++)
            if (strcmp(b->facts[f].asset, term) == 0) {
                seen++;
                pos = f - f0 + 1;
            }
        if (after_t < 0 || (int64_t)seen != after_t) {
            free(acts);
            return differ(c,
                          "seal at log entry %lld: action %lld on %s comes after %lld of its "
                          "facts, the run has %zu",
                          (long long)e->seq,
                          (long long)json_integer_value(json_object_get(o, "id")), term,
                          (long long)after_t, seen);
        }
        (void)kf_incident_ev_parse(json_string_value(json_object_get(o, "kind")), &kind);
        (void)kf_incident_attr_parse(json_string_value(json_object_get(o, "to")), &to);
        a->after = pos;
        a->refused = strcmp(json_string_value(json_object_get(o, "status")) ?: "", "done") != 0;
        a->ev.kind = (uint8_t)kind;
        a->ev.incident = (int64_t)json_integer_value(json_object_get(o, "incident"));
        a->ev.at_ms = (int64_t)json_integer_value(json_object_get(o, "at_ms"));
        a->ev.to = (uint8_t)to;
        a->ev.flags = (uint8_t)json_integer_value(json_object_get(o, "flags"));
        snprintf(a->ev.who, sizeof(a->ev.who), "%s",
                 json_string_value(json_object_get(o, "who")) ?: "");
        snprintf(a->ev.text, sizeof(a->ev.text), "%s",
                 json_string_value(json_object_get(o, "text")) ?: "");
        /* An assignment (docs/SLA.md 5.2) replays as it was taken: it moves no figure, but
         * the seal's outcome is checked like any other action's. */
        snprintf(a->ev.assignee, sizeof(a->ev.assignee), "%s",
                 json_string_value(json_object_get(o, "assignee")) ?: "");
        n++;
    }
    /* Stable: qsort is not, so sort by (after, index) through a tie on the index. */
    for (i = 1; i < n; i++) {
        struct kf_replay_action x = acts[i];
        size_t j = i;

        while (j > 0 && act_cmp(&acts[j - 1], &x) > 0) {
            acts[j] = acts[j - 1];
            j--;
        }
        acts[j] = x;
    }
    *ret = acts;
    *ret_n = n;
    return 0;
}

static int step_replay(struct ck *c)
{
    const struct kf_bundle *b = c->b;
    struct kf_run_terms *rt = NULL;
    struct kf_sla_config cfg;
    int64_t prev_to = -1;
    size_t fi = 0;
    int r, started = 0;

    kf_sla_config_defaults(&cfg);
    c->short_of = NO_TERM;
    c->over = ID_OVER;
    r = kf_run_terms_new(&rt);
    for (size_t i = 0; r == 0 && i < b->n_log; i++) {
        const struct kf_bundle_entry *e = &b->log[i];
        struct kf_replay_action *acts = NULL;
        struct kf_replay_fact *facts = NULL;
        struct kf_replay_run run;
        size_t n_acts = 0, f0, mismatch = 0;
        int64_t after, to;
        json_t *seal;

        if (strcmp(e->action, SEAL_ACTION) != 0)
            continue;
        seal = json_loads(e->detail, 0, NULL);
        if (!json_is_object(seal) || json_integer_value(json_object_get(seal, "v")) != 2) {
            json_decref(seal);
            r = differ(c, "log entry %lld is not a seal this checker reads (v2)",
                       (long long)e->seq);
            break;
        }
        json_array_append_new(c->keep, seal); /* its window strings are borrowed */
        after = (int64_t)json_integer_value(json_object_get(seal, "facts_after"));
        to = (int64_t)json_integer_value(json_object_get(seal, "facts_to"));
        if (to < after || after < prev_to) {
            r = differ(c, "seal at log entry %lld: facts %lld..%lld overlap the seal before",
                       (long long)e->seq, (long long)after + 1, (long long)to);
            break;
        }
        if (!started) {
            cfg.offline_grace_ms = (int64_t)json_integer_value(json_object_get(seal, "grace_ms"));
            cfg.reopen_window_ms = (int64_t)json_integer_value(json_object_get(seal, "reopen_ms"));
            cfg.id_fn = next_id;
            cfg.id_ud = c;
            r = kf_replay_new(&cfg, c->hol, &c->rp);
            for (size_t t = 0; r == 0 && t < b->n_terms; t++)
                r = kf_sla_terminal_set(kf_replay_engine(c->rp), b->terms[t].asset, &c->weeks[t],
                                        &c->terms[t]);
            if (r < 0) {
                r = r == -ENOMEM ? r : differ(c, "the seals' SLA settings are not valid");
                break;
            }
            started = 1;
        } else if ((int64_t)json_integer_value(json_object_get(seal, "grace_ms")) !=
                       cfg.offline_grace_ms ||
                   (int64_t)json_integer_value(json_object_get(seal, "reopen_ms")) !=
                       cfg.reopen_window_ms) {
            r = differ(c,
                       "seal at log entry %lld: [sla] grace or reopen window changed: this "
                       "checker does not recompute incidents across the change",
                       (long long)e->seq);
            break;
        }
        if (fi < b->n_facts && b->facts[fi].id <= after) {
            r = differ(c, "fact %lld (terminal %s) is sealed by no run in the bundle",
                       (long long)b->facts[fi].id, b->facts[fi].asset);
            break;
        }
        for (f0 = fi; fi < b->n_facts && b->facts[fi].id <= to; fi++)
            ;
        c->res->seals++;
        r = seal_facts(c, rt, e, seal, f0, fi, after, to);
        if (r == 0 && json_is_array(json_object_get(seal, "windows")))
            r = seal_windows(c, json_object_get(seal, "windows"));
        if (r == 0)
            r = seal_actions(c, e, seal, f0, fi, &acts, &n_acts);
        if (r == 0 && (facts = calloc(fi - f0 + 1, sizeof(*facts))) == NULL)
            r = -ENOMEM;
        /* The bill's figures are the incidents as the engine had them at the close: a run
         * persisted after it is checked (its facts, above) but changes the next bill, as an
         * adjustment, not this one (docs/BILLING.md, "The close"). */
        if (r == 0 && e->at_ms <= b->close_ms) {
            for (size_t k = f0; k < fi; k++)
                facts[k - f0] = (struct kf_replay_fact){b->facts[k].asset, b->facts[k].f};
            run = (struct kf_replay_run){
                facts, fi - f0, acts, n_acts,
                (int64_t)json_integer_value(json_object_get(seal, "tick_ms"))};
            r = kf_replay_run(c->rp, &run, &mismatch);
            if (r == -ENOSPC)
                r = differ(c, "seal at log entry %lld: the replay overflows the engine's limits",
                           (long long)e->seq);
            if (r == 0 && mismatch)
                r = differ(c,
                           "seal at log entry %lld: an action on one of the bank's terminals has "
                           "another outcome in the replay than the seal's status",
                           (long long)e->seq);
        }
        free(facts);
        free(acts);
        prev_to = to;
    }
    if (r == 0 && fi < b->n_facts)
        r = differ(c,
                   "fact %lld (terminal %s) is sealed by no run in the bundle (after the last "
                   "seal's facts)",
                   (long long)b->facts[fi].id, b->facts[fi].asset);
    if (r == 0 && c->short_of != NO_TERM)
        r = differ(c,
                   "terminal %s: the replay opens more incidents than the bundle lists for it "
                   "(its live ids)",
                   c->short_of < b->n_terms ? b->terms[c->short_of].asset : "?");
    c->res->facts = b->n_facts;
    kf_run_terms_free(rt);
    return r;
}

/* ---- 6. The report ------------------------------------------------------------------------ */

static int inc_cmp(const void *a, const void *b)
{
    const struct kf_incident *x = a, *y = b;
    int d = strcmp(x->terminal, y->terminal);

    return d ? d : (x->id > y->id) - (x->id < y->id);
}

static int step_report(struct ck *c)
{
    const struct kf_bundle *b = c->b;
    struct kf_report_terminal *in = calloc(b->n_terms + 1, sizeof(*in));
    struct kf_window *sv = NULL, *wv = NULL;
    struct {
        int64_t at, id;
    } *firsts = NULL;
    size_t n_rep = 0, n_sv = 0, n_wv = 0, k = 0;
    const struct kf_replay_incident *rep = c->rp ? kf_replay_incidents(c->rp, &n_rep) : NULL;
    int r = 0;

    c->incs = calloc(n_rep + 1, sizeof(*c->incs));
    for (size_t t = 0; t < b->n_terms; t++) {
        n_sv += b->terms[t].n_svc;
        n_wv += wins_for(c->wins, c->n_wins, &b->terms[t], NULL, 0);
    }
    sv = calloc(n_sv + 1, sizeof(*sv));
    wv = calloc(n_wv + 1, sizeof(*wv));
    if (in == NULL || c->incs == NULL || sv == NULL || wv == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_rep; i++)
        c->incs[i] = rep[i].inc;
    c->n_incs = n_rep;
    c->res->incidents = n_rep;
    if (n_rep > 1)
        qsort(c->incs, n_rep, sizeof(*c->incs), inc_cmp);
    n_sv = n_wv = 0;
    /* Each terminal's first presence-online fact, in one pass over the facts. */
    firsts = calloc(b->n_terms + 1, sizeof(*firsts));
    if (firsts == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t f = 0; f < b->n_facts; f++) {
        const struct kf_bundle_fact *bf = &b->facts[f];
        if (bf->term < b->n_terms && bf->f.kind == KF_FACT_PRESENCE && bf->f.on &&
            (firsts[bf->term].at == 0 || bf->f.at_ms < firsts[bf->term].at)) {
            firsts[bf->term].at = bf->f.at_ms;
            firsts[bf->term].id = bf->id;
        }
    }
    for (size_t t = 0; t < b->n_terms; t++) {
        const struct kf_bundle_terminal *term = &b->terms[t];
        int64_t first = firsts[t].at, first_id = firsts[t].id;

        /* The first report is the first presence fact, or earlier: the records of the
         * terminal's first frame (a backlog sent on its first connection), which are the
         * server's reading of frames this bundle does not carry (docs/BILLING.md). Never
         * later than a presence fact the bundle shows, and never "never" when there is one. */
        if (first != 0 && (term->first_online_ms == 0 || term->first_online_ms > first)) {
            r = differ(c,
                       "terminal %s: first report at %lld ms in the bundle, after its first "
                       "presence fact (id %lld) at %lld",
                       term->asset, (long long)term->first_online_ms, (long long)first_id,
                       (long long)first);
            goto out;
        }
        in[t].terminal = term->asset;
        in[t].zone = term->zone;
        in[t].bank = b->bank;
        in[t].week = &c->weeks[t];
        in[t].terms = &c->terms[t];
        in[t].windows = wv + n_wv;
        in[t].n_windows = wins_for(c->wins, c->n_wins, term, wv + n_wv, SIZE_MAX);
        n_wv += in[t].n_windows;
        in[t].service = sv + n_sv;
        for (size_t s = 0; s < term->n_svc; s++)
            sv[n_sv++] = (struct kf_window){term->svc[s].from_ms, term->svc[s].to_ms};
        in[t].n_service = term->n_svc;
        in[t].first_online_ms = term->first_online_ms;
        in[t].item_needs = b->item_needs;
        in[t].n_items = b->n_items;
        while (k < c->n_incs && strcmp(c->incs[k].terminal, term->asset) < 0)
            k++;
        in[t].incidents = c->incs + k;
        while (k < c->n_incs && strcmp(c->incs[k].terminal, term->asset) == 0) {
            in[t].n_incidents++;
            k++;
        }
    }
    r = kf_report_month(b->year, b->month, b->close_ms, c->hol, in, b->n_terms, &c->rep);
    if (r == -EINVAL)
        r = differ(c, "the month's report cannot be computed from the bundle (invalid inputs)");
out:
    free(firsts);
    free(in);
    free(sv);
    free(wv);
    return r;
}

/* ---- 7. The bill ----------------------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* The bill's own adjustment lines (they refer to earlier bills, checked with those). */
static int adjustments(json_t *lines, struct kf_bill_line **ret, size_t *ret_n)
{
    struct kf_bill_line *v = calloc(json_array_size(lines) + 1, sizeof(*v));
    size_t n = 0, i;
    json_t *l;

    if (v == NULL)
        return -ENOMEM;
    json_array_foreach(lines, i, l)
    {
        struct kf_bill_line *a = &v[n];
        json_t *basis = json_object_get(l, "basis");

        if (strcmp(jstr(l, "kind"), "adjustment") != 0)
            continue;
        a->kind = KF_LINE_ADJUSTMENT;
        a->basis = KF_BASIS_REF;
        snprintf(a->asset, sizeof(a->asset), "%s", jstr(l, "asset"));
        a->terminal_kind = strcmp(jstr(l, "terminal_kind"), "itm") == 0     ? KF_TERMINAL_ITM
                           : strcmp(jstr(l, "terminal_kind"), "kiosk") == 0 ? KF_TERMINAL_KIOSK
                                                                            : 0;
        snprintf(a->model, sizeof(a->model), "%s", jstr(l, "model"));
        snprintf(a->zone, sizeof(a->zone), "%s", jstr(l, "zone"));
        snprintf(a->period, sizeof(a->period), "%s", jstr(l, "period"));
        a->days = a->period_days = KF_BILL_NA;
        a->unit_fen = KF_BILL_NA;
        snprintf(a->ref, sizeof(a->ref), "%s", jstr(basis, "ref"));
        a->ref_line = (uint32_t)json_integer_value(json_object_get(basis, "line"));
        a->net_fen = (int64_t)json_integer_value(json_object_get(l, "net_fen"));
        a->tax_rate_bp = (int32_t)json_integer_value(json_object_get(l, "tax_rate_bp"));
        a->tax_fen = (int64_t)json_integer_value(json_object_get(l, "tax_fen"));
        a->gross_fen = (int64_t)json_integer_value(json_object_get(l, "gross_fen"));
        snprintf(a->text, sizeof(a->text), "%s", jstr(l, "text"));
        n++;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static void value_text(const char *key, json_t *v, char *buf, size_t cap)
{
    char *s;

    if (v == NULL) {
        snprintf(buf, cap, "(none)");
        return;
    }
    if (json_is_integer(v) && strstr(key, "_fen") != NULL) {
        char y[KF_MONEY_FMT_MAX];

        kf_money_fmt((int64_t)json_integer_value(v), y, sizeof(y));
        snprintf(buf, cap, "%s yuan", y);
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    snprintf(buf, cap, "%.200s", s ? s : "?");
    free(s);
}

/* The first key of a and b whose values differ (in a's order, then b's extra keys). */
static const char *first_key(json_t *a, json_t *b)
{
    const char *k;
    json_t *v;

    json_object_foreach(a, k, v)
    {
        if (!json_equal(v, json_object_get(b, k)))
            return k;
    }
    json_object_foreach(b, k, v)
    {
        if (json_object_get(a, k) == NULL)
            return k;
    }
    return NULL;
}

/* Name the first difference between the bill and the evidence's bill. */
static int name_difference(struct ck *c, json_t *stored, const char *now_text)
{
    json_t *now = json_loads(now_text, JSON_PRESERVE_ORDER, NULL);
    json_t *ls = json_object_get(stored, "lines"), *ln = json_object_get(now, "lines");
    char x[256], y[256];
    const char *k;
    int r;

    for (size_t i = 0; i < json_array_size(ls) || i < json_array_size(ln); i++) {
        json_t *a = json_array_get(ls, i), *b = json_array_get(ln, i);
        json_t *o = a ? a : b;

        if (a != NULL && b != NULL && json_equal(a, b))
            continue;
        if (a == NULL || b == NULL) {
            r = differ(c, "line %zu (%s, %s): %s", i + 1, jstr(o, "kind"), jstr(o, "asset"),
                       a ? "in the bill, not in the evidence's"
                         : "follows from the evidence, "
                           "missing from the bill");
            goto out;
        }
        k = first_key(a, b);
        if (k && json_is_object(json_object_get(a, k)) && json_is_object(json_object_get(b, k))) {
            const char *k2 = first_key(json_object_get(a, k), json_object_get(b, k));

            value_text(k2, json_object_get(json_object_get(a, k), k2), x, sizeof(x));
            value_text(k2, json_object_get(json_object_get(b, k), k2), y, sizeof(y));
            r = differ(c, "line %zu (%s, %s): %s.%s: the bill says %s, the evidence gives %s",
                       i + 1, jstr(a, "kind"), jstr(a, "asset"), k, k2, x, y);
            goto out;
        }
        value_text(k ? k : "", k ? json_object_get(a, k) : NULL, x, sizeof(x));
        value_text(k ? k : "", k ? json_object_get(b, k) : NULL, y, sizeof(y));
        r = differ(c, "line %zu (%s, %s): %s: the bill says %s, the evidence gives %s", i + 1,
                   jstr(a, "kind"), jstr(a, "asset"), k ? k : "?", x, y);
        goto out;
    }
    k = first_key(stored, now);
    if (k && strcmp(k, "totals") == 0) {
        const char *k2 = first_key(json_object_get(stored, k), json_object_get(now, k));

        value_text(k2 ? k2 : "", json_object_get(json_object_get(stored, k), k2 ? k2 : ""), x,
                   sizeof(x));
        value_text(k2 ? k2 : "", json_object_get(json_object_get(now, k), k2 ? k2 : ""), y,
                   sizeof(y));
        r = differ(c, "totals.%s: the bill says %s, the evidence gives %s", k2 ? k2 : "?", x, y);
        goto out;
    }
    value_text(k ? k : "", k ? json_object_get(stored, k) : NULL, x, sizeof(x));
    value_text(k ? k : "", k ? json_object_get(now, k) : NULL, y, sizeof(y));
    r = differ(c, "%s: the bill says %s, the evidence gives %s", k ? k : "the bytes", x, y);
out:
    json_decref(now);
    return r;
}

/* The digests the bill names for its inputs, against the evidence's. */
static int input_digests(struct ck *c, const struct kf_bill_asset *as, size_t n)
{
    json_t *inputs = json_object_get(c->bill, "inputs");
    char hex[65], *text = NULL;
    size_t len = 0;
    const char *want;
    int r;

    /* A bill of before the catalog names none; one that does must match the bundle's. */
    if (json_object_get(inputs, "catalog") != NULL) {
        want = jstr(inputs, "catalog");
        if ((r = kf_bill_inputs_catalog_text(c->b->item_codes, c->b->item_needs, c->b->n_items,
                                             &text, &len)) < 0)
            return r;
        digest_hex(text, len, hex);
        free(text);
        if (strcmp(want, hex) != 0)
            return differ(c,
                          "the bill's inputs name catalog %s, the bundle's service items digest "
                          "to %s",
                          want, hex);
    }
    want = jstr(inputs, "availability");
    if ((r = kf_bill_inputs_availability_text(as, n, &text, &len)) < 0)
        return r;
    digest_hex(text, len, hex);
    free(text);
    if (strcmp(want, hex) != 0)
        return differ(c,
                      "the bill's inputs name availability %s, the evidence's figures digest "
                      "to %s",
                      want, hex);
    want = jstr(inputs, "in_service");
    if ((r = kf_bill_inputs_service_text(as, n, &text, &len)) < 0)
        return r;
    digest_hex(text, len, hex);
    free(text);
    if (strcmp(want, hex) != 0)
        return differ(c,
                      "the bill's inputs name in_service %s, the evidence's intervals digest "
                      "to %s",
                      want, hex);
    for (size_t i = 0; i < c->n_contracts; i++) {
        char name[96], *canon = NULL;
        json_t *v;

        snprintf(name, sizeof(name), "contract:%s/v%d", c->contracts[i].id,
                 c->contracts[i].version);
        if ((v = json_object_get(inputs, name)) == NULL)
            continue;
        if (kf_contract_canonical(&c->contracts[i], &canon) < 0)
            return -ENOMEM;
        digest_hex(canon, strlen(canon), hex);
        free(canon);
        if (strcmp(json_string_value(v) ?: "", hex) != 0)
            return differ(c, "the bill's inputs name %s %s, the bundle's contract digests to %s",
                          name, json_string_value(v) ?: "", hex);
    }
    return 0;
}

static int step_bill(struct ck *c)
{
    const struct kf_bundle *b = c->b;
    struct kf_bill_service *svc = NULL;
    struct kf_bill_asset *assets = NULL;
    struct kf_window *wins = NULL;
    struct kf_bill_line *adj = NULL;
    struct kf_bill_digest *dg = NULL;
    struct kf_bill *bill = NULL;
    size_t n_svc = 0, n_assets = 0, n_adj = 0, n_dg = 0;
    json_t *inputs = json_object_get(c->bill, "inputs"), *v;
    const char *key;
    char *json = NULL, e[256] = "";
    int r;

    for (size_t t = 0; t < b->n_terms; t++)
        n_svc += b->terms[t].n_svc;
    svc = calloc(n_svc + 1, sizeof(*svc));
    dg = calloc(json_object_size(inputs) + 1, sizeof(*dg));
    if (svc == NULL || dg == NULL) {
        r = -ENOMEM;
        goto out;
    }
    n_svc = 0;
    for (size_t t = 0; t < b->n_terms; t++) /* by asset, each by start */
        for (size_t s = 0; s < b->terms[t].n_svc; s++) {
            const struct kf_bundle_service *x = &b->terms[t].svc[s];

            svc[n_svc++] =
                (struct kf_bill_service){b->terms[t].asset, b->terms[t].kind,
                                         kf_bundle_zone(b, x->zone) ? b->bank : OTHER_BANK, x->zone,
                                         (struct kf_window){x->from_ms, x->to_ms}};
        }
    r = kf_bill_inputs_assets(b->bank, b->year, b->month, svc, n_svc, c->rep, &assets, &n_assets,
                              &wins);
    if (r == 0)
        r = adjustments(json_object_get(c->bill, "lines"), &adj, &n_adj);
    if (r < 0)
        goto out;
    json_object_foreach(inputs, key, v)
    {
        dg[n_dg++] = (struct kf_bill_digest){key, json_string_value(v) ?: ""};
    }
    {
        struct kf_bill_input in = {
            .bank_code = b->bank,
            .bank_name = jstr(json_object_get(c->bill, "bank"), "name"),
            .year = b->year,
            .month = b->month,
            .contracts = c->contracts,
            .n_contracts = c->n_contracts,
            .assets = assets,
            .n_assets = n_assets,
            .adjustments = adj,
            .n_adjustments = n_adj,
            .status = KF_BILL_ISSUED,
            .number = c->number,
            .issued_at_ms = (int64_t)json_integer_value(json_object_get(c->bill, "issued_at_ms")),
            .inputs = dg,
            .n_inputs = n_dg,
        };
        r = kf_bill_compute(&in, &bill, e, sizeof(e));
    }
    if (r == -EINVAL || r == -ERANGE) {
        r = differ(c, "the bill cannot be recomputed from the bundle: %s", e);
        goto out;
    }
    if (r == 0)
        r = kf_bill_json(bill, &json);
    if (r < 0)
        goto out;
    c->res->lines = bill->n_lines;
    c->res->gross_fen = bill->gross_fen;
    if (strlen(json) != b->bill_len || memcmp(json, b->bill, b->bill_len) != 0) {
        r = name_difference(c, c->bill, json);
        goto out;
    }
    r = input_digests(c, assets, n_assets);
    if (r == 0) {
        char total[KF_MONEY_FMT_MAX];

        kf_money_fmt(bill->gross_fen, total, sizeof(total));
        snprintf(c->res->message, sizeof(c->res->message),
                 "OK: %s %s, %zu lines, total %s yuan (%s): every signature checked, %zu facts in "
                 "%zu seals, %zu device facts backed by %zu signed frames, %zu incidents "
                 "recomputed, the bill recomputed to the fen",
                 c->number, b->period, bill->n_lines, total, bill->gross_capital, c->res->facts,
                 c->res->seals, c->res->device_facts, c->res->frames, c->res->incidents);
    }
out:
    free(json);
    kf_bill_free(bill);
    free(svc);
    free(assets);
    free(wins);
    free(adj);
    free(dg);
    return r;
}

int kf_check_bundle(const struct kf_bundle *b, const uint8_t server_pk[32],
                    struct kf_check_result *res)
{
    struct ck c = {.b = b, .pk = server_pk, .res = res};
    int r;

    memset(res, 0, sizeof(*res));
    c.keep = json_array();
    if (c.keep == NULL)
        return -ENOMEM;
    r = step_signatures(&c);
    if (r == 0)
        r = step_contracts(&c);
    if (r == 0)
        r = step_service(&c);
    if (r == 0)
        r = step_frames(&c);
    if (r == 0)
        r = setup_terminals(&c);
    if (r == 0)
        r = step_replay(&c);
    if (r == 0)
        r = step_report(&c);
    if (r == 0)
        r = step_bill(&c);
    if (r == -ENOMEM)
        snprintf(res->message, sizeof(res->message), "out of memory");
    json_decref(c.bill);
    json_decref(c.keep);
    free(c.contracts);
    kf_holidays_free(c.hol);
    free(c.weeks);
    free(c.terms);
    free(c.next_inc);
    free(c.wins);
    kf_replay_free(c.rp);
    kf_report_free(c.rep);
    free(c.incs);
    return r;
}
