/* kioskctl/user.c: the people who use kiosk-web (docs/WEB.md "Users"): user add, disable,
 * enable, reset, role; user token add|revoke; users; tokens. Each change is a recorded
 * operation (kf_ctl_signed_txn): the row and its signed-log entry, with who and why, in one
 * transaction. Passwords come from a file (mode 0600), from standard input, or are made
 * here and printed once; tokens are printed once and stored as a hash. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/passwd.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/users.h"

#define KF_TOKEN_DAYS_MAX 3660

static void usage(void)
{
    fprintf(stderr,
            "usage: kioskctl --db DB user add NAME --role operator|technician|bank:CODE|bureau\n"
            "           [--display TEXT] [--password-file FILE | --password-stdin]\n"
            "           --by WHO --reason TEXT --server-key FILE\n"
            "       kioskctl --db DB user disable|enable NAME --by WHO --reason TEXT"
            " --server-key FILE\n"
            "       kioskctl --db DB user reset NAME [--password-file FILE | --password-stdin]"
            " --by WHO --reason TEXT --server-key FILE\n"
            "       kioskctl --db DB user role NAME --role ROLE --by WHO --reason TEXT"
            " --server-key FILE\n"
            "       kioskctl --db DB user token add NAME [--label TEXT] [--days N]"
            " --by WHO --reason TEXT --server-key FILE\n"
            "       kioskctl --db DB user token revoke ID --by WHO --reason TEXT"
            " --server-key FILE\n"
            "       kioskctl --db DB users | tokens\n"
            "A password is 8 to 256 bytes; without --password-file or --password-stdin one is\n"
            "made and printed once.\n");
}

enum op { OP_ADD, OP_DISABLE, OP_ENABLE, OP_RESET, OP_ROLE, OP_TOKEN_ADD, OP_TOKEN_REVOKE };

struct user_op {
    enum op op;
    const char *name, *display, *label;
    struct kf_scope scope;
    char pw_hash[KF_PW_HASH_MAX];
    uint8_t token_hash[32];
    int64_t expires_ms, token_id;
    struct kf_user_change ch;
};

static int user_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct user_op *u = ud;
    struct kf_user nu;
    int r;

    u->ch.server_sk = sk;
    switch (u->op) {
    case OP_ADD:
        memset(&nu, 0, sizeof(nu));
        snprintf(nu.name, sizeof(nu.name), "%s", u->name);
        nu.scope = u->scope;
        snprintf(nu.display, sizeof(nu.display), "%s", u->display ? u->display : u->name);
        snprintf(nu.pw_hash, sizeof(nu.pw_hash), "%s", u->pw_hash);
        r = kf_store_user_add(st, &nu, &u->ch);
        break;
    case OP_DISABLE:
    case OP_ENABLE:
        r = kf_store_user_set_disabled(st, u->name, u->op == OP_DISABLE, &u->ch);
        break;
    case OP_RESET:
        r = kf_store_user_set_password(st, u->name, u->pw_hash, &u->ch);
        break;
    case OP_ROLE:
        r = kf_store_user_set_scope(st, u->name, &u->scope, &u->ch);
        break;
    case OP_TOKEN_ADD:
        r = kf_store_token_add(st, u->name, u->token_hash, u->label ? u->label : "", u->expires_ms,
                               &u->ch, &u->token_id);
        break;
    default:
        r = kf_store_token_revoke(st, u->token_id, &u->ch);
        break;
    }
    if (r < 0)
        return kf_ctl_fail(st, u->name ? u->name : "token", r) +
               (r == -ENOENT || r == -EEXIST || r == -EINVAL); /* the operator's input: 2 */
    return 0;
}

/* The password: from a file, a line of standard input, or made here (printed). */
static int password(const char *file, int from_stdin, char pw[KF_PW_MAX + 2], int *made)
{
    size_t len = 0;
    int r;

    *made = 0;
    if (file) {
        r = kf_secret_file_read(file, pw, KF_PW_MAX + 2, &len);
        if (r < 0) {
            fprintf(stderr, "kioskctl: --password-file %s: %s\n", file, kf_strerror(r));
            return -1;
        }
    } else if (from_stdin) {
        if (!fgets(pw, KF_PW_MAX + 2, stdin)) {
            fprintf(stderr, "kioskctl: --password-stdin: no line on standard input\n");
            return -1;
        }
        len = strcspn(pw, "\n");
        pw[len] = '\0';
    } else {
        uint8_t raw[12];

        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(pw, KF_PW_MAX + 2, raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof(raw));
        *made = 1;
    }
    return 0;
}

static int hash_password(const char *file, int from_stdin, struct user_op *u, char *made_pw)
{
    char pw[KF_PW_MAX + 2];
    int made, r;

    if (password(file, from_stdin, pw, &made) < 0)
        return 1;
    r = kf_pw_hash(pw, u->pw_hash);
    if (r == 0 && made)
        snprintf(made_pw, KF_PW_MAX + 2, "%s", pw);
    sodium_memzero(pw, sizeof(pw));
    if (r == -EINVAL) {
        fprintf(stderr,
                "kioskctl: a password is %d to %d bytes of UTF-8 text, no control "
                "characters\n",
                KF_PW_MIN, KF_PW_MAX);
        return 2;
    }
    if (r < 0) {
        fprintf(stderr, "kioskctl: hashing the password: %s\n", kf_strerror(r));
        return 1;
    }
    return 0;
}

