/* views/bundle.c: one issued bill's evidence for its bank (views/bundle.h). */
#define _GNU_SOURCE
#include "views/bundle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/record.h>

#include "rules/devstate.h"
#include "rules/incident.h"
#include "store/audit.h"
#include "store/audit_log.h"
#include "store/billing.h"
#include "store/sla.h"
#include "views/billing.h"

#define FACTS_PAGE 4096
#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

typedef char term_id[KF_TERMINAL_ID_MAX + 1];

/* A stored frame behind one of the bank's device facts (written after the facts). */
struct frame_ref {
    int64_t id; /* envelopes.id */
    char device[KF_DEVICE_ID_MAX + 1];
    uint32_t epoch;
    uint8_t pk[32];
    int has_pk, key_signed;
    uint64_t seq_lo, seq_hi; /* records [seq_lo, seq_hi) */
};

struct ex {
    struct kf_store *st;
    FILE *out;
    const char *bank, *number;
    term_id *terms; /* the bank's terminals, sorted */
    size_t n_terms;
    char **subjects; /* "BANK/ID/vN" of the bank's contract versions */
    size_t n_subjects;
    int64_t issue_seq, facts_to;
    struct frame_ref *frames; /* by id, unique */
    size_t n_frames, cap_frames;
    int first, werr, dry;
    struct kf_view_bundle_stats stats;
};

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int is_term(const struct ex *x, const char *id)
{
    return id && x->n_terms && bsearch(id, x->terms, x->n_terms, sizeof(term_id), id_cmp) != NULL;
}

static int fail(struct kf_store *st, int r, const char *what, char *err, size_t cap)
{
    const char *m = kf_store_errmsg(st);

    snprintf(err, cap, "%s: %s", what, m[0] ? m : kf_strerror(r));
    return r;
}

/* Dump v (stolen) after `sep`; records a write failure. */
static void put(struct ex *x, const char *sep, json_t *v)
{
    if (v == NULL) {
        x->werr = x->werr ? x->werr : -ENOMEM;
        return;
    }
    if (fputs(sep, x->out) < 0 || json_dumpf(v, x->out, DUMP_FLAGS) < 0)
        x->werr = x->werr ? x->werr : -EIO;
    json_decref(v);
}

static void raw(struct ex *x, const char *s)
{
    if (fputs(s, x->out) < 0)
        x->werr = x->werr ? x->werr : -EIO;
}

static json_t *hex_of(const uint8_t *b, size_t n)
{
    char h[129];

    kf_hex_encode(b, n, h, sizeof(h));
    return json_string(h);
}

/* ---- The signed log ------------------------------------------------------------------------ */

static int find_issue(const struct kf_audit_entry *e, void *ud)
{
    struct ex *x = ud;

    if (strcmp(e->action, "bill.issue") == 0 && strcmp(e->subject, x->number) == 0)
        x->issue_seq = e->seq;
    return 0;
}

/* A seal lists one of the bank's terminals in "terminals" or as an action's terminal. */
static int seal_is_ours(const struct ex *x, json_t *o, int64_t *ret_to)
{
    json_t *v;
    size_t i;
    int ours = 0;

    json_array_foreach(json_object_get(o, "terminals"), i, v)
    {
        ours |= is_term(x, json_string_value(json_array_get(v, 0)));
    }
    json_array_foreach(json_object_get(o, "actions"), i, v)
    {
        ours |= is_term(x, json_string_value(json_object_get(v, "terminal")));
    }
    *ret_to = json_integer_value(json_object_get(o, "facts_to"));
    return ours;
}

/* A device.enroll / key.rotate entry registering the key of a frame in the bundle: marks
 * those frames key_signed. */
