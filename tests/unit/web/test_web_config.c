/* web/config.c and web/routes.c: kiosk-web's configuration and its one route table. */
#include <string.h>

#include <criterion/criterion.h>

#include "web/web.h"

static int load(const char *text, struct kf_web_config *cfg, char *err)
{
    return kf_web_config_load_string(text, "/etc/kioskfleet/kiosk-web.conf", cfg, err, 512);
}

Test(web_config, defaults_and_relative_paths)
{
    struct kf_web_config cfg;
    char err[512] = "";

    cr_assert_eq(load("[store]\npath = kioskd.db\n", &cfg, err), 0, "%s", err);
    cr_assert_str_eq(cfg.listen, "127.0.0.1:8443");
    cr_assert_str_eq(cfg.store, "/etc/kioskfleet/kioskd.db");
    cr_assert_eq(cfg.body_max, 65536u);
    cr_assert_eq(cfg.idle_s, 1800u);
    cr_assert_eq(cfg.login_fail_max, 5u);
}

Test(web_config, refuses_a_network_address_without_tls)
{
    struct kf_web_config cfg;
    char err[512] = "";

    cr_assert_lt(load("[web]\nlisten = 0.0.0.0:8443\n[store]\npath = /x.db\n", &cfg, err), 0);
    cr_assert_not_null(strstr(err, "not a loopback address"), "%s", err);
    cr_assert_lt(load("[web]\ntls_cert = /c.pem\n[store]\npath = /x.db\n", &cfg, err), 0);
    cr_assert_not_null(strstr(err, "go together"), "%s", err);
    cr_assert_lt(load("[store]\npath = /x.db\n[limits]\nbody_max = 10\n", &cfg, err), 0);
    cr_assert_lt(load("[store]\npath = /x.db\n[web]\nnope = 1\n", &cfg, err), 0);
    cr_assert_lt(load("[web]\nlisten = 127.0.0.1:8443\n", &cfg, err), 0); /* no store */
}

Test(web_routes, match_roles_and_methods)
{
    char args[2][256];
    int known;
    const struct kf_web_route *r;

    r = kf_web_route_find("GET", "/api/v1/terminals/A-000001", args, &known);
    cr_assert_not_null(r);
    cr_assert_str_eq(args[0], "A-000001");
    cr_assert_eq(r->roles & KF_WEB_R_BUREAU, 0u, "the bureau sees no terminal's page");
    r = kf_web_route_find("POST", "/api/v1/incidents/7/actions", args, &known);
    cr_assert_not_null(r);
    cr_assert_eq(r->roles & (KF_WEB_R_BANK | KF_WEB_R_BUREAU | KF_WEB_R_PUBLIC), 0u);
    cr_assert_null(kf_web_route_find("PUT", "/api/v1/fleet", args, &known));
    cr_assert_eq(known, 1);
    cr_assert_null(kf_web_route_find("GET", "/api/v1/terminals/", args, &known));
    cr_assert_null(kf_web_route_find("GET", "/api/v1/terminals/a/b", args, &known));
    cr_assert_not_null(kf_web_route_find("HEAD", "/healthz", args, &known));
    for (size_t i = 0; i < kf_web_nroutes; i++)
        cr_assert_neq(kf_web_routes[i].roles, 0u, "%s has no role", kf_web_routes[i].pattern);
}
