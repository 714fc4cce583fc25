/* store/sqlite/reports.c: the bureau's reports' reads (store/reports.h). Nothing here is on
 * the ingest path: statements are prepared per call. The usage figures come from
 * usage_daily alone (as every usage figure does, docs/STORE.md), read by its key's first
 * column, the day. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/reports.h"
#include "store/sqlite/int.h"

/* ---- Names ------------------------------------------------------------------------------------
 */

static int name_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_reports_name *n = row;

    (void)st;
    kf__store_col_copy(n->code, sizeof(n->code), s, 0);
    kf__store_col_copy(n->name, sizeof(n->name), s, 1);
    kf__store_col_copy(n->family, sizeof(n->family), s, 2);
    return 0;
}

int kf_store_reports_names(struct kf_store *st, const char *kind, struct kf_reports_name **ret,
                           size_t *ret_n)
{
    static const struct {
        const char *kind, *sql;
    } q[] = {
        {"unit", "SELECT code, name, NULL FROM units ORDER BY code"},
        {"bank", "SELECT code, name, NULL FROM banks ORDER BY code"},
        {"family", "SELECT code, name, NULL FROM families ORDER BY code"},
        {"item", "SELECT code, name, family FROM items ORDER BY code"},
    };
    sqlite3_stmt *s = NULL;
    int r;

    for (size_t i = 0; kind && i < sizeof(q) / sizeof(q[0]); i++) {
        if (strcmp(kind, q[i].kind) != 0)
            continue;
        r = kf__store_prep(st, q[i].sql, &s);
        if (r < 0)
            return r;
        return kf__store_rows(st, s, sizeof(**ret), name_fill, kind, (void **)ret, ret_n);
    }
    kf__store_seterr(st, "no names of kind %s", kind ? kind : "(null)");
    return -EINVAL;
}

/* ---- Zones ------------------------------------------------------------------------------------
 */

/* zones.hours ({"weekday": spec, "weekend": spec|null}) and itm_hours -> the weeks of the
 * zone's kiosks and ITMs, as the SLA reads them (store/sqlite/sla_admin.c). */
static int zone_weeks(const char *hours_json, const char *itm_hours, struct kf_reports_zone *z)
{
    json_error_t jerr;
    json_t *h = json_loads(hours_json, 0, &jerr);
    json_t *wd = json_object_get(h, "weekday"), *we = json_object_get(h, "weekend");
    const char *wds = json_string_value(wd),
               *wes = json_is_string(we) ? json_string_value(we) : NULL;
    int r = -EINVAL;

    if (json_is_string(wd) && (we == NULL || json_is_string(we) || json_is_null(we)) &&
        kf_calendar_week_for_terminal(wds, wes, itm_hours, 0, &z->kiosk_week) == 0 &&
        kf_calendar_week_for_terminal(wds, wes, itm_hours, 1, &z->itm_week) == 0)
        r = 0;
    json_decref(h);
    return r;
}

static int zone_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_reports_zone *z = row;

    kf__store_col_copy(z->id, sizeof(z->id), s, 0);
    kf__store_col_copy(z->name, sizeof(z->name), s, 1);
    kf__store_col_copy(z->branch, sizeof(z->branch), s, 2);
    kf__store_col_copy(z->unit, sizeof(z->unit), s, 3);
    kf__store_col_copy(z->bank, sizeof(z->bank), s, 4);
    z->kiosks = sqlite3_column_int64(s, 5);
    z->itms = sqlite3_column_int64(s, 6);
    if (zone_weeks(kf__store_col_text(s, 7),
                   sqlite3_column_type(s, 8) == SQLITE_NULL ? NULL : kf__store_col_text(s, 8),
                   z) < 0) {
        kf__store_seterr(st, "zone %s: its hours are not valid opening hours (docs/SLA.md 2.1)",
                         z->id);
        return -EINVAL;
    }
    return 0;
}

int kf_store_reports_zones(struct kf_store *st, struct kf_reports_zone **ret, size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    int r = kf__store_prep(st,
                           "SELECT id, name, branch, unit, bank, kiosks, itms, hours, itm_hours"
                           " FROM zones ORDER BY id",
                           &s);

    if (r < 0)
        return r;
    return kf__store_rows(st, s, sizeof(**ret), zone_fill, "zones", (void **)ret, ret_n);
}

/* ---- Usage ------------------------------------------------------------------------------------
 */

