/* kf_test.h: the one helper every unit suite links (library kf_test, tests/helper/), as
 * libuv's test/task.h is for its tests: a clock and naps, free loopback ports, temp
 * directories, fixture files read whole, children that die with the test, mosquitto and
 * kioskd started and stopped, and a child's log checked for sanitizer reports.
 *
 * Only Criterion suites link it: a function documented as "fails the test" does so with
 * cr_assert_fail, which ends the test there (its .fini still runs, a test body's cleanup
 * does not; so every child is started with a death signal and nothing is left running).
 * All functions are for the test's own thread (the thread that runs the test body, or its
 * .init/.fini): the death signal of a child follows the thread that started it.
 * Paths are borrowed for the duration of the call. None keeps state between calls except
 * the free-port generator's seed.
 */
#ifndef KF_TEST_H
#define KF_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- time ---- */

/* Milliseconds on the monotonic clock. */
int64_t kf_test_mono_ms(void);
/* Sleep ms milliseconds (signals may cut it short). */
void kf_test_nap_ms(long ms);

/* ---- loopback ports ---- */

/* A loopback TCP port nothing is bound to now, picked at random in 20000..39999 (each
 * process draws its own sequence). Fails the test if none is found in 50 tries. */
int kf_test_free_port(void);
/* 1 when something accepts connections on 127.0.0.1:port, else 0. */
int kf_test_port_open(int port);
/* Wait up to timeout_ms for the port to accept connections: 1, or 0 at the deadline. */
int kf_test_wait_port(int port, int64_t timeout_ms);

/* ---- temp directories ---- */

/* Make a fresh directory $TMPDIR/<prefix>-XXXXXX (/tmp when TMPDIR is unset or empty), mode
 * 0700, and write its path into buf (cap bytes, the caller's). Returns buf. Fails the test if
 * the path does not fit or the directory cannot be made. The caller owns the directory and
 * removes it with kf_test_rmtree. */
char *kf_test_tmpdir(const char *prefix, char *buf, size_t cap);
/* Remove path and everything under it, without following symbolic links; directories a test
 * made unreadable are opened up first. A path that does not exist, NULL or "" is not an
 * error. Refuses relative paths and "/" (-EINVAL). With KF_TEST_KEEP set in the environment
 * it removes nothing and prints the path on stderr (to keep logs and databases for a look).
 * Returns 0 or the first negative errno met (it still removes what it can). */
int kf_test_rmtree(const char *path);

/* ---- files ---- */

/* The whole of a small file (a fixture) as a NUL-terminated string; returns owned (free).
 * Fails the test if it cannot be read. For suites of libraries that read no files
 * themselves (kf_rules is given text, not paths). */
char *kf_test_read_file(const char *path);

/* ---- children ---- */

/* Start argv[0] (a path; argv NULL-terminated, borrowed) with stdout and stderr in logpath
 * (created or truncated; /dev/null when logpath is NULL) and return its pid. The child gets
 * SIGKILL when the calling thread ends, so a failed assertion leaves no broker or daemon
 * behind. Fails the test if fork fails; a failed exec shows as exit status 127. */
pid_t kf_test_spawn(const char *logpath, char *const argv[]);
/* Wait for the child pid to exit, up to timeout_ms: its wait status, or -1 at the deadline
 * (then it is killed with SIGKILL and reaped). */
int kf_test_reap(pid_t pid, int64_t timeout_ms);
/* Stop the child pid: SIGTERM, then kf_test_reap(pid, timeout_ms). Returns its wait status,
 * or -1 if it had to be killed (or was not our child). pid <= 0 is a no-op returning 0, so a
 * .fini can stop what its .init may not have started. */
int kf_test_stop(pid_t pid, int64_t timeout_ms);

/* ---- logs ---- */

/* Wait up to timeout_ms until the file at path contains needle: 1 when it does, 0 at the
 * deadline, -1 as soon as the child pid (when > 0) has exited (left to be reaped). */
int kf_test_wait_log(const char *path, const char *needle, pid_t pid, int64_t timeout_ms);
/* The number of sanitizer reports in a child's log: lines with "ERROR: AddressSanitizer",
 * "ERROR: LeakSanitizer", "runtime error:" (UBSan) or "WARNING: ThreadSanitizer". A negative
 * errno if the log cannot be read. */
int kf_test_sanitizer_reports(const char *log_path);
/* Fail the test, quoting the first report, if the log has any sanitizer report or cannot be
 * read. A child built with the sanitizers but run without halt_on_error still exits 0 after a
 * report; its log does not lie. */
void kf_test_assert_no_sanitizer_reports(const char *log_path);

/* ---- mosquitto (KF_MOSQUITTO_BIN) ---- */

/* Write conf_path from the one template (an anonymous listener on 127.0.0.1:port, no
 * persistence, the log on stderr, "user root" when running as root so that the broker
 * keeps its death signal), then the lines of extra if not NULL (later lines win, so extra
 * may also override: "allow_anonymous false\npassword_file ...\n"), and start mosquitto on
 * it with its log in log_path. Does not wait for it to listen; for a broker that must come
 * up late (kf_test_wait_port). Returns its pid; stop it with kf_test_stop. */
pid_t kf_test_mosquitto_spawn(int port, const char *conf_path, const char *log_path,
                              const char *extra);
/* kf_test_mosquitto_spawn, then wait up to 10 s for the port; fails the test (naming the log)
 * if the broker does not listen. Returns its pid. */
pid_t kf_test_mosquitto_start(int port, const char *conf_path, const char *log_path,
                              const char *extra);

/* ---- kioskd (KF_KIOSKD_BIN: the suite adds add_dependencies(<suite> kioskd)) ---- */

/* Start the kioskd of this build with -c conf_path, its stdout and stderr in log_path, and
 * wait up to 30 s until it is ready: connected to its broker and subscribed, which it logs as
 * "ready: subscribed, serving" (the line tests/integration waits for too, so the config's
 * [log] level must be notice or more verbose). Fails the test, naming the log, if kioskd
 * exits first or the deadline passes. Returns its pid; stop it with kf_test_stop and check
 * its log with kf_test_assert_no_sanitizer_reports. */
pid_t kf_test_kioskd_start(const char *conf_path, const char *log_path);

#endif
