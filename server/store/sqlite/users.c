/* store/sqlite/users.c: users and API tokens (store/users.h). Each change is one
 * transaction with its signed audit entry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <kf/time.h>
#include <sqlite3.h>

#include "store/audit_log.h"
#include "store/sqlite/int.h"
#include "store/users.h"

/* v14 (issue 17). A user is never deleted (the log names them): disabled instead. */
const char *const kf__store_schema_users[] = {
    "CREATE TABLE users(name TEXT PRIMARY KEY, role TEXT NOT NULL, display TEXT NOT NULL,"
    " pw_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
    " created_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL)",
    "CREATE TRIGGER users_no_delete BEFORE DELETE ON users"
    " BEGIN SELECT RAISE(ABORT, 'users: disable a user, never delete one'); END",
    "CREATE TABLE api_tokens(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
    " user TEXT NOT NULL REFERENCES users(name), label TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0)",
    NULL,
};

static const char *const role_names[] = {
    [KF_ROLE_OPERATOR] = "operator",
    [KF_ROLE_TECHNICIAN] = "technician",
    [KF_ROLE_BUREAU] = "bureau",
};

/* Bank codes as the fixtures write them (ICBC, CCB-PDS): letters, digits, '-', '_'. */
static int code_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > KF_TERMINAL_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int kf_role_parse(const char *text, struct kf_scope *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (text == NULL)
        return -EINVAL;
    if (strncmp(text, "bank:", 5) == 0) {
        if (!code_ok(text + 5))
            return -EINVAL;
        ret->role = KF_ROLE_BANK;
        snprintf(ret->bank, sizeof(ret->bank), "%s", text + 5);
        return 0;
    }
    for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (role_names[i] && strcmp(text, role_names[i]) == 0) {
            ret->role = (uint8_t)i;
            return 0;
        }
    return -EINVAL;
}

const char *kf_role_text(const struct kf_scope *s, char *buf, size_t cap)
{
    if (s->role == KF_ROLE_BANK)
        snprintf(buf, cap, "bank:%s", s->bank);
    else if (s->role < sizeof(role_names) / sizeof(role_names[0]) && role_names[s->role])
        snprintf(buf, cap, "%s", role_names[s->role]);
    else
        snprintf(buf, cap, "public");
    return buf;
}

static int name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > KF_USER_NAME_MAX ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int change_ok(struct kf_store *st, const struct kf_user_change *ch)
{
    if (ch == NULL || !kf__store_text_ok(ch->by, 128) || !kf__store_text_ok(ch->reason, 1024) ||
        ch->server_sk == NULL) {
        kf__store_seterr(st, "a change of users needs who, why and the server key");
        return -EINVAL;
    }
    return 0;
}

/* The audit entry of a change, detail d taken. */
static int audit(struct kf_store *st, const struct kf_user_change *ch, const char *action,
                 const char *subject, json_t *d)
{
    char *text;
    int r;

    if (d && json_object_set_new(d, "reason", json_string(ch->reason)) < 0) {
        json_decref(d);
        d = NULL;
    }
    text = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(d);
    if (text == NULL)
        return -ENOMEM;
    r = kf_store_audit_log_append(st, ch->at_ms, ch->by, action, subject, text, ch->server_sk);
    free(text);
    return r;
}

static int step_changes(struct kf_store *st, sqlite3_stmt *s, const char *what, int want_one)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_CONSTRAINT ? (kf__store_seterr(st, "%s: exists already", what), -EEXIST)
                                       : kf__store_sql_fail(st, rc, what);
    if (want_one && sqlite3_changes(kf__store_db(st)) != 1) {
        kf__store_seterr(st, "%s: no such user or token", what);
        return -ENOENT;
    }
    return 0;
}

static int bank_exists(struct kf_store *st, const char *bank)
{
    return kf__store_exists(st, ST_BANK_EXISTS, bank);
}

