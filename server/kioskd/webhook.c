/* webhook.c: the notification webhook (webhook.h): a bounded queue and one sender thread
 * using libcurl's easy interface. The thread owns the curl handle; the queue, the counters
 * and the stop flag are shared under one mutex. */
#define _GNU_SOURCE
#include "kioskd/webhook.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include <kf/log.h>

#define KF__WEBHOOK_BACKOFF_MAX_MS 60000L

struct note {
    struct note *next;
    size_t len;
    char body[];
};

struct kf_webhook {
    char *url;
    long timeout_ms, backoff_ms;
    unsigned retries;
    size_t queue_max;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct note *head, **tail;
    size_t queued;
    int stop;
    struct kf_webhook_counters ctr;
};

static int url_ok(const char *url)
{
    return url && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) &&
           strlen(url) < 2048;
}

/* curl's progress callback: a non-zero return aborts the transfer (on stop). */
static int progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct kf_webhook *w = ud;
    int stop;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    pthread_mutex_lock(&w->mu);
    stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

/* The answer's body is not wanted. */
static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* One attempt. Returns the HTTP status, or 0 on a transport error. Sender thread. */
static long post_once(struct kf_webhook *w, CURL *c, struct curl_slist *hdrs, const struct note *n,
                      char *errbuf)
{
    long status = 0;

    curl_easy_reset(c);
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)&n->body[0]);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "kioskd");
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Wait up to ms or until stop. Returns 1 if stopping. Called with mu held. */
static int sleep_locked(struct kf_webhook *w, long ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT) {
    }
    return w->stop;
}

static void *sender(void *arg)
{
    struct kf_webhook *w = arg;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE];
    CURL *c = curl_easy_init();

    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct note *n;
        long backoff = w->backoff_ms;
        int ok = 0;

        while (!w->stop && w->head == NULL)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        n = w->head; /* stays queued (and counted) until done with */
        pthread_mutex_unlock(&w->mu);
        for (unsigned attempt = 0; attempt <= w->retries; attempt++) {
            long status = c && hdrs ? post_once(w, c, hdrs, n, errbuf) : 0;

            pthread_mutex_lock(&w->mu);
            w->ctr.last_status = status;
            ok = status >= 200 && status < 300;
            if (ok) {
                w->ctr.delivered++;
                break;
            }
            w->ctr.attempts_failed++;
            if (w->stop || attempt == w->retries) {
                pthread_mutex_unlock(&w->mu);
                break;
            }
            if (sleep_locked(w, backoff)) {
                pthread_mutex_unlock(&w->mu);
                break;
            }
            pthread_mutex_unlock(&w->mu);
            backoff =
                backoff * 2 > KF__WEBHOOK_BACKOFF_MAX_MS ? KF__WEBHOOK_BACKOFF_MAX_MS : backoff * 2;
        }
        if (!ok) {
            long status;
            int stopping;

            pthread_mutex_lock(&w->mu);
            stopping = w->stop;
            status = w->ctr.last_status;
            if (!stopping)
                w->ctr.given_up++;
            pthread_mutex_unlock(&w->mu);
            if (!stopping && errbuf[0])
                kf_warn("sla: webhook: giving up a notification after %u attempt(s): %s",
                        w->retries + 1, errbuf);
            else if (!stopping)
                kf_warn("sla: webhook: giving up a notification after %u attempt(s): HTTP %ld",
                        w->retries + 1, status);
            pthread_mutex_lock(&w->mu);
        }
        /* mu held here in every case */
        if (w->stop && !ok)
            break; /* left queued: counted as dropped at shutdown */
        w->head = n->next;
        if (w->head == NULL)
            w->tail = &w->head;
        w->queued--;
        free(n);
    }
    pthread_mutex_unlock(&w->mu);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return NULL;
}

int kf_webhook_new(const struct kf_webhook_opts *o, struct kf_webhook **ret)
{
    struct kf_webhook *w;
    pthread_condattr_t ca;
    int rc;

    if (!url_ok(o->url) || o->timeout_ms <= 0 || o->queue_max == 0)
        return -EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    w = calloc(1, sizeof(*w));
    if (w == NULL || (w->url = strdup(o->url)) == NULL) {
        free(w);
        curl_global_cleanup();
        return -ENOMEM;
    }
    w->timeout_ms = o->timeout_ms;
    w->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 1000;
    w->retries = o->retries;
    w->queue_max = o->queue_max;
    w->tail = &w->head;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&w->thread, NULL, sender, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w->url);
        free(w);
        curl_global_cleanup();
        return -rc;
    }
    *ret = w;
    return 0;
}

int kf_webhook_post(struct kf_webhook *w, const char *body, size_t len)
{
    struct note *n;

    pthread_mutex_lock(&w->mu);
    if (w->queued >= w->queue_max || w->stop) {
        w->ctr.dropped++;
        pthread_mutex_unlock(&w->mu);
        return -ENOBUFS;
    }
    pthread_mutex_unlock(&w->mu);
    n = malloc(sizeof(*n) + len + 1);
    if (n == NULL)
        return -ENOMEM;
    n->next = NULL;
    n->len = len;
    memcpy(n->body, body, len);
    n->body[len] = '\0';
    pthread_mutex_lock(&w->mu);
    *w->tail = n;
    w->tail = &n->next;
    w->queued++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void kf_webhook_counters(struct kf_webhook *w, struct kf_webhook_counters *ret)
{
    pthread_mutex_lock(&w->mu);
    *ret = w->ctr;
    ret->queued = w->queued;
    pthread_mutex_unlock(&w->mu);
}

void kf_webhook_free(struct kf_webhook *w)
{
    size_t left = 0;

    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    while (w->head != NULL) {
        struct note *n = w->head;
        w->head = n->next;
        free(n);
        left++;
    }
    if (left > 0)
        kf_warn("sla: webhook: %zu notification(s) not delivered at shutdown", left);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->url);
    free(w);
    curl_global_cleanup();
}
