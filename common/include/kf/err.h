/* kf/err.h: one shape for errors.
 *
 * Every kf_ function that can fail returns 0 or a negative errno value.
 * Library results (SQLite, Paho, zstd, libsodium) are converted at the boundary
 * with the helpers below, so callers never see a foreign code.
 */
#ifndef KF_ERR_H
#define KF_ERR_H

#include <errno.h>

/* Returns a static string naming a 0/negative-errno result; never NULL. Any thread. */
const char *kf_strerror(int err);

/* Convert an SQLite result code (SQLITE_*) to 0 or a negative errno. */
int kf_err_from_sqlite(int rc);

/* Convert a Paho MQTTAsync result (MQTTASYNC_*) to 0 or a negative errno. */
int kf_err_from_paho(int rc);

#endif
