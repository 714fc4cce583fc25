/* views/week_usage.c: the weekly report's usage, read once (views/week_int.h). A city's two
 * weeks are about a million rows of usage_daily summed by day, zone, asset and item
 * (BENCHMARKS.md): the rows are digested as the store gives them, in the usage text's own
 * order (rules/week.h, KF_WEEK_USAGE_HEAD), and summed by week, zone, asset and item for the
 * report's figures, which only tell the two weeks apart; neither the rows nor their text is
 * held. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/keyfile.h>
#include <kf/time.h>

#include "store/reports.h"
#include "views/week_int.h"

/* ---- The codes: the store's interned pointers, each copied once ------------------------ */

/* The store gives one pointer per code for the read (store/reports.h): a code is looked up by
 * its pointer, in a table small enough to stay in cache, and copied once; its id is dense. */
struct codes {
    const char **key; /* the store's pointers, by slot */
    uint32_t *id;     /* by slot: id + 1, 0 empty */
    size_t nslots;
    char **v; /* by id: our copies */
    size_t n, cap;
};

static uint64_t ptr_hash(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ULL;

    return h ^ (h >> 31);
}

static int codes_grow(struct codes *c)
{
    size_t n = c->nslots ? 2 * c->nslots : 1024, k;
    const char **key = calloc(n, sizeof(*key));
    uint32_t *id = calloc(n, sizeof(*id));

    if (!key || !id) {
        free(key);
        free(id);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->nslots; i++) {
        if (!c->id[i])
            continue;
        for (k = ptr_hash(c->key[i]) % n; id[k]; k = (k + 1) % n)
            ;
        key[k] = c->key[i];
        id[k] = c->id[i];
    }
    free(c->key);
    free(c->id);
    c->key = key;
    c->id = id;
    c->nslots = n;
    return 0;
}

/* The dense id of the store's code s, copied on first sight; -ENOMEM. */
static int64_t code_id(struct codes *c, const char *s)
{
    size_t k;

    if (2 * (c->n + 1) > c->nslots && codes_grow(c) < 0)
        return -ENOMEM;
    for (k = ptr_hash(s) % c->nslots; c->id[k]; k = (k + 1) % c->nslots)
        if (c->key[k] == s)
            return c->id[k] - 1;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        char **v = realloc(c->v, cap * sizeof(*v));

        if (v == NULL)
            return -ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    if ((c->v[c->n] = strdup(s)) == NULL)
        return -ENOMEM;
    c->key[k] = s;
    c->id[k] = (uint32_t)++c->n;
    return (int64_t)c->n - 1;
}

/* ---- The read ------------------------------------------------------------------------- */

/* The sums of one week, zone and asset: its rows by item id (row index + 1, 0 none). An
 * asset's rows of a day come together (the store's order), so the block is found once per
 * asset and day, and each row is then one index: no lookup per row over the whole table. */
struct block {
    uint32_t week, zone, asset; /* week 0: the previous, 1: this one */
    uint32_t *row;
    size_t cap;
};

struct read {
    struct kf__view_week_usage *u;
    struct codes codes;
    size_t cap_rows;
    struct block *blocks;
    size_t n_blocks, cap_blocks;
    uint32_t *bslots; /* block index + 1, 0 empty */
    size_t nbslots;
    struct block *last;
    int32_t first;                        /* the week's Monday */
    char (*drop)[KF_TERMINAL_ID_MAX + 1]; /* delisted zones left out */
    size_t n_drop;
    const char *last_zone; /* the store's pointer of the last zone looked at, and whether */
    int last_dropped;      /* it is left out */
    int32_t day_of_text;
    char day_text[16];
    crypto_generichash_state h;
    char prev[512], line[512];
    int err; /* -EINVAL: a field with a tab or a line break; -EDOM: rows out of order */
};

static uint64_t block_hash(uint32_t week, uint32_t zone, uint32_t asset)
{
    uint64_t h = ((uint64_t)week << 62 | (uint64_t)zone << 31 | asset) * 0x9E3779B97F4A7C15ULL;

    return h ^ (h >> 29);
}

static int blocks_grow(struct read *rd)
{
    size_t n = rd->nbslots ? 2 * rd->nbslots : 4096, k;
    uint32_t *slots = calloc(n, sizeof(*slots));

    if (slots == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < rd->n_blocks; i++) {
        const struct block *b = &rd->blocks[i];

        for (k = block_hash(b->week, b->zone, b->asset) % n; slots[k]; k = (k + 1) % n)
            ;
        slots[k] = (uint32_t)i + 1;
    }
    free(rd->bslots);
    rd->bslots = slots;
    rd->nbslots = n;
    return 0;
}

static struct block *block_of(struct read *rd, uint32_t week, uint32_t zone, uint32_t asset)
{
    struct block *b = rd->last;
    size_t k;

