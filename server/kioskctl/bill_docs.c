/* kioskctl/bill_docs.c: what follows an issued bill (docs/BILLING.md "Operating it"): the
 * list, one document shown in a form people use, a bank's dispute of a line, the answer,
 * and credit notes. A credit note is a document of its own, "kioskfleet.credit-note/1": the
 * bill's schema (rules/bill.h writes it, with one adjustment line referring to the bill
 * and line it credits) with "doc" renamed and a "ref" after it; numbered without gaps per
 * bank (<BANK>-CN-000001), signed and logged like a bill, never changed. */
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
#include "rules/bill.h"
#include "store/audit_log.h"
#include "store/billing.h"
#include "views/billing.h"

#define BILL_DOC "{\"doc\":\"kioskfleet.bill/1\","
#define CN_DOC "{\"doc\":\"kioskfleet.credit-note/1\","

/* ---- list, show --------------------------------------------------------------------------- */

static int bank_opt(int argc, char **argv, const char **bank)
{
    static const struct option longopts[] = {
        {"bank", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    int ch;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch != 'b')
            return -EINVAL;
        *bank = optarg;
    }
    return optind == argc ? 0 : -EINVAL;
}

int kf_ctl_bill_list(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_billing_doc *d = NULL;
    const char *bank = NULL;
    struct kf_qtable *t;
    struct kf_store *st;
    size_t n = 0;
    int r;

    if (bank_opt(argc, argv, &bank) < 0) {
        fprintf(stderr, "usage: kioskctl --db DB bill list [--bank B]\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_billing_docs(st, bank, 0, &d, &n);
    if (r < 0) {
        r = kf_ctl_fail(st, "bill list", r);
        kf_store_free(st);
        return r;
    }
    t = kf_view_billing_docs_table(d, n);
    free(d);
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "bills", t);
}

/* A credit note in the bill's own form, for the renderers: "doc" back to the bill's, the
 * "ref" left out (its line names the bill and line it credits). Owned. */
static char *as_bill(const char *json)
{
    const char *ref = json + strlen(CN_DOC), *end;
    char *out;

    if (strncmp(json, CN_DOC "\"ref\":{", strlen(CN_DOC "\"ref\":{")) != 0)
        return strdup(json);
    end = strchr(ref, '}'); /* ref is flat: {"number":"...","line":n} */
    if (end == NULL || end[1] != ',')
        return strdup(json);
    if (asprintf(&out, "%s%s", BILL_DOC, end + 2) < 0)
        return NULL;
    return out;
}

int kf_ctl_bill_show(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_billing_doc d = {0};
    struct kf_store *st;
    int r, rc;

    if (argc != 2) {
        fprintf(stderr, "usage: kioskctl --db DB bill show NUMBER [--format json|csv|xlsx|pdf]"
                        " [-o FILE]\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_billing_doc(st, argv[1], &d);
    if (r < 0) {
        rc = kf_ctl_fail(st, argv[1], r) + (r == -ENOENT);
        kf_store_free(st);
        return rc;
    }
    if (c->fmt == KF_FMT_TABLE || c->fmt == KF_FMT_JSON) {
        rc = kf_ctl_write_doc(c, d.json, d.json_len);
        /* Beside a file of the stored bytes, their signature: what a bank checks. */
        if (rc == 0 && c->out) {
            char path[4096], hex[129];
            FILE *f;

            kf_hex_encode(d.sig, sizeof(d.sig), hex, sizeof(hex));
            snprintf(path, sizeof(path), "%s.sig", c->out);
            f = fopen(path, "w");
            if (f == NULL || fprintf(f, "%s\n", hex) < 0 || fclose(f) != 0) {
                fprintf(stderr, "kioskctl: %s: %s\n", path, strerror(errno));
                rc = 1;
            }
        }
    } else {
        char *bill = as_bill(d.json);

        rc = bill ? kf_ctl_write_doc(c, bill, strlen(bill)) : 1;
        free(bill);
    }
    free(d.json);
    kf_store_free(st);
    return rc;
}

/* ---- credit notes ------------------------------------------------------------------------- */

/* The line no of an issued bill's JSON, and the bill's own fields a credit note copies. */
struct billed {
    json_t *root, *line;
    int lines;
};

static int billed_load(const struct kf_billing_doc *d, uint32_t no, struct billed *ret)
{
    json_t *lines;

    ret->root = json_loadb(d->json, d->json_len, 0, NULL);
    lines = json_object_get(ret->root, "lines");
    ret->lines = (int)json_array_size(lines);
    ret->line = no >= 1 && no <= json_array_size(lines) ? json_array_get(lines, no - 1) : NULL;
    return ret->root ? 0 : -EBADMSG;
}

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

static int64_t ji(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* Issue a credit note for line `no` of bill `number`, in the caller's transaction.
 * amount_fen: the gross to credit (> 0), or 0 for the whole line. 0, or 2 (refused: said
 * why), or 1. ret_number: the credit note's number. */
static int credit_issue(struct kf_store *st, const char *number, uint32_t no, int64_t amount_fen,
                        const char *reason, const char *by, const uint8_t sk[64],
                        char ret_number[KF_BILLING_NUMBER_MAX + 1])
{
    struct kf_billing_doc bill = {0}, cn = {.type = KF_BILLING_CREDIT_NOTE}, *prev = NULL;
    struct billed bd = {0};
    struct kf_bill_line ln = {0};
    struct kf_bill_rate rate;
    struct kf_bill_input_digest in;
    struct kf_bill b = {0};
    size_t n_prev = 0;
    int64_t credited = 0, now = kf_now_ms(), line_gross;
    char *json = NULL, *doc = NULL, e[64];
    int r, rc = 0;

    r = kf_store_billing_doc(st, number, &bill);
    if (r < 0)
        return kf_ctl_fail(st, number, r) + (r == -ENOENT);
    if (bill.type != KF_BILLING_BILL || billed_load(&bill, no, &bd) < 0 || bd.line == NULL) {
        fprintf(stderr, "kioskctl: %s: no line %u of a bill (it has %d)\n", number, no, bd.lines);
        rc = 2;
        goto out;
    }
    line_gross = ji(bd.line, "gross_fen");
    r = kf_store_billing_docs(st, bill.bank, KF_BILLING_CREDIT_NOTE, &prev, &n_prev);
    if (r < 0) {
        rc = kf_ctl_fail(st, "credit notes", r);
        goto out;
    }
    for (size_t i = 0; i < n_prev; i++)
        if (strcmp(prev[i].ref, number) == 0 && prev[i].ref_line == (int32_t)no)
            credited += -prev[i].gross_fen;
    if (amount_fen == 0)
        amount_fen = line_gross - credited;
    /* A line is credited up to its own amount, over all its credit notes. */
    if (line_gross <= 0 || amount_fen <= 0 || amount_fen > line_gross - credited) {
        fprintf(stderr, "kioskctl: %s line %u: %lld fen of %lld left to credit (credited %lld)\n",
                number, no, (long long)amount_fen, (long long)(line_gross - credited),
                (long long)credited);
        rc = 2;
        goto out;
    }
    ln.no = 1;
    ln.kind = KF_LINE_ADJUSTMENT;
    ln.basis = KF_BASIS_REF;
    snprintf(ln.asset, sizeof(ln.asset), "%s", js(bd.line, "asset"));
    ln.terminal_kind = strcmp(js(bd.line, "terminal_kind"), "itm") == 0     ? KF_TERMINAL_ITM
                       : strcmp(js(bd.line, "terminal_kind"), "kiosk") == 0 ? KF_TERMINAL_KIOSK
                                                                            : 0;
    snprintf(ln.model, sizeof(ln.model), "%s", js(bd.line, "model"));
    snprintf(ln.zone, sizeof(ln.zone), "%s", js(bd.line, "zone"));
    snprintf(ln.period, sizeof(ln.period), "%s", js(bd.line, "period"));
    ln.days = ln.period_days = KF_BILL_NA;
    ln.unit_fen = KF_BILL_NA;
    snprintf(ln.ref, sizeof(ln.ref), "%s", number);
    ln.ref_line = no;
    ln.tax_rate_bp = (int32_t)ji(bd.line, "tax_rate_bp");
    if (amount_fen == line_gross) { /* the whole line: exactly its figures */
        ln.net_fen = -ji(bd.line, "net_fen");
        ln.tax_fen = -ji(bd.line, "tax_fen");
        ln.gross_fen = -line_gross;
    } else if (kf_money_tax_line(-amount_fen, ln.tax_rate_bp, 1, KF_ROUND_HALF_UP, &ln.net_fen,
                                 &ln.tax_fen, &ln.gross_fen) < 0) {
        rc = 1;
        goto out;
    }
    snprintf(ln.text, sizeof(ln.text), "贷项通知 账单 %s 第%u行: %.300s", number, no, reason);
    r = kf_store_billing_next_seq(st, bill.bank, KF_BILLING_CREDIT_NOTE, &cn.seq);
    if (r < 0) {
        rc = kf_ctl_fail(st, "credit note number", r);
        goto out;
    }
    snprintf(cn.number, sizeof(cn.number), "%s-CN-%06lld", bill.bank, (long long)cn.seq);
    b.status = KF_BILL_ISSUED;
    snprintf(b.number, sizeof(b.number), "%s", cn.number);
    snprintf(b.bank_code, sizeof(b.bank_code), "%s", bill.bank);
    snprintf(b.bank_name, sizeof(b.bank_name), "%s", js(json_object_get(bd.root, "bank"), "name"));
    snprintf(b.period, sizeof(b.period), "%s", bill.period);
    b.from_ms = ji(bd.root, "from_ms");
    b.to_ms = ji(bd.root, "to_ms");
    b.issued_at_ms = now;
    b.prices_include_tax = json_is_true(json_object_get(bd.root, "prices_include_tax"));
    b.n_lines = 1;
    b.lines = &ln;
    rate = (struct kf_bill_rate){ln.tax_rate_bp, ln.net_fen, ln.tax_fen, ln.gross_fen};
    b.n_rates = 1;
    b.by_rate = &rate;
    b.net_fen = ln.net_fen;
    b.tax_fen = ln.tax_fen;
    b.gross_fen = ln.gross_fen;
    kf_money_capital(b.gross_fen, b.gross_capital, sizeof(b.gross_capital));
    snprintf(in.name, sizeof(in.name), "bill");
    snprintf(in.hex, sizeof(in.hex), "%s", bill.digest);
    b.n_inputs = 1;
    b.inputs = &in;
    r = kf_bill_json(&b, &json);
    if (r < 0 || strncmp(json, BILL_DOC, strlen(BILL_DOC)) != 0 ||
        asprintf(&doc, CN_DOC "\"ref\":{\"number\":\"%s\",\"line\":%u},%s", number, no,
                 json + strlen(BILL_DOC)) < 0) {
        doc = NULL;
        rc = 1;
        goto out;
    }
    snprintf(cn.bank, sizeof(cn.bank), "%s", bill.bank);
    snprintf(cn.period, sizeof(cn.period), "%s", bill.period);
    snprintf(cn.ref, sizeof(cn.ref), "%s", number);
    cn.ref_line = (int32_t)no;
    cn.issued_ms = now;
    snprintf(cn.issued_by, sizeof(cn.issued_by), "%s", by);
    cn.net_fen = b.net_fen;
    cn.tax_fen = b.tax_fen;
    cn.gross_fen = b.gross_fen;
    cn.json = doc;
    cn.json_len = strlen(doc);
    r = kf_ctl_store_doc(st, &cn, "bill.credit", sk);
    if (r < 0) {
        rc = kf_ctl_fail(st, cn.number, r);
        goto out;
    }
    snprintf(ret_number, KF_BILLING_NUMBER_MAX + 1, "%s", cn.number);
    kf_money_fmt(b.gross_fen, e, sizeof(e));
    printf("%s %s line %u %s\n", cn.number, number, no, e);
out:
    free(json);
    free(doc);
    free(prev);
    free(bill.json);
    json_decref(bd.root);
    return rc;
}

/* Options shared by dispute, answer and credit. */
struct doc_opts {
    const char *by, *reason, *key;
    long line;
    int64_t amount;
    int accept, refuse;
};

static int doc_opts(int argc, char **argv, struct doc_opts *o)
{
    static const struct option longopts[] = {
        {"by", required_argument, NULL, 'b'},         {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'}, {"line", required_argument, NULL, 'l'},
        {"amount-fen", required_argument, NULL, 'a'}, {"accept", no_argument, NULL, 'A'},
        {"refuse", no_argument, NULL, 'R'},           {NULL, 0, NULL, 0},
    };
    char *end;
    int ch;

    memset(o, 0, sizeof(*o));
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            o->by = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'l':
            o->line = strtol(optarg, &end, 10);
            if (*end || o->line < 1 || o->line > 100000)
                return -EINVAL;
            break;
        case 'a':
            o->amount = strtoll(optarg, &end, 10);
            if (*end || o->amount <= 0)
                return -EINVAL;
            break;
        case 'A':
            o->accept = 1;
            break;
        case 'R':
            o->refuse = 1;
            break;
        default:
            return -EINVAL;
        }
    }
    if (optind + 1 != argc || o->key == NULL || kf_ctl_who_why(o->by, o->reason) < 0)
        return -EINVAL;
    return 0;
}

/* Run fn on arg in a recorded operation's transaction (kf_ctl_signed_txn). */
typedef int (*in_txn_fn)(struct kf_store *st, const char *arg, const struct doc_opts *o,
                         const uint8_t sk[64]);
struct in_txn_ud {
    const char *arg;
    const struct doc_opts *o;
    in_txn_fn fn;
};

static int in_txn_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    const struct in_txn_ud *u = ud;

    return u->fn(st, u->arg, u->o, sk);
}

static int in_txn(const struct kf_ctl *c, const char *arg, const struct doc_opts *o, in_txn_fn fn)
{
    struct in_txn_ud u = {arg, o, fn};

    return kf_ctl_signed_txn(c, o->key, in_txn_run, &u);
}

static int do_credit(struct kf_store *st, const char *number, const struct doc_opts *o,
                     const uint8_t sk[64])
{
    char cn[KF_BILLING_NUMBER_MAX + 1];

    return credit_issue(st, number, (uint32_t)o->line, o->amount, o->reason, o->by, sk, cn);
}

int kf_ctl_bill_credit(const struct kf_ctl *c, int argc, char **argv)
{
    struct doc_opts o;

    if (doc_opts(argc, argv, &o) < 0 || o.line == 0 || o.accept || o.refuse) {
        fprintf(stderr, "usage: kioskctl --db DB bill credit NUMBER --line N [--amount-fen F]"
                        " --reason TEXT --by WHO --server-key FILE\n");
        return 2;
    }
    return in_txn(c, argv[argc - 1], &o, do_credit);
}

/* ---- disputes ----------------------------------------------------------------------------- */

static int do_dispute(struct kf_store *st, const char *number, const struct doc_opts *o,
                      const uint8_t sk[64])
{
    struct kf_billing_doc d = {0};
    struct billed bd = {0};
    int64_t id, now = kf_now_ms();
    json_t *detail;
    char *text = NULL, subject[64];
    int r, rc = 0;

    r = kf_store_billing_doc(st, number, &d);
    if (r < 0)
        return kf_ctl_fail(st, number, r) + (r == -ENOENT);
    if (d.type != KF_BILLING_BILL || billed_load(&d, (uint32_t)o->line, &bd) < 0 ||
        bd.line == NULL) {
        fprintf(stderr, "kioskctl: %s: no line %ld of a bill (it has %d)\n", number, o->line,
                bd.lines);
        rc = 2;
        goto out;
    }
    r = kf_store_billing_dispute_add(st, number, (int32_t)o->line, now, o->by, o->reason, &id);
    detail = json_pack("{s:I, s:I, s:s}", "dispute", (json_int_t)id, "line", (json_int_t)o->line,
                       "reason", o->reason);
    text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    snprintf(subject, sizeof(subject), "%s", number);
    if (r == 0)
        r = text ? kf_store_audit_log_append(st, now, o->by, "bill.dispute", subject, text, sk)
                 : -ENOMEM;
    if (r < 0)
        rc = kf_ctl_fail(st, "dispute", r);
    else
        printf("dispute %lld: %s line %ld\n", (long long)id, number, o->line);
out:
    free(text);
    free(d.json);
    json_decref(bd.root);
    return rc;
}

int kf_ctl_bill_dispute(const struct kf_ctl *c, int argc, char **argv)
{
    struct doc_opts o;

    if (doc_opts(argc, argv, &o) < 0 || o.line == 0 || o.amount || o.accept || o.refuse) {
        fprintf(stderr, "usage: kioskctl --db DB bill dispute NUMBER --line N --reason TEXT"
                        " --by WHO --server-key FILE\n");
        return 2;
    }
    return in_txn(c, argv[argc - 1], &o, do_dispute);
}

static int do_answer(struct kf_store *st, const char *arg, const struct doc_opts *o,
                     const uint8_t sk[64])
{
    struct kf_billing_dispute *d = NULL;
    char cn[KF_BILLING_NUMBER_MAX + 1] = "", subject[48], *end, *text = NULL;
    int64_t id = strtoll(arg, &end, 10), now = kf_now_ms();
    size_t n = 0;
    json_t *detail;
    int r, rc = 0;

    if (*end || id <= 0) {
        fprintf(stderr, "kioskctl: %s: not a dispute id\n", arg);
        return 2;
    }
    r = kf_store_billing_disputes(st, NULL, id, &d, &n);
    if (r < 0)
        return kf_ctl_fail(st, "dispute", r) + (r == -ENOENT);
    if (d[0].state != KF_DISPUTE_OPEN) {
        fprintf(stderr, "kioskctl: dispute %lld was answered already (%s)\n", (long long)id,
                d[0].state == KF_DISPUTE_ACCEPTED ? "accepted" : "refused");
        rc = 2;
        goto out;
    }
    if (o->accept)
        rc = credit_issue(st, d[0].bill, (uint32_t)d[0].line, o->amount, o->reason, o->by, sk, cn);
    if (rc == 0)
        r = kf_store_billing_answer_add(st, id, o->accept, now, o->by, o->reason,
                                        cn[0] ? cn : NULL);
    if (rc == 0 && r == 0) {
        detail = json_pack("{s:b, s:s?, s:s}", "accept", o->accept, "credit_note",
                           cn[0] ? cn : NULL, "reason", o->reason);
        text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(detail);
        snprintf(subject, sizeof(subject), "dispute/%lld", (long long)id);
        r = text ? kf_store_audit_log_append(st, now, o->by, "bill.answer", subject, text, sk)
                 : -ENOMEM;
    }
    if (rc == 0 && r < 0)
        rc = kf_ctl_fail(st, "answer", r);
    if (rc == 0)
        printf("dispute %lld: %s%s%s\n", (long long)id, o->accept ? "accepted" : "refused",
               cn[0] ? ", credit note " : "", cn);
out:
    free(text);
    free(d);
    return rc;
}

int kf_ctl_bill_answer(const struct kf_ctl *c, int argc, char **argv)
{
    struct doc_opts o;

    if (doc_opts(argc, argv, &o) < 0 || o.line || o.accept == o.refuse || (o.amount && !o.accept)) {
        fprintf(stderr, "usage: kioskctl --db DB bill answer ID --accept|--refuse"
                        " [--amount-fen F] --reason TEXT --by WHO --server-key FILE\n");
        return 2;
    }
    return in_txn(c, argv[argc - 1], &o, do_answer);
}

int kf_ctl_bill_disputes(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_billing_dispute *d = NULL;
    const char *bank = NULL;
    struct kf_qtable *t;
    struct kf_store *st;
    size_t n = 0;
    int r;

    if (bank_opt(argc, argv, &bank) < 0) {
        fprintf(stderr, "usage: kioskctl --db DB bill disputes [--bank B]\n");
        return 2;
    }
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_billing_disputes(st, bank, 0, &d, &n);
    if (r < 0) {
        r = kf_ctl_fail(st, "disputes", r);
        kf_store_free(st);
        return r;
    }
    t = kf_view_billing_disputes_table(d, n);
    free(d);
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "disputes", t);
}
