/* kioskctl/contract.c: contract versions as data (docs/BILLING.md "Operating it").
 * contract load FILE... parses every file, checks them together with the stored versions,
 * and stores them all or none, each with its signed-log entry, in one transaction;
 * contracts lists what is stored. */
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
#include "rules/contract.h"
#include "store/audit_log.h"
#include "store/billing.h"
#include "views/billing.h"

/* A whole file of at most max bytes; owned, NUL-terminated. */
static int read_text(const char *path, size_t max, char **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL)
        return -errno;
    buf = malloc(max + 2);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f) || n > max) {
        int r = ferror(f) ? -EIO : -EFBIG;

        fclose(f);
        free(buf);
        return r;
    }
    fclose(f);
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    return 0;
}

struct loaded {
    const char *path;
    char *text;
    size_t len;
    struct kf_contract c;
    char digest[65];
};

static int bank_codes(struct kf_store *st, struct kf_qtable **ret_t, const char ***ret_codes)
{
    struct kf_qtable *t = NULL;
    const char **codes;
    int r = kf_store_query_names(st, "bank", &t);

    if (r < 0)
        return r;
    codes = calloc(t->nrows + 1, sizeof(*codes));
    if (codes == NULL) {
        kf_store_query_table_free(t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->nrows; i++)
        codes[i] = kf_store_query_table_cell(t, i, 0);
    *ret_t = t;
    *ret_codes = codes;
    return 0;
}

/* Parse every file, then check them with the stored versions: 0, or 2 having said which
 * file and field is wrong. */
static int parse_all(struct kf_store *st, struct loaded *v, size_t n)
{
    struct kf_billing_contract_row *rows = NULL;
    struct kf_contract *set = NULL;
    struct kf_qtable *banks = NULL;
    const char **codes = NULL;
    size_t nrows = 0, nset = 0;
    char err[512];
    int r, rc = 0;

    r = bank_codes(st, &banks, &codes);
    if (r < 0)
        return kf_ctl_fail(st, "banks", r);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *canon = NULL;

        r = read_text(v[i].path, KF_CONTRACT_JSON_MAX, &v[i].text, &v[i].len);
        if (r < 0) {
            fprintf(stderr, "kioskctl: %s: %s\n", v[i].path,
                    r == -EFBIG ? "larger than a contract may be (64 KiB)" : kf_strerror(r));
            rc = r == -EFBIG ? 2 : 1;
            break;
        }
        r = kf_contract_parse(v[i].text, v[i].len, codes, banks->nrows, &v[i].c, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "kioskctl: %s: %s\n", v[i].path, err);
            rc = 2;
            break;
        }
        if (kf_contract_canonical(&v[i].c, &canon) < 0) {
            rc = 1;
            break;
        }
        kf_view_billing_digest(canon, strlen(canon), v[i].digest);
        free(canon);
    }
    if (rc == 0 && (r = kf_store_billing_contracts(st, NULL, &rows, &nrows)) < 0)
        rc = kf_ctl_fail(st, "contract versions", r);
    if (rc == 0 && (set = calloc(nrows + n + 1, sizeof(*set))) == NULL)
        rc = 1;
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        r = kf_contract_parse(rows[i].text, strlen(rows[i].text), codes, banks->nrows, &set[nset++],
                              err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "kioskctl: stored %s v%d: %s\n", rows[i].id, rows[i].version, err);
            rc = 1;
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        set[nset++] = v[i].c;
    if (rc == 0 && kf_contract_set_check(set, nset, err, sizeof(err)) < 0) {
        fprintf(stderr,
                "kioskctl: contract load: %s (with the stored versions and the files"
                " given; nothing stored)\n",
                err);
        rc = 2;
    }
    free(set);
    kf_store_billing_contracts_free(rows, nrows);
    free(codes);
    kf_store_query_table_free(banks);
    return rc;
}

/* The files' versions, checked with the stored ones, stored and logged: all or none. */
struct load_op {
    struct loaded *v;
    size_t n;
    const char *by, *reason;
};

