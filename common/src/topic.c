/* topic.c: the kf/v1/<device>/<suffix> topic tree. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kf/envelope.h"
#include "kf/topic.h"

static const char *const kf_topic_suffix[] = {
    [KF_TOPIC_HELLO] = "hello",   [KF_TOPIC_TELEMETRY] = "telemetry",
    [KF_TOPIC_EVENTS] = "events", [KF_TOPIC_STATE] = "state",
    [KF_TOPIC_ACK] = "ack",       [KF_TOPIC_CMD] = "cmd",
    [KF_TOPIC_ENROLL] = "enroll", [KF_TOPIC_BLOB] = "blob",
};
#define KF_TOPIC_KINDS (sizeof(kf_topic_suffix) / sizeof(kf_topic_suffix[0]))

int kf_topic_format(char *buf, size_t cap, const char *device_id, enum kf_topic_kind kind)
{
    int n;

    if (!device_id || !kf_device_id_valid(device_id) || (unsigned)kind >= KF_TOPIC_KINDS ||
        !kf_topic_suffix[kind])
        return -EINVAL;
    n = snprintf(buf, cap, KF_TOPIC_ROOT "%s/%s", device_id, kf_topic_suffix[kind]);
    if (n < 0 || (size_t)n >= cap)
        return -EMSGSIZE;
    return 0;
}

int kf_topic_parse(const char *topic, char *dev, size_t dev_cap, enum kf_topic_kind *ret_kind)
{
    const char *id, *slash;
    char tmp[KF_DEVICE_ID_MAX + 1];
    size_t idlen;

    if (!topic || strncmp(topic, KF_TOPIC_ROOT, strlen(KF_TOPIC_ROOT)) != 0)
        return -EINVAL;
    id = topic + strlen(KF_TOPIC_ROOT);
    slash = strchr(id, '/');
    if (!slash)
        return -EINVAL;
    idlen = (size_t)(slash - id);
    if (idlen == 0 || idlen > KF_DEVICE_ID_MAX)
        return -EINVAL;
    memcpy(tmp, id, idlen);
    tmp[idlen] = '\0';
    if (!kf_device_id_valid(tmp))
        return -EINVAL;
    for (size_t k = 1; k < KF_TOPIC_KINDS; k++) {
        if (kf_topic_suffix[k] && strcmp(slash + 1, kf_topic_suffix[k]) == 0) {
            if (dev_cap < idlen + 1)
                return -EINVAL;
            memcpy(dev, tmp, idlen + 1);
            *ret_kind = (enum kf_topic_kind)k;
            return 0;
        }
    }
    return -EINVAL;
}
