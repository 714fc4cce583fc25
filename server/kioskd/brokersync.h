/* brokersync.h: publish identity answers once the broker knows the device.
 *
 * An accepted enrollment creates a broker account, so its answer waits until the broker has
 * it: struct kf_brokersync runs the configured command (normally `kiosk-provision
 * broker-sync ...`) on the loop, one run at a time, and publishes the answers that waited
 * for it when the run ends. Other answers are published at once. Loop thread only.
 */
#ifndef KF_KIOSKD_BROKERSYNC_H
#define KF_KIOSKD_BROKERSYNC_H

#include <uv.h>

#include <kf/conf.h>

#include "kioskd/identity.h"
#include "kioskd/link.h"

struct kf_brokersync;

/* argv: the command and its arguments, NULL-terminated (copied; run without a shell,
 * argv[0] searched in PATH); NULL means no broker to update: answers are published at
 * once. Borrows loop and link. Returns owned in *ret; 0 or -errno. */
/* [broker] in kioskd's configuration (docs/KIOSKD.md): after an enrollment, before
 * answering, run `provision_bin broker-sync --db <store> --dir auth_dir [--pid-file
 * pid_file]`; auth_dir empty: no broker files to update. */
struct kf_brokersync_config {
    char auth_dir[512];
    char pid_file[512];
    char provision_bin[512]; /* kiosk-provision (searched in PATH) */
};

/* The [broker] section over cfg (borrowed for the load; kf/conf.h). Any thread. */
void kf_brokersync_config_section(struct kf_brokersync_config *cfg, struct kf_conf_section *ret);

int kf_brokersync_new(uv_loop_t *loop, struct kf_link *link, char *const *argv,
                      struct kf_brokersync **ret);
/* Take ownership of a (malloc'd) answer: publish it now, or after the next sync run when
 * a->needs_sync. Starts a run if none is going. */
void kf_brokersync_submit(struct kf_brokersync *bs, struct kf_identity_answer *a);
/* Drop queued answers (the devices ask again), kill a running command, free bs when its
 * handles are closed, then cb. NULL bs: cb at once. */
void kf_brokersync_close(struct kf_brokersync *bs, void (*cb)(void *ud), void *ud);

#endif
