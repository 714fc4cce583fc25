/* rules/jsonr.h: reading a versioned data file (a contract, a rubric) field by field with
 * jansson, refusing with a message that names the field ("criteria[2].weight: must be
 * 1..1000"): a misspelt key is an error, not a default. Internal to kf_rules; pure. Each
 * returns 0 or -EINVAL with the message in err (errn bytes, NUL-terminated when errn > 0).
 */
#ifndef KF_RULES_JSONR_H
#define KF_RULES_JSONR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The message into err; returns -EINVAL. */
int kf__jr_fail(char *err, size_t errn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "lease" + "kiosk_fen" -> "lease.kiosk_fen"; "" + "bank" -> "bank". */
const char *kf__jr_field(char *buf, size_t n, const char *path, const char *key);
/* Refuse keys outside allowed (NULL-terminated). */
int kf__jr_only_keys(const json_t *o, const char *path, const char *const *allowed, char *err,
                     size_t errn);
/* o[key] of the JSON type (JSON_TRUE: a boolean); optional: *ret NULL when absent. */
int kf__jr_get(const json_t *o, const char *path, const char *key, int type, int optional,
               json_t **ret, char *err, size_t errn);
/* An integer in lo..hi. */
int kf__jr_get_int(const json_t *o, const char *path, const char *key, int64_t lo, int64_t hi,
                   int64_t *ret, char *err, size_t errn);
int kf__jr_get_i32(const json_t *o, const char *path, const char *key, int64_t lo, int64_t hi,
                   int32_t *ret, char *err, size_t errn);
/* A string of 1..max bytes without control characters into buf (max + 1 bytes). */
int kf__jr_get_str(const json_t *o, const char *path, const char *key, size_t max, int optional,
                   char *buf, int *ret_has, char *err, size_t errn);

/* A date "YYYY-MM-DD" as local days since 1970; nullable: null is KF__JR_DAY_OPEN (an
 * open-ended version's effective_to). */
#define KF__JR_DAY_OPEN INT32_MAX
int kf__jr_get_day(const json_t *o, const char *key, int nullable, int32_t *ret, char *err,
                   size_t errn);
/* A versioned file's text parsed, at most max bytes, duplicate keys refused (two prices for
 * one field would leave the reader to guess); NULL with the message in err ("a contract is
 * at most N bytes", "line 3: ..."). */
json_t *kf__jr_load(const char *text, size_t len, size_t max, const char *what, char *err,
                    size_t errn);

#endif
