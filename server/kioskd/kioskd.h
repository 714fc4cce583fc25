/* kioskd.h: the server daemon as a library object (main.c is a thin shell). One libuv loop,
 * owned by struct kf_kioskd, runs everything: link (MQTT) -> pipeline (verify, commit, ack)
 * with its jobs on the writer (writer.h, the one store connection), the SLA service (a job
 * on the same writer), signals, heartbeat expiry, stats and the systemd watchdog.
 *
 * Lifecycle: kf_kioskd_new (key, store, registry, SLA service) -> kf_kioskd_run (until
 * SIGTERM/SIGINT; drains the pipeline, then the writer, writes the stats file, closes every
 * handle, uv_loop_close() == 0) -> kf_kioskd_free (writer, SLA service, store).
 */
#ifndef KF_KIOSKD_KIOSKD_H
#define KF_KIOSKD_KIOSKD_H

#include "kioskd/config.h"

struct kf_kioskd;

/* Reads the server key, opens (creating/migrating) the store and loads the registry.
 * Borrows cfg (copied). Returns owned in *ret; 0 or -errno (logged once, here). Main thread. */
int kf_kioskd_new(const struct kf_kioskd_config *cfg, struct kf_kioskd **ret);

/* Run the loop until stopped. 0 on a clean stop, else -errno. Thread that called _new
 * (or any one thread, consistently). Call once. */
int kf_kioskd_run(struct kf_kioskd *kd);

void kf_kioskd_free(struct kf_kioskd *kd); /* NULL is a no-op; after run returned */

#endif
