/* rules/contract.h: a bank's contract with the kiosk company, one version per JSON document
 * ("kioskfleet.contract/1", docs/BILLING.md; the files in fixtures/contracts/): prices
 * per terminal and month in fen, tax rates, the rounding rule, SLA terms and the credits
 * that breaches of them earn. The bill (rules/bill.h) is computed from these versions.
 *
 * Parsing checks everything the spec refuses and names the field in the error
 * ("lease.kiosk_fen: must be >= 0"). Contracts are evidence (DESIGN.md principle 8): the
 * canonical form below is what a digest covers, the same bytes for the same terms however
 * the file was spaced or ordered. Pure: the text is passed in, no file is read. Any thread.
 */
#ifndef KF_RULES_CONTRACT_H
#define KF_RULES_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#define KF_CONTRACT_BANK_MAX 15   /* a bank code: "PDSRCB" */
#define KF_CONTRACT_ID_MAX 47     /* a contract id: "ICBC-2026" */
#define KF_CONTRACT_MODEL_MAX 31  /* a terminal model: "KX-200" */
#define KF_CONTRACT_MODELS_MAX 16 /* lease.by_model entries */
#define KF_CONTRACT_TIERS_MAX 8   /* credits.tiers */
#define KF_CONTRACT_TEXT_MAX 511  /* signed_by, note */
#define KF_CONTRACT_JSON_MAX (64 * 1024)
#define KF_CONTRACT_OPEN INT32_MAX /* effective_to of an open-ended version */

/* Terminal kinds, shared with the bill. */
enum kf_terminal_kind {
    KF_TERMINAL_KIOSK = 1,
    KF_TERMINAL_ITM = 2,
};

enum kf_availability_mode {
    KF_AVAIL_TERMINAL = 1, /* the terminal's own availability */
    KF_AVAIL_ITEMS = 2,    /* weighted over the service items it offers */
};

struct kf_contract_model_price {
    char model[KF_CONTRACT_MODEL_MAX + 1];
    int64_t fen;
};

struct kf_contract_sla {
    int64_t response_s, restore_s;
    int32_t target_bp;
};

struct kf_contract_tier {
    int32_t below_bp, share_bp;
};

/* One parsed version. Plain data (fixed arrays, no pointers): copy it freely. */
struct kf_contract {
    char bank[KF_CONTRACT_BANK_MAX + 1];
    char id[KF_CONTRACT_ID_MAX + 1];
    int32_t version;
    int32_t effective_from, effective_to; /* local days since 1970, [from, to); to may be OPEN */
    int has_signed_by, has_note;
    char signed_by[KF_CONTRACT_TEXT_MAX + 1], note[KF_CONTRACT_TEXT_MAX + 1];
    int prices_include_tax;
    int rounding; /* enum kf_round */
    int32_t tax_lease_bp, tax_maintenance_bp;
    int64_t lease_kiosk_fen, lease_itm_fen; /* per terminal and month */
    size_t n_models;
    struct kf_contract_model_price by_model[KF_CONTRACT_MODELS_MAX]; /* sorted by model */
    int64_t maint_kiosk_fen, maint_itm_fen;
    struct kf_contract_sla sla_kiosk, sla_itm;
    int availability; /* enum kf_availability_mode */
    size_t n_tiers;
    struct kf_contract_tier tiers[KF_CONTRACT_TIERS_MAX]; /* below_bp strictly decreasing */
    int64_t response_breach_fen, restore_breach_fen;
    int32_t cap_bp;
};

/* Parse one version from text[0..len) (need not be NUL-terminated). banks: the known bank
 * codes (borrowed). 0, or -EINVAL with a message naming the field in err (always
 * NUL-terminated when errn > 0). *ret written only on success. */
int kf_contract_parse(const char *text, size_t len, const char *const *banks, size_t n_banks,
                      struct kf_contract *ret, char *err, size_t errn);

/* Check a set of versions together: no duplicated (bank, id, version), and no two versions
 * of one bank whose ranges overlap (whatever their ids: one bank has one price on a day).
 * 0 or -EINVAL with the two versions named in err. */
int kf_contract_set_check(const struct kf_contract *v, size_t n, char *err, size_t errn);

/* The version of `bank` in force on local day `day` (from <= day < to), or NULL. After a
 * successful set check there is at most one. Borrows set; the result points into it. */
const struct kf_contract *kf_contract_for(const struct kf_contract *set, size_t n, const char *bank,
                                          int32_t day);

/* A model's monthly lease: by_model's price when the model is listed, else the kind's.
 * model may be NULL. */
int64_t kf_contract_lease_fen(const struct kf_contract *c, int kind, const char *model);
/* The kind's monthly maintenance fee. */
int64_t kf_contract_maintenance_fen(const struct kf_contract *c, int kind);

/* The canonical form of a version: the spec's keys in the spec's order, compact, UTF-8,
 * by_model sorted by model, optional texts only when present. Parsing the canonical form
 * gives the same struct and the same bytes again. *ret owned (free). 0 or -ENOMEM. */
int kf_contract_canonical(const struct kf_contract *c, char **ret);

#endif