static int key_entry(struct ex *x, const struct kf_audit_entry *e)
{
    json_t *o = json_loads(e->detail, 0, NULL);
    const char *pk = json_string_value(json_object_get(o, "pk"));
    json_t *ep =
        json_object_get(o, strcmp(e->action, "key.rotate") == 0 ? "new_epoch" : "key_epoch");
    uint8_t k[32];
    int take = 0;

    if (pk && json_is_integer(ep) && strlen(pk) == 64 && kf_hex_decode(pk, k, 32) == 0)
        for (size_t i = 0; i < x->n_frames; i++) {
            struct frame_ref *f = &x->frames[i];

            if (f->has_pk && strcmp(f->device, e->subject) == 0 &&
                (json_int_t)f->epoch == json_integer_value(ep) && memcmp(f->pk, k, 32) == 0) {
                f->key_signed = 1;
                take = 1;
            }
        }
    json_decref(o);
    return take;
}

static int log_one(const struct kf_audit_entry *e, void *ud)
{
    struct ex *x = ud;
    int take = 0;

    if (strcmp(e->action, KF_STORE_SLA_SEAL) == 0) {
        /* The bill followed from the evidence as it stood when issued: later runs are not
         * part of its proof (a later bill adjusts it if they change its figures). */
        if (e->seq < x->issue_seq) {
            json_t *o = json_loads(e->detail, 0, NULL);
            int64_t to = 0;

            take = o && seal_is_ours(x, o, &to);
            if (take && x->dry)
                x->facts_to = to;
            else if (take)
                x->stats.seals++;
            json_decref(o);
        }
    } else if (strcmp(e->action, "contract.load") == 0) {
        for (size_t i = 0; i < x->n_subjects && !take; i++)
            take = strcmp(x->subjects[i], e->subject) == 0;
    } else if (strcmp(e->action, "asset.commission") == 0 ||
               strcmp(e->action, "asset.decommission") == 0) {
        take = is_term(x, e->subject);
    } else if (strcmp(e->action, "bill.issue") == 0) {
        take = e->seq == x->issue_seq;
    } else if (strcmp(e->action, "device.enroll") == 0 || strcmp(e->action, "key.rotate") == 0) {
        take = !x->dry && key_entry(x, e);
    }
    if (!take || x->dry)
        return 0;
    put(x, x->first ? "\n" : ",\n",
        json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "seq", (json_int_t)e->seq,
                  "at_ms", (json_int_t)e->at_ms, "actor", e->actor, "action", e->action, "subject",
                  e->subject, "detail", e->detail, "prev_hash", hex_of(e->prev_hash, 32), "hash",
                  hex_of(e->hash, 32), "sig", hex_of(e->sig, 64)));
    x->first = 0;
    x->stats.log_entries++;
    return x->werr;
}

/* ---- Facts ---------------------------------------------------------------------------------- */

static const char *fact_kind_name(int k)
{
    static const char *const n[] = {NULL, "presence", "periph", "fault", "maint"};
    return k >= KF_FACT_PRESENCE && k <= KF_FACT_MAINT ? n[k] : NULL;
}

static const char *src_name(int s)
{
    static const char *const n[] = {NULL, "connect", "will", "heartbeat"};
    return s >= KF_SRC_CONNECT && s <= KF_SRC_HEARTBEAT ? n[s] : NULL;
}

static json_t *opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int write_facts(struct ex *x)
{
    int64_t after = 0;
    int first = 1;

    while (after < x->facts_to) {
        struct kf_sla_fact_row *rows = NULL;
        size_t n = 0;
        int r = kf_store_sla_facts(x->st, after, FACTS_PAGE, &rows, &n);

        if (r < 0)
            return r;
        for (size_t i = 0; i < n && rows[i].id <= x->facts_to; i++) {
            const struct kf_sla_fact_row *f = &rows[i];

            if (!is_term(x, f->asset_id))
                continue;
            put(x, first ? "\n" : ",\n",
                json_pack("{s:I, s:s, s:s, s:I, s:s?, s:I, s:i, s:o, s:o, s:s, s:o, s:s, s:i, s:o}",
                          "id", (json_int_t)f->id, "asset", f->asset_id, "device", f->device_id,
                          "recv_ms", (json_int_t)f->recv_ms, "kind", fact_kind_name(f->fact.kind),
                          "at_ms", (json_int_t)f->fact.at_ms, "on", (int)f->fact.on, "src",
                          opt_str(src_name(f->fact.src)), "periph",
                          opt_str(f->fact.periph ? kf_periph_name(f->fact.periph) : NULL), "code",
                          f->fact.code, "sev",
                          opt_str(f->fact.sev ? kf_severity_name(f->fact.sev) : NULL), "who",
                          f->fact.who, "late", (int)f->fact.late, "seq",
                          f->seq > 0 ? json_integer(f->seq) : json_null()));
            first = 0;
            x->stats.facts++;
        }
        after = n ? rows[n - 1].id : x->facts_to;
        free(rows);
        if (x->werr)
            return x->werr;
    }
    return 0;
}

