/* store/billing.h: the store's part of billing (docs/BILLING.md "Operating it"): contract
 * versions as data, the intervals in which each asset was in service for a bank
 * (commissioning), the close of a month, and the documents issued for a closed month:
 * bills and credit notes, the adjustments a later bill made to an earlier one, and the
 * banks' disputes with their answers.
 *
 * What is kept (schema v10, store/sqlite/billing.c):
 *   contract_versions   one row per version: the JSON text as given and its canonical
 *                       digest, with who loaded it, when and why;
 *   asset_service       [from_ms, to_ms) per asset, bank and zone, with who commissioned
 *                       and decommissioned it and why; intervals of one asset never
 *                       overlap; only an open interval may be closed, once;
 *   billing_settings    the close day (default 5: a month closes on the 5th of the next
 *                       month at 00:00 local);
 *   bill_numbers        the last number given per bank and series (bills, credit notes);
 *   bill_docs           issued documents: canonical JSON, its BLAKE2b-256, the server's
 *                       Ed25519 signature over the JSON's bytes;
 *   bill_adjustments    what a bill adjusted of an earlier bill, per asset, line kind and
 *                       tax rate, so that a difference is adjusted once;
 *   bill_disputes, bill_answers  a bank's dispute of a line, and the company's answer.
 * Everything but asset_service (whose open interval is closed once) is append-only:
 * SQLite triggers refuse UPDATE and DELETE, as on audit_log.
 *
 * Writers: kioskctl, with the server key, each operation in one transaction with its
 * signed-log entry (store/audit_log.h). Functions that write join the caller's
 * transaction. Same threading rule as store.h. 0 or a negative errno (details in
 * kf_store_errmsg); outputs written only on success; arrays returned are owned (free()).
 */
#ifndef KF_STORE_BILLING_H
#define KF_STORE_BILLING_H

#include <stddef.h>
#include <stdint.h>

#include "rules/calendar.h"
#include "rules/contract.h"
#include "rules/incident.h"
#include "store/store.h"

#define KF_BILLING_WHO_MAX 127
#define KF_BILLING_REASON_MAX 511
#define KF_BILLING_NUMBER_MAX 31
#define KF_BILLING_CLOSE_DAY_DEFAULT 5
#define KF_BILLING_CLOSE_DAY_MAX 28

/* ---- Contract versions ------------------------------------------------------------------ */

struct kf_billing_contract_row {
    char bank[KF_CONTRACT_BANK_MAX + 1];
    char id[KF_CONTRACT_ID_MAX + 1];
    int32_t version;
    int32_t effective_from, effective_to; /* local days; to KF_CONTRACT_OPEN when open */
    char digest[65];                      /* BLAKE2b-256 of the canonical form, hex */
    int64_t loaded_ms;
    char loaded_by[KF_BILLING_WHO_MAX + 1];
    char reason[KF_BILLING_REASON_MAX + 1];
    char *text; /* the JSON as given; owned by the array (kf_store_billing_contracts_free) */
};
/* The stored versions (of bank, or all when NULL), by bank, effective_from. */
int kf_store_billing_contracts(struct kf_store *st, const char *bank,
                               struct kf_billing_contract_row **ret, size_t *ret_n);
void kf_store_billing_contracts_free(struct kf_billing_contract_row *rows, size_t n);
/* Store one version (c parsed from text). -EEXIST when (bank, id, version) is stored. */
int kf_store_billing_contract_add(struct kf_store *st, const struct kf_contract *c,
                                  const char *text, const char *digest_hex, int64_t now_ms,
                                  const char *by, const char *reason);

/* ---- Assets in service ------------------------------------------------------------------ */

/* One interval of an asset's service. to_ms KF_TIME_NEVER: still in service. implicit: the
 * asset has no recorded interval at all, so it is in service for its current zone's bank
 * from its registration (assets.created_ms): no row stands behind it. */
