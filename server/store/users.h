/* store/users.h: the people who use kiosk-web, their API tokens, and what each may see
 * (docs/SECURITY.md "Users, roles and scope").
 *
 * What is kept (schema v14):
 *   users        one row per person: name, role (and bank for a bank's user), a display
 *                name, the password as libsodium's crypto_pwhash_str text (Argon2id),
 *                disabled or not, when created and last changed;
 *   api_tokens   tokens for scripts: BLAKE2b-256 of the token (the token itself is shown
 *                once and never stored), its user, a label, expiry, revoked or not.
 * Every change is one transaction with its audit entry ("user.add", "user.disable",
 * "user.enable", "user.reset", "user.role", "token.add", "token.revoke") signed by the
 * server key, with who and why: a user who never was in the log cannot exist.
 *
 * Scope (DESIGN.md principle 10): kf_store_open_scoped opens a read-only connection on which
 * every table a role may not read in full is shadowed by a TEMP view of the same name that
 * keeps only the role's rows (a bank: its zones' terminals, incidents, usage, bills) or
 * none (keys, tokens, users for everyone but the operator). SQLite resolves an unqualified
 * name in temp before main, so every query of the store, present and future, is scoped by
 * the connection it runs on; store/sqlite/scope.c classifies every table and a test fails
 * when a table is added without a class.
 *
 * Same threading rule as store.h. Functions return 0 or a negative errno (details in
 * kf_store_errmsg): -ENOENT no such user or token, -EEXIST a user of that name exists,
 * -EINVAL a bad name, role or bank.
 */
#ifndef KF_STORE_USERS_H
#define KF_STORE_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "rules/incident.h"
#include "store/query.h"
#include "store/store.h"

#define KF_USER_NAME_MAX 64     /* [a-z0-9._-], starting with a letter or digit */
#define KF_USER_DISPLAY_MAX 128 /* UTF-8 */
#define KF_USER_HASH_MAX 128    /* >= crypto_pwhash_STRBYTES */
#define KF_TOKEN_LABEL_MAX 128

enum kf_role {
    KF_ROLE_NONE = 0,   /* the public: the zone finder only */
    KF_ROLE_OPERATOR,   /* "operator": the maintenance company, everything, user admin */
    KF_ROLE_TECHNICIAN, /* "technician": fleet, incidents, actions on incidents */
    KF_ROLE_BANK,       /* "bank:CODE": that bank's zones, terminals, bills */
    KF_ROLE_BUREAU,     /* "bureau": every zone's usage, reports, assessments; no keys */
};

/* Who a connection or a request acts for. bank is set for KF_ROLE_BANK only. */
struct kf_scope {
    uint8_t role; /* enum kf_role */
    char bank[KF_TERMINAL_ID_MAX + 1];
};

/* "operator", "technician", "bank:ICBC", "bureau" -> role and bank. 0 or -EINVAL. The bank
 * is not looked up here (kf_store_user_add checks it exists). */
int kf_role_parse(const char *text, struct kf_scope *ret);
/* The text of a scope ("bank:ICBC"), in buf. */
const char *kf_role_text(const struct kf_scope *s, char *buf, size_t cap);

struct kf_user {
    char name[KF_USER_NAME_MAX + 1];
    struct kf_scope scope;
    char display[KF_USER_DISPLAY_MAX + 1];
    char pw_hash[KF_USER_HASH_MAX + 1]; /* crypto_pwhash_str text; "" none (no login) */
    uint8_t disabled;
    int64_t created_ms, changed_ms;
};

/* Who changes a user or a token, and why: goes into the audit entry. */
struct kf_user_change {
    const char *by;     /* required */
    const char *reason; /* required */
    int64_t at_ms;
    const uint8_t *server_sk; /* 64 bytes: signs the audit entry; required */
};

/* Add a user (u->name, scope, display, pw_hash; the rest is set here). */
int kf_store_user_add(struct kf_store *st, const struct kf_user *u,
                      const struct kf_user_change *ch);
/* One user by name. */
int kf_store_user_get(struct kf_store *st, const char *name, struct kf_user *ret);
/* Disable (1) or enable (0): a disabled user cannot log in, its sessions end at their next
 * request and its tokens stop working. */
int kf_store_user_set_disabled(struct kf_store *st, const char *name, int disabled,
                               const struct kf_user_change *ch);
/* A new password hash (a reset). */
int kf_store_user_set_password(struct kf_store *st, const char *name, const char *pw_hash,
                               const struct kf_user_change *ch);
/* A new role. */
int kf_store_user_set_scope(struct kf_store *st, const char *name, const struct kf_scope *scope,
                            const struct kf_user_change *ch);
/* Every user, by name. Table "users": name, role, display, disabled, created, changed,
 * tokens (live ones). Never the hashes. */
int kf_store_user_list(struct kf_store *st, struct kf_qtable **ret);

struct kf_token {
    int64_t id;
    char user[KF_USER_NAME_MAX + 1];
    char label[KF_TOKEN_LABEL_MAX + 1];
    int64_t created_ms, expires_ms; /* expires_ms 0: never */
    uint8_t revoked;
};
/* Store a token by its hash (BLAKE2b-256 of the token's text); ret_id its id. */
int kf_store_token_add(struct kf_store *st, const char *user, const uint8_t hash[32],
                       const char *label, int64_t expires_ms, const struct kf_user_change *ch,
                       int64_t *ret_id);
/* The token with that hash (revoked and expired ones too: the caller decides). */
int kf_store_token_lookup(struct kf_store *st, const uint8_t hash[32], struct kf_token *ret);
int kf_store_token_revoke(struct kf_store *st, int64_t id, const struct kf_user_change *ch);
/* Every token (never the hashes). Table "tokens": id, user, label, created, expires,
 * revoked. */
int kf_store_token_list(struct kf_store *st, struct kf_qtable **ret);

/* Open the store at path read only, scoped to what scope may read (see the top). */
int kf_store_open_scoped(const char *path, const struct kf_scope *scope, struct kf_store **ret);

#endif