/* ---- Frames ----------------------------------------------------------------------------- */

static int is_device_fact(const struct kf_sla_fact_row *f)
{
    return f->seq > 0 && (f->fact.kind == KF_FACT_PERIPH || f->fact.kind == KF_FACT_FAULT ||
                          f->fact.kind == KF_FACT_MAINT);
}

static int frame_cmp(const void *a, const void *b)
{
    const struct frame_ref *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

/* The stored frame behind each of the bank's device facts up to facts_to, each once. */
static int collect_frames(struct ex *x, char *err, size_t cap)
{
    int64_t after = 0;

    while (after < x->facts_to) {
        struct kf_sla_fact_row *rows = NULL;
        size_t n = 0;
        int r = kf_store_sla_facts(x->st, after, FACTS_PAGE, &rows, &n);

        if (r < 0)
            return fail(x->st, r, "facts", err, cap);
        for (size_t i = 0; r == 0 && i < n && rows[i].id <= x->facts_to; i++) {
            const struct kf_sla_fact_row *f = &rows[i];
            struct kf_store_frame fr;
            int known = 0;

            if (!is_term(x, f->asset_id) || !is_device_fact(f))
                continue;
            for (size_t j = x->n_frames; j-- > 0 && !known;)
                known = strcmp(x->frames[j].device, f->device_id) == 0 &&
                        (uint64_t)f->seq >= x->frames[j].seq_lo &&
                        (uint64_t)f->seq < x->frames[j].seq_hi;
            if (known)
                continue;
            r = kf_store_frame_get(x->st, f->device_id, (uint64_t)f->seq, 0, &fr);
            if (r == -ENOENT) {
                snprintf(err, cap, "fact %lld (%s seq %lld): no stored frame holds its record",
                         (long long)f->id, f->device_id, (long long)f->seq);
                r = -EINVAL;
                break;
            }
            if (r < 0) {
                fail(x->st, r, "frames", err, cap);
                break;
            }
            if (x->n_frames == x->cap_frames) {
                size_t nc = x->cap_frames ? 2 * x->cap_frames : 64;
                struct frame_ref *nf = realloc(x->frames, nc * sizeof(*nf));

                if (nf == NULL) {
                    free(fr.raw);
                    r = -ENOMEM;
                    break;
                }
                x->frames = nf;
                x->cap_frames = nc;
            }
            {
                struct frame_ref *d = &x->frames[x->n_frames++];
                struct kf_env_view v;

                memset(d, 0, sizeof(*d));
                d->id = fr.id;
                snprintf(d->device, sizeof(d->device), "%s", fr.device_id);
                d->epoch = fr.key_epoch;
                memcpy(d->pk, fr.pk, 32);
                d->has_pk = fr.has_pk;
                d->seq_lo = d->seq_hi = (uint64_t)f->seq;
                d->seq_hi++;
                if (kf_env_parse(fr.raw, fr.raw_len, &v) == 0) {
                    d->seq_lo = v.hdr.seq;
                    d->seq_hi = v.hdr.seq + v.hdr.count;
                }
            }
            free(fr.raw);
        }
        after = n ? rows[n - 1].id : x->facts_to;
        free(rows);
        if (r < 0)
            return r;
    }
    if (x->n_frames > 1)
        qsort(x->frames, x->n_frames, sizeof(*x->frames), frame_cmp);
    {
        size_t k = 0;

        for (size_t i = 0; i < x->n_frames; i++)
            if (k == 0 || x->frames[k - 1].id != x->frames[i].id)
                x->frames[k++] = x->frames[i];
        x->n_frames = k;
    }
    return 0;
}

static int write_frames(struct ex *x, char *err, size_t cap)
{
    raw(x, "],\n\"frames\":[");
    for (size_t i = 0; i < x->n_frames; i++) {
        const struct frame_ref *d = &x->frames[i];
        struct kf_store_frame fr;
        char *hex;
        int r = kf_store_frame_get(x->st, NULL, 0, d->id, &fr);

        if (r < 0)
            return fail(x->st, r, "frames", err, cap);
        hex = malloc(2 * fr.raw_len + 1);
        if (hex == NULL) {
            free(fr.raw);
            return -ENOMEM;
        }
        kf_hex_encode(fr.raw, fr.raw_len, hex, 2 * fr.raw_len + 1);
        put(x, i ? ",\n" : "\n",
            json_pack("{s:s, s:I, s:o, s:s, s:s, s:I, s:b}", "device", fr.device_id, "key_epoch",
                      (json_int_t)fr.key_epoch, "pk", fr.has_pk ? hex_of(fr.pk, 32) : json_null(),
                      "topic", fr.topic, "frame", hex, "recv_ms", (json_int_t)fr.recv_ms,
                      "key_signed", d->key_signed));
        free(hex);
        free(fr.raw);
        x->stats.frames++;
        if (x->werr)
            return x->werr;
    }
    return 0;
}

/* ---- Calendars, contracts, zones, terminals -------------------------------------------------- */

static int cal_one(void *ud, int year, const char *text)
{
    struct ex *x = ud;

    (void)year;
    put(x, x->first ? "" : ",", json_string(text));
    x->first = 0;
    return x->werr;
}

static int write_contracts(struct ex *x, char *err, size_t cap)
{
    struct kf_billing_contract_row *rows = NULL;
    size_t n = 0;
    int r = kf_store_billing_contracts(x->st, x->bank, &rows, &n);

    if (r < 0)
        return fail(x->st, r, "contract versions", err, cap);
    x->subjects = calloc(n + 1, sizeof(*x->subjects));
    if (x->subjects == NULL)
        r = -ENOMEM;
    raw(x, ",\n\"contracts\":[");
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (asprintf(&x->subjects[i], "%s/%s/v%d", rows[i].bank, rows[i].id, rows[i].version) < 0) {
            r = -ENOMEM;
            break;
        }
        x->n_subjects++;
        put(x, i ? ",\n" : "\n", json_string(rows[i].text));
    }
    raw(x, "]");
    x->stats.contracts = n;
    kf_store_billing_contracts_free(rows, n);
    return r;
}

