/* kiosk-agent: one terminal's agent (probes, app socket, outbox, link) on one libuv loop. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include <kf/err.h>
#include <kf/notify.h>
#include <kf/keyfile.h>
#include <kf/log.h>

#include "agent.h"
#include "appsock.h"
#include "link.h"
#include "config.h"
#include "probes.h"

struct main_ctx {
    uv_loop_t loop;
    struct kf_agent_config cfg;
    struct kf_probes probes;
    struct kf_agent *agent;
    struct kf_appsock *app;
    uv_signal_t sigterm, sigint;
    uv_timer_t watchdog;
    int watchdog_on;
    int stopping;
};

static int main_health_cb(void *ud, int64_t now_ms, struct kf_record *ret)
{
    struct main_ctx *m = ud;
    return kf_probes_sample(&m->probes, now_ms, ret);
}

static int main_submit_cb(void *ud, const struct kf_record *rec, uint64_t *ret_seq)
{
    struct main_ctx *m = ud;
    return kf_agent_submit(m->agent, rec, ret_seq);
}

static void main_watchdog_cb(uv_timer_t *t)
{
    (void)t;
    kf_notify("WATCHDOG=1");
}

static void main_stop(struct main_ctx *m)
{
    struct kf_agent_stats st;

    if (m->stopping)
        return;
    m->stopping = 1;
    kf_notify("STOPPING=1");
    if (kf_agent_stats(m->agent, &st) == 0)
        kf_info("stopping: outbox %" PRIu64 " records (acked up to %" PRIu64 "), %" PRIu64
                " batches sent, %" PRIu64 " acks, %" PRIu64 " rejected acks",
                st.outbox.records, st.outbox.acked_seq, st.batches_sent, st.acks,
                st.acks_rejected + st.acks_range);
    kf_appsock_close(m->app, NULL, NULL);
    kf_agent_close(m->agent, NULL, NULL);
    uv_close((uv_handle_t *)&m->sigterm, NULL);
    uv_close((uv_handle_t *)&m->sigint, NULL);
    if (m->watchdog_on)
        uv_close((uv_handle_t *)&m->watchdog, NULL);
}

static void main_signal_cb(uv_signal_t *s, int signum)
{
    kf_notice("signal %d: shutting down", signum);
    main_stop(s->data);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kiosk-agent -c FILE [--check]\n"
               "  -c, --config FILE  agent INI (docs/AGENT.md)\n"
               "      --check        validate the config and key file, then exit\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct main_ctx m; /* large (config paths); not on the stack */
    struct kf_agent_opts ao;
    const char *config = NULL;
    int check = 0, opt, rc, ret = 1;
    uint8_t sk[64];
    char err[512];
    uint64_t wd_usec = 0;

    kf_log_set_ident("kiosk-agent");
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'C':
            check = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!config || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (kf_agent_config_load(config, &m.cfg, err, sizeof(err)) < 0) {
        kf_err("%s", err);
        return 1;
    }
    kf_log_set_level((enum kf_log_level)m.cfg.log_level);
    if (sodium_init() < 0) {
        kf_err("sodium_init failed");
        return 1;
    }
    kf_link_global_init();
    rc = kf_keyfile_read(m.cfg.key_file, sk);
    if (rc < 0) {
        kf_err("%s: %s", m.cfg.key_file, kf_strerror(rc));
        return 1;
    }
    if (check) {
        sodium_memzero(sk, sizeof(sk));
        printf("%s: ok (device %s)\n", config, m.cfg.device_id);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);

    rc = uv_loop_init(&m.loop);
    if (rc < 0) {
        kf_err("uv_loop_init: %s", uv_strerror(rc));
        goto out_key;
    }
    rc = kf_probes_init(&m.probes, "/proc", "/sys", m.cfg.disk_path);
    if (rc == 0)
        rc = kf_probes_set_thermal_dir(&m.probes, m.cfg.thermal_dir);
    if (rc < 0) {
        kf_err("probes: %s", kf_strerror(rc));
        goto out_loop;
    }
    memset(&ao, 0, sizeof(ao));
    ao.health_cb = main_health_cb;
    ao.health_ud = &m;
    rc = kf_agent_new(&m.loop, &m.cfg, sk, &ao, &m.agent);
    sodium_memzero(sk, sizeof(sk)); /* the agent keeps its own copy */
    if (rc < 0) {
        kf_err("agent (outbox %s): %s", m.cfg.outbox_path, kf_strerror(rc));
        goto out_probes;
    }
    rc = kf_appsock_new(&m.loop, m.cfg.app_socket, m.cfg.app_max_line, main_submit_cb, &m, &m.app);
    if (rc < 0) {
        kf_err("app socket %s: %s", m.cfg.app_socket, kf_strerror(rc));
        kf_agent_close(m.agent, NULL, NULL);
        uv_run(&m.loop, UV_RUN_DEFAULT);
        goto out_probes;
    }
    uv_signal_init(&m.loop, &m.sigterm);
    uv_signal_init(&m.loop, &m.sigint);
    m.sigterm.data = m.sigint.data = &m;
    uv_signal_start(&m.sigterm, main_signal_cb, SIGTERM);
    uv_signal_start(&m.sigint, main_signal_cb, SIGINT);
    if ((wd_usec = kf_notify_watchdog_usec()) >= 2000) {
        uv_timer_init(&m.loop, &m.watchdog);
        uv_timer_start(&m.watchdog, main_watchdog_cb, 0, wd_usec / 2000);
        m.watchdog_on = 1;
    }
    rc = kf_agent_start(m.agent);
    if (rc < 0) {
        kf_err("start: %s", kf_strerror(rc));
        main_stop(&m);
        uv_run(&m.loop, UV_RUN_DEFAULT);
        goto out_probes;
    }
    kf_info("device %s: connecting to %s, app socket %s", m.cfg.device_id, m.cfg.uri,
            m.cfg.app_socket);
    kf_notify("READY=1");
    uv_run(&m.loop, UV_RUN_DEFAULT);
    ret = 0;

out_probes:
    kf_probes_close(&m.probes);
out_loop:
    rc = uv_loop_close(&m.loop);
    if (rc != 0) {
        kf_err("uv_loop_close: %s", uv_strerror(rc));
        ret = 1;
    }
out_key:
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(&m.cfg, sizeof(m.cfg));
    return ret;
}
