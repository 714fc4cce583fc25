/* rules/assess_int.h: shared inside the assessment's files (assess.c, assess_standing.c,
 * assess_json.c), not by other modules. */
#ifndef KF_RULES_ASSESS_INT_H
#define KF_RULES_ASSESS_INT_H

#include <stddef.h>

/* Write the message into err (when errn > 0) and return code. */
int kf__assess_fail(char *err, size_t errn, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
