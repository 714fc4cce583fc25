/* kiosk-agent: one terminal's agent (probes, app socket, outbox, link) on one libuv loop. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include <kf/brokerpw.h>
#include <kf/err.h>
#include <kf/ident.h>
#include <kf/notify.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/mqtt.h>

#include "core/agent.h"
#include "core/appsock.h"
#include "core/config.h"
#include "core/enroll.h"
#include "core/probes.h"

struct main_ctx {
    uv_loop_t loop;
    struct kf_agent_config cfg;
    struct kf_probes probes;
    struct kf_agent *agent;
    struct kf_appsock *app;
    uv_signal_t sigterm, sigint, sigusr1;
    uv_timer_t watchdog;
    int watchdog_on;
    int stopping;
    volatile int stop_requested; /* a signal before the agent exists (enrollment) */
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
    if (m->agent != NULL && kf_agent_stats(m->agent, &st) == 0)
        kf_info("stopping: outbox %" PRIu64 " records (acked up to %" PRIu64 "), %" PRIu64
                " batches sent, %" PRIu64 " acks (%" PRIu64 " too old for the clock), %" PRIu64
                " rejected acks",
                st.outbox.records, st.outbox.acked_seq, st.batches_sent, st.acks, st.acks_stale,
                st.acks_rejected + st.acks_range);
    if (m->app != NULL)
        kf_appsock_close(m->app, NULL, NULL);
    if (m->agent != NULL)
        kf_agent_close(m->agent, NULL, NULL);
    uv_close((uv_handle_t *)&m->sigterm, NULL);
    uv_close((uv_handle_t *)&m->sigint, NULL);
    uv_close((uv_handle_t *)&m->sigusr1, NULL);
    if (m->watchdog_on)
        uv_close((uv_handle_t *)&m->watchdog, NULL);
}

static void main_signal_cb(uv_signal_t *s, int signum)
{
    struct main_ctx *m = s->data;

    kf_notice("signal %d: shutting down", signum);
    m->stop_requested = 1;
    if (m->agent != NULL)
        main_stop(m);
}

/* ---- identity (enroll.h) ---- */

static void main_rotated_cb(void *ud, uint32_t new_epoch, int reason)
{
    struct main_ctx *m = ud;
    struct kf_identity id;
    char old[KF_CFG_PATH_MAX];
    int rc;

    if (reason != KF_IDENT_OK) {
        kf_err("key rotation to epoch %u refused: %s (the current key stays in use)", new_epoch,
               kf_ident_refusal_name(reason));
        return;
    }
    memcpy(id.device_id, m->cfg.device_id, sizeof(id.device_id));
    id.key_epoch = new_epoch;
    rc = kf_identity_save(m->cfg.identity_dir, &id);
    if (rc < 0) {
        /* The server already holds the new key: the next start asks again and is told ok. */
        kf_err("identity %s: %s (the rotation is redone at the next start)", m->cfg.identity_dir,
               kf_strerror(rc));
        return;
    }
    /* The retired key signs nothing any more: destroy it. */
    if (kf_identity_key_path(m->cfg.identity_dir, m->cfg.key_epoch, old, sizeof(old)) == 0)
        (void)unlink(old);
    kf_notice("key rotated: epoch %u -> %u", m->cfg.key_epoch, new_epoch);
    m->cfg.key_epoch = new_epoch;
}

/* Ask the server to take key.<epoch+1> (made now unless an earlier attempt left it). */
static void main_rotate(struct main_ctx *m)
{
    uint8_t sk[64];
    int rc;

    if (m->cfg.identity_dir[0] == '\0') {
        kf_err("key rotation needs [device] identity_dir (this agent's key is provisioned)");
        return;
    }
    rc = kf_identity_key_get_or_make(m->cfg.identity_dir, m->cfg.key_epoch + 1, sk);
    if (rc == 0)
        rc = kf_agent_rotate(m->agent, sk, main_rotated_cb, m);
    sodium_memzero(sk, sizeof(sk));
    if (rc < 0)
        kf_err("key rotation: %s", kf_strerror(rc));
    else
        kf_info("key rotation to epoch %u requested", m->cfg.key_epoch + 1);
}

static void main_usr1_cb(uv_signal_t *s, int signum)
{
    (void)signum;
    if (((struct main_ctx *)s->data)->agent != NULL)
        main_rotate(s->data);
}

/* The identity from identity_dir: enroll first if there is none yet. Fills cfg's device id,
 * key epoch and file, username and password. 0, or 1 (failed; logged). */
