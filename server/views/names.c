/* views/names.c: codes to names (views/names.h). */
#include "views/names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/query.h"

struct kf_view_names {
    struct kf_qtable *t[KF_NAMES_KINDS_]; /* (code, name), ordered by code */
    struct kf_qtable *families;           /* items' families: (code, family) */
};

void kf_view_names_free(struct kf_view_names *n)
{
    if (n == NULL)
        return;
    for (int k = 0; k < KF_NAMES_KINDS_; k++)
        kf_store_query_table_free(n->t[k]);
    kf_store_query_table_free(n->families);
    free(n);
}

int kf_view_names_load(struct kf_store *st, struct kf_view_names **ret)
{
    static const char *const kinds[KF_NAMES_KINDS_] = {"unit", "bank", "zone", "item", "family"};
    struct kf_view_names *n = calloc(1, sizeof(*n));
    int r = 0;

    if (n == NULL)
        return -ENOMEM;
    for (int k = 0; r == 0 && k < KF_NAMES_KINDS_; k++)
        r = kf_store_query_names(st, kinds[k], &n->t[k]);
    if (r == 0)
        r = kf_store_query_names(st, "item_family", &n->families);
    if (r < 0) {
        kf_view_names_free(n);
        return r;
    }
    *ret = n;
    return 0;
}

/* Binary search of a (code, value) table ordered by code (SQLite's binary collation is
 * strcmp's order). */
static const char *lookup(const struct kf_qtable *t, const char *code)
{
    size_t lo = 0, hi = t ? t->nrows : 0;

    if (code == NULL || code[0] == '\0')
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(code, kf_store_query_table_cell(t, mid, 0));

        if (c == 0)
            return kf_store_query_table_cell(t, mid, 1);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *kf_view_names_get(const struct kf_view_names *n, enum kf_view_names_kind kind,
                              const char *code)
{
    if (n == NULL || kind < 0 || kind >= KF_NAMES_KINDS_)
        return NULL;
    return lookup(n->t[kind], code);
}

const char *kf_view_names_item_family(const struct kf_view_names *n, const char *item)
{
    return n ? lookup(n->families, item) : NULL;
}
