/* kf/notify.h: the systemd service notification protocol (sd_notify(3)), spoken directly.
 *
 * The protocol is one datagram of "KEY=VALUE\n" lines to the AF_UNIX socket named in
 * $NOTIFY_SOCKET (a path, or an abstract name starting with '@'); systemd documents it as
 * a stable interface that services may implement themselves. We do, rather than link
 * libsystemd: on a terminal that library and what it pulls in (libgcrypt, liblzma, liblz4,
 * libcap) cost about 1 MB of the agent's 8 MB budget for two calls.
 */
#ifndef KF_NOTIFY_H
#define KF_NOTIFY_H

#include <stdint.h>

/* Send state (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1") to the service manager.
 * Returns 1 if sent, 0 if not running under a manager ($NOTIFY_SOCKET unset), or a
 * negative errno. Any thread. */
int kf_notify(const char *state);

/* The watchdog interval in microseconds if the manager expects WATCHDOG=1 from this
 * process ($WATCHDOG_USEC set and $WATCHDOG_PID unset or ours), else 0. */
uint64_t kf_notify_watchdog_usec(void);

#endif
