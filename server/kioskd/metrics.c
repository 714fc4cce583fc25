/* metrics.c: kioskd's stats as Prometheus text (metrics.h). */
#define _GNU_SOURCE
#include "kioskd/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/store.h"

/* The upper edge (µs) of latency bucket idx (kioskd/latency.c's layout). */
static int64_t bucket_upper(unsigned idx)
{
    unsigned m = idx / 4u, f = idx % 4u;

    if (m < 2)
        return (int64_t)idx + 1;
    return (int64_t)((uint64_t)(5u + f) << (m - 2u));
}

/* A histogram: each Prometheus bucket counts the quarter-octave buckets that end at or
 * below its edge, so a count is never put under an edge it may exceed. */
static void histogram(FILE *f, const char *name, const char *help, const struct kf_latency *h)
{
    static const double le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,    1,     2.5,  5,     10,   30};
    double sum = 0;

    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t k = 0; k < sizeof(le) / sizeof(le[0]); k++) {
        uint64_t n = 0;

        for (unsigned i = 0; i < KF_LAT_BUCKETS; i++)
            if ((double)bucket_upper(i) <= le[k] * 1e6)
                n += h->bucket[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, le[k], (unsigned long long)n);
    }
    /* The sum is estimated from the buckets' upper edges (the histogram keeps no sum). */
    for (unsigned i = 0; i < KF_LAT_BUCKETS; i++)
        sum += (double)h->bucket[i] * (double)bucket_upper(i) / 1e6;
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
            (unsigned long long)h->count, name, sum, name, (unsigned long long)h->count);
}

static void metric(FILE *f, const char *name, const char *type, const char *help, json_t *v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name,
            (long long)json_integer_value(v));
}

char *kf_metrics_text(const char *stats_json, const struct kf_latency *receipt,
                      const struct kf_latency *commit)
{
    static const struct {
        const char *key, *name, *type, *help;
    } plain[] = {
        {"received", "kioskd_frames_received_total", "counter", "Frames from the broker."},
        {"verified", "kioskd_frames_verified_total", "counter", "Frames that passed verification."},
        {"committed_frames", "kioskd_frames_committed_total", "counter",
         "Frames in successful group commits."},
        {"committed_records", "kioskd_records_committed_total", "counter", "New records inserted."},
        {"duplicates", "kioskd_records_duplicate_total", "counter", "Records already stored."},
        {"commits", "kioskd_commits_total", "counter", "Group commits."},
        {"commit_failures", "kioskd_commit_failures_total", "counter", "Failed group commits."},
        {"acks_sent", "kioskd_acks_sent_total", "counter", "ACKs published."},
        {"quarantined", "kioskd_quarantined_total", "counter", "Frames kept in quarantine."},
        {"inbox_dropped", "kioskd_inbox_dropped_total", "counter",
         "Frames dropped unacked because the inbox was full."},
        {"inbox_depth", "kioskd_inbox_frames", "gauge", "Frames held, receipt to commit."},
        {"inbox_bytes", "kioskd_inbox_bytes", "gauge", "Bytes of the frames held."},
        {"pending", "kioskd_verify_pending_frames", "gauge", "Frames waiting for verification."},
        {"commit_queue", "kioskd_commit_queue_frames", "gauge",
         "Verified frames waiting to commit."},
        {"mqtt_lost", "kioskd_mqtt_connections_lost_total", "counter", "Broker connections lost."},
    };
    json_t *o = json_loads(stats_json, 0, NULL), *rej, *sla, *v;
    const char *key;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (!o)
        return NULL;
    f = open_memstream(&buf, &len);
    if (!f) {
        json_decref(o);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        metric(f, plain[i].name, plain[i].type, plain[i].help, json_object_get(o, plain[i].key));
    fputs("# HELP kioskd_rejected_total Frames refused, by reason.\n"
          "# TYPE kioskd_rejected_total counter\n",
          f);
    rej = json_object_get(o, "rejected");
    json_object_foreach(rej, key, v)
    {
        fprintf(f, "kioskd_rejected_total{reason=\"%s\"} %lld\n", key,
                (long long)json_integer_value(v));
    }
    sla = json_object_get(o, "sla");
    metric(f, "kioskd_sla_runs_total", "counter", "SLA engine runs.", json_object_get(sla, "runs"));
    metric(f, "kioskd_webhook_queue", "gauge", "Announcements waiting for the webhook.",
           json_object_get(sla, "webhook_queued"));
    metric(f, "kioskd_webhook_dropped_total", "counter", "Announcements dropped (queue full).",
           json_object_get(sla, "webhook_dropped"));
    metric(f, "kioskd_webhook_given_up_total", "counter", "Announcements given up after retries.",
           json_object_get(sla, "webhook_given_up"));
    fprintf(f,
            "# HELP kioskd_uptime_seconds Seconds since kioskd started.\n"
            "# TYPE kioskd_uptime_seconds gauge\nkioskd_uptime_seconds %.0f\n",
            json_number_value(json_object_get(o, "uptime_s")));
    histogram(f, "kioskd_receipt_to_commit_seconds",
              "From the Paho callback's copy to COMMIT returned.", receipt);
    histogram(f, "kioskd_group_commit_seconds", "One group commit, BEGIN to COMMIT (fsync).",
              commit);
    json_decref(o);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
