/* web/metrics.c: GET /metrics in the Prometheus text format (docs/WEB.md "Metrics"):
 * kiosk-web's own counters (kept on the loop), the fleet's figures (read on a pool thread
 * from the operator's connection) and kioskd's snapshot file ([web] kioskd_metrics, written
 * by kioskd/metrics.c), appended as it is. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "views/sla.h"
#include "web/cache.h"
#include "web/server_int.h"

#define KIOSKD_FILE_MAX (1u << 20)

static const int statuses[KF_WEB_STATUSES] = {200, 202, 204, 304, 400, 401, 403, 404, 405,
                                              409, 413, 415, 429, 500, 503, 504, 0};
static const double lat_le[KF_WEB_LAT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,   0.25,   0.5,   1,    2.5,   10};

void kf__web_metrics_count(struct kf_web_server *s, unsigned route_ix, int status,
                           uint64_t elapsed_us)
{
    size_t k = 0;
    double sec = (double)elapsed_us / 1e6;

    while (statuses[k] != 0 && statuses[k] != status)
        k++;
    s->req_count[(size_t)route_ix * KF_WEB_STATUSES + k]++;
    for (size_t b = 0; b < KF_WEB_LAT_BUCKETS; b++)
        if (sec <= lat_le[b])
            s->lat_bucket[b]++;
    s->lat_bucket[KF_WEB_LAT_BUCKETS]++;
    s->lat_sum_s += sec;
    s->lat_count++;
}

void kf__web_metrics_own(struct kf_web_server *s, FILE *f)
{
    fputs("# HELP kioskweb_requests_total HTTP requests answered, by route and status.\n"
          "# TYPE kioskweb_requests_total counter\n",
          f);
    for (size_t r = 0; r <= kf_web_nroutes; r++) {
        const char *method = r < kf_web_nroutes ? kf_web_routes[r].method : "GET";
        const char *route = r < kf_web_nroutes ? kf_web_routes[r].pattern : "/{console}";

        for (size_t k = 0; k < KF_WEB_STATUSES; k++) {
            uint64_t n = s->req_count[r * KF_WEB_STATUSES + k];

            if (n == 0)
                continue;
            if (statuses[k])
                fprintf(f,
                        "kioskweb_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} "
                        "%llu\n",
                        method, route, statuses[k], (unsigned long long)n);
            else
                fprintf(f,
                        "kioskweb_requests_total{method=\"%s\",route=\"%s\",status=\"other\"} "
                        "%llu\n",
                        method, route, (unsigned long long)n);
        }
    }
    fputs("# HELP kioskweb_request_seconds Time from a request's arrival to its answer.\n"
          "# TYPE kioskweb_request_seconds histogram\n",
          f);
    for (size_t b = 0; b < KF_WEB_LAT_BUCKETS; b++)
        fprintf(f, "kioskweb_request_seconds_bucket{le=\"%g\"} %llu\n", lat_le[b],
                (unsigned long long)s->lat_bucket[b]);
    fprintf(f, "kioskweb_request_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)s->lat_bucket[KF_WEB_LAT_BUCKETS]);
    fprintf(f, "kioskweb_request_seconds_sum %.6f\nkioskweb_request_seconds_count %llu\n",
            s->lat_sum_s, (unsigned long long)s->lat_count);
    fprintf(f,
            "# HELP kioskweb_sessions Sessions alive.\n# TYPE kioskweb_sessions gauge\n"
            "kioskweb_sessions %u\n"
            "# HELP kioskweb_sse_clients Event streams open.\n"
            "# TYPE kioskweb_sse_clients gauge\nkioskweb_sse_clients %u\n"
            "# HELP kioskweb_logins_failed_total Logins refused (wrong user or password).\n"
            "# TYPE kioskweb_logins_failed_total counter\nkioskweb_logins_failed_total %llu\n"
            "# HELP kioskweb_logins_total Logins accepted.\n"
            "# TYPE kioskweb_logins_total counter\nkioskweb_logins_total %llu\n"
            "# HELP kioskweb_logins_limited_total Logins refused for too many failures (429).\n"
            "# TYPE kioskweb_logins_limited_total counter\nkioskweb_logins_limited_total %llu\n"
            "# HELP kioskweb_jobs Calls on or waiting for the thread pool.\n"
            "# TYPE kioskweb_jobs gauge\nkioskweb_jobs %u\n",
            kf__web_sessions_live(s, kf_now_ms()), s->nsse, (unsigned long long)s->logins_failed,
            (unsigned long long)s->logins_ok, (unsigned long long)s->limited, s->jobs);
    if (s->cache) {
        struct kf_web_cache_stats k;

        kf_web_cache_stats(s->cache, &k);
        fprintf(f,
                "# HELP kioskweb_answer_cache_hits_total Live-view answers served from the "
                "answer cache.\n# TYPE kioskweb_answer_cache_hits_total counter\n"
                "kioskweb_answer_cache_hits_total %llu\n"
                "# HELP kioskweb_answer_cache_rechecks_total Of those, answers over a settled "
                "period served again after finding its stamp unchanged.\n"
                "# TYPE kioskweb_answer_cache_rechecks_total counter\n"
                "kioskweb_answer_cache_rechecks_total %llu\n"
                "# HELP kioskweb_answer_cache_waits_total Live-view answers shared with a call "
                "computing the same answer.\n# TYPE kioskweb_answer_cache_waits_total counter\n"
                "kioskweb_answer_cache_waits_total %llu\n"
                "# HELP kioskweb_answer_cache_misses_total Live-view answers computed.\n"
                "# TYPE kioskweb_answer_cache_misses_total counter\n"
                "kioskweb_answer_cache_misses_total %llu\n"
                "# HELP kioskweb_answer_cache_evictions_total Answers dropped for the bounds.\n"
                "# TYPE kioskweb_answer_cache_evictions_total counter\n"
                "kioskweb_answer_cache_evictions_total %llu\n"
                "# HELP kioskweb_answer_cache_invalidations_total Times an action emptied "
                "the cache.\n# TYPE kioskweb_answer_cache_invalidations_total counter\n"
                "kioskweb_answer_cache_invalidations_total %llu\n"
                "# HELP kioskweb_answer_cache_entries Answers kept or being computed.\n"
                "# TYPE kioskweb_answer_cache_entries gauge\nkioskweb_answer_cache_entries %u\n"
                "# HELP kioskweb_answer_cache_bytes Bytes of the answers kept.\n"
                "# TYPE kioskweb_answer_cache_bytes gauge\nkioskweb_answer_cache_bytes %zu\n",
                (unsigned long long)k.hits, (unsigned long long)k.rechecks,
                (unsigned long long)k.waits, (unsigned long long)k.misses,
                (unsigned long long)k.evictions, (unsigned long long)k.invalidations, k.entries,
                k.bytes);
    }
}

/* GET /metrics, the part read on the pool: the fleet's figures and kioskd's file. The loop
 * puts its own counters in front (web/server.c). */