static int main_identity(struct main_ctx *m, int check)
{
    struct kf_agent_config *c = &m->cfg;
    struct kf_identity id;
    char pwpath[KF_CFG_PATH_MAX];
    int rc, reason = 0;

    rc = kf_identity_load(c->identity_dir, &id);
    if (rc == -ENOENT && check) {
        printf("not enrolled yet (%s has no identity); token %s\n", c->identity_dir,
               c->enroll_token[0] ? "configured" : "MISSING");
        return c->enroll_token[0] ? 0 : 1;
    }
    if (rc == -ENOENT) {
        struct kf_enroll_opts eo = {
            .dir = c->identity_dir,
            .token = c->enroll_token,
            .uri = c->uri,
            .ca_file = c->ca_file,
            .server_pk = c->server_pk,
            .keepalive_s = c->keepalive_s,
            .reconnect_min_ms = c->reconnect_min_ms,
            .reconnect_max_ms = c->reconnect_max_ms,
            .retry_ms = 10000,
        };
        if (c->enroll_token[0] == '\0') {
            kf_err("%s: not enrolled and no [enroll] token_file: ask the operator for a token "
                   "(kiosk-provision token)",
                   c->identity_dir);
            return 1;
        }
        rc = kf_enroll_run(&m->loop, &eo, &m->stop_requested, &id, &reason);
        if (rc == -EACCES) {
            kf_err("enrollment refused: %s (a token is good for one terminal, once, until it "
                   "expires: ask for a new one)",
                   kf_ident_refusal_name(reason));
            return 1;
        }
        if (rc == -EPERM) {
            kf_err("enrollment refused by the broker: its enrollment account for this token is "
                   "gone (token_used, token_expired or unknown): ask for a new token");
            return 1;
        }
        if (rc < 0) {
            if (rc != -EINTR)
                kf_err("enrollment: %s", kf_strerror(rc));
            return 1;
        }
        kf_notice("enrolled as %s (key epoch %u)", id.device_id, id.key_epoch);
    } else if (rc < 0) {
        kf_err("identity in %s: %s", c->identity_dir, kf_strerror(rc));
        return 1;
    }
    memcpy(c->device_id, id.device_id, sizeof(c->device_id));
    c->key_epoch = id.key_epoch;
    snprintf(c->username, sizeof(c->username), "%s", id.device_id);
    if (kf_identity_key_path(c->identity_dir, id.key_epoch, c->key_file, sizeof(c->key_file)) < 0 ||
        kf_identity_pw_path(c->identity_dir, pwpath, sizeof(pwpath)) < 0)
        return 1;
    rc = kf_brokerpw_read(pwpath, c->password, sizeof(c->password));
    if (rc < 0) {
        kf_err("%s: %s", pwpath, kf_strerror(rc));
        return 1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kiosk-agent -c FILE [--check] [--rotate-key]\n"
               "  -c, --config FILE  agent INI (docs/AGENT.md)\n"
               "      --check        validate the config and key file, then exit\n"
               "      --rotate-key   rotate the device key once connected (identity_dir;\n"
               "                     SIGUSR1 does the same on a running agent)\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'C'},
        {"rotate-key", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct main_ctx m; /* large (config paths); not on the stack */
    struct kf_agent_opts ao;
    const char *config = NULL;
    int check = 0, rotate = 0, opt, rc, ret = 1;
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
        case 'R':
            rotate = 1;
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
    kf_mqtt_global_init();
    signal(SIGPIPE, SIG_IGN);
    rc = uv_loop_init(&m.loop);
    if (rc < 0) {
        kf_err("uv_loop_init: %s", uv_strerror(rc));
        return 1;
    }
    uv_signal_init(&m.loop, &m.sigterm);
    uv_signal_init(&m.loop, &m.sigint);
    uv_signal_init(&m.loop, &m.sigusr1);
    m.sigterm.data = m.sigint.data = m.sigusr1.data = &m;
    uv_signal_start(&m.sigterm, main_signal_cb, SIGTERM);
    uv_signal_start(&m.sigint, main_signal_cb, SIGINT);
    uv_signal_start(&m.sigusr1, main_usr1_cb, SIGUSR1);
    if (m.cfg.identity_dir[0] != '\0' && main_identity(&m, check) != 0)
        goto out_signals;
    if (check && m.cfg.device_id[0] == '\0')
        goto out_checked; /* not enrolled yet: nothing more to check */
    rc = kf_keyfile_read(m.cfg.key_file, sk);
    if (rc < 0) {
        kf_err("%s: %s", m.cfg.key_file, kf_strerror(rc));
        goto out_signals;
    }
    if (check) {
        sodium_memzero(sk, sizeof(sk));
        printf("%s: ok (device %s)\n", config, m.cfg.device_id);
        goto out_checked;
    }

    rc = kf_probes_init(&m.probes, "/proc", "/sys", m.cfg.disk_path);
    if (rc == 0)
        rc = kf_probes_set_thermal_dir(&m.probes, m.cfg.thermal_dir);
    if (rc < 0) {
        kf_err("probes: %s", kf_strerror(rc));
        goto out_signals;
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
        main_stop(&m);
        uv_run(&m.loop, UV_RUN_DEFAULT);
        goto out_probes;
    }
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
    {
        char next[KF_CFG_PATH_MAX];

        /* A rotation the server may have accepted before we could record it: ask again. */
        if (m.cfg.identity_dir[0] != '\0' &&
            kf_identity_key_path(m.cfg.identity_dir, m.cfg.key_epoch + 1, next, sizeof(next)) ==
                0 &&
            access(next, F_OK) == 0)
            rotate = 1;
    }
    if (rotate)
        main_rotate(&m);
    if (m.stop_requested)
        main_stop(&m);
    kf_notify("READY=1");
    uv_run(&m.loop, UV_RUN_DEFAULT);
    ret = 0;

out_probes:
    kf_probes_close(&m.probes);
    goto out_signals;
out_checked:
    ret = 0;
out_signals:
    if (!m.stopping) {
        uv_close((uv_handle_t *)&m.sigterm, NULL);
        uv_close((uv_handle_t *)&m.sigint, NULL);
        uv_close((uv_handle_t *)&m.sigusr1, NULL);
        uv_run(&m.loop, UV_RUN_DEFAULT);
    }
    rc = uv_loop_close(&m.loop);
    if (rc != 0) {
        kf_err("uv_loop_close: %s", uv_strerror(rc));
        ret = 1;
    }
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(&m.cfg, sizeof(m.cfg));
    return ret;
}
