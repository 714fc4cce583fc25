/* kf/mqtt.h: the process-wide setup every program that runs Paho MQTT clients needs. */
#ifndef KF_MQTT_H
#define KF_MQTT_H

/* Once per process, before the first MQTTAsync_create (main thread; kiosk-agent, kiosk-sim,
 * kioskd):
 * - Paho leaves OpenSSL's initialisation to OpenSSL itself. OpenSSL 1.1 and 3 initialise on
 *   first use (SSL_CTX_new runs OPENSSL_init_ssl) and need no locking callbacks, so TLS
 *   links work without Paho's init (tested against the TLS broker), and a plain-TCP agent
 *   never pulls libcrypto's tables into memory (~3 MB of its RSS).
 * - OpenSSL registers no cleanup at exit. Paho's send and receive threads are detached: the
 *   last MQTTAsync_destroy waits only until they mark themselves stopped, and they then
 *   return and run OpenSSL's per-thread destructor. A process that exits right after (a
 *   refused enrollment does) ran OpenSSL's atexit cleanup while that destructor ran: a SEGV
 *   in libcrypto on a Paho thread, a double free, or its thread state leaked (about one
 *   exit in ten under ASan). Nothing can join those threads, and the cleanup only frees
 *   what the exit frees anyway. This initialises libcrypto's base (locks, a thread key:
 *   ~64 kB), and has to come before OpenSSL's first initialisation, which would register
 *   the handler. Should OpenSSL refuse, that is logged and the links still work. */
void kf_mqtt_global_init(void);

#endif