void kf_web_api_fleet_metrics(struct kf_web_call *c, struct kf_store *st)
{
    static const char *const names[] = {"unknown", "up", "degraded", "down", "maintenance"};
    const struct kf_web_config *cfg = kf_web_server_config(c->srv);
    struct kf_view_sla_state *v = NULL;
    struct kf_view_sla_queue *q = NULL;
    uint64_t by_status[5] = {0}, online = 0;
    char *buf = NULL, err[256];
    size_t len = 0, n = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f) {
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    if (kf_view_sla_states(st, NULL, &v, &n, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < n; i++) {
            int k = !v[i].known                       ? 0
                    : v[i].status == KF_TERM_UP       ? 1
                    : v[i].status == KF_TERM_DEGRADED ? 2
                    : v[i].status == KF_TERM_DOWN     ? 3
                    : v[i].status == KF_TERM_MAINT    ? 4
                                                      : 0;
            by_status[k]++;
            online += v[i].known && v[i].st.online;
        }
        fputs("# HELP kioskfleet_terminals Terminals by status, as kioskd's engine last saw "
              "them.\n# TYPE kioskfleet_terminals gauge\n",
              f);
        for (int k = 0; k < 5; k++)
            fprintf(f, "kioskfleet_terminals{status=\"%s\"} %llu\n", names[k],
                    (unsigned long long)by_status[k]);
        fprintf(f,
                "# HELP kioskfleet_terminals_online Terminals connected now.\n"
                "# TYPE kioskfleet_terminals_online gauge\nkioskfleet_terminals_online %llu\n",
                (unsigned long long)online);
        free(v);
    }
    if (kf_view_sla_queue(st, c->now_ms, &q, err, sizeof(err)) == 0) {
        fprintf(f,
                "# HELP kioskfleet_incidents_open Incidents open now.\n"
                "# TYPE kioskfleet_incidents_open gauge\nkioskfleet_incidents_open %zu\n",
                q->n);
        kf_view_sla_queue_free(q);
    }
    if (cfg->kioskd_metrics[0]) {
        FILE *k = fopen(cfg->kioskd_metrics, "re");
        char chunk[8192];
        size_t got, total = 0;

        if (k) {
            while ((got = fread(chunk, 1, sizeof(chunk), k)) > 0 && total < KIOSKD_FILE_MAX) {
                fwrite(chunk, 1, got, f);
                total += got;
            }
            fclose(k);
        }
        fprintf(f,
                "# HELP kioskweb_kioskd_metrics_readable Whether kioskd's metrics file could "
                "be read.\n# TYPE kioskweb_kioskd_metrics_readable gauge\n"
                "kioskweb_kioskd_metrics_readable %d\n",
                k != NULL);
    }
    if (fclose(f) != 0) {
        free(buf);
        kf_web_problem(c, 500, "out of memory");
        return;
    }
    kf_web_reply_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}
