/* views/timeline.c: a terminal's facts as the "timeline" table (views/timeline.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>

#include "views/timeline.h"

static const char *const cols[] = {"at",      "kind",     "periph", "code", "value",
                                   "state",   "sev",      "source", "who",  "device",
                                   "initial", "received", NULL};
static const char types[] = "txxxxxxxxxbT";

static const char *opt(const char *s)
{
    return s && *s ? s : NULL;
}

/* The value in words, by kind; NULL for a kind this view does not know. */
static const char *value_word(const struct kf_timeline_fact *f)
{
    static const struct {
        const char *kind, *off, *on;
    } words[] = {{"presence", "offline", "online"},
                 {"periph", "unusable", "usable"},
                 {"fault", "cleared", "raised"},
                 {"maint", "off", "on"}};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(f->kind, words[i].kind) == 0)
            return f->value ? words[i].on : words[i].off;
    return NULL;
}

static int add_fact(struct kf_qtable *t, const struct kf_timeline_fact *f, int initial)
{
    char at[24], recv[24];
    const char *cells[12];

    snprintf(at, sizeof(at), "%lld", (long long)f->at_ms);
    snprintf(recv, sizeof(recv), "%lld", (long long)f->recv_ms);
    cells[0] = at;
    cells[1] = f->kind;
    cells[2] = opt(f->periph);
    cells[3] = opt(f->code);
    cells[4] = value_word(f);
    cells[5] = opt(f->state);
    cells[6] = opt(f->sev);
    cells[7] = opt(f->src);
    cells[8] = opt(f->who);
    cells[9] = opt(f->device_id);
    cells[10] = initial ? "1" : "0";
    cells[11] = recv;
    return kf_store_query_table_add_row(t, cells);
}

struct kf_qtable *kf_view_timeline_table(const struct kf_timeline_fact *before, size_t nb,
                                         const struct kf_timeline_fact *facts, size_t n, int cut)
{
    struct kf_qtable *t = kf_store_query_table_new("timeline", "states over time", cols, types);

    for (size_t i = 0; t && i < nb; i++)
        if (add_fact(t, &before[i], 1) < 0)
            goto fail;
    if (t && cut && n > 0) {
        char at[24];
        const char *cells[12] = {at, "cut"};

        snprintf(at, sizeof(at), "%lld", (long long)facts[0].at_ms);
        cells[10] = "0";
        if (kf_store_query_table_add_row(t, cells) < 0)
            goto fail;
    }
    for (size_t i = 0; t && i < n; i++)
        if (add_fact(t, &facts[i], 0) < 0)
            goto fail;
    return t;
fail:
    kf_store_query_table_free(t);
    return NULL;
}

int kf_view_timeline(struct kf_store *st, const char *asset_id, int64_t from_ms, int64_t to_ms,
                     size_t max, struct kf_qtable **ret, char *err, size_t cap)
{
    struct kf_timeline_fact *b = NULL, *f = NULL;
    struct kf_qtable *t;
    size_t nb = 0, n = 0;
    int cut = 0, r;

    r = kf_store_timeline_before(st, asset_id, from_ms, max, &b, &nb);
    if (r == 0)
        r = kf_store_timeline_facts(st, asset_id, from_ms, to_ms, max, &f, &n, &cut);
    if (r < 0) {
        free(b);
        snprintf(err, cap, "%s", kf_store_errmsg(st));
        return r;
    }
    t = kf_view_timeline_table(b, nb, f, n, cut);
    free(b);
    free(f);
    if (!t) {
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    *ret = t;
    return 0;
}
