/* web/cache.h: kiosk-web's answer cache (docs/WEB.md "The answer cache"): the GET answers of
 * the live views, kept for [limits] answer_max_age_ms, keyed by the caller's scope (role and
 * bank, never the user), method, path and query; one computation per key at a time (the
 * callers that arrive meanwhile wait for it and share its answer); bounded in entries and
 * bytes (the least recently used go first); emptied by every action kiosk-web performs.
 * Any thread. */
#ifndef KF_WEB_CACHE_H
#define KF_WEB_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "web/body.h"
#include "web/web.h"

struct kf_web_cache;
struct kf_web_cache_entry;

struct kf_web_cache_stats {
    uint64_t hits;     /* answered from a kept answer */
    uint64_t rechecks; /* of those, after finding their period's stamp unchanged */
    uint64_t waits;    /* answered from a computation another call had started */
    uint64_t misses;   /* computed */
    uint64_t evictions, invalidations;
    uint32_t entries; /* kept or being computed */
    size_t bytes;     /* of the kept answers */
};

/* *ret NULL (the cache off) when any bound is 0. 0 or -ENOMEM. */
int kf_web_cache_new(uint32_t max_age_ms, uint32_t max_entries, size_t max_bytes,
                     struct kf_web_cache **ret);
void kf_web_cache_free(struct kf_web_cache *k); /* no call may hold an entry */

/* Before computing c's answer (c->scope known): 1 when c has been answered (a kept answer
 * younger than the max age, or the one another call was computing: it waits for it); 0:
 * compute it, then kf_web_cache_done(k, c, *ticket) whatever happened (*ticket may be NULL:
 * nothing to do); 2: a kept answer over a settled period, older than the max age: read the
 * period's stamp now and call kf_web_cache_recheck(k, c, *ticket, ...). */
int kf_web_cache_begin(struct kf_web_cache *k, struct kf_web_call *c,
                       struct kf_web_cache_entry **ticket);
/* Keeps c's answer; with c->period_ok, as an answer over that settled period. With a
 * ticket, c's bytes (c->out) become the kept body (web/body.h) and c answers from it:
 * c->kept, c->out NULL. */
void kf_web_cache_done(struct kf_web_cache *k, struct kf_web_call *c,
                       struct kf_web_cache_entry *ticket);
/* After begin returned 2: now_period is the answer's period and stamp read now (NULL: they
 * cannot be, or the period is no longer settled). 1: unchanged, c is answered with the kept
 * answer, which is served again for the max age; 0: it is dropped, call begin again. Takes
 * the ticket in both cases. */
int kf_web_cache_recheck(struct kf_web_cache *k, struct kf_web_call *c,
                         struct kf_web_cache_entry *ticket, const struct kf_web_period *now_period);
/* Forget every answer (after an action): nothing computed before it is served after. */
void kf_web_cache_invalidate(struct kf_web_cache *k);
void kf_web_cache_stats(struct kf_web_cache *k, struct kf_web_cache_stats *ret);
/* FNV-1a of len bytes: the cache's keys, and what a period's answer reads outside the store. */
uint64_t kf_web_hash(const char *s, size_t len);

#endif
