/* kioskctl/bill.c: a bank's monthly bill (docs/BILLING.md "Operating it"): the close day,
 * drafts, issuing a closed month (numbered without gaps, signed, logged, never changed),
 * and the verification of an issued bill: its signature over the stored bytes, and the bill
 * computed again from the same inputs, byte for byte. The other subcommands (list, show,
 * disputes, credit notes) are in kioskctl/bill_docs.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "render/render.h"
#include "store/audit_log.h"
#include "store/billing.h"
#include "views/billing.h"
#include "views/sla.h"

/* ---- Shared by the billing commands (ctl.h) ---------------------------------------------- */

int kf_ctl_server_key(const char *path, uint8_t sk[64])
{
    int r = kf_keyfile_read(path, sk);

    if (r < 0)
        fprintf(stderr, "kioskctl: server key %s: %s\n", path, kf_strerror(r));
    return r;
}

int kf_ctl_signed_txn(const struct kf_ctl *c, const char *key_path, kf_ctl_signed_fn fn, void *ud)
{
    struct kf_store *st = NULL;
    uint8_t sk[64];
    int r, rc;

    if (kf_ctl_server_key(key_path, sk) < 0)
        return 1;
    if (kf_ctl_open_store(c, 1, &st) < 0) {
        rc = 1;
        goto out;
    }
    r = kf_store_begin(st);
    if (r < 0) {
        rc = kf_ctl_fail(st, "begin", r);
        goto out;
    }
    rc = fn(st, sk, ud);
    if (rc == 0 && (r = kf_store_end(st, 1)) < 0)
        rc = kf_ctl_fail(st, "commit", r);
    if (rc != 0)
        kf_store_end(st, 0);
out:
    sodium_memzero(sk, sizeof(sk));
    kf_store_free(st);
    return rc;
}

int kf_ctl_who_why(const char *by, const char *reason)
{
    if (by == NULL || !by[0] || strlen(by) > KF_BILLING_WHO_MAX) {
        fprintf(stderr, "kioskctl: --by WHO is required (at most %d bytes)\n", KF_BILLING_WHO_MAX);
        return -EINVAL;
    }
    if (reason == NULL || !reason[0] || strlen(reason) > KF_BILLING_REASON_MAX) {
        fprintf(stderr, "kioskctl: --reason TEXT is required (at most %d bytes)\n",
                KF_BILLING_REASON_MAX);
        return -EINVAL;
    }
    return 0;
}

int kf_ctl_signed_opts(int argc, char **argv, const char **by, const char **reason,
                       const char **key)
{
    static const struct option longopts[] = {
        {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'b')
            *by = optarg;
        else if (ch == 'r')
            *reason = optarg;
        else if (ch == 'k')
            *key = optarg;
        else
            return -1;
    }
    return 0;
}

int kf_ctl_write_doc(const struct kf_ctl *c, const char *json, size_t len)
{
    char err[256] = "";
    FILE *f = stdout;
    int r = 0;

    if ((c->fmt == KF_FMT_XLSX || c->fmt == KF_FMT_PDF) && c->out == NULL) {
        fprintf(stderr, "kioskctl: --format xlsx|pdf writes a file: give -o FILE\n");
        return 2;
    }
    if (c->fmt == KF_FMT_XLSX)
        r = kf_render_bill_xlsx(json, c->out, err, sizeof(err));
    else if (c->fmt == KF_FMT_PDF)
        r = kf_render_bill_pdf(json, c->out, err, sizeof(err));
    if (c->fmt == KF_FMT_XLSX || c->fmt == KF_FMT_PDF)
        goto out;
    if (c->out && (f = fopen(c->out, "wb")) == NULL) {
        fprintf(stderr, "kioskctl: %s: %s\n", c->out, strerror(errno));
        return 1;
    }
    if (c->fmt == KF_FMT_CSV) {
        r = kf_render_bill_csv(json, f, err, sizeof(err));
    } else {
        /* The canonical bytes as they are, nothing added: what the signature covers. */
        if (fwrite(json, 1, len, f) != len)
            r = -EIO;
        if (c->out == NULL && fputc('\n', f) == EOF)
            r = -EIO;
    }
    if (f != stdout && fclose(f) != 0 && r == 0)
        r = -EIO;
    if (f == stdout && fflush(f) != 0 && r == 0)
        r = -EIO;
out:
    if (r < 0) {
        fprintf(stderr, "kioskctl: %s: %s\n", c->out ? c->out : "stdout",
                err[0] ? err : kf_strerror(r));
        return 1;
    }
    return 0;
}

