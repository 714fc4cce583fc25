/* webhook.h: HTTP POSTs of JSON notifications to one configured URL, off the loop thread.
 *
 * kf_webhook_post copies the body into a bounded queue (lock, append, signal) and returns;
 * one thread of the webhook's own sends the queue in order with libcurl: a connect and a
 * total timeout per attempt, a bounded number of retries with doubling backoff (1 s, 2 s,
 * 4 s...), then the notification is given up and counted. A full queue drops the new
 * notification and counts it. Nothing here ever blocks the caller on the network.
 * A 2xx answer is delivered; anything else (a transport error, a 3xx/4xx/5xx) is a failed
 * attempt. Redirects are not followed.
 */
#ifndef KF_KIOSKD_WEBHOOK_H
#define KF_KIOSKD_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

struct kf_webhook_opts {
    const char *url;  /* http:// or https://; copied */
    long timeout_ms;  /* per attempt, connect included */
    unsigned retries; /* attempts after the first */
    size_t queue_max; /* notifications waiting; the next one is dropped */
    long backoff_ms;  /* first retry delay (doubles); 0: 1000 */
};

struct kf_webhook_counters {
    uint64_t delivered; /* a 2xx answer */
    uint64_t attempts_failed;
    uint64_t given_up; /* every attempt failed */
    uint64_t dropped;  /* queue full, or still queued at shutdown */
    size_t queued;
    long last_status; /* last HTTP status seen (0: none, or a transport error) */
};

struct kf_webhook;

/* Start the sender thread (calls curl_global_init: call before other threads use libcurl,
 * main thread). Returns owned in *ret. 0, -EINVAL (bad URL), -ENOMEM, -errno. */
int kf_webhook_new(const struct kf_webhook_opts *o, struct kf_webhook **ret);
/* Queue a copy of body (JSON, len bytes) for POST. Any thread; never blocks on I/O.
 * 0, -ENOBUFS (queue full: counted as dropped), -ENOMEM. */
int kf_webhook_post(struct kf_webhook *w, const char *body, size_t len);
/* Any thread. */
void kf_webhook_counters(struct kf_webhook *w, struct kf_webhook_counters *ret);
/* Stop: an attempt in progress is aborted, what is still queued is dropped (counted, and
 * logged once), the thread is joined. NULL is a no-op. The thread that called _new. */
void kf_webhook_free(struct kf_webhook *w);

#endif
