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
#include "core/inventory.h"
#include "core/probes.h"
#include "core/update_state.h"

struct main_ctx {
    uv_loop_t loop;
    struct kf_agent_config cfg;
    struct kf_probes probes;
    struct kf_agent *agent;
    struct kf_appsock *app;
    uv_signal_t sigterm, sigint, sigusr1;
    uv_timer_t watchdog;
    int watchdog_on;
    int disk_full; /* the last submit was refused for want of disk (logged once per run) */
    int app_id_reused_logged; /* the first app_id_reused of the run is logged; the rest counted */
    int stopping;
    volatile int stop_requested; /* a signal before the agent exists (enrollment) */
    int restart; /* the agent asked to be started again (a command): exec after the stop */
};

static int main_health_cb(void *ud, int64_t now_ms, struct kf_record *ret)
{
    struct main_ctx *m = ud;
    struct kf_inventory host;

    /* The host's inventory with each sample: a HELLO goes when it changed (agent_inv.c). */
    memset(&host, 0, sizeof(host));
    kf_inventory_probe("/proc", "/etc", m->cfg.disk_path, &host);
    (void)kf_agent_inventory_host(m->agent, &host);
    return kf_probes_sample(&m->probes, now_ms, ret);
}

static int main_submit_cb(void *ud, const struct kf_appsock_req *req, uint64_t *ret_seq,
                          int *ret_taken)
{
    struct main_ctx *m = ud;
    int rc;

    if (req->is_inv) /* the application's inventory (docs/AGENT.md "Inventory") */
        return kf_agent_inventory_app(m->agent, req->inv.app, req->inv.app_version, req->inv.periph,
                                      req->inv.nperiph);
    rc = kf_agent_submit_app(m->agent, &req->rec, req->ts_given, ret_seq, ret_taken);

    if (rc == 0 && *ret_taken == KF_OUTBOX_APP_REUSED && !m->app_id_reused_logged) {
        /* The application's bug, not the agent's: say it once, count the rest (stop line). */
        kf_warn("app socket: app_id %s was taken by another record (seq %" PRIu64
                "): refused as app_id_reused; later ones are only counted",
                req->rec.app_id, *ret_seq);
        m->app_id_reused_logged = 1;
    }

    if (rc == -ENOSPC && !m->disk_full) {
        kf_err("outbox %s: the disk is full: the application's records are refused "
               "(disk_full) until space is freed",
               m->cfg.outbox_path);
        m->disk_full = 1;
    } else if (rc == 0 && m->disk_full) {
        kf_notice("outbox %s: there is room again: records are stored", m->cfg.outbox_path);
        m->disk_full = 0;
    }
    return rc;
}

static void main_watchdog_cb(uv_timer_t *t)
{
    (void)t;
    kf_notify("WATCHDOG=1");
}

static void main_stop(struct main_ctx *m)
{
    struct kf_appsock_stats as;
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
    if (m->agent != NULL && kf_agent_stats(m->agent, &st) == 0)
        kf_info("stopping: commands accepted up to seq %" PRIu64 ", %" PRIu64
                " reported this run; refused: bad_signature %" PRIu64 ", other_device %" PRIu64
                ", expired %" PRIu64 ", replayed %" PRIu64 ", malformed %" PRIu64
                "; logs chunks sent %" PRIu64 " (%" PRIu64 " resends)",
                st.cmd_high, st.cmd_reported, st.cmd_refused[KF_CMD_BAD_SIGNATURE],
                st.cmd_refused[KF_CMD_OTHER_DEVICE], st.cmd_refused[KF_CMD_EXPIRED],
                st.cmd_refused[KF_CMD_REPLAYED], st.cmd_refused[KF_CMD_MALFORMED],
                st.blob_chunks_sent, st.blob_resends);
    if (m->app != NULL) {
        kf_appsock_stats(m->app, &as);
        kf_info("stopping: app socket %" PRIu64 " lines, %" PRIu64 " ok (%" PRIu64
                " resent lines answered with their first answer), %" PRIu64 " errors (%" PRIu64
                " app_id_reused)",
                as.lines, as.ok, as.repeats, as.errors, as.reused);
        kf_appsock_close(m->app, NULL, NULL);
    }
    if (m->agent != NULL)
        kf_agent_close(m->agent, NULL, NULL);
    uv_close((uv_handle_t *)&m->sigterm, NULL);
    uv_close((uv_handle_t *)&m->sigint, NULL);
    uv_close((uv_handle_t *)&m->sigusr1, NULL);
    if (m->watchdog_on)
        uv_close((uv_handle_t *)&m->watchdog, NULL);
}