/* A day's rows are summed by (zone, asset, item) over the day's devices: usage_daily is keyed
 * (day, device, zone, item), and an asset may have had several devices. Each column's codes
 * are interned once (dense ids per column); a day's sums sit in a block per (zone, asset),
 * indexed by item id: a device's rows come together, so the block is found once per device
 * and day and each row is one index, not a lookup over the day's ~70,000 sums (that lookup
 * was a fifth of the weekly report's time, all cache misses). When the day ends its blocks
 * are put in order by the ranks of their zone and asset names (byte order) and each block's
 * items read in the items' rank order. */
struct usage_names {
    char **names;    /* by id */
    uint32_t *rank;  /* by id: the name's place in byte order, valid when !stale */
    uint32_t *order; /* ids by rank, valid when !stale */
    uint32_t *slots; /* open addressing: id + 1, 0 empty */
    size_t n, cap, nslots;
    int stale;
};

struct usage_block {
    uint32_t zone, asset;
    uint32_t *row; /* by item id: index + 1 into the day's sums, 0 none */
    size_t cap;
    int32_t day; /* the last day it was touched on */
};

struct usage_sum {
    int64_t ok, failed, abandoned;
};

struct usage_read {
    struct usage_names col[3]; /* zone, asset, item */
    struct usage_block *b;
    size_t nb, capb;
    uint32_t *bslots; /* block index + 1, 0 empty */
    size_t nbslots;
    uint32_t *touched; /* the day's blocks */
    size_t nt, capt;
    struct usage_sum *e; /* the day's sums */
    size_t n, cap;
};

static uint64_t fnv(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
    return h;
}

static int names_grow(struct usage_names *t)
{
    size_t n = t->nslots ? 2 * t->nslots : 1024;
    uint32_t *slots = calloc(n, sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    for (size_t i = 0; i < t->n; i++) {
        size_t k = fnv(t->names[i], strlen(t->names[i])) % n;

        while (slots[k])
            k = (k + 1) % n;
        slots[k] = (uint32_t)i + 1;
    }
    return 0;
}

/* The id of s (len bytes), interned if new; -ENOMEM. */
static int64_t names_id(struct usage_names *t, const char *s, size_t len)
{
    size_t k;

    if (2 * (t->n + 1) > t->nslots && names_grow(t) < 0)
        return -ENOMEM;
    for (k = fnv(s, len) % t->nslots; t->slots[k]; k = (k + 1) % t->nslots) {
        const char *e = t->names[t->slots[k] - 1];

        if (strncmp(e, s, len) == 0 && e[len] == '\0')
            return t->slots[k] - 1;
    }
    if (t->n >= UINT32_MAX - 1)
        return -EOVERFLOW;
    if (kf__store_grow((void **)&t->names, &t->cap, t->n, sizeof(*t->names)) < 0 ||
        (t->names[t->n] = strndup(s, len)) == NULL)
        return -ENOMEM;
    t->slots[k] = (uint32_t)t->n + 1;
    t->stale = 1;
    return (int64_t)t->n++;
}

static int id_cmp(const void *x, const void *y, void *names)
{
    char *const *v = names;

    return strcmp(v[*(const uint32_t *)x], v[*(const uint32_t *)y]);
}

static int names_rank(struct usage_names *t)
{
    uint32_t *order, *rank;

    if (!t->stale)
        return 0;
    order = realloc(t->order, (t->n + 1) * sizeof(*order));
    if (order)
        t->order = order;
    rank = realloc(t->rank, (t->n + 1) * sizeof(*rank));
    if (rank)
        t->rank = rank;
    if (!order || !rank)
        return -ENOMEM;
    for (size_t i = 0; i < t->n; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, t->n, sizeof(*order), id_cmp, t->names);
    for (size_t i = 0; i < t->n; i++)
        rank[order[i]] = (uint32_t)i;
    t->stale = 0;
    return 0;
}

static void names_free(struct usage_names *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->rank);
    free(t->order);
    free(t->slots);
}

static uint64_t block_hash(uint32_t zone, uint32_t asset)
{
    uint64_t h = ((uint64_t)zone << 32 | asset) * 0x9E3779B97F4A7C15ULL;

    return h ^ (h >> 29);
}

static int blocks_grow(struct usage_read *u)
{
    size_t n = u->nbslots ? 2 * u->nbslots : 4096, k;
    uint32_t *slots = calloc(n, sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < u->nb; i++) {
        for (k = block_hash(u->b[i].zone, u->b[i].asset) % n; slots[k]; k = (k + 1) % n)
            ;
        slots[k] = (uint32_t)i + 1;
    }
    free(u->bslots);
    u->bslots = slots;
    u->nbslots = n;
    return 0;
}

