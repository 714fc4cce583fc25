/* web/body.c: a kept answer's bytes, their ETags and gzip copy; what Accept-Encoding allows. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <zlib.h>

#include "web/body.h"

static char *json_rows(size_t n, size_t *len)
{
    size_t cap = n * 64 + 16, off = 0;
    char *s = malloc(cap);

    off += (size_t)snprintf(s + off, cap - off, "[");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(s + off, cap - off, "%s{\"asset\":\"A-%06zu\",\"status\":\"up\"}",
                                i ? "," : "", i);
    off += (size_t)snprintf(s + off, cap - off, "]");
    *len = off;
    return s;
}

Test(web_body, gzip_is_the_same_bytes_and_etags_name_each_representation)
{
    size_t len;
    char *s = json_rows(500, &len);
    char *copy = malloc(len);
    struct kf_web_body *b;
    unsigned char *back = malloc(len + 1);
    uLongf back_len = len + 1;
    z_stream z;

    memcpy(copy, s, len);
    b = kf_web_body_new(s, len, "application/json; charset=utf-8");
    cr_assert_not_null(b);
    cr_assert_eq(b->len, len);
    cr_assert_not_null(b->gz);
    cr_assert_lt(b->gz_len, len / 8, "JSON rows compress well: %zu of %zu", b->gz_len, len);
    /* A gzip stream (RFC 1952 magic), inflating to the very bytes. */
    cr_assert(b->gz[0] == '\x1f' && b->gz[1] == '\x8b');
    memset(&z, 0, sizeof(z));
    cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)b->gz;
    z.avail_in = (uInt)b->gz_len;
    z.next_out = back;
    z.avail_out = (uInt)back_len;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    cr_assert_eq(z.total_out, len);
    inflateEnd(&z);
    cr_assert_eq(memcmp(back, copy, len), 0);
    /* "<32 hex>" and "<32 hex>-gz": two representations, two strong tags. */
    cr_assert_eq(strlen(b->etag), 34u);
    cr_assert(b->etag[0] == '"' && b->etag[33] == '"');
    cr_assert_eq(strncmp(b->etag, b->etag_gz, 33), 0);
    cr_assert_str_eq(b->etag_gz + 33, "-gz\"");
    /* Shared by reference: the last unref frees (ASan checks both ways). */
    kf_web_body_ref(b);
    kf_web_body_unref(b);
    cr_assert_eq(memcmp(b->bytes, copy, len), 0);
    kf_web_body_unref(b);
    kf_web_body_unref(NULL);
    free(copy);
    free(back);
}

Test(web_body, no_gzip_when_small_binary_or_not_worth_it)
{
    size_t len;
    char *s = json_rows(5, &len);
    unsigned char *rnd = malloc(4096);
    struct kf_web_body *b;
    uint32_t x = 2463534242u;

    cr_assert_lt(len, (size_t)KF_WEB_GZIP_MIN);
    b = kf_web_body_new(s, len, "application/json");
    cr_assert_null(b->gz);
    kf_web_body_unref(b);
    s = json_rows(500, &len);
    b = kf_web_body_new(s, len,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    cr_assert_null(b->gz, "XLSX is already compressed");
    kf_web_body_unref(b);
    for (size_t i = 0; i < 4096; i++) { /* xorshift: bytes gzip cannot shrink by an eighth */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        rnd[i] = (unsigned char)x;
    }
    b = kf_web_body_new((char *)rnd, 4096, "text/csv; charset=utf-8");
    cr_assert_null(b->gz);
    cr_assert_eq(b->len, 4096u);
    kf_web_body_unref(b);
    b = kf_web_body_new(NULL, 0, "application/json");
    cr_assert_null(b->gz);
    cr_assert_eq(strlen(b->etag), 34u);
    kf_web_body_unref(b);
}

static int ae(const char *v)
{
    return kf_web_accepts_gzip(v, v ? strlen(v) : 0);
}

Test(web_body, accept_encoding)
{
    cr_assert(ae("gzip"));
    cr_assert(ae("gzip, deflate, br, zstd")); /* Chromium's */
    cr_assert(ae("br;q=1.0, gzip;q=0.8, *;q=0.1"));
    cr_assert(ae("GZIP"));
    cr_assert(ae("x-gzip"));
    cr_assert(ae("*"));
    cr_assert(ae("gzip;q=0.001"));
    cr_assert(ae("deflate ,gzip ; q=0.5"));
    cr_assert_not(ae(NULL));
    cr_assert_not(ae(""));
    cr_assert_not(ae("identity"));
    cr_assert_not(ae("br, deflate"));
    cr_assert_not(ae("gzip;q=0"));
    cr_assert_not(ae("gzip;q=0.000"));
    cr_assert_not(ae("*;q=0"));
    cr_assert_not(ae("gzip;q=0, *")); /* gzip named: its own q-value counts */
    cr_assert_not(ae("gzipx, xgzip"));
    cr_assert_not(ae("gzip;q=abc")); /* malformed: not acceptable */
    cr_assert(ae("*, gzip;q=0.5"));
}
