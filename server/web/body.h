/* web/body.h: a kept answer's bytes (docs/WEB.md "The answer cache"), made once and shared
 * by reference: the answer cache holds one, every call answered from it another, and the
 * loop hands the bytes to h2o without copying them, holding its reference until the
 * response is written. Made on a pool thread with what every call would otherwise redo:
 * the ETag (BLAKE2b of the bytes) and, for text worth compressing, a gzip copy for the
 * callers that accept it. Immutable once made; any thread. */
#ifndef KF_WEB_BODY_H
#define KF_WEB_BODY_H

#include <stdatomic.h>
#include <stddef.h>

/* Bodies shorter than this are sent as they are: gzip would save less than its header. */
#define KF_WEB_GZIP_MIN 1024

struct kf_web_body {
    atomic_uint refs;
    char *bytes; /* the answer as computed */
    size_t len;
    char *gz; /* the same bytes gzip-encoded (RFC 1952), or NULL: not worth it */
    size_t gz_len;
    char etag[40];    /* "<32 hex>" of bytes: the identity representation's strong ETag */
    char etag_gz[44]; /* "<32 hex>-gz": the gzip representation's (RFC 9110 8.8.3) */
};

/* A body of len bytes, taking bytes (freed with the body, or at once on failure); gzip made
 * when ctype is text (JSON, CSV, HTML, JavaScript, CSS, SVG; NULL: none) and len >=
 * KF_WEB_GZIP_MIN and it saves an eighth or more. One reference, the caller's. NULL when out of
 * memory. */
struct kf_web_body *kf_web_body_new(char *bytes, size_t len, const char *ctype);
struct kf_web_body *kf_web_body_ref(struct kf_web_body *b);
void kf_web_body_unref(struct kf_web_body *b); /* NULL: nothing */

/* The console's files as bodies, kept while unchanged on disk (web/static.c). */
struct kf_web_files;
int kf_web_files_new(struct kf_web_files **ret); /* 0 or -ENOMEM */
void kf_web_files_free(struct kf_web_files *fs);

/* Does an Accept-Encoding value (NULL: none sent) accept gzip? RFC 9110 12.5.3: "gzip",
 * "x-gzip" or "*" with a q-value above 0; "identity" is always acceptable. */
int kf_web_accepts_gzip(const char *v, size_t len);

#endif
