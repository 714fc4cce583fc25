/* record_int.h: what record.c (the schema, validation, jansson front end, formatting) and
 * record_lex.c (the byte parser) share: the flat object both front ends reduce a record to,
 * and the one builder that turns it into a struct kf_record, so that every path accepts
 * exactly the same records. Nothing else includes it.
 */
#ifndef KF_COMMON_RECORD_INT_H
#define KF_COMMON_RECORD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kf/record.h"

#define FLAT_KEYS_MAX 16 /* t, ts and at most 10 fields (health); more is refused anyway */
#define FLAT_KEY_MAX 15  /* the longest known key is 13 bytes */
#define FLAT_STR_BYTES (KF_RECORD_JSON_MAX + 1)

enum val_kind { V_STR, V_INT, V_BOOL, V_NULL };

struct pair {
    char key[FLAT_KEY_MAX + 1];
    enum val_kind kind;
    int64_t i;     /* V_INT; V_BOOL: 0 or 1 */
    const char *s; /* V_STR: NUL-terminated, in flat.str */
    size_t slen;
};

struct flat {
    size_t n, used;
    struct pair p[FLAT_KEYS_MAX];
    char str[FLAT_STR_BYTES];
};

/* A new pair for key (klen bytes); NULL when the object has too many keys, the key is too
 * long (so unknown), or it is a duplicate (refused, as JSON_REJECT_DUPLICATES does). */
struct pair *kf__record_add_pair(struct flat *o, const char *key, size_t klen);
/* The record o describes: 0, or -EBADMSG for any key, type or range the schema refuses,
 * with the first failing field and why in *why (may be NULL). */
int kf__record_build(const struct flat *o, struct kf_record *ret, struct kf_record_why *why);
/* Fill *why (may be NULL): field (copied as kf/record.h says) and a static reason. */
void kf__record_why(struct kf_record_why *why, const char *field, size_t len, const char *reason);

#endif
