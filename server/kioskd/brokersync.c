/* brokersync.c: run the broker sync command and publish the answers that waited for it
 * (brokersync.h). */
#include "kioskd/brokersync.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/log.h>

#define SYNC_ARGV_MAX 32

struct kf_brokersync {
    uv_loop_t *loop;
    struct kf_link *link;
    char *argv[SYNC_ARGV_MAX + 1]; /* owned copies */
    uv_process_t proc;
    int running, closing;
    struct kf_identity_answer *waiting, *covered; /* need a run / covered by the running one */
    uint64_t answers, runs, failures;
    void (*closed_cb)(void *ud);
    void *closed_ud;
};

static void publish(struct kf_brokersync *bs, struct kf_identity_answer *a)
{
    while (a != NULL) {
        struct kf_identity_answer *next = a->next;

        if (kf_link_publish(bs->link, a->topic, a->buf, a->len, 1) == 0) {
            bs->answers++;
        } else {
            kf_warn("identity: could not publish the answer to %s (the device asks again)",
                    a->topic);
        }
        free(a);
        a = next;
    }
}

static void free_list(struct kf_identity_answer *a)
{
    while (a != NULL) {
        struct kf_identity_answer *next = a->next;
        free(a);
        a = next;
    }
}

static void brokersync_free(struct kf_brokersync *bs)
{
    for (size_t i = 0; bs->argv[i] != NULL; i++) {
        free(bs->argv[i]);
    }
    free(bs);
}

static void start_run(struct kf_brokersync *bs);

static void on_closed(uv_handle_t *h)
{
    struct kf_brokersync *bs = h->data;

    bs->running = 0;
    if (bs->closing) {
        void (*cb)(void *ud) = bs->closed_cb;
        void *ud = bs->closed_ud;

        free_list(bs->waiting);
        free_list(bs->covered);
        brokersync_free(bs);
        if (cb != NULL) {
            cb(ud);
        }
        return;
    }
    if (bs->waiting != NULL) {
        start_run(bs);
    }
}

static void on_proc_exit(uv_process_t *p, int64_t status, int sig)
{
    struct kf_brokersync *bs = p->data;
    struct kf_identity_answer *done = bs->covered;

    bs->covered = NULL;
    if (status != 0 || sig != 0) {
        bs->failures++;
        kf_err("broker-sync: %s exited with status %lld signal %d; answering anyway (run it "
               "by hand so the new devices can connect)",
               bs->argv[0], (long long)status, sig);
    }
    if (!bs->closing) {
        publish(bs, done);
    } else {
        free_list(done);
    }
    uv_close((uv_handle_t *)p, on_closed);
}

static void start_run(struct kf_brokersync *bs)
{
    uv_process_options_t o;
    uv_stdio_container_t io[3];
    int rc;

    memset(&o, 0, sizeof(o));
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_INHERIT_FD;
    io[1].data.fd = 2; /* its report goes to our log */
    io[2].flags = UV_INHERIT_FD;
    io[2].data.fd = 2;
    o.file = bs->argv[0];
    o.args = bs->argv;
    o.exit_cb = on_proc_exit;
    o.stdio = io;
    o.stdio_count = 3;
    bs->covered = bs->waiting;
    bs->waiting = NULL;
    bs->proc.data = bs;
    rc = uv_spawn(bs->loop, &bs->proc, &o);
    bs->runs++;
    if (rc != 0) {
        bs->failures++;
        kf_err("broker-sync: cannot run %s: %s; answering anyway", bs->argv[0], uv_strerror(rc));
        publish(bs, bs->covered);
        bs->covered = NULL;
        /* uv_spawn initialised the handle: it must still be closed. */
        bs->running = 1;
        uv_close((uv_handle_t *)&bs->proc, on_closed);
        return;
    }
    bs->running = 1;
}

int kf_brokersync_new(uv_loop_t *loop, struct kf_link *link, char *const *argv,
                      struct kf_brokersync **ret)
{
    struct kf_brokersync *bs = calloc(1, sizeof(*bs));
    size_t n = 0;

    if (bs == NULL) {
        return -ENOMEM;
    }
    bs->loop = loop;
    bs->link = link;
    for (; argv != NULL && argv[n] != NULL; n++) {
        if (n == SYNC_ARGV_MAX || (bs->argv[n] = strdup(argv[n])) == NULL) {
            for (size_t i = 0; i < n; i++) {
                free(bs->argv[i]);
            }
            free(bs);
            return n == SYNC_ARGV_MAX ? -E2BIG : -ENOMEM;
        }
    }
    bs->argv[n] = NULL;
    *ret = bs;
    return 0;
}

void kf_brokersync_submit(struct kf_brokersync *bs, struct kf_identity_answer *a)
{
    a->next = NULL;
    if (!a->needs_sync || bs->argv[0] == NULL) {
        publish(bs, a);
        return;
    }
    a->next = bs->waiting;
    bs->waiting = a;
    if (!bs->running && !bs->closing) {
        start_run(bs);
    }
}

void kf_brokersync_close(struct kf_brokersync *bs, void (*cb)(void *ud), void *ud)
{
    if (bs == NULL) {
        if (cb != NULL) {
            cb(ud);
        }
        return;
    }
    bs->closing = 1;
    bs->closed_cb = cb;
    bs->closed_ud = ud;
    if (bs->running) {
        if (!uv_is_closing((uv_handle_t *)&bs->proc)) {
            uv_process_kill(&bs->proc, SIGTERM);
        }
        return; /* on_proc_exit / on_closed finish */
    }
    free_list(bs->waiting);
    brokersync_free(bs);
    if (cb != NULL) {
        cb(ud);
    }
}

/* ---- [broker] ---- */

static const struct kf_conf_key broker_keys[] = {
    KF_CONF_KEY_STR("auth_dir", struct kf_brokersync_config, auth_dir, NULL, 0),
    KF_CONF_KEY_STR("pid_file", struct kf_brokersync_config, pid_file, NULL, 0),
    KF_CONF_KEY_STR("provision_bin", struct kf_brokersync_config, provision_bin, "kiosk-provision",
                    0),
};

void kf_brokersync_config_section(struct kf_brokersync_config *cfg, struct kf_conf_section *ret)
{
    *ret = (struct kf_conf_section){"broker", broker_keys,
                                    sizeof(broker_keys) / sizeof(broker_keys[0]), cfg, NULL};
}