int kf_store_user_add(struct kf_store *st, const struct kf_user *u, const struct kf_user_change *ch)
{
    char role[KF_TERMINAL_ID_MAX + 8];
    sqlite3_stmt *s = NULL;
    int own = 0, r = change_ok(st, ch);

    if (r < 0)
        return r;
    if (!name_ok(u->name) || strlen(u->display) > KF_USER_DISPLAY_MAX ||
        (u->scope.role == KF_ROLE_BANK && !code_ok(u->scope.bank)) ||
        u->scope.role == KF_ROLE_NONE || u->scope.role > KF_ROLE_BUREAU) {
        kf__store_seterr(st,
                         "user %s: a name of a-z 0-9 . _ - (a letter or digit first, at most "
                         "%d) and a role: operator, technician, bank:CODE or bureau",
                         u->name, KF_USER_NAME_MAX);
        return -EINVAL;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    if (u->scope.role == KF_ROLE_BANK && (r = bank_exists(st, u->scope.bank)) <= 0) {
        if (r == 0) {
            kf__store_seterr(st, "user %s: no bank %s", u->name, u->scope.bank);
            r = -EINVAL;
        }
        return kf__store_txn_leave(st, own, r);
    }
    r = kf__store_prep(st,
                       "INSERT INTO users(name, role, display, pw_hash, created_ms, changed_ms)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                       &s);
    if (r == 0) {
        sqlite3_bind_text(s, 1, u->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, kf_role_text(&u->scope, role, sizeof(role)), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, u->display, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, u->pw_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, ch->at_ms);
        r = step_changes(st, s, "user", 0);
    }
    if (r == 0)
        r = audit(st, ch, "user.add", u->name,
                  json_pack("{s:s, s:s, s:b}", "role", role, "display", u->display, "password",
                            u->pw_hash[0] != '\0'));
    return kf__store_txn_leave(st, own, r);
}

static int user_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_user *u = row;

    memset(u, 0, sizeof(*u));
    kf__store_col_copy(u->name, sizeof(u->name), s, 0);
    if (kf_role_parse(kf__store_col_text(s, 1), &u->scope) < 0) {
        kf__store_seterr(st, "user %s: a stored role that is not one", u->name);
        return -EBADMSG;
    }
    kf__store_col_copy(u->display, sizeof(u->display), s, 2);
    kf__store_col_copy(u->pw_hash, sizeof(u->pw_hash), s, 3);
    u->disabled = (uint8_t)sqlite3_column_int(s, 4);
    u->created_ms = sqlite3_column_int64(s, 5);
    u->changed_ms = sqlite3_column_int64(s, 6);
    return 0;
}

int kf_store_user_get(struct kf_store *st, const char *name, struct kf_user *ret)
{
    sqlite3_stmt *s = NULL;
    struct kf_user *rows = NULL;
    size_t n = 0;
    int r = kf__store_prep(st,
                           "SELECT name, role, display, pw_hash, disabled, created_ms, changed_ms"
                           " FROM users WHERE name = ?1",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    r = kf__store_rows(st, s, sizeof(*rows), user_fill, "user", (void **)&rows, &n);
    if (r == 0 && n == 0) {
        kf__store_seterr(st, "no user %s", name);
        r = -ENOENT;
    }
    if (r == 0)
        *ret = rows[0];
    free(rows);
    return r;
}

/* One column of a user changed, with its audit entry. */
static int user_set(struct kf_store *st, const char *name, const char *sql, const char *value,
                    int ivalue, const char *action, json_t *d, const struct kf_user_change *ch)
{
    sqlite3_stmt *s = NULL;
    int own = 0, r = change_ok(st, ch);

    if (r < 0 || (r = kf__store_txn_enter(st, &own)) < 0) {
        json_decref(d);
        return r;
    }
    r = kf__store_prep(st, sql, &s);
    if (r == 0) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        if (value)
            sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int(s, 2, ivalue);
        sqlite3_bind_int64(s, 3, ch->at_ms);
        r = step_changes(st, s, name, 1);
    }
    if (r == 0)
        r = audit(st, ch, action, name, d);
    else
        json_decref(d);
    return kf__store_txn_leave(st, own, r);
}

int kf_store_user_set_disabled(struct kf_store *st, const char *name, int disabled,
                               const struct kf_user_change *ch)
{
    return user_set(st, name,
                    "UPDATE users SET disabled = ?2, changed_ms = ?3 WHERE name = ?1"
                    " AND disabled <> ?2",
                    NULL, disabled != 0, disabled ? "user.disable" : "user.enable", json_object(),
                    ch);
}

int kf_store_user_set_password(struct kf_store *st, const char *name, const char *pw_hash,
                               const struct kf_user_change *ch)
{
    return user_set(st, name, "UPDATE users SET pw_hash = ?2, changed_ms = ?3 WHERE name = ?1",
                    pw_hash, 0, "user.reset", json_object(), ch);
}

int kf_store_user_set_scope(struct kf_store *st, const char *name, const struct kf_scope *scope,
                            const struct kf_user_change *ch)
{
    char role[KF_TERMINAL_ID_MAX + 8];
    int r;

    if (scope->role == KF_ROLE_NONE || scope->role > KF_ROLE_BUREAU ||
        (scope->role == KF_ROLE_BANK && !code_ok(scope->bank))) {
        kf__store_seterr(st, "user %s: not a role", name);
        return -EINVAL;
    }
    if (scope->role == KF_ROLE_BANK && (r = bank_exists(st, scope->bank)) <= 0) {
        if (r == 0)
            kf__store_seterr(st, "user %s: no bank %s", name, scope->bank);
        return r == 0 ? -EINVAL : r;
    }
    kf_role_text(scope, role, sizeof(role));
    return user_set(st, name, "UPDATE users SET role = ?2, changed_ms = ?3 WHERE name = ?1", role,
                    0, "user.role", json_pack("{s:s}", "role", role), ch);
}

int kf_store_user_list(struct kf_store *st, struct kf_qtable **ret)
{
    struct kf__store_qparam now = {.i = kf_now_ms()};

    return kf__store_query_run(
        st, "users", NULL, "xxxbbtti",
        "SELECT u.name AS name, u.role AS role, u.display AS display, u.disabled AS disabled,"
        " u.pw_hash <> '' AS password, u.created_ms AS created, u.changed_ms AS changed,"
        " (SELECT count(*) FROM api_tokens t WHERE t.user = u.name AND t.revoked = 0"
        "  AND (t.expires_ms = 0 OR t.expires_ms > ?1)) AS tokens"
        " FROM users u ORDER BY u.name",
        &now, 1, ret);
}

int kf_store_token_add(struct kf_store *st, const char *user, const uint8_t hash[32],
                       const char *label, int64_t expires_ms, const struct kf_user_change *ch,
                       int64_t *ret_id)
{
    sqlite3_stmt *s = NULL;
    struct kf_user u;
    char subject[32];
    int own = 0, r = change_ok(st, ch);

    if (r < 0)
        return r;
    if (label == NULL || strlen(label) > KF_TOKEN_LABEL_MAX || expires_ms < 0) {
        kf__store_seterr(st, "token: a label of at most %d bytes", KF_TOKEN_LABEL_MAX);
        return -EINVAL;
    }
    if ((r = kf__store_txn_enter(st, &own)) < 0)
        return r;
    r = kf_store_user_get(st, user, &u);
    if (r == 0 && u.disabled) {
        kf__store_seterr(st, "user %s is disabled", user);
        r = -EINVAL;
    }
    if (r == 0)
        r = kf__store_prep(st,
                           "INSERT INTO api_tokens(hash, user, label, created_ms, expires_ms)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           &s);
    if (r == 0) {
        sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, label, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, ch->at_ms);
        sqlite3_bind_int64(s, 5, expires_ms);
        r = step_changes(st, s, "token", 0);
    }
    if (r == 0) {
        *ret_id = sqlite3_last_insert_rowid(kf__store_db(st));
        snprintf(subject, sizeof(subject), "token %lld", (long long)*ret_id);
        r = audit(st, ch, "token.add", subject,
                  json_pack("{s:s, s:s, s:I}", "user", user, "label", label, "expires_ms",
                            (json_int_t)expires_ms));
    }
    return kf__store_txn_leave(st, own, r);
}

static int token_fill(struct kf_store *st, sqlite3_stmt *s, void *row)
{
    struct kf_token *t = row;

    (void)st;
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(s, 0);
    kf__store_col_copy(t->user, sizeof(t->user), s, 1);
    kf__store_col_copy(t->label, sizeof(t->label), s, 2);
    t->created_ms = sqlite3_column_int64(s, 3);
    t->expires_ms = sqlite3_column_int64(s, 4);
    t->revoked = (uint8_t)sqlite3_column_int(s, 5);
    return 0;
}

int kf_store_token_lookup(struct kf_store *st, const uint8_t hash[32], struct kf_token *ret)
{
    sqlite3_stmt *s = NULL;
    struct kf_token *rows = NULL;
    size_t n = 0;
    int r = kf__store_prep(st,
                           "SELECT id, user, label, created_ms, expires_ms, revoked"
                           " FROM api_tokens WHERE hash = ?1",
                           &s);

    if (r < 0)
        return r;
    sqlite3_bind_blob(s, 1, hash, 32, SQLITE_TRANSIENT);
    r = kf__store_rows(st, s, sizeof(*rows), token_fill, "token", (void **)&rows, &n);
    if (r == 0 && n == 0) {
        kf__store_seterr(st, "no such token");
        r = -ENOENT;
    }
    if (r == 0)
        *ret = rows[0];
    free(rows);
    return r;
}

int kf_store_token_revoke(struct kf_store *st, int64_t id, const struct kf_user_change *ch)
{
    sqlite3_stmt *s = NULL;
    char subject[32];
    int own = 0, r = change_ok(st, ch);

    if (r < 0 || (r = kf__store_txn_enter(st, &own)) < 0)
        return r;
    r = kf__store_prep(st, "UPDATE api_tokens SET revoked = 1 WHERE id = ?1 AND revoked = 0", &s);
    if (r == 0) {
        sqlite3_bind_int64(s, 1, id);
        snprintf(subject, sizeof(subject), "token %lld", (long long)id);
        r = step_changes(st, s, subject, 1);
    }
    if (r == 0)
        r = audit(st, ch, "token.revoke", subject, json_object());
    return kf__store_txn_leave(st, own, r);
}

int kf_store_token_list(struct kf_store *st, struct kf_qtable **ret)
{
    struct kf__store_qparam now = {.i = kf_now_ms()};

    return kf__store_query_run(st, "tokens", NULL, "ixxttbb",
                               "SELECT id, user, label, created_ms AS created,"
                               " nullif(expires_ms, 0) AS expires, revoked,"
                               " revoked = 0 AND (expires_ms = 0 OR expires_ms > ?1) AS live"
                               " FROM api_tokens ORDER BY id",
                               &now, 1, ret);
}
