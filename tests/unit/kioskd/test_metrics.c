/* kioskd/metrics.c: the stats JSON and the latency histograms as Prometheus text. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "kioskd/metrics.h"

Test(metrics, renders_counters_rejections_and_histograms)
{
    struct kf_latency lat = {0}, commit = {0};
    char *t;

    kf_latency_add(&lat, 800);     /* 0.8 ms */
    kf_latency_add(&lat, 40000);   /* 40 ms */
    kf_latency_add(&lat, 3000000); /* 3 s */
    kf_latency_add(&commit, 2000);
    t = kf_metrics_text("{\"received\":12,\"committed_records\":40,\"inbox_depth\":3,"
                        "\"rejected\":{\"bad_signature\":2,\"replay\":0},"
                        "\"sla\":{\"runs\":5,\"webhook_queued\":1},\"uptime_s\":9.5}",
                        &lat, &commit);
    cr_assert_not_null(t);
    cr_assert_not_null(strstr(t, "kioskd_frames_received_total 12\n"));
    cr_assert_not_null(strstr(t, "# TYPE kioskd_inbox_frames gauge\nkioskd_inbox_frames 3\n"));
    cr_assert_not_null(strstr(t, "kioskd_rejected_total{reason=\"bad_signature\"} 2\n"));
    cr_assert_not_null(strstr(t, "kioskd_webhook_queue 1\n"));
    /* 0.8 ms is under 1 ms; 40 ms under 50 ms, not under 25 ms; 3 s only under 5 s. */
    cr_assert_not_null(strstr(t, "kioskd_receipt_to_commit_seconds_bucket{le=\"0.001\"} 1\n"));
    cr_assert_not_null(strstr(t, "kioskd_receipt_to_commit_seconds_bucket{le=\"0.025\"} 1\n"));
    cr_assert_not_null(strstr(t, "kioskd_receipt_to_commit_seconds_bucket{le=\"0.05\"} 2\n"));
    cr_assert_not_null(strstr(t, "kioskd_receipt_to_commit_seconds_bucket{le=\"2.5\"} 2\n"));
    cr_assert_not_null(strstr(t, "kioskd_receipt_to_commit_seconds_bucket{le=\"5\"} 3\n"));
    cr_assert_not_null(strstr(t, "kioskd_receipt_to_commit_seconds_count 3\n"));
    cr_assert_not_null(strstr(t, "kioskd_group_commit_seconds_count 1\n"));
    free(t);
}

Test(metrics, refuses_what_is_not_json)
{
    struct kf_latency lat = {0};

    cr_assert_null(kf_metrics_text("not json", &lat, &lat));
}