/* The block of (zone, asset), made if new; its index, or -ENOMEM. */
static int64_t block_of(struct usage_read *u, uint32_t zone, uint32_t asset)
{
    size_t k;

    if (2 * (u->nb + 1) > u->nbslots && blocks_grow(u) < 0)
        return -ENOMEM;
    for (k = block_hash(zone, asset) % u->nbslots; u->bslots[k]; k = (k + 1) % u->nbslots) {
        const struct usage_block *b = &u->b[u->bslots[k] - 1];

        if (b->zone == zone && b->asset == asset)
            return u->bslots[k] - 1;
    }
    if (kf__store_grow((void **)&u->b, &u->capb, u->nb, sizeof(*u->b)) < 0)
        return -ENOMEM;
    u->b[u->nb] = (struct usage_block){zone, asset, NULL, 0, INT32_MIN};
    u->bslots[k] = (uint32_t)u->nb + 1;
    return (int64_t)u->nb++;
}

/* Add a row of day to block bi's item. */
static int day_add(struct usage_read *u, size_t bi, int32_t day, uint32_t item, int64_t ok,
                   int64_t failed, int64_t abandoned)
{
    struct usage_block *b = &u->b[bi];
    struct usage_sum *e;

    if (b->day != day) {
        if (kf__store_grow((void **)&u->touched, &u->capt, u->nt, sizeof(*u->touched)) < 0)
            return -ENOMEM;
        u->touched[u->nt++] = (uint32_t)bi;
        b->day = day;
    }
    if (item >= b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 128;
        uint32_t *v;

        while (cap <= item)
            cap *= 2;
        v = realloc(b->row, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        memset(v + b->cap, 0, (cap - b->cap) * sizeof(*v));
        b->row = v;
        b->cap = cap;
    }
    if (b->row[item] == 0) {
        if (kf__store_grow((void **)&u->e, &u->cap, u->n, sizeof(*u->e)) < 0)
            return -ENOMEM;
        u->e[u->n] = (struct usage_sum){0, 0, 0};
        b->row[item] = (uint32_t)++u->n;
    }
    e = &u->e[b->row[item] - 1];
    e->ok += ok;
    e->failed += failed;
    e->abandoned += abandoned;
    return 0;
}

static int block_cmp(const void *x, const void *y, void *ud)
{
    const struct usage_read *u = ud;
    const struct usage_block *a = &u->b[*(const uint32_t *)x], *b = &u->b[*(const uint32_t *)y];
    uint32_t za = u->col[0].rank[a->zone], zb = u->col[0].rank[b->zone];
    uint32_t aa = u->col[1].rank[a->asset], ab = u->col[1].rank[b->asset];

    if (za != zb)
        return za < zb ? -1 : 1;
    return (aa > ab) - (aa < ab);
}

/* The day's sums in order, to cb; the day emptied. */
static int day_emit(struct usage_read *u, int32_t day, kf_reports_usage_cb cb, void *ud)
{
    const struct usage_names *items = &u->col[2];
    int r = 0;

    for (int c = 0; r == 0 && c < 3; c++)
        r = names_rank(&u->col[c]);
    if (r < 0)
        return r;
    if (u->nt > 1)
        qsort_r(u->touched, u->nt, sizeof(*u->touched), block_cmp, u);
    for (size_t i = 0; r == 0 && i < u->nt; i++) {
        struct usage_block *b = &u->b[u->touched[i]];

        for (size_t k = 0; k < items->n; k++) {
            uint32_t it = items->order[k];
            const struct usage_sum *e;

            if (it >= b->cap || b->row[it] == 0)
                continue;
            e = &u->e[b->row[it] - 1];
            b->row[it] = 0;
            if (r == 0)
                r = cb(ud, &(struct kf_reports_usage_ref){
                               day, u->col[0].names[b->zone], u->col[1].names[b->asset],
                               items->names[it], e->ok, e->failed, e->abandoned});
        }
    }
    u->nt = 0;
    u->n = 0;
    return r;
}

int kf_store_reports_usage_each(struct kf_store *st, int32_t from_day, int32_t to_day,
                                kf_reports_usage_cb cb, void *ud)
{
    struct usage_read u = {0};
    sqlite3_stmt *s = NULL;
    uint32_t prev[3] = {0, 0, 0};
    int64_t bi = -1;
    int have_prev = 0;
    int32_t day = 0;
    int rc, r = kf__store_prep(st,
                               "SELECT day, zone_id, asset_id, item, ok, failed, abandoned"
                               " FROM usage_daily WHERE day BETWEEN ?1 AND ?2",
                               &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, from_day);
    sqlite3_bind_int64(s, 2, to_day);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int32_t row_day = (int32_t)sqlite3_column_int64(s, 0);
        uint32_t id[3];
        int same = have_prev;

        if (u.nt > 0 && row_day != day && (r = day_emit(&u, day, cb, ud)) < 0)
            goto out;
        day = row_day;
        for (int c = 0; c < 3; c++) {
            /* Truncated to what a row holds, as kf__store_col_copy does. A device's rows
             * come together: its zone and asset are the previous row's, looked up once. */
            const char *v = kf__store_col_text(s, c + 1);
            size_t len = strlen(v), max = c == 2 ? KF_ITEM_CODE_MAX : KF_TERMINAL_ID_MAX;
            int64_t x;

            len = len < max ? len : max;
            if (have_prev && strncmp(u.col[c].names[prev[c]], v, len) == 0 &&
                u.col[c].names[prev[c]][len] == '\0') {
                id[c] = prev[c];
                continue;
            }
            same &= c == 2;
            x = names_id(&u.col[c], v, len);
            if (x < 0) {
                r = (int)x;
                goto out;
            }
            id[c] = prev[c] = (uint32_t)x;
        }
        have_prev = 1;
        if (!same && (bi = block_of(&u, id[0], id[1])) < 0) {
            r = (int)bi;
            goto out;
        }
        r = day_add(&u, (size_t)bi, day, id[2], sqlite3_column_int64(s, 4),
                    sqlite3_column_int64(s, 5), sqlite3_column_int64(s, 6));
        if (r < 0)
            goto out;
    }
    if (rc != SQLITE_DONE) {
        r = kf__store_sql_fail(st, rc, "usage");
        goto out;
    }
    if (u.nt > 0)
        r = day_emit(&u, day, cb, ud);
out:
    if (r == -EOVERFLOW)
        kf__store_seterr(st, "usage: too many distinct codes in one read");
    sqlite3_finalize(s);
    for (int c = 0; c < 3; c++)
        names_free(&u.col[c]);
    for (size_t i = 0; i < u.nb; i++)
        free(u.b[i].row);
    free(u.b);
    free(u.bslots);
    free(u.touched);
    free(u.e);
    return r;
}

