/* core/agent_inv.c: the terminal's inventory in the HELLO (agent.h, kf_agent_inventory_*):
 * the host's part and the application's, merged with the agent's own version and rendered
 * once; a HELLO goes again when the rendering changes. */
#include "core/agent_int.h"

#include <errno.h>
#include <string.h>

#include <kf/log.h>

/* Render the merged inventory; on a change, keep it and say it in a HELLO. */
static int inv_update(struct kf_agent *a, const struct kf_inventory *next)
{
    char json[KF_INV_JSON_MAX];
    const char *slash = strchr(a->agent_name, '/');
    struct kf_inventory m = *next;
    int n;

    kf_inv_text_copy(m.agent, sizeof(m.agent), slash ? slash + 1 : a->agent_name);
    n = kf_inv_render(&m, json, sizeof(json));
    if (n < 0)
        return n;
    a->inv = m;
    if (strcmp(json, a->inv_json) == 0)
        return 0;
    memcpy(a->inv_json, json, (size_t)n + 1);
    kf_debug("%s: inventory %s", a->cfg.device_id, json);
    if (a->online)
        kf__agent_send_hello(a);
    return 0;
}

int kf_agent_inventory_host(struct kf_agent *a, const struct kf_inventory *host)
{
    struct kf_inventory next = a->inv;

    memcpy(next.os, host->os, sizeof(next.os));
    memcpy(next.os_version, host->os_version, sizeof(next.os_version));
    memcpy(next.kernel, host->kernel, sizeof(next.kernel));
    memcpy(next.cpu, host->cpu, sizeof(next.cpu));
    next.cores = host->cores;
    next.mem_mb = host->mem_mb;
    next.disk_gb = host->disk_gb;
    next.disk_free_gb = host->disk_free_gb;
    return inv_update(a, &next);
}

int kf_agent_inventory_app(struct kf_agent *a, const char *app, const char *app_version,
                           const struct kf_inv_periph *periph, uint32_t nperiph)
{
    struct kf_inventory next = a->inv;
    int rc;

    if (nperiph > KF_INV_PERIPH_MAX || !kf_inv_text_ok(app, KF_INV_NAME_MAX) ||
        !kf_inv_text_ok(app_version, KF_INV_NAME_MAX))
        return -EINVAL;
    memcpy(next.app, app, strlen(app) + 1);
    memcpy(next.app_version, app_version, strlen(app_version) + 1);
    if (nperiph > 0)
        memcpy(next.periph, periph, nperiph * sizeof(*periph));
    next.nperiph = nperiph;
    rc = inv_update(a, &next);
    if (rc == 0)
        kf__agent_update_app(a); /* the application reports in: an update's health check */
    return rc;
}

const char *kf__agent_inv_hello(const struct kf_agent *a)
{
    return a->inv_json[0] != '\0' ? a->inv_json : NULL;
}
