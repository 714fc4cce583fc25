/* web/body.c: kept answers' bytes (web/body.h). */
#include "web/body.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>
#include <zlib.h>

/* Text compresses (JSON 8 to 15 times on the city's answers); XLSX and PDF are already
 * compressed and images are not worth the attempt. */
static int is_text(const char *ctype)
{
    return ctype && (strncmp(ctype, "application/json", 16) == 0 ||
                     strncmp(ctype, "application/problem+json", 24) == 0 ||
                     strncmp(ctype, "image/svg+xml", 13) == 0 ||
                     strncmp(ctype, "application/manifest+json", 25) == 0 ||
                     strncmp(ctype, "text/", 5) == 0);
}

/* bytes gzip-encoded into *ret (owned), when that saves at least an eighth. 0 or -1. */
static int gzip_of(const char *bytes, size_t len, char **ret, size_t *ret_len)
{
    z_stream z;
    size_t cap;
    char *out;
    int r;

    memset(&z, 0, sizeof(z));
    /* 15 + 16: a gzip header and trailer rather than zlib's; level 6, zlib's default: on
     * the city's weekly report (157 KB) 1.8 ms for 19 KB, made once per kept answer. */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    cap = len - len / 8;
    out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)bytes;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    r = deflate(&z, Z_FINISH);
    if (r != Z_STREAM_END) { /* Z_OK or Z_BUF_ERROR: it does not fit in 7/8: not worth it */
        deflateEnd(&z);
        free(out);
        return -1;
    }
    *ret_len = cap - z.avail_out;
    deflateEnd(&z);
    *ret = out;
    return 0;
}

struct kf_web_body *kf_web_body_new(char *bytes, size_t len, const char *ctype)
{
    struct kf_web_body *b = calloc(1, sizeof(*b));
    uint8_t h[16];

    if (!b) {
        free(bytes);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    b->bytes = bytes;
    b->len = len;
    crypto_generichash(h, sizeof(h), (const uint8_t *)(bytes ? bytes : ""), len, NULL, 0);
    b->etag[0] = '"';
    sodium_bin2hex(b->etag + 1, 33, h, sizeof(h));
    memcpy(b->etag + 33, "\"", 2);
    memcpy(b->etag_gz, b->etag, 33);
    memcpy(b->etag_gz + 33, "-gz\"", 5);
    /* len < UINT32_MAX: zlib's counts are 32-bit; answers are far smaller (answer_cache_kb). */
    if (bytes && len >= KF_WEB_GZIP_MIN && len < UINT32_MAX && is_text(ctype) &&
        gzip_of(bytes, len, &b->gz, &b->gz_len) < 0) {
        b->gz = NULL;
        b->gz_len = 0;
    }
    return b;
}

struct kf_web_body *kf_web_body_ref(struct kf_web_body *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void kf_web_body_unref(struct kf_web_body *b)
{
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(b->bytes);
    free(b->gz);
    free(b);
}

/* The q-value of one list member's parameters ("; q=0.5"): 1000ths, 1000 when absent. */
static int qvalue(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            int q = 0, digits = 0;

            p += 2;
            if (p < end && *p == '1')
                return 1000;
            if (p >= end || *p != '0')
                return 0; /* malformed: not acceptable */
            p++;
            if (p < end && *p == '.')
                for (p++; p < end && digits < 3 && *p >= '0' && *p <= '9'; p++, digits++)
                    q = q * 10 + (*p - '0');
            while (digits++ < 3)
                q *= 10;
            return q;
        }
        while (p < end && *p != ';')
            p++;
    }
    return 1000;
}

int kf_web_accepts_gzip(const char *v, size_t len)
{
    const char *p = v, *end = v + len;
    int gzip_q = -1, star_q = -1;

    if (!v)
        return 0;
    while (p < end) {
        const char *m = p, *me, *ne;

        while (m < end && (*m == ' ' || *m == '\t' || *m == ','))
            m++;
        me = m;
        while (me < end && *me != ',')
            me++;
        ne = m;
        while (ne < me && *ne != ';' && *ne != ' ' && *ne != '\t')
            ne++;
        if (ne - m == 4 && strncasecmp(m, "gzip", 4) == 0)
            gzip_q = qvalue(ne, me);
        else if (ne - m == 6 && strncasecmp(m, "x-gzip", 6) == 0)
            gzip_q = qvalue(ne, me);
        else if (ne - m == 1 && *m == '*')
            star_q = qvalue(ne, me);
        p = me;
    }
    return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}
