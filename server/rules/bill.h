/* rules/bill.h: one bank's bill for one local month, computed from values passed in: the
 * bank's contract versions (rules/contract.h), its terminals with the intervals they were in
 * service for this bank, their availability figures for the month (rules/report.h), and
 * adjustment lines for earlier periods. The result has the lines, the totals and the
 * canonical JSON of "kioskfleet.bill/1" (docs/BILLING.md), the bytes that a bank's own
 * checker recomputes and compares (DESIGN.md principles 8 and 9).
 *
 * Pure and deterministic: no clock, no files, no SQL; the same inputs give the same bytes.
 * Any thread. The rules (days in service, proration, versions, credits, penalties, cap,
 * tax, order of the lines) are written down in docs/BILLING.md "Rules".
 */
#ifndef KF_RULES_BILL_H
#define KF_RULES_BILL_H

#include <stddef.h>
#include <stdint.h>

#include "rules/calendar.h"
#include "rules/contract.h"
#include "rules/incident.h"
#include "rules/money.h"

#define KF_BILL_BANK_NAME_MAX 127
#define KF_BILL_NUMBER_MAX 31 /* "ICBC-000001" */
#define KF_BILL_MODEL_MAX 63
#define KF_BILL_REF_MAX 31
#define KF_BILL_TEXT_MAX 383
#define KF_BILL_DIGEST_NAME_MAX 63
#define KF_BILL_DIGEST_HEX_MAX 128
#define KF_BILL_NA (-1) /* a figure that is null in the JSON */

enum kf_bill_line_kind {
    KF_LINE_LEASE = 1,
    KF_LINE_MAINTENANCE,
    KF_LINE_CREDIT,
    KF_LINE_PENALTY,
    KF_LINE_CAP,
    KF_LINE_ADJUSTMENT,
};

enum kf_bill_status {
    KF_BILL_DRAFT = 1,
    KF_BILL_ISSUED,
};

enum kf_bill_basis {
    KF_BASIS_NONE = 0, /* null */
    KF_BASIS_SLA,      /* credit, penalty: availability, target, share, breaches */
    KF_BASIS_REF,      /* adjustment: the bill and line it corrects */
};

/* One line. Strings are "" where the JSON has null. Plain data. */
struct kf_bill_line {
    uint32_t no;  /* 1.. in order; assigned by kf_bill_compute */
    uint8_t kind; /* enum kf_bill_line_kind */
    char asset[KF_TERMINAL_ID_MAX + 1];
    uint8_t terminal_kind; /* enum kf_terminal_kind, 0 for null */
    char model[KF_BILL_MODEL_MAX + 1];
    char zone[KF_TERMINAL_ID_MAX + 1];
    char period[8];            /* "YYYY-MM": the month the line belongs to */
    int32_t days, period_days; /* lease, maintenance; else KF_BILL_NA */
    int64_t unit_fen;          /* the monthly price prorated (lease, maintenance); else NA */
    uint8_t basis;             /* enum kf_bill_basis */
    int32_t availability_bp;   /* SLA basis; KF_BILL_NA when the terminal had none */
    int32_t target_bp, share_bp;
    uint32_t breaches;             /* SLA basis: response + restore breaches */
    char ref[KF_BILL_REF_MAX + 1]; /* REF basis: the earlier bill's number and line */
    uint32_t ref_line;
    int64_t net_fen;
    int32_t tax_rate_bp;
    int64_t tax_fen, gross_fen;
    char text[KF_BILL_TEXT_MAX + 1]; /* Chinese first */
};