/* A restart-agent or set-config command: stop as on SIGTERM, then exec ourselves (main). */
static void main_restart_cb(void *ud)
{
    struct main_ctx *m = ud;

    kf_notice("restarting, as a command asked");
    m->restart = 1;
    main_stop(m);
}

static void main_signal_cb(uv_signal_t *s, int signum)
{
    struct main_ctx *m = s->data;

    kf_notice("signal %d: shutting down", signum);
    m->stop_requested = 1;
    if (m->agent != NULL)
        main_stop(m);
}

/* ---- identity (core/identity.h, core/enroll.h) ---- */

static void main_rotated_cb(void *ud, uint32_t new_epoch, int reason)
{
    struct main_ctx *m = ud;
    int rc;

    if (reason != KF_IDENT_OK) {
        kf_err("key rotation to epoch %u refused: %s (the current key stays in use)", new_epoch,
               kf_ident_refusal_name(reason));
        return;
    }
    rc = kf_identity_rotated(m->cfg.identity_dir, m->cfg.device_id, m->cfg.key_epoch, new_epoch);
    if (rc < 0) {
        /* The server already holds the new key: the next start asks again and is told ok. */
        kf_err("identity %s: %s (the rotation is redone at the next start)", m->cfg.identity_dir,
               kf_strerror(rc));
        return;
    }
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

/* The identity from identity_dir, enrolling first if there is none yet. 0, or 1 (failed;
 * logged). With check, an agent not enrolled yet only says whether it has a token. */
static int main_identity(struct main_ctx *m, int check)
{
    struct kf_identity id;
    char err[512];
    int rc, enrolled = 0;

    if (check && kf_identity_load(m->cfg.identity_dir, &id) == -ENOENT) {
        printf("not enrolled yet (%s has no identity); token %s\n", m->cfg.identity_dir,
               m->cfg.enroll_token[0] ? "configured" : "MISSING");
        return m->cfg.enroll_token[0] ? 0 : 1;
    }
    rc = kf_enroll_identity(&m->loop, &m->cfg, &m->stop_requested, &enrolled, err, sizeof(err));
    if (rc < 0) {
        if (err[0] != '\0')
            kf_err("%s", err);
        return 1;
    }
    if (enrolled)
        kf_notice("enrolled as %s (key epoch %u)", m->cfg.device_id, m->cfg.key_epoch);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kiosk-agent -c FILE [--check] [--rotate-key] [--verify-package DEB]\n"
               "  -c, --config FILE     agent INI (docs/AGENT.md)\n"
               "      --check           validate the config and key file, then exit\n"
               "      --rotate-key      rotate the device key once connected (identity_dir;\n"
               "                        SIGUSR1 does the same on a running agent)\n"
               "      --verify-package DEB  check DEB against the signed manifest beside it\n"
               "                        (DEB without .deb, plus .manifest) under [update]\n"
               "                        release_public_key and [device] kind, then exit: 0\n"
               "                        verified, 1 not (docs/AGENT.md \"Updates\")\n");
}

/* The agent proper: probes, agent, app socket, watchdog, then the loop until a signal.
 * Takes sk and wipes it. 0, or 1 (failed; logged). */
static int main_serve(struct main_ctx *m, uint8_t sk[64], int rotate)
{
    struct kf_agent_opts ao;
    uint64_t wd_usec;
    int rc;

    rc = kf_probes_init(&m->probes, "/proc", "/sys", m->cfg.disk_path);
    if (rc == 0)
        rc = kf_probes_set_thermal_dir(&m->probes, m->cfg.thermal_dir);
    if (rc < 0) {
        sodium_memzero(sk, 64);
        kf_err("probes: %s", kf_strerror(rc));
        return 1;
    }
    memset(&ao, 0, sizeof(ao));
    ao.health_cb = main_health_cb;
    ao.health_ud = m;
    ao.restart_cb = main_restart_cb;
    ao.restart_ud = m;
    rc = kf_agent_new(&m->loop, &m->cfg, sk, &ao, &m->agent);
    sodium_memzero(sk, 64); /* the agent keeps its own copy */
    if (rc < 0) {
        kf_err("agent (outbox %s): %s", m->cfg.outbox_path, kf_strerror(rc));
        goto out_probes;
    }
    rc = kf_appsock_new(&m->loop, m->cfg.app_socket, m->cfg.app_max_line, main_submit_cb, m,
                        &m->app);
    if (rc < 0) {
        kf_err("app socket %s: %s", m->cfg.app_socket, kf_strerror(rc));
        goto out_stop;
    }
    if ((wd_usec = kf_notify_watchdog_usec()) >= 2000) {
        uv_timer_init(&m->loop, &m->watchdog);
        uv_timer_start(&m->watchdog, main_watchdog_cb, 0, wd_usec / 2000);
        m->watchdog_on = 1;
    }
    {
        struct kf_inventory host; /* the first HELLO says it (agent_inv.c) */

        memset(&host, 0, sizeof(host));
        kf_inventory_probe("/proc", "/etc", m->cfg.disk_path, &host);
        (void)kf_agent_inventory_host(m->agent, &host);
    }
    rc = kf_agent_start(m->agent);
    if (rc < 0) {
        kf_err("start: %s", kf_strerror(rc));
        goto out_stop;
    }
    kf_info("device %s: connecting to %s, app socket %s", m->cfg.device_id, m->cfg.uri,
            m->cfg.app_socket);
    /* A rotation the server may have accepted before we could record it: ask again. */
    if (m->cfg.identity_dir[0] != '\0' &&
        kf_identity_rotation_pending(m->cfg.identity_dir, m->cfg.key_epoch))
        rotate = 1;
    if (rotate)
        main_rotate(m);
    if (m->stop_requested)
        main_stop(m);
    kf_notify("READY=1");
    uv_run(&m->loop, UV_RUN_DEFAULT);
    kf_probes_close(&m->probes);
    return 0;

out_stop:
    main_stop(m);
    uv_run(&m->loop, UV_RUN_DEFAULT);
out_probes:
    kf_probes_close(&m->probes);
    return 1;
}

