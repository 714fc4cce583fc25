/* kf/conf.h: one INI engine for every program's configuration file, driven by tables.
 *
 * Each subsystem describes its own section from its own file (h2o's configurator style): a
 * static table of keys (name, type, where the field is in the subsystem's struct, bounds,
 * default, flags) and a struct kf_conf_section tying that table to the struct the offsets
 * point into, plus an optional check of the section's cross-key rules. A program collects
 * the sections of the subsystems it runs and loads one file over them; its own code never
 * learns a key.
 *
 * A load, in order:
 *   1. defaults: every key's field is zeroed, then set from its default (a default is text,
 *      parsed like a value from the file, so it obeys the same bounds);
 *   2. the file (inih): each key is parsed by its type into its field and bounds-checked;
 *      an unknown section, an unknown key, a key given twice, a value that does not parse
 *      or is out of bounds, and a syntax error are errors;
 *   3. required keys (KF_CONF_REQUIRED) that were not given are errors;
 *   4. each section's check, in the order the sections were given.
 * Then the caller may check rules across sections with kf_conf_line and kf_conf_fail.
 *
 * Errors: the first one is kept, as one line, "file:line: message" where a line applies,
 * "file: message" otherwise, in the err buffer given to kf_conf_new. Messages name the key
 * as "[section] key". Fields of a failed load hold partial values: load into a scratch
 * struct and copy it out on success.
 *
 * Ownership: kf_conf_new borrows the sections array, each key table and each base (the
 * struct the offsets point into) and err, for the life of the struct kf_conf; nothing is
 * allocated into a base (strings are fixed buffers in it).
 * Threads: any. No globals: loads in several threads at once are fine as long as they
 * share no struct kf_conf and no base (a base written by two loads at once is a race, and
 * so one section may be loaded by one thread at a time).
 */
#ifndef KF_CONF_H
#define KF_CONF_H

#include <stddef.h>
#include <stdint.h>

enum kf_conf_type {
    KF_CONF_STR,       /* char[size]: at most size - 1 bytes, copied */
    KF_CONF_PATH,      /* char[size]: not empty; a relative path is taken relative to the
                        * directory of the file (defaults are taken as they are) */
    KF_CONF_INT,       /* int, decimal with an optional sign, within [min, max] */
    KF_CONF_U32,       /* uint32_t, decimal digits only, within [umin, umax] */
    KF_CONF_U64,       /* uint64_t, decimal digits only, within [umin, umax] */
    KF_CONF_LOG_LEVEL, /* int or enum kf_log_level: err, warning, notice, info or debug */
    KF_CONF_CUSTOM,    /* parse() decides: anything a subsystem needs of its own */
};

/* The key must be given in the file. */
#define KF_CONF_REQUIRED 0x1u

/* A KF_CONF_CUSTOM value: write field (size bytes) from value. Returns 0, or a negative
 * errno with the reason (without the key's name: the engine adds it) in err (errcap bytes,
 * at least 1). Called for defaults too. Must not keep value. */
typedef int (*kf_conf_parse_cb)(const char *value, void *field, size_t size, char *err,
                                size_t errcap);

/* One row of a section's table. Build rows with the KF_CONF_KEY_* macros below. */
struct kf_conf_key {
    const char *name;
    enum kf_conf_type type;
    size_t offset;          /* of the field in the section's base struct */
    size_t size;            /* of the field */
    int64_t min, max;       /* KF_CONF_INT */
    uint64_t umin, umax;    /* KF_CONF_U32, KF_CONF_U64 */
    const char *def;        /* the default as text; NULL: the field stays zero (empty) */
    unsigned flags;         /* KF_CONF_REQUIRED */
    kf_conf_parse_cb parse; /* KF_CONF_CUSTOM */
};

#define KF__CONF_FIELD(st, f) .offset = offsetof(st, f), .size = sizeof(((st *)0)->f)

#define KF_CONF_KEY_STR(n, st, f, d, fl)                                                           \
    {                                                                                              \
        .name = (n), .type = KF_CONF_STR, KF__CONF_FIELD(st, f), .def = (d), .flags = (fl)         \
    }
#define KF_CONF_KEY_PATH(n, st, f, d, fl)                                                          \
    {                                                                                              \
        .name = (n), .type = KF_CONF_PATH, KF__CONF_FIELD(st, f), .def = (d), .flags = (fl)        \
    }