/* One terminal of the bank in the month. All borrowed. */
struct kf_bill_asset {
    const char *id;    /* asset id, unique in the input */
    int kind;          /* enum kf_terminal_kind */
    const char *model; /* or NULL */
    const char *zone;  /* or NULL */
    /* [start_ms, end_ms) intervals in which it was in service for this bank (commissioned
     * and not decommissioned, and assigned to this bank); any order, may overlap; an open
     * end is KF_TIME_NEVER. */
    const struct kf_window *in_service;
    size_t n_in_service;
    /* The month's figures (a terminal row of rules/report.h). The bill reads
     * availability_bp, target_bp and the breaches; the seconds are carried for the reader
     * of the inputs. availability_bp KF_BILL_NA: no availability (nothing scheduled). */
    int64_t scheduled_s, excluded_s, downtime_s;
    int32_t availability_bp, target_bp;
    uint32_t response_breaches, restore_breaches;
    /* Availability over the service items (report.h), for a contract that asks for it
     * ("availability": "items"); KF_BILL_NA likewise. */
    int32_t items_availability_bp;
};

/* An input digest: name -> lowercase hex. Borrowed. */
struct kf_bill_digest {
    const char *name, *hex;
};

struct kf_bill_input {
    const char *bank_code, *bank_name;
    int year, month;
    /* Contract versions; those of other banks are ignored, this bank's must pass
     * kf_contract_set_check. */
    const struct kf_contract *contracts;
    size_t n_contracts;
    const struct kf_bill_asset *assets;
    size_t n_assets;
    /* Ready lines for earlier periods (kind KF_LINE_ADJUSTMENT, basis KF_BASIS_REF,
     * period before this month, net + tax == gross); `no` is ignored. */
    const struct kf_bill_line *adjustments;
    size_t n_adjustments;
    int status;           /* enum kf_bill_status */
    const char *number;   /* issued: "<bank_code>-NNNNNN"; draft: NULL */
    int64_t issued_at_ms; /* issued: the instant; draft: ignored */
    const struct kf_bill_digest *inputs;
    size_t n_inputs;
};

struct kf_bill_rate {
    int32_t tax_rate_bp;
    int64_t net_fen, tax_fen, gross_fen;
};

struct kf_bill_contract_ref {
    char id[KF_CONTRACT_ID_MAX + 1];
    int32_t version;
    int32_t effective_from, effective_to; /* local days; to may be KF_CONTRACT_OPEN */
};

struct kf_bill_input_digest {
    char name[KF_BILL_DIGEST_NAME_MAX + 1];
    char hex[KF_BILL_DIGEST_HEX_MAX + 1];
};

struct kf_bill {
    int status;
    char number[KF_BILL_NUMBER_MAX + 1]; /* "" for a draft */
    char bank_code[KF_CONTRACT_BANK_MAX + 1], bank_name[KF_BILL_BANK_NAME_MAX + 1];
    char period[8];
    int year, month, period_days;
    int64_t from_ms, to_ms;
    int64_t issued_at_ms; /* issued only */
    int prices_include_tax;
    size_t n_contracts; /* the versions in force on some day of the month, by effective_from */
    struct kf_bill_contract_ref *contracts;
    size_t n_lines;
    struct kf_bill_line *lines;
    size_t n_rates; /* ascending tax_rate_bp */
    struct kf_bill_rate *by_rate;
    int64_t net_fen, tax_fen, gross_fen;
    char gross_capital[KF_MONEY_CAPITAL_MAX];
    size_t n_inputs; /* sorted by name */
    struct kf_bill_input_digest *inputs;
};

/* Compute the bill. 0; -EINVAL with a message in err (always NUL-terminated when errn > 0)
 * for inputs that break the contract above; -ERANGE when an amount does not fit int64;
 * -ENOMEM. *ret owned (kf_bill_free), written only on success. */
int kf_bill_compute(const struct kf_bill_input *in, struct kf_bill **ret, char *err, size_t errn);
void kf_bill_free(struct kf_bill *b); /* NULL is a no-op */

/* The canonical JSON of the bill: the spec's keys in the spec's order, compact, UTF-8,
 * integers only. *ret owned (free), NUL-terminated. 0 or -ENOMEM. */
int kf_bill_json(const struct kf_bill *b, char **ret);

/* Name of a line kind ("lease" ...), NULL if unknown. */
const char *kf_bill_kind_name(int kind);

#endif