struct kf_billing_service {
    int64_t id; /* the asset_service row; 0 when implicit */
    char asset_id[KF_TERMINAL_ID_MAX + 1];
    int kind; /* enum kf_terminal_kind */
    char bank[KF_CONTRACT_BANK_MAX + 1];
    char zone_id[KF_TERMINAL_ID_MAX + 1];
    struct kf_window w;
    int implicit;
    char commissioned_by[KF_BILLING_WHO_MAX + 1], decommissioned_by[KF_BILLING_WHO_MAX + 1];
    char commission_reason[KF_BILLING_REASON_MAX + 1];
    char decommission_reason[KF_BILLING_REASON_MAX + 1];
};
/* Every interval of asset (NULL: every asset), of bank (NULL: any bank), by asset then
 * from_ms. An asset with no recorded interval gives its implicit one. This is where the
 * bill (and the SLA report's scheduled time) learns when a terminal counts. */
int kf_store_billing_asset_service(struct kf_store *st, const char *asset_id, const char *bank,
                                   struct kf_billing_service **ret, size_t *ret_n);
/* Commission asset at at_ms in zone_id (NULL: its current zone), for that zone's bank; a
 * zone other than the asset's current one moves the asset there (assets.zone_id). -ENOENT
 * (no such asset or zone), -EEXIST (in service then already: an interval that would
 * overlap another). */
int kf_store_billing_commission(struct kf_store *st, const char *asset_id, const char *zone_id,
                                int64_t at_ms, const char *by, const char *reason);
/* Close the asset's open interval at at_ms. An asset with no recorded interval first gets
 * its implicit one written (from created_ms, by "registry"). -ENOENT (no such asset),
 * -EALREADY (not in service), -EINVAL (at_ms not after the interval's start). */
int kf_store_billing_decommission(struct kf_store *st, const char *asset_id, int64_t at_ms,
                                  const char *by, const char *reason);
/* Every asset id with no recorded interval (commission --all), by id. */
int kf_store_billing_uncommissioned(struct kf_store *st, char (**ret)[KF_TERMINAL_ID_MAX + 1],
                                    size_t *ret_n);

/* A zone's service hours as the SLA engine reads them (zones.hours, zones.itm_hours). */
struct kf_billing_zone {
    char id[KF_TERMINAL_ID_MAX + 1];
    char bank[KF_CONTRACT_BANK_MAX + 1];
    char hours[256];     /* JSON {"weekday": spec, "weekend": spec|null} as stored */
    char itm_hours[128]; /* "" when none */
    int has_itm_hours;
};
/* The zones of bank (NULL: all), by id. */
int kf_store_billing_zones(struct kf_store *st, const char *bank, struct kf_billing_zone **ret,
                           size_t *ret_n);

/* ---- The close ---------------------------------------------------------------------------- */

/* The local day of the next month on which a month closes (1..28, default 5). */
int kf_store_billing_close_day(struct kf_store *st, int *ret);
int kf_store_billing_set_close_day(struct kf_store *st, int day);

/* ---- Issued documents ------------------------------------------------------------------- */

enum kf_billing_doc_type {
    KF_BILLING_BILL = 1,
    KF_BILLING_CREDIT_NOTE = 2,
};

struct kf_billing_doc {
    char number[KF_BILLING_NUMBER_MAX + 1];
    int type; /* enum kf_billing_doc_type */
    char bank[KF_CONTRACT_BANK_MAX + 1];
    char period[8];
    int64_t seq;
    char ref[KF_BILLING_NUMBER_MAX + 1]; /* credit note: the bill; "" for a bill */
    int32_t ref_line;
    int64_t issued_ms;
    char issued_by[KF_BILLING_WHO_MAX + 1];
    int64_t net_fen, tax_fen, gross_fen;
    char digest[65]; /* BLAKE2b-256 of json, hex */
    uint8_t sig[64]; /* Ed25519 by the server key over json's bytes */
    char *json;      /* kf_store_billing_doc: owned (free); lists: NULL */
    size_t json_len;
};
/* The next number of bank's series (type), reserved in the caller's transaction: the
 * number is given only if the document is stored before it commits, so there are no gaps. */
