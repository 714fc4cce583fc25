/* views/week_usage.c: the weekly report's usage, read once (views/week_int.h). A city's two
 * weeks are about a million rows of usage_daily summed by day, zone, asset and item
 * (BENCHMARKS.md): the rows are digested as the store gives them, in the usage text's own
 * order (rules/week.h, KF_WEEK_USAGE_HEAD), and summed by week, zone, asset and item for the
 * report's figures, which only tell the two weeks apart; neither the rows nor their text is
 * held. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/keyfile.h>

#include "store/reports.h"
#include "views/week_int.h"

/* ---- Interned codes: each zone, asset and item code once, for the whole read ---------- */

struct intern {
    char **v;
    size_t n, cap;
    uint32_t *slots; /* index + 1 into v, 0 empty */
    size_t nslots;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    while (*s)
        h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
    return h;
}

static const char *intern(struct intern *t, const char *s)
{
    size_t k;

    if (2 * (t->n + 1) > t->nslots) {
        size_t n = t->nslots ? 2 * t->nslots : 1024;
        uint32_t *slots = calloc(n, sizeof(*slots));

        if (slots == NULL)
            return NULL;
        for (size_t i = 0; i < t->n; i++) {
            for (k = fnv(t->v[i]) % n; slots[k]; k = (k + 1) % n)
                ;
            slots[k] = (uint32_t)i + 1;
        }
        free(t->slots);
        t->slots = slots;
        t->nslots = n;
    }
    for (k = fnv(s) % t->nslots; t->slots[k]; k = (k + 1) % t->nslots)
        if (strcmp(t->v[t->slots[k] - 1], s) == 0)
            return t->v[t->slots[k] - 1];
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        char **v = realloc(t->v, cap * sizeof(*v));

        if (v == NULL)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    if ((t->v[t->n] = strdup(s)) == NULL)
        return NULL;
    t->slots[k] = (uint32_t)++t->n;
    return t->v[t->n - 1];
}

/* ---- The read ------------------------------------------------------------------------- */

struct read {
    struct kf__view_week_usage *u;
    struct intern names;
    uint32_t *slots; /* index + 1 into u->rows, 0 empty */
    size_t nslots, cap;
    int32_t first;                        /* the week's Monday */
    char (*drop)[KF_TERMINAL_ID_MAX + 1]; /* delisted zones left out */
    size_t n_drop;
    crypto_generichash_state h;
    char prev[512], line[512];
    int err; /* -EINVAL: a field with a tab or a line break; -EDOM: rows out of order */
};

static uint64_t row_hash(const struct kf_week_usage_in *r)
{
    uint64_t h = (uint64_t)(uintptr_t)r->zone * 0x9E3779B97F4A7C15ULL;

    h = (h ^ (uint64_t)(uintptr_t)r->asset) * 0x9E3779B97F4A7C15ULL;
    h = (h ^ (uint64_t)(uintptr_t)r->item) * 0x9E3779B97F4A7C15ULL;
    return (h ^ (uint64_t)(uint32_t)r->day) * 0x9E3779B97F4A7C15ULL;
}

static int rows_grow(struct read *rd)
{
    struct kf__view_week_usage *u = rd->u;
    size_t n = rd->nslots ? 2 * rd->nslots : 4096, k;
    uint32_t *slots = calloc(n, sizeof(*slots));
    struct kf_week_usage_in *rows = realloc(u->rows, (n / 2) * sizeof(*rows));

    if (rows)
        u->rows = rows;
    if (slots == NULL || rows == NULL) {
        free(slots);
        return -ENOMEM;
    }
    for (size_t i = 0; i < u->n; i++) {
        for (k = row_hash(&u->rows[i]) % n; slots[k]; k = (k + 1) % n)
            ;
        slots[k] = (uint32_t)i + 1;
    }
    free(rd->slots);
    rd->slots = slots;
    rd->nslots = n;
    rd->cap = n / 2;
    return 0;
}