static int write_zones(struct ex *x, char *err, size_t cap)
{
    struct kf_billing_zone *z = NULL;
    size_t n = 0;
    int r = kf_store_billing_zones(x->st, x->bank, &z, &n);

    if (r < 0)
        return fail(x->st, r, "zones", err, cap);
    raw(x, ",\n\"zones\":[");
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_loads(z[i].hours, 0, NULL);
        json_t *wd = json_object_get(h, "weekday"), *we = json_object_get(h, "weekend");

        put(x, i ? ",\n" : "\n",
            json_pack("{s:s, s:O, s:O, s:o}", "id", z[i].id, "weekday", wd ? wd : json_null(),
                      "weekend", we ? we : json_null(), "itm_hours",
                      z[i].has_itm_hours ? json_string(z[i].itm_hours) : json_null()));
        json_decref(h);
    }
    raw(x, "]");
    free(z);
    return 0;
}

/* The service items and the peripherals each needs (availability over the items). */
static int write_catalog(struct ex *x, char *err, size_t cap)
{
    struct kf_sla_item *it = NULL;
    size_t n = 0;
    int r = kf_store_sla_items(x->st, &it, &n);

    if (r < 0)
        return fail(x->st, r, "items", err, cap);
    raw(x, ",\n\"catalog\":[");
    for (size_t i = 0; i < n; i++) {
        json_t *needs = json_array();

        for (int p = 0; p < 32; p++) {
            if (it[i].needs & (1u << p))
                json_array_append_new(needs, json_string(kf_periph_name(p)));
        }
        put(x, i ? ",\n" : "\n", json_pack("{s:s, s:o}", "code", it[i].code, "needs", needs));
    }
    raw(x, "]");
    free(it);
    return 0;
}