static int load_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct load_op *l = ud;
    struct loaded *v = l->v;
    int r, rc = parse_all(st, v, l->n);

    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        int64_t now = kf_now_ms();
        char subject[96], detail[96];

        r = kf_store_billing_contract_add(st, &v[i].c, v[i].text, v[i].digest, now, l->by,
                                          l->reason);
        if (r == 0) {
            snprintf(subject, sizeof(subject), "%s/%s/v%d", v[i].c.bank, v[i].c.id, v[i].c.version);
            snprintf(detail, sizeof(detail), "{\"digest\":\"%s\"}", v[i].digest);
            r = kf_store_audit_log_append(st, now, l->by, "contract.load", subject, detail, sk);
        }
        if (r < 0)
            rc = kf_ctl_fail(st, v[i].path, r);
    }
    return rc;
}

static int contract_load(const struct kf_ctl *c, int argc, char **argv)
{
    const char *by = NULL, *reason = NULL, *key = NULL;
    struct loaded *v = NULL;
    struct load_op l;
    size_t n;
    int rc;

    if (kf_ctl_signed_opts(argc, argv, &by, &reason, &key) < 0)
        goto usage;
    if (optind >= argc || key == NULL || kf_ctl_who_why(by, reason) < 0)
        goto usage;
    n = (size_t)(argc - optind);
    v = calloc(n, sizeof(*v));
    if (v == NULL)
        return 1;
    for (size_t i = 0; i < n; i++)
        v[i].path = argv[optind + (int)i];
    /* One transaction (BEGIN IMMEDIATE): the check against the stored versions and the
     * inserts see the same table, whoever else loads at the same time. */
    l = (struct load_op){v, n, by, reason};
    rc = kf_ctl_signed_txn(c, key, load_run, &l);
    for (size_t i = 0; rc == 0 && i < n; i++)
        printf("%s/%s/v%d %s..%s %s\n", v[i].c.bank, v[i].c.id, v[i].c.version,
               kf_day_format(v[i].c.effective_from, (char[16]){0}, 16),
               v[i].c.effective_to == KF_CONTRACT_OPEN
                   ? ""
                   : kf_day_format(v[i].c.effective_to, (char[16]){0}, 16),
               v[i].digest);
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
    return rc;
usage:
    fprintf(stderr, "usage: kioskctl --db DB contract load FILE... --by WHO --reason TEXT"
                    " --server-key FILE\n");
    return 2;
}

int kf_ctl_contract(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return contract_load(c, argc - 1, argv + 1);
    fprintf(stderr, "usage: kioskctl --db DB contract load FILE... --by WHO --reason TEXT"
                    " --server-key FILE\n");
    return 2;
}

int kf_ctl_contracts(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"bank", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    static const char *const cols[] = {"bank",         "id",     "version", "effective_from",
                                       "effective_to", "digest", "loaded",  "loaded_by",
                                       "reason",       NULL};
    struct kf_billing_contract_row *rows = NULL;
    const char *bank = NULL;
    struct kf_qtable *t;
    struct kf_store *st;
    size_t n = 0;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch != 'b' || c->fmt > KF_FMT_JSON) {
            fprintf(stderr, "usage: kioskctl --db DB contracts [--bank B]\n");
            return 2;
        }
        bank = optarg;
    }
    if (optind != argc || c->fmt > KF_FMT_JSON) {
        fprintf(stderr, "usage: kioskctl --db DB contracts [--bank B]\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_billing_contracts(st, bank, &rows, &n);
    if (r < 0) {
        r = kf_ctl_fail(st, "contracts", r);
        kf_store_free(st);
        return r;
    }
    t = kf_store_query_table_new("contracts", NULL, cols, "xxixxxtxx");
    for (size_t i = 0; t && i < n; i++) {
        char ver[24], from[16], to[16], at[24];
        const char *cells[] = {rows[i].bank,
                               rows[i].id,
                               kf_ctl_int(rows[i].version, ver),
                               kf_day_format(rows[i].effective_from, from, sizeof(from)),
                               rows[i].effective_to == KF_CONTRACT_OPEN
                                   ? NULL
                                   : kf_day_format(rows[i].effective_to, to, sizeof(to)),
                               rows[i].digest,
                               kf_ctl_int(rows[i].loaded_ms, at),
                               rows[i].loaded_by,
                               rows[i].reason};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    kf_store_billing_contracts_free(rows, n);
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "contracts", t);
}
