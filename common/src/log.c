/* log.c: one line per event on stderr, "<N>ident: message\n", written with one write(2)
 * so that lines from different threads never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kf/err.h"
#include "kf/log.h"

#define KF_LOG_LINE_MAX 2048

/* Process settings, written before threads start and only read afterwards (log.h). */
static enum kf_log_level kf_log_max = KF_LOG_INFO;
static const char *kf_log_ident;

void kf_log_set_level(enum kf_log_level level)
{
    kf_log_max = level;
}

int kf_log_parse_level(const char *name, enum kf_log_level *ret_level)
{
    static const struct {
        const char *name;
        enum kf_log_level level;
    } names[] = {
        {"err", KF_LOG_ERR},      {"error", KF_LOG_ERR},     {"warning", KF_LOG_WARNING},
        {"warn", KF_LOG_WARNING}, {"notice", KF_LOG_NOTICE}, {"info", KF_LOG_INFO},
        {"debug", KF_LOG_DEBUG},
    };

    if (!name)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *ret_level = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

void kf_log_set_ident(const char *ident)
{
    kf_log_ident = ident;
}

void kf_log(enum kf_log_level level, const char *fmt, ...)
{
    char line[KF_LOG_LINE_MAX];
    size_t n, start;
    int r;
    va_list ap;

    if (level > kf_log_max)
        return;
    if (kf_log_ident)
        r = snprintf(line, sizeof(line), "<%d>%s: ", (int)level, kf_log_ident);
    else
        r = snprintf(line, sizeof(line), "<%d>", (int)level);
    if (r < 0)
        return;
    start = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;

    va_start(ap, fmt);
    r = vsnprintf(line + start, sizeof(line) - start, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    n = start + (size_t)r;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2; /* truncated: keep room for the newline */
    /* One event, one line: embedded newlines would split it in the journal. */
    for (size_t i = start; i < n; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    while (n > start && line[n - 1] == ' ')
        n--;
    line[n++] = '\n';

    /* A short write to stderr is not worth retrying: the caller cannot do anything about it. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}
