/* checker/bundle.c: a bundle read and bounded (checker/bundle.h). */
#define _GNU_SOURCE
#include "checker/bundle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/keyfile.h>
#include <kf/envelope.h>
#include <kf/record.h>
#include <kf/time.h>

#include "rules/calendar.h"
#include "rules/contract.h"
#include "rules/incident.h"

struct rd {
    char *err;
    size_t cap;
    int r; /* the first failure */
};

static int bad(struct rd *rd, int r, const char *fmt, ...)
{
    va_list ap;

    if (rd->r == 0) {
        rd->r = r;
        va_start(ap, fmt);
        vsnprintf(rd->err, rd->cap, fmt, ap);
        va_end(ap);
    }
    return rd->r;
}

/* A member's string, at most max bytes; nullable: NULL for null. */
static const char *str(struct rd *rd, json_t *o, const char *k, size_t max, int nullable,
                       const char *where)
{
    json_t *v = json_object_get(o, k);

    if (nullable && (v == NULL || json_is_null(v)))
        return NULL;
    if (!json_is_string(v)) {
        bad(rd, -EINVAL, "%s: \"%s\" is not a string", where, k);
        return NULL;
    }
    if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
        bad(rd, -E2BIG, "%s: \"%s\" is longer than %zu bytes or holds a NUL", where, k, max);
        return NULL;
    }
    return json_string_value(v);
}

static int64_t num(struct rd *rd, json_t *o, const char *k, const char *where)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_integer(v)) {
        bad(rd, -EINVAL, "%s: \"%s\" is not an integer", where, k);
        return 0;
    }
    return (int64_t)json_integer_value(v);
}

static json_t *arr(struct rd *rd, json_t *o, const char *k, size_t max, const char *where)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_array(v)) {
        bad(rd, -EINVAL, "%s: \"%s\" is not an array", where, k);
        return NULL;
    }
    if (json_array_size(v) > max) {
        bad(rd, -E2BIG, "%s: \"%s\" has %zu elements, more than the %zu this checker takes", where,
            k, json_array_size(v), max);
        return NULL;
    }
    return v;
}

static void hexfield(struct rd *rd, json_t *o, const char *k, uint8_t *out, size_t n,
                     const char *where)
{
    const char *s = str(rd, o, k, 2 * n, 0, where);

    if (s && (strlen(s) != 2 * n || kf_hex_decode(s, out, n) != 0))
        bad(rd, -EINVAL, "%s: \"%s\" is not %zu hex digits", where, k, 2 * n);
}

static int name_of(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 1; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return 0;
}

static int term_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kf_bundle_terminal *)a)->asset,
                  ((const struct kf_bundle_terminal *)b)->asset);
}

static int svc_cmp(const void *a, const void *b)
{
    const struct kf_bundle_service *x = a, *y = b;

    return (x->from_ms > y->from_ms) - (x->from_ms < y->from_ms);
}

size_t kf_bundle_terminal(const struct kf_bundle *b, const char *asset)
{
    struct kf_bundle_terminal key = {.asset = asset}, *t;

    if (asset == NULL || b->n_terms == 0)
        return (size_t)-1;
    t = bsearch(&key, b->terms, b->n_terms, sizeof(key), term_cmp);
    return t ? (size_t)(t - b->terms) : (size_t)-1;
}

const struct kf_bundle_zone *kf_bundle_zone(const struct kf_bundle *b, const char *id)
{
    for (size_t i = 0; id && i < b->n_zones; i++)
        if (strcmp(b->zones[i].id, id) == 0)
            return &b->zones[i];
    return NULL;
}

