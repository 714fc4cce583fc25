/* store/reports_docs.h: the bureau's frozen documents (docs/REPORTS.md "Frozen and
 * reproducible"): the weekly reports and the half-year assessments as issued, the rubric
 * versions they were scored against, and the bureau's delisting decisions.
 *
 * What is kept (schema v13, store/sqlite/reports_docs.c), all append-only (SQLite triggers
 * refuse UPDATE and DELETE, as on audit_log):
 *   report_docs     one row per issued version of a document: its kind ("week",
 *                   "assessment"), period ("2026-W40", "2026-H1"), version (1, 2, ... a
 *                   later version supersedes the earlier, with a reason), the canonical
 *                   JSON, its BLAKE2b-256 and the server's Ed25519 signature over the
 *                   JSON's bytes, who issued it and when;
 *   rubric_versions a rubric file as loaded (its text and canonical digest), with who, when
 *                   and why;
 *   zone_decisions  the bureau's decision on a zone proposed for delisting: delist (from a
 *                   local day) or keep, with the assessment it answers, who and why.
 *
 * Writers: kioskctl (and kioskd's weekly job), with the server key, each operation in one
 * transaction with its signed-log entry (store/audit_log.h). Functions that write join the
 * caller's transaction. Same threading rule as store.h. 0 or a negative errno (details in
 * kf_store_errmsg); outputs written only on success; arrays returned are owned.
 */
#ifndef KF_STORE_REPORTS_DOCS_H
#define KF_STORE_REPORTS_DOCS_H

#include <stddef.h>
#include <stdint.h>

#include "rules/incident.h"
#include "store/store.h"

#define KF_RDOC_KIND_MAX 15
#define KF_RDOC_PERIOD_MAX 15
#define KF_RDOC_WHO_MAX 127
#define KF_RDOC_REASON_MAX 511
#define KF_RDOC_RUBRIC_ID_MAX 63

/* ---- Issued documents --------------------------------------------------------------------- */

struct kf_rdoc {
    char kind[KF_RDOC_KIND_MAX + 1];
    char period[KF_RDOC_PERIOD_MAX + 1];
    int32_t version;
    int64_t issued_ms;
    char issued_by[KF_RDOC_WHO_MAX + 1];
    char reason[KF_RDOC_REASON_MAX + 1]; /* why a later version supersedes ("" for v1) */
    char digest[65];                     /* BLAKE2b-256 of json, hex */
    uint8_t sig[64];                     /* Ed25519 by the server key over json's bytes */
    char *json;                          /* kf_store_rdoc_get: owned (free); lists: NULL */
    size_t json_len;
};
/* Store an issued version. d->version must be the next of (kind, period): 1 for the first,
 * the latest + 1 with a non-empty reason for a superseding one. -EEXIST: that version is
 * stored (another issuer came first); -EINVAL: a gap, or a later version without reason. */
int kf_store_rdoc_add(struct kf_store *st, const struct kf_rdoc *d);
/* The latest version of (kind, period) when version is 0, else that one. -ENOENT. */
int kf_store_rdoc_get(struct kf_store *st, const char *kind, const char *period, int32_t version,
                      struct kf_rdoc *ret);
/* The latest version number of (kind, period), 0 when none. */
int kf_store_rdoc_latest(struct kf_store *st, const char *kind, const char *period, int32_t *ret);
/* Every version of kind (NULL: all kinds), by kind, period, version; json NULL. */
int kf_store_rdoc_list(struct kf_store *st, const char *kind, struct kf_rdoc **ret, size_t *ret_n);

/* ---- Rubrics ------------------------------------------------------------------------------ */

struct kf_rubric_row {
    char id[KF_RDOC_RUBRIC_ID_MAX + 1];
    int32_t version;
    char digest[65]; /* of the canonical form, hex */
    int64_t loaded_ms;
    char loaded_by[KF_RDOC_WHO_MAX + 1];
    char reason[KF_RDOC_REASON_MAX + 1];
    char *text; /* the file as given; owned by the array (kf_store_rubrics_free) */
};
/* Store a version. -EEXIST when (id, version) is stored. */
int kf_store_rubric_add(struct kf_store *st, const char *id, int32_t version, const char *text,
                        const char *digest_hex, int64_t now_ms, const char *by, const char *reason);
/* Every stored version (id NULL: of every rubric), by id, version. */
int kf_store_rubrics(struct kf_store *st, const char *id, struct kf_rubric_row **ret,
                     size_t *ret_n);
void kf_store_rubrics_free(struct kf_rubric_row *rows, size_t n);

/* ---- Zone decisions ----------------------------------------------------------------------- */

enum kf_zone_decision {
    KF_ZONE_DELIST = 1, /* "delist": leaves the plan's counts from `from_day` */
    KF_ZONE_KEEP = 2,   /* "keep": stays, its run of failures starts again */
};

struct kf_zone_decision_row {
    int64_t id;
    char zone_id[KF_TERMINAL_ID_MAX + 1];
    char period[KF_RDOC_PERIOD_MAX + 1]; /* the assessment it answers ("2026-H1") */
    int decision;                        /* enum kf_zone_decision */
    int32_t from_day;                    /* delist: the local day it takes effect; keep: 0 */
    int64_t at_ms;
    char by[KF_RDOC_WHO_MAX + 1];
    char reason[KF_RDOC_REASON_MAX + 1];
};
/* Record a decision. -ENOENT: no such zone; -EEXIST: that zone has a decision for that
 * period already; -EALREADY: the zone is delisted already. */
int kf_store_zone_decision_add(struct kf_store *st, const struct kf_zone_decision_row *d,
                               int64_t *ret_id);
/* Every decision (zone NULL: of every zone), by zone, period. */
int kf_store_zone_decisions(struct kf_store *st, const char *zone_id,
                            struct kf_zone_decision_row **ret, size_t *ret_n);
const char *kf_zone_decision_name(int d); /* "delist", "keep", or NULL */

#endif
