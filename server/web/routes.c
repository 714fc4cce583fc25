/* web/routes.c: the one route table. Who may call what is decided here and nowhere else:
 * each row names its roles, and kf_web_call_run refuses every call whose scope's role is
 * not among them before any handler runs. docs/openapi.yaml describes exactly these rows
 * (tests/integration/web_api.py fails when the two differ: kiosk-web --routes). */
#include <string.h>

#include "web/web.h"

#define O KF_WEB_R_OPERATOR
#define T KF_WEB_R_TECHNICIAN
#define B KF_WEB_R_BANK
#define U KF_WEB_R_BUREAU
#define P KF_WEB_R_PUBLIC
#define PAGE "limit,offset,format"

const struct kf_web_route kf_web_routes[] = {
    {"GET", "/healthz", P, KF_WEB_F_NOSTORE, NULL, NULL, "liveness"},
    {"GET", "/metrics", O, 0, NULL, kf_web_api_fleet_metrics, "Prometheus metrics"},
    {"POST", "/api/v1/session", P, KF_WEB_F_LOGIN | KF_WEB_F_WRITE, NULL, kf_web_api_login,
     "log in"},
    {"GET", "/api/v1/session", O | T | B | U, 0, NULL, kf_web_api_session, "who am I"},
    {"DELETE", "/api/v1/session", O | T | B | U, KF_WEB_F_NOSTORE | KF_WEB_F_WRITE, NULL, NULL,
     "log out"},
    {"GET", "/api/v1/fleet", O | T | B | U, KF_WEB_F_LIST | KF_WEB_F_CACHE,
     "unit,bank,zone,status,kind,q," PAGE, kf_web_api_fleet, "terminals with their live state"},
    {"GET", "/api/v1/terminals/{asset}", O | T | B, KF_WEB_F_CACHE, NULL, kf_web_api_terminal,
     "one terminal: state, items out, open incidents, history"},
    {"GET", "/api/v1/terminals/{asset}/timeline", O | T | B, KF_WEB_F_LIST | KF_WEB_F_CACHE,
     "days,kind,periph,value,q," PAGE, kf_web_api_terminal_timeline,
     "one terminal's changes of state over the last days"},
    {"GET", "/api/v1/incidents", O | T | B, KF_WEB_F_LIST | KF_WEB_F_CACHE,
     "status,days,flat,assignee,unassigned,bank,zone,state,cause,terminal,outage,q," PAGE,
     kf_web_api_incidents, "the open incidents, or every incident of the last days"},
    {"GET", "/api/v1/incidents/{id}", O | T | B, KF_WEB_F_CACHE, NULL, kf_web_api_incident,
     "one incident and its history"},
    {"POST", "/api/v1/incidents/{id}/actions", O | T, KF_WEB_F_WRITE, NULL,
     kf_web_api_incident_action, "queue a technician's action for kioskd"},
    {"POST", "/api/v1/incidents/actions", O | T, KF_WEB_F_WRITE, NULL, kf_web_api_incidents_action,
     "queue one action on several incidents, all or none"},
    {"GET", "/api/v1/outages", O | T, KF_WEB_F_LIST | KF_WEB_F_CACHE, "bank,zone," PAGE,
     kf_web_api_outages, "mass outages: the incidents of a branch or unit that dropped together"},
    {"GET", "/api/v1/outages/{id}", O | T, KF_WEB_F_CACHE, NULL, kf_web_api_outage,
     "one outage and its incidents"},
    {"POST", "/api/v1/outages/{id}/actions", O | T, KF_WEB_F_WRITE, NULL, kf_web_api_outage_action,
     "queue one action on each of an outage's incidents"},
    {"GET", "/api/v1/zones", O | T | B | U, KF_WEB_F_LIST | KF_WEB_F_CACHE, "unit,bank,q," PAGE,
     kf_web_api_zones, "zones with their plan"},
    {"GET", "/api/v1/public/zones", P, KF_WEB_F_LIST | KF_WEB_F_CACHE, "unit,bank,q," PAGE,
     kf_web_api_public_zones, "the zone finder"},
    {"GET", "/api/v1/usage", O | B | U, KF_WEB_F_LIST | KF_WEB_F_CACHE, "from,to,by," PAGE,
     kf_web_api_usage, "transactions over days, grouped"},
    {"GET", "/api/v1/sla", O | T | B | U, KF_WEB_F_LIST | KF_WEB_F_CACHE,
     "month,by,bank,zone," PAGE, kf_web_api_sla, "the month's availability report"},
    {"GET", "/api/v1/bills", O | B, KF_WEB_F_LIST | KF_WEB_F_CACHE, "bank,period," PAGE,
     kf_web_api_bills, "issued bills and credit notes"},
    {"GET", "/api/v1/bills/{number}", O | B, KF_WEB_F_CACHE, "format", kf_web_api_bill,
     "one bill: JSON, or format=csv|xlsx|pdf"},
    {"POST", "/api/v1/bills/{number}/disputes", B, KF_WEB_F_WRITE, NULL, kf_web_api_bill_dispute,
     "dispute a line of the bank's bill"},
    {"GET", "/api/v1/disputes", O | B, KF_WEB_F_LIST, "bill,state," PAGE, kf_web_api_disputes,
     "disputes and their answers"},
    {"GET", "/api/v1/reports/weekly", O | U, KF_WEB_F_LIST | KF_WEB_F_CACHE, PAGE, kf_web_api_weeks,
     "issued weekly reports"},
    {"GET", "/api/v1/reports/weekly/{week}", O | U, KF_WEB_F_CACHE, "format", kf_web_api_week,
     "one weekly report: JSON, or format=csv|xlsx|pdf"},
    {"GET", "/api/v1/coverage", O | U, KF_WEB_F_CACHE, "at", kf_web_api_coverage,
     "zones and terminals against the plan's targets"},
    {"GET", "/api/v1/assessments", O | U, KF_WEB_F_LIST | KF_WEB_F_CACHE, PAGE,
     kf_web_api_assessments, "issued half-year assessments"},
    {"GET", "/api/v1/assessments/{period}", O | U, KF_WEB_F_CACHE, "format", kf_web_api_assessment,
     "one assessment: JSON, or format=csv|xlsx"},
    {"GET", "/api/v1/watchlist", O | U, KF_WEB_F_LIST | KF_WEB_F_CACHE, "unit,bank,standing," PAGE,
     kf_web_api_watchlist, "zones that failed the last period or are proposed for delisting"},
    {"GET", "/api/v1/users", O, KF_WEB_F_LIST, PAGE, kf_web_api_users, "users"},
    /* Commands to terminals, rollouts and the inventory (issue 18; web/api_cmd.c). */
    {"GET", "/api/v1/commands", O | T, KF_WEB_F_LIST, "device,status,kind,rollout," PAGE,
     kf_web_api_commands, "commands to terminals, newest first"},
    {"GET", "/api/v1/commands/{id}", O | T, 0, NULL, kf_web_api_command,
     "one command and its outcome"},
    {"POST", "/api/v1/commands", O | T, KF_WEB_F_WRITE, NULL, kf_web_api_command_post,
     "send a command to terminals (a rollout with a canary), or a dry run"},
    {"GET", "/api/v1/command-requests/{id}", O | T, 0, NULL, kf_web_api_command_request,
     "what kioskd made of a command request"},
    {"GET", "/api/v1/rollouts", O | T, KF_WEB_F_LIST, "status,kind," PAGE, kf_web_api_rollouts,
     "rollouts in waves"},
    {"GET", "/api/v1/rollouts/{id}", O | T, 0, NULL, kf_web_api_rollout,
     "one rollout and its waves"},
    {"POST", "/api/v1/rollouts/{id}/halt", O, KF_WEB_F_WRITE, NULL, kf_web_api_rollout_halt,
     "halt a running rollout"},
    {"POST", "/api/v1/rollouts/{id}/resume", O, KF_WEB_F_WRITE, NULL, kf_web_api_rollout_resume,
     "resume a halted rollout"},
    {"GET", "/api/v1/inventory", O | T | B | U, KF_WEB_F_LIST, "by,where," PAGE,
     kf_web_api_inventory, "terminals counted by inventory fields"},
    {"GET", "/api/v1/commands/{id}/logs", O | T, 0, NULL, kf_web_api_command_logs,
     "the text a logs command collected"},
    {"GET", "/api/v1/artifacts", O, KF_WEB_F_LIST, PAGE, kf_web_api_artifacts,
     "software artifacts an update command may send"},
    {"GET", "/api/v1/events", O | T | B, KF_WEB_F_SSE, "cursor", NULL,
     "server-sent events: fleet and incident changes"},
};
const size_t kf_web_nroutes = sizeof(kf_web_routes) / sizeof(kf_web_routes[0]);

