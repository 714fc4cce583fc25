/* testproc.h: real processes for the unit suites that need a broker or a daemon (test_link,
 * test_pipeline): a free loopback port, a mosquitto started on it, children that die with
 * the test, waits with deadlines. */
#ifndef KF_TESTS_TESTPROC_H
#define KF_TESTS_TESTPROC_H

#include <stdint.h>
#include <sys/types.h>

/* Milliseconds on the monotonic clock. */
int64_t kf_test_mono_ms(void);
void kf_test_nap_ms(long ms);
/* A loopback TCP port nothing is bound to now, picked at random in 20000..39999; asserts. */
int kf_test_free_port(void);
/* 1 when something accepts connections on the loopback port. */
int kf_test_port_open(int port);
/* Wait up to timeout_ms for the port to accept connections: 1, or 0 at the deadline. */
int kf_test_wait_port(int port, int64_t timeout_ms);
/* Start argv[0] with stdout and stderr in logpath. It dies with the test process, so a failed
 * assertion (which ends the test before its cleanup) leaves no broker or daemon behind. */
pid_t kf_test_spawn(const char *logpath, char *const argv[]);
/* Write conf_path (an anonymous listener on 127.0.0.1:port, no persistence, the log on
 * stderr, then extra if not NULL) and start mosquitto on it, its log in log_path. Does not
 * wait for it to listen (kf_test_wait_port). */
pid_t kf_test_mosquitto(int port, const char *conf_path, const char *log_path, const char *extra);
/* Wait for pid with a deadline: its wait status, or -1 (then it is killed). */
int kf_test_reap(pid_t pid, int64_t timeout_ms);

#endif