    if (b && b->week == week && b->zone == zone && b->asset == asset)
        return b;
    if (2 * (rd->n_blocks + 1) > rd->nbslots && blocks_grow(rd) < 0)
        return NULL;
    for (k = block_hash(week, zone, asset) % rd->nbslots; rd->bslots[k];
         k = (k + 1) % rd->nbslots) {
        b = &rd->blocks[rd->bslots[k] - 1];
        if (b->week == week && b->zone == zone && b->asset == asset)
            return rd->last = b;
    }
    if (rd->n_blocks == rd->cap_blocks) {
        size_t cap = rd->cap_blocks ? 2 * rd->cap_blocks : 1024;
        struct block *v = realloc(rd->blocks, cap * sizeof(*v));

        if (v == NULL)
            return NULL;
        rd->blocks = v;
        rd->cap_blocks = cap;
    }
    b = &rd->blocks[rd->n_blocks];
    *b = (struct block){week, zone, asset, NULL, 0};
    rd->bslots[k] = (uint32_t)++rd->n_blocks;
    return rd->last = b;
}

/* Add the row (day: the Monday of its week) to the week's sums. */
static int rows_add(struct read *rd, const struct kf_week_usage_in *r, uint32_t week, uint32_t zone,
                    uint32_t asset, uint32_t item)
{
    struct kf__view_week_usage *u = rd->u;
    struct block *b = block_of(rd, week, zone, asset);
    struct kf_week_usage_in *e;

    if (b == NULL)
        return -ENOMEM;
    if (item >= b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 128;
        uint32_t *v;

        while (cap <= item)
            cap *= 2;
        v = realloc(b->row, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        memset(v + b->cap, 0, (cap - b->cap) * sizeof(*v));
        b->row = v;
        b->cap = cap;
    }
    if (b->row[item]) {
        e = &u->rows[b->row[item] - 1];
        e->ok += r->ok;
        e->failed += r->failed;
        e->abandoned += r->abandoned;
        return 0;
    }
    if (u->n == rd->cap_rows) {
        size_t cap = rd->cap_rows ? 2 * rd->cap_rows : 4096;
        struct kf_week_usage_in *v = realloc(u->rows, cap * sizeof(*v));

        if (v == NULL)
            return -ENOMEM;
        u->rows = v;
        rd->cap_rows = cap;
    }
    u->rows[u->n] = *r;
    b->row[item] = (uint32_t)++u->n;
    return 0;
}

static int one_row(void *ud, const struct kf_reports_usage_ref *s)
{
    struct read *rd = ud;
    struct kf_week_usage_in r = {s->day, s->zone,   s->asset,    s->item,
                                 s->ok,  s->failed, s->abandoned};
    int64_t id[3];
    int n;

    if (s->zone != rd->last_zone) {
        rd->last_zone = s->zone;
        rd->last_dropped = 0;
        for (size_t i = 0; i < rd->n_drop; i++)
            rd->last_dropped |= strcmp(rd->drop[i], s->zone) == 0;
    }
    if (rd->last_dropped)
        return 0;
    if (s->day != rd->day_of_text) {
        kf_day_format(s->day, rd->day_text, sizeof(rd->day_text));
        rd->day_of_text = s->day;
    }
    /* The text's line; the text is sorted, and so must the rows be for the bytes to be the
     * text's (a code with a byte below '\t' could sort otherwise: refused, never digested
     * differently). */
    n = kf_week_usage_line(&r, rd->day_text, rd->line, sizeof(rd->line) - 1);
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
    id[0] = code_id(&rd->codes, s->zone);
    id[1] = code_id(&rd->codes, s->asset);
    id[2] = code_id(&rd->codes, s->item);
    if (id[0] < 0 || id[1] < 0 || id[2] < 0)
        return -ENOMEM;
    r.day = s->day >= rd->first ? rd->first : rd->first - 7;
    r.zone = rd->codes.v[id[0]];
    r.asset = rd->codes.v[id[1]];
    r.item = rd->codes.v[id[2]];
    return rows_add(rd, &r, s->day >= rd->first, (uint32_t)id[0], (uint32_t)id[1], (uint32_t)id[2]);
}

int kf__view_week_usage(struct kf_store *st, int32_t first, char (*drop)[KF_TERMINAL_ID_MAX + 1],
                        size_t n_drop, struct kf__view_week_usage *ret, char *err, size_t cap)
{
    static const char head[] = KF_WEEK_USAGE_HEAD "\n";
    struct read rd = {
        .u = ret, .first = first, .drop = drop, .n_drop = n_drop, .day_of_text = INT32_MIN};
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
    for (size_t i = 0; i < rd.n_blocks; i++)
        free(rd.blocks[i].row);
    free(rd.blocks);
    free(rd.bslots);
    ret->names = rd.codes.v;
    ret->n_names = rd.codes.n;
    free(rd.codes.key);
    free(rd.codes.id);
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
