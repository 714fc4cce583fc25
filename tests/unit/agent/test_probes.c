/* test_probes.c: host probes (agent/core/probes.c) against a fake /proc and /sys tree. */
#include <criterion/criterion.h>
#include "kf_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/probes.h"

static char root[256];
static char proc_dir[300];
static char sys_dir[300];

static void tmp_setup(void)
{
    kf_test_tmpdir("kf-test-probes", root, sizeof(root));
    snprintf(proc_dir, sizeof(proc_dir), "%s/proc", root);
    snprintf(sys_dir, sizeof(sys_dir), "%s/sys", root);
}

static void tmp_cleanup(void)
{
    kf_test_rmtree(root);
}

TestSuite(probes, .init = tmp_setup, .fini = tmp_cleanup);

/* Write root/rel, creating the directories on the way. */
static void put(const char *rel, const char *content)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
        *s = '/';
    }
    f = fopen(path, "w");
    cr_assert_not_null(f, "fopen %s", path);
    cr_assert_eq(fputs(content, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

static const char netdev[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo: 9000000     100    0    0    0     0          0         0  9000000     100    0    "
    "0    0     0       0          0\n"
    "  eth0: 1000       10    0    0    0     0          0         0     2000      20    0    0 "
    "   0     0       0          0\n"
    " wlan0:   30000     300    0    0    0     0          0         0    40000     400    0    "
    "0    0     0       0          0\n";

static void put_standard_tree(void)
{
    put("proc/stat", "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 100 0 50 800 50 0 0 0 0 0\n"
                     "intr 12345\n");
    put("proc/meminfo", "MemTotal:        2048000 kB\nMemFree:          100000 kB\n"
                        "MemAvailable:    1024000 kB\nBuffers:           20000 kB\n"
                        "Cached:           30000 kB\n");
    put("proc/uptime", "12345.67 23456.78\n");
    put("proc/net/dev", netdev);
    put("sys/class/net/lo/operstate", "unknown\n");
    put("sys/class/net/eth0/operstate", "down\n");
    put("sys/class/net/wlan0/operstate", "up\n");
    put("sys/class/thermal/thermal_zone0/temp", "41000\n");
    put("sys/class/thermal/thermal_zone1/temp", "53500\n");
    put("sys/class/thermal/cooling_device0/temp", "99000\n"); /* not a zone */
}

Test(probes, reads_every_field_of_a_known_tree)
{
    struct kf_probes p;
    struct kf_record rec;
    struct statvfs sv;

    put_standard_tree();
    cr_assert_eq(kf_probes_init(&p, proc_dir, sys_dir, root), 0);
    /* 100 more busy jiffies (user 50, system 50) and 800 idle+iowait: 150/900 busy. */
    put("proc/stat", "cpu  200 0 100 1500 100 0 0 0 0 0\n");
    memset(&rec, 0xa5, sizeof(rec));
    cr_assert_eq(kf_probes_sample(&p, 1700000000123, &rec), 0);

    cr_assert_eq(rec.type, KF_REC_HEALTH);
    cr_assert_eq(rec.ts_ms, 1700000000123);
    cr_assert_eq(rec.u.health.cpu_pm, 167); /* 166.7 rounded */
    cr_assert_eq(rec.u.health.mem_total_kb, 2048000);
    cr_assert_eq(rec.u.health.mem_avail_kb, 1024000);
    cr_assert_eq(rec.u.health.temp_mc, 53500);
    cr_assert_eq(rec.u.health.uptime_s, 12345);
    cr_assert_eq(rec.u.health.net_rx, 31000, "lo is not counted");
    cr_assert_eq(rec.u.health.net_tx, 42000);
    cr_assert_eq(rec.u.health.net_up, 1);

    cr_assert_eq(statvfs(root, &sv), 0);
    cr_assert_eq(rec.u.health.disk_total_kb, (uint64_t)sv.f_blocks * sv.f_frsize / 1024);
    cr_assert_gt(rec.u.health.disk_total_kb, 0);
    cr_assert_leq(rec.u.health.disk_avail_kb, rec.u.health.disk_total_kb);
    kf_probes_close(&p);
}

Test(probes, cpu_is_measured_between_samples)
{
    struct kf_probes p;
    struct kf_record rec;

    /* No /proc/stat at init: the first sample falls back to since-boot figures. */
    cr_assert_eq(kf_probes_init(&p, proc_dir, sys_dir, root), 0);
    put("proc/stat", "cpu  100 0 50 800 50 0 0 0 0 0\n");
    cr_assert_eq(kf_probes_sample(&p, 1, &rec), 0);
    cr_assert_eq(rec.u.health.cpu_pm, 150); /* 150 busy of 1000 */

    /* All busy: user 400 more, steal 100 more, nothing idle. */
    put("proc/stat", "cpu  500 0 50 800 50 0 0 100 0 0\n");
    cr_assert_eq(kf_probes_sample(&p, 2, &rec), 0);
    cr_assert_eq(rec.u.health.cpu_pm, 1000);

    /* All idle; guest time (fields 9-10) is part of user already and not counted twice. */
    put("proc/stat", "cpu  500 0 50 1700 150 0 0 100 77 77\n");
    cr_assert_eq(kf_probes_sample(&p, 3, &rec), 0);
    cr_assert_eq(rec.u.health.cpu_pm, 0);

    /* No time passed: 0, not a division by zero. */
    cr_assert_eq(kf_probes_sample(&p, 4, &rec), 0);
    cr_assert_eq(rec.u.health.cpu_pm, 0);

    /* A quarter busy: irq and softirq count as busy. */
    put("proc/stat", "cpu  500 0 50 2000 150 50 50 100 77 77\n");
    cr_assert_eq(kf_probes_sample(&p, 5, &rec), 0);
    cr_assert_eq(rec.u.health.cpu_pm, 250);
    kf_probes_close(&p);
}

Test(probes, missing_sources_leave_fields_empty)
{
    struct kf_probes p;
    struct kf_record rec;

    /* Nothing under proc/ or sys/: still a sample, with empty fields. */
    cr_assert_eq(kf_probes_init(&p, proc_dir, sys_dir, "/nonexistent/kf-disk"), 0);
    cr_assert_eq(kf_probes_sample(&p, 42, &rec), 0);
    cr_assert_eq(rec.type, KF_REC_HEALTH);
    cr_assert_eq(rec.ts_ms, 42);
    cr_assert_eq(rec.u.health.cpu_pm, 0);
    cr_assert_eq(rec.u.health.mem_total_kb, 0);
    cr_assert_eq(rec.u.health.disk_total_kb, 0);
    cr_assert_eq(rec.u.health.temp_mc, KF_TEMP_NONE);
    cr_assert_eq(rec.u.health.uptime_s, 0);
    cr_assert_eq(rec.u.health.net_rx, 0);
    cr_assert_eq(rec.u.health.net_up, 0);
    kf_probes_close(&p);
}

Test(probes, thermal_dir_and_negative_temperatures)
{
    struct kf_probes p;
    struct kf_record rec;

    put("alt/thermal_zone3/temp", "-5000\n");
    put("alt/thermal_zone7/temp", "-2500\n");
    put("alt/thermal_zone8/temp", "garbage\n");
    cr_assert_eq(kf_probes_init(&p, proc_dir, sys_dir, root), 0);
    char alt[320];
    snprintf(alt, sizeof(alt), "%s/alt", root);
    cr_assert_eq(kf_probes_set_thermal_dir(&p, alt), 0);
    cr_assert_eq(kf_probes_sample(&p, 1, &rec), 0);
    cr_assert_eq(rec.u.health.temp_mc, -2500);
    kf_probes_close(&p);
}

Test(probes, net_up_needs_a_non_loopback_interface_up)
{
    struct kf_probes p;
    struct kf_record rec;

    put("sys/class/net/lo/operstate", "up\n");
    put("sys/class/net/eth0/operstate", "down\n");
    put("sys/class/net/wwan0/operstate", "dormant\n");
    cr_assert_eq(kf_probes_init(&p, proc_dir, sys_dir, root), 0);
    cr_assert_eq(kf_probes_sample(&p, 1, &rec), 0);
    cr_assert_eq(rec.u.health.net_up, 0);

    put("sys/class/net/eth0/operstate", "up\n");
    cr_assert_eq(kf_probes_sample(&p, 2, &rec), 0);
    cr_assert_eq(rec.u.health.net_up, 1);
    kf_probes_close(&p);
}

Test(probes, meminfo_without_memavailable_is_estimated)
{
    struct kf_probes p;
    struct kf_record rec;

    put("proc/meminfo", "MemTotal:        1000000 kB\nMemFree:          100000 kB\n"
                        "Buffers:           20000 kB\nCached:           30000 kB\n");
    cr_assert_eq(kf_probes_init(&p, proc_dir, sys_dir, root), 0);
    cr_assert_eq(kf_probes_sample(&p, 1, &rec), 0);
    cr_assert_eq(rec.u.health.mem_total_kb, 1000000);
    cr_assert_eq(rec.u.health.mem_avail_kb, 150000);
    kf_probes_close(&p);
}

Test(probes, malformed_files_are_not_trusted)
{
    struct kf_probes p;
    struct kf_record rec;

    put("proc/stat", "cpu  12 x\n");
    put("proc/uptime", "soon\n");
    put("proc/net/dev", "h1\nh2\n  eth0: 5 5\n  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                        "  eth2: 100 0 0 0 0 0 0 0 200"); /* last line cut: no newline */
    cr_assert_eq(kf_probes_init(&p, proc_dir, sys_dir, root), 0);
    cr_assert_eq(kf_probes_sample(&p, 1, &rec), 0);
    cr_assert_eq(rec.u.health.cpu_pm, 0);
    cr_assert_eq(rec.u.health.uptime_s, 0);
    cr_assert_eq(rec.u.health.net_rx, 1, "only the complete, well-formed line");
    cr_assert_eq(rec.u.health.net_tx, 9);
    kf_probes_close(&p);
}

Test(probes, rejects_bad_arguments)
{
    struct kf_probes p;
    struct kf_record rec;
    char long_path[400];

    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    cr_assert_eq(kf_probes_init(NULL, NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(kf_probes_init(&p, long_path, NULL, NULL), -ENAMETOOLONG);
    cr_assert_eq(kf_probes_init(&p, "", NULL, NULL), -EINVAL);
    cr_assert_eq(kf_probes_init(&p, NULL, NULL, NULL), 0); /* the real host */
    cr_assert_eq(kf_probes_sample(&p, 1, NULL), -EINVAL);
    cr_assert_eq(kf_probes_sample(&p, 1, &rec), 0);
    cr_assert_gt(rec.u.health.mem_total_kb, 0);
    cr_assert_gt(rec.u.health.uptime_s, 0);
    cr_assert_leq(rec.u.health.cpu_pm, 1000);
    kf_probes_close(&p);
}
