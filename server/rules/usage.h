/* rules/usage.h: when a record counts. A device's clock is not trusted blindly
 * (DESIGN.md principle 4, docs/ARCHITECTURE.md "Clock"): the effective time of a record is
 * its device time plus the offset in force, kept only inside a window around its receipt.
 * Pure: values in, values out; any thread.
 */
#ifndef KF_RULES_USAGE_H
#define KF_RULES_USAGE_H

/* The oldest plausible effective time, behind its receipt; also how far back the SLA
 * service loads maintenance windows, since no fact can carry an older instant. */
#define KF_USAGE_BEHIND_MS (62LL * 86400 * 1000)
/* The largest lead over receipt that a device clock is allowed. */
#define KF_USAGE_AHEAD_MS (5LL * 60 * 1000)

#endif
