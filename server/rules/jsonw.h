/* rules/jsonw.h: a small compact JSON writer for the canonical documents of the rules
 * (a contract's canonical form, a bill). Why not jansson's dumper: the bytes of these
 * documents are what digests and signatures cover, so their key order, integer forms and
 * escapes are written out here, once, and cannot move with a library's defaults. The
 * output matches jansson's JSON_COMPACT | JSON_PRESERVE_ORDER dump of the same tree.
 * Internal to kf_rules. Not thread-safe per writer; any thread.
 */
#ifndef KF_RULES_JSONW_H
#define KF_RULES_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define KF__JW_DEPTH 8

struct kf__jw {
    char *buf;
    size_t len, cap;
    int err; /* first error (-ENOMEM, -EINVAL); later calls do nothing */
    int depth;
    unsigned char n[KF__JW_DEPTH]; /* values written at each level (0 or 1 is enough) */
    int after_key;
};

void kf__jw_init(struct kf__jw *w);
void kf__jw_obj(struct kf__jw *w);         /* { */
void kf__jw_arr(struct kf__jw *w);         /* [ */
void kf__jw_end(struct kf__jw *w, char c); /* '}' or ']' */
void kf__jw_key(struct kf__jw *w, const char *k);
void kf__jw_str(struct kf__jw *w, const char *s); /* NULL writes null */
void kf__jw_int(struct kf__jw *w, int64_t v);
void kf__jw_null(struct kf__jw *w);
void kf__jw_bool(struct kf__jw *w, int v);
/* key: a local day as "YYYY-MM-DD", or null for INT32_MAX (an open end, KF__JR_DAY_OPEN). */
void kf__jw_day(struct kf__jw *w, const char *key, int32_t day);
/* The text, NUL-terminated: *ret owned (free). 0 or the first error (the buffer is freed). */
int kf__jw_finish(struct kf__jw *w, char **ret);

#endif