/* Add r (interned codes, day the Monday of its week) to the week's sums. */
static int rows_add(struct read *rd, const struct kf_week_usage_in *r)
{
    struct kf__view_week_usage *u = rd->u;
    struct kf_week_usage_in *e;
    size_t k;

    if (u->n + 1 > rd->cap && rows_grow(rd) < 0)
        return -ENOMEM;
    for (k = row_hash(r) % rd->nslots; rd->slots[k]; k = (k + 1) % rd->nslots) {
        e = &u->rows[rd->slots[k] - 1];
        if (e->day == r->day && e->zone == r->zone && e->asset == r->asset && e->item == r->item) {
            e->ok += r->ok;
            e->failed += r->failed;
            e->abandoned += r->abandoned;
            return 0;
        }
    }
    u->rows[u->n] = *r;
    rd->slots[k] = (uint32_t)++u->n;
    return 0;
}

static int one_row(void *ud, const struct kf_reports_usage *s)
{
    struct read *rd = ud;
    struct kf_week_usage_in r = {s->day, s->zone,   s->asset,    s->item,
                                 s->ok,  s->failed, s->abandoned};
    int n;

    for (size_t i = 0; i < rd->n_drop; i++)
        if (strcmp(rd->drop[i], s->zone) == 0)
            return 0;
    /* The text's line; the text is sorted, and so must the rows be for the bytes to be the
     * text's (a code with a byte below '\t' could sort otherwise: refused, never digested
     * differently). */
    n = kf_week_usage_line(&r, rd->line, sizeof(rd->line) - 1);
    if (n < 0) {
        rd->err = -EINVAL;
        return n;
    }
    if (strcmp(rd->prev, rd->line) > 0) {
        rd->err = -EDOM;
        return -EDOM;
    }
    memcpy(rd->prev, rd->line, (size_t)n + 1);
    rd->line[n] = '\n';
    crypto_generichash_update(&rd->h, (const unsigned char *)rd->line, (unsigned long long)n + 1);
    /* The figures tell the weeks apart only (rules/week.h: rows any order, by day). */
    r.day = s->day >= rd->first ? rd->first : rd->first - 7;
    r.zone = intern(&rd->names, s->zone);
    r.asset = intern(&rd->names, s->asset);
    r.item = intern(&rd->names, s->item);
    if (!r.zone || !r.asset || !r.item)
        return -ENOMEM;
    return rows_add(rd, &r);
}

int kf__view_week_usage(struct kf_store *st, int32_t first, char (*drop)[KF_TERMINAL_ID_MAX + 1],
                        size_t n_drop, struct kf__view_week_usage *ret, char *err, size_t cap)
{
    static const char head[] = KF_WEEK_USAGE_HEAD "\n";
    struct read rd = {.u = ret, .first = first, .drop = drop, .n_drop = n_drop};
    uint8_t h[32];
    int r;

    memset(ret, 0, sizeof(*ret));
    crypto_generichash_init(&rd.h, NULL, 0, sizeof(h));
    crypto_generichash_update(&rd.h, (const unsigned char *)head, sizeof(head) - 1);
    r = kf_store_reports_usage_each(st, first - 7, first + 6, one_row, &rd);
    if (r == 0) {
        crypto_generichash_final(&rd.h, h, sizeof(h));
        kf_hex_encode(h, sizeof(h), ret->hex, sizeof(ret->hex));
    } else if (rd.err == -EINVAL) {
        snprintf(err, cap, "usage: a text with a tab or a line break");
    } else if (rd.err == -EDOM) {
        snprintf(err, cap, "usage: rows not in the text's order (a code with a control byte?)");
    } else if (r == -ENOMEM) {
        snprintf(err, cap, "out of memory");
    } else {
        kf__view_fail(st, r, "usage", err, cap);
    }
    free(rd.slots);
    ret->names = rd.names.v;
    ret->n_names = rd.names.n;
    free(rd.names.slots);
    if (r < 0)
        kf__view_week_usage_close(ret);
    return r;
}

void kf__view_week_usage_close(struct kf__view_week_usage *u)
{
    for (size_t i = 0; i < u->n_names; i++)
        free(u->names[i]);
    free(u->names);
    free(u->rows);
    memset(u, 0, sizeof(*u));
}