/* The live views whose answers cover a settled period of days (docs/WEB.md "Answers over
 * settled periods"), by handler: the answer cache keeps them while the store's stamp of
 * those days holds. */
static const struct {
    kf_web_handler_fn fn;
    kf_web_period_fn period;
} periods[] = {
    {kf_web_api_usage, kf_web_period_usage},
    {kf_web_api_sla, kf_web_period_sla},
    {kf_web_api_coverage, kf_web_period_coverage},
};

kf_web_period_fn kf_web_route_period(const struct kf_web_route *r)
{
    if (!(r->flags & KF_WEB_F_CACHE))
        return NULL;
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
        if (periods[i].fn == r->fn)
            return periods[i].period;
    return NULL;
}

/* Does path match pattern? {} values into args. */
static int match(const char *pattern, const char *path, char args[2][256])
{
    int na = 0;

    while (*pattern && *path) {
        if (*pattern == '{') {
            const char *pe = strchr(pattern, '}');
            size_t n = strcspn(path, "/");

            if (!pe || n == 0 || n >= 256 || na >= 2)
                return 0;
            memcpy(args[na], path, n);
            args[na++][n] = '\0';
            pattern = pe + 1;
            path += n;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *pattern == '\0' && *path == '\0';
}

const struct kf_web_route *kf_web_route_find(const char *method, const char *path,
                                             char args[2][256], int *ret_path_known)
{
    char tmp[2][256];

    *ret_path_known = 0;
    for (size_t i = 0; i < kf_web_nroutes; i++) {
        const struct kf_web_route *r = &kf_web_routes[i];

        if (!match(r->pattern, path, tmp))
            continue;
        if (strcmp(r->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
            memcpy(args, tmp, sizeof(tmp));
            return r;
        }
        *ret_path_known = 1;
    }
    return NULL;
}

unsigned kf_web_role_bit(const struct kf_scope *s)
{
    switch (s->role) {
    case KF_ROLE_OPERATOR:
        return KF_WEB_R_OPERATOR;
    case KF_ROLE_TECHNICIAN:
        return KF_WEB_R_TECHNICIAN;
    case KF_ROLE_BANK:
        return KF_WEB_R_BANK;
    case KF_ROLE_BUREAU:
        return KF_WEB_R_BUREAU;
    default:
        return KF_WEB_R_PUBLIC;
    }
}

json_t *kf_web_routes_json(void)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{P, "public"}, {O, "operator"}, {T, "technician"}, {B, "bank"}, {U, "bureau"}};
    json_t *a = json_array();

    for (size_t i = 0; a && i < kf_web_nroutes; i++) {
        const struct kf_web_route *r = &kf_web_routes[i];
        json_t *roles = json_array(), *o;

        for (size_t k = 0; roles && k < sizeof(names) / sizeof(names[0]); k++)
            if (r->roles & names[k].bit)
                json_array_append_new(roles, json_string(names[k].name));
        o = json_pack("{s:s, s:s, s:o, s:s?, s:b, s:b}", "method", r->method, "path", r->pattern,
                      "roles", roles, "params", r->params, "list", (r->flags & KF_WEB_F_LIST) != 0,
                      "write", (r->flags & KF_WEB_F_WRITE) != 0);
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}
