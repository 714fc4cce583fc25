/* web/cache.c: the answer cache (web/cache.h, docs/WEB.md "The answer cache").
 *
 * One mutex over a list in LRU order (the most recently used first). An entry is made when
 * its first caller misses and starts computing; callers of the same key that arrive while
 * it computes wait on the cache's condition variable and take its answer (single flight).
 * Entries are shared by reference: the list holds one (linked), each thread holding the
 * entry another; the last to let go frees it. A ready entry's answer never changes: its
 * bytes are a body (web/body.h) that every call answered from it shares by reference. */
#include "web/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kf_web_cache_entry {
    struct kf_web_cache_entry *prev, *next; /* the LRU list, when linked */
    int linked, ready;
    unsigned refs; /* threads holding it (the list's hold is linked) */
    uint64_t hash;
    char *key;
    size_t key_len;
    uint64_t at_ns; /* when its computation started or its period was found current */
    int has_period; /* an answer over a settled period: kept past the max age while its
                       period and stamp hold (kf_web_cache_recheck) */
    struct kf_web_period period;
    /* The answer, once ready. */
    int status;
    struct kf_web_body *body; /* NULL: none (a 204, or out of memory) */
    const char *ctype;
    char disposition[200];
    size_t list_total;
};

struct kf_web_cache {
    pthread_mutex_t mu;
    pthread_cond_t done;
    uint64_t max_age_ns;
    uint32_t max_entries;
    size_t max_bytes;
    struct kf_web_cache_entry *head, *tail;
    uint32_t entries;
    size_t bytes;
    struct kf_web_cache_stats st;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int kf_web_cache_new(uint32_t max_age_ms, uint32_t max_entries, size_t max_bytes,
                     struct kf_web_cache **ret)
{
    struct kf_web_cache *k;

    *ret = NULL;
    if (max_age_ms == 0 || max_entries == 0 || max_bytes == 0)
        return 0; /* off */
    k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->done, NULL);
    k->max_age_ns = (uint64_t)max_age_ms * 1000000u;
    k->max_entries = max_entries;
    k->max_bytes = max_bytes;
    *ret = k;
    return 0;
}

static void entry_free(struct kf_web_cache_entry *e)
{
    free(e->key);
    kf_web_body_unref(e->body);
    free(e);
}

/* What a ready entry counts against answer_cache_kb: both representations. */
static size_t entry_bytes(const struct kf_web_cache_entry *e)
{
    return e->body ? e->body->len + e->body->gz_len : 0;
}

/* Take e off the list (mu held); freed if no thread holds it. */
static void unlink_entry(struct kf_web_cache *k, struct kf_web_cache_entry *e)
{
    if (!e->linked)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        k->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        k->tail = e->prev;
    e->prev = e->next = NULL;
    e->linked = 0;
    k->entries--;
    if (e->ready)
        k->bytes -= entry_bytes(e);
    if (e->refs == 0)
        entry_free(e);
}

static void push_front(struct kf_web_cache *k, struct kf_web_cache_entry *e)
{
    e->prev = NULL;
    e->next = k->head;
    if (k->head)
        k->head->prev = e;
    k->head = e;
    if (!k->tail)
        k->tail = e;
}

static void move_front(struct kf_web_cache *k, struct kf_web_cache_entry *e)
{
    if (k->head == e)
        return;
    e->prev->next = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        k->tail = e->prev;
    push_front(k, e);
}

/* Drop from the least recently used end until the bounds hold (mu held). An entry still
 * computing may go too: its answer is then given to its waiters and not kept. */
static void evict(struct kf_web_cache *k)
{
    while (k->tail && (k->entries > k->max_entries || k->bytes > k->max_bytes)) {
        k->st.evictions++;
        unlink_entry(k, k->tail);
    }
}

void kf_web_cache_free(struct kf_web_cache *k)
{
    if (!k)
        return;
    while (k->head)
        unlink_entry(k, k->head); /* no thread holds any: the pool has stopped */
    pthread_cond_destroy(&k->done);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

uint64_t kf_web_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return h;
}

/* Each part with its length first, so no value can pass for another's boundary. */
static int key_add(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t sl = strlen(s);
    int n;

    if (*len + sl + 24 > *cap) {
        size_t nc = (*len + sl + 24) * 2;
        char *nb = realloc(*buf, nc);

        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = nc;
    }
    n = snprintf(*buf + *len, *cap - *len, "%zu:", sl);
    memcpy(*buf + *len + (size_t)n, s, sl);
    *len += (size_t)n + sl;
    return 0;
}

static char *key_of(const struct kf_web_call *c, size_t *ret_len)
{
    char role[8], *buf = NULL;
    size_t len = 0, cap = 0;
    int r;

    /* The scope, not the user: every caller of one scope sees the same rows. */
    snprintf(role, sizeof(role), "%u", (unsigned)c->scope.role);
    r = key_add(&buf, &len, &cap, role);
    if (r == 0)
        r = key_add(&buf, &len, &cap, c->scope.bank);
    if (r == 0)
        r = key_add(&buf, &len, &cap, c->method);
    if (r == 0)
        r = key_add(&buf, &len, &cap, c->path);
    for (size_t i = 0; r == 0 && i < c->nparams; i++) {
        r = key_add(&buf, &len, &cap, c->params[i].name);
        if (r == 0)
            r = key_add(&buf, &len, &cap, c->params[i].value);
    }
    if (r < 0) {
        free(buf);
        return NULL;
    }
    *ret_len = len;
    return buf;
}