static void read_terminal(struct rd *rd, json_t *o, struct kf_bundle_terminal *t, size_t i)
{
    char where[64];
    const char *kind;
    json_t *sv, *ids, *v;
    size_t k;

    snprintf(where, sizeof(where), "terminals[%zu]", i);
    if (!json_is_object(o)) {
        bad(rd, -EINVAL, "%s is not an object", where);
        return;
    }
    t->asset = str(rd, o, "asset", KF_TERMINAL_ID_MAX, 0, where);
    t->zone = str(rd, o, "zone", KF_TERMINAL_ID_MAX, 0, where);
    kind = str(rd, o, "kind", 8, 0, where);
    t->kind = kind && strcmp(kind, "itm") == 0     ? KF_TERMINAL_ITM
              : kind && strcmp(kind, "kiosk") == 0 ? KF_TERMINAL_KIOSK
                                                   : 0;
    if (rd->r == 0 && t->kind == 0)
        bad(rd, -EINVAL, "%s: kind \"%s\" is neither kiosk nor itm", where, kind);
    t->first_online_ms = num(rd, o, "first_online_ms", where);
    sv = arr(rd, o, "service", KF_BUNDLE_SERVICE_MAX, where);
    ids = arr(rd, o, "incidents", KF_BUNDLE_INCIDENTS_MAX, where);
    if (rd->r)
        return;
    t->svc = calloc(json_array_size(sv) + 1, sizeof(*t->svc));
    t->incs = calloc(json_array_size(ids) + 1, sizeof(*t->incs));
    if (t->svc == NULL || t->incs == NULL) {
        bad(rd, -ENOMEM, "out of memory");
        return;
    }
    json_array_foreach(sv, k, v)
    {
        struct kf_bundle_service *s = &t->svc[k];
        json_t *to = json_object_get(v, "to_ms");

        if (!json_is_object(v) || !json_is_boolean(json_object_get(v, "implicit")) ||
            (!json_is_null(to) && !json_is_integer(to))) {
            bad(rd, -EINVAL, "%s: service[%zu] is not {from_ms, to_ms, implicit, zone}", where, k);
            return;
        }
        s->from_ms = num(rd, v, "from_ms", where);
        s->to_ms = json_is_null(to) ? KF_TIME_NEVER : (int64_t)json_integer_value(to);
        s->implicit = json_is_true(json_object_get(v, "implicit"));
        s->zone = str(rd, v, "zone", KF_TERMINAL_ID_MAX, 0, where);
        if (rd->r == 0 && s->to_ms <= s->from_ms)
            bad(rd, -EINVAL, "%s: service[%zu] ends before it starts", where, k);
    }
    t->n_svc = json_array_size(sv);
    if (t->n_svc > 1)
        qsort(t->svc, t->n_svc, sizeof(*t->svc), svc_cmp);
    json_array_foreach(ids, k, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            (k > 0 && json_integer_value(v) <= t->incs[k - 1])) {
            bad(rd, -EINVAL, "%s: incidents must be ascending ids >= 1", where);
            return;
        }
        t->incs[k] = (int64_t)json_integer_value(v);
    }
    t->n_incs = json_array_size(ids);
}

static void read_entry(struct rd *rd, json_t *o, struct kf_bundle_entry *e, size_t i)
{
    char where[64];

    snprintf(where, sizeof(where), "log[%zu]", i);
    if (!json_is_object(o)) {
        bad(rd, -EINVAL, "%s is not an object", where);
        return;
    }
    e->seq = num(rd, o, "seq", where);
    e->at_ms = num(rd, o, "at_ms", where);
    e->actor = str(rd, o, "actor", 4096, 0, where);
    e->action = str(rd, o, "action", 4096, 0, where);
    e->subject = str(rd, o, "subject", 4096, 0, where);
    e->detail = str(rd, o, "detail", KF_BUNDLE_TEXT_MAX * 16, 0, where);
    hexfield(rd, o, "prev_hash", e->prev_hash, 32, where);
    hexfield(rd, o, "hash", e->hash, 32, where);
    hexfield(rd, o, "sig", e->sig, 64, where);
}