/* The bank's terminals: those in its zones now, and those it had in service at any time. */
static int write_terminals(struct ex *x, char *err, size_t cap)
{
    struct kf_sla_terminal *t = NULL;
    struct kf_billing_service *svc = NULL;
    struct kf_sla_first_online *fo = NULL;
    struct kf_incident *incs = NULL;
    size_t n_t = 0, n_svc = 0, n_fo = 0, n_incs = 0, k = 0;
    int r;

    if ((r = kf_store_sla_terminals(x->st, NULL, &t, &n_t)) < 0 ||
        (r = kf_store_billing_asset_service(x->st, NULL, NULL, &svc, &n_svc)) < 0 ||
        (r = kf_store_sla_first_online(x->st, &fo, &n_fo)) < 0 ||
        (r = kf_store_sla_incidents(x->st, KF_SLA_INC_ALL, 0, 0, &incs, &n_incs)) < 0) {
        fail(x->st, r, "terminals", err, cap);
        goto out;
    }
    x->terms = calloc(n_t + 1, sizeof(*x->terms));
    if (x->terms == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_t; i++) { /* both by asset */
        int ours = strcmp(t[i].bank, x->bank) == 0;

        while (k < n_svc && strcmp(svc[k].asset_id, t[i].asset_id) < 0)
            k++;
        for (size_t j = k; j < n_svc && strcmp(svc[j].asset_id, t[i].asset_id) == 0; j++)
            ours |= strcmp(svc[j].bank, x->bank) == 0;
        if (ours)
            snprintf(x->terms[x->n_terms++], sizeof(term_id), "%s", t[i].asset_id);
    }
    raw(x, ",\n\"terminals\":[");
    k = 0;
    for (size_t i = 0, kf = 0; i < n_t; i++) {
        json_t *o, *sv, *ids;

        if (!is_term(x, t[i].asset_id))
            continue;
        sv = json_array();
        ids = json_array();
        while (k < n_svc && strcmp(svc[k].asset_id, t[i].asset_id) < 0)
            k++;
        for (; k < n_svc && strcmp(svc[k].asset_id, t[i].asset_id) == 0; k++)
            json_array_append_new(
                sv,
                json_pack("{s:I, s:o, s:b, s:s}", "from_ms", (json_int_t)svc[k].w.start_ms, "to_ms",
                          svc[k].w.end_ms == KF_TIME_NEVER ? json_null()
                                                           : json_integer(svc[k].w.end_ms),
                          "implicit", svc[k].implicit, "zone", svc[k].zone_id));
        while (kf < n_fo && strcmp(fo[kf].asset_id, t[i].asset_id) < 0)
            kf++;
        for (size_t j = 0; j < n_incs; j++) /* by id */
            if (strcmp(incs[j].terminal, t[i].asset_id) == 0)
                json_array_append_new(ids, json_integer(incs[j].id));
        o = json_pack("{s:s, s:s, s:s, s:n, s:o, s:I, s:o}", "asset", t[i].asset_id, "kind",
                      t[i].kind == 2 ? "itm" : "kiosk", "zone", t[i].zone_id, "model", "service",
                      sv, "first_online_ms",
                      (json_int_t)(kf < n_fo && strcmp(fo[kf].asset_id, t[i].asset_id) == 0
                                       ? fo[kf].at_ms
                                       : 0),
                      "incidents", ids);
        put(x, x->stats.terminals ? ",\n" : "\n", o);
        x->stats.terminals++;
    }
    raw(x, "]");
    r = x->werr;
out:
    free(t);
    free(svc);
    free(fo);
    free(incs);
    return r;
}