/* Give c e's answer: its body shared, not copied (e held, mu not held). */
static void copy_answer(struct kf_web_call *c, const struct kf_web_cache_entry *e)
{
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
    kf_web_body_unref(c->kept);
    c->kept = e->body ? kf_web_body_ref(e->body) : NULL;
    c->status = e->status;
    c->ctype = e->ctype;
    snprintf(c->disposition, sizeof(c->disposition), "%s", e->disposition);
    c->list_total = e->list_total;
}

static void release(struct kf_web_cache *k, struct kf_web_cache_entry *e)
{
    pthread_mutex_lock(&k->mu);
    if (--e->refs == 0 && !e->linked)
        entry_free(e);
    pthread_mutex_unlock(&k->mu);
}

int kf_web_cache_begin(struct kf_web_cache *k, struct kf_web_call *c,
                       struct kf_web_cache_entry **ticket)
{
    struct kf_web_cache_entry *e, *found = NULL;
    size_t key_len = 0;
    char *key = key_of(c, &key_len);
    uint64_t h, now;

    *ticket = NULL;
    if (!key)
        return 0; /* out of memory: compute, uncached */
    h = kf_web_hash(key, key_len);
    pthread_mutex_lock(&k->mu);
    now = now_ns();
    for (e = k->head; e; e = e->next)
        if (e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
            found = e;
            break;
        }
    if (found && found->ready && now - found->at_ns >= k->max_age_ns) {
        if (found->has_period) {
            /* The caller reads the period's stamp and calls kf_web_cache_recheck. */
            found->refs++;
            pthread_mutex_unlock(&k->mu);
            free(key);
            *ticket = found;
            return 2;
        }
        unlink_entry(k, found); /* too old: computed again below */
        found = NULL;
    }
    if (found) {
        found->refs++;
        if (found->ready) {
            k->st.hits++;
        } else {
            k->st.waits++;
            while (!found->ready)
                pthread_cond_wait(&k->done, &k->mu);
        }
        if (found->linked)
            move_front(k, found);
        pthread_mutex_unlock(&k->mu);
        free(key);
        copy_answer(c, found);
        release(k, found);
        return 1;
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        pthread_mutex_unlock(&k->mu);
        free(key);
        return 0;
    }
    e->key = key;
    e->key_len = key_len;
    e->hash = h;
    e->at_ns = now;
    e->refs = 1;
    e->linked = 1;
    push_front(k, e);
    k->entries++;
    k->st.misses++;
    evict(k);
    pthread_mutex_unlock(&k->mu);
    *ticket = e;
    return 0;
}

void kf_web_cache_done(struct kf_web_cache *k, struct kf_web_call *c, struct kf_web_cache_entry *e)
{
    struct kf_web_body *b = NULL;

    if (!e)
        return;
    if (c->out) { /* the call's bytes become the shared body: c answers from it too */
        b = kf_web_body_new(c->out, c->out_len, c->ctype);
        c->out = NULL;
        c->out_len = 0;
        kf_web_body_unref(c->kept); /* none: a handler answers with out */
        c->kept = NULL;
        if (!b)
            kf_web_problem(c, 500, "out of memory");
        else
            c->kept = kf_web_body_ref(b);
    }
    pthread_mutex_lock(&k->mu);
    e->status = c->status;
    e->body = b;
    e->ctype = c->ctype;
    snprintf(e->disposition, sizeof(e->disposition), "%s", c->disposition);
    e->list_total = c->list_total;
    e->has_period = c->period_ok;
    e->period = c->period;
    e->ready = 1;
    if (e->linked) {
        k->bytes += entry_bytes(e);
        /* Only a 200 is kept: an error is given to the callers waiting now, never later. */
        if (e->status != 200)
            unlink_entry(k, e);
        else
            evict(k);
    }
    pthread_cond_broadcast(&k->done);
    if (--e->refs == 0 && !e->linked)
        entry_free(e);
    pthread_mutex_unlock(&k->mu);
}

int kf_web_cache_recheck(struct kf_web_cache *k, struct kf_web_call *c,
                         struct kf_web_cache_entry *e, const struct kf_web_period *now_period)
{
    int same = now_period && e->period.from_day == now_period->from_day &&
               e->period.to_day == now_period->to_day && e->period.extra == now_period->extra &&
               e->period.stamp == now_period->stamp;

    pthread_mutex_lock(&k->mu);
    if (same) {
        /* Still the answer a computation would give now: served for another max age. */
        e->at_ns = now_ns();
        k->st.hits++;
        k->st.rechecks++;
        if (e->linked)
            move_front(k, e);
    } else if (e->linked) {
        unlink_entry(k, e);
    }
    pthread_mutex_unlock(&k->mu);
    if (same)
        copy_answer(c, e);
    release(k, e);
    return same;
}

void kf_web_cache_invalidate(struct kf_web_cache *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    /* Computations in flight lose their entry too: what they read may predate the change. */
    while (k->head)
        unlink_entry(k, k->head);
    k->st.invalidations++;
    pthread_mutex_unlock(&k->mu);
}

void kf_web_cache_stats(struct kf_web_cache *k, struct kf_web_cache_stats *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    *ret = k->st;
    ret->entries = k->entries;
    ret->bytes = k->bytes;
    pthread_mutex_unlock(&k->mu);
}