int kf_store_billing_next_seq(struct kf_store *st, const char *bank, int type, int64_t *ret);
/* Store an issued document. -EEXIST: that number, or a bill of that bank and month. */
int kf_store_billing_doc_add(struct kf_store *st, const struct kf_billing_doc *d);
/* One document with its JSON. -ENOENT when none. */
int kf_store_billing_doc(struct kf_store *st, const char *number, struct kf_billing_doc *ret);
/* The documents of bank (NULL: all), type 0 for both, by bank, type, seq; json NULL. */
int kf_store_billing_docs(struct kf_store *st, const char *bank, int type,
                          struct kf_billing_doc **ret, size_t *ret_n);

/* What a bill adjusted of an earlier one: one row per (ref, asset, kind, rate). */
struct kf_billing_adjustment {
    char bill[KF_BILLING_NUMBER_MAX + 1]; /* the adjusting bill */
    char ref[KF_BILLING_NUMBER_MAX + 1];  /* the adjusted bill */
    char asset[KF_TERMINAL_ID_MAX + 1];   /* "" for the cap */
    int kind;                             /* enum kf_bill_line_kind */
    int32_t tax_rate_bp;
    int64_t net_fen, tax_fen, gross_fen;
};
int kf_store_billing_adjustment_add(struct kf_store *st, const struct kf_billing_adjustment *a);
/* The adjustments made to ref so far (ref not NULL), or those bill made (bill not NULL). */
int kf_store_billing_adjustments(struct kf_store *st, const char *ref, const char *bill,
                                 struct kf_billing_adjustment **ret, size_t *ret_n);

/* ---- Disputes ----------------------------------------------------------------------------- */

enum kf_billing_dispute_state {
    KF_DISPUTE_OPEN = 1,
    KF_DISPUTE_ACCEPTED,
    KF_DISPUTE_REFUSED,
};
struct kf_billing_dispute {
    int64_t id;
    char bill[KF_BILLING_NUMBER_MAX + 1];
    char bank[KF_CONTRACT_BANK_MAX + 1];
    int32_t line;
    int64_t at_ms;
    char by[KF_BILLING_WHO_MAX + 1], reason[KF_BILLING_REASON_MAX + 1];
    int state; /* enum kf_billing_dispute_state */
    int64_t answered_ms;
    char answered_by[KF_BILLING_WHO_MAX + 1], answer[KF_BILLING_REASON_MAX + 1];
    char credit_note[KF_BILLING_NUMBER_MAX + 1]; /* accepted: the credit note, else "" */
};
int kf_store_billing_dispute_add(struct kf_store *st, const char *bill, int32_t line, int64_t at_ms,
                                 const char *by, const char *reason, int64_t *ret_id);
/* -EALREADY when the dispute was answered. credit_note may be NULL (refused). */
int kf_store_billing_answer_add(struct kf_store *st, int64_t dispute, int accept, int64_t at_ms,
                                const char *by, const char *reason, const char *credit_note);
/* Disputes of bank (NULL: all), or the one of id (id > 0: -ENOENT when none), by id. */
int kf_store_billing_disputes(struct kf_store *st, const char *bank, int64_t id,
                              struct kf_billing_dispute **ret, size_t *ret_n);

/* ---- Digests of the inputs ---------------------------------------------------------------- */

/* BLAKE2b-256 over the stored calendars (sla_calendars, by year: each year as 4 bytes
 * little-endian, the text's length as 4 bytes little-endian, the text), hex. */
int kf_store_billing_calendars_digest(struct kf_store *st, char ret_hex[65]);
/* The signed log's last hash (hex; 64 zeros for an empty log) and whether hex is one of
 * its entries' hashes (kf_store_billing_log_has: 1, 0). */
int kf_store_billing_log_head(struct kf_store *st, char ret_hex[65]);
int kf_store_billing_log_has(struct kf_store *st, const char *hex);

#endif
