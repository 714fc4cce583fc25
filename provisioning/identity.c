/* identity.c: kiosk-provision token | revoke | replace (prov.h, docs/SECURITY.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/ident.h>
#include <kf/keyfile.h>
#include <kf/time.h>

#include "prov.h"
#include "store/registry.h"
#include "store/store.h"
#include "store/identity.h"

int kf_prov_parse_ttl(const char *s, int64_t *ret_ms)
{
    char *end;
    long long v;
    int64_t unit = 1000;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v <= 0)
        return -EINVAL;
    switch (*end) {
    case 's':
        end++;
        break;
    case 'm':
        unit = 60 * 1000;
        end++;
        break;
    case 'h':
        unit = 3600 * 1000;
        end++;
        break;
    case 'd':
        unit = 86400 * 1000;
        end++;
        break;
    default:
        break;
    }
    if (*end != '\0' || v > KF_TOKEN_TTL_MAX_MS / unit)
        return -EINVAL;
    *ret_ms = v * unit;
    return 0;
}

static int need(const char *v, const char *name)
{
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "kiosk-provision: %s is required\n", name);
        return -1;
    }
    return 0;
}

/* Open the store and read the server key; 0 or 1 (reported). */
static int open_both(const struct kf_prov_ident_opts *o, struct kf_store **st, uint8_t sk[64])
{
    int r;

    r = kf_keyfile_read(o->server_key, sk);
    if (r < 0) {
        fprintf(stderr, "kiosk-provision: server key %s: %s\n", o->server_key, kf_strerror(r));
        return 1;
    }
    r = kf_store_open(o->db, KF_STORE_NOCREATE, st);
    if (r < 0) {
        sodium_memzero(sk, 64);
        fprintf(stderr, "kiosk-provision: %s: %s\n", o->db, kf_strerror(r));
        return 1;
    }
    return 0;
}

static int write_secret_file(const char *path, const char *text)
{
    char line[KF_TOKEN_LEN + 2];
    size_t n = strlen(text);
    int r;

    if (n + 1 >= sizeof(line))
        return -EMSGSIZE;
    memcpy(line, text, n);
    line[n] = '\n';
    r = kf_file_write_atomic(path, line, n + 1, 0600, (gid_t)-1, 0);
    sodium_memzero(line, sizeof(line));
    return r;
}

/* After a change to the broker accounts: render the broker's files and reload it. Without
 * --auth-dir the broker is not told, and the terminal's only symptom would be a refused
 * login it cannot tell from a used token: say so here, where the operator can act. */
static int sync_broker(const char *cmd, const struct kf_prov_ident_opts *o)
{
    if (o->auth_dir == NULL) {
        fprintf(stderr,
                "kiosk-provision: %s: the broker was not told (no --auth-dir): %s until "
                "`kiosk-provision broker-sync --db %s --dir AUTHDIR` runs\n",
                cmd,
                strcmp(cmd, "revoke") == 0 ? "it still lets the device in"
                                           : "it refuses the terminal's enrollment login",
                o->db);
        return 0;
    }
    return kf_prov_broker_sync(o->db, o->auth_dir, o->pid_file);
}

static int print_token(const struct kf_prov_ident_opts *o, const char *asset, const char *id,
                       const char *token, int64_t expires_ms)
{
    char when[40];
    int r;

    kf_ms_format(expires_ms, when, sizeof(when));
    if (o->out != NULL) {
        r = write_secret_file(o->out, token);
        if (r < 0) {
            fprintf(stderr, "kiosk-provision: %s: %s\n", o->out, kf_strerror(r));
            return 1;
        }
        printf("token %s for asset %s written to %s; valid until %s\n", id, asset, o->out, when);
    } else {
        printf("%s\n", token);
        fprintf(stderr, "token %s for asset %s, one terminal, once, valid until %s\n", id, asset,
                when);
    }
    return 0;
}

