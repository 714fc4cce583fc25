/* cmdsvc.h: kioskd's command service (docs/KIOSKD.md "Commands", store/commands.h): the
 * commands kioskctl queued go to their devices as signed COMMAND frames on
 * kf/v1/<device>/cmd (QoS 1, not retained), when the device is online; a command not yet
 * received is sent again when its device comes back, and every [commands] resend_s, until it
 * expires; an expired one is marked so. What the devices report comes back through the
 * ingest (HELLO, cmd_result records), not through here.
 *
 * The store's work (expiry, what is due, marking it sent) and the signatures run in one job
 * on the writer's thread; the loop only publishes what the job sealed. A job is asked for on
 * every SLA tick and after a commit that brought HELLOs (a device may have come back), at
 * most one in flight and one a second.
 *
 * Threads: new/free on the main thread; everything else on the loop thread.
 */
#ifndef KF_KIOSKD_CMDSVC_H
#define KF_KIOSKD_CMDSVC_H

#include <stdint.h>

#include <jansson.h>

#include <kf/conf.h>

#include "kioskd/link.h"
#include "kioskd/writer.h"

/* [commands] in kioskd's configuration (docs/KIOSKD.md). */
struct kf_cmdsvc_config {
    int resend_s;  /* 60, 5..86400: a command sent and not yet received goes again after this */
    int batch_max; /* 256, 1..10000: commands sealed per job */
};

void kf_cmdsvc_config_section(struct kf_cmdsvc_config *cfg, struct kf_conf_section *ret);

struct kf_cmdsvc;

/* sk (64 bytes) is copied; w and link are borrowed until kf_cmdsvc_free (after the writer
 * drained and the link closed). Registers a commit listener on w. */
int kf_cmdsvc_new(const struct kf_cmdsvc_config *cfg, const uint8_t *sk, struct kf_writer *w,
                  struct kf_link *link, uv_loop_t *loop, struct kf_cmdsvc **ret);
/* A look: submit the dispatch job unless one is in flight or one ran within the second. */
void kf_cmdsvc_tick(struct kf_cmdsvc *c);
/* No more jobs (kioskd is stopping). */
void kf_cmdsvc_stop(struct kf_cmdsvc *c);
json_t *kf_cmdsvc_stats_json(struct kf_cmdsvc *c);
void kf_cmdsvc_free(struct kf_cmdsvc *c); /* NULL is a no-op */

#endif