static int list(const struct kf_ctl *c, const char *what)
{
    struct kf_qtable *t = NULL;
    struct kf_store *st;
    int r;

    if (c->fmt > KF_FMT_JSON || kf_ctl_open_store(c, 0, &st) < 0)
        return c->fmt > KF_FMT_JSON ? 2 : 1;
    r = strcmp(what, "users") == 0 ? kf_store_user_list(st, &t) : kf_store_token_list(st, &t);
    if (r < 0) {
        r = kf_ctl_fail(st, what, r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    return kf_ctl_print_table_free(c, what, t);
}

int kf_ctl_users(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc != 1) {
        usage();
        return 2;
    }
    return list(c, argv[0]);
}

int kf_ctl_user(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"role", required_argument, NULL, 'R'},
        {"display", required_argument, NULL, 'd'},
        {"password-file", required_argument, NULL, 'p'},
        {"password-stdin", no_argument, NULL, 'P'},
        {"label", required_argument, NULL, 'l'},
        {"days", required_argument, NULL, 'D'},
        {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    const char *role = NULL, *pw_file = NULL, *key = NULL, *days = NULL, *arg;
    char made_pw[KF_PW_MAX + 2] = "", token[KF_TOKEN_TEXT_MAX] = "";
    struct user_op u;
    int ch, pw_stdin = 0, words, rc;

    memset(&u, 0, sizeof(u));
    if (argc < 3)
        goto usage;
    words = 2;
    if (strcmp(argv[1], "add") == 0)
        u.op = OP_ADD;
    else if (strcmp(argv[1], "disable") == 0)
        u.op = OP_DISABLE;
    else if (strcmp(argv[1], "enable") == 0)
        u.op = OP_ENABLE;
    else if (strcmp(argv[1], "reset") == 0)
        u.op = OP_RESET;
    else if (strcmp(argv[1], "role") == 0)
        u.op = OP_ROLE;
    else if (strcmp(argv[1], "token") == 0 && strcmp(argv[2], "add") == 0)
        u.op = OP_TOKEN_ADD, words = 3;
    else if (strcmp(argv[1], "token") == 0 && strcmp(argv[2], "revoke") == 0)
        u.op = OP_TOKEN_REVOKE, words = 3;
    else
        goto usage;
    optind = 0;
    while ((ch = getopt_long(argc - words + 1, argv + words - 1, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'R':
            role = optarg;
            break;
        case 'd':
            u.display = optarg;
            break;
        case 'p':
            pw_file = optarg;
            break;
        case 'P':
            pw_stdin = 1;
            break;
        case 'l':
            u.label = optarg;
            break;
        case 'D':
            days = optarg;
            break;
        case 'b':
            u.ch.by = optarg;
            break;
        case 'r':
            u.ch.reason = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc - words || key == NULL || kf_ctl_who_why(u.ch.by, u.ch.reason) < 0 ||
        (role != NULL) != (u.op == OP_ADD || u.op == OP_ROLE) ||
        ((pw_file || pw_stdin) && u.op != OP_ADD && u.op != OP_RESET) || (pw_file && pw_stdin) ||
        ((u.label || days) && u.op != OP_TOKEN_ADD) || (u.display && u.op != OP_ADD))
        goto usage;
    arg = argv[argc - 1];
    if (role && kf_role_parse(role, &u.scope) < 0) {
        fprintf(stderr, "kioskctl: --role %s: operator, technician, bank:CODE or bureau\n", role);
        return 2;
    }
    if (u.op == OP_TOKEN_REVOKE) {
        char *end;

        u.token_id = strtoll(arg, &end, 10);
        if (*end || u.token_id <= 0) {
            fprintf(stderr, "kioskctl: %s: not a token id (kioskctl tokens lists them)\n", arg);
            return 2;
        }
    } else {
        u.name = arg;
    }
    if (days) {
        char *end;
        long d = strtol(days, &end, 10);

        if (*end || d < 1 || d > KF_TOKEN_DAYS_MAX) {
            fprintf(stderr, "kioskctl: --days %s: 1 to %d\n", days, KF_TOKEN_DAYS_MAX);
            return 2;
        }
        u.expires_ms = kf_now_ms() + (int64_t)d * 86400000;
    }
    if ((u.op == OP_ADD || u.op == OP_RESET) &&
        (rc = hash_password(pw_file, pw_stdin, &u, made_pw)) != 0)
        return rc;
    if (u.op == OP_TOKEN_ADD)
        kf_api_token_new(token, u.token_hash);
    u.ch.at_ms = kf_now_ms();
    rc = kf_ctl_signed_txn(c, key, user_run, &u);
    if (rc == 0) {
        if (u.op == OP_TOKEN_ADD)
            printf("token %lld for %s (shown once; keep it secret): %s\n", (long long)u.token_id,
                   u.name, token);
        else if (u.op == OP_TOKEN_REVOKE)
            printf("token %lld revoked\n", (long long)u.token_id);
        else if (made_pw[0])
            printf("user %s: %s; password (shown once): %s\n", u.name, argv[1], made_pw);
        else
            printf("user %s: %s\n", u.name, argv[1]);
    }
    sodium_memzero(made_pw, sizeof(made_pw));
    sodium_memzero(token, sizeof(token));
    return rc;
usage:
    usage();
    return 2;
}