struct usage_rows {
    struct kf_reports_usage *v;
    size_t n, cap;
};

static int usage_keep(void *ud, const struct kf_reports_usage_ref *u)
{
    struct usage_rows *a = ud;
    struct kf_reports_usage *v;

    if (kf__store_grow((void **)&a->v, &a->cap, a->n, sizeof(*a->v)) < 0)
        return -ENOMEM;
    v = &a->v[a->n++];
    memset(v, 0, sizeof(*v));
    v->day = u->day;
    /* Interned cut to these lengths already. */
    memcpy(v->zone, u->zone, strlen(u->zone));
    memcpy(v->asset, u->asset, strlen(u->asset));
    memcpy(v->item, u->item, strlen(u->item));
    v->ok = u->ok;
    v->failed = u->failed;
    v->abandoned = u->abandoned;
    return 0;
}

int kf_store_reports_usage(struct kf_store *st, int32_t from_day, int32_t to_day,
                           struct kf_reports_usage **ret, size_t *ret_n)
{
    struct usage_rows a = {0};
    int r = kf_store_reports_usage_each(st, from_day, to_day, usage_keep, &a);

    if (r < 0) {
        free(a.v);
        return r;
    }
    *ret = a.v;
    *ret_n = a.n;
    return 0;
}

/* ---- Presence ---------------------------------------------------------------------------------
 */

static int asset_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    (void)st;
    kf__store_col_copy(row, KF_TERMINAL_ID_MAX + 1, s, 0);
    return 0;
}

int kf_store_reports_online(struct kf_store *st, int64_t from_ms, int64_t to_ms,
                            char (**ret)[KF_TERMINAL_ID_MAX + 1], size_t *ret_n)
{
    sqlite3_stmt *s = NULL;
    /* Facts are taken in commit order (docs/SLA.md 10.1): the state at the period's start is
     * the last presence fact before it. */
    int r = kf__store_prep(st,
                           "SELECT asset_id FROM sla_facts WHERE kind = 'presence' AND value = 1"
                           " AND at_ms >= ?1 AND at_ms < ?2"
                           " UNION SELECT f.asset_id FROM sla_facts f JOIN"
                           " (SELECT max(id) AS id FROM sla_facts WHERE kind = 'presence'"
                           "  AND at_ms < ?1 GROUP BY asset_id) l ON f.id = l.id"
                           " WHERE f.value = 1 ORDER BY 1",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_int64(s, 1, from_ms);
    sqlite3_bind_int64(s, 2, to_ms);
    return kf__store_rows(st, s, sizeof(**ret), asset_fill, "presence", (void **)ret, ret_n);
}
