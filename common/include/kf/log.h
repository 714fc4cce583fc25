/* kf/log.h: one line per event on standard error, with syslog priority
 * prefixes ("<3>") so that journald files each line under its level.
 *
 * Edge code (main, request handlers) logs, once, on one line. Library code
 * returns error codes instead of logging. Thread-safe: each call is one write(2).
 */
#ifndef KF_LOG_H
#define KF_LOG_H

enum kf_log_level {
    KF_LOG_ERR = 3,
    KF_LOG_WARNING = 4,
    KF_LOG_NOTICE = 5,
    KF_LOG_INFO = 6,
    KF_LOG_DEBUG = 7,
};

/* Messages above this level are discarded. Default KF_LOG_INFO. Call before threads start. */
void kf_log_set_level(enum kf_log_level level);
/* Parse "err|warning|notice|info|debug"; returns 0 or -EINVAL. */
int kf_log_parse_level(const char *name, enum kf_log_level *ret_level);
/* Prefix each line with the program name ("kioskd: ...") when not NULL (borrowed, static). */
void kf_log_set_ident(const char *ident);

void kf_log(enum kf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define kf_err(...) kf_log(KF_LOG_ERR, __VA_ARGS__)
#define kf_warn(...) kf_log(KF_LOG_WARNING, __VA_ARGS__)
#define kf_notice(...) kf_log(KF_LOG_NOTICE, __VA_ARGS__)
#define kf_info(...) kf_log(KF_LOG_INFO, __VA_ARGS__)
#define kf_debug(...) kf_log(KF_LOG_DEBUG, __VA_ARGS__)

#endif