int kf_ctl_store_doc(struct kf_store *st, struct kf_billing_doc *d, const char *action,
                     const uint8_t sk[64])
{
    char detail[96];
    int r;

    kf_view_billing_digest(d->json, d->json_len, d->digest);
    crypto_sign_detached(d->sig, NULL, (const uint8_t *)d->json, d->json_len, sk);
    r = kf_store_billing_doc_add(st, d);
    if (r < 0)
        return r;
    snprintf(detail, sizeof(detail), "{\"digest\":\"%s\"}", d->digest);
    return kf_store_audit_log_append(st, d->issued_ms, d->issued_by, action, d->number, detail, sk);
}

/* ---- close-day ---------------------------------------------------------------------------- */

struct close_day_op {
    const char *by;
    int day;
};

static int close_day_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    const struct close_day_op *o = ud;
    char detail[32];
    int r;

    snprintf(detail, sizeof(detail), "{\"close_day\":%d}", o->day);
    r = kf_store_billing_set_close_day(st, o->day);
    if (r == 0)
        r = kf_store_audit_log_append(st, kf_now_ms(), o->by, "billing.close_day", "close_day",
                                      detail, sk);
    return r < 0 ? kf_ctl_fail(st, "close day", r) : 0;
}

static int bill_close_day(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"by", required_argument, NULL, 'b'},
        {"server-key", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    const char *by = NULL, *key = NULL;
    struct kf_store *st = NULL;
    struct close_day_op o;
    char *end;
    long day = 0;
    int ch, r, rc = 0;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'b')
            by = optarg;
        else if (ch == 'k')
            key = optarg;
        else
            goto usage;
    }
    if (optind == argc) { /* show it */
        int d;

        if (kf_ctl_open_store(c, 0, &st) < 0)
            return 1;
        r = kf_store_billing_close_day(st, &d);
        if (r < 0)
            rc = kf_ctl_fail(st, "close day", r);
        else
            printf("%d\n", d);
        kf_store_free(st);
        return rc;
    }
    day = strtol(argv[optind], &end, 10);
    if (optind + 1 != argc || *end || day < 1 || day > KF_BILLING_CLOSE_DAY_MAX || key == NULL ||
        kf_ctl_who_why(by, "-") < 0)
        goto usage;
    o = (struct close_day_op){by, (int)day};
    return kf_ctl_signed_txn(c, key, close_day_run, &o);
usage:
    fprintf(stderr,
            "usage: kioskctl --db DB bill close-day [N --by WHO --server-key FILE]"
            " (N: 1..%d)\n",
            KF_BILLING_CLOSE_DAY_MAX);
    return 2;
}

/* ---- draft -------------------------------------------------------------------------------- */

static int bill_draft(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"bank", required_argument, NULL, 'b'},
        {"month", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    struct kf_view_billing_opts o = {.status = KF_BILL_DRAFT};
    const char *bank = NULL, *month = NULL;
    struct kf_bill *b = NULL;
    struct kf_store *st;
    char err[512], *json = NULL;
    int ch, y, m, r, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'b')
            bank = optarg;
        else if (ch == 'm')
            month = optarg;
        else
            goto usage;
    }
    if (optind != argc || bank == NULL || kf_view_billing_month(month, &y, &m) < 0)
        goto usage;
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    /* A draft reads the facts as they are now: the month may still be open. */
    o.as_of_ms = kf_now_ms();
    r = kf_view_billing_compute(st, bank, y, m, &o, &b, err, sizeof(err));
    if (r == 0 && (r = kf_bill_json(b, &json)) < 0)
        snprintf(err, sizeof(err), "%s", kf_strerror(r));
    if (r < 0) {
        fprintf(stderr, "kioskctl: bill draft %s %s: %s\n", bank, month, err);
        rc = r == -ENOENT ? 2 : 1;
    } else {
        rc = kf_ctl_write_doc(c, json, strlen(json));
    }
    free(json);
    kf_bill_free(b);
    kf_store_free(st);
    return rc;
