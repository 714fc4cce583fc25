/* core/probes.h: health samples of the Linux host a terminal runs on.
 *
 * Reads, per sample: CPU busy from /proc/stat (per mille over the time since the previous
 * sample, or since kf_probes_init for the first one), MemTotal/MemAvailable from
 * /proc/meminfo, disk size/free from statvfs(disk_path), temperature as the maximum of
 * <thermal_dir>/thermal_zone<N>/temp, uptime from /proc/uptime, rx/tx bytes summed over the
 * non-loopback interfaces of /proc/net/dev, and net_up = some non-loopback interface under
 * <sys_root>/class/net has operstate "up".
 *
 * The roots are configurable so tests can point them at a fake tree. Reads are bounded
 * (fixed buffers on the stack) and a sample allocates nothing. A source that is missing or
 * unreadable leaves its fields 0 (temperature: KF_TEMP_NONE, net_up: 0); the sample is
 * still produced: a kiosk without a thermal sensor is still a healthy kiosk.
 *
 * Embedded (struct kf_probes inside its owner), _init/_close. Not thread-safe: one
 * struct kf_probes is used by one thread (the agent's loop thread). The reads are small
 * files in procfs/sysfs and one statvfs, cheap enough for the loop at one sample a minute.
 */
#ifndef KF_AGENT_CORE_PROBES_H
#define KF_AGENT_CORE_PROBES_H

#include <stdint.h>

#include <kf/record.h>

#define KF_PROBES_PATH_MAX 256

struct kf_probes {
    char proc_root[KF_PROBES_PATH_MAX];   /* e.g. "/proc" */
    char sys_root[KF_PROBES_PATH_MAX];    /* e.g. "/sys" */
    char disk_path[KF_PROBES_PATH_MAX];   /* statvfs target, e.g. "/" or the data dir */
    char thermal_dir[KF_PROBES_PATH_MAX]; /* default <sys_root>/class/thermal */
    /* /proc/stat aggregate at the previous sample (jiffies) */
    uint64_t prev_busy, prev_total;
    int have_prev;
};

/* Borrows the strings (copied). NULL: "/proc", "/sys", "/". Takes a first /proc/stat
 * reading so the first sample's CPU figure covers the time since init (since boot if
 * that reading failed). Returns 0, -EINVAL or -ENAMETOOLONG (a path past
 * KF_PROBES_PATH_MAX - 64, leaving room for the file names under it). */
int kf_probes_init(struct kf_probes *p, const char *proc_root, const char *sys_root,
                   const char *disk_path);
/* Replace the thermal zone directory (default <sys_root>/class/thermal). Borrows (copied).
 * 0, -EINVAL or -ENAMETOOLONG. */
int kf_probes_set_thermal_dir(struct kf_probes *p, const char *thermal_dir);
void kf_probes_close(struct kf_probes *p);

/* Fill *ret with a KF_REC_HEALTH record stamped now_ms (device time, UTC ms).
 * cpu_pm is rounded to the nearest per mille and clamped to 0..1000. Returns 0 or
 * -EINVAL; *ret is written only on success. */
int kf_probes_sample(struct kf_probes *p, int64_t now_ms, struct kf_record *ret);

#endif
