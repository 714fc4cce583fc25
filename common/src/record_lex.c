/* record_lex.c: the byte parser of records (kf_record_parse, kf_records_parse): RFC 8259
 * for a flat object, nothing allocated; the schema is record.c's (record_int.h). */
#include <errno.h>
#include <string.h>

#include "kf/envelope.h"
#include "kf/record.h"
#include "record_int.h"

struct lex {
    const char *p, *end;
};

static void skip_ws(struct lex *x)
{
    while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r'))
        x->p++;
}

/* Skip whitespace, then consume c if it is next. */
static int eat(struct lex *x, char c)
{
    skip_ws(x);
    if (x->p < x->end && *x->p == c) {
        x->p++;
        return 1;
    }
    return 0;
}

static int hex4(const char *s, unsigned *ret)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *ret = v;
    return 0;
}

/* A string at x->p (the opening quote), decoded into out[0..cap) and NUL-terminated.
 * Refuses raw control characters, bad escapes, lone surrogates and U+0000. */
static int lex_string(struct lex *x, char *out, size_t cap, size_t *ret_len)
{
    size_t n = 0;

    if (x->p >= x->end || *x->p != '"')
        return -1;
    x->p++;
    while (x->p < x->end) {
        unsigned char c = (unsigned char)*x->p++;
        unsigned cp;

        if (c == '"') {
            if (n >= cap)
                return -1;
            out[n] = '\0';
            *ret_len = n;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)c;
            continue;
        }
        if (x->p >= x->end)
            return -1;
        c = (unsigned char)*x->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            cp = c;
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            if (x->end - x->p < 4 || hex4(x->p, &cp) < 0)
                return -1;
            x->p += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return -1;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;

                if (x->end - x->p < 6 || x->p[0] != '\\' || x->p[1] != 'u' ||
                    hex4(x->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                    return -1;
                x->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            break;
        default:
            return -1;
        }
        if (cp == 0 || n + 4 >= cap)
            return -1;
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xc0 | cp >> 6);
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[n++] = (char)(0xe0 | cp >> 12);
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[n++] = (char)(0xf0 | cp >> 18);
            out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    return -1; /* unterminated */
}

/* -?(0|[1-9][0-9]*) within int64; a fraction or an exponent makes it a real: refused. */
static int lex_int(struct lex *x, int64_t *ret)
{
    int neg = 0;
    uint64_t v = 0, lim;

    if (x->p < x->end && *x->p == '-') {
        neg = 1;
        x->p++;
    }
    lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    if (x->p >= x->end || *x->p < '0' || *x->p > '9')
        return -1;
    if (*x->p == '0' && x->end - x->p > 1 && x->p[1] >= '0' && x->p[1] <= '9')
        return -1; /* a leading zero */
    while (x->p < x->end && *x->p >= '0' && *x->p <= '9') {
        unsigned d = (unsigned)(*x->p++ - '0');

        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (x->p < x->end && (*x->p == '.' || *x->p == 'e' || *x->p == 'E'))
        return -1;
    *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int lex_word(struct lex *x, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(x->end - x->p) < n || memcmp(x->p, w, n) != 0)
        return -1;
    x->p += n;
    return 0;
}

/* One flat object at x->p (after whitespace) into o. */
static int lex_object(struct lex *x, struct flat *o)
{
    o->n = 0;
    o->used = 0;
    if (!eat(x, '{'))
        return -1;
    if (eat(x, '}'))
        return 0;
    do {
        char key[FLAT_KEY_MAX + 2];
        size_t klen;
        struct pair *p;

        skip_ws(x);
        /* A key longer than any known one is unknown: refused like one. */
        if (lex_string(x, key, sizeof(key), &klen) < 0 ||
            !(p = kf__record_add_pair(o, key, klen)) || !eat(x, ':'))
            return -1;
        skip_ws(x);
        if (x->p >= x->end)
            return -1;
        switch (*x->p) {
        case '"':
            p->kind = V_STR;
            p->s = o->str + o->used;
            if (lex_string(x, o->str + o->used, sizeof(o->str) - o->used, &p->slen) < 0)
                return -1;
            o->used += p->slen + 1;
            break;
        case 't':
        case 'f':
            p->kind = V_BOOL;
            p->i = *x->p == 't';
            if (lex_word(x, p->i ? "true" : "false") < 0)
                return -1;
            break;
        case 'n':
            p->kind = V_NULL;
            if (lex_word(x, "null") < 0)
                return -1;
            break;
        default:
            p->kind = V_INT;
            if (lex_int(x, &p->i) < 0)
                return -1; /* a real, an array, an object or not JSON: no field takes one */
        }
    } while (eat(x, ','));
    return eat(x, '}') ? 0 : -1;
}

int kf_record_parse(const char *text, size_t len, struct kf_record *ret)
{
    struct lex x = {text, text + len};
    struct flat o;

    if (!text || len > KF_RECORD_JSON_MAX || lex_object(&x, &o) < 0)
        return -EBADMSG;
    skip_ws(&x);
    if (x.p != x.end)
        return -EBADMSG;
    return kf__record_build(&o, ret, NULL);
}

int kf_records_parse(const char *body, size_t len, uint32_t expect_count, kf_record_cb cb, void *ud)
{
    struct lex x = {body, body + len};
    struct flat o;
    uint32_t i = 0;
    int r;

    if (!body || len > KF_BODY_MAX_BYTES || expect_count > KF_ENV_MAX_RECORDS || !eat(&x, '['))
        return -EBADMSG;
    if (!eat(&x, ']')) {
        do {
            struct kf_record rec;
            const char *start;

            skip_ws(&x);
            start = x.p;
            /* One record's JSON is at most KF_RECORD_JSON_MAX bytes inside a body too
             * (docs/PROTOCOL.md sections 7 and 10), whitespace within it included. */
            if (i == expect_count || lex_object(&x, &o) < 0 ||
                (size_t)(x.p - start) > KF_RECORD_JSON_MAX || kf__record_build(&o, &rec, NULL) < 0)
                return -EBADMSG;
            if (cb) {
                r = cb(ud, i, &rec);
                if (r != 0)
                    return r;
            }
            i++;
        } while (eat(&x, ','));
        if (!eat(&x, ']'))
            return -EBADMSG;
    }
    skip_ws(&x);
    return x.p == x.end && i == expect_count ? 0 : -EBADMSG;
}
