/* kioskctl/bill_export.c: `bill export NUMBER -o FILE [--server-pub FILE]`, the evidence of
 * one issued bill for its bank (views/bundle.h; the bank checks it with kf-bill-check). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kf/err.h>
#include <kf/keyfile.h>

#include "kioskctl/ctl.h"
#include "views/bundle.h"

int kf_ctl_bill_export(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server-pub", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    struct kf_view_bundle_stats stats = {0};
    const char *pub = NULL, *number;
    char pk[65] = "", err[512], tmp[400];
    uint8_t pkb[32];
    struct kf_store *st;
    FILE *f;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch != 'p')
            goto usage;
        pub = optarg;
    }
    if (optind + 1 != argc || c->out == NULL || strcmp(c->out, "-") == 0)
        goto usage;
    number = argv[optind];
    if (pub && (r = kf_pubkey_read(pub, pkb)) == 0)
        kf_hex_encode(pkb, sizeof(pkb), pk, sizeof(pk));
    if (pub && r < 0) {
        fprintf(stderr, "kioskctl: %s: not a public key file (%s)\n", pub, kf_strerror(r));
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    /* Written beside the target and renamed: a half-written bundle is never left under the
     * name the bank is given. */
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", c->out) >= sizeof(tmp)) {
        fprintf(stderr, "kioskctl: bill export: -o: a path that long is not taken\n");
        kf_store_free(st);
        return 2;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "kioskctl: bill export: %s: %s\n", tmp, strerror(errno));
        kf_store_free(st);
        return 1;
    }
    r = kf_view_bundle_export(st, number, pub ? pk : NULL, f, &stats, err, sizeof(err));
    if (fclose(f) != 0 && r == 0) {
        r = -EIO;
        snprintf(err, sizeof(err), "%.400s: %s", tmp, strerror(errno));
    }
    kf_store_free(st);
    if (r == 0 && rename(tmp, c->out) != 0) {
        r = -errno;
        snprintf(err, sizeof(err), "%.400s: %s", c->out, strerror(errno));
    }
    if (r < 0) {
        unlink(tmp);
        fprintf(stderr, "kioskctl: bill export %s: %s\n", number, err);
        return r == -ENOENT || r == -EINVAL ? 2 : 1;
    }
    fprintf(stderr,
            "kioskctl: bill export %s: %s: %zu terminals, %zu contract versions, %zu log entries "
            "(%zu seals), %zu facts, %zu signed frames\n",
            number, c->out, stats.terminals, stats.contracts, stats.log_entries, stats.seals,
            stats.facts, stats.frames);
    return 0;
usage:
    fprintf(stderr, "usage: kioskctl --db DB bill export NUMBER -o FILE [--server-pub FILE]\n"
                    "  the evidence of an issued bill for its bank: check with kf-bill-check FILE "
                    "--server-pub HEX|FILE\n");
    return 2;
}
