/* kioskctl/asset.c: commissioning (DESIGN.md principle 6, docs/BILLING.md "Operating it"):
 * a terminal is in scheduled service from its commissioning at a zone to its
 * decommissioning; a move between zones (or banks) is a decommission and a commission in
 * one transaction. Each is a recorded operation with who, when and why: a row of
 * asset_service and an entry of the signed log, committed together. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/audit_log.h"
#include "store/billing.h"

enum op { OP_COMMISSION, OP_DECOMMISSION, OP_MOVE };

static void usage(void)
{
    fprintf(stderr,
            "usage: kioskctl --db DB asset commission ASSET|--all --at TIME --by WHO"
            " --reason TEXT --server-key FILE\n"
            "       kioskctl --db DB asset decommission ASSET --at TIME --by WHO --reason TEXT"
            " --server-key FILE\n"
            "       kioskctl --db DB asset move ASSET --zone ZONE --at TIME --by WHO"
            " --reason TEXT --server-key FILE\n");
}

static int log_op(struct kf_store *st, const char *action, const char *asset, int64_t at_ms,
                  const char *zone, const char *by, const char *reason, const uint8_t sk[64])
{
    json_t *d =
        json_pack("{s:I, s:s?, s:s}", "at_ms", (json_int_t)at_ms, "zone", zone, "reason", reason);
    char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int r = detail ? kf_store_audit_log_append(st, kf_now_ms(), by, action, asset, detail, sk)
                   : -ENOMEM;

    free(detail);
    json_decref(d);
    return r;
}

/* One asset's operation, in the caller's transaction. */
static int apply(struct kf_store *st, enum op op, const char *asset, const char *zone,
                 int64_t at_ms, const char *by, const char *reason, const uint8_t sk[64])
{
    int r = 0;

    if (op != OP_COMMISSION) {
        r = kf_store_billing_decommission(st, asset, at_ms, by, reason);
        if (r == 0)
            r = log_op(st, "asset.decommission", asset, at_ms, NULL, by, reason, sk);
    }
    if (r == 0 && op != OP_DECOMMISSION) {
        r = kf_store_billing_commission(st, asset, zone, at_ms, by, reason);
        if (r == 0)
            r = log_op(st, "asset.commission", asset, at_ms, zone, by, reason, sk);
    }
    return r;
}

/* The operation on one asset, or on every asset never commissioned (--all). */
struct asset_op {
    enum op op;
    const char *asset, *zone, *by, *reason;
    int all;
    int64_t at_ms;
    size_t n_done;
};

static int asset_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct asset_op *a = ud;
    char(*ids)[KF_TERMINAL_ID_MAX + 1] = NULL;
    size_t n_ids = 0;
    int r, rc = 0;

    if (a->all && (r = kf_store_billing_uncommissioned(st, &ids, &n_ids)) < 0)
        rc = kf_ctl_fail(st, "assets", r);
    for (size_t i = 0; rc == 0 && i < (a->all ? n_ids : 1); i++) {
        const char *id = a->all ? ids[i] : a->asset;

        r = apply(st, a->op, id, a->zone, a->at_ms, a->by, a->reason, sk);
        if (r < 0)
            rc = kf_ctl_fail(st, id, r) + (r == -ENOENT || r == -EEXIST || r == -EALREADY ||
                                           r == -EINVAL); /* the operator's input: 2 */
    }
    a->n_done = a->all ? n_ids : 1;
    free(ids);
    return rc;
}

int kf_ctl_asset(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, NULL, 'A'},
        {"zone", required_argument, NULL, 'z'},
        {"at", required_argument, NULL, 't'},
        {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    const char *zone = NULL, *at = NULL, *by = NULL, *reason = NULL, *key = NULL, *asset = NULL;
    struct asset_op a;
    int64_t at_ms;
    int ch, all = 0, rc;
    enum op op;

    if (argc < 2)
        goto usage;
    if (strcmp(argv[1], "commission") == 0)
        op = OP_COMMISSION;
    else if (strcmp(argv[1], "decommission") == 0)
        op = OP_DECOMMISSION;
    else if (strcmp(argv[1], "move") == 0)
        op = OP_MOVE;
    else
        goto usage;
    optind = 0;
    while ((ch = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'A':
            all = 1;
            break;
        case 'z':
            zone = optarg;
            break;
        case 't':
            at = optarg;
            break;
        case 'b':
            by = optarg;
            break;
        case 'r':
            reason = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (optind < argc - 1)
        asset = argv[1 + optind++];
    if (optind != argc - 1 || (asset == NULL) == !all || (all && op != OP_COMMISSION) ||
        (zone != NULL) != (op == OP_MOVE) || at == NULL || key == NULL ||
        kf_ctl_who_why(by, reason) < 0)
        goto usage;
    if (kf_ctl_parse_time(at, &at_ms) < 0) {
        fprintf(stderr, "kioskctl: --at %s: not a time (YYYY-MM-DD HH:MM[:SS], local)\n", at);
        return 2;
    }
    a = (struct asset_op){op, asset, zone, by, reason, all, at_ms, 0};
    rc = kf_ctl_signed_txn(c, key, asset_run, &a);
    if (rc == 0)
        printf("%s: %zu asset%s\n", argv[1], a.n_done, a.n_done == 1 ? "" : "s");
    return rc;
usage:
    usage();
    return 2;
}

int kf_ctl_assets(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"bank", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    static const char *const cols[] = {"asset",
                                       "kind",
                                       "zone",
                                       "bank",
                                       "in_service_from",
                                       "in_service_to",
                                       "commissioned_by",
                                       "decommissioned_by",
                                       "reason",
                                       NULL};
    struct kf_billing_service *v = NULL;
    const char *bank = NULL;
    struct kf_qtable *t;
    struct kf_store *st;
    size_t n = 0;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch != 'b')
            goto usage;
        bank = optarg;
    }
    if (optind != argc || c->fmt > KF_FMT_JSON)
        goto usage;
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_billing_asset_service(st, NULL, bank, &v, &n);
    if (r < 0) {
        r = kf_ctl_fail(st, "assets", r);
        kf_store_free(st);
        return r;
    }
    t = kf_store_query_table_new("assets", NULL, cols, "xxxxttxxx");
    for (size_t i = 0; t && i < n; i++) {
        char from[24], to[24];
        const char *cells[] = {
            v[i].asset_id,
            v[i].kind == 2 ? "itm" : "kiosk",
            v[i].zone_id,
            v[i].bank,
            kf_ctl_int(v[i].w.start_ms, from),
            v[i].w.end_ms == KF_TIME_NEVER ? NULL : kf_ctl_int(v[i].w.end_ms, to),
            v[i].implicit ? "(registered)" : v[i].commissioned_by,
            v[i].decommissioned_by[0] ? v[i].decommissioned_by : NULL,
            v[i].decommission_reason[0] ? v[i].decommission_reason
            : v[i].implicit             ? NULL
                                        : v[i].commission_reason,
        };

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    free(v);
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "assets", t);
usage:
    fprintf(stderr, "usage: kioskctl --db DB assets [--bank B]\n");
    return 2;
}
