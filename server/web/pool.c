/* web/pool.c: read-only connections kept open between calls, one set per scope. A
 * connection opened for a bank's user is scoped to that bank by kf_store_open_scoped (its
 * TEMP views) for its whole life, so it is only ever handed out again for the same scope.
 * At most max connections are kept; a call that finds none free opens its own, which is
 * closed when it is given back past the bound. In use at once: at most the thread pool's
 * size (only pool threads run calls). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>

#include "web/web.h"

#define KEY_MAX 80

struct slot {
    char key[KEY_MAX];
    struct kf_store *st;
    int busy;
    uint64_t used; /* a tick of last use: the least recently used goes first */
};

struct kf_web_pool {
    pthread_mutex_t mu;
    char *path;
    uint32_t max;
    uint64_t tick;
    struct slot *slots;
    pthread_mutex_t wmu; /* the writer connection */
    struct kf_store *writer;
};

int kf_web_pool_new(const char *path, uint32_t max, struct kf_web_pool **ret)
{
    struct kf_web_pool *p = calloc(1, sizeof(*p));

    if (!p)
        return -ENOMEM;
    p->path = strdup(path);
    p->slots = calloc(max, sizeof(*p->slots));
    if (!p->path || !p->slots) {
        free(p->path);
        free(p->slots);
        free(p);
        return -ENOMEM;
    }
    p->max = max;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->wmu, NULL);
    *ret = p;
    return 0;
}

void kf_web_pool_free(struct kf_web_pool *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->max; i++)
        kf_store_free(p->slots[i].st);
    kf_store_free(p->writer);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->wmu);
    free(p->slots);
    free(p->path);
    free(p);
}

static void key_of(const struct kf_scope *s, char key[KEY_MAX])
{
    char role[KEY_MAX];

    if (!s)
        snprintf(key, KEY_MAX, "*identity");
    else
        snprintf(key, KEY_MAX, "%s", kf_role_text(s, role, sizeof(role)));
}

int kf_web_pool_get(struct kf_web_pool *p, const struct kf_scope *s, struct kf_store **ret)
{
    char key[KEY_MAX];
    struct kf_store *st = NULL;
    int r;

    key_of(s, key);
    pthread_mutex_lock(&p->mu);
    for (uint32_t i = 0; i < p->max; i++) {
        if (p->slots[i].st && !p->slots[i].busy && strcmp(p->slots[i].key, key) == 0) {
            p->slots[i].busy = 1;
            st = p->slots[i].st;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (st) {
        *ret = st;
        return 0;
    }
    /* Opened outside the lock: other calls go on meanwhile. The identity connection is the
     * store itself, read only (users and tokens are hidden from every scope but the
     * operator's, and identity checks need them for everyone). */
    r = s ? kf_store_open_scoped(p->path, s, &st)
          : kf_store_open(p->path, KF_STORE_RDONLY | KF_STORE_NOCREATE, &st);
    if (r < 0)
        return r;
    pthread_mutex_lock(&p->mu);
    {
        struct slot *free_slot = NULL, *lru = NULL;

        for (uint32_t i = 0; i < p->max; i++) {
            struct slot *sl = &p->slots[i];

            if (!sl->st && !free_slot)
                free_slot = sl;
            else if (sl->st && !sl->busy && (!lru || sl->used < lru->used))
                lru = sl;
        }
        if (!free_slot && lru) { /* replace the least recently used idle one */
            kf_store_free(lru->st);
            lru->st = NULL;
            free_slot = lru;
        }
        if (free_slot) {
            snprintf(free_slot->key, KEY_MAX, "%s", key);
            free_slot->st = st;
            free_slot->busy = 1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    *ret = st; /* not in a slot (all busy): closed when given back */
    return 0;
}

void kf_web_pool_put(struct kf_web_pool *p, struct kf_store *st, int broken)
{
    int kept = 0;

    if (!st)
        return;
    pthread_mutex_lock(&p->mu);
    for (uint32_t i = 0; i < p->max; i++) {
        if (p->slots[i].st == st) {
            if (broken) {
                p->slots[i].st = NULL;
            } else {
                p->slots[i].busy = 0;
                p->slots[i].used = ++p->tick;
                kept = 1;
            }
            p->slots[i].busy = 0;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (!kept)
        kf_store_free(st);
}

int kf_web_pool_writer_get(struct kf_web_pool *p, struct kf_store **ret)
{
    int r = 0;

    pthread_mutex_lock(&p->wmu);
    if (!p->writer)
        r = kf_store_open(p->path, KF_STORE_NOCREATE, &p->writer);
    if (r < 0) {
        p->writer = NULL;
        pthread_mutex_unlock(&p->wmu);
        return r;
    }
    *ret = p->writer;
    return 0;
}

void kf_web_pool_writer_put(struct kf_web_pool *p)
{
    pthread_mutex_unlock(&p->wmu);
}
