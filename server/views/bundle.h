/* views/bundle.h: the evidence behind one issued bill, for the bank that received it
 * ("kioskfleet.bundle/1", /work/spec/bundle.md, docs/BILLING.md "Checking a bill offline"):
 * the bill and its signature, the bank's contract versions, the stored calendars, the bank's
 * zones and terminals (kind, zone, service intervals, first report, live incident ids), the
 * signed-log entries its figures rest on, every fact of its terminals those entries seal, and
 * the devices' stored signed frames behind its periph/fault/maint facts (with the log entries
 * registering their keys, where there are some).
 * The bank's checker (checker/, kf-bill-check) recomputes the bill from it alone.
 *
 * Only one bank's evidence: other banks' facts, terminals and contracts never enter it. The
 * facts are written as they are read, a page at a time, so the bundle's size is not held in
 * memory. Reads only (a read-only connection will do); same threading rule as store.h.
 */
#ifndef KF_VIEWS_BUNDLE_H
#define KF_VIEWS_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

struct kf_view_bundle_stats {
    size_t log_entries, seals, facts, terminals, contracts, frames;
};

/* Write the bundle of issued bill `number` to out (borrowed, written from its position).
 * server_pk_hex: the server's public key to name (informative; NULL writes null). Returns
 * 0; -ENOENT (no issued bill of that number: drafts are never stored), -EINVAL (a credit
 * note, or a stored document this version cannot read), -EIO (writing failed), another
 * -errno from the store; err (cap bytes) says which. */
int kf_view_bundle_export(struct kf_store *st, const char *number, const char *server_pk_hex,
                          FILE *out, struct kf_view_bundle_stats *ret_stats, char *err, size_t cap);

#endif