/* token, revoke or replace: the same checks, one store call, the same reporting. */
static int ident_run(const char *cmd, const struct kf_prov_ident_opts *o)
{
    int revoke = strcmp(cmd, "revoke") == 0, kind = 0, r, ret;
    char token[KF_TOKEN_LEN + 1], id[KF_TOKEN_ID_LEN + 1];
    int64_t ttl = 72LL * 3600 * 1000, now = kf_now_ms();
    struct kf_store *st;
    uint8_t sk[64];

    if (need(o->db, "--db") || need(o->server_key, "--server-key") ||
        need(revoke ? o->device : o->asset, revoke ? "DEVICE_ID" : "--asset") ||
        need(o->by, "--by") || need(o->reason, "--reason"))
        return 2;
    if (!revoke && o->ttl != NULL && kf_prov_parse_ttl(o->ttl, &ttl) < 0) {
        fprintf(stderr, "kiosk-provision: --ttl must be like 90s, 30m, 72h or 7d (at most 30d)\n");
        return 2;
    }
    if (o->kind != NULL) {
        kind = strcmp(o->kind, "kiosk") == 0 ? KF_KIND_KIOSK
               : strcmp(o->kind, "itm") == 0 ? KF_KIND_ITM
                                             : -1;
        if (kind < 0) {
            fprintf(stderr, "kiosk-provision: --kind must be kiosk or itm\n");
            return 2;
        }
    }
    if (open_both(o, &st, sk) != 0)
        return 1;
    if (revoke) {
        r = kf_store_identity_revoke(st, o->device, o->by, o->reason, now, sk);
    } else if (strcmp(cmd, "replace") == 0) {
        r = kf_store_identity_replace(st, o->asset, o->by, o->reason, ttl, now, sk, token,
                                      sizeof(token), id);
    } else {
        struct kf_token_req tr = {
            .asset_id = o->asset,
            .kind = kind,
            .zone_id = o->zone,
            .lease_ref = o->lease,
            .actor = o->by,
            .reason = o->reason,
            .ttl_ms = ttl,
        };
        r = kf_store_identity_token_issue(st, &tr, now, sk, token, sizeof(token), id);
    }
    sodium_memzero(sk, sizeof(sk));
    if (r < 0) {
        fprintf(stderr, "kiosk-provision: %s: %s\n", cmd,
                kf_store_errmsg(st)[0] ? kf_store_errmsg(st) : kf_strerror(r));
        kf_store_free(st);
        return 1;
    }
    kf_store_free(st);
    ret = sync_broker(cmd, o);
    if (ret == 0 && revoke)
        printf("device %s revoked by %s: %s\n", o->device, o->by, o->reason);
    else if (ret == 0)
        ret = print_token(o, o->asset, id, token, now + ttl);
    sodium_memzero(token, sizeof(token));
    return ret;
}

int kf_prov_ident_main(const char *cmd, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"server-key", required_argument, NULL, 'k'},
        {"asset", required_argument, NULL, 'a'},
        {"kind", required_argument, NULL, 't'},
        {"zone", required_argument, NULL, 'z'},
        {"lease", required_argument, NULL, 'l'},
        {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},
        {"ttl", required_argument, NULL, 'T'},
        {"out", required_argument, NULL, 'o'},
        {"auth-dir", required_argument, NULL, 'D'},
        {"pid-file", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0},
    };
    struct kf_prov_ident_opts o;
    int c;

    memset(&o, 0, sizeof(o));
    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.db = optarg;
            break;
        case 'k':
            o.server_key = optarg;
            break;
        case 'a':
            o.asset = optarg;
            break;
        case 't':
            o.kind = optarg;
            break;
        case 'z':
            o.zone = optarg;
            break;
        case 'l':
            o.lease = optarg;
            break;
        case 'b':
            o.by = optarg;
            break;
        case 'r':
            o.reason = optarg;
            break;
        case 'T':
            o.ttl = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'D':
            o.auth_dir = optarg;
            break;
        case 'P':
            o.pid_file = optarg;
            break;
        default:
            return 2;
        }
    }
    if (strcmp(cmd, "revoke") == 0 && optind + 1 == argc)
        o.device = argv[optind++];
    if (optind != argc) {
        fprintf(stderr, "kiosk-provision: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o.pid_file != NULL && o.auth_dir == NULL) {
        fprintf(stderr, "kiosk-provision: --pid-file goes with --auth-dir\n");
        return 2;
    }
    return ident_run(cmd, &o);
}
