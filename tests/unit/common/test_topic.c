/* Topic tree: formatting and strict parsing. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kf/envelope.h>
#include <kf/topic.h>

Test(topic, format_every_kind)
{
    static const char *expect[] = {NULL,
                                   "kf/v1/KF-XH-0001/hello",
                                   "kf/v1/KF-XH-0001/telemetry",
                                   "kf/v1/KF-XH-0001/events",
                                   "kf/v1/KF-XH-0001/state",
                                   "kf/v1/KF-XH-0001/ack",
                                   "kf/v1/KF-XH-0001/cmd",
                                   "kf/v1/KF-XH-0001/enroll",
                                   "kf/v1/KF-XH-0001/blob"};
    char buf[KF_TOPIC_MAX];

    for (int k = KF_TOPIC_HELLO; k <= KF_TOPIC_BLOB; k++) {
        char dev[KF_DEVICE_ID_MAX + 1];
        enum kf_topic_kind kind;

        cr_assert_eq(kf_topic_format(buf, sizeof(buf), "KF-XH-0001", (enum kf_topic_kind)k), 0);
        cr_assert_str_eq(buf, expect[k]);
        cr_assert_eq(kf_topic_parse(buf, dev, sizeof(dev), &kind), 0);
        cr_assert_str_eq(dev, "KF-XH-0001");
        cr_assert_eq((int)kind, k);
    }
}

Test(topic, format_refuses_bad_input)
{
    char buf[KF_TOPIC_MAX];

    cr_assert_eq(kf_topic_format(buf, sizeof(buf), "bad/id", KF_TOPIC_ACK), -EINVAL);
    cr_assert_eq(kf_topic_format(buf, sizeof(buf), "", KF_TOPIC_ACK), -EINVAL);
    cr_assert_eq(kf_topic_format(buf, sizeof(buf), "KF-1", (enum kf_topic_kind)0), -EINVAL);
    cr_assert_eq(kf_topic_format(buf, sizeof(buf), "KF-1", (enum kf_topic_kind)9), -EINVAL);
    cr_assert_eq(kf_topic_format(buf, 10, "KF-1", KF_TOPIC_ACK), -EMSGSIZE);
    cr_assert_eq(kf_topic_format(buf, 14, "KF-1", KF_TOPIC_ACK), -EMSGSIZE);
    cr_assert_eq(kf_topic_format(buf, 15, "KF-1", KF_TOPIC_ACK), 0);
}

Test(topic, parse_refuses_anything_else)
{
    static const char *bad[] = {
        "",
        "kf/v1/",
        "kf/v1/KF-1",
        "kf/v1/KF-1/",
        "kf/v1/KF-1/acks",
        "kf/v1/KF-1/enrol",
        "kf/v1/KF-1/enroll/x",
        "kf/v1/KF-1/ack/x",
        "kf/v2/KF-1/ack",
        "KF/v1/KF-1/ack",
        "/kf/v1/KF-1/ack",
        "kf/v1//ack",
        "kf/v1/+/ack",
        "kf/v1/#",
        "kf/v1/K F/ack",
        "kf/v1/0123456789012345678901234567890123456789012345678/ack", /* 49 chars */
    };
    char dev[KF_DEVICE_ID_MAX + 1];
    enum kf_topic_kind kind;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(kf_topic_parse(bad[i], dev, sizeof(dev), &kind), -EINVAL, "%s", bad[i]);
    cr_assert_eq(kf_topic_parse(NULL, dev, sizeof(dev), &kind), -EINVAL);
    cr_assert_eq(kf_topic_parse("kf/v1/KF-1234/ack", dev, 5, &kind), -EINVAL);
    cr_assert_eq(kf_topic_parse("kf/v1/KF-1234/ack", dev, 8, &kind), 0);
    cr_assert_eq(kind, KF_TOPIC_ACK);
}

/* Enrollment requests: an enrolling terminal publishes under its broker username. */
Test(topic, enroll_topic_for_an_enrollment_account)
{
    char buf[KF_TOPIC_MAX], dev[KF_DEVICE_ID_MAX + 1];
    enum kf_topic_kind kind;

    cr_assert_eq(kf_topic_format(buf, sizeof(buf), "_enroll-7f3a9c", KF_TOPIC_ENROLL), 0);
    cr_assert_str_eq(buf, "kf/v1/_enroll-7f3a9c/enroll");
    cr_assert_eq(kf_topic_parse(buf, dev, sizeof(dev), &kind), 0);
    cr_assert_str_eq(dev, "_enroll-7f3a9c");
    cr_assert_eq(kind, KF_TOPIC_ENROLL);
}
