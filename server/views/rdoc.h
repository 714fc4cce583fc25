/* views/rdoc.h: freezing the bureau's documents (docs/REPORTS.md "Frozen and reproducible"),
 * the one mechanism for the weekly report and the half-year assessment, as bills are frozen
 * (docs/BILLING.md "Issuing"): the canonical JSON is digested (BLAKE2b-256), signed by the
 * server key (Ed25519 over its bytes), stored in report_docs and logged ("report.issue",
 * subject "KIND/PERIOD/vN", detail {"digest","version","reason"}) in the caller's
 * transaction. A document is never edited: a later version supersedes it, with a reason.
 *
 * Verifying reads the stored version back and checks its digest, its signature under the
 * server's public key and its log entry, then compares it byte for byte with the same
 * document recomputed now (when the caller passes one): equal, or the first difference.
 */
#ifndef KF_VIEWS_RDOC_H
#define KF_VIEWS_RDOC_H

#include <stddef.h>
#include <stdint.h>

#include "store/query.h"
#include "store/reports_docs.h"
#include "store/store.h"

/* Freeze json[0..len) as the next version of (kind, period): 1 when there is none (reason
 * may be empty), else the latest + 1, which needs a reason. *ret_version: the version
 * stored. -EEXIST: already issued and no reason given (nothing to supersede with);
 * -EINVAL: bad arguments. err names what. */
int kf_view_rdoc_freeze(struct kf_store *st, const uint8_t sk[64], const char *kind,
                        const char *period, const char *json, size_t len, int64_t now_ms,
                        const char *by, const char *reason, int32_t *ret_version, char *err,
                        size_t cap);

/* Check the stored version (0: the latest) of (kind, period): digest, signature under pk,
 * its report.issue entry in the signed log; then, when now_json is given, that the document
 * recomputed now has the same bytes. 0: all good; 1: a difference (err says the first);
 * -ENOENT: not issued; other -errno. */
int kf_view_rdoc_verify(struct kf_store *st, const uint8_t pk[32], const char *kind,
                        const char *period, int32_t version, const char *now_json, size_t now_len,
                        char *err, size_t cap);

/* Table "reports" (kioskctl report list, GET /api/v1/weeks and /api/v1/assessments): the
 * issued versions docs[0..n) as kf_store_rdoc_list gave them: kind, period, version, issued,
 * issued_by, digest, reason. Borrows docs; an owned table, or NULL when out of memory. */
struct kf_qtable *kf_view_rdoc_list_table(const struct kf_rdoc *docs, size_t n);

#endif
