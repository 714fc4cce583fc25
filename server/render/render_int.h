/* render/render_int.h: shared by the files of kf_render, not part of its contract.
 * A bill is parsed and checked once (bill.c) into the structs below; the writers (csv.c,
 * xlsx.c, pdf.c) only format what they are given. Strings are borrowed from the parsed JSON,
 * which struct kf__render_bill owns until kf__render_close.
 */
#ifndef KF_RENDER_RENDER_INT_H
#define KF_RENDER_RENDER_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* An integer field that the bill gives as null (days of a credit line, ...). */
#define KF__RENDER_NULL INT64_MIN

/* Bounds on what a bill may hold (DESIGN.md principle 2): far above a real city's month. */
#define KF__RENDER_MAX_LINES 200000
#define KF__RENDER_MAX_TEXT 1024 /* bytes in any one string */

struct kf__render_line {
    int64_t no;
    const char *kind;          /* lease | maintenance | credit | penalty | cap | adjustment */
    const char *asset;         /* NULL for a bill-wide line */
    const char *terminal_kind; /* kiosk | itm | NULL */
    const char *model, *zone;  /* or NULL */
    const char *period;        /* YYYY-MM */
    int64_t days, period_days, unit_fen; /* or KF__RENDER_NULL */
    int64_t net_fen, tax_rate_bp, tax_fen, gross_fen;
    const char *text;
};

struct kf__render_sum {
    int64_t tax_rate_bp; /* KF__RENDER_NULL in the overall total */
    int64_t net_fen, tax_fen, gross_fen;
};

struct kf__render_contract {
    const char *id;
    int64_t version;
    const char *effective_from, *effective_to; /* to: NULL when open */
};

struct kf__render_input {
    const char *name, *digest;
};

struct kf__render_bill {
    json_t *root; /* owned */
    int draft;
    const char *number; /* NULL on a draft */
    const char *bank_code, *bank_name, *period, *gross_capital;
    int64_t from_ms, to_ms;
    int64_t issued_at_ms; /* KF__RENDER_NULL on a draft */
    int prices_include_tax;
    struct kf__render_contract *contracts;
    size_t n_contracts;
    struct kf__render_line *lines;
    size_t n_lines;
    struct kf__render_sum *rates; /* ascending rate */
    size_t n_rates;
    struct kf__render_sum total;
    struct kf__render_input *inputs;
    size_t n_inputs;
};

/* Parse and check json against the spec; fills *ret (owned: kf__render_close) on success.
 * -EINVAL with a message naming the key, or -ENOMEM. */
int kf__render_parse(const char *json, struct kf__render_bill *ret, char *err, size_t errn);
/* Free what kf__render_parse made; a zeroed struct is a no-op. */
void kf__render_close(struct kf__render_bill *b);

/* Write a message into err (errn bytes, may be 0) and return code. */
int kf__render_fail(char *err, size_t errn, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Money from integer fen, exactly: "1,234.56" (grouped) or "1234.56"; negative "-1,234.56".
 * buf >= KF__RENDER_MONEY_CAP. Returns buf. */
#define KF__RENDER_MONEY_CAP 32
char *kf__render_money(int64_t fen, int grouped, char *buf, size_t cap);
/* A rate in basis points as a percentage without trailing zeros: 1300 "13%", 650 "6.5%",
 * 1 "0.01%". buf >= KF__RENDER_RATE_CAP. Returns buf. */
#define KF__RENDER_RATE_CAP 24
char *kf__render_rate(int64_t bp, char *buf, size_t cap);
/* The Chinese names people read: of a line's kind (租赁费...) and a terminal kind (一体机,
 * 智能柜员机); "" for NULL. */
const char *kf__render_kind_name(const char *kind);
const char *kf__render_terminal_name(const char *terminal_kind);
/* The local (Asia/Shanghai) date of an instant, "YYYY-MM-DD"; buf >= 11. Returns buf. */
char *kf__render_local_date(int64_t utc_ms, char *buf, size_t cap);
/* The identity shown at the top: the bill's number, or "草稿 DRAFT". */
const char *kf__render_number(const struct kf__render_bill *b);

/* "<path>.tmp" into buf: 0, or -ENAMETOOLONG. */
int kf__render_tmp_path(const char *path, char *buf, size_t cap);
/* Rename the finished tmp over path (0), or remove it and return a negative errno with a
 * message in err. */
int kf__render_commit(const char *tmp, const char *path, char *err, size_t errn);

#endif