usage:
    fprintf(stderr, "usage: kioskctl --db DB bill draft --bank B --month YYYY-MM"
                    " [--format json|csv|xlsx|pdf] [-o FILE]\n");
    return 2;
}

/* ---- issue -------------------------------------------------------------------------------- */

/* Issue bank's bill for y-m in one transaction (BEGIN IMMEDIATE: two issuers take turns,
 * so the numbers have no gap and no duplicate). 0, 2 (refused: not closed, issued
 * already), 1 (failed). */
static int issue_one(struct kf_store *st, const char *bank, int y, int m, const char *by,
                     const uint8_t sk[64], const struct kf_report *rep)
{
    struct kf_view_billing_opts o = {.status = KF_BILL_ISSUED, .report = rep};
    struct kf_billing_adjustment *adj = NULL;
    struct kf_bill_line *lines = NULL;
    struct kf_billing_doc *docs = NULL;
    struct kf_billing_doc d = {.type = KF_BILLING_BILL};
    struct kf_bill *b = NULL;
    size_t n_adj = 0, n_docs = 0;
    int64_t close_ms, now = kf_now_ms();
    char err[512] = "", period[16], *json = NULL, closes[32];
    int r, rc = 0;

    snprintf(period, sizeof(period), "%04d-%02d", y, m);
    r = kf_store_begin(st);
    if (r < 0)
        return kf_ctl_fail(st, "begin", r);
    r = kf_view_billing_close_ms(st, y, m, &close_ms, err, sizeof(err));
    if (r == 0 && now < close_ms) {
        fprintf(stderr,
                "kioskctl: bill issue %s %s: the month is not closed: it closes %s"
                " (bill close-day)\n",
                bank, period, kf_ctl_local_time(close_ms, closes, sizeof(closes)));
        rc = 2;
        goto out;
    }
    if (r == 0 && (r = kf_store_billing_docs(st, bank, KF_BILLING_BILL, &docs, &n_docs)) < 0)
        snprintf(err, sizeof(err), "%s", kf_store_errmsg(st));
    for (size_t i = 0; r == 0 && i < n_docs; i++) {
        if (strcmp(docs[i].period, period) == 0) {
            fprintf(stderr,
                    "kioskctl: bill issue %s %s: issued already as %s (a correction is"
                    " a credit note: bill credit)\n",
                    bank, period, docs[i].number);
            rc = 2;
            goto out;
        }
    }
    if (r == 0)
        r = kf_view_billing_late(st, bank, y, m, now, &lines, &adj, &n_adj, err, sizeof(err));
    if (r == 0 && (r = kf_store_billing_next_seq(st, bank, KF_BILLING_BILL, &d.seq)) < 0)
        snprintf(err, sizeof(err), "%s", kf_store_errmsg(st));
    if (r == 0) {
        snprintf(d.number, sizeof(d.number), "%s-%06lld", bank, (long long)d.seq);
        o.number = d.number;
        o.issued_at_ms = now;
        o.as_of_ms = o.cut_ms = close_ms;
        o.adjustments = lines;
        o.n_adjustments = n_adj;
        r = kf_view_billing_compute(st, bank, y, m, &o, &b, err, sizeof(err));
    }
    if (r == 0 && (r = kf_bill_json(b, &json)) < 0)
        snprintf(err, sizeof(err), "%s", kf_strerror(r));
    if (r == 0) {
        snprintf(d.bank, sizeof(d.bank), "%s", bank);
        snprintf(d.period, sizeof(d.period), "%.7s", period);
        snprintf(d.issued_by, sizeof(d.issued_by), "%s", by);
        d.issued_ms = now;
        d.net_fen = b->net_fen;
        d.tax_fen = b->tax_fen;
        d.gross_fen = b->gross_fen;
        d.json = json;
        d.json_len = strlen(json);
        r = kf_ctl_store_doc(st, &d, "bill.issue", sk);
        if (r < 0)
            snprintf(err, sizeof(err), "%s", kf_store_errmsg(st));
    }
    for (size_t i = 0; r == 0 && i < n_adj; i++) {
        snprintf(adj[i].bill, sizeof(adj[i].bill), "%s", d.number);
        r = kf_store_billing_adjustment_add(st, &adj[i]);
        if (r < 0)
            snprintf(err, sizeof(err), "%s", kf_store_errmsg(st));
    }
    if (r == 0 && (r = kf_store_end(st, 1)) < 0)
        snprintf(err, sizeof(err), "commit: %s", kf_store_errmsg(st));
    if (r < 0) {
        fprintf(stderr, "kioskctl: bill issue %s %s: %s\n", bank, period,
                err[0] ? err : kf_strerror(r));
        rc = r == -ENOENT ? 2 : 1;
    } else {
        char money[KF_MONEY_FMT_MAX];

        kf_money_fmt(b->gross_fen, money, sizeof(money));
        printf("%s %s %s %s%s\n", d.number, bank, period, money,
               n_adj ? " (with adjustments of earlier months)" : "");
    }
out:
    if (rc != 0 || r < 0)
        kf_store_end(st, 0);
    free(json);
    free(docs);
    free(lines);
    free(adj);
    kf_bill_free(b);
    return rc;
}

