/* kf/topic.h: the MQTT topic tree (docs/PROTOCOL.md, "Topics").
 *
 *   kf/v1/<device>/hello      device -> server  HELLO frame after every connect, QoS 1
 *   kf/v1/<device>/telemetry  device -> server  RECORDS frames holding health samples only
 *   kf/v1/<device>/events     device -> server  RECORDS frames holding any txn/periph/fault
 *   kf/v1/<device>/state      device -> server  STATE frame, retained; the will says offline
 *   kf/v1/<device>/ack        server -> device  ACK frame, QoS 1
 *   kf/v1/<device>/cmd        server -> device  COMMAND frames (kf/command.h), QoS 1
 *   kf/v1/<device>/enroll     device -> server  enrollment requests and key rotations; an
 *                                               enrolling terminal's <device> is its broker
 *                                               username "_enroll-<token id>"
 *   kf/v1/<device>/blob       device -> server  BLOB frames: chunks of a bundle (kf/blob.h)
 */
#ifndef KF_TOPIC_H
#define KF_TOPIC_H

#include <stddef.h>

#define KF_TOPIC_ROOT "kf/v1/"

enum kf_topic_kind {
    KF_TOPIC_HELLO = 1,
    KF_TOPIC_TELEMETRY,
    KF_TOPIC_EVENTS,
    KF_TOPIC_STATE,
    KF_TOPIC_ACK,
    KF_TOPIC_CMD,
    KF_TOPIC_ENROLL,
    KF_TOPIC_BLOB,
};

/* Write "kf/v1/<device>/<suffix>" into buf. 0, -EINVAL (bad id or kind), -EMSGSIZE. */
int kf_topic_format(char *buf, size_t cap, const char *device_id, enum kf_topic_kind kind);
/* Split a topic into device id (copied into dev, cap >= KF_DEVICE_ID_MAX+1) and kind.
 * 0 or -EINVAL for anything that is not exactly one of the forms above. */
int kf_topic_parse(const char *topic, char *dev, size_t dev_cap, enum kf_topic_kind *ret_kind);

#endif
