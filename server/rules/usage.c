/* rules/usage.c: when a record counts (usage.h). */
#include <kf/time.h>

#include "rules/usage.h"

int64_t kf_usage_offset(int synced, int64_t measured_ms, int64_t device_ms, int64_t recv_ms,
                        unsigned *ret_flags)
{
    *ret_flags = 0;
    if (synced) {
        *ret_flags = KF_USAGE_F_SYNCED;
        return measured_ms;
    }
    if (device_ms > recv_ms && device_ms - recv_ms > KF_USAGE_AHEAD_MS) {
        *ret_flags = KF_USAGE_F_CORRECTED;
        return recv_ms - device_ms;
    }
    return 0;
}

int64_t kf_usage_effective_ms(int64_t ts_ms, int64_t offset_ms, int64_t recv_ms, unsigned *flags)
{
    int64_t eff;

    if (__builtin_add_overflow(ts_ms, offset_ms, &eff) || eff < recv_ms - KF_USAGE_BEHIND_MS ||
        eff > recv_ms + KF_USAGE_AHEAD_MS) {
        *flags |= KF_USAGE_F_SUSPECT;
        return recv_ms;
    }
    return eff;
}

int32_t kf_usage_day(int64_t effective_ms)
{
    return kf_local_day(effective_ms);
}

int64_t kf_usage_fact_ms(int64_t effective_ms, int64_t recv_ms)
{
    return effective_ms < recv_ms ? effective_ms : recv_ms;
}

int64_t kf_usage_state_ms(int64_t device_ms, int64_t recv_ms)
{
    return device_ms < recv_ms + KF_USAGE_AHEAD_MS ? device_ms : recv_ms + KF_USAGE_AHEAD_MS;
}