#define KF_CONF_KEY_INT(n, st, f, lo, hi, d, fl)                                                   \
    {                                                                                              \
        .name = (n), .type = KF_CONF_INT, KF__CONF_FIELD(st, f), .min = (lo), .max = (hi),         \
        .def = (d), .flags = (fl)                                                                  \
    }
#define KF_CONF_KEY_U32(n, st, f, lo, hi, d, fl)                                                   \
    {                                                                                              \
        .name = (n), .type = KF_CONF_U32, KF__CONF_FIELD(st, f), .umin = (lo), .umax = (hi),       \
        .def = (d), .flags = (fl)                                                                  \
    }
#define KF_CONF_KEY_U64(n, st, f, lo, hi, d, fl)                                                   \
    {                                                                                              \
        .name = (n), .type = KF_CONF_U64, KF__CONF_FIELD(st, f), .umin = (lo), .umax = (hi),       \
        .def = (d), .flags = (fl)                                                                  \
    }
#define KF_CONF_KEY_LOG_LEVEL(n, st, f, d, fl)                                                     \
    {                                                                                              \
        .name = (n), .type = KF_CONF_LOG_LEVEL, KF__CONF_FIELD(st, f), .def = (d), .flags = (fl)   \
    }
#define KF_CONF_KEY_CUSTOM(n, st, f, cb, d, fl)                                                    \
    {                                                                                              \
        .name = (n), .type = KF_CONF_CUSTOM, KF__CONF_FIELD(st, f), .parse = (cb), .def = (d),     \
        .flags = (fl)                                                                              \
    }

struct kf_conf;

/* One section, registered by the subsystem that owns it. */
struct kf_conf_section {
    const char *name;               /* "[name]" in the file */
    const struct kf_conf_key *keys; /* borrowed; usually a static const table */
    size_t nkeys;
    void *base; /* borrowed: the struct the keys' offsets point into */
    /* Optional: the section's cross-key rules, run after the whole file is read and every
     * required key is present. Returns 0, or a negative errno after kf_conf_fail (the load
     * returns that errno). */
    int (*check)(struct kf_conf *c, const struct kf_conf_section *s);
};

/* Set up a load over n sections (see Ownership). The tables are checked: -EINVAL with a
 * message in err for a table bug (no sections, a section or a key twice, a size that does
 * not fit its type, bounds past the type, a custom key without parse, a NULL base).
 * -ENOMEM. Returns an owned struct in *ret, freed with kf_conf_free. */
int kf_conf_new(const struct kf_conf_section *sections, size_t n, char *err, size_t cap,
                struct kf_conf **ret);
/* NULL is a no-op. */
void kf_conf_free(struct kf_conf *c);

/* Step 1 alone: every field of every key zeroed then set from its default. 0, or -EINVAL
 * with a message in err for a default that does not parse (a table bug: tests call this).
 * The loaders do it themselves. */
int kf_conf_defaults(struct kf_conf *c);

/* A whole load (steps 1 to 4) of the file at path (borrowed; named in messages). Returns 0,
 * -errno when it cannot be opened ("path: cannot open: reason"), -EINVAL (bad content), or
 * a section check's errno. Once per struct kf_conf (-EALREADY after). */
int kf_conf_load_file(struct kf_conf *c, const char *path);
/* The same from text; name stands for the file in messages and for relative paths (its
 * directory, if it has a '/'). */
int kf_conf_load_string(struct kf_conf *c, const char *text, const char *name);

/* One value, given some other way than the file (a remote setting): parse value by the
 * row of [section] key into its field of the section's base, with the bounds and types a
 * file's value has; nothing else of the base changes and no section check runs (the caller
 * checks its cross-key rules itself). 0, -ENOENT (no such key), -EINVAL with
 * "[section] key: why" in err. A relative path is taken as it is. */
int kf_conf_set_value(struct kf_conf *c, const char *section, const char *key, const char *value);

/* The line [section] key was given on; 0 when it was not given (or is not in a table). */
int kf_conf_line(const struct kf_conf *c, const char *section, const char *key);

/* Record an error: "file:line: message" (line 0: "file: message") in err, unless an error
 * is already there (the first one is kept). For section checks and the caller's own
 * cross-section checks. */
void kf_conf_fail(struct kf_conf *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
