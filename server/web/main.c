/* kiosk-web: the HTTP API, the console and /metrics over the store (docs/WEB.md).
 *   kiosk-web -c FILE            run (foreground; logs on stderr with <N> priority prefixes)
 *   kiosk-web -c FILE --check    check the configuration, TLS files, server key, store
 *   kiosk-web --routes           print the route table as JSON (the OpenAPI test reads it)
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 on a startup error, 2 on usage. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include <kf/err.h>
#include <kf/log.h>

#include "web/web.h"

static void unref_async(uv_handle_t *h, void *arg)
{
    (void)arg;
    /* h2o's cross-thread queue (an async handle of its context) would keep the loop alive
     * for ever, and its timeout timers run to their end (10 s) after the connection they
     * watched has gone. Once stopping, neither holds the loop: it ends when the last
     * connection (its socket) and the last call (its work request) are done. */
    if (h->type == UV_ASYNC || h->type == UV_TIMER)
        uv_unref(h);
}

static void on_prepare(uv_prepare_t *p)
{
    int *stopping = p->data;

    if (*stopping) {
        uv_walk(p->loop, unref_async, NULL);
        uv_prepare_stop(p);
        uv_close((uv_handle_t *)p, NULL);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: kiosk-web -c FILE [--check] | kiosk-web --routes\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct kf_web_config cfg;
    struct kf_web_server *s;
    const char *conf = NULL;
    int check = 0, routes = 0, rc = 0;
    char err[600] = "";
    uv_loop_t loop;
    uv_prepare_t prep;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            conf = argv[++i];
        else if (strcmp(argv[i], "--check") == 0)
            check = 1;
        else if (strcmp(argv[i], "--routes") == 0)
            routes = 1;
        else
            return usage();
    }
    kf_log_set_ident("kiosk-web");
    if (routes) {
        json_t *j = kf_web_routes_json();

        if (!j || json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
            return 1;
        json_decref(j);
        putchar('\n');
        return 0;
    }
    if (!conf)
        return usage();
    if (sodium_init() < 0) {
        kf_err("libsodium cannot start");
        return 1;
    }
    if (kf_web_config_load(conf, &cfg, err, sizeof(err)) < 0) {
        kf_err("%s", err);
        return 1;
    }
    kf_log_set_level((enum kf_log_level)cfg.log_level);
    /* Enough pool threads that password checks (at most pw_max) never hold up the rest. */
    if (!getenv("UV_THREADPOOL_SIZE")) {
        char n[16];

        snprintf(n, sizeof(n), "%u", cfg.pw_max + 4);
        setenv("UV_THREADPOOL_SIZE", n, 1);
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    s = kf_web_server_new(&cfg, &loop, err, sizeof(err));
    if (!s) {
        kf_err("%s", err);
        uv_loop_close(&loop);
        return 1;
    }
    if (check) {
        struct kf_store_info info;
        int r = kf_store_inspect(cfg.store, &info);

        if (r < 0)
            kf_err("[store] path %s: %s", cfg.store, kf_strerror(r));
        else
            printf("kiosk-web: %s: schema %d (this program %d); listen %s%s; console %s\n",
                   cfg.store, info.schema, info.schema_current, cfg.listen,
                   cfg.tls_cert[0] ? " (TLS)" : "", cfg.console_dir);
        kf_web_server_free(s);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return r < 0 ? 1 : 0;
    }
    if (kf_web_server_start(s, err, sizeof(err)) < 0) {
        kf_err("%s", err);
        rc = 1;
    } else {
        kf_notice("listening on %s%s, store %s", cfg.listen, cfg.tls_cert[0] ? " (TLS)" : "",
                  cfg.store);
        uv_prepare_init(&loop, &prep);
        prep.data = kf_web_server_stopping_flag(s);
        uv_prepare_start(&prep, on_prepare);
        uv_unref((uv_handle_t *)&prep);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    kf_web_server_free(s);
    uv_run(&loop, UV_RUN_DEFAULT); /* the close callbacks of what free closed */
    if (uv_loop_close(&loop) != 0) {
        kf_err("the loop still had handles at exit");
        rc = 1;
    }
    if (rc == 0)
        kf_notice("stopped");
    return rc;
}
