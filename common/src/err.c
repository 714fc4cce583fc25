/* err.c: naming our 0/-errno results and converting foreign result codes at the boundary. */
#define _GNU_SOURCE
#include <limits.h>
#include <string.h>

#include <sqlite3.h>

#include "kf/err.h"

const char *kf_strerror(int err)
{
    const char *s;

    if (err == 0)
        return "success";
    if (err == INT_MIN)
        return "unknown error";
    if (err > 0)
        err = -err;
    /* The codes kf_ functions give a protocol meaning to get names that say so. */
    switch (-err) {
    case EBADMSG:
        return "malformed message";
    case EKEYREJECTED:
        return "signature rejected";
    case EMSGSIZE:
        return "message too large";
    default:
        break;
    }
    /* strerrordesc_np returns a static string and, unlike strerror, is thread-safe. */
    s = strerrordesc_np(-err);
    return s ? s : "unknown error";
}

int kf_err_from_sqlite(int rc)
{
    switch (rc & 0xff) { /* primary code; extended codes carry it in the low byte */
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_INTERRUPT:
        return -EINTR;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_TOOBIG:
        return -EMSGSIZE;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EUCLEAN;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return -EINVAL;
    case SQLITE_NOLFS:
        return -EFBIG;
    case SQLITE_SCHEMA:
        return -EAGAIN;
    case SQLITE_NOTFOUND:
        return -ENOENT;
    default: /* SQLITE_ERROR, SQLITE_IOERR, SQLITE_PROTOCOL, ... */
        return -EIO;
    }
}

/* Paho MQTTAsync codes (MQTTAsync.h, paho.mqtt.c 1.3.12), hardcoded so that kf_common
 * needs neither the Paho headers nor its library. */
enum {
    PAHO_SUCCESS = 0,
    PAHO_FAILURE = -1,
    PAHO_PERSISTENCE_ERROR = -2,
    PAHO_DISCONNECTED = -3,
    PAHO_MAX_MESSAGES_INFLIGHT = -4,
    PAHO_BAD_UTF8_STRING = -5,
    PAHO_NULL_PARAMETER = -6,
    PAHO_TOPICNAME_TRUNCATED = -7,
    PAHO_BAD_STRUCTURE = -8,
    PAHO_BAD_QOS = -9,
    PAHO_NO_MORE_MSGIDS = -10,
    PAHO_OPERATION_INCOMPLETE = -11,
    PAHO_MAX_BUFFERED_MESSAGES = -12,
    PAHO_SSL_NOT_SUPPORTED = -13,
    PAHO_BAD_PROTOCOL = -14,
    PAHO_BAD_MQTT_OPTION = -15,
    PAHO_WRONG_MQTT_VERSION = -16,
    PAHO_0_LEN_WILL_TOPIC = -17,
    PAHO_COMMAND_IGNORED = -18,
    PAHO_MAX_BUFFERED = -19,
};

int kf_err_from_paho(int rc)
{
    switch (rc) {
    case PAHO_SUCCESS:
        return 0;
    case PAHO_PERSISTENCE_ERROR:
        return -EIO;
    case PAHO_DISCONNECTED:
        return -ENOTCONN;
    case PAHO_MAX_MESSAGES_INFLIGHT:
    case PAHO_MAX_BUFFERED_MESSAGES:
    case PAHO_MAX_BUFFERED:
        return -ENOBUFS;
    case PAHO_NO_MORE_MSGIDS:
        return -EAGAIN;
    case PAHO_BAD_UTF8_STRING:
    case PAHO_NULL_PARAMETER:
    case PAHO_TOPICNAME_TRUNCATED:
    case PAHO_BAD_STRUCTURE:
    case PAHO_BAD_QOS:
    case PAHO_BAD_MQTT_OPTION:
    case PAHO_0_LEN_WILL_TOPIC:
        return -EINVAL;
    case PAHO_OPERATION_INCOMPLETE:
    case PAHO_COMMAND_IGNORED:
        return -ECANCELED;
    case PAHO_SSL_NOT_SUPPORTED:
    case PAHO_WRONG_MQTT_VERSION:
        return -EOPNOTSUPP;
    case PAHO_BAD_PROTOCOL:
        return -EPROTONOSUPPORT;
    default: /* PAHO_FAILURE and anything newer */
        return -EIO;
    }
}
