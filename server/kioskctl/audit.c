/* kioskctl/audit.c: kioskctl audit [--action PREFIX]... | audit verify --server-pub FILE:
 * print or verify the signed log (store/audit_log.h): identity, the SLA engine's sealed
 * runs, contracts, commissioning, bills. The server's public key comes from outside the database:
 * a key stored beside the log could be replaced together with it. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/identity.h"

#define ACTIONS_MAX 16

struct listing {
    struct kf_qtable *t;
    const char *prefix[ACTIONS_MAX]; /* --action: entries whose action starts so; none: all */
    int n_prefix;
};

static int list_one(const struct kf_audit_entry *e, void *ud)
{
    struct listing *l = ud;
    struct kf_qtable *t = l->t;
    int keep = l->n_prefix == 0;

    for (int i = 0; !keep && i < l->n_prefix; i++)
        keep = strncmp(e->action, l->prefix[i], strlen(l->prefix[i])) == 0;
    if (!keep)
        return 0;
    char seq[24], at[24], hash[65];
    const char *cells[] = {kf_ctl_int(e->seq, seq),
                           kf_ctl_int(e->at_ms, at),
                           e->actor,
                           e->action,
                           e->subject,
                           e->detail[0] ? e->detail : NULL,
                           hash};

    kf_hex_encode(e->hash, 32, hash, sizeof(hash));
    return kf_store_query_table_add_row(t, cells);
}

int kf_ctl_audit(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server-pub", required_argument, NULL, 'p'},
        {"action", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    struct listing l = {0};
    const char *pub = NULL;
    struct kf_store *st;
    uint8_t pk[32], head[32];
    int ch, verify = 0, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'a' && l.n_prefix < ACTIONS_MAX) {
            l.prefix[l.n_prefix++] = optarg;
            continue;
        }
        if (ch != 'p') {
            fprintf(stderr, "usage: kioskctl --db DB audit [--action PREFIX]... | audit verify "
                            "--server-pub FILE\n");
            return 2;
        }
        pub = optarg;
    }
    if (optind < argc && strcmp(argv[optind], "verify") == 0) {
        verify = 1;
        optind++;
    }
    if (optind != argc || (verify && pub == NULL)) {
        fprintf(stderr, "usage: kioskctl --db DB audit [verify --server-pub FILE]\n"
                        "  verify needs the server's public key from outside the database\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    if (!verify) {
        static const char *const cols[] = {"seq",     "at",     "actor", "action",
                                           "subject", "detail", "hash",  NULL};
        struct kf_qtable *t = kf_store_query_table_new(
            "audit", "the signed log (identity, SLA runs, contracts, assets, bills)", cols,
            "itxxxxx");

        l.t = t;
        r = t != NULL ? kf_store_audit_log_each(st, list_one, &l) : -ENOMEM;
        if (r < 0) {
            kf_store_query_table_free(t);
            r = kf_ctl_fail(st, "audit", r);
        } else {
            r = kf_ctl_print_table_free(c, "audit", t);
        }
    } else {
        int64_t n = 0, bad = 0;
        const char *what = NULL;
        char hex[65];

        r = kf_pubkey_read(pub, pk);
        if (r < 0) {
            fprintf(stderr, "kioskctl: %s: not a public key file (%s)\n", pub, kf_strerror(r));
            kf_store_free(st);
            return 1;
        }
        r = kf_store_audit_log_verify(st, pk, &n, head, &bad, &what);
        kf_hex_encode(head, 32, hex, sizeof(hex));
        if (r < 0) {
            r = kf_ctl_fail(st, "audit verify", r);
        } else if (c->fmt == KF_FMT_JSON) {
            /* One shape whatever the outcome: what does not apply is null. */
            json_t *o = json_pack("{s:b, s:I, s:s?, s:o, s:s?}", "intact", r == 0, "entries",
                                  (json_int_t)n, "head", r == 0 ? hex : NULL, "first_bad_seq",
                                  r == 0 ? json_null() : json_integer((json_int_t)bad), "problem",
                                  r == 0 ? NULL : what);
            r = kf_ctl_emit_json(o) < 0 ? 1 : (r == 0 ? 0 : 3);
        } else if (r == 0) {
            printf("audit log intact: %lld entries, every hash chained and signed by the "
                   "server key; head %s\n",
                   (long long)n, hex);
        } else {
            printf("AUDIT LOG BROKEN at entry %lld: %s (%lld entries before it are intact)\n",
                   (long long)bad, what, (long long)n);
            r = 3;
        }
    }
    kf_store_free(st);
    if (fflush(stdout) != 0)
        return 1;
    return r;
}