static int bill_issue(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"bank", required_argument, NULL, 'b'},       {"all", no_argument, NULL, 'A'},
        {"month", required_argument, NULL, 'm'},      {"by", required_argument, NULL, 'w'},
        {"server-key", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0},
    };
    const char *bank = NULL, *month = NULL, *by = NULL, *key = NULL;
    struct kf_qtable *banks = NULL;
    struct kf_store *st = NULL;
    struct kf_report *rep = NULL;
    int64_t close_ms = 0, as_of = 0;
    char err[512] = "";
    uint8_t sk[64];
    int ch, all = 0, y, m, r, rc = 0;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            bank = optarg;
            break;
        case 'A':
            all = 1;
            break;
        case 'm':
            month = optarg;
            break;
        case 'w':
            by = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc || (bank == NULL) == !all || key == NULL ||
        kf_view_billing_month(month, &y, &m) < 0 || kf_ctl_who_why(by, "-") < 0)
        goto usage;
    if (kf_ctl_server_key(key, sk) < 0)
        return 1;
    if (kf_ctl_open_store(c, 1, &st) < 0) {
        rc = 1;
        goto out;
    }
    if (all && (r = kf_store_query_names(st, "bank", &banks)) < 0) {
        rc = kf_ctl_fail(st, "banks", r);
        goto out;
    }
    /* --all: each bank in its own transaction; one refused does not stop the others, and
     * the exit status is the worst. */
    /* The month's report covers the fleet: computed once for every bank's bill (as each
     * bill would compute it: at the close, with the incidents as they were then). */
    if (all && kf_view_billing_close_ms(st, y, m, &close_ms, err, sizeof(err)) == 0 &&
        kf_now_ms() >= close_ms &&
        kf_view_sla_report_cut(st, y, m, close_ms, close_ms, &rep, &as_of, err, sizeof(err)) < 0)
        rep = NULL; /* each bill computes it, and says what fails */
    for (size_t i = 0; i < (all ? banks->nrows : 1); i++) {
        int one =
            issue_one(st, all ? kf_store_query_table_cell(banks, i, 0) : bank, y, m, by, sk, rep);

        rc = one > rc ? one : rc;
    }
    kf_report_free(rep);