int kf_view_bundle_export(struct kf_store *st, const char *number, const char *server_pk_hex,
                          FILE *out, struct kf_view_bundle_stats *ret_stats, char *err, size_t cap)
{
    struct ex x = {.st = st, .out = out, .number = number};
    struct kf_billing_doc d = {0};
    int64_t close_ms = 0;
    int year, month, r;
    char sig[129];

    err[0] = '\0';
    r = kf_store_billing_doc(st, number, &d);
    if (r == -ENOENT) {
        snprintf(err, cap,
                 "no issued bill %s (a draft is never stored: only an issued bill has a bundle)",
                 number);
        return r;
    }
    if (r < 0)
        return fail(st, r, number, err, cap);
    if (d.type != KF_BILLING_BILL) {
        snprintf(err, cap,
                 "%s is a credit note: a bundle proves a bill; export the bill it credits (%s)",
                 number, d.ref);
        r = -EINVAL;
        goto out;
    }
    x.bank = d.bank;
    if (kf_view_billing_month(d.period, &year, &month) < 0) {
        snprintf(err, cap, "%s: period %s", number, d.period);
        r = -EINVAL;
        goto out;
    }
    r = kf_view_billing_close_ms(st, year, month, &close_ms, err, cap);
    if (r < 0)
        goto out;
    kf_hex_encode(d.sig, 64, sig, sizeof(sig));
    raw(&x, "{\"doc\":\"kioskfleet.bundle/1\"");
    put(&x, ",\n\"server_pk\":", server_pk_hex ? json_string(server_pk_hex) : json_null());
    put(&x, ",\n\"bill\":", json_stringn(d.json, d.json_len));
    put(&x, ",\n\"bill_sig\":", json_string(sig));
    put(&x, ",\n\"bank\":", json_string(d.bank));
    put(&x, ",\n\"period\":", json_string(d.period));
    put(&x, ",\n\"close_ms\":", json_integer(close_ms));
    raw(&x, ",\n\"calendars\":[");
    x.first = 1;
    r = kf_store_sla_calendar_each(st, cal_one, &x);
    if (r < 0) {
        fail(st, r, "calendars", err, cap);
        goto out;
    }
    raw(&x, "]");
    if ((r = write_contracts(&x, err, cap)) < 0 || (r = write_zones(&x, err, cap)) < 0 ||
        (r = write_catalog(&x, err, cap)) < 0 || (r = write_terminals(&x, err, cap)) < 0)
        goto out;
    r = kf_store_audit_log_each(st, find_issue, &x);
    if (r == 0 && x.issue_seq == 0) {
        snprintf(err, cap, "%s has no bill.issue entry in the signed log", number);
        r = -EINVAL;
        goto out;
    }
    /* A first pass finds the last seal (facts_to), then the frames behind the facts up to
     * it, so that the log can carry the entries registering those frames' keys. */
    x.dry = 1;
    if (r == 0)
        r = kf_store_audit_log_each(st, log_one, &x);
    x.dry = 0;
    if (r == 0)
        r = collect_frames(&x, err, cap);
    raw(&x, ",\n\"log\":[");
    x.first = 1;
    if (r == 0)
        r = kf_store_audit_log_each(st, log_one, &x);
    if (r < 0) {
        if (!err[0])
            fail(st, r, "signed log", err, cap);
        goto out;
    }
    raw(&x, "],\n\"facts\":[");
    r = write_facts(&x);
    if (r < 0) {
        fail(st, r, "facts", err, cap);
        goto out;
    }
    r = write_frames(&x, err, cap);
    if (r < 0)
        goto out;
    raw(&x, "]}\n");
    if (fflush(out) != 0)
        x.werr = -EIO;
    r = x.werr;
    if (r < 0)
        snprintf(err, cap, "writing the bundle: %s", kf_strerror(r));
    if (r == 0 && ret_stats)
        *ret_stats = x.stats;
out:
    free(d.json);
    free(x.terms);
    free(x.frames);
    for (size_t i = 0; i < x.n_subjects; i++)
        free(x.subjects[i]);
    free(x.subjects);
    return r;
}
