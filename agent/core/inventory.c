/* core/inventory.c: the host's part of the inventory (core/inventory.h). */
#include "core/inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#define INV_LINES_MAX 4096 /* /proc/cpuinfo has ~27 lines a core */

/* The value of "KEY=value" or "key : value" lines: the rest of the line after the
 * separator, quotes of os-release removed. */
static void line_value(const char *line, char *out, size_t cap)
{
    char tmp[256];
    size_t n;

    while (*line == ' ' || *line == '\t' || *line == ':' || *line == '=')
        line++;
    snprintf(tmp, sizeof(tmp), "%s", line);
    n = strcspn(tmp, "\r\n");
    tmp[n] = '\0';
    if (n >= 2 && (tmp[0] == '"' || tmp[0] == '\'') && tmp[n - 1] == tmp[0]) {
        tmp[n - 1] = '\0';
        kf_inv_text_copy(out, cap, tmp + 1);
        return;
    }
    kf_inv_text_copy(out, cap, tmp);
}

static FILE *open_under(const char *root, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", root, name);
    return fopen(path, "r");
}

static void os_release(const char *etc, struct kf_inventory *inv)
{
    FILE *f = open_under(etc, "os-release");
    char line[256];

    if (f == NULL)
        return;
    for (int i = 0; i < 256 && fgets(line, sizeof(line), f) != NULL; i++) {
        if (strncmp(line, "NAME=", 5) == 0)
            line_value(line + 5, inv->os, sizeof(inv->os));
        else if (strncmp(line, "VERSION_ID=", 11) == 0)
            line_value(line + 11, inv->os_version, sizeof(inv->os_version));
    }
    fclose(f);
}

static void cpuinfo(const char *proc, struct kf_inventory *inv)
{
    FILE *f = open_under(proc, "cpuinfo");
    char line[256];
    uint32_t cores = 0;

    if (f == NULL)
        return;
    inv->cpu[0] = '\0';
    for (int i = 0; i < INV_LINES_MAX && fgets(line, sizeof(line), f) != NULL; i++) {
        if (strncmp(line, "processor", 9) == 0 && cores < KF_INV_CORES_MAX)
            cores++;
        else if (inv->cpu[0] == '\0' && strncmp(line, "model name", 10) == 0)
            line_value(line + 10, inv->cpu, sizeof(inv->cpu));
    }
    fclose(f);
    inv->cores = cores;
}

static void meminfo(const char *proc, struct kf_inventory *inv)
{
    FILE *f = open_under(proc, "meminfo");
    char line[256];
    unsigned long long kb;

    if (f == NULL)
        return;
    for (int i = 0; i < 64 && fgets(line, sizeof(line), f) != NULL; i++) {
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
            inv->mem_mb = (int64_t)(kb / 1024);
            break;
        }
    }
    fclose(f);
}

int kf_inventory_probe(const char *proc_root, const char *etc_root, const char *disk_path,
                       struct kf_inventory *inv)
{
    struct utsname u;
    struct statvfs sv;

    os_release(etc_root ? etc_root : "/etc", inv);
    cpuinfo(proc_root ? proc_root : "/proc", inv);
    meminfo(proc_root ? proc_root : "/proc", inv);
    if (uname(&u) == 0)
        kf_inv_text_copy(inv->kernel, sizeof(inv->kernel), u.release);
    if (statvfs(disk_path ? disk_path : "/", &sv) == 0) {
        unsigned long long gib = 1024ull * 1024 * 1024;

        inv->disk_gb = (int64_t)((unsigned long long)sv.f_blocks * sv.f_frsize / gib);
        inv->disk_free_gb = (int64_t)((unsigned long long)sv.f_bavail * sv.f_frsize / gib);
    }
    if (inv->mem_mb > KF_INV_MB_MAX)
        inv->mem_mb = KF_INV_MB_MAX;
    if (inv->disk_gb > KF_INV_GB_MAX)
        inv->disk_gb = KF_INV_GB_MAX;
    if (inv->disk_free_gb > KF_INV_GB_MAX)
        inv->disk_free_gb = KF_INV_GB_MAX;
    return 0;
}