/* With the loop and the signals up: the identity and the key, then --check's answer or the
 * agent. 0, or 1 (failed; logged). */
static int main_agent(struct main_ctx *m, const char *config, int check, int rotate)
{
    uint8_t sk[64];
    int rc;

    if (m->cfg.identity_dir[0] != '\0' && main_identity(m, check) != 0)
        return 1;
    if (check && m->cfg.device_id[0] == '\0')
        return 0; /* not enrolled yet: nothing more to check */
    rc = kf_keyfile_read(m->cfg.key_file, sk);
    if (rc < 0) {
        sodium_memzero(sk, sizeof(sk));
        kf_err("%s: %s", m->cfg.key_file, kf_strerror(rc));
        return 1;
    }
    if (check) {
        sodium_memzero(sk, sizeof(sk));
        printf("%s: ok (device %s)\n", config, m->cfg.device_id);
        return 0;
    }
    return main_serve(m, sk, rotate);
}

/* --verify-package DEB: the root-run installer's check (agent/hooks/kiosk-agent-install) of a
 * package the agent fetched, against the signed manifest beside it. 0 verified, 1 not. */
static int main_verify_package(const struct kf_agent_config *cfg, const char *pkg)
{
    static const uint8_t zero[32];
    const char *kind = kf_agent_config_kind_name(cfg->kind);
    struct kf_manifest man;
    char why[4400];

    if (sodium_memcmp(cfg->release_pk, zero, 32) == 0) {
        kf_err("%s: not verified: no [update] release_public_key is set", pkg);
        return 1;
    }
    if (kind == NULL ||
        kf_upd_verify_package(pkg, cfg->release_pk, kind, &man, why, sizeof(why)) < 0) {
        kf_err("not verified: %s", kind == NULL ? "no [device] kind" : why);
        return 1;
    }
    printf("verified: %s %s, %" PRIu64 " bytes, signed by the release key, for %s terminals\n",
           man.name, man.version, man.size, kind);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'C'},
        {"rotate-key", no_argument, NULL, 'R'},   {"verify-package", required_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    static struct main_ctx m; /* large (config paths); not on the stack */
    const char *config = NULL, *verify = NULL;
    int check = 0, rotate = 0, opt, rc, ret;
    char err[512];

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
        case 'V':
            verify = optarg;
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
    if (verify != NULL)
        return main_verify_package(&m.cfg, verify);
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

    ret = main_agent(&m, config, check, rotate);

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
    sodium_memzero(&m.cfg, sizeof(m.cfg));
    if (m.restart && ret == 0 && rc == 0) {
        /* Everything is closed and durable: the same program, the same arguments, afresh
         * (the same pid, so a service manager sees no exit). The program as installed now:
         * an update of the agent's package replaced the file, and /proc/self/exe still
         * names the old one (" (deleted)"). */
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        static const char deleted[] = " (deleted)";

        if (n > 0) {
            exe[n] = '\0';
            if ((size_t)n > sizeof(deleted) - 1 &&
                strcmp(exe + n - (ssize_t)(sizeof(deleted) - 1), deleted) == 0)
                exe[(size_t)n - (sizeof(deleted) - 1)] = '\0';
            if (access(exe, X_OK) == 0)
                execv(exe, argv);
        }
        execv("/proc/self/exe", argv);
        kf_err("restart: exec /proc/self/exe: %s", strerror(errno));
        return 1;
    }
    return ret;
}
