/* kioskctl/inventory.c: what the terminals are (docs/KIOSKCTL.md "inventory",
 * store/inventory.h): counts grouped by any of the inventory's fields, one terminal's
 * inventory and its changes. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kioskctl/ctl.h"
#include "store/inventory.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: kioskctl --db DB inventory [--by FIELD[,FIELD...]] [--where FIELD=VALUE]...\n"
            "       kioskctl --db DB inventory show DEVICE\n"
            "FIELD: %s.\n"
            "--where keeps FIELD equal to VALUE or under it (agent=1.3: 1.3.0, 1.3.1 ...).\n",
            kf_store_inv_fields());
}

static int inv_show(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_qtable *t = NULL, *h = NULL;
    struct kf_store *st;
    int r;

    if (argc != 2) {
        usage();
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_inv_show(st, argv[1], &t);
    if (r == 0)
        r = kf_store_inv_changes(st, argv[1], &h);
    if (r < 0) {
        r = kf_ctl_fail(st, "inventory", r) + (r == -ENOENT);
        kf_store_query_table_free(t);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    r = kf_ctl_print_table_free(c, "inventory", t);
    if (r == 0) {
        printf("\n");
        r = kf_ctl_print_table_free(c, "inventory", h);
    } else {
        kf_store_query_table_free(h);
    }
    return r;
}

int kf_ctl_inventory(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"by", required_argument, NULL, 'b'},
        {"where", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    const char *by[KF_STORE_INV_BY_MAX], *wf[KF_STORE_INV_WHERE_MAX], *wv[KF_STORE_INV_WHERE_MAX];
    char *bycopy = NULL, *wcopy[KF_STORE_INV_WHERE_MAX];
    size_t nby = 0, nw = 0;
    struct kf_qtable *t = NULL;
    struct kf_store *st;
    int ch, r = 2;

    if (argc >= 2 && strcmp(argv[1], "show") == 0)
        return inv_show(c, argc - 1, argv + 1);
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'b' && bycopy == NULL) {
            char *f, *comma;

            if ((bycopy = strdup(optarg)) == NULL)
                return 1;
            for (f = bycopy; f != NULL; f = comma ? comma + 1 : NULL) {
                if ((comma = strchr(f, ',')) != NULL)
                    *comma = '\0';
                if (*f == '\0')
                    continue;
                if (nby == KF_STORE_INV_BY_MAX) {
                    fprintf(stderr, "kioskctl: --by: at most %d fields\n", KF_STORE_INV_BY_MAX);
                    goto out;
                }
                by[nby++] = f;
            }
        } else if (ch == 'w' && nw < KF_STORE_INV_WHERE_MAX) {
            char *eq;

            if ((wcopy[nw] = strdup(optarg)) == NULL) {
                r = 1;
                goto out;
            }
            eq = strchr(wcopy[nw], '=');
            if (eq == NULL || eq == wcopy[nw]) {
                free(wcopy[nw]);
                fprintf(stderr, "kioskctl: --where %s: FIELD=VALUE\n", optarg);
                goto out;
            }
            *eq = '\0';
            wf[nw] = wcopy[nw];
            wv[nw] = eq + 1;
            nw++;
        } else {
            usage();
            goto out;
        }
    }
    if (optind != argc) {
        usage();
        goto out;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0) {
        r = 1;
        goto out;
    }
    r = kf_store_inv_group(st, by, nby, wf, wv, nw, &t);
    if (r < 0) {
        r = kf_ctl_fail(st, "inventory", r) + (r == -EINVAL);
        kf_store_free(st);
        goto out;
    }
    kf_store_free(st);
    r = kf_ctl_print_table_free(c, "inventory", t);
out:
    free(bycopy);
    for (size_t i = 0; i < nw; i++)
        free(wcopy[i]);
    return r;
}