out:
    sodium_memzero(sk, sizeof(sk));
    kf_store_query_table_free(banks);
    kf_store_free(st);
    return rc;
usage:
    fprintf(stderr, "usage: kioskctl --db DB bill issue --bank B|--all --month YYYY-MM --by WHO"
                    " --server-key FILE\n");
    return 2;
}

/* ---- verify ------------------------------------------------------------------------------- */

/* Name the first difference between the stored bill and the one computed now: a top-level
 * key, or a line by its number, with both versions. */
static void first_difference(const char *stored, const char *now)
{
    json_t *a = json_loads(stored, 0, NULL), *b = json_loads(now, 0, NULL);
    const char *key;
    json_t *va;

    if (a == NULL || b == NULL) {
        printf("difference: the stored bill is not JSON\n");
        goto out;
    }
    json_object_foreach(a, key, va)
    {
        json_t *vb = json_object_get(b, key);

        if (json_equal(va, vb))
            continue;
        if (strcmp(key, "lines") == 0 && json_is_array(vb)) {
            size_t n = json_array_size(va) > json_array_size(vb) ? json_array_size(va)
                                                                 : json_array_size(vb);

            for (size_t i = 0; i < n; i++) {
                json_t *la = json_array_get(va, i), *lb = json_array_get(vb, i);
                char *sa, *sb;

                if (json_equal(la, lb))
                    continue;
                sa = la ? json_dumps(la, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                sb = lb ? json_dumps(lb, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                printf("difference: line %zu\n  stored: %s\n  now:    %s\n", i + 1,
                       sa ? sa : "(none)", sb ? sb : "(none)");
                free(sa);
                free(sb);
                goto out;
            }
        }
        char *sa = json_dumps(va, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY),
             *sb = vb ? json_dumps(vb, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;

        printf("difference: %s\n  stored: %s\n  now:    %s\n", key, sa ? sa : "?",
               sb ? sb : "(none)");
        free(sa);
        free(sb);
        goto out;
    }
    printf("difference: the bytes differ, not the values (not canonical)\n");
out:
    json_decref(a);
    json_decref(b);
}

/* Compute the issued bill d again from the store as of its close. 0 same bytes, 3
 * different (said on stdout), 1 failed. */
static int recompute(struct kf_store *st, const struct kf_billing_doc *d)
{
    struct kf_view_billing_opts o = {.status = KF_BILL_ISSUED, .number = d->number};
    struct kf_bill_line *lines = NULL;
    struct kf_bill *b = NULL;
    json_t *root = json_loadb(d->json, d->json_len, 0, NULL);
    const char *head =
        json_string_value(json_object_get(json_object_get(root, "inputs"), "log_head"));
    char err[512] = "", *json = NULL;
    size_t n = 0;
    int y, m, r, rc = 0;

    if (root == NULL || head == NULL || kf_view_billing_month(d->period, &y, &m) < 0) {
        printf("difference: the stored bill is not a bill this program issued\n");
        json_decref(root);
        return 3;
    }
    o.issued_at_ms = json_integer_value(json_object_get(root, "issued_at_ms"));
    o.log_head = head;
    r = kf_view_billing_close_ms(st, y, m, &o.as_of_ms, err, sizeof(err));
    o.cut_ms = o.as_of_ms;
    if (r == 0)
        r = kf_view_billing_adjustment_lines(st, d->number, &lines, &n, err, sizeof(err));
    o.adjustments = lines;
    o.n_adjustments = n;
    if (r == 0)
        r = kf_view_billing_compute(st, d->bank, y, m, &o, &b, err, sizeof(err));
    if (r == 0)
        r = kf_bill_json(b, &json);
    if (r < 0) {
        fprintf(stderr, "kioskctl: bill verify %s: %s\n", d->number, err[0] ? err : kf_strerror(r));
        rc = 1;
    } else if (kf_store_billing_log_has(st, head) != 1) {
        printf("difference: inputs.log_head %s is no entry of the signed log\n", head);
        rc = 3;
    } else if (strlen(json) != d->json_len || memcmp(json, d->json, d->json_len) != 0) {
        struct kf_billing_adjustment *a = NULL;
        size_t na = 0;

        first_difference(d->json, json);
        /* Late facts after the close: say which later bills adjusted this one already. */
        if (kf_store_billing_adjustments(st, d->number, NULL, &a, &na) == 0)
            for (size_t i = 0; i < na; i++)
                if (i == 0 || strcmp(a[i].bill, a[i - 1].bill) != 0)
                    printf("adjusted by %s (docs/BILLING.md, late facts)\n", a[i].bill);
        free(a);
        rc = 3;
    }
    free(json);
    free(lines);
    kf_bill_free(b);
    json_decref(root);
    return rc;
}

static int bill_verify(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server-pub", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    const char *pub = NULL, *number;
    struct kf_billing_doc d = {0};
    struct kf_store *st;
    uint8_t pk[32];
    char digest[65];
    int ch, r, rc = 0;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch != 'p')
            goto usage;
        pub = optarg;
    }
    if (optind + 1 != argc || pub == NULL)
        goto usage;
    number = argv[optind];
    if ((r = kf_pubkey_read(pub, pk)) < 0) {
        fprintf(stderr, "kioskctl: %s: not a public key file (%s)\n", pub, kf_strerror(r));
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_billing_doc(st, number, &d);
    if (r < 0) {
        rc = kf_ctl_fail(st, number, r) + (r == -ENOENT);
        goto out;
    }
    kf_view_billing_digest(d.json, d.json_len, digest);
    if (crypto_sign_verify_detached(d.sig, (const uint8_t *)d.json, d.json_len, pk) != 0) {
        printf("%s: signature: does not verify with %s over the stored bytes\n", number, pub);
        rc = 3;
    } else if (strcmp(digest, d.digest) != 0) {
        printf("%s: digest: stored %s, the bytes give %s\n", number, d.digest, digest);
        rc = 3;
    } else if (d.type == KF_BILLING_BILL) {
        rc = recompute(st, &d);
    }
    if (rc == 0)
        printf("%s: signature good, %s\n", number,
               d.type == KF_BILLING_BILL ? "recomputed byte for byte"
                                         : "credit note of its bill (not recomputed)");
out:
    free(d.json);
    kf_store_free(st);
    return rc;
usage:
    fprintf(stderr, "usage: kioskctl --db DB bill verify NUMBER --server-pub FILE\n");
    return 2;
}

/* ---- bill: the subcommands ---------------------------------------------------------------- */

static const struct {
    const char *name;
    kf_ctl_cmd_fn fn;
    int document; /* takes --format xlsx|pdf */
} subcommands[] = {
    {"close-day", bill_close_day, 0},
    {"draft", bill_draft, 1},
    {"issue", bill_issue, 0},
    {"verify", bill_verify, 0},
    {"list", kf_ctl_bill_list, 0},
    {"show", kf_ctl_bill_show, 1},
    {"dispute", kf_ctl_bill_dispute, 0},
    {"answer", kf_ctl_bill_answer, 0},
    {"credit", kf_ctl_bill_credit, 0},
    {"disputes", kf_ctl_bill_disputes, 0},
    {"export", kf_ctl_bill_export, 0},
};

int kf_ctl_bill(const struct kf_ctl *c, int argc, char **argv)
{
    for (size_t i = 0; argc >= 2 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(argv[1], subcommands[i].name) != 0)
            continue;
        if (!subcommands[i].document && (c->fmt == KF_FMT_XLSX || c->fmt == KF_FMT_PDF)) {
            fprintf(stderr, "kioskctl: bill %s: --format xlsx|pdf is for draft and show\n",
                    argv[1]);
            return 2;
        }
        return subcommands[i].fn(c, argc - 1, argv + 1);
    }
    fprintf(stderr, "usage: kioskctl --db DB bill close-day|draft|issue|list|show|verify|dispute|"
                    "answer|credit|disputes|export ... (kioskctl --help)\n");
    return 2;
}