static void read_fact(struct rd *rd, const struct kf_bundle *b, json_t *o, struct kf_bundle_fact *f,
                      size_t i)
{
    static const char *const kinds[] = {"", "presence", "periph", "fault", "maint"};
    static const char *const srcs[] = {"", "connect", "will", "heartbeat"};
    const char *s, *code, *who;
    char where[64];
    int v = 0;

    snprintf(where, sizeof(where), "facts[%zu]", i);
    if (!json_is_object(o)) {
        bad(rd, -EINVAL, "%s is not an object", where);
        return;
    }
    f->id = num(rd, o, "id", where);
    f->recv_ms = num(rd, o, "recv_ms", where);
    f->asset = str(rd, o, "asset", KF_TERMINAL_ID_MAX, 0, where);
    f->device = str(rd, o, "device", KF_DEVICE_ID_MAX, 0, where);
    f->f.at_ms = num(rd, o, "at_ms", where);
    f->f.on = (uint8_t)(num(rd, o, "on", where) != 0);
    f->f.kind = (uint8_t)name_of(str(rd, o, "kind", 16, 0, where), kinds, 5);
    f->f.src = (uint8_t)name_of(str(rd, o, "src", 16, 1, where), srcs, 4);
    s = str(rd, o, "periph", 32, 1, where);
    if (s && kf_periph_parse(s, &v) == 0)
        f->f.periph = (uint8_t)v;
    else if (s)
        bad(rd, -EINVAL, "%s: periph \"%s\" unknown", where, s);
    s = str(rd, o, "sev", 16, 1, where);
    if (s && kf_severity_parse(s, &v) == 0)
        f->f.sev = (uint8_t)v;
    else if (s)
        bad(rd, -EINVAL, "%s: sev \"%s\" unknown", where, s);
    code = str(rd, o, "code", KF_FAULT_CODE_MAX, 0, where);
    who = str(rd, o, "who", KF_WHO_MAX, 0, where);
    if (json_is_integer(json_object_get(o, "seq")))
        f->seq = num(rd, o, "seq", where);
    else if (!json_is_null(json_object_get(o, "seq")) && json_object_get(o, "seq") != NULL)
        bad(rd, -EINVAL, "%s: \"seq\" is neither an integer nor null", where);
    if (rd->r == 0 && f->seq < 0)
        bad(rd, -EINVAL, "%s: \"seq\" is negative", where);
    if (json_object_get(o, "late") != NULL) /* the server's mark, not digested */
        f->f.late = (uint8_t)(num(rd, o, "late", where) != 0);
    if (rd->r)
        return;
    if (f->f.kind == 0)
        bad(rd, -EINVAL, "%s: kind unknown", where);
    snprintf(f->f.code, sizeof(f->f.code), "%s", code);
    snprintf(f->f.who, sizeof(f->f.who), "%s", who);
    f->term = kf_bundle_terminal(b, f->asset);
    if (rd->r == 0 && f->term == (size_t)-1)
        bad(rd, -EINVAL, "%s (id %lld): terminal %s is not one of the bundle's terminals", where,
            (long long)f->id, f->asset);
    if (rd->r == 0 && i > 0 && f->id <= f[-1].id)
        bad(rd, -EINVAL, "%s: fact ids are not ascending (%lld after %lld)", where,
            (long long)f->id, (long long)f[-1].id);
}

static void read_frame(struct rd *rd, json_t *o, struct kf_bundle_frame *f, size_t i)
{
    char where[64];
    const char *hex;
    int64_t ep;
    json_t *ks;

    snprintf(where, sizeof(where), "frames[%zu]", i);
    if (!json_is_object(o)) {
        bad(rd, -EINVAL, "%s is not an object", where);
        return;
    }
    f->device = str(rd, o, "device", KF_DEVICE_ID_MAX, 0, where);
    f->topic = str(rd, o, "topic", KF_TOPIC_MAX, 0, where);
    ep = num(rd, o, "key_epoch", where);
    f->recv_ms = num(rd, o, "recv_ms", where);
    ks = json_object_get(o, "key_signed");
    if (rd->r == 0 && !json_is_boolean(ks))
        bad(rd, -EINVAL, "%s: \"key_signed\" is not true or false", where);
    f->key_signed = json_is_true(ks);
    if (rd->r == 0 && (ep < 0 || ep > UINT32_MAX))
        bad(rd, -EINVAL, "%s: key_epoch %lld out of range", where, (long long)ep);
    f->key_epoch = (uint32_t)ep;
    if (rd->r == 0 && !json_is_null(json_object_get(o, "pk"))) {
        hexfield(rd, o, "pk", f->pk, 32, where);
        f->has_pk = 1;
    }
    hex = str(rd, o, "frame", 2 * (size_t)KF_ENV_MAX_BYTES, 0, where);
    if (rd->r)
        return;
    f->raw_len = strlen(hex) / 2;
    f->raw = malloc(f->raw_len + 1);
    if (f->raw == NULL) {
        bad(rd, -ENOMEM, "out of memory");
        return;
    }
    if (strlen(hex) % 2 != 0 || kf_hex_decode(hex, f->raw, f->raw_len) != 0)
        bad(rd, -EINVAL, "%s: \"frame\" is not hex", where);
}

/* One catalog item: {"code", "needs": [peripheral names]}. */
static void read_item(struct rd *rd, json_t *o, const char **code, uint32_t *needs, size_t i)
{
    char where[32];
    const char *names[32];
    json_t *a, *v;
    size_t k;

    snprintf(where, sizeof(where), "catalog[%zu]", i);
    if (!json_is_object(o)) {
        bad(rd, -EINVAL, "%s is not an object", where);
        return;
    }
    *code = str(rd, o, "code", KF_ITEM_CODE_MAX, 0, where);
    a = arr(rd, o, "needs", 32, where);
    if (rd->r)
        return;
    json_array_foreach(a, k, v)
    {
        names[k] = json_string_value(v); /* NULL for a non-string: refused below */
        if (names[k] == NULL) {
            bad(rd, -EINVAL, "%s: needs[%zu] is not a string", where, k);
            return;
        }
    }
    if (kf_devstate_needs_from_names(names, json_array_size(a), needs) < 0)
        bad(rd, -EINVAL, "%s: needs: an unknown peripheral", where);
}

