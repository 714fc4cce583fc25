/* metrics.h: kioskd's figures in the Prometheus text format, for [server] metrics_file
 * (docs/KIOSKD.md; kiosk-web's /metrics appends the file: docs/WEB.md "Metrics").
 *
 * Rendered from what kioskd already counts: the stats JSON of each stats interval (the
 * counters, gauges and the SLA service's, webhook included) and the pipeline's two latency
 * histograms (receipt to commit, one group commit), whose quarter-octave buckets are summed
 * into fixed Prometheus buckets. Pure: no I/O, any thread.
 */
#ifndef KF_KIOSKD_METRICS_H
#define KF_KIOSKD_METRICS_H

#include "kioskd/latency.h"

/* Owned text (free), or NULL when stats_json does not parse or memory runs out. */
char *kf_metrics_text(const char *stats_json, const struct kf_latency *receipt,
                      const struct kf_latency *commit);

#endif
