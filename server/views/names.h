/* views/names.h: the names beside the codes. Read models that hold codes (an SLA terminal
 * knows its zone and bank by code) look the names up here, so that every table a person
 * reads shows a bank, zone, unit, item or family by its code and its name
 * (docs/KIOSKCTL.md, "Codes and names"). Loaded once from the store; same threading rule
 * as store.h for the load, any thread after.
 */
#ifndef KF_VIEWS_NAMES_H
#define KF_VIEWS_NAMES_H

#include "store/store.h"

enum kf_view_names_kind {
    KF_NAMES_UNIT,
    KF_NAMES_BANK,
    KF_NAMES_ZONE,
    KF_NAMES_ITEM,
    KF_NAMES_FAMILY,
    KF_NAMES_KINDS_,
};

struct kf_view_names;

/* Every code and name of every kind. 0 or a negative errno (details in kf_store_errmsg).
 * *ret owned: kf_view_names_free. */
int kf_view_names_load(struct kf_store *st, struct kf_view_names **ret);
void kf_view_names_free(struct kf_view_names *n); /* NULL is a no-op */
/* The name of code (borrowed from n), or NULL for a code the catalog does not know (and
 * for a NULL or empty code). */
const char *kf_view_names_get(const struct kf_view_names *n, enum kf_view_names_kind kind,
                              const char *code);
/* An item's family code (borrowed), or NULL. */
const char *kf_view_names_item_family(const struct kf_view_names *n, const char *item);

#endif