static void read_strings(struct rd *rd, json_t *a, const char **out, size_t *lens, const char *what)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) > KF_BUNDLE_TEXT_MAX) {
            bad(rd, -EINVAL, "%s[%zu] is not a string of at most %zu bytes", what, i,
                KF_BUNDLE_TEXT_MAX);
            return;
        }
        out[i] = json_string_value(v);
        if (lens)
            lens[i] = json_string_length(v);
    }
}

int kf_bundle_parse(const char *data, size_t len, struct kf_bundle *b, char *err, size_t cap)
{
    struct rd rd = {err, cap, 0};
    json_error_t je;
    json_t *root, *cal, *con, *zon, *ter, *log, *fac, *frm = NULL, *cat = NULL, *v;
    const char *doc, *bill;
    size_t i;
    char day[16];
    int32_t d;

    memset(b, 0, sizeof(*b));
    err[0] = '\0';
    if (len > KF_BUNDLE_FILE_MAX) {
        snprintf(err, cap, "%zu bytes: more than the %zu this checker reads", len,
                 KF_BUNDLE_FILE_MAX);
        return -E2BIG;
    }
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(err, cap, "not JSON: line %d, column %d: %s", je.line, je.column, je.text);
        return -EINVAL;
    }
    b->root = root;
    if (!json_is_object(root)) {
        bad(&rd, -EINVAL, "not a JSON object");
        goto out;
    }
    doc = str(&rd, root, "doc", 64, 0, "bundle");
    if (rd.r == 0 && strcmp(doc, "kioskfleet.bundle/1") != 0)
        bad(&rd, -EINVAL, "doc \"%s\": not a kioskfleet.bundle/1", doc);
    bill = str(&rd, root, "bill", KF_BUNDLE_TEXT_MAX, 0, "bundle");
    hexfield(&rd, root, "bill_sig", b->bill_sig, 64, "bundle");
    b->bank = str(&rd, root, "bank", KF_CONTRACT_BANK_MAX, 0, "bundle");
    b->period = str(&rd, root, "period", 7, 0, "bundle");
    b->close_ms = num(&rd, root, "close_ms", "bundle");
    cal = arr(&rd, root, "calendars", KF_BUNDLE_CALENDARS_MAX, "bundle");
    con = arr(&rd, root, "contracts", KF_BUNDLE_CONTRACTS_MAX, "bundle");
    zon = arr(&rd, root, "zones", KF_BUNDLE_ZONES_MAX, "bundle");
    ter = arr(&rd, root, "terminals", KF_BUNDLE_TERMINALS_MAX, "bundle");
    log = arr(&rd, root, "log", KF_BUNDLE_LOG_MAX, "bundle");
    fac = arr(&rd, root, "facts", KF_BUNDLE_FACTS_MAX, "bundle");
    if (json_object_get(root, "frames") != NULL) /* absent: a bundle of before frames */
        frm = arr(&rd, root, "frames", KF_BUNDLE_FRAMES_MAX, "bundle");
    if (json_object_get(root, "catalog") != NULL) /* absent: a bundle of before the catalog */
        cat = arr(&rd, root, "catalog", KF_BUNDLE_ITEMS_MAX, "bundle");
    if (rd.r)
        goto out;
    b->bill = bill;
    b->bill_len = json_string_length(json_object_get(root, "bill"));
    snprintf(day, sizeof(day), "%s-01", b->period);
    if (strlen(b->period) != 7 || kf_day_parse(day, &d) < 0 ||
        sscanf(b->period, "%4d-%2d", &b->year, &b->month) != 2) {
        bad(&rd, -EINVAL, "period \"%s\" is not YYYY-MM", b->period);
        goto out;
    }
    b->calendars = calloc(json_array_size(cal) + 1, sizeof(*b->calendars));
    b->contracts = calloc(json_array_size(con) + 1, sizeof(*b->contracts));
    b->contract_len = calloc(json_array_size(con) + 1, sizeof(*b->contract_len));
    b->zones = calloc(json_array_size(zon) + 1, sizeof(*b->zones));
    b->terms = calloc(json_array_size(ter) + 1, sizeof(*b->terms));
    b->log = calloc(json_array_size(log) + 1, sizeof(*b->log));
    b->facts = calloc(json_array_size(fac) + 1, sizeof(*b->facts));
    if (!b->calendars || !b->contracts || !b->contract_len || !b->zones || !b->terms || !b->log ||
        !b->facts) {
        bad(&rd, -ENOMEM, "out of memory");
        goto out;
    }
    read_strings(&rd, cal, b->calendars, NULL, "calendars");
    b->n_calendars = json_array_size(cal);
    read_strings(&rd, con, b->contracts, b->contract_len, "contracts");
    b->n_contracts = json_array_size(con);
    json_array_foreach(zon, i, v)
    {
        char where[64];

        snprintf(where, sizeof(where), "zones[%zu]", i);
        if (!json_is_object(v)) {
            bad(&rd, -EINVAL, "%s is not an object", where);
            break;
        }
        b->zones[i].id = str(&rd, v, "id", KF_TERMINAL_ID_MAX, 0, where);
        b->zones[i].weekday = str(&rd, v, "weekday", 256, 1, where);
        b->zones[i].weekend = str(&rd, v, "weekend", 256, 1, where);
        b->zones[i].itm_hours = str(&rd, v, "itm_hours", 256, 1, where);
    }
    b->n_zones = json_array_size(zon);
    json_array_foreach(ter, i, v)
    {
        read_terminal(&rd, v, &b->terms[i], i);
        b->n_terms = i + 1; /* freed up to here on failure */
        if (rd.r)
            break;
    }
    if (rd.r)
        goto out;
    if (b->n_terms > 1)
        qsort(b->terms, b->n_terms, sizeof(*b->terms), term_cmp);
    for (i = 1; i < b->n_terms; i++)
        if (strcmp(b->terms[i - 1].asset, b->terms[i].asset) == 0) {
            bad(&rd, -EINVAL, "terminal %s is listed twice", b->terms[i].asset);
            goto out;
        }
    json_array_foreach(log, i, v)
    {
        read_entry(&rd, v, &b->log[i], i);
        if (rd.r == 0 && i > 0 && b->log[i].seq <= b->log[i - 1].seq)
            bad(&rd, -EINVAL, "log[%zu]: seq %lld does not follow %lld", i,
                (long long)b->log[i].seq, (long long)b->log[i - 1].seq);
        if (rd.r)
            goto out;
    }
    b->n_log = json_array_size(log);
    json_array_foreach(fac, i, v)
    {
        read_fact(&rd, b, v, &b->facts[i], i);
        if (rd.r)
            goto out;
    }
    b->n_facts = json_array_size(fac);
    b->frames = calloc(json_array_size(frm) + 1, sizeof(*b->frames));
    if (b->frames == NULL) {
        bad(&rd, -ENOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(frm, i, v)
    {
        read_frame(&rd, v, &b->frames[i], i);
        b->n_frames = i + 1; /* freed up to here on failure */
        if (rd.r)
            goto out;
    }
    b->item_codes = calloc(json_array_size(cat) + 1, sizeof(*b->item_codes));
    b->item_needs = calloc(json_array_size(cat) + 1, sizeof(*b->item_needs));
    if (b->item_codes == NULL || b->item_needs == NULL) {
        bad(&rd, -ENOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(cat, i, v)
    {
        read_item(&rd, v, &b->item_codes[i], &b->item_needs[i], i);
        if (rd.r == 0 && i > 0 && strcmp(b->item_codes[i - 1], b->item_codes[i]) >= 0)
            bad(&rd, -EINVAL, "catalog[%zu]: code %s does not follow %s", i, b->item_codes[i],
                b->item_codes[i - 1]);
        if (rd.r)
            goto out;
    }
    b->n_items = json_array_size(cat);
out:
    if (rd.r) {
        kf_bundle_free(b);
        return rd.r;
    }
    return 0;
}

void kf_bundle_free(struct kf_bundle *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; b->terms && i < b->n_terms; i++) {
        free(b->terms[i].svc);
        free(b->terms[i].incs);
    }
    free(b->terms);
    free(b->calendars);
    free(b->contracts);
    free(b->contract_len);
    free(b->zones);
    free(b->log);
    free(b->facts);
    for (size_t i = 0; b->frames && i < b->n_frames; i++)
        free(b->frames[i].raw);
    free(b->frames);
    free(b->item_codes);
    free(b->item_needs);
    json_decref(b->root);
    memset(b, 0, sizeof(*b));
}
