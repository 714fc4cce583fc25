/* web/auth.c: sessions and failed-login limits, in memory on the loop thread
 * (docs/WEB.md "Sessions"). A session is 32 random bytes in the kf_session cookie; it ends
 * after [session] idle_s without a request, absolute_s after its login, at logout, when its
 * user is disabled or changed (checked against the store on every request: web/call.c), and
 * at a restart (nothing is written to disk). Lookups compare ids in constant time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "web/server_int.h"

static int is_free(const struct kf_web_session *ss)
{
    static const uint8_t zero[32];

    return sodium_memcmp(ss->id, zero, 32) == 0;
}

int kf__web_sessions_init(struct kf_web_server *s)
{
    s->sessions = calloc(s->cfg.sessions_max, sizeof(*s->sessions));
    s->limits = calloc(KF_WEB_LIMITS_MAX, sizeof(*s->limits));
    return s->sessions && s->limits ? 0 : -1;
}

void kf__web_sessions_close(struct kf_web_server *s)
{
    if (s->sessions)
        sodium_memzero(s->sessions, s->cfg.sessions_max * sizeof(*s->sessions));
    free(s->sessions);
    free(s->limits);
    s->sessions = NULL;
    s->limits = NULL;
}

static int expired(const struct kf_web_server *s, const struct kf_web_session *ss, int64_t now)
{
    return now - ss->used_ms > (int64_t)s->cfg.idle_s * 1000 ||
           now - ss->created_ms > (int64_t)s->cfg.absolute_s * 1000;
}

struct kf_web_session *kf__web_session_find(struct kf_web_server *s, const char *cookie_hex,
                                            int64_t now_ms)
{
    uint8_t id[32];
    size_t n = 0;

    if (strlen(cookie_hex) != KF_WEB_SID_HEX ||
        sodium_hex2bin(id, sizeof(id), cookie_hex, KF_WEB_SID_HEX, NULL, &n, NULL) != 0 || n != 32)
        return NULL;
    for (uint32_t i = 0; i < s->cfg.sessions_max; i++) {
        struct kf_web_session *ss = &s->sessions[i];

        if (is_free(ss) || sodium_memcmp(ss->id, id, 32) != 0)
            continue;
        if (expired(s, ss, now_ms)) {
            sodium_memzero(ss, sizeof(*ss));
            return NULL;
        }
        ss->used_ms = now_ms;
        return ss;
    }
    return NULL;
}

struct kf_web_session *kf__web_session_new(struct kf_web_server *s, const struct kf_web_call *c,
                                           int64_t now_ms, char sid_hex[KF_WEB_SID_HEX + 1])
{
    struct kf_web_session *slot = NULL, *oldest = NULL;
    uint8_t csrf[32];

    for (uint32_t i = 0; i < s->cfg.sessions_max && !slot; i++) {
        struct kf_web_session *ss = &s->sessions[i];

        if (!is_free(ss) && expired(s, ss, now_ms))
            sodium_memzero(ss, sizeof(*ss));
        if (is_free(ss))
            slot = ss;
        else if (!oldest || ss->used_ms < oldest->used_ms)
            oldest = ss;
    }
    if (!slot) /* full: the least recently used session ends (its user logs in again) */
        slot = oldest;
    if (!slot)
        return NULL;
    memset(slot, 0, sizeof(*slot));
    randombytes_buf(slot->id, sizeof(slot->id));
    randombytes_buf(csrf, sizeof(csrf));
    sodium_bin2hex(slot->csrf, sizeof(slot->csrf), csrf, sizeof(csrf));
    sodium_bin2hex(sid_hex, KF_WEB_SID_HEX + 1, slot->id, sizeof(slot->id));
    snprintf(slot->user, sizeof(slot->user), "%s", c->user);
    snprintf(slot->display, sizeof(slot->display), "%s", c->display);
    slot->scope = c->scope;
    slot->created_ms = slot->used_ms = now_ms;
    return slot;
}

void kf__web_session_drop(struct kf_web_server *s, struct kf_web_session *ss)
{
    (void)s;
    if (ss)
        sodium_memzero(ss, sizeof(*ss));
}

void kf__web_session_drop_user(struct kf_web_server *s, const char *user)
{
    for (uint32_t i = 0; i < s->cfg.sessions_max; i++)
        if (!is_free(&s->sessions[i]) && strcmp(s->sessions[i].user, user) == 0)
            sodium_memzero(&s->sessions[i], sizeof(s->sessions[i]));
}

uint32_t kf__web_sessions_live(struct kf_web_server *s, int64_t now_ms)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < s->cfg.sessions_max; i++)
        n += !is_free(&s->sessions[i]) && !expired(s, &s->sessions[i], now_ms);
    return n;
}

/* ---- Failed logins: a fixed window per user name and per client address ------------------ */

static struct kf_web_limit *limit_find(struct kf_web_server *s, const char *key, int create,
                                       int64_t now_ms)
{
    struct kf_web_limit *free_slot = NULL, *oldest = NULL;
    int64_t window = (int64_t)s->cfg.login_window_s * 1000;

    for (size_t i = 0; i < KF_WEB_LIMITS_MAX; i++) {
        struct kf_web_limit *l = &s->limits[i];

        if (l->key[0] && now_ms - l->window_start_ms >= window)
            l->key[0] = '\0'; /* its window is over */
        if (l->key[0] && strcmp(l->key, key) == 0)
            return l;
        if (!l->key[0] && !free_slot)
            free_slot = l;
        else if (l->key[0] && (!oldest || l->window_start_ms < oldest->window_start_ms))
            oldest = l;
    }
    if (!create)
        return NULL;
    if (!free_slot)
        free_slot = oldest; /* bounded: the oldest window gives way */
    snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
    free_slot->window_start_ms = now_ms;
    free_slot->fails = 0;
    return free_slot;
}

int kf__web_limit_check(struct kf_web_server *s, const char *key, int64_t now_ms)
{
    struct kf_web_limit *l = limit_find(s, key, 0, now_ms);
    int64_t left;

    if (!l || l->fails < (key[0] == 'a' ? s->cfg.addr_fail_max : s->cfg.login_fail_max))
        return 0;
    left = l->window_start_ms + (int64_t)s->cfg.login_window_s * 1000 - now_ms;
    return (int)(left / 1000 + 1);
}

void kf__web_limit_fail(struct kf_web_server *s, const char *key, int64_t now_ms)
{
    struct kf_web_limit *l = limit_find(s, key, 1, now_ms);

    if (l)
        l->fails++;
}

void kf__web_limit_clear(struct kf_web_server *s, const char *key)
{
    struct kf_web_limit *l = limit_find(s, key, 0, 0);

    if (l)
        l->key[0] = '\0';
}
